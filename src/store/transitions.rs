//! The one transition function per entity. Every status change of an order, a refund or an outbox entry is made
//! here, inside the caller's transaction (an IMMEDIATE one: the status read is the status written over), checked
//! against the tables in [`crate::lifecycle`], with the event that says why.
//!
//! A move to PAID carries what the acquirer said was paid ([`PaidFacts`]); when its amount, currency or merchant
//! differ from the order, the order goes to NEEDS_ATTENTION with both figures instead, never to PAID.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Result, Store, StoreError, append_audit};
use crate::lifecycle::{Authority, OutboxState, Verdict, order_move, outbox_move, refund_move};
use crate::model::{OperatorId, OrderId, OrderStatus, RefundId, RefundStatus};
use crate::money::Amount;

/// Why an order needs a person or the background sync (stored in `orders.attention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attention {
    /// A cancel/reverse the acquirer has not confirmed: the sync worker keeps sending it.
    Cancel,
    /// The acquirer's figures differ from the order: a person decides.
    Mismatch,
}

impl Attention {
    pub fn as_str(self) -> &'static str {
        match self {
            Attention::Cancel => "cancel",
            Attention::Mismatch => "mismatch",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "cancel" => Some(Attention::Cancel),
            "mismatch" => Some(Attention::Mismatch),
            _ => None,
        }
    }
}

/// What the acquirer said was paid, as it said it (None: it did not say).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaidFacts<'a> {
    pub amount: Option<Amount>,
    pub currency: Option<&'a str>,
    /// The merchant (sub-merchant) the acquirer says took the payment.
    pub merchant_id: Option<&'a str>,
}

/// How the acquirer's account of a payment differs from the order: both figures, for the person who decides.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum Mismatch {
    /// `acquirer` None: the acquirer did not say how much was paid.
    Amount {
        order: Amount,
        acquirer: Option<Amount>,
    },
    Currency {
        order: String,
        acquirer: String,
    },
    Merchant {
        order: String,
        acquirer: String,
    },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Amount { order, acquirer: Some(a) } => {
                write!(f, "the acquirer says {a} was paid; the order is for {order}")
            }
            Mismatch::Amount { order, acquirer: None } => {
                write!(f, "the acquirer did not say how much was paid; the order is for {order}")
            }
            Mismatch::Currency { order, acquirer } => {
                write!(f, "the acquirer says the currency is {acquirer}; the order is in {order}")
            }
            Mismatch::Merchant { order, acquirer } => {
                write!(f, "the acquirer says merchant {acquirer} took it; the order was sent for {order}")
            }
        }
    }
}

/// One requested change of an order's status.
#[derive(Debug, Clone, Copy)]
pub struct OrderMove<'a> {
    pub to: OrderStatus,
    pub by: Authority,
    /// The timeline entry: its kind and words.
    pub event_kind: &'a str,
    pub detail: &'a str,
    pub trade_no: Option<&'a str>,
    /// UTC.
    pub paid_at: Option<&'a str>,
    /// Required for a move to PAID by the acquirer: checked against the order.
    pub facts: Option<PaidFacts<'a>>,
    /// Why, when moving to NEEDS_ATTENTION (default: a cancel awaiting confirmation).
    pub attention: Option<Attention>,
}

impl<'a> OrderMove<'a> {
    /// A move by the acquirer's answer, with its timeline entry.
    pub fn to(to: OrderStatus, event_kind: &'a str, detail: &'a str) -> Self {
        OrderMove {
            to,
            by: Authority::Acquirer,
            event_kind,
            detail,
            trade_no: None,
            paid_at: None,
            facts: None,
            attention: None,
        }
    }

    /// A move to PAID with what the acquirer said.
    pub fn paid(
        event_kind: &'a str,
        detail: &'a str,
        trade_no: Option<&'a str>,
        paid_at: Option<&'a str>,
        facts: PaidFacts<'a>,
    ) -> Self {
        OrderMove { trade_no, paid_at, facts: Some(facts), ..OrderMove::to(OrderStatus::Paid, event_kind, detail) }
    }
}

/// What a requested order move did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderMoved {
    Moved {
        from: OrderStatus,
        to: OrderStatus,
    },
    /// Already in that status: nothing changed but the timeline.
    Stayed(OrderStatus),
    /// PAID was asked, but the acquirer's figures differ: the order is NEEDS_ATTENTION.
    Mismatch {
        from: OrderStatus,
        mismatch: Mismatch,
    },
    /// The table does not allow it: the status stays; the timeline says what was refused.
    Refused {
        from: OrderStatus,
        to: OrderStatus,
    },
}

impl OrderMoved {
    /// The status the order has after the move.
    pub fn status(&self) -> OrderStatus {
        match self {
            OrderMoved::Moved { to, .. } => *to,
            OrderMoved::Stayed(s) => *s,
            OrderMoved::Mismatch { .. } => OrderStatus::NeedsAttention,
            OrderMoved::Refused { from, .. } => *from,
        }
    }
}

/// What a move to PAID is checked against (shared with the PostgreSQL store's transition functions).
pub(crate) struct OrderRow {
    pub(crate) status: OrderStatus,
    pub(crate) total_amount: Amount,
    pub(crate) currency: String,
    pub(crate) acquirer_merchant_id: Option<String>,
}

fn order_row(tx: &Transaction<'_>, id: OrderId) -> Result<OrderRow> {
    let raw: Option<(String, i64, String, Option<String>)> = tx
        .prepare_cached("SELECT status, total_amount, currency, acquirer_merchant_id FROM orders WHERE id = ?1")?
        .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let (status, total, currency, acquirer_merchant_id) =
        raw.ok_or(StoreError::NotFound { what: "order", key: id.to_string() })?;
    let status = OrderStatus::parse(&status).ok_or(StoreError::Corrupt {
        table: "orders",
        column: "status",
        value: status.clone(),
    })?;
    Ok(OrderRow { status, total_amount: Amount::from_fen(total), currency, acquirer_merchant_id })
}

/// How the acquirer's account of a payment differs from the order, if it does.
pub(crate) fn mismatch(order: &OrderRow, facts: &PaidFacts<'_>) -> Option<Mismatch> {
    if facts.amount != Some(order.total_amount) {
        return Some(Mismatch::Amount { order: order.total_amount, acquirer: facts.amount });
    }
    if let Some(currency) = facts.currency.filter(|c| !c.is_empty())
        && !currency.eq_ignore_ascii_case(&order.currency)
    {
        return Some(Mismatch::Currency { order: order.currency.clone(), acquirer: currency.to_owned() });
    }
    if let (Some(theirs), Some(ours)) = (facts.merchant_id.filter(|m| !m.is_empty()), &order.acquirer_merchant_id)
        && theirs != ours
    {
        return Some(Mismatch::Merchant { order: ours.clone(), acquirer: theirs.to_owned() });
    }
    None
}

fn event(tx: &Transaction<'_>, id: OrderId, now: &str, kind: &str, detail: &str) -> Result<()> {
    tx.prepare_cached("INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id.0, now, kind, detail])?;
    Ok(())
}

/// THE order transition function: every change of `orders.status` is made here.
pub fn move_order(tx: &Transaction<'_>, id: OrderId, m: &OrderMove<'_>) -> Result<OrderMoved> {
    let now = crate::time::now_utc();
    let row = order_row(tx, id)?;
    let from = row.status;
    match order_move(from, m.to, m.by) {
        Verdict::Forbidden => {
            let why = format!("{} (not applied: an order that is {from} cannot become {})", m.detail, m.to);
            event(tx, id, &now, &format!("{}_refused", m.event_kind), why.trim())?;
            tracing::warn!(order = %id, %from, to = %m.to, kind = m.event_kind, "status move refused");
            return Ok(OrderMoved::Refused { from, to: m.to });
        }
        Verdict::Stay => {
            tx.execute("UPDATE orders SET updated_at = ?2 WHERE id = ?1", params![id.0, now])?;
            event(tx, id, &now, m.event_kind, m.detail)?;
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
                        trade_no = COALESCE(?2, trade_no), updated_at = ?3 WHERE id = ?1",
                    params![id.0, m.trade_no, now],
                )?;
            }
            event(tx, id, &now, "mismatch", detail.trim_start_matches(": "))?;
            tracing::warn!(order = %id, %found, "the acquirer's figures differ from the order");
            return Ok(OrderMoved::Mismatch { from, mismatch: found });
        }
    }
    let attention = match m.to {
        OrderStatus::NeedsAttention => Some(m.attention.unwrap_or(Attention::Cancel).as_str()),
        _ => None,
    };
    tx.prepare_cached(
        "UPDATE orders SET status = ?2, trade_no = COALESCE(?3, trade_no), paid_at = COALESCE(?4, paid_at),
            attention = ?5, updated_at = ?6 WHERE id = ?1",
    )?
    .execute(params![id.0, m.to.as_str(), m.trade_no, m.paid_at, attention, now])?;
    event(tx, id, &now, m.event_kind, m.detail)?;
    Ok(OrderMoved::Moved { from, to: m.to })
}

/// What a requested refund move did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundMoved {
    Moved { from: RefundStatus, to: RefundStatus },
    Stayed(RefundStatus),
    Refused { from: RefundStatus, to: RefundStatus },
}

/// THE refund transition function. On the refund's one move into SUCCESS the order's refunded amount grows and the
/// order moves (through [`move_order`]) to PARTIALLY_REFUNDED or REFUNDED, in the same transaction — so a refund
/// confirmed twice (by the desk and the sync worker, or after a crash) counts once.
pub fn move_refund(tx: &Transaction<'_>, id: RefundId, to: RefundStatus, detail: &str) -> Result<RefundMoved> {
    let now = crate::time::now_utc();
    let raw: Option<(String, i64, i64, String, Option<i64>)> = tx
        .query_row(
            "SELECT status, order_id, refund_amount, out_request_no, operator_id FROM refunds WHERE id = ?1",
            [id.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let (status, order_id, amount, out_request_no, operator_id) =
        raw.ok_or(StoreError::NotFound { what: "refund", key: id.to_string() })?;
    let from = RefundStatus::parse(&status).ok_or(StoreError::Corrupt {
        table: "refunds",
        column: "status",
        value: status.clone(),
    })?;
    let order_id = OrderId(order_id);
    match refund_move(from, to) {
        Verdict::Stay => return Ok(RefundMoved::Stayed(from)),
        Verdict::Forbidden => {
            let why = format!("{out_request_no}: {detail} (not applied: a refund that is {from} cannot become {to})");
            event(tx, order_id, &now, "refund_move_refused", &why)?;
            tracing::warn!(refund = %id, %from, %to, "refund status move refused");
            return Ok(RefundMoved::Refused { from, to });
        }
        Verdict::Move => {}
    }
    tx.execute("UPDATE refunds SET status = ?2, updated_at = ?3 WHERE id = ?1", params![id.0, to.as_str(), now])?;
    let kind = match to {
        RefundStatus::Success => "refund_success",
        RefundStatus::Failed => "refund_failed",
        RefundStatus::Processing => "refund_processing",
        RefundStatus::Submitted => "refund_submitted",
    };
    let amount = Amount::from_fen(amount);
    event(tx, order_id, &now, kind, &format!("{out_request_no} {amount}: {detail}"))?;
    append_audit(
        tx,
        &now,
        operator_id.map(OperatorId),
        "refund.status",
        &out_request_no,
        Some(from.as_str()),
        Some(to.as_str()),
    )?;
    if to == RefundStatus::Success {
        let (total, refunded): (i64, i64) =
            tx.query_row("SELECT total_amount, refunded_amount FROM orders WHERE id = ?1", [order_id.0], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let refunded = refunded + amount.fen();
        tx.execute("UPDATE orders SET refunded_amount = ?2 WHERE id = ?1", params![order_id.0, refunded])?;
        let order_to = if refunded >= total { OrderStatus::Refunded } else { OrderStatus::PartiallyRefunded };
        let note = format!("{} of {} refunded", Amount::from_fen(refunded), Amount::from_fen(total));
        move_order(tx, order_id, &OrderMove::to(order_to, "refund_total", &note))?;
    }
    Ok(RefundMoved::Moved { from, to })
}

/// One requested change of an outbox entry.
#[derive(Debug, Clone, Copy)]
pub struct OutboxMove<'a> {
    pub to: OutboxState,
    /// Pending: why this attempt did not get through; Refused: the acquirer's refusal.
    pub error: Option<&'a str>,
    /// Pending: when to try again (UTC).
    pub next_attempt_at: Option<&'a str>,
}

/// THE outbox transition function. Returns the verdict: `Move` when it changed, `Stay`/`Forbidden` when the entry
/// was already final (delivered or refused: a second delivery changes nothing).
pub fn move_outbox(tx: &Transaction<'_>, idempotency_key: &str, m: &OutboxMove<'_>) -> Result<Verdict> {
    let now = crate::time::now_utc();
    let state: Option<String> = tx
        .query_row("SELECT state FROM outbox WHERE idempotency_key = ?1", [idempotency_key], |r| r.get(0))
        .optional()?;
    let Some(state) = state else {
        return Err(StoreError::NotFound { what: "outbox entry", key: idempotency_key.into() });
    };
    let from = match state.as_str() {
        "pending" => OutboxState::Pending,
        "delivered" => OutboxState::Delivered,
        "refused" => OutboxState::Refused,
        _ => return Err(StoreError::Corrupt { table: "outbox", column: "state", value: state }),
    };
    let verdict = outbox_move(from, m.to);
    if verdict != Verdict::Move {
        return Ok(verdict);
    }
    match m.to {
        OutboxState::Pending => tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = COALESCE(?3, next_attempt_at)
             WHERE idempotency_key = ?1",
            params![idempotency_key, m.error, m.next_attempt_at],
        )?,
        OutboxState::Delivered => tx.execute(
            "UPDATE outbox SET state = 'delivered', delivered_at = ?2, attempts = attempts + 1, last_error = NULL
             WHERE idempotency_key = ?1",
            params![idempotency_key, now],
        )?,
        OutboxState::Refused => tx.execute(
            "UPDATE outbox SET state = 'refused', delivered_at = ?2, attempts = attempts + 1, last_error = ?3
             WHERE idempotency_key = ?1",
            params![idempotency_key, now, m.error.map(|e| format!("refused: {e}"))],
        )?,
    };
    Ok(verdict)
}

impl<S: std::ops::DerefMut<Target = Store>> super::Orders<S> {
    /// Moves an order through [`move_order`] in its own IMMEDIATE transaction.
    pub fn move_order(&mut self, id: OrderId, m: &OrderMove<'_>) -> Result<OrderMoved> {
        self.transaction(|tx| move_order(tx, id, m))
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Refunds<S> {
    /// Moves a refund through [`move_refund`] in its own IMMEDIATE transaction.
    pub fn move_refund(&mut self, id: RefundId, to: RefundStatus, detail: &str) -> Result<RefundMoved> {
        self.transaction(|tx| move_refund(tx, id, to, detail))
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::SyncRepo<S> {
    /// Moves an outbox entry through [`move_outbox`] in its own IMMEDIATE transaction.
    pub fn move_outbox(&mut self, idempotency_key: &str, m: &OutboxMove<'_>) -> Result<Verdict> {
        self.transaction(|tx| move_outbox(tx, idempotency_key, m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AcquirerKind;

    fn order_in(store: &mut Store, out: &str, status: OrderStatus) -> OrderId {
        let new = crate::store::orders::NewOrder {
            out_trade_no: out.into(),
            store_id: store.setup_mut().default_store().unwrap(),
            acquirer_id: store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap(),
            operator_id: None,
            subject: "t".into(),
            total_amount: Amount::from_fen(1000),
            auth_code_masked: "28".into(),
            acquirer_merchant_id: None,
            terminal_id: None,
        };
        let order = store.orders_mut().create_order(&new).unwrap();
        store
            .conn
            .execute("UPDATE orders SET status = ?2 WHERE id = ?1", params![order.id.0, status.as_str()])
            .unwrap();
        order.id
    }

    fn status_of(store: &Store, id: OrderId) -> OrderStatus {
        store.orders().order(id).unwrap().unwrap().status
    }

    /// Every move the table forbids, tried through the store: refused, the status and amounts unchanged, and the
    /// refusal on the timeline.
    #[test]
    fn every_forbidden_order_move_is_refused_and_changes_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        let mut n = 0;
        for &from in OrderStatus::ALL {
            for &to in OrderStatus::ALL {
                if order_move(from, to, Authority::Acquirer) != Verdict::Forbidden {
                    continue;
                }
                n += 1;
                let id = order_in(&mut store, &format!("F{n}"), from);
                let facts = PaidFacts { amount: Some(Amount::from_fen(1000)), ..Default::default() };
                let m = OrderMove { facts: Some(facts), ..OrderMove::to(to, "probe", "tried") };
                let moved = store.orders_mut().move_order(id, &m).unwrap();
                assert_eq!(moved, OrderMoved::Refused { from, to }, "{from} → {to}");
                assert_eq!(status_of(&store, id), from, "{from} → {to} changed the status");
                let last = store.orders().order_events(id).unwrap().pop().unwrap();
                assert_eq!(last.kind, "probe_refused");
            }
        }
        assert_eq!(n, 70);
    }

    #[test]
    fn paid_with_the_wrong_amount_or_no_amount_needs_attention() {
        let mut store = Store::open_in_memory().unwrap();
        let id = order_in(&mut store, "A1", OrderStatus::Paying);
        let facts = PaidFacts { amount: Some(Amount::from_fen(99_999_999_999)), ..Default::default() };
        let moved = store.orders_mut().move_order(id, &OrderMove::paid("paid", "", Some("T"), None, facts)).unwrap();
        assert!(matches!(moved, OrderMoved::Mismatch { mismatch: Mismatch::Amount { .. }, .. }), "{moved:?}");
        assert_eq!(status_of(&store, id), OrderStatus::NeedsAttention);
        let id = order_in(&mut store, "A2", OrderStatus::Unknown);
        let moved = store
            .orders_mut()
            .move_order(id, &OrderMove::paid("paid", "", Some("T"), None, PaidFacts::default()))
            .unwrap();
        assert!(matches!(moved, OrderMoved::Mismatch { mismatch: Mismatch::Amount { acquirer: None, .. }, .. }));
    }

    #[test]
    fn a_refund_confirmed_twice_counts_once() {
        let mut store = Store::open_in_memory().unwrap();
        let id = order_in(&mut store, "R1", OrderStatus::Paid);
        let (_, refund) = store.refunds_mut().create_refund("R1", Amount::from_fen(300), "broken cup", None).unwrap();
        store.refunds_mut().set_refund_status(refund.id, RefundStatus::Success, "desk").unwrap();
        store.refunds_mut().set_refund_status(refund.id, RefundStatus::Success, "sync").unwrap();
        assert_eq!(
            store.refunds_mut().move_refund(refund.id, RefundStatus::Processing, "late").unwrap(),
            RefundMoved::Refused { from: RefundStatus::Success, to: RefundStatus::Processing }
        );
        let order = store.orders().order(id).unwrap().unwrap();
        assert_eq!((order.refunded_amount, order.status), (Amount::from_fen(300), OrderStatus::PartiallyRefunded));
        let (_, rest) = store.refunds_mut().create_refund("R1", Amount::from_fen(700), "the rest", None).unwrap();
        store.refunds_mut().set_refund_status(rest.id, RefundStatus::Success, "desk").unwrap();
        assert_eq!(status_of(&store, id), OrderStatus::Refunded);
    }

    #[test]
    fn a_final_outbox_entry_stays_final() {
        let mut store = Store::open_in_memory().unwrap();
        store.sync_mut().enqueue_outbox("cancel", "cancel:X", "{}").unwrap();
        let refused = OutboxMove { to: OutboxState::Refused, error: Some("no"), next_attempt_at: None };
        assert_eq!(store.sync_mut().move_outbox("cancel:X", &refused).unwrap(), Verdict::Move);
        let delivered = OutboxMove { to: OutboxState::Delivered, error: None, next_attempt_at: None };
        assert_eq!(store.sync_mut().move_outbox("cancel:X", &delivered).unwrap(), Verdict::Forbidden);
        let later = OutboxMove { to: OutboxState::Pending, error: Some("x"), next_attempt_at: None };
        assert_eq!(store.sync_mut().move_outbox("cancel:X", &later).unwrap(), Verdict::Forbidden);
        assert_eq!(store.sync().outbox_len().unwrap(), 0);
    }
}
