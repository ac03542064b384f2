//! Unfinished work on PostgreSQL, where several instances share one database: a refund sent once
//! ([`Backend::refund_once`]: looked up by its out_request_no before it is sent again), and the loop that resumes what
//! a till or a killed instance left open ([`Backend::recover_once`]): each pass claims unfinished orders and refunds
//! whose lease ran out (`FOR UPDATE SKIP LOCKED`, see `store::pg::claims`), so two instances never work on the same
//! one, asks the acquirer, and records the answer through the transition functions.
//!
//! An order nobody finished is queried: paid → PAID (figures compared), closed → CLOSED; waiting, never arrived or no
//! answer → cancelled (Alipay cancel / WeChat reverse) for good, as the till's own recovery does — a dynamic code's
//! order (主扫) closed instead, once its code expired. A refund still
//! SUBMITTED is looked up and sent again only when the acquirer never got it; a PROCESSING one is asked about.

use std::sync::Arc;
use std::time::Duration;

use super::Backend;
use crate::channel::backend::api::ApiError;
use crate::channel::{CancelResult, QueryResult, RefundQueryResult, RefundRequest, RefundResult, RefundState};
use crate::model::{AcquirerKind, Order, OrderStatus, Refund, RefundStatus};
use crate::refund::RefundError;
use crate::store::transitions::OrderMove;

/// How often an instance looks for unfinished work.
pub const INTERVAL: Duration = Duration::from_secs(15);

/// Orders and refunds claimed per pass.
const BATCH: i64 = 50;

/// What one pass of recovery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// The out_trade_no of every order this instance claimed, with the status it left it in.
    pub orders: Vec<(String, OrderStatus)>,
    /// The out_request_no of every refund it claimed, with the status it left it in.
    pub refunds: Vec<(String, RefundStatus)>,
}

fn refund_status(state: RefundState) -> (RefundStatus, &'static str) {
    match state {
        RefundState::Success => (RefundStatus::Success, "refund_status SUCCESS"),
        RefundState::Processing => (RefundStatus::Processing, "accepted"),
        RefundState::Failed => (RefundStatus::Failed, "refund closed"),
    }
}

impl Backend {
    /// Sends a refund written ahead (or finds it at the acquirer), once, and records the answer: `fresh` (written
    /// ahead by this very call) is sent at once; any other is looked up by its out_request_no first and sent again
    /// only when the acquirer never got it. The outer error is the backend's own; the inner one what the acquirer or
    /// the routing said.
    pub(super) async fn refund_once(
        &self,
        refund: Refund,
        fresh: bool,
    ) -> Result<Result<Refund, RefundError>, ApiError> {
        let engine = self.engine()?;
        let order = self
            .db_order(refund.order_id)
            .await?
            .ok_or_else(|| super::internal(&format!("the order of refund {} vanished", refund.out_request_no)))?;
        let channel = match engine.router.for_order(&order) {
            Ok(c) => c,
            Err(e) => return Ok(Err(RefundError::NoChannel(e))),
        };
        let no = refund.out_request_no.clone();
        if let Some(pg) = self.pg() {
            let now = self.now();
            let leased = pg.lease_refund(refund.id, &self.instance, now, now + super::db::WORK_LEASE).await;
            if !leased.map_err(|e| super::internal(&e))? {
                tracing::info!(out_request_no = no, "the refund is being sent by another instance");
                return Ok(Ok(refund));
            }
        }
        // Sent before (a retry, a claim after a crash): ask first, send again only if the acquirer never got it.
        let send = match refund.status {
            RefundStatus::Submitted if !fresh => {
                match super::timing::timed(channel.refund_query(&order.out_trade_no, &no)).await {
                    RefundQueryResult::Found(state) => {
                        let (to, detail) = refund_status(state);
                        self.db_move_refund(refund.id, to, detail).await?;
                        false
                    }
                    RefundQueryResult::NotFound => true,
                    RefundQueryResult::Unknown(_) => false,
                }
            }
            RefundStatus::Submitted => true,
            RefundStatus::Processing => {
                if let RefundQueryResult::Found(state) =
                    super::timing::timed(channel.refund_query(&order.out_trade_no, &no)).await
                {
                    let (to, detail) = refund_status(state);
                    self.db_move_refund(refund.id, to, detail).await?;
                }
                false
            }
            RefundStatus::Success | RefundStatus::Failed => false,
        };
        if send {
            self.note(&order, "refund_send", &format!("{no}: sent to the acquirer by {}", self.instance)).await?;
            let request = RefundRequest {
                out_trade_no: order.out_trade_no.clone(),
                out_request_no: no.clone(),
                refund_amount: refund.refund_amount,
                total_amount: order.total_amount,
                reason: refund.reason.clone(),
            };
            match super::timing::timed(channel.refund(&request)).await {
                RefundResult::Accepted { state, .. } => {
                    let (to, detail) = refund_status(state);
                    self.db_move_refund(refund.id, to, detail).await?;
                }
                RefundResult::Failed(f) => {
                    let detail = format!("{}: {}", f.code, f.message);
                    self.db_move_refund(refund.id, RefundStatus::Failed, &detail).await?;
                    return Ok(Err(RefundError::AcquirerRefused(f.message)));
                }
                RefundResult::Unknown(why) => {
                    tracing::warn!(out_request_no = no, %why, "refund result unknown; recovery asks again");
                    self.note(&order, "refund_retry", &format!("{no}: {why}")).await?;
                }
            }
        }
        let now = self.db_refund(refund.id).await?.unwrap_or(refund);
        Ok(Ok(now))
    }

    /// One pass of recovery on PostgreSQL: claims unfinished orders and refunds whose lease ran out and resumes
    /// them. Does nothing on SQLite (the till engine's recovery and the sync worker run there).
    pub async fn recover_once(&self) -> Result<Recovered, ApiError> {
        let Some(pg) = self.pg() else { return Ok(Recovered::default()) };
        let engine = self.engine()?;
        let now = self.now();
        let until = now + super::db::WORK_LEASE;
        let mut done = Recovered::default();
        let orders =
            pg.claim_unfinished_orders(&self.instance, now, until, BATCH).await.map_err(|e| super::internal(&e))?;
        for order in orders {
            let status = match engine.router.for_order(&order) {
                Ok(channel) => self.resume_order(&order, channel.as_ref()).await?,
                Err(e) => {
                    tracing::warn!(out_trade_no = order.out_trade_no, "no channel for an unfinished order: {e}");
                    order.status
                }
            };
            done.orders.push((order.out_trade_no.clone(), status));
        }
        let refunds =
            pg.claim_unfinished_refunds(&self.instance, now, until, BATCH).await.map_err(|e| super::internal(&e))?;
        for (_, refund) in refunds {
            let no = refund.out_request_no.clone();
            let status = match self.refund_once(refund, false).await? {
                Ok(r) => r.status,
                Err(e) => {
                    tracing::warn!(out_request_no = no, "recovery of a refund: {e}");
                    self.db_refund_by_number(&no).await?.map_or(RefundStatus::Submitted, |r| r.status)
                }
            };
            done.refunds.push((no, status));
        }
        if !done.orders.is_empty() || !done.refunds.is_empty() {
            tracing::info!(
                orders = done.orders.len(),
                refunds = done.refunds.len(),
                instance = self.instance,
                "recovered"
            );
        }
        Ok(done)
    }

    async fn resume_order(
        &self,
        order: &Order,
        channel: &dyn crate::channel::Channel,
    ) -> Result<OrderStatus, ApiError> {
        let by = format!("recovery: resumed by {}", self.instance);
        self.note(order, "recovery", &by).await?;
        let cancel = match order.status {
            OrderStatus::Cancelling | OrderStatus::NeedsAttention => true,
            _ => match channel.query(&order.out_trade_no).await {
                QueryResult::Paid(info) => {
                    self.record_paid(order, &info, "paid (found by recovery)").await?;
                    false
                }
                QueryResult::Closed(_) => {
                    self.advance(order, &OrderMove::to(OrderStatus::Closed, "closed", "closed at the acquirer"))
                        .await?;
                    false
                }
                QueryResult::Waiting(_) | QueryResult::NotFound | QueryResult::Unknown(_) => true,
            },
        };
        // A dynamic code (主扫) is closed, never cancelled or reversed (WeChat Pay has no reverse for NATIVE trades);
        // its lease lasted until the code expired, so nobody shows it any more.
        if cancel && self.db_dynamic_code(order.id).await?.is_some() {
            self.note(order, "close", "recovery: the code expired unpaid; closing it").await?;
            let result = channel.close(&order.out_trade_no).await;
            self.record_close(order, result, "paid (found by recovery)").await?;
        } else if cancel {
            let verb = if channel.kind() == AcquirerKind::WechatPay { "reverse" } else { "cancel" };
            let why = "recovery: the customer is gone; closing the number for good";
            self.advance(order, &OrderMove::to(OrderStatus::Cancelling, verb, why)).await?;
            match channel.cancel(&order.out_trade_no).await {
                CancelResult::Done { refunded } => {
                    let detail = if refunded { "confirmed: the money went back to the customer" } else { "confirmed" };
                    let kind = format!("{verb}_confirmed");
                    self.advance(order, &OrderMove::to(OrderStatus::Cancelled, &kind, detail)).await?;
                }
                CancelResult::Retry(why) | CancelResult::Unknown(why) => {
                    self.note(order, &format!("{verb}_retry"), &why).await?;
                }
                CancelResult::Failed(f) => {
                    self.note(order, &format!("{verb}_refused"), &format!("{}: {}", f.code, f.message)).await?;
                }
            }
        }
        Ok(self.db_order(order.id).await?.map_or(order.status, |o| o.status))
    }
}

/// Runs [`Backend::recover_once`] every `interval` until aborted.
pub fn spawn(backend: Arc<Backend>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = backend.recover_once().await {
                tracing::warn!(error = %e, "recovery pass failed; trying again later");
            }
            tokio::time::sleep(interval).await;
        }
    })
}
