//! 收单机构 Acquirers: the merchant profile and stores, the routing table (which acquirer takes which wallet at
//! which store), onboarding a store with an acquirer (with or without CDS),
//! binding a further acquirer to an existing code, and each store's bindings with every step and its time.

use std::path::PathBuf;
use std::sync::mpsc;

use crate::channel::cds::{CdsClient, IndexListing};
use crate::i18n::Lang;
use crate::model::{AcquirerBinding, AcquirerId, BindingStatus, Store as StoreRow, StoreId};
use crate::onboarding::{self, Onboarder, PollPolicy, read_code_file};
use crate::store::Store;
use crate::store::onboarding::OnboardingAcquirer;
use crate::ui::Ctx;
use crate::ui::jobs::{Job, show_running, step_label};
use crate::ui::merchant::MerchantPanel;
use crate::ui::routes::RoutesPanel;

/// What a finished onboarding job reports.
#[derive(Debug, Clone)]
pub struct Finished {
    pub message: String,
    /// After a binding: every acquirer the code now reaches.
    pub listing: Option<IndexListing>,
}

type JobResult = Result<Finished, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Direct,
    WithCds,
    Bind,
    Refresh,
}

#[derive(Default)]
pub struct AcquirersScreen {
    loaded: bool,
    panel: MerchantPanel,
    stores: Vec<StoreRow>,
    acquirers: Vec<OnboardingAcquirer>,
    selected_store: Option<StoreId>,
    selected_acquirer: Option<AcquirerId>,
    bindings: Vec<AcquirerBinding>,
    /// The existing code: a picture's path, or its payload pasted.
    code_path: String,
    code_payload: String,
    code_problem: Option<String>,
    job: Option<Job<JobResult>>,
    result: Option<JobResult>,
    dialog: Option<mpsc::Receiver<Option<PathBuf>>>,
    routes: RoutesPanel,
}

impl std::fmt::Debug for AcquirersScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquirersScreen").field("selected_store", &self.selected_store).finish_non_exhaustive()
    }
}

/// A binding's status in words.
pub fn status_label(lang: Lang, b: &AcquirerBinding) -> String {
    match b.status {
        BindingStatus::PendingVerification => lang.pick("待审核", "pending verification").to_owned(),
        BindingStatus::Active => lang.pick("已生效", "active").to_owned(),
        BindingStatus::Failed => format!(
            "{}{}",
            lang.pick("失败：", "failed: "),
            b.failure_reason.as_deref().unwrap_or(lang.pick("原因未知", "no reason given"))
        ),
    }
}

/// Setting: the onboarding/CDS server to use in live mode (in sandbox mode it is always the embedded sandbox).
pub const SETTING_ONBOARDING_URL: &str = "onboarding.url";

/// Where the onboarding/CDS API lives: the embedded sandbox in sandbox mode, else the configured server. (An
/// acquirer's `gateway_url` is its payment gateway, not its onboarding API, so it is not used here.)
pub fn platform_url(ctx: &Ctx) -> Result<String, String> {
    match ctx.mode {
        crate::model::ChannelMode::Sandbox => ctx.sandbox_url().ok_or_else(|| {
            ctx.lang
                .pick("沙箱尚未启动，请稍候再试", "the sandbox is not running yet; try again in a moment")
                .to_owned()
        }),
        crate::model::ChannelMode::Live => match ctx.home.store.setting(SETTING_ONBOARDING_URL) {
            Ok(Some(url)) if !url.trim().is_empty() => Ok(url),
            Ok(_) => Err(ctx
                .lang
                .pick(
                    "正式模式下尚未设置入驻服务地址（设置项 onboarding.url）",
                    "no onboarding server is set for live mode (setting onboarding.url)",
                )
                .to_owned()),
            Err(e) => Err(e.to_string()),
        },
    }
}

impl AcquirersScreen {
    /// Reads the merchant, stores and bindings again (the first-run wizard changed them).
    pub fn invalidate(&mut self, ctx: &mut Ctx) {
        self.loaded = false;
        self.panel.reload(ctx);
    }

    /// Reads the routing table again on the next frame (the screen was opened again).
    pub fn invalidate_routes(&mut self) {
        self.routes.invalidate();
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        self.loaded = true;
        self.routes.invalidate();
        match onboarding::ensure_sandbox_acquirers(&mut ctx.home.store) {
            Ok(a) => self.acquirers = a,
            Err(e) => ctx.error = Some(crate::i18n::Text::untranslated(e.to_string())),
        }
        if let Err(e) = ctx.home.store.default_store() {
            ctx.error = Some(crate::i18n::Text::untranslated(e.to_string()));
        }
        match ctx.home.store.stores() {
            Ok(s) => self.stores = s,
            Err(e) => ctx.error = Some(crate::i18n::Text::untranslated(e.to_string())),
        }
        if self.selected_store.is_none_or(|id| !self.stores.iter().any(|s| s.id == id)) {
            self.selected_store = self.stores.first().map(|s| s.id);
        }
        if self.selected_acquirer.is_none() {
            self.selected_acquirer = self.acquirers.first().map(|a| a.acquirer.id);
        }
        self.bindings = match self.selected_store {
            Some(id) => ctx.home.store.bindings_for_store(id).unwrap_or_else(|e| {
                ctx.error = Some(crate::i18n::Text::untranslated(e.to_string()));
                Vec::new()
            }),
            None => Vec::new(),
        };
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if !self.loaded {
            self.reload(ctx);
        }
        self.take_dropped_file(ui);
        if let Some(rx) = &self.dialog
            && let Ok(picked) = rx.try_recv()
        {
            if let Some(path) = picked {
                self.code_path = path.display().to_string();
            }
            self.dialog = None;
        }
        if let Some(job) = self.job.as_mut()
            && let Some(result) = job.poll()
        {
            self.result = Some(result);
            self.job = None;
            self.reload(ctx);
        }

        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            egui::CollapsingHeader::new(lang.pick("商户与门店资料", "Merchant profile and stores"))
                .default_open(false)
                .show(ui, |ui| {
                    if self.panel.ui(ui, ctx) {
                        self.reload(ctx);
                    }
                });
            ui.separator();
            self.routes.ui(ui, ctx, &self.stores, &self.acquirers);
            ui.separator();
            self.onboarding_section(ui, ctx);
            ui.separator();
            self.bindings_section(ui, ctx);
        });
    }

    fn onboarding_section(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        ui.horizontal_wrapped(|ui| {
            ui.label(egui::RichText::new(lang.pick("门店：", "Store: ")).strong());
            for s in &self.stores {
                let label = format!("{} {}", s.store_code, if s.name_zh.is_empty() { &s.name } else { &s.name_zh });
                if ui.selectable_label(self.selected_store == Some(s.id), label).clicked() {
                    self.selected_store = Some(s.id);
                    self.loaded = false;
                }
            }
        });
        ui.horizontal_wrapped(|ui| {
            ui.label(egui::RichText::new(lang.pick("收单机构：", "Acquirer: ")).strong());
            for a in &self.acquirers {
                let label = format!("{} · {}", a.onboarding_code, a.acquirer.name);
                if ui.selectable_label(self.selected_acquirer == Some(a.acquirer.id), label).clicked() {
                    self.selected_acquirer = Some(a.acquirer.id);
                }
            }
        });
        ui.add_space(4.0);
        let busy = self.job.is_some();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!busy, egui::Button::new(lang.pick("入驻（不使用 CDS）", "Onboard without CDS")))
                .clicked()
            {
                self.start(ui, ctx, Action::Direct);
            }
            if ui.add_enabled(!busy, egui::Button::new(lang.pick("入驻并注册 CDS", "Onboard with CDS"))).clicked()
            {
                self.start(ui, ctx, Action::WithCds);
            }
            if ui.add_enabled(!busy, egui::Button::new(lang.pick("刷新审核状态", "Refresh status"))).clicked() {
                self.start(ui, ctx, Action::Refresh);
            }
        });

        ui.add_space(6.0);
        ui.label(egui::RichText::new(lang.pick("绑定到已有店铺码", "Bind to an existing store code")).strong());
        ui.label(lang.pick(
            "打开店铺码图片（PNG/JPEG，可拖放到窗口），或粘贴码内容：",
            "Open the code's picture (PNG/JPEG, or drop it on the window), or paste its payload:",
        ));
        ui.horizontal(|ui| {
            let label = ui.label(lang.pick("图片文件", "Picture file"));
            ui.add(egui::TextEdit::singleline(&mut self.code_path).desired_width(360.0).hint_text("/path/to/code.png"))
                .labelled_by(label.id);
            if ui
                .add_enabled(self.dialog.is_none(), egui::Button::new(lang.pick("选择文件…", "Choose file…")))
                .clicked()
            {
                self.dialog = Some(pick_file());
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label(lang.pick("码内容", "Payload"));
            ui.add(
                egui::TextEdit::multiline(&mut self.code_payload)
                    .desired_rows(2)
                    .desired_width(480.0)
                    .hint_text("HTTPS://…/MPM/3/…  /  000201…"),
            )
            .labelled_by(label.id);
        });
        if ui
            .add_enabled(!busy, egui::Button::new(lang.pick("绑定此收单机构到该码", "Bind this acquirer to the code")))
            .clicked()
        {
            self.start(ui, ctx, Action::Bind);
        }
        if let Some(p) = &self.code_problem {
            ui.colored_label(ui.visuals().error_fg_color, p);
        }

        ui.add_space(6.0);
        if let Some(job) = &self.job
            && show_running(ui, lang, job)
        {
            job.cancel.cancel();
        }
        match &self.result {
            Some(Ok(done)) => {
                ui.colored_label(egui::Color32::from_rgb(0, 140, 60), &done.message);
                if let Some(listing) = &done.listing {
                    ui.label(format!(
                        "{}{} · {}",
                        lang.pick(
                            "同一张店铺码现在可到达以下收单机构 — CDS 索引 ",
                            "The same printed code now reaches — CDS index "
                        ),
                        listing.cds.cds_index,
                        listing.cds.platform_id
                    ));
                    for a in &listing.acquirers {
                        ui.label(format!(
                            "  → {} ({}) — {} {}",
                            a.name,
                            a.acquirer_code,
                            lang.pick("商户号", "merchant"),
                            a.merchant_id
                        ));
                    }
                }
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
    }

    fn bindings_section(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let store = self.stores.iter().find(|s| Some(s.id) == self.selected_store);
        ui.label(
            egui::RichText::new(format!(
                "{}{}",
                lang.pick("绑定情况 — 门店 ", "Bindings — store "),
                store.map(|s| s.store_code.as_str()).unwrap_or("—")
            ))
            .strong(),
        );
        if self.bindings.is_empty() {
            ui.label(lang.pick("尚未与任何收单机构绑定", "Not onboarded with any acquirer yet"));
            return;
        }
        egui::Grid::new("bindings").num_columns(4).striped(true).spacing([16.0, 4.0]).show(ui, |ui| {
            ui.strong(lang.pick("收单机构", "Acquirer"));
            ui.strong(lang.pick("状态", "Status"));
            ui.strong(lang.pick("商户号", "Merchant id"));
            ui.strong(lang.pick("CDS 索引", "CDS index"));
            ui.end_row();
            for b in &self.bindings {
                let name = self
                    .acquirers
                    .iter()
                    .find(|a| a.acquirer.id == b.acquirer_id)
                    .map(|a| a.acquirer.name.clone())
                    .unwrap_or_else(|| b.acquirer_id.to_string());
                ui.label(name);
                let status = status_label(lang, b);
                if b.status == BindingStatus::Failed {
                    ui.colored_label(ui.visuals().error_fg_color, status);
                } else {
                    ui.label(status);
                }
                ui.monospace(b.merchant_id_at_acquirer.as_deref().unwrap_or("—"));
                ui.monospace(match (&b.cds_platform_id, &b.cds_index) {
                    (Some(p), Some(i)) => format!("{i} @ {p}"),
                    _ => "—".into(),
                });
                ui.end_row();
            }
        });
        for b in &self.bindings {
            let name = self
                .acquirers
                .iter()
                .find(|a| a.acquirer.id == b.acquirer_id)
                .map(|a| a.onboarding_code.clone())
                .unwrap_or_default();
            egui::CollapsingHeader::new(format!("{} {name}", lang.pick("步骤记录", "Steps")))
                .id_salt(("binding-steps", b.id.0))
                .show(ui, |ui| match ctx.home.store.binding_events(b.id) {
                    Ok(events) => {
                        for e in events {
                            ui.label(format!(
                                "{}  {}  {}",
                                crate::time::to_local_display(&e.at),
                                step_label(lang, &e.step),
                                e.detail
                            ));
                        }
                    }
                    Err(e) => {
                        ui.colored_label(ui.visuals().error_fg_color, e.to_string());
                    }
                });
        }
    }

    /// Drag and drop: a dropped picture becomes the code to bind.
    fn take_dropped_file(&mut self, ui: &egui::Ui) {
        if let Some(path) = crate::ui::jobs::dropped_path(ui) {
            self.code_path = path.display().to_string();
            self.code_payload.clear();
        }
    }

    /// The code to bind: the pasted payload wins, else the picture file (read and decoded by the job, off the UI
    /// thread: a phone photo takes a while).
    fn code_text(&self, lang: Lang) -> Result<CodeSource, String> {
        if !self.code_payload.trim().is_empty() {
            return Ok(CodeSource::Payload(self.code_payload.trim().to_owned()));
        }
        if !self.code_path.trim().is_empty() {
            return Ok(CodeSource::File(PathBuf::from(self.code_path.trim())));
        }
        Err(lang
            .pick("请先打开店铺码图片或粘贴码内容", "Open the code's picture or paste its payload first")
            .to_owned())
    }

    fn start(&mut self, ui: &egui::Ui, ctx: &mut Ctx, action: Action) {
        let lang = ctx.lang;
        self.result = None;
        self.code_problem = None;
        let (Some(store_id), Some(acquirer_id)) = (self.selected_store, self.selected_acquirer) else {
            self.result = Some(Err(lang.pick("请选择门店和收单机构", "Choose a store and an acquirer").into()));
            return;
        };
        let Some(acquirer) = self.acquirers.iter().find(|a| a.acquirer.id == acquirer_id).cloned() else {
            return;
        };
        let url = match platform_url(ctx) {
            Ok(u) => u,
            Err(e) => {
                self.result = Some(Err(e));
                return;
            }
        };
        let code_text = if action == Action::Bind {
            match self.code_text(lang) {
                Ok(t) => Some(t),
                Err(e) => {
                    self.code_problem = Some(e);
                    return;
                }
            }
        } else {
            None
        };
        let db_path = ctx.home.store.path().to_owned();
        let title = match action {
            Action::Direct => lang.pick("正在入驻（不使用 CDS）", "Onboarding without CDS"),
            Action::WithCds => lang.pick("正在入驻并注册 CDS", "Onboarding with CDS"),
            Action::Bind => lang.pick("正在绑定到店铺码", "Binding to the code"),
            Action::Refresh => lang.pick("正在查询审核状态", "Checking the status"),
        };
        let title = format!("{title} · {}", acquirer.acquirer.name);
        let name = acquirer.acquirer.name.clone();
        let job = Job::spawn(ctx, ui.ctx(), title, move |reporter, cancel| async move {
            let client = CdsClient::new(&url).map_err(|e| e.to_string())?;
            let mut db = Store::open(&db_path).map_err(|e| e.to_string())?;
            let progress = move |p| reporter.progress(p);
            let mut o =
                Onboarder { db: &mut db, client: &client, poll: PollPolicy::default(), cancel, progress: &progress };
            let done = match action {
                Action::Direct | Action::WithCds => {
                    let b =
                        o.onboard(store_id, acquirer_id, action == Action::WithCds).await.map_err(|e| e.to_string())?;
                    let mut message = format!(
                        "{} {name}: {} {}",
                        lang.pick("已入驻", "Onboarded with"),
                        lang.pick("商户号", "merchant id"),
                        b.merchant_id_at_acquirer.unwrap_or_default()
                    );
                    if let Some(i) = b.cds_index {
                        message.push_str(&format!(" · {} {i}", lang.pick("CDS 索引", "CDS index")));
                    }
                    Finished { message, listing: None }
                }
                Action::Bind => {
                    let text = match code_text {
                        Some(source) => source.read().await?,
                        None => String::new(),
                    };
                    let outcome = o.bind_code(store_id, acquirer_id, &text).await.map_err(|e| e.to_string())?;
                    Finished {
                        message: format!("{} {name}", lang.pick("已绑定到店铺码：", "Bound to the code:")),
                        listing: Some(outcome.listing),
                    }
                }
                Action::Refresh => {
                    let b = o.refresh(store_id, acquirer_id).await.map_err(|e| e.to_string())?;
                    Finished { message: format!("{name}: {}", status_label(lang, &b)), listing: None }
                }
            };
            Ok(done)
        });
        match job {
            Ok(j) => self.job = Some(j),
            Err(e) => self.result = Some(Err(e)),
        }
    }
}

/// Where the code to bind or check comes from: pasted text, or a picture (or text) file.
pub(crate) enum CodeSource {
    Payload(String),
    File(PathBuf),
}

impl CodeSource {
    /// The code's payload; a file is read and its picture decoded on a blocking thread of the runtime.
    pub(crate) async fn read(self) -> Result<String, String> {
        match self {
            CodeSource::Payload(text) => Ok(text),
            CodeSource::File(path) => tokio::task::spawn_blocking(move || read_code_file(&path))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string()),
        }
    }
}

/// Opens the native "open file" dialog on its own thread; the answer arrives on the channel.
pub fn pick_file() -> mpsc::Receiver<Option<PathBuf>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let picked = rfd::FileDialog::new()
            .add_filter("QR code / 店铺码", &["png", "jpg", "jpeg", "txt"])
            .set_title("店铺码 Store code")
            .pick_file();
        let _ = tx.send(picked);
    });
    rx
}
