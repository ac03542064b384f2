//! "Export CSV" / "Export Excel" for a list screen: the export runs on its own thread with its own database
//! connection, shows a progress bar (rows written of rows to write) and a Cancel button, and says where the file
//! went. Only operators allowed to export (owner, back office) may start one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use crate::export::{ExportError, ExportFormat};
use crate::i18n::Lang;
use crate::store::Store;
use crate::store::operators::Permission;
use crate::ui::Ctx;

enum Event {
    Progress(u64, u64),
    Done(Result<u64, ExportError>),
}

struct Running {
    rx: Receiver<Event>,
    cancel: Arc<AtomicBool>,
    done: u64,
    total: u64,
    path: PathBuf,
}

/// One screen's export: at most one running at a time.
#[derive(Default)]
pub struct Exporter {
    running: Option<Running>,
    /// The last export's outcome, as shown under the buttons.
    pub message: Option<Result<String, String>>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter").field("message", &self.message).finish_non_exhaustive()
    }
}

/// The export itself, run on the export thread with a fresh connection.
pub type ExportWork =
    Box<dyn FnOnce(&Store, &Path, &mut dyn FnMut(u64, u64), &AtomicBool) -> Result<u64, ExportError> + Send>;

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
    pub fn start(&mut self, ctx: &Ctx, egui_ctx: &egui::Context, what: &str, format: ExportFormat, work: ExportWork) {
        let lang = ctx.lang;
        if let Err(e) = ctx.permit(Permission::Export) {
            self.message = Some(Err(e));
            return;
        }
        let path = crate::export::default_export_path(&ctx.home.dir, what, format);
        let db_path = ctx.home.store.path().to_owned();
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let (flag, target, repaint) = (cancel.clone(), path.clone(), egui_ctx.clone());
        let spawned = std::thread::Builder::new().name("export".into()).spawn(move || {
            let result = Store::open(&db_path).map_err(ExportError::from).and_then(|db| {
                let mut last = std::time::Instant::now();
                let mut progress = |done, total| {
                    // A few updates a second are enough for the bar.
                    if done == total || last.elapsed() >= std::time::Duration::from_millis(100) {
                        last = std::time::Instant::now();
                        let _ = tx.send(Event::Progress(done, total));
                        repaint.request_repaint();
                    }
                };
                work(&db, &target, &mut progress, &flag)
            });
            let _ = tx.send(Event::Done(result));
            repaint.request_repaint();
        });
        match spawned {
            Ok(_) => {
                self.message = None;
                self.running = Some(Running { rx, cancel, done: 0, total: 0, path });
            }
            Err(e) => {
                self.message = Some(Err(format!("{}: {e}", lang.pick("无法开始导出", "cannot start the export"))))
            }
        }
    }

    /// Polls the running export and draws its progress (or the last outcome).
    pub fn show(&mut self, ui: &mut egui::Ui, lang: Lang) {
        if let Some(run) = &mut self.running {
            loop {
                match run.rx.try_recv() {
                    Ok(Event::Progress(done, total)) => (run.done, run.total) = (done, total),
                    Ok(Event::Done(result)) => {
                        self.message = Some(match result {
                            Ok(n) => Ok(format!(
                                "{} {n} {} → {}",
                                lang.pick("已导出", "Exported"),
                                lang.pick("行", "rows"),
                                run.path.display()
                            )),
                            Err(e) => Err(e.to_string()),
                        });
                        self.running = None;
                        break;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.message = Some(Err(lang.pick("导出意外结束", "the export ended unexpectedly").into()));
                        self.running = None;
                        break;
                    }
                }
            }
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
                    run.cancel.store(true, Ordering::Relaxed);
                }
            });
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
        }
        match &self.message {
            Some(Ok(m)) => {
                ui.label(m);
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
    }
}
