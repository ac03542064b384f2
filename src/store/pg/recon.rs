//! Bills and reconciliation on PostgreSQL (migration 0006): the jobs (one per acquirer account and bill day, claimed
//! under a lease with `FOR UPDATE SKIP LOCKED`, so two instances never run the same day at once and a crashed
//! instance's day is taken over when its lease ends), the orders a day's reconciliation reads, the store-code
//! payments it found in the bill, and the published runs: the bill files, the report, its differences with their
//! stores and the bill's rows summed per store — written in one transaction, only while the lease is still the
//! publisher's. The report itself is the caller's text (the store knows no report).

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use super::moves::event;
use super::orders::{ORDER_COLUMNS, REFUND_COLUMNS, order_from_row};
use super::{PgStore, Result};
use crate::model::{AcquirerId, DiscrepancyId, Order, OrderId, Refund, StoreId};
use crate::store::recon_stores::{DayFilter, DifferenceStore, StoreRows};

/// A claimed day: this instance reconciles it until its lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconJob {
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    /// How many times it was claimed, this time included.
    pub attempts: i64,
}

/// One day's job as `tilldesk serve bills` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconJobState {
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    /// due, done or no_bill.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub run_id: Option<i64>,
    /// The instance working on it now (its lease has not ended).
    pub working: Option<String>,
}

/// A bill file as the acquirer served it, kept with the run that read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconBillFile {
    pub bill_type: String,
    pub source_name: String,
    pub row_count: i64,
    /// UTC text.
    pub imported_at: String,
    /// The file as served, gzipped by the caller (empty in lists: only a reconciliation reads the bytes).
    pub content: Vec<u8>,
}

/// What a finished reconciliation publishes.
#[derive(Debug)]
pub struct PublishedRun<'a> {
    pub instance: &'a str,
    /// UTC text.
    pub started_at: &'a str,
    /// The differences as the scratch database numbered them, with their stores.
    pub differences: &'a [DifferenceStore],
    /// Each difference's keys (by the scratch database's number): a later run of the day carries a resolution over
    /// by them, and a match by hand finds a bill row by them.
    pub keys: &'a HashMap<DiscrepancyId, DifferenceKeys>,
    pub shares: &'a [StoreRows],
    pub bills: &'a [ReconBillFile],
}

/// What identifies a difference across runs of its day, and the bill row it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DifferenceKeys {
    /// The report's kind and reason (`only_in_bill`, `no_local_order`…).
    pub kind: String,
    pub reason: String,
    pub out_trade_no: Option<String>,
    pub out_request_no: Option<String>,
    pub trade_no: Option<String>,
    pub bill_line: Option<i64>,
}

/// A published run with its stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgRun {
    pub id: i64,
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    pub started_at: String,
    /// The report's text (empty in pages).
    pub report: String,
    pub shares: Vec<StoreRows>,
    pub differences: Vec<DifferenceStore>,
}

/// An account's bill day: its newest run's files and rows per store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBillDay {
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    pub files: Vec<ReconBillFile>,
    pub shares: Vec<StoreRows>,
}

/// Records a PAID store-code order from a bill (its number not recorded yet; else nothing, None), inside the
/// caller's transaction, which holds the number's advisory lock.
pub(crate) async fn insert_paid_order(tx: &deadpool_postgres::Transaction<'_>, o: &Order) -> Result<Option<OrderId>> {
    let paid_at = o.paid_at.as_deref().map(super::parse_utc).transpose()?;
    let created_at = super::parse_utc(&o.created_at)?;
    let row = tx
        .query_opt(
            "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, source, subject, total_amount,
                currency, status, created_at, paid_at, updated_at, acquirer_merchant_id)
             VALUES ($1, $2, $3, $4, 'store_code', $5, $6, $7, 'PAID', $8, $9, now(), $10)
             ON CONFLICT (out_trade_no) DO NOTHING RETURNING id",
            &[
                &o.out_trade_no,
                &o.trade_no,
                &o.store_id.0,
                &o.acquirer_id.0,
                &o.subject,
                &o.total_amount.fen(),
                &o.currency.code(),
                &created_at,
                &paid_at,
                &o.acquirer_merchant_id,
            ],
        )
        .await?;
    Ok(row.map(|r| OrderId(r.get(0))))
}

/// Keys looked up at once.
const BATCH: usize = 5_000;

fn share_from_row(r: &tokio_postgres::Row, at: usize) -> StoreRows {
    StoreRows {
        store_id: r.get::<_, Option<i64>>(at).map(StoreId),
        rows: r.get(at + 1),
        payment_count: r.get(at + 2),
        payment_amount: r.get(at + 3),
        refund_count: r.get(at + 4),
        refund_amount: r.get(at + 5),
        fee_milli: r.get(at + 6),
    }
}

const SHARE_COLUMNS: &str = "store_id, rows, payment_count, payment_amount, refund_count, refund_amount, fee_milli";

impl PgStore {
    /// Makes each account's job for `bill_date` (due now), unless it exists.
    pub async fn ensure_recon_jobs(&self, accounts: &[AcquirerId], bill_date: &str) -> Result<u64> {
        let ids: Vec<i64> = accounts.iter().map(|a| a.0).collect();
        let conn = self.conn().await?;
        Ok(conn
            .execute(
                "INSERT INTO recon_jobs (acquirer_id, bill_date, state, next_try_at)
                 SELECT a, $2, 'due', now() FROM unnest($1::bigint[]) AS a
                 ON CONFLICT (acquirer_id, bill_date) DO NOTHING",
                &[&ids, &bill_date],
            )
            .await?)
    }

    /// Makes the accounts' days due again now (a bill downloaded again: `tilldesk serve bills --again`), whatever
    /// they were; a day being worked on stays with its instance, and a closed day stays closed (its report is frozen
    /// until it is reopened).
    pub async fn redo_recon_jobs(&self, accounts: &[AcquirerId], bill_date: &str) -> Result<u64> {
        self.ensure_recon_jobs(accounts, bill_date).await?;
        let ids: Vec<i64> = accounts.iter().map(|a| a.0).collect();
        let conn = self.conn().await?;
        Ok(conn
            .execute(
                "UPDATE recon_jobs j SET state = 'due', next_try_at = now(), last_error = NULL
                 WHERE acquirer_id = ANY($1) AND bill_date = $2
                   AND NOT EXISTS (SELECT 1 FROM recon_closed_days c WHERE c.acquirer_id = j.acquirer_id
                                   AND c.bill_date = j.bill_date AND c.reopened_at IS NULL)",
                &[&ids, &bill_date],
            )
            .await?)
    }

    /// Claims the due day that waited longest, for `lease_secs` seconds, skipping days another instance holds.
    pub async fn claim_recon_job(&self, instance: &str, lease_secs: f64) -> Result<Option<ReconJob>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "UPDATE recon_jobs j SET lease_owner = $1, lease_until = now() + make_interval(secs => $2),
                     attempts = j.attempts + 1
                 FROM (SELECT acquirer_id, bill_date FROM recon_jobs
                       WHERE state = 'due' AND next_try_at <= now()
                         AND (lease_until IS NULL OR lease_until < now())
                       ORDER BY next_try_at, acquirer_id LIMIT 1 FOR UPDATE SKIP LOCKED) due
                 WHERE j.acquirer_id = due.acquirer_id AND j.bill_date = due.bill_date
                 RETURNING j.acquirer_id, j.bill_date, j.attempts",
                &[&instance, &lease_secs],
            )
            .await?;
        Ok(row.map(|r| ReconJob { acquirer_id: AcquirerId(r.get(0)), bill_date: r.get(1), attempts: r.get(2) }))
    }

    /// Gives a claimed day back to be tried again after `retry_secs` (the acquirer did not answer, say). False when
    /// the lease had passed to another instance meanwhile.
    pub async fn recon_job_failed(&self, job: &ReconJob, instance: &str, error: &str, retry_secs: f64) -> Result<bool> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "UPDATE recon_jobs SET lease_owner = NULL, lease_until = NULL, last_error = $4,
                     next_try_at = now() + make_interval(secs => $5)
                 WHERE acquirer_id = $1 AND bill_date = $2 AND lease_owner = $3",
                &[&job.acquirer_id.0, &job.bill_date, &instance, &error, &retry_secs],
            )
            .await?;
        Ok(n == 1)
    }

    /// The acquirer has no bill for the day (nothing was traded): done, with nothing to publish.
    pub async fn recon_job_no_bill(&self, job: &ReconJob, instance: &str) -> Result<bool> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "UPDATE recon_jobs SET state = 'no_bill', lease_owner = NULL, lease_until = NULL, last_error = NULL,
                     done_at = now()
                 WHERE acquirer_id = $1 AND bill_date = $2 AND lease_owner = $3",
                &[&job.acquirer_id.0, &job.bill_date, &instance],
            )
            .await?;
        Ok(n == 1)
    }

    /// The jobs of the days from `from` (YYYY-MM-DD), newest day first.
    pub async fn recon_jobs(&self, from: &str) -> Result<Vec<ReconJobState>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT acquirer_id, bill_date, state, attempts, last_error, run_id,
                        CASE WHEN lease_until > now() THEN lease_owner END
                 FROM recon_jobs WHERE bill_date >= $1 ORDER BY bill_date DESC, acquirer_id",
                &[&from],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ReconJobState {
                acquirer_id: AcquirerId(r.get(0)),
                bill_date: r.get(1),
                state: r.get(2),
                attempts: r.get(3),
                last_error: r.get(4),
                run_id: r.get(5),
                working: r.get(6),
            })
            .collect())
    }

    /// The bill files of the account's newest run of `bill_date`, with their bytes (a neighbouring day's bill, for
    /// the carry-over at midnight).
    pub async fn recon_bill_files(&self, acquirer: AcquirerId, bill_date: &str) -> Result<Vec<ReconBillFile>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT bill_type, source_name, row_count, imported_at, content FROM recon_bills
                 WHERE run_id = (SELECT MAX(id) FROM recon_runs WHERE acquirer_id = $1 AND bill_date = $2)
                 ORDER BY id",
                &[&acquirer.0, &bill_date],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ReconBillFile {
                bill_type: r.get(0),
                source_name: r.get(1),
                row_count: r.get(2),
                imported_at: r.get(3),
                content: r.get(4),
            })
            .collect())
    }

    /// A page of the orders a day's reconciliation of `acquirer` reads, by id after `after`: the account's orders
    /// created in `[from, to)` and those whose refunds were made then.
    pub async fn recon_orders_page(
        &self,
        acquirer: AcquirerId,
        (from, to): (OffsetDateTime, OffsetDateTime),
        after: i64,
        limit: i64,
    ) -> Result<Vec<Order>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {ORDER_COLUMNS} FROM orders o
                     WHERE o.acquirer_id = $1 AND o.id > $4
                       AND ((o.created_at >= $2 AND o.created_at < $3)
                            OR o.id IN (SELECT order_id FROM refunds WHERE created_at >= $2 AND created_at < $3))
                     ORDER BY o.id LIMIT $5"
                ),
                &[&acquirer.0, &from, &to, &after, &limit],
            )
            .await?;
        rows.iter().map(order_from_row).collect()
    }

    /// A page of the refunds of the orders [`PgStore::recon_orders_page`] reads, by id after `after`.
    pub async fn recon_refunds_page(
        &self,
        acquirer: AcquirerId,
        (from, to): (OffsetDateTime, OffsetDateTime),
        after: i64,
        limit: i64,
    ) -> Result<Vec<Refund>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {REFUND_COLUMNS}
                     FROM refunds r JOIN orders o ON o.id = r.order_id
                     WHERE o.acquirer_id = $1 AND r.id > $4
                       AND ((o.created_at >= $2 AND o.created_at < $3) OR (r.created_at >= $2 AND r.created_at < $3))
                     ORDER BY r.id LIMIT $5"
                ),
                &[&acquirer.0, &from, &to, &after, &limit],
            )
            .await?;
        rows.iter().map(super::orders::refund_from_row).collect()
    }

    /// The orders a bill names by out_trade_no or trade_no (at any time and account), with all their refunds.
    pub async fn orders_named(
        &self,
        out_trade_nos: &[String],
        trade_nos: &[String],
    ) -> Result<(Vec<Order>, Vec<Refund>)> {
        let conn = self.conn().await?;
        let mut orders: Vec<Order> = Vec::new();
        let mut seen: HashSet<i64> = HashSet::new();
        for (column, keys) in [("out_trade_no", out_trade_nos), ("trade_no", trade_nos)] {
            for chunk in keys.chunks(BATCH) {
                let rows = conn
                    .query(&format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.{column} = ANY($1)"), &[&chunk])
                    .await?;
                for r in &rows {
                    let o = order_from_row(r)?;
                    if seen.insert(o.id.0) {
                        orders.push(o);
                    }
                }
            }
        }
        let ids: Vec<i64> = orders.iter().map(|o| o.id.0).collect();
        let mut refunds = Vec::new();
        for chunk in ids.chunks(BATCH) {
            let rows = conn
                .query(
                    &format!("SELECT {REFUND_COLUMNS} FROM refunds r WHERE r.order_id = ANY($1) ORDER BY r.id"),
                    &[&chunk],
                )
                .await?;
            for r in &rows {
                refunds.push(super::orders::refund_from_row(r)?);
            }
        }
        orders.sort_by_key(|o| o.id.0);
        Ok((orders, refunds))
    }

    /// Records store-code payments a bill lists that no notification brought (found by a reconciliation): each a
    /// PAID order of its store, once — a number already recorded (a notification came meanwhile) is left as it is.
    /// Returns how many were new.
    pub async fn record_bill_store_code_orders(&self, orders: &[Order]) -> Result<u64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let mut added = 0;
        for o in orders {
            tx.execute("SELECT pg_advisory_xact_lock(20232, hashtext($1))", &[&o.out_trade_no]).await?;
            let row = insert_paid_order(&tx, o).await?;
            if let Some(id) = row {
                event(&tx, id, "store_code_paid", &format!("from the bill, {}", o.total_amount)).await?;
                added += 1;
            }
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Publishes a claimed day's run in one transaction: the run, its differences (numbered anew here), the rows per
    /// store and the bill files; the job is done. `report` makes the report's text from the run's id and the new
    /// number of each difference (by the scratch database's number). None, and nothing written, when the lease had
    /// passed to another instance.
    pub async fn publish_recon_run(
        &self,
        job: &ReconJob,
        run: &PublishedRun<'_>,
        report: impl FnOnce(i64, &HashMap<DiscrepancyId, DiscrepancyId>) -> String,
    ) -> Result<Option<i64>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let ours = tx
            .query_opt(
                "SELECT 1 FROM recon_jobs WHERE acquirer_id = $1 AND bill_date = $2 AND lease_owner = $3
                 FOR UPDATE",
                &[&job.acquirer_id.0, &job.bill_date, &run.instance],
            )
            .await?;
        if ours.is_none() {
            return Ok(None);
        }
        let run_id: i64 = tx
            .query_one(
                "INSERT INTO recon_runs (acquirer_id, bill_date, started_at, instance, report)
                 VALUES ($1, $2, $3, $4, '') RETURNING id",
                &[&job.acquirer_id.0, &job.bill_date, &run.started_at, &run.instance],
            )
            .await?
            .get(0);
        let mut numbers = HashMap::with_capacity(run.differences.len());
        let insert = tx
            .prepare(
                "INSERT INTO recon_differences (run_id, store_id, resolved, kind, reason, out_trade_no, out_request_no,
                    trade_no, bill_line)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .await?;
        let none = DifferenceKeys::default();
        for d in run.differences {
            let store = d.store_id.map(|s| s.0);
            let k = run.keys.get(&d.id).unwrap_or(&none);
            let id: i64 = tx
                .query_one(
                    &insert,
                    &[
                        &run_id,
                        &store,
                        &d.resolved,
                        &k.kind,
                        &k.reason,
                        &k.out_trade_no,
                        &k.out_request_no,
                        &k.trade_no,
                        &k.bill_line,
                    ],
                )
                .await?
                .get(0);
            numbers.insert(d.id, DiscrepancyId(id));
        }
        super::recon_days::carry_resolutions_over(&tx, job.acquirer_id, &job.bill_date, run_id).await?;
        for s in run.shares {
            tx.execute(
                &format!(
                    "INSERT INTO recon_run_shares (run_id, {SHARE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ),
                &[
                    &run_id,
                    &s.store_id.map(|s| s.0),
                    &s.rows,
                    &s.payment_count,
                    &s.payment_amount,
                    &s.refund_count,
                    &s.refund_amount,
                    &s.fee_milli,
                ],
            )
            .await?;
        }
        for b in run.bills {
            tx.execute(
                "INSERT INTO recon_bills (run_id, acquirer_id, bill_date, bill_type, source_name, row_count,
                    imported_at, content)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &run_id,
                    &job.acquirer_id.0,
                    &job.bill_date,
                    &b.bill_type,
                    &b.source_name,
                    &b.row_count,
                    &b.imported_at,
                    &b.content,
                ],
            )
            .await?;
        }
        let text = report(run_id, &numbers);
        tx.execute("UPDATE recon_runs SET report = $2 WHERE id = $1", &[&run_id, &text]).await?;
        tx.execute(
            "UPDATE recon_jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, last_error = NULL,
                 done_at = now(), run_id = $3
             WHERE acquirer_id = $1 AND bill_date = $2",
            &[&job.acquirer_id.0, &job.bill_date, &run_id],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(run_id))
    }

    /// The shares and differences of `runs`.
    async fn run_stores(
        conn: &deadpool_postgres::Object,
        runs: &[i64],
    ) -> Result<HashMap<i64, (Vec<StoreRows>, Vec<DifferenceStore>)>> {
        let mut out: HashMap<i64, (Vec<StoreRows>, Vec<DifferenceStore>)> = HashMap::new();
        let rows = conn
            .query(
                &format!(
                    "SELECT run_id, {SHARE_COLUMNS} FROM recon_run_shares WHERE run_id = ANY($1)
                     ORDER BY run_id, store_id IS NULL, store_id"
                ),
                &[&runs],
            )
            .await?;
        for r in &rows {
            out.entry(r.get(0)).or_default().0.push(share_from_row(r, 1));
        }
        let rows = conn
            .query(
                "SELECT run_id, id, store_id, resolved FROM recon_differences WHERE run_id = ANY($1)
                 ORDER BY run_id, id",
                &[&runs],
            )
            .await?;
        for r in &rows {
            out.entry(r.get(0)).or_default().1.push(DifferenceStore {
                id: DiscrepancyId(r.get(1)),
                store_id: r.get::<_, Option<i64>>(2).map(StoreId),
                resolved: r.get(3),
            });
        }
        Ok(out)
    }

    /// Runs newest first (by id), of `filter`'s accounts and days, with ids below `before`, without their reports.
    pub async fn recon_runs_page(&self, filter: &DayFilter<'_>, before: Option<i64>, limit: i64) -> Result<Vec<PgRun>> {
        let conn = self.conn().await?;
        let accounts: Option<Vec<i64>> = filter.acquirers.map(|a| a.iter().map(|a| a.0).collect());
        let rows = conn
            .query(
                "SELECT id, acquirer_id, bill_date, started_at FROM recon_runs
                 WHERE ($1::text IS NULL OR bill_date >= $1) AND ($2::text IS NULL OR bill_date <= $2)
                   AND ($3::bigint[] IS NULL OR acquirer_id = ANY($3))
                   AND ($4::bigint IS NULL OR id < $4)
                 ORDER BY id DESC LIMIT $5",
                &[&filter.from, &filter.to, &accounts, &before, &limit],
            )
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let mut stores = Self::run_stores(&conn, &ids).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let (shares, differences) = stores.remove(&id).unwrap_or_default();
                PgRun {
                    id,
                    acquirer_id: AcquirerId(r.get(1)),
                    bill_date: r.get(2),
                    started_at: r.get(3),
                    report: String::new(),
                    shares,
                    differences,
                }
            })
            .collect())
    }

    /// One run with its report.
    pub async fn recon_run(&self, id: i64) -> Result<Option<PgRun>> {
        let conn = self.conn().await?;
        let Some(r) = conn
            .query_opt("SELECT id, acquirer_id, bill_date, started_at, report FROM recon_runs WHERE id = $1", &[&id])
            .await?
        else {
            return Ok(None);
        };
        let (shares, differences) = Self::run_stores(&conn, &[id]).await?.remove(&id).unwrap_or_default();
        Ok(Some(PgRun {
            id,
            acquirer_id: AcquirerId(r.get(1)),
            bill_date: r.get(2),
            started_at: r.get(3),
            report: r.get(4),
            shares,
            differences,
        }))
    }

    /// The (account, day) pairs with a run, newest day first (then by account, highest first), after the pair
    /// `after` in that order, each with its newest run's bill files (without their bytes) and rows per store.
    pub async fn recon_bill_days_page(
        &self,
        filter: &DayFilter<'_>,
        after: Option<(&str, AcquirerId)>,
        limit: i64,
    ) -> Result<Vec<PgBillDay>> {
        let conn = self.conn().await?;
        let accounts: Option<Vec<i64>> = filter.acquirers.map(|a| a.iter().map(|a| a.0).collect());
        let (day, account) = match after {
            Some((d, a)) => (Some(d), Some(a.0)),
            None => (None, None),
        };
        let rows = conn
            .query(
                "SELECT acquirer_id, bill_date, MAX(id) FROM recon_runs
                 WHERE ($1::text IS NULL OR bill_date >= $1) AND ($2::text IS NULL OR bill_date <= $2)
                   AND ($3::bigint[] IS NULL OR acquirer_id = ANY($3))
                   AND ($4::text IS NULL OR bill_date < $4 OR (bill_date = $4 AND acquirer_id < $5))
                 GROUP BY acquirer_id, bill_date
                 ORDER BY bill_date DESC, acquirer_id DESC LIMIT $6",
                &[&filter.from, &filter.to, &accounts, &day, &account, &limit],
            )
            .await?;
        let runs: Vec<i64> = rows.iter().map(|r| r.get(2)).collect();
        let mut stores = Self::run_stores(&conn, &runs).await?;
        let files = conn
            .query(
                "SELECT run_id, bill_type, source_name, row_count, imported_at FROM recon_bills
                 WHERE run_id = ANY($1) ORDER BY id",
                &[&runs],
            )
            .await?;
        let mut files_of: HashMap<i64, Vec<ReconBillFile>> = HashMap::new();
        for f in &files {
            files_of.entry(f.get(0)).or_default().push(ReconBillFile {
                bill_type: f.get(1),
                source_name: f.get(2),
                row_count: f.get(3),
                imported_at: f.get(4),
                content: Vec::new(),
            });
        }
        Ok(rows
            .iter()
            .map(|r| {
                let run: i64 = r.get(2);
                PgBillDay {
                    acquirer_id: AcquirerId(r.get(0)),
                    bill_date: r.get(1),
                    files: files_of.remove(&run).unwrap_or_default(),
                    shares: stores.remove(&run).map(|s| s.0).unwrap_or_default(),
                }
            })
            .collect())
    }
}
