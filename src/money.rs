//! Money as integer minor units (fen for CNY). Parsed from and formatted to "88.88" only at the edges.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An amount in minor units (fen for CNY). Never negative once parsed from outside; arithmetic is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(i64);

/// Why a text is not an amount. Messages are for a cashier or a clerk reading a form or a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount is empty: expected a number like 88.88")]
    Empty,
    #[error("amount {0:?} is negative: amounts are written without a sign, like 88.88")]
    Negative(String),
    #[error("amount {0:?} has more than 2 decimal places: the smallest unit is 0.01 (1 fen)")]
    TooManyDecimals(String),
    #[error("amount {text:?} is not a number: unexpected {found:?} at position {position}; expected digits like 88.88")]
    InvalidCharacter { text: String, found: char, position: usize },
    #[error("amount {0:?} is not a number: expected digits like 88.88")]
    Malformed(String),
    #[error("amount {0:?} is too large: the largest amount is 92233720368547758.07")]
    Overflow(String),
}

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// An amount from minor units (fen).
    pub const fn from_fen(fen: i64) -> Self {
        Amount(fen)
    }

    /// The amount in minor units (fen).
    pub const fn fen(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses "88.88", "88.8", "88" or "0.01". Rejects signs, more than two decimals, anything but digits and one
    /// dot, and values that do not fit in i64 fen.
    pub fn parse(text: &str) -> Result<Self, AmountError> {
        let s = text.trim();
        if s.is_empty() {
            return Err(AmountError::Empty);
        }
        if s.starts_with('-') {
            return Err(AmountError::Negative(s.to_owned()));
        }
        if let Some((position, found)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit() && *c != '.') {
            return Err(AmountError::InvalidCharacter { text: s.to_owned(), found, position: position + 1 });
        }
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if frac.contains('.') || whole.is_empty() || (s.contains('.') && frac.is_empty()) {
            return Err(AmountError::Malformed(s.to_owned()));
        }
        if frac.len() > 2 {
            return Err(AmountError::TooManyDecimals(s.to_owned()));
        }
        let overflow = || AmountError::Overflow(s.to_owned());
        let whole: i64 = whole.parse().map_err(|_| overflow())?;
        let mut frac_fen: i64 = 0;
        for (i, d) in frac.bytes().enumerate() {
            let digit = i64::from(d - b'0');
            frac_fen += if i == 0 { digit * 10 } else { digit };
        }
        whole.checked_mul(100).and_then(|w| w.checked_add(frac_fen)).map(Amount).ok_or_else(overflow)
    }

    /// Like [`Amount::parse`] but accepts a leading minus, as bill files write refunds ("-0.01").
    pub fn parse_signed(text: &str) -> Result<Self, AmountError> {
        let s = text.trim();
        match s.strip_prefix('-') {
            Some(rest) => Amount::parse(rest).map(|a| Amount(-a.0)),
            None => Amount::parse(s),
        }
    }

    /// "88.88": always two decimals, no thousands separator (the form the gateways and bill files use).
    pub fn format(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

/// ISO 4217 currencies TillDesk handles. CNY is the default; all of these have 2 minor digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Currency {
    #[default]
    CNY,
    HKD,
    MOP,
    SGD,
    MYR,
    THB,
    USD,
}

impl Currency {
    pub const ALL: [Currency; 7] =
        [Currency::CNY, Currency::HKD, Currency::MOP, Currency::SGD, Currency::MYR, Currency::THB, Currency::USD];

    /// The ISO 4217 alphabetic code ("CNY").
    pub fn code(self) -> &'static str {
        match self {
            Currency::CNY => "CNY",
            Currency::HKD => "HKD",
            Currency::MOP => "MOP",
            Currency::SGD => "SGD",
            Currency::MYR => "MYR",
            Currency::THB => "THB",
            Currency::USD => "USD",
        }
    }

    /// The ISO 4217 numeric code, as EMVCo tag 53 carries it ("156" for CNY).
    pub fn numeric(self) -> &'static str {
        match self {
            Currency::CNY => "156",
            Currency::HKD => "344",
            Currency::MOP => "446",
            Currency::SGD => "702",
            Currency::MYR => "458",
            Currency::THB => "764",
            Currency::USD => "840",
        }
    }

    pub fn from_code(code: &str) -> Option<Currency> {
        Currency::ALL.into_iter().find(|c| c.code().eq_ignore_ascii_case(code.trim()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(Amount::parse("88.88"), Ok(Amount::from_fen(8888)));
        assert_eq!(Amount::parse("88.8"), Ok(Amount::from_fen(8880)));
        assert_eq!(Amount::parse("88"), Ok(Amount::from_fen(8800)));
        assert_eq!(Amount::parse("0.01"), Ok(Amount::from_fen(1)));
        assert_eq!(Amount::parse(" 1.00 "), Ok(Amount::from_fen(100)));
        assert_eq!(Amount::parse("92233720368547758.07"), Ok(Amount::from_fen(i64::MAX)));
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        assert_eq!(Amount::parse("1.234"), Err(AmountError::TooManyDecimals("1.234".into())));
        assert_eq!(Amount::parse("-1"), Err(AmountError::Negative("-1".into())));
        assert!(matches!(Amount::parse("abc"), Err(AmountError::InvalidCharacter { found: 'a', position: 1, .. })));
        assert!(matches!(Amount::parse("1,00"), Err(AmountError::InvalidCharacter { found: ',', position: 2, .. })));
        assert_eq!(Amount::parse(""), Err(AmountError::Empty));
        assert_eq!(Amount::parse("1."), Err(AmountError::Malformed("1.".into())));
        assert_eq!(Amount::parse(".5"), Err(AmountError::Malformed(".5".into())));
        assert_eq!(Amount::parse("1.2.3"), Err(AmountError::Malformed("1.2.3".into())));
        assert_eq!(Amount::parse("92233720368547758.08"), Err(AmountError::Overflow("92233720368547758.08".into())));
        assert_eq!(
            Amount::parse("99999999999999999999999"),
            Err(AmountError::Overflow("99999999999999999999999".into()))
        );
        let msg = Amount::parse("1.234").unwrap_err().to_string();
        assert!(msg.contains("1.234") && msg.contains("2 decimal"), "{msg}");
    }

    #[test]
    fn bills_may_carry_negative_amounts() {
        assert_eq!(Amount::parse_signed("-0.01"), Ok(Amount::from_fen(-1)));
        assert_eq!(Amount::parse_signed("6.00"), Ok(Amount::from_fen(600)));
        assert!(Amount::parse_signed("--1").is_err());
    }

    #[test]
    fn formats_with_two_decimals() {
        assert_eq!(Amount::from_fen(8888).format(), "88.88");
        assert_eq!(Amount::from_fen(1).format(), "0.01");
        assert_eq!(Amount::from_fen(100).format(), "1.00");
        assert_eq!(Amount::from_fen(-150).format(), "-1.50");
        assert_eq!(Amount::ZERO.format(), "0.00");
    }

    #[test]
    fn currency_defaults_to_cny() {
        assert_eq!(Currency::default(), Currency::CNY);
        assert_eq!(Currency::CNY.numeric(), "156");
        assert_eq!(Currency::from_code("hkd"), Some(Currency::HKD));
        assert_eq!(Currency::from_code("XXX"), None);
    }

    proptest! {
        #[test]
        fn format_of_parse_is_identity(whole in 0i64..=92_233_720_368_547_757, frac in 0u8..100) {
            let text = format!("{whole}.{frac:02}");
            prop_assert_eq!(Amount::parse(&text).map(Amount::format), Ok(text));
        }

        #[test]
        fn parse_of_format_is_identity(fen in 0i64..=i64::MAX) {
            let a = Amount::from_fen(fen);
            prop_assert_eq!(Amount::parse(&a.format()), Ok(a));
        }

        #[test]
        fn never_panics(text in "\\PC{0,24}") {
            let _ = Amount::parse(&text);
        }
    }
}
