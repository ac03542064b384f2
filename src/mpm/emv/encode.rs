//! Encoding a typed payload: every field checked against its rule, objects in the canonical order or the order a
//! decoded code recorded, the CRC appended.

use super::rules::*;
use super::*;

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
pub(super) fn root_objects(p: &EmvPayload) -> Result<Vec<(u8, String)>, MpmError> {
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
