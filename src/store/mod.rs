//! The local SQLite database: the only code that writes SQL (with [`pg`], the merchant backend's shared state on
//! PostgreSQL).
//!
//! WAL journal, foreign keys on, numbered migrations applied at open (tracked in `PRAGMA user_version`), and one
//! transaction for every multi-row write.
//!
//! Durability and concurrency (issue 17, item 7):
//! - `synchronous = FULL`: every commit syncs the WAL before it returns, so the write-ahead order and every money
//!   transition survive a power cut once the call returns.
//! - Write transactions are `BEGIN IMMEDIATE` ([`Store::transaction`]): the write lock is taken first, so a
//!   read-check-write never fails half-way with "database is locked" when another connection wrote meanwhile.
//! - [`BUSY_TIMEOUT`]: a write waits that long for another connection's write transaction to end. Long jobs (bill
//!   import, reconciliation runs) commit in batches of at most [`BATCH_ROWS`] rows or [`BATCH_TIME`], so no writer
//!   holds the lock for more than a fraction of a second and a payment never waits long; their half-done state is
//!   invisible until one short transaction at the end makes it visible.

pub mod archive;
mod bill_sink;
pub mod dynamic;
pub mod onboarding;
pub mod operators;
pub mod order_query;
pub mod orders;
pub mod pg;
pub mod print;
pub mod pulled;
pub mod recon;
pub mod recon_days;
pub mod recon_stores;
pub mod refunds;
pub mod routing;
pub mod serve;
pub mod settlement;
pub mod shifts;
pub mod sync;
pub mod transitions;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::model::{Acquirer, AcquirerId, AcquirerKind, ChannelMode, OperatorId};

/// The numbered migrations, in order. Migration N brings the schema to `user_version` N.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (3, include_str!("migrations/0003_onboarding.sql")),
    (4, include_str!("migrations/0004_recon.sql")),
    (5, include_str!("migrations/0005_sync.sql")),
    (6, include_str!("migrations/0006_bill_rows_index.sql")),
    (7, include_str!("migrations/0007_routing.sql")),
    (8, include_str!("migrations/0008_lifecycle.sql")),
    (9, include_str!("migrations/0009_staff_checks.sql")),
    (10, include_str!("migrations/0010_bill_types.sql")),
    (11, include_str!("migrations/0011_recon_fields.sql")),
    (12, include_str!("migrations/0012_bill_archive_settlement.sql")),
    (13, include_str!("migrations/0013_recon_resolution.sql")),
    (14, include_str!("migrations/0014_bill_row_ranges.sql")),
    (15, include_str!("migrations/0015_dynamic_codes.sql")),
    (16, include_str!("migrations/0016_shifts.sql")),
    (17, include_str!("migrations/0017_order_search_totals.sql")),
    (18, include_str!("migrations/0018_subject_search_hour_totals.sql")),
    (19, include_str!("migrations/0019_backend.sql")),
    (20, include_str!("migrations/0020_backend_staff.sql")),
    (21, include_str!("migrations/0021_amount_band_totals.sql")),
    (22, include_str!("migrations/0022_backend_shift_reports.sql")),
    (23, include_str!("migrations/0023_backend_history.sql")),
    (24, include_str!("migrations/0024_till_history.sql")),
];

/// The actor every connection this process opens starts with (see [`set_process_actor`]).
static PROCESS_ACTOR: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Says once, at start-up, through what this process changes things ("command line", "window"): every connection it
/// opens afterwards records that actor in its audit entries (the sync worker's and background jobs' too). Later
/// calls change nothing.
pub fn set_process_actor(actor: &'static str) {
    let _ = PROCESS_ACTOR.set(actor);
}

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// How long a write waits for another connection's write transaction to end before "database is locked". Every
/// writer keeps its transactions short (batches for long jobs), so this is a safety margin, not an expected wait.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A long job commits after this many rows at most…
pub const BATCH_ROWS: u64 = 10_000;
/// …and after this long at most, so another writer (a payment) waits a fraction of a second at worst.
pub const BATCH_TIME: Duration = Duration::from_millis(50);

/// What a long job leaves between two batches, so a writer waiting for the lock (polling every millisecond, see
/// [`busy_wait`]) gets it before the job takes it again.
pub const BATCH_PAUSE: Duration = Duration::from_millis(2);

/// The busy handler of every connection: retry every millisecond for [`BUSY_TIMEOUT`]. SQLite's own
/// `busy_timeout` sleeps in growing steps of up to 100 ms, so a payment could keep missing the short gaps between a
/// long job's batches and starve.
fn busy_wait(attempt: i32) -> bool {
    if u128::try_from(attempt).unwrap_or(0) >= BUSY_TIMEOUT.as_millis() {
        return false;
    }
    std::thread::sleep(Duration::from_millis(1));
    true
}

/// Called by long jobs between batches: lets a waiting writer (a payment) in.
pub(crate) fn pause_for_writers() {
    std::thread::sleep(BATCH_PAUSE);
}

/// Every table, in the order `tilldesk doctor` lists them.
pub const TABLES: &[&str] = &[
    "merchants",
    "stores",
    "acquirers",
    "acquirer_bindings",
    "routes",
    "binding_events",
    "operators",
    "orders",
    "order_events",
    "refunds",
    "bills",
    "bill_rows",
    "recon_runs",
    "discrepancies",
    "recon_days",
    "audit_log",
    "outbox",
    "settings",
    "sync_runs",
    "notifications",
    "secret_refs",
    "bill_archive",
    "account_bills",
    "account_bill_rows",
    "shifts",
    "day_closes",
    "order_feed",
    "backend_tills",
    "backend_enrolment_codes",
    "backend_order_tills",
    "backend_refund_tills",
    "backend_closed_numbers",
    "backend_operator_sessions",
    "backend_shift_reports",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error(
        "the database {path} was written by a newer TillDesk (schema version {found}; this version understands up to \
         {supported}). Update TillDesk, or point --data-dir at another folder."
    )]
    SchemaTooNew { path: PathBuf, found: u32, supported: u32 },
    #[error("could not upgrade the database to schema version {version}: {source}")]
    Migration { version: u32, source: rusqlite::Error },
    #[error("there is no {what} {key}")]
    NotFound { what: &'static str, key: String },
    #[error("the database has an unexpected value in {table}.{column}: {value:?}")]
    Corrupt { table: &'static str, column: &'static str, value: String },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A reconciliation day that is closed: nothing about it changes until it is reopened.
    #[error("the reconciliation of {bill_date} was closed by {closed_by} at {closed_at}: reopen the day first")]
    DayClosed { bill_date: String, closed_at: String, closed_by: String },
    /// A resolution or a day closing the data does not allow (see `recon_days`).
    #[error(transparent)]
    Resolution(#[from] recon_days::Refused),
    /// A status change the life-cycle table does not allow (see `lifecycle`).
    #[error("{entity} {key} cannot go from {from} to {to}")]
    Forbidden { entity: &'static str, key: String, from: &'static str, to: &'static str },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open TillDesk database.
pub struct Store {
    conn: Checked,
    path: PathBuf,
}

/// One view of the connection per entity (the repositories): `store.orders()` reads orders, `store.orders_mut()` also
/// writes them; `Store` itself owns the connection and keeps what every repository shares — opening and migrating,
/// transactions, settings and the audit session. Each repository's methods live in the entity's file (`orders.rs`,
/// `refunds.rs`, …); `Repo<&Store>` has the reads, `Repo<&mut Store>` the reads and the writes.
macro_rules! repositories {
    ($($(#[$doc:meta])* $repo:ident: $read:ident, $write:ident;)*) => {
        $(
            $(#[$doc])*
            pub struct $repo<S>(S);

            impl<S: std::ops::Deref<Target = Store>> std::ops::Deref for $repo<S> {
                type Target = Store;
                fn deref(&self) -> &Store {
                    &self.0
                }
            }

            impl<S: std::ops::DerefMut<Target = Store>> std::ops::DerefMut for $repo<S> {
                fn deref_mut(&mut self) -> &mut Store {
                    &mut self.0
                }
            }
        )*

        impl Store {
            $(
                #[doc = concat!("The [`", stringify!($repo), "`] repository, to read.")]
                pub fn $read(&self) -> $repo<&Store> {
                    $repo(self)
                }

                #[doc = concat!("The [`", stringify!($repo), "`] repository, to read and write.")]
                pub fn $write(&mut self) -> $repo<&mut Store> {
                    $repo(self)
                }
            )*
        }
    };
}

repositories! {
    /// Orders: creating them, their events and life-cycle moves, the order list's pages and totals, dynamic codes,
    /// orders pulled from the merchant backend (`orders.rs`, `order_query/`, `dynamic.rs`, `pulled.rs`,
    /// `transitions.rs`).
    Orders: orders, orders_mut;
    /// Refunds and their life-cycle moves (`refunds.rs`, `transitions.rs`).
    Refunds: refunds, refunds_mut;
    /// Operators, PINs and the audit log (`operators.rs`).
    Staff: staff, staff_mut;
    /// Shifts and day closes (`shifts.rs`).
    Shifts: shifts, shifts_mut;
    /// The merchant, its stores, acquirer accounts, onboarding, bindings under a CDS index, routes and printable
    /// codes (`onboarding.rs`, `routing.rs`, `print.rs`).
    Setup: setup, setup_mut;
    /// The outbox, sync runs, notifications and secret references (`sync.rs`, `transitions.rs`).
    SyncRepo: sync, sync_mut;
    /// The merchant backend's tills, enrolment, operator sessions and order feed (`serve.rs`).
    BackendRepo: backend, backend_mut;
    /// Bills, reconciliation runs and days, settlement and the bill archive (`recon/`, `recon_days.rs`,
    /// `settlement.rs`, `archive.rs`).
    Recon: recon, recon_mut;
}

/// The connection, with a debug assertion on every use that it is not used while the window draws a frame
/// ([`crate::thread_role`]): the screens reach the database through the command queue only.
struct Checked(Connection);

impl std::ops::Deref for Checked {
    type Target = Connection;
    #[track_caller]
    fn deref(&self) -> &Connection {
        crate::thread_role::assert_off_ui("SQL");
        &self.0
    }
}

impl std::ops::DerefMut for Checked {
    #[track_caller]
    fn deref_mut(&mut self) -> &mut Connection {
        crate::thread_role::assert_off_ui("SQL");
        &mut self.0
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        crate::thread_role::assert_off_ui("opening the database");
        // 0600 from the first byte (SQLite gives its -wal and -shm the database's mode); looser files tightened.
        crate::private_files::secure_database_before_open(path);
        let conn = Connection::open(path).map_err(|source| StoreError::Open { path: path.to_owned(), source })?;
        let store = Self::configure(conn, path.to_owned())?;
        crate::private_files::secure_database_after_open(path);
        Ok(store)
    }

    /// A private in-memory database with the full schema, for tests and previews.
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()
            .map_err(|source| StoreError::Open { path: PathBuf::from(":memory:"), source })?;
        Self::configure(conn, PathBuf::from(":memory:"))
    }

    fn configure(mut conn: Connection, path: PathBuf) -> Result<Self> {
        let open_err = |source| StoreError::Open { path: path.clone(), source };
        conn.busy_handler(Some(busy_wait)).map_err(open_err)?;
        // journal_mode answers with a row; in-memory databases stay "memory".
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(open_err)?;
        // FULL: a commit returns only once the WAL is on disk (NORMAL would lose the last commits on power loss).
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;").map_err(open_err)?;
        migrate(&mut conn, &path)?;
        // Who this connection acts for when a change names no operator (see `set_audit_session`); per connection.
        conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS audit_session (
                 one INTEGER PRIMARY KEY CHECK (one = 1), operator_id INTEGER, actor TEXT);",
        )
        .map_err(open_err)?;
        if let Some(actor) = PROCESS_ACTOR.get() {
            conn.execute(
                "INSERT OR REPLACE INTO temp.audit_session (one, operator_id, actor) VALUES (1, NULL, ?1)",
                [actor],
            )
            .map_err(open_err)?;
        }
        Ok(Store { conn: Checked(conn), path })
    }

    /// Where the database lives (":memory:" for an in-memory one).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Writes a compact copy of the whole database to `path` (which must not exist): `VACUUM INTO`, one consistent
    /// snapshot even while others write. The merchant backend publishes its catalogue this way.
    pub fn copy_into(&self, path: &Path) -> Result<()> {
        let target = path.to_string_lossy();
        self.conn.execute("VACUUM INTO ?1", [target.as_ref()])?;
        Ok(())
    }

    /// Row counts of every table, for `tilldesk doctor`.
    pub fn table_counts(&self) -> Result<Vec<(&'static str, i64)>> {
        TABLES
            .iter()
            .map(|table| {
                let n: i64 = self.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
                Ok((*table, n))
            })
            .collect()
    }

    /// Runs `work` in one write transaction: everything it writes lands, or nothing does. The transaction is
    /// IMMEDIATE: it takes the write lock first (waiting up to [`BUSY_TIMEOUT`]), so what `work` reads cannot change
    /// before it writes.
    pub fn transaction<T>(&mut self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// A stored setting, if it was ever set.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    /// Changes a setting and writes the audit entry for it, in one transaction. A no-op change writes nothing.
    pub fn set_setting(&mut self, key: &str, value: &str, operator: Option<OperatorId>) -> Result<()> {
        let before = self.setting(key)?;
        if before.as_deref() == Some(value) {
            return Ok(());
        }
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![key, value, now],
            )?;
            append_audit(tx, &now, operator, "setting.change", key, before.as_deref(), Some(value))?;
            Ok(())
        })
    }

    /// Records the app's own bookkeeping (e.g. which day's bills the sync worker fetched) in the settings table
    /// without an audit entry: nobody changed a setting.
    pub fn set_bookkeeping(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![key, value, crate::time::now_utc()],
        )?;
        Ok(())
    }

    /// Says who this connection acts for: every audit entry written through it that names no operator is recorded
    /// for `operator`, and all carry `actor` ("command line", "window"), so no entry is left without an actor.
    pub fn set_audit_session(&mut self, operator: Option<OperatorId>, actor: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO temp.audit_session (one, operator_id, actor) VALUES (1, ?1, ?2)
             ON CONFLICT(one) DO UPDATE SET operator_id = excluded.operator_id, actor = excluded.actor",
            params![operator.map(|o| o.0), actor],
        )?;
        Ok(())
    }

    /// The most recent audit entries, newest first (the first page of [`Staff::audit_page`]).
    pub fn recent_audit(&self, limit: u32) -> Result<Vec<crate::model::AuditEntry>> {
        self.staff().audit_page(None, limit)
    }
}

impl<S: std::ops::Deref<Target = Store>> Setup<S> {
    /// The acquirers configured locally (the "channels"), in the order they were added.
    pub fn acquirers(&self) -> Result<Vec<Acquirer>> {
        let mut stmt = self.conn.prepare("SELECT id, kind, name, mode, gateway_url FROM acquirers ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get::<_, String>(3)?, r.get(4)?))
        })?;
        rows.map(|row| {
            let (id, kind, name, mode, gateway_url) = row?;
            Ok(Acquirer {
                id: AcquirerId(id),
                kind: AcquirerKind::parse(&kind).ok_or(StoreError::Corrupt {
                    table: "acquirers",
                    column: "kind",
                    value: kind.clone(),
                })?,
                name,
                mode: ChannelMode::parse(&mode).ok_or(StoreError::Corrupt {
                    table: "acquirers",
                    column: "mode",
                    value: mode.clone(),
                })?,
                gateway_url,
            })
        })
        .collect()
    }
}

impl<S: std::ops::DerefMut<Target = Store>> Setup<S> {
    /// Adds an acquirer (a channel) and audits it.
    pub fn add_acquirer(
        &mut self,
        kind: AcquirerKind,
        name: &str,
        mode: ChannelMode,
        gateway_url: &str,
        operator: Option<OperatorId>,
    ) -> Result<AcquirerId> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO acquirers (kind, name, mode, gateway_url, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![kind.as_str(), name, mode.as_str(), gateway_url, now],
            )?;
            let id = AcquirerId(tx.last_insert_rowid());
            let after = format!("{kind} {mode} {gateway_url}");
            append_audit(tx, &now, operator, "acquirer.add", name, None, Some(&after))?;
            Ok(id)
        })
    }
}

/// Writes one audit entry inside the caller's transaction (the audit log is append-only: triggers refuse changes).
fn append_audit(
    tx: &Transaction<'_>,
    at: &str,
    operator: Option<OperatorId>,
    action: &str,
    subject: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO audit_log (at, operator_id, action, subject, before, after, actor)
         VALUES (?1, COALESCE(?2, (SELECT operator_id FROM temp.audit_session)), ?3, ?4, ?5, ?6,
                 (SELECT actor FROM temp.audit_session))",
        params![at, operator.map(|o| o.0), action, subject, before, after],
    )?;
    Ok(())
}

/// Applies every migration newer than the file's `user_version`, each in its own transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { path: path.to_owned(), found, supported: SCHEMA_VERSION });
    }
    for &(version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        let tx = conn.transaction().map_err(|source| StoreError::Migration { version, source })?;
        tx.execute_batch(sql).map_err(|source| StoreError::Migration { version, source })?;
        tx.pragma_update(None, "user_version", version).map_err(|source| StoreError::Migration { version, source })?;
        tx.commit().map_err(|source| StoreError::Migration { version, source })?;
        tracing::info!(version, "database migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_create_every_table_and_reopen_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tilldesk.sqlite3");
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let counts = store.table_counts().unwrap();
        assert_eq!(counts.len(), TABLES.len());
        assert!(counts.iter().all(|(_, n)| *n == 0));
        store.set_setting("ui.language", "en", None).unwrap();
        drop(store);

        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.setting("ui.language").unwrap().as_deref(), Some("en"));
        let mode: String = store.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store.conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn every_commit_is_synced_and_writers_wait_for_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("tilldesk.sqlite3")).unwrap();
        // 2 = FULL: the WAL is synced at every commit (NORMAL, 1, loses the last commits on power loss).
        let synchronous: i64 = store.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(synchronous, 2);
        assert!(BUSY_TIMEOUT >= Duration::from_secs(10) && BATCH_TIME <= Duration::from_millis(100));
        assert!(busy_wait(0) && busy_wait(1000));
        assert!(!busy_wait(i32::try_from(BUSY_TIMEOUT.as_millis()).unwrap()));
    }

    #[test]
    fn a_transaction_takes_the_write_lock_before_it_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tilldesk.sqlite3");
        let mut a = Store::open(&path).unwrap();
        let b = Store::open(&path).unwrap();
        b.conn.busy_timeout(Duration::ZERO).unwrap();
        a.transaction(|_tx| {
            // Inside a's transaction nobody else may write, even though a has not written yet.
            let err = b.conn.execute("INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', 'now')", []);
            assert!(err.is_err(), "the write lock must already be a's");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 7).unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found, supported, .. } if found == SCHEMA_VERSION + 7 && supported == SCHEMA_VERSION)
        );
        let msg = err.to_string();
        assert!(msg.contains("newer TillDesk") && msg.contains("future.sqlite3"), "{msg}");
    }

    #[test]
    fn settings_changes_are_audited_in_the_same_transaction() {
        let mut store = Store::open_in_memory().unwrap();
        store.set_setting("ui.language", "zh-CN", None).unwrap();
        store.set_setting("ui.language", "zh-CN", None).unwrap(); // unchanged: no entry
        store.set_setting("ui.language", "en", None).unwrap();
        let audit = store.recent_audit(10).unwrap();
        assert_eq!(audit.len(), 2);
        assert_eq!(audit[0].before.as_deref(), Some("zh-CN"));
        assert_eq!(audit[0].after.as_deref(), Some("en"));
        assert_eq!(audit[1].before, None);
    }

    #[test]
    fn the_audit_log_is_append_only() {
        let mut store = Store::open_in_memory().unwrap();
        store.set_setting("k", "v", None).unwrap();
        let err = store.conn.execute("DELETE FROM audit_log", []).unwrap_err();
        assert!(err.to_string().contains("append-only"));
        let err = store.conn.execute("UPDATE audit_log SET action = 'x'", []).unwrap_err();
        assert!(err.to_string().contains("append-only"));
    }

    #[test]
    fn a_failed_multi_row_write_leaves_nothing_behind() {
        let mut store = Store::open_in_memory().unwrap();
        let result: Result<()> = store.transaction(|tx| {
            tx.execute("INSERT INTO settings (key, value, updated_at) VALUES ('a', '1', 'now')", [])?;
            // Violates the foreign key: no such acquirer.
            tx.execute(
                "INSERT INTO bills (acquirer_id, bill_date, source_name, content_hash, imported_at)
                 VALUES (999, '2026-11-24', 'x.zip', 'h', 'now')",
                [],
            )?;
            Ok(())
        });
        assert!(result.is_err());
        assert_eq!(store.setting("a").unwrap(), None);
    }

    #[test]
    fn unique_protocol_keys_are_enforced() {
        let mut store = Store::open_in_memory().unwrap();
        let acquirer =
            store.setup_mut().add_acquirer(AcquirerKind::Alipay, "Alipay", ChannelMode::Sandbox, "", None).unwrap();
        let insert = |store: &mut Store| {
            store.transaction(|tx| {
                tx.execute(
                    "INSERT INTO merchants (id, legal_name, display_name, created_at) VALUES (1, 'M', 'M', 'now')
                     ON CONFLICT DO NOTHING",
                    [],
                )?;
                tx.execute(
                    "INSERT INTO stores (id, merchant_id, store_code, name, created_at) VALUES (1, 1, 'S1', 'S', 'now')
                     ON CONFLICT DO NOTHING",
                    [],
                )?;
                tx.execute(
                    "INSERT INTO orders (out_trade_no, store_id, acquirer_id, total_amount, status, created_at, updated_at)
                     VALUES ('T1', 1, ?1, 100, 'PAYING', 'now', 'now')",
                    [acquirer.0],
                )?;
                Ok(())
            })
        };
        insert(&mut store).unwrap();
        assert!(insert(&mut store).is_err(), "a second order with the same out_trade_no must be refused");
    }
}
