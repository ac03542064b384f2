//! Settings → Live channels and keys as a merchant uses them, against the sandbox: create the key vault, set the
//! Alipay gateway and app_id, generate a key pair (public key shown and exported), import the Alipay public key,
//! test (the exact error: the sandbox does not know the new key), import the registered private key, test again
//! (connected); WeChat Pay ids and API key, test; switch the access mode (status bar). Nothing secret lands in
//! the database.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::ui::{SandboxStatus, TillDeskApp};
use ui_common::{click, type_into, wait_for, wait_for_n};

#[test]
fn keys_are_configured_tested_and_kept_out_of_the_database() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut home = DataHome::open(&data).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    let sandbox = rt
        .block_on(tilldesk::sandbox::start(&tmp.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    let acc = sandbox.state.accounts();
    let m = acc.merchants[0].clone();
    let url = sandbox.base_url();
    app.ctx.sandbox = SandboxStatus::Running(sandbox);
    app.ctx.runtime = Some(rt.handle().clone());
    // As `main` does: the app manages the background sync from now on (none runs yet).
    app.ctx.sync_for = Some((tilldesk::model::ChannelMode::Sandbox, false));
    let mut h = ui_common::harness(app, [1300.0, 2400.0]);
    click(&mut h, "Settings");
    wait_for(&mut h, "Passphrase");
    h.get_by_label("Live channels and keys");

    type_into(&mut h, "Passphrase", "short");
    click(&mut h, "Create key vault");
    wait_for(&mut h, "the passphrase must have at least 8 characters");
    type_into(&mut h, "Passphrase", "a good passphrase");
    click(&mut h, "Create key vault");
    wait_for(&mut h, "Keys unlocked");

    type_into(&mut h, "Alipay gateway URL", &format!("{url}/gateway.do"));
    type_into(&mut h, "app_id", &m.alipay.app_id);
    click(&mut h, "Save Alipay settings");
    wait_for(&mut h, "Saved");
    click(&mut h, "Generate key pair");
    wait_for(&mut h, "Generated; public key exported to ");
    let exported = std::fs::read_to_string(data.join("alipay_app_public_key.txt")).unwrap();
    assert!(exported.starts_with("MIIBIjAN"), "{exported}");
    h.get_by_label_contains("App public key (paste into the Alipay console");
    assert!(h.query_all_by_value(exported.trim()).next().is_some(), "the public key is shown");

    type_into(&mut h, "Alipay public key", &m.alipay.alipay_public_key_pem.replace('\n', ""));
    click(&mut h, "Import Alipay public key");
    wait_for(&mut h, "Alipay public key imported sha256:");
    click(&mut h, "Test Alipay connection");
    wait_for(&mut h, "Failed: ");
    h.get_by_label_contains("signature");

    type_into(&mut h, "Import app private key", &m.alipay.app_private_key_pkcs8_pem.replace('\n', ""));
    click(&mut h, "Import private key");
    wait_for(&mut h, "App private key imported sha256:");
    click(&mut h, "Test Alipay connection");
    wait_for(&mut h, "OK: connected");

    type_into(&mut h, "WeChat Pay gateway URL", &url);
    type_into(&mut h, "appid", &m.wechatpay.appid);
    type_into(&mut h, "mch_id", &m.wechatpay.mch_id);
    click(&mut h, "Save WeChat Pay settings");
    wait_for(&mut h, "Saved");
    type_into(&mut h, "API key", "too-short");
    click(&mut h, "Save API key");
    wait_for(&mut h, "must be the 32 letters and digits");
    type_into(&mut h, "API key", &m.wechatpay.api_key);
    click(&mut h, "Save API key");
    wait_for(&mut h, "API key saved sha256:");
    click(&mut h, "Test WeChat Pay connection");
    wait_for_n(&mut h, "OK: connected", 2);

    // Live mode: the checkout takes payments through the configured gateways with the vault's keys (here the
    // sandbox plays the real gateway, reached only through the URLs and keys typed above).
    click(&mut h, "Live (real acquirer gateways)");
    h.get_by_label("Mode: live");
    click(&mut h, "Checkout");
    wait_for(&mut h, "Ready to take payments");
    for text in ["12.34", "2800000000000000"] {
        h.event(egui::Event::Text(text.into()));
        h.step();
        h.key_press(egui::Key::Enter);
        h.run_steps(2);
    }
    wait_for(&mut h, "Payment received");
    let db = tilldesk::store::Store::open(&data.join("tilldesk.sqlite3")).unwrap();
    let paid = db.orders().recent_orders(1).unwrap().remove(0);
    assert_eq!((paid.status, paid.total_amount.fen()), (tilldesk::model::OrderStatus::Paid, 1234));
    assert!(paid.trade_no.is_some(), "the gateway's trade number is recorded");
    let live_sync = h.state().ctx.services.as_ref().expect("a live background sync runs once the keys are unlocked");
    assert!(live_sync.listener.is_none(), "no sandbox notify listener in live mode");
    click(&mut h, "Settings");

    // Locked keys in live mode: the checkout says what to do instead of failing a payment.
    h.state_mut().ctx.queue.set_vault(None);
    h.state_mut().ctx.channels_changed();
    click(&mut h, "Checkout");
    wait_for(&mut h, "Live mode: unlock the keys first");
    assert!(h.state().ctx.services.is_none(), "locked keys: no live sync");
    h.state_mut().ctx.set_mode(tilldesk::model::ChannelMode::Sandbox);
    click(&mut h, "Settings");
    // Back in sandbox mode the sandbox's worker and notify listener start again.
    ui_common::wait_until(&mut h, "the sandbox sync to start again", |h| {
        h.state().ctx.services.as_ref().is_some_and(|s| s.listener.is_some())
    });

    // Access mode: shown in the status bar.
    h.get_by_label("Access: store-direct");
    click(&mut h, "merchant backend");
    wait_for(&mut h, "Access: merchant backend");
    h.get_by_label("Merchant backend URL");

    // Nothing secret in the database files.
    let mut bytes = std::fs::read(data.join("tilldesk.sqlite3")).unwrap();
    bytes.extend(std::fs::read(data.join("tilldesk.sqlite3-wal")).unwrap_or_default());
    let body: String = m.alipay.app_private_key_pkcs8_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for secret in [&body[100..140], m.wechatpay.api_key.as_str()] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "a secret in the database");
    }
}
