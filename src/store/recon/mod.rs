//! Bills, their rows, reconciliation runs and discrepancies: the SQL behind `recon/`.
//!
//! A bill import streams its rows into `bill_rows` through a [`BillRowSink`] in short batches, under a staged bill
//! without a day (invisible to reconciliation and lists), while a content hash of the rows is kept; one short
//! transaction at the end gives the bill its day and hides the bills it replaces. A bill whose rows were imported
//! before, a bad row or a cancel removes the staged rows; an interrupted import's are removed by the next one.
//!
//! The bills of a day combine by [`BillType`]: the day's *effective* bills are the visible ones (those with a day),
//! and they never overlap. A new bill replaces an earlier bill of the same account, day and type (a re-download); a
//! complete bill (WeChat ALL, Alipay's trade bill) hides the day's SUCCESS and REFUND bills; a SUCCESS or REFUND bill
//! of a day whose complete bill is in changes nothing (already covered); SUCCESS and REFUND stand side by side.
//!
//! The types are here; the work is split by concern: `bills` (import and the bills' own reads), `scan` (matching a
//! day's bill rows with the till's orders and refunds), `runs` (runs, their discrepancies, carrying resolutions
//! over, resolving and adopting), `seed` (local data for tests and benchmarks). Like all of `store/`, it imports
//! only `model` (and the store's own helpers).

mod bills;
mod runs;
mod scan;
mod seed;

pub use seed::{SeedOrder, SeedRefund};

use crate::model::{AcquirerId, BillId, DiscrepancyId, OperatorId};

/// What a bill row is: a payment, a refund, or a payment the acquirer reversed (WeChat REVOKED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BillRowKind {
    Payment,
    Refund,
    Revoked,
}

impl BillRowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BillRowKind::Payment => "payment",
            BillRowKind::Refund => "refund",
            BillRowKind::Revoked => "revoked",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "payment" => Some(BillRowKind::Payment),
            "refund" => Some(BillRowKind::Refund),
            "revoked" => Some(BillRowKind::Revoked),
            _ => None,
        }
    }
}

/// What a bill lists, in the protocols' words (`bill_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub enum BillType {
    /// WeChat Pay `ALL`: every payment, reversal and refund of the day.
    #[default]
    #[serde(rename = "ALL")]
    All,
    /// WeChat Pay `SUCCESS`: the day's successful payments only.
    #[serde(rename = "SUCCESS")]
    Success,
    /// WeChat Pay `REFUND`: the day's refunds only.
    #[serde(rename = "REFUND")]
    Refund,
    /// Alipay `trade` (业务账单): payments and refunds, one complete bill.
    #[serde(rename = "trade")]
    Trade,
}

impl BillType {
    pub fn as_str(self) -> &'static str {
        match self {
            BillType::All => "ALL",
            BillType::Success => "SUCCESS",
            BillType::Refund => "REFUND",
            BillType::Trade => "trade",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ALL" => Some(BillType::All),
            "SUCCESS" => Some(BillType::Success),
            "REFUND" => Some(BillType::Refund),
            "trade" => Some(BillType::Trade),
            _ => None,
        }
    }

    /// Whether the bill lists the whole day (payments and refunds), so that no other bill of the day is needed.
    pub fn is_complete(self) -> bool {
        matches!(self, BillType::All | BillType::Trade)
    }
}

/// The bill being imported.
#[derive(Debug, Clone)]
pub struct NewBill<'a> {
    pub acquirer_id: AcquirerId,
    /// The file name as the user or the acquirer gave it.
    pub source_name: &'a str,
    /// alipay_zip / alipay_csv / wechat_text
    pub format: &'a str,
}

/// One bill row, in the acquirer's words, as it is stored.
#[derive(Debug, Clone, Default)]
pub struct NewBillRow<'a> {
    pub line_no: i64,
    pub trade_no: &'a str,
    pub out_trade_no: &'a str,
    pub out_request_no: Option<&'a str>,
    pub kind: Option<BillRowKind>,
    /// SUCCESS, REVOKED, or a refund's status (SUCCESS, PROCESSING, FAIL, CHANGE).
    pub status: &'a str,
    /// Order amount of a payment; the positive refund amount of a refund (fen).
    pub amount: i64,
    /// The exact fee in 1/1000 fen, signed as the bill writes it.
    pub fee_milli: i64,
    pub settled: i64,
    pub discount: i64,
    /// UTC RFC 3339.
    pub occurred_at: &'a str,
    pub subject: &'a str,
    pub store_ref: &'a str,
    /// The merchant id the row names, where the bill has one (WeChat 特约商户号 of a sub-merchant); "" otherwise.
    pub merchant_ref: &'a str,
}

/// What the import learned once every row was read.
#[derive(Debug, Clone, Default)]
pub struct FinishedBill {
    /// The acquirer's day, YYYY-MM-DD.
    pub bill_date: String,
    /// What the bill lists: decides which bills of the day it replaces, supersedes or stands beside.
    pub bill_type: BillType,
    pub totals_json: String,
    /// Why the bill's own totals do not match its rows, if they do not.
    pub totals_mismatch: Option<String>,
}

pub use super::bill_sink::BillRowSink;

/// Milli-fen to fen, halves away from zero.
pub fn round_milli(milli: i64) -> i64 {
    let (q, r) = (milli / 1000, milli % 1000);
    if r >= 500 {
        q + 1
    } else if r <= -500 {
        q - 1
    } else {
        q
    }
}

/// A bill already in the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredBill {
    pub id: BillId,
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    pub source_name: String,
    pub format: String,
    /// What the bill lists; reports stored before bills had types read as ALL.
    #[serde(default)]
    pub bill_type: BillType,
    pub row_count: i64,
    pub imported_at: String,
    pub totals_mismatch: Option<String>,
}

/// How an import ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportResult {
    Imported {
        bill: StoredBill,
        /// An earlier bill of the same account, day and type that this one replaced (a re-download).
        replaced: Option<StoredBill>,
        /// The day's SUCCESS and REFUND bills that this complete bill hid.
        superseded: Vec<StoredBill>,
        /// The day's other bills this one stands beside (a SUCCESS bill's REFUND bill, or the other way round).
        alongside: Vec<StoredBill>,
    },
    /// The same rows were imported before: nothing changed.
    AlreadyImported { bill: StoredBill },
    /// A SUCCESS or REFUND bill of a day whose complete bill `by` is in already: nothing changed.
    AlreadyCovered {
        by: StoredBill,
        /// The rows the file had.
        rows: u64,
    },
}

/// A bill payment row that did not match a paid local order one for one (or a reversal), with its local order.
#[derive(Debug, Clone, Default)]
pub struct PaymentPair {
    pub bill_row_id: i64,
    pub line_no: i64,
    pub trade_no: String,
    pub out_trade_no: String,
    pub kind: String,
    pub bill_status: String,
    pub bill_amount: i64,
    pub occurred_at: String,
    pub subject: String,
    pub order_id: Option<i64>,
    pub local_amount: Option<i64>,
    pub local_status: Option<String>,
    /// The fields that differ (amount, status, time, merchant id, fee), with both values.
    pub fields: Vec<FieldDiff>,
}

/// A bill refund row with the local refund of the same out_request_no.
#[derive(Debug, Clone, Default)]
pub struct RefundPair {
    pub bill_row_id: i64,
    pub line_no: i64,
    pub trade_no: String,
    pub out_trade_no: String,
    pub out_request_no: String,
    pub bill_status: String,
    pub bill_amount: i64,
    pub occurred_at: String,
    pub subject: String,
    pub local_amount: Option<i64>,
    pub local_status: Option<String>,
    /// Whether the till has the refunded order (by out_trade_no, else trade_no).
    pub order_found: bool,
    /// The fields that differ (refund amount, status), with both values.
    pub fields: Vec<FieldDiff>,
}

/// A paid local order, or a successful local refund, that no bill of the acquirer mentions.
#[derive(Debug, Clone, Default)]
pub struct LocalOnly {
    pub out_trade_no: String,
    pub trade_no: Option<String>,
    pub out_request_no: Option<String>,
    pub amount: i64,
    pub status: String,
    /// UTC RFC 3339: paid_at (or created_at) of an order, created_at of a refund.
    pub at: String,
    pub subject: String,
    /// The day of another bill of the acquirer that lists it (the day's own bills do not), if one does.
    pub listed_on: Option<String>,
}

/// The day's sums over the bill rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BillDayTotals {
    pub payment_count: i64,
    pub payment_amount: i64,
    pub refund_count: i64,
    pub refund_amount: i64,
    pub fee_milli: i64,
    pub settled: i64,
    pub discount: i64,
}

/// What one pass over a day's bill rows found besides the rows it reported.
#[derive(Debug, Clone, Default)]
pub struct BillDayScan {
    /// Bill payments matching a paid local order one for one: count and amount.
    pub matched_count: i64,
    pub matched_amount: i64,
    /// Bill refunds matching a successful local refund one for one: count and amount.
    pub matched_refund_count: i64,
    pub matched_refund_amount: i64,
    pub totals: BillDayTotals,
    /// Ids of the local orders that payment or reversal rows of the day found, sorted, without repeats.
    pub matched_orders: Vec<i64>,
    /// Of the matched payments and refunds, those the till recorded before the day began (carried over from the
    /// previous day into this bill): count and amount.
    pub carried_in_count: i64,
    pub carried_in_amount: i64,
}

/// Which field of a bill row differs from the till's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffField {
    /// The order amount of a payment.
    Amount,
    Status,
    /// The acquirer's fee against the account's rate.
    Fee,
    RefundAmount,
    /// A payment's time in the bill against the till's paid_at (the acquirer's time the till was told). A refund's
    /// is not compared: the till keeps only its own request time.
    Time,
    /// The merchant id the bill row names against the order's acquirer_merchant_id.
    MerchantId,
}

impl DiffField {
    pub const ALL: [DiffField; 6] = [
        DiffField::Amount,
        DiffField::Status,
        DiffField::Fee,
        DiffField::RefundAmount,
        DiffField::Time,
        DiffField::MerchantId,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DiffField::Amount => "amount",
            DiffField::Status => "status",
            DiffField::Fee => "fee",
            DiffField::RefundAmount => "refund_amount",
            DiffField::Time => "time",
            DiffField::MerchantId => "merchant_id",
        }
    }
}

/// One field that differs, with the bill's value and the till's ("" where a side has none): amounts as "22.00",
/// fees exact as "0.13200" (the till's is the one the account's rate gives), times as stored (UTC RFC 3339),
/// statuses and ids as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldDiff {
    pub field: DiffField,
    pub bill: String,
    pub local: String,
}

/// What the scan compares besides the amounts and statuses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldRules {
    /// A bill time further than this from the till's is a difference (seconds).
    pub time_tolerance_secs: i64,
    /// The account's fee rate in millionths of the amount (0.60% = 6000), where the till knows one: a payment's
    /// fee a whole fen or more away from it is a difference. Orders carry no fee of their own.
    pub fee_rate_ppm: Option<i64>,
    /// The start of the local day (UTC, "YYYY-MM-DDTHH:MM:SS"): matched rows the till recorded earlier were carried
    /// over from the previous day.
    pub day_start: String,
}

/// "2026-11-24T01:15:03…" (UTC) → seconds since 1970; None if the text does not start that way.
pub fn utc_seconds(text: &[u8]) -> Option<i64> {
    let digits = |from: usize, to: usize| -> Option<i64> {
        text.get(from..to)?.iter().try_fold(0i64, |v, c| c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// A discrepancy to record with a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewDiscrepancy {
    pub kind: String,
    pub reason: String,
    pub out_trade_no: Option<String>,
    pub trade_no: Option<String>,
    pub out_request_no: Option<String>,
    pub local_amount: Option<i64>,
    pub bill_amount: Option<i64>,
    pub local_status: Option<String>,
    pub bill_status: Option<String>,
    pub bill_line: Option<i64>,
    pub bill_row_id: Option<i64>,
    pub occurred_at: Option<String>,
    pub subject: String,
    pub explanation: String,
    /// The fields that differ, with both values.
    pub fields: Vec<FieldDiff>,
}

/// A recorded discrepancy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDiscrepancy {
    pub id: DiscrepancyId,
    pub run_id: i64,
    pub fields: NewDiscrepancy,
    pub resolved: bool,
    pub note: Option<String>,
    pub resolved_at: Option<String>,
    /// How it was resolved (see [`crate::model::ResolutionKind`]); None when open, or resolved before kinds.
    pub resolution: Option<String>,
    /// refunded: the refund's out_request_no; matched: the bill row's trade_no.
    pub resolution_ref: Option<String>,
    /// matched: the bill row's line.
    pub resolution_line: Option<i64>,
    pub resolved_by: Option<OperatorId>,
    /// The name of `resolved_by`.
    pub resolved_by_name: Option<String>,
}

/// A reconciliation run as the history lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    pub id: i64,
    pub acquirer_id: Option<AcquirerId>,
    pub bill_date: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub summary_json: String,
}

const BILL_COLUMNS: &str =
    "id, acquirer_id, bill_date, source_name, format, row_count, imported_at, totals_mismatch, bill_type";

fn bill_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredBill> {
    let bill_type: String = r.get(8)?;
    Ok(StoredBill {
        id: BillId(r.get(0)?),
        acquirer_id: AcquirerId(r.get(1)?),
        bill_date: r.get(2)?,
        source_name: r.get(3)?,
        format: r.get(4)?,
        bill_type: BillType::parse(&bill_type).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                8,
                rusqlite::types::Type::Text,
                format!("bill_type {bill_type:?}").into(),
            )
        })?,
        row_count: r.get(5)?,
        imported_at: r.get(6)?,
        totals_mismatch: r.get(7)?,
    })
}

pub(super) const DISCREPANCY_COLUMNS: &str = "id, run_id, kind, reason, out_trade_no, trade_no, out_request_no, local_amount, \
     bill_amount, local_status, bill_status, bill_line, bill_row_id, occurred_at, subject, explanation, resolved, \
     note, resolved_at, resolution, resolution_ref, resolution_line, resolved_by, \
     (SELECT name FROM operators WHERE operators.id = discrepancies.resolved_by), fields";

pub(super) fn discrepancy_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredDiscrepancy> {
    Ok(StoredDiscrepancy {
        id: DiscrepancyId(r.get(0)?),
        run_id: r.get(1)?,
        fields: NewDiscrepancy {
            kind: r.get(2)?,
            reason: r.get(3)?,
            out_trade_no: r.get(4)?,
            trade_no: r.get(5)?,
            out_request_no: r.get(6)?,
            local_amount: r.get(7)?,
            bill_amount: r.get(8)?,
            local_status: r.get(9)?,
            bill_status: r.get(10)?,
            bill_line: r.get(11)?,
            bill_row_id: r.get(12)?,
            occurred_at: r.get(13)?,
            subject: r.get(14)?,
            explanation: r.get(15)?,
            fields: {
                let text: String = r.get(24)?;
                serde_json::from_str(&text).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(24, rusqlite::types::Type::Text, Box::new(e))
                })?
            },
        },
        resolved: r.get::<_, i64>(16)? != 0,
        note: r.get(17)?,
        resolved_at: r.get(18)?,
        resolution: r.get(19)?,
        resolution_ref: r.get(20)?,
        resolution_line: r.get(21)?,
        resolved_by: r.get::<_, Option<i64>>(22)?.map(OperatorId),
        resolved_by_name: r.get(23)?,
    })
}

#[cfg(test)]
mod tests;
