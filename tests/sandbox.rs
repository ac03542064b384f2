//! The sandbox end to end over HTTP: every endpoint, every test-code behaviour, every fault kind, bills, onboarding
//! and CDS, wallet scans with notifications. Requests are signed with TillDesk's channel code; responses are
//! verified here BY HAND with the documented rules, so a shared bug cannot hide.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};
use tilldesk::channel::alipay::sign as alipay_sign;
use tilldesk::channel::wechatpay::sign::{self as wx_sign, SignType};
use tilldesk::channel::wechatpay::wire::{from_xml, to_xml};

mod sandbox_common;

use sandbox_common::{Sb, start, verify_wechat_by_hand};

impl Sb {
    /// Signs an OpenAPI request the documented way and returns the raw response body.
    async fn alipay_raw(&self, method: &str, biz: &Value) -> String {
        let m = &self.accounts.merchants[0].alipay;
        let mut params = BTreeMap::new();
        params.insert("app_id".to_string(), m.app_id.clone());
        params.insert("method".into(), method.into());
        params.insert("format".into(), "JSON".into());
        params.insert("charset".into(), "utf-8".into());
        params.insert("sign_type".into(), "RSA2".into());
        params.insert("timestamp".into(), "2026-11-25 10:00:00".into());
        params.insert("version".into(), "1.0".into());
        params.insert("biz_content".into(), biz.to_string());
        let key = alipay_sign::parse_private_key(&m.app_private_key_pkcs1_pem).unwrap();
        let sign = alipay_sign::sign_rsa2(&key, &alipay_sign::request_sign_content(&params)).unwrap();
        params.insert("sign".into(), sign);
        self.http.post(self.url("/gateway.do")).form(&params).send().await.unwrap().text().await.unwrap()
    }

    /// A verified response node.
    async fn alipay(&self, method: &str, biz: Value) -> Value {
        let body = self.alipay_raw(method, &biz).await;
        verify_alipay_by_hand(&self.accounts.platform.alipay_public_key_pem, method, &body)
            .unwrap_or_else(|e| panic!("{method}: {e}\n{body}"))
    }

    async fn wechat_raw(&self, path: &str, fields: &[(&str, &str)], sign_type: SignType) -> String {
        let w = &self.accounts.merchants[0].wechatpay;
        let mut f: BTreeMap<String, String> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        f.insert("appid".into(), w.appid.clone());
        f.insert("mch_id".into(), w.mch_id.clone());
        f.insert("nonce_str".into(), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into());
        if sign_type == SignType::HmacSha256 {
            f.insert("sign_type".into(), "HMAC-SHA256".into());
        }
        let sign = wx_sign::sign(&f, &w.api_key, sign_type);
        f.insert("sign".into(), sign);
        self.http.post(self.url(path)).body(to_xml(&f)).send().await.unwrap().text().await.unwrap()
    }

    /// A verified WeChat response.
    async fn wechat(&self, path: &str, fields: &[(&str, &str)]) -> BTreeMap<String, String> {
        let body = self.wechat_raw(path, fields, SignType::Md5).await;
        let f = from_xml(&body).unwrap_or_else(|e| panic!("{path}: {e}\n{body}"));
        assert_eq!(f.get("return_code").map(String::as_str), Some("SUCCESS"), "{body}");
        verify_wechat_by_hand(&f, &self.accounts.merchants[0].wechatpay.api_key);
        f
    }
}

/// The documented response rule, applied without TillDesk's helper: the signed content is the exact text between
/// `{"<method>_response":` and `,"sign":"`; the signature is SHA256withRSA (PKCS#1 v1.5) by the platform key.
fn verify_alipay_by_hand(platform_public_pem: &str, method: &str, body: &str) -> Result<Value, String> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;
    let node_name = format!("{}_response", method.replace('.', "_"));
    let prefix = format!("{{\"{node_name}\":");
    let rest = body.strip_prefix(&prefix).ok_or("the body does not start with the response node")?;
    let cut = rest.rfind(",\"sign\":\"").ok_or("no sign after the node")?;
    let content = &rest[..cut];
    let sign_b64 = rest[cut + 9..].strip_suffix("\"}").ok_or("the body does not end after the sign")?;
    let key = rsa::PublicKey::from_public_key_pem(platform_public_pem).map_err(|e| e.to_string())?;
    let verifying = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key);
    let raw = base64::engine::general_purpose::STANDARD.decode(sign_b64).map_err(|e| e.to_string())?;
    let signature = rsa::pkcs1v15::Signature::try_from(raw.as_slice()).map_err(|e| e.to_string())?;
    verifying.verify(content.as_bytes(), &signature).map_err(|_| "the signature does not verify".to_string())?;
    serde_json::from_str(content).map_err(|e| e.to_string())
}

fn alipay_code(suffix: &str) -> String {
    format!("28{:0>14}", suffix)
}

fn wechat_code(suffix: &str) -> String {
    format!("13{:0>16}", suffix)
}

fn pay_biz(out_trade_no: &str, auth_code: &str, amount: &str) -> Value {
    json!({"out_trade_no": out_trade_no, "scene": "bar_code", "auth_code": auth_code, "subject": "拿铁咖啡 Latte",
           "total_amount": amount, "store_id": "S001"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_every_test_code_behaves_as_documented() {
    let sb = start().await;
    // 00: paid at once.
    let n = sb.alipay("alipay.trade.pay", pay_biz("A-OK", &alipay_code("0000"), "88.88")).await;
    assert_eq!(n["code"], "10000");
    assert_eq!(n["total_amount"], "88.88");
    assert!(n["trade_no"].as_str().is_some_and(|t| !t.is_empty()));
    // 01 with 0 s: 10003, then the first query finds it paid.
    let n = sb.alipay("alipay.trade.pay", pay_biz("A-PW0", &alipay_code("0100"), "1.00")).await;
    assert_eq!((n["code"].as_str(), n["msg"].as_str()), (Some("10003"), Some(" order success pay inprocess")));
    let q = sb.alipay("alipay.trade.query", json!({"out_trade_no": "A-PW0"})).await;
    assert_eq!(q["trade_status"], "TRADE_SUCCESS");
    // 01 with 1 s: waiting, then paid.
    sb.alipay("alipay.trade.pay", pay_biz("A-PW1", &alipay_code("0101"), "1.00")).await;
    let q = sb.alipay("alipay.trade.query", json!({"out_trade_no": "A-PW1"})).await;
    assert_eq!(q["trade_status"], "WAIT_BUYER_PAY");
    // The customer types the password (the sandbox's clock moves on 2 s).
    sb.admin("/admin/config", json!({"clock_offset_secs": 2})).await;
    let q = sb.alipay("alipay.trade.query", json!({"out_trade_no": "A-PW1"})).await;
    assert_eq!(q["trade_status"], "TRADE_SUCCESS");
    // 02: never pays; cancel closes it.
    let n = sb.alipay("alipay.trade.pay", pay_biz("A-NEVER", &alipay_code("0200"), "1.00")).await;
    assert_eq!(n["code"], "10003");
    let c = sb.alipay("alipay.trade.cancel", json!({"out_trade_no": "A-NEVER"})).await;
    assert_eq!((c["action"].as_str(), c["retry_flag"].as_str()), (Some("close"), Some("N")));
    let q = sb.alipay("alipay.trade.query", json!({"out_trade_no": "A-NEVER"})).await;
    assert_eq!(q["trade_status"], "TRADE_CLOSED");
    // 03, 04, 06: definite failures.
    for (suffix, sub_code) in [
        ("0300", "ACQ.BUYER_BALANCE_NOT_ENOUGH"),
        ("0400", "ACQ.PAYMENT_AUTH_CODE_INVALID"),
        ("0600", "ACQ.PAYMENT_AUTH_CODE_INVALID"),
    ] {
        let n = sb.alipay("alipay.trade.pay", pay_biz(&format!("A-F{suffix}"), &alipay_code(suffix), "1.00")).await;
        assert_eq!((n["code"].as_str(), n["sub_code"].as_str()), (Some("40004"), Some(sub_code)), "{suffix}");
    }
    // 05: system error, yet paid.
    let n = sb.alipay("alipay.trade.pay", pay_biz("A-SYS", &alipay_code("0500"), "2.00")).await;
    assert_eq!(n["code"], "20000");
    let q = sb.alipay("alipay.trade.query", json!({"out_trade_no": "A-SYS"})).await;
    assert_eq!(q["trade_status"], "TRADE_SUCCESS");
    // Not a payment code.
    let n = sb.alipay("alipay.trade.pay", pay_biz("A-BAD", "99999", "1.00")).await;
    assert_eq!(n["sub_code"], "ACQ.PAYMENT_AUTH_CODE_INVALID");
    // The same out_trade_no again never charges twice.
    let n = sb.alipay("alipay.trade.pay", pay_biz("A-OK", &alipay_code("0000"), "88.88")).await;
    assert_eq!(n["sub_code"], "ACQ.TRADE_HAS_SUCCESS");
    let ledger = sb.ledger().await;
    let ok: Vec<_> = ledger["trades"].as_array().unwrap().iter().filter(|t| t["out_trade_no"] == "A-OK").collect();
    assert_eq!(ok.len(), 1);
    sb.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_refunds_cancel_close_and_precreate() {
    let sb = start().await;
    sb.alipay("alipay.trade.pay", pay_biz("R1", &alipay_code("0000"), "10.00")).await;
    let r = sb
        .alipay(
            "alipay.trade.refund",
            json!({"out_trade_no": "R1", "refund_amount": "3.00", "out_request_no": "R1-1", "refund_reason": "退一杯"}),
        )
        .await;
    assert_eq!((r["fund_change"].as_str(), r["refund_fee"].as_str()), (Some("Y"), Some("3.00")));
    let again = sb
        .alipay("alipay.trade.refund", json!({"out_trade_no": "R1", "refund_amount": "3.00", "out_request_no": "R1-1"}))
        .await;
    assert_eq!((again["fund_change"].as_str(), again["refund_fee"].as_str()), (Some("N"), Some("3.00")));
    let discordant = sb
        .alipay("alipay.trade.refund", json!({"out_trade_no": "R1", "refund_amount": "4.00", "out_request_no": "R1-1"}))
        .await;
    assert_eq!(discordant["sub_code"], "ACQ.DISCORDANT_REPEAT_REQUEST");
    let too_much = sb
        .alipay("alipay.trade.refund", json!({"out_trade_no": "R1", "refund_amount": "7.01", "out_request_no": "R1-2"}))
        .await;
    assert_eq!(too_much["sub_code"], "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
    let rq =
        sb.alipay("alipay.trade.fastpay.refund.query", json!({"out_trade_no": "R1", "out_request_no": "R1-1"})).await;
    assert_eq!((rq["refund_status"].as_str(), rq["refund_amount"].as_str()), (Some("REFUND_SUCCESS"), Some("3.00")));
    let unknown =
        sb.alipay("alipay.trade.fastpay.refund.query", json!({"out_trade_no": "R1", "out_request_no": "nope"})).await;
    assert_eq!(unknown["code"], "10000");
    assert!(unknown.get("refund_status").is_none());
    let rest = sb
        .alipay("alipay.trade.refund", json!({"out_trade_no": "R1", "refund_amount": "7.00", "out_request_no": "R1-2"}))
        .await;
    assert_eq!(rest["refund_fee"], "10.00");
    let q = sb.alipay("alipay.trade.query", json!({"out_trade_no": "R1"})).await;
    assert_eq!(q["trade_status"], "TRADE_CLOSED", "fully refunded trades are closed");

    // Cancel after success refunds it (action=refund).
    sb.alipay("alipay.trade.pay", pay_biz("C1", &alipay_code("0000"), "5.00")).await;
    let c = sb.alipay("alipay.trade.cancel", json!({"out_trade_no": "C1"})).await;
    assert_eq!(c["action"], "refund");
    // Cancel before any pay closes the number: a late pay cannot charge it.
    let c = sb.alipay("alipay.trade.cancel", json!({"out_trade_no": "LATE"})).await;
    assert_eq!(c["action"], "close");
    let late = sb.alipay("alipay.trade.pay", pay_biz("LATE", &alipay_code("0000"), "5.00")).await;
    assert_eq!(late["sub_code"], "ACQ.TRADE_HAS_CLOSE");

    // Close only waiting trades.
    sb.alipay("alipay.trade.pay", pay_biz("W1", &alipay_code("0200"), "5.00")).await;
    assert_eq!(sb.alipay("alipay.trade.close", json!({"out_trade_no": "W1"})).await["code"], "10000");
    assert_eq!(
        sb.alipay("alipay.trade.close", json!({"out_trade_no": "W1"})).await["sub_code"],
        "ACQ.TRADE_STATUS_ERROR"
    );
    assert_eq!(
        sb.alipay("alipay.trade.query", json!({"out_trade_no": "none"})).await["sub_code"],
        "ACQ.TRADE_NOT_EXIST"
    );

    // Precreate, then a wallet scans the dynamic code.
    let p = sb
        .alipay("alipay.trade.precreate", json!({"out_trade_no": "D1", "subject": "动态码", "total_amount": "6.60"}))
        .await;
    let qr = p["qr_code"].as_str().unwrap().to_owned();
    assert!(qr.starts_with("https://qr.alipay.com/"));
    let scan: Value = sb
        .http
        .post(sb.url("/simulate/scan"))
        .json(&json!({"payload": qr}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scan["resolved_by"], "dynamic");
    let q = sb.alipay("alipay.trade.query", json!({"out_trade_no": "D1"})).await;
    assert_eq!((q["trade_status"].as_str(), q["total_amount"].as_str()), (Some("TRADE_SUCCESS"), Some("6.60")));
    sb.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_gateway_checks_signatures_and_parameters() {
    let sb = start().await;
    let m = &sb.accounts.merchants[0].alipay;
    let key = alipay_sign::parse_private_key(&m.app_private_key_pkcs8_pem).unwrap();
    let mut params = BTreeMap::new();
    params.insert("app_id".to_string(), m.app_id.clone());
    params.insert("method".into(), "alipay.trade.query".into());
    params.insert("charset".into(), "utf-8".into());
    params.insert("sign_type".into(), "RSA2".into());
    params.insert("timestamp".into(), "2026-11-25 10:00:00".into());
    params.insert("version".into(), "1.0".into());
    params.insert("biz_content".into(), r#"{"out_trade_no":"X"}"#.into());
    let sign = alipay_sign::sign_rsa2(&key, &alipay_sign::request_sign_content(&params)).unwrap();
    params.insert("sign".into(), sign);
    // Everything in the query string, GET, no `format` (python-alipay-sdk style) is accepted.
    let body = sb.http.get(sb.url("/gateway.do")).query(&params).send().await.unwrap().text().await.unwrap();
    let node = verify_alipay_by_hand(&sb.accounts.platform.alipay_public_key_pem, "alipay.trade.query", &body).unwrap();
    assert_eq!(node["sub_code"], "ACQ.TRADE_NOT_EXIST");
    // A tampered biz_content fails verification with the documented error, signed as well.
    params.insert("biz_content".into(), r#"{"out_trade_no":"Y"}"#.into());
    let body = sb.http.post(sb.url("/gateway.do")).form(&params).send().await.unwrap().text().await.unwrap();
    let node = verify_alipay_by_hand(&sb.accounts.platform.alipay_public_key_pem, "alipay.trade.query", &body).unwrap();
    assert_eq!((node["code"].as_str(), node["sub_code"].as_str()), (Some("40002"), Some("isv.invalid-signature")));
    // Unknown app, missing sign.
    params.insert("app_id".into(), "1234".into());
    let body = sb.http.post(sb.url("/gateway.do")).form(&params).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("isv.invalid-app-id"), "{body}");
    params.remove("sign");
    let body = sb.http.post(sb.url("/gateway.do")).form(&params).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("isv.missing-signature"), "{body}");
    sb.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_every_test_code_behaves_as_documented() {
    let sb = start().await;
    let pay = |out: String, code: String| {
        vec![
            ("body".to_string(), "image形象店-深圳腾大- QQ公仔".to_string()),
            ("out_trade_no".to_string(), out),
            ("total_fee".to_string(), "888".to_string()),
            ("spbill_create_ip".to_string(), "127.0.0.1".to_string()),
            ("auth_code".to_string(), code),
        ]
    };
    async fn micro(sb: &Sb, fields: Vec<(String, String)>) -> BTreeMap<String, String> {
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        sb.wechat("/pay/micropay", &refs).await
    }
    let r = micro(&sb, pay("W-OK".into(), wechat_code("0000"))).await;
    assert_eq!((r["result_code"].as_str(), r["total_fee"].as_str()), ("SUCCESS", "888"));
    assert_eq!(r["trade_type"], "MICROPAY");
    let r = micro(&sb, pay("W-PW".into(), wechat_code("0100"))).await;
    assert_eq!(r["err_code"], "USERPAYING");
    let q = sb.wechat("/pay/orderquery", &[("out_trade_no", "W-PW")]).await;
    assert_eq!(q["trade_state"], "SUCCESS");
    let r = micro(&sb, pay("W-NEVER".into(), wechat_code("0200"))).await;
    assert_eq!(r["err_code"], "USERPAYING");
    let q = sb.wechat("/pay/orderquery", &[("out_trade_no", "W-NEVER")]).await;
    assert_eq!(q["trade_state"], "USERPAYING");
    let rev = sb.wechat("/secapi/pay/reverse", &[("out_trade_no", "W-NEVER")]).await;
    assert_eq!((rev["result_code"].as_str(), rev["recall"].as_str()), ("SUCCESS", "N"));
    let q = sb.wechat("/pay/orderquery", &[("out_trade_no", "W-NEVER")]).await;
    assert_eq!(q["trade_state"], "REVOKED");
    for (suffix, err) in [("0300", "NOTENOUGH"), ("0400", "AUTHCODEEXPIRE"), ("0600", "AUTH_CODE_ERROR")] {
        let r = micro(&sb, pay(format!("W-F{suffix}"), wechat_code(suffix))).await;
        assert_eq!((r["result_code"].as_str(), r["err_code"].as_str()), ("FAIL", err), "{suffix}");
    }
    let r = micro(&sb, pay("W-SYS".into(), wechat_code("0500"))).await;
    assert_eq!(r["err_code"], "SYSTEMERROR");
    assert_eq!(sb.wechat("/pay/orderquery", &[("out_trade_no", "W-SYS")]).await["trade_state"], "SUCCESS");
    let r = micro(&sb, pay("W-BAD".into(), "123".into())).await;
    assert_eq!(r["err_code"], "AUTH_CODE_INVALID");
    // An identical re-submit reports the state; another code for a paid order is ORDERPAID.
    assert_eq!(micro(&sb, pay("W-OK".into(), wechat_code("0000"))).await["result_code"], "SUCCESS");
    assert_eq!(micro(&sb, pay("W-OK".into(), wechat_code("9900"))).await["err_code"], "ORDERPAID");
    assert_eq!(sb.wechat("/pay/orderquery", &[("out_trade_no", "none")]).await["err_code"], "ORDERNOTEXIST");
    // Reversing a paid order returns the money.
    sb.wechat("/secapi/pay/reverse", &[("out_trade_no", "W-OK")]).await;
    assert_eq!(sb.wechat("/pay/orderquery", &[("out_trade_no", "W-OK")]).await["trade_state"], "REVOKED");
    sb.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_refunds_are_asynchronous_and_idempotent() {
    let sb = start().await;
    sb.admin("/admin/config", json!({"wechat_refund_delay_ms": 300})).await;
    let code = wechat_code("0000");
    sb.wechat(
        "/pay/micropay",
        &[
            ("body", "咖啡"),
            ("out_trade_no", "WR1"),
            ("total_fee", "1000"),
            ("spbill_create_ip", "127.0.0.1"),
            ("auth_code", &code),
        ],
    )
    .await;
    let refund = [("out_trade_no", "WR1"), ("out_refund_no", "WR1-1"), ("total_fee", "1000"), ("refund_fee", "400")];
    let r = sb.wechat("/secapi/pay/refund", &refund).await;
    assert_eq!((r["result_code"].as_str(), r["refund_fee"].as_str()), ("SUCCESS", "400"));
    let again = sb.wechat("/secapi/pay/refund", &refund).await;
    assert_eq!(again["refund_id"], r["refund_id"], "the same out_refund_no is the same refund");
    let q = sb.wechat("/pay/refundquery", &[("out_refund_no", "WR1-1")]).await;
    assert_eq!(q["refund_status_0"], "PROCESSING");
    // WeChat finishes the refund (the sandbox's clock moves on 1 s).
    sb.admin("/admin/config", json!({"wechat_refund_delay_ms": 300, "clock_offset_secs": 1})).await;
    let q = sb.wechat("/pay/refundquery", &[("out_trade_no", "WR1")]).await;
    assert_eq!((q["refund_status_0"].as_str(), q["refund_count"].as_str()), ("SUCCESS", "1"));
    assert_eq!(sb.wechat("/pay/orderquery", &[("out_trade_no", "WR1")]).await["trade_state"], "REFUND");
    let too_much = sb
        .wechat(
            "/secapi/pay/refund",
            &[("out_trade_no", "WR1"), ("out_refund_no", "WR1-2"), ("total_fee", "1000"), ("refund_fee", "601")],
        )
        .await;
    assert_eq!(too_much["result_code"], "FAIL");
    assert_eq!(sb.wechat("/pay/refundquery", &[("out_refund_no", "nope")]).await["err_code"], "REFUNDNOTEXIST");
    sb.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_signatures_both_types_and_bad_requests() {
    let sb = start().await;
    let code = wechat_code("0000");
    let fields = [
        ("body", "test"),
        ("out_trade_no", "H1"),
        ("total_fee", "1"),
        ("spbill_create_ip", "127.0.0.1"),
        ("auth_code", code.as_str()),
    ];
    let body = sb.wechat_raw("/pay/micropay", &fields, SignType::HmacSha256).await;
    let f = from_xml(&body).unwrap();
    assert_eq!(f["result_code"], "SUCCESS", "{body}");
    wx_sign::verify(&f, &sb.accounts.merchants[0].wechatpay.api_key, SignType::HmacSha256).unwrap();
    // A wrong signature is a communication failure, unsigned.
    let mut bad: BTreeMap<String, String> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    bad.insert("mch_id".into(), sb.accounts.merchants[0].wechatpay.mch_id.clone());
    bad.insert("nonce_str".into(), "x".into());
    bad.insert("sign".into(), "0000".into());
    let body = sb.http.post(sb.url("/pay/micropay")).body(to_xml(&bad)).send().await.unwrap().text().await.unwrap();
    let f = from_xml(&body).unwrap();
    assert_eq!((f["return_code"].as_str(), f["return_msg"].as_str()), ("FAIL", "签名错误"));
    let body = sb.http.post(sb.url("/pay/micropay")).body("<xml><a>").send().await.unwrap().text().await.unwrap();
    assert!(body.contains("FAIL"), "{body}");
    sb.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_kind_fires() {
    let sb = start().await;
    // http_500: not handled.
    sb.admin("/admin/faults", json!({"target": "alipay.trade.pay", "kind": "http_500", "count": 1})).await;
    let raw = sb.alipay_raw("alipay.trade.pay", &pay_biz("F500", &alipay_code("0000"), "1.00")).await;
    assert_eq!(raw, "Internal Server Error");
    assert_eq!(
        sb.alipay("alipay.trade.query", json!({"out_trade_no": "F500"})).await["sub_code"],
        "ACQ.TRADE_NOT_EXIST"
    );
    // drop_after_commit: the response is lost, the charge is not.
    sb.admin("/admin/faults", json!({"target": "alipay.trade.pay", "kind": "drop_after_commit", "count": 1})).await;
    let m = &sb.accounts.merchants[0].alipay;
    let mut params = BTreeMap::new();
    for (k, v) in [
        ("app_id", m.app_id.as_str()),
        ("method", "alipay.trade.pay"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("timestamp", "2026-11-25 10:00:00"),
        ("version", "1.0"),
    ] {
        params.insert(k.to_string(), v.to_string());
    }
    params.insert("biz_content".into(), pay_biz("FDROP", &alipay_code("0000"), "1.00").to_string());
    let k = alipay_sign::parse_private_key(&m.app_private_key_pkcs8_pem).unwrap();
    params.insert("sign".into(), alipay_sign::sign_rsa2(&k, &alipay_sign::request_sign_content(&params)).unwrap());
    let lost = match sb.http.post(sb.url("/gateway.do")).form(&params).send().await {
        Ok(r) => r.text().await.is_err(),
        Err(_) => true,
    };
    assert!(lost, "the response must be lost");
    assert_eq!(
        sb.alipay("alipay.trade.query", json!({"out_trade_no": "FDROP"})).await["trade_status"],
        "TRADE_SUCCESS"
    );
    // malformed: handled, body unparsable.
    sb.admin("/admin/faults", json!({"target": "alipay.trade.pay", "kind": "malformed", "count": 1})).await;
    let raw = sb.alipay_raw("alipay.trade.pay", &pay_biz("FMAL", &alipay_code("0000"), "1.00")).await;
    assert!(serde_json::from_str::<Value>(&raw).is_err(), "{raw}");
    assert_eq!(sb.alipay("alipay.trade.query", json!({"out_trade_no": "FMAL"})).await["trade_status"], "TRADE_SUCCESS");
    // bad_sign: handled, signature does not verify.
    sb.admin("/admin/faults", json!({"target": "alipay.trade.pay", "kind": "bad_sign", "count": 1})).await;
    let raw = sb.alipay_raw("alipay.trade.pay", &pay_biz("FSIG", &alipay_code("0000"), "1.00")).await;
    assert!(verify_alipay_by_hand(&sb.accounts.platform.alipay_public_key_pem, "alipay.trade.pay", &raw).is_err());
    // system_error: not handled; cancel says retry.
    sb.admin("/admin/faults", json!({"target": "alipay.trade.cancel", "kind": "system_error", "count": 1})).await;
    let c = sb.alipay("alipay.trade.cancel", json!({"out_trade_no": "FSIG"})).await;
    assert_eq!((c["sub_code"].as_str(), c["retry_flag"].as_str()), (Some("ACQ.SYSTEM_ERROR"), Some("Y")));
    let c = sb.alipay("alipay.trade.cancel", json!({"out_trade_no": "FSIG"})).await;
    assert_eq!(c["action"], "refund");
    sb.admin("/admin/faults", json!({"target": "/secapi/pay/reverse", "kind": "system_error", "count": 1})).await;
    let r = sb.wechat("/secapi/pay/reverse", &[("out_trade_no", "nothing")]).await;
    assert_eq!((r["err_code"].as_str(), r["recall"].as_str()), ("SYSTEMERROR", "Y"));
    // latency: the answer comes late.
    sb.admin("/admin/faults", json!({"target": "/pay/orderquery", "kind": "latency", "latency_ms": 300, "count": 1}))
        .await;
    let t = std::time::Instant::now();
    sb.wechat("/pay/orderquery", &[("out_trade_no", "nothing")]).await;
    assert!(t.elapsed() >= std::time::Duration::from_millis(300));
    // fraction 0 never fires; clearing removes rules.
    sb.admin("/admin/faults", json!({"target": "*", "kind": "http_500", "fraction": 0.0})).await;
    assert_eq!(sb.alipay("alipay.trade.query", json!({"out_trade_no": "FDROP"})).await["code"], "10000");
    sb.http.delete(sb.url("/admin/faults")).send().await.unwrap();
    let rules: Value = sb.http.get(sb.url("/admin/faults")).send().await.unwrap().json().await.unwrap();
    assert_eq!(rules, json!([]));
    sb.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_cds_binding_and_wallet_scans_with_notifications() {
    let sb = start().await;
    sb.admin("/admin/config", json!({"verification_delay_ms": 0, "notify_retry_ms": [50, 50, 50]})).await;
    // A merchant-side listener that acknowledges after one failure, to see the retry.
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify_url = format!("http://{}/notify", listener.local_addr().unwrap());
    let store = received.clone();
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |body: String| {
            let store = store.clone();
            async move {
                let mut seen = store.lock().unwrap();
                let xml = body.starts_with("<xml>");
                seen.push(body);
                match (seen.len(), xml) {
                    (1, _) => "try again later".to_string(),
                    (_, true) => "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>".to_string(),
                    (_, false) => "success".to_string(),
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sb.admin("/admin/notify-url", json!({"url": notify_url})).await;

    let merchant = json!({"legal_name": "上海张三餐饮有限公司", "display_name": "ZHANG SAN NOODLES", "display_name_zh": "张三面馆",
        "mcc": "5812", "country": "CN", "city": "SHANGHAI", "postal_code": "200000", "store_id": "S001", "store_name": "张三面馆 南京路店"});
    // Validation names the field.
    let mut bad = merchant.clone();
    bad["mcc"] = "58".into();
    let r = sb.http.post(sb.url("/onboarding/ALIPAY/merchants")).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "mcc");
    // Acquirer 1 verifies the merchant, registers it on the CDS platform.
    let m1: Value = sb
        .http
        .post(sb.url("/onboarding/ALIPAY/merchants"))
        .json(&merchant)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let m1_id = m1["merchant_id"].as_str().unwrap().to_owned();
    let status: Value = sb
        .http
        .get(sb.url(&format!("/onboarding/ALIPAY/merchants/{m1_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "active");
    let reg = sb.http.post(sb.url(&format!("/onboarding/ALIPAY/merchants/{m1_id}/cds"))).send().await.unwrap();
    assert_eq!(reg.status(), 201);
    let reg: Value = reg.json().await.unwrap();
    let cds_index = reg["cds_index"].as_str().unwrap().to_owned();
    assert_eq!(reg["cds_platform_id"], "SANDBOXCDS");
    // Acquirer 2 binds to the same index; twice is refused; an unknown index is refused.
    let m2: Value = sb
        .http
        .post(sb.url("/onboarding/WECHATPAY/merchants"))
        .json(&merchant)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let m2_id = m2["merchant_id"].as_str().unwrap().to_owned();
    let bind = json!({"cds_index": cds_index, "merchant_id": m2_id});
    let r = sb.http.post(sb.url("/onboarding/WECHATPAY/cds-bindings")).json(&bind).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let r = sb.http.post(sb.url("/onboarding/WECHATPAY/cds-bindings")).json(&bind).send().await.unwrap();
    assert_eq!(r.status(), 409);
    let r = sb
        .http
        .post(sb.url("/onboarding/WECHATPAY/cds-bindings"))
        .json(&json!({"cds_index": "IDX999", "merchant_id": m2_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let lookup: Value =
        sb.http.get(sb.url(&format!("/cds/indexes/{cds_index}"))).send().await.unwrap().json().await.unwrap();
    let bound: Vec<&str> =
        lookup["acquirers"].as_array().unwrap().iter().map(|a| a["acquirer_id"].as_str().unwrap()).collect();
    assert_eq!(bound, ["ALIPAY", "WECHATPAY"]);
    // A refused category fails verification with a reason.
    let mut gambling = merchant.clone();
    gambling["mcc"] = "7995".into();
    let f: Value = sb
        .http
        .post(sb.url("/onboarding/PARTNER1/merchants"))
        .json(&gambling)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(f["status"], "failed");
    assert!(f["reason"].as_str().unwrap().contains("7995"));

    // One printed code with CDS data reaches both acquirers.
    let code = tilldesk::mpm::build_store_code(
        tilldesk::mpm::CodeFormat::AlipayPlusMpm,
        &tilldesk::mpm::StoreCodeInput::example_for_tests("ZHANG SAN NOODLES", "张三面馆"),
        &[],
        Some(&tilldesk::mpm::CdsData { platform_id: "SANDBOXCDS".into(), cds_index: cds_index.clone() }),
    )
    .unwrap();
    for (wallet, protocol) in [("alipay", "alipay"), ("wechatpay", "wechatpay")] {
        let scan: Value = sb
            .http
            .post(sb.url("/simulate/scan"))
            .json(&json!({"payload": code, "amount": "23.50", "wallet": wallet}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!((scan["resolved_by"].as_str(), scan["protocol"].as_str()), (Some("cds"), Some(protocol)), "{scan}");
        assert_eq!(scan["notification_queued"], true);
    }
    // Notifications arrive (the first attempt is refused, then retried).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let ledger = sb.ledger().await;
        let delivered =
            ledger["notifications"].as_array().unwrap().iter().filter(|n| !n["delivered_at"].is_null()).count();
        if delivered == 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "notifications not delivered: {ledger}");
        tokio::task::yield_now().await;
    }
    let bodies = received.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3, "one refused attempt and two deliveries");
    // The Alipay notify form verifies under rsaCheckV1 by hand.
    let form = bodies.iter().find(|b| b.contains("trade_status_sync")).unwrap();
    let params: BTreeMap<String, String> = serde_urlencoded::from_str(form).unwrap();
    let content: Vec<String> = params
        .iter()
        .filter(|(k, v)| *k != "sign" && *k != "sign_type" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    {
        use rsa::pkcs8::DecodePublicKey;
        use rsa::signature::Verifier;
        let key = rsa::PublicKey::from_public_key_pem(&sb.accounts.platform.alipay_public_key_pem).unwrap();
        let raw = base64::engine::general_purpose::STANDARD.decode(&params["sign"]).unwrap();
        rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key)
            .verify(content.join("&").as_bytes(), &rsa::pkcs1v15::Signature::try_from(raw.as_slice()).unwrap())
            .unwrap();
    }
    assert_eq!(params["total_amount"], "23.50");
    let xml = bodies.iter().find(|b| b.starts_with("<xml>")).unwrap();
    let f = from_xml(xml).unwrap();
    verify_wechat_by_hand(&f, &sb.accounts.merchants[0].wechatpay.api_key);
    assert_eq!(f["total_fee"], "2350");

    // A code with only reference data reaches its own acquirer; a code for nobody is refused clearly.
    let code = tilldesk::mpm::build_store_code(
        tilldesk::mpm::CodeFormat::Emvco,
        &tilldesk::mpm::StoreCodeInput::example_for_tests("ZHANG SAN NOODLES", "张三面馆"),
        &[tilldesk::mpm::AcquirerReference { guid: "com.alipay.sandbox".into(), merchant_id: m1_id.clone() }],
        None,
    )
    .unwrap();
    let scan: Value = sb
        .http
        .post(sb.url("/simulate/scan"))
        .json(&json!({"payload": code, "amount": "1.00"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((scan["resolved_by"].as_str(), scan["acquirer_id"].as_str()), (Some("reference"), Some("ALIPAY")));
    let r = sb
        .http
        .post(sb.url("/simulate/scan"))
        .json(&json!({"payload": "hello", "amount": "1.00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    sb.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bills_parse_back_into_the_same_trades() {
    use tilldesk::channel::alipay::bill::{BillKind, open_detail_entry};
    use tilldesk::channel::wechatpay::bill::BillReader;
    let sb = start().await;
    // Yesterday's business, then back to today to download it.
    sb.admin("/admin/config", json!({"clock_offset_secs": -86_400, "wechat_refund_delay_ms": 0})).await;
    sb.alipay("alipay.trade.pay", pay_biz("B-A1", &alipay_code("0000"), "12.34")).await;
    sb.alipay("alipay.trade.pay", pay_biz("B-A2", &alipay_code("0000"), "0.50")).await;
    sb.alipay(
        "alipay.trade.refund",
        json!({"out_trade_no": "B-A1", "refund_amount": "2.34", "out_request_no": "B-A1-R"}),
    )
    .await;
    let code = wechat_code("0000");
    sb.wechat(
        "/pay/micropay",
        &[
            ("body", "鲜榨橙汁"),
            ("out_trade_no", "B-W1"),
            ("total_fee", "1800"),
            ("spbill_create_ip", "127.0.0.1"),
            ("auth_code", &code),
        ],
    )
    .await;
    sb.wechat(
        "/secapi/pay/refund",
        &[("out_trade_no", "B-W1"), ("out_refund_no", "B-W1-R"), ("total_fee", "1800"), ("refund_fee", "800")],
    )
    .await;
    sb.admin("/admin/config", json!({"clock_offset_secs": 0})).await;
    let yesterday = (time::OffsetDateTime::now_utc() - time::Duration::days(1))
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap())
        .date();
    let day = format!("{:04}-{:02}-{:02}", yesterday.year(), u8::from(yesterday.month()), yesterday.day());

    // Alipay: today is refused, yesterday's zip parses back (GBK, Chinese subjects).
    let today = sb
        .alipay(
            "alipay.data.dataservice.bill.downloadurl.query",
            json!({"bill_type": "trade", "bill_date": "2999-01-01"}),
        )
        .await;
    assert_eq!(today["sub_code"], "isp.bill_not_exist");
    let n = sb
        .alipay("alipay.data.dataservice.bill.downloadurl.query", json!({"bill_type": "trade", "bill_date": day}))
        .await;
    let url = n["bill_download_url"].as_str().unwrap().to_owned();
    let zip = sb.http.get(&url).send().await.unwrap().bytes().await.unwrap().to_vec();
    let mut entry = open_detail_entry(std::io::Cursor::new(zip)).unwrap();
    assert!(entry.name().ends_with("_业务明细.csv"), "{}", entry.name());
    let mut reader = entry.reader().unwrap();
    let rows: Vec<_> = reader.by_ref().map(|r| r.unwrap()).collect();
    let footer = reader.footer().cloned().unwrap();
    assert_eq!(rows.len(), 3);
    let a1 = rows.iter().find(|r| r.out_trade_no == "B-A1" && r.kind == BillKind::Trade).unwrap();
    assert_eq!((a1.order_amount.to_string().as_str(), a1.subject.as_str()), ("12.34", "拿铁咖啡 Latte"));
    let refund = rows.iter().find(|r| r.kind == BillKind::Refund).unwrap();
    assert_eq!((refund.order_amount.to_string().as_str(), refund.out_request_no.as_deref()), ("-2.34", Some("B-A1-R")));
    assert_eq!(footer.trade_count, 2);
    // The download link is single-day and expires; a made-up token is refused.
    let bad = sb.http.get(sb.url("/bills/alipay/download?token=nope")).send().await.unwrap();
    assert_eq!(bad.status(), 404);

    // WeChat: the text bill parses back, summary included.
    let compact = day.replace('-', "");
    let w = sb.accounts.merchants[0].wechatpay.clone();
    let mut f = BTreeMap::new();
    for (k, v) in [
        ("appid", w.appid.as_str()),
        ("mch_id", w.mch_id.as_str()),
        ("nonce_str", "abc"),
        ("bill_date", compact.as_str()),
        ("bill_type", "ALL"),
    ] {
        f.insert(k.to_string(), v.to_string());
    }
    let sign = wx_sign::sign(&f, &w.api_key, SignType::Md5);
    f.insert("sign".into(), sign);
    let text = sb.http.post(sb.url("/pay/downloadbill")).body(to_xml(&f)).send().await.unwrap().text().await.unwrap();
    let mut reader = BillReader::new(std::io::BufReader::new(text.as_bytes())).unwrap();
    let rows: Vec<_> = reader.by_ref().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2, "{text}");
    let pay = rows.iter().find(|r| r.trade_state == "SUCCESS").unwrap();
    assert_eq!((pay.out_trade_no.as_str(), pay.body.as_str(), pay.total_fee.fen()), ("B-W1", "鲜榨橙汁", 1800));
    let refund = rows.iter().find(|r| r.trade_state == "REFUND").unwrap();
    assert_eq!((refund.out_refund_no.as_str(), refund.refund_fee.fen()), ("B-W1-R", 800));
    assert_eq!(reader.summary().unwrap().refund_fee.fen(), 800);
    // A day without business has no bill.
    f.insert("bill_date".into(), "20200101".into());
    f.remove("sign");
    let sign = wx_sign::sign(&f, &w.api_key, SignType::Md5);
    f.insert("sign".into(), sign);
    let text = sb.http.post(sb.url("/pay/downloadbill")).body(to_xml(&f)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("No Bill Exist"), "{text}");
    sb.running.stop().await;
}

#[test]
fn the_sandbox_command_prints_its_address_and_refuses_remote_addresses() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"))
        .args(["sandbox", "--listen", "0.0.0.0:0", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--allow-remote"));

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line:?}")).to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ledger: Value =
        rt.block_on(async { reqwest::get(format!("{url}/admin/ledger")).await.unwrap().json().await.unwrap() });
    assert_eq!(ledger["trades"], json!([]));
    child.kill().unwrap();
    child.wait().unwrap();
    // The ledger and accounts survive a restart.
    let accounts: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sandbox.json")).unwrap()).unwrap();
    assert_eq!(accounts["merchants"].as_array().unwrap().len(), 2);
    assert!(dir.path().join("ledger.sqlite3").is_file());
}
