//! The catalogue of a backend on PostgreSQL — its stores, acquirer accounts, routes and live settings, and the key
//! vault (encrypted) — published in the shared database, so every instance serves the same one and needs no copied
//! folder (`store::pg::catalogue` keeps the versions).
//!
//! - **Publishing**: `keys`, `onboard` and `acquirers` given a `postgres://` `--database` work on a [`WorkingCopy`]:
//!   the newest published version written into the folder (`serve.sqlite3` and `secrets.vault`), the command run
//!   on it as on any catalogue, then — if it changed anything — published as the next version, only if nobody
//!   published meanwhile. `tilldesk serve publish` publishes a folder's catalogue as it is (a backend configured
//!   before its catalogue lived in the database).
//! - **Serving**: an instance writes the newest version into `catalogue/v<N>/` of its folder ([`materialize`]),
//!   serves it, unlocks its vault with `TILLDESK_PASSPHRASE`, and looks for a newer version every few seconds
//!   (`serve::start`'s caller swaps the catalogue in without a restart).
//!
//! The image is a SQLite copy of the catalogue file (`VACUUM INTO`, the schema every TillDesk reads, migrated on
//! open when a newer TillDesk reads an older image); the vault is the vault file itself (Argon2id parameters, salt,
//! nonce and AES-256-GCM ciphertext: nothing readable without the passphrase).

use std::path::{Path, PathBuf};

use sha2::Digest as _;

use crate::secrets::Vault;
use crate::store::pg::catalogue::{CatalogueImage, CatalogueVersion};
use crate::store::pg::{PgError, PgStore};
use crate::store::{Store, StoreError};

/// The folder (inside a data folder) where an instance keeps the versions it served.
pub const CATALOGUE_DIR: &str = "catalogue";

/// Beside a working copy: the published version it was last brought to.
const PUBLISHED_MARK: &str = "serve.sqlite3.published";

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pg(#[from] PgError),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("catalogue version {version} in the database is damaged (its bytes do not match their hash)")]
    Damaged { version: i64 },
}

type Result<T, E = CatalogueError> = std::result::Result<T, E>;

/// A version written into a folder: its catalogue file and the folder holding its vault file.
#[derive(Debug, Clone)]
pub struct Materialized {
    pub version: CatalogueVersion,
    /// `catalogue/v<N>/`: holds `serve.sqlite3` and (when published with keys) `secrets.vault`.
    pub dir: PathBuf,
    pub db: PathBuf,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The image of the catalogue file `db` with the vault file of `vault_dir` (if any).
pub fn image(db: &Path, vault_dir: &Path) -> Result<CatalogueImage> {
    crate::thread_role::assert_off_ui("copying the catalogue");
    let store = Store::open(db)?;
    let tmp = db.with_extension(format!("image-{:016x}.tmp", rand::random::<u64>()));
    let copied = store.copy_into(&tmp);
    let read = copied
        .map_err(CatalogueError::from)
        .and_then(|()| std::fs::read(&tmp).map_err(|source| CatalogueError::Read { path: tmp.clone(), source }));
    let _ = std::fs::remove_file(&tmp);
    let catalogue = read?;
    let vault_path = Vault::path_in(vault_dir);
    let vault = match std::fs::read(&vault_path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(CatalogueError::Read { path: vault_path, source }),
    };
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    Ok(CatalogueImage {
        sqlite_schema: i32::try_from(store.schema_version()?).unwrap_or(i32::MAX),
        catalogue_hash: sha256_hex(&catalogue),
        catalogue,
        vault,
        stores: count(store.setup().stores()?.len()),
        acquirers: count(store.setup().acquirers()?.len()),
    })
}

/// Writes `bytes` to `path` durably and privately (0600): a temporary file flushed, then renamed over.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let write = |source| CatalogueError::Write { path: path.to_owned(), source };
    let tmp = path.with_extension(format!("{:016x}.tmp", rand::random::<u64>()));
    let mut out = crate::private_files::create_private_file(&tmp).map_err(write)?;
    out.write_all(bytes).map_err(write)?;
    out.sync_all().map_err(write)?;
    drop(out);
    std::fs::rename(&tmp, path).map_err(write)?;
    Ok(())
}

/// Writes the newest published version into `data_dir/catalogue/v<N>/` (once: a version never changes) and answers
/// where; None when nothing is published.
pub async fn materialize(pg: &PgStore, data_dir: &Path) -> Result<Option<Materialized>> {
    let Some((version, image)) = pg.newest_catalogue().await? else {
        return Ok(None);
    };
    if sha256_hex(&image.catalogue) != image.catalogue_hash {
        return Err(CatalogueError::Damaged { version: version.version });
    }
    let data_dir = data_dir.to_owned();
    tokio::task::spawn_blocking(move || write_version(&data_dir, version, &image))
        .await
        .map_err(|e| CatalogueError::Write { path: PathBuf::from(CATALOGUE_DIR), source: std::io::Error::other(e) })?
        .map(Some)
}

fn write_version(data_dir: &Path, version: CatalogueVersion, image: &CatalogueImage) -> Result<Materialized> {
    let root = data_dir.join(CATALOGUE_DIR);
    let dir = root.join(format!("v{}", version.version));
    let db = dir.join(super::DATABASE_FILE);
    let private = |path: &Path| {
        crate::private_files::private_dir(path)
            .map(|_| ())
            .map_err(|source| CatalogueError::Write { path: path.to_owned(), source })
    };
    if !db.is_file() {
        private(data_dir)?;
        private(&root)?;
        // Written beside, then renamed into place: a folder `v<N>` is always whole.
        let tmp = root.join(format!("v{}.{:016x}.tmp", version.version, rand::random::<u64>()));
        private(&tmp)?;
        write_private(&tmp.join(super::DATABASE_FILE), &image.catalogue)?;
        if let Some(vault) = &image.vault {
            write_private(&Vault::path_in(&tmp), vault)?;
        }
        match std::fs::rename(&tmp, &dir) {
            Ok(()) => {}
            // Another instance of this folder wrote it first: the same bytes.
            Err(_) if db.is_file() => {
                let _ = std::fs::remove_dir_all(&tmp);
            }
            Err(source) => return Err(CatalogueError::Write { path: dir, source }),
        }
        crate::private_files::sync_dir(&root).map_err(|source| CatalogueError::Write { path: root.clone(), source })?;
    }
    Ok(Materialized { version, dir, db })
}

/// The folder's catalogue (`serve.sqlite3`) and vault as `keys`, `onboard` and `acquirers` change them for a
/// backend on PostgreSQL: brought to the newest published version first, published again after (see the module
/// doc).
#[derive(Debug)]
pub struct WorkingCopy {
    pg: PgStore,
    dir: PathBuf,
    db: PathBuf,
    /// The version the folder was brought to (None: nothing published yet).
    base: Option<i64>,
    before: (String, Option<Vec<u8>>),
}

impl WorkingCopy {
    /// Brings the folder `dir`'s catalogue to the newest published version (when it is not there already).
    pub async fn begin(url: &str, schema: Option<&str>, dir: &Path) -> Result<WorkingCopy> {
        let pg = PgStore::open(url, schema).await?;
        crate::private_files::private_dir(dir).map_err(|source| CatalogueError::Write { path: dir.into(), source })?;
        let db = dir.join(super::DATABASE_FILE);
        let mark = dir.join(PUBLISHED_MARK);
        let newest = pg.newest_catalogue().await?;
        let base = newest.as_ref().map(|(v, _)| v.version);
        let here = std::fs::read_to_string(&mark).ok().and_then(|t| t.trim().parse::<i64>().ok());
        if let Some((version, image)) = newest
            && (here != Some(version.version) || !db.is_file())
        {
            if sha256_hex(&image.catalogue) != image.catalogue_hash {
                return Err(CatalogueError::Damaged { version: version.version });
            }
            // The old file's write-ahead log must not be replayed into the new one.
            for file in crate::private_files::database_files(&db).iter().skip(1) {
                let _ = std::fs::remove_file(file);
            }
            write_private(&db, &image.catalogue)?;
            let vault = Vault::path_in(dir);
            match &image.vault {
                Some(bytes) => write_private(&vault, bytes)?,
                None => {
                    let _ = std::fs::remove_file(&vault);
                }
            }
            write_private(&mark, version.version.to_string().as_bytes())?;
            tracing::info!(version = version.version, "catalogue brought to the published version");
        }
        let before = Self::state(&db, dir)?;
        Ok(WorkingCopy { pg, dir: dir.to_owned(), db, base, before })
    }

    /// The catalogue's hash and the vault's bytes as they are now.
    fn state(db: &Path, dir: &Path) -> Result<(String, Option<Vec<u8>>)> {
        if !db.is_file() {
            return Ok((String::new(), None));
        }
        let image = image(db, dir)?;
        Ok((image.catalogue_hash, image.vault))
    }

    /// The version the folder was brought to.
    pub fn base(&self) -> Option<i64> {
        self.base
    }

    /// Publishes what changed since [`WorkingCopy::begin`] as the next version (`by`: who, for the record); None
    /// when nothing changed. Refused when another was published meanwhile: the folder goes back to the newest at
    /// the next command.
    pub async fn finish(self, by: &str) -> Result<Option<i64>> {
        let (dir, db) = (self.dir.clone(), self.db.clone());
        let after = tokio::task::spawn_blocking(move || image(&db, &dir))
            .await
            .map_err(|e| CatalogueError::Write { path: self.db.clone(), source: std::io::Error::other(e) })??;
        if (after.catalogue_hash.as_str(), &after.vault) == (self.before.0.as_str(), &self.before.1) {
            return Ok(None);
        }
        self.publish(&after, by).await.map(Some)
    }

    async fn publish(&self, image: &CatalogueImage, by: &str) -> Result<i64> {
        let mark = self.dir.join(PUBLISHED_MARK);
        match self.pg.publish_catalogue(self.base, image, by).await {
            Ok(version) => {
                write_private(&mark, version.to_string().as_bytes())?;
                tracing::info!(version, "catalogue published");
                Ok(version)
            }
            Err(e) => {
                // This folder's change lost: the next command starts again from the newest version.
                let _ = std::fs::remove_file(&mark);
                Err(e.into())
            }
        }
    }
}
