//! The merchant backend's shared state on PostgreSQL (`tilldesk serve --database postgres://…`): tills, enrolment
//! codes and tokens ([`tills`]), the tills' orders and refunds with their transition functions and the order feed
//! ([`orders`], [`moves`]), the staff ([`staff`]), the claims of unfinished work ([`claims`]) and the bills'
//! reconciliation runs ([`recon`]). The only PostgreSQL
//! SQL of TillDesk; several `serve` instances share one database.
//!
//! - A pool of connections (deadpool) on the app's one tokio runtime (tokio-postgres).
//! - Numbered migrations (`store/pg_migrations/`), applied at open in one transaction under an advisory lock, so
//!   two instances starting at once do not race: the second waits and then finds them applied.
//! - Money is BIGINT fen ([`Amount`](crate::money::Amount)); times are `timestamptz`, handed out as the same UTC
//!   text the SQLite store uses.
//! - Every status move of an order or refund goes through [`moves`], which consults the same tables
//!   ([`crate::lifecycle`]) and the same PAID checks ([`super::transitions`]) as the SQLite store.

pub mod catalogue;
pub mod claims;
pub mod dashboard;
pub mod history;
pub mod lists;
pub mod moves;
pub mod notices;
pub mod orders;
pub mod recon;
pub mod recon_days;
pub mod staff;
pub mod tills;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_postgres::NoTls;

/// The numbered migrations, in order.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../pg_migrations/0001_backend.sql")),
    (2, include_str!("../pg_migrations/0002_notifications.sql")),
    (3, include_str!("../pg_migrations/0003_catalogue.sql")),
    (4, include_str!("../pg_migrations/0004_dynamic_codes.sql")),
    (5, include_str!("../pg_migrations/0005_shift_reports.sql")),
    (6, include_str!("../pg_migrations/0006_recon.sql")),
    (7, include_str!("../pg_migrations/0007_recon_resolutions.sql")),
    (8, include_str!("../pg_migrations/0008_history_orders.sql")),
];

/// The schema version this TillDesk brings a PostgreSQL database to (its newest migration).
pub const SCHEMA_VERSION: i32 = 8;

/// The advisory lock (first key) under which migrations run; the second key is the schema's hash.
const MIGRATION_LOCK: i32 = 20231;

/// Connections kept per instance.
const POOL_SIZE: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("the PostgreSQL URL is not valid: {0}")]
    Url(#[source] tokio_postgres::Error),
    #[error("cannot reach the PostgreSQL database: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("cannot set up the PostgreSQL pool: {0}")]
    Build(#[from] deadpool_postgres::BuildError),
    #[error("PostgreSQL error: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("could not bring the PostgreSQL schema to version {version}: {source}")]
    Migration { version: i32, source: tokio_postgres::Error },
    #[error(
        "the PostgreSQL schema is at version {found}, newer than this TillDesk understands ({supported}): update \
         TillDesk"
    )]
    SchemaTooNew { found: i32, supported: i32 },
    #[error("there is no {what} {key}")]
    NotFound { what: &'static str, key: String },
    #[error("the database has an unexpected value in {table}.{column}: {value:?}")]
    Corrupt { table: &'static str, column: &'static str, value: String },
    #[error("not a UTC time: {0:?}")]
    Time(String),
    #[error(
        "the catalogue was changed meanwhile (version {found} by {by}; this change started from {base}): it was not \
         published, run the command again"
    )]
    CatalogueMoved { base: String, found: i64, by: String },
    /// A resolution or a day's closing the data does not allow.
    #[error(transparent)]
    Resolution(#[from] crate::store::recon_days::Refused),
    #[error("the reconciliation of {bill_date} was closed by {closed_by} at {closed_at}: reopen the day first")]
    DayClosed { bill_date: String, closed_by: String, closed_at: String },
}

pub type Result<T, E = PgError> = std::result::Result<T, E>;

/// The backend's PostgreSQL database: a pool of connections, migrated at open.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never shown.
        f.debug_struct("PgStore").field("size", &self.pool.status().size).finish()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and migrates. `schema`: work in that schema (it must
    /// exist) instead of the user's default search path — tests give each one its own.
    pub async fn open(url: &str, schema: Option<&str>) -> Result<PgStore> {
        let mut config: tokio_postgres::Config = url.parse().map_err(PgError::Url)?;
        if let Some(schema) = schema {
            config.options(format!("-c search_path={schema}"));
        }
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(POOL_SIZE).build()?;
        let store = PgStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    pub(crate) async fn conn(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    /// Applies the migrations not yet applied, all in one transaction under an advisory lock.
    async fn migrate(&self) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", &[&MIGRATION_LOCK]).await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
        )
        .await?;
        let found: i32 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await?.get(0);
        let supported = SCHEMA_VERSION;
        if found > supported {
            return Err(PgError::SchemaTooNew { found, supported });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
            tx.batch_execute(sql).await.map_err(|source| PgError::Migration { version: *version, source })?;
            tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", &[version]).await?;
            tracing::info!(version, "PostgreSQL schema migrated");
        }
        tx.commit().await?;
        Ok(())
    }

    /// The schema version (the newest migration applied).
    pub async fn schema_version(&self) -> Result<i32> {
        let conn = self.conn().await?;
        Ok(conn.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await?.get(0))
    }

    /// The rows of every table of the backend, for `tilldesk serve doctor`.
    pub async fn table_counts(&self) -> Result<Vec<(&'static str, i64)>> {
        const TABLES: &[&str] = &[
            "tills",
            "enrolment_codes",
            "orders",
            "order_events",
            "dynamic_codes",
            "refunds",
            "closed_numbers",
            "order_feed",
            "operators",
            "operator_sessions",
            "audit_log",
            "notifications",
            "catalogue_versions",
            "shift_reports",
            "recon_jobs",
            "recon_runs",
            "recon_bills",
            "recon_differences",
            "recon_run_shares",
            "recon_closed_days",
        ];
        let conn = self.conn().await?;
        let mut out = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let n: i64 = conn.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[]).await?.get(0);
            out.push((*table, n));
        }
        Ok(out)
    }
}

/// Stored UTC text (`2026-01-01T00:00:00.000000Z`) as a time.
pub(crate) fn parse_utc(text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| PgError::Time(text.to_owned()))
}

/// A time as the rest of TillDesk stores it.
pub(crate) fn utc(t: OffsetDateTime) -> String {
    crate::time::format_utc(t)
}

pub(crate) fn utc_opt(t: Option<OffsetDateTime>) -> Option<String> {
    t.map(utc)
}

/// Appends to the audit trail inside the caller's transaction.
pub(crate) async fn audit(
    tx: &deadpool_postgres::Transaction<'_>,
    operator: Option<i64>,
    action: &str,
    subject: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO audit_log (at, operator_id, action, subject, before, after) VALUES (now(), $1, $2, $3, $4, $5)",
        &[&operator, &action, &subject, &before, &after],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_up_to_the_schema_version() {
        let numbers: Vec<i32> = MIGRATIONS.iter().map(|m| m.0).collect();
        assert_eq!(numbers, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    }

    #[test]
    fn stored_times_read_back_as_the_same_utc_text() {
        let text = "2026-11-25T02:00:04.000000Z";
        assert_eq!(utc(parse_utc(text).unwrap()), text);
        assert!(matches!(parse_utc("yesterday"), Err(PgError::Time(_))));
    }
}
