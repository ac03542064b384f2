//! Dynamic codes (主扫): the till shows a code for the amount and the customer scans it with Alipay or WeChat.
//!
//! The same rules as the barcode flow, with the same orders table and transition function:
//! - Write-ahead: the order (PAYING, with its `dynamic_codes` row) is committed before the acquirer is asked for a
//!   code (Alipay `alipay.trade.precreate`, WeChat Pay `unifiedorder` NATIVE), through the store's routed acquirer.
//! - One sale, one order number, one trade: a lost answer is asked again with the *same* order number (the
//!   acquirers answer a repeat with the same code), and the first code recorded is the one shown, for good.
//! - Waiting: query every `poll_interval` (injected clock) until paid, closed, expired or cancelled.
//! - Cancel or expiry: close the trade at the acquirer. A close that says "already paid" is a sale: the order is
//!   PAID (never lose a payment). The order stays PAYING while closing, so a payment found on the way can still
//!   settle it; a close that cannot be confirmed leaves it PAYING for recovery and the sync worker.
//! - Recovery ([`Checkout::recover`]) settles an open dynamic order left by a crash: query; paid → PAID; closed →
//!   CLOSED; otherwise close it (nobody shows its code any more) — paid meanwhile → PAID.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{ACTIVE, Checkout, CheckoutError, Outcome, crash_point, elapsed_since, max_amount, new_out_trade_no};
use crate::channel::{Channel, CloseResult, Failure, PrecreateRequest, PrecreateResult, QueryResult};
use crate::model::{OperatorId, Order, OrderId, OrderStatus, StoreId, Wallet};
use crate::money::Amount;
use crate::store::StoreError;
use crate::store::dynamic::DynamicCodeRow;
use crate::store::orders::NewOrder;
use crate::store::transitions::OrderMove;

/// The dynamic-code timings: query every 2 s; the code is payable for 5 minutes (WeChat's shortest NATIVE
/// `time_expire`); a close is sent again 2 s apart up to 5 times; a precreate without answer is sent again (same
/// order number) up to 3 times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamicSettings {
    pub poll_interval: Duration,
    pub validity: Duration,
    pub close_attempts: u32,
    pub close_retry_interval: Duration,
    pub precreate_attempts: u32,
}

impl Default for DynamicSettings {
    fn default() -> Self {
        DynamicSettings {
            poll_interval: Duration::from_secs(2),
            validity: Duration::from_secs(5 * 60),
            close_attempts: 5,
            close_retry_interval: Duration::from_secs(2),
            precreate_attempts: 3,
        }
    }
}

/// What the cashier asked for.
#[derive(Debug, Clone)]
pub struct DynamicInput {
    pub amount: Amount,
    pub subject: String,
    pub store_id: StoreId,
    /// Whose code to show; None: Alipay when the store takes Alipay, else WeChat Pay.
    pub wallet: Option<Wallet>,
    pub operator_id: Option<OperatorId>,
    pub terminal_id: Option<String>,
}

/// A code on screen, waiting for the customer. Clones share the "in flight" mark: while one lives, neither
/// recovery nor the sync worker touches the order.
#[derive(Debug, Clone)]
pub struct DynamicSale {
    pub order: Order,
    pub wallet: Wallet,
    /// The acquirer's name (its onboarding code or name).
    pub acquirer: String,
    /// The code text to render as a QR code, verbatim.
    pub code: String,
    /// When the code stops being payable (UTC).
    pub expires_at: time::OffsetDateTime,
    _working: Arc<crate::ownership::Working>,
}

/// How starting a dynamic sale went.
#[derive(Debug, Clone)]
pub enum DynamicStart {
    /// The code to show; then [`Checkout::wait_dynamic`].
    Shown(DynamicSale),
    /// It ended before a code could be shown (refused, or no answer and closed).
    Ended(Order, Outcome),
}

/// Live progress of a shown code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DynamicProgress {
    Waiting { left: Duration, polls: u32 },
    Closing { attempt: u32 },
}

impl Checkout {
    /// The dynamic-code timings this engine uses.
    pub fn with_dynamic_settings(mut self, settings: DynamicSettings) -> Self {
        self.dynamic = settings;
        self
    }

    /// The wallet whose code a store shows by default: Alipay when it takes Alipay, else WeChat Pay.
    pub fn default_dynamic_wallet(&self, store_id: StoreId) -> Result<Wallet, CheckoutError> {
        self.with_store(|s| {
            for wallet in [Wallet::Alipay, Wallet::WechatPay] {
                if s.setup().route(store_id, wallet)?.is_some() {
                    return Ok(Some(wallet));
                }
            }
            Ok(None)
        })?
        .ok_or_else(|| {
            let store_code = self.with_store(|s| s.setup().store_code(store_id)).unwrap_or_default();
            CheckoutError::Route(crate::routing::RouteError::NoRoute { store_code, wallet: Wallet::Alipay })
        })
    }

    /// Writes the order ahead, then asks the store's acquirer for the code.
    pub async fn start_dynamic(&self, input: DynamicInput) -> Result<DynamicStart, CheckoutError> {
        if input.amount.fen() <= 0 {
            return Err(CheckoutError::ZeroAmount);
        }
        let wallet = match input.wallet {
            Some(w) => w,
            None => self.default_dynamic_wallet(input.store_id)?,
        };
        let max = max_amount(wallet);
        if input.amount > max {
            return Err(CheckoutError::AmountTooLarge { amount: input.amount, max, wallet });
        }
        let routed = {
            let guard = match self.store.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            self.router.route(&guard, input.store_id, wallet)?
        };
        let now = self.clock.now();
        let expires_at = now + self.dynamic.validity;
        let out_trade_no = new_out_trade_no(now);
        let working = Arc::new(ACTIVE.start(&out_trade_no));
        let new = NewOrder {
            out_trade_no: out_trade_no.clone(),
            store_id: input.store_id,
            acquirer_id: routed.acquirer.id,
            operator_id: input.operator_id,
            subject: input.subject.clone(),
            total_amount: input.amount,
            auth_code_masked: String::new(),
            acquirer_merchant_id: routed.merchant_id.clone(),
            terminal_id: input.terminal_id.clone(),
        };
        let expires_text = crate::time::format_utc(expires_at);
        let order = self.with_store(|s| s.orders_mut().create_dynamic_order(&new, wallet, &expires_text))?;
        crash_point("dynamic_after_write_ahead");
        let request = PrecreateRequest {
            out_trade_no: out_trade_no.clone(),
            amount: input.amount,
            subject: input.subject,
            store_id: Some(self.with_store(|s| s.setup().store_code(input.store_id))?),
            terminal_id: input.terminal_id,
            operator_id: input.operator_id.map(|o| o.to_string()),
            expires_at,
            now,
        };
        let channel = routed.channel.clone();
        tracing::info!(out_trade_no, acquirer = %routed.acquirer.name, wallet = %wallet, "dynamic code request");
        let mut last = String::new();
        for attempt in 1..=self.dynamic.precreate_attempts.max(1) {
            let result = self
                .bounded(self.settings.poll_window, channel.precreate(&request))
                .await
                .unwrap_or_else(|| PrecreateResult::Unknown("no answer in time".into()));
            crash_point("dynamic_after_precreate");
            match result {
                PrecreateResult::Created { code } => {
                    let code = self.with_store(|s| s.orders_mut().set_dynamic_code(order.id, &code))?;
                    // Its onboarding code (ALIPAY, PARTNER1…) where it has one, else its name.
                    let code_of = |s: &mut crate::store::Store| {
                        Ok(s.setup().onboarding_acquirers()?.into_iter().find(|a| a.acquirer.id == routed.acquirer.id))
                    };
                    let acquirer = self
                        .with_store(code_of)?
                        .map(|a| a.onboarding_code)
                        .unwrap_or_else(|| routed.acquirer.name.clone());
                    let order = self.reload(order.id, &out_trade_no)?;
                    return Ok(DynamicStart::Shown(DynamicSale {
                        order,
                        wallet,
                        acquirer,
                        code,
                        expires_at,
                        _working: working,
                    }));
                }
                PrecreateResult::Failed(failure) => {
                    let detail = format!("{}: {}", failure.code, failure.message);
                    self.advance(order.id, &OrderMove::to(OrderStatus::Failed, "failed", &detail))?;
                    return Ok(DynamicStart::Ended(self.reload(order.id, &out_trade_no)?, Outcome::Failed(failure)));
                }
                PrecreateResult::AlreadyPaid => {
                    // Only a repeat can be paid: believe it once a query shows the figures.
                    let answer = self.bounded(self.settings.poll_window, channel.query(&out_trade_no)).await;
                    if let Some(QueryResult::Paid(info)) = answer {
                        let outcome = self.finish_paid(order.id, &info, "paid")?;
                        return Ok(DynamicStart::Ended(self.reload(order.id, &out_trade_no)?, outcome));
                    }
                    last = "the acquirer says the order is paid, but a query does not confirm it".into();
                }
                PrecreateResult::Unknown(why) => last = why,
            }
            let note = format!("#{attempt}: no definite answer ({last}); asking again with the same order number");
            self.with_store(|s| s.orders_mut().add_order_event(order.id, "precreate_again", &note))?;
            self.clock.sleep(self.settings.query_backoff).await;
        }
        // No code was ever shown, but one may exist: close the number so it can never be paid.
        let why = format!("no code could be had ({last})");
        let outcome = self.close_until_confirmed(order.id, &out_trade_no, channel.as_ref(), &why, &|_| {}).await?;
        drop(working);
        Ok(DynamicStart::Ended(self.reload(order.id, &out_trade_no)?, outcome))
    }

    /// Waits for the customer: polls until paid, closed or expired, or until the cashier sets `cancel`; then closes
    /// the trade. A payment found at any step (also in the close's answer) makes the order PAID.
    pub async fn wait_dynamic(
        &self,
        sale: &DynamicSale,
        cancel: &AtomicBool,
        progress: &(dyn Fn(DynamicProgress) + Send + Sync),
    ) -> Result<(Order, Outcome), CheckoutError> {
        let id = sale.order.id;
        let out_trade_no = sale.order.out_trade_no.as_str();
        let channel = self.router.for_order(&sale.order)?;
        let mut polls = 0u32;
        let why = loop {
            if cancel.load(Ordering::SeqCst) {
                self.with_store(|s| {
                    s.orders_mut().add_order_event(id, "cashier_cancel", "the cashier cancelled the code")
                })?;
                break "the cashier cancelled".to_owned();
            }
            let left = left_until(self.clock.now(), sale.expires_at);
            if left.is_zero() {
                self.with_store(|s| s.orders_mut().add_order_event(id, "expired", "the code expired unpaid"))?;
                break "the code expired unpaid".to_owned();
            }
            progress(DynamicProgress::Waiting { left, polls });
            self.sleep_or_cancel(self.dynamic.poll_interval.min(left), cancel, sale.expires_at, polls, progress).await;
            if cancel.load(Ordering::SeqCst) {
                continue;
            }
            polls += 1;
            let result = self
                .bounded(self.settings.poll_window, channel.query(out_trade_no))
                .await
                .unwrap_or_else(|| QueryResult::Unknown("no answer in time".into()));
            if polls == 1 {
                crash_point("dynamic_after_first_poll");
            }
            match result {
                QueryResult::Paid(info) => {
                    let outcome = self.finish_paid(id, &info, "paid")?;
                    return Ok((self.reload(id, out_trade_no)?, outcome));
                }
                QueryResult::Closed(_) => {
                    self.advance(id, &OrderMove::to(OrderStatus::Closed, "closed", "the acquirer closed the code"))?;
                    return Ok((self.reload(id, out_trade_no)?, Outcome::Closed));
                }
                QueryResult::Waiting(_) | QueryResult::NotFound => {}
                QueryResult::Unknown(why) => {
                    self.with_store(|s| {
                        s.orders_mut().add_order_event(id, "poll", &format!("#{polls}: unknown ({why})"))
                    })?;
                }
            }
        };
        let outcome = self.close_until_confirmed(id, out_trade_no, channel.as_ref(), &why, progress).await?;
        Ok((self.reload(id, out_trade_no)?, outcome))
    }

    /// Closes the trade until the acquirer confirms: closed → CLOSED; paid → PAID (a sale). Not confirmed → the
    /// order stays PAYING (recovery and the sync worker settle it), reported as needing attention.
    async fn close_until_confirmed(
        &self,
        id: OrderId,
        out_trade_no: &str,
        channel: &dyn Channel,
        why: &str,
        progress: &(dyn Fn(DynamicProgress) + Send + Sync),
    ) -> Result<Outcome, StoreError> {
        self.with_store(|s| s.orders_mut().add_order_event(id, "close", &format!("closing the code: {why}")))?;
        crash_point("dynamic_before_close");
        let mut last = String::new();
        for attempt in 1..=self.dynamic.close_attempts.max(1) {
            progress(DynamicProgress::Closing { attempt });
            let result = self
                .bounded(self.settings.poll_window, channel.close(out_trade_no))
                .await
                .unwrap_or_else(|| CloseResult::Unknown("no answer in time".into()));
            crash_point("dynamic_after_close");
            match result {
                CloseResult::Closed => {
                    self.advance(id, &OrderMove::to(OrderStatus::Closed, "close_confirmed", "closed unpaid"))?;
                    return Ok(Outcome::Closed);
                }
                CloseResult::AlreadyPaid(info) => {
                    self.with_store(|s| {
                        s.orders_mut().add_order_event(
                            id,
                            "close_refused",
                            "the customer paid before the close: a sale",
                        )
                    })?;
                    return self.finish_paid(id, &info, "paid");
                }
                CloseResult::Failed(Failure { code, message }) => {
                    last = format!("{code}: {message}");
                    break;
                }
                CloseResult::Retry(w) | CloseResult::Unknown(w) => {
                    last = w;
                    self.with_store(|s| {
                        s.orders_mut().add_order_event(id, "close_retry", &format!("#{attempt}: {last}"))
                    })?;
                    self.clock.sleep(self.dynamic.close_retry_interval).await;
                }
            }
        }
        let reason = format!("the close was not confirmed ({last}); the order is settled with the acquirer later");
        self.with_store(|s| s.orders_mut().add_order_event(id, "close_pending", &reason))?;
        Ok(Outcome::NeedsAttention { reason })
    }

    /// Recovery of an open dynamic order a crash left (called by [`Checkout::recover`]).
    pub(super) async fn recover_dynamic(
        &self,
        order: &Order,
        row: &DynamicCodeRow,
        channel: &dyn Channel,
    ) -> Result<Outcome, StoreError> {
        let started = self.clock.now();
        let first = self
            .bounded(self.deadline(), channel.query(&order.out_trade_no))
            .await
            .unwrap_or_else(|| QueryResult::Unknown("no answer in time".into()));
        let answer = self.query_again(order.id, &order.out_trade_no, channel, first, started, self.deadline()).await?;
        Ok(match answer {
            QueryResult::Paid(info) => self.finish_paid(order.id, &info, "paid")?,
            QueryResult::Closed(_) => {
                self.advance(order.id, &OrderMove::to(OrderStatus::Closed, "closed", "closed at the acquirer"))?;
                Outcome::Closed
            }
            QueryResult::Waiting(_) | QueryResult::NotFound | QueryResult::Unknown(_) => {
                let expired =
                    time::OffsetDateTime::parse(&row.expires_at, &time::format_description::well_known::Rfc3339)
                        .is_ok_and(|at| at <= self.clock.now());
                let why = if expired {
                    "recovery: the code expired unpaid"
                } else {
                    "recovery: nobody shows this code any more"
                };
                self.close_until_confirmed(order.id, &order.out_trade_no, channel, why, &|_| {}).await?
            }
        })
    }

    fn reload(&self, id: OrderId, out_trade_no: &str) -> Result<Order, StoreError> {
        self.with_store(|s| s.orders().order(id))?
            .ok_or(StoreError::NotFound { what: "order", key: out_trade_no.to_owned() })
    }

    /// Sleeps in short steps so a cancel is honoured at once, reporting the time left as it goes.
    async fn sleep_or_cancel(
        &self,
        total: Duration,
        cancel: &AtomicBool,
        expires_at: time::OffsetDateTime,
        polls: u32,
        progress: &(dyn Fn(DynamicProgress) + Send + Sync),
    ) {
        let step = Duration::from_millis(250).min(total);
        let mut slept = Duration::ZERO;
        while slept < total && !cancel.load(Ordering::SeqCst) {
            let this = step.min(total - slept);
            self.clock.sleep(this).await;
            slept += this;
            progress(DynamicProgress::Waiting { left: left_until(self.clock.now(), expires_at), polls });
        }
    }
}

/// Time left until `end` (zero once past).
fn left_until(now: time::OffsetDateTime, end: time::OffsetDateTime) -> Duration {
    elapsed_since(end, now)
}

#[cfg(test)]
mod tests;
