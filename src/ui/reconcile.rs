//! 对账 Reconciliation: fetch or open a day's bill (native dialog, path field or drag and drop), import it with a
//! progress bar and a cancel button, reconcile, and work through the report: summary cards, the discrepancy table
//! with filters and per-row actions, the history of runs, export to CSV/XLSX.
//!
//! Imports, fetches and runs go to a background thread with their own database connection (WAL lets the screen
//! keep reading); results come back through a channel the screen polls each frame.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::Instant;

use crate::channel::{Channel, QueryResult};
use crate::i18n::{Lang, Phrase, Text};
use crate::model::{AcquirerKind, DiscrepancyId, DiscrepancyKind};
use crate::money::Amount;
use crate::recon::report::{CountAmount, Item, field_advice, field_label, field_value, kind_label};
use crate::recon::{self, ImportControl, ImportOptions, ImportOutcome, ReconOptions, Report};
use crate::store::Store;
use crate::store::operators::Permission;
use crate::store::recon::StoredRun;
use crate::ui::Ctx;
use crate::ui::path_field::{PathEvent, PathField, Pick};
use crate::ui::words_recon::{acquirer_words, fee_label, fee_text, fee_text_of};

/// Gives the screen an acquirer's client, for fetching bills and querying trades. The app wires the real clients;
/// without a source those two buttons say the channel is not set up.
pub trait ChannelSource: Send + Sync {
    /// The account of this kind the screen works with, and its client.
    fn channel(&self, kind: AcquirerKind) -> Option<(crate::model::AcquirerId, Arc<dyn Channel>)>;
}

impl ChannelSource for crate::routing::Router {
    fn channel(&self, kind: AcquirerKind) -> Option<(crate::model::AcquirerId, Arc<dyn Channel>)> {
        self.accounts().into_iter().find(|(a, _)| a.kind == kind).map(|(a, c)| (a.id, c))
    }
}

enum Done {
    Imported(Box<ImportOutcome>),
    Reconciled(Box<Report>),
    /// Something done that only needs saying (an Alipay account bill imported).
    Said(Text),
}

struct Job {
    label: Text,
    control: ImportControl,
    started: Instant,
    /// Whether the job reads a file (a progress fraction and rows/s are known).
    reads_file: bool,
    rx: Receiver<Result<Done, Text>>,
}

/// The 对账 screen.
#[derive(Default)]
pub struct ReconcileScreen {
    acquirer: Option<AcquirerKind>,
    date_text: String,
    /// The bill file: typed, from the recent folders or the system dialog.
    path: BillPath,
    accept_mismatch: bool,
    job: Option<Job>,
    /// (is an error, text)
    status: Option<(bool, Text)>,
    report: Option<Report>,
    runs: Option<Vec<StoredRun>>,
    filter: Option<DiscrepancyKind>,
    show_resolved: bool,
    search: String,
    /// Resolving differences and closing the day (see `reconcile_resolve`).
    resolve: super::reconcile_resolve::ResolvePanel,
    query: Option<Receiver<Text>>,
    /// The acquirers' clients (set by the app).
    pub channels: Option<Arc<dyn ChannelSource>>,
    /// 结算核对: the Alipay account bill against the trade bill.
    settlement: crate::ui::reconcile_settlement::SettlementCard,
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

fn amount_or_dash(a: Option<Amount>) -> String {
    a.map(|a| a.to_string()).unwrap_or_else(|| "—".into())
}

impl ReconcileScreen {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        if self.date_text.is_empty() {
            self.date_text = yesterday_in_china();
        }
        let acquirer = *self.acquirer.get_or_insert(AcquirerKind::WechatPay);
        self.poll(ui, ctx);
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
            let (date, channel) = (recon::parse_date(&self.date_text), self.channel(ctx, AcquirerKind::Alipay));
            self.settlement.ui(ui, ctx, date, channel);
        }
        ui.add_space(8.0);
        self.history_ui(ui, ctx);
    }

    /// Picks up finished work.
    fn poll(&mut self, ui: &egui::Ui, _ctx: &mut Ctx) {
        if let Some(job) = &self.job {
            match job.rx.try_recv() {
                Ok(Ok(Done::Imported(outcome))) => {
                    let outcome = *outcome;
                    let text = Text::new(outcome.message(Lang::ZhCn), outcome.message(Lang::En));
                    self.status = Some((false, text));
                    self.acquirer = Some(outcome.acquirer);
                    self.date_text = outcome.bill.bill_date.clone();
                    self.job = None;
                }
                Ok(Ok(Done::Reconciled(report))) => {
                    let n = report.discrepancies.len();
                    self.status =
                        Some((false, Text::new(format!("对账完成，差异 {n}"), format!("Reconciled: differences {n}"))));
                    self.report = Some(*report);
                    self.runs = None;
                    self.job = None;
                }
                Ok(Ok(Done::Said(text))) => {
                    self.status = Some((false, text));
                    self.job = None;
                }
                Ok(Err(message)) => {
                    self.status = Some((true, message));
                    self.job = None;
                }
                Err(TryRecvError::Empty) => ui.ctx().request_repaint_after(std::time::Duration::from_millis(100)),
                Err(TryRecvError::Disconnected) => {
                    self.status = Some((true, Text::new("后台任务意外结束", "the background task ended unexpectedly")));
                    self.job = None;
                }
            }
        }
        if let Some(rx) = &self.query {
            match rx.try_recv() {
                Ok(text) => {
                    self.status = Some((false, text));
                    self.query = None;
                }
                Err(TryRecvError::Disconnected) => self.query = None,
                Err(TryRecvError::Empty) => ui.ctx().request_repaint_after(std::time::Duration::from_millis(200)),
            }
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

    fn spawn(
        &mut self,
        ctx: &Ctx,
        label: Text,
        reads_file: bool,
        work: impl FnOnce(&mut Store, &ImportControl) -> Result<Done, Text> + Send + 'static,
    ) {
        // Importing, fetching and reconciling need an operator who may reconcile.
        if let Err(refused) = ctx.permit_text(Permission::Reconcile) {
            self.status = Some((true, refused));
            return;
        }
        let operator = ctx.operator_id();
        let db = ctx.home.store.path().to_owned();
        let control = ImportControl::new();
        let (tx, rx) = channel();
        let worker_control = control.clone();
        std::thread::spawn(move || {
            let result = Store::open(&db)
                .and_then(|mut store| store.set_audit_session(operator, crate::ui::AUDIT_ACTOR_WINDOW).map(|()| store))
                .map_err(|e| crate::ui::words_backoffice::store_error(&e))
                .and_then(|mut store| work(&mut store, &worker_control));
            let _ = tx.send(result);
        });
        self.status = None;
        self.job = Some(Job { label, control, started: Instant::now(), reads_file, rx });
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
        self.spawn(ctx, label, true, move |store, control| {
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

    /// The client of `kind`: the one the app handed over, else the app's own gateways (the embedded sandbox).
    fn channel(&self, ctx: &Ctx, kind: AcquirerKind) -> Option<(crate::model::AcquirerId, Arc<dyn Channel>)> {
        match &self.channels {
            Some(source) => source.channel(kind),
            None => ctx.router().ok().and_then(|r| r.channel(kind)),
        }
    }

    fn start_fetch(&mut self, ctx: &Ctx) {
        let Some(date) = self.date() else { return };
        let kind = self.acquirer.unwrap_or(AcquirerKind::WechatPay);
        let (Some((account, channel)), Some(runtime)) = (self.channel(ctx, kind), ctx.runtime.clone()) else {
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
        self.spawn(ctx, label, false, move |store, control| {
            let bill = runtime.block_on(recon::fetch::fetch(channel.as_ref(), date)).map_err(|e| e.text())?;
            recon::fetch::save_and_import(store, &data_dir, account, channel.as_ref(), date, &bill, control)
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
        self.spawn(ctx, label, false, move |store, _| {
            let options = ReconOptions::from_settings(store).map_err(|e| e.text())?;
            recon::reconcile(store, kind, date, &options, lang)
                .map(|r| Done::Reconciled(Box::new(r)))
                .map_err(|e| e.text())
        });
    }

    fn job_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        let Some(job) = &self.job else { return };
        let rows = job.control.rows();
        let secs = job.started.elapsed().as_secs_f64().max(0.001);
        ui.horizontal_wrapped(|ui| {
            ui.label(job.label.get(lang));
            let bar = if job.reads_file {
                egui::ProgressBar::new(job.control.fraction()).show_percentage()
            } else {
                egui::ProgressBar::new(0.0).animate(true)
            };
            ui.add(bar.desired_width(240.0));
            if job.reads_file {
                ui.label(format!(
                    "{rows} {} · {:.0} {}",
                    lang.pick("行", "rows"),
                    rows as f64 / secs,
                    lang.pick("行/秒", "rows/s")
                ));
            }
            if ui.button(lang.pick("取消", "Cancel")).clicked() {
                job.control.cancel();
            }
        });
    }

    fn report_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, report: &Report) {
        let lang = ctx.lang;
        ui.horizontal_wrapped(|ui| {
            ui.strong(format!(
                "{} {} · {}",
                acquirer_words(report.acquirer, lang),
                report.bill_date,
                lang.pick("对账结果", "reconciliation")
            ));
            ui.weak(format!("#{}", report.run_id));
        });
        // The bills whose own totals do not add up (imported flagged): named here, the detail on hover.
        for b in report.bills.iter().filter(|b| b.totals_mismatch.is_some()) {
            let text = match lang {
                Lang::ZhCn => format!("注意：{} 自身的合计与明细不符", b.source_name),
                Lang::En => format!("Warning: {}: the bill's own totals do not match its rows", b.source_name),
            };
            ui.colored_label(ui.visuals().warn_fg_color, text)
                .on_hover_text(b.totals_mismatch.as_deref().unwrap_or_default());
        }
        if let Some(update) = self.resolve.ui(ui, ctx, report) {
            self.status = Some(update.status);
            self.report = update.report;
        }
        // Summary cards: a row that wraps whole cards, top-aligned.
        ui.with_layout(egui::Layout::left_to_right(egui::Align::TOP).with_main_wrap(true), |ui| {
            card(
                ui,
                lang.pick("已匹配", "Matched"),
                &format!("{}", report.matched.count),
                &report.matched.amount.to_string(),
            );
            for k in &report.kinds {
                let value = format!(
                    "{} {} / {} {}",
                    lang.pick("账单", "bill"),
                    k.bill_amount,
                    lang.pick("本地", "local"),
                    k.local_amount
                );
                card(ui, kind_label(k.kind, lang), &k.count.to_string(), &value);
            }
            card(
                ui,
                lang.pick("跨日待核", "Waiting (midnight)"),
                &report.pending.count.to_string(),
                &report.pending.amount.to_string(),
            );
            card(
                ui,
                lang.pick("自前日顺延", "Carried in"),
                &report.carry.in_matched.count.to_string(),
                &report.carry.in_matched.amount.to_string(),
            );
            let f = &report.fees;
            let exact = format!("{}{}", lang.pick("账单中的精确值：", "Exact value in the bill: "), f.fee);
            card(
                ui,
                lang.pick("手续费", "Fees"),
                &fee_text(f.fee_fen),
                &format!("{} {}", lang.pick("净额", "net"), f.net),
            )
            .on_hover_text(exact);
        });
        let f = &report.fees;
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            let weak = |ui: &mut egui::Ui, t: String| {
                ui.weak(t);
            };
            weak(
                ui,
                format!(
                    "{} {}: {} {} ({}) · {} {} ({}) · {}",
                    lang.pick("当日汇总", "Day summary"),
                    f.bill_date,
                    lang.pick("收款", "payments"),
                    f.payments.count,
                    f.payments.amount,
                    lang.pick("退款", "refunds"),
                    f.refunds.count,
                    f.refunds.amount,
                    lang.pick("手续费", "fees"),
                ),
            );
            fee_label(ui, f.fee_fen, &f.fee, lang);
            weak(
                ui,
                format!(
                    "· {} {} · {} {}",
                    lang.pick("优惠", "discounts"),
                    f.discounts,
                    lang.pick("净额", "net"),
                    f.net
                ),
            );
        });

        let c = &report.carry;
        let n = |x: &CountAmount| format!("{} ({})", x.count, x.amount);
        ui.weak(format!(
            "{} {}: {} {} · {} {} · {} {}; {}: {} {} · {} {}; {} {}",
            lang.pick("跨日顺延，截止时间", "Carry-over, cut-off"),
            report.cutoff,
            lang.pick("转出 待次日账单", "out: waiting for the next day's bill"),
            n(&c.out_waiting),
            lang.pick("次日账单已列", "listed by it"),
            n(&c.out_matched),
            lang.pick("次日账单仍缺", "missing there too"),
            n(&c.out_missing),
            lang.pick("转入", "in"),
            lang.pick("已匹配", "matched"),
            n(&c.in_matched),
            lang.pick("两日账单均无", "in neither bill"),
            n(&c.in_missing),
            lang.pick("待前日账单", "waiting for the previous day's bill"),
            n(&c.back_waiting),
        ));
        ui.weak(format!(
            "{}{}{}{}",
            lang.pick(
                "逐笔核对：订单金额、状态、退款金额、收款时间（容差 ",
                "Compared per row: order amount, status, refund amount, payment time (within ",
            ),
            report.time_tolerance_minutes,
            lang.pick(" 分钟）、商户号（账单有时）；手续费：", " min), merchant id (where the bill names one); fee: "),
            match &report.fee_rate {
                Some(rate) => format!("{}{rate}", lang.pick("按账户费率 ", "against the account's rate ")),
                None => lang
                    .pick(
                        "未核对（订单不记手续费，账户未设费率）",
                        "not compared (orders carry no fee and the account has no fee rate)",
                    )
                    .to_owned(),
            }
        ));

        // Filters and export.
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.pick("筛选", "Filter"));
            if ui.selectable_label(self.filter.is_none(), lang.pick("全部", "All")).clicked() {
                self.filter = None;
            }
            for kind in DiscrepancyKind::ALL {
                if ui.selectable_label(self.filter == Some(*kind), kind_label(*kind, lang)).clicked() {
                    self.filter = Some(*kind);
                }
            }
            ui.checkbox(&mut self.show_resolved, lang.pick("显示已处理", "show resolved"));
            let label = ui.label(lang.pick("搜索订单号", "Search order no."));
            ui.add(egui::TextEdit::singleline(&mut self.search).desired_width(140.0)).labelled_by(label.id);
            ui.separator();
            if ui.button(lang.pick("导出 CSV", "Export CSV")).clicked() {
                self.export(ctx, report, "csv");
            }
            if ui.button(lang.pick("导出 Excel", "Export Excel")).clicked() {
                self.export(ctx, report, "xlsx");
            }
        });

        let search = self.search.trim().to_owned();
        let items: Vec<&Item> = report
            .discrepancies
            .iter()
            .filter(|d| self.filter.is_none_or(|k| d.kind == k))
            .filter(|d| self.show_resolved || !d.resolved)
            .filter(|d| {
                search.is_empty()
                    || d.out_trade_no.as_deref().is_some_and(|n| n.contains(&search))
                    || d.out_request_no.as_deref().is_some_and(|n| n.contains(&search))
            })
            .collect();
        if items.is_empty() {
            ui.label(lang.pick("没有需要处理的差异。", "No differences to work on."));
            return;
        }
        let mut action: Option<RowAction> = None;
        egui::ScrollArea::both().max_height(300.0).auto_shrink([false, true]).show(ui, |ui| {
            egui::Grid::new("discrepancies").striped(true).num_columns(6).spacing([12.0, 6.0]).show(ui, |ui| {
                for h in [
                    lang.pick("类型", "Kind"),
                    lang.pick("商户订单号", "out_trade_no"),
                    lang.pick("本地", "Local"),
                    lang.pick("账单", "Bill"),
                    lang.pick("说明与建议", "Explanation and suggestion"),
                    lang.pick("操作", "Actions"),
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for d in items {
                    ui.label(kind_label(d.kind, lang));
                    ui.vertical(|ui| {
                        ui.monospace(d.out_trade_no.as_deref().unwrap_or("—"));
                        if let Some(r) = &d.out_request_no {
                            ui.weak(format!("{}{r}", lang.pick("退款单号 ", "refund ")));
                        }
                    });
                    ui.label(format!(
                        "{}\n{}",
                        amount_or_dash(d.local_amount),
                        d.local_status.as_deref().unwrap_or("")
                    ));
                    ui.label(format!("{}\n{}", amount_or_dash(d.bill_amount), d.bill_status.as_deref().unwrap_or("")));
                    ui.vertical(|ui| {
                        ui.set_max_width(380.0);
                        ui.label(d.reason.explanation(lang));
                        ui.weak(format!("{}{}", lang.pick("建议：", "Suggested: "), d.reason.action(lang)));
                        for f in &d.fields {
                            // Fees by the one rule: fen on screen, the exact values on hover.
                            let value = |v: &str| match f.field {
                                crate::recon::report::DiffField::Fee if !v.is_empty() => fee_text_of(v),
                                _ => field_value(f.field, v),
                            };
                            let line = ui.label(format!(
                                "{}{} {}{} {}",
                                field_label(f.field, lang),
                                lang.pick("：账单", ": bill"),
                                value(&f.bill),
                                lang.pick("，本地", ", till"),
                                value(&f.local),
                            ));
                            if f.field == crate::recon::report::DiffField::Fee {
                                line.on_hover_text(format!(
                                    "{}{} / {}",
                                    lang.pick("精确值：账单 / 本地 ", "Exact values: bill / till "),
                                    f.bill,
                                    f.local
                                ));
                            }
                            if let Some(advice) = field_advice(f, lang) {
                                ui.weak(advice);
                            }
                        }
                        if d.resolved {
                            ui.label(format!(
                                "{}{}",
                                lang.pick("已处理：", "Resolved: "),
                                d.note.as_deref().unwrap_or("")
                            ));
                        }
                    });
                    ui.vertical(|ui| {
                        if d.out_trade_no.is_some()
                            && ui.small_button(lang.pick("查询收单机构", "Query acquirer")).clicked()
                        {
                            action = Some(RowAction::Query(Box::new(d.clone())));
                        }
                        if !d.resolved
                            && d.reason.can_adopt()
                            && ui.small_button(lang.pick("补录为本地订单", "Adopt as local order")).clicked()
                        {
                            action = Some(RowAction::Adopt(d.id));
                        }
                        let open =
                            if d.resolved { ("重新打开", "Reopen") } else { ("标记已处理", "Mark resolved") };
                        if ui.small_button(lang.pick(open.0, open.1)).clicked() {
                            action = Some(RowAction::Resolve(Box::new(d.clone())));
                        }
                    });
                    ui.end_row();
                }
            });
        });
        if let Some(action) = action {
            self.apply(ctx, report, action);
        }
    }

    fn apply(&mut self, ctx: &mut Ctx, report: &Report, action: RowAction) {
        match action {
            RowAction::Query(item) => self.query_acquirer(ctx, report.acquirer, &item),
            RowAction::Resolve(item) => self.resolve.open(&item),
            RowAction::Adopt(id) => {
                if let Some(update) = self.resolve.adopt(ctx, report, id) {
                    self.status = Some(update.status);
                }
            }
        }
    }

    fn query_acquirer(&mut self, ctx: &Ctx, kind: AcquirerKind, item: &Item) {
        let Some(out_trade_no) = item.out_trade_no.clone() else { return };
        let (Some((_, channel)), Some(runtime)) = (self.channel(ctx, kind), ctx.runtime.clone()) else {
            self.status = Some((
                true,
                Text::new(
                    "该收单机构的接口尚未配置，无法查询。",
                    "This acquirer's client is not set up, so it cannot be queried.",
                ),
            ));
            return;
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let no = out_trade_no.clone();
        runtime.spawn(async move {
            let said = |zh: &str, en: &str| Text::new(format!("{no}：{zh}"), format!("{no}: {en}"));
            let answer = match channel.query(&out_trade_no).await {
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
            };
            let _ = tx.send(answer);
        });
        self.query = Some(rx);
        let no = item.out_trade_no.as_deref().unwrap_or("");
        self.status = Some((false, Text::new(format!("正在查询 {no}"), format!("Querying {no}"))));
    }

    fn export(&mut self, ctx: &Ctx, report: &Report, extension: &str) {
        let lang = ctx.lang;
        if let Err(refused) = ctx.permit_text(Permission::Export) {
            self.status = Some((true, refused));
            return;
        }
        let path = ctx.home.dir.join("exports").join(recon::export::default_file_name(report, extension));
        let result = if extension == "xlsx" {
            recon::export::write_xlsx(report, &path, lang)
        } else {
            recon::export::write_csv(report, &path, lang)
        };
        let shown = path.display().to_string();
        self.status = Some(match result {
            Ok(()) => (false, Text::new(format!("已导出到 {shown}"), format!("Exported to {shown}"))),
            Err(e) => (true, e.text()),
        });
    }

    fn history_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        egui::CollapsingHeader::new(lang.pick("对账历史", "History of runs")).default_open(true).show(ui, |ui| {
            if self.runs.is_none() {
                self.runs = Some(ctx.home.store.recon_runs(20).unwrap_or_default());
            }
            let runs = self.runs.clone().unwrap_or_default();
            if runs.is_empty() {
                ui.label(lang.pick("还没有对账记录", "No runs yet"));
            }
            let acquirers = ctx.home.store.acquirers().unwrap_or_default();
            for run in runs {
                let kind = run.acquirer_id.and_then(|id| acquirers.iter().find(|a| a.id == id)).map(|a| a.kind);
                let summary: Option<Report> = serde_json::from_str(&run.summary_json).ok();
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "#{} {} {} · {} {}",
                        run.id,
                        run.bill_date.as_deref().unwrap_or(""),
                        kind.map(|k| acquirer_words(k, lang)).unwrap_or(""),
                        lang.pick("对账于", "run at"),
                        crate::time::to_china_display(&run.started_at),
                    ));
                    if let Some(s) = &summary {
                        let differences: i64 = s.kinds.iter().map(|k| k.count).sum();
                        ui.weak(format!(
                            "{} {} · {} {}",
                            lang.pick("匹配", "matched"),
                            s.matched.count,
                            lang.pick("差异", "differences"),
                            differences
                        ));
                    }
                    if ui.small_button(lang.pick("查看", "Open")).clicked() {
                        match recon::load_report(&ctx.home.store, run.id, lang) {
                            Ok(r) => {
                                // The fields follow the run opened (its day and acquirer).
                                self.date_text = r.bill_date.clone();
                                self.acquirer = Some(r.acquirer);
                                self.report = Some(r);
                            }
                            Err(e) => self.status = Some((true, e.text())),
                        }
                    }
                });
            }
        });
    }
}

enum RowAction {
    Query(Box<Item>),
    Adopt(DiscrepancyId),
    /// Open the resolve (or reopen) dialog.
    Resolve(Box<Item>),
}

/// The width of a summary card: fixed, so that a row of cards wraps to the next line as a whole card instead of
/// squeezing (and cutting) the last one on a narrow window.
const CARD_WIDTH: f32 = 150.0;

fn card(ui: &mut egui::Ui, title: &str, big: &str, small: &str) -> egui::Response {
    let size = egui::vec2(CARD_WIDTH, 0.0);
    ui.allocate_ui(size, |ui| {
        egui::Frame::group(ui.style())
            .inner_margin(egui::Margin::symmetric(10, 6))
            .show(ui, |ui| {
                let inner = CARD_WIDTH - 20.0;
                ui.set_width(inner);
                ui.set_min_height(64.0);
                ui.vertical(|ui| {
                    ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Wrap);
                    ui.weak(title);
                    ui.heading(big);
                    ui.label(small);
                });
            })
            .response
    })
    .inner
}
