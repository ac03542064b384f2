//! The egui screens: thin, one file per screen. Screens send commands to the core through the one queue (`ctx.queue`,
//! see `crate::queue`) and render the answers; the shell (`TillDeskApp`) draws the navigation and the status bar.

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
pub mod shifts_remote;
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
/// Settings → Live channels and keys in words.
pub mod words_keys;
/// Words for the reconciliation core's errors, the acquirers' names and the one rule for fees.
pub mod words_recon;

/// The counter's function keys (F1 收款 …), configurable in Settings.
pub mod hotkeys;

/// What every screen gets (the queue and plain state).
pub mod ctx;

pub use ctx::*;

use crate::config::{self, DataHome};
use crate::i18n::Lang;
use crate::model::ChannelMode;
use crate::queue::QueueError;

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
    pub fn new(home: DataHome) -> Result<Self, QueueError> {
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
    pub fn offer_first_run(&mut self) -> Result<(), QueueError> {
        if self.ctx.queue.submit(|s| config::first_run_pending(&s.store)).wait()?? {
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
        self.ctx.attach_queue(ui.ctx());
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
        // The shell's own drawing (the status bar, the navigation) is on the queue: it draws as the UI thread.
        let shell = crate::thread_role::ui_frame();
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
        drop(shell);
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
            if !self.ctx.sign_in_known() {
                // A new name's record is on its way from the queue: no screen until it is known who may see what.
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(lang.pick("正在读取登录信息，请稍候", "Reading who is signed in: one moment"));
                });
                return;
            }
            match self.screen {
                // Every screen is on the command queue and draws as the UI thread: SQL, hashing, signing or a file
                // write in one fails a debug build (`thread_role`).
                Screen::Settings => {
                    let _ui = crate::thread_role::ui_frame();
                    self.settings.ui(ui, &mut self.ctx)
                }
                Screen::Checkout => {
                    let _ui = crate::thread_role::ui_frame();
                    self.checkout.ui(ui, &mut self.ctx)
                }
                Screen::Dashboard => {
                    let _ui = crate::thread_role::ui_frame();
                    self.dashboard.ui(ui, &mut self.ctx)
                }
                Screen::Acquirers => {
                    let _ui = crate::thread_role::ui_frame();
                    self.acquirers.ui(ui, &mut self.ctx)
                }
                Screen::StoreCodes => {
                    let _ui = crate::thread_role::ui_frame();
                    self.store_codes.ui(ui, &mut self.ctx)
                }
                Screen::Orders => {
                    let _ui = crate::thread_role::ui_frame();
                    self.orders.ui(ui, &mut self.ctx)
                }
                Screen::Refunds => {
                    let _ui = crate::thread_role::ui_frame();
                    self.refunds.ui(ui, &mut self.ctx)
                }
                Screen::Reconciliation => {
                    let _ui = crate::thread_role::ui_frame();
                    self.reconcile.ui(ui, &mut self.ctx)
                }
                Screen::Shifts => {
                    let _ui = crate::thread_role::ui_frame();
                    self.shifts.ui(ui, &mut self.ctx)
                }
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
            // A till enrolled with a merchant backend pays through it (its address is shown below): the embedded
            // sandbox, if it runs, is not where its payments go.
            let sandbox = if self.ctx.backend_url.is_some() { &SandboxStatus::Off } else { &self.ctx.sandbox };
            match sandbox {
                SandboxStatus::Off => {}
                SandboxStatus::Starting(_) => {
                    ui.label(lang.pick("沙箱启动中…", "sandbox starting…"));
                }
                SandboxStatus::Running(r) => {
                    ui.label(r.base_url());
                }
                SandboxStatus::Failed(e) => {
                    ui.colored_label(ui.visuals().error_fg_color, lang.pick("沙箱启动失败", "the sandbox failed"))
                        .on_hover_text(e.to_string());
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
