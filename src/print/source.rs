//! From a store in the database to what its stand shows ([`StandData`]).
//!
//! The code: the store's active bindings as acquirer references, CDS data from the first binding that has it, in
//! the store's chosen format (`auto` = Alipay+ once a CDS index exists, else EMVCo). A store with no active binding
//! yet (the demo store, a store still being onboarded) gets an EMVCo code from its merchant and store fields with a
//! TillDesk placeholder reference, and a "演示码 Demo code" badge so nobody mistakes it for a live code.

use super::{PrintError, StandData};
use crate::model::{AcquirerKind, BindingStatus};
use crate::mpm::{AcquirerReference, CdsData, CodeFormat, StoreCodeInput, build_store_code};
use crate::store::print::PrintableStore;

/// The acquirer reference in codes of stores that have no binding yet.
pub const PLACEHOLDER_GUID: &str = "com.tilldesk.demo";
/// The badge on such codes.
pub const DEMO_BADGE: &str = "演示码 Demo code";

/// The GUID an acquirer puts in store codes, when the binding does not record it: the sandbox acquirers' ones.
fn default_guid(kind: AcquirerKind) -> &'static str {
    match kind {
        AcquirerKind::Alipay => "com.alipay.sandbox",
        AcquirerKind::WechatPay => "com.tenpay.sandbox",
        AcquirerKind::AlipayPlus => "com.partner1.sandbox",
    }
}

/// The badge for an acquirer: the wallet customers know.
pub fn badge_label(kind: AcquirerKind, acquirer_name: &str) -> String {
    match kind {
        AcquirerKind::Alipay => "支付宝 Alipay".into(),
        AcquirerKind::WechatPay => "微信支付 WeChat Pay".into(),
        AcquirerKind::AlipayPlus if acquirer_name.trim().is_empty() => "Alipay+".into(),
        AcquirerKind::AlipayPlus => acquirer_name.trim().to_owned(),
    }
}

/// What the stand of `s` shows, its code built from its bindings.
pub fn stand_for_store(s: &PrintableStore) -> Result<StandData, PrintError> {
    let mut input = StoreCodeInput::for_store(&s.merchant, &s.store);
    input.city_zh = s.city_zh.clone();
    let active: Vec<_> = s.bindings.iter().filter(|b| b.status == BindingStatus::Active).collect();
    let references: Vec<AcquirerReference> = active
        .iter()
        .filter_map(|b| {
            let merchant_id = b.merchant_id_at_acquirer.as_deref()?.trim();
            (!merchant_id.is_empty()).then(|| AcquirerReference {
                guid: b.issuer_guid.clone().unwrap_or_else(|| default_guid(b.acquirer_kind).to_owned()),
                merchant_id: merchant_id.to_owned(),
            })
        })
        .collect();
    let cds = active.iter().find_map(|b| match (&b.cds_platform_id, &b.cds_index) {
        (Some(p), Some(i)) if !p.is_empty() && !i.is_empty() => {
            Some(CdsData { platform_id: p.clone(), cds_index: i.clone() })
        }
        _ => None,
    });
    let mut badges: Vec<String> = Vec::new();
    for b in &active {
        let label = badge_label(b.acquirer_kind, &b.acquirer_name);
        if !badges.contains(&label) {
            badges.push(label);
        }
    }
    let code_err = |source| PrintError::Qr { store_code: s.store.store_code.clone(), source };
    let payload = if references.is_empty() && cds.is_none() {
        badges = vec![DEMO_BADGE.to_owned()];
        let placeholder = AcquirerReference { guid: PLACEHOLDER_GUID.into(), merchant_id: s.store.store_code.clone() };
        build_store_code(CodeFormat::Emvco, &input, &[placeholder], None).map_err(code_err)?
    } else {
        let format = match s.code_format.as_deref() {
            Some("emvco") => CodeFormat::Emvco,
            Some("alipayplus") => CodeFormat::AlipayPlusMpm,
            _ if cds.is_some() => CodeFormat::AlipayPlusMpm,
            _ => CodeFormat::Emvco,
        };
        // An Alipay+ code names one issuing acquirer at most.
        let refs =
            if format == CodeFormat::AlipayPlusMpm { &references[..references.len().min(1)] } else { &references };
        build_store_code(format, &input, refs, cds.as_ref()).map_err(code_err)?
    };
    let name_zh = if s.store.name_zh.trim().is_empty() { &s.merchant.display_name_zh } else { &s.store.name_zh };
    let name_latin = if s.store.name.trim().is_empty() { &s.merchant.display_name } else { &s.store.name };
    Ok(StandData {
        store_code: s.store.store_code.clone(),
        name_zh: name_zh.trim().to_owned(),
        name_latin: name_latin.trim().to_owned(),
        payload,
        badges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpm::decode_store_code;
    use crate::store::Store;

    #[test]
    fn the_demo_store_prints_an_emvco_code_marked_as_demo() {
        let mut store = Store::open_in_memory().unwrap();
        store.default_store().unwrap();
        let stores = store.printable_stores().unwrap();
        let stand = stand_for_store(&stores[0]).unwrap();
        assert_eq!(stand.name_zh, "演示门店");
        assert_eq!(stand.name_latin, "Demo Store");
        assert_eq!(stand.badges, [DEMO_BADGE]);
        assert!(stand.payload.starts_with("000201"), "{}", stand.payload);
        let decoded = decode_store_code(&stand.payload).unwrap();
        assert_eq!(decoded.references[0].guid, PLACEHOLDER_GUID);
        assert_eq!(decoded.references[0].merchant_id, "S001");
    }
}
