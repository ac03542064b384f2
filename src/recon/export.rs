//! The report as files: CSV (UTF-8 with a BOM, so spreadsheets read the Chinese right) and XLSX (a summary sheet
//! and the discrepancy sheet). Amounts are written as exact text ("88.88") and, beside them, as whole fen numbers
//! that a spreadsheet can sum.
//!
//! A closed day exports from its frozen report ([`write_day`]): the same bytes every time (the workbook's creation
//! time is the closing time), whatever was imported or reconciled since.

use std::path::{Path, PathBuf};

use super::report::{Report, kind_label};
use super::resolve::{Closing, DayReport, china_display};
use super::{ReconError, acquirer_name};
use crate::i18n::Lang;
use crate::money::Amount;

fn headers(lang: Lang) -> [&'static str; 18] {
    [
        lang.pick("类型", "kind"),
        lang.pick("原因", "reason"),
        "out_trade_no",
        "trade_no",
        "out_request_no",
        lang.pick("本地金额", "local amount"),
        lang.pick("账单金额", "bill amount"),
        lang.pick("本地金额（分）", "local amount (fen)"),
        lang.pick("账单金额（分）", "bill amount (fen)"),
        lang.pick("本地状态", "local status"),
        lang.pick("账单状态", "bill status"),
        lang.pick("账单行号", "bill line"),
        lang.pick("时间（北京时间）", "time (China)"),
        lang.pick("商品", "subject"),
        lang.pick("说明", "explanation"),
        lang.pick("建议操作", "suggested action"),
        lang.pick("差异字段（账单 / 本地）", "fields that differ (bill / local)"),
        lang.pick("处理结果", "resolution"),
    ]
}

fn amount_text(a: Option<Amount>) -> String {
    a.map(|a| a.to_string()).unwrap_or_default()
}

fn rows(report: &Report, lang: Lang) -> Vec<[String; 18]> {
    report
        .discrepancies
        .iter()
        .map(|d| {
            [
                kind_label(d.kind, lang).to_owned(),
                d.reason.as_str().to_owned(),
                d.out_trade_no.clone().unwrap_or_default(),
                d.trade_no.clone().unwrap_or_default(),
                d.out_request_no.clone().unwrap_or_default(),
                amount_text(d.local_amount),
                amount_text(d.bill_amount),
                d.local_amount.map(|a| a.fen().to_string()).unwrap_or_default(),
                d.bill_amount.map(|a| a.fen().to_string()).unwrap_or_default(),
                d.local_status.clone().unwrap_or_default(),
                d.bill_status.clone().unwrap_or_default(),
                d.bill_line.map(|l| l.to_string()).unwrap_or_default(),
                d.occurred_at.as_deref().map(crate::time::to_china_display).unwrap_or_default(),
                d.subject.clone(),
                d.reason.explanation(lang).to_owned(),
                d.reason.action(lang).to_owned(),
                fields_text(d, lang),
                resolution_text(d, lang),
            ]
        })
        .collect()
}

/// "订单金额：22.00 / 20.00；支付时间：…" — each differing field with the bill's and the till's value.
fn fields_text(d: &super::report::Item, lang: Lang) -> String {
    d.fields
        .iter()
        .map(|f| {
            format!(
                "{}{}{} / {}",
                super::fields::field_label(f.field, lang),
                lang.pick("：", ": "),
                super::fields::field_value(f.field, &f.bill),
                super::fields::field_value(f.field, &f.local)
            )
        })
        .collect::<Vec<_>>()
        .join(lang.pick("；", "; "))
}

/// "已处理（核销（接受损益）） · 王芳 2026-11-25 10:00:00：note" / "resolved (written off) · …: note".
fn resolution_text(d: &super::report::Item, lang: Lang) -> String {
    if !d.resolved {
        return String::new();
    }
    let mut text = lang.pick("已处理", "resolved").to_owned();
    if let Some(r) = &d.resolution {
        if let Some(kind) = r.kind {
            text.push_str(&format!(
                "{}{}{}",
                lang.pick("（", " ("),
                super::resolve::kind_label(kind, lang),
                lang.pick("）", ")")
            ));
        }
        if let Some(reference) = &r.reference {
            text.push_str(&format!(" {reference}"));
        }
        if let Some(line) = r.bill_line {
            text.push_str(&format!(" {}{line}", lang.pick("账单行 ", "line ")));
        }
        if let Some(by) = &r.by {
            text.push_str(&format!(" · {by}"));
        }
        if let Some(at) = &r.at {
            text.push_str(&format!(" {}", china_display(at)));
        }
    }
    format!("{text}{}{}", lang.pick("：", ": "), d.note.as_deref().unwrap_or(""))
}

/// The summary as (label, value) lines.
fn summary_lines(report: &Report, lang: Lang) -> Vec<(String, String)> {
    let mut lines = vec![
        (lang.pick("收单机构", "Acquirer").to_owned(), acquirer_name(report.acquirer).to_owned()),
        (lang.pick("账单日期", "Bill date").to_owned(), report.bill_date.clone()),
        (lang.pick("对账编号", "Run").to_owned(), report.run_id.to_string()),
        (
            lang.pick("已匹配收款", "Matched payments").to_owned(),
            format!("{} / {}", report.matched.count, report.matched.amount),
        ),
        (
            lang.pick("已匹配退款", "Matched refunds").to_owned(),
            format!("{} / {}", report.matched_refunds.count, report.matched_refunds.amount),
        ),
        (
            lang.pick("跨日待核（等待相邻日账单）", "Waiting for the neighbouring day's bill").to_owned(),
            format!("{} / {}", report.pending.count, report.pending.amount),
        ),
    ];
    for k in &report.kinds {
        lines.push((
            kind_label(k.kind, lang).to_owned(),
            format!(
                "{} / {} {} / {} {}",
                k.count,
                lang.pick("账单", "bill"),
                k.bill_amount,
                lang.pick("本地", "local"),
                k.local_amount
            ),
        ));
    }
    let f = &report.fees;
    lines.push((
        lang.pick("账单收款", "Bill payments").to_owned(),
        format!("{} / {}", f.payments.count, f.payments.amount),
    ));
    lines.push((
        lang.pick("账单退款", "Bill refunds").to_owned(),
        format!("{} / {}", f.refunds.count, f.refunds.amount),
    ));
    lines.push((lang.pick("手续费", "Fees").to_owned(), f.fee.clone()));
    lines.push((lang.pick("优惠", "Discounts").to_owned(), f.discounts.to_string()));
    lines.push((lang.pick("净额", "Net").to_owned(), f.net.to_string()));
    for w in &report.warnings {
        lines.push((lang.pick("注意", "Warning").to_owned(), w.clone()));
    }
    lines
}

/// Writes the discrepancy table as CSV.
pub fn write_csv(report: &Report, path: &Path, lang: Lang) -> Result<(), ReconError> {
    write_atomically(path, &csv_bytes(report, path, lang)?)
}

/// The discrepancy table as CSV bytes (`path` names the file in errors).
fn csv_bytes(report: &Report, path: &Path, lang: Lang) -> Result<Vec<u8>, ReconError> {
    let fail = |e: &dyn std::fmt::Display| ReconError::Export { path: path.to_owned(), message: e.to_string() };
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut bytes);
        w.write_record(headers(lang)).map_err(|e| fail(&e))?;
        for row in rows(report, lang) {
            w.write_record(&row).map_err(|e| fail(&e))?;
        }
        w.flush().map_err(|e| fail(&e))?;
    }
    Ok(bytes)
}

/// Writes the report as an Excel workbook: 汇总 (summary) and 差异明细 (discrepancies).
pub fn write_xlsx(report: &Report, path: &Path, lang: Lang) -> Result<(), ReconError> {
    write_atomically(path, &xlsx_bytes(report, None, path, lang)?)
}

/// The workbook's bytes; a closed day's carry its closing in the summary and as the creation time.
fn xlsx_bytes(report: &Report, closed: Option<&Closing>, path: &Path, lang: Lang) -> Result<Vec<u8>, ReconError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let fail = |e: &dyn std::fmt::Display| ReconError::Export { path: path.to_owned(), message: e.to_string() };
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    if let Some(c) = closed {
        let t = time::OffsetDateTime::parse(&c.closed_at, &time::format_description::well_known::Rfc3339)
            .map_err(|e| fail(&e))?;
        let created =
            ExcelDateTime::from_ymd(u16::try_from(t.year()).map_err(|e| fail(&e))?, t.month().into(), t.day())
                .and_then(|d| d.and_hms(u16::from(t.hour()), t.minute(), t.second()))
                .map_err(|e| fail(&e))?;
        book.set_properties(&DocProperties::new().set_creation_datetime(&created));
    }
    let mut summary = summary_lines(report, lang);
    if let Some(c) = closed {
        summary.push((
            lang.pick("已结账", "Day closed").to_owned(),
            format!(
                "{} · {} · {}{}",
                c.closed_by,
                china_display(&c.closed_at),
                lang.pick("对账编号 ", "run "),
                c.run_id
            ),
        ));
    }
    {
        let sheet = book.add_worksheet();
        sheet.set_name(lang.pick("汇总", "Summary")).map_err(|e| fail(&e))?;
        sheet.set_column_width(0, 36).map_err(|e| fail(&e))?;
        sheet.set_column_width(1, 48).map_err(|e| fail(&e))?;
        for (i, (label, value)) in summary.iter().enumerate() {
            let row = u32::try_from(i).map_err(|e| fail(&e))?;
            sheet.write_string_with_format(row, 0, label, &bold).map_err(|e| fail(&e))?;
            sheet.write_string(row, 1, value).map_err(|e| fail(&e))?;
        }
    }
    {
        let sheet = book.add_worksheet();
        sheet.set_name(lang.pick("差异明细", "Discrepancies")).map_err(|e| fail(&e))?;
        for (c, h) in headers(lang).iter().enumerate() {
            let col = u16::try_from(c).map_err(|e| fail(&e))?;
            sheet.write_string_with_format(0, col, *h, &bold).map_err(|e| fail(&e))?;
            sheet.set_column_width(col, if c >= 14 { 40 } else { 16 }).map_err(|e| fail(&e))?;
        }
        for (r, row) in rows(report, lang).iter().enumerate() {
            let line = u32::try_from(r + 1).map_err(|e| fail(&e))?;
            for (c, value) in row.iter().enumerate() {
                let col = u16::try_from(c).map_err(|e| fail(&e))?;
                // The fen columns and the line number are whole numbers a spreadsheet can sum (exact as f64).
                let numeric = matches!(c, 7 | 8 | 11) && !value.is_empty();
                match value.parse::<i64>() {
                    Ok(n) if numeric && n.unsigned_abs() < (1 << 53) => {
                        #[allow(clippy::cast_precision_loss)]
                        sheet.write_number(line, col, n as f64).map_err(|e| fail(&e))?;
                    }
                    _ => {
                        sheet.write_string(line, col, value).map_err(|e| fail(&e))?;
                    }
                }
            }
        }
    }
    book.save_to_buffer().map_err(|e| fail(&e))
}

/// A day's report as a file, by the extension of `path`: `.csv`, `.xlsx`, or `.txt` (the printed text). A closed
/// day's gives the same bytes every time.
pub fn day_bytes(day: &DayReport, path: &Path, lang: Lang) -> Result<Vec<u8>, ReconError> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("csv") => csv_bytes(&day.report, path, lang),
        Some("xlsx") => xlsx_bytes(&day.report, day.closed.as_ref(), path, lang),
        Some("txt") => Ok(day.frozen_text.clone().unwrap_or_else(|| day.to_text()).into_bytes()),
        _ => Err(ReconError::Export {
            path: path.to_owned(),
            message: "the file name must end in .csv, .xlsx or .txt".into(),
        }),
    }
}

/// Writes a day's report (see [`day_bytes`]); nothing is half-written.
pub fn write_day(day: &DayReport, path: &Path, lang: Lang) -> Result<(), ReconError> {
    write_atomically(path, &day_bytes(day, path, lang)?)
}

/// Writes to a temporary file beside `path`, then renames: a failed export never leaves half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReconError> {
    let fail = |e: std::io::Error| ReconError::Export { path: path.to_owned(), message: e.to_string() };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// The default file name for a day's export: `recon-wechatpay-2026-11-24-closed.xlsx` for a closed day.
pub fn day_file_name(day: &DayReport, extension: &str) -> PathBuf {
    match &day.closed {
        Some(_) => PathBuf::from(format!("recon-{}-{}-closed.{extension}", day.acquirer.as_str(), day.bill_date)),
        None => default_file_name(&day.report, extension),
    }
}

/// The default file name for a report export: `对账-wechatpay-2026-11-24-run3.csv`.
pub fn default_file_name(report: &Report, extension: &str) -> PathBuf {
    PathBuf::from(format!("recon-{}-{}-run{}.{extension}", report.acquirer.as_str(), report.bill_date, report.run_id))
}
