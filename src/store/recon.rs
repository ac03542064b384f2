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

use rusqlite::types::ValueRef;
use std::collections::HashMap;
use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::{BATCH_ROWS, BATCH_TIME, Result, Store, StoreError, append_audit};
use crate::model::{AcquirerId, BillId, DiscrepancyId, OperatorId, OrderId, OrderStatus};

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

/// A staged bill's content hash (rows and anything else the file states) and the hash of its rows alone.
struct Hashes {
    content: String,
    rows: String,
    has_extra: bool,
}

/// How the flip of an import ended.
enum Flip {
    Done {
        replaced: Option<StoredBill>,
        superseded: Vec<StoredBill>,
        alongside: Vec<StoredBill>,
    },
    /// The same content is in already.
    Same(StoredBill),
    /// The day's complete bill is in already.
    Covered(StoredBill),
}

/// A staged bill (`pending:` content hash, no day) left this long without a batch is an interrupted import's.
const ABANDONED_AFTER: time::Duration = time::Duration::minutes(5);

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

fn text_of(v: ValueRef<'_>) -> Option<&[u8]> {
    match v {
        ValueRef::Text(t) if !t.is_empty() => Some(t),
        _ => None,
    }
}

fn lossy(v: Option<&[u8]>) -> String {
    v.map(|t| String::from_utf8_lossy(t).into_owned()).unwrap_or_default()
}

/// Whether the bill's time is further than `tolerance` seconds from the till's; unreadable times never differ.
fn time_apart(bill: Option<&[u8]>, local: Option<&[u8]>, tolerance: i64) -> bool {
    let (Some(bill), Some(local)) = (bill.and_then(utc_seconds), local.and_then(utc_seconds)) else { return false };
    (bill - local).abs() > tolerance
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

/// A resolution an earlier run of the day recorded, carried to the next run.
#[derive(Debug, Clone, Default)]
struct CarriedResolution {
    note: Option<String>,
    at: Option<String>,
    kind: Option<String>,
    reference: Option<String>,
    line: Option<i64>,
    by: Option<i64>,
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

fn fields_json(fields: &[FieldDiff]) -> String {
    if fields.is_empty() {
        return "[]".to_owned();
    }
    serde_json::to_string(fields).unwrap_or_else(|_| "[]".to_owned())
}

const PAID_FAMILY: &str = "('PAID', 'PARTIALLY_REFUNDED', 'REFUNDED')";

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

impl Store {
    /// Imports one bill. `feed` pushes the rows into the sink and returns what it learned at the end; an error
    /// from it (a bad row, a cancel) rolls everything back. A bill whose rows are already in the database is rolled
    /// back too and reported as [`ImportResult::AlreadyImported`], a SUCCESS or REFUND bill of a day whose complete
    /// bill is in as [`ImportResult::AlreadyCovered`]. Otherwise the bill becomes visible in one short transaction
    /// that hides, at the same moment, the day's bill of the same type (a re-download) and, for a complete bill,
    /// the day's SUCCESS and REFUND bills (their runs keep their history); see the module's introduction.
    pub fn import_bill<E: From<StoreError>>(
        &mut self,
        new: &NewBill<'_>,
        feed: impl FnOnce(&mut BillRowSink<'_>) -> std::result::Result<FinishedBill, E>,
    ) -> std::result::Result<ImportResult, E> {
        self.purge_abandoned_bills()?;
        let now = crate::time::now_utc();
        // Staged under a bill without a day: no reconciliation, list or look-up sees its rows until the flip below.
        let pending = format!("pending:{now}:{}:{}", std::process::id(), rand::random::<u64>());
        self.conn
            .execute(
                "INSERT INTO bills (acquirer_id, bill_date, source_name, content_hash, imported_at, format)
                 VALUES (?1, '', ?2, ?3, ?4, ?5)",
                params![new.acquirer_id.0, new.source_name, pending, now, new.format],
            )
            .map_err(StoreError::from)?;
        let bill_id = self.conn.last_insert_rowid();
        let staged = self.stage_rows(new, bill_id, feed);
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let (finished, Hashes { content: hash, rows: rows_hash, has_extra }, rows) = match staged {
            Ok(staged) => staged,
            Err(e) => {
                if let Err(purge) = self.purge_bill(bill_id) {
                    tracing::warn!(bill_id, error = %purge, "an interrupted import's rows stay until the next import");
                }
                return Err(e);
            }
        };
        // The flip: one short transaction makes the bill (and the removal of the ones it replaces) visible at once.
        let flipped = self.transaction(|tx| {
            let existing = tx
                .query_row(
                    &format!(
                        "SELECT {BILL_COLUMNS} FROM bills WHERE id <> ?2
                           AND (content_hash = ?1
                                OR (?4 = 0 AND bill_date <> '' AND COALESCE(rows_hash, content_hash) = ?3))
                         ORDER BY id LIMIT 1"
                    ),
                    params![hash, bill_id, rows_hash, has_extra],
                    bill_from_row,
                )
                .optional()?;
            if let Some(bill) = existing {
                return Ok(Flip::Same(bill));
            }
            let day: Vec<StoredBill> = {
                let mut stmt = tx.prepare(&format!(
                    "SELECT {BILL_COLUMNS} FROM bills WHERE acquirer_id = ?1 AND bill_date = ?2 AND id <> ?3 ORDER BY id"
                ))?;
                stmt.query_map(params![new.acquirer_id.0, finished.bill_date, bill_id], bill_from_row)?
                    .collect::<rusqlite::Result<_>>()?
            };
            let new_type = finished.bill_type;
            if !new_type.is_complete()
                && let Some(complete) = day.iter().find(|b| b.bill_type.is_complete())
            {
                return Ok(Flip::Covered(complete.clone()));
            }
            let (gone, alongside): (Vec<StoredBill>, Vec<StoredBill>) =
                day.into_iter().partition(|b| new_type.is_complete() || b.bill_type == new_type);
            for old in &gone {
                tx.execute("UPDATE recon_runs SET bill_id = NULL WHERE bill_id = ?1", [old.id.0])?;
                // Out of sight now; its rows are removed in batches after the flip.
                tx.execute(
                    "UPDATE bills SET bill_date = '', content_hash = 'replaced:' || id WHERE id = ?1",
                    [old.id.0],
                )?;
            }
            tx.execute(
                "UPDATE bills SET bill_date = ?2, content_hash = ?3, row_count = ?4, totals_json = ?5,
                    totals_mismatch = ?6, imported_at = ?7, bill_type = ?8, rows_hash = ?9
                 WHERE id = ?1",
                params![
                    bill_id,
                    finished.bill_date,
                    hash,
                    i64::try_from(rows).unwrap_or(i64::MAX),
                    finished.totals_json,
                    finished.totals_mismatch,
                    now,
                    new_type.as_str(),
                    rows_hash
                ],
            )?;
            let after = format!("{} rows, {} {}", rows, new_type.as_str(), new.source_name);
            append_audit(tx, &now, None, "bill.import", &finished.bill_date, None, Some(&after))?;
            let (replaced, superseded): (Vec<StoredBill>, Vec<StoredBill>) =
                gone.into_iter().partition(|b| b.bill_type == new_type);
            Ok(Flip::Done { replaced: replaced.into_iter().next(), superseded, alongside })
        });
        let (replaced, superseded, alongside) = match flipped {
            Ok(Flip::Done { replaced, superseded, alongside }) => (replaced, superseded, alongside),
            Ok(Flip::Same(bill)) => {
                self.purge_bill(bill_id)?;
                return Ok(ImportResult::AlreadyImported { bill });
            }
            Ok(Flip::Covered(by)) => {
                self.purge_bill(bill_id)?;
                return Ok(ImportResult::AlreadyCovered { by, rows });
            }
            Err(e) => {
                let _ = self.purge_bill(bill_id);
                return Err(e.into());
            }
        };
        for old in replaced.iter().chain(&superseded) {
            if let Err(e) = self.purge_bill(old.id.0) {
                tracing::warn!(bill_id = old.id.0, error = %e, "a replaced bill's rows stay until the next import");
            }
        }
        let bill =
            self.bill(BillId(bill_id))?.ok_or(StoreError::NotFound { what: "bill", key: bill_id.to_string() })?;
        Ok(ImportResult::Imported { bill, replaced, superseded, alongside })
    }

    /// Streams the rows into the staged bill in batches; returns what the feed learned, the content hash and the
    /// row count. Leaves a batch open on error (the caller rolls it back).
    fn stage_rows<E: From<StoreError>>(
        &mut self,
        new: &NewBill<'_>,
        bill_id: i64,
        feed: impl FnOnce(&mut BillRowSink<'_>) -> std::result::Result<FinishedBill, E>,
    ) -> std::result::Result<(FinishedBill, Hashes, u64), E> {
        // Batches need not be synced one by one: the flip commit (FULL) syncs the WAL with every frame before it.
        self.conn.execute_batch("PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE").map_err(StoreError::from)?;
        let staged = (|| -> std::result::Result<(FinishedBill, Hashes, u64), E> {
            let mut hasher = Sha256::new();
            hasher.update(new.acquirer_id.0.to_le_bytes());
            let (finished, mut hasher, extra, rows) =
                super::bill_sink::write_rows(&mut self.conn, bill_id, hasher, feed)?;
            hasher.update(finished.bill_date.as_bytes());
            // A SUCCESS or REFUND bill is not the complete bill of the same rows. (Complete bills hash as before types
            // were kept, so a bill imported then is still recognised.)
            if !finished.bill_type.is_complete() {
                hasher.update(finished.bill_type.as_str().as_bytes());
            }
            let rows_hash = hex::encode(hasher.finalize());
            let hash = match extra {
                Some(extra) => {
                    let mut both = Sha256::new();
                    both.update(rows_hash.as_bytes());
                    both.update(extra.finalize());
                    Hashes { content: hex::encode(both.finalize()), rows: rows_hash, has_extra: true }
                }
                None => Hashes { content: rows_hash.clone(), rows: rows_hash, has_extra: false },
            };
            self.conn.execute_batch("COMMIT").map_err(StoreError::from)?;
            Ok((finished, hash, rows))
        })();
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let restored = self.conn.execute_batch("PRAGMA synchronous = FULL").map_err(StoreError::from);
        let staged = staged?;
        restored?;
        Ok(staged)
    }

    /// Removes a bill and its rows in short batches (a million rows must not hold the write lock for seconds). The
    /// bill must already be out of sight (no day): between batches its rows are half gone.
    fn purge_bill(&mut self, bill_id: i64) -> Result<()> {
        loop {
            let n = self.conn.execute(
                "DELETE FROM bill_rows WHERE id IN (
                    SELECT b.id FROM bills bl JOIN bill_rows b ON b.id BETWEEN bl.first_row AND bl.last_row
                    WHERE bl.id = ?1 AND b.bill_id = ?1 LIMIT ?2)",
                params![bill_id, BATCH_ROWS as i64],
            )?;
            if n == 0 {
                break;
            }
            super::pause_for_writers();
        }
        self.conn.execute("DELETE FROM bills WHERE id = ?1 AND bill_date = ''", [bill_id])?;
        Ok(())
    }

    /// Removes what interrupted imports left: bills replaced by a newer import of their day, and staged bills
    /// whose import stopped (no batch for [`ABANDONED_AFTER`]: a running import commits every fraction of a second).
    fn purge_abandoned_bills(&mut self) -> Result<()> {
        let before = crate::time::format_utc(time::OffsetDateTime::now_utc() - ABANDONED_AFTER);
        let ids: Vec<i64> = {
            let mut stmt = self.conn.prepare(
                "SELECT id FROM bills WHERE bill_date = ''
                   AND (content_hash LIKE 'replaced:%' OR (content_hash LIKE 'pending:%' AND imported_at < ?1))",
            )?;
            stmt.query_map([before], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        for id in ids {
            self.purge_bill(id)?;
        }
        Ok(())
    }

    pub fn bill(&self, id: BillId) -> Result<Option<StoredBill>> {
        Ok(self
            .conn
            .query_row(&format!("SELECT {BILL_COLUMNS} FROM bills WHERE id = ?1"), [id.0], bill_from_row)
            .optional()?)
    }

    /// A bill's own totals as the import recorded them (JSON): `stated` and `rows` (WeChat's summary row, Alipay's
    /// footer) and, for Alipay, `summary` with the 业务明细(汇总) 合计 row (`stated`) and the same figures summed from
    /// the rows (`rows`).
    pub fn bill_totals_json(&self, id: BillId) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT totals_json FROM bills WHERE id = ?1", [id.0], |r| r.get(0)).optional()?)
    }

    /// The effective bills of an acquirer's day, oldest first: one complete bill, or a SUCCESS and/or a REFUND bill
    /// (never overlapping: see the module's introduction).
    pub fn bills_of_day(&self, acquirer: AcquirerId, bill_date: &str) -> Result<Vec<StoredBill>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {BILL_COLUMNS} FROM bills WHERE acquirer_id = ?1 AND bill_date = ?2 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![acquirer.0, bill_date], bill_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every imported bill, newest day first.
    pub fn recent_bills(&self, limit: u32) -> Result<Vec<StoredBill>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {BILL_COLUMNS} FROM bills WHERE bill_date <> '' ORDER BY bill_date DESC, id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], bill_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Number of rows in `bill_rows` (all bills).
    pub fn bill_row_count(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM bill_rows", [], |r| r.get(0))?)
    }

    /// Walks every row of the day's bills once, in bill order: payments and reversals with their local order (by
    /// out_trade_no, else trade_no), refunds with the local refund of their out_request_no and the local order.
    /// Payments that match a paid local order one for one (same amount, and no other field differs under `rules`)
    /// and refunds that match a successful local refund are counted; every other payment or reversal goes to
    /// `payment`, every other refund to `refund`, each with the fields that differ. Also sums the day's money
    /// ([`BillDayTotals`]), lists the local orders the rows found and counts what was carried in from the day
    /// before.
    pub fn recon_bill_rows(
        &self,
        acquirer: AcquirerId,
        bill_date: &str,
        rules: &FieldRules,
        payment: impl FnMut(PaymentPair),
        refund: impl FnMut(RefundPair),
    ) -> Result<BillDayScan> {
        self.recon_bill_rows_split(acquirer, bill_date, rules, PARALLEL_SCAN_ROWS, payment, refund)
    }

    /// [`Store::recon_bill_rows`], walking the day in two halves at once from `parallel_from` rows.
    fn recon_bill_rows_split(
        &self,
        acquirer: AcquirerId,
        bill_date: &str,
        rules: &FieldRules,
        parallel_from: i64,
        mut payment: impl FnMut(PaymentPair),
        mut refund: impl FnMut(RefundPair),
    ) -> Result<BillDayScan> {
        // A big day is walked in two halves at once, each on its own connection (the second one read-only, on
        // another core): the halves are split by row id, which follows the bill's order, and the second half's
        // findings are handed on after the first's, so the callbacks see exactly the one-pass order.
        let mut ids: Option<(i64, i64)> = None;
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT first_row, last_row FROM bills
                 WHERE acquirer_id = ?1 AND bill_date = ?2 AND first_row IS NOT NULL",
            )?;
            let mut rows = stmt.query(params![acquirer.0, bill_date])?;
            while let Some(r) = rows.next()? {
                let (first, last): (i64, i64) = (r.get(0)?, r.get(1)?);
                ids = Some(ids.map_or((first, last), |(a, b)| (a.min(first), b.max(last))));
            }
        }
        let mut deliver = |f: Found| match f {
            Found::Payment(p) => payment(p),
            Found::Refund(r) => refund(r),
        };
        // Another connection sees only what is committed: never from inside a transaction.
        let on_disk = self.path.as_os_str() != ":memory:" && self.conn.is_autocommit();
        let Some((first, last)) = ids.filter(|(a, b)| on_disk && b - a >= parallel_from) else {
            let mut scan = scan_bill_rows(&self.conn, acquirer, bill_date, rules, (i64::MIN, i64::MAX), &mut deliver)?;
            scan.matched_orders.sort_unstable();
            scan.matched_orders.dedup();
            return Ok(scan);
        };
        let middle = first + (last - first) / 2;
        let path = self.path.as_path();
        let (mut scan, second) = std::thread::scope(|scope| -> Result<(BillDayScan, Result<HalfScan>)> {
            let second = scope.spawn(move || -> Result<HalfScan> {
                let mut conn = Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_handler(Some(super::busy_wait))?;
                let mut later = Vec::new();
                let scan =
                    scan_bill_rows(&conn, acquirer, bill_date, rules, (middle, i64::MAX), &mut |f| later.push(f))?;
                Ok((scan, later))
            });
            let scan = scan_bill_rows(&self.conn, acquirer, bill_date, rules, (i64::MIN, middle), &mut deliver)?;
            let second = second.join().unwrap_or_else(|_| {
                Err(StoreError::Corrupt {
                    table: "bill_rows",
                    column: "scan",
                    value: "the second half's scan stopped".into(),
                })
            });
            Ok((scan, second))
        })?;
        let (rest, later) = second?;
        for f in later {
            deliver(f);
        }
        scan.add(rest);
        scan.matched_orders.sort_unstable();
        scan.matched_orders.dedup();
        Ok(scan)
    }

    /// Paid local orders of the acquirer whose time is in `[from, to)` (UTC, RFC 3339 without suffix) that no bill
    /// of `bill_date` lists, by out_trade_no or trade_no, in time order, each with the day of another bill that
    /// lists it, if one does. `found` (sorted) are orders already known to be in a bill of the day (from
    /// [`Store::recon_bill_rows`]): they are skipped without a look-up.
    #[allow(clippy::too_many_arguments)]
    pub fn recon_local_only_orders(
        &self,
        acquirer: AcquirerId,
        bill_date: &str,
        from: &str,
        to: &str,
        created_from: &str,
        found: &[i64],
        mut each: impl FnMut(LocalOnly),
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT o.id, o.out_trade_no, o.trade_no, o.total_amount, o.status, COALESCE(o.paid_at, o.created_at),
                    o.subject
             FROM orders o
             WHERE o.acquirer_id = ?1 AND o.created_at >= ?4 AND o.created_at < ?3
               AND o.status IN {PAID_FAMILY}
               AND COALESCE(o.paid_at, o.created_at) >= ?2 AND COALESCE(o.paid_at, o.created_at) < ?3"
        ))?;
        // The day of a bill listing it: this day's first, so that "listed elsewhere" means not listed here.
        let mut listed = self.conn.prepare_cached(
            "SELECT COALESCE(
                 (SELECT bl.bill_date FROM bill_rows b JOIN bills bl ON bl.id = b.bill_id
                  WHERE b.out_trade_no = ?2 AND bl.acquirer_id = ?1 AND bl.bill_date <> ''
                    AND b.kind IN ('payment', 'revoked')
                  ORDER BY bl.bill_date = ?4 DESC LIMIT 1),
                 (SELECT bl.bill_date FROM bill_rows b JOIN bills bl ON bl.id = b.bill_id
                  WHERE ?3 IS NOT NULL AND ?3 <> '' AND b.trade_no = ?3 AND bl.acquirer_id = ?1
                    AND bl.bill_date <> '' AND b.kind IN ('payment', 'revoked')
                  ORDER BY bl.bill_date = ?4 DESC LIMIT 1))",
        )?;
        let mut missing: Vec<(i64, LocalOnly)> = Vec::new();
        let mut rows = stmt.query(params![acquirer.0, from, to, created_from])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if found.binary_search(&id).is_ok() {
                continue;
            }
            let out_trade_no: String = r.get(1)?;
            let trade_no: Option<String> = r.get(2)?;
            let listed_on: Option<String> =
                listed.query_row(params![acquirer.0, out_trade_no, trade_no, bill_date], |r| r.get(0))?;
            if listed_on.as_deref() == Some(bill_date) {
                continue;
            }
            missing.push((
                id,
                LocalOnly {
                    out_trade_no,
                    trade_no,
                    out_request_no: None,
                    amount: r.get(3)?,
                    status: r.get(4)?,
                    at: r.get(5)?,
                    subject: r.get(6)?,
                    listed_on,
                },
            ));
        }
        // Text compares byte by byte here as in SQLite (BINARY collation).
        missing.sort_unstable_by(|(a_id, a), (b_id, b)| a.at.cmp(&b.at).then(a_id.cmp(b_id)));
        for (_, l) in missing {
            each(l);
        }
        Ok(())
    }

    /// Successful local refunds of the acquirer created in `[from, to)` that no bill of `bill_date` lists, each
    /// with the day of another bill that lists it, if one does.
    pub fn recon_local_only_refunds(
        &self,
        acquirer: AcquirerId,
        bill_date: &str,
        from: &str,
        to: &str,
        mut each: impl FnMut(LocalOnly),
    ) -> Result<()> {
        // CROSS JOIN keeps the day's refunds (by created_at) the outer loop: otherwise SQLite may walk every order
        // of the acquirer.
        let mut stmt = self.conn.prepare(
            "SELECT o.out_trade_no, o.trade_no, r.out_request_no, r.refund_amount, r.status, r.created_at, o.subject,
                    (SELECT bl.bill_date FROM bill_rows b JOIN bills bl ON bl.id = b.bill_id
                     WHERE b.out_request_no = r.out_request_no AND bl.acquirer_id = ?1
                       AND bl.bill_date <> '' AND b.kind = 'refund' LIMIT 1)
             FROM refunds r CROSS JOIN orders o ON o.id = r.order_id
             WHERE o.acquirer_id = ?1 AND r.status = 'SUCCESS' AND r.created_at >= ?2 AND r.created_at < ?3
               AND NOT EXISTS (SELECT 1 FROM bill_rows b JOIN bills bl ON bl.id = b.bill_id
                               WHERE b.out_request_no = r.out_request_no AND bl.acquirer_id = ?1
                                 AND bl.bill_date = ?4 AND b.kind = 'refund')
             ORDER BY r.created_at, r.id",
        )?;
        let mut rows = stmt.query(params![acquirer.0, from, to, bill_date])?;
        while let Some(r) = rows.next()? {
            each(LocalOnly {
                out_trade_no: r.get(0)?,
                trade_no: r.get(1)?,
                out_request_no: r.get(2)?,
                amount: r.get(3)?,
                status: r.get(4)?,
                at: r.get(5)?,
                subject: r.get(6)?,
                listed_on: r.get(7)?,
            });
        }
        Ok(())
    }

    /// Records a run and its discrepancies. A discrepancy that an earlier run of the same acquirer and day had
    /// resolved (same kind, reason and keys) stays resolved, with its note, resolution kind, reference and operator,
    /// unless a later run's resolution of it was reopened. A closed day is refused ([`StoreError::DayClosed`]).
    ///
    /// The run is written unfinished, its discrepancies in short batches, and one last transaction marks it
    /// finished: lists and reports show finished runs only, so an interrupted save is never taken for a whole
    /// report (the next save removes it), and no batch holds the write lock for more than a fraction of a second.
    pub fn save_recon_run(
        &mut self,
        acquirer: AcquirerId,
        bill_date: &str,
        bill_id: Option<BillId>,
        started_at: &str,
        summary_json: &str,
        discrepancies: &[NewDiscrepancy],
    ) -> Result<i64> {
        if let Some(closed) = self.closed_day(acquirer, bill_date)? {
            return Err(StoreError::DayClosed {
                bill_date: bill_date.to_owned(),
                closed_at: closed.closed_at,
                closed_by: closed.closed_by_name,
            });
        }
        self.purge_abandoned_runs()?;
        // Earlier resolutions, read once (a look-up per discrepancy walked every earlier run's discrepancies: a
        // re-run of a day with 20,000 open differences took minutes, holding the write lock).
        type Key = (String, String, Option<String>, Option<String>);
        let mut resolved: HashMap<Key, CarriedResolution> = HashMap::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT d.kind, d.reason, d.out_trade_no, d.out_request_no, d.resolved, d.note, d.resolved_at,
                        d.resolution, d.resolution_ref, d.resolution_line, d.resolved_by
                 FROM recon_runs r JOIN discrepancies d ON d.run_id = r.id
                 WHERE r.acquirer_id = ?1 AND r.bill_date = ?2 AND r.finished_at IS NOT NULL
                   AND (d.resolved = 1 OR d.reopened_at IS NOT NULL)
                 ORDER BY d.id",
            )?;
            let mut rows = stmt.query(params![acquirer.0, bill_date])?;
            while let Some(r) = rows.next()? {
                // The newest word on a key wins (rows come oldest first): a resolution, or its reopening.
                let key = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                if r.get::<_, i64>(4)? == 0 {
                    resolved.remove(&key);
                    continue;
                }
                resolved.insert(
                    key,
                    CarriedResolution {
                        note: r.get(5)?,
                        at: r.get(6)?,
                        kind: r.get(7)?,
                        reference: r.get(8)?,
                        line: r.get(9)?,
                        by: r.get(10)?,
                    },
                );
            }
        }
        let run_id = self.transaction(|tx| {
            tx.execute(
                "INSERT INTO recon_runs (bill_id, started_at, finished_at, summary, acquirer_id, bill_date)
                 VALUES (?1, ?2, NULL, ?3, ?4, ?5)",
                params![bill_id.map(|b| b.0), started_at, summary_json, acquirer.0, bill_date],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        let now = crate::time::now_utc();
        let mut rest = discrepancies;
        while !rest.is_empty() {
            let written = self.transaction(|tx| {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO discrepancies (run_id, kind, reason, out_trade_no, trade_no, out_request_no, local_amount,
                        bill_amount, local_status, bill_status, bill_line, bill_row_id, occurred_at, subject, explanation,
                        resolved, note, resolved_at, created_at, resolution, resolution_ref, resolution_line, resolved_by,
                        fields)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                             ?21, ?22, ?23, ?24)",
                )?;
                let started = Instant::now();
                let mut n = 0usize;
                for d in rest {
                    let key = (d.kind.clone(), d.reason.clone(), d.out_trade_no.clone(), d.out_request_no.clone());
                    let carried = resolved.get(&key);
                    let flag = i64::from(carried.is_some());
                    let c = carried.cloned().unwrap_or_default();
                    insert.execute(params![
                        run_id,
                        d.kind,
                        d.reason,
                        d.out_trade_no,
                        d.trade_no,
                        d.out_request_no,
                        d.local_amount,
                        d.bill_amount,
                        d.local_status,
                        d.bill_status,
                        d.bill_line,
                        d.bill_row_id,
                        d.occurred_at,
                        d.subject,
                        d.explanation,
                        flag,
                        c.note,
                        c.at,
                        now,
                        c.kind,
                        c.reference,
                        c.line,
                        c.by,
                        fields_json(&d.fields)
                    ])?;
                    n += 1;
                    if n as u64 >= BATCH_ROWS || (n.is_multiple_of(64) && started.elapsed() >= BATCH_TIME) {
                        break;
                    }
                }
                Ok(n)
            })?;
            rest = &rest[written..];
            if !rest.is_empty() {
                super::pause_for_writers();
            }
        }
        self.transaction(|tx| {
            tx.execute(
                "UPDATE recon_runs SET finished_at = ?2 WHERE id = ?1",
                params![run_id, crate::time::now_utc()],
            )?;
            Ok(())
        })?;
        Ok(run_id)
    }

    /// Removes runs whose save was interrupted (unfinished and older than [`ABANDONED_AFTER`]) with their
    /// discrepancies, in batches.
    fn purge_abandoned_runs(&mut self) -> Result<()> {
        let before = crate::time::format_utc(time::OffsetDateTime::now_utc() - ABANDONED_AFTER);
        let ids: Vec<i64> = {
            let mut stmt =
                self.conn.prepare("SELECT id FROM recon_runs WHERE finished_at IS NULL AND started_at < ?1")?;
            stmt.query_map([before], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        for id in ids {
            loop {
                let n = self.conn.execute(
                    "DELETE FROM discrepancies WHERE id IN (SELECT id FROM discrepancies WHERE run_id = ?1 LIMIT ?2)",
                    params![id, BATCH_ROWS as i64],
                )?;
                if n == 0 {
                    break;
                }
                super::pause_for_writers();
            }
            self.conn.execute("DELETE FROM recon_runs WHERE id = ?1 AND finished_at IS NULL", [id])?;
        }
        Ok(())
    }

    /// The newest runs first.
    pub fn recon_runs(&self, limit: u32) -> Result<Vec<StoredRun>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, acquirer_id, bill_date, started_at, finished_at, summary FROM recon_runs
             WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(StoredRun {
                id: r.get(0)?,
                acquirer_id: r.get::<_, Option<i64>>(1)?.map(AcquirerId),
                bill_date: r.get(2)?,
                started_at: r.get(3)?,
                finished_at: r.get(4)?,
                summary_json: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn recon_run(&self, id: i64) -> Result<Option<StoredRun>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, acquirer_id, bill_date, started_at, finished_at, summary FROM recon_runs
                 WHERE id = ?1 AND finished_at IS NOT NULL",
                [id],
                |r| {
                    Ok(StoredRun {
                        id: r.get(0)?,
                        acquirer_id: r.get::<_, Option<i64>>(1)?.map(AcquirerId),
                        bill_date: r.get(2)?,
                        started_at: r.get(3)?,
                        finished_at: r.get(4)?,
                        summary_json: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// A run's discrepancies in the order they were found.
    pub fn run_discrepancies(&self, run_id: i64) -> Result<Vec<StoredDiscrepancy>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {DISCREPANCY_COLUMNS} FROM discrepancies WHERE run_id = ?1 ORDER BY id"))?;
        let rows = stmt.query_map([run_id], discrepancy_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn discrepancy(&self, id: DiscrepancyId) -> Result<Option<StoredDiscrepancy>> {
        Ok(self
            .conn
            .query_row(&format!("SELECT {DISCREPANCY_COLUMNS} FROM discrepancies WHERE id = ?1"), [id.0], |r| {
                discrepancy_from_row(r)
            })
            .optional()?)
    }

    /// Marks a discrepancy resolved with the clerk's note and no resolution kind (see
    /// [`Store::resolve_discrepancy_as`]), audited, in one transaction.
    pub fn resolve_discrepancy(&mut self, id: DiscrepancyId, note: &str, operator: Option<OperatorId>) -> Result<()> {
        let resolution = super::recon_days::NewResolution { kind: None, note, out_request_no: None };
        self.resolve_discrepancy_as(id, &resolution, operator)
    }

    /// Adopts a bill payment row as the truth for a discrepancy: creates the local order as PAID (a store-code
    /// payment the till never saw), or moves the existing local order to PAID with the acquirer's trade number;
    /// records the order event, resolves the discrepancy (as adopted) and audits, all in one transaction. Refused
    /// like any resolution on a closed day, outside the day's latest run, or when it is resolved already.
    pub fn adopt_bill_payment(
        &mut self,
        id: DiscrepancyId,
        acquirer: AcquirerId,
        note: &str,
        operator: Option<OperatorId>,
    ) -> Result<OrderId> {
        let store_id = self.default_store()?;
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let d = Store::check_resolvable(tx, id)?.fields;
            let cannot = || super::recon_days::Refused::CannotAdopt { id: id.0 };
            let out_trade_no = d.out_trade_no.clone().filter(|s| !s.is_empty()).ok_or_else(cannot)?;
            let amount = d.bill_amount.filter(|a| *a > 0 && d.out_request_no.is_none()).ok_or_else(cannot)?;
            let paid_at = d.occurred_at.clone().unwrap_or_else(|| now.clone());
            let existing: Option<(i64, String)> = tx
                .query_row("SELECT id, status FROM orders WHERE out_trade_no = ?1", [&out_trade_no], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let order_id = match existing {
                Some((order_id, before)) => {
                    // The bill is the acquirer's final word: the clerk adopts its amount, and the order moves to PAID
                    // through the order transition function (with the bill's authority).
                    tx.execute("UPDATE orders SET total_amount = ?2 WHERE id = ?1", params![order_id, amount])?;
                    let detail = format!("{before} → PAID from the acquirer's bill (line {:?})", d.bill_line);
                    let adopt = super::transitions::OrderMove {
                        by: crate::lifecycle::Authority::Bill,
                        trade_no: d.trade_no.as_deref(),
                        paid_at: Some(&paid_at),
                        ..super::transitions::OrderMove::to(OrderStatus::Paid, "adopted_from_bill", &detail)
                    };
                    super::transitions::move_order(tx, OrderId(order_id), &adopt)?;
                    order_id
                }
                None => {
                    tx.execute(
                        "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, operator_id, source, subject,
                            total_amount, currency, status, created_at, paid_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, 'store_code', ?6, ?7, 'CNY', 'PAID', ?8, ?8, ?9)",
                        params![
                            out_trade_no,
                            d.trade_no,
                            store_id.0,
                            acquirer.0,
                            operator.map(|o| o.0),
                            d.subject,
                            amount,
                            paid_at,
                            now
                        ],
                    )?;
                    let order_id = tx.last_insert_rowid();
                    tx.execute(
                        "INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, 'adopted_from_bill', ?3)",
                        params![order_id, now, format!("recorded from the acquirer's bill (line {:?})", d.bill_line)],
                    )?;
                    order_id
                }
            };
            tx.execute(
                "UPDATE discrepancies SET resolved = 1, note = ?2, resolved_at = ?3, resolution = 'adopted',
                    resolution_ref = ?4, resolution_line = ?5,
                    resolved_by = COALESCE(?6, (SELECT operator_id FROM temp.audit_session)), reopened_at = NULL
                 WHERE id = ?1",
                params![id.0, note, now, d.trade_no, d.bill_line, operator.map(|o| o.0)],
            )?;
            append_audit(tx, &now, operator, "order.adopt_from_bill", &out_trade_no, None, Some(note))?;
            Ok(OrderId(order_id))
        })
    }
}

/// Local data for tests and benchmarks: paid orders and refunds written in one transaction each, without going
/// through checkout.
#[derive(Debug, Clone)]
pub struct SeedOrder {
    pub out_trade_no: String,
    pub trade_no: Option<String>,
    pub acquirer_id: AcquirerId,
    pub subject: String,
    pub total_amount: i64,
    pub refunded_amount: i64,
    /// Stored status spelling (PAID, FAILED, …).
    pub status: String,
    /// UTC RFC 3339.
    pub created_at: String,
    pub paid_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SeedRefund {
    pub out_trade_no: String,
    pub out_request_no: String,
    pub refund_amount: i64,
    pub status: String,
    pub created_at: String,
}

impl Store {
    /// Writes many orders in one transaction (tests, benchmarks, data migration).
    pub fn seed_orders(&mut self, orders: impl IntoIterator<Item = SeedOrder>) -> Result<u64> {
        let store_id = self.default_store()?;
        self.transaction(|tx| seed_orders_in(tx, store_id.0, orders))
    }

    /// Gives seeded orders the merchant id at the acquirer they were sent for, in one transaction (tests: an order
    /// routed to a sub-merchant).
    pub fn seed_acquirer_merchant_ids(&mut self, ids: &[(String, String)]) -> Result<u64> {
        self.transaction(|tx| {
            let mut n = 0;
            for (out_trade_no, merchant_id) in ids {
                n += tx.execute(
                    "UPDATE orders SET acquirer_merchant_id = ?2 WHERE out_trade_no = ?1",
                    params![out_trade_no, merchant_id],
                )? as u64;
            }
            Ok(n)
        })
    }

    /// Writes refunds (and the orders' refunded amounts) in one transaction.
    pub fn seed_refunds(&mut self, refunds: impl IntoIterator<Item = SeedRefund>) -> Result<u64> {
        self.transaction(|tx| {
            let mut n = 0;
            for r in refunds {
                let order_id: i64 =
                    tx.query_row("SELECT id FROM orders WHERE out_trade_no = ?1", [&r.out_trade_no], |row| row.get(0))?;
                tx.execute(
                    "INSERT INTO refunds (order_id, out_request_no, refund_amount, reason, status, created_at, updated_at)
                     VALUES (?1, ?2, ?3, '', ?4, ?5, ?5)",
                    params![order_id, r.out_request_no, r.refund_amount, r.status, r.created_at],
                )?;
                n += 1;
            }
            Ok(n)
        })
    }
}

fn seed_orders_in(tx: &Transaction<'_>, store_id: i64, orders: impl IntoIterator<Item = SeedOrder>) -> Result<u64> {
    let mut stmt = tx.prepare(
        "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, subject, total_amount, refunded_amount,
            status, created_at, paid_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9)",
    )?;
    let mut n = 0;
    for o in orders {
        stmt.execute(params![
            o.out_trade_no,
            o.trade_no,
            store_id,
            o.acquirer_id.0,
            o.subject,
            o.total_amount,
            o.refunded_amount,
            o.status,
            o.created_at,
            o.paid_at
        ])?;
        n += 1;
    }
    Ok(n)
}

/// A day with at least this many bill rows is walked in two halves at once ([`Store::recon_bill_rows`]).
const PARALLEL_SCAN_ROWS: i64 = 100_000;

/// The second half of a day's rows: its sums and what it found, to be handed on after the first half's.
type HalfScan = (BillDayScan, Vec<Found>);

/// What [`scan_bill_rows`] reports, in the bill's order.
enum Found {
    Payment(PaymentPair),
    Refund(RefundPair),
}

impl BillDayScan {
    /// Adds a later part of the day's rows.
    fn add(&mut self, other: BillDayScan) {
        self.matched_count += other.matched_count;
        self.matched_amount = self.matched_amount.saturating_add(other.matched_amount);
        self.matched_refund_count += other.matched_refund_count;
        self.matched_refund_amount = self.matched_refund_amount.saturating_add(other.matched_refund_amount);
        let (t, o) = (&mut self.totals, other.totals);
        t.payment_count += o.payment_count;
        t.payment_amount = t.payment_amount.saturating_add(o.payment_amount);
        t.refund_count += o.refund_count;
        t.refund_amount = t.refund_amount.saturating_add(o.refund_amount);
        t.fee_milli = t.fee_milli.saturating_add(o.fee_milli);
        t.settled = t.settled.saturating_add(o.settled);
        t.discount = t.discount.saturating_add(o.discount);
        self.matched_orders.extend(other.matched_orders);
        self.carried_in_count += other.carried_in_count;
        self.carried_in_amount = self.carried_in_amount.saturating_add(other.carried_in_amount);
    }
}

/// The day's bill rows with their local order and refund, in the bill's order, row ids in `[?3, ?4)`. The rows
/// are reached through each bill's row-id range (migration 0014), not an index.
const SCAN_BILL_ROWS: &str = "SELECT b.kind, b.amount, b.fee_milli, b.settled, b.discount, b.status,
                    o.id, o.total_amount, o.status, r.id, r.refund_amount, r.status,
                    b.id, b.line_no, b.trade_no, b.out_trade_no, b.out_request_no, b.occurred_at, b.subject,
                    COALESCE(o.paid_at, o.created_at), o.acquirer_merchant_id, b.merchant_ref, r.created_at
             FROM bills bl JOIN bill_rows b ON b.id BETWEEN bl.first_row AND bl.last_row AND b.bill_id = bl.id
             LEFT JOIN orders o ON o.id = COALESCE(
                 (SELECT id FROM orders WHERE out_trade_no = b.out_trade_no),
                 (SELECT id FROM orders WHERE trade_no = b.trade_no AND b.trade_no <> '' LIMIT 1))
             LEFT JOIN refunds r ON b.kind = 'refund' AND r.out_request_no = b.out_request_no
             WHERE bl.acquirer_id = ?1 AND bl.bill_date = ?2 AND b.id >= ?3 AND b.id < ?4
             ORDER BY bl.id, b.id";

/// The rows of the day's bills whose id is in `[ids.0, ids.1)`, in the bill's order: see [`Store::recon_bill_rows`].
/// `matched_orders` comes back unsorted.
fn scan_bill_rows(
    conn: &Connection,
    acquirer: AcquirerId,
    bill_date: &str,
    rules: &FieldRules,
    ids: (i64, i64),
    found: &mut dyn FnMut(Found),
) -> Result<BillDayScan> {
    // bill_rows.id grows with line_no within a bill (rows go in in file order, in one transaction), so
    // "bl.id, b.id" is the bill's own order and needs no sort.
    let mut stmt = conn.prepare_cached(SCAN_BILL_ROWS)?;
    let mut rows = stmt.query(params![acquirer.0, bill_date, ids.0, ids.1])?;
    let mut scan = BillDayScan::default();
    let t = &mut scan.totals;
    let text =
        |r: &rusqlite::Row<'_>, i: usize| -> Result<String> { Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default()) };
    let tolerance = rules.time_tolerance_secs.max(0);
    let day_start = rules.day_start.as_bytes();
    let amount_text = |fen: i64| crate::money::Amount::from_fen(fen).to_string();
    while let Some(r) = rows.next()? {
        let bill_amount: i64 = r.get(1)?;
        let fee_milli: i64 = r.get(2)?;
        t.fee_milli = t.fee_milli.saturating_add(fee_milli);
        t.settled = t.settled.saturating_add(r.get(3)?);
        t.discount = t.discount.saturating_add(r.get(4)?);
        let kind = match r.get_ref(0)? {
            ValueRef::Text(b"payment") => BillRowKind::Payment,
            ValueRef::Text(b"refund") => BillRowKind::Refund,
            ValueRef::Text(b"revoked") => BillRowKind::Revoked,
            _ => continue, // not a kind this version writes: in the day's sums only
        };
        let bill_ok = matches!(r.get_ref(5)?, ValueRef::Text(b"SUCCESS"));
        let order_id: Option<i64> = r.get(6)?;
        let bill_at = text_of(r.get_ref(17)?);
        match kind {
            BillRowKind::Payment | BillRowKind::Revoked => {
                let local_amount: Option<i64> = r.get(7)?;
                if kind == BillRowKind::Payment {
                    t.payment_count += 1;
                    t.payment_amount = t.payment_amount.saturating_add(bill_amount);
                }
                if let Some(id) = order_id {
                    scan.matched_orders.push(id);
                }
                let paid = matches!(r.get_ref(8)?, ValueRef::Text(b"PAID" | b"PARTIALLY_REFUNDED" | b"REFUNDED"));
                let local_at = text_of(r.get_ref(19)?);
                // Fields compared on paid payments only: an unpaid order's difference is its status.
                let (time_apart, merchant_apart, fee_expected) = if kind == BillRowKind::Payment && paid {
                    let merchants = (text_of(r.get_ref(20)?), text_of(r.get_ref(21)?));
                    let fee_expected = rules.fee_rate_ppm.map(|ppm| bill_amount.saturating_mul(ppm) / 1000);
                    (
                        time_apart(bill_at, local_at, tolerance),
                        matches!(merchants, (Some(ours), Some(theirs)) if ours != theirs),
                        fee_expected.filter(|e| (fee_milli.abs() - e).abs() >= 1000),
                    )
                } else {
                    (false, false, None)
                };
                let same_amount = local_amount == Some(bill_amount);
                if kind == BillRowKind::Payment
                    && paid
                    && same_amount
                    && !time_apart
                    && !merchant_apart
                    && fee_expected.is_none()
                {
                    scan.matched_count += 1;
                    scan.matched_amount = scan.matched_amount.saturating_add(bill_amount);
                    if local_at.is_some_and(|at| at < day_start) {
                        scan.carried_in_count += 1;
                        scan.carried_in_amount = scan.carried_in_amount.saturating_add(bill_amount);
                    }
                    continue;
                }
                let local_status: Option<String> = r.get(8)?;
                let mut fields = Vec::new();
                if let Some(local) = local_amount.filter(|_| !same_amount) {
                    fields.push(FieldDiff {
                        field: DiffField::Amount,
                        bill: amount_text(bill_amount),
                        local: amount_text(local),
                    });
                }
                if let Some(local) = &local_status
                    && (paid == (kind == BillRowKind::Revoked))
                {
                    fields.push(FieldDiff { field: DiffField::Status, bill: text(r, 5)?, local: local.clone() });
                }
                if let Some(expected) = fee_expected {
                    let exact = |m: i64| crate::channel::wechatpay::bill::MilliFen::from_milli_fen(m).to_string();
                    fields.push(FieldDiff {
                        field: DiffField::Fee,
                        bill: exact(fee_milli.abs()),
                        local: exact(expected),
                    });
                }
                if time_apart {
                    fields.push(FieldDiff { field: DiffField::Time, bill: lossy(bill_at), local: lossy(local_at) });
                }
                if merchant_apart {
                    fields.push(FieldDiff { field: DiffField::MerchantId, bill: text(r, 21)?, local: text(r, 20)? });
                }
                found(Found::Payment(PaymentPair {
                    kind: kind.as_str().to_owned(),
                    bill_amount,
                    local_amount,
                    local_status,
                    bill_row_id: r.get(12)?,
                    line_no: r.get(13)?,
                    trade_no: text(r, 14)?,
                    out_trade_no: text(r, 15)?,
                    bill_status: r.get(5)?,
                    occurred_at: r.get(17)?,
                    subject: r.get(18)?,
                    order_id,
                    fields,
                }));
            }
            BillRowKind::Refund => {
                t.refund_count += 1;
                t.refund_amount = t.refund_amount.saturating_add(bill_amount);
                let local_id: Option<i64> = r.get(9)?;
                let local_amount: Option<i64> = r.get(10)?;
                let local_ok = matches!(r.get_ref(11)?, ValueRef::Text(b"SUCCESS"));
                // A refund's time is not compared: the till keeps only its own request time, not the acquirer's.
                let local_from = text_of(r.get_ref(22)?);
                let same_amount = local_amount == Some(bill_amount);
                if bill_ok && local_id.is_some() && local_ok && same_amount {
                    scan.matched_refund_count += 1;
                    scan.matched_refund_amount = scan.matched_refund_amount.saturating_add(bill_amount);
                    if local_from.is_some_and(|at| at < day_start) {
                        scan.carried_in_count += 1;
                        scan.carried_in_amount = scan.carried_in_amount.saturating_add(bill_amount);
                    }
                    continue;
                }
                let local_status: Option<String> = r.get(11)?;
                let mut fields = Vec::new();
                if let Some(local) = local_amount.filter(|_| !same_amount) {
                    fields.push(FieldDiff {
                        field: DiffField::RefundAmount,
                        bill: amount_text(bill_amount),
                        local: amount_text(local),
                    });
                }
                if bill_ok != local_ok && (local_id.is_some() || order_id.is_some()) {
                    fields.push(FieldDiff {
                        field: DiffField::Status,
                        bill: text(r, 5)?,
                        local: local_status.clone().unwrap_or_default(),
                    });
                }
                found(Found::Refund(RefundPair {
                    bill_row_id: r.get(12)?,
                    line_no: r.get(13)?,
                    trade_no: text(r, 14)?,
                    out_trade_no: text(r, 15)?,
                    out_request_no: text(r, 16)?,
                    bill_status: r.get(5)?,
                    bill_amount,
                    occurred_at: r.get(17)?,
                    subject: r.get(18)?,
                    local_amount,
                    local_status,
                    order_found: order_id.is_some(),
                    fields,
                }));
            }
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AcquirerKind;

    fn pragma(store: &Store, name: &str) -> i64 {
        store.conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn an_import_puts_the_connection_settings_back_whatever_happens() {
        let mut store = Store::open_in_memory().unwrap();
        let acquirer_id = store.acquirer_for(AcquirerKind::WechatPay).unwrap();
        let new = NewBill { acquirer_id, source_name: "bill.txt", format: "wechat_text" };
        let row = NewBillRow {
            line_no: 2,
            trade_no: "4200002026112400000001",
            out_trade_no: "T0001",
            kind: Some(BillRowKind::Payment),
            status: "SUCCESS",
            amount: 100,
            occurred_at: "2026-11-24T01:00:00Z",
            ..Default::default()
        };
        let failed = store.import_bill(&new, |sink| {
            sink.push(&row)?;
            Err::<FinishedBill, _>(StoreError::NotFound { what: "test failure", key: "injected".into() })
        });
        assert!(failed.is_err());
        assert_eq!(pragma(&store, "foreign_keys"), 1);
        assert_eq!(pragma(&store, "cache_size"), -2000);
        assert_eq!(store.bill_row_count().unwrap(), 0);

        let finished =
            || FinishedBill { bill_date: "2026-11-24".into(), totals_json: "{}".into(), ..Default::default() };
        let done = store
            .import_bill(&new, |sink| {
                sink.push(&row)?;
                Ok::<_, StoreError>(finished())
            })
            .unwrap();
        assert!(matches!(done, ImportResult::Imported { replaced: None, .. }));
        assert_eq!(pragma(&store, "foreign_keys"), 1);
        assert_eq!(pragma(&store, "cache_size"), -2000);
        assert_eq!(store.bill_row_count().unwrap(), 1);
        // The rows really belong to their bill: deleting the bill cascades (foreign keys are on again).
        store.conn.execute("DELETE FROM bills", []).unwrap();
        assert_eq!(store.bill_row_count().unwrap(), 0);
    }

    fn payment_row(i: u64, out: &mut String, trade: &mut String) -> NewBillRow<'static> {
        *out = format!("T{i:08}");
        *trade = format!("4200{i:012}");
        NewBillRow {
            line_no: i as i64 + 2,
            kind: Some(BillRowKind::Payment),
            status: "SUCCESS",
            amount: 100,
            occurred_at: "2026-11-24T01:00:00Z",
            ..Default::default()
        }
    }

    fn finished() -> FinishedBill {
        FinishedBill { bill_date: "2026-11-24".into(), totals_json: "{}".into(), ..Default::default() }
    }

    #[test]
    fn a_long_import_commits_in_batches_that_stay_invisible_until_it_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tilldesk.sqlite3");
        let mut store = Store::open(&path).unwrap();
        let acquirer_id = store.acquirer_for(AcquirerKind::WechatPay).unwrap();
        let new = NewBill { acquirer_id, source_name: "bill.txt", format: "wechat_text" };
        let other = Store::open(&path).unwrap();
        let (mut out, mut trade) = (String::new(), String::new());
        let total = BATCH_ROWS + 10;
        let cancelled = store.import_bill(&new, |sink| {
            for i in 0..total {
                let row = payment_row(i, &mut out, &mut trade);
                sink.push(&NewBillRow { out_trade_no: &out, trade_no: &trade, ..row })?;
            }
            // A whole batch is committed (no lock held for the whole import)…
            sink.wait_written()?;
            let seen = other.bill_row_count().unwrap();
            assert!(seen > 0, "batches are committed as the import goes: {seen} rows seen");
            // …and yet no reader takes it for a bill.
            assert!(other.recent_bills(10).unwrap().is_empty());
            assert!(other.bills_of_day(acquirer_id, "2026-11-24").unwrap().is_empty());
            Err::<FinishedBill, _>(StoreError::NotFound { what: "test", key: "cancel".into() })
        });
        assert!(cancelled.is_err());
        // A cancel leaves nothing behind, committed batches included.
        assert_eq!(other.bill_row_count().unwrap(), 0);
        let bills: i64 = other.conn.query_row("SELECT COUNT(*) FROM bills", [], |r| r.get(0)).unwrap();
        assert_eq!(bills, 0);

        let done = store
            .import_bill(&new, |sink| {
                for i in 0..total {
                    let row = payment_row(i, &mut out, &mut trade);
                    sink.push(&NewBillRow { out_trade_no: &out, trade_no: &trade, ..row })?;
                }
                Ok::<_, StoreError>(finished())
            })
            .unwrap();
        let ImportResult::Imported { bill, .. } = done else { panic!("{done:?}") };
        assert_eq!(bill.row_count as u64, total);
        assert_eq!(other.bills_of_day(acquirer_id, "2026-11-24").unwrap(), vec![bill]);
        assert_eq!(pragma(&store, "synchronous"), 2, "durable again after the import");
    }

    #[test]
    fn what_an_interrupted_import_or_run_left_is_removed_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("tilldesk.sqlite3")).unwrap();
        let acquirer_id = store.acquirer_for(AcquirerKind::WechatPay).unwrap();
        // A killed import: a staged bill whose last batch is long ago, with rows.
        store
            .conn
            .execute(
                "INSERT INTO bills (id, acquirer_id, bill_date, source_name, content_hash, imported_at)
                 VALUES (99, ?1, '', 'killed.txt', 'pending:x', '2026-01-01T00:00:00.000000Z')",
                [acquirer_id.0],
            )
            .unwrap();
        store
            .conn
            .execute(
                "INSERT INTO bill_rows (bill_id, line_no, out_trade_no, trade_no, kind, amount, occurred_at)
                 VALUES (99, 2, 'T1', '42001', 'payment', 100, '2026-11-24T01:00:00Z')",
                [],
            )
            .unwrap();
        // What the import's writer records with each batch it commits: the rows' range.
        store
            .conn
            .execute(
                "UPDATE bills SET first_row = last_insert_rowid(), last_row = last_insert_rowid() WHERE id = 99",
                [],
            )
            .unwrap();
        // A killed reconciliation save: a run never finished, with a discrepancy.
        store
            .conn
            .execute(
                "INSERT INTO recon_runs (id, started_at, finished_at, acquirer_id, bill_date)
                 VALUES (7, '2026-01-01T00:00:00.000000Z', NULL, ?1, '2026-11-24')",
                [acquirer_id.0],
            )
            .unwrap();
        store
            .conn
            .execute(
                "INSERT INTO discrepancies (run_id, kind, explanation, created_at) VALUES (7, 'only_local', '', 'now')",
                [],
            )
            .unwrap();
        assert!(store.recent_bills(10).unwrap().is_empty());
        assert!(store.recon_runs(10).unwrap().is_empty());
        assert!(store.recon_run(7).unwrap().is_none());

        let new = NewBill { acquirer_id, source_name: "bill.txt", format: "wechat_text" };
        let (mut out, mut trade) = (String::new(), String::new());
        store
            .import_bill(&new, |sink| {
                let row = payment_row(5, &mut out, &mut trade);
                sink.push(&NewBillRow { out_trade_no: &out, trade_no: &trade, ..row })?;
                Ok::<_, StoreError>(finished())
            })
            .unwrap();
        assert_eq!(store.bill_row_count().unwrap(), 1, "the killed import's rows are gone");
        assert!(store.bill(BillId(99)).unwrap().is_none());
        let run = store.save_recon_run(acquirer_id, "2026-11-24", None, &crate::time::now_utc(), "{}", &[]).unwrap();
        let runs: Vec<i64> = store.recon_runs(10).unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(runs, vec![run]);
        let left: i64 =
            store.conn.query_row("SELECT COUNT(*) FROM discrepancies WHERE run_id = 7", [], |r| r.get(0)).unwrap();
        assert_eq!(left, 0, "the killed run's discrepancies are gone");
    }

    #[test]
    fn bills_imported_before_types_were_kept_get_a_type_from_their_rows() {
        let mut store = Store::open_in_memory().unwrap();
        let wechat = store.acquirer_for(AcquirerKind::WechatPay).unwrap();
        let alipay = store.acquirer_for(AcquirerKind::Alipay).unwrap();
        let bills: [(i64, AcquirerId, &str, &[&str]); 5] = [
            (1, alipay, "alipay_zip", &["payment", "refund"]),
            (2, wechat, "wechat_text", &["refund", "refund"]),
            (3, wechat, "wechat_text", &["payment", "revoked"]),
            (4, wechat, "wechat_text", &["payment", "refund"]),
            (5, wechat, "wechat_text", &[]),
        ];
        for (id, acquirer, format, kinds) in bills {
            store
                .conn
                .execute(
                    "INSERT INTO bills (id, acquirer_id, bill_date, source_name, content_hash, imported_at, format)
                     VALUES (?1, ?2, ?3, 'b', ?1, 'now', ?4)",
                    params![id, acquirer.0, format!("2026-11-2{id}"), format],
                )
                .unwrap();
            for (i, kind) in kinds.iter().enumerate() {
                store
                    .conn
                    .execute(
                        "INSERT INTO bill_rows (bill_id, line_no, kind, amount, occurred_at) VALUES (?1, ?2, ?3, 1, 'x')",
                        params![id, i as i64 + 2, kind],
                    )
                    .unwrap();
            }
        }
        let sql = include_str!("migrations/0010_bill_types.sql");
        let update = &sql[sql.find("UPDATE bills").unwrap()..sql.find("-- The hash of a bill's rows").unwrap()];
        store.conn.execute_batch(update).unwrap();
        let types: Vec<BillType> = (1..=5).map(|id| store.bill(BillId(id)).unwrap().unwrap().bill_type).collect();
        assert_eq!(types, [BillType::Trade, BillType::Refund, BillType::Success, BillType::All, BillType::All]);
    }

    #[test]
    fn a_day_walked_in_two_halves_finds_what_one_pass_finds_in_the_same_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("tilldesk.sqlite3")).unwrap();
        let acquirer_id = store.acquirer_for(AcquirerKind::WechatPay).unwrap();
        // 600 rows: payments matching, of another amount, unknown to the till, refunds matching and not.
        let n = 600u64;
        let orders = (0..n).filter(|i| i % 7 != 3).map(|i| SeedOrder {
            out_trade_no: format!("T{i:05}"),
            trade_no: Some(format!("4200{i:08}")),
            acquirer_id,
            subject: "拿铁".into(),
            total_amount: if i % 11 == 5 { 101 } else { 100 + (i as i64 % 3) },
            refunded_amount: 0,
            status: if i % 13 == 8 { "FAILED".into() } else { "PAID".into() },
            created_at: "2026-11-24T01:00:00Z".into(),
            paid_at: Some("2026-11-24T01:00:00Z".into()),
        });
        store.seed_orders(orders).unwrap();
        let refunds = (0..n).filter(|i| i % 5 == 0 && i % 7 != 3).map(|i| SeedRefund {
            out_trade_no: format!("T{i:05}"),
            out_request_no: format!("R{i:05}"),
            refund_amount: if i % 10 == 0 { 50 } else { 40 },
            status: "SUCCESS".into(),
            created_at: "2026-11-24T02:00:00Z".into(),
        });
        store.seed_refunds(refunds).unwrap();
        let new = NewBill { acquirer_id, source_name: "bill.txt", format: "wechat_text" };
        store
            .import_bill(&new, |sink| {
                for i in 0..n {
                    let (out, trade, request) = (format!("T{i:05}"), format!("4200{i:08}"), format!("R{i:05}"));
                    let refund = i % 5 == 0 && i > 0;
                    sink.push(&NewBillRow {
                        line_no: i as i64 + 2,
                        trade_no: &trade,
                        out_trade_no: &out,
                        out_request_no: refund.then_some(request.as_str()),
                        kind: Some(if refund { BillRowKind::Refund } else { BillRowKind::Payment }),
                        status: "SUCCESS",
                        amount: if refund { 50 } else { 100 + (i as i64 % 3) },
                        fee_milli: 600,
                        settled: 100,
                        occurred_at: "2026-11-24T01:00:00Z",
                        ..Default::default()
                    })?;
                }
                Ok::<_, StoreError>(finished())
            })
            .unwrap();
        let rules =
            FieldRules { time_tolerance_secs: 300, fee_rate_ppm: None, day_start: "2026-11-23T16:00:00".into() };
        let walk = |parallel_from: i64| {
            let found = std::cell::RefCell::new(Vec::new());
            let scan = store
                .recon_bill_rows_split(
                    acquirer_id,
                    "2026-11-24",
                    &rules,
                    parallel_from,
                    |p| found.borrow_mut().push(format!("{p:?}")),
                    |r| found.borrow_mut().push(format!("{r:?}")),
                )
                .unwrap();
            (format!("{scan:?}"), found.into_inner())
        };
        let (one_scan, one_found) = walk(i64::MAX);
        let (two_scan, two_found) = walk(1);
        assert!(one_found.len() > 100, "the day has differences of every kind: {}", one_found.len());
        assert_eq!(two_found, one_found);
        assert_eq!(two_scan, one_scan);
    }

    #[test]
    fn a_days_rows_are_read_through_their_bills_row_range_not_a_scan_of_every_bill() {
        let store = Store::open_in_memory().unwrap();
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {SCAN_BILL_ROWS}"))
            .unwrap()
            .query_map(params![1, "2026-11-24", 0, i64::MAX], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let bill_rows = plan.iter().find(|l| l.contains(" b ")).unwrap_or_else(|| panic!("{plan:?}"));
        assert!(bill_rows.contains("INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), "{plan:?}");
    }
}
