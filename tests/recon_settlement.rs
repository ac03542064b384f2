//! Bills that tell the truth about reversed payments (issue 18, item 8), and settlement: Alipay's account bill
//! (账务明细) checked against the trade bill of the same day.

mod recon_common;

use std::time::Duration;

use tilldesk::channel::{BillResult, CancelResult, Channel, PayRequest, PayResult, QueryResult};
use tilldesk::i18n::Lang;
use tilldesk::model::AcquirerKind;
use tilldesk::money::Amount;
use tilldesk::recon::{ImportControl, ImportOptions, ReconOptions, import_bytes};
use tilldesk::sandbox;
use tilldesk::store::Store;
use tilldesk::store::recon::SeedOrder;

fn pay_request(out_trade_no: &str, auth_code: &str, fen: i64) -> PayRequest {
    PayRequest {
        out_trade_no: out_trade_no.into(),
        auth_code: auth_code.into(),
        amount: Amount::from_fen(fen),
        subject: "拿铁 Latte".into(),
        store_id: Some("S001".into()),
        terminal_id: Some("T01".into()),
        operator_id: None,
    }
}

/// Pays two trades "yesterday" through both acquirers and reverses one of them (Alipay trade.cancel after payment,
/// WeChat reverse). The query API says the reversed one is closed; the day's bill must agree: reconciled against
/// the till (one order paid, one cancelled) there is no difference, and the day's net is the kept payment only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_reversed_in_the_sandbox_is_not_money_kept_in_its_bill() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox::start(&dir.path().join("sb"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    sb.state.config.lock().unwrap().clock_offset_secs = -86_400;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let (alipay, wechat) = sandbox::till::merchant_clients(&sb.state.accounts(), &sb.base_url(), 0, http).unwrap();
    let china = time::UtcOffset::from_hms(8, 0, 0).unwrap();
    let yesterday = sb.state.now().to_offset(china).date();
    let at =
        sb.state.now().replace_nanosecond(0).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap();

    let mut store = Store::open_in_memory().unwrap();
    let cases = [
        (&alipay as &dyn Channel, AcquirerKind::Alipay, "2800000000000000", "A"),
        (&wechat as &dyn Channel, AcquirerKind::WechatPay, "130000000000000000", "W"),
    ];
    for (channel, kind, code, tag) in cases {
        let (kept, reversed) = (format!("RV{tag}1"), format!("RV{tag}2"));
        let mut orders = Vec::new();
        for (out, fen) in [(&kept, 1000), (&reversed, 2000)] {
            let PayResult::Paid(info) = channel.pay(&pay_request(out, code, fen)).await else { panic!("{tag} pay") };
            orders.push(SeedOrder {
                out_trade_no: out.clone(),
                trade_no: info.trade_no.clone(),
                acquirer_id: store.setup_mut().acquirer_for(kind).unwrap(),
                subject: "拿铁 Latte".into(),
                total_amount: fen,
                refunded_amount: 0,
                status: if out == &kept { "PAID" } else { "CANCELLED" }.into(),
                created_at: at.clone(),
                paid_at: Some(at.clone()),
            });
        }
        let mut cancelled = channel.cancel(&reversed).await;
        while let CancelResult::Retry(_) = cancelled {
            cancelled = channel.cancel(&reversed).await;
        }
        // (WeChat's reverse does not say whether money went back; Alipay's action=refund does.)
        assert!(matches!(cancelled, CancelResult::Done { refunded } if refunded || tag == "W"), "{tag}: {cancelled:?}");
        let q = channel.query(&reversed).await;
        assert!(matches!(q, QueryResult::Closed(_)), "{tag}: the query API says it is closed: {q:?}");
        store.recon_mut().seed_orders(orders).unwrap();
    }
    sb.state.config.lock().unwrap().clock_offset_secs = 0;

    for (channel, kind, _, tag) in cases {
        let BillResult::Bill { file_name, bytes } = channel.bill(yesterday).await else { panic!("{tag} bill") };
        if kind == AcquirerKind::WechatPay {
            let text = String::from_utf8(bytes.clone()).unwrap();
            let line = text.lines().find(|l| l.contains("`RVW2")).unwrap_or_else(|| panic!("listed: {text}"));
            assert!(line.contains("`REVOKED"), "the ALL bill lists the reversed trade REVOKED: {line}");
        }
        let options = ImportOptions { acquirer: Some(kind), ..ImportOptions::default() };
        import_bytes(&mut store, &file_name, &bytes, &options, &ImportControl::new()).unwrap();
        let report =
            tilldesk::recon::reconcile(&mut store, kind, yesterday, &ReconOptions::default(), Lang::En).unwrap();
        assert!(report.discrepancies.is_empty(), "{tag}: {}", report.to_text());
        assert_eq!(report.matched.count, 1, "{tag}");
        // 10.00 kept, less the sandbox's 0.6% fee (0.06); the reversed 20.00 and its fee are not in the net.
        assert_eq!(report.fees.net, Amount::from_fen(994), "{tag}: {}", report.to_text());
    }
}

/// Compares with the expected text; `UPDATE_EXPECTED=1` rewrites it (then read the diff before committing).
fn assert_expected(name: &str, actual: &str) {
    let path = recon_common::fixture(name);
    if std::env::var_os("UPDATE_EXPECTED").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(actual, expected, "the check differs from {}", path.display());
}

fn import_account(store: &mut Store, path: &std::path::Path) -> tilldesk::recon::settlement::AccountImport {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    tilldesk::recon::settlement::import_account_file(store, path, &name, None, None, None).unwrap()
}

/// The fixture day: the trade bill of 2026-11-24 and its account bill with planted differences (README.md): A003's
/// payment never arrived, A004 arrived short, A006's refund names another out_trade_no, A099 is not a trade of the
/// day, and a withdrawal is counted apart.
#[test]
fn settlement_fixture_gives_the_expected_check() {
    use tilldesk::recon::settlement::{Issue, Movement, check};
    let mut store = Store::open_in_memory().unwrap();
    tilldesk::recon::import_file(
        &mut store,
        &recon_common::fixture("alipay_20261124.csv.zip"),
        &ImportOptions::default(),
        &ImportControl::new(),
    )
    .unwrap();
    let imported = import_account(&mut store, &recon_common::fixture("alipay_account_20261124.csv.zip"));
    assert_eq!((imported.bill.bill_date.as_str(), imported.bill.row_count), ("2026-11-24", 23));
    let again = import_account(&mut store, &recon_common::fixture("alipay_account_20261124.csv.zip"));
    assert!(again.already_imported);

    let alipay = store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap();
    let c = check(&store, alipay, time::macros::date!(2026 - 11 - 24)).unwrap();
    assert_eq!(c.trade_net, Amount::from_fen(31_705), "Σ商家实收 319.00 + Σ服务费 −1.95, as the 汇总's 实收净额");
    assert_eq!(c.arrived, Amount::from_fen(26_805));
    assert_eq!((c.other_count, c.other_amount), (1, Amount::from_fen(-30_000)));
    let items: Vec<(Issue, Movement, &str)> =
        c.items.iter().map(|i| (i.issue, i.movement, i.out_trade_no.as_str())).collect();
    assert_eq!(
        items,
        [
            (Issue::Missing, Movement::Payment, "A003"),
            (Issue::Different, Movement::Payment, "A004"),
            (Issue::Different, Movement::Refund, "A006"),
            (Issue::Extra, Movement::Payment, "A099"),
        ]
    );
    assert!(!c.ok());
    assert_expected("alipay_account_20261124.expected.txt", &c.to_text(Lang::En));
}

/// An account bill whose rows do not add up to its own totals is refused with the file's name; nothing is stored.
#[test]
fn an_account_bill_that_does_not_add_up_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let text = "#支付宝账务明细查询\n#账号：[20880211096256330156]\n#起始日期：[2026年11月24日 00:00:00]   终止日期：[2026年11月25日 00:00:00]\n账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注\n1\t,T1\t,A1\t,咖啡\t,2026-11-24 09:00:00,x\t,10.00,0.00,10.00,支付宝,在线支付,\n#支出合计：0笔，共0.00元\n#收入合计：1笔，共11.00元\n";
    let path = dir.path().join("20880211096256330156_20261124_账务明细.csv");
    std::fs::write(&path, encoding_rs::GBK.encode(text).0).unwrap();
    assert!(tilldesk::recon::settlement::is_account_file(&path), "told apart by content");
    let mut store = Store::open_in_memory().unwrap();
    let err = tilldesk::recon::settlement::import_account_file(&mut store, &path, "day.csv", None, None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("day.csv") && err.contains("收入") && err.contains("Nothing was imported"), "{err}");
    let alipay = store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap();
    assert!(store.recon().account_bill_of_day(alipay, "2026-11-24").unwrap().is_none());
}

/// The sandbox serves the account bill (bill_type=signcustomer): payments, a partial refund and a reversal each
/// have their balance and 收费 rows, and the day's trade net arrived. Both downloads are archived as fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandboxs_account_bill_settles_its_trade_bill() {
    use tilldesk::channel::{RefundRequest, RefundResult};
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox::start(&dir.path().join("sb"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    sb.state.config.lock().unwrap().clock_offset_secs = -86_400;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let (alipay, _) = sandbox::till::merchant_clients(&sb.state.accounts(), &sb.base_url(), 0, http).unwrap();
    let yesterday = sb.state.now().to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap()).date();
    for (out, fen) in [("S1", 1000), ("S2", 2345), ("S3", 500)] {
        assert!(matches!(alipay.pay(&pay_request(out, "2800000000000000", fen)).await, PayResult::Paid(_)));
    }
    let refund = RefundRequest {
        out_trade_no: "S2".into(),
        out_request_no: "S2-R1".into(),
        refund_amount: Amount::from_fen(345),
        total_amount: Amount::from_fen(2345),
        reason: "退一杯".into(),
    };
    assert!(matches!(alipay.refund(&refund).await, RefundResult::Accepted { .. }));
    assert!(matches!(alipay.cancel("S3").await, CancelResult::Done { refunded: true }));
    sb.state.config.lock().unwrap().clock_offset_secs = 0;

    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut store = Store::open(&data.join("tilldesk.sqlite3")).unwrap();
    let account = store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap();
    let trade = tilldesk::recon::fetch::fetch(&alipay, yesterday).await.unwrap();
    tilldesk::recon::fetch::save_and_import(
        &mut store,
        &data,
        account,
        &alipay,
        yesterday,
        &trade,
        &ImportControl::new(),
    )
    .unwrap();
    let bill = tilldesk::recon::settlement::fetch_account(&alipay, yesterday).await.unwrap();
    let imported =
        tilldesk::recon::settlement::save_and_import_account(&mut store, &data, account, yesterday, &bill).unwrap();
    // S1, S2, S3 paid; S2's refund; S3's reversal: a balance row and a 收费 row each.
    assert_eq!(imported.bill.row_count, 10, "{imported:?}");
    let c = tilldesk::recon::settlement::check(&store, account, yesterday).unwrap();
    assert!(c.ok(), "{}", c.to_text(Lang::En));
    // 10.00 + 23.45 − 3.45 = 30.00 kept; fees 0.06 + 0.14 − 0.02 = 0.18.
    assert_eq!((c.trade_net, c.arrived, c.matched), (Amount::from_fen(2982), Amount::from_fen(2982), 10));
    let archived = store.recon().archived_bills(Some(&tilldesk::recon::date_text(yesterday)), None).unwrap();
    let kinds: Vec<(&str, &str)> = archived.iter().map(|a| (a.bill_type.as_str(), a.source.as_str())).collect();
    assert_eq!(kinds, [("trade", "fetched"), ("signcustomer", "fetched")]);
}
