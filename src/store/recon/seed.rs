//! Local data for tests and benchmarks: paid orders and refunds written in one transaction each, without going
//! through checkout; and another database's orders copied as they are (the PostgreSQL backend's scratch copy for
//! reconciling a day), with the keys of a day's bill rows that say which orders to copy.

use rusqlite::{Transaction, params};

use super::super::{Result, Store};
use crate::model::AcquirerId;

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

impl<S: std::ops::DerefMut<Target = Store>> crate::store::Recon<S> {
    /// Writes many orders in one transaction (tests, benchmarks, data migration).
    pub fn seed_orders(&mut self, orders: impl IntoIterator<Item = SeedOrder>) -> Result<u64> {
        let store_id = self.setup_mut().default_store()?;
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

impl<S: std::ops::DerefMut<Target = Store>> crate::store::Recon<S> {
    /// Makes this database a scratch copy for reconciling a day (the PostgreSQL backend's): the triggers that keep
    /// the order search, the day and hour totals and the order feed are dropped, since nothing here reads them and
    /// they would make copying a day's orders in many times slower; writes are not synced to disk. Never on a till's
    /// or a backend's own database.
    pub fn make_scratch(&mut self) -> Result<u64> {
        // Thrown away after: nothing here has to survive a power cut.
        self.conn.execute_batch("PRAGMA synchronous = OFF")?;
        self.transaction(|tx| {
            let names: Vec<String> = tx
                .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('orders', 'refunds')")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for name in &names {
                tx.execute_batch(&format!("DROP TRIGGER \"{}\"", name.replace('"', "\"\"")))?;
            }
            Ok(names.len() as u64)
        })
    }

    /// Writes another database's orders and refunds as they are, ids included, in one transaction: the merchant
    /// backend on PostgreSQL reconciles a day in a scratch copy of its catalogue holding the orders the day's bill
    /// can name. The operators are not copied (their ids are left out); an order or refund already there is kept.
    pub fn copy_orders(
        &mut self,
        orders: &[crate::model::Order],
        refunds: &[crate::model::Refund],
    ) -> Result<(u64, u64)> {
        self.transaction(|tx| {
            let mut order = tx.prepare(
                "INSERT OR IGNORE INTO orders (id, out_trade_no, trade_no, store_id, acquirer_id, source, subject,
                    total_amount, currency, refunded_amount, status, auth_code_masked, created_at, paid_at,
                    updated_at, acquirer_merchant_id, terminal_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?13, ?15, ?16)",
            )?;
            let mut n = (0, 0);
            for o in orders {
                n.0 += order.execute(params![
                    o.id.0,
                    o.out_trade_no,
                    o.trade_no,
                    o.store_id.0,
                    o.acquirer_id.0,
                    o.source.as_str(),
                    o.subject,
                    o.total_amount.fen(),
                    o.currency.code(),
                    o.refunded_amount.fen(),
                    o.status.as_str(),
                    o.auth_code_masked,
                    o.created_at,
                    o.paid_at,
                    o.acquirer_merchant_id,
                    o.terminal_id
                ])? as u64;
            }
            let mut refund = tx.prepare(
                "INSERT OR IGNORE INTO refunds (id, order_id, out_request_no, refund_amount, reason, status, created_at,
                    updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?;
            for r in refunds {
                n.1 += refund.execute(params![
                    r.id.0,
                    r.order_id.0,
                    r.out_request_no,
                    r.refund_amount.fen(),
                    r.reason,
                    r.status.as_str(),
                    r.created_at
                ])? as u64;
            }
            Ok(n)
        })
    }
}

impl<S: std::ops::Deref<Target = Store>> crate::store::Recon<S> {
    /// The orders with ids above `id`, in id order: in a scratch copy, those the reconciliation itself recorded
    /// (store-code payments the bill lists that no notification brought).
    pub fn orders_after(&self, id: i64) -> Result<Vec<crate::model::Order>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM orders WHERE id > ?1 ORDER BY id",
            crate::store::orders::ORDER_COLUMNS
        ))?;
        let rows = stmt.query_map([id], crate::store::orders::order_from_row)?;
        rows.map(|r| crate::store::orders::typed(r?)).collect()
    }

    /// The order numbers (out_trade_no) and the acquirer's numbers (trade_no) that rows of an account's bills of
    /// `bill_date` name and no order here has (by either), each once: what a scratch copy must still fetch.
    pub fn bill_keys_without_order(&self, acquirer: AcquirerId, bill_date: &str) -> Result<(Vec<String>, Vec<String>)> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT br.out_trade_no, br.trade_no FROM bills b JOIN bill_rows br ON br.bill_id = b.id
             WHERE b.acquirer_id = ?1 AND b.bill_date = ?2
               AND NOT EXISTS (SELECT 1 FROM orders o WHERE br.out_trade_no <> '' AND o.out_trade_no = br.out_trade_no)
               AND NOT EXISTS (SELECT 1 FROM orders o WHERE br.trade_no <> '' AND o.trade_no = br.trade_no)",
        )?;
        let rows = stmt.query_map(params![acquirer.0, bill_date], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        let mut keys: (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        for r in rows {
            let (out_trade_no, trade_no) = r?;
            keys.0.extend(out_trade_no.filter(|k| !k.is_empty()));
            keys.1.extend(trade_no.filter(|k| !k.is_empty()));
        }
        keys.0.sort_unstable();
        keys.0.dedup();
        keys.1.sort_unstable();
        keys.1.dedup();
        Ok(keys)
    }

    /// The highest order id here (0 when there is none).
    pub fn last_order_id(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(id), 0) FROM orders", [], |r| r.get(0))?)
    }
}
