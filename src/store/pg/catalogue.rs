//! The backend's catalogue and key vault on PostgreSQL, shared by every instance: each change is a new numbered
//! version (`catalogue_versions`), published in one transaction only if nobody published since the version it
//! started from, so two administrators changing it at once never lose one change silently. What a version holds
//! (a SQLite image and the encrypted vault file) is opaque here: `serve::catalogue` makes and reads it.

use time::OffsetDateTime;

use super::{PgError, PgStore, Result, utc};

/// The advisory lock (first key) under which a version is published.
const PUBLISH_LOCK: i32 = 20233;

/// How many versions are kept (older ones are deleted as new ones are published).
pub const VERSIONS_KEPT: i64 = 20;

/// What is published: the catalogue's SQLite image and the encrypted vault file (None: no keys yet).
#[derive(Clone)]
pub struct CatalogueImage {
    pub sqlite_schema: i32,
    pub catalogue: Vec<u8>,
    /// SHA-256 of `catalogue`, hex.
    pub catalogue_hash: String,
    /// The vault file as written by `secrets::Vault` (ciphertext, salt and Argon2 parameters only).
    pub vault: Option<Vec<u8>>,
    pub stores: i32,
    pub acquirers: i32,
}

impl std::fmt::Debug for CatalogueImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogueImage")
            .field("bytes", &self.catalogue.len())
            .field("hash", &self.catalogue_hash)
            .field("vault", &self.vault.as_ref().map(Vec::len))
            .field("stores", &self.stores)
            .field("acquirers", &self.acquirers)
            .finish()
    }
}

/// A version as listed (without its bytes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CatalogueVersion {
    pub version: i64,
    /// UTC.
    pub published_at: String,
    pub published_by: String,
    pub catalogue_hash: String,
    pub has_vault: bool,
    pub stores: i32,
    pub acquirers: i32,
}

impl PgStore {
    /// The newest version's number (None: nothing published yet). Cheap: instances ask it every few seconds.
    pub async fn catalogue_version(&self) -> Result<Option<i64>> {
        let conn = self.conn().await?;
        Ok(conn.query_one("SELECT MAX(version) FROM catalogue_versions", &[]).await?.get(0))
    }

    /// The newest versions, newest first.
    pub async fn catalogue_versions(&self, limit: i64) -> Result<Vec<CatalogueVersion>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT version, published_at, published_by, catalogue_hash, vault IS NOT NULL, stores, acquirers
                 FROM catalogue_versions ORDER BY version DESC LIMIT $1",
                &[&limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| CatalogueVersion {
                version: r.get(0),
                published_at: utc(r.get::<_, OffsetDateTime>(1)),
                published_by: r.get(2),
                catalogue_hash: r.get(3),
                has_vault: r.get(4),
                stores: r.get(5),
                acquirers: r.get(6),
            })
            .collect())
    }

    /// The newest version with its bytes (None: nothing published yet).
    pub async fn newest_catalogue(&self) -> Result<Option<(CatalogueVersion, CatalogueImage)>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT version, published_at, published_by, sqlite_schema, catalogue, catalogue_hash, vault, stores,
                        acquirers
                 FROM catalogue_versions ORDER BY version DESC LIMIT 1",
                &[],
            )
            .await?;
        Ok(row.map(|r| {
            let vault: Option<Vec<u8>> = r.get(6);
            let version = CatalogueVersion {
                version: r.get(0),
                published_at: utc(r.get::<_, OffsetDateTime>(1)),
                published_by: r.get(2),
                catalogue_hash: r.get(5),
                has_vault: vault.is_some(),
                stores: r.get(7),
                acquirers: r.get(8),
            };
            let image = CatalogueImage {
                sqlite_schema: r.get(3),
                catalogue: r.get(4),
                catalogue_hash: r.get(5),
                vault,
                stores: r.get(7),
                acquirers: r.get(8),
            };
            (version, image)
        }))
    }

    /// Publishes `image` as the version after `base` (None: the first), unless another was published since `base`
    /// ([`PgError::CatalogueMoved`], nothing written). Keeps the newest [`VERSIONS_KEPT`]. Returns the new number.
    pub async fn publish_catalogue(&self, base: Option<i64>, image: &CatalogueImage, by: &str) -> Result<i64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&PUBLISH_LOCK]).await?;
        let newest = tx
            .query_opt("SELECT version, published_by FROM catalogue_versions ORDER BY version DESC LIMIT 1", &[])
            .await?;
        let newest: Option<(i64, String)> = newest.map(|r| (r.get(0), r.get(1)));
        if newest.as_ref().map(|n| n.0) != base {
            let (found, by) = newest.unwrap_or((0, String::new()));
            let base = base.map_or_else(|| "none".to_owned(), |b| b.to_string());
            return Err(PgError::CatalogueMoved { base, found, by });
        }
        let version = base.unwrap_or(0) + 1;
        tx.execute(
            "INSERT INTO catalogue_versions (version, published_at, published_by, sqlite_schema, catalogue,
                catalogue_hash, vault, stores, acquirers)
             VALUES ($1, now(), $2, $3, $4, $5, $6, $7, $8)",
            &[
                &version,
                &by,
                &image.sqlite_schema,
                &image.catalogue,
                &image.catalogue_hash,
                &image.vault,
                &image.stores,
                &image.acquirers,
            ],
        )
        .await?;
        tx.execute("DELETE FROM catalogue_versions WHERE version <= $1", &[&(version - VERSIONS_KEPT)]).await?;
        super::audit(&tx, None, "catalogue.publish", &format!("catalogue v{version}"), None, Some(by)).await?;
        tx.commit().await?;
        Ok(version)
    }
}
