//! 退款 Refunds: every refund with its status, filtered by status, exportable; refunds still open are followed up
//! with the acquirer from here.

use crate::model::{Refund, RefundStatus};
use crate::ui::Ctx;

#[derive(Debug, Default)]
pub struct RefundsScreen {
    status: Option<RefundStatus>,
    rows: Vec<(Refund, String)>,
    loaded: bool,
    message: Option<String>,
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
            let text = self.status.map_or(lang.pick("全部状态", "All statuses"), |s| s.as_str());
            egui::ComboBox::new("refund-status", lang.pick("状态", "Status")).selected_text(text).show_ui(ui, |ui| {
                ui.selectable_value(&mut self.status, None, lang.pick("全部状态", "All statuses"));
                for s in RefundStatus::ALL {
                    ui.selectable_value(&mut self.status, Some(*s), s.as_str());
                }
            });
            if self.status != before {
                self.reload(ctx);
            }
            if ui.button(lang.pick("导出 CSV", "Export CSV")).clicked() {
                self.message = Some(match self.export(ctx) {
                    Ok(path) => format!("{} {}", lang.pick("已导出", "Exported"), path.display()),
                    Err(e) => e,
                });
            }
        });
        if let Some(m) = &self.message {
            ui.label(m);
        }
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
                        ui.label(r.status.as_str());
                    });
                    row.col(|ui| {
                        ui.label(&r.reason);
                    });
                });
            });
    }

    fn export(&self, ctx: &Ctx) -> Result<std::path::PathBuf, String> {
        let dir = ctx.home.dir.join("exports");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(format!("refunds-{}.csv", crate::time::now_utc().replace([':', '.'], "-")));
        let mut w = csv::Writer::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let err = |e: csv::Error| format!("{}: {e}", path.display());
        w.write_record(["out_trade_no", "out_request_no", "created_at", "refund_amount", "status", "reason"])
            .map_err(err)?;
        for (r, out) in &self.rows {
            w.write_record([
                out.as_str(),
                &r.out_request_no,
                &r.created_at,
                &r.refund_amount.to_string(),
                r.status.as_str(),
                &r.reason,
            ])
            .map_err(err)?;
        }
        w.flush().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}
