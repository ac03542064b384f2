//! Resolving differences and closing days on PostgreSQL (migration 0007): the same workflow as a till's
//! (`store::recon_days`), on the runs the bill loop published. A difference is resolved (or reopened) only in the
//! latest run of its account's day and only while that day is not closed; a day is closed from its latest run when
//! nothing in it is open, and its report is frozen as the caller made it. Every change is one transaction under the
//! day's advisory lock (so a resolution, a closing and a newly published run of the same day never cross), with its
//! audit entry. A run published later carries the resolutions of the day's earlier runs over by the difference's keys,
//! as a till's next run does.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::ToSql;

use super::moves::{event, move_order};
use super::{PgError, PgStore, Result, audit};
use crate::lifecycle::Authority;
use crate::model::{AcquirerId, DiscrepancyId, Order, OrderId, OrderStatus, ResolutionKind, StoreId};
use crate::store::recon_days::Refused;
use crate::store::transitions::OrderMove;

use super::recon::DifferenceKeys;

/// The first key of the advisory lock a day's changes take (the second is the day's hash).
const DAY_LOCK: i32 = 20233;

/// A published difference with its resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgDifference {
    pub id: DiscrepancyId,
    pub run_id: i64,
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    pub store_id: Option<StoreId>,
    pub keys: DifferenceKeys,
    pub resolved: bool,
    /// The resolution's kind (`adjusted`…).
    pub resolution: Option<String>,
    pub note: Option<String>,
    /// refunded: the refund's out_request_no; matched: the bill row's trade_no (or, on the bill row's own
    /// difference, the out_trade_no it was matched to); adopted: the bill's trade_no.
    pub resolution_ref: Option<String>,
    pub resolution_line: Option<i64>,
    pub resolved_by_name: Option<String>,
    /// UTC RFC 3339.
    pub resolved_at: Option<String>,
}

/// A day's closing as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgClosedDay {
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    pub run_id: i64,
    /// UTC RFC 3339.
    pub closed_at: String,
    pub closed_by_name: String,
    pub report_json: String,
    pub report_text: String,
}

/// An account's day: its newest run and its closing in force (by whom, when), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgDayState {
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    pub latest_run: i64,
    pub closed: Option<(String, String)>,
}

/// A resolution to write.
#[derive(Debug, Clone)]
pub struct PgResolve<'a> {
    pub id: DiscrepancyId,
    pub kind: ResolutionKind,
    pub note: &'a str,
    pub reference: Option<&'a str>,
    pub line: Option<i64>,
    /// matched: the bill row's own difference, resolved with it (its reference: the out_trade_no it was matched
    /// to).
    pub partner: Option<DiscrepancyId>,
    /// adopted: the bill's payment as the order of its store (recorded, or the existing order moved to PAID).
    pub adopt: Option<&'a Order>,
    pub operator: i64,
    pub by_name: &'a str,
}

const DIFFERENCE_COLUMNS: &str = "d.id, d.run_id, r.acquirer_id, r.bill_date, d.store_id, d.kind, d.reason,
    d.out_trade_no, d.out_request_no, d.trade_no, d.bill_line, d.resolved, d.resolution, d.note, d.resolution_ref,
    d.resolution_line, d.resolved_by_name, d.resolved_at";

fn difference_from_row(r: &tokio_postgres::Row) -> PgDifference {
    PgDifference {
        id: DiscrepancyId(r.get(0)),
        run_id: r.get(1),
        acquirer_id: AcquirerId(r.get(2)),
        bill_date: r.get(3),
        store_id: r.get::<_, Option<i64>>(4).map(StoreId),
        keys: DifferenceKeys {
            kind: r.get(5),
            reason: r.get(6),
            out_trade_no: r.get(7),
            out_request_no: r.get(8),
            trade_no: r.get(9),
            bill_line: r.get(10),
        },
        resolved: r.get(11),
        resolution: r.get(12),
        note: r.get(13),
        resolution_ref: r.get(14),
        resolution_line: r.get(15),
        resolved_by_name: r.get(16),
        resolved_at: r.get(17),
    }
}

const CLOSED_COLUMNS: &str = "acquirer_id, bill_date, run_id, closed_at, closed_by_name, report_json, report_text";

fn closed_from_row(r: &tokio_postgres::Row) -> PgClosedDay {
    PgClosedDay {
        acquirer_id: AcquirerId(r.get(0)),
        bill_date: r.get(1),
        run_id: r.get(2),
        closed_at: r.get(3),
        closed_by_name: r.get(4),
        report_json: r.get(5),
        report_text: r.get(6),
    }
}

/// The differences `filter` (SQL after WHERE, on `d` the difference and `r` its run) selects, with their runs' days.
async fn differences_where(
    c: &impl GenericClient,
    filter: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<PgDifference>> {
    let sql = format!(
        "SELECT {DIFFERENCE_COLUMNS} FROM recon_differences d JOIN recon_runs r ON r.id = d.run_id WHERE {filter}"
    );
    Ok(c.query(&sql, params).await?.iter().map(difference_from_row).collect())
}

fn not_found(id: DiscrepancyId) -> PgError {
    PgError::NotFound { what: "difference", key: format!("#{}", id.0) }
}

/// Takes the day's advisory lock until the transaction ends.
async fn lock_day(tx: &Transaction<'_>, acquirer: AcquirerId, bill_date: &str) -> Result<()> {
    let key = format!("{}/{bill_date}", acquirer.0);
    tx.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&DAY_LOCK, &key]).await?;
    Ok(())
}

async fn closed_in(c: &impl GenericClient, acquirer: AcquirerId, bill_date: &str) -> Result<Option<PgClosedDay>> {
    Ok(c.query_opt(
        &format!(
            "SELECT {CLOSED_COLUMNS} FROM recon_closed_days
                 WHERE acquirer_id = $1 AND bill_date = $2 AND reopened_at IS NULL"
        ),
        &[&acquirer.0, &bill_date],
    )
    .await?
    .as_ref()
    .map(closed_from_row))
}

async fn latest_in(c: &impl GenericClient, acquirer: AcquirerId, bill_date: &str) -> Result<Option<i64>> {
    Ok(c.query_one(
        "SELECT MAX(id) FROM recon_runs WHERE acquirer_id = $1 AND bill_date = $2",
        &[&acquirer.0, &bill_date],
    )
    .await?
    .get(0))
}

/// The difference, locked, checked workable: its day not closed, its run the day's latest. The day's lock is taken.
async fn workable(tx: &Transaction<'_>, id: DiscrepancyId) -> Result<PgDifference> {
    let d = differences_where(tx, "d.id = $1", &[&id.0]).await?.pop().ok_or_else(|| not_found(id))?;
    lock_day(tx, d.acquirer_id, &d.bill_date).await?;
    if let Some(closed) = closed_in(tx, d.acquirer_id, &d.bill_date).await? {
        return Err(PgError::DayClosed {
            bill_date: d.bill_date,
            closed_by: closed.closed_by_name,
            closed_at: closed.closed_at,
        });
    }
    let latest = latest_in(tx, d.acquirer_id, &d.bill_date).await?.unwrap_or(d.run_id);
    if latest != d.run_id {
        return Err(Refused::NotLatestRun { id: id.0, run: d.run_id, latest }.into());
    }
    // Read again under the lock: the resolution as it is now.
    differences_where(tx, "d.id = $1 FOR UPDATE OF d", &[&id.0]).await?.pop().ok_or_else(|| not_found(id))
}

fn kind_words(d: &PgDifference) -> String {
    d.resolution.clone().unwrap_or_else(|| "resolved".to_owned())
}

#[allow(clippy::too_many_arguments)]
async fn write_resolution(
    tx: &Transaction<'_>,
    id: DiscrepancyId,
    kind: ResolutionKind,
    note: &str,
    reference: Option<&str>,
    line: Option<i64>,
    operator: i64,
    by_name: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE recon_differences SET resolved = true, resolution = $2, note = $3, resolution_ref = $4,
            resolution_line = $5, resolved_by = $6, resolved_by_name = $7,
            resolved_at = $8, reopened_at = NULL
         WHERE id = $1",
        &[&id.0, &kind.as_str(), &note, &reference, &line, &operator, &by_name, &crate::time::now_utc()],
    )
    .await?;
    audit(tx, Some(operator), "recon.resolve", &format!("difference #{}", id.0), None, Some(&format!("{kind}: {note}")))
        .await
}

/// Carries the resolutions of the day's earlier runs over to the new run `run_id` (inside its publishing): a
/// difference with the same kind, reason, out_trade_no and out_request_no as one the day's newest word on it resolved
/// stays resolved, with its note, kind, reference and who; one whose newest word was a reopening stays open.
pub(crate) async fn carry_resolutions_over(
    tx: &Transaction<'_>,
    acquirer: AcquirerId,
    bill_date: &str,
    run_id: i64,
) -> Result<u64> {
    lock_day(tx, acquirer, bill_date).await?;
    Ok(tx
        .execute(
            "UPDATE recon_differences n SET resolved = true, resolution = o.resolution, note = o.note,
                resolution_ref = o.resolution_ref, resolution_line = o.resolution_line, resolved_by = o.resolved_by,
                resolved_by_name = o.resolved_by_name, resolved_at = o.resolved_at
             FROM (SELECT DISTINCT ON (d.kind, d.reason, COALESCE(d.out_trade_no, ''), COALESCE(d.out_request_no, ''))
                          d.kind, d.reason, d.out_trade_no, d.out_request_no, d.resolved, d.resolution, d.note,
                          d.resolution_ref, d.resolution_line, d.resolved_by, d.resolved_by_name, d.resolved_at
                   FROM recon_differences d JOIN recon_runs r ON r.id = d.run_id
                   WHERE r.acquirer_id = $1 AND r.bill_date = $2 AND r.id < $3
                     AND (d.resolved OR d.reopened_at IS NOT NULL)
                   ORDER BY d.kind, d.reason, COALESCE(d.out_trade_no, ''), COALESCE(d.out_request_no, ''), d.id DESC) o
             WHERE n.run_id = $3 AND o.resolved AND n.kind = o.kind AND n.reason = o.reason
               AND COALESCE(n.out_trade_no, '') = COALESCE(o.out_trade_no, '')
               AND COALESCE(n.out_request_no, '') = COALESCE(o.out_request_no, '')",
            &[&acquirer.0, &bill_date, &run_id],
        )
        .await?)
}

impl PgStore {
    /// A run's differences with their resolutions, by id.
    pub async fn recon_run_differences(&self, run_id: i64) -> Result<Vec<PgDifference>> {
        differences_where(&self.conn().await?, "d.run_id = $1 ORDER BY d.id", &[&run_id]).await
    }

    /// One difference with its resolution.
    pub async fn recon_difference(&self, id: DiscrepancyId) -> Result<Option<PgDifference>> {
        Ok(differences_where(&self.conn().await?, "d.id = $1", &[&id.0]).await?.pop())
    }

    /// The newest run of an account's day.
    pub async fn latest_recon_run(&self, acquirer: AcquirerId, bill_date: &str) -> Result<Option<i64>> {
        latest_in(&self.conn().await?, acquirer, bill_date).await
    }

    /// The closing in force of an account's day.
    pub async fn recon_closed_day(&self, acquirer: AcquirerId, bill_date: &str) -> Result<Option<PgClosedDay>> {
        closed_in(&self.conn().await?, acquirer, bill_date).await
    }

    /// Resolves a difference (see [`PgResolve`]) in one transaction with its audit entry; adopted: returns the order.
    /// Refused on a closed day, outside the day's latest run, when it (or a matched bill row's own difference) is
    /// resolved already, or without a note.
    pub async fn resolve_recon_difference(&self, r: &PgResolve<'_>) -> Result<Option<OrderId>> {
        let note = r.note.trim();
        if note.is_empty() {
            return Err(Refused::NoteRequired.into());
        }
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let d = workable(&tx, r.id).await?;
        if d.resolved {
            return Err(Refused::AlreadyResolved { id: r.id.0, kind: kind_words(&d) }.into());
        }
        if let Some(partner) = r.partner.filter(|p| *p != r.id) {
            let mine = "d.id = $1 AND d.run_id = $2 FOR UPDATE OF d";
            let own = differences_where(&tx, mine, &[&partner.0, &d.run_id]).await?.pop();
            let own = own.ok_or_else(|| not_found(partner))?;
            if own.resolved {
                return Err(Refused::BillRowResolved {
                    line: own.keys.bill_line.unwrap_or_default(),
                    trade_no: own.keys.trade_no.clone().unwrap_or_default(),
                    kind: kind_words(&own),
                }
                .into());
            }
            let back = d.keys.out_trade_no.as_deref();
            write_resolution(&tx, partner, r.kind, note, back, r.line, r.operator, r.by_name).await?;
        }
        let order = match r.adopt {
            Some(o) => Some(adopt(&tx, o, d.keys.bill_line).await?),
            None => None,
        };
        write_resolution(&tx, r.id, r.kind, note, r.reference, r.line, r.operator, r.by_name).await?;
        tx.commit().await?;
        Ok(order)
    }

    /// Takes a resolution back (the next run does not carry it over), audited with why.
    pub async fn reopen_recon_difference(&self, id: DiscrepancyId, note: &str, operator: i64) -> Result<()> {
        let note = note.trim();
        if note.is_empty() {
            return Err(Refused::NoteRequired.into());
        }
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let d = workable(&tx, id).await?;
        if !d.resolved {
            return Err(Refused::NotResolved { id: id.0 }.into());
        }
        tx.execute(
            "UPDATE recon_differences SET resolved = false, resolution = NULL, note = NULL, resolution_ref = NULL,
                resolution_line = NULL, resolved_by = NULL, resolved_by_name = NULL, resolved_at = NULL,
                reopened_at = $2
             WHERE id = $1",
            &[&id.0, &crate::time::now_utc()],
        )
        .await?;
        let before = format!("{}: {}", kind_words(&d), d.note.as_deref().unwrap_or(""));
        audit(&tx, Some(operator), "recon.reopen", &format!("difference #{}", id.0), Some(&before), Some(note)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes an account's day from its latest run, which must be `run_id` with nothing open; `frozen` makes the
    /// report's JSON and text from the run's differences as they are under the day's lock. A day closed already from
    /// the same run is answered with its closing (a till asking again); from another run, refused.
    pub async fn close_recon_day(
        &self,
        acquirer: AcquirerId,
        bill_date: &str,
        run_id: i64,
        closing: (i64, &str, &str),
        frozen: impl FnOnce(&[PgDifference]) -> std::result::Result<(String, String), String>,
    ) -> Result<PgClosedDay> {
        let (operator, by_name, closed_at) = closing;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        lock_day(&tx, acquirer, bill_date).await?;
        if let Some(closed) = closed_in(&tx, acquirer, bill_date).await? {
            if closed.run_id == run_id {
                return Ok(closed);
            }
            return Err(PgError::DayClosed {
                bill_date: bill_date.to_owned(),
                closed_by: closed.closed_by_name,
                closed_at: closed.closed_at,
            });
        }
        let Some(latest) = latest_in(&tx, acquirer, bill_date).await? else {
            return Err(Refused::NoRun { bill_date: bill_date.to_owned() }.into());
        };
        if latest != run_id {
            return Err(Refused::StaleRun { bill_date: bill_date.to_owned(), run: run_id }.into());
        }
        let differences = differences_where(&tx, "d.run_id = $1 ORDER BY d.id FOR UPDATE OF d", &[&run_id]).await?;
        let open = differences.iter().filter(|d| !d.resolved).count() as i64;
        if open > 0 {
            return Err(Refused::OpenDifferences { bill_date: bill_date.to_owned(), count: open, run: run_id }.into());
        }
        let (report_json, report_text) = frozen(&differences).map_err(|message| PgError::Corrupt {
            table: "recon_runs",
            column: "report",
            value: message,
        })?;
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO recon_closed_days (acquirer_id, bill_date, run_id, closed_at, closed_by, closed_by_name,
                        report_json, report_text)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {CLOSED_COLUMNS}"
                ),
                &[&acquirer.0, &bill_date, &run_id, &closed_at, &operator, &by_name, &report_json, &report_text],
            )
            .await?;
        let subject = format!("{} day {bill_date}", acquirer.0);
        audit(&tx, Some(operator), "recon.close_day", &subject, None, Some(&format!("run {run_id}"))).await?;
        tx.commit().await?;
        Ok(closed_from_row(&row))
    }

    /// Reopens a closed day (audited with why): its closing is kept, marked reopened. Returns the closing that was.
    pub async fn reopen_recon_day(
        &self,
        acquirer: AcquirerId,
        bill_date: &str,
        note: &str,
        operator: i64,
    ) -> Result<PgClosedDay> {
        let note = note.trim();
        if note.is_empty() {
            return Err(Refused::NoteRequired.into());
        }
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        lock_day(&tx, acquirer, bill_date).await?;
        let Some(closed) = closed_in(&tx, acquirer, bill_date).await? else {
            return Err(Refused::NotClosed { bill_date: bill_date.to_owned() }.into());
        };
        tx.execute(
            "UPDATE recon_closed_days SET reopened_at = $5, reopened_by = $3, reopen_note = $4
             WHERE acquirer_id = $1 AND bill_date = $2 AND reopened_at IS NULL",
            &[&acquirer.0, &bill_date, &operator, &note, &crate::time::now_utc()],
        )
        .await?;
        let subject = format!("{} day {bill_date}", acquirer.0);
        audit(&tx, Some(operator), "recon.reopen_day", &subject, Some(&format!("run {}", closed.run_id)), Some(note))
            .await?;
        tx.commit().await?;
        Ok(closed)
    }

    /// Each of these (account, day) pairs' newest run and its closing in force (by whom, when), if any.
    pub async fn recon_day_states(&self, days: &[(AcquirerId, String)]) -> Result<Vec<PgDayState>> {
        if days.is_empty() {
            return Ok(Vec::new());
        }
        let accounts: Vec<i64> = days.iter().map(|d| d.0.0).collect();
        let dates: Vec<&str> = days.iter().map(|d| d.1.as_str()).collect();
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT r.acquirer_id, r.bill_date, MAX(r.id), MIN(c.closed_by_name), MIN(c.closed_at)
                 FROM recon_runs r
                 LEFT JOIN recon_closed_days c ON c.acquirer_id = r.acquirer_id AND c.bill_date = r.bill_date
                                              AND c.reopened_at IS NULL
                 WHERE (r.acquirer_id, r.bill_date) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))
                 GROUP BY r.acquirer_id, r.bill_date",
                &[&accounts, &dates],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let closed = match (r.get::<_, Option<String>>(3), r.get::<_, Option<String>>(4)) {
                    (Some(by), Some(at)) => Some((by, at)),
                    _ => None,
                };
                PgDayState { acquirer_id: AcquirerId(r.get(0)), bill_date: r.get(1), latest_run: r.get(2), closed }
            })
            .collect())
    }
}

/// The bill's payment as its store's order: recorded PAID when the backend has no order of that number, else the
/// order's amount taken from the bill and the order moved to PAID through the transition function (the bill's
/// authority).
async fn adopt(tx: &Transaction<'_>, o: &Order, line: Option<i64>) -> Result<OrderId> {
    tx.execute("SELECT pg_advisory_xact_lock(20232, hashtext($1))", &[&o.out_trade_no]).await?;
    let existing =
        tx.query_opt("SELECT id, status FROM orders WHERE out_trade_no = $1 FOR UPDATE", &[&o.out_trade_no]).await?;
    if let Some(row) = existing {
        let id = OrderId(row.get(0));
        let before: String = row.get(1);
        tx.execute("UPDATE orders SET total_amount = $2 WHERE id = $1", &[&id.0, &o.total_amount.fen()]).await?;
        let detail = format!("{before} → PAID from the acquirer's bill (line {line:?})");
        let m = OrderMove {
            by: Authority::Bill,
            trade_no: o.trade_no.as_deref(),
            paid_at: o.paid_at.as_deref(),
            ..OrderMove::to(OrderStatus::Paid, "adopted_from_bill", &detail)
        };
        move_order(tx, id, &m).await?;
        return Ok(id);
    }
    let id = super::recon::insert_paid_order(tx, o)
        .await?
        .ok_or_else(|| PgError::NotFound { what: "order to record", key: o.out_trade_no.clone() })?;
    event(tx, id, "adopted_from_bill", &format!("recorded from the acquirer's bill (line {line:?})")).await?;
    Ok(id)
}
