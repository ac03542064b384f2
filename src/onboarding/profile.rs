//! Checks on the merchant profile and the stores before anything goes to an acquirer or into a code. Each problem
//! names the field, the code tag it ends up in, and what to do (e.g. by how much to shorten it).

use crate::model::{Merchant, Store};

/// One problem with one field of a form: the field and a kind with its values (the UI phrases it in its language;
/// `Display` is the English for the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    /// The field's name as the forms and the CLI spell it (`display_name`, `store_code`, `name`, …).
    pub field: &'static str,
    pub problem: Problem,
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Empty.
    Required,
    /// Longer than where it goes allows.
    TooLong { chars: usize, max: usize },
    /// A character outside printable ASCII in a Latin-only field, at 1-based position `at`.
    NotLatin { found: char, at: usize },
    /// Not 4 digits.
    BadMcc(String),
    /// Not two capital letters.
    BadCountry(String),
    /// A Chinese city without a Chinese display name.
    ChineseNameNeeded,
    /// A store number starting or ending with a space.
    EdgeSpace,
    /// A store number another store already uses (its number and name).
    StoreCodeTaken { store_code: String, by: String },
    /// Characters no font on this computer can print (found by the UI's font check).
    Unprintable(Vec<char>),
}

impl FieldIssue {
    pub fn new(field: &'static str, problem: Problem) -> FieldIssue {
        FieldIssue { field, problem }
    }

    /// The English sentence (the command line, logs).
    pub fn message(&self) -> String {
        let label = field_label_en(self.field);
        match &self.problem {
            Problem::Required => format!("{label} is required"),
            Problem::TooLong { chars, max } => format!(
                "{label} is {chars} characters; the store code ({}) allows {max} — shorten it by {}",
                field_place_en(self.field),
                chars.saturating_sub(*max)
            ),
            Problem::NotLatin { found, at } => format!(
                "{label} may only use Latin letters, digits, space and ASCII punctuation; found {found:?} at \
                 character {at}{}",
                match latin_twin(self.field) {
                    Some(twin) => format!(" (put the Chinese in {twin})"),
                    None => String::new(),
                }
            ),
            Problem::BadMcc(got) => {
                format!("the merchant category code must be 4 digits (ISO 18245, e.g. 5812), got {got:?}")
            }
            Problem::BadCountry(got) => {
                format!("the country must be two capital letters (ISO 3166, e.g. CN), got {got:?}")
            }
            Problem::ChineseNameNeeded => {
                "the Chinese display name is required when a Chinese city is given (tag 64/01)".into()
            }
            Problem::EdgeSpace => "the store number must not start or end with a space".into(),
            Problem::StoreCodeTaken { store_code, by } => {
                format!("the store number {store_code:?} is already used by the store {by:?}")
            }
            Problem::Unprintable(chars) => format!(
                "no font on this computer can print {}, so store codes could not show this name: change the name, \
                 or install a font that has them",
                chars.iter().collect::<String>()
            ),
        }
    }
}

impl std::fmt::Display for FieldIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

/// A field's name in English sentences ("the Latin display name").
pub fn field_label_en(field: &str) -> &'static str {
    match field {
        "legal_name" => "the legal name",
        "display_name" => "the Latin display name",
        "display_name_zh" => "the Chinese display name",
        "mcc" => "the merchant category code",
        "country" => "the country",
        "city" => "the Latin city",
        "city_zh" => "the Chinese city",
        "postal_code" => "the postal code",
        "store_code" => "the store number",
        "name" => "the Latin store name",
        "name_zh" => "the Chinese store name",
        "address" => "the address",
        "contact" => "the contact",
        _ => "the field",
    }
}

/// Where a field's text ends up, which sets its length limit ("tag 59").
pub fn field_place_en(field: &str) -> &'static str {
    match field {
        "legal_name" => "not printed; acquirers accept",
        "display_name" => "tag 59",
        "display_name_zh" => "tag 64/01",
        "city" => "tag 60",
        "city_zh" => "tag 64/02",
        "postal_code" => "tag 61",
        "store_code" => "tag 62/03, store label",
        _ => "sent to acquirers",
    }
}

/// The Chinese field that goes with a Latin one, where the Chinese text belongs.
pub fn latin_twin(field: &str) -> Option<&'static str> {
    match field {
        "display_name" => Some("display_name_zh"),
        "city" => Some("city_zh"),
        "name" => Some("name_zh"),
        _ => None,
    }
}

/// The EMV common character set (printable ASCII): what Latin-only code fields may hold.
fn is_ans(c: char) -> bool {
    (' '..='~').contains(&c)
}

/// The first character of `value` outside the Latin set, with its 1-based position.
pub fn first_non_latin(value: &str) -> Option<(char, usize)> {
    value.chars().enumerate().find(|(_, c)| !is_ans(*c)).map(|(i, c)| (c, i + 1))
}

struct Checker {
    issues: Vec<FieldIssue>,
}

impl Checker {
    fn push(&mut self, field: &'static str, problem: Problem) {
        self.issues.push(FieldIssue { field, problem });
    }

    fn required(&mut self, field: &'static str, value: &str) -> bool {
        if value.trim().is_empty() {
            self.push(field, Problem::Required);
            return false;
        }
        true
    }

    fn max_chars(&mut self, field: &'static str, value: &str, max: usize) {
        let chars = value.chars().count();
        if chars > max {
            self.push(field, Problem::TooLong { chars, max });
        }
    }

    fn latin(&mut self, field: &'static str, value: &str) {
        if let Some((found, at)) = first_non_latin(value) {
            self.push(field, Problem::NotLatin { found, at });
        }
    }
}

/// Everything wrong with the merchant profile; empty when it can be submitted and printed.
pub fn validate_merchant(m: &Merchant) -> Vec<FieldIssue> {
    let mut c = Checker { issues: Vec::new() };
    if c.required("legal_name", &m.legal_name) {
        c.max_chars("legal_name", &m.legal_name, 128);
    }
    if c.required("display_name", &m.display_name) {
        c.latin("display_name", &m.display_name);
        c.max_chars("display_name", &m.display_name, 25);
    }
    c.max_chars("display_name_zh", &m.display_name_zh, 25);
    if c.required("mcc", &m.mcc) && (m.mcc.chars().count() != 4 || !m.mcc.chars().all(|ch| ch.is_ascii_digit())) {
        c.push("mcc", Problem::BadMcc(m.mcc.clone()));
    }
    if c.required("country", &m.country)
        && (m.country.chars().count() != 2 || !m.country.chars().all(|ch| ch.is_ascii_uppercase()))
    {
        c.push("country", Problem::BadCountry(m.country.clone()));
    }
    if c.required("city", &m.city) {
        c.latin("city", &m.city);
        c.max_chars("city", &m.city, 15);
    }
    c.max_chars("city_zh", &m.city_zh, 15);
    if !m.city_zh.is_empty() && m.display_name_zh.trim().is_empty() {
        c.push("display_name_zh", Problem::ChineseNameNeeded);
    }
    c.latin("postal_code", &m.postal_code);
    c.max_chars("postal_code", &m.postal_code, 10);
    c.issues
}

/// Everything wrong with a store; `others` are the merchant's other stores (for the unique store number).
pub fn validate_store(s: &Store, others: &[Store]) -> Vec<FieldIssue> {
    let mut c = Checker { issues: Vec::new() };
    if c.required("store_code", &s.store_code) {
        c.latin("store_code", &s.store_code);
        c.max_chars("store_code", &s.store_code, 25);
        if s.store_code != s.store_code.trim() {
            c.push("store_code", Problem::EdgeSpace);
        }
        if let Some(o) = others.iter().find(|o| o.id != s.id && o.store_code == s.store_code) {
            c.push("store_code", Problem::StoreCodeTaken { store_code: o.store_code.clone(), by: o.name.clone() });
        }
    }
    // The Latin store name goes to acquirers and onto the stand's Latin line: Chinese belongs in name_zh.
    if c.required("name", &s.name) {
        c.latin("name", &s.name);
    }
    c.max_chars("name", &s.name, 64);
    c.max_chars("name_zh", &s.name_zh, 64);
    c.max_chars("address", &s.address, 200);
    c.max_chars("contact", &s.contact, 100);
    c.issues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MerchantId, StoreId};
    use crate::money::Currency;

    pub(crate) fn merchant() -> Merchant {
        Merchant {
            id: MerchantId(1),
            legal_name: "上海张三餐饮有限公司".into(),
            display_name: "ZHANG SAN NOODLES".into(),
            display_name_zh: "张三面馆".into(),
            mcc: "5812".into(),
            country: "CN".into(),
            city: "SHANGHAI".into(),
            postal_code: "200000".into(),
            currency: Currency::CNY,
            city_zh: "上海".into(),
        }
    }

    #[test]
    fn a_good_profile_passes() {
        assert_eq!(validate_merchant(&merchant()), vec![]);
    }

    #[test]
    fn problems_name_the_field_the_tag_and_by_how_much() {
        let m = Merchant {
            display_name: "ZHANG SAN HAND PULLED NOODLES".into(),
            city: "张家港".into(),
            mcc: "58A2".into(),
            country: "cn".into(),
            ..merchant()
        };
        let issues = validate_merchant(&m);
        let text: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
        assert!(
            text.contains(
                &"display_name: the Latin display name is 29 characters; the store code (tag 59) allows 25 — shorten \
                  it by 4"
                    .to_owned()
            ),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.starts_with("city: the Latin city may only use Latin") && t.contains("'张'")));
        assert!(text.iter().any(|t| t.starts_with("mcc: ")));
        assert!(text.iter().any(|t| t.starts_with("country: ")));
    }

    #[test]
    fn store_numbers_are_checked() {
        let s = Store {
            id: StoreId(2),
            merchant_id: MerchantId(1),
            store_code: "S001".into(),
            name: String::new(),
            name_zh: String::new(),
            address: String::new(),
            contact: String::new(),
        };
        let other = Store { id: StoreId(1), name: "Demo".into(), ..s.clone() };
        let fields: Vec<&str> = validate_store(&s, &[other]).iter().map(|i| i.field).collect();
        assert_eq!(fields, ["store_code", "name"]);
        let long = Store { store_code: "门店1".into(), name: "x".into(), ..s };
        assert!(validate_store(&long, &[])[0].message().contains("Latin"));
        let chinese = Store { name: "人民广场店".into(), ..long };
        let issues = validate_store(&chinese, &[]);
        assert!(
            issues.contains(&FieldIssue::new("name", Problem::NotLatin { found: '人', at: 1 })),
            "a Chinese name in the Latin store-name field is refused: {issues:?}"
        );
        assert!(issues.iter().any(|i| i.to_string().starts_with("name: the Latin store name may only use Latin")));
    }
}
