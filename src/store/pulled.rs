//! A till enrolled with a merchant backend keeps a copy of its store's orders: the orders other tills of the store
//! took, store-code payments the backend was notified of, and what the backend learnt about this till's own orders
//! (a cancel its worker confirmed, a refund made at another till). This file writes what the sync worker pulled.
//!
//! Only settled facts are copied: an order still in flight at another till (PAYING, UNKNOWN, CANCELLING,
//! NEEDS_ATTENTION) is not written, so this till's recovery never touches another till's payment; it comes with
//! its next change. Refunds likewise come once SUCCESS or FAILED. Every status change goes through
//! `store::transitions`, so a fact this till already had changes nothing, and a refund counts once.

use rusqlite::{OptionalExtension, params};

use super::transitions::{self, OrderMove, PaidFacts};
use super::{Result, Store};
use crate::model::{AcquirerId, OrderId, OrderSource, OrderStatus, RefundId, RefundStatus, StoreId};
use crate::money::Amount;

/// One order as the backend has it, with the till's own store and acquirer ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledOrder {
    pub out_trade_no: String,
    pub trade_no: Option<String>,
    pub store_id: StoreId,
    pub acquirer_id: AcquirerId,
    pub source: OrderSource,
    pub subject: String,
    pub total_amount: Amount,
    pub status: OrderStatus,
    pub auth_code_masked: Option<String>,
    /// UTC.
    pub created_at: String,
    pub paid_at: Option<String>,
    pub acquirer_merchant_id: Option<String>,
    pub terminal_id: Option<String>,
    pub refunds: Vec<PulledRefund>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledRefund {
    pub out_request_no: String,
    pub refund_amount: Amount,
    pub reason: String,
    pub status: RefundStatus,
    pub created_at: String,
}

/// What one pulled order did to the till's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pulled {
    /// A new order (another till's, or a store-code payment).
    New,
    /// A status or refund changed.
    Updated,
    /// Nothing new, or not settled yet.
    Unchanged,
}

/// An order that holds (or held) money: paid, or refunded in part or in full.
pub fn is_paid_family(s: OrderStatus) -> bool {
    matches!(s, OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded)
}

/// Settled: nothing more happens to it but refunds.
pub fn is_settled(s: OrderStatus) -> bool {
    is_paid_family(s) || matches!(s, OrderStatus::Closed | OrderStatus::Cancelled | OrderStatus::Failed)
}

impl<S: std::ops::DerefMut<Target = Store>> super::Orders<S> {
    /// Writes one pulled order in one IMMEDIATE transaction (see the module doc).
    pub fn apply_pulled_order(&mut self, p: &PulledOrder) -> Result<Pulled> {
        if !is_settled(p.status) {
            return Ok(Pulled::Unchanged);
        }
        self.transaction(|tx| {
            let (pulled, id) = apply_in(tx, p, "pulled", "at the merchant backend")?;
            if pulled == Pulled::New {
                tx.execute("INSERT OR IGNORE INTO pulled_orders (order_id) VALUES (?1)", [id.0])?;
            }
            Ok(pulled)
        })
    }

    /// A till's order from before it joined, sent up to the backend this store is (`till`): written as
    /// [`apply_pulled_order`](Self::apply_pulled_order) writes an order, marked as that till's history, in one
    /// transaction. Nothing is written when the order is not settled or its out_trade_no is already here (as history,
    /// or as an order this backend took itself).
    pub fn record_history_order(
        &mut self,
        till: crate::store::serve::TillId,
        p: &PulledOrder,
    ) -> Result<HistoryRecord> {
        if !is_settled(p.status) {
            return Ok(HistoryRecord::NotSettled);
        }
        self.transaction(|tx| {
            // Here already: as history (sent before), or as an order this backend took itself.
            let known: Option<bool> = tx
                .query_row(
                    "SELECT h.order_id IS NOT NULL FROM orders o
                     LEFT JOIN backend_history_orders h ON h.order_id = o.id WHERE o.out_trade_no = ?1",
                    [&p.out_trade_no],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(history) = known {
                return Ok(if history { HistoryRecord::Known } else { HistoryRecord::Held });
            }
            let (_, id) = apply_in(tx, p, "history", &format!("taken at till #{till} before it joined the backend"))?;
            let now = crate::time::now_utc();
            tx.execute("INSERT INTO backend_order_tills (order_id, till_id) VALUES (?1, ?2)", params![id.0, till.0])?;
            tx.execute(
                "INSERT INTO backend_history_orders (order_id, till_id, received_at) VALUES (?1, ?2, ?3)",
                params![id.0, till.0, now],
            )?;
            Ok(HistoryRecord::Recorded)
        })
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Orders<S> {
    /// Forgets what a merchant backend answered for this till's history (joining one, all of it goes up again).
    pub fn forget_history_answers(&mut self) -> Result<()> {
        self.conn.execute("DELETE FROM history_answers", [])?;
        Ok(())
    }

    /// Keeps what the merchant backend answered for orders of this till's history (`out_trade_no`, outcome word,
    /// detail), in one transaction.
    pub fn record_history_answers(&mut self, answers: &[(String, &str, String)]) -> Result<()> {
        self.transaction(|tx| {
            let now = crate::time::now_utc();
            for (out_trade_no, outcome, detail) in answers {
                tx.execute(
                    "INSERT OR REPLACE INTO history_answers (order_id, outcome, detail, answered_at)
                     SELECT id, ?2, ?3, ?4 FROM orders WHERE out_trade_no = ?1",
                    params![out_trade_no, outcome, detail, now],
                )?;
            }
            Ok(())
        })
    }
}

/// What recording one order of a till's history did at the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryRecord {
    /// Written now.
    Recorded,
    /// Here already as history (sent before).
    Known,
    /// Here already as an order the backend took itself (nothing written).
    Held,
    /// Not settled: not written.
    NotSettled,
}

impl<S: std::ops::Deref<Target = Store>> super::Orders<S> {
    /// Whether this till copied the order from a merchant backend (another till's, or a store-code payment it was
    /// notified of) rather than taking it itself.
    pub fn is_pulled(&self, id: OrderId) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM pulled_orders WHERE order_id = ?1", [id.0], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// How many orders of this till's history the merchant backend did not record (kept here only).
    pub fn history_kept(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM history_answers WHERE outcome IN ('not_settled', 'no_account', 'invalid')",
            [],
            |r| r.get(0),
        )?)
    }

    /// What the merchant backend answered for the order when it went up as this till's history (its outcome word,
    /// `recorded`, `known`, `held`…), None when it has not gone up.
    pub fn history_answer(&self, id: OrderId) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT outcome FROM history_answers WHERE order_id = ?1", [id.0], |r| r.get(0))
            .optional()?)
    }

    /// Whether the order is a till's history, sent up to this backend (see `record_history_order`).
    pub fn is_history_order(&self, id: OrderId) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM backend_history_orders WHERE order_id = ?1", [id.0], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

/// Writes `p` (settled) inside `tx`: a new order with the event `kind` ("… `detail`"), or the existing one moved to
/// its status; then its settled refunds.
fn apply_in(tx: &rusqlite::Transaction<'_>, p: &PulledOrder, kind: &str, detail: &str) -> Result<(Pulled, OrderId)> {
    let now = crate::time::now_utc();
    let existing: Option<(i64, String)> = tx
        .query_row("SELECT id, status FROM orders WHERE out_trade_no = ?1", [&p.out_trade_no], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let mut changed = false;
    let (id, new) = match existing {
        None => {
            // Paid-family orders start PAID: their refunds below move them on, counting each once.
            let status = if is_paid_family(p.status) { OrderStatus::Paid } else { p.status };
            tx.execute(
                "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, source, subject,
                    total_amount, currency, status, auth_code_masked, created_at, paid_at, updated_at,
                    acquirer_merchant_id, terminal_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'CNY', ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    p.out_trade_no,
                    p.trade_no,
                    p.store_id.0,
                    p.acquirer_id.0,
                    p.source.as_str(),
                    p.subject,
                    p.total_amount.fen(),
                    status.as_str(),
                    p.auth_code_masked,
                    p.created_at,
                    p.paid_at,
                    now,
                    p.acquirer_merchant_id,
                    p.terminal_id,
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
                params![id, now, kind, format!("{status} {detail}, {}", p.total_amount)],
            )?;
            (OrderId(id), true)
        }
        Some((id, status)) => {
            let id = OrderId(id);
            let local = OrderStatus::parse(&status).unwrap_or(OrderStatus::Unknown);
            changed |= settle_local(tx, id, local, p)?;
            (id, false)
        }
    };
    for r in p.refunds.iter().filter(|r| matches!(r.status, RefundStatus::Success | RefundStatus::Failed)) {
        changed |= apply_refund(tx, id, r, &now)?;
    }
    let pulled = if new {
        Pulled::New
    } else if changed {
        Pulled::Updated
    } else {
        Pulled::Unchanged
    };
    Ok((pulled, id))
}

/// Moves the till's own copy of an order to the backend's settled status (through the transition function).
fn settle_local(tx: &rusqlite::Transaction<'_>, id: OrderId, local: OrderStatus, p: &PulledOrder) -> Result<bool> {
    if local == p.status || (is_paid_family(local) && is_paid_family(p.status)) {
        return Ok(false);
    }
    let detail = "as the merchant backend has it";
    let moved = if is_paid_family(p.status) {
        let facts = PaidFacts { amount: Some(p.total_amount), ..PaidFacts::default() };
        let paid = OrderMove::paid("pulled_paid", detail, p.trade_no.as_deref(), p.paid_at.as_deref(), facts);
        transitions::move_order(tx, id, &paid)?
    } else {
        if p.status == OrderStatus::Cancelled && matches!(local, OrderStatus::Paying | OrderStatus::Unknown) {
            transitions::move_order(tx, id, &OrderMove::to(OrderStatus::Cancelling, "pulled_cancel", detail))?;
        }
        transitions::move_order(tx, id, &OrderMove::to(p.status, "pulled", detail))?
    };
    Ok(matches!(moved, transitions::OrderMoved::Moved { .. }))
}

/// Writes a settled refund the till does not have (SUBMITTED, then moved to its status through the transition
/// function, which counts its money once), or moves the till's own copy to the backend's status.
fn apply_refund(tx: &rusqlite::Transaction<'_>, order: OrderId, r: &PulledRefund, now: &str) -> Result<bool> {
    let existing: Option<(i64, String)> = tx
        .query_row("SELECT id, status FROM refunds WHERE out_request_no = ?1", [&r.out_request_no], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let id = match existing {
        Some((_, status)) if status == r.status.as_str() => return Ok(false),
        Some((id, _)) => RefundId(id),
        None => {
            tx.execute(
                "INSERT INTO refunds (order_id, out_request_no, refund_amount, reason, status, operator_id,
                    created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'SUBMITTED', NULL, ?5, ?6)",
                params![order.0, r.out_request_no, r.refund_amount.fen(), r.reason, r.created_at, now],
            )?;
            RefundId(tx.last_insert_rowid())
        }
    };
    let moved = transitions::move_refund(tx, id, r.status, "as the merchant backend has it")?;
    Ok(matches!(moved, transitions::RefundMoved::Moved { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AcquirerKind, ChannelMode};

    fn pulled(store: &mut Store, no: &str, status: OrderStatus) -> PulledOrder {
        let shop = store.setup_mut().default_store().unwrap();
        let acquirer = store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap();
        PulledOrder {
            out_trade_no: no.into(),
            trade_no: Some(format!("T{no}")),
            store_id: shop,
            acquirer_id: acquirer,
            source: OrderSource::Barcode,
            subject: "s".into(),
            total_amount: Amount::from_fen(1000),
            status,
            auth_code_masked: None,
            created_at: crate::time::now_utc(),
            paid_at: Some(crate::time::now_utc()),
            acquirer_merchant_id: None,
            terminal_id: Some("T2".into()),
            refunds: Vec::new(),
        }
    }

    fn refund(no: &str, fen: i64, status: RefundStatus) -> PulledRefund {
        PulledRefund {
            out_request_no: no.into(),
            refund_amount: Amount::from_fen(fen),
            reason: "r".into(),
            status,
            created_at: crate::time::now_utc(),
        }
    }

    #[test]
    fn another_tills_paid_order_arrives_with_its_refunds_counted_once() {
        let mut store = Store::open_in_memory().unwrap();
        store.setup_mut().add_acquirer(AcquirerKind::Alipay, "Alipay", ChannelMode::Sandbox, "", None).unwrap();
        let mut p = pulled(&mut store, "TD1", OrderStatus::PartiallyRefunded);
        p.refunds = vec![refund("TD1-R1", 300, RefundStatus::Success), refund("TD1-R2", 100, RefundStatus::Processing)];
        assert_eq!(store.orders_mut().apply_pulled_order(&p).unwrap(), Pulled::New);
        let order = store.orders().order_by_out_trade_no("TD1").unwrap().unwrap();
        assert_eq!((order.status, order.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 300));
        assert!(store.refunds().refund_by_out_request_no("TD1-R2").unwrap().is_none(), "in progress: not copied");
        assert_eq!(store.orders_mut().apply_pulled_order(&p).unwrap(), Pulled::Unchanged);
        assert_eq!(store.orders().order_by_out_trade_no("TD1").unwrap().unwrap().refunded_amount.fen(), 300);

        p.status = OrderStatus::Refunded;
        p.refunds[1] = refund("TD1-R2", 700, RefundStatus::Success);
        assert_eq!(store.orders_mut().apply_pulled_order(&p).unwrap(), Pulled::Updated);
        let order = store.orders().order_by_out_trade_no("TD1").unwrap().unwrap();
        assert_eq!((order.status, order.refunded_amount.fen()), (OrderStatus::Refunded, 1000));
    }

    #[test]
    fn unsettled_orders_are_not_copied_and_own_orders_move_forward_only() {
        let mut store = Store::open_in_memory().unwrap();
        store.setup_mut().add_acquirer(AcquirerKind::Alipay, "Alipay", ChannelMode::Sandbox, "", None).unwrap();
        let paying = pulled(&mut store, "TD2", OrderStatus::Paying);
        assert_eq!(store.orders_mut().apply_pulled_order(&paying).unwrap(), Pulled::Unchanged);
        assert!(store.orders().order_by_out_trade_no("TD2").unwrap().is_none());

        // This till's own order, still PAYING here, was cancelled by the backend's worker.
        let new = crate::store::orders::NewOrder {
            out_trade_no: "TD3".into(),
            store_id: paying.store_id,
            acquirer_id: paying.acquirer_id,
            operator_id: None,
            subject: "s".into(),
            total_amount: Amount::from_fen(1000),
            auth_code_masked: "x".into(),
            acquirer_merchant_id: None,
            terminal_id: None,
        };
        store.orders_mut().create_order(&new).unwrap();
        let cancelled = pulled(&mut store, "TD3", OrderStatus::Cancelled);
        assert_eq!(store.orders_mut().apply_pulled_order(&cancelled).unwrap(), Pulled::Updated);
        assert_eq!(store.orders().order_by_out_trade_no("TD3").unwrap().unwrap().status, OrderStatus::Cancelled);
        // A paid copy cannot undo a cancel: refused by the transition table, nothing changes.
        let paid = pulled(&mut store, "TD3", OrderStatus::Paid);
        assert_eq!(store.orders_mut().apply_pulled_order(&paid).unwrap(), Pulled::Unchanged);
        assert_eq!(store.orders().order_by_out_trade_no("TD3").unwrap().unwrap().status, OrderStatus::Cancelled);

        // Copied orders are told apart from the till's own (moved by a pulled fact or not), and the migration that
        // added the mark finds the same ones from their first event.
        let other = pulled(&mut store, "TD4", OrderStatus::Paid);
        assert_eq!(store.orders_mut().apply_pulled_order(&other).unwrap(), Pulled::New);
        let id = |store: &Store, no: &str| store.orders().order_by_out_trade_no(no).unwrap().unwrap().id;
        let (own, copied) = (id(&store, "TD3"), id(&store, "TD4"));
        assert!(store.orders().is_pulled(copied).unwrap());
        assert!(!store.orders().is_pulled(own).unwrap());
        assert_eq!(store.orders().count_own_in_id_range(0, copied.0).unwrap(), 1);
        let own_ids: Vec<_> =
            store.orders().own_orders_in_id_range(0, copied.0, 10).unwrap().into_iter().map(|o| o.id).collect();
        assert_eq!(own_ids, [own]);
        let migration = include_str!("migrations/0024_till_history.sql");
        let backfill = &migration[migration.find("INSERT INTO pulled_orders").unwrap()..];
        let backfill = &backfill[..=backfill.find(';').unwrap()];
        store.transaction(|tx| Ok(tx.execute_batch(&format!("DELETE FROM pulled_orders; {backfill}"))?)).unwrap();
        assert!(store.orders().is_pulled(copied).unwrap());
        assert!(!store.orders().is_pulled(own).unwrap());
    }
}
