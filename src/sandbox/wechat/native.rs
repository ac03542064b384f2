//! `/pay/unifiedorder` (trade_type NATIVE) and `/pay/closeorder`: a code the customer scans.
//!
//! unifiedorder records a waiting trade (`source = precreate`, orderquery says NOTPAY) with its `code_url`; a wallet
//! pays it through `POST /simulate/scan`. A repeat with the same out_trade_no and amount answers the same code;
//! closeorder closes a waiting trade (CLOSED), answers ORDERPAID for a paid one (a sale) and ORDERCLOSED for a
//! closed one. A closed trade can no longer be paid.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use time::OffsetDateTime;

use super::super::SandboxState;
use super::super::gateway::Gateway;
use super::super::ledger::{LedgerError, NewTrade, TradeStatus};
use super::{Business, Caller, Fields, at_acquirer, fail, fen, field, find, serve};

pub async fn unifiedorder(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, Gateway::Shared, "/pay/unifiedorder", body, unifiedorder_business).await
}
pub async fn closeorder(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    serve(state, Gateway::Shared, "/pay/closeorder", body, closeorder_business).await
}
pub async fn acquirer_unifiedorder(
    State(s): State<Arc<SandboxState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    at_acquirer(s, id, "/pay/unifiedorder", body, unifiedorder_business).await
}
pub async fn acquirer_closeorder(State(s): State<Arc<SandboxState>>, Path(id): Path<String>, body: Bytes) -> Response {
    at_acquirer(s, id, "/pay/closeorder", body, closeorder_business).await
}

/// yyyyMMddHHmmss in China time.
fn china_compact(text: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!("[year][month][day][hour][minute][second]");
    let t = time::PrimitiveDateTime::parse(text, &format).ok()?;
    Some(t.assume_offset(super::super::ledger::china_offset()))
}

fn unifiedorder_business(
    state: &SandboxState,
    caller: &Caller,
    fields: &Fields,
    now: OffsetDateTime,
) -> Result<Business, LedgerError> {
    for key in ["body", "out_trade_no", "spbill_create_ip", "notify_url", "trade_type"] {
        if field(fields, key).is_none() {
            return Ok(fail("LACK_PARAMS", format!("缺少参数{key}")));
        }
    }
    let total = match fen(fields, "total_fee") {
        Ok(v) => v,
        Err(b) => return Ok(b),
    };
    if field(fields, "trade_type") != Some("NATIVE") {
        return Ok(fail("PARAM_ERROR", "trade_type参数错误：沙箱只提供 NATIVE（扫码支付）"));
    }
    if field(fields, "product_id").is_none() {
        return Ok(fail("PARAM_ERROR", "product_id参数错误：trade_type=NATIVE时，此参数必传"));
    }
    if field(fields, "notify_url").is_some_and(|u| u.contains('?')) {
        return Ok(fail("PARAM_ERROR", "notify_url参数错误：不能携带参数"));
    }
    // time_expire is Beijing time and at least 5 minutes after the order is made (the usual mistake: UTC sent).
    if let Some(expire) = field(fields, "time_expire") {
        let Some(expire) = china_compact(expire) else {
            return Ok(fail("PARAM_ERROR", "time_expire参数格式错误：应为yyyyMMddHHmmss"));
        };
        let start = field(fields, "time_start").and_then(china_compact).unwrap_or(now);
        if expire - start < time::Duration::minutes(5) {
            return Ok(fail("PARAM_ERROR", "time_expire时间过短，刷卡至少1分钟，其他5分钟"));
        }
    }
    let out_trade_no = field(fields, "out_trade_no").unwrap_or_default();
    if let Some(t) = state.ledger.find_trade(caller.scope(), Some(out_trade_no), None, now)? {
        if !caller.sees(&t) {
            return Ok(fail("OUT_TRADE_NO_USED", "商户订单号重复：该服务商账户下另一特约商户已使用此订单号"));
        }
        return Ok(match t.status {
            TradeStatus::Paid => fail("ORDERPAID", "该订单已支付"),
            TradeStatus::Closed | TradeStatus::Reversed => fail("ORDERCLOSED", "该订单已关闭，请更换商户订单号"),
            TradeStatus::Waiting if t.source == "precreate" && t.total_amount == total => {
                Business::Success(created(&t.trade_no, t.qr_code.as_deref().unwrap_or_default()))
            }
            TradeStatus::Waiting => fail("INVALID_REQUEST", "201 商户订单号重复"),
        });
    }
    let code_url = format!("weixin://wxpay/bizpayurl?pr={}", super::super::accounts::random_key(7));
    let new = NewTrade {
        out_trade_no: out_trade_no.to_owned(),
        merchant_id: caller.merchant_id(),
        subject: field(fields, "body").unwrap_or_default().to_owned(),
        total_amount: total,
        status: Some(TradeStatus::Waiting),
        source: "precreate",
        terminal_id: field(fields, "device_info").map(str::to_owned),
        qr_code: Some(code_url.clone()),
        ..Default::default()
    };
    let t = state.ledger.insert_trade(caller.scope(), new, now)?;
    Ok(Business::Success(created(&t.trade_no, &code_url)))
}

fn created(trade_no: &str, code_url: &str) -> Fields {
    let mut f = Fields::new();
    f.insert("trade_type".into(), "NATIVE".into());
    f.insert("prepay_id".into(), format!("wx{trade_no}"));
    f.insert("code_url".into(), code_url.to_owned());
    f
}

fn closeorder_business(
    state: &SandboxState,
    caller: &Caller,
    fields: &Fields,
    now: OffsetDateTime,
) -> Result<Business, LedgerError> {
    if field(fields, "out_trade_no").is_none() {
        return Ok(fail("LACK_PARAMS", "缺少参数out_trade_no"));
    }
    let Some(t) = find(state, caller, fields, now)?.filter(|t| t.source != "placeholder") else {
        return Ok(fail("ORDERNOTEXIST", "此交易订单号不存在"));
    };
    Ok(match t.status {
        TradeStatus::Paid => fail("ORDERPAID", "订单已支付，不能发起关单"),
        TradeStatus::Closed | TradeStatus::Reversed => fail("ORDERCLOSED", "订单已关闭"),
        TradeStatus::Waiting => match state.ledger.close_waiting(t.id, now)? {
            Some(_) => {
                let mut f = Fields::new();
                f.insert("result_msg".into(), "OK".into());
                Business::Success(f)
            }
            // Paid in the meantime (a wallet between the find and the close).
            None => fail("ORDERPAID", "订单已支付，不能发起关单"),
        },
    })
}
