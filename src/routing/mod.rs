//! The spine: which acquirer takes a payment. An *account* is one acquirer contract (an `acquirers` row: ALIPAY,
//! WECHATPAY, PARTNER1…); a *route* says, per store, which account takes which wallet's payment codes, with the
//! merchant id onboarding returned. [`Router::route`] is the only way checkout, refunds, recovery, the sync worker,
//! notifications and bills get a channel.
//!
//! Sandbox and live are two *profiles* of the same accounts: a [`ChannelFactory`] builds each account's client for
//! one profile (the composition root supplies the sandbox's or the live keys'), and the routes stay the same.

use std::collections::HashMap;
use std::sync::Arc;

use crate::channel::Channel;
use crate::channel::auth_code::{CodeOwner, NotAPaymentCode, route_auth_code};
use crate::model::{Acquirer, AcquirerId, ChannelMode, Order, StoreId, Wallet};
use crate::store::{Store, StoreError};

/// Builds the client of one account in one profile.
pub trait ChannelFactory {
    /// The profile this factory builds for.
    fn profile(&self) -> ChannelMode;
    /// The client of `account`, or why this profile has none (settings or keys missing or unusable).
    fn channel(&self, account: &Acquirer, onboarding_code: Option<&str>) -> Result<Arc<dyn Channel>, NoChannel>;
    /// The merchant backend every channel of this profile goes through, when the till is enrolled with one (the
    /// sync worker then pulls the store's orders from it and leaves the bills to it).
    fn backend(&self) -> Option<Arc<crate::channel::backend::BackendClient>> {
        None
    }
}

/// Why a [`ChannelFactory`] has no client for an account in its profile. The router keeps it, and a payment routed
/// to the account reports it inside [`RouteError::Unavailable`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoChannel {
    /// The account is not one this profile has (an acquirer the sandbox does not play).
    #[error("this profile has no such acquirer")]
    NotInProfile,
    /// A setting or a key is not configured yet; `what` names it ("the WeChat Pay API key").
    #[error("{what} is not configured yet")]
    Missing { what: &'static str },
    /// The settings or keys are there but cannot be used (a bad key, a locked or damaged vault, an HTTP client that
    /// cannot be built); `detail` is the technical reason, for the log and the command line.
    #[error("{detail}")]
    Unusable { detail: String },
}

/// Why no channel could be had. The UI phrases these in the current language from the values.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error(
        "{store_code} takes no {wallet_en} codes: onboard it with an acquirer for {wallet_en} (收单机构)",
        wallet_en = .wallet.label(crate::i18n::Lang::En)
    )]
    NoRoute { store_code: String, wallet: Wallet },
    #[error("{acquirer} is not set up for {profile} mode: {reason}")]
    Unavailable { acquirer: String, profile: ChannelMode, reason: NoChannel },
    #[error("the route of {store_code} names acquirer #{acquirer}, which does not exist")]
    UnknownAcquirer { store_code: String, acquirer: AcquirerId },
    #[error("there is no acquirer #{0} on this till")]
    UnknownAccount(AcquirerId),
    #[error("there is no store #{0}")]
    UnknownStore(StoreId),
    #[error(transparent)]
    NotAPaymentCode(#[from] NotAPaymentCode),
    #[error("the local database failed: {0}")]
    Store(#[from] StoreError),
}

/// A channel chosen for a payment: the account's client acting for the store's merchant id.
#[derive(Clone)]
pub struct Routed {
    pub channel: Arc<dyn Channel>,
    pub acquirer: Acquirer,
    pub wallet: Wallet,
    /// The store's merchant id at the acquirer (None: a direct contract).
    pub merchant_id: Option<String>,
}

impl std::fmt::Debug for Routed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routed")
            .field("acquirer", &self.acquirer.name)
            .field("wallet", &self.wallet)
            .field("merchant_id", &self.merchant_id)
            .finish_non_exhaustive()
    }
}

/// One account's client in the router's profile, or why it has none.
struct AccountChannel {
    account: Acquirer,
    onboarding_code: Option<String>,
    channel: Result<Arc<dyn Channel>, NoChannel>,
}

/// Every account's client for one profile. Routes are read from the database at each call, so a route the owner
/// changes applies to the next payment without rebuilding anything. Cheap to clone.
#[derive(Clone)]
pub struct Router {
    profile: ChannelMode,
    accounts: Arc<HashMap<AcquirerId, AccountChannel>>,
    backend: Option<Arc<crate::channel::backend::BackendClient>>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").field("profile", &self.profile).field("accounts", &self.accounts.len()).finish()
    }
}

/// The wallet whose payment code this is (the code's documented format).
pub fn wallet_of(auth_code: &str) -> Result<Wallet, NotAPaymentCode> {
    Ok(match route_auth_code(auth_code)? {
        CodeOwner::Alipay => Wallet::Alipay,
        CodeOwner::Wechat => Wallet::WechatPay,
    })
}

impl Router {
    /// Builds every account's client with `factory`. An account that cannot be built (missing keys) is kept with
    /// its reason, which a payment routed to it reports.
    pub fn new(store: &Store, factory: &dyn ChannelFactory) -> Result<Router, StoreError> {
        let codes: HashMap<AcquirerId, String> =
            store.setup().onboarding_acquirers()?.into_iter().map(|a| (a.acquirer.id, a.onboarding_code)).collect();
        let accounts = store
            .setup()
            .acquirers()?
            .into_iter()
            .map(|account| {
                let onboarding_code = codes.get(&account.id).cloned();
                let channel = factory.channel(&account, onboarding_code.as_deref());
                (account.id, AccountChannel { account, onboarding_code, channel })
            })
            .collect();
        Ok(Router { profile: factory.profile(), accounts: Arc::new(accounts), backend: factory.backend() })
    }

    /// A router over ready-made clients (tests, tools).
    pub fn from_channels(profile: ChannelMode, channels: Vec<(Acquirer, Arc<dyn Channel>)>) -> Router {
        let accounts = channels
            .into_iter()
            .map(|(account, channel)| {
                (account.id, AccountChannel { account, onboarding_code: None, channel: Ok(channel) })
            })
            .collect();
        Router { profile, accounts: Arc::new(accounts), backend: None }
    }

    pub fn profile(&self) -> ChannelMode {
        self.profile
    }

    /// The merchant backend this till's channels go through (None: the acquirers themselves).
    pub fn backend(&self) -> Option<Arc<crate::channel::backend::BackendClient>> {
        self.backend.clone()
    }

    /// The account's name for messages: its onboarding id (ALIPAY, PARTNER1…) or its name.
    fn account_name(a: &AccountChannel) -> String {
        a.onboarding_code.clone().unwrap_or_else(|| a.account.name.clone())
    }

    /// The client of an account itself (bills, connection tests), or why it has none.
    pub fn account(&self, id: AcquirerId) -> Result<(Acquirer, Arc<dyn Channel>), RouteError> {
        let a = self.accounts.get(&id).ok_or(RouteError::UnknownAccount(id))?;
        match &a.channel {
            Ok(c) => Ok((a.account.clone(), c.clone())),
            Err(reason) => Err(RouteError::Unavailable {
                acquirer: Self::account_name(a),
                profile: self.profile,
                reason: reason.clone(),
            }),
        }
    }

    /// Every account that has a client in this profile, in id order (bill downloads, probes).
    pub fn accounts(&self) -> Vec<(Acquirer, Arc<dyn Channel>)> {
        let mut out: Vec<(Acquirer, Arc<dyn Channel>)> = self
            .accounts
            .values()
            .filter_map(|a| a.channel.as_ref().ok().map(|c| (a.account.clone(), c.clone())))
            .collect();
        out.sort_by_key(|(a, _)| a.id);
        out
    }

    /// The account's client acting for `merchant_id` (when the route names one).
    fn scoped(
        &self,
        account: AcquirerId,
        merchant_id: Option<&str>,
    ) -> Result<(Acquirer, Arc<dyn Channel>), RouteError> {
        let (acquirer, channel) = self.account(account)?;
        let channel = match merchant_id.filter(|m| !m.trim().is_empty()) {
            Some(m) => channel.for_merchant(m).unwrap_or(channel),
            None => channel,
        };
        Ok((acquirer, channel))
    }

    /// The channel that takes `wallet`'s codes at `store_id`: refused, with what to do, when the store has no route
    /// for that wallet or its acquirer is not set up in this profile.
    pub fn route(&self, store: &Store, store_id: StoreId, wallet: Wallet) -> Result<Routed, RouteError> {
        let Some(route) = store.setup().route(store_id, wallet)? else {
            let store_code = store.setup().store(store_id)?.ok_or(RouteError::UnknownStore(store_id))?.store_code;
            return Err(RouteError::NoRoute { store_code, wallet });
        };
        if !self.accounts.contains_key(&route.acquirer_id) {
            let store_code = store.setup().store(store_id)?.map(|s| s.store_code).unwrap_or_default();
            return Err(RouteError::UnknownAcquirer { store_code, acquirer: route.acquirer_id });
        }
        let (acquirer, channel) = self.scoped(route.acquirer_id, route.merchant_id.as_deref())?;
        Ok(Routed { channel, acquirer, wallet, merchant_id: route.merchant_id })
    }

    /// The channel an order was taken through: the order's acquirer, acting for the merchant id recorded on it
    /// (refunds, queries, cancels and recovery go back to the acquirer that took the payment, whatever the routes
    /// say today).
    pub fn for_order(&self, order: &Order) -> Result<Arc<dyn Channel>, RouteError> {
        self.scoped(order.acquirer_id, order.acquirer_merchant_id.as_deref()).map(|(_, c)| c)
    }
}

pub mod backend;
pub mod history;

#[cfg(test)]
mod tests;
