//! Tests of the Alipay wire shapes: requests written as the Java SDK writes them, responses read from Alipay's
//! documented samples, amounts and codes parsed strictly. They import only the module under test.

use super::*;
use serde_json::{Value, json};
use std::sync::OnceLock;

const KEYS: &str = include_str!("../../../../tests/vectors/test_keys.json");
const VECTORS: &str = include_str!("../../../../tests/vectors/alipay_rsa2.json");

fn keys() -> Value {
    serde_json::from_str(KEYS).unwrap()
}

fn app_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| sign::parse_private_key(keys()["app"]["pkcs8_pem"].as_str().unwrap()).unwrap())
}

fn app_public() -> PublicKey {
    sign::parse_public_key(keys()["app"]["spki_b64"].as_str().unwrap()).unwrap()
}

#[test]
fn methods_name_their_nodes() {
    for m in Method::ALL {
        assert_eq!(m.response_node(), sign::response_node_name(m.as_str()));
        assert_eq!(Method::parse(m.as_str()), Some(m));
    }
    assert_eq!(Method::TradePay.as_str(), "alipay.trade.pay");
    assert_eq!(Method::TradePay.response_node(), "alipay_trade_pay_response");
    assert_eq!(Method::parse("alipay.trade.create"), None);
}

#[test]
fn the_vector_biz_content_is_what_bar_code_writes() {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    let expected = vectors["request_params"]["biz_content"].as_str().unwrap();
    let request =
        TradePayRequest::bar_code("20150320010101001", "28763443825664394", "Iphone6 16G", Amount::from_fen(8888));
    assert_eq!(encode_biz_content(&request).unwrap(), expected);
    let back: TradePayRequest = decode_biz_content(expected).unwrap();
    assert_eq!(back, request);
    assert_eq!(back.total_amount().unwrap(), Amount::from_fen(8888));
}

#[test]
fn the_vector_response_decodes() {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    let node: Value = serde_json::from_str(vectors["response_signed_content"].as_str().unwrap()).unwrap();
    let response: TradePayResponse = decode_node(node).unwrap();
    assert!(response.common.is_success());
    assert_eq!(response.trade_no.as_deref(), Some("2013112011001004330000121536"));
    assert_eq!(response.receipt_amount().unwrap(), Some(Amount::from_fen(8888)));
    assert_eq!(response.gmt_payment.as_deref(), Some("2014-11-27 15:45:57"));
    let fund = &response.fund_bill_list.as_ref().unwrap()[0];
    assert_eq!((fund.fund_channel.as_str(), fund.amount.as_str()), ("ALIPAYACCOUNT", "88.88"));
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> Value {
    let json = serde_json::to_value(value).unwrap();
    let back: T = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, value);
    json
}

#[test]
fn shapes_round_trip_with_alipay_field_names() {
    let pay = TradePayRequest {
        store_id: Some("NJ_001".into()),
        terminal_id: Some("T1".into()),
        operator_id: Some("op1".into()),
        timeout_express: Some("2m".into()),
        ..TradePayRequest::bar_code("o1", "28763443825664394", "咖啡", Amount::from_fen(1))
    };
    let json = round_trip(&pay);
    assert_eq!(json["scene"], "bar_code");
    assert_eq!(json["total_amount"], "0.01");
    assert_eq!(json["store_id"], "NJ_001");
    assert!(json.get("product_code").is_none() && json.get("body").is_none());

    let paying = TradePayResponse {
        common: CommonResponse {
            code: code::PAY_IN_PROGRESS.into(),
            msg: code::PAY_IN_PROGRESS_MSG.into(),
            ..CommonResponse::default()
        },
        out_trade_no: Some("o1".into()),
        ..TradePayResponse::default()
    };
    let json = round_trip(&paying);
    assert_eq!(json, json!({"code": "10003", "msg": " order success pay inprocess", "out_trade_no": "o1"}));
    assert!(paying.common.is_pay_in_progress());

    let query = TradeQueryResponse {
        common: CommonResponse::success(),
        trade_status: Some("TRADE_SUCCESS".into()),
        total_amount: Some("12.30".into()),
        ..TradeQueryResponse::default()
    };
    round_trip(&query);
    assert_eq!(query.status(), Some(TradeStatus::TradeSuccess));
    assert!(query.status().unwrap().is_paid());
    assert_eq!(query.total_amount().unwrap(), Some(Amount::from_fen(1230)));
    round_trip(&TradeQueryRequest::by_out_trade_no("o1"));

    let cancel: TradeCancelResponse = decode_node(json!({
        "code": "10000", "msg": "Success", "out_trade_no": "o1", "trade_no": "t1",
        "retry_flag": "N", "action": "refund", "unknown_extra": 1
    }))
    .unwrap();
    assert!(!cancel.should_retry());
    assert_eq!(cancel.cancel_action(), Some(CancelAction::Refund));
    round_trip(&cancel);
    round_trip(&TradeCancelRequest { out_trade_no: Some("o1".into()), trade_no: None });
    round_trip(&TradeCloseRequest { trade_no: Some("t1".into()), ..TradeCloseRequest::default() });
    round_trip(&TradeCloseResponse { common: CommonResponse::success(), ..TradeCloseResponse::default() });

    let refund = TradeRefundRequest {
        refund_reason: Some("退货".into()),
        ..TradeRefundRequest::new("o1", "r1", Amount::from_fen(150))
    };
    let json = round_trip(&refund);
    assert_eq!(json["refund_amount"], "1.50");
    assert_eq!(json["out_request_no"], "r1");
    let refunded: TradeRefundResponse =
        decode_node(json!({"code": "10000", "msg": "Success", "fund_change": "Y", "refund_fee": "1.50"})).unwrap();
    assert!(refunded.fund_changed());
    assert_eq!(refunded.refund_fee().unwrap(), Amount::from_fen(150));
    round_trip(&refunded);

    let rq = RefundQueryRequest {
        out_trade_no: Some("o1".into()),
        out_request_no: "r1".into(),
        ..RefundQueryRequest::default()
    };
    round_trip(&rq);
    let rq_resp: RefundQueryResponse = decode_node(
        json!({"code": "10000", "msg": "Success", "refund_status": "REFUND_SUCCESS", "refund_amount": "1.50"}),
    )
    .unwrap();
    assert!(rq_resp.is_refunded());
    assert_eq!(rq_resp.refund_amount().unwrap(), Some(Amount::from_fen(150)));
    let not_yet: RefundQueryResponse = decode_node(json!({"code": "10000", "msg": "Success"})).unwrap();
    assert!(!not_yet.is_refunded());

    let bill = BillDownloadUrlQueryRequest::daily_trade(time::macros::date!(2019 - 09 - 16));
    assert_eq!(round_trip(&bill), json!({"bill_type": "trade", "bill_date": "2019-09-16"}));
    let no_bill = BillDownloadUrlQueryResponse {
        common: CommonResponse::business_failed(sub_code::BILL_NOT_EXIST, "账单不存在"),
        bill_download_url: None,
    };
    assert_eq!(round_trip(&no_bill)["sub_code"], "isp.bill_not_exist");

    let pre = TradePrecreateRequest::new("o2", "茶", Amount::from_fen(500));
    assert_eq!(round_trip(&pre)["total_amount"], "5.00");
    round_trip(&TradePrecreateResponse {
        common: CommonResponse::success(),
        out_trade_no: Some("o2".into()),
        qr_code: Some("https://qr.alipay.com/bax0".into()),
    });
}

#[test]
fn bad_money_names_the_field() {
    let response: TradePayResponse =
        decode_node(json!({"code": "10000", "msg": "Success", "receipt_amount": "8.8.8"})).unwrap();
    let err = response.receipt_amount().unwrap_err();
    assert!(matches!(err, WireError::BadAmount { field: "receipt_amount", .. }));
    assert!(err.to_string().contains("receipt_amount") && err.to_string().contains("8.8.8"), "{err}");
    let refund: TradeRefundResponse = decode_node(json!({"code": "10000", "msg": "Success"})).unwrap();
    assert_eq!(refund.refund_fee(), Err(WireError::MissingField { field: "refund_fee" }));
    let request =
        TradePayRequest { total_amount: "-1".into(), ..TradePayRequest::bar_code("o", "a", "s", Amount::ZERO) };
    assert!(request.total_amount().is_err());
    assert!(decode_node::<TradePayResponse>(json!({"msg": "no code"})).is_err());
}

#[test]
fn unknown_outcomes_are_recognised() {
    let unknown =
        CommonResponse::failure(code::UNKNOWN_ERROR, code::UNKNOWN_ERROR_MSG, sub_code::ISP_UNKNOWN_ERROR, "系统繁忙");
    assert!(unknown.is_unknown_outcome());
    assert!(CommonResponse::business_failed(sub_code::SYSTEM_ERROR, "系统错误").is_unknown_outcome());
    assert!(
        !CommonResponse::business_failed(sub_code::PAYMENT_AUTH_CODE_INVALID, "支付授权码无效").is_unknown_outcome()
    );
    assert!(!CommonResponse::success().is_unknown_outcome());
}

fn vector_common() -> CommonParams {
    CommonParams {
        timestamp: "2014-07-24 03:07:50".into(),
        notify_url: Some(String::new()),
        app_auth_token: Some(String::new()),
        ..CommonParams::new("2014072300007148", Method::TradePay)
    }
}

#[test]
fn signed_requests_match_the_vector_and_verify() {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    let biz = vectors["request_params"]["biz_content"].as_str().unwrap();
    let params = signed_request_params(&vector_common(), biz, app_key()).unwrap();
    assert_eq!(params["sign"], vectors["sign_with_app_key"].as_str().unwrap());
    assert_eq!(params["format"], "JSON");
    verify_request_params(&params, &app_public()).unwrap();

    let mut changed = params.clone();
    changed.insert("biz_content".into(), biz.replace("88.88", "0.01"));
    assert!(matches!(verify_request_params(&changed, &app_public()), Err(SignError::SignatureMismatch)));

    let mut unsigned = params.clone();
    unsigned.remove("sign");
    assert!(matches!(verify_request_params(&unsigned, &app_public()), Err(SignError::MissingRequestSign)));

    let mut untyped = params.clone();
    untyped.remove("sign_type");
    assert!(matches!(verify_request_params(&untyped, &app_public()), Err(SignError::MissingSignType)));

    let mut rsa1 = params.clone();
    rsa1.insert("sign_type".into(), "RSA".into());
    assert!(matches!(verify_request_params(&rsa1, &app_public()), Err(SignError::UnsupportedSignType(_))));
}

#[test]
fn requests_without_format_still_verify() {
    let common = CommonParams {
        format: None,
        notify_url: Some("https://example.invalid/n".into()),
        ..CommonParams::new("2021000000000001", Method::TradeQuery)
    };
    let biz = encode_biz_content(&TradeQueryRequest::by_out_trade_no("o1")).unwrap();
    let params = signed_request_params(&common, &biz, app_key()).unwrap();
    assert!(!params.contains_key("format"));
    assert_eq!(params["method"], "alipay.trade.query");
    assert_eq!(params["notify_url"], "https://example.invalid/n");
    verify_request_params(&params, &app_public()).unwrap();
}

#[test]
fn timestamps_are_china_time() {
    let at = time::macros::datetime!(2014-07-23 19:07:50 UTC);
    assert_eq!(format_gmt8(at), "2014-07-24 03:07:50");
    let now = timestamp_now_gmt8();
    assert_eq!(now.len(), 19);
    assert!(
        time::PrimitiveDateTime::parse(
            &now,
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")
        )
        .is_ok()
    );
}
