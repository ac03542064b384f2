//! The merchant backend's own rows (`tilldesk serve`): its tills, their one-time enrolment codes and token hashes,
//! which till wrote each order and refund, the numbers a till cancelled before their payment arrived, and the order
//! feed the tills page through. The payment and refund rows themselves are the ordinary `orders` and `refunds`:
//! the backend runs the same engine as a till on them.
//!
//! Codes and tokens arrive here hashed (the caller hashes them); nothing in this file sees one in the clear.

use rusqlite::{OptionalExtension, Transaction, params};

use super::orders::{NewOrder, ORDER_COLUMNS, order_from_row, typed};
use super::refunds::RefundRefused;
use super::{Result, Store, StoreError, append_audit};
use crate::model::{OperatorId, Order, OrderId, Refund, RefundId, Role, StoreId};
use crate::money::Amount;

/// A till enrolled (or waiting to enrol) with this backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct TillId(pub i64);

impl std::fmt::Display for TillId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One till as `tilldesk serve tills` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Till {
    pub id: TillId,
    pub store_id: StoreId,
    pub store_code: String,
    pub name: String,
    /// UTC.
    pub created_at: String,
    pub enrolled_at: Option<String>,
    pub last_contact_at: Option<String>,
    pub revoked_at: Option<String>,
    /// When its newest unused enrolment code expires (None once enrolled, or when it has none).
    pub code_expires_at: Option<String>,
}

impl Till {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

const TILL_COLUMNS: &str = "t.id, t.store_id, s.store_code, t.name, t.created_at, t.enrolled_at, t.last_contact_at, \
     t.revoked_at, (SELECT MAX(c.expires_at) FROM backend_enrolment_codes c WHERE c.till_id = t.id AND c.used_at IS NULL \
     AND t.enrolled_at IS NULL)";

fn till_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Till> {
    Ok(Till {
        id: TillId(r.get(0)?),
        store_id: StoreId(r.get(1)?),
        store_code: r.get(2)?,
        name: r.get(3)?,
        created_at: r.get(4)?,
        enrolled_at: r.get(5)?,
        last_contact_at: r.get(6)?,
        revoked_at: r.get(7)?,
        code_expires_at: r.get(8)?,
    })
}

/// What an enrolment code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The till is enrolled: its token hash is stored and the code is spent.
    Enrolled(Till),
    /// No such code.
    Unknown,
    /// The code was used already (a code works once).
    Used,
    /// The code's 24 hours are over.
    Expired,
    /// The till it was made for was revoked meanwhile.
    Revoked,
}

/// What the write-ahead of a till's payment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// A new order, PAYING, written before anything is sent.
    Created(Order),
    /// An order with this out_trade_no exists already (a till asking again); its writer, when a till.
    Existing { order: Order, till: Option<TillId> },
    /// The till cancelled this number before its payment ever arrived: it is never charged.
    Closed,
}

/// What the write-ahead of a till's refund found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BegunRefund {
    Created { order: Order, refund: Refund },
    Existing { order: Order, refund: Refund, till: Option<TillId> },
}

/// One page of the order feed: orders with their refunds and change numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub seq: i64,
    pub order: Order,
    pub refunds: Vec<Refund>,
}

/// A shift report a till sent (see migration 0022): `kind` "shift" or "day_close", the till's own number of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShiftReport {
    pub till: TillId,
    pub store_id: StoreId,
    pub kind: String,
    pub till_ref: i64,
    pub operator: String,
    pub opened_at: Option<String>,
    pub closed_at: String,
    pub business_day: Option<String>,
    pub paid_count: i64,
    pub paid_fen: i64,
    pub refund_count: i64,
    pub refund_fen: i64,
    pub net_fen: i64,
    /// The till's frozen summary (JSON).
    pub summary: String,
}

/// A recorded shift report, with its till's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftReportRow {
    pub id: i64,
    pub kind: String,
    pub till_id: TillId,
    pub till_name: String,
    pub store_id: StoreId,
    pub operator: String,
    pub opened_at: Option<String>,
    pub closed_at: String,
    pub business_day: Option<String>,
    pub paid_count: i64,
    pub paid_fen: i64,
    pub refund_count: i64,
    pub refund_fen: i64,
    pub net_fen: i64,
}

/// Which shift reports to list: newest first, below `before` (an id), at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShiftReportFilter {
    pub store: Option<StoreId>,
    /// Only this operator's (a cashier sees their own shifts).
    pub operator: Option<String>,
    pub kind: Option<String>,
    /// Closed at or after (UTC, stored form).
    pub from: Option<String>,
    /// Closed before.
    pub to: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

impl<S: std::ops::Deref<Target = Store>> super::BackendRepo<S> {
    /// Every till, in the order they were added.
    pub fn tills(&self) -> Result<Vec<Till>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {TILL_COLUMNS} FROM backend_tills t JOIN stores s ON s.id = t.store_id ORDER BY t.id"
        ))?;
        let rows = stmt.query_map([], till_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn till(&self, id: TillId) -> Result<Option<Till>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {TILL_COLUMNS} FROM backend_tills t JOIN stores s ON s.id = t.store_id WHERE t.id = ?1"
                ),
                [id.0],
                till_from_row,
            )
            .optional()?)
    }

    /// The till whose token hashes to `token_hash` (revoked ones too: the caller says so).
    pub fn till_by_token(&self, token_hash: &str) -> Result<Option<Till>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {TILL_COLUMNS} FROM backend_tills t JOIN stores s ON s.id = t.store_id WHERE t.token_hash = ?1"
            ))?
            .query_row([token_hash], till_from_row)
            .optional()?)
    }

    /// The till that wrote an order (None: taken otherwise, e.g. a store-code payment).
    pub fn order_till(&self, id: OrderId) -> Result<Option<TillId>> {
        Ok(self
            .conn
            .prepare_cached("SELECT till_id FROM backend_order_tills WHERE order_id = ?1")?
            .query_row([id.0], |r| r.get(0).map(TillId))
            .optional()?)
    }

    /// Backend: the shift reports `filter` asks for, newest first.
    pub fn shift_reports(&self, filter: &ShiftReportFilter) -> Result<Vec<ShiftReportRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.kind, r.till_id, t.name, r.store_id, r.operator, r.opened_at, r.closed_at, r.business_day,
                    r.paid_count, r.paid_fen, r.refund_count, r.refund_fen, r.net_fen
             FROM backend_shift_reports r JOIN backend_tills t ON t.id = r.till_id
             WHERE (?1 IS NULL OR r.store_id = ?1) AND (?2 IS NULL OR r.operator = ?2) AND (?3 IS NULL OR r.kind = ?3)
               AND (?4 IS NULL OR r.closed_at >= ?4) AND (?5 IS NULL OR r.closed_at < ?5) AND r.id < ?6
             ORDER BY r.id DESC LIMIT ?7",
        )?;
        let rows = stmt.query_map(
            params![
                filter.store.map(|s| s.0),
                filter.operator,
                filter.kind,
                filter.from,
                filter.to,
                filter.before.unwrap_or(i64::MAX),
                filter.limit
            ],
            |r| {
                Ok(ShiftReportRow {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    till_id: TillId(r.get(2)?),
                    till_name: r.get(3)?,
                    store_id: StoreId(r.get(4)?),
                    operator: r.get(5)?,
                    opened_at: r.get(6)?,
                    closed_at: r.get(7)?,
                    business_day: r.get(8)?,
                    paid_count: r.get(9)?,
                    paid_fen: r.get(10)?,
                    refund_count: r.get(11)?,
                    refund_fen: r.get(12)?,
                    net_fen: r.get(13)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The till that wrote a refund (None: made otherwise).
    pub fn refund_till(&self, id: RefundId) -> Result<Option<TillId>> {
        Ok(self
            .conn
            .prepare_cached("SELECT till_id FROM backend_refund_tills WHERE refund_id = ?1")?
            .query_row([id.0], |r| r.get(0).map(TillId))
            .optional()?)
    }

    /// Whether a till closed `out_trade_no` before any payment arrived.
    pub fn number_closed(&self, out_trade_no: &str) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM backend_closed_numbers WHERE out_trade_no = ?1)",
            [out_trade_no],
            |r| r.get(0),
        )?)
    }

    /// The orders of `store_id` changed after change number `after`, oldest change first, at most `limit`, each
    /// with its refunds.
    /// `store_id` None: every store's.
    pub fn order_feed(&self, store_id: Option<StoreId>, after: i64, limit: u32) -> Result<Vec<FeedEntry>> {
        let cols = ORDER_COLUMNS.split(", ").map(|c| format!("o.{c}")).collect::<Vec<_>>().join(", ");
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {cols}, f.seq FROM order_feed f JOIN orders o ON o.id = f.order_id
             WHERE (?1 IS NULL OR o.store_id = ?1) AND f.seq > ?2 ORDER BY f.seq LIMIT ?3"
        ))?;
        let rows = stmt
            .query_map(params![store_id.map(|s| s.0), after, limit], |r| {
                Ok((order_from_row(r)?, r.get::<_, i64>(17)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (raw, seq) in rows {
            let order = typed(raw)?;
            let refunds = self.refunds().refunds_of(order.id)?;
            out.push(FeedEntry { seq, order, refunds });
        }
        Ok(out)
    }

    /// The newest change number of the feed (0 when empty).
    pub fn order_feed_head(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM order_feed", [], |r| r.get(0))?)
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::BackendRepo<S> {
    /// Adds a till of `store_id` with its first enrolment code (hashed by the caller), audited, in one transaction.
    pub fn add_till(&mut self, store_id: StoreId, name: &str, code_hash: &str, expires_at: &str) -> Result<Till> {
        let now = crate::time::now_utc();
        let id = self.transaction(|tx| {
            tx.execute(
                "INSERT INTO backend_tills (store_id, name, created_at) VALUES (?1, ?2, ?3)",
                params![store_id.0, name.trim(), now],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO backend_enrolment_codes (code_hash, till_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![code_hash, id, now, expires_at],
            )?;
            append_audit(tx, &now, None, "till.add", &id.to_string(), None, Some(name.trim()))?;
            Ok(TillId(id))
        })?;
        self.till(id)?.ok_or(StoreError::NotFound { what: "till", key: id.to_string() })
    }

    /// Revokes a till: its token stops working at once (audited). False when it was revoked already.
    pub fn revoke_till(&mut self, id: TillId) -> Result<bool> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let n = tx.execute(
                "UPDATE backend_tills SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id.0, now],
            )?;
            if n == 0 {
                let exists: bool =
                    tx.query_row("SELECT EXISTS(SELECT 1 FROM backend_tills WHERE id = ?1)", [id.0], |r| r.get(0))?;
                if !exists {
                    return Err(StoreError::NotFound { what: "till", key: id.to_string() });
                }
                return Ok(false);
            }
            append_audit(tx, &now, None, "till.revoke", &id.to_string(), None, None)?;
            Ok(true)
        })
    }

    /// Spends an enrolment code (hashed) at `now` (UTC text) and stores the new token's hash, in one transaction: a
    /// code works once, within its 24 hours, for a till that was not revoked.
    pub fn redeem_enrolment_code(&mut self, code_hash: &str, now: &str, token_hash: &str) -> Result<Redeemed> {
        let outcome = self.transaction(|tx| {
            let code: Option<(i64, String, Option<String>)> = tx
                .query_row(
                    "SELECT till_id, expires_at, used_at FROM backend_enrolment_codes WHERE code_hash = ?1",
                    [code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((till, expires_at, used_at)) = code else { return Ok(Err(Redeemed::Unknown)) };
            if used_at.is_some() {
                return Ok(Err(Redeemed::Used));
            }
            if expires_at.as_str() <= now {
                return Ok(Err(Redeemed::Expired));
            }
            let revoked: bool =
                tx.query_row("SELECT revoked_at IS NOT NULL FROM backend_tills WHERE id = ?1", [till], |r| r.get(0))?;
            if revoked {
                return Ok(Err(Redeemed::Revoked));
            }
            tx.execute(
                "UPDATE backend_enrolment_codes SET used_at = ?2 WHERE code_hash = ?1",
                params![code_hash, now],
            )?;
            tx.execute(
                "UPDATE backend_tills SET token_hash = ?2, enrolled_at = ?3, last_contact_at = ?3 WHERE id = ?1",
                params![till, token_hash, now],
            )?;
            append_audit(tx, now, None, "till.enrol", &till.to_string(), None, None)?;
            Ok(Ok(TillId(till)))
        })?;
        match outcome {
            Ok(id) => Ok(Redeemed::Enrolled(
                self.till(id)?.ok_or(StoreError::NotFound { what: "till", key: id.to_string() })?,
            )),
            Err(refused) => Ok(refused),
        }
    }

    /// Records that the till was heard from at `now`, at most once per `gap_secs` (a write per request would be
    /// wasted).
    pub fn touch_till(&mut self, id: TillId, now: time::OffsetDateTime, gap_secs: i64) -> Result<()> {
        let before = crate::time::format_utc(now - time::Duration::seconds(gap_secs));
        self.conn.execute(
            "UPDATE backend_tills SET last_contact_at = ?2 WHERE id = ?1 AND (last_contact_at IS NULL OR last_contact_at < ?3)",
            params![id.0, crate::time::format_utc(now), before],
        )?;
        Ok(())
    }

    /// Write-ahead of a till's payment, in one IMMEDIATE transaction: a number the till cancelled before is refused,
    /// an existing order is returned as it is, else the order is written PAYING (with its event and its till).
    pub fn begin_till_order(&mut self, till: TillId, new: &NewOrder) -> Result<Begun> {
        self.begin_order_of(till, new, None)
    }

    /// `begin_till_order` for a dynamic code (主扫) of `wallet` payable until `expires_at` (UTC,
    /// RFC 3339): its `dynamic_codes` row is written in the same transaction.
    pub fn begin_dynamic_order(
        &mut self,
        till: TillId,
        new: &NewOrder,
        wallet: crate::model::Wallet,
        expires_at: &str,
    ) -> Result<Begun> {
        self.begin_order_of(till, new, Some((wallet, expires_at)))
    }

    fn begin_order_of(
        &mut self,
        till: TillId,
        new: &NewOrder,
        dynamic: Option<(crate::model::Wallet, &str)>,
    ) -> Result<Begun> {
        let now = crate::time::now_utc();
        let found = self.transaction(|tx| {
            let closed: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM backend_closed_numbers WHERE out_trade_no = ?1)",
                [&new.out_trade_no],
                |r| r.get(0),
            )?;
            if closed {
                return Ok(None);
            }
            if let Some(id) = order_id_tx(tx, &new.out_trade_no)? {
                return Ok(Some((id, false)));
            }
            tx.prepare_cached(
                "INSERT INTO orders (out_trade_no, store_id, acquirer_id, operator_id, source, subject, total_amount,
                    currency, status, auth_code_masked, created_at, updated_at, acquirer_merchant_id, terminal_id)
                 VALUES (?1, ?2, ?3, ?10, 'barcode', ?4, ?5, 'CNY', 'PAYING', ?6, ?7, ?7, ?8, ?9)",
            )?
            .execute(params![
                new.out_trade_no,
                new.store_id.0,
                new.acquirer_id.0,
                new.subject,
                new.total_amount.fen(),
                new.auth_code_masked,
                now,
                new.acquirer_merchant_id,
                new.terminal_id,
                new.operator_id.map(|o| o.0),
            ])?;
            let id = tx.last_insert_rowid();
            let detail = match dynamic {
                None => format!("{} {} (till #{till})", new.total_amount, new.auth_code_masked),
                Some((wallet, expires_at)) => {
                    tx.prepare_cached(
                        "INSERT INTO dynamic_codes (order_id, wallet, code_text, expires_at, created_at)
                         VALUES (?1, ?2, NULL, ?3, ?4)",
                    )?
                    .execute(params![id, wallet.as_str(), expires_at, now])?;
                    format!(
                        "{} dynamic code ({}), valid until {expires_at} (till #{till})",
                        new.total_amount,
                        wallet.as_str()
                    )
                }
            };
            tx.prepare_cached("INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, 'created', ?3)")?
                .execute(params![id, now, detail])?;
            tx.prepare_cached("INSERT INTO backend_order_tills (order_id, till_id) VALUES (?1, ?2)")?
                .execute(params![id, till.0])?;
            Ok(Some((OrderId(id), true)))
        })?;
        let Some((id, created)) = found else { return Ok(Begun::Closed) };
        let order =
            self.orders().order(id)?.ok_or(StoreError::NotFound { what: "order", key: new.out_trade_no.clone() })?;
        if created {
            return Ok(Begun::Created(order));
        }
        let till = self.order_till(order.id)?;
        Ok(Begun::Existing { order, till })
    }

    /// A till cancels `out_trade_no`: when no order has that number (its payment never arrived), the number is
    /// closed for good, so a pay arriving later is refused, not charged. Returns the order when there is one.
    pub fn close_number_unless_ordered(&mut self, till: TillId, out_trade_no: &str) -> Result<Option<Order>> {
        let now = crate::time::now_utc();
        let found = self.transaction(|tx| {
            if let Some(id) = order_id_tx(tx, out_trade_no)? {
                return Ok(Some(id));
            }
            tx.execute(
                "INSERT INTO backend_closed_numbers (out_trade_no, till_id, closed_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(out_trade_no) DO NOTHING",
                params![out_trade_no, till.0, now],
            )?;
            Ok(None)
        })?;
        found.map(|id| self.orders().order(id)).transpose().map(Option::flatten)
    }

    /// Write-ahead of a till's refund under the till's own out_request_no, in one IMMEDIATE transaction: an
    /// existing refund with that number is returned as it is; otherwise the local checks (paid order, reason, not
    /// more than what is left, counting refunds in progress) and the refund is written SUBMITTED with its event,
    /// audit entry and till.
    pub fn begin_till_refund(
        &mut self,
        till: TillId,
        out_trade_no: &str,
        out_request_no: &str,
        amount: Amount,
        reason: &str,
    ) -> std::result::Result<BegunRefund, RefundRefused> {
        if let Some(refund) = self.refunds().refund_by_out_request_no(out_request_no)? {
            let order = self
                .orders()
                .order(refund.order_id)?
                .ok_or(StoreError::NotFound { what: "order", key: refund.order_id.to_string() })?;
            let till = self.refund_till(refund.id)?;
            return Ok(BegunRefund::Existing { order, refund, till });
        }
        let order = self.refund_request_order(out_trade_no, amount, reason)?;
        let reason = reason.trim();
        let now = crate::time::now_utc();
        let tx =
            self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(StoreError::from)?;
        // Asked again while we waited for the lock: the first one stands.
        if refund_id_tx(&tx, out_request_no)?.is_some() {
            drop(tx);
            return self.begin_till_refund(till, out_trade_no, out_request_no, amount, reason);
        }
        // The same sums as `Refunds::create_refund`: refunded, plus submitted and processing (reserved).
        let (refunded, in_progress): (i64, i64) = tx
            .query_row(
                "SELECT o.refunded_amount, (SELECT COALESCE(SUM(refund_amount), 0) FROM refunds
                     WHERE order_id = o.id AND status IN ('SUBMITTED', 'PROCESSING'))
                 FROM orders o WHERE o.id = ?1",
                [order.id.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(StoreError::from)?;
        let remaining = Amount::from_fen(order.total_amount.fen() - refunded - in_progress);
        if amount > remaining {
            return Err(RefundRefused::TooMuch {
                out_trade_no: out_trade_no.into(),
                asked: amount,
                refundable: remaining,
                total: order.total_amount,
                reserved: Amount::from_fen(refunded + in_progress),
            });
        }
        tx.execute(
            "INSERT INTO refunds (order_id, out_request_no, refund_amount, reason, status, operator_id, created_at,
                updated_at) VALUES (?1, ?2, ?3, ?4, 'SUBMITTED', NULL, ?5, ?5)",
            params![order.id.0, out_request_no, amount.fen(), reason, now],
        )
        .map_err(StoreError::from)?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, 'refund_requested', ?3)",
            params![order.id.0, now, format!("{out_request_no} {amount}: {reason} (till #{till})")],
        )
        .map_err(StoreError::from)?;
        tx.execute("INSERT INTO backend_refund_tills (refund_id, till_id) VALUES (?1, ?2)", params![id, till.0])
            .map_err(StoreError::from)?;
        append_audit(&tx, &now, None, "refund.request", out_request_no, None, Some(&amount.to_string()))?;
        tx.commit().map_err(StoreError::from)?;
        let refund =
            self.refunds().refund(RefundId(id))?.ok_or(StoreError::NotFound { what: "refund", key: id.to_string() })?;
        Ok(BegunRefund::Created { order, refund })
    }
}

/// What the refund list of the till API asks for (the scope already applied: `store`, `operator`).
#[derive(Debug, Clone, Default)]
pub struct RefundQuery {
    pub store: Option<StoreId>,
    /// Only refunds of orders this operator took.
    pub operator: Option<OperatorId>,
    pub status: Option<crate::model::RefundStatus>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub search: Option<String>,
    /// Refunds with a smaller id only (keyset paging, newest first).
    pub before: Option<i64>,
    pub limit: u32,
}

/// One refund of the list with its order's number and store code.
#[derive(Debug, Clone)]
pub struct ListedRefund {
    pub refund: Refund,
    pub out_trade_no: String,
    pub store_code: String,
}

impl<S: std::ops::Deref<Target = Store>> super::BackendRepo<S> {
    /// Refunds newest first as `q` asks.
    pub fn refund_list(&self, q: &RefundQuery) -> Result<Vec<ListedRefund>> {
        let search = q
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("%{}%", super::order_query::escape_like(s)));
        let mut stmt = self.conn.prepare(
            "SELECT r.id, o.out_trade_no, s.store_code FROM refunds r JOIN orders o ON o.id = r.order_id
             JOIN stores s ON s.id = o.store_id
             WHERE (?1 IS NULL OR o.store_id = ?1) AND (?2 IS NULL OR o.operator_id = ?2)
               AND (?3 IS NULL OR r.status = ?3) AND (?4 IS NULL OR r.created_at >= ?4)
               AND (?5 IS NULL OR r.created_at < ?5)
               AND (?6 IS NULL OR o.out_trade_no LIKE ?6 ESCAPE '\\' OR r.out_request_no LIKE ?6 ESCAPE '\\')
               AND r.id < ?7
             ORDER BY r.id DESC LIMIT ?8",
        )?;
        let rows = stmt
            .query_map(
                params![
                    q.store.map(|s| s.0),
                    q.operator.map(|o| o.0),
                    q.status.map(|s| s.as_str()),
                    q.from,
                    q.to,
                    search,
                    q.before.unwrap_or(i64::MAX),
                    q.limit
                ],
                |r| Ok((RefundId(r.get(0)?), r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, out_trade_no, store_code) in rows {
            let refund =
                self.refunds().refund(id)?.ok_or(StoreError::NotFound { what: "refund", key: id.to_string() })?;
            out.push(ListedRefund { refund, out_trade_no, store_code });
        }
        Ok(out)
    }
}

/// One operator of the backend as a till mirrors it: a name and a role, never a PIN hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirroredOperator {
    pub name: String,
    pub role: Role,
}

impl<S: std::ops::Deref<Target = Store>> super::BackendRepo<S> {
    /// Backend: the active operator an unexpired session of `till` names (None: unknown, another till's, expired,
    /// or the operator was deactivated).
    pub fn operator_session(&self, token_hash: &str, till: TillId, now: &str) -> Result<Option<OperatorId>> {
        Ok(self
            .conn
            .query_row(
                "SELECT s.operator_id FROM backend_operator_sessions s JOIN operators o ON o.id = s.operator_id
                 WHERE s.token_hash = ?1 AND s.till_id = ?2 AND s.expires_at > ?3 AND o.active = 1",
                params![token_hash, till.0, now],
                |r| r.get(0).map(OperatorId),
            )
            .optional()?)
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::BackendRepo<S> {
    /// Backend: records an operator session (its token's hash) for `operator` at `till`, valid until `expires_at`.
    pub fn add_operator_session(
        &mut self,
        token_hash: &str,
        till: TillId,
        operator: OperatorId,
        now: &str,
        expires_at: &str,
    ) -> Result<()> {
        self.transaction(|tx| {
            tx.execute("DELETE FROM backend_operator_sessions WHERE expires_at < ?1", [now])?;
            tx.execute(
                "INSERT INTO backend_operator_sessions (token_hash, till_id, operator_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token_hash, till.0, operator.0, now, expires_at],
            )?;
            Ok(())
        })
    }

    /// Backend: records a shift report once (by till, kind and the till's number); its id, and whether it is new.
    pub fn record_shift_report(&mut self, r: &NewShiftReport) -> Result<(i64, bool)> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let inserted = tx.execute(
                "INSERT INTO backend_shift_reports (till_id, kind, till_ref, store_id, operator, opened_at, closed_at,
                    business_day, paid_count, paid_fen, refund_count, refund_fen, net_fen, summary, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT (till_id, kind, till_ref) DO NOTHING",
                params![
                    r.till.0,
                    r.kind,
                    r.till_ref,
                    r.store_id.0,
                    r.operator,
                    r.opened_at,
                    r.closed_at,
                    r.business_day,
                    r.paid_count,
                    r.paid_fen,
                    r.refund_count,
                    r.refund_fen,
                    r.net_fen,
                    r.summary,
                    now
                ],
            )?;
            let id: i64 = tx.query_row(
                "SELECT id FROM backend_shift_reports WHERE till_id = ?1 AND kind = ?2 AND till_ref = ?3",
                params![r.till.0, r.kind, r.till_ref],
                |row| row.get(0),
            )?;
            Ok((id, inserted > 0))
        })
    }

    /// Backend: ends an operator session of `till` (sign-out); true when there was one.
    pub fn end_operator_session(&mut self, token_hash: &str, till: TillId) -> Result<bool> {
        let n = self.conn.execute(
            "DELETE FROM backend_operator_sessions WHERE token_hash = ?1 AND till_id = ?2",
            params![token_hash, till.0],
        )?;
        Ok(n > 0)
    }

    /// Till: makes the local operators the backend's list (`operators`): each name gets its role and is active,
    /// without a PIN hash (sign-in is checked by the backend); local operators the backend does not list are made
    /// inactive. Writes (and audits) only what differs.
    /// An empty list (a backend without staff yet) changes nothing.
    pub fn mirror_backend_operators(&mut self, operators: &[MirroredOperator]) -> Result<()> {
        if operators.is_empty() {
            return Ok(());
        }
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let local: Vec<(i64, String, String, bool, String)> = tx
                .prepare("SELECT id, name, role, active, pin_hash FROM operators")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for op in operators {
                match local.iter().find(|l| l.1 == op.name) {
                    Some((id, _, role, active, hash)) => {
                        if role != op.role.as_str() || !active || !hash.is_empty() {
                            tx.execute(
                                "UPDATE operators SET role = ?2, active = 1, pin_hash = '', failed_pins = 0,
                                 locked_until = NULL WHERE id = ?1",
                                params![id, op.role.as_str()],
                            )?;
                            let (before, after) = (Some(role.as_str()), Some(op.role.as_str()));
                            append_audit(tx, &now, None, "operator.mirror", &op.name, before, after)?;
                        }
                    }
                    None => {
                        tx.execute(
                            "INSERT INTO operators (name, role, pin_hash, active, created_at)
                             VALUES (?1, ?2, '', 1, ?3)",
                            params![op.name, op.role.as_str(), now],
                        )?;
                        append_audit(tx, &now, None, "operator.mirror", &op.name, None, Some(op.role.as_str()))?;
                    }
                }
            }
            for (id, name, role, active, _) in &local {
                if *active && !operators.iter().any(|o| &o.name == name) {
                    tx.execute("UPDATE operators SET active = 0 WHERE id = ?1", [id])?;
                    append_audit(tx, &now, None, "operator.mirror", name, Some(role), Some("inactive"))?;
                }
            }
            Ok(())
        })
    }
}

fn order_id_tx(tx: &Transaction<'_>, out_trade_no: &str) -> Result<Option<OrderId>> {
    Ok(tx
        .prepare_cached("SELECT id FROM orders WHERE out_trade_no = ?1")?
        .query_row([out_trade_no], |r| r.get(0).map(OrderId))
        .optional()?)
}

fn refund_id_tx(tx: &Transaction<'_>, out_request_no: &str) -> Result<Option<RefundId>> {
    Ok(tx
        .prepare_cached("SELECT id FROM refunds WHERE out_request_no = ?1")?
        .query_row([out_request_no], |r| r.get(0).map(RefundId))
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AcquirerKind, ChannelMode, OrderStatus, RefundStatus};

    fn backend() -> (Store, StoreId, crate::model::AcquirerId) {
        let mut store = Store::open_in_memory().unwrap();
        let shop = store.setup_mut().default_store().unwrap();
        let acquirer =
            store.setup_mut().add_acquirer(AcquirerKind::Alipay, "Alipay", ChannelMode::Sandbox, "", None).unwrap();
        (store, shop, acquirer)
    }

    fn new_order(no: &str, shop: StoreId, acquirer: crate::model::AcquirerId) -> NewOrder {
        NewOrder {
            out_trade_no: no.into(),
            store_id: shop,
            acquirer_id: acquirer,
            operator_id: None,
            subject: "x".into(),
            total_amount: Amount::from_fen(500),
            auth_code_masked: "280000******0000".into(),
            acquirer_merchant_id: None,
            terminal_id: None,
        }
    }

    #[test]
    fn a_code_works_once_and_not_after_it_expires() {
        let (mut store, shop, _) = backend();
        let till = store.backend_mut().add_till(shop, "till 1", "h1", "2026-01-02T00:00:00.000000Z").unwrap();
        assert_eq!(till.code_expires_at.as_deref(), Some("2026-01-02T00:00:00.000000Z"));
        let now = "2026-01-01T00:00:00.000000Z";
        assert_eq!(store.backend_mut().redeem_enrolment_code("nope", now, "t").unwrap(), Redeemed::Unknown);
        let Redeemed::Enrolled(t) = store.backend_mut().redeem_enrolment_code("h1", now, "token-hash").unwrap() else {
            panic!()
        };
        assert_eq!((t.id, t.enrolled_at.as_deref(), t.code_expires_at), (till.id, Some(now), None));
        assert_eq!(store.backend_mut().redeem_enrolment_code("h1", now, "other").unwrap(), Redeemed::Used);
        assert_eq!(store.backend().till_by_token("token-hash").unwrap().map(|t| t.id), Some(till.id));

        let late = store.backend_mut().add_till(shop, "till 2", "h2", "2026-01-02T00:00:00.000000Z").unwrap();
        assert_eq!(
            store.backend_mut().redeem_enrolment_code("h2", "2026-01-02T00:00:00.000000Z", "t2").unwrap(),
            Redeemed::Expired
        );
        assert!(store.backend_mut().revoke_till(late.id).unwrap());
        assert!(!store.backend_mut().revoke_till(late.id).unwrap());
        assert!(matches!(store.backend_mut().revoke_till(TillId(99)), Err(StoreError::NotFound { .. })));
    }

    #[test]
    fn a_payment_is_written_once_and_a_closed_number_never() {
        let (mut store, shop, acquirer) = backend();
        let till = store.backend_mut().add_till(shop, "till 1", "h", "2099-01-01T00:00:00.000000Z").unwrap().id;
        let Begun::Created(order) =
            store.backend_mut().begin_till_order(till, &new_order("TD1", shop, acquirer)).unwrap()
        else {
            panic!()
        };
        let again = store.backend_mut().begin_till_order(till, &new_order("TD1", shop, acquirer)).unwrap();
        assert_eq!(again, Begun::Existing { order: order.clone(), till: Some(till) });
        assert_eq!(store.backend_mut().close_number_unless_ordered(till, "TD1").unwrap().map(|o| o.id), Some(order.id));
        assert_eq!(store.backend_mut().close_number_unless_ordered(till, "TD2").unwrap(), None);
        assert!(store.backend().number_closed("TD2").unwrap());
        assert_eq!(
            store.backend_mut().begin_till_order(till, &new_order("TD2", shop, acquirer)).unwrap(),
            Begun::Closed
        );
    }

    #[test]
    fn refunds_are_written_once_under_the_tills_number_and_never_too_much() {
        let (mut store, shop, acquirer) = backend();
        let till = store.backend_mut().add_till(shop, "till 1", "h", "2099-01-01T00:00:00.000000Z").unwrap().id;
        let Begun::Created(order) =
            store.backend_mut().begin_till_order(till, &new_order("TD1", shop, acquirer)).unwrap()
        else {
            panic!()
        };
        let refused =
            store.backend_mut().begin_till_refund(till, "TD1", "TD1-R1", Amount::from_fen(100), "r").unwrap_err();
        assert!(matches!(refused, RefundRefused::NotPaid { .. }), "{refused}");
        let paid = crate::store::transitions::OrderMove::paid(
            "paid",
            "",
            Some("T"),
            None,
            crate::store::transitions::PaidFacts { amount: Some(order.total_amount), ..Default::default() },
        );
        store.orders_mut().move_order(order.id, &paid).unwrap();
        let BegunRefund::Created { refund, .. } =
            store.backend_mut().begin_till_refund(till, "TD1", "TD1-R1", Amount::from_fen(300), "r").unwrap()
        else {
            panic!()
        };
        assert_eq!(refund.status, RefundStatus::Submitted);
        let again = store.backend_mut().begin_till_refund(till, "TD1", "TD1-R1", Amount::from_fen(300), "r").unwrap();
        assert!(matches!(again, BegunRefund::Existing { till: Some(t), .. } if t == till));
        let too_much =
            store.backend_mut().begin_till_refund(till, "TD1", "TD1-R2", Amount::from_fen(300), "r").unwrap_err();
        assert!(matches!(too_much, RefundRefused::TooMuch { .. }), "{too_much}");
    }

    #[test]
    fn the_feed_follows_every_change_in_commit_order() {
        let (mut store, shop, acquirer) = backend();
        let till = store.backend_mut().add_till(shop, "till 1", "h", "2099-01-01T00:00:00.000000Z").unwrap().id;
        for no in ["TD1", "TD2"] {
            store.backend_mut().begin_till_order(till, &new_order(no, shop, acquirer)).unwrap();
        }
        let page = store.backend().order_feed(Some(shop), 0, 10).unwrap();
        assert_eq!(page.iter().map(|e| e.order.out_trade_no.as_str()).collect::<Vec<_>>(), ["TD1", "TD2"]);
        let head = page[1].seq;
        assert_eq!(store.backend().order_feed_head().unwrap(), head);
        assert!(store.backend().order_feed(Some(shop), head, 10).unwrap().is_empty());
        // TD1 changes: it comes again, after TD2.
        let id = page[0].order.id;
        store
            .orders_mut()
            .move_order(id, &crate::store::transitions::OrderMove::to(OrderStatus::Failed, "failed", "x"))
            .unwrap();
        let next = store.backend().order_feed(Some(shop), head, 10).unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!((next[0].order.out_trade_no.as_str(), next[0].order.status), ("TD1", OrderStatus::Failed));
        assert!(next[0].seq > head);
        // Another store's orders are not in this store's feed.
        assert!(store.backend().order_feed(Some(StoreId(99)), 0, 10).unwrap().is_empty());
    }
}
