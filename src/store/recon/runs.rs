//! Reconciliation runs and their discrepancies: saving a run in short batches with the resolutions of earlier runs
//! of the day carried over, the history, resolving a difference, and adopting a bill payment as a local order.

use std::collections::HashMap;
use std::time::Instant;

use rusqlite::{OptionalExtension, params};

use super::super::{BATCH_ROWS, BATCH_TIME, Result, Store, StoreError, append_audit};
use super::bills::ABANDONED_AFTER;
use super::*;
use crate::model::{OrderId, OrderStatus};

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

fn fields_json(fields: &[FieldDiff]) -> String {
    if fields.is_empty() {
        return "[]".to_owned();
    }
    serde_json::to_string(fields).unwrap_or_else(|_| "[]".to_owned())
}

impl Store {
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
                crate::store::pause_for_writers();
            }
            self.conn.execute("DELETE FROM recon_runs WHERE id = ?1 AND finished_at IS NULL", [id])?;
        }
        Ok(())
    }
}

impl<S: std::ops::Deref<Target = Store>> crate::store::Recon<S> {
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
}

impl<S: std::ops::DerefMut<Target = Store>> crate::store::Recon<S> {
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
                crate::store::pause_for_writers();
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

    /// Marks a discrepancy resolved with the clerk's note and no resolution kind (see
    /// [`Recon::resolve_discrepancy_as`]), audited, in one transaction.
    pub fn resolve_discrepancy(&mut self, id: DiscrepancyId, note: &str, operator: Option<OperatorId>) -> Result<()> {
        let resolution = crate::store::recon_days::NewResolution { kind: None, note, out_request_no: None };
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
        // Whose money it is: the difference's store (its order's, else its bill row's: on a merchant backend the
        // bill lists every store's), else the till's own.
        let found = match self.discrepancy(id)? {
            Some(d) => self.difference_stores(d.run_id)?.into_iter().find(|x| x.id == id).and_then(|x| x.store_id),
            None => None,
        };
        let store_id = match found {
            Some(s) => s,
            None => self.setup_mut().default_store()?,
        };
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let d = Store::check_resolvable(tx, id)?.fields;
            let cannot = || crate::store::recon_days::Refused::CannotAdopt { id: id.0 };
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
                    let adopt = crate::store::transitions::OrderMove {
                        by: crate::lifecycle::Authority::Bill,
                        trade_no: d.trade_no.as_deref(),
                        paid_at: Some(&paid_at),
                        ..crate::store::transitions::OrderMove::to(OrderStatus::Paid, "adopted_from_bill", &detail)
                    };
                    crate::store::transitions::move_order(tx, OrderId(order_id), &adopt)?;
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
