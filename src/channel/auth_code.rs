//! Which wallet a scanned payment code (付款码) belongs to, and how it may be shown in logs.
//!
//! Codes are routed by their documented formats only: Alipay `^(2[5-9]|30)\d{14,22}$` (prefix 25–30, 16–24
//! digits), WeChat Pay `^1[0-5]\d{16}$` (prefix 10–15, exactly 18 digits). Anything else is refused here, before
//! any request leaves the till, with a message the cashier can act on.
//!
//! A payment code is money in the customer's pocket for about a minute: it is never logged or stored in full. Use
//! [`mask_auth_code`] ("280000******0105") wherever it has to appear.

/// A scanned payment code (付款码), as the cashier's scanner sent it, trimmed. It is money in the customer's pocket:
/// `Debug` and `Display` show it masked ([`mask_auth_code`]), the memory is wiped when it is dropped, and
/// [`AuthCode::expose`] is the one way to the full code, for the request to the acquirer.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthCode(zeroize::Zeroizing<String>);

impl AuthCode {
    /// The code, with the scanner's CR/LF/TAB and spaces trimmed.
    pub fn new(code: &str) -> Self {
        AuthCode(zeroize::Zeroizing::new(code.trim().to_owned()))
    }

    /// The full code, for the wire (and for telling its wallet). Never log it.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// The form that may be shown, stored and logged: "280000******0105".
    pub fn masked(&self) -> String {
        mask_auth_code(self.expose())
    }
}

impl From<&str> for AuthCode {
    fn from(code: &str) -> Self {
        AuthCode::new(code)
    }
}

impl From<String> for AuthCode {
    fn from(code: String) -> Self {
        let code = zeroize::Zeroizing::new(code);
        AuthCode::new(&code)
    }
}

impl std::fmt::Debug for AuthCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuthCode({:?})", self.masked())
    }
}

impl std::fmt::Display for AuthCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Which wallet issued a payment code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeOwner {
    /// Prefix 25–30, 16–24 digits.
    Alipay,
    /// Prefix 10–15, exactly 18 digits.
    Wechat,
}

/// A scan that is not a customer's payment code. The message says, in Chinese and English, what was scanned and
/// what to do instead; it never repeats a long number in full.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAPaymentCode {
    #[error("这不是付款码 / this is not a payment code: nothing was scanned. {HINT}")]
    Empty,
    #[error(
        "这不是付款码 / this is not a payment code: a web link was scanned ({preview}), probably a store code or a \
         website. {HINT}"
    )]
    Link { preview: String },
    #[error(
        "这不是付款码 / this is not a payment code: an Alipay face-payment token was scanned; TillDesk takes the \
         barcode from the customer's app. {HINT}"
    )]
    FaceToken,
    #[error(
        "这不是付款码 / this is not a payment code: text was scanned ({preview}), but payment codes are digits \
         only. {HINT}"
    )]
    Text { preview: String },
    #[error(
        "这不是付款码 / this is not a payment code: a {len}-digit number was scanned ({masked}){looks_like}; Alipay \
         codes start with 25–30 and have 16–24 digits, WeChat Pay codes start with 10–15 and have 18 digits. {HINT}"
    )]
    Digits {
        len: usize,
        /// The number, masked like an auth code when it is long.
        masked: String,
        /// ", which looks like a product barcode" or empty.
        looks_like: &'static str,
    },
}

const HINT: &str = "请顾客打开支付宝或微信的付款码 / ask the customer to open the payment code in Alipay or WeChat";

/// Trims what the scanner sent (scanners end with CR/LF or TAB) and says whose payment code it is.
pub fn route_auth_code(code: &str) -> Result<CodeOwner, NotAPaymentCode> {
    let code = code.trim();
    if code.is_empty() {
        return Err(NotAPaymentCode::Empty);
    }
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        let lower = code.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") || lower.contains("://") {
            return Err(NotAPaymentCode::Link { preview: preview(code) });
        }
        if lower.starts_with("fp") && code.chars().count() == 35 {
            return Err(NotAPaymentCode::FaceToken);
        }
        return Err(NotAPaymentCode::Text { preview: preview(code) });
    }
    let len = code.len();
    // All ASCII digits, so byte slicing is safe.
    let prefix: u32 = code.get(..2).and_then(|p| p.parse().ok()).unwrap_or(0);
    match (prefix, len) {
        (25..=30, 16..=24) => Ok(CodeOwner::Alipay),
        (10..=15, 18) => Ok(CodeOwner::Wechat),
        _ => {
            let looks_like = if matches!(len, 8 | 12 | 13 | 14) { ", which looks like a product barcode" } else { "" };
            Err(NotAPaymentCode::Digits { len, masked: mask_auth_code(code), looks_like })
        }
    }
}

/// The form of a payment code that may be stored and logged: the first 6 and last 4 characters kept, the rest
/// replaced by `*` ("2800000000000105" → "280000******0105"). Codes of 10 characters or fewer keep only their first
/// 2 (so that a short code is never shown whole).
pub fn mask_auth_code(code: &str) -> String {
    let chars: Vec<char> = code.trim().chars().collect();
    let n = chars.len();
    let (head, tail) = if n > 10 { (6, 4) } else { (n.min(2).min(n.saturating_sub(1)), 0) };
    chars.iter().enumerate().map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' }).collect()
}

/// Masks every run of 16 or more digits in a text from an acquirer (a message may echo the payment code).
pub(crate) fn scrub_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 16 {
            out.push_str(&mask_auth_code(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// At most 32 characters of a scanned text, for a message.
fn preview(text: &str) -> String {
    let mut out: String = text.chars().take(32).collect();
    if text.chars().count() > 32 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_formats_are_routed() {
        assert_eq!(route_auth_code("28763443825664394"), Ok(CodeOwner::Alipay));
        assert_eq!(route_auth_code("2500000000000000"), Ok(CodeOwner::Alipay), "16 digits, prefix 25");
        assert_eq!(route_auth_code("301234567890123456789012"), Ok(CodeOwner::Alipay), "24 digits, prefix 30");
        assert_eq!(route_auth_code(" 2800000000000105\r\n"), Ok(CodeOwner::Alipay), "scanner suffixes trimmed");
        assert_eq!(route_auth_code("134567890123456789"), Ok(CodeOwner::Wechat));
        assert_eq!(route_auth_code("100000000000000000"), Ok(CodeOwner::Wechat));
        assert_eq!(route_auth_code("150000000000000000\t"), Ok(CodeOwner::Wechat));
    }

    #[test]
    fn near_misses_are_refused() {
        for code in [
            "250000000000000",           // 15 digits
            "3012345678901234567890123", // 25 digits
            "310000000000000000",        // prefix 31
            "240000000000000000",        // prefix 24
            "1345678901234567890",       // WeChat, 19 digits
            "13456789012345678",         // WeChat, 17 digits
            "160000000000000000",        // prefix 16
            "090000000000000000",
            "２８００００００００００００１０５", // full-width digits
        ] {
            assert!(route_auth_code(code).is_err(), "{code}");
        }
    }

    #[test]
    fn refusals_explain_what_was_scanned_in_both_languages() {
        let e = route_auth_code("6901234567892").unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("这不是付款码 / this is not a payment code: a 13-digit number"), "{text}");
        assert!(text.contains("product barcode") && text.contains("ask the customer"), "{text}");
        assert!(!text.contains("6901234567892"), "long numbers are masked: {text}");

        let e = route_auth_code("https://qr.alipay.com/bax01234").unwrap_err();
        assert!(matches!(e, NotAPaymentCode::Link { .. }));
        assert!(e.to_string().contains("web link"), "{e}");

        assert_eq!(route_auth_code("  \r\n"), Err(NotAPaymentCode::Empty));
        assert!(route_auth_code("").unwrap_err().to_string().contains("nothing was scanned"));

        let e = route_auth_code("hello world").unwrap_err();
        assert!(e.to_string().contains("digits only"), "{e}");
        let e = route_auth_code(&format!("fp{}", "a".repeat(33))).unwrap_err();
        assert_eq!(e, NotAPaymentCode::FaceToken);

        let long_text = "x".repeat(100);
        let e = route_auth_code(&long_text).unwrap_err();
        assert!(e.to_string().len() < 400, "previews are short: {e}");
    }

    #[test]
    fn masking_keeps_six_and_four() {
        assert_eq!(mask_auth_code("2800000000000105"), "280000******0105");
        assert_eq!(mask_auth_code("130000000000000105"), "130000********0105");
        assert_eq!(mask_auth_code(" 28763443825664394 "), "287634*******4394");
        assert_eq!(mask_auth_code("12345678901"), "123456*8901");
        assert_eq!(mask_auth_code("1234567890"), "12********");
        assert_eq!(mask_auth_code("12"), "1*");
        assert_eq!(mask_auth_code("1"), "*");
        assert_eq!(mask_auth_code(""), "");
        assert_eq!(mask_auth_code("付款码付款码付款码付款码"), "付款码付款码**码付款码");
    }

    #[test]
    fn an_auth_code_shows_only_masked() {
        let code = AuthCode::from(" 2800000000000105\r\n");
        assert_eq!(code.expose(), "2800000000000105");
        assert_eq!(code.to_string(), "280000******0105");
        assert_eq!(format!("{code:?}"), "AuthCode(\"280000******0105\")");
        assert_eq!(format!("{:#?}", Some(code.clone())).matches("2800000000000105").count(), 0);
        assert_eq!(AuthCode::from(String::from("130000000000000105")).masked(), "130000********0105");
    }

    #[test]
    fn a_pay_request_and_a_payment_input_never_show_the_full_code() {
        let request = crate::channel::PayRequest {
            out_trade_no: "o1".into(),
            auth_code: "2876344382566439".into(),
            amount: crate::money::Amount::from_fen(100),
            subject: "coffee".into(),
            store_id: None,
            terminal_id: None,
            operator_id: None,
        };
        // What the cashier typed, as the checkout engine takes it.
        let input = crate::checkout::PaymentInput {
            amount: crate::money::Amount::from_fen(100),
            auth_code: "2876344382566439".into(),
            subject: "coffee".into(),
            store_id: crate::model::StoreId(1),
            operator_id: None,
            terminal_id: None,
        };
        for shown in [format!("{request:?}"), format!("{request:#?}"), format!("{input:?}")] {
            assert!(!shown.contains("2876344382566439"), "{shown}");
            assert!(shown.contains("287634******6439"), "{shown}");
        }
        assert_eq!(request.auth_code.expose(), "2876344382566439", "the wire gets the full code");
    }

    #[test]
    fn long_digit_runs_are_scrubbed_from_texts() {
        assert_eq!(scrub_codes("code 2800000000000105 used"), "code 280000******0105 used");
        assert_eq!(scrub_codes("可退 1234 分"), "可退 1234 分");
        assert_eq!(scrub_codes("130000000000000105"), "130000********0105");
    }
}
