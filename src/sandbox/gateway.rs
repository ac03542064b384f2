//! Which gateway a request came through, and the sub-merchant rule every gateway shares.
//!
//! The shared gateways (`/gateway.do`, `/pay/micropay`, …) take the `merchants[]` accounts and act as ALIPAY and
//! WECHATPAY, as they always have. An acquirer's own gateway (`/acquirers/{acquirer_id}/…`) takes that acquirer's
//! account only, signs with that acquirer's keys, and sees only the trades that acquirer took.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use super::SandboxState;
use super::accounts::{LEGACY_ALIPAY_ACQUIRER, LEGACY_WECHAT_ACQUIRER, SandboxAcquirer};
use super::ledger::{LedgerError, Protocol};

#[derive(Debug, Clone)]
pub(crate) enum Gateway {
    /// The unprefixed paths: every `merchants[]` account, acting as ALIPAY / WECHATPAY.
    Shared,
    /// `/acquirers/{acquirer_id}/…`: that acquirer's account only.
    Acquirer(Box<SandboxAcquirer>),
}

impl Gateway {
    /// The gateway of `acquirer_id` for a protocol's paths: 404 for an unknown acquirer, one that speaks another
    /// protocol, or one without an account.
    pub(crate) fn of(state: &SandboxState, acquirer_id: &str, protocol: Protocol) -> Result<Gateway, Response> {
        // Looked up under the lock: cloning every account (keys included) for each request cost more than the rest.
        let found = state.with_accounts(|accounts| accounts.acquirer(acquirer_id).cloned());
        match found.as_ref() {
            Some(a) if a.protocol == protocol.as_str() && a.account_id().is_some() => {
                Ok(Gateway::Acquirer(Box::new(a.clone())))
            }
            Some(a) => Err((
                StatusCode::NOT_FOUND,
                format!("acquirer {acquirer_id} speaks the {} protocol: this path is not on its gateway", a.protocol),
            )
                .into_response()),
            None => Err((StatusCode::NOT_FOUND, format!("no sandbox acquirer {acquirer_id:?}")).into_response()),
        }
    }

    /// The acquirer trades taken here are recorded at.
    pub(crate) fn acquirer_id(&self, protocol: Protocol) -> String {
        match (self, protocol) {
            (Gateway::Acquirer(a), _) => a.acquirer_id.clone(),
            (Gateway::Shared, Protocol::Alipay) => LEGACY_ALIPAY_ACQUIRER.into(),
            (Gateway::Shared, Protocol::Wechatpay) => LEGACY_WECHAT_ACQUIRER.into(),
        }
    }

    /// Whether only this acquirer's trades are visible (an acquirer's own gateway).
    pub(crate) fn strict(&self) -> bool {
        matches!(self, Gateway::Acquirer(_))
    }

    /// The path prefix of this gateway's URLs: "" or "/acquirers/{acquirer_id}".
    pub(crate) fn prefix(&self) -> String {
        match self {
            Gateway::Shared => String::new(),
            Gateway::Acquirer(a) => format!("/acquirers/{}", a.acquirer_id),
        }
    }

    pub(crate) fn own_acquirer(&self) -> Option<&str> {
        match self {
            Gateway::Shared => None,
            Gateway::Acquirer(a) => Some(&a.acquirer_id),
        }
    }
}

/// Why a sub-merchant named in a request is refused; its words go into the acquirer's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SubMerchantRefused {
    #[error("sub-merchant {merchant_id} is not a merchant of acquirer {acquirer_id}")]
    Unknown { merchant_id: String, acquirer_id: String },
    #[error("sub-merchant {merchant_id} of acquirer {acquirer_id} settles to account {settles_to}, not {account}")]
    OtherAccount { merchant_id: String, acquirer_id: String, settles_to: String, account: String },
    #[error("sub-merchant {merchant_id} of acquirer {acquirer_id} is {status}, not active")]
    NotActive { merchant_id: String, acquirer_id: String, status: String },
}

/// Checks a sub-merchant named in a request: it must be a merchant onboarded at this acquirer, settling to this
/// account, and active. `Ok(Err(refused))` is the refusal.
pub(crate) fn check_sub_merchant(
    state: &SandboxState,
    acquirer_id: &str,
    account: &str,
    merchant_id: &str,
    now: OffsetDateTime,
) -> Result<Result<(), SubMerchantRefused>, LedgerError> {
    let (merchant, acquirer) = (merchant_id.to_owned(), acquirer_id.to_owned());
    let Some(m) = state.ledger.acquirer_merchant(acquirer_id, merchant_id, now)? else {
        return Ok(Err(SubMerchantRefused::Unknown { merchant_id: merchant, acquirer_id: acquirer }));
    };
    if m.account.as_deref() != Some(account) {
        return Ok(Err(SubMerchantRefused::OtherAccount {
            merchant_id: merchant,
            acquirer_id: acquirer,
            settles_to: m.account.unwrap_or_else(|| "(none)".to_owned()),
            account: account.to_owned(),
        }));
    }
    if m.status != "active" {
        return Ok(Err(SubMerchantRefused::NotActive {
            merchant_id: merchant,
            acquirer_id: acquirer,
            status: m.status,
        }));
    }
    Ok(Ok(()))
}
