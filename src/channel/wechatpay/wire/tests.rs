//! Tests of the WeChat Pay v2 wire: the XML codec (CDATA, entities refused, nesting refused), signed requests and
//! replies, and each message read from WeChat Pay's documented samples. They import only the module under test.

use super::*;

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

fn map(pairs: &[(&str, &str)]) -> Params {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn merchant() -> MerchantIds {
    MerchantIds { appid: "wxd930ea5d5a258f4f".into(), mch_id: "10000100".into(), ..MerchantIds::default() }
}

fn micropay() -> MicropayRequest {
    MicropayRequest {
        merchant: merchant(),
        device_info: None,
        body: "image形象店-深圳腾大- QQ公仔".into(),
        detail: None,
        attach: Some(String::new()),
        out_trade_no: "1217752501201407033233368018".into(),
        total_fee: Amount::from_fen(888),
        fee_type: None,
        spbill_create_ip: "8.8.8.8".into(),
        goods_tag: None,
        limit_pay: None,
        time_start: None,
        time_expire: None,
        receipt: None,
        auth_code: "120061098828009406".into(),
        scene_info: None,
        profit_sharing: None,
        version: None,
    }
}

#[test]
fn xml_is_sorted_with_numbers_bare_text_in_cdata_and_sign_last() {
    let params = map(&[("sign", "ABC"), ("total_fee", "888"), ("body", "咖啡"), ("appid", "wx1"), ("e", "")]);
    let xml = to_xml(&params);
    assert_eq!(
        xml,
        "<xml><appid><![CDATA[wx1]]></appid><body><![CDATA[咖啡]]></body><e><![CDATA[]]></e>\
         <total_fee>888</total_fee><sign><![CDATA[ABC]]></sign></xml>"
    );
}

#[test]
fn xml_round_trips_chinese_cdata_terminators_and_markup() {
    let params = map(&[
        ("body", "image形象店-深圳腾大- QQ公仔"),
        ("attach", "a]]>b]]>]]>"),
        ("detail", "<goods> & \"quotes\" 'x' ]]"),
        ("total_fee", "888"),
        ("empty", ""),
        ("sign", "9A0A8659F005D6984697E2CA0A9CF3B7"),
    ]);
    let xml = to_xml(&params);
    assert!(xml.contains("<total_fee>888</total_fee>"));
    assert_eq!(from_xml(&xml).unwrap(), params);
}

#[test]
fn xml_reader_accepts_plain_text_entities_bom_declaration_and_whitespace() {
    let doc = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml>\n  <return_code>SUCCESS</return_code>\n  \
               <return_msg><![CDATA[OK]]></return_msg>\n  <a>x &amp; y &#x4E2D;&#25991;</a>\n  <b/>\n  \
               <!-- comment -->\n</xml>\n";
    let params = from_xml(doc).unwrap();
    assert_eq!(params, map(&[("return_code", "SUCCESS"), ("return_msg", "OK"), ("a", "x & y 中文"), ("b", "")]));
}

#[test]
fn xxe_and_malformed_documents_are_refused() {
    let xxe =
        r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><a>&xxe;</a></xml>"#;
    let err = from_xml(xxe).unwrap_err();
    assert!(matches!(err, WireError::DocType), "{err}");
    assert!(err.to_string().contains("XXE"));
    assert!(matches!(from_xml("<xml><a>&xxe;</a></xml>"), Err(WireError::Entity(e)) if e == "xxe"));
    assert!(matches!(
        from_xml("<xml><a><b>1</b></a></xml>"),
        Err(WireError::Nested { field, child }) if field == "a" && child == "b"
    ));
    assert!(matches!(from_xml("<root><a>1</a></root>"), Err(WireError::Root(r)) if r == "root"));
    assert!(matches!(from_xml("<xml><a>1</a><a>2</a></xml>"), Err(WireError::DuplicateField(a)) if a == "a"));
    assert!(matches!(from_xml("<xml>oops<a>1</a></xml>"), Err(WireError::StrayText(_))));
    assert!(matches!(from_xml("<xml></xml><xml></xml>"), Err(WireError::TrailingContent)));
    assert!(matches!(from_xml(""), Err(WireError::Empty)));
    assert!(matches!(from_xml(" \u{feff}"), Err(WireError::Empty) | Err(WireError::StrayText(_))));
    assert!(from_xml("<xml><a>1</b></xml>").is_err());
    assert!(from_xml("<xml><a>1</a>").is_err());
    assert!(from_xml("not xml at all").is_err());
    let empty_root = from_xml("<xml/>").unwrap();
    assert!(empty_root.is_empty());
}

#[test]
fn v5_micropay_request_fields_sign_like_the_vector() {
    // The same fields as vector V5, built from the typed request (empty attach dropped).
    let mut params = micropay().to_params();
    params.insert("nonce_str".into(), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into());
    let signed = signed_request(params.clone(), KEY, SignType::Md5);
    assert_eq!(signed["sign"], "BC9D17D67E865DC5483BD6CBE60E8E7E");
    assert!(!signed.contains_key("attach"));
    let signed = signed_request(params, KEY, SignType::HmacSha256);
    assert_eq!(signed["sign_type"], "HMAC-SHA256");
    assert_eq!(signed["sign"], "49517439062A909E6E1761A9A1BF5E7F36A8CF280840C926947C58CD1F655D24");
}

#[test]
fn signed_micropay_request_verifies_with_both_sign_types() {
    let request = micropay();
    request.validate().unwrap();
    for sign_type in SignType::ALL {
        let signed = signed_request(request.to_params(), KEY, sign_type);
        assert_eq!(signed["nonce_str"].len(), 32);
        assert!(signed["nonce_str"].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(signed.contains_key("sign_type"), sign_type == SignType::HmacSha256);
        let xml = to_xml(&signed);
        assert!(xml.ends_with(&format!("<sign><![CDATA[{}]]></sign></xml>", signed["sign"])));
        let (received, declared) = parse_and_verify_request(&xml, KEY).unwrap();
        assert_eq!(declared, sign_type);
        assert_eq!(MicropayRequest::from_params(&received).unwrap().attach, None);
        let mut expected = request.clone();
        expected.attach = None;
        assert_eq!(MicropayRequest::from_params(&received).unwrap(), expected);
        // Another key, or a changed amount, fails.
        assert!(matches!(parse_and_verify_request(&xml, "x"), Err(WireError::Sign(SignError::Mismatch { .. }))));
        let tampered = xml.replace("<total_fee>888</total_fee>", "<total_fee>1</total_fee>");
        assert!(parse_and_verify_request(&tampered, KEY).is_err());
    }
    assert_ne!(nonce_str(), nonce_str());
}

#[test]
fn micropay_request_validation_names_the_field() {
    let mut bad = micropay();
    bad.auth_code = "280000000000000000".into();
    assert!(matches!(bad.validate(), Err(WireError::InvalidRequest { field: "auth_code", .. })));
    let mut bad = micropay();
    bad.total_fee = Amount::ZERO;
    assert!(matches!(bad.validate(), Err(WireError::InvalidRequest { field: "total_fee", .. })));
    let mut bad = micropay();
    bad.out_trade_no = "订单1".into();
    assert!(matches!(bad.validate(), Err(WireError::InvalidRequest { field: "out_trade_no", .. })));
    assert!(is_wechat_auth_code("134567890123456789"));
    assert!(!is_wechat_auth_code("164567890123456789"));
    assert!(!is_wechat_auth_code("13456789012345678"));
}

fn paid() -> Payment {
    Payment {
        openid: Some("oUpF8uN95-Ptaags6E_roPHg7AG0".into()),
        is_subscribe: Some("N".into()),
        trade_type: Some("MICROPAY".into()),
        bank_type: Some("CMC".into()),
        fee_type: Some("CNY".into()),
        total_fee: Amount::from_fen(888),
        settlement_total_fee: None,
        coupon_fee: None,
        cash_fee_type: None,
        cash_fee: Amount::from_fen(888),
        transaction_id: "1008450740201411110005820873".into(),
        out_trade_no: "1217752501201407033233368018".into(),
        attach: Some("订单额外描述".into()),
        time_end: "20141111170043".into(),
        promotion_detail: None,
    }
}

/// Sandbox → XML → client, through signing and verification.
fn exchange<T: WireMessage>(reply: &T, sign_type: SignType) -> Result<T, WireError> {
    let xml = to_xml(&signed_response(reply.to_params(), KEY, sign_type));
    T::from_params(&parse_and_verify_response(&xml, KEY, sign_type)?)
}

#[test]
fn micropay_replies_round_trip_success_and_userpaying() {
    let ok = MicropayResponse { head: ReplyHead::success(&merchant()), device_info: None, payment: Some(paid()) };
    let back = exchange(&ok, SignType::HmacSha256).unwrap();
    assert_eq!(back.payment, ok.payment);
    assert!(back.head.is_success());
    assert_eq!(back.head.nonce_str.len(), 32);

    let paying = MicropayResponse {
        head: ReplyHead::failure(&merchant(), err_code::USERPAYING, "需要用户输入支付密码"),
        device_info: None,
        payment: None,
    };
    let back = exchange(&paying, SignType::Md5).unwrap();
    assert_eq!(back.payment, None);
    assert_eq!(back.head.err_code.as_deref(), Some("USERPAYING"));
    assert_eq!(back.head.err_code_des.as_deref(), Some("需要用户输入支付密码"));
    assert!(err_code::micropay_outcome_unknown(back.head.err_code.as_deref().unwrap()));
    assert!(!err_code::micropay_outcome_unknown(err_code::AUTHCODEEXPIRE));
}

#[test]
fn unsigned_or_wrongly_signed_success_replies_are_refused() {
    let reply = MicropayResponse { head: ReplyHead::success(&merchant()), device_info: None, payment: Some(paid()) };
    let mut params = reply.to_params();
    params.insert("nonce_str".into(), "n".into());
    let unsigned = to_xml(&params);
    assert!(matches!(
        parse_and_verify_response(&unsigned, KEY, SignType::Md5),
        Err(WireError::Sign(SignError::MissingSign))
    ));
    let signed = signed_response(params, KEY, SignType::Md5);
    let xml = to_xml(&signed);
    assert!(parse_and_verify_response(&xml, KEY, SignType::Md5).is_ok());
    assert!(matches!(
        parse_and_verify_response(&xml, KEY, SignType::HmacSha256),
        Err(WireError::Sign(SignError::Mismatch { .. }))
    ));
    let forged = xml.replace("<total_fee>888</total_fee>", "<total_fee>88800</total_fee>");
    assert!(matches!(parse_and_verify_response(&forged, KEY, SignType::Md5), Err(WireError::Sign(_))));
}

#[test]
fn return_code_fail_is_an_error_with_the_message() {
    let xml = to_xml(&fail_reply("签名错误"));
    let err = parse_and_verify_response(&xml, KEY, SignType::Md5).unwrap_err();
    assert!(matches!(&err, WireError::ReturnFail { return_msg } if return_msg == "签名错误"));
    assert_eq!(err.to_string(), "WeChat Pay refused the request (return_code=FAIL): 签名错误");
    assert!(matches!(MicropayResponse::from_params(&fail_reply("x")), Err(WireError::ReturnFail { .. })));
    let no_code = to_xml(&map(&[("return_msg", "?")]));
    let err = parse_and_verify_response(&no_code, KEY, SignType::Md5).unwrap_err();
    assert!(matches!(err, WireError::MissingField(f) if f == "return_code"));
}

#[test]
fn missing_or_bad_fields_are_named() {
    let mut params =
        MicropayResponse { head: ReplyHead::success(&merchant()), device_info: None, payment: Some(paid()) }
            .to_params();
    params.insert("nonce_str".into(), "n".into());
    let mut no_id = params.clone();
    no_id.remove("transaction_id");
    let err = MicropayResponse::from_params(&no_id).unwrap_err();
    assert_eq!(err.to_string(), "the message lacks the field `transaction_id`");
    let mut bad_fee = params.clone();
    bad_fee.insert("total_fee".into(), "8.88".into());
    let err = MicropayResponse::from_params(&bad_fee).unwrap_err();
    assert!(matches!(&err, WireError::BadField { field, value, .. } if field == "total_fee" && value == "8.88"));
    assert!(err.to_string().contains("fen"), "{err}");
    let mut bad_time = params;
    bad_time.insert("time_end".into(), "2014-11-11".into());
    let err = MicropayResponse::from_params(&bad_time).unwrap_err();
    assert!(matches!(err, WireError::BadField { field, .. } if field == "time_end"));
}

#[test]
fn orderquery_states_round_trip() {
    for state in TradeState::ALL {
        let payment = matches!(state, TradeState::Success | TradeState::Refund).then(paid);
        let reply = OrderQueryResponse {
            head: ReplyHead::success(&merchant()),
            device_info: None,
            order: Some(QueriedOrder { trade_state: *state, trade_state_desc: Some("描述".into()), payment }),
        };
        assert_eq!(exchange(&reply, SignType::Md5).unwrap().order, reply.order);
    }
    let missing = OrderQueryResponse {
        head: ReplyHead::failure(&merchant(), err_code::ORDERNOTEXIST, "此交易订单号不存在"),
        device_info: None,
        order: None,
    };
    assert_eq!(exchange(&missing, SignType::Md5).unwrap().order, None);
    // SUCCESS without the payment fields is refused.
    let mut params = ReplyHead::success(&merchant()).to_params_for_test();
    params.insert("trade_state".into(), "SUCCESS".into());
    assert!(matches!(OrderQueryResponse::from_params(&params), Err(WireError::MissingField(_))));
    params.insert("trade_state".into(), "PAID".into());
    let err = OrderQueryResponse::from_params(&params).unwrap_err();
    assert!(err.to_string().contains("one of SUCCESS, REFUND"), "{err}");
}

impl ReplyHead {
    fn to_params_for_test(&self) -> Params {
        let mut out = Out::default();
        self.write(&mut out);
        out.put("nonce_str", "n");
        out.0
    }
}

#[test]
fn reverse_and_refund_round_trip() {
    let reverse = ReverseRequest { merchant: merchant(), trade: TradeRef::OutTradeNo("T1".into()) };
    assert_eq!(ReverseRequest::from_params(&reverse.to_params()).unwrap(), reverse);
    assert!(ReverseRequest::ENDPOINT.needs_client_cert());
    let mut head = ReplyHead::failure(&merchant(), err_code::SYSTEMERROR, "系统错误");
    head.nonce_str = "fixed".into();
    let again = ReverseResponse { head, recall: Some(true) };
    assert_eq!(exchange(&again, SignType::Md5).unwrap(), again);
    let mut bad = again.to_params();
    bad.insert("recall".into(), "maybe".into());
    assert!(matches!(ReverseResponse::from_params(&bad), Err(WireError::BadField { field, .. }) if field == "recall"));

    let refund = RefundRequest {
        merchant: merchant(),
        trade: TradeRef::TransactionId("4200000001".into()),
        out_refund_no: "R1".into(),
        total_fee: Amount::from_fen(600),
        refund_fee: Amount::from_fen(1),
        refund_fee_type: None,
        refund_desc: Some("顾客退货".into()),
        refund_account: None,
        notify_url: None,
    };
    refund.validate().unwrap();
    let params = refund.to_params();
    assert_eq!(params["total_fee"], "600");
    assert_eq!(params["refund_fee"], "1");
    assert!(!params.contains_key("out_trade_no"));
    assert_eq!(RefundRequest::from_params(&params).unwrap(), refund);
    let too_much = RefundRequest { refund_fee: Amount::from_fen(601), ..refund.clone() };
    assert!(matches!(too_much.validate(), Err(WireError::InvalidRequest { field: "refund_fee", .. })));

    let accepted = RefundResponse {
        head: ReplyHead::success(&merchant()),
        accepted: Some(RefundAccepted {
            transaction_id: "4200000001".into(),
            out_trade_no: "T1".into(),
            out_refund_no: "R1".into(),
            refund_id: "50000000001".into(),
            refund_fee: Amount::from_fen(1),
            settlement_refund_fee: None,
            total_fee: Amount::from_fen(600),
            settlement_total_fee: None,
            fee_type: Some("CNY".into()),
            cash_fee: Some(Amount::from_fen(600)),
            cash_refund_fee: Some(Amount::from_fen(1)),
            coupon_refund_fee: None,
            coupon_refund_count: None,
        }),
    };
    assert_eq!(exchange(&accepted, SignType::HmacSha256).unwrap().accepted, accepted.accepted);
}

#[test]
fn refundquery_reads_indexed_fields() {
    // As WeChat Pay sends it: two refunds, fields suffixed _0 and _1.
    let mut params = ReplyHead::success(&merchant()).to_params_for_test();
    params.extend(map(&[
        ("transaction_id", "1008450740201411110005820873"),
        ("out_trade_no", "1415757673"),
        ("total_fee", "600"),
        ("cash_fee", "600"),
        ("refund_count", "2"),
        ("out_refund_no_0", "R1"),
        ("refund_id_0", "2008450740201411110000174436"),
        ("refund_channel_0", "ORIGINAL"),
        ("refund_fee_0", "1"),
        ("refund_status_0", "SUCCESS"),
        ("refund_recv_accout_0", "支付用户的零钱"),
        ("refund_success_time_0", "2019-07-23 20:53:40"),
        ("out_refund_no_1", "R2"),
        ("refund_id_1", "2008450740201411110000174437"),
        ("refund_fee_1", "100"),
        ("refund_status_1", "PROCESSING"),
    ]));
    let reply = RefundQueryResponse::from_params(&params).unwrap();
    let result = reply.result.clone().unwrap();
    assert_eq!(result.refunds.len(), 2);
    assert_eq!(result.refunds[0].refund_status, RefundStatus::Success);
    assert_eq!(result.refunds[0].refund_fee, Amount::from_fen(1));
    assert_eq!(result.refunds[0].refund_recv_accout.as_deref(), Some("支付用户的零钱"));
    assert_eq!(result.refunds[1].refund_status, RefundStatus::Processing);
    assert_eq!(result.refunds[1].out_refund_no, "R2");
    assert_eq!(result.refunds[1].refund_success_time, None);
    // params carried nonce_str "n", so the whole reply survives the signed round trip.
    assert_eq!(exchange(&reply, SignType::Md5).unwrap(), reply);

    let mut short = params.clone();
    short.insert("refund_count".into(), "3".into());
    let err = RefundQueryResponse::from_params(&short).unwrap_err();
    assert_eq!(err.to_string(), "the message lacks the field `out_refund_no_2`");
    let mut bad = params;
    bad.insert("refund_status_1".into(), "DONE".into());
    let err = RefundQueryResponse::from_params(&bad).unwrap_err();
    assert!(matches!(err, WireError::BadField { field, .. } if field == "refund_status_1"));

    let query = RefundQueryRequest { merchant: merchant(), target: RefundRef::OutRefundNo("R1".into()), offset: None };
    assert_eq!(RefundQueryRequest::from_params(&query.to_params()).unwrap(), query);
    let none = RefundQueryRequest::from_params(&map(&[("appid", "a"), ("mch_id", "m")])).unwrap_err();
    assert!(none.to_string().contains("refund_id or out_refund_no or transaction_id or out_trade_no"), "{none}");
}

#[test]
fn downloadbill_request_and_replies() {
    let request = DownloadBillRequest {
        merchant: merchant(),
        device_info: None,
        bill_date: "20190725".into(),
        bill_type: BillType::Refund,
        tar_type: None,
    };
    request.validate().unwrap();
    assert_eq!(request.to_params()["bill_type"], "REFUND");
    assert_eq!(DownloadBillRequest::from_params(&request.to_params()).unwrap(), request);
    assert!(DownloadBillRequest { bill_date: "2019-07-25".into(), ..request.clone() }.validate().is_err());

    let fail = DownloadBillReply::Fail { return_msg: "No Bill Exist".into(), error_code: Some("20002".into()) };
    assert_eq!(DownloadBillReply::parse(fail.to_body().as_bytes()).unwrap(), fail);
    let bill = DownloadBillReply::Bill("交易时间,公众账号ID\r\n".into());
    assert_eq!(DownloadBillReply::parse(bill.to_body().as_bytes()).unwrap(), bill);
    assert!(matches!(DownloadBillReply::parse(&[0x1f, 0x8b, 8, 0]), Err(WireError::GzipBill)));
    assert!(matches!(DownloadBillReply::parse(&[b'a', 0xff]), Err(WireError::BillNotUtf8(1))));
}

#[test]
fn endpoints() {
    assert_eq!(Endpoint::Micropay.path(), "/pay/micropay");
    assert_eq!(Endpoint::Reverse.path(), "/secapi/pay/reverse");
    assert_eq!(MicropayRequest::ENDPOINT, Endpoint::Micropay);
    let with_cert: Vec<_> = Endpoint::ALL.into_iter().filter(|e| e.needs_client_cert()).collect();
    assert_eq!(with_cert, [Endpoint::Reverse, Endpoint::Refund]);
    for e in Endpoint::ALL {
        assert_eq!(Endpoint::from_path(e.path()), Some(e));
    }
    assert_eq!(Endpoint::from_path("/pay/unifiedorder"), Some(Endpoint::UnifiedOrder));
    assert_eq!(Endpoint::from_path("/pay/closeorder"), Some(Endpoint::CloseOrder));
    assert_eq!(Endpoint::from_path("/pay/nosuch"), None);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Any flat message written is read back as it was: CDATA, `]]>` inside values, digits, Chinese, spaces.
        #[test]
        fn what_is_written_is_read_back(
            fields in proptest::collection::btree_map("[a-z][a-z_0-9]{0,15}", "[ -~中文]{1,24}|\\]\\]>|[0-9]{1,10}", 0..12)
        ) {
            let params: Params = fields.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
            let xml = to_xml(&params);
            prop_assert_eq!(from_xml(&xml).unwrap(), params);
        }

        /// Whatever arrives on the network (a reply, a notification), reading it never panics.
        #[test]
        fn reading_any_text_never_panics(text in "\\PC{0,200}") {
            let _ = from_xml(&text);
            let _ = from_xml(&format!("<xml>{text}</xml>"));
            let _ = parse_and_verify_response(&format!("<xml><return_code>SUCCESS</return_code>{text}</xml>"), "k", crate::channel::wechatpay::SignType::Md5);
        }
    }
}
