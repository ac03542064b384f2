//! Each kind of key: what is refused and why, the fingerprint kept beside each secret (in `secret_refs`, never the
//! secret), and the vault on disk giving back what was stored once it is unlocked again from its folder.

use tempfile::TempDir;

use super::*;
use crate::routing::ChannelFactory as _;

const KEYS: &str = include_str!("../../tests/vectors/test_keys.json");
const PASSPHRASE: &str = "test passphrase";

fn test_key(who: &str, form: &str) -> String {
    let keys: serde_json::Value = serde_json::from_str(KEYS).unwrap();
    keys[who][form].as_str().unwrap().to_owned()
}

struct Till {
    dir: TempDir,
    store: Store,
    vault: Vault,
}

fn till() -> Till {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.sqlite3")).unwrap();
    let vault = Vault::unlock(dir.path(), PASSPHRASE).unwrap();
    Till { dir, store, vault }
}

fn stored_fingerprint(store: &Store, name: &str) -> Option<String> {
    store.sync().secret_ref(name).unwrap().map(|r| r.fingerprint)
}

#[test]
fn a_fingerprint_is_the_first_eight_bytes_of_the_sha256() {
    // SHA-256("abc") = ba7816bf 8f01cfea 414140de …
    assert_eq!(fingerprint(b"abc"), "sha256:ba7816bf8f01cfea");
    assert_ne!(fingerprint(b"abc"), fingerprint(b"abd"));
}

#[test]
fn a_wechat_api_key_is_32_letters_and_digits() {
    let mut t = till();
    let a31 = "a".repeat(31);
    for bad in [String::new(), "short".into(), a31.clone(), "a".repeat(33), format!("{a31}-"), format!("{a31}中")] {
        let err = set_wechat_api_key(&mut t.store, &mut t.vault, &bad).unwrap_err();
        assert!(matches!(&err, KeyError::Invalid(m) if m.contains("32 letters and digits")), "{bad:?}: {err}");
    }
    assert_eq!(t.vault.get(WECHAT_API_KEY), None, "nothing is stored after a refusal");
    assert_eq!(stored_fingerprint(&t.store, WECHAT_API_KEY), None);

    let api_key = "0123456789abcdefghijABCDEFGHIJ01";
    let fp = set_wechat_api_key(&mut t.store, &mut t.vault, &format!("  {api_key}\n")).unwrap();
    assert_eq!(fp, fingerprint(api_key.as_bytes()), "the fingerprint is of the trimmed key");
    assert_eq!(t.vault.get(WECHAT_API_KEY), Some(api_key));
    assert_eq!(stored_fingerprint(&t.store, WECHAT_API_KEY).as_deref(), Some(fp.as_str()));
    assert_eq!(t.store.setting(&key(AcquirerKind::WechatPay, "api_key")).unwrap(), None, "never a setting");
}

#[test]
fn an_app_private_key_is_taken_in_each_form_and_fingerprinted_by_its_public_key() {
    let mut t = till();
    let public_b64 = test_key("app", "spki_b64");
    for form in ["pkcs1_pem", "pkcs8_pem", "pkcs1_b64"] {
        let text = test_key("app", form);
        let fp = import_alipay_private_key(&mut t.store, &mut t.vault, &format!("\n{text}\n")).unwrap();
        assert_eq!(fp, fingerprint(public_b64.as_bytes()), "{form}: the public half's fingerprint");
        assert_eq!(t.vault.get(ALIPAY_PRIVATE_KEY), Some(text.trim()), "{form}");
        assert_eq!(alipay_app_public_key(&t.store).unwrap().as_deref(), Some(public_b64.as_str()), "{form}");
        assert_eq!(stored_fingerprint(&t.store, ALIPAY_PRIVATE_KEY).as_deref(), Some(fp.as_str()), "{form}");
    }
    let kept = t.vault.get(ALIPAY_PRIVATE_KEY).map(str::to_owned);
    for bad in ["not a key".to_owned(), test_key("app", "spki_pem"), String::new()] {
        let err = import_alipay_private_key(&mut t.store, &mut t.vault, &bad).unwrap_err();
        assert!(
            matches!(&err, KeyError::Invalid(m) if m.starts_with("the app private key cannot be used")),
            "{bad:.30}: {err}"
        );
    }
    assert_eq!(t.vault.get(ALIPAY_PRIVATE_KEY).map(str::to_owned), kept, "a refused key changes nothing");
}

#[test]
fn the_platform_public_key_is_taken_as_pem_or_base64_and_refused_otherwise() {
    let mut t = till();
    let setting = &key(AcquirerKind::Alipay, "platform_public_key");
    for form in ["spki_pem", "spki_b64"] {
        let text = test_key("platform", form);
        let fp = import_alipay_platform_key(&mut t.store, &format!(" {text} ")).unwrap();
        assert_eq!(fp, fingerprint(text.trim().as_bytes()), "{form}");
        assert_eq!(t.store.setting(setting).unwrap().as_deref(), Some(text.trim()), "{form}");
    }
    for bad in [test_key("platform", "pkcs8_pem"), "MIIB".to_owned(), "-----BEGIN PUBLIC KEY-----\n".to_owned()] {
        let err = import_alipay_platform_key(&mut t.store, &bad).unwrap_err();
        assert!(matches!(&err, KeyError::Invalid(m) if m.contains("支付宝公钥")), "{bad:.30}: {err}");
    }
    let kept = t.store.setting(setting).unwrap();
    assert_eq!(kept.as_deref(), Some(test_key("platform", "spki_b64").as_str()), "a refused key changes nothing");
    // The Alipay+ partner acquirer keeps its own.
    import_alipay_platform_key_for(&mut t.store, AcquirerKind::AlipayPlus, &test_key("app", "spki_pem")).unwrap();
    assert_eq!(t.store.setting(setting).unwrap(), kept);
    assert!(t.store.setting(&key(AcquirerKind::AlipayPlus, "platform_public_key")).unwrap().is_some());
}

#[test]
fn an_app_auth_token_is_up_to_40_letters_and_digits_and_blank_means_none() {
    let mut t = till();
    for bad in ["a".repeat(41), "token with spaces".into(), "202004BB-".into()] {
        let err = set_alipay_app_auth_token(&mut t.store, &mut t.vault, &bad).unwrap_err();
        assert!(matches!(&err, KeyError::Invalid(m) if m.contains("app_auth_token")), "{bad:?}: {err}");
    }
    let token = "202004BB9d3901a7d39d4350a49fb00000000001";
    assert_eq!(set_alipay_app_auth_token(&mut t.store, &mut t.vault, token).unwrap(), fingerprint(token.as_bytes()));
    assert_eq!(t.vault.get(ALIPAY_APP_AUTH_TOKEN), Some(token));
    assert_eq!(set_alipay_app_auth_token(&mut t.store, &mut t.vault, "  ").unwrap(), "none");
    assert_eq!(t.vault.get(ALIPAY_APP_AUTH_TOKEN), Some(""));
}

#[test]
fn a_generated_key_pair_is_kept_whole() {
    let mut t = till();
    let export = generate_alipay_key_pair(&mut t.store, &mut t.vault).unwrap();
    assert_eq!(export.fingerprint, fingerprint(export.console_base64.as_bytes()));
    assert!(!export.console_base64.contains(['\n', ' ']), "one line for the console");
    assert_eq!(alipay_app_public_key(&t.store).unwrap().as_deref(), Some(export.console_base64.as_str()));
    assert_eq!(stored_fingerprint(&t.store, ALIPAY_PRIVATE_KEY).as_deref(), Some(export.fingerprint.as_str()));
    alipay_keys::parse_public_key(&export.pem).unwrap();
    // The private key in the vault is the other half of the public key shown: importing it again gives the same.
    let private = t.vault.get(ALIPAY_PRIVATE_KEY).unwrap().to_owned();
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8");
    let again = import_alipay_private_key(&mut t.store, &mut t.vault, &private).unwrap();
    assert_eq!(again, export.fingerprint);
}

#[test]
fn the_vault_on_disk_gives_back_what_was_stored() {
    let mut t = till();
    let api_key = "0123456789abcdefghijABCDEFGHIJ01";
    set_wechat_api_key(&mut t.store, &mut t.vault, api_key).unwrap();
    import_alipay_private_key(&mut t.store, &mut t.vault, &test_key("app", "pkcs8_pem")).unwrap();
    let on_disk = std::fs::read_to_string(Vault::path_in(t.dir.path())).unwrap();
    assert!(!on_disk.contains(api_key) && !on_disk.contains("PRIVATE KEY"), "the file holds ciphertext only");
    drop(t.vault);

    let wrong = Vault::unlock(t.dir.path(), "another passphrase").unwrap_err();
    assert!(matches!(wrong, SecretError::WrongPassphrase { .. }), "{wrong}");
    let vault = Vault::unlock(t.dir.path(), PASSPHRASE).unwrap();
    assert_eq!(vault.get(WECHAT_API_KEY), Some(api_key));
    assert_eq!(vault.get(ALIPAY_PRIVATE_KEY), Some(test_key("app", "pkcs8_pem").trim()));
    assert_eq!(vault.names(), vec![ALIPAY_PRIVATE_KEY.to_owned(), WECHAT_API_KEY.to_owned()]);

    // The clients are built from the vault read back.
    let alipay = LiveSettings {
        gateway_url: "https://openapi.alipay.com/gateway.do".into(),
        app_id: "2021".into(),
        ..Default::default()
    };
    alipay.save(&mut t.store, AcquirerKind::Alipay).unwrap();
    import_alipay_platform_key(&mut t.store, &test_key("platform", "spki_pem")).unwrap();
    assert_eq!(alipay_client(&t.store, &vault).unwrap().app_id(), "2021");
    let wechat = LiveSettings {
        gateway_url: "https://api.mch.weixin.qq.com".into(),
        app_id: "wx1".into(),
        mch_id: "1900000109".into(),
        ..Default::default()
    };
    wechat.save(&mut t.store, AcquirerKind::WechatPay).unwrap();
    assert_eq!(wechat_client(&t.store, &vault).unwrap().mch_id(), "1900000109");
}

#[test]
fn what_is_missing_is_named_and_the_router_is_told_so() {
    let mut t = till();
    let missing = |e: KeyError| match e {
        KeyError::Missing(what) => what,
        other => panic!("expected a missing key, got {other}"),
    };
    assert_eq!(missing(alipay_client(&t.store, &t.vault).unwrap_err()), "the Alipay app private key");
    assert_eq!(missing(wechat_client(&t.store, &t.vault).unwrap_err()), "the WeChat Pay API key");
    import_alipay_private_key(&mut t.store, &mut t.vault, &test_key("app", "pkcs1_pem")).unwrap();
    assert_eq!(missing(alipay_client(&t.store, &t.vault).unwrap_err()), "the Alipay public key (支付宝公钥)");
    import_alipay_platform_key(&mut t.store, &test_key("platform", "spki_b64")).unwrap();
    assert_eq!(missing(alipay_client(&t.store, &t.vault).unwrap_err()), "the gateway URL");

    // The live factory hands the router the kind, not words.
    let id = t.store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let account = t.store.setup().acquirers().unwrap().into_iter().find(|a| a.id == id).unwrap();
    let factory = LiveChannels { store: &t.store, vault: &t.vault };
    let Err(reason) = factory.channel(&account, None) else { panic!("no WeChat Pay key, yet a channel") };
    assert_eq!(reason, NoChannel::Missing { what: "the WeChat Pay API key" });
    let bad_url = KeyError::Invalid("the gateway address is not http".into());
    assert_eq!(NoChannel::from(bad_url), NoChannel::Unusable { detail: "the gateway address is not http".into() });
}
