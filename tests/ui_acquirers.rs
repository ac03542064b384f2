//! The Acquirers screen as a merchant uses it, against the embedded sandbox, with two stores and three acquirers:
//! onboard the second store with Alipay and with WeChat Pay (each binding, its merchant id and its route read back
//! from the database), be refused when onboarding the same acquirer twice, stop taking WeChat Pay there and route it
//! back to the acquirer the store is onboarded with, onboard it with the Alipay+ partner too and choose that partner
//! for its Alipay codes; onboard the first store with an acquirer that refuses the merchant's category (the binding
//! fails with the acquirer's reason, its steps say so, and it routes nothing). Also: the screen in Chinese
//! and in English at 1024×600.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{self, DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::{
    AcquirerBinding, AcquirerId, AcquirerKind, BindingId, BindingStatus, ChannelMode, RouteSource, StoreId, Wallet,
};
use tilldesk::store::Store;
use tilldesk::ui::TillDeskApp;
use ui_common::{AppHarness, assert_one_language, click, wait_for_ok, wait_until};

fn db(data: &std::path::Path) -> Store {
    Store::open(&data.join(config::DATABASE_FILE)).unwrap()
}

/// The demo store S001 and a second store, S002 Harbour 港口店.
fn data_home(data: &std::path::Path, lang: Lang) -> (DataHome, StoreId, StoreId) {
    let mut home = DataHome::open(data).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    let s1 = home.store.setup_mut().default_store().unwrap();
    let s2 = ui_common::add_harbour_store(&mut home.store);
    (home, s1, s2)
}

fn app_with_sandbox(dir: &std::path::Path, rt: &tokio::runtime::Runtime) -> (TillDeskApp, StoreId, StoreId) {
    let (home, s1, s2) = data_home(&dir.join("data"), Lang::En);
    let mut app = TillDeskApp::new(home).unwrap();
    ui_common::run_on_sandbox(&mut app, dir, rt, Some(200));
    (app, s1, s2)
}

fn acquirer(db: &Store, code: &str) -> AcquirerId {
    db.setup().acquirer_by_onboarding_code(code).unwrap().unwrap().acquirer.id
}

/// The store's binding with the acquirer.
fn binding(data: &std::path::Path, store: StoreId, code: &str) -> Option<AcquirerBinding> {
    let db = db(data);
    let id = acquirer(&db, code);
    db.setup().bindings_for_store(store).unwrap().into_iter().find(|b| b.acquirer_id == id)
}

/// Onboards the selected store with `code` (without CDS) and waits for the result; the binding, active.
fn onboard(h: &mut AppHarness, data: &std::path::Path, store: StoreId, code: &str, name: &str) -> AcquirerBinding {
    click(h, &format!("{code} · {name}"));
    click(h, "Onboard without CDS");
    wait_for_ok(h, &format!("Onboarded with {name}: merchant id "));
    let b = binding(data, store, code).expect("the binding is saved");
    assert_eq!(b.status, BindingStatus::Active, "{b:?}");
    // The bindings are read again through the command queue.
    wait_for_ok(h, b.merchant_id_at_acquirer.as_deref().unwrap());
    b
}

#[test]
fn a_merchant_onboards_two_stores_routes_the_wallets_and_is_refused_where_it_must_be() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (app, s1, s2) = app_with_sandbox(tmp.path(), &rt);
    let mut h = ui_common::harness(app, [1280.0, 2400.0]);

    click(&mut h, "Acquirers");
    h.get_by_label("Acquirers and bindings");
    wait_for_ok(&mut h, "Not onboarded with any acquirer yet");
    h.get_by_label("Bindings — store S001");

    // S002 with Alipay, then WeChat Pay: each binding routes its wallet there, as the merchant id it was given.
    click(&mut h, "S002 Harbour");
    wait_for_ok(&mut h, "Bindings — store S002");
    let alipay_b = onboard(&mut h, &data, s2, "ALIPAY", "Alipay (sandbox)");
    let wechat_b = onboard(&mut h, &data, s2, "WECHATPAY", "WeChat Pay (sandbox)");
    let (alipay_m, wechat_m) =
        (alipay_b.merchant_id_at_acquirer.clone().unwrap(), wechat_b.merchant_id_at_acquirer.clone().unwrap());
    assert_ne!(alipay_m, wechat_m);
    for (wallet, code, merchant) in [(Wallet::Alipay, "ALIPAY", &alipay_m), (Wallet::WechatPay, "WECHATPAY", &wechat_m)]
    {
        let route = db(&data).setup().route(s2, wallet).unwrap().unwrap_or_else(|| panic!("S002 takes {wallet:?}"));
        assert_eq!(route.acquirer_id, acquirer(&db(&data), code));
        assert_eq!(route.merchant_id.as_ref(), Some(merchant));
        assert_eq!(route.source, RouteSource::Onboarding);
    }
    // Both bindings active, and the routing table lists both merchant ids.
    wait_until(&mut h, "both merchant ids in the bindings and the routes", |h| {
        h.query_all_by_label(&alipay_m).count() >= 2 && h.query_all_by_label(&wechat_m).count() >= 2
    });
    assert!(db(&data).setup().bindings_for_store(s1).unwrap().is_empty(), "S001 untouched");

    // The same acquirer again: refused with the merchant id it already has; nothing changes.
    click(&mut h, "ALIPAY · Alipay (sandbox)");
    click(&mut h, "Onboard without CDS");
    wait_for_ok(&mut h, &format!("store S002 is already onboarded with Alipay (sandbox) (merchant id {alipay_m})"));
    assert_eq!(binding(&data, s2, "ALIPAY").unwrap(), alipay_b);

    // S002 stops taking WeChat Pay (asked once more); the acquirer it is onboarded with can take it back.
    click(&mut h, "S002: stop taking WeChat Pay");
    assert!(db(&data).setup().route(s2, Wallet::WechatPay).unwrap().is_some(), "not before the confirmation");
    click(&mut h, "Confirm: S002 stops taking WeChat Pay");
    wait_for_ok(&mut h, "S002 no longer takes WeChat Pay codes");
    assert!(db(&data).setup().route(s2, Wallet::WechatPay).unwrap().is_none());
    wait_for_ok(&mut h, "Route to WECHATPAY");
    click(&mut h, "Route to WECHATPAY");
    wait_for_ok(&mut h, "S002 now takes WeChat Pay codes through WECHATPAY");
    let route = db(&data).setup().route(s2, Wallet::WechatPay).unwrap().unwrap();
    assert_eq!((route.merchant_id.as_ref(), route.source), (Some(&wechat_m), RouteSource::Chosen));

    // A third acquirer for S002, the Alipay+ partner: its Alipay codes may now go either way; the owner chooses it.
    let partner_b = onboard(&mut h, &data, s2, "PARTNER1", "Alipay+ partner PARTNER1 (sandbox)");
    let partner_m = partner_b.merchant_id_at_acquirer.clone().unwrap();
    assert_eq!(
        db(&data).setup().route(s2, Wallet::Alipay).unwrap().unwrap().acquirer_id,
        acquirer(&db(&data), "ALIPAY"),
        "onboarding a second acquirer does not take the wallet from the first"
    );
    wait_for_ok(&mut h, "Acquirer for S002 Alipay");
    click(&mut h, "Acquirer for S002 Alipay");
    click(&mut h, &format!("PARTNER1 · merchant {partner_m}"));
    wait_for_ok(&mut h, "S002 now takes Alipay codes through PARTNER1");
    let route = db(&data).setup().route(s2, Wallet::Alipay).unwrap().unwrap();
    assert_eq!(route.acquirer_id, acquirer(&db(&data), "PARTNER1"));
    assert_eq!((route.merchant_id.as_ref(), route.source), (Some(&partner_m), RouteSource::Chosen));

    // S001, for a merchant whose category WeChat Pay refuses: the binding fails with the acquirer's reason, and
    // routes nothing there (nor is it offered for a wallet).
    {
        let mut db = db(&data);
        let mut m = db.setup_mut().merchant().unwrap();
        m.mcc = "7995".into();
        db.setup_mut().update_merchant(&m, None).unwrap();
    }
    click(&mut h, "S001 Demo Store");
    wait_for_ok(&mut h, "Bindings — store S001");
    click(&mut h, "WECHATPAY · WeChat Pay (sandbox)");
    click(&mut h, "Onboard without CDS");
    wait_for_ok(&mut h, "WeChat Pay (sandbox) refused the merchant: MCC 7995 (gambling) is not accepted");
    let failed = binding(&data, s1, "WECHATPAY").expect("the failed binding is kept");
    assert_eq!(failed.status, BindingStatus::Failed);
    assert!(failed.failure_reason.as_deref().is_some_and(|r| r.contains("MCC 7995")), "{failed:?}");
    // S001's WeChat Pay codes stay with its direct contract: the failed onboarding routes nothing.
    let route = db(&data).setup().route(s1, Wallet::WechatPay).unwrap().unwrap();
    assert_eq!((route.source, route.merchant_id), (RouteSource::Direct, None));
    wait_for_ok(&mut h, "failed: MCC 7995 (gambling) is not accepted");
    wait_for_ok(&mut h, "Steps WECHATPAY");
    click(&mut h, "Steps WECHATPAY");
    let submitted = format!("assigned merchant id {} (failed)", failed.merchant_id_at_acquirer.as_deref().unwrap());
    wait_for_ok(&mut h, &submitted);
    assert!(h.query_by_label("Route to WECHATPAY").is_none(), "a failed onboarding is offered for no wallet");
    drop(h);
    drop(rt);
}

/// What reads the same in both languages: the stores' names.
const ALLOW: &[&str] = &["演示门店", "Demo Store", "港口店", "Harbour"];

#[test]
fn the_acquirers_screen_speaks_one_language_at_1024x600() {
    for lang in [Lang::ZhCn, Lang::En] {
        let t = |zh: &'static str, en: &'static str| lang.pick(zh, en);
        let tmp = tempfile::tempdir().unwrap();
        let (mut home, _s1, s2) = data_home(tmp.path(), lang);
        // S002 onboarded with Alipay and WeChat Pay (as the sandbox would have it).
        for (kind, name, code, merchant) in [
            (AcquirerKind::Alipay, "Alipay (sandbox)", "ALIPAY", "ALIPAYM00000001"),
            (AcquirerKind::WechatPay, "WeChat Pay (sandbox)", "WECHATPAY", "WECHATPAYM00000001"),
        ] {
            let acquirer =
                home.store.setup_mut().ensure_onboarding_acquirer(kind, name, code, ChannelMode::Sandbox).unwrap();
            let b = AcquirerBinding {
                id: BindingId(0),
                store_id: s2,
                acquirer_id: acquirer,
                status: BindingStatus::Active,
                merchant_id_at_acquirer: Some(merchant.into()),
                cds_platform_id: None,
                cds_index: None,
                failure_reason: None,
                issuer_guid: None,
            };
            home.store.setup_mut().save_binding(&b, "approved", "set up by the test").unwrap();
        }
        let mut h = ui_common::harness(TillDeskApp::new(home).unwrap(), [1024.0, 600.0]);
        click(&mut h, t("收单机构", "Acquirers"));
        ui_common::wait_for_ok(&mut h, "WECHATPAYM00000001");
        click(&mut h, &format!("S002 {}", t("港口店", "Harbour")));
        ui_common::wait_for_ok(&mut h, t("绑定情况 — 门店 S002", "Bindings — store S002"));
        ui_common::wait_for_ok(&mut h, &format!("{} WECHATPAY", t("步骤记录", "Steps")));
        assert_one_language(&h, lang, ALLOW, "the Acquirers screen");

        // A refusal kept by the screen: binding with no code given.
        click(&mut h, t("绑定此收单机构到该码", "Bind this acquirer to the code"));
        ui_common::wait_for_ok(&mut h, t("沙箱尚未启动", "the sandbox is not running yet"));
        assert_one_language(&h, lang, ALLOW, "the Acquirers screen, refusing");
    }
}
