//! The pay → poll → cancel/reverse engine, as the seeds describe it.
//!
//! - Write-ahead: the order is committed as PAYING before the first byte goes to the acquirer.
//! - Paid → PAID. Waiting for the password or unknown → query every `poll_interval` for up to `poll_window`.
//!   Still not paid (or the cashier cancels) → cancel (Alipay, again while retry_flag=Y) / reverse (WeChat, again
//!   while recall=Y) until the acquirer confirms. A definite failure → FAILED with the acquirer's reason.
//! - A cancel that cannot be confirmed leaves the order NEEDS_ATTENTION with an outbox entry: never dropped.
//! - Every step is an order event. Time is injected ([`Clock`]) so tests run the 5 s / 30 s rules in microseconds.
//! - [`Checkout::recover`] resumes every unfinished order on start, before the till takes a new payment.

mod clock;
mod dynamic;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use clock::{Clock, ManualClock, SystemClock};
pub use dynamic::{DynamicInput, DynamicProgress, DynamicSale, DynamicSettings, DynamicStart};

use crate::channel::auth_code::NotAPaymentCode;
use crate::channel::{AuthCode, CancelResult, Channel, Failure, PayRequest, PayResult, QueryResult, TradeInfo};
use crate::model::{AcquirerKind, OperatorId, Order, OrderId, OrderStatus, StoreId};
use crate::money::Amount;
use crate::routing::{RouteError, Router, wallet_of};
use crate::store::orders::NewOrder;
use crate::store::transitions::{Attention, Mismatch, OrderMove, OrderMoved, PaidFacts};
use crate::store::{Store, StoreError};

/// The seeds' rule: query every 5 s for up to 30 s; cancel again 2 s apart while asked to, up to 10 times. A
/// transient error (no answer, a system error) is asked again `query_retries` times, `query_backoff` doubling,
/// before anything is cancelled. The cashier is free after `cashier_deadline` whatever the network does: a cancel
/// not confirmed by then continues in the background (outbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutSettings {
    pub poll_interval: Duration,
    pub poll_window: Duration,
    pub cancel_retry_interval: Duration,
    pub max_cancel_attempts: u32,
    pub query_retries: u32,
    pub query_backoff: Duration,
    pub cashier_deadline: Duration,
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        CheckoutSettings {
            poll_interval: Duration::from_secs(5),
            poll_window: Duration::from_secs(30),
            cancel_retry_interval: Duration::from_secs(2),
            max_cancel_attempts: 10,
            query_retries: 3,
            query_backoff: Duration::from_secs(1),
            cashier_deadline: Duration::from_secs(45),
        }
    }
}

impl CheckoutSettings {
    pub const POLL_INTERVAL_KEY: &'static str = "checkout.poll_interval_secs";
    pub const POLL_WINDOW_KEY: &'static str = "checkout.poll_window_secs";

    /// The settings stored in the database, with the seeds' values where unset or unreadable.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let mut s = CheckoutSettings::default();
        let secs = |key| -> Result<Option<u64>, StoreError> {
            Ok(store.setting(key)?.and_then(|v| v.parse::<u64>().ok()).filter(|v| *v > 0 && *v <= 600))
        };
        if let Some(v) = secs(Self::POLL_INTERVAL_KEY)? {
            s.poll_interval = Duration::from_secs(v);
        }
        if let Some(v) = secs(Self::POLL_WINDOW_KEY)? {
            s.poll_window = Duration::from_secs(v);
        }
        // The cashier's bound stays 15 s beyond the poll window (45 s with the seeds' 30 s).
        s.cashier_deadline = s.poll_window + Duration::from_secs(15);
        Ok(s)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error(transparent)]
    NotAPaymentCode(#[from] NotAPaymentCode),
    /// The store takes no codes of this wallet, or its acquirer is not set up: nothing was written.
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error("the amount must be more than 0.00")]
    ZeroAmount,
    /// More than the protocol can carry (Alipay: 100,000,000.00 a trade; WeChat Pay: total_fee is an Int of fen).
    #[error("{amount} is more than {wallet_en} takes in one payment (at most {max})", wallet_en = .wallet.label(crate::i18n::Lang::En))]
    AmountTooLarge { amount: Amount, max: Amount, wallet: crate::model::Wallet },
    #[error("the local database failed: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Busy(&'static str),
}

/// What the cashier typed and scanned.
#[derive(Debug, Clone)]
pub struct PaymentInput {
    pub amount: Amount,
    /// Masked in `Debug`, wiped when dropped.
    pub auth_code: AuthCode,
    pub subject: String,
    /// The store taking the payment: its routes choose the acquirer.
    pub store_id: StoreId,
    /// The signed-in operator (None when nobody is signed in).
    pub operator_id: Option<OperatorId>,
    /// This till (Settings → This till), sent as terminal_id / device_info.
    pub terminal_id: Option<String>,
}

/// Live progress for the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The order is written (PAYING) and the request is on its way.
    Sending { out_trade_no: String },
    /// Waiting for the customer (password) or for the result; `elapsed` since the pay request.
    Waiting { elapsed: Duration, polls: u32 },
    /// Cancelling / reversing; `attempt` counts from 1.
    Cancelling { attempt: u32 },
}

/// How a payment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Paid {
        trade_no: Option<String>,
        paid_at: Option<String>,
    },
    /// A definite refusal: nothing was charged; try again with a new code.
    Failed(Failure),
    /// Cancelled or reversed, confirmed by the acquirer; `refunded` when money had been taken and went back.
    Cancelled {
        refunded: bool,
    },
    /// Closed at the acquirer without payment.
    Closed,
    /// The cancel/reverse could not be confirmed in the cashier's time; the sync worker keeps trying (outbox).
    NeedsAttention {
        reason: String,
    },
    /// The acquirer says it was paid, but its amount, currency or merchant differ from the order: NEEDS_ATTENTION
    /// with both figures, for a person to decide. Never PAID.
    Mismatch(Mismatch),
}

/// Orders a checkout (or recovery) in this process is working on right now.
static ACTIVE: crate::ownership::InFlight = crate::ownership::InFlight::new();

/// Whether a checkout in this process is taking the payment `out_trade_no` right now.
pub fn is_active(out_trade_no: &str) -> bool {
    ACTIVE.contains(out_trade_no)
}

/// Crash steps of a payment (`TILLDESK_CRASH_AT`): `after_write_ahead`, `after_pay_sent`, `after_first_poll`,
/// `before_cancel`, `after_cancel`.
use crate::ownership::crash_point;

/// The checkout engine: owns its own database connection and talks to the acquirers through the [`Router`].
pub struct Checkout {
    store: Mutex<Store>,
    router: Router,
    clock: Arc<dyn Clock>,
    settings: CheckoutSettings,
    /// Dynamic codes (主扫): see [`dynamic`].
    dynamic: DynamicSettings,
}

impl Checkout {
    pub fn new(store: Store, router: Router, clock: Arc<dyn Clock>, settings: CheckoutSettings) -> Self {
        Checkout { store: Mutex::new(store), router, clock, settings, dynamic: DynamicSettings::default() }
    }

    /// Opens its own connection to the database at `db_path`.
    pub fn open(
        db_path: &Path,
        router: Router,
        clock: Arc<dyn Clock>,
        settings: CheckoutSettings,
    ) -> Result<Self, StoreError> {
        Ok(Checkout::new(Store::open(db_path)?, router, clock, settings))
    }

    fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut guard = match self.store.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// The router this engine charges through (refunds use the same one).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    pub fn order(&self, out_trade_no: &str) -> Result<Option<Order>, StoreError> {
        self.with_store(|s| s.orders().order_by_out_trade_no(out_trade_no))
    }

    /// Whose wallet paid `order` (its acquirer's kind; an Alipay+ acquirer by name), for the screen and the voice.
    pub fn paid_with(&self, order: &Order) -> Option<crate::model::PaidWith> {
        self.router.account(order.acquirer_id).ok().map(|(a, _)| crate::model::PaidWith::of(&a))
    }

    /// Takes one payment to its end. `cancel` set by the cashier stops waiting and cancels/reverses.
    pub async fn pay(
        &self,
        input: PaymentInput,
        cancel: Arc<AtomicBool>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(Order, Outcome), CheckoutError> {
        // Refuse what is not a payment code, or a wallet the store takes no codes of, before anything is written or
        // sent.
        let wallet = wallet_of(input.auth_code.expose())?;
        if input.amount.fen() <= 0 {
            return Err(CheckoutError::ZeroAmount);
        }
        let max = max_amount(wallet);
        if input.amount > max {
            return Err(CheckoutError::AmountTooLarge { amount: input.amount, max, wallet });
        }
        let auth_code = input.auth_code.clone();
        let store_id = input.store_id;
        let routed = {
            let guard = match self.store.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            self.router.route(&guard, store_id, wallet)?
        };
        let channel = routed.channel.clone();
        let started = self.clock.now();
        let out_trade_no = new_out_trade_no(started);
        let new = NewOrder {
            out_trade_no: out_trade_no.clone(),
            store_id,
            acquirer_id: routed.acquirer.id,
            operator_id: input.operator_id,
            subject: input.subject.clone(),
            total_amount: input.amount,
            auth_code_masked: auth_code.masked(),
            acquirer_merchant_id: routed.merchant_id.clone(),
            terminal_id: input.terminal_id.clone(),
        };
        let working = ACTIVE.start(&out_trade_no);
        let request = PayRequest {
            out_trade_no: out_trade_no.clone(),
            auth_code,
            amount: input.amount,
            subject: input.subject,
            store_id: Some(self.with_store(|s| s.setup().store_code(store_id))?),
            terminal_id: input.terminal_id,
            operator_id: input.operator_id.map(|o| o.to_string()),
        };
        // Write-ahead: the order is durable before the first byte goes out. The request is signed meanwhile on the
        // preparing thread (signing sends nothing), so the fsync and the RSA work overlap.
        let signed = prepare_ahead(channel.clone(), request.clone());
        let order = self.with_store(|s| s.orders_mut().create_order(&new));
        // Waits for the signature (or for nothing, if the preparing thread is gone: `pay` then signs itself).
        let _ = signed.recv();
        let order = order?;
        crash_point("after_write_ahead");
        progress(Progress::Sending { out_trade_no: out_trade_no.clone() });
        tracing::info!(out_trade_no, acquirer = %routed.acquirer.name, wallet = %wallet, "pay request");
        // The pay request may not eat the cashier's whole time: what is left after it belongs to polling.
        let result = match self.bounded(self.settings.poll_window, channel.pay(&request)).await {
            Some(r) => r,
            None => PayResult::Unknown(format!("no answer within {} s", self.settings.poll_window.as_secs())),
        };
        crash_point("after_pay_sent");
        let outcome = match result {
            PayResult::Paid(info) => self.finish_paid(order.id, &info, "paid")?,
            PayResult::Failed(failure) => {
                let detail = format!("{}: {}", failure.code, failure.message);
                self.advance(order.id, &OrderMove::to(OrderStatus::Failed, "failed", &detail))?;
                Outcome::Failed(failure)
            }
            PayResult::Waiting(_) => {
                let waiting = OrderMove::to(OrderStatus::Paying, "waiting", "waiting for the customer's password");
                self.advance(order.id, &waiting)?;
                self.settle(order.id, &out_trade_no, channel.as_ref(), started, &cancel, progress).await?
            }
            PayResult::Unknown(why) => {
                self.advance(order.id, &OrderMove::to(OrderStatus::Unknown, "unknown", &why))?;
                self.settle(order.id, &out_trade_no, channel.as_ref(), started, &cancel, progress).await?
            }
        };
        drop(working);
        let order = self
            .with_store(|s| s.orders().order(order.id))?
            .ok_or(StoreError::NotFound { what: "order", key: out_trade_no.clone() })?;
        Ok((order, outcome))
    }

    /// Runs one acquirer call for at most `limit` (real time): a dead network cannot hold the cashier longer.
    async fn bounded<T>(&self, limit: Duration, call: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::time::timeout(limit.max(Duration::from_secs(1)), call).await.ok()
    }

    /// Every status change of the checkout goes through the order transition function.
    fn advance(&self, id: OrderId, m: &OrderMove<'_>) -> Result<OrderMoved, StoreError> {
        self.with_store(|s| s.orders_mut().move_order(id, m))
    }

    fn finish_paid(&self, id: OrderId, info: &TradeInfo, kind: &str) -> Result<Outcome, StoreError> {
        // Stored in UTC; the acquirer's own wording of the time stays in the event.
        let paid_at =
            info.paid_at.as_deref().and_then(crate::time::acquirer_time_to_utc).unwrap_or_else(crate::time::now_utc);
        let detail = format!(
            "{} {}",
            info.buyer.as_deref().unwrap_or_default(),
            info.paid_at.as_deref().map(|t| format!("(acquirer time {t})")).unwrap_or_default()
        );
        let facts = PaidFacts {
            amount: info.amount,
            currency: info.currency.as_deref(),
            merchant_id: info.merchant_id.as_deref(),
        };
        let paid = OrderMove::paid(kind, detail.trim(), info.trade_no.as_deref(), Some(&paid_at), facts);
        Ok(match self.advance(id, &paid)? {
            OrderMoved::Moved { .. } | OrderMoved::Stayed(_) => {
                Outcome::Paid { trade_no: info.trade_no.clone(), paid_at: Some(paid_at) }
            }
            OrderMoved::Mismatch { mismatch, .. } => Outcome::Mismatch(mismatch),
            OrderMoved::Refused { from, .. } => {
                Outcome::NeedsAttention { reason: format!("the acquirer says paid, but the order is {from}") }
            }
        })
    }

    /// A transient answer (no answer, a system error) is not a reason to cancel: ask again with backoff (1 s, 2 s,
    /// 4 s …) up to `query_retries` times, stopping at the first definite answer or at `until` (time since
    /// `started`). Every try is on the timeline.
    async fn query_again(
        &self,
        id: OrderId,
        out_trade_no: &str,
        channel: &dyn Channel,
        first: QueryResult,
        started: time::OffsetDateTime,
        until: Duration,
    ) -> Result<QueryResult, StoreError> {
        let mut last = first;
        let mut wait = self.settings.query_backoff;
        for attempt in 1..=self.settings.query_retries {
            let QueryResult::Unknown(why) = &last else { break };
            let left = until.saturating_sub(elapsed_since(self.clock.now(), started));
            if left <= wait {
                break;
            }
            let note = format!("#{attempt}: no definite answer ({why}); asking again in {} s", wait.as_secs_f32());
            self.with_store(|s| s.orders_mut().add_order_event(id, "query_again", &note))?;
            self.clock.sleep(wait).await;
            let left = until.saturating_sub(elapsed_since(self.clock.now(), started));
            last = self
                .bounded(left, channel.query(out_trade_no))
                .await
                .unwrap_or_else(|| QueryResult::Unknown("no answer in time".into()));
            wait = wait.saturating_mul(2);
        }
        Ok(last)
    }

    /// Polls until paid or the window closes (or the cashier cancels), then cancels/reverses.
    async fn settle(
        &self,
        id: OrderId,
        out_trade_no: &str,
        channel: &dyn Channel,
        started: time::OffsetDateTime,
        cancel: &AtomicBool,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Outcome, StoreError> {
        let mut polls = 0u32;
        let mut last_unknown: Option<String> = None;
        let why = loop {
            let elapsed = elapsed_since(self.clock.now(), started);
            if cancel.load(Ordering::SeqCst) {
                self.with_store(|s| s.orders_mut().add_order_event(id, "cashier_cancel", "the cashier cancelled"))?;
                break "the cashier cancelled".to_owned();
            }
            if elapsed >= self.settings.poll_window {
                let note = format!("not paid after {} s", elapsed.as_secs());
                self.with_store(|s| s.orders_mut().add_order_event(id, "poll_window_closed", &note))?;
                // The last answer was not definite: ask again (with backoff, in the cashier's time) before cancelling.
                if let Some(why) = last_unknown.take() {
                    let again = self
                        .query_again(id, out_trade_no, channel, QueryResult::Unknown(why), started, self.deadline())
                        .await?;
                    match again {
                        QueryResult::Paid(info) => return self.finish_paid(id, &info, "paid"),
                        QueryResult::Closed(_) => {
                            let closed =
                                OrderMove::to(OrderStatus::Closed, "closed", "the acquirer closed the trade unpaid");
                            self.advance(id, &closed)?;
                            return Ok(Outcome::Closed);
                        }
                        _ => {}
                    }
                }
                break format!("{note}: the customer did not confirm");
            }
            progress(Progress::Waiting { elapsed, polls });
            self.sleep_unless_cancelled(self.settings.poll_interval, cancel, started, progress, polls).await;
            if cancel.load(Ordering::SeqCst) {
                continue;
            }
            polls += 1;
            let left = self.settings.poll_window.saturating_sub(elapsed_since(self.clock.now(), started));
            let result = self
                .bounded(left, channel.query(out_trade_no))
                .await
                .unwrap_or_else(|| QueryResult::Unknown("no answer in time".into()));
            if polls == 1 {
                crash_point("after_first_poll");
            }
            last_unknown = None;
            match result {
                QueryResult::Paid(info) => return self.finish_paid(id, &info, "paid"),
                QueryResult::Closed(_) => {
                    self.advance(
                        id,
                        &OrderMove::to(OrderStatus::Closed, "closed", "the acquirer closed the trade unpaid"),
                    )?;
                    return Ok(Outcome::Closed);
                }
                QueryResult::Waiting(_) => {
                    self.with_store(|s| {
                        s.orders_mut().add_order_event(id, "poll", &format!("#{polls}: still waiting"))
                    })?;
                }
                QueryResult::NotFound => {
                    self.with_store(|s| {
                        s.orders_mut().add_order_event(id, "poll", &format!("#{polls}: not found yet"))
                    })?;
                }
                QueryResult::Unknown(why) => {
                    self.with_store(|s| {
                        s.orders_mut().add_order_event(id, "poll", &format!("#{polls}: unknown ({why})"))
                    })?;
                    last_unknown = Some(why);
                }
            }
        };
        self.cancel_until_confirmed(id, out_trade_no, channel, started, &why, progress).await
    }

    /// The cashier's bound: after this much time since the payment started, nothing more happens in the foreground.
    fn deadline(&self) -> Duration {
        self.settings.cashier_deadline.max(self.settings.poll_window)
    }

    /// Sleeps in short steps so a cashier's cancel is honoured at once, reporting elapsed time as it goes.
    async fn sleep_unless_cancelled(
        &self,
        total: Duration,
        cancel: &AtomicBool,
        started: time::OffsetDateTime,
        progress: &(dyn Fn(Progress) + Send + Sync),
        polls: u32,
    ) {
        let step = Duration::from_millis(250).min(total);
        let mut slept = Duration::ZERO;
        while slept < total && !cancel.load(Ordering::SeqCst) {
            let this = step.min(total - slept);
            self.clock.sleep(this).await;
            slept += this;
            progress(Progress::Waiting { elapsed: elapsed_since(self.clock.now(), started), polls });
        }
    }

    /// Cancel (Alipay) / reverse (WeChat) until the acquirer confirms, within the cashier's time (`started` +
    /// `cashier_deadline`); not confirmed by then → NEEDS_ATTENTION with the cancel in the outbox, where the sync
    /// worker keeps sending it. `why` goes on the timeline: the reason the cancel was started.
    async fn cancel_until_confirmed(
        &self,
        id: OrderId,
        out_trade_no: &str,
        channel: &dyn Channel,
        started: time::OffsetDateTime,
        why: &str,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Outcome, StoreError> {
        let verb = match channel.kind() {
            AcquirerKind::WechatPay => "reverse",
            _ => "cancel",
        };
        let detail = format!("asking the acquirer to {verb}: {why}");
        if let OrderMoved::Refused { from, .. } =
            self.advance(id, &OrderMove::to(OrderStatus::Cancelling, verb, &detail))?
        {
            // Paid or final meanwhile (a notification, another path): nothing to cancel.
            return Ok(Outcome::NeedsAttention { reason: format!("not cancelled: the order is {from}") });
        }
        crash_point("before_cancel");
        let mut last = String::new();
        for attempt in 1..=self.settings.max_cancel_attempts {
            let left = self.deadline().saturating_sub(elapsed_since(self.clock.now(), started));
            if attempt > 1 && left.is_zero() {
                break;
            }
            progress(Progress::Cancelling { attempt });
            let result = self
                .bounded(left, channel.cancel(out_trade_no))
                .await
                .unwrap_or_else(|| CancelResult::Unknown("no answer in time".into()));
            crash_point("after_cancel");
            match result {
                CancelResult::Done { refunded } => {
                    let detail = if refunded { "confirmed: the money went back to the customer" } else { "confirmed" };
                    self.advance(id, &OrderMove::to(OrderStatus::Cancelled, &format!("{verb}_confirmed"), detail))?;
                    return Ok(Outcome::Cancelled { refunded });
                }
                CancelResult::Failed(f) => {
                    last = format!("{}: {}", f.code, f.message);
                    break;
                }
                CancelResult::Retry(why) | CancelResult::Unknown(why) => {
                    last = why;
                    self.with_store(|s| {
                        s.orders_mut().add_order_event(id, &format!("{verb}_retry"), &format!("#{attempt}: {last}"))
                    })?;
                    let left = self.deadline().saturating_sub(elapsed_since(self.clock.now(), started));
                    if left.is_zero() {
                        break;
                    }
                    self.clock.sleep(self.settings.cancel_retry_interval.min(left)).await;
                }
            }
        }
        let reason = format!("the {verb} was not confirmed ({last}); TillDesk keeps trying in the background");
        let payload = serde_json::json!({ "out_trade_no": out_trade_no, "verb": verb }).to_string();
        self.with_store(|s| {
            let attention = OrderMove {
                attention: Some(Attention::Cancel),
                ..OrderMove::to(OrderStatus::NeedsAttention, "needs_attention", &reason)
            };
            s.orders_mut().move_order(id, &attention)?;
            s.sync_mut().enqueue_outbox(verb, &format!("{verb}:{out_trade_no}"), &payload)
        })?;
        Ok(Outcome::NeedsAttention { reason })
    }

    /// Crash recovery: every order left PAYING / UNKNOWN / CANCELLING / NEEDS_ATTENTION by a checkout that is gone
    /// (none in this process is working on it; no other process can be, see [`crate::ownership`]) is resolved with
    /// the acquirer: query (a transient error is asked again with backoff first); paid stays paid; anything else is
    /// cancelled so it can never be charged later. Orders whose figures did not match wait for a person. Returns the
    /// orders it touched with their outcomes.
    pub async fn recover(&self) -> Result<Vec<(String, Outcome)>, StoreError> {
        self.recover_scope(Recovery::All).await
    }

    /// Recovery before a window takes payments: only orders a crash left in flight (PAYING, UNKNOWN, CANCELLING, or
    /// NEEDS_ATTENTION without an outbox entry). Cancels already in the outbox are the sync worker's: the cashier
    /// does not wait for them.
    pub async fn recover_crashed(&self) -> Result<Vec<(String, Outcome)>, StoreError> {
        self.recover_scope(Recovery::Crashed).await
    }

    async fn recover_scope(&self, scope: Recovery) -> Result<Vec<(String, Outcome)>, StoreError> {
        let unfinished = self.with_store(|s| s.orders().unfinished_orders())?;
        let mut resolved = Vec::new();
        for order in unfinished {
            if is_active(&order.out_trade_no) {
                continue;
            }
            if scope == Recovery::Crashed && order.status == OrderStatus::NeedsAttention {
                let queued = self.with_store(|s| {
                    let mut queued = false;
                    for verb in ["cancel", "reverse"] {
                        queued |= s
                            .sync()
                            .outbox_entry(&format!("{verb}:{}", order.out_trade_no))?
                            .is_some_and(|e| e.delivered_at.is_none());
                    }
                    Ok(queued)
                })?;
                if queued {
                    continue;
                }
            }
            let channel = match self.router.for_order(&order) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(out_trade_no = order.out_trade_no, "no channel for an unfinished order: {e}");
                    continue;
                }
            };
            let working = ACTIVE.start(&order.out_trade_no);
            let started = self.clock.now();
            self.with_store(|s| {
                s.orders_mut().add_order_event(order.id, "recovery", "resuming: the checkout that took it is gone")
            })?;
            // A dynamic-code order is closed, never cancelled or reversed.
            let dynamic_row = self.with_store(|s| s.orders().dynamic_code(order.id))?;
            let outcome = if let Some(row) = &dynamic_row {
                self.recover_dynamic(&order, row, channel.as_ref()).await?
            } else if order.status == OrderStatus::Cancelling || order.status == OrderStatus::NeedsAttention {
                let why = "recovery: a cancel that was not confirmed";
                self.cancel_until_confirmed(order.id, &order.out_trade_no, channel.as_ref(), started, why, &|_| {})
                    .await?
            } else {
                let first = self
                    .bounded(self.deadline(), channel.query(&order.out_trade_no))
                    .await
                    .unwrap_or_else(|| QueryResult::Unknown("no answer in time".into()));
                let answer = self
                    .query_again(order.id, &order.out_trade_no, channel.as_ref(), first, started, self.deadline())
                    .await?;
                match answer {
                    QueryResult::Paid(info) => self.finish_paid(order.id, &info, "paid")?,
                    QueryResult::Closed(_) => {
                        self.advance(
                            order.id,
                            &OrderMove::to(OrderStatus::Closed, "closed", "closed at the acquirer"),
                        )?;
                        Outcome::Closed
                    }
                    // Waiting, or never arrived, or still no answer after asking again: the customer is gone; close
                    // the number for good.
                    QueryResult::Waiting(_) | QueryResult::NotFound | QueryResult::Unknown(_) => {
                        let why = match &answer {
                            QueryResult::Waiting(_) => "recovery: still waiting for a customer who is gone".to_owned(),
                            QueryResult::NotFound => "recovery: the acquirer never got the payment".to_owned(),
                            QueryResult::Unknown(w) => format!("recovery: still no answer after asking again ({w})"),
                            _ => String::new(),
                        };
                        self.cancel_until_confirmed(
                            order.id,
                            &order.out_trade_no,
                            channel.as_ref(),
                            started,
                            &why,
                            &|_| {},
                        )
                        .await?
                    }
                }
            };
            if matches!(outcome, Outcome::Cancelled { .. } | Outcome::Closed | Outcome::Paid { .. }) {
                self.with_store(|s| s.sync_mut().mark_outbox_delivered(&format!("cancel:{}", order.out_trade_no)))?;
                self.with_store(|s| s.sync_mut().mark_outbox_delivered(&format!("reverse:{}", order.out_trade_no)))?;
            }
            drop(working);
            resolved.push((order.out_trade_no, outcome));
        }
        Ok(resolved)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recovery {
    All,
    Crashed,
}

type PrepareJob = Box<dyn FnOnce() + Send>;

/// One long-lived thread that signs pay requests ahead while the checkout commits the write-ahead row (a thread of
/// its own: starting one per payment would cost about as much as it saves).
static PREPARER: std::sync::LazyLock<Mutex<Option<std::sync::mpsc::Sender<PrepareJob>>>> =
    std::sync::LazyLock::new(|| {
        let (tx, rx) = std::sync::mpsc::channel::<PrepareJob>();
        let started = std::thread::Builder::new().name("tilldesk-prepare".into()).spawn(move || {
            while let Ok(job) = rx.recv() {
                job();
            }
        });
        Mutex::new(started.ok().map(|_| tx))
    });

/// Starts `channel.prepare_pay(request)` on the preparing thread; the receiver hears when it is done (or at once,
/// disconnected, when there is no preparing thread).
fn prepare_ahead(channel: Arc<dyn Channel>, request: PayRequest) -> std::sync::mpsc::Receiver<()> {
    let (done, signed) = std::sync::mpsc::sync_channel(1);
    let job: PrepareJob = Box::new(move || {
        channel.prepare_pay(&request);
        let _ = done.send(());
    });
    let sender = match PREPARER.lock() {
        Ok(s) => s.clone(),
        Err(p) => p.into_inner().clone(),
    };
    if let Some(sender) = sender {
        // A send that fails drops the job and its `done`: the receiver then returns at once.
        let _ = sender.send(job);
    }
    signed
}

/// The most one payment may be, by the protocol of the wallet's acquirers: Alipay's total_amount is at most
/// 100,000,000.00; WeChat Pay's total_fee is an Int of fen (2,147,483,647 fen).
pub fn max_amount(wallet: crate::model::Wallet) -> Amount {
    match wallet {
        crate::model::Wallet::Alipay => Amount::from_fen(10_000_000_000),
        crate::model::Wallet::WechatPay => Amount::from_fen(i64::from(i32::MAX)),
    }
}

fn elapsed_since(now: time::OffsetDateTime, started: time::OffsetDateTime) -> Duration {
    Duration::try_from(now - started).unwrap_or(Duration::ZERO)
}

/// `TD` + yyyyMMddHHmmss (UTC) + 8 random characters: unique, ≤ 32 characters (WeChat's limit), letters and digits.
pub fn new_out_trade_no(now: time::OffsetDateTime) -> String {
    use rand::RngExt as _;
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let suffix: String = (0..8).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect();
    format!(
        "TD{:04}{:02}{:02}{:02}{:02}{:02}{suffix}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

#[cfg(test)]
mod tests;
