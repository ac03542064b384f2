//! Orders, their event timeline, and the outbox entries checkout leaves for the sync worker.

use rusqlite::{OptionalExtension, Row, params};

use super::{Result, Store, StoreError};
use crate::model::{
    AcquirerId, AcquirerKind, ChannelMode, OperatorId, Order, OrderId, OrderSource, OrderStatus, StoreId,
};
use crate::money::{Amount, Currency};

/// A new order, written as PAYING before anything is sent (write-ahead).
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub out_trade_no: String,
    pub store_id: StoreId,
    pub acquirer_id: AcquirerId,
    pub operator_id: Option<OperatorId>,
    pub subject: String,
    pub total_amount: Amount,
    pub auth_code_masked: String,
    /// The store's merchant id at the acquirer the route chose (None: the account itself).
    pub acquirer_merchant_id: Option<String>,
    /// This till's terminal id, when set.
    pub terminal_id: Option<String>,
}

/// One line of an order's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    pub at: String,
    pub kind: String,
    pub detail: String,
}

pub(super) const ORDER_COLUMNS: &str = "id, out_trade_no, trade_no, store_id, acquirer_id, operator_id, source, subject, \
     total_amount, currency, refunded_amount, status, auth_code_masked, created_at, paid_at, acquirer_merchant_id, \
     terminal_id";

pub(super) fn order_from_row(r: &Row<'_>) -> rusqlite::Result<(Order, String, String, String)> {
    Ok((
        Order {
            id: OrderId(r.get(0)?),
            out_trade_no: r.get(1)?,
            trade_no: r.get(2)?,
            store_id: StoreId(r.get(3)?),
            acquirer_id: AcquirerId(r.get(4)?),
            operator_id: r.get::<_, Option<i64>>(5)?.map(OperatorId),
            source: OrderSource::Barcode,
            subject: r.get(7)?,
            total_amount: Amount::from_fen(r.get(8)?),
            currency: Currency::CNY,
            refunded_amount: Amount::from_fen(r.get(10)?),
            status: OrderStatus::Paying,
            auth_code_masked: r.get(12)?,
            created_at: r.get(13)?,
            paid_at: r.get(14)?,
            acquirer_merchant_id: r.get(15)?,
            terminal_id: r.get(16)?,
        },
        r.get(6)?,
        r.get(9)?,
        r.get(11)?,
    ))
}

/// Turns the stored spellings into typed values, refusing what this version does not know.
pub(super) fn typed(raw: (Order, String, String, String)) -> Result<Order> {
    let (mut order, source, currency, status) = raw;
    order.source = OrderSource::parse(&source).ok_or(StoreError::Corrupt {
        table: "orders",
        column: "source",
        value: source.clone(),
    })?;
    order.currency = Currency::from_code(&currency).ok_or(StoreError::Corrupt {
        table: "orders",
        column: "currency",
        value: currency.clone(),
    })?;
    order.status = OrderStatus::parse(&status).ok_or(StoreError::Corrupt {
        table: "orders",
        column: "status",
        value: status.clone(),
    })?;
    Ok(order)
}

impl<S: std::ops::Deref<Target = Store>> super::Orders<S> {
    pub fn order(&self, id: OrderId) -> Result<Option<Order>> {
        let raw = self
            .conn
            .prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1"))?
            .query_row([id.0], order_from_row)
            .optional()?;
        raw.map(typed).transpose()
    }

    pub fn order_by_out_trade_no(&self, out_trade_no: &str) -> Result<Option<Order>> {
        let raw = self
            .conn
            .prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE out_trade_no = ?1"))?
            .query_row([out_trade_no], order_from_row)
            .optional()?;
        raw.map(typed).transpose()
    }

    pub fn order_events(&self, id: OrderId) -> Result<Vec<OrderEvent>> {
        let mut stmt =
            self.conn.prepare("SELECT at, kind, detail FROM order_events WHERE order_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([id.0], |r| Ok(OrderEvent { at: r.get(0)?, kind: r.get(1)?, detail: r.get(2)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The orders taken here (not copied from a merchant backend) with ids in (`after`, `upto`], oldest first, at most
    /// `limit` (a till's history, sent up to the merchant backend it joined in pages).
    pub fn own_orders_in_id_range(&self, after: i64, upto: i64, limit: u32) -> Result<Vec<Order>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE id > ?1 AND id <= ?2
               AND id NOT IN (SELECT order_id FROM pulled_orders) ORDER BY id LIMIT ?3"
        ))?;
        let rows = stmt.query_map(rusqlite::params![after, upto, limit], order_from_row)?;
        rows.map(|r| typed(r?)).collect()
    }

    /// How many orders taken here (not copied from a merchant backend) have ids in (`after`, `upto`].
    pub fn count_own_in_id_range(&self, after: i64, upto: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM orders WHERE id > ?1 AND id <= ?2 AND id NOT IN (SELECT order_id FROM pulled_orders)",
            [after, upto],
            |r| r.get(0),
        )?)
    }

    /// The highest order id (0 with no order).
    pub fn last_order_id(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(id), 0) FROM orders", [], |r| r.get(0))?)
    }

    /// Orders whose outcome is still open, oldest first (crash recovery resumes them). An order whose figures did not
    /// match the acquirer's waits for a person and is not among them.
    pub fn unfinished_orders(&self) -> Result<Vec<Order>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders
             WHERE status IN ('PAYING', 'UNKNOWN', 'CANCELLING', 'NEEDS_ATTENTION')
               AND COALESCE(attention, '') <> 'mismatch' ORDER BY id"
        ))?;
        let rows = stmt.query_map([], order_from_row)?;
        rows.map(|r| typed(r?)).collect()
    }

    /// The newest orders by creation time, for the checkout screen's side list (orders adopted from a bill or
    /// seeded may have later ids than newer ones, so id order is not time order).
    pub fn recent_orders(&self, limit: u32) -> Result<Vec<Order>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {ORDER_COLUMNS} FROM orders ORDER BY created_at DESC, id DESC LIMIT ?1"))?;
        let rows = stmt.query_map([limit], order_from_row)?;
        rows.map(|r| typed(r?)).collect()
    }
}

impl<S: std::ops::Deref<Target = Store>> super::Setup<S> {
    /// The merchant's own number for a store (sent as `store_id` to the acquirers).
    pub fn store_code(&self, id: StoreId) -> Result<String> {
        Ok(self.conn.prepare_cached("SELECT store_code FROM stores WHERE id = ?1")?.query_row([id.0], |r| r.get(0))?)
    }
}

impl<S: std::ops::Deref<Target = Store>> super::SyncRepo<S> {
    /// Outbox entries not yet delivered: (kind, idempotency_key, payload).
    pub fn pending_outbox(&self) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, idempotency_key, payload FROM outbox WHERE delivered_at IS NULL ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Orders<S> {
    /// Writes the order as PAYING with its "created" event, in one transaction, before the first byte goes out.
    pub fn create_order(&mut self, new: &NewOrder) -> Result<Order> {
        let now = crate::time::now_utc();
        let id = self.transaction(|tx| {
            tx.prepare_cached(
                "INSERT INTO orders (out_trade_no, store_id, acquirer_id, operator_id, source, subject, total_amount,
                    currency, status, auth_code_masked, created_at, updated_at, acquirer_merchant_id, terminal_id)
                 VALUES (?1, ?2, ?3, ?4, 'barcode', ?5, ?6, 'CNY', 'PAYING', ?7, ?8, ?8, ?9, ?10)",
            )?
            .execute(params![
                new.out_trade_no,
                new.store_id.0,
                new.acquirer_id.0,
                new.operator_id.map(|o| o.0),
                new.subject,
                new.total_amount.fen(),
                new.auth_code_masked,
                now,
                new.acquirer_merchant_id,
                new.terminal_id,
            ])?;
            let id = tx.last_insert_rowid();
            tx.prepare_cached("INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, 'created', ?3)")?
                .execute(params![id, now, format!("{} {}", new.total_amount, new.auth_code_masked)])?;
            Ok(id)
        })?;
        self.order(OrderId(id))?.ok_or(StoreError::NotFound { what: "order", key: id.to_string() })
    }

    /// Records a step on the order's timeline without changing its status.
    pub fn add_order_event(&mut self, id: OrderId, kind: &str, detail: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
            params![id.0, crate::time::now_utc(), kind, detail],
        )?;
        Ok(())
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Setup<S> {
    /// The store a till charges for when none is chosen: the first store, creating a demo merchant and store on a
    /// fresh install so the sandbox works out of the box.
    pub fn default_store(&mut self) -> Result<StoreId> {
        if let Some(id) =
            self.conn.query_row("SELECT id FROM stores ORDER BY id LIMIT 1", [], |r| r.get(0)).optional()?
        {
            return Ok(StoreId(id));
        }
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO merchants (legal_name, display_name, display_name_zh, mcc, country, city, currency, created_at)
                 VALUES ('TillDesk 演示商户', 'TILLDESK DEMO', '演示商户', '5812', 'CN', 'SHANGHAI', 'CNY', ?1)",
                [&now],
            )?;
            let merchant = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO stores (merchant_id, store_code, name, name_zh, created_at)
                 VALUES (?1, 'S001', 'Demo Store', '演示门店', ?2)",
                params![merchant, now],
            )?;
            let id = tx.last_insert_rowid();
            super::append_audit(tx, &now, None, "store.create", "S001", None, Some("demo store for the sandbox"))?;
            Ok(StoreId(id))
        })
    }

    /// The acquirer row checkout records orders against for a protocol, created (sandbox mode) when missing.
    pub fn acquirer_for(&mut self, kind: AcquirerKind) -> Result<AcquirerId> {
        if let Some(id) = self
            .conn
            .query_row("SELECT id FROM acquirers WHERE kind = ?1 ORDER BY id LIMIT 1", [kind.as_str()], |r| r.get(0))
            .optional()?
        {
            return Ok(AcquirerId(id));
        }
        // The same names onboarding gives the sandbox's acquirers, so either may create the row first.
        let name = match kind {
            AcquirerKind::Alipay => "Alipay (sandbox)",
            AcquirerKind::WechatPay => "WeChat Pay (sandbox)",
            AcquirerKind::AlipayPlus => "Alipay+ partner acquirer (sandbox)",
        };
        self.add_acquirer(kind, name, ChannelMode::Sandbox, "", None)
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::SyncRepo<S> {
    /// Leaves work for the sync worker (exactly once per idempotency key).
    pub fn enqueue_outbox(&mut self, kind: &str, idempotency_key: &str, payload: &str) -> Result<()> {
        let now = crate::time::now_utc();
        self.conn.execute(
            "INSERT INTO outbox (kind, idempotency_key, payload, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(idempotency_key) DO NOTHING",
            params![kind, idempotency_key, payload, now],
        )?;
        Ok(())
    }

    /// The acquirer confirmed an outbox entry's work: it is delivered (through the outbox transition function); an
    /// entry that does not exist or is already final changes nothing.
    pub fn mark_outbox_delivered(&mut self, idempotency_key: &str) -> Result<()> {
        let delivered = super::transitions::OutboxMove {
            to: crate::lifecycle::OutboxState::Delivered,
            error: None,
            next_attempt_at: None,
        };
        self.transaction(|tx| match super::transitions::move_outbox(tx, idempotency_key, &delivered) {
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_order(store: &mut Store, out: &str) -> NewOrder {
        NewOrder {
            out_trade_no: out.into(),
            store_id: store.setup_mut().default_store().unwrap(),
            acquirer_id: store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap(),
            operator_id: None,
            subject: "咖啡".into(),
            total_amount: Amount::from_fen(1234),
            auth_code_masked: "280000******0000".into(),
            acquirer_merchant_id: None,
            terminal_id: None,
        }
    }

    #[test]
    fn an_order_is_written_ahead_with_its_timeline() {
        let mut store = Store::open_in_memory().unwrap();
        let new = new_order(&mut store, "T1");
        let order = store.orders_mut().create_order(&new).unwrap();
        assert_eq!(order.status, OrderStatus::Paying);
        assert!(store.orders_mut().create_order(&new).is_err(), "out_trade_no is unique");
        let facts = crate::store::transitions::PaidFacts { amount: Some(order.total_amount), ..Default::default() };
        let paid = crate::store::transitions::OrderMove::paid("paid", "", Some("2026"), Some("now"), facts);
        store.orders_mut().move_order(order.id, &paid).unwrap();
        let paid = store.orders().order(order.id).unwrap().unwrap();
        assert_eq!((paid.status, paid.trade_no.as_deref()), (OrderStatus::Paid, Some("2026")));
        let kinds: Vec<String> = store.orders().order_events(order.id).unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["created", "paid"]);
        assert!(store.orders().unfinished_orders().unwrap().is_empty());
    }

    #[test]
    fn defaults_are_created_once() {
        let mut store = Store::open_in_memory().unwrap();
        let a = store.setup_mut().default_store().unwrap();
        assert_eq!(store.setup_mut().default_store().unwrap(), a);
        let w = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
        assert_eq!(store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap(), w);
    }
}
