//! Resolving the merchant backend's differences from the till's 对账 screen: the resolve dialog of a difference of
//! the day's latest run (kind, note, the bill row for "matched", the refund for "refunded"), reopening it, and the
//! day bar (open: how many differences are open and Close day; closed: who and when, and Reopen day with a reason).
//! Each change is a command on the queue (the vault's token and the till's session read there, the call made there);
//! the backend decides who may (owner: every store; back office: their store's differences and days) and what the
//! data allows, and the refusals come back as kinds phrased here in the screen's language.

use crate::channel::backend::api::{ReconDifference, ReconReport, ResolveRequest};
use crate::i18n::{Lang, Phrase, Text};
use crate::model::ResolutionKind;
use crate::queue::{Ticket, poll_slot};
use crate::recon::backend::{self as remote, RemoteError};
use crate::recon::report::Reason;
use crate::store::recon_days::BillRowPick;
use crate::ui::Ctx;
use crate::ui::reconcile_resolve::{Asked, ResolveForm, RowChoice};
use crate::ui::words_recon::remote_error;

/// The resolve (or reopen) dialog of one of the backend's differences.
struct Dialog {
    id: i64,
    form: ResolveForm,
}

/// The resolution workflow of the backend's report.
#[derive(Default)]
pub struct RemoteResolve {
    dialog: Option<Dialog>,
    job: Option<Ticket<Result<Text, RemoteError>>>,
    reopen_note: String,
}

/// What a finished change says: (is an error, text).
pub type Outcome = (bool, Text);

impl RemoteResolve {
    /// Opens the dialog for a difference: resolve when it is open, reopen when it is resolved.
    pub fn open(&mut self, d: &ReconDifference) {
        let (reason, reopen) = (Reason::parse(&d.reason), d.resolved);
        let form = ResolveForm::new(d.id, d.out_trade_no.as_deref(), d.out_request_no.as_deref(), reason, reopen);
        self.dialog = Some(Dialog { id: d.id, form });
    }

    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// The change's answer, once: the dialog closes on success.
    pub fn poll(&mut self) -> Option<Outcome> {
        Some(match poll_slot(&mut self.job)? {
            Ok(Ok(done)) => {
                self.dialog = None;
                (false, done)
            }
            Ok(Err(e)) => (true, remote_error(&e)),
            Err(e) => (true, e.text()),
        })
    }

    /// Runs `work` with the backend's client on the queue.
    fn submit(
        &mut self,
        ctx: &Ctx,
        work: impl FnOnce(&crate::channel::backend::BackendClient) -> Result<Text, RemoteError> + Send + 'static,
    ) -> Option<Outcome> {
        if !ctx.queue.vault_unlocked() {
            return Some((true, remote_error(&RemoteError::VaultLocked)));
        }
        // Only as the operator signed in at the window (a session kept from an earlier sign-in is not theirs).
        if ctx.operator.is_none() {
            return Some((true, remote_error(&RemoteError::SignInRequired)));
        }
        self.job = Some(ctx.queue.submit_with_core(move |s, core| {
            let client = remote::client_of(&s.store, core.vault().as_ref())?;
            work(&client)
        }));
        None
    }

    /// The day's state and its Close day / Reopen day, under the report's heading.
    pub fn day_bar(&mut self, ui: &mut egui::Ui, ctx: &Ctx, r: &ReconReport) -> Option<Outcome> {
        let lang = ctx.lang;
        let run = &r.run;
        let busy = self.busy();
        let mut outcome = None;
        let acquirer = run.acquirer.id.to_string();
        let day = run.bill_date.clone();
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                if run.closed {
                    let by = run.closed_by.as_deref().unwrap_or("-");
                    let at = run.closed_at.as_deref().map(crate::time::to_china_display).unwrap_or_default();
                    ui.strong(match lang {
                        Lang::ZhCn => format!("当日 {day} 已结账 · 结账人 {by} · {at}（北京时间）"),
                        Lang::En => format!("Day {day} closed · by {by} · {at} (China time)"),
                    });
                    let label = ui.label(lang.pick("重新开账原因", "Reason to reopen"));
                    ui.add(egui::TextEdit::singleline(&mut self.reopen_note).desired_width(160.0))
                        .labelled_by(label.id);
                    let can = !busy && !self.reopen_note.trim().is_empty();
                    if ui.add_enabled(can, egui::Button::new(lang.pick("重新开账", "Reopen day"))).clicked() {
                        let note = std::mem::take(&mut self.reopen_note);
                        outcome = self.submit(ctx, move |client| {
                            remote::block_on(remote::reopen_day(client, &acquirer, &day, &note))?;
                            Ok(Text::new("已重新开账", "The day is open again"))
                        });
                    }
                    return;
                }
                let open = r.discrepancies.iter().filter(|d| !d.resolved).count();
                ui.strong(format!(
                    "{} {day} {} · {} {open}",
                    lang.pick("当日", "Day"),
                    lang.pick("未结账", "open"),
                    lang.pick("未处理差异", "open differences"),
                ));
                let why = if !run.latest {
                    Some(lang.pick("这不是当日最新的对账结果", "This is not the day's latest run").to_owned())
                } else if open > 0 {
                    Some(match lang {
                        Lang::ZhCn => format!("还有 {open} 条差异未处理，处理完才能结账"),
                        Lang::En => format!("Resolve the {open} open difference(s) before closing the day"),
                    })
                } else {
                    None
                };
                let button = ui.add_enabled(!busy && why.is_none(), egui::Button::new(lang.pick("结账", "Close day")));
                if let Some(why) = &why {
                    ui.weak(why.as_str());
                }
                if button.clicked() {
                    outcome = self.submit(ctx, move |client| {
                        remote::block_on(remote::close_day(client, &acquirer, &day))?;
                        Ok(Text::new(
                            "已在商户后台结账，报表已冻结",
                            "Day closed at the merchant backend: its report is frozen",
                        ))
                    });
                }
            });
        });
        outcome
    }

    /// The dialog, while one is open.
    pub fn dialog_ui(&mut self, ui: &mut egui::Ui, ctx: &Ctx, r: &ReconReport) -> Option<Outcome> {
        let busy = self.busy();
        let dialog = self.dialog.as_mut()?;
        // The bill rows still open in this run, to pick from for "matched".
        let rows: Vec<RowChoice> = r
            .discrepancies
            .iter()
            .filter(|o| o.id != dialog.id && !o.resolved)
            .filter_map(|o| {
                Some(RowChoice {
                    line: o.bill_line?,
                    trade_no: o.trade_no.clone(),
                    amount: o.bill_amount.clone().unwrap_or_default(),
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
        let (id, note) = (dialog.id, dialog.form.note.trim().to_owned());
        if dialog.form.reopen {
            return self.submit(ctx, move |client| {
                let done = remote::block_on(remote::reopen(client, id, &note))?;
                Ok(left(
                    Text::new(format!("差异 #{id} 已重新打开"), format!("Difference #{id} is open again")),
                    done.open,
                ))
            });
        }
        let kind = dialog.form.kind;
        let (bill_line, trade_no) = match (kind, dialog.form.pick()) {
            (ResolutionKind::Matched, Some(BillRowPick::Line(n))) => (Some(n), None),
            (ResolutionKind::Matched, Some(BillRowPick::TradeNo(t))) => (None, Some(t)),
            (ResolutionKind::Matched, None) => {
                return Some((true, Text::new("请填写账单行号或交易号", "Give the bill line or the trade_no")));
            }
            _ => (None, None),
        };
        let out_request_no = dialog.form.refund().filter(|_| kind == ResolutionKind::Refunded);
        let req = ResolveRequest { kind, note, out_request_no, bill_line, trade_no };
        self.submit(ctx, move |client| {
            let done = remote::block_on(remote::resolve(client, id, &req))?;
            let said = match (&done.adopted, done.bill_line) {
                (Some(order), _) => Text::new(format!("已按账单补录订单 {order}"), format!("Adopted as order {order}")),
                (None, Some(line)) => {
                    Text::new(format!("已与账单第 {line} 行手工匹配"), format!("Matched by hand to bill line {line}"))
                }
                _ => Text::new(format!("差异 #{id} 已处理"), format!("Difference #{id} resolved")),
            };
            Ok(left(said, done.open))
        })
    }
}

/// The change's words, with how many differences of the run are left open.
fn left(said: Text, open: i64) -> Text {
    let zh = match open {
        0 => format!("{}；没有未处理的差异了，可以结账", said.get(Lang::ZhCn)),
        n => format!("{}；还有 {n} 条未处理", said.get(Lang::ZhCn)),
    };
    let en = match open {
        0 => format!("{}; nothing is open now: the day can be closed", said.get(Lang::En)),
        n => format!("{}; {n} still open", said.get(Lang::En)),
    };
    Text::new(zh, en)
}
