//! Alipay's notification verifier: no form is accepted without an RSA2 signature by the platform key (the fuzzer
//! cannot make one), and a form the fuzzer writes, once signed with the key, is never refused for its signature.
#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tilldesk::channel::alipay::notify::verify;
use tilldesk::channel::alipay::sign::{self, PrivateKey, PublicKey};
use tilldesk::channel::notice::RefusedKind;

const APP_ID: &str = "2021000000000001";
const KEYS: &str = include_str!("../../tests/vectors/test_keys.json");

static PAIR: LazyLock<(PrivateKey, PublicKey)> = LazyLock::new(|| {
    let keys: serde_json::Value = serde_json::from_str(KEYS).expect("test keys");
    let private = sign::parse_private_key(keys["platform"]["pkcs8_pem"].as_str().expect("pem")).expect("key");
    let public = sign::parse_public_key(keys["platform"]["spki_pem"].as_str().expect("pem")).expect("key");
    (private, public)
});

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    let (private, public) = &*PAIR;
    let account = |app_id: &str| (app_id == APP_ID).then_some(((), public));
    assert!(verify(body, account).is_err(), "an unsigned or forged form was accepted: {body:?}");

    // The same fields, signed with the platform key.
    let Ok(mut params) = serde_urlencoded::from_str::<BTreeMap<String, String>>(body) else { return };
    params.insert("app_id".into(), APP_ID.into());
    params.insert("sign_type".into(), "RSA2".into());
    params.remove("sign");
    let Ok(signature) = sign::sign_rsa2(private, &sign::notify_sign_content(&params)) else { return };
    params.insert("sign".into(), signature);
    let Ok(signed) = serde_urlencoded::to_string(&params) else { return };
    if let Err(refused) = verify(&signed, account) {
        assert!(
            !matches!(
                refused.kind,
                RefusedKind::BadSignature { .. }
                    | RefusedKind::Unsigned
                    | RefusedKind::NotOurs { .. }
                    | RefusedKind::SignType(_)
            ),
            "a correctly signed notification was refused: {refused} ({signed:?})"
        );
    }
});
