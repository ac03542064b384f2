//! "Export CSV" / "Export Excel" for a list screen: the export runs as a job on the command queue (its own
//! database connection, off the UI thread), shows a progress bar (rows written of rows to write) and a Cancel button, and says where the file
//! went. Where it goes is a [`PathField`] ("Save to": typed, a recent folder, or the system dialog), by default the
//! data folder's `exports/`. Only operators allowed to export (owner, back office) may start one.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::export::{ExportError, ExportFormat};
use crate::i18n::{Lang, Text};
use crate::queue::{CoreSession, Job};
use crate::store::operators::Permission;
use crate::ui::Ctx;
use crate::ui::path_field::{PathEvent, PathField, Pick};

struct Running {
    /// Reports (rows written, rows to write).
    job: Job<Result<u64, ExportError>, (u64, u64)>,
    done: u64,
    total: u64,
    path: PathBuf,
}

/// One screen's export: at most one running at a time.
#[derive(Default)]
pub struct Exporter {
    running: Option<Running>,
    /// The last export's outcome, as shown under the buttons (worded when drawn).
    pub message: Option<Result<Text, Text>>,
    /// Where files go: a folder (or a file name ending in the format's extension). Empty: the data folder's exports/.
    folder: Option<PathField>,
}

/// Why an export failed, in both languages.
fn export_error_text(e: &ExportError) -> Text {
    match e {
        ExportError::UnknownFormat { path } => Text::new(
            format!("{}：文件名须以 .csv 或 .xlsx 结尾", path.display()),
            format!("{}: the file name must end in .csv or .xlsx", path.display()),
        ),
        ExportError::Store(_) => Text::new("无法读取要导出的数据", "Cannot read the data to export"),
        ExportError::Write { path, .. } => {
            Text::new(format!("无法写入 {}", path.display()), format!("Cannot write {}", path.display()))
        }
        ExportError::Cancelled => Text::new("已取消，没有写入文件", "Cancelled; no file was written"),
    }
}

/// The file an export of `what` writes: in the chosen folder (or the chosen file itself when it ends in the format's
/// extension), else in the data folder's exports/.
fn target_path(chosen: Option<PathBuf>, data_dir: &Path, what: &str, format: ExportFormat) -> PathBuf {
    let default = crate::export::default_export_path(data_dir, what, format);
    let Some(chosen) = chosen else { return default };
    if chosen.extension().is_some_and(|e| e.eq_ignore_ascii_case(format.extension())) {
        return chosen;
    }
    match default.file_name() {
        Some(name) => chosen.join(name),
        None => default,
    }
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter").field("message", &self.message).finish_non_exhaustive()
    }
}

/// The export itself, run on the export thread with a fresh connection.
pub type ExportWork =
    Box<dyn FnOnce(&CoreSession, &Path, &mut dyn FnMut(u64, u64), &AtomicBool) -> Result<u64, ExportError> + Send>;

impl Exporter {
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The two buttons; returns the format clicked (when no export runs).
    pub fn buttons(&self, ui: &mut egui::Ui, lang: Lang) -> Option<ExportFormat> {
        let mut clicked = None;
        ui.add_enabled_ui(!self.is_running(), |ui| {
            if ui.button(lang.pick("导出 CSV", "Export CSV")).clicked() {
                clicked = Some(ExportFormat::Csv);
            }
            if ui.button(lang.pick("导出 Excel", "Export Excel")).clicked() {
                clicked = Some(ExportFormat::Xlsx);
            }
        });
        clicked
    }

    /// Starts `work` writing to a new file named after `what` in the data folder's exports/.
    pub fn start(&mut self, ctx: &mut Ctx, what: &str, format: ExportFormat, work: ExportWork) {
        if let Err(e) = crate::ui::orders::permit_text(ctx, Permission::Export) {
            self.message = Some(Err(e));
            return;
        }
        let chosen = self.folder.as_ref().and_then(PathField::path);
        let path = target_path(chosen, &ctx.home.dir, what, format);
        let target = path.clone();
        let job = ctx.queue.submit_job(move |session, reporter, cancel| {
            let mut last = std::time::Instant::now();
            let mut progress = |done, total| {
                // A few updates a second are enough for the bar.
                if done == total || last.elapsed() >= std::time::Duration::from_millis(100) {
                    last = std::time::Instant::now();
                    reporter.progress((done, total));
                }
            };
            work(session, &target, &mut progress, cancel.as_atomic())
        });
        self.message = None;
        self.running = Some(Running { job, done: 0, total: 0, path });
    }

    /// Polls the running export and draws its progress (or the last outcome), and the "Save to" field.
    pub fn show(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let mut saved: Option<PathBuf> = None;
        if let Some(run) = &mut self.running {
            let answer = run.job.poll();
            if let Some(&(done, total)) = run.job.steps.last() {
                (run.done, run.total) = (done, total);
            }
            if let Some(answer) = answer {
                self.message = Some(match answer {
                    Ok(Ok(n)) => {
                        saved = Some(run.path.clone());
                        let at = run.path.display();
                        Ok(Text::new(format!("已导出 {n} 行 → {at}"), format!("Exported {n} rows → {at}")))
                    }
                    Ok(Err(e)) => Err(export_error_text(&e)),
                    Err(e) => {
                        tracing::warn!(error = %e, "the export");
                        Err(Text::new("导出意外结束", "The export ended unexpectedly"))
                    }
                });
                self.running = None;
            }
        }
        if let Some(path) = saved {
            crate::ui::path_field::remember_folder(ctx, &path);
        }
        if let Some(run) = &self.running {
            ui.horizontal(|ui| {
                let fraction = if run.total == 0 { 0.0 } else { run.done as f32 / run.total as f32 };
                ui.add(egui::ProgressBar::new(fraction).desired_width(280.0).text(format!(
                    "{} {} / {}",
                    lang.pick("正在导出", "Exporting"),
                    run.done,
                    run.total
                )));
                if ui.button(lang.pick("取消导出", "Cancel export")).clicked() {
                    run.job.cancel.cancel();
                }
            });
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
        }
        match &self.message {
            Some(Ok(m)) => {
                ui.add(
                    egui::Label::new(egui::RichText::new(m.get(lang)).color(egui::Color32::from_rgb(60, 170, 90)))
                        .wrap(),
                );
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e.get(lang));
            }
            None => {}
        }
        let folder = self.folder.get_or_insert_with(|| {
            PathField::new(Pick::Save, "CSV / Excel", &["csv", "xlsx"])
                .with_text(ctx.home.dir.join("exports").join("").display().to_string())
        });
        egui::CollapsingHeader::new(lang.pick("导出位置", "Export folder")).id_salt("export-folder").show(ui, |ui| {
            if let Some(PathEvent::Chosen(p)) = folder.show(ui, ctx, lang.pick("保存到", "Save to")) {
                folder.text = p.display().to_string();
            }
        });
    }
}
