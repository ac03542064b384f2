//! The sandbox: a loopback server that plays Alipay OpenAPI, WeChat Pay v2, the CDS platform and acquirer
//! onboarding byte for byte, with its own SQLite ledger, test payment codes, wallet simulation with asynchronous
//! notifications, and fault injection. It is the app's default "embedded sandbox" and `tilldesk sandbox`.
//!
//! docs/SANDBOX.md documents every endpoint, file and test code.

// Handlers return an early `Response` as their error: it is the answer to send, built once, on a cold path.
#![allow(clippy::result_large_err)]

pub mod accounts;
mod alipay;
pub mod bills;
mod cds;
pub mod faults;
mod form;
mod gateway;
pub mod ledger;
pub mod testcodes;
pub mod till;
mod wallet;
mod wechat;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use accounts::SandboxAccounts;
use faults::{FaultKind, FaultRule, Faults, Fired};
use ledger::Ledger;

pub const LEDGER_FILE: &str = "ledger.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot create the sandbox folder {path}: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Accounts(#[from] accounts::AccountsError),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error(
        "refusing to listen on {0}: the sandbox only listens on loopback (127.0.0.1, ::1) unless --allow-remote is given"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the sandbox's keys in sandbox.json are unusable: {what}: {source}")]
    Keys {
        what: String,
        #[source]
        source: crate::channel::alipay::sign::SignError,
    },
    #[error("cannot save the sandbox's accounts to {path}: {source}")]
    SaveAccounts { path: PathBuf, source: std::io::Error },
    #[error("cannot write the sandbox's accounts as JSON: {0}")]
    AccountsJson(#[from] serde_json::Error),
}

/// Knobs tests and demos turn through `POST /admin/config`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SandboxConfig {
    /// How long a WeChat refund stays PROCESSING before it succeeds.
    pub wechat_refund_delay_ms: u64,
    /// How long an acquirer takes to verify a newly submitted merchant.
    pub verification_delay_ms: u64,
    /// The notification retry schedule in milliseconds; empty uses each platform's documented schedule.
    pub notify_retry_ms: Vec<u64>,
    /// Shifts the sandbox's clock (seconds, may be negative): lets tests and demos make "yesterday's" trades.
    pub clock_offset_secs: i64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            wechat_refund_delay_ms: 1000,
            verification_delay_ms: 1000,
            notify_retry_ms: Vec::new(),
            clock_offset_secs: 0,
        }
    }
}

/// Shared state of one running sandbox.
pub struct SandboxState {
    pub accounts: Mutex<SandboxAccounts>,
    pub ledger: Ledger,
    pub faults: Faults,
    pub config: Mutex<SandboxConfig>,
    pub base_url: String,
    data_dir: PathBuf,
    /// Alipay bill download tokens.
    bill_tokens: Mutex<HashMap<String, bills::BillToken>>,
    keys: alipay::Keys,
    http: reqwest::Client,
}

impl SandboxState {
    /// The sandbox's clock: the real time, shifted by `clock_offset_secs`.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.config().clock_offset_secs)
    }

    /// Moves the sandbox's clock on by `secs` seconds: what takes time at an acquirer (a password wait, a WeChat
    /// refund, a merchant's verification) is then that much further along, without anyone waiting for it.
    pub fn advance_clock(&self, secs: i64) {
        if let Ok(mut c) = self.config.lock() {
            c.clock_offset_secs += secs;
        }
    }

    /// Reads the accounts under their lock, without copying them all.
    pub(crate) fn with_accounts<T>(&self, read: impl FnOnce(&SandboxAccounts) -> T) -> T {
        match self.accounts.lock() {
            Ok(a) => read(&a),
            Err(poisoned) => read(&poisoned.into_inner()),
        }
    }

    pub fn accounts(&self) -> SandboxAccounts {
        match self.accounts.lock() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn config(&self) -> SandboxConfig {
        self.config.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn save_accounts(&self, accounts: &SandboxAccounts) -> Result<(), SandboxError> {
        let text = serde_json::to_string_pretty(accounts)?;
        let path = self.data_dir.join(accounts::ACCOUNTS_FILE);
        let tmp = self.data_dir.join(format!("{}.tmp", accounts::ACCOUNTS_FILE));
        std::fs::write(&tmp, text).map_err(|source| SandboxError::SaveAccounts { path: tmp.clone(), source })?;
        std::fs::rename(&tmp, &path).map_err(|source| SandboxError::SaveAccounts { path, source })
    }
}

/// A running sandbox: its address and a handle to stop it.
pub struct RunningSandbox {
    pub addr: SocketAddr,
    pub state: Arc<SandboxState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSandbox {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits for the server task to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

/// Opens (creating on first start) the sandbox in `data_dir` and starts serving on `listen`.
/// Must be called inside a tokio runtime.
pub async fn start(data_dir: &Path, listen: SocketAddr, allow_remote: bool) -> Result<RunningSandbox, SandboxError> {
    if !allow_remote && !listen.ip().is_loopback() {
        return Err(SandboxError::NotLoopback(listen));
    }
    std::fs::create_dir_all(data_dir).map_err(|source| SandboxError::Folder { path: data_dir.to_owned(), source })?;
    let accounts = SandboxAccounts::load_or_create(data_dir)?;
    let keys = alipay::Keys::from_accounts(&accounts)?;
    let ledger = Ledger::open(&data_dir.join(LEDGER_FILE))?;
    let app_pids: Vec<(String, String)> =
        accounts.merchants.iter().map(|m| (m.alipay.app_id.clone(), m.alipay.pid.clone())).collect();
    ledger.backfill_alipay_merchant_ids(&app_pids)?;
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|source| SandboxError::Bind { addr: listen, source })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind { addr: listen, source })?;
    let state = Arc::new(SandboxState {
        accounts: Mutex::new(accounts),
        ledger,
        faults: Faults::default(),
        config: Mutex::new(SandboxConfig::default()),
        base_url: format!("http://{addr}"),
        data_dir: data_dir.to_owned(),
        bill_tokens: Mutex::new(HashMap::new()),
        keys,
        http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default(),
    });
    let app = router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let notifier = tokio::spawn(wallet::deliver_notifications(state.clone()));
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "sandbox server stopped");
        }
        notifier.abort();
    });
    tracing::info!(%addr, "sandbox listening");
    Ok(RunningSandbox { addr, state, shutdown: Some(tx), task })
}

fn router(state: Arc<SandboxState>) -> Router {
    Router::new()
        .route("/gateway.do", get(alipay::gateway_get).post(alipay::gateway_post))
        .route("/bills/alipay/download", get(alipay::download_bill))
        .route("/pay/micropay", post(wechat::micropay))
        .route("/pay/orderquery", post(wechat::orderquery))
        .route("/secapi/pay/reverse", post(wechat::reverse))
        .route("/secapi/pay/refund", post(wechat::refund))
        .route("/pay/refundquery", post(wechat::refundquery))
        .route("/pay/downloadbill", post(wechat::downloadbill))
        .route("/pay/unifiedorder", post(wechat::unifiedorder))
        .route("/pay/closeorder", post(wechat::closeorder))
        .route(
            "/acquirers/{acquirer_id}/gateway.do",
            get(alipay::acquirer_gateway_get).post(alipay::acquirer_gateway_post),
        )
        .route("/acquirers/{acquirer_id}/bills/alipay/download", get(alipay::acquirer_download_bill))
        .route("/acquirers/{acquirer_id}/pay/micropay", post(wechat::acquirer_micropay))
        .route("/acquirers/{acquirer_id}/pay/orderquery", post(wechat::acquirer_orderquery))
        .route("/acquirers/{acquirer_id}/secapi/pay/reverse", post(wechat::acquirer_reverse))
        .route("/acquirers/{acquirer_id}/secapi/pay/refund", post(wechat::acquirer_refund))
        .route("/acquirers/{acquirer_id}/pay/refundquery", post(wechat::acquirer_refundquery))
        .route("/acquirers/{acquirer_id}/pay/downloadbill", post(wechat::acquirer_downloadbill))
        .route("/acquirers/{acquirer_id}/pay/unifiedorder", post(wechat::acquirer_unifiedorder))
        .route("/acquirers/{acquirer_id}/pay/closeorder", post(wechat::acquirer_closeorder))
        .route("/onboarding/{acquirer_id}/merchants", post(cds::submit_merchant))
        .route("/onboarding/{acquirer_id}/merchants/{merchant_id}", get(cds::merchant_status))
        .route("/onboarding/{acquirer_id}/merchants/{merchant_id}/cds", post(cds::register_on_cds))
        .route("/onboarding/{acquirer_id}/cds-bindings", post(cds::bind_to_index))
        .route("/cds/indexes/{cds_index}", get(cds::lookup_index))
        .route("/simulate/scan", post(wallet::simulate_scan))
        .route("/admin/faults", get(admin_faults_list).post(admin_faults_add).delete(admin_faults_clear))
        .route("/admin/ledger", get(admin_ledger))
        .route("/admin/config", get(admin_config_get).post(admin_config_set))
        .route("/admin/notify-url", post(admin_notify_url))
        .route("/admin/accounts", get(admin_accounts))
        .with_state(state)
}

/// How a reply's text goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyEncoding {
    Utf8,
    /// Alipay answers a `charset=GBK` request in GBK.
    Gbk,
    /// WeChat's downloadbill with `tar_type=GZIP`: the text, gzip-compressed.
    Gzip,
}

/// What a protocol handler produces before faults are applied.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: String,
    pub encoding: BodyEncoding,
}

impl Reply {
    pub fn json(body: String) -> Reply {
        Reply {
            status: StatusCode::OK,
            content_type: "application/json;charset=utf-8",
            body,
            encoding: BodyEncoding::Utf8,
        }
    }
    pub fn json_gbk(body: String) -> Reply {
        Reply {
            status: StatusCode::OK,
            content_type: "application/json;charset=GBK",
            body,
            encoding: BodyEncoding::Gbk,
        }
    }
    pub fn xml(body: String) -> Reply {
        Reply { status: StatusCode::OK, content_type: "text/xml;charset=utf-8", body, encoding: BodyEncoding::Utf8 }
    }
    pub fn text(body: String) -> Reply {
        Reply { status: StatusCode::OK, content_type: "text/plain;charset=utf-8", body, encoding: BodyEncoding::Utf8 }
    }
    pub fn gzip(body: String) -> Reply {
        Reply { status: StatusCode::OK, content_type: "application/x-gzip", body, encoding: BodyEncoding::Gzip }
    }
}

fn gzip(text: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes())?;
    encoder.finish()
}

/// Applies the faults that fire after the ledger has committed.
pub(crate) fn finish(reply: Reply, fired: &Fired) -> Response {
    if fired.has(FaultKind::DropAfterCommit) {
        tracing::info!("fault: dropping the connection after commit");
        let stream = futures_util::stream::once(async {
            Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "sandbox fault: response lost",
            ))
        });
        return Response::builder()
            .status(StatusCode::OK)
            .body(Body::from_stream(stream))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    let mut body = reply.body;
    if fired.has(FaultKind::BadSign) {
        body = faults::corrupt_sign(&body);
    }
    if fired.has(FaultKind::Malformed) {
        let cut = body.len() / 2;
        let cut = (0..=cut).rev().find(|i| body.is_char_boundary(*i)).unwrap_or(0);
        body.truncate(cut);
    }
    let bytes = match reply.encoding {
        BodyEncoding::Utf8 => body.into_bytes(),
        BodyEncoding::Gbk => encoding_rs::GBK.encode(&body).0.into_owned(),
        BodyEncoding::Gzip => match gzip(&body) {
            Ok(b) => b,
            Err(e) => {
                return (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot compress the bill: {e}")).into_response();
            }
        },
    };
    let mut response = (reply.status, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    response
}

/// Applies the faults that fire before handling: latency, HTTP 500. Returns a response when the request must not be
/// handled at all.
pub(crate) async fn before(state: &SandboxState, target: &str) -> (Fired, Option<Response>) {
    let fired = state.faults.fire(target);
    if let Some(latency) = fired.latency {
        tokio::time::sleep(latency).await;
    }
    if fired.has(FaultKind::Http500) {
        return (fired, Some((StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()));
    }
    (fired, None)
}

fn loopback_only(peer: SocketAddr) -> Result<(), Response> {
    if peer.ip().is_loopback() {
        Ok(())
    } else {
        Err((StatusCode::FORBIDDEN, "the sandbox admin endpoints answer loopback clients only").into_response())
    }
}

async fn admin_faults_add(
    State(state): State<Arc<SandboxState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::Json(rules): axum::Json<OneOrMany<FaultRule>>,
) -> Response {
    if let Err(r) = loopback_only(peer) {
        return r;
    }
    for rule in rules.into_vec() {
        state.faults.add(rule);
    }
    axum::Json(state.faults.list()).into_response()
}

async fn admin_faults_list(State(state): State<Arc<SandboxState>>) -> Response {
    axum::Json(state.faults.list()).into_response()
}

async fn admin_faults_clear(
    State(state): State<Arc<SandboxState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if let Err(r) = loopback_only(peer) {
        return r;
    }
    state.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn admin_ledger(State(state): State<Arc<SandboxState>>, ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Response {
    if let Err(r) = loopback_only(peer) {
        return r;
    }
    match state.ledger.dump() {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn admin_config_get(State(state): State<Arc<SandboxState>>) -> Response {
    axum::Json(state.config()).into_response()
}

async fn admin_config_set(
    State(state): State<Arc<SandboxState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::Json(config): axum::Json<SandboxConfig>,
) -> Response {
    if let Err(r) = loopback_only(peer) {
        return r;
    }
    if let Ok(mut c) = state.config.lock() {
        *c = config.clone();
    }
    axum::Json(config).into_response()
}

#[derive(Debug, Deserialize)]
struct NotifyUrlRequest {
    /// An Alipay app_id or WeChat mch_id of a sandbox merchant or of an acquirer's account; absent = every one.
    #[serde(default)]
    account: Option<String>,
    url: Option<String>,
}

async fn admin_notify_url(
    State(state): State<Arc<SandboxState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::Json(req): axum::Json<NotifyUrlRequest>,
) -> Response {
    if let Err(r) = loopback_only(peer) {
        return r;
    }
    let mut accounts = state.accounts();
    let mut changed = 0;
    for m in accounts.merchants.iter_mut() {
        let matches = req.account.as_deref().is_none_or(|a| a == m.alipay.app_id || a == m.wechatpay.mch_id);
        if matches {
            m.notify_url = req.url.clone();
            changed += 1;
        }
    }
    for a in accounts.acquirers.iter_mut() {
        let Some(id) = a.account_id() else { continue };
        if req.account.as_deref().is_none_or(|want| want == id) {
            a.notify_url = req.url.clone();
            changed += 1;
        }
    }
    if changed == 0 {
        return (StatusCode::NOT_FOUND, "no sandbox merchant or acquirer account has that app_id or mch_id")
            .into_response();
    }
    if let Err(e) = state.save_accounts(&accounts) {
        return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    }
    if let Ok(mut a) = state.accounts.lock() {
        *a = accounts;
    }
    axum::Json(serde_json::json!({ "updated": changed })).into_response()
}

async fn admin_accounts(
    State(state): State<Arc<SandboxState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if let Err(r) = loopback_only(peer) {
        return r;
    }
    axum::Json(state.accounts()).into_response()
}

/// Accepts one JSON object or an array of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}
