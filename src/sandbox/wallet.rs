//! Wallet simulation (`POST /simulate/scan`) and asynchronous payment notifications.
//!
//! A wallet scans a store code: the sandbox resolves the acquirer (the code's reference data first, else the CDS
//! platform by the merchant's CDS index), records the payment at that acquirer, and notifies the merchant in the
//! acquirer's real format (Alipay notify form with RSA2 sign; WeChat notify XML), retrying as the platforms do.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::SandboxState;
use super::accounts::{AlipayAccount, SandboxAccounts, WechatAccount};
use super::ledger::{NewTrade, Protocol, Scope, Trade, TradeStatus};
use crate::channel::alipay::sign as alipay_sign;
use crate::channel::wechatpay::sign::{self as wx_sign, SignType};
use crate::channel::wechatpay::wire::to_xml;
use crate::money::Amount;

/// Alipay retries an unacknowledged notification 8 times over about 25 hours (4m, 10m, 10m, 1h, 2h, 6h, 15h).
const ALIPAY_RETRY_SECS: &[u64] = &[240, 600, 600, 3600, 7200, 21600, 54000];
/// WeChat Pay: 15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h.
const WECHAT_RETRY_SECS: &[u64] =
    &[15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600];

#[derive(Debug, Deserialize)]
pub struct ScanRequest {
    /// The scanned text: a store code (Alipay+ MPM or EMVCo) or a dynamic code from alipay.trade.precreate.
    pub payload: String,
    /// What the customer types into the wallet, e.g. "12.34". Not needed for a dynamic code.
    #[serde(default)]
    pub amount: Option<String>,
    /// Prefer an acquirer of this protocol when the CDS index has several ("alipay" or "wechatpay").
    #[serde(default)]
    pub wallet: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    /// Dynamic codes only: the customer confirms this many seconds after scanning (sandbox time); until then the
    /// trade waits (WAIT_BUYER_PAY / NOTPAY). The answer is 202 with `pays_at`; no notification is sent.
    #[serde(default)]
    pub delay_secs: Option<u64>,
    /// Dynamic codes only: the wallet refuses to pay (e.g. "insufficient_balance"); the trade stays unpaid and the
    /// answer is 402.
    #[serde(default)]
    pub fail: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ScanResult {
    pub acquirer_id: String,
    pub protocol: String,
    /// How the acquirer was found: "reference" (the code's own data), "cds" (CDS lookup) or "dynamic".
    pub resolved_by: String,
    pub merchant_id: Option<String>,
    pub account: String,
    pub trade_no: String,
    pub out_trade_no: String,
    pub amount: String,
    /// Whether a notification was queued (the merchant has a notify URL).
    pub notification_queued: bool,
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": "scan_refused", "message": message }))).into_response()
}

pub async fn simulate_scan(State(state): State<Arc<SandboxState>>, Json(req): Json<ScanRequest>) -> Response {
    let now = state.now();
    let payload = req.payload.trim();
    // A dynamic code from precreate: pay that trade.
    match state.ledger.trade_by_qr_code(payload, now) {
        Ok(Some(t)) => return pay_dynamic(&state, t, &req, now),
        Ok(None) => {}
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
    let decoded = match crate::mpm::decode_store_code(payload) {
        Ok(d) => d,
        Err(e) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, format!("the wallet cannot read this code: {e}")),
    };
    let Some(amount_text) = req.amount.as_deref() else {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "a static store code needs an amount".into());
    };
    let amount = match Amount::parse(amount_text) {
        Ok(a) if a.fen() > 0 => a,
        Ok(_) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, "the amount must be more than 0.00".into()),
        Err(e) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    let accounts = state.accounts();
    let wallet = match req.wallet.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        None => None,
        Some(w @ ("alipay" | "wechatpay")) => Some(w),
        Some(other) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("wallet must be \"alipay\" or \"wechatpay\", not {other:?}"),
            );
        }
    };
    let speaks =
        |acquirer_id: &str| wallet.is_none_or(|w| accounts.acquirer(acquirer_id).is_some_and(|a| a.protocol == w));
    // 1. The code's own reference data: an acquirer we know with an active merchant, of the wallet's protocol.
    let mut resolved: Option<(String, String, &'static str)> = None;
    for r in &decoded.references {
        if let Some(a) = accounts.acquirer_by_guid(&r.guid)
            && speaks(&a.acquirer_id)
            && let Ok(Some(m)) = state.ledger.acquirer_merchant(&a.acquirer_id, &r.merchant_id, now)
            && m.status == "active"
        {
            resolved = Some((a.acquirer_id.clone(), r.merchant_id.clone(), "reference"));
            break;
        }
    }
    // 2. The CDS platform: the acquirers bound to the merchant's index; with a wallet, one of its protocol.
    if resolved.is_none()
        && let Some(cds) = &decoded.cds
    {
        let bindings = match state.ledger.cds_bindings(&cds.cds_index) {
            Ok(b) => b,
            Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        if let Some((acq, merchant, _)) = bindings.iter().find(|(acq, _, _)| speaks(acq)) {
            resolved = Some((acq.clone(), merchant.clone(), "cds"));
        }
    }
    let Some((acquirer_id, merchant_id, resolved_by)) = resolved else {
        let message = match wallet {
            Some(w) => format!(
                "no {w} acquirer accepts this code: neither its reference data nor its CDS index (if any) names an \
                 active merchant at an acquirer of the {w} protocol"
            ),
            None => "no sandbox acquirer accepts this code: its reference data names no active merchant and its CDS \
                     index (if any) has no bound acquirer"
                .into(),
        };
        return refuse(StatusCode::NOT_FOUND, message);
    };
    let Some(acquirer) = accounts.acquirer(&acquirer_id).cloned() else {
        return refuse(StatusCode::NOT_FOUND, format!("unknown acquirer {acquirer_id}"));
    };
    let protocol = if acquirer.protocol == "wechatpay" { Protocol::Wechatpay } else { Protocol::Alipay };
    // The account the store settles to, as onboarding recorded it.
    let account = match state.ledger.acquirer_merchant(&acquirer_id, &merchant_id, now) {
        Ok(Some(m)) => m.account.unwrap_or_default(),
        _ => String::new(),
    };
    let Some(holder) = Holder::find(&accounts, &acquirer_id, protocol, &account) else {
        return refuse(StatusCode::NOT_FOUND, format!("merchant {merchant_id} has no settlement account"));
    };
    let out_trade_no = format!("SC{}{}", super::ledger::china_date_compact(now), super::accounts::random_key(10));
    let new = NewTrade {
        out_trade_no,
        merchant_id: merchant_id.clone(),
        subject: req
            .subject
            .clone()
            .or_else(|| Some(decoded.merchant_name.clone()).filter(|n| !n.is_empty()))
            .unwrap_or_else(|| "店铺码付款 Store code payment".into()),
        total_amount: amount.fen(),
        status: Some(TradeStatus::Paid),
        source: "store_code",
        ..Default::default()
    };
    let scope = Scope { protocol, acquirer_id: &acquirer_id, account: &account, strict: true };
    let trade = match state.ledger.insert_trade(scope, new, now) {
        Ok(t) => t,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let queued = match queue_notification(&state, &holder, &trade, now) {
        Ok(q) => q,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    Json(ScanResult {
        acquirer_id,
        protocol: protocol.as_str().into(),
        resolved_by: resolved_by.into(),
        merchant_id: Some(merchant_id),
        account,
        trade_no: trade.trade_no,
        out_trade_no: trade.out_trade_no,
        amount: amount.to_string(),
        notification_queued: queued,
    })
    .into_response()
}

/// The account a payment settles to, with what its notifications need: the acquirer's own account (signed with
/// that acquirer's platform key, sent to its notify URL), or a `merchants[]` account of the shared gateways.
pub(crate) struct Holder {
    /// The acquirer whose own account this is; None: a `merchants[]` account (the shared platform key).
    acquirer: Option<String>,
    alipay: Option<AlipayAccount>,
    wechatpay: Option<WechatAccount>,
    notify_url: Option<String>,
}

impl Holder {
    /// The holder of `account` (app_id / mch_id) at `acquirer_id`: the acquirer's own account when it is that one,
    /// else the `merchants[]` entry with that id.
    pub(crate) fn find(
        accounts: &SandboxAccounts,
        acquirer_id: &str,
        protocol: Protocol,
        account: &str,
    ) -> Option<Holder> {
        if let Some(a) = accounts.acquirer(acquirer_id).filter(|a| a.account_id() == Some(account)) {
            return Some(Holder {
                acquirer: Some(a.acquirer_id.clone()),
                alipay: a.alipay_account().cloned(),
                wechatpay: a.wechat_account().cloned(),
                notify_url: a.notify_url.clone(),
            });
        }
        let m = match protocol {
            Protocol::Alipay => accounts.merchant_by_app_id(account),
            Protocol::Wechatpay => accounts.merchant_by_mch_id(account),
        }?;
        Some(Holder {
            acquirer: None,
            alipay: (protocol == Protocol::Alipay).then(|| m.alipay.clone()),
            wechatpay: (protocol == Protocol::Wechatpay).then(|| m.wechatpay.clone()),
            notify_url: m.notify_url.clone(),
        })
    }
}

fn pay_dynamic(state: &SandboxState, trade: Trade, req: &ScanRequest, now: OffsetDateTime) -> Response {
    if trade.status != TradeStatus::Waiting {
        let words = if trade.status == TradeStatus::Paid {
            "this dynamic code was already paid"
        } else {
            "本笔交易已关闭，请收银员重新收款 / this dynamic code was closed: the cashier must start a new sale"
        };
        return refuse(StatusCode::CONFLICT, words.into());
    }
    if let Some(reason) = req.fail.as_deref() {
        return (
            StatusCode::PAYMENT_REQUIRED,
            Json(serde_json::json!({
                "error": "payment_failed",
                "message": format!("the wallet did not pay ({reason}); the code stays unpaid"),
                "out_trade_no": trade.out_trade_no,
            })),
        )
            .into_response();
    }
    if let Some(secs) = req.delay_secs.filter(|s| *s > 0) {
        let pays_at = now + time::Duration::seconds(secs.min(86_400) as i64);
        return match state.ledger.pay_later(trade.id, pays_at) {
            Ok(true) => (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({
                    "status": "scanned",
                    "out_trade_no": trade.out_trade_no,
                    "pays_at": super::ledger::format_time(pays_at),
                })),
            )
                .into_response(),
            Ok(false) => refuse(StatusCode::CONFLICT, "this dynamic code was already paid or closed".into()),
            Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
    }
    let paid = match state.ledger.pay_waiting(trade.id, now) {
        Ok(Some(t)) => t,
        Ok(None) => return refuse(StatusCode::CONFLICT, "this dynamic code was already paid or closed".into()),
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let accounts = state.accounts();
    let protocol = if paid.protocol == Protocol::Wechatpay.as_str() { Protocol::Wechatpay } else { Protocol::Alipay };
    let queued = match Holder::find(&accounts, &paid.acquirer_id, protocol, &paid.account) {
        Some(h) => queue_notification(state, &h, &paid, now).unwrap_or(false),
        None => false,
    };
    Json(ScanResult {
        acquirer_id: paid.acquirer_id.clone(),
        protocol: paid.protocol.clone(),
        resolved_by: "dynamic".into(),
        merchant_id: Some(paid.merchant_id.clone()),
        account: paid.account.clone(),
        trade_no: paid.trade_no.clone(),
        out_trade_no: paid.out_trade_no.clone(),
        amount: Amount::from_fen(paid.total_amount).to_string(),
        notification_queued: queued,
    })
    .into_response()
}

/// Why a notification could not be built or queued.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotifyBuildError {
    #[error("account {account} has no {protocol} account to notify with")]
    NoAccount { account: String, protocol: String },
    #[error("cannot sign the notification: {0}")]
    Sign(#[from] alipay_sign::SignError),
    #[error("cannot write the notification form: {0}")]
    Form(#[from] serde_urlencoded::ser::Error),
    #[error(transparent)]
    Ledger(#[from] super::ledger::LedgerError),
}

/// Builds the notification in the acquirer's format and queues it. False when the account has no notify URL.
fn queue_notification(
    state: &SandboxState,
    holder: &Holder,
    trade: &Trade,
    now: OffsetDateTime,
) -> Result<bool, NotifyBuildError> {
    let Some(url) = holder.notify_url.clone().filter(|u| !u.is_empty()) else { return Ok(false) };
    let (content_type, body, protocol) = match (&holder.alipay, &holder.wechatpay) {
        (_, Some(w)) if trade.protocol == "wechatpay" => {
            ("text/xml;charset=utf-8", wechat_notify(w, trade), Protocol::Wechatpay)
        }
        (Some(a), _) => {
            let key = state.keys.platform_of(holder.acquirer.as_deref());
            ("application/x-www-form-urlencoded;charset=utf-8", alipay_notify(key, a, trade, now)?, Protocol::Alipay)
        }
        _ => {
            return Err(NotifyBuildError::NoAccount {
                account: trade.account.clone(),
                protocol: trade.protocol.clone(),
            });
        }
    };
    state.ledger.enqueue_notification(protocol, &trade.trade_no, &url, content_type, &body, now)?;
    Ok(true)
}

/// The Alipay asynchronous notification form, signed as rsaCheckV1 verifies it (sign and sign_type excluded):
/// `app_id` is the account's, `seller_id` the merchant the trade was taken for (the store's merchant id at the
/// acquirer, or the account's pid).
pub(crate) fn alipay_notify(
    platform_key: &crate::channel::alipay::sign::PrivateKey,
    account: &AlipayAccount,
    trade: &Trade,
    now: OffsetDateTime,
) -> Result<String, NotifyBuildError> {
    let yuan = Amount::from_fen(trade.total_amount).to_string();
    let created = super::ledger::parse_time(&trade.created_at).unwrap_or(now);
    let paid = trade.paid_at.as_deref().and_then(super::ledger::parse_time).unwrap_or(now);
    let seller_id = if trade.merchant_id.is_empty() { account.pid.clone() } else { trade.merchant_id.clone() };
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    p.insert("notify_time".into(), super::alipay::china_time(now));
    p.insert("notify_type".into(), "trade_status_sync".into());
    p.insert("notify_id".into(), format!("2026{}", super::accounts::random_key(28).to_lowercase()));
    p.insert("app_id".into(), account.app_id.clone());
    p.insert("auth_app_id".into(), account.app_id.clone());
    p.insert("charset".into(), "utf-8".into());
    p.insert("version".into(), "1.0".into());
    p.insert("sign_type".into(), "RSA2".into());
    p.insert("trade_no".into(), trade.trade_no.clone());
    p.insert("out_trade_no".into(), trade.out_trade_no.clone());
    p.insert("buyer_id".into(), trade.buyer_id.clone());
    p.insert("buyer_logon_id".into(), "159****0000".into());
    p.insert("seller_id".into(), seller_id);
    p.insert("trade_status".into(), "TRADE_SUCCESS".into());
    p.insert("total_amount".into(), yuan.clone());
    p.insert("receipt_amount".into(), yuan.clone());
    p.insert("invoice_amount".into(), yuan.clone());
    p.insert("buyer_pay_amount".into(), yuan);
    p.insert("point_amount".into(), "0.00".into());
    p.insert("subject".into(), trade.subject.clone());
    p.insert("gmt_create".into(), super::alipay::china_time(created));
    p.insert("gmt_payment".into(), super::alipay::china_time(paid));
    let content = alipay_sign::notify_sign_content(&p);
    let sign = alipay_sign::sign_rsa2(platform_key, &content)?;
    p.insert("sign".into(), sign);
    Ok(serde_urlencoded::to_string(&p)?)
}

/// The WeChat Pay payment result notification (MD5 signed with the account's key): `mch_id` is the account, and
/// `sub_mch_id` the store's merchant id when the trade was taken for a sub-merchant.
pub(crate) fn wechat_notify(account: &WechatAccount, trade: &Trade) -> String {
    let mut f: BTreeMap<String, String> = BTreeMap::new();
    f.insert("return_code".into(), "SUCCESS".into());
    f.insert("return_msg".into(), "OK".into());
    f.insert("appid".into(), account.appid.clone());
    f.insert("mch_id".into(), account.mch_id.clone());
    if !trade.merchant_id.is_empty() && trade.merchant_id != account.mch_id {
        f.insert("sub_mch_id".into(), trade.merchant_id.clone());
    }
    f.insert("nonce_str".into(), super::accounts::random_key(16));
    f.insert("result_code".into(), "SUCCESS".into());
    f.insert("openid".into(), trade.buyer_id.clone());
    f.insert("is_subscribe".into(), "N".into());
    f.insert("trade_type".into(), "NATIVE".into());
    f.insert("bank_type".into(), "OTHERS".into());
    f.insert("total_fee".into(), trade.total_amount.to_string());
    f.insert("fee_type".into(), "CNY".into());
    f.insert("cash_fee".into(), trade.total_amount.to_string());
    f.insert("transaction_id".into(), trade.trade_no.clone());
    f.insert("out_trade_no".into(), trade.out_trade_no.clone());
    let paid = trade.paid_at.as_deref().and_then(super::ledger::parse_time).unwrap_or_else(OffsetDateTime::now_utc);
    let t = paid.to_offset(super::ledger::china_offset());
    f.insert(
        "time_end".into(),
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
    );
    let sign = wx_sign::sign(&f, &account.api_key, SignType::Md5);
    f.insert("sign".into(), sign);
    to_xml(&f)
}

/// Whether the merchant's answer acknowledges the notification, as each platform requires.
fn acknowledged(protocol: &str, body: &str) -> bool {
    if protocol == "wechatpay" {
        crate::channel::wechatpay::wire::from_xml(body)
            .ok()
            .is_some_and(|f| f.get("return_code").is_some_and(|c| c == "SUCCESS"))
    } else {
        body.trim() == "success"
    }
}

/// Background delivery: every due notification is POSTed; unacknowledged ones are retried on the platform's schedule.
pub async fn deliver_notifications(state: Arc<SandboxState>) {
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = state.now();
        let due = match state.ledger.due_notifications(now) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "sandbox: cannot read the notification queue");
                continue;
            }
        };
        for n in due {
            let result = state
                .http
                .post(&n.url)
                .header(reqwest::header::CONTENT_TYPE, n.content_type.clone())
                .body(n.body.clone())
                .send()
                .await;
            let outcome = match result {
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    if status.is_success() && acknowledged(&n.protocol, &text) {
                        Ok(())
                    } else {
                        Err(format!("HTTP {status}: {}", text.chars().take(200).collect::<String>()))
                    }
                }
                Err(e) => Err(e.to_string()),
            };
            let stored = match outcome {
                Ok(()) => state.ledger.notification_delivered(n.id, state.now()),
                Err(error) => {
                    let custom = state.config().notify_retry_ms;
                    let delay = if custom.is_empty() {
                        let schedule = if n.protocol == "wechatpay" { WECHAT_RETRY_SECS } else { ALIPAY_RETRY_SECS };
                        schedule.get(n.attempts as usize).map(|s| Duration::from_secs(*s))
                    } else {
                        custom.get(n.attempts as usize).map(|ms| Duration::from_millis(*ms))
                    };
                    let next = delay.and_then(|d| time::Duration::try_from(d).ok()).map(|d| state.now() + d);
                    state.ledger.notification_failed(n.id, &error, next)
                }
            };
            if let Err(e) = stored {
                tracing::warn!(error = %e, "sandbox: cannot record a notification attempt");
            }
        }
    }
}
