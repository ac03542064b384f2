//! Refunds: written SUBMITTED before the acquirer is asked (so a retry reuses the same out_request_no), settled to
//! SUCCESS / FAILED, with the order's refunded amount and status moved in the same transaction.

use rusqlite::{OptionalExtension, Row, params};

use super::{Result, Store, StoreError, append_audit};
use crate::model::{OperatorId, Order, OrderId, OrderStatus, Refund, RefundId, RefundStatus};
use crate::money::Amount;

/// Why a refund cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum RefundRefused {
    #[error("order {0} does not exist")]
    NoSuchOrder(String),
    #[error("order {out_trade_no} is {status}: only paid orders can be refunded")]
    NotPaid { out_trade_no: String, status: &'static str },
    #[error("the refund amount must be more than 0.00")]
    Zero,
    #[error(
        "at most {refundable} can still be refunded on order {out_trade_no} (paid {total}, refunded or in progress \
         {reserved}); {asked} is too much"
    )]
    TooMuch { out_trade_no: String, asked: Amount, refundable: Amount, total: Amount, reserved: Amount },
    #[error("a reason is required for every refund")]
    NoReason,
    /// Taken store-direct, before this till joined its merchant backend, with an account the backend does not hold
    /// (or the backend does not have the order).
    #[error(
        "order {out_trade_no} was taken before the till that took it joined the merchant backend, with an acquirer \
         account the backend does not hold: refund it in the acquirer's merchant portal"
    )]
    TakenBeforeJoining { out_trade_no: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

const REFUND_COLUMNS: &str = "id, order_id, out_request_no, refund_amount, reason, status, operator_id, created_at";

fn refund_from_row(r: &Row<'_>) -> rusqlite::Result<(Refund, String)> {
    Ok((
        Refund {
            id: RefundId(r.get(0)?),
            order_id: OrderId(r.get(1)?),
            out_request_no: r.get(2)?,
            refund_amount: Amount::from_fen(r.get(3)?),
            reason: r.get(4)?,
            status: RefundStatus::Submitted,
            operator_id: r.get::<_, Option<i64>>(6)?.map(OperatorId),
            created_at: r.get(7)?,
        },
        r.get(5)?,
    ))
}

fn typed_refund(raw: (Refund, String)) -> Result<Refund> {
    let (mut refund, status) = raw;
    refund.status = RefundStatus::parse(&status).ok_or(StoreError::Corrupt {
        table: "refunds",
        column: "status",
        value: status,
    })?;
    Ok(refund)
}

/// What a paid order can still give back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refundable {
    pub total: Amount,
    /// Refunds that succeeded.
    pub refunded: Amount,
    /// Refunds submitted or processing (reserved, so two clerks cannot over-refund together).
    pub in_progress: Amount,
}

impl Refundable {
    pub fn remaining(&self) -> Amount {
        Amount::from_fen(self.total.fen() - self.refunded.fen() - self.in_progress.fen())
    }
}

fn refundable_tx(tx: &rusqlite::Connection, order: &Order) -> Result<Refundable> {
    let in_progress: i64 = tx.query_row(
        "SELECT COALESCE(SUM(refund_amount), 0) FROM refunds WHERE order_id = ?1 AND status IN ('SUBMITTED', 'PROCESSING')",
        [order.id.0],
        |r| r.get(0),
    )?;
    let refunded: i64 = tx.query_row("SELECT refunded_amount FROM orders WHERE id = ?1", [order.id.0], |r| r.get(0))?;
    Ok(Refundable {
        total: order.total_amount,
        refunded: Amount::from_fen(refunded),
        in_progress: Amount::from_fen(in_progress),
    })
}

/// What the 退款 screen's filters ask for: a status, stored UTC bounds [from, to) and a search over the order's
/// out_trade_no, the out_request_no and the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundFilter {
    pub status: Option<RefundStatus>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub search: Option<String>,
}

impl Store {
    /// The paid order a refund of `amount` with `reason` may be asked for, or why not (nothing is written).
    pub(super) fn refund_request_order(
        &self,
        out_trade_no: &str,
        amount: Amount,
        reason: &str,
    ) -> std::result::Result<Order, RefundRefused> {
        let order = self
            .orders()
            .order_by_out_trade_no(out_trade_no)?
            .ok_or_else(|| RefundRefused::NoSuchOrder(out_trade_no.into()))?;
        if !matches!(order.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded) {
            return Err(RefundRefused::NotPaid { out_trade_no: out_trade_no.into(), status: order.status.as_str() });
        }
        if reason.trim().is_empty() {
            return Err(RefundRefused::NoReason);
        }
        if amount.fen() <= 0 {
            return Err(RefundRefused::Zero);
        }
        Ok(order)
    }
}

impl<S: std::ops::Deref<Target = Store>> super::Refunds<S> {
    pub fn refundable(&self, order: &Order) -> Result<Refundable> {
        refundable_tx(&self.conn, order)
    }

    pub fn refund(&self, id: RefundId) -> Result<Option<Refund>> {
        let raw = self
            .conn
            .query_row(&format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = ?1"), [id.0], refund_from_row)
            .optional()?;
        raw.map(typed_refund).transpose()
    }

    pub fn refund_by_out_request_no(&self, out_request_no: &str) -> Result<Option<Refund>> {
        let raw = self
            .conn
            .query_row(
                &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE out_request_no = ?1"),
                [out_request_no],
                refund_from_row,
            )
            .optional()?;
        raw.map(typed_refund).transpose()
    }

    pub fn refunds_of(&self, order: OrderId) -> Result<Vec<Refund>> {
        let mut stmt =
            self.conn.prepare(&format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE order_id = ?1 ORDER BY id"))?;
        let raw = stmt.query_map([order.0], refund_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(typed_refund).collect()
    }

    /// Refunds newest first with their order's out_trade_no, filtered as the 退款 screen asks (and its export).
    pub fn recent_refunds(&self, filter: &RefundFilter, limit: u32) -> Result<Vec<(Refund, String)>> {
        let cols = REFUND_COLUMNS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {cols}, o.out_trade_no FROM refunds r JOIN orders o ON o.id = r.order_id
             WHERE (?1 IS NULL OR r.status = ?1)
               AND (?2 IS NULL OR r.created_at >= ?2)
               AND (?3 IS NULL OR r.created_at < ?3)
               AND (?4 IS NULL OR o.out_trade_no LIKE ?4 ESCAPE '\\' OR r.out_request_no LIKE ?4 ESCAPE '\\'
                    OR r.reason LIKE ?4 ESCAPE '\\')
             ORDER BY r.id DESC LIMIT ?5"
        ))?;
        let search = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("%{}%", super::order_query::escape_like(s)));
        let raw = stmt
            .query_map(params![filter.status.map(|s| s.as_str()), filter.from, filter.to, search, limit], |r| {
                Ok((refund_from_row(r)?, r.get::<_, String>(8)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(|(refund, out)| Ok((typed_refund(refund)?, out))).collect()
    }

    /// Refunds still waiting for the acquirer's final word (the sync worker follows these).
    pub fn pending_refunds(&self) -> Result<Vec<Refund>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE status IN ('SUBMITTED', 'PROCESSING') ORDER BY id"
        ))?;
        let raw = stmt.query_map([], refund_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(typed_refund).collect()
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Refunds<S> {
    /// Writes a new refund as SUBMITTED after the local checks (paid order, reason, not more than what is left),
    /// with its order event and audit entry, in one transaction. The out_request_no is `<out_trade_no>-R<n>`, or
    /// `<out_trade_no>-T<till>R<n>` on a till enrolled with a merchant backend (`backend.till_id`).
    pub fn create_refund(
        &mut self,
        out_trade_no: &str,
        amount: Amount,
        reason: &str,
        operator: Option<OperatorId>,
    ) -> std::result::Result<(Order, Refund), RefundRefused> {
        let order = self.refund_request_order(out_trade_no, amount, reason)?;
        let reason = reason.trim();
        let now = crate::time::now_utc();
        // Read-check-write: IMMEDIATE, so two clerks (or two processes) cannot both reserve the same money.
        let tx =
            self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let left = refundable_tx(&tx, &order)?;
        if amount > left.remaining() {
            return Err(RefundRefused::TooMuch {
                out_trade_no: out_trade_no.into(),
                asked: amount,
                refundable: left.remaining(),
                total: left.total,
                reserved: Amount::from_fen(left.refunded.fen() + left.in_progress.fen()),
            });
        }
        let n: i64 = tx
            .query_row("SELECT COUNT(*) FROM refunds WHERE order_id = ?1", [order.id.0], |r| r.get(0))
            .map_err(StoreError::from)?;
        // A till enrolled with a merchant backend names itself in the number: two tills refunding one order before
        // either has synced never make the same out_request_no.
        let till: Option<String> = tx
            .query_row("SELECT value FROM settings WHERE key = 'backend.till_id'", [], |r| r.get(0))
            .optional()
            .map_err(StoreError::from)?;
        let out_request_no = match till.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(till) => format!("{out_trade_no}-T{till}R{}", n + 1),
            None => format!("{out_trade_no}-R{}", n + 1),
        };
        tx.execute(
            "INSERT INTO refunds (order_id, out_request_no, refund_amount, reason, status, operator_id, created_at,
                updated_at) VALUES (?1, ?2, ?3, ?4, 'SUBMITTED', ?5, ?6, ?6)",
            params![order.id.0, out_request_no, amount.fen(), reason, operator.map(|o| o.0), now],
        )
        .map_err(StoreError::from)?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, 'refund_requested', ?3)",
            params![order.id.0, now, format!("{out_request_no} {amount}: {reason}")],
        )
        .map_err(StoreError::from)?;
        append_audit(&tx, &now, operator, "refund.request", &out_request_no, None, Some(&amount.to_string()))?;
        tx.commit().map_err(StoreError::from)?;
        let refund = self.refund(RefundId(id))?.ok_or(StoreError::NotFound { what: "refund", key: id.to_string() })?;
        Ok((order, refund))
    }

    /// Moves a refund to `status` through the refund transition function ([`super::transitions::move_refund`]): on
    /// its one move into SUCCESS the order's refunded amount grows and the order becomes PARTIALLY_REFUNDED or
    /// REFUNDED, all in one IMMEDIATE transaction with the event and the audit entry. A repeated or forbidden move
    /// changes nothing. Returns the refund as it now is.
    pub fn set_refund_status(&mut self, id: RefundId, status: RefundStatus, detail: &str) -> Result<Refund> {
        self.transaction(|tx| super::transitions::move_refund(tx, id, status, detail))?;
        self.refund(id)?.ok_or(StoreError::NotFound { what: "refund", key: id.to_string() })
    }
}
