//! The bill import's row sink: the reader (parsing, the content hash) and the database writer run on two threads.
//!
//! The import's caller parses the file and pushes rows into a [`BillRowSink`] on its own thread; the rows go, in
//! batches of [`ROWS_PER_BATCH`] packed into one text buffer each, through a short bounded channel to a writer
//! thread that holds the connection and inserts them, committing every [`BATCH_ROWS`] rows or [`BATCH_TIME`] as
//! before (so a payment never waits long for the write lock). Parsing a row and inserting one take about as long,
//! so on two cores the import takes about as long as the slower half instead of the sum. Batch buffers go back to
//! the reader for reuse: memory stays flat, whatever the bill's size.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

use super::recon::{BillRowKind, NewBillRow, round_milli};
use super::{BATCH_ROWS, BATCH_TIME, Result, StoreError};

/// Rows handed to the writer at a time.
pub const ROWS_PER_BATCH: usize = 512;
/// Batches in flight between the reader and the writer (bounded: a slow disk slows the reader, memory stays flat).
const BATCHES_IN_FLIGHT: usize = 4;

/// The text fields of a row, in the order they are packed.
const TEXTS: usize = 8;

/// One row's numbers and where its texts end in the batch's buffer.
#[derive(Debug, Clone, Copy)]
struct PackedRow {
    line_no: i64,
    kind: BillRowKind,
    has_request_no: bool,
    amount: i64,
    fee_milli: i64,
    settled: i64,
    discount: i64,
    /// End offsets in `text` of trade_no, out_trade_no, out_request_no, status, occurred_at, subject, store_ref,
    /// merchant_ref.
    ends: [u32; TEXTS],
}

/// Rows packed into one buffer (no allocation per row).
#[derive(Debug, Default)]
struct RowBatch {
    text: String,
    rows: Vec<PackedRow>,
}

impl RowBatch {
    fn push(&mut self, row: &NewBillRow<'_>, kind: BillRowKind) -> Result<()> {
        let start = self.text.len();
        let mut ends = [0u32; TEXTS];
        let texts = [
            row.trade_no,
            row.out_trade_no,
            row.out_request_no.unwrap_or(""),
            row.status,
            row.occurred_at,
            row.subject,
            row.store_ref,
            row.merchant_ref,
        ];
        for (end, part) in ends.iter_mut().zip(texts) {
            self.text.push_str(part);
            *end = u32::try_from(self.text.len()).map_err(|_| {
                self.text.truncate(start);
                StoreError::Corrupt { table: "bill_rows", column: "text", value: "a row of more than 4 GiB".into() }
            })?;
        }
        self.rows.push(PackedRow {
            line_no: row.line_no,
            kind,
            has_request_no: row.out_request_no.is_some(),
            amount: row.amount,
            fee_milli: row.fee_milli,
            settled: row.settled,
            discount: row.discount,
            ends,
        });
        Ok(())
    }

    fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }
}

/// What the reader sends the writer.
enum ToWriter {
    Rows(RowBatch),
    /// Reply once everything sent before is written (and its batch committed).
    Sync(SyncSender<()>),
}

/// Streams rows into the bill being imported: see the module's comment. Rows pushed are written by the writer
/// thread; an error there (the disk is full) is returned by the next [`BillRowSink::push`] or by the import.
pub struct BillRowSink<'a> {
    /// Tied to the import's borrow of the store (the writer thread holds its connection meanwhile).
    _import: std::marker::PhantomData<&'a ()>,
    to_writer: Option<SyncSender<ToWriter>>,
    spare: Receiver<RowBatch>,
    batch: RowBatch,
    /// The content hash of the rows (and whatever the import adds: the day, the acquirer, stated totals).
    pub(crate) hasher: Sha256,
    /// Content besides the rows ([`BillRowSink::hash_part`]), when there is any.
    extra: Option<Sha256>,
    rows: u64,
}

impl BillRowSink<'_> {
    pub fn push(&mut self, row: &NewBillRow<'_>) -> Result<()> {
        let kind = row.kind.unwrap_or(BillRowKind::Payment);
        // The content hash covers what matching reads, so a re-download with another export time is the same bill.
        for part in [
            row.trade_no,
            row.out_trade_no,
            row.out_request_no.unwrap_or(""),
            kind.as_str(),
            row.status,
            row.occurred_at,
            row.subject,
            row.store_ref,
        ] {
            self.hasher.update(part.as_bytes());
            self.hasher.update([0x1f]);
        }
        for n in [row.amount, row.fee_milli, row.settled, row.discount] {
            self.hasher.update(n.to_le_bytes());
        }
        // Only when there is one, so that a bill without merchant ids hashes as it did before the column.
        if !row.merchant_ref.is_empty() {
            self.hasher.update(row.merchant_ref.as_bytes());
            self.hasher.update([0x1e]);
        }
        self.batch.push(row, kind)?;
        self.rows += 1;
        if self.batch.rows.len() >= ROWS_PER_BATCH {
            self.send_batch()?;
        }
        Ok(())
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Adds content that is part of the bill but not a row (e.g. Alipay's 业务明细(汇总) figures) to the content hash:
    /// the same rows with different stated totals are a different bill. (A file with the same rows and no such
    /// content, e.g. the detail CSV taken out of the zip, is the bill imported before: it adds nothing.)
    pub fn hash_part(&mut self, part: &[u8]) {
        let extra = self.extra.get_or_insert_with(Sha256::new);
        extra.update(part);
        extra.update([0x1e]);
    }

    /// Waits until every row pushed so far is written and committed (still invisible: the bill has no day yet).
    pub fn wait_written(&mut self) -> Result<()> {
        self.send_batch()?;
        let (reply, done) = sync_channel(1);
        self.send(ToWriter::Sync(reply))?;
        done.recv().map_err(|_| writer_gone())
    }

    fn send_batch(&mut self) -> Result<()> {
        if self.batch.rows.is_empty() {
            return Ok(());
        }
        let mut next = self.spare.try_recv().unwrap_or_default();
        next.clear();
        let full = std::mem::replace(&mut self.batch, next);
        self.send(ToWriter::Rows(full))
    }

    fn send(&mut self, message: ToWriter) -> Result<()> {
        let to_writer = self.to_writer.as_ref().ok_or_else(writer_gone)?;
        to_writer.send(message).map_err(|_| writer_gone())
    }

    /// Sends what is left and tells the writer there is no more.
    fn close(&mut self) -> Result<()> {
        let sent = self.send_batch();
        self.to_writer = None;
        sent
    }
}

/// The writer stopped (its own error is what the import reports).
fn writer_gone() -> StoreError {
    StoreError::Corrupt { table: "bill_rows", column: "writer", value: "the import's writer stopped".into() }
}

/// Runs `feed` with a sink whose rows a writer thread inserts into `bill_id` through `conn` (a batch transaction is
/// open when this is called; it is left open, holding the last rows, for the caller to commit or roll back).
/// Returns what the feed returned, the rows' hash, the hash of what else the feed added ([`BillRowSink::hash_part`])
/// and the row count.
pub(crate) fn write_rows<T, E: From<StoreError>>(
    conn: &mut Connection,
    bill_id: i64,
    hasher: Sha256,
    feed: impl FnOnce(&mut BillRowSink<'_>) -> std::result::Result<T, E>,
) -> std::result::Result<(T, Sha256, Option<Sha256>, u64), E> {
    let (to_writer, from_reader) = sync_channel::<ToWriter>(BATCHES_IN_FLIGHT);
    let (give_back, spare) = sync_channel::<RowBatch>(BATCHES_IN_FLIGHT + 1);
    std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name("bill-import-writer".into())
            .spawn_scoped(scope, move || writer(conn, bill_id, from_reader, give_back))
            .map_err(|e| StoreError::Corrupt { table: "bill_rows", column: "writer", value: e.to_string() })?;
        let mut sink = BillRowSink {
            _import: std::marker::PhantomData,
            to_writer: Some(to_writer),
            spare,
            batch: RowBatch::default(),
            hasher,
            extra: None,
            rows: 0,
        };
        let fed = feed(&mut sink);
        let closed = if fed.is_ok() { sink.close() } else { Ok(()) };
        // On a feed error the writer sees the channel close and stops; the caller rolls the open batch back.
        sink.to_writer = None;
        let written = writer.join().unwrap_or_else(|_| Err(writer_gone()));
        // The writer's own error explains a failed push better than "the writer stopped".
        written?;
        let value = fed?;
        closed?;
        Ok((value, sink.hasher, sink.extra, sink.rows))
    })
}

fn writer(
    conn: &mut Connection,
    bill_id: i64,
    from_reader: Receiver<ToWriter>,
    give_back: SyncSender<RowBatch>,
) -> Result<()> {
    let conn: &Connection = conn;
    let mut insert = conn.prepare_cached(
        "INSERT INTO bill_rows (bill_id, line_no, trade_no, out_trade_no, out_request_no, kind, amount, fee,
            occurred_at, status, fee_milli, settled, discount, subject, store_ref, merchant_ref)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    let mut batch_rows = 0u64;
    let mut batch_started = Instant::now();
    // The ids of the rows written: the bill's row range (its rows are found by it, see migration 0014).
    let mut range: Option<(i64, i64)> = None;
    while let Ok(message) = from_reader.recv() {
        let batch = match message {
            ToWriter::Rows(batch) => batch,
            ToWriter::Sync(reply) => {
                if batch_rows > 0 {
                    commit_batch(conn, bill_id, range)?;
                    batch_rows = 0;
                    batch_started = Instant::now();
                }
                let _ = reply.send(());
                continue;
            }
        };
        // Each row's texts follow the previous row's in the buffer.
        let mut from = 0usize;
        for row in &batch.rows {
            let mut texts = [""; TEXTS];
            for (text, end) in texts.iter_mut().zip(row.ends) {
                let end = end as usize;
                *text = batch.text.get(from..end).unwrap_or("");
                from = end;
            }
            let [trade_no, out_trade_no, out_request_no, status, occurred_at, subject, store_ref, merchant_ref] = texts;
            insert.execute(params![
                bill_id,
                row.line_no,
                trade_no,
                out_trade_no,
                row.has_request_no.then_some(out_request_no),
                row.kind.as_str(),
                row.amount,
                round_milli(row.fee_milli),
                occurred_at,
                status,
                row.fee_milli,
                row.settled,
                row.discount,
                subject,
                store_ref,
                merchant_ref,
            ])?;
            let id = conn.last_insert_rowid();
            range = Some(range.map_or((id, id), |(first, last)| (first.min(id), last.max(id))));
            batch_rows += 1;
            if batch_rows >= BATCH_ROWS || (batch_rows.is_multiple_of(64) && batch_started.elapsed() >= BATCH_TIME) {
                commit_batch(conn, bill_id, range)?;
                batch_rows = 0;
                batch_started = Instant::now();
            }
        }
        // The reader may have stopped taking spares (it is finishing): dropping the buffer is fine.
        let _ = give_back.try_send(batch);
    }
    // The last rows' range goes with them, in the batch the import commits.
    set_range(conn, bill_id, range)?;
    Ok(())
}

/// Records the rows written so far as the bill's row range.
fn set_range(conn: &Connection, bill_id: i64, range: Option<(i64, i64)>) -> Result<()> {
    if let Some((first, last)) = range {
        conn.execute("UPDATE bills SET first_row = ?2, last_row = ?3 WHERE id = ?1", params![bill_id, first, last])?;
    }
    Ok(())
}

/// Commits the rows so far (still invisible: the bill has no day yet) and opens the next batch. The bill's
/// `imported_at` is its heartbeat: a staged bill nobody touched for a few minutes is an interrupted import's,
/// purged by the next import.
fn commit_batch(conn: &Connection, bill_id: i64, range: Option<(i64, i64)>) -> Result<()> {
    conn.execute("UPDATE bills SET imported_at = ?2 WHERE id = ?1", params![bill_id, crate::time::now_utc()])?;
    // So that the rows of an import interrupted after this batch can be found and removed.
    set_range(conn, bill_id, range)?;
    conn.execute_batch("COMMIT")?;
    super::pause_for_writers();
    conn.execute_batch("BEGIN IMMEDIATE")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AcquirerKind;
    use crate::store::Store;
    use crate::store::recon::{FinishedBill, ImportResult, NewBill};

    fn finished() -> FinishedBill {
        FinishedBill { bill_date: "2026-11-24".into(), totals_json: "{}".into(), ..Default::default() }
    }

    #[test]
    fn every_row_arrives_whole_across_batches_whatever_its_texts() {
        let mut store = Store::open_in_memory().unwrap();
        let acquirer_id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
        let new = NewBill { acquirer_id, source_name: "bill.txt", format: "wechat_text" };
        let total = ROWS_PER_BATCH * 2 + 3;
        let texts = |i: usize| {
            (
                format!("4200{i}"),
                format!("T{}", "x".repeat(i % 7)),
                i.is_multiple_of(3).then(|| format!("R{i}")),
                if i.is_multiple_of(5) { "拿铁咖啡（大杯）".to_owned() } else { String::new() },
            )
        };
        let done = store
            .recon_mut()
            .import_bill(&new, |sink| {
                for i in 0..total {
                    let (trade_no, out_trade_no, out_request_no, subject) = texts(i);
                    sink.push(&NewBillRow {
                        line_no: i as i64 + 2,
                        trade_no: &trade_no,
                        out_trade_no: &out_trade_no,
                        out_request_no: out_request_no.as_deref(),
                        kind: Some(if out_request_no.is_some() { BillRowKind::Refund } else { BillRowKind::Payment }),
                        status: "SUCCESS",
                        amount: i as i64,
                        fee_milli: i as i64 * 1_001,
                        settled: -(i as i64),
                        discount: 7,
                        occurred_at: "2026-11-24T01:00:00Z",
                        subject: &subject,
                        store_ref: "POS-01",
                        merchant_ref: if i % 4 == 1 { "1900000109" } else { "" },
                    })?;
                }
                Ok::<_, StoreError>(finished())
            })
            .unwrap();
        assert!(matches!(done, ImportResult::Imported { .. }));
        let mut stmt = store
            .conn
            .prepare(
                "SELECT line_no, trade_no, out_trade_no, out_request_no, kind, amount, fee, fee_milli, settled, subject,
                        store_ref || '/' || merchant_ref
                 FROM bill_rows ORDER BY id",
            )
            .unwrap();
        type Row = (i64, String, String, Option<String>, String, i64, i64, i64, i64, String, String);
        let rows: Vec<Row> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows.len(), total);
        for (i, row) in rows.into_iter().enumerate() {
            let (trade_no, out_trade_no, out_request_no, subject) = texts(i);
            let kind = if out_request_no.is_some() { "refund" } else { "payment" };
            let expected = (
                i as i64 + 2,
                trade_no,
                out_trade_no,
                out_request_no,
                kind.to_owned(),
                i as i64,
                round_milli(i as i64 * 1_001),
                i as i64 * 1_001,
                -(i as i64),
                subject,
                format!("POS-01/{}", if i % 4 == 1 { "1900000109" } else { "" }),
            );
            assert_eq!(row, expected, "row {i}");
        }
    }

    #[test]
    fn a_failing_write_fails_the_import_and_leaves_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        let acquirer_id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
        // The disk "fills up" at the 700th row.
        store
            .conn
            .execute_batch(
                "CREATE TRIGGER full_disk BEFORE INSERT ON bill_rows WHEN NEW.line_no = 700
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
            )
            .unwrap();
        let new = NewBill { acquirer_id, source_name: "bill.txt", format: "wechat_text" };
        let mut pushed = 0u64;
        let failed = store.recon_mut().import_bill(&new, |sink| {
            for i in 0..(ROWS_PER_BATCH as i64 * 10) {
                let out_trade_no = format!("T{i}");
                sink.push(&NewBillRow {
                    line_no: i,
                    out_trade_no: &out_trade_no,
                    status: "SUCCESS",
                    amount: 100,
                    occurred_at: "2026-11-24T01:00:00Z",
                    ..Default::default()
                })?;
                pushed += 1;
            }
            Ok::<_, StoreError>(finished())
        });
        let message = failed.unwrap_err().to_string();
        assert!(message.contains("disk is full"), "the writer's own error is reported: {message}");
        assert!(pushed < ROWS_PER_BATCH as u64 * 10, "the reader stops soon after the writer fails ({pushed} rows)");
        assert_eq!(store.recon().bill_row_count().unwrap(), 0);
        let bills: i64 = store.conn.query_row("SELECT COUNT(*) FROM bills", [], |r| r.get(0)).unwrap();
        assert_eq!(bills, 0);
    }
}
