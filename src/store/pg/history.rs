//! A till's orders from before it joined the backend, sent up as its history (issue 23), on PostgreSQL: written as
//! the till had them (a paid order PAID, its settled refunds moved through the transition function so that each
//! counts once), attributed to the till and marked in `history_orders`, all in one transaction. The backend never
//! sends anything to an acquirer about them.

use super::moves::{event, move_refund};
use super::{PgStore, Result, parse_utc};
use crate::model::{OrderId, OrderStatus, RefundId, RefundStatus};
use crate::store::pulled::{HistoryRecord, PulledOrder};
use crate::store::serve::TillId;

impl PgStore {
    /// Records `p` (settled) as `till`'s history; nothing is written when it is not settled or its out_trade_no is
    /// here already (as history, or as an order this backend took itself). Two instances asked at once: one inserts,
    /// the other waits on the unique key and finds it.
    pub async fn record_history_order(&self, till: TillId, p: &PulledOrder) -> Result<HistoryRecord> {
        if !crate::store::pulled::is_settled(p.status) {
            return Ok(HistoryRecord::NotSettled);
        }
        let status = if crate::store::pulled::is_paid_family(p.status) { OrderStatus::Paid } else { p.status };
        let created_at = parse_utc(&p.created_at)?;
        let paid_at = p.paid_at.as_deref().map(parse_utc).transpose()?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let row = tx
            .query_opt(
                "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, till_id, source, subject,
                    total_amount, currency, status, auth_code_masked, acquirer_merchant_id, terminal_id, created_at,
                    paid_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'CNY', $9, $10, $11, $12, $13, $14, now())
                 ON CONFLICT (out_trade_no) DO NOTHING RETURNING id",
                &[
                    &p.out_trade_no,
                    &p.trade_no,
                    &p.store_id.0,
                    &p.acquirer_id.0,
                    &till.0,
                    &p.source.as_str(),
                    &p.subject,
                    &p.total_amount.fen(),
                    &status.as_str(),
                    &p.auth_code_masked,
                    &p.acquirer_merchant_id,
                    &p.terminal_id,
                    &created_at,
                    &paid_at,
                ],
            )
            .await?;
        let Some(row) = row else {
            let history = tx
                .query_opt(
                    "SELECT 1 FROM history_orders h JOIN orders o ON o.id = h.order_id WHERE o.out_trade_no = $1",
                    &[&p.out_trade_no],
                )
                .await?
                .is_some();
            return Ok(if history { HistoryRecord::Known } else { HistoryRecord::Held });
        };
        let id = OrderId(row.get(0));
        let detail = format!("{status} taken at till #{till} before it joined the backend, {}", p.total_amount);
        event(&tx, id, "history", &detail).await?;
        tx.execute(
            "INSERT INTO history_orders (order_id, till_id, received_at) VALUES ($1, $2, now())",
            &[&id.0, &till.0],
        )
        .await?;
        for r in p.refunds.iter().filter(|r| matches!(r.status, RefundStatus::Success | RefundStatus::Failed)) {
            let at = parse_utc(&r.created_at)?;
            let refund = tx
                .query_one(
                    "INSERT INTO refunds (order_id, out_request_no, refund_amount, reason, status, till_id, created_at,
                        updated_at)
                     VALUES ($1, $2, $3, $4, 'SUBMITTED', $5, $6, now()) RETURNING id",
                    &[&id.0, &r.out_request_no, &r.refund_amount.fen(), &r.reason, &till.0, &at],
                )
                .await?;
            move_refund(&tx, RefundId(refund.get(0)), r.status, "as the till had it before it joined the backend")
                .await?;
        }
        tx.commit().await?;
        Ok(HistoryRecord::Recorded)
    }

    /// Whether the order is a till's history.
    pub async fn is_history_order(&self, id: OrderId) -> Result<bool> {
        let conn = self.conn().await?;
        Ok(conn.query_opt("SELECT 1 FROM history_orders WHERE order_id = $1", &[&id.0]).await?.is_some())
    }
}
