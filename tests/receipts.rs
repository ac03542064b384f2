//! Receipts end to end: a sandbox payment and refund become receipts whose PDF (both widths) reads back with
//! pdftotext and whose QR code decodes to the order number; the ESC/POS bytes reach a fake network printer exactly;
//! the after-sale hook follows the settings; the CLI prints to --escpos-out and --pdf.

use std::io::Read as _;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tilldesk::checkout::{Checkout, CheckoutSettings, Outcome, PaymentInput, SystemClock};
use tilldesk::model::{Operator, Role};
use tilldesk::money::Amount;
use tilldesk::receipt::{self, AfterSale, Mode, Receipt, ReceiptSettings, Target, Width, escpos, layout, output, pdf};
use tilldesk::refund::{RefundDesk, RefundSettings};
use tilldesk::sandbox::{self, RunningSandbox};
use tilldesk::store::Store;

mod cli_common;
mod scan_common;
use cli_common::{fails, ok};
use scan_common::{decode_all, rasterise, tool};

struct Rig {
    dir: tempfile::TempDir,
    _sandbox: RunningSandbox,
    engine: Checkout,
    desk: RefundDesk,
    db: std::path::PathBuf,
    clerk: Operator,
    cashier: Operator,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let db = dir.path().join("tilldesk.sqlite3");
    let mut store = Store::open(&db).unwrap();
    let clerk = store.staff_mut().add_operator("会计 Li", Role::BackOffice, "135790", None).unwrap();
    let cashier = store.staff_mut().add_operator("收银 Wang", Role::Cashier, "2468", None).unwrap();
    drop(store);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let accounts = sandbox.state.accounts();
    let engine = sandbox::till::checkout(
        &db,
        &accounts,
        &sandbox.base_url(),
        Some(http),
        Arc::new(SystemClock),
        CheckoutSettings::default(),
    )
    .unwrap();
    let settings = RefundSettings {
        attempts: 3,
        retry_interval: Duration::from_millis(50),
        follow_window: Duration::from_secs(5),
        follow_interval: Duration::from_millis(100),
    };
    let desk = RefundDesk::new(Store::open(&db).unwrap(), engine.router(), Arc::new(SystemClock), settings);
    Rig { dir, _sandbox: sandbox, engine, desk, db, clerk, cashier }
}

impl Rig {
    async fn paid(&self, code: &str, fen: i64) -> String {
        let input = PaymentInput {
            amount: Amount::from_fen(fen),
            auth_code: code.into(),
            subject: "小票测试".into(),
            store_id: tilldesk::model::StoreId(1),
            operator_id: Some(self.cashier.id),
            terminal_id: Some("T-01".into()),
        };
        let (order, outcome) = self.engine.pay(input, Arc::new(AtomicBool::new(false)), &|_| {}).await.unwrap();
        assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
        order.out_trade_no
    }
}

fn pdf_text(pdf: &Path) -> String {
    let out = tool("pdftotext").arg("-layout").arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// A fake network printer: accepts one connection and hands back everything it received.
fn fake_printer() -> (Target, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        got
    });
    (Target::Tcp { host: "127.0.0.1".into(), port }, handle)
}

fn store_name(db: &Store) -> String {
    let s = db.setup().store(tilldesk::model::StoreId(1)).unwrap().unwrap();
    if s.name_zh.trim().is_empty() { s.name } else { s.name_zh }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sale_and_refund_receipts_read_back_from_pdf_and_printer() {
    let r = rig().await;
    let out = r.paid("2800000000000000", 1234).await;
    let refund = r.desk.refund(&r.clerk, &out, Amount::from_fen(500), "退一杯").await.unwrap();
    let db = Store::open(&r.db).unwrap();

    let sale = Receipt::from_store(&db, &out, None, false, "2026-12-05T06:03:12Z").unwrap();
    assert_eq!(sale.out_trade_no, out);
    assert_eq!(sale.total, Amount::from_fen(1234));
    assert_eq!(sale.refunded, Amount::from_fen(500));
    assert_eq!(sale.cashier, "收银 Wang");
    assert_eq!(sale.till, "T-01");
    assert!(sale.wallet.contains("支付宝"), "{}", sale.wallet);
    assert_ne!(sale.trade_no, receipt::NONE, "the acquirer's number is on the receipt");
    assert_eq!(sale.printed_at, "2026-12-05 14:03:12", "printed time in China time");
    assert!(sale.refund.is_none() && !sale.reprint);

    let back = Receipt::from_store(&db, &out, Some(&refund.out_request_no), true, "2026-12-05T07:00:00Z").unwrap();
    let part = back.refund.clone().unwrap();
    assert_eq!(part.amount, Amount::from_fen(500));
    assert_eq!(back.cashier, "会计 Li", "a refund receipt names who refunded");
    assert!(back.reprint);

    let name = store_name(&db);
    for paper in [Width::Mm58, Width::Mm80] {
        // PDF: the text reads back, the QR code decodes to the order number.
        let path = r.dir.path().join(format!("sale-{}.pdf", paper.as_str()));
        std::fs::write(&path, pdf::render(&sale, paper).unwrap()).unwrap();
        let text = pdf_text(&path);
        for needle in ["购物小票", "SALE RECEIPT", "￥12.34", "收银 Wang", &out, &sale.trade_no] {
            assert!(text.contains(needle), "{needle} missing at {} mm:\n{text}", paper.as_str());
        }
        let first_word = name.split_whitespace().next().unwrap();
        assert!(text.contains(first_word), "store name {name:?} missing:\n{text}");
        let pages = rasterise(&path, 300);
        assert_eq!(pages.len(), 1);
        assert_eq!(decode_all(&pages[0]), vec![out.clone()]);

        let path = r.dir.path().join(format!("refund-{}.pdf", paper.as_str()));
        std::fs::write(&path, pdf::render(&back, paper).unwrap()).unwrap();
        let text = pdf_text(&path);
        for needle in ["退款小票", "重打", "REPRINT", "￥5.00", part.out_request_no.as_str()] {
            assert!(text.contains(needle), "{needle} missing at {} mm:\n{text}", paper.as_str());
        }

        // ESC/POS to a fake network printer: exactly the bytes, with the store name in GBK.
        let bytes = escpos::encode(&back, paper);
        assert!(escpos::find(&bytes, &escpos::gbk(&layout::printable(first_word))).is_some());
        let (target, printer) = fake_printer();
        output::send(&target, &bytes, Duration::from_secs(5)).unwrap();
        assert_eq!(printer.join().unwrap(), bytes);
    }

    // Unknown order and refund: named.
    let e = Receipt::from_store(&db, "NOPE-1", None, false, "2026-12-05T07:00:00Z").unwrap_err();
    assert!(e.to_string().contains("NOPE-1"), "{e}");
    let e = Receipt::from_store(&db, &out, Some("RF-NOPE"), false, "2026-12-05T07:00:00Z").unwrap_err();
    assert!(e.to_string().contains("RF-NOPE"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sale_follows_the_settings() {
    let r = rig().await;
    let out = r.paid("130000000000000000", 880).await;
    let mut db = Store::open(&r.db).unwrap();

    // Default: never; "always" without a printer is still never.
    assert_eq!(ReceiptSettings::load(&db).unwrap().effective_mode(), Mode::Never);
    ReceiptSettings { mode: Mode::Always, printer: None, width: Width::Mm80 }.save(&mut db, None).unwrap();
    assert_eq!(receipt::after_sale(&db, &out, None).unwrap(), AfterSale::Skipped);

    let (target, printer) = fake_printer();
    let settings = ReceiptSettings { mode: Mode::Always, printer: Some(target.clone()), width: Width::Mm80 };
    settings.save(&mut db, None).unwrap();
    assert_eq!(ReceiptSettings::load(&db).unwrap(), settings);
    let db2 = Store::open(&r.db).unwrap();
    let done = tokio::task::spawn_blocking(move || receipt::after_sale(&db2, &out, None)).await.unwrap().unwrap();
    assert_eq!(done, AfterSale::Printed(target.to_string()));
    let got = printer.join().unwrap();
    assert!(got.starts_with(&escpos::INIT) && got.ends_with(&escpos::CUT));
    assert!(escpos::find(&got, &escpos::gbk("微信支付")).is_some(), "the wallet on the receipt");
    assert!(escpos::find(&got, &escpos::gbk("重打")).is_none(), "an after-sale receipt is no reprint");

    ReceiptSettings { mode: Mode::Ask, ..settings }.save(&mut db, None).unwrap();
    let out2 = r.paid("130000000000000001", 100).await;
    assert_eq!(receipt::after_sale(&db, &out2, None).unwrap(), AfterSale::Ask);
}

fn tilldesk(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"))
        .env_remove("TILLDESK_DATA_DIR")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_prints_a_sandbox_payment_to_escpos_and_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let paid = ok(tilldesk(&data, &["pay", "--amount", "12.34", "--auth-code", "2800000000000000", "--json"]));
    let order: serde_json::Value = serde_json::from_str(&paid).unwrap();
    let out = order["out_trade_no"].as_str().unwrap().to_owned();

    for width in ["58", "80"] {
        let bin = dir.path().join(format!("r{width}.bin"));
        let pdf_path = dir.path().join(format!("r{width}.pdf"));
        let args = ["receipts", "print", &out, "--width", width, "--escpos-out"];
        let mut cmd: Vec<&str> = args.to_vec();
        let (bin_s, pdf_s) = (bin.to_str().unwrap(), pdf_path.to_str().unwrap());
        cmd.extend([bin_s, "--pdf", pdf_s]);
        ok(tilldesk(&data, &cmd));
        let bytes = std::fs::read(&bin).unwrap();
        assert!(bytes.starts_with(&escpos::INIT) && bytes.ends_with(&escpos::CUT));
        let mut qr = vec![0x1D, 0x28, 0x6B, (out.len() + 3) as u8, 0x00, 0x31, 0x50, 0x30];
        qr.extend_from_slice(out.as_bytes());
        assert!(escpos::find(&bytes, &qr).is_some(), "the QR carries the order number");
        assert!(escpos::find(&bytes, &escpos::gbk("重打 REPRINT")).is_some());
        assert!(escpos::find(&bytes, &escpos::gbk("￥12.34")).is_some());
        let text = pdf_text(&pdf_path);
        assert!(text.contains(&out) && text.contains("￥12.34"), "{text}");
        let line = text.lines().find(|l| l.contains("金额")).unwrap();
        assert!(line.contains("￥12.34"), "the amount on the label's line: {line}");
    }

    // Clear errors: an unknown order, an unreachable printer, a bad width.
    let err = fails(tilldesk(&data, &["receipts", "print", "NOPE-42", "--escpos-out", "/dev/null"]));
    assert!(err.contains("NOPE-42"), "{err}");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("tcp://127.0.0.1:{port}");
    let err = fails(tilldesk(&data, &["receipts", "print", &out, "--printer", &addr]));
    assert!(err.contains(&addr), "{err}");
    let err = fails(tilldesk(&data, &["receipts", "print", &out, "--width", "76", "--escpos-out", "/dev/null"]));
    assert!(err.contains("58 or 80"), "{err}");
    // No destination and no printer configured: says how to set one.
    let err = fails(tilldesk(&data, &["receipts", "print", &out]));
    assert!(err.contains("receipts settings"), "{err}");

    // Settings: never until a printer is set.
    let shown = ok(tilldesk(&data, &["receipts", "settings", "--mode", "always"]));
    assert!(shown.contains("mode: always") && shown.contains("printer: none") && shown.contains("stay off"), "{shown}");
    let shown = ok(tilldesk(&data, &["receipts", "settings", "--printer", "tcp://10.0.0.9", "--width", "80"]));
    assert!(shown.contains("printer: tcp://10.0.0.9:9100") && shown.contains("80 mm") && !shown.contains("stay off"));
    let err = fails(tilldesk(&data, &["receipts", "settings", "--mode", "sometimes"]));
    assert!(err.contains("always, ask or never"), "{err}");
}
