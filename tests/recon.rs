//! Bills and reconciliation end to end: the hand-written bills in tests/fixtures/recon/ against the till's records
//! beside them, compared with the expected reports written down there; re-import, the midnight window, resolution
//! and adoption, export, fetching through a channel, cancel.

mod recon_common;

use std::io::Read as _;

use recon_common::{bill_counts, fixture, seed_local, seed_local_from};
use tilldesk::channel::alipay::bill::{AlipayBillRow, BillKind};
use tilldesk::channel::wechatpay::bill::{BillType, MilliFen, WechatBillRow};
use tilldesk::channel::{
    BillResult, BoxFuture, CancelResult, Channel, PayRequest, PayResult, QueryResult, RefundQueryResult, RefundRequest,
    RefundResult,
};
use tilldesk::i18n::Lang;
use tilldesk::model::{AcquirerKind, DiscrepancyKind};
use tilldesk::money::Amount;
use tilldesk::recon::report::{DiffField, Reason};
use tilldesk::recon::{ImportControl, ImportOptions, ReconError, ReconOptions, import_bytes, import_file, reconcile};
use tilldesk::sandbox::bills::alipay::write_bill_zip;
use tilldesk::sandbox::bills::wechatpay::write_bill;
use tilldesk::store::Store;
use time::macros::{date, datetime};

/// Compares with the expected report; `UPDATE_EXPECTED=1` rewrites it (then read the diff before committing).
fn assert_expected(name: &str, actual: &str) {
    let path = fixture(name);
    if std::env::var_os("UPDATE_EXPECTED").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(actual, expected, "the report differs from {}", path.display());
}

fn import(store: &mut Store, name: &str) -> tilldesk::recon::ImportOutcome {
    import_file(store, &fixture(name), &ImportOptions::default(), &ImportControl::new()).unwrap()
}

fn with_file_name_only(mut report: tilldesk::recon::Report) -> String {
    for b in &mut report.bills {
        b.source_name = b.source_name.rsplit('/').next().unwrap().to_owned();
    }
    report.to_text()
}

#[test]
fn wechat_fixture_gives_the_expected_report() {
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    let outcome = import(&mut store, "wechat_20261124.txt");
    assert!(!outcome.already_imported);
    assert_eq!(outcome.bill.row_count, 10);
    assert_eq!(outcome.bill.bill_date, "2026-11-24");
    assert_eq!(outcome.bill.totals_mismatch, None);

    let report =
        reconcile(&mut store, AcquirerKind::WechatPay, date!(2026 - 11 - 24), &ReconOptions::default(), Lang::En)
            .unwrap();
    assert_eq!(report.matched.count, 5);
    assert_eq!(report.matched.amount, Amount::from_fen(13_200));
    assert_eq!(report.pending.count, 1, "W009 at 23:57:30 waits for the next day's bill");
    let reasons: Vec<(Reason, Option<&str>)> =
        report.discrepancies.iter().map(|d| (d.reason, d.out_trade_no.as_deref())).collect();
    assert_eq!(
        reasons,
        [
            (Reason::NoLocalOrder, Some("W003")),
            (Reason::LocalFailed, Some("W004")),
            (Reason::PaymentAmount, Some("W005")),
            (Reason::RefundedOnlyAtAcquirer, Some("W007")),
            (Reason::MissingFromBill, Some("W008")),
            (Reason::RefundedOnlyLocally, Some("W001")),
        ]
    );
    assert_eq!(report.fees.fee, "0.99300");
    assert_expected("wechat_20261124.expected.txt", &with_file_name_only(report));
}

#[test]
fn alipay_fixture_gives_the_expected_report() {
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::Alipay);
    let outcome = import(&mut store, "alipay_20261124.csv.zip");
    assert_eq!((outcome.bill.row_count, outcome.bill.bill_date.as_str()), (11, "2026-11-24"));
    let report =
        reconcile(&mut store, AcquirerKind::Alipay, date!(2026 - 11 - 24), &ReconOptions::default(), Lang::En).unwrap();
    assert_eq!((report.matched.count, report.matched.amount), (6, Amount::from_fen(37_400)));
    assert_eq!((report.matched_refunds.count, report.pending.count), (1, 1));
    let kinds: Vec<(DiscrepancyKind, i64)> = report.kinds.iter().map(|k| (k.kind, k.count)).collect();
    assert_eq!(
        kinds,
        [
            (DiscrepancyKind::OnlyInBill, 2),
            (DiscrepancyKind::OnlyLocal, 1),
            (DiscrepancyKind::AmountMismatch, 1),
            (DiscrepancyKind::StatusMismatch, 1),
            (DiscrepancyKind::FieldMismatch, 0)
        ]
    );
    assert_eq!(report.fees.net, Amount::from_fen(31_705));
    assert_expected("alipay_20261124.expected.txt", &with_file_name_only(report));
}

#[test]
fn importing_the_same_bill_again_changes_nothing_and_says_so() {
    let mut store = Store::open_in_memory().unwrap();
    let first = import(&mut store, "alipay_20261124.csv.zip");
    let counts = bill_counts(&store);
    let again = import(&mut store, "alipay_20261124.csv.zip");
    assert!(again.already_imported);
    assert_eq!(again.bill.id, first.bill.id);
    assert_eq!(bill_counts(&store), counts);
    assert!(again.message(Lang::En).contains("nothing changed"), "{}", again.message(Lang::En));
    assert!(again.message(Lang::ZhCn).contains("没有任何改动"));
    // The detail CSV out of the zip holds the same rows: the same bill.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(fixture("alipay_20261124.csv.zip")).unwrap()).unwrap();
    let mut csv = Vec::new();
    zip.by_index(0).unwrap().read_to_end(&mut csv).unwrap();
    let as_csv =
        import_bytes(&mut store, "detail.csv", &csv, &ImportOptions::default(), &ImportControl::new()).unwrap();
    assert!(as_csv.already_imported);
    assert_eq!(bill_counts(&store), counts);
}

fn wechat_row(out_trade_no: &str, time: time::PrimitiveDateTime, fen: i64) -> WechatBillRow {
    WechatBillRow {
        trade_time: time,
        appid: "wx2421b1c4370ec43b".into(),
        mch_id: "10000100".into(),
        sub_mch_id: "0".into(),
        device_info: String::new(),
        transaction_id: format!("42{out_trade_no}"),
        out_trade_no: out_trade_no.into(),
        openid: "o".into(),
        trade_type: "MICROPAY".into(),
        trade_state: "SUCCESS".into(),
        bank_type: "CMB_DEBIT".into(),
        fee_type: "CNY".into(),
        settlement_total_fee: Amount::from_fen(fen),
        coupon_fee: Amount::ZERO,
        refund_id: "0".into(),
        out_refund_no: "0".into(),
        refund_fee: Amount::ZERO,
        coupon_refund_fee: Amount::ZERO,
        refund_type: String::new(),
        refund_status: String::new(),
        body: "饭团".into(),
        attach: String::new(),
        service_fee: MilliFen::from_milli_fen(fen * 6),
        rate: "0.60%".into(),
        total_fee: Amount::from_fen(fen),
        applied_refund_fee: Amount::ZERO,
        rate_remark: String::new(),
        refund_apply_time: None,
        refund_success_time: None,
    }
}

#[test]
fn an_order_near_midnight_waits_for_the_next_days_bill() {
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    import(&mut store, "wechat_20261124.txt");
    let day = date!(2026 - 11 - 24);
    let before = reconcile(&mut store, AcquirerKind::WechatPay, day, &ReconOptions::default(), Lang::En).unwrap();
    assert_eq!(before.pending.count, 1);
    assert!(before.discrepancies.iter().all(|d| d.out_trade_no.as_deref() != Some("W009")));

    // A window of zero minutes reports it at once.
    let no_window = ReconOptions { window: time::Duration::ZERO, ..ReconOptions::default() };
    let strict = reconcile(&mut store, AcquirerKind::WechatPay, day, &no_window, Lang::En).unwrap();
    assert!(strict.discrepancies.iter().any(|d| d.out_trade_no.as_deref() == Some("W009")));

    // The next day's bill lists it just after midnight: it matches there and is no longer pending on the 24th.
    let next = write_bill(BillType::All, &[wechat_row("W009", datetime!(2026-11-25 00:00:02), 990)]);
    let out = import_bytes(&mut store, "next.txt", next.as_bytes(), &ImportOptions::default(), &ImportControl::new())
        .unwrap();
    assert_eq!(out.bill.bill_date, "2026-11-25");
    let after = reconcile(&mut store, AcquirerKind::WechatPay, day, &ReconOptions::default(), Lang::En).unwrap();
    assert_eq!(after.pending.count, 0);
    assert!(after.discrepancies.iter().all(|d| d.out_trade_no.as_deref() != Some("W009")));
    let on_25th =
        reconcile(&mut store, AcquirerKind::WechatPay, date!(2026 - 11 - 25), &ReconOptions::default(), Lang::En)
            .unwrap();
    assert_eq!((on_25th.matched.count, on_25th.matched.amount), (1, Amount::from_fen(990)));
}

#[test]
fn payments_fall_back_to_trade_no() {
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    // The bill names W008 by another out_trade_no but with the till's trade_no.
    let mut row = wechat_row("OTHER-NO", datetime!(2026-11-24 16:00:05), 1200);
    row.transaction_id = "4200002026112400000008".into();
    let bill = write_bill(BillType::Success, &[row]);
    import_bytes(&mut store, "b.txt", bill.as_bytes(), &ImportOptions::default(), &ImportControl::new()).unwrap();
    let report =
        reconcile(&mut store, AcquirerKind::WechatPay, date!(2026 - 11 - 24), &ReconOptions::default(), Lang::En)
            .unwrap();
    assert_eq!((report.matched.count, report.matched.amount), (1, Amount::from_fen(1200)));
    assert!(report.discrepancies.iter().all(|d| d.out_trade_no.as_deref() != Some("W008")));
}

#[test]
fn resolving_and_adopting_are_kept_across_runs() {
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    import(&mut store, "wechat_20261124.txt");
    let day = date!(2026 - 11 - 24);
    let first = reconcile(&mut store, AcquirerKind::WechatPay, day, &ReconOptions::default(), Lang::En).unwrap();
    let find = |r: &tilldesk::recon::Report, no: &str| {
        r.discrepancies.iter().find(|d| d.out_trade_no.as_deref() == Some(no)).cloned().unwrap()
    };
    let w005 = find(&first, "W005");
    store.recon_mut().resolve_discrepancy(w005.id, "收银员少输了2元，已核对小票", None).unwrap();
    let w003 = find(&first, "W003");
    let acquirer = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let order_id = store.recon_mut().adopt_bill_payment(w003.id, acquirer, "顾客扫店铺码付款", None).unwrap();
    let order = store.orders().order(order_id).unwrap().unwrap();
    assert_eq!(order.status, tilldesk::model::OrderStatus::Paid);
    assert_eq!(order.source, tilldesk::model::OrderSource::StoreCode);
    assert_eq!(order.total_amount, Amount::from_fen(3650));
    assert_eq!(order.trade_no.as_deref(), Some("4200002026112400000003"));
    // The till thought W004 failed: adopting moves it to PAID.
    let w004 = find(&first, "W004");
    store.recon_mut().adopt_bill_payment(w004.id, acquirer, "已向微信确认", None).unwrap();
    assert_eq!(
        store.orders().order_by_out_trade_no("W004").unwrap().unwrap().status,
        tilldesk::model::OrderStatus::Paid
    );

    let second = reconcile(&mut store, AcquirerKind::WechatPay, day, &ReconOptions::default(), Lang::En).unwrap();
    assert_eq!(second.matched.count, 7, "W003 and W004 now match");
    let w005 = find(&second, "W005");
    assert!(w005.resolved);
    assert_eq!(w005.note.as_deref(), Some("收银员少输了2元，已核对小票"));
    assert_eq!(second.open_count(), 3);
    let history = store.recon().recon_runs(10).unwrap();
    assert_eq!(history.len(), 2);
    let loaded = tilldesk::recon::load_report(&store, first.run_id, Lang::En).unwrap();
    assert_eq!(loaded.matched, first.matched);
    assert!(loaded.discrepancies.iter().any(|d| d.out_trade_no.as_deref() == Some("W003") && d.resolved));
    let audit = store.recent_audit(10).unwrap();
    assert!(audit.iter().any(|a| a.action == "order.adopt_from_bill" && a.subject == "W003"));
    assert!(audit.iter().any(|a| a.action == "discrepancy.resolve"));
}

#[test]
fn the_report_exports_to_csv_and_xlsx() {
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    import(&mut store, "wechat_20261124.txt");
    let report =
        reconcile(&mut store, AcquirerKind::WechatPay, date!(2026 - 11 - 24), &ReconOptions::default(), Lang::ZhCn)
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("out/report.csv");
    tilldesk::recon::export::write_csv(&report, &csv_path, Lang::ZhCn).unwrap();
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a BOM for spreadsheets");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(&reader.headers().unwrap()[2], "out_trade_no");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 6);
    let w005 = records.iter().find(|r| &r[2] == "W005").unwrap();
    assert_eq!((&w005[0], &w005[5], &w005[6], &w005[7], &w005[8]), ("金额不符", "20.00", "22.00", "2000", "2200"));

    let xlsx_path = dir.path().join("report.xlsx");
    tilldesk::recon::export::write_xlsx(&report, &xlsx_path, Lang::ZhCn).unwrap();
    let mut book = zip::ZipArchive::new(std::fs::File::open(&xlsx_path).unwrap()).unwrap();
    let mut strings = String::new();
    book.by_name("xl/sharedStrings.xml").unwrap().read_to_string(&mut strings).unwrap();
    for expected in ["W003", "仅账单有", "差异明细", "已匹配收款", "164.51"] {
        if expected == "差异明细" {
            let mut wb = String::new();
            book.by_name("xl/workbook.xml").unwrap().read_to_string(&mut wb).unwrap();
            assert!(wb.contains(expected), "{wb}");
        } else {
            assert!(strings.contains(expected), "{expected} missing from the workbook");
        }
    }
}

#[test]
fn a_cancelled_import_leaves_nothing_behind() {
    let mut store = Store::open_in_memory().unwrap();
    let rows: Vec<WechatBillRow> =
        (0..3000).map(|i| wechat_row(&format!("C{i}"), datetime!(2026-11-24 10:00:00), 100 + i)).collect();
    let bill = write_bill(BillType::All, &rows);
    let control = ImportControl::new();
    control.cancel();
    let err = import_bytes(&mut store, "big.txt", bill.as_bytes(), &ImportOptions::default(), &control).unwrap_err();
    assert!(matches!(err, ReconError::Cancelled), "{err}");
    assert_eq!(err.to_string(), "the import was cancelled: nothing was imported");
    assert_eq!(bill_counts(&store), (0, 0));
    // Progress is reported while reading.
    let control = ImportControl::new();
    import_bytes(&mut store, "big.txt", bill.as_bytes(), &ImportOptions::default(), &control).unwrap();
    assert_eq!(control.rows(), 3000);
    assert_eq!(control.bytes(), bill.len() as u64);
    assert!((control.fraction() - 1.0).abs() < f32::EPSILON);
}

/// A channel that serves one bill, for `bills fetch`.
struct FakeChannel {
    kind: AcquirerKind,
    bill: BillResult,
}

impl Channel for FakeChannel {
    fn kind(&self) -> AcquirerKind {
        self.kind
    }
    fn pay<'a>(&'a self, _: &'a PayRequest) -> BoxFuture<'a, PayResult> {
        Box::pin(async { PayResult::Unknown("not used".into()) })
    }
    fn query<'a>(&'a self, _: &'a str) -> BoxFuture<'a, QueryResult> {
        Box::pin(async { QueryResult::NotFound })
    }
    fn cancel<'a>(&'a self, _: &'a str) -> BoxFuture<'a, CancelResult> {
        Box::pin(async { CancelResult::Unknown("not used".into()) })
    }
    fn refund<'a>(&'a self, _: &'a RefundRequest) -> BoxFuture<'a, RefundResult> {
        Box::pin(async { RefundResult::Unknown("not used".into()) })
    }
    fn refund_query<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, RefundQueryResult> {
        Box::pin(async { RefundQueryResult::NotFound })
    }
    fn bill<'a>(&'a self, _: time::Date) -> BoxFuture<'a, BillResult> {
        let bill = self.bill.clone();
        Box::pin(async move { bill })
    }
}

#[test]
fn fetching_a_bill_keeps_the_file_and_imports_it() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let bytes = std::fs::read(fixture("alipay_20261124.csv.zip")).unwrap();
    let channel = FakeChannel {
        kind: AcquirerKind::Alipay,
        bill: BillResult::Bill { file_name: "../20880211096256330156_20261124.csv.zip".into(), bytes: bytes.clone() },
    };
    let day = date!(2026 - 11 - 24);
    let alipay = store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap();
    let wechat = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let outcome = tilldesk::recon::fetch::fetch_and_import(
        rt.handle(),
        &mut store,
        dir.path(),
        alipay,
        &channel,
        day,
        &ImportControl::new(),
    )
    .unwrap();
    assert_eq!(outcome.bill.row_count, 11);
    let saved = dir.path().join("bills/alipay/20880211096256330156_20261124.csv.zip");
    assert_eq!(std::fs::read(&saved).unwrap(), bytes);

    // The WeChat channel serving an Alipay file is refused, nothing imported.
    let wrong = FakeChannel { kind: AcquirerKind::WechatPay, bill: channel.bill.clone() };
    let err = tilldesk::recon::fetch::fetch_and_import(
        rt.handle(),
        &mut store,
        dir.path(),
        wechat,
        &wrong,
        day,
        &ImportControl::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("is an Alipay bill, but it was imported as a WeChat Pay bill"), "{err}");

    let none = FakeChannel { kind: AcquirerKind::WechatPay, bill: BillResult::NoBill };
    let err = rt.block_on(tilldesk::recon::fetch::fetch(&none, day)).unwrap_err();
    assert_eq!(err.to_string(), "WeChat Pay has no bill for 2026-11-24 (no trades that day)");
    let failed = FakeChannel { kind: AcquirerKind::WechatPay, bill: BillResult::Failed("签名错误".into()) };
    let err = rt.block_on(tilldesk::recon::fetch::fetch(&failed, day)).unwrap_err();
    assert_eq!(err.to_string(), "WeChat Pay did not give the bill for 2026-11-24: 签名错误");
}

#[test]
fn reconciling_a_day_without_a_bill_says_what_to_do() {
    let mut store = Store::open_in_memory().unwrap();
    let err = reconcile(&mut store, AcquirerKind::Alipay, date!(2026 - 11 - 24), &ReconOptions::default(), Lang::En)
        .unwrap_err();
    assert_eq!(err.to_string(), "there is no Alipay bill for 2026-11-24 in the database: fetch or import it first");
}

/// "-15.50" → −1550 fen (bills write signed amounts).
fn signed(yuan: &str) -> Amount {
    match yuan.strip_prefix('-') {
        Some(t) => Amount::from_fen(-Amount::parse(t).unwrap().fen()),
        None => Amount::parse(yuan).unwrap(),
    }
}

fn alipay_row(kind: BillKind, out_trade_no: &str, at: time::PrimitiveDateTime, yuan: &str, fee: &str) -> AlipayBillRow {
    let amount = signed(yuan);
    AlipayBillRow {
        trade_no: format!("20261125220014{:0>8}", out_trade_no.trim_start_matches('R')),
        out_trade_no: out_trade_no.into(),
        kind,
        subject: "会员储值卡".into(),
        created_at: at,
        finished_at: at,
        store_id: "NJ_001".into(),
        store_name: "南京西路店".into(),
        operator_id: "cashier01".into(),
        terminal_id: "POS-01".into(),
        buyer_account: "*明(138***@163.com)".into(),
        order_amount: amount,
        receipt_amount: amount,
        alipay_red_packet: Amount::ZERO,
        jifenbao: Amount::ZERO,
        alipay_discount: Amount::ZERO,
        merchant_discount: Amount::ZERO,
        coupon_amount: Amount::ZERO,
        coupon_name: String::new(),
        merchant_red_packet: Amount::ZERO,
        card_amount: Amount::ZERO,
        out_request_no: (kind == BillKind::Refund).then(|| format!("R{out_trade_no}")),
        service_fee: signed(fee),
        profit_share: Amount::ZERO,
        remark: String::new(),
    }
}

#[test]
fn net_on_a_refund_heavy_alipay_day_is_what_alipay_says() {
    // One payment of 5.00 (服务费 −0.03 charged) and the refund of an earlier 15.50 (+0.09 given back): Alipay's
    // 汇总 says 实收净额 = 商家实收 + 服务费 = −10.50 + 0.06 = −10.44.
    let mut store = Store::open_in_memory().unwrap();
    let day = date!(2026 - 11 - 25);
    let rows = [
        alipay_row(BillKind::Trade, "H001", datetime!(2026-11-25 10:00:00), "5.00", "-0.03"),
        alipay_row(BillKind::Refund, "H000", datetime!(2026-11-25 11:00:00), "-15.50", "0.09"),
    ];
    let zip = write_bill_zip("20880211096256330156", day, &rows, "2026年11月26日 05:46:49").unwrap();
    import_bytes(&mut store, "refunds.csv.zip", &zip, &ImportOptions::default(), &ImportControl::new()).unwrap();
    let report = reconcile(&mut store, AcquirerKind::Alipay, day, &ReconOptions::default(), Lang::En).unwrap();
    assert_eq!(report.fees.fee_fen, Amount::from_fen(6));
    assert_eq!(report.fees.net, Amount::from_fen(-1044), "{}", report.to_text());
}

#[test]
fn net_on_a_refund_heavy_wechat_day_takes_off_only_the_fees_charged() {
    // Paid 5.00 (手续费 0.03000), refunded 15.50 of an earlier order (−0.09300): the fees net to a credit of
    // 0.06300, so the day's net is 5.00 − 15.50 + 0.06 = −10.44.
    let mut store = Store::open_in_memory().unwrap();
    let mut refund = wechat_row("H000", datetime!(2026-11-25 11:00:00), 1550);
    refund.trade_state = "REFUND".into();
    refund.settlement_total_fee = Amount::ZERO;
    refund.refund_id = "50300000002026112500000001".into();
    refund.out_refund_no = "RH000".into();
    refund.refund_fee = Amount::from_fen(1550);
    refund.applied_refund_fee = Amount::from_fen(1550);
    refund.refund_type = "ORIGINAL".into();
    refund.refund_status = "SUCCESS".into();
    refund.service_fee = MilliFen::from_milli_fen(-93_00);
    let rows = [wechat_row("H001", datetime!(2026-11-25 10:00:00), 500), refund];
    let bill = write_bill(BillType::All, &rows);
    import_bytes(&mut store, "refunds.txt", bill.as_bytes(), &ImportOptions::default(), &ImportControl::new()).unwrap();
    let report =
        reconcile(&mut store, AcquirerKind::WechatPay, date!(2026 - 11 - 25), &ReconOptions::default(), Lang::En)
            .unwrap();
    assert_eq!(report.fees.fee, "-0.06300");
    assert_eq!(report.fees.net, Amount::from_fen(-1044), "{}", report.to_text());
}

#[test]
fn a_refund_of_an_order_the_till_never_saw_is_only_in_the_bill() {
    // F009 was paid and refunded at WeChat, F010 only refunded (paid another day): the till knows neither.
    let mut store = Store::open_in_memory().unwrap();
    seed_local_from(&mut store, AcquirerKind::WechatPay, "local_20261126.csv");
    import(&mut store, "wechat_20261126.txt");
    let report =
        reconcile(&mut store, AcquirerKind::WechatPay, date!(2026 - 11 - 26), &ReconOptions::default(), Lang::En)
            .unwrap();
    let of = |no: &str| -> Vec<(DiscrepancyKind, &str, Option<&str>)> {
        report
            .discrepancies
            .iter()
            .filter(|d| d.out_trade_no.as_deref() == Some(no))
            .map(|d| (d.kind, d.reason.as_str(), d.out_request_no.as_deref()))
            .collect()
    };
    // One difference for the order, its payment and its refund: only in the bill.
    assert_eq!(of("F009"), [(DiscrepancyKind::OnlyInBill, "no_local_order_refunded", None)]);
    assert_eq!(of("F010"), [(DiscrepancyKind::OnlyInBill, "refund_no_local_order", Some("FR010"))]);
    let f009 = report.discrepancies.iter().find(|d| d.out_trade_no.as_deref() == Some("F009")).unwrap();
    assert!(f009.explanation.contains("Only in the bill"), "{}", f009.explanation);
    assert!(!f009.reason.can_adopt(), "the money went back: nothing to adopt as a sale");
    let zh = tilldesk::recon::load_report(&store, report.run_id, Lang::ZhCn).unwrap();
    assert!(zh.discrepancies.iter().any(|d| d.explanation.contains("单边账")));
}

#[test]
fn the_field_level_day_gives_the_expected_report() {
    let mut store = Store::open_in_memory().unwrap();
    seed_local_from(&mut store, AcquirerKind::WechatPay, "local_20261126.csv");
    let wechat = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    store.set_setting(&format!("recon.fee_rate.{}", wechat.0), "0.60%", None).unwrap();
    import(&mut store, "wechat_20261126.txt");
    let report =
        reconcile(&mut store, AcquirerKind::WechatPay, date!(2026 - 11 - 26), &ReconOptions::default(), Lang::En)
            .unwrap();
    let fields = |no: &str, request: Option<&str>| -> Vec<(DiffField, String, String)> {
        let d = report
            .discrepancies
            .iter()
            .find(|d| d.out_trade_no.as_deref() == Some(no) && d.out_request_no.as_deref() == request)
            .unwrap_or_else(|| panic!("no difference for {no}"));
        d.fields.iter().map(|f| (f.field, f.bill.clone(), f.local.clone())).collect()
    };
    let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    let f = |field, (a, b): (String, String)| (field, a, b);
    assert_eq!(fields("F002", None), [f(DiffField::Time, s("2026-11-26T03:20:00Z", "2026-11-26T03:00:05Z"))]);
    assert_eq!(fields("F003", None), [f(DiffField::MerchantId, s("1900000188", "1900000109"))]);
    assert_eq!(fields("F004", None), [f(DiffField::Fee, s("0.50000", "0.30000"))]);
    assert_eq!(
        fields("F005", None),
        [
            f(DiffField::Amount, s("25.00", "20.00")),
            f(DiffField::Time, s("2026-11-26T06:00:00Z", "2026-11-26T06:30:00Z"))
        ]
    );
    assert_eq!(fields("F006", None), [f(DiffField::Status, s("SUCCESS", "UNKNOWN"))]);
    assert_eq!(fields("F007", Some("FR007")), [f(DiffField::RefundAmount, s("15.00", "10.00"))]);
    assert_eq!(fields("F008", Some("FR008")), [f(DiffField::Status, s("SUCCESS", "PROCESSING"))]);
    assert_eq!(report.fee_rate.as_deref(), Some("0.60%"));
    // F001 and the payments of F007 and F008 agree in every field.
    assert_eq!((report.matched.count, report.matched.amount), (3, Amount::from_fen(10_500)));
    // `reconcile --json` carries them.
    let json = serde_json::to_value(&report).unwrap();
    let f003 = json["discrepancies"].as_array().unwrap().iter().find(|d| d["out_trade_no"] == "F003").unwrap();
    assert_eq!(
        f003["fields"],
        serde_json::json!([{"field": "merchant_id", "bill": "1900000188", "local": "1900000109"}])
    );
    // Stored with the run: the loaded report has them too.
    let loaded = tilldesk::recon::load_report(&store, report.run_id, Lang::En).unwrap();
    assert_eq!(loaded.discrepancies, report.discrepancies);
    assert_expected("wechat_20261126.expected.txt", &with_file_name_only(report));
}

#[test]
fn what_crosses_midnight_is_carried_over_and_matched_by_the_next_days_bill() {
    let mut store = Store::open_in_memory().unwrap();
    seed_local_from(&mut store, AcquirerKind::WechatPay, "local_20261127.csv");
    let (d27, d28) = (date!(2026 - 11 - 27), date!(2026 - 11 - 28));
    let run = |store: &mut Store, day| {
        reconcile(store, AcquirerKind::WechatPay, day, &ReconOptions::default(), Lang::En).unwrap()
    };

    // The 27th alone: C003 (23:59:40), C004 (23:57:00) and the refund CR002 (23:58:00) wait in the carry-over;
    // C000 (00:03:00) waits for the 26th's bill. None of them is a difference.
    import(&mut store, "wechat_20261127.txt");
    let first = run(&mut store, d27);
    assert_eq!(first.carry.out_waiting.count, 3);
    assert_eq!(first.carry.out_waiting.amount, Amount::from_fen(5400));
    assert_eq!(first.carry.back_waiting.count, 1);
    assert_eq!(first.pending.count, 4, "the waiting count is the carry-over's, not a second one");
    assert!(first.discrepancies.is_empty(), "{}", first.to_text());
    assert_expected("wechat_20261127.expected.txt", &with_file_name_only(first));

    // The 28th's bill lists C003 and CR002: matched there, carried in; C004 is in neither bill: a difference of
    // the 28th, once.
    import(&mut store, "wechat_20261128.txt");
    let next = run(&mut store, d28);
    assert_eq!((next.carry.in_matched.count, next.carry.in_matched.amount), (2, Amount::from_fen(4500)));
    assert_eq!((next.carry.in_missing.count, next.carry.in_missing.amount), (1, Amount::from_fen(900)));
    let reasons: Vec<(Reason, Option<&str>)> =
        next.discrepancies.iter().map(|d| (d.reason, d.out_trade_no.as_deref())).collect();
    assert_eq!(reasons, [(Reason::CarriedMissing, Some("C004"))]);
    assert_expected("wechat_20261128.expected.txt", &with_file_name_only(next));

    // The 27th again: the carry-over is settled, and C004 is not reported a second time.
    let again = run(&mut store, d27);
    assert_eq!(
        (again.carry.out_matched.count, again.carry.out_missing.count, again.carry.out_waiting.count),
        (2, 1, 0)
    );
    assert!(again.discrepancies.is_empty(), "{}", again.to_text());
    assert_expected("wechat_20261127.rerun.expected.txt", &with_file_name_only(again));
}

#[test]
fn the_acquirers_cut_off_moves_the_day() {
    // With a 23:00 cut-off the 27th's acquirer day ends at 23:00: C003 and C004 (after 23:50) belong to the 28th,
    // and C002's payment at 23:00:01 too.
    let mut store = Store::open_in_memory().unwrap();
    seed_local_from(&mut store, AcquirerKind::WechatPay, "local_20261127.csv");
    let wechat = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    store.set_setting(&format!("recon.cutoff.{}", wechat.0), "23:00", None).unwrap();
    import(&mut store, "wechat_20261127.txt");
    let report =
        reconcile(&mut store, AcquirerKind::WechatPay, date!(2026 - 11 - 27), &ReconOptions::default(), Lang::En)
            .unwrap();
    assert_eq!(report.cutoff, "23:00");
    assert_eq!(report.carry.out_waiting.count, 0, "{}", report.to_text());
    // C001 and C002 (its bill row at 23:00:00) are the bill's rows and match; C000 at 00:03 is no longer near the
    // day's start (23:00 on the 26th), so nothing waits for the 26th's bill.
    assert_eq!(report.carry.back_waiting.count, 0);
    assert_eq!(report.matched.count, 2);
}

// ---------------------------------------------------------------------------------------------------------------
// Bills of one day combine (issue 18, items 1 and 2)

/// The WeChat fixture's rows (an ALL bill), split as WeChat serves them separately: SUCCESS (payments) and REFUND
/// (refunds, with their refund times).
fn wechat_fixture_split() -> (String, String) {
    let text = std::fs::read_to_string(fixture("wechat_20261124.txt")).unwrap();
    let rows: Vec<WechatBillRow> =
        tilldesk::channel::wechatpay::bill::BillReader::new(text.as_bytes()).unwrap().map(Result::unwrap).collect();
    let (refunds, payments): (Vec<WechatBillRow>, Vec<WechatBillRow>) =
        rows.into_iter().partition(|r| r.trade_state == "REFUND");
    let refunds: Vec<WechatBillRow> = refunds
        .into_iter()
        .map(|r| WechatBillRow {
            refund_apply_time: Some(r.trade_time),
            refund_success_time: Some(r.trade_time + time::Duration::seconds(3)),
            ..r
        })
        .collect();
    assert_eq!((payments.len(), refunds.len()), (8, 2));
    (write_bill(BillType::Success, &payments), write_bill(BillType::Refund, &refunds))
}

fn import_text(store: &mut Store, name: &str, text: &str) -> tilldesk::recon::ImportOutcome {
    import_bytes(store, name, text.as_bytes(), &ImportOptions::default(), &ImportControl::new()).unwrap()
}

/// What a report says about money and differences, without the bills it was made from.
fn figures(report: &tilldesk::recon::Report) -> String {
    let reasons: Vec<(Reason, Option<&str>)> =
        report.discrepancies.iter().map(|d| (d.reason, d.out_trade_no.as_deref())).collect();
    format!(
        "matched {:?} refunds {:?} pending {:?} fees {:?} differences {reasons:?}",
        report.matched, report.matched_refunds, report.pending, report.fees
    )
}

fn wechat_day(store: &mut Store) -> tilldesk::recon::Report {
    reconcile(store, AcquirerKind::WechatPay, date!(2026 - 11 - 24), &ReconOptions::default(), Lang::En).unwrap()
}

/// The report of the day from the ALL bill alone.
fn all_bill_figures() -> String {
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    import(&mut store, "wechat_20261124.txt");
    figures(&wechat_day(&mut store))
}

#[test]
fn a_success_and_a_refund_bill_of_one_day_together_make_the_day() {
    let (success, refund) = wechat_fixture_split();
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    let first = import_text(&mut store, "success.txt", &success);
    assert_eq!(first.bill.bill_date, "2026-11-24");
    assert_eq!(first.warnings, [tilldesk::recon::ImportWarning::RefundBillMissing]);
    assert!(first.message(Lang::En).ends_with(
        "The day's REFUND bill is not imported yet: import it too, or the day's refunds show as differences."
    ));
    assert!(first.message(Lang::ZhCn).ends_with("当日的退款订单账单还未导入：请一并导入，否则当日退款会显示为差异。"));
    let second = import_text(&mut store, "refund.txt", &refund);
    assert_eq!(second.bill.bill_date, "2026-11-24");
    assert_eq!(bill_counts(&store), (2, 10), "both bills stay, every row once");
    assert!(second.replaced.is_none(), "the REFUND bill must not replace the SUCCESS bill");
    assert!(second.warnings.is_empty(), "the day is whole: {:?}", second.warnings);
    let en = second.message(Lang::En);
    assert!(
        en.contains("Together with the day's WeChat Pay SUCCESS bill imported before (success.txt, 8 rows)"),
        "{en}"
    );
    let zh = second.message(Lang::ZhCn);
    assert!(zh.contains("它与当日之前导入的微信支付成功订单账单（success.txt，8 行）合起来构成当天的账单"), "{zh}");
    assert!(!zh.contains("WeChat"), "no English in the Chinese message: {zh}");

    let report = wechat_day(&mut store);
    assert_eq!(report.bills.len(), 2);
    assert_eq!(report.matched.count, 5, "every payment matched, none a false only-local");
    assert_eq!(report.matched_refunds.count, 1);
    assert_eq!(report.fees.fee, "0.99300", "fees counted once");
    assert_eq!(figures(&report), all_bill_figures());

    // The same the other way round.
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    import_text(&mut store, "refund.txt", &refund);
    import_text(&mut store, "success.txt", &success);
    assert_eq!(figures(&wechat_day(&mut store)), all_bill_figures());
}

#[test]
fn a_refund_bill_after_the_all_bill_changes_nothing() {
    let (_, refund) = wechat_fixture_split();
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    let all = import(&mut store, "wechat_20261124.txt");
    let counts = bill_counts(&store);
    let covered = import_text(&mut store, "refund.txt", &refund);
    assert_eq!(bill_counts(&store), counts, "nothing changes");
    assert_eq!(covered.bill.id, all.bill.id);
    assert!(covered.replaced.is_none());
    let en = covered.message(Lang::En);
    assert!(
        en.starts_with(
            "refund.txt (2 rows) is the WeChat Pay REFUND bill of 2026-11-24, which the WeChat Pay ALL bill imported on"
        ),
        "{en}"
    );
    assert!(en.ends_with("already covers: nothing changed."), "{en}");
    assert!(covered.message(Lang::ZhCn).contains("已包含这些交易：没有任何改动"));
    let json = serde_json::to_value(&covered).unwrap();
    assert_eq!((json["bill_type"].as_str(), json["result"].as_str()), (Some("REFUND"), Some("already_covered")));
    assert_eq!(store.recon().bills_of_day(all.bill.acquirer_id, "2026-11-24").unwrap(), vec![all.bill.clone()]);
    assert_eq!(figures(&wechat_day(&mut store)), all_bill_figures());
}

#[test]
fn the_all_bill_takes_the_place_of_the_success_and_refund_bills() {
    let (success, refund) = wechat_fixture_split();
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    import_text(&mut store, "success.txt", &success);
    import_text(&mut store, "refund.txt", &refund);
    let before = figures(&wechat_day(&mut store));
    let all = import(&mut store, "wechat_20261124.txt");
    assert_eq!(bill_counts(&store), (1, 10), "never double counted");
    let superseded: Vec<&str> = all.superseded.iter().map(|b| b.source_name.as_str()).collect();
    assert_eq!(superseded, ["success.txt", "refund.txt"]);
    let en = all.message(Lang::En);
    assert!(
        en.contains(
            "It covers and takes the place of the day's WeChat Pay SUCCESS bill and WeChat Pay REFUND bill \
                     imported before (success.txt, refund.txt): nothing is counted twice."
        ),
        "{en}"
    );
    let report = wechat_day(&mut store);
    assert_eq!(report.bills.len(), 1);
    assert_eq!(figures(&report), before);
    assert_eq!(figures(&report), all_bill_figures());
    let json = serde_json::to_value(&all).unwrap();
    assert_eq!(json["bill"]["bill_type"], "ALL");
    assert_eq!(json["superseded"][1]["bill_type"], "REFUND");
}

#[test]
fn a_re_downloaded_bill_replaces_only_the_bill_of_its_type() {
    let (success, refund) = wechat_fixture_split();
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    import_text(&mut store, "success.txt", &success);
    import_text(&mut store, "refund.txt", &refund);
    // The REFUND bill again, one refund still processing in the earlier download.
    let again = import_text(&mut store, "refund-2.txt", &refund.replacen("`SUCCESS,", "`PROCESSING,", 1));
    assert_eq!(again.replaced.as_ref().map(|b| b.source_name.as_str()), Some("refund.txt"));
    let alongside: Vec<&str> = again.alongside.iter().map(|b| b.source_name.as_str()).collect();
    assert_eq!(alongside, ["success.txt"]);
    assert!(
        again
            .message(Lang::En)
            .contains("It replaces the same bill imported before (refund.txt, 2 rows: a re-download).")
    );
    assert_eq!(bill_counts(&store), (2, 10));
    assert_eq!(wechat_day(&mut store).matched.count, 5);
}

#[test]
fn a_refund_only_bill_tells_its_day_from_its_refunds() {
    let (_, refund) = wechat_fixture_split();
    let mut store = Store::open_in_memory().unwrap();
    let outcome = import_text(&mut store, "refund.txt", &refund);
    assert_eq!((outcome.bill.bill_date.as_str(), outcome.bill.row_count), ("2026-11-24", 2));
    assert_eq!(outcome.bill_type, tilldesk::store::recon::BillType::Refund);

    // A bill that really has no rows says so, and that --date settles it.
    let empty = write_bill(BillType::Refund, &[]);
    let err = import_bytes(&mut store, "empty.txt", empty.as_bytes(), &ImportOptions::default(), &ImportControl::new())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "empty.txt: the bill has no rows, so its day cannot be told; give the date (--date YYYY-MM-DD)"
    );
    let dated = ImportOptions { bill_date: Some(date!(2026 - 11 - 25)), ..Default::default() };
    let outcome = import_bytes(&mut store, "empty.txt", empty.as_bytes(), &dated, &ImportControl::new()).unwrap();
    assert_eq!((outcome.bill.bill_date.as_str(), outcome.bill.row_count), ("2026-11-25", 0));
}

#[test]
fn a_bill_whose_rows_contradict_its_type_is_refused() {
    let (success, refund) = wechat_fixture_split();
    let mut store = Store::open_in_memory().unwrap();
    // A SUCCESS row inside a REFUND bill (its header has 退款申请时间).
    let bad = refund.replacen("`REFUND,", "`SUCCESS,", 1);
    let err = import_bytes(&mut store, "r.txt", bad.as_bytes(), &ImportOptions::default(), &ImportControl::new())
        .unwrap_err();
    assert!(
        err.to_string().starts_with("r.txt line 2, column 交易状态: \"SUCCESS\" is not REFUND: a REFUND bill"),
        "{err}"
    );
    // A fetch that asked for SUCCESS and got another type.
    let asked = ImportOptions { bill_type: Some(tilldesk::store::recon::BillType::Success), ..Default::default() };
    let err = import_bytes(&mut store, "r.txt", refund.as_bytes(), &asked, &ImportControl::new()).unwrap_err();
    assert_eq!(err.to_string(), "r.txt is a REFUND bill, but a SUCCESS bill was asked for");
    import_bytes(&mut store, "s.txt", success.as_bytes(), &asked, &ImportControl::new()).unwrap();
    assert_eq!(bill_counts(&store).0, 1);
}

#[test]
fn a_partly_refunded_payment_the_till_never_saw_is_a_payment_to_adopt_and_a_refund() {
    // W007 paid 18.00 and refunded 10.00 at WeChat, unknown to the till: 8.00 was kept, so it is not "no money
    // kept": the payment stays one to adopt and the refund is its own one-sided entry.
    let mut store = Store::open_in_memory().unwrap();
    import(&mut store, "wechat_20261124.txt");
    let report =
        reconcile(&mut store, AcquirerKind::WechatPay, date!(2026 - 11 - 24), &ReconOptions::default(), Lang::En)
            .unwrap();
    let w007: Vec<(&str, Option<&str>)> = report
        .discrepancies
        .iter()
        .filter(|d| d.out_trade_no.as_deref() == Some("W007"))
        .map(|d| (d.reason.as_str(), d.out_request_no.as_deref()))
        .collect();
    assert_eq!(w007, [("no_local_order", None), ("refund_no_local_order", Some("WR007"))], "{}", report.to_text());
    // W006 (45.00 paid, 45.00 refunded) gave everything back: one entry.
    let w006: Vec<&str> = report
        .discrepancies
        .iter()
        .filter(|d| d.out_trade_no.as_deref() == Some("W006"))
        .map(|d| d.reason.as_str())
        .collect();
    assert_eq!(w006, ["no_local_order_refunded"]);
}
