//! Issue 17, item 7: a long write on another connection (a bill import of many rows, as a reconciliation re-run
//! writes) never refuses a payment: the write-ahead row of every payment is written and every payment ends PAID.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tilldesk::checkout::{CheckoutSettings, Outcome, PaymentInput, SystemClock};
use tilldesk::model::{AcquirerKind, OrderStatus, StoreId};
use tilldesk::money::Amount;
use tilldesk::sandbox;
use tilldesk::store::recon::{BillRowKind, FinishedBill, ImportResult, NewBill, NewBillRow};
use tilldesk::store::{Store, StoreError};

/// Sets the flag when dropped, so the importer stops whether the payments finish or the test fails.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_payments_go_through_while_a_long_import_holds_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let db = dir.path().join("tilldesk.sqlite3");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let engine = sandbox::till::checkout(
        &db,
        &sandbox.state.accounts(),
        &sandbox.base_url(),
        Some(http),
        Arc::new(SystemClock),
        CheckoutSettings::default(),
    )
    .unwrap();

    // The importer streams rows for as long as the payments take (no fixed size: it stops when they are done),
    // on its own connection and thread, as the reconciliation screen's import does.
    let done = Arc::new(AtomicBool::new(false));
    let imported_rows = Arc::new(AtomicU64::new(0));
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let importer = {
        let (db, done, imported_rows) = (db.clone(), done.clone(), imported_rows.clone());
        std::thread::spawn(move || -> Result<ImportResult, StoreError> {
            let mut store = Store::open(&db)?;
            let acquirer_id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay)?;
            let new = NewBill { acquirer_id, source_name: "long-day.txt", format: "wechat_text" };
            store.recon_mut().import_bill(&new, |sink| {
                let mut i = 0u64;
                while !done.load(Ordering::SeqCst) {
                    let out_trade_no = format!("T{i:010}");
                    let trade_no = format!("4200002026112400{i:012}");
                    sink.push(&NewBillRow {
                        line_no: i as i64 + 2,
                        trade_no: &trade_no,
                        out_trade_no: &out_trade_no,
                        kind: Some(BillRowKind::Payment),
                        status: "SUCCESS",
                        amount: 100 + (i as i64 % 5000),
                        occurred_at: "2026-11-24T01:00:00Z",
                        subject: "拿铁",
                        ..Default::default()
                    })?;
                    i += 1;
                    imported_rows.store(i, Ordering::SeqCst);
                    if i == 100 {
                        // The import is under way and holds the write lock of its first batch.
                        let _ = started_tx.send(());
                    }
                }
                Ok::<_, StoreError>(FinishedBill {
                    bill_date: "2026-11-24".into(),
                    totals_json: "{}".into(),
                    ..Default::default()
                })
            })
        })
    };
    let stop_importer = SetOnDrop(done.clone());
    tokio::task::spawn_blocking(move || started_rx.recv()).await.unwrap().expect("the import started");

    let mut out_trade_nos = Vec::new();
    for i in 0..20 {
        let input = PaymentInput {
            amount: Amount::from_fen(1000 + i),
            auth_code: "2800000000000000".into(),
            subject: "咖啡".into(),
            store_id: StoreId(1),
            operator_id: None,
            terminal_id: None,
        };
        let (order, outcome) = engine
            .pay(input, Arc::new(AtomicBool::new(false)), &|_| {})
            .await
            .unwrap_or_else(|e| panic!("payment {i} was refused while the import ran: {e}"));
        assert!(matches!(outcome, Outcome::Paid { .. }), "payment {i}: {outcome:?}");
        out_trade_nos.push(order.out_trade_no);
    }
    let rows_during_payments = imported_rows.load(Ordering::SeqCst);
    drop(stop_importer);
    let imported = importer.join().unwrap().expect("the import finished");

    // The import really ran alongside: it kept writing while the payments were taken, and it is whole.
    assert!(rows_during_payments > 100, "the import wrote {rows_during_payments} rows");
    let ImportResult::Imported { bill, .. } = imported else { panic!("{imported:?}") };
    assert_eq!(bill.row_count as u64, imported_rows.load(Ordering::SeqCst));
    let store = Store::open(&db).unwrap();
    assert_eq!(store.recon().bill_row_count().unwrap(), bill.row_count);
    // Every payment's write-ahead row was written and ended PAID.
    for out_trade_no in &out_trade_nos {
        let order = store.orders().order_by_out_trade_no(out_trade_no).unwrap().expect("the write-ahead row");
        assert_eq!(order.status, OrderStatus::Paid, "{out_trade_no}");
        let kinds: Vec<String> = store.orders().order_events(order.id).unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds.first().map(String::as_str), Some("created"), "{out_trade_no}: {kinds:?}");
    }
}
