//! Tests of the EMVCo MPM codec: the published vectors decode and re-encode byte for byte, each field rule refuses
//! with the tag and character position, and encode/decode round-trip (proptest). They import only `mpm` and `money`.

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

const N1_BAD_CRC: &str = "00020101021226270012hk.com.hkicl0207999999952040000530334454031235802HK5902NA6002HK630484E1";
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
    p.merchant_accounts.push(MerchantAccount::template(26, vec![(0, "com.example.cds".into()), (1, "IDX0001".into())]));
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
    assert!(msg.starts_with("merchant name (tag 59) may only use Latin letters") && msg.contains("tag 64"), "{msg}");
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
        ("[0-9]{4}", prop_oneof![Just("156"), Just("344"), Just("986")], proptest::option::of(1i64..=999_999_999_999)),
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
