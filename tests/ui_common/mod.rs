//! What the whole-app kittests share: a harness on the real `TillDeskApp`, waiting for work on background threads
//! to show up (dumping the screen when it never does), and typing into a labelled field.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use tilldesk::ui::{TillDeskApp, fonts};

pub type AppHarness = Harness<'static, TillDeskApp>;

/// The app in a window of `size`, with the bundled CJK font, after two frames.
pub fn harness(app: TillDeskApp, size: [f32; 2]) -> AppHarness {
    let mut h = Harness::builder()
        .with_size(size)
        .with_context_setup(fonts::install_cjk_font)
        .build_ui_state(|ui, app: &mut TillDeskApp| app.show(ui), app);
    h.run_steps(2);
    h
}

/// Every label and value on screen (for failure messages).
pub fn screen_text<S>(h: &Harness<'_, S>) -> Vec<String> {
    h.query_all_by(|_| true).filter_map(|n| n.accesskit_node().label().or_else(|| n.accesskit_node().value())).collect()
}

/// How long a test waits for work on a background thread before it fails: generous, because a busy machine (both
/// cores taken by other processes) can be many times slower than an idle one. Nothing waits this long on a pass.
pub const PATIENCE: Duration = Duration::from_secs(180);

/// Steps the UI until `done` holds (for up to [`PATIENCE`]); on timeout, fails naming `what` and showing the screen.
/// Never sleeps: each round is one frame, and the thread yields between frames so that background work can run.
pub fn wait_until<S>(h: &mut Harness<'_, S>, what: &str, done: impl Fn(&Harness<'_, S>) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        h.step();
        if done(h) {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out waiting for {what:?}; the screen shows: {:#?}", screen_text(h));
        }
        std::thread::yield_now();
    }
}

/// Waits until at least `n` labels contain `text`.
pub fn wait_for_n<S>(h: &mut Harness<'_, S>, text: &str, n: usize) {
    wait_until(h, text, |h| h.query_all_by_label_contains(text).count() >= n);
}

/// Replaces what a field holds (select all, type over it), as a person does with the keyboard.
pub fn replace_text<S>(h: &mut Harness<'_, S>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(1);
}

/// A second store of the demo merchant, S002 Harbour 港口店 (the set-up screens' tests work with two stores).
pub fn add_harbour_store(store: &mut tilldesk::store::Store) -> tilldesk::model::StoreId {
    let merchant = store.setup_mut().merchant().unwrap();
    let s2 = tilldesk::model::Store {
        id: tilldesk::model::StoreId(0),
        merchant_id: merchant.id,
        store_code: "S002".into(),
        name: "Harbour".into(),
        name_zh: "港口店".into(),
        address: "2 Harbour Road".into(),
        contact: String::new(),
    };
    store.setup_mut().add_store(&s2, None).unwrap()
}

/// The sandbox's Alipay and WeChat Pay acquirers (made when missing): (ALIPAY, WECHATPAY).
pub fn sandbox_acquirers(
    db: &mut tilldesk::store::Store,
) -> (tilldesk::model::AcquirerId, tilldesk::model::AcquirerId) {
    use tilldesk::model::{AcquirerKind, ChannelMode};
    let mut setup = db.setup_mut();
    let alipay =
        setup.ensure_onboarding_acquirer(AcquirerKind::Alipay, "Alipay", "ALIPAY", ChannelMode::Sandbox).unwrap();
    let wechat = setup
        .ensure_onboarding_acquirer(AcquirerKind::WechatPay, "WeChat Pay", "WECHATPAY", ChannelMode::Sandbox)
        .unwrap();
    (alipay, wechat)
}

/// Marks `store` onboarded with `acquirer` as merchant `merchant_id` (an active binding, as the acquirer approved it),
/// with the wallet network's issuer GUID when the code should carry one.
pub fn activate(
    db: &mut tilldesk::store::Store,
    store: tilldesk::model::StoreId,
    acquirer: tilldesk::model::AcquirerId,
    issuer_guid: Option<&str>,
    merchant_id: &str,
) {
    use tilldesk::model::{AcquirerBinding, BindingId, BindingStatus};
    let binding = AcquirerBinding {
        id: BindingId(0),
        store_id: store,
        acquirer_id: acquirer,
        status: BindingStatus::Active,
        merchant_id_at_acquirer: Some(merchant_id.into()),
        cds_platform_id: None,
        cds_index: None,
        failure_reason: None,
        issuer_guid: issuer_guid.map(Into::into),
    };
    db.setup_mut().save_binding(&binding, "approved", "set up by the test").unwrap();
}

/// Starts the embedded sandbox in `dir/sandbox` on `rt` for `app` (which runs its network work on `rt` too); with
/// `verification_delay_ms`, onboarding's verification takes that long (so the steps can be seen).
pub fn run_on_sandbox(
    app: &mut TillDeskApp,
    dir: &std::path::Path,
    rt: &tokio::runtime::Runtime,
    verification_delay_ms: Option<u64>,
) {
    let sandbox =
        rt.block_on(tilldesk::sandbox::start(&dir.join("sandbox"), "127.0.0.1:0".parse().unwrap(), false)).unwrap();
    if let Some(delay) = verification_delay_ms {
        rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{}/admin/config", sandbox.base_url()))
                .json(&serde_json::json!({ "verification_delay_ms": delay }))
                .send()
                .await
                .unwrap()
        });
    }
    app.ctx.sandbox = tilldesk::ui::SandboxStatus::Running(sandbox);
    app.ctx.runtime = Some(rt.handle().clone());
}

/// Waits until the shell has read the record of a name given to `ctx.operator` directly (without signing in), so
/// that the screens are drawn again.
pub fn wait_for_sign_in(h: &mut AppHarness) {
    wait_until(h, "the signed-in operator's record", |h| h.state().ctx.sign_in_known());
}

/// Waits until a label contains `text`; an error in the status bar fails at once (a set-up screen's waits).
pub fn wait_for_ok(h: &mut AppHarness, text: &str) {
    wait_until(h, text, |h| {
        if let Some(err) = h.state().ctx.error.clone() {
            panic!("error while waiting for {text:?}: {err:?}");
        }
        h.query_all_by_label_contains(text).next().is_some()
    });
}

/// Waits until a label contains `text`.
pub fn wait_for<S>(h: &mut Harness<'_, S>, text: &str) {
    wait_for_n(h, text, 1);
}

/// Clicks the widget labelled `label` by its id (an accessibility action), so that a layout that moves between
/// frames (a message appearing above it) cannot make the click land elsewhere; then runs two frames.
pub fn click<S>(h: &mut Harness<'_, S>, label: &str) {
    h.get_by_label(label).click_accesskit();
    h.run_steps(2);
}

/// Focuses a text field (found by its label) and types into it.
pub fn type_into<S>(h: &mut Harness<'_, S>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(1);
}

/// Types `text` where the focus is (as a barcode scanner or a cashier's keyboard does) and presses Enter.
pub fn type_and_enter<S>(h: &mut Harness<'_, S>, text: &str) {
    h.event(egui::Event::Text(text.into()));
    h.step();
    h.key_press(egui::Key::Enter);
    h.step();
    h.step();
}

/// Text on screen that is in the other language: in the Chinese UI any English word (a run of two or more
/// letters with a lower-case letter in it: "barcode", "Sending", "WeChat"), in the English UI any Chinese character
/// or full-width punctuation. Words inside a token with a digit (ids like TD20261206…, S001, F9) and all-capital
/// abbreviations (PDF, QR, PIN, CSV, URL, ESC/POS), protocol field names (mch_id), paths and addresses and key names
/// (Esc, Enter) are allowed; `allow` lists more phrases (brand names, merchant
/// data, "mm"), taken out of each text before it is checked.
pub fn other_language_text<S>(h: &Harness<'_, S>, lang: tilldesk::i18n::Lang, allow: &[&str]) -> Vec<String> {
    // The brand, the Alipay+ network's own name, the language switch (each language named in itself), names of
    // standards and products that have no Chinese name, and WeChat Pay's own field name appid.
    const ALWAYS: &[&str] = &[
        "TillDesk",
        "Alipay+",
        "中文",
        "English",
        "EMVCo",
        "Excel",
        "Linux",
        "macOS",
        "Windows",
        "PowerShell",
        "appid",
    ];
    let mut found = Vec::new();
    for text in screen_text(h) {
        let mut rest = text.clone();
        let mut allowed: Vec<&str> = ALWAYS.iter().chain(allow).copied().collect();
        allowed.sort_by_key(|a| std::cmp::Reverse(a.len()));
        for a in allowed {
            rest = rest.replace(a, " ");
        }
        let bad = match lang {
            tilldesk::i18n::Lang::ZhCn => !english_words(&rest).is_empty(),
            tilldesk::i18n::Lang::En => rest.chars().any(is_chinese),
        };
        if bad {
            found.push(text);
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Fails, listing every text of the other language on screen (see [`other_language_text`]).
pub fn assert_one_language<S>(h: &Harness<'_, S>, lang: tilldesk::i18n::Lang, allow: &[&str], where_: &str) {
    let found = other_language_text(h, lang, allow);
    assert!(found.is_empty(), "{where_} in {lang:?} shows text of the other language: {found:#?}");
}

fn is_chinese(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{3400}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{ff01}'..='\u{ff60}')
}

/// The English words of `text`: runs of ASCII letters with a lower-case one, not part of a token with a digit
/// ("来源 barcode" → barcode; "的WeChat Pay账单" → WeChat, Pay; "TD20261206000001 · S001 · F9 · PDF" → none).
pub fn english_words(text: &str) -> Vec<String> {
    // Keys are named the same on Chinese keyboards and screens ("取消 Esc").
    const KEYS: &[&str] = &["Esc", "Enter", "Tab", "Ctrl", "Shift", "Alt", "Space", "Backspace", "Home", "End"];
    let mut words = Vec::new();
    // A path or an address is data ("数据：/tmp/x", "http://127.0.0.1:8080").
    let text: Vec<&str> = text.split_whitespace().filter(|t| !t.contains('/') && !t.contains('\\')).collect();
    let text = text.join(" ");
    for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')) {
        // Ids and the protocols' own field names (out_trade_no, mch_id) are the same in both languages.
        if token.chars().any(|c| c.is_ascii_digit() || c == '_') {
            continue;
        }
        for w in token.split(|c: char| !c.is_ascii_alphabetic()) {
            if w.len() >= 2 && w.chars().any(|c| c.is_ascii_lowercase()) && !KEYS.contains(&w) {
                words.push(w.to_owned());
            }
        }
    }
    words
}

/// A merchant backend on SQLite (in `dir/backend`) over an embedded sandbox's accounts (in `dir/sandbox`), serving
/// on loopback with `options`; `prepare` adds to its catalogue and orders before it starts.
pub fn backend_on_sandbox(
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    options: tilldesk::serve::StartOptions,
    prepare: impl FnOnce(&mut tilldesk::store::Store),
) -> (tilldesk::sandbox::RunningSandbox, tilldesk::serve::RunningBackend) {
    rt.block_on(async {
        let sandbox =
            tilldesk::sandbox::start(&dir.join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
        let home = dir.join("backend");
        std::fs::create_dir_all(&home).unwrap();
        let db = home.join(tilldesk::serve::DATABASE_FILE);
        let mut store = tilldesk::store::Store::open(&db).unwrap();
        tilldesk::sandbox::till::prepare(&mut store).unwrap();
        prepare(&mut store);
        let accounts = sandbox.state.accounts();
        let router = tilldesk::sandbox::till::router(&store, &accounts, &sandbox.base_url()).unwrap();
        let notify = tilldesk::sandbox::till::notify_keys(&store, &accounts, &sandbox.base_url()).unwrap();
        let backend = tilldesk::serve::Backend::open(&db, &home).unwrap().serving(router);
        let running = tilldesk::serve::start(backend, "127.0.0.1:0".parse().unwrap(), notify, options).await.unwrap();
        (sandbox, running)
    })
}

/// A till of S001 in `data` (its language `lang`) joined to `running`, its owner 老板 (PIN 246810) added at the
/// backend and signed in there; the till's vault (passphrase "till passphrase").
pub fn join_as_owner(
    rt: &tokio::runtime::Runtime,
    running: &tilldesk::serve::RunningBackend,
    data: &std::path::Path,
    lang: tilldesk::i18n::Lang,
) -> tilldesk::secrets::Vault {
    use tilldesk::routing::backend;
    let mut home = tilldesk::config::DataHome::open(data).unwrap();
    home.store.set_setting(tilldesk::config::SETTING_LANGUAGE, lang.tag(), None).unwrap();
    drop(home);
    let db = data.join(tilldesk::config::DATABASE_FILE);
    let mut vault = tilldesk::secrets::Vault::unlock(data, "till passphrase").unwrap();
    let code = rt.block_on(running.backend.add_till("S001", "till 1")).unwrap().code;
    rt.block_on(async {
        backend::join(&db, &mut vault, &running.base_url(), code.expose(), None).await.unwrap();
        let mut store = tilldesk::store::Store::open(&db).unwrap();
        let client = backend::client(&store, &vault).unwrap().unwrap();
        backend::add_operator(&mut store, &client, None, "老板", tilldesk::model::Role::Owner, "246810").await.unwrap();
        backend::sign_in(&mut store, &vault, "老板", "246810").await.unwrap();
    });
    vault
}
