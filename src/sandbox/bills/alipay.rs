//! Writing the Alipay trade bill (业务账单) as Alipay serves it: a zip named `{account}_{yyyyMMdd}.csv.zip` holding
//! `{account}_{yyyyMMdd}_业务明细.csv` and `…_业务明细(汇总).csv`, GBK text and GBK entry names without the zip UTF-8
//! flag, LF line ends. The sandbox serves these files; tests, benches and examples make bills with them.
//!
//! It owns only the writing: the column layout comes from the reader (`channel::alipay::bill`), which it may import,
//! so a file written here is read back by the same header the client expects.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use encoding_rs::{EncoderResult, GBK};
use time::{Date, PrimitiveDateTime};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::channel::alipay::bill::{
    AlipayBillRow, BillFooter, DETAIL_COLUMNS, DETAIL_TITLE, SUMMARY_COLUMNS, SUMMARY_TITLE, SummaryFigures,
};
use crate::money::Amount;

/// Why a bill could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BillWriteError {
    #[error("{account:?} cannot be part of a file name")]
    Account { account: String },
    #[error("no day follows {date}: the bill's period cannot be written")]
    LastDay { date: Date },
    #[error("cannot write the bill zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("cannot write the bill zip: {0}")]
    Io(#[from] std::io::Error),
}

/// `yyyyMMdd`.
fn date_stamp(date: Date) -> String {
    format!("{:04}{:02}{:02}", date.year(), u8::from(date.month()), date.day())
}

/// `2019年09月16日 00:00:00`.
fn chinese_midnight(date: Date) -> String {
    format!("{:04}年{:02}月{:02}日 00:00:00", date.year(), u8::from(date.month()), date.day())
}

/// `2019-09-16 10:55:16`.
fn format_time(t: PrimitiveDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The download's file name: `{account}_{yyyyMMdd}.csv.zip`.
pub fn bill_zip_name(account: &str, bill_date: Date) -> String {
    format!("{account}_{}.csv.zip", date_stamp(bill_date))
}

/// The detail entry's name: `{account}_{yyyyMMdd}_业务明细.csv`.
pub fn detail_entry_name(account: &str, bill_date: Date) -> String {
    format!("{account}_{}_业务明细.csv", date_stamp(bill_date))
}

/// The summary entry's name: `{account}_{yyyyMMdd}_业务明细(汇总).csv`.
pub fn summary_entry_name(account: &str, bill_date: Date) -> String {
    format!("{account}_{}_业务明细(汇总).csv", date_stamp(bill_date))
}

/// Encodes as GBK; characters GBK cannot hold become `?`, as Java's `getBytes("GBK")` writes them.
pub fn gbk_encode_lossy(text: &str) -> Vec<u8> {
    let mut encoder = GBK.new_encoder();
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    loop {
        let room = encoder.max_buffer_length_from_utf8_without_replacement(rest.len()).unwrap_or(rest.len() * 2 + 16);
        out.reserve(room);
        let (result, read) = encoder.encode_from_utf8_to_vec_without_replacement(rest, &mut out, true);
        rest = &rest[read..];
        match result {
            EncoderResult::InputEmpty => return out,
            EncoderResult::OutputFull => {}
            EncoderResult::Unmappable(_) => out.push(b'?'),
        }
    }
}

/// Appends one CSV cell; values holding a comma, quote or line break are quoted (RFC 4180).
fn push_cell(line: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&value.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(value);
    }
}

fn push_row<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, cell.as_ref());
    }
    out.push('\n');
}

/// A row's cells in the order of [`DETAIL_COLUMNS`], with the TAB Alipay appends to some of them.
fn row_cells(row: &AlipayBillRow) -> [String; DETAIL_COLUMNS.len()] {
    let mut cells = [
        row.trade_no.clone(),
        row.out_trade_no.clone(),
        row.kind.as_str().to_owned(),
        row.subject.clone(),
        format_time(row.created_at),
        format_time(row.finished_at),
        row.store_id.clone(),
        row.store_name.clone(),
        row.operator_id.clone(),
        row.terminal_id.clone(),
        row.buyer_account.clone(),
        row.order_amount.format(),
        row.receipt_amount.format(),
        row.alipay_red_packet.format(),
        row.jifenbao.format(),
        row.alipay_discount.format(),
        row.merchant_discount.format(),
        row.coupon_amount.format(),
        row.coupon_name.clone(),
        row.merchant_red_packet.format(),
        row.card_amount.format(),
        row.out_request_no.clone().unwrap_or_default(),
        row.service_fee.format(),
        row.profit_share.format(),
        row.remark.clone(),
    ];
    for (cell, column) in cells.iter_mut().zip(DETAIL_COLUMNS.iter()) {
        if column.tab {
            cell.push('\t');
        }
    }
    cells
}

fn period_line(bill_date: Date) -> Result<String, BillWriteError> {
    let next = bill_date.next_day().ok_or(BillWriteError::LastDay { date: bill_date })?;
    Ok(format!("#起始日期：[{}]   终止日期：[{}]\n", chinese_midnight(bill_date), chinese_midnight(next)))
}

/// The 业务明细 text (before GBK encoding).
pub fn detail_text(
    account: &str,
    bill_date: Date,
    rows: &[AlipayBillRow],
    exported_at: &str,
) -> Result<String, BillWriteError> {
    let mut out = String::with_capacity(512 + rows.len() * 256);
    out.push_str(DETAIL_TITLE);
    out.push('\n');
    out.push_str(&format!("#账号：[{account}]\n"));
    out.push_str(&period_line(bill_date)?);
    out.push_str(&format!("#{}业务明细列表{}\n", "-".repeat(41), "-".repeat(40)));
    push_row(&mut out, &DETAIL_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>());
    for row in rows {
        push_row(&mut out, &row_cells(row));
    }
    out.push_str(&format!("#{}业务明细列表结束{}\n", "-".repeat(41), "-".repeat(36)));
    let t = BillFooter::of_rows(rows);
    out.push_str(&format!(
        "#交易合计：{}笔，商家实收共{}元，商家优惠共{}元\n",
        t.trade_count, t.trade_receipt, t.trade_merchant_discount
    ));
    out.push_str(&format!(
        "#退款合计：{}笔，商家实收退款共{}元，商家优惠退款共{}元\n",
        t.refund_count, t.refund_receipt, t.refund_merchant_discount
    ));
    out.push_str(&format!("#导出时间：[{exported_at}]\n"));
    Ok(out)
}

/// `a + b`, saturating rather than wrapping (as the reader's sums do).
fn add(a: Amount, b: Amount) -> Amount {
    a.checked_add(b).unwrap_or(if b.fen() > 0 { Amount::from_fen(i64::MAX) } else { Amount::from_fen(i64::MIN) })
}

/// The sums of two 汇总 rows (the stores' rows into 合计).
fn add_figures(sum: &mut SummaryFigures, other: &SummaryFigures) {
    sum.trade_count += other.trade_count;
    sum.refund_count += other.refund_count;
    sum.order_amount = add(sum.order_amount, other.order_amount);
    sum.receipt_amount = add(sum.receipt_amount, other.receipt_amount);
    sum.alipay_discount = add(sum.alipay_discount, other.alipay_discount);
    sum.merchant_discount = add(sum.merchant_discount, other.merchant_discount);
    sum.card_amount = add(sum.card_amount, other.card_amount);
    sum.service_fee = add(sum.service_fee, other.service_fee);
    sum.profit_share = add(sum.profit_share, other.profit_share);
    sum.net_amount = add(sum.net_amount, other.net_amount);
}

/// A 汇总 row: 门店编号, 门店名称, then the figures in the order of [`SUMMARY_COLUMNS`].
fn figure_cells(f: &SummaryFigures, store_id: &str, store_name: &str) -> [String; SUMMARY_COLUMNS.len()] {
    [
        store_id.to_owned(),
        store_name.to_owned(),
        f.trade_count.to_string(),
        f.refund_count.to_string(),
        f.order_amount.format(),
        f.receipt_amount.format(),
        f.alipay_discount.format(),
        f.merchant_discount.format(),
        f.card_amount.format(),
        f.service_fee.format(),
        f.profit_share.format(),
        f.net_amount.format(),
    ]
}

/// The 业务明细(汇总) text (before GBK encoding): one row per store, then 合计.
fn summary_text(
    account: &str,
    bill_date: Date,
    rows: &[AlipayBillRow],
    exported_at: &str,
) -> Result<String, BillWriteError> {
    let mut stores: BTreeMap<(&str, &str), SummaryFigures> = BTreeMap::new();
    for row in rows {
        stores.entry((row.store_id.as_str(), row.store_name.as_str())).or_default().add_row(row);
    }
    let mut out = String::new();
    out.push_str(SUMMARY_TITLE);
    out.push('\n');
    out.push_str(&format!("#账号：[{account}]\n"));
    out.push_str(&period_line(bill_date)?);
    out.push_str(&format!("#{}业务汇总列表{}\n", "-".repeat(41), "-".repeat(40)));
    push_row(&mut out, &SUMMARY_COLUMNS.iter().map(|(name, _)| *name).collect::<Vec<_>>());
    let mut total = SummaryFigures::default();
    for ((store_id, store_name), sums) in &stores {
        push_row(&mut out, &figure_cells(sums, store_id, store_name));
        add_figures(&mut total, sums);
    }
    push_row(&mut out, &figure_cells(&total, "合计", ""));
    out.push_str(&format!("#{}业务汇总列表结束{}\n", "-".repeat(40), "-".repeat(37)));
    out.push_str(&format!("#导出时间：[{exported_at}]\n"));
    Ok(out)
}

/// Writes the bill zip as Alipay serves it: GBK content, GBK entry names without the UTF-8 flag, LF line ends.
/// `exported_at` is the text inside `#导出时间：[…]`, e.g. `2019年09月17日 05:46:49`.
pub fn write_bill_zip(
    account: &str,
    bill_date: Date,
    rows: &[AlipayBillRow],
    exported_at: &str,
) -> Result<Vec<u8>, BillWriteError> {
    if account.is_empty() || account.contains(['/', '\\']) {
        return Err(BillWriteError::Account { account: account.to_owned() });
    }
    let detail = gbk_encode_lossy(&detail_text(account, bill_date, rows, exported_at)?);
    let summary = gbk_encode_lossy(&summary_text(account, bill_date, rows, exported_at)?);
    let detail_name = gbk_encode_lossy(&detail_entry_name(account, bill_date));
    let summary_name = gbk_encode_lossy(&summary_entry_name(account, bill_date));

    let next = bill_date.next_day().unwrap_or(bill_date);
    let stamp = u16::try_from(next.year())
        .ok()
        .and_then(|year| zip::DateTime::from_date_and_time(year, u8::from(next.month()), next.day(), 0, 0, 0).ok())
        .unwrap_or_default();
    let options =
        SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).last_modified_time(stamp);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    // `name` takes raw bytes: GBK that is not valid UTF-8 is written without the language-encoding flag.
    for (name, content) in [(&detail_name, &detail), (&summary_name, &summary)] {
        zip.start_file_with_options(options.name(name))?;
        zip.write_all(content)?;
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests;
