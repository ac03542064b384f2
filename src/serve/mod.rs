//! The merchant backend (`tilldesk serve`): the same engine as a till — write-ahead orders, the order and refund
//! transition functions, the refund desk, crash recovery and the sync worker (stale orders, the outbox, refunds,
//! bills) — over HTTP for many tills, which hold no acquirer keys. Headless: no egui.
//!
//! - [`Backend`] is the facade the HTTP layer and the command line call: tills and enrolment ([`enrol`]), the
//!   till API's operations ([`gateway`]), the order feed. Its persistence is chosen by the database URL ([`db`]):
//!   a SQLite file (the whole backend in one file, one process) or PostgreSQL (the shared state of several
//!   instances, `store::pg`); the `db_*` methods are the one place the two engines meet.
//! - [`http`] is the axum layer: `/v1/...` with `Authorization: Bearer`, JSON in and out, errors as kinds
//!   (`channel::backend::api::ApiError`); the acquirers' verified notify handlers are mounted on the same address
//!   (`sync::notify` on SQLite, [`notify`] on PostgreSQL).
//! - [`start`] binds, serves, resumes what a crash left unfinished and runs the sync worker (on SQLite), or the
//!   recovery pass that claims expired leases ([`recovery`]) and the bill loop that downloads and reconciles each
//!   account's day once ([`bills`]) on PostgreSQL.
//!
//! May import checkout, refund, sync, routing, channel (the `Channel` trait and the till API's shapes), store,
//! config and secrets; never the sandbox (the command line hands it the router and the notify keys).

pub mod bills;
pub mod catalogue;
pub mod dashboard;
pub mod db;
pub mod dynamic;
pub mod enrol;
pub mod gateway;
pub mod history;
pub mod http;
pub mod live;
pub mod notify;
pub mod office;
pub mod recon;
pub mod recon_resolve;
pub mod recovery;
pub mod shifts;
pub mod staff;
pub mod timing;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::channel::backend::api::{
    AcquirerRef, ApiError, EnrolResponse, FeedOrder, FeedPage, RouteRef, StoreRef, TillConfig,
};
use crate::checkout::{Clock, SystemClock};
use crate::model::{AcquirerId, ChannelMode, StoreId};
use crate::routing::Router;
use crate::secrets::Secret;
use crate::store::pg::{PgError, PgStore};
use crate::store::serve::Redeemed;
pub use crate::store::serve::{Till, TillId};
use crate::store::{Store, StoreError};
use crate::sync::SyncSettings;
use crate::sync::notify::NotifyKeys;
use db::Shared;
pub use db::{Database, DbError};

/// The database file of a backend in its data folder (unless `--database` names another).
pub const DATABASE_FILE: &str = "serve.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("--database {0}: give the path of a SQLite file or a postgres:// URL")]
    DatabaseUrl(String),
    #[error("there is no store {store_code:?}; the stores are: {known}")]
    UnknownStore { store_code: String, known: String },
    #[error("a till needs a name (like \"till 1\")")]
    NoName,
    #[error("there is no till {0:?}; `tilldesk serve tills` lists them")]
    UnknownTill(String),
    #[error("more than one till is named {0:?}: name it by its number")]
    AmbiguousTill(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the backend's engine is not running (no acquirer accounts were given)")]
    NoEngine,
    #[error(
        "this backend keeps its data in SQLite: its sync worker downloads and reconciles the bills while \
         `tilldesk serve` runs (after the bill time, Settings → Sync)"
    )]
    NotOnPostgres,
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// What the money operations need: the acquirer accounts (the backend's router) and the clock.
struct Engine {
    router: Router,
}

/// The backend facade (see the module doc). Cheap to share behind an `Arc`.
pub struct Backend {
    /// The SQLite file: the whole backend on SQLite; the catalogue (stores, accounts, routes) on PostgreSQL, swapped
    /// for a newer published version while serving ([`Backend::replace_catalogue`]).
    db: RwLock<PathBuf>,
    /// The catalogue version served (PostgreSQL, when the catalogue is published there); an enrolment waits on it
    /// for a newer one ([`Backend::catch_up_catalogue`]).
    catalogue_version: tokio::sync::watch::Sender<Option<i64>>,
    data_dir: PathBuf,
    pool: Mutex<Vec<Store>>,
    /// Where tills, orders, refunds, the feed and staff live.
    shared: Shared,
    /// This instance's name in leases (random per process).
    instance: String,
    clock: Arc<dyn Clock>,
    engine: RwLock<Option<Arc<Engine>>>,
    /// What verifies the acquirers' notifications (PostgreSQL; swapped with the catalogue).
    notify_keys: RwLock<Option<Arc<NotifyKeys>>>,
    /// Asks whoever follows the published catalogue to look now (an enrolment for a store it may not know yet).
    catalogue_poke: tokio::sync::Notify,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("db", &self.db_path())
            .field("postgres", &self.pg().is_some())
            .field("instance", &self.instance)
            .field("serving", &read(&self.engine).is_some())
            .finish()
    }
}

/// A lock's value, also after a panic elsewhere poisoned it (what it guards is replaced whole, never half-written).
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Connections kept open for the next request.
const POOL: usize = 8;

/// A till is marked as heard from at most this often (seconds).
const CONTACT_GAP_SECS: i64 = 60;

/// A new enrolment code with the till it enrols.
#[derive(Debug)]
pub struct NewTill {
    pub till: Till,
    /// Shown once; only its hash is kept.
    pub code: Secret,
}

impl Backend {
    /// The backend whose database is `db` (created and migrated when new), for the tills' administration; with
    /// [`Backend::serving`] also for the till API. `data_dir` keeps the bill archive.
    pub fn open(db: &Path, data_dir: &Path) -> Result<Backend, ServeError> {
        let store = Store::open(db)?;
        Ok(Backend {
            db: RwLock::new(db.to_owned()),
            catalogue_version: tokio::sync::watch::Sender::new(None),
            data_dir: data_dir.to_owned(),
            pool: Mutex::new(vec![store]),
            shared: Shared::Sqlite,
            instance: instance_name(),
            clock: Arc::new(SystemClock),
            engine: RwLock::new(None),
            notify_keys: RwLock::new(None),
            catalogue_poke: tokio::sync::Notify::new(),
        })
    }

    /// The backend on PostgreSQL at `url` (migrated at open; `schema`: a schema of its own, for tests), with its
    /// catalogue — stores, acquirer accounts, routes, settings — in the SQLite file `catalogue`.
    pub async fn open_postgres(
        url: &str,
        schema: Option<&str>,
        catalogue: &Path,
        data_dir: &Path,
    ) -> Result<Backend, ServeError> {
        let pg = PgStore::open(url, schema).await?;
        Backend::from_postgres(pg, catalogue, data_dir)
    }

    /// The backend on the PostgreSQL store `pg` (already open), its catalogue in the SQLite file `catalogue`.
    pub fn from_postgres(pg: PgStore, catalogue: &Path, data_dir: &Path) -> Result<Backend, ServeError> {
        let mut backend = Backend::open(catalogue, data_dir)?;
        backend.shared = Shared::Postgres(pg);
        Ok(backend)
    }

    /// The shared PostgreSQL store (None on SQLite).
    pub fn postgres(&self) -> Option<&PgStore> {
        self.pg()
    }

    /// Whether the shared state is on PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.pg().is_some()
    }

    /// This instance's name in the leases it takes.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The schema version and the rows of every table of the shared database, for `tilldesk serve doctor`.
    pub async fn doctor(&self) -> Result<(i64, Vec<(&'static str, i64)>), ServeError> {
        match self.pg() {
            Some(pg) => Ok((i64::from(pg.schema_version().await?), pg.table_counts().await?)),
            None => self.with_store(|s| Ok((i64::from(s.schema_version()?), s.table_counts()?))),
        }
    }

    /// Takes payments and refunds through `router` (the backend's acquirer accounts, live or sandbox).
    pub fn serving(self, router: Router) -> Backend {
        *write(&self.engine) = Some(Arc::new(Engine { router }));
        self
    }

    /// Serves catalogue version `version` from now on: its file `db`, the acquirer accounts `router` built from it
    /// and the notification keys `notify`. Calls under way finish with what they started with.
    pub fn replace_catalogue(&self, db: PathBuf, version: Option<i64>, router: Router, notify: NotifyKeys) {
        *write(&self.db) = db;
        match self.pool.lock() {
            Ok(mut p) => p.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
        *write(&self.engine) = Some(Arc::new(Engine { router }));
        *write(&self.notify_keys) = Some(Arc::new(notify));
        self.catalogue_version.send_replace(version);
        tracing::info!(version, "serving a new catalogue version");
    }

    /// Which published catalogue version this instance serves (None: its folder's own file).
    pub fn catalogue_version(&self) -> Option<i64> {
        *self.catalogue_version.borrow()
    }

    /// Resolves when a call needs the newest published catalogue now (see [`Backend::enrol`]): the follower of the
    /// catalogue waits on this beside its timer.
    pub async fn catalogue_wanted(&self) {
        self.catalogue_poke.notified().await;
    }

    /// On PostgreSQL with a published catalogue: when a newer version than the one served exists, asks the follower
    /// for it and waits (up to 10 s) until it is served — so a till added for a store onboarded a moment ago enrols
    /// at once instead of meeting an instance that does not know its store yet.
    async fn catch_up_catalogue(&self) {
        let (Some(pg), Some(served)) = (self.pg(), self.catalogue_version()) else { return };
        let newest = match pg.catalogue_version().await {
            Ok(Some(newest)) if newest > served => newest,
            _ => return,
        };
        let mut served_now = self.catalogue_version.subscribe();
        self.catalogue_poke.notify_one();
        let caught_up = served_now.wait_for(|v| *v >= Some(newest));
        if !matches!(tokio::time::timeout(std::time::Duration::from_secs(10), caught_up).await, Ok(Ok(_))) {
            tracing::warn!(served, newest, "the newer catalogue is not served yet; enrolling with the one served");
        }
    }

    /// Notes the published catalogue version the backend was opened on.
    pub fn with_catalogue_version(self, version: Option<i64>) -> Backend {
        self.catalogue_version.send_replace(version);
        self
    }

    /// The keys that verify notifications, as last set.
    pub(crate) fn notify_keys(&self) -> Option<Arc<NotifyKeys>> {
        read(&self.notify_keys).clone()
    }

    /// Another clock (tests: codes that expire).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Backend {
        self.clock = clock;
        self
    }

    /// The catalogue file served now (on SQLite the whole backend's database).
    pub fn db_path(&self) -> PathBuf {
        read(&self.db).clone()
    }

    fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// Runs `f` on a pooled connection (blocking work: see [`crate::thread_role::blocking`]).
    fn with_store<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut Store) -> Result<T, E>) -> Result<T, E> {
        crate::thread_role::blocking(|| self.with_store_here(f))
    }

    fn with_store_here<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut Store) -> Result<T, E>) -> Result<T, E> {
        let taken = match self.pool.lock() {
            Ok(mut p) => p.pop(),
            Err(poisoned) => poisoned.into_inner().pop(),
        };
        let mut store = match taken {
            Some(s) => s,
            None => Store::open(&self.db_path())?,
        };
        let result = f(&mut store);
        let mut pool = match self.pool.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        if pool.len() < POOL {
            pool.push(store);
        }
        result
    }

    fn engine(&self) -> Result<Arc<Engine>, ApiError> {
        read(&self.engine).clone().ok_or_else(|| internal(&ServeError::NoEngine))
    }

    /// Adds a till of the store `store_code` and makes its one-time enrolment code (valid [`enrol::CODE_LIFETIME`]).
    pub async fn add_till(&self, store_code: &str, name: &str) -> Result<NewTill, ServeError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ServeError::NoName);
        }
        let code = enrol::new_code();
        let expires = self.now() + enrol::CODE_LIFETIME;
        let shop = self.with_store(|s| {
            if s.setup().stores()?.is_empty() {
                s.setup_mut().default_store()?;
            }
            let Some(shop) = s.setup().store_by_code(store_code.trim())? else {
                let known: Vec<String> = s.setup().stores()?.into_iter().map(|x| x.store_code).collect();
                return Err(ServeError::UnknownStore { store_code: store_code.trim().into(), known: known.join(", ") });
            };
            Ok(shop)
        })?;
        let hash = enrol::code_hash(code.expose());
        let till = self.db_add_till((shop.id, &shop.store_code), name, &hash, expires).await?;
        tracing::info!(till = %till.id, store = till.store_code, "till added; its enrolment code was shown once");
        Ok(NewTill { till, code })
    }

    /// Every till, in the order they were added.
    pub async fn tills(&self) -> Result<Vec<Till>, ServeError> {
        Ok(self.db_tills().await?)
    }

    /// Revokes the till named by its number or its name: its token stops working at once.
    pub async fn revoke(&self, which: &str) -> Result<Till, ServeError> {
        let which = which.trim();
        let tills = self.tills().await?;
        let by_id = which.trim_start_matches(['#', 'T', 't']).parse::<i64>().ok();
        let found: Vec<&Till> = match by_id.and_then(|id| tills.iter().find(|t| t.id.0 == id)) {
            Some(t) => vec![t],
            None => tills.iter().filter(|t| t.name == which).collect(),
        };
        let till = match found.as_slice() {
            [t] => (*t).clone(),
            [] => return Err(ServeError::UnknownTill(which.into())),
            _ => return Err(ServeError::AmbiguousTill(which.into())),
        };
        self.db_revoke_till(till.id).await?;
        tracing::info!(till = %till.id, "till revoked");
        Ok(self.db_till(till.id).await?.unwrap_or(till))
    }

    /// `POST /v1/enrol`: spends a code, issues the till's token (shown once), and says how its store takes payments.
    pub async fn enrol(&self, code: &str) -> Result<EnrolResponse, ApiError> {
        if code.trim().is_empty() {
            return Err(ApiError::BadRequest { field: "code".into(), detail: "empty".into() });
        }
        self.catch_up_catalogue().await;
        let token = enrol::new_token();
        let redeemed = self
            .db_redeem(&enrol::code_hash(code), self.now(), &enrol::token_hash(token.expose()))
            .await
            .map_err(|e| internal(&e))?;
        let till = match redeemed {
            Redeemed::Enrolled(t) => t,
            Redeemed::Unknown => return Err(ApiError::EnrolmentCodeUnknown),
            Redeemed::Used => return Err(ApiError::EnrolmentCodeUsed),
            Redeemed::Expired => return Err(ApiError::EnrolmentCodeExpired),
            Redeemed::Revoked => return Err(ApiError::Revoked),
        };
        tracing::info!(till = %till.id, store = till.store_code, "till enrolled");
        let config = self.till_config(&till).await?;
        Ok(EnrolResponse { till_id: till.id.0, token: token.expose().to_owned(), till: config })
    }

    /// The till a bearer token belongs to: refused when unknown or revoked; its last contact is noted.
    pub async fn authenticate(&self, token: &str) -> Result<Till, ApiError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(ApiError::Unauthorized);
        }
        let hash = enrol::token_hash(token);
        let Some(till) = self.db_till_by_token(&hash).await? else { return Err(ApiError::Unauthorized) };
        if till.is_revoked() {
            return Err(ApiError::Revoked);
        }
        self.db_touch_till(till.id, self.now(), CONTACT_GAP_SECS).await?;
        Ok(till)
    }

    /// `GET /v1/till`: the till, its store, the backend's acquirer accounts and the store's routes.
    pub async fn till_config(&self, till: &Till) -> Result<TillConfig, ApiError> {
        let mode = read(&self.engine).as_ref().map_or(ChannelMode::Sandbox, |e| e.router.profile());
        self.with_store(|s| {
            let shop = s
                .setup()
                .store(till.store_id)?
                .ok_or(StoreError::NotFound { what: "store", key: till.store_code.clone() })?;
            let routes = s
                .setup()
                .routes()?
                .into_iter()
                .filter(|r| r.store_id == till.store_id)
                .map(|r| RouteRef { wallet: r.wallet, acquirer_id: r.acquirer_id.0, merchant_id: r.merchant_id })
                .collect();
            let mut acquirers: Vec<AcquirerRef> = crate::routing::history::acquirer_refs(s)?.into_values().collect();
            acquirers.sort_by_key(|a| a.id);
            let stores = s
                .setup()
                .stores()?
                .into_iter()
                .map(|st| StoreRef { store_code: st.store_code, name: st.name, name_zh: st.name_zh })
                .collect();
            Ok(TillConfig {
                till_id: till.id.0,
                till_name: till.name.clone(),
                store: StoreRef { store_code: shop.store_code, name: shop.name, name_zh: shop.name_zh },
                mode,
                acquirers,
                routes,
                stores,
            })
        })
        .map_err(|e: StoreError| internal(&e))
    }

    /// `GET /v1/orders?since=`: the orders changed after `since`, oldest change first: the till's store's, or every
    /// store's when `all_stores` (an owner is signed in at the till).
    pub async fn orders_since(
        &self,
        till: &Till,
        since: i64,
        limit: Option<u32>,
        all_stores: bool,
    ) -> Result<FeedPage, ApiError> {
        let limit = limit.unwrap_or(200).clamp(1, 500);
        let stores = if all_stores { None } else { Some(till.store_id) };
        let mut entries = self.db_order_feed(stores, since.max(0), limit + 1).await?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let names = self.catalogue_names()?;
        let mut orders = Vec::with_capacity(entries.len());
        for e in entries {
            orders.push(self.feed_order(&names, e.order, e.refunds, e.seq).await?);
        }
        let next = orders.last().map_or(since.max(0), |o| o.seq);
        Ok(FeedPage { orders, next, more })
    }

    /// The catalogue's names of acquirers and stores, to describe orders with.
    pub(super) fn catalogue_names(&self) -> Result<Names, ApiError> {
        self.with_store(|s| {
            let stores = s.setup().stores()?.into_iter().map(|x| (x.id, x.store_code)).collect();
            Ok(Names { acquirers: crate::routing::history::acquirer_refs(s)?, stores })
        })
        .map_err(|e: StoreError| internal(&e))
    }

    /// An order as the till API carries it (`seq` 0 outside the feed).
    async fn feed_order(
        &self,
        names: &Names,
        o: crate::model::Order,
        refunds: Vec<crate::model::Refund>,
        seq: i64,
    ) -> Result<FeedOrder, ApiError> {
        let till_id = self.db_order_till(o.id).await?.map(|t: TillId| t.0);
        Ok(feed_order(names, o, refunds, seq, till_id))
    }

    /// The till's own store's check: a till may touch only its store's orders.
    fn own_store(till: &Till, store_id: StoreId) -> Result<(), ApiError> {
        if till.store_id == store_id { Ok(()) } else { Err(ApiError::NotYourStore) }
    }
}

/// The catalogue's acquirers and store codes.
pub(super) struct Names {
    acquirers: std::collections::HashMap<AcquirerId, AcquirerRef>,
    pub(super) stores: std::collections::HashMap<StoreId, String>,
}

/// An order as the till API carries it.
fn feed_order(
    names: &Names,
    o: crate::model::Order,
    refunds: Vec<crate::model::Refund>,
    seq: i64,
    till_id: Option<i64>,
) -> FeedOrder {
    let acquirer = names.acquirers.get(&o.acquirer_id).cloned().unwrap_or_else(|| AcquirerRef {
        id: o.acquirer_id.0,
        kind: crate::model::AcquirerKind::Alipay,
        name: format!("acquirer #{}", o.acquirer_id),
        code: None,
    });
    let store_code = names.stores.get(&o.store_id).cloned();
    FeedOrder::of(o, refunds, acquirer, store_code, till_id, seq)
}

/// A failure of the backend itself: logged with its detail, answered as the kind `internal`.
fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "the backend failed");
    ApiError::Internal
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        internal(&e)
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        internal(&e)
    }
}

/// A name for this process in the leases it takes: host-independent, random.
fn instance_name() -> String {
    let bytes: [u8; 6] = rand::random();
    format!("serve-{}-{}", std::process::id(), hex::encode(bytes))
}

/// A running backend: its address, the sync worker, and the server task.
pub struct RunningBackend {
    pub addr: SocketAddr,
    /// Served over HTTPS (`--tls-cert/--tls-key`).
    tls: bool,
    pub backend: Arc<Backend>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    services: Option<crate::sync::Services>,
    /// On PostgreSQL: the loop that claims and resumes unfinished payments and refunds.
    recovery: Option<tokio::task::JoinHandle<()>>,
    /// On PostgreSQL: the loop that downloads and reconciles the bills ([`bills`]).
    bills: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningBackend").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl RunningBackend {
    /// `http://HOST:PORT`, the URL tills join.
    pub fn base_url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Where the acquirers post their notifications.
    pub fn notify_url(&self) -> String {
        format!("{}/notify", self.base_url())
    }

    /// The sync worker's handle (a pass now, its status), when it runs.
    pub fn sync(&self) -> Option<crate::sync::SyncHandle> {
        self.services.as_ref().map(crate::sync::Services::handle)
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.services.take() {
            s.stop().await;
        }
        if let Some(r) = self.recovery.take() {
            r.abort();
        }
        if let Some(b) = self.bills.take() {
            b.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

/// How [`start`] runs the backend.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The sync worker's settings; None: no worker (tests that drive everything themselves).
    pub sync: Option<SyncSettings>,
    /// Resume orders a crash left unfinished before serving (the till engine's recovery).
    pub recover: bool,
    /// Serve HTTPS with this certificate and key; None: plain HTTP (behind a TLS-terminating proxy, or loopback).
    pub tls: Option<tls::TlsFiles>,
}

/// Binds `listen`, mounts the till API and the notify handlers (verified with `notify`), resumes unfinished work
/// and starts the sync worker. Must be called inside a tokio runtime; the backend must be [`Backend::serving`].
pub async fn start(
    backend: Backend,
    listen: SocketAddr,
    notify: NotifyKeys,
    options: StartOptions,
) -> Result<RunningBackend, ServeError> {
    let router = read(&backend.engine).as_ref().map(|e| e.router.clone()).ok_or(ServeError::NoEngine)?;
    let backend = Arc::new(backend);
    let on_postgres = backend.on_postgres();
    let db = backend.db_path();
    let mut app = http::routes(backend.clone());
    if on_postgres {
        *write(&backend.notify_keys) = Some(Arc::new(notify));
        app = app.merge(notify::routes(backend.clone()));
    } else {
        app = app.merge(crate::sync::notify::routes(Store::open(&db)?, notify));
    }
    // A wrong certificate or key stops the start before anything listens.
    let acceptor = options.tls.as_ref().map(tls::acceptor).transpose()?;
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|source| ServeError::Bind { addr: listen, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr: listen, source })?;
    if !addr.ip().is_loopback() && acceptor.is_none() {
        tracing::warn!(%addr, "the backend listens beyond this machine over plain HTTP: use --tls-cert/--tls-key");
    }
    let tls = acceptor.is_some();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = rx.await;
    };
    let task = match acceptor {
        None => tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(error = %e, "the backend stopped serving");
            }
        }),
        Some(acceptor) => {
            let listener = tls::TlsListener::new(listener, acceptor)
                .map_err(|source| ServeError::Bind { addr: listen, source })?;
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                    tracing::error!(error = %e, "the backend stopped serving");
                }
            })
        }
    };
    if on_postgres {
        let recovery = options.recover.then(|| recovery::spawn(backend.clone(), recovery::INTERVAL));
        let bills = options.sync.and_then(|s| s.bill_time).map(|at| bills::spawn(backend.clone(), at));
        tracing::info!(%addr, instance = backend.instance(), "merchant backend listening (PostgreSQL)");
        return Ok(RunningBackend { addr, tls, backend, shutdown: Some(tx), task, services: None, recovery, bills });
    }
    if options.recover {
        let checkout = crate::checkout::Checkout::open(
            &db,
            router.clone(),
            backend.clock.clone(),
            crate::checkout::CheckoutSettings::load(&Store::open(&db)?)?,
        )?;
        tokio::spawn(async move {
            match checkout.recover().await {
                Ok(done) if !done.is_empty() => tracing::info!(orders = done.len(), "recovered unfinished orders"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "recovery failed; the sync worker tries again"),
            }
        });
    }
    let services = options.sync.map(|settings| {
        let worker = crate::sync::SyncWorker::new(&db, &backend.data_dir, router, None, settings);
        crate::sync::Services::start_worker(worker, None)
    });
    tracing::info!(%addr, "merchant backend listening");
    Ok(RunningBackend { addr, tls, backend, shutdown: Some(tx), task, services, recovery: None, bills: None })
}
