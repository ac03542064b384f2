//! 同步 Sync panel (in Settings): online/offline, the outbox, the last successful sync, recent sync runs with their
//! errors, and "Retry now" (every waiting outbox entry becomes due and the worker runs a pass at once). Read every
//! second, and written, through the command queue.

use std::time::{Duration, Instant};

use crate::i18n::{Phrase, Text};
use crate::queue::Ticket;
use crate::store::StoreError;
use crate::store::sync::{OutboxEntry, SyncRun};
use crate::ui::Ctx;
use crate::ui::words_backoffice::{RunSummary, store_error};

/// What the panel shows, as last read.
#[derive(Debug, Default)]
struct Seen {
    runs: Vec<SyncRun>,
    waiting: Vec<OutboxEntry>,
    last_success: Option<String>,
    listen: Option<String>,
    allow_remote: bool,
}

/// A change the panel asked for, and what it comes back with.
enum Asked {
    /// A setting saved; the words to show when it was.
    Saved(Ticket<Result<(), StoreError>>, Text),
    /// "Retry now": how many entries are due now.
    Retry(Ticket<Result<usize, StoreError>>),
}

#[derive(Default)]
pub struct SyncPanel {
    listen_text: Option<String>,
    /// The setting notify.allow_remote, as first read.
    allow_remote: Option<bool>,
    seen: Option<Seen>,
    reading: Option<Ticket<Result<Seen, StoreError>>>,
    asked: Option<Asked>,
    loaded: Option<Instant>,
    message: Option<Text>,
}

impl std::fmt::Debug for SyncPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncPanel").field("seen", &self.seen).finish_non_exhaustive()
    }
}

impl SyncPanel {
    /// Reads the runs, the outbox and the settings again, at most every second.
    fn reload(&mut self, ctx: &Ctx) {
        if let Some(answer) = crate::queue::poll_slot(&mut self.reading) {
            match answer {
                Ok(Ok(seen)) => self.seen = Some(seen),
                Ok(Err(e)) => self.message = Some(store_error(&e)),
                Err(e) => self.message = Some(e.text()),
            }
        }
        let stale = self.loaded.is_none_or(|t| t.elapsed() > Duration::from_secs(1));
        if !stale || self.reading.is_some() {
            return;
        }
        self.reading = Some(ctx.queue.submit(|s| {
            let entries = s.store.sync().outbox_entries(50)?;
            Ok(Seen {
                runs: s.store.sync().recent_sync_runs(10)?,
                waiting: entries.into_iter().filter(|e| e.delivered_at.is_none()).collect(),
                last_success: s.store.sync().last_successful_sync()?,
                listen: s.store.setting(crate::sync::notify::SETTING_LISTEN)?,
                allow_remote: crate::sync::notify::remote_allowed(&s.store).unwrap_or(false),
            })
        }));
        self.loaded = Some(Instant::now());
    }

    /// Takes the answer to a change, worded.
    fn poll_asked(&mut self, ctx: &Ctx) {
        let answer = match &mut self.asked {
            None => return,
            Some(Asked::Saved(ticket, words)) => match ticket.poll() {
                None => return,
                Some(Ok(Ok(()))) => words.clone(),
                Some(Ok(Err(e))) => store_error(&e),
                Some(Err(e)) => e.text(),
            },
            Some(Asked::Retry(ticket)) => match ticket.poll() {
                None => return,
                Some(Ok(Ok(n))) => {
                    let woke = ctx.services.as_ref().map(|s| s.handle().sync_now()).is_some();
                    self.loaded = None;
                    if woke {
                        Text::new(
                            format!("已请求同步，待发送项：{n}"),
                            format!("Sync requested; outbox entries due now: {n}"),
                        )
                    } else {
                        Text::new(
                            format!("后台同步未运行；下次启动时发送，待发送项：{n}"),
                            format!("The background sync is not running; due at its next start: {n}"),
                        )
                    }
                }
                Some(Ok(Err(e))) => store_error(&e),
                Some(Err(e)) => e.text(),
            },
        };
        self.asked = None;
        self.message = Some(answer);
    }

    /// Saves `key` = `value` through the queue; `words` are shown once it is saved.
    fn save(&mut self, ctx: &Ctx, key: &'static str, value: String, words: Text) {
        self.asked = Some(Asked::Saved(ctx.queue.submit(move |s| s.store.set_setting(key, &value, None)), words));
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.reload(ctx);
        self.poll_asked(ctx);
        let Some(seen) = &self.seen else {
            ui.spinner();
            ui.ctx().request_repaint_after(Duration::from_millis(50));
            return;
        };
        let (waiting, last_success) = (seen.waiting.len(), seen.last_success.clone());
        let (listen, allow_remote) = (seen.listen.clone(), seen.allow_remote);
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
            ui.label(format!("{}{}", lang.pick("待发送：", "Outbox: "), waiting));
            ui.separator();
            let last = last_success
                .as_deref()
                .map(crate::time::to_china_display)
                .unwrap_or_else(|| lang.pick("从未", "never").to_owned());
            ui.label(format!("{}{last}", lang.pick("上次成功同步：", "Last successful sync: ")));
        });
        let mut pending_save = None;
        ui.horizontal_wrapped(|ui| {
            let listening = ctx.services.as_ref().and_then(|s| s.listener.as_ref().map(|l| l.url()));
            ui.label(format!(
                "{}{}",
                lang.pick("通知接收地址：", "Notifications received at: "),
                listening.as_deref().unwrap_or(lang.pick("未运行", "not running"))
            ));
            let text = self
                .listen_text
                .get_or_insert_with(|| listen.unwrap_or_else(|| crate::sync::notify::DEFAULT_LISTEN.into()));
            let l = ui.label(lang.pick("监听地址", "Listen address"));
            ui.add(egui::TextEdit::singleline(text).id_salt("listen-address").desired_width(160.0)).labelled_by(l.id);
            if ui.button(lang.pick("保存（重启后生效）", "Save (applies at next start)")).clicked() {
                let value = text.trim().to_owned();
                let permitted = ctx.permit_text(crate::store::operators::Permission::ChangeSettings);
                match (permitted, value.parse::<std::net::SocketAddr>()) {
                    (Err(refused), _) => self.message = Some(refused),
                    (Ok(()), Err(_)) => {
                        self.message = Some(Text::new(
                            format!("“{value}”不是 地址:端口 的形式，例如 127.0.0.1:8090"),
                            format!("not an address:port like 127.0.0.1:8090: {value:?}"),
                        ))
                    }
                    (Ok(()), Ok(addr)) => {
                        let words = if !addr.ip().is_loopback() && self.allow_remote != Some(true) {
                            Text::new(
                                "已保存；这不是本机回环地址，勾选“允许其他机器发送通知”后才会监听",
                                "Saved; this is not a loopback address, so the listener refuses it until \
                                 “Accept notifications from other machines” is ticked",
                            )
                        } else {
                            Text::new("已保存", "Saved")
                        };
                        pending_save = Some((crate::sync::notify::SETTING_LISTEN, value, words));
                    }
                }
            }
        });
        if let Some((key, value, words)) = pending_save.take() {
            self.save(ctx, key, value, words);
        }
        let allow = self.allow_remote.get_or_insert(allow_remote);
        let label = lang.pick(
            "允许其他机器发送通知（非回环地址，重启后生效）",
            "Accept notifications from other machines (a non-loopback address; applies at next start)",
        );
        if ui.checkbox(allow, label).changed() {
            let value = if *allow { "true" } else { "false" };
            if let Err(refused) = ctx.permit_text(crate::store::operators::Permission::ChangeSettings) {
                *allow = !*allow;
                self.message = Some(refused);
            } else {
                let key = crate::sync::notify::SETTING_ALLOW_REMOTE;
                self.save(ctx, key, value.to_owned(), Text::new("已保存", "Saved"));
            }
        }
        let mut retry = false;
        ui.horizontal(|ui| {
            retry = ui.button(lang.pick("立即重试", "Retry now")).clicked();
        });
        if retry {
            self.asked = Some(Asked::Retry(ctx.queue.submit(|s| s.store.sync_mut().outbox_retry_now())));
        }
        let Some(seen) = &self.seen else { return };
        if let Some(m) = &self.message {
            ui.add(egui::Label::new(m.get(lang)).wrap_mode(egui::TextWrapMode::Wrap));
        }
        if !seen.waiting.is_empty() {
            ui.label(lang.pick("等待发送：", "Waiting to be delivered:"));
            for e in &seen.waiting {
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
        if seen.runs.is_empty() {
            ui.label(lang.pick("暂无", "None yet"));
        }
        egui::Grid::new("sync-runs").num_columns(3).striped(true).show(ui, |ui| {
            for run in &seen.runs {
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
