//! The background sync worker: keeps the local database (a cache of what the acquirers know) in step.
//!
//! Each pass ([`SyncWorker::run_once`]) is recorded in `sync_runs` and:
//! 1. checks the acquirers can be reached (a harmless signed query); offline, it stops there and tries again
//!    sooner, so reconnecting catches up by itself;
//! 2. hands orders abandoned while PAYING/UNKNOWN (their checkout is gone) to a query, and queues a cancel/reverse
//!    for those that are not paid;
//! 3. delivers the due outbox entries (cancel/reverse, refunds submitted while offline) with their idempotency
//!    keys (out_trade_no / out_request_no, which the acquirers deduplicate), exactly once: an entry is marked
//!    delivered in the same transaction as its effect, and a failed attempt is retried with exponential backoff
//!    (attempts and next_attempt_at are stored, so a restart changes nothing);
//! 4. follows refunds still PROCESSING;
//! 5. refreshes acquirer bindings still pending verification;
//! 6. after the configured time of day, fetches yesterday's bills and reconciles them;
//! 7. on a till enrolled with a merchant backend, pulls the store's orders from it ([`pull`]) instead of step 6
//!    (the backend fetches and reconciles the bills).
//!
//! The worker runs on the app's one tokio runtime; the UI reads its [`SyncStatus`] through a [`SyncHandle`].

pub mod notify;
pub mod pull;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::channel::cds::CdsError;
use crate::channel::cds::client::CdsClient;
use crate::channel::{CancelResult, Channel, CloseResult, QueryResult};
use crate::checkout::SystemClock;
use crate::model::{AcquirerKind, BindingStatus, OrderStatus, RefundStatus};
use crate::refund::{RefundDesk, RefundSettings};
use crate::routing::Router;
use crate::store::sync::{OutboxEntry, SyncRun};
use crate::store::transitions::{OrderMove, PaidFacts};
use crate::store::{Store, StoreError};

/// Setting keys.
pub const SETTING_INTERVAL: &str = "sync.interval_secs";
/// Local time of day ("HH:MM") after which yesterday's bills are fetched and reconciled; "off" disables it.
pub const SETTING_BILL_TIME: &str = "sync.bill_time";
/// The last bill date fetched per acquirer: `sync.bills_done.alipay` = "2026-11-24".
pub const SETTING_BILLS_DONE: &str = "sync.bills_done";

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the local database failed: {0}")]
    Store(#[from] StoreError),
}

/// Why a probe (a harmless signed query) found the acquirers unreachable. `why` is the channel's own reason
/// (network, signature, HTTP status), in English for the log and the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("no acquirer is set up in this mode")]
    NoAcquirer,
    /// One channel did not answer (or its answer did not verify).
    #[error("{why}")]
    NoAnswer { why: String },
    /// No account answered; the last one tried, and why.
    #[error("{account}: {why}")]
    AccountNoAnswer { account: String, why: String },
}

/// How often and how patiently the worker works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSettings {
    /// Between passes while online.
    pub interval: Duration,
    /// Between passes while offline (short, so reconnecting catches up soon).
    pub offline_interval: Duration,
    /// The first retry of a failed outbox entry waits this long; each further one twice as long…
    pub backoff_base: Duration,
    /// …up to this.
    pub backoff_max: Duration,
    /// A PAYING/UNKNOWN order untouched this long has lost its checkout.
    pub stale_after: Duration,
    /// Fetch yesterday's bills (China date) after this time of day in China; None: never.
    pub bill_time: Option<time::Time>,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            interval: Duration::from_secs(60),
            offline_interval: Duration::from_secs(10),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(30 * 60),
            stale_after: Duration::from_secs(5 * 60),
            bill_time: time::Time::from_hms(10, 0, 0).ok(),
        }
    }
}

impl SyncSettings {
    /// The stored settings, defaults where unset or unreadable.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let mut s = SyncSettings::default();
        if let Some(v) = store.setting(SETTING_INTERVAL)?.and_then(|v| v.trim().parse::<u64>().ok()).filter(|v| *v > 0)
        {
            s.interval = Duration::from_secs(v);
        }
        if let Some(v) = store.setting(SETTING_BILL_TIME)? {
            s.bill_time = parse_bill_time(&v);
        }
        Ok(s)
    }

    /// The wait before retry number `attempts + 1`.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let factor = 2u32.saturating_pow(attempts.clamp(0, 20) as u32);
        self.backoff_base.saturating_mul(factor).min(self.backoff_max)
    }
}

/// "HH:MM" (24 h) → a time of day; "off" or anything unreadable → None.
pub fn parse_bill_time(text: &str) -> Option<time::Time> {
    let (h, m) = text.trim().split_once(':')?;
    time::Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

/// What the status bar and the Sync panel show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// None until the first pass has looked.
    pub online: Option<bool>,
    pub outbox_len: i64,
    /// When the last pass that reached the acquirers without an error finished (UTC).
    pub last_success: Option<String>,
    pub running: bool,
    /// The last pass, as recorded.
    pub last_run: Option<SyncRun>,
}

/// The UI's end of a running worker: read the status, ask for a pass now.
#[derive(Clone, Default)]
pub struct SyncHandle {
    status: Arc<Mutex<SyncStatus>>,
    wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for SyncHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncHandle").field("status", &self.status()).finish()
    }
}

impl SyncHandle {
    pub fn status(&self) -> SyncStatus {
        match self.status.lock() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn update(&self, f: impl FnOnce(&mut SyncStatus)) {
        match self.status.lock() {
            Ok(mut s) => f(&mut s),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// Asks the worker for a pass now (the Retry button, a reconnect).
    pub fn sync_now(&self) {
        self.wake.notify_one();
    }
}

/// The worker. Cheap to share (`Arc`); every pass opens its own database connections.
pub struct SyncWorker {
    db: PathBuf,
    data_dir: PathBuf,
    router: Router,
    cds: Option<CdsClient>,
    pub settings: SyncSettings,
    handle: SyncHandle,
}

impl SyncWorker {
    pub fn new(db: &Path, data_dir: &Path, router: Router, cds: Option<CdsClient>, settings: SyncSettings) -> Self {
        SyncWorker {
            db: db.to_owned(),
            data_dir: data_dir.to_owned(),
            router,
            cds,
            settings,
            handle: SyncHandle::default(),
        }
    }

    pub fn handle(&self) -> SyncHandle {
        self.handle.clone()
    }

    /// Passes forever: every `interval` online, every `offline_interval` offline, or at once when woken.
    pub async fn run_forever(self: Arc<Self>) {
        let mut trigger = "start";
        loop {
            let online = match self.run_once(trigger).await {
                Ok(run) => run.online,
                Err(e) => {
                    tracing::warn!(error = %e, "sync pass failed");
                    false
                }
            };
            let wait = if online { self.settings.interval } else { self.settings.offline_interval };
            trigger = tokio::select! {
                _ = self.handle.wake.notified() => "retry",
                _ = tokio::time::sleep(wait) => if online { "timer" } else { "reconnect" },
            };
        }
    }

    /// One pass, recorded in `sync_runs`. Errors of single items are collected in the run; only a database
    /// failure ends the pass early.
    pub async fn run_once(&self, trigger: &str) -> Result<SyncRun, SyncError> {
        self.handle.update(|s| s.running = true);
        let result = self.pass(trigger).await;
        let mut store = Store::open(&self.db)?;
        let outbox_len = store.sync().outbox_len()?;
        let last_success = store.sync().last_successful_sync()?;
        self.handle.update(|s| {
            s.running = false;
            s.outbox_len = outbox_len;
            s.last_success = last_success;
            if let Ok(run) = &result {
                s.online = Some(run.online);
                s.last_run = Some(run.clone());
            }
        });
        if let Err(e) = &result {
            tracing::warn!(error = %e, "sync pass stopped");
            // Keep the failed pass visible in the panel.
            let id = store.sync_mut().begin_sync_run(trigger)?;
            let run = SyncRun { id, trigger: trigger.into(), errors: vec![e.to_string()], ..Default::default() };
            store.sync_mut().finish_sync_run(&run)?;
        }
        result
    }

    async fn pass(&self, trigger: &str) -> Result<SyncRun, SyncError> {
        let mut store = Store::open(&self.db)?;
        let id = store.sync_mut().begin_sync_run(trigger)?;
        let started_at = crate::time::now_utc();
        let mut run = SyncRun { id, trigger: trigger.into(), started_at, ..Default::default() };
        match self.probe().await {
            Ok(()) => run.online = true,
            Err(why) => run.errors.push(format!("offline: {why}")),
        }
        if run.online {
            self.stale_orders(&mut store, &mut run).await?;
            self.deliver_outbox(&mut store, &mut run).await?;
            self.follow_refunds(&mut run).await?;
            self.refresh_bindings(&mut store, &mut run).await?;
            match self.router.backend() {
                Some(backend) => self.pull(&backend, &mut store, &mut run).await?,
                None => self.fetch_bills(&mut store, &mut run).await?,
            }
        }
        run.outbox_pending = store.sync().outbox_len()?;
        run.summary = summary(&run);
        run.finished_at = Some(crate::time::now_utc());
        store.sync_mut().finish_sync_run(&run)?;
        if run.errors.is_empty() {
            tracing::info!(run = run.id, summary = run.summary, "sync pass");
        } else {
            tracing::warn!(run = run.id, summary = run.summary, errors = run.errors.join("; "), "sync pass");
        }
        Ok(run)
    }

    /// A harmless signed call: ask the acquirers about an order number that cannot exist, until one answers. Any
    /// verified answer (even "no such trade") means online.
    pub async fn probe(&self) -> Result<(), ProbeError> {
        let mut last = ProbeError::NoAcquirer;
        for (account, channel) in self.router.accounts() {
            match probe_channel(channel.as_ref()).await {
                Ok(()) => return Ok(()),
                Err(why) => last = ProbeError::AccountNoAnswer { account: account.name, why: why.to_string() },
            }
        }
        Err(last)
    }

    /// The channel of the order an outbox entry is about: the acquirer that took it, acting for its merchant id.
    fn channel_for(
        &self,
        store: &Store,
        out_trade_no: &str,
    ) -> Result<Result<Arc<dyn Channel>, NoChannelFor>, SyncError> {
        Ok(match store.orders().order_by_out_trade_no(out_trade_no)? {
            Some(order) => self.router.for_order(&order).map_err(NoChannelFor::Route),
            None => Err(NoChannelFor::NoOrder { out_trade_no: out_trade_no.to_owned() }),
        })
    }

    async fn stale_orders(&self, store: &mut Store, run: &mut SyncRun) -> Result<(), SyncError> {
        let cutoff = time::OffsetDateTime::now_utc()
            - time::Duration::try_from(self.settings.stale_after).unwrap_or(time::Duration::minutes(5));
        let stale = store.sync().stale_open_orders(&crate::time::format_utc(cutoff))?;
        let now_text = crate::time::now_utc();
        for order in stale {
            if crate::checkout::is_active(&order.out_trade_no) {
                continue;
            }
            let channel = match self.router.for_order(&order) {
                Ok(c) => c,
                Err(e) => {
                    run.errors.push(format!("{}: {e}", order.out_trade_no));
                    continue;
                }
            };
            run.orders_refreshed += 1;
            match channel.query(&order.out_trade_no).await {
                QueryResult::Paid(info) => {
                    let paid_at = info
                        .paid_at
                        .as_deref()
                        .and_then(crate::time::acquirer_time_to_utc)
                        .unwrap_or_else(crate::time::now_utc);
                    let facts = PaidFacts {
                        amount: info.amount,
                        currency: info.currency.as_deref(),
                        merchant_id: info.merchant_id.as_deref(),
                    };
                    let paid = OrderMove::paid(
                        "paid",
                        "found paid by the background sync",
                        info.trade_no.as_deref(),
                        Some(&paid_at),
                        facts,
                    );
                    store.orders_mut().move_order(order.id, &paid)?;
                }
                QueryResult::Closed(_) => {
                    store.orders_mut().move_order(
                        order.id,
                        &OrderMove::to(OrderStatus::Closed, "closed", "closed at the acquirer"),
                    )?;
                }
                // A transient error is no reason to cancel: the next pass asks again.
                QueryResult::Unknown(why) => {
                    store.orders_mut().add_order_event(
                        order.id,
                        "query_again",
                        &format!("no definite answer ({why}); asking again on the next pass"),
                    )?;
                    run.errors.push(format!("{}: query failed: {why}", order.out_trade_no));
                }
                // At a merchant backend, a till's dynamic code (主扫) still payable is left to the till that shows it
                // (a till may give a code up to two hours); it closes it, or this pass does once it has expired.
                QueryResult::Waiting(_) | QueryResult::NotFound
                    if store.backend().order_till(order.id)?.is_some()
                        && store.orders().dynamic_code(order.id)?.is_some_and(|row| row.expires_at > now_text) => {}
                // A dynamic code (主扫) nobody shows any more is closed, never cancelled or reversed: WeChat Pay has
                // no reverse for NATIVE trades, and a close that finds it paid makes it a sale.
                QueryResult::Waiting(_) | QueryResult::NotFound if store.orders().dynamic_code(order.id)?.is_some() => {
                    match channel.close(&order.out_trade_no).await {
                        CloseResult::Closed => {
                            store.orders_mut().move_order(
                                order.id,
                                &OrderMove::to(
                                    OrderStatus::Closed,
                                    "closed",
                                    "dynamic code left open by a checkout that is gone; closed by the background sync",
                                ),
                            )?;
                        }
                        CloseResult::AlreadyPaid(_) => store.orders_mut().add_order_event(
                            order.id,
                            "query_again",
                            "the close found it paid; the next pass records the payment",
                        )?,
                        CloseResult::Retry(why) | CloseResult::Unknown(why) => {
                            store.orders_mut().add_order_event(order.id, "close_pending", &why)?;
                            run.errors.push(format!("{}: close failed: {why}", order.out_trade_no));
                        }
                        CloseResult::Failed(f) => {
                            store.orders_mut().add_order_event(
                                order.id,
                                "close_pending",
                                &format!("{}: {}", f.code, f.message),
                            )?;
                            run.errors.push(format!("{}: close refused: {}", order.out_trade_no, f.code));
                        }
                    }
                }
                QueryResult::Waiting(_) | QueryResult::NotFound => {
                    let verb = if channel.kind() == AcquirerKind::WechatPay { "reverse" } else { "cancel" };
                    store.sync_mut().queue_cancel(
                        &order,
                        verb,
                        "left unfinished by a checkout that is gone; the background sync cancels it",
                    )?;
                }
            }
        }
        for order in store.sync().orphaned_attention_orders()? {
            if crate::checkout::is_active(&order.out_trade_no) {
                continue;
            }
            let verb = match self.router.for_order(&order).map(|c| c.kind()) {
                Ok(AcquirerKind::WechatPay) => "reverse",
                _ => "cancel",
            };
            store.sync_mut().queue_cancel(
                &order,
                verb,
                "the cancel was not confirmed; the background sync keeps trying",
            )?;
        }
        Ok(())
    }

    async fn deliver_outbox(&self, store: &mut Store, run: &mut SyncRun) -> Result<(), SyncError> {
        let due = store.sync().due_outbox(&crate::time::now_utc())?;
        for entry in due {
            match self.deliver(store, &entry).await? {
                Delivery::Done => run.outbox_delivered += 1,
                Delivery::Refused(why) => {
                    run.outbox_delivered += 1;
                    run.errors.push(format!("{}: refused by the acquirer: {why}", entry.idempotency_key));
                }
                Delivery::Later(why) => {
                    let wait = self.settings.backoff(entry.attempts);
                    let next = time::OffsetDateTime::now_utc() + time::Duration::try_from(wait).unwrap_or_default();
                    store.sync_mut().outbox_retry_later(
                        &entry.idempotency_key,
                        &why,
                        &crate::time::format_utc(next),
                    )?;
                    run.errors.push(format!(
                        "{}: not delivered ({why}); attempt {} again in {} s",
                        entry.idempotency_key,
                        entry.attempts + 2,
                        wait.as_secs()
                    ));
                }
            }
        }
        Ok(())
    }

    /// A CDS binding request that got no answer: sent again; "already bound" means an earlier attempt got through.
    async fn deliver_cds_bind(
        &self,
        store: &mut Store,
        entry: &OutboxEntry,
        payload: &serde_json::Value,
    ) -> Result<Delivery, SyncError> {
        let text = |name: &str| payload.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let id = |name: &str| payload.get(name).and_then(serde_json::Value::as_i64).unwrap_or_default();
        let (code, platform_id, cds_index, merchant_id) =
            (text("acquirer_code"), text("platform_id"), text("cds_index"), text("merchant_id"));
        let (store_id, acquirer_id) =
            (crate::model::StoreId(id("store_id")), crate::model::AcquirerId(id("acquirer_id")));
        let Some(client) = &self.cds else { return Ok(Delivery::Later("no CDS platform is configured".into())) };
        let Some(binding) = store.setup().binding(store_id, acquirer_id)? else {
            let why = "the binding it belongs to no longer exists".to_owned();
            store.sync_mut().outbox_refused(&entry.idempotency_key, None, &why)?;
            return Ok(Delivery::Refused(why));
        };
        tracing::info!(key = entry.idempotency_key, attempt = entry.attempts + 1, "outbox delivery");
        let detail = match client.bind_to_index(&code, &cds_index, &merchant_id).await {
            Ok(listing) => {
                let names: Vec<String> = listing.acquirers.iter().map(|a| a.name.clone()).collect();
                format!(
                    "bound to merchant CDS index {cds_index} by the background sync; the code now reaches {}",
                    names.join(", ")
                )
            }
            Err(e) if e.code() == Some("already_bound") => {
                format!("bound to merchant CDS index {cds_index} (the platform had the earlier request)")
            }
            Err(e @ (CdsError::Transport { .. } | CdsError::BadResponse { .. })) => {
                return Ok(Delivery::Later(e.to_string()));
            }
            Err(e) => {
                let why = e.to_string();
                store.setup_mut().add_binding_event(binding.id, "cds_refused", &why)?;
                store.sync_mut().outbox_refused(&entry.idempotency_key, None, &why)?;
                return Ok(Delivery::Refused(why));
            }
        };
        let state =
            crate::model::AcquirerBinding { cds_platform_id: Some(platform_id), cds_index: Some(cds_index), ..binding };
        // Two writes: a crash between them only sends the request once more, which answers "already bound".
        store.setup_mut().save_binding(&state, "cds_bound", &detail)?;
        store.sync_mut().mark_outbox_delivered(&entry.idempotency_key)?;
        Ok(Delivery::Done)
    }

    async fn deliver(&self, store: &mut Store, entry: &OutboxEntry) -> Result<Delivery, SyncError> {
        let payload: serde_json::Value = serde_json::from_str(&entry.payload).unwrap_or_default();
        let field = |name: &str| payload.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        match entry.kind.as_str() {
            "cancel" | "reverse" => {
                let out_trade_no = field("out_trade_no");
                if out_trade_no.is_empty() {
                    store.sync_mut().outbox_refused(&entry.idempotency_key, None, "the entry names no out_trade_no")?;
                    return Ok(Delivery::Refused("the entry names no out_trade_no".into()));
                }
                // An acquirer that cannot be reached in this mode stays in the outbox: nothing is marked done that the
                // acquirer did not confirm.
                let channel = match self.channel_for(store, &out_trade_no)? {
                    Ok(c) => c,
                    Err(why) => return Ok(Delivery::Later(why.to_string())),
                };
                tracing::info!(key = entry.idempotency_key, attempt = entry.attempts + 1, "outbox delivery");
                match channel.cancel(&out_trade_no).await {
                    CancelResult::Done { refunded } => {
                        let detail = if refunded {
                            "confirmed by the background sync: the money went back to the customer"
                        } else {
                            "confirmed by the background sync"
                        };
                        store.sync_mut().outbox_cancel_confirmed(&entry.idempotency_key, &out_trade_no, detail)?;
                        Ok(Delivery::Done)
                    }
                    CancelResult::Failed(f) => {
                        let why = format!("{}: {}", f.code, f.message);
                        store.sync_mut().outbox_refused(&entry.idempotency_key, Some(&out_trade_no), &why)?;
                        Ok(Delivery::Refused(why))
                    }
                    CancelResult::Retry(why) | CancelResult::Unknown(why) => Ok(Delivery::Later(why)),
                }
            }
            "refund" => {
                let out_request_no = field("out_request_no");
                let desk = self.refund_desk()?;
                match desk.resend(&out_request_no).await {
                    Ok(r) if matches!(r.status, RefundStatus::Success | RefundStatus::Failed) => {
                        store.sync_mut().mark_outbox_delivered(&entry.idempotency_key)?;
                        Ok(Delivery::Done)
                    }
                    Ok(r) if r.status == RefundStatus::Processing => {
                        // Accepted: the acquirer has it; what is left is following it (step 4).
                        store.sync_mut().mark_outbox_delivered(&entry.idempotency_key)?;
                        Ok(Delivery::Done)
                    }
                    Ok(_) => Ok(Delivery::Later("no answer from the acquirer yet".into())),
                    Err(crate::refund::RefundError::AcquirerRefused(why)) => {
                        store.sync_mut().outbox_refused(&entry.idempotency_key, None, &why)?;
                        Ok(Delivery::Refused(why))
                    }
                    Err(crate::refund::RefundError::Store(e)) => Err(e.into()),
                    Err(e) => {
                        let why = e.to_string();
                        store.sync_mut().outbox_refused(&entry.idempotency_key, None, &why)?;
                        Ok(Delivery::Refused(why))
                    }
                }
            }
            crate::onboarding::CDS_BIND_OUTBOX => self.deliver_cds_bind(store, entry, &payload).await,
            other => {
                let why = format!("this version does not know outbox entries of kind {other:?}");
                Ok(Delivery::Later(why))
            }
        }
    }

    fn refund_desk(&self) -> Result<RefundDesk, SyncError> {
        let settings = RefundSettings {
            attempts: 1,
            retry_interval: Duration::ZERO,
            follow_window: Duration::ZERO,
            follow_interval: Duration::ZERO,
        };
        Ok(RefundDesk::new(Store::open(&self.db)?, self.router.clone(), Arc::new(SystemClock), settings))
    }

    /// Every refund still open — SUBMITTED (its desk crashed, or the acquirer was down) or PROCESSING — that nobody
    /// in this process is sending and that has no outbox entry waiting (delivered in step 3): looked up by its
    /// out_request_no and finished, or sent again under the same number ([`RefundDesk::resend`]).
    async fn follow_refunds(&self, run: &mut SyncRun) -> Result<(), SyncError> {
        let mut store = Store::open(&self.db)?;
        let mut open = Vec::new();
        for r in store.refunds().pending_refunds()? {
            let queued = store
                .sync()
                .outbox_entry(&format!("refund:{}", r.out_request_no))?
                .is_some_and(|e| e.delivered_at.is_none());
            if !queued && !crate::refund::is_active(&r.out_request_no) {
                open.push(r);
            }
        }
        if open.is_empty() {
            return Ok(());
        }
        let desk = self.refund_desk()?;
        for refund in open {
            run.refunds_refreshed += 1;
            match desk.resend(&refund.out_request_no).await {
                Ok(r) if matches!(r.status, RefundStatus::Success | RefundStatus::Failed) => {
                    store.sync_mut().mark_outbox_delivered(&format!("refund:{}", r.out_request_no))?;
                }
                Ok(_) => {}
                Err(e) => run.errors.push(format!("{}: {e}", refund.out_request_no)),
            }
        }
        Ok(())
    }

    async fn refresh_bindings(&self, store: &mut Store, run: &mut SyncRun) -> Result<(), SyncError> {
        let Some(client) = &self.cds else { return Ok(()) };
        let mut pending = Vec::new();
        for s in store.setup().stores()? {
            for b in store.setup().bindings_for_store(s.id)? {
                if b.status == BindingStatus::PendingVerification && b.merchant_id_at_acquirer.is_some() {
                    pending.push(b);
                }
            }
        }
        for b in pending {
            run.bindings_refreshed += 1;
            let quiet = |_: crate::onboarding::Progress| {};
            let mut onboarder = crate::onboarding::Onboarder {
                db: store,
                client,
                poll: crate::onboarding::PollPolicy::default(),
                cancel: crate::onboarding::CancelFlag::default(),
                progress: &quiet,
            };
            if let Err(e) = onboarder.refresh(b.store_id, b.acquirer_id).await {
                run.errors.push(format!("binding of store {} at acquirer {}: {e}", b.store_id, b.acquirer_id));
            }
        }
        Ok(())
    }

    /// The store's orders from the merchant backend (see [`pull`]); a backend that does not answer is an error of
    /// the pass, not of the worker.
    async fn pull(
        &self,
        backend: &crate::channel::backend::BackendClient,
        store: &mut Store,
        run: &mut SyncRun,
    ) -> Result<(), SyncError> {
        match pull::pull_orders(backend, store).await {
            Ok(s) => run.orders_refreshed += i64::try_from(s.new + s.updated).unwrap_or(i64::MAX),
            Err(pull::PullError::Store(e)) => return Err(e.into()),
            Err(pull::PullError::Backend(e)) => run.errors.push(format!("pulling the store's orders: {e}")),
        }
        match pull::push_shift_reports(backend, store).await {
            Ok(n) => run.outbox_delivered += i64::try_from(n).unwrap_or(i64::MAX),
            Err(pull::PullError::Store(e)) => return Err(e.into()),
            Err(pull::PullError::Backend(e)) => run.errors.push(format!("sending shift reports: {e}")),
        }
        // The orders taken here before joining, until all went up (see `routing::history`).
        if crate::routing::history::unsent(store)? > 0 {
            match crate::routing::history::send(store, backend).await {
                Ok(sent) => run.outbox_delivered += i64::try_from(sent.recorded).unwrap_or(i64::MAX),
                Err(crate::routing::backend::LinkError::Store(e)) => return Err(e.into()),
                Err(e) => run.errors.push(format!("sending the orders from before joining: {e}")),
            }
        }
        Ok(())
    }

    /// After the bill time, yesterday's (China date) bills of both acquirers, once each.
    async fn fetch_bills(&self, store: &mut Store, run: &mut SyncRun) -> Result<(), SyncError> {
        let Some(bill_time) = self.settings.bill_time else { return Ok(()) };
        // The bill time is China time: the acquirers publish a day's bills on China's clock, wherever the till is.
        let now = time::OffsetDateTime::now_utc();
        if now.to_offset(crate::time::CHINA).time() < bill_time {
            return Ok(());
        }
        let yesterday = crate::time::china_business_day(now);
        let day = crate::recon::date_text(yesterday);
        // One bill per acquirer account (ALIPAY, PARTNER1 and WECHATPAY each send their own).
        for (account, channel) in self.router.accounts() {
            let key = format!("{SETTING_BILLS_DONE}.{}", account.id);
            // Done already, or closed by the back office (its report is frozen: nothing to fetch it for).
            if store.setting(&key)?.as_deref() == Some(day.as_str())
                || store.recon().closed_day(account.id, &day)?.is_some()
            {
                continue;
            }
            match self.fetch_one(store, account.id, channel.as_ref(), yesterday).await {
                Ok(summary) => {
                    run.bills_fetched += 1;
                    store.set_bookkeeping(&key, &day)?;
                    tracing::info!(acquirer = account.name, day, summary, "bill fetched and reconciled");
                }
                Err(crate::recon::ReconError::NoBillAtAcquirer { .. }) => {
                    // Nothing happened that day: nothing to reconcile.
                    store.set_bookkeeping(&key, &day)?;
                }
                Err(e) => run.errors.push(format!("{} bill of {day}: {e}", account.name)),
            }
        }
        Ok(())
    }

    async fn fetch_one(
        &self,
        store: &mut Store,
        acquirer: crate::model::AcquirerId,
        channel: &dyn Channel,
        date: time::Date,
    ) -> Result<String, crate::recon::ReconError> {
        let bill = crate::recon::fetch::fetch(channel, date).await?;
        let control = crate::recon::import::ImportControl::new();
        crate::recon::fetch::save_and_import(store, &self.data_dir, acquirer, channel, date, &bill, &control)?;
        let options = crate::recon::report::ReconOptions::from_settings(store)?;
        let report = crate::recon::reconcile_account(store, acquirer, date, &options, crate::i18n::Lang::En)?;
        Ok(format!("{} open differences", report.open_count()))
    }
}

/// Why an outbox entry has no channel to go through (it waits for the next pass).
#[derive(Debug, thiserror::Error)]
enum NoChannelFor {
    #[error("there is no order {out_trade_no} on this till")]
    NoOrder { out_trade_no: String },
    #[error(transparent)]
    Route(crate::routing::RouteError),
}

enum Delivery {
    Done,
    Refused(String),
    Later(String),
}

/// A harmless signed call on one channel: a query for an order number that cannot exist.
pub async fn probe_channel(channel: &dyn Channel) -> Result<(), ProbeError> {
    match channel.query("TDPROBE0000000000000000").await {
        QueryResult::Unknown(why) => Err(ProbeError::NoAnswer { why }),
        _ => Ok(()),
    }
}

fn summary(run: &SyncRun) -> String {
    if !run.online {
        return format!("offline; {} waiting in the outbox", run.outbox_pending);
    }
    let mut parts = Vec::new();
    let mut add = |n: i64, what: &str| {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    };
    add(run.outbox_delivered, "delivered");
    add(run.orders_refreshed, "orders refreshed");
    add(run.refunds_refreshed, "refunds followed");
    add(run.bindings_refreshed, "bindings refreshed");
    add(run.bills_fetched, "bills fetched");
    if parts.is_empty() {
        parts.push("nothing to do".into());
    }
    if run.outbox_pending > 0 {
        parts.push(format!("{} waiting in the outbox", run.outbox_pending));
    }
    parts.join(", ")
}

/// The sync worker and the notify listener, running for the embedded (or a stand-alone) sandbox.
pub struct Services {
    pub worker: Arc<SyncWorker>,
    /// The notify listener (sandbox mode; live notifications need an address the acquirer can reach).
    pub listener: Option<notify::NotifyListener>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").field("listener", &self.listener.as_ref().map(|l| l.url())).finish_non_exhaustive()
    }
}

impl Services {
    pub fn handle(&self) -> SyncHandle {
        self.worker.handle()
    }

    /// Stops the worker's loop and the listener.
    pub async fn stop(self) {
        self.task.abort();
        if let Some(listener) = self.listener {
            listener.stop().await;
        }
    }
}

impl Services {
    /// Starts `worker`'s loop on the current tokio runtime, with the notify listener when there is one.
    pub fn start_worker(worker: SyncWorker, listener: Option<notify::NotifyListener>) -> Services {
        let worker = Arc::new(worker);
        let task = tokio::spawn(worker.clone().run_forever());
        Services { worker, listener, task }
    }
}

/// Starts the worker's loop on `runtime` with `router`'s acquirers (the live gateways, or the sandbox's), the CDS
/// platform when there is one, and the notify listener when one was started.
pub fn start(
    runtime: &tokio::runtime::Handle,
    data_dir: &Path,
    router: Router,
    cds: Option<CdsClient>,
    listener: Option<notify::NotifyListener>,
    settings: SyncSettings,
) -> Services {
    let db = data_dir.join(crate::config::DATABASE_FILE);
    let worker = Arc::new(SyncWorker::new(&db, data_dir, router, cds, settings));
    let task = runtime.spawn(worker.clone().run_forever());
    Services { worker, listener, task }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = SyncSettings {
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(60),
            ..Default::default()
        };
        let waits: Vec<u64> = (0..6).map(|a| s.backoff(a).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
    }

    #[test]
    fn bill_time_is_read_as_hours_and_minutes() {
        assert_eq!(parse_bill_time("09:30"), time::Time::from_hms(9, 30, 0).ok());
        assert_eq!(parse_bill_time("off"), None);
        assert_eq!(parse_bill_time("25:00"), None);
    }
}
