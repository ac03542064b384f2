//! The till API over HTTP (axum): versioned paths under `/v1`, the till's token in `Authorization: Bearer`, JSON
//! in and out, every error as `{ "kind": "...", ... }` with the status its kind names. Bodies are limited to 64 KiB.
//! The handlers only read the request and call the [`Backend`] facade.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::office::Scope;
use super::{Backend, Till};
use crate::channel::backend::api::{
    AddOperatorRequest, ApiError, BillDayList, BillDayQuery, CancelResponse, ChangePinRequest, CloseResponse,
    DayClosing, DayRequest, EnrolRequest, EnrolResponse, FeedQuery, Health, OperatorsResponse, PayRequest, PayResponse,
    PrecreateRequest, PrecreateResponse, QueryResponse, ReconReport, ReconRunList, ReconRunQuery, RefundList,
    RefundListQuery, RefundQueryResponse, RefundRequest, RefundResponse, ReopenRequest, ResolveRequest,
    ResolveResponse, SetActiveRequest, ShiftQuery, ShiftReport, ShiftReportList, ShiftReported, SignInRequest,
    SignInResponse, SignOutResponse, TillConfig,
};
use crate::channel::backend::api::{HistoryRequest, HistoryResponse, VerifyResponse};
use crate::channel::backend::dashboard::{DashboardFigures, DashboardQuery};

/// The largest request body read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self)).into_response()
    }
}

type Answer<T> = Result<Json<T>, ApiError>;
type Shared = State<Arc<Backend>>;

fn body<T>(parsed: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    parsed.map(|Json(v)| v).map_err(|e| ApiError::BadRequest { field: "body".into(), detail: e.body_text() })
}

/// The till whose token the request carries.
async fn till(backend: &Backend, headers: &HeaderMap) -> Result<Till, ApiError> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).unwrap_or_default();
    backend.authenticate(token).await
}

/// The operator session the request carries (`X-Operator-Session`), if any.
fn session(headers: &HeaderMap) -> Option<&str> {
    headers.get(super::staff::SESSION_HEADER).and_then(|v| v.to_str().ok()).filter(|v| !v.trim().is_empty())
}

/// The scope of the operator signed in at the till, when the request carries a valid session (money calls work
/// without one: an expired session never stops a payment).
async fn scope_if_any(backend: &Backend, till: &Till, headers: &HeaderMap) -> Option<Scope> {
    let token = session(headers)?;
    backend.scope(till, Some(token)).await.ok()
}

/// `GET /health` (no token): the instance answers, and which published catalogue version it serves — for a load
/// balancer's check and for an operator rolling out a catalogue change.
async fn health(State(b): Shared) -> Json<Health> {
    Json(Health { status: "ok".into(), catalogue_version: b.catalogue_version() })
}

async fn sign_out(State(b): Shared, headers: HeaderMap) -> Answer<SignOutResponse> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.sign_out(&t, session(&headers)).await?))
}

async fn enrol(State(b): Shared, parsed: Result<Json<EnrolRequest>, JsonRejection>) -> Answer<EnrolResponse> {
    let req = body(parsed)?;
    Ok(Json(b.enrol(&req.code).await?))
}

async fn till_config(State(b): Shared, headers: HeaderMap) -> Answer<TillConfig> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.till_config(&t).await?))
}

async fn pay(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<PayRequest>, JsonRejection>,
) -> Answer<PayResponse> {
    let t = till(&b, &headers).await?;
    let operator = match session(&headers) {
        Some(token) => b.session_operator(&t, Some(token)).await.ok().map(|o| o.id),
        None => None,
    };
    Ok(Json(b.pay(&t, body(parsed)?, operator).await?))
}

/// `GET /v1/orders`: the feed with `since`, else the list (a signed-in operator's scope).
async fn orders(State(b): Shared, headers: HeaderMap, query: Result<Query<FeedQuery>, QueryRejection>) -> Response {
    let answer = async {
        let t = till(&b, &headers).await?;
        let Query(q) = query.map_err(|e| ApiError::BadRequest { field: "query".into(), detail: e.body_text() })?;
        match q.since {
            Some(since) => {
                let all = scope_if_any(&b, &t, &headers).await == Some(Scope::AllStores);
                Ok(Json(b.orders_since(&t, since, q.limit, all).await?).into_response())
            }
            None => {
                let scope = b.scope(&t, session(&headers)).await?;
                Ok(Json(b.order_list(scope, &q).await?).into_response())
            }
        }
    }
    .await;
    answer.unwrap_or_else(|e: ApiError| e.into_response())
}

async fn order(State(b): Shared, headers: HeaderMap, Path(out_trade_no): Path<String>) -> Answer<QueryResponse> {
    let t = till(&b, &headers).await?;
    let scope = scope_if_any(&b, &t, &headers).await;
    Ok(Json(b.query_detail(&t, scope, &out_trade_no).await?))
}

async fn refunds(
    State(b): Shared,
    headers: HeaderMap,
    query: Result<Query<RefundListQuery>, QueryRejection>,
) -> Answer<RefundList> {
    let t = till(&b, &headers).await?;
    let Query(q) = query.map_err(|e| ApiError::BadRequest { field: "query".into(), detail: e.body_text() })?;
    let scope = b.scope(&t, session(&headers)).await?;
    Ok(Json(b.refund_list(scope, &q).await?))
}

async fn cancel(State(b): Shared, headers: HeaderMap, Path(out_trade_no): Path<String>) -> Answer<CancelResponse> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.cancel(&t, &out_trade_no).await?))
}

async fn refund(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<RefundRequest>, JsonRejection>,
) -> Answer<RefundResponse> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.refund(&t, body(parsed)?).await?))
}

async fn refund_status(
    State(b): Shared,
    headers: HeaderMap,
    Path(out_request_no): Path<String>,
) -> Answer<RefundQueryResponse> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.refund_query(&t, &out_request_no).await?))
}

async fn precreate(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<PrecreateRequest>, JsonRejection>,
) -> Answer<PrecreateResponse> {
    let t = till(&b, &headers).await?;
    let operator = match session(&headers) {
        Some(token) => b.session_operator(&t, Some(token)).await.ok().map(|o| o.id),
        None => None,
    };
    Ok(Json(b.precreate(&t, body(parsed)?, operator).await?))
}

async fn close(State(b): Shared, headers: HeaderMap, Path(out_trade_no): Path<String>) -> Answer<CloseResponse> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.close(&t, &out_trade_no).await?))
}

async fn sign_in(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<SignInRequest>, JsonRejection>,
) -> Answer<SignInResponse> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.sign_in(&t, &body(parsed)?).await?))
}

async fn verify_operator(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<SignInRequest>, JsonRejection>,
) -> Answer<VerifyResponse> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.verify_operator(&t, &body(parsed)?).await?))
}

async fn add_operator(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<AddOperatorRequest>, JsonRejection>,
) -> Answer<OperatorsResponse> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.add_operator(&t, &body(parsed)?).await?))
}

async fn change_pin(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<ChangePinRequest>, JsonRejection>,
) -> Answer<OperatorsResponse> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.change_pin(&t, &body(parsed)?).await?))
}

async fn set_operator_active(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<SetActiveRequest>, JsonRejection>,
) -> Answer<OperatorsResponse> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.set_operator_active(&t, &body(parsed)?).await?))
}

async fn operators(State(b): Shared, headers: HeaderMap) -> Answer<OperatorsResponse> {
    till(&b, &headers).await?;
    Ok(Json(b.operator_list().await?))
}

/// The query string, or `bad_request`.
fn query<T>(parsed: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    parsed.map(|Query(q)| q).map_err(|e| ApiError::BadRequest { field: "query".into(), detail: e.body_text() })
}

/// `GET /v1/recon/runs`: reconciliation runs, scoped (owner or back office).
async fn recon_runs(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Query<ReconRunQuery>, QueryRejection>,
) -> Answer<ReconRunList> {
    let t = till(&b, &headers).await?;
    let scope = b.recon_scope(&t, session(&headers)).await?;
    Ok(Json(b.recon_runs(scope, &query(parsed)?).await?))
}

#[derive(Debug, Default, serde::Deserialize)]
struct StoreQuery {
    #[serde(default)]
    store: Option<String>,
}

/// `POST /v1/shifts`: a shift or day close the till closed.
async fn report_shift(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<ShiftReport>, JsonRejection>,
) -> Answer<ShiftReported> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.report_shift(&t, &body(parsed)?).await?))
}

/// `GET /v1/shifts`: the tills' shift reports, scoped by the signed-in operator's role.
async fn shift_reports(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Query<ShiftQuery>, QueryRejection>,
) -> Answer<ShiftReportList> {
    let t = till(&b, &headers).await?;
    let scope = b.scope(&t, session(&headers)).await?;
    Ok(Json(b.shift_reports(scope, &query(parsed)?).await?))
}

/// `GET /v1/recon/runs/{run_id}`: a run's report, scoped.
async fn recon_report(
    State(b): Shared,
    headers: HeaderMap,
    Path(run_id): Path<String>,
    parsed: Result<Query<StoreQuery>, QueryRejection>,
) -> Answer<ReconReport> {
    let t = till(&b, &headers).await?;
    let scope = b.recon_scope(&t, session(&headers)).await?;
    let run_id = run_id
        .trim()
        .parse::<i64>()
        .map_err(|_| ApiError::BadRequest { field: "run_id".into(), detail: "a run's number".into() })?;
    Ok(Json(b.recon_report(scope, run_id, query(parsed)?.store.as_deref()).await?))
}

/// `GET /v1/recon/bills`: the downloaded bills by day and store, scoped.
/// `POST /v1/orders/history`: the till's orders from before it joined.
async fn history(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<HistoryRequest>, JsonRejection>,
) -> Answer<HistoryResponse> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.record_history(&t, &body(parsed)?).await?))
}

async fn dashboard(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Query<DashboardQuery>, QueryRejection>,
) -> Answer<DashboardFigures> {
    let t = till(&b, &headers).await?;
    let scope = b.scope(&t, session(&headers)).await?;
    Ok(Json(b.dashboard(scope, &query(parsed)?).await?))
}

async fn bill_days(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Query<BillDayQuery>, QueryRejection>,
) -> Answer<BillDayList> {
    let t = till(&b, &headers).await?;
    let scope = b.recon_scope(&t, session(&headers)).await?;
    Ok(Json(b.bill_days(scope, &query(parsed)?).await?))
}

/// A difference's number in the path.
fn difference_id(text: &str) -> Result<i64, ApiError> {
    text.trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .map_err(|_| ApiError::BadRequest { field: "id".into(), detail: "a difference's number".into() })
}

/// `POST /v1/recon/differences/{id}/resolve`: resolves a difference of its day's latest run, scoped.
async fn resolve_difference(
    State(b): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    parsed: Result<Json<ResolveRequest>, JsonRejection>,
) -> Answer<ResolveResponse> {
    let t = till(&b, &headers).await?;
    let id = difference_id(&id)?;
    Ok(Json(b.resolve_difference(&t, session(&headers), id, &body(parsed)?).await?))
}

/// `POST /v1/recon/differences/{id}/reopen`: takes a resolution back, scoped.
async fn reopen_difference(
    State(b): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    parsed: Result<Json<ReopenRequest>, JsonRejection>,
) -> Answer<ResolveResponse> {
    let t = till(&b, &headers).await?;
    let id = difference_id(&id)?;
    Ok(Json(b.reopen_difference(&t, session(&headers), id, &body(parsed)?).await?))
}

/// `POST /v1/recon/days/close`: closes an account's day, freezing its report.
async fn close_day(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<DayRequest>, JsonRejection>,
) -> Answer<DayClosing> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.close_recon_day(&t, session(&headers), &body(parsed)?).await?))
}

/// `POST /v1/recon/days/reopen`: reopens a closed day.
async fn reopen_day(
    State(b): Shared,
    headers: HeaderMap,
    parsed: Result<Json<DayRequest>, JsonRejection>,
) -> Answer<DayClosing> {
    let t = till(&b, &headers).await?;
    Ok(Json(b.reopen_recon_day(&t, session(&headers), &body(parsed)?).await?))
}

/// Every answer says how long the call waited for the acquirer (`Server-Timing`, see [`super::timing`]).
async fn server_timing(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let (mut response, acquirer) = super::timing::measured(next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&super::timing::server_timing(started.elapsed(), acquirer)) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

async fn unknown_path() -> ApiError {
    ApiError::NotFound { what: "such path in the till API".into() }
}

/// The till API's routes on `backend`.
pub fn routes(backend: Arc<Backend>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/enrol", post(enrol))
        .route("/v1/till", get(till_config))
        .route("/v1/pay", post(pay))
        .route("/v1/precreate", post(precreate))
        .route("/v1/sign-in", post(sign_in))
        .route("/v1/sign-out", post(sign_out))
        .route("/v1/operators", get(operators).post(add_operator))
        .route("/v1/operators/pin", post(change_pin))
        .route("/v1/operators/verify", post(verify_operator))
        .route("/v1/operators/active", post(set_operator_active))
        .route("/v1/orders", get(orders))
        .route("/v1/orders/history", post(history))
        .route("/v1/orders/{out_trade_no}", get(order))
        .route("/v1/orders/{out_trade_no}/cancel", post(cancel))
        .route("/v1/orders/{out_trade_no}/close", post(close))
        .route("/v1/refunds", get(refunds).post(refund))
        .route("/v1/refunds/{out_request_no}", get(refund_status))
        .route("/v1/shifts", get(shift_reports).post(report_shift))
        .route("/v1/dashboard", get(dashboard))
        .route("/v1/recon/runs", get(recon_runs))
        .route("/v1/recon/runs/{run_id}", get(recon_report))
        .route("/v1/recon/bills", get(bill_days))
        .route("/v1/recon/differences/{id}/resolve", post(resolve_difference))
        .route("/v1/recon/differences/{id}/reopen", post(reopen_difference))
        .route("/v1/recon/days/close", post(close_day))
        .route("/v1/recon/days/reopen", post(reopen_day))
        .fallback(unknown_path)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(server_timing))
        .with_state(backend)
}
