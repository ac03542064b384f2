//! WeChat Pay's notification verifier: no body is accepted unless its signature checks out with the API key, and a
//! body the fuzzer writes, once signed with the key, is never refused for its signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tilldesk::channel::notice::RefusedKind;
use tilldesk::channel::wechatpay::notify::verify;
use tilldesk::channel::wechatpay::sign::{self, SignType};
use tilldesk::channel::wechatpay::wire::{from_xml, to_xml};

const MCH_ID: &str = "1900000109";
const API_KEY: &str = "192006250b4c09247ec02edce69f6a2d";

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    let account = |mch_id: &str| (mch_id == MCH_ID).then_some(((), API_KEY));
    if verify(body, account).is_ok() {
        // Accepted: it parsed, named our merchant, and its signature is the key's.
        let params = from_xml(body).expect("an accepted body parses");
        let sign_type = SignType::of(&params).expect("an accepted body has a known sign_type");
        assert!(sign::verify(&params, API_KEY, sign_type).is_ok(), "accepted without a valid signature: {body:?}");
    }
    // The same fields, signed with the key: whatever they say, the signature is not what is refused.
    let Ok(mut params) = from_xml(body) else { return };
    params.insert("mch_id".into(), MCH_ID.into());
    params.remove("sign");
    let Ok(sign_type) = SignType::of(&params) else { return };
    let signature = sign::sign(&params, API_KEY, sign_type);
    params.insert("sign".into(), signature);
    let signed = to_xml(&params);
    if let Err(refused) = verify(&signed, account) {
        assert!(
            !matches!(
                refused.kind,
                RefusedKind::BadSignature { .. } | RefusedKind::Unsigned | RefusedKind::NotOurs { .. }
            ),
            "a correctly signed notification was refused: {refused} ({signed:?})"
        );
    }
});
