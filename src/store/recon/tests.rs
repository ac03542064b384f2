//! Tests of the recon store: an import's batches stay invisible until it finishes and leave the connection as they
//! found it, interrupted imports and runs are removed, old bills get their types, and a big day walked in two halves
//! finds what one pass finds. They import only `store`.

use rusqlite::params;

use super::super::{BATCH_ROWS, Store, StoreError};
use super::scan::SCAN_BILL_ROWS;
use super::*;
use crate::model::AcquirerKind;

fn pragma(store: &Store, name: &str) -> i64 {
    store.conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).unwrap()
}

#[test]
fn an_import_puts_the_connection_settings_back_whatever_happens() {
    let mut store = Store::open_in_memory().unwrap();
    let acquirer_id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let new = NewBill { acquirer_id, source_name: "bill.txt", format: "wechat_text" };
    let row = NewBillRow {
        line_no: 2,
        trade_no: "4200002026112400000001",
        out_trade_no: "T0001",
        kind: Some(BillRowKind::Payment),
        status: "SUCCESS",
        amount: 100,
        occurred_at: "2026-11-24T01:00:00Z",
        ..Default::default()
    };
    let failed = store.recon_mut().import_bill(&new, |sink| {
        sink.push(&row)?;
        Err::<FinishedBill, _>(StoreError::NotFound { what: "test failure", key: "injected".into() })
    });
    assert!(failed.is_err());
    assert_eq!(pragma(&store, "foreign_keys"), 1);
    assert_eq!(pragma(&store, "cache_size"), -2000);
    assert_eq!(store.recon().bill_row_count().unwrap(), 0);

    let finished = || FinishedBill { bill_date: "2026-11-24".into(), totals_json: "{}".into(), ..Default::default() };
    let done = store
        .recon_mut()
        .import_bill(&new, |sink| {
            sink.push(&row)?;
            Ok::<_, StoreError>(finished())
        })
        .unwrap();
    assert!(matches!(done, ImportResult::Imported { replaced: None, .. }));
    assert_eq!(pragma(&store, "foreign_keys"), 1);
    assert_eq!(pragma(&store, "cache_size"), -2000);
    assert_eq!(store.recon().bill_row_count().unwrap(), 1);
    // The rows really belong to their bill: deleting the bill cascades (foreign keys are on again).
    store.conn.execute("DELETE FROM bills", []).unwrap();
    assert_eq!(store.recon().bill_row_count().unwrap(), 0);
}

fn payment_row(i: u64, out: &mut String, trade: &mut String) -> NewBillRow<'static> {
    *out = format!("T{i:08}");
    *trade = format!("4200{i:012}");
    NewBillRow {
        line_no: i as i64 + 2,
        kind: Some(BillRowKind::Payment),
        status: "SUCCESS",
        amount: 100,
        occurred_at: "2026-11-24T01:00:00Z",
        ..Default::default()
    }
}

fn finished() -> FinishedBill {
    FinishedBill { bill_date: "2026-11-24".into(), totals_json: "{}".into(), ..Default::default() }
}

#[test]
fn a_long_import_commits_in_batches_that_stay_invisible_until_it_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tilldesk.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let acquirer_id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let new = NewBill { acquirer_id, source_name: "bill.txt", format: "wechat_text" };
    let other = Store::open(&path).unwrap();
    let (mut out, mut trade) = (String::new(), String::new());
    let total = BATCH_ROWS + 10;
    let cancelled = store.recon_mut().import_bill(&new, |sink| {
        for i in 0..total {
            let row = payment_row(i, &mut out, &mut trade);
            sink.push(&NewBillRow { out_trade_no: &out, trade_no: &trade, ..row })?;
        }
        // A whole batch is committed (no lock held for the whole import)…
        sink.wait_written()?;
        let seen = other.recon().bill_row_count().unwrap();
        assert!(seen > 0, "batches are committed as the import goes: {seen} rows seen");
        // …and yet no reader takes it for a bill.
        assert!(other.recon().recent_bills(10).unwrap().is_empty());
        assert!(other.recon().bills_of_day(acquirer_id, "2026-11-24").unwrap().is_empty());
        Err::<FinishedBill, _>(StoreError::NotFound { what: "test", key: "cancel".into() })
    });
    assert!(cancelled.is_err());
    // A cancel leaves nothing behind, committed batches included.
    assert_eq!(other.recon().bill_row_count().unwrap(), 0);
    let bills: i64 = other.conn.query_row("SELECT COUNT(*) FROM bills", [], |r| r.get(0)).unwrap();
    assert_eq!(bills, 0);

    let done = store
        .recon_mut()
        .import_bill(&new, |sink| {
            for i in 0..total {
                let row = payment_row(i, &mut out, &mut trade);
                sink.push(&NewBillRow { out_trade_no: &out, trade_no: &trade, ..row })?;
            }
            Ok::<_, StoreError>(finished())
        })
        .unwrap();
    let ImportResult::Imported { bill, .. } = done else { panic!("{done:?}") };
    assert_eq!(bill.row_count as u64, total);
    assert_eq!(other.recon().bills_of_day(acquirer_id, "2026-11-24").unwrap(), vec![bill]);
    assert_eq!(pragma(&store, "synchronous"), 2, "durable again after the import");
}

#[test]
fn what_an_interrupted_import_or_run_left_is_removed_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("tilldesk.sqlite3")).unwrap();
    let acquirer_id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    // A killed import: a staged bill whose last batch is long ago, with rows.
    store
        .conn
        .execute(
            "INSERT INTO bills (id, acquirer_id, bill_date, source_name, content_hash, imported_at)
             VALUES (99, ?1, '', 'killed.txt', 'pending:x', '2026-01-01T00:00:00.000000Z')",
            [acquirer_id.0],
        )
        .unwrap();
    store
        .conn
        .execute(
            "INSERT INTO bill_rows (bill_id, line_no, out_trade_no, trade_no, kind, amount, occurred_at)
             VALUES (99, 2, 'T1', '42001', 'payment', 100, '2026-11-24T01:00:00Z')",
            [],
        )
        .unwrap();
    // What the import's writer records with each batch it commits: the rows' range.
    store
        .conn
        .execute("UPDATE bills SET first_row = last_insert_rowid(), last_row = last_insert_rowid() WHERE id = 99", [])
        .unwrap();
    // A killed reconciliation save: a run never finished, with a discrepancy.
    store
        .conn
        .execute(
            "INSERT INTO recon_runs (id, started_at, finished_at, acquirer_id, bill_date)
             VALUES (7, '2026-01-01T00:00:00.000000Z', NULL, ?1, '2026-11-24')",
            [acquirer_id.0],
        )
        .unwrap();
    store
        .conn
        .execute(
            "INSERT INTO discrepancies (run_id, kind, explanation, created_at) VALUES (7, 'only_local', '', 'now')",
            [],
        )
        .unwrap();
    assert!(store.recon().recent_bills(10).unwrap().is_empty());
    assert!(store.recon().recon_runs(10).unwrap().is_empty());
    assert!(store.recon().recon_run(7).unwrap().is_none());

    let new = NewBill { acquirer_id, source_name: "bill.txt", format: "wechat_text" };
    let (mut out, mut trade) = (String::new(), String::new());
    store
        .recon_mut()
        .import_bill(&new, |sink| {
            let row = payment_row(5, &mut out, &mut trade);
            sink.push(&NewBillRow { out_trade_no: &out, trade_no: &trade, ..row })?;
            Ok::<_, StoreError>(finished())
        })
        .unwrap();
    assert_eq!(store.recon().bill_row_count().unwrap(), 1, "the killed import's rows are gone");
    assert!(store.recon().bill(BillId(99)).unwrap().is_none());
    let run =
        store.recon_mut().save_recon_run(acquirer_id, "2026-11-24", None, &crate::time::now_utc(), "{}", &[]).unwrap();
    let runs: Vec<i64> = store.recon().recon_runs(10).unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(runs, vec![run]);
    let left: i64 =
        store.conn.query_row("SELECT COUNT(*) FROM discrepancies WHERE run_id = 7", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0, "the killed run's discrepancies are gone");
}

#[test]
fn bills_imported_before_types_were_kept_get_a_type_from_their_rows() {
    let mut store = Store::open_in_memory().unwrap();
    let wechat = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let alipay = store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap();
    let bills: [(i64, AcquirerId, &str, &[&str]); 5] = [
        (1, alipay, "alipay_zip", &["payment", "refund"]),
        (2, wechat, "wechat_text", &["refund", "refund"]),
        (3, wechat, "wechat_text", &["payment", "revoked"]),
        (4, wechat, "wechat_text", &["payment", "refund"]),
        (5, wechat, "wechat_text", &[]),
    ];
    for (id, acquirer, format, kinds) in bills {
        store
            .conn
            .execute(
                "INSERT INTO bills (id, acquirer_id, bill_date, source_name, content_hash, imported_at, format)
                 VALUES (?1, ?2, ?3, 'b', ?1, 'now', ?4)",
                params![id, acquirer.0, format!("2026-11-2{id}"), format],
            )
            .unwrap();
        for (i, kind) in kinds.iter().enumerate() {
            store
                .conn
                .execute(
                    "INSERT INTO bill_rows (bill_id, line_no, kind, amount, occurred_at) VALUES (?1, ?2, ?3, 1, 'x')",
                    params![id, i as i64 + 2, kind],
                )
                .unwrap();
        }
    }
    let sql = include_str!("../migrations/0010_bill_types.sql");
    let update = &sql[sql.find("UPDATE bills").unwrap()..sql.find("-- The hash of a bill's rows").unwrap()];
    store.conn.execute_batch(update).unwrap();
    let types: Vec<BillType> = (1..=5).map(|id| store.recon().bill(BillId(id)).unwrap().unwrap().bill_type).collect();
    assert_eq!(types, [BillType::Trade, BillType::Refund, BillType::Success, BillType::All, BillType::All]);
}

#[test]
fn a_day_walked_in_two_halves_finds_what_one_pass_finds_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("tilldesk.sqlite3")).unwrap();
    let acquirer_id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    // 600 rows: payments matching, of another amount, unknown to the till, refunds matching and not.
    let n = 600u64;
    let orders = (0..n).filter(|i| i % 7 != 3).map(|i| SeedOrder {
        out_trade_no: format!("T{i:05}"),
        trade_no: Some(format!("4200{i:08}")),
        acquirer_id,
        subject: "拿铁".into(),
        total_amount: if i % 11 == 5 { 101 } else { 100 + (i as i64 % 3) },
        refunded_amount: 0,
        status: if i % 13 == 8 { "FAILED".into() } else { "PAID".into() },
        created_at: "2026-11-24T01:00:00Z".into(),
        paid_at: Some("2026-11-24T01:00:00Z".into()),
    });
    store.recon_mut().seed_orders(orders).unwrap();
    let refunds = (0..n).filter(|i| i % 5 == 0 && i % 7 != 3).map(|i| SeedRefund {
        out_trade_no: format!("T{i:05}"),
        out_request_no: format!("R{i:05}"),
        refund_amount: if i % 10 == 0 { 50 } else { 40 },
        status: "SUCCESS".into(),
        created_at: "2026-11-24T02:00:00Z".into(),
    });
    store.recon_mut().seed_refunds(refunds).unwrap();
    let new = NewBill { acquirer_id, source_name: "bill.txt", format: "wechat_text" };
    store
        .recon_mut()
        .import_bill(&new, |sink| {
            for i in 0..n {
                let (out, trade, request) = (format!("T{i:05}"), format!("4200{i:08}"), format!("R{i:05}"));
                let refund = i % 5 == 0 && i > 0;
                sink.push(&NewBillRow {
                    line_no: i as i64 + 2,
                    trade_no: &trade,
                    out_trade_no: &out,
                    out_request_no: refund.then_some(request.as_str()),
                    kind: Some(if refund { BillRowKind::Refund } else { BillRowKind::Payment }),
                    status: "SUCCESS",
                    amount: if refund { 50 } else { 100 + (i as i64 % 3) },
                    fee_milli: 600,
                    settled: 100,
                    occurred_at: "2026-11-24T01:00:00Z",
                    ..Default::default()
                })?;
            }
            Ok::<_, StoreError>(finished())
        })
        .unwrap();
    let rules = FieldRules { time_tolerance_secs: 300, fee_rate_ppm: None, day_start: "2026-11-23T16:00:00".into() };
    let walk = |parallel_from: i64| {
        let found = std::cell::RefCell::new(Vec::new());
        let scan = store
            .recon_bill_rows_split(
                acquirer_id,
                "2026-11-24",
                &rules,
                parallel_from,
                |p| found.borrow_mut().push(format!("{p:?}")),
                |r| found.borrow_mut().push(format!("{r:?}")),
            )
            .unwrap();
        (format!("{scan:?}"), found.into_inner())
    };
    let (one_scan, one_found) = walk(i64::MAX);
    let (two_scan, two_found) = walk(1);
    assert!(one_found.len() > 100, "the day has differences of every kind: {}", one_found.len());
    assert_eq!(two_found, one_found);
    assert_eq!(two_scan, one_scan);
}

#[test]
fn a_days_rows_are_read_through_their_bills_row_range_not_a_scan_of_every_bill() {
    let store = Store::open_in_memory().unwrap();
    let plan: Vec<String> = store
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {SCAN_BILL_ROWS}"))
        .unwrap()
        .query_map(params![1, "2026-11-24", 0, i64::MAX], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let bill_rows = plan.iter().find(|l| l.contains(" b ")).unwrap_or_else(|| panic!("{plan:?}"));
    assert!(bill_rows.contains("INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), "{plan:?}");
}
