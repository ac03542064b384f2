//! 收单通道与密钥 Live channels and keys (in Settings): per acquirer the gateway URL and ids, "Generate key pair"
//! (the public key shown and exported as the console expects), the platform public key, the WeChat Pay API key,
//! "Test connection"; the access mode. Secrets go to the encrypted vault, unlocked with the passphrase; the
//! database only learns where they are.
//!
//! WeChat Pay also takes the account's sign type (MD5 / HMAC-SHA256) and the merchant API certificate
//! (`apiclient_cert.p12`, for refunds and reversals): a path and password, "Import certificate" (read, checked and
//! kept in the vault by one command), and its CN and expiry, with a warning 30 days before it expires. Alipay takes
//! the service-provider fields (sys_service_provider_id, app_auth_token).
//!
//! Every read, save, key derivation, key generation, file and network call goes through the command queue: the
//! panel sends a command and shows its answer (a [`Done`]) when it arrives. The vault stays in the queue's core;
//! commands lock it only for the step that needs it.

use crate::channel::Channel;
use crate::channel::wechatpay::SignType;
use crate::config::{AccessMode, SETTING_ACCESS, SETTING_BACKEND_URL};
use crate::i18n::{Lang, Phrase as _, Text};
use crate::keys::{self, CertStatus, LiveSettings};
use crate::model::AcquirerKind;
use crate::queue::{Job, Ticket, poll_slot};
use crate::secrets::{Backend, Vault};
use crate::ui::Ctx;
use crate::ui::path_field::{PathField, Pick};
use crate::ui::words_keys::{cert_status_words, key_error, secret_words};
use zeroize::Zeroizing;

mod certificate;
mod join;

#[derive(Default)]
pub struct KeysPanel {
    passphrase: Zeroizing<String>,
    /// A key, id, gateway or the vault changed this frame (clients built before are stale).
    keys_changed: bool,
    /// The saved settings have been read into the fields below.
    loaded: bool,
    reading: Option<Ticket<Result<Saved, crate::store::StoreError>>>,
    /// The public key, the certificate's facts and the vault's existence are being read again after a change.
    refreshing: Option<Ticket<Result<Derived, crate::store::StoreError>>>,
    alipay: LiveSettings,
    wechat: LiveSettings,
    backend_url: String,
    platform_key_text: String,
    private_key_text: Zeroizing<String>,
    api_key_text: Zeroizing<String>,
    app_auth_token_text: Zeroizing<String>,
    cert_path: CertPath,
    cert_password: Zeroizing<String>,
    derived: Derived,
    /// Saves, imports, the access mode: each answers with what it did.
    commands: Vec<Ticket<Done>>,
    /// Unlocking or creating the vault (Argon2 takes a moment).
    unlocking: Option<Ticket<Done>>,
    cert_import: Option<Ticket<Done>>,
    /// Where the certificate stood at the last WeChat connection test.
    wechat_cert_status: Option<CertStatus>,
    /// Merchant backend → Join: the one-time enrolment code, and the join running on the network runtime (it holds
    /// the vault meanwhile and gives it back with the outcome).
    join_code: Zeroizing<String>,
    joining: Option<Job<JoinDone, ()>>,
    message: Option<Text>,
    /// Connection tests: their channels being built from the settings and the vault, then the signed query.
    building: Vec<(AcquirerKind, Ticket<Built>)>,
    tests: Vec<(AcquirerKind, Job<Probed, ()>)>,
    alipay_test: Option<Result<(), Text>>,
    wechat_test: Option<Result<(), Text>>,
}

/// What the panel shows from the saved settings.
struct Saved {
    alipay: LiveSettings,
    wechat: LiveSettings,
    backend_url: String,
    derived: Derived,
}

/// What imports change: the app public key, the certificate's facts (CN, expiry, SHA-256), and whether a vault file
/// exists (which decides between "Create key vault" and "Unlock keys").
#[derive(Default)]
struct Derived {
    public_key: Option<String>,
    cert_info: Option<(String, time::OffsetDateTime, String)>,
    vault_exists: bool,
}

/// What one command did, for the panel to show.
#[derive(Default)]
struct Done {
    message: Option<Text>,
    /// Keys, ids, gateways or the vault changed: clients built before are stale.
    changed: bool,
    /// Read the public key, the certificate and the vault's existence again.
    refresh: bool,
    /// The Alipay public key field was imported: empty it.
    clear_platform_key: bool,
    /// The certificate was imported: empty its path.
    clear_cert_path: bool,
    /// The access mode saved, and the backend the till is enrolled with in it.
    access: Option<(AccessMode, Option<String>)>,
    /// A key pair was generated: its public half.
    public_key: Option<String>,
}

impl Done {
    /// What a save or import did; a success means the clients built before may be stale.
    fn of<T>(result: Result<T, keys::KeyError>, ok: impl FnOnce(T) -> Text) -> Done {
        match result {
            Ok(v) => Done { message: Some(ok(v)), changed: true, ..Done::default() },
            Err(e) => Done { message: Some(key_error(&e)), ..Done::default() },
        }
    }
}

/// A channel built for a connection test, with where the WeChat Pay certificate stands.
type Built = Result<(Box<dyn Channel>, Option<CertStatus>), keys::KeyError>;

/// A connection test's answer: whether the acquirer answered a signed query.
type Probed = Result<(), crate::sync::ProbeError>;

/// A finished join: the vault it borrowed, what happened, and what became of the orders taken before joining.
type JoinDone = (
    Vault,
    Result<crate::routing::backend::Joined, crate::routing::backend::LinkError>,
    Option<crate::routing::history::HistorySent>,
);

/// The certificate file's field (a [`PathField`] for .p12 files).
struct CertPath(PathField);

impl Default for CertPath {
    fn default() -> Self {
        CertPath(PathField::new(Pick::Open, "PKCS#12", &["p12", "pfx"]))
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
    ui.add(egui::TextEdit::singleline(text).id_salt(label).password(password).desired_width(360.0)).labelled_by(l.id);
    ui.end_row();
}

/// The network runtime is not running (a window without one cannot test, join or reach a gateway).
fn no_runtime() -> Text {
    crate::queue::QueueError::NoRuntime.text()
}

/// The vault is locked (a command found no vault in its slot).
fn locked() -> keys::KeyError {
    keys::KeyError::Missing("the unlocked key vault")
}

impl KeysPanel {
    /// Reads the saved settings once (the fields are the user's from then on), and the derived facts again after a
    /// change.
    fn load(&mut self, ctx: &Ctx) {
        if !self.loaded && self.reading.is_none() {
            let dir = ctx.home.dir.clone();
            self.reading = Some(ctx.queue.submit(move |s| {
                Ok(Saved {
                    alipay: LiveSettings::load(&s.store, AcquirerKind::Alipay)?,
                    wechat: LiveSettings::load(&s.store, AcquirerKind::WechatPay)?,
                    backend_url: s.store.setting(SETTING_BACKEND_URL)?.unwrap_or_default(),
                    derived: Derived {
                        public_key: keys::alipay_app_public_key(&s.store)?,
                        cert_info: keys::wechat_api_certificate_info(&s.store)?,
                        vault_exists: Vault::exists(&dir),
                    },
                })
            }));
        }
        match poll_slot(&mut self.reading) {
            Some(Ok(Ok(saved))) => {
                self.alipay = saved.alipay;
                self.wechat = saved.wechat;
                self.backend_url = saved.backend_url;
                self.derived = saved.derived;
                self.loaded = true;
            }
            Some(Ok(Err(e))) => self.message = Some(crate::ui::words_backoffice::store_error(&e)),
            Some(Err(e)) => self.message = Some(e.text()),
            None => {}
        }
        match poll_slot(&mut self.refreshing) {
            Some(Ok(Ok(derived))) => self.derived = derived,
            Some(Ok(Err(e))) => self.message = Some(crate::ui::words_backoffice::store_error(&e)),
            Some(Err(e)) => self.message = Some(e.text()),
            None => {}
        }
    }

    /// Reads the public key, the certificate's facts and the vault's existence again.
    fn refresh(&mut self, ctx: &Ctx) {
        let dir = ctx.home.dir.clone();
        self.refreshing = Some(ctx.queue.submit(move |s| {
            Ok(Derived {
                public_key: keys::alipay_app_public_key(&s.store)?,
                cert_info: keys::wechat_api_certificate_info(&s.store)?,
                vault_exists: Vault::exists(&dir),
            })
        }));
    }

    /// Takes in what the commands answered.
    fn poll(&mut self, ctx: &mut Ctx) {
        let mut answers = Vec::new();
        self.commands.retain_mut(|ticket| match ticket.poll() {
            Some(answer) => {
                answers.push(answer);
                false
            }
            None => true,
        });
        answers.extend(poll_slot(&mut self.unlocking));
        answers.extend(poll_slot(&mut self.cert_import));
        for answer in answers {
            match answer {
                Ok(done) => self.apply(ctx, done),
                Err(e) => self.message = Some(e.text()),
            }
        }
        self.poll_tests(ctx);
        self.poll_join(ctx);
    }

    /// Shows what a command did.
    fn apply(&mut self, ctx: &mut Ctx, done: Done) {
        if done.message.is_some() {
            self.message = done.message;
        }
        self.keys_changed |= done.changed;
        if done.clear_platform_key {
            self.platform_key_text.clear();
        }
        if done.clear_cert_path {
            self.cert_path.0.text.clear();
        }
        if let Some((mode, url)) = done.access {
            ctx.access = mode;
            ctx.backend_url = url;
        }
        if let Some(public_key) = done.public_key {
            self.derived.public_key = Some(public_key);
        }
        if done.refresh {
            self.refresh(ctx);
        }
    }

    fn poll_tests(&mut self, ctx: &Ctx) {
        let mut built = Vec::new();
        self.building.retain_mut(|(kind, ticket)| match ticket.poll() {
            Some(answer) => {
                built.push((*kind, answer));
                false
            }
            None => true,
        });
        for (kind, answer) in built {
            let channel = match answer {
                Ok(Ok((channel, status))) => {
                    if kind == AcquirerKind::WechatPay {
                        self.wechat_cert_status = status;
                    }
                    channel
                }
                Ok(Err(e)) => {
                    *self.test_slot(kind) = Some(Err(key_error(&e)));
                    continue;
                }
                Err(e) => {
                    *self.test_slot(kind) = Some(Err(e.text()));
                    continue;
                }
            };
            match ctx.queue.start(move |_, _| async move { keys::check_connection(channel.as_ref()).await }) {
                Ok(job) => self.tests.push((kind, job)),
                Err(_) => *self.test_slot(kind) = Some(Err(no_runtime())),
            }
        }
        let mut finished = Vec::new();
        self.tests.retain_mut(|(kind, job)| match job.poll() {
            Some(answer) => {
                finished.push((*kind, answer));
                false
            }
            None => true,
        });
        for (kind, answer) in finished {
            let result = match answer {
                Ok(Ok(())) => Ok(()),
                Ok(Err(why)) => {
                    tracing::warn!(%why, "connection test");
                    Err(Text::new(
                        "收单机构没有应答，或应答无法验证（详情见日志）",
                        format!("the acquirer did not answer a signed query: {why}"),
                    ))
                }
                Err(e) => Err(e.text()),
            };
            *self.test_slot(kind) = Some(result);
        }
    }

    fn test_slot(&mut self, kind: AcquirerKind) -> &mut Option<Result<(), Text>> {
        match kind {
            AcquirerKind::WechatPay => &mut self.wechat_test,
            _ => &mut self.alipay_test,
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        self.show(ui, ctx);
        if std::mem::take(&mut self.keys_changed) {
            ctx.channels_changed();
        }
    }

    /// Whether any command of the panel is still out.
    fn busy(&self) -> bool {
        self.reading.is_some()
            || self.refreshing.is_some()
            || !self.commands.is_empty()
            || self.unlocking.is_some()
            || self.cert_import.is_some()
            || self.joining.is_some()
            || !self.building.is_empty()
            || !self.tests.is_empty()
    }

    fn show(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.load(ctx);
        self.poll(ctx);
        if self.busy() {
            // The answers wake the window; this is a backstop.
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(250));
        }
        ui.label(egui::RichText::new(lang.pick("收单通道与密钥", "Live channels and keys")).strong());
        if !self.loaded {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(lang.pick("正在读取密钥设置…", "Reading the key settings…"));
            });
            if let Some(m) = &self.message {
                ui.add(egui::Label::new(m.get(lang)).wrap_mode(egui::TextWrapMode::Wrap));
            }
            return;
        }
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
                        self.commands.push(ctx.queue.submit(move |s| {
                            let saved = s
                                .store
                                .set_setting(SETTING_ACCESS, mode.as_str(), None)
                                .and_then(|()| Ok(crate::routing::backend::link(&s.store)?.map(|l| l.url)));
                            match saved {
                                Ok(url) => Done { changed: true, access: Some((mode, url)), ..Done::default() },
                                Err(e) => Done {
                                    message: Some(crate::ui::words_backoffice::store_error(&e)),
                                    ..Done::default()
                                },
                            }
                        }));
                    }
                }
            });
            if ctx.access == AccessMode::MerchantBackend {
                ui.horizontal(|ui| {
                    let l = ui.label(lang.pick("商户后台地址", "Merchant backend URL"));
                    let edit =
                        egui::TextEdit::singleline(&mut self.backend_url).id_salt("backend-url").desired_width(360.0);
                    ui.add(edit).labelled_by(l.id);
                    if ui.button(lang.pick("保存地址", "Save backend URL")).clicked() {
                        let url = self.backend_url.trim().to_owned();
                        self.commands.push(ctx.queue.submit(move |s| {
                            let r = s.store.set_setting(SETTING_BACKEND_URL, &url, None);
                            Done::of(r.map_err(keys::KeyError::from), |()| Text::new("已保存", "Saved"))
                        }));
                    }
                });
                self.join_form(ui, ctx);
            }
        }

        // The vault (creating one is a key change); a join in progress holds it.
        let vault_exists = self.derived.vault_exists;
        if !ctx.queue.vault_unlocked() && self.joining.is_none() && (refused.is_none() || vault_exists) {
            ui.horizontal(|ui| {
                let l = ui.label(lang.pick("密钥口令", "Passphrase"));
                ui.add(
                    egui::TextEdit::singleline(&mut *self.passphrase)
                        .id_salt("passphrase")
                        .password(true)
                        .desired_width(200.0),
                )
                .labelled_by(l.id);
                let verb = if vault_exists {
                    lang.pick("解锁密钥", "Unlock keys")
                } else {
                    lang.pick("创建密钥库", "Create key vault")
                };
                if ui.add_enabled(self.unlocking.is_none(), egui::Button::new(verb)).clicked() {
                    self.start_unlock(ctx);
                }
                if self.unlocking.is_some() {
                    ui.spinner();
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
        if ctx.access == AccessMode::MerchantBackend && ctx.backend_url.is_some() {
            // An enrolled till holds no acquirer keys: the forms would only invite keys that are never used here.
            ui.label(lang.pick(
                "本收银台经商户后台收款，不保存收单机构的密钥：密钥由商户后台保管（在后台用 tilldesk keys --database … 配置）。",
                "This till takes payments through the merchant backend and keeps no acquirer keys: the backend holds \
                 them (configured there with tilldesk keys --database …).",
            ));
            return;
        }
        // One command at a time: a test or an import waits for the save before it (the queue runs commands side by
        // side, so two clicks in a row would otherwise race).
        let idle = self.commands.is_empty() && self.unlocking.is_none() && self.cert_import.is_none();
        let unlocked = ctx.queue.vault_unlocked() && idle;

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
            if ui.add_enabled(idle, egui::Button::new(lang.pick("保存支付宝设置", "Save Alipay settings"))).clicked()
            {
                let settings = self.alipay.clone();
                self.commands.push(ctx.queue.submit(move |s| {
                    Done::of(settings.save(&mut s.store, AcquirerKind::Alipay), |()| Text::new("已保存", "Saved"))
                }));
            }
            if ui
                .add_enabled(unlocked, egui::Button::new(lang.pick("保存 app_auth_token", "Save app_auth_token")))
                .clicked()
            {
                let token = std::mem::take(&mut self.app_auth_token_text);
                self.commands.push(ctx.queue.submit_with_core(move |s, core| {
                    let r = match core.vault().as_mut() {
                        Some(vault) => keys::set_alipay_app_auth_token(&mut s.store, vault, &token),
                        None => Err(locked()),
                    };
                    Done::of(r, |fp| {
                        Text::new(format!("app_auth_token 已保存 {fp}"), format!("app_auth_token saved {fp}"))
                    })
                }));
            }
            if ui.add_enabled(unlocked, egui::Button::new(lang.pick("生成密钥对", "Generate key pair"))).clicked()
            {
                self.start_generate(ctx);
            }
        });
        if let Some(pk) = &self.derived.public_key {
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
            if ui
                .add_enabled(idle, egui::Button::new(lang.pick("导入支付宝公钥", "Import Alipay public key")))
                .clicked()
            {
                let text = self.platform_key_text.clone();
                self.commands.push(ctx.queue.submit(move |s| {
                    let r = keys::import_alipay_platform_key(&mut s.store, &text);
                    let imported = r.is_ok();
                    let done = Done::of(r, |fp| {
                        Text::new(format!("支付宝公钥已导入 {fp}"), format!("Alipay public key imported {fp}"))
                    });
                    Done { clear_platform_key: imported, refresh: imported, ..done }
                }));
            }
            if ui.add_enabled(unlocked, egui::Button::new(lang.pick("导入私钥", "Import private key"))).clicked() {
                let text = std::mem::take(&mut self.private_key_text);
                self.commands.push(ctx.queue.submit_with_core(move |s, core| {
                    let r = match core.vault().as_mut() {
                        Some(vault) => keys::import_alipay_private_key(&mut s.store, vault, &text),
                        None => Err(locked()),
                    };
                    let done = Done::of(r, |fp| {
                        Text::new(format!("应用私钥已导入 {fp}"), format!("App private key imported {fp}"))
                    });
                    Done { refresh: true, ..done }
                }));
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
            if ui
                .add_enabled(idle, egui::Button::new(lang.pick("保存微信支付设置", "Save WeChat Pay settings")))
                .clicked()
            {
                let settings = self.wechat.clone();
                self.commands.push(ctx.queue.submit(move |s| {
                    Done::of(settings.save(&mut s.store, AcquirerKind::WechatPay), |()| Text::new("已保存", "Saved"))
                }));
            }
            if ui.add_enabled(unlocked, egui::Button::new(lang.pick("保存 API 密钥", "Save API key"))).clicked() {
                let api_key = std::mem::take(&mut self.api_key_text);
                self.commands.push(ctx.queue.submit_with_core(move |s, core| {
                    let r = match core.vault().as_mut() {
                        Some(vault) => keys::set_wechat_api_key(&mut s.store, vault, &api_key),
                        None => Err(locked()),
                    };
                    Done::of(r, |fp| Text::new(format!("API 密钥已保存 {fp}"), format!("API key saved {fp}")))
                }));
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

        self.certificate(ui, ctx, unlocked, idle);
    }

    /// Unlocks the vault, or creates it with this passphrase when there is none (Argon2: on the queue).
    fn start_unlock(&mut self, ctx: &Ctx) {
        let passphrase = std::mem::take(&mut self.passphrase);
        let dir = ctx.home.dir.clone();
        self.unlocking = Some(ctx.queue.submit_with_core(move |_, core| match Vault::unlock(&dir, &passphrase) {
            Ok(vault) => {
                *core.vault() = Some(vault);
                Done {
                    message: Some(Text::new("密钥已解锁", "Keys unlocked")),
                    changed: true,
                    refresh: true,
                    ..Done::default()
                }
            }
            Err(e) => Done { message: Some(Text::new(secret_words(&e), e.to_string())), ..Done::default() },
        }));
    }

    /// Generates the Alipay app key pair (the private half to the vault) and exports the public half to a file in
    /// the data folder, as the console asks for it.
    fn start_generate(&mut self, ctx: &Ctx) {
        let path = ctx.home.dir.join("alipay_app_public_key.txt");
        self.commands.push(ctx.queue.submit_with_core(move |s, core| {
            let generated = match core.vault().as_mut() {
                Some(vault) => keys::generate_alipay_key_pair(&mut s.store, vault),
                None => Err(locked()),
            };
            let export = match generated {
                Ok(export) => export,
                Err(e) => return Done { message: Some(key_error(&e)), ..Done::default() },
            };
            let shown = path.display().to_string();
            let message = match keys::export_alipay_public_key(&export, &path) {
                Ok(()) => Text::new(
                    format!("已生成；公钥已导出到 {shown}"),
                    format!("Generated; public key exported to {shown}"),
                ),
                Err(e) => Text::new(
                    format!("已生成，但无法写入 {shown}"),
                    format!("Generated, but {shown} cannot be written: {e}"),
                ),
            };
            Done { message: Some(message), changed: true, public_key: Some(export.console_base64), ..Done::default() }
        }));
    }

    /// Test connection: the channel is built from the settings and the vault on the queue, then the signed query
    /// runs on the network runtime.
    fn start_test(&mut self, ctx: &Ctx, kind: AcquirerKind) {
        if !ctx.queue.has_runtime() {
            self.message = Some(no_runtime());
            return;
        }
        *self.test_slot(kind) = None;
        self.building.push((
            kind,
            ctx.queue.submit_with_core(move |s, core| {
                let vault = core.vault();
                let Some(vault) = vault.as_ref() else { return Err(locked()) };
                let channel: Box<dyn Channel> = match kind {
                    AcquirerKind::WechatPay => Box::new(keys::wechat_client(&s.store, vault)?),
                    _ => Box::new(keys::alipay_client(&s.store, vault)?),
                };
                let status = (kind == AcquirerKind::WechatPay)
                    .then(|| keys::wechat_certificate_status(&s.store, vault, time::OffsetDateTime::now_utc()).ok())
                    .flatten();
                Ok((channel, status))
            }),
        ));
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
