//! 退款 Refunds: every refund with its status, filtered by status, exportable; refunds still open are followed up
//! with the acquirer from here.

use crate::model::{Refund, RefundStatus};
use crate::ui::Ctx;

#[derive(Debug, Default)]
pub struct RefundsScreen {
    status: Option<RefundStatus>,
    rows: Vec<(Refund, String)>,
    loaded: bool,
    export: crate::ui::export::Exporter,
}

impl RefundsScreen {
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        match ctx.home.store.recent_refunds(self.status, 2000) {
            Ok(rows) => self.rows = rows,
            Err(e) => ctx.error = Some(e.to_string()),
        }
        self.loaded = true;
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if !self.loaded {
            self.reload(ctx);
        }
        ui.horizontal(|ui| {
            let before = self.status;
            let text = self.status.map_or(lang.pick("全部状态", "All statuses"), |s| s.label(lang));
            egui::ComboBox::new("refund-status", lang.pick("状态", "Status")).selected_text(text).show_ui(ui, |ui| {
                ui.selectable_value(&mut self.status, None, lang.pick("全部状态", "All statuses"));
                for s in RefundStatus::ALL {
                    ui.selectable_value(&mut self.status, Some(*s), s.label(lang));
                }
            });
            if self.status != before {
                self.reload(ctx);
            }
            if let Some(format) = self.export.buttons(ui, lang) {
                let status = self.status;
                self.export.start(
                    ctx,
                    ui.ctx(),
                    "refunds",
                    format,
                    Box::new(move |db, path, progress, cancel| {
                        crate::export::export_refunds(db, status, path, lang, progress, cancel)
                    }),
                );
            }
        });
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
            ui.label(lang.pick("暂无退款", "No refunds yet"));
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
