//! The notify listener: the acquirers' asynchronous payment notifications (Alipay's notify form, WeChat Pay's
//! notify XML), verified before anything else, answered as each platform requires, recorded once.
//!
//! Both formats are accepted on `POST /notify` (told apart by their body: XML or a form), and on
//! `/notify/alipay` and `/notify/wechatpay`. A verified payment the till did not start (a wallet scanned the
//! store code) becomes a PAID order with the acquirer's numbers; one of the till's own open orders becomes PAID;
//! a repeated notification changes nothing but is still acknowledged (otherwise the platform keeps sending it).
//! Unsigned, tampered or wrongly signed notifications are refused, logged (tracing) and kept in `notifications`
//! (the newest 1,000 of the last 30 days: a flood cannot fill the disk).
//!
//! Limits: a body above [`MAX_BODY_BYTES`] (64 KiB; real notifications are about 2 KiB) is answered 413 and never
//! read or recorded. The listener binds a loopback address unless remote access is configured
//! ([`SETTING_ALLOW_REMOTE`] = `true`, or `tilldesk sync --notify-allow-remote`): anything on the network could
//! post to it otherwise, so exposing it is an explicit choice (normally behind a reverse proxy with TLS).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::channel::alipay::PublicKey;
use crate::channel::notice::{Notice, PaidNotice};
use crate::channel::{alipay, wechatpay};
use crate::model::AcquirerId;
use crate::secrets::Secret;
use crate::store::sync::{NoticeOutcome, PaidNotice as StorePaidNotice};
use crate::store::{Store, StoreError};

/// How one acquirer account's notifications are verified.
#[derive(Clone)]
pub enum NotifyVerify {
    /// The app_id notifications name, and the platform public key (支付宝公钥) they are signed with.
    Alipay { app_id: String, public_key: PublicKey },
    /// The mch_id notifications name, and the API v2 key.
    Wechat { mch_id: String, api_key: Secret },
}

/// One acquirer account the till takes notifications from.
#[derive(Clone)]
pub struct NotifyAccount {
    pub acquirer_id: AcquirerId,
    pub verify: NotifyVerify,
}

/// What the listener verifies with: every acquirer account's identifiers and keys. A notification is attributed
/// to the account it names (app_id / mch_id) and, through the routes, to the store whose merchant id it carries.
#[derive(Clone, Default)]
pub struct NotifyKeys {
    pub accounts: Vec<NotifyAccount>,
}

impl std::fmt::Debug for NotifyKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        let ids: Vec<String> = self
            .accounts
            .iter()
            .map(|a| match &a.verify {
                NotifyVerify::Alipay { app_id, .. } => format!("#{} app_id {app_id}", a.acquirer_id),
                NotifyVerify::Wechat { mch_id, .. } => format!("#{} mch_id {mch_id}", a.acquirer_id),
            })
            .collect();
        f.debug_struct("NotifyKeys").field("accounts", &ids).finish()
    }
}

impl NotifyKeys {
    fn alipay(&self, app_id: &str) -> Option<(AcquirerId, &PublicKey)> {
        self.accounts.iter().find_map(|a| match &a.verify {
            NotifyVerify::Alipay { app_id: id, public_key } if id == app_id => Some((a.acquirer_id, public_key)),
            _ => None,
        })
    }

    fn wechat(&self, mch_id: &str) -> Option<(AcquirerId, &str)> {
        self.accounts.iter().find_map(|a| match &a.verify {
            NotifyVerify::Wechat { mch_id: id, api_key } if id == mch_id => Some((a.acquirer_id, api_key.expose())),
            _ => None,
        })
    }
}

/// The answer to send, and what happened (for tests and the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub reply: String,
    pub content_type: &'static str,
    pub result: Result<NoticeOutcome, NoticeError>,
}

/// Why a notification was not taken (the acquirer is answered with a NACK and sends it again later).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// It did not verify (signature, format, an account this till does not have); `reason` is the verifier's, as
    /// logged and kept in the `notifications` table (shortened).
    #[error("{reason}")]
    Refused { reason: String },
    /// It verified, but the database could not record it.
    #[error("cannot record: {detail}")]
    NotRecorded { detail: String },
}

/// A short digest naming a rejected body in the log (the body itself may hold anything).
fn digest(body: &str) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(body.as_bytes());
    format!("body-sha256:{}", hex::encode(&d[..8]))
}

/// The reason a notification was refused, kept short (it may quote the body).
fn shorten(reason: String) -> String {
    if reason.chars().count() > MAX_REASON_CHARS {
        let mut short: String = reason.chars().take(MAX_REASON_CHARS).collect();
        short.push('…');
        short
    } else {
        reason
    }
}

/// Which platform's format a notification body is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Alipay,
    Wechat,
}

impl Platform {
    /// Tells the formats apart by their body: XML is WeChat Pay's, a form Alipay's.
    pub fn of(body: &str) -> Platform {
        if body.trim_start().starts_with('<') { Platform::Wechat } else { Platform::Alipay }
    }

    /// The protocol's name in the log and the `notifications` table.
    pub fn protocol(self) -> &'static str {
        match self {
            Platform::Alipay => "alipay",
            Platform::Wechat => "wechatpay",
        }
    }

    /// What stands in for a missing subject.
    fn default_subject(self) -> &'static str {
        match self {
            Platform::Alipay => "",
            Platform::Wechat => "店铺码付款 Store code payment",
        }
    }
}

/// A notification verified (or refused), before anything is recorded: what every engine's handler records.
#[derive(Debug, Clone)]
pub enum Checked {
    /// A verified payment of the account `acquirer_id`.
    Paid { acquirer_id: AcquirerId, paid: PaidNotice },
    /// Verified, and nothing to record.
    Other,
    /// Refused (signature, format, an account not held): logged, shortened.
    Refused { reason: String, out_trade_no: Option<String>, digest: String },
}

/// Verifies one notification of `platform` with `keys`; nothing is recorded.
pub fn check(platform: Platform, keys: &NotifyKeys, body: &str) -> Checked {
    let verified = match platform {
        Platform::Alipay => alipay::notify::verify(body, |app_id| keys.alipay(app_id))
            .map_err(|refused| (refused.out_trade_no.clone(), refused.to_string())),
        Platform::Wechat => wechatpay::notify::verify(body, |mch_id| keys.wechat(mch_id))
            .map_err(|refused| (refused.out_trade_no.clone(), refused.to_string())),
    };
    match verified {
        Ok((acquirer_id, Notice::Paid(paid))) => Checked::Paid { acquirer_id, paid },
        Ok(_) => Checked::Other,
        Err((out_trade_no, reason)) => {
            let reason = shorten(reason);
            let protocol = platform.protocol();
            tracing::warn!(protocol, out_trade_no, reason, "notification rejected");
            Checked::Refused { reason, out_trade_no, digest: digest(body) }
        }
    }
}

/// The answer the platform expects for `result` (an acknowledgement only for what was recorded or needs nothing).
pub fn answer(platform: Platform, result: Result<NoticeOutcome, NoticeError>) -> Handled {
    let (ok, content_type) = match platform {
        Platform::Alipay => (alipay::notify::ACK.to_owned(), "text/plain;charset=utf-8"),
        Platform::Wechat => (wechatpay::notify::ACK.to_owned(), "text/xml;charset=utf-8"),
    };
    let reply = match (&result, platform) {
        (Ok(_), _) => ok,
        (Err(_), Platform::Alipay) => alipay::notify::NACK.to_owned(),
        (Err(NoticeError::Refused { reason }), Platform::Wechat) => wechatpay::notify::nack(reason),
        (Err(NoticeError::NotRecorded { .. }), Platform::Wechat) => wechatpay::notify::nack("cannot record"),
    };
    Handled { reply, content_type, result }
}

/// The payment to record for a verified notice of `platform`, for the store `store_id`.
pub fn store_notice<'a>(
    platform: Platform,
    acquirer_id: AcquirerId,
    paid: &'a PaidNotice,
    paid_at_utc: &'a str,
    store_id: crate::model::StoreId,
) -> StorePaidNotice<'a> {
    StorePaidNotice {
        protocol: platform.protocol(),
        out_trade_no: &paid.out_trade_no,
        trade_no: &paid.trade_no,
        amount: paid.amount,
        paid_at_utc,
        subject: paid.subject.as_deref().unwrap_or(platform.default_subject()),
        acquirer_id,
        store_id,
        acquirer_merchant_id: paid.merchant_id.as_deref(),
        currency: paid.currency.as_deref(),
        compare_merchant: paid.compare_merchant,
    }
}

/// Handles one notification of `platform` on the SQLite store.
pub fn handle(store: &mut Store, keys: &NotifyKeys, platform: Platform, body: &str) -> Handled {
    let result = match check(platform, keys, body) {
        Checked::Paid { acquirer_id, paid } => record(store, platform, acquirer_id, &paid)
            // Not acknowledged: the platform sends it again later, when the database may work.
            .map_err(|e| NoticeError::NotRecorded { detail: e.to_string() }),
        Checked::Other => Ok(NoticeOutcome::AlreadyRecorded),
        Checked::Refused { reason, out_trade_no, digest } => {
            if let Err(e) =
                store.sync_mut().record_rejected_notice(platform.protocol(), &digest, out_trade_no.as_deref(), &reason)
            {
                tracing::warn!(error = %e, "cannot log a rejected notification");
            }
            Err(NoticeError::Refused { reason })
        }
    };
    answer(platform, result)
}

/// Handles one Alipay notification form (`application/x-www-form-urlencoded`).
pub fn handle_alipay(store: &mut Store, keys: &NotifyKeys, body: &str) -> Handled {
    handle(store, keys, Platform::Alipay, body)
}

/// Handles one WeChat Pay payment result notification (XML).
pub fn handle_wechat(store: &mut Store, keys: &NotifyKeys, body: &str) -> Handled {
    handle(store, keys, Platform::Wechat, body)
}

/// Records a verified payment for the store whose merchant id it names (through the routes). `default_subject`
/// stands in when the notification carries none.
fn record(
    store: &mut Store,
    platform: Platform,
    acquirer_id: AcquirerId,
    paid: &PaidNotice,
) -> Result<NoticeOutcome, StoreError> {
    let store_id = store.setup_mut().store_for_acquirer_merchant(acquirer_id, paid.merchant_id.as_deref())?;
    let paid_at = paid.paid_at_utc.clone().unwrap_or_else(crate::time::now_utc);
    let outcome =
        store.sync_mut().record_paid_notice(&store_notice(platform, acquirer_id, paid, &paid_at, store_id))?;
    let (protocol, out_trade_no, trade_no, amount) =
        (platform.protocol(), &paid.out_trade_no, &paid.trade_no, paid.amount);
    tracing::info!(protocol, out_trade_no, trade_no, %amount, %store_id, ?outcome, "notification");
    Ok(outcome)
}

/// Tells the formats apart by their body.
pub fn handle_any(store: &mut Store, keys: &NotifyKeys, body: &str) -> Handled {
    handle(store, keys, Platform::of(body), body)
}

struct ListenerState {
    store: Mutex<Store>,
    keys: NotifyKeys,
}

impl ListenerState {
    fn handle(&self, f: impl FnOnce(&mut Store, &NotifyKeys) -> Handled) -> Response {
        let handled = match self.store.lock() {
            Ok(mut s) => f(&mut s, &self.keys),
            Err(p) => f(&mut p.into_inner(), &self.keys),
        };
        let mut response = (StatusCode::OK, handled.reply).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(handled.content_type));
        response
    }
}

/// A running listener.
pub struct NotifyListener {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl NotifyListener {
    /// The URL to register with the acquirer (or the sandbox).
    pub fn url(&self) -> String {
        format!("http://{}/notify", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot listen for notifications on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(
        "not listening for notifications on {addr}: it is not a loopback address, so anyone on the network could \
         post to it. Listen on 127.0.0.1 (behind a reverse proxy), or allow it explicitly with the setting \
         {SETTING_ALLOW_REMOTE} = true or `tilldesk sync --notify-allow-remote`"
    )]
    NotLoopback { addr: SocketAddr },
    #[error("the setting {key} = {value:?} is not an address like 127.0.0.1:8090")]
    BadAddress { key: &'static str, value: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The largest notification body read (64 KiB). Alipay's and WeChat Pay's are about 2 KiB; anything larger is
/// answered 413 Payload Too Large before it is read, and nothing is recorded.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A refusal's reason is kept to this many characters (in the log and the `notifications` table).
const MAX_REASON_CHARS: usize = 300;

/// `true` lets the listener bind a non-loopback address (0.0.0.0, a LAN address).
pub const SETTING_ALLOW_REMOTE: &str = "notify.allow_remote";

/// How the listener may be started beyond its address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenOptions {
    /// Bind a non-loopback address (`--notify-allow-remote`); the setting [`SETTING_ALLOW_REMOTE`] allows it too.
    pub allow_remote: bool,
}

/// Whether the setting [`SETTING_ALLOW_REMOTE`] allows a non-loopback listen address.
pub fn remote_allowed(store: &Store) -> Result<bool, StoreError> {
    Ok(store
        .setting(SETTING_ALLOW_REMOTE)?
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")))
}

/// Refuses a non-loopback address unless remote access was allowed.
pub fn check_listen_addr(addr: SocketAddr, allow_remote: bool) -> Result<(), ListenError> {
    if addr.ip().is_loopback() || allow_remote { Ok(()) } else { Err(ListenError::NotLoopback { addr }) }
}

/// Starts the listener on `listen` (its own database connection). Must be called inside a tokio runtime. A
/// non-loopback address is refused unless the setting [`SETTING_ALLOW_REMOTE`] allows it.
pub async fn listen(listen: SocketAddr, db: &Path, keys: NotifyKeys) -> Result<NotifyListener, ListenError> {
    listen_with(listen, db, keys, ListenOptions::default()).await
}

/// [`listen`], with remote access allowed by `options` too (the command line's flag).
pub async fn listen_with(
    listen: SocketAddr,
    db: &Path,
    keys: NotifyKeys,
    options: ListenOptions,
) -> Result<NotifyListener, ListenError> {
    let store = Store::open(db)?;
    check_listen_addr(listen, options.allow_remote || remote_allowed(&store)?)?;
    if !listen.ip().is_loopback() {
        tracing::warn!(%listen, "the notify listener accepts connections from the network (remote access allowed)");
    }
    let app = routes(store, keys);
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|source| ListenError::Bind { addr: listen, source })?;
    let addr = listener.local_addr().map_err(|source| ListenError::Bind { addr: listen, source })?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "notify listener stopped");
        }
    });
    tracing::info!(%addr, "notify listener");
    Ok(NotifyListener { addr, shutdown: Some(tx), task })
}

/// The notify handlers (`/notify`, `/notify/alipay`, `/notify/wechatpay`, bodies limited to [`MAX_BODY_BYTES`]) on
/// their own database connection, to serve alone ([`listen`]) or beside other routes (the merchant backend).
pub fn routes(store: Store, keys: NotifyKeys) -> Router {
    let state = Arc::new(ListenerState { store: Mutex::new(store), keys });
    Router::new()
        .route(
            "/notify",
            post(|State(s): State<Arc<ListenerState>>, body: String| async move {
                s.handle(|st, k| handle_any(st, k, &body))
            }),
        )
        .route(
            "/notify/alipay",
            post(|State(s): State<Arc<ListenerState>>, body: String| async move {
                s.handle(|st, k| handle_alipay(st, k, &body))
            }),
        )
        .route(
            "/notify/wechatpay",
            post(|State(s): State<Arc<ListenerState>>, body: String| async move {
                s.handle(|st, k| handle_wechat(st, k, &body))
            }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Where the listener listens by default, and the setting that changes it.
pub const SETTING_LISTEN: &str = "notify.listen";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:0";

/// Starts the listener at the address it had last time (so the acquirer's retries of notifications sent while
/// the till was closed reach it), or the configured one; the first time (or when that port is taken now) at a
/// free loopback port, which is then kept in the setting. A configured non-loopback address is refused unless
/// remote access is allowed.
pub async fn listen_kept(db: &Path, keys: NotifyKeys) -> Result<NotifyListener, ListenError> {
    listen_kept_with(db, keys, ListenOptions::default()).await
}

/// [`listen_kept`], with remote access allowed by `options` too.
pub async fn listen_kept_with(
    db: &Path,
    keys: NotifyKeys,
    options: ListenOptions,
) -> Result<NotifyListener, ListenError> {
    let mut store = Store::open(db)?;
    let wanted = listen_addr(&store).unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = match listen_with(wanted, db, keys.clone(), options).await {
        Ok(l) => l,
        Err(ListenError::Bind { .. }) if wanted.port() != 0 => {
            tracing::warn!(%wanted, "the notify address is taken; listening on another port");
            listen_with(SocketAddr::new(wanted.ip(), 0), db, keys, options).await?
        }
        Err(e) => return Err(e),
    };
    if listener.addr != wanted {
        store.set_bookkeeping(SETTING_LISTEN, &listener.addr.to_string())?;
    }
    Ok(listener)
}

/// The configured listen address.
pub fn listen_addr(store: &Store) -> Result<SocketAddr, ListenError> {
    let text = store.setting(SETTING_LISTEN)?.unwrap_or_else(|| DEFAULT_LISTEN.into());
    text.trim().parse().map_err(|_| ListenError::BadAddress { key: SETTING_LISTEN, value: text })
}

/// The data home's database path helper for callers holding only a folder.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(crate::config::DATABASE_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(crate::config::DATABASE_FILE);
        drop(Store::open(&db).unwrap());
        (dir, db)
    }

    async fn post(listener: &NotifyListener, body: Vec<u8>) -> (u16, String) {
        let response = reqwest::Client::new()
            .post(listener.url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap_or_default())
    }

    #[tokio::test]
    async fn a_body_above_the_limit_is_refused_413_and_not_recorded() {
        let (_dir, db) = db();
        let listener = listen("127.0.0.1:0".parse().unwrap(), &db, NotifyKeys::default()).await.unwrap();
        let (status, _) = post(&listener, vec![b'a'; MAX_BODY_BYTES + 1]).await;
        assert_eq!(status, 413);
        assert!(Store::open(&db).unwrap().sync().recent_notifications(10).unwrap().is_empty(), "nothing recorded");

        // At the limit the body is read (and refused as a notification, which is recorded).
        let mut body = b"app_id=nobody&x=".to_vec();
        body.resize(MAX_BODY_BYTES, b'a');
        let (status, reply) = post(&listener, body).await;
        assert_eq!((status, reply.as_str()), (200, "failure"));
        let recorded = Store::open(&db).unwrap().sync().recent_notifications(10).unwrap();
        assert_eq!(recorded.len(), 1);
        assert!(!recorded[0].verified && recorded[0].detail.chars().count() <= MAX_REASON_CHARS + 1);
        listener.stop().await;
    }

    #[tokio::test]
    async fn a_non_loopback_address_needs_remote_access_allowed() {
        let (_dir, db) = db();
        let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
        let err = listen(any, &db, NotifyKeys::default()).await.err().expect("refused");
        assert!(matches!(err, ListenError::NotLoopback { addr } if addr == any), "{err}");
        let text = err.to_string();
        assert!(text.contains("0.0.0.0:0") && text.contains(SETTING_ALLOW_REMOTE), "{text}");
        assert!(text.contains("--notify-allow-remote"), "{text}");

        // The kept/configured address is held to the same rule.
        let mut store = Store::open(&db).unwrap();
        store.set_setting(SETTING_LISTEN, "0.0.0.0:0", None).unwrap();
        let err = listen_kept(&db, NotifyKeys::default()).await.err().expect("refused");
        assert!(matches!(err, ListenError::NotLoopback { .. }), "{err}");

        // Allowed by the flag, or by the setting.
        let flag = listen_with(any, &db, NotifyKeys::default(), ListenOptions { allow_remote: true }).await.unwrap();
        assert!(flag.addr.ip().is_unspecified());
        flag.stop().await;
        store.set_setting(SETTING_ALLOW_REMOTE, "true", None).unwrap();
        let setting = listen_kept(&db, NotifyKeys::default()).await.unwrap();
        setting.stop().await;

        // Loopback needs nothing.
        assert!(check_listen_addr("127.0.0.1:8090".parse().unwrap(), false).is_ok());
        assert!(check_listen_addr("[::1]:8090".parse().unwrap(), false).is_ok());
        assert!(check_listen_addr("192.168.1.20:8090".parse().unwrap(), false).is_err());
    }
}
