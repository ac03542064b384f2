//! Streaming bill import: the file is read row by row (memory stays flat whatever its size) into the database in
//! short batches (a payment never waits behind it), under a staged bill that nothing reads until one last short
//! transaction makes it whole (see `store::recon`). A bad row, a bill whose totals do not add up, or a cancel
//! leaves nothing behind.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;
use time::{Date, PrimitiveDateTime, UtcOffset};

use super::{ReconError, date_text};
use crate::channel::alipay::bill::{
    AlipayBillRow, BillError as AlipayError, BillKind, DetailReader, SummaryFigures, SummaryTable, open_detail_entry,
};
use crate::channel::wechatpay::bill::{
    BillReader, BillType as WechatBillType, MilliFen, WechatBillRowRef, WechatBillSummary,
};
use crate::model::AcquirerKind;
use crate::money::Amount;
use crate::store::Store;
use crate::store::recon::{BillRowKind, BillType, FinishedBill, NewBill, NewBillRow};

pub use super::outcome::{ImportOutcome, ImportResultKind, ImportWarning};

/// The bill formats TillDesk reads, told apart by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BillFormat {
    /// Alipay's `{account}_{yyyyMMdd}.csv.zip` (GBK CSVs inside).
    AlipayZip,
    /// The 业务明细 CSV taken out of Alipay's zip.
    AlipayCsv,
    /// WeChat Pay's downloadbill text.
    WechatText,
}

impl BillFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            BillFormat::AlipayZip => "alipay_zip",
            BillFormat::AlipayCsv => "alipay_csv",
            BillFormat::WechatText => "wechat_text",
        }
    }

    pub fn acquirer(self) -> AcquirerKind {
        match self {
            BillFormat::AlipayZip | BillFormat::AlipayCsv => AcquirerKind::Alipay,
            BillFormat::WechatText => AcquirerKind::WechatPay,
        }
    }

    fn article(self) -> &'static str {
        match self.acquirer() {
            AcquirerKind::Alipay => "an Alipay",
            AcquirerKind::WechatPay => "a WeChat Pay",
            AcquirerKind::AlipayPlus => "an Alipay+",
        }
    }

    /// Tells the format from the first bytes of a file.
    pub fn detect(head: &[u8]) -> Option<BillFormat> {
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            return Some(BillFormat::AlipayZip);
        }
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let first = head.split(|b| *b == b'\n').find(|l| !l.iter().all(u8::is_ascii_whitespace)).unwrap_or(head);
        let text = match std::str::from_utf8(first) {
            Ok(t) => t.to_owned(),
            Err(_) => encoding_rs::GBK.decode_without_bom_handling(first).0.into_owned(),
        };
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.starts_with("#支付宝") || compact.contains("支付宝交易号") {
            Some(BillFormat::AlipayCsv)
        } else if compact.contains("交易时间") && (compact.contains("公众账号ID") || compact.contains("微信订单号"))
        {
            Some(BillFormat::WechatText)
        } else {
            None
        }
    }
}

/// What the caller knows about the file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The acquirer the user says this is; the content must agree.
    pub acquirer: Option<AcquirerKind>,
    /// The acquirer account the bill belongs to (a fetch knows it); None: the first account of the bill's kind.
    pub account: Option<crate::model::AcquirerId>,
    /// The bill's day, when the caller knows it (a fetch does); otherwise read from the bill.
    pub bill_date: Option<Date>,
    /// The bill's type, when the caller knows it (a fetch that asked for one); the file's header must agree.
    /// Otherwise told from the header (WeChat Pay) or always `trade` (Alipay).
    pub bill_type: Option<BillType>,
    /// Import a bill whose own totals do not match its rows, flagged, instead of refusing it.
    pub accept_mismatched_totals: bool,
}

#[derive(Debug, Default)]
struct ControlInner {
    cancel: AtomicBool,
    rows: AtomicU64,
    bytes: AtomicU64,
    total_bytes: AtomicU64,
}

/// Progress and cancel, shared between the import (any thread) and whoever watches it.
#[derive(Debug, Clone, Default)]
pub struct ImportControl {
    inner: Arc<ControlInner>,
}

impl ImportControl {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the import to stop; it rolls back and ends with [`ReconError::Cancelled`].
    pub fn cancel(&self) {
        self.inner.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.load(Ordering::Relaxed)
    }

    /// Rows read so far.
    pub fn rows(&self) -> u64 {
        self.inner.rows.load(Ordering::Relaxed)
    }

    /// Bytes of the file read so far.
    pub fn bytes(&self) -> u64 {
        self.inner.bytes.load(Ordering::Relaxed)
    }

    /// The file's size (0 until known).
    pub fn total_bytes(&self) -> u64 {
        self.inner.total_bytes.load(Ordering::Relaxed)
    }

    /// Share of the file read, 0.0–1.0.
    pub fn fraction(&self) -> f32 {
        let total = self.total_bytes();
        if total == 0 { 0.0 } else { (self.bytes() as f64 / total as f64).clamp(0.0, 1.0) as f32 }
    }
}

/// Counts the bytes read into the control.
struct Counting<R> {
    inner: R,
    ctl: ImportControl,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ctl.inner.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let at = self.inner.seek(pos)?;
        self.ctl.inner.bytes.store(at, Ordering::Relaxed);
        Ok(at)
    }
}

/// Imports the bill file at `path`.
pub fn import_file(
    store: &mut Store,
    path: &Path,
    options: &ImportOptions,
    control: &ImportControl,
) -> Result<ImportOutcome, ReconError> {
    let name = path.display().to_string();
    import_file_kept(store, path, &name, options, control, Some(crate::store::archive::ArchiveSource::Imported))
}

/// Imports the bill file at `path` (called `name` in messages and in the bill's record) and, when `keep` says where
/// it came from, keeps it in the bill archive once the import has succeeded (see [`super::archive`]).
pub fn import_file_kept(
    store: &mut Store,
    path: &Path,
    name: &str,
    options: &ImportOptions,
    control: &ImportControl,
    keep: Option<crate::store::archive::ArchiveSource>,
) -> Result<ImportOutcome, ReconError> {
    let file_name = name.to_owned();
    let io = |source| ReconError::Io { file: file_name.clone(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    control.inner.total_bytes.store(len, Ordering::Relaxed);
    let outcome = import_reader(store, &file_name, file, options, control)?;
    if let Some(source) = keep {
        super::archive::keep_imported(store, path, &outcome, source)?;
    }
    Ok(outcome)
}

/// Imports a bill held in memory (a download); `name` is used in messages.
pub fn import_bytes(
    store: &mut Store,
    name: &str,
    bytes: &[u8],
    options: &ImportOptions,
    control: &ImportControl,
) -> Result<ImportOutcome, ReconError> {
    control.inner.total_bytes.store(bytes.len() as u64, Ordering::Relaxed);
    import_reader(store, name, Cursor::new(bytes), options, control)
}

fn import_reader<R: Read + Seek>(
    store: &mut Store,
    file: &str,
    reader: R,
    options: &ImportOptions,
    control: &ImportControl,
) -> Result<ImportOutcome, ReconError> {
    let io = |source| ReconError::Io { file: file.to_owned(), source };
    let mut reader = Counting { inner: reader, ctl: control.clone() };
    let mut head = Vec::with_capacity(4096);
    (&mut reader).take(4096).read_to_end(&mut head).map_err(io)?;
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    if let Some(text) = utf16_text(&head) {
        let bills_are = match BillFormat::detect(text.as_bytes()).map(BillFormat::acquirer) {
            Some(AcquirerKind::WechatPay) => "WeChat Pay bills are UTF-8",
            Some(_) => "Alipay bills are GBK",
            None => "Alipay bills are GBK and WeChat Pay bills UTF-8",
        };
        return Err(ReconError::Utf16 { file: file.to_owned(), bills_are });
    }
    let Some(format) = BillFormat::detect(&head) else {
        let start = String::from_utf8_lossy(&head[..head.len().min(60)]).into_owned();
        return Err(ReconError::UnknownFormat { file: file.to_owned(), start });
    };
    if let Some(expected) = options.acquirer
        && expected != format.acquirer()
    {
        return Err(ReconError::WrongAcquirer {
            file: file.to_owned(),
            found: format.article(),
            expected: match expected {
                AcquirerKind::Alipay => "an Alipay bill",
                AcquirerKind::WechatPay => "a WeChat Pay bill",
                AcquirerKind::AlipayPlus => "an Alipay+ bill",
            },
        });
    }
    let acquirer_id = match options.account {
        Some(id) => id,
        None => store.setup_mut().acquirer_for(format.acquirer())?,
    };
    let new = NewBill { acquirer_id, source_name: file, format: format.as_str() };
    // What the feed learns besides the rows: the file's type (for the outcome, whatever the store decides) and
    // warnings.
    let mut bill_type = match format {
        BillFormat::WechatText => BillType::All,
        BillFormat::AlipayZip | BillFormat::AlipayCsv => BillType::Trade,
    };
    let mut warnings = Vec::new();
    let result = match format {
        BillFormat::WechatText => store.recon_mut().import_bill(&new, |sink| {
            let input = BufReader::with_capacity(256 * 1024, reader);
            let bill = BillReader::new(input).map_err(|source| ReconError::Wechat { file: file.to_owned(), source })?;
            let finished = wechat_rows(file, bill, sink, options, control)?;
            bill_type = finished.bill_type;
            Ok::<_, ReconError>(finished)
        })?,
        BillFormat::AlipayCsv => store.recon_mut().import_bill(&new, |sink| {
            check_alipay_type(file, options)?;
            warnings.push(ImportWarning::NoSummaryEntry);
            let detail = DetailReader::new(reader, file);
            alipay_rows(file, None, detail, None, sink, options, control)
        })?,
        BillFormat::AlipayZip => store.recon_mut().import_bill(&new, |sink| {
            check_alipay_type(file, options)?;
            let bad_zip = |e: AlipayError| match e {
                AlipayError::Zip(z) => ReconError::BadZip { file: file.to_owned(), detail: z.to_string() },
                other => ReconError::AlipayIn { file: file.to_owned(), source: Box::new(other) },
            };
            let mut entry = open_detail_entry(reader).map_err(bad_zip)?;
            let summary = entry.read_summary().map_err(bad_zip)?;
            if summary.is_none() {
                warnings.push(ImportWarning::NoSummaryEntry);
            }
            let detail = entry.reader().map_err(bad_zip)?;
            alipay_rows(file, Some(file), detail, summary.as_ref(), sink, options, control)
        })?,
    };
    let outcome = ImportOutcome::from_result(file, format, bill_type, warnings, result);
    tracing::info!(file, rows = outcome.file_rows, result = ?outcome.result, "bill import");
    Ok(outcome)
}

/// An Alipay trade bill asked for as another type.
fn check_alipay_type(file: &str, options: &ImportOptions) -> Result<(), ReconError> {
    match options.bill_type {
        Some(expected) if expected != BillType::Trade => Err(ReconError::WrongBillType {
            file: file.to_owned(),
            found: BillType::Trade.as_str(),
            expected: expected.as_str(),
        }),
        _ => Ok(()),
    }
}

/// The start of a UTF-16 file as text, when it is one: a byte-order mark, or the zero bytes that ASCII characters
/// leave in UTF-16 (GBK, UTF-8 and zip files never start with text holding them; a zip is not text).
fn utf16_text(head: &[u8]) -> Option<String> {
    let decode = |bytes: &[u8], le: bool| {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .take(200)
            .map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) })
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = head.strip_prefix(b"\xFF\xFE") {
        return Some(decode(rest, true));
    }
    if let Some(rest) = head.strip_prefix(b"\xFE\xFF") {
        return Some(decode(rest, false));
    }
    if head.starts_with(b"PK") || !head.contains(&0) {
        return None;
    }
    let zeros_at = |parity: usize| head.iter().skip(parity).step_by(2).filter(|b| **b == 0).count();
    let (even, odd) = (zeros_at(0), zeros_at(1));
    // Mostly-ASCII UTF-16 has a zero in nearly every other byte; Chinese text in it fewer, but still many.
    if even.max(odd) * 8 < head.len() / 2 {
        return None;
    }
    Some(decode(head, odd >= even))
}

/// "2026-11-24 08:35:41" China time → "2026-11-24T00:35:41Z".
fn china_to_utc(t: PrimitiveDateTime, out: &mut String) {
    out.clear();
    let china = crate::time::CHINA;
    let u = t.assume_offset(china).to_offset(UtcOffset::UTC);
    let year = u.year();
    if !(0..=9999).contains(&year) {
        let _ = write!(out, "{year:04}");
    } else {
        push_digits(out, year as u32, 4);
    }
    for (sep, n) in [('-', u8::from(u.month())), ('-', u.day()), ('T', u.hour()), (':', u.minute()), (':', u.second())]
    {
        out.push(sep);
        push_digits(out, u32::from(n), 2);
    }
    out.push('Z');
}

/// `n` as `width` decimal digits, zero-padded (a row's time is written a million times in a big import).
fn push_digits(out: &mut String, n: u32, width: u32) {
    for place in (0..width).rev() {
        let d = (n / 10u32.pow(place)) % 10;
        out.push(char::from(b'0' + d as u8));
    }
}

/// The day most rows fall on, when the bill does not say.
#[derive(Default)]
struct DayVotes(HashMap<Date, u64>);

impl DayVotes {
    fn add(&mut self, date: Date) {
        *self.0.entry(date).or_default() += 1;
    }

    fn winner(&self) -> Option<Date> {
        self.0.iter().max_by_key(|(d, n)| (**n, std::cmp::Reverse(**d))).map(|(d, _)| *d)
    }
}

fn check_progress(control: &ImportControl, rows: u64) -> Result<(), ReconError> {
    if rows.is_multiple_of(1024) {
        control.inner.rows.store(rows, Ordering::Relaxed);
        if control.is_cancelled() {
            return Err(ReconError::Cancelled);
        }
    }
    Ok(())
}

fn wechat_rows<R: std::io::BufRead>(
    file: &str,
    mut bill: BillReader<R>,
    sink: &mut crate::store::recon::BillRowSink<'_>,
    options: &ImportOptions,
    control: &ImportControl,
) -> Result<FinishedBill, ReconError> {
    let wechat = |source| ReconError::Wechat { file: file.to_owned(), source };
    let bill_type = match bill.bill_type() {
        WechatBillType::All => BillType::All,
        WechatBillType::Success => BillType::Success,
        WechatBillType::Refund => BillType::Refund,
    };
    if let Some(expected) = options.bill_type
        && expected != bill_type
    {
        return Err(ReconError::WrongBillType {
            file: file.to_owned(),
            found: bill_type.as_str(),
            expected: expected.as_str(),
        });
    }
    let mut sums = WechatBillSummary::default();
    // Payments vote with their time, refunds with their refund time (REFUND bills have one)…
    let mut days = DayVotes::default();
    // …refunds without one (an ALL bill's) and reversals only when nothing else tells the day.
    let mut undated = DayVotes::default();
    let mut at = String::with_capacity(24);
    while let Some(item) = bill.next_row() {
        let row = item.map_err(wechat)?;
        let line = row.line as u64;
        let kind = match row.trade_state {
            "SUCCESS" => BillRowKind::Payment,
            "REFUND" => BillRowKind::Refund,
            "REVOKED" => BillRowKind::Revoked,
            _ => {
                return Err(ReconError::Value {
                    file: file.to_owned(),
                    line,
                    column: "交易状态",
                    text: row.trade_state.to_owned(),
                    expected: "SUCCESS, REFUND or REVOKED",
                });
            }
        };
        let wrong_type = match (bill_type, kind) {
            (BillType::Success, BillRowKind::Refund) => {
                Some("SUCCESS or REVOKED: a SUCCESS bill (its header has no refund columns) lists payments only")
            }
            (BillType::Refund, BillRowKind::Payment | BillRowKind::Revoked) => {
                Some("REFUND: a REFUND bill (its header has 退款申请时间) lists refunds only")
            }
            _ => None,
        };
        if let Some(expected) = wrong_type {
            return Err(ReconError::Value {
                file: file.to_owned(),
                line,
                column: "交易状态",
                text: row.trade_state.to_owned(),
                expected,
            });
        }
        add_wechat(&mut sums, &row);
        let (amount, status, out_request_no, when, settled, discount) = match kind {
            BillRowKind::Refund => (
                row.refund_fee.fen(),
                row.refund_status,
                Some(row.out_refund_no).filter(|s| !s.is_empty() && *s != "0"),
                row.refund_success_time.or(row.refund_apply_time).unwrap_or(row.trade_time),
                -row.refund_fee.fen(),
                row.coupon_refund_fee.fen(),
            ),
            _ => (
                row.total_fee.fen(),
                row.trade_state,
                None,
                row.trade_time,
                row.settlement_total_fee.fen(),
                row.coupon_fee.fen(),
            ),
        };
        match (kind, row.refund_success_time.or(row.refund_apply_time)) {
            (BillRowKind::Payment, _) => days.add(row.trade_time.date()),
            (BillRowKind::Refund, Some(refunded)) => days.add(refunded.date()),
            _ => undated.add(row.trade_time.date()),
        }
        china_to_utc(when, &mut at);
        sink.push(&NewBillRow {
            line_no: line as i64,
            trade_no: row.transaction_id,
            out_trade_no: row.out_trade_no,
            out_request_no,
            kind: Some(kind),
            status,
            amount,
            fee_milli: row.service_fee.milli_fen(),
            settled,
            discount,
            occurred_at: &at,
            subject: row.body,
            store_ref: row.device_info,
            merchant_ref: if row.sub_mch_id == "0" { "" } else { row.sub_mch_id },
        })?;
        check_progress(control, sink.rows())?;
    }
    control.inner.rows.store(sink.rows(), Ordering::Relaxed);
    let Some(stated) = bill.summary().copied() else {
        return Err(ReconError::Truncated { file: file.to_owned(), expected: "总交易单数,… and its values" });
    };
    let mut diffs = Vec::new();
    let mut cmp = |name: &str, stated: String, rows: String| {
        if stated != rows {
            diffs.push(format!("{name} is {stated} in the summary but the rows add up to {rows}"));
        }
    };
    cmp("总交易单数", stated.total_count.to_string(), sums.total_count.to_string());
    if !bill.is_legacy() {
        cmp("应结订单总金额", stated.settlement_total_fee.to_string(), sums.settlement_total_fee.to_string());
        cmp("申请退款总金额", stated.applied_refund_fee.to_string(), sums.applied_refund_fee.to_string());
    }
    cmp("退款总金额", stated.refund_fee.to_string(), sums.refund_fee.to_string());
    cmp("充值券退款总金额", stated.coupon_refund_fee.to_string(), sums.coupon_refund_fee.to_string());
    cmp("手续费总金额", stated.service_fee.to_string(), sums.service_fee.to_string());
    cmp("订单总金额", stated.total_fee.to_string(), sums.total_fee.to_string());
    let totals_json = serde_json::json!({
        "stated": summary_json(&stated),
        "rows": summary_json(&sums),
    })
    .to_string();
    let inferred = days.winner().or(undated.winner());
    finish(file, options, Dating { inferred, stated: None, rows: sink.rows() }, bill_type, totals_json, diffs)
}

fn summary_json(s: &WechatBillSummary) -> serde_json::Value {
    serde_json::json!({
        "total_count": s.total_count,
        "settlement_total_fee": s.settlement_total_fee.to_string(),
        "refund_fee": s.refund_fee.to_string(),
        "coupon_refund_fee": s.coupon_refund_fee.to_string(),
        "service_fee": s.service_fee.to_string(),
        "total_fee": s.total_fee.to_string(),
        "applied_refund_fee": s.applied_refund_fee.to_string(),
    })
}

fn add_wechat(s: &mut WechatBillSummary, r: &WechatBillRowRef<'_>) {
    let add = |a: Amount, b: Amount| Amount::from_fen(a.fen().saturating_add(b.fen()));
    s.total_count += 1;
    s.settlement_total_fee = add(s.settlement_total_fee, r.settlement_total_fee);
    s.refund_fee = add(s.refund_fee, r.refund_fee);
    s.coupon_refund_fee = add(s.coupon_refund_fee, r.coupon_refund_fee);
    s.service_fee = MilliFen::from_milli_fen(s.service_fee.milli_fen().saturating_add(r.service_fee.milli_fen()));
    s.total_fee = add(s.total_fee, r.total_fee);
    s.applied_refund_fee = add(s.applied_refund_fee, r.applied_refund_fee);
}

/// What tells a bill's day: the day its rows fall on, the day the bill states, and how many rows it has.
struct Dating {
    inferred: Option<Date>,
    stated: Option<Date>,
    rows: u64,
}

/// Settles the bill date and the totals verdict.
fn finish(
    file: &str,
    options: &ImportOptions,
    dating: Dating,
    bill_type: BillType,
    totals_json: String,
    diffs: Vec<String>,
) -> Result<FinishedBill, ReconError> {
    let bill_date = options.bill_date.or(dating.stated).or(dating.inferred).ok_or_else(|| match dating.rows {
        0 => ReconError::NoRows { file: file.to_owned() },
        rows => ReconError::NoDate { file: file.to_owned(), rows },
    })?;
    let totals_mismatch = if diffs.is_empty() { None } else { Some(diffs.join("; ")) };
    if let Some(details) = &totals_mismatch
        && !options.accept_mismatched_totals
    {
        return Err(ReconError::TotalsMismatch { file: file.to_owned(), details: details.clone() });
    }
    Ok(FinishedBill { bill_date: date_text(bill_date), bill_type, totals_json, totals_mismatch })
}

/// The first text field of a row holding U+FFFD (a byte the encoding could not read), with its column.
fn replaced_text(row: &AlipayBillRow) -> Option<(&'static str, String)> {
    [
        ("商品名称", &row.subject),
        ("门店名称", &row.store_name),
        ("对方账户", &row.buyer_account),
        ("券名称", &row.coupon_name),
        ("备注", &row.remark),
        ("商户订单号", &row.out_trade_no),
    ]
    .into_iter()
    .find(|(_, t)| t.contains('\u{FFFD}'))
    .map(|(c, t)| (c, t.clone()))
}

fn alipay_rows<R: Read>(
    file: &str,
    zip_name: Option<&str>,
    mut detail: DetailReader<R>,
    summary: Option<&SummaryTable>,
    sink: &mut crate::store::recon::BillRowSink<'_>,
    options: &ImportOptions,
    control: &ImportControl,
) -> Result<FinishedBill, ReconError> {
    // The 汇总's figures are part of the bill: the same rows with other stated totals are another bill.
    if let Some(summary) = summary {
        sink.hash_part(summary.content().as_bytes());
    }
    // Errors inside a zip name the zip and the entry; a bare CSV's errors already name the file.
    let wrap = |e: AlipayError| match zip_name {
        Some(zip) => ReconError::AlipayIn { file: zip.to_owned(), source: Box::new(e) },
        None => ReconError::Alipay(Box::new(e)),
    };
    let mut days = DayVotes::default();
    let mut at = String::with_capacity(24);
    while let Some(item) = detail.next() {
        let row = item.map_err(wrap)?;
        if let Some(line) = detail.encoding_error_line() {
            let text = replaced_text(&row).map(|(column, text)| format!("{column}: {text}")).unwrap_or_default();
            return Err(ReconError::Encoding {
                file: zip_name.map(|z| format!("{z}: {}", detail.file_name())).unwrap_or_else(|| file.to_owned()),
                line,
                expected: "GBK text (Alipay bills are GBK)",
                text,
            });
        }
        let line = detail.line();
        let refund = row.kind == BillKind::Refund;
        let sign = if refund { -1 } else { 1 };
        let discount = [
            row.alipay_red_packet,
            row.jifenbao,
            row.alipay_discount,
            row.merchant_discount,
            row.coupon_amount,
            row.merchant_red_packet,
        ]
        .iter()
        .fold(0i64, |acc, a| acc.saturating_add(a.fen()));
        // 完成时间: a payment's, or the refund's own time.
        days.add(row.finished_at.date());
        china_to_utc(row.finished_at, &mut at);
        sink.push(&NewBillRow {
            line_no: line as i64,
            trade_no: &row.trade_no,
            out_trade_no: &row.out_trade_no,
            out_request_no: row.out_request_no.as_deref().filter(|s| !s.is_empty()),
            kind: Some(if refund { BillRowKind::Refund } else { BillRowKind::Payment }),
            status: "SUCCESS",
            amount: row.order_amount.fen().saturating_mul(sign),
            fee_milli: row.service_fee.fen().saturating_mul(1000),
            settled: row.receipt_amount.fen(),
            discount: discount.saturating_mul(sign),
            occurred_at: &at,
            subject: &row.subject,
            store_ref: &row.store_id,
            merchant_ref: "",
        })?;
        check_progress(control, sink.rows())?;
    }
    if let Some(line) = detail.encoding_error_line() {
        return Err(ReconError::Encoding {
            file: file.to_owned(),
            line,
            expected: "GBK text (Alipay bills are GBK)",
            text: String::new(),
        });
    }
    control.inner.rows.store(sink.rows(), Ordering::Relaxed);
    let Some(stated) = detail.footer().copied() else {
        return Err(ReconError::Truncated {
            file: zip_name.map(|z| format!("{z}: {}", detail.file_name())).unwrap_or_else(|| file.to_owned()),
            expected: "#交易合计：… and #退款合计：…",
        });
    };
    let rows = *detail.row_totals();
    let mut diffs = Vec::new();
    let mut cmp = |name: &str, stated: String, sum: String| {
        if stated != sum {
            diffs.push(format!("{name} is {stated} in the footer but the rows add up to {sum}"));
        }
    };
    cmp("交易合计 笔数", stated.trade_count.to_string(), rows.trade_count.to_string());
    cmp("交易合计 商家实收", stated.trade_receipt.to_string(), rows.trade_receipt.to_string());
    cmp("交易合计 商家优惠", stated.trade_merchant_discount.to_string(), rows.trade_merchant_discount.to_string());
    cmp("退款合计 笔数", stated.refund_count.to_string(), rows.refund_count.to_string());
    cmp("退款合计 商家实收退款", stated.refund_receipt.to_string(), rows.refund_receipt.to_string());
    cmp(
        "退款合计 商家优惠退款",
        stated.refund_merchant_discount.to_string(),
        rows.refund_merchant_discount.to_string(),
    );
    let footer_json = |f: &crate::channel::alipay::bill::BillFooter| {
        serde_json::json!({
            "trade_count": f.trade_count,
            "trade_receipt": f.trade_receipt.to_string(),
            "trade_merchant_discount": f.trade_merchant_discount.to_string(),
            "refund_count": f.refund_count,
            "refund_receipt": f.refund_receipt.to_string(),
            "refund_merchant_discount": f.refund_merchant_discount.to_string(),
        })
    };
    let sums = *detail.row_figures();
    if let Some(summary) = summary {
        let entry = summary.file_name();
        let s = &summary.total;
        let mut cmp = |column: &str, stated: String, rows: String| {
            if stated != rows {
                diffs.push(format!(
                    "{entry} 合计 row, column {column}: {stated} stated, but the detail rows add up to {rows}"
                ));
            }
        };
        cmp("交易订单总笔数", s.trade_count.to_string(), sums.trade_count.to_string());
        cmp("退款订单总笔数", s.refund_count.to_string(), sums.refund_count.to_string());
        cmp("订单金额（元）", s.order_amount.to_string(), sums.order_amount.to_string());
        cmp("商家实收（元）", s.receipt_amount.to_string(), sums.receipt_amount.to_string());
        cmp("支付宝优惠（元）", s.alipay_discount.to_string(), sums.alipay_discount.to_string());
        cmp("商家优惠（元）", s.merchant_discount.to_string(), sums.merchant_discount.to_string());
        cmp("卡消费金额（元）", s.card_amount.to_string(), sums.card_amount.to_string());
        cmp("服务费（元）", s.service_fee.to_string(), sums.service_fee.to_string());
        cmp("分润（元）", s.profit_share.to_string(), sums.profit_share.to_string());
        // 实收净额 = 商家实收 + 服务费 (the fee is written signed: negative on payments, a credit on refunds).
        cmp("实收净额（元）", s.net_amount.to_string(), sums.net_amount.to_string());
    }
    let meta = detail.meta();
    let totals_json = serde_json::json!({
        "account": meta.account,
        "stated": footer_json(&stated),
        "rows": footer_json(&rows),
        "summary": summary.map(|s| serde_json::json!({
            "file": s.file_name(),
            "stated": figures_json(&s.total),
            "rows": figures_json(&sums),
        })),
    })
    .to_string();
    let dating = Dating { inferred: days.winner(), stated: meta.start.map(|t| t.date()), rows: sink.rows() };
    finish(file, options, dating, BillType::Trade, totals_json, diffs)
}

/// The figures of a 业务明细(汇总) row as the report reads them back.
fn figures_json(f: &SummaryFigures) -> serde_json::Value {
    serde_json::json!({
        "trade_count": f.trade_count,
        "refund_count": f.refund_count,
        "order_amount": f.order_amount.to_string(),
        "receipt_amount": f.receipt_amount.to_string(),
        "alipay_discount": f.alipay_discount.to_string(),
        "merchant_discount": f.merchant_discount.to_string(),
        "card_amount": f.card_amount.to_string(),
        "service_fee": f.service_fee.to_string(),
        "profit_share": f.profit_share.to_string(),
        "net_amount": f.net_amount.to_string(),
    })
}

#[cfg(test)]
mod tests;
