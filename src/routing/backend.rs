//! A till enrolled with a merchant backend (`tilldesk backend join`): every account's channel is a
//! [`BackendChannel`], and the till's routes, acquirers and store mirror the backend's, so its checkout engine routes
//! exactly as it always does and the backend takes the payment under the till's own out_trade_no.
//!
//! What the till keeps: the backend's URL, its till id and name and the access mode in the settings; its token in
//! the vault ([`SECRET_TOKEN`]), never in the settings or the log. May import channel, store, config and secrets.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::{ChannelFactory, Router};
use crate::channel::Channel;
use crate::channel::backend::api::{AcquirerRef, EnrolResponse, TillConfig};
use crate::channel::backend::{BackendChannel, BackendClient, BackendError};
use crate::config::{AccessMode, SETTING_ACCESS, SETTING_BACKEND_URL, SETTING_MODE};
use crate::model::{Acquirer, AcquirerId, ChannelMode, OperatorId, Route, RouteSource, StoreId, Wallet};
use crate::secrets::{SecretError, Vault};
use crate::store::{Store, StoreError};

/// The till's token in the vault.
pub const SECRET_TOKEN: &str = "backend.till_token";
/// The till's id and name at the backend (plain settings).
pub const SETTING_TILL_ID: &str = "backend.till_id";
pub const SETTING_TILL_NAME: &str = "backend.till_name";
/// The change number the order pull has reached (bookkeeping).
pub const SETTING_FEED_SINCE: &str = "backend.orders_since";
/// What the pull's cursor covers: `store` (the till's store) or `all` (every store, for an owner).
pub const SETTING_FEED_SCOPE: &str = "backend.orders_scope";

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("this till is enrolled with the merchant backend {url}, but its token is not in the key vault: join again")]
    NoToken { url: String },
    #[error("this till is not enrolled with a merchant backend (`tilldesk backend join URL --code CODE`)")]
    NotJoined,
    /// Money still in flight through the till's present access: joining would route its recovery, cancels and
    /// refund follow-ups to a backend that never saw them.
    #[error(
        "this till has {orders} payment(s), {refunds} refund(s) and {outbox} queued step(s) not finished through its \
         present access: let them finish first (`tilldesk recover`, `tilldesk sync --once`), then join"
    )]
    Unfinished { orders: usize, refunds: usize, outbox: i64 },
}

/// Refuses to join while money is in flight through the till's present access (see [`LinkError::Unfinished`]); an
/// order that waits for a person because its figures did not match is not in flight.
pub fn check_nothing_in_flight(store: &Store) -> Result<(), LinkError> {
    let orders = store.orders().unfinished_orders()?.len();
    let refunds = store.refunds().pending_refunds()?.len();
    let outbox = store.sync().outbox_len()?;
    if orders + refunds > 0 || outbox > 0 {
        return Err(LinkError::Unfinished { orders, refunds, outbox });
    }
    Ok(())
}

/// Where this till stands with its backend (no secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Link {
    pub url: String,
    pub till_id: i64,
    pub till_name: String,
}

/// The backend this till is enrolled with, when it is in merchant-backend mode and joined (a merchant-backend
/// URL set by hand without joining is the older forwarding setup: the live clients call that URL instead).
pub fn link(store: &Store) -> Result<Option<Link>, StoreError> {
    if crate::config::access_mode(store)? != AccessMode::MerchantBackend {
        return Ok(None);
    }
    let Some(till_id) = store.setting(SETTING_TILL_ID)?.and_then(|t| t.trim().parse::<i64>().ok()) else {
        return Ok(None);
    };
    let url = store.setting(SETTING_BACKEND_URL)?.unwrap_or_default();
    if url.trim().is_empty() {
        return Ok(None);
    }
    let till_name = store.setting(SETTING_TILL_NAME)?.unwrap_or_default();
    Ok(Some(Link { url: url.trim().to_owned(), till_id, till_name }))
}

/// The client of the backend this till is enrolled with (its token from `vault`), or None when not enrolled.
pub fn client(store: &Store, vault: &Vault) -> Result<Option<BackendClient>, LinkError> {
    client_with_token(store, vault.secret(SECRET_TOKEN))
}

/// [`client`], given the till's token as read from the vault (the window reads it there, in memory, and sends the
/// database part through its command queue).
pub fn client_with_token(
    store: &Store,
    token: Option<crate::secrets::Secret>,
) -> Result<Option<BackendClient>, LinkError> {
    let Some(link) = link(store)? else { return Ok(None) };
    let token = token.filter(|t| !t.is_empty()).ok_or(LinkError::NoToken { url: link.url.clone() })?;
    let client = BackendClient::new(&link.url, token)?;
    Ok(Some(with_session(store, client)?))
}

/// The client of a till that must be enrolled (staff calls): refused as [`LinkError::NotJoined`] when it is not.
pub fn joined_client(store: &Store, token: Option<crate::secrets::Secret>) -> Result<BackendClient, StaffError> {
    client_with_token(store, token)?.ok_or_else(|| LinkError::NotJoined.into())
}

/// `client` speaking for the operator signed in at this till (their session from the last sign-in), if any.
pub fn with_session(store: &Store, client: BackendClient) -> Result<BackendClient, StoreError> {
    Ok(match store.setting(SETTING_SESSION)?.filter(|s| !s.trim().is_empty()) {
        Some(session) => client.with_session(crate::secrets::Secret::from(session)),
        None => client,
    })
}

/// Every account's channel through the merchant backend.
pub struct BackendChannels {
    pub client: Arc<BackendClient>,
    pub profile: ChannelMode,
}

impl ChannelFactory for BackendChannels {
    fn profile(&self) -> ChannelMode {
        self.profile
    }

    fn channel(
        &self,
        account: &Acquirer,
        _onboarding_code: Option<&str>,
    ) -> Result<Arc<dyn Channel>, crate::routing::NoChannel> {
        Ok(Arc::new(BackendChannel::new(self.client.clone(), account.kind)))
    }

    fn backend(&self) -> Option<Arc<BackendClient>> {
        Some(self.client.clone())
    }
}

/// The router of a till enrolled with a backend (None when it is not).
pub fn router(store: &Store, vault: &Vault) -> Result<Option<Router>, LinkError> {
    let Some(client) = client(store, vault)? else { return Ok(None) };
    let factory = BackendChannels { client: Arc::new(client), profile: crate::config::channel_mode(store)? };
    Ok(Some(Router::new(store, &factory)?))
}

/// What joining did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub link: Link,
    pub store_code: String,
    pub mode: ChannelMode,
}

/// Enrols this till (database at `db`) with the backend at `url` using a one-time `code`: the token goes to the
/// vault first (so it is never lost once issued), then the till mirrors its store, acquirers and routes and switches
/// to merchant-backend mode, audited for `operator`.
pub async fn join(
    db: &Path,
    vault: &mut Vault,
    url: &str,
    code: &str,
    operator: Option<OperatorId>,
) -> Result<Joined, LinkError> {
    let url = crate::channel::backend::client::parse_url(url)?.to_string().trim_end_matches('/').to_owned();
    // Before the one-time code is spent.
    check_nothing_in_flight(&Store::open(db)?)?;
    let enrolled: EnrolResponse = BackendClient::enrol(&url, code).await?;
    vault.put(SECRET_TOKEN, &enrolled.token)?;
    let mut store = Store::open(db)?;
    store.sync_mut().set_secret_ref(
        SECRET_TOKEN,
        crate::secrets::Backend::detect().as_str(),
        SECRET_TOKEN,
        &crate::secrets::fingerprint(enrolled.token.as_bytes()),
    )?;
    store.set_setting(SETTING_BACKEND_URL, &url, operator)?;
    store.set_setting(SETTING_TILL_ID, &enrolled.till_id.to_string(), operator)?;
    store.set_setting(SETTING_TILL_NAME, &enrolled.till.till_name, operator)?;
    store.set_bookkeeping(SETTING_FEED_SINCE, "0")?;
    super::history::mark(&mut store)?;
    mirror(&mut store, &enrolled.till, operator)?;
    store.set_setting(SETTING_ACCESS, AccessMode::MerchantBackend.as_str(), operator)?;
    let link = Link { url, till_id: enrolled.till_id, till_name: enrolled.till.till_name.clone() };
    Ok(Joined { link, store_code: enrolled.till.store.store_code.clone(), mode: enrolled.till.mode })
}

/// Leaves the backend: the token is wiped from the vault and the till goes back to store-direct access (its orders
/// stay).
pub fn leave(store: &mut Store, vault: &mut Vault, operator: Option<OperatorId>) -> Result<(), LinkError> {
    vault.put(SECRET_TOKEN, "")?;
    store.set_setting(SETTING_TILL_ID, "", operator)?;
    store.set_setting(SETTING_ACCESS, AccessMode::StoreDirect.as_str(), operator)?;
    Ok(())
}

/// The till's copy of its backend's setup: its store, the acquirer accounts (ids mapped to local ones) and the
/// store's routes, and the backend's profile. Writes only what differs (each write is audited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrored {
    pub store_id: StoreId,
    /// Backend acquirer id → this till's acquirer id.
    pub acquirers: HashMap<i64, AcquirerId>,
}

/// Mirrors `cfg` into the till's database (see [`Mirrored`]).
pub fn mirror(store: &mut Store, cfg: &TillConfig, operator: Option<OperatorId>) -> Result<Mirrored, StoreError> {
    // A fresh till's database makes its demo store (S001) on first use: made first, so it can be the one.
    let merchant = store.setup_mut().merchant()?;
    let store_id = match store.setup().store_by_code(&cfg.store.store_code)? {
        Some(s) => s.id,
        None => {
            let new = crate::model::Store {
                id: StoreId(0),
                merchant_id: merchant.id,
                store_code: cfg.store.store_code.clone(),
                name: cfg.store.name.clone(),
                name_zh: cfg.store.name_zh.clone(),
                address: String::new(),
                contact: String::new(),
            };
            store.setup_mut().add_store(&new, operator)?
        }
    };
    // The other stores the till has rows of (made when an owner's pull first saw them): named as the backend names
    // them. No row is made here: a till lists another store only once it holds an order of it.
    for other in cfg.stores.iter().filter(|s| s.store_code != cfg.store.store_code) {
        if let Some(mut local) = store.setup().store_by_code(&other.store_code)?
            && (local.name != other.name || local.name_zh != other.name_zh)
        {
            local.name = other.name.clone();
            local.name_zh = other.name_zh.clone();
            store.setup_mut().update_store(&local, operator)?;
        }
    }
    let mut acquirers = HashMap::new();
    for a in &cfg.acquirers {
        acquirers.insert(a.id, local_acquirer(store, a, cfg.mode)?);
    }
    for wallet in Wallet::ALL.iter().copied() {
        let wanted = cfg.routes.iter().find(|r| r.wallet == wallet).and_then(|r| {
            acquirers.get(&r.acquirer_id).map(|&acquirer_id| Route {
                store_id,
                wallet,
                acquirer_id,
                merchant_id: r.merchant_id.clone(),
                source: RouteSource::Chosen,
            })
        });
        let current = store.setup().route(store_id, wallet)?;
        match (wanted, current) {
            (Some(w), Some(c)) if w.acquirer_id == c.acquirer_id && w.merchant_id == c.merchant_id => {}
            (Some(w), _) => store.setup_mut().set_route(&w, operator)?,
            (None, Some(_)) => {
                store.setup_mut().remove_route(store_id, wallet, operator)?;
            }
            (None, None) => {}
        }
    }
    let till = crate::config::this_till(store)?;
    if till.store_id != store_id {
        let terminal = till.terminal_id.unwrap_or_default();
        crate::config::set_this_till(store, &cfg.store.store_code, &terminal, operator).map_err(|e| match e {
            crate::config::ConfigError::Store(s) => s,
            other => StoreError::NotFound { what: "store", key: other.to_string() },
        })?;
    }
    store.set_setting(SETTING_MODE, cfg.mode.as_str(), operator)?;
    Ok(Mirrored { store_id, acquirers })
}

/// The till's acquirer row for one of the backend's accounts: by onboarding id, else by kind and name, else a new
/// row.
pub fn local_acquirer(store: &mut Store, a: &AcquirerRef, mode: ChannelMode) -> Result<AcquirerId, StoreError> {
    if let Some(code) = a.code.as_deref().filter(|c| !c.trim().is_empty()) {
        return store.setup_mut().ensure_onboarding_acquirer(a.kind, &a.name, code, mode);
    }
    if let Some(found) = store.setup().acquirers()?.into_iter().find(|x| x.kind == a.kind && x.name == a.name) {
        return Ok(found.id);
    }
    store.setup_mut().add_acquirer(a.kind, &a.name, mode, "", None)
}

/// The operator session the backend handed at the last sign-in (bookkeeping): the lists of the till API are scoped
/// by it. It is kept in the till's database, not the vault, so the window's background sign-in and the sync worker
/// share it without the vault: alone it opens nothing (the backend takes it only together with the till's token,
/// which the vault keeps), and it expires after 16 hours.
pub const SETTING_SESSION: &str = "backend.operator_session";
/// The role of the operator signed in at the backend (plain bookkeeping: the sync pulls all stores for an owner).
pub const SETTING_SESSION_ROLE: &str = "backend.operator_role";

/// Why signing in or adding an operator through the merchant backend did not work: kinds the UI phrases.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// The backend did not answer: sign-in waits for it (staff live there).
    #[error("the merchant backend cannot be reached, so nobody can sign in: {0}")]
    Unreachable(String),
    /// A wrong name or PIN, a lockout, a role that may not, or a bad new PIN: as at a till.
    #[error(transparent)]
    Auth(#[from] crate::store::operators::AuthError),
    #[error("there is already an operator called {0:?}")]
    Taken(String),
    /// An unknown operator, or the last owner (deactivating, changing a PIN).
    #[error(transparent)]
    Active(crate::store::operators::SetActiveError),
    /// Any other refusal of the backend (its kind).
    #[error("the merchant backend refused: {0}")]
    Refused(crate::channel::backend::api::ApiError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StaffError {
    fn from_backend(e: BackendError, name: &str, role: Option<crate::model::Role>) -> StaffError {
        use crate::channel::backend::api::ApiError as A;
        use crate::store::operators::{AuthError, Permission, role_words, roles_allowed_words};
        match e {
            BackendError::Api(A::NameOrPin) => AuthError::NameOrPin.into(),
            BackendError::Api(A::LockedOut { seconds }) => {
                AuthError::LockedOut { name: name.to_owned(), seconds }.into()
            }
            BackendError::Api(A::NotAllowed { role: r, .. }) => AuthError::NotAllowed {
                name: name.to_owned(),
                role: role_words(r),
                action: Permission::ManageStaff.words(),
                who: roles_allowed_words(Permission::ManageStaff),
            }
            .into(),
            BackendError::Api(A::PinFormat { min }) => {
                AuthError::PinFormat { role: role.map_or("operator", role_words), min }.into()
            }
            BackendError::Api(A::OperatorTaken { name }) => StaffError::Taken(name),
            BackendError::Api(A::NoSuchOperator { name }) => {
                StaffError::Active(crate::store::operators::SetActiveError::Unknown(name))
            }
            BackendError::Api(A::LastOwner { name }) => {
                StaffError::Active(crate::store::operators::SetActiveError::LastOwner(name))
            }
            BackendError::Api(A::BadRequest { field, .. }) if field == "name" => AuthError::NameFormat.into(),
            BackendError::Api(api) => StaffError::Refused(api),
            other @ (BackendError::Transport(_)
            | BackendError::BadResponse { .. }
            | BackendError::TrustedRoot { .. }) => StaffError::Unreachable(other.to_string()),
            other @ BackendError::BadUrl { .. } => StaffError::Link(other.into()),
        }
    }
}

fn mirrored(list: &[crate::channel::backend::api::OperatorRef]) -> Vec<crate::store::serve::MirroredOperator> {
    list.iter().map(|o| crate::store::serve::MirroredOperator { name: o.name.clone(), role: o.role }).collect()
}

fn local_operator(store: &Store, name: &str) -> Result<crate::model::Operator, StaffError> {
    store
        .staff()
        .operator_by_name(name)?
        .ok_or_else(|| StoreError::NotFound { what: "operator", key: name.to_owned() }.into())
}

/// Signs `name` in at the merchant backend this till is enrolled with: the PIN is checked there, the operator
/// session is kept ([`SETTING_SESSION`]), and the till's operator list becomes the backend's (names and roles, no PIN hashes).
/// Returns the till's row of the operator (its local id, for shifts and the audit). While the backend cannot be
/// reached, [`StaffError::Unreachable`].
pub async fn sign_in(
    store: &mut Store,
    vault: &Vault,
    name: &str,
    pin: &str,
) -> Result<crate::model::Operator, StaffError> {
    let client = client(store, vault)?.ok_or(LinkError::NotJoined)?;
    Ok(sign_in_with(store, &client, name, pin).await?.0)
}

/// [`sign_in`] with the backend's client given (the window builds it from its unlocked vault): the operator and
/// their operator session (kept, too).
pub async fn sign_in_with(
    store: &mut Store,
    client: &BackendClient,
    name: &str,
    pin: &str,
) -> Result<(crate::model::Operator, crate::secrets::Secret), StaffError> {
    let req = crate::channel::backend::api::SignInRequest { name: name.trim().to_owned(), pin: pin.to_owned() };
    let signed = client.sign_in(&req).await.map_err(|e| StaffError::from_backend(e, name.trim(), None))?;
    store.backend_mut().mirror_backend_operators(&mirrored(&signed.operators))?;
    store.set_bookkeeping(SETTING_SESSION, &signed.session)?;
    store.set_bookkeeping(SETTING_SESSION_ROLE, signed.operator.role.as_str())?;
    Ok((local_operator(store, &signed.operator.name)?, crate::secrets::Secret::from(signed.session)))
}

/// Checks `name`'s PIN at the merchant backend without signing them in (whoever is signed in at the till stays so;
/// a refund asks the PIN again): the till's row of the operator, its operator list made the backend's first. While
/// the backend cannot be reached, [`StaffError::Unreachable`].
pub async fn verify_with(
    store: &mut Store,
    client: &BackendClient,
    name: &str,
    pin: &str,
) -> Result<crate::model::Operator, StaffError> {
    let req = crate::channel::backend::api::SignInRequest { name: name.trim().to_owned(), pin: pin.to_owned() };
    let checked = client.verify_operator(&req).await.map_err(|e| StaffError::from_backend(e, name.trim(), None))?;
    store.backend_mut().mirror_backend_operators(&mirrored(&checked.operators))?;
    local_operator(store, &checked.operator.name)
}

/// Signs the operator out: the till forgets their session at once (the next calls and syncs speak for nobody), then
/// the backend ends it (`client`: the till's, built while the session was still known — [`client_with_token`]), so
/// it opens nothing even where it was copied. While the backend cannot be reached, [`StaffError::Unreachable`]: the
/// till has forgotten it already and the backend lets it expire (16 hours).
pub async fn sign_out(store: &mut Store, client: Option<&BackendClient>) -> Result<(), StaffError> {
    store.set_bookkeeping(SETTING_SESSION, "")?;
    store.set_bookkeeping(SETTING_SESSION_ROLE, "")?;
    if let Some(client) = client {
        client.sign_out().await.map_err(|e| StaffError::from_backend(e, "", None))?;
    }
    Ok(())
}

/// Adds an operator at the merchant backend (`client`: the till's, [`client`]), `by` (name, PIN) checked there
/// (None: the first owner of a backend without one), and mirrors the backend's list. Returns the till's row of the
/// new operator.
pub async fn add_operator(
    store: &mut Store,
    client: &BackendClient,
    by: Option<(&str, &str)>,
    name: &str,
    role: crate::model::Role,
    pin: &str,
) -> Result<crate::model::Operator, StaffError> {
    use crate::channel::backend::api::{AddOperatorRequest, SignInRequest};
    let req = AddOperatorRequest {
        by: by.map(|(n, p)| SignInRequest { name: n.trim().to_owned(), pin: p.to_owned() }),
        name: name.trim().to_owned(),
        role,
        pin: pin.to_owned(),
    };
    let who = by.map_or(name, |(n, _)| n).trim().to_owned();
    let answer = client.add_operator(&req).await.map_err(|e| StaffError::from_backend(e, &who, Some(role)))?;
    store.backend_mut().mirror_backend_operators(&mirrored(&answer.operators))?;
    local_operator(store, name.trim())
}

/// Gives `name` a new PIN at the merchant backend: `by` (name, PIN) is `name` themselves with their current PIN, or
/// an owner with theirs (a forgotten PIN). The till keeps no PIN: nothing changes here but the operator list.
pub async fn change_pin(
    store: &mut Store,
    client: &BackendClient,
    by: (&str, &str),
    name: &str,
    new_pin: &str,
) -> Result<crate::model::Operator, StaffError> {
    use crate::channel::backend::api::{ChangePinRequest, SignInRequest};
    let req = ChangePinRequest {
        by: SignInRequest { name: by.0.trim().to_owned(), pin: by.1.to_owned() },
        name: name.trim().to_owned(),
        new_pin: new_pin.to_owned(),
    };
    let role = store.staff().operator_by_name(name)?.map(|o| o.role);
    let answer = client.change_pin(&req).await.map_err(|e| StaffError::from_backend(e, by.0.trim(), role))?;
    store.backend_mut().mirror_backend_operators(&mirrored(&answer.operators))?;
    local_operator(store, name.trim())
}

/// Deactivates (`active` false) or reactivates `name` at the merchant backend, `by` (an owner's name and PIN)
/// checked there; their sessions end at every till. The till's list becomes the backend's.
pub async fn set_operator_active(
    store: &mut Store,
    client: &BackendClient,
    by: (&str, &str),
    name: &str,
    active: bool,
) -> Result<crate::model::Operator, StaffError> {
    use crate::channel::backend::api::{SetActiveRequest, SignInRequest};
    let req = SetActiveRequest {
        by: SignInRequest { name: by.0.trim().to_owned(), pin: by.1.to_owned() },
        name: name.trim().to_owned(),
        active,
    };
    let answer = client.set_operator_active(&req).await.map_err(|e| StaffError::from_backend(e, by.0.trim(), None))?;
    // The list holds the owner who asked, so it is never empty: operators it does not name become inactive here.
    store.backend_mut().mirror_backend_operators(&mirrored(&answer.operators))?;
    local_operator(store, name.trim())
}

/// Refreshes the till's operator list from the backend (the sync does it on every pass).
pub async fn refresh_operators(client: &BackendClient, store: &mut Store) -> Result<usize, StaffError> {
    let answer = client.operators().await.map_err(|e| StaffError::from_backend(e, "", None))?;
    store.backend_mut().mirror_backend_operators(&mirrored(&answer.operators))?;
    Ok(answer.operators.len())
}

impl From<crate::store::operators::VerifyError> for StaffError {
    fn from(e: crate::store::operators::VerifyError) -> Self {
        match e {
            crate::store::operators::VerifyError::Auth(a) => StaffError::Auth(a),
            crate::store::operators::VerifyError::Store(s) => StaffError::Store(s),
        }
    }
}

impl From<crate::store::operators::SetActiveError> for StaffError {
    fn from(e: crate::store::operators::SetActiveError) -> Self {
        match e {
            crate::store::operators::SetActiveError::Store(s) => StaffError::Store(s),
            refused => StaffError::Active(refused),
        }
    }
}

impl From<crate::store::operators::AddOperatorError> for StaffError {
    fn from(e: crate::store::operators::AddOperatorError) -> Self {
        use crate::store::operators::AddOperatorError as E;
        match e {
            E::Auth(a) => StaffError::Auth(a),
            E::Taken(name) => StaffError::Taken(name),
            E::Store(s) => StaffError::Store(s),
        }
    }
}

/// Runs one staff call to the backend to its end on the calling thread (a background thread of the window, or the
/// command line outside its runtime).
pub fn block_on<T>(work: impl std::future::Future<Output = Result<T, StaffError>>) -> Result<T, StaffError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StaffError::Unreachable(format!("cannot start the network runtime: {e}")))?;
    rt.block_on(work)
}
