//! 对账 on a till enrolled with a merchant backend: the till holds no acquirer keys, so the backend downloads the
//! bills and reconciles every store; this panel shows its runs (filtered by store code and acquirer) and a run's
//! report with its differences, which are resolved (and the day closed) here, at the backend
//! ([`super::remote_resolve`]). What the signed-in operator sees and may change is the backend's decision (owner:
//! every store; back office: this till's store).
//!
//! Every read is a command on the queue (the vault's token and the till's session read there, the call made there);
//! the panel polls the answer each frame.

use crate::channel::backend::api::{ReconDifference, ReconReport, ReconRun, ReconRunList, ReconRunQuery};
use crate::i18n::{Lang, Phrase, Text};
use crate::model::{AcquirerKind, ResolutionKind};
use crate::queue::{Ticket, poll_slot};
use crate::recon::backend::{self as remote, RemoteError};
use crate::recon::report::{Reason, kind_label};
use crate::ui::Ctx;
use crate::ui::words_recon::{acquirer_words, remote_error};

use super::remote_resolve::RemoteResolve;

/// How many runs the panel lists.
const RUNS_SHOWN: u32 = 50;

/// The backend's reports on the 对账 screen.
#[derive(Default)]
pub struct RemotePanel {
    /// The store code typed (empty: every store the operator may see).
    store: String,
    /// None: every acquirer.
    acquirer: Option<AcquirerKind>,
    /// The operator the list was read for (read again when someone else signs in).
    read_for: Option<Option<String>>,
    runs: Option<ReconRunList>,
    runs_job: Option<Ticket<Result<ReconRunList, RemoteError>>>,
    report: Option<ReconReport>,
    report_job: Option<Ticket<Result<ReconReport, RemoteError>>>,
    error: Option<Text>,
    /// Resolving, reopening, closing and reopening days.
    resolve: RemoteResolve,
    /// What the last change did (is an error, text).
    status: Option<(bool, Text)>,
}

impl std::fmt::Debug for RemotePanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemotePanel").field("store", &self.store).finish_non_exhaustive()
    }
}

impl RemotePanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.poll();
        if self.read_for.as_ref() != Some(&ctx.operator) {
            self.read_for = Some(ctx.operator.clone());
            self.report = None;
            self.refresh(ctx);
        }
        ui.heading(lang.pick("商户后台对账", "Reconciliation at the merchant backend"));
        ui.label(lang.pick(
            "本收银台已接入商户后台：账单由商户后台下载并对账；在这里处理的差异和结账都记录在商户后台。",
            "This till is enrolled with a merchant backend: the backend downloads the bills and reconciles them; the \
             differences resolved and the days closed here are recorded at the merchant backend.",
        ));
        if let Some((failed, done)) = self.resolve.poll() {
            if !failed {
                self.refresh(ctx);
                if let Some(run_id) = self.report.as_ref().map(|r| r.run.run_id) {
                    self.open(ctx, run_id);
                }
            }
            self.status = Some((failed, done));
        }
        ui.horizontal_wrapped(|ui| {
            let label = ui.label(lang.pick("门店代码", "Store code"));
            let field = ui.add(egui::TextEdit::singleline(&mut self.store).desired_width(80.0)).labelled_by(label.id);
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.separator();
            ui.label(lang.pick("收单机构", "Acquirer"));
            let mut changed = false;
            if ui.selectable_label(self.acquirer.is_none(), lang.pick("全部", "All")).clicked() {
                self.acquirer = None;
                changed = true;
            }
            for kind in [AcquirerKind::WechatPay, AcquirerKind::Alipay] {
                if ui.selectable_label(self.acquirer == Some(kind), acquirer_words(kind, lang)).clicked() {
                    self.acquirer = Some(kind);
                    changed = true;
                }
            }
            let busy = self.runs_job.is_some();
            let refresh = ui.add_enabled(!busy, egui::Button::new(lang.pick("刷新", "Refresh"))).clicked();
            if entered || changed || refresh {
                self.refresh(ctx);
            }
        });
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error.get(lang));
        }
        ui.separator();
        self.runs_ui(ui, ctx);
        if let Some(report) = self.report.take() {
            ui.separator();
            self.report_ui(ui, ctx, &report);
            self.report = Some(report);
        }
    }

    fn report_ui(&mut self, ui: &mut egui::Ui, ctx: &Ctx, report: &ReconReport) {
        let lang = ctx.lang;
        heading_ui(ui, report, lang);
        if let Some(outcome) = self.resolve.day_bar(ui, ctx, report) {
            self.status = Some(outcome);
        }
        if let Some((failed, text)) = &self.status {
            let text = text.get(lang);
            if *failed {
                ui.colored_label(ui.visuals().error_fg_color, text);
            } else {
                ui.label(text);
            }
        }
        // Only the day's latest run, while the day is open, is worked on.
        let workable = report.run.latest && !report.run.closed;
        if let Some(picked) = differences_ui(ui, report, lang, workable && !self.resolve.busy()) {
            self.status = None;
            self.resolve.open(picked);
        }
        if let Some(outcome) = self.resolve.dialog_ui(ui, ctx, report) {
            self.status = Some(outcome);
        }
    }

    fn poll(&mut self) {
        match poll_slot(&mut self.runs_job) {
            Some(Ok(Ok(runs))) => {
                self.runs = Some(runs);
                self.error = None;
            }
            Some(Ok(Err(e))) => {
                self.runs = Some(ReconRunList { runs: Vec::new(), next: None });
                self.error = Some(remote_error(&e));
            }
            Some(Err(e)) => self.error = Some(e.text()),
            None => {}
        }
        match poll_slot(&mut self.report_job) {
            Some(Ok(Ok(report))) => {
                self.report = Some(report);
                self.error = None;
            }
            Some(Ok(Err(e))) => self.error = Some(remote_error(&e)),
            Some(Err(e)) => self.error = Some(e.text()),
            None => {}
        }
    }

    /// Reads the runs again (a command on the queue: the token from the vault, the call to the backend).
    fn refresh(&mut self, ctx: &Ctx) {
        if !ctx.queue.vault_unlocked() {
            self.error = Some(remote_error(&RemoteError::VaultLocked));
            return;
        }
        // The backend's session kept from an earlier sign-in (the command line's, say) is not whoever is at the
        // window: nobody signed in here, nothing is read or changed there.
        if ctx.operator.is_none() {
            self.runs = Some(ReconRunList { runs: Vec::new(), next: None });
            self.report = None;
            self.error = Some(remote_error(&RemoteError::SignInRequired));
            return;
        }
        let store = Some(self.store.trim().to_owned()).filter(|s| !s.is_empty());
        let acquirer = self.acquirer.map(|k| k.as_str().to_owned());
        let q = ReconRunQuery { store: store.clone(), acquirer, limit: Some(RUNS_SHOWN), ..ReconRunQuery::default() };
        self.runs_job = Some(ctx.queue.submit_with_core(move |s, core| {
            let client = remote::client_of(&s.store, core.vault().as_ref())?;
            remote::block_on(remote::runs(&client, &q))
        }));
    }

    fn open(&mut self, ctx: &Ctx, run_id: i64) {
        if self.report_job.is_some() || ctx.operator.is_none() {
            return;
        }
        let store = Some(self.store.trim().to_owned()).filter(|s| !s.is_empty());
        self.report_job = Some(ctx.queue.submit_with_core(move |s, core| {
            let client = remote::client_of(&s.store, core.vault().as_ref())?;
            remote::block_on(remote::report(&client, run_id, store.as_deref()))
        }));
    }

    fn runs_ui(&mut self, ui: &mut egui::Ui, ctx: &Ctx) {
        let lang = ctx.lang;
        let Some(list) = &self.runs else {
            ui.weak(lang.pick("正在读取商户后台的对账…", "Reading the merchant backend's reports…"));
            return;
        };
        if list.runs.is_empty() && self.error.is_none() {
            ui.label(lang.pick("商户后台还没有对账记录", "The merchant backend has no reconciliation runs yet"));
            return;
        }
        let mut open = None;
        egui::Grid::new("remote-runs").striped(true).num_columns(6).show(ui, |ui| {
            for head in [
                lang.pick("账单日期", "Bill date"),
                lang.pick("收单机构", "Acquirer"),
                lang.pick("门店", "Stores"),
                lang.pick("差异", "Differences"),
                lang.pick("未处理", "Open"),
                "",
            ] {
                ui.strong(head);
            }
            ui.end_row();
            for run in &list.runs {
                ui.label(&run.bill_date);
                ui.label(account(run, lang));
                ui.label(run.stores.join(", "));
                ui.label(run.differences.to_string());
                ui.label(if run.closed {
                    format!("{} ({})", run.open, lang.pick("已结账", "day closed"))
                } else {
                    run.open.to_string()
                });
                if ui.small_button(format!("{} #{}", lang.pick("查看", "Open"), run.run_id)).clicked() {
                    open = Some(run.run_id);
                }
                ui.end_row();
            }
        });
        if let Some(run_id) = open {
            self.open(ctx, run_id);
        }
        if self.report_job.is_some() {
            ui.weak(lang.pick("正在读取报告…", "Reading the report…"));
        }
    }
}

/// "微信支付 (WECHATPAY)".
fn account(run: &ReconRun, lang: Lang) -> String {
    let name = acquirer_words(run.acquirer.kind, lang);
    match &run.acquirer.code {
        Some(code) => format!("{name} ({code})"),
        None => name.to_owned(),
    }
}

fn heading_ui(ui: &mut egui::Ui, r: &ReconReport, lang: Lang) {
    let run = &r.run;
    ui.strong(format!("#{} {} {}", run.run_id, run.bill_date, account(run, lang)));
    ui.label(match &r.store {
        Some(s) => format!("{}{s}", lang.pick("门店 ", "Store ")),
        None => format!("{}{}", lang.pick("全部门店：", "Every store: "), run.stores.join(", ")),
    });
    let t = &r.totals;
    ui.label(match lang {
        Lang::ZhCn => format!(
            "账单：支付 {} 笔 共 {}，退款 {} 笔 共 {}，手续费 {}",
            t.payments.count, t.payments.amount, t.refunds.count, t.refunds.amount, t.fee
        ),
        Lang::En => format!(
            "Bill: {} payments totalling {}, {} refunds totalling {}, fees {}",
            t.payments.count, t.payments.amount, t.refunds.count, t.refunds.amount, t.fee
        ),
    });
    if let Some(m) = &t.matched {
        ui.label(match lang {
            Lang::ZhCn => format!("已匹配支付 {} 笔 共 {}", m.count, m.amount),
            Lang::En => format!("Matched payments: {} totalling {}", m.count, m.amount),
        });
    }
}

/// The differences, each with its Resolve or Reopen button when `workable`; returns the one whose button was pressed.
fn differences_ui<'a>(
    ui: &mut egui::Ui,
    r: &'a ReconReport,
    lang: Lang,
    workable: bool,
) -> Option<&'a ReconDifference> {
    if r.discrepancies.is_empty() {
        ui.label(lang.pick("没有差异", "No differences"));
        return None;
    }
    let mut picked = None;
    egui::Grid::new("remote-differences").striped(true).num_columns(7).show(ui, |ui| {
        for head in [
            lang.pick("门店", "Store"),
            lang.pick("类型", "Kind"),
            lang.pick("商户订单号", "out_trade_no"),
            lang.pick("本地金额", "Local"),
            lang.pick("账单金额", "Bill"),
            lang.pick("状态", "State"),
            lang.pick("说明", "Why"),
        ] {
            ui.strong(head);
        }
        ui.end_row();
        for d in &r.discrepancies {
            ui.label(d.store_code.as_deref().unwrap_or("-"));
            ui.label(kind_label(d.kind, lang));
            ui.label(d.out_trade_no.as_deref().unwrap_or("-"));
            ui.label(d.local_amount.as_deref().unwrap_or("-"));
            ui.label(d.bill_amount.as_deref().unwrap_or("-"));
            // The state, and under it what may be done (the explanation keeps the rest of the width).
            ui.vertical(|ui| {
                let state =
                    if d.resolved { lang.pick("已处理", "Resolved") } else { lang.pick("未处理", "Open") };
                ui.add(egui::Label::new(state).wrap_mode(egui::TextWrapMode::Extend));
                let action = if d.resolved {
                    format!("{} #{}", lang.pick("重新打开", "Reopen"), d.id)
                } else {
                    format!("{} #{}", lang.pick("处理", "Resolve"), d.id)
                };
                let button = egui::Button::new(action).small().wrap_mode(egui::TextWrapMode::Extend);
                if workable && ui.add(button).clicked() {
                    picked = Some(d);
                }
            });
            ui.vertical(|ui| {
                match Reason::parse(&d.reason) {
                    Some(reason) => ui.add(egui::Label::new(reason.explanation(lang)).wrap()),
                    None => ui.label(&d.reason),
                };
                for f in &d.fields {
                    ui.label(field_line(f, lang));
                }
                if let (true, Some(kind)) = (d.resolved, d.resolution.as_deref().and_then(ResolutionKind::parse)) {
                    let how = crate::recon::resolve::kind_label(kind, lang);
                    let note = d.note.as_deref().unwrap_or("");
                    ui.weak(match lang {
                        Lang::ZhCn => format!("{how}：{note}"),
                        Lang::En => format!("{how}: {note}"),
                    });
                }
            });
            ui.end_row();
        }
    });
    picked
}

/// A field that differs, in words: "时间：账单 2026-12-06 05:59:08，本地 2026-12-05 05:59:08" (times in China time).
fn field_line(f: &crate::channel::backend::api::ReconField, lang: Lang) -> String {
    use crate::store::recon::DiffField;
    let field = DiffField::ALL.into_iter().find(|d| d.as_str() == f.field);
    let shown = |value: &str| match (field, value) {
        (_, "") => "-".to_owned(),
        (Some(DiffField::Time), t) => crate::time::to_china_display(t),
        (_, v) => v.to_owned(),
    };
    let label = field.map_or(f.field.as_str(), |d| crate::recon::fields::field_label(d, lang));
    match lang {
        Lang::ZhCn => format!("{label}：账单 {}，本地 {}", shown(&f.bill), shown(&f.local)),
        Lang::En => format!("{label}: bill {}, till {}", shown(&f.bill), shown(&f.local)),
    }
}
