//! 交接班 on a till enrolled with a merchant backend: below the till's own shifts, every till's shifts and day closes
//! as the backend has them (each till sends what it closes), read-only — an owner sees every store, back office this
//! till's store, a cashier their own shifts (the backend decides). Every read is a command on the queue (the vault's
//! token and the till's operator session read there, the call made there); the panel polls the answer each frame.

use crate::channel::backend::api::{ShiftKind, ShiftQuery, ShiftReportList};
use crate::i18n::{Lang, Text};
use crate::queue::{Ticket, poll_slot};
use crate::recon::backend::{self as remote, RemoteError};
use crate::ui::Ctx;

/// The backend's shift reports on the 交接班 screen.
#[derive(Default)]
pub struct TillsPanel {
    /// The operator the list was read for (read again when someone else signs in).
    read_for: Option<Option<String>>,
    list: Option<ShiftReportList>,
    job: Option<Ticket<Result<ShiftReportList, RemoteError>>>,
    error: Option<Text>,
}

impl std::fmt::Debug for TillsPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TillsPanel").field("read_for", &self.read_for).finish_non_exhaustive()
    }
}

/// A refusal or failure, in the interface's words.
fn words(e: &RemoteError) -> Text {
    match e {
        RemoteError::Unreachable(_) => {
            tracing::warn!(error = %e, "the merchant backend's shift reports");
            Text::new(
                "无法连接商户后台，暂时看不到各收银台的交接班：请检查网络后点“刷新”",
                "The merchant backend cannot be reached, so the tills' shifts cannot be shown: check the network and \
                 press Refresh",
            )
        }
        RemoteError::SignInRequired => Text::new(
            "请先登录（设置 → 员工）：商户后台按登录的人员显示交接班",
            "Sign in first (Settings → Staff): the merchant backend shows shifts to a signed-in operator",
        ),
        RemoteError::NotYourStore => Text::new(
            "这不是本店的交接班：只能查看本收银台门店",
            "That is another store's: only this till's store can be shown",
        ),
        other => crate::ui::words_recon::remote_error(other),
    }
}

impl TillsPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        match poll_slot(&mut self.job) {
            Some(Ok(Ok(list))) => {
                self.list = Some(list);
                self.error = None;
            }
            Some(Ok(Err(e))) => self.error = Some(words(&e)),
            Some(Err(e)) => self.error = Some(crate::i18n::Phrase::text(&e)),
            None => {}
        }
        if self.read_for.as_ref() != Some(&ctx.operator) {
            self.read_for = Some(ctx.operator.clone());
            self.refresh(ctx);
        }
        ui.heading(lang.pick("各收银台的交接班（商户后台）", "Every till's shifts (merchant backend)"));
        ui.horizontal(|ui| {
            ui.label(lang.pick(
                "每台收银机交班、日结后发送到商户后台；这里只读显示。",
                "Each till sends its handovers and day closes to the merchant backend; shown here read-only.",
            ));
            let busy = self.job.is_some();
            if ui.add_enabled(!busy, egui::Button::new(lang.pick("刷新", "Refresh"))).clicked() {
                self.refresh(ctx);
            }
        });
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error.get(lang));
        }
        let Some(list) = &self.list else {
            if self.error.is_none() {
                ui.weak(lang.pick("正在读取商户后台…", "Reading the merchant backend…"));
            }
            return;
        };
        if list.reports.is_empty() {
            if self.error.is_none() {
                ui.label(lang.pick("商户后台还没有交接班记录", "The merchant backend has no shifts yet"));
            }
            return;
        }
        egui::Grid::new("tills-shifts").striped(true).num_columns(8).show(ui, |ui| {
            for head in [
                lang.pick("类型", "What"),
                lang.pick("门店", "Store"),
                lang.pick("收银台", "Till"),
                lang.pick("人员", "Operator"),
                lang.pick("结束时间", "Closed"),
                lang.pick("收款", "Paid"),
                lang.pick("退款", "Refunded"),
                lang.pick("净额", "Net"),
            ] {
                ui.strong(head);
            }
            ui.end_row();
            for r in &list.reports {
                ui.label(match (r.kind, lang) {
                    (ShiftKind::Shift, _) => lang.pick("交班", "Shift").to_owned(),
                    (ShiftKind::DayClose, Lang::ZhCn) => format!("日结 {}", r.business_day.as_deref().unwrap_or("")),
                    (ShiftKind::DayClose, Lang::En) => format!("Day {}", r.business_day.as_deref().unwrap_or("")),
                });
                ui.label(&r.store_code);
                ui.label(format!("#{} {}", r.till_id, r.till_name));
                ui.label(&r.operator);
                ui.label(crate::time::to_china_display(&r.closed_at));
                ui.label(format!("{} · ¥{}", r.figures.paid_count, r.figures.paid));
                ui.label(format!("¥{}", r.figures.refunded));
                ui.label(format!("¥{}", r.figures.net));
                ui.end_row();
            }
        });
    }

    /// Reads the list again (a command on the queue).
    fn refresh(&mut self, ctx: &Ctx) {
        if !ctx.queue.vault_unlocked() {
            self.error = Some(words(&RemoteError::VaultLocked));
            return;
        }
        let q = ShiftQuery { limit: Some(100), ..ShiftQuery::default() };
        self.job = Some(ctx.queue.submit_with_core(move |s, core| {
            let client = remote::client_of(&s.store, core.vault().as_ref())?;
            remote::block_on(async { client.shift_reports(&q).await.map_err(RemoteError::from) })
        }));
    }
}
