//! The acquirers' failure codes in the cashier's words. Alipay and WeChat Pay answer a refused payment or refund
//! with a code ("ACQ.BUYER_BALANCE_NOT_ENOUGH", "NOTENOUGH") and their own text, always in Chinese; the order's
//! timeline keeps both ("code: text"). The UI phrases the common codes in both languages and shows any other code
//! as the code plus the acquirer's own text, marked as the acquirer's words.

use crate::i18n::Text;

/// (code, 中文, English) for the codes a till meets.
const WORDS: &[(&str, &str, &str)] = &[
    // Alipay (alipay.trade.pay / refund sub_code)
    (
        "ACQ.PAYMENT_AUTH_CODE_INVALID",
        "付款码无效或已过期，请顾客刷新付款码后重新扫码",
        "The payment code is invalid or has expired: ask the customer to refresh it and scan again",
    ),
    (
        "ACQ.BUYER_BALANCE_NOT_ENOUGH",
        "顾客余额不足，请顾客更换付款方式",
        "The customer's balance is too low: ask them to pay another way",
    ),
    (
        "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH",
        "顾客余额不足，请顾客更换付款方式",
        "The customer's balance is too low: ask them to pay another way",
    ),
    (
        "ACQ.ERROR_BALANCE_PAYMENT_DISABLE",
        "顾客的余额支付已关闭",
        "The customer has turned off paying from the balance",
    ),
    ("ACQ.BUYER_SELLER_EQUAL", "买家和卖家是同一账户", "The buyer and the seller are the same account"),
    ("ACQ.TRADE_BUYER_NOT_MATCH", "付款的顾客与订单不符", "The paying customer does not match the order"),
    (
        "ACQ.BUYER_ENABLE_STATUS_FORBID",
        "顾客的账户暂不能付款，请顾客更换付款方式",
        "The customer's account cannot pay now: ask them to pay another way",
    ),
    (
        "ACQ.PAYMENT_FAIL",
        "顾客的付款额度已用完或付款失败，请顾客更换付款方式",
        "The customer's payment limit is reached or the payment failed: ask them to pay another way",
    ),
    (
        "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR",
        "顾客的付款额度已用完或付款失败，请顾客更换付款方式",
        "The customer's payment limit is reached or the payment failed: ask them to pay another way",
    ),
    (
        "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR",
        "顾客的付款额度已用完或付款失败，请顾客更换付款方式",
        "The customer's payment limit is reached or the payment failed: ask them to pay another way",
    ),
    (
        "ACQ.PULL_MOBILE_CASHIER_FAIL",
        "顾客手机上的收银台打不开，请重试",
        "The customer's phone could not open the payment: try again",
    ),
    ("ACQ.TRADE_HAS_CLOSE", "该订单已关闭，请重新收款", "This order is closed: start a new payment"),
    ("ACQ.TRADE_HAS_SUCCESS", "交易已支付", "The trade is already paid"),
    ("ACQ.TOTAL_FEE_EXCEED", "金额超出限制，请核对金额", "The amount is over the limit: check the amount"),
    ("ACQ.SYSTEM_ERROR", "支付宝系统繁忙，请稍后查询", "Alipay is busy: check the order again shortly"),
    ("ACQ.INVALID_PARAMETER", "请求参数有误", "The request had a wrong field"),
    ("ACQ.ACCESS_FORBIDDEN", "商户无权使用此接口", "The merchant may not use this service"),
    ("ACQ.EXIST_FORBIDDEN_WORD", "商品名称含有禁用词", "The item name contains a forbidden word"),
    ("ACQ.PARTNER_ERROR", "服务商信息有误", "The service provider's details are wrong"),
    ("ACQ.CONTEXT_INCONSISTENT", "同一订单号的交易信息不一致", "The same order number was sent with different details"),
    ("ACQ.TRADE_NOT_EXIST", "交易不存在", "The trade does not exist"),
    ("ACQ.REASON_TRADE_BEEN_FREEZEN", "交易已被冻结", "The trade is frozen"),
    ("ACQ.SELLER_BALANCE_NOT_ENOUGH", "金额超出限制，请核对金额", "The amount is over the limit: check the amount"),
    ("ACQ.TRADE_NOT_ALLOW_REFUND", "该交易不允许退款", "This trade may not be refunded"),
    (
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
        "同一退款单号的金额不一致",
        "The same refund number was sent with a different amount",
    ),
    ("ACQ.REFUND_FEE_ERROR", "退款金额有误", "The refund amount is wrong"),
    // WeChat Pay (micropay / refund err_code)
    (
        "AUTHCODEEXPIRE",
        "付款码已过期，请顾客刷新后再扫",
        "The payment code has expired: ask the customer to refresh it",
    ),
    (
        "AUTH_CODE_ERROR",
        "付款码无效或已使用，请顾客刷新",
        "The payment code is invalid or used: ask the customer to refresh it",
    ),
    ("AUTH_CODE_INVALID", "这不是有效的微信付款码", "This is not a valid WeChat payment code"),
    (
        "NOTENOUGH",
        "顾客余额不足，请顾客换卡或更换付款方式",
        "The customer's balance is too low: ask for another card or way to pay",
    ),
    ("NOTSUPORTCARD", "不支持该卡，请顾客换卡", "This card is not supported: ask the customer to choose another"),
    ("ORDERPAID", "订单已支付", "The order is already paid"),
    ("ORDERCLOSED", "该订单已关闭或撤销，请重新收款", "This order was closed or reversed: start a new payment"),
    ("ORDERREVERSED", "该订单已关闭或撤销，请重新收款", "This order was closed or reversed: start a new payment"),
    ("USERPAYING", "顾客正在输入密码，请稍候", "The customer is entering the password: please wait"),
    (
        "BUYER_MISMATCH",
        "付款人与上次不同，请重新收款",
        "A different customer paid this order before: start a new payment",
    ),
    ("OUT_TRADE_NO_USED", "商户订单号重复", "The order number was used before"),
    ("TRADE_ERROR", "交易有误（顾客账户可能异常）", "The trade was refused (the customer's account may be restricted)"),
    ("ORDERNOTEXIST", "订单不存在", "The order does not exist"),
    ("REFUNDNOTEXIST", "退款不存在", "The refund does not exist"),
    ("SYSTEMERROR", "微信支付系统繁忙，请稍后查询", "WeChat Pay is busy: check the order again shortly"),
    ("BANKERROR", "银行系统异常，请稍后查询", "The bank's system failed: check the order again shortly"),
    ("PARAM_ERROR", "请求参数有误", "The request had a wrong field"),
    ("NOAUTH", "商户无权使用此接口", "The merchant may not use this service"),
    ("INVALID_REQUEST", "请求无效", "The request is not valid"),
    ("FREQUENCY_LIMITED", "请求过于频繁，请稍后再试", "Too many requests: try again shortly"),
    ("SIGNERROR", "签名错误，请检查密钥", "The signature is wrong: check the keys"),
    ("LACK_PARAMS", "请求缺少参数", "The request misses a field"),
    ("NOT_ENOUGH", "商户账户余额不足，无法退款", "The merchant's balance is not enough for the refund"),
    // The counter's phrasing of the codes a payment meets most (what happened and what to do).
    (
        "ACQ.AUTH_CODE_INVALID",
        "付款码无效或已过期，请顾客刷新付款码后重新扫码",
        "The payment code is invalid or has expired: ask the customer to refresh it and scan again",
    ),
    ("ACQ.TRADE_HAS_FINISHED", "该订单已关闭，请重新收款", "This order is closed: start a new payment"),
    (
        "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT",
        "顾客的账户暂不能付款，请顾客更换付款方式",
        "The customer's account cannot pay now: ask them to pay another way",
    ),
    (
        "USER_ACCOUNT_ABNORMAL",
        "顾客账户异常，请顾客更换付款方式",
        "The customer's account cannot pay: ask them to pay another way",
    ),
];

/// The code in both languages, when it is one of the common ones.
pub fn known(code: &str) -> Option<Text> {
    let code = code.trim();
    WORDS.iter().find(|(c, _, _)| c.eq_ignore_ascii_case(code)).map(|(_, zh, en)| Text::new(*zh, *en))
}

/// The acquirer's reason for a failure: the common codes phrased (the code after them), any other as the code and
/// the acquirer's own text, marked as theirs.
pub fn reason(code: &str, message: &str) -> Text {
    if let Some(words) = known(code) {
        return Text::new(format!("{}（{code}）", words.zh), format!("{} ({code})", words.en));
    }
    let message = message.trim();
    if message.is_empty() {
        return Text::new(format!("收单机构代码 {code}"), format!("Acquirer's code {code}"));
    }
    Text::new(format!("{code}（收单机构原话：{message}）"), format!("{code} (the acquirer's words: {message})"))
}

/// The reason recorded as "code: text" on a timeline (or as an error message), phrased; None when it is not a code.
pub fn from_detail(detail: &str) -> Option<Text> {
    crate::store::order_query::AcquirerFailure::from_detail(detail).map(|f| reason(&f.code, &f.message))
}

/// A wallet's name as a cashier says it.
pub fn wallet_name(kind: crate::model::AcquirerKind, lang: crate::i18n::Lang) -> &'static str {
    match kind {
        crate::model::AcquirerKind::Alipay => lang.pick("支付宝", "Alipay"),
        crate::model::AcquirerKind::WechatPay => lang.pick("微信支付", "WeChat Pay"),
        crate::model::AcquirerKind::AlipayPlus => "Alipay+",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn common_codes_are_phrased_and_others_kept_as_the_acquirers_words() {
        let t = from_detail("ACQ.BUYER_BALANCE_NOT_ENOUGH: 顾客余额不足").unwrap();
        assert_eq!(
            t.get(Lang::En),
            "The customer's balance is too low: ask them to pay another way (ACQ.BUYER_BALANCE_NOT_ENOUGH)"
        );
        assert!(t.get(Lang::ZhCn).starts_with("顾客余额不足"));
        let odd = from_detail("ACQ.SOMETHING_NEW: 新的错误").unwrap();
        assert_eq!(odd.get(Lang::En), "ACQ.SOMETHING_NEW (the acquirer's words: 新的错误)");
        assert_eq!(
            known("notenough").map(|t| t.en),
            Some("The customer's balance is too low: ask for another card or way to pay".into())
        );
        assert!(WORDS.iter().all(|(c, zh, en)| !c.is_empty() && !zh.is_empty() && !en.is_empty()));
    }
}
