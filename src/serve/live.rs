//! What a backend on the live gateways verifies the acquirers' notifications with: each live account's ids (Alipay
//! app_id, WeChat Pay mch_id) and keys (the platform public key, the API v2 key from the vault), the same ones its
//! clients use. An account not set up is left out (its notifications are refused, and logged, as unknown).

use crate::keys::{LiveSettings, WECHAT_API_KEY};
use crate::model::AcquirerKind;
use crate::secrets::Vault;
use crate::store::{Store, StoreError};
use crate::sync::notify::{NotifyAccount, NotifyKeys, NotifyVerify};

/// The notify keys of the backend's live accounts.
pub fn notify_keys(store: &Store, vault: &Vault) -> Result<NotifyKeys, StoreError> {
    let mut keys = NotifyKeys::default();
    for account in store.setup().acquirers()? {
        let settings = LiveSettings::load(store, account.kind)?;
        let verify = match account.kind {
            AcquirerKind::Alipay | AcquirerKind::AlipayPlus => {
                let Ok(public_key) = crate::channel::alipay::parse_public_key(&settings.platform_public_key) else {
                    continue;
                };
                if settings.app_id.trim().is_empty() {
                    continue;
                }
                NotifyVerify::Alipay { app_id: settings.app_id.trim().to_owned(), public_key }
            }
            AcquirerKind::WechatPay => {
                let Some(api_key) = vault.secret(WECHAT_API_KEY).filter(|k| !k.is_empty()) else { continue };
                if settings.mch_id.trim().is_empty() {
                    continue;
                }
                NotifyVerify::Wechat { mch_id: settings.mch_id.trim().to_owned(), api_key }
            }
        };
        keys.accounts.push(NotifyAccount { acquirer_id: account.id, verify });
    }
    Ok(keys)
}
