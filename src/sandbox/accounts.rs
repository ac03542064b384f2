//! `sandbox.json`: the sandbox's merchant accounts, keys and acquirers, created on first start.
//! Every field is documented in docs/SANDBOX.md.

use std::path::Path;

use rand::RngExt as _;
use serde::{Deserialize, Serialize};

use crate::channel::alipay::sign::generate_app_keys;

pub const ACCOUNTS_FILE: &str = "sandbox.json";

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not a valid sandbox.json: {source}")]
    Parse { path: String, source: serde_json::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("cannot generate sandbox keys: {0}")]
    Keys(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxAccounts {
    pub version: u32,
    pub created_at: String,
    pub platform: Platform,
    pub acquirers: Vec<SandboxAcquirer>,
    pub merchants: Vec<MerchantAccount>,
}

/// The platform side: Alipay's own signing key (the "支付宝公钥" the merchant verifies with) and the CDS platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Platform {
    pub alipay_private_key_pkcs8_pem: String,
    pub alipay_public_key_pem: String,
    pub alipay_public_key_base64: String,
    pub cds_platform_id: String,
}

/// An acquirer a merchant can onboard with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxAcquirer {
    pub acquirer_id: String,
    pub name: String,
    /// The payment protocol its merchants use at the till: "alipay" or "wechatpay".
    pub protocol: String,
    /// The globally unique identifier it puts in store codes (EMVCo template sub-tag 00 / code issuer id).
    pub issuer_guid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MerchantAccount {
    pub name: String,
    pub alipay: AlipayAccount,
    pub wechatpay: WechatAccount,
    /// Where asynchronous payment notifications go (set with `POST /admin/notify-url`, or by the app).
    pub notify_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlipayAccount {
    pub app_id: String,
    /// The merchant's 2088… partner id (PID); bills are named after it.
    pub pid: String,
    pub app_private_key_pkcs8_pem: String,
    pub app_private_key_pkcs1_pem: String,
    pub app_public_key_pem: String,
    /// The platform public key, as the merchant pastes it into its settings (same as platform.alipay_public_key_pem).
    pub alipay_public_key_pem: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WechatAccount {
    pub appid: String,
    pub mch_id: String,
    /// The 32-character API v2 key used for MD5 and HMAC-SHA256 signatures.
    pub api_key: String,
}

impl SandboxAccounts {
    /// Loads `DIR/sandbox.json`, creating it with fresh keys on first start.
    pub fn load_or_create(dir: &Path) -> Result<SandboxAccounts, AccountsError> {
        let path = dir.join(ACCOUNTS_FILE);
        let shown = path.display().to_string();
        if path.exists() {
            let text =
                std::fs::read_to_string(&path).map_err(|source| AccountsError::Read { path: shown.clone(), source })?;
            return serde_json::from_str(&text).map_err(|source| AccountsError::Parse { path: shown, source });
        }
        let accounts = SandboxAccounts::generate()?;
        let text = serde_json::to_string_pretty(&accounts)
            .map_err(|source| AccountsError::Parse { path: shown.clone(), source })?;
        // Write to a temporary file, then rename: a crash never leaves half a sandbox.json.
        let tmp = dir.join(format!("{ACCOUNTS_FILE}.tmp"));
        std::fs::write(&tmp, text).map_err(|source| AccountsError::Write { path: shown.clone(), source })?;
        std::fs::rename(&tmp, &path).map_err(|source| AccountsError::Write { path: shown, source })?;
        Ok(accounts)
    }

    pub fn generate() -> Result<SandboxAccounts, AccountsError> {
        let platform_keys = generate_app_keys().map_err(|e| AccountsError::Keys(e.to_string()))?;
        let mut merchants = Vec::new();
        for n in 1..=2u32 {
            let keys = generate_app_keys().map_err(|e| AccountsError::Keys(e.to_string()))?;
            merchants.push(MerchantAccount {
                name: format!("Sandbox Merchant {n}"),
                alipay: AlipayAccount {
                    app_id: format!("902100000000000{n}"),
                    pid: format!("208800000000000{n}"),
                    app_private_key_pkcs8_pem: keys.private_pkcs8_pem.to_string(),
                    app_private_key_pkcs1_pem: keys.private_pkcs1_pem.to_string(),
                    app_public_key_pem: keys.public_pem,
                    alipay_public_key_pem: platform_keys.public_pem.clone(),
                },
                wechatpay: WechatAccount {
                    appid: format!("wxsandbox000000{n}"),
                    mch_id: format!("190000010{n}"),
                    api_key: random_key(32),
                },
                notify_url: None,
            });
        }
        Ok(SandboxAccounts {
            version: 1,
            created_at: crate::time::now_utc(),
            platform: Platform {
                alipay_private_key_pkcs8_pem: platform_keys.private_pkcs8_pem.to_string(),
                alipay_public_key_pem: platform_keys.public_pem,
                alipay_public_key_base64: platform_keys.public_base64,
                cds_platform_id: "SANDBOXCDS".into(),
            },
            acquirers: vec![
                SandboxAcquirer {
                    acquirer_id: "ALIPAY".into(),
                    name: "Alipay (sandbox)".into(),
                    protocol: "alipay".into(),
                    issuer_guid: "com.alipay.sandbox".into(),
                },
                SandboxAcquirer {
                    acquirer_id: "WECHATPAY".into(),
                    name: "WeChat Pay (sandbox)".into(),
                    protocol: "wechatpay".into(),
                    issuer_guid: "com.tenpay.sandbox".into(),
                },
                SandboxAcquirer {
                    acquirer_id: "PARTNER1".into(),
                    name: "Alipay+ partner acquirer (sandbox)".into(),
                    protocol: "alipay".into(),
                    issuer_guid: "com.partner1.sandbox".into(),
                },
            ],
            merchants,
        })
    }

    pub fn merchant_by_app_id(&self, app_id: &str) -> Option<&MerchantAccount> {
        self.merchants.iter().find(|m| m.alipay.app_id == app_id)
    }

    pub fn merchant_by_mch_id(&self, mch_id: &str) -> Option<&MerchantAccount> {
        self.merchants.iter().find(|m| m.wechatpay.mch_id == mch_id)
    }

    pub fn acquirer(&self, acquirer_id: &str) -> Option<&SandboxAcquirer> {
        self.acquirers.iter().find(|a| a.acquirer_id == acquirer_id)
    }

    pub fn acquirer_by_guid(&self, guid: &str) -> Option<&SandboxAcquirer> {
        self.acquirers.iter().find(|a| a.issuer_guid.eq_ignore_ascii_case(guid))
    }
}

/// Random letters and digits (nonces, API keys).
pub fn random_key(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}
