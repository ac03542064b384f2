//! Long network work for the screens (onboarding, binding, reading a store code with the platform), as jobs on the
//! command queue ([`crate::queue::Queue::start`]): this file adds what the window shows of one — its title, when it
//! started, its steps and the Cancel button. The screen polls the job each frame; nothing blocks.

use std::time::Instant;

use crate::i18n::{Phrase, Text};
use crate::onboarding::{CancelFlag, Progress};
use crate::ui::Ctx;

pub use crate::queue::Reporter;

/// A running job, the steps it has reported so far, and what the window shows of it.
pub struct Job<T> {
    inner: crate::queue::Job<T, Progress>,
    pub cancel: CancelFlag,
    pub started: Instant,
    /// What the job does, for the progress line.
    pub title: String,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on the queue (the app's runtime). Fails (with words for the status line) when the app has no
    /// runtime.
    pub fn spawn<F, Fut>(ctx: &Ctx, title: String, work: F) -> Result<Self, Text>
    where
        F: FnOnce(Reporter<Progress>, CancelFlag) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        let inner = ctx.queue.start(work).map_err(|e| e.text())?;
        Ok(Self::view(inner, title))
    }

    /// What the window shows of a job started on the queue otherwise (with a connection of its own:
    /// [`crate::queue::Queue::start_with_store`]).
    pub fn view(inner: crate::queue::Job<T, Progress>, title: String) -> Self {
        let cancel = inner.cancel.clone();
        Job { inner, cancel, started: Instant::now(), title }
    }
}

impl<T> Job<T> {
    /// The steps reported so far (taken in by [`Job::poll`]).
    pub fn steps(&self) -> &[Progress] {
        &self.inner.steps
    }
}

impl<X> Job<Result<X, Text>> {
    /// Takes what arrived; `Some` once the job has finished (a job that stopped without an answer says so).
    pub fn poll(&mut self) -> Option<Result<X, Text>> {
        self.inner.poll().map(|answer| answer.unwrap_or_else(|e| Err(e.text())))
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
    ui.add(egui::ProgressBar::new(((job.steps().len() as f32) / 6.0).min(0.95)).animate(true));
    for p in job.steps() {
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
