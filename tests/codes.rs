//! Store codes through the public API and the CLI: the published samples byte for byte, the negative vectors with
//! the right reason, and properties (encode → decode is identity for any valid store; single-byte corruption of an
//! EMVCo code is detected).

use std::process::Command;

use proptest::prelude::*;
use tilldesk::model::{Merchant, MerchantId, Store, StoreId};
use tilldesk::money::Currency;
use tilldesk::mpm::{
    AcquirerReference, CdsData, CodeFormat, MpmError, StoreCodeInput, alipayplus, build_store_code, decode_image,
    decode_store_code, emv, render_png,
};

const ALIPAY_PLUS_SAMPLE: &str = "HTTPS://QR.SAMPLEDOMAIN.COM/MPM/3/R1BMRDA5NVBMVlMwMDIwMUNEU0QwMzMwMTE0U0FNUExFUExBVEZPUk0wMjExU0FNUExFTUVSSURDSVJEMDM5MDExMlNBTVBMRUlTU1VFUjAyMDIxMjAzMTNNSU5JUFJPR1JBTUlE";
const ALIPAY_PLUS_GPLD: &str =
    "GPLD095PLVS00201CDSD0330114SAMPLEPLATFORM0211SAMPLEMERIDCIRD0390112SAMPLEISSUER0202120313MINIPROGRAMID";

/// mpm-cds.md §2: the valid EMVCo vectors (V1 Annex B with Chinese, V2 PayNow, V3/V4 FPS, V5 Pix, V9 FPS).
const EMV_VALID: &[&str] = &[
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A",
    "00020101021226400009SG.PAYNOW010120213200002150HWCF0301052040000530370254031005802SG5914company_1_data6009Singapore62170113INV/TEST/0001630416C8",
    "00020101021226330012hk.com.hkicl0313+852-6789123452040000530334454031005802HK5914company_1_data6002HK62170513INV/TEST/00016304A154",
    "00020101021226330012hk.com.hkicl0313+852-678912345204000053033445405100.55802HK5914company_1_data6002HK62170513INV/TEST/000263049E64",
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D",
    "00020101021226270012hk.com.hkicl0207999999952040000530334454031235802HK5902NA6002HK6304D1A3",
];
const N1_BAD_CRC: &str = "00020101021226270012hk.com.hkicl0207999999952040000530334454031235802HK5902NA6002HK630484E1";
const N2_SPEC_INVALID: &str = "00020101021102160004hoge0104abcd520441115303156540523.7255020256035005802CN5914BEST TRANSPORT6007BEIJING6107123456762800205678900305098760505abcde0705klmno0805pqres0903tuv1004abcd5016000412340104ijkl64280002ZH0102北京0204最佳运输0304abcd65020080320016A01122334499887707081234567863046325";

#[test]
fn the_alipay_plus_sample_decodes_and_re_encodes_byte_for_byte() {
    let code = alipayplus::decode(ALIPAY_PLUS_SAMPLE).unwrap();
    assert_eq!(alipayplus::general_payload(&code).unwrap(), ALIPAY_PLUS_GPLD);
    assert_eq!(alipayplus::encode(&code).unwrap(), ALIPAY_PLUS_SAMPLE);
    let d = decode_store_code(ALIPAY_PLUS_SAMPLE).unwrap();
    assert_eq!(d.format, CodeFormat::AlipayPlusMpm);
    assert_eq!(d.cds, Some(CdsData { platform_id: "SAMPLEPLATFORM".into(), cds_index: "SAMPLEMERID".into() }));
}

#[test]
fn the_emvco_vectors_decode_and_re_encode_byte_for_byte_with_matching_crcs() {
    for v in EMV_VALID {
        emv::verify_crc(v).unwrap();
        let p = emv::decode(v).unwrap();
        assert_eq!(emv::encode(&p).unwrap(), *v);
        let d = decode_store_code(v).unwrap();
        assert_eq!(d.format, CodeFormat::Emvco);
        assert_eq!(d.raw, *v);
    }
    // Annex B: the Chinese name sits in the language template; lengths count characters, the CRC hashes bytes.
    let d = decode_store_code(EMV_VALID[0]).unwrap();
    assert_eq!(d.merchant_name_alt.as_deref(), Some("最佳运输"));
    assert_eq!((EMV_VALID[0].chars().count(), EMV_VALID[0].len()), (248, 260));
}

#[test]
fn the_negative_vectors_are_refused_with_the_right_reason() {
    assert_eq!(
        decode_store_code(N1_BAD_CRC).unwrap_err(),
        MpmError::CrcMismatch { found: "84E1".into(), computed: "D1A3".into() }
    );
    emv::verify_crc(N2_SPEC_INVALID).unwrap();
    let err = decode_store_code(N2_SPEC_INVALID).unwrap_err();
    assert!(matches!(&err, MpmError::InvalidField { tag, .. } if tag == "62/09"), "{err}");
    assert!(err.to_string().contains("(tag 62/09) at character"), "{err}");
}

#[test]
fn broken_codes_name_the_object_and_position() {
    // Bad Base64.
    let err = decode_store_code("HTTPS://QR.SAMPLEDOMAIN.COM/MPM/3/R1BM*RDA5").unwrap_err();
    assert!(matches!(err, MpmError::Base64 { .. }), "{err}");
    // A wrong length: the declared length runs past the end.
    let err = decode_store_code("000201010211263000").unwrap_err();
    assert!(matches!(err, MpmError::Truncated { .. } | MpmError::MissingCrc), "{err}");
    // Missing mandatory object (no merchant name 59), CRC recomputed.
    let mut body = "00020101021126270012hk.com.hkicl02079999999520400005303344540312358 02HK6002HK".replace(' ', "");
    emv::append_crc(&mut body);
    let err = decode_store_code(&body).unwrap_err();
    assert!(err.to_string().contains("(tag 59)") && err.to_string().contains("missing"), "{err}");
    // An RFU id.
    let mut body = EMV_VALID[5][..EMV_VALID[5].len() - 8].to_owned();
    body.push_str("6502AB");
    emv::append_crc(&mut body);
    assert!(matches!(decode_store_code(&body).unwrap_err(), MpmError::Reserved { position: 84, .. }));
    // A globally unique identifier over 32 characters.
    let guid = "com.example.a-very-long-acquirer-id"; // 35 characters
    let template = format!("26{:02}00{:02}{guid}0101M", 4 + guid.len() + 5, guid.len());
    let mut body = format!("000201010211{template}52045812530315658 02CN5902NA6002SH").replace(' ', "");
    emv::append_crc(&mut body);
    let err = decode_store_code(&body).unwrap_err().to_string();
    assert!(err.contains("26/00") && err.contains("32"), "{err}");
    // Non-ans characters in an ans field (Chinese in the merchant name, tag 59).
    let mut body = "0002010102112627001".to_owned()
        + "2hk.com.hkicl02079999999520400005303344540312358"
        + "02HK5904张三面馆6002HK";
    emv::append_crc(&mut body);
    let err = decode_store_code(&body).unwrap_err().to_string();
    assert!(err.contains("(tag 59)") && err.contains("'张'"), "{err}");
}

fn merchant_and_store() -> impl Strategy<Value = (Merchant, Store)> {
    (
        "[A-Z][A-Z0-9 &'.-]{0,24}",
        proptest::option::of("[一-龥]{1,25}"),
        "[0-9]{4}",
        "[A-Z][A-Z ]{0,14}",
        proptest::option::of("[一-龥]{1,15}"),
        proptest::option::of("[0-9]{1,10}"),
        "[A-Z0-9-]{1,25}",
        prop_oneof![Just(Currency::CNY), Just(Currency::HKD), Just(Currency::SGD)],
    )
        .prop_map(|(name, zh, mcc, city, city_zh, postal, store_code, currency)| {
            let m = Merchant {
                id: MerchantId(1),
                legal_name: "有限公司".into(),
                display_name: name,
                display_name_zh: zh.clone().unwrap_or_default(),
                mcc,
                country: "CN".into(),
                city,
                postal_code: postal.unwrap_or_default(),
                currency,
                city_zh: if zh.is_some() { city_zh.unwrap_or_default() } else { String::new() },
            };
            let s = Store {
                id: StoreId(1),
                merchant_id: MerchantId(1),
                store_code,
                name: "Store".into(),
                name_zh: String::new(),
                address: String::new(),
                contact: String::new(),
            };
            (m, s)
        })
}

fn references() -> impl Strategy<Value = Vec<AcquirerReference>> {
    proptest::collection::vec(
        ("[a-z]{2,8}\\.[a-z]{2,8}\\.[a-z]{2,8}", "[A-Z0-9]{1,30}")
            .prop_map(|(guid, merchant_id)| AcquirerReference { guid, merchant_id }),
        0..4,
    )
}

fn cds() -> impl Strategy<Value = Option<CdsData>> {
    proptest::option::of(
        ("[A-Z]{3,20}", "[A-Z0-9]{1,40}").prop_map(|(platform_id, cds_index)| CdsData { platform_id, cds_index }),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn encode_then_decode_is_identity_for_any_valid_store(
        (m, s) in merchant_and_store(), refs in references(), cds in cds(), alipay in any::<bool>(),
    ) {
        prop_assume!(!refs.is_empty() || cds.is_some());
        let input = StoreCodeInput::for_store(&m, &s);
        if alipay {
            let refs: Vec<_> = refs.into_iter().take(1).collect();
            let text = build_store_code(CodeFormat::AlipayPlusMpm, &input, &refs, cds.as_ref()).unwrap();
            let d = decode_store_code(&text).unwrap();
            prop_assert_eq!(d.references, refs);
            prop_assert_eq!(d.cds, cds);
        } else {
            let text = match build_store_code(CodeFormat::Emvco, &input, &refs, cds.as_ref()) {
                Ok(t) => t,
                // The whole payload may not exceed 512 characters; that is refused, never cut.
                Err(MpmError::PayloadTooLong { .. }) => return Ok(()),
                Err(e) => return Err(TestCaseError::fail(format!("valid store refused: {e}"))),
            };
            let d = decode_store_code(&text).unwrap();
            prop_assert_eq!(&d.references, &refs);
            prop_assert_eq!(&d.cds, &cds);
            prop_assert_eq!(&d.merchant_name, &m.display_name);
            prop_assert_eq!(&d.merchant_city, &m.city);
            prop_assert_eq!(&d.mcc, &m.mcc);
            prop_assert_eq!(d.currency, Some(m.currency));
            prop_assert_eq!(d.store_label.as_deref(), Some(s.store_code.as_str()));
            prop_assert_eq!(d.merchant_name_alt, (!m.display_name_zh.is_empty()).then(|| m.display_name_zh.clone()));
        }
    }

    #[test]
    fn any_single_byte_corruption_of_an_emvco_code_is_detected(
        (m, s) in merchant_and_store(), refs in references(), cds in cds(), at in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        prop_assume!(!refs.is_empty() || cds.is_some());
        let input = StoreCodeInput::for_store(&m, &s);
        let Ok(text) = build_store_code(CodeFormat::Emvco, &input, &refs, cds.as_ref()) else { return Ok(()) };
        let mut bytes = text.clone().into_bytes();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != replacement);
        bytes[i] = replacement;
        // Bytes that are no longer UTF-8 cannot even be read as text; otherwise the CRC or the structure catches it.
        if let Ok(corrupted) = String::from_utf8(bytes) {
            match decode_store_code(&corrupted) {
                Err(_) => {}
                // The one harmless change: a CRC hex digit in the other case (readers accept lowercase).
                Ok(d) => prop_assert!(
                    i >= text.len() - 4 && corrupted.eq_ignore_ascii_case(&text) && d.references == refs,
                    "corruption at byte {i} went unnoticed: {corrupted}"
                ),
            }
        }
    }
}

// ---- the CLI ----

fn tilldesk() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    cmd.env_remove("TILLDESK_DATA_DIR").env_remove("TILLDESK_ONBOARDING_URL");
    cmd
}

#[test]
fn cli_decode_prints_fields_and_json() {
    let out = tilldesk().args(["codes", "decode", "--payload", ALIPAY_PLUS_SAMPLE, "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "alipayplus");
    assert_eq!(v["cds"]["platform_id"], "SAMPLEPLATFORM");
    assert_eq!(v["cds"]["cds_index"], "SAMPLEMERID");
    assert_eq!(v["references"][0]["guid"], "SAMPLEISSUER");

    // From a picture, as text.
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("annex-b.png");
    std::fs::write(&png, render_png(EMV_VALID[0], 4, 4).unwrap()).unwrap();
    assert_eq!(decode_image(&std::fs::read(&png).unwrap()).unwrap(), EMV_VALID[0]);
    let out = tilldesk().args(["codes", "decode"]).arg(&png).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("format:         emvco"), "{text}");
    assert!(text.contains("merchant name:  BEST TRANSPORT"), "{text}");
    assert!(text.contains("name (ZH):      最佳运输"), "{text}");
}

#[test]
fn cli_decode_refuses_bad_codes_with_the_reason() {
    let out = tilldesk().args(["codes", "decode", "--payload", N1_BAD_CRC]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("says 84E1 but the content gives D1A3"), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.png");
    let out = tilldesk().args(["codes", "decode"]).arg(&missing).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.png"));
}

#[test]
fn cli_payload_of_a_store_that_is_not_onboarded_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tilldesk().args(["codes", "payload", "--store", "S001", "--data-dir"]).arg(tmp.path()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("store S001 has no active acquirer and no CDS index yet: onboard it first"), "{err}");
    let out = tilldesk().args(["codes", "payload", "--store", "S999", "--data-dir"]).arg(tmp.path()).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no store \"S999\"; the stores are: S001"));
}

/// Issue 19, item 7: a store bound to five acquirers has a code too dense for a logo on the 39 mm sticker (at Q its
/// modules would be 0.386 mm, under the 0.396 mm a phone reads from 25 cm). `codes print --logo` refuses it, naming
/// the store, template and sizes, and writes nothing: no PDF, no PNG folder. Without the logo, or on the poster, it
/// prints.
#[test]
fn cli_codes_print_refuses_a_logo_that_would_make_the_sticker_unreadable_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    {
        let mut home = tilldesk::config::DataHome::open(&data).unwrap();
        home.store.setup_mut().default_store().unwrap();
        let db = rusqlite::Connection::open(home.store.path()).unwrap();
        for i in 1..=5 {
            db.execute_batch(&format!(
                "INSERT INTO acquirers (id, kind, name, created_at) VALUES ({}, 'alipayplus', 'Partner {i}', 'now');
                 INSERT INTO acquirer_bindings (store_id, acquirer_id, status, merchant_id_at_acquirer, issuer_guid,
                                                created_at, updated_at)
                 SELECT id, {}, 'active', '2188000000077700012{i}', 'com.partner{i}.acquirer.example.cn', 'now', 'now'
                 FROM stores WHERE store_code = 'S001';",
                900 + i,
                900 + i
            ))
            .unwrap();
        }
    }
    let payload = {
        let db = tilldesk::store::Store::open(&data.join(tilldesk::config::DATABASE_FILE)).unwrap();
        let s = db.setup().store_by_code("S001").unwrap().unwrap();
        tilldesk::onboarding::build_for_store(&db, s.id, None).unwrap().payload
    };
    assert!(payload.len() > 400, "{} bytes", payload.len());
    let logo = tmp.path().join("big.png");
    image::RgbaImage::from_pixel(600, 600, image::Rgba([200, 30, 40, 255])).save(&logo).unwrap();
    let (pdf, pngs) = (tmp.path().join("codes.pdf"), tmp.path().join("png"));
    let print = |template: &str, with_logo: bool| {
        let mut cmd = tilldesk();
        cmd.args(["codes", "print", "--stores", "S001", "--template", template, "--data-dir"])
            .arg(&data)
            .arg("--out")
            .arg(&pdf)
            .arg("--png")
            .arg(&pngs);
        if with_logo {
            cmd.arg("--logo").arg(&logo);
        }
        cmd.output().unwrap()
    };

    let out = print("poster,sticker", true);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing was written; 1 code cannot be printed readably"), "{stderr}");
    assert!(
        stderr.contains(
            "store S001: a logo does not fit on the 60×60 mm sticker: with it the code's modules would be 0.386 mm, \
             below the 0.396 mm a phone reads from 25 cm"
        ),
        "{stderr}"
    );
    assert!(!pdf.exists() && !pngs.exists(), "nothing written");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("wrote"));

    // The same sticker without the logo, and the poster with it, print.
    for (template, with_logo) in [("sticker", false), ("poster", true)] {
        let out = print(template, with_logo);
        assert!(out.status.success(), "{template}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(pdf.is_file() && pngs.join(format!("S001-{template}.png")).is_file());
        let png = std::fs::read(pngs.join(format!("S001-{template}.png"))).unwrap();
        assert_eq!(decode_image(&png).unwrap(), payload, "{template}");
    }
}

#[test]
fn cli_decode_reads_a_render_rqrr_alone_missed() {
    // Issue 19: the S002 sticker pdftoppm rendered at 115 dpi was "no QR code was found".
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qr");
    let name = "page-S002-sticker-115dpi.png";
    let tsv = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let expected = tsv.lines().find_map(|l| l.strip_prefix(name)?.split('\t').nth(1)).unwrap();
    let out = tilldesk().args(["codes", "decode", "--json"]).arg(dir.join(name)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["payload"], expected);
    assert_eq!(v["format"], "alipayplus");
    let out = tilldesk().args(["codes", "decode"]).arg(dir.join(name)).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("format:         alipayplus"), "{text}");
}
