//! From a store in the database to what its stand shows ([`StandData`]).
//!
//! The code is exactly the one the Store codes screen shows: [`crate::onboarding::build_for_store`] decides the
//! routing (CDS data, or the active bindings' references) and the format, so a printed code and the code on screen
//! are the same bytes. A store with no active binding yet (the demo store, a store still being onboarded) gets an
//! EMVCo code from its merchant and store fields with a TillDesk placeholder reference, and a "演示码 Demo code"
//! badge so nobody mistakes it for a live code.

use super::{PrintError, StandData};
use crate::model::{AcquirerKind, BindingStatus};
use crate::mpm::{AcquirerReference, CodeFormat, StoreCodeInput, build_store_code};
use crate::onboarding::{OnboardingError, build_for_store};
use crate::store::Store;
use crate::store::print::PrintableStore;

/// The acquirer reference in codes of stores that have no binding yet.
pub const PLACEHOLDER_GUID: &str = "com.tilldesk.demo";
/// The badge on such codes: a sample, not a code anybody can pay.
pub const DEMO_BADGE: &str = "演示码 不能付款 Demo code, not payable";

/// Whether a stand shows such a sample (its store has no active binding).
pub fn is_sample(stand: &StandData) -> bool {
    stand.badges.iter().any(|b| b == DEMO_BADGE)
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

/// What the stand of `s` shows, its code built from its bindings by the onboarding routing policy.
pub fn stand_for_store(db: &Store, s: &PrintableStore) -> Result<StandData, PrintError> {
    let code_err = |source| PrintError::Qr { store_code: s.store.store_code.clone(), source };
    let mut badges: Vec<String> = Vec::new();
    for b in s.bindings.iter().filter(|b| b.status == BindingStatus::Active) {
        let label = badge_label(b.acquirer_kind, &b.acquirer_name);
        if !badges.contains(&label) {
            badges.push(label);
        }
    }
    let payload = match build_for_store(db, s.store.id, None) {
        Ok(built) => built.payload,
        Err(OnboardingError::NotOnboarded { .. }) => {
            badges = vec![DEMO_BADGE.to_owned()];
            let mut input = StoreCodeInput::for_store(&s.merchant, &s.store);
            input.city_zh = s.city_zh.clone();
            let placeholder =
                AcquirerReference { guid: PLACEHOLDER_GUID.into(), merchant_id: s.store.store_code.clone() };
            build_store_code(CodeFormat::Emvco, &input, &[placeholder], None).map_err(code_err)?
        }
        Err(OnboardingError::Code(source)) => return Err(code_err(source)),
        Err(e) => return Err(PrintError::Source { store_code: s.store.store_code.clone(), detail: e.to_string() }),
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
        store.setup_mut().default_store().unwrap();
        let stores = store.setup().printable_stores().unwrap();
        let stand = stand_for_store(&store, &stores[0]).unwrap();
        assert_eq!(stand.name_zh, "演示门店");
        assert_eq!(stand.name_latin, "Demo Store");
        assert_eq!(stand.badges, [DEMO_BADGE]);
        assert!(stand.payload.starts_with("000201"), "{}", stand.payload);
        let decoded = decode_store_code(&stand.payload).unwrap();
        assert_eq!(decoded.references[0].guid, PLACEHOLDER_GUID);
        assert_eq!(decoded.references[0].merchant_id, "S001");
    }
}
