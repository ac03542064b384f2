//! The till's HTTP client of the merchant backend: one method per call of the till API, the till's token in
//! `Authorization: Bearer` (never logged), JSON both ways, the backend's error kinds as [`ApiError`].

use std::time::Duration;

use super::api::{
    AddOperatorRequest, ApiError, BillDayList, BillDayQuery, CancelResponse, ChangePinRequest, CloseResponse,
    DayClosing, DayRequest, EnrolRequest, EnrolResponse, FeedPage, FeedQuery, OperatorsResponse, OrderList, PayRequest,
    PayResponse, PrecreateRequest, PrecreateResponse, QueryResponse, ReconReport, ReconRunList, ReconRunQuery,
    RefundList, RefundListQuery, RefundQueryResponse, RefundRequest, RefundResponse, ReopenRequest, ResolveRequest,
    ResolveResponse, SetActiveRequest, ShiftQuery, ShiftReport, ShiftReportList, ShiftReported, SignInRequest,
    SignInResponse, SignOutResponse, TillConfig, VerifyResponse,
};
use crate::secrets::Secret;

/// The header carrying the operator session.
pub const SESSION_HEADER: &str = "x-operator-session";

/// Why a call got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("the merchant backend URL {url:?} cannot be used: {detail}")]
    BadUrl { url: String, detail: String },
    /// No answer: the backend is down, unreachable, or too slow.
    #[error("the merchant backend did not answer: {0}")]
    Transport(String),
    /// The backend answered with one of its error kinds.
    #[error("the merchant backend refused: {0} ({kind})", kind = .0.kind())]
    Api(ApiError),
    /// An answer that is not the till API's (a proxy's error page, another server).
    #[error("the merchant backend answered HTTP {status} with something that is not the till API: {detail}")]
    BadResponse { status: u16, detail: String },
    /// The extra trusted root certificate named by [`BACKEND_CA_ENV`] cannot be read.
    #[error("{BACKEND_CA_ENV}={path}: {detail}")]
    TrustedRoot { path: String, detail: String },
}

/// A PEM file of extra root certificates the till trusts for its backend's HTTPS certificate, besides the system's:
/// a backend whose certificate comes from the chain's own certificate authority.
pub const BACKEND_CA_ENV: &str = "TILLDESK_BACKEND_CA_FILE";

impl BackendError {
    /// The backend's error kind, when it answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            BackendError::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// How long one call may take. Longer than the backend's own calls to the acquirers (15 s), so an acquirer's slow
/// answer reaches the till rather than a timeout.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(25);

/// A merchant backend as one till reaches it: its URL and this till's token.
#[derive(Clone)]
pub struct BackendClient {
    base: reqwest::Url,
    token: Secret,
    /// The operator signed in at the till (`X-Operator-Session`): the backend scopes lists by their role.
    session: Option<Secret>,
    http: reqwest::Client,
}

impl std::fmt::Debug for BackendClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendClient").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

/// The backend's base URL, checked: http or https, with a host.
pub fn parse_url(url: &str) -> Result<reqwest::Url, BackendError> {
    let bad = |detail: &str| BackendError::BadUrl { url: url.to_owned(), detail: detail.to_owned() };
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("it must start with http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("it names no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("it may not carry a query or fragment"));
    }
    Ok(parsed)
}

fn http() -> Result<reqwest::Client, BackendError> {
    let mut builder = reqwest::Client::builder().timeout(CALL_TIMEOUT);
    if let Some(path) = std::env::var_os(BACKEND_CA_ENV).filter(|p| !p.is_empty()) {
        let path = std::path::PathBuf::from(path);
        let refused = |detail: String| BackendError::TrustedRoot { path: path.display().to_string(), detail };
        let pem = std::fs::read(&path).map_err(|e| refused(e.to_string()))?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| refused(e.to_string()))?;
        if roots.is_empty() {
            return Err(refused("no CERTIFICATE block in the PEM file".into()));
        }
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
    }
    builder.build().map_err(|e| BackendError::Transport(format!("cannot set up the HTTP client: {e}")))
}

/// `base` + `/v1/...` segments (each escaped as one path segment).
fn endpoint(base: &reqwest::Url, segments: &[&str]) -> Result<reqwest::Url, BackendError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| BackendError::BadUrl { url: base.to_string(), detail: "it cannot take a path".into() })?
        .pop_if_empty()
        .push("v1")
        .extend(segments);
    Ok(url)
}

/// Reads an answer: the JSON body on success, the error kind otherwise.
async fn read<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, BackendError> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| BackendError::Transport(e.to_string()))?;
    let short = || String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| BackendError::BadResponse { status: status.as_u16(), detail: format!("{e}: {}", short()) });
    }
    match serde_json::from_slice::<ApiError>(&bytes) {
        Ok(e) => Err(BackendError::Api(e)),
        Err(_) => Err(BackendError::BadResponse { status: status.as_u16(), detail: short() }),
    }
}

fn transport(e: reqwest::Error) -> BackendError {
    // Without the URL: it may carry nothing secret, but the log needs only what happened — with its causes (a
    // certificate the till does not trust, a refused connection), which reqwest keeps as sources.
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    BackendError::Transport(text)
}

impl BackendClient {
    pub fn new(base_url: &str, token: Secret) -> Result<Self, BackendError> {
        Ok(BackendClient { base: parse_url(base_url)?, token, session: None, http: http()? })
    }

    /// The same client, speaking for the operator whose session the backend handed at sign-in.
    pub fn with_session(mut self, session: Secret) -> Self {
        self.session = Some(session).filter(|s| !s.is_empty());
        self
    }

    /// Adds the operator session, when there is one.
    fn signed(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.session {
            Some(session) => request.header(SESSION_HEADER, session.expose()),
            None => request,
        }
    }

    /// The backend's URL as given.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// Enrols a till with a one-time code (no token yet).
    pub async fn enrol(base_url: &str, code: &str) -> Result<EnrolResponse, BackendError> {
        let base = parse_url(base_url)?;
        let body = EnrolRequest { code: code.trim().to_owned() };
        let response = http()?.post(endpoint(&base, &["enrol"])?).json(&body).send().await.map_err(transport)?;
        read(response).await
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, BackendError> {
        let request = self.http.get(endpoint(&self.base, segments)?).query(query).bearer_auth(self.token.expose());
        let response = self.signed(request).send().await.map_err(transport)?;
        read(response).await
    }

    async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T, BackendError> {
        let request = self.http.post(endpoint(&self.base, segments)?).bearer_auth(self.token.expose()).json(body);
        let response = self.signed(request).send().await.map_err(transport)?;
        read(response).await
    }

    /// `GET /v1/till`.
    pub async fn till(&self) -> Result<TillConfig, BackendError> {
        self.get(&["till"], &[]).await
    }

    /// `POST /v1/pay`.
    pub async fn pay(&self, request: &PayRequest) -> Result<PayResponse, BackendError> {
        self.post(&["pay"], request).await
    }

    /// `GET /v1/orders/{out_trade_no}`.
    pub async fn query(&self, out_trade_no: &str) -> Result<QueryResponse, BackendError> {
        self.get(&["orders", out_trade_no], &[]).await
    }

    /// `POST /v1/orders/{out_trade_no}/cancel`.
    pub async fn cancel(&self, out_trade_no: &str) -> Result<CancelResponse, BackendError> {
        self.post(&["orders", out_trade_no, "cancel"], &serde_json::json!({})).await
    }

    /// `POST /v1/refunds`.
    pub async fn refund(&self, request: &RefundRequest) -> Result<RefundResponse, BackendError> {
        self.post(&["refunds"], request).await
    }

    /// `GET /v1/refunds/{out_request_no}?out_trade_no=…`.
    pub async fn refund_query(
        &self,
        out_trade_no: &str,
        out_request_no: &str,
    ) -> Result<RefundQueryResponse, BackendError> {
        self.get(&["refunds", out_request_no], &[("out_trade_no", out_trade_no.to_owned())]).await
    }

    /// `POST /v1/precreate`: a dynamic code (主扫) under the till's out_trade_no.
    pub async fn precreate(&self, request: &PrecreateRequest) -> Result<PrecreateResponse, BackendError> {
        self.post(&["precreate"], request).await
    }

    /// `POST /v1/orders/{out_trade_no}/close`: closes a dynamic code's trade.
    pub async fn close(&self, out_trade_no: &str) -> Result<CloseResponse, BackendError> {
        self.post(&["orders", out_trade_no, "close"], &serde_json::json!({})).await
    }

    /// `POST /v1/shifts`: a shift or day close this till closed.
    pub async fn report_shift(&self, report: &ShiftReport) -> Result<ShiftReported, BackendError> {
        self.post(&["shifts"], report).await
    }

    /// `GET /v1/shifts`: every till's shift reports the signed-in operator may see.
    pub async fn shift_reports(&self, q: &ShiftQuery) -> Result<ShiftReportList, BackendError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        for (k, v) in [("store", &q.store), ("from", &q.from), ("to", &q.to)] {
            if let Some(v) = v {
                query.push((k, v.clone()));
            }
        }
        if let Some(kind) = q.kind {
            query.push(("kind", kind.as_str().to_owned()));
        }
        if let Some(after) = q.after {
            query.push(("after", after.to_string()));
        }
        if let Some(limit) = q.limit {
            query.push(("limit", limit.to_string()));
        }
        self.get(&["shifts"], &query).await
    }

    /// `POST /v1/sign-in`: the operator's PIN checked at the backend.
    pub async fn sign_in(&self, request: &SignInRequest) -> Result<SignInResponse, BackendError> {
        self.post(&["sign-in"], request).await
    }

    /// `POST /v1/sign-out`: ends this client's operator session at the backend.
    pub async fn sign_out(&self) -> Result<SignOutResponse, BackendError> {
        self.post(&["sign-out"], &serde_json::json!({})).await
    }

    /// `POST /v1/operators/verify`: checks an operator's PIN at the backend (a refund asks it again) without signing
    /// them in.
    pub async fn verify_operator(&self, request: &SignInRequest) -> Result<VerifyResponse, BackendError> {
        self.post(&["operators", "verify"], request).await
    }

    /// `POST /v1/operators`.
    pub async fn add_operator(&self, request: &AddOperatorRequest) -> Result<OperatorsResponse, BackendError> {
        self.post(&["operators"], request).await
    }

    /// `POST /v1/operators/pin`.
    pub async fn change_pin(&self, request: &ChangePinRequest) -> Result<OperatorsResponse, BackendError> {
        self.post(&["operators", "pin"], request).await
    }

    /// `POST /v1/operators/active`.
    pub async fn set_operator_active(&self, request: &SetActiveRequest) -> Result<OperatorsResponse, BackendError> {
        self.post(&["operators", "active"], request).await
    }

    /// `GET /v1/operators`: names and roles.
    pub async fn operators(&self) -> Result<OperatorsResponse, BackendError> {
        self.get(&["operators"], &[]).await
    }

    /// `GET /v1/orders` without `since`: the order list, scoped by the signed-in operator's role.
    pub async fn order_list(&self, q: &FeedQuery) -> Result<OrderList, BackendError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        let fields = [("store", &q.store), ("status", &q.status), ("from", &q.from), ("to", &q.to)];
        for (k, v) in fields.into_iter().chain([("search", &q.search), ("after", &q.after)]) {
            if let Some(v) = v {
                query.push((k, v.clone()));
            }
        }
        if let Some(limit) = q.limit {
            query.push(("limit", limit.to_string()));
        }
        self.get(&["orders"], &query).await
    }

    /// `GET /v1/refunds`: the refund list, scoped by the signed-in operator's role.
    pub async fn refund_list(&self, q: &RefundListQuery) -> Result<RefundList, BackendError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        for (k, v) in [("store", &q.store), ("from", &q.from), ("to", &q.to), ("search", &q.search)] {
            if let Some(v) = v {
                query.push((k, v.clone()));
            }
        }
        if let Some(status) = q.status {
            query.push(("status", status.as_str().to_owned()));
        }
        if let Some(before) = q.before {
            query.push(("before", before.to_string()));
        }
        if let Some(limit) = q.limit {
            query.push(("limit", limit.to_string()));
        }
        self.get(&["refunds"], &query).await
    }

    /// `GET /v1/recon/runs`: reconciliation runs, scoped by the signed-in operator's role (owner or back office).
    /// `POST /v1/orders/history`: this till's orders from before it joined.
    pub async fn send_history(
        &self,
        req: &super::api::HistoryRequest,
    ) -> Result<super::api::HistoryResponse, BackendError> {
        self.post(&["orders", "history"], req).await
    }

    /// `GET /v1/dashboard`: the 概览 figures of China days, added up at the backend for the signed-in operator.
    pub async fn dashboard(
        &self,
        q: &super::dashboard::DashboardQuery,
    ) -> Result<super::dashboard::DashboardFigures, BackendError> {
        let mut query: Vec<(&str, String)> = vec![("from", q.from.clone()), ("to", q.to.clone())];
        if let Some(store) = &q.store {
            query.push(("store", store.clone()));
        }
        self.get(&["dashboard"], &query).await
    }

    pub async fn recon_runs(&self, q: &ReconRunQuery) -> Result<ReconRunList, BackendError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        for (k, v) in [("store", &q.store), ("acquirer", &q.acquirer), ("from", &q.from), ("to", &q.to)] {
            if let Some(v) = v {
                query.push((k, v.clone()));
            }
        }
        if let Some(after) = q.after {
            query.push(("after", after.to_string()));
        }
        if let Some(limit) = q.limit {
            query.push(("limit", limit.to_string()));
        }
        self.get(&["recon", "runs"], &query).await
    }

    /// `GET /v1/recon/runs/{run_id}`: a run's report (`store`: narrowed to one store).
    pub async fn recon_report(&self, run_id: i64, store: Option<&str>) -> Result<ReconReport, BackendError> {
        let query: Vec<(&str, String)> = store.map(|s| ("store", s.to_owned())).into_iter().collect();
        self.get(&["recon", "runs", &run_id.to_string()], &query).await
    }

    /// `GET /v1/recon/bills`: the downloaded bills by day and store.
    pub async fn bill_days(&self, q: &BillDayQuery) -> Result<BillDayList, BackendError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        let fields = [("store", &q.store), ("acquirer", &q.acquirer), ("from", &q.from), ("to", &q.to)];
        for (k, v) in fields.into_iter().chain([("after", &q.after)]) {
            if let Some(v) = v {
                query.push((k, v.clone()));
            }
        }
        if let Some(limit) = q.limit {
            query.push(("limit", limit.to_string()));
        }
        self.get(&["recon", "bills"], &query).await
    }

    /// `POST /v1/recon/differences/{id}/resolve`.
    pub async fn resolve_difference(&self, id: i64, req: &ResolveRequest) -> Result<ResolveResponse, BackendError> {
        self.post(&["recon", "differences", &id.to_string(), "resolve"], req).await
    }

    /// `POST /v1/recon/differences/{id}/reopen`.
    pub async fn reopen_difference(&self, id: i64, req: &ReopenRequest) -> Result<ResolveResponse, BackendError> {
        self.post(&["recon", "differences", &id.to_string(), "reopen"], req).await
    }

    /// `POST /v1/recon/days/close`.
    pub async fn close_recon_day(&self, req: &DayRequest) -> Result<DayClosing, BackendError> {
        self.post(&["recon", "days", "close"], req).await
    }

    /// `POST /v1/recon/days/reopen`.
    pub async fn reopen_recon_day(&self, req: &DayRequest) -> Result<DayClosing, BackendError> {
        self.post(&["recon", "days", "reopen"], req).await
    }

    /// `GET /v1/orders?since=…&limit=…`.
    pub async fn orders_since(&self, since: i64, limit: u32) -> Result<FeedPage, BackendError> {
        self.get(&["orders"], &[("since", since.to_string()), ("limit", limit.to_string())]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_paths_escaped() {
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("not a url").is_err());
        assert!(parse_url("http://h/x?y=1").is_err());
        let base = parse_url("https://pay.example.com/tilldesk/").unwrap();
        let url = endpoint(&base, &["orders", "TD 1/2", "cancel"]).unwrap();
        assert_eq!(url.as_str(), "https://pay.example.com/tilldesk/v1/orders/TD%201%2F2/cancel");
        let base = parse_url("http://127.0.0.1:8080").unwrap();
        assert_eq!(endpoint(&base, &["pay"]).unwrap().as_str(), "http://127.0.0.1:8080/v1/pay");
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let client = BackendClient::new("http://127.0.0.1:1", Secret::from("tdt_secret")).unwrap();
        assert!(!format!("{client:?}").contains("tdt_secret"));
    }
}
