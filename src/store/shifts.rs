//! Shifts (交接班) and day closes (日结): the rows, and the sales facts their summaries are computed from. The
//! figures themselves are the core's (`crate::shifts`); this file only reads and writes.

use rusqlite::{OptionalExtension, Row, params};

use super::{Result, Store, StoreError};
use crate::model::{AcquirerKind, OperatorId, OrderStatus, StoreId};
use crate::money::Amount;

/// One shift as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftRow {
    pub id: i64,
    pub store_id: StoreId,
    /// This till's terminal id ('' when it has none).
    pub terminal_id: String,
    pub operator_id: OperatorId,
    pub operator_name: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<OperatorId>,
    /// The frozen summary (JSON), once closed.
    pub summary: Option<String>,
}

/// One day close as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCloseRow {
    pub id: i64,
    pub store_id: StoreId,
    pub business_day: String,
    pub closed_at: String,
    pub closed_by: Option<OperatorId>,
    pub summary: String,
    pub reopened_at: Option<String>,
}

/// Whose sales a summary counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taker {
    /// One operator's.
    Operator(OperatorId),
    /// Sales recorded with nobody signed in.
    Nobody,
    /// Everyone's (the day close).
    Anyone,
}

/// Which orders a summary counts: a store, optionally one till, whose, created in [from, to).
#[derive(Debug, Clone)]
pub struct SaleScope<'a> {
    pub store_id: StoreId,
    /// A terminal id ('' for a till without one); None: every till of the store.
    pub terminal_id: Option<&'a str>,
    pub taker: Taker,
    pub from: &'a str,
    pub to: &'a str,
    /// Refunds counted are those made before this time (None: every one made so far).
    pub refunds_before: Option<&'a str>,
}

/// One order as a summary needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleFact {
    pub out_trade_no: String,
    pub kind: AcquirerKind,
    pub acquirer_name: String,
    pub total: Amount,
    pub status: OrderStatus,
    pub created_at: String,
    /// Successful refunds of it in scope: how many and how much.
    pub refund_count: i64,
    pub refunded: Amount,
}

const SHIFT_COLUMNS: &str = "s.id, s.store_id, s.terminal_id, s.operator_id, o.name, s.opened_at, s.closed_at, \
     s.closed_by, s.summary";

fn shift_from_row(r: &Row<'_>) -> rusqlite::Result<ShiftRow> {
    Ok(ShiftRow {
        id: r.get(0)?,
        store_id: StoreId(r.get(1)?),
        terminal_id: r.get(2)?,
        operator_id: OperatorId(r.get(3)?),
        operator_name: r.get(4)?,
        opened_at: r.get(5)?,
        closed_at: r.get(6)?,
        closed_by: r.get::<_, Option<i64>>(7)?.map(OperatorId),
        summary: r.get(8)?,
    })
}

const DAY_COLUMNS: &str = "id, store_id, business_day, closed_at, closed_by, summary, reopened_at";

fn day_from_row(r: &Row<'_>) -> rusqlite::Result<DayCloseRow> {
    Ok(DayCloseRow {
        id: r.get(0)?,
        store_id: StoreId(r.get(1)?),
        business_day: r.get(2)?,
        closed_at: r.get(3)?,
        closed_by: r.get::<_, Option<i64>>(4)?.map(OperatorId),
        summary: r.get(5)?,
        reopened_at: r.get(6)?,
    })
}

impl<S: std::ops::Deref<Target = Store>> super::Shifts<S> {
    /// The open shift of `operator` at this till, if any.
    pub fn open_shift_of(
        &self,
        store_id: StoreId,
        terminal_id: &str,
        operator: OperatorId,
    ) -> Result<Option<ShiftRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {SHIFT_COLUMNS} FROM shifts s JOIN operators o ON o.id = s.operator_id
                 WHERE s.store_id = ?1 AND s.terminal_id = ?2 AND s.operator_id = ?3 AND s.closed_at IS NULL"
            ))?
            .query_row(params![store_id.0, terminal_id, operator.0], shift_from_row)
            .optional()?)
    }

    pub fn shift(&self, id: i64) -> Result<Option<ShiftRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {SHIFT_COLUMNS} FROM shifts s JOIN operators o ON o.id = s.operator_id WHERE s.id = ?1"
            ))?
            .query_row([id], shift_from_row)
            .optional()?)
    }

    /// Shifts of a store (every store: None) opened in [from, to) (unbounded: None), newest first.
    pub fn shift_list(
        &self,
        store_id: Option<StoreId>,
        from: Option<&str>,
        to: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ShiftRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SHIFT_COLUMNS} FROM shifts s JOIN operators o ON o.id = s.operator_id
             WHERE (?1 IS NULL OR s.store_id = ?1) AND (?2 IS NULL OR s.opened_at >= ?2) AND (?3 IS NULL OR s.opened_at < ?3)
             ORDER BY s.opened_at DESC, s.id DESC LIMIT ?4"
        ))?;
        let rows = stmt.query_map(params![store_id.map(|s| s.0), from, to, limit], shift_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Shifts of a store that were open at some time before `to` and are either still open or closed after `from`
    /// (those a day close covers), oldest first.
    pub fn shifts_overlapping(&self, store_id: StoreId, from: &str, to: &str) -> Result<Vec<ShiftRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SHIFT_COLUMNS} FROM shifts s JOIN operators o ON o.id = s.operator_id
             WHERE s.store_id = ?1 AND s.opened_at < ?3 AND (s.closed_at IS NULL OR s.closed_at >= ?2)
             ORDER BY s.opened_at, s.id"
        ))?;
        let rows = stmt.query_map(params![store_id.0, from, to], shift_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The last shift of this till closed before `before` (the "previous close" a handover compares with).
    pub fn previous_closed_shift(
        &self,
        store_id: StoreId,
        terminal_id: &str,
        before: &str,
        not: i64,
    ) -> Result<Option<ShiftRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {SHIFT_COLUMNS} FROM shifts s JOIN operators o ON o.id = s.operator_id
                 WHERE s.store_id = ?1 AND s.terminal_id = ?2 AND s.closed_at IS NOT NULL AND s.closed_at <= ?3
                   AND s.id <> ?4
                 ORDER BY s.closed_at DESC, s.id DESC LIMIT 1"
            ))?
            .query_row(params![store_id.0, terminal_id, before, not], shift_from_row)
            .optional()?)
    }

    /// The orders (with their successful refunds) a summary counts, oldest first.
    pub fn sale_facts(&self, scope: &SaleScope<'_>) -> Result<Vec<SaleFact>> {
        let (taker_kind, taker_id) = match scope.taker {
            Taker::Operator(id) => (0, Some(id.0)),
            Taker::Nobody => (1, None),
            Taker::Anyone => (2, None),
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.out_trade_no, a.kind, a.name, o.total_amount, o.status, o.created_at,
                    (SELECT COUNT(*) FROM refunds r WHERE r.order_id = o.id AND r.status = 'SUCCESS'
                        AND (?7 IS NULL OR r.created_at < ?7)),
                    (SELECT COALESCE(SUM(r.refund_amount), 0) FROM refunds r WHERE r.order_id = o.id
                        AND r.status = 'SUCCESS' AND (?7 IS NULL OR r.created_at < ?7))
             FROM orders o JOIN acquirers a ON a.id = o.acquirer_id
             WHERE o.store_id = ?1 AND o.created_at >= ?2 AND o.created_at < ?3
               AND (?4 IS NULL OR COALESCE(o.terminal_id, '') = ?4)
               AND CASE ?5 WHEN 0 THEN o.operator_id = ?6 WHEN 1 THEN o.operator_id IS NULL ELSE 1 END
             ORDER BY o.created_at, o.id",
        )?;
        let rows = stmt.query_map(
            params![
                scope.store_id.0,
                scope.from,
                scope.to,
                scope.terminal_id,
                taker_kind,
                taker_id,
                scope.refunds_before
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            },
        )?;
        rows.map(|row| {
            let (out_trade_no, kind, acquirer_name, total, status, created_at, refund_count, refunded) = row?;
            Ok(SaleFact {
                out_trade_no,
                kind: AcquirerKind::parse(&kind).ok_or(StoreError::Corrupt {
                    table: "acquirers",
                    column: "kind",
                    value: kind.clone(),
                })?,
                acquirer_name,
                total: Amount::from_fen(total),
                status: OrderStatus::parse(&status).ok_or(StoreError::Corrupt {
                    table: "orders",
                    column: "status",
                    value: status.clone(),
                })?,
                created_at,
                refund_count,
                refunded: Amount::from_fen(refunded),
            })
        })
        .collect()
    }

    /// The standing (not reopened) close of a store's day, if any.
    pub fn day_close_of(&self, store_id: StoreId, business_day: &str) -> Result<Option<DayCloseRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {DAY_COLUMNS} FROM day_closes WHERE store_id = ?1 AND business_day = ?2 AND reopened_at IS NULL"
            ))?
            .query_row(params![store_id.0, business_day], day_from_row)
            .optional()?)
    }

    pub fn day_close(&self, id: i64) -> Result<Option<DayCloseRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {DAY_COLUMNS} FROM day_closes WHERE id = ?1"))?
            .query_row([id], day_from_row)
            .optional()?)
    }

    /// Day closes (reopened ones too), of a store (None: every store), of one day (None: any), newest first.
    pub fn day_closes(
        &self,
        store_id: Option<StoreId>,
        business_day: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DayCloseRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {DAY_COLUMNS} FROM day_closes WHERE (?1 IS NULL OR store_id = ?1) AND (?2 IS NULL OR business_day = ?2)
             ORDER BY business_day DESC, id DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![store_id.map(|s| s.0), business_day, limit], day_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl<S: std::ops::Deref<Target = Store>> super::Shifts<S> {
    /// Closed shifts not yet sent to the merchant backend, oldest first.
    pub fn unreported_shifts(&self, limit: u32) -> Result<Vec<ShiftRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SHIFT_COLUMNS} FROM shifts s JOIN operators o ON o.id = s.operator_id
             WHERE s.closed_at IS NOT NULL AND s.reported_at IS NULL ORDER BY s.id LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], shift_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Day closes not yet sent to the merchant backend, oldest first.
    pub fn unreported_day_closes(&self, limit: u32) -> Result<Vec<DayCloseRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {DAY_COLUMNS} FROM day_closes WHERE reported_at IS NULL ORDER BY id LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], day_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Shifts<S> {
    /// Notes that the merchant backend has a shift (`day` false) or a day close (true).
    pub fn mark_reported(&mut self, id: i64, day: bool, at: &str) -> Result<()> {
        let sql = if day {
            "UPDATE day_closes SET reported_at = ?2 WHERE id = ?1"
        } else {
            "UPDATE shifts SET reported_at = ?2 WHERE id = ?1"
        };
        self.conn.execute(sql, params![id, at])?;
        Ok(())
    }

    /// Opens a shift for `operator` at this till, or returns the one already open (false: nothing was opened).
    /// Audited ("shift.open").
    pub fn open_shift(
        &mut self,
        store_id: StoreId,
        terminal_id: &str,
        operator: OperatorId,
        now: &str,
    ) -> Result<(ShiftRow, bool)> {
        let id = self.transaction(|tx| {
            let open: Option<i64> = tx
                .query_row(
                    "SELECT id FROM shifts WHERE store_id = ?1 AND terminal_id = ?2 AND operator_id = ?3
                     AND closed_at IS NULL",
                    params![store_id.0, terminal_id, operator.0],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = open {
                return Ok((id, false));
            }
            tx.execute(
                "INSERT INTO shifts (store_id, terminal_id, operator_id, opened_at) VALUES (?1, ?2, ?3, ?4)",
                params![store_id.0, terminal_id, operator.0, now],
            )?;
            let id = tx.last_insert_rowid();
            super::append_audit(
                tx,
                now,
                Some(operator),
                "shift.open",
                &format!("shift {id}"),
                None,
                Some(terminal_id),
            )?;
            Ok((id, true))
        })?;
        let row = self.shift(id.0)?.ok_or(StoreError::NotFound { what: "shift", key: id.0.to_string() })?;
        Ok((row, id.1))
    }

    /// Closes an open shift with its frozen summary; audited ("shift.close"). False when it was closed already.
    pub fn close_shift(&mut self, id: i64, closed_at: &str, by: Option<OperatorId>, summary: &str) -> Result<bool> {
        self.transaction(|tx| {
            let n = tx.execute(
                "UPDATE shifts SET closed_at = ?2, closed_by = ?3, summary = ?4 WHERE id = ?1 AND closed_at IS NULL",
                params![id, closed_at, by.map(|o| o.0), summary],
            )?;
            if n == 1 {
                super::append_audit(tx, closed_at, by, "shift.close", &format!("shift {id}"), None, None)?;
            }
            Ok(n == 1)
        })
    }

    /// Records a day close with its frozen summary; audited ("day.close"). None when the day is closed already.
    pub fn insert_day_close(
        &mut self,
        store_id: StoreId,
        business_day: &str,
        closed_at: &str,
        by: Option<OperatorId>,
        summary: &str,
    ) -> Result<Option<i64>> {
        self.transaction(|tx| {
            let standing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM day_closes WHERE store_id = ?1 AND business_day = ?2 AND reopened_at IS NULL",
                    params![store_id.0, business_day],
                    |r| r.get(0),
                )
                .optional()?;
            if standing.is_some() {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO day_closes (store_id, business_day, closed_at, closed_by, summary) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![store_id.0, business_day, closed_at, by.map(|o| o.0), summary],
            )?;
            let id = tx.last_insert_rowid();
            super::append_audit(tx, closed_at, by, "day.close", business_day, None, Some(&format!("day close {id}")))?;
            Ok(Some(id))
        })
    }

    /// Reopens a store's closed day (an owner's decision); audited ("day.reopen"). False when it was not closed.
    pub fn reopen_day_close(
        &mut self,
        store_id: StoreId,
        business_day: &str,
        by: OperatorId,
        now: &str,
    ) -> Result<bool> {
        self.transaction(|tx| {
            let n = tx.execute(
                "UPDATE day_closes SET reopened_at = ?3, reopened_by = ?4
                 WHERE store_id = ?1 AND business_day = ?2 AND reopened_at IS NULL",
                params![store_id.0, business_day, now, by.0],
            )?;
            if n == 1 {
                super::append_audit(tx, now, Some(by), "day.reopen", business_day, None, None)?;
            }
            Ok(n == 1)
        })
    }
}
