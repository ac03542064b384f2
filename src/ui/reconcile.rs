//! 对账 Reconciliation: fetch or open a day's bill (native dialog, path field or drag and drop), import it with a
//! progress bar and a cancel button, reconcile, and work through the report: summary cards, the discrepancy table
//! with filters and per-row actions (`report`), the history of runs (`history`), export to CSV/XLSX.
//!
//! Everything that reads or writes the database or a file, or asks an acquirer, goes through the command queue
//! ([`crate::queue`]): imports, fetches and runs as queue jobs with progress and Cancel, the history and the exports
//! as commands, a trade query as a network job. The screen polls what comes back each frame.

mod history;
mod remote;
mod remote_resolve;
mod report;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::channel::{Channel, QueryResult};
use crate::i18n::{Lang, Phrase, Text};
use crate::model::{AcquirerId, AcquirerKind, DiscrepancyKind};
use crate::queue::{CoreSession, Job, Ticket, poll_slot};
use crate::recon::report::Item;
use crate::recon::{self, ImportControl, ImportOptions, ImportOutcome, ReconError, ReconOptions, Report};
use crate::store::operators::Permission;
use crate::ui::Ctx;
use crate::ui::path_field::{PathEvent, PathField, Pick};
use crate::ui::words_recon::acquirer_words;

/// Gives the screen an acquirer's client, for fetching bills and querying trades. The app wires the real clients;
/// without a source those two buttons say the channel is not set up.
pub trait ChannelSource: Send + Sync {
    /// The account of this kind the screen works with, and its client.
    fn channel(&self, kind: AcquirerKind) -> Option<(AcquirerId, Arc<dyn Channel>)>;
}

impl ChannelSource for crate::routing::Router {
    fn channel(&self, kind: AcquirerKind) -> Option<(AcquirerId, Arc<dyn Channel>)> {
        self.accounts().into_iter().find(|(a, _)| a.kind == kind).map(|(a, c)| (a.id, c))
    }
}

/// The client of `kind`: the one the app handed over (`source`), else the app's own gateways (`app`, the router
/// built on the queue; None while it is being built or when the channels cannot be built).
fn channel_of(
    source: Option<&Arc<dyn ChannelSource>>,
    app: Option<&crate::routing::Router>,
    kind: AcquirerKind,
) -> Option<(AcquirerId, Arc<dyn Channel>)> {
    match source {
        Some(source) => source.channel(kind),
        None => app.and_then(|r| r.channel(kind)),
    }
}

/// The app's own router for the screen's fetches and queries: built on the queue when the screen is first drawn
/// and again whenever the channels change (mode, keys, the vault, a backend), so that a click never reads the
/// accounts on the UI thread.
#[derive(Default)]
struct AppRouter {
    /// `Ctx::channel_generation` it was asked for.
    asked_for: Option<u64>,
    building: Option<Ticket<Result<crate::routing::Router, crate::queue::ChannelsError>>>,
    router: Option<crate::routing::Router>,
}

impl AppRouter {
    fn refresh(&mut self, ctx: &Ctx) {
        if self.asked_for != Some(ctx.channel_generation) {
            self.asked_for = Some(ctx.channel_generation);
            self.router = None;
            // Channels that cannot be built yet (a locked vault) leave no router: the buttons say "not set up".
            self.building = ctx.channels().ok().map(|channels| ctx.queue.submit_routed(channels, |_, router| router));
        }
        match poll_slot(&mut self.building) {
            Some(Ok(Ok(router))) => self.router = Some(router),
            Some(Ok(Err(e))) => tracing::warn!(error = %e, "reconciliation: the acquirers' clients"),
            Some(Err(e)) => tracing::warn!(error = %e, "reconciliation: the acquirers' clients"),
            None => {}
        }
    }
}

enum Done {
    Imported(Box<ImportOutcome>),
    /// The report, and the history read again with it (in the same command: one answer, one wake).
    Reconciled(Box<Report>, Option<Vec<history::RunLine>>),
    /// Something done that only needs saying (an Alipay account bill imported).
    Said(Text),
}

/// An import, a fetch or a run on the queue, with what its progress line shows.
struct Work {
    label: Text,
    control: ImportControl,
    started: Instant,
    /// Whether the job reads a file (a progress fraction and rows/s are known).
    reads_file: bool,
    job: Job<Result<Done, Text>, ()>,
}

/// The 对账 screen.
#[derive(Default)]
pub struct ReconcileScreen {
    acquirer: Option<AcquirerKind>,
    date_text: String,
    /// The bill file: typed, from the recent folders or the system dialog.
    path: BillPath,
    accept_mismatch: bool,
    job: Option<Work>,
    /// (is an error, text)
    status: Option<(bool, Text)>,
    report: Option<Report>,
    /// The history of runs, once read (see `history`).
    runs: Option<Vec<history::RunLine>>,
    runs_job: Option<Ticket<Result<Vec<history::RunLine>, crate::store::StoreError>>>,
    /// A run of the history being opened.
    opening: Option<Ticket<Result<Report, ReconError>>>,
    /// The report being exported.
    exporting: Option<Ticket<Result<PathBuf, ReconError>>>,
    filter: Option<DiscrepancyKind>,
    show_resolved: bool,
    search: String,
    /// Resolving differences and closing the day (see `reconcile_resolve`).
    resolve: super::reconcile_resolve::ResolvePanel,
    /// A trade query at the acquirer (a network job on the queue).
    query: Option<Job<Text, ()>>,
    /// The acquirers' clients (set by the app).
    pub channels: Option<Arc<dyn ChannelSource>>,
    /// Without `channels`: the app's own router, built on the queue.
    app_router: AppRouter,
    /// 结算核对: the Alipay account bill against the trade bill.
    settlement: crate::ui::reconcile_settlement::SettlementCard,
    /// On a till enrolled with a merchant backend: the backend's reports instead.
    remote: remote::RemotePanel,
}

impl std::fmt::Debug for ReconcileScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconcileScreen").field("date", &self.date_text).finish_non_exhaustive()
    }
}

/// The bill file's field (a [`PathField`] for bills).
struct BillPath(PathField);

impl Default for BillPath {
    fn default() -> Self {
        BillPath(PathField::new(Pick::Open, "bill", &["zip", "csv", "txt"]))
    }
}

fn yesterday_in_china() -> String {
    recon::date_text(crate::time::china_business_day(time::OffsetDateTime::now_utc()))
}

/// Words for a queue that gave no answer.
fn stopped(e: &crate::queue::QueueError) -> Text {
    tracing::warn!(error = %e, "a reconciliation job");
    e.text()
}

impl ReconcileScreen {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        // An enrolled till holds no acquirer keys: the backend downloads and reconciles, the screen shows its reports.
        if ctx.backend_url.is_some() {
            egui::ScrollArea::vertical()
                .id_salt("reconcile-screen")
                .auto_shrink([false, false])
                .show(ui, |ui| self.remote.ui(ui, ctx));
            return;
        }
        if self.date_text.is_empty() {
            self.date_text = yesterday_in_china();
        }
        let acquirer = *self.acquirer.get_or_insert(AcquirerKind::WechatPay);
        if self.channels.is_none() {
            self.app_router.refresh(ctx);
        }
        self.poll(ui);
        self.poll_history();
        self.take_dropped_files(ui, ctx);
        // The whole screen scrolls: at 1024×600 the cards, the table and the history do not fit at once.
        egui::ScrollArea::vertical()
            .id_salt("reconcile-screen")
            .auto_shrink([false, false])
            .show(ui, |ui| self.body(ui, ctx, acquirer));
    }

    fn body(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, acquirer: AcquirerKind) {
        let lang = ctx.lang;
        // Which bill.
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.pick("收单机构", "Acquirer"));
            for kind in [AcquirerKind::WechatPay, AcquirerKind::Alipay] {
                if ui.selectable_label(acquirer == kind, acquirer_words(kind, lang)).clicked() {
                    self.acquirer = Some(kind);
                }
            }
            ui.separator();
            let label = ui.label(lang.pick("账单日期", "Bill date"));
            ui.add(egui::TextEdit::singleline(&mut self.date_text).desired_width(96.0)).labelled_by(label.id);
            let busy = self.job.is_some();
            if ui.add_enabled(!busy, egui::Button::new(lang.pick("下载账单", "Fetch bill"))).clicked() {
                self.start_fetch(ctx);
            }
            if ui.add_enabled(!busy, egui::Button::new(lang.pick("开始对账", "Reconcile"))).clicked() {
                self.start_reconcile(ctx);
            }
        });
        // The bill file: typed, a recent folder, the system dialog or dropped on the window; Enter or Import reads it.
        let chosen = self.path.0.show(ui, ctx, lang.pick("账单文件", "Bill file"));
        ui.horizontal_wrapped(|ui| {
            let busy = self.job.is_some();
            let import = ui.add_enabled(!busy, egui::Button::new(lang.pick("导入", "Import"))).clicked();
            ui.checkbox(
                &mut self.accept_mismatch,
                lang.pick("合计不符也导入（标记）", "import even if totals differ (flagged)"),
            );
            ui.weak(lang.pick("也可以把账单文件拖到窗口里", "or drop the bill file on the window"));
            let path = match chosen {
                Some(PathEvent::Chosen(path)) if !busy => Some(path),
                _ if import => Some(self.path.0.path().unwrap_or_default()),
                _ => None,
            };
            if let Some(path) = path {
                self.start_import(ctx, path);
            }
        });
        if ui.ctx().input(|i| !i.raw.hovered_files.is_empty()) {
            ui.colored_label(
                ui.visuals().selection.bg_fill,
                lang.pick("松开鼠标即可导入账单", "Drop to import the bill"),
            );
        }

        self.job_ui(ui, lang);
        if let Some((is_error, text)) = &self.status {
            let color = if *is_error { ui.visuals().error_fg_color } else { ui.visuals().text_color() };
            ui.add(egui::Label::new(egui::RichText::new(text.get(lang)).color(color)).wrap());
        }
        ui.separator();

        if let Some(report) = self.report.take() {
            self.report_ui(ui, ctx, &report);
            if self.report.is_none() {
                self.report = Some(report);
            }
        } else {
            ui.label(
                lang.pick(
                    "导入或下载当日账单后点击“开始对账”。",
                    "Import or fetch the day's bill, then press Reconcile.",
                ),
            );
        }
        if acquirer == AcquirerKind::Alipay {
            ui.add_space(8.0);
            let date = recon::parse_date(&self.date_text);
            let source = self.channels.clone();
            let app = self.app_router.router.clone();
            let ctx: &Ctx = ctx;
            let channel = || channel_of(source.as_ref(), app.as_ref(), AcquirerKind::Alipay);
            self.settlement.ui(ui, ctx, date, &channel);
        }
        ui.add_space(8.0);
        self.history_ui(ui, ctx);
    }

    /// Picks up finished work.
    fn poll(&mut self, ui: &egui::Ui) {
        if let Some(work) = &mut self.job {
            match work.job.poll() {
                Some(Ok(Ok(Done::Imported(outcome)))) => {
                    let outcome = *outcome;
                    let text = Text::new(outcome.message(Lang::ZhCn), outcome.message(Lang::En));
                    self.status = Some((false, text));
                    self.acquirer = Some(outcome.acquirer);
                    self.date_text = outcome.bill.bill_date.clone();
                    self.job = None;
                }
                Some(Ok(Ok(Done::Reconciled(report, runs)))) => {
                    let n = report.discrepancies.len();
                    self.status =
                        Some((false, Text::new(format!("对账完成，差异 {n}"), format!("Reconciled: differences {n}"))));
                    self.report = Some(*report);
                    self.set_history(runs);
                    self.job = None;
                }
                Some(Ok(Ok(Done::Said(text)))) => {
                    self.status = Some((false, text));
                    self.job = None;
                }
                Some(Ok(Err(message))) => {
                    self.status = Some((true, message));
                    self.job = None;
                }
                Some(Err(e)) => {
                    self.status = Some((true, stopped(&e)));
                    self.job = None;
                }
                // The progress line moves with the rows read.
                None => ui.ctx().request_repaint_after(std::time::Duration::from_millis(100)),
            }
        }
        if let Some(query) = &mut self.query
            && let Some(answer) = query.poll()
        {
            self.status = Some(match answer {
                Ok(text) => (false, text),
                Err(e) => (true, stopped(&e)),
            });
            self.query = None;
        }
        if let Some(answer) = poll_slot(&mut self.exporting) {
            self.status = Some(match answer {
                Ok(Ok(path)) => {
                    let shown = path.display().to_string();
                    (false, Text::new(format!("已导出到 {shown}"), format!("Exported to {shown}")))
                }
                Ok(Err(e)) => (true, e.text()),
                Err(e) => (true, stopped(&e)),
            });
        }
    }

    fn take_dropped_files(&mut self, ui: &egui::Ui, ctx: &mut Ctx) {
        let dropped: Vec<PathBuf> =
            ui.ctx().input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_owned()).collect());
        if let Some(path) = dropped.into_iter().next()
            && self.job.is_none()
        {
            self.path.0.text = path.display().to_string();
            self.start_import(ctx, path);
        }
    }

    fn date(&mut self) -> Option<time::Date> {
        let date = recon::parse_date(&self.date_text);
        if date.is_none() {
            let t = &self.date_text;
            self.status = Some((
                true,
                Text::new(
                    format!("账单日期应写成 2026-11-24 的格式：“{t}”"),
                    format!("The bill date must look like 2026-11-24: {t:?}"),
                ),
            ));
        }
        date
    }

    /// Runs `work` as a job on the command queue (its own audited connection, off the UI thread), with a progress
    /// line and a Cancel button.
    fn spawn(
        &mut self,
        ctx: &Ctx,
        label: Text,
        reads_file: bool,
        work: impl FnOnce(&mut CoreSession, &ImportControl) -> Result<Done, Text> + Send + 'static,
    ) {
        // Importing, fetching and reconciling need an operator who may reconcile.
        if let Err(refused) = ctx.permit_text(Permission::Reconcile) {
            self.status = Some((true, refused));
            return;
        }
        let control = ImportControl::new();
        let worker_control = control.clone();
        let job = ctx.queue.submit_job(move |session, _progress: &crate::queue::Reporter<()>, _cancel| {
            // The Cancel button stops the import through its control (it rolls back), which the screen keeps.
            work(session, &worker_control)
        });
        self.status = None;
        self.job = Some(Work { label, control, started: Instant::now(), reads_file, job });
    }

    fn start_import(&mut self, ctx: &mut Ctx, path: PathBuf) {
        if path.as_os_str().is_empty() {
            self.status = Some((true, Text::new("请先选择账单文件", "Choose a bill file first")));
            return;
        }
        crate::ui::path_field::remember_folder(ctx, &path);
        let options = ImportOptions { accept_mismatched_totals: self.accept_mismatch, ..ImportOptions::default() };
        let shown = path.display().to_string();
        let label = Text::new(format!("正在导入 {shown}"), format!("Importing {shown}"));
        self.spawn(ctx, label, true, move |s, control| {
            let store = &mut s.store;
            if recon::settlement::is_account_file(&path) {
                let (name, keep) = (path.display().to_string(), Some(crate::store::archive::ArchiveSource::Imported));
                return recon::settlement::import_account_file(store, &path, &name, None, None, keep)
                    .map(|a| Done::Said(Text::new(a.message(Lang::ZhCn), a.message(Lang::En))))
                    .map_err(|e| e.text());
            }
            recon::import_file(store, &path, &options, control)
                .map(|o| Done::Imported(Box::new(o)))
                .map_err(|e| e.text())
        });
    }

    /// The client of `kind` (see [`channel_of`]).
    fn channel(&self, kind: AcquirerKind) -> Option<(AcquirerId, Arc<dyn Channel>)> {
        channel_of(self.channels.as_ref(), self.app_router.router.as_ref(), kind)
    }

    fn start_fetch(&mut self, ctx: &Ctx) {
        let Some(date) = self.date() else { return };
        let kind = self.acquirer.unwrap_or(AcquirerKind::WechatPay);
        let (Some((account, channel)), Some(runtime)) = (self.channel(kind), ctx.runtime.clone()) else {
            self.status = Some((
                true,
                Text::new(
                    "该收单机构的接口尚未配置，无法下载账单；请从商户平台下载后用“导入”。",
                    "This acquirer's client is not set up, so the bill cannot be fetched; download it from the merchant \
                     portal and use Import.",
                ),
            ));
            return;
        };
        let data_dir = ctx.home.dir.clone();
        let day = recon::date_text(date);
        let label = Text::new(format!("正在下载账单 {day}"), format!("Fetching the bill of {day}"));
        self.spawn(ctx, label, false, move |s, control| {
            // The download is network work: the job's blocking thread waits for it on the app's runtime.
            let bill = runtime.block_on(recon::fetch::fetch(channel.as_ref(), date)).map_err(|e| e.text())?;
            recon::fetch::save_and_import(&mut s.store, &data_dir, account, channel.as_ref(), date, &bill, control)
                .map(|o| Done::Imported(Box::new(o)))
                .map_err(|e| e.text())
        });
    }

    fn start_reconcile(&mut self, ctx: &Ctx) {
        let lang = ctx.lang;
        let Some(date) = self.date() else { return };
        let kind = self.acquirer.unwrap_or(AcquirerKind::WechatPay);
        let day = recon::date_text(date);
        let label = Text::new(format!("正在对账 {day}"), format!("Reconciling {day}"));
        self.spawn(ctx, label, false, move |s, _| {
            let store = &mut s.store;
            let options = ReconOptions::from_settings(store).map_err(|e| e.text())?;
            let report = recon::reconcile(store, kind, date, &options, lang).map_err(|e| e.text())?;
            Ok(Done::Reconciled(Box::new(report), history::read_runs(s).ok()))
        });
    }

    fn job_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        let Some(work) = &self.job else { return };
        let rows = work.control.rows();
        let secs = work.started.elapsed().as_secs_f64().max(0.001);
        ui.horizontal_wrapped(|ui| {
            ui.label(work.label.get(lang));
            let bar = if work.reads_file {
                egui::ProgressBar::new(work.control.fraction()).show_percentage()
            } else {
                egui::ProgressBar::new(0.0).animate(true)
            };
            ui.add(bar.desired_width(240.0));
            if work.reads_file {
                ui.label(format!(
                    "{rows} {} · {:.0} {}",
                    lang.pick("行", "rows"),
                    rows as f64 / secs,
                    lang.pick("行/秒", "rows/s")
                ));
            }
            if ui.button(lang.pick("取消", "Cancel")).clicked() {
                work.control.cancel();
                work.job.cancel.cancel();
            }
        });
    }

    /// Asks the acquirer about a difference's trade (a network job on the queue); the answer becomes the status.
    fn query_acquirer(&mut self, ctx: &Ctx, kind: AcquirerKind, item: &Item) {
        let Some(out_trade_no) = item.out_trade_no.clone() else { return };
        let Some((_, channel)) = self.channel(kind) else {
            self.status = Some((true, not_set_up()));
            return;
        };
        let no = out_trade_no.clone();
        let started = ctx.queue.start(move |_progress: crate::queue::Reporter<()>, _cancel| async move {
            query_words(&no, channel.query(&out_trade_no).await)
        });
        match started {
            Ok(job) => {
                self.query = Some(job);
                let no = item.out_trade_no.as_deref().unwrap_or("");
                self.status = Some((false, Text::new(format!("正在查询 {no}"), format!("Querying {no}"))));
            }
            // No network runtime: as without a client.
            Err(_) => self.status = Some((true, not_set_up())),
        }
    }

    /// Exports the report under <data>/exports (a command on the queue: it writes a file).
    fn export(&mut self, ctx: &Ctx, report: &Report, extension: &str) {
        let lang = ctx.lang;
        if let Err(refused) = ctx.permit_text(Permission::Export) {
            self.status = Some((true, refused));
            return;
        }
        if self.exporting.is_some() {
            return;
        }
        let path = ctx.home.dir.join("exports").join(recon::export::default_file_name(report, extension));
        let (report, xlsx) = (report.clone(), extension == "xlsx");
        self.exporting = Some(ctx.queue.submit(move |_| {
            if xlsx {
                recon::export::write_xlsx(&report, &path, lang)?;
            } else {
                recon::export::write_csv(&report, &path, lang)?;
            }
            Ok(path)
        }));
    }
}

/// Why a trade cannot be queried.
fn not_set_up() -> Text {
    Text::new("该收单机构的接口尚未配置，无法查询。", "This acquirer's client is not set up, so it cannot be queried.")
}

/// What the acquirer said about the trade `no`, in both languages.
fn query_words(no: &str, answer: QueryResult) -> Text {
    let said = |zh: &str, en: &str| Text::new(format!("{no}：{zh}"), format!("{no}: {en}"));
    match answer {
        QueryResult::Paid(t) => {
            let amount = t.amount.map(|a| a.to_string()).unwrap_or_default();
            let trade_no = t.trade_no.unwrap_or_default();
            Text::new(
                format!("{no}：收单机构显示已支付 {amount} {trade_no}"),
                format!("{no}: the acquirer says paid {amount} {trade_no}"),
            )
        }
        QueryResult::Waiting(_) => said("等待顾客确认", "waiting for the customer"),
        QueryResult::Closed(_) => said("已关闭、撤销或全额退款", "closed, cancelled or fully refunded"),
        QueryResult::NotFound => said("收单机构没有这笔交易", "the acquirer has no such trade"),
        QueryResult::Unknown(e) => {
            tracing::warn!(error = %e, "trade query");
            Text::new(format!("{no}：查询未成功（详情见日志）"), format!("{no}: the query failed: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::TradeInfo;

    #[test]
    fn a_query_answer_is_said_in_both_languages_with_the_order_number() {
        let paid = TradeInfo {
            trade_no: Some("4200002026112400000004".into()),
            amount: Some(crate::money::Amount::from_fen(2_200)),
            ..TradeInfo::default()
        };
        let said = query_words("W005", QueryResult::Paid(paid));
        assert_eq!(said.get(Lang::ZhCn), "W005：收单机构显示已支付 22.00 4200002026112400000004");
        assert_eq!(said.get(Lang::En), "W005: the acquirer says paid 22.00 4200002026112400000004");
        assert_eq!(query_words("W003", QueryResult::NotFound).get(Lang::ZhCn), "W003：收单机构没有这笔交易");
        let closed = query_words("W003", QueryResult::Closed(TradeInfo::default()));
        assert_eq!(closed.get(Lang::En), "W003: closed, cancelled or fully refunded");
        let failed = query_words("W001", QueryResult::Unknown("timeout".into()));
        assert_eq!(failed.get(Lang::ZhCn), "W001：查询未成功（详情见日志）");
        assert!(failed.get(Lang::En).contains("timeout"));
    }
}
