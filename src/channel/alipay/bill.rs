//! The Alipay trade bill (业务账单): a zip named `{account}_{yyyyMMdd}.csv.zip` holding two GBK CSV files,
//! `{account}_{yyyyMMdd}_业务明细.csv` (one row per trade or refund) and `{account}_{yyyyMMdd}_业务明细(汇总).csv`
//! (one row per store and a 合计 row). Entry names are GBK too, without the zip UTF-8 flag.
//!
//! The client reads the detail file row by row with [`open_detail_entry`] and [`DetailReader`], in flat memory,
//! mapping columns by header name, and the small 汇总 file whole with [`DetailEntry::read_summary`] (its 合计 row is
//! checked against the detail rows by the import). The layout ([`DETAIL_COLUMNS`], [`SUMMARY_COLUMNS`]) is public
//! for the sandbox, which writes bills in this format; this module only reads. It imports `money` only.

use std::io::{self, BufRead, BufReader, Read, Seek};

use encoding_rs::GBK;
use time::{Date, PrimitiveDateTime};
use zip::ZipArchive;
use zip::read::ZipFile;
use zip::result::ZipError;

use crate::money::{Amount, AmountError};

mod rows;
mod summary;

pub use rows::{AlipayBillRow, BillFooter, BillKind, SummaryFigures};
pub use summary::{SUMMARY_COLUMNS, SummaryTable, read_summary};

// Column positions in the canonical 25-column header.
const TRADE_NO: usize = 0;
const OUT_TRADE_NO: usize = 1;
const KIND: usize = 2;
const SUBJECT: usize = 3;
const CREATED_AT: usize = 4;
const FINISHED_AT: usize = 5;
const STORE_ID: usize = 6;
const STORE_NAME: usize = 7;
const OPERATOR_ID: usize = 8;
const TERMINAL_ID: usize = 9;
const BUYER_ACCOUNT: usize = 10;
const ORDER_AMOUNT: usize = 11;
const RECEIPT_AMOUNT: usize = 12;
const ALIPAY_RED_PACKET: usize = 13;
const JIFENBAO: usize = 14;
const ALIPAY_DISCOUNT: usize = 15;
const MERCHANT_DISCOUNT: usize = 16;
const COUPON_AMOUNT: usize = 17;
const COUPON_NAME: usize = 18;
const MERCHANT_RED_PACKET: usize = 19;
const CARD_AMOUNT: usize = 20;
const OUT_REQUEST_NO: usize = 21;
const SERVICE_FEE: usize = 22;
const PROFIT_SHARE: usize = 23;
const REMARK: usize = 24;
const COLUMN_COUNT: usize = 25;

/// A detail column: its header, whether Alipay appends a TAB to its values, whether a file must have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub tab: bool,
    pub required: bool,
}

const fn col(name: &'static str, tab: bool, required: bool) -> Column {
    Column { name, tab, required }
}

/// The 业务明细 header in order, as in Alipay's files.
pub const DETAIL_COLUMNS: [Column; COLUMN_COUNT] = [
    col("支付宝交易号", true, true),
    col("商户订单号", true, true),
    col("业务类型", true, true),
    col("商品名称", false, false),
    col("创建时间", false, true),
    col("完成时间", false, true),
    col("门店编号", true, false),
    col("门店名称", true, false),
    col("操作员", true, false),
    col("终端号", true, false),
    col("对方账户", true, false),
    col("订单金额（元）", false, true),
    col("商家实收（元）", false, true),
    col("支付宝红包（元）", false, false),
    col("集分宝（元）", false, false),
    col("支付宝优惠（元）", false, false),
    col("商家优惠（元）", false, false),
    col("券核销金额（元）", false, false),
    col("券名称", false, false),
    col("商家红包消费金额（元）", true, false),
    col("卡消费金额（元）", false, false),
    col("退款批次号/请求号", true, true),
    col("服务费（元）", false, false),
    col("分润（元）", false, false),
    col("备注", false, false),
];

/// The 业务明细(汇总) header.
#[cfg(test)]
const SUMMARY_HEADER: &str = "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,\
                              商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）";

/// The first line of 业务明细.
pub const DETAIL_TITLE: &str = "#支付宝业务明细查询";
/// The first line of 业务明细(汇总).
pub const SUMMARY_TITLE: &str = "#支付宝业务汇总查询";
const DETAIL_ENTRY_SUFFIX: &str = "业务明细.csv";
const SUMMARY_MARK: &str = "汇总";
/// The longest line the reader accepts; a file without line breaks is not a bill.
const MAX_LINE_BYTES: usize = 1 << 20;

/// Why a bill could not be read. Messages name the file, the 1-based line and the column.
#[derive(Debug, thiserror::Error)]
pub enum BillError {
    #[error("{file} line {line}, column {column}: {text:?} is not an amount")]
    BadAmount {
        file: String,
        line: u64,
        column: &'static str,
        text: String,
        #[source]
        reason: AmountError,
    },
    #[error("{file} line {line}, column {column}: {text:?} is not a time like 2019-09-16 10:55:16")]
    BadTime { file: String, line: u64, column: &'static str, text: String },
    #[error("{file} line {line}, column {column}: {text:?} is neither 交易 (payment) nor 退款 (refund)")]
    BadKind { file: String, line: u64, column: &'static str, text: String },
    #[error("{file} line {line}, column {column}: the value is empty, but every row needs one")]
    EmptyValue { file: String, line: u64, column: &'static str },
    #[error("{file} line {line}: the header has no column {column}; is this an Alipay 业务明细 file?")]
    MissingColumn { file: String, line: u64, column: &'static str },
    #[error("{file} line {line}: the row has {found} columns, but the header has {expected}")]
    ColumnCount { file: String, line: u64, expected: usize, found: usize },
    #[error("{file} line {line}: a quoted value is not closed")]
    UnclosedQuote { file: String, line: u64 },
    #[error("{file} line {line}: the line is longer than {limit} bytes; this is not a bill file")]
    LineTooLong { file: String, line: u64, limit: usize },
    #[error(
        "{file} line {line}: {text:?} is not a totals line like #交易合计：6笔，商家实收共0.06元，商家优惠共0.00元"
    )]
    BadFooter { file: String, line: u64, text: String },
    #[error("{file} line {line}: {text:?} does not hold dates like [2019年09月16日 00:00:00]")]
    BadPeriod { file: String, line: u64, text: String },
    #[error("{file}: the file has no column header line; is it empty or cut short?")]
    NoHeader { file: String },
    #[error(
        "{file}: the file is UTF-16 (as a spreadsheet saves \"Unicode text\"), but Alipay bills are GBK: use the file \
         as Alipay served it, or download it again"
    )]
    Utf16 { file: String },
    #[error("{file} line {line}: the text is not valid GBK (Alipay bills are GBK)")]
    NotGbk { file: String, line: u64 },
    #[error("{file} line {line}: the header has no column {column}; is this an Alipay 业务明细(汇总) file?")]
    SummaryColumn { file: String, line: u64, column: &'static str },
    #[error("{file} line {line}, column {column}: {text:?} is not a count (a whole number)")]
    BadCount { file: String, line: u64, column: &'static str, text: String },
    #[error("{file}: the file has no 合计 row (or more than one): it was probably cut short; download the bill again")]
    NoSummaryTotal { file: String },
    #[error("{file}: the file is larger than {limit} bytes; this is not an Alipay 业务明细(汇总) file")]
    SummaryTooLarge { file: String, limit: usize },
    #[error("{file}: cannot read the file: {source}")]
    Io { file: String, source: io::Error },
    #[error("the bill download is not a readable zip file: {0}")]
    Zip(#[from] ZipError),
    #[error("the bill zip has no 业务明细 file (it holds: {names})")]
    NoDetailEntry { names: String },
}

// ---------------------------------------------------------------------------------------------------------------
// Reading (the client side)

/// An opened bill zip with its 业务明细 entry (and 业务明细(汇总) entry, when there is one) found.
pub struct DetailEntry<R: Read + Seek> {
    archive: ZipArchive<R>,
    index: usize,
    name: String,
    summary: Option<(usize, String)>,
}

/// Entry names decoded both ways: UTF-8 when valid, and GBK (what Alipay writes).
fn name_candidates(raw: &[u8]) -> Vec<String> {
    let mut names = Vec::with_capacity(2);
    if let Ok(utf8) = std::str::from_utf8(raw) {
        names.push(utf8.to_owned());
    }
    let (gbk, _) = GBK.decode_without_bom_handling(raw);
    names.push(gbk.into_owned());
    names
}

/// Opens a bill zip (a file, or `Cursor` over the downloaded bytes) and finds the 业务明细 entry (not the 汇总
/// one), reading entry names as GBK or UTF-8.
pub fn open_detail_entry<R: Read + Seek>(reader: R) -> Result<DetailEntry<R>, BillError> {
    let archive = ZipArchive::new(reader)?;
    let mut seen = Vec::new();
    let mut found = None;
    let mut summary = None;
    let base = |name: &str| name.rsplit(['/', '\\']).next().unwrap_or(name).to_owned();
    for (index, raw) in archive.file_names_raw().enumerate() {
        let candidates = name_candidates(raw);
        let hit = candidates.iter().find(|n| n.ends_with(DETAIL_ENTRY_SUFFIX) && !n.contains(SUMMARY_MARK)).cloned();
        let summary_hit = candidates
            .iter()
            .find(|n| n.contains("业务明细") && n.contains(SUMMARY_MARK) && n.ends_with(".csv"))
            .cloned();
        if let Some(name) = summary_hit
            && summary.is_none()
        {
            summary = Some((index, base(&name)));
        }
        match hit {
            Some(name) if found.is_none() => found = Some((index, name)),
            _ => seen.push(candidates.last().cloned().unwrap_or_default()),
        }
    }
    let (index, name) = found.ok_or_else(|| BillError::NoDetailEntry {
        names: if seen.is_empty() { "nothing".to_owned() } else { seen.join(", ") },
    })?;
    Ok(DetailEntry { archive, index, name: base(&name), summary })
}

impl<R: Read + Seek> DetailEntry<R> {
    /// The entry's name, e.g. `20880211096256330156_20190916_业务明细.csv`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Streams the entry's rows.
    pub fn reader(&mut self) -> Result<DetailReader<ZipFile<'_, R>>, BillError> {
        let file = self.archive.by_index(self.index)?;
        Ok(DetailReader::new(file, &self.name))
    }

    /// The 业务明细(汇总) entry's name, when the zip has one.
    pub fn summary_name(&self) -> Option<&str> {
        self.summary.as_ref().map(|(_, name)| name.as_str())
    }

    /// Reads the 业务明细(汇总) entry; `None` when the zip has none.
    pub fn read_summary(&mut self) -> Result<Option<SummaryTable>, BillError> {
        let Some((index, name)) = self.summary.clone() else {
            return Ok(None);
        };
        let file = self.archive.by_index(index)?;
        read_summary(file, &name).map(Some)
    }
}

/// Whether a file's first line is UTF-16: a byte-order mark, or zero bytes (GBK and UTF-8 text never holds one).
fn looks_utf16(first_line: &[u8]) -> bool {
    first_line.starts_with(b"\xFF\xFE") || first_line.starts_with(b"\xFE\xFF") || first_line.contains(&0)
}

/// What the `#` lines above the rows say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BillMeta {
    /// `#账号：[…]`
    pub account: Option<String>,
    /// `#起始日期：[…]`
    pub start: Option<PrimitiveDateTime>,
    /// `终止日期：[…]`
    pub end: Option<PrimitiveDateTime>,
    /// `#导出时间：[…]`, as written.
    pub exported_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextEncoding {
    Gbk,
    Utf8,
}

/// Why a line did not split into cells.
struct UnclosedQuote;

/// Splits one CSV record (RFC 4180 quoting; text after a closing quote is kept as is).
fn split_record(line: &str) -> Result<Vec<String>, UnclosedQuote> {
    let mut cells = Vec::with_capacity(COLUMN_COUNT);
    let mut cell = String::new();
    let mut chars = line.chars().peekable();
    let mut at_cell_start = true;
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            ',' => {
                cells.push(std::mem::take(&mut cell));
                at_cell_start = true;
                continue;
            }
            '"' if at_cell_start => in_quotes = true,
            _ => cell.push(c),
        }
        at_cell_start = false;
    }
    if in_quotes {
        return Err(UnclosedQuote);
    }
    cells.push(cell);
    Ok(cells)
}

/// Header names compared without surrounding blanks/TABs and with ASCII parentheses read as full-width.
fn normalize_header(name: &str) -> String {
    name.trim().trim_start_matches('\u{feff}').replace('(', "（").replace(')', "）")
}

/// All `[…]` contents of a line.
fn bracketed(text: &str) -> Vec<&str> {
    text.split('[').skip(1).filter_map(|part| part.split_once(']').map(|(inside, _)| inside.trim())).collect()
}

/// `2019年09月16日 00:00:00` (or any six numbers in that order).
fn parse_period_time(text: &str) -> Option<PrimitiveDateTime> {
    let numbers: Vec<u32> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    let [year, month, day, hour, minute, second] = numbers.as_slice() else {
        return None;
    };
    let month = time::Month::try_from(u8::try_from(*month).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(*year).ok()?, month, u8::try_from(*day).ok()?).ok()?;
    date.with_hms(u8::try_from(*hour).ok()?, u8::try_from(*minute).ok()?, u8::try_from(*second).ok()?).ok()
}

/// `6笔，商家实收共0.06元，商家优惠共0.00元` → (6, 0.06, 0.00).
fn parse_totals(body: &str) -> Option<(u64, Amount, Amount)> {
    let (count, rest) = body.split_once('笔')?;
    let count = count.trim().parse().ok()?;
    let mut amounts = rest.split('共').skip(1).map(|part| part.split_once('元').map(|(amount, _)| amount.trim()));
    let receipt = Amount::parse_signed(amounts.next()??).ok()?;
    let discount = Amount::parse_signed(amounts.next()??).ok()?;
    Some((count, receipt, discount))
}

/// One data record with the header's column positions, turning cells into typed values with precise errors.
struct RowCells<'c> {
    cells: &'c [String],
    positions: &'c [Option<usize>; COLUMN_COUNT],
    file: &'c str,
    line: u64,
}

impl<'c> RowCells<'c> {
    /// The cell without the TABs Alipay appends (and any in front); empty when the column is absent.
    fn raw(&self, col: usize) -> &'c str {
        self.positions[col].and_then(|p| self.cells.get(p)).map(|s| s.trim_matches('\t')).unwrap_or_default()
    }

    /// Free text (subject, names, remark): kept as written, TABs aside.
    fn text(&self, col: usize) -> String {
        self.raw(col).to_owned()
    }

    /// Identifiers: surrounding blanks dropped too.
    fn id(&self, col: usize) -> String {
        self.raw(col).trim().to_owned()
    }

    fn required(&self, col: usize) -> Result<&'c str, BillError> {
        let value = self.raw(col).trim();
        if value.is_empty() {
            Err(BillError::EmptyValue { file: self.file.to_owned(), line: self.line, column: DETAIL_COLUMNS[col].name })
        } else {
            Ok(value)
        }
    }

    /// A signed amount; an empty optional amount column counts as 0.00.
    fn amount(&self, col: usize) -> Result<Amount, BillError> {
        let column = &DETAIL_COLUMNS[col];
        let value = if column.required { self.required(col)? } else { self.raw(col).trim() };
        if value.is_empty() {
            return Ok(Amount::ZERO);
        }
        Amount::parse_signed(value).map_err(|reason| BillError::BadAmount {
            file: self.file.to_owned(),
            line: self.line,
            column: column.name,
            text: value.to_owned(),
            reason,
        })
    }

    /// `2019-09-16 10:55:16`.
    fn time(&self, col: usize) -> Result<PrimitiveDateTime, BillError> {
        let value = self.required(col)?;
        let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        PrimitiveDateTime::parse(value, format).map_err(|_| BillError::BadTime {
            file: self.file.to_owned(),
            line: self.line,
            column: DETAIL_COLUMNS[col].name,
            text: value.to_owned(),
        })
    }

    fn kind(&self) -> Result<BillKind, BillError> {
        let value = self.required(KIND)?;
        BillKind::parse(value).ok_or_else(|| BillError::BadKind {
            file: self.file.to_owned(),
            line: self.line,
            column: DETAIL_COLUMNS[KIND].name,
            text: value.to_owned(),
        })
    }
}

/// Streams the rows of a 业务明细 file: GBK (or UTF-8) decoded line by line, LF or CRLF, `#` lines read for the
/// account, period and footer, columns mapped by header name.
///
/// A bad row yields an error and reading goes on with the next one; a bad header or an I/O failure ends it.
pub struct DetailReader<R: Read> {
    input: BufReader<R>,
    file: String,
    line: u64,
    buf: Vec<u8>,
    encoding: Option<TextEncoding>,
    warned_encoding: bool,
    /// The first line that was not valid text in the file's encoding.
    bad_encoding_line: Option<u64>,
    /// For each canonical column, its position in the file's header.
    positions: Option<[Option<usize>; COLUMN_COUNT]>,
    header_len: usize,
    meta: BillMeta,
    trade_totals: Option<(u64, Amount, Amount)>,
    footer: Option<BillFooter>,
    row_totals: BillFooter,
    row_figures: SummaryFigures,
    done: bool,
}

impl<R: Read> DetailReader<R> {
    /// Reads a 业务明细 CSV from `input`; `file_name` is used in messages.
    pub fn new(input: R, file_name: &str) -> Self {
        DetailReader {
            input: BufReader::with_capacity(64 * 1024, input),
            file: file_name.to_owned(),
            line: 0,
            buf: Vec::with_capacity(1024),
            encoding: None,
            warned_encoding: false,
            bad_encoding_line: None,
            positions: None,
            header_len: 0,
            meta: BillMeta::default(),
            trade_totals: None,
            footer: None,
            row_totals: BillFooter::default(),
            row_figures: SummaryFigures::default(),
            done: false,
        }
    }

    /// The file name used in messages.
    pub fn file_name(&self) -> &str {
        &self.file
    }

    /// The 1-based number of the last physical line read (the last line of the row just returned).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The first line whose bytes were not valid GBK (or UTF-8, once the file showed itself UTF-8); such bytes
    /// are read as U+FFFD, so a strict reader refuses the file.
    pub fn encoding_error_line(&self) -> Option<u64> {
        self.bad_encoding_line
    }

    /// The account and period from the `#` lines read so far.
    pub fn meta(&self) -> &BillMeta {
        &self.meta
    }

    /// The footer totals, once both `#交易合计` and `#退款合计` have been read (after the last row).
    pub fn footer(&self) -> Option<&BillFooter> {
        self.footer.as_ref()
    }

    /// The totals of the rows read so far without error, to compare with [`DetailReader::footer`].
    pub fn row_totals(&self) -> &BillFooter {
        &self.row_totals
    }

    /// The 汇总 figures of the rows read so far without error, to compare with the 业务明细(汇总) 合计 row.
    pub fn row_figures(&self) -> &SummaryFigures {
        &self.row_figures
    }

    /// Reads the next physical line into `buf` without its line ending. `Ok(false)` at the end.
    fn read_line(&mut self) -> Result<bool, BillError> {
        self.buf.clear();
        let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX);
        let n = (&mut self.input)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| BillError::Io { file: self.file.clone(), source })?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if n == MAX_LINE_BYTES {
            return Err(BillError::LineTooLong { file: self.file.clone(), line: self.line, limit: MAX_LINE_BYTES });
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.line == 1 && looks_utf16(&self.buf) {
            return Err(BillError::Utf16 { file: self.file.clone() });
        }
        Ok(true)
    }

    /// Decodes `buf`. The encoding is settled by the first non-ASCII line: UTF-8 if it has a BOM or is valid
    /// UTF-8, GBK otherwise (Alipay's). GBK and UTF-8 never use the byte of '\n' inside a character, so decoding
    /// line by line is exact.
    fn decode_line(&mut self) -> String {
        let mut bytes = self.buf.as_slice();
        if self.line == 1
            && let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF")
        {
            bytes = rest;
            self.encoding = Some(TextEncoding::Utf8);
        }
        if self.encoding.is_none() && !bytes.is_ascii() {
            let utf8 = std::str::from_utf8(bytes).is_ok();
            self.encoding = Some(if utf8 { TextEncoding::Utf8 } else { TextEncoding::Gbk });
        }
        let (text, had_errors) = match self.encoding {
            Some(TextEncoding::Utf8) => match String::from_utf8(bytes.to_vec()) {
                Ok(text) => (text, false),
                Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
            },
            _ => {
                let (text, had_errors) = GBK.decode_without_bom_handling(bytes);
                (text.into_owned(), had_errors)
            }
        };
        if had_errors && !self.warned_encoding {
            self.warned_encoding = true;
            self.bad_encoding_line = Some(self.line);
            tracing::warn!(file = %self.file, line = self.line, "bill text is not valid in its encoding; replaced");
        }
        text
    }

    /// Reads a `#` line for the account, period, export time and totals.
    fn read_meta(&mut self, text: &str) -> Result<(), BillError> {
        let body = text.trim_start_matches('#').trim();
        let after = |label: &str| body.strip_prefix(label).map(|rest| rest.trim_start_matches(['：', ':']).trim());
        if let Some(rest) = after("账号") {
            self.meta.account = bracketed(rest).first().map(|s| (*s).to_owned());
        } else if body.starts_with("起始日期") {
            let dates = bracketed(body);
            let bad = || BillError::BadPeriod { file: self.file.clone(), line: self.line, text: text.to_owned() };
            let [start, end] = dates.as_slice() else {
                return Err(bad());
            };
            self.meta.start = Some(parse_period_time(start).ok_or_else(bad)?);
            self.meta.end = Some(parse_period_time(end).ok_or_else(bad)?);
        } else if let Some(rest) = after("导出时间") {
            self.meta.exported_at = bracketed(rest).first().map(|s| (*s).to_owned());
        } else if let Some(rest) = after("交易合计") {
            let totals = parse_totals(rest).ok_or_else(|| self.bad_footer(text))?;
            self.trade_totals = Some(totals);
        } else if let Some(rest) = after("退款合计") {
            let (refund_count, refund_receipt, refund_merchant_discount) =
                parse_totals(rest).ok_or_else(|| self.bad_footer(text))?;
            let (trade_count, trade_receipt, trade_merchant_discount) =
                self.trade_totals.ok_or_else(|| self.bad_footer(text))?;
            self.footer = Some(BillFooter {
                trade_count,
                trade_receipt,
                trade_merchant_discount,
                refund_count,
                refund_receipt,
                refund_merchant_discount,
            });
        }
        Ok(())
    }

    fn bad_footer(&self, text: &str) -> BillError {
        BillError::BadFooter { file: self.file.clone(), line: self.line, text: text.to_owned() }
    }

    /// Maps the header's names onto the canonical columns.
    fn read_header(&mut self, cells: &[String]) -> Result<(), BillError> {
        let names: Vec<String> = cells.iter().map(|c| normalize_header(c)).collect();
        let mut positions = [None; COLUMN_COUNT];
        for (slot, column) in positions.iter_mut().zip(DETAIL_COLUMNS.iter()) {
            *slot = names.iter().position(|n| n == column.name);
            if slot.is_none() && column.required {
                return Err(BillError::MissingColumn { file: self.file.clone(), line: self.line, column: column.name });
            }
        }
        self.positions = Some(positions);
        self.header_len = cells.len();
        Ok(())
    }

    fn parse_row(
        &self,
        cells: &[String],
        positions: &[Option<usize>; COLUMN_COUNT],
    ) -> Result<AlipayBillRow, BillError> {
        // More values than the header has columns would shift every later column; fewer would leave them empty.
        if cells.len() != self.header_len {
            return Err(BillError::ColumnCount {
                file: self.file.clone(),
                line: self.line,
                expected: self.header_len,
                found: cells.len(),
            });
        }
        let row = RowCells { cells, positions, file: &self.file, line: self.line };
        let out_request_no = row.id(OUT_REQUEST_NO);
        Ok(AlipayBillRow {
            trade_no: row.required(TRADE_NO)?.to_owned(),
            out_trade_no: row.required(OUT_TRADE_NO)?.to_owned(),
            kind: row.kind()?,
            subject: row.text(SUBJECT),
            created_at: row.time(CREATED_AT)?,
            finished_at: row.time(FINISHED_AT)?,
            store_id: row.id(STORE_ID),
            store_name: row.text(STORE_NAME),
            operator_id: row.id(OPERATOR_ID),
            terminal_id: row.id(TERMINAL_ID),
            buyer_account: row.id(BUYER_ACCOUNT),
            order_amount: row.amount(ORDER_AMOUNT)?,
            receipt_amount: row.amount(RECEIPT_AMOUNT)?,
            alipay_red_packet: row.amount(ALIPAY_RED_PACKET)?,
            jifenbao: row.amount(JIFENBAO)?,
            alipay_discount: row.amount(ALIPAY_DISCOUNT)?,
            merchant_discount: row.amount(MERCHANT_DISCOUNT)?,
            coupon_amount: row.amount(COUPON_AMOUNT)?,
            coupon_name: row.text(COUPON_NAME),
            merchant_red_packet: row.amount(MERCHANT_RED_PACKET)?,
            card_amount: row.amount(CARD_AMOUNT)?,
            out_request_no: (!out_request_no.is_empty()).then_some(out_request_no),
            service_fee: row.amount(SERVICE_FEE)?,
            profit_share: row.amount(PROFIT_SHARE)?,
            remark: row.text(REMARK),
        })
    }

    /// The next row, error, or the end.
    fn advance(&mut self) -> Option<Result<AlipayBillRow, BillError>> {
        loop {
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return self.positions.is_none().then(|| Err(BillError::NoHeader { file: self.file.clone() }));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
            let mut text = self.decode_line();
            if text.starts_with('#') {
                match self.read_meta(&text) {
                    Ok(()) => continue,
                    Err(e) => return Some(Err(e)),
                }
            }
            if text.trim().is_empty() {
                continue;
            }
            let first_line = self.line;
            // A quoted value may hold a line break: join lines until the quote closes.
            let cells = loop {
                match split_record(&text) {
                    Ok(cells) => break cells,
                    Err(UnclosedQuote) => match self.read_line() {
                        Ok(true) => {
                            let more = self.decode_line();
                            text.push('\n');
                            text.push_str(&more);
                        }
                        Ok(false) | Err(_) => {
                            self.done = true;
                            return Some(Err(BillError::UnclosedQuote { file: self.file.clone(), line: first_line }));
                        }
                    },
                }
            };
            let Some(positions) = self.positions else {
                if let Err(e) = self.read_header(&cells) {
                    self.done = true;
                    return Some(Err(e));
                }
                continue;
            };
            let row = self.parse_row(&cells, &positions);
            if let Ok(row) = &row {
                self.row_totals.add_row(row);
                self.row_figures.add_row(row);
            }
            return Some(row);
        }
    }
}

impl<R: Read> Iterator for DetailReader<R> {
    type Item = Result<AlipayBillRow, BillError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done { None } else { self.advance() }
    }
}

#[cfg(test)]
mod tests {
    //! The reader on files written by hand and on Alipay's published sample; what the sandbox's writer makes is
    //! read back in `sandbox::bills::alipay`'s tests.
    use std::io::{Cursor, Write};

    use proptest::prelude::*;
    use time::macros::datetime;
    use zip::ZipWriter;
    use zip::write::SimpleFileOptions;

    use super::*;

    fn gbk(text: &str) -> Vec<u8> {
        GBK.encode(text).0.into_owned()
    }

    fn read_all<R: Read>(reader: DetailReader<R>) -> (Vec<AlipayBillRow>, Option<BillFooter>, BillFooter, BillMeta) {
        let mut reader = reader;
        let rows: Vec<AlipayBillRow> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        (rows, reader.footer().copied(), *reader.row_totals(), reader.meta().clone())
    }

    fn zip_of(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            zip.start_file_with_options(SimpleFileOptions::default().name(name)).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn the_summary_file_is_read_by_header_name() {
        let text = format!("#支付宝业务汇总查询\n{SUMMARY_HEADER}\nS1,店,1,0,1.00,1.00,0,0,0,-0.01,0,0.99\n");
        let whole = format!("{text}合计,,1,0,1.00,1.00,0,0,0,-0.01,0,0.99\n#导出时间：[2019年09月17日 05:46:49]\n");
        let summary = read_summary(Cursor::new(gbk(&whole)), "s.csv").unwrap();
        assert_eq!(summary.stores.len(), 1);
        assert_eq!((summary.total.trade_count, summary.total.refund_count), (1, 0));
        assert_eq!(summary.total.service_fee, Amount::from_fen(-1));
        assert_eq!(summary.total.net_amount, Amount::from_fen(99));
        assert!(!summary.content().contains("导出时间"), "the export time is not content");

        let err = read_summary(Cursor::new(gbk(&text)), "s.csv").unwrap_err();
        assert_eq!(
            err.to_string(),
            "s.csv: the file has no 合计 row (or more than one): it was probably cut short; download the bill again"
        );
        let bad = format!("{text}合计,,x,0,1.00,1.00,0,0,0,-0.01,0,0.99\n");
        let err = read_summary(Cursor::new(gbk(&bad)), "s.csv").unwrap_err();
        assert_eq!(err.to_string(), "s.csv line 4, column 交易订单总笔数: \"x\" is not a count (a whole number)");
        let short = format!("{text}合计,,1,0,1.00\n");
        let err = read_summary(Cursor::new(gbk(&short)), "s.csv").unwrap_err();
        assert_eq!(err.to_string(), "s.csv line 4: the row has 5 columns, but the header has 12");
        let no_net = text.replace(",实收净额（元）", "");
        let err = read_summary(Cursor::new(gbk(&no_net)), "s.csv").unwrap_err();
        assert!(err.to_string().contains("the header has no column 实收净额（元）"), "{err}");
    }

    #[test]
    fn a_file_without_a_header_is_refused() {
        let empty = DetailReader::new(Cursor::new(b"#only comments\n".to_vec()), "f.csv").next().unwrap().unwrap_err();
        assert!(matches!(empty, BillError::NoHeader { .. }));
    }

    #[test]
    fn other_row_errors_are_precise() {
        let header = DETAIL_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(",");
        let good = "1\t,o1\t,交易\t,s,2019-09-16 10:55:16,2019-09-16 10:55:23,,,,,,1.00,1.00,0,0,0,0,0,,0,0,,0,0,";
        let cases = [
            (good.replace("交易", "转账"), "column 业务类型: \"转账\" is neither 交易"),
            (good.replace("2019-09-16 10:55:23", "16/09/2019"), "column 完成时间: \"16/09/2019\" is not a time"),
            (good.replacen("1\t,", "\t,", 1), "column 支付宝交易号: the value is empty"),
            (good.replace(",1.00,1.00,", ",,1.00,"), "column 订单金额（元）: the value is empty"),
            ("1,2,3".to_owned(), "the row has 3 columns, but the header has 25"),
            (format!("{good}\"open"), "a quoted value is not closed"),
        ];
        for (line, expected) in cases {
            let text = format!("#支付宝业务明细查询\n{header}\n{line}\n");
            let err = DetailReader::new(Cursor::new(text.into_bytes()), "f.csv").next().unwrap().unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with("f.csv line 3") && msg.contains(expected), "{msg}");
        }
        let text = format!("#支付宝业务明细查询\n{header}\n{good}\n#交易合计：x笔\n");
        let results: Vec<_> = DetailReader::new(Cursor::new(text.into_bytes()), "f.csv").collect();
        assert!(results[0].is_ok());
        assert!(results[1].as_ref().unwrap_err().to_string().starts_with("f.csv line 4: \"#交易合计：x笔\""));
    }

    /// The sample of gateways.md A5, TABs written out.
    const A5_SAMPLE: &str = "#支付宝业务明细查询
#账号：[20880211096256330156]
#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]
#-----------------------------------------业务明细列表----------------------------------------
支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注
2019091622001458860515315453\t,service_1568601259302\t,交易\t,下单测试,2019-09-16 10:55:16,2019-09-16 10:55:23,alipay_store\t,alipay_store\t,alipay\t,\t,*津水(602***@qq.com)\t,0.01,0.01,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,0.00,0.00,下单测试
2019091622001458860515315453\t,service_1568601259302\t,退款\t,下单测试,2019-09-16 10:55:16,2019-09-16 10:56:48,alipay_store\t,alipay_store\t,alipay\t,\t,*津水(602***@qq.com)\t,-0.01,-0.01,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,re_test_1568602607356\t,0.00,0.00,下单测试
#-----------------------------------------业务明细列表结束------------------------------------
#交易合计：6笔，商家实收共0.06元，商家优惠共0.00元
#退款合计：4笔，商家实收退款共-0.04元，商家优惠退款共0.00元
#导出时间：[2019年09月17日 05:46:49]
";

    #[test]
    fn the_published_sample_parses() {
        let (content, _, errors) = GBK.encode(A5_SAMPLE);
        assert!(!errors);
        let (name, _, _) = GBK.encode("20880211096256330156_20190916_业务明细.csv");
        let (summary_name, _, _) = GBK.encode("20880211096256330156_20190916_业务明细(汇总).csv");
        let zip = zip_of(&[(&summary_name, b"#\xd6\xa7\n"), (&name, &content)]);
        let mut entry = open_detail_entry(Cursor::new(zip)).unwrap();
        assert_eq!(entry.name(), "20880211096256330156_20190916_业务明细.csv");
        let (rows, footer, totals, meta) = read_all(entry.reader().unwrap());
        assert_eq!(rows.len(), 2);
        let (pay, refund) = (&rows[0], &rows[1]);
        assert_eq!(pay.trade_no, "2019091622001458860515315453");
        assert_eq!(pay.out_trade_no, "service_1568601259302");
        assert_eq!(pay.kind, BillKind::Trade);
        assert_eq!(pay.subject, "下单测试");
        assert_eq!(pay.created_at, datetime!(2019-09-16 10:55:16));
        assert_eq!(pay.finished_at, datetime!(2019-09-16 10:55:23));
        assert_eq!((pay.store_id.as_str(), pay.store_name.as_str()), ("alipay_store", "alipay_store"));
        assert_eq!((pay.operator_id.as_str(), pay.terminal_id.as_str()), ("alipay", ""));
        assert_eq!(pay.buyer_account, "*津水(602***@qq.com)");
        assert_eq!((pay.order_amount, pay.receipt_amount), (Amount::from_fen(1), Amount::from_fen(1)));
        assert_eq!(pay.out_request_no, None);
        assert_eq!(pay.remark, "下单测试");
        assert_eq!(refund.kind, BillKind::Refund);
        assert_eq!((refund.order_amount, refund.receipt_amount), (Amount::from_fen(-1), Amount::from_fen(-1)));
        assert_eq!(refund.out_request_no.as_deref(), Some("re_test_1568602607356"));
        assert_eq!(refund.finished_at, datetime!(2019-09-16 10:56:48));
        // The sample is an excerpt: its footer counts rows that are not shown.
        assert_eq!(
            footer,
            Some(BillFooter {
                trade_count: 6,
                trade_receipt: Amount::from_fen(6),
                trade_merchant_discount: Amount::ZERO,
                refund_count: 4,
                refund_receipt: Amount::from_fen(-4),
                refund_merchant_discount: Amount::ZERO,
            })
        );
        assert_eq!((totals.trade_count, totals.refund_count), (1, 1));
        assert_eq!(meta.account.as_deref(), Some("20880211096256330156"));
    }

    #[test]
    fn a_zip_without_a_detail_entry_says_what_it_holds() {
        let zip = zip_of(&[(GBK.encode("x_业务明细(汇总).csv").0.as_ref(), b"")]);
        let err = open_detail_entry(Cursor::new(zip)).err().unwrap();
        assert_eq!(err.to_string(), "the bill zip has no 业务明细 file (it holds: x_业务明细(汇总).csv)");
        assert!(matches!(open_detail_entry(Cursor::new(b"not a zip".to_vec())), Err(BillError::Zip(_))));
    }

    proptest! {
        #[test]
        fn reading_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            for result in DetailReader::new(Cursor::new(bytes.clone()), "f.csv").take(64) {
                let _ = result;
            }
            let _ = read_summary(Cursor::new(bytes), "s.csv");
        }
    }
}
