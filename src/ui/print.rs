//! 打印店铺码 Print panel: choose a template, the stores (all or some) and a logo, look at the preview, then
//! "Save PDF…" or "Print…". Rendering runs on a background thread with a progress bar and a Cancel button.
//!
//! The panel is meant to sit in the Store codes screen; it reads the stores itself (`Store::printable_stores`) or
//! takes ready-made [`StandData`] from its host ([`PrintPanel::with_stands`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use crate::i18n::Lang;
use crate::mpm::ErrorCorrection;
use crate::print::readability::{self, ReadabilityError, mm, viewing_distance_mm};
use crate::print::{self, Logo, PrintError, RgbaPage, StandData, Template};
use crate::ui::Ctx;

/// The preview shows every module at least this many screen pixels wide, so the code on screen scans too (3 is the
/// least a phone reads from a screen; 4 leaves room for the display's own scaling).
pub const PREVIEW_MIN_SCREEN_PX_PER_MODULE: f32 = 4.0;
/// The preview is rendered with at least this many pixels a module, then scaled for display.
pub const PREVIEW_RENDER_PX_PER_MODULE: f32 = 6.0;

/// One store in the list.
#[derive(Debug)]
struct StoreEntry {
    label: String,
    selected: bool,
    /// What its stand shows, or why its code cannot be made.
    stand: Result<StandData, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobKind {
    Save,
    Print,
}

enum JobEvent {
    Progress(usize, usize),
    Finished(Result<String, PrintError>),
}

struct Job {
    kind: JobKind,
    rx: Receiver<JobEvent>,
    cancel: Arc<AtomicBool>,
    done: usize,
    total: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PreviewKey {
    template: Template,
    store_code: String,
    payload: String,
    logo_path: String,
}

struct Preview {
    key: PreviewKey,
    texture: egui::TextureHandle,
    size: egui::Vec2,
    /// The error correction the code is printed at, and its module size in the rendered pixels.
    ec: ErrorCorrection,
    module_px: f32,
}

impl Preview {
    /// Points per rendered pixel: fit into 340 × 420 points, but never so small that a module takes fewer than
    /// [`PREVIEW_MIN_SCREEN_PX_PER_MODULE`] screen pixels, so the code on screen scans.
    fn display_scale(&self, pixels_per_point: f32) -> f32 {
        let fit = (340.0 / self.size.x).min(420.0 / self.size.y);
        fit.max(preview_scale_for_scanning(self.module_px, pixels_per_point))
    }
}

/// What the preview thread sends back: the page, the code's level and its module size in the page's pixels.
type PreviewResult = Result<(RgbaPage, ErrorCorrection, f32), PrintError>;

/// The stores and settings a readability check was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CheckKey {
    template: Template,
    has_logo: bool,
    codes: Vec<(String, String)>,
}

/// Says why a store's code cannot be printed readably, in the UI's language.
pub fn unreadable_words(lang: Lang, store_code: &str, problem: &ReadabilityError) -> String {
    let words = |template: &Template, module_mm: &f32, minimum_mm: &f32, zh: &str, en: &str| {
        let (x, min) = (mm(*module_mm), mm(*minimum_mm));
        let cm = viewing_distance_mm(*template) / 10.0;
        match lang {
            Lang::ZhCn => format!(
                "门店 {store_code}：{}{zh}码点只有 {x} 毫米，小于手机在 {cm} 厘米外能识别的 {min} 毫米",
                template.label_zh()
            ),
            Lang::En => format!(
                "store {store_code}: {en} the {}: its modules would be {x} mm, below the {min} mm a phone reads from \
                 {cm} cm",
                template.label_en()
            ),
        }
    };
    match problem {
        ReadabilityError::LogoTooDense { template, module_mm, minimum_mm } => {
            let text = words(template, module_mm, minimum_mm, "加上标志后", "a logo does not fit on");
            format!(
                "{text}{}",
                lang.pick("。请去掉标志，或换更大的模板。", ". Remove the logo, or choose a bigger template.")
            )
        }
        ReadabilityError::TooDense { template, module_mm, minimum_mm } => {
            let text = words(template, module_mm, minimum_mm, "放不下这么长的码：", "the code is too long for");
            format!(
                "{text}{}",
                lang.pick(
                    "。请换更大的模板，或减少绑定的收单机构。",
                    ". Choose a bigger template, or bind fewer acquirers."
                )
            )
        }
        ReadabilityError::Qr(e) => format!("{} {store_code}: {e}", lang.pick("门店", "store")),
    }
}

/// A print error in the UI's language where the core gives a kind (unreadable codes), else its own words.
fn print_error_words(lang: Lang, e: &PrintError) -> String {
    match e {
        PrintError::Unreadable { store_code, problem } => unreadable_words(lang, store_code, problem),
        other => other.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DialogFor {
    Pdf,
    Logo,
}

pub struct PrintPanel {
    pub template: Template,
    /// Print every store (true) or only the ticked ones.
    pub all_stores: bool,
    pub logo_path: String,
    pub pdf_path: String,
    /// The printer (CUPS queue) to use; empty for the default printer.
    pub printer: String,
    /// The printing command on Linux and macOS ("lp"); tests point it at a stand-in.
    pub print_command: OsString,
    stores: Option<Vec<StoreEntry>>,
    load_error: Option<String>,
    preview: Option<Preview>,
    preview_job: Option<(PreviewKey, Receiver<PreviewResult>)>,
    preview_error: Option<PrintError>,
    /// The chosen stores checked for readability on this template (off the UI thread), and what the check found.
    check: Option<(CheckKey, Option<Receiver<Vec<PrintError>>>)>,
    refusals: Vec<PrintError>,
    job: Option<Job>,
    status: Option<Result<String, String>>,
    dialog: Option<(DialogFor, Receiver<Option<PathBuf>>)>,
}

impl Default for PrintPanel {
    fn default() -> Self {
        PrintPanel {
            template: Template::Tent,
            all_stores: true,
            logo_path: String::new(),
            pdf_path: String::new(),
            printer: String::new(),
            print_command: OsString::from("lp"),
            stores: None,
            load_error: None,
            preview: None,
            preview_job: None,
            preview_error: None,
            check: None,
            refusals: Vec::new(),
            job: None,
            status: None,
            dialog: None,
        }
    }
}

impl std::fmt::Debug for PrintPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintPanel")
            .field("template", &self.template)
            .field("all_stores", &self.all_stores)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl PrintPanel {
    /// A panel over stands its host made (the Store codes screen), instead of reading the database.
    pub fn with_stands(stands: Vec<StandData>) -> Self {
        let stores =
            stands.into_iter().map(|s| StoreEntry { label: entry_label(&s), selected: false, stand: Ok(s) }).collect();
        PrintPanel { stores: Some(stores), ..Default::default() }
    }

    /// Re-reads the stores on the next frame (after onboarding changed them).
    pub fn reload(&mut self) {
        self.stores = None;
    }

    /// The store code and template the preview currently shows.
    pub fn previewed(&self) -> Option<(Template, &str)> {
        self.preview.as_ref().map(|p| (p.key.template, p.key.store_code.as_str()))
    }

    /// Whether a save or print job is running.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    fn load_stores(&mut self, ctx: &Ctx) {
        if self.stores.is_some() {
            return;
        }
        match ctx.home.store.printable_stores() {
            Ok(rows) => {
                self.load_error = None;
                self.stores = Some(
                    rows.iter()
                        .map(|row| {
                            let stand = print::source::stand_for_store(&ctx.home.store, row).map_err(|e| e.to_string());
                            let label = match &stand {
                                Ok(s) => entry_label(s),
                                Err(_) => format!("{} {} {}", row.store.store_code, row.store.name_zh, row.store.name),
                            };
                            StoreEntry { label, selected: false, stand }
                        })
                        .collect(),
                );
            }
            Err(e) => self.load_error = Some(e.to_string()),
        }
    }

    /// The stands to print, or what stops it.
    fn chosen(&self, lang: Lang) -> Result<Vec<StandData>, String> {
        let stores = self.stores.as_deref().unwrap_or_default();
        let chosen: Vec<&StoreEntry> = stores.iter().filter(|e| self.all_stores || e.selected).collect();
        if chosen.is_empty() {
            return Err(PrintError::NoStores.to_string());
        }
        let mut stands = Vec::with_capacity(chosen.len());
        for entry in chosen {
            match &entry.stand {
                Ok(s) => stands.push(s.clone()),
                Err(e) => {
                    return Err(format!("{} {}: {e}", lang.pick("无法打印", "cannot print"), entry.label));
                }
            }
        }
        Ok(stands)
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.load_stores(ctx);
        self.poll(ui.ctx(), ctx);
        self.check_readability(ui.ctx(), lang);
        ui.heading(lang.pick("打印店铺码", "Print store codes"));
        if let Some(e) = &self.load_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
            return;
        }
        // The preview beside the controls when it fits, else below them (a dense code's preview is wide: its modules
        // keep 4 screen pixels).
        let preview_width = self.preview_width(ui.ctx().pixels_per_point());
        if 460.0 + 16.0 + preview_width <= ui.available_width() {
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.set_max_width(460.0);
                    self.controls(ui, ctx);
                });
                // Not a separator: in a horizontal layout it would stretch to the whole scroll area's height.
                ui.add_space(16.0);
                ui.vertical(|ui| self.preview_ui(ui, lang));
            });
        } else {
            ui.vertical(|ui| {
                ui.set_max_width(460.0);
                self.controls(ui, ctx);
            });
            ui.add_space(16.0);
            ui.vertical(|ui| self.preview_ui(ui, lang));
        }
    }

    fn controls(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let busy = self.job.is_some();
        ui.add_enabled_ui(!busy, |ui| {
            ui.label(lang.pick("模板", "Template"));
            ui.horizontal_wrapped(|ui| {
                for t in Template::ALL {
                    ui.radio_value(&mut self.template, t, lang.pick(t.label_zh(), t.label_en()));
                }
            });
            ui.add_space(6.0);
            let count = self.stores.as_ref().map_or(0, Vec::len);
            ui.label(lang.pick("门店", "Stores"));
            ui.horizontal(|ui| {
                ui.radio_value(
                    &mut self.all_stores,
                    true,
                    format!("{} ({count})", lang.pick("全部门店", "All stores")),
                );
                ui.radio_value(&mut self.all_stores, false, lang.pick("选择门店", "Selected stores"));
            });
            let all = self.all_stores;
            if let Some(stores) = &mut self.stores {
                if stores.is_empty() {
                    ui.label(lang.pick("还没有门店。", "No stores yet."));
                }
                egui::ScrollArea::vertical().max_height(160.0).id_salt("print-stores").show(ui, |ui| {
                    for entry in stores.iter_mut() {
                        ui.horizontal(|ui| {
                            if all {
                                ui.label(format!("• {}", entry.label));
                            } else {
                                ui.checkbox(&mut entry.selected, entry.label.as_str());
                            }
                            if let Err(e) = &entry.stand {
                                ui.colored_label(ui.visuals().error_fg_color, e);
                            }
                        });
                    }
                });
            }
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                let label = ui.label(lang.pick("标志（可选）", "Logo (optional)"));
                ui.add(egui::TextEdit::singleline(&mut self.logo_path).desired_width(220.0).hint_text("logo.png"))
                    .labelled_by(label.id);
                if ui.button(lang.pick("选择…", "Choose…")).clicked() {
                    self.dialog = Some((DialogFor::Logo, pick_logo()));
                }
                if !self.logo_path.is_empty() && ui.button(lang.pick("清除", "Clear")).clicked() {
                    self.logo_path.clear();
                }
            });
            if let Some(p) = self.preview.as_ref().filter(|p| p.key.logo_path == self.logo_path.trim()) {
                ui.small(format!(
                    "{}{}",
                    lang.pick("纠错等级：", "Error correction: "),
                    readability::level_label(p.ec)
                ));
            }
            ui.horizontal(|ui| {
                let label = ui.label(lang.pick("PDF 文件", "PDF file"));
                ui.add(
                    egui::TextEdit::singleline(&mut self.pdf_path).desired_width(220.0).hint_text("store-codes.pdf"),
                )
                .labelled_by(label.id);
                if ui.button(lang.pick("浏览…", "Browse…")).clicked() {
                    self.dialog = Some((DialogFor::Pdf, pick_pdf(&self.pdf_path)));
                }
            });
            ui.horizontal(|ui| {
                let label = ui.label(lang.pick("打印机（空 = 默认）", "Printer (empty = default)"));
                ui.add(egui::TextEdit::singleline(&mut self.printer).desired_width(160.0)).labelled_by(label.id);
            });
            ui.add_space(6.0);
            // Codes a phone could not read are refused here, before anything is saved or printed.
            for refused in &self.refusals {
                ui.colored_label(ui.visuals().error_fg_color, print_error_words(lang, refused));
            }
            ui.horizontal(|ui| {
                let readable = self.refusals.is_empty();
                if ui.add_enabled(readable, egui::Button::new(lang.pick("保存 PDF…", "Save PDF…"))).clicked() {
                    if self.pdf_path.trim().is_empty() {
                        self.dialog = Some((DialogFor::Pdf, pick_pdf("")));
                    } else {
                        self.start(JobKind::Save, ui.ctx(), ctx);
                    }
                }
                if ui.add_enabled(readable, egui::Button::new(lang.pick("打印…", "Print…"))).clicked() {
                    self.start(JobKind::Print, ui.ctx(), ctx);
                }
            });
        });
        if let Some(job) = &self.job {
            let fraction = if job.total == 0 { 0.0 } else { job.done as f32 / job.total as f32 };
            ui.horizontal(|ui| {
                ui.add(egui::ProgressBar::new(fraction).desired_width(300.0).text(format!(
                    "{} {} / {} {}",
                    match job.kind {
                        JobKind::Save => lang.pick("正在生成", "Rendering"),
                        JobKind::Print => lang.pick("正在打印", "Printing"),
                    },
                    job.done,
                    job.total,
                    lang.pick("页", "pages")
                )));
                if ui.button(lang.pick("取消", "Cancel")).clicked() {
                    job.cancel.store(true, Ordering::Relaxed);
                }
            });
        }
        match &self.status {
            Some(Ok(message)) => {
                ui.label(message);
            }
            Some(Err(message)) => {
                ui.colored_label(ui.visuals().error_fg_color, message);
            }
            None => {}
        }
    }

    /// How wide the preview is shown, in points (340 until there is one).
    fn preview_width(&self, pixels_per_point: f32) -> f32 {
        self.preview.as_ref().map_or(340.0, |p| (p.size.x * p.display_scale(pixels_per_point)).max(340.0))
    }

    /// Checks every chosen store on the chosen template (with or without the logo) on a thread of its own whenever
    /// the choice changes; the refusals show above Save PDF… and Print….
    fn check_readability(&mut self, egui_ctx: &egui::Context, lang: Lang) {
        let stands = self.chosen(lang).unwrap_or_default();
        let key = CheckKey {
            template: self.template,
            has_logo: !self.logo_path.trim().is_empty(),
            codes: stands.iter().map(|s| (s.store_code.clone(), s.payload.clone())).collect(),
        };
        if self.check.as_ref().is_some_and(|(k, _)| *k == key) {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let repaint = egui_ctx.clone();
        let (template, has_logo) = (key.template, key.has_logo);
        std::thread::spawn(move || {
            let _ = tx.send(readability::refusals(&stands, &[template], has_logo));
            repaint.request_repaint();
        });
        self.refusals.clear();
        self.check = Some((key, Some(rx)));
    }

    fn preview_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        // The preview keeps its place whether or not the picture is ready, so nothing below it jumps.
        ui.set_min_size(egui::vec2(340.0, 450.0));
        ui.label(lang.pick("预览", "Preview"));
        let first = self.chosen(lang).ok().and_then(|s| s.into_iter().next());
        let Some(stand) = first else {
            ui.label(lang.pick("请选择门店。", "Choose a store."));
            return;
        };
        let key = PreviewKey {
            template: self.template,
            store_code: stand.store_code.clone(),
            payload: stand.payload.clone(),
            logo_path: self.logo_path.trim().to_owned(),
        };
        let current = self.preview.as_ref().is_some_and(|p| p.key == key);
        let pending = self.preview_job.as_ref().is_some_and(|(k, _)| *k == key);
        if !current && !pending {
            self.preview_error = None;
            self.preview_job =
                Some((key.clone(), render_preview(stand, key.template, key.logo_path.clone(), ui.ctx())));
        }
        if let Some(e) = &self.preview_error {
            ui.colored_label(ui.visuals().error_fg_color, print_error_words(lang, e));
        }
        if let Some(p) = &self.preview {
            let caption = format!(
                "{}{} · {}",
                lang.pick("预览：", "Preview: "),
                p.key.store_code,
                lang.pick(p.key.template.label_zh(), p.key.template.label_en())
            );
            let scale = p.display_scale(ui.ctx().pixels_per_point());
            ui.add(
                egui::Image::new(&p.texture)
                    .fit_to_exact_size(p.size * scale)
                    .alt_text(lang.pick("店铺码预览图", "Store code preview image")),
            );
            ui.small(caption);
        } else {
            ui.spinner();
        }
    }

    /// Picks up what the background work reported.
    fn poll(&mut self, egui_ctx: &egui::Context, ctx: &mut Ctx) {
        if let Some((purpose, rx)) = &self.dialog {
            match rx.try_recv() {
                Ok(picked) => {
                    let purpose = *purpose;
                    self.dialog = None;
                    if let Some(path) = picked {
                        match purpose {
                            DialogFor::Logo => self.logo_path = path.display().to_string(),
                            DialogFor::Pdf => {
                                let path = if path.extension().is_none() { path.with_extension("pdf") } else { path };
                                self.pdf_path = path.display().to_string();
                                self.start(JobKind::Save, egui_ctx, ctx);
                            }
                        }
                    }
                }
                Err(TryRecvError::Empty) => egui_ctx.request_repaint_after(std::time::Duration::from_millis(100)),
                Err(TryRecvError::Disconnected) => self.dialog = None,
            }
        }
        if let Some((key, Some(rx))) = &self.check {
            match rx.try_recv() {
                Ok(refusals) => {
                    self.refusals = refusals;
                    self.check = Some((key.clone(), None));
                }
                Err(TryRecvError::Empty) => egui_ctx.request_repaint_after(std::time::Duration::from_millis(50)),
                Err(TryRecvError::Disconnected) => self.check = Some((key.clone(), None)),
            }
        }
        if let Some((key, rx)) = &self.preview_job {
            match rx.try_recv() {
                Ok(Ok((page, ec, module_px))) => {
                    let image = egui::ColorImage::from_rgba_unmultiplied(
                        [page.width as usize, page.height as usize],
                        &page.pixels,
                    );
                    let texture = egui_ctx.load_texture("print-preview", image, egui::TextureOptions::LINEAR);
                    let size = egui::vec2(page.width as f32, page.height as f32);
                    self.preview = Some(Preview { key: key.clone(), texture, size, ec, module_px });
                    self.preview_job = None;
                }
                Ok(Err(e)) => {
                    self.preview_error = Some(e);
                    self.preview = None;
                    // Keep the key so the same failing preview is not retried every frame.
                    if let Some((_, rx)) = &mut self.preview_job {
                        *rx = mpsc::channel().1;
                    }
                }
                Err(TryRecvError::Empty) => egui_ctx.request_repaint_after(std::time::Duration::from_millis(50)),
                Err(TryRecvError::Disconnected) => {}
            }
        }
        if let Some(job) = &mut self.job {
            loop {
                match job.rx.try_recv() {
                    Ok(JobEvent::Progress(done, total)) => {
                        job.done = done;
                        job.total = total;
                    }
                    Ok(JobEvent::Finished(result)) => {
                        self.status = Some(result.map_err(|e| print_error_words(ctx.lang, &e)));
                        self.job = None;
                        break;
                    }
                    Err(TryRecvError::Empty) => {
                        egui_ctx.request_repaint_after(std::time::Duration::from_millis(50));
                        break;
                    }
                    Err(TryRecvError::Disconnected) => {
                        self.status =
                            Some(Err(ctx.lang.pick("打印任务意外结束", "the print job ended unexpectedly").into()));
                        self.job = None;
                        break;
                    }
                }
            }
        }
    }

    fn start(&mut self, kind: JobKind, egui_ctx: &egui::Context, ctx: &Ctx) {
        let lang = ctx.lang;
        let stands = match self.chosen(lang) {
            Ok(s) => s,
            Err(e) => {
                self.status = Some(Err(e));
                return;
            }
        };
        let target = match kind {
            JobKind::Save => PathBuf::from(self.pdf_path.trim()),
            JobKind::Print => ctx.home.dir.join("print").join("tilldesk-store-codes.pdf"),
        };
        let template = self.template;
        let logo_path = self.logo_path.trim().to_owned();
        let printer = self.printer.trim().to_owned();
        let print_command = self.print_command.clone();
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let total = stands.len();
        self.status = None;
        self.job = Some(Job { kind, rx, cancel: cancel.clone(), done: 0, total });
        let repaint = egui_ctx.clone();
        std::thread::spawn(move || {
            let result = (|| -> Result<String, PrintError> {
                // Every code readable by a phone, or nothing is rendered, saved or printed.
                if let Some(refused) =
                    readability::refusals(&stands, &[template], !logo_path.is_empty()).into_iter().next()
                {
                    return Err(refused);
                }
                let logo = if logo_path.is_empty() { None } else { Some(Logo::load(Path::new(&logo_path))?) };
                let progress_tx = tx.clone();
                let progress_repaint = repaint.clone();
                if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| PrintError::Write { path: dir.to_owned(), source })?;
                }
                let bytes = print::save_pdf(
                    &target,
                    &stands,
                    &[template],
                    logo.as_ref(),
                    &mut |done, total| {
                        let _ = progress_tx.send(JobEvent::Progress(done, total));
                        progress_repaint.request_repaint();
                    },
                    &cancel,
                )?;
                let pages = stands.len();
                match kind {
                    JobKind::Save => Ok(format!(
                        "{} {pages} {} → {} ({} KB)",
                        lang.pick("已保存", "Saved"),
                        lang.pick("页", if pages == 1 { "page" } else { "pages" }),
                        target.display(),
                        bytes.div_ceil(1024)
                    )),
                    JobKind::Print => {
                        let printer = (!printer.is_empty()).then_some(printer.as_str());
                        let submitted = if cfg!(windows) {
                            print::printer::print_pdf(&target, printer)?
                        } else {
                            print::printer::print_with_lp(&print_command, &target, printer)?
                        };
                        Ok(format!(
                            "{} {pages} {}: {}",
                            lang.pick("已发送", "Sent"),
                            lang.pick("页到打印机", "pages to the printer"),
                            submitted.message
                        ))
                    }
                }
            })();
            let _ = tx.send(JobEvent::Finished(result));
            repaint.request_repaint();
        });
    }
}

fn entry_label(s: &StandData) -> String {
    let mut label = s.store_code.clone();
    for part in [&s.name_zh, &s.name_latin] {
        if !part.is_empty() {
            label.push(' ');
            label.push_str(part);
        }
    }
    label
}

/// The resolution the preview is rendered at: about 640 pixels tall, and at least
/// [`PREVIEW_RENDER_PX_PER_MODULE`] pixels a module (a 72 dpi sticker would give a dense code 1.3 pixels a module,
/// which no phone reads from the screen).
pub fn preview_dpi(template: Template, module_mm: f32) -> u32 {
    let (_, h) = template.size_mm();
    let tall = 640.0 / (h / 25.4);
    let sharp = PREVIEW_RENDER_PX_PER_MODULE * 25.4 / module_mm.max(0.01);
    (tall.max(sharp).ceil() as u32).clamp(20, 600)
}

/// The least display scale (points per rendered pixel) at which a module of `module_px` rendered pixels takes
/// [`PREVIEW_MIN_SCREEN_PX_PER_MODULE`] screen pixels.
pub fn preview_scale_for_scanning(module_px: f32, pixels_per_point: f32) -> f32 {
    PREVIEW_MIN_SCREEN_PX_PER_MODULE / (module_px.max(0.01) * pixels_per_point.max(0.1))
}

/// Renders the preview on its own thread, sharp enough that the code on screen scans ([`preview_dpi`]).
fn render_preview(
    stand: StandData,
    template: Template,
    logo_path: String,
    egui_ctx: &egui::Context,
) -> Receiver<PreviewResult> {
    let (tx, rx) = mpsc::channel();
    let repaint = egui_ctx.clone();
    std::thread::spawn(move || {
        let result = (|| {
            let logo = if logo_path.is_empty() { None } else { Some(Logo::load(Path::new(&logo_path))?) };
            let plan = readability::plan_for(&stand, template, logo.is_some())?;
            let dpi = preview_dpi(template, plan.module_mm);
            let page = print::render_rgba(&stand, template, logo.as_ref(), dpi)?;
            Ok((page, plan.ec, plan.module_mm / 25.4 * dpi as f32))
        })();
        let _ = tx.send(result);
        repaint.request_repaint();
    });
    rx
}

/// The native "save as" dialog for the PDF, on its own thread.
fn pick_pdf(current: &str) -> Receiver<Option<PathBuf>> {
    let current = PathBuf::from(current.trim());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut dialog = rfd::FileDialog::new().add_filter("PDF", &["pdf"]).set_title("保存 PDF Save PDF");
        dialog = match (current.parent(), current.file_name()) {
            (Some(dir), Some(name)) if !dir.as_os_str().is_empty() => {
                dialog.set_directory(dir).set_file_name(name.to_string_lossy())
            }
            _ => dialog.set_file_name("store-codes.pdf"),
        };
        let _ = tx.send(dialog.save_file());
    });
    rx
}

/// The native "open" dialog for a logo (PNG or JPEG), on its own thread.
fn pick_logo() -> Receiver<Option<PathBuf>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let picked =
            rfd::FileDialog::new().add_filter("PNG / JPEG", &["png", "jpg", "jpeg"]).set_title("标志 Logo").pick_file();
        let _ = tx.send(picked);
    });
    rx
}
