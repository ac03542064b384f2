//! Importing a bill: its rows streamed into a staged bill in short batches, the content hash, the flip that gives
//! it its day and hides what it replaces; and the bills' own reads (one bill, a day's, the recent ones).

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::super::{BATCH_ROWS, Result, Store, StoreError, append_audit};
use super::*;

/// A staged bill's content hash (rows and anything else the file states) and the hash of its rows alone.
struct Hashes {
    content: String,
    rows: String,
    has_extra: bool,
}

/// How the flip of an import ended.
enum Flip {
    Done {
        replaced: Option<StoredBill>,
        superseded: Vec<StoredBill>,
        alongside: Vec<StoredBill>,
    },
    /// The same content is in already.
    Same(StoredBill),
    /// The day's complete bill is in already.
    Covered(StoredBill),
}

/// A staged bill (`pending:` content hash, no day) left this long without a batch is an interrupted import's.
pub(super) const ABANDONED_AFTER: time::Duration = time::Duration::minutes(5);

impl Store {
    /// Streams the rows into the staged bill in batches; returns what the feed learned, the content hash and the
    /// row count. Leaves a batch open on error (the caller rolls it back).
    fn stage_rows<E: From<StoreError>>(
        &mut self,
        new: &NewBill<'_>,
        bill_id: i64,
        feed: impl FnOnce(&mut BillRowSink<'_>) -> std::result::Result<FinishedBill, E>,
    ) -> std::result::Result<(FinishedBill, Hashes, u64), E> {
        // Batches need not be synced one by one: the flip commit (FULL) syncs the WAL with every frame before it.
        self.conn.execute_batch("PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE").map_err(StoreError::from)?;
        let staged = (|| -> std::result::Result<(FinishedBill, Hashes, u64), E> {
            let mut hasher = Sha256::new();
            hasher.update(new.acquirer_id.0.to_le_bytes());
            let (finished, mut hasher, extra, rows) =
                crate::store::bill_sink::write_rows(&mut self.conn, bill_id, hasher, feed)?;
            hasher.update(finished.bill_date.as_bytes());
            // A SUCCESS or REFUND bill is not the complete bill of the same rows. (Complete bills hash as before types
            // were kept, so a bill imported then is still recognised.)
            if !finished.bill_type.is_complete() {
                hasher.update(finished.bill_type.as_str().as_bytes());
            }
            let rows_hash = hex::encode(hasher.finalize());
            let hash = match extra {
                Some(extra) => {
                    let mut both = Sha256::new();
                    both.update(rows_hash.as_bytes());
                    both.update(extra.finalize());
                    Hashes { content: hex::encode(both.finalize()), rows: rows_hash, has_extra: true }
                }
                None => Hashes { content: rows_hash.clone(), rows: rows_hash, has_extra: false },
            };
            self.conn.execute_batch("COMMIT").map_err(StoreError::from)?;
            Ok((finished, hash, rows))
        })();
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let restored = self.conn.execute_batch("PRAGMA synchronous = FULL").map_err(StoreError::from);
        let staged = staged?;
        restored?;
        Ok(staged)
    }

    /// Removes a bill and its rows in short batches (a million rows must not hold the write lock for seconds). The
    /// bill must already be out of sight (no day): between batches its rows are half gone.
    fn purge_bill(&mut self, bill_id: i64) -> Result<()> {
        loop {
            let n = self.conn.execute(
                "DELETE FROM bill_rows WHERE id IN (
                    SELECT b.id FROM bills bl JOIN bill_rows b ON b.id BETWEEN bl.first_row AND bl.last_row
                    WHERE bl.id = ?1 AND b.bill_id = ?1 LIMIT ?2)",
                params![bill_id, BATCH_ROWS as i64],
            )?;
            if n == 0 {
                break;
            }
            crate::store::pause_for_writers();
        }
        self.conn.execute("DELETE FROM bills WHERE id = ?1 AND bill_date = ''", [bill_id])?;
        Ok(())
    }

    /// Removes what interrupted imports left: bills replaced by a newer import of their day, and staged bills
    /// whose import stopped (no batch for [`ABANDONED_AFTER`]: a running import commits every fraction of a second).
    fn purge_abandoned_bills(&mut self) -> Result<()> {
        let before = crate::time::format_utc(time::OffsetDateTime::now_utc() - ABANDONED_AFTER);
        let ids: Vec<i64> = {
            let mut stmt = self.conn.prepare(
                "SELECT id FROM bills WHERE bill_date = ''
                   AND (content_hash LIKE 'replaced:%' OR (content_hash LIKE 'pending:%' AND imported_at < ?1))",
            )?;
            stmt.query_map([before], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        for id in ids {
            self.purge_bill(id)?;
        }
        Ok(())
    }
}

impl<S: std::ops::Deref<Target = Store>> crate::store::Recon<S> {
    pub fn bill(&self, id: BillId) -> Result<Option<StoredBill>> {
        Ok(self
            .conn
            .query_row(&format!("SELECT {BILL_COLUMNS} FROM bills WHERE id = ?1"), [id.0], bill_from_row)
            .optional()?)
    }

    /// A bill's own totals as the import recorded them (JSON): `stated` and `rows` (WeChat's summary row, Alipay's
    /// footer) and, for Alipay, `summary` with the 业务明细(汇总) 合计 row (`stated`) and the same figures summed from
    /// the rows (`rows`).
    pub fn bill_totals_json(&self, id: BillId) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT totals_json FROM bills WHERE id = ?1", [id.0], |r| r.get(0)).optional()?)
    }

    /// The effective bills of an acquirer's day, oldest first: one complete bill, or a SUCCESS and/or a REFUND bill
    /// (never overlapping: see the module's introduction).
    pub fn bills_of_day(&self, acquirer: AcquirerId, bill_date: &str) -> Result<Vec<StoredBill>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {BILL_COLUMNS} FROM bills WHERE acquirer_id = ?1 AND bill_date = ?2 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![acquirer.0, bill_date], bill_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every imported bill, newest day first.
    pub fn recent_bills(&self, limit: u32) -> Result<Vec<StoredBill>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {BILL_COLUMNS} FROM bills WHERE bill_date <> '' ORDER BY bill_date DESC, id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], bill_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Number of rows in `bill_rows` (all bills).
    pub fn bill_row_count(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM bill_rows", [], |r| r.get(0))?)
    }
}

impl<S: std::ops::DerefMut<Target = Store>> crate::store::Recon<S> {
    /// Imports one bill. `feed` pushes the rows into the sink and returns what it learned at the end; an error
    /// from it (a bad row, a cancel) rolls everything back. A bill whose rows are already in the database is rolled
    /// back too and reported as [`ImportResult::AlreadyImported`], a SUCCESS or REFUND bill of a day whose complete
    /// bill is in as [`ImportResult::AlreadyCovered`]. Otherwise the bill becomes visible in one short transaction
    /// that hides, at the same moment, the day's bill of the same type (a re-download) and, for a complete bill,
    /// the day's SUCCESS and REFUND bills (their runs keep their history); see the module's introduction.
    pub fn import_bill<E: From<StoreError>>(
        &mut self,
        new: &NewBill<'_>,
        feed: impl FnOnce(&mut BillRowSink<'_>) -> std::result::Result<FinishedBill, E>,
    ) -> std::result::Result<ImportResult, E> {
        self.purge_abandoned_bills()?;
        let now = crate::time::now_utc();
        // Staged under a bill without a day: no reconciliation, list or look-up sees its rows until the flip below.
        let pending = format!("pending:{now}:{}:{}", std::process::id(), rand::random::<u64>());
        self.conn
            .execute(
                "INSERT INTO bills (acquirer_id, bill_date, source_name, content_hash, imported_at, format)
                 VALUES (?1, '', ?2, ?3, ?4, ?5)",
                params![new.acquirer_id.0, new.source_name, pending, now, new.format],
            )
            .map_err(StoreError::from)?;
        let bill_id = self.conn.last_insert_rowid();
        let staged = self.stage_rows(new, bill_id, feed);
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let (finished, Hashes { content: hash, rows: rows_hash, has_extra }, rows) = match staged {
            Ok(staged) => staged,
            Err(e) => {
                if let Err(purge) = self.purge_bill(bill_id) {
                    tracing::warn!(bill_id, error = %purge, "an interrupted import's rows stay until the next import");
                }
                return Err(e);
            }
        };
        // The flip: one short transaction makes the bill (and the removal of the ones it replaces) visible at once.
        let flipped = self.transaction(|tx| {
            let existing = tx
                .query_row(
                    &format!(
                        "SELECT {BILL_COLUMNS} FROM bills WHERE id <> ?2
                           AND (content_hash = ?1
                                OR (?4 = 0 AND bill_date <> '' AND COALESCE(rows_hash, content_hash) = ?3))
                         ORDER BY id LIMIT 1"
                    ),
                    params![hash, bill_id, rows_hash, has_extra],
                    bill_from_row,
                )
                .optional()?;
            if let Some(bill) = existing {
                return Ok(Flip::Same(bill));
            }
            let day: Vec<StoredBill> = {
                let mut stmt = tx.prepare(&format!(
                    "SELECT {BILL_COLUMNS} FROM bills WHERE acquirer_id = ?1 AND bill_date = ?2 AND id <> ?3 ORDER BY id"
                ))?;
                stmt.query_map(params![new.acquirer_id.0, finished.bill_date, bill_id], bill_from_row)?
                    .collect::<rusqlite::Result<_>>()?
            };
            let new_type = finished.bill_type;
            if !new_type.is_complete()
                && let Some(complete) = day.iter().find(|b| b.bill_type.is_complete())
            {
                return Ok(Flip::Covered(complete.clone()));
            }
            let (gone, alongside): (Vec<StoredBill>, Vec<StoredBill>) =
                day.into_iter().partition(|b| new_type.is_complete() || b.bill_type == new_type);
            for old in &gone {
                tx.execute("UPDATE recon_runs SET bill_id = NULL WHERE bill_id = ?1", [old.id.0])?;
                // Out of sight now; its rows are removed in batches after the flip.
                tx.execute(
                    "UPDATE bills SET bill_date = '', content_hash = 'replaced:' || id WHERE id = ?1",
                    [old.id.0],
                )?;
            }
            tx.execute(
                "UPDATE bills SET bill_date = ?2, content_hash = ?3, row_count = ?4, totals_json = ?5,
                    totals_mismatch = ?6, imported_at = ?7, bill_type = ?8, rows_hash = ?9
                 WHERE id = ?1",
                params![
                    bill_id,
                    finished.bill_date,
                    hash,
                    i64::try_from(rows).unwrap_or(i64::MAX),
                    finished.totals_json,
                    finished.totals_mismatch,
                    now,
                    new_type.as_str(),
                    rows_hash
                ],
            )?;
            let after = format!("{} rows, {} {}", rows, new_type.as_str(), new.source_name);
            append_audit(tx, &now, None, "bill.import", &finished.bill_date, None, Some(&after))?;
            let (replaced, superseded): (Vec<StoredBill>, Vec<StoredBill>) =
                gone.into_iter().partition(|b| b.bill_type == new_type);
            Ok(Flip::Done { replaced: replaced.into_iter().next(), superseded, alongside })
        });
        let (replaced, superseded, alongside) = match flipped {
            Ok(Flip::Done { replaced, superseded, alongside }) => (replaced, superseded, alongside),
            Ok(Flip::Same(bill)) => {
                self.purge_bill(bill_id)?;
                return Ok(ImportResult::AlreadyImported { bill });
            }
            Ok(Flip::Covered(by)) => {
                self.purge_bill(bill_id)?;
                return Ok(ImportResult::AlreadyCovered { by, rows });
            }
            Err(e) => {
                let _ = self.purge_bill(bill_id);
                return Err(e.into());
            }
        };
        for old in replaced.iter().chain(&superseded) {
            if let Err(e) = self.purge_bill(old.id.0) {
                tracing::warn!(bill_id = old.id.0, error = %e, "a replaced bill's rows stay until the next import");
            }
        }
        let bill =
            self.bill(BillId(bill_id))?.ok_or(StoreError::NotFound { what: "bill", key: bill_id.to_string() })?;
        Ok(ImportResult::Imported { bill, replaced, superseded, alongside })
    }
}
