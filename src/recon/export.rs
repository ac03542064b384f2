//! The report as files: CSV (UTF-8 with a BOM, so spreadsheets read the Chinese right) and XLSX (a summary sheet
//! and the discrepancy sheet). Amounts are written as exact text ("88.88") and, beside them, as whole fen numbers
//! that a spreadsheet can sum.

use std::path::{Path, PathBuf};

use super::report::{Report, kind_label};
use super::{ReconError, acquirer_name};
use crate::i18n::Lang;
use crate::money::Amount;

fn headers(lang: Lang) -> [&'static str; 17] {
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
        lang.pick("时间", "time"),
        lang.pick("商品", "subject"),
        lang.pick("说明", "explanation"),
        lang.pick("建议操作", "suggested action"),
        lang.pick("处理结果", "resolution"),
    ]
}

fn amount_text(a: Option<Amount>) -> String {
    a.map(|a| a.to_string()).unwrap_or_default()
}

fn rows(report: &Report, lang: Lang) -> Vec<[String; 17]> {
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
                d.occurred_at.as_deref().map(crate::time::to_local_display).unwrap_or_default(),
                d.subject.clone(),
                d.reason.explanation(lang).to_owned(),
                d.reason.action(lang).to_owned(),
                if d.resolved {
                    format!("{}{}", lang.pick("已处理：", "resolved: "), d.note.as_deref().unwrap_or(""))
                } else {
                    String::new()
                },
            ]
        })
        .collect()
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
    write_atomically(path, &bytes)
}

/// Writes the report as an Excel workbook: 汇总 (summary) and 差异明细 (discrepancies).
pub fn write_xlsx(report: &Report, path: &Path, lang: Lang) -> Result<(), ReconError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: &dyn std::fmt::Display| ReconError::Export { path: path.to_owned(), message: e.to_string() };
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    {
        let sheet = book.add_worksheet();
        sheet.set_name(lang.pick("汇总", "Summary")).map_err(|e| fail(&e))?;
        sheet.set_column_width(0, 36).map_err(|e| fail(&e))?;
        sheet.set_column_width(1, 48).map_err(|e| fail(&e))?;
        for (i, (label, value)) in summary_lines(report, lang).iter().enumerate() {
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
    let bytes = book.save_to_buffer().map_err(|e| fail(&e))?;
    write_atomically(path, &bytes)
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

/// The default file name for a report export: `对账-wechatpay-2026-11-24-run3.csv`.
pub fn default_file_name(report: &Report, extension: &str) -> PathBuf {
    PathBuf::from(format!("recon-{}-{}-run{}.{extension}", report.acquirer.as_str(), report.bill_date, report.run_id))
}
