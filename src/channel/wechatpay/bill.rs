//! The WeChat Pay v2 bill (对账单) as `/pay/downloadbill` returns it: UTF-8 text, comma-separated.
//!
//! ```text
//! 交易时间,公众账号ID,…,费率备注                     ← header, no backticks
//! `2019-07-25 08:35:41,`wx…,…,`0.60%,`6.00,`0.00,`   ← one row per trade/refund, every value after a backtick
//! 总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
//! `48,`5.76,`1.42,`0.00,`0.01000,`5.76,`1.42         ← the day's totals
//! ```
//!
//! Amounts are yuan with 2 decimals, except 手续费 (service fee) with 5, kept exactly as [`MilliFen`]. The reader
//! maps columns by header name, so the three current layouts (ALL 27 columns, SUCCESS 20, REFUND 29) and the
//! pre-2017 layout (总金额, 子商户号, …) all read into [`WechatBillRow`].
//!
//! This module only reads (the sandbox writes bills in this format with the row and summary types here); it
//! imports `money` only.

use std::fmt;
use std::io::BufRead;

use time::PrimitiveDateTime;
use time::macros::format_description;

use crate::money::Amount;

mod rows;

pub use rows::{MilliFen, WechatBillRow, WechatBillRowRef, WechatBillSummary};

wire_enum! {
    /// `bill_type` of downloadbill: which trades the bill lists, and so its layout.
    BillType { All => "ALL", Success => "SUCCESS", Refund => "REFUND" }
}

/// Why a bill could not be read. Line numbers are 1-based lines of the file, the header being line 1.
#[derive(Debug, thiserror::Error)]
pub enum BillError {
    #[error("line {line}: the bill could not be read: {source}")]
    Io {
        line: usize,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "line {line} is not UTF-8 text: WeChat Pay bills are UTF-8 (was the file re-saved in another encoding by a \
         spreadsheet?)"
    )]
    NotUtf8 { line: usize },
    #[error("the bill is empty: expected a header line starting 交易时间,公众账号ID,…")]
    Empty,
    #[error("line {line} is longer than {limit} bytes: no WeChat Pay bill line is that long; this is not a bill file")]
    LineTooLong { line: usize, limit: usize },
    #[error(
        "the file is UTF-16 (as a spreadsheet saves \"Unicode text\"), but WeChat Pay bills are UTF-8: use the file \
         as WeChat Pay served it, or download it again"
    )]
    Utf16,
    #[error("line 1 is not a WeChat Pay bill header (expected columns like 交易时间,公众账号ID,…), found {found:?}")]
    NotABill { found: String },
    #[error("line {line}: the header has no column {column}, which every WeChat Pay bill has")]
    MissingColumn { line: usize, column: &'static str },
    #[error("line {line}: the column {column} appears twice in the header")]
    DuplicateColumn { line: usize, column: String },
    #[error("line {line} has {found} values but the header has {expected} columns")]
    ColumnCount { line: usize, found: usize, expected: usize },
    #[error("line {line}, column {column}: {text:?} is not {expected}")]
    Value { line: usize, column: String, text: String, expected: &'static str },
    #[error(
        "line {line}: the bill ends without its summary (总交易单数,…) and its totals: the download was probably cut \
         short; download it again"
    )]
    Truncated { line: usize },
    #[error("line {line}: unexpected text after the summary: {text:?}")]
    AfterSummary { line: usize, text: String },
}

impl BillError {
    /// The 1-based line the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            BillError::Io { line, .. }
            | BillError::NotUtf8 { line }
            | BillError::LineTooLong { line, .. }
            | BillError::MissingColumn { line, .. }
            | BillError::DuplicateColumn { line, .. }
            | BillError::ColumnCount { line, .. }
            | BillError::Value { line, .. }
            | BillError::Truncated { line }
            | BillError::AfterSummary { line, .. } => Some(*line),
            BillError::NotABill { .. } | BillError::Utf16 => Some(1),
            BillError::Empty => None,
        }
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Columns

/// A row column, whatever its position in a given layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    TradeTime,
    Appid,
    MchId,
    SubMchId,
    DeviceInfo,
    TransactionId,
    OutTradeNo,
    Openid,
    TradeType,
    TradeState,
    BankType,
    FeeType,
    SettlementTotalFee,
    CouponFee,
    RefundApplyTime,
    RefundSuccessTime,
    RefundId,
    OutRefundNo,
    RefundFee,
    CouponRefundFee,
    RefundType,
    RefundStatus,
    Body,
    Attach,
    ServiceFee,
    Rate,
    TotalFee,
    AppliedRefundFee,
    RateRemark,
}

const COL_COUNT: usize = 29;

/// Current header names; then the old layout's names for the same columns.
const COL_NAMES: [(Col, &str); COL_COUNT] = [
    (Col::TradeTime, "交易时间"),
    (Col::Appid, "公众账号ID"),
    (Col::MchId, "商户号"),
    (Col::SubMchId, "特约商户号"),
    (Col::DeviceInfo, "设备号"),
    (Col::TransactionId, "微信订单号"),
    (Col::OutTradeNo, "商户订单号"),
    (Col::Openid, "用户标识"),
    (Col::TradeType, "交易类型"),
    (Col::TradeState, "交易状态"),
    (Col::BankType, "付款银行"),
    (Col::FeeType, "货币种类"),
    (Col::SettlementTotalFee, "应结订单金额"),
    (Col::CouponFee, "代金券金额"),
    (Col::RefundApplyTime, "退款申请时间"),
    (Col::RefundSuccessTime, "退款成功时间"),
    (Col::RefundId, "微信退款单号"),
    (Col::OutRefundNo, "商户退款单号"),
    (Col::RefundFee, "退款金额"),
    (Col::CouponRefundFee, "充值券退款金额"),
    (Col::RefundType, "退款类型"),
    (Col::RefundStatus, "退款状态"),
    (Col::Body, "商品名称"),
    (Col::Attach, "商户数据包"),
    (Col::ServiceFee, "手续费"),
    (Col::Rate, "费率"),
    (Col::TotalFee, "订单金额"),
    (Col::AppliedRefundFee, "申请退款金额"),
    (Col::RateRemark, "费率备注"),
];

const LEGACY_NAMES: [(Col, &str); 4] = [
    (Col::SubMchId, "子商户号"),
    (Col::TotalFee, "总金额"),
    (Col::CouponFee, "代金券或立减优惠金额"),
    (Col::CouponRefundFee, "代金券或立减优惠退款金额"),
];

impl Col {
    fn name(self) -> &'static str {
        COL_NAMES[self as usize].1
    }

    /// The column a header name stands for, and whether it is an old-layout name.
    fn from_name(name: &str) -> Option<(Col, bool)> {
        COL_NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(c, _)| (*c, false))
            .or_else(|| LEGACY_NAMES.iter().find(|(_, n)| *n == name).map(|(c, _)| (*c, true)))
    }
}

/// The summary columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SumCol {
    Count,
    Settlement,
    Refund,
    CouponRefund,
    ServiceFee,
    Total,
    AppliedRefund,
}

const SUMMARY_FIRST: &str = "总交易单数";

/// The longest line the reader accepts: a bill line is a few hundred bytes (a goods name at most 128 characters).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

impl SumCol {
    fn from_name(name: &str) -> Option<SumCol> {
        Some(match name {
            "总交易单数" => SumCol::Count,
            "应结订单总金额" => SumCol::Settlement,
            "退款总金额" | "总退款金额" => SumCol::Refund,
            "充值券退款总金额" | "总代金券或立减优惠退款金额" => SumCol::CouponRefund,
            "手续费总金额" => SumCol::ServiceFee,
            "订单总金额" | "总交易额" => SumCol::Total,
            "申请退款总金额" => SumCol::AppliedRefund,
            _ => return None,
        })
    }
}

const TIME_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

// ------------------------------------------------------------------------------------------------------------------
// Reading (client side)

/// Header names with spaces removed (documentation copies write "公众账号 ID").
fn header_names(line: &str) -> Vec<String> {
    line.split(',').map(|n| n.chars().filter(|c| !c.is_whitespace()).collect()).collect()
}

/// The values of a data or summary line, without their backticks. Lines in the backticked form are split on ",`",
/// so a comma inside a goods name survives; lines without backticks are split on commas.
fn split_values(line: &str) -> Vec<&str> {
    let mut values = Vec::new();
    split_values_into(line, &mut values);
    values
}

fn split_values_into<'a>(line: &'a str, values: &mut Vec<&'a str>) {
    values.clear();
    match line.strip_prefix('`') {
        // Values are `,`-separated with a backtick before each: split at ",`" (a comma alone may be in a value).
        // By hand with a byte search: `str::split` with a two-character pattern builds a searcher per line, and a
        // million-row bill spends more time there than in the rest of the row.
        Some(rest) => {
            let (mut start, mut from) = (0usize, 0usize);
            while let Some(i) = rest.get(from..).and_then(|r| r.find(',')).map(|i| from + i) {
                if rest.as_bytes().get(i + 1) == Some(&b'`') {
                    values.push(rest.get(start..i).unwrap_or("").trim());
                    start = i + 2;
                }
                from = i + 1;
            }
            values.push(rest.get(start..).unwrap_or("").trim());
        }
        None => values.extend(line.split(',').map(|v| v.trim().strip_prefix('`').unwrap_or(v.trim()))),
    }
}

/// Streams a bill: rows as they come, then [`BillReader::summary`]. A bad row yields an error naming its line
/// and column and reading goes on with the next row; a bill without its summary ends with
/// [`BillError::Truncated`].
pub struct BillReader<R: BufRead> {
    input: R,
    /// Lines read so far (the number of the last line read).
    line_no: usize,
    /// For each [`Col`], its position in this file.
    positions: [Option<usize>; COL_COUNT],
    /// The header names as written, by position (for messages).
    names: Vec<String>,
    legacy: bool,
    summary: Option<WechatBillSummary>,
    done: bool,
    /// The last line read, without its line break.
    text: String,
    /// Bytes of a BOM at the start of `text` (line 1 only).
    skip: usize,
}

impl<R: BufRead> fmt::Debug for BillReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BillReader")
            .field("line_no", &self.line_no)
            .field("names", &self.names)
            .field("legacy", &self.legacy)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> BillReader<R> {
    /// Reads the header line and works out the layout from its column names.
    pub fn new(input: R) -> Result<Self, BillError> {
        let mut reader = BillReader {
            input,
            line_no: 0,
            positions: [None; COL_COUNT],
            names: Vec::new(),
            legacy: false,
            summary: None,
            done: false,
            text: String::new(),
            skip: 0,
        };
        let header = loop {
            match reader.next_line()? {
                None => return Err(BillError::Empty),
                Some(line) if line.trim().is_empty() => continue,
                Some(line) => break line,
            }
        };
        let line = reader.line_no;
        let names = header_names(&header);
        for (position, name) in names.iter().enumerate() {
            let Some((col, legacy)) = Col::from_name(name) else {
                continue; // a column this version does not know: ignored
            };
            if reader.positions[col as usize].is_some() {
                return Err(BillError::DuplicateColumn { line, column: name.clone() });
            }
            reader.positions[col as usize] = Some(position);
            reader.legacy |= legacy;
        }
        if reader.positions.iter().all(Option::is_none) {
            let found: String = header.chars().take(60).collect();
            return Err(BillError::NotABill { found });
        }
        for col in [Col::TradeTime, Col::TransactionId, Col::OutTradeNo, Col::TradeState, Col::TotalFee] {
            if reader.positions[col as usize].is_none() {
                return Err(BillError::MissingColumn { line, column: col.name() });
            }
        }
        reader.names = names;
        Ok(reader)
    }

    /// The layout the header matches best: REFUND if it has 退款申请时间, ALL if it has 微信退款单号, else SUCCESS.
    pub fn bill_type(&self) -> BillType {
        if self.positions[Col::RefundApplyTime as usize].is_some() {
            BillType::Refund
        } else if self.positions[Col::RefundId as usize].is_some() {
            BillType::All
        } else {
            BillType::Success
        }
    }

    /// Whether the bill uses the pre-2017 column names (总金额, 子商户号, 代金券或立减优惠金额).
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// The 1-based number of the last line read (the line of the row just returned).
    pub fn line_no(&self) -> usize {
        self.line_no
    }

    /// The bill's own totals, once the rows have all been read.
    pub fn summary(&self) -> Option<&WechatBillSummary> {
        self.summary.as_ref()
    }

    /// The next line without its line break (and without a BOM on line 1); `None` at the end.
    fn next_line(&mut self) -> Result<Option<String>, BillError> {
        Ok(if self.read_line()? { Some(self.line_text().to_owned()) } else { None })
    }

    /// Reads the next line into the reader's buffer ([`Self::line_text`]); false at the end. A line longer than
    /// [`MAX_LINE_BYTES`] is an error, read no further (memory stays flat whatever the file holds).
    fn read_line(&mut self) -> Result<bool, BillError> {
        let mut buf = std::mem::take(&mut self.text).into_bytes();
        buf.clear();
        self.skip = 0;
        let line = self.line_no + 1;
        let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX) + 1;
        let n = std::io::Read::take(&mut self.input, limit)
            .read_until(b'\n', &mut buf)
            .map_err(|source| BillError::Io { line, source })?;
        if n == 0 {
            return Ok(false);
        }
        self.line_no = line;
        if n > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            return Err(BillError::LineTooLong { line, limit: MAX_LINE_BYTES });
        }
        if line == 1 && (buf.starts_with(b"\xFF\xFE") || buf.starts_with(b"\xFE\xFF") || buf.contains(&0)) {
            return Err(BillError::Utf16);
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        self.text = String::from_utf8(buf).map_err(|_| BillError::NotUtf8 { line })?;
        if line == 1 && self.text.starts_with('\u{feff}') {
            self.skip = '\u{feff}'.len_utf8();
        }
        Ok(true)
    }

    /// The last line read (without a BOM on line 1).
    fn line_text(&self) -> &str {
        self.text.get(self.skip..).unwrap_or("")
    }

    fn parse_row<'a>(&self, line: usize, text: &'a str) -> Result<WechatBillRowRef<'a>, BillError> {
        let mut values = Vec::with_capacity(self.names.len());
        split_values_into(text, &mut values);
        if values.len() != self.names.len() {
            return Err(BillError::ColumnCount { line, found: values.len(), expected: self.names.len() });
        }
        let cell = |col: Col| self.positions[col as usize].map(|p| (values[p], p));
        let text_of = |col: Col| cell(col).map_or("", |(v, _)| v);
        let bad = |p: usize, v: &str, expected: &'static str| BillError::Value {
            line,
            column: self.names[p].clone(),
            text: v.to_owned(),
            expected,
        };
        let amount = |col: Col| -> Result<Amount, BillError> {
            match cell(col) {
                None => Ok(Amount::ZERO),
                Some(("", _)) => Ok(Amount::ZERO),
                Some((v, p)) => Amount::parse_signed(v).map_err(|_| bad(p, v, "an amount")),
            }
        };
        let time = |col: Col| -> Result<Option<PrimitiveDateTime>, BillError> {
            match cell(col) {
                None | Some(("", _)) => Ok(None),
                Some((v, p)) => parse_time(v).map(Some).ok_or_else(|| bad(p, v, "a time like 2019-07-25 08:35:41")),
            }
        };
        let service_fee = match cell(Col::ServiceFee) {
            None | Some(("", _)) => MilliFen::ZERO,
            Some((v, p)) => MilliFen::parse(v).ok_or_else(|| bad(p, v, "a fee like 0.04000 (at most 5 decimals)"))?,
        };
        let trade_time = match cell(Col::TradeTime) {
            Some((v, p)) => parse_time(v).ok_or_else(|| bad(p, v, "a time like 2019-07-25 08:35:41"))?,
            None => return Err(BillError::MissingColumn { line: 1, column: Col::TradeTime.name() }),
        };
        Ok(WechatBillRowRef {
            line,
            trade_time,
            appid: text_of(Col::Appid),
            mch_id: text_of(Col::MchId),
            sub_mch_id: text_of(Col::SubMchId),
            device_info: text_of(Col::DeviceInfo),
            transaction_id: text_of(Col::TransactionId),
            out_trade_no: text_of(Col::OutTradeNo),
            openid: text_of(Col::Openid),
            trade_type: text_of(Col::TradeType),
            trade_state: text_of(Col::TradeState),
            bank_type: text_of(Col::BankType),
            fee_type: text_of(Col::FeeType),
            settlement_total_fee: amount(Col::SettlementTotalFee)?,
            coupon_fee: amount(Col::CouponFee)?,
            refund_id: text_of(Col::RefundId),
            out_refund_no: text_of(Col::OutRefundNo),
            refund_fee: amount(Col::RefundFee)?,
            coupon_refund_fee: amount(Col::CouponRefundFee)?,
            refund_type: text_of(Col::RefundType),
            refund_status: text_of(Col::RefundStatus),
            body: text_of(Col::Body),
            attach: text_of(Col::Attach),
            service_fee,
            rate: text_of(Col::Rate),
            total_fee: amount(Col::TotalFee)?,
            applied_refund_fee: amount(Col::AppliedRefundFee)?,
            rate_remark: text_of(Col::RateRemark),
            refund_apply_time: time(Col::RefundApplyTime)?,
            refund_success_time: time(Col::RefundSuccessTime)?,
        })
    }

    /// Reads the summary: `header` is its header line; the values are on the next non-blank line.
    fn read_summary(&mut self, header: &str) -> Result<WechatBillSummary, BillError> {
        let header_line = self.line_no;
        let names = header_names(header);
        let values_text = loop {
            match self.next_line()? {
                None => return Err(BillError::Truncated { line: header_line }),
                Some(l) if l.trim().is_empty() => continue,
                Some(l) => break l,
            }
        };
        let line = self.line_no;
        let values = split_values(&values_text);
        if values.len() != names.len() {
            return Err(BillError::ColumnCount { line, found: values.len(), expected: names.len() });
        }
        let mut s = WechatBillSummary::default();
        for (name, v) in names.iter().zip(values) {
            let Some(col) = SumCol::from_name(name) else { continue };
            let bad = |expected| BillError::Value { line, column: name.clone(), text: v.to_owned(), expected };
            let amount =
                || if v.is_empty() { Ok(Amount::ZERO) } else { Amount::parse_signed(v).map_err(|_| bad("an amount")) };
            match col {
                SumCol::Count => s.total_count = v.parse().map_err(|_| bad("a count (a whole number)"))?,
                SumCol::Settlement => s.settlement_total_fee = amount()?,
                SumCol::Refund => s.refund_fee = amount()?,
                SumCol::CouponRefund => s.coupon_refund_fee = amount()?,
                SumCol::ServiceFee => {
                    s.service_fee = MilliFen::parse(v).ok_or_else(|| bad("a fee like 0.04000 (at most 5 decimals)"))?
                }
                SumCol::Total => s.total_fee = amount()?,
                SumCol::AppliedRefund => s.applied_refund_fee = amount()?,
            }
        }
        Ok(s)
    }
}

/// "2019-07-25 08:35:41"; full-width colons (seen in documentation copies) are accepted.
fn parse_time(text: &str) -> Option<PrimitiveDateTime> {
    if let Some(t) = parse_time_plain(text) {
        return Some(t);
    }
    let normal = text.replace('：', ":");
    PrimitiveDateTime::parse(&normal, TIME_FORMAT).ok()
}

/// The common form exactly ("2019-07-25 08:35:41", ASCII digits), without the format machinery; `None` for
/// anything else, which [`parse_time`] then reads the general way.
fn parse_time_plain(text: &str) -> Option<PrimitiveDateTime> {
    let b = text.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let year = i32::try_from(num(0, 4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(num(5, 7)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(num(8, 10)?).ok()?).ok()?;
    let at = time::Time::from_hms(
        u8::try_from(num(11, 13)?).ok()?,
        u8::try_from(num(14, 16)?).ok()?,
        u8::try_from(num(17, 19)?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, at))
}

impl<R: BufRead> BillReader<R> {
    /// The next row with its texts borrowed from the line just read (no allocation per field); `None` after the
    /// summary. Errors and their order are those of the [`Iterator`], which is this with owned texts.
    pub fn next_row(&mut self) -> Option<Result<WechatBillRowRef<'_>, BillError>> {
        loop {
            if self.done {
                return None;
            }
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return match self.summary {
                        Some(_) => None,
                        None => Some(Err(BillError::Truncated { line: self.line_no })),
                    };
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
            let line = self.line_no;
            let text = self.line_text();
            if text.trim().is_empty() {
                continue;
            }
            if self.summary.is_some() {
                let text = text.to_owned();
                self.done = true;
                return Some(Err(BillError::AfterSummary { line, text }));
            }
            if text.trim_start().starts_with(SUMMARY_FIRST) {
                let header = text.to_owned();
                match self.read_summary(&header) {
                    Ok(summary) => self.summary = Some(summary),
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                continue;
            }
            break;
        }
        let line = self.line_no;
        Some(self.parse_row(line, self.line_text()))
    }
}

impl<R: BufRead> Iterator for BillReader<R> {
    type Item = Result<WechatBillRow, BillError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row().map(|r| r.map(|r| r.to_row()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// The real ALL row quoted in the research notes (B3), in a complete one-row bill.
    const REAL_ALL: &str = "\u{feff}交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n\
`2019-07-25 08:35:41,`WWWW,`XXXXXXXX,`0,`,`XXXXXXXXXXXXX,`XXXXXXXXXX,`XXXXXXXXXXX,`JSAPI,`SUCCESS,`PSBC_DEBIT,`CNY,`6.00,`0.00,`0,`0,`0.00,`0.00,`,`,`XXXXXX,`XXXXXXX,`0.04000,`0.60%,`6.00,`0.00,`\r\n\
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n\
`1,`6.00,`0.00,`0.00,`0.04000,`6.00,`0.00\r\n";

    /// The real REFUND row of B3 (quoted from 交易类型 to 退款状态), completed around the quote; LF line ends.
    const REAL_REFUND: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n\
`2019-07-23 20:50:11,`WWWW,`XXXXXXXX,`0,`,`XXXXXXXXXXXXX,`XXXXXXXXXX,`XXXXXXXXXXX,`JSAPI,`REFUND,`CFT,`CNY,`0.00,`0.00,`2019-07-23 20:53:36,`2019-07-23 20:53:40,`xxxx,`xxx,`0.01,`0.00,`ORIGINAL,`SUCCESS,`XXXXXX,`XXXXXXX,`0.00000,`0.60%,`0.01,`0.01,`\n\
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n\
`1,`0.00,`0.01,`0.00,`0.00000,`0.01,`0.01\n";

    /// The pre-2017 layout as the old documentation shows it (24 columns, 5-column summary).
    const LEGACY_ALL: &str = "交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,总金额,代金券或立减优惠金额,微信退款单号,商户退款单号,退款金额,代金券或立减优惠退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率\n\
`2014-11-10 16：33：45,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1001690740201411100005734289,`1415640626,`085e9858e3ba5186aafcbaed1,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,`0,`0.60%\n\
2014-11-10 16:46:14,wx2421b1c4370ec43b,10000100,0,1000,1002780740201411100005729794,1415635270,085e9858e90ca40c0b5aee463,MICROPAY,SUCCESS,OTHERS,CNY,0.01,0.0,0,0,0,0,,,被扫支付测试,订单额外描述,0,0.60%\n\
总交易单数,总交易额,总退款金额,总代金券或立减优惠退款金额,手续费总金额\n\
`2,`0.02,`0.0,`0.0,`0\n";

    fn read_all(text: &str) -> (Vec<WechatBillRow>, Option<WechatBillSummary>, BillType) {
        let mut reader = BillReader::new(text.as_bytes()).unwrap();
        let rows: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        (rows, reader.summary().copied(), reader.bill_type())
    }

    #[test]
    fn values_split_at_comma_backtick_exactly_as_str_split_does() {
        // Every line of up to 7 characters over the three that matter, against the plain (slower) split.
        let alphabet = [',', '`', 'a'];
        for len in 0..=7u32 {
            for mut n in 0..3usize.pow(len) {
                let mut line = String::from("`");
                for _ in 0..len {
                    line.push(alphabet[n % 3]);
                    n /= 3;
                }
                let mut values = Vec::new();
                split_values_into(&line, &mut values);
                let expected: Vec<&str> = line[1..].split(",`").map(str::trim).collect();
                assert_eq!(values, expected, "{line:?}");
            }
        }
    }

    #[test]
    fn column_names_are_in_column_order() {
        for (i, (col, _)) in COL_NAMES.iter().enumerate() {
            assert_eq!(*col as usize, i);
        }
    }

    #[test]
    fn real_all_row_parses() {
        let (rows, summary, bill_type) = read_all(REAL_ALL);
        assert_eq!(bill_type, BillType::All);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.trade_time, datetime!(2019-07-25 08:35:41));
        assert_eq!(r.appid, "WWWW");
        assert_eq!(r.sub_mch_id, "0");
        assert_eq!(r.device_info, "");
        assert_eq!(r.trade_type, "JSAPI");
        assert_eq!(r.bank_type, "PSBC_DEBIT");
        assert_eq!(r.settlement_total_fee, Amount::from_fen(600));
        assert_eq!(r.refund_id, "0");
        assert_eq!(r.service_fee, MilliFen::from_milli_fen(4_000));
        assert_eq!(r.service_fee.to_string(), "0.04000");
        assert_eq!(r.rate, "0.60%");
        assert_eq!(r.total_fee, Amount::from_fen(600));
        assert_eq!(r.rate_remark, "");
        assert_eq!(summary, Some(WechatBillSummary::from_rows(&rows)));
    }

    #[test]
    fn real_refund_row_parses() {
        let (rows, summary, bill_type) = read_all(REAL_REFUND);
        assert_eq!(bill_type, BillType::Refund);
        let r = &rows[0];
        assert_eq!(r.trade_state, "REFUND");
        assert_eq!(r.bank_type, "CFT");
        assert_eq!(r.refund_apply_time, Some(datetime!(2019-07-23 20:53:36)));
        assert_eq!(r.refund_success_time, Some(datetime!(2019-07-23 20:53:40)));
        assert_eq!((r.refund_id.as_str(), r.out_refund_no.as_str()), ("xxxx", "xxx"));
        assert_eq!(r.refund_fee, Amount::from_fen(1));
        assert_eq!((r.refund_type.as_str(), r.refund_status.as_str()), ("ORIGINAL", "SUCCESS"));
        assert_eq!(summary.unwrap().refund_fee, Amount::from_fen(1));
    }

    #[test]
    fn legacy_layout_is_read_by_name() {
        let mut reader = BillReader::new(LEGACY_ALL.as_bytes()).unwrap();
        assert!(reader.is_legacy());
        assert_eq!(reader.bill_type(), BillType::All);
        let rows: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].trade_time, datetime!(2014-11-10 16:33:45));
        assert_eq!(rows[1].trade_time, datetime!(2014-11-10 16:46:14));
        assert_eq!(rows[0].total_fee, Amount::from_fen(1));
        assert_eq!(rows[0].settlement_total_fee, Amount::ZERO);
        assert_eq!(rows[1].body, "被扫支付测试");
        assert_eq!(rows[1].device_info, "1000");
        let summary = reader.summary().unwrap();
        assert_eq!(summary.total_count, 2);
        assert_eq!(summary.total_fee, Amount::from_fen(2));
        assert_eq!(summary.service_fee, MilliFen::ZERO);
    }

    #[test]
    fn bad_values_name_line_and_column() {
        let text = REAL_ALL.replace("`6.00,`0.00,`0,", "`6.0x,`0.00,`0,");
        let mut reader = BillReader::new(text.as_bytes()).unwrap();
        let err = reader.next().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "line 2, column 应结订单金额: \"6.0x\" is not an amount");
        assert_eq!(err.line(), Some(2));
        // Reading goes on: the summary is still read.
        assert!(reader.next().is_none());
        assert!(reader.summary().is_some());

        let text = REAL_ALL.replace("`0.04000", "`0.040001");
        let err = BillReader::new(text.as_bytes()).unwrap().next().unwrap().unwrap_err();
        assert!(err.to_string().starts_with("line 2, column 手续费: \"0.040001\" is not a fee"), "{err}");

        let text = REAL_ALL.replace("`2019-07-25 08:35:41", "`2019/07/25");
        let err = BillReader::new(text.as_bytes()).unwrap().next().unwrap().unwrap_err();
        assert!(err.to_string().starts_with("line 2, column 交易时间: \"2019/07/25\""), "{err}");

        let text = REAL_ALL.replace("`0.60%,", "");
        let err = BillReader::new(text.as_bytes()).unwrap().next().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "line 2 has 26 values but the header has 27 columns");
    }

    #[test]
    fn structural_problems_are_explained() {
        assert!(matches!(BillReader::new(&b""[..]), Err(BillError::Empty)));
        let xml = "<xml><return_code><![CDATA[FAIL]]></return_code></xml>";
        let err = BillReader::new(xml.as_bytes()).unwrap_err();
        assert!(matches!(err, BillError::NotABill { .. }), "{err}");
        let err = BillReader::new("交易时间,公众账号ID\n".as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "line 1: the header has no column 微信订单号, which every WeChat Pay bill has");
        let err = BillReader::new("交易时间,交易时间,微信订单号\n".as_bytes()).unwrap_err();
        assert!(matches!(err, BillError::DuplicateColumn { .. }));

        // Cut short: rows but no summary.
        let cut = REAL_ALL.split("总交易单数").next().unwrap();
        let results: Vec<_> = BillReader::new(cut.as_bytes()).unwrap().collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        assert!(matches!(results[1], Err(BillError::Truncated { line: 2 })));

        // Not UTF-8 (a GBK re-save).
        let mut gbk = REAL_ALL.as_bytes().to_vec();
        let at = REAL_ALL.find("XXXXXX,`XXXXXXX").unwrap();
        gbk[at] = 0xc4;
        let err = BillReader::new(&gbk[..]).unwrap().next().unwrap().unwrap_err();
        assert!(matches!(err, BillError::NotUtf8 { line: 2 }));

        let trailing = format!("{REAL_ALL}`oops\r\n");
        let results: Vec<_> = BillReader::new(trailing.as_bytes()).unwrap().collect();
        assert!(matches!(results.last(), Some(Err(BillError::AfterSummary { line: 5, .. }))));
    }

    #[test]
    fn milli_fen_parses_and_rounds_exactly() {
        assert_eq!(MilliFen::parse("0.04000"), Some(MilliFen::from_milli_fen(4_000)));
        assert_eq!(MilliFen::parse("0.00001"), Some(MilliFen::from_milli_fen(1)));
        assert_eq!(MilliFen::parse("-0.00010"), Some(MilliFen::from_milli_fen(-10)));
        assert_eq!(MilliFen::parse("12"), Some(MilliFen::from_milli_fen(1_200_000)));
        assert_eq!(MilliFen::parse("0.6"), Some(MilliFen::from_milli_fen(60_000)));
        for bad in ["", "-", "0.", ".5", "0.000001", "1e3", "0,04", "--1", "92233720368547.75808"] {
            assert_eq!(MilliFen::parse(bad), None, "{bad}");
        }
        assert_eq!(MilliFen::from_milli_fen(-10).to_string(), "-0.00010");
        assert_eq!(MilliFen::from_milli_fen(1_234_567).to_string(), "12.34567");
        assert_eq!(MilliFen::from_milli_fen(4_499).round_to_fen(), Amount::from_fen(4));
        assert_eq!(MilliFen::from_milli_fen(4_500).round_to_fen(), Amount::from_fen(5));
        assert_eq!(MilliFen::from_milli_fen(-4_500).round_to_fen(), Amount::from_fen(-5));
        assert_eq!(MilliFen::from_amount(Amount::from_fen(7)), Some(MilliFen::from_milli_fen(7_000)));
    }

    proptest::proptest! {
        #[test]
        fn milli_fen_display_parse_round_trip(v in -1_000_000_000_000i64..1_000_000_000_000) {
            let m = MilliFen::from_milli_fen(v);
            proptest::prop_assert_eq!(MilliFen::parse(&m.to_string()), Some(m));
        }

    }
}
