//! The orders screen's virtual table: the columns that fit the width, and only the rows on screen read (a page at a
//! time, through the queue) however long the list.

use super::*;

/// Which columns fit: status and amount always; the rest go as the table narrows (the detail open at 1024×600).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Col {
    Time,
    Number,
    Wallet,
    Amount,
    Status,
    Fee,
    Code,
    Action,
    Subject,
}

pub(super) fn columns_for(width: f32) -> &'static [Col] {
    use Col::*;
    if width >= 1180.0 {
        &[Time, Number, Wallet, Amount, Status, Fee, Code, Action, Subject]
    } else if width >= 860.0 {
        &[Time, Number, Wallet, Amount, Status, Action, Subject]
    } else if width >= 600.0 {
        &[Time, Number, Amount, Status, Subject]
    } else {
        &[Number, Amount, Status, Subject]
    }
}

impl OrdersScreen {
    pub(super) fn table(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let Some(totals) = self.totals else { return };
        let total = totals.count.max(0) as usize;
        if total == 0 {
            ui.label(lang.pick("没有符合条件的订单", "No orders match the filter"));
            return;
        }
        let cols = columns_for(ui.available_width());
        self.rows_per_page = (((ui.available_height() - ROW_HEIGHT) / ROW_HEIGHT).floor().max(1.0)) as u64;
        let mut clicked: Option<Order> = None;
        let mut refund: Option<Order> = None;
        let mut cursor_to: Option<u64> = None;
        let detail = self.selected_out_trade_no();
        let mut builder =
            egui_extras::TableBuilder::new(ui).striped(true).sense(egui::Sense::click()).auto_shrink([false, false]);
        for col in cols {
            let c = match col {
                Col::Time => egui_extras::Column::exact(140.0),
                Col::Number => egui_extras::Column::initial(180.0).at_least(120.0).clip(true),
                Col::Wallet => egui_extras::Column::exact(150.0).clip(true),
                Col::Amount => egui_extras::Column::exact(80.0),
                Col::Status => egui_extras::Column::exact(104.0).clip(true),
                Col::Fee => egui_extras::Column::exact(60.0),
                Col::Code => egui_extras::Column::initial(170.0).at_least(80.0).clip(true),
                Col::Action => egui_extras::Column::exact(84.0),
                Col::Subject => egui_extras::Column::remainder().at_least(60.0).clip(true),
            };
            builder = builder.column(c);
        }
        // Scrolled to once the row's page has been read (an empty row would land the scroll short of it).
        if let Some(row) = self.scroll_to
            && self.row(ctx, row).is_some()
        {
            self.scroll_to = None;
            builder = builder.scroll_to_row(row as usize, None);
        }
        builder
            .header(22.0, |mut h| {
                for col in cols {
                    let title = match col {
                        Col::Time => lang.pick("时间（北京）", "Time (China)"),
                        Col::Number => lang.pick("商户订单号", "out_trade_no"),
                        Col::Wallet => lang.pick("钱包", "Wallet"),
                        Col::Amount => lang.pick("金额", "Amount"),
                        Col::Status => lang.pick("状态", "Status"),
                        Col::Fee => lang.pick("手续费", "Fee"),
                        Col::Code => lang.pick("失败原因", "Failure"),
                        Col::Action => "",
                        Col::Subject => lang.pick("商品", "Subject"),
                    };
                    h.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(ROW_HEIGHT, total, |mut row| {
                    let i = row.index() as u64;
                    let Some(order) = self.row(ctx, i).cloned() else { return };
                    row.set_selected(self.cursor == Some(i));
                    let extras = self.extras.get(&order.id).cloned().unwrap_or_default();
                    for col in cols {
                        row.col(|ui| match col {
                            Col::Time => {
                                cell(ui, crate::time::to_china_display(&order.created_at));
                            }
                            Col::Number => {
                                if ui.link(&order.out_trade_no).clicked() {
                                    clicked = Some(order.clone());
                                }
                            }
                            Col::Wallet => {
                                cell(ui, acquirer_words_of(&self.acquirers, order.acquirer_id, lang));
                            }
                            Col::Amount => {
                                cell(ui, format!("¥{}", order.total_amount));
                            }
                            Col::Status => {
                                status_tag(ui, order.status, lang);
                            }
                            Col::Fee => {
                                cell(ui, extras.fee.map_or_else(|| "—".to_owned(), |f| format!("¥{f}")));
                            }
                            Col::Code => {
                                if let Some(f) = &extras.failure {
                                    // The reason in the UI's words when the code is a common one, else the code;
                                    // the whole reason (with the code) on hover.
                                    let short = acquirer_words::known(&f.code)
                                        .map_or(f.code.clone(), |t| t.get(lang).to_owned());
                                    let words = acquirer_words::reason(&f.code, &f.message);
                                    ui.add(egui::Label::new(short).truncate()).on_hover_text(words.get(lang));
                                }
                            }
                            Col::Action => {
                                let refundable =
                                    matches!(order.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded);
                                if refundable && ui.small_button(lang.pick("退款…", "Refund…")).clicked() {
                                    refund = Some(order.clone());
                                }
                            }
                            Col::Subject => {
                                ui.add(egui::Label::new(&order.subject).truncate().selectable(false))
                                    .on_hover_text(&order.subject);
                            }
                        });
                    }
                    let response = row.response();
                    if response.double_clicked() {
                        clicked = Some(order.clone());
                    } else if response.clicked() {
                        cursor_to = Some(i);
                        // With an order's detail open, the detail follows the click: the highlighted row and the
                        // order a refund would go to are never two different orders.
                        if detail.as_deref().is_some_and(|open| open != order.out_trade_no) {
                            clicked = Some(order.clone());
                        }
                    }
                });
            });
        if let Some(i) = cursor_to {
            self.cursor = Some(i);
        }
        if let Some(order) = refund {
            self.cursor = cursor_to.or(self.cursor);
            self.open_for_refund(ctx, &order.out_trade_no);
        } else if let Some(order) = clicked {
            self.select(ctx, order);
        }
    }
}

/// A cell's text: not selectable, so a click on it is a click on its row (the row's highlight, and with a detail open
/// the detail), as a click beside it is.
fn cell(ui: &mut egui::Ui, text: impl Into<egui::WidgetText>) {
    ui.add(egui::Label::new(text).selectable(false));
}
