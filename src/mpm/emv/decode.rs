//! Decoding a payload: structure, CRC, then every field's rule, with the character position and tag in every
//! error; the order the objects came in is kept in the [`Layout`].

use super::encode::root_objects;
use super::rules::*;
use super::*;

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
