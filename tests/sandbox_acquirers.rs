//! The sandbox plays each acquirer separately: every acquirer has its own account and gateway
//! (`/acquirers/{acquirer_id}/…`), sub-merchants are checked against the acquirer's onboarded merchants, the ledger
//! records who took each trade, bills are per acquirer account, wallets pay through an acquirer of their own
//! protocol, and the gateways take what the real ones take (Alipay `charset=GBK`, WeChat `tar_type=GZIP`).
//! Responses are verified here by hand with the documented rules.

use std::collections::BTreeMap;
use std::io::Read as _;

use base64::Engine as _;
use serde_json::{Value, json};
use tilldesk::channel::alipay::sign as alipay_sign;
use tilldesk::channel::wechatpay::sign::{self as wx_sign, SignType};
use tilldesk::channel::wechatpay::wire::{from_xml, to_xml};
use tilldesk::sandbox;
use tilldesk::sandbox::accounts::{AcquirerAccount, AlipayAccount, SandboxAccounts, SandboxAcquirer, WechatAccount};

mod sandbox_common;

use sandbox_common::{Sb, verify_wechat_by_hand};

/// A sandbox where verification and WeChat refunds take no time.
async fn start() -> Sb {
    let sb = sandbox_common::start().await;
    sb.clock(0).await;
    sb
}

fn acquirer<'a>(accounts: &'a SandboxAccounts, id: &str) -> &'a SandboxAcquirer {
    accounts.acquirers.iter().find(|a| a.acquirer_id == id).unwrap()
}

fn alipay_account<'a>(accounts: &'a SandboxAccounts, id: &str) -> &'a AlipayAccount {
    match &acquirer(accounts, id).account {
        Some(AcquirerAccount::Alipay(a)) => a,
        other => panic!("{id} has no Alipay account: {other:?}"),
    }
}

fn wechat_account<'a>(accounts: &'a SandboxAccounts, id: &str) -> &'a WechatAccount {
    match &acquirer(accounts, id).account {
        Some(AcquirerAccount::Wechatpay(w)) => w,
        other => panic!("{id} has no WeChat account: {other:?}"),
    }
}

fn platform_public(accounts: &SandboxAccounts, id: &str) -> String {
    acquirer(accounts, id).platform.as_ref().unwrap().alipay_public_key_pem.clone()
}

/// The system parameters of an OpenAPI request, signed with the app key over the string to sign in `charset`.
fn signed_params(account: &AlipayAccount, method: &str, biz: &Value, charset: &str) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    for (k, v) in [
        ("app_id", account.app_id.as_str()),
        ("method", method),
        ("format", "JSON"),
        ("charset", charset),
        ("sign_type", "RSA2"),
        ("timestamp", "2026-11-25 10:00:00"),
        ("version", "1.0"),
    ] {
        params.insert(k.to_string(), v.to_string());
    }
    params.insert("biz_content".into(), biz.to_string());
    let content = alipay_sign::request_sign_content(&params);
    let bytes = if charset.eq_ignore_ascii_case("gbk") {
        encoding_rs::GBK.encode(&content).0.into_owned()
    } else {
        content.into_bytes()
    };
    let key = alipay_sign::parse_private_key(&account.app_private_key_pkcs8_pem).unwrap();
    params.insert("sign".into(), alipay_sign::sign_rsa2_bytes(&key, &bytes).unwrap());
    params
}

/// The documented response rule by hand: the signed content is the exact text between `{"<method>_response":` and
/// `,"sign":"`, encoded in the response charset; SHA256withRSA by the acquirer's platform key.
fn verify_by_hand(platform_public_pem: &str, method: &str, body: &str, gbk: bool) -> Result<Value, String> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;
    let prefix = format!("{{\"{}_response\":", method.replace('.', "_"));
    let rest = body
        .strip_prefix(&prefix)
        .or_else(|| body.strip_prefix("{\"error_response\":"))
        .ok_or("the body does not start with the response node")?;
    let cut = rest.rfind(",\"sign\":\"").ok_or("no sign after the node")?;
    let content = &rest[..cut];
    let sign_b64 = rest[cut + 9..].strip_suffix("\"}").ok_or("the body does not end after the sign")?;
    let key = rsa::PublicKey::from_public_key_pem(platform_public_pem).map_err(|e| e.to_string())?;
    let raw = base64::engine::general_purpose::STANDARD.decode(sign_b64).map_err(|e| e.to_string())?;
    let signature = rsa::pkcs1v15::Signature::try_from(raw.as_slice()).map_err(|e| e.to_string())?;
    let bytes = if gbk { encoding_rs::GBK.encode(content).0.into_owned() } else { content.as_bytes().to_vec() };
    rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key)
        .verify(&bytes, &signature)
        .map_err(|_| "the signature does not verify".to_string())?;
    serde_json::from_str(content).map_err(|e| e.to_string())
}

fn pay_biz(out_trade_no: &str, amount: &str, sub_merchant: Option<&str>) -> Value {
    let mut biz = json!({"out_trade_no": out_trade_no, "scene": "bar_code", "auth_code": "2800000000000000",
        "subject": "拿铁咖啡 Latte", "total_amount": amount});
    if let Some(m) = sub_merchant {
        biz["sub_merchant"] = json!({"merchant_id": m});
    }
    biz
}

const STORE: &str = r#"{"legal_name": "上海张三餐饮有限公司", "display_name": "ZHANG SAN NOODLES",
    "display_name_zh": "张三面馆", "mcc": "5812", "country": "CN", "city": "SHANGHAI", "store_id": "S001"}"#;

impl Sb {
    /// Sets the sandbox clock's offset; verification and WeChat refunds take no time.
    async fn clock(&self, offset_secs: i64) {
        let config = json!({"verification_delay_ms": 0, "wechat_refund_delay_ms": 0, "clock_offset_secs": offset_secs});
        self.admin("/admin/config", config).await;
    }

    fn trade<'a>(ledger: &'a Value, out_trade_no: &str) -> &'a Value {
        ledger["trades"].as_array().unwrap().iter().find(|t| t["out_trade_no"] == out_trade_no).unwrap()
    }

    /// Onboards the demo store at an acquirer (active at once) and returns its merchant id there.
    async fn onboard(&self, acquirer_id: &str) -> String {
        let store: Value = serde_json::from_str(STORE).unwrap();
        let r: Value = self
            .http
            .post(self.url(&format!("/onboarding/{acquirer_id}/merchants")))
            .json(&store)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["status"], "active", "{r}");
        r["merchant_id"].as_str().unwrap().to_owned()
    }

    /// A raw request at `{base}{gateway}` (a gateway.do path) with `account`'s key.
    async fn alipay_raw(&self, gateway: &str, account: &AlipayAccount, method: &str, biz: &Value) -> (u16, String) {
        let params = signed_params(account, method, biz, "utf-8");
        let r = self.http.post(self.url(gateway)).form(&params).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A request at an acquirer's gateway with its own account; the answer verified with its platform key.
    async fn alipay_at(&self, acquirer_id: &str, method: &str, biz: Value) -> Value {
        let account = alipay_account(&self.accounts, acquirer_id);
        let gateway = format!("/acquirers/{acquirer_id}/gateway.do");
        let (_, body) = self.alipay_raw(&gateway, account, method, &biz).await;
        verify_by_hand(&platform_public(&self.accounts, acquirer_id), method, &body, false)
            .unwrap_or_else(|e| panic!("{acquirer_id} {method}: {e}\n{body}"))
    }

    async fn wechat_raw(&self, path: &str, account: &WechatAccount, fields: &[(&str, &str)]) -> (u16, Vec<u8>) {
        let mut f: BTreeMap<String, String> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        f.insert("appid".into(), account.appid.clone());
        f.insert("mch_id".into(), account.mch_id.clone());
        f.insert("nonce_str".into(), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into());
        let sign = wx_sign::sign(&f, &account.api_key, SignType::Md5);
        f.insert("sign".into(), sign);
        let r = self.http.post(self.url(path)).body(to_xml(&f)).send().await.unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    /// A verified answer from an acquirer's WeChat gateway.
    async fn wechat_at(&self, acquirer_id: &str, path: &str, fields: &[(&str, &str)]) -> BTreeMap<String, String> {
        let account = wechat_account(&self.accounts, acquirer_id);
        let (_, body) = self.wechat_raw(&format!("/acquirers/{acquirer_id}{path}"), account, fields).await;
        let text = String::from_utf8(body).unwrap();
        let f = from_xml(&text).unwrap_or_else(|e| panic!("{path}: {e}\n{text}"));
        assert_eq!(f.get("return_code").map(String::as_str), Some("SUCCESS"), "{text}");
        verify_wechat_by_hand(&f, &account.api_key);
        f
    }
}

fn china_yesterday() -> (String, String) {
    let d = (time::OffsetDateTime::now_utc() - time::Duration::days(1))
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap())
        .date();
    let day = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let compact = day.replace('-', "");
    (day, compact)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_alipay_acquirer_takes_its_own_trades_for_its_own_sub_merchants() {
    let sb = start().await;
    let (partner, alipay) = (alipay_account(&sb.accounts, "PARTNER1"), alipay_account(&sb.accounts, "ALIPAY"));
    assert_ne!(partner.app_id, alipay.app_id);
    assert_ne!(partner.pid, alipay.pid);
    assert_ne!(platform_public(&sb.accounts, "PARTNER1"), platform_public(&sb.accounts, "ALIPAY"));
    assert_eq!(partner.alipay_public_key_pem, platform_public(&sb.accounts, "PARTNER1"));
    // ALIPAY's account is the one the shared gateway has always served first.
    assert_eq!(alipay.app_id, sb.accounts.merchants[0].alipay.app_id);

    // Yesterday's business, for the bills at the end.
    sb.clock(-86_400).await;
    let p_store = sb.onboard("PARTNER1").await;
    let a_store = sb.onboard("ALIPAY").await;
    assert!(p_store.starts_with("PARTNER1M") && a_store.starts_with("ALIPAYM"), "{p_store} {a_store}");

    let n = sb.alipay_at("PARTNER1", "alipay.trade.pay", pay_biz("P-1", "10.00", Some(&p_store))).await;
    assert_eq!(n["code"], "10000", "{n}");
    let n = sb.alipay_at("PARTNER1", "alipay.trade.pay", pay_biz("P-OWN", "1.00", None)).await;
    assert_eq!(n["code"], "10000", "{n}");
    let n = sb.alipay_at("ALIPAY", "alipay.trade.pay", pay_biz("A-1", "20.00", Some(&a_store))).await;
    assert_eq!(n["code"], "10000", "{n}");
    // PARTNER1's answers are signed with PARTNER1's key, not ALIPAY's.
    let (_, body) = sb
        .alipay_raw("/acquirers/PARTNER1/gateway.do", partner, "alipay.trade.query", &json!({"out_trade_no": "P-1"}))
        .await;
    assert!(verify_by_hand(&platform_public(&sb.accounts, "ALIPAY"), "alipay.trade.query", &body, false).is_err());
    // The shared gateway still takes the merchants[] accounts, as ALIPAY.
    let (status, body) = sb
        .alipay_raw(
            "/gateway.do",
            &sb.accounts.merchants[1].alipay,
            "alipay.trade.pay",
            &pay_biz("OLD-1", "3.00", None),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("\"code\":\"10000\""), "{body}");

    // The ledger says who took each trade.
    let ledger = sb.ledger().await;
    for (out, acquirer_id, merchant_id, account) in [
        ("P-1", "PARTNER1", p_store.as_str(), partner.app_id.as_str()),
        ("P-OWN", "PARTNER1", partner.pid.as_str(), partner.app_id.as_str()),
        ("A-1", "ALIPAY", a_store.as_str(), alipay.app_id.as_str()),
        (
            "OLD-1",
            "ALIPAY",
            sb.accounts.merchants[1].alipay.pid.as_str(),
            sb.accounts.merchants[1].alipay.app_id.as_str(),
        ),
    ] {
        let t = Sb::trade(&ledger, out);
        assert_eq!(
            (t["acquirer_id"].as_str(), t["merchant_id"].as_str(), t["account"].as_str()),
            (Some(acquirer_id), Some(merchant_id), Some(account)),
            "{t}"
        );
    }

    // ALIPAY's app_id at PARTNER1's gateway is an unknown app there.
    let (_, body) = sb
        .alipay_raw("/acquirers/PARTNER1/gateway.do", alipay, "alipay.trade.query", &json!({"out_trade_no": "A-1"}))
        .await;
    let n = verify_by_hand(&platform_public(&sb.accounts, "PARTNER1"), "alipay.trade.query", &body, false).unwrap();
    assert_eq!((n["code"].as_str(), n["sub_code"].as_str()), (Some("40002"), Some("isv.invalid-app-id")));
    // A trade is found only at the acquirer that took it.
    let q = sb.alipay_at("ALIPAY", "alipay.trade.query", json!({"out_trade_no": "P-1"})).await;
    assert_eq!(q["sub_code"], "ACQ.TRADE_NOT_EXIST");
    let q = sb.alipay_at("PARTNER1", "alipay.trade.query", json!({"out_trade_no": "P-1"})).await;
    assert_eq!((q["trade_status"].as_str(), q["total_amount"].as_str()), (Some("TRADE_SUCCESS"), Some("10.00")));
    let r = sb
        .alipay_at(
            "ALIPAY",
            "alipay.trade.refund",
            json!({"out_trade_no": "P-1", "refund_amount": "1.00", "out_request_no": "P-1-R"}),
        )
        .await;
    assert_eq!(r["sub_code"], "ACQ.TRADE_NOT_EXIST");
    let r = sb
        .alipay_at(
            "PARTNER1",
            "alipay.trade.refund",
            json!({"out_trade_no": "P-1", "refund_amount": "4.00", "out_request_no": "P-1-R"}),
        )
        .await;
    assert_eq!(r["refund_fee"], "4.00", "{r}");
    let c = sb.alipay_at("ALIPAY", "alipay.trade.cancel", json!({"trade_no": q["trade_no"]})).await;
    assert_eq!(c["sub_code"], "ACQ.TRADE_NOT_EXIST", "a cancel at another acquirer never touches the trade");

    // A sub-merchant of another acquirer, or nobody's, is refused in Alipay's shape, naming it.
    for (who, out) in [(a_store.as_str(), "P-BAD1"), ("PARTNER1M99999999", "P-BAD2")] {
        let n = sb.alipay_at("PARTNER1", "alipay.trade.pay", pay_biz(out, "1.00", Some(who))).await;
        assert_eq!((n["code"].as_str(), n["sub_code"].as_str()), (Some("40004"), Some("ACQ.SUB_MERCHANT_NOT_EXIST")));
        assert!(n["sub_msg"].as_str().unwrap().contains(who), "{n}");
    }
    // A merchant of this acquirer settling to another account is refused too.
    let store: Value = serde_json::from_str(STORE).unwrap();
    let mut elsewhere = store.clone();
    elsewhere["account"] = sb.accounts.merchants[1].alipay.app_id.clone().into();
    let other: Value = sb
        .http
        .post(sb.url("/onboarding/PARTNER1/merchants"))
        .json(&elsewhere)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n =
        sb.alipay_at("PARTNER1", "alipay.trade.pay", pay_biz("P-BAD3", "1.00", other["merchant_id"].as_str())).await;
    assert_eq!(n["sub_code"], "ACQ.SUB_MERCHANT_NOT_EXIST");
    assert!(n["sub_msg"].as_str().unwrap().contains("settles to account"), "{n}");

    // Wrong protocol or unknown acquirer: no such path.
    let (status, _) = sb
        .wechat_raw("/acquirers/PARTNER1/pay/micropay", wechat_account(&sb.accounts, "WECHATPAY"), &[("body", "x")])
        .await;
    assert_eq!(status, 404);
    let (status, _) = sb
        .alipay_raw("/acquirers/NOBODY/gateway.do", partner, "alipay.trade.query", &json!({"out_trade_no": "x"}))
        .await;
    assert_eq!(status, 404);

    // Bills: each acquirer account's own trades and refunds, all its sub-merchants.
    sb.clock(0).await;
    let (day, _) = china_yesterday();
    let bill_rows = |acquirer_id: &'static str| {
        let sb = &sb;
        let day = day.clone();
        async move {
            let n = sb
                .alipay_at(
                    acquirer_id,
                    "alipay.data.dataservice.bill.downloadurl.query",
                    json!({"bill_type": "trade", "bill_date": day}),
                )
                .await;
            let url = n["bill_download_url"].as_str().unwrap().to_owned();
            assert!(url.contains(&format!("/acquirers/{acquirer_id}/bills/alipay/download?")), "{url}");
            let zip = sb.http.get(&url).send().await.unwrap().bytes().await.unwrap().to_vec();
            let mut entry = tilldesk::channel::alipay::bill::open_detail_entry(std::io::Cursor::new(zip)).unwrap();
            let rows: Vec<_> = entry.reader().unwrap().map(|r| r.unwrap()).collect();
            let mut seen: Vec<String> = rows.iter().map(|r| format!("{}:{}", r.out_trade_no, r.order_amount)).collect();
            seen.sort();
            (url, seen)
        }
    };
    let (p_url, p_rows) = bill_rows("PARTNER1").await;
    assert_eq!(p_rows, ["P-1:-4.00", "P-1:10.00", "P-OWN:1.00"]);
    assert!(p_url.contains(&format!("downloadFileName={}0156_", partner.pid)), "{p_url}");
    let (_, a_rows) = bill_rows("ALIPAY").await;
    assert_eq!(a_rows, ["A-1:20.00"]);
    // A link is served only under the gateway that handed it out.
    let moved = p_url.replace("/acquirers/PARTNER1/", "/acquirers/ALIPAY/");
    assert_eq!(sb.http.get(&moved).send().await.unwrap().status(), 404);
    sb.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_sub_merchants_refunds_and_gzip_bills() {
    use tilldesk::channel::wechatpay::bill::BillReader;
    let sb = start().await;
    sb.clock(-86_400).await;
    let store = sb.onboard("WECHATPAY").await;
    let account = wechat_account(&sb.accounts, "WECHATPAY");
    let code = "130000000000000000";
    let pay = [
        ("body", "鲜榨橙汁"),
        ("out_trade_no", "W-1"),
        ("total_fee", "1800"),
        ("spbill_create_ip", "127.0.0.1"),
        ("auth_code", code),
        ("sub_mch_id", store.as_str()),
    ];
    let r = sb.wechat_at("WECHATPAY", "/pay/micropay", &pay).await;
    assert_eq!((r["result_code"].as_str(), r["sub_mch_id"].as_str()), ("SUCCESS", store.as_str()), "{r:?}");
    let refund = [
        ("out_trade_no", "W-1"),
        ("out_refund_no", "W-1-R"),
        ("total_fee", "1800"),
        ("refund_fee", "800"),
        ("sub_mch_id", store.as_str()),
    ];
    let r = sb.wechat_at("WECHATPAY", "/secapi/pay/refund", &refund).await;
    assert_eq!((r["result_code"].as_str(), r["refund_fee"].as_str()), ("SUCCESS", "800"), "{r:?}");
    let q = sb.wechat_at("WECHATPAY", "/pay/refundquery", &[("out_refund_no", "W-1-R"), ("sub_mch_id", &store)]).await;
    assert_eq!((q["refund_status_0"].as_str(), q["refund_fee_0"].as_str()), ("SUCCESS", "800"), "{q:?}");
    let q = sb.wechat_at("WECHATPAY", "/pay/orderquery", &[("out_trade_no", "W-1")]).await;
    assert_eq!(q["trade_state"], "REFUND");

    // A sub-merchant that is not WECHATPAY's is refused, named.
    let partner_store = sb.onboard("PARTNER1").await;
    for who in [partner_store.as_str(), "WECHATPAYM99999999"] {
        let mut bad = pay;
        bad[1] = ("out_trade_no", "W-BAD");
        bad[5] = ("sub_mch_id", who);
        let r = sb.wechat_at("WECHATPAY", "/pay/micropay", &bad).await;
        assert_eq!((r["result_code"].as_str(), r["err_code"].as_str()), ("FAIL", "SUB_MCH_NOT_EXIST"), "{r:?}");
        assert!(r["err_code_des"].contains(who), "{r:?}");
    }
    // Another acquirer's account is unknown at WECHATPAY's gateway; the shared mch_id is WECHATPAY's own.
    assert_eq!(account.mch_id, sb.accounts.merchants[0].wechatpay.mch_id);
    let (_, body) = sb
        .wechat_raw(
            "/acquirers/WECHATPAY/pay/orderquery",
            &sb.accounts.merchants[1].wechatpay,
            &[("out_trade_no", "W-1")],
        )
        .await;
    let f = from_xml(std::str::from_utf8(&body).unwrap()).unwrap();
    assert_eq!((f["return_code"].as_str(), f["return_msg"].as_str()), ("FAIL", "商户号mch_id不存在"));
    // Alipay paths at a WeChat acquirer do not exist.
    let (status, _) = sb
        .alipay_raw(
            "/acquirers/WECHATPAY/gateway.do",
            &sb.accounts.merchants[0].alipay,
            "alipay.trade.query",
            &json!({}),
        )
        .await;
    assert_eq!(status, 404);

    let ledger = sb.ledger().await;
    let t = Sb::trade(&ledger, "W-1");
    assert_eq!((t["acquirer_id"].as_str(), t["merchant_id"].as_str()), (Some("WECHATPAY"), Some(store.as_str())));
    let refund_row = ledger["refunds"].as_array().unwrap().iter().find(|r| r["out_request_no"] == "W-1-R").unwrap();
    assert_eq!(refund_row["trade_id"], t["id"], "a refund is reachable through its trade");

    // The day's bill, gzip-compressed as WeChat serves it with tar_type=GZIP.
    sb.clock(0).await;
    let (_, compact) = china_yesterday();
    let (status, gz) = sb
        .wechat_raw(
            "/acquirers/WECHATPAY/pay/downloadbill",
            account,
            &[("bill_date", &compact), ("bill_type", "ALL"), ("tar_type", "GZIP")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "a gzip stream");
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.as_slice()).read_to_string(&mut text).unwrap();
    let mut reader = BillReader::new(std::io::BufReader::new(text.as_bytes())).unwrap();
    let rows: Vec<_> = reader.by_ref().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2, "{text}");
    let paid = rows.iter().find(|r| r.trade_state == "SUCCESS").unwrap();
    assert_eq!(
        (paid.out_trade_no.as_str(), paid.sub_mch_id.as_str(), paid.mch_id.as_str(), paid.total_fee.fen()),
        ("W-1", store.as_str(), account.mch_id.as_str(), 1800)
    );
    let refunded = rows.iter().find(|r| r.trade_state == "REFUND").unwrap();
    assert_eq!((refunded.out_refund_no.as_str(), refunded.refund_fee.fen()), ("W-1-R", 800));
    // Without tar_type the same bill is plain text; another tar_type is refused.
    let (_, plain) = sb
        .wechat_raw("/acquirers/WECHATPAY/pay/downloadbill", account, &[("bill_date", &compact), ("bill_type", "ALL")])
        .await;
    assert_eq!(String::from_utf8(plain).unwrap(), text);
    let (_, refused) = sb
        .wechat_raw("/acquirers/WECHATPAY/pay/downloadbill", account, &[("bill_date", &compact), ("tar_type", "ZIP")])
        .await;
    assert!(String::from_utf8(refused).unwrap().contains("tar_type"));
    sb.running.stop().await;
}

/// Percent-encodes bytes for a form body.
fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'*') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_takes_gbk_requests_and_answers_in_gbk() {
    let sb = start().await;
    let account = alipay_account(&sb.accounts, "PARTNER1");
    let biz = json!({"out_trade_no": "G-1", "scene": "bar_code", "auth_code": "2800000000000000",
        "subject": "张三面馆 牛肉面", "total_amount": "26.00"});
    // A GBK request: the values percent-encoded as GBK bytes, signed over the GBK bytes of the string to sign.
    let gbk = |method: &'static str, biz: Value| {
        let sb = &sb;
        async move {
            let params = signed_params(account, method, &biz, "GBK");
            let form: Vec<String> = params
                .iter()
                .map(|(k, v)| {
                    format!("{}={}", percent_encode(k.as_bytes()), percent_encode(&encoding_rs::GBK.encode(v).0))
                })
                .collect();
            let r = sb
                .http
                .post(sb.url("/acquirers/PARTNER1/gateway.do"))
                .header("content-type", "application/x-www-form-urlencoded;charset=GBK")
                .body(form.join("&"))
                .send()
                .await
                .unwrap();
            let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(content_type.to_ascii_lowercase().contains("charset=gbk"), "{content_type}");
            r.bytes().await.unwrap().to_vec()
        }
    };
    let bytes = gbk("alipay.trade.pay", biz).await;
    let (body, _, bad) = encoding_rs::GBK.decode(&bytes);
    assert!(!bad);
    let n = verify_by_hand(&platform_public(&sb.accounts, "PARTNER1"), "alipay.trade.pay", &body, true).unwrap();
    assert_eq!(n["code"], "10000", "{n}");
    let ledger = sb.ledger().await;
    assert_eq!(Sb::trade(&ledger, "G-1")["subject"], "张三面馆 牛肉面");
    // An answer with Chinese in it is GBK on the wire, signed over its GBK bytes.
    let bytes = gbk("alipay.trade.query", json!({"out_trade_no": "G-NONE"})).await;
    assert!(std::str::from_utf8(&bytes).is_err(), "the answer's Chinese is GBK, not UTF-8");
    let (body, _, _) = encoding_rs::GBK.decode(&bytes);
    let n = verify_by_hand(&platform_public(&sb.accounts, "PARTNER1"), "alipay.trade.query", &body, true).unwrap();
    assert_eq!((n["sub_code"].as_str(), n["sub_msg"].as_str()), (Some("ACQ.TRADE_NOT_EXIST"), Some("交易不存在")));

    // The same values signed over their UTF-8 bytes do not verify under charset=GBK.
    let mut wrong = signed_params(account, "alipay.trade.query", &json!({"out_trade_no": "G-1"}), "utf-8");
    wrong.insert("charset".into(), "GBK".into());
    let body =
        sb.http.post(sb.url("/acquirers/PARTNER1/gateway.do")).form(&wrong).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("isv.invalid-signature"), "{body}");
    // A charset Alipay does not take is refused as before.
    let latin = signed_params(account, "alipay.trade.query", &json!({"out_trade_no": "G-1"}), "latin1");
    let body =
        sb.http.post(sb.url("/acquirers/PARTNER1/gateway.do")).form(&latin).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("isv.invalid-charset"), "{body}");
    sb.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_pay_through_a_bound_acquirer_of_their_own_protocol() {
    use tilldesk::mpm::{AcquirerReference, CdsData, CodeFormat, StoreCodeInput, build_store_code};
    let sb = start().await;
    // The merchant side: every notification body arrives on a channel and is acknowledged.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify_url = format!("http://{}/notify", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let xml = body.starts_with("<xml>");
                let _ = tx.send(body);
                if xml {
                    "<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>".to_string()
                } else {
                    "success".to_string()
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (partner, wechat) = (alipay_account(&sb.accounts, "PARTNER1"), wechat_account(&sb.accounts, "WECHATPAY"));
    for account in [&partner.app_id, &wechat.mch_id] {
        sb.admin("/admin/notify-url", json!({"account": account, "url": notify_url})).await;
    }
    let accounts: Value = sb.http.get(sb.url("/admin/accounts")).send().await.unwrap().json().await.unwrap();
    let p1 = accounts["acquirers"].as_array().unwrap().iter().find(|a| a["acquirer_id"] == "PARTNER1").unwrap();
    assert_eq!(
        (p1["notify_url"].as_str(), p1["account"]["alipay"]["app_id"].as_str()),
        (Some(notify_url.as_str()), Some(partner.app_id.as_str()))
    );

    // One store, at PARTNER1 (registered on the CDS platform) and WECHATPAY (bound to the same index).
    let p_store = sb.onboard("PARTNER1").await;
    let w_store = sb.onboard("WECHATPAY").await;
    let reg: Value = sb
        .http
        .post(sb.url(&format!("/onboarding/PARTNER1/merchants/{p_store}/cds")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cds_index = reg["cds_index"].as_str().unwrap().to_owned();
    let r = sb
        .http
        .post(sb.url("/onboarding/WECHATPAY/cds-bindings"))
        .json(&json!({"cds_index": cds_index, "merchant_id": w_store}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let input = StoreCodeInput::example_for_tests("ZHANG SAN NOODLES", "张三面馆");
    let cds = CdsData { platform_id: "SANDBOXCDS".into(), cds_index };
    let code = build_store_code(CodeFormat::AlipayPlusMpm, &input, &[], Some(&cds)).unwrap();
    let scan = |payload: String, wallet: &'static str| {
        let sb = &sb;
        async move {
            let r = sb
                .http
                .post(sb.url("/simulate/scan"))
                .json(&json!({"payload": payload, "amount": "23.50", "wallet": wallet}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };

    let (status, w) = scan(code.clone(), "wechatpay").await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(
        (w["acquirer_id"].as_str(), w["protocol"].as_str(), w["merchant_id"].as_str(), w["account"].as_str()),
        (Some("WECHATPAY"), Some("wechatpay"), Some(w_store.as_str()), Some(wechat.mch_id.as_str()))
    );
    let xml = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await.unwrap().unwrap();
    let f = from_xml(&xml).unwrap();
    verify_wechat_by_hand(&f, &wechat.api_key);
    assert_eq!((f["mch_id"].as_str(), f["sub_mch_id"].as_str()), (wechat.mch_id.as_str(), w_store.as_str()));
    assert_eq!((f["total_fee"].as_str(), f["transaction_id"].as_str()), ("2350", w["trade_no"].as_str().unwrap()));

    let (status, a) = scan(code.clone(), "alipay").await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        (a["acquirer_id"].as_str(), a["protocol"].as_str(), a["merchant_id"].as_str(), a["account"].as_str()),
        (Some("PARTNER1"), Some("alipay"), Some(p_store.as_str()), Some(partner.app_id.as_str()))
    );
    let form = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await.unwrap().unwrap();
    let params: BTreeMap<String, String> = serde_urlencoded::from_str(&form).unwrap();
    assert_eq!((params["app_id"].as_str(), params["seller_id"].as_str()), (partner.app_id.as_str(), p_store.as_str()));
    {
        // rsaCheckV1 by hand, with PARTNER1's platform key.
        use rsa::pkcs8::DecodePublicKey;
        use rsa::signature::Verifier;
        let content: Vec<String> = params
            .iter()
            .filter(|(k, v)| *k != "sign" && *k != "sign_type" && !v.is_empty())
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let key = rsa::PublicKey::from_public_key_pem(&platform_public(&sb.accounts, "PARTNER1")).unwrap();
        let raw = base64::engine::general_purpose::STANDARD.decode(&params["sign"]).unwrap();
        rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key)
            .verify(content.join("&").as_bytes(), &rsa::pkcs1v15::Signature::try_from(raw.as_slice()).unwrap())
            .unwrap();
    }
    let ledger = sb.ledger().await;
    for (scan, acquirer_id, merchant_id) in [(&w, "WECHATPAY", &w_store), (&a, "PARTNER1", &p_store)] {
        let t = Sb::trade(&ledger, scan["out_trade_no"].as_str().unwrap());
        assert_eq!(
            (t["acquirer_id"].as_str(), t["merchant_id"].as_str()),
            (Some(acquirer_id), Some(merchant_id.as_str()))
        );
    }
    // The PARTNER1 trade is PARTNER1's to query.
    let q = sb.alipay_at("PARTNER1", "alipay.trade.query", json!({"out_trade_no": a["out_trade_no"]})).await;
    assert_eq!(q["trade_status"], "TRADE_SUCCESS");

    // A code whose only acquirer speaks Alipay is refused to a WeChat wallet, plainly; an Alipay wallet pays.
    let reference = [AcquirerReference { guid: "com.partner1.sandbox".into(), merchant_id: p_store.clone() }];
    let only_partner = build_store_code(CodeFormat::Emvco, &input, &reference, None).unwrap();
    let (status, refused) = scan(only_partner.clone(), "wechatpay").await;
    assert_eq!(status, 404, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("no wechatpay acquirer"), "{refused}");
    let (status, paid) = scan(only_partner, "alipay").await;
    assert_eq!(
        (status, paid["resolved_by"].as_str(), paid["acquirer_id"].as_str()),
        (200, Some("reference"), Some("PARTNER1"))
    );
    sb.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_sandbox_json_gets_its_acquirer_accounts_and_nothing_else_changes() {
    let dir = tempfile::tempdir().unwrap();
    // A version 1 file: acquirers without accounts.
    let mut old = serde_json::to_value(SandboxAccounts::generate().unwrap()).unwrap();
    old["version"] = 1.into();
    for a in old["acquirers"].as_array_mut().unwrap() {
        let a = a.as_object_mut().unwrap();
        a.remove("account");
        a.remove("platform");
        a.remove("notify_url");
    }
    std::fs::write(dir.path().join("sandbox.json"), serde_json::to_string_pretty(&old).unwrap()).unwrap();
    let running = sandbox::start(dir.path(), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sandbox.json")).unwrap()).unwrap();
    assert_eq!(saved["version"], 2);
    for key in ["created_at", "platform", "merchants"] {
        assert_eq!(saved[key], old[key], "{key} must not change");
    }
    for (new, was) in saved["acquirers"].as_array().unwrap().iter().zip(old["acquirers"].as_array().unwrap()) {
        for key in ["acquirer_id", "name", "protocol", "issuer_guid"] {
            assert_eq!(new[key], was[key]);
        }
    }
    let accounts: SandboxAccounts = serde_json::from_value(saved).unwrap();
    assert_eq!(alipay_account(&accounts, "ALIPAY").app_id, accounts.merchants[0].alipay.app_id);
    assert_eq!(wechat_account(&accounts, "WECHATPAY").mch_id, accounts.merchants[0].wechatpay.mch_id);
    let partner = alipay_account(&accounts, "PARTNER1");
    assert!(accounts.merchants.iter().all(|m| m.alipay.app_id != partner.app_id && m.alipay.pid != partner.pid));
    assert_eq!(partner.alipay_public_key_pem, platform_public(&accounts, "PARTNER1"));
    // The running sandbox serves the new accounts at once.
    let sb = Sb { dir, running, accounts, http: reqwest::Client::new() };
    let n = sb.alipay_at("PARTNER1", "alipay.trade.query", json!({"out_trade_no": "none"})).await;
    assert_eq!(n["sub_code"], "ACQ.TRADE_NOT_EXIST");
    // Loading again changes nothing more.
    let before = std::fs::read_to_string(sb.dir.path().join("sandbox.json")).unwrap();
    SandboxAccounts::load_or_create(sb.dir.path()).unwrap();
    assert_eq!(std::fs::read_to_string(sb.dir.path().join("sandbox.json")).unwrap(), before);
    sb.running.stop().await;
}
