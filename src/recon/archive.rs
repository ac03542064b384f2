//! The bill archive: every bill file downloaded or imported is kept under the data folder by its content
//! (`<data>/bills/archive/<sha256>`, 0600 in a 0700 folder) and recorded in the database (hash, size, source,
//! original name, account, day, format and type), so a day can be reconciled again long after the acquirer stopped
//! serving its bill (`tilldesk bills reimport --date D`).
//!
//! A file is archived once its import has succeeded (or found the same bill already imported); a failed import
//! leaves no record (and no file: the copy is made after the import). Before a re-import each archived file's hash
//! is checked: a file that changed is an error naming it, and nothing is imported.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::Digest as _;
use time::Date;

use super::import::{BillFormat, ImportControl, ImportOptions, ImportOutcome};
use super::{ReconError, date_text};
use crate::model::{AcquirerId, AcquirerKind};
use crate::store::Store;
use crate::store::archive::{ArchiveSource, ArchivedBill, NewArchived};

/// What can go wrong with the archive itself.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the bill was imported, but cannot be kept in the archive {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the archived bill {path} ({name}, {date}) is missing: it cannot be imported again")]
    Missing { path: PathBuf, name: String, date: String },
    #[error(
        "the archived bill {path} ({name}, {date}) has changed since it was archived (sha256 {found}, archived as \
         {expected}): nothing was imported"
    )]
    Changed { path: PathBuf, name: String, date: String, expected: String, found: String },
    #[error("no bill of {date} is in the archive{for_account}")]
    Nothing { date: String, for_account: String },
    #[error("this database is not in a data folder (in memory): there is no bill archive")]
    NoDataFolder,
}

/// The archive folder of a data folder.
pub fn archive_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("bills").join("archive")
}

/// The data folder a database lives in; None for an in-memory database.
pub fn data_dir_of(store: &Store) -> Option<PathBuf> {
    let path = store.path();
    if path == Path::new(":memory:") {
        return None;
    }
    Some(path.parent().map(Path::to_path_buf).unwrap_or_default())
}

/// sha256 of a file, lowercase hex, and its size.
pub fn file_sha256(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// What the archive records about a file besides its bytes.
#[derive(Debug, Clone)]
pub struct ArchiveEntry<'a> {
    pub acquirer_id: AcquirerId,
    pub bill_date: &'a str,
    pub format: &'a str,
    pub bill_type: &'a str,
    pub source: ArchiveSource,
}

/// Copies `path` into the archive (unless a file of that content is there already) and records it. Returns None
/// for an in-memory database (no data folder).
pub fn keep_file(store: &mut Store, path: &Path, entry: &ArchiveEntry<'_>) -> Result<Option<ArchivedBill>, ReconError> {
    let Some(data_dir) = data_dir_of(store) else { return Ok(None) };
    let dir = archive_dir(&data_dir);
    let write = |path: &Path| {
        let path = path.to_owned();
        move |source| ReconError::from(ArchiveError::Write { path, source })
    };
    let (sha256, size) =
        file_sha256(path).map_err(|source| ReconError::Io { file: path.display().to_string(), source })?;
    let target = dir.join(&sha256);
    let present = matches!(file_sha256(&target), Ok((found, _)) if found == sha256);
    if !present {
        if let Some(bills) = dir.parent() {
            std::fs::create_dir_all(bills).map_err(write(bills))?;
        }
        crate::private_files::private_dir(&dir).map_err(write(&dir))?;
        let tmp = dir.join(format!("{sha256}.part"));
        {
            let mut out = crate::private_files::create_private_file(&tmp).map_err(write(&tmp))?;
            let mut input = std::fs::File::open(path).map_err(write(path))?;
            std::io::copy(&mut input, &mut out).map_err(write(&tmp))?;
            out.sync_all().map_err(write(&tmp))?;
        }
        std::fs::rename(&tmp, &target).map_err(write(&target))?;
        let _ = crate::private_files::sync_dir(&dir);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let record = store.recon_mut().record_archived_bill(&NewArchived {
        sha256: &sha256,
        size,
        source: entry.source,
        original_name: &name,
        acquirer_id: entry.acquirer_id,
        bill_date: entry.bill_date,
        format: entry.format,
        bill_type: entry.bill_type,
    })?;
    tracing::info!(sha256 = %record.sha256, date = %record.bill_date, source = entry.source.as_str(), "bill archived");
    Ok(Some(record))
}

/// Archives a trade bill file after its import (called by `import::import_file_kept`).
pub fn keep_imported(
    store: &mut Store,
    path: &Path,
    outcome: &ImportOutcome,
    source: ArchiveSource,
) -> Result<Option<ArchivedBill>, ReconError> {
    let bill_type = trade_bill_type(path, outcome.format);
    keep_file(
        store,
        path,
        &ArchiveEntry {
            acquirer_id: outcome.bill.acquirer_id,
            bill_date: &outcome.bill.bill_date,
            format: outcome.format.as_str(),
            bill_type,
            source,
        },
    )
}

/// The trade bill's type: Alipay `trade`; WeChat ALL, SUCCESS or REFUND by its header.
fn trade_bill_type(path: &Path, format: BillFormat) -> &'static str {
    if format != BillFormat::WechatText {
        return "trade";
    }
    let mut head = Vec::with_capacity(4096);
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(4096).read_to_end(&mut head);
    }
    let text = String::from_utf8_lossy(&head);
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if header.contains("退款申请时间") {
        "REFUND"
    } else if header.contains("微信退款单号") {
        "ALL"
    } else {
        "SUCCESS"
    }
}

/// What a re-import did with one archived file.
#[derive(Debug, Clone, Serialize)]
pub struct Reimported {
    pub archived: ArchivedBill,
    /// The trade bill's import (None for an account bill).
    pub trade: Option<ImportOutcome>,
    /// The account bill's import (None for a trade bill).
    pub account: Option<super::settlement::AccountImport>,
}

/// Imports again the archived files of `date` (of one account when given): each file's hash is checked first, then
/// the files are imported in the order they were archived. Nothing new is archived.
pub fn reimport(
    store: &mut Store,
    date: Date,
    acquirer: Option<AcquirerId>,
    control: &ImportControl,
) -> Result<Vec<Reimported>, ReconError> {
    let data_dir = data_dir_of(store).ok_or(ArchiveError::NoDataFolder)?;
    let dir = archive_dir(&data_dir);
    let day = date_text(date);
    let mut records = store.recon().archived_bills(Some(&day), acquirer)?;
    records.sort_by_key(|r| r.id);
    // One import per file and account, whatever the number of times it was archived.
    let mut seen = std::collections::HashSet::new();
    records.retain(|r| seen.insert((r.sha256.clone(), r.acquirer_id)));
    if records.is_empty() {
        let for_account = match acquirer {
            Some(id) => format!(" for acquirer #{}", id.0),
            None => String::new(),
        };
        return Err(ArchiveError::Nothing { date: day, for_account }.into());
    }
    for r in &records {
        let path = dir.join(&r.sha256);
        let missing = || ArchiveError::Missing { path: path.clone(), name: r.original_name.clone(), date: day.clone() };
        let (found, _) = file_sha256(&path).map_err(|_| missing())?;
        if found != r.sha256 {
            return Err(ArchiveError::Changed {
                path: path.clone(),
                name: r.original_name.clone(),
                date: day.clone(),
                expected: r.sha256.clone(),
                found,
            }
            .into());
        }
    }
    let mut done = Vec::with_capacity(records.len());
    for r in records {
        let path = dir.join(&r.sha256);
        if super::settlement::is_account_format(&r.format) {
            let account = super::settlement::import_account_file(
                store,
                &path,
                &r.original_name,
                Some(r.acquirer_id),
                Some(date),
                None,
            )?;
            done.push(Reimported { archived: r, trade: None, account: Some(account) });
        } else {
            let kind = match r.format.as_str() {
                "wechat_text" => AcquirerKind::WechatPay,
                _ => AcquirerKind::Alipay,
            };
            let options = ImportOptions {
                acquirer: Some(kind),
                account: Some(r.acquirer_id),
                bill_date: Some(date),
                ..ImportOptions::default()
            };
            let outcome = super::import::import_file_kept(store, &path, &r.original_name, &options, control, None)?;
            done.push(Reimported { archived: r, trade: Some(outcome), account: None });
        }
    }
    Ok(done)
}
