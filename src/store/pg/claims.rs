//! Claims of unfinished work on PostgreSQL, for several instances on one database: an instance takes a lease on
//! the orders and refunds it resumes (`FOR UPDATE SKIP LOCKED`, then `lease_owner` / `lease_until`), so two
//! instances never work on the same row at once, and a lease of an instance that died runs out and the row is
//! claimed again.

use time::OffsetDateTime;

use super::orders::{ORDER_COLUMNS, order_from_row};
use super::{PgStore, Result};
use crate::model::{Order, OrderId, Refund, RefundId};

impl PgStore {
    /// Claims for `owner`, until `until`, at most `limit` unfinished orders (PAYING, UNKNOWN, CANCELLING,
    /// NEEDS_ATTENTION but for a figures mismatch, which waits for a person) whose lease ran out by `now`.
    pub async fn claim_unfinished_orders(
        &self,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<Order>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!(
                    "WITH claimed AS (
                        SELECT id FROM orders
                        WHERE status IN ('PAYING', 'UNKNOWN', 'CANCELLING', 'NEEDS_ATTENTION')
                          AND COALESCE(attention, '') <> 'mismatch'
                          AND (lease_until IS NULL OR lease_until <= $2)
                        ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
                     UPDATE orders o SET lease_owner = $1, lease_until = $3 FROM claimed WHERE o.id = claimed.id
                     RETURNING {ORDER_COLUMNS}"
                ),
                &[&owner, &now, &until, &limit],
            )
            .await?;
        let mut orders = rows.iter().map(order_from_row).collect::<Result<Vec<_>>>()?;
        orders.sort_by_key(|o| o.id);
        Ok(orders)
    }

    /// Claims for `owner`, until `until`, at most `limit` refunds still SUBMITTED or PROCESSING whose lease ran out
    /// by `now`, each with its order.
    pub async fn claim_unfinished_refunds(
        &self,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<(Order, Refund)>> {
        let ids: Vec<i64> = {
            let conn = self.conn().await?;
            conn.query(
                "WITH claimed AS (
                    SELECT id FROM refunds WHERE status IN ('SUBMITTED', 'PROCESSING')
                      AND (lease_until IS NULL OR lease_until <= $2)
                    ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
                 UPDATE refunds r SET lease_owner = $1, lease_until = $3 FROM claimed WHERE r.id = claimed.id
                 RETURNING r.id",
                &[&owner, &now, &until, &limit],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(refund) = self.refund(RefundId(id)).await? else { continue };
            let Some(order) = self.order(refund.order_id).await? else { continue };
            out.push((order, refund));
        }
        out.sort_by_key(|(_, r)| r.id);
        Ok(out)
    }

    /// Takes (or renews) the lease of one refund for `owner`: false when another instance holds it (it is sending
    /// that refund now).
    pub async fn lease_refund(
        &self,
        id: RefundId,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "UPDATE refunds SET lease_owner = $2, lease_until = $4
                 WHERE id = $1 AND (lease_until IS NULL OR lease_until <= $3 OR lease_owner = $2)",
                &[&id.0, &owner, &now, &until],
            )
            .await?;
        Ok(n == 1)
    }

    /// Gives an order's lease back (its work is done, or left for the next claim at once).
    pub async fn release_order(&self, id: OrderId, owner: &str) -> Result<()> {
        let conn = self.conn().await?;
        conn.execute(
            "UPDATE orders SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
            &[&id.0, &owner],
        )
        .await?;
        Ok(())
    }

    /// Gives a refund's lease back.
    pub async fn release_refund(&self, id: RefundId, owner: &str) -> Result<()> {
        let conn = self.conn().await?;
        conn.execute(
            "UPDATE refunds SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
            &[&id.0, &owner],
        )
        .await?;
        Ok(())
    }
}
