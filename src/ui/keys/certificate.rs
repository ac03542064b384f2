//! Settings → Live channels and keys → the WeChat Pay API certificate: its file and password, "Import certificate"
//! (read, checked and kept in the vault by one command on the queue), and its CN and expiry with a warning 30 days
//! before it expires.

use crate::i18n::Text;
use crate::keys::{self, LiveSettings};
use crate::model::AcquirerKind;
use crate::ui::Ctx;
use crate::ui::path_field::PathEvent;

use super::{Done, KeysPanel, field, locked};

impl KeysPanel {
    /// The certificate's section; `unlocked`: the vault is open and no other key command is out; `idle`: no key
    /// command is out.
    pub(super) fn certificate(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, unlocked: bool, idle: bool) {
        let lang = ctx.lang;
        let caption = lang.pick("API 证书文件 (apiclient_cert.p12)", "API certificate file (apiclient_cert.p12)");
        if let Some(PathEvent::Chosen(path)) = self.cert_path.0.show(ui, ctx, caption) {
            // Chosen in the dialog or Enter in the field: the password comes next.
            self.cert_path.0.text = path.display().to_string();
        }
        egui::Grid::new("keys-wechat-cert").num_columns(2).show(ui, |ui| {
            field(
                ui,
                lang.pick("证书密码（默认为商户号）", "Certificate password (default: the mch_id)"),
                &mut self.cert_password,
                true,
            );
        });
        ui.horizontal(|ui| {
            if ui.add_enabled(unlocked, egui::Button::new(lang.pick("导入证书", "Import certificate"))).clicked() {
                self.start_cert_import(ctx);
            }
            if !idle {
                ui.spinner();
            }
        });
        match &self.derived.cert_info {
            None => {
                ui.label(lang.pick(
                    "API 证书：未导入（退款和撤销需要它）",
                    "API certificate: not imported (refunds and reversals need it)",
                ));
            }
            Some((cn, not_after, _)) => {
                let text = format!(
                    "{}CN={cn}, {}{}",
                    lang.pick("API 证书：", "API certificate: "),
                    lang.pick("有效期至 ", "expires "),
                    not_after.date()
                );
                let days = (*not_after - time::OffsetDateTime::now_utc()).whole_days();
                if days < 0 {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!(
                            "{text} — {}",
                            lang.pick("已过期，请重新下载并导入", "expired: download a new one and import it")
                        ),
                    );
                } else if days <= keys::CERT_WARNING_DAYS {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!(
                            "{text} — {}{days}{}",
                            lang.pick("将在 ", "expires in "),
                            lang.pick(" 天后过期，请尽快更新", " days: renew it soon")
                        ),
                    );
                } else {
                    ui.label(text);
                }
            }
        }
    }

    /// Reads and checks the certificate file (PKCS#12 key derivation is slow) and keeps it in the vault: one
    /// command, which holds the vault only to write it.
    fn start_cert_import(&mut self, ctx: &mut Ctx) {
        let Some(path) = self.cert_path.0.path() else {
            self.message = Some(Text::new("请先填写证书文件", "Give the certificate file first"));
            return;
        };
        crate::ui::path_field::remember_folder(ctx, &path);
        let password = std::mem::take(&mut self.cert_password);
        self.cert_import = Some(ctx.queue.submit_with_core(move |s, core| {
            let password = Some(password.as_str()).filter(|p| !p.is_empty());
            let stored = LiveSettings::load(&s.store, AcquirerKind::WechatPay)
                .map_err(keys::KeyError::from)
                .and_then(|settings| {
                    let now = time::OffsetDateTime::now_utc();
                    keys::read_wechat_api_certificate_file(&settings.mch_id, &path, password, now)
                })
                .and_then(|certificate| match core.vault().as_mut() {
                    Some(vault) => keys::store_wechat_api_certificate(&mut s.store, vault, &certificate),
                    None => Err(locked()),
                });
            let imported = stored.is_ok();
            let done = Done::of(stored, |info| {
                let (cn, date, sha) = (&info.subject_cn, info.expiry_date(), &info.sha256);
                Text::new(
                    format!("证书已导入：CN={cn}，有效期至 {date}，sha256 {sha}"),
                    format!("Certificate imported: CN={cn}, expires {date}, sha256 {sha}"),
                )
            });
            Done { clear_cert_path: imported, refresh: imported, ..done }
        }));
    }
}
