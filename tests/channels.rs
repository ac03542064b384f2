//! Both channel clients against the sandbox, beyond payments: refunds (full and partial, idempotent retries),
//! refund queries, and the daily bill download. The checkout engine's use of pay/query/cancel is in checkout.rs.

use std::time::Duration;

use tilldesk::channel::{
    BillResult, CancelResult, Channel, PayRequest, PayResult, QueryResult, RefundQueryResult, RefundRequest,
    RefundResult, RefundState,
};
use tilldesk::money::Amount;
use tilldesk::sandbox;

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

fn refund(out_trade_no: &str, out_request_no: &str, fen: i64, total: i64) -> RefundRequest {
    RefundRequest {
        out_trade_no: out_trade_no.into(),
        out_request_no: out_request_no.into(),
        refund_amount: Amount::from_fen(fen),
        total_amount: Amount::from_fen(total),
        reason: "顾客退货".into(),
    }
}

/// Queries a refund until the acquirer reports the final state (WeChat processes refunds asynchronously: the
/// sandbox's clock is moved on a second at a time meanwhile).
async fn settled_refund(
    sandbox: &sandbox::SandboxState,
    channel: &dyn Channel,
    out_trade_no: &str,
    out_request_no: &str,
) -> RefundQueryResult {
    for _ in 0..50 {
        match channel.refund_query(out_trade_no, out_request_no).await {
            RefundQueryResult::Found(RefundState::Processing) => sandbox.advance_clock(1),
            other => return other,
        }
    }
    panic!("the refund {out_request_no} never settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_bills_and_cancels_through_both_clients() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox::start(&dir.path().join("sb"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    // Trades made "yesterday" (sandbox clock one day back), so today's bill request finds them.
    {
        let mut config = sb.state.config.lock().unwrap();
        config.clock_offset_secs = -86_400;
        config.wechat_refund_delay_ms = 200;
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let (alipay, wechat) = sandbox::till::merchant_clients(&sb.state.accounts(), &sb.base_url(), 0, http).unwrap();
    let yesterday = (sb.state.now().to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap())).date();

    for (channel, code, tag) in
        [(&alipay as &dyn Channel, "2800000000000000", "A"), (&wechat as &dyn Channel, "130000000000000000", "W")]
    {
        let out = format!("CH{tag}1");
        let PayResult::Paid(info) = channel.pay(&pay_request(&out, code, 1000)).await else { panic!("{tag} pay") };
        assert!(info.trade_no.is_some());
        assert!(matches!(channel.query(&out).await, QueryResult::Paid(_)));
        assert_eq!(channel.query("CH-NEVER").await, QueryResult::NotFound, "{tag}");

        // Partial refund, retried with the same number: one refund at the acquirer.
        let first = channel.refund(&refund(&out, &format!("{out}-R1"), 300, 1000)).await;
        assert!(matches!(first, RefundResult::Accepted { .. }), "{tag}: {first:?}");
        let again = channel.refund(&refund(&out, &format!("{out}-R1"), 300, 1000)).await;
        assert!(matches!(again, RefundResult::Accepted { .. }), "{tag} idempotent retry: {again:?}");
        assert_eq!(
            settled_refund(&sb.state, channel, &out, &format!("{out}-R1")).await,
            RefundQueryResult::Found(RefundState::Success)
        );
        assert_eq!(channel.refund_query(&out, "NO-SUCH-REFUND").await, RefundQueryResult::NotFound, "{tag}");
        // More than what is left: refused with plain words.
        let RefundResult::Failed(f) = channel.refund(&refund(&out, &format!("{out}-R2"), 800, 1000)).await else {
            panic!("{tag}: over-refund must fail")
        };
        assert!(!f.message.is_empty());

        // An unpaid trade is cancelled/reversed and can never be charged afterwards.
        let never = format!("CH{tag}2");
        let waiting_code = if tag == "A" { "2800000000000200" } else { "130000000000000200" };
        let r = channel.pay(&pay_request(&never, waiting_code, 500)).await;
        assert!(matches!(r, PayResult::Waiting(_)), "{tag}: {r:?}");
        let mut cancelled = channel.cancel(&never).await;
        while let CancelResult::Retry(_) = cancelled {
            cancelled = channel.cancel(&never).await;
        }
        assert!(matches!(cancelled, CancelResult::Done { .. }), "{tag}: {cancelled:?}");
        let q = channel.query(&never).await;
        assert!(matches!(q, QueryResult::Closed(_)), "{tag}: {q:?}");
    }
    // Back to today: yesterday's bills are out.
    sb.state.config.lock().unwrap().clock_offset_secs = 0;
    for (channel, tag) in [(&alipay as &dyn Channel, "A"), (&wechat as &dyn Channel, "W")] {
        // The bill of "yesterday" holds the payment; a day with no trades has no bill.
        let bill = channel.bill(yesterday).await;
        let BillResult::Bill { file_name, bytes } = bill else { panic!("{tag} bill: {bill:?}") };
        assert!(!bytes.is_empty() && !file_name.contains('/'), "{tag}: {file_name}");
        if tag == "A" {
            assert!(bytes.starts_with(b"PK"), "Alipay bills are zips");
        } else {
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.contains(&format!("`CH{tag}1")), "the WeChat bill lists the order: {text}");
            // WeChat answers "No Bill Exist" for a day without trades (Alipay serves an empty bill).
            let long_ago = yesterday - time::Duration::days(30);
            assert_eq!(channel.bill(long_ago).await, BillResult::NoBill, "{tag}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_the_wrong_key_never_believes_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox::start(&dir.path().join("sb"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let mut accounts = sb.state.accounts();
    // The till holds another merchant's WeChat key: replies do not verify, and micropay is refused unsigned.
    accounts.merchants[0].wechatpay.api_key = "0123456789abcdef0123456789abcdef".into();
    // …and another platform key for Alipay: the genuine, signed answer cannot be verified.
    let other = accounts.merchants[0].alipay.app_public_key_pem.clone();
    accounts.merchants[0].alipay.alipay_public_key_pem = other;
    let (alipay, wechat) =
        sandbox::till::merchant_clients(&accounts, &sb.base_url(), 0, reqwest::Client::new()).unwrap();
    let r = alipay.pay(&pay_request("BADKEY1", "2800000000000000", 100)).await;
    assert!(matches!(r, PayResult::Unknown(ref why) if why.contains("cannot be trusted")), "{r:?}");
    let r = wechat.pay(&pay_request("BADKEY2", "130000000000000000", 100)).await;
    assert!(matches!(r, PayResult::Unknown(ref why) if why.contains("return_code=FAIL")), "{r:?}");
}

/// A pay request signed ahead (while the checkout commits its write-ahead row) is sent only for exactly that
/// request, once: another request after it is signed afresh, and the prepared one is not reused later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pay_request_signed_ahead_is_used_for_that_request_only() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox::start(&dir.path().join("sb"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let (alipay, _) = sandbox::till::merchant_clients(&sb.state.accounts(), &sb.base_url(), 0, http).unwrap();
    // Prepared for one order, then another order is paid: it must be the other order that is charged.
    alipay.prepare_pay(&pay_request("PRE1", "2800000000000000", 100));
    let PayResult::Paid(info) = alipay.pay(&pay_request("PRE2", "2800000000000000", 250)).await else { panic!() };
    assert_eq!(info.amount, Some(Amount::from_fen(250)));
    assert_eq!(alipay.query("PRE1").await, QueryResult::NotFound, "the prepared request was never sent");
    // Prepared and paid: the same request, charged once.
    let req = pay_request("PRE3", "2800000000000000", 300);
    alipay.prepare_pay(&req);
    let PayResult::Paid(info) = alipay.pay(&req).await else { panic!() };
    assert_eq!(info.amount, Some(Amount::from_fen(300)));
    let ledger = sb.state.ledger.dump().unwrap();
    let trades: Vec<_> = ledger["trades"].as_array().unwrap().iter().filter(|t| t["out_trade_no"] == "PRE3").collect();
    assert_eq!(trades.len(), 1);
}
