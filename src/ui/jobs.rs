//! Background work for the screens: a job runs on the app's tokio runtime with its own database connection,
//! sends its progress steps up a channel, and can be cancelled. The screen polls it each frame; nothing blocks.

use std::sync::mpsc;
use std::time::Instant;

use crate::onboarding::{CancelFlag, Progress};
use crate::ui::Ctx;

enum Event<T> {
    Progress(Progress),
    Done(T),
}

/// Sends progress from inside a job.
#[derive(Clone)]
pub struct Reporter<T> {
    tx: mpsc::Sender<Event<T>>,
    repaint: egui::Context,
}

impl<T> Reporter<T> {
    pub fn progress(&self, p: Progress) {
        let _ = self.tx.send(Event::Progress(p));
        self.repaint.request_repaint();
    }
}

/// A running job and the steps it has reported so far.
pub struct Job<T> {
    rx: mpsc::Receiver<Event<T>>,
    pub cancel: CancelFlag,
    pub steps: Vec<Progress>,
    pub started: Instant,
    /// What the job does, for the progress line.
    pub title: String,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on the app's runtime. Fails (with words for the status line) when the app has no runtime.
    pub fn spawn<F, Fut>(ctx: &Ctx, egui_ctx: &egui::Context, title: String, work: F) -> Result<Self, String>
    where
        F: FnOnce(Reporter<T>, CancelFlag) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        let runtime = ctx.runtime.as_ref().ok_or_else(|| {
            ctx.lang.pick("网络运行时未启动，无法联系收单机构", "the network runtime is not running").to_owned()
        })?;
        let (tx, rx) = mpsc::channel();
        let cancel = CancelFlag::default();
        let reporter = Reporter { tx: tx.clone(), repaint: egui_ctx.clone() };
        let future = work(reporter, cancel.clone());
        let repaint = egui_ctx.clone();
        runtime.spawn(async move {
            let result = future.await;
            let _ = tx.send(Event::Done(result));
            repaint.request_repaint();
        });
        Ok(Job { rx, cancel, steps: Vec::new(), started: Instant::now(), title })
    }

    /// Takes what arrived; `Some` once the job has finished.
    pub fn poll(&mut self) -> Option<T> {
        loop {
            match self.rx.try_recv() {
                Ok(Event::Progress(p)) => self.steps.push(p),
                Ok(Event::Done(result)) => return Some(result),
                Err(_) => return None,
            }
        }
    }
}

/// Draws a running job: title, spinner, elapsed time, the steps so far and a Cancel button. Returns true when
/// Cancel was clicked.
pub fn show_running<T>(ui: &mut egui::Ui, lang: crate::i18n::Lang, job: &Job<T>) -> bool {
    let mut cancel = false;
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label(format!("{} ({} s)", job.title, job.started.elapsed().as_secs()));
        let label = if job.cancel.is_cancelled() {
            lang.pick("正在取消…", "Cancelling…")
        } else {
            lang.pick("取消", "Cancel")
        };
        if ui.add_enabled(!job.cancel.is_cancelled(), egui::Button::new(label)).clicked() {
            cancel = true;
        }
    });
    ui.add(egui::ProgressBar::new(((job.steps.len() as f32) / 6.0).min(0.95)).animate(true));
    for p in &job.steps {
        ui.label(format!("· {}  {}", step_label(lang, p.step), p.detail));
    }
    ui.ctx().request_repaint_after(std::time::Duration::from_millis(250));
    cancel
}

/// A step's name in the interface language.
pub fn step_label(lang: crate::i18n::Lang, step: &str) -> String {
    let (zh, en) = match step {
        "submitting" => ("提交资料", "submitting"),
        "submitted" => ("已提交", "submitted"),
        "pending_verification" => ("待审核", "pending verification"),
        "active" => ("已生效", "active"),
        "failed" => ("失败", "failed"),
        "registering_cds" => ("注册 CDS", "registering on CDS"),
        "cds_registered" => ("已注册 CDS", "registered on CDS"),
        "cds_refused" => ("CDS 拒绝", "refused by CDS"),
        "code_read" => ("已读取店铺码", "code read"),
        "looking_up" => ("查询 CDS", "looking up"),
        "binding" => ("绑定中", "binding"),
        "cds_bound" => ("已绑定 CDS 索引", "bound to CDS index"),
        "cds_bind_queued" => ("平台无应答，已排队由后台同步重发", "no answer: queued for the background sync"),
        "still_pending" => ("仍在审核", "still pending"),
        "done" => ("完成", "done"),
        other => (other, other),
    };
    lang.pick(zh, en).to_owned()
}

/// The first file dropped on the window this frame, if any.
pub fn dropped_path(ui: &egui::Ui) -> Option<std::path::PathBuf> {
    ui.ctx().input(|i| i.raw.dropped_files.first().map(|f| f.path().to_owned()))
}
