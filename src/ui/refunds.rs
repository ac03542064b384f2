//! 退款 Refunds: every refund with its order (a link that opens it on the Orders screen), the operator who refunded
//! and its status, filtered by China business days (presets or typed), status and a search (order number, refund
//! number, reason), exportable to CSV or Excel with the same filter.

use crate::dashboard::Period;
use crate::i18n::{Lang, Text};
use crate::model::{Refund, RefundStatus};
use crate::store::refunds::RefundFilter;
use crate::ui::Ctx;

/// What one read of the list brings back: the refunds with their orders' numbers, and the operators (for names).
type Loaded = Result<(Vec<(Refund, String)>, Vec<crate::model::Operator>), crate::store::StoreError>;

#[derive(Debug, Default)]
pub struct RefundsScreen {
    status: Option<RefundStatus>,
    /// None: every day.
    period: Option<Period>,
    from: String,
    to: String,
    search: String,
    filter: RefundFilter,
    filter_error: Option<Text>,
    rows: Vec<(Refund, String)>,
    operators: Vec<crate::model::Operator>,
    loaded: bool,
    /// The list being read (through the command queue).
    loading: Option<crate::queue::Ticket<Loaded>>,
    export: crate::ui::export::Exporter,
    /// Set when an order number is clicked: the shell opens it on the Orders screen.
    pub open_order: Option<String>,
}

impl RefundsScreen {
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    /// Builds the filter from the form (China days, inclusive) and reads the list again.
    fn apply(&mut self, ctx: &mut Ctx) {
        let typed = (|| -> Result<Option<Period>, Text> {
            let from = crate::ui::orders::parse_day_opt(&self.from, ("从", "From"))?;
            let to = crate::ui::orders::parse_day_opt(&self.to, ("到", "To"))?;
            Ok(match (from, to) {
                (Some(a), Some(b)) => Some(Period::Custom(a, b)),
                (Some(a), None) | (None, Some(a)) => Some(Period::Custom(a, a)),
                (None, None) => None,
            })
        })();
        match typed {
            Ok(custom) => {
                if custom.is_some() || matches!(self.period, Some(Period::Custom(..))) {
                    self.period = custom;
                }
                let bounds = self.period.map(|p| {
                    let (first, last) = p.days(time::OffsetDateTime::now_utc());
                    crate::dashboard::china_days_bounds(first, last)
                });
                self.filter = RefundFilter {
                    status: self.status,
                    from: bounds.as_ref().map(|b| b.0.clone()),
                    to: bounds.map(|b| b.1),
                    search: Some(self.search.trim().to_owned()).filter(|s| !s.is_empty()),
                };
                self.filter_error = None;
                // A new filter: the old rows go at once (a stale row must never look like an answer).
                self.rows.clear();
                self.reload(ctx);
            }
            Err(e) => self.filter_error = Some(e),
        }
    }

    /// Reads the list again through the queue (a read already under way is superseded: its answer is dropped).
    fn reload(&mut self, ctx: &mut Ctx) {
        let filter = self.filter.clone();
        self.loading = Some(ctx.queue.submit(move |s| {
            let rows = s.store.refunds().recent_refunds(&filter, 2000)?;
            Ok((rows, s.store.staff().operators()?))
        }));
        self.loaded = true;
    }

    /// Takes the list once it has been read.
    fn poll(&mut self, ui: &egui::Ui, ctx: &mut Ctx) {
        if self.loading.is_some() {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(50));
        }
        let Some(answer) = crate::queue::poll_slot(&mut self.loading) else { return };
        match answer {
            Ok(Ok((rows, operators))) => (self.rows, self.operators) = (rows, operators),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "refunds list");
                ctx.error = Some(Text::new("无法读取退款记录", "Cannot read the refunds"));
            }
            Err(e) => {
                tracing::warn!(error = %e, "refunds list");
                ctx.error = Some(Text::new("无法读取退款记录", "Cannot read the refunds"));
            }
        }
    }

    /// Whether the list is being read.
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if !self.loaded {
            self.reload(ctx);
        }
        self.poll(ui, ctx);
        let mut apply = false;
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.pick("日期", "Days"));
            if ui.selectable_label(self.period.is_none(), lang.pick("全部日期", "All days")).clicked() {
                self.period = None;
                self.from.clear();
                self.to.clear();
                apply = true;
            }
            for p in Period::PRESETS {
                if ui.selectable_label(self.period == Some(p), p.label(lang)).clicked() {
                    self.period = Some(p);
                    self.from.clear();
                    self.to.clear();
                    apply = true;
                }
            }
            for (label, text, width) in [
                (lang.pick("从", "From"), &mut self.from, 90.0),
                (lang.pick("到", "To"), &mut self.to, 90.0),
                (lang.pick("搜索", "Search"), &mut self.search, 180.0),
            ] {
                crate::ui::orders::room_for(ui, label, width + 8.0);
                apply |= ui
                    .horizontal(|ui| {
                        let l = ui.label(label);
                        let r = ui.add(egui::TextEdit::singleline(text).desired_width(width)).labelled_by(l.id);
                        r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
                    })
                    .inner;
            }
            crate::ui::orders::room_for(ui, lang.pick("状态", "Status"), 130.0);
            ui.horizontal(|ui| {
                let l = ui.label(lang.pick("状态", "Status"));
                let text = self.status.map_or(lang.pick("全部状态", "All statuses"), |s| s.label(lang));
                let r = egui::ComboBox::from_id_salt("refund-status").selected_text(text).show_ui(ui, |ui| {
                    apply |=
                        ui.selectable_value(&mut self.status, None, lang.pick("全部状态", "All statuses")).clicked();
                    for s in RefundStatus::ALL {
                        apply |= ui.selectable_value(&mut self.status, Some(*s), s.label(lang)).clicked();
                    }
                });
                r.response.labelled_by(l.id);
            });
            apply |= ui.button(lang.pick("查询", "Apply")).clicked();
            if ui.button(lang.pick("重置", "Reset")).clicked() {
                (self.period, self.status) = (None, None);
                self.from.clear();
                self.to.clear();
                self.search.clear();
                apply = true;
            }
            if let Some(format) = self.export.buttons(ui, lang) {
                let filter = self.filter.clone();
                self.export.start(
                    ctx,
                    "refunds",
                    format,
                    Box::new(move |s, path, progress, cancel| {
                        crate::export::export_refunds(&s.store, &filter, path, lang, progress, cancel)
                    }),
                );
            }
        });
        if apply {
            self.apply(ctx);
        }
        if let Some(e) = &self.filter_error {
            ui.colored_label(ui.visuals().error_fg_color, e.get(lang));
        }
        self.export.show(ui, ctx);
        let total: i64 = self
            .rows
            .iter()
            .filter(|(r, _)| r.status == RefundStatus::Success)
            .map(|(r, _)| r.refund_amount.fen())
            .sum();
        ui.label(format!(
            "{} {}   ·   {} ¥{}",
            lang.pick("退款笔数", "Refunds"),
            self.rows.len(),
            lang.pick("成功退款合计", "Refunded (success)"),
            crate::money::Amount::from_fen(total)
        ));
        ui.separator();
        if self.rows.is_empty() {
            if self.loading.is_some() {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(lang.pick("正在读取退款记录…", "Reading the refunds…"));
                });
            } else if self.filter == RefundFilter::default() {
                ui.label(lang.pick("暂无退款", "No refunds yet"));
            } else {
                ui.label(lang.pick("没有符合条件的退款", "No refunds match the filter"));
            }
            return;
        }
        let wide = ui.available_width() >= 1000.0;
        let mut open = None;
        let mut builder = egui_extras::TableBuilder::new(ui).striped(true).auto_shrink([false, false]);
        builder = builder
            .column(egui_extras::Column::exact(140.0))
            .column(egui_extras::Column::initial(170.0).at_least(120.0).clip(true));
        if wide {
            builder = builder.column(egui_extras::Column::initial(200.0).at_least(120.0).clip(true));
        }
        builder = builder
            .column(egui_extras::Column::exact(80.0))
            .column(egui_extras::Column::exact(90.0))
            .column(egui_extras::Column::exact(90.0).clip(true))
            .column(egui_extras::Column::remainder().at_least(60.0).clip(true));
        builder
            .header(22.0, |mut h| {
                let mut titles = vec![lang.pick("时间（北京）", "Time (China)"), lang.pick("订单", "Order")];
                if wide {
                    titles.push(lang.pick("退款单号", "out_request_no"));
                }
                titles.extend([
                    lang.pick("金额", "Amount"),
                    lang.pick("状态", "Status"),
                    lang.pick("操作员", "Operator"),
                    lang.pick("原因", "Reason"),
                ]);
                for t in titles {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|body| {
                body.rows(22.0, self.rows.len(), |mut row| {
                    let Some((r, out_trade_no)) = self.rows.get(row.index()) else { return };
                    row.col(|ui| {
                        ui.label(crate::time::to_china_display(&r.created_at));
                    });
                    row.col(|ui| {
                        let link = ui.link(out_trade_no).on_hover_text(lang.pick("在订单中打开", "Open in Orders"));
                        if link.clicked() {
                            open = Some(out_trade_no.clone());
                        }
                    });
                    if wide {
                        row.col(|ui| {
                            ui.label(&r.out_request_no);
                        });
                    }
                    row.col(|ui| {
                        ui.label(format!("¥{}", r.refund_amount));
                    });
                    row.col(|ui| {
                        refund_status_tag(ui, r.status, lang);
                    });
                    row.col(|ui| {
                        let who = r.operator_id.and_then(|id| self.operators.iter().find(|o| o.id == id));
                        ui.label(who.map_or("—", |o| o.name.as_str()));
                    });
                    row.col(|ui| {
                        ui.add(egui::Label::new(&r.reason).truncate()).on_hover_text(&r.reason);
                    });
                });
            });
        if open.is_some() {
            self.open_order = open;
        }
    }
}

fn refund_status_tag(ui: &mut egui::Ui, status: RefundStatus, lang: Lang) {
    let fill = match status {
        RefundStatus::Success => egui::Color32::from_rgb(214, 150, 30),
        RefundStatus::Failed => egui::Color32::from_gray(120),
        RefundStatus::Submitted | RefundStatus::Processing => egui::Color32::from_rgb(66, 133, 214),
    };
    let text = if status == RefundStatus::Success { egui::Color32::BLACK } else { egui::Color32::WHITE };
    ui.label(egui::RichText::new(status.label(lang)).background_color(fill).color(text));
}
