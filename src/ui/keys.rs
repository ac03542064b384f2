//! 收单通道与密钥 Live channels and keys (in Settings): per acquirer the gateway URL and ids, "Generate key pair"
//! (the public key shown and exported as the console expects), the platform public key, the WeChat Pay API key,
//! "Test connection"; the access mode. Secrets go to the encrypted vault, unlocked with the passphrase; the
//! database only learns where they are.
//!
//! WeChat Pay also takes the account's sign type (MD5 / HMAC-SHA256) and the merchant API certificate
//! (`apiclient_cert.p12`, for refunds and reversals): a path and password, "Import certificate" (read and checked on
//! a worker thread, then kept in the vault), and its CN and expiry, with a warning 30 days before it expires. Alipay
//! takes the service-provider fields (sys_service_provider_id, app_auth_token).

use std::sync::mpsc::Receiver;

use crate::channel::wechatpay::SignType;
use crate::channel::wechatpay::cert::ApiCertificate;
use crate::config::{AccessMode, SETTING_ACCESS, SETTING_BACKEND_URL};
use crate::keys::{self, CertStatus, LiveSettings};
use crate::model::AcquirerKind;
use crate::secrets::{Backend, Vault};
use crate::ui::Ctx;
use zeroize::{Zeroize as _, Zeroizing};

#[derive(Default)]
pub struct KeysPanel {
    passphrase: Zeroizing<String>,
    /// A key, id, gateway or the vault changed this frame (clients built before are stale).
    keys_changed: bool,
    loaded: bool,
    alipay: LiveSettings,
    wechat: LiveSettings,
    backend_url: String,
    platform_key_text: String,
    private_key_text: Zeroizing<String>,
    api_key_text: Zeroizing<String>,
    app_auth_token_text: Zeroizing<String>,
    cert_path: String,
    cert_password: Zeroizing<String>,
    /// The imported certificate's CN, expiry and SHA-256 (from the settings).
    cert_info: Option<(String, time::OffsetDateTime, String)>,
    cert_import: Option<Receiver<Result<ApiCertificate, keys::KeyError>>>,
    /// Where the certificate stood at the last WeChat connection test.
    wechat_cert_status: Option<CertStatus>,
    public_key: Option<String>,
    message: Option<String>,
    tests: Vec<(AcquirerKind, Receiver<Result<String, String>>)>,
    alipay_test: Option<Result<String, String>>,
    wechat_test: Option<Result<String, String>>,
}

impl std::fmt::Debug for KeysPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysPanel").field("loaded", &self.loaded).finish_non_exhaustive()
    }
}

/// A text field found by its label (kittest and screen readers).
fn field(ui: &mut egui::Ui, label: &str, text: &mut String, password: bool) {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(text).password(password).desired_width(360.0)).labelled_by(l.id);
    ui.end_row();
}

impl KeysPanel {
    fn load(&mut self, ctx: &Ctx) {
        if self.loaded {
            return;
        }
        self.alipay = LiveSettings::load(&ctx.home.store, AcquirerKind::Alipay).unwrap_or_default();
        self.wechat = LiveSettings::load(&ctx.home.store, AcquirerKind::WechatPay).unwrap_or_default();
        self.backend_url = ctx.home.store.setting(SETTING_BACKEND_URL).ok().flatten().unwrap_or_default();
        self.public_key = keys::alipay_app_public_key(&ctx.home.store).ok().flatten();
        self.cert_info = keys::wechat_api_certificate_info(&ctx.home.store).ok().flatten();
        self.loaded = true;
    }

    fn poll_tests(&mut self) {
        let mut done = Vec::new();
        for (i, (kind, rx)) in self.tests.iter().enumerate() {
            if let Ok(result) = rx.try_recv() {
                match kind {
                    AcquirerKind::WechatPay => self.wechat_test = Some(result),
                    _ => self.alipay_test = Some(result),
                }
                done.push(i);
            }
        }
        for i in done.into_iter().rev() {
            self.tests.remove(i);
        }
    }

    /// Shows what a save or import did; a success means the clients built before may be stale.
    fn report<T, E: std::fmt::Display>(&mut self, result: Result<T, E>, ok: impl FnOnce(T) -> String) {
        self.message = Some(match result {
            Ok(v) => {
                self.keys_changed = true;
                ok(v)
            }
            Err(e) => e.to_string(),
        });
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        self.show(ui, ctx);
        if std::mem::take(&mut self.keys_changed) {
            ctx.channels_changed();
        }
    }

    fn show(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.load(ctx);
        self.poll_tests();
        self.poll_cert_import(ctx);
        if !self.tests.is_empty() || self.cert_import.is_some() {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
        }
        ui.label(egui::RichText::new(lang.pick("收单通道与密钥", "Live channels and keys")).strong());
        if let Backend::Vault { reason } = Backend::detect() {
            ui.label(format!("{}{reason}", lang.pick("密钥保存：", "Secrets: ")));
        }

        // Unlocking the vault is open to whoever knows its passphrase (live payments need it); changing the access
        // mode, gateways and keys needs an operator who may change settings.
        let refused = ctx.permit(crate::store::operators::Permission::ChangeSettings).err();

        // Access mode.
        if refused.is_none() {
            ui.horizontal(|ui| {
                ui.label(lang.pick("接入方式", "Access mode"));
                for mode in [AccessMode::StoreDirect, AccessMode::MerchantBackend] {
                    if ui.radio(ctx.access == mode, mode.label(lang)).clicked() && ctx.access != mode {
                        match ctx.home.store.set_setting(SETTING_ACCESS, mode.as_str(), None) {
                            Ok(()) => {
                                ctx.access = mode;
                                self.keys_changed = true;
                            }
                            Err(e) => self.message = Some(e.to_string()),
                        }
                    }
                }
            });
            if ctx.access == AccessMode::MerchantBackend {
                ui.horizontal(|ui| {
                    let l = ui.label(lang.pick("商户后台地址", "Merchant backend URL"));
                    ui.add(egui::TextEdit::singleline(&mut self.backend_url).desired_width(360.0)).labelled_by(l.id);
                    if ui.button(lang.pick("保存地址", "Save backend URL")).clicked() {
                        let r = ctx.home.store.set_setting(SETTING_BACKEND_URL, self.backend_url.trim(), None);
                        self.report(r, |()| lang.pick("已保存", "Saved").into());
                    }
                });
            }
        }

        // The vault (creating one is a key change).
        if ctx.vault.is_none() && (refused.is_none() || Vault::exists(&ctx.home.dir)) {
            ui.horizontal(|ui| {
                let l = ui.label(lang.pick("密钥口令", "Passphrase"));
                ui.add(egui::TextEdit::singleline(&mut *self.passphrase).password(true).desired_width(200.0))
                    .labelled_by(l.id);
                let verb = if Vault::exists(&ctx.home.dir) {
                    lang.pick("解锁密钥", "Unlock keys")
                } else {
                    lang.pick("创建密钥库", "Create key vault")
                };
                if ui.button(verb).clicked() {
                    match Vault::unlock(&ctx.home.dir, &self.passphrase) {
                        Ok(v) => {
                            ctx.vault = Some(v);
                            self.keys_changed = true;
                            self.message = Some(lang.pick("密钥已解锁", "Keys unlocked").into());
                        }
                        Err(e) => self.message = Some(e.to_string()),
                    }
                    self.passphrase.zeroize();
                }
            });
        }
        if let Some(m) = &self.message {
            ui.label(m);
        }
        if let Some(refused) = refused {
            ui.colored_label(ui.visuals().error_fg_color, refused);
            return;
        }
        let unlocked = ctx.vault.is_some();

        // Alipay.
        ui.add_space(6.0);
        ui.label(egui::RichText::new(lang.pick("支付宝", "Alipay")).strong());
        egui::Grid::new("keys-alipay").num_columns(2).show(ui, |ui| {
            field(ui, lang.pick("支付宝网关地址", "Alipay gateway URL"), &mut self.alipay.gateway_url, false);
            field(ui, "app_id", &mut self.alipay.app_id, false);
            field(
                ui,
                lang.pick("系统商编号 sys_service_provider_id", "sys_service_provider_id (ISV PID)"),
                &mut self.alipay.sys_service_provider_id,
                false,
            );
            field(ui, "app_auth_token", &mut self.app_auth_token_text, true);
        });
        ui.horizontal(|ui| {
            if ui.button(lang.pick("保存支付宝设置", "Save Alipay settings")).clicked() {
                let r = self.alipay.save(&mut ctx.home.store, AcquirerKind::Alipay);
                self.report(r, |()| lang.pick("已保存", "Saved").into());
            }
            if ui
                .add_enabled(unlocked, egui::Button::new(lang.pick("保存 app_auth_token", "Save app_auth_token")))
                .clicked()
                && let Some(vault) = ctx.vault.as_mut()
            {
                let r = keys::set_alipay_app_auth_token(&mut ctx.home.store, vault, &self.app_auth_token_text);
                self.app_auth_token_text.zeroize();
                self.report(r, |fp| format!("{}{fp}", lang.pick("app_auth_token 已保存 ", "app_auth_token saved ")));
            }
            if ui.add_enabled(unlocked, egui::Button::new(lang.pick("生成密钥对", "Generate key pair"))).clicked()
                && let Some(vault) = ctx.vault.as_mut()
            {
                match keys::generate_alipay_key_pair(&mut ctx.home.store, vault) {
                    Ok(export) => {
                        self.keys_changed = true;
                        let path = ctx.home.dir.join("alipay_app_public_key.txt");
                        let written = std::fs::write(&path, format!("{}\n", export.console_base64));
                        self.public_key = Some(export.console_base64);
                        self.message = Some(match written {
                            Ok(()) => format!(
                                "{}{}",
                                lang.pick("已生成；公钥已导出到 ", "Generated; public key exported to "),
                                path.display()
                            ),
                            Err(e) => e.to_string(),
                        });
                    }
                    Err(e) => self.message = Some(e.to_string()),
                }
            }
        });
        if let Some(pk) = &self.public_key {
            ui.label(lang.pick(
                "应用公钥（粘贴到支付宝开放平台 → 接口加签方式）：",
                "App public key (paste into the Alipay console → signing method):",
            ));
            let mut shown = pk.clone();
            ui.add(
                egui::TextEdit::multiline(&mut shown)
                    .desired_rows(2)
                    .desired_width(600.0)
                    .font(egui::TextStyle::Monospace),
            );
        }
        egui::Grid::new("keys-alipay-import").num_columns(2).show(ui, |ui| {
            field(ui, lang.pick("支付宝公钥", "Alipay public key"), &mut self.platform_key_text, false);
            field(ui, lang.pick("导入应用私钥", "Import app private key"), &mut self.private_key_text, true);
        });
        ui.horizontal(|ui| {
            if ui.button(lang.pick("导入支付宝公钥", "Import Alipay public key")).clicked() {
                let r = keys::import_alipay_platform_key(&mut ctx.home.store, &self.platform_key_text);
                if r.is_ok() {
                    self.platform_key_text.clear();
                    self.loaded = false;
                }
                self.report(r, |fp| format!("{}{fp}", lang.pick("已导入 ", "Imported ")));
            }
            if ui.add_enabled(unlocked, egui::Button::new(lang.pick("导入私钥", "Import private key"))).clicked()
                && let Some(vault) = ctx.vault.as_mut()
            {
                let r = keys::import_alipay_private_key(&mut ctx.home.store, vault, &self.private_key_text);
                self.private_key_text.zeroize();
                self.loaded = false;
                self.report(r, |fp| format!("{}{fp}", lang.pick("已导入 ", "Imported ")));
            }
            if ui
                .add_enabled(unlocked, egui::Button::new(lang.pick("测试支付宝连接", "Test Alipay connection")))
                .clicked()
            {
                self.start_test(ctx, AcquirerKind::Alipay);
            }
        });
        show_test(ui, lang, &self.alipay_test);

        // WeChat Pay.
        ui.add_space(6.0);
        ui.label(egui::RichText::new(lang.pick("微信支付", "WeChat Pay")).strong());
        egui::Grid::new("keys-wechat").num_columns(2).show(ui, |ui| {
            field(ui, lang.pick("微信支付网关地址", "WeChat Pay gateway URL"), &mut self.wechat.gateway_url, false);
            field(ui, "appid", &mut self.wechat.app_id, false);
            field(ui, "mch_id", &mut self.wechat.mch_id, false);
            field(ui, lang.pick("API 密钥", "API key"), &mut self.api_key_text, true);
            ui.label(lang.pick("签名方式", "Sign type"));
            ui.horizontal(|ui| {
                for t in SignType::ALL {
                    ui.radio_value(&mut self.wechat.sign_type, t, t.as_str());
                }
            });
            ui.end_row();
        });
        ui.horizontal(|ui| {
            if ui.button(lang.pick("保存微信支付设置", "Save WeChat Pay settings")).clicked() {
                let r = self.wechat.save(&mut ctx.home.store, AcquirerKind::WechatPay);
                self.report(r, |()| lang.pick("已保存", "Saved").into());
            }
            if ui.add_enabled(unlocked, egui::Button::new(lang.pick("保存 API 密钥", "Save API key"))).clicked()
                && let Some(vault) = ctx.vault.as_mut()
            {
                let r = keys::set_wechat_api_key(&mut ctx.home.store, vault, &self.api_key_text);
                self.api_key_text.zeroize();
                self.report(r, |fp| format!("{}{fp}", lang.pick("API 密钥已保存 ", "API key saved ")));
            }
            if ui
                .add_enabled(unlocked, egui::Button::new(lang.pick("测试微信支付连接", "Test WeChat Pay connection")))
                .clicked()
            {
                self.start_test(ctx, AcquirerKind::WechatPay);
            }
        });
        show_test(ui, lang, &self.wechat_test);
        if let Some(status) = &self.wechat_cert_status
            && self.wechat_test.is_some()
            && status.is_warning()
        {
            ui.colored_label(ui.visuals().warn_fg_color, status.to_string());
        }

        // The API certificate.
        egui::Grid::new("keys-wechat-cert").num_columns(2).show(ui, |ui| {
            field(
                ui,
                lang.pick("API 证书文件 (apiclient_cert.p12)", "API certificate file (apiclient_cert.p12)"),
                &mut self.cert_path,
                false,
            );
            field(
                ui,
                lang.pick("证书密码（默认为商户号）", "Certificate password (default: the mch_id)"),
                &mut self.cert_password,
                true,
            );
        });
        ui.horizontal(|ui| {
            let idle = self.cert_import.is_none();
            if ui
                .add_enabled(unlocked && idle, egui::Button::new(lang.pick("导入证书", "Import certificate")))
                .clicked()
            {
                self.start_cert_import(ctx);
            }
            if !idle {
                ui.spinner();
            }
        });
        match &self.cert_info {
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

    /// Reads and checks the certificate file on a worker thread (PKCS#12 key derivation is slow); the vault write
    /// happens here when the result comes back.
    fn start_cert_import(&mut self, ctx: &Ctx) {
        let path = std::path::PathBuf::from(self.cert_path.trim());
        let password = std::mem::take(&mut self.cert_password);
        let mch_id = match LiveSettings::load(&ctx.home.store, AcquirerKind::WechatPay) {
            Ok(s) => s.mch_id,
            Err(e) => {
                self.message = Some(e.to_string());
                return;
            }
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let result = std::fs::read(&path)
                .map(zeroize::Zeroizing::new)
                .map_err(|e| keys::KeyError::Invalid(format!("cannot read {}: {e}", path.display())))
                .and_then(|p12| {
                    let password = Some(password.as_str()).filter(|p| !p.is_empty());
                    keys::read_wechat_api_certificate(&mch_id, &p12, password, time::OffsetDateTime::now_utc())
                });
            let _ = tx.send(result);
        });
        self.cert_import = Some(rx);
    }

    fn poll_cert_import(&mut self, ctx: &mut Ctx) {
        let Some(rx) = &self.cert_import else { return };
        let result = match rx.try_recv() {
            Ok(r) => r,
            Err(std::sync::mpsc::TryRecvError::Empty) => return,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                Err(keys::KeyError::Invalid("the import stopped".into()))
            }
        };
        self.cert_import = None;
        let lang = ctx.lang;
        let stored = result.and_then(|certificate| match ctx.vault.as_mut() {
            Some(vault) => keys::store_wechat_api_certificate(&mut ctx.home.store, vault, &certificate),
            None => Err(keys::KeyError::Missing("the unlocked key vault")),
        });
        if stored.is_ok() {
            self.cert_path.clear();
            self.loaded = false;
        }
        self.report(stored, |info| {
            format!(
                "{}CN={}, {}{}, sha256 {}",
                lang.pick("证书已导入：", "Certificate imported: "),
                info.subject_cn,
                lang.pick("有效期至 ", "expires "),
                info.expiry_date(),
                info.sha256
            )
        });
    }

    fn start_test(&mut self, ctx: &Ctx, kind: AcquirerKind) {
        let Some(vault) = &ctx.vault else { return };
        let Some(runtime) = ctx.runtime.clone() else {
            self.message = Some(ctx.lang.pick("网络运行时未启动", "the network runtime is not running").into());
            return;
        };
        let channel: Result<Box<dyn crate::channel::Channel>, keys::KeyError> = match kind {
            AcquirerKind::WechatPay => keys::wechat_client(&ctx.home.store, vault).map(|c| Box::new(c) as _),
            _ => keys::alipay_client(&ctx.home.store, vault).map(|c| Box::new(c) as _),
        };
        if kind == AcquirerKind::WechatPay {
            self.wechat_cert_status =
                keys::wechat_certificate_status(&ctx.home.store, vault, time::OffsetDateTime::now_utc()).ok();
        }
        let slot = match kind {
            AcquirerKind::WechatPay => &mut self.wechat_test,
            _ => &mut self.alipay_test,
        };
        match channel {
            Err(e) => *slot = Some(Err(e.to_string())),
            Ok(channel) => {
                *slot = None;
                let (tx, rx) = std::sync::mpsc::channel();
                runtime.spawn(async move {
                    let _ = tx.send(keys::test_connection(channel.as_ref()).await);
                });
                self.tests.push((kind, rx));
            }
        }
    }
}

fn show_test(ui: &mut egui::Ui, lang: crate::i18n::Lang, result: &Option<Result<String, String>>) {
    match result {
        Some(Ok(m)) => {
            ui.colored_label(egui::Color32::from_rgb(60, 170, 90), format!("{}{m}", lang.pick("连接成功：", "OK: ")));
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("{}{e}", lang.pick("连接失败：", "Failed: ")));
        }
        None => {}
    }
}
