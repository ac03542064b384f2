//! 收单机构 Acquirers: the merchant profile and stores, the routing table (which acquirer takes which wallet at
//! which store), onboarding a store with an acquirer (with or without CDS),
//! binding a further acquirer to an existing code, and each store's bindings with every step and its time. The
//! screen reads and writes through the command queue; the onboarding jobs run on it with a connection of their own.

use std::path::PathBuf;

use crate::channel::cds::{CdsClient, IndexListing};
use crate::i18n::{Lang, Phrase, Text};
use crate::model::{AcquirerBinding, AcquirerId, BindingStatus, Store as StoreRow, StoreId};
use crate::onboarding::{self, Onboarder, OnboardingError, PollPolicy, Progress, Step, read_code_file};
use crate::queue::{Ticket, poll_slot};
use crate::store::StoreError;
use crate::store::onboarding::{BindingEvent, OnboardingAcquirer};
use crate::ui::Ctx;
use crate::ui::jobs::Job;
use crate::ui::merchant::MerchantPanel;
use crate::ui::path_field::{PathEvent, PathField, Pick, remember_folder};
use crate::ui::routes::RoutesPanel;
use crate::ui::words_setup::{code_name, status_words, step_name_words, step_words, store_error_text};

/// The acquirer names every screen uses (phrased from the kind: the stored names are English, for the CLI).
pub use crate::ui::words_setup::{acquirer_name, onboarding_acquirer_name};

/// What a finished onboarding job reports.
#[derive(Debug, Clone)]
pub struct Finished {
    pub message: Text,
    /// After a binding: every acquirer the code now reaches.
    pub listing: Option<IndexListing>,
}

type JobResult = Result<Finished, Text>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Direct,
    WithCds,
    Bind,
    Refresh,
}

/// The picture of an existing code to bind: a PNG/JPEG (or a text file with the payload).
pub(crate) fn code_picture_field() -> PathField {
    PathField::new(Pick::Open, "PNG / JPEG", &["png", "jpg", "jpeg", "txt"])
}

pub struct AcquirersScreen {
    loaded: bool,
    panel: MerchantPanel,
    stores: Vec<StoreRow>,
    acquirers: Vec<OnboardingAcquirer>,
    selected_store: Option<StoreId>,
    selected_acquirer: Option<AcquirerId>,
    bindings: Vec<AcquirerBinding>,
    /// Each binding's steps (in the order of `bindings`).
    binding_steps: Vec<Result<Vec<BindingEvent>, StoreError>>,
    /// The onboarding server set for live mode (setting `onboarding.url`).
    onboarding_url: Option<String>,
    reading: Option<Ticket<Result<Snapshot, StoreError>>>,
    /// The existing code: a picture's path, or its payload pasted.
    code_file: PathField,
    code_payload: String,
    code_problem: Option<Text>,
    job: Option<Job<JobResult>>,
    /// What the running job does.
    job_title: Text,
    result: Option<JobResult>,
    routes: RoutesPanel,
}

impl Default for AcquirersScreen {
    fn default() -> Self {
        AcquirersScreen {
            loaded: false,
            panel: MerchantPanel::default(),
            stores: Vec::new(),
            acquirers: Vec::new(),
            selected_store: None,
            selected_acquirer: None,
            bindings: Vec::new(),
            binding_steps: Vec::new(),
            onboarding_url: None,
            reading: None,
            code_file: code_picture_field(),
            code_payload: String::new(),
            code_problem: None,
            job: None,
            job_title: Text::same(""),
            result: None,
            routes: RoutesPanel::default(),
        }
    }
}

impl std::fmt::Debug for AcquirersScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquirersScreen").field("selected_store", &self.selected_store).finish_non_exhaustive()
    }
}

/// A binding's status in words (a failure with the acquirer's own reason).
pub fn status_label(lang: Lang, b: &AcquirerBinding) -> String {
    match b.status {
        BindingStatus::Failed => format!(
            "{}{}",
            lang.pick("失败：", "failed: "),
            b.failure_reason.as_deref().unwrap_or(lang.pick("原因未知", "no reason given"))
        ),
        other => status_words(other, lang).to_owned(),
    }
}

/// Setting: the onboarding/CDS server to use in live mode (in sandbox mode it is always the embedded sandbox).
pub const SETTING_ONBOARDING_URL: &str = "onboarding.url";

/// Where the onboarding/CDS API lives: the embedded sandbox in sandbox mode, else `configured` (the setting
/// [`SETTING_ONBOARDING_URL`], read on the queue with the screen's data). (An acquirer's `gateway_url` is its
/// payment gateway, not its onboarding API, so it is not used here.)
pub fn platform_url(ctx: &Ctx, configured: Option<&str>) -> Result<String, Text> {
    match ctx.mode {
        crate::model::ChannelMode::Sandbox => ctx.sandbox_url().ok_or_else(|| {
            Text::new("沙箱尚未启动，请稍候再试", "the sandbox is not running yet; try again in a moment")
        }),
        crate::model::ChannelMode::Live => match configured {
            Some(url) if !url.trim().is_empty() => Ok(url.to_owned()),
            _ => Err(Text::new(
                "正式模式下尚未设置入驻服务地址（设置项 onboarding.url）",
                "no onboarding server is set for live mode (setting onboarding.url)",
            )),
        },
    }
}

/// What the screen reads on the queue: the acquirers (the sandbox's made if need be), the stores (a default one
/// made when there is none), the selected store's bindings with their steps, and the live onboarding server.
#[derive(Debug)]
struct Snapshot {
    acquirers: Vec<OnboardingAcquirer>,
    stores: Vec<StoreRow>,
    selected: Option<StoreId>,
    bindings: Vec<AcquirerBinding>,
    binding_steps: Vec<Result<Vec<BindingEvent>, StoreError>>,
    onboarding_url: Option<String>,
}

fn snapshot(q: &mut crate::queue::CoreSession, selected: Option<StoreId>) -> Result<Snapshot, StoreError> {
    let acquirers = onboarding::ensure_sandbox_acquirers(&mut q.store)?;
    q.store.setup_mut().default_store()?;
    let stores = q.store.setup().stores()?;
    let selected = selected.filter(|id| stores.iter().any(|s| s.id == *id)).or_else(|| stores.first().map(|s| s.id));
    let bindings = match selected {
        Some(id) => q.store.setup().bindings_for_store(id)?,
        None => Vec::new(),
    };
    let binding_steps = bindings.iter().map(|b| q.store.setup().binding_events(b.id)).collect();
    let onboarding_url = q.store.setting(SETTING_ONBOARDING_URL)?;
    Ok(Snapshot { acquirers, stores, selected, bindings, binding_steps, onboarding_url })
}

/// Draws a running job in the UI's language: its title, a spinner, the elapsed time, the steps so far (phrased
/// from their kinds) and a Cancel button. Returns true when Cancel was clicked.
pub(crate) fn show_job<T>(
    ui: &mut egui::Ui,
    lang: Lang,
    title: &Text,
    job: &Job<T>,
    known: &[OnboardingAcquirer],
) -> bool {
    let mut cancel = false;
    ui.horizontal_wrapped(|ui| {
        ui.spinner();
        ui.label(format!("{} ({} s)", title.get(lang), job.started.elapsed().as_secs()));
        let label = if job.cancel.is_cancelled() {
            lang.pick("正在取消…", "Cancelling…")
        } else {
            lang.pick("取消", "Cancel")
        };
        if ui.add_enabled(!job.cancel.is_cancelled(), egui::Button::new(label)).clicked() {
            cancel = true;
        }
    });
    ui.add(egui::ProgressBar::new(((job.steps().len() as f32) / 6.0).min(0.95)).animate(true));
    for p in job.steps() {
        ui.add(egui::Label::new(format!("· {}", progress_words(p, known, lang))).wrap());
    }
    ui.ctx().request_repaint_after(std::time::Duration::from_millis(250));
    cancel
}

fn progress_words(p: &Progress, known: &[OnboardingAcquirer], lang: Lang) -> String {
    format!("{}  {}", step_name_words(p.step, lang), step_words(&p.event, known, lang))
}

/// An onboarding error in both languages (to keep on screen).
fn error_text(e: &OnboardingError) -> Text {
    e.text()
}

impl AcquirersScreen {
    /// Reads the merchant, stores and bindings again (the first-run wizard changed them).
    pub fn invalidate(&mut self, ctx: &mut Ctx) {
        self.loaded = false;
        self.panel.reload(ctx);
    }

    /// Reads the routing table again on the next frame (the screen was opened again).
    pub fn invalidate_routes(&mut self) {
        self.routes.reopen();
    }

    /// Reads the acquirers, stores and bindings again, on the queue.
    fn reload(&mut self, ctx: &mut Ctx) {
        self.loaded = true;
        let selected = self.selected_store;
        self.reading = Some(ctx.queue.submit(move |q| snapshot(q, selected)));
    }

    /// Takes the snapshot when it came.
    fn poll(&mut self, ctx: &mut Ctx) {
        match poll_slot(&mut self.reading) {
            Some(Ok(Ok(read))) => {
                self.acquirers = read.acquirers;
                self.stores = read.stores;
                self.selected_store = read.selected;
                self.bindings = read.bindings;
                self.binding_steps = read.binding_steps;
                self.onboarding_url = read.onboarding_url;
                if self.selected_acquirer.is_none() {
                    self.selected_acquirer = self.acquirers.first().map(|a| a.acquirer.id);
                }
                // The routing table is built from these stores and acquirers: read again with them.
                self.routes.invalidate();
            }
            Some(Ok(Err(e))) => ctx.error = Some(store_error_text(&e)),
            Some(Err(e)) => ctx.error = Some(e.text()),
            None => {}
        }
    }

    /// The acquirer's name in the UI's language, by its id.
    fn name_of(&self, id: AcquirerId, lang: Lang) -> String {
        self.acquirers
            .iter()
            .find(|a| a.acquirer.id == id)
            .map(|a| onboarding_acquirer_name(a, lang))
            .unwrap_or_else(|| id.to_string())
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if !self.loaded {
            self.reload(ctx);
        }
        self.poll(ctx);
        self.take_dropped_file(ui);
        if let Some(job) = self.job.as_mut()
            && let Some(result) = job.poll()
        {
            self.result = Some(result);
            self.job = None;
            self.reload(ctx);
        }

        // Vertical scrolling, and horizontal when a table is wider than a 1024-pixel window.
        egui::ScrollArea::both().id_salt("acquirers-screen").auto_shrink([false, false]).show(ui, |ui| {
            // At 1920×1080 the forms keep a readable width, centred; at 1024×600 they take the whole width.
            crate::ui::words_setup::centred(ui, 1100.0, |ui| {
                egui::CollapsingHeader::new(lang.pick("商户与门店资料", "Merchant profile and stores"))
                    .default_open(false)
                    .show(ui, |ui| {
                        if self.panel.ui(ui, ctx) {
                            self.reload(ctx);
                        }
                    });
                // Each section in a scope of its own: what the queue brings in one (a longer routing table) does
                // not change the ids of the widgets in the next.
                ui.separator();
                ui.push_id("routes", |ui| self.routes.ui(ui, ctx, &self.stores, &self.acquirers));
                ui.separator();
                ui.push_id("onboarding", |ui| self.onboarding_section(ui, ctx));
                ui.separator();
                ui.push_id("bindings", |ui| self.bindings_section(ui, ctx));
            });
        });
    }

    fn onboarding_section(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        ui.horizontal_wrapped(|ui| {
            ui.label(egui::RichText::new(lang.pick("门店：", "Store: ")).strong());
            for s in &self.stores {
                let label = crate::ui::this_till::store_label(lang, s);
                if ui.selectable_label(self.selected_store == Some(s.id), label).clicked() {
                    self.selected_store = Some(s.id);
                    self.loaded = false;
                }
            }
        });
        ui.horizontal_wrapped(|ui| {
            ui.label(egui::RichText::new(lang.pick("收单机构：", "Acquirer: ")).strong());
            for a in &self.acquirers {
                let label = format!("{} · {}", a.onboarding_code, onboarding_acquirer_name(a, lang));
                if ui.selectable_label(self.selected_acquirer == Some(a.acquirer.id), label).clicked() {
                    self.selected_acquirer = Some(a.acquirer.id);
                }
            }
        });
        ui.add_space(4.0);
        let busy = self.job.is_some();
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(!busy, egui::Button::new(lang.pick("入驻（不使用 CDS）", "Onboard without CDS")))
                .clicked()
            {
                self.start(ctx, Action::Direct);
            }
            if ui.add_enabled(!busy, egui::Button::new(lang.pick("入驻并注册 CDS", "Onboard with CDS"))).clicked()
            {
                self.start(ctx, Action::WithCds);
            }
            if ui.add_enabled(!busy, egui::Button::new(lang.pick("刷新审核状态", "Refresh status"))).clicked() {
                self.start(ctx, Action::Refresh);
            }
        });

        ui.add_space(6.0);
        ui.label(egui::RichText::new(lang.pick("绑定到已有店铺码", "Bind to an existing store code")).strong());
        ui.add(
            egui::Label::new(lang.pick(
                "打开店铺码图片（PNG/JPEG，可拖放到窗口），或粘贴码内容：",
                "Open the code's picture (PNG/JPEG, or drop it on the window), or paste its payload:",
            ))
            .wrap(),
        );
        if let Some(PathEvent::Chosen(path)) = self.code_file.show(ui, ctx, lang.pick("图片文件", "Picture file")) {
            remember_folder(ctx, &path);
            self.code_payload.clear();
        }
        ui.horizontal_wrapped(|ui| {
            let label = ui.label(lang.pick("码内容", "Payload"));
            ui.add(
                egui::TextEdit::multiline(&mut self.code_payload)
                    .desired_rows(2)
                    .desired_width(ui.available_width().clamp(200.0, 480.0))
                    .hint_text("HTTPS://…/MPM/3/…  /  000201…"),
            )
            .labelled_by(label.id);
        });
        if ui
            .add_enabled(!busy, egui::Button::new(lang.pick("绑定此收单机构到该码", "Bind this acquirer to the code")))
            .clicked()
        {
            self.start(ctx, Action::Bind);
        }
        if let Some(p) = &self.code_problem {
            ui.colored_label(ui.visuals().error_fg_color, p.get(lang));
        }

        ui.add_space(6.0);
        if let Some(job) = &self.job
            && show_job(ui, lang, &self.job_title, job, &self.acquirers)
        {
            job.cancel.cancel();
        }
        match &self.result {
            Some(Ok(done)) => {
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(done.message.get(lang)).color(egui::Color32::from_rgb(0, 140, 60)),
                    )
                    .wrap(),
                );
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
                            code_name(&a.acquirer_code, &self.acquirers, lang),
                            a.acquirer_code,
                            lang.pick("商户号", "merchant"),
                            a.merchant_id
                        ));
                    }
                }
            }
            Some(Err(e)) => {
                ui.add(egui::Label::new(egui::RichText::new(e.get(lang)).color(ui.visuals().error_fg_color)).wrap());
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
                ui.label(self.name_of(b.acquirer_id, lang));
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
        for (b, steps) in self.bindings.iter().zip(&self.binding_steps) {
            let code = self
                .acquirers
                .iter()
                .find(|a| a.acquirer.id == b.acquirer_id)
                .map(|a| a.onboarding_code.clone())
                .unwrap_or_default();
            egui::CollapsingHeader::new(format!("{} {code}", lang.pick("步骤记录", "Steps")))
                .id_salt(("binding-steps", b.id.0))
                .show(ui, |ui| match steps {
                    Ok(events) => {
                        for e in events {
                            let step = Step::from_stored(&e.detail);
                            let e = &e;
                            ui.add(
                                egui::Label::new(format!(
                                    "{}  {}  {}",
                                    crate::time::to_china_display(&e.at),
                                    step_name_words(&e.step, lang),
                                    step_words(&step, &self.acquirers, lang)
                                ))
                                .wrap(),
                            );
                        }
                    }
                    Err(e) => {
                        ui.colored_label(ui.visuals().error_fg_color, store_error_text(e).get(lang));
                    }
                });
        }
    }

    /// Drag and drop: a dropped picture becomes the code to bind.
    fn take_dropped_file(&mut self, ui: &egui::Ui) {
        if let Some(path) = crate::ui::jobs::dropped_path(ui) {
            self.code_file.text = path.display().to_string();
            self.code_payload.clear();
        }
    }

    /// The code to bind: the pasted payload wins, else the picture file (read and decoded by the job, off the UI
    /// thread: a phone photo takes a while).
    fn code_text(&self) -> Result<CodeSource, Text> {
        if !self.code_payload.trim().is_empty() {
            return Ok(CodeSource::Payload(self.code_payload.trim().to_owned()));
        }
        if let Some(path) = self.code_file.path() {
            return Ok(CodeSource::File(path));
        }
        Err(Text::new(
            "请先打开店铺码图片（在“图片文件”框里输入路径，或点“浏览…”）或粘贴码内容",
            "Open the code's picture first (type its path in “Picture file” or click Browse…), or paste its payload",
        ))
    }

    fn start(&mut self, ctx: &mut Ctx, action: Action) {
        self.result = None;
        self.code_problem = None;
        let (Some(store_id), Some(acquirer_id)) = (self.selected_store, self.selected_acquirer) else {
            self.result = Some(Err(Text::new("请选择门店和收单机构", "Choose a store and an acquirer")));
            return;
        };
        let Some(acquirer) = self.acquirers.iter().find(|a| a.acquirer.id == acquirer_id).cloned() else {
            return;
        };
        let url = match platform_url(ctx, self.onboarding_url.as_deref()) {
            Ok(u) => u,
            Err(e) => {
                self.result = Some(Err(e));
                return;
            }
        };
        let code_text = if action == Action::Bind {
            match self.code_text() {
                Ok(t) => Some(t),
                Err(e) => {
                    self.code_problem = Some(e);
                    return;
                }
            }
        } else {
            None
        };
        if let Some(CodeSource::File(path)) = &code_text {
            remember_folder(ctx, path);
            self.code_file.clear_note();
        }
        let (zh, en) = match action {
            Action::Direct => ("正在入驻（不使用 CDS）", "Onboarding without CDS"),
            Action::WithCds => ("正在入驻并注册 CDS", "Onboarding with CDS"),
            Action::Bind => ("正在绑定到店铺码", "Binding to the code"),
            Action::Refresh => ("正在查询审核状态", "Checking the status"),
        };
        let name =
            Text::new(onboarding_acquirer_name(&acquirer, Lang::ZhCn), onboarding_acquirer_name(&acquirer, Lang::En));
        self.job_title = Text::new(format!("{zh} · {}", name.zh), format!("{en} · {}", name.en));
        let job = ctx.queue.start_with_store(move |mut db, reporter, cancel| async move {
            let client = CdsClient::new(&url).map_err(|e| error_text(&OnboardingError::Platform(e)))?;
            let progress = move |p| reporter.progress(p);
            let mut o =
                Onboarder { db: &mut db, client: &client, poll: PollPolicy::default(), cancel, progress: &progress };
            let done = match action {
                Action::Direct | Action::WithCds => {
                    let b = o.onboard(store_id, acquirer_id, action == Action::WithCds).await.map_err(|e| e.text())?;
                    let merchant = b.merchant_id_at_acquirer.unwrap_or_default();
                    let (mut zh, mut en) = (
                        format!("已入驻 {}：商户号 {merchant}", name.zh),
                        format!("Onboarded with {}: merchant id {merchant}", name.en),
                    );
                    if let Some(i) = b.cds_index {
                        zh.push_str(&format!(" · CDS 索引 {i}"));
                        en.push_str(&format!(" · CDS index {i}"));
                    }
                    Finished { message: Text::new(zh, en), listing: None }
                }
                Action::Bind => {
                    let text = match code_text {
                        Some(source) => source.read().await?,
                        None => String::new(),
                    };
                    let outcome = o.bind_code(store_id, acquirer_id, &text).await.map_err(|e| e.text())?;
                    Finished {
                        message: Text::new(
                            format!("已绑定到店铺码：{}", name.zh),
                            format!("Bound to the code: {}", name.en),
                        ),
                        listing: Some(outcome.listing),
                    }
                }
                Action::Refresh => {
                    let b = o.refresh(store_id, acquirer_id).await.map_err(|e| e.text())?;
                    Finished {
                        message: Text::new(
                            format!("{}：{}", name.zh, status_label(Lang::ZhCn, &b)),
                            format!("{}: {}", name.en, status_label(Lang::En, &b)),
                        ),
                        listing: None,
                    }
                }
            };
            Ok(done)
        });
        match job {
            Ok(j) => self.job = Some(Job::view(j, self.job_title.en.clone())),
            Err(e) => {
                let why = e.text();
                self.result = Some(Err(Text::new(
                    format!("{}，无法联系收单机构", why.zh),
                    format!("{}: the acquirers cannot be reached", why.en),
                )));
            }
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
    pub(crate) async fn read(self) -> Result<String, Text> {
        match self {
            CodeSource::Payload(text) => Ok(text),
            CodeSource::File(path) => {
                let shown = path.display().to_string();
                tokio::task::spawn_blocking(move || read_code_file(&path))
                    .await
                    .map_err(|e| {
                        tracing::warn!(error = %e, "reading the code's picture stopped");
                        Text::new(format!("无法读取文件 {shown}"), format!("could not read {shown}"))
                    })?
                    .map_err(|e| e.text())
            }
        }
    }
}
