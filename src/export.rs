//! Exports of the orders and refunds lists: CSV (UTF-8 with a BOM, so spreadsheets read the Chinese right) or XLSX,
//! read from the database page by page and streamed to the file, so a million rows keep memory flat. Progress is
//! reported as rows written; a cancel or an error leaves no file behind (the work goes to `*.part`, renamed at the
//! end).
//!
//! Amounts are written twice: as exact text ("88.88") and as whole fen, the number a spreadsheet can sum exactly.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::i18n::Lang;
use crate::model::{Order, Refund};
use crate::store::order_query::{OrderFilter, OrderSort};
use crate::store::refunds::RefundFilter;
use crate::store::{Store, StoreError};

/// The most data rows one XLSX sheet takes (Excel's 1,048,576 rows less the header); more go on further sheets.
pub const XLSX_ROWS_PER_SHEET: u32 = 1_048_575;
const PAGE: u32 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    /// The format a file name asks for (`.csv` or `.xlsx`).
    pub fn for_path(path: &Path) -> Result<Self, ExportError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Ok(ExportFormat::Csv),
            Some("xlsx") => Ok(ExportFormat::Xlsx),
            _ => Err(ExportError::UnknownFormat { path: path.to_owned() }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: the file name must end in .csv or .xlsx")]
    UnknownFormat { path: PathBuf },
    #[error("cannot read the data to export: {0}")]
    Store(#[from] StoreError),
    #[error("cannot write {path}: {detail}")]
    Write { path: PathBuf, detail: String },
    #[error("cancelled; no file was written")]
    Cancelled,
}

/// One cell: text, or a whole number (fen, counts) that a spreadsheet keeps as a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Int(i64),
}

impl Cell {
    fn as_text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Int(n) => n.to_string(),
        }
    }
}

/// Where rows go: a CSV writer or an XLSX workbook.
enum Sink {
    Csv(Box<csv::Writer<BufWriter<File>>>),
    Xlsx { book: Box<rust_xlsxwriter::Workbook>, headers: Vec<String>, sheet: usize, row: u32, sheet_name: String },
}

/// A table being written to `<path>.part`; [`TableFile::finish`] renames it into place.
pub struct TableFile {
    path: PathBuf,
    part: PathBuf,
    /// None once finished.
    sink: Option<Sink>,
    rows: u64,
}

impl TableFile {
    pub fn create(path: &Path, format: ExportFormat, sheet_name: &str, headers: &[&str]) -> Result<Self, ExportError> {
        let fail = |e: &dyn std::fmt::Display| ExportError::Write { path: path.to_owned(), detail: e.to_string() };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let part = path.with_extension(format!("{}.part", format.extension()));
        let sink = match format {
            ExportFormat::Csv => {
                let mut file = BufWriter::new(File::create(&part).map_err(|e| fail(&e))?);
                file.write_all(b"\xEF\xBB\xBF").map_err(|e| fail(&e))?;
                let mut w = csv::Writer::from_writer(file);
                w.write_record(headers).map_err(|e| fail(&e))?;
                Sink::Csv(Box::new(w))
            }
            ExportFormat::Xlsx => Sink::Xlsx {
                book: Box::new(rust_xlsxwriter::Workbook::new()),
                headers: headers.iter().map(|h| (*h).to_owned()).collect(),
                sheet: 0,
                row: XLSX_ROWS_PER_SHEET, // a new sheet before the first row
                sheet_name: sheet_name.to_owned(),
            },
        };
        Ok(TableFile { path: path.to_owned(), part, sink: Some(sink), rows: 0 })
    }

    pub fn row(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        let path = &self.path;
        let fail = |e: &dyn std::fmt::Display| ExportError::Write { path: path.clone(), detail: e.to_string() };
        match &mut self.sink {
            None => return Err(fail(&"the file is already closed")),
            Some(Sink::Csv(w)) => w.write_record(cells.iter().map(Cell::as_text)).map_err(|e| fail(&e))?,
            Some(Sink::Xlsx { book, headers, sheet, row, sheet_name }) => {
                (|| -> Result<(), rust_xlsxwriter::XlsxError> {
                    if *row >= XLSX_ROWS_PER_SHEET {
                        *sheet += 1;
                        let s = book.add_worksheet_with_constant_memory()?;
                        let name = if *sheet == 1 { sheet_name.clone() } else { format!("{sheet_name} {sheet}") };
                        s.set_name(name)?;
                        let bold = rust_xlsxwriter::Format::new().set_bold();
                        for (c, h) in headers.iter().enumerate() {
                            s.write_string_with_format(0, c as u16, h, &bold)?;
                        }
                        *row = 0;
                    }
                    *row += 1;
                    let s = book.worksheet_from_index(*sheet - 1)?;
                    for (c, cell) in cells.iter().enumerate() {
                        match cell {
                            Cell::Text(t) => s.write_string(*row, c as u16, t)?,
                            // Whole fen below 2^53 are exact as a spreadsheet number.
                            #[allow(clippy::cast_precision_loss)]
                            Cell::Int(n) if n.unsigned_abs() < (1 << 53) => {
                                s.write_number(*row, c as u16, *n as f64)?
                            }
                            Cell::Int(n) => s.write_string(*row, c as u16, n.to_string())?,
                        };
                    }
                    Ok(())
                })()
                .map_err(|e| fail(&e))?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Closes the file and moves it into place; returns the rows written.
    pub fn finish(mut self) -> Result<u64, ExportError> {
        let path = self.path.clone();
        let fail = |e: &dyn std::fmt::Display| ExportError::Write { path: path.clone(), detail: e.to_string() };
        match self.sink.take() {
            None => {}
            Some(Sink::Csv(w)) => {
                let mut file = w.into_inner().map_err(|e| fail(&e.error().to_string()))?;
                file.flush().map_err(|e| fail(&e))?;
            }
            Some(Sink::Xlsx { mut book, headers, sheet, sheet_name, .. }) => {
                if sheet == 0 {
                    // No rows: still a sheet with the header line.
                    let s = book.add_worksheet();
                    s.set_name(&sheet_name).map_err(|e| fail(&e))?;
                    for (c, h) in headers.iter().enumerate() {
                        s.write_string(0, c as u16, h).map_err(|e| fail(&e))?;
                    }
                }
                book.save(&self.part).map_err(|e| fail(&e))?;
            }
        }
        std::fs::rename(&self.part, &self.path).map_err(|e| fail(&e))?;
        Ok(self.rows)
    }
}

impl Drop for TableFile {
    /// A table dropped before [`TableFile::finish`] (error, cancel) leaves nothing behind.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.part);
    }
}

/// The orders export's columns.
pub fn order_headers(lang: Lang) -> [&'static str; 11] {
    [
        "out_trade_no",
        "trade_no",
        lang.pick("创建时间（本地）", "created (local)"),
        lang.pick("状态", "status"),
        lang.pick("金额", "total_amount"),
        lang.pick("已退款", "refunded_amount"),
        lang.pick("金额（分）", "total_fen"),
        lang.pick("已退款（分）", "refunded_fen"),
        lang.pick("收单机构", "acquirer"),
        lang.pick("商品", "subject"),
        lang.pick("付款码", "auth_code (masked)"),
    ]
}

fn order_cells(o: &Order, acquirer: &str, lang: Lang) -> Vec<Cell> {
    vec![
        Cell::Text(o.out_trade_no.clone()),
        Cell::Text(o.trade_no.clone().unwrap_or_default()),
        Cell::Text(crate::time::to_china_display(&o.created_at)),
        Cell::Text(o.status.label(lang).to_owned()),
        Cell::Text(o.total_amount.to_string()),
        Cell::Text(o.refunded_amount.to_string()),
        Cell::Int(o.total_amount.fen()),
        Cell::Int(o.refunded_amount.fen()),
        Cell::Text(acquirer.to_owned()),
        Cell::Text(o.subject.clone()),
        Cell::Text(o.auth_code_masked.clone().unwrap_or_default()),
    ]
}

/// Calls `each` with the cells of every order the filter matches, in `sort` order, read page by page; stops with
/// [`ExportError::Cancelled`] when `cancel` is set between pages.
fn for_each_order(
    db: &Store,
    filter: &OrderFilter,
    sort: OrderSort,
    lang: Lang,
    cancel: &AtomicBool,
    each: &mut dyn FnMut(Vec<Cell>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let acquirers = db.setup().acquirers()?;
    let mut key = None;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(ExportError::Cancelled);
        }
        let (rows, next) = db.orders().orders_page(filter, sort, key.as_ref(), PAGE)?;
        if rows.is_empty() {
            return Ok(());
        }
        for o in &rows {
            let acquirer = acquirers.iter().find(|a| a.id == o.acquirer_id).map_or("", |a| a.name.as_str());
            each(order_cells(o, acquirer, lang))?;
        }
        key = next;
    }
}

/// Writes every order the filter matches to `path` (.csv or .xlsx), calling `progress(rows_done, rows_total)`.
pub fn export_orders(
    db: &Store,
    filter: &OrderFilter,
    sort: OrderSort,
    path: &Path,
    lang: Lang,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<u64, ExportError> {
    let format = ExportFormat::for_path(path)?;
    let total = db.orders().order_totals(filter)?.count.max(0) as u64;
    let mut file = TableFile::create(path, format, lang.pick("订单", "Orders"), &order_headers(lang))?;
    progress(0, total);
    for_each_order(db, filter, sort, lang, cancel, &mut |cells| {
        file.row(&cells)?;
        if file.rows % u64::from(PAGE) == 0 {
            progress(file.rows, total.max(file.rows));
        }
        Ok(())
    })?;
    progress(file.rows, total.max(file.rows));
    file.finish()
}

/// Streams the orders the filter matches as CSV to `out` (no BOM: for pipes and terminals). Returns the rows.
pub fn write_orders_csv<W: Write>(
    db: &Store,
    filter: &OrderFilter,
    sort: OrderSort,
    lang: Lang,
    out: W,
) -> Result<u64, ExportError> {
    let fail = |e: &dyn std::fmt::Display| ExportError::Write { path: PathBuf::from("-"), detail: e.to_string() };
    let mut w = csv::Writer::from_writer(out);
    w.write_record(order_headers(lang)).map_err(|e| fail(&e))?;
    let mut n = 0;
    for_each_order(db, filter, sort, lang, &AtomicBool::new(false), &mut |cells| {
        n += 1;
        w.write_record(cells.iter().map(Cell::as_text)).map_err(|e| fail(&e))
    })?;
    w.flush().map_err(|e| fail(&e))?;
    Ok(n)
}

/// The refunds export's columns.
pub fn refund_headers(lang: Lang) -> [&'static str; 7] {
    [
        "out_trade_no",
        "out_request_no",
        lang.pick("时间（本地）", "created (local)"),
        lang.pick("退款金额", "refund_amount"),
        lang.pick("退款金额（分）", "refund_fen"),
        lang.pick("状态", "status"),
        lang.pick("原因", "reason"),
    ]
}

/// Writes the refunds the filter matches, newest first, to `path` (.csv or .xlsx).
pub fn export_refunds(
    db: &Store,
    filter: &RefundFilter,
    path: &Path,
    lang: Lang,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<u64, ExportError> {
    let format = ExportFormat::for_path(path)?;
    let rows: Vec<(Refund, String)> = db.refunds().recent_refunds(filter, u32::MAX)?;
    let total = rows.len() as u64;
    let mut file = TableFile::create(path, format, lang.pick("退款", "Refunds"), &refund_headers(lang))?;
    progress(0, total);
    for (i, (r, out_trade_no)) in rows.iter().enumerate() {
        if i % 1000 == 0 {
            if cancel.load(Ordering::Relaxed) {
                return Err(ExportError::Cancelled);
            }
            progress(i as u64, total);
        }
        file.row(&[
            Cell::Text(out_trade_no.clone()),
            Cell::Text(r.out_request_no.clone()),
            Cell::Text(crate::time::to_china_display(&r.created_at)),
            Cell::Text(r.refund_amount.to_string()),
            Cell::Int(r.refund_amount.fen()),
            Cell::Text(r.status.label(lang).to_owned()),
            Cell::Text(r.reason.clone()),
        ])?;
    }
    progress(total, total);
    file.finish()
}

/// A file name in the data folder's exports/ for a fresh export: `orders-2026-11-25T08-00-00-000000Z.xlsx`.
pub fn default_export_path(data_dir: &Path, what: &str, format: ExportFormat) -> PathBuf {
    data_dir.join("exports").join(format!(
        "{what}-{}.{}",
        crate::time::now_utc().replace([':', '.'], "-"),
        format.extension()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Amount;

    fn seeded(n: u64) -> Store {
        let mut db = Store::open_in_memory().unwrap();
        db.orders_mut().seed_demo_orders(n, 3, &mut |_| {}).unwrap();
        db
    }

    #[test]
    fn csv_export_has_every_filtered_order_and_exact_amounts() {
        let db = seeded(4321);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.csv");
        let filter = OrderFilter { min_amount: Some(Amount::from_fen(5000)), ..Default::default() };
        let mut last = (0, 0);
        let n = export_orders(
            &db,
            &filter,
            OrderSort::NewestFirst,
            &path,
            Lang::En,
            &mut |d, t| last = (d, t),
            &AtomicBool::new(false),
        )
        .unwrap();
        let totals = db.orders().order_totals(&filter).unwrap();
        assert_eq!(n as i64, totals.count);
        assert_eq!(last, (n, n));
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let mut r = csv::Reader::from_reader(&bytes[3..]);
        let headers = r.headers().unwrap().clone();
        assert_eq!(&headers[6], "total_fen");
        let sum: i64 = r.records().map(|rec| rec.unwrap()[6].parse::<i64>().unwrap()).sum();
        assert!(sum >= 5000 * n as i64);
        assert!(!dir.path().join("o.csv.part").exists());
    }

    #[test]
    fn xlsx_export_is_a_workbook_and_a_cancel_leaves_nothing() {
        let db = seeded(500);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.xlsx");
        let n = export_orders(
            &db,
            &OrderFilter::default(),
            OrderSort::NewestFirst,
            &path,
            Lang::ZhCn,
            &mut |_, _| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(n, 500);
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"PK"), "an XLSX file is a zip");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut sheet = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut sheet).unwrap();
        assert_eq!(sheet.matches("<row ").count(), 501, "header and 500 orders");

        let cancelled = dir.path().join("c.xlsx");
        let err = export_orders(
            &db,
            &OrderFilter::default(),
            OrderSort::NewestFirst,
            &cancelled,
            Lang::En,
            &mut |_, _| {},
            &AtomicBool::new(true),
        )
        .unwrap_err();
        assert!(matches!(err, ExportError::Cancelled));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only o.xlsx");
    }

    #[test]
    fn a_file_name_without_a_known_extension_is_refused() {
        let db = Store::open_in_memory().unwrap();
        let err = export_refunds(
            &db,
            &RefundFilter::default(),
            Path::new("/tmp/x.txt"),
            Lang::En,
            &mut |_, _| {},
            &AtomicBool::new(false),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "/tmp/x.txt: the file name must end in .csv or .xlsx");
    }
}
