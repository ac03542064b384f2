//! Bills and reconciliation (对账): streaming bill import, matching against the till's orders and refunds, the
//! discrepancy report and its export.
//!
//! - [`import`]: reads an Alipay zip of GBK CSVs (its 业务明细 row by row, its 业务明细(汇总) checked against them)
//!   or a WeChat Pay text bill (format detected by content) into the database, in short batches that stay
//!   invisible until the bill is whole, with progress and cancel. Bills of one day combine by type (WeChat Pay
//!   SUCCESS + REFUND, or ALL; see `store::recon`); [`ImportOutcome`] says what became of the day's other bills.
//! - [`fields`]: the fields a difference names, phrased for people, and the settings the comparison reads.
//! - [`report`]: matches the day's bill against local orders and refunds and records a run with its discrepancies.
//! - [`resolve`]: resolving differences (adjusted, refunded, written off, matched by hand, adopted), reopening, and
//!   closing a day, which freezes its report.
//! - [`export`]: the report as CSV or XLSX; a closed day's frozen report, the same bytes every time.
//! - [`fetch`]: downloads a day's bill through a [`crate::channel::Channel`].

pub mod archive;
pub mod backend;
pub mod export;
pub mod fetch;
pub mod fields;
pub mod import;
mod outcome;
pub mod report;
pub mod resolve;
pub mod reversal;
pub mod settlement;
#[cfg(test)]
pub(crate) mod testing;

use std::path::PathBuf;

use crate::model::AcquirerKind;
use crate::store::StoreError;

pub use import::{
    BillFormat, ImportControl, ImportOptions, ImportOutcome, ImportResultKind, ImportWarning, import_bytes, import_file,
};
pub use report::{DEFAULT_WINDOW_MINUTES, Reason, ReconOptions, Report, load_report, reconcile, reconcile_account};

/// Why a bill could not be imported, or a report made. Messages name the file, the line and the column, and
/// quote the offending text; "nothing was imported" is always true when an import fails.
#[derive(Debug, thiserror::Error)]
pub enum ReconError {
    #[error("there is no acquirer #{0} on this till")]
    UnknownAccount(crate::model::AcquirerId),
    #[error("{file}: cannot read the file: {source}")]
    Io { file: String, source: std::io::Error },
    #[error(
        "{file}: this is not a bill TillDesk knows. Expected an Alipay bill (a .csv.zip of GBK CSV files, or its \
         业务明细 CSV) or a WeChat Pay bill (text starting 交易时间,公众账号ID,…); the file starts with {start:?}"
    )]
    UnknownFormat { file: String, start: String },
    #[error("{file} is {found} bill, but it was imported as {expected}")]
    WrongAcquirer { file: String, found: &'static str, expected: &'static str },
    #[error("{file}: {source}")]
    Wechat {
        file: String,
        #[source]
        source: crate::channel::wechatpay::bill::BillError,
    },
    #[error("{0}")]
    Alipay(Box<crate::channel::alipay::bill::BillError>),
    #[error("{file}: {source}")]
    AlipayIn {
        file: String,
        #[source]
        source: Box<crate::channel::alipay::bill::BillError>,
    },
    #[error("{file}: the zip file is damaged or cut short ({detail}); download the bill again")]
    BadZip { file: String, detail: String },
    #[error(
        "{file} line {line}: the text is not valid {expected} (was the file re-saved in another encoding?): {text:?}"
    )]
    Encoding { file: String, line: u64, expected: &'static str, text: String },
    #[error("{file} line {line}, column {column}: {text:?} is not {expected}")]
    Value { file: String, line: u64, column: &'static str, text: String, expected: &'static str },
    #[error(
        "{file}: the file ends without the bill's totals ({expected}): it was probably cut short; download it again"
    )]
    Truncated { file: String, expected: &'static str },
    #[error("{file}: the bill's own totals do not match its rows: {details}. Nothing was imported")]
    TotalsMismatch { file: String, details: String },
    #[error("{file}: the bill has no rows, so its day cannot be told; give the date (--date YYYY-MM-DD)")]
    NoRows { file: String },
    #[error("{file}: the bill has {rows} rows but none of them tells its day; give the date (--date YYYY-MM-DD)")]
    NoDate { file: String, rows: u64 },
    #[error(
        "{file}: the file is UTF-16 (as a spreadsheet saves \"Unicode text\"), but {bills_are}: use the file as the \
         acquirer served it, or download it again"
    )]
    Utf16 { file: String, bills_are: &'static str },
    #[error("{file} is a {found} bill, but a {expected} bill was asked for")]
    WrongBillType { file: String, found: &'static str, expected: &'static str },
    #[error("the import was cancelled: nothing was imported")]
    Cancelled,
    #[error("there is no {acquirer} bill for {date} in the database: fetch or import it first")]
    NoBill { acquirer: &'static str, date: String },
    #[error("{acquirer} has no bill for {date} (no trades that day)")]
    NoBillAtAcquirer { acquirer: &'static str, date: String },
    #[error("{acquirer} did not give the bill for {date}: {message}")]
    Fetch { acquirer: &'static str, date: String, message: String },
    #[error("cannot write {path}: {message}")]
    Export { path: PathBuf, message: String },
    #[error(
        "the {acquirer} reconciliation of {date} was closed by {closed_by} at {closed_at} (China time): reopen the day \
         (`tilldesk reconcile reopen-day`) before reconciling it again"
    )]
    DayClosed { acquirer: &'static str, date: String, closed_by: String, closed_at: String },
    #[error("the stored report of run {run} cannot be read: {message}")]
    BadRun { run: i64, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    #[error(transparent)]
    Settlement(#[from] settlement::SettlementError),
}

/// The acquirer's name in messages.
pub fn acquirer_name(kind: AcquirerKind) -> &'static str {
    match kind {
        AcquirerKind::Alipay => "Alipay",
        AcquirerKind::WechatPay => "WeChat Pay",
        AcquirerKind::AlipayPlus => "Alipay+",
    }
}

/// "2026-11-24" → date, strictly.
pub fn parse_date(text: &str) -> Option<time::Date> {
    let text = text.trim();
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u16> {
        text.get(r).filter(|s| s.bytes().all(|c| c.is_ascii_digit()))?.parse().ok()
    };
    let year = i32::from(num(0..4)?);
    let month = u8::try_from(num(5..7)?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

/// date → "2026-11-24".
pub fn date_text(date: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}
