//! Settings → Access → Merchant backend → Join: the backend's URL and the one-time enrolment code; the join runs on
//! the network runtime with the vault (the till's token goes there) and gives the vault back with its outcome.

use zeroize::{Zeroize as _, Zeroizing};

use crate::i18n::{Phrase as _, Text};
use crate::ui::Ctx;

use super::{KeysPanel, no_runtime};

impl KeysPanel {
    /// Merchant backend → Join: the backend's URL (above) and the one-time code `tilldesk serve add-till` printed
    /// there. The join runs on the runtime with the vault (the token goes there), never on the UI thread.
    pub(super) fn join_form(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if let Some(url) = &ctx.backend_url {
            ui.label(crate::ui::words_backend::status(lang, url));
        }
        ui.horizontal(|ui| {
            let l = ui.label(lang.pick("加入码", "Enrolment code"));
            ui.add(
                egui::TextEdit::singleline(&mut *self.join_code)
                    .id_salt("enrolment-code")
                    .password(true)
                    .desired_width(360.0),
            )
            .labelled_by(l.id);
            let ready = self.joining.is_none() && !self.join_code.trim().is_empty();
            if ui.add_enabled(ready, egui::Button::new(lang.pick("加入商户后台", "Join"))).clicked() {
                self.start_join(ctx);
            }
            if self.joining.is_some() {
                ui.spinner();
                ui.label(crate::ui::words_backend::joining(lang));
            }
        });
    }

    fn start_join(&mut self, ctx: &mut Ctx) {
        if !ctx.queue.has_runtime() {
            self.message = Some(no_runtime());
            return;
        }
        let Some(mut vault) = ctx.queue.take_vault() else {
            self.message = Some(crate::ui::words_backend::unlock_first());
            return;
        };
        let db = ctx.queue.core().db().to_owned();
        let url = self.backend_url.trim().to_owned();
        let code = Zeroizing::new(self.join_code.trim().to_owned());
        self.join_code.zeroize();
        let operator = ctx.operator_id();
        let started = ctx.queue.start(move |_, _| async move {
            let result = crate::routing::backend::join(&db, &mut vault, &url, &code, operator).await;
            // The orders taken here before joining go up as the till's history now (the sync sends what cannot).
            let history = match &result {
                Ok(_) => crate::routing::history::send_after_joining(&db, &vault).await,
                Err(_) => None,
            };
            (vault, result, history)
        });
        match started {
            Ok(job) => {
                self.joining = Some(job);
                self.message = None;
            }
            // Not reached (the runtime was checked above); the vault went with the refused work: unlock again.
            Err(e) => self.message = Some(e.text()),
        }
    }

    pub(super) fn poll_join(&mut self, ctx: &mut Ctx) {
        let Some(job) = &mut self.joining else { return };
        let Some(answer) = job.poll() else { return };
        self.joining = None;
        match answer {
            Ok((vault, result, history)) => {
                ctx.queue.set_vault(Some(vault));
                self.message = Some(match result {
                    Ok(joined) => {
                        ctx.backend_joined(&joined);
                        self.keys_changed = true;
                        let text = crate::ui::words_backend::joined(&joined);
                        match history {
                            Some(sent) => text.then(&crate::ui::words_backend::history_sent(&sent)),
                            None => text,
                        }
                    }
                    Err(e) => crate::ui::words_backend::link_error(&e),
                });
            }
            Err(_) => {
                // The task ended without answering (the runtime stopped): the vault went with it; unlock again.
                self.message = Some(Text::new(
                    "加入未完成：请重新解锁密钥后再试",
                    "The join did not finish: unlock the keys and try again",
                ));
            }
        }
    }
}
