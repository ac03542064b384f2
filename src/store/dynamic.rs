//! Dynamic-code orders (主扫): the order row written ahead with its `dynamic_codes` row, in one transaction, and the
//! code the acquirer made for it. Status changes go through [`Orders::move_order`] like every order's.

use rusqlite::{OptionalExtension, params};

use super::orders::NewOrder;
use super::{Result, Store, StoreError};
use crate::model::{Order, OrderId, Wallet};

/// What makes an order a dynamic-code order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicCodeRow {
    pub order_id: OrderId,
    pub wallet: Wallet,
    /// The code the acquirer made (None until it answered).
    pub code_text: Option<String>,
    /// UTC, RFC 3339: the code stops being payable then.
    pub expires_at: String,
}

impl<S: std::ops::Deref<Target = Store>> super::Orders<S> {
    /// The dynamic-code row of an order; None for any other order.
    pub fn dynamic_code(&self, id: OrderId) -> Result<Option<DynamicCodeRow>> {
        let row = self
            .conn
            .query_row("SELECT wallet, code_text, expires_at FROM dynamic_codes WHERE order_id = ?1", [id.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?))
            })
            .optional()?;
        let Some((wallet, code_text, expires_at)) = row else { return Ok(None) };
        let wallet = Wallet::parse(&wallet).ok_or(StoreError::Corrupt {
            table: "dynamic_codes",
            column: "wallet",
            value: wallet.clone(),
        })?;
        Ok(Some(DynamicCodeRow { order_id: id, wallet, code_text, expires_at }))
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Orders<S> {
    /// Writes a dynamic-code order as PAYING with its `dynamic_codes` row and "created" event, in one transaction,
    /// before anything is sent to the acquirer.
    pub fn create_dynamic_order(&mut self, new: &NewOrder, wallet: Wallet, expires_at: &str) -> Result<Order> {
        let now = crate::time::now_utc();
        let id = self.transaction(|tx| {
            tx.prepare_cached(
                "INSERT INTO orders (out_trade_no, store_id, acquirer_id, operator_id, source, subject, total_amount,
                    currency, status, auth_code_masked, created_at, updated_at, acquirer_merchant_id, terminal_id)
                 VALUES (?1, ?2, ?3, ?4, 'barcode', ?5, ?6, 'CNY', 'PAYING', NULL, ?7, ?7, ?8, ?9)",
            )?
            .execute(params![
                new.out_trade_no,
                new.store_id.0,
                new.acquirer_id.0,
                new.operator_id.map(|o| o.0),
                new.subject,
                new.total_amount.fen(),
                now,
                new.acquirer_merchant_id,
                new.terminal_id,
            ])?;
            let id = tx.last_insert_rowid();
            tx.prepare_cached(
                "INSERT INTO dynamic_codes (order_id, wallet, code_text, expires_at, created_at)
                 VALUES (?1, ?2, NULL, ?3, ?4)",
            )?
            .execute(params![id, wallet.as_str(), expires_at, now])?;
            let detail = format!("{} dynamic code ({}), valid until {expires_at}", new.total_amount, wallet.as_str());
            tx.prepare_cached("INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, 'created', ?3)")?
                .execute(params![id, now, detail])?;
            Ok(id)
        })?;
        self.order(OrderId(id))?.ok_or(StoreError::NotFound { what: "order", key: new.out_trade_no.clone() })
    }

    /// Records the code the acquirer made. A code once recorded is never replaced (the same order number always
    /// shows the same code); returns the code on record.
    pub fn set_dynamic_code(&mut self, id: OrderId, code: &str) -> Result<String> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let changed = tx.execute(
                "UPDATE dynamic_codes SET code_text = ?2 WHERE order_id = ?1 AND code_text IS NULL",
                params![id.0, code],
            )?;
            if changed > 0 {
                tx.execute(
                    "INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, 'code_shown', ?3)",
                    params![id.0, now, "the acquirer made the code; shown to the customer"],
                )?;
            }
            let kept: Option<String> = tx
                .query_row("SELECT code_text FROM dynamic_codes WHERE order_id = ?1", [id.0], |r| r.get(0))
                .optional()?
                .flatten();
            kept.ok_or(StoreError::NotFound { what: "dynamic code", key: id.0.to_string() })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OrderStatus;
    use crate::money::Amount;

    #[test]
    fn a_dynamic_order_is_written_ahead_and_keeps_its_first_code() {
        let mut store = Store::open_in_memory().unwrap();
        let acquirer = crate::onboarding::ensure_sandbox_acquirers(&mut store).unwrap()[0].acquirer.id;
        let new = NewOrder {
            out_trade_no: "TDDYN1".into(),
            store_id: store.setup_mut().default_store().unwrap(),
            acquirer_id: acquirer,
            operator_id: None,
            subject: "咖啡".into(),
            total_amount: Amount::from_fen(1234),
            auth_code_masked: String::new(),
            acquirer_merchant_id: None,
            terminal_id: None,
        };
        let order = store.orders_mut().create_dynamic_order(&new, Wallet::WechatPay, "2026-12-05T10:05:00Z").unwrap();
        assert_eq!(order.status, OrderStatus::Paying);
        assert_eq!(order.auth_code_masked, None);
        let row = store.orders().dynamic_code(order.id).unwrap().unwrap();
        assert_eq!((row.wallet, row.code_text.as_deref()), (Wallet::WechatPay, None));
        assert_eq!(
            store.orders_mut().set_dynamic_code(order.id, "weixin://wxpay/bizpayurl?pr=A").unwrap(),
            "weixin://wxpay/bizpayurl?pr=A"
        );
        assert_eq!(
            store.orders_mut().set_dynamic_code(order.id, "weixin://other").unwrap(),
            "weixin://wxpay/bizpayurl?pr=A"
        );
    }
}
