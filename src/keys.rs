//! Live channels and their keys: per acquirer the gateway URL and merchant ids (plain settings), the platform
//! public key (public, a setting), and the secrets (Alipay app private key, WeChat Pay API key) in the
//! [`Vault`](crate::secrets::Vault) with only a reference in the database. "Test connection" makes a harmless
//! signed call (a query for an order number that cannot exist) and reports the exact error.
//!
//! WeChat Pay's merchant API certificate (`apiclient_cert.p12`) is read, checked (password, CN = mch_id, validity)
//! and kept in the vault as PEM (`wechatpay.api_cert`); its public facts (CN, expiry, SHA-256) are settings, so
//! Settings can show them while the vault is locked. The live WeChat client presents it on the `secapi` calls and,
//! calling the acquirer directly, refuses those calls plainly without it.
//!
//! Settings names (`live.<acquirer>.<field>`): `gateway_url`, `app_id`, `mch_id`, `platform_public_key`,
//! `root_ca_pem` (extra trusted roots for the gateway, PEM), `sign_type` (WeChat: `MD5` / `HMAC-SHA256`),
//! `sys_service_provider_id` (Alipay ISV), `api_cert_cn` / `api_cert_not_after` / `api_cert_sha256` (WeChat).
//! Secret names: `alipay.app_private_key`, `alipay.app_auth_token`, `wechatpay.api_key`, `wechatpay.api_cert`.

use std::time::Duration;

use crate::channel::alipay as alipay_keys;
use crate::channel::alipay::client::{AlipayClient, AlipayConfig};
use crate::channel::wechatpay::SignType;
use crate::channel::wechatpay::cert::{ApiCertificate, CertError, CertInfo};
use crate::channel::wechatpay::client::{WechatClient, WechatConfig, extra_root_certificates};
use crate::config::{AccessMode, SETTING_BACKEND_URL};
use crate::model::AcquirerKind;
use crate::routing::NoChannel;
use crate::secrets::{Backend, SecretError, Vault, fingerprint};
use crate::store::{Store, StoreError};

pub const ALIPAY_PRIVATE_KEY: &str = "alipay.app_private_key";
pub const WECHAT_API_KEY: &str = "wechatpay.api_key";
/// The merchant API certificate and its private key, PEM (never the p12 password).
pub const WECHAT_API_CERT: &str = "wechatpay.api_cert";
/// The Alipay ISV's `app_auth_token` for the merchant (empty: none).
pub const ALIPAY_APP_AUTH_TOKEN: &str = "alipay.app_auth_token";

/// Settings warn this many days before the API certificate expires.
pub const CERT_WARNING_DAYS: i64 = 30;

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
    /// Extra root certificates (PEM) the gateway's TLS certificate may chain to, besides the system's: a private
    /// gateway, or a test gateway. Empty: the system's roots only.
    pub root_ca_pem: String,
    /// WeChat: the signature algorithm of this account (MD5 unless the merchant chose HMAC-SHA256).
    pub sign_type: SignType,
    /// Alipay ISV: the service provider's PID, sent as `extend_params.sys_service_provider_id` (empty: not sent).
    pub sys_service_provider_id: String,
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
            root_ca_pem: get("root_ca_pem")?,
            sign_type: get("sign_type")?.parse().unwrap_or_default(),
            sys_service_provider_id: get("sys_service_provider_id")?,
        })
    }

    /// Saves the plain fields (audited settings changes). The gateway URL must be http(s).
    pub fn save(&self, store: &mut Store, kind: AcquirerKind) -> Result<(), KeyError> {
        let url = self.gateway_url.trim();
        if !url.is_empty() {
            crate::channel::client_error::check_gateway_url(kind.as_str(), url)
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
        }
        store.set_setting(&key(kind, "gateway_url"), url, None)?;
        store.set_setting(&key(kind, "app_id"), self.app_id.trim(), None)?;
        store.set_setting(&key(kind, "mch_id"), self.mch_id.trim(), None)?;
        let roots = self.root_ca_pem.trim();
        extra_root_certificates(Some(roots))
            .map_err(|e| KeyError::Invalid(format!("the extra trusted root certificate (PEM) cannot be used: {e}")))?;
        store.set_setting(&key(kind, "root_ca_pem"), roots, None)?;
        match kind {
            AcquirerKind::WechatPay => store.set_setting(&key(kind, "sign_type"), self.sign_type.as_str(), None)?,
            _ => {
                let pid = self.sys_service_provider_id.trim();
                if !pid.chars().all(|c| c.is_ascii_digit()) {
                    return Err(KeyError::Invalid(format!(
                        "sys_service_provider_id is the service provider's PID (digits, like 2088…), not {pid:?}"
                    )));
                }
                store.set_setting(&key(kind, "sys_service_provider_id"), pid, None)?;
            }
        }
        if !url.is_empty() && !self.app_id.trim().is_empty() {
            direct_route_for_this_till(store, kind)?;
        }
        Ok(())
    }
}

/// A merchant who sets up a direct contract (gateway and ids) takes that wallet's codes at this till's store
/// through it, unless the store already routes the wallet (onboarding, or the owner's choice): the route is what
/// checkout follows, in live mode as in the sandbox.
fn direct_route_for_this_till(store: &mut Store, kind: AcquirerKind) -> Result<(), StoreError> {
    let account = store.setup_mut().acquirer_for(kind)?;
    let till = crate::config::this_till(store)?;
    let wallet = crate::model::Wallet::for_protocol(kind.protocol());
    if store.setup().route(till.store_id, wallet)?.is_none() {
        let route = crate::model::Route {
            store_id: till.store_id,
            wallet,
            acquirer_id: account,
            merchant_id: None,
            source: crate::model::RouteSource::Direct,
        };
        store.setup_mut().set_route(&route, None)?;
    }
    Ok(())
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
    #[error("the WeChat Pay API certificate cannot be imported: {0}")]
    Certificate(#[from] CertError),
}

/// The public half of a generated key pair, in the forms the Alipay console asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyExport {
    /// One line of base64 (the SubjectPublicKeyInfo DER), as pasted into "接口加签方式 → 公钥" in the console.
    pub console_base64: String,
    pub pem: String,
    pub fingerprint: String,
}

/// The vault name of an Alipay-protocol account's secret: `alipay.app_private_key` for the Alipay account,
/// `alipayplus.app_private_key` for the Alipay+ partner acquirer's (which speaks the Alipay protocol with its own
/// app, keys and gateway).
fn alipay_secret(kind: AcquirerKind, what: &str) -> String {
    format!("{}.{what}", kind.as_str())
}

/// Generates a new RSA-2048 app key pair: the private key goes to the vault (the database gets a reference), the
/// public key is kept as a setting and returned for the console.
pub fn generate_alipay_key_pair(store: &mut Store, vault: &mut Vault) -> Result<PublicKeyExport, KeyError> {
    generate_alipay_key_pair_for(store, vault, AcquirerKind::Alipay)
}

/// [`generate_alipay_key_pair`] for the Alipay-protocol account of `kind`.
pub fn generate_alipay_key_pair_for(
    store: &mut Store,
    vault: &mut Vault,
    kind: AcquirerKind,
) -> Result<PublicKeyExport, KeyError> {
    let pair = alipay_keys::generate_app_keys().map_err(|e| KeyError::Invalid(e.to_string()))?;
    let fp = fingerprint(pair.public_base64.as_bytes());
    let name = alipay_secret(kind, "app_private_key");
    vault.put(&name, &pair.private_pkcs8_pem)?;
    store.sync_mut().set_secret_ref(&name, Backend::detect().as_str(), &name, &fp)?;
    store.set_setting(&key(kind, "app_public_key"), &pair.public_base64, None)?;
    tracing::info!(fingerprint = fp, %kind, "new Alipay app key pair");
    Ok(PublicKeyExport { console_base64: pair.public_base64, pem: pair.public_pem, fingerprint: fp })
}

/// Writes the console's one line of base64 to `path` (Settings → Generate key pair and `keys generate --export`), so
/// it can be pasted into the Alipay console from a file.
pub fn export_alipay_public_key(export: &PublicKeyExport, path: &std::path::Path) -> std::io::Result<()> {
    crate::thread_role::assert_off_ui("writing a file");
    std::fs::write(path, format!("{}\n", export.console_base64))
}

/// The public key of the stored app key pair, for showing and exporting again.
pub fn alipay_app_public_key(store: &Store) -> Result<Option<String>, StoreError> {
    store.setting(&key(AcquirerKind::Alipay, "app_public_key"))
}

/// Imports an existing app private key (PKCS#1/PKCS#8 PEM or bare base64) into the vault.
pub fn import_alipay_private_key(store: &mut Store, vault: &mut Vault, text: &str) -> Result<String, KeyError> {
    import_alipay_private_key_for(store, vault, AcquirerKind::Alipay, text)
}

/// [`import_alipay_private_key`] for the Alipay-protocol account of `kind`.
pub fn import_alipay_private_key_for(
    store: &mut Store,
    vault: &mut Vault,
    kind: AcquirerKind,
    text: &str,
) -> Result<String, KeyError> {
    let key_obj = alipay_keys::parse_private_key(text)
        .map_err(|e| KeyError::Invalid(format!("the app private key cannot be used: {e}")))?;
    let public = key_obj.as_rsa().to_public_key();
    let der = rsa::pkcs8::EncodePublicKey::to_public_key_der(&public).map_err(|e| KeyError::Invalid(e.to_string()))?;
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der.as_bytes());
    let fp = fingerprint(b64.as_bytes());
    let name = alipay_secret(kind, "app_private_key");
    vault.put(&name, text.trim())?;
    store.sync_mut().set_secret_ref(&name, Backend::detect().as_str(), &name, &fp)?;
    store.set_setting(&key(kind, "app_public_key"), &b64, None)?;
    Ok(fp)
}

/// Imports the platform public key (支付宝公钥): PEM or the console's one-line base64. Kept as a setting (public).
pub fn import_alipay_platform_key(store: &mut Store, text: &str) -> Result<String, KeyError> {
    import_alipay_platform_key_for(store, AcquirerKind::Alipay, text)
}

/// [`import_alipay_platform_key`] for the Alipay-protocol account of `kind`.
pub fn import_alipay_platform_key_for(store: &mut Store, kind: AcquirerKind, text: &str) -> Result<String, KeyError> {
    alipay_keys::parse_public_key(text)
        .map_err(|e| KeyError::Invalid(format!("the Alipay public key (支付宝公钥) cannot be used: {e}")))?;
    store.set_setting(&key(kind, "platform_public_key"), text.trim(), None)?;
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
    store.sync_mut().set_secret_ref(WECHAT_API_KEY, Backend::detect().as_str(), WECHAT_API_KEY, &fp)?;
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

/// The HTTP client of one acquirer: a till-sized timeout, and the extra trusted roots when configured.
fn http(settings: &LiveSettings) -> Result<reqwest::Client, KeyError> {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
    for root in extra_root_certificates(Some(&settings.root_ca_pem)).map_err(|e| KeyError::Invalid(e.to_string()))? {
        builder = builder.add_root_certificate(root);
    }
    builder.build().map_err(|e| KeyError::Invalid(e.to_string()))
}

fn non_blank(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The live Alipay client from the settings and the vault.
pub fn alipay_client(store: &Store, vault: &Vault) -> Result<AlipayClient, KeyError> {
    alipay_client_for(store, vault, AcquirerKind::Alipay)
}

/// The live client of the Alipay-protocol account of `kind` (Alipay, or the Alipay+ partner acquirer).
pub fn alipay_client_for(store: &Store, vault: &Vault, kind: AcquirerKind) -> Result<AlipayClient, KeyError> {
    let s = LiveSettings::load(store, kind)?;
    let private =
        vault.get(&alipay_secret(kind, "app_private_key")).ok_or(KeyError::Missing("the Alipay app private key"))?;
    if s.platform_public_key.is_empty() {
        return Err(KeyError::Missing("the Alipay public key (支付宝公钥)"));
    }
    let http = http(&s)?;
    let config = AlipayConfig {
        gateway_url: effective_gateway(store, &s)?,
        app_id: s.app_id,
        app_private_key: private.into(),
        alipay_public_key: s.platform_public_key,
        app_auth_token: vault.get(&alipay_secret(kind, "app_auth_token")).and_then(non_blank),
        sys_service_provider_id: non_blank(&s.sys_service_provider_id),
        ..AlipayConfig::default()
    };
    AlipayClient::new(config, http).map_err(|e| KeyError::Invalid(e.to_string()))
}

/// The live WeChat Pay client from the settings and the vault: the account's sign type, `spbill_create_ip` found
/// from the socket that reaches the gateway, and the API certificate from the vault for the `secapi` calls. Calling
/// WeChat Pay directly, those calls are refused plainly without a certificate; through a merchant backend (which
/// holds the certificate and forwards) they go out without one.
pub fn wechat_client(store: &Store, vault: &Vault) -> Result<WechatClient, KeyError> {
    let s = LiveSettings::load(store, AcquirerKind::WechatPay)?;
    let api_key = vault.get(WECHAT_API_KEY).ok_or(KeyError::Missing("the WeChat Pay API key"))?;
    let certificate = match vault.get(WECHAT_API_CERT).filter(|pem| !pem.trim().is_empty()) {
        None => None,
        Some(pem) => match ApiCertificate::from_pem(pem) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!("the stored WeChat Pay API certificate cannot be used ({e}); import it again");
                None
            }
        },
    };
    let direct = crate::config::access_mode(store)? == AccessMode::StoreDirect;
    let http = http(&s)?;
    let config = WechatConfig {
        gateway_url: effective_gateway(store, &s)?,
        appid: s.app_id,
        mch_id: s.mch_id,
        api_key: api_key.into(),
        sign_type: s.sign_type,
        spbill_create_ip: String::new(),
        api_certificate: certificate,
        require_api_certificate: direct,
        extra_root_certificates_pem: non_blank(&s.root_ca_pem),
        ..WechatConfig::default()
    };
    WechatClient::new(config, http).map_err(|e| KeyError::Invalid(e.to_string()))
}

/// Stores the Alipay ISV's `app_auth_token` for this merchant in the vault (blank: none).
pub fn set_alipay_app_auth_token(store: &mut Store, vault: &mut Vault, token: &str) -> Result<String, KeyError> {
    let token = token.trim();
    if token.chars().count() > 40 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(KeyError::Invalid(
            "app_auth_token is the up to 40 letters and digits that alipay.open.auth.token.app returned".into(),
        ));
    }
    let fp = if token.is_empty() { "none".to_owned() } else { fingerprint(token.as_bytes()) };
    vault.put(ALIPAY_APP_AUTH_TOKEN, token)?;
    store.sync_mut().set_secret_ref(ALIPAY_APP_AUTH_TOKEN, Backend::detect().as_str(), ALIPAY_APP_AUTH_TOKEN, &fp)?;
    Ok(fp)
}

// ---------------------------------------------------------------------------------------------------------------
// The WeChat Pay API certificate

/// Reads and checks a PKCS#12 certificate for the configured WeChat merchant (the slow part of an import: run it
/// off the UI thread). `password` None: the mch_id, as WeChat issues it. Refused: a wrong password, a CN that is not
/// the mch_id, a certificate that has expired or is not valid yet.
pub fn read_wechat_api_certificate(
    mch_id: &str,
    p12: &[u8],
    password: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<ApiCertificate, KeyError> {
    let mch_id = mch_id.trim();
    if mch_id.is_empty() {
        return Err(KeyError::Missing("the WeChat Pay mch_id (the certificate is checked against it)"));
    }
    let certificate = ApiCertificate::from_pkcs12(p12, password.unwrap_or(mch_id))?;
    certificate.info().check_merchant(mch_id)?;
    certificate.info().check_time(now)?;
    Ok(certificate)
}

/// [`read_wechat_api_certificate`] of the PKCS#12 file at `path` (Settings → Import certificate).
pub fn read_wechat_api_certificate_file(
    mch_id: &str,
    path: &std::path::Path,
    password: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<ApiCertificate, KeyError> {
    let p12 = std::fs::read(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| KeyError::Invalid(format!("cannot read {}: {e}", path.display())))?;
    read_wechat_api_certificate(mch_id, &p12, password, now)
}

/// Keeps a checked certificate: the key and certificate in the vault, the public facts as settings.
pub fn store_wechat_api_certificate(
    store: &mut Store,
    vault: &mut Vault,
    certificate: &ApiCertificate,
) -> Result<CertInfo, KeyError> {
    let info = certificate.info().clone();
    vault.put(WECHAT_API_CERT, certificate.pem())?;
    let fp = format!("sha256:{}", info.sha256.replace(':', "").to_lowercase().get(..16).unwrap_or_default());
    store.sync_mut().set_secret_ref(WECHAT_API_CERT, Backend::detect().as_str(), WECHAT_API_CERT, &fp)?;
    let kind = AcquirerKind::WechatPay;
    store.set_setting(&key(kind, "api_cert_cn"), &info.subject_cn, None)?;
    store.set_setting(&key(kind, "api_cert_not_after"), &info.not_after.unix_timestamp().to_string(), None)?;
    store.set_setting(&key(kind, "api_cert_sha256"), &info.sha256, None)?;
    tracing::info!(cn = %info.subject_cn, expires = %info.expiry_date(), "WeChat Pay API certificate imported");
    Ok(info)
}

/// Reads, checks and keeps a PKCS#12 certificate for the configured WeChat merchant.
pub fn import_wechat_api_certificate(
    store: &mut Store,
    vault: &mut Vault,
    p12: &[u8],
    password: Option<&str>,
) -> Result<CertInfo, KeyError> {
    let mch_id = LiveSettings::load(store, AcquirerKind::WechatPay)?.mch_id;
    let certificate = read_wechat_api_certificate(&mch_id, p12, password, time::OffsetDateTime::now_utc())?;
    store_wechat_api_certificate(store, vault, &certificate)
}

/// The imported certificate's public facts, from the settings (no vault needed): CN, expiry, SHA-256.
pub fn wechat_api_certificate_info(
    store: &Store,
) -> Result<Option<(String, time::OffsetDateTime, String)>, StoreError> {
    let kind = AcquirerKind::WechatPay;
    let (Some(cn), Some(not_after)) =
        (store.setting(&key(kind, "api_cert_cn"))?, store.setting(&key(kind, "api_cert_not_after"))?)
    else {
        return Ok(None);
    };
    let Some(not_after) = not_after.parse().ok().and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok()) else {
        return Ok(None);
    };
    Ok(Some((cn, not_after, store.setting(&key(kind, "api_cert_sha256"))?.unwrap_or_default())))
}

/// Where the WeChat Pay API certificate stands, for "Test connection" and Settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertStatus {
    NotImported,
    /// In the vault but unusable (damaged, or issued to another mch_id than the configured one).
    Unusable(String),
    Valid(CertInfo),
    /// Expires within [`CERT_WARNING_DAYS`].
    ExpiringSoon {
        info: CertInfo,
        days_left: i64,
    },
    Expired(CertInfo),
}

impl CertStatus {
    /// Is a `secapi` call (refund, reverse) going to fail because of it?
    pub fn blocks_refunds(&self) -> bool {
        matches!(self, CertStatus::NotImported | CertStatus::Unusable(_) | CertStatus::Expired(_))
    }

    /// Needs the merchant's attention (anything but valid and not expiring soon)?
    pub fn is_warning(&self) -> bool {
        !matches!(self, CertStatus::Valid(_))
    }
}

impl std::fmt::Display for CertStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertStatus::NotImported => write!(
                f,
                "{}; refunds and reversals cannot be made",
                crate::channel::wechatpay::client::MISSING_CERTIFICATE
            ),
            CertStatus::Unusable(why) => {
                write!(f, "the WeChat Pay API certificate cannot be used ({why}); import it again")
            }
            CertStatus::Valid(info) => {
                write!(
                    f,
                    "API certificate CN={} valid until {} (sha256 {})",
                    info.subject_cn,
                    info.expiry_date(),
                    info.sha256
                )
            }
            CertStatus::ExpiringSoon { info, days_left } => write!(
                f,
                "the WeChat Pay API certificate (CN={}) expires on {}, in {days_left} days: download a new one in the                  merchant platform (账户中心 → API安全) and import it",
                info.subject_cn,
                info.expiry_date()
            ),
            CertStatus::Expired(info) => write!(
                f,
                "the WeChat Pay API certificate (CN={}) expired on {}: refunds and reversals fail until a new one is                  imported",
                info.subject_cn,
                info.expiry_date()
            ),
        }
    }
}

/// The state of the WeChat Pay API certificate in the vault, for the configured mch_id, at `now`.
pub fn wechat_certificate_status(
    store: &Store,
    vault: &Vault,
    now: time::OffsetDateTime,
) -> Result<CertStatus, KeyError> {
    let Some(pem) = vault.get(WECHAT_API_CERT).filter(|p| !p.trim().is_empty()) else {
        return Ok(CertStatus::NotImported);
    };
    let certificate = match ApiCertificate::from_pem(pem) {
        Ok(c) => c,
        Err(e) => return Ok(CertStatus::Unusable(e.to_string())),
    };
    let info = certificate.info().clone();
    let mch_id = LiveSettings::load(store, AcquirerKind::WechatPay)?.mch_id;
    if let Err(e) = info.check_merchant(&mch_id) {
        return Ok(CertStatus::Unusable(e.to_string()));
    }
    match info.check_time(now) {
        Ok(()) => {}
        Err(CertError::Expired { .. }) => return Ok(CertStatus::Expired(info)),
        Err(e) => return Ok(CertStatus::Unusable(e.to_string())),
    }
    let days_left = info.days_left(now);
    Ok(if days_left <= CERT_WARNING_DAYS {
        CertStatus::ExpiringSoon { info, days_left }
    } else {
        CertStatus::Valid(info)
    })
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
    ) -> Result<std::sync::Arc<dyn crate::channel::Channel>, NoChannel> {
        Ok(match account.kind {
            AcquirerKind::Alipay => std::sync::Arc::new(alipay_client(self.store, self.vault)?),
            AcquirerKind::WechatPay => std::sync::Arc::new(wechat_client(self.store, self.vault)?),
            // The Alipay+ partner acquirer speaks the Alipay protocol with its own gateway, app and keys
            // (`tilldesk keys set --acquirer alipayplus …`).
            AcquirerKind::AlipayPlus => {
                std::sync::Arc::new(alipay_client_for(self.store, self.vault, AcquirerKind::AlipayPlus)?)
            }
        })
    }
}

impl From<KeyError> for NoChannel {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Missing(what) => NoChannel::Missing { what },
            other => NoChannel::Unusable { detail: other.to_string() },
        }
    }
}

/// The router of live mode: settings from the database at `db_path`, secrets from `vault`.
pub fn live_router(db_path: &std::path::Path, vault: &Vault) -> Result<crate::routing::Router, KeyError> {
    let store = Store::open(db_path)?;
    Ok(crate::routing::Router::new(&store, &LiveChannels { store: &store, vault })?)
}

/// "Test connection": a harmless signed query; Ok when the acquirer answered and its signature verified.
pub async fn check_connection(channel: &dyn crate::channel::Channel) -> Result<(), crate::sync::ProbeError> {
    crate::sync::probe_channel(channel).await
}

#[cfg(test)]
mod key_tests;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::channel::{Channel, PayRequest};
    use crate::money::Amount;

    const KEYS: &str = include_str!("../tests/vectors/test_keys.json");

    fn test_key(who: &str, form: &str) -> String {
        let keys: serde_json::Value = serde_json::from_str(KEYS).unwrap();
        keys[who][form].as_str().unwrap().to_owned()
    }

    /// A gateway that records each request's parameters (query string and form body merged) and answers nothing
    /// Alipay would sign.
    async fn capture_gateway() -> (String, Arc<Mutex<Vec<BTreeMap<String, String>>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let app = axum::Router::new().fallback(move |query: axum::extract::RawQuery, body: String| {
            let record = record.clone();
            async move {
                let mut params: BTreeMap<String, String> =
                    serde_urlencoded::from_str(&query.0.unwrap_or_default()).unwrap_or_default();
                params.extend(serde_urlencoded::from_str::<Vec<(String, String)>>(&body).unwrap_or_default());
                record.lock().unwrap().push(params);
                "{}"
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/gateway.do", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (url, seen)
    }

    /// The parameters of one `alipay.trade.pay` sent through the live client built from these settings.
    async fn sent_pay(isv: bool) -> BTreeMap<String, String> {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.sqlite3")).unwrap();
        let mut vault = Vault::unlock(dir.path(), "test passphrase").unwrap();
        let (url, seen) = capture_gateway().await;
        let settings = LiveSettings {
            gateway_url: url,
            app_id: "2021000000000001".into(),
            sys_service_provider_id: if isv { "2088511833207846".into() } else { String::new() },
            ..LiveSettings::default()
        };
        settings.save(&mut store, AcquirerKind::Alipay).unwrap();
        import_alipay_private_key(&mut store, &mut vault, &test_key("app", "pkcs8_pem")).unwrap();
        import_alipay_platform_key(&mut store, &test_key("platform", "spki_pem")).unwrap();
        if isv {
            set_alipay_app_auth_token(&mut store, &mut vault, "202004BB9d3901a7d39d4350a49fb00000000001").unwrap();
        }
        let client = alipay_client(&store, &vault).unwrap();
        let request = PayRequest {
            out_trade_no: "o1".into(),
            auth_code: "28763443825664394".into(),
            amount: Amount::from_fen(100),
            subject: "coffee".into(),
            store_id: None,
            terminal_id: None,
            operator_id: None,
        };
        client.pay(&request).await;
        let sent = seen.lock().unwrap().clone();
        let params = sent.into_iter().next().expect("one request");
        let public = alipay_keys::parse_public_key(&test_key("app", "spki_pem")).unwrap();
        crate::channel::alipay::verify_request_params(&params, &public).expect("the request is signed");
        params
    }

    #[tokio::test]
    async fn isv_fields_are_sent_and_signed_when_configured() {
        let params = sent_pay(true).await;
        assert_eq!(params.get("app_auth_token").map(String::as_str), Some("202004BB9d3901a7d39d4350a49fb00000000001"));
        let biz: serde_json::Value = serde_json::from_str(&params["biz_content"]).unwrap();
        assert_eq!(biz["extend_params"]["sys_service_provider_id"], "2088511833207846");
        // The signature covers the token: change it and the check fails.
        let mut altered = params.clone();
        altered.insert("app_auth_token".into(), "202004BBother".into());
        let public = alipay_keys::parse_public_key(&test_key("app", "spki_pem")).unwrap();
        assert!(crate::channel::alipay::verify_request_params(&altered, &public).is_err());
    }

    #[tokio::test]
    async fn isv_fields_are_absent_when_not_configured() {
        let params = sent_pay(false).await;
        assert!(!params.contains_key("app_auth_token"), "{params:?}");
        let biz: serde_json::Value = serde_json::from_str(&params["biz_content"]).unwrap();
        assert!(biz.get("extend_params").is_none(), "{biz}");
    }

    #[test]
    fn live_settings_round_trip_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.sqlite3")).unwrap();
        let s = LiveSettings {
            gateway_url: "https://api.mch.weixin.qq.com".into(),
            app_id: "wx1".into(),
            mch_id: "1900000109".into(),
            sign_type: SignType::HmacSha256,
            ..LiveSettings::default()
        };
        s.save(&mut store, AcquirerKind::WechatPay).unwrap();
        assert_eq!(LiveSettings::load(&store, AcquirerKind::WechatPay).unwrap(), s);
        let bad_root = LiveSettings { root_ca_pem: "not a certificate".into(), ..s.clone() };
        let e = bad_root.save(&mut store, AcquirerKind::WechatPay).unwrap_err();
        assert!(e.to_string().contains("extra trusted root"), "{e}");
        let bad_pid = LiveSettings { sys_service_provider_id: "PID 1".into(), ..s };
        assert!(bad_pid.save(&mut store, AcquirerKind::Alipay).is_err());
    }
}

#[cfg(test)]
mod cert_status_tests {
    use super::*;

    /// A certificate for `cn` valid for 90 days from `start`, as the vault keeps it (key + certificate PEM).
    fn vault_pem(cn: &str, start: time::OffsetDateTime) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, cn);
        params.not_before = start;
        params.not_after = start + time::Duration::days(90);
        let cert = params.self_signed(&key).unwrap();
        format!("{}{}", key.serialize_pem(), cert.pem())
    }

    #[test]
    fn the_certificate_status_says_missing_expiring_and_expired() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.sqlite3")).unwrap();
        let mut vault = Vault::unlock(dir.path(), "test passphrase").unwrap();
        let s = LiveSettings { mch_id: "1900000109".into(), ..LiveSettings::default() };
        s.save(&mut store, AcquirerKind::WechatPay).unwrap();
        let start = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let day = time::Duration::days(1);
        let status = |store: &Store, vault: &Vault, at| wechat_certificate_status(store, vault, at).unwrap();

        let missing = status(&store, &vault, start);
        assert_eq!(missing, CertStatus::NotImported);
        assert!(missing.blocks_refunds() && missing.to_string().contains("import-cert --acquirer WECHATPAY"));

        vault.put(WECHAT_API_CERT, &vault_pem("1900000109", start)).unwrap();
        let valid = status(&store, &vault, start + day);
        assert!(matches!(valid, CertStatus::Valid(_)) && !valid.is_warning(), "{valid}");
        let soon = status(&store, &vault, start + day * 70);
        assert!(matches!(soon, CertStatus::ExpiringSoon { days_left: 20, .. }), "{soon:?}");
        assert!(soon.is_warning() && !soon.blocks_refunds() && soon.to_string().contains("in 20 days"), "{soon}");
        let expired = status(&store, &vault, start + day * 91);
        assert!(matches!(expired, CertStatus::Expired(_)) && expired.blocks_refunds(), "{expired}");
        assert!(expired.to_string().contains("expired on"), "{expired}");

        vault.put(WECHAT_API_CERT, &vault_pem("1900000999", start)).unwrap();
        let other = status(&store, &vault, start + day);
        assert!(matches!(other, CertStatus::Unusable(_)) && other.to_string().contains("1900000999"), "{other}");
        // The status never shows the key.
        assert!(!format!("{other} {other:?} {valid:?}").contains("PRIVATE KEY"));
    }
}
