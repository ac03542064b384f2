//! Store codes (店铺码): the static QR code a store prints, in either of two formats, with or without CDS data.
//!
//! **EMVCo layout (our design, research notes §1.2):** each acquirer reference is a merchant account template, in
//! order from tag 26: sub `00` = the acquirer's GUI (e.g. a reverse domain), `01` = the merchant ID it assigned.
//! CDS data is the template at tag **51**: `00` = the CDS platform ID (used as the GUI), `01` = the merchant CDS
//! index. Why 26–51 and not the unreserved 80–99: the CDS index is what routes the payment (the wallet looks the
//! merchant's acquirers up by it), which is what merchant account information is for, and a code bound only
//! through CDS must still carry at least one merchant account (02–51) to be valid EMVCo. Why 51: references grow
//! upwards from 26, so the last ID never collides with them, and a reader can tell the two apart by the tag alone.
//! A template 51 is read as CDS data only if it has exactly sub-objects 00 and 01, because other schemes also use
//! 51 (SGQR puts its own `SG.SGQR` template there, with more sub-objects). No public EMVCo assignment for CDS
//! exists; partners must agree to this layout.
//!
//! **Alipay+ layout:** see [`super::alipayplus`]. `PLVS` = 01, `CDSD` = {01 platform, 02 CDS index}, and the one
//! issuing acquirer's reference as `CIRD` = {01 = GUI as code issuer ID, 03 = merchant ID}: `01` follows the sample,
//! `03` is our assumption (the sample has `MINIPROGRAMID` there; its `02` = "12" is left out because its meaning is
//! unknown). The URL carries no merchant name, city, category or store label.

use super::alipayplus::{self, AlipayPlusCode, CdsDirectoryData, CodeIssuerData};
use super::emv::{self, EmvPayload, LanguageTemplate, MerchantAccount};
use super::error::MpmError;
use crate::model::{Merchant, Store};
use crate::money::{Amount, Currency};

pub use super::qr::{ErrorCorrection, QrMatrix, decode_image, qr_matrix, render_png};

/// The EMVCo tag of the first acquirer reference.
pub const FIRST_REFERENCE_TAG: u8 = 26;
/// The EMVCo tag of the CDS template.
pub const CDS_TEMPLATE_TAG: u8 = 51;
/// How many acquirer references fit in an EMVCo store code (tags 26–50).
pub const MAX_REFERENCES: usize = (CDS_TEMPLATE_TAG - FIRST_REFERENCE_TAG) as usize;
/// The domain [`StoreCodeInput::for_store`] and [`StoreCodeInput::example_for_tests`] put in Alipay+ codes: the
/// sandbox's. Live codes must use the code issuer's (the acquirer's) domain.
pub const SANDBOX_CODE_DOMAIN: &str = "QR.SANDBOX.TILLDESK.LOCAL";
/// The language of the Chinese name in EMVCo tag 64.
pub const CHINESE: &str = "ZH";

/// Which of the two store-code formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeFormat {
    /// `HTTPS://<domain>/MPM/3/<Base64>` (Alipay+ Code-Scanning Payment Standards).
    AlipayPlusMpm,
    /// EMVCo QRCPS merchant-presented mode TLV payload (`000201…6304XXXX`).
    Emvco,
}

/// An acquirer's identification of the merchant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AcquirerReference {
    /// Globally unique identifier of the acquirer: reverse domain, AID or UUID without hyphens (≤ 32, Latin).
    pub guid: String,
    /// The merchant identifier the acquirer assigned.
    pub merchant_id: String,
}

/// Where a wallet looks the merchant up on a Code Directory Service (码目录服务) platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CdsData {
    /// The CDS platform ID. In EMVCo codes it is the template's GUI, so it must be ≤ 32 Latin characters (a
    /// reverse domain such as `com.example.cds`).
    pub platform_id: String,
    /// The index the platform assigned to the merchant (`cds_index`).
    pub cds_index: String,
}

/// What a store code shows besides the routing data: the merchant, the store, and (Alipay+) the issuer's domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCodeInput {
    /// Latin name, at most 25 characters (tag 59).
    pub display_name: String,
    /// Chinese name, at most 25 characters (tag 64/01); empty for none.
    pub display_name_zh: String,
    /// ISO 18245, 4 digits (tag 52).
    pub mcc: String,
    /// ISO 3166-1 alpha-2 (tag 58).
    pub country: String,
    /// Latin city, at most 15 characters (tag 60).
    pub city: String,
    /// Chinese city, at most 15 characters (tag 64/02).
    pub city_zh: Option<String>,
    /// At most 10 characters (tag 61).
    pub postal_code: Option<String>,
    /// Tag 53.
    pub currency: Currency,
    /// The store, at most 25 Latin characters (tag 62/03); empty for none.
    pub store_label: String,
    /// Alipay+ only: the code issuer's domain, e.g. `QR.SAMPLEDOMAIN.COM`.
    pub code_domain: String,
}

impl StoreCodeInput {
    /// The inputs for one store: the merchant's names and place, the store's own number (`store_code`) as the store
    /// label, and the sandbox domain for Alipay+ codes (set `code_domain` for live codes).
    pub fn for_store(merchant: &Merchant, store: &Store) -> Self {
        let postal = merchant.postal_code.trim();
        StoreCodeInput {
            display_name: merchant.display_name.clone(),
            display_name_zh: merchant.display_name_zh.clone(),
            mcc: merchant.mcc.clone(),
            country: merchant.country.clone(),
            city: merchant.city.clone(),
            city_zh: (!merchant.city_zh.trim().is_empty()).then(|| merchant.city_zh.trim().to_owned()),
            postal_code: (!postal.is_empty()).then(|| postal.to_owned()),
            currency: merchant.currency,
            store_label: store.store_code.clone(),
            code_domain: SANDBOX_CODE_DOMAIN.to_owned(),
        }
    }

    /// A ready-made restaurant in Shanghai (MCC 5812, CNY, store label `STORE 01`, sandbox domain) for tests and
    /// the sandbox.
    pub fn example_for_tests(display_name: &str, display_name_zh: &str) -> Self {
        StoreCodeInput {
            display_name: display_name.to_owned(),
            display_name_zh: display_name_zh.to_owned(),
            mcc: "5812".into(),
            country: "CN".into(),
            city: "SHANGHAI".into(),
            city_zh: Some("上海".into()),
            postal_code: Some("200000".into()),
            currency: Currency::CNY,
            store_label: "STORE 01".into(),
            code_domain: SANDBOX_CODE_DOMAIN.to_owned(),
        }
    }
}

/// Builds a static store code.
///
/// EMVCo: references in templates 26, 27, … in order, CDS data in template 51, the store label in 62/03, the
/// Chinese name (and city) in 64; every field is checked and a too-long one is reported with by how much.
/// Alipay+: `PLVS`, `CDSD` and, for the one issuing acquirer, `CIRD`, under `input.code_domain`; the merchant
/// fields are not part of this format. Either format needs CDS data or at least one reference.
pub fn build_store_code(
    format: CodeFormat,
    input: &StoreCodeInput,
    references: &[AcquirerReference],
    cds: Option<&CdsData>,
) -> Result<String, MpmError> {
    if references.is_empty() && cds.is_none() {
        return Err(MpmError::NoRouting);
    }
    match format {
        CodeFormat::Emvco => build_emvco(input, references, cds),
        CodeFormat::AlipayPlusMpm => build_alipay_plus(&input.code_domain, references, cds),
    }
}

fn build_emvco(
    input: &StoreCodeInput,
    references: &[AcquirerReference],
    cds: Option<&CdsData>,
) -> Result<String, MpmError> {
    if references.len() > MAX_REFERENCES {
        return Err(MpmError::TooManyReferences { count: references.len(), max: MAX_REFERENCES });
    }
    let mut p = EmvPayload::new(&input.mcc, input.currency, &input.country, &input.display_name, &input.city);
    p.postal_code = input.postal_code.clone();
    for (tag, r) in (FIRST_REFERENCE_TAG..).zip(references) {
        p.merchant_accounts.push(MerchantAccount::template(tag, vec![(0, r.guid.clone()), (1, r.merchant_id.clone())]));
    }
    if let Some(cds) = cds {
        p.merchant_accounts.push(MerchantAccount::template(
            CDS_TEMPLATE_TAG,
            vec![(0, cds.platform_id.clone()), (1, cds.cds_index.clone())],
        ));
    }
    if !input.store_label.is_empty() {
        p.additional_data.store_label = Some(input.store_label.clone());
    }
    if !input.display_name_zh.is_empty() {
        p.language_template = Some(LanguageTemplate {
            language: CHINESE.into(),
            merchant_name: input.display_name_zh.clone(),
            merchant_city: input.city_zh.clone(),
        });
    }
    emv::encode(&p)
}

fn build_alipay_plus(
    domain: &str,
    references: &[AcquirerReference],
    cds: Option<&CdsData>,
) -> Result<String, MpmError> {
    if references.len() > 1 {
        return Err(MpmError::AlipayPlusSingleIssuer { count: references.len() });
    }
    let code = AlipayPlusCode {
        domain: domain.to_owned(),
        payload_version: Some(alipayplus::PAYLOAD_VERSION.to_owned()),
        cds: cds.map(CdsDirectoryData::from),
        code_issuer: references
            .first()
            .map(|r| CodeIssuerData { fields: vec![(1, r.guid.clone()), (3, r.merchant_id.clone())] }),
        other_objects: Vec::new(),
    };
    alipayplus::encode(&code)
}

/// What a scanned store code says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedStoreCode {
    pub format: CodeFormat,
    /// EMVCo: templates 26–51 (other than CDS) that have sub-objects 00 and 01, read with TillDesk's layout (00 =
    /// GUI, 01 = merchant ID; other schemes give 01 other meanings). Alipay+: `CIRD` 01 and 03, if both are present.
    pub references: Vec<AcquirerReference>,
    /// `None`: the code cannot be used to bind another acquirer; see [`DecodedStoreCode::require_cds`].
    pub cds: Option<CdsData>,
    /// Tag 59; empty for Alipay+ codes, which carry no merchant name.
    pub merchant_name: String,
    /// Tag 64/01 (EMVCo only).
    pub merchant_name_alt: Option<String>,
    /// Tag 60; empty for Alipay+ codes.
    pub merchant_city: String,
    /// Tag 52; empty for Alipay+ codes.
    pub mcc: String,
    /// Tag 53, if TillDesk knows the currency (EMVCo only).
    pub currency: Option<Currency>,
    /// Tag 53 as written, e.g. "156"; empty for Alipay+ codes.
    pub currency_numeric: String,
    /// Tag 62/03 (EMVCo only).
    pub store_label: Option<String>,
    /// Tag 54 (EMVCo only; a store code normally has none).
    pub amount: Option<Amount>,
    /// The code's text exactly as read (surrounding whitespace removed).
    pub raw: String,
}

impl DecodedStoreCode {
    /// The CDS data, or the error to show when someone tries to bind an acquirer with a code that has none.
    pub fn require_cds(&self) -> Result<&CdsData, MpmError> {
        self.cds.as_ref().ok_or(MpmError::NoCdsData)
    }
}

/// Reads a store code in either format, recognised by its start: `HTTPS://…/MPM/…` is Alipay+, `00…` is EMVCo.
pub fn decode_store_code(text: &str) -> Result<DecodedStoreCode, MpmError> {
    let raw = text.trim();
    if raw.is_empty() {
        return Err(MpmError::Empty);
    }
    if alipayplus::looks_like_alipay_plus(raw) || raw.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")) {
        return decode_alipay_plus(raw);
    }
    if raw.starts_with("00") {
        return decode_emvco(raw);
    }
    Err(MpmError::UnknownFormat { start: raw.chars().take(24).collect() })
}

fn decode_emvco(raw: &str) -> Result<DecodedStoreCode, MpmError> {
    let p = emv::decode(raw)?;
    let is_cds = |a: &MerchantAccount| {
        a.id == CDS_TEMPLATE_TAG
            && matches!(&a.value, emv::AccountValue::Template(f) if f.len() == 2 && a.gui().is_some() && a.field(1).is_some())
    };
    let cds = p
        .merchant_accounts
        .iter()
        .find(|a| is_cds(a))
        .and_then(|a| Some(CdsData { platform_id: a.gui()?.to_owned(), cds_index: a.field(1)?.to_owned() }));
    let references = p
        .merchant_accounts
        .iter()
        .filter(|a| !is_cds(a))
        .filter_map(|a| Some(AcquirerReference { guid: a.gui()?.to_owned(), merchant_id: a.field(1)?.to_owned() }))
        .collect();
    Ok(DecodedStoreCode {
        format: CodeFormat::Emvco,
        references,
        cds,
        merchant_name: p.merchant_name.clone(),
        merchant_name_alt: p.language_template.as_ref().map(|l| l.merchant_name.clone()),
        merchant_city: p.merchant_city.clone(),
        mcc: p.mcc.clone(),
        currency: p.currency_code(),
        currency_numeric: p.currency.clone(),
        store_label: p.additional_data.store_label.clone(),
        amount: p.amount,
        raw: raw.to_owned(),
    })
}

fn decode_alipay_plus(raw: &str) -> Result<DecodedStoreCode, MpmError> {
    let code = alipayplus::decode(raw)?;
    let references = code
        .code_issuer
        .iter()
        .filter_map(|c| {
            Some(AcquirerReference { guid: c.issuer_id()?.to_owned(), merchant_id: c.field(3)?.to_owned() })
        })
        .collect();
    Ok(DecodedStoreCode {
        format: CodeFormat::AlipayPlusMpm,
        references,
        cds: code.cds.as_ref().map(CdsDirectoryData::cds_data),
        merchant_name: String::new(),
        merchant_name_alt: None,
        merchant_city: String::new(),
        mcc: String::new(),
        currency: None,
        currency_numeric: String::new(),
        store_label: None,
        amount: None,
        raw: raw.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MerchantId, StoreId};

    fn input() -> StoreCodeInput {
        StoreCodeInput::example_for_tests("ZHANG SAN NOODLES", "张三面馆")
    }

    fn unlabelled() -> StoreCodeInput {
        StoreCodeInput { store_label: String::new(), ..input() }
    }

    fn refs() -> Vec<AcquirerReference> {
        vec![
            AcquirerReference { guid: "com.alipay.acq".into(), merchant_id: "2088102146225135".into() },
            AcquirerReference { guid: "com.tenpay.acq".into(), merchant_id: "1900000109".into() },
        ]
    }

    fn cds() -> CdsData {
        CdsData { platform_id: "com.example.cds".into(), cds_index: "IDX0001".into() }
    }

    #[test]
    fn emvco_round_trip_with_cds() {
        let text = build_store_code(CodeFormat::Emvco, &input(), &refs(), Some(&cds())).unwrap();
        assert!(text.contains("26380014com.alipay.acq01162088102146225135"), "{text}");
        assert!(text.contains("51300015com.example.cds0107IDX0001"), "{text}");
        let d = decode_store_code(&text).unwrap();
        assert_eq!(d.format, CodeFormat::Emvco);
        assert_eq!(d.references, refs());
        assert_eq!(d.cds, Some(cds()));
        assert_eq!(d.require_cds(), Ok(&cds()));
        assert_eq!(d.merchant_name, "ZHANG SAN NOODLES");
        assert_eq!(d.merchant_name_alt.as_deref(), Some("张三面馆"));
        assert_eq!(d.merchant_city, "SHANGHAI");
        assert_eq!(d.mcc, "5812");
        assert_eq!(d.currency, Some(Currency::CNY));
        assert_eq!(d.currency_numeric, "156");
        assert_eq!(d.store_label.as_deref(), Some("STORE 01"));
        assert_eq!(d.amount, None);
        assert_eq!(d.raw, text);
    }

    #[test]
    fn emvco_round_trip_without_cds() {
        let text = build_store_code(CodeFormat::Emvco, &unlabelled(), &refs()[..1], None).unwrap();
        let d = decode_store_code(&format!("  {text}\n")).unwrap();
        assert_eq!(d.references, refs()[..1]);
        assert_eq!(d.cds, None);
        assert_eq!(d.store_label, None);
        assert_eq!(d.raw, text);
        let err = d.require_cds().unwrap_err();
        assert_eq!(err, MpmError::NoCdsData);
        assert!(err.to_string().contains("no other acquirer can be bound"));
    }

    #[test]
    fn emvco_cds_only_code_is_valid() {
        let text = build_store_code(CodeFormat::Emvco, &input(), &[], Some(&cds())).unwrap();
        let d = decode_store_code(&text).unwrap();
        assert!(d.references.is_empty());
        assert_eq!(d.cds, Some(cds()));
    }

    #[test]
    fn alipay_plus_round_trip_with_and_without_cds() {
        let text = build_store_code(CodeFormat::AlipayPlusMpm, &input(), &refs()[..1], Some(&cds())).unwrap();
        assert!(text.starts_with("HTTPS://QR.SANDBOX.TILLDESK.LOCAL/MPM/3/"), "{text}");
        let d = decode_store_code(&text).unwrap();
        assert_eq!(d.format, CodeFormat::AlipayPlusMpm);
        assert_eq!(d.cds, Some(cds()));
        assert_eq!(d.references, refs()[..1]);
        assert_eq!(d.merchant_name, "");

        let live = StoreCodeInput { code_domain: "QR.ACQUIRER.EXAMPLE".into(), ..input() };
        let text = build_store_code(CodeFormat::AlipayPlusMpm, &live, &refs()[..1], None).unwrap();
        assert!(text.starts_with("HTTPS://QR.ACQUIRER.EXAMPLE/MPM/3/"), "{text}");
        let d = decode_store_code(&text).unwrap();
        assert_eq!(d.cds, None);
        assert_eq!(d.references, refs()[..1]);
        assert_eq!(d.require_cds(), Err(MpmError::NoCdsData));

        let text = build_store_code(CodeFormat::AlipayPlusMpm, &live, &[], Some(&cds())).unwrap();
        let d = decode_store_code(&text).unwrap();
        assert_eq!((d.references, d.cds), (vec![], Some(cds())));
    }

    #[test]
    fn published_alipay_plus_sample_is_recognised() {
        let sample = "HTTPS://QR.SAMPLEDOMAIN.COM/MPM/3/R1BMRDA5NVBMVlMwMDIwMUNEU0QwMzMwMTE0U0FNUExFUExBVEZPUk0wMjExU0F\
                      NUExFTUVSSURDSVJEMDM5MDExMlNBTVBMRUlTU1VFUjAyMDIxMjAzMTNNSU5JUFJPR1JBTUlE";
        let d = decode_store_code(sample).unwrap();
        assert_eq!(d.cds, Some(CdsData { platform_id: "SAMPLEPLATFORM".into(), cds_index: "SAMPLEMERID".into() }));
        assert_eq!(
            d.references,
            vec![AcquirerReference { guid: "SAMPLEISSUER".into(), merchant_id: "MINIPROGRAMID".into() }]
        );
    }

    #[test]
    fn foreign_emvco_codes_decode_without_cds() {
        // HK FPS (research vector V9): template 26 has no sub-object 01, so no TillDesk reference either.
        let d = decode_store_code(
            "00020101021226270012hk.com.hkicl0207999999952040000530334454031235802HK5902NA6002HK6304D1A3",
        )
        .unwrap();
        assert_eq!(d.cds, None);
        assert!(d.references.is_empty());
        assert_eq!(d.currency, Some(Currency::HKD));
        assert_eq!(d.amount, Some(Amount::from_fen(12300)));
    }

    #[test]
    fn a_51_template_with_more_fields_is_not_cds() {
        let mut p = EmvPayload::new("5812", Currency::SGD, "SG", "SHOP", "SINGAPORE");
        p.merchant_accounts.push(MerchantAccount::template(
            51,
            vec![(0, "SG.SGQR".into()), (1, "180101000000AB".into()), (2, "01.0001".into())],
        ));
        let d = decode_store_code(&emv::encode(&p).unwrap()).unwrap();
        assert_eq!(d.cds, None);
        assert_eq!(
            d.references,
            vec![AcquirerReference { guid: "SG.SGQR".into(), merchant_id: "180101000000AB".into() }]
        );
    }

    #[test]
    fn build_errors_say_what_to_do() {
        let long_name = StoreCodeInput { display_name: "ZHANG SAN HAND PULLED NOODLES".into(), ..input() };
        let err = build_store_code(CodeFormat::Emvco, &long_name, &refs(), None).unwrap_err();
        assert_eq!(err.to_string(), "merchant name (tag 59) is 29 characters; the code allows 25 — shorten it by 4");
        let chinese_in_latin = StoreCodeInput { display_name: "张三面馆".into(), ..input() };
        let err = build_store_code(CodeFormat::Emvco, &chinese_in_latin, &refs(), None).unwrap_err();
        assert!(err.to_string().contains("language template, tag 64"), "{err}");
        assert_eq!(build_store_code(CodeFormat::Emvco, &input(), &[], None), Err(MpmError::NoRouting));
        assert_eq!(build_store_code(CodeFormat::AlipayPlusMpm, &input(), &[], None), Err(MpmError::NoRouting));
        let many: Vec<_> =
            (0..26).map(|i| AcquirerReference { guid: format!("com.acq{i}"), merchant_id: format!("M{i}") }).collect();
        assert_eq!(
            build_store_code(CodeFormat::Emvco, &input(), &many, None),
            Err(MpmError::TooManyReferences { count: 26, max: 25 })
        );
        assert_eq!(
            build_store_code(CodeFormat::AlipayPlusMpm, &input(), &refs(), Some(&cds())),
            Err(MpmError::AlipayPlusSingleIssuer { count: 2 })
        );
        let long_label = StoreCodeInput { store_label: "X".repeat(30), ..input() };
        let err = build_store_code(CodeFormat::Emvco, &long_label, &refs(), None).unwrap_err();
        assert_eq!(err.to_string(), "store label (tag 62/03) is 30 characters; the code allows 25 — shorten it by 5");
        let long_guid = CdsData { platform_id: "com.example.code-directory-service".into(), cds_index: "1".into() };
        let err = build_store_code(CodeFormat::Emvco, &input(), &[], Some(&long_guid)).unwrap_err();
        assert!(
            err.to_string().contains("(tag 51/00) is 34 characters; the code allows 32 — shorten it by 2"),
            "{err}"
        );
    }

    #[test]
    fn unknown_text_is_refused_clearly() {
        let err = decode_store_code("hello world").unwrap_err();
        assert_eq!(err, MpmError::UnknownFormat { start: "hello world".into() });
        assert!(matches!(decode_store_code("https://qr.alipay.com/bax03190"), Err(MpmError::NotAlipayPlus { .. })));
        assert_eq!(decode_store_code("  "), Err(MpmError::Empty));
    }

    #[test]
    fn inputs_from_the_model() {
        let m = Merchant {
            id: MerchantId(1),
            legal_name: "上海张三餐饮有限公司".into(),
            display_name: "ZHANG SAN NOODLES".into(),
            display_name_zh: "张三面馆".into(),
            mcc: "5812".into(),
            country: "CN".into(),
            city: "SHANGHAI".into(),
            postal_code: " ".into(),
            currency: Currency::CNY,
            city_zh: String::new(),
        };
        let store = Store {
            id: StoreId(7),
            merchant_id: MerchantId(1),
            store_code: "SH-0007".into(),
            name: "People's Square".into(),
            name_zh: "人民广场店".into(),
            address: String::new(),
            contact: String::new(),
        };
        let s = StoreCodeInput::for_store(&m, &store);
        assert_eq!(s.postal_code, None);
        assert_eq!(s.store_label, "SH-0007");
        let text = build_store_code(CodeFormat::Emvco, &s, &[], Some(&cds())).unwrap();
        assert_eq!(decode_store_code(&text).unwrap().store_label.as_deref(), Some("SH-0007"));
    }

    #[test]
    fn image_round_trip_for_both_formats() {
        for format in [CodeFormat::Emvco, CodeFormat::AlipayPlusMpm] {
            let text = build_store_code(format, &input(), &refs()[..1], Some(&cds())).unwrap();
            let png = render_png(&text, 3, 4).unwrap();
            let scanned = decode_image(&png).unwrap();
            assert_eq!(scanned, text);
            assert_eq!(decode_store_code(&scanned).unwrap().cds, Some(cds()));
        }
    }
}
