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

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use clock::{Clock, ManualClock, SystemClock};

use crate::channel::router::{NotAPaymentCode, mask_auth_code};
use crate::channel::{CancelResult, Channel, Failure, PayRequest, PayResult, QueryResult, TradeInfo};
use crate::model::{AcquirerKind, OperatorId, Order, OrderId, OrderStatus, StoreId};
use crate::money::Amount;
use crate::routing::{RouteError, Router, wallet_of};
use crate::store::orders::{NewOrder, StatusChange};
use crate::store::{Store, StoreError};

/// The seeds' rule: query every 5 s for up to 30 s; cancel again 2 s apart while asked to, up to 10 times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutSettings {
    pub poll_interval: Duration,
    pub poll_window: Duration,
    pub cancel_retry_interval: Duration,
    pub max_cancel_attempts: u32,
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        CheckoutSettings {
            poll_interval: Duration::from_secs(5),
            poll_window: Duration::from_secs(30),
            cancel_retry_interval: Duration::from_secs(2),
            max_cancel_attempts: 10,
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
    pub auth_code: String,
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
    /// The cancel/reverse could not be confirmed; the sync worker keeps trying.
    NeedsAttention {
        reason: String,
    },
}

/// A test hook: `TILLDESK_CRASH_AT=<step>` aborts the process at that step, as a power cut would. Steps:
/// `after_write_ahead`, `after_pay_sent`, `after_first_poll`, `before_cancel`, `after_cancel`.
fn crash_point(step: &str) {
    if std::env::var("TILLDESK_CRASH_AT").is_ok_and(|s| s == step) {
        eprintln!("TILLDESK_CRASH_AT={step}: aborting");
        std::process::abort();
    }
}

/// The checkout engine: owns its own database connection and talks to the acquirers through the [`Router`].
pub struct Checkout {
    store: Mutex<Store>,
    router: Router,
    clock: Arc<dyn Clock>,
    settings: CheckoutSettings,
}

impl Checkout {
    pub fn new(store: Store, router: Router, clock: Arc<dyn Clock>, settings: CheckoutSettings) -> Self {
        Checkout { store: Mutex::new(store), router, clock, settings }
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
        self.with_store(|s| s.order_by_out_trade_no(out_trade_no))
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
        let wallet = wallet_of(&input.auth_code)?;
        if input.amount.fen() <= 0 {
            return Err(CheckoutError::ZeroAmount);
        }
        let max = max_amount(wallet);
        if input.amount > max {
            return Err(CheckoutError::AmountTooLarge { amount: input.amount, max, wallet });
        }
        let auth_code = input.auth_code.trim().to_owned();
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
            auth_code_masked: mask_auth_code(&auth_code),
            acquirer_merchant_id: routed.merchant_id.clone(),
            terminal_id: input.terminal_id.clone(),
        };
        let order = self.with_store(|s| s.create_order(&new))?;
        crash_point("after_write_ahead");
        progress(Progress::Sending { out_trade_no: out_trade_no.clone() });
        tracing::info!(out_trade_no, acquirer = %routed.acquirer.name, wallet = %wallet, "pay request");
        let request = PayRequest {
            out_trade_no: out_trade_no.clone(),
            auth_code,
            amount: input.amount,
            subject: input.subject,
            store_id: Some(self.with_store(|s| s.store_code(store_id))?),
            terminal_id: input.terminal_id,
            operator_id: input.operator_id.map(|o| o.to_string()),
        };
        let result = channel.pay(&request).await;
        crash_point("after_pay_sent");
        let outcome = match result {
            PayResult::Paid(info) => self.finish_paid(order.id, &info, "paid")?,
            PayResult::Failed(failure) => {
                let detail = format!("{}: {}", failure.code, failure.message);
                self.set(order.id, OrderStatus::Failed, None, None, "failed", &detail)?;
                Outcome::Failed(failure)
            }
            PayResult::Waiting(_) => {
                self.set(order.id, OrderStatus::Paying, None, None, "waiting", "waiting for the customer's password")?;
                self.settle(order.id, &out_trade_no, channel.as_ref(), started, &cancel, progress).await?
            }
            PayResult::Unknown(why) => {
                self.set(order.id, OrderStatus::Unknown, None, None, "unknown", &why)?;
                self.settle(order.id, &out_trade_no, channel.as_ref(), started, &cancel, progress).await?
            }
        };
        let order = self.with_store(|s| s.order(order.id))?.ok_or(CheckoutError::Busy("the order vanished"))?;
        Ok((order, outcome))
    }

    fn set(
        &self,
        id: OrderId,
        status: OrderStatus,
        trade_no: Option<&str>,
        paid_at: Option<&str>,
        kind: &str,
        detail: &str,
    ) -> Result<Order, StoreError> {
        self.with_store(|s| {
            s.set_order_status(id, status, &StatusChange { trade_no, paid_at, event_kind: kind, detail })
        })
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
        let detail = detail.trim();
        self.set(id, OrderStatus::Paid, info.trade_no.as_deref(), Some(&paid_at), kind, detail)?;
        Ok(Outcome::Paid { trade_no: info.trade_no.clone(), paid_at: Some(paid_at) })
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
        loop {
            let elapsed = elapsed_since(self.clock.now(), started);
            if cancel.load(Ordering::SeqCst) {
                self.with_store(|s| s.add_order_event(id, "cashier_cancel", "the cashier cancelled"))?;
                break;
            }
            if elapsed >= self.settings.poll_window {
                self.with_store(|s| {
                    s.add_order_event(id, "poll_window_closed", &format!("not paid after {} s", elapsed.as_secs()))
                })?;
                break;
            }
            progress(Progress::Waiting { elapsed, polls });
            self.sleep_unless_cancelled(self.settings.poll_interval, cancel, started, progress, polls).await;
            if cancel.load(Ordering::SeqCst) {
                continue;
            }
            polls += 1;
            let result = channel.query(out_trade_no).await;
            if polls == 1 {
                crash_point("after_first_poll");
            }
            match result {
                QueryResult::Paid(info) => return self.finish_paid(id, &info, "paid"),
                QueryResult::Closed(_) => {
                    self.set(id, OrderStatus::Closed, None, None, "closed", "the acquirer closed the trade unpaid")?;
                    return Ok(Outcome::Closed);
                }
                QueryResult::Waiting(_) => {
                    self.with_store(|s| s.add_order_event(id, "poll", &format!("#{polls}: still waiting")))?;
                }
                QueryResult::NotFound => {
                    self.with_store(|s| s.add_order_event(id, "poll", &format!("#{polls}: not found yet")))?;
                }
                QueryResult::Unknown(why) => {
                    self.with_store(|s| s.add_order_event(id, "poll", &format!("#{polls}: unknown ({why})")))?;
                }
            }
        }
        self.cancel_until_confirmed(id, out_trade_no, channel, progress).await
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

    /// Cancel (Alipay) / reverse (WeChat) until the acquirer confirms; NEEDS_ATTENTION if it never does.
    async fn cancel_until_confirmed(
        &self,
        id: OrderId,
        out_trade_no: &str,
        channel: &dyn Channel,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Outcome, StoreError> {
        let verb = match channel.kind() {
            AcquirerKind::WechatPay => "reverse",
            _ => "cancel",
        };
        self.set(id, OrderStatus::Cancelling, None, None, verb, "asking the acquirer to cancel")?;
        crash_point("before_cancel");
        let mut last = String::new();
        for attempt in 1..=self.settings.max_cancel_attempts {
            progress(Progress::Cancelling { attempt });
            let result = channel.cancel(out_trade_no).await;
            crash_point("after_cancel");
            match result {
                CancelResult::Done { refunded } => {
                    let detail = if refunded { "confirmed: the money went back to the customer" } else { "confirmed" };
                    self.set(id, OrderStatus::Cancelled, None, None, &format!("{verb}_confirmed"), detail)?;
                    return Ok(Outcome::Cancelled { refunded });
                }
                CancelResult::Failed(f) => {
                    last = format!("{}: {}", f.code, f.message);
                    break;
                }
                CancelResult::Retry(why) | CancelResult::Unknown(why) => {
                    last = why;
                    self.with_store(|s| {
                        s.add_order_event(id, &format!("{verb}_retry"), &format!("#{attempt}: {last}"))
                    })?;
                    self.clock.sleep(self.settings.cancel_retry_interval).await;
                }
            }
        }
        let reason = format!("the {verb} was not confirmed ({last}); TillDesk keeps trying in the background");
        self.set(id, OrderStatus::NeedsAttention, None, None, "needs_attention", &reason)?;
        let payload = serde_json::json!({ "out_trade_no": out_trade_no, "verb": verb }).to_string();
        self.with_store(|s| s.enqueue_outbox(verb, &format!("{verb}:{out_trade_no}"), &payload))?;
        Ok(Outcome::NeedsAttention { reason })
    }

    /// Crash recovery: every order left PAYING / UNKNOWN / CANCELLING / NEEDS_ATTENTION is resolved with the
    /// acquirer (query; paid stays paid; anything else is cancelled so it can never be charged later).
    /// Returns the orders it touched with their outcomes.
    pub async fn recover(&self) -> Result<Vec<(String, Outcome)>, StoreError> {
        let unfinished = self.with_store(|s| s.unfinished_orders())?;
        let mut resolved = Vec::new();
        for order in unfinished {
            let channel = match self.router.for_order(&order) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(out_trade_no = order.out_trade_no, "no channel for an unfinished order: {e}");
                    continue;
                }
            };
            self.with_store(|s| s.add_order_event(order.id, "recovery", "resuming after a restart"))?;
            let outcome = if order.status == OrderStatus::Cancelling || order.status == OrderStatus::NeedsAttention {
                self.cancel_until_confirmed(order.id, &order.out_trade_no, channel.as_ref(), &|_| {}).await?
            } else {
                match channel.query(&order.out_trade_no).await {
                    QueryResult::Paid(info) => self.finish_paid(order.id, &info, "paid")?,
                    QueryResult::Closed(_) => {
                        self.set(order.id, OrderStatus::Closed, None, None, "closed", "closed at the acquirer")?;
                        Outcome::Closed
                    }
                    // Waiting, unknown, or never arrived: the customer is gone; close the number for good.
                    QueryResult::Waiting(_) | QueryResult::NotFound | QueryResult::Unknown(_) => {
                        self.cancel_until_confirmed(order.id, &order.out_trade_no, channel.as_ref(), &|_| {}).await?
                    }
                }
            };
            if !matches!(outcome, Outcome::NeedsAttention { .. }) {
                self.with_store(|s| s.mark_outbox_delivered(&format!("cancel:{}", order.out_trade_no)))?;
                self.with_store(|s| s.mark_outbox_delivered(&format!("reverse:{}", order.out_trade_no)))?;
            }
            resolved.push((order.out_trade_no, outcome));
        }
        Ok(resolved)
    }
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
