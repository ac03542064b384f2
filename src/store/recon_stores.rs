//! Reconciliation by store: which store a bill row or a difference belongs to, the bill days with their rows summed
//! per store, and pages of runs. The merchant backend reconciles each acquirer account's day as one run (an
//! account's bill lists every store routed to it); the head office's views split it by store with these reads.
//!
//! A bill row belongs to the store of the order it names (by out_trade_no, else trade_no); a row naming no known
//! order belongs to the store whose route to the account has the merchant id the row names, when exactly one
//! store has it; otherwise to no store (only an owner sees it). A difference belongs to its order's store, else to
//! its bill row's.

use std::collections::HashMap;

use rusqlite::params;

use super::{Result, Store};
use crate::model::{AcquirerId, BillId, DiscrepancyId, StoreId};

/// The store of the bill row `br` of the bill `b` (see the module doc).
const ROW_STORE: &str = "COALESCE(
    (SELECT o.store_id FROM orders o WHERE br.out_trade_no <> '' AND o.out_trade_no = br.out_trade_no),
    (SELECT o.store_id FROM orders o WHERE br.trade_no <> '' AND o.trade_no = br.trade_no LIMIT 1),
    (SELECT CASE WHEN COUNT(DISTINCT rt.store_id) = 1 THEN MIN(rt.store_id) END FROM routes rt
      WHERE br.merchant_ref <> '' AND rt.acquirer_id = b.acquirer_id AND rt.merchant_id = br.merchant_ref))";

/// A bill's rows of one store (or of no known store), summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreRows {
    /// None: rows that name no order of the backend nor a store's merchant id.
    pub store_id: Option<StoreId>,
    pub rows: i64,
    pub payment_count: i64,
    /// Fen.
    pub payment_amount: i64,
    pub refund_count: i64,
    /// Fen, positive.
    pub refund_amount: i64,
    /// The acquirer's fees, exact (1/1000 fen), signed as the bills write them.
    pub fee_milli: i64,
}

/// A difference of a run with the store it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DifferenceStore {
    pub id: DiscrepancyId,
    pub store_id: Option<StoreId>,
    pub resolved: bool,
}

/// Which runs or bill days a page shows: the accounts (None: all), the days from and to (inclusive, YYYY-MM-DD).
#[derive(Debug, Clone, Default)]
pub struct DayFilter<'a> {
    pub acquirers: Option<&'a [AcquirerId]>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
}

impl DayFilter<'_> {
    /// The filter as SQL conditions on `table`'s `acquirer_id` and `bill_date`, with its two text parameters
    /// (?1 from, ?2 to; an absent one matches every day). The accounts are integers, written in.
    fn sql(&self, table: &str) -> String {
        let mut sql = format!("(?1 IS NULL OR {table}.bill_date >= ?1) AND (?2 IS NULL OR {table}.bill_date <= ?2)");
        if let Some(ids) = self.acquirers {
            let list: Vec<String> = ids.iter().map(|a| a.0.to_string()).collect();
            sql.push_str(&format!(
                " AND {table}.acquirer_id IN ({})",
                if list.is_empty() { "NULL".into() } else { list.join(",") }
            ));
        }
        sql
    }
}

impl<S: std::ops::Deref<Target = Store>> super::Recon<S> {
    /// The rows of the bills `bills`, summed per store.
    pub fn bill_rows_by_store(&self, bills: &[BillId]) -> Result<Vec<StoreRows>> {
        let mut by_store: HashMap<Option<StoreId>, StoreRows> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_STORE}, COUNT(*),
                    SUM(CASE WHEN br.kind = 'payment' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN br.kind = 'payment' THEN br.amount ELSE 0 END),
                    SUM(CASE WHEN br.kind = 'refund' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN br.kind = 'refund' THEN br.amount ELSE 0 END),
                    SUM(br.fee_milli)
             FROM bills b JOIN bill_rows br ON br.id BETWEEN b.first_row AND b.last_row AND br.bill_id = b.id
             WHERE b.id = ?1 AND b.first_row IS NOT NULL
             GROUP BY 1"
        ))?;
        for bill in bills {
            let rows = stmt.query_map([bill.0], |r| {
                Ok(StoreRows {
                    store_id: r.get::<_, Option<i64>>(0)?.map(StoreId),
                    rows: r.get(1)?,
                    payment_count: r.get(2)?,
                    payment_amount: r.get(3)?,
                    refund_count: r.get(4)?,
                    refund_amount: r.get(5)?,
                    fee_milli: r.get(6)?,
                })
            })?;
            for row in rows {
                let row = row?;
                let sum = by_store
                    .entry(row.store_id)
                    .or_insert(StoreRows { store_id: row.store_id, ..StoreRows::default() });
                sum.rows += row.rows;
                sum.payment_count += row.payment_count;
                sum.payment_amount += row.payment_amount;
                sum.refund_count += row.refund_count;
                sum.refund_amount += row.refund_amount;
                sum.fee_milli += row.fee_milli;
            }
        }
        let mut out: Vec<StoreRows> = by_store.into_values().collect();
        out.sort_by_key(|s| (s.store_id.is_none(), s.store_id.map(|s| s.0)));
        Ok(out)
    }

    /// Every difference of a run with the store it belongs to, in the order they were found.
    pub fn difference_stores(&self, run_id: i64) -> Result<Vec<DifferenceStore>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT d.id, COALESCE(
                 (SELECT o.store_id FROM orders o WHERE d.out_trade_no <> '' AND o.out_trade_no = d.out_trade_no),
                 (SELECT o.store_id FROM orders o WHERE d.trade_no <> '' AND o.trade_no = d.trade_no LIMIT 1),
                 (SELECT {ROW_STORE} FROM bill_rows br JOIN bills b ON b.id = br.bill_id WHERE br.id = d.bill_row_id)),
                 d.resolved
             FROM discrepancies d WHERE d.run_id = ?1 ORDER BY d.id"
        ))?;
        let rows = stmt.query_map([run_id], |r| {
            Ok(DifferenceStore {
                id: DiscrepancyId(r.get(0)?),
                store_id: r.get::<_, Option<i64>>(1)?.map(StoreId),
                resolved: r.get::<_, i64>(2)? != 0,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Finished runs newest first (by id), of `filter`'s accounts and days, with ids below `before`.
    pub fn recon_runs_page(
        &self,
        filter: &DayFilter<'_>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<super::recon::StoredRun>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, acquirer_id, bill_date, started_at, finished_at, summary FROM recon_runs
             WHERE finished_at IS NOT NULL AND bill_date IS NOT NULL AND (?3 IS NULL OR id < ?3) AND {}
             ORDER BY id DESC LIMIT ?4",
            filter.sql("recon_runs")
        ))?;
        let rows = stmt.query_map(params![filter.from, filter.to, before, limit], |r| {
            Ok(super::recon::StoredRun {
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

    /// The (account, day) pairs with visible bills, newest day first (then by account, highest first), after the
    /// pair `after` in that order.
    pub fn bill_days_page(
        &self,
        filter: &DayFilter<'_>,
        after: Option<(&str, AcquirerId)>,
        limit: u32,
    ) -> Result<Vec<(AcquirerId, String)>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT DISTINCT bills.acquirer_id, bills.bill_date FROM bills
             WHERE bills.bill_date <> '' AND {}
               AND (?3 IS NULL OR bills.bill_date < ?3 OR (bills.bill_date = ?3 AND bills.acquirer_id < ?4))
             ORDER BY bills.bill_date DESC, bills.acquirer_id DESC LIMIT ?5",
            filter.sql("bills")
        ))?;
        let (day, account) = match after {
            Some((d, a)) => (Some(d), Some(a.0)),
            None => (None, None),
        };
        let rows = stmt.query_map(params![filter.from, filter.to, day, account, limit], |r| {
            Ok((AcquirerId(r.get(0)?), r.get::<_, String>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
