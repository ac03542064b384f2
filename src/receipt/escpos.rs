//! ESC/POS bytes of a receipt: `ESC @`, Chinese mode (`FS &`, text in GBK), bold and double height for the amount,
//! a `GS ( k` QR code (model 2) of the order number, a feed and a partial cut. An own small encoder rather than a
//! crate, so the bytes are exactly what the tests check (the `escpos` crate's QR defaults to model 1 and it has no
//! `FS &`).

use super::Receipt;
use super::layout::{Emphasis, Row, Width, row_text, rows};

pub const ESC: u8 = 0x1B;
pub const GS: u8 = 0x1D;
pub const FS: u8 = 0x1C;

/// `ESC @`: reset the printer.
pub const INIT: [u8; 2] = [ESC, b'@'];
/// `FS &`: Chinese (double-byte) mode; sent after every `ESC @`.
pub const CHINESE_ON: [u8; 2] = [FS, b'&'];
/// `FS .`: Chinese mode off.
pub const CHINESE_OFF: [u8; 2] = [FS, b'.'];
/// `GS V 1`: partial cut.
pub const CUT: [u8; 3] = [GS, b'V', 0x01];

/// `text` in GBK (characters GBK lacks as `?`).
pub fn gbk(text: &str) -> Vec<u8> {
    let text = super::layout::printable(text);
    let (bytes, _, _) = encoding_rs::GBK.encode(&text);
    bytes.into_owned()
}

/// `GS ( k` function `fn_code` with `data`: `pL pH` count the bytes after them (cn, fn and the data).
fn gs_k(out: &mut Vec<u8>, fn_code: u8, data: &[u8]) {
    let len = data.len() + 2;
    out.extend_from_slice(&[GS, b'(', b'k', (len & 0xFF) as u8, ((len >> 8) & 0xFF) as u8, 0x31, fn_code]);
    out.extend_from_slice(data);
}

/// The bytes that print `data` as a QR code, model 2, error correction M, `module` dots per module.
pub fn qr(data: &str, module: u8) -> Vec<u8> {
    let mut out = Vec::new();
    gs_k(&mut out, 0x41, &[0x32, 0x00]); // model 2
    gs_k(&mut out, 0x43, &[module.clamp(1, 16)]); // module size
    gs_k(&mut out, 0x45, &[0x31]); // error correction M
    let mut store = vec![0x30];
    store.extend_from_slice(data.as_bytes());
    gs_k(&mut out, 0x50, &store); // store the data
    gs_k(&mut out, 0x51, &[0x30]); // print it
    out
}

/// The whole receipt as ESC/POS bytes for `paper`.
pub fn encode(receipt: &Receipt, paper: Width) -> Vec<u8> {
    encode_rows(rows(receipt, paper), paper)
}

/// Laid-out lines (a receipt's, a handover slip's) as ESC/POS bytes for `paper`.
pub fn encode_rows(rows: Vec<Row>, paper: Width) -> Vec<u8> {
    let cols = paper.columns();
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(&INIT);
    out.extend_from_slice(&CHINESE_ON);
    out.extend_from_slice(&[ESC, b'a', 0x00]); // left aligned: lines are padded by the layout
    for row in rows {
        if let Row::Qr(data) = &row {
            out.extend_from_slice(&[ESC, b'a', 0x01]);
            out.extend_from_slice(&qr(data, if paper == Width::Mm58 { 5 } else { 6 }));
            out.extend_from_slice(&[ESC, b'a', 0x00]);
            out.push(b'\n');
            continue;
        }
        let Some(text) = row_text(&row, cols) else { continue };
        let emphasis = match &row {
            Row::Line { emphasis, .. } => *emphasis,
            _ => Emphasis::Normal,
        };
        match emphasis {
            Emphasis::Normal => {}
            Emphasis::Bold => out.extend_from_slice(&[ESC, b'E', 0x01]),
            Emphasis::Big => out.extend_from_slice(&[ESC, b'E', 0x01, GS, b'!', 0x01]),
        }
        out.extend_from_slice(&gbk(&text));
        out.push(b'\n');
        match emphasis {
            Emphasis::Normal => {}
            Emphasis::Bold => out.extend_from_slice(&[ESC, b'E', 0x00]),
            Emphasis::Big => out.extend_from_slice(&[GS, b'!', 0x00, ESC, b'E', 0x00]),
        }
    }
    out.extend_from_slice(&CHINESE_OFF);
    out.extend_from_slice(&[ESC, b'd', 4]); // feed past the cutter
    out.extend_from_slice(&CUT);
    out
}

/// Where `needle` starts in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::layout::tests::sample;

    #[test]
    fn gbk_matches_the_published_vectors() {
        assert_eq!(
            gbk("示例文本打印机!"),
            [0xCA, 0xBE, 0xC0, 0xFD, 0xCE, 0xC4, 0xB1, 0xBE, 0xB4, 0xF2, 0xD3, 0xA1, 0xBB, 0xFA, 0x21]
        );
        assert_eq!(
            gbk("支付宝到账12.34元"),
            [0xD6, 0xA7, 0xB8, 0xB6, 0xB1, 0xA6, 0xB5, 0xBD, 0xD5, 0xCB, 0x31, 0x32, 0x2E, 0x33, 0x34, 0xD4, 0xAA]
        );
    }

    #[test]
    fn receipt_bytes() {
        for paper in [Width::Mm58, Width::Mm80] {
            let r = sample();
            let bytes = encode(&r, paper);
            assert!(bytes.starts_with(&[0x1B, 0x40, 0x1C, 0x26]), "ESC @ then FS &");
            assert!(bytes.ends_with(&[0x1D, 0x56, 0x01]), "ends with a cut");
            assert!(find(&bytes, &gbk("望京小馆餐饮管理有限公司")).is_some(), "merchant in GBK");
            assert!(find(&bytes, &gbk("朝阳大悦城店")).is_some(), "store in GBK");
            // The QR: model 2, then the data with pL pH = len + 3.
            assert!(find(&bytes, &[0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00]).is_some());
            let mut store = vec![0x1D, 0x28, 0x6B, (r.out_trade_no.len() + 3) as u8, 0x00, 0x31, 0x50, 0x30];
            store.extend_from_slice(r.out_trade_no.as_bytes());
            assert!(find(&bytes, &store).is_some(), "QR data with its length");
            assert!(find(&bytes, &[0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]).is_some(), "QR printed");
            // The amount bold and double height.
            let mut amount = vec![0x1B, 0x45, 0x01, 0x1D, 0x21, 0x01];
            amount.extend_from_slice(&gbk("金额 Amount"));
            assert!(find(&bytes, &amount).is_some());
            assert!(find(&bytes, &gbk("￥12.34")).is_some());
        }
    }

    #[test]
    fn long_qr_data_counts_in_two_bytes() {
        let data = "x".repeat(300);
        let bytes = qr(&data, 6);
        assert!(find(&bytes, &[0x1D, 0x28, 0x6B, (303 & 0xFF) as u8, 1, 0x31, 0x50, 0x30]).is_some());
    }
}
