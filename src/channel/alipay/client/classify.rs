//! Classification of Alipay's verified answers, pure so that every documented code is unit-tested: pay, query,
//! cancel, refund, refund query and the bill link, each to the `Channel` result it means; the cashier's words for
//! each refusal; the checks that keep an order Alipay would refuse from being sent. Imports `channel` and `money`.

use super::super::wire::{
    self, BillDownloadUrlQueryResponse, CommonResponse, RefundQueryResponse, TradeCancelResponse, TradePayResponse,
    TradeQueryResponse, TradeRefundResponse, TradeStatus, code, sub_code,
};
use super::MAX_AMOUNT;
use crate::channel::auth_code::scrub_codes;
use crate::channel::{
    BillResult, CancelResult, Failure, PayResult, QueryResult, RefundQueryResult, RefundResult, RefundState, TradeInfo,
};
use crate::money::Amount;

pub(super) enum PayStep {
    Done(PayResult),
    /// ACQ.TRADE_HAS_SUCCESS: the order number is already paid; believe it once a query confirms.
    ConfirmByQuery,
}

pub(super) fn parse_amount_or_warn(field: &str, parsed: Result<Option<Amount>, wire::WireError>) -> Option<Amount> {
    parsed.unwrap_or_else(|e| {
        tracing::warn!(field, error = %e, "alipay sent an unreadable amount");
        None
    })
}

pub(super) fn pay_info(r: &TradePayResponse) -> TradeInfo {
    TradeInfo {
        trade_no: r.trade_no.clone(),
        amount: parse_amount_or_warn("total_amount", r.total_amount()),
        paid_at: r.gmt_payment.clone(),
        buyer: r.buyer_logon_id.clone(),
        currency: None,
        merchant_id: None,
    }
}

pub(super) fn query_info(r: &TradeQueryResponse) -> TradeInfo {
    TradeInfo {
        trade_no: r.trade_no.clone(),
        amount: parse_amount_or_warn("total_amount", r.total_amount()),
        paid_at: r.send_pay_date.clone(),
        buyer: r.buyer_logon_id.clone(),
        currency: None,
        merchant_id: None,
    }
}

pub(super) fn other_order(field: Option<&str>, out_trade_no: &str) -> bool {
    field.is_some_and(|f| !f.is_empty() && f != out_trade_no)
}

pub(super) fn classify_pay(r: &TradePayResponse, out_trade_no: &str) -> PayStep {
    let c = &r.common;
    if other_order(r.out_trade_no.as_deref(), out_trade_no) {
        return PayStep::Done(PayResult::Unknown(
            "Alipay's answer is about a different order number; the result is unknown".into(),
        ));
    }
    if c.is_success() {
        return PayStep::Done(PayResult::Paid(pay_info(r)));
    }
    if c.is_pay_in_progress() {
        return PayStep::Done(PayResult::Waiting(pay_info(r)));
    }
    if c.is_unknown_outcome() {
        return PayStep::Done(PayResult::Unknown(unknown_words(c)));
    }
    if c.code == code::BUSINESS_FAILED && c.sub_code.as_deref() == Some(sub_code::TRADE_HAS_SUCCESS) {
        return PayStep::ConfirmByQuery;
    }
    match refusal(c, pay_words) {
        Some(failure) => PayStep::Done(PayResult::Failed(failure)),
        None => PayStep::Done(PayResult::Unknown(format!(
            "Alipay answered with code {} ({}), which TillDesk does not know; the result is unknown",
            c.code,
            c.msg.trim()
        ))),
    }
}

pub(super) fn classify_query(r: &TradeQueryResponse, out_trade_no: &str) -> QueryResult {
    let c = &r.common;
    if c.is_success() {
        if other_order(r.out_trade_no.as_deref(), out_trade_no) {
            return QueryResult::Unknown("Alipay's answer is about a different order number".into());
        }
        return match r.status() {
            Some(s) if s.is_paid() => QueryResult::Paid(query_info(r)),
            Some(TradeStatus::WaitBuyerPay) => QueryResult::Waiting(query_info(r)),
            Some(TradeStatus::TradeClosed) => QueryResult::Closed(query_info(r)),
            _ => QueryResult::Unknown(format!(
                "Alipay reported the trade status {:?}, which TillDesk does not know",
                r.trade_status.as_deref().unwrap_or("")
            )),
        };
    }
    if c.code == code::BUSINESS_FAILED && c.sub_code.as_deref() == Some(sub_code::TRADE_NOT_EXIST) {
        return QueryResult::NotFound;
    }
    QueryResult::Unknown(failure_summary(c))
}

pub(super) fn classify_cancel(r: &TradeCancelResponse) -> CancelResult {
    let c = &r.common;
    if r.should_retry() {
        return CancelResult::Retry(if c.is_success() {
            "Alipay asks for the cancel to be sent again (retry_flag=Y)".into()
        } else {
            format!("Alipay asks for the cancel to be sent again (retry_flag=Y, {})", failure_summary(c))
        });
    }
    if c.is_success() {
        return CancelResult::Done { refunded: r.cancel_action() == Some(wire::CancelAction::Refund) };
    }
    if c.is_unknown_outcome() {
        // The documented answer to ACQ.SYSTEM_ERROR / 20000 on cancel is to call it again.
        return CancelResult::Retry(format!(
            "Alipay had a transient error; send the cancel again ({})",
            failure_summary(c)
        ));
    }
    match refusal(c, cancel_words) {
        Some(failure) => CancelResult::Failed(failure),
        None => CancelResult::Unknown(failure_summary(c)),
    }
}

pub(super) fn classify_refund(r: &TradeRefundResponse) -> RefundResult {
    let c = &r.common;
    if c.is_success() {
        return RefundResult::Accepted { state: RefundState::Success, refund_no: None };
    }
    if c.is_unknown_outcome() {
        return RefundResult::Unknown(format!(
            "Alipay had a transient error; send the refund again with the same refund number ({})",
            failure_summary(c)
        ));
    }
    match refusal(c, refund_words) {
        Some(failure) => RefundResult::Failed(failure),
        None => RefundResult::Unknown(failure_summary(c)),
    }
}

pub(super) fn classify_refund_query(r: &RefundQueryResponse) -> RefundQueryResult {
    let c = &r.common;
    if c.is_success() {
        return match r.refund_status.as_deref() {
            Some(wire::REFUND_SUCCESS) => RefundQueryResult::Found(RefundState::Success),
            None | Some("") => RefundQueryResult::NotFound,
            Some(other) => RefundQueryResult::Unknown(format!(
                "Alipay reported the refund status {other:?}, which TillDesk does not know"
            )),
        };
    }
    if c.code == code::BUSINESS_FAILED && c.sub_code.as_deref() == Some(sub_code::TRADE_NOT_EXIST) {
        return RefundQueryResult::NotFound;
    }
    RefundQueryResult::Unknown(failure_summary(c))
}

pub(super) fn classify_bill_url(r: &BillDownloadUrlQueryResponse) -> Result<reqwest::Url, BillResult> {
    let c = &r.common;
    if c.is_success() {
        let Some(url) = r.bill_download_url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Err(BillResult::Failed("Alipay gave no bill download address".into()));
        };
        return reqwest::Url::parse(url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| BillResult::Failed("Alipay's bill download address is not a web address".into()));
    }
    let sub = c.sub_code.as_deref().unwrap_or("");
    if sub.eq_ignore_ascii_case(sub_code::BILL_NOT_EXIST) || sub.to_ascii_uppercase().ends_with("BILL_NOT_EXIST") {
        return Err(BillResult::NoBill);
    }
    Err(BillResult::Failed(format!("Alipay did not give the bill: {}", failure_summary(c))))
}

/// `code sub_code: sub_msg` for logs and unknown results (auth codes in texts masked).
pub(super) fn failure_summary(c: &CommonResponse) -> String {
    let mut s = format!("{} {}", c.code, c.msg.trim());
    if let Some(sub) = &c.sub_code {
        s.push_str(&format!(", {sub}"));
    }
    if let Some(m) = c.sub_msg.as_deref().filter(|m| !m.is_empty()) {
        // isv.invalid-signature echoes the whole signed string (with the payment code): never repeat it.
        if c.code != code::INVALID_ARGUMENTS {
            s.push_str(&format!(": {}", scrub_codes(m)));
        }
    }
    s
}

pub(super) fn unknown_words(c: &CommonResponse) -> String {
    format!("Alipay could not say whether it went through ({}); query the order", failure_summary(c))
}

/// A definite refusal: a 40004 business failure in cashier words, or a gateway refusal that points at the settings.
/// `None` for codes that are not documented refusals.
pub(super) fn refusal(c: &CommonResponse, business: fn(&str) -> Option<&'static str>) -> Option<Failure> {
    let sub = c.sub_code.clone().unwrap_or_default();
    match c.code.as_str() {
        code::BUSINESS_FAILED => {
            let message = match business(&sub) {
                Some(words) => words.to_owned(),
                None => {
                    let detail = c.sub_msg.as_deref().map(scrub_codes).unwrap_or_else(|| sub.clone());
                    format!("支付宝拒绝了请求 / Alipay refused the request: {detail}")
                }
            };
            Some(Failure { code: if sub.is_empty() { c.code.clone() } else { sub }, message })
        }
        code::INSUFFICIENT_TOKEN_PERMISSIONS => Some(Failure {
            code: non_empty_or(sub, &c.code),
            message: "商户授权令牌无效或已过期 / the merchant's authorisation (app_auth_token) is invalid or expired: \
                      renew it in the Alipay settings"
                .into(),
        }),
        code::MISSING_ARGUMENTS | code::INVALID_ARGUMENTS => {
            let message = match sub.as_str() {
                sub_code::INVALID_SIGNATURE => {
                    "支付宝验签失败 / Alipay could not verify TillDesk's signature: the app \
                                                 private key in the settings does not match the app public key \
                                                 uploaded to Alipay"
                        .to_owned()
                }
                sub_code::INVALID_APP_ID => {
                    "支付宝不认识这个 app_id / Alipay does not know this app_id: check the Alipay settings".to_owned()
                }
                _ => format!(
                    "支付宝拒绝了请求参数 / Alipay refused the request as malformed ({sub}): check the Alipay settings"
                ),
            };
            Some(Failure { code: non_empty_or(sub, &c.code), message })
        }
        code::INSUFFICIENT_PERMISSIONS => Some(Failure {
            code: non_empty_or(sub, &c.code),
            message: "这个应用没有开通当面付 / this Alipay app may not take barcode payments: sign the 当面付 product \
                      in the Alipay console"
                .into(),
        }),
        _ => None,
    }
}

pub(super) fn non_empty_or(text: String, fallback: &str) -> String {
    if text.is_empty() { fallback.to_owned() } else { text }
}

/// trade.pay refusals in cashier words.
pub(super) fn pay_words(sub: &str) -> Option<&'static str> {
    Some(match sub {
        sub_code::BUYER_BALANCE_NOT_ENOUGH | sub_code::BUYER_BANKCARD_BALANCE_NOT_ENOUGH => {
            "余额不足 / the customer's balance is not enough"
        }
        sub_code::PAYMENT_AUTH_CODE_INVALID => {
            "付款码无效或已过期，请顾客刷新付款码 / the payment code is invalid or expired: ask the customer to refresh it"
        }
        sub_code::TRADE_HAS_CLOSE => "这笔订单已关闭，请重新收款 / this order was closed: start a new sale",
        sub_code::TRADE_BUYER_NOT_MATCH => {
            "这个订单号已由另一位顾客支付 / this order number was paid by another customer: start a new sale"
        }
        sub_code::BUYER_SELLER_EQUAL => {
            "顾客和商户是同一个支付宝账户 / the customer's and the merchant's Alipay accounts are the same"
        }
        sub_code::TOTAL_FEE_EXCEED => "金额超出限额 / the amount is above Alipay's limit",
        sub_code::PAYMENT_FAIL | "ACQ.PULL_MOBILE_CASHIER_FAIL" | "ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE" => {
            "支付失败，请顾客换一种付款方式 / the payment failed: ask the customer to pay another way"
        }
        sub_code::PAYMENT_REQUEST_HAS_RISK => {
            "支付宝风控拒绝了这笔支付 / Alipay refused this payment for risk reasons: ask the customer to pay another way"
        }
        "ACQ.BUYER_ENABLE_STATUS_FORBID" => {
            "顾客的支付宝账户不可用 / the customer's Alipay account is restricted: ask the customer to pay another way"
        }
        "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR"
        | "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR"
        | "ACQ.BEYOND_PAY_RESTRICTION"
        | "ACQ.BEYOND_PER_RECEIPT_RESTRICTION" => {
            "超出顾客的支付限额 / the customer has reached a payment limit: ask the customer to pay another way"
        }
        "ACQ.ERROR_BALANCE_PAYMENT_DISABLE" => {
            "顾客关闭了余额支付 / the customer has turned off balance payments: ask the customer to choose another \
             funding source"
        }
        "ACQ.MOBILE_PAYMENT_SWITCH_OFF" | "ACQ.USER_FACE_PAYMENT_SWITCH_OFF" => {
            "顾客关闭了付款码支付 / the customer has turned off payment codes in Alipay"
        }
        "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT" => {
            "顾客未完成实名认证 / the customer's Alipay account is not verified (实名认证) and cannot pay yet"
        }
        "ACQ.SELLER_BEEN_BLOCKED" => "商户的支付宝账户被限制收款 / the merchant's Alipay account may not take payments",
        sub_code::INVALID_STORE_ID => "门店编号无效 / the store id (store_id) is not valid: check the store settings",
        sub_code::ACCESS_FORBIDDEN
        | "ACQ.PARTNER_ERROR"
        | "ACQ.SUB_MERCHANT_CREATE_FAIL"
        | "ACQ.SUB_MERCHANT_TYPE_INVALID" => {
            "商户没有当面付权限 / the merchant may not take barcode payments: check the Alipay contract"
        }
        sub_code::EXIST_FORBIDDEN_WORD => "商品名称含有违禁词 / the item name contains a forbidden word: change it",
        sub_code::CONTEXT_INCONSISTENT => {
            "订单号已用于不同内容的交易 / this order number was used with different details: start a new sale"
        }
        sub_code::INVALID_PARAMETER => {
            "支付宝认为请求参数无效 / Alipay found the request invalid: check the amount and the order details"
        }
        _ => return None,
    })
}

/// trade.cancel refusals in plain words.
pub(super) fn cancel_words(sub: &str) -> Option<&'static str> {
    Some(match sub {
        sub_code::TRADE_CANCEL_TIME_OUT => "已超过撤销期限 / the payment is too old to cancel: refund it instead",
        sub_code::CANCEL_NOT_ALLOWED | sub_code::TRADE_HAS_FINISHED => {
            "这笔交易不能撤销 / Alipay does not allow this payment to be cancelled: refund it instead"
        }
        sub_code::REASON_TRADE_REFUND_FEE_ERR => {
            "这笔交易已有退款，不能撤销 / this payment was already (partly) refunded and cannot be cancelled"
        }
        sub_code::REASON_TRADE_BEEN_FREEZEN => "交易被冻结，不能撤销 / Alipay has frozen this payment",
        sub_code::SELLER_BALANCE_NOT_ENOUGH => {
            "商户余额不足，无法退回 / the merchant's Alipay balance is too low to return the money"
        }
        sub_code::TRADE_NOT_EXIST => "交易不存在 / Alipay has no such trade",
        sub_code::INVALID_PARAMETER => "支付宝认为请求参数无效 / Alipay found the request invalid",
        _ => return None,
    })
}

/// trade.refund refusals in plain words.
pub(super) fn refund_words(sub: &str) -> Option<&'static str> {
    Some(match sub {
        sub_code::REFUND_AMT_NOT_EQUAL_TOTAL => {
            "退款金额超过可退金额 / the refund is more than what can still be refunded on this payment"
        }
        sub_code::DISCORDANT_REPEAT_REQUEST => {
            "这个退款单号已用于不同的金额 / this refund number was already used for a different amount"
        }
        sub_code::SELLER_BALANCE_NOT_ENOUGH => {
            "商户余额不足 / the merchant's Alipay balance is not enough for this refund"
        }
        sub_code::TRADE_NOT_EXIST => "交易不存在 / Alipay has no such trade",
        sub_code::TRADE_STATUS_ERROR => "交易未支付或已关闭 / the payment is not paid or already closed",
        sub_code::TRADE_HAS_FINISHED | sub_code::TRADE_NOT_ALLOW_REFUND => {
            "这笔交易已不能退款 / this payment can no longer be refunded"
        }
        sub_code::REASON_TRADE_BEEN_FREEZEN => "交易被冻结，不能退款 / Alipay has frozen this payment",
        sub_code::REASON_TRADE_REFUND_FEE_ERR => "退款金额无效 / the refund amount is not valid",
        sub_code::INVALID_PARAMETER => "支付宝认为请求参数无效 / Alipay found the refund request invalid",
        _ => return None,
    })
}

/// Checks what Alipay would refuse anyway, before anything is sent.
pub(super) fn check_order(out_trade_no: &str, amount: Amount, subject: &str) -> Option<Failure> {
    let out = out_trade_no.trim();
    if out.is_empty() || out.len() > 64 || out != out_trade_no {
        return Some(Failure {
            code: "NOT_SENT".into(),
            message: "订单号无效 / the order number (out_trade_no) must be 1 to 64 characters without spaces".into(),
        });
    }
    if amount.fen() <= 0 || amount > MAX_AMOUNT {
        return Some(Failure {
            code: "NOT_SENT".into(),
            message: format!("金额无效 / the amount {amount} is not between 0.01 and 100000000"),
        });
    }
    if subject.trim().is_empty() {
        return Some(Failure {
            code: "NOT_SENT".into(),
            message: "订单标题为空 / the sale has no description (subject)".into(),
        });
    }
    None
}

pub(super) fn log_pay(out_trade_no: &str, result: &PayResult) {
    match result {
        PayResult::Paid(info) => {
            tracing::info!(%out_trade_no, trade_no = ?info.trade_no, "alipay pay: paid")
        }
        PayResult::Waiting(_) => tracing::info!(%out_trade_no, "alipay pay: waiting for the customer"),
        PayResult::Unknown(reason) => tracing::warn!(%out_trade_no, %reason, "alipay pay: result unknown"),
        PayResult::Failed(f) => tracing::info!(%out_trade_no, code = %f.code, "alipay pay: refused"),
    }
}

pub(super) fn result_name_query(result: &QueryResult) -> &'static str {
    match result {
        QueryResult::Paid(_) => "paid",
        QueryResult::Waiting(_) => "waiting",
        QueryResult::Closed(_) => "closed",
        QueryResult::NotFound => "not found",
        QueryResult::Unknown(_) => "unknown",
    }
}
