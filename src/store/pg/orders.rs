//! The tills' orders and refunds on PostgreSQL: write-ahead under the UNIQUE out_trade_no / out_request_no (a retry,
//! on any instance, finds the first write), the numbers a till cancelled before their payment arrived, the timelines
//! and the order feed.

use tokio_postgres::Row;

use super::moves::event;
use super::{PgError, PgStore, Result, audit, utc, utc_opt};
use crate::model::{
    AcquirerId, OperatorId, Order, OrderId, OrderSource, OrderStatus, Refund, RefundId, RefundStatus, Wallet,
};
use crate::money::{Amount, Currency};
use crate::store::dynamic::DynamicCodeRow;
use crate::store::orders::{NewOrder, OrderEvent};
use crate::store::refunds::RefundRefused;
use crate::store::serve::{Begun, BegunRefund, FeedEntry, TillId};

pub(crate) const ORDER_COLUMNS: &str = "o.id, o.out_trade_no, o.trade_no, o.store_id, o.acquirer_id, o.operator_id, \
     o.source, o.subject, o.total_amount, o.currency, o.refunded_amount, o.status, o.auth_code_masked, o.created_at, \
     o.paid_at, o.acquirer_merchant_id, o.terminal_id";

pub(crate) const REFUND_COLUMNS: &str =
    "r.id, r.order_id, r.out_request_no, r.refund_amount, r.reason, r.status, r.operator_id, r.created_at";

fn corrupt(table: &'static str, column: &'static str, value: &str) -> PgError {
    PgError::Corrupt { table, column, value: value.to_owned() }
}

pub(crate) fn order_from_row(r: &Row) -> Result<Order> {
    let source: String = r.get(6);
    let currency: String = r.get(9);
    let status: String = r.get(11);
    Ok(Order {
        id: OrderId(r.get(0)),
        out_trade_no: r.get(1),
        trade_no: r.get(2),
        store_id: crate::model::StoreId(r.get(3)),
        acquirer_id: AcquirerId(r.get(4)),
        operator_id: r.get::<_, Option<i64>>(5).map(OperatorId),
        source: OrderSource::parse(&source).ok_or_else(|| corrupt("orders", "source", &source))?,
        subject: r.get(7),
        total_amount: Amount::from_fen(r.get(8)),
        currency: Currency::from_code(&currency).ok_or_else(|| corrupt("orders", "currency", &currency))?,
        refunded_amount: Amount::from_fen(r.get(10)),
        status: OrderStatus::parse(&status).ok_or_else(|| corrupt("orders", "status", &status))?,
        auth_code_masked: r.get(12),
        created_at: utc(r.get(13)),
        paid_at: utc_opt(r.get(14)),
        acquirer_merchant_id: r.get(15),
        terminal_id: r.get(16),
    })
}

pub(crate) fn refund_from_row(r: &Row) -> Result<Refund> {
    let status: String = r.get(5);
    Ok(Refund {
        id: RefundId(r.get(0)),
        order_id: OrderId(r.get(1)),
        out_request_no: r.get(2),
        refund_amount: Amount::from_fen(r.get(3)),
        reason: r.get(4),
        status: RefundStatus::parse(&status).ok_or_else(|| corrupt("refunds", "status", &status))?,
        operator_id: r.get::<_, Option<i64>>(6).map(OperatorId),
        created_at: utc(r.get(7)),
    })
}

impl PgStore {
    pub async fn order(&self, id: OrderId) -> Result<Option<Order>> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1")).await?;
        conn.query_opt(&stmt, &[&id.0]).await?.as_ref().map(order_from_row).transpose()
    }

    pub async fn order_by_out_trade_no(&self, out_trade_no: &str) -> Result<Option<Order>> {
        let conn = self.conn().await?;
        let stmt =
            conn.prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.out_trade_no = $1")).await?;
        conn.query_opt(&stmt, &[&out_trade_no]).await?.as_ref().map(order_from_row).transpose()
    }

    /// The till that wrote an order (None: taken otherwise).
    pub async fn order_till(&self, id: OrderId) -> Result<Option<TillId>> {
        let conn = self.conn().await?;
        let row = conn.query_opt("SELECT till_id FROM orders WHERE id = $1", &[&id.0]).await?;
        Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)).map(TillId))
    }

    /// The till that wrote a refund (None: made otherwise).
    pub async fn refund_till(&self, id: RefundId) -> Result<Option<TillId>> {
        let conn = self.conn().await?;
        let row = conn.query_opt("SELECT till_id FROM refunds WHERE id = $1", &[&id.0]).await?;
        Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)).map(TillId))
    }

    /// Write-ahead of a till's payment, in one transaction: a number the till cancelled before is refused, an
    /// existing order is returned as it is, else the order is written PAYING with its event and its till. Two
    /// instances writing the same number at once: one inserts, the other waits on the unique key and finds it.
    /// The new order is leased to `lease_owner` until `lease_until`: recovery on any instance leaves it alone while
    /// the payment is on its way.
    pub async fn begin_till_order(
        &self,
        till: TillId,
        new: &NewOrder,
        lease_owner: &str,
        lease_until: time::OffsetDateTime,
    ) -> Result<Begun> {
        self.begin_order_of(till, new, None, lease_owner, lease_until).await
    }

    /// [`PgStore::begin_till_order`] for a dynamic code (主扫) of `wallet` payable until `expires_at`: its
    /// `dynamic_codes` row is written in the same transaction. The caller leases it past the code's expiry, so
    /// recovery leaves it to the till that shows it until then.
    pub async fn begin_dynamic_order(
        &self,
        till: TillId,
        new: &NewOrder,
        wallet: Wallet,
        expires_at: time::OffsetDateTime,
        lease_owner: &str,
        lease_until: time::OffsetDateTime,
    ) -> Result<Begun> {
        self.begin_order_of(till, new, Some((wallet, expires_at)), lease_owner, lease_until).await
    }

    /// The dynamic-code row of an order; None for any other order.
    pub async fn dynamic_code(&self, id: OrderId) -> Result<Option<DynamicCodeRow>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt("SELECT wallet, code_text, expires_at FROM dynamic_codes WHERE order_id = $1", &[&id.0])
            .await?;
        let Some(row) = row else { return Ok(None) };
        let wallet: String = row.get(0);
        let wallet = Wallet::parse(&wallet).ok_or_else(|| PgError::Corrupt {
            table: "dynamic_codes",
            column: "wallet",
            value: wallet.clone(),
        })?;
        let expires_at: time::OffsetDateTime = row.get(2);
        Ok(Some(DynamicCodeRow {
            order_id: id,
            wallet,
            code_text: row.get(1),
            expires_at: crate::time::format_utc(expires_at),
        }))
    }

    /// Records the code the acquirer made; a code once recorded is never replaced. Returns the code on record.
    pub async fn set_dynamic_code(&self, id: OrderId, code: &str) -> Result<String> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let changed = tx
            .execute(
                "UPDATE dynamic_codes SET code_text = $2 WHERE order_id = $1 AND code_text IS NULL",
                &[&id.0, &code],
            )
            .await?;
        if changed > 0 {
            event(&tx, id, "code_shown", "the acquirer made the code; shown to the customer").await?;
        }
        let kept: Option<String> = tx
            .query_opt("SELECT code_text FROM dynamic_codes WHERE order_id = $1", &[&id.0])
            .await?
            .and_then(|r| r.get(0));
        tx.commit().await?;
        kept.ok_or(PgError::NotFound { what: "dynamic code", key: id.0.to_string() })
    }

    async fn begin_order_of(
        &self,
        till: TillId,
        new: &NewOrder,
        dynamic: Option<(Wallet, time::OffsetDateTime)>,
        lease_owner: &str,
        lease_until: time::OffsetDateTime,
    ) -> Result<Begun> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        // The same lock as a cancel of this number takes: a pay and a cancel-before-pay never cross.
        tx.execute("SELECT pg_advisory_xact_lock(20232, hashtext($1))", &[&new.out_trade_no]).await?;
        let closed: bool = tx
            .query_one("SELECT EXISTS(SELECT 1 FROM closed_numbers WHERE out_trade_no = $1)", &[&new.out_trade_no])
            .await?
            .get(0);
        if closed {
            return Ok(Begun::Closed);
        }
        let inserted = tx
            .query_opt(
                "INSERT INTO orders (out_trade_no, store_id, acquirer_id, operator_id, till_id, source, subject,
                    total_amount, currency, status, auth_code_masked, created_at, updated_at, acquirer_merchant_id,
                    terminal_id, lease_owner, lease_until)
                 VALUES ($1, $2, $3, $4, $5, 'barcode', $6, $7, 'CNY', 'PAYING', $8, now(), now(), $9, $10, $11, $12)
                 ON CONFLICT (out_trade_no) DO NOTHING RETURNING id",
                &[
                    &new.out_trade_no,
                    &new.store_id.0,
                    &new.acquirer_id.0,
                    &new.operator_id.map(|o| o.0),
                    &till.0,
                    &new.subject,
                    &new.total_amount.fen(),
                    &new.auth_code_masked,
                    &new.acquirer_merchant_id,
                    &new.terminal_id,
                    &lease_owner,
                    &lease_until,
                ],
            )
            .await?;
        let created = match inserted {
            Some(row) => {
                let id = OrderId(row.get(0));
                let detail = match dynamic {
                    None => format!("{} {} (till #{till})", new.total_amount, new.auth_code_masked),
                    Some((wallet, expires_at)) => {
                        tx.execute(
                            "INSERT INTO dynamic_codes (order_id, wallet, code_text, expires_at, created_at)
                             VALUES ($1, $2, NULL, $3, now())",
                            &[&id.0, &wallet.as_str(), &expires_at],
                        )
                        .await?;
                        let until = crate::time::format_utc(expires_at);
                        format!(
                            "{} dynamic code ({}), valid until {until} (till #{till})",
                            new.total_amount,
                            wallet.as_str()
                        )
                    }
                };
                event(&tx, id, "created", &detail).await?;
                tx.commit().await?;
                true
            }
            None => false,
        };
        let order = self
            .order_by_out_trade_no(&new.out_trade_no)
            .await?
            .ok_or(PgError::NotFound { what: "order", key: new.out_trade_no.clone() })?;
        if created {
            return Ok(Begun::Created(order));
        }
        let till = self.order_till(order.id).await?;
        Ok(Begun::Existing { order, till })
    }

    /// A till cancels `out_trade_no`: when no order has that number, the number is closed for good (a pay arriving
    /// later, on any instance, is refused). Returns the order when there is one. The number is locked against a
    /// concurrent pay by the advisory lock of its hash.
    pub async fn close_number_unless_ordered(&self, till: TillId, out_trade_no: &str) -> Result<Option<Order>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(20232, hashtext($1))", &[&out_trade_no]).await?;
        let exists: bool =
            tx.query_one("SELECT EXISTS(SELECT 1 FROM orders WHERE out_trade_no = $1)", &[&out_trade_no]).await?.get(0);
        if !exists {
            tx.execute(
                "INSERT INTO closed_numbers (out_trade_no, till_id, closed_at) VALUES ($1, $2, now())
                 ON CONFLICT (out_trade_no) DO NOTHING",
                &[&out_trade_no, &till.0],
            )
            .await?;
            tx.commit().await?;
            return Ok(None);
        }
        tx.commit().await?;
        self.order_by_out_trade_no(out_trade_no).await
    }

    /// Records a step on the order's timeline without changing its status.
    pub async fn add_order_event(&self, id: OrderId, kind: &str, detail: &str) -> Result<()> {
        let conn = self.conn().await?;
        conn.execute(
            "INSERT INTO order_events (order_id, at, kind, detail) VALUES ($1, now(), $2, $3)",
            &[&id.0, &kind, &detail],
        )
        .await?;
        Ok(())
    }

    pub async fn order_events(&self, id: OrderId) -> Result<Vec<OrderEvent>> {
        let conn = self.conn().await?;
        let rows =
            conn.query("SELECT at, kind, detail FROM order_events WHERE order_id = $1 ORDER BY id", &[&id.0]).await?;
        Ok(rows.iter().map(|r| OrderEvent { at: utc(r.get(0)), kind: r.get(1), detail: r.get(2) }).collect())
    }

    pub async fn refund(&self, id: RefundId) -> Result<Option<Refund>> {
        let conn = self.conn().await?;
        let row = conn.query_opt(&format!("SELECT {REFUND_COLUMNS} FROM refunds r WHERE r.id = $1"), &[&id.0]).await?;
        row.as_ref().map(refund_from_row).transpose()
    }

    pub async fn refund_by_out_request_no(&self, out_request_no: &str) -> Result<Option<Refund>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                &format!("SELECT {REFUND_COLUMNS} FROM refunds r WHERE r.out_request_no = $1"),
                &[&out_request_no],
            )
            .await?;
        row.as_ref().map(refund_from_row).transpose()
    }

    pub async fn refunds_of(&self, order: OrderId) -> Result<Vec<Refund>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(&format!("SELECT {REFUND_COLUMNS} FROM refunds r WHERE r.order_id = $1 ORDER BY r.id"), &[&order.0])
            .await?;
        rows.iter().map(refund_from_row).collect()
    }

    /// Write-ahead of a till's refund under the till's own out_request_no, in one transaction with the order's row
    /// locked (two refunds of one order, on any instances, cannot both reserve the same money): an existing refund
    /// with that number is returned as it is; otherwise the checks (paid order, reason, not more than what is left,
    /// counting refunds in progress) and the refund is written SUBMITTED with its event, audit entry and till.
    /// The new refund is leased as `lease` (owner, until) says, as a new order is. The outer error is the
    /// database's; the inner one why the refund is refused.
    pub async fn begin_till_refund(
        &self,
        till: TillId,
        out_trade_no: &str,
        out_request_no: &str,
        amount: Amount,
        reason: &str,
        lease: (&str, time::OffsetDateTime),
    ) -> Result<Result<BegunRefund, RefundRefused>> {
        if let Some(existing) = self.existing_refund(out_request_no).await? {
            return Ok(Ok(existing));
        }
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let row = tx
            .query_opt(
                &format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.out_trade_no = $1 FOR UPDATE"),
                &[&out_trade_no],
            )
            .await?;
        let Some(row) = row else { return Ok(Err(RefundRefused::NoSuchOrder(out_trade_no.into()))) };
        let order = order_from_row(&row)?;
        // Another instance may have written this very number while this one waited for the order's lock.
        let taken: bool = tx
            .query_one("SELECT EXISTS(SELECT 1 FROM refunds WHERE out_request_no = $1)", &[&out_request_no])
            .await?
            .get(0);
        if taken {
            drop(tx);
            return match self.existing_refund(out_request_no).await? {
                Some(existing) => Ok(Ok(existing)),
                None => Err(PgError::NotFound { what: "refund", key: out_request_no.into() }),
            };
        }
        if !matches!(order.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded) {
            return Ok(Err(RefundRefused::NotPaid {
                out_trade_no: out_trade_no.into(),
                status: order.status.as_str(),
            }));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Ok(Err(RefundRefused::NoReason));
        }
        if amount.fen() <= 0 {
            return Ok(Err(RefundRefused::Zero));
        }
        let in_progress: i64 = tx
            .query_one(
                "SELECT COALESCE(SUM(refund_amount), 0)::BIGINT FROM refunds
                 WHERE order_id = $1 AND status IN ('SUBMITTED', 'PROCESSING')",
                &[&order.id.0],
            )
            .await?
            .get(0);
        let reserved = Amount::from_fen(order.refunded_amount.fen() + in_progress);
        let left = Amount::from_fen(order.total_amount.fen() - reserved.fen());
        if amount > left {
            return Ok(Err(RefundRefused::TooMuch {
                out_trade_no: out_trade_no.into(),
                asked: amount,
                refundable: left,
                total: order.total_amount,
                reserved,
            }));
        }
        let inserted = tx
            .query_opt(
                "INSERT INTO refunds (order_id, out_request_no, refund_amount, reason, status, till_id, created_at,
                    updated_at, lease_owner, lease_until)
                 VALUES ($1, $2, $3, $4, 'SUBMITTED', $5, now(), now(), $6, $7)
                 ON CONFLICT (out_request_no) DO NOTHING RETURNING id",
                &[&order.id.0, &out_request_no, &amount.fen(), &reason, &till.0, &lease.0, &lease.1],
            )
            .await?;
        let Some(inserted) = inserted else {
            // Another instance wrote this number meanwhile: its refund is the one.
            drop(tx);
            return match self.existing_refund(out_request_no).await? {
                Some(existing) => Ok(Ok(existing)),
                None => Err(PgError::NotFound { what: "refund", key: out_request_no.into() }),
            };
        };
        let id = RefundId(inserted.get(0));
        event(&tx, order.id, "refund_submitted", &format!("{out_request_no} {amount}: {reason} (till #{till})"))
            .await?;
        audit(&tx, None, "refund.request", out_request_no, None, Some(&amount.to_string())).await?;
        tx.commit().await?;
        let refund = self.refund(id).await?.ok_or(PgError::NotFound { what: "refund", key: id.to_string() })?;
        Ok(Ok(BegunRefund::Created { order, refund }))
    }

    async fn existing_refund(&self, out_request_no: &str) -> Result<Option<BegunRefund>> {
        let Some(refund) = self.refund_by_out_request_no(out_request_no).await? else { return Ok(None) };
        let order = self
            .order(refund.order_id)
            .await?
            .ok_or(PgError::NotFound { what: "order", key: refund.order_id.to_string() })?;
        let till = self.refund_till(refund.id).await?;
        Ok(Some(BegunRefund::Existing { order, refund, till }))
    }

    /// The orders of `store_id` (None: every store's) changed after change number `after`, oldest change first, at
    /// most `limit`, each with its refunds.
    pub async fn order_feed(
        &self,
        store_id: Option<crate::model::StoreId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<FeedEntry>> {
        let rows = {
            let conn = self.conn().await?;
            conn.query(
                &format!(
                    "SELECT {ORDER_COLUMNS}, f.seq FROM order_feed f JOIN orders o ON o.id = f.order_id
                     WHERE ($1::BIGINT IS NULL OR o.store_id = $1) AND f.seq > $2 ORDER BY f.seq LIMIT $3"
                ),
                &[&store_id.map(|s| s.0), &after, &i64::from(limit)],
            )
            .await?
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let order = order_from_row(r)?;
            let refunds = self.refunds_of(order.id).await?;
            out.push(FeedEntry { seq: r.get(17), order, refunds });
        }
        Ok(out)
    }
}
