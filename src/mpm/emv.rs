//! EMVCo QRCPS merchant-presented mode (MPM v1.0) payloads: a generic TLV layer and a typed payload model.
//!
//! Rules applied (see `/work/shared/research/mpm-cds.md` §1): ID = 2 digits, LEN = 2 digits counting
//! **characters** (not bytes), value 1–99 characters; `00` first, `63` last; every ID once per level; CRC-16/
//! CCITT-FALSE over the UTF-8 bytes up to and including `"6304"`, written as 4 uppercase hex digits.
//!
//! EMVCo lets objects appear in any order (except `00` and `63`). [`encode`] writes a fixed canonical order
//! unless the payload carries a [`Layout`] recorded by [`decode`], so a decoded code re-encodes byte for byte.

use std::fmt::Write as _;

use super::crc::crc_hex;
use super::error::{FieldProblem, MpmError};
use crate::money::{Amount, Currency};

/// The longest payload EMVCo recommends (§4.1), in characters.
pub const MAX_PAYLOAD_CHARS: usize = 512;

// ---------------------------------------------------------------------------------------------------------------
// Generic TLV layer

/// One data object: a 2-digit ID and its value. The length is not stored: it is the value's character count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    pub tag: u8,
    pub value: String,
}

impl Tlv {
    pub fn new(tag: u8, value: impl Into<String>) -> Self {
        Tlv { tag, value: value.into() }
    }
}

/// Splits a payload (or a template's value) into its data objects, in order. Structure only: no CRC or field
/// rules. Errors give the 1-based character position of the object.
pub fn parse_tlv(text: &str) -> Result<Vec<Tlv>, MpmError> {
    Ok(scan(text, 1, None, &EMV_GRAMMAR)?
        .into_iter()
        .map(|o| Tlv { tag: o.id.parse().unwrap_or_default(), value: o.value })
        .collect())
}

/// Writes data objects in the order given. Each ID must be 00–99 and each value 1–99 characters.
pub fn encode_tlv(objects: &[Tlv]) -> Result<String, MpmError> {
    let mut out = String::new();
    for o in objects {
        if o.tag > 99 {
            return Err(MpmError::InvalidField {
                field: "data object",
                tag: o.tag.to_string(),
                position: None,
                problem: FieldProblem::Invalid { value: o.tag.to_string(), expected: "an ID from 00 to 99" },
            });
        }
        check_object_len("data object", &format!("{:02}", o.tag), &o.value)?;
        push(&mut out, o.tag, &o.value);
    }
    Ok(out)
}

/// Appends `6304` and the CRC of everything before it, including `6304`.
pub fn append_crc(body: &mut String) {
    body.push_str("6304");
    let crc = crc_hex(body.as_bytes());
    body.push_str(&crc);
}

/// Checks that `payload` ends with `6304` + 4 hex digits and that they match the CRC of the rest. Lowercase hex is
/// accepted when reading.
pub fn verify_crc(payload: &str) -> Result<(), MpmError> {
    let len = payload.len();
    if len < 8 || !payload.is_char_boundary(len - 8) {
        return Err(MpmError::MissingCrc);
    }
    let (head, tail) = payload.split_at(len - 8);
    let found = &tail[4..];
    if !tail.starts_with("6304") || !found.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(MpmError::MissingCrc);
    }
    let computed = crc_hex(format!("{head}6304").as_bytes());
    if !computed.eq_ignore_ascii_case(found) {
        return Err(MpmError::CrcMismatch { found: found.to_owned(), computed });
    }
    Ok(())
}

/// Which kind of identifiers and lengths a TLV level uses (EMVCo: 2 + 2; Alipay+ general payload: 4 + 3).
pub(super) struct Grammar {
    pub id_len: usize,
    pub id_digits_only: bool,
    pub len_digits: usize,
    pub id_expected: &'static str,
}

pub(super) const EMV_GRAMMAR: Grammar =
    Grammar { id_len: 2, id_digits_only: true, len_digits: 2, id_expected: "a two-digit data object ID (00–99)" };

/// One object as read, with its 1-based character positions.
pub(super) struct Scanned {
    pub position: usize,
    pub id: String,
    pub value: String,
    pub value_position: usize,
}

/// Reads a run of ID-LEN-VALUE objects. `base` is the character position of `text` in the whole code and
/// `parent` the enclosing template's tag, for messages ("62/03").
pub(super) fn scan(text: &str, base: usize, parent: Option<&str>, g: &Grammar) -> Result<Vec<Scanned>, MpmError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let position = base + i;
        let id: String = chars[i..(i + g.id_len).min(chars.len())].iter().collect();
        let id_ok = id.chars().count() == g.id_len
            && id.chars().all(|c| {
                if g.id_digits_only { c.is_ascii_digit() } else { c.is_ascii_uppercase() || c.is_ascii_digit() }
            });
        if !id_ok {
            return Err(MpmError::BadTag { position, found: id, expected: g.id_expected });
        }
        let tag = path(parent, &id);
        i += g.id_len;
        let len_text: String = chars[i..(i + g.len_digits).min(chars.len())].iter().collect();
        let declared = if len_text.len() == g.len_digits && len_text.bytes().all(|b| b.is_ascii_digit()) {
            len_text.parse::<usize>().unwrap_or(0)
        } else {
            0
        };
        if declared == 0 {
            return Err(MpmError::BadLength { position, tag, found: len_text, digits: g.len_digits });
        }
        i += g.len_digits;
        let available = chars.len() - i;
        if declared > available {
            return Err(MpmError::Truncated { position, tag, declared, available });
        }
        let value: String = chars[i..i + declared].iter().collect();
        out.push(Scanned { position, id, value, value_position: base + i });
        i += declared;
    }
    Ok(out)
}

fn path(parent: Option<&str>, id: &str) -> String {
    match parent {
        Some(p) => format!("{p}/{id}"),
        None => id.to_owned(),
    }
}

fn push(out: &mut String, tag: u8, value: &str) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{tag:02}{:02}{value}", value.chars().count());
}

fn check_object_len(field: &'static str, tag: &str, value: &str) -> Result<(), MpmError> {
    let chars = value.chars().count();
    let problem = if chars == 0 {
        FieldProblem::Empty
    } else if chars > 99 {
        FieldProblem::TooLong { chars, max: 99 }
    } else {
        return Ok(());
    };
    Err(MpmError::InvalidField { field, tag: tag.to_owned(), position: None, problem })
}

// ---------------------------------------------------------------------------------------------------------------
// Field rules

#[derive(Clone, Copy, PartialEq, Eq)]
enum Charset {
    /// `N`: digits.
    Digits,
    /// `ans`: the EMV common character set, taken as printable ASCII (0x20–0x7E).
    Ans,
    /// `S`: any Unicode except control characters.
    Any,
}

#[derive(Clone, Copy)]
struct Rule {
    field: &'static str,
    charset: Charset,
    min: usize,
    max: usize,
    hint: &'static str,
}

const LATIN_HINT: &str = " (put a Chinese name or city in the language template, tag 64)";

const fn rule(field: &'static str, charset: Charset, min: usize, max: usize) -> Rule {
    Rule { field, charset, min, max, hint: "" }
}

const PAYLOAD_FORMAT: Rule = rule("payload format indicator", Charset::Digits, 2, 2);
const POINT_OF_INITIATION: Rule = rule("point of initiation method", Charset::Digits, 2, 2);
const ACCOUNT_PRIMITIVE: Rule = rule("merchant account information", Charset::Ans, 1, 99);
const ACCOUNT_TEMPLATE: Rule = rule("merchant account template", Charset::Any, 1, 99);
const GUI: Rule = rule("globally unique identifier", Charset::Ans, 1, 32);
const TEMPLATE_FIELD: Rule = rule("template field", Charset::Any, 1, 99);
const MCC: Rule = rule("merchant category code", Charset::Digits, 4, 4);
const CURRENCY: Rule = rule("transaction currency", Charset::Digits, 3, 3);
const AMOUNT: Rule = rule("transaction amount", Charset::Ans, 1, 13);
const TIP: Rule = rule("tip or convenience indicator", Charset::Digits, 2, 2);
const FEE_FIXED: Rule = rule("convenience fee fixed", Charset::Ans, 1, 13);
const FEE_PERCENTAGE: Rule = rule("convenience fee percentage", Charset::Ans, 1, 5);
const COUNTRY: Rule = rule("country code", Charset::Ans, 2, 2);
const MERCHANT_NAME: Rule = Rule { hint: LATIN_HINT, ..rule("merchant name", Charset::Ans, 1, 25) };
const MERCHANT_CITY: Rule = Rule { hint: LATIN_HINT, ..rule("merchant city", Charset::Ans, 1, 15) };
const POSTAL_CODE: Rule = rule("postal code", Charset::Ans, 1, 10);
const ADDITIONAL_DATA: Rule = rule("additional data", Charset::Any, 1, 99);
const CONSUMER_DATA_REQUEST: Rule = rule("additional consumer data request", Charset::Ans, 1, 3);
const ADDITIONAL_OTHER: Rule = rule("additional data field", Charset::Any, 1, 99);
const LANGUAGE_TEMPLATE: Rule = rule("language template", Charset::Any, 1, 99);
const LANGUAGE: Rule = rule("language preference", Charset::Ans, 2, 2);
const ALT_NAME: Rule = rule("merchant name in the alternate language", Charset::Any, 1, 25);
const ALT_CITY: Rule = rule("merchant city in the alternate language", Charset::Any, 1, 15);
const UNRESERVED: Rule = rule("unreserved template", Charset::Any, 1, 99);
const CRC_FIELD: Rule = rule("CRC", Charset::Ans, 4, 4);

/// Additional data (tag 62) sub-objects 01–08: all `ans`, at most 25 characters.
const ADDITIONAL_NAMES: [&str; 8] = [
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
    fn check(&self, tag: &str, value: &str, position: Option<usize>) -> Result<(), MpmError> {
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

    fn invalid(&self, tag: &str, value: &str, expected: &'static str, position: Option<usize>) -> MpmError {
        MpmError::InvalidField {
            field: self.field,
            tag: tag.to_owned(),
            position,
            problem: FieldProblem::Invalid { value: value.to_owned(), expected },
        }
    }

    fn missing(&self, tag: &str, problem: FieldProblem) -> MpmError {
        MpmError::InvalidField { field: self.field, tag: tag.to_owned(), position: None, problem }
    }
}

/// Reads an EMVCo amount ("23.72", "100.5", "98."): digits with at most one decimal point, at most 2 decimals
/// (all TillDesk currencies have 2 minor digits), not zero.
fn parse_amount(rule: &Rule, tag: &str, text: &str, position: Option<usize>) -> Result<Amount, MpmError> {
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

fn format_amount(rule: &Rule, tag: &str, amount: Amount, spelled: Option<&str>) -> Result<String, MpmError> {
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
fn check_percentage(tag: &str, text: &str, position: Option<usize>) -> Result<(), MpmError> {
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

fn check_country(text: &str, position: Option<usize>) -> Result<(), MpmError> {
    COUNTRY.check("58", text, position)?;
    if text.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(COUNTRY.invalid("58", text, "an ISO 3166-1 two-letter code in capitals, such as CN", position))
    }
}

fn check_language(tag: &str, text: &str, position: Option<usize>) -> Result<(), MpmError> {
    LANGUAGE.check(tag, text, position)?;
    if text.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(LANGUAGE.invalid(tag, text, "an ISO 639 two-letter language code, such as ZH", position))
    }
}

fn check_consumer_data_request(tag: &str, text: &str, position: Option<usize>) -> Result<(), MpmError> {
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

// ---------------------------------------------------------------------------------------------------------------
// Typed model

/// Tag 01: whether the same code is shown for many payments or a new one for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointOfInitiation {
    /// "11": the same code for many transactions (a printed store code).
    Static,
    /// "12": a new code for each transaction.
    Dynamic,
}

impl PointOfInitiation {
    pub fn code(self) -> &'static str {
        match self {
            PointOfInitiation::Static => "11",
            PointOfInitiation::Dynamic => "12",
        }
    }
}

/// The value of a merchant account object: primitive for IDs 02–25, a template for 26–51.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountValue {
    /// IDs 02–25 (card networks, EMVCo): one `ans` value.
    Primitive(String),
    /// IDs 26–51: sub-objects in order; sub `00` is the Globally Unique Identifier that gives them meaning.
    Template(Vec<(u8, String)>),
}

/// Merchant Account Information (tags 02–51).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantAccount {
    pub id: u8,
    pub value: AccountValue,
}

impl MerchantAccount {
    pub fn template(id: u8, fields: Vec<(u8, String)>) -> Self {
        MerchantAccount { id, value: AccountValue::Template(fields) }
    }

    pub fn primitive(id: u8, value: impl Into<String>) -> Self {
        MerchantAccount { id, value: AccountValue::Primitive(value.into()) }
    }

    /// Sub-object 00 of a template.
    pub fn gui(&self) -> Option<&str> {
        self.field(0)
    }

    /// A sub-object of a template.
    pub fn field(&self, sub: u8) -> Option<&str> {
        match &self.value {
            AccountValue::Template(fields) => find(fields, sub),
            AccountValue::Primitive(_) => None,
        }
    }
}

/// A template whose sub-object `00` is a Globally Unique Identifier: unreserved templates (80–99) and the
/// payment-system templates inside the additional data (62/50–99).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuiTemplate {
    pub id: u8,
    pub fields: Vec<(u8, String)>,
}

impl GuiTemplate {
    pub fn gui(&self) -> Option<&str> {
        find(&self.fields, 0)
    }

    pub fn field(&self, sub: u8) -> Option<&str> {
        find(&self.fields, sub)
    }
}

fn find(fields: &[(u8, String)], sub: u8) -> Option<&str> {
    fields.iter().find(|(id, _)| *id == sub).map(|(_, v)| v.as_str())
}

/// Tags 55–57.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tip {
    /// 55 = "01": the app asks the payer for a tip.
    PromptPayer,
    /// 55 = "02" with 56: a fixed convenience fee.
    FixedFee(Amount),
    /// 55 = "03" with 57: a percentage convenience fee as written ("3.5", "00.01"–"99.99", no "%").
    PercentageFee(String),
}

/// Additional Data Field Template (tag 62). Empty means "no tag 62".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdditionalData {
    /// 01
    pub bill_number: Option<String>,
    /// 02
    pub mobile_number: Option<String>,
    /// 03: the store the code belongs to.
    pub store_label: Option<String>,
    /// 04
    pub loyalty_number: Option<String>,
    /// 05
    pub reference_label: Option<String>,
    /// 06
    pub customer_label: Option<String>,
    /// 07: the till or stand.
    pub terminal_label: Option<String>,
    /// 08
    pub purpose_of_transaction: Option<String>,
    /// 09: any of "A" (address), "M" (mobile), "E" (email), each at most once.
    pub consumer_data_request: Option<String>,
    /// IDs 00 and 10–49, which EMVCo v1.0 leaves for future use, kept verbatim in the order read (v1.1 is
    /// reported to assign 10 and 11; unverified).
    pub other: Vec<(u8, String)>,
    /// IDs 50–99: payment-system specific templates.
    pub payment_system_templates: Vec<GuiTemplate>,
}

impl AdditionalData {
    pub fn is_empty(&self) -> bool {
        *self == AdditionalData::default()
    }

    fn labels(&self) -> [&Option<String>; 8] {
        [
            &self.bill_number,
            &self.mobile_number,
            &self.store_label,
            &self.loyalty_number,
            &self.reference_label,
            &self.customer_label,
            &self.terminal_label,
            &self.purpose_of_transaction,
        ]
    }

    fn label_mut(&mut self, id: u8) -> Option<&mut Option<String>> {
        Some(match id {
            1 => &mut self.bill_number,
            2 => &mut self.mobile_number,
            3 => &mut self.store_label,
            4 => &mut self.loyalty_number,
            5 => &mut self.reference_label,
            6 => &mut self.customer_label,
            7 => &mut self.terminal_label,
            8 => &mut self.purpose_of_transaction,
            _ => return None,
        })
    }
}

/// Merchant Information—Language Template (tag 64): the name (and city) in another language, e.g. Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageTemplate {
    /// 00: ISO 639 code, e.g. "ZH".
    pub language: String,
    /// 01: at most 25 characters, any script.
    pub merchant_name: String,
    /// 02: at most 15 characters, any script.
    pub merchant_city: Option<String>,
}

/// How a decoded payload spelt things that do not change its meaning: the order of objects (root, 62, 64) and the
/// spelling of amounts ("100.5" rather than "100.50"). Empty (the default) means canonical: [`encode`] writes
/// 00, 01, merchant accounts in list order, 52–62, 64, unreserved templates in list order, 63, sub-objects in
/// ascending order, and amounts with two decimals. Only [`decode`] fills it in, and only where the text differed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    root: Vec<u8>,
    additional_data: Vec<u8>,
    language: Vec<u8>,
    amount_text: Option<String>,
    fee_text: Option<String>,
}

impl Layout {
    pub fn is_canonical(&self) -> bool {
        *self == Layout::default()
    }
}

/// An EMVCo merchant-presented payload. Equality includes the [`Layout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmvPayload {
    /// Tag 01 (optional).
    pub point_of_initiation: Option<PointOfInitiation>,
    /// Tags 02–51: at least one.
    pub merchant_accounts: Vec<MerchantAccount>,
    /// Tag 52: ISO 18245, 4 digits.
    pub mcc: String,
    /// Tag 53: ISO 4217 numeric, 3 digits ("156").
    pub currency: String,
    /// Tag 54: absent means the payer's app asks for the amount.
    pub amount: Option<Amount>,
    /// Tags 55–57.
    pub tip: Option<Tip>,
    /// Tag 58: ISO 3166-1 alpha-2.
    pub country: String,
    /// Tag 59: at most 25 characters, Latin only.
    pub merchant_name: String,
    /// Tag 60: at most 15 characters, Latin only.
    pub merchant_city: String,
    /// Tag 61: at most 10 characters.
    pub postal_code: Option<String>,
    /// Tag 62.
    pub additional_data: AdditionalData,
    /// Tag 64.
    pub language_template: Option<LanguageTemplate>,
    /// Tags 80–99.
    pub unreserved_templates: Vec<GuiTemplate>,
    pub layout: Layout,
}

impl EmvPayload {
    /// A static payload with the mandatory fields and no merchant account yet.
    pub fn new(
        mcc: impl Into<String>,
        currency: Currency,
        country: impl Into<String>,
        merchant_name: impl Into<String>,
        merchant_city: impl Into<String>,
    ) -> Self {
        EmvPayload {
            point_of_initiation: Some(PointOfInitiation::Static),
            merchant_accounts: Vec::new(),
            mcc: mcc.into(),
            currency: currency.numeric().to_owned(),
            amount: None,
            tip: None,
            country: country.into(),
            merchant_name: merchant_name.into(),
            merchant_city: merchant_city.into(),
            postal_code: None,
            additional_data: AdditionalData::default(),
            language_template: None,
            unreserved_templates: Vec::new(),
            layout: Layout::default(),
        }
    }

    /// The transaction currency, if TillDesk knows it.
    pub fn currency_code(&self) -> Option<Currency> {
        Currency::ALL.into_iter().find(|c| c.numeric() == self.currency)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/// Validates `payload` and writes it with its CRC. Messages name the field, the rule and by how much it is off.
pub fn encode(payload: &EmvPayload) -> Result<String, MpmError> {
    let mut objects = root_objects(payload)?;
    reorder(&mut objects, &payload.layout.root);
    let mut out = String::new();
    push(&mut out, 0, "01");
    for (tag, value) in &objects {
        push(&mut out, *tag, value);
    }
    let chars = out.chars().count() + 8;
    if chars > MAX_PAYLOAD_CHARS {
        return Err(MpmError::PayloadTooLong { chars, max: MAX_PAYLOAD_CHARS });
    }
    append_crc(&mut out);
    Ok(out)
}

/// Stable-sorts objects by their place in `order`; objects not in it go last, keeping their canonical order.
fn reorder<T>(objects: &mut [(u8, T)], order: &[u8]) {
    if !order.is_empty() {
        objects.sort_by_key(|(tag, _)| order.iter().position(|t| t == tag).unwrap_or(usize::MAX));
    }
}

/// Root objects other than 00 and 63, validated, in canonical order.
fn root_objects(p: &EmvPayload) -> Result<Vec<(u8, String)>, MpmError> {
    let mut out: Vec<(u8, String)> = Vec::new();
    if let Some(poi) = p.point_of_initiation {
        out.push((1, poi.code().to_owned()));
    }
    if p.merchant_accounts.is_empty() {
        return Err(MpmError::NoMerchantAccount);
    }
    for account in &p.merchant_accounts {
        let tag = format!("{:02}", account.id);
        let value = match (&account.value, account.id) {
            (AccountValue::Primitive(v), 2..=25) => {
                ACCOUNT_PRIMITIVE.check(&tag, v, None)?;
                v.clone()
            }
            (AccountValue::Template(fields), 26..=51) => encode_gui_template(&ACCOUNT_TEMPLATE, &tag, fields)?,
            (AccountValue::Template(_), 2..=25) => {
                return Err(ACCOUNT_PRIMITIVE.invalid(&tag, "a template", "a primitive value for IDs 02–25", None));
            }
            (AccountValue::Primitive(v), 26..=51) => {
                return Err(ACCOUNT_TEMPLATE.invalid(&tag, v, "a template (sub-object 00 = GUI) for IDs 26–51", None));
            }
            _ => return Err(MpmError::AccountIdOutOfRange { id: account.id }),
        };
        if out.iter().any(|(t, _)| *t == account.id) {
            return Err(ACCOUNT_TEMPLATE.missing(&tag, FieldProblem::Duplicate));
        }
        out.push((account.id, value));
    }
    MCC.check("52", &p.mcc, None)?;
    out.push((52, p.mcc.clone()));
    CURRENCY.check("53", &p.currency, None)?;
    out.push((53, p.currency.clone()));
    if let Some(amount) = p.amount {
        out.push((54, format_amount(&AMOUNT, "54", amount, p.layout.amount_text.as_deref())?));
    }
    match &p.tip {
        None => {}
        Some(Tip::PromptPayer) => out.push((55, "01".into())),
        Some(Tip::FixedFee(fee)) => {
            out.push((55, "02".into()));
            out.push((56, format_amount(&FEE_FIXED, "56", *fee, p.layout.fee_text.as_deref())?));
        }
        Some(Tip::PercentageFee(pct)) => {
            check_percentage("57", pct, None)?;
            out.push((55, "03".into()));
            out.push((57, pct.clone()));
        }
    }
    check_country(&p.country, None)?;
    out.push((58, p.country.clone()));
    MERCHANT_NAME.check("59", &p.merchant_name, None)?;
    out.push((59, p.merchant_name.clone()));
    MERCHANT_CITY.check("60", &p.merchant_city, None)?;
    out.push((60, p.merchant_city.clone()));
    if let Some(postal) = &p.postal_code {
        POSTAL_CODE.check("61", postal, None)?;
        out.push((61, postal.clone()));
    }
    if !p.additional_data.is_empty() {
        out.push((62, encode_additional_data(&p.additional_data, &p.layout.additional_data)?));
    }
    if let Some(lang) = &p.language_template {
        out.push((64, encode_language(lang, &p.layout.language)?));
    }
    for t in &p.unreserved_templates {
        let tag = format!("{:02}", t.id);
        if !(80..=99).contains(&t.id) {
            return Err(MpmError::UnreservedIdOutOfRange { id: t.id });
        }
        if out.iter().any(|(id, _)| *id == t.id) {
            return Err(UNRESERVED.missing(&tag, FieldProblem::Duplicate));
        }
        out.push((t.id, encode_gui_template(&UNRESERVED, &tag, &t.fields)?));
    }
    Ok(out)
}

/// A template whose sub-object 00 (GUI, `ans`, ≤ 32) is mandatory; other sub-objects are `S`.
fn encode_gui_template(rule: &Rule, tag: &str, fields: &[(u8, String)]) -> Result<String, MpmError> {
    if find(fields, 0).is_none() {
        return Err(GUI.missing(&format!("{tag}/00"), FieldProblem::Missing));
    }
    let mut out = String::new();
    for (i, (sub, value)) in fields.iter().enumerate() {
        let sub_tag = format!("{tag}/{sub:02}");
        if *sub > 99 {
            return Err(TEMPLATE_FIELD.invalid(&sub_tag, &sub.to_string(), "a sub-object ID from 00 to 99", None));
        }
        if fields[..i].iter().any(|(s, _)| s == sub) {
            return Err(TEMPLATE_FIELD.missing(&sub_tag, FieldProblem::Duplicate));
        }
        if *sub == 0 {
            GUI.check(&sub_tag, value, None)?
        } else {
            TEMPLATE_FIELD.check(&sub_tag, value, None)?
        }
        push(&mut out, *sub, value);
    }
    rule.check(tag, &out, None)?;
    Ok(out)
}

fn encode_additional_data(data: &AdditionalData, order: &[u8]) -> Result<String, MpmError> {
    let mut subs: Vec<(u8, String)> = Vec::new();
    for (i, (value, name)) in data.labels().into_iter().zip(ADDITIONAL_NAMES).enumerate() {
        if let Some(value) = value {
            let id = (i + 1) as u8;
            rule(name, Charset::Ans, 1, 25).check(&format!("62/{id:02}"), value, None)?;
            subs.push((id, value.clone()));
        }
    }
    if let Some(request) = &data.consumer_data_request {
        check_consumer_data_request("62/09", request, None)?;
        subs.push((9, request.clone()));
    }
    for (id, value) in &data.other {
        let tag = format!("62/{id:02}");
        if !(*id == 0 || (10..=49).contains(id)) {
            return Err(ADDITIONAL_OTHER.invalid(&tag, value, "an ID of 00 or 10–49 for unnamed fields", None));
        }
        ADDITIONAL_OTHER.check(&tag, value, None)?;
        subs.push((*id, value.clone()));
    }
    for t in &data.payment_system_templates {
        let tag = format!("62/{:02}", t.id);
        if !(50..=99).contains(&t.id) {
            return Err(ADDITIONAL_OTHER.invalid(&tag, "a template", "an ID from 50 to 99", None));
        }
        subs.push((t.id, encode_gui_template(&ADDITIONAL_OTHER, &tag, &t.fields)?));
    }
    for (i, (id, _)) in subs.iter().enumerate() {
        if subs[..i].iter().any(|(other, _)| other == id) {
            return Err(ADDITIONAL_OTHER.missing(&format!("62/{id:02}"), FieldProblem::Duplicate));
        }
    }
    reorder(&mut subs, order);
    let mut out = String::new();
    for (id, value) in &subs {
        push(&mut out, *id, value);
    }
    ADDITIONAL_DATA.check("62", &out, None)?;
    Ok(out)
}

fn encode_language(lang: &LanguageTemplate, order: &[u8]) -> Result<String, MpmError> {
    check_language("64/00", &lang.language, None)?;
    ALT_NAME.check("64/01", &lang.merchant_name, None)?;
    let mut subs = vec![(0u8, lang.language.as_str()), (1, lang.merchant_name.as_str())];
    if let Some(city) = &lang.merchant_city {
        ALT_CITY.check("64/02", city, None)?;
        subs.push((2, city));
    }
    reorder(&mut subs, order);
    let mut out = String::new();
    for (id, value) in subs {
        push(&mut out, id, value);
    }
    LANGUAGE_TEMPLATE.check("64", &out, None)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/// Reads an EMVCo MPM payload: structure, CRC, then every field's rule. Errors give the character position and
/// the tag. Objects may come in any order (00 first, 63 last); the order read is kept in the [`Layout`].
pub fn decode(text: &str) -> Result<EmvPayload, MpmError> {
    if text.is_empty() {
        return Err(MpmError::Empty);
    }
    let objects = scan(text, 1, None, &EMV_GRAMMAR)?;
    let (first, last) = match (objects.first(), objects.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return Err(MpmError::Empty),
    };
    if first.id != "00" {
        return Err(MpmError::Misplaced {
            position: first.position,
            tag: first.id.clone(),
            rule: "the code must start with tag 00 (payload format indicator, \"01\")",
        });
    }
    if first.value != "01" {
        PAYLOAD_FORMAT.check("00", &first.value, Some(first.position))?;
        return Err(PAYLOAD_FORMAT.invalid("00", &first.value, "\"01\"", Some(first.position)));
    }
    if let Some(crc) = objects.iter().find(|o| o.id == "63").filter(|o| o.position != last.position) {
        return Err(MpmError::Misplaced {
            position: crc.position,
            tag: "63".into(),
            rule: "tag 63 (CRC) must be last",
        });
    }
    if last.id != "63" {
        return Err(MpmError::MissingCrc);
    }
    CRC_FIELD.check("63", &last.value, Some(last.position))?;
    verify_crc(text)?;

    let body = &objects[1..objects.len() - 1];
    let mut seen = [false; 100];
    seen[0] = true;
    for o in body {
        let tag: usize = o.id.parse().unwrap_or(0);
        if std::mem::replace(&mut seen[tag], true) {
            return Err(MpmError::Duplicate { position: o.position, tag: o.id.clone() });
        }
    }

    let mut p = EmvPayload {
        point_of_initiation: None,
        merchant_accounts: Vec::new(),
        mcc: String::new(),
        currency: String::new(),
        amount: None,
        tip: None,
        country: String::new(),
        merchant_name: String::new(),
        merchant_city: String::new(),
        postal_code: None,
        additional_data: AdditionalData::default(),
        language_template: None,
        unreserved_templates: Vec::new(),
        layout: Layout::default(),
    };
    let mut tip: Option<&Scanned> = None;
    let mut fee_fixed: Option<&Scanned> = None;
    let mut fee_percentage: Option<&Scanned> = None;

    for o in body {
        let at = Some(o.position);
        let tag = o.id.as_str();
        let v = &o.value;
        match o.id.parse::<u8>().unwrap_or(0) {
            1 => {
                POINT_OF_INITIATION.check(tag, v, at)?;
                p.point_of_initiation = Some(match v.as_str() {
                    "11" => PointOfInitiation::Static,
                    "12" => PointOfInitiation::Dynamic,
                    _ => return Err(POINT_OF_INITIATION.invalid(tag, v, "\"11\" (static) or \"12\" (dynamic)", at)),
                });
            }
            id @ 2..=25 => {
                ACCOUNT_PRIMITIVE.check(tag, v, at)?;
                p.merchant_accounts.push(MerchantAccount::primitive(id, v.clone()));
            }
            id @ 26..=51 => {
                let fields = decode_gui_template(tag, o)?;
                p.merchant_accounts.push(MerchantAccount::template(id, fields));
            }
            52 => {
                MCC.check(tag, v, at)?;
                p.mcc = v.clone();
            }
            53 => {
                CURRENCY.check(tag, v, at)?;
                p.currency = v.clone();
            }
            54 => {
                let amount = parse_amount(&AMOUNT, tag, v, at)?;
                if *v != amount.format() {
                    p.layout.amount_text = Some(v.clone());
                }
                p.amount = Some(amount);
            }
            55 => tip = Some(o),
            56 => fee_fixed = Some(o),
            57 => fee_percentage = Some(o),
            58 => {
                check_country(v, at)?;
                p.country = v.clone();
            }
            59 => {
                MERCHANT_NAME.check(tag, v, at)?;
                p.merchant_name = v.clone();
            }
            60 => {
                MERCHANT_CITY.check(tag, v, at)?;
                p.merchant_city = v.clone();
            }
            61 => {
                POSTAL_CODE.check(tag, v, at)?;
                p.postal_code = Some(v.clone());
            }
            62 => p.additional_data = decode_additional_data(o, &mut p.layout)?,
            64 => p.language_template = Some(decode_language(o, &mut p.layout)?),
            65..=79 => return Err(MpmError::Reserved { position: o.position, tag: o.id.clone(), owner: "EMVCo" }),
            id @ 80..=99 => {
                let fields = decode_gui_template(tag, o)?;
                p.unreserved_templates.push(GuiTemplate { id, fields });
            }
            // 00 and 63 cannot reach here (first/last, duplicates refused); 02–51 and the rest are matched above.
            _ => {
                return Err(MpmError::Misplaced {
                    position: o.position,
                    tag: o.id.clone(),
                    rule: "it may occur only once",
                });
            }
        }
    }

    p.tip = decode_tip(tip, fee_fixed, fee_percentage, &mut p.layout)?;

    if p.merchant_accounts.is_empty() {
        return Err(MpmError::NoMerchantAccount);
    }
    for (value, rule, tag) in [
        (&p.mcc, &MCC, "52"),
        (&p.currency, &CURRENCY, "53"),
        (&p.country, &COUNTRY, "58"),
        (&p.merchant_name, &MERCHANT_NAME, "59"),
        (&p.merchant_city, &MERCHANT_CITY, "60"),
    ] {
        if value.is_empty() {
            return Err(rule.missing(tag, FieldProblem::Missing));
        }
    }

    // Keep the order read only where it differs from what `encode` would write anyway.
    let read: Vec<u8> = body.iter().map(|o| o.id.parse().unwrap_or(0)).collect();
    let canonical: Vec<u8> = root_objects(&p)?.into_iter().map(|(t, _)| t).collect();
    if read != canonical {
        p.layout.root = read;
    }
    Ok(p)
}

fn decode_tip(
    tip: Option<&Scanned>,
    fixed: Option<&Scanned>,
    percentage: Option<&Scanned>,
    layout: &mut Layout,
) -> Result<Option<Tip>, MpmError> {
    let indicator = match tip {
        Some(o) => {
            TIP.check("55", &o.value, Some(o.position))?;
            o.value.as_str()
        }
        None => "",
    };
    let unexpected =
        |o: &Scanned, rule: &Rule, expected| Err(rule.invalid(&o.id, &o.value, expected, Some(o.position)));
    if let Some(o) = fixed.filter(|_| indicator != "02") {
        return unexpected(o, &FEE_FIXED, "no tag 56 unless tag 55 (tip or convenience indicator) is \"02\"");
    }
    if let Some(o) = percentage.filter(|_| indicator != "03") {
        return unexpected(o, &FEE_PERCENTAGE, "no tag 57 unless tag 55 (tip or convenience indicator) is \"03\"");
    }
    Ok(match (tip, indicator) {
        (None, _) => None,
        (Some(_), "01") => Some(Tip::PromptPayer),
        (Some(_), "02") => {
            let o = fixed.ok_or_else(|| FEE_FIXED.missing("56", FieldProblem::RequiredBy { by: "tag 55 = \"02\"" }))?;
            let fee = parse_amount(&FEE_FIXED, "56", &o.value, Some(o.position))?;
            if o.value != fee.format() {
                layout.fee_text = Some(o.value.clone());
            }
            Some(Tip::FixedFee(fee))
        }
        (Some(_), "03") => {
            let o = percentage
                .ok_or_else(|| FEE_PERCENTAGE.missing("57", FieldProblem::RequiredBy { by: "tag 55 = \"03\"" }))?;
            check_percentage("57", &o.value, Some(o.position))?;
            Some(Tip::PercentageFee(o.value.clone()))
        }
        (Some(o), _) => {
            return unexpected(o, &TIP, "\"01\" (prompt for tip), \"02\" (fixed fee) or \"03\" (percentage fee)");
        }
    })
}

/// Sub-objects of a template that needs a GUI in 00, checked, with duplicates refused.
fn decode_gui_template(tag: &str, o: &Scanned) -> Result<Vec<(u8, String)>, MpmError> {
    let subs = scan(&o.value, o.value_position, Some(tag), &EMV_GRAMMAR)?;
    let mut fields: Vec<(u8, String)> = Vec::with_capacity(subs.len());
    for s in subs {
        let id: u8 = s.id.parse().unwrap_or(0);
        let sub_tag = format!("{tag}/{}", s.id);
        if fields.iter().any(|(f, _)| *f == id) {
            return Err(MpmError::Duplicate { position: s.position, tag: sub_tag });
        }
        let rule = if id == 0 { &GUI } else { &TEMPLATE_FIELD };
        rule.check(&sub_tag, &s.value, Some(s.position))?;
        fields.push((id, s.value));
    }
    if find(&fields, 0).is_none() {
        return Err(MpmError::InvalidField {
            field: GUI.field,
            tag: format!("{tag}/00"),
            position: Some(o.position),
            problem: FieldProblem::Missing,
        });
    }
    Ok(fields)
}

fn decode_additional_data(o: &Scanned, layout: &mut Layout) -> Result<AdditionalData, MpmError> {
    let subs = scan(&o.value, o.value_position, Some("62"), &EMV_GRAMMAR)?;
    let mut data = AdditionalData::default();
    let mut read = Vec::with_capacity(subs.len());
    for s in &subs {
        let id: u8 = s.id.parse().unwrap_or(0);
        let tag = format!("62/{}", s.id);
        let at = Some(s.position);
        if read.contains(&id) {
            return Err(MpmError::Duplicate { position: s.position, tag });
        }
        read.push(id);
        match id {
            1..=8 => {
                let name = ADDITIONAL_NAMES[usize::from(id - 1)];
                rule(name, Charset::Ans, 1, 25).check(&tag, &s.value, at)?;
                if let Some(slot) = data.label_mut(id) {
                    *slot = Some(s.value.clone());
                }
            }
            9 => {
                check_consumer_data_request(&tag, &s.value, at)?;
                data.consumer_data_request = Some(s.value.clone());
            }
            0 | 10..=49 => {
                ADDITIONAL_OTHER.check(&tag, &s.value, at)?;
                data.other.push((id, s.value.clone()));
            }
            _ => {
                let fields = decode_gui_template(&tag, s)?;
                data.payment_system_templates.push(GuiTemplate { id, fields });
            }
        }
    }
    let mut canonical: Vec<(u8, ())> = Vec::new();
    canonical.extend((1..=8u8).filter(|id| data.labels()[usize::from(id - 1)].is_some()).map(|id| (id, ())));
    canonical.extend(data.consumer_data_request.iter().map(|_| (9, ())));
    canonical.extend(data.other.iter().map(|(id, _)| (*id, ())));
    canonical.extend(data.payment_system_templates.iter().map(|t| (t.id, ())));
    if canonical.iter().map(|(id, _)| *id).ne(read.iter().copied()) {
        layout.additional_data = read;
    }
    Ok(data)
}

fn decode_language(o: &Scanned, layout: &mut Layout) -> Result<LanguageTemplate, MpmError> {
    let subs = scan(&o.value, o.value_position, Some("64"), &EMV_GRAMMAR)?;
    let (mut language, mut name, mut city) = (None, None, None);
    let mut read = Vec::with_capacity(subs.len());
    for s in &subs {
        let tag = format!("64/{}", s.id);
        let at = Some(s.position);
        let id: u8 = s.id.parse().unwrap_or(0);
        if read.contains(&id) {
            return Err(MpmError::Duplicate { position: s.position, tag });
        }
        read.push(id);
        match id {
            0 => {
                check_language(&tag, &s.value, at)?;
                language = Some(s.value.clone());
            }
            1 => {
                ALT_NAME.check(&tag, &s.value, at)?;
                name = Some(s.value.clone());
            }
            2 => {
                ALT_CITY.check(&tag, &s.value, at)?;
                city = Some(s.value.clone());
            }
            _ => return Err(MpmError::Reserved { position: s.position, tag, owner: "EMVCo" }),
        }
    }
    let language = language.ok_or_else(|| LANGUAGE.missing("64/00", FieldProblem::Missing))?;
    let merchant_name = name.ok_or_else(|| ALT_NAME.missing("64/01", FieldProblem::Missing))?;
    let mut canonical = vec![0u8, 1];
    if city.is_some() {
        canonical.push(2);
    }
    if read != canonical {
        layout.language = read;
    }
    Ok(LanguageTemplate { language, merchant_name, merchant_city: city })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The test vectors of mpm-cds.md §2 that are valid EMVCo MPM payloads.
    const VALID: &[(&str, &str)] = &[
        (
            "V1 EMVCo Annex B",
            "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST \
             TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A6008667\
             0902ME91320016A0112233449988770708123456786304A13A",
        ),
        (
            "V2 SG PayNow",
            "00020101021226400009SG.PAYNOW010120213200002150HWCF0301052040000530370254031005802SG5914company_1_data\
             6009Singapore62170113INV/TEST/0001630416C8",
        ),
        (
            "V3 HK FPS",
            "00020101021226330012hk.com.hkicl0313+852-6789123452040000530334454031005802HK5914company_1_data6002HK\
             62170513INV/TEST/00016304A154",
        ),
        (
            "V4 HK FPS 100.5",
            "00020101021226330012hk.com.hkicl0313+852-678912345204000053033445405100.55802HK5914company_1_data6002HK\
             62170513INV/TEST/000263049E64",
        ),
        (
            "V5 Pix",
            "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de \
             Tal6008BRASILIA62070503***63041D3D",
        ),
        (
            "V9 HK FPS 9999999",
            "00020101021226270012hk.com.hkicl0207999999952040000530334454031235802HK5902NA6002HK6304D1A3",
        ),
    ];

    /// PromptPay vectors: correct CRC, but no 52/59/60 (a Thai convention), so not valid MPM.
    const PROMPTPAY: &[&str] = &[
        "00020101021129370016A000000677010111011300668012345675802TH530376463046197",
        "00020101021229370016A000000677010111011300660000000005802TH530376454044.226304E469",
        "00020101021130620016A000000677010112011301122334455660211CUSTOMER0010306INV00153037645802TH62070703SCB6304780E",
    ];

    const N1_BAD_CRC: &str =
        "00020101021226270012hk.com.hkicl0207999999952040000530334454031235802HK5902NA6002HK630484E1";
    const N2_SPEC_INVALID: &str = "00020101021102160004hoge0104abcd520441115303156540523.7255020256035005802CN5914BEST \
                                   TRANSPORT6007BEIJING6107123456762800205678900305098760505abcde0705klmno0805pqres\
                                   0903tuv1004abcd5016000412340104ijkl64280002ZH0102北京0204最佳运输0304abcd6502008\
                                   0320016A01122334499887707081234567863046325";

    fn crc_of(payload: &str) -> String {
        crc_hex(&payload.as_bytes()[..payload.len() - 4])
    }

    #[test]
    fn every_valid_vector_decodes_and_re_encodes_byte_for_byte() {
        for (name, v) in VALID {
            assert_eq!(&crc_of(v), &v[v.len() - 4..], "{name}: CRC");
            let payload = decode(v).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(encode(&payload).unwrap(), *v, "{name}");
            assert_eq!(encode_tlv(&parse_tlv(v).unwrap()).unwrap(), *v, "{name}: TLV layer");
        }
    }

    #[test]
    fn annex_b_counts_characters_and_hashes_bytes() {
        let v = VALID[0].1;
        assert_eq!(v.chars().count(), 248);
        assert_eq!(v.len(), 260);
        assert!(v.ends_with("A13A"));
        let p = decode(v).unwrap();
        assert_eq!(p.point_of_initiation, Some(PointOfInitiation::Dynamic));
        assert_eq!(p.merchant_accounts.len(), 2);
        assert_eq!(p.merchant_accounts[0].id, 29);
        assert_eq!(p.merchant_accounts[0].gui(), Some("D15600000000"));
        assert_eq!(p.merchant_accounts[0].field(5), Some("A93FO3230Q"));
        assert_eq!(p.mcc, "4111");
        assert_eq!(p.currency_code(), Some(Currency::CNY));
        assert_eq!(p.amount, Some(Amount::from_fen(2372)));
        assert_eq!(p.tip, Some(Tip::PromptPayer));
        assert_eq!(p.merchant_name, "BEST TRANSPORT");
        assert_eq!(p.merchant_city, "BEIJING");
        let lang = p.language_template.as_ref().unwrap();
        assert_eq!((lang.language.as_str(), lang.merchant_name.as_str()), ("ZH", "最佳运输"));
        assert_eq!(lang.merchant_city.as_deref(), Some("北京"));
        assert_eq!(p.additional_data.store_label.as_deref(), Some("1234"));
        assert_eq!(p.additional_data.customer_label.as_deref(), Some("***"));
        assert_eq!(p.additional_data.terminal_label.as_deref(), Some("A6008667"));
        assert_eq!(p.additional_data.consumer_data_request.as_deref(), Some("ME"));
        assert_eq!(p.unreserved_templates[0].id, 91);
        assert_eq!(p.unreserved_templates[0].gui(), Some("A011223344998877"));
        // Annex B puts 64 before 54 and 53: the order is kept, not canonical.
        assert!(!p.layout.is_canonical());
        let mut canonical = p.clone();
        canonical.layout = Layout::default();
        let reordered = encode(&canonical).unwrap();
        assert_ne!(reordered, v);
        let again = decode(&reordered).unwrap();
        assert!(again.layout.is_canonical());
        assert_eq!(again, canonical);
    }

    #[test]
    fn amount_spelling_is_kept() {
        let p = decode(VALID[3].1).unwrap();
        assert_eq!(p.amount, Some(Amount::from_fen(10050)));
        assert!(!p.layout.is_canonical());
        // Changing the amount drops the old spelling.
        let mut changed = p.clone();
        changed.amount = Some(Amount::from_fen(999));
        assert!(encode(&changed).unwrap().contains("54049.99"));
    }

    #[test]
    fn promptpay_vectors_parse_as_tlv_but_are_not_valid_mpm() {
        for v in PROMPTPAY {
            verify_crc(v).unwrap();
            assert_eq!(encode_tlv(&parse_tlv(v).unwrap()).unwrap(), *v);
            let err = decode(v).unwrap_err().to_string();
            assert!(err.contains("(tag 52)") && err.contains("missing"), "{err}");
        }
    }

    #[test]
    fn n1_wrong_crc_is_refused() {
        let err = decode(N1_BAD_CRC).unwrap_err();
        assert_eq!(err, MpmError::CrcMismatch { found: "84E1".into(), computed: "D1A3".into() });
        assert!(err.to_string().contains("says 84E1 but the content gives D1A3"));
    }

    #[test]
    fn n2_spec_invalid_is_refused_even_with_a_good_crc() {
        verify_crc(N2_SPEC_INVALID).unwrap();
        let err = decode(N2_SPEC_INVALID).unwrap_err();
        assert!(matches!(&err, MpmError::InvalidField { tag, .. } if tag == "62/09"), "{err}");
        // Repair one problem at a time (CRC recomputed): next the reserved 64/03, then the reserved root tag 65.
        let repaired = |fixes: &[(&str, &str)]| {
            let mut body = N2_SPEC_INVALID[..N2_SPEC_INVALID.len() - 8].to_owned();
            for (from, to) in fixes {
                body = body.replace(from, to);
            }
            append_crc(&mut body);
            body
        };
        let step2 = repaired(&[("0903tuv", "0903AME")]);
        let err = decode(&step2).unwrap_err();
        assert!(matches!(&err, MpmError::Reserved { tag, .. } if tag == "64/03"), "{err}");
        let step3 = repaired(&[
            ("0903tuv", "0903AME"),
            ("64280002ZH0102北京0204最佳运输0304abcd", "64200002ZH0102北京0204最佳运输"),
        ]);
        let err = decode(&step3).unwrap_err();
        assert!(matches!(&err, MpmError::Reserved { tag, owner: "EMVCo", .. } if tag == "65"), "{err}");
        let step4 = repaired(&[
            ("0903tuv", "0903AME"),
            ("64280002ZH0102北京0204最佳运输0304abcd", "64200002ZH0102北京0204最佳运输"),
            ("650200", ""),
        ]);
        let p = decode(&step4).unwrap();
        assert_eq!(p.merchant_accounts[0], MerchantAccount::primitive(2, "0004hoge0104abcd"));
        assert_eq!(p.tip, Some(Tip::FixedFee(Amount::from_fen(50000))));
        assert_eq!(encode(&p).unwrap(), step4);
    }

    #[test]
    fn reserved_root_tag_is_refused_with_its_position() {
        let mut body = VALID[5].1[..VALID[5].1.len() - 8].to_owned();
        body.push_str("6502AB");
        append_crc(&mut body);
        let err = decode(&body).unwrap_err();
        assert!(matches!(err, MpmError::Reserved { position: 84, ref tag, .. } if tag == "65"), "{err}");
    }

    #[test]
    fn corrupted_crc_is_refused() {
        let v = VALID[1].1;
        let mut bad = v[..v.len() - 1].to_owned();
        bad.push('9');
        assert!(matches!(decode(&bad), Err(MpmError::CrcMismatch { .. })));
        // One changed character in the body also breaks the CRC.
        let tampered = v.replacen("company_1_data", "company_2_data", 1);
        assert!(matches!(decode(&tampered), Err(MpmError::CrcMismatch { .. })));
    }

    #[test]
    fn lowercase_crc_is_accepted_when_reading() {
        let v = VALID[5].1;
        let lower = format!("{}{}", &v[..v.len() - 4], v[v.len() - 4..].to_lowercase());
        assert_eq!(encode(&decode(&lower).unwrap()).unwrap(), v);
    }

    #[test]
    fn truncated_payload_is_refused_with_the_position() {
        let v = VALID[5].1;
        let cut = &v[..v.len() - 2];
        let err = decode(cut).unwrap_err();
        assert_eq!(err, MpmError::Truncated { position: 84, tag: "63".into(), declared: 4, available: 2 });
        assert_eq!(
            err.to_string(),
            "object 63 at character 84 declares 4 characters but only 2 remain: the code is cut short"
        );
        // Cut inside a template: the position and the sub-tag are named.
        let err = decode(&v[..25]).unwrap_err();
        assert!(matches!(err, MpmError::Truncated { position: 13, ref tag, .. } if tag == "26"), "{err}");
    }

    #[test]
    fn bad_length_is_refused_with_the_position() {
        let v = VALID[5].1.replacen("5902NA", "59XXNA", 1);
        let err = decode(&v).unwrap_err();
        assert!(
            matches!(err, MpmError::BadLength { position: 72, ref tag, ref found, .. } if tag == "59" && found == "XX")
        );
        let v = VALID[5].1.replacen("5902NA", "5900NA", 1);
        assert!(matches!(decode(&v), Err(MpmError::BadLength { position: 72, .. })));
    }

    #[test]
    fn bad_tag_is_refused_with_the_position() {
        let err = parse_tlv("0002015X02NA").unwrap_err();
        assert_eq!(
            err,
            MpmError::BadTag { position: 7, found: "5X".into(), expected: "a two-digit data object ID (00–99)" }
        );
    }

    #[test]
    fn duplicate_and_misplaced_objects_are_refused() {
        let mut body = "000201".to_owned() + "26110007com.abc" + "52045812530315658" + "02CN5904ABCD6002SH5904ABCD";
        append_crc(&mut body);
        assert!(matches!(decode(&body), Err(MpmError::Duplicate { ref tag, .. }) if tag == "59"));
        let mut body = "010211000201".to_owned();
        append_crc(&mut body);
        assert!(matches!(decode(&body), Err(MpmError::Misplaced { position: 1, .. })));
    }

    fn sample() -> EmvPayload {
        let mut p = EmvPayload::new("5812", Currency::CNY, "CN", "ZHANG SAN NOODLES", "SHANGHAI");
        p.merchant_accounts
            .push(MerchantAccount::template(26, vec![(0, "com.example.cds".into()), (1, "IDX0001".into())]));
        p.language_template = Some(LanguageTemplate {
            language: "ZH".into(),
            merchant_name: "张三面馆".into(),
            merchant_city: Some("上海".into()),
        });
        p
    }

    #[test]
    fn research_cds_example_is_reproduced() {
        let expected = "00020101021126300015com.example.cds0107IDX00015204581253031565802CN5917ZHANG SAN NOODLES\
                        6008SHANGHAI64200002ZH0104张三面馆0202上海6304A940";
        assert_eq!(encode(&sample()).unwrap(), expected);
        assert_eq!(decode(expected).unwrap(), sample());
    }

    #[test]
    fn too_long_name_says_by_how_much() {
        let mut p = sample();
        p.merchant_name = "THE VERY LONG NOODLE HOUSE OF X".into();
        assert_eq!(p.merchant_name.chars().count(), 31);
        assert_eq!(
            encode(&p).unwrap_err().to_string(),
            "merchant name (tag 59) is 31 characters; the code allows 25 — shorten it by 6"
        );
        p.merchant_name = "张三面馆".into();
        let msg = encode(&p).unwrap_err().to_string();
        assert!(
            msg.starts_with("merchant name (tag 59) may only use Latin letters") && msg.contains("tag 64"),
            "{msg}"
        );
        let mut p = sample();
        p.merchant_city = "SHANGHAI PUDONG NEW AREA".into();
        assert!(encode(&p).unwrap_err().to_string().contains("the code allows 15 — shorten it by 9"));
        let mut p = sample();
        p.language_template.as_mut().unwrap().merchant_name = "很".repeat(26);
        assert!(encode(&p).unwrap_err().to_string().contains("is 26 characters; the code allows 25 — shorten it by 1"));
    }

    #[test]
    fn encode_refuses_what_the_spec_forbids() {
        let mut p = sample();
        p.merchant_accounts.clear();
        assert_eq!(encode(&p), Err(MpmError::NoMerchantAccount));
        let mut p = sample();
        p.amount = Some(Amount::ZERO);
        assert!(encode(&p).unwrap_err().to_string().contains("above zero"));
        p.amount = Some(Amount::from_fen(100_000_000_000_000));
        assert!(encode(&p).unwrap_err().to_string().contains("the code allows 13"));
        let mut p = sample();
        p.mcc = "58A2".into();
        assert!(encode(&p).unwrap_err().to_string().contains("digits only; found 'A' at character 3"));
        let mut p = sample();
        p.merchant_accounts[0] = MerchantAccount::template(26, vec![(1, "IDX".into())]);
        assert!(encode(&p).unwrap_err().to_string().contains("(tag 26/00) is missing"));
        let mut p = sample();
        p.merchant_accounts.push(MerchantAccount::template(52, vec![(0, "x.y".into())]));
        assert_eq!(encode(&p), Err(MpmError::AccountIdOutOfRange { id: 52 }));
        let mut p = sample();
        p.merchant_accounts[0] = MerchantAccount::template(26, vec![(0, "a.b".into()), (1, "X".repeat(95))]);
        assert!(encode(&p).unwrap_err().to_string().contains("merchant account template (tag 26) is 106 characters"));
        let mut p = sample();
        for id in 80..=85u8 {
            p.unreserved_templates
                .push(GuiTemplate { id, fields: vec![(0, "com.example.loyalty".into()), (1, "Y".repeat(60))] });
        }
        assert!(matches!(encode(&p), Err(MpmError::PayloadTooLong { max: 512, .. })));
    }

    #[test]
    fn tip_rules() {
        let mut p = sample();
        p.tip = Some(Tip::FixedFee(Amount::from_fen(150)));
        let text = encode(&p).unwrap();
        assert!(text.contains("550202") && text.contains("56041.50"));
        assert_eq!(decode(&text).unwrap(), p);
        p.tip = Some(Tip::PercentageFee("3.5".into()));
        assert_eq!(decode(&encode(&p).unwrap()).unwrap(), p);
        p.tip = Some(Tip::PercentageFee("100".into()));
        assert!(encode(&p).is_err());
        p.tip = Some(Tip::PercentageFee("00.00".into()));
        assert!(encode(&p).is_err());
        let mut body = "00020101021126110007com.abc52045812530315655020258".to_owned() + "02CN5904ABCD6002SH";
        append_crc(&mut body);
        let msg = decode(&body).unwrap_err().to_string();
        assert!(msg.contains("(tag 56)") && msg.contains("tag 55 = \"02\" requires it"), "{msg}");
    }

    fn ans(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("[ -~]{{1,{max}}}")).unwrap()
    }

    fn any_script(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("[a-zA-Z0-9 一-龥ぁ-ん]{{1,{max}}}")).unwrap()
    }

    fn template_fields() -> impl Strategy<Value = Vec<(u8, String)>> {
        ("[a-z]{2,8}\\.[a-z]{2,8}", proptest::collection::btree_map(1u8..=99, "[ -~]{1,12}", 0..3))
            .prop_map(|(gui, subs)| std::iter::once((0u8, gui)).chain(subs).collect())
    }

    fn payload() -> impl Strategy<Value = EmvPayload> {
        let accounts = (
            proptest::collection::btree_map(2u8..=25, "[ -~]{1,20}", 0..2),
            proptest::collection::btree_map(26u8..=51, template_fields(), 0..3),
        )
            .prop_filter("at least one account", |(p, t)| !p.is_empty() || !t.is_empty())
            .prop_map(|(prims, templates)| {
                prims
                    .into_iter()
                    .map(|(id, v)| MerchantAccount::primitive(id, v))
                    .chain(templates.into_iter().map(|(id, f)| MerchantAccount::template(id, f)))
                    .collect::<Vec<_>>()
            });
        let tip = prop_oneof![
            Just(None),
            Just(Some(Tip::PromptPayer)),
            (1i64..=9_999_999).prop_map(|f| Some(Tip::FixedFee(Amount::from_fen(f)))),
            "([1-9][0-9]?|[0-9]?[1-9]\\.[0-9]{1,2})".prop_map(|p| Some(Tip::PercentageFee(p))),
        ];
        let additional = (
            proptest::option::of(ans(25)),
            proptest::option::of(ans(25)),
            proptest::option::of(ans(25)),
            proptest::option::of(prop_oneof![Just("A"), Just("ME"), Just("EMA")].prop_map(String::from)),
            proptest::collection::btree_map(10u8..=49, "[ -~]{1,10}", 0..2),
        )
            .prop_map(|(bill, store, terminal, request, other)| AdditionalData {
                bill_number: bill,
                store_label: store,
                terminal_label: terminal,
                consumer_data_request: request,
                other: other.into_iter().collect(),
                ..AdditionalData::default()
            });
        let language =
            proptest::option::of((any_script(25), proptest::option::of(any_script(15))).prop_map(|(name, city)| {
                LanguageTemplate { language: "ZH".into(), merchant_name: name, merchant_city: city }
            }));
        let unreserved = proptest::collection::btree_map(80u8..=99, template_fields(), 0..2)
            .prop_map(|m| m.into_iter().map(|(id, fields)| GuiTemplate { id, fields }).collect::<Vec<_>>());
        (
            (
                proptest::option::of(prop_oneof![Just(PointOfInitiation::Static), Just(PointOfInitiation::Dynamic)]),
                accounts,
            ),
            (
                "[0-9]{4}",
                prop_oneof![Just("156"), Just("344"), Just("986")],
                proptest::option::of(1i64..=999_999_999_999),
            ),
            (tip, "[A-Z]{2}", ans(25), ans(15), proptest::option::of(ans(10))),
            (additional, language, unreserved),
        )
            .prop_map(
                |((poi, accounts), (mcc, currency, amount), (tip, country, name, city, postal), (ad, lang, un))| {
                    EmvPayload {
                        point_of_initiation: poi,
                        merchant_accounts: accounts,
                        mcc,
                        currency: currency.into(),
                        amount: amount.map(Amount::from_fen),
                        tip,
                        country,
                        merchant_name: name,
                        merchant_city: city,
                        postal_code: postal,
                        additional_data: ad,
                        language_template: lang,
                        unreserved_templates: un,
                        layout: Layout::default(),
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn decode_of_encode_is_identity(p in payload()) {
            match encode(&p) {
                Ok(text) => {
                    prop_assert!(text.chars().count() <= MAX_PAYLOAD_CHARS);
                    prop_assert_eq!(decode(&text), Ok(p));
                }
                Err(MpmError::PayloadTooLong { .. }) => {}
                Err(MpmError::InvalidField { ref tag, problem: FieldProblem::TooLong { .. }, .. })
                    if tag.len() == 2 => {}
                Err(e) => prop_assert!(false, "valid payload refused: {e}"),
            }
        }

        #[test]
        fn tlv_round_trip(objects in proptest::collection::vec((0u8..=99, "[ -~一-龥]{1,99}"), 0..8)) {
            let tlvs: Vec<Tlv> = objects.into_iter().map(|(t, v)| Tlv::new(t, v)).collect();
            let text = encode_tlv(&tlvs).unwrap();
            prop_assert_eq!(parse_tlv(&text), Ok(tlvs));
        }

        #[test]
        fn decode_never_panics(text in "\\PC{0,300}") {
            let _ = decode(&text);
        }

        #[test]
        fn any_single_character_change_is_caught(index in 0usize..91, c in "[0-9A-Z]") {
            let v = VALID[5].1;
            let original = v.as_bytes()[index] as char;
            let c = c.chars().next().unwrap();
            prop_assume!(c != original);
            let mut changed = v.to_owned();
            changed.replace_range(index..=index, &c.to_string());
            prop_assert!(decode(&changed).is_err());
        }
    }
}
