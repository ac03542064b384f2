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
                acquirer_id: store.acquirer_for(kind).unwrap(),
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
        store.seed_orders(orders).unwrap();
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
