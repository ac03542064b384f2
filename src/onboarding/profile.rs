//! Checks on the merchant profile and the stores before anything goes to an acquirer or into a code. Each problem
//! names the field, the code tag it ends up in, and what to do (e.g. by how much to shorten it).

use crate::model::{Merchant, Store};

/// One problem with one field of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    /// The field's name as the forms and the CLI spell it (`display_name`, `store_code`, …).
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for FieldIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The EMV common character set (printable ASCII): what Latin-only code fields may hold.
fn is_ans(c: char) -> bool {
    (' '..='~').contains(&c)
}

struct Checker {
    issues: Vec<FieldIssue>,
}

impl Checker {
    fn push(&mut self, field: &'static str, message: String) {
        self.issues.push(FieldIssue { field, message });
    }

    fn required(&mut self, field: &'static str, label: &str, value: &str) -> bool {
        if value.trim().is_empty() {
            self.push(field, format!("{label} is required"));
            return false;
        }
        true
    }

    fn max_chars(&mut self, field: &'static str, label: &str, tag: &str, value: &str, max: usize) {
        let n = value.chars().count();
        if n > max {
            self.push(
                field,
                format!("{label} is {n} characters; the store code ({tag}) allows {max} — shorten it by {}", n - max),
            );
        }
    }

    fn latin(&mut self, field: &'static str, label: &str, value: &str, hint: &str) {
        if let Some((i, c)) = value.chars().enumerate().find(|(_, c)| !is_ans(*c)) {
            self.push(
                field,
                format!(
                    "{label} may only use Latin letters, digits, space and ASCII punctuation; found {c:?} at \
                     character {}{hint}",
                    i + 1
                ),
            );
        }
    }
}

/// Everything wrong with the merchant profile; empty when it can be submitted and printed.
pub fn validate_merchant(m: &Merchant) -> Vec<FieldIssue> {
    let mut c = Checker { issues: Vec::new() };
    if c.required("legal_name", "the legal name", &m.legal_name) {
        c.max_chars("legal_name", "the legal name", "not printed; acquirers accept", &m.legal_name, 128);
    }
    if c.required("display_name", "the Latin display name", &m.display_name) {
        c.latin(
            "display_name",
            "the Latin display name",
            &m.display_name,
            " (put the Chinese name in display_name_zh)",
        );
        c.max_chars("display_name", "the Latin display name", "tag 59", &m.display_name, 25);
    }
    c.max_chars("display_name_zh", "the Chinese display name", "tag 64/01", &m.display_name_zh, 25);
    if c.required("mcc", "the merchant category code", &m.mcc)
        && (m.mcc.chars().count() != 4 || !m.mcc.chars().all(|ch| ch.is_ascii_digit()))
    {
        c.push("mcc", format!("the merchant category code must be 4 digits (ISO 18245, e.g. 5812), got {:?}", m.mcc));
    }
    if c.required("country", "the country", &m.country)
        && (m.country.chars().count() != 2 || !m.country.chars().all(|ch| ch.is_ascii_uppercase()))
    {
        c.push("country", format!("the country must be two capital letters (ISO 3166, e.g. CN), got {:?}", m.country));
    }
    if c.required("city", "the Latin city", &m.city) {
        c.latin("city", "the Latin city", &m.city, " (put the Chinese city in city_zh)");
        c.max_chars("city", "the Latin city", "tag 60", &m.city, 15);
    }
    c.max_chars("city_zh", "the Chinese city", "tag 64/02", &m.city_zh, 15);
    if !m.city_zh.is_empty() && m.display_name_zh.trim().is_empty() {
        c.push(
            "display_name_zh",
            "the Chinese display name is required when a Chinese city is given (tag 64/01)".into(),
        );
    }
    c.latin("postal_code", "the postal code", &m.postal_code, "");
    c.max_chars("postal_code", "the postal code", "tag 61", &m.postal_code, 10);
    c.issues
}

/// Everything wrong with a store; `others` are the merchant's other stores (for the unique store number).
pub fn validate_store(s: &Store, others: &[Store]) -> Vec<FieldIssue> {
    let mut c = Checker { issues: Vec::new() };
    if c.required("store_code", "the store number", &s.store_code) {
        c.latin("store_code", "the store number", &s.store_code, "");
        c.max_chars("store_code", "the store number", "tag 62/03, store label", &s.store_code, 25);
        if s.store_code != s.store_code.trim() {
            c.push("store_code", "the store number must not start or end with a space".into());
        }
        if let Some(o) = others.iter().find(|o| o.id != s.id && o.store_code == s.store_code) {
            c.push(
                "store_code",
                format!("the store number {:?} is already used by the store {:?}", o.store_code, o.name),
            );
        }
    }
    c.required("name", "the store name", &s.name);
    c.max_chars("name", "the store name", "sent to acquirers", &s.name, 64);
    c.max_chars("name_zh", "the Chinese store name", "sent to acquirers", &s.name_zh, 64);
    c.max_chars("address", "the address", "sent to acquirers", &s.address, 200);
    c.max_chars("contact", "the contact", "sent to acquirers", &s.contact, 100);
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
        assert!(validate_store(&long, &[])[0].message.contains("Latin"));
    }
}
