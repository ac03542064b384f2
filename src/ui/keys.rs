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
use crate::i18n::{Lang, Text};
use crate::keys::{self, CertStatus, LiveSettings};
use crate::model::AcquirerKind;
use crate::secrets::{Backend, SecretError, Vault};
use crate::ui::Ctx;
use crate::ui::path_field::{PathEvent, PathField, Pick};
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
    cert_path: CertPath,
    cert_password: Zeroizing<String>,
    /// The imported certificate's CN, expiry and SHA-256 (from the settings).
    cert_info: Option<(String, time::OffsetDateTime, String)>,
    cert_import: Option<Receiver<Result<ApiCertificate, keys::KeyError>>>,
    /// Where the certificate stood at the last WeChat connection test.
    wechat_cert_status: Option<CertStatus>,
    public_key: Option<String>,
    /// Merchant backend → Join: the one-time enrolment code, and the join running off the UI thread (it holds the
    /// vault meanwhile and gives it back with the outcome).
    join_code: Zeroizing<String>,
    joining: Option<Receiver<JoinDone>>,
    message: Option<Text>,
    tests: Vec<(AcquirerKind, Receiver<Result<String, String>>)>,
    alipay_test: Option<Result<(), Text>>,
    wechat_test: Option<Result<(), Text>>,
}

/// A finished join: the vault it borrowed, and what happened.
type JoinDone = (Vault, Result<crate::routing::backend::Joined, crate::routing::backend::LinkError>);

/// The certificate file's field (a [`PathField`] for .p12 files).
struct CertPath(PathField);

impl Default for CertPath {
    fn default() -> Self {
        CertPath(PathField::new(Pick::Open, "PKCS#12", &["p12", "pfx"]))
    }
}

/// A refused key, vault or certificate in both languages (the technical detail stays in English, in the log).
pub fn key_error(e: &keys::KeyError) -> Text {
    use crate::channel::wechatpay::cert::CertError as C;
    let zh = match e {
        keys::KeyError::Secret(s) => secret_words(s),
        keys::KeyError::Store(s) => crate::ui::words_backoffice::store_error_words(s, Lang::ZhCn),
        keys::KeyError::Invalid(_) => "内容无效：请检查粘贴或选择的密钥、地址或文件（详情见日志）".to_owned(),
        keys::KeyError::Missing(_) => "尚未配置：请先填写并保存所需的设置或密钥".to_owned(),
        keys::KeyError::Certificate(c) => match c {
            C::WrongPassword => "证书密码不正确（微信支付默认设为商户号）".to_owned(),
            C::NotPkcs12(_) => "这不是 apiclient_cert.p12 那样的 PKCS#12 证书文件".to_owned(),
            C::NoKey => "证书文件里没有与证书配对的私钥".to_owned(),
            C::BadCertificate(_) => "无法读取证书（详情见日志）".to_owned(),
            C::NoCommonName => "证书主题没有 CN（应为商户号）".to_owned(),
            C::OtherMerchant { cn, mch_id } => format!("证书属于商户 {cn}，不是已配置的商户号 {mch_id}"),
            C::Expired { date } => {
                format!(
                    "证书已于 {date}（UTC）过期：请在微信支付商户平台（账户中心 → API安全 → API证书）下载新证书后导入"
                )
            }
            C::NotYetValid { date } => format!("证书在 {date}（UTC）之前无效：请检查收银机的时钟"),
        },
    };
    if matches!(e, keys::KeyError::Invalid(_) | keys::KeyError::Certificate(C::BadCertificate(_))) {
        tracing::warn!(error = %e, "a key or certificate was refused");
    }
    Text::new(zh, e.to_string())
}

fn secret_words(e: &SecretError) -> String {
    match e {
        SecretError::WrongPassphrase { .. } => "口令无法打开密钥库（口令错误，或文件被改动过）".to_owned(),
        SecretError::WeakPassphrase => "口令至少需要 8 个字符".to_owned(),
        SecretError::Read { path, .. } => format!("无法读取密钥文件 {}", path.display()),
        SecretError::Write { path, .. } => format!("无法写入密钥文件 {}", path.display()),
        SecretError::Damaged { path, .. } => format!("密钥文件 {} 已损坏", path.display()),
        SecretError::Kdf(_) | SecretError::KdfParameter { .. } => {
            tracing::warn!(error = %e, "the vault key cannot be derived");
            "无法从口令得出加密密钥（文件损坏或来自未知版本；详情见日志）".to_owned()
        }
    }
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
                let result = result.map(|_| ()).map_err(|why| {
                    tracing::warn!(%why, "connection test");
                    Text::new(
                        "收单机构没有应答，或应答无法验证（详情见日志）",
                        format!("the acquirer did not answer a signed query: {why}"),
                    )
                });
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
    fn report<T>(&mut self, result: Result<T, keys::KeyError>, ok: impl FnOnce(T) -> Text) {
        self.message = Some(match result {
            Ok(v) => {
                self.keys_changed = true;
                ok(v)
            }
            Err(e) => key_error(&e),
        });
    }

    /// [`KeysPanel::report`] for a plain settings save.
    fn report_store<T>(&mut self, result: Result<T, crate::store::StoreError>, ok: impl FnOnce(T) -> Text) {
        self.report(result.map_err(keys::KeyError::from), ok);
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
        self.poll_join(ctx);
        if !self.tests.is_empty() || self.cert_import.is_some() || self.joining.is_some() {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
        }
        ui.label(egui::RichText::new(lang.pick("收单通道与密钥", "Live channels and keys")).strong());
        if let Backend::Vault { reason } = Backend::detect() {
            // Why there is no OS keyring is the core's (English) words: in the Chinese window on hover.
            match lang {
                Lang::En => {
                    ui.label(format!("Secrets: {reason}"));
                }
                Lang::ZhCn => {
                    ui.label("密钥保存：加密文件（Argon2id + AES-256-GCM），不使用系统钥匙串").on_hover_text(reason);
                }
            }
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
                                ctx.backend_url =
                                    crate::routing::backend::link(&ctx.home.store).ok().flatten().map(|l| l.url);
                                self.keys_changed = true;
                            }
                            Err(e) => self.message = Some(crate::ui::words_backoffice::store_error(&e)),
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
                        self.report_store(r, |()| Text::new("已保存", "Saved"));
                    }
                });
                self.join_form(ui, ctx);
            }
        }

        // The vault (creating one is a key change); a join in progress holds it.
        if !ctx.queue.vault_unlocked() && self.joining.is_none() && (refused.is_none() || Vault::exists(&ctx.home.dir))
        {
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
                            ctx.queue.set_vault(Some(v));
                            self.keys_changed = true;
                            self.message = Some(Text::new("密钥已解锁", "Keys unlocked"));
                        }
                        Err(e) => self.message = Some(Text::new(secret_words(&e), e.to_string())),
                    }
                    self.passphrase.zeroize();
                }
            });
        }
        if let Some(m) = &self.message {
            ui.add(egui::Label::new(m.get(lang)).wrap_mode(egui::TextWrapMode::Wrap));
        }
        if let Some(refused) = refused {
            ui.colored_label(ui.visuals().error_fg_color, refused);
            return;
        }
        let unlocked = ctx.queue.vault_unlocked();

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
                self.report(r, |()| Text::new("已保存", "Saved"));
            }
            if ui
                .add_enabled(unlocked, egui::Button::new(lang.pick("保存 app_auth_token", "Save app_auth_token")))
                .clicked()
                && let Some(vault) = ctx.queue.vault().as_mut()
            {
                let r = keys::set_alipay_app_auth_token(&mut ctx.home.store, vault, &self.app_auth_token_text);
                self.app_auth_token_text.zeroize();
                self.report(r, |fp| {
                    Text::new(format!("app_auth_token 已保存 {fp}"), format!("app_auth_token saved {fp}"))
                });
            }
            if ui.add_enabled(unlocked, egui::Button::new(lang.pick("生成密钥对", "Generate key pair"))).clicked()
                && let Some(vault) = ctx.queue.vault().as_mut()
            {
                match keys::generate_alipay_key_pair(&mut ctx.home.store, vault) {
                    Ok(export) => {
                        self.keys_changed = true;
                        let path = ctx.home.dir.join("alipay_app_public_key.txt");
                        let written = std::fs::write(&path, format!("{}\n", export.console_base64));
                        self.public_key = Some(export.console_base64);
                        let shown = path.display().to_string();
                        self.message = Some(match written {
                            Ok(()) => Text::new(
                                format!("已生成；公钥已导出到 {shown}"),
                                format!("Generated; public key exported to {shown}"),
                            ),
                            Err(e) => Text::new(
                                format!("已生成，但无法写入 {shown}"),
                                format!("Generated, but {shown} cannot be written: {e}"),
                            ),
                        });
                    }
                    Err(e) => self.message = Some(key_error(&e)),
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
                self.report(r, |fp| Text::new(format!("已导入 {fp}"), format!("Imported {fp}")));
            }
            if ui.add_enabled(unlocked, egui::Button::new(lang.pick("导入私钥", "Import private key"))).clicked()
                && let Some(vault) = ctx.queue.vault().as_mut()
            {
                let r = keys::import_alipay_private_key(&mut ctx.home.store, vault, &self.private_key_text);
                self.private_key_text.zeroize();
                self.loaded = false;
                self.report(r, |fp| Text::new(format!("已导入 {fp}"), format!("Imported {fp}")));
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
                self.report(r, |()| Text::new("已保存", "Saved"));
            }
            if ui.add_enabled(unlocked, egui::Button::new(lang.pick("保存 API 密钥", "Save API key"))).clicked()
                && let Some(vault) = ctx.queue.vault().as_mut()
            {
                let r = keys::set_wechat_api_key(&mut ctx.home.store, vault, &self.api_key_text);
                self.api_key_text.zeroize();
                self.report(r, |fp| Text::new(format!("API 密钥已保存 {fp}"), format!("API key saved {fp}")));
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
            ui.colored_label(ui.visuals().warn_fg_color, cert_status_words(status, lang));
        }

        // The API certificate.
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
    fn start_cert_import(&mut self, ctx: &mut Ctx) {
        let Some(path) = self.cert_path.0.path() else {
            self.message = Some(Text::new("请先填写证书文件", "Give the certificate file first"));
            return;
        };
        crate::ui::path_field::remember_folder(ctx, &path);
        let password = std::mem::take(&mut self.cert_password);
        let mch_id = match LiveSettings::load(&ctx.home.store, AcquirerKind::WechatPay) {
            Ok(s) => s.mch_id,
            Err(e) => {
                self.message = Some(crate::ui::words_backoffice::store_error(&e));
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
        let stored = result.and_then(|certificate| match ctx.queue.vault().as_mut() {
            Some(vault) => keys::store_wechat_api_certificate(&mut ctx.home.store, vault, &certificate),
            None => Err(keys::KeyError::Missing("the unlocked key vault")),
        });
        if stored.is_ok() {
            self.cert_path.0.text.clear();
            self.loaded = false;
        }
        let _ = lang;
        self.report(stored, |info| {
            let (cn, date, sha) = (&info.subject_cn, info.expiry_date(), &info.sha256);
            Text::new(
                format!("证书已导入：CN={cn}，有效期至 {date}，sha256 {sha}"),
                format!("Certificate imported: CN={cn}, expires {date}, sha256 {sha}"),
            )
        });
    }

    /// Merchant backend → Join: the backend's URL (above) and the one-time code `tilldesk serve add-till` printed
    /// there. The join runs on the runtime with the vault (the token goes there), never on the UI thread.
    fn join_form(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if let Some(url) = &ctx.backend_url {
            ui.label(crate::ui::words_backend::status(lang, url));
        }
        ui.horizontal(|ui| {
            let l = ui.label(lang.pick("加入码", "Enrolment code"));
            ui.add(egui::TextEdit::singleline(&mut *self.join_code).password(true).desired_width(360.0))
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
        let Some(runtime) = ctx.runtime.clone() else {
            self.message = Some(Text::new("网络运行时未启动", "the network runtime is not running"));
            return;
        };
        let Some(mut vault) = ctx.queue.take_vault() else {
            self.message = Some(crate::ui::words_backend::unlock_first());
            return;
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let db = ctx.home.store.path().to_owned();
        let url = self.backend_url.trim().to_owned();
        let code = Zeroizing::new(self.join_code.trim().to_owned());
        self.join_code.zeroize();
        let operator = ctx.operator_id();
        runtime.spawn(async move {
            let result = crate::routing::backend::join(&db, &mut vault, &url, &code, operator).await;
            let _ = tx.send((vault, result));
        });
        self.joining = Some(rx);
        self.message = None;
    }

    fn poll_join(&mut self, ctx: &mut Ctx) {
        let Some(rx) = &self.joining else { return };
        match rx.try_recv() {
            Ok((vault, result)) => {
                ctx.queue.set_vault(Some(vault));
                self.joining = None;
                self.message = Some(match result {
                    Ok(joined) => {
                        ctx.backend_joined(&joined);
                        self.keys_changed = true;
                        crate::ui::words_backend::joined(&joined)
                    }
                    Err(e) => crate::ui::words_backend::link_error(&e),
                });
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => {}
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                // The task ended without answering (the runtime stopped): the vault went with it; unlock again.
                self.joining = None;
                self.message = Some(Text::new(
                    "加入未完成：请重新解锁密钥后再试",
                    "The join did not finish: unlock the keys and try again",
                ));
            }
        }
    }

    fn start_test(&mut self, ctx: &Ctx, kind: AcquirerKind) {
        let vault = ctx.queue.vault();
        let Some(vault) = vault.as_ref() else { return };
        let Some(runtime) = ctx.runtime.clone() else {
            self.message = Some(Text::new("网络运行时未启动", "the network runtime is not running"));
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
            Err(e) => *slot = Some(Err(key_error(&e))),
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

fn show_test(ui: &mut egui::Ui, lang: Lang, result: &Option<Result<(), Text>>) {
    match result {
        Some(Ok(())) => {
            ui.colored_label(
                crate::ui::staff::ok_color(ui),
                lang.pick(
                    "连接成功：收单机构应答了签名查询（签名已验证）",
                    "OK: connected: the acquirer answered a signed query (and its signature verified)",
                ),
            );
        }
        Some(Err(e)) => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("{}{}", lang.pick("连接失败：", "Failed: "), e.get(lang)),
            );
        }
        None => {}
    }
}

/// Where the WeChat Pay API certificate stands, in words.
fn cert_status_words(status: &CertStatus, lang: Lang) -> String {
    match (lang, status) {
        (Lang::En, s) => s.to_string(),
        (Lang::ZhCn, CertStatus::NotImported) => "尚未导入微信支付 API 证书：无法退款和撤销".to_owned(),
        (Lang::ZhCn, CertStatus::Unusable(_)) => "微信支付 API 证书无法使用：请重新导入".to_owned(),
        (Lang::ZhCn, CertStatus::Valid(info)) => {
            format!("API 证书 CN={}，有效期至 {}", info.subject_cn, info.expiry_date())
        }
        (Lang::ZhCn, CertStatus::ExpiringSoon { info, days_left }) => {
            format!("API 证书 CN={} 将在 {days_left} 天后（{}）过期：请尽快更新", info.subject_cn, info.expiry_date())
        }
        (Lang::ZhCn, CertStatus::Expired(info)) => {
            format!("API 证书 CN={} 已于 {} 过期：请重新下载并导入", info.subject_cn, info.expiry_date())
        }
    }
}
