//! Matching a day's bill against the till, and the report: matched totals, every difference with a plain-language
//! explanation and a suggested action, the day's fee summary, and the orders near midnight that wait for the
//! neighbouring day's bill.
//!
//! Payments match by out_trade_no (falling back to trade_no), refunds by out_request_no. Each difference names the
//! fields that differ (amount, status, fee, refund amount, time, merchant id) with both values.
//!
//! The day runs from the acquirer's cut-off (a setting per account, 00:00 China time by default) to the next. What
//! the till recorded in the day's last minutes (the midnight window) and the bill lacks is *carried over*: it waits
//! for the next day's bill, is matched there when that bill lists it, and becomes a difference in the next day's
//! report when that bill lacks it too. What the till recorded in the day's first minutes and the bill lacks waits
//! for the previous day's bill the same way (the acquirer's clock may have put it there).
//!
//! Here: the report's model and its text; `matching` runs a day (the store's scan, carry-over, the run recorded),
//! `reason` gives each difference its words and action. It imports `store`, `model`, `money`, `i18n` and `time`.

mod matching;
mod reason;

use serde::{Deserialize, Serialize};
use time::Duration;

pub use super::fields::{
    china_time_text, field_action, field_advice, field_label, field_value, parse_cutoff, parse_fee_rate,
};
use super::{ReconError, acquirer_name, date_text};
use crate::i18n::Lang;
use crate::model::{AcquirerKind, DiscrepancyId, DiscrepancyKind};
use crate::money::Amount;
use crate::store::Store;
pub use crate::store::recon::{DiffField, FieldDiff};
use crate::store::recon::{StoredBill, StoredDiscrepancy};

pub use matching::{reconcile, reconcile_account};

/// The default midnight window.
pub const DEFAULT_WINDOW_MINUTES: i64 = 10;
/// The setting that overrides it.
pub const SETTING_WINDOW_MINUTES: &str = "recon.midnight_window_minutes";
/// How far the bill's time may be from the till's before it is a difference, by default…
pub const DEFAULT_TIME_TOLERANCE_MINUTES: i64 = 5;
/// …and the setting that overrides it.
pub const SETTING_TIME_TOLERANCE_MINUTES: &str = "recon.time_tolerance_minutes";
/// The setting (per account: `recon.cutoff.<account id>`) with the acquirer's daily cut-off, "HH:MM" China time.
pub const SETTING_CUTOFF_PREFIX: &str = "recon.cutoff.";
/// The setting (per account: `recon.fee_rate.<account id>`) with the account's fee rate, e.g. "0.60%".
pub const SETTING_FEE_RATE_PREFIX: &str = "recon.fee_rate.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconOptions {
    /// Local orders this close to the day's edge (midnight or the cut-off) wait for the neighbouring day's bill.
    pub window: Duration,
    /// A bill time further than this from the till's is a difference.
    pub time_tolerance: Duration,
}

impl Default for ReconOptions {
    fn default() -> Self {
        ReconOptions {
            window: Duration::minutes(DEFAULT_WINDOW_MINUTES),
            time_tolerance: Duration::minutes(DEFAULT_TIME_TOLERANCE_MINUTES),
        }
    }
}

impl ReconOptions {
    /// The window from settings, else the default.
    pub fn from_settings(store: &Store) -> Result<Self, ReconError> {
        let minutes = store
            .setting(SETTING_WINDOW_MINUTES)?
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|m| (0..=720).contains(m))
            .unwrap_or(DEFAULT_WINDOW_MINUTES);
        let tolerance = store
            .setting(SETTING_TIME_TOLERANCE_MINUTES)?
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|m| (0..=1440).contains(m))
            .unwrap_or(DEFAULT_TIME_TOLERANCE_MINUTES);
        Ok(ReconOptions { window: Duration::minutes(minutes), time_tolerance: Duration::minutes(tolerance) })
    }
}

/// Why a difference is there: each reason belongs to one [`DiscrepancyKind`] and has its own words and action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Paid at the acquirer, no local order at all (e.g. a store-code payment).
    NoLocalOrder,
    /// The till thinks it failed, closed or was cancelled.
    LocalFailed,
    /// The till never confirmed it (paying, unknown, cancelling, needs attention).
    LocalUnconfirmed,
    /// Paid locally, in no bill.
    MissingFromBill,
    PaymentAmount,
    RefundAmount,
    /// The acquirer refunded; the till has no successful refund.
    RefundedOnlyAtAcquirer,
    /// The till refunded successfully; no bill lists the refund.
    RefundedOnlyLocally,
    /// The bill says the refund is not (yet) through; the till says it succeeded.
    RefundNotThroughAtAcquirer,
    /// The acquirer reversed the payment (WeChat REVOKED); the till shows it paid.
    ReversedAtAcquirer,
    /// Amount and status agree, other fields do not (time, merchant id, fee).
    FieldsDiffer,
    /// Paid and refunded at the acquirer (both rows in the bill), no local order at all: one one-sided entry.
    NoLocalOrderRefunded,
    /// A refund in the bill of an order the till has no record of, whose payment is not in the day's bill.
    RefundNoLocalOrder,
    /// Paid locally in the previous day's last minutes, carried over, and in neither day's bill.
    CarriedMissing,
}

/// A discrepancy kind's label.
pub fn kind_label(kind: DiscrepancyKind, lang: Lang) -> &'static str {
    match kind {
        DiscrepancyKind::OnlyInBill => lang.pick("仅账单有", "Only in the bill"),
        DiscrepancyKind::OnlyLocal => lang.pick("仅本地有", "Only local"),
        DiscrepancyKind::AmountMismatch => lang.pick("金额不符", "Amount mismatch"),
        DiscrepancyKind::StatusMismatch => lang.pick("状态不符", "Status mismatch"),
        DiscrepancyKind::FieldMismatch => lang.pick("字段不符", "Field mismatch"),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountAmount {
    pub count: i64,
    pub amount: Amount,
}

impl CountAmount {
    /// "2 totalling 35.90"
    pub fn text(&self) -> String {
        format!("{} totalling {}", self.count, self.amount)
    }

    fn add(&mut self, amount: i64) {
        self.count += 1;
        self.amount = Amount::from_fen(self.amount.fen().saturating_add(amount));
    }
}

/// Per kind: how many, and the sums on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindTotal {
    pub kind: DiscrepancyKind,
    pub count: i64,
    pub bill_amount: Amount,
    pub local_amount: Amount,
}

/// The day's money as the bill states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSummary {
    pub bill_date: String,
    pub payments: CountAmount,
    pub refunds: CountAmount,
    /// The acquirer's fees, exact (WeChat writes 5 decimals), as "0.04000" (negative when charged, as Alipay
    /// writes it; WeChat writes it positive).
    pub fee: String,
    /// The fees rounded to the fen.
    pub fee_fen: Amount,
    /// Discounts and coupons on the day's rows.
    pub discounts: Amount,
    /// What the merchant receives: settled amounts less fees.
    pub net: Amount,
}

/// One difference as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: DiscrepancyId,
    pub kind: DiscrepancyKind,
    pub reason: Reason,
    pub out_trade_no: Option<String>,
    pub trade_no: Option<String>,
    pub out_request_no: Option<String>,
    pub local_amount: Option<Amount>,
    pub bill_amount: Option<Amount>,
    pub local_status: Option<String>,
    pub bill_status: Option<String>,
    pub bill_line: Option<i64>,
    /// UTC RFC 3339.
    pub occurred_at: Option<String>,
    pub subject: String,
    pub explanation: String,
    pub action: String,
    pub resolved: bool,
    pub note: Option<String>,
    /// The fields that differ, with the bill's and the till's values.
    #[serde(default)]
    pub fields: Vec<FieldDiff>,
    /// How it was resolved, by whom and when (None while open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<super::resolve::Resolution>,
}

impl Item {
    fn from_stored(d: StoredDiscrepancy, lang: Lang) -> Item {
        let resolution = super::resolve::Resolution::of(&d);
        let f = d.fields;
        let reason = Reason::parse(&f.reason).unwrap_or(Reason::MissingFromBill);
        Item {
            id: d.id,
            kind: crate::model::DiscrepancyKind::parse(&f.kind).unwrap_or(reason.kind()),
            reason,
            out_trade_no: f.out_trade_no,
            trade_no: f.trade_no,
            out_request_no: f.out_request_no,
            local_amount: f.local_amount.map(Amount::from_fen),
            bill_amount: f.bill_amount.map(Amount::from_fen),
            local_status: f.local_status,
            bill_status: f.bill_status,
            bill_line: f.bill_line,
            occurred_at: f.occurred_at,
            subject: f.subject,
            explanation: reason.explanation(lang).to_owned(),
            action: reason.action(lang).to_owned(),
            resolved: d.resolved,
            note: d.note,
            fields: f.fields,
            resolution,
        }
    }
}

/// The reconciliation of one acquirer's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub run_id: i64,
    pub acquirer: AcquirerKind,
    pub bill_date: String,
    pub started_at: String,
    pub window_minutes: i64,
    pub bills: Vec<StoredBill>,
    /// Bill payments matching a paid local order one for one.
    pub matched: CountAmount,
    /// Bill refunds matching a successful local refund.
    pub matched_refunds: CountAmount,
    /// Local orders and refunds near the day's edges waiting for the neighbouring day's bill (not reported): the
    /// carry-over's `out_waiting` and `back_waiting` together.
    pub pending: CountAmount,
    /// What crossed the day's edge, either way.
    #[serde(default)]
    pub carry: CarryOver,
    /// The acquirer's daily cut-off, "HH:MM" China time.
    #[serde(default = "midnight")]
    pub cutoff: String,
    /// How far apart the bill's and the till's times may be (minutes).
    #[serde(default)]
    pub time_tolerance_minutes: i64,
    /// The account's fee rate the fees were compared with ("0.60%"); None: fees were not compared (orders carry
    /// no fee and the account has no rate).
    #[serde(default)]
    pub fee_rate: Option<String>,
    pub kinds: Vec<KindTotal>,
    pub fees: FeeSummary,
    /// Things to know about the bills themselves (totals that do not add up).
    pub warnings: Vec<String>,
    #[serde(default)]
    pub discrepancies: Vec<Item>,
}

fn midnight() -> String {
    "00:00".to_owned()
}

/// What crossed the day's edge (midnight or the acquirer's cut-off), counted, never reported twice: an order or
/// refund of the day's last minutes that the bill lacks is this day's carry-over; it is the next day's difference
/// if the next day's bill lacks it too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarryOver {
    /// Out of this day: recorded in its last minutes, not in this bill, waiting for the next day's bill.
    pub out_waiting: CountAmount,
    /// Out of this day and listed by the next day's bill: matched there.
    pub out_matched: CountAmount,
    /// Out of this day and the next day's bill lacks it too: a difference in the next day's report.
    pub out_missing: CountAmount,
    /// Into this day: recorded on the previous day, listed and matched by this bill.
    pub in_matched: CountAmount,
    /// Into this day: the previous day's carry-over that this bill lacks too: reported here as differences.
    pub in_missing: CountAmount,
    /// Recorded in this day's first minutes, not in this bill, waiting for the previous day's bill.
    pub back_waiting: CountAmount,
}

/// A recorded run's report, as it was, with its discrepancies as they are now (resolutions included).
pub fn load_report(store: &Store, run_id: i64, lang: Lang) -> Result<Report, ReconError> {
    let run =
        store.recon().recon_run(run_id)?.ok_or(ReconError::BadRun { run: run_id, message: "no such run".into() })?;
    let mut report: Report = serde_json::from_str(&run.summary_json)
        .map_err(|e| ReconError::BadRun { run: run_id, message: e.to_string() })?;
    report.run_id = run_id;
    report.discrepancies =
        store.recon().run_discrepancies(run_id)?.into_iter().map(|d| Item::from_stored(d, lang)).collect();
    Ok(report)
}

fn opt_amount(a: Option<Amount>) -> String {
    a.map(|a| a.to_string()).unwrap_or_else(|| "-".into())
}

impl Report {
    /// The report as plain text (the CLI prints it; the fixtures' expected reports are written in it).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let name = acquirer_name(self.acquirer);
        out.push_str(&format!("Reconciliation of the {name} bill of {}\n", self.bill_date));
        for b in &self.bills {
            out.push_str(&format!(
                "  bill: {} ({} rows)\n",
                b.source_name.rsplit(['/', '\\']).next().unwrap_or(""),
                b.row_count
            ));
        }
        out.push_str(&format!("  matched payments: {} totalling {}\n", self.matched.count, self.matched.amount));
        out.push_str(&format!(
            "  matched refunds:  {} totalling {}\n",
            self.matched_refunds.count, self.matched_refunds.amount
        ));
        let c = &self.carry;
        out.push_str(&format!(
            "  carried out of this day (its last {} min before {}, not in this bill): waiting for the next day's bill \
             {}, listed by it {}, missing from it too {}\n",
            self.window_minutes,
            self.cutoff,
            c.out_waiting.text(),
            c.out_matched.text(),
            c.out_missing.text()
        ));
        out.push_str(&format!(
            "  carried into this day (recorded the day before): matched here {}, in neither bill {}\n",
            c.in_matched.text(),
            c.in_missing.text()
        ));
        out.push_str(&format!(
            "  waiting for the previous day's bill (the first {} min after {}, not in this bill): {}\n",
            self.window_minutes,
            self.cutoff,
            c.back_waiting.text()
        ));
        out.push_str(&format!(
            "  fields compared: amount, status, refund amount, payment time (within {} min), merchant id (where the \
             bill names one); fee: {}\n",
            self.time_tolerance_minutes,
            match &self.fee_rate {
                Some(rate) => format!("against the account's rate {rate}"),
                None => "not compared (orders carry no fee and the account has no fee rate)".to_owned(),
            }
        ));
        for k in &self.kinds {
            out.push_str(&format!(
                "  {:<16} {} (bill {}, local {})\n",
                format!("{}:", k.kind.as_str()),
                k.count,
                k.bill_amount,
                k.local_amount
            ));
        }
        let f = &self.fees;
        out.push_str(&format!(
            "  fees of {}: payments {} totalling {}, refunds {} totalling {}, fees {}, discounts {}, net {}\n",
            f.bill_date,
            f.payments.count,
            f.payments.amount,
            f.refunds.count,
            f.refunds.amount,
            f.fee,
            f.discounts,
            f.net
        ));
        for w in &self.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
        if !self.discrepancies.is_empty() {
            out.push_str("Discrepancies:\n");
        }
        for d in &self.discrepancies {
            let mut keys = format!("out_trade_no={}", d.out_trade_no.as_deref().unwrap_or("-"));
            if let Some(r) = &d.out_request_no {
                keys.push_str(&format!(" out_request_no={r}"));
            }
            out.push_str(&format!(
                "  {} {} {} local={} ({}) bill={} ({}){}{}\n",
                d.kind.as_str(),
                d.reason.as_str(),
                keys,
                opt_amount(d.local_amount),
                d.local_status.as_deref().unwrap_or("-"),
                opt_amount(d.bill_amount),
                d.bill_status.as_deref().unwrap_or("-"),
                d.bill_line.map(|l| format!(" line {l}")).unwrap_or_default(),
                match d.resolution.as_ref().and_then(|r| r.kind) {
                    Some(kind) if d.resolved => format!(" [{kind}: {}]", d.note.as_deref().unwrap_or("")),
                    _ if d.resolved => format!(" [resolved: {}]", d.note.as_deref().unwrap_or("")),
                    _ => String::new(),
                },
            ));
            out.push_str(&format!("    {} {}\n", d.explanation, d.action));
            for f in &d.fields {
                out.push_str(&format!(
                    "    {}: bill {}, till {}.{}\n",
                    field_label(f.field, Lang::En),
                    field_value(f.field, &f.bill),
                    field_value(f.field, &f.local),
                    field_advice(f, Lang::En).map(|a| format!(" {a}")).unwrap_or_default()
                ));
            }
        }
        out
    }

    /// How many discrepancies are still open.
    pub fn open_count(&self) -> usize {
        self.discrepancies.iter().filter(|d| !d.resolved).count()
    }
}

#[cfg(test)]
mod tests;
