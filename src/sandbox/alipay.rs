//! Alipay OpenAPI at `/gateway.do`: RSA2-verified requests, platform-signed `{"<method>_response":{…},"sign":"…"}`
//! responses, the 当面付 methods and the bill download.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::channel::alipay::sign::{PrivateKey, PublicKey};
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::faults::FaultKind;
use super::form::{self, Charset};
use super::gateway::{Gateway, check_sub_merchant};
use super::ledger::{NewTrade, Protocol, RefundOutcome, RefundRefusal, Scope, Trade, TradeStatus};
use super::testcodes::{self, Behaviour, CodeOwner};
use super::{Reply, SandboxState, before, bills, finish};
use crate::channel::alipay::sign as alipay_sign;
use crate::money::Amount;

/// The platform's signing key and each merchant app's public key, parsed once at start; and each alipay-protocol
/// acquirer's own platform key and account app key.
pub(crate) struct Keys {
    pub(crate) platform: PrivateKey,
    apps: HashMap<String, PublicKey>,
    acquirers: HashMap<String, AcquirerKeys>,
}

struct AcquirerKeys {
    platform: PrivateKey,
    app_id: String,
    app: PublicKey,
}

impl Keys {
    pub(crate) fn from_accounts(accounts: &super::accounts::SandboxAccounts) -> Result<Keys, super::SandboxError> {
        let unusable = |what: String| move |source| super::SandboxError::Keys { what, source };
        let platform = alipay_sign::parse_private_key(&accounts.platform.alipay_private_key_pkcs8_pem)
            .map_err(unusable("platform private key".to_owned()))?;
        let mut apps = HashMap::new();
        for m in &accounts.merchants {
            let key = alipay_sign::parse_public_key(&m.alipay.app_public_key_pem)
                .map_err(unusable(format!("app public key of {}", m.alipay.app_id)))?;
            apps.insert(m.alipay.app_id.clone(), key);
        }
        let mut acquirers = HashMap::new();
        for a in &accounts.acquirers {
            let (Some(p), Some(account)) = (&a.platform, a.alipay_account()) else { continue };
            let platform = alipay_sign::parse_private_key(&p.alipay_private_key_pkcs8_pem)
                .map_err(unusable(format!("platform private key of acquirer {}", a.acquirer_id)))?;
            let app = alipay_sign::parse_public_key(&account.app_public_key_pem)
                .map_err(unusable(format!("app public key of acquirer {}", a.acquirer_id)))?;
            acquirers.insert(a.acquirer_id.clone(), AcquirerKeys { platform, app_id: account.app_id.clone(), app });
        }
        Ok(Keys { platform, apps, acquirers })
    }

    /// The key an acquirer signs with: its own platform key, or the shared one (the shared gateway, or an acquirer
    /// without its own).
    pub(crate) fn platform_of(&self, acquirer_id: Option<&str>) -> &PrivateKey {
        acquirer_id.and_then(|id| self.acquirers.get(id)).map(|k| &k.platform).unwrap_or(&self.platform)
    }

    /// The app public key a gateway verifies `app_id` with: any `merchants[]` app at the shared gateway, only the
    /// acquirer's own account at its gateway.
    fn app_key(&self, gateway: &Gateway, app_id: &str) -> Option<&PublicKey> {
        match gateway {
            Gateway::Shared => self.apps.get(app_id),
            Gateway::Acquirer(a) => self.acquirers.get(&a.acquirer_id).filter(|k| k.app_id == app_id).map(|k| &k.app),
        }
    }
}

/// The merchant account a verified request came from, at the gateway it came through.
struct Caller {
    acquirer_id: String,
    app_id: String,
    /// The account's own 2088 pid: the merchant id of trades taken without a sub-merchant, and the bill's name.
    pid: String,
    strict: bool,
    gateway: Gateway,
}

impl Caller {
    fn scope(&self) -> Scope<'_> {
        Scope { protocol: Protocol::Alipay, acquirer_id: &self.acquirer_id, account: &self.app_id, strict: self.strict }
    }
}

const METHODS: &[&str] = &[
    "alipay.trade.pay",
    "alipay.trade.query",
    "alipay.trade.cancel",
    "alipay.trade.close",
    "alipay.trade.refund",
    "alipay.trade.fastpay.refund.query",
    "alipay.data.dataservice.bill.downloadurl.query",
    "alipay.trade.precreate",
];

// The Java SDK and the official Python SDK put system parameters in the query string and biz_content in the form
// body; python-alipay-sdk puts everything in the query. Both are merged, decoded in the request's charset, verified.

pub async fn gateway_get(State(state): State<Arc<SandboxState>>, RawQuery(query): RawQuery) -> Response {
    gateway(state, Gateway::Shared, query.as_deref(), &[]).await
}

pub async fn gateway_post(State(state): State<Arc<SandboxState>>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    gateway(state, Gateway::Shared, query.as_deref(), &body).await
}

/// `GET /acquirers/{acquirer_id}/gateway.do`
pub async fn acquirer_gateway_get(
    State(state): State<Arc<SandboxState>>,
    Path(acquirer_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    match Gateway::of(&state, &acquirer_id, Protocol::Alipay) {
        Ok(gw) => gateway(state, gw, query.as_deref(), &[]).await,
        Err(r) => r,
    }
}

/// `POST /acquirers/{acquirer_id}/gateway.do`
pub async fn acquirer_gateway_post(
    State(state): State<Arc<SandboxState>>,
    Path(acquirer_id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    match Gateway::of(&state, &acquirer_id, Protocol::Alipay) {
        Ok(gw) => gateway(state, gw, query.as_deref(), &body).await,
        Err(r) => r,
    }
}

async fn gateway(state: Arc<SandboxState>, gw: Gateway, query: Option<&str>, body: &[u8]) -> Response {
    let (params, charset) = form::decode_params(query, body);
    let method = params.get("method").cloned().unwrap_or_default();
    let (fired, early) = before(&state, &method).await;
    if let Some(r) = early {
        return r;
    }
    let node_name = if METHODS.contains(&method.as_str()) {
        format!("{}_response", method.replace('.', "_"))
    } else {
        "error_response".to_owned()
    };
    let node = if fired.has(FaultKind::SystemError) {
        system_error(&method)
    } else {
        match check_request(&state, &gw, &params, charset, &method) {
            Err(node) => node,
            Ok((caller, biz)) => handle(&state, &caller, &method, &biz),
        }
    };
    // The answer is in the request's charset, signed over its bytes in that charset.
    let charset = charset.unwrap_or(Charset::Utf8);
    let body = sign_node(state.keys.platform_of(gw.own_acquirer()), &node_name, &node, charset);
    let reply = if charset == Charset::Gbk { Reply::json_gbk(body) } else { Reply::json(body) };
    finish(reply, &fired)
}

/// Serialises `{"<node_name>":{…},"sign":"…"}` compactly, node first, signed over the node's exact text in `charset`.
fn sign_node(key: &PrivateKey, node_name: &str, node: &Value, charset: Charset) -> String {
    let node_text = node.to_string();
    match alipay_sign::sign_rsa2_bytes(key, &charset.encode(&node_text)) {
        Ok(sign) => format!("{{\"{node_name}\":{node_text},\"sign\":\"{sign}\"}}"),
        Err(e) => {
            tracing::error!(error = %e, "sandbox could not sign a response");
            format!("{{\"{node_name}\":{node_text}}}")
        }
    }
}

fn node(code: &str, msg: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("code".into(), code.into());
    m.insert("msg".into(), msg.into());
    m
}

fn error(code: &str, msg: &str, sub_code: &str, sub_msg: &str) -> Value {
    let mut m = node(code, msg);
    m.insert("sub_code".into(), sub_code.into());
    m.insert("sub_msg".into(), sub_msg.into());
    Value::Object(m)
}

fn missing(sub_code: &str, sub_msg: &str) -> Value {
    error("40001", "Missing Required Arguments", sub_code, sub_msg)
}

fn invalid(sub_code: &str, sub_msg: &str) -> Value {
    error("40002", "Invalid Arguments", sub_code, sub_msg)
}

fn business(sub_code: &str, sub_msg: &str) -> Value {
    error("40004", "Business Failed", sub_code, sub_msg)
}

fn system_error(method: &str) -> Value {
    if method == "alipay.trade.cancel" {
        let mut v = business("ACQ.SYSTEM_ERROR", "系统错误");
        v["retry_flag"] = "Y".into();
        v
    } else {
        error("20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙")
    }
}

/// Common parameters, app, signature, biz_content: everything the gateway checks before the business.
fn check_request(
    state: &SandboxState,
    gw: &Gateway,
    params: &BTreeMap<String, String>,
    charset: Option<Charset>,
    method: &str,
) -> Result<(Caller, Map<String, Value>), Value> {
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let Some(_) = get("method") else { return Err(missing("isv.missing-method", "缺少方法名参数")) };
    let Some(app_id) = get("app_id") else { return Err(missing("isv.missing-app-id", "缺少AppID参数")) };
    let Some(sign) = get("sign") else { return Err(missing("isv.missing-signature", "缺少签名参数")) };
    let Some(sign_type) = get("sign_type") else {
        return Err(missing("isv.missing-signature-type", "缺少签名类型参数"));
    };
    if get("timestamp").is_none() {
        return Err(missing("isv.missing-timestamp", "缺少时间戳参数"));
    }
    if get("version").is_none() {
        return Err(missing("isv.missing-version", "缺少版本参数"));
    }
    let Some(charset) = charset else {
        return Err(invalid("isv.invalid-charset", "字符集错误：只接受 utf-8、gbk、gb2312"));
    };
    if get("format").is_some_and(|f| !f.eq_ignore_ascii_case("json")) {
        return Err(invalid("isv.invalid-format", "参数格式错误"));
    }
    if sign_type != "RSA2" {
        return Err(invalid("isv.invalid-signature-type", "无效的签名类型：沙箱只接受 RSA2"));
    }
    let Some(app_key) = state.keys.app_key(gw, app_id) else {
        return Err(invalid("isv.invalid-app-id", "无效的AppID参数"));
    };
    // The string to sign is built from the decoded values and verified over its bytes in the request's charset.
    let content = alipay_sign::request_sign_content(params);
    if alipay_sign::verify_rsa2_bytes(app_key, &charset.encode(&content), sign).is_err() {
        return Err(invalid(
            "isv.invalid-signature",
            &format!("验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}"),
        ));
    }
    if !METHODS.contains(&method) {
        return Err(invalid("isv.invalid-method", "不存在的方法名"));
    }
    let Some(biz) = get("biz_content") else {
        return Err(missing("isv.missing-biz-content", "缺少biz_content参数"));
    };
    let biz = match serde_json::from_str::<Value>(biz) {
        Ok(Value::Object(m)) => m,
        _ => return Err(invalid("isv.invalid-biz-content", "biz_content 不是 JSON 对象")),
    };
    let pid = match gw {
        Gateway::Shared => state.accounts().merchant_by_app_id(app_id).map(|m| m.alipay.pid.clone()),
        Gateway::Acquirer(a) => a.alipay_account().map(|acc| acc.pid.clone()),
    }
    .unwrap_or_default();
    let caller = Caller {
        acquirer_id: gw.acquirer_id(Protocol::Alipay),
        app_id: app_id.to_owned(),
        pid,
        strict: gw.strict(),
        gateway: gw.clone(),
    };
    Ok((caller, biz))
}

fn handle(state: &SandboxState, caller: &Caller, method: &str, biz: &Map<String, Value>) -> Value {
    let now = state.now();
    let result = match method {
        "alipay.trade.pay" => pay(state, caller, biz, now),
        "alipay.trade.query" => query(state, caller, biz, now),
        "alipay.trade.cancel" => cancel(state, caller, biz, now),
        "alipay.trade.close" => close(state, caller, biz, now),
        "alipay.trade.refund" => refund(state, caller, biz, now),
        "alipay.trade.fastpay.refund.query" => refund_query(state, caller, biz, now),
        "alipay.data.dataservice.bill.downloadurl.query" => bill_url(state, caller, biz, now),
        "alipay.trade.precreate" => precreate(state, caller, biz, now),
        _ => Ok(invalid("isv.invalid-method", "不存在的方法名")),
    };
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, method, "sandbox ledger failure");
        system_error(method)
    })
}

/// The trade's merchant: biz_content `sub_merchant.merchant_id` (the 二级商户, which must be this acquirer's active
/// merchant on this account), else the account itself. Err is the refusal to answer.
fn merchant_of(
    state: &SandboxState,
    caller: &Caller,
    biz: &Map<String, Value>,
    now: OffsetDateTime,
) -> Result<Result<String, Value>, super::ledger::LedgerError> {
    let Some(sub) = biz.get("sub_merchant") else { return Ok(Ok(caller.pid.clone())) };
    let Some(id) = sub.get("merchant_id").and_then(Value::as_str).filter(|s| !s.trim().is_empty()) else {
        return Ok(Err(business("ACQ.INVALID_PARAMETER", "参数无效: sub_merchant.merchant_id 必填")));
    };
    Ok(match check_sub_merchant(state, &caller.acquirer_id, &caller.app_id, id, now)? {
        Ok(()) => Ok(id.to_owned()),
        Err(why) => Err(business("ACQ.SUB_MERCHANT_NOT_EXIST", &format!("二级商户不存在或不可用: {why}"))),
    })
}

type Handled = Result<Value, super::ledger::LedgerError>;

fn text<'a>(biz: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    biz.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// "yyyy-MM-dd HH:mm:ss" in China time, as Alipay writes times.
pub(crate) fn china_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(super::ledger::china_offset());
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn stored_china_time(stored: Option<&str>) -> Option<String> {
    stored.and_then(super::ledger::parse_time).map(china_time)
}

fn yuan(fen: i64) -> String {
    Amount::from_fen(fen).to_string()
}

fn buyer_logon_id(trade: &Trade) -> String {
    format!("159****{}", &trade.buyer_id[trade.buyer_id.len().saturating_sub(4)..])
}

/// The fields trade.pay and trade.query share.
fn trade_fields(m: &mut Map<String, Value>, t: &Trade) {
    m.insert("trade_no".into(), t.trade_no.clone().into());
    m.insert("out_trade_no".into(), t.out_trade_no.clone().into());
    m.insert("buyer_logon_id".into(), buyer_logon_id(t).into());
    m.insert("buyer_user_id".into(), t.buyer_id.clone().into());
    m.insert("total_amount".into(), yuan(t.total_amount).into());
    if t.status != TradeStatus::Waiting {
        m.insert("receipt_amount".into(), yuan(t.total_amount).into());
        m.insert("buyer_pay_amount".into(), yuan(t.total_amount).into());
        m.insert("invoice_amount".into(), yuan(t.total_amount).into());
        m.insert("point_amount".into(), "0.00".into());
    }
    if let Some(paid) = stored_china_time(t.paid_at.as_deref()) {
        m.insert("gmt_payment".into(), paid.into());
        m.insert(
            "fund_bill_list".into(),
            json!([{ "fund_channel": "ALIPAYACCOUNT", "amount": yuan(t.total_amount), "real_amount": yuan(t.total_amount) }]),
        );
    }
    if let Some(store) = &t.store_id {
        m.insert("store_id".into(), store.clone().into());
    }
}

fn trade_status(t: &Trade) -> &'static str {
    match t.status {
        TradeStatus::Waiting => "WAIT_BUYER_PAY",
        TradeStatus::Paid if t.refunded_amount >= t.total_amount => "TRADE_CLOSED",
        TradeStatus::Paid => "TRADE_SUCCESS",
        TradeStatus::Closed | TradeStatus::Reversed => "TRADE_CLOSED",
    }
}

fn parse_amount(biz: &Map<String, Value>, key: &str) -> Result<i64, Value> {
    let Some(raw) = biz.get(key) else {
        return Err(business("ACQ.INVALID_PARAMETER", &format!("参数无效: 缺少 {key}")));
    };
    let text = match raw {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    match Amount::parse(&text) {
        Ok(a) if a.fen() >= 1 && a.fen() <= 10_000_000_000 => Ok(a.fen()),
        _ => Err(business("ACQ.INVALID_PARAMETER", &format!("参数无效: {key} 应为 0.01 至 100000000 之间的金额"))),
    }
}

fn pay(state: &SandboxState, caller: &Caller, biz: &Map<String, Value>, now: OffsetDateTime) -> Handled {
    let (Some(out_trade_no), Some(auth_code), Some(subject)) =
        (text(biz, "out_trade_no"), text(biz, "auth_code"), text(biz, "subject"))
    else {
        return Ok(business("ACQ.INVALID_PARAMETER", "参数无效: out_trade_no、auth_code、subject 必填"));
    };
    if text(biz, "scene").is_some_and(|s| s != "bar_code" && s != "wave_code") {
        return Ok(business("ACQ.INVALID_PARAMETER", "参数无效: scene 应为 bar_code"));
    }
    let total = match parse_amount(biz, "total_amount") {
        Ok(v) => v,
        Err(v) => return Ok(v),
    };
    let merchant_id = match merchant_of(state, caller, biz, now)? {
        Ok(m) => m,
        Err(refusal) => return Ok(refusal),
    };
    if let Some(existing) = state.ledger.find_trade(caller.scope(), Some(out_trade_no), None, now)? {
        return Ok(match existing.status {
            TradeStatus::Paid if existing.auth_code.as_deref() == Some(auth_code) => {
                business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            }
            TradeStatus::Paid => business("ACQ.TRADE_BUYER_NOT_MATCH", "交易买家不匹配"),
            TradeStatus::Closed | TradeStatus::Reversed => business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"),
            TradeStatus::Waiting => {
                let mut m = node("10003", " order success pay inprocess");
                trade_fields(&mut m, &existing);
                Value::Object(m)
            }
        });
    }
    if testcodes::code_owner(auth_code) != Some(CodeOwner::Alipay) {
        return Ok(business(
            "ACQ.PAYMENT_AUTH_CODE_INVALID",
            "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款",
        ));
    }
    let mut new = NewTrade {
        out_trade_no: out_trade_no.to_owned(),
        merchant_id,
        auth_code: Some(auth_code.to_owned()),
        subject: subject.to_owned(),
        total_amount: total,
        source: "barcode",
        store_id: text(biz, "store_id").map(str::to_owned),
        terminal_id: text(biz, "terminal_id").map(str::to_owned),
        operator_id: text(biz, "operator_id").map(str::to_owned),
        ..Default::default()
    };
    match testcodes::behaviour(auth_code) {
        Behaviour::InsufficientBalance => Ok(business("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")),
        Behaviour::CodeExpired => Ok(business("ACQ.PAYMENT_AUTH_CODE_INVALID", "付款码已过期，请顾客刷新付款码")),
        Behaviour::AlreadyUsed => Ok(business("ACQ.PAYMENT_AUTH_CODE_INVALID", "付款码已使用，请顾客刷新付款码")),
        Behaviour::PasswordThenPays(after) => {
            new.status = Some(TradeStatus::Waiting);
            new.pays_at = Some(now + after);
            let t = state.ledger.insert_trade(caller.scope(), new, now)?;
            let mut m = node("10003", " order success pay inprocess");
            trade_fields(&mut m, &t);
            Ok(Value::Object(m))
        }
        Behaviour::PasswordNeverPays => {
            new.status = Some(TradeStatus::Waiting);
            let t = state.ledger.insert_trade(caller.scope(), new, now)?;
            let mut m = node("10003", " order success pay inprocess");
            trade_fields(&mut m, &t);
            Ok(Value::Object(m))
        }
        Behaviour::SystemErrorThenPaid => {
            state.ledger.insert_trade(caller.scope(), new, now)?;
            Ok(error("20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙"))
        }
        Behaviour::Success => {
            let t = state.ledger.insert_trade(caller.scope(), new, now)?;
            let mut m = node("10000", "Success");
            trade_fields(&mut m, &t);
            Ok(Value::Object(m))
        }
    }
}

fn find(
    state: &SandboxState,
    caller: &Caller,
    biz: &Map<String, Value>,
    now: OffsetDateTime,
) -> Result<Option<Trade>, Value> {
    let out = text(biz, "out_trade_no");
    let trade_no = text(biz, "trade_no");
    if out.is_none() && trade_no.is_none() {
        return Err(business("ACQ.INVALID_PARAMETER", "参数无效: out_trade_no 和 trade_no 不能同时为空"));
    }
    state
        .ledger
        .find_trade(caller.scope(), out, trade_no, now)
        .map_err(|_| error("20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙"))
}

fn query(state: &SandboxState, caller: &Caller, biz: &Map<String, Value>, now: OffsetDateTime) -> Handled {
    let trade = match find(state, caller, biz, now) {
        Ok(Some(t)) if t.source != "placeholder" => t,
        Ok(_) => return Ok(business("ACQ.TRADE_NOT_EXIST", "交易不存在")),
        Err(v) => return Ok(v),
    };
    let mut m = node("10000", "Success");
    trade_fields(&mut m, &trade);
    m.insert("trade_status".into(), trade_status(&trade).into());
    if let Some(paid) = stored_china_time(trade.paid_at.as_deref()) {
        m.insert("send_pay_date".into(), paid.into());
    }
    Ok(Value::Object(m))
}

fn cancel(state: &SandboxState, caller: &Caller, biz: &Map<String, Value>, now: OffsetDateTime) -> Handled {
    let trade = match find(state, caller, biz, now) {
        Ok(Some(t)) => t,
        Ok(None) => {
            // Nothing to cancel yet (the pay request may still be on its way): close the number so a late pay
            // request can never charge it.
            let Some(out) = text(biz, "out_trade_no") else {
                return Ok(business("ACQ.TRADE_NOT_EXIST", "交易不存在"));
            };
            let placeholder = NewTrade {
                out_trade_no: out.to_owned(),
                merchant_id: caller.pid.clone(),
                status: Some(TradeStatus::Closed),
                source: "placeholder",
                ..Default::default()
            };
            let t = state.ledger.insert_trade(caller.scope(), placeholder, now)?;
            let mut m = node("10000", "Success");
            m.insert("out_trade_no".into(), t.out_trade_no.into());
            m.insert("retry_flag".into(), "N".into());
            m.insert("action".into(), "close".into());
            return Ok(Value::Object(m));
        }
        Err(v) => return Ok(v),
    };
    if trade.status == TradeStatus::Paid && trade.refunded_amount > 0 {
        return Ok(business("ACQ.REASON_TRADE_REFUND_FEE_ERR", "交易已有退款，不允许撤销"));
    }
    let (t, action) = state.ledger.cancel_trade(trade.id, TradeStatus::Closed, now)?;
    let mut m = node("10000", "Success");
    m.insert("trade_no".into(), t.trade_no.clone().into());
    m.insert("out_trade_no".into(), t.out_trade_no.clone().into());
    m.insert("retry_flag".into(), "N".into());
    m.insert("action".into(), action.into());
    if action == "refund"
        && let Some(closed) = stored_china_time(t.closed_at.as_deref())
    {
        m.insert("gmt_refund_pay".into(), closed.into());
    }
    Ok(Value::Object(m))
}

fn close(state: &SandboxState, caller: &Caller, biz: &Map<String, Value>, now: OffsetDateTime) -> Handled {
    let trade = match find(state, caller, biz, now) {
        Ok(Some(t)) if t.source != "placeholder" => t,
        Ok(_) => return Ok(business("ACQ.TRADE_NOT_EXIST", "交易不存在")),
        Err(v) => return Ok(v),
    };
    match state.ledger.close_waiting(trade.id, now)? {
        Some(t) => {
            let mut m = node("10000", "Success");
            m.insert("trade_no".into(), t.trade_no.into());
            m.insert("out_trade_no".into(), t.out_trade_no.into());
            Ok(Value::Object(m))
        }
        None => Ok(business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法：只有等待付款的交易可以关闭")),
    }
}

fn refund(state: &SandboxState, caller: &Caller, biz: &Map<String, Value>, now: OffsetDateTime) -> Handled {
    let trade = match find(state, caller, biz, now) {
        Ok(Some(t)) if t.source != "placeholder" => t,
        Ok(_) => return Ok(business("ACQ.TRADE_NOT_EXIST", "交易不存在")),
        Err(v) => return Ok(v),
    };
    let amount = match parse_amount(biz, "refund_amount") {
        Ok(v) => v,
        Err(v) => return Ok(v),
    };
    let out_request_no = text(biz, "out_request_no").unwrap_or(&trade.out_trade_no).to_owned();
    let reason = text(biz, "refund_reason").unwrap_or("");
    let outcome = state.ledger.refund(trade.id, &out_request_no, amount, reason, time::Duration::ZERO, now)?;
    let (refund, t, fund_change) = match outcome {
        Ok(RefundOutcome::Created(r, t)) => (r, t, "Y"),
        Ok(RefundOutcome::Repeated(r, t)) => (r, t, "N"),
        Err(RefundRefusal::Discordant) => {
            return Ok(business("ACQ.DISCORDANT_REPEAT_REQUEST", "同一笔退款请求号的请求内容不一致"));
        }
        Err(RefundRefusal::TradeNotPaid) => {
            return Ok(business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法：交易未支付或已关闭"));
        }
        Err(RefundRefusal::ExceedsRefundable { refundable }) => {
            return Ok(business(
                "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                &format!("退款金额超限：可退金额为 {}", yuan(refundable)),
            ));
        }
    };
    let mut m = node("10000", "Success");
    m.insert("trade_no".into(), t.trade_no.clone().into());
    m.insert("out_trade_no".into(), t.out_trade_no.clone().into());
    m.insert("buyer_logon_id".into(), buyer_logon_id(&t).into());
    m.insert("buyer_user_id".into(), t.buyer_id.clone().into());
    m.insert("fund_change".into(), fund_change.into());
    m.insert("refund_fee".into(), yuan(t.refunded_amount).into());
    if let Some(at) = stored_china_time(Some(&refund.created_at)) {
        m.insert("gmt_refund_pay".into(), at.into());
    }
    m.insert("send_back_fee".into(), yuan(refund.amount).into());
    Ok(Value::Object(m))
}

fn refund_query(state: &SandboxState, caller: &Caller, biz: &Map<String, Value>, now: OffsetDateTime) -> Handled {
    let Some(out_request_no) = text(biz, "out_request_no") else {
        return Ok(business("ACQ.INVALID_PARAMETER", "参数无效: out_request_no 必填"));
    };
    let trade = match find(state, caller, biz, now) {
        Ok(Some(t)) if t.source != "placeholder" => t,
        Ok(_) => return Ok(business("ACQ.TRADE_NOT_EXIST", "交易不存在")),
        Err(v) => return Ok(v),
    };
    let mut m = node("10000", "Success");
    m.insert("trade_no".into(), trade.trade_no.clone().into());
    m.insert("out_trade_no".into(), trade.out_trade_no.clone().into());
    m.insert("out_request_no".into(), out_request_no.into());
    // Absent refund_status means the refund was not received, as documented.
    if let Some(r) = state.ledger.refunds_of(trade.id)?.into_iter().find(|r| r.out_request_no == out_request_no) {
        m.insert("total_amount".into(), yuan(trade.total_amount).into());
        m.insert("refund_amount".into(), yuan(r.amount).into());
        m.insert("refund_reason".into(), r.reason.into());
        m.insert("refund_status".into(), "REFUND_SUCCESS".into());
        if let Some(at) = stored_china_time(Some(&r.created_at)) {
            m.insert("gmt_refund_pay".into(), at.into());
        }
    }
    Ok(Value::Object(m))
}

fn bill_url(state: &SandboxState, caller: &Caller, biz: &Map<String, Value>, now: OffsetDateTime) -> Handled {
    let bill_type = match text(biz, "bill_type") {
        Some(t @ ("trade" | "signcustomer")) => t.to_owned(),
        _ => {
            return Ok(business(
                "ACQ.INVALID_PARAMETER",
                "参数无效: bill_type 应为 trade（业务账单）或 signcustomer（账务账单）",
            ));
        }
    };
    let Some(date) = text(biz, "bill_date").and_then(bills::parse_day) else {
        return Ok(business("ACQ.INVALID_PARAMETER", "参数无效: bill_date 应为 yyyy-MM-dd 格式的日期"));
    };
    let today = now.to_offset(super::ledger::china_offset()).date();
    if date >= today {
        return Ok(business("isp.bill_not_exist", "账单不存在：只能下载今天以前的账单"));
    }
    let token = super::accounts::random_key(24);
    let file = bills::alipay_file_name(&caller.pid, date);
    if let Ok(mut tokens) = state.bill_tokens.lock() {
        tokens.retain(|_, t| t.expires > now);
        tokens.insert(
            token.clone(),
            bills::BillToken {
                acquirer: caller.gateway.own_acquirer().map(str::to_owned),
                acquirer_id: caller.acquirer_id.clone(),
                app_id: caller.app_id.clone(),
                pid: caller.pid.clone(),
                day: bills::day_text(date),
                bill_type,
                expires: now + time::Duration::seconds(30),
            },
        );
    }
    let mut m = node("10000", "Success");
    m.insert(
        "bill_download_url".into(),
        format!(
            "{}{}/bills/alipay/download?token={token}&downloadFileName={file}",
            state.base_url,
            caller.gateway.prefix()
        )
        .into(),
    );
    Ok(Value::Object(m))
}

fn precreate(state: &SandboxState, caller: &Caller, biz: &Map<String, Value>, now: OffsetDateTime) -> Handled {
    let (Some(out_trade_no), Some(subject)) = (text(biz, "out_trade_no"), text(biz, "subject")) else {
        return Ok(business("ACQ.INVALID_PARAMETER", "参数无效: out_trade_no、subject 必填"));
    };
    let total = match parse_amount(biz, "total_amount") {
        Ok(v) => v,
        Err(v) => return Ok(v),
    };
    let merchant_id = match merchant_of(state, caller, biz, now)? {
        Ok(m) => m,
        Err(refusal) => return Ok(refusal),
    };
    if let Some(existing) = state.ledger.find_trade(caller.scope(), Some(out_trade_no), None, now)? {
        if existing.status == TradeStatus::Waiting && existing.total_amount == total {
            let mut m = node("10000", "Success");
            m.insert("out_trade_no".into(), existing.out_trade_no.into());
            m.insert("qr_code".into(), existing.qr_code.unwrap_or_default().into());
            return Ok(Value::Object(m));
        }
        return Ok(business("ACQ.TRADE_HAS_SUCCESS", "交易已存在，请更换商户订单号"));
    }
    let qr_code = format!("https://qr.alipay.com/bax0{}", super::accounts::random_key(20).to_lowercase());
    let new = NewTrade {
        out_trade_no: out_trade_no.to_owned(),
        merchant_id,
        subject: subject.to_owned(),
        total_amount: total,
        status: Some(TradeStatus::Waiting),
        source: "precreate",
        store_id: text(biz, "store_id").map(str::to_owned),
        qr_code: Some(qr_code.clone()),
        ..Default::default()
    };
    state.ledger.insert_trade(caller.scope(), new, now)?;
    let mut m = node("10000", "Success");
    m.insert("out_trade_no".into(), out_trade_no.into());
    m.insert("qr_code".into(), qr_code.into());
    Ok(Value::Object(m))
}

/// `GET /bills/alipay/download?token=…&downloadFileName=…`: the zip of GBK CSVs. Tokens expire after 30 s.
pub async fn download_bill(
    State(state): State<Arc<SandboxState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    download(&state, &Gateway::Shared, &q)
}

/// `GET /acquirers/{acquirer_id}/bills/alipay/download?token=…`: a bill of that acquirer's gateway.
pub async fn acquirer_download_bill(
    State(state): State<Arc<SandboxState>>,
    Path(acquirer_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match Gateway::of(&state, &acquirer_id, Protocol::Alipay) {
        Ok(gw) => download(&state, &gw, &q),
        Err(r) => r,
    }
}

fn download(state: &SandboxState, gw: &Gateway, q: &HashMap<String, String>) -> Response {
    let now = state.now();
    let entry = q.get("token").and_then(|t| {
        state
            .bill_tokens
            .lock()
            .ok()
            .and_then(|tokens| tokens.get(t).cloned())
            .filter(|t| t.expires > now && t.acquirer.as_deref() == gw.own_acquirer())
    });
    let Some(token) = entry else {
        return (StatusCode::NOT_FOUND, "the bill download link is invalid or has expired (links last 30 seconds)")
            .into_response();
    };
    let Some(date) = bills::parse_day(&token.day) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let scope = Scope {
        protocol: Protocol::Alipay,
        acquirer_id: &token.acquirer_id,
        account: &token.app_id,
        strict: token.acquirer.is_some(),
    };
    let bill = if token.bill_type == "signcustomer" {
        bills::alipay_account_bill_zip(state, scope, &token.pid, date)
    } else {
        bills::alipay_bill_zip(state, scope, &token.pid, date)
    };
    match bill {
        Ok((file, bytes)) => {
            let mut r = (StatusCode::OK, bytes).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
