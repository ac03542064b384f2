//! The sandbox as a till sees it: a set of acquirer accounts (gateway URLs and keys) — the *sandbox profile* of
//! the till's accounts — plus the demo store's routes on a fresh install. Only the composition root (the app's
//! start-up, the command line, tests) calls this; checkout, sync, notify and recon never name the sandbox.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::accounts::SandboxAccounts;
use crate::channel::Channel;
use crate::channel::alipay::client::{AlipayClient, AlipayConfig};
use crate::channel::alipay::sign as alipay_sign;
use crate::channel::client_error::ClientError;
use crate::channel::wechatpay::client::{WechatClient, WechatConfig};
use crate::channel::wechatpay::sign::SignType;
use crate::model::{Acquirer, ChannelMode, Route, RouteSource, Wallet};
use crate::routing::{ChannelFactory, NoChannel, Router};
use crate::secrets::Secret;
use crate::store::{Store, StoreError};
use crate::sync::notify::{ListenError, NotifyAccount, NotifyKeys, NotifyVerify};

/// Why the till could not be set up on the sandbox. Messages name what to fix (sandbox.json, the sandbox itself).
#[derive(Debug, thiserror::Error)]
pub enum TillError {
    #[error("the sandbox has no acquirer {code}")]
    NoAcquirer { code: String },
    #[error("the sandbox's {code} has no merchant account in sandbox.json (start the sandbox once to add it)")]
    NoAccount { code: String },
    #[error("the sandbox has no merchant number {index} (it has {count}); see sandbox.json")]
    NoMerchant { index: usize, count: usize },
    #[error("cannot set up the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
    #[error("the sandbox's client settings are unusable: {0}")]
    Client(#[from] ClientError),
    #[error("the sandbox's Alipay public key in sandbox.json is unusable: {0}")]
    PublicKey(#[from] alipay_sign::SignError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("cannot register the notify address with the sandbox: {0}")]
    Register(#[source] reqwest::Error),
    #[error("the sandbox refused the notify address ({status}): {text}")]
    Refused { status: u16, text: String },
}

impl From<TillError> for NoChannel {
    fn from(e: TillError) -> Self {
        match e {
            TillError::NoAcquirer { .. } => NoChannel::NotInProfile,
            other => NoChannel::Unusable { detail: other.to_string() },
        }
    }
}

/// Set once the demo store's routes were written (so routes the owner removes later do not come back).
pub const SETTING_DEMO_ROUTES: &str = "sandbox.demo_routes";

/// Makes a till ready for the sandbox: its acquirers exist locally (ALIPAY, WECHATPAY, PARTNER1), and on a fresh
/// install the demo store takes Alipay codes through ALIPAY and WeChat Pay codes through WECHATPAY, as a merchant
/// with direct contracts would. Stores the merchant creates get routes by onboarding, nothing else.
pub fn prepare(store: &mut Store) -> Result<(), StoreError> {
    let acquirers = crate::onboarding::ensure_sandbox_acquirers(store)?;
    if store.setting(SETTING_DEMO_ROUTES)?.is_some() {
        return Ok(());
    }
    let demo = store.setup_mut().default_store()?;
    let has_routes = store.setup().routes()?.iter().any(|r| r.store_id == demo);
    if !has_routes {
        for (code, wallet) in [("ALIPAY", Wallet::Alipay), ("WECHATPAY", Wallet::WechatPay)] {
            if let Some(a) = acquirers.iter().find(|a| a.onboarding_code == code) {
                let route = Route {
                    store_id: demo,
                    wallet,
                    acquirer_id: a.acquirer.id,
                    merchant_id: None,
                    source: RouteSource::Direct,
                };
                store.setup_mut().set_route(&route, None)?;
            }
        }
    }
    store.set_bookkeeping(SETTING_DEMO_ROUTES, "done")
}

/// One sandbox acquirer's account as the till uses it.
enum Account {
    Alipay { gateway_url: String, app_id: String, app_private_key: Secret, platform_public_key: String },
    Wechat { gateway_url: String, appid: String, mch_id: String, api_key: Secret },
}

/// The account of the sandbox acquirer `code` (ALIPAY, WECHATPAY, PARTNER1…): its own gateway under
/// `{base_url}/acquirers/{code}`, its own ids and keys.
fn account(accounts: &SandboxAccounts, base_url: &str, code: &str) -> Result<Account, TillError> {
    let gateway = format!("{}/acquirers/{code}", base_url.trim_end_matches('/'));
    let acquirer = accounts.acquirer(code).ok_or_else(|| TillError::NoAcquirer { code: code.to_owned() })?;
    if let Some(a) = acquirer.alipay_account() {
        return Ok(Account::Alipay {
            gateway_url: format!("{gateway}/gateway.do"),
            app_id: a.app_id.clone(),
            app_private_key: a.app_private_key_pkcs8_pem.as_str().into(),
            platform_public_key: a.alipay_public_key_pem.clone(),
        });
    }
    if let Some(w) = acquirer.wechat_account() {
        return Ok(Account::Wechat {
            gateway_url: gateway,
            appid: w.appid.clone(),
            mch_id: w.mch_id.clone(),
            api_key: w.api_key.as_str().into(),
        });
    }
    Err(TillError::NoAccount { code: code.to_owned() })
}

/// The sandbox profile: each account's client at the sandbox acquirer it is.
pub struct SandboxChannels {
    accounts: SandboxAccounts,
    base_url: String,
    http: reqwest::Client,
}

impl SandboxChannels {
    pub fn new(accounts: SandboxAccounts, base_url: &str) -> Result<SandboxChannels, TillError> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().map_err(TillError::Http)?;
        Ok(SandboxChannels { accounts, base_url: base_url.to_owned(), http })
    }
}

impl ChannelFactory for SandboxChannels {
    fn profile(&self) -> ChannelMode {
        ChannelMode::Sandbox
    }

    fn channel(&self, _account: &Acquirer, onboarding_code: Option<&str>) -> Result<Arc<dyn Channel>, NoChannel> {
        let code = onboarding_code.ok_or(NoChannel::NotInProfile)?;
        match account(&self.accounts, &self.base_url, code)? {
            Account::Alipay { gateway_url, app_id, app_private_key, platform_public_key } => {
                let config = AlipayConfig {
                    gateway_url,
                    app_id,
                    app_private_key,
                    alipay_public_key: platform_public_key,
                    ..AlipayConfig::default()
                };
                Ok(Arc::new(AlipayClient::new(config, self.http.clone()).map_err(TillError::from)?))
            }
            Account::Wechat { gateway_url, appid, mch_id, api_key } => {
                let config = WechatConfig {
                    gateway_url,
                    appid,
                    mch_id,
                    api_key,
                    sign_type: SignType::Md5,
                    spbill_create_ip: "127.0.0.1".into(),
                    ..WechatConfig::default()
                };
                Ok(Arc::new(WechatClient::new(config, self.http.clone()).map_err(TillError::from)?))
            }
        }
    }
}

/// The router of a till on this sandbox (after [`prepare`]).
pub fn router(store: &Store, accounts: &SandboxAccounts, base_url: &str) -> Result<Router, TillError> {
    let factory = SandboxChannels::new(accounts.clone(), base_url)?;
    Ok(Router::new(store, &factory)?)
}

/// What the notify listener verifies sandbox notifications with: each local account's sandbox keys.
pub fn notify_keys(store: &Store, accounts: &SandboxAccounts, base_url: &str) -> Result<NotifyKeys, TillError> {
    let mut keys = NotifyKeys::default();
    for a in store.setup().onboarding_acquirers()? {
        let verify = match account(accounts, base_url, &a.onboarding_code) {
            Ok(Account::Alipay { app_id, platform_public_key, .. }) => {
                NotifyVerify::Alipay { app_id, public_key: alipay_sign::parse_public_key(&platform_public_key)? }
            }
            Ok(Account::Wechat { mch_id, api_key, .. }) => NotifyVerify::Wechat { mch_id, api_key },
            Err(_) => continue,
        };
        keys.accounts.push(NotifyAccount { acquirer_id: a.acquirer.id, verify });
    }
    Ok(keys)
}

/// The account ids notifications of the sandbox are sent for (app_id / mch_id), to register the notify URL.
fn notify_accounts(keys: &NotifyKeys) -> Vec<String> {
    keys.accounts
        .iter()
        .map(|a| match &a.verify {
            NotifyVerify::Alipay { app_id, .. } => app_id.clone(),
            NotifyVerify::Wechat { mch_id, .. } => mch_id.clone(),
        })
        .collect()
}

/// A sync worker on the sandbox (no loop started).
pub fn worker(
    data_dir: &Path,
    accounts: &SandboxAccounts,
    base_url: &str,
    settings: crate::sync::SyncSettings,
) -> Result<crate::sync::SyncWorker, TillError> {
    let db = data_dir.join(crate::config::DATABASE_FILE);
    let mut store = Store::open(&db)?;
    prepare(&mut store)?;
    let router = router(&store, accounts, base_url)?;
    let cds = crate::channel::cds::client::CdsClient::new(base_url).ok();
    Ok(crate::sync::SyncWorker::new(&db, data_dir, router, cds, settings))
}

/// The notify listener at `at`, or at its kept address, registered with the sandbox for every account.
pub async fn listen(
    data_dir: &Path,
    accounts: &SandboxAccounts,
    base_url: &str,
    at: Option<std::net::SocketAddr>,
) -> Result<crate::sync::notify::NotifyListener, TillError> {
    listen_with(data_dir, accounts, base_url, at, crate::sync::notify::ListenOptions::default()).await
}

/// [`listen`] with the listener's options (remote access allowed on the command line).
pub async fn listen_with(
    data_dir: &Path,
    accounts: &SandboxAccounts,
    base_url: &str,
    at: Option<std::net::SocketAddr>,
    options: crate::sync::notify::ListenOptions,
) -> Result<crate::sync::notify::NotifyListener, TillError> {
    let db = data_dir.join(crate::config::DATABASE_FILE);
    let keys = {
        let store = Store::open(&db)?;
        notify_keys(&store, accounts, base_url)?
    };
    let ids = notify_accounts(&keys);
    let listener = match at {
        Some(addr) => crate::sync::notify::listen_with(addr, &db, keys, options).await,
        None => crate::sync::notify::listen_kept_with(&db, keys, options).await,
    }?;
    let http = reqwest::Client::new();
    for id in ids {
        register_notify_url(&http, base_url, &id, &listener.url()).await?;
    }
    Ok(listener)
}

/// The sync worker and the notify listener for a till on the sandbox, the worker's loop started on the current
/// runtime. Must be called inside a tokio runtime.
pub async fn start_services(
    data_dir: &Path,
    accounts: &SandboxAccounts,
    base_url: &str,
    settings: crate::sync::SyncSettings,
) -> Result<crate::sync::Services, TillError> {
    let worker = worker(data_dir, accounts, base_url, settings)?;
    let listener = listen(data_dir, accounts, base_url, None).await?;
    Ok(crate::sync::Services::start_worker(worker, Some(listener)))
}

/// Builds both clients for the embedded sandbox's merchant `merchant_index` (0-based) from its `sandbox.json`:
/// Alipay at `{base_url}/gateway.do` with the app's PKCS#8 key and the platform public key, WeChat Pay at
/// `base_url` with MD5 signatures and no client certificate (the sandbox serves plain HTTP on loopback).
pub fn merchant_clients(
    accounts: &SandboxAccounts,
    base_url: &str,
    merchant_index: usize,
    http: reqwest::Client,
) -> Result<(AlipayClient, WechatClient), TillError> {
    let merchant = accounts
        .merchants
        .get(merchant_index)
        .ok_or(TillError::NoMerchant { index: merchant_index, count: accounts.merchants.len() })?;
    let base = base_url.trim_end_matches('/');
    let alipay = AlipayClient::new(
        AlipayConfig {
            gateway_url: format!("{base}/gateway.do"),
            app_id: merchant.alipay.app_id.clone(),
            app_private_key: merchant.alipay.app_private_key_pkcs8_pem.as_str().into(),
            alipay_public_key: merchant.alipay.alipay_public_key_pem.clone(),
            ..AlipayConfig::default()
        },
        http.clone(),
    )?;
    let wechat = WechatClient::new(
        WechatConfig {
            gateway_url: base.to_owned(),
            appid: merchant.wechatpay.appid.clone(),
            mch_id: merchant.wechatpay.mch_id.clone(),
            api_key: merchant.wechatpay.api_key.as_str().into(),
            sign_type: SignType::Md5,
            spbill_create_ip: "127.0.0.1".into(),
            ..WechatConfig::default()
        },
        http,
    )?;
    Ok((alipay, wechat))
}

/// A checkout engine for the till whose database is `db`, on this sandbox (after [`prepare`]): for tests, benches
/// and tools. `http` sets the clients' timeouts.
pub fn checkout(
    db: &Path,
    accounts: &SandboxAccounts,
    base_url: &str,
    http: Option<reqwest::Client>,
    clock: Arc<dyn crate::checkout::Clock>,
    settings: crate::checkout::CheckoutSettings,
) -> Result<crate::checkout::Checkout, TillError> {
    let mut store = Store::open(db)?;
    prepare(&mut store)?;
    let mut factory = SandboxChannels::new(accounts.clone(), base_url)?;
    if let Some(http) = http {
        factory.http = http;
    }
    let router = Router::new(&store, &factory)?;
    Ok(crate::checkout::Checkout::new(store, router, clock, settings))
}

/// Registers `url` as the notify address of the sandbox merchant `app_id` (`POST /admin/notify-url`).
pub async fn register_notify_url(
    http: &reqwest::Client,
    sandbox_url: &str,
    app_id: &str,
    url: &str,
) -> Result<(), TillError> {
    let endpoint = format!("{}/admin/notify-url", sandbox_url.trim_end_matches('/'));
    let response = http
        .post(&endpoint)
        .json(&serde_json::json!({ "account": app_id, "url": url }))
        .send()
        .await
        .map_err(TillError::Register)?;
    if response.status().is_success() {
        Ok(())
    } else {
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Err(TillError::Refused { status, text })
    }
}
