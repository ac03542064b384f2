//! The generated day of the reconciliation benchmarks (`recon`, `serve_recon_pg`): a WeChat Pay ALL bill of N rows
//! and the N local orders it lists (every 10,000th row has none, every 5,000th order another amount, and N/1000 paid
//! orders the bill lacks).

use std::io::Write as _;
use std::path::Path;

use tilldesk::model::AcquirerKind;
use tilldesk::store::Store;
use tilldesk::store::recon::SeedOrder;

pub const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";

pub fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Row i of the day: a payment between 1.00 and 500.99 at a time spread over 2026-11-24 (China time).
pub fn row(i: u64) -> (String, String, i64, String) {
    let secs = 60 + (i * 86_000 / 1_000_000) % 86_000;
    let time = format!("2026-11-24 {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    let fen = 100 + (i as i64 * 7919) % 50_000;
    (format!("T{i:010}"), format!("42000020261124{i:014}"), fen, time)
}

/// Writes the bill (backticked text) and the same rows as CSV for sqlite3; returns nothing, streams to disk.
pub fn write_bill(n: u64, bill: &Path, csv: &Path) {
    let mut b = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(bill).unwrap());
    let mut c = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(csv).unwrap());
    write!(b, "{HEADER}\r\n").unwrap();
    writeln!(c, "{HEADER}").unwrap();
    let (mut total, mut fee) = (0i64, 0i64);
    for i in 0..n {
        let (out_trade_no, trade_no, fen, time) = row(i);
        let milli = fen * 6;
        total += fen;
        fee += milli;
        let fields = [
            time.as_str(),
            "wx2421b1c4370ec43b",
            "10000100",
            "0",
            "POS-01",
            &trade_no,
            &out_trade_no,
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "MICROPAY",
            "SUCCESS",
            "CMB_DEBIT",
            "CNY",
            &yuan(fen),
            "0.00",
            "0",
            "0",
            "0.00",
            "0.00",
            "",
            "",
            "拿铁咖啡（大杯）",
            "",
            &format!("{}.{:05}", milli / 100_000, milli % 100_000),
            "0.60%",
            &yuan(fen),
            "0.00",
            "",
        ];
        let mut first = true;
        for f in fields {
            if !first {
                b.write_all(b",").unwrap();
                c.write_all(b",").unwrap();
            }
            first = false;
            b.write_all(b"`").unwrap();
            b.write_all(f.as_bytes()).unwrap();
            c.write_all(f.as_bytes()).unwrap();
        }
        b.write_all(b"\r\n").unwrap();
        c.write_all(b"\n").unwrap();
    }
    write!(
        b,
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`{n},`{},`0.00,`0.00,`{}.{:05},`{},`0.00\r\n",
        yuan(total),
        fee / 100_000,
        fee % 100_000,
        yuan(total)
    )
    .unwrap();
    b.flush().unwrap();
    c.flush().unwrap();
}

/// A database with the N local orders: every 10,000th row of the bill has no local order (store-code payments),
/// every 5,000th local order has another amount, and 0.1% more paid orders are missing from the bill.
pub fn write_orders(n: u64, db: &Path) {
    let mut store = Store::open(db).unwrap();
    let acquirer_id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let utc = |china: &str| {
        let (d, t) = china.split_once(' ').unwrap();
        let h: i64 = t[..2].parse().unwrap();
        // China is UTC+8; the generated times are all after 08:00 or wrap to the previous UTC day.
        let (day, hour) = if h >= 8 { (d.to_owned(), h - 8) } else { ("2026-11-23".to_owned(), h + 16) };
        format!("{day}T{hour:02}{}Z", &t[2..])
    };
    let orders = (0..n).filter(|i| i % 10_000 != 7).map(|i| {
        let (out_trade_no, trade_no, fen, time) = row(i);
        let at = utc(&time);
        SeedOrder {
            out_trade_no,
            trade_no: Some(trade_no),
            acquirer_id,
            subject: "拿铁咖啡（大杯）".into(),
            total_amount: if i % 5_000 == 3 { fen + 1 } else { fen },
            refunded_amount: 0,
            status: "PAID".into(),
            created_at: at.clone(),
            paid_at: Some(at),
        }
    });
    store.recon_mut().seed_orders(orders).unwrap();
    let extra = (0..n / 1000).map(|i| SeedOrder {
        out_trade_no: format!("LOCAL{i:08}"),
        trade_no: None,
        acquirer_id,
        subject: "现金券".into(),
        total_amount: 500,
        refunded_amount: 0,
        status: "PAID".into(),
        created_at: "2026-11-24T04:00:00Z".into(),
        paid_at: Some("2026-11-24T04:00:01Z".into()),
    });
    store.recon_mut().seed_orders(extra).unwrap();
    drop(store);
    // One file, no WAL beside it, so a plain copy is a complete database.
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;").unwrap();
}
