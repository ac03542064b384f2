//! The 对账 screen's history of runs: the last runs with their day, acquirer and figures, each one opened again with
//! its button. The list and the report opened are read through the command queue.

use crate::i18n::{Lang, Phrase};
use crate::model::AcquirerKind;
use crate::queue::poll_slot;
use crate::recon::{self, Report};
use crate::store::recon::StoredRun;
use crate::ui::Ctx;
use crate::ui::words_recon::acquirer_words;

use super::ReconcileScreen;

/// How many runs the history lists.
const RUNS_SHOWN: u32 = 20;

/// One run of the history: the run, its acquirer's kind and its figures (read off the UI thread).
#[derive(Debug, Clone)]
pub(super) struct RunLine {
    run: StoredRun,
    kind: Option<AcquirerKind>,
    summary: Option<Report>,
}

/// The last runs, newest first, with their acquirers' kinds and figures.
pub(super) fn read_runs(s: &crate::queue::CoreSession) -> Result<Vec<RunLine>, crate::store::StoreError> {
    let runs = s.store.recon().recon_runs(RUNS_SHOWN)?;
    let acquirers = s.store.setup().acquirers()?;
    Ok(runs
        .into_iter()
        .map(|run| {
            let kind = run.acquirer_id.and_then(|id| acquirers.iter().find(|a| a.id == id)).map(|a| a.kind);
            let summary = serde_json::from_str(&run.summary_json).ok();
            RunLine { run, kind, summary }
        })
        .collect())
}

impl ReconcileScreen {
    /// The history as read again after a run (None: it could not be, and is read again at the next frame).
    pub(super) fn set_history(&mut self, runs: Option<Vec<RunLine>>) {
        self.runs = runs;
        self.runs_job = None;
    }

    /// Picks up the history and the report being opened.
    pub(super) fn poll_history(&mut self) {
        if let Some(answer) = poll_slot(&mut self.runs_job) {
            match answer {
                Ok(Ok(runs)) => self.runs = Some(runs),
                Ok(Err(e)) => {
                    self.runs = Some(Vec::new());
                    self.status = Some((true, crate::ui::words_backoffice::store_error(&e)));
                }
                Err(e) => {
                    self.runs = Some(Vec::new());
                    self.status = Some((true, e.text()));
                }
            }
        }
        if let Some(answer) = poll_slot(&mut self.opening) {
            match answer {
                Ok(Ok(r)) => {
                    // The fields follow the run opened (its day and acquirer).
                    self.date_text = r.bill_date.clone();
                    self.acquirer = Some(r.acquirer);
                    self.report = Some(r);
                }
                Ok(Err(e)) => self.status = Some((true, e.text())),
                Err(e) => self.status = Some((true, e.text())),
            }
        }
    }

    pub(super) fn history_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if self.runs.is_none() && self.runs_job.is_none() {
            self.runs_job = Some(ctx.queue.submit(|s| read_runs(s)));
        }
        egui::CollapsingHeader::new(lang.pick("对账历史", "History of runs")).default_open(true).show(ui, |ui| {
            // No spinner: it would ask for frames until the answer comes; the queue wakes the window then.
            let Some(runs) = &self.runs else {
                ui.weak(lang.pick("正在读取对账历史…", "Reading the history…"));
                return;
            };
            if runs.is_empty() {
                ui.label(lang.pick("还没有对账记录", "No runs yet"));
            }
            let mut open = None;
            for line in runs {
                if run_line_ui(ui, line, lang) {
                    open = Some(line.run.id);
                }
            }
            if let Some(run_id) = open
                && self.opening.is_none()
            {
                self.opening = Some(ctx.queue.submit(move |s| recon::load_report(&s.store, run_id, lang)));
            }
        });
    }
}

/// One run's line; true when its Open button was clicked.
fn run_line_ui(ui: &mut egui::Ui, line: &RunLine, lang: Lang) -> bool {
    let run = &line.run;
    ui.horizontal(|ui| {
        ui.label(format!(
            "#{} {} {} · {} {}",
            run.id,
            run.bill_date.as_deref().unwrap_or(""),
            line.kind.map(|k| acquirer_words(k, lang)).unwrap_or(""),
            lang.pick("对账于", "run at"),
            crate::time::to_china_display(&run.started_at),
        ));
        if let Some(s) = &line.summary {
            let differences: i64 = s.kinds.iter().map(|k| k.count).sum();
            ui.weak(format!(
                "{} {} · {} {}",
                lang.pick("匹配", "matched"),
                s.matched.count,
                lang.pick("差异", "differences"),
                differences
            ));
        }
        ui.small_button(lang.pick("查看", "Open")).clicked()
    })
    .inner
}
