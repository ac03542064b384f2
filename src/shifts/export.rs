//! The handover and day-close figures as CSV: one row per wallet plus the totals, UTF-8 with a byte-order mark so
//! that Excel opens the Chinese headings correctly. Amounts in yuan with two decimals ("12.34"), from integer fen.

use super::summary::{Figures, WalletFigures};
use crate::money::Amount;

/// The byte-order mark Excel needs to read UTF-8.
pub const BOM: &str = "\u{feff}";

/// The heading row.
pub const HEADER: &str = "钱包 Wallet,收款笔数 Paid count,收款金额 Paid (CNY),退款笔数 Refund count,\
退款金额 Refunds (CNY),净额 Net (CNY)";

fn cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

fn line(w: &WalletFigures) -> String {
    format!(
        "{},{},{},{},{},{}\r\n",
        cell(&w.bilingual()),
        w.paid_count,
        Amount::from_fen(w.paid_fen),
        w.refund_count,
        Amount::from_fen(w.refund_fen),
        Amount::from_fen(w.net_fen)
    )
}

/// The figures as CSV bytes.
pub fn csv(figures: &Figures) -> Vec<u8> {
    let mut out = String::from(BOM);
    out.push_str(HEADER);
    out.push_str("\r\n");
    for w in &figures.wallets {
        out.push_str(&line(w));
    }
    out.push_str(&line(&figures.total_line()));
    out.into_bytes()
}

/// Writes the CSV to `path` (its folder made when missing).
pub fn write_csv(figures: &Figures, path: &std::path::Path) -> std::io::Result<()> {
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)?;
    }
    std::fs::write(path, csv(figures))
}
