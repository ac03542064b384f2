//! The bill archive's records (the files themselves are kept by `recon::archive`).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Result, Store};
use crate::model::AcquirerId;

/// Where an archived file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveSource {
    /// Downloaded from the acquirer (`bills fetch`, the sync worker, the 对账 screen's fetch).
    Fetched,
    /// Imported from a file (`bills import`, the 对账 screen's import).
    Imported,
}

impl ArchiveSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveSource::Fetched => "fetched",
            ArchiveSource::Imported => "imported",
        }
    }

    fn parse(text: &str) -> ArchiveSource {
        if text == "fetched" { ArchiveSource::Fetched } else { ArchiveSource::Imported }
    }
}

/// A file to record.
#[derive(Debug, Clone)]
pub struct NewArchived<'a> {
    pub sha256: &'a str,
    pub size: u64,
    pub source: ArchiveSource,
    pub original_name: &'a str,
    pub acquirer_id: AcquirerId,
    pub bill_date: &'a str,
    pub format: &'a str,
    pub bill_type: &'a str,
}

/// One archived bill file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchivedBill {
    pub id: i64,
    pub sha256: String,
    pub size: u64,
    pub source: ArchiveSource,
    pub original_name: String,
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    pub format: String,
    pub bill_type: String,
    pub archived_at: String,
}

const COLUMNS: &str = "id, sha256, size, source, original_name, acquirer_id, bill_date, format, bill_type, archived_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ArchivedBill> {
    Ok(ArchivedBill {
        id: r.get(0)?,
        sha256: r.get(1)?,
        size: r.get::<_, i64>(2)?.max(0) as u64,
        source: ArchiveSource::parse(&r.get::<_, String>(3)?),
        original_name: r.get(4)?,
        acquirer_id: AcquirerId(r.get(5)?),
        bill_date: r.get(6)?,
        format: r.get(7)?,
        bill_type: r.get(8)?,
        archived_at: r.get(9)?,
    })
}

impl<S: std::ops::Deref<Target = Store>> super::Recon<S> {
    /// The archived files, of one day and/or one account when given, by day (newest first) then in archive order.
    pub fn archived_bills(&self, bill_date: Option<&str>, acquirer: Option<AcquirerId>) -> Result<Vec<ArchivedBill>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM bill_archive
             WHERE (?1 IS NULL OR bill_date = ?1) AND (?2 IS NULL OR acquirer_id = ?2)
             ORDER BY bill_date DESC, id"
        ))?;
        let rows = stmt.query_map(params![bill_date, acquirer.map(|a| a.0)], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The record of one archived file, by id.
    pub fn archived_bill(&self, id: i64) -> Result<Option<ArchivedBill>> {
        Ok(self
            .conn
            .query_row(&format!("SELECT {COLUMNS} FROM bill_archive WHERE id = ?1"), [id], from_row)
            .optional()?)
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Recon<S> {
    /// Records an archived file (once per file, account, day and source: recording it again changes nothing) and
    /// returns the record.
    pub fn record_archived_bill(&mut self, new: &NewArchived<'_>) -> Result<ArchivedBill> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO bill_archive
                    (sha256, size, source, original_name, acquirer_id, bill_date, format, bill_type, archived_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    new.sha256,
                    i64::try_from(new.size).unwrap_or(i64::MAX),
                    new.source.as_str(),
                    new.original_name,
                    new.acquirer_id.0,
                    new.bill_date,
                    new.format,
                    new.bill_type,
                    now
                ],
            )?;
            Ok(tx.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM bill_archive
                     WHERE sha256 = ?1 AND acquirer_id = ?2 AND bill_date = ?3 AND source = ?4"
                ),
                params![new.sha256, new.acquirer_id.0, new.bill_date, new.source.as_str()],
                from_row,
            )?)
        })
    }
}
