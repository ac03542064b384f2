//! Downloading a day's bill through an acquirer's [`Channel`], keeping a copy in the data folder, and importing it.

use std::path::{Path, PathBuf};

use time::Date;

use super::import::{ImportControl, ImportOptions, ImportOutcome, import_file_kept};
use super::{ReconError, acquirer_name, date_text};
use crate::channel::{BillResult, Channel};
use crate::store::Store;

/// A bill as the acquirer served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedBill {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Asks the acquirer for the bill of `date` (China time).
pub async fn fetch(channel: &dyn Channel, date: Date) -> Result<FetchedBill, ReconError> {
    let acquirer = acquirer_name(channel.kind());
    match channel.bill(date).await {
        BillResult::Bill { file_name, bytes } => Ok(FetchedBill { file_name, bytes }),
        BillResult::NoBill => Err(ReconError::NoBillAtAcquirer { acquirer, date: date_text(date) }),
        BillResult::Failed(message) => Err(ReconError::Fetch { acquirer, date: date_text(date), message }),
    }
}

/// Where a downloaded bill is kept: `<data>/bills/<acquirer>/<file name>` (a file name from the acquirer is
/// reduced to its last part, so it cannot point elsewhere).
pub fn saved_path(data_dir: &Path, channel: &dyn Channel, date: Date, file_name: &str) -> PathBuf {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let base = if base.is_empty() || base == "." || base == ".." {
        format!("{}-{}.bill", channel.kind().as_str(), date_text(date))
    } else {
        base.to_owned()
    };
    data_dir.join("bills").join(channel.kind().as_str()).join(base)
}

/// Keeps the downloaded file, then imports it as that acquirer's bill of that day.
pub fn save_and_import(
    store: &mut Store,
    data_dir: &Path,
    account: crate::model::AcquirerId,
    channel: &dyn Channel,
    date: Date,
    bill: &FetchedBill,
    control: &ImportControl,
) -> Result<ImportOutcome, ReconError> {
    let path = saved_path(data_dir, channel, date, &bill.file_name);
    let io = |source| ReconError::Io { file: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, &bill.bytes).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    let options = ImportOptions {
        acquirer: Some(channel.kind()),
        account: Some(account),
        bill_date: Some(date),
        // The channel does not say which type it asked for; the file's header tells.
        bill_type: None,
        accept_mismatched_totals: false,
    };
    let name = path.display().to_string();
    import_file_kept(store, &path, &name, &options, control, Some(crate::store::archive::ArchiveSource::Fetched))
}

/// Fetches and imports in one go (the CLI's `bills fetch`), on the given runtime.
pub fn fetch_and_import(
    runtime: &tokio::runtime::Handle,
    store: &mut Store,
    data_dir: &Path,
    account: crate::model::AcquirerId,
    channel: &dyn Channel,
    date: Date,
    control: &ImportControl,
) -> Result<ImportOutcome, ReconError> {
    let bill = runtime.block_on(fetch(channel, date))?;
    save_and_import(store, data_dir, account, channel, date, &bill, control)
}
