//! 同步 Sync panel (in Settings): online/offline, the outbox, the last successful sync, recent sync runs with their
//! errors, and "Retry now" (every waiting outbox entry becomes due and the worker runs a pass at once).

use std::time::{Duration, Instant};

use crate::i18n::{Phrase, Text};
use crate::store::sync::{OutboxEntry, SyncRun};
use crate::ui::Ctx;
use crate::ui::words_backoffice::{RunSummary, store_error};

#[derive(Debug, Default)]
pub struct SyncPanel {
    listen_text: Option<String>,
    /// The setting notify.allow_remote, read once.
    allow_remote: Option<bool>,
    runs: Vec<SyncRun>,
    waiting: Vec<OutboxEntry>,
    loaded: Option<Instant>,
    message: Option<Text>,
}

impl SyncPanel {
    fn reload(&mut self, ctx: &Ctx) {
        let stale = self.loaded.is_none_or(|t| t.elapsed() > Duration::from_secs(1));
        if !stale {
            return;
        }
        match (ctx.home.store.recent_sync_runs(10), ctx.home.store.outbox_entries(50)) {
            (Ok(runs), Ok(entries)) => {
                self.runs = runs;
                self.waiting = entries.into_iter().filter(|e| e.delivered_at.is_none()).collect();
            }
            (Err(e), _) | (_, Err(e)) => self.message = Some(store_error(&e)),
        }
        self.loaded = Some(Instant::now());
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.reload(ctx);
        ui.label(egui::RichText::new(lang.pick("同步", "Sync")).strong());
        let status = ctx.sync_status();
        ui.horizontal_wrapped(|ui| {
            let state = match status.as_ref().and_then(|s| s.online) {
                Some(true) => lang.pick("在线", "online"),
                Some(false) => lang.pick("离线", "offline"),
                None if status.is_some() => lang.pick("检查中…", "checking…"),
                None => lang.pick("后台同步未运行", "background sync not running"),
            };
            ui.label(format!("{}{state}", lang.pick("状态：", "Status: ")));
            ui.separator();
            ui.label(format!("{}{}", lang.pick("待发送：", "Outbox: "), self.waiting.len()));
            ui.separator();
            let last = ctx
                .home
                .store
                .last_successful_sync()
                .ok()
                .flatten()
                .map(|t| crate::time::to_china_display(&t))
                .unwrap_or_else(|| lang.pick("从未", "never").to_owned());
            ui.label(format!("{}{last}", lang.pick("上次成功同步：", "Last successful sync: ")));
        });
        ui.horizontal_wrapped(|ui| {
            let listening = ctx.services.as_ref().and_then(|s| s.listener.as_ref().map(|l| l.url()));
            ui.label(format!(
                "{}{}",
                lang.pick("通知接收地址：", "Notifications received at: "),
                listening.as_deref().unwrap_or(lang.pick("未运行", "not running"))
            ));
            let text = self.listen_text.get_or_insert_with(|| {
                ctx.home
                    .store
                    .setting(crate::sync::notify::SETTING_LISTEN)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| crate::sync::notify::DEFAULT_LISTEN.into())
            });
            let l = ui.label(lang.pick("监听地址", "Listen address"));
            ui.add(egui::TextEdit::singleline(text).desired_width(160.0)).labelled_by(l.id);
            if ui.button(lang.pick("保存（重启后生效）", "Save (applies at next start)")).clicked() {
                let value = text.trim().to_owned();
                let permitted = ctx.permit_text(crate::store::operators::Permission::ChangeSettings);
                self.message = Some(match (permitted, value.parse::<std::net::SocketAddr>()) {
                    (Err(refused), _) => refused,
                    (Ok(()), Err(_)) => Text::new(
                        format!("“{value}”不是 地址:端口 的形式，例如 127.0.0.1:8090"),
                        format!("not an address:port like 127.0.0.1:8090: {value:?}"),
                    ),
                    (Ok(()), Ok(addr)) => {
                        match ctx.home.store.set_setting(crate::sync::notify::SETTING_LISTEN, &value, None) {
                            Ok(()) if !addr.ip().is_loopback() && self.allow_remote != Some(true) => Text::new(
                                "已保存；这不是本机回环地址，勾选“允许其他机器发送通知”后才会监听",
                                "Saved; this is not a loopback address, so the listener refuses it until \
                                 “Accept notifications from other machines” is ticked",
                            ),
                            Ok(()) => Text::new("已保存", "Saved"),
                            Err(e) => store_error(&e),
                        }
                    }
                });
            }
        });
        let allow = self
            .allow_remote
            .get_or_insert_with(|| crate::sync::notify::remote_allowed(&ctx.home.store).unwrap_or(false));
        let label = lang.pick(
            "允许其他机器发送通知（非回环地址，重启后生效）",
            "Accept notifications from other machines (a non-loopback address; applies at next start)",
        );
        if ui.checkbox(allow, label).changed() {
            let value = if *allow { "true" } else { "false" };
            if let Err(refused) = ctx.permit_text(crate::store::operators::Permission::ChangeSettings) {
                *allow = !*allow;
                self.message = Some(refused);
            } else if let Err(e) = ctx.home.store.set_setting(crate::sync::notify::SETTING_ALLOW_REMOTE, value, None) {
                self.message = Some(store_error(&e));
            }
        }
        ui.horizontal(|ui| {
            if ui.button(lang.pick("立即重试", "Retry now")).clicked() {
                match ctx.home.store.outbox_retry_now() {
                    Ok(n) => {
                        let woke = ctx.services.as_ref().map(|s| s.handle().sync_now()).is_some();
                        self.message = Some(if woke {
                            Text::new(
                                format!("已请求同步，待发送项：{n}"),
                                format!("Sync requested; outbox entries due now: {n}"),
                            )
                        } else {
                            Text::new(
                                format!("后台同步未运行；下次启动时发送，待发送项：{n}"),
                                format!("The background sync is not running; due at its next start: {n}"),
                            )
                        });
                        self.loaded = None;
                    }
                    Err(e) => self.message = Some(store_error(&e)),
                }
            }
        });
        if let Some(m) = &self.message {
            ui.add(egui::Label::new(m.get(lang)).wrap_mode(egui::TextWrapMode::Wrap));
        }
        if !self.waiting.is_empty() {
            ui.label(lang.pick("等待发送：", "Waiting to be delivered:"));
            for e in &self.waiting {
                let line = ui.label(format!(
                    "· {}  {}{}  {}{}",
                    e.idempotency_key,
                    lang.pick("已尝试 ", "attempts "),
                    e.attempts,
                    lang.pick("下次 ", "next "),
                    crate::time::to_china_display(&e.next_attempt_at),
                ));
                // The acquirer's or the network's own words, for support.
                if let Some(error) = &e.last_error {
                    line.on_hover_text(error.as_str());
                }
            }
        }
        ui.label(lang.pick("最近的同步：", "Recent sync runs:"));
        if self.runs.is_empty() {
            ui.label(lang.pick("暂无", "None yet"));
        }
        egui::Grid::new("sync-runs").num_columns(3).striped(true).show(ui, |ui| {
            for run in &self.runs {
                ui.label(crate::time::to_china_display(run.finished_at.as_deref().unwrap_or(&run.started_at)));
                ui.label(if run.online { lang.pick("在线", "online") } else { lang.pick("离线", "offline") });
                ui.label(RunSummary(run).phrase(lang)).on_hover_text(run.summary.as_str());
                ui.end_row();
                // The errors are the acquirers' and the network's own (English) words: listed in the English window;
                // counted in the Chinese one, listed on hover.
                match lang {
                    crate::i18n::Lang::En => {
                        for err in &run.errors {
                            ui.label("");
                            ui.label("");
                            ui.colored_label(ui.visuals().error_fg_color, err);
                            ui.end_row();
                        }
                    }
                    crate::i18n::Lang::ZhCn if !run.errors.is_empty() => {
                        ui.label("");
                        ui.label("");
                        let text = format!("出错 {} 处（详情请把鼠标移到这里）", run.errors.len());
                        ui.colored_label(ui.visuals().error_fg_color, text).on_hover_text(run.errors.join("\n"));
                        ui.end_row();
                    }
                    crate::i18n::Lang::ZhCn => {}
                }
            }
        });
    }
}
