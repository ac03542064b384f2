//! NATIVE payments (主扫) on WeChat Pay v2: `unifiedorder` with `trade_type=NATIVE` returns the `code_url` the
//! customer scans; `closeorder` makes an unpaid order unpayable. `ORDERPAID` on close is a sale, never an error.
//! Times on this wire are Beijing time (`time_expire` at least 5 minutes ahead, or WeChat answers PARAM_ERROR).

use super::wire::TRADE_TYPE_NATIVE;
use super::wire::{CloseOrderRequest, CloseOrderResponse, UnifiedOrderRequest, UnifiedOrderResponse, err_code};
use super::{MAX_BODY_CHARS, WechatClient, err_of, non_blank};
use crate::channel::auth_code::scrub_codes;
use crate::channel::wechatpay::wire::{Endpoint, WireMessage as _};
use crate::channel::{CloseResult, Failure, PrecreateRequest, PrecreateResult, QueryResult};

/// Sent as `notify_url` when none is configured: WeChat requires the field; the till learns the result by polling.
pub const NO_NOTIFY_URL: &str = "http://127.0.0.1/tilldesk/notify";

/// yyyyMMddHHmmss in Beijing time, as unifiedorder's `time_start` / `time_expire` want it.
pub(super) fn beijing_compact(at: time::OffsetDateTime) -> String {
    let t = at.to_offset(crate::time::CHINA);
    format!("{:04}{:02}{:02}{:02}{:02}{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
}

/// The shortest life WeChat Pay gives a NATIVE order (`time_expire` at least this after `time_start`).
const SHORTEST_NATIVE: time::Duration = time::Duration::minutes(5);

/// `time_expire` for a code the till shows until `expires_at`: never less than WeChat's five minutes after `now`
/// (the till's own clock set `expires_at` a moment before this call, through a merchant backend a little more; the
/// till closes the order when its own time is up, so an order that lives on at WeChat a few seconds longer is closed
/// all the same).
fn wechat_expiry(now: time::OffsetDateTime, expires_at: time::OffsetDateTime) -> time::OffsetDateTime {
    expires_at.max(now + SHORTEST_NATIVE)
}

impl WechatClient {
    pub(super) async fn unifiedorder_impl(&self, req: &PrecreateRequest) -> PrecreateResult {
        let body: String = req.subject.trim().chars().take(MAX_BODY_CHARS).collect();
        let request = UnifiedOrderRequest {
            merchant: self.merchant.clone(),
            device_info: non_blank(req.terminal_id.clone()).or_else(|| self.device_info.clone()),
            body: if body.is_empty() { "TillDesk".to_owned() } else { body },
            attach: None,
            out_trade_no: req.out_trade_no.clone(),
            total_fee: req.amount,
            spbill_create_ip: self.spbill_create_ip().await,
            time_start: Some(beijing_compact(req.now)),
            time_expire: Some(beijing_compact(wechat_expiry(req.now, req.expires_at))),
            notify_url: self.notify_url.clone().unwrap_or_else(|| NO_NOTIFY_URL.to_owned()),
            trade_type: TRADE_TYPE_NATIVE.to_owned(),
            product_id: Some(req.out_trade_no.clone()),
            limit_pay: None,
            scene_info: None,
        };
        if let Err(e) = request.validate() {
            return PrecreateResult::Failed(Failure { code: "NOT_SENT".into(), message: e.to_string() });
        }
        tracing::info!(out_trade_no = %req.out_trade_no, amount = %req.amount, "wechat unifiedorder NATIVE");
        let result = match self.call::<UnifiedOrderResponse>(Endpoint::UnifiedOrder, request.to_params()).await {
            Ok(response) => classify_unifiedorder(&response),
            Err(reason) => PrecreateResult::Unknown(reason.to_string()),
        };
        tracing::info!(out_trade_no = %req.out_trade_no, created = matches!(result, PrecreateResult::Created { .. }),
            "wechat unifiedorder");
        result
    }

    pub(super) async fn closeorder_impl(&self, out_trade_no: &str) -> CloseResult {
        let request = CloseOrderRequest { merchant: self.merchant.clone(), out_trade_no: out_trade_no.to_owned() };
        let result = match self.call::<CloseOrderResponse>(Endpoint::CloseOrder, request.to_params()).await {
            Ok(response) => match classify_closeorder(&response) {
                Some(result) => result,
                // ORDERPAID: a sale. The query gives its figures for the order.
                None => match self.query_impl(out_trade_no).await {
                    QueryResult::Paid(info) => CloseResult::AlreadyPaid(info),
                    other => CloseResult::Unknown(format!(
                        "WeChat Pay says the order is paid (ORDERPAID), but a query does not confirm it ({other:?})"
                    )),
                },
            },
            Err(reason) => CloseResult::Unknown(reason.to_string()),
        };
        tracing::info!(%out_trade_no, result = ?result, "wechat closeorder");
        result
    }
}

pub(super) fn classify_unifiedorder(r: &UnifiedOrderResponse) -> PrecreateResult {
    if r.head.is_success() {
        return match r.code_url.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => PrecreateResult::Created { code: code.to_owned() },
            None => PrecreateResult::Unknown("WeChat Pay made the order but sent no code_url".into()),
        };
    }
    let (code, des) = err_of(&r.head);
    match code {
        err_code::SYSTEMERROR => PrecreateResult::Unknown(format!("WeChat Pay had a system error ({des})")),
        err_code::ORDERPAID => PrecreateResult::AlreadyPaid,
        "" => PrecreateResult::Unknown("WeChat Pay said FAIL without an err_code".into()),
        _ => PrecreateResult::Failed(Failure { code: code.to_owned(), message: unifiedorder_words(code, &des) }),
    }
}

/// None: ORDERPAID (confirm with a query).
pub(super) fn classify_closeorder(r: &CloseOrderResponse) -> Option<CloseResult> {
    if r.head.is_success() {
        return Some(CloseResult::Closed);
    }
    let (code, des) = err_of(&r.head);
    Some(match code {
        err_code::ORDERPAID => return None,
        err_code::ORDERCLOSED | err_code::ORDERNOTEXIST => CloseResult::Closed,
        err_code::SYSTEMERROR => CloseResult::Retry(format!("WeChat Pay had a system error; close again ({des})")),
        "" => CloseResult::Unknown("WeChat Pay said FAIL without an err_code".into()),
        _ => CloseResult::Failed(Failure {
            code: code.to_owned(),
            message: format!(
                "微信支付拒绝关单 / WeChat Pay refused to close the order ({code}: {})",
                scrub_codes(&des)
            ),
        }),
    })
}

fn unifiedorder_words(code: &str, des: &str) -> String {
    let words = match code {
        err_code::ORDERCLOSED => "该订单号已关闭 / this order number was closed: start a new sale",
        err_code::OUT_TRADE_NO_USED | err_code::INVALID_REQUEST => {
            "订单号已被使用 / this order number was used already: start a new sale"
        }
        err_code::NOAUTH => "商户无权使用扫码支付 / this merchant may not take NATIVE (scan) payments",
        err_code::PARAM_ERROR => "参数错误 / WeChat Pay did not accept the request",
        err_code::APPID_NOT_EXIST | err_code::MCHID_NOT_EXIST | err_code::APPID_MCHID_NOT_MATCH => {
            "商户设置有误，请检查微信支付设置 / the WeChat Pay merchant settings are wrong: check appid and mch_id"
        }
        err_code::SIGNERROR => "签名错误，请检查 API 密钥 / signature error: check the WeChat Pay API key",
        _ => "微信支付拒绝生成收款码 / WeChat Pay refused to make the code",
    };
    if des.is_empty() { format!("{words} ({code})") } else { format!("{words} ({code}: {des})") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::wechatpay::wire::{MerchantIds, ReplyHead};

    fn head_fail(code: &str) -> ReplyHead {
        ReplyHead::failure(&MerchantIds::default(), code, "x")
    }

    #[test]
    fn a_code_asked_a_moment_late_still_lives_five_minutes_at_wechat() {
        let asked = time::macros::datetime!(2026-12-07 03:43:20.9 UTC);
        let until = asked + time::Duration::minutes(5);
        // The backend calls WeChat 0.2 s later: the compact times would be 4:59 apart, which WeChat refuses.
        let now = asked + time::Duration::milliseconds(200);
        let expire = wechat_expiry(now, until);
        assert_eq!((beijing_compact(now), beijing_compact(expire)), ("20261207114321".into(), "20261207114821".into()));
        // A longer life is kept as asked.
        let later = until + time::Duration::minutes(10);
        assert_eq!(wechat_expiry(now, later), later);
    }

    #[test]
    fn unifiedorder_answers_are_classified() {
        let ok = UnifiedOrderResponse {
            head: ReplyHead::success(&MerchantIds::default()),
            device_info: None,
            trade_type: Some("NATIVE".into()),
            prepay_id: Some("wx1".into()),
            code_url: Some("weixin://wxpay/bizpayurl?pr=abc".into()),
        };
        assert_eq!(
            classify_unifiedorder(&ok),
            PrecreateResult::Created { code: "weixin://wxpay/bizpayurl?pr=abc".into() }
        );
        let no_code = UnifiedOrderResponse { code_url: None, ..ok.clone() };
        assert!(matches!(classify_unifiedorder(&no_code), PrecreateResult::Unknown(_)));
        let fail = |code: &str| UnifiedOrderResponse { head: head_fail(code), ..ok.clone() };
        assert!(matches!(classify_unifiedorder(&fail("SYSTEMERROR")), PrecreateResult::Unknown(_)));
        assert_eq!(classify_unifiedorder(&fail("ORDERPAID")), PrecreateResult::AlreadyPaid);
        for code in ["ORDERCLOSED", "OUT_TRADE_NO_USED", "PARAM_ERROR", "NOAUTH"] {
            let PrecreateResult::Failed(f) = classify_unifiedorder(&fail(code)) else { panic!("{code}") };
            assert_eq!(f.code, code);
            assert!(f.message.contains(" / "));
        }
    }

    #[test]
    fn closeorder_answers_are_classified() {
        let close = |head: ReplyHead| classify_closeorder(&CloseOrderResponse { head, result_msg: None });
        assert_eq!(close(ReplyHead::success(&MerchantIds::default())), Some(CloseResult::Closed));
        assert_eq!(close(head_fail("ORDERPAID")), None, "paid: a sale, confirmed by a query");
        assert_eq!(close(head_fail("ORDERCLOSED")), Some(CloseResult::Closed));
        assert_eq!(close(head_fail("ORDERNOTEXIST")), Some(CloseResult::Closed));
        assert!(matches!(close(head_fail("SYSTEMERROR")), Some(CloseResult::Retry(_))));
        assert!(matches!(close(head_fail("SIGNERROR")), Some(CloseResult::Failed(_))));
    }

    #[test]
    fn times_are_beijing_time() {
        let at = time::macros::datetime!(2026-12-05 22:30:00 UTC);
        assert_eq!(beijing_compact(at), "20261206063000");
    }
}
