//! Settings → Live channels and keys → the WeChat Pay API certificate, as a merchant uses it: "not imported" at
//! first; a wrong password refused in plain words; a certificate that expires in 20 days imported (read on a worker
//! thread), its CN and expiry shown with the 30-day warning.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::keys::LiveSettings;
use tilldesk::model::AcquirerKind;
use tilldesk::ui::TillDeskApp;
use ui_common::{click, type_into, wait_for};

const MCH_ID: &str = "1900000109";

/// A self-signed certificate for `cn` that expires in `days`, as a PKCS#12 file (password `password`).
fn p12(cn: &str, days: i64, password: &str) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days) + time::Duration::hours(1);
    let cert = params.self_signed(&key).unwrap();
    let chain = p12_keystore::PrivateKeyChain::new(
        b"1".to_vec(),
        p12_keystore::PrivateKey::from_der(&key.serialize_der()).unwrap(),
        [p12_keystore::Certificate::from_der(cert.der()).unwrap()],
    );
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry("Tenpay Certificate", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    store
        .writer(password)
        .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
        .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha1)
        .write()
        .unwrap()
}

#[test]
fn the_api_certificate_is_imported_in_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut home = DataHome::open(&data).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    let wechat = LiveSettings {
        gateway_url: "https://api.mch.weixin.qq.com".into(),
        app_id: "wx2421b1c4370ec43b".into(),
        mch_id: MCH_ID.into(),
        ..LiveSettings::default()
    };
    wechat.save(&mut home.store, AcquirerKind::WechatPay).unwrap();
    let app = TillDeskApp::new(home).unwrap();
    let mut h = ui_common::harness(app, [1300.0, 3000.0]);
    click(&mut h, "Settings");
    wait_for(&mut h, "API certificate: not imported (refunds and reversals need it)");
    h.get_by_label("Live channels and keys");

    type_into(&mut h, "Passphrase", "a good passphrase");
    click(&mut h, "Create key vault");
    wait_for(&mut h, "Keys unlocked");

    let file = tmp.path().join("apiclient_cert.p12");
    std::fs::write(&file, p12(MCH_ID, 20, MCH_ID)).unwrap();
    type_into(&mut h, "API certificate file (apiclient_cert.p12)", file.to_str().unwrap());
    type_into(&mut h, "Certificate password (default: the mch_id)", "not the password");
    click(&mut h, "Import certificate");
    wait_for(&mut h, "the certificate password is wrong (WeChat sets it to the mch_id)");

    // The password field was emptied: the default (the mch_id) is used.
    click(&mut h, "Import certificate");
    wait_for(&mut h, &format!("Certificate imported: CN={MCH_ID}"));
    wait_for(&mut h, &format!("API certificate: CN={MCH_ID}, expires "));
    h.get_by_label_contains("expires in 20 days: renew it soon");
    let vault = tilldesk::secrets::Vault::unlock(&data, "a good passphrase").unwrap();
    assert!(vault.get(tilldesk::keys::WECHAT_API_CERT).unwrap().contains("BEGIN CERTIFICATE"));
}
