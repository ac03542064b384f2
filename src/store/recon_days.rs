//! The resolution workflow and closed days: the SQL behind `recon::resolve`.
//!
//! A difference is resolved (or reopened) only in the latest run of its acquirer's day, and only while that day is
//! not closed; every change is one IMMEDIATE transaction with its audit entry. A day is closed when its latest run
//! has nothing open: the closing records who and when and keeps the report frozen as it was printed.

use rusqlite::{OptionalExtension, Transaction, params};

use super::recon::StoredDiscrepancy;
use super::{Result, Store, StoreError, append_audit};
use crate::model::{AcquirerId, DiscrepancyId, OperatorId, ResolutionKind};

/// Why a resolution or a closing was refused: the data does not allow it. The UI phrases these in its language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("difference #{id} belongs to run {run}, but the latest run of that day is {latest}: work on that one")]
    NotLatestRun { id: i64, run: i64, latest: i64 },
    #[error("difference #{id} is already resolved ({kind}); reopen it first to resolve it another way")]
    AlreadyResolved { id: i64, kind: String },
    #[error("difference #{id} is open: there is nothing to reopen")]
    NotResolved { id: i64 },
    #[error("a resolution needs a note saying what was done")]
    NoteRequired,
    #[error("the bills of {bill_date} have no row with {what}")]
    BillRowNotFound { what: String, bill_date: String },
    #[error("line {line} is in more than one bill of {bill_date}: give the row's trade_no instead")]
    BillRowAmbiguous { line: i64, bill_date: String },
    #[error("bill line {line} (trade_no {trade_no}) already matches a local record: there is nothing to match by hand")]
    BillRowMatched { line: i64, trade_no: String },
    #[error(
        "difference #{id} is bill line {line} itself: only a difference the bill lacks (only local) is matched by hand \
         to another bill row"
    )]
    NotLocalOnly { id: i64, line: i64 },
    #[error("bill line {line} (trade_no {trade_no}) is already resolved ({kind})")]
    BillRowResolved { line: i64, trade_no: String, kind: String },
    #[error("{out_request_no:?} is not an out_request_no (1 to 64 letters, digits or _-|*): give the refund's number")]
    BadOutRequestNo { out_request_no: String },
    #[error("refund {out_request_no} belongs to order {belongs_to}, not to {expected}")]
    RefundOfAnotherOrder { out_request_no: String, belongs_to: String, expected: String },
    #[error("difference #{id} has no bill payment to adopt (only a bill payment the till lacks can be adopted)")]
    CannotAdopt { id: i64 },
    #[error("{bill_date} has not been reconciled yet: reconcile it first")]
    NoRun { bill_date: String },
    #[error("{bill_date} still has {count} open difference(s) in run {run}: resolve them before closing the day")]
    OpenDifferences { bill_date: String, count: i64, run: i64 },
    #[error("the bills of {bill_date} changed after run {run}: reconcile the day again before closing it")]
    StaleRun { bill_date: String, run: i64 },
    #[error("{bill_date} is not closed: there is nothing to reopen")]
    NotClosed { bill_date: String },
}

/// A resolution to record.
#[derive(Debug, Clone, Copy)]
pub struct NewResolution<'a> {
    /// None: a resolution without a kind (as before kinds existed).
    pub kind: Option<ResolutionKind>,
    pub note: &'a str,
    /// refunded: the refund's out_request_no.
    pub out_request_no: Option<&'a str>,
}

/// Which bill row a difference is matched to by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillRowPick {
    Line(i64),
    TradeNo(String),
}

/// A closed day as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedDay {
    pub id: i64,
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    pub run_id: i64,
    /// UTC RFC 3339.
    pub closed_at: String,
    pub closed_by: Option<OperatorId>,
    /// The operator's name, or the actor ("command line", "window") when nobody was signed in.
    pub closed_by_name: String,
    /// The frozen report, exactly as `reconcile show --json` prints it.
    pub report_json: String,
    /// The frozen report, exactly as `reconcile show` prints it.
    pub report_text: String,
}

/// What a closing freezes.
#[derive(Debug, Clone)]
pub struct NewClosedDay<'a> {
    pub acquirer_id: AcquirerId,
    pub bill_date: &'a str,
    /// The run the report was made from: it must still be the day's latest, with nothing open.
    pub run_id: i64,
    pub closed_at: &'a str,
    pub closed_by_name: &'a str,
    pub report_json: &'a str,
    pub report_text: &'a str,
}

const CLOSED_COLUMNS: &str =
    "id, acquirer_id, bill_date, run_id, closed_at, closed_by, closed_by_name, report_json, report_text";

fn closed_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ClosedDay> {
    Ok(ClosedDay {
        id: r.get(0)?,
        acquirer_id: AcquirerId(r.get(1)?),
        bill_date: r.get(2)?,
        run_id: r.get(3)?,
        closed_at: r.get(4)?,
        closed_by: r.get::<_, Option<i64>>(5)?.map(OperatorId),
        closed_by_name: r.get(6)?,
        report_json: r.get(7)?,
        report_text: r.get(8)?,
    })
}

/// The closing of a day in force, if any.
fn closed_in(tx: &rusqlite::Connection, acquirer: AcquirerId, bill_date: &str) -> Result<Option<ClosedDay>> {
    Ok(tx
        .query_row(
            &format!(
                "SELECT {CLOSED_COLUMNS} FROM recon_days
                 WHERE acquirer_id = ?1 AND bill_date = ?2 AND reopened_at IS NULL"
            ),
            params![acquirer.0, bill_date],
            closed_from_row,
        )
        .optional()?)
}

fn latest_run_in(tx: &rusqlite::Connection, acquirer: AcquirerId, bill_date: &str) -> Result<Option<i64>> {
    Ok(tx.query_row(
        "SELECT MAX(id) FROM recon_runs WHERE acquirer_id = ?1 AND bill_date = ?2 AND finished_at IS NOT NULL",
        params![acquirer.0, bill_date],
        |r| r.get(0),
    )?)
}

fn refuse_if_closed(tx: &rusqlite::Connection, acquirer: AcquirerId, bill_date: &str) -> Result<()> {
    match closed_in(tx, acquirer, bill_date)? {
        Some(c) => Err(StoreError::DayClosed {
            bill_date: bill_date.to_owned(),
            closed_at: c.closed_at,
            closed_by: c.closed_by_name,
        }),
        None => Ok(()),
    }
}

/// A difference with its run's acquirer and day, checked to be in the latest run of a day that is not closed.
struct Workable {
    d: StoredDiscrepancy,
    acquirer: AcquirerId,
    bill_date: String,
}

fn workable(tx: &Transaction<'_>, id: DiscrepancyId) -> Result<Workable> {
    let d = tx
        .query_row(
            &format!("SELECT {} FROM discrepancies WHERE id = ?1", super::recon::DISCREPANCY_COLUMNS),
            [id.0],
            super::recon::discrepancy_from_row,
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound { what: "difference", key: format!("#{}", id.0) })?;
    let (acquirer, bill_date): (Option<i64>, Option<String>) = tx
        .query_row("SELECT acquirer_id, bill_date FROM recon_runs WHERE id = ?1", [d.run_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .unwrap_or((None, None));
    let (Some(acquirer), Some(bill_date)) = (acquirer.map(AcquirerId), bill_date) else {
        return Err(StoreError::NotFound { what: "difference", key: format!("#{}", id.0) });
    };
    refuse_if_closed(tx, acquirer, &bill_date)?;
    let latest = latest_run_in(tx, acquirer, &bill_date)?.unwrap_or(d.run_id);
    if latest != d.run_id {
        return Err(Refused::NotLatestRun { id: id.0, run: d.run_id, latest }.into());
    }
    Ok(Workable { d, acquirer, bill_date })
}

/// A kind's text for messages ("resolved" when it has none).
fn kind_words(d: &StoredDiscrepancy) -> String {
    d.resolution.clone().unwrap_or_else(|| "resolved".to_owned())
}

/// out_request_no as the protocols allow it: 1 to 64 of letters, digits and _-|*.
pub fn valid_out_request_no(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
}

#[allow(clippy::too_many_arguments)]
fn write_resolution(
    tx: &Transaction<'_>,
    id: DiscrepancyId,
    kind: Option<ResolutionKind>,
    note: &str,
    reference: Option<&str>,
    line: Option<i64>,
    operator: Option<OperatorId>,
    now: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE discrepancies SET resolved = 1, note = ?2, resolved_at = ?3, resolution = ?4, resolution_ref = ?5,
            resolution_line = ?6, resolved_by = COALESCE(?7, (SELECT operator_id FROM temp.audit_session)),
            reopened_at = NULL
         WHERE id = ?1",
        params![id.0, note, now, kind.map(|k| k.as_str()), reference, line, operator.map(|o| o.0)],
    )?;
    let after = match (kind, reference) {
        (Some(k), Some(r)) => format!("{k} ({r}): {note}"),
        (Some(k), None) => format!("{k}: {note}"),
        (None, _) => note.to_owned(),
    };
    append_audit(tx, now, operator, "discrepancy.resolve", &format!("#{}", id.0), None, Some(&after))
}

impl Store {
    /// Checks that a difference may be resolved now (exists, latest run, day open, not resolved); used by adopting.
    pub(super) fn check_resolvable(tx: &Transaction<'_>, id: DiscrepancyId) -> Result<StoredDiscrepancy> {
        let w = workable(tx, id)?;
        if w.d.resolved {
            return Err(Refused::AlreadyResolved { id: id.0, kind: kind_words(&w.d) }.into());
        }
        Ok(w.d)
    }
}

impl<S: std::ops::Deref<Target = Store>> super::Recon<S> {
    /// The closing of an acquirer's day in force, if the day is closed.
    pub fn closed_day(&self, acquirer: AcquirerId, bill_date: &str) -> Result<Option<ClosedDay>> {
        closed_in(&self.conn, acquirer, bill_date)
    }

    /// The id of the latest finished run of an acquirer's day.
    pub fn latest_run_of_day(&self, acquirer: AcquirerId, bill_date: &str) -> Result<Option<i64>> {
        latest_run_in(&self.conn, acquirer, bill_date)
    }

    /// How many differences of a run are open.
    pub fn open_discrepancy_count(&self, run_id: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM discrepancies WHERE run_id = ?1 AND resolved = 0",
            [run_id],
            |r| r.get(0),
        )?)
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Recon<S> {
    /// Marks a difference resolved with `resolution` (adjusted, refunded or written off; see
    /// [`Recon::match_to_bill_row`] and [`Recon::adopt_bill_payment`] for the other two), audited, in one
    /// transaction. Refused on a closed day, outside the day's latest run, or when it is resolved already.
    pub fn resolve_discrepancy_as(
        &mut self,
        id: DiscrepancyId,
        resolution: &NewResolution<'_>,
        operator: Option<OperatorId>,
    ) -> Result<()> {
        let note = resolution.note.trim();
        if note.is_empty() {
            return Err(Refused::NoteRequired.into());
        }
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let w = workable(tx, id)?;
            if w.d.resolved {
                return Err(Refused::AlreadyResolved { id: id.0, kind: kind_words(&w.d) }.into());
            }
            let reference = match resolution.out_request_no.map(str::trim).filter(|r| !r.is_empty()) {
                Some(r) => {
                    if !valid_out_request_no(r) {
                        return Err(Refused::BadOutRequestNo { out_request_no: r.to_owned() }.into());
                    }
                    let belongs: Option<String> = tx
                        .query_row(
                            "SELECT o.out_trade_no FROM refunds f JOIN orders o ON o.id = f.order_id
                             WHERE f.out_request_no = ?1",
                            [r],
                            |row| row.get(0),
                        )
                        .optional()?;
                    if let (Some(belongs_to), Some(expected)) = (belongs, w.d.fields.out_trade_no.clone())
                        && belongs_to != expected
                    {
                        return Err(Refused::RefundOfAnotherOrder {
                            out_request_no: r.to_owned(),
                            belongs_to,
                            expected,
                        }
                        .into());
                    }
                    Some(r)
                }
                None => None,
            };
            write_resolution(tx, id, resolution.kind, note, reference, None, operator, &now)
        })
    }

    /// Matches a difference by hand to a row of its day's bills (by line or trade_no). The row must be a
    /// difference of the same run (a row that matched a local record needs no hand) and not resolved already; both
    /// differences are resolved as matched to each other, audited, in one transaction. Returns the row's line.
    pub fn match_to_bill_row(
        &mut self,
        id: DiscrepancyId,
        pick: &BillRowPick,
        note: &str,
        operator: Option<OperatorId>,
    ) -> Result<i64> {
        let note = note.trim();
        if note.is_empty() {
            return Err(Refused::NoteRequired.into());
        }
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let w = workable(tx, id)?;
            if w.d.resolved {
                return Err(Refused::AlreadyResolved { id: id.0, kind: kind_words(&w.d) }.into());
            }
            let (sql, value, what) = match pick {
                BillRowPick::Line(n) => ("b.line_no = ?3", rusqlite::types::Value::Integer(*n), format!("line {n}")),
                BillRowPick::TradeNo(t) => {
                    ("b.trade_no = ?3", rusqlite::types::Value::Text(t.trim().to_owned()), format!("trade_no {t}"))
                }
            };
            let rows: Vec<(i64, i64, String)> = {
                let mut stmt = tx.prepare(&format!(
                    "SELECT b.id, b.line_no, COALESCE(b.trade_no, '') FROM bills bl JOIN bill_rows b ON b.id BETWEEN bl.first_row AND bl.last_row AND b.bill_id = bl.id
                     WHERE bl.acquirer_id = ?1 AND bl.bill_date = ?2 AND {sql} ORDER BY b.id"
                ))?;
                stmt.query_map(params![w.acquirer.0, w.bill_date, value], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<_>>()?
            };
            if let (BillRowPick::Line(n), [_, _, ..]) = (pick, rows.as_slice()) {
                return Err(Refused::BillRowAmbiguous { line: *n, bill_date: w.bill_date.clone() }.into());
            }
            // The row's own difference in this run: without one it matched a local record already. A payment and
            // its refunds share a trade_no: the first of them that is a difference is the one.
            let own_of = |row_id: i64| -> Result<Option<StoredDiscrepancy>> {
                Ok(tx
                    .query_row(
                        &format!(
                            "SELECT {} FROM discrepancies WHERE run_id = ?1 AND bill_row_id = ?2 ORDER BY id LIMIT 1",
                            super::recon::DISCREPANCY_COLUMNS
                        ),
                        params![w.d.run_id, row_id],
                        super::recon::discrepancy_from_row,
                    )
                    .optional()?)
            };
            let mut picked = None;
            for row in &rows {
                if let Some(own) = own_of(row.0)? {
                    picked = Some((row.clone(), Some(own)));
                    break;
                }
            }
            let ((row_id, line, trade_no), own) = match (picked, rows.first()) {
                (Some(found), _) => found,
                (None, Some(first)) => (first.clone(), None),
                (None, None) => return Err(Refused::BillRowNotFound { what, bill_date: w.bill_date.clone() }.into()),
            };
            // A difference that is itself a bill row (only in the bill, an amount or status mismatch) is matched
            // only to its own row: two bill rows are not matched to each other.
            if let Some(own_row) = w.d.fields.bill_row_id
                && own_row != row_id
            {
                let own_line = w.d.fields.bill_line.unwrap_or_default();
                return Err(Refused::NotLocalOnly { id: id.0, line: own_line }.into());
            }
            let Some(own) = own else {
                return Err(Refused::BillRowMatched { line, trade_no }.into());
            };
            if own.id != id && own.resolved {
                return Err(Refused::BillRowResolved { line, trade_no, kind: kind_words(&own) }.into());
            }
            let reference = Some(trade_no.as_str()).filter(|t| !t.is_empty());
            write_resolution(tx, id, Some(ResolutionKind::Matched), note, reference, Some(line), operator, &now)?;
            if own.id != id {
                let back = w.d.fields.out_trade_no.as_deref();
                write_resolution(tx, own.id, Some(ResolutionKind::Matched), note, back, Some(line), operator, &now)?;
            }
            Ok(line)
        })
    }

    /// Takes a resolution back (the next run does not carry it over), audited with the reason. Refused on a closed
    /// day, outside the day's latest run, or when the difference is open.
    pub fn reopen_discrepancy(&mut self, id: DiscrepancyId, note: &str, operator: Option<OperatorId>) -> Result<()> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let w = workable(tx, id)?;
            if !w.d.resolved {
                return Err(Refused::NotResolved { id: id.0 }.into());
            }
            tx.execute(
                "UPDATE discrepancies SET resolved = 0, note = NULL, resolved_at = NULL, resolution = NULL,
                    resolution_ref = NULL, resolution_line = NULL, resolved_by = NULL, reopened_at = ?2
                 WHERE id = ?1",
                params![id.0, now],
            )?;
            let before = format!("{}: {}", kind_words(&w.d), w.d.note.as_deref().unwrap_or(""));
            append_audit(tx, &now, operator, "discrepancy.reopen", &format!("#{}", id.0), Some(&before), Some(note))
        })
    }

    /// Checks that the day can be closed from `run_id` (the latest run, nothing open, the bills unchanged since,
    /// not closed already). [`Recon::close_day`] checks again in its transaction.
    pub fn check_closable(&mut self, acquirer: AcquirerId, bill_date: &str, run_id: i64) -> Result<()> {
        self.transaction(|tx| closable(tx, acquirer, bill_date, run_id))
    }

    /// Closes a day: records who and when with the frozen report, audited, in one transaction that checks first
    /// that the run is still the day's latest, with nothing open and the same bills.
    pub fn close_day(&mut self, day: &NewClosedDay<'_>, operator: Option<OperatorId>) -> Result<ClosedDay> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            closable(tx, day.acquirer_id, day.bill_date, day.run_id)?;
            tx.execute(
                "INSERT INTO recon_days (acquirer_id, bill_date, run_id, closed_at, closed_by, closed_by_name,
                    report_json, report_text)
                 VALUES (?1, ?2, ?3, ?4, COALESCE(?5, (SELECT operator_id FROM temp.audit_session)), ?6, ?7, ?8)",
                params![
                    day.acquirer_id.0,
                    day.bill_date,
                    day.run_id,
                    day.closed_at,
                    operator.map(|o| o.0),
                    day.closed_by_name,
                    day.report_json,
                    day.report_text
                ],
            )?;
            let subject = format!("{} acquirer #{}", day.bill_date, day.acquirer_id.0);
            let after = format!("closed from run {}", day.run_id);
            append_audit(tx, &now, operator, "recon.day_close", &subject, None, Some(&after))?;
            closed_in(tx, day.acquirer_id, day.bill_date)?
                .ok_or_else(|| StoreError::NotFound { what: "closed day", key: day.bill_date.to_owned() })
        })
    }

    /// Reopens a closed day (its frozen report stays in the history), audited with the reason.
    pub fn reopen_day(
        &mut self,
        acquirer: AcquirerId,
        bill_date: &str,
        note: &str,
        operator: Option<OperatorId>,
    ) -> Result<ClosedDay> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let closed =
                closed_in(tx, acquirer, bill_date)?.ok_or(Refused::NotClosed { bill_date: bill_date.to_owned() })?;
            tx.execute(
                "UPDATE recon_days SET reopened_at = ?2,
                    reopened_by = COALESCE(?3, (SELECT operator_id FROM temp.audit_session)), reopen_note = ?4
                 WHERE id = ?1",
                params![closed.id, now, operator.map(|o| o.0), note],
            )?;
            let subject = format!("{bill_date} acquirer #{}", acquirer.0);
            let before = format!("closed by {} at {}", closed.closed_by_name, closed.closed_at);
            append_audit(tx, &now, operator, "recon.day_reopen", &subject, Some(&before), Some(note))?;
            Ok(closed)
        })
    }
}

fn closable(tx: &Transaction<'_>, acquirer: AcquirerId, bill_date: &str, run_id: i64) -> Result<()> {
    refuse_if_closed(tx, acquirer, bill_date)?;
    let latest = latest_run_in(tx, acquirer, bill_date)?.ok_or(Refused::NoRun { bill_date: bill_date.to_owned() })?;
    if latest != run_id {
        return Err(Refused::StaleRun { bill_date: bill_date.to_owned(), run: run_id }.into());
    }
    // The run saw the day's newest bill: a bill imported (or replaced) since makes it stale.
    let (run_bill, newest_bill): (Option<i64>, Option<i64>) = tx.query_row(
        "SELECT (SELECT bill_id FROM recon_runs WHERE id = ?3),
                (SELECT MAX(id) FROM bills WHERE acquirer_id = ?1 AND bill_date = ?2)",
        params![acquirer.0, bill_date, run_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if run_bill != newest_bill {
        return Err(Refused::StaleRun { bill_date: bill_date.to_owned(), run: run_id }.into());
    }
    let open: i64 =
        tx.query_row("SELECT COUNT(*) FROM discrepancies WHERE run_id = ?1 AND resolved = 0", [run_id], |r| r.get(0))?;
    if open > 0 {
        return Err(Refused::OpenDifferences { bill_date: bill_date.to_owned(), count: open, run: run_id }.into());
    }
    Ok(())
}
