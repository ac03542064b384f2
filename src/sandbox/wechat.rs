//! WeChat Pay API v2: XML in and out, MD5 / HMAC-SHA256 signatures, the documented return/result/err codes.
//!
//! The secapi endpoints (reverse, refund) need the merchant's client certificate on the real gateway; the sandbox
//! serves plain HTTP on loopback and does not check one.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use time::OffsetDateTime;

use super::faults::{FaultKind, Fired};
use super::ledger::{NewTrade, Protocol, RefundOutcome, RefundRefusal, Trade, TradeStatus};
use super::testcodes::{self, Behaviour, CodeOwner};
use super::{Reply, SandboxState, before, bills, finish};
use crate::channel::wechatpay::sign::{self as wx_sign, SignType};
use crate::channel::wechatpay::wire::{from_xml, to_xml};

type Fields = BTreeMap<String, String>;

pub async fn micropay(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, "/pay/micropay", body, micropay_business).await
}
pub async fn orderquery(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, "/pay/orderquery", body, orderquery_business).await
}
pub async fn reverse(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, "/secapi/pay/reverse", body, reverse_business).await
}
pub async fn refund(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, "/secapi/pay/refund", body, refund_business).await
}
pub async fn refundquery(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, "/pay/refundquery", body, refundquery_business).await
}

/// The merchant a verified request came from.
struct Caller {
    appid: String,
    mch_id: String,
    api_key: String,
    sign_type: SignType,
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
fn check(state: &SandboxState, body: &[u8]) -> Result<(Caller, Fields), Reply> {
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
    let Some(merchant) = accounts.merchant_by_mch_id(mch_id) else {
        return Err(comm_fail("商户号mch_id不存在"));
    };
    let Ok(sign_type) = SignType::of(&fields) else { return Err(comm_fail("sign_type参数格式错误")) };
    if fields.get("sign").is_none_or(|s| s.is_empty()) {
        return Err(comm_fail("缺少参数sign"));
    }
    if wx_sign::verify(&fields, &merchant.wechatpay.api_key, sign_type).is_err() {
        return Err(comm_fail("签名错误"));
    }
    let caller = Caller {
        appid: merchant.wechatpay.appid.clone(),
        mch_id: mch_id.clone(),
        api_key: merchant.wechatpay.api_key.clone(),
        sign_type,
    };
    if fields.get("appid").is_some_and(|a| *a != caller.appid) {
        return Err(answer(&caller, fail("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")));
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
    path: &'static str,
    body: Bytes,
    business: fn(&SandboxState, &Caller, &Fields, OffsetDateTime) -> Result<Business, super::ledger::LedgerError>,
) -> Response {
    let (fired, early) = before(&state, path).await;
    if let Some(r) = early {
        return r;
    }
    let reply = match check(&state, &body) {
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
    business: fn(&SandboxState, &Caller, &Fields, OffsetDateTime) -> Result<Business, super::ledger::LedgerError>,
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
    f.insert("trade_type".into(), if t.source == "store_code" { "NATIVE" } else { "MICROPAY" }.into());
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

fn find(
    state: &SandboxState,
    caller: &Caller,
    fields: &Fields,
    now: OffsetDateTime,
) -> Result<Option<Trade>, super::ledger::LedgerError> {
    state.ledger.find_trade(
        Protocol::Wechatpay,
        &caller.mch_id,
        field(fields, "out_trade_no"),
        field(fields, "transaction_id"),
        now,
    )
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
    if let Some(t) = state.ledger.find_trade(Protocol::Wechatpay, &caller.mch_id, Some(out_trade_no), None, now)? {
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
            state.ledger.insert_trade(Protocol::Wechatpay, &caller.mch_id, new, now)?;
            fail("USERPAYING", "需要用户输入支付密码")
        }
        Behaviour::PasswordNeverPays => {
            new.status = Some(TradeStatus::Waiting);
            state.ledger.insert_trade(Protocol::Wechatpay, &caller.mch_id, new, now)?;
            fail("USERPAYING", "需要用户输入支付密码")
        }
        Behaviour::SystemErrorThenPaid => {
            state.ledger.insert_trade(Protocol::Wechatpay, &caller.mch_id, new, now)?;
            fail("SYSTEMERROR", "系统超时，请立即调用被扫订单结果查询API，查询当前订单状态")
        }
        Behaviour::Success => {
            let t = state.ledger.insert_trade(Protocol::Wechatpay, &caller.mch_id, new, now)?;
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
        f.insert("trade_type".into(), "MICROPAY".into());
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
                status: Some(TradeStatus::Reversed),
                source: "placeholder",
                ..Default::default()
            };
            state.ledger.insert_trade(Protocol::Wechatpay, &caller.mch_id, placeholder, now)?;
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
        state.ledger.trade_of_refund(Protocol::Wechatpay, &caller.mch_id, out_refund_no)?
    } else {
        find(state, caller, fields, now)?
    };
    let Some(t) = trade.filter(|t| t.account == caller.mch_id && t.source != "placeholder") else {
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

/// `/pay/downloadbill`: plain text on success, XML on failure.
pub async fn downloadbill(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    let (fired, early) = before(&state, "/pay/downloadbill").await;
    if let Some(r) = early {
        return r;
    }
    let reply = match check(&state, &body) {
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
    if field(fields, "tar_type").is_some() {
        return bill_fail("the sandbox serves bills uncompressed: omit tar_type", "20001");
    }
    match bills::wechat_bill(state, &caller.mch_id, date, bill_type) {
        Ok(Some(text)) => Reply::text(text),
        Ok(None) => bill_fail("No Bill Exist", "20002"),
        Err(e) => bill_fail(&e, "20007"),
    }
}
