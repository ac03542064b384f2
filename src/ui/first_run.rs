//! 首次设置向导 First-run wizard: language, merchant profile, first store, owner PIN, sandbox or live. Each step
//! is saved when the merchant presses Next, through the same core calls the Acquirers and Settings screens use;
//! the wizard can be skipped at any step and opened again from Settings. What it reads and saves goes through the
//! command queue: Next waits for the step's save to answer before it moves on.

use crate::channel::cds::CdsClient;
use crate::config::{self, FirstRun, SETTING_MODE};
use crate::i18n::{Lang, Text};
use crate::model::{ChannelMode, Merchant, Role, Store, StoreId};
use crate::onboarding::{FieldIssue, validate_merchant, validate_store};
use crate::queue::{QueueError, Ticket, poll_slot};
use crate::store::StoreError;
use crate::store::operators::{AddOperatorError, check_pin_format};
use crate::ui::Ctx;
use crate::ui::acquirers::SETTING_ONBOARDING_URL;
use crate::ui::merchant::{
    NameCheck, PrintedNames, field, merchant_names, needs_font_check, store_names, unprintable_issue,
};
use crate::ui::words_setup::store_error_text;

/// The Latin name of the demo merchant and the name of the demo store a fresh install creates
/// (`Setup::default_store`); the wizard starts with empty fields instead of offering these.
const DEMO_MERCHANT_NAME: &str = "TILLDESK DEMO";
const DEMO_STORE_NAME: &str = "Demo Store";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Language,
    Merchant,
    Store,
    Owner,
    Mode,
    Done,
}

impl Step {
    const ALL: [Step; 6] = [Step::Language, Step::Merchant, Step::Store, Step::Owner, Step::Mode, Step::Done];

    fn title(self, lang: Lang) -> &'static str {
        match self {
            Step::Language => lang.pick("界面语言", "Language"),
            Step::Merchant => lang.pick("商户资料", "Merchant profile"),
            Step::Store => lang.pick("第一家门店", "First store"),
            Step::Owner => lang.pick("店主账号与 PIN", "Owner and PIN"),
            Step::Mode => lang.pick("沙箱或正式收单", "Sandbox or live acquirers"),
            Step::Done => lang.pick("完成", "Done"),
        }
    }

    fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    fn next(self) -> Step {
        Step::ALL.get(self.index() + 1).copied().unwrap_or(Step::Done)
    }

    fn back(self) -> Step {
        Step::ALL[self.index().saturating_sub(1)]
    }
}

/// What the wizard reads when it opens: the merchant, the stores, the active owner and the live onboarding server.
#[derive(Debug)]
struct Loaded {
    merchant: Merchant,
    stores: Vec<Store>,
    owner: Option<String>,
    onboarding_url: Option<String>,
}

fn read(q: &mut crate::queue::CoreSession) -> Result<Loaded, StoreError> {
    let merchant = q.store.setup_mut().merchant()?;
    let stores = q.store.setup().stores()?;
    let owner = q.store.staff().operators()?.into_iter().find(|o| o.role == Role::Owner && o.active).map(|o| o.name);
    let onboarding_url = q.store.setting(SETTING_ONBOARDING_URL)?;
    Ok(Loaded { merchant, stores, owner, onboarding_url })
}

/// What a step's save wrote, as the queue answers it.
#[derive(Debug)]
enum Saved {
    /// The merchant profile (or nothing: it was unchanged).
    Merchant,
    /// The store as saved (a new one with its id), and the stores now.
    Store(Store, Vec<Store>),
    /// The mode (and the live onboarding server).
    Mode,
    /// The wizard was finished or skipped.
    Ended(Outcome),
}

/// A command's answer, or why there is none in words.
fn flatten<T>(answer: Result<Result<T, StoreError>, QueueError>) -> Result<T, Text> {
    use crate::i18n::Phrase;
    match answer {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(store_error_text(&e)),
        Err(e) => Err(e.text()),
    }
}

/// How the wizard ended; the shell closes it and, for live acquirers, opens the Acquirers screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed { mode: ChannelMode },
    Skipped,
}

pub struct FirstRunWizard {
    step: Step,
    merchant: Option<Merchant>,
    merchant_issues: Vec<FieldIssue>,
    store: Option<Store>,
    store_issues: Vec<FieldIssue>,
    owner_name: String,
    owner_pin: String,
    owner_pin_again: String,
    /// The owner, once one exists (created here or before).
    owner: Option<String>,
    /// The owner being created: its PIN is hashed on a background thread (Argon2 is slow on purpose).
    owner_job: Option<crate::queue::Ticket<Result<crate::model::Operator, AddOperatorError>>>,
    /// What the database held when the wizard opened, being read; the stores as last read (a store's number must be
    /// new among them).
    loading: Option<Ticket<Result<Loaded, StoreError>>>,
    stores: Vec<Store>,
    /// The merchant profile as last saved or read (an unchanged one is not saved again).
    saved_merchant: Option<Merchant>,
    /// The step's save under way; Next moves on once it answers.
    saving: Option<Ticket<Result<Saved, StoreError>>>,
    /// The merchant's or store's printed names being checked against the fonts (off the UI thread) before saving.
    names_check: Option<NameCheck>,
    /// Names that passed that check.
    printable: PrintedNames,
    mode: ChannelMode,
    onboarding_url: String,
    /// The last problem to show under the step (red).
    problem: Option<Text>,
    outcome: Option<Outcome>,
    /// The app icon's texture, loaded on the first frame (None inside: it could not be decoded).
    icon: Option<Option<egui::TextureHandle>>,
}

impl std::fmt::Debug for FirstRunWizard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstRunWizard").field("step", &self.step).finish_non_exhaustive()
    }
}

impl FirstRunWizard {
    /// Starts at the first step with what the database holds now.
    pub fn new(ctx: &mut Ctx) -> Self {
        let mut w = FirstRunWizard {
            step: Step::Language,
            merchant: None,
            merchant_issues: Vec::new(),
            store: None,
            store_issues: Vec::new(),
            owner_name: String::new(),
            owner_pin: String::new(),
            owner_pin_again: String::new(),
            owner: None,
            owner_job: None,
            names_check: None,
            printable: Vec::new(),
            mode: ctx.mode,
            onboarding_url: String::new(),
            loading: Some(ctx.queue.submit(read)),
            stores: Vec::new(),
            saved_merchant: None,
            saving: None,
            problem: None,
            outcome: None,
            icon: None,
        };
        w.poll_load();
        w
    }

    /// Takes what the database held when the wizard opened.
    fn poll_load(&mut self) {
        let loaded = match poll_slot(&mut self.loading) {
            None => return,
            Some(answer) => match flatten(answer) {
                Ok(loaded) => loaded,
                Err(problem) => {
                    self.problem = Some(problem);
                    return;
                }
            },
        };
        self.onboarding_url = loaded.onboarding_url.unwrap_or_default();
        self.owner = loaded.owner;
        self.saved_merchant = Some(loaded.merchant.clone());
        {
            let mut m = loaded.merchant;
            {
                if m.display_name == DEMO_MERCHANT_NAME {
                    // The demo merchant: ask for the real details rather than offer the demo's.
                    for f in [
                        &mut m.legal_name,
                        &mut m.display_name,
                        &mut m.display_name_zh,
                        &mut m.city,
                        &mut m.city_zh,
                        &mut m.postal_code,
                    ] {
                        f.clear();
                    }
                }
                self.merchant = Some(m);
            }
        }
        self.store = loaded.stores.first().cloned().map(|mut s| {
            if s.name == DEMO_STORE_NAME {
                s.store_code.clear();
                s.name.clear();
                s.name_zh.clear();
            }
            s
        });
        self.stores = loaded.stores;
    }

    /// Takes the answer of the step's save: moves on, or ends the wizard, or shows why not.
    fn poll_saving(&mut self, ctx: &mut Ctx) {
        let saved = match poll_slot(&mut self.saving) {
            None => return,
            Some(answer) => match flatten(answer) {
                Ok(saved) => saved,
                Err(problem) => {
                    self.problem = Some(problem);
                    return;
                }
            },
        };
        match saved {
            Saved::Merchant => self.saved_merchant = self.merchant.clone(),
            Saved::Store(store, stores) => {
                self.store = Some(store);
                self.stores = stores;
            }
            Saved::Mode => {
                if ctx.mode != self.mode {
                    ctx.mode = self.mode;
                    ctx.channels_changed();
                }
            }
            Saved::Ended(outcome) => {
                self.outcome = Some(outcome);
                return;
            }
        }
        self.step = self.step.next();
    }

    /// Whether the wizard waits for the queue (Next and Finish wait too). The language step needs nothing read.
    fn busy(&self) -> bool {
        (self.loading.is_some() && self.step != Step::Language)
            || self.saving.is_some()
            || self.owner_job.is_some()
            || self.names_check.is_some()
    }

    /// Set once the merchant finished or skipped the wizard.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.poll_load();
        self.poll_owner(ctx);
        self.poll_saving(ctx);
        self.poll_names(ctx);
        let icon = self.icon.get_or_insert_with(|| crate::ui::icon::texture(ui.ctx())).clone();
        egui::ScrollArea::vertical().id_salt("first-run").show(ui, |ui| {
            // A centred card, at most 720 points wide.
            let width = ui.available_width().min(720.0);
            ui.add_space(24.0);
            ui.horizontal(|ui| {
                ui.add_space(((ui.available_width() - width) / 2.0).max(0.0));
                ui.vertical(|ui| {
                    ui.set_width(width);
                    egui::Frame::group(ui.style()).inner_margin(24.0).show(ui, |ui| {
                        ui.set_width(width - 48.0);
                        self.card(ui, ctx, lang, icon.as_ref());
                    });
                });
            });
        });
    }

    fn card(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, lang: Lang, icon: Option<&egui::TextureHandle>) {
        // Enter advances (as Next or Finish does) from a text field or with nothing focused; a focused button or
        // radio takes Enter for itself.
        let enter = ui.input(|i| i.key_pressed(egui::Key::Enter))
            && ui.memory(|m| m.focused()).is_none_or(|id| egui::text_edit::TextEditState::load(ui.ctx(), id).is_some());
        ui.horizontal(|ui| {
            if let Some(icon) = icon {
                ui.add(egui::Image::new(icon).fit_to_exact_size(egui::vec2(56.0, 56.0)));
            }
            ui.vertical(|ui| {
                ui.heading(lang.pick("欢迎使用 TillDesk", "Welcome to TillDesk"));
                ui.label(lang.pick(
                    "几步完成设置，之后即可收款。每一步都可以稍后在程序中修改。",
                    "A few steps and the till is ready. Everything can be changed later in the app.",
                ));
            });
        });
        ui.add_space(8.0);
        // Where we are: every step's name, the current one strong.
        ui.horizontal_wrapped(|ui| {
            for step in Step::ALL {
                let text = format!("{} {}", step.index() + 1, step.title(lang));
                let text = if step == self.step {
                    egui::RichText::new(text).strong().color(ui.visuals().selection.bg_fill)
                } else {
                    egui::RichText::new(text).weak()
                };
                ui.label(text);
                if step != Step::Done {
                    ui.label(egui::RichText::new("·").weak());
                }
            }
        });
        ui.separator();
        ui.label(
            egui::RichText::new(format!(
                "{} {}/{} · {}",
                lang.pick("步骤", "Step"),
                self.step.index() + 1,
                Step::ALL.len(),
                self.step.title(lang)
            ))
            .strong()
            .size(16.0),
        );
        ui.add_space(6.0);
        match self.step {
            Step::Language => self.language_ui(ui, ctx),
            Step::Merchant => self.merchant_ui(ui, lang),
            Step::Store => self.store_ui(ui, lang),
            Step::Owner => self.owner_ui(ui, lang),
            Step::Mode => self.mode_ui(ui, lang),
            Step::Done => self.done_ui(ui, lang),
        }
        if self.names_check.is_some() {
            crate::ui::merchant::show_checking(ui, lang);
        }
        if let Some(p) = &self.problem {
            ui.add_space(6.0);
            ui.add(egui::Label::new(egui::RichText::new(p.get(lang)).color(ui.visuals().error_fg_color)).wrap());
        }
        ui.add_space(16.0);
        ui.horizontal(|ui| {
            let big = egui::vec2(96.0, 30.0);
            if self.step != Step::Language
                && ui.add(egui::Button::new(lang.pick("上一步", "Back")).min_size(big)).clicked()
            {
                self.problem = None;
                self.names_check = None;
                self.step = self.step.back();
            }
            if self.step == Step::Done {
                let idle = !self.busy();
                if ui.add_enabled(idle, egui::Button::new(lang.pick("完成", "Finish")).min_size(big)).clicked()
                    || (enter && idle)
                {
                    self.finish(ctx);
                }
            } else if ui
                .add_enabled(!self.busy(), egui::Button::new(lang.pick("下一步", "Next")).min_size(big))
                .clicked()
                || (enter && !self.busy())
            {
                self.problem = None;
                if self.save_step(ctx) {
                    self.step = self.step.next();
                }
            }
            if self.step != Step::Done {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let idle = self.saving.is_none();
                    if ui
                        .add_enabled(idle, egui::Button::new(lang.pick("跳过设置", "Skip setup")).min_size(big))
                        .clicked()
                    {
                        self.skip(ctx);
                    }
                });
            }
        });
        if self.step != Step::Done {
            ui.add_space(4.0);
            ui.label(
                egui::RichText::new(lang.pick(
                    "已保存的步骤会保留；以后可在“设置”中再次打开本向导。",
                    "Steps already saved are kept; Settings can open this wizard again.",
                ))
                .weak(),
            );
        }
    }

    fn language_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        ui.label(ctx.lang.pick("请选择界面语言", "Choose the language"));
        ui.horizontal(|ui| {
            for choice in [Lang::ZhCn, Lang::En] {
                if ui.radio(ctx.lang == choice, choice.native_name()).clicked() && ctx.lang != choice {
                    ctx.set_language(choice);
                }
            }
        });
    }

    fn merchant_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        ui.label(lang.pick(
            "商户资料会印在店铺码上并提交给收单机构。英文名称最多 25 个字符。",
            "The merchant profile is printed on the store code and sent to acquirers. The Latin name has at most 25 \
             characters.",
        ));
        let Some(m) = self.merchant.as_mut() else { return };
        crate::ui::merchant::merchant_fields(
            ui,
            lang,
            "first-run-merchant",
            m,
            &self.merchant_issues,
            "张三餐饮有限公司",
        );
    }

    fn store_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        ui.label(lang.pick(
            "门店编号是您自己的编号，会发送给收单机构并印在店铺码上。更多门店可在“收单机构”页面添加。",
            "The store number is your own; it goes to the acquirers and onto the store code. Add more stores on the \
             Acquirers screen later.",
        ));
        let Some(s) = self.store.as_mut() else { return };
        let issues = &self.store_issues;
        egui::Grid::new("first-run-store").num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
            field(ui, lang, lang.pick("门店编号", "Store number"), &mut s.store_code, issues, "store_code", "S001");
            field(
                ui,
                lang,
                lang.pick("英文门店名", "Store name (Latin)"),
                &mut s.name,
                issues,
                "name",
                "People's Square",
            );
            field(ui, lang, lang.pick("中文门店名", "Chinese name"), &mut s.name_zh, issues, "name_zh", "人民广场店");
            field(ui, lang, lang.pick("地址", "Address"), &mut s.address, issues, "address", "");
            field(ui, lang, lang.pick("联系人", "Contact"), &mut s.contact, issues, "contact", "");
        });
    }

    fn owner_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        if let Some(owner) = &self.owner {
            ui.label(format!("{}{owner}", lang.pick("店主账号已存在：", "The owner already exists: ")));
            ui.label(lang.pick("可在“设置 → 员工”中登录并添加员工。", "Sign in and add staff under Settings → Staff."));
            return;
        }
        ui.label(lang.pick(
            "店主拥有全部权限（退款、对账、员工、设置）。PIN 为 6 到 12 位数字，只保存其哈希值。",
            "The owner may do everything (refunds, reconciliation, staff, settings). The PIN is 6 to 12 digits; only \
             its hash is stored.",
        ));
        egui::Grid::new("first-run-owner").num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
            let row = |ui: &mut egui::Ui, label: &str, text: &mut String, password: bool| {
                let l = ui.label(label);
                ui.add(egui::TextEdit::singleline(text).password(password).desired_width(200.0)).labelled_by(l.id);
                ui.end_row();
            };
            row(ui, lang.pick("店主姓名", "Owner name"), &mut self.owner_name, false);
            row(ui, lang.pick("店主 PIN", "Owner PIN"), &mut self.owner_pin, true);
            row(ui, lang.pick("再次输入 PIN", "PIN again"), &mut self.owner_pin_again, true);
        });
        if self.owner_job.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(lang.pick("正在创建店主…", "Creating the owner…"));
            });
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn mode_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        ui.radio_value(
            &mut self.mode,
            ChannelMode::Sandbox,
            lang.pick(
                "在沙箱中开始（内置模拟网关，不会真实扣款）",
                "Start in sandbox (embedded gateways, no real money)",
            ),
        );
        ui.radio_value(&mut self.mode, ChannelMode::Live, lang.pick("连接正式收单机构", "Connect live acquirers"));
        ui.add_space(6.0);
        match self.mode {
            ChannelMode::Sandbox => {
                ui.label(lang.pick(
                    "沙箱随应用启动，可用测试付款码收款、退款和对账。以后可在“设置”中再次运行本向导改为正式。",
                    "The sandbox starts with the app: take payments with test codes, refund and reconcile. Run this \
                     wizard again from Settings to go live later.",
                ));
            }
            ChannelMode::Live => {
                ui.label(lang.pick(
                    "请填写收单机构提供的入驻服务地址；完成后在“收单机构”页面为门店入驻并绑定。",
                    "Enter the onboarding server your acquirer gave you; after Finish, onboard the store on the \
                     Acquirers screen.",
                ));
                ui.horizontal(|ui| {
                    let l = ui.label(lang.pick("入驻服务地址", "Onboarding server"));
                    ui.add(
                        egui::TextEdit::singleline(&mut self.onboarding_url)
                            .hint_text("https://onboarding.acquirer.example")
                            .desired_width(320.0),
                    )
                    .labelled_by(l.id);
                });
            }
        }
    }

    fn done_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        ui.label(lang.pick("设置已保存：", "Saved:"));
        egui::Grid::new("first-run-summary").num_columns(2).spacing([16.0, 4.0]).show(ui, |ui| {
            if let Some(m) = &self.merchant {
                ui.label(lang.pick("商户", "Merchant"));
                ui.label(format!("{} {}", m.display_name, m.display_name_zh));
                ui.end_row();
            }
            if let Some(s) = &self.store {
                ui.label(lang.pick("门店", "Store"));
                ui.label(format!("{} {} {}", s.store_code, s.name, s.name_zh));
                ui.end_row();
            }
            ui.label(lang.pick("店主", "Owner"));
            ui.label(self.owner.as_deref().unwrap_or(lang.pick("未创建", "not created")));
            ui.end_row();
            ui.label(lang.pick("模式", "Mode"));
            ui.label(match self.mode {
                ChannelMode::Sandbox => lang.pick("沙箱", "sandbox"),
                ChannelMode::Live => lang.pick("正式", "live"),
            });
            ui.end_row();
        });
    }

    /// Validates the current step and starts its save on the queue; true when there is nothing to save (move on
    /// now), false when it cannot be saved (the problem shown) or its save or a check is under way.
    fn save_step(&mut self, ctx: &mut Ctx) -> bool {
        let fix_red = || Text::new("请修正标红的字段", "Fix the fields marked in red");
        match self.step {
            Step::Language => {
                // Remember the language even when the merchant kept the one the OS suggested.
                ctx.set_language(ctx.lang);
                match ctx.error.take() {
                    Some(e) => {
                        self.problem = Some(e);
                        false
                    }
                    None => true,
                }
            }
            Step::Merchant => {
                let Some(m) = &self.merchant else { return true };
                self.merchant_issues = validate_merchant(m);
                if !self.merchant_issues.is_empty() {
                    self.problem = Some(fix_red());
                    return false;
                }
                // Unchanged (the wizard reopened, or Next pressed again): nothing to save or audit.
                if self.saved_merchant.as_ref() == Some(m) {
                    return true;
                }
                // The names go on every printed stand: checked against the fonts first, off the UI thread.
                if self.printable != merchant_names(m) && needs_font_check(&merchant_names(m)) {
                    self.names_check = Some(NameCheck::spawn(merchant_names(m), &ctx.queue));
                    return false;
                }
                let m = m.clone();
                self.saving = Some(ctx.queue.submit(move |q| {
                    // Saved (and audited) only when it differs from what is stored.
                    if q.store.setup().merchant_by_id(m.id)?.as_ref() != Some(&m) {
                        q.store.setup_mut().update_merchant(&m, None)?;
                    }
                    Ok(Saved::Merchant)
                }));
                false
            }
            Step::Store => {
                let Some(mut s) = self.store.clone() else {
                    // No store yet (cannot happen after `merchant()` made the demo one): start an empty form.
                    self.store = Some(Store {
                        id: StoreId(0),
                        merchant_id: self.merchant.as_ref().map_or(crate::model::MerchantId(1), |m| m.id),
                        store_code: String::new(),
                        name: String::new(),
                        name_zh: String::new(),
                        address: String::new(),
                        contact: String::new(),
                    });
                    return false;
                };
                let others = &self.stores;
                self.store_issues = validate_store(&s, others);
                if !self.store_issues.is_empty() {
                    self.problem = Some(fix_red());
                    return false;
                }
                if others.contains(&s) {
                    return true; // unchanged
                }
                if self.printable != store_names(&s) && needs_font_check(&store_names(&s)) {
                    self.names_check = Some(NameCheck::spawn(store_names(&s), &ctx.queue));
                    return false;
                }
                self.saving = Some(ctx.queue.submit(move |q| {
                    if s.id.0 == 0 {
                        s.id = q.store.setup_mut().add_store(&s, None)?;
                    } else {
                        q.store.setup_mut().update_store(&s, None)?;
                    }
                    Ok(Saved::Store(s, q.store.setup().stores()?))
                }));
                false
            }
            Step::Owner => {
                if self.owner.is_some() {
                    return true;
                }
                if self.owner_pin != self.owner_pin_again {
                    self.problem = Some(Text::new("两次输入的 PIN 不一致", "The two PINs differ"));
                    self.owner_pin_again.clear();
                    return false;
                }
                if let Err(e) = check_pin_format(&self.owner_pin, Role::Owner) {
                    self.problem = Some(Text::new(
                        crate::ui::staff::auth_words(Lang::ZhCn, &e),
                        crate::ui::staff::auth_words(Lang::En, &e),
                    ));
                    return false;
                }
                // Hashed off the UI thread; `poll_owner` moves on once it is done.
                let (name, pin) = (self.owner_name.clone(), std::mem::take(&mut self.owner_pin));
                self.owner_pin_again.clear();
                self.owner_job =
                    Some(ctx.queue.submit(move |s| s.store.staff_mut().add_operator(&name, Role::Owner, &pin, None)));
                false
            }
            Step::Mode => {
                if self.mode == ChannelMode::Live
                    && let Err(e) = CdsClient::new(&self.onboarding_url)
                {
                    self.problem = Some(Text::new(
                        crate::ui::words_setup::platform_error_words(&e, Lang::ZhCn),
                        crate::ui::words_setup::platform_error_words(&e, Lang::En),
                    ));
                    return false;
                }
                let (mode, url) = (self.mode, self.onboarding_url.trim().to_owned());
                self.saving = Some(ctx.queue.submit(move |q| {
                    if mode == ChannelMode::Live {
                        q.store.set_setting(SETTING_ONBOARDING_URL, &url, None)?;
                    }
                    q.store.set_setting(SETTING_MODE, mode.as_str(), None)?;
                    Ok(Saved::Mode)
                }));
                false
            }
            Step::Done => true,
        }
    }

    /// Picks up the name check: refuses names no font prints (naming the characters), or saves the step and moves on.
    fn poll_names(&mut self, ctx: &mut Ctx) {
        let Some(check) = &mut self.names_check else { return };
        let Some(refused) = check.poll() else { return };
        let names = check.names.clone();
        self.names_check = None;
        if refused.is_empty() {
            self.printable = names;
            if self.save_step(ctx) {
                self.step = self.step.next();
            }
            return;
        }
        let issues: Vec<FieldIssue> = refused.iter().map(|(field, chars)| unprintable_issue(field, chars)).collect();
        match self.step {
            Step::Merchant => self.merchant_issues = issues,
            Step::Store => self.store_issues = issues,
            _ => {}
        }
        self.problem = Some(Text::new("请修正标红的字段", "Fix the fields marked in red"));
    }

    /// Picks up the owner being created: signs them in and moves on, or shows why not.
    fn poll_owner(&mut self, ctx: &mut Ctx) {
        let Some(job) = self.owner_job.as_mut() else { return };
        let Some(answer) = job.poll() else { return };
        self.owner_job = None;
        match answer {
            Ok(Ok(op)) => {
                ctx.sign_in(Some(&op));
                self.owner = Some(op.name);
                if self.step == Step::Owner {
                    self.step = self.step.next();
                }
            }
            Ok(Err(e)) => {
                self.problem = Some(Text::new(
                    crate::ui::staff::add_words(Lang::ZhCn, &e),
                    crate::ui::staff::add_words(Lang::En, &e),
                ))
            }
            Err(crate::queue::QueueError::Open(e)) => self.problem = Some(store_error_text(&e)),
            Err(_) => {
                self.problem =
                    Some(Text::new("创建店主的后台任务意外结束，请重试", "creating the owner stopped; try again"))
            }
        }
    }

    fn finish(&mut self, ctx: &mut Ctx) {
        let outcome = Outcome::Completed { mode: self.mode };
        self.saving = Some(ctx.queue.submit(move |q| {
            config::set_first_run(&mut q.store, FirstRun::Completed)?;
            Ok(Saved::Ended(outcome))
        }));
    }

    /// Skipping keeps what was saved; a wizard finished before and reopened stays `completed`.
    fn skip(&mut self, ctx: &mut Ctx) {
        self.saving = Some(ctx.queue.submit(|q| {
            if q.store.setting(config::SETTING_FIRST_RUN)?.is_none() {
                config::set_first_run(&mut q.store, FirstRun::Skipped)?;
            }
            Ok(Saved::Ended(Outcome::Skipped))
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_install_has_the_demo_merchant_and_store_the_wizard_blanks() {
        let dir = tempfile::tempdir().unwrap();
        let queue = crate::queue::Queue::new(crate::queue::Core::new(&dir.path().join("t.sqlite3")), "test");
        let mut ticket = queue.submit(read);
        let loaded = loop {
            if let Some(answer) = ticket.poll() {
                break answer.unwrap().unwrap();
            }
            std::thread::yield_now();
        };
        assert_eq!(loaded.merchant.display_name, DEMO_MERCHANT_NAME);
        assert_eq!(loaded.stores[0].name, DEMO_STORE_NAME);
    }

    #[test]
    fn steps_go_forward_and_back_in_order() {
        assert_eq!(Step::Language.next(), Step::Merchant);
        assert_eq!(Step::Mode.next(), Step::Done);
        assert_eq!(Step::Done.next(), Step::Done);
        assert_eq!(Step::Language.back(), Step::Language);
        assert_eq!(Step::Owner.back(), Step::Store);
    }
}
