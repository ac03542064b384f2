//! 退款 Refunds: every refund with its status, filtered by status, days and a search (order number, refund number,
//! reason), exportable to CSV or Excel with the same filter.

use crate::model::{Refund, RefundStatus};
use crate::store::refunds::RefundFilter;
use crate::ui::Ctx;

#[derive(Debug, Default)]
pub struct RefundsScreen {
    status: Option<RefundStatus>,
    from: String,
    to: String,
    search: String,
    filter: RefundFilter,
    filter_error: Option<String>,
    rows: Vec<(Refund, String)>,
    loaded: bool,
    export: crate::ui::export::Exporter,
}

impl RefundsScreen {
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    /// Builds the filter from the form (days are local, inclusive) and reads the list again.
    fn apply(&mut self, ctx: &mut Ctx) {
        let offset = crate::time::local_offset();
        let from = crate::ui::orders::parse_day_opt(&self.from, ctx.lang.pick("从", "From"));
        let to = crate::ui::orders::parse_day_opt(&self.to, ctx.lang.pick("到", "To"));
        match (from, to) {
            (Ok(from), Ok(to)) => {
                self.filter = RefundFilter {
                    status: self.status,
                    from: from.map(|d| crate::time::local_day_bounds(d, offset).0),
                    to: to.map(|d| crate::time::local_day_bounds(d, offset).1),
                    search: Some(self.search.trim().to_owned()).filter(|s| !s.is_empty()),
                };
                self.filter_error = None;
                self.reload(ctx);
            }
            (Err(e), _) | (_, Err(e)) => self.filter_error = Some(e),
        }
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        match ctx.home.store.recent_refunds(&self.filter, 2000) {
            Ok(rows) => self.rows = rows,
            Err(e) => ctx.error = Some(crate::i18n::Text::untranslated(e.to_string())),
        }
        self.loaded = true;
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if !self.loaded {
            self.reload(ctx);
        }
        let mut apply = false;
        ui.horizontal_wrapped(|ui| {
            for (label, text, width) in [
                (lang.pick("从", "From"), &mut self.from, 90.0),
                (lang.pick("到", "To"), &mut self.to, 90.0),
                (lang.pick("搜索", "Search"), &mut self.search, 180.0),
            ] {
                let l = ui.label(label);
                let r = ui.add(egui::TextEdit::singleline(text).desired_width(width)).labelled_by(l.id);
                apply |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            }
            let text = self.status.map_or(lang.pick("全部状态", "All statuses"), |s| s.label(lang));
            egui::ComboBox::new("refund-status", lang.pick("状态", "Status")).selected_text(text).show_ui(ui, |ui| {
                apply |= ui.selectable_value(&mut self.status, None, lang.pick("全部状态", "All statuses")).clicked();
                for s in RefundStatus::ALL {
                    apply |= ui.selectable_value(&mut self.status, Some(*s), s.label(lang)).clicked();
                }
            });
            apply |= ui.button(lang.pick("查询", "Apply")).clicked();
            if let Some(format) = self.export.buttons(ui, lang) {
                let filter = self.filter.clone();
                self.export.start(
                    ctx,
                    ui.ctx(),
                    "refunds",
                    format,
                    Box::new(move |db, path, progress, cancel| {
                        crate::export::export_refunds(db, &filter, path, lang, progress, cancel)
                    }),
                );
            }
        });
        if apply {
            self.apply(ctx);
        }
        if let Some(e) = &self.filter_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        self.export.show(ui, lang);
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
            if self.filter == RefundFilter::default() {
                ui.label(lang.pick("暂无退款", "No refunds yet"));
            } else {
                ui.label(lang.pick("没有符合条件的退款", "No refunds match the filter"));
            }
            return;
        }
        egui_extras::TableBuilder::new(ui)
            .striped(true)
            .column(egui_extras::Column::auto().at_least(150.0))
            .column(egui_extras::Column::auto().at_least(250.0))
            .column(egui_extras::Column::auto().at_least(80.0))
            .column(egui_extras::Column::auto().at_least(100.0))
            .column(egui_extras::Column::remainder())
            .header(22.0, |mut h| {
                for t in [
                    lang.pick("时间", "Time"),
                    lang.pick("退款单号", "out_request_no"),
                    lang.pick("金额", "Amount"),
                    lang.pick("状态", "Status"),
                    lang.pick("原因", "Reason"),
                ] {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|body| {
                body.rows(22.0, self.rows.len(), |mut row| {
                    let Some((r, _)) = self.rows.get(row.index()) else { return };
                    row.col(|ui| {
                        ui.label(crate::time::to_local_display(&r.created_at));
                    });
                    row.col(|ui| {
                        ui.label(&r.out_request_no);
                    });
                    row.col(|ui| {
                        ui.label(format!("¥{}", r.refund_amount));
                    });
                    row.col(|ui| {
                        ui.label(r.status.label(lang));
                    });
                    row.col(|ui| {
                        ui.label(&r.reason);
                    });
                });
            });
    }
}
