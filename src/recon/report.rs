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

use serde::{Deserialize, Serialize};
use time::{Date, Duration, PrimitiveDateTime, Time, UtcOffset};

pub use super::fields::{
    china_time_text, field_action, field_advice, field_label, field_value, parse_cutoff, parse_fee_rate,
};
use super::{ReconError, acquirer_name, date_text};
use crate::i18n::Lang;
use crate::model::{AcquirerKind, DiscrepancyId, DiscrepancyKind};
use crate::money::Amount;
use crate::store::Store;
pub use crate::store::recon::{DiffField, FieldDiff};
use crate::store::recon::{FieldRules, LocalOnly, NewDiscrepancy, StoredBill, StoredDiscrepancy};

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

impl Reason {
    pub const ALL: [Reason; 14] = [
        Reason::NoLocalOrder,
        Reason::LocalFailed,
        Reason::LocalUnconfirmed,
        Reason::MissingFromBill,
        Reason::PaymentAmount,
        Reason::RefundAmount,
        Reason::RefundedOnlyAtAcquirer,
        Reason::RefundedOnlyLocally,
        Reason::RefundNotThroughAtAcquirer,
        Reason::ReversedAtAcquirer,
        Reason::FieldsDiffer,
        Reason::NoLocalOrderRefunded,
        Reason::RefundNoLocalOrder,
        Reason::CarriedMissing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoLocalOrder => "no_local_order",
            Reason::LocalFailed => "local_failed",
            Reason::LocalUnconfirmed => "local_unconfirmed",
            Reason::MissingFromBill => "missing_from_bill",
            Reason::PaymentAmount => "payment_amount",
            Reason::RefundAmount => "refund_amount",
            Reason::RefundedOnlyAtAcquirer => "refunded_only_at_acquirer",
            Reason::RefundedOnlyLocally => "refunded_only_locally",
            Reason::RefundNotThroughAtAcquirer => "refund_not_through_at_acquirer",
            Reason::ReversedAtAcquirer => "reversed_at_acquirer",
            Reason::FieldsDiffer => "fields_differ",
            Reason::NoLocalOrderRefunded => "no_local_order_refunded",
            Reason::RefundNoLocalOrder => "refund_no_local_order",
            Reason::CarriedMissing => "carried_missing",
        }
    }

    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn kind(self) -> DiscrepancyKind {
        match self {
            Reason::NoLocalOrder
            | Reason::LocalFailed
            | Reason::LocalUnconfirmed
            | Reason::NoLocalOrderRefunded
            | Reason::RefundNoLocalOrder => DiscrepancyKind::OnlyInBill,
            Reason::FieldsDiffer => DiscrepancyKind::FieldMismatch,
            Reason::MissingFromBill | Reason::CarriedMissing => DiscrepancyKind::OnlyLocal,
            Reason::PaymentAmount | Reason::RefundAmount => DiscrepancyKind::AmountMismatch,
            Reason::RefundedOnlyAtAcquirer
            | Reason::RefundedOnlyLocally
            | Reason::RefundNotThroughAtAcquirer
            | Reason::ReversedAtAcquirer => DiscrepancyKind::StatusMismatch,
        }
    }

    /// What happened, in plain words.
    pub fn explanation(self, lang: Lang) -> &'static str {
        match self {
            Reason::NoLocalOrder => lang.pick(
                "账单里有这笔收款，收银台却没有记录（例如顾客扫店铺码付款，收银台没有收到通知）。",
                "The acquirer took this payment but the till has no record of it (for example a customer paid by \
                 scanning the store code and the till never heard of it).",
            ),
            Reason::LocalFailed => lang.pick(
                "收银台认为这笔支付失败或已撤销，但收单机构的账单显示已收款。",
                "The till thinks this payment failed or was cancelled, but the acquirer's bill shows it was paid.",
            ),
            Reason::LocalUnconfirmed => lang.pick(
                "收银台一直没有确认这笔支付（仍在等待结果），账单显示已收款。",
                "The till never confirmed this payment (it is still waiting for the outcome), but the bill shows it \
                 was paid.",
            ),
            Reason::MissingFromBill => lang.pick(
                "收银台记录为已支付，但收单机构的账单里没有这笔交易。",
                "The till recorded this order as paid, but the acquirer's bill does not list it.",
            ),
            Reason::PaymentAmount => lang.pick(
                "账单上的订单金额与收银台记录的金额不一致。",
                "The bill's order amount differs from the amount the till recorded.",
            ),
            Reason::RefundAmount => lang.pick(
                "账单上的退款金额与收银台记录的退款金额不一致。",
                "The bill's refund amount differs from the refund the till recorded.",
            ),
            Reason::RefundedOnlyAtAcquirer => lang.pick(
                "收单机构已退款，但收银台没有这笔成功的退款记录。",
                "The acquirer refunded this order, but the till has no successful refund for it.",
            ),
            Reason::RefundedOnlyLocally => lang.pick(
                "收银台记录退款成功，但收单机构的账单里没有这笔退款。",
                "The till recorded a successful refund that the acquirer's bill does not list.",
            ),
            Reason::RefundNotThroughAtAcquirer => lang.pick(
                "账单显示这笔退款尚未成功（处理中或失败），收银台却记录为成功。",
                "The bill shows this refund as not through (processing or failed), but the till recorded it as \
                 successful.",
            ),
            Reason::ReversedAtAcquirer => lang.pick(
                "收单机构已撤销（冲正）这笔支付，收银台却显示已支付。",
                "The acquirer reversed this payment, but the till shows it as paid.",
            ),
            Reason::FieldsDiffer => lang.pick(
                "金额和状态一致，但下列字段与收银台的记录不同。",
                "The amount and status agree, but the fields below differ from the till's record.",
            ),
            Reason::NoLocalOrderRefunded => lang.pick(
                "单边账：账单里有这笔收款和它的退款，收银台却没有这笔订单的任何记录；钱收了又退回了顾客。",
                "Only in the bill: the bill lists this payment and its refund, but the till has no record of the \
                 order at all; the money came in and went back to the customer.",
            ),
            Reason::CarriedMissing => lang.pick(
                "收银台在前一天结束前几分钟记录为已支付，这笔订单顺延到今天对账，但前一天和今天的账单里都没有它。",
                "The till recorded this order as paid in the previous day's last minutes; it was carried over to this \
                 day, but neither that day's bill nor this one lists it.",
            ),
            Reason::RefundNoLocalOrder => lang.pick(
                "单边账：账单里有这笔退款，收银台却没有被退款的订单；订单的收款不在当日账单里。",
                "Only in the bill: the bill lists this refund, but the till has no record of the refunded order; \
                 the order's payment is not in this day's bill.",
            ),
        }
    }

    /// What to do about it.
    pub fn action(self, lang: Lang) -> &'static str {
        match self {
            Reason::NoLocalOrder | Reason::LocalUnconfirmed => lang.pick(
                "立即向收单机构查询确认，然后将账单记录补录为本地订单。",
                "Query the acquirer now to confirm, then adopt the bill's record as a local order.",
            ),
            Reason::LocalFailed => lang.pick(
                "立即向收单机构查询；确认已收款后补录为本地订单，或给顾客退款。",
                "Query the acquirer now; if it is paid, adopt the bill's record as the local order, or refund the \
                 customer.",
            ),
            Reason::MissingFromBill | Reason::CarriedMissing => lang.pick(
                "向收单机构查询这笔订单；若未成功收款，联系顾客补付并保留小票。",
                "Query the acquirer for this order; if the money never arrived, contact the customer and keep the \
                 receipt.",
            ),
            Reason::PaymentAmount | Reason::RefundAmount => lang.pick(
                "核对小票并向收单机构查询，更正本地记录或向收单机构提出差错。",
                "Check the receipt and query the acquirer; correct the local record or raise it with the acquirer.",
            ),
            Reason::RefundedOnlyAtAcquirer | Reason::RefundNotThroughAtAcquirer => lang.pick(
                "向收单机构查询退款状态，并更新本地退款记录。",
                "Query the refund at the acquirer and bring the local refund record up to date.",
            ),
            Reason::RefundedOnlyLocally => lang.pick(
                "向收单机构查询这笔退款；若未成功，重新发起退款。",
                "Query this refund at the acquirer; if it did not go through, refund again.",
            ),
            Reason::ReversedAtAcquirer => lang.pick(
                "向收单机构查询；钱已退回顾客，请把本地订单改为已撤销或重新收款。",
                "Query the acquirer; the money went back to the customer, so mark the local order cancelled or take \
                 the payment again.",
            ),
            Reason::FieldsDiffer => {
                lang.pick("按每个不同字段的建议核对处理。", "Work through each differing field as suggested for it.")
            }
            Reason::NoLocalOrderRefunded => lang.pick(
                "向收单机构查询确认收款和退款都已完成；不欠任何一方钱，记录说明后标记为已处理。",
                "Query the acquirer to confirm the payment and the refund both went through; nobody is owed money, \
                 so mark it resolved with a note.",
            ),
            Reason::RefundNoLocalOrder => lang.pick(
                "向收单机构查询原订单（在哪一天的账单里）；若收银台从未收过这笔款，记录说明后标记为已处理。",
                "Query the acquirer for the original order (which day's bill it is in); if the till never took that \
                 payment, mark it resolved with a note.",
            ),
        }
    }

    /// Whether "adopt the bill's record as a local order" applies.
    pub fn can_adopt(self) -> bool {
        matches!(self, Reason::NoLocalOrder | Reason::LocalFailed | Reason::LocalUnconfirmed)
    }
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

fn china() -> UtcOffset {
    crate::time::CHINA
}

/// China midnight at the start of `date`, in UTC, as "YYYY-MM-DDTHH:MM:SS" (no suffix, so that stored texts with
/// fractions and "Z" compare correctly as text).
fn utc_bound(t: PrimitiveDateTime) -> String {
    let u = t.assume_offset(china()).to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        u.year(),
        u8::from(u.month()),
        u.day(),
        u.hour(),
        u.minute(),
        u.second()
    )
}

/// Reconciles an acquirer's day: the bill (which must be imported) against local orders and refunds. Records a
/// run with its discrepancies (earlier resolutions carry over) and returns the report.
pub fn reconcile(
    store: &mut Store,
    acquirer: AcquirerKind,
    date: Date,
    options: &ReconOptions,
    lang: Lang,
) -> Result<Report, ReconError> {
    let acquirer_id = store.acquirer_for(acquirer)?;
    reconcile_account(store, acquirer_id, date, options, lang)
}

/// Reconciles one acquirer account's day (ALIPAY and PARTNER1 send separate bills for the payments each took).
///
/// A paid bill row the till has no order for, whose order number the till did not make (its own all start with
/// `TD`, written before the first byte goes out), at an acquirer that takes a store's codes (a route: the store's
/// printed code reaches it), is a wallet's payment of that code whose notification never reached the till: it is
/// recorded as that store's order (source `store_code`) and the day reconciled again, so it is a sale, not a
/// difference. Without a route nothing could have paid a code there, so such a row stays a difference.
pub fn reconcile_account(
    store: &mut Store,
    acquirer_id: crate::model::AcquirerId,
    date: Date,
    options: &ReconOptions,
    lang: Lang,
) -> Result<Report, ReconError> {
    super::resolve::refuse_if_closed(store, acquirer_id, date)?;
    let report = reconcile_run(store, acquirer_id, date, options, lang)?;
    let unheard: Vec<crate::store::sync::BillPayment> = report
        .discrepancies
        .iter()
        .filter(|d| d.reason == Reason::NoLocalOrder && d.out_request_no.is_none())
        .filter_map(|d| {
            let out_trade_no = d.out_trade_no.clone().filter(|o| !o.starts_with("TD"))?;
            Some(crate::store::sync::BillPayment {
                out_trade_no,
                trade_no: d.trade_no.clone(),
                amount: d.bill_amount?,
                paid_at: d.occurred_at.clone()?,
                subject: d.subject.clone(),
            })
        })
        .collect();
    if unheard.is_empty() || store.route_to_any_store(acquirer_id)?.is_none() {
        return Ok(report);
    }
    let adopted = store.record_bill_store_code_payments(acquirer_id, &unheard)?;
    tracing::info!(adopted, acquirer = %acquirer_id, "store-code payments recorded from the bill");
    if adopted == 0 {
        return Ok(report);
    }
    reconcile_run(store, acquirer_id, date, options, lang)
}

fn reconcile_run(
    store: &mut Store,
    acquirer_id: crate::model::AcquirerId,
    date: Date,
    options: &ReconOptions,
    lang: Lang,
) -> Result<Report, ReconError> {
    let started_at = crate::time::now_utc();
    let acquirer = store
        .acquirers()?
        .into_iter()
        .find(|a| a.id == acquirer_id)
        .map(|a| a.kind)
        .ok_or(ReconError::UnknownAccount(acquirer_id))?;
    let day = date_text(date);
    let bills = store.bills_of_day(acquirer_id, &day)?;
    if bills.is_empty() {
        return Err(ReconError::NoBill { acquirer: acquirer_name(acquirer), date: day });
    }
    let neighbour_in = |d: Option<Date>| -> Result<bool, ReconError> {
        Ok(match d {
            Some(d) => !store.bills_of_day(acquirer_id, &date_text(d))?.is_empty(),
            None => false,
        })
    };
    let previous_in = neighbour_in(date.previous_day())?;
    let next_day = date.next_day().map(date_text);
    let next_in = neighbour_in(date.next_day())?;
    let setting = |prefix: &str| store.setting(&format!("{prefix}{}", acquirer_id.0));
    let cutoff = setting(SETTING_CUTOFF_PREFIX)?.and_then(|c| parse_cutoff(&c)).unwrap_or(0);
    let fee_rate = setting(SETTING_FEE_RATE_PREFIX)?.and_then(|r| parse_fee_rate(&r).map(|ppm| (ppm, r)));

    // The local side of the day runs from the cut-off to the next, with the windows at both ends.
    let start = PrimitiveDateTime::new(date, Time::MIDNIGHT) + Duration::minutes(cutoff);
    let end = start + Duration::days(1);
    let rules = FieldRules {
        time_tolerance_secs: options.time_tolerance.whole_seconds(),
        fee_rate_ppm: fee_rate.as_ref().map(|(ppm, _)| *ppm),
        day_start: utc_bound(start),
    };

    let mut found: Vec<NewDiscrepancy> = Vec::new();
    // Refund differences come after every payment difference in the report.
    let mut refund_found: Vec<NewDiscrepancy> = Vec::new();
    // Refunds of orders the till has no record of: one-sided entries, joined to their payment's difference below.
    let mut orphan_refunds: Vec<NewDiscrepancy> = Vec::new();
    let en = Lang::En;
    let difference = |reason: Reason| NewDiscrepancy {
        kind: reason.kind().as_str().to_owned(),
        reason: reason.as_str().to_owned(),
        explanation: reason.explanation(en).to_owned(),
        ..NewDiscrepancy::default()
    };

    let payment = |p: crate::store::recon::PaymentPair| {
        let reason = match (p.kind.as_str(), p.local_status.as_deref()) {
            ("revoked", Some("PAID" | "PARTIALLY_REFUNDED" | "REFUNDED")) => Some(Reason::ReversedAtAcquirer),
            ("revoked", _) => None, // reversed and not paid locally: consistent, no money moved
            (_, None) => Some(Reason::NoLocalOrder),
            (_, Some("FAILED" | "CLOSED" | "CANCELLED")) => Some(Reason::LocalFailed),
            (_, Some("PAYING" | "UNKNOWN" | "CANCELLING" | "NEEDS_ATTENTION")) => Some(Reason::LocalUnconfirmed),
            (_, Some(_)) if p.local_amount != Some(p.bill_amount) => Some(Reason::PaymentAmount),
            (_, Some(_)) => Some(Reason::FieldsDiffer),
        };
        if let Some(reason) = reason {
            found.push(NewDiscrepancy {
                out_trade_no: Some(p.out_trade_no).filter(|s| !s.is_empty()),
                trade_no: Some(p.trade_no).filter(|s| !s.is_empty()),
                local_amount: p.local_amount,
                bill_amount: Some(p.bill_amount),
                local_status: p.local_status,
                bill_status: Some(p.bill_status),
                bill_line: Some(p.line_no),
                bill_row_id: Some(p.bill_row_id),
                occurred_at: Some(p.occurred_at),
                subject: p.subject,
                fields: p.fields,
                ..difference(reason)
            });
        }
    };
    let refund = |r: crate::store::recon::RefundPair| {
        let bill_ok = r.bill_status == "SUCCESS";
        let unknown = !r.order_found && r.local_status.is_none();
        let reason = match (bill_ok, r.local_status.as_deref()) {
            (true, Some("SUCCESS")) if r.local_amount != Some(r.bill_amount) => Some(Reason::RefundAmount),
            (true, Some("SUCCESS")) => Some(Reason::FieldsDiffer),
            (true, _) if unknown => Some(Reason::RefundNoLocalOrder),
            (true, _) => Some(Reason::RefundedOnlyAtAcquirer),
            (false, Some("SUCCESS")) => Some(Reason::RefundNotThroughAtAcquirer),
            (false, _) => None, // not through on either side yet
        };
        if let Some(reason) = reason {
            let d = NewDiscrepancy {
                out_trade_no: Some(r.out_trade_no).filter(|s| !s.is_empty()),
                trade_no: Some(r.trade_no).filter(|s| !s.is_empty()),
                out_request_no: Some(r.out_request_no).filter(|s| !s.is_empty()),
                local_amount: r.local_amount,
                bill_amount: Some(r.bill_amount),
                local_status: r.local_status,
                bill_status: Some(r.bill_status),
                bill_line: Some(r.line_no),
                bill_row_id: Some(r.bill_row_id),
                occurred_at: Some(r.occurred_at),
                subject: r.subject,
                fields: r.fields,
                ..difference(reason)
            };
            if reason == Reason::RefundNoLocalOrder { orphan_refunds.push(d) } else { refund_found.push(d) }
        }
    };
    let scan = store.recon_bill_rows(acquirer_id, &day, &rules, payment, refund)?;
    // A refund of an unknown order whose payment is in the day's bill too is one one-sided entry with it when it
    // gave the whole payment back (no money was kept): the payment's difference says so and carries the refund
    // amount. A partial refund leaves money kept: the payment stays a payment to adopt, the refund its own entry.
    if !orphan_refunds.is_empty() {
        // Unknown orders' payments by out_trade_no, and the day's refunds of each.
        let mut unknown: std::collections::HashMap<String, (usize, Vec<NewDiscrepancy>)> = found
            .iter()
            .enumerate()
            .filter(|(_, p)| p.reason == Reason::NoLocalOrder.as_str())
            .filter_map(|(i, p)| Some((p.out_trade_no.clone()?, (i, Vec::new()))))
            .collect();
        for d in orphan_refunds {
            match d.out_trade_no.as_ref().and_then(|o| unknown.get_mut(o)) {
                Some((_, refunds)) => refunds.push(d),
                None => refund_found.push(d),
            }
        }
        let reason = Reason::NoLocalOrderRefunded;
        for (i, refunds) in unknown.into_values().filter(|(_, r)| !r.is_empty()) {
            let refunded = refunds.iter().fold(0i64, |sum, d| sum.saturating_add(d.bill_amount.unwrap_or(0)));
            if Some(refunded) != found[i].bill_amount {
                refund_found.extend(refunds);
                continue;
            }
            let p = &mut found[i];
            p.reason = reason.as_str().to_owned();
            p.explanation = reason.explanation(en).to_owned();
            p.fields.push(FieldDiff {
                field: DiffField::RefundAmount,
                bill: Amount::from_fen(refunded).to_string(),
                local: String::new(),
            });
        }
        // Refund differences in the bill's order, whatever order the partial refunds came back in.
        refund_found.sort_by_key(|d| d.bill_row_id);
    }
    found.append(&mut refund_found);
    super::reversal::drop_reversed_pairs(&mut found);

    // The local side: the day, and the previous day's last minutes (its carry-over).
    let (from, to) = (utc_bound(start - options.window), utc_bound(end));
    let day_from = utc_bound(start);
    let created_from = utc_bound(start - Duration::days(1) - options.window);
    let early_until = utc_bound(start + options.window);
    let late_from = utc_bound(end - options.window);
    let mut carry = CarryOver::default();
    let mut local_only = |l: LocalOnly, mut reason: Reason, found: &mut Vec<NewDiscrepancy>| {
        let at = l.at.as_str();
        let listed = l.listed_on.is_some();
        if at < day_from.as_str() {
            // The previous day's carry-over: a difference here only if neither bill lists it.
            // Listed somewhere, or the previous day's own bill is not in yet: not this day's business.
            if listed || !previous_in {
                return;
            }
            carry.in_missing.add(l.amount);
            if reason == Reason::MissingFromBill {
                reason = Reason::CarriedMissing;
            }
        } else if options.window > Duration::ZERO && at >= late_from.as_str() {
            match (&l.listed_on, next_in) {
                (Some(d), _) if Some(d) == next_day.as_ref() => carry.out_matched.add(l.amount),
                (Some(_), _) => {}
                (None, true) => carry.out_missing.add(l.amount),
                (None, false) => carry.out_waiting.add(l.amount),
            }
            return;
        } else if listed {
            return;
        } else if at < early_until.as_str() && !previous_in {
            carry.back_waiting.add(l.amount);
            return;
        }
        found.push(NewDiscrepancy {
            out_trade_no: Some(l.out_trade_no),
            trade_no: l.trade_no,
            out_request_no: l.out_request_no,
            local_amount: Some(l.amount),
            local_status: Some(l.status),
            occurred_at: Some(l.at),
            subject: l.subject,
            ..difference(reason)
        });
    };
    store.recon_local_only_orders(acquirer_id, &day, &from, &to, &created_from, &scan.matched_orders, |l| {
        local_only(l, Reason::MissingFromBill, &mut found)
    })?;
    store.recon_local_only_refunds(acquirer_id, &day, &from, &to, |l| {
        local_only(l, Reason::RefundedOnlyLocally, &mut found)
    })?;
    carry.in_matched = CountAmount { count: scan.carried_in_count, amount: Amount::from_fen(scan.carried_in_amount) };
    let pending = CountAmount {
        count: carry.out_waiting.count + carry.back_waiting.count,
        amount: Amount::from_fen(carry.out_waiting.amount.fen().saturating_add(carry.back_waiting.amount.fen())),
    };

    let totals = scan.totals;
    let fee = crate::channel::wechatpay::bill::MilliFen::from_milli_fen(totals.fee_milli);
    let fee_fen = Amount::from_fen(crate::store::recon::round_milli(totals.fee_milli));
    // The fees actually charged, with the signs each acquirer writes: Alipay's 服务费 is negative when charged and
    // positive when a refund gives it back (实收净额 = 商家实收 + 服务费); WeChat's 手续费 is positive when charged and
    // negative on refund rows (net = 应结订单金额 − 退款金额 − 手续费).
    let net = match acquirer {
        AcquirerKind::WechatPay => totals.settled.saturating_sub(fee_fen.fen()),
        AcquirerKind::Alipay | AcquirerKind::AlipayPlus => totals.settled.saturating_add(fee_fen.fen()),
    };
    let fees = FeeSummary {
        bill_date: day.clone(),
        payments: CountAmount { count: totals.payment_count, amount: Amount::from_fen(totals.payment_amount) },
        refunds: CountAmount { count: totals.refund_count, amount: Amount::from_fen(totals.refund_amount) },
        fee: fee.to_string(),
        fee_fen,
        discounts: Amount::from_fen(totals.discount),
        net: Amount::from_fen(net),
    };

    let mut kinds: Vec<KindTotal> = DiscrepancyKind::ALL
        .iter()
        .map(|k| KindTotal { kind: *k, count: 0, bill_amount: Amount::ZERO, local_amount: Amount::ZERO })
        .collect();
    for d in &found {
        if let Some(k) = kinds.iter_mut().find(|k| k.kind.as_str() == d.kind) {
            k.count += 1;
            k.bill_amount = Amount::from_fen(k.bill_amount.fen().saturating_add(d.bill_amount.unwrap_or(0)));
            k.local_amount = Amount::from_fen(k.local_amount.fen().saturating_add(d.local_amount.unwrap_or(0)));
        }
    }
    let warnings = bills
        .iter()
        .filter_map(|b| {
            b.totals_mismatch
                .as_ref()
                .map(|m| format!("{}: the bill's own totals do not match its rows: {m}", b.source_name))
        })
        .collect();
    let mut report = Report {
        run_id: 0,
        acquirer,
        bill_date: day.clone(),
        started_at: started_at.clone(),
        window_minutes: options.window.whole_minutes(),
        bills: bills.clone(),
        matched: CountAmount { count: scan.matched_count, amount: Amount::from_fen(scan.matched_amount) },
        matched_refunds: CountAmount {
            count: scan.matched_refund_count,
            amount: Amount::from_fen(scan.matched_refund_amount),
        },
        pending,
        carry,
        cutoff: format!("{:02}:{:02}", cutoff / 60, cutoff % 60),
        time_tolerance_minutes: options.time_tolerance.whole_minutes(),
        fee_rate: fee_rate.map(|(_, text)| text.trim().to_owned()),
        kinds,
        fees,
        warnings,
        discrepancies: Vec::new(),
    };
    let summary_json =
        serde_json::to_string(&report).map_err(|e| ReconError::BadRun { run: 0, message: e.to_string() })?;
    let run_id =
        store.save_recon_run(acquirer_id, &day, bills.last().map(|b| b.id), &started_at, &summary_json, &found)?;
    report.run_id = run_id;
    report.discrepancies = store.run_discrepancies(run_id)?.into_iter().map(|d| Item::from_stored(d, lang)).collect();
    tracing::info!(run_id, acquirer = %acquirer, date = %day, differences = report.discrepancies.len(), "reconciled");
    Ok(report)
}

/// A recorded run's report, as it was, with its discrepancies as they are now (resolutions included).
pub fn load_report(store: &Store, run_id: i64, lang: Lang) -> Result<Report, ReconError> {
    let run = store.recon_run(run_id)?.ok_or(ReconError::BadRun { run: run_id, message: "no such run".into() })?;
    let mut report: Report = serde_json::from_str(&run.summary_json)
        .map_err(|e| ReconError::BadRun { run: run_id, message: e.to_string() })?;
    report.run_id = run_id;
    report.discrepancies = store.run_discrepancies(run_id)?.into_iter().map(|d| Item::from_stored(d, lang)).collect();
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
