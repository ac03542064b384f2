//! The field rules of EMVCo MPM: each data object's name, character set and length, and the checks of amounts,
//! percentages, countries, languages and consumer data requests built on them.

use super::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Charset {
    /// `N`: digits.
    Digits,
    /// `ans`: the EMV common character set, taken as printable ASCII (0x20–0x7E).
    Ans,
    /// `S`: any Unicode except control characters.
    Any,
}

#[derive(Clone, Copy)]
pub(super) struct Rule {
    pub(super) field: &'static str,
    pub(super) charset: Charset,
    pub(super) min: usize,
    pub(super) max: usize,
    pub(super) hint: &'static str,
}

pub(super) const LATIN_HINT: &str = " (put a Chinese name or city in the language template, tag 64)";

pub(super) const fn rule(field: &'static str, charset: Charset, min: usize, max: usize) -> Rule {
    Rule { field, charset, min, max, hint: "" }
}

pub(super) const PAYLOAD_FORMAT: Rule = rule("payload format indicator", Charset::Digits, 2, 2);
pub(super) const POINT_OF_INITIATION: Rule = rule("point of initiation method", Charset::Digits, 2, 2);
pub(super) const ACCOUNT_PRIMITIVE: Rule = rule("merchant account information", Charset::Ans, 1, 99);
pub(super) const ACCOUNT_TEMPLATE: Rule = rule("merchant account template", Charset::Any, 1, 99);
pub(super) const GUI: Rule = rule("globally unique identifier", Charset::Ans, 1, 32);
pub(super) const TEMPLATE_FIELD: Rule = rule("template field", Charset::Any, 1, 99);
pub(super) const MCC: Rule = rule("merchant category code", Charset::Digits, 4, 4);
pub(super) const CURRENCY: Rule = rule("transaction currency", Charset::Digits, 3, 3);
pub(super) const AMOUNT: Rule = rule("transaction amount", Charset::Ans, 1, 13);
pub(super) const TIP: Rule = rule("tip or convenience indicator", Charset::Digits, 2, 2);
pub(super) const FEE_FIXED: Rule = rule("convenience fee fixed", Charset::Ans, 1, 13);
pub(super) const FEE_PERCENTAGE: Rule = rule("convenience fee percentage", Charset::Ans, 1, 5);
pub(super) const COUNTRY: Rule = rule("country code", Charset::Ans, 2, 2);
pub(super) const MERCHANT_NAME: Rule = Rule { hint: LATIN_HINT, ..rule("merchant name", Charset::Ans, 1, 25) };
pub(super) const MERCHANT_CITY: Rule = Rule { hint: LATIN_HINT, ..rule("merchant city", Charset::Ans, 1, 15) };
pub(super) const POSTAL_CODE: Rule = rule("postal code", Charset::Ans, 1, 10);
pub(super) const ADDITIONAL_DATA: Rule = rule("additional data", Charset::Any, 1, 99);
pub(super) const CONSUMER_DATA_REQUEST: Rule = rule("additional consumer data request", Charset::Ans, 1, 3);
pub(super) const ADDITIONAL_OTHER: Rule = rule("additional data field", Charset::Any, 1, 99);
pub(super) const LANGUAGE_TEMPLATE: Rule = rule("language template", Charset::Any, 1, 99);
pub(super) const LANGUAGE: Rule = rule("language preference", Charset::Ans, 2, 2);
pub(super) const ALT_NAME: Rule = rule("merchant name in the alternate language", Charset::Any, 1, 25);
pub(super) const ALT_CITY: Rule = rule("merchant city in the alternate language", Charset::Any, 1, 15);
pub(super) const UNRESERVED: Rule = rule("unreserved template", Charset::Any, 1, 99);
pub(super) const CRC_FIELD: Rule = rule("CRC", Charset::Ans, 4, 4);

/// Additional data (tag 62) sub-objects 01–08: all `ans`, at most 25 characters.
pub(super) const ADDITIONAL_NAMES: [&str; 8] = [
    "bill number",
    "mobile number",
    "store label",
    "loyalty number",
    "reference label",
    "customer label",
    "terminal label",
    "purpose of transaction",
];

impl Rule {
    pub(super) fn check(&self, tag: &str, value: &str, position: Option<usize>) -> Result<(), MpmError> {
        let fail = |problem| Err(MpmError::InvalidField { field: self.field, tag: tag.to_owned(), position, problem });
        let chars = value.chars().count();
        if chars == 0 {
            return fail(FieldProblem::Empty);
        }
        if self.min == self.max && chars != self.min {
            return fail(FieldProblem::WrongLength { chars, expected: self.min });
        }
        if chars > self.max {
            return fail(FieldProblem::TooLong { chars, max: self.max });
        }
        for (i, c) in value.chars().enumerate() {
            let index = i + 1;
            match self.charset {
                Charset::Digits if !c.is_ascii_digit() => return fail(FieldProblem::NotDigits { found: c, index }),
                Charset::Ans if !(' '..='~').contains(&c) => {
                    return fail(FieldProblem::NotAns { found: c, index, hint: self.hint });
                }
                Charset::Any if c.is_control() => return fail(FieldProblem::ControlCharacter { index }),
                _ => {}
            }
        }
        Ok(())
    }

    pub(super) fn invalid(&self, tag: &str, value: &str, expected: &'static str, position: Option<usize>) -> MpmError {
        MpmError::InvalidField {
            field: self.field,
            tag: tag.to_owned(),
            position,
            problem: FieldProblem::Invalid { value: value.to_owned(), expected },
        }
    }

    pub(super) fn missing(&self, tag: &str, problem: FieldProblem) -> MpmError {
        MpmError::InvalidField { field: self.field, tag: tag.to_owned(), position: None, problem }
    }
}

/// Reads an EMVCo amount ("23.72", "100.5", "98."): digits with at most one decimal point, at most 2 decimals
/// (all TillDesk currencies have 2 minor digits), not zero.
pub(super) fn parse_amount(rule: &Rule, tag: &str, text: &str, position: Option<usize>) -> Result<Amount, MpmError> {
    rule.check(tag, text, position)?;
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let well_formed = whole.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(whole.is_empty() && frac.is_empty());
    if !well_formed {
        return Err(rule.invalid(tag, text, "digits with at most one decimal point, such as 23.72", position));
    }
    if frac.len() > 2 {
        return Err(rule.invalid(tag, text, "at most 2 decimal places", position));
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().unwrap_or(0) };
    let frac_fen: i64 = frac.bytes().zip([10, 1]).map(|(b, scale)| i64::from(b - b'0') * scale).sum();
    let fen = whole * 100 + frac_fen; // at most 13 characters: cannot overflow
    if fen == 0 {
        return Err(rule.invalid(tag, text, "an amount above zero", position));
    }
    Ok(Amount::from_fen(fen))
}

pub(super) fn format_amount(rule: &Rule, tag: &str, amount: Amount, spelled: Option<&str>) -> Result<String, MpmError> {
    if amount.fen() <= 0 {
        return Err(rule.invalid(tag, &amount.format(), "an amount above zero", None));
    }
    if let Some(text) = spelled.filter(|t| parse_amount(rule, tag, t, None).ok() == Some(amount)) {
        return Ok(text.to_owned());
    }
    let text = amount.format();
    rule.check(tag, &text, None)?;
    Ok(text)
}

/// "00.01"–"99.99": digits with at most one decimal point and 2 decimals, above zero, below 100.
pub(super) fn check_percentage(tag: &str, text: &str, position: Option<usize>) -> Result<(), MpmError> {
    FEE_PERCENTAGE.check(tag, text, position)?;
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let ok = whole.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 2
        && whole.len() <= 2
        && !(whole.is_empty() && frac.is_empty())
        && text.bytes().any(|b| (b'1'..=b'9').contains(&b));
    if ok { Ok(()) } else { Err(FEE_PERCENTAGE.invalid(tag, text, "a percentage from 00.01 to 99.99", position)) }
}

pub(super) fn check_country(text: &str, position: Option<usize>) -> Result<(), MpmError> {
    COUNTRY.check("58", text, position)?;
    if text.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(COUNTRY.invalid("58", text, "an ISO 3166-1 two-letter code in capitals, such as CN", position))
    }
}

pub(super) fn check_language(tag: &str, text: &str, position: Option<usize>) -> Result<(), MpmError> {
    LANGUAGE.check(tag, text, position)?;
    if text.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(LANGUAGE.invalid(tag, text, "an ISO 639 two-letter language code, such as ZH", position))
    }
}

pub(super) fn check_consumer_data_request(tag: &str, text: &str, position: Option<usize>) -> Result<(), MpmError> {
    CONSUMER_DATA_REQUEST.check(tag, text, position)?;
    let mut seen = [false; 3];
    for c in text.chars() {
        let slot = match c {
            'A' => 0,
            'M' => 1,
            'E' => 2,
            _ => return Err(CONSUMER_DATA_REQUEST.invalid(tag, text, "letters A, M, E, each at most once", position)),
        };
        if std::mem::replace(&mut seen[slot], true) {
            return Err(CONSUMER_DATA_REQUEST.invalid(tag, text, "letters A, M, E, each at most once", position));
        }
    }
    Ok(())
}
