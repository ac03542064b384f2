//! The sync worker's tables: outbox delivery bookkeeping, sync runs, received notifications (and the store-code
//! orders they create), and references to secrets kept outside the database.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::orders::{ORDER_COLUMNS, order_from_row, typed};
use super::transitions::{self, Mismatch, OrderMove, OrderMoved, OutboxMove, PaidFacts};
use super::{Result, Store, StoreError};
use crate::lifecycle::{OutboxState, Verdict};
use crate::model::{AcquirerId, Order, OrderId, OrderStatus, StoreId};
use crate::money::Amount;

/// How many refused notifications are kept (the newest), and for how many days at most.
pub const REJECTED_NOTICES_KEPT: i64 = 1000;
pub const REJECTED_NOTICES_DAYS: i64 = 30;

/// One piece of work left in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    pub idempotency_key: String,
    pub payload: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}

/// What one sync pass did, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncRun {
    pub id: i64,
    pub trigger: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub online: bool,
    pub outbox_delivered: i64,
    pub outbox_pending: i64,
    pub orders_refreshed: i64,
    pub refunds_refreshed: i64,
    pub bindings_refreshed: i64,
    pub bills_fetched: i64,
    pub summary: String,
    /// One error per entry; empty when the pass went well.
    pub errors: Vec<String>,
}

impl SyncRun {
    /// A pass that reached the acquirers and had no error.
    pub fn succeeded(&self) -> bool {
        self.online && self.errors.is_empty() && self.finished_at.is_some()
    }
}

/// A received notification, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationRecord {
    pub protocol: String,
    pub notify_key: String,
    pub out_trade_no: Option<String>,
    pub trade_no: Option<String>,
    pub verified: bool,
    pub outcome: String,
    pub detail: String,
    pub received_at: String,
    pub times: i64,
}

/// A verified payment notification, with the acquirer's facts.
#[derive(Debug, Clone)]
pub struct PaidNotice<'a> {
    pub protocol: &'a str,
    pub out_trade_no: &'a str,
    pub trade_no: &'a str,
    pub amount: Amount,
    pub paid_at_utc: &'a str,
    pub subject: &'a str,
    pub acquirer_id: AcquirerId,
    pub store_id: StoreId,
    /// The store's merchant id at the acquirer, as the notification named it.
    pub acquirer_merchant_id: Option<&'a str>,
    /// The currency the notification names (None: it names none; the protocols' default is CNY).
    pub currency: Option<&'a str>,
    /// Whether `acquirer_merchant_id` is the merchant the order was sent for, to be compared with it.
    pub compare_merchant: bool,
}

/// A paid row of an acquirer's bill, as a store-code payment to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillPayment {
    pub out_trade_no: String,
    pub trade_no: Option<String>,
    pub amount: Amount,
    /// UTC RFC 3339.
    pub paid_at: String,
    pub subject: String,
}

/// What recording a verified notification did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// A wallet-scanned (store-code) payment the till did not know: a new PAID order.
    NewStoreCodeOrder,
    /// One of the till's own orders, still open, is now PAID.
    OrderPaid,
    /// Seen before, or the order was already final: nothing changed.
    AlreadyRecorded,
    /// The notice's amount, currency or merchant differ from the order: NEEDS_ATTENTION with both figures.
    Mismatch(Mismatch),
    /// The order may not become PAID from where it is (its cancel is on its way): the status stays, the timeline
    /// says so, and the cancel returns the money.
    NotApplied(OrderStatus),
}

impl NoticeOutcome {
    /// What a paid notice did to the order it names (both engines record it alike).
    pub(crate) fn of_move(moved: OrderMoved) -> NoticeOutcome {
        match moved {
            OrderMoved::Moved { .. } => NoticeOutcome::OrderPaid,
            OrderMoved::Stayed(_) => NoticeOutcome::AlreadyRecorded,
            OrderMoved::Mismatch { mismatch, .. } => NoticeOutcome::Mismatch(mismatch),
            OrderMoved::Refused { from, .. } => NoticeOutcome::NotApplied(from),
        }
    }

    /// The word kept in the notifications table's `outcome` column.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            NoticeOutcome::NewStoreCodeOrder => "recorded",
            NoticeOutcome::OrderPaid => "order_paid",
            NoticeOutcome::AlreadyRecorded => "already_recorded",
            NoticeOutcome::Mismatch(_) => "mismatch",
            NoticeOutcome::NotApplied(_) => "not_applied",
        }
    }
}

/// A secret's reference: where it lives, never what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef {
    pub name: String,
    pub backend: String,
    pub locator: String,
    pub fingerprint: String,
    pub updated_at: String,
}

const OUTBOX_COLUMNS: &str = "id, kind, idempotency_key, payload, attempts, next_attempt_at, last_error, delivered_at";

fn outbox_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    Ok(OutboxEntry {
        id: r.get(0)?,
        kind: r.get(1)?,
        idempotency_key: r.get(2)?,
        payload: r.get(3)?,
        attempts: r.get(4)?,
        next_attempt_at: r.get(5)?,
        last_error: r.get(6)?,
        delivered_at: r.get(7)?,
    })
}

const RUN_COLUMNS: &str = "id, trigger, started_at, finished_at, online, outbox_delivered, outbox_pending, \
     orders_refreshed, refunds_refreshed, bindings_refreshed, bills_fetched, summary, errors";

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SyncRun> {
    let errors: String = r.get(12)?;
    Ok(SyncRun {
        id: r.get(0)?,
        trigger: r.get(1)?,
        started_at: r.get(2)?,
        finished_at: r.get(3)?,
        online: r.get::<_, i64>(4)? != 0,
        outbox_delivered: r.get(5)?,
        outbox_pending: r.get(6)?,
        orders_refreshed: r.get(7)?,
        refunds_refreshed: r.get(8)?,
        bindings_refreshed: r.get(9)?,
        bills_fetched: r.get(10)?,
        summary: r.get(11)?,
        errors: errors.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect(),
    })
}

impl Store {
    /// [`SyncRepo::record_rejected_notice`] at a given time.
    pub(crate) fn record_rejected_notice_at(
        &mut self,
        protocol: &str,
        notify_key: &str,
        out_trade_no: Option<&str>,
        reason: &str,
        now: time::OffsetDateTime,
    ) -> Result<()> {
        let received_at = crate::time::format_utc(now);
        let cutoff = crate::time::format_utc(now - time::Duration::days(REJECTED_NOTICES_DAYS));
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO notifications (protocol, notify_key, out_trade_no, verified, outcome, detail, received_at)
                 VALUES (?1, ?2, ?3, 0, 'rejected', ?4, ?5)",
                params![protocol, notify_key, out_trade_no, reason, received_at],
            )?;
            tx.execute(
                "DELETE FROM notifications WHERE verified = 0 AND (received_at < ?1 OR id <= (
                    SELECT id FROM notifications WHERE verified = 0 ORDER BY id DESC LIMIT 1 OFFSET ?2))",
                params![cutoff, REJECTED_NOTICES_KEPT],
            )?;
            Ok(())
        })
    }
}

impl<S: std::ops::Deref<Target = Store>> super::SyncRepo<S> {
    /// Outbox entries not yet delivered whose next attempt is due at `now` (stored UTC text), oldest first.
    pub fn due_outbox(&self, now: &str) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([now], outbox_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every outbox entry, newest first (for `tilldesk sync --outbox` and the Sync panel).
    pub fn outbox_entries(&self, limit: u32) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare(&format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?1"))?;
        let rows = stmt.query_map([limit], outbox_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn outbox_entry(&self, idempotency_key: &str) -> Result<Option<OutboxEntry>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE idempotency_key = ?1"),
                [idempotency_key],
                outbox_from_row,
            )
            .optional()?)
    }

    /// How many outbox entries still wait for delivery.
    pub fn outbox_len(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL", [], |r| r.get(0))?)
    }

    /// Orders still PAYING or UNKNOWN last touched before `before` (UTC text): the checkout that owned them is gone.
    pub fn stale_open_orders(&self, before: &str) -> Result<Vec<Order>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE status IN ('PAYING', 'UNKNOWN') AND updated_at < ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([before], order_from_row)?;
        rows.map(|r| typed(r?)).collect()
    }

    /// NEEDS_ATTENTION / CANCELLING orders that never had a cancel or reverse in the outbox (one the acquirer
    /// refused for good stays with a person: it is not queued again).
    pub fn orphaned_attention_orders(&self) -> Result<Vec<Order>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders o WHERE status IN ('NEEDS_ATTENTION', 'CANCELLING')
               AND COALESCE(attention, '') <> 'mismatch'
               AND NOT EXISTS (SELECT 1 FROM outbox
                               WHERE idempotency_key IN ('cancel:' || o.out_trade_no, 'reverse:' || o.out_trade_no))
             ORDER BY id"
        ))?;
        let rows = stmt.query_map([], order_from_row)?;
        rows.map(|r| typed(r?)).collect()
    }

    pub fn recent_sync_runs(&self, limit: u32) -> Result<Vec<SyncRun>> {
        let mut stmt = self.conn.prepare(&format!("SELECT {RUN_COLUMNS} FROM sync_runs ORDER BY id DESC LIMIT ?1"))?;
        let rows = stmt.query_map([limit], run_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the last pass that reached the acquirers without an error finished.
    pub fn last_successful_sync(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT finished_at FROM sync_runs WHERE online = 1 AND errors = '' AND finished_at IS NOT NULL
                 ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn recent_notifications(&self, limit: u32) -> Result<Vec<NotificationRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT protocol, notify_key, out_trade_no, trade_no, verified, outcome, detail, received_at, times
             FROM notifications ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(NotificationRecord {
                protocol: r.get(0)?,
                notify_key: r.get(1)?,
                out_trade_no: r.get(2)?,
                trade_no: r.get(3)?,
                verified: r.get::<_, i64>(4)? != 0,
                outcome: r.get(5)?,
                detail: r.get(6)?,
                received_at: r.get(7)?,
                times: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn secret_ref(&self, name: &str) -> Result<Option<SecretRef>> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, backend, locator, fingerprint, updated_at FROM secret_refs WHERE name = ?1",
                [name],
                |r| {
                    Ok(SecretRef {
                        name: r.get(0)?,
                        backend: r.get(1)?,
                        locator: r.get(2)?,
                        fingerprint: r.get(3)?,
                        updated_at: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// The order a notification concerns, if the till knows it.
    pub fn order_status_of(&self, out_trade_no: &str) -> Result<Option<OrderStatus>> {
        let status: Option<String> = self
            .conn
            .query_row("SELECT status FROM orders WHERE out_trade_no = ?1", [out_trade_no], |r| r.get(0))
            .optional()?;
        status
            .map(|s| OrderStatus::parse(&s).ok_or(StoreError::Corrupt { table: "orders", column: "status", value: s }))
            .transpose()
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::SyncRepo<S> {
    /// An attempt that did not get through: counts it and schedules the next one (the outbox transition PENDING →
    /// PENDING).
    pub fn outbox_retry_later(&mut self, idempotency_key: &str, error: &str, next_attempt_at: &str) -> Result<()> {
        let later = OutboxMove { to: OutboxState::Pending, error: Some(error), next_attempt_at: Some(next_attempt_at) };
        self.transaction(|tx| transitions::move_outbox(tx, idempotency_key, &later))?;
        Ok(())
    }

    /// Makes every waiting entry due now (the Sync panel's "Retry now").
    pub fn outbox_retry_now(&mut self) -> Result<usize> {
        Ok(self
            .conn
            .execute("UPDATE outbox SET next_attempt_at = ?1 WHERE delivered_at IS NULL", [crate::time::now_utc()])?)
    }

    /// The acquirer confirmed a cancel/reverse from the outbox: the entry is delivered and the order CANCELLED (when
    /// the table allows it), in one transaction, both through their transition functions; an entry already final
    /// changes nothing. Returns whether it was new.
    pub fn outbox_cancel_confirmed(&mut self, idempotency_key: &str, out_trade_no: &str, detail: &str) -> Result<bool> {
        let delivered = OutboxMove { to: OutboxState::Delivered, error: None, next_attempt_at: None };
        self.transaction(|tx| {
            if transitions::move_outbox(tx, idempotency_key, &delivered)? != Verdict::Move {
                return Ok(false);
            }
            let id: Option<i64> = tx
                .query_row("SELECT id FROM orders WHERE out_trade_no = ?1", [out_trade_no], |r| r.get(0))
                .optional()?;
            if let Some(id) = id {
                let cancelled = OrderMove::to(OrderStatus::Cancelled, "sync_cancel_confirmed", detail);
                transitions::move_order(tx, OrderId(id), &cancelled)?;
            }
            Ok(true)
        })
    }

    /// Ends an outbox entry without success (the acquirer refused for good): refused, with the refusal kept, and
    /// the order's timeline says so.
    pub fn outbox_refused(&mut self, idempotency_key: &str, out_trade_no: Option<&str>, error: &str) -> Result<()> {
        let now = crate::time::now_utc();
        let refused = OutboxMove { to: OutboxState::Refused, error: Some(error), next_attempt_at: None };
        self.transaction(|tx| {
            if transitions::move_outbox(tx, idempotency_key, &refused)? != Verdict::Move {
                return Ok(());
            }
            if let Some(out) = out_trade_no {
                tx.execute(
                    "INSERT INTO order_events (order_id, at, kind, detail)
                     SELECT id, ?2, 'sync_refused', ?3 FROM orders WHERE out_trade_no = ?1",
                    params![out, now, error],
                )?;
            }
            Ok(())
        })
    }

    /// Moves an abandoned order to NEEDS_ATTENTION (a cancel awaiting confirmation) and queues its cancel/reverse, in
    /// one transaction. An order the table does not let go there (paid meanwhile, say) gets no cancel. Returns
    /// whether the cancel was queued.
    pub fn queue_cancel(&mut self, order: &Order, verb: &str, reason: &str) -> Result<bool> {
        let now = crate::time::now_utc();
        let key = format!("{verb}:{}", order.out_trade_no);
        let payload = serde_json::json!({ "out_trade_no": order.out_trade_no, "verb": verb }).to_string();
        self.transaction(|tx| {
            let attention = OrderMove {
                attention: Some(transitions::Attention::Cancel),
                ..OrderMove::to(OrderStatus::NeedsAttention, "needs_attention", reason)
            };
            let moved = transitions::move_order(tx, order.id, &attention)?;
            if matches!(moved, OrderMoved::Refused { .. }) {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO outbox (kind, idempotency_key, payload, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(idempotency_key) DO NOTHING",
                params![verb, key, payload, now],
            )?;
            Ok(true)
        })
    }

    /// Starts recording a sync pass.
    pub fn begin_sync_run(&mut self, trigger: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO sync_runs (trigger, started_at) VALUES (?1, ?2)",
            params![trigger, crate::time::now_utc()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records what the pass did.
    pub fn finish_sync_run(&mut self, run: &SyncRun) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_runs SET finished_at = ?2, online = ?3, outbox_delivered = ?4, outbox_pending = ?5,
                orders_refreshed = ?6, refunds_refreshed = ?7, bindings_refreshed = ?8, bills_fetched = ?9,
                summary = ?10, errors = ?11 WHERE id = ?1",
            params![
                run.id,
                run.finished_at.clone().unwrap_or_else(crate::time::now_utc),
                run.online as i64,
                run.outbox_delivered,
                run.outbox_pending,
                run.orders_refreshed,
                run.refunds_refreshed,
                run.bindings_refreshed,
                run.bills_fetched,
                run.summary,
                run.errors.join("\n"),
            ],
        )?;
        Ok(())
    }

    /// Records paid bill rows the till never heard of as store-code orders (the wallet paid the printed code and the
    /// notification never arrived), each under the store the acquirer takes payments for. Rows whose order number
    /// or trade number the till already has are left alone. Returns how many orders were written.
    pub fn record_bill_store_code_payments(&mut self, acquirer: AcquirerId, rows: &[BillPayment]) -> Result<usize> {
        let store_id = self.setup_mut().store_for_acquirer_merchant(acquirer, None)?;
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let mut written = 0;
            for row in rows {
                let known: bool = tx.query_row(
                    "SELECT EXISTS(SELECT 1 FROM orders WHERE out_trade_no = ?1
                        OR (trade_no = ?2 AND ?2 IS NOT NULL AND ?2 <> ''))",
                    params![row.out_trade_no, row.trade_no],
                    |r| r.get(0),
                )?;
                if known || row.amount.fen() <= 0 {
                    continue;
                }
                tx.execute(
                    "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, source, subject, total_amount,
                        currency, status, created_at, paid_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 'store_code', ?5, ?6, 'CNY', 'PAID', ?7, ?7, ?8)",
                    params![
                        row.out_trade_no,
                        row.trade_no,
                        store_id.0,
                        acquirer.0,
                        row.subject,
                        row.amount.fen(),
                        row.paid_at,
                        now
                    ],
                )?;
                let id = tx.last_insert_rowid();
                tx.execute(
                    "INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, 'store_code_from_bill', ?3)",
                    params![id, now, format!("found in the acquirer's bill, {}", row.amount)],
                )?;
                written += 1;
            }
            Ok(written)
        })
    }

    /// Records a verified payment notification once: a store-code payment becomes a PAID order with the
    /// acquirer's numbers; one of the till's own open orders becomes PAID; anything seen before changes nothing.
    /// All in one transaction.
    pub fn record_paid_notice(&mut self, notice: &PaidNotice<'_>) -> Result<NoticeOutcome> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let seen = tx.execute(
                "UPDATE notifications SET times = times + 1 WHERE protocol = ?1 AND notify_key = ?2 AND verified = 1",
                params![notice.protocol, notice.trade_no],
            )?;
            if seen > 0 {
                return Ok(NoticeOutcome::AlreadyRecorded);
            }
            let existing: Option<(i64, String)> = tx
                .query_row("SELECT id, status FROM orders WHERE out_trade_no = ?1", [notice.out_trade_no], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let outcome = match existing {
                None => {
                    tx.execute(
                        "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, source, subject,
                            total_amount, currency, status, created_at, paid_at, updated_at, acquirer_merchant_id)
                         VALUES (?1, ?2, ?3, ?4, 'store_code', ?5, ?6, 'CNY', 'PAID', ?7, ?7, ?8, ?9)",
                        params![
                            notice.out_trade_no,
                            notice.trade_no,
                            notice.store_id.0,
                            notice.acquirer_id.0,
                            notice.subject,
                            notice.amount.fen(),
                            notice.paid_at_utc,
                            now,
                            notice.acquirer_merchant_id,
                        ],
                    )?;
                    let id = tx.last_insert_rowid();
                    tx.execute(
                        "INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, 'store_code_paid', ?3)",
                        params![id, now, format!("{} notification, {}", notice.protocol, notice.amount)],
                    )?;
                    NoticeOutcome::NewStoreCodeOrder
                }
                Some((id, _)) => {
                    // Through the order transition function: the amount, currency and merchant are compared with
                    // the order, and an order whose cancel is on its way never becomes PAID.
                    let detail = format!("{} notification", notice.protocol);
                    let facts = PaidFacts {
                        amount: Some(notice.amount),
                        currency: notice.currency,
                        merchant_id: notice.acquirer_merchant_id.filter(|_| notice.compare_merchant),
                    };
                    let paid = OrderMove::paid("paid", &detail, Some(notice.trade_no), Some(notice.paid_at_utc), facts);
                    NoticeOutcome::of_move(transitions::move_order(tx, OrderId(id), &paid)?)
                }
            };
            let label = outcome.label();
            tx.execute(
                "INSERT INTO notifications (protocol, notify_key, out_trade_no, trade_no, verified, outcome, detail,
                    received_at)
                 VALUES (?1, ?2, ?3, ?2, 1, ?4, ?5, ?6)",
                params![notice.protocol, notice.trade_no, notice.out_trade_no, label, notice.amount.to_string(), now],
            )?;
            Ok(outcome)
        })
    }

    /// Logs a notification that was refused (bad or missing signature, unknown merchant, unreadable body), and
    /// prunes the log of refused ones to the last [`REJECTED_NOTICES_KEPT`] within [`REJECTED_NOTICES_DAYS`] days,
    /// so that a flood of forged posts cannot fill the disk. Verified notifications are never pruned.
    pub fn record_rejected_notice(
        &mut self,
        protocol: &str,
        notify_key: &str,
        out_trade_no: Option<&str>,
        reason: &str,
    ) -> Result<()> {
        self.record_rejected_notice_at(protocol, notify_key, out_trade_no, reason, time::OffsetDateTime::now_utc())
    }

    /// Records (or replaces) where a secret lives, with an audit entry that names it but never holds it.
    pub fn set_secret_ref(&mut self, name: &str, backend: &str, locator: &str, fingerprint: &str) -> Result<()> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO secret_refs (name, backend, locator, fingerprint, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(name) DO UPDATE SET backend = excluded.backend, locator = excluded.locator,
                    fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
                params![name, backend, locator, fingerprint, now],
            )?;
            super::append_audit(tx, &now, None, "secret.set", name, None, Some(&format!("{backend} {fingerprint}")))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AcquirerKind;

    /// A wallet-scanned store-code payment of 12.00 the till never saw.
    fn store_code_notice(store: &mut Store) -> PaidNotice<'static> {
        PaidNotice {
            protocol: "alipay",
            out_trade_no: "SC1",
            trade_no: "2026T1",
            amount: Amount::from_fen(1200),
            paid_at_utc: "2026-11-25T01:00:00.000000Z",
            subject: "store code",
            acquirer_id: store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap(),
            store_id: store.setup_mut().default_store().unwrap(),
            acquirer_merchant_id: None,
            currency: None,
            compare_merchant: false,
        }
    }

    #[test]
    fn a_notice_is_recorded_once() {
        let mut store = Store::open_in_memory().unwrap();
        let notice = store_code_notice(&mut store);
        assert_eq!(store.sync_mut().record_paid_notice(&notice).unwrap(), NoticeOutcome::NewStoreCodeOrder);
        assert_eq!(store.sync_mut().record_paid_notice(&notice).unwrap(), NoticeOutcome::AlreadyRecorded);
        let order = store.orders().order_by_out_trade_no("SC1").unwrap().unwrap();
        assert_eq!(order.status, OrderStatus::Paid);
        assert_eq!(order.source, crate::model::OrderSource::StoreCode);
        let n = store.sync().recent_notifications(10).unwrap();
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].times, 2);
    }

    #[test]
    fn refused_notices_are_pruned_to_the_newest_thousand_within_thirty_days() {
        let mut store = Store::open_in_memory().unwrap();
        let notice = store_code_notice(&mut store);
        store.sync_mut().record_paid_notice(&notice).unwrap();
        let start = time::macros::datetime!(2026-11-01 00:00 UTC);
        // A flood: 1,200 forged posts within a minute.
        for i in 0..1200 {
            let at = start + time::Duration::milliseconds(i * 50);
            store.record_rejected_notice_at("alipay", &format!("body-sha256:{i}"), None, "bad sign", at).unwrap();
        }
        let all = store.sync().recent_notifications(5000).unwrap();
        let rejected: Vec<_> = all.iter().filter(|n| !n.verified).collect();
        assert_eq!(rejected.len(), REJECTED_NOTICES_KEPT as usize);
        assert_eq!(rejected[0].notify_key, "body-sha256:1199", "the newest are kept");
        assert_eq!(rejected.last().unwrap().notify_key, "body-sha256:200");
        assert!(all.iter().any(|n| n.verified && n.notify_key == "2026T1"), "verified ones are never pruned");

        // 31 days later one more refusal: everything older than 30 days goes.
        let later = start + time::Duration::days(31);
        store.record_rejected_notice_at("wechatpay", "body-sha256:late", None, "bad sign", later).unwrap();
        let all = store.sync().recent_notifications(5000).unwrap();
        let rejected: Vec<_> = all.iter().filter(|n| !n.verified).map(|n| n.notify_key.as_str()).collect();
        assert_eq!(rejected, ["body-sha256:late"]);
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn retries_are_scheduled_and_delivery_is_once() {
        let mut store = Store::open_in_memory().unwrap();
        store.sync_mut().enqueue_outbox("cancel", "cancel:T1", "{}").unwrap();
        let now = crate::time::now_utc();
        assert_eq!(store.sync().due_outbox(&now).unwrap().len(), 1);
        store.sync_mut().outbox_retry_later("cancel:T1", "offline", "2999-01-01T00:00:00.000000Z").unwrap();
        assert!(store.sync().due_outbox(&now).unwrap().is_empty());
        assert_eq!(store.sync().outbox_len().unwrap(), 1);
        assert!(store.sync_mut().outbox_cancel_confirmed("cancel:T1", "T1", "ok").unwrap());
        assert!(!store.sync_mut().outbox_cancel_confirmed("cancel:T1", "T1", "ok").unwrap());
        let e = store.sync().outbox_entry("cancel:T1").unwrap().unwrap();
        assert_eq!(e.attempts, 2);
        assert!(e.delivered_at.is_some());
        assert_eq!(store.sync().outbox_len().unwrap(), 0);
    }

    fn own_order(store: &mut Store, out: &str, fen: i64) -> Order {
        let new = crate::store::orders::NewOrder {
            out_trade_no: out.into(),
            store_id: store.setup_mut().default_store().unwrap(),
            acquirer_id: store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap(),
            operator_id: None,
            subject: "咖啡".into(),
            total_amount: Amount::from_fen(fen),
            auth_code_masked: "130000******0000".into(),
            acquirer_merchant_id: Some("1900000109".into()),
            terminal_id: None,
        };
        store.orders_mut().create_order(&new).unwrap()
    }

    fn notice_for<'a>(store: &mut Store, out: &'a str, fen: i64, trade_no: &'a str) -> PaidNotice<'a> {
        PaidNotice {
            protocol: "wechatpay",
            out_trade_no: out,
            trade_no,
            amount: Amount::from_fen(fen),
            paid_at_utc: "2026-11-25T01:00:00.000000Z",
            subject: "",
            acquirer_id: store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap(),
            store_id: store.setup_mut().default_store().unwrap(),
            acquirer_merchant_id: Some("1900000109"),
            currency: Some("CNY"),
            compare_merchant: true,
        }
    }

    /// Issue 17, item 4: a paid notification arriving while the order's cancel is on its way leaves it CANCELLING
    /// (the cancel returns the money); the confirmed cancel then makes it CANCELLED. Before, the notice made it PAID
    /// and the confirmation skipped it: the till showed PAID, the acquirer had reversed.
    #[test]
    fn a_paid_notice_never_overtakes_a_cancel_on_its_way() {
        let mut store = Store::open_in_memory().unwrap();
        let order = own_order(&mut store, "TD4", 500);
        store
            .orders_mut()
            .move_order(order.id, &OrderMove::to(OrderStatus::Cancelling, "reverse", "window closed"))
            .unwrap();
        store.sync_mut().enqueue_outbox("reverse", "reverse:TD4", r#"{"out_trade_no":"TD4"}"#).unwrap();
        let notice = notice_for(&mut store, "TD4", 500, "4200TD4");
        assert_eq!(
            store.sync_mut().record_paid_notice(&notice).unwrap(),
            NoticeOutcome::NotApplied(OrderStatus::Cancelling)
        );
        assert_eq!(store.orders().order(order.id).unwrap().unwrap().status, OrderStatus::Cancelling);
        assert!(store.sync_mut().outbox_cancel_confirmed("reverse:TD4", "TD4", "reversed").unwrap());
        assert_eq!(store.orders().order(order.id).unwrap().unwrap().status, OrderStatus::Cancelled);
        let kinds: Vec<String> = store.orders().order_events(order.id).unwrap().into_iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&"paid_refused".to_owned()), "{kinds:?}");
    }

    /// Issue 17, items 5 and 10: a notification whose amount differs from the order never makes it PAID: it
    /// needs attention, with both figures on the timeline, and is not queued for a cancel.
    #[test]
    fn a_notice_for_another_amount_needs_attention_with_both_figures() {
        let mut store = Store::open_in_memory().unwrap();
        let order = own_order(&mut store, "TD5", 500);
        let notice = notice_for(&mut store, "TD5", 50_000, "4200TD5");
        let outcome = store.sync_mut().record_paid_notice(&notice).unwrap();
        assert_eq!(
            outcome,
            NoticeOutcome::Mismatch(Mismatch::Amount {
                order: Amount::from_fen(500),
                acquirer: Some(Amount::from_fen(50_000))
            })
        );
        assert_eq!(store.orders().order(order.id).unwrap().unwrap().status, OrderStatus::NeedsAttention);
        let last = store.orders().order_events(order.id).unwrap().pop().unwrap();
        assert_eq!(last.kind, "mismatch");
        assert!(last.detail.contains("500.00") && last.detail.contains("5.00"), "{}", last.detail);
        assert!(store.sync().orphaned_attention_orders().unwrap().is_empty(), "a mismatch waits for a person");
        assert!(store.orders().unfinished_orders().unwrap().is_empty(), "recovery leaves it to a person");

        // Another merchant, or another currency: the same.
        let order = own_order(&mut store, "TD6", 500);
        let mut notice = notice_for(&mut store, "TD6", 500, "4200TD6");
        notice.acquirer_merchant_id = Some("1900000999");
        assert!(matches!(
            store.sync_mut().record_paid_notice(&notice).unwrap(),
            NoticeOutcome::Mismatch(Mismatch::Merchant { .. })
        ));
        assert_eq!(store.orders().order(order.id).unwrap().unwrap().status, OrderStatus::NeedsAttention);
        let order = own_order(&mut store, "TD7", 500);
        let mut notice = notice_for(&mut store, "TD7", 500, "4200TD7");
        notice.currency = Some("HKD");
        assert!(matches!(
            store.sync_mut().record_paid_notice(&notice).unwrap(),
            NoticeOutcome::Mismatch(Mismatch::Currency { .. })
        ));
        assert_eq!(store.orders().order(order.id).unwrap().unwrap().status, OrderStatus::NeedsAttention);
        // The right figures: PAID.
        let order = own_order(&mut store, "TD8", 500);
        let notice = notice_for(&mut store, "TD8", 500, "4200TD8");
        assert_eq!(store.sync_mut().record_paid_notice(&notice).unwrap(), NoticeOutcome::OrderPaid);
        assert_eq!(store.orders().order(order.id).unwrap().unwrap().status, OrderStatus::Paid);
    }
}
