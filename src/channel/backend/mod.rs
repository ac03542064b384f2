//! The merchant backend (`tilldesk serve`) as a protocol like the acquirers' own: JSON over HTTP instead of XML or
//! signed forms, the till's token instead of keys. A till enrolled with a backend gets a [`BackendChannel`] for
//! every acquirer account of its store, so its checkout engine (write-ahead, polling, cancel, recovery) and its
//! refund desk run unchanged with the backend as their gateway, and the till holds no acquirer keys.
//!
//! `api` holds the till API's shapes (the backend in `serve/` answers with the same types); `client` makes the calls.
//! This module may import model, money, time and secrets, like every protocol.

pub mod api;
pub mod client;
pub mod dashboard;

use std::sync::Arc;

use api::{
    ApiError, CancelAnswer, CloseAnswer, PayAnswer, PrecreateAnswer, QueryAnswer, RefundAnswer, RefundQueryAnswer,
    RefundState as ApiState,
};
pub use client::{BackendClient, BackendError};

use super::{
    BillResult, BoxFuture, CancelResult, Channel, CloseResult, Failure, PayRequest, PayResult, PrecreateRequest,
    PrecreateResult, QueryResult, RefundQueryResult, RefundRequest, RefundResult, RefundState, TradeInfo,
};
use crate::model::{AcquirerKind, Wallet};
use crate::money::Amount;

/// One acquirer account of the till's store, reached through the merchant backend.
#[derive(Debug, Clone)]
pub struct BackendChannel {
    client: Arc<BackendClient>,
    kind: AcquirerKind,
}

impl BackendChannel {
    pub fn new(client: Arc<BackendClient>, kind: AcquirerKind) -> Self {
        BackendChannel { client, kind }
    }
}

fn trade_info(t: api::Trade) -> TradeInfo {
    TradeInfo {
        trade_no: t.trade_no,
        // An amount that cannot be read counts as "not said": the order transition then holds it for a person.
        amount: t.amount.as_deref().and_then(|a| Amount::parse(a).ok()),
        paid_at: t.paid_at,
        buyer: t.buyer,
        currency: t.currency,
        merchant_id: t.merchant_id,
    }
}

fn failure(f: api::Refusal) -> Failure {
    Failure { code: f.code, message: f.message }
}

/// The backend refused before sending anything to the acquirer (any kind but `internal`): a definite refusal the
/// till can act on. `internal` and no answer at all leave the outcome unknown.
fn definite(e: &BackendError) -> Option<Failure> {
    match e {
        BackendError::Api(ApiError::Internal) => None,
        // A till's order from before it joined that the backend's accounts do not hold: the refund desk says so as
        // it says its own refusal of it.
        BackendError::Api(api @ ApiError::RefundRefused { reason, .. }) if reason == TAKEN_BEFORE_JOINING => {
            Some(Failure { code: TAKEN_BEFORE_JOINING.into(), message: api.to_string() })
        }
        BackendError::Api(api) => Some(Failure { code: api.kind(), message: api.to_string() }),
        _ => None,
    }
}

/// The failure code of a refund the backend refused because the order was taken before the till joined and the
/// backend's accounts do not hold its trade.
pub const TAKEN_BEFORE_JOINING: &str = "taken_before_joining";

fn state(s: ApiState) -> RefundState {
    match s {
        ApiState::Success => RefundState::Success,
        ApiState::Processing => RefundState::Processing,
        ApiState::Failed => RefundState::Failed,
    }
}

impl Channel for BackendChannel {
    fn kind(&self) -> AcquirerKind {
        self.kind
    }

    fn pay<'a>(&'a self, req: &'a PayRequest) -> BoxFuture<'a, PayResult> {
        Box::pin(async move {
            let body = api::PayRequest {
                out_trade_no: req.out_trade_no.clone(),
                auth_code: req.auth_code.clone(),
                amount: req.amount.to_string(),
                subject: req.subject.clone(),
                terminal_id: req.terminal_id.clone(),
                operator_id: req.operator_id.clone(),
            };
            match self.client.pay(&body).await {
                Ok(r) => match r.answer {
                    PayAnswer::Paid { trade } => PayResult::Paid(trade_info(trade)),
                    PayAnswer::Waiting { trade } => PayResult::Waiting(trade_info(trade)),
                    PayAnswer::Unknown { reason } => PayResult::Unknown(reason),
                    PayAnswer::Failed { failure: f } => PayResult::Failed(failure(f)),
                },
                Err(e) => match definite(&e) {
                    Some(f) => PayResult::Failed(f),
                    None => PayResult::Unknown(e.to_string()),
                },
            }
        })
    }

    fn query<'a>(&'a self, out_trade_no: &'a str) -> BoxFuture<'a, QueryResult> {
        Box::pin(async move {
            match self.client.query(out_trade_no).await {
                Ok(r) => match r.answer {
                    QueryAnswer::Paid { trade } => QueryResult::Paid(trade_info(trade)),
                    QueryAnswer::Waiting { trade } => QueryResult::Waiting(trade_info(trade)),
                    QueryAnswer::Closed { trade } => QueryResult::Closed(trade_info(trade)),
                    QueryAnswer::NotFound => QueryResult::NotFound,
                    QueryAnswer::Unknown { reason } => QueryResult::Unknown(reason),
                },
                Err(e) => QueryResult::Unknown(e.to_string()),
            }
        })
    }

    fn cancel<'a>(&'a self, out_trade_no: &'a str) -> BoxFuture<'a, CancelResult> {
        Box::pin(async move {
            match self.client.cancel(out_trade_no).await {
                Ok(r) => match r.answer {
                    CancelAnswer::Done { refunded } => CancelResult::Done { refunded },
                    CancelAnswer::Retry { reason } => CancelResult::Retry(reason),
                    CancelAnswer::Failed { failure: f } => CancelResult::Failed(failure(f)),
                    CancelAnswer::Unknown { reason } => CancelResult::Unknown(reason),
                },
                // Revoked or another store's: a cancel that can never go through here; a person takes over.
                Err(e) => match definite(&e) {
                    Some(f) => CancelResult::Failed(f),
                    None => CancelResult::Unknown(e.to_string()),
                },
            }
        })
    }

    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, RefundResult> {
        Box::pin(async move {
            let body = api::RefundRequest {
                out_trade_no: req.out_trade_no.clone(),
                out_request_no: req.out_request_no.clone(),
                refund_amount: req.refund_amount.to_string(),
                reason: req.reason.clone(),
            };
            match self.client.refund(&body).await {
                Ok(r) => match r.answer {
                    RefundAnswer::Accepted { state: s, refund_no } => {
                        RefundResult::Accepted { state: state(s), refund_no }
                    }
                    RefundAnswer::Failed { failure: f } => RefundResult::Failed(failure(f)),
                    RefundAnswer::Unknown { reason } => RefundResult::Unknown(reason),
                },
                Err(e) => match definite(&e) {
                    Some(f) => RefundResult::Failed(f),
                    None => RefundResult::Unknown(e.to_string()),
                },
            }
        })
    }

    fn refund_query<'a>(&'a self, out_trade_no: &'a str, out_request_no: &'a str) -> BoxFuture<'a, RefundQueryResult> {
        Box::pin(async move {
            match self.client.refund_query(out_trade_no, out_request_no).await {
                Ok(r) => match r.answer {
                    RefundQueryAnswer::Found { state: s } => RefundQueryResult::Found(state(s)),
                    RefundQueryAnswer::NotFound => RefundQueryResult::NotFound,
                    RefundQueryAnswer::Unknown { reason } => RefundQueryResult::Unknown(reason),
                },
                Err(e) => RefundQueryResult::Unknown(e.to_string()),
            }
        })
    }

    fn bill<'a>(&'a self, _bill_date: time::Date) -> BoxFuture<'a, BillResult> {
        Box::pin(async { BillResult::Failed("the merchant backend fetches and reconciles the bills".into()) })
    }

    fn precreate<'a>(&'a self, req: &'a PrecreateRequest) -> BoxFuture<'a, PrecreateResult> {
        Box::pin(async move {
            let expires_at = match req.expires_at.format(&time::format_description::well_known::Rfc3339) {
                Ok(text) => text,
                Err(e) => {
                    return PrecreateResult::Failed(Failure { code: "BAD_REQUEST".into(), message: e.to_string() });
                }
            };
            let body = api::PrecreateRequest {
                out_trade_no: req.out_trade_no.clone(),
                wallet: Wallet::for_protocol(self.kind.protocol()),
                amount: req.amount.to_string(),
                subject: req.subject.clone(),
                expires_at,
                terminal_id: req.terminal_id.clone(),
                operator_id: req.operator_id.clone(),
            };
            match self.client.precreate(&body).await {
                Ok(r) => match r.answer {
                    PrecreateAnswer::Created { code } => PrecreateResult::Created { code },
                    PrecreateAnswer::AlreadyPaid => PrecreateResult::AlreadyPaid,
                    PrecreateAnswer::Failed { failure: f } => PrecreateResult::Failed(failure(f)),
                    PrecreateAnswer::Unknown { reason } => PrecreateResult::Unknown(reason),
                },
                Err(e) => match definite(&e) {
                    Some(f) => PrecreateResult::Failed(f),
                    None => PrecreateResult::Unknown(e.to_string()),
                },
            }
        })
    }

    fn close<'a>(&'a self, out_trade_no: &'a str) -> BoxFuture<'a, CloseResult> {
        Box::pin(async move {
            match self.client.close(out_trade_no).await {
                Ok(r) => match r.answer {
                    CloseAnswer::Closed => CloseResult::Closed,
                    CloseAnswer::AlreadyPaid { trade } => CloseResult::AlreadyPaid(trade_info(trade)),
                    CloseAnswer::Retry { reason } => CloseResult::Retry(reason),
                    CloseAnswer::Failed { failure: f } => CloseResult::Failed(failure(f)),
                    CloseAnswer::Unknown { reason } => CloseResult::Unknown(reason),
                },
                // Revoked or another store's: a close that can never go through here; a person takes over.
                Err(e) => match definite(&e) {
                    Some(f) => CloseResult::Failed(f),
                    None => CloseResult::Unknown(e.to_string()),
                },
            }
        })
    }
}
