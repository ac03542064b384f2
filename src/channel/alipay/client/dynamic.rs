//! Dynamic codes (主扫) on Alipay: `alipay.trade.precreate` returns the `qr_code` the customer scans;
//! `alipay.trade.close` makes it unpayable. The trade exists at Alipay only once the customer scans, so until then a
//! query answers `ACQ.TRADE_NOT_EXIST` and a close answers the same; the close still kills the code.

use super::wire::{self, CommonResponse, Method, TradeCloseRequest, TradeCloseResponse, TradePrecreateRequest};
use super::wire::{TradePrecreateResponse, code, sub_code};
use super::{AlipayClient, CallError, MAX_SUBJECT_CHARS, check_order, failure_summary, non_blank, refusal};
use crate::channel::{CloseResult, Failure, PrecreateRequest, PrecreateResult, QueryResult};

/// Alipay's close sub_codes that mean "this trade is not waiting": paid, finished or closed already.
const NOT_WAITING: &[&str] = &[
    sub_code::TRADE_STATUS_ERROR,
    "ACQ.REASON_ILLEGAL_STATUS",
    "ACQ.REASON_TRADE_STATUS_INVALID",
    sub_code::TRADE_HAS_SUCCESS,
    sub_code::TRADE_HAS_FINISHED,
    sub_code::TRADE_HAS_CLOSE,
];

/// `qr_code_timeout_express` for a code valid until `expires_at`: whole minutes, at least 1, at most 2 h (当面付).
pub(super) fn qr_timeout(now: time::OffsetDateTime, expires_at: time::OffsetDateTime) -> String {
    let minutes = ((expires_at - now).whole_seconds() / 60).clamp(1, 120);
    format!("{minutes}m")
}

impl AlipayClient {
    pub(super) async fn precreate_impl(&self, req: &PrecreateRequest) -> PrecreateResult {
        if let Some(refusal) = check_order(&req.out_trade_no, req.amount, &req.subject) {
            return PrecreateResult::Failed(refusal);
        }
        let subject: String = req.subject.trim().chars().take(MAX_SUBJECT_CHARS).collect();
        let request = TradePrecreateRequest {
            product_code: Some(wire::PRODUCT_FACE_TO_FACE.into()),
            store_id: non_blank(req.store_id.clone()).or_else(|| self.settings.store_id.clone()),
            terminal_id: non_blank(req.terminal_id.clone()).or_else(|| self.settings.terminal_id.clone()),
            operator_id: non_blank(req.operator_id.clone()),
            qr_code_timeout_express: Some(qr_timeout(req.now, req.expires_at)),
            ..TradePrecreateRequest::new(&req.out_trade_no, &subject, req.amount)
        };
        let biz = match self.biz_content_for(&request) {
            Ok(b) => b,
            Err(e) => return PrecreateResult::Failed(Failure { code: "NOT_SENT".into(), message: e.to_string() }),
        };
        tracing::info!(out_trade_no = %req.out_trade_no, amount = %req.amount, "alipay precreate");
        let response: TradePrecreateResponse = match self.call(Method::TradePrecreate, &biz).await {
            Ok(r) => r,
            Err(CallError::NotSent(message)) => {
                return PrecreateResult::Failed(Failure { code: "NOT_SENT".into(), message });
            }
            Err(CallError::Unreliable(reason)) => {
                tracing::warn!(out_trade_no = %req.out_trade_no, %reason, "alipay precreate: result unknown");
                return PrecreateResult::Unknown(reason);
            }
        };
        let result = classify_precreate(&response, &req.out_trade_no);
        tracing::info!(out_trade_no = %req.out_trade_no, created = matches!(result, PrecreateResult::Created { .. }),
            "alipay precreate");
        result
    }

    pub(super) async fn close_impl(&self, out_trade_no: &str) -> CloseResult {
        let request = TradeCloseRequest { out_trade_no: Some(out_trade_no.to_owned()), ..Default::default() };
        let biz = match wire::encode_biz_content(&request) {
            Ok(b) => b,
            Err(e) => return CloseResult::Failed(Failure { code: "NOT_SENT".into(), message: e.to_string() }),
        };
        let response: TradeCloseResponse = match self.call(Method::TradeClose, &biz).await {
            Ok(r) => r,
            Err(CallError::NotSent(message)) => {
                return CloseResult::Failed(Failure { code: "NOT_SENT".into(), message });
            }
            Err(CallError::Unreliable(reason)) => return CloseResult::Unknown(reason),
        };
        let result = match classify_close(&response) {
            CloseStep::Done(result) => result,
            // Not waiting any more: paid (a sale), or closed already. Only a query says which.
            CloseStep::AskQuery => match self.query_impl(out_trade_no).await {
                QueryResult::Paid(info) => CloseResult::AlreadyPaid(info),
                QueryResult::Closed(_) | QueryResult::NotFound => CloseResult::Closed,
                QueryResult::Waiting(_) => {
                    CloseResult::Retry("Alipay refused the close but the trade still waits".into())
                }
                QueryResult::Unknown(why) => CloseResult::Unknown(why),
            },
        };
        tracing::info!(%out_trade_no, result = ?result, "alipay close");
        result
    }
}

pub(super) enum CloseStep {
    Done(CloseResult),
    AskQuery,
}

pub(super) fn classify_precreate(r: &TradePrecreateResponse, out_trade_no: &str) -> PrecreateResult {
    let c = &r.common;
    if r.out_trade_no.as_deref().is_some_and(|o| !o.is_empty() && o != out_trade_no) {
        return PrecreateResult::Unknown("Alipay's answer is about a different order number".into());
    }
    if c.is_success() {
        return match r.qr_code.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            Some(code) => PrecreateResult::Created { code: code.to_owned() },
            None => PrecreateResult::Unknown("Alipay said the code was made but sent no qr_code".into()),
        };
    }
    if c.is_unknown_outcome() {
        return PrecreateResult::Unknown(format!("Alipay could not make the code ({})", failure_summary(c)));
    }
    if c.code == code::BUSINESS_FAILED && c.sub_code.as_deref() == Some(sub_code::TRADE_HAS_SUCCESS) {
        return PrecreateResult::AlreadyPaid;
    }
    match refusal(c, precreate_words) {
        Some(failure) => PrecreateResult::Failed(failure),
        None => PrecreateResult::Unknown(failure_summary(c)),
    }
}

pub(super) fn classify_close(r: &TradeCloseResponse) -> CloseStep {
    let c: &CommonResponse = &r.common;
    if c.is_success() {
        return CloseStep::Done(CloseResult::Closed);
    }
    let sub = c.sub_code.as_deref().unwrap_or("");
    if c.code == code::BUSINESS_FAILED && sub == sub_code::TRADE_NOT_EXIST {
        // Never scanned: the close still makes the code unpayable.
        return CloseStep::Done(CloseResult::Closed);
    }
    if c.code == code::BUSINESS_FAILED && NOT_WAITING.contains(&sub) {
        return CloseStep::AskQuery;
    }
    if c.is_unknown_outcome() {
        return CloseStep::Done(CloseResult::Retry(format!("Alipay had a transient error ({})", failure_summary(c))));
    }
    match refusal(c, |_| None) {
        Some(failure) => CloseStep::Done(CloseResult::Failed(failure)),
        None => CloseStep::Done(CloseResult::Unknown(failure_summary(c))),
    }
}

fn precreate_words(sub: &str) -> Option<&'static str> {
    Some(match sub {
        sub_code::TOTAL_FEE_EXCEED => "金额超出限额 / the amount is more than Alipay allows for one payment",
        sub_code::ACCESS_FORBIDDEN => "商户无权使用当面付 / this merchant may not take face-to-face payments",
        sub_code::EXIST_FORBIDDEN_WORD => "订单标题含有违禁词 / the sale's description contains a forbidden word",
        sub_code::TRADE_HAS_CLOSE => "该订单号已关闭 / this order number was closed: start a new sale",
        sub_code::INVALID_STORE_ID => "门店编号无效 / Alipay does not know this store id",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_precreate_reply_gives_its_code() {
        // The reply of the Alipay documentation (alipay.trade.precreate, 响应示例).
        let node = serde_json::json!({
            "code": "10000", "msg": "Success",
            "out_trade_no": "6823789339978248", "qr_code": "https://qr.alipay.com/bavh4wjlxf12tper3a"
        });
        let r: TradePrecreateResponse = wire::decode_node(node).unwrap();
        assert_eq!(
            classify_precreate(&r, "6823789339978248"),
            PrecreateResult::Created { code: "https://qr.alipay.com/bavh4wjlxf12tper3a".into() }
        );
        assert!(matches!(classify_precreate(&r, "other"), PrecreateResult::Unknown(_)));
        let fail = |code: &str, sub: &str| TradePrecreateResponse {
            common: CommonResponse::failure(code, "x", sub, "y"),
            ..Default::default()
        };
        assert!(matches!(classify_precreate(&fail("20000", "isp.unknow-error"), "o"), PrecreateResult::Unknown(_)));
        assert!(matches!(classify_precreate(&fail("40004", "ACQ.SYSTEM_ERROR"), "o"), PrecreateResult::Unknown(_)));
        assert_eq!(classify_precreate(&fail("40004", "ACQ.TRADE_HAS_SUCCESS"), "o"), PrecreateResult::AlreadyPaid);
        let PrecreateResult::Failed(f) = classify_precreate(&fail("40004", "ACQ.TOTAL_FEE_EXCEED"), "o") else {
            panic!("a definite refusal")
        };
        assert!(f.message.contains(" / "));
    }

    #[test]
    fn close_answers_are_classified() {
        let ok = TradeCloseResponse { common: CommonResponse::success(), ..Default::default() };
        assert!(matches!(classify_close(&ok), CloseStep::Done(CloseResult::Closed)));
        let fail = |code: &str, sub: &str| TradeCloseResponse {
            common: CommonResponse::failure(code, "x", sub, "y"),
            ..Default::default()
        };
        assert!(matches!(classify_close(&fail("40004", "ACQ.TRADE_NOT_EXIST")), CloseStep::Done(CloseResult::Closed)));
        assert!(matches!(classify_close(&fail("40004", "ACQ.TRADE_STATUS_ERROR")), CloseStep::AskQuery));
        assert!(matches!(classify_close(&fail("40004", "ACQ.REASON_ILLEGAL_STATUS")), CloseStep::AskQuery));
        assert!(matches!(classify_close(&fail("40004", "ACQ.SYSTEM_ERROR")), CloseStep::Done(CloseResult::Retry(_))));
        assert!(matches!(classify_close(&fail("20000", "isp.unknow-error")), CloseStep::Done(CloseResult::Retry(_))));
    }

    #[test]
    fn the_code_lives_whole_minutes_up_to_two_hours() {
        let now = time::macros::datetime!(2026-12-05 10:00:00 UTC);
        assert_eq!(qr_timeout(now, now + time::Duration::minutes(5)), "5m");
        assert_eq!(qr_timeout(now, now + time::Duration::seconds(20)), "1m");
        assert_eq!(qr_timeout(now, now + time::Duration::hours(5)), "120m");
    }
}
