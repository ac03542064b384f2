//! The receipt laid out in character columns, as a thermal printer prints it: Font A is 32 columns on 58 mm paper
//! and 48 on 80 mm; a Chinese character takes two (16 / 24 per line). A character counts as one column when it is
//! ASCII and two otherwise (what a GBK printer does: one byte half width, two bytes full width); a character GBK
//! cannot encode (emoji, rare characters) is printed as `?`.
//!
//! [`rows`] gives each line with its parts (left text, right-aligned text, centred, emphasised) so the ESC/POS and
//! PDF back ends print the same lines; [`text`] is the plain text of them.

use super::{NONE, Receipt};
use crate::money::Amount;

/// Paper width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Width {
    #[default]
    Mm58,
    Mm80,
}

impl Width {
    /// Font A columns (12 × 24 dots: 384 dots on 58 mm paper, 576 on 80 mm).
    pub fn columns(self) -> usize {
        match self {
            Width::Mm58 => 32,
            Width::Mm80 => 48,
        }
    }

    /// Paper width in millimetres.
    pub fn paper_mm(self) -> f32 {
        match self {
            Width::Mm58 => 58.0,
            Width::Mm80 => 80.0,
        }
    }

    /// Printable width in millimetres (48 mm of 58, 72 of 80).
    pub fn printable_mm(self) -> f32 {
        match self {
            Width::Mm58 => 48.0,
            Width::Mm80 => 72.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Width::Mm58 => "58",
            Width::Mm80 => "80",
        }
    }

    pub fn parse(text: &str) -> Result<Width, super::ReceiptError> {
        match text.trim().trim_end_matches("mm").trim() {
            "58" => Ok(Width::Mm58),
            "80" => Ok(Width::Mm80),
            _ => Err(super::ReceiptError::BadWidth { given: text.to_owned() }),
        }
    }
}

/// One printed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// `left` from the left margin (centred when `center`), `right` flush right; together they fit the columns.
    Line { left: String, right: String, center: bool, emphasis: Emphasis },
    /// A dashed rule across the paper.
    Rule,
    /// A QR code of this text, centred.
    Qr(String),
}

/// How a line stands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emphasis {
    Normal,
    Bold,
    /// Bold and double height (the amount): still the same number of columns.
    Big,
}

/// Columns a character takes: 1 for ASCII, 2 for anything else.
pub fn char_width(c: char) -> usize {
    if c.is_ascii() { 1 } else { 2 }
}

/// Columns `text` takes.
pub fn width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// `text` as a GBK printer can print it: control characters dropped, characters GBK lacks replaced by `?`.
pub fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if c.is_ascii() {
                return c;
            }
            let mut buf = [0u8; 4];
            let (_, _, unmappable) = encoding_rs::GBK.encode(c.encode_utf8(&mut buf));
            if unmappable { '?' } else { c }
        })
        .collect()
}

/// `text` cut into pieces of at most `cols` columns (a wide character never split), breaking after a space when a
/// Latin word would otherwise be cut.
pub fn wrap(text: &str, cols: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for c in text.chars() {
        if width(&line) + char_width(c) > cols {
            // Move a partial Latin word to the next line when the line has a space to break at.
            let carry = match line.rfind(' ') {
                Some(i) if c.is_ascii_alphanumeric() && i > 0 && line[i + 1..].is_ascii() => {
                    let rest = line[i + 1..].to_owned();
                    line.truncate(i);
                    rest
                }
                _ => String::new(),
            };
            lines.push(line.trim_end().to_owned());
            line = carry;
        }
        if !(line.is_empty() && c == ' ') {
            line.push(c);
        }
    }
    if !line.trim().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// The money on a receipt: `￥12.34` (the full-width sign, which GBK has).
pub fn money(amount: Amount) -> String {
    format!("￥{amount}")
}

pub fn centred(rows: &mut Vec<Row>, text: &str, cols: usize, emphasis: Emphasis) {
    for piece in wrap(&printable(text), cols) {
        rows.push(Row::Line { left: piece, right: String::new(), center: true, emphasis });
    }
}

/// A label and its value flush right on one line when they fit, else the label and then the value (wrapped) flush
/// right below it.
pub fn pair(rows: &mut Vec<Row>, label: &str, value: &str, cols: usize, emphasis: Emphasis) {
    let (label, value) = (printable(label), printable(value));
    if width(&label) + 1 + width(&value) <= cols {
        rows.push(Row::Line { left: label, right: value, center: false, emphasis });
        return;
    }
    for piece in wrap(&label, cols) {
        rows.push(Row::Line { left: piece, right: String::new(), center: false, emphasis: Emphasis::Normal });
    }
    for piece in wrap(&value, cols) {
        rows.push(Row::Line { left: String::new(), right: piece, center: false, emphasis });
    }
}

/// The receipt's lines at `paper` width.
pub fn rows(r: &Receipt, paper: Width) -> Vec<Row> {
    let cols = paper.columns();
    let mut rows = Vec::new();
    centred(&mut rows, &r.merchant, cols, Emphasis::Bold);
    if r.store != r.merchant {
        centred(&mut rows, &r.store, cols, Emphasis::Normal);
    }
    let title = if r.refund.is_some() { "退款小票 REFUND RECEIPT" } else { "购物小票 SALE RECEIPT" };
    centred(&mut rows, title, cols, Emphasis::Bold);
    if r.reprint {
        centred(&mut rows, "重打 REPRINT", cols, Emphasis::Bold);
    }
    rows.push(Row::Rule);
    pair(&mut rows, "收银台 Till", &r.till, cols, Emphasis::Normal);
    pair(&mut rows, "收银员 Cashier", &r.cashier, cols, Emphasis::Normal);
    pair(&mut rows, "支付 Wallet", &r.wallet, cols, Emphasis::Normal);
    pair(&mut rows, "时间 Paid at", &r.paid_at, cols, Emphasis::Normal);
    rows.push(Row::Rule);
    match &r.refund {
        None => {
            pair(&mut rows, "金额 Amount", &money(r.total), cols, Emphasis::Big);
            if !r.refunded.is_zero() {
                pair(&mut rows, "已退 Refunded", &money(r.refunded), cols, Emphasis::Normal);
            }
        }
        Some(refund) => {
            pair(&mut rows, "订单金额 Total", &money(r.total), cols, Emphasis::Normal);
            pair(&mut rows, "退款 Refund", &money(refund.amount), cols, Emphasis::Big);
            pair(&mut rows, "累计已退 Refunded", &money(r.refunded), cols, Emphasis::Normal);
            pair(&mut rows, "退款状态 Status", &refund.status, cols, Emphasis::Normal);
            pair(&mut rows, "退款时间 Refund at", &refund.at, cols, Emphasis::Normal);
            pair(&mut rows, "退款单号 Refund no", &refund.out_request_no, cols, Emphasis::Normal);
        }
    }
    rows.push(Row::Rule);
    pair(&mut rows, "订单号 Order no", &r.out_trade_no, cols, Emphasis::Normal);
    pair(&mut rows, "交易号 Txn no", &r.trade_no, cols, Emphasis::Normal);
    pair(&mut rows, "打印 Printed", &r.printed_at, cols, Emphasis::Normal);
    if !r.out_trade_no.is_empty() && r.out_trade_no != NONE {
        rows.push(Row::Qr(r.out_trade_no.clone()));
    }
    centred(&mut rows, "谢谢惠顾 Thank you", cols, Emphasis::Normal);
    rows
}

/// A row as the text the printer prints (no trailing spaces); a QR code has no text line.
pub fn row_text(row: &Row, cols: usize) -> Option<String> {
    match row {
        Row::Line { left, right, center: true, .. } => {
            let pad = cols.saturating_sub(width(left)) / 2;
            Some(format!("{}{left}{right}", " ".repeat(pad)))
        }
        Row::Line { left, right, .. } => {
            let gap = cols.saturating_sub(width(left) + width(right));
            Some(format!("{left}{}{right}", " ".repeat(gap)).trim_end().to_owned())
        }
        Row::Rule => Some("-".repeat(cols)),
        Row::Qr(_) => None,
    }
}

/// The receipt as plain text lines (what the printer prints, QR code aside).
pub fn text(r: &Receipt, paper: Width) -> Vec<String> {
    rows(r, paper).iter().filter_map(|row| row_text(row, paper.columns())).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::receipt::RefundPart;

    pub(crate) fn sample() -> Receipt {
        Receipt {
            merchant: "望京小馆餐饮管理有限公司".into(),
            store: "望京小馆 朝阳大悦城店 Wangjing Bistro Joy City".into(),
            till: "T01".into(),
            cashier: "张三".into(),
            wallet: "支付宝 Alipay".into(),
            total: Amount::from_fen(1234),
            refunded: Amount::ZERO,
            paid_at: "2026-12-05 14:03:11".into(),
            out_trade_no: "TD20261205140311000123".into(),
            trade_no: "2026120522001412341234567890".into(),
            refund: None,
            reprint: false,
            printed_at: "2026-12-05 14:03:12".into(),
        }
    }

    #[test]
    fn cjk_counts_double_and_every_line_fits() {
        assert_eq!(width("望京a"), 5);
        for paper in [Width::Mm58, Width::Mm80] {
            let lines = text(&sample(), paper);
            for l in &lines {
                assert!(width(l) <= paper.columns(), "{l:?} is wider than {} columns", paper.columns());
            }
            assert!(lines.iter().any(|l| l.contains("张三")));
        }
    }

    #[test]
    fn long_store_names_wrap_without_losing_text() {
        let r = sample();
        let lines = text(&r, Width::Mm58);
        // 16 Chinese characters to a 58 mm line: the 12-character merchant fits, the store name takes two lines.
        let store_lines: Vec<&String> =
            lines.iter().filter(|l| l.contains("望京小馆 ") || l.contains("Joy") || l.contains("Bistro")).collect();
        assert!(store_lines.len() >= 2, "{lines:#?}");
        let joined: String = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
        for word in ["朝阳大悦城店", "Wangjing", "Bistro", "Joy", "City"] {
            assert!(joined.contains(word), "{word} lost: {lines:#?}");
        }
        // On 80 mm it fits on one line.
        assert!(text(&r, Width::Mm80).iter().any(|l| l.contains("望京小馆 朝阳大悦城店 Wangjing Bistro Joy City")));
    }

    #[test]
    fn amounts_are_flush_right() {
        for paper in [Width::Mm58, Width::Mm80] {
            let lines = text(&sample(), paper);
            let amount = lines.iter().find(|l| l.starts_with("金额 Amount")).expect("amount line");
            assert!(amount.ends_with("￥12.34"));
            assert_eq!(width(amount), paper.columns(), "{amount:?}");
            let till = lines.iter().find(|l| l.starts_with("收银台")).expect("till line");
            assert_eq!(width(till), paper.columns());
        }
        // A long value goes below its label, flush right.
        let lines = text(&sample(), Width::Mm58);
        let i = lines.iter().position(|l| l.starts_with("交易号")).expect("trade_no label");
        assert!(lines[i + 1].ends_with("2026120522001412341234567890"));
        assert_eq!(width(&lines[i + 1]), 32);
    }

    #[test]
    fn refund_and_reprint_variants() {
        let mut r = sample();
        assert!(!text(&r, Width::Mm80).iter().any(|l| l.contains("REPRINT")));
        r.reprint = true;
        r.refunded = Amount::from_fen(500);
        r.refund = Some(RefundPart {
            out_request_no: "RF20261205150000000001".into(),
            amount: Amount::from_fen(500),
            at: "2026-12-05 15:00:00".into(),
            status: "退款成功".into(),
        });
        for paper in [Width::Mm58, Width::Mm80] {
            let lines = text(&r, paper);
            assert!(lines.iter().any(|l| l.trim() == "重打 REPRINT"), "{lines:#?}");
            assert!(lines.iter().any(|l| l.trim() == "退款小票 REFUND RECEIPT"));
            let refund = lines.iter().find(|l| l.starts_with("退款 Refund")).expect("refund amount");
            assert!(refund.ends_with("￥5.00") && width(refund) == paper.columns());
            assert!(lines.iter().any(|l| l.ends_with("RF20261205150000000001")));
            assert!(!lines.iter().any(|l| l.starts_with("金额 Amount")));
        }
    }

    #[test]
    fn unprintable_characters_become_question_marks() {
        assert_eq!(printable("好😀店\u{7}"), "好?店");
        assert_eq!(wrap("", 10), vec![String::new()]);
        assert_eq!(wrap("abc def", 5), vec!["abc".to_owned(), "def".to_owned()]);
    }
}
