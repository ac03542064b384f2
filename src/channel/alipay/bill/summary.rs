//! Reading 业务明细(汇总), the bill zip's small second file: one row per store and a 合计 row, read whole and
//! mapped by header name. The import checks its 合计 against the sums of the detail rows.

use std::io::Read;

use encoding_rs::GBK;

use super::{BillError, SummaryFigures, UnclosedQuote, looks_utf16, normalize_header, split_record};
use crate::money::Amount;

/// The 业务明细(汇总) columns in order, and whether a file must have them.
pub const SUMMARY_COLUMNS: [(&str, bool); 12] = [
    ("门店编号", true),
    ("门店名称", false),
    ("交易订单总笔数", true),
    ("退款订单总笔数", true),
    ("订单金额（元）", true),
    ("商家实收（元）", true),
    ("支付宝优惠（元）", false),
    ("商家优惠（元）", false),
    ("卡消费金额（元）", false),
    ("服务费（元）", true),
    ("分润（元）", false),
    ("实收净额（元）", true),
];

/// The largest 汇总 file read (it has a row per store).
const MAX_SUMMARY_BYTES: usize = 8 << 20;

/// The 业务明细(汇总) file: one row per store and the 合计 row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryTable {
    file: String,
    /// (门店编号, 门店名称, figures) per store, in file order.
    pub stores: Vec<(String, String, SummaryFigures)>,
    /// The 合计 row.
    pub total: SummaryFigures,
    /// The header and rows, normalised (no `#` lines: a re-download with another export time is the same).
    content: String,
}

impl SummaryTable {
    /// The file name used in messages.
    pub fn file_name(&self) -> &str {
        &self.file
    }

    /// The header and data rows as read (cells trimmed, separated by U+001F, rows by newlines), for a content hash.
    pub fn content(&self) -> &str {
        &self.content
    }
}

/// Reads a whole 业务明细(汇总) file (GBK or UTF-8), mapping columns by header name; `file_name` is used in messages.
pub fn read_summary<R: Read>(input: R, file_name: &str) -> Result<SummaryTable, BillError> {
    let file = file_name.to_owned();
    let mut bytes = Vec::new();
    input
        .take(u64::try_from(MAX_SUMMARY_BYTES).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| BillError::Io { file: file.clone(), source })?;
    if bytes.len() > MAX_SUMMARY_BYTES {
        return Err(BillError::SummaryTooLarge { file, limit: MAX_SUMMARY_BYTES });
    }
    if looks_utf16(bytes.split(|b| *b == b'\n').next().unwrap_or_default()) {
        return Err(BillError::Utf16 { file });
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF");
    let utf8 = body.is_some() || std::str::from_utf8(&bytes).is_ok();
    let body = body.unwrap_or(&bytes);
    let mut positions: Option<[Option<usize>; 12]> = None;
    let mut header_len = 0;
    let mut stores = Vec::new();
    let mut total = None;
    let mut totals_seen = 0;
    let mut content = String::new();
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line = i as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = if utf8 {
            String::from_utf8_lossy(raw).into_owned()
        } else {
            let (text, had_errors) = GBK.decode_without_bom_handling(raw);
            if had_errors {
                return Err(BillError::NotGbk { file, line });
            }
            text.into_owned()
        };
        if text.starts_with('#') || text.trim().is_empty() {
            continue;
        }
        let cells =
            split_record(&text).map_err(|UnclosedQuote| BillError::UnclosedQuote { file: file.clone(), line })?;
        let cells: Vec<String> = cells.iter().map(|c| c.trim_matches(['\t', ' ']).to_owned()).collect();
        content.push_str(&cells.join("\u{1f}"));
        content.push('\n');
        let Some(positions) = positions else {
            let names: Vec<String> = cells.iter().map(|c| normalize_header(c)).collect();
            let mut found = [None; 12];
            for (slot, (name, required)) in found.iter_mut().zip(SUMMARY_COLUMNS.iter()) {
                *slot = names.iter().position(|n| n == name);
                if slot.is_none() && *required {
                    return Err(BillError::SummaryColumn { file, line, column: name });
                }
            }
            positions = Some(found);
            header_len = cells.len();
            continue;
        };
        if cells.len() != header_len {
            return Err(BillError::ColumnCount { file, line, expected: header_len, found: cells.len() });
        }
        let cell = |col: usize| positions[col].and_then(|p| cells.get(p)).map(String::as_str).unwrap_or_default();
        let count = |col: usize| -> Result<u64, BillError> {
            cell(col).parse().map_err(|_| BillError::BadCount {
                file: file.clone(),
                line,
                column: SUMMARY_COLUMNS[col].0,
                text: cell(col).to_owned(),
            })
        };
        let amount = |col: usize| -> Result<Amount, BillError> {
            let text = cell(col);
            if text.is_empty() && !SUMMARY_COLUMNS[col].1 {
                return Ok(Amount::ZERO);
            }
            Amount::parse_signed(text).map_err(|reason| BillError::BadAmount {
                file: file.clone(),
                line,
                column: SUMMARY_COLUMNS[col].0,
                text: text.to_owned(),
                reason,
            })
        };
        let figures = SummaryFigures {
            trade_count: count(2)?,
            refund_count: count(3)?,
            order_amount: amount(4)?,
            receipt_amount: amount(5)?,
            alipay_discount: amount(6)?,
            merchant_discount: amount(7)?,
            card_amount: amount(8)?,
            service_fee: amount(9)?,
            profit_share: amount(10)?,
            net_amount: amount(11)?,
        };
        if cell(0) == "合计" {
            totals_seen += 1;
            total = Some(figures);
        } else {
            stores.push((cell(0).to_owned(), cell(1).to_owned(), figures));
        }
    }
    if positions.is_none() {
        return Err(BillError::NoHeader { file });
    }
    match total {
        Some(total) if totals_seen == 1 => Ok(SummaryTable { file, stores, total, content }),
        _ => Err(BillError::NoSummaryTotal { file }),
    }
}
