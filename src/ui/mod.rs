//! The egui screens: thin, one file per screen. Screens call the core and render what comes back.

pub mod acquirers;
pub mod checkout;
pub mod fonts;
pub mod icon;
pub mod jobs;
pub mod merchant;
pub mod orders;
pub mod print;
pub mod reconcile;
pub mod refunds;
pub mod settings;
pub mod staff;
pub mod store_codes;

/// The first-run wizard, shown instead of the screens until the till is set up.
pub mod first_run;

use crate::config::{self, DataHome, SETTING_LANGUAGE};
use crate::i18n::Lang;
use crate::model::ChannelMode;
use crate::store::StoreError;

/// What every screen may read and change: the data home, the language and the shell's status.
#[derive(Debug)]
pub struct Ctx {
    pub home: DataHome,
    pub lang: Lang,
    pub mode: ChannelMode,
    /// The signed-in operator's name, once staff sign-in exists.
    pub operator: Option<String>,
    pub sync: SyncState,
    /// The last error worth showing in the status bar.
    pub error: Option<String>,
    /// The embedded sandbox, when the app runs on it.
    pub sandbox: SandboxStatus,
    /// The one tokio runtime for network and disk work (None in tests that need none).
    pub runtime: Option<tokio::runtime::Handle>,
}

/// The embedded sandbox's life: started off the UI thread, then serving for the life of the app.
#[derive(Default)]
pub enum SandboxStatus {
    /// Not used (tests, or live gateways).
    #[default]
    Off,
    Starting(std::sync::mpsc::Receiver<Result<crate::sandbox::RunningSandbox, String>>),
    Running(crate::sandbox::RunningSandbox),
    Failed(String),
}

impl std::fmt::Debug for SandboxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SandboxStatus::Off => f.write_str("Off"),
            SandboxStatus::Starting(_) => f.write_str("Starting"),
            SandboxStatus::Running(r) => write!(f, "Running({})", r.addr),
            SandboxStatus::Failed(e) => write!(f, "Failed({e})"),
        }
    }
}

impl SandboxStatus {
    /// Picks up the start result without blocking.
    fn poll(&mut self) {
        if let SandboxStatus::Starting(rx) = self {
            match rx.try_recv() {
                Ok(Ok(running)) => *self = SandboxStatus::Running(running),
                Ok(Err(e)) => *self = SandboxStatus::Failed(e),
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    *self = SandboxStatus::Failed("the sandbox task ended before it started".into())
                }
            }
        }
    }
}

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
            SyncState::Offline => lang.pick("离线", "offline"),
        }
    }
}

impl Ctx {
    pub fn new(home: DataHome) -> Result<Self, StoreError> {
        let lang = config::language(&home.store)?;
        let mode = config::channel_mode(&home.store)?;
        Ok(Ctx {
            home,
            lang,
            mode,
            operator: None,
            sync: SyncState::NotStarted,
            error: None,
            sandbox: SandboxStatus::Off,
            runtime: None,
        })
    }

    /// The embedded sandbox's address once it listens.
    pub fn sandbox_url(&self) -> Option<String> {
        match &self.sandbox {
            SandboxStatus::Running(r) => Some(r.base_url()),
            _ => None,
        }
    }

    /// Switches the language and remembers it (an audited settings change).
    pub fn set_language(&mut self, lang: Lang) {
        match self.home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None) {
            Ok(()) => {
                self.lang = lang;
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }
}

/// The seven places in the left navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Checkout,
    Orders,
    Refunds,
    StoreCodes,
    Acquirers,
    Reconciliation,
    Settings,
}

impl Screen {
    pub const ALL: [Screen; 7] = [
        Screen::Checkout,
        Screen::Orders,
        Screen::Refunds,
        Screen::StoreCodes,
        Screen::Acquirers,
        Screen::Reconciliation,
        Screen::Settings,
    ];

    /// The label in the left navigation.
    pub fn nav_label(self, lang: Lang) -> &'static str {
        match self {
            Screen::Checkout => lang.pick("收银", "Checkout"),
            Screen::Orders => lang.pick("订单", "Orders"),
            Screen::Refunds => lang.pick("退款", "Refunds"),
            Screen::StoreCodes => lang.pick("店铺码", "Store codes"),
            Screen::Acquirers => lang.pick("收单机构", "Acquirers"),
            Screen::Reconciliation => lang.pick("对账", "Reconciliation"),
            Screen::Settings => lang.pick("设置", "Settings"),
        }
    }

    /// The heading at the top of the screen.
    pub fn heading(self, lang: Lang) -> &'static str {
        match self {
            Screen::Checkout => lang.pick("收银台", "Checkout counter"),
            Screen::Orders => lang.pick("订单查询", "Order search"),
            Screen::Refunds => lang.pick("退款管理", "Refund management"),
            Screen::StoreCodes => lang.pick("店铺收款码", "Store payment codes"),
            Screen::Acquirers => lang.pick("收单机构与绑定", "Acquirers and bindings"),
            Screen::Reconciliation => lang.pick("对账中心", "Bill reconciliation"),
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
    acquirers: acquirers::AcquirersScreen,
    store_codes: store_codes::StoreCodesScreen,
    orders: orders::OrdersScreen,
    refunds: refunds::RefundsScreen,
    /// 对账; public so the app can hand it the channel clients (`reconcile.channels`).
    pub reconcile: reconcile::ReconcileScreen,
    /// The first-run wizard while it is open (it then fills the window).
    first_run: Option<first_run::FirstRunWizard>,
}

impl TillDeskApp {
    pub fn new(home: DataHome) -> Result<Self, StoreError> {
        Ok(TillDeskApp {
            ctx: Ctx::new(home)?,
            screen: Screen::Checkout,
            settings: Default::default(),
            checkout: Default::default(),
            acquirers: Default::default(),
            store_codes: Default::default(),
            orders: Default::default(),
            refunds: Default::default(),
            reconcile: Default::default(),
            first_run: None,
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
        self.ctx.sandbox.poll();
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
                }
            }
        });
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading(self.screen.heading(lang));
            ui.separator();
            match self.screen {
                Screen::Settings => self.settings.ui(ui, &mut self.ctx),
                Screen::Checkout => self.checkout.ui(ui, &mut self.ctx),
                Screen::Acquirers => self.acquirers.ui(ui, &mut self.ctx),
                Screen::StoreCodes => self.store_codes.ui(ui, &mut self.ctx),
                Screen::Orders => self.orders.ui(ui, &mut self.ctx),
                Screen::Refunds => self.refunds.ui(ui, &mut self.ctx),
                Screen::Reconciliation => self.reconcile.ui(ui, &mut self.ctx),
            }
        });
        if self.settings.take_wizard_request() {
            self.open_first_run();
        }
    }

    fn status_bar(&self, ui: &mut egui::Ui) {
        let lang = self.ctx.lang;
        ui.horizontal(|ui| {
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
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!("{}{e}", lang.pick("沙箱失败：", "sandbox failed: ")),
                    );
                }
            }
            ui.separator();
            ui.label(format!("{}{}", lang.pick("数据：", "Data: "), self.ctx.home.dir.display()));
            ui.separator();
            let operator = self.ctx.operator.as_deref().unwrap_or(lang.pick("未登录", "not signed in"));
            ui.label(format!("{}{operator}", lang.pick("操作员：", "Operator: ")));
            ui.separator();
            ui.label(format!("{}{}", lang.pick("同步：", "Sync: "), self.ctx.sync.label(lang)));
            if let Some(error) = &self.ctx.error {
                ui.separator();
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
        });
    }
}

impl eframe::App for TillDeskApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
