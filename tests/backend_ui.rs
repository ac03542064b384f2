//! Settings → Access → Merchant backend → Join, as a merchant uses it: unlock the vault, choose merchant-backend
//! access, type the backend's URL and the one-time code, Join (off the UI thread). The status bar then says
//! "merchant backend URL", the background sync runs on the backend, and the counter takes a payment through it.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::serve::StartOptions;
use tilldesk::store::Store;
use tilldesk::ui::TillDeskApp;
use ui_common::{click, replace_text, type_into, wait_for, wait_until};

#[test]
fn a_till_joins_its_merchant_backend_from_settings_and_pays_through_it() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // The backend, on the sandbox's accounts.
    let (sandbox, backend) = ui_common::backend_on_sandbox(&rt, tmp.path(), StartOptions::default(), |_| {});
    let url = backend.base_url();
    let code = rt.block_on(backend.backend.add_till("S001", "front till")).unwrap().code;

    let data = tmp.path().join("till");
    let mut home = DataHome::open(&data).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    // A payment this till took store-direct before joining.
    let (shop, alipay) = {
        let setup = home.store.setup_mut().default_store().unwrap();
        (setup, home.store.setup_mut().acquirer_for(tilldesk::model::AcquirerKind::Alipay).unwrap())
    };
    let now = tilldesk::time::now_utc();
    let before = tilldesk::store::pulled::PulledOrder {
        out_trade_no: "TDBEFORE0001".into(),
        trade_no: Some("2026TDBEFORE0001".into()),
        store_id: shop,
        acquirer_id: alipay,
        source: tilldesk::model::OrderSource::Barcode,
        subject: "加入前".into(),
        total_amount: tilldesk::money::Amount::from_fen(888),
        status: tilldesk::model::OrderStatus::Paid,
        auth_code_masked: None,
        created_at: now.clone(),
        paid_at: Some(now),
        acquirer_merchant_id: None,
        terminal_id: None,
        refunds: Vec::new(),
    };
    // Written as a pulled order is, then marked as taken here (not copied from a backend).
    home.store.orders_mut().apply_pulled_order(&before).unwrap();
    rusqlite::Connection::open(home.store.path()).unwrap().execute("DELETE FROM pulled_orders", []).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.sync_for = Some((tilldesk::model::ChannelMode::Sandbox, false));
    let mut h = ui_common::harness(app, [1300.0, 2400.0]);
    click(&mut h, "Settings");
    wait_for(&mut h, "Passphrase");
    type_into(&mut h, "Passphrase", "a good passphrase");
    click(&mut h, "Create key vault");
    wait_for(&mut h, "Keys unlocked");
    click(&mut h, "merchant backend");
    wait_for(&mut h, "Access: merchant backend");
    type_into(&mut h, "Merchant backend URL", &url);

    // A wrong code first: refused in words, nothing changes.
    type_into(&mut h, "Enrolment code", "WRONG-CODE");
    click(&mut h, "Join");
    wait_for(&mut h, "The enrolment code is not known");
    assert!(h.state().ctx.queue.vault_unlocked(), "the vault comes back after a refused join");
    assert!(h.state().ctx.backend_url.is_none());

    // A payment still in flight through the till's own access: joining waits for it (the code is not spent).
    let paying = tilldesk::store::orders::NewOrder {
        out_trade_no: "TDBEFORE0002".into(),
        store_id: shop,
        acquirer_id: alipay,
        operator_id: None,
        subject: "加入前".into(),
        total_amount: tilldesk::money::Amount::from_fen(100),
        auth_code_masked: "2860…0000".into(),
        acquirer_merchant_id: None,
        terminal_id: None,
    };
    let paying = Store::open(&data.join("tilldesk.sqlite3")).unwrap().orders_mut().create_order(&paying).unwrap();
    type_into(&mut h, "Enrolment code", code.expose());
    click(&mut h, "Join");
    wait_for(&mut h, "This till has 1 payment(s), 0 refund(s) and 0 queued step(s) not finished yet");
    assert!(h.state().ctx.backend_url.is_none());
    let failed = tilldesk::store::transitions::OrderMove::to(tilldesk::model::OrderStatus::Failed, "test", "declined");
    Store::open(&data.join("tilldesk.sqlite3")).unwrap().orders_mut().move_order(paying.id, &failed).unwrap();

    type_into(&mut h, "Enrolment code", code.expose());
    click(&mut h, "Join");
    wait_for(&mut h, "Joined the merchant backend");
    // What it took before joining went up as its history.
    h.get_by_label_contains(
        "payments go through it. The orders taken here before joining went to the merchant backend as this till's \
         history: 2 recorded, 0 already there",
    );
    let at_backend = Store::open(&backend.backend.db_path()).unwrap();
    let kept = at_backend.orders().order_by_out_trade_no("TDBEFORE0001").unwrap().expect("sent up");
    assert!(at_backend.orders().is_history_order(kept.id).unwrap());
    h.get_by_label_contains("as till #1 \"front till\" of store S001");
    h.get_by_label(&format!("merchant backend {url}"));
    {
        let vault = h.state().ctx.queue.vault();
        let vault = vault.as_ref().expect("the vault is back");
        assert_eq!(vault.names(), ["backend.till_token"], "the till keeps the backend's token, no acquirer key");
    }
    // The background sync restarts on the backend.
    wait_until(&mut h, "the sync on the backend", |h| h.state().ctx.services.is_some());

    // The counter takes a payment through the backend.
    click(&mut h, "Checkout");
    wait_for(&mut h, "Ready to take payments");
    for text in ["3.21", "2800000000000000"] {
        h.event(egui::Event::Text(text.into()));
        h.step();
        h.key_press(egui::Key::Enter);
        h.run_steps(2);
    }
    wait_for(&mut h, "Payment received");
    let till_db = Store::open(&data.join("tilldesk.sqlite3")).unwrap();
    let paid = till_db.orders().recent_orders(1).unwrap().remove(0);
    let at_backend =
        Store::open(&backend.backend.db_path()).unwrap().orders().order_by_out_trade_no(&paid.out_trade_no).unwrap();
    assert_eq!(at_backend.map(|o| (o.status, o.total_amount.fen())), Some((tilldesk::model::OrderStatus::Paid, 321)));

    // F2 shows a dynamic code (主扫) the backend had the acquirer make; Esc closes it there.
    h.key_press(egui::Key::Enter);
    h.step();
    wait_for(&mut h, "Ready to take payments");
    h.event(egui::Event::Text("4.56".into()));
    h.step();
    h.key_press(egui::Key::F2);
    h.step();
    wait_for(&mut h, "https://qr.alipay.com/");
    let shown = Store::open(&data.join("tilldesk.sqlite3")).unwrap().orders().recent_orders(1).unwrap().remove(0);
    let backend_order = || {
        let db = Store::open(&backend.backend.db_path()).unwrap();
        db.orders().order_by_out_trade_no(&shown.out_trade_no).unwrap().expect("made at the backend")
    };
    assert_eq!(backend_order().status, tilldesk::model::OrderStatus::Paying);
    h.key_press(egui::Key::Escape);
    h.step();
    wait_for(&mut h, "Cancelled: the order is closed");
    assert_eq!(backend_order().status, tilldesk::model::OrderStatus::Closed, "closed at the backend");
    h.key_press(egui::Key::Escape);
    h.step();

    // Staff live in the backend: the chain's first owner is created on the Staff panel of this till — at the
    // backend, signed in there — then signs out, which ends the operator session at the backend too; signing in
    // again is checked there.
    let backend_db = backend.backend.db_path();
    let sessions = || {
        let counts = Store::open(&backend_db).unwrap().table_counts().unwrap();
        counts.into_iter().find(|(t, _)| *t == "backend_operator_sessions").map_or(0, |(_, n)| n)
    };
    click(&mut h, "Settings");
    wait_for(&mut h, "Create owner");
    type_into(&mut h, "Owner name", "老板");
    type_into(&mut h, "Owner PIN", "246810");
    click(&mut h, "Create owner");
    wait_for(&mut h, "Added 老板 (owner)");
    let owner = Store::open(&backend_db).unwrap().staff().operator_by_name("老板").unwrap();
    assert_eq!(owner.map(|o| o.role), Some(tilldesk::model::Role::Owner), "the owner is the backend's");
    assert_eq!(sessions(), 1, "signed in at the backend");
    assert_eq!(h.state().ctx.operator.as_deref(), Some("老板"));
    click(&mut h, "Sign out");
    wait_until(&mut h, "the session ended at the backend", |_| sessions() == 0);
    wait_until(&mut h, "the sign-out answered", |h| h.query_by_label_contains("Checking the PIN").is_none());
    h.get_by_label("Signed out");
    let till_db = Store::open(&data.join("tilldesk.sqlite3")).unwrap();
    let kept = till_db.setting(tilldesk::routing::backend::SETTING_SESSION).unwrap();
    assert_eq!(kept.as_deref(), Some(""), "the till forgot the session");
    // A cashier added at the backend meanwhile (from another till): the sign-in brings the backend's list.
    Store::open(&backend_db)
        .unwrap()
        .staff_mut()
        .add_operator("小王", tilldesk::model::Role::Cashier, "1357", None)
        .unwrap();
    replace_text(&mut h, "Operator", "老板");
    replace_text(&mut h, "PIN", "246810");
    assert_eq!(h.get_by_label("Operator").value().as_deref(), Some("老板"));
    click(&mut h, "Sign in / switch");
    wait_for(&mut h, "Signed in:");
    assert_eq!(sessions(), 1, "a new session at the backend");
    // The owner may change settings, but an enrolled till offers no acquirer key forms: it holds no keys.
    wait_for(&mut h, "keeps no acquirer keys");
    assert!(h.query_by_label("Alipay gateway URL").is_none(), "no acquirer key forms at an enrolled till");

    // The owner takes the cashier off the staff at the backend (their PIN in "Current PIN" confirms it there)...
    wait_for(&mut h, "小王");
    type_into(&mut h, "Current PIN", "246810");
    click(&mut h, "Deactivate");
    wait_for(&mut h, "Deactivated 小王");
    let at_backend = || Store::open(&backend_db).unwrap().staff().operator_by_name("小王").unwrap().unwrap();
    assert!(!at_backend().active, "deactivated at the backend");
    wait_for(&mut h, "Reactivate");
    // ...and changes their own PIN there (the till keeps none).
    type_into(&mut h, "Current PIN", "246810");
    type_into(&mut h, "New PIN for me", "135791");
    click(&mut h, "Change PIN");
    wait_for(&mut h, "PIN changed");
    let checked = Store::open(&backend_db).unwrap().staff_mut().verify_pin("老板", "135791").map(|o| o.name);
    assert_eq!(checked.ok().as_deref(), Some("老板"), "the new PIN is the backend's");

    // Every till's shifts: a handover closed here (F10, Enter) goes up at once with a sync pass the screen asks for,
    // and the Shifts screen lists it from the backend.
    {
        let mut db = Store::open(&data.join("tilldesk.sqlite3")).unwrap();
        let this = tilldesk::config::this_till(&mut db).unwrap();
        let owner = db.staff().operator_by_name("老板").unwrap().unwrap();
        tilldesk::shifts::open(&mut db, &this, &owner, &tilldesk::time::now_utc()).unwrap();
    }
    let reports = || {
        let counts = Store::open(&backend_db).unwrap().table_counts().unwrap();
        counts.into_iter().find(|(t, _)| *t == "backend_shift_reports").map_or(0, |(_, n)| n)
    };
    click(&mut h, "Shifts");
    wait_for(&mut h, "Every till's shifts (merchant backend)");
    wait_for(&mut h, "The merchant backend has no shifts yet");
    h.key_press(egui::Key::F10);
    wait_for(&mut h, "Close the shift? (Enter closes");
    h.key_press(egui::Key::Enter);
    wait_for(&mut h, "Handover summary");
    wait_until(&mut h, "the shift report at the backend", |_| reports() == 1);
    click(&mut h, "Refresh");
    wait_for(&mut h, "#1 front till");
    drop(h);
    rt.block_on(async {
        backend.stop().await;
        sandbox.stop().await;
    });
}
