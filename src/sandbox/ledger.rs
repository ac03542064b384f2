//! The sandbox acquirers' ledger (SQLite, survives restarts): trades, refunds, onboarding, CDS, notifications.
//!
//! The rules that keep money right live here, not in the protocol handlers: a trade is charged once per
//! out_trade_no, refunds never exceed what was paid, an out_request_no is idempotent.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod merchants;
mod notifications;

pub use merchants::AcquirerMerchant;
pub use notifications::PendingNotification;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("sandbox ledger: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("sandbox ledger is unavailable (a request panicked while holding it)")]
    Poisoned,
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// Where a trade stands at the acquirer, independent of how each protocol spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TradeStatus {
    /// Created, waiting for the customer (password prompt, or a dynamic code not yet scanned).
    Waiting,
    Paid,
    /// Closed without payment (cancel of an unpaid trade, close, or a placeholder after a cancel of nothing).
    Closed,
    /// Reversed after payment: the money went back (Alipay cancel with action=refund, WeChat reverse).
    Reversed,
}

impl TradeStatus {
    fn as_str(self) -> &'static str {
        match self {
            TradeStatus::Waiting => "WAITING",
            TradeStatus::Paid => "PAID",
            TradeStatus::Closed => "CLOSED",
            TradeStatus::Reversed => "REVERSED",
        }
    }

    fn parse(s: &str) -> TradeStatus {
        match s {
            "PAID" => TradeStatus::Paid,
            "CLOSED" => TradeStatus::Closed,
            "REVERSED" => TradeStatus::Reversed,
            _ => TradeStatus::Waiting,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Alipay,
    Wechatpay,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Alipay => "alipay",
            Protocol::Wechatpay => "wechatpay",
        }
    }
}

/// Which trades a gateway sees: one protocol account, and (at an acquirer's own gateway) only that acquirer's.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub protocol: Protocol,
    /// The acquirer new trades are recorded at.
    pub acquirer_id: &'a str,
    /// Alipay app_id or WeChat mch_id.
    pub account: &'a str,
    /// Only trades taken by `acquirer_id` (an acquirer's own gateway); false: every trade of the account (the shared
    /// gateways, as before acquirers had their own).
    pub strict: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Trade {
    pub id: i64,
    pub protocol: String,
    pub account: String,
    /// The acquirer that took the trade.
    pub acquirer_id: String,
    /// The store's merchant id at that acquirer (the sub-merchant), or the account's own pid / mch_id.
    pub merchant_id: String,
    pub out_trade_no: String,
    pub trade_no: String,
    pub auth_code: Option<String>,
    pub subject: String,
    /// fen
    pub total_amount: i64,
    /// fen
    pub refunded_amount: i64,
    pub status: TradeStatus,
    pub pays_at: Option<String>,
    pub source: String,
    pub store_id: Option<String>,
    pub terminal_id: Option<String>,
    pub operator_id: Option<String>,
    pub buyer_id: String,
    pub cancel_action: Option<String>,
    pub qr_code: Option<String>,
    pub created_at: String,
    pub paid_at: Option<String>,
    pub closed_at: Option<String>,
}

impl Trade {
    pub fn refundable(&self) -> i64 {
        if self.status == TradeStatus::Paid { self.total_amount - self.refunded_amount } else { 0 }
    }

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Trade> {
        Ok(Trade {
            id: r.get("id")?,
            protocol: r.get("protocol")?,
            account: r.get("account")?,
            acquirer_id: r.get("acquirer_id")?,
            merchant_id: r.get("merchant_id")?,
            out_trade_no: r.get("out_trade_no")?,
            trade_no: r.get("trade_no")?,
            auth_code: r.get("auth_code")?,
            subject: r.get("subject")?,
            total_amount: r.get("total_amount")?,
            refunded_amount: r.get("refunded_amount")?,
            status: TradeStatus::parse(&r.get::<_, String>("status")?),
            pays_at: r.get("pays_at")?,
            source: r.get("source")?,
            store_id: r.get("store_id")?,
            terminal_id: r.get("terminal_id")?,
            operator_id: r.get("operator_id")?,
            buyer_id: r.get("buyer_id")?,
            cancel_action: r.get("cancel_action")?,
            qr_code: r.get("qr_code")?,
            created_at: r.get("created_at")?,
            paid_at: r.get("paid_at")?,
            closed_at: r.get("closed_at")?,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: i64,
    pub trade_id: i64,
    pub out_request_no: String,
    pub refund_no: String,
    /// fen
    pub amount: i64,
    pub reason: String,
    pub created_at: String,
    pub succeeds_at: String,
}

impl Refund {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Refund> {
        Ok(Refund {
            id: r.get("id")?,
            trade_id: r.get("trade_id")?,
            out_request_no: r.get("out_request_no")?,
            refund_no: r.get("refund_no")?,
            amount: r.get("amount")?,
            reason: r.get("reason")?,
            created_at: r.get("created_at")?,
            succeeds_at: r.get("succeeds_at")?,
        })
    }

    /// Whether an asynchronous (WeChat) refund has completed by `now`.
    pub fn succeeded(&self, now: OffsetDateTime) -> bool {
        parse_time(&self.succeeds_at).is_none_or(|t| t <= now)
    }
}

/// A day's bill entries: the trades paid that day, and the refunds made that day with their trades.
pub type BillEntries = (Vec<Trade>, Vec<(Refund, Trade)>);

/// A new trade as a handler asks for it.
#[derive(Debug, Clone, Default)]
pub struct NewTrade {
    pub out_trade_no: String,
    /// The sub-merchant (store) the trade is for, or the account's own pid / mch_id.
    pub merchant_id: String,
    pub auth_code: Option<String>,
    pub subject: String,
    pub total_amount: i64,
    pub status: Option<TradeStatus>,
    pub pays_at: Option<OffsetDateTime>,
    pub source: &'static str,
    pub store_id: Option<String>,
    pub terminal_id: Option<String>,
    pub operator_id: Option<String>,
    pub qr_code: Option<String>,
}

/// What a refund request came to.
#[derive(Debug, Clone)]
pub enum RefundOutcome {
    /// Money moved now (Alipay fund_change=Y).
    Created(Refund, Trade),
    /// The same out_request_no with the same amount: nothing moved again (fund_change=N).
    Repeated(Refund, Trade),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRefusal {
    TradeNotPaid,
    /// The same out_request_no was used with a different amount.
    Discordant,
    ExceedsRefundable {
        refundable: i64,
    },
}

pub fn format_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

pub struct Ledger {
    conn: Mutex<Connection>,
}

impl Ledger {
    pub fn open(path: &Path) -> Result<Ledger> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> Result<Ledger> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Ledger> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // The sandbox plays the acquirer on loopback: a killed process loses nothing in WAL mode with NORMAL, only a
        // power cut could lose its last commits, and it then takes no sync per request (the till's own database is
        // FULL). Both sides of the payment benchmark share this cost.
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
        conn.execute_batch(include_str!("ledger.sql"))?;
        migrate(&conn)?;
        Ok(Ledger { conn: Mutex::new(conn) })
    }

    /// Fills in the merchant id of Alipay trades recorded before trades had one: the pid of their app.
    pub fn backfill_alipay_merchant_ids(&self, app_pids: &[(String, String)]) -> Result<()> {
        let conn = self.conn()?;
        for (app_id, pid) in app_pids {
            conn.execute(
                "UPDATE trades SET merchant_id = ?2 WHERE protocol = 'alipay' AND account = ?1 AND merchant_id = ''",
                params![app_id, pid],
            )?;
        }
        Ok(())
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| LedgerError::Poisoned)
    }

    /// Finds a trade by out_trade_no or trade_no (trade_no wins), first settling a waiting trade whose customer
    /// has paid by `now`.
    pub fn find_trade(
        &self,
        scope: Scope<'_>,
        out_trade_no: Option<&str>,
        trade_no: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<Trade>> {
        let conn = self.conn()?;
        let (p, a, strict, acq) = (scope.protocol.as_str(), scope.account, scope.strict, scope.acquirer_id);
        let trade = match (trade_no.filter(|s| !s.is_empty()), out_trade_no.filter(|s| !s.is_empty())) {
            (Some(trade_no), _) => conn
                .query_row(
                    "SELECT * FROM trades WHERE protocol = ?1 AND account = ?2 AND trade_no = ?3
                        AND (?4 = 0 OR acquirer_id = ?5)",
                    params![p, a, trade_no, strict, acq],
                    Trade::from_row,
                )
                .optional()?,
            (None, Some(out)) => conn
                .query_row(
                    "SELECT * FROM trades WHERE protocol = ?1 AND account = ?2 AND out_trade_no = ?3
                        AND (?4 = 0 OR acquirer_id = ?5)",
                    params![p, a, out, strict, acq],
                    Trade::from_row,
                )
                .optional()?,
            (None, None) => None,
        };
        match trade {
            Some(t) => Ok(Some(settle(&conn, t, now)?)),
            None => Ok(None),
        }
    }

    pub fn trade_by_trade_no(&self, trade_no: &str, now: OffsetDateTime) -> Result<Option<Trade>> {
        let conn = self.conn()?;
        let trade =
            conn.query_row("SELECT * FROM trades WHERE trade_no = ?1", [trade_no], Trade::from_row).optional()?;
        match trade {
            Some(t) => Ok(Some(settle(&conn, t, now)?)),
            None => Ok(None),
        }
    }

    pub fn trade_by_id(&self, id: i64, now: OffsetDateTime) -> Result<Option<Trade>> {
        let conn = self.conn()?;
        let trade = conn.query_row("SELECT * FROM trades WHERE id = ?1", [id], Trade::from_row).optional()?;
        match trade {
            Some(t) => Ok(Some(settle(&conn, t, now)?)),
            None => Ok(None),
        }
    }

    /// The trade a refund with this out_request_no belongs to, within one merchant account.
    pub fn trade_of_refund(&self, scope: Scope<'_>, out_request_no: &str) -> Result<Option<Trade>> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                "SELECT t.* FROM trades t JOIN refunds r ON r.trade_id = t.id
                 WHERE t.protocol = ?1 AND t.account = ?2 AND r.out_request_no = ?3 AND (?4 = 0 OR t.acquirer_id = ?5)
                 ORDER BY r.id LIMIT 1",
                params![scope.protocol.as_str(), scope.account, out_request_no, scope.strict, scope.acquirer_id],
                Trade::from_row,
            )
            .optional()?)
    }

    pub fn trade_by_qr_code(&self, qr_code: &str, now: OffsetDateTime) -> Result<Option<Trade>> {
        let conn = self.conn()?;
        let trade = conn.query_row("SELECT * FROM trades WHERE qr_code = ?1", [qr_code], Trade::from_row).optional()?;
        match trade {
            Some(t) => Ok(Some(settle(&conn, t, now)?)),
            None => Ok(None),
        }
    }

    /// Records a new trade. The (protocol, account, out_trade_no) key is unique: the caller checks first, and a race
    /// loses with a constraint error rather than a second charge.
    pub fn insert_trade(&self, scope: Scope<'_>, new: NewTrade, now: OffsetDateTime) -> Result<Trade> {
        let (protocol, account) = (scope.protocol, scope.account);
        let conn = self.conn()?;
        let status = new.status.unwrap_or(TradeStatus::Paid);
        let trade_no = next_trade_no(&conn, protocol, now)?;
        let buyer_id = match protocol {
            Protocol::Alipay => format!("2088{:012}", (now.unix_timestamp() as u64) % 1_000_000_000_000),
            Protocol::Wechatpay => format!("oSandbox{:010}", (now.unix_timestamp() as u64) % 10_000_000_000),
        };
        let now_s = format_time(now);
        let paid_at = (status == TradeStatus::Paid).then(|| now_s.clone());
        let closed_at = matches!(status, TradeStatus::Closed | TradeStatus::Reversed).then(|| now_s.clone());
        conn.execute(
            "INSERT INTO trades (protocol, account, out_trade_no, trade_no, auth_code, subject, total_amount, status,
                pays_at, source, store_id, terminal_id, operator_id, buyer_id, qr_code, created_at, paid_at, closed_at,
                acquirer_id, merchant_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            params![
                protocol.as_str(),
                account,
                new.out_trade_no,
                trade_no,
                new.auth_code,
                new.subject,
                new.total_amount,
                status.as_str(),
                new.pays_at.map(format_time),
                new.source,
                new.store_id,
                new.terminal_id,
                new.operator_id,
                buyer_id,
                new.qr_code,
                now_s,
                paid_at,
                closed_at,
                scope.acquirer_id,
                new.merchant_id,
            ],
        )?;
        let id = conn.last_insert_rowid();
        Ok(conn.query_row("SELECT * FROM trades WHERE id = ?1", [id], Trade::from_row)?)
    }

    /// Closes an unpaid trade (as `unpaid_becomes`: Alipay closes, WeChat revokes) or reverses a paid one (the money
    /// goes back in full). Returns the trade afterwards and the action taken ("close" or "refund"). A trade already
    /// closed or reversed keeps its first action.
    pub fn cancel_trade(
        &self,
        id: i64,
        unpaid_becomes: TradeStatus,
        now: OffsetDateTime,
    ) -> Result<(Trade, &'static str)> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let trade = tx.query_row("SELECT * FROM trades WHERE id = ?1", [id], Trade::from_row)?;
        let trade = settle(&tx, trade, now)?;
        let now_s = format_time(now);
        let action = match trade.status {
            TradeStatus::Waiting => {
                tx.execute(
                    "UPDATE trades SET status = ?3, cancel_action = 'close', closed_at = ?2 WHERE id = ?1",
                    params![id, now_s, unpaid_becomes.as_str()],
                )?;
                "close"
            }
            TradeStatus::Paid => {
                tx.execute(
                    "UPDATE trades SET status = 'REVERSED', cancel_action = 'refund', closed_at = ?2,
                        refunded_amount = total_amount WHERE id = ?1",
                    params![id, now_s],
                )?;
                "refund"
            }
            TradeStatus::Closed | TradeStatus::Reversed => {
                if trade.cancel_action.as_deref() == Some("refund") {
                    "refund"
                } else {
                    "close"
                }
            }
        };
        let trade = tx.query_row("SELECT * FROM trades WHERE id = ?1", [id], Trade::from_row)?;
        tx.commit()?;
        Ok((trade, action))
    }

    /// Closes a waiting trade (alipay.trade.close). Returns None when the trade is not waiting.
    pub fn close_waiting(&self, id: i64, now: OffsetDateTime) -> Result<Option<Trade>> {
        let conn = self.conn()?;
        let changed = conn.execute(
            "UPDATE trades SET status = 'CLOSED', closed_at = ?2 WHERE id = ?1 AND status = 'WAITING'",
            params![id, format_time(now)],
        )?;
        if changed == 0 {
            return Ok(None);
        }
        Ok(Some(conn.query_row("SELECT * FROM trades WHERE id = ?1", [id], Trade::from_row)?))
    }

    /// A wallet scanned a waiting trade and will confirm at `pays_at` (settled by the next look at the trade).
    /// False when the trade is not waiting.
    pub fn pay_later(&self, id: i64, pays_at: OffsetDateTime) -> Result<bool> {
        let conn = self.conn()?;
        let changed = conn.execute(
            "UPDATE trades SET pays_at = ?2 WHERE id = ?1 AND status = 'WAITING'",
            params![id, format_time(pays_at)],
        )?;
        Ok(changed > 0)
    }

    /// A wallet paid a waiting trade (dynamic code scanned).
    pub fn pay_waiting(&self, id: i64, now: OffsetDateTime) -> Result<Option<Trade>> {
        let conn = self.conn()?;
        let changed = conn.execute(
            "UPDATE trades SET status = 'PAID', paid_at = ?2 WHERE id = ?1 AND status = 'WAITING'",
            params![id, format_time(now)],
        )?;
        if changed == 0 {
            return Ok(None);
        }
        Ok(Some(conn.query_row("SELECT * FROM trades WHERE id = ?1", [id], Trade::from_row)?))
    }

    /// Refunds part or all of a paid trade, idempotently per out_request_no, in one transaction.
    pub fn refund(
        &self,
        trade_id: i64,
        out_request_no: &str,
        amount: i64,
        reason: &str,
        completes_after: time::Duration,
        now: OffsetDateTime,
    ) -> Result<Result<RefundOutcome, RefundRefusal>> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let trade = tx.query_row("SELECT * FROM trades WHERE id = ?1", [trade_id], Trade::from_row)?;
        let trade = settle(&tx, trade, now)?;
        let existing = tx
            .query_row(
                "SELECT * FROM refunds WHERE trade_id = ?1 AND out_request_no = ?2",
                params![trade_id, out_request_no],
                Refund::from_row,
            )
            .optional()?;
        if let Some(existing) = existing {
            return Ok(if existing.amount == amount {
                Ok(RefundOutcome::Repeated(existing, trade))
            } else {
                Err(RefundRefusal::Discordant)
            });
        }
        if trade.status != TradeStatus::Paid {
            return Ok(Err(RefundRefusal::TradeNotPaid));
        }
        if amount <= 0 || amount > trade.refundable() {
            return Ok(Err(RefundRefusal::ExceedsRefundable { refundable: trade.refundable() }));
        }
        let refund_no = next_refund_no(&tx, now)?;
        tx.execute(
            "INSERT INTO refunds (trade_id, out_request_no, refund_no, amount, reason, created_at, succeeds_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                trade_id,
                out_request_no,
                refund_no,
                amount,
                reason,
                format_time(now),
                format_time(now + completes_after)
            ],
        )?;
        tx.execute(
            "UPDATE trades SET refunded_amount = refunded_amount + ?2 WHERE id = ?1",
            params![trade_id, amount],
        )?;
        let refund = tx.query_row("SELECT * FROM refunds WHERE refund_no = ?1", [&refund_no], Refund::from_row)?;
        let trade = tx.query_row("SELECT * FROM trades WHERE id = ?1", [trade_id], Trade::from_row)?;
        tx.commit()?;
        Ok(Ok(RefundOutcome::Created(refund, trade)))
    }

    pub fn refunds_of(&self, trade_id: i64) -> Result<Vec<Refund>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT * FROM refunds WHERE trade_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([trade_id], Refund::from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn refund_by_no(&self, refund_no: &str) -> Result<Option<Refund>> {
        let conn = self.conn()?;
        Ok(conn.query_row("SELECT * FROM refunds WHERE refund_no = ?1", [refund_no], Refund::from_row).optional()?)
    }

    /// Trades of an account paid within [from, to) (UTC RFC 3339 bounds), and refunds created within it.
    pub fn bill_entries(&self, scope: Scope<'_>, from: OffsetDateTime, to: OffsetDateTime) -> Result<BillEntries> {
        let conn = self.conn()?;
        let (protocol, account) = (scope.protocol, scope.account);
        let mut stmt = conn.prepare(
            "SELECT * FROM trades WHERE protocol = ?1 AND account = ?2 AND paid_at IS NOT NULL
                AND (?3 = 0 OR acquirer_id = ?4) ORDER BY paid_at, id",
        )?;
        let in_range = |s: Option<&str>| s.and_then(parse_time).is_some_and(|t| t >= from && t < to);
        let trades: Vec<Trade> = stmt
            .query_map(params![protocol.as_str(), account, scope.strict, scope.acquirer_id], Trade::from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter(|t| in_range(t.paid_at.as_deref()))
            .collect();
        let mut stmt = conn.prepare(
            "SELECT r.*, t.id AS t_id FROM refunds r JOIN trades t ON t.id = r.trade_id
             WHERE t.protocol = ?1 AND t.account = ?2 AND (?3 = 0 OR t.acquirer_id = ?4) ORDER BY r.created_at, r.id",
        )?;
        let refunds: Vec<Refund> = stmt
            .query_map(params![protocol.as_str(), account, scope.strict, scope.acquirer_id], Refund::from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter(|r| in_range(Some(&r.created_at)))
            .collect();
        let mut with_trades = Vec::with_capacity(refunds.len());
        for r in refunds {
            let t = conn.query_row("SELECT * FROM trades WHERE id = ?1", [r.trade_id], Trade::from_row)?;
            with_trades.push((r, t));
        }
        Ok((trades, with_trades))
    }

    /// Paid trades of an account reversed (Alipay trade.cancel with action=refund, WeChat reverse) within
    /// [from, to): the money went back in full at `closed_at`.
    pub fn reversals(&self, scope: Scope<'_>, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<Trade>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT * FROM trades WHERE protocol = ?1 AND account = ?2 AND status = 'REVERSED'
                AND cancel_action = 'refund' AND paid_at IS NOT NULL AND (?3 = 0 OR acquirer_id = ?4)
             ORDER BY closed_at, id",
        )?;
        let trades = stmt
            .query_map(
                params![scope.protocol.as_str(), scope.account, scope.strict, scope.acquirer_id],
                Trade::from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(trades
            .into_iter()
            .filter(|t| t.closed_at.as_deref().and_then(parse_time).is_some_and(|c| c >= from && c < to))
            .collect())
    }

    /// Everything, for `GET /admin/ledger`.
    pub fn dump(&self) -> Result<serde_json::Value> {
        let conn = self.conn()?;
        let trades = conn
            .prepare("SELECT * FROM trades ORDER BY id")?
            .query_map([], Trade::from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let refunds = conn
            .prepare("SELECT * FROM refunds ORDER BY id")?
            .query_map([], Refund::from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let merchants = query_json(
            &conn,
            "SELECT acquirer_id, merchant_id, status, reason, account, created_at FROM acquirer_merchants ORDER BY rowid",
        )?;
        let cds = query_json(&conn, "SELECT cds_index, platform_id, created_at FROM cds_indexes ORDER BY rowid")?;
        let bindings =
            query_json(&conn, "SELECT cds_index, acquirer_id, merchant_id, bound_at FROM cds_bindings ORDER BY rowid")?;
        let notifications = query_json(
            &conn,
            "SELECT id, protocol, trade_no, url, attempts, next_at, delivered_at, last_error FROM notifications ORDER BY id",
        )?;
        Ok(serde_json::json!({
            "trades": trades,
            "refunds": refunds,
            "acquirer_merchants": merchants,
            "cds_indexes": cds,
            "cds_bindings": bindings,
            "notifications": notifications,
        }))
    }
}

/// Brings a ledger made before trades recorded their acquirer up to date: the shared gateways took them, so they
/// belong to ALIPAY or WECHATPAY; a WeChat trade's merchant id is its mch_id (Alipay's pids come from
/// `backfill_alipay_merchant_ids`).
fn migrate(conn: &Connection) -> Result<()> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('trades')")?;
    let columns: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    if !columns.iter().any(|c| c == "acquirer_id") {
        conn.execute_batch(
            "ALTER TABLE trades ADD COLUMN acquirer_id TEXT NOT NULL DEFAULT '';
             UPDATE trades SET acquirer_id = CASE protocol WHEN 'wechatpay' THEN 'WECHATPAY' ELSE 'ALIPAY' END;",
        )?;
    }
    if !columns.iter().any(|c| c == "merchant_id") {
        conn.execute_batch(
            "ALTER TABLE trades ADD COLUMN merchant_id TEXT NOT NULL DEFAULT '';
             UPDATE trades SET merchant_id = account WHERE protocol = 'wechatpay';",
        )?;
    }
    Ok(())
}

/// A waiting trade whose customer has paid by `now` becomes PAID (at the time the customer paid).
fn settle(conn: &Connection, trade: Trade, now: OffsetDateTime) -> Result<Trade> {
    if trade.status != TradeStatus::Waiting {
        return Ok(trade);
    }
    let Some(pays_at) = trade.pays_at.as_deref().and_then(parse_time) else { return Ok(trade) };
    if pays_at > now {
        return Ok(trade);
    }
    conn.execute(
        "UPDATE trades SET status = 'PAID', paid_at = ?2 WHERE id = ?1 AND status = 'WAITING'",
        params![trade.id, format_time(pays_at)],
    )?;
    Ok(conn.query_row("SELECT * FROM trades WHERE id = ?1", [trade.id], Trade::from_row)?)
}

/// Alipay trade numbers look like `2026112522001400000000000001` (date, channel digits, sequence); WeChat
/// transaction ids like `4200000000202611250000000001`.
fn next_trade_no(conn: &Connection, protocol: Protocol, now: OffsetDateTime) -> Result<String> {
    let seq: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM trades", [], |r| r.get(0))?;
    let date = china_date_compact(now);
    Ok(match protocol {
        Protocol::Alipay => format!("{date}220014{seq:014}"),
        Protocol::Wechatpay => format!("4200000{date}{seq:013}"),
    })
}

fn next_refund_no(conn: &Connection, now: OffsetDateTime) -> Result<String> {
    let seq: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM refunds", [], |r| r.get(0))?;
    Ok(format!("5030{}{seq:012}", china_date_compact(now)))
}

/// yyyyMMdd in China time (GMT+8), the acquirers' business day.
pub fn china_date_compact(t: OffsetDateTime) -> String {
    let d = t.to_offset(china_offset()).date();
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

pub fn china_offset() -> time::UtcOffset {
    crate::time::CHINA
}

fn query_json(conn: &Connection, sql: &str) -> Result<Vec<serde_json::Value>> {
    let mut stmt = conn.prepare(sql)?;
    let names: Vec<String> = stmt.column_names().map(String::from).collect();
    let rows = stmt.query_map([], |r| {
        let mut obj = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => serde_json::Value::Null,
                rusqlite::types::ValueRef::Integer(n) => n.into(),
                rusqlite::types::ValueRef::Real(f) => serde_json::json!(f),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                rusqlite::types::ValueRef::Blob(_) => serde_json::Value::Null,
            };
            obj.insert(name.clone(), v);
        }
        Ok(serde_json::Value::Object(obj))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn scope(protocol: Protocol, account: &str) -> Scope<'_> {
        Scope { protocol, acquirer_id: "ALIPAY", account, strict: false }
    }

    fn paid(l: &Ledger, out: &str, amount: i64) -> Trade {
        let new = NewTrade {
            out_trade_no: out.into(),
            subject: "咖啡".into(),
            total_amount: amount,
            source: "barcode",
            ..Default::default()
        };
        l.insert_trade(scope(Protocol::Alipay, "app"), new, now()).unwrap()
    }

    #[test]
    fn one_charge_per_out_trade_no() {
        let l = Ledger::open_in_memory().unwrap();
        paid(&l, "T1", 100);
        let again = NewTrade { out_trade_no: "T1".into(), total_amount: 100, source: "barcode", ..Default::default() };
        assert!(l.insert_trade(scope(Protocol::Alipay, "app"), again.clone(), now()).is_err());
        // Another merchant account may use the same out_trade_no.
        assert!(l.insert_trade(scope(Protocol::Alipay, "other"), again, now()).is_ok());
    }

    #[test]
    fn refunds_are_idempotent_and_bounded() {
        let l = Ledger::open_in_memory().unwrap();
        let t = paid(&l, "T1", 1000);
        let d = time::Duration::ZERO;
        assert!(matches!(l.refund(t.id, "R1", 600, "", d, now()).unwrap(), Ok(RefundOutcome::Created(..))));
        assert!(matches!(l.refund(t.id, "R1", 600, "", d, now()).unwrap(), Ok(RefundOutcome::Repeated(..))));
        assert_eq!(l.refund(t.id, "R1", 500, "", d, now()).unwrap().unwrap_err(), RefundRefusal::Discordant);
        assert_eq!(
            l.refund(t.id, "R2", 401, "", d, now()).unwrap().unwrap_err(),
            RefundRefusal::ExceedsRefundable { refundable: 400 }
        );
        assert!(l.refund(t.id, "R2", 400, "", d, now()).unwrap().is_ok());
        let t = l.find_trade(scope(Protocol::Alipay, "app"), Some("T1"), None, now()).unwrap().unwrap();
        assert_eq!(t.refunded_amount, 1000);
    }

    #[test]
    fn a_waiting_trade_is_paid_when_the_customer_confirms() {
        let l = Ledger::open_in_memory().unwrap();
        let start = now();
        let new = NewTrade {
            out_trade_no: "W1".into(),
            total_amount: 100,
            status: Some(TradeStatus::Waiting),
            pays_at: Some(start + time::Duration::seconds(10)),
            source: "barcode",
            ..Default::default()
        };
        l.insert_trade(scope(Protocol::Wechatpay, "mch"), new, start).unwrap();
        let t = l.find_trade(scope(Protocol::Wechatpay, "mch"), Some("W1"), None, start).unwrap().unwrap();
        assert_eq!(t.status, TradeStatus::Waiting);
        let later = start + time::Duration::seconds(11);
        let t = l.find_trade(scope(Protocol::Wechatpay, "mch"), Some("W1"), None, later).unwrap().unwrap();
        assert_eq!(t.status, TradeStatus::Paid);
    }

    #[test]
    fn an_acquirers_gateway_sees_only_its_own_trades() {
        let l = Ledger::open_in_memory().unwrap();
        let p1 = Scope { protocol: Protocol::Alipay, acquirer_id: "PARTNER1", account: "app", strict: true };
        let new = NewTrade {
            out_trade_no: "T1".into(),
            merchant_id: "PARTNER1M00000001".into(),
            total_amount: 100,
            source: "barcode",
            ..Default::default()
        };
        let t = l.insert_trade(p1, new, now()).unwrap();
        assert_eq!((t.acquirer_id.as_str(), t.merchant_id.as_str()), ("PARTNER1", "PARTNER1M00000001"));
        let other = Scope { acquirer_id: "ALIPAY", ..p1 };
        assert!(l.find_trade(other, Some("T1"), None, now()).unwrap().is_none());
        assert!(l.find_trade(p1, None, Some(&t.trade_no), now()).unwrap().is_some());
        // The shared gateway sees every trade of the account, as before.
        assert!(l.find_trade(Scope { strict: false, ..other }, Some("T1"), None, now()).unwrap().is_some());
        let day = (now() - time::Duration::days(1), now() + time::Duration::days(1));
        assert_eq!(l.bill_entries(p1, day.0, day.1).unwrap().0.len(), 1);
        assert!(l.bill_entries(other, day.0, day.1).unwrap().0.is_empty());
    }

    #[test]
    fn a_ledger_from_before_acquirers_gets_its_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE trades (id INTEGER PRIMARY KEY, protocol TEXT NOT NULL, account TEXT NOT NULL,
                    out_trade_no TEXT NOT NULL, trade_no TEXT NOT NULL UNIQUE, auth_code TEXT,
                    subject TEXT NOT NULL DEFAULT '', total_amount INTEGER NOT NULL,
                    refunded_amount INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, pays_at TEXT,
                    source TEXT NOT NULL, store_id TEXT, terminal_id TEXT, operator_id TEXT, buyer_id TEXT NOT NULL,
                    cancel_action TEXT, qr_code TEXT, created_at TEXT NOT NULL, paid_at TEXT, closed_at TEXT,
                    UNIQUE (protocol, account, out_trade_no));
                 INSERT INTO trades (protocol, account, out_trade_no, trade_no, total_amount, status, source, buyer_id,
                    created_at) VALUES
                    ('alipay', 'app', 'A1', '1', 100, 'PAID', 'barcode', 'b', '2026-11-25T00:00:00Z'),
                    ('wechatpay', 'mch', 'W1', '2', 100, 'PAID', 'barcode', 'b', '2026-11-25T00:00:00Z');",
            )
            .unwrap();
        }
        let l = Ledger::open(&path).unwrap();
        l.backfill_alipay_merchant_ids(&[("app".into(), "2088000000000001".into())]).unwrap();
        let a = l.trade_by_trade_no("1", now()).unwrap().unwrap();
        let w = l.trade_by_trade_no("2", now()).unwrap().unwrap();
        assert_eq!((a.acquirer_id.as_str(), a.merchant_id.as_str()), ("ALIPAY", "2088000000000001"));
        assert_eq!((w.acquirer_id.as_str(), w.merchant_id.as_str()), ("WECHATPAY", "mch"));
        drop(l);
        // Opening again changes nothing.
        let l = Ledger::open(&path).unwrap();
        assert_eq!(l.trade_by_trade_no("2", now()).unwrap().unwrap().acquirer_id, "WECHATPAY");
    }

    #[test]
    fn cancel_closes_unpaid_and_reverses_paid() {
        let l = Ledger::open_in_memory().unwrap();
        let t = paid(&l, "P1", 100);
        let (t, action) = l.cancel_trade(t.id, TradeStatus::Closed, now()).unwrap();
        assert_eq!((t.status, action, t.refunded_amount), (TradeStatus::Reversed, "refund", 100));
        let (_, again) = l.cancel_trade(t.id, TradeStatus::Closed, now()).unwrap();
        assert_eq!(again, "refund");
        // The bill writers see the reversal on the day of the cancel; an unpaid trade closed is no reversal.
        let day = (now() - time::Duration::days(1), now() + time::Duration::days(1));
        let unpaid = NewTrade {
            out_trade_no: "U1".into(),
            total_amount: 100,
            status: Some(TradeStatus::Waiting),
            source: "barcode",
            ..Default::default()
        };
        let u = l.insert_trade(scope(Protocol::Alipay, "app"), unpaid, now()).unwrap();
        l.cancel_trade(u.id, TradeStatus::Closed, now()).unwrap();
        let reversed: Vec<String> = l
            .reversals(scope(Protocol::Alipay, "app"), day.0, day.1)
            .unwrap()
            .into_iter()
            .map(|t| t.out_trade_no)
            .collect();
        assert_eq!(reversed, ["P1"]);
        assert!(
            l.reversals(scope(Protocol::Alipay, "app"), day.1, day.1 + time::Duration::days(1)).unwrap().is_empty()
        );
    }
}
