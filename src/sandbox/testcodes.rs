//! Test payment codes: valid-format auth codes whose last four digits choose what the customer's wallet does.
//!
//! The last four digits are `BBNN`: `BB` picks the behaviour, `NN` is its parameter (seconds). Everything else
//! about the code is free, so a cashier can type any digits in the middle. See docs/SANDBOX.md for the table.

use std::time::Duration;

/// Which wallet issued a payment code, by its documented format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOwner {
    /// 25–30 prefix, 16–24 digits.
    Alipay,
    /// 10–15 prefix, 18 digits.
    Wechat,
}

/// Reads the documented payment-code formats: Alipay `^(2[5-9]|30)\d{14,22}$`, WeChat `^1[0-5]\d{16}$`.
pub fn code_owner(auth_code: &str) -> Option<CodeOwner> {
    if !auth_code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u32 = auth_code.get(..2)?.parse().ok()?;
    match (prefix, auth_code.len()) {
        (25..=30, 16..=24) => Some(CodeOwner::Alipay),
        (10..=15, 18) => Some(CodeOwner::Wechat),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// `00` (and any unlisted value): paid at once.
    Success,
    /// `01`: the customer must enter a password (10003 / USERPAYING) and pays after `NN` seconds.
    PasswordThenPays(Duration),
    /// `02`: the customer must enter a password and never does.
    PasswordNeverPays,
    /// `03`: insufficient balance.
    InsufficientBalance,
    /// `04`: the code has expired or is invalid.
    CodeExpired,
    /// `05`: the acquirer answers with a system error, but the charge went through (a query finds it paid).
    SystemErrorThenPaid,
    /// `06`: the code was already used.
    AlreadyUsed,
}

pub fn behaviour(auth_code: &str) -> Behaviour {
    let n = auth_code.len();
    let (Some(bb), Some(nn)) = (auth_code.get(n.saturating_sub(4)..n - 2), auth_code.get(n.saturating_sub(2)..)) else {
        return Behaviour::Success;
    };
    let seconds: u64 = nn.parse().unwrap_or(0);
    match bb {
        "01" => Behaviour::PasswordThenPays(Duration::from_secs(seconds)),
        "02" => Behaviour::PasswordNeverPays,
        "03" => Behaviour::InsufficientBalance,
        "04" => Behaviour::CodeExpired,
        "05" => Behaviour::SystemErrorThenPaid,
        "06" => Behaviour::AlreadyUsed,
        _ => Behaviour::Success,
    }
}

/// Example codes for the docs and tests: `example(CodeOwner::Alipay, "0105")` pays after 5 s of password entry.
pub fn example(owner: CodeOwner, suffix: &str) -> String {
    match owner {
        CodeOwner::Alipay => format!("28{:0>14}", suffix),
        CodeOwner::Wechat => format!("13{:0>16}", suffix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_documents() {
        assert_eq!(code_owner("28763443825664394"), Some(CodeOwner::Alipay));
        assert_eq!(code_owner("301234567890123456789012"), Some(CodeOwner::Alipay));
        assert_eq!(code_owner("134567890123456789"), Some(CodeOwner::Wechat));
        assert_eq!(code_owner("1345678901234567890"), None, "WeChat codes are exactly 18 digits");
        assert_eq!(code_owner("241234567890123456"), None);
        assert_eq!(code_owner("28abc"), None);
        assert_eq!(code_owner(""), None);
    }

    #[test]
    fn suffixes_pick_behaviours() {
        assert_eq!(behaviour(&example(CodeOwner::Alipay, "0000")), Behaviour::Success);
        assert_eq!(behaviour(&example(CodeOwner::Wechat, "0107")), Behaviour::PasswordThenPays(Duration::from_secs(7)));
        assert_eq!(behaviour(&example(CodeOwner::Alipay, "0200")), Behaviour::PasswordNeverPays);
        assert_eq!(behaviour(&example(CodeOwner::Alipay, "0600")), Behaviour::AlreadyUsed);
        assert_eq!(code_owner(&example(CodeOwner::Alipay, "0105")), Some(CodeOwner::Alipay));
        assert_eq!(code_owner(&example(CodeOwner::Wechat, "0105")), Some(CodeOwner::Wechat));
    }
}
