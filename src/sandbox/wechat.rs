//! WeChat Pay API v2: XML in and out, MD5 / HMAC-SHA256 signatures, the documented return/result/err codes.
//!
//! The secapi endpoints (reverse, refund) need the merchant's client certificate on the real gateway; the sandbox
//! serves plain HTTP on loopback and does not check one.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use time::OffsetDateTime;

use super::faults::{FaultKind, Fired};
use super::gateway::{Gateway, check_sub_merchant};
use super::ledger::{NewTrade, Protocol, RefundOutcome, RefundRefusal, Scope, Trade, TradeStatus};
use super::testcodes::{self, Behaviour, CodeOwner};
use super::{Reply, SandboxState, before, bills, finish};
use crate::channel::wechatpay::sign::{self as wx_sign, SignType};
use crate::channel::wechatpay::wire::{from_xml, to_xml};

type Fields = BTreeMap<String, String>;
type BusinessFn = fn(&SandboxState, &Caller, &Fields, OffsetDateTime) -> Result<Business, super::ledger::LedgerError>;

pub async fn micropay(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, Gateway::Shared, "/pay/micropay", body, micropay_business).await
}
pub async fn orderquery(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, Gateway::Shared, "/pay/orderquery", body, orderquery_business).await
}
pub async fn reverse(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, Gateway::Shared, "/secapi/pay/reverse", body, reverse_business).await
}
pub async fn refund(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, Gateway::Shared, "/secapi/pay/refund", body, refund_business).await
}
pub async fn refundquery(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, Gateway::Shared, "/pay/refundquery", body, refundquery_business).await
}

/// The same paths under `/acquirers/{acquirer_id}`: that acquirer's account only.
async fn at_acquirer(
    state: Arc<SandboxState>,
    acquirer_id: String,
    path: &'static str,
    body: Bytes,
    business: BusinessFn,
) -> Response {
    match Gateway::of(&state, &acquirer_id, Protocol::Wechatpay) {
        Ok(gw) => serve(state, gw, path, body, business).await,
        Err(r) => r,
    }
}
pub async fn acquirer_micropay(State(s): State<Arc<SandboxState>>, Path(id): Path<String>, body: Bytes) -> Response {
    at_acquirer(s, id, "/pay/micropay", body, micropay_business).await
}
pub async fn acquirer_orderquery(State(s): State<Arc<SandboxState>>, Path(id): Path<String>, body: Bytes) -> Response {
    at_acquirer(s, id, "/pay/orderquery", body, orderquery_business).await
}
pub async fn acquirer_reverse(State(s): State<Arc<SandboxState>>, Path(id): Path<String>, body: Bytes) -> Response {
    at_acquirer(s, id, "/secapi/pay/reverse", body, reverse_business).await
}
pub async fn acquirer_refund(State(s): State<Arc<SandboxState>>, Path(id): Path<String>, body: Bytes) -> Response {
    at_acquirer(s, id, "/secapi/pay/refund", body, refund_business).await
}
pub async fn acquirer_refundquery(State(s): State<Arc<SandboxState>>, Path(id): Path<String>, body: Bytes) -> Response {
    at_acquirer(s, id, "/pay/refundquery", body, refundquery_business).await
}
pub async fn acquirer_downloadbill(
    State(s): State<Arc<SandboxState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match Gateway::of(&s, &id, Protocol::Wechatpay) {
        Ok(gw) => downloadbill_at(s, gw, body).await,
        Err(r) => r,
    }
}

/// The merchant a verified request came from, at the gateway it came through.
struct Caller {
    appid: String,
    mch_id: String,
    api_key: String,
    sign_type: SignType,
    acquirer_id: String,
    strict: bool,
    /// The sub-merchant (service-provider mode) the request is for, checked; echoed in the answer.
    sub_mch_id: Option<String>,
}

impl Caller {
    fn scope(&self) -> Scope<'_> {
        Scope {
            protocol: Protocol::Wechatpay,
            acquirer_id: &self.acquirer_id,
            account: &self.mch_id,
            strict: self.strict,
        }
    }

    /// The merchant id new trades are recorded with: the sub-merchant, else the account's own mch_id.
    fn merchant_id(&self) -> String {
        self.sub_mch_id.clone().unwrap_or_else(|| self.mch_id.clone())
    }

    /// Whether a found trade is visible to this request: any of the account's, or only the named sub-merchant's.
    fn sees(&self, t: &Trade) -> bool {
        self.sub_mch_id.as_deref().is_none_or(|sub| t.merchant_id == sub)
    }
}

/// A business answer: result_code SUCCESS with fields, or FAIL with err_code and its description.
enum Business {
    Success(Fields),
    Fail { err_code: &'static str, des: String, extra: Fields },
}

fn fail(err_code: &'static str, des: impl Into<String>) -> Business {
    Business::Fail { err_code, des: des.into(), extra: Fields::new() }
}

/// Communication-level failure: return_code FAIL, unsigned, as WeChat answers.
fn comm_fail(msg: &str) -> Reply {
    let mut f = Fields::new();
    f.insert("return_code".into(), "FAIL".into());
    f.insert("return_msg".into(), msg.into());
    Reply::xml(to_xml(&f))
}

/// Parses and verifies a request; Err is the reply to send.
fn check(state: &SandboxState, gw: &Gateway, body: &[u8]) -> Result<(Caller, Fields), Reply> {
    if body.is_empty() {
        return Err(comm_fail("post数据为空"));
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(comm_fail("编码格式错误，请使用UTF-8编码"));
    };
    let fields = from_xml(text).map_err(|_| comm_fail("XML格式错误"))?;
    let Some(mch_id) = fields.get("mch_id").filter(|s| !s.is_empty()) else {
        return Err(comm_fail("mch_id参数格式错误"));
    };
    let accounts = state.accounts();
    let account = match gw {
        Gateway::Shared => accounts.merchant_by_mch_id(mch_id).map(|m| m.wechatpay.clone()),
        Gateway::Acquirer(a) => a.wechat_account().filter(|w| w.mch_id == *mch_id).cloned(),
    };
    let Some(account) = account else {
        return Err(comm_fail("商户号mch_id不存在"));
    };
    let Ok(sign_type) = SignType::of(&fields) else { return Err(comm_fail("sign_type参数格式错误")) };
    if fields.get("sign").is_none_or(|s| s.is_empty()) {
        return Err(comm_fail("缺少参数sign"));
    }
    if wx_sign::verify(&fields, &account.api_key, sign_type).is_err() {
        return Err(comm_fail("签名错误"));
    }
    let mut caller = Caller {
        appid: account.appid.clone(),
        mch_id: mch_id.clone(),
        api_key: account.api_key.clone(),
        sign_type,
        acquirer_id: gw.acquirer_id(Protocol::Wechatpay),
        strict: gw.strict(),
        sub_mch_id: None,
    };
    if fields.get("appid").is_some_and(|a| *a != caller.appid) {
        return Err(answer(&caller, fail("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")));
    }
    // Service-provider mode: the sub-merchant must be this acquirer's active merchant on this account.
    if let Some(sub) = field(&fields, "sub_mch_id") {
        caller.sub_mch_id = Some(sub.to_owned());
        match check_sub_merchant(state, &caller.acquirer_id, &caller.mch_id, sub, state.now()) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => return Err(answer(&caller, fail("SUB_MCH_NOT_EXIST", format!("特约商户号不存在: {why}")))),
            Err(e) => {
                tracing::error!(error = %e, "sandbox ledger failure");
                return Err(answer(&caller, fail("SYSTEMERROR", "系统错误")));
            }
        }
    }
    Ok((caller, fields))
}

/// A signed SUCCESS-level reply with the business result.
fn answer(caller: &Caller, business: Business) -> Reply {
    let mut f = Fields::new();
    f.insert("return_code".into(), "SUCCESS".into());
    f.insert("return_msg".into(), "OK".into());
    f.insert("appid".into(), caller.appid.clone());
    f.insert("mch_id".into(), caller.mch_id.clone());
    if let Some(sub) = &caller.sub_mch_id {
        f.insert("sub_mch_id".into(), sub.clone());
    }
    f.insert("nonce_str".into(), super::accounts::random_key(16));
    match business {
        Business::Success(fields) => {
            f.insert("result_code".into(), "SUCCESS".into());
            f.extend(fields);
        }
        Business::Fail { err_code, des, extra } => {
            f.insert("result_code".into(), "FAIL".into());
            f.insert("err_code".into(), err_code.into());
            f.insert("err_code_des".into(), des);
            f.extend(extra);
        }
    }
    let sign = wx_sign::sign(&f, &caller.api_key, caller.sign_type);
    f.insert("sign".into(), sign);
    Reply::xml(to_xml(&f))
}

async fn serve(
    state: Arc<SandboxState>,
    gw: Gateway,
    path: &'static str,
    body: Bytes,
    business: BusinessFn,
) -> Response {
    let (fired, early) = before(&state, path).await;
    if let Some(r) = early {
        return r;
    }
    let reply = match check(&state, &gw, &body) {
        Err(reply) => reply,
        Ok((caller, fields)) => answer(&caller, run(&state, &caller, &fields, &fired, path, business)),
    };
    finish(reply, &fired)
}

fn run(
    state: &SandboxState,
    caller: &Caller,
    fields: &Fields,
    fired: &Fired,
    path: &str,
    business: BusinessFn,
) -> Business {
    if fired.has(FaultKind::SystemError) {
        let mut b = fail("SYSTEMERROR", "系统超时，请稍后再试");
        if path == "/secapi/pay/reverse"
            && let Business::Fail { extra, .. } = &mut b
        {
            extra.insert("recall".into(), "Y".into());
        }
        return b;
    }
    business(state, caller, fields, state.now()).unwrap_or_else(|e| {
        tracing::error!(error = %e, path, "sandbox ledger failure");
        fail("SYSTEMERROR", "系统错误")
    })
}

fn field<'a>(fields: &'a Fields, key: &str) -> Option<&'a str> {
    fields.get(key).map(String::as_str).filter(|s| !s.trim().is_empty())
}

/// yyyyMMddHHmmss in China time.
fn compact_time(stored: Option<&str>) -> Option<String> {
    let t = stored.and_then(super::ledger::parse_time)?.to_offset(super::ledger::china_offset());
    Some(format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

fn fen(fields: &Fields, key: &str) -> Result<i64, Business> {
    let Some(v) = field(fields, key) else { return Err(fail("LACK_PARAMS", format!("缺少参数{key}"))) };
    match v.parse::<i64>() {
        Ok(n) if n >= 1 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(fail("PARAM_ERROR", format!("{key}参数格式错误：应为以分为单位的正整数"))),
    }
}

fn paid_fields(t: &Trade) -> Fields {
    let mut f = Fields::new();
    f.insert("openid".into(), t.buyer_id.clone());
    f.insert("is_subscribe".into(), "N".into());
    f.insert("trade_type".into(), native_or_micropay(t).into());
    f.insert("bank_type".into(), "OTHERS".into());
    f.insert("fee_type".into(), "CNY".into());
    f.insert("total_fee".into(), t.total_amount.to_string());
    f.insert("cash_fee_type".into(), "CNY".into());
    f.insert("cash_fee".into(), t.total_amount.to_string());
    f.insert("transaction_id".into(), t.trade_no.clone());
    f.insert("out_trade_no".into(), t.out_trade_no.clone());
    if let Some(end) = compact_time(t.paid_at.as_deref()) {
        f.insert("time_end".into(), end);
    }
    f
}

/// The trade_type a trade was taken with: NATIVE for codes the customer scanned, MICROPAY for payment codes.
fn native_or_micropay(t: &Trade) -> &'static str {
    if matches!(t.source.as_str(), "store_code" | "precreate") { "NATIVE" } else { "MICROPAY" }
}

fn find(
    state: &SandboxState,
    caller: &Caller,
    fields: &Fields,
    now: OffsetDateTime,
) -> Result<Option<Trade>, super::ledger::LedgerError> {
    let found =
        state.ledger.find_trade(caller.scope(), field(fields, "out_trade_no"), field(fields, "transaction_id"), now)?;
    Ok(found.filter(|t| caller.sees(t)))
}

fn micropay_business(
    state: &SandboxState,
    caller: &Caller,
    fields: &Fields,
    now: OffsetDateTime,
) -> Result<Business, super::ledger::LedgerError> {
    for key in ["body", "out_trade_no", "spbill_create_ip", "auth_code"] {
        if field(fields, key).is_none() {
            return Ok(fail("LACK_PARAMS", format!("缺少参数{key}")));
        }
    }
    let total = match fen(fields, "total_fee") {
        Ok(v) => v,
        Err(b) => return Ok(b),
    };
    let out_trade_no = field(fields, "out_trade_no").unwrap_or_default();
    let auth_code = field(fields, "auth_code").unwrap_or_default();
    if let Some(t) = state.ledger.find_trade(caller.scope(), Some(out_trade_no), None, now)? {
        if !caller.sees(&t) {
            return Ok(fail("OUT_TRADE_NO_USED", "商户订单号重复：该服务商账户下另一特约商户已使用此订单号"));
        }
        let same = t.auth_code.as_deref() == Some(auth_code) && t.total_amount == total;
        // An identical re-submit (the official SDK re-sends micropay while waiting) reports the current state.
        return Ok(match (t.status, same) {
            (TradeStatus::Paid, true) => Business::Success(paid_fields(&t)),
            (TradeStatus::Paid, false) => fail("ORDERPAID", "订单已支付"),
            (TradeStatus::Waiting, true) => fail("USERPAYING", "需要用户输入支付密码"),
            (TradeStatus::Waiting, false) => fail("OUT_TRADE_NO_USED", "商户订单号重复"),
            (TradeStatus::Reversed, _) => fail("ORDERREVERSED", "订单已撤销"),
            (TradeStatus::Closed, _) => fail("ORDERCLOSED", "订单已关闭"),
        });
    }
    if testcodes::code_owner(auth_code) != Some(CodeOwner::Wechat) {
        return Ok(fail("AUTH_CODE_INVALID", "付款码检验错误：请扫描微信支付付款码"));
    }
    let mut new = NewTrade {
        out_trade_no: out_trade_no.to_owned(),
        merchant_id: caller.merchant_id(),
        auth_code: Some(auth_code.to_owned()),
        subject: field(fields, "body").unwrap_or_default().to_owned(),
        total_amount: total,
        source: "barcode",
        store_id: None,
        terminal_id: field(fields, "device_info").map(str::to_owned),
        ..Default::default()
    };
    Ok(match testcodes::behaviour(auth_code) {
        Behaviour::InsufficientBalance => fail("NOTENOUGH", "余额不足"),
        Behaviour::CodeExpired => fail("AUTHCODEEXPIRE", "二维码已过期，请用户在微信上刷新后再试"),
        Behaviour::AlreadyUsed => fail("AUTH_CODE_ERROR", "每个二维码仅限使用一次，请刷新再试"),
        Behaviour::PasswordThenPays(after) => {
            new.status = Some(TradeStatus::Waiting);
            new.pays_at = Some(now + after);
            state.ledger.insert_trade(caller.scope(), new, now)?;
            fail("USERPAYING", "需要用户输入支付密码")
        }
        Behaviour::PasswordNeverPays => {
            new.status = Some(TradeStatus::Waiting);
            state.ledger.insert_trade(caller.scope(), new, now)?;
            fail("USERPAYING", "需要用户输入支付密码")
        }
        Behaviour::SystemErrorThenPaid => {
            state.ledger.insert_trade(caller.scope(), new, now)?;
            fail("SYSTEMERROR", "系统超时，请立即调用被扫订单结果查询API，查询当前订单状态")
        }
        Behaviour::Success => {
            let t = state.ledger.insert_trade(caller.scope(), new, now)?;
            Business::Success(paid_fields(&t))
        }
    })
}

fn trade_state(t: &Trade) -> (&'static str, &'static str) {
    match t.status {
        TradeStatus::Waiting if t.source == "precreate" => ("NOTPAY", "订单未支付"),
        TradeStatus::Waiting => ("USERPAYING", "需要用户输入支付密码"),
        TradeStatus::Paid if t.refunded_amount > 0 => ("REFUND", "订单发生过退款"),
        TradeStatus::Paid => ("SUCCESS", "支付成功"),
        TradeStatus::Closed => ("CLOSED", "订单已关闭"),
        TradeStatus::Reversed => ("REVOKED", "订单已撤销"),
    }
}

fn orderquery_business(
    state: &SandboxState,
    caller: &Caller,
    fields: &Fields,
    now: OffsetDateTime,
) -> Result<Business, super::ledger::LedgerError> {
    if field(fields, "out_trade_no").is_none() && field(fields, "transaction_id").is_none() {
        return Ok(fail("LACK_PARAMS", "缺少参数out_trade_no或transaction_id"));
    }
    let Some(t) = find(state, caller, fields, now)?.filter(|t| t.source != "placeholder") else {
        return Ok(fail("ORDERNOTEXIST", "此交易订单号不存在"));
    };
    let (trade_state, desc) = trade_state(&t);
    let mut f = if t.status == TradeStatus::Paid {
        paid_fields(&t)
    } else {
        let mut f = Fields::new();
        f.insert("out_trade_no".into(), t.out_trade_no.clone());
        f.insert("transaction_id".into(), t.trade_no.clone());
        f.insert("total_fee".into(), t.total_amount.to_string());
        f.insert("trade_type".into(), native_or_micropay(&t).into());
        f
    };
    f.insert("trade_state".into(), trade_state.into());
    f.insert("trade_state_desc".into(), desc.into());
    Ok(Business::Success(f))
}

fn reverse_business(
    state: &SandboxState,
    caller: &Caller,
    fields: &Fields,
    now: OffsetDateTime,
) -> Result<Business, super::ledger::LedgerError> {
    if field(fields, "out_trade_no").is_none() && field(fields, "transaction_id").is_none() {
        return Ok(fail("LACK_PARAMS", "缺少参数out_trade_no或transaction_id"));
    }
    let mut ok = Fields::new();
    ok.insert("recall".into(), "N".into());
    let Some(t) = find(state, caller, fields, now)? else {
        // Nothing to reverse yet: reserve the number as reversed so a late micropay can never charge it.
        if let Some(out) = field(fields, "out_trade_no") {
            let placeholder = NewTrade {
                out_trade_no: out.to_owned(),
                merchant_id: caller.merchant_id(),
                status: Some(TradeStatus::Reversed),
                source: "placeholder",
                ..Default::default()
            };
            state.ledger.insert_trade(caller.scope(), placeholder, now)?;
        }
        return Ok(Business::Success(ok));
    };
    let created = super::ledger::parse_time(&t.created_at).unwrap_or(now);
    if now - created > time::Duration::days(7) {
        return Ok(fail("REVERSE_EXPIRE", "订单已经超过撤销时间"));
    }
    if t.status == TradeStatus::Paid && t.refunded_amount > 0 {
        return Ok(Business::Fail { err_code: "TRADE_ERROR", des: "订单已退款，不能撤销".into(), extra: ok });
    }
    state.ledger.cancel_trade(t.id, TradeStatus::Reversed, now)?;
    Ok(Business::Success(ok))
}

fn refund_business(
    state: &SandboxState,
    caller: &Caller,
    fields: &Fields,
    now: OffsetDateTime,
) -> Result<Business, super::ledger::LedgerError> {
    let Some(out_refund_no) = field(fields, "out_refund_no") else {
        return Ok(fail("LACK_PARAMS", "缺少参数out_refund_no"));
    };
    let (total, refund_fee) = match (fen(fields, "total_fee"), fen(fields, "refund_fee")) {
        (Ok(t), Ok(r)) => (t, r),
        (Err(b), _) | (_, Err(b)) => return Ok(b),
    };
    let Some(t) = find(state, caller, fields, now)?.filter(|t| t.source != "placeholder") else {
        return Ok(fail("ORDERNOTEXIST", "订单不存在"));
    };
    if t.total_amount != total {
        return Ok(fail("PARAM_ERROR", "订单金额或退款金额与之前请求不一致，请核实后再试"));
    }
    let delay = time::Duration::milliseconds(state.config().wechat_refund_delay_ms as i64);
    let reason = field(fields, "refund_desc").unwrap_or("");
    let refund = match state.ledger.refund(t.id, out_refund_no, refund_fee, reason, delay, now)? {
        Ok(RefundOutcome::Created(r, _) | RefundOutcome::Repeated(r, _)) => r,
        Err(RefundRefusal::Discordant) => {
            return Ok(fail("PARAM_ERROR", "订单金额或退款金额与之前请求不一致，请核实后再试"));
        }
        Err(RefundRefusal::TradeNotPaid) => return Ok(fail("ERROR", "订单状态错误：订单未支付或已撤销")),
        Err(RefundRefusal::ExceedsRefundable { refundable }) => {
            return Ok(fail("ERROR", format!("申请退款金额超过订单可退金额（可退 {refundable} 分）")));
        }
    };
    let mut f = Fields::new();
    f.insert("transaction_id".into(), t.trade_no.clone());
    f.insert("out_trade_no".into(), t.out_trade_no.clone());
    f.insert("out_refund_no".into(), refund.out_request_no.clone());
    f.insert("refund_id".into(), refund.refund_no.clone());
    f.insert("refund_fee".into(), refund.amount.to_string());
    f.insert("settlement_refund_fee".into(), refund.amount.to_string());
    f.insert("total_fee".into(), t.total_amount.to_string());
    f.insert("cash_fee".into(), t.total_amount.to_string());
    f.insert("cash_refund_fee".into(), refund.amount.to_string());
    Ok(Business::Success(f))
}

fn refundquery_business(
    state: &SandboxState,
    caller: &Caller,
    fields: &Fields,
    now: OffsetDateTime,
) -> Result<Business, super::ledger::LedgerError> {
    let trade = if let Some(refund_id) = field(fields, "refund_id") {
        match state.ledger.refund_by_no(refund_id)? {
            Some(r) => state.ledger.trade_by_id(r.trade_id, now)?,
            None => None,
        }
    } else if let Some(out_refund_no) = field(fields, "out_refund_no") {
        state.ledger.trade_of_refund(caller.scope(), out_refund_no)?
    } else {
        find(state, caller, fields, now)?
    };
    let in_scope = |t: &Trade| {
        t.protocol == Protocol::Wechatpay.as_str()
            && t.account == caller.mch_id
            && (!caller.strict || t.acquirer_id == caller.acquirer_id)
            && caller.sees(t)
    };
    let Some(t) = trade.filter(|t| in_scope(t) && t.source != "placeholder") else {
        return Ok(fail("REFUNDNOTEXIST", "退款订单查询失败"));
    };
    let mut refunds = state.ledger.refunds_of(t.id)?;
    if let Some(id) = field(fields, "refund_id") {
        refunds.retain(|r| r.refund_no == id);
    } else if let Some(out) = field(fields, "out_refund_no") {
        refunds.retain(|r| r.out_request_no == out);
    }
    if refunds.is_empty() {
        return Ok(fail("REFUNDNOTEXIST", "退款订单查询失败"));
    }
    let mut f = Fields::new();
    f.insert("transaction_id".into(), t.trade_no.clone());
    f.insert("out_trade_no".into(), t.out_trade_no.clone());
    f.insert("total_fee".into(), t.total_amount.to_string());
    f.insert("cash_fee".into(), t.total_amount.to_string());
    f.insert("refund_count".into(), refunds.len().to_string());
    f.insert("total_refund_count".into(), refunds.len().to_string());
    for (n, r) in refunds.iter().enumerate() {
        f.insert(format!("out_refund_no_{n}"), r.out_request_no.clone());
        f.insert(format!("refund_id_{n}"), r.refund_no.clone());
        f.insert(format!("refund_fee_{n}"), r.amount.to_string());
        f.insert(format!("settlement_refund_fee_{n}"), r.amount.to_string());
        f.insert(format!("refund_channel_{n}"), "ORIGINAL".into());
        f.insert(format!("refund_recv_accout_{n}"), "支付用户零钱".into());
        if r.succeeded(now) {
            f.insert(format!("refund_status_{n}"), "SUCCESS".into());
            if let Some(at) = super::ledger::parse_time(&r.succeeds_at) {
                f.insert(format!("refund_success_time_{n}"), super::alipay::china_time(at));
            }
        } else {
            f.insert(format!("refund_status_{n}"), "PROCESSING".into());
        }
    }
    Ok(Business::Success(f))
}

/// NATIVE payments (dynamic codes): `/pay/unifiedorder` and `/pay/closeorder`.
mod native;
pub use native::{acquirer_closeorder, acquirer_unifiedorder, closeorder, unifiedorder};

/// `/pay/downloadbill`: plain text on success, XML on failure.
pub async fn downloadbill(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    downloadbill_at(state, Gateway::Shared, body).await
}

async fn downloadbill_at(state: Arc<SandboxState>, gw: Gateway, body: Bytes) -> Response {
    let (fired, early) = before(&state, "/pay/downloadbill").await;
    if let Some(r) = early {
        return r;
    }
    let reply = match check(&state, &gw, &body) {
        Err(reply) => reply,
        Ok((caller, fields)) => bill_reply(&state, &caller, &fields),
    };
    finish(reply, &fired)
}

fn bill_fail(msg: &str, error_code: &str) -> Reply {
    let mut f = Fields::new();
    f.insert("return_code".into(), "FAIL".into());
    f.insert("return_msg".into(), msg.into());
    f.insert("error_code".into(), error_code.into());
    Reply::xml(to_xml(&f))
}

fn bill_reply(state: &SandboxState, caller: &Caller, fields: &Fields) -> Reply {
    let Some(date) = field(fields, "bill_date").and_then(bills::parse_compact_day) else {
        return bill_fail("invalid bill_date", "20001");
    };
    let today = state.now().to_offset(super::ledger::china_offset()).date();
    if date >= today {
        return bill_fail("invalid bill_date", "20001");
    }
    let bill_type = field(fields, "bill_type").unwrap_or("ALL");
    // tar_type=GZIP: the same text, gzip-compressed (a .gzip file, as WeChat serves it).
    let gzip = match field(fields, "tar_type") {
        None => false,
        Some("GZIP") => true,
        Some(_) => return bill_fail("invalid tar_type: only GZIP is accepted", "20001"),
    };
    let request = bills::WechatBillRequest {
        scope: caller.scope(),
        appid: &caller.appid,
        sub_mch_id: caller.sub_mch_id.as_deref(),
        date,
        bill_type,
    };
    match bills::wechat_bill(state, &request) {
        Ok(Some(text)) if gzip => Reply::gzip(text),
        Ok(Some(text)) => Reply::text(text),
        Ok(None) => bill_fail("No Bill Exist", "20002"),
        Err(e) => bill_fail(&e.to_string(), "20007"),
    }
}
