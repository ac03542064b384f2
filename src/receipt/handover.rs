//! The handover slip (交接班小票) and the day-close slip (日结小票): the frozen summaries laid out for 58 and 80 mm
//! paper like a receipt, printed through the receipt printer (Settings → Receipts) or saved as a PDF. Every line
//! comes from the frozen summary (times shown in China time), so a reprint gives the same bytes.

use super::layout::{Emphasis, Row, Width, centred, money, pair};
use super::{ReceiptError, ReceiptSettings, escpos, output, pdf};
use crate::money::Amount;
use crate::shifts::{Change, DaySummary, Figures, OpenOrder, ShiftSummary};
use crate::store::Store;

fn fen(v: i64) -> String {
    money(Amount::from_fen(v))
}

fn t(stored: &str) -> String {
    crate::time::to_china_display(stored)
}

fn or_dash(text: &str) -> &str {
    if text.trim().is_empty() { super::NONE } else { text }
}

/// The per-wallet block and the totals.
fn figures_rows(rows: &mut Vec<Row>, f: &Figures, cols: usize) {
    for w in &f.wallets {
        pair(rows, &w.bilingual(), "", cols, Emphasis::Bold);
        pair(rows, &format!("  收款 Paid ×{}", w.paid_count), &fen(w.paid_fen), cols, Emphasis::Normal);
        pair(
            rows,
            &format!("  退款 Refunds ×{}", w.refund_count),
            &format!("-{}", fen(w.refund_fen)),
            cols,
            Emphasis::Normal,
        );
        pair(rows, "  净额 Net", &fen(w.net_fen), cols, Emphasis::Normal);
    }
    rows.push(Row::Rule);
    pair(rows, &format!("收款合计 Paid ×{}", f.paid_count), &fen(f.paid_fen), cols, Emphasis::Normal);
    pair(
        rows,
        &format!("退款合计 Refunds ×{}", f.refund_count),
        &format!("-{}", fen(f.refund_fen)),
        cols,
        Emphasis::Normal,
    );
    pair(rows, "净额 Net", &fen(f.net_fen), cols, Emphasis::Big);
}

fn open_rows(rows: &mut Vec<Row>, open: &[OpenOrder], cols: usize) {
    if open.is_empty() {
        return;
    }
    rows.push(Row::Rule);
    pair(rows, &format!("未完成订单 Open orders ×{}", open.len()), "", cols, Emphasis::Bold);
    for o in open {
        pair(rows, &o.out_trade_no, &fen(o.amount_fen), cols, Emphasis::Normal);
        let status =
            o.status().map_or(o.status.clone(), |s| format!("{} {}", s.label(crate::i18n::Lang::ZhCn), s.as_str()));
        pair(rows, &format!("  {status}"), "", cols, Emphasis::Normal);
    }
}

fn change_words(c: &Change) -> (String, String) {
    let wallet = crate::shifts::WalletFigures {
        wallet: c.wallet.clone(),
        name: c.name.clone(),
        paid_count: 0,
        paid_fen: 0,
        refund_count: 0,
        refund_fen: 0,
        net_fen: 0,
    }
    .bilingual();
    let field = match c.field {
        crate::shifts::Field::PaidCount => "收款笔数 paid",
        crate::shifts::Field::PaidAmount => "收款 paid",
        crate::shifts::Field::RefundCount => "退款笔数 refunds",
        crate::shifts::Field::RefundAmount => "退款 refunds",
    };
    let values = if c.field.is_amount() {
        format!("{} → {}", fen(c.before), fen(c.after))
    } else {
        format!("{} → {}", c.before, c.after)
    };
    (format!("  {wallet} {field}"), values)
}

/// The handover slip's lines at `paper` width.
pub fn shift_rows(s: &ShiftSummary, paper: Width) -> Vec<Row> {
    let cols = paper.columns();
    let mut rows = Vec::new();
    centred(&mut rows, or_dash(&s.store_name), cols, Emphasis::Bold);
    let title = if s.closed { "交接班小票 SHIFT HANDOVER" } else { "当班小计 SHIFT SO FAR" };
    centred(&mut rows, title, cols, Emphasis::Bold);
    rows.push(Row::Rule);
    pair(&mut rows, "班次 Shift", &s.shift_id.to_string(), cols, Emphasis::Normal);
    pair(&mut rows, "门店 Store", &s.store_code, cols, Emphasis::Normal);
    pair(&mut rows, "收银台 Till", or_dash(&s.terminal_id), cols, Emphasis::Normal);
    pair(&mut rows, "收银员 Cashier", &s.operator, cols, Emphasis::Normal);
    pair(&mut rows, "开班 Opened", &t(&s.opened_at), cols, Emphasis::Normal);
    pair(&mut rows, if s.closed { "交班 Closed" } else { "截至 As of" }, &t(&s.closed_at), cols, Emphasis::Normal);
    if s.closed {
        pair(&mut rows, "交班人 Closed by", or_dash(&s.closed_by), cols, Emphasis::Normal);
    }
    rows.push(Row::Rule);
    figures_rows(&mut rows, &s.figures, cols);
    open_rows(&mut rows, &s.open_orders, cols);
    if let Some(prev) = &s.previous {
        rows.push(Row::Rule);
        pair(&mut rows, &format!("上一班 Previous shift {}", prev.shift_id), &prev.operator, cols, Emphasis::Bold);
        pair(&mut rows, "交班 Closed", &t(&prev.closed_at), cols, Emphasis::Normal);
        if prev.changes.is_empty() {
            pair(&mut rows, "无变化 No changes since", "", cols, Emphasis::Normal);
        } else {
            pair(&mut rows, "此后变化 Changed since", "", cols, Emphasis::Normal);
            for c in &prev.changes {
                let (label, value) = change_words(c);
                pair(&mut rows, &label, &value, cols, Emphasis::Normal);
            }
        }
    }
    rows.push(Row::Rule);
    centred(&mut rows, "签字 Signature ____________", cols, Emphasis::Normal);
    rows
}

/// The day-close slip's lines at `paper` width.
pub fn day_rows(d: &DaySummary, paper: Width) -> Vec<Row> {
    let cols = paper.columns();
    let mut rows = Vec::new();
    centred(&mut rows, or_dash(&d.store_name), cols, Emphasis::Bold);
    centred(&mut rows, "日结小票 DAY CLOSE", cols, Emphasis::Bold);
    rows.push(Row::Rule);
    pair(&mut rows, "门店 Store", &d.store_code, cols, Emphasis::Normal);
    pair(&mut rows, "营业日 Business day", &d.business_day, cols, Emphasis::Normal);
    pair(&mut rows, "日结 Closed", &t(&d.closed_at), cols, Emphasis::Normal);
    pair(&mut rows, "日结人 Closed by", or_dash(&d.closed_by), cols, Emphasis::Normal);
    rows.push(Row::Rule);
    figures_rows(&mut rows, &d.figures, cols);
    rows.push(Row::Rule);
    pair(&mut rows, &format!("班次 Shifts ×{}", d.shifts.len()), "", cols, Emphasis::Bold);
    for s in &d.shifts {
        pair(&mut rows, &format!("  {} {}", s.shift_id, s.operator), &fen(s.net_fen), cols, Emphasis::Normal);
    }
    pair(
        &mut rows,
        &format!("  无操作员 No operator ×{}", d.no_operator.paid_count),
        &fen(d.no_operator.net_fen),
        cols,
        Emphasis::Normal,
    );
    if !d.closed_shifts.is_empty() {
        let ids: Vec<String> = d.closed_shifts.iter().map(i64::to_string).collect();
        pair(&mut rows, "日结时关闭的班次 Closed at day close", &ids.join(", "), cols, Emphasis::Normal);
    }
    open_rows(&mut rows, &d.open_orders, cols);
    rows.push(Row::Rule);
    centred(&mut rows, "签字 Signature ____________", cols, Emphasis::Normal);
    rows
}

/// The handover slip as ESC/POS bytes.
pub fn shift_escpos(s: &ShiftSummary, paper: Width) -> Vec<u8> {
    escpos::encode_rows(shift_rows(s, paper), paper)
}

/// The handover slip as a PDF.
pub fn shift_pdf(s: &ShiftSummary, paper: Width) -> Result<Vec<u8>, ReceiptError> {
    pdf::render_rows(&shift_rows(s, paper), paper, &format!("TillDesk shift {}", s.shift_id))
}

/// The day-close slip as ESC/POS bytes.
pub fn day_escpos(d: &DaySummary, paper: Width) -> Vec<u8> {
    escpos::encode_rows(day_rows(d, paper), paper)
}

/// The day-close slip as a PDF.
pub fn day_pdf(d: &DaySummary, paper: Width) -> Result<Vec<u8>, ReceiptError> {
    pdf::render_rows(&day_rows(d, paper), paper, &format!("TillDesk day close {} {}", d.store_code, d.business_day))
}

/// A slip to print: a shift's or a day's.
#[derive(Debug, Clone)]
pub enum Slip<'a> {
    Shift(&'a ShiftSummary),
    Day(&'a DaySummary),
}

/// Prints a slip on the receipt printer configured in Settings → Receipts, or, with none configured, saves it as a
/// PDF at `pdf_fallback`. Blocking (network, disk): off the UI thread.
pub fn print_slip(db: &Store, slip: Slip<'_>, pdf_fallback: &std::path::Path) -> Result<super::Printed, ReceiptError> {
    let settings = ReceiptSettings::load(db)?;
    let width = settings.width;
    match settings.printer {
        Some(target) => {
            let bytes = match slip {
                Slip::Shift(s) => shift_escpos(s, width),
                Slip::Day(d) => day_escpos(d, width),
            };
            output::send(&target, &bytes, output::DEFAULT_TIMEOUT)?;
            Ok(super::Printed::Printer(target.to_string()))
        }
        None => {
            let bytes = match slip {
                Slip::Shift(s) => shift_pdf(s, width)?,
                Slip::Day(d) => day_pdf(d, width)?,
            };
            if let Some(folder) = pdf_fallback.parent().filter(|f| !f.as_os_str().is_empty()) {
                std::fs::create_dir_all(folder)
                    .map_err(|source| ReceiptError::Write { path: folder.to_owned(), source })?;
            }
            output::write_file(pdf_fallback, &bytes)?;
            Ok(super::Printed::Pdf(pdf_fallback.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::layout::{row_text, width};
    use crate::shifts::{Change, PreviousClose, WalletFigures};

    fn figures() -> Figures {
        let w = |wallet: &str, name: &str, paid: i64, refund: i64| WalletFigures {
            wallet: wallet.into(),
            name: name.into(),
            paid_count: 1,
            paid_fen: paid,
            refund_count: i64::from(refund > 0),
            refund_fen: refund,
            net_fen: paid - refund,
        };
        Figures {
            wallets: vec![
                w("wechatpay", "", 560, 200),
                w("alipay", "", 1234, 0),
                w("alipayplus", "Alipay+ partner acquirer (sandbox)", 999_999, 0),
            ],
            paid_count: 3,
            paid_fen: 1_001_793,
            refund_count: 1,
            refund_fen: 200,
            net_fen: 1_001_593,
        }
    }

    fn shift() -> ShiftSummary {
        ShiftSummary {
            shift_id: 7,
            store_code: "S001".into(),
            store_name: "望京小馆 朝阳大悦城店".into(),
            terminal_id: "T01".into(),
            operator: "王芳".into(),
            opened_at: "2026-12-05T01:00:00.000000Z".into(),
            closed_at: "2026-12-05T09:00:00.000000Z".into(),
            closed: true,
            closed_by: "王芳".into(),
            figures: figures(),
            open_orders: vec![OpenOrder {
                out_trade_no: "TD20261205170000000001".into(),
                status: "UNKNOWN".into(),
                amount_fen: 880,
                created_at: "2026-12-05T08:59:00.000000Z".into(),
            }],
            previous: Some(PreviousClose {
                shift_id: 6,
                operator: "李娜".into(),
                closed_at: "2026-12-05T01:00:00.000000Z".into(),
                changes: vec![Change {
                    wallet: "alipay".into(),
                    name: String::new(),
                    field: crate::shifts::Field::RefundAmount,
                    before: 0,
                    after: 680,
                }],
            }),
        }
    }

    #[test]
    fn every_line_of_the_handover_slip_fits_and_the_times_are_china_time() {
        for paper in [Width::Mm58, Width::Mm80] {
            let lines: Vec<String> =
                shift_rows(&shift(), paper).iter().filter_map(|r| row_text(r, paper.columns())).collect();
            for l in &lines {
                assert!(width(l) <= paper.columns(), "{l:?} is wider than {} columns", paper.columns());
            }
            assert!(lines.iter().any(|l| l.starts_with("开班 Opened") && l.ends_with("2026-12-05 09:00:00")));
            assert!(lines.iter().any(|l| l.starts_with("净额 Net") && l.ends_with("￥10015.93")), "{lines:#?}");
            assert!(lines.iter().any(|l| l.contains("TD20261205170000000001")));
            assert!(lines.iter().any(|l| l.ends_with("￥0.00 → ￥6.80")), "{lines:#?}");
            let bytes = shift_escpos(&shift(), paper);
            assert_eq!(bytes, shift_escpos(&shift(), paper), "the same summary, the same bytes");
            assert!(escpos::find(&bytes, &escpos::gbk("￥10015.93")).is_some());
        }
    }
}
