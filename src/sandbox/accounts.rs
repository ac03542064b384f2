//! `sandbox.json`: the sandbox's merchant accounts, keys and acquirers, created on first start.
//! Every field is documented in docs/SANDBOX.md.

use std::path::Path;

use rand::RngExt as _;
use serde::{Deserialize, Serialize};

use crate::channel::alipay::sign::generate_app_keys;

pub const ACCOUNTS_FILE: &str = "sandbox.json";
/// Version 2 added each acquirer's own account (`acquirers[].account`, `platform`, `notify_url`).
pub const ACCOUNTS_VERSION: u32 = 2;
/// The acquirers the shared, unprefixed gateways act as (`/gateway.do` and the WeChat paths).
pub const LEGACY_ALIPAY_ACQUIRER: &str = "ALIPAY";
pub const LEGACY_WECHAT_ACQUIRER: &str = "WECHATPAY";

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

/// An acquirer a merchant can onboard with, and the till's own contract with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxAcquirer {
    pub acquirer_id: String,
    pub name: String,
    /// The payment protocol its merchants use at the till: "alipay" or "wechatpay".
    pub protocol: String,
    /// The globally unique identifier it puts in store codes (EMVCo template sub-tag 00 / code issuer id).
    pub issuer_guid: String,
    /// Alipay-protocol acquirers: the key pair this acquirer signs its gateway answers and notifications with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<AcquirerPlatform>,
    /// The till's merchant account with this acquirer (`{"alipay": {…}}` or `{"wechatpay": {…}}`): what its gateway
    /// at `/acquirers/{acquirer_id}/…` authenticates. Generated on load when missing (sandbox.json version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AcquirerAccount>,
    /// Where notifications of payments taken on this account go (set with `POST /admin/notify-url`).
    #[serde(default)]
    pub notify_url: Option<String>,
}

/// An alipay-protocol acquirer's own platform key (its "支付宝公钥" is `alipay_public_key_pem`).
#[derive(Clone, Serialize, Deserialize)]
pub struct AcquirerPlatform {
    pub alipay_private_key_pkcs8_pem: String,
    pub alipay_public_key_pem: String,
    pub alipay_public_key_base64: String,
}

impl std::fmt::Debug for AcquirerPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquirerPlatform")
            .field("alipay_private_key_pkcs8_pem", &"<redacted>")
            .field("alipay_public_key_base64", &self.alipay_public_key_base64)
            .finish()
    }
}

/// The till's contract with one acquirer, in the acquirer's protocol.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquirerAccount {
    Alipay(AlipayAccount),
    Wechatpay(WechatAccount),
}

impl SandboxAcquirer {
    pub fn alipay_account(&self) -> Option<&AlipayAccount> {
        match &self.account {
            Some(AcquirerAccount::Alipay(a)) if self.protocol == "alipay" => Some(a),
            _ => None,
        }
    }

    pub fn wechat_account(&self) -> Option<&WechatAccount> {
        match &self.account {
            Some(AcquirerAccount::Wechatpay(w)) if self.protocol == "wechatpay" => Some(w),
            _ => None,
        }
    }

    /// The account's id as requests name it: the Alipay app_id or the WeChat mch_id.
    pub fn account_id(&self) -> Option<&str> {
        match &self.account {
            Some(AcquirerAccount::Alipay(a)) => Some(&a.app_id),
            Some(AcquirerAccount::Wechatpay(w)) => Some(&w.mch_id),
            None => None,
        }
    }

    /// The account's own merchant id, recorded for trades taken without a sub-merchant: the pid or the mch_id.
    pub fn own_merchant_id(&self) -> Option<&str> {
        match &self.account {
            Some(AcquirerAccount::Alipay(a)) => Some(&a.pid),
            Some(AcquirerAccount::Wechatpay(w)) => Some(&w.mch_id),
            None => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MerchantAccount {
    pub name: String,
    pub alipay: AlipayAccount,
    pub wechatpay: WechatAccount,
    /// Where asynchronous payment notifications go (set with `POST /admin/notify-url`, or by the app).
    pub notify_url: Option<String>,
}

#[derive(Clone, Serialize, Deserialize)]
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

#[derive(Clone, Serialize, Deserialize)]
pub struct WechatAccount {
    pub appid: String,
    pub mch_id: String,
    /// The 32-character API v2 key used for MD5 and HMAC-SHA256 signatures.
    pub api_key: String,
}

impl std::fmt::Debug for AlipayAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayAccount")
            .field("app_id", &self.app_id)
            .field("pid", &self.pid)
            .field("app_private_key", &"<redacted>")
            .finish()
    }
}

impl std::fmt::Debug for WechatAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatAccount")
            .field("appid", &self.appid)
            .field("mch_id", &self.mch_id)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl SandboxAccounts {
    /// Loads `DIR/sandbox.json`, creating it with fresh keys on first start.
    pub fn load_or_create(dir: &Path) -> Result<SandboxAccounts, AccountsError> {
        let path = dir.join(ACCOUNTS_FILE);
        let shown = path.display().to_string();
        if path.exists() {
            let text =
                std::fs::read_to_string(&path).map_err(|source| AccountsError::Read { path: shown.clone(), source })?;
            let mut accounts: SandboxAccounts =
                serde_json::from_str(&text).map_err(|source| AccountsError::Parse { path: shown.clone(), source })?;
            // An older file: give every acquirer its own account (and platform key), save, change nothing else.
            if accounts.complete_acquirer_accounts()? {
                accounts.version = accounts.version.max(ACCOUNTS_VERSION);
                write_file(dir, &accounts)?;
            }
            return Ok(accounts);
        }
        let accounts = SandboxAccounts::generate()?;
        write_file(dir, &accounts)?;
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
        let mut accounts = SandboxAccounts {
            version: ACCOUNTS_VERSION,
            created_at: crate::time::now_utc(),
            platform: Platform {
                alipay_private_key_pkcs8_pem: platform_keys.private_pkcs8_pem.to_string(),
                alipay_public_key_pem: platform_keys.public_pem,
                alipay_public_key_base64: platform_keys.public_base64,
                cds_platform_id: "SANDBOXCDS".into(),
            },
            acquirers: vec![
                SandboxAcquirer::new(LEGACY_ALIPAY_ACQUIRER, "Alipay (sandbox)", "alipay", "com.alipay.sandbox"),
                SandboxAcquirer::new(LEGACY_WECHAT_ACQUIRER, "WeChat Pay (sandbox)", "wechatpay", "com.tenpay.sandbox"),
                SandboxAcquirer::new(
                    "PARTNER1",
                    "Alipay+ partner acquirer (sandbox)",
                    "alipay",
                    "com.partner1.sandbox",
                ),
            ],
            merchants,
        };
        accounts.complete_acquirer_accounts()?;
        Ok(accounts)
    }

    /// Gives every acquirer without one its own account, and every alipay-protocol acquirer its platform key.
    /// ALIPAY and WECHATPAY, which the shared (unprefixed) gateways act as, take the first merchant's account and
    /// the shared platform key, so a trade taken on either path is the same trade. Any other acquirer gets fresh
    /// ids and keys. Returns whether anything was added.
    pub fn complete_acquirer_accounts(&mut self) -> Result<bool, AccountsError> {
        let mut changed = false;
        for k in 0..self.acquirers.len() {
            let (id, protocol) = (self.acquirers[k].acquirer_id.clone(), self.acquirers[k].protocol.clone());
            let first = self.merchants.first().cloned();
            match protocol.as_str() {
                "alipay" => {
                    if self.acquirers[k].platform.is_none() {
                        let platform = if id == LEGACY_ALIPAY_ACQUIRER {
                            AcquirerPlatform {
                                alipay_private_key_pkcs8_pem: self.platform.alipay_private_key_pkcs8_pem.clone(),
                                alipay_public_key_pem: self.platform.alipay_public_key_pem.clone(),
                                alipay_public_key_base64: self.platform.alipay_public_key_base64.clone(),
                            }
                        } else {
                            let keys = generate_app_keys().map_err(|e| AccountsError::Keys(e.to_string()))?;
                            AcquirerPlatform {
                                alipay_private_key_pkcs8_pem: keys.private_pkcs8_pem.to_string(),
                                alipay_public_key_pem: keys.public_pem,
                                alipay_public_key_base64: keys.public_base64,
                            }
                        };
                        self.acquirers[k].platform = Some(platform);
                        changed = true;
                    }
                    if self.acquirers[k].alipay_account().is_none() {
                        let platform_public =
                            self.acquirers[k].platform.as_ref().map(|p| p.alipay_public_key_pem.clone());
                        let account = match first {
                            Some(m) if id == LEGACY_ALIPAY_ACQUIRER => m.alipay,
                            _ => {
                                let keys = generate_app_keys().map_err(|e| AccountsError::Keys(e.to_string()))?;
                                let n = self.free_number(100 + k as u64);
                                AlipayAccount {
                                    app_id: format!("9021{n:012}"),
                                    pid: format!("2088{n:012}"),
                                    app_private_key_pkcs8_pem: keys.private_pkcs8_pem.to_string(),
                                    app_private_key_pkcs1_pem: keys.private_pkcs1_pem.to_string(),
                                    app_public_key_pem: keys.public_pem,
                                    alipay_public_key_pem: String::new(),
                                }
                            }
                        };
                        let mut account = account;
                        account.alipay_public_key_pem = platform_public.unwrap_or_default();
                        self.acquirers[k].account = Some(AcquirerAccount::Alipay(account));
                        changed = true;
                    }
                }
                "wechatpay" if self.acquirers[k].wechat_account().is_none() => {
                    let account = match first {
                        Some(m) if id == LEGACY_WECHAT_ACQUIRER => m.wechatpay,
                        _ => {
                            let n = self.free_number(100 + k as u64);
                            WechatAccount {
                                appid: format!("wxsandbox{n:07}"),
                                mch_id: format!("191{n:07}"),
                                api_key: random_key(32),
                            }
                        }
                    };
                    self.acquirers[k].account = Some(AcquirerAccount::Wechatpay(account));
                    changed = true;
                }
                _ => {}
            }
        }
        Ok(changed)
    }

    /// A number from `start` on whose generated ids no merchant or acquirer account uses yet.
    fn free_number(&self, start: u64) -> u64 {
        let taken = |n: u64| {
            let ids = [format!("9021{n:012}"), format!("2088{n:012}"), format!("191{n:07}")];
            self.merchants.iter().any(|m| {
                ids.contains(&m.alipay.app_id) || ids.contains(&m.alipay.pid) || ids.contains(&m.wechatpay.mch_id)
            }) || self.acquirers.iter().any(|a| {
                a.account_id().is_some_and(|id| ids.iter().any(|i| i == id))
                    || a.own_merchant_id().is_some_and(|id| ids.iter().any(|i| i == id))
            })
        };
        (start..).find(|n| !taken(*n)).unwrap_or(start)
    }

    /// The acquirer whose own account has this Alipay app_id.
    pub fn acquirer_by_app_id(&self, app_id: &str) -> Option<&SandboxAcquirer> {
        self.acquirers.iter().find(|a| a.alipay_account().is_some_and(|acc| acc.app_id == app_id))
    }

    /// The acquirer whose own account has this WeChat mch_id.
    pub fn acquirer_by_mch_id(&self, mch_id: &str) -> Option<&SandboxAcquirer> {
        self.acquirers.iter().find(|a| a.wechat_account().is_some_and(|acc| acc.mch_id == mch_id))
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

impl SandboxAcquirer {
    fn new(acquirer_id: &str, name: &str, protocol: &str, issuer_guid: &str) -> SandboxAcquirer {
        SandboxAcquirer {
            acquirer_id: acquirer_id.into(),
            name: name.into(),
            protocol: protocol.into(),
            issuer_guid: issuer_guid.into(),
            platform: None,
            account: None,
            notify_url: None,
        }
    }
}

/// Writes sandbox.json through a temporary file and a rename: a crash never leaves half a file.
fn write_file(dir: &Path, accounts: &SandboxAccounts) -> Result<(), AccountsError> {
    let path = dir.join(ACCOUNTS_FILE);
    let shown = path.display().to_string();
    let text = serde_json::to_string_pretty(accounts)
        .map_err(|source| AccountsError::Parse { path: shown.clone(), source })?;
    let tmp = dir.join(format!("{ACCOUNTS_FILE}.tmp"));
    std::fs::write(&tmp, text).map_err(|source| AccountsError::Write { path: shown.clone(), source })?;
    std::fs::rename(&tmp, &path).map_err(|source| AccountsError::Write { path: shown, source })
}

/// Random letters and digits (nonces, API keys).
pub fn random_key(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}
