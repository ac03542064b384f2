//! Refunds, full or partial, as a back-office clerk makes them: checked locally first (role, reason, never more
//! than what is left), written SUBMITTED before the acquirer hears of it, then sent with an out_request_no that
//! makes any retry idempotent. WeChat's asynchronous refunds (PROCESSING → SUCCESS / CHANGE / REFUNDCLOSE) are
//! followed with refund_query; anything still open is picked up again by [`RefundDesk::follow_up`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::channel::{RefundQueryResult, RefundRequest, RefundResult, RefundState};
use crate::checkout::Clock;
use crate::model::{Operator, Order, Refund, RefundStatus};
use crate::money::Amount;
use crate::routing::{RouteError, Router};
use crate::store::operators::{AuthError, Permission, require};
use crate::store::refunds::RefundRefused;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error(transparent)]
    NotAllowed(#[from] AuthError),
    #[error(transparent)]
    Refused(#[from] RefundRefused),
    #[error("the acquirer refused the refund: {0}")]
    AcquirerRefused(String),
    /// The acquirer that took the payment cannot be reached in this mode (keys missing, not set up).
    #[error(transparent)]
    NoChannel(#[from] RouteError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How hard to try before leaving a refund to the background follow-up.
#[derive(Debug, Clone, Copy)]
pub struct RefundSettings {
    /// Sends of the same out_request_no while the answer is unknown.
    pub attempts: u32,
    pub retry_interval: Duration,
    /// How long to follow a PROCESSING refund with refund_query before handing it to the follow-up.
    pub follow_window: Duration,
    pub follow_interval: Duration,
}

impl Default for RefundSettings {
    fn default() -> Self {
        RefundSettings {
            attempts: 3,
            retry_interval: Duration::from_secs(2),
            follow_window: Duration::from_secs(20),
            follow_interval: Duration::from_secs(2),
        }
    }
}

pub struct RefundDesk {
    store: Mutex<Store>,
    router: Router,
    clock: Arc<dyn Clock>,
    settings: RefundSettings,
}

impl RefundDesk {
    pub fn new(store: Store, router: Router, clock: Arc<dyn Clock>, settings: RefundSettings) -> Self {
        RefundDesk { store: Mutex::new(store), router, clock, settings }
    }

    fn with_store<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut Store) -> Result<T, E>) -> Result<T, E> {
        let mut guard = match self.store.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Refunds `amount` of the order for `operator` (already PIN-verified). Returns the refund in its latest state:
    /// SUCCESS, PROCESSING / SUBMITTED (still being followed), or an error when refused.
    pub async fn refund(
        &self,
        operator: &Operator,
        out_trade_no: &str,
        amount: Amount,
        reason: &str,
    ) -> Result<Refund, RefundError> {
        require(operator, Permission::Refund)?;
        self.send_history_first().await;
        let (order, refund) = self.with_store(|s| -> Result<_, RefundError> {
            // An order taken before this till joined its backend that the backend does not have: not through it.
            if let Some(o) = s.orders().order_by_out_trade_no(out_trade_no)?
                && crate::routing::history::taken_before_joining(s, &o)?
            {
                return Err(RefundRefused::TakenBeforeJoining { out_trade_no: o.out_trade_no }.into());
            }
            Ok(s.refunds_mut().create_refund(out_trade_no, amount, reason, Some(operator.id))?)
        })?;
        tracing::info!(out_trade_no, out_request_no = refund.out_request_no, %amount, operator = operator.name, "refund");
        let _working = ACTIVE.start(&refund.out_request_no);
        crash_point("refund_after_write_ahead");
        self.send(&order, refund).await
    }

    /// At a till enrolled with a merchant backend whose orders from before joining have not all gone up yet (the
    /// backend could not be reached then): sends them now, so that a refund of one is decided by what the backend
    /// holds rather than refused for not having been sent. Best effort: unreachable, the refund check goes on as is.
    async fn send_history_first(&self) {
        let Some(client) = self.router.backend() else { return };
        let Ok(path) = self.with_store(|s| -> Result<_, StoreError> {
            Ok((crate::routing::history::unsent(s)? > 0).then(|| s.path().to_owned()))
        }) else {
            return;
        };
        let Some(path) = path else { return };
        let Ok(mut store) = crate::store::Store::open(&path) else { return };
        if let Err(e) = crate::routing::history::send(&mut store, &client).await {
            tracing::warn!(error = %e, "the orders from before joining could not go up before a refund");
        }
    }

    /// Sends (or re-sends, with the same out_request_no) and follows one refund.
    async fn send(&self, order: &Order, refund: Refund) -> Result<Refund, RefundError> {
        // Back to the acquirer (and merchant id) that took the payment.
        let channel = self.router.for_order(order)?;
        let request = RefundRequest {
            out_trade_no: order.out_trade_no.clone(),
            out_request_no: refund.out_request_no.clone(),
            refund_amount: refund.refund_amount,
            total_amount: order.total_amount,
            reason: refund.reason.clone(),
        };
        let mut last_unknown = String::new();
        for attempt in 1..=self.settings.attempts.max(1) {
            let result = channel.refund(&request).await;
            crash_point("refund_after_send");
            match result {
                RefundResult::Accepted { state: RefundState::Success, .. } => {
                    return Ok(self.with_store(|s| {
                        s.refunds_mut().set_refund_status(refund.id, RefundStatus::Success, "refunded")
                    })?);
                }
                RefundResult::Accepted { state: RefundState::Failed, .. } => {
                    let r = self.with_store(|s| {
                        s.refunds_mut().set_refund_status(refund.id, RefundStatus::Failed, "refused")
                    })?;
                    return Ok(r);
                }
                RefundResult::Accepted { state: RefundState::Processing, refund_no } => {
                    let detail = format!("accepted{}", refund_no.map(|n| format!(" ({n})")).unwrap_or_default());
                    self.with_store(|s| {
                        s.refunds_mut().set_refund_status(refund.id, RefundStatus::Processing, &detail)
                    })?;
                    return self.follow(order, refund.id, &refund.out_request_no).await;
                }
                RefundResult::Failed(f) => {
                    let detail = format!("{}: {}", f.code, f.message);
                    self.with_store(|s| s.refunds_mut().set_refund_status(refund.id, RefundStatus::Failed, &detail))?;
                    if f.code == crate::channel::backend::TAKEN_BEFORE_JOINING {
                        let out_trade_no = order.out_trade_no.clone();
                        return Err(RefundRefused::TakenBeforeJoining { out_trade_no }.into());
                    }
                    return Err(RefundError::AcquirerRefused(f.message));
                }
                RefundResult::Unknown(why) => {
                    tracing::warn!(out_request_no = refund.out_request_no, attempt, %why, "refund result unknown");
                    self.with_store(|s| {
                        s.orders_mut().add_order_event(order.id, "refund_retry", &format!("#{attempt}: {why}"))
                    })?;
                    last_unknown = why;
                    self.clock.sleep(self.settings.retry_interval).await;
                }
            }
        }
        // Maybe it went through: ask before anything else.
        match channel.refund_query(&order.out_trade_no, &refund.out_request_no).await {
            RefundQueryResult::Found(RefundState::Success) => Ok(self.with_store(|s| {
                s.refunds_mut().set_refund_status(refund.id, RefundStatus::Success, "confirmed by query")
            })?),
            RefundQueryResult::Found(RefundState::Processing) => {
                self.follow(order, refund.id, &refund.out_request_no).await
            }
            RefundQueryResult::Found(RefundState::Failed) => Ok(self
                .with_store(|s| s.refunds_mut().set_refund_status(refund.id, RefundStatus::Failed, "refund closed"))?),
            RefundQueryResult::NotFound | RefundQueryResult::Unknown(_) => {
                self.with_store(|s| {
                    s.orders_mut().add_order_event(
                        order.id,
                        "refund_pending",
                        &format!("{}: no answer yet ({last_unknown}); TillDesk keeps trying", refund.out_request_no),
                    )?;
                    // The background sync sends it again with the same out_request_no (exactly once).
                    let payload = serde_json::json!({ "out_request_no": refund.out_request_no }).to_string();
                    s.sync_mut().enqueue_outbox("refund", &format!("refund:{}", refund.out_request_no), &payload)
                })?;
                Ok(self.with_store(|s| s.refunds().refund(refund.id))?.unwrap_or(refund))
            }
        }
    }

    /// Follows a PROCESSING refund with refund_query until it settles or the window closes.
    async fn follow(
        &self,
        order: &Order,
        id: crate::model::RefundId,
        out_request_no: &str,
    ) -> Result<Refund, RefundError> {
        // Back to the acquirer (and merchant id) that took the payment.
        let channel = self.router.for_order(order)?;
        let started = self.clock.now();
        loop {
            match channel.refund_query(&order.out_trade_no, out_request_no).await {
                RefundQueryResult::Found(RefundState::Success) => {
                    return Ok(self.with_store(|s| {
                        s.refunds_mut().set_refund_status(id, RefundStatus::Success, "refund_status SUCCESS")
                    })?);
                }
                RefundQueryResult::Found(RefundState::Failed) => {
                    return Ok(self.with_store(|s| {
                        s.refunds_mut().set_refund_status(
                            id,
                            RefundStatus::Failed,
                            "the refund could not reach the customer (CHANGE / REFUNDCLOSE)",
                        )
                    })?);
                }
                RefundQueryResult::Found(RefundState::Processing)
                | RefundQueryResult::NotFound
                | RefundQueryResult::Unknown(_) => {}
            }
            let waited = Duration::try_from(self.clock.now() - started).unwrap_or(Duration::ZERO);
            if waited >= self.settings.follow_window {
                return Ok(self
                    .with_store(|s| s.refunds().refund(id))?
                    .ok_or(StoreError::NotFound { what: "refund", key: out_request_no.into() })?);
            }
            self.clock.sleep(self.settings.follow_interval).await;
        }
    }

    /// Finishes a refund left open (a crash, the acquirer down, an outbox entry): a SUBMITTED refund is first looked
    /// up at the acquirer by its out_request_no, and sent again under the same number only when the acquirer has
    /// never heard of it; a PROCESSING one is followed; a final one is returned as it is. Whatever was killed when,
    /// the money moves once (the acquirer deduplicates by out_request_no; the status moves once, see
    /// `store::transitions::move_refund`).
    pub async fn resend(&self, out_request_no: &str) -> Result<Refund, RefundError> {
        let refund = self
            .with_store(|s| s.refunds().refund_by_out_request_no(out_request_no))?
            .ok_or(StoreError::NotFound { what: "refund", key: out_request_no.into() })?;
        let order = self
            .with_store(|s| s.orders().order(refund.order_id))?
            .ok_or(StoreError::NotFound { what: "order", key: refund.order_id.to_string() })?;
        let _working = ACTIVE.start(out_request_no);
        match refund.status {
            RefundStatus::Submitted => {
                let channel = self.router.for_order(&order)?;
                match channel.refund_query(&order.out_trade_no, out_request_no).await {
                    RefundQueryResult::Found(RefundState::Success) => Ok(self.with_store(|s| {
                        s.refunds_mut().set_refund_status(
                            refund.id,
                            RefundStatus::Success,
                            "found refunded by its out_request_no",
                        )
                    })?),
                    RefundQueryResult::Found(RefundState::Processing) => {
                        self.with_store(|s| {
                            s.refunds_mut().set_refund_status(
                                refund.id,
                                RefundStatus::Processing,
                                "found accepted by its out_request_no",
                            )
                        })?;
                        self.follow(&order, refund.id, out_request_no).await
                    }
                    RefundQueryResult::Found(RefundState::Failed) => Ok(self.with_store(|s| {
                        s.refunds_mut().set_refund_status(
                            refund.id,
                            RefundStatus::Failed,
                            "found closed by its out_request_no",
                        )
                    })?),
                    RefundQueryResult::NotFound => {
                        self.with_store(|s| {
                            s.orders_mut().add_order_event(
                                order.id,
                                "refund_resend",
                                &format!("{out_request_no}: the acquirer never got it; sending it again"),
                            )
                        })?;
                        self.send(&order, refund).await
                    }
                    // No answer: it stays SUBMITTED and is asked about again later.
                    RefundQueryResult::Unknown(_) => Ok(refund),
                }
            }
            RefundStatus::Processing => self.follow(&order, refund.id, out_request_no).await,
            _ => Ok(refund),
        }
    }

    /// Picks up every refund still SUBMITTED or PROCESSING that nobody in this process is working on (after a
    /// restart, or when the acquirer was slow) and settles what it can through [`RefundDesk::resend`]. Returns the
    /// refunds in their new states.
    pub async fn follow_up(&self) -> Result<Vec<Refund>, RefundError> {
        let pending = self.with_store(|s| s.refunds().pending_refunds())?;
        let mut out = Vec::new();
        for refund in pending {
            if is_active(&refund.out_request_no) {
                continue;
            }
            match self.resend(&refund.out_request_no).await {
                Ok(r) => {
                    if matches!(r.status, RefundStatus::Success | RefundStatus::Failed) {
                        self.with_store(|s| {
                            s.sync_mut().mark_outbox_delivered(&format!("refund:{}", r.out_request_no))
                        })?;
                    }
                    out.push(r);
                }
                Err(RefundError::AcquirerRefused(_)) => {}
                Err(RefundError::NoChannel(e)) => {
                    tracing::warn!(out_request_no = refund.out_request_no, "refund follow-up: {e}");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// Refunds a desk in this process is sending right now: follow-ups leave them alone.
static ACTIVE: crate::ownership::InFlight = crate::ownership::InFlight::new();

/// Whether a refund desk in this process is working on `out_request_no` right now.
pub fn is_active(out_request_no: &str) -> bool {
    ACTIVE.contains(out_request_no)
}

// Crash steps of a refund (`TILLDESK_CRASH_AT`): `refund_after_write_ahead` (SUBMITTED, nothing sent),
// `refund_after_send` (sent, the answer not yet recorded).
use crate::ownership::crash_point;

#[cfg(test)]
mod tests;
