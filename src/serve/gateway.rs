//! The till API's money operations. The backend is the tills' gateway: each call writes ahead, makes one call to
//! the acquirer through the backend's router, records the answer through the transition functions, and hands the
//! acquirer's answer back, so the till's own engine (polling, cancel, recovery) classifies it exactly as it would
//! the acquirer's. Every call is idempotent by the till's out_trade_no / out_request_no: asked again, the backend
//! answers from what it recorded and never charges or refunds twice (unique keys; the refund desk's
//! look-up-before-resend). What a till leaves unfinished, the backend's recovery and sync worker finish.

use std::sync::Arc;

use super::Till;
use super::{Backend, internal};
use crate::channel::backend::api::{
    ApiError, CancelAnswer, CancelResponse, PayAnswer, PayRequest, PayResponse, QueryAnswer, QueryResponse,
    RefundAnswer, RefundQueryAnswer, RefundQueryResponse, RefundRequest, RefundResponse, RefundState, Refusal, Trade,
};
use crate::channel::{
    CancelResult, PayRequest as AcquirerPay, PayResult, QueryResult, RefundQueryResult, RefundState as AcquirerState,
    TradeInfo,
};
use crate::model::{AcquirerKind, Order, OrderStatus, Refund, RefundStatus};
use crate::money::Amount;
use crate::refund::{RefundDesk, RefundError, RefundSettings};
use crate::routing::{RouteError, wallet_of};
use crate::store::orders::NewOrder;
use crate::store::serve::{Begun, BegunRefund};
use crate::store::transitions::{OrderMove, OrderMoved, PaidFacts};

/// Order and refund numbers the backend takes: what both acquirers accept (letters, digits, `_`, `-`), ≤ 64.
pub(super) fn check_number(field: &str, value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest { field: field.into(), detail: "letters, digits, _ and -, at most 64".into() })
    }
}

pub(super) fn amount(field: &str, text: &str) -> Result<Amount, ApiError> {
    match Amount::parse(text) {
        Ok(a) if a.fen() > 0 => Ok(a),
        Ok(_) => Err(ApiError::BadRequest { field: field.into(), detail: "must be more than 0.00".into() }),
        Err(e) => Err(ApiError::BadRequest { field: field.into(), detail: e.to_string() }),
    }
}

/// A sale's number, amount and subject as a till sends them: the amount, or what is wrong.
pub(super) fn sale(out_trade_no: &str, amount_text: &str, subject: &str) -> Result<Amount, ApiError> {
    check_number("out_trade_no", out_trade_no)?;
    let total = amount("amount", amount_text)?;
    if subject.trim().is_empty() {
        return Err(ApiError::BadRequest { field: "subject".into(), detail: "empty".into() });
    }
    Ok(total)
}

pub(super) fn trade(info: &TradeInfo) -> Trade {
    Trade {
        trade_no: info.trade_no.clone(),
        amount: info.amount.map(|a| a.to_string()),
        paid_at: info.paid_at.clone(),
        buyer: info.buyer.clone(),
        currency: info.currency.clone(),
        merchant_id: info.merchant_id.clone(),
    }
}

/// A recorded payment as the acquirer would describe it: its numbers, the payment time in China time.
pub(super) fn recorded_trade(order: &Order) -> Trade {
    Trade {
        trade_no: order.trade_no.clone(),
        amount: Some(order.total_amount.to_string()),
        paid_at: order.paid_at.as_deref().map(crate::time::to_china_display),
        buyer: None,
        currency: Some(order.currency.code().to_owned()),
        merchant_id: order.acquirer_merchant_id.clone(),
    }
}

pub(super) fn paid_family(s: OrderStatus) -> bool {
    matches!(s, OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded)
}

pub(super) fn route_error(store_code: &str, e: RouteError) -> ApiError {
    match e {
        RouteError::NoRoute { store_code, wallet } => ApiError::NoRoute { store_code, wallet },
        RouteError::NotAPaymentCode(_) => ApiError::NotAPaymentCode,
        RouteError::Unavailable { acquirer, reason, .. } => {
            let detail = reason.to_string();
            tracing::warn!(acquirer, detail, "an acquirer of the backend is not set up");
            ApiError::AcquirerUnavailable { store_code: store_code.into(), detail: format!("{acquirer}: {detail}") }
        }
        other => internal(&other),
    }
}

impl Backend {
    /// Reads an order and checks it is the till's store's.
    pub(super) async fn own_order(&self, till: &Till, out_trade_no: &str) -> Result<Option<Order>, ApiError> {
        let order = self.db_order_by_number(out_trade_no).await?;
        if let Some(o) = &order {
            Self::own_store(till, o.store_id)?;
        }
        Ok(order)
    }

    pub(super) async fn status_of(&self, order: &Order) -> Result<Order, ApiError> {
        self.db_order(order.id).await?.ok_or_else(|| internal(&format!("order {} vanished", order.out_trade_no)))
    }

    pub(super) async fn advance(&self, order: &Order, m: &OrderMove<'_>) -> Result<OrderMoved, ApiError> {
        Ok(self.db_move_order(order.id, m).await?)
    }

    /// Records a PAID answer through the order transition function (amount, currency and merchant compared).
    pub(super) async fn record_paid(&self, order: &Order, info: &TradeInfo, via: &str) -> Result<OrderMoved, ApiError> {
        let paid_at =
            info.paid_at.as_deref().and_then(crate::time::acquirer_time_to_utc).unwrap_or_else(crate::time::now_utc);
        let facts = PaidFacts {
            amount: info.amount,
            currency: info.currency.as_deref(),
            merchant_id: info.merchant_id.as_deref(),
        };
        self.advance(order, &OrderMove::paid("paid", via, info.trade_no.as_deref(), Some(&paid_at), facts)).await
    }

    /// `POST /v1/pay`; `operator`: the operator signed in at the till (its session), recorded on the order.
    pub async fn pay(
        &self,
        till: &Till,
        req: PayRequest,
        operator: Option<crate::model::OperatorId>,
    ) -> Result<PayResponse, ApiError> {
        let engine = self.engine()?;
        let total = sale(&req.out_trade_no, &req.amount, &req.subject)?;
        if let Some(order) = self.own_order(till, &req.out_trade_no).await? {
            return self.replay_pay(order, total).await;
        }
        let wallet = wallet_of(req.auth_code.expose()).map_err(|_| ApiError::NotAPaymentCode)?;
        let max = crate::checkout::max_amount(wallet);
        if total > max {
            return Err(ApiError::AmountTooLarge { amount: total.to_string(), max: max.to_string() });
        }
        let routed = self.with_store(|s| {
            engine.router.route(s, till.store_id, wallet).map_err(|e| route_error(&till.store_code, e))
        })?;
        let new = NewOrder {
            out_trade_no: req.out_trade_no.clone(),
            store_id: till.store_id,
            acquirer_id: routed.acquirer.id,
            operator_id: operator,
            subject: req.subject.clone(),
            total_amount: total,
            auth_code_masked: req.auth_code.masked(),
            acquirer_merchant_id: routed.merchant_id.clone(),
            terminal_id: req.terminal_id.clone().filter(|t| !t.trim().is_empty()),
        };
        let order = match self.db_begin_order(till.id, &new).await? {
            Begun::Created(order) => order,
            Begun::Existing { order, .. } => {
                Self::own_store(till, order.store_id)?;
                return self.replay_pay(order, total).await;
            }
            Begun::Closed => return Err(ApiError::OrderClosed { out_trade_no: req.out_trade_no }),
        };
        let request = AcquirerPay {
            out_trade_no: req.out_trade_no.clone(),
            auth_code: req.auth_code,
            amount: total,
            subject: req.subject,
            store_id: Some(till.store_code.clone()),
            terminal_id: new.terminal_id,
            operator_id: req.operator_id,
        };
        tracing::info!(out_trade_no = request.out_trade_no, till = %till.id, acquirer = routed.acquirer.name, "pay");
        let result = super::timing::timed(routed.channel.pay(&request)).await;
        let answer = match result {
            PayResult::Paid(info) => {
                self.record_paid(&order, &info, "paid").await?;
                PayAnswer::Paid { trade: trade(&info) }
            }
            PayResult::Waiting(info) => {
                self.advance(&order, &OrderMove::to(OrderStatus::Paying, "waiting", "waiting for the password"))
                    .await?;
                PayAnswer::Waiting { trade: trade(&info) }
            }
            PayResult::Unknown(why) => {
                self.advance(&order, &OrderMove::to(OrderStatus::Unknown, "unknown", &why)).await?;
                PayAnswer::Unknown { reason: why }
            }
            PayResult::Failed(f) => {
                let detail = format!("{}: {}", f.code, f.message);
                self.advance(&order, &OrderMove::to(OrderStatus::Failed, "failed", &detail)).await?;
                PayAnswer::Failed { failure: Refusal { code: f.code, message: f.message } }
            }
        };
        let now = self.status_of(&order).await?;
        Ok(PayResponse { out_trade_no: now.out_trade_no, order_status: now.status, replayed: false, answer })
    }

    /// A pay asked again: the order's current state, nothing sent.
    async fn replay_pay(&self, order: Order, total: Amount) -> Result<PayResponse, ApiError> {
        if order.total_amount != total {
            return Err(ApiError::OutTradeNoTaken { out_trade_no: order.out_trade_no });
        }
        let answer = match order.status {
            s if paid_family(s) => PayAnswer::Paid { trade: recorded_trade(&order) },
            OrderStatus::Paying => PayAnswer::Waiting { trade: Trade::default() },
            OrderStatus::Unknown | OrderStatus::Cancelling | OrderStatus::NeedsAttention => {
                PayAnswer::Unknown { reason: format!("the order is {} at the merchant backend", order.status) }
            }
            OrderStatus::Failed => {
                let events = self.db_order_events(order.id).await?;
                let detail = events.iter().rev().find(|e| e.kind == "failed").map(|e| e.detail.clone());
                let (code, message) = match detail.as_deref().and_then(|d| d.split_once(": ")) {
                    Some((c, m)) => (c.to_owned(), m.to_owned()),
                    None => ("FAILED".to_owned(), "the payment failed".to_owned()),
                };
                PayAnswer::Failed { failure: Refusal { code, message } }
            }
            _ => PayAnswer::Failed {
                failure: Refusal { code: "ORDER_CLOSED".into(), message: format!("the order is {}", order.status) },
            },
        };
        Ok(PayResponse { out_trade_no: order.out_trade_no, order_status: order.status, replayed: true, answer })
    }

    /// `GET /v1/orders/{out_trade_no}`: a settled order is answered from the record; an open one is asked of the
    /// acquirer and the answer recorded.
    pub async fn query(&self, till: &Till, out_trade_no: &str) -> Result<QueryResponse, ApiError> {
        let engine = self.engine()?;
        check_number("out_trade_no", out_trade_no)?;
        let Some(order) = self.own_order(till, out_trade_no).await? else {
            return Ok(QueryResponse {
                out_trade_no: out_trade_no.into(),
                order_status: None,
                order: None,
                answer: QueryAnswer::NotFound,
            });
        };
        let answer = match order.status {
            s if paid_family(s) => QueryAnswer::Paid { trade: recorded_trade(&order) },
            OrderStatus::Closed | OrderStatus::Cancelled | OrderStatus::Failed => {
                QueryAnswer::Closed { trade: Trade { trade_no: order.trade_no.clone(), ..Trade::default() } }
            }
            _ => {
                let channel = engine.router.for_order(&order).map_err(|e| route_error(&till.store_code, e))?;
                match super::timing::timed(channel.query(out_trade_no)).await {
                    QueryResult::Paid(info) => {
                        match self.record_paid(&order, &info, "paid (queried for a till)").await? {
                            // A cancel is on its way here: it returns the money, so the till must not count it paid.
                            OrderMoved::Refused { from, .. } => {
                                QueryAnswer::Unknown { reason: format!("the order is {from} at the merchant backend") }
                            }
                            _ => QueryAnswer::Paid { trade: trade(&info) },
                        }
                    }
                    QueryResult::Waiting(info) => QueryAnswer::Waiting { trade: trade(&info) },
                    QueryResult::Closed(info) => {
                        let closed = OrderMove::to(OrderStatus::Closed, "closed", "closed at the acquirer");
                        match self.advance(&order, &closed).await? {
                            OrderMoved::Refused { from, .. } => {
                                QueryAnswer::Unknown { reason: format!("the order is {from} at the merchant backend") }
                            }
                            _ => QueryAnswer::Closed { trade: trade(&info) },
                        }
                    }
                    QueryResult::NotFound => QueryAnswer::NotFound,
                    QueryResult::Unknown(why) => QueryAnswer::Unknown { reason: why },
                }
            }
        };
        let now = self.status_of(&order).await?;
        Ok(QueryResponse { out_trade_no: out_trade_no.into(), order_status: Some(now.status), order: None, answer })
    }

    /// `POST /v1/orders/{out_trade_no}/cancel`: cancel (Alipay) / reverse (WeChat Pay) once at the acquirer. A number
    /// the backend never saw is closed for good: its payment, should it still arrive, is refused.
    pub async fn cancel(&self, till: &Till, out_trade_no: &str) -> Result<CancelResponse, ApiError> {
        let engine = self.engine()?;
        check_number("out_trade_no", out_trade_no)?;
        let found = self.db_close_number(till.id, out_trade_no).await?;
        let Some(order) = found else {
            tracing::info!(out_trade_no, till = %till.id, "cancel before any payment: the number is closed");
            return Ok(CancelResponse {
                out_trade_no: out_trade_no.into(),
                order_status: None,
                answer: CancelAnswer::Done { refunded: false },
            });
        };
        Self::own_store(till, order.store_id)?;
        let answer = match order.status {
            // The customer paid: a cancel would return the money behind the record's back. A refund does that.
            s if paid_family(s) => CancelAnswer::Failed {
                failure: Refusal {
                    code: "TRADE_PAID".into(),
                    message: format!("order {out_trade_no} is paid at the merchant backend: refund it instead"),
                },
            },
            OrderStatus::Closed | OrderStatus::Cancelled | OrderStatus::Failed => {
                CancelAnswer::Done { refunded: false }
            }
            _ => {
                let channel = engine.router.for_order(&order).map_err(|e| route_error(&till.store_code, e))?;
                let verb = if channel.kind() == AcquirerKind::WechatPay { "reverse" } else { "cancel" };
                let asked = format!("asking the acquirer to {verb} for till #{}", till.id);
                if let OrderMoved::Refused { from, .. } =
                    self.advance(&order, &OrderMove::to(OrderStatus::Cancelling, verb, &asked)).await?
                {
                    return Err(internal(&format!("order {out_trade_no} cannot be cancelled from {from}")));
                }
                match super::timing::timed(channel.cancel(out_trade_no)).await {
                    CancelResult::Done { refunded } => {
                        let detail =
                            if refunded { "confirmed: the money went back to the customer" } else { "confirmed" };
                        let kind = format!("{verb}_confirmed");
                        let done = OrderMove::to(OrderStatus::Cancelled, &kind, detail);
                        self.advance(&order, &done).await?;
                        self.db_cancel_delivered(out_trade_no).await?;
                        CancelAnswer::Done { refunded }
                    }
                    CancelResult::Retry(why) => {
                        self.note(&order, &format!("{verb}_retry"), &why).await?;
                        CancelAnswer::Retry { reason: why }
                    }
                    CancelResult::Unknown(why) => {
                        self.note(&order, &format!("{verb}_retry"), &why).await?;
                        CancelAnswer::Unknown { reason: why }
                    }
                    CancelResult::Failed(f) => {
                        self.note(&order, &format!("{verb}_refused"), &format!("{}: {}", f.code, f.message)).await?;
                        CancelAnswer::Failed { failure: Refusal { code: f.code, message: f.message } }
                    }
                }
            }
        };
        let now = self.status_of(&order).await?;
        Ok(CancelResponse { out_trade_no: out_trade_no.into(), order_status: Some(now.status), answer })
    }

    pub(super) async fn note(&self, order: &Order, kind: &str, detail: &str) -> Result<(), ApiError> {
        Ok(self.db_order_event(order.id, kind, detail).await?)
    }

    /// The refund desk of the backend: one send per call, the following left to the till's queries and the sync
    /// worker.
    fn desk(&self) -> Result<RefundDesk, ApiError> {
        let engine = self.engine()?;
        let store = crate::store::Store::open(&self.db_path()).map_err(|e| internal(&e))?;
        let settings = RefundSettings {
            attempts: 1,
            retry_interval: std::time::Duration::ZERO,
            follow_window: std::time::Duration::ZERO,
            follow_interval: std::time::Duration::ZERO,
        };
        Ok(RefundDesk::new(store, engine.router.clone(), Arc::new(crate::checkout::SystemClock), settings))
    }

    /// `POST /v1/refunds`.
    pub async fn refund(&self, till: &Till, req: RefundRequest) -> Result<RefundResponse, ApiError> {
        let engine = self.engine()?;
        check_number("out_trade_no", &req.out_trade_no)?;
        check_number("out_request_no", &req.out_request_no)?;
        let asked = amount("refund_amount", &req.refund_amount)?;
        // A till's order from before it joined: refunded only through an account of the backend's that holds the
        // trade (asked once per new refund number); else refused.
        if let Some(order) = self.own_order(till, &req.out_trade_no).await?
            && self.db_is_history_order(order.id).await?
            && self.db_refund_by_number(&req.out_request_no).await?.is_none()
            && !self.holds_trade(&engine, &order).await?
        {
            let taken = crate::store::refunds::RefundRefused::TakenBeforeJoining { out_trade_no: order.out_trade_no };
            return Err(refused(&taken));
        }
        let begun = self
            .db_begin_refund(till.id, (&req.out_trade_no, &req.out_request_no), asked, &req.reason)
            .await?
            .map_err(|e| refused(&e))?;
        let (refund, replayed) = match begun {
            BegunRefund::Created { refund, .. } => (refund, false),
            BegunRefund::Existing { order, refund, till: by } => {
                let same =
                    order.out_trade_no == req.out_trade_no && refund.refund_amount == asked && by == Some(till.id);
                if !same {
                    return Err(ApiError::OutRequestNoTaken { out_request_no: req.out_request_no });
                }
                (refund, true)
            }
        };
        // Two sends of one out_request_no at once (a till asking again while the first is on its way) are safe:
        // the acquirer deduplicates by it, and the refund moves once.
        let refund = match refund.status {
            RefundStatus::Success | RefundStatus::Failed => Ok(refund),
            _ if self.on_postgres() => {
                tracing::info!(out_request_no = refund.out_request_no, till = %till.id, replayed, "refund");
                self.refund_once(refund, !replayed).await?
            }
            _ => {
                tracing::info!(out_request_no = refund.out_request_no, till = %till.id, replayed, "refund");
                self.desk()?.resend(&refund.out_request_no).await
            }
        };
        let answer = match refund {
            Ok(r) => refund_answer(&r),
            Err(RefundError::AcquirerRefused(message)) => {
                RefundAnswer::Failed { failure: Refusal { code: "REFUND_REFUSED".into(), message } }
            }
            Err(RefundError::NoChannel(e)) => return Err(route_error(&till.store_code, e)),
            Err(e) => return Err(internal(&e)),
        };
        let status = self.db_refund_by_number(&req.out_request_no).await?.map(|r| r.status);
        Ok(RefundResponse {
            out_request_no: req.out_request_no,
            out_trade_no: req.out_trade_no,
            refund_status: status,
            replayed,
            answer,
        })
    }

    /// Whether the account the backend filed a till's history order under holds its trade: the acquirer, asked by
    /// the order's out_trade_no (and merchant id), knows a trade of that number with the order's trade_no and
    /// amount. A till's own account is then one the backend holds, and the refund goes through it. An answer that
    /// does not come is an error (the till asks again), not a refusal.
    async fn holds_trade(&self, engine: &super::Engine, order: &Order) -> Result<bool, ApiError> {
        let Ok(channel) = engine.router.for_order(order) else { return Ok(false) };
        let info = match super::timing::timed(channel.query(&order.out_trade_no)).await {
            QueryResult::Paid(info) | QueryResult::Closed(info) => info,
            QueryResult::Waiting(_) | QueryResult::NotFound => return Ok(false),
            QueryResult::Unknown(why) => {
                return Err(internal(&format!("whether the acquirer holds {}: {why}", order.out_trade_no)));
            }
        };
        let same_trade = match (&order.trade_no, &info.trade_no) {
            (Some(ours), Some(theirs)) => ours == theirs,
            _ => true,
        };
        let same_amount = info.amount.is_none_or(|a| a == order.total_amount);
        let holds = same_trade && same_amount;
        tracing::info!(
            out_trade_no = order.out_trade_no,
            holds,
            "a till's order from before it joined, asked of the acquirer"
        );
        Ok(holds)
    }

    /// `GET /v1/refunds/{out_request_no}`: a settled refund from the record; an open one asked of the acquirer and
    /// the answer recorded.
    pub async fn refund_query(&self, till: &Till, out_request_no: &str) -> Result<RefundQueryResponse, ApiError> {
        let engine = self.engine()?;
        check_number("out_request_no", out_request_no)?;
        let found = self.db_refund_by_number(out_request_no).await?;
        let Some(refund) = found else {
            return Ok(RefundQueryResponse {
                out_request_no: out_request_no.into(),
                refund_status: None,
                answer: RefundQueryAnswer::NotFound,
            });
        };
        let order = self
            .db_order(refund.order_id)
            .await?
            .ok_or_else(|| internal(&format!("the order of refund {out_request_no} vanished")))?;
        Self::own_store(till, order.store_id)?;
        let answer = match refund.status {
            RefundStatus::Success => RefundQueryAnswer::Found { state: RefundState::Success },
            RefundStatus::Failed => RefundQueryAnswer::Found { state: RefundState::Failed },
            RefundStatus::Submitted | RefundStatus::Processing => {
                let channel = engine.router.for_order(&order).map_err(|e| route_error(&till.store_code, e))?;
                match super::timing::timed(channel.refund_query(&order.out_trade_no, out_request_no)).await {
                    RefundQueryResult::Found(state) => {
                        let (to, detail) = match state {
                            AcquirerState::Success => (RefundStatus::Success, "refund_status SUCCESS"),
                            AcquirerState::Processing => (RefundStatus::Processing, "accepted"),
                            AcquirerState::Failed => (RefundStatus::Failed, "refund closed"),
                        };
                        self.db_move_refund(refund.id, to, detail).await?;
                        RefundQueryAnswer::Found { state: api_state(state) }
                    }
                    RefundQueryResult::NotFound => RefundQueryAnswer::NotFound,
                    RefundQueryResult::Unknown(why) => RefundQueryAnswer::Unknown { reason: why },
                }
            }
        };
        let status = self.db_refund(refund.id).await?.map(|r| r.status);
        Ok(RefundQueryResponse { out_request_no: out_request_no.into(), refund_status: status, answer })
    }
}

fn api_state(s: AcquirerState) -> RefundState {
    match s {
        AcquirerState::Success => RefundState::Success,
        AcquirerState::Processing => RefundState::Processing,
        AcquirerState::Failed => RefundState::Failed,
    }
}

/// A refund as the desk left it, as the acquirer's answer.
fn refund_answer(r: &Refund) -> RefundAnswer {
    let state = match r.status {
        RefundStatus::Success => RefundState::Success,
        RefundStatus::Processing => RefundState::Processing,
        RefundStatus::Failed => RefundState::Failed,
        RefundStatus::Submitted => {
            return RefundAnswer::Unknown {
                reason: "no answer from the acquirer yet; the backend keeps trying".into(),
            };
        }
    };
    RefundAnswer::Accepted { state, refund_no: None }
}

/// A refund the backend will not write, as a kind with values.
fn refused(e: &crate::store::refunds::RefundRefused) -> ApiError {
    use crate::store::refunds::RefundRefused as R;
    let (reason, refundable) = match e {
        R::NoSuchOrder(_) => ("no_such_order", None),
        R::NotPaid { .. } => ("not_paid", None),
        R::Zero => ("zero", None),
        R::TooMuch { refundable, .. } => ("too_much", Some(refundable.to_string())),
        R::NoReason => ("no_reason", None),
        R::TakenBeforeJoining { .. } => ("taken_before_joining", None),
        R::Store(s) => return internal(s),
    };
    ApiError::RefundRefused { reason: reason.into(), refundable }
}
