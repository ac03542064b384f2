//! The egui screens: thin, one file per screen. Screens call the core and render what comes back.

pub mod acquirer_words;
pub mod acquirers;
pub mod checkout;
/// The counter's words for acquirer refusals, scans and amounts (both languages).
pub mod checkout_words;
pub mod dashboard;
pub mod dynamic_code;
pub mod export;
pub mod fonts;
pub mod icon;
pub mod jobs;
pub mod keys;
pub mod merchant;
pub mod orders;
/// A typed path with recent folders and the system file dialog when there is one.
pub mod path_field;
pub mod print;
pub mod reconcile;
pub mod reconcile_resolve;
pub mod reconcile_settlement;
pub mod refunds;
pub mod routes;
pub mod settings;
/// 交接班: the open shift, the handover summary, past shifts and 日结.
pub mod shifts;
pub mod staff;
pub mod store_codes;
pub mod sync_panel;
pub mod this_till;
/// The words for a till and its merchant backend (status bar, Join form).
pub mod words_backend;
/// The orders, refunds and overview screens' words (sources, statuses, timeline events).
pub mod words_orders;
/// The set-up screens' words (acquirer names, onboarding steps and refusals).
pub mod words_setup;
/// The 交接班 screen's words (shift errors, wallet lines, changes since a close).
pub mod words_shifts;

/// The first-run wizard, shown instead of the screens until the till is set up.
pub mod first_run;

/// Words for what the core returns to the back-office screens (database errors, audit actions, sync runs).
pub mod words_backoffice;
/// Words for the reconciliation core's errors, the acquirers' names and the one rule for fees.
pub mod words_recon;

/// The counter's function keys (F1 收款 …), configurable in Settings.
pub mod hotkeys;

use crate::config::{self, DataHome, SETTING_LANGUAGE};
use crate::i18n::{Lang, Text};
use crate::model::ChannelMode;
use crate::store::StoreError;
use crate::ui::words_backoffice::store_error;

/// What every screen may read and change: the data home, the language and the shell's status.
#[derive(Debug)]
pub struct Ctx {
    pub home: DataHome,
    pub lang: Lang,
    pub mode: ChannelMode,
    /// The signed-in operator's name (Settings → Staff); None: signed out (payments are still taken, recorded
    /// without an operator; refunds, settings, keys, reconciliation and exports are refused once an owner exists).
    pub operator: Option<String>,
    /// Whom the database's audit session was last set for (see [`Ctx::sync_audit_session`]).
    audit_session: Option<Option<String>>,
    pub sync: SyncState,
    /// The last error worth showing in the status bar.
    pub error: Option<crate::i18n::Text>,
    /// The embedded sandbox, when the app runs on it.
    pub sandbox: SandboxStatus,
    /// The one tokio runtime for network and disk work (None in tests that need none).
    pub runtime: Option<tokio::runtime::Handle>,
    /// How the till reaches the acquirers (shown in the status bar).
    pub access: crate::config::AccessMode,
    /// The merchant backend this till is enrolled with (Settings → Access → Merchant backend → Join): every
    /// acquirer is reached through it, with the till's token from the unlocked vault.
    pub backend_url: Option<String>,
    /// The background sync worker and notify listener, once started.
    pub services: Option<crate::sync::Services>,
    /// The services being started off the UI thread.
    pub services_starting: Option<std::sync::mpsc::Receiver<Result<crate::sync::Services, String>>>,
    /// The key vault, once unlocked with its passphrase (Settings → Live channels and keys); live mode needs it.
    pub vault: Option<crate::secrets::Vault>,
    /// Which background sync runs: (mode, live keys unlocked) it was started for. None: the app does not manage
    /// one (tests); `main` sets it when it starts the first.
    pub sync_for: Option<(ChannelMode, bool)>,
    /// Goes up whenever the channels may have changed (mode, keys, gateways): screens holding clients rebuild them.
    pub channel_generation: u64,
    /// This till's store and terminal id (Settings → This till); every payment taken here is recorded for them.
    pub till: config::ThisTill,
    /// Whether this window owns the data folder's money path (see `crate::ownership`). Another owner: no payments,
    /// refunds, recovery or sync here, and the screens say where the till is open.
    pub money_path: MoneyPathState,
    /// The chime, the failure beep and the voice announcement (Settings → Sound and voice); tests swap the player.
    pub sound: crate::sound::Sound,
    /// The counter's function keys (Settings → Function keys).
    pub keys: hotkeys::KeyMap,
    /// Light, dark or the system's colours (Settings → Appearance); applied by the shell each time it changes.
    pub theme: config::Theme,
    /// The interface scale in percent (Settings → Appearance, Ctrl+= / Ctrl+- / Ctrl+0).
    pub scale: u16,
    /// The folders files were last opened from or saved to, newest first (see `path_field`).
    pub recent_folders: Vec<std::path::PathBuf>,
}

/// The window's hold on the data folder's money path.
#[derive(Debug, Default)]
pub enum MoneyPathState {
    /// Not asked (tests that build a `Ctx` by hand): the window acts as the owner.
    #[default]
    Unclaimed,
    Held(crate::ownership::MoneyPath),
    /// Another process holds it.
    Elsewhere(Option<crate::ownership::Owner>),
}

impl MoneyPathState {
    /// The plain words for a window that does not own the money path, or None when it does.
    pub fn elsewhere_words(&self, lang: Lang) -> Option<String> {
        let MoneyPathState::Elsewhere(owner) = self else { return None };
        let who = match owner {
            Some(o) if o.is_window() => lang.pick("另一个 TillDesk 窗口", "another TillDesk window").to_owned(),
            Some(o) => format!("tilldesk {}", o.what),
            None => lang.pick("另一个 TillDesk", "another TillDesk").to_owned(),
        };
        let pid = owner.as_ref().map(|o| o.pid.to_string()).unwrap_or_default();
        Some(match lang {
            Lang::ZhCn => {
                format!("这台收银机已在{who}（进程 {pid}）中打开：请在那里收款和退款，或关闭它后重新打开本窗口。")
            }
            Lang::En => format!(
                "This till is open in {who} (process {pid}): take payments and refunds there, or close it and reopen this window."
            ),
        })
    }
}

pub use crate::app::SandboxStatus;

/// The background sync's state, as the status bar shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    NotStarted,
    Syncing,
    UpToDate,
    Offline,
}

impl SyncState {
    fn label(self, lang: Lang) -> &'static str {
        match self {
            SyncState::NotStarted => lang.pick("未开始", "not started"),
            SyncState::Syncing => lang.pick("同步中", "syncing"),
            SyncState::UpToDate => lang.pick("已是最新", "up to date"),
            SyncState::Offline => lang.pick("离线（收款需要网络）", "offline (payments need the network)"),
        }
    }
}

impl Ctx {
    pub fn new(mut home: DataHome) -> Result<Self, StoreError> {
        let till = config::this_till(&mut home.store)?;
        let lang = config::language(&home.store)?;
        let mode = config::channel_mode(&home.store)?;
        let access = config::access_mode(&home.store)?;
        let backend_url = crate::routing::backend::link(&home.store)?.map(|l| l.url);
        let sound = crate::sound::Sound::system(crate::sound::SoundSettings::load(&home.store)?);
        let keys = hotkeys::KeyMap::load(&home.store)?;
        let theme = config::theme(&home.store)?;
        let scale = config::scale(&home.store)?;
        let recent_folders = path_field::load_recent_folders(&home.store);
        Ok(Ctx {
            home,
            lang,
            mode,
            operator: None,
            audit_session: None,
            sync: SyncState::NotStarted,
            error: None,
            sandbox: SandboxStatus::Off,
            runtime: None,
            access,
            backend_url,
            services: None,
            services_starting: None,
            vault: None,
            sync_for: None,
            channel_generation: 0,
            till,
            money_path: MoneyPathState::Unclaimed,
            sound,
            keys,
            theme,
            scale,
            recent_folders,
        })
    }

    /// Changes the theme and remembers it (an audited settings change; anyone may, like the language).
    pub fn set_theme(&mut self, theme: config::Theme) {
        self.sync_audit_session();
        match self.home.store.set_setting(config::SETTING_THEME, theme.as_str(), None) {
            Ok(()) => self.theme = theme,
            Err(e) => self.error = Some(store_error(&e)),
        }
    }

    /// Changes the interface scale (percent, kept inside [`config::SCALE_RANGE`]) and remembers it.
    pub fn set_scale(&mut self, percent: u16) {
        let percent = config::clamp_scale(percent);
        if percent == self.scale {
            return;
        }
        self.sync_audit_session();
        match self.home.store.set_setting(config::SETTING_SCALE, &percent.to_string(), None) {
            Ok(()) => self.scale = percent,
            Err(e) => self.error = Some(store_error(&e)),
        }
    }

    /// Says that the mode, keys or gateways changed: clients built before are stale.
    pub fn channels_changed(&mut self) {
        self.channel_generation += 1;
    }

    /// The till has just joined a merchant backend (its settings and routes are written): every channel now goes
    /// through it, and the background sync restarts on it.
    pub fn backend_joined(&mut self, joined: &crate::routing::backend::Joined) {
        self.backend_url = Some(joined.link.url.clone());
        self.access = config::AccessMode::MerchantBackend;
        self.mode = joined.mode;
        match config::this_till(&mut self.home.store) {
            Ok(till) => self.till = till,
            Err(e) => self.error = Some(store_error(&e)),
        }
        self.channels_changed();
        if let Some(runtime) = &self.runtime
            && let Some(old) = self.services.take()
        {
            runtime.spawn(old.stop());
        }
        if self.sync_for.is_some() {
            self.sync_for = Some((self.mode, false));
        }
    }

    /// Switches between the sandbox and the live gateways, and remembers it (an audited settings change). Refused
    /// (in `error`) unless the signed-in operator may change settings.
    pub fn set_mode(&mut self, mode: ChannelMode) {
        if let Err(e) = self.permit_text(crate::store::operators::Permission::ChangeSettings) {
            self.error = Some(e);
            return;
        }
        self.sync_audit_session();
        match self.home.store.set_setting(config::SETTING_MODE, mode.as_str(), self.operator_id()) {
            Ok(()) => {
                self.mode = mode;
                self.error = None;
                self.channels_changed();
            }
            Err(e) => self.error = Some(store_error(&e)),
        }
    }

    /// Signs `operator` in (None: signs out). Every audit entry the window writes afterwards names them.
    pub fn sign_in(&mut self, operator: Option<&crate::model::Operator>) {
        self.operator = operator.map(|o| o.name.clone());
        self.sync_audit_session();
        // A cashier signing in opens their shift at this till when none is open (one small write).
        if let Some(op) = operator
            && let Err(e) = crate::shifts::on_sign_in(&mut self.home.store, &self.till, op, &crate::time::now_utc())
        {
            self.error = Some(crate::i18n::Phrase::text(&e));
        }
    }

    /// Keeps the database's audit session on the signed-in operator, so that changes made in the window that name
    /// no operator themselves are recorded for them (actor "window"). Called every frame; cheap when unchanged.
    pub fn sync_audit_session(&mut self) {
        if self.audit_session.as_ref() == Some(&self.operator) {
            return;
        }
        let id = self.operator_id();
        match self.home.store.set_audit_session(id, AUDIT_ACTOR_WINDOW) {
            Ok(()) => self.audit_session = Some(self.operator.clone()),
            Err(e) => self.error = Some(store_error(&e)),
        }
    }

    /// The worker's status, when it runs.
    pub fn sync_status(&self) -> Option<crate::sync::SyncStatus> {
        self.services.as_ref().map(|s| s.handle().status())
    }

    /// True when the background sync found the acquirers unreachable: payments need the network.
    pub fn offline(&self) -> bool {
        self.sync == SyncState::Offline
    }

    /// The background sync follows the mode: the sandbox's worker (and notify listener) in sandbox mode, a worker on
    /// the live gateways once the keys are unlocked in live mode, and never the sandbox's worker on live orders.
    fn manage_sync(&mut self) {
        let Some(current) = self.sync_for else { return };
        if matches!(self.money_path, MoneyPathState::Elsewhere(_)) {
            return;
        }
        let joined = self.backend_url.is_some();
        let wanted = (self.mode, (self.mode == ChannelMode::Live || joined) && self.vault.is_some());
        if current == wanted || self.services_starting.is_some() {
            return;
        }
        let Some(runtime) = self.runtime.clone() else { return };
        if let Some(old) = self.services.take() {
            runtime.spawn(old.stop());
        }
        self.sync_for = Some(wanted);
        self.sync = SyncState::NotStarted;
        let settings = crate::sync::SyncSettings::load(&self.home.store).unwrap_or_default();
        match self.mode {
            // Through the merchant backend: its channels, and the pull of the store's orders.
            _ if joined => {
                if wanted.1 {
                    match self.router_text() {
                        Ok(router) => {
                            let dir = self.home.dir.clone();
                            self.services = Some(crate::sync::start(&runtime, &dir, router, None, None, settings));
                        }
                        Err(e) => self.error = Some(e),
                    }
                }
            }
            // `tilldesk sync` uses exactly these channels too: the live profile of the same accounts and routes.
            ChannelMode::Live if wanted.1 => match self.router_text() {
                Ok(router) => {
                    let dir = self.home.dir.clone();
                    self.services = Some(crate::sync::start(&runtime, &dir, router, None, None, settings));
                }
                Err(e) => self.error = Some(e),
            },
            ChannelMode::Live => {}
            ChannelMode::Sandbox => {
                if let Some(rx) = self.sandbox.start_services(&runtime, &self.home.dir, settings) {
                    self.services_starting = Some(rx);
                }
            }
        }
    }

    /// Picks up the started services and mirrors the worker's status into `sync`.
    fn poll_services(&mut self) {
        self.manage_sync();
        if let Some(rx) = &self.services_starting {
            match rx.try_recv() {
                Ok(Ok(services)) => {
                    self.services = Some(services);
                    self.services_starting = None;
                }
                Ok(Err(e)) => {
                    // The detail (the sandbox's or the worker's own words) goes to the log.
                    tracing::warn!(error = %e, "the background sync did not start");
                    self.error = Some(Text::new(
                        "后台同步未能启动（详情见日志）",
                        "The background sync did not start (the log has the detail)",
                    ));
                    self.services_starting = None;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
                Err(std::sync::mpsc::TryRecvError::Disconnected) => self.services_starting = None,
            }
        }
        if let Some(status) = self.sync_status() {
            self.sync = match (status.running, status.online) {
                (_, Some(false)) => SyncState::Offline,
                (true, _) => SyncState::Syncing,
                (false, Some(true)) => SyncState::UpToDate,
                (false, None) => SyncState::Syncing,
            };
        }
    }

    /// The embedded sandbox's address once it listens.
    pub fn sandbox_url(&self) -> Option<String> {
        self.sandbox.base_url()
    }

    /// The router over this app's acquirer accounts: in sandbox mode their sandbox profile (the embedded sandbox,
    /// once it listens); in live mode their live profile (the configured gateways, keys from the unlocked vault).
    pub fn router(&self) -> Result<crate::routing::Router, String> {
        self.router_text().map_err(|t| t.get(self.lang).to_owned())
    }

    /// [`Ctx::router`], with why not in both languages.
    pub fn router_text(&self) -> Result<crate::routing::Router, Text> {
        if self.backend_url.is_some() {
            let Some(vault) = &self.vault else { return Err(words_backend::unlock_first()) };
            return match crate::routing::backend::router(&self.home.store, vault) {
                Ok(Some(router)) => Ok(router),
                Ok(None) => Err(words_backend::link_error(&crate::routing::backend::LinkError::NotJoined)),
                Err(e) => Err(words_backend::link_error(&e)),
            };
        }
        if self.mode == ChannelMode::Live {
            let Some(vault) = &self.vault else {
                return Err(Text::new(
                    "正式模式：请先在“设置 → 收单通道与密钥”输入口令解锁密钥",
                    "Live mode: unlock the keys first (Settings → Live channels and keys)",
                ));
            };
            return crate::keys::live_router(self.home.store.path(), vault).map_err(|e| {
                tracing::warn!(error = %e, "the live channels cannot be built");
                Text::new(
                    "正式收单通道无法使用：请检查“设置 → 收单通道与密钥”（详情见日志）",
                    format!("The live channels cannot be used: {e}"),
                )
            });
        }
        match self.sandbox.router(self.home.store.path()) {
            Some(router) => router.map_err(|e| {
                tracing::warn!(error = %e, "the sandbox channels cannot be built");
                Text::new("沙箱收单通道无法使用（详情见日志）", format!("The sandbox channels cannot be used: {e}"))
            }),
            None => Err(Text::new("收单通道未连接", "The acquirers are not connected")),
        }
    }

    /// Whether the signed-in operator may do `permission`; the words to show when not, saying whom to sign in as.
    /// Until the first run has created the owner, nobody is asked to sign in.
    pub fn permit(&self, permission: crate::store::operators::Permission) -> Result<(), String> {
        self.permit_text(permission).map_err(|t| t.get(self.lang).to_owned())
    }

    /// [`Ctx::permit`], with the refusal in both languages (to keep in screen state).
    pub fn permit_text(&self, permission: crate::store::operators::Permission) -> Result<(), Text> {
        let store = &self.home.store;
        if !store.has_owner().map_err(|e| store_error(&e))? {
            return Ok(());
        }
        let signed_in = match &self.operator {
            Some(name) => store.operator_by_name(name).map_err(|e| store_error(&e))?.filter(|o| o.active),
            None => None,
        };
        let words = |lang: Lang| {
            let who = allowed_roles(lang, permission);
            let action = permission_label(lang, permission);
            match &signed_in {
                None => match lang {
                    Lang::ZhCn => format!("请以{who}身份登录后再{action}（设置 → 员工）"),
                    Lang::En => format!("Sign in as {who} to {action} (Settings → Staff)"),
                },
                Some(operator) => {
                    let role = role_label(lang, operator.role);
                    match lang {
                        Lang::ZhCn => format!("{}（{role}）无权{action}，请以{who}身份登录", operator.name),
                        Lang::En => format!("{} is a {role} and may not {action}; sign in as {who}", operator.name),
                    }
                }
            }
        };
        if let Some(operator) = &signed_in
            && crate::store::operators::role_allows(operator.role, permission)
        {
            return Ok(());
        }
        Err(Text::new(words(Lang::ZhCn), words(Lang::En)))
    }

    /// The signed-in operator's id (None when nobody is signed in).
    pub fn operator_id(&self) -> Option<crate::model::OperatorId> {
        let name = self.operator.as_ref()?;
        self.home.store.operator_by_name(name).ok().flatten().map(|o| o.id)
    }

    /// The signed-in operator when they may see only their own orders (a cashier); None for everyone else.
    pub fn own_orders_only(&self) -> Option<crate::model::OperatorId> {
        let name = self.operator.as_ref()?;
        let operator = self.home.store.operator_by_name(name).ok()??;
        crate::store::operators::require(&operator, crate::store::operators::Permission::SeeAllOrders)
            .is_err()
            .then_some(operator.id)
    }

    /// Switches the language and remembers it (an audited settings change).
    /// Anyone at the till may switch it: the language is how the screen reads, not how the till works.
    pub fn set_language(&mut self, lang: Lang) {
        self.sync_audit_session();
        match self.home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None) {
            Ok(()) => {
                self.lang = lang;
                self.error = None;
            }
            Err(e) => self.error = Some(store_error(&e)),
        }
    }
}

/// What the window's audit entries carry as their actor.
pub const AUDIT_ACTOR_WINDOW: &str = "window";

/// The roles that may do `permission`, in words ("owner or back office").
pub fn allowed_roles(lang: Lang, permission: crate::store::operators::Permission) -> String {
    use crate::model::Role;
    let roles: Vec<&str> = [Role::Owner, Role::BackOffice, Role::Cashier]
        .into_iter()
        .filter(|r| crate::store::operators::role_allows(*r, permission))
        .map(|r| role_label(lang, r))
        .collect();
    roles.join(lang.pick("或", " or "))
}

/// A staff role in words.
pub fn role_label(lang: Lang, role: crate::model::Role) -> &'static str {
    use crate::model::Role;
    match role {
        Role::Owner => lang.pick("店主", "owner"),
        Role::BackOffice => lang.pick("财务", "back office"),
        Role::Cashier => lang.pick("收银员", "cashier"),
    }
}

/// What a permission allows, in words ("may not …").
pub fn permission_label(lang: Lang, permission: crate::store::operators::Permission) -> &'static str {
    use crate::store::operators::Permission;
    match permission {
        Permission::TakePayments => lang.pick("收款", "take payments"),
        Permission::Refund => lang.pick("退款", "refund"),
        Permission::Reconcile => lang.pick("对账", "reconcile bills"),
        Permission::Export => lang.pick("导出", "export"),
        Permission::SeeAllOrders => lang.pick("查看其他操作员的订单", "see other operators' orders"),
        Permission::ManageStaff => lang.pick("管理员工", "manage staff"),
        Permission::ChangeSettings => lang.pick("更改设置", "change settings"),
        Permission::ViewAudit => lang.pick("查看审计日志", "view the audit log"),
    }
}

/// The places in the left navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Checkout,
    Dashboard,
    Orders,
    Refunds,
    StoreCodes,
    Acquirers,
    Reconciliation,
    Shifts,
    Settings,
}

impl Screen {
    pub const ALL: [Screen; 9] = [
        Screen::Checkout,
        Screen::Dashboard,
        Screen::Orders,
        Screen::Refunds,
        Screen::StoreCodes,
        Screen::Acquirers,
        Screen::Reconciliation,
        Screen::Shifts,
        Screen::Settings,
    ];

    /// The label in the left navigation.
    pub fn nav_label(self, lang: Lang) -> &'static str {
        match self {
            Screen::Checkout => lang.pick("收银", "Checkout"),
            Screen::Dashboard => lang.pick("概览", "Dashboard"),
            Screen::Orders => lang.pick("订单", "Orders"),
            Screen::Refunds => lang.pick("退款", "Refunds"),
            Screen::StoreCodes => lang.pick("店铺码", "Store codes"),
            Screen::Acquirers => lang.pick("收单机构", "Acquirers"),
            Screen::Reconciliation => lang.pick("对账", "Reconciliation"),
            Screen::Shifts => lang.pick("交接班", "Shifts"),
            Screen::Settings => lang.pick("设置", "Settings"),
        }
    }

    /// The heading at the top of the screen.
    pub fn heading(self, lang: Lang) -> &'static str {
        match self {
            Screen::Checkout => lang.pick("收银台", "Checkout counter"),
            Screen::Dashboard => lang.pick("经营概览", "Sales at a glance"),
            Screen::Orders => lang.pick("订单查询", "Order search"),
            Screen::Refunds => lang.pick("退款管理", "Refund management"),
            Screen::StoreCodes => lang.pick("店铺收款码", "Store payment codes"),
            Screen::Acquirers => lang.pick("收单机构与绑定", "Acquirers and bindings"),
            Screen::Reconciliation => lang.pick("对账中心", "Bill reconciliation"),
            Screen::Shifts => lang.pick("交接班与日结", "Shifts and day close"),
            Screen::Settings => lang.pick("系统设置", "Application settings"),
        }
    }
}

/// The application shell: navigation on the left, status bar at the bottom, the current screen in the middle.
pub struct TillDeskApp {
    pub ctx: Ctx,
    pub screen: Screen,
    settings: settings::SettingsScreen,
    checkout: checkout::CheckoutScreen,
    dashboard: dashboard::DashboardScreen,
    acquirers: acquirers::AcquirersScreen,
    /// 店铺码; public so tests can point its print panel at a stand-in printer.
    pub store_codes: store_codes::StoreCodesScreen,
    /// 订单; public for the benchmarks (a frame after `invalidate`).
    pub orders: orders::OrdersScreen,
    refunds: refunds::RefundsScreen,
    /// 对账; public so the app can hand it the channel clients (`reconcile.channels`).
    pub reconcile: reconcile::ReconcileScreen,
    /// 交接班.
    pub shifts: shifts::ShiftsScreen,
    /// The first-run wizard while it is open (it then fills the window).
    first_run: Option<first_run::FirstRunWizard>,
    /// The theme and scale last handed to egui (applied again when Settings changes them).
    applied_look: Option<(config::Theme, u16)>,
    /// The window title last set (it follows the language).
    title: Option<String>,
}

impl TillDeskApp {
    pub fn new(home: DataHome) -> Result<Self, StoreError> {
        Ok(TillDeskApp {
            ctx: Ctx::new(home)?,
            screen: Screen::Checkout,
            settings: Default::default(),
            checkout: Default::default(),
            dashboard: Default::default(),
            acquirers: Default::default(),
            store_codes: Default::default(),
            orders: Default::default(),
            refunds: Default::default(),
            reconcile: Default::default(),
            shifts: Default::default(),
            first_run: None,
            applied_look: None,
            title: None,
        })
    }

    /// Opens the first-run wizard if this till was never set up (main.rs calls this at launch; tests open it
    /// explicitly, so a fresh data folder in other tests shows the normal screens).
    pub fn offer_first_run(&mut self) -> Result<(), StoreError> {
        if config::first_run_pending(&self.ctx.home.store)? {
            self.open_first_run();
        }
        Ok(())
    }

    /// Opens the first-run wizard (Settings → "Run the setup wizard again").
    pub fn open_first_run(&mut self) {
        self.first_run = Some(first_run::FirstRunWizard::new(&mut self.ctx));
    }

    /// Whether the first-run wizard is showing.
    pub fn first_run_open(&self) -> bool {
        self.first_run.is_some()
    }

    /// Draws the wizard if it is open; true while it is. When it ends, screens that cached the merchant or stores
    /// read them again (Store codes does on every visit), and choosing live acquirers opens the Acquirers screen.
    fn show_first_run(&mut self, ui: &mut egui::Ui) -> bool {
        let Some(wizard) = self.first_run.as_mut() else { return false };
        egui::CentralPanel::default().show(ui, |ui| wizard.ui(ui, &mut self.ctx));
        let Some(outcome) = wizard.outcome() else { return true };
        self.first_run = None;
        self.acquirers.invalidate(&mut self.ctx);
        self.orders.invalidate();
        self.refunds.invalidate();
        if outcome == (first_run::Outcome::Completed { mode: ChannelMode::Live }) {
            self.screen = Screen::Acquirers;
        }
        ui.ctx().request_repaint();
        true
    }

    /// Draws the whole window. eframe calls it through [`eframe::App::ui`]; tests call it through egui_kittest.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.apply_look(ui.ctx());
        self.ctx.sync_audit_session();
        self.ctx.sandbox.poll();
        self.ctx.poll_services();
        if self.ctx.services.is_some() || self.ctx.services_starting.is_some() {
            // The worker's status changes in the background.
            ui.ctx().request_repaint_after(std::time::Duration::from_secs(1));
        }
        if matches!(self.ctx.sandbox, SandboxStatus::Starting(_)) {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(200));
        }
        if self.show_first_run(ui) {
            return;
        }
        let lang = self.ctx.lang;
        egui::Panel::bottom("status-bar").show(ui, |ui| self.status_bar(ui));
        egui::Panel::left("navigation").resizable(false).default_size(150.0).show(ui, |ui| {
            ui.add_space(8.0);
            ui.heading("TillDesk");
            ui.add_space(8.0);
            for screen in Screen::ALL {
                let button = egui::Button::selectable(self.screen == screen, screen.nav_label(lang))
                    .min_size(egui::vec2(ui.available_width(), 30.0));
                if ui.add(button).clicked() {
                    self.screen = screen;
                    self.orders.invalidate();
                    self.refunds.invalidate();
                    self.settings.invalidate();
                    self.acquirers.invalidate_routes();
                    self.shifts.invalidate();
                }
            }
        });
        // F1 收款 from any screen starts a sale at the counter.
        if self.screen != Screen::Checkout && self.ctx.keys.pressed(ui.ctx(), hotkeys::Action::Charge) {
            self.screen = Screen::Checkout;
            self.checkout.start_sale();
        }
        // F10 交班 from any screen: the shift screen, asking to confirm the handover.
        if self.ctx.keys.pressed(ui.ctx(), hotkeys::Action::CloseShift) {
            self.screen = Screen::Shifts;
            self.shifts.ask_close();
        }
        if let Some((first, last)) = self.dashboard.open_orders.take() {
            self.orders.show_days(&mut self.ctx, first, last);
            self.screen = Screen::Orders;
        }
        if let Some(out_trade_no) = self.refunds.open_order.take() {
            self.orders.open(&mut self.ctx, &out_trade_no);
            self.screen = Screen::Orders;
        }
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading(self.screen.heading(lang));
            ui.separator();
            match self.screen {
                Screen::Settings => self.settings.ui(ui, &mut self.ctx),
                Screen::Checkout => self.checkout.ui(ui, &mut self.ctx),
                Screen::Dashboard => self.dashboard.ui(ui, &mut self.ctx),
                Screen::Acquirers => self.acquirers.ui(ui, &mut self.ctx),
                Screen::StoreCodes => self.store_codes.ui(ui, &mut self.ctx),
                Screen::Orders => self.orders.ui(ui, &mut self.ctx),
                Screen::Refunds => self.refunds.ui(ui, &mut self.ctx),
                Screen::Reconciliation => self.reconcile.ui(ui, &mut self.ctx),
                Screen::Shifts => self.shifts.ui(ui, &mut self.ctx),
            }
        });
        // F3 退款 at the counter: the order's refund form.
        if let Some(out_trade_no) = self.checkout.take_open_refund() {
            self.screen = Screen::Orders;
            self.orders.open_for_refund(&mut self.ctx, &out_trade_no);
            ui.ctx().request_repaint();
        }
        if self.settings.take_wizard_request() {
            self.open_first_run();
        }
    }

    /// Hands the theme and the scale to egui when they change (at start, and at once from Settings or the keys),
    /// handles Ctrl+= / Ctrl+- / Ctrl+0 (stored, unlike egui's own zoom keys, which are turned off), and keeps the
    /// window title in the interface language.
    pub fn apply_look(&mut self, egui_ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let step = config::SCALE_STEP;
        let shortcut = |k: Key| KeyboardShortcut::new(Modifiers::COMMAND, k);
        let (bigger, smaller, reset) = egui_ctx.input_mut(|i| {
            let bigger = i.consume_shortcut(&shortcut(Key::Equals)) || i.consume_shortcut(&shortcut(Key::Plus));
            (bigger, i.consume_shortcut(&shortcut(Key::Minus)), i.consume_shortcut(&shortcut(Key::Num0)))
        });
        if reset {
            self.ctx.set_scale(100);
        } else if bigger {
            self.ctx.set_scale(self.ctx.scale.saturating_add(step));
        } else if smaller {
            self.ctx.set_scale(self.ctx.scale.saturating_sub(step));
        }
        let look = (self.ctx.theme, self.ctx.scale);
        if self.applied_look != Some(look) {
            egui_ctx.options_mut(|o| o.zoom_with_keyboard = false);
            egui_ctx.set_theme(match look.0 {
                config::Theme::Light => egui::ThemePreference::Light,
                config::Theme::Dark => egui::ThemePreference::Dark,
                config::Theme::System => egui::ThemePreference::System,
            });
            egui_ctx.set_zoom_factor(f32::from(look.1) / 100.0);
            self.applied_look = Some(look);
        }
        let title = match self.first_run {
            Some(_) => format!("TillDesk · {}", self.ctx.lang.pick("首次设置", "First-run setup")),
            None => format!("TillDesk · {}", self.screen.heading(self.ctx.lang)),
        };
        if self.title.as_deref() != Some(title.as_str()) {
            egui_ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = Some(title);
        }
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        let lang = self.ctx.lang;
        // Wraps on a narrow window (1024 px) rather than cutting anything off: each item stays whole and the row
        // breaks between items; the data folder is elided in the middle of its path (the whole path on hover); an
        // error gets a row of its own and wraps between words.
        ui.horizontal_wrapped(|ui| {
            ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
            let mode = match self.ctx.mode {
                ChannelMode::Sandbox => lang.pick("沙箱", "sandbox"),
                ChannelMode::Live => lang.pick("正式", "live"),
            };
            ui.label(format!("{}{mode}", lang.pick("模式：", "Mode: ")));
            match &self.ctx.sandbox {
                SandboxStatus::Off => {}
                SandboxStatus::Starting(_) => {
                    ui.label(lang.pick("沙箱启动中…", "sandbox starting…"));
                }
                SandboxStatus::Running(r) => {
                    ui.label(r.base_url());
                }
                SandboxStatus::Failed(e) => {
                    ui.colored_label(ui.visuals().error_fg_color, lang.pick("沙箱启动失败", "the sandbox failed"))
                        .on_hover_text(e.as_str());
                }
            }
            ui.separator();
            let dir = self.ctx.home.dir.display().to_string();
            let caption = lang.pick("数据：", "Data: ");
            ui.label(format!("{caption}{}", elide_middle(&dir, 36))).on_hover_text(dir.as_str());
            ui.separator();
            let operator = self.ctx.operator.as_deref().unwrap_or(lang.pick("未登录", "not signed in"));
            ui.label(format!("{}{operator}", lang.pick("操作员：", "Operator: ")));
            // Switching operator is one click away: the Staff panel in Settings.
            let switch = if self.ctx.operator.is_some() {
                lang.pick("切换", "Switch")
            } else {
                lang.pick("登录", "Sign in")
            };
            if ui.small_button(switch).clicked() {
                self.screen = Screen::Settings;
            }
            ui.separator();
            ui.label(this_till::status_words(lang, &self.ctx.till));
            ui.separator();
            match &self.ctx.backend_url {
                Some(url) => ui.label(words_backend::status(lang, url)),
                None => ui.label(format!("{}{}", lang.pick("接入：", "Access: "), self.ctx.access.label(lang))),
            };
            ui.separator();
            ui.label(format!("{}{}", lang.pick("同步：", "Sync: "), self.ctx.sync.label(lang)));
            if let Some(status) = self.ctx.sync_status() {
                ui.label(format!("{}{}", lang.pick("待发送：", "outbox: "), status.outbox_len));
                let last = status
                    .last_success
                    .as_deref()
                    .map(crate::time::to_china_display)
                    .unwrap_or_else(|| lang.pick("从未", "never").to_owned());
                ui.label(format!("{}{last}", lang.pick("上次成功同步：", "last successful sync: ")));
            }
        });
        if let Some(error) = &self.ctx.error {
            ui.add(
                egui::Label::new(egui::RichText::new(error.get(lang)).color(ui.visuals().error_fg_color))
                    .wrap_mode(egui::TextWrapMode::Wrap),
            );
        }
    }
}

/// `text` at most `max` characters long, the middle replaced by "…" (paths keep their start and their end).
pub fn elide_middle(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max || max < 5 {
        return text.to_owned();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

impl eframe::App for TillDeskApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
