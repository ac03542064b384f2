//! EMVCo QRCPS merchant-presented mode (MPM v1.0) payloads: a generic TLV layer and a typed payload model.
//!
//! Rules applied (see `/work/shared/research/mpm-cds.md` §1): ID = 2 digits, LEN = 2 digits counting
//! **characters** (not bytes), value 1–99 characters; `00` first, `63` last; every ID once per level; CRC-16/
//! CCITT-FALSE over the UTF-8 bytes up to and including `"6304"`, written as 4 uppercase hex digits.
//!
//! EMVCo lets objects appear in any order (except `00` and `63`). [`encode`] writes a fixed canonical order
//! unless the payload carries a [`Layout`] recorded by [`decode`], so a decoded code re-encodes byte for byte.
//!
//! Here: the TLV layer and the typed model; `rules` (each field's length and character set), `encode` and
//! `decode` beside it. It imports `money` and the rest of `mpm` only.

mod decode;
mod encode;
mod rules;

use std::fmt::Write as _;

use super::crc::crc_hex;
use super::error::{FieldProblem, MpmError};
use crate::money::{Amount, Currency};

pub use decode::decode;
pub use encode::encode;

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

#[cfg(test)]
mod tests;
