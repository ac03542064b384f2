//! Alipay's account bill (账务明细, `bill_type=signcustomer`): the balance movements of a day, read from the zip
//! Alipay serves or from its CSV entries (GBK).
//!
//! Layout (wave2-protocols.md section 5): four `#` lines (`#支付宝账务明细查询`, `#账号：[…]`, `#起始日期：[…]`, a
//! `账务明细列表` marker), a header (`账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,
//! 支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注`; newer exports add or reorder columns, so columns are
//! mapped by header name), one row per movement (values may end with a TAB), an end marker, then
//! `#支出合计：N笔，共X元`, `#收入合计：N笔，共X元` and `#导出时间：[…]`. The 汇总 entry has a header
//! `类型,收入笔数,收入金额（+元）,支出笔数,支出金额（-元）[,总金额（元）]`, one row per 类型 and a `合计` row.
//! 支出 amounts are read with either sign (the header carries the direction) and kept positive.

use std::io::{Cursor, Read};

use encoding_rs::GBK;
use time::{Date, PrimitiveDateTime};

use crate::money::Amount;

/// The detail entry: `{账号}_{yyyyMMdd}_账务明细.csv` (monthly: `…_账务明细_1.csv`).
pub const DETAIL_MARK: &str = "_账务明细";
/// The summary entry: `{账号}_{yyyyMMdd}_账务明细(汇总).csv`.
pub const SUMMARY_MARK: &str = "账务明细(汇总)";

#[derive(Debug, thiserror::Error)]
pub enum AccountBillError {
    #[error("{file}: the zip file is damaged or cut short ({detail}); download the bill again")]
    Zip { file: String, detail: String },
    #[error("{file}: the zip has no 账务明细 entry (it holds {names}); is it a trade bill (业务明细)?")]
    NoEntry { file: String, names: String },
    #[error("{file} line {line}: the text is not valid GBK (Alipay bills are GBK; was the file re-saved?)")]
    Encoding { file: String, line: u64 },
    #[error("{file}: no header line ({expected}) before the rows")]
    NoHeader { file: String, expected: &'static str },
    #[error("{file} line {line}: the header has no column {column}")]
    MissingColumn { file: String, line: u64, column: &'static str },
    #[error("{file} line {line}: {found} values, but the header has {expected} columns")]
    ColumnCount { file: String, line: u64, found: usize, expected: usize },
    #[error("{file} line {line}, column {column}: {text:?} is not {expected}")]
    Value { file: String, line: u64, column: String, text: String, expected: &'static str },
    #[error("{file}: the file ends without its totals ({expected}): it was probably cut short; download it again")]
    Truncated { file: String, expected: &'static str },
    #[error("{file}: the bill's own totals do not match its rows: {details}. Nothing was imported")]
    Totals { file: String, details: String },
}

type Result<T, E = AccountBillError> = std::result::Result<T, E>;

/// One balance movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub line: u64,
    /// 账务流水号
    pub entry_no: String,
    /// 业务流水号: for trade movements, the trade_no (支付宝交易号).
    pub biz_no: String,
    /// 商户订单号: out_trade_no.
    pub out_trade_no: String,
    pub subject: String,
    /// 发生时间, China time.
    pub occurred_at: PrimitiveDateTime,
    pub counterparty: String,
    pub income: Amount,
    /// Positive.
    pub expense: Amount,
    pub balance: Option<Amount>,
    pub channel: String,
    /// 业务类型: 在线支付, 交易付款, 交易退款, 收费, 转账, 提现 …
    pub biz_type: String,
    pub remark: String,
}

/// Counts and sums by direction (the `#支出合计` / `#收入合计` lines, or the rows added up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub income_count: u64,
    pub income: Amount,
    pub expense_count: u64,
    /// Positive.
    pub expense: Amount,
}

impl Totals {
    pub fn add(&mut self, row: &AccountRow) {
        if row.expense.is_zero() {
            self.income_count += 1;
            self.income = Amount::from_fen(self.income.fen().saturating_add(row.income.fen()));
        } else {
            self.expense_count += 1;
            self.expense = Amount::from_fen(self.expense.fen().saturating_add(row.expense.fen()));
        }
    }
}

/// One row of the 汇总: a 类型 (or `合计`) with its counts and sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub kind: String,
    pub totals: Totals,
}

/// An account bill as read.
#[derive(Debug, Clone)]
pub struct AccountBill {
    pub file: String,
    /// 账号
    pub account: String,
    /// The day of `#起始日期`.
    pub start: Option<Date>,
    pub rows: Vec<AccountRow>,
    /// The `#支出合计` / `#收入合计` lines.
    pub stated: Totals,
    /// The 汇总 entry's rows (without `合计`) and its `合计`, when the file had one.
    pub summary: Option<(Vec<SummaryRow>, Option<Totals>)>,
}

impl AccountBill {
    /// The rows added up.
    pub fn row_totals(&self) -> Totals {
        let mut t = Totals::default();
        for r in &self.rows {
            t.add(r);
        }
        t
    }

    /// Checks the rows against the `#…合计` lines and the 汇总 (per 类型 and 合计): the differences in words.
    pub fn mismatches(&self) -> Vec<String> {
        let rows = self.row_totals();
        let mut out = Vec::new();
        let cmp = |out: &mut Vec<String>, what: &str, stated: Totals, rows: Totals| {
            if stated.income_count != rows.income_count || stated.income != rows.income {
                out.push(format!(
                    "{what} 收入 is {} rows, {} but the rows give {} rows, {}",
                    stated.income_count, stated.income, rows.income_count, rows.income
                ));
            }
            if stated.expense_count != rows.expense_count || stated.expense != rows.expense {
                out.push(format!(
                    "{what} 支出 is {} rows, {} but the rows give {} rows, {}",
                    stated.expense_count, stated.expense, rows.expense_count, rows.expense
                ));
            }
        };
        cmp(&mut out, "#收入合计/#支出合计", self.stated, rows);
        if let Some((kinds, total)) = &self.summary {
            if let Some(total) = total {
                cmp(&mut out, "汇总 合计", *total, rows);
            }
            let mut by_kind: Vec<(String, Totals)> = Vec::new();
            for r in &self.rows {
                match by_kind.iter_mut().find(|(k, _)| *k == r.biz_type) {
                    Some((_, t)) => t.add(r),
                    None => {
                        let mut t = Totals::default();
                        t.add(r);
                        by_kind.push((r.biz_type.clone(), t));
                    }
                }
            }
            for k in kinds {
                let rows = by_kind.iter().find(|(name, _)| *name == k.kind).map(|(_, t)| *t).unwrap_or_default();
                cmp(&mut out, &format!("汇总 {}", k.kind), k.totals, rows);
            }
            for (name, t) in &by_kind {
                if !kinds.iter().any(|k| k.kind == *name) {
                    cmp(&mut out, &format!("汇总 {name} (no row)"), Totals::default(), *t);
                }
            }
        }
        out
    }
}

/// Whether a file's first bytes are an account bill: a zip with a 账务明细 entry, or the CSV itself.
pub fn looks_like_account_bill(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"PK") {
        let Ok(archive) = zip::ZipArchive::new(Cursor::new(bytes)) else { return false };
        return archive.file_names_raw().any(|raw| entry_name(raw).contains(DETAIL_MARK));
    }
    let head = &bytes[..bytes.len().min(4096)];
    let text = GBK.decode_without_bom_handling(head).0;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    first.starts_with("#支付宝账务明细") || first.starts_with("账务流水号")
}

/// Entry names are GBK without the UTF-8 flag (or UTF-8).
fn entry_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => GBK.decode_without_bom_handling(raw).0.into_owned(),
    }
}

/// Reads the zip Alipay serves: the 账务明细 entry and, when present, its 汇总 (entries picked by name).
pub fn read_account_zip(bytes: &[u8], file: &str) -> Result<AccountBill> {
    let zip_err = |e: zip::result::ZipError| AccountBillError::Zip { file: file.to_owned(), detail: e.to_string() };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_err)?;
    let names: Vec<String> = archive.file_names_raw().map(entry_name).collect();
    let base = |n: &str| n.rsplit(['/', '\\']).next().unwrap_or(n).to_owned();
    let detail = names.iter().position(|n| n.contains(DETAIL_MARK) && !n.contains(SUMMARY_MARK));
    let summary = names.iter().position(|n| n.contains(SUMMARY_MARK));
    let Some(detail) = detail else {
        return Err(AccountBillError::NoEntry { file: file.to_owned(), names: names.join(", ") });
    };
    let mut read = |i: usize| -> Result<Vec<u8>> {
        let mut entry = archive.by_index(i).map_err(zip_err)?;
        let mut out = Vec::new();
        entry
            .read_to_end(&mut out)
            .map_err(|e| AccountBillError::Zip { file: file.to_owned(), detail: e.to_string() })?;
        Ok(out)
    };
    let detail_bytes = read(detail)?;
    let summary_bytes = summary.map(&mut read).transpose()?;
    let mut bill = read_account_csv(&detail_bytes, &format!("{file}: {}", base(&names[detail])))?;
    if let (Some(bytes), Some(i)) = (summary_bytes, summary) {
        bill.summary = Some(read_account_summary(&bytes, &format!("{file}: {}", base(&names[i])))?);
    }
    bill.file = file.to_owned();
    Ok(bill)
}

/// GBK text split in lines (CRLF or LF), each with its 1-based number.
fn gbk_lines(bytes: &[u8], file: &str) -> Result<Vec<(u64, String)>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = (i + 1) as u64;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let (text, had_errors) = GBK.decode_without_bom_handling(raw);
        if had_errors {
            return Err(AccountBillError::Encoding { file: file.to_owned(), line });
        }
        out.push((line, text.into_owned()));
    }
    Ok(out)
}

/// One CSV line's values, each trimmed of the TAB Alipay appends and of spaces.
fn cells(text: &str, file: &str, line: u64) -> Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => Ok(record.iter().map(|c| c.trim_matches(|ch: char| ch == '\t' || ch == ' ').to_owned()).collect()),
        Ok(false) => Ok(Vec::new()),
        Err(e) => Err(AccountBillError::Value {
            file: file.to_owned(),
            line,
            column: "-".into(),
            text: text.to_owned(),
            expected: if e.to_string().is_empty() { "a CSV line" } else { "a CSV line (quotes balanced)" },
        }),
    }
}

/// A header name without the difference between full-width and ASCII brackets and spaces.
fn norm(name: &str) -> String {
    name.trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            other => other,
        })
        .collect()
}

fn column(header: &[String], name: &'static str, file: &str, line: u64) -> Result<usize> {
    let wanted = norm(name);
    header.iter().position(|h| norm(h) == wanted).ok_or(AccountBillError::MissingColumn {
        file: file.to_owned(),
        line,
        column: name,
    })
}

fn optional_column(header: &[String], name: &str) -> Option<usize> {
    let wanted = norm(name);
    header.iter().position(|h| norm(h) == wanted)
}

fn amount(text: &str, file: &str, line: u64, column: &str) -> Result<Amount> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Amount::ZERO);
    }
    Amount::parse_signed(t).map_err(|_| AccountBillError::Value {
        file: file.to_owned(),
        line,
        column: column.to_owned(),
        text: t.to_owned(),
        expected: "an amount in yuan like 12.34",
    })
}

/// `#支出合计：0笔，共0.00元` → (count, amount).
fn total_line(text: &str, file: &str, line: u64) -> Result<(u64, Amount)> {
    let bad = || AccountBillError::Value {
        file: file.to_owned(),
        line,
        column: "合计".into(),
        text: text.to_owned(),
        expected: "a line like #收入合计：18笔，共14989.00元",
    };
    let rest = text.split_once(['：', ':']).map(|(_, r)| r).ok_or_else(bad)?;
    let (count, rest) = rest.split_once('笔').ok_or_else(bad)?;
    let sum = rest.trim_start_matches(['，', ',']).trim_start_matches('共').trim_end_matches('元');
    let count: u64 = count.trim().parse().map_err(|_| bad())?;
    let sum = Amount::parse_signed(sum.trim()).map_err(|_| bad())?;
    Ok((count, Amount::from_fen(sum.fen().abs())))
}

/// `#起始日期：[2012年12月29日 00:00:00]` → the date.
fn start_date(text: &str) -> Option<Date> {
    let inner = text.split_once('[')?.1;
    let (y, rest) = inner.split_once('年')?;
    let (m, rest) = rest.split_once('月')?;
    let (d, _) = rest.split_once('日')?;
    let month = time::Month::try_from(m.trim().parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.trim().parse().ok()?, month, d.trim().parse().ok()?).ok()
}

/// Reads the 账务明细 CSV (its bytes as in the zip).
pub fn read_account_csv(bytes: &[u8], file: &str) -> Result<AccountBill> {
    let lines = gbk_lines(bytes, file)?;
    let mut account = String::new();
    let mut start = None;
    let mut header: Option<(u64, Vec<String>, Cols)> = None;
    let mut rows = Vec::new();
    let (mut income_line, mut expense_line) = (None, None);
    let datetime = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    for (line, text) in &lines {
        let line = *line;
        let t = text.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(hash) = t.strip_prefix('#') {
            if hash.starts_with("账号") {
                account = hash
                    .split_once('[')
                    .and_then(|(_, r)| r.split_once(']'))
                    .map(|(a, _)| a.to_owned())
                    .unwrap_or_default();
            } else if hash.starts_with("起始日期") {
                start = start_date(hash);
            } else if hash.starts_with("收入合计") {
                income_line = Some(total_line(hash, file, line)?);
            } else if hash.starts_with("支出合计") {
                expense_line = Some(total_line(hash, file, line)?);
            }
            continue;
        }
        let values = cells(text, file, line)?;
        let Some((_, names, cols)) = &header else {
            let cols = Cols::of(&values, file, line)?;
            header = Some((line, values, cols));
            continue;
        };
        if values.len() != names.len() {
            // A trailing empty 备注 may be written without its comma.
            if !(values.len() + 1 == names.len() && cols.remark == Some(names.len() - 1)) {
                return Err(AccountBillError::ColumnCount {
                    file: file.to_owned(),
                    line,
                    found: values.len(),
                    expected: names.len(),
                });
            }
        }
        let get = |i: usize| values.get(i).cloned().unwrap_or_default();
        let opt = |i: Option<usize>| i.map(get).unwrap_or_default();
        let when = get(cols.occurred_at);
        let occurred_at = PrimitiveDateTime::parse(&when, datetime).map_err(|_| AccountBillError::Value {
            file: file.to_owned(),
            line,
            column: names[cols.occurred_at].clone(),
            text: when.clone(),
            expected: "a time like 2026-11-24 09:15:03",
        })?;
        let balance = match cols.balance.map(get).filter(|s| !s.is_empty()) {
            Some(text) => Some(amount(&text, file, line, &names[cols.balance.unwrap_or(0)])?),
            None => None,
        };
        let income = amount(&get(cols.income), file, line, &names[cols.income])?;
        let expense = amount(&get(cols.expense), file, line, &names[cols.expense])?;
        if income.fen() < 0 {
            return Err(AccountBillError::Value {
                file: file.to_owned(),
                line,
                column: names[cols.income].clone(),
                text: get(cols.income),
                expected: "an income of zero or more",
            });
        }
        rows.push(AccountRow {
            line,
            entry_no: get(cols.entry_no),
            biz_no: get(cols.biz_no),
            out_trade_no: get(cols.out_trade_no),
            subject: opt(cols.subject),
            occurred_at,
            counterparty: opt(cols.counterparty),
            income,
            expense: Amount::from_fen(expense.fen().abs()),
            balance,
            channel: opt(cols.channel),
            biz_type: get(cols.biz_type),
            remark: opt(cols.remark),
        });
    }
    if header.is_none() {
        return Err(AccountBillError::NoHeader {
            file: file.to_owned(), expected: "账务流水号,业务流水号,…"
        });
    }
    let (Some((income_count, income)), Some((expense_count, expense))) = (income_line, expense_line) else {
        return Err(AccountBillError::Truncated {
            file: file.to_owned(), expected: "#支出合计：… and #收入合计：…"
        });
    };
    Ok(AccountBill {
        file: file.to_owned(),
        account,
        start,
        rows,
        stated: Totals { income_count, income, expense_count, expense },
        summary: None,
    })
}

/// The columns of the detail header.
struct Cols {
    entry_no: usize,
    biz_no: usize,
    out_trade_no: usize,
    occurred_at: usize,
    income: usize,
    expense: usize,
    biz_type: usize,
    subject: Option<usize>,
    counterparty: Option<usize>,
    balance: Option<usize>,
    channel: Option<usize>,
    remark: Option<usize>,
}

impl Cols {
    fn of(h: &[String], file: &str, line: u64) -> Result<Cols> {
        Ok(Cols {
            entry_no: column(h, "账务流水号", file, line)?,
            biz_no: column(h, "业务流水号", file, line)?,
            out_trade_no: column(h, "商户订单号", file, line)?,
            occurred_at: column(h, "发生时间", file, line)?,
            income: column(h, "收入金额（+元）", file, line)?,
            expense: column(h, "支出金额（-元）", file, line)?,
            biz_type: column(h, "业务类型", file, line)?,
            subject: optional_column(h, "商品名称"),
            counterparty: optional_column(h, "对方账号"),
            balance: optional_column(h, "账户余额（元）"),
            channel: optional_column(h, "交易渠道"),
            remark: optional_column(h, "备注"),
        })
    }
}

/// Reads the 账务明细(汇总) CSV: the rows per 类型, and the `合计` row.
pub fn read_account_summary(bytes: &[u8], file: &str) -> Result<(Vec<SummaryRow>, Option<Totals>)> {
    let lines = gbk_lines(bytes, file)?;
    let mut cols: Option<(usize, usize, usize, usize, usize, usize)> = None;
    let mut kinds = Vec::new();
    let mut total = None;
    for (line, text) in &lines {
        let line = *line;
        let t = text.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let values = cells(text, file, line)?;
        let Some((kind, ic, ia, ec, ea, width)) = cols else {
            cols = Some((
                column(&values, "类型", file, line)?,
                column(&values, "收入笔数", file, line)?,
                column(&values, "收入金额（+元）", file, line)?,
                column(&values, "支出笔数", file, line)?,
                column(&values, "支出金额（-元）", file, line)?,
                values.len(),
            ));
            continue;
        };
        if values.len() != width {
            return Err(AccountBillError::ColumnCount {
                file: file.to_owned(),
                line,
                found: values.len(),
                expected: width,
            });
        }
        let count = |i: usize, name: &str| -> Result<u64> {
            values[i].parse().map_err(|_| AccountBillError::Value {
                file: file.to_owned(),
                line,
                column: name.to_owned(),
                text: values[i].clone(),
                expected: "a number of rows",
            })
        };
        let totals = Totals {
            income_count: count(ic, "收入笔数")?,
            income: amount(&values[ia], file, line, "收入金额（+元）")?,
            expense_count: count(ec, "支出笔数")?,
            expense: Amount::from_fen(amount(&values[ea], file, line, "支出金额（-元）")?.fen().abs()),
        };
        if values[kind] == "合计" {
            total = Some(totals);
        } else {
            kinds.push(SummaryRow { kind: values[kind].clone(), totals });
        }
    }
    if cols.is_none() {
        return Err(AccountBillError::NoHeader {
            file: file.to_owned(), expected: "类型,收入笔数,收入金额（+元）,…"
        });
    }
    if total.is_none() {
        return Err(AccountBillError::Truncated { file: file.to_owned(), expected: "the 合计 row" });
    }
    Ok((kinds, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(text: &str) -> Vec<u8> {
        GBK.encode(text).0.into_owned()
    }

    /// The real file of wave2-protocols.md section 5, with one row and its totals made to agree.
    const REAL: &str = "#支付宝账务明细查询\n#账号：[20888011365400330156]\n#起始日期：[2012年12月29日 00:00:00]   终止日期：[2012年12月30日 00:00:00]\n#-----------------------------------------账务明细列表----------------------------------------\n账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注\n54632446537371\t,2012122923922029\t,3226563\t,海航机票\t,2012-12-29 21:02:06,陈* (kua***@126.com)\t,2274.00,0.00,14533.03,支付宝,在线支付,\n#----------------------------------------账务明细列表结束-------------------------------------\n#支出合计：0笔，共0.00元\n#收入合计：1笔，共2274.00元\n#导出时间：[2012年12月31日 13:19:01]\n";

    #[test]
    fn the_documented_layout_reads_by_header() {
        let bill = read_account_csv(&gbk(REAL), "a.csv").unwrap();
        assert_eq!(bill.account, "20888011365400330156");
        assert_eq!(bill.start, Some(time::macros::date!(2012 - 12 - 29)));
        let r = &bill.rows[0];
        assert_eq!(
            (r.entry_no.as_str(), r.biz_no.as_str(), r.out_trade_no.as_str()),
            ("54632446537371", "2012122923922029", "3226563")
        );
        assert_eq!((r.income, r.expense, r.biz_type.as_str()), (Amount::from_fen(227_400), Amount::ZERO, "在线支付"));
        assert_eq!(r.line, 6);
        assert!(bill.mismatches().is_empty(), "{:?}", bill.mismatches());
        assert!(looks_like_account_bill(&gbk(REAL)));
    }

    use proptest::prelude::*;

    /// The detail text for rows of (subject, fen, is an expense, seconds into the day), as Alipay lays it out.
    fn render(rows: &[(String, i64, bool, u32)]) -> (String, Vec<(Amount, Amount, String)>) {
        let mut text = String::from(
            "#支付宝账务明细查询\n#账号：[20880000000000000156]\n#起始日期：[2026年11月24日 00:00:00]   终止日期：[2026年11月25日 00:00:00]\n账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注\n",
        );
        let mut t = Totals::default();
        let mut want = Vec::new();
        for (i, (subject, fen, expense, secs)) in rows.iter().enumerate() {
            let (inc, exp) = if *expense { (0, *fen) } else { (*fen, 0) };
            let at = time::macros::datetime!(2026-11-24 00:00:00) + time::Duration::seconds(i64::from(*secs));
            let kind = if *expense { "交易退款" } else { "在线支付" };
            text.push_str(&format!(
                "{i}\t,T{i}\t,O{i}\t,{subject}\t,{} {:02}:{:02}:{:02},x\t,{},{},0.00,支付宝,{kind},\n",
                at.date(),
                at.hour(),
                at.minute(),
                at.second(),
                Amount::from_fen(inc),
                Amount::from_fen(exp)
            ));
            want.push((Amount::from_fen(inc), Amount::from_fen(exp), subject.trim().to_owned()));
            let row = AccountRow {
                line: 0,
                entry_no: String::new(),
                biz_no: String::new(),
                out_trade_no: String::new(),
                subject: String::new(),
                occurred_at: at,
                counterparty: String::new(),
                income: Amount::from_fen(inc),
                expense: Amount::from_fen(exp),
                balance: None,
                channel: String::new(),
                biz_type: String::new(),
                remark: String::new(),
            };
            t.add(&row);
        }
        text.push_str(&format!("#支出合计：{}笔，共{}元\n", t.expense_count, t.expense));
        text.push_str(&format!("#收入合计：{}笔，共{}元\n", t.income_count, t.income));
        (text, want)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_rows_read_back_and_add_up(
            rows in proptest::collection::vec(("[a-z咖啡茶 ]{0,8}", 1i64..10_000_000, any::<bool>(), 0u32..86_400), 0..8)
        ) {
            let (text, want) = render(&rows);
            let bill = read_account_csv(&gbk(&text), "p.csv").unwrap();
            let got: Vec<(Amount, Amount, String)> =
                bill.rows.iter().map(|r| (r.income, r.expense, r.subject.clone())).collect();
            prop_assert_eq!(got, want);
            prop_assert!(bill.mismatches().is_empty());
        }

        #[test]
        fn reading_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = read_account_csv(&bytes, "f");
            let _ = read_account_summary(&bytes, "f");
            let _ = read_account_zip(&bytes, "f");
            let _ = looks_like_account_bill(&bytes);
        }
    }

    #[test]
    fn bad_input_names_the_line_and_column() {
        let shifted = REAL.replace("2274.00,0.00,14533.03", "2274.00,0.00,1,14533.03");
        let e = read_account_csv(&gbk(&shifted), "a.csv").unwrap_err().to_string();
        assert!(e.contains("a.csv line 6") && e.contains("13 values"), "{e}");
        let bad = REAL.replace("2274.00,0.00", "22x4.00,0.00");
        let e = read_account_csv(&gbk(&bad), "a.csv").unwrap_err().to_string();
        assert!(e.contains("line 6, column 收入金额（+元）") && e.contains("22x4.00"), "{e}");
        let cut = REAL.split("#支出合计").next().unwrap();
        let e = read_account_csv(&gbk(cut), "a.csv").unwrap_err().to_string();
        assert!(e.contains("cut short"), "{e}");
        let wrong = REAL.replace("#收入合计：1笔，共2274.00元", "#收入合计：2笔，共2274.00元");
        let bill = read_account_csv(&gbk(&wrong), "a.csv").unwrap();
        assert_eq!(bill.mismatches().len(), 1, "{:?}", bill.mismatches());
    }
}
