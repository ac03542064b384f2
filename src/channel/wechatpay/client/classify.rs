//! Classification of WeChat Pay's verified answers, pure so that every documented code is unit-tested: micropay,
//! order query, reverse, refund and refund query, each to the `Channel` result it means, with the cashier's words for
//! each refusal. Imports `channel` only.

use super::super::wire::{
    self, MicropayResponse, OrderQueryResponse, RefundQueryResponse, RefundResponse, RefundStatus, ReplyHead,
    ReverseResponse, TradeState, err_code,
};
use crate::channel::auth_code::scrub_codes;
use crate::channel::{
    CancelResult, Failure, PayResult, QueryResult, RefundQueryResult, RefundResult, RefundState, TradeInfo,
};

pub(super) enum PayStep {
    Done(PayResult),
    /// ORDERPAID: this out_trade_no is already paid; believe it once a query confirms.
    ConfirmByQuery,
}

pub(super) fn payment_info(p: &wire::Payment) -> TradeInfo {
    TradeInfo {
        trade_no: Some(p.transaction_id.clone()),
        amount: Some(p.total_fee),
        paid_at: Some(p.time_end.clone()),
        buyer: p.openid.as_deref().map(mask_openid),
        currency: p.fee_type.clone(),
        merchant_id: None,
    }
}

/// An openid is a stable buyer identifier: keep the ends only.
pub(super) fn mask_openid(openid: &str) -> String {
    let chars: Vec<char> = openid.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}***{tail}")
}

pub(super) fn err_of(head: &ReplyHead) -> (&str, String) {
    let code = head.err_code.as_deref().unwrap_or("");
    let des = head.err_code_des.as_deref().map(scrub_codes).unwrap_or_default();
    (code, des)
}

pub(super) fn classify_micropay(r: &MicropayResponse, out_trade_no: &str) -> PayStep {
    if r.head.is_success() {
        return PayStep::Done(match &r.payment {
            Some(p) if p.out_trade_no != out_trade_no => PayResult::Unknown(
                "WeChat Pay's answer is about a different order number; the result is unknown".into(),
            ),
            Some(p) => PayResult::Paid(payment_info(p)),
            None => PayResult::Unknown("WeChat Pay said SUCCESS without the payment; the result is unknown".into()),
        });
    }
    let (code, des) = err_of(&r.head);
    match code {
        err_code::USERPAYING => PayStep::Done(PayResult::Waiting(TradeInfo::default())),
        err_code::SYSTEMERROR | err_code::BANKERROR => PayStep::Done(PayResult::Unknown(format!(
            "WeChat Pay had a system error ({code}: {des}); the payment may still go through, so it is being checked"
        ))),
        err_code::ORDERPAID => PayStep::ConfirmByQuery,
        "" => {
            PayStep::Done(PayResult::Unknown("WeChat Pay said FAIL without an err_code; the result is unknown".into()))
        }
        _ => PayStep::Done(PayResult::Failed(Failure { code: code.to_owned(), message: micropay_words(code, &des) })),
    }
}

/// Plain words for a definite micropay refusal.
pub(super) fn micropay_words(code: &str, des: &str) -> String {
    let words = match code {
        err_code::AUTHCODEEXPIRE => {
            "付款码已过期，请顾客刷新后再扫 / the payment code has expired: ask the customer to refresh it"
        }
        err_code::NOTENOUGH => {
            "顾客余额不足，请换卡或换方式 / the customer's balance is too low: ask for another card or method"
        }
        err_code::NOTSUPORTCARD => {
            "不支持该卡，请顾客换卡 / this card is not supported: ask the customer to choose another"
        }
        err_code::AUTH_CODE_ERROR => {
            "付款码无效或已使用，请顾客刷新 / the payment code is invalid or used: ask the customer to refresh it"
        }
        err_code::AUTH_CODE_INVALID => "这不是有效的微信付款码 / this is not a valid WeChat payment code",
        err_code::ORDERCLOSED | err_code::ORDERREVERSED => {
            "该订单已关闭或撤销，请重新收款 / this order was closed or reversed: start a new payment"
        }
        err_code::BUYER_MISMATCH => {
            "付款人与上次不同 / a different customer paid this order before: start a new payment"
        }
        err_code::OUT_TRADE_NO_USED => "订单号已被使用 / this order number was used already: start a new payment",
        err_code::USER_ACCOUNT_ABNORMAL => "顾客账户异常 / the customer's account cannot pay: ask for another method",
        err_code::NOAUTH | err_code::APPID_NOT_EXIST | err_code::MCHID_NOT_EXIST | err_code::APPID_MCHID_NOT_MATCH => {
            "商户设置有误，请检查微信支付设置 / the WeChat Pay merchant settings are wrong: check appid and mch_id"
        }
        err_code::SIGNERROR => "签名错误，请检查 API 密钥 / signature error: check the WeChat Pay API key",
        _ => "微信支付拒绝了此次付款 / WeChat Pay refused this payment",
    };
    if des.is_empty() { format!("{words} ({code})") } else { format!("{words} ({code}: {des})") }
}

pub(super) fn classify_query(r: &OrderQueryResponse, out_trade_no: &str) -> QueryResult {
    if !r.head.is_success() {
        let (code, des) = err_of(&r.head);
        return if code == err_code::ORDERNOTEXIST {
            QueryResult::NotFound
        } else {
            QueryResult::Unknown(format!("WeChat Pay could not answer the query ({code}: {des})"))
        };
    }
    let Some(order) = &r.order else {
        return QueryResult::Unknown("WeChat Pay's query answer has no trade_state".into());
    };
    if let Some(p) = &order.payment
        && p.out_trade_no != out_trade_no
    {
        return QueryResult::Unknown("WeChat Pay's answer is about a different order number".into());
    }
    let info = order.payment.as_ref().map(payment_info).unwrap_or_default();
    match order.trade_state {
        TradeState::Success | TradeState::Refund => QueryResult::Paid(info),
        TradeState::UserPaying | TradeState::NotPay | TradeState::Accept => QueryResult::Waiting(info),
        TradeState::Closed | TradeState::Revoked | TradeState::PayError => QueryResult::Closed(info),
    }
}

pub(super) fn classify_reverse(r: &ReverseResponse) -> CancelResult {
    if r.recall == Some(true) {
        let (code, des) = err_of(&r.head);
        return CancelResult::Retry(if code.is_empty() {
            "WeChat Pay asks for the reverse to be sent again (recall=Y)".into()
        } else {
            format!("WeChat Pay asks for the reverse to be sent again (recall=Y, {code}: {des})")
        });
    }
    if r.head.is_success() {
        return CancelResult::Done { refunded: false };
    }
    let (code, des) = err_of(&r.head);
    match code {
        err_code::SYSTEMERROR => CancelResult::Retry(format!("WeChat Pay had a system error; reverse again ({des})")),
        err_code::ORDERREVERSED | err_code::ORDERCLOSED => CancelResult::Done { refunded: false },
        err_code::REVERSE_EXPIRE => CancelResult::Failed(Failure {
            code: code.to_owned(),
            message: "订单已超过撤销期限（7天），请改用退款 / the order is older than 7 days and can no longer be \
                      reversed: refund it instead"
                .into(),
        }),
        "" => CancelResult::Unknown("WeChat Pay said FAIL without an err_code".into()),
        _ => CancelResult::Failed(Failure {
            code: code.to_owned(),
            message: format!("微信支付拒绝撤销 / WeChat Pay refused the reverse ({code}: {des})"),
        }),
    }
}

pub(super) fn classify_refund(r: &RefundResponse) -> RefundResult {
    if r.head.is_success() {
        return RefundResult::Accepted {
            state: RefundState::Processing,
            refund_no: r.accepted.as_ref().map(|a| a.refund_id.clone()),
        };
    }
    let (code, des) = err_of(&r.head);
    match code {
        err_code::SYSTEMERROR | err_code::BIZERR_NEED_RETRY | err_code::FREQUENCY_LIMITED => {
            RefundResult::Unknown(format!(
                "WeChat Pay has not processed the refund yet ({code}: {des}); send it again with the same refund number"
            ))
        }
        "" => RefundResult::Unknown("WeChat Pay said FAIL without an err_code".into()),
        _ => RefundResult::Failed(Failure { code: code.to_owned(), message: refund_words(code, &des) }),
    }
}

pub(super) fn refund_words(code: &str, des: &str) -> String {
    let words = match code {
        err_code::NOTENOUGH => "商户可退余额不足 / the merchant account has too little balance for this refund",
        err_code::TRADE_OVERDUE => "订单已超过一年，不能退款 / the order is over a year old and cannot be refunded",
        err_code::ORDERNOTEXIST => "微信支付找不到该订单 / WeChat Pay does not know this order",
        err_code::USER_ACCOUNT_ABNORMAL => {
            "顾客账户异常，无法原路退回 / the customer's account cannot receive the refund"
        }
        err_code::INVALID_REQ_TOO_MUCH => "退款次数过多 / too many refunds on this order",
        err_code::PARAM_ERROR => "退款金额或参数有误 / the refund amount or details are not accepted",
        _ => "微信支付拒绝了退款 / WeChat Pay refused the refund",
    };
    if des.is_empty() { format!("{words} ({code})") } else { format!("{words} ({code}: {des})") }
}

pub(super) fn classify_refund_query(
    r: &RefundQueryResponse,
    out_trade_no: &str,
    out_request_no: &str,
) -> RefundQueryResult {
    if !r.head.is_success() {
        let (code, des) = err_of(&r.head);
        return if code == err_code::REFUNDNOTEXIST || code == err_code::ORDERNOTEXIST {
            RefundQueryResult::NotFound
        } else {
            RefundQueryResult::Unknown(format!("WeChat Pay could not answer the refund query ({code}: {des})"))
        };
    }
    let Some(result) = &r.result else {
        return RefundQueryResult::Unknown("WeChat Pay's refund query answer is empty".into());
    };
    if result.out_trade_no != out_trade_no {
        return RefundQueryResult::Unknown("WeChat Pay's answer is about a different order number".into());
    }
    match result.refunds.iter().find(|record| record.out_refund_no == out_request_no) {
        None => RefundQueryResult::NotFound,
        Some(record) => RefundQueryResult::Found(match record.refund_status {
            RefundStatus::Success => RefundState::Success,
            RefundStatus::Processing => RefundState::Processing,
            RefundStatus::RefundClose | RefundStatus::Change => RefundState::Failed,
        }),
    }
}

pub(super) fn pay_result_name(r: &PayResult) -> &'static str {
    match r {
        PayResult::Paid(_) => "paid",
        PayResult::Waiting(_) => "waiting",
        PayResult::Unknown(_) => "unknown",
        PayResult::Failed(_) => "failed",
    }
}

pub(super) fn query_result_name(r: &QueryResult) -> &'static str {
    match r {
        QueryResult::Paid(_) => "paid",
        QueryResult::Waiting(_) => "waiting",
        QueryResult::Closed(_) => "closed",
        QueryResult::NotFound => "not found",
        QueryResult::Unknown(_) => "unknown",
    }
}
