//! Dynamic codes (主扫) through the backend: the till shows a code the customer scans, and the backend — which holds
//! the keys — writes the order ahead, asks the store's acquirer for the code, and closes the trade when the till
//! gives up on it. The till's own engine (write-ahead, polling, closing, recovery) runs unchanged with the backend
//! as its gateway: `POST /v1/precreate` and `POST /v1/orders/{out_trade_no}/close` here, the query is the one of
//! `GET /v1/orders/{out_trade_no}` ([`Backend::query`]).
//!
//! The same rules as the till's: one sale, one order number, one trade — asked again with the same number, the
//! backend answers with the code it recorded first (or asks the acquirer again with the same number while it has
//! none); a close that finds the trade paid records a sale; a dynamic order left open is closed by recovery, never
//! cancelled or reversed (on PostgreSQL once its code has expired: its lease lasts until then).

use super::gateway::{check_number, paid_family, recorded_trade, route_error, sale, trade};
use super::{Backend, Till, internal};
use crate::channel::backend::api::{
    ApiError, CloseAnswer, CloseResponse, PrecreateAnswer, PrecreateRequest, PrecreateResponse, Refusal,
};
use crate::channel::{Channel, CloseResult, PrecreateRequest as AcquirerPrecreate, PrecreateResult};
use crate::model::{Order, OrderStatus};
use crate::money::Amount;
use crate::store::orders::NewOrder;
use crate::store::serve::Begun;
use crate::store::transitions::{OrderMove, OrderMoved};

/// The longest a dynamic code may stay payable (the acquirers allow longer; a code on a till's screen for more than
/// two hours is a mistake).
const LONGEST_VALIDITY: time::Duration = time::Duration::hours(2);

impl Backend {
    /// `POST /v1/precreate`; `operator`: the operator signed in at the till (its session), recorded on the order.
    pub async fn precreate(
        &self,
        till: &Till,
        req: PrecreateRequest,
        operator: Option<crate::model::OperatorId>,
    ) -> Result<PrecreateResponse, ApiError> {
        let engine = self.engine()?;
        let total = sale(&req.out_trade_no, &req.amount, &req.subject)?;
        let now = self.now();
        let expires_at = time::OffsetDateTime::parse(&req.expires_at, &time::format_description::well_known::Rfc3339)
            .ok()
            .filter(|at| *at > now && *at <= now + LONGEST_VALIDITY)
            .ok_or_else(|| ApiError::BadRequest {
                field: "expires_at".into(),
                detail: "a UTC time (RFC 3339) in the next two hours".into(),
            })?;
        if let Some(order) = self.own_order(till, &req.out_trade_no).await? {
            return self.replay_precreate(till, order, total, &req).await;
        }
        let max = crate::checkout::max_amount(req.wallet);
        if total > max {
            return Err(ApiError::AmountTooLarge { amount: total.to_string(), max: max.to_string() });
        }
        let routed = self.with_store(|s| {
            engine.router.route(s, till.store_id, req.wallet).map_err(|e| route_error(&till.store_code, e))
        })?;
        let new = NewOrder {
            out_trade_no: req.out_trade_no.clone(),
            store_id: till.store_id,
            acquirer_id: routed.acquirer.id,
            operator_id: operator,
            subject: req.subject.clone(),
            total_amount: total,
            auth_code_masked: String::new(),
            acquirer_merchant_id: routed.merchant_id.clone(),
            terminal_id: req.terminal_id.clone().filter(|t| !t.trim().is_empty()),
        };
        let order = match self.db_begin_dynamic_order(till.id, &new, req.wallet, expires_at).await? {
            Begun::Created(order) => order,
            Begun::Existing { order, .. } => {
                Self::own_store(till, order.store_id)?;
                return self.replay_precreate(till, order, total, &req).await;
            }
            Begun::Closed => return Err(ApiError::OrderClosed { out_trade_no: req.out_trade_no }),
        };
        tracing::info!(
            out_trade_no = req.out_trade_no,
            till = %till.id,
            acquirer = routed.acquirer.name,
            wallet = %req.wallet,
            "dynamic code"
        );
        let answer = self.ask_for_code(till, &order, routed.channel.as_ref(), &req, expires_at).await?;
        let now = self.status_of(&order).await?;
        Ok(PrecreateResponse { out_trade_no: now.out_trade_no, order_status: now.status, replayed: false, answer })
    }

    /// Asks the acquirer for the code of `order` (again, with the same number, after a lost answer) and records it.
    async fn ask_for_code(
        &self,
        till: &Till,
        order: &Order,
        channel: &dyn Channel,
        req: &PrecreateRequest,
        expires_at: time::OffsetDateTime,
    ) -> Result<PrecreateAnswer, ApiError> {
        let request = AcquirerPrecreate {
            out_trade_no: order.out_trade_no.clone(),
            amount: order.total_amount,
            subject: order.subject.clone(),
            store_id: Some(till.store_code.clone()),
            terminal_id: order.terminal_id.clone(),
            operator_id: req.operator_id.clone(),
            expires_at,
            now: self.now(),
        };
        Ok(match super::timing::timed(channel.precreate(&request)).await {
            PrecreateResult::Created { code } => {
                PrecreateAnswer::Created { code: self.db_set_dynamic_code(order.id, &code).await? }
            }
            PrecreateResult::AlreadyPaid => PrecreateAnswer::AlreadyPaid,
            PrecreateResult::Failed(f) => {
                let detail = format!("{}: {}", f.code, f.message);
                self.advance(order, &OrderMove::to(OrderStatus::Failed, "failed", &detail)).await?;
                PrecreateAnswer::Failed { failure: Refusal { code: f.code, message: f.message } }
            }
            PrecreateResult::Unknown(why) => {
                self.note(order, "precreate_again", &format!("no definite answer ({why})")).await?;
                PrecreateAnswer::Unknown { reason: why }
            }
        })
    }

    /// A precreate asked again: the code on record, or the order's state; while no code was recorded (the first
    /// answer was lost) the acquirer is asked again with the same number, which answers with the same code.
    async fn replay_precreate(
        &self,
        till: &Till,
        order: Order,
        total: Amount,
        req: &PrecreateRequest,
    ) -> Result<PrecreateResponse, ApiError> {
        let taken = || ApiError::OutTradeNoTaken { out_trade_no: order.out_trade_no.clone() };
        if order.total_amount != total {
            return Err(taken());
        }
        let Some(row) = self.db_dynamic_code(order.id).await? else { return Err(taken()) };
        let answer = match order.status {
            s if paid_family(s) => PrecreateAnswer::AlreadyPaid,
            OrderStatus::Paying => match row.code_text {
                Some(code) => PrecreateAnswer::Created { code },
                None => {
                    let expires_at =
                        time::OffsetDateTime::parse(&row.expires_at, &time::format_description::well_known::Rfc3339)
                            .map_err(|e| internal(&format!("order {}: expires_at: {e}", order.out_trade_no)))?;
                    let channel =
                        self.engine()?.router.for_order(&order).map_err(|e| route_error(&till.store_code, e))?;
                    self.ask_for_code(till, &order, channel.as_ref(), req, expires_at).await?
                }
            },
            other => PrecreateAnswer::Failed {
                failure: Refusal { code: "ORDER_CLOSED".into(), message: format!("the order is {other}") },
            },
        };
        let now = self.status_of(&order).await?;
        Ok(PrecreateResponse { out_trade_no: now.out_trade_no, order_status: now.status, replayed: true, answer })
    }

    /// Records what the acquirer said to a close of `order` through the transition function (a payment found: the
    /// sale, recorded as `paid_via`), and what to tell the till.
    pub(super) async fn record_close(
        &self,
        order: &Order,
        result: CloseResult,
        paid_via: &str,
    ) -> Result<CloseAnswer, ApiError> {
        Ok(match result {
            CloseResult::Closed => {
                let closed = OrderMove::to(OrderStatus::Closed, "close_confirmed", "closed unpaid");
                match self.advance(order, &closed).await? {
                    OrderMoved::Refused { from, .. } => {
                        CloseAnswer::Unknown { reason: format!("the order is {from} at the merchant backend") }
                    }
                    _ => CloseAnswer::Closed,
                }
            }
            CloseResult::AlreadyPaid(info) => {
                self.note(order, "close_refused", "the customer paid before the close: a sale").await?;
                self.record_paid(order, &info, paid_via).await?;
                CloseAnswer::AlreadyPaid { trade: trade(&info) }
            }
            CloseResult::Retry(why) => {
                self.note(order, "close_retry", &why).await?;
                CloseAnswer::Retry { reason: why }
            }
            CloseResult::Unknown(why) => {
                self.note(order, "close_retry", &why).await?;
                CloseAnswer::Unknown { reason: why }
            }
            CloseResult::Failed(f) => {
                self.note(order, "close_refused", &format!("{}: {}", f.code, f.message)).await?;
                CloseAnswer::Failed { failure: Refusal { code: f.code, message: f.message } }
            }
        })
    }

    /// `POST /v1/orders/{out_trade_no}/close`: closes a dynamic code's trade at the acquirer so it can no longer be
    /// paid. A close that finds it paid records the sale. A number the backend never saw is closed for good (a
    /// precreate arriving after it is refused).
    pub async fn close(&self, till: &Till, out_trade_no: &str) -> Result<CloseResponse, ApiError> {
        let engine = self.engine()?;
        check_number("out_trade_no", out_trade_no)?;
        let Some(order) = self.db_close_number(till.id, out_trade_no).await? else {
            tracing::info!(out_trade_no, till = %till.id, "close before any code: the number is closed");
            return Ok(CloseResponse {
                out_trade_no: out_trade_no.into(),
                order_status: None,
                answer: CloseAnswer::Closed,
            });
        };
        Self::own_store(till, order.store_id)?;
        let answer = match order.status {
            s if paid_family(s) => CloseAnswer::AlreadyPaid { trade: recorded_trade(&order) },
            OrderStatus::Closed | OrderStatus::Cancelled | OrderStatus::Failed => CloseAnswer::Closed,
            _ if self.db_dynamic_code(order.id).await?.is_none() => {
                return Err(ApiError::BadRequest {
                    field: "out_trade_no".into(),
                    detail: "not a dynamic code's order: cancel it instead".into(),
                });
            }
            _ => {
                let channel = engine.router.for_order(&order).map_err(|e| route_error(&till.store_code, e))?;
                self.note(&order, "close", &format!("closing the code for till #{}", till.id)).await?;
                let result = super::timing::timed(channel.close(out_trade_no)).await;
                self.record_close(&order, result, "paid").await?
            }
        };
        let now = self.status_of(&order).await?;
        Ok(CloseResponse { out_trade_no: out_trade_no.into(), order_status: Some(now.status), answer })
    }
}
