//! Local data for tests and benchmarks: paid orders and refunds written in one transaction each, without going
//! through checkout.

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
