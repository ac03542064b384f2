//! Live channels and their keys: per acquirer the gateway URL and merchant ids (plain settings), the platform
//! public key (public, a setting), and the secrets (Alipay app private key, WeChat Pay API key) in the
//! [`Vault`](crate::secrets::Vault) with only a reference in the database. "Test connection" makes a harmless
//! signed call (a query for an order number that cannot exist) and reports the exact error.

use std::time::Duration;

use crate::channel::alipay::client::{AlipayClient, AlipayConfig};
use crate::channel::alipay::sign as alipay_sign;
use crate::channel::wechatpay::client::{WechatClient, WechatConfig};
use crate::channel::wechatpay::sign::SignType;
use crate::config::{AccessMode, SETTING_BACKEND_URL};
use crate::model::AcquirerKind;
use crate::secrets::{Backend, SecretError, Vault, fingerprint};
use crate::store::{Store, StoreError};

pub const ALIPAY_PRIVATE_KEY: &str = "alipay.app_private_key";
pub const WECHAT_API_KEY: &str = "wechatpay.api_key";

/// The plain (non-secret) settings of one live acquirer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveSettings {
    pub gateway_url: String,
    /// Alipay app_id, or WeChat appid.
    pub app_id: String,
    /// WeChat mch_id (empty for Alipay).
    pub mch_id: String,
    /// Alipay: the platform public key (支付宝公钥) PEM. WeChat: unused.
    pub platform_public_key: String,
}

fn key(kind: AcquirerKind, field: &str) -> String {
    format!("live.{}.{field}", kind.as_str())
}

impl LiveSettings {
    pub fn load(store: &Store, kind: AcquirerKind) -> Result<Self, StoreError> {
        let get = |f: &str| -> Result<String, StoreError> { Ok(store.setting(&key(kind, f))?.unwrap_or_default()) };
        Ok(LiveSettings {
            gateway_url: get("gateway_url")?,
            app_id: get("app_id")?,
            mch_id: get("mch_id")?,
            platform_public_key: get("platform_public_key")?,
        })
    }

    /// Saves the plain fields (audited settings changes). The gateway URL must be http(s).
    pub fn save(&self, store: &mut Store, kind: AcquirerKind) -> Result<(), KeyError> {
        let url = self.gateway_url.trim();
        if !url.is_empty() {
            crate::channel::router::check_gateway_url(kind.as_str(), url)
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
        }
        store.set_setting(&key(kind, "gateway_url"), url, None)?;
        store.set_setting(&key(kind, "app_id"), self.app_id.trim(), None)?;
        store.set_setting(&key(kind, "mch_id"), self.mch_id.trim(), None)?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0} is not configured yet")]
    Missing(&'static str),
}

/// The public half of a generated key pair, in the forms the Alipay console asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyExport {
    /// One line of base64 (the SubjectPublicKeyInfo DER), as pasted into "接口加签方式 → 公钥" in the console.
    pub console_base64: String,
    pub pem: String,
    pub fingerprint: String,
}

/// Generates a new RSA-2048 app key pair: the private key goes to the vault (the database gets a reference), the
/// public key is kept as a setting and returned for the console.
pub fn generate_alipay_key_pair(store: &mut Store, vault: &mut Vault) -> Result<PublicKeyExport, KeyError> {
    let pair = alipay_sign::generate_app_keys().map_err(|e| KeyError::Invalid(e.to_string()))?;
    let fp = fingerprint(pair.public_base64.as_bytes());
    vault.put(ALIPAY_PRIVATE_KEY, &pair.private_pkcs8_pem)?;
    store.set_secret_ref(ALIPAY_PRIVATE_KEY, Backend::detect().as_str(), ALIPAY_PRIVATE_KEY, &fp)?;
    store.set_setting(&key(AcquirerKind::Alipay, "app_public_key"), &pair.public_base64, None)?;
    tracing::info!(fingerprint = fp, "new Alipay app key pair");
    Ok(PublicKeyExport { console_base64: pair.public_base64, pem: pair.public_pem, fingerprint: fp })
}

/// The public key of the stored app key pair, for showing and exporting again.
pub fn alipay_app_public_key(store: &Store) -> Result<Option<String>, StoreError> {
    store.setting(&key(AcquirerKind::Alipay, "app_public_key"))
}

/// Imports an existing app private key (PKCS#1/PKCS#8 PEM or bare base64) into the vault.
pub fn import_alipay_private_key(store: &mut Store, vault: &mut Vault, text: &str) -> Result<String, KeyError> {
    let key_obj = alipay_sign::parse_private_key(text)
        .map_err(|e| KeyError::Invalid(format!("the app private key cannot be used: {e}")))?;
    let public = key_obj.to_public_key();
    let der = rsa::pkcs8::EncodePublicKey::to_public_key_der(&public).map_err(|e| KeyError::Invalid(e.to_string()))?;
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der.as_bytes());
    let fp = fingerprint(b64.as_bytes());
    vault.put(ALIPAY_PRIVATE_KEY, text.trim())?;
    store.set_secret_ref(ALIPAY_PRIVATE_KEY, Backend::detect().as_str(), ALIPAY_PRIVATE_KEY, &fp)?;
    store.set_setting(&key(AcquirerKind::Alipay, "app_public_key"), &b64, None)?;
    Ok(fp)
}

/// Imports the platform public key (支付宝公钥): PEM or the console's one-line base64. Kept as a setting (public).
pub fn import_alipay_platform_key(store: &mut Store, text: &str) -> Result<String, KeyError> {
    alipay_sign::parse_public_key(text)
        .map_err(|e| KeyError::Invalid(format!("the Alipay public key (支付宝公钥) cannot be used: {e}")))?;
    store.set_setting(&key(AcquirerKind::Alipay, "platform_public_key"), text.trim(), None)?;
    Ok(fingerprint(text.trim().as_bytes()))
}

/// Stores the WeChat Pay API v2 key (32 characters) in the vault.
pub fn set_wechat_api_key(store: &mut Store, vault: &mut Vault, api_key: &str) -> Result<String, KeyError> {
    let api_key = api_key.trim();
    if api_key.chars().count() != 32 || !api_key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(KeyError::Invalid(format!(
            "the WeChat Pay API key must be the 32 letters and digits set in the merchant platform (API安全 → API密钥); \
             this one has {} characters",
            api_key.chars().count()
        )));
    }
    let fp = fingerprint(api_key.as_bytes());
    vault.put(WECHAT_API_KEY, api_key)?;
    store.set_secret_ref(WECHAT_API_KEY, Backend::detect().as_str(), WECHAT_API_KEY, &fp)?;
    Ok(fp)
}

/// The gateway a client calls: the acquirer's, or in merchant-backend mode the merchant's backend (which forwards
/// the same protocol).
fn effective_gateway(store: &Store, settings: &LiveSettings) -> Result<String, KeyError> {
    if crate::config::access_mode(store)? == AccessMode::MerchantBackend {
        let url = store.setting(SETTING_BACKEND_URL)?.unwrap_or_default();
        if url.trim().is_empty() {
            return Err(KeyError::Missing("the merchant backend URL"));
        }
        return Ok(url.trim().to_owned());
    }
    if settings.gateway_url.trim().is_empty() {
        return Err(KeyError::Missing("the gateway URL"));
    }
    Ok(settings.gateway_url.trim().to_owned())
}

fn http() -> Result<reqwest::Client, KeyError> {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| KeyError::Invalid(e.to_string()))
}

/// The live Alipay client from the settings and the vault.
pub fn alipay_client(store: &Store, vault: &Vault) -> Result<AlipayClient, KeyError> {
    let s = LiveSettings::load(store, AcquirerKind::Alipay)?;
    let private = vault.get(ALIPAY_PRIVATE_KEY).ok_or(KeyError::Missing("the Alipay app private key"))?;
    if s.platform_public_key.is_empty() {
        return Err(KeyError::Missing("the Alipay public key (支付宝公钥)"));
    }
    let config = AlipayConfig {
        gateway_url: effective_gateway(store, &s)?,
        app_id: s.app_id,
        app_private_key: private.to_owned(),
        alipay_public_key: s.platform_public_key,
        ..AlipayConfig::default()
    };
    AlipayClient::new(config, http()?).map_err(|e| KeyError::Invalid(e.to_string()))
}

/// The live WeChat Pay client from the settings and the vault.
pub fn wechat_client(store: &Store, vault: &Vault) -> Result<WechatClient, KeyError> {
    let s = LiveSettings::load(store, AcquirerKind::WechatPay)?;
    let api_key = vault.get(WECHAT_API_KEY).ok_or(KeyError::Missing("the WeChat Pay API key"))?;
    let config = WechatConfig {
        gateway_url: effective_gateway(store, &s)?,
        appid: s.app_id,
        mch_id: s.mch_id,
        api_key: api_key.to_owned(),
        sign_type: SignType::Md5,
        spbill_create_ip: "127.0.0.1".into(),
        ..WechatConfig::default()
    };
    WechatClient::new(config, http()?).map_err(|e| KeyError::Invalid(e.to_string()))
}

/// The live profile of the till's accounts: each account's client from the live settings of its protocol and the
/// vault's secrets.
pub struct LiveChannels<'a> {
    pub store: &'a Store,
    pub vault: &'a Vault,
}

impl crate::routing::ChannelFactory for LiveChannels<'_> {
    fn profile(&self) -> crate::model::ChannelMode {
        crate::model::ChannelMode::Live
    }

    fn channel(
        &self,
        account: &crate::model::Acquirer,
        _onboarding_code: Option<&str>,
    ) -> Result<std::sync::Arc<dyn crate::channel::Channel>, String> {
        match account.kind {
            AcquirerKind::Alipay => Ok(std::sync::Arc::new(alipay_client(self.store, self.vault).map_err(|e| e.to_string())?)),
            AcquirerKind::WechatPay => {
                Ok(std::sync::Arc::new(wechat_client(self.store, self.vault).map_err(|e| e.to_string())?))
            }
            AcquirerKind::AlipayPlus => {
                Err("live settings for Alipay+ partner acquirers are not supported yet (Settings → Live channels and keys has Alipay and WeChat Pay)".into())
            }
        }
    }
}

/// The router of live mode: settings from the database at `db_path`, secrets from `vault`.
pub fn live_router(db_path: &std::path::Path, vault: &Vault) -> Result<crate::routing::Router, KeyError> {
    let store = Store::open(db_path)?;
    Ok(crate::routing::Router::new(&store, &LiveChannels { store: &store, vault })?)
}

/// "Test connection": a harmless signed query. Ok with what the acquirer answered, or the exact error.
pub async fn test_connection(channel: &dyn crate::channel::Channel) -> Result<String, String> {
    crate::sync::probe_channel(channel)
        .await
        .map(|()| "connected: the acquirer answered a signed query (and its signature verified)".to_owned())
}
