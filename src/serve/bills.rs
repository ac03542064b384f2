//! Bills and reconciliation on PostgreSQL: each acquirer account's day is a job in the shared database
//! (`store::pg::recon`), claimed by one instance at a time under a lease. The instance downloads the day's bill
//! through the account's channel and reconciles it with the same code as a till or a SQLite backend, in a scratch
//! SQLite database of its own: a copy of the catalogue it serves (stores, accounts, routes, the reconciliation
//! settings), the neighbouring days' bills as published before (for the carry-over at midnight), the day's bill,
//! and the orders and refunds of the shared database that the day can name. It then records the store-code payments
//! the bill listed that no notification brought (as orders of their stores, once) and publishes the run — the bill
//! file, the report, its differences with their stores and the rows per store — in one transaction while its lease
//! holds; the scratch database is removed. A crash leaves nothing published: the lease ends and another instance
//! (or this one, restarted) does the day again.
//!
//! May import recon (import, reconcile, the report), the store and its PostgreSQL half, routing's accounts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use super::{Backend, ServeError};
use crate::i18n::Lang;
use crate::model::{AcquirerId, AcquirerKind, DiscrepancyId, Order, OrderSource};
use crate::recon::fetch::FetchedBill;
use crate::recon::import::{ImportControl, ImportOptions, import_bytes};
use crate::recon::report::{ReconOptions, Report, load_report};
use crate::recon::{ReconError, date_text};
use crate::store::pg::recon::{DifferenceKeys, PublishedRun, ReconBillFile, ReconJob};
use crate::store::pg::{PgError, PgStore};
use crate::store::recon_stores::{DifferenceStore, StoreRows};
use crate::store::{Store, StoreError};

/// How long a claimed day is this instance's alone (a 1M-row day takes a few minutes on two cores).
pub const LEASE_SECS: f64 = 30.0 * 60.0;

/// A day whose bill could not be had (the acquirer did not answer, say) is tried again after this long.
pub const RETRY_SECS: f64 = 10.0 * 60.0;

/// Orders or refunds read from the shared database at a time.
const PAGE: i64 = 20_000;

/// How often the bill loop looks for due days.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// What a pass over the due days did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillPass {
    /// Days reconciled: the account, the day, the run published and its open differences.
    pub reconciled: Vec<Reconciled>,
    /// Days the acquirer had no bill for (nothing was traded).
    pub no_bill: Vec<(AcquirerId, String)>,
    /// Days that failed, with why (each is tried again later).
    pub failed: Vec<(AcquirerId, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    pub run_id: i64,
    pub differences: usize,
    pub open: usize,
    /// Store-code payments the bill listed that the backend had not recorded, now orders of their stores.
    pub store_code_orders: u64,
}

/// Why one day could not be reconciled.
#[derive(Debug, thiserror::Error)]
pub enum BillJobError {
    #[error(transparent)]
    Recon(#[from] ReconError),
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the backend has no acquirer account #{0} (its catalogue changed?)")]
    NoAccount(AcquirerId),
    #[error("the job's day {0:?} is not a date")]
    BadDay(String),
    #[error("the backend's engine is not running (no acquirer accounts were given)")]
    NoEngine,
    #[error("the reconciliation stopped: {0}")]
    Stopped(String),
}

/// What became of one claimed day.
enum Done {
    Published(Reconciled),
    NoBill,
    /// Another instance holds the day now (this one took longer than its lease): nothing was published.
    LeaseLost,
}

/// The scratch folder, removed however the day ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.0.display(), error = %e, "could not remove a reconciliation's scratch folder");
        }
    }
}

/// China midnight at the start of `date`.
fn china_midnight(date: Date) -> OffsetDateTime {
    PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(crate::time::CHINA)
}

fn import_options(kind: AcquirerKind, account: AcquirerId, date: Date) -> ImportOptions {
    ImportOptions {
        acquirer: Some(kind),
        account: Some(account),
        bill_date: Some(date),
        bill_type: None,
        accept_mismatched_totals: false,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BillJobError> + Send + 'static,
) -> Result<T, BillJobError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| BillJobError::Stopped(e.to_string()))?
}

/// What the scratch database found, ready to publish.
struct Outcome {
    report: Report,
    differences: Vec<DifferenceStore>,
    shares: Vec<StoreRows>,
    bill: ReconBillFile,
    store_code_orders: Vec<Order>,
}

impl Backend {
    /// One pass of the bill loop on PostgreSQL: from `bill_time` (China time) on, yesterday's day of every account
    /// the backend serves is due once; then every due day is claimed and reconciled in turn. On SQLite: nothing
    /// (the sync worker fetches the bills there).
    pub async fn bill_pass(&self, bill_time: Time) -> Result<BillPass, ServeError> {
        let Some(pg) = self.pg() else { return Ok(BillPass::default()) };
        let now = self.now();
        if now.to_offset(crate::time::CHINA).time() < bill_time {
            return Ok(BillPass::default());
        }
        let day = date_text(crate::time::china_business_day(now));
        pg.ensure_recon_jobs(&self.account_ids()?, &day).await?;
        self.run_due_bill_days().await
    }

    /// `tilldesk serve bills --date D [--again]`: the day of every account due now (`again`: also a day done
    /// before, its bill downloaded anew), then the due days reconciled.
    pub async fn reconcile_bill_day(&self, date: Date, again: bool) -> Result<BillPass, ServeError> {
        let Some(pg) = self.pg() else { return Err(ServeError::NotOnPostgres) };
        let day = date_text(date);
        let accounts = self.account_ids()?;
        if again {
            pg.redo_recon_jobs(&accounts, &day).await?;
        } else {
            pg.ensure_recon_jobs(&accounts, &day).await?;
        }
        self.run_due_bill_days().await
    }

    fn account_ids(&self) -> Result<Vec<AcquirerId>, ServeError> {
        let engine = super::read(&self.engine).clone().ok_or(ServeError::NoEngine)?;
        Ok(engine.router.accounts().into_iter().map(|(a, _)| a.id).collect())
    }

    /// The acquirer accounts the backend takes payments and fetches bills through (none before it serves).
    pub fn accounts(&self) -> Vec<crate::model::Acquirer> {
        match super::read(&self.engine).clone() {
            Some(engine) => engine.router.accounts().into_iter().map(|(a, _)| a).collect(),
            None => Vec::new(),
        }
    }

    /// Claims and reconciles due days until none is left for this instance.
    pub async fn run_due_bill_days(&self) -> Result<BillPass, ServeError> {
        let Some(pg) = self.pg() else { return Ok(BillPass::default()) };
        let mut pass = BillPass::default();
        while let Some(job) = pg.claim_recon_job(&self.instance, LEASE_SECS).await? {
            let (account, day) = (job.acquirer_id, job.bill_date.clone());
            match self.reconcile_job(pg, &job).await {
                Ok(Done::Published(r)) => {
                    tracing::info!(acquirer = %account, day, run = r.run_id, open = r.open, "bill reconciled");
                    pass.reconciled.push(r);
                }
                Ok(Done::NoBill) => {
                    pg.recon_job_no_bill(&job, &self.instance).await?;
                    pass.no_bill.push((account, day));
                }
                Ok(Done::LeaseLost) => {
                    tracing::warn!(acquirer = %account, day, "another instance took the day over; nothing published");
                }
                Err(e) => {
                    let why = e.to_string();
                    tracing::warn!(acquirer = %account, day, error = why, "bill not reconciled; tried again later");
                    pg.recon_job_failed(&job, &self.instance, &why, RETRY_SECS).await?;
                    pass.failed.push((account, day, why));
                }
            }
        }
        Ok(pass)
    }

    async fn reconcile_job(&self, pg: &PgStore, job: &ReconJob) -> Result<Done, BillJobError> {
        let engine = super::read(&self.engine).clone().ok_or(BillJobError::NoEngine)?;
        let (account, channel) = engine
            .router
            .accounts()
            .into_iter()
            .find(|(a, _)| a.id == job.acquirer_id)
            .ok_or(BillJobError::NoAccount(job.acquirer_id))?;
        let date =
            crate::recon::parse_date(&job.bill_date).ok_or_else(|| BillJobError::BadDay(job.bill_date.clone()))?;
        let bill = match crate::recon::fetch::fetch(channel.as_ref(), date).await {
            Ok(bill) => bill,
            Err(ReconError::NoBillAtAcquirer { .. }) => return Ok(Done::NoBill),
            Err(e) => return Err(e.into()),
        };
        let mut neighbours = Vec::new();
        for d in [date.previous_day(), date.next_day()].into_iter().flatten() {
            neighbours.push((d, pg.recon_bill_files(account.id, &date_text(d)).await?));
        }
        let dir = self.data_dir.join("recon-work").join(format!("{}-{}-{}", self.instance, account.id, job.bill_date));
        let scratch = Scratch(dir.clone());
        let catalogue = self.db_path();
        // The bill's format is the channel's protocol (an Alipay+ partner serves Alipay's bills).
        let kind = channel.kind();
        let store_and_file =
            blocking(move || scratch_with_bills(&dir, &catalogue, kind, account.id, date, &neighbours, bill));
        let (store, bill_file) = store_and_file.await?;
        // The orders of the days around it and their refunds, page by page into the scratch database while the
        // next page is read; then those the bill names that are not among them.
        let window = (china_midnight(date) - time::Duration::days(3), china_midnight(date) + time::Duration::days(2));
        let store = copy_pages(store, pg, account.id, window, Pages::Orders).await?;
        let store = copy_pages(store, pg, account.id, window, Pages::Refunds).await?;
        let day = job.bill_date.clone();
        let (store, keys) = blocking(move || {
            let keys = store.recon().bill_keys_without_order(account.id, &day)?;
            Ok((store, keys))
        })
        .await?;
        let (named, refunds) = pg.orders_named(&keys.0, &keys.1).await?;
        let outcome = blocking(move || reconcile_scratch(store, account.id, date, &named, &refunds, bill_file)).await?;
        drop(scratch);
        let added = pg.record_bill_store_code_orders(&outcome.store_code_orders).await?;
        let started_at = outcome.report.started_at.clone();
        let keys: HashMap<DiscrepancyId, DifferenceKeys> = outcome
            .report
            .discrepancies
            .iter()
            .map(|i| {
                let keys = DifferenceKeys {
                    kind: i.kind.as_str().to_owned(),
                    reason: i.reason.as_str().to_owned(),
                    out_trade_no: i.out_trade_no.clone(),
                    out_request_no: i.out_request_no.clone(),
                    trade_no: i.trade_no.clone(),
                    bill_line: i.bill_line,
                };
                (i.id, keys)
            })
            .collect();
        let run = PublishedRun {
            keys: &keys,
            instance: &self.instance,
            started_at: &started_at,
            differences: &outcome.differences,
            shares: &outcome.shares,
            bills: std::slice::from_ref(&outcome.bill),
        };
        let mut report = outcome.report;
        let open = report.open_count();
        let differences = report.discrepancies.len();
        let published = pg
            .publish_recon_run(job, &run, |run_id, numbers: &HashMap<DiscrepancyId, DiscrepancyId>| {
                report.run_id = run_id;
                for item in &mut report.discrepancies {
                    if let Some(n) = numbers.get(&item.id) {
                        item.id = *n;
                    }
                }
                serde_json::to_string(&report).unwrap_or_default()
            })
            .await?;
        Ok(match published {
            None => Done::LeaseLost,
            Some(run_id) => Done::Published(Reconciled {
                acquirer_id: account.id,
                bill_date: job.bill_date.clone(),
                run_id,
                differences,
                open,
                store_code_orders: added,
            }),
        })
    }
}

/// A scratch database in `dir`: a copy of the catalogue with the neighbouring days' published bills and the day's
/// own bill imported. A neighbour's bill that cannot be read is left out (its carry-over waits, as if it were not
/// in yet).
fn scratch_with_bills(
    dir: &Path,
    catalogue: &Path,
    kind: AcquirerKind,
    account: AcquirerId,
    date: Date,
    neighbours: &[(Date, Vec<ReconBillFile>)],
    bill: FetchedBill,
) -> Result<(Store, ReconBillFile), BillJobError> {
    let io = |source| ReconError::Io { file: dir.display().to_string(), source };
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io)?;
    }
    // The day's orders go in: private from the start (VACUUM INTO fills an empty file it is given).
    crate::private_files::private_dir(dir).map_err(io)?;
    let path = dir.join("scratch.sqlite");
    crate::private_files::create_private_file(&path).map_err(io)?;
    Store::open(catalogue)?.copy_into(&path)?;
    let mut store = Store::open(&path)?;
    store.recon_mut().make_scratch()?;
    for (day, files) in neighbours {
        for f in files {
            let options = import_options(kind, account, *day);
            let imported = unpack(&f.content)
                .map_err(|e| ReconError::Io { file: f.source_name.clone(), source: e })
                .and_then(|bytes| import_bytes(&mut store, &f.source_name, &bytes, &options, &ImportControl::new()));
            if let Err(e) = imported {
                tracing::warn!(file = f.source_name, error = %e, "a neighbouring day's bill was left out");
            }
        }
    }
    let name = bill.file_name.rsplit(['/', '\\']).next().unwrap_or("").to_owned();
    let options = import_options(kind, account, date);
    let imported = import_bytes(&mut store, &name, &bill.bytes, &options, &ImportControl::new())?;
    let file = ReconBillFile {
        bill_type: imported.bill_type.as_str().to_owned(),
        source_name: name,
        row_count: imported.file_rows,
        imported_at: crate::time::now_utc(),
        content: pack(&bill.bytes).map_err(|e| ReconError::Io { file: bill.file_name.clone(), source: e })?,
    };
    Ok((store, file))
}

/// A bill file as kept in the shared database: gzip (a WeChat Pay text bill shrinks about tenfold; an Alipay zip
/// hardly changes), fast rather than small.
fn pack(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 8), flate2::Compression::fast());
    gz.write_all(bytes)?;
    gz.finish()
}

/// A kept bill file's bytes as the acquirer served them.
fn unpack(packed: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::with_capacity(packed.len() * 4);
    flate2::read::GzDecoder::new(packed).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The day reconciled in the scratch database, once the orders the bill names that were not among the day's are
/// copied in too.
fn reconcile_scratch(
    mut store: Store,
    account: AcquirerId,
    date: Date,
    orders: &[Order],
    refunds: &[crate::model::Refund],
    bill: ReconBillFile,
) -> Result<Outcome, BillJobError> {
    store.recon_mut().copy_orders(orders, refunds)?;
    let last_copied = store.recon().last_order_id()?;
    let options = ReconOptions::from_settings(&store)?;
    let reconciled = crate::recon::reconcile_account(&mut store, account, date, &options, Lang::En)?;
    let report = load_report(&store, reconciled.run_id, Lang::En)?;
    let differences = store.recon().difference_stores(reconciled.run_id)?;
    let bills: Vec<crate::model::BillId> =
        store.recon().bills_of_day(account, &date_text(date))?.iter().map(|b| b.id).collect();
    let shares = store.recon().bill_rows_by_store(&bills)?;
    let store_code_orders: Vec<Order> =
        store.recon().orders_after(last_copied)?.into_iter().filter(|o| o.source == OrderSource::StoreCode).collect();
    Ok(Outcome { report, differences, shares, bill, store_code_orders })
}

/// What [`copy_pages`] copies.
#[derive(Debug, Clone, Copy)]
enum Pages {
    Orders,
    Refunds,
}

/// Copies a day's orders (or their refunds) from the shared database into the scratch database page by page: a
/// writer thread copies one page while the next is read, so the day is never all in memory.
async fn copy_pages(
    store: Store,
    pg: &PgStore,
    account: AcquirerId,
    window: (OffsetDateTime, OffsetDateTime),
    what: Pages,
) -> Result<Store, BillJobError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Vec<Order>, Vec<crate::model::Refund>)>(2);
    let writer = tokio::task::spawn_blocking(move || -> Result<Store, BillJobError> {
        let mut store = store;
        while let Some((orders, refunds)) = rx.blocking_recv() {
            store.recon_mut().copy_orders(&orders, &refunds)?;
        }
        Ok(store)
    });
    let mut after = 0;
    let read: Result<(), PgError> = async {
        loop {
            let (last, page) = match what {
                Pages::Orders => {
                    let page = pg.recon_orders_page(account, window, after, PAGE).await?;
                    (page.last().map(|o| o.id.0), (page, Vec::new()))
                }
                Pages::Refunds => {
                    let page = pg.recon_refunds_page(account, window, after, PAGE).await?;
                    (page.last().map(|r| r.id.0), (Vec::new(), page))
                }
            };
            let Some(last) = last else { return Ok(()) };
            after = last;
            // The writer stopped: its error comes with its result below.
            if tx.send(page).await.is_err() {
                return Ok(());
            }
        }
    }
    .await;
    drop(tx);
    let store = writer.await.map_err(|e| BillJobError::Stopped(e.to_string()))??;
    read?;
    Ok(store)
}

/// Removes scratch folders a killed process left behind: those untouched for twice a lease (a live job's folder
/// is written to all along, and its day is another instance's after one lease anyway).
fn sweep_scratch(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir.join("recon-work")) else { return };
    let stale = Duration::from_secs_f64(2.0 * LEASE_SECS);
    for entry in entries.flatten() {
        let old = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if old.is_some_and(|age| age > stale) {
            drop(Scratch(entry.path()));
        }
    }
}

/// Runs [`Backend::bill_pass`] every [`INTERVAL`] until aborted.
pub fn spawn(backend: Arc<Backend>, bill_time: Time) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let dir = backend.data_dir.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || sweep_scratch(&dir)).await {
            tracing::warn!(error = %e, "could not look for stale reconciliation folders");
        }
        loop {
            match backend.bill_pass(bill_time).await {
                Ok(pass) if !pass.failed.is_empty() => {
                    tracing::warn!(failed = pass.failed.len(), "some bills were not reconciled; tried again later");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "bill pass failed; trying again later"),
            }
            tokio::time::sleep(INTERVAL).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_folders_a_killed_process_left_are_swept_and_live_ones_kept() {
        let data = tempfile::tempdir().unwrap();
        let (old, live) = (data.path().join("recon-work/serve-1-old"), data.path().join("recon-work/serve-2-live"));
        for dir in [&old, &live] {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join("scratch.sqlite"), b"").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - Duration::from_secs_f64(3.0 * LEASE_SECS);
        std::fs::File::open(&old).unwrap().set_modified(long_ago).unwrap();
        sweep_scratch(data.path());
        assert!(!old.exists(), "left by a killed process: removed");
        assert!(live.join("scratch.sqlite").exists(), "a job under way: kept");
        sweep_scratch(&data.path().join("nowhere"));
    }

    #[test]
    fn kept_bills_are_gzipped_and_read_back_byte_for_byte() {
        let bill = "交易时间,公众账号ID\r\n`2026-12-06 10:00:00,`wx1\r\n".repeat(200).into_bytes();
        let packed = pack(&bill).unwrap();
        assert!(packed.len() * 5 < bill.len(), "{} of {}", packed.len(), bill.len());
        assert_eq!(unpack(&packed).unwrap(), bill);
        assert!(unpack(b"not gzip").is_err());
    }
}
