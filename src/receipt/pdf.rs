//! The receipt as a PDF: one page as wide as the paper (58 or 80 mm) and as long as the receipt, the same lines as
//! the printer prints ([`super::layout::rows`]), drawn through the print module's PDF writer with its fonts (the
//! bundled CJK font), the QR code as vectors.

use super::layout::{Emphasis, Row, Width, rows};
use super::{Receipt, ReceiptError};
use crate::mpm::{ErrorCorrection, qr_matrix};
use crate::print::FontBook;
use crate::print::fonts::Shaped;
use crate::print::layout::{BLACK, Canvas, GREY};

/// Top and bottom margin, millimetres.
const MARGIN_MM: f32 = 4.0;
/// QR module size, millimetres.
const QR_MODULE_MM: f32 = 0.6;
const QUIET_MODULES: usize = 4;

/// Text size for `paper`: a Chinese character as wide as two columns.
fn text_size(paper: Width) -> f32 {
    paper.printable_mm() / paper.columns() as f32 * 2.0 * 0.92
}

fn size_of(paper: Width, emphasis: Emphasis) -> f32 {
    match emphasis {
        Emphasis::Big => text_size(paper) * 1.35,
        _ => text_size(paper),
    }
}

/// Height of a row, millimetres.
fn row_height(row: &Row, paper: Width, qr_side: impl Fn(&str) -> f32) -> f32 {
    match row {
        Row::Line { emphasis, .. } => size_of(paper, *emphasis) * 1.4,
        Row::Rule => text_size(paper) * 0.9,
        Row::Qr(data) => qr_side(data) + 1.0,
    }
}

/// `text` shaped, characters no font on this machine has drawn as `?`.
fn shape(book: &FontBook, text: &str, size: f32) -> Result<Shaped, ReceiptError> {
    match book.shape(text, size) {
        Ok(s) => Ok(s),
        Err(_) => {
            let missing = book.unprintable_chars(text);
            let cleaned: String = text.chars().map(|c| if missing.contains(&c) { '?' } else { c }).collect();
            Ok(book.shape(&cleaned, size)?)
        }
    }
}

/// The receipt as a one-page PDF `paper` wide.
pub fn render(receipt: &Receipt, paper: Width) -> Result<Vec<u8>, ReceiptError> {
    render_rows(&rows(receipt, paper), paper, &format!("TillDesk receipt {}", receipt.out_trade_no))
}

/// Laid-out lines (a receipt's, a handover slip's) as a one-page PDF `paper` wide, titled `title`.
pub fn render_rows(rows: &[Row], paper: Width, title: &str) -> Result<Vec<u8>, ReceiptError> {
    let mut codes = Vec::new();
    for row in rows {
        if let Row::Qr(data) = row {
            codes.push(qr_matrix(data, ErrorCorrection::Medium)?);
        }
    }
    let side = |n: usize| (n + 2 * QUIET_MODULES) as f32 * QR_MODULE_MM;
    let sides: Vec<f32> = codes.iter().map(|c| side(c.width())).collect();
    let qr_side = |_: &str| sides.first().copied().unwrap_or(0.0);
    let height = MARGIN_MM * 2.0 + rows.iter().map(|r| row_height(r, paper, qr_side)).sum::<f32>();
    let (paper_w, printable) = (paper.paper_mm(), paper.printable_mm());
    let left = (paper_w - printable) / 2.0;
    let book = FontBook::global();
    let mut failed: Option<ReceiptError> = None;
    let pdf = crate::print::one_page_pdf(paper_w, height, title, |canvas: &mut dyn Canvas| {
        let mut y = MARGIN_MM;
        let mut codes = codes.iter();
        for row in rows {
            let h = row_height(row, paper, qr_side);
            match row {
                Row::Line { left: text, right, center, emphasis } => {
                    let size = size_of(paper, *emphasis);
                    let baseline = y + size * 1.05;
                    let drawn = (|| -> Result<(), ReceiptError> {
                        if !text.is_empty() {
                            let run = shape(book, text, size)?;
                            let x = if *center { left + (printable - run.width()).max(0.0) / 2.0 } else { left };
                            canvas.text(&run, x, baseline, BLACK);
                        }
                        if !right.is_empty() {
                            let run = shape(book, right, size)?;
                            canvas.text(&run, left + printable - run.width(), baseline, BLACK);
                        }
                        Ok(())
                    })();
                    if let Err(e) = drawn {
                        failed.get_or_insert(e);
                    }
                }
                Row::Rule => canvas.dashed_line((left, y + h / 2.0), (left + printable, y + h / 2.0), 0.2, GREY),
                Row::Qr(_) => {
                    if let Some(code) = codes.next() {
                        let s = side(code.width());
                        let x = left + (printable - s) / 2.0 + QUIET_MODULES as f32 * QR_MODULE_MM;
                        canvas.qr(code, x, y + QUIET_MODULES as f32 * QR_MODULE_MM, QR_MODULE_MM);
                    }
                }
            }
            y += h;
        }
        Ok(())
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(pdf),
    }
}
