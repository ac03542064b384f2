//! The resolution workflow and closed days (issue 18): a back-office clerk resolves each difference of a day's
//! latest run with a kind and a note (adjusted, refunded, written off, matched by hand to a bill row, adopted from
//! the bill), or reopens it; once nothing is open the day can be closed, which freezes its report (text, JSON and
//! the resolutions) so that it prints and exports the same bytes whatever is imported or run later. A closed day is
//! not reconciled again until it is reopened. Every change is audited with who and when.
//!
//! Who may do it (owner or back office) is checked where the person is known: the window (`Ctx::permit`) and the
//! command line (`--operator` with the PIN). Here it is recorded.

use serde::{Deserialize, Serialize};

use super::report::{Reason, Report, load_report};
use super::{ReconError, acquirer_name, date_text};
use crate::i18n::Lang;
use crate::model::{AcquirerId, AcquirerKind, DiscrepancyId, OperatorId, OrderId, ResolutionKind};
use crate::store::recon::StoredDiscrepancy;
use crate::store::recon_days::{BillRowPick, ClosedDay, NewClosedDay, NewResolution};
use crate::store::{Store, StoreError};

/// Why a resolution, a reopening or a closing did not happen. The data's refusals come as
/// [`StoreError::Resolution`] and [`StoreError::DayClosed`] inside [`ResolveError::Store`].
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "difference #{id} ({reason}) cannot be adopted: only a bill payment the till lacks or never confirmed can be \
         adopted as a local order"
    )]
    CannotAdopt { id: i64, reason: &'static str },
    #[error("{acquirer} has no reconciliation of {date} yet: run `tilldesk reconcile --date {date}` first")]
    NoRun { acquirer: &'static str, date: String },
    #[error(transparent)]
    Recon(#[from] ReconError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a difference is resolved, with what each kind needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveAs {
    /// The local record was corrected.
    Adjusted,
    /// The customer was refunded; the refund's out_request_no when there is one.
    Refunded { out_request_no: Option<String> },
    /// An accepted loss or gain.
    WrittenOff,
    /// Matched by hand to a row of the day's bills.
    Matched(BillRowPick),
    /// The bill's payment recorded as the local order.
    Adopted,
}

impl ResolveAs {
    pub fn kind(&self) -> ResolutionKind {
        match self {
            ResolveAs::Adjusted => ResolutionKind::Adjusted,
            ResolveAs::Refunded { .. } => ResolutionKind::Refunded,
            ResolveAs::WrittenOff => ResolutionKind::WrittenOff,
            ResolveAs::Matched(_) => ResolutionKind::Matched,
            ResolveAs::Adopted => ResolutionKind::Adopted,
        }
    }
}

/// A resolution kind in words.
pub fn kind_label(kind: ResolutionKind, lang: Lang) -> &'static str {
    match kind {
        ResolutionKind::Adjusted => lang.pick("已更正本地记录", "adjusted"),
        ResolutionKind::Refunded => lang.pick("已退款", "refunded"),
        ResolutionKind::WrittenOff => lang.pick("核销（接受损益）", "written off"),
        ResolutionKind::Matched => lang.pick("手工匹配账单行", "matched by hand"),
        ResolutionKind::Adopted => lang.pick("按账单补录", "adopted from the bill"),
    }
}

/// The kind that usually fits a difference (what the resolve dialog starts with).
pub fn suggested_kind(reason: Reason) -> ResolutionKind {
    match reason {
        Reason::NoLocalOrder | Reason::LocalFailed | Reason::LocalUnconfirmed => ResolutionKind::Adopted,
        Reason::RefundedOnlyAtAcquirer | Reason::RefundNotThroughAtAcquirer | Reason::RefundedOnlyLocally => {
            ResolutionKind::Refunded
        }
        Reason::MissingFromBill | Reason::CarriedMissing => ResolutionKind::Matched,
        Reason::PaymentAmount | Reason::RefundAmount | Reason::ReversedAtAcquirer | Reason::FieldsDiffer => {
            ResolutionKind::Adjusted
        }
        // Paid and refunded in full at the acquirer, unknown to the till: no money was kept.
        Reason::NoLocalOrderRefunded => ResolutionKind::WrittenOff,
        // A customer was refunded for a payment the till never recorded.
        Reason::RefundNoLocalOrder => ResolutionKind::Refunded,
    }
}

/// How a difference was resolved, as the report carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// None: resolved before resolutions had kinds.
    pub kind: Option<ResolutionKind>,
    /// refunded: the refund's out_request_no; matched: the bill row's trade_no (or, on the bill row's own
    /// difference, the out_trade_no it was matched to); adopted: the bill's trade_no.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// matched, adopted: the bill line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_line: Option<i64>,
    /// The operator's name (None: nobody was signed in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// UTC RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl Resolution {
    /// The resolution of a stored difference (None when it is open).
    pub fn of(d: &StoredDiscrepancy) -> Option<Resolution> {
        d.resolved.then(|| Resolution {
            kind: d.resolution.as_deref().and_then(ResolutionKind::parse),
            reference: d.resolution_ref.clone(),
            bill_line: d.resolution_line,
            by: d.resolved_by_name.clone(),
            at: d.resolved_at.clone(),
        })
    }
}

/// What a resolution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Plain,
    /// Matched to this bill line.
    Matched {
        line: i64,
    },
    /// The local order recorded or moved to PAID.
    Adopted(OrderId),
}

/// Resolves a difference of its day's latest run (see [`ResolveAs`]) with the clerk's note, audited.
pub fn resolve(
    store: &mut Store,
    id: DiscrepancyId,
    how: &ResolveAs,
    note: &str,
    operator: Option<OperatorId>,
) -> Result<Resolved, ResolveError> {
    match how {
        ResolveAs::Adopted => {
            let d = store
                .recon()
                .discrepancy(id)?
                .ok_or_else(|| StoreError::NotFound { what: "difference", key: format!("#{}", id.0) })?;
            let reason = Reason::parse(&d.fields.reason).unwrap_or(Reason::MissingFromBill);
            if !reason.can_adopt() {
                return Err(ResolveError::CannotAdopt { id: id.0, reason: reason.as_str() });
            }
            let acquirer = store
                .recon()
                .recon_run(d.run_id)?
                .and_then(|r| r.acquirer_id)
                .ok_or_else(|| StoreError::NotFound { what: "reconciliation run", key: d.run_id.to_string() })?;
            if note.trim().is_empty() {
                return Err(StoreError::from(crate::store::recon_days::Refused::NoteRequired).into());
            }
            Ok(Resolved::Adopted(store.recon_mut().adopt_bill_payment(id, acquirer, note.trim(), operator)?))
        }
        ResolveAs::Matched(pick) => {
            Ok(Resolved::Matched { line: store.recon_mut().match_to_bill_row(id, pick, note, operator)? })
        }
        ResolveAs::Adjusted | ResolveAs::WrittenOff | ResolveAs::Refunded { .. } => {
            let out_request_no = match how {
                ResolveAs::Refunded { out_request_no } => out_request_no.as_deref(),
                _ => None,
            };
            let resolution = NewResolution { kind: Some(how.kind()), note, out_request_no };
            store.recon_mut().resolve_discrepancy_as(id, &resolution, operator)?;
            Ok(Resolved::Plain)
        }
    }
}

/// Takes a resolution back (until the day is closed), audited with the reason.
pub fn reopen(
    store: &mut Store,
    id: DiscrepancyId,
    note: &str,
    operator: Option<OperatorId>,
) -> Result<(), ResolveError> {
    Ok(store.recon_mut().reopen_discrepancy(id, note, operator)?)
}

/// Who closed a day and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closing {
    /// UTC RFC 3339.
    pub closed_at: String,
    pub closed_by: String,
    pub run_id: i64,
}

/// A day's report with its state: the latest run of an open day, or the frozen report of a closed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayReport {
    pub acquirer: AcquirerKind,
    pub bill_date: String,
    /// None while the day is open.
    pub closed: Option<Closing>,
    pub open_differences: usize,
    pub report: Report,
    /// A closed day's text exactly as it was frozen (printed and exported as `.txt` instead of [`Self::to_text`]).
    #[serde(skip)]
    pub frozen_text: Option<String>,
}

impl DayReport {
    /// The day as printed: the report, the resolutions (with their ids, for `reconcile resolve ID`) and the
    /// day's state.
    pub fn to_text(&self) -> String {
        let mut out = self.report.to_text();
        if !self.report.discrepancies.is_empty() {
            out.push_str("Differences (id, state):\n");
        }
        for d in &self.report.discrepancies {
            let keys = match &d.out_request_no {
                Some(r) => format!("{} {r}", d.out_trade_no.as_deref().unwrap_or("-")),
                None => d.out_trade_no.clone().unwrap_or_else(|| "-".into()),
            };
            let state = match &d.resolution {
                Some(r) => {
                    let mut s = r.kind.map(|k| k.as_str()).unwrap_or("resolved").to_owned();
                    if let Some(reference) = &r.reference {
                        s.push_str(&format!(" {reference}"));
                    }
                    if let Some(line) = r.bill_line {
                        s.push_str(&format!(" line {line}"));
                    }
                    // When is in the exports and the audit log; the text stays the same for the same decisions.
                    let by = r.by.as_deref().unwrap_or("-");
                    format!("{s} by {by}: {}", d.note.as_deref().unwrap_or(""))
                }
                None => "open".to_owned(),
            };
            out.push_str(&format!("  #{} {} {}: {state}\n", d.id.0, d.reason.as_str(), keys));
        }
        match &self.closed {
            Some(c) => out.push_str(&format!(
                "Day closed by {} at {} (China time), from run {}.\n",
                c.closed_by,
                china_display(&c.closed_at),
                c.run_id
            )),
            None => out.push_str(&format!(
                "Day open: {} open difference(s) in run {}.\n",
                self.open_differences, self.report.run_id
            )),
        }
        out
    }
}

/// A stored UTC time in China time (see [`crate::time::to_china_display`]).
pub fn china_display(stored: &str) -> String {
    crate::time::to_china_display(stored)
}

fn kind_of(store: &Store, acquirer_id: AcquirerId) -> Result<AcquirerKind, ReconError> {
    store
        .setup()
        .acquirers()?
        .into_iter()
        .find(|a| a.id == acquirer_id)
        .map(|a| a.kind)
        .ok_or(ReconError::UnknownAccount(acquirer_id))
}

/// The day's report: the frozen one when the day is closed (exactly as it was closed), else its latest run as it
/// is now.
pub fn day_report(store: &Store, acquirer_id: AcquirerId, date: time::Date) -> Result<DayReport, ResolveError> {
    let day = date_text(date);
    if let Some(closed) = store.recon().closed_day(acquirer_id, &day)? {
        return frozen(&closed);
    }
    let acquirer = kind_of(store, acquirer_id)?;
    let run = store
        .recon()
        .latest_run_of_day(acquirer_id, &day)?
        .ok_or_else(|| ResolveError::NoRun { acquirer: acquirer_name(acquirer), date: day.clone() })?;
    let report = load_report(store, run, Lang::En)?;
    Ok(DayReport {
        acquirer,
        bill_date: day,
        closed: None,
        open_differences: report.open_count(),
        report,
        frozen_text: None,
    })
}

/// A closed day's frozen report.
pub fn frozen(closed: &ClosedDay) -> Result<DayReport, ResolveError> {
    let mut day: DayReport = serde_json::from_str(&closed.report_json)
        .map_err(|e| ReconError::BadRun { run: closed.run_id, message: e.to_string() })?;
    day.frozen_text = Some(closed.report_text.clone());
    Ok(day)
}

/// Closes an acquirer's day from its latest run: refused while anything is open (the message says how many), when
/// the bills changed since the run, or when it is closed already. `by` is who closes it as the report names them;
/// `closed_at` (UTC RFC 3339) is when.
pub fn close_day(
    store: &mut Store,
    acquirer_id: AcquirerId,
    date: time::Date,
    by: &str,
    operator: Option<OperatorId>,
    closed_at: &str,
) -> Result<ClosedDay, ResolveError> {
    let day = date_text(date);
    let acquirer = kind_of(store, acquirer_id)?;
    let run = store
        .recon()
        .latest_run_of_day(acquirer_id, &day)?
        .ok_or_else(|| ResolveError::NoRun { acquirer: acquirer_name(acquirer), date: day.clone() })?;
    store.recon_mut().check_closable(acquirer_id, &day, run)?;
    let report = load_report(store, run, Lang::En)?;
    let frozen = DayReport {
        acquirer,
        bill_date: day.clone(),
        closed: Some(Closing { closed_at: closed_at.to_owned(), closed_by: by.to_owned(), run_id: run }),
        open_differences: 0,
        report,
        frozen_text: None,
    };
    let report_json =
        serde_json::to_string_pretty(&frozen).map_err(|e| ReconError::BadRun { run, message: e.to_string() })?;
    let report_text = frozen.to_text();
    let new = NewClosedDay {
        acquirer_id,
        bill_date: &day,
        run_id: run,
        closed_at,
        closed_by_name: by,
        report_json: &report_json,
        report_text: &report_text,
    };
    Ok(store.recon_mut().close_day(&new, operator)?)
}

/// Reopens a closed day (audited with the reason) so that it can be resolved and reconciled again.
pub fn reopen_day(
    store: &mut Store,
    acquirer_id: AcquirerId,
    date: time::Date,
    note: &str,
    operator: Option<OperatorId>,
) -> Result<ClosedDay, ResolveError> {
    Ok(store.recon_mut().reopen_day(acquirer_id, &date_text(date), note, operator)?)
}

/// Refuses to reconcile a closed day again (its report is frozen until it is reopened).
pub fn refuse_if_closed(store: &Store, acquirer_id: AcquirerId, date: time::Date) -> Result<(), ReconError> {
    let day = date_text(date);
    match store.recon().closed_day(acquirer_id, &day)? {
        Some(closed) => Err(ReconError::DayClosed {
            acquirer: acquirer_name(kind_of(store, acquirer_id)?),
            date: day,
            closed_by: closed.closed_by_name,
            closed_at: china_display(&closed.closed_at),
        }),
        None => Ok(()),
    }
}
