//! 打印店铺码 Print panel: choose a template, the stores (all or some) and a logo, look at the preview, then
//! "Save PDF…" or "Print…". Everything slow runs on the command queue: reading the stores, the readability check,
//! the preview, and rendering with a progress bar and a Cancel button ([`crate::queue::Queue::submit_job`]).
//!
//! The panel is meant to sit in the Store codes screen; it reads the stores itself (`Setup::printable_stores`, on the
//! queue) or takes ready-made [`StandData`] from its host ([`PrintPanel::with_stands`]).

use std::ffi::OsString;
use std::path::Path;

use crate::queue::{Ticket, poll_slot};

use crate::i18n::{Lang, Text};
use crate::mpm::ErrorCorrection;
use crate::print::readability::{self, ReadabilityError, mm, viewing_distance_mm};
use crate::print::{self, Logo, PrintError, RgbaPage, StandData, Template};
use crate::ui::Ctx;
use crate::ui::path_field::{PathEvent, PathField, Pick, remember_folder};
use crate::ui::words_setup::{code_error_words, default_save_dir, store_error_words};

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
    stand: Result<StandData, PrintError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobKind {
    Save,
    Print,
}

/// A save or print running on the queue: its progress steps are (pages done, pages in all).
struct Job {
    kind: JobKind,
    job: crate::queue::Job<Result<Text, PrintError>, (usize, usize)>,
    total: usize,
}

impl Job {
    /// Pages done and in all, as last reported.
    fn progress(&self) -> (usize, usize) {
        self.job.steps.last().copied().unwrap_or((0, self.total))
    }
}

/// A printable store as read on the queue: its label and what its stand shows (or why its code cannot be made).
type StoreRead = Result<Vec<(String, Result<StandData, PrintError>)>, crate::store::StoreError>;

/// What a preview was drawn from: everything the page shows (the code, the names, every acquirer's badge), so
/// that binding a further acquirer, which keeps a CDS code's payload, still draws the preview again.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PreviewKey {
    template: Template,
    store_code: String,
    payload: String,
    name_zh: String,
    name_latin: String,
    badges: Vec<String>,
    logo_path: String,
}

impl PreviewKey {
    fn new(template: Template, stand: &StandData, logo_path: &str) -> PreviewKey {
        PreviewKey {
            template,
            store_code: stand.store_code.clone(),
            payload: stand.payload.clone(),
            name_zh: stand.name_zh.clone(),
            name_latin: stand.name_latin.clone(),
            badges: stand.badges.clone(),
            logo_path: logo_path.trim().to_owned(),
        }
    }
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
        ReadabilityError::Qr(e) => match lang {
            Lang::ZhCn => format!("门店 {store_code}：{}", code_error_words(e, lang)),
            Lang::En => format!("store {store_code}: {e}"),
        },
    }
}

/// A print error in the UI's language.
pub fn print_error_words(lang: Lang, e: &PrintError) -> String {
    if lang == Lang::En {
        return match e {
            PrintError::Unreadable { store_code, problem } => unreadable_words(lang, store_code, problem),
            other => other.to_string(),
        };
    }
    match e {
        PrintError::Unreadable { store_code, problem } => unreadable_words(lang, store_code, problem),
        PrintError::UnknownTemplate { given } => format!("没有模板“{given}”：可选 tent、sticker、poster"),
        PrintError::MissingGlyphs { text, chars } => {
            format!(
                "本机没有字体能打印“{text}”中的“{chars}”：请安装中文字体（如 Noto Sans CJK、微软雅黑、苹方），或修改名称"
            )
        }
        PrintError::Qr { store_code, source } => {
            format!("无法生成门店 {store_code} 的码：{}", code_error_words(source, lang))
        }
        PrintError::Logo { path, .. } => format!("无法把 {} 用作标志：请选择 PNG 或 JPEG 图片", path.display()),
        PrintError::Resolution { dpi } => format!("{dpi} dpi 不是可用的分辨率"),
        PrintError::Png { .. } => "无法生成 PNG（详情见日志）".to_owned(),
        PrintError::Pdf { .. } => "无法生成 PDF（详情见日志）".to_owned(),
        PrintError::NoStores => "没有可打印的内容：请选择门店".to_owned(),
        PrintError::NoTemplate => "请选择模板".to_owned(),
        PrintError::Cancelled => "已取消，没有写入任何文件".to_owned(),
        PrintError::Write { path, source } => format!("无法写入 {}：{source}", path.display()),
        PrintError::NoPrintSystem { .. } => {
            "无法打印：这台电脑没有打印系统。请保存 PDF，再用 PDF 阅读器打印。".to_owned()
        }
        PrintError::NoPrinter { .. } => {
            "没有可用的打印机：请添加打印机（或设置默认打印机），或改为保存 PDF。".to_owned()
        }
        PrintError::PrintFailed { detail } => format!("打印机拒绝了任务：{detail}"),
        PrintError::Store(e) => store_error_words(e, lang),
        PrintError::Source { store_code, .. } => format!("无法生成门店 {store_code} 的码（详情见日志）"),
    }
}

/// A print error in both languages (to keep on screen).
pub fn print_error_text(e: &PrintError) -> Text {
    Text::new(print_error_words(Lang::ZhCn, e), print_error_words(Lang::En, e))
}

pub struct PrintPanel {
    pub template: Template,
    /// Print every store (true) or only the ticked ones.
    pub all_stores: bool,
    /// The logo (a PNG or JPEG to open) and the PDF (a file to save): typed, from the recent folders or the
    /// system dialog.
    pub logo: PathField,
    pub pdf: PathField,
    /// The printer (CUPS queue) to use; empty for the default printer.
    pub printer: String,
    /// The printing command on Linux and macOS ("lp"); tests point it at a stand-in.
    pub print_command: OsString,
    stores: Option<Vec<StoreEntry>>,
    /// The stores being read.
    reading: Option<Ticket<StoreRead>>,
    load_error: Option<Text>,
    preview: Option<Preview>,
    /// The preview being rendered (None once it answered: the same failing preview is not retried every frame).
    preview_job: Option<(PreviewKey, Option<Ticket<PreviewResult>>)>,
    preview_error: Option<PrintError>,
    /// The chosen stores checked for readability on this template (off the UI thread), and what the check found.
    check: Option<(CheckKey, Option<Ticket<Vec<PrintError>>>)>,
    refusals: Vec<PrintError>,
    job: Option<Job>,
    status: Option<Result<Text, Text>>,
}

impl Default for PrintPanel {
    fn default() -> Self {
        PrintPanel {
            template: Template::Tent,
            all_stores: true,
            logo: PathField::new(Pick::Open, "PNG / JPEG", &["png", "jpg", "jpeg"]),
            pdf: PathField::new(Pick::Save, "PDF", &["pdf"]),
            printer: String::new(),
            print_command: OsString::from("lp"),
            stores: None,
            reading: None,
            load_error: None,
            preview: None,
            preview_job: None,
            preview_error: None,
            check: None,
            refusals: Vec::new(),
            job: None,
            status: None,
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

    /// The acquirer badges on the page the preview currently shows.
    pub fn previewed_badges(&self) -> Option<&[String]> {
        self.preview.as_ref().map(|p| p.key.badges.as_slice())
    }

    /// Whether a save or print job is running.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// Reads the printable stores and their stands on the queue (once, and again after [`PrintPanel::reload`]).
    fn load_stores(&mut self, ctx: &Ctx) {
        if let Some(answer) = poll_slot(&mut self.reading) {
            match answer {
                Ok(Ok(rows)) => {
                    self.load_error = None;
                    self.stores = Some(
                        rows.into_iter().map(|(label, stand)| StoreEntry { label, selected: false, stand }).collect(),
                    );
                }
                Ok(Err(e)) => self.load_error = Some(crate::ui::words_setup::store_error_text(&e)),
                Err(e) => self.load_error = Some(crate::i18n::Phrase::text(&e)),
            }
        }
        if self.stores.is_some() || self.reading.is_some() {
            return;
        }
        self.reading = Some(ctx.queue.submit(|q| {
            let rows = q.store.setup().printable_stores()?;
            Ok(rows
                .iter()
                .map(|row| {
                    let stand = print::source::stand_for_store(&q.store, row);
                    let label = match &stand {
                        Ok(s) => entry_label(s),
                        Err(_) => format!("{} {} {}", row.store.store_code, row.store.name_zh, row.store.name),
                    };
                    (label, stand)
                })
                .collect())
        }));
    }

    /// The stands to print, or what stops it.
    fn chosen(&self) -> Result<Vec<StandData>, Text> {
        let stores = self.stores.as_deref().unwrap_or_default();
        let chosen: Vec<&StoreEntry> = stores.iter().filter(|e| self.all_stores || e.selected).collect();
        if chosen.is_empty() {
            return Err(print_error_text(&PrintError::NoStores));
        }
        let mut stands = Vec::with_capacity(chosen.len());
        for entry in chosen {
            match &entry.stand {
                Ok(s) => stands.push(s.clone()),
                Err(e) => {
                    return Err(Text::new(
                        format!("无法打印 {}：{}", entry.label, print_error_words(Lang::ZhCn, e)),
                        format!("cannot print {}: {}", entry.label, print_error_words(Lang::En, e)),
                    ));
                }
            }
        }
        Ok(stands)
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.load_stores(ctx);
        self.poll(ui.ctx());
        self.check_readability(ctx);
        ui.heading(lang.pick("打印店铺码", "Print store codes"));
        if let Some(e) = &self.load_error {
            ui.colored_label(ui.visuals().error_fg_color, e.get(lang));
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
                ui.vertical(|ui| self.preview_ui(ui, ctx));
            });
        } else {
            ui.vertical(|ui| {
                ui.set_max_width(460.0);
                self.controls(ui, ctx);
            });
            ui.add_space(16.0);
            ui.vertical(|ui| self.preview_ui(ui, ctx));
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
                                ui.colored_label(ui.visuals().error_fg_color, print_error_words(lang, e));
                            }
                        });
                    }
                });
            }
            ui.add_space(6.0);
            if let Some(PathEvent::Chosen(path)) = self.logo.show(ui, ctx, lang.pick("标志（可选）", "Logo (optional)"))
            {
                remember_folder(ctx, &path);
            }
            if !self.logo.text.trim().is_empty() && ui.button(lang.pick("清除", "Clear")).clicked() {
                self.logo.text.clear();
            }
            if let Some(p) = self.preview.as_ref().filter(|p| p.key.logo_path == self.logo.text.trim()) {
                ui.small(format!(
                    "{}{}",
                    lang.pick("纠错等级：", "Error correction: "),
                    readability::level_label(p.ec)
                ));
            }
            let mut save_now = false;
            if let Some(PathEvent::Chosen(path)) = self.pdf.show(ui, ctx, lang.pick("PDF 文件", "PDF file")) {
                if path.extension().is_none() {
                    self.pdf.text = path.with_extension("pdf").display().to_string();
                }
                save_now = true;
            }
            ui.horizontal_wrapped(|ui| {
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
                    if self.pdf.text.trim().is_empty() {
                        // No path yet: a sensible one in the field, and the system dialog if there is one (when
                        // there is none, the field says so and Save PDF… saves to the path shown).
                        let dir = crate::ui::path_field::recent_folders(ctx)
                            .into_iter()
                            .next()
                            .unwrap_or_else(|| default_save_dir(&ctx.home.dir));
                        self.pdf.text = dir.join("store-codes.pdf").display().to_string();
                        self.pdf.browse(ctx);
                    } else {
                        save_now = true;
                    }
                }
                if ui.add_enabled(readable, egui::Button::new(lang.pick("打印…", "Print…"))).clicked() {
                    self.start(JobKind::Print, ctx);
                }
            });
            if save_now && readable_now(&self.refusals) {
                self.start(JobKind::Save, ctx);
            }
        });
        if let Some(job) = &self.job {
            let (done, total) = job.progress();
            let fraction = if total == 0 { 0.0 } else { done as f32 / total as f32 };
            ui.horizontal(|ui| {
                ui.add(egui::ProgressBar::new(fraction).desired_width(300.0).text(format!(
                    "{} {} / {} {}",
                    match job.kind {
                        JobKind::Save => lang.pick("正在生成", "Rendering"),
                        JobKind::Print => lang.pick("正在打印", "Printing"),
                    },
                    done,
                    total,
                    lang.pick("页", "pages")
                )));
                if ui.button(lang.pick("取消", "Cancel")).clicked() {
                    job.job.cancel.cancel();
                }
            });
        }
        match &self.status {
            Some(Ok(message)) => {
                ui.add(egui::Label::new(message.get(lang)).wrap());
            }
            Some(Err(message)) => {
                ui.add(
                    egui::Label::new(egui::RichText::new(message.get(lang)).color(ui.visuals().error_fg_color)).wrap(),
                );
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
    fn check_readability(&mut self, ctx: &Ctx) {
        let stands = self.chosen().unwrap_or_default();
        let key = CheckKey {
            template: self.template,
            has_logo: !self.logo.text.trim().is_empty(),
            codes: stands.iter().map(|s| (s.store_code.clone(), s.payload.clone())).collect(),
        };
        if self.check.as_ref().is_some_and(|(k, _)| *k == key) {
            return;
        }
        let (template, has_logo) = (key.template, key.has_logo);
        let ticket = ctx.queue.run(move || readability::refusals(&stands, &[template], has_logo));
        self.refusals.clear();
        self.check = Some((key, Some(ticket)));
    }

    fn preview_ui(&mut self, ui: &mut egui::Ui, ctx: &Ctx) {
        let lang = ctx.lang;
        // The preview keeps its place whether or not the picture is ready, so nothing below it jumps.
        ui.set_min_size(egui::vec2(340.0, 450.0));
        ui.label(lang.pick("预览", "Preview"));
        let first = self.chosen().ok().and_then(|s| s.into_iter().next());
        let Some(stand) = first else {
            ui.label(lang.pick("请选择门店。", "Choose a store."));
            return;
        };
        let key = PreviewKey::new(self.template, &stand, &self.logo.text);
        let current = self.preview.as_ref().is_some_and(|p| p.key == key);
        let pending = self.preview_job.as_ref().is_some_and(|(k, _)| *k == key);
        if !current && !pending {
            self.preview_error = None;
            let ticket = render_preview(&ctx.queue, stand, key.template, key.logo_path.clone());
            self.preview_job = Some((key.clone(), Some(ticket)));
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

    /// Picks up what the work on the queue answered.
    fn poll(&mut self, egui_ctx: &egui::Context) {
        if let Some((_, slot)) = &mut self.check
            && let Some(answer) = poll_slot(slot)
        {
            self.refusals = answer.unwrap_or_default();
        }
        if let Some((key, slot)) = &mut self.preview_job
            && let Some(answer) = poll_slot(slot)
        {
            match answer {
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
                // Keeps the key so the same failing preview is not retried every frame.
                Ok(Err(e)) => {
                    self.preview_error = Some(e);
                    self.preview = None;
                }
                Err(_) => {}
            }
        }
        if let Some(job) = &mut self.job
            && let Some(answer) = job.job.poll()
        {
            self.status = Some(match answer {
                Ok(result) => result.map_err(|e| print_error_text(&e)),
                Err(_) => Err(Text::new("打印任务意外结束", "the print job ended unexpectedly")),
            });
            self.job = None;
        }
    }

    fn start(&mut self, kind: JobKind, ctx: &mut Ctx) {
        let stands = match self.chosen() {
            Ok(s) => s,
            Err(e) => {
                self.status = Some(Err(e));
                return;
            }
        };
        let target = match kind {
            JobKind::Save => match self.pdf.path() {
                Some(path) => {
                    remember_folder(ctx, &path);
                    self.pdf.clear_note();
                    path
                }
                None => {
                    self.status = Some(Err(Text::new("请先填写 PDF 文件的路径", "Type where to save the PDF first")));
                    return;
                }
            },
            JobKind::Print => ctx.home.dir.join("print").join("tilldesk-store-codes.pdf"),
        };
        let template = self.template;
        let logo_path = self.logo.text.trim().to_owned();
        let printer = self.printer.trim().to_owned();
        let print_command = self.print_command.clone();
        let total = stands.len();
        self.status = None;
        let job = ctx.queue.submit_job(move |_session, reporter, cancel| {
            (|| -> Result<Text, PrintError> {
                // Every code readable by a phone, or nothing is rendered, saved or printed.
                if let Some(refused) =
                    readability::refusals(&stands, &[template], !logo_path.is_empty()).into_iter().next()
                {
                    return Err(refused);
                }
                let logo = if logo_path.is_empty() { None } else { Some(Logo::load(Path::new(&logo_path))?) };
                print::make_folder_for(&target)?;
                let bytes = print::save_pdf(
                    &target,
                    &stands,
                    &[template],
                    logo.as_ref(),
                    &mut |done, total| reporter.progress((done, total)),
                    cancel.as_atomic(),
                )?;
                let pages = stands.len();
                match kind {
                    JobKind::Save => {
                        let (shown, kb) = (target.display(), bytes.div_ceil(1024));
                        Ok(Text::new(
                            format!("已保存 {pages} 页 → {shown}（{kb} KB）"),
                            format!("Saved {pages} {} → {shown} ({kb} KB)", if pages == 1 { "page" } else { "pages" }),
                        ))
                    }
                    JobKind::Print => {
                        let printer = (!printer.is_empty()).then_some(printer.as_str());
                        let submitted = if cfg!(windows) {
                            print::printer::print_pdf(&target, printer)?
                        } else {
                            print::printer::print_with_lp(&print_command, &target, printer)?
                        };
                        Ok(Text::new(
                            format!("已发送 {pages} 页到打印机：{}", submitted.message),
                            format!("Sent {pages} pages to the printer: {}", submitted.message),
                        ))
                    }
                }
            })()
        });
        self.job = Some(Job { kind, job, total });
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

/// Renders the preview on the queue, sharp enough that the code on screen scans ([`preview_dpi`]).
fn render_preview(
    queue: &crate::queue::Queue,
    stand: StandData,
    template: Template,
    logo_path: String,
) -> Ticket<PreviewResult> {
    queue.run(move || {
        let logo = if logo_path.is_empty() { None } else { Some(Logo::load(Path::new(&logo_path))?) };
        let plan = readability::plan_for(&stand, template, logo.is_some())?;
        let dpi = preview_dpi(template, plan.module_mm);
        let page = print::render_rgba(&stand, template, logo.as_ref(), dpi)?;
        Ok((page, plan.ec, plan.module_mm / 25.4 * dpi as f32))
    })
}

/// True when no chosen code was refused as unreadable.
fn readable_now(refusals: &[PrintError]) -> bool {
    refusals.is_empty()
}
