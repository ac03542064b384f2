//! The counter's words for what the core reports: an acquirer's refusal of a payment (the common codes phrased in
//! both languages, any other shown with its code and the acquirer's own message, marked as the acquirer's words), a
//! scan that is not a payment code, an amount that cannot be read, and the checkout's own errors. Free functions
//! returning [`Text`], kept in both languages and worded when drawn.

use crate::channel::Failure;
use crate::channel::auth_code::NotAPaymentCode;
use crate::checkout::CheckoutError;
use crate::i18n::Text;
use crate::money::AmountError;
use crate::routing::RouteError;

/// Why the acquirer refused a payment, for the cashier: what happened and what to do.
pub fn failure_reason(f: &Failure) -> Text {
    let code = f.code.trim();
    // TillDesk's own codes; the acquirers' codes are phrased once, in `acquirer_words`.
    let phrased = match code {
        "NOT_SENT" => Some(Text::new(
            "请求未发出（网络或设置问题），顾客未被扣款",
            "The request was not sent (network or settings): the customer was not charged",
        )),
        "NOT_AN_ALIPAY_CODE" => {
            Some(Text::new("这是微信付款码，不是支付宝付款码", "This is a WeChat Pay code, not an Alipay code"))
        }
        "NOT_A_PAYMENT_CODE" => Some(Text::new(
            "这不是付款码，请顾客打开付款码",
            "This is not a payment code: ask the customer to open their payment code",
        )),
        _ => crate::ui::acquirer_words::known(code),
    };
    match phrased {
        Some(words) => Text::new(format!("{}（{code}）", words.zh), format!("{} ({code})", words.en)),
        None => {
            let said = f.message.trim();
            let code = if code.is_empty() { "—" } else { code };
            Text::new(
                format!("支付机构拒绝了此次付款（{code}）。支付机构原话：「{said}」"),
                format!("The acquirer refused the payment ({code}). In the acquirer's words: “{said}”"),
            )
        }
    }
}

/// A scan that is not a payment code.
pub fn not_a_code_words(e: &NotAPaymentCode) -> Text {
    const HINT_ZH: &str = "请顾客打开支付宝或微信的付款码";
    const HINT_EN: &str = "ask the customer to open the payment code in Alipay or WeChat";
    match e {
        NotAPaymentCode::Empty => Text::new(
            format!("这不是付款码：没有扫到内容。{HINT_ZH}"),
            format!("This is not a payment code: nothing was scanned; {HINT_EN}"),
        ),
        NotAPaymentCode::Link { preview } => Text::new(
            format!("这不是付款码：扫到的是网址（{preview}），可能是店铺码或网站。{HINT_ZH}"),
            format!("This is not a payment code: a web link was scanned ({preview}); {HINT_EN}"),
        ),
        NotAPaymentCode::FaceToken => Text::new(
            format!("这不是付款码：扫到的是支付宝刷脸凭证。{HINT_ZH}"),
            format!("This is not a payment code: an Alipay face-payment token was scanned; {HINT_EN}"),
        ),
        NotAPaymentCode::Text { preview } => Text::new(
            format!("这不是付款码：扫到的是文字（{preview}），付款码只有数字。{HINT_ZH}"),
            format!(
                "This is not a payment code: text was scanned ({preview}), payment codes are digits only; {HINT_EN}"
            ),
        ),
        NotAPaymentCode::Digits { len, masked, looks_like } => {
            let (zh_like, en_like) = if looks_like.is_empty() {
                ("", "")
            } else {
                ("，像是商品条码", ", which looks like a product barcode")
            };
            Text::new(
                format!(
                    "这不是付款码：扫到 {len} 位数字（{masked}）{zh_like}。支付宝付款码以 25–30 开头、16–24 位，微信付款码以 10–15 开头、18 位。{HINT_ZH}"
                ),
                format!(
                    "This is not a payment code: a {len}-digit number was scanned ({masked}){en_like}. Alipay codes start with 25–30 and have 16–24 digits, WeChat Pay codes start with 10–15 and have 18; {HINT_EN}"
                ),
            )
        }
    }
}

/// An amount that cannot be charged as typed.
pub fn amount_words(e: &AmountError) -> Text {
    match e {
        AmountError::Empty => Text::new("请输入金额，例如 88.88", "Type the amount, like 88.88"),
        AmountError::Negative(t) => Text::new(
            format!("金额“{t}”是负数：金额不带符号，例如 88.88"),
            format!("The amount “{t}” is negative: amounts have no sign, like 88.88"),
        ),
        AmountError::TooManyDecimals(t) => Text::new(
            format!("金额“{t}”超过两位小数：最小单位是 0.01 元"),
            format!("The amount “{t}” has more than 2 decimals: the smallest unit is 0.01"),
        ),
        AmountError::InvalidCharacter { text, .. } | AmountError::Malformed(text) => Text::new(
            format!("“{text}”不是金额：请输入数字，例如 88.88"),
            format!("“{text}” is not an amount: type digits like 88.88"),
        ),
        AmountError::Overflow(t) => Text::new(format!("金额“{t}”太大"), format!("The amount “{t}” is too large")),
    }
}

/// Why the checkout could not take (or look at) a payment.
pub fn checkout_error_words(e: &CheckoutError) -> Text {
    match e {
        CheckoutError::NotAPaymentCode(n) => not_a_code_words(n),
        CheckoutError::Route(r) => route_words(r),
        CheckoutError::ZeroAmount => Text::new("金额必须大于 0.00", "The amount must be more than 0.00"),
        CheckoutError::AmountTooLarge { amount, max, wallet } => Text::new(
            format!("¥{amount} 超过{}单笔上限 ¥{max}", wallet.label(crate::i18n::Lang::ZhCn)),
            format!(
                "¥{amount} is more than {} takes in one payment (at most ¥{max})",
                wallet.label(crate::i18n::Lang::En)
            ),
        ),
        CheckoutError::Store(e) => store_words(e),
        CheckoutError::Busy(_) => {
            Text::new("另一笔收款正在进行，请稍候", "Another payment is in progress: please wait")
        }
    }
}

fn route_words(e: &RouteError) -> Text {
    use crate::i18n::Lang;
    match e {
        RouteError::NoRoute { store_code, wallet } => Text::new(
            format!("门店 {store_code} 未开通{}收款：请在“收单机构”中为其进件", wallet.label(Lang::ZhCn)),
            format!("{store_code} takes no {} codes: onboard it with an acquirer (Acquirers)", wallet.label(Lang::En)),
        ),
        RouteError::Unavailable { acquirer, .. } => Text::new(
            format!("收单机构 {acquirer} 在当前模式下未设置好：请检查“设置 → 收单通道与密钥”"),
            format!("{acquirer} is not set up for this mode: check Settings → Live channels and keys"),
        ),
        RouteError::NotAPaymentCode(n) => not_a_code_words(n),
        RouteError::Store(e) => store_words(e),
        other => {
            tracing::warn!("routing: {other}");
            Text::new("收款路由设置有误：请检查“收单机构”", "The payment routing is not set up right: check Acquirers")
        }
    }
}

/// A local database failure (the detail goes to the log).
pub fn store_words(e: &crate::store::StoreError) -> Text {
    tracing::warn!("checkout database: {e}");
    Text::new("本地数据库读写失败（详见日志）", "The local database failed (see the log)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn common_refusals_are_phrased_and_others_keep_the_acquirers_words() {
        for code in [
            "ACQ.PAYMENT_AUTH_CODE_INVALID",
            "ACQ.BUYER_BALANCE_NOT_ENOUGH",
            "AUTHCODEEXPIRE",
            "NOTENOUGH",
            "USERPAYING",
        ] {
            let t = failure_reason(&Failure { code: code.into(), message: "x / y".into() });
            assert!(!t.get(Lang::ZhCn).contains("x / y") && t.get(Lang::ZhCn).contains(code), "{t:?}");
            assert!(!t.get(Lang::En).contains("x / y"), "{t:?}");
        }
        let t = failure_reason(&Failure { code: "ACQ.SOMETHING_NEW".into(), message: "系统繁忙".into() });
        assert!(t.get(Lang::ZhCn).contains("支付机构原话") && t.get(Lang::ZhCn).contains("系统繁忙"));
        assert!(t.get(Lang::En).contains("acquirer's words") && t.get(Lang::En).contains("ACQ.SOMETHING_NEW"));
    }
}
