//! The 对账 screen's resolution workflow: the resolve dialog of a difference (kind, note, the bill row for
//! "matched", the refund for "refunded"), reopening, adopting, and the day bar (open or closed, who and when, Close
//! day — disabled with the reason while differences are open —, Reopen day, export of the closed day's frozen
//! report). Everything that reads or writes the database or a file runs on a background thread
//! (through the command queue, [`crate::queue`]); the screen gets back a fresh report and a status line.

use crate::i18n::{Lang, Phrase, Text};
use crate::model::{AcquirerId, DiscrepancyId, ResolutionKind};
use crate::queue::{CoreSession, Ticket};
use crate::recon::report::{Item, Reason, Report};
use crate::recon::resolve::{self, ResolveAs, ResolveError, Resolved, china_display, kind_label, suggested_kind};
use crate::recon::{self, ReconError};
use crate::store::StoreError;
use crate::store::operators::Permission;
use crate::store::recon_days::{BillRowPick, Refused};
use crate::ui::Ctx;

/// What the panel hands back to the screen.
pub struct Update {
    /// (is an error, text)
    pub status: (bool, Text),
    /// The report again, as it is now.
    pub report: Option<Report>,
}

/// The day of the report shown: open or closed.
#[derive(Debug, Clone)]
struct DayInfo {
    acquirer_id: AcquirerId,
    date: time::Date,
    latest_run: Option<i64>,
    open: i64,
    closed: Option<crate::store::recon_days::ClosedDay>,
}

/// What a background action did, in the words of both languages.
struct Done {
    zh: String,
    en: String,
    report: Option<Report>,
    day: Option<DayInfo>,
}

type Work = Ticket<Result<Done, ResolveError>>;

/// The resolve (or reopen) dialog of one of this till's differences.
struct Dialog {
    item: Item,
    form: ResolveForm,
}

/// A bill row offered for "matched by hand".
pub struct RowChoice {
    pub line: i64,
    pub trade_no: Option<String>,
    /// Yuan text.
    pub amount: String,
}

/// What the dialog was asked to do this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    Nothing,
    Save,
    Close,
}

/// The resolve (or reopen) dialog's fields and window, the same for this till's differences and a merchant
/// backend's (`ui/reconcile/remote_resolve.rs`): the kind (adopting only where the reason allows it), the bill row for
/// "matched", the refund for "refunded", the note (focused when the dialog opens; Enter saves), Save and Cancel (Esc).
pub struct ResolveForm {
    /// "#12 W008" as the dialog heads it.
    heading: String,
    reason: Option<Reason>,
    /// Reopening a resolved difference (only the note is asked).
    pub reopen: bool,
    pub kind: ResolutionKind,
    pub note: String,
    bill_row: String,
    out_request_no: String,
    /// The note field is focused once, when the dialog opens.
    focused: bool,
}

impl ResolveForm {
    /// The dialog of a difference: `reopen` when it is resolved; the kind starts as the reason suggests.
    pub fn new(
        id: i64,
        out_trade_no: Option<&str>,
        out_request_no: Option<&str>,
        reason: Option<Reason>,
        reopen: bool,
    ) -> ResolveForm {
        ResolveForm {
            heading: format!("#{id} {} {}", out_trade_no.unwrap_or("—"), out_request_no.unwrap_or("")),
            reason,
            reopen,
            kind: reason.map_or(ResolutionKind::Adjusted, suggested_kind),
            note: String::new(),
            bill_row: String::new(),
            out_request_no: out_request_no.unwrap_or_default().to_owned(),
            focused: false,
        }
    }

    /// matched: the bill row typed or picked.
    pub fn pick(&self) -> Option<BillRowPick> {
        bill_row_pick(&self.bill_row)
    }

    /// refunded: the refund's out_request_no, if given.
    pub fn refund(&self) -> Option<String> {
        Some(self.out_request_no.trim().to_owned()).filter(|r| !r.is_empty())
    }

    /// The window; `rows` the bill rows offered for "matched".
    pub fn show(&mut self, ctx: &egui::Context, lang: Lang, rows: &[RowChoice], busy: bool) -> Asked {
        let mut asked = Asked::Nothing;
        let title = if self.reopen {
            lang.pick("重新打开差异", "Reopen a difference")
        } else {
            lang.pick("处理差异", "Resolve a difference")
        };
        egui::Window::new(title).collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label(&self.heading);
            if let Some(reason) = self.reason {
                ui.weak(reason.explanation(lang));
            }
            if !self.reopen {
                ui.horizontal_wrapped(|ui| {
                    ui.label(lang.pick("处理方式", "Resolution"));
                    for kind in ResolutionKind::ALL {
                        if *kind == ResolutionKind::Adopted && !self.reason.is_some_and(Reason::can_adopt) {
                            continue;
                        }
                        ui.radio_value(&mut self.kind, *kind, kind_label(*kind, lang));
                    }
                });
                if self.kind == ResolutionKind::Matched {
                    ui.horizontal(|ui| {
                        let label = ui.label(lang.pick("账单行号或交易号", "Bill line or trade_no"));
                        ui.add(egui::TextEdit::singleline(&mut self.bill_row).desired_width(220.0))
                            .labelled_by(label.id);
                    });
                    // The day's bill rows still open in this run, to pick from.
                    ui.horizontal_wrapped(|ui| {
                        for row in rows {
                            let text = format!(
                                "{}{} · {} · {}",
                                lang.pick("行 ", "line "),
                                row.line,
                                row.trade_no.as_deref().unwrap_or("—"),
                                row.amount
                            );
                            if ui.small_button(text).clicked() {
                                self.bill_row = row.line.to_string();
                            }
                        }
                    });
                }
                if self.kind == ResolutionKind::Refunded {
                    ui.horizontal(|ui| {
                        let label = ui.label(lang.pick("退款单号（可选）", "Refund out_request_no (optional)"));
                        ui.add(egui::TextEdit::singleline(&mut self.out_request_no).desired_width(220.0))
                            .labelled_by(label.id);
                    });
                }
            }
            ui.horizontal(|ui| {
                let label = ui.label(lang.pick("处理说明", "Note"));
                let field =
                    ui.add(egui::TextEdit::singleline(&mut self.note).desired_width(260.0)).labelled_by(label.id);
                if !self.focused {
                    field.request_focus();
                    self.focused = true;
                }
                // Enter in the note saves, as in a form.
                if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    asked = Asked::Save;
                }
            });
            ui.horizontal(|ui| {
                if ui.add_enabled(!busy, egui::Button::new(lang.pick("保存", "Save"))).clicked() {
                    asked = Asked::Save;
                }
                if ui.button(lang.pick("取消", "Cancel")).clicked() {
                    asked = Asked::Close;
                }
                if busy {
                    ui.spinner();
                }
            });
        });
        if ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
            asked = Asked::Close;
        }
        if asked == Asked::Save && busy { Asked::Nothing } else { asked }
    }
}

/// The resolution workflow of the 对账 screen.
#[derive(Default)]
pub struct ResolvePanel {
    dialog: Option<Dialog>,
    job: Option<Work>,
    /// The day state, and the run it was read for.
    day: Option<(i64, DayInfo)>,
    day_job: Option<(i64, Ticket<Result<DayInfo, ResolveError>>)>,
    /// The run whose day could not be read (not asked again every frame).
    day_failed: Option<i64>,
    reopen_note: String,
}

fn day_info(s: &CoreSession, run_id: i64) -> Result<DayInfo, ResolveError> {
    let store = &s.store;
    let run = store
        .recon()
        .recon_run(run_id)?
        .ok_or_else(|| StoreError::NotFound { what: "reconciliation run", key: run_id.to_string() })?;
    let (Some(acquirer_id), Some(day)) = (run.acquirer_id, run.bill_date.as_deref()) else {
        return Err(StoreError::NotFound { what: "reconciliation run", key: run_id.to_string() }.into());
    };
    let date = recon::parse_date(day).ok_or_else(|| ReconError::BadRun { run: run_id, message: day.to_owned() })?;
    let latest_run = store.recon().latest_run_of_day(acquirer_id, day)?;
    let open = match latest_run {
        Some(run) => store.recon().open_discrepancy_count(run)?,
        None => 0,
    };
    Ok(DayInfo { acquirer_id, date, latest_run, open, closed: store.recon().closed_day(acquirer_id, day)? })
}

/// A refusal or failure in the window's language (the core gives kinds and values).
pub fn phrase(e: &ResolveError, lang: Lang) -> String {
    match e {
        ResolveError::Recon(r) => r.phrase(lang),
        ResolveError::Store(s) => crate::ui::words_backoffice::store_error_words(s, lang),
        e if lang == Lang::En => e.to_string(),
        ResolveError::CannotAdopt { id, .. } => {
            format!("差异 #{id} 不能补录：只有收银台没有或未确认的账单收款才能补录为本地订单")
        }
        ResolveError::NoRun { date, .. } => format!("{date} 还没有对账，请先对账"),
    }
}

/// [`phrase`] in both languages, to keep in screen state.
pub fn phrase_text(e: &ResolveError) -> Text {
    Text::new(phrase(e, Lang::ZhCn), phrase(e, Lang::En))
}

/// A resolution or day closing the data does not allow, in Chinese (English: its `Display`).
pub fn refused_zh(r: &Refused) -> String {
    match r {
        Refused::NotLatestRun { id, latest, .. } => {
            format!("差异 #{id} 不属于当日最新的对账（#{latest}）：请打开最新的对账结果处理")
        }
        Refused::AlreadyResolved { id, .. } => format!("差异 #{id} 已处理；如需改为其他处理方式，请先重新打开"),
        Refused::NotResolved { id } => format!("差异 #{id} 尚未处理，无需重新打开"),
        Refused::NoteRequired => "请填写处理说明".to_owned(),
        Refused::BillRowNotFound { what, bill_date } => {
            let what = what.replace("line", "行号").replace("trade_no", "交易号");
            format!("{bill_date} 的账单里没有{what}")
        }
        Refused::BillRowAmbiguous { line, .. } => format!("第 {line} 行出现在多份账单里：请改填交易号"),
        Refused::BillRowMatched { line, trade_no } => {
            format!("账单第 {line} 行（交易号 {trade_no}）已与本地记录匹配，无需手工匹配")
        }
        Refused::NotLocalOnly { id, line } => {
            format!("差异 #{id} 本身就是账单第 {line} 行：只有账单里没有的本地记录才能与其他账单行手工匹配")
        }
        Refused::BillRowResolved { line, trade_no, .. } => {
            format!("账单第 {line} 行（交易号 {trade_no}）已处理")
        }
        Refused::BadOutRequestNo { out_request_no } => {
            format!("“{out_request_no}”不是退款单号（1 到 64 位字母、数字或 _-|*）")
        }
        Refused::RefundOfAnotherOrder { out_request_no, belongs_to, expected } => {
            format!("退款 {out_request_no} 属于订单 {belongs_to}，不是 {expected}")
        }
        Refused::CannotAdopt { id } => format!("差异 #{id} 没有可补录的账单收款"),
        Refused::NoRun { bill_date } => format!("{bill_date} 还没有对账，请先对账"),
        Refused::OpenDifferences { bill_date, count, .. } => {
            format!("{bill_date} 还有 {count} 条差异未处理：处理完才能结账")
        }
        Refused::StaleRun { bill_date, .. } => format!("{bill_date} 的账单在对账后有变动：请重新对账后再结账"),
        Refused::NotClosed { bill_date } => format!("{bill_date} 尚未结账"),
    }
}

/// A reconciliation error in the window's language.
pub fn phrase_recon(e: ReconError, lang: Lang) -> String {
    e.phrase(lang)
}

/// "6" → line 6; a longer number or text → a trade_no.
fn bill_row_pick(text: &str) -> Option<BillRowPick> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<i64>() {
        Ok(n) if text.len() <= 9 && n > 0 => Some(BillRowPick::Line(n)),
        _ => Some(BillRowPick::TradeNo(text.to_owned())),
    }
}

impl ResolvePanel {
    /// Opens the resolve dialog for a difference (or the reopen dialog when it is resolved).
    pub fn open(&mut self, item: &Item) {
        let form = ResolveForm::new(
            item.id.0,
            item.out_trade_no.as_deref(),
            item.out_request_no.as_deref(),
            Some(item.reason),
            item.resolved,
        );
        self.dialog = Some(Dialog { item: item.clone(), form });
    }

    /// Adopts a bill payment as the local order (a background job).
    pub fn adopt(&mut self, ctx: &Ctx, report: &Report, id: DiscrepancyId) -> Option<Update> {
        let note = ctx.lang.pick("按账单补录为本地订单", "adopted from the bill as a local order").to_owned();
        self.resolve(ctx, report, id, ResolveAs::Adopted, note)
    }

    fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// Runs `work` on a background thread for a clerk who may do `permission`; the report is read again after it.
    fn start(
        &mut self,
        ctx: &Ctx,
        permission: Permission,
        report: &Report,
        work: impl FnOnce(&mut CoreSession) -> Result<(String, String), ResolveError> + Send + 'static,
    ) -> Option<Update> {
        if let Err(refused) = ctx.permit_text(permission) {
            return Some(Update { status: (true, refused), report: None });
        }
        let (run_id, lang) = (report.run_id, ctx.lang);
        self.job = Some(ctx.queue.submit(move |s| {
            let (zh, en) = work(s)?;
            let report = recon::load_report(&s.store, run_id, lang)?;
            let day = day_info(s, run_id)?;
            Ok(Done { zh, en, report: Some(report), day: Some(day) })
        }));
        None
    }

    fn resolve(
        &mut self,
        ctx: &Ctx,
        report: &Report,
        id: DiscrepancyId,
        how: ResolveAs,
        note: String,
    ) -> Option<Update> {
        self.start(ctx, Permission::Reconcile, report, move |s| {
            let operator = None; // the audit session names the signed-in operator
            Ok(match resolve::resolve(&mut s.store, id, &how, &note, operator)? {
                Resolved::Plain => ("已标记为已处理".to_owned(), "Marked resolved".to_owned()),
                Resolved::Matched { line } => {
                    (format!("已与账单第 {line} 行手工匹配"), format!("Matched by hand to bill line {line}"))
                }
                Resolved::Adopted(order) => {
                    (format!("已补录本地订单 #{order}"), format!("Adopted as local order #{order}"))
                }
            })
        })
    }

    /// The day bar and the dialog; polls the background work. Returns what the screen should show.
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, report: &Report) -> Option<Update> {
        let mut update = self.poll();
        // The day's state, read in the background for the run shown.
        let fresh = self.day.as_ref().is_some_and(|(run, _)| *run == report.run_id);
        let loading = self.day_job.as_ref().is_some_and(|(run, _)| *run == report.run_id);
        if !fresh && !loading && self.day_failed != Some(report.run_id) {
            let run_id = report.run_id;
            let job = ctx.queue.submit(move |s| day_info(s, run_id));
            self.day_job = Some((run_id, job));
        }
        if let Some(u) = self.day_bar(ui, ctx, report) {
            update = Some(u);
        }
        if let Some(u) = self.dialog_ui(ui, ctx, report) {
            update = Some(u);
        }
        update
    }

    fn poll(&mut self) -> Option<Update> {
        if let Some((run, job)) = &mut self.day_job
            && let Some(answer) = job.poll()
        {
            let run = *run;
            self.day_job = None;
            let failed = match answer {
                Ok(Ok(day)) => {
                    self.day = Some((run, day));
                    None
                }
                Ok(Err(e)) => Some(phrase_text(&e)),
                Err(e) => Some(crate::i18n::Phrase::text(&e)),
            };
            if let Some(text) = failed {
                self.day_failed = Some(run);
                return Some(Update { status: (true, text), report: None });
            }
        }
        let answer = self.job.as_mut()?.poll()?;
        self.job = None;
        Some(match answer {
            Ok(Ok(done)) => {
                if let (Some(day), Some(report)) = (done.day, &done.report) {
                    self.day = Some((report.run_id, day));
                }
                self.dialog = None;
                Update { status: (false, Text::new(done.zh, done.en)), report: done.report }
            }
            Ok(Err(e)) => Update { status: (true, phrase_text(&e)), report: None },
            Err(e) => Update { status: (true, crate::i18n::Phrase::text(&e)), report: None },
        })
    }

    fn day_bar(&mut self, ui: &mut egui::Ui, ctx: &Ctx, report: &Report) -> Option<Update> {
        let lang = ctx.lang;
        let Some((_, day)) = self.day.clone().filter(|(run, _)| *run == report.run_id) else {
            if self.day_failed == Some(report.run_id) {
                return None;
            }
            ui.horizontal(|ui| {
                ui.spinner();
                ui.weak(lang.pick("正在读取当日结账状态…", "Reading the day's state…"));
            });
            return None;
        };
        let mut update = None;
        let busy = self.busy();
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                let day_text = recon::date_text(day.date);
                match &day.closed {
                    Some(c) => {
                        let (by, at) = (&c.closed_by_name, china_display(&c.closed_at));
                        ui.strong(match lang {
                            Lang::ZhCn => format!("当日 {day_text} 已结账 · 结账人 {by} · {at}（北京时间）"),
                            Lang::En => format!("Day {day_text} closed · by {by} · {at} (China time)"),
                        });
                        for (ext, label) in [
                            ("csv", lang.pick("导出结账报表 CSV", "Export closed day CSV")),
                            ("xlsx", lang.pick("导出结账报表 Excel", "Export closed day Excel")),
                        ] {
                            if ui.add_enabled(!busy, egui::Button::new(label)).clicked() {
                                update = self.export(ctx, report, &day, ext);
                            }
                        }
                        let label = ui.label(lang.pick("重新开账原因", "Reason to reopen"));
                        ui.add(egui::TextEdit::singleline(&mut self.reopen_note).desired_width(160.0))
                            .labelled_by(label.id);
                        let can = !busy && !self.reopen_note.trim().is_empty();
                        if ui.add_enabled(can, egui::Button::new(lang.pick("重新开账", "Reopen day"))).clicked() {
                            let note = std::mem::take(&mut self.reopen_note);
                            let (acquirer, date) = (day.acquirer_id, day.date);
                            update = self.start(ctx, Permission::Reconcile, report, move |s| {
                                resolve::reopen_day(&mut s.store, acquirer, date, &note, None)?;
                                Ok(("已重新开账".to_owned(), "The day is open again".to_owned()))
                            });
                        }
                    }
                    None => {
                        ui.strong(format!(
                            "{} {day_text} {} · {} {}",
                            lang.pick("当日", "Day"),
                            lang.pick("未结账", "open"),
                            lang.pick("未处理差异", "open differences"),
                            day.open
                        ));
                        let latest = day.latest_run == Some(report.run_id);
                        let why = if !latest {
                            Some(lang.pick("这不是当日最新的对账结果", "This is not the day's latest run").to_owned())
                        } else if day.open > 0 {
                            Some(format!(
                                "{}{}{}",
                                lang.pick("还有 ", "Resolve the "),
                                day.open,
                                lang.pick(
                                    " 条差异未处理，处理完才能结账",
                                    " open difference(s) before closing the day"
                                )
                            ))
                        } else {
                            None
                        };
                        let button =
                            ui.add_enabled(!busy && why.is_none(), egui::Button::new(lang.pick("结账", "Close day")));
                        if let Some(why) = &why {
                            ui.weak(why.as_str());
                        }
                        if button.clicked() {
                            let (acquirer, date) = (day.acquirer_id, day.date);
                            let by = ctx.operator.clone().unwrap_or_else(|| crate::ui::AUDIT_ACTOR_WINDOW.to_owned());
                            let at = crate::time::now_utc();
                            update = self.start(ctx, Permission::Reconcile, report, move |s| {
                                resolve::close_day(&mut s.store, acquirer, date, &by, None, &at)?;
                                Ok(("已结账，报表已冻结".to_owned(), "Day closed: its report is frozen".to_owned()))
                            });
                        }
                    }
                }
            });
        });
        update
    }

    /// Exports the closed day's frozen report under <data>/exports (in the background: file I/O).
    fn export(&mut self, ctx: &Ctx, report: &Report, day: &DayInfo, ext: &str) -> Option<Update> {
        let lang = ctx.lang;
        let (acquirer, date, dir, ext) = (day.acquirer_id, day.date, ctx.home.dir.join("exports"), ext.to_owned());
        self.start(ctx, Permission::Export, report, move |s| {
            let frozen = resolve::day_report(&s.store, acquirer, date)?;
            let path = dir.join(recon::export::day_file_name(&frozen, &ext));
            recon::export::write_day(&frozen, &path, lang)?;
            let shown = path.display().to_string();
            Ok((format!("已导出到 {shown}"), format!("Exported to {shown}")))
        })
    }

    fn dialog_ui(&mut self, ui: &mut egui::Ui, ctx: &Ctx, report: &Report) -> Option<Update> {
        let busy = self.busy();
        let dialog = self.dialog.as_mut()?;
        let rows: Vec<RowChoice> = report
            .discrepancies
            .iter()
            .filter(|o| o.id != dialog.item.id && !o.resolved)
            .filter_map(|o| {
                Some(RowChoice {
                    line: o.bill_line?,
                    trade_no: o.trade_no.clone(),
                    amount: o.bill_amount.map(|a| a.to_string()).unwrap_or_default(),
                })
            })
            .collect();
        match dialog.form.show(ui.ctx(), ctx.lang, &rows, busy) {
            Asked::Nothing => return None,
            Asked::Close => {
                self.dialog = None;
                return None;
            }
            Asked::Save => {}
        }
        let lang = ctx.lang;
        let (id, reopen, kind) = (dialog.item.id, dialog.form.reopen, dialog.form.kind);
        let note = dialog.form.note.trim().to_owned();
        if reopen {
            return self.start(ctx, Permission::Reconcile, report, move |s| {
                resolve::reopen(&mut s.store, id, &note, None)?;
                Ok(("已重新打开".to_owned(), "Reopened".to_owned()))
            });
        }
        let note = if note.is_empty() { lang.pick("已处理", "resolved").to_owned() } else { note };
        let how = match kind {
            ResolutionKind::Adjusted => ResolveAs::Adjusted,
            ResolutionKind::WrittenOff => ResolveAs::WrittenOff,
            ResolutionKind::Adopted => ResolveAs::Adopted,
            ResolutionKind::Refunded => ResolveAs::Refunded { out_request_no: dialog.form.refund() },
            ResolutionKind::Matched => match dialog.form.pick() {
                Some(pick) => ResolveAs::Matched(pick),
                None => {
                    let text = Text::new("请填写账单行号或交易号", "Give the bill line or the trade_no");
                    return Some(Update { status: (true, text), report: None });
                }
            },
        };
        self.resolve(ctx, report, id, how, note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_number_is_a_line_and_anything_else_a_trade_no() {
        assert_eq!(bill_row_pick(" 6 "), Some(BillRowPick::Line(6)));
        assert_eq!(
            bill_row_pick("4200002026112400000004"),
            Some(BillRowPick::TradeNo("4200002026112400000004".into()))
        );
        assert_eq!(bill_row_pick("0"), Some(BillRowPick::TradeNo("0".into())));
        assert_eq!(bill_row_pick("  "), None);
    }

    #[test]
    fn refusals_are_phrased_in_chinese_without_english() {
        let open = ResolveError::Store(StoreError::Resolution(Refused::OpenDifferences {
            bill_date: "2026-11-24".into(),
            count: 3,
            run: 7,
        }));
        assert_eq!(phrase(&open, Lang::ZhCn), "2026-11-24 还有 3 条差异未处理：处理完才能结账");
        assert!(phrase(&open, Lang::En).contains("3 open difference(s)"));
        let closed = ResolveError::Store(StoreError::DayClosed {
            bill_date: "2026-11-24".into(),
            closed_at: "2026-11-25T02:00:00.000000Z".into(),
            closed_by: "王芳".into(),
        });
        assert_eq!(
            phrase(&closed, Lang::ZhCn),
            "2026-11-24 已由 王芳 于 2026-11-25 10:00:00（北京时间）结账；请先重新开账"
        );
    }
}
