//! The transition functions of the PostgreSQL store: every status change of an order or a refund the backend keeps
//! there is made here, inside the caller's transaction, with the row locked (`FOR UPDATE`: the status read is the
//! status written over, whichever instance asks), checked against the same tables ([`crate::lifecycle`]) and the
//! same PAID comparison ([`crate::store::transitions`]) as the SQLite store, with the event that says why.

use deadpool_postgres::Transaction;

use super::{PgError, PgStore, Result, audit, parse_utc};
use crate::lifecycle::{Authority, Verdict, order_move, refund_move};
use crate::model::{OrderId, OrderStatus, RefundId, RefundStatus};
use crate::money::Amount;
use crate::store::transitions::{Attention, OrderMove, OrderMoved, OrderRow, RefundMoved, mismatch};

pub(crate) async fn event(tx: &Transaction<'_>, id: OrderId, kind: &str, detail: &str) -> Result<()> {
    let stmt =
        tx.prepare_cached("INSERT INTO order_events (order_id, at, kind, detail) VALUES ($1, now(), $2, $3)").await?;
    tx.execute(&stmt, &[&id.0, &kind, &detail]).await?;
    Ok(())
}

fn order_status(text: &str) -> Result<OrderStatus> {
    OrderStatus::parse(text).ok_or_else(|| PgError::Corrupt { table: "orders", column: "status", value: text.into() })
}

fn refund_status(text: &str) -> Result<RefundStatus> {
    RefundStatus::parse(text).ok_or_else(|| PgError::Corrupt { table: "refunds", column: "status", value: text.into() })
}

/// THE order transition function of the PostgreSQL store.
pub(crate) async fn move_order(tx: &Transaction<'_>, id: OrderId, m: &OrderMove<'_>) -> Result<OrderMoved> {
    let row = tx
        .query_opt(
            "SELECT status, total_amount, currency, acquirer_merchant_id FROM orders WHERE id = $1 FOR UPDATE",
            &[&id.0],
        )
        .await?
        .ok_or(PgError::NotFound { what: "order", key: id.to_string() })?;
    let row = OrderRow {
        status: order_status(row.get(0))?,
        total_amount: Amount::from_fen(row.get(1)),
        currency: row.get(2),
        acquirer_merchant_id: row.get(3),
    };
    let from = row.status;
    match order_move(from, m.to, m.by) {
        Verdict::Forbidden => {
            let why = format!("{} (not applied: an order that is {from} cannot become {})", m.detail, m.to);
            event(tx, id, &format!("{}_refused", m.event_kind), why.trim()).await?;
            tracing::warn!(order = %id, %from, to = %m.to, kind = m.event_kind, "status move refused");
            return Ok(OrderMoved::Refused { from, to: m.to });
        }
        Verdict::Stay => {
            tx.execute("UPDATE orders SET updated_at = now() WHERE id = $1", &[&id.0]).await?;
            event(tx, id, m.event_kind, m.detail).await?;
            return Ok(OrderMoved::Stayed(from));
        }
        Verdict::Move => {}
    }
    if m.to == OrderStatus::Paid && m.by == Authority::Acquirer {
        let facts = m.facts.unwrap_or_default();
        if let Some(found) = mismatch(&row, &facts) {
            let attention_ok = order_move(from, OrderStatus::NeedsAttention, m.by) == Verdict::Move;
            let detail = format!("{}: {found}", m.detail);
            if attention_ok {
                tx.execute(
                    "UPDATE orders SET status = 'NEEDS_ATTENTION', attention = 'mismatch',
                        trade_no = COALESCE($2, trade_no), updated_at = now() WHERE id = $1",
                    &[&id.0, &m.trade_no],
                )
                .await?;
            }
            event(tx, id, "mismatch", detail.trim_start_matches(": ")).await?;
            tracing::warn!(order = %id, %found, "the acquirer's figures differ from the order");
            return Ok(OrderMoved::Mismatch { from, mismatch: found });
        }
    }
    let attention = match m.to {
        OrderStatus::NeedsAttention => Some(m.attention.unwrap_or(Attention::Cancel).as_str()),
        _ => None,
    };
    let paid_at = m.paid_at.map(parse_utc).transpose()?;
    let stmt = tx
        .prepare_cached(
            "UPDATE orders SET status = $2, trade_no = COALESCE($3, trade_no), paid_at = COALESCE($4, paid_at),
                attention = $5, updated_at = now() WHERE id = $1",
        )
        .await?;
    tx.execute(&stmt, &[&id.0, &m.to.as_str(), &m.trade_no, &paid_at, &attention]).await?;
    event(tx, id, m.event_kind, m.detail).await?;
    Ok(OrderMoved::Moved { from, to: m.to })
}

/// THE refund transition function of the PostgreSQL store. On the refund's one move into SUCCESS the order's
/// refunded amount grows and the order moves (through [`move_order`]) in the same transaction, so a refund
/// confirmed twice (by two instances) counts once.
pub(crate) async fn move_refund(
    tx: &Transaction<'_>,
    id: RefundId,
    to: RefundStatus,
    detail: &str,
) -> Result<RefundMoved> {
    let row = tx
        .query_opt(
            "SELECT status, order_id, refund_amount, out_request_no, operator_id FROM refunds WHERE id = $1 FOR UPDATE",
            &[&id.0],
        )
        .await?
        .ok_or(PgError::NotFound { what: "refund", key: id.to_string() })?;
    let from = refund_status(row.get(0))?;
    let order_id = OrderId(row.get(1));
    let amount = Amount::from_fen(row.get(2));
    let out_request_no: String = row.get(3);
    let operator: Option<i64> = row.get(4);
    match refund_move(from, to) {
        Verdict::Stay => return Ok(RefundMoved::Stayed(from)),
        Verdict::Forbidden => {
            let why = format!("{out_request_no}: {detail} (not applied: a refund that is {from} cannot become {to})");
            event(tx, order_id, "refund_move_refused", &why).await?;
            tracing::warn!(refund = %id, %from, %to, "refund status move refused");
            return Ok(RefundMoved::Refused { from, to });
        }
        Verdict::Move => {}
    }
    tx.execute("UPDATE refunds SET status = $2, updated_at = now() WHERE id = $1", &[&id.0, &to.as_str()]).await?;
    let kind = match to {
        RefundStatus::Success => "refund_success",
        RefundStatus::Failed => "refund_failed",
        RefundStatus::Processing => "refund_processing",
        RefundStatus::Submitted => "refund_submitted",
    };
    event(tx, order_id, kind, &format!("{out_request_no} {amount}: {detail}")).await?;
    audit(tx, operator, "refund.status", &out_request_no, Some(from.as_str()), Some(to.as_str())).await?;
    if to == RefundStatus::Success {
        let row = tx
            .query_one(
                "UPDATE orders SET refunded_amount = refunded_amount + $2 WHERE id = $1
                 RETURNING total_amount, refunded_amount",
                &[&order_id.0, &amount.fen()],
            )
            .await?;
        let (total, refunded): (i64, i64) = (row.get(0), row.get(1));
        let order_to = if refunded >= total { OrderStatus::Refunded } else { OrderStatus::PartiallyRefunded };
        let note = format!("{} of {} refunded", Amount::from_fen(refunded), Amount::from_fen(total));
        Box::pin(move_order(tx, order_id, &OrderMove::to(order_to, "refund_total", &note))).await?;
    }
    Ok(RefundMoved::Moved { from, to })
}

impl PgStore {
    /// Moves an order, in its own transaction.
    pub async fn move_order(&self, id: OrderId, m: &OrderMove<'_>) -> Result<OrderMoved> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let moved = move_order(&tx, id, m).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Moves a refund, in its own transaction.
    pub async fn move_refund(&self, id: RefundId, to: RefundStatus, detail: &str) -> Result<RefundMoved> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let moved = move_refund(&tx, id, to, detail).await?;
        tx.commit().await?;
        Ok(moved)
    }
}
