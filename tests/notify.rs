//! The notify listener against the sandbox: a wallet scanning the store code (`/simulate/scan`) becomes a PAID
//! order through the sandbox's signed notification; valid notifications delivered three times are recorded once;
//! unsigned, tampered and wrongly signed ones are refused and logged.

use std::collections::BTreeMap;
use std::time::Duration;

use tilldesk::channel::alipay::sign as alipay_sign;
use tilldesk::channel::cds::CdsClient;
use tilldesk::channel::wechatpay::sign::{self as wx_sign, SignType};
use tilldesk::channel::wechatpay::wire::to_xml;
use tilldesk::model::{OrderSource, OrderStatus};
use tilldesk::onboarding::{CancelFlag, Onboarder, PollPolicy, build_for_store, ensure_sandbox_acquirers};
use tilldesk::store::Store;
use tilldesk::sync::notify;

const WECHAT_OK: &str =
    "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

struct World {
    _dir: tempfile::TempDir,
    sandbox: tilldesk::sandbox::RunningSandbox,
    listener: notify::NotifyListener,
    db: std::path::PathBuf,
    http: reqwest::Client,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let sandbox =
        tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let db = dir.path().join("tilldesk.sqlite3");
    let accounts = sandbox.state.accounts();
    let mut store = Store::open(&db).unwrap();
    tilldesk::sandbox::till::prepare(&mut store).unwrap();
    let keys = tilldesk::sandbox::till::notify_keys(&store, &accounts, &sandbox.base_url()).unwrap();
    drop(store);
    let listener = notify::listen("127.0.0.1:0".parse().unwrap(), &db, keys).await.unwrap();
    let http = reqwest::Client::new();
    tilldesk::sandbox::till::register_notify_url(
        &http,
        &sandbox.base_url(),
        &accounts.merchants[0].alipay.app_id,
        &listener.url(),
    )
    .await
    .unwrap();
    World { _dir: dir, sandbox, listener, db, http }
}

impl World {
    async fn post(&self, path: &str, body: String, content_type: &str) -> String {
        self.http
            .post(format!("http://{}{path}", self.listener.addr))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    fn store(&self) -> Store {
        Store::open(&self.db).unwrap()
    }
}

fn alipay_form(
    platform_key_pem: &str,
    app_id: &str,
    out_trade_no: &str,
    trade_no: &str,
    amount: &str,
) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    for (k, v) in [
        ("notify_time", "2026-11-25 10:00:05"),
        ("notify_type", "trade_status_sync"),
        ("notify_id", "2026112500222100005abcdef"),
        ("app_id", app_id),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("trade_no", trade_no),
        ("out_trade_no", out_trade_no),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", amount),
        ("subject", "店铺码付款"),
        ("gmt_payment", "2026-11-25 10:00:04"),
    ] {
        p.insert(k.to_owned(), v.to_owned());
    }
    let key = alipay_sign::parse_private_key(platform_key_pem).unwrap();
    let sign = alipay_sign::sign_rsa2(&key, &alipay_sign::notify_sign_content(&p)).unwrap();
    p.insert("sign".into(), sign);
    p
}

fn form(p: &BTreeMap<String, String>) -> String {
    serde_urlencoded::to_string(p).unwrap()
}

/// Onboards the default store with the sandbox's ALIPAY (no CDS); returns the store, the acquirer and its code.
async fn onboard_with_alipay(
    db: &mut Store,
    url: &str,
) -> (tilldesk::model::StoreId, tilldesk::model::AcquirerId, tilldesk::onboarding::BuiltCode) {
    let store_id = db.setup_mut().default_store().unwrap();
    let alipay = db.setup().acquirer_by_onboarding_code("ALIPAY").unwrap().unwrap().acquirer.id;
    let client = CdsClient::new(url).unwrap();
    let quiet = |_| {};
    let mut onboarder = Onboarder {
        db,
        client: &client,
        poll: PollPolicy { interval: Duration::from_millis(50), timeout: Duration::from_secs(60) },
        cancel: CancelFlag::default(),
        progress: &quiet,
    };
    onboarder.onboard(store_id, alipay, false).await.unwrap();
    (store_id, alipay, build_for_store(db, store_id, None).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_code_payment_through_simulate_scan_appears_in_orders() {
    let w = world().await;
    let mut db = w.store();
    ensure_sandbox_acquirers(&mut db).unwrap();
    let (_, _, code) = onboard_with_alipay(&mut db, &w.sandbox.base_url()).await;
    let scan: serde_json::Value = w
        .http
        .post(format!("{}/simulate/scan", w.sandbox.base_url()))
        .json(&serde_json::json!({"payload": code.payload, "amount": "23.45"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scan["notification_queued"], true, "{scan}");
    let out_trade_no = scan["out_trade_no"].as_str().unwrap().to_owned();
    // The notification arrives on its own time: look until it has (a generous bound for a busy machine).
    let mut order = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        order = w.store().orders().order_by_out_trade_no(&out_trade_no).unwrap();
        if order.is_some() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let order = order.expect("the notification made an order");
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.source, OrderSource::StoreCode);
    assert_eq!(order.total_amount.fen(), 2345);
    assert_eq!(order.trade_no.as_deref(), scan["trade_no"].as_str());
    assert!(order.paid_at.is_some());
    // It is among the orders the Orders screen and `tilldesk orders list` show.
    assert!(w.store().orders().recent_orders(10).unwrap().iter().any(|o| o.out_trade_no == out_trade_no));
    // The sandbox got its "success": the notification is delivered, not retried. The till writes the order before
    // it answers, and the sandbox marks the delivery when the answer reaches it: look until it has.
    let mut n = serde_json::Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        let ledger: serde_json::Value =
            w.http.get(format!("{}/admin/ledger", w.sandbox.base_url())).send().await.unwrap().json().await.unwrap();
        let notes = ledger["notifications"].as_array().unwrap();
        n = notes.iter().find(|n| n["trade_no"] == scan["trade_no"]).cloned().unwrap();
        if n["delivered_at"].is_string() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(n["delivered_at"].is_string(), "{n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_notifications_are_recorded_once_and_bad_ones_refused() {
    let w = world().await;
    let acc = w.sandbox.state.accounts();
    let platform = &acc.platform.alipay_private_key_pkcs8_pem;
    let app_id = &acc.merchants[0].alipay.app_id;
    let good = alipay_form(platform, app_id, "SCTEST1", "2026112522001400001", "12.00");
    for _ in 0..3 {
        assert_eq!(w.post("/notify", form(&good), "application/x-www-form-urlencoded").await, "success");
    }
    let store = w.store();
    let order = store.orders().order_by_out_trade_no("SCTEST1").unwrap().unwrap();
    assert_eq!((order.status, order.total_amount.fen()), (OrderStatus::Paid, 1200));
    let seen = store.sync().recent_notifications(20).unwrap();
    let verified: Vec<_> = seen.iter().filter(|n| n.verified).collect();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].times, 3);

    // Tampered: the amount changed after signing.
    let mut tampered = alipay_form(platform, app_id, "SCTEST2", "2026112522001400002", "1.00");
    tampered.insert("total_amount".into(), "1000.00".into());
    // Unsigned.
    let mut unsigned = alipay_form(platform, app_id, "SCTEST3", "2026112522001400003", "1.00");
    unsigned.remove("sign");
    // Signed with another key (the merchant's own app key, not Alipay's).
    let wrong =
        alipay_form(&acc.merchants[0].alipay.app_private_key_pkcs8_pem, app_id, "SCTEST4", "20261125X4", "1.00");
    // Signed by Alipay, but for another merchant's app.
    let other_app = alipay_form(platform, &acc.merchants[1].alipay.app_id, "SCTEST5", "20261125X5", "1.00");
    for bad in [&tampered, &unsigned, &wrong, &other_app] {
        assert_eq!(w.post("/notify/alipay", form(bad), "application/x-www-form-urlencoded").await, "failure");
    }
    assert_eq!(w.post("/notify/alipay", "not a form at all %%%".into(), "text/plain").await, "failure");
    let store = w.store();
    for out in ["SCTEST2", "SCTEST3", "SCTEST4", "SCTEST5"] {
        assert!(store.orders().order_by_out_trade_no(out).unwrap().is_none(), "{out} must not become an order");
    }
    let rejected: Vec<_> = store.sync().recent_notifications(20).unwrap().into_iter().filter(|n| !n.verified).collect();
    assert_eq!(rejected.len(), 5, "{rejected:?}");
    assert!(rejected.iter().all(|n| n.outcome == "rejected"));
    assert!(rejected.iter().any(|n| n.detail.contains("unsigned")), "{rejected:?}");
    assert!(rejected.iter().any(|n| n.detail.contains("does not verify")), "{rejected:?}");
    assert!(rejected.iter().any(|n| n.detail.contains("not this till's")), "{rejected:?}");
}

fn wechat_xml(
    api_key: &str,
    mch_id: &str,
    out_trade_no: &str,
    transaction_id: &str,
    fee: &str,
) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    for (k, v) in [
        ("return_code", "SUCCESS"),
        ("appid", "wxsandbox0000001"),
        ("mch_id", mch_id),
        ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
        ("result_code", "SUCCESS"),
        ("openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
        ("trade_type", "NATIVE"),
        ("bank_type", "OTHERS"),
        ("total_fee", fee),
        ("fee_type", "CNY"),
        ("cash_fee", fee),
        ("transaction_id", transaction_id),
        ("out_trade_no", out_trade_no),
        ("time_end", "20261125100004"),
    ] {
        f.insert(k.to_owned(), v.to_owned());
    }
    let sign = wx_sign::sign(&f, api_key, SignType::Md5);
    f.insert("sign".into(), sign);
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_notifications_are_recorded_once_and_bad_ones_refused() {
    let w = world().await;
    let acc = w.sandbox.state.accounts();
    let key = &acc.merchants[0].wechatpay.api_key;
    let mch = &acc.merchants[0].wechatpay.mch_id;
    let good = wechat_xml(key, mch, "SCWX1", "4200000001202611250000000001", "880");
    for _ in 0..3 {
        assert_eq!(w.post("/notify", to_xml(&good), "text/xml").await, WECHAT_OK);
    }
    let store = w.store();
    let order = store.orders().order_by_out_trade_no("SCWX1").unwrap().unwrap();
    assert_eq!((order.status, order.total_amount.fen()), (OrderStatus::Paid, 880));
    assert_eq!(order.trade_no.as_deref(), Some("4200000001202611250000000001"));
    assert_eq!(store.sync().recent_notifications(10).unwrap().iter().filter(|n| n.verified).count(), 1);

    let mut tampered = wechat_xml(key, mch, "SCWX2", "42000000012", "1");
    tampered.insert("total_fee".into(), "100000".into());
    let mut unsigned = wechat_xml(key, mch, "SCWX3", "42000000013", "1");
    unsigned.remove("sign");
    let wrong = wechat_xml(&"k".repeat(32), mch, "SCWX4", "42000000014", "1");
    for bad in [&tampered, &unsigned, &wrong] {
        let reply = w.post("/notify/wechatpay", to_xml(bad), "text/xml").await;
        assert!(reply.contains("FAIL"), "{reply}");
    }
    let store = w.store();
    for out in ["SCWX2", "SCWX3", "SCWX4"] {
        assert!(store.orders().order_by_out_trade_no(out).unwrap().is_none(), "{out}");
    }
    assert_eq!(store.sync().recent_notifications(10).unwrap().iter().filter(|n| n.outcome == "rejected").count(), 3);
}

/// A wallet pays the store code while the till is closed: the acquirer's notification fails, and its retry reaches
/// the till once it opens again, because the listener comes back on the address it had (kept in the settings and
/// registered again on start). The order is filed under the store whose code was scanned and the acquirer that
/// took it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_code_payment_made_while_the_till_was_closed_arrives_when_it_opens_again() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox =
        tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let url = sandbox.base_url();
    {
        let mut config = sandbox.state.config.lock().unwrap();
        config.verification_delay_ms = 0;
        config.notify_retry_ms = vec![300; 200];
    }
    let accounts = sandbox.state.accounts();
    let data = dir.path().join("till");
    std::fs::create_dir_all(&data).unwrap();
    let db_path = data.join(tilldesk::config::DATABASE_FILE);
    let mut db = Store::open(&db_path).unwrap();
    tilldesk::sandbox::till::prepare(&mut db).unwrap();
    let (store_id, alipay, code) = onboard_with_alipay(&mut db, &url).await;
    drop(db);

    // The till runs once: its listener gets an address, which is kept.
    let first = tilldesk::sandbox::till::listen(&data, &accounts, &url, None).await.unwrap();
    let addr = first.addr;
    first.stop().await;
    assert_eq!(
        Store::open(&db_path).unwrap().setting(notify::SETTING_LISTEN).unwrap().as_deref(),
        Some(addr.to_string().as_str())
    );

    // Closed: the wallet pays; the acquirer cannot deliver the notification.
    let http = reqwest::Client::new();
    let scan: serde_json::Value = http
        .post(format!("{url}/simulate/scan"))
        .json(&serde_json::json!({"payload": code.payload, "amount": "9.99", "wallet": "alipay"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scan["notification_queued"], true, "{scan}");
    let out_trade_no = scan["out_trade_no"].as_str().unwrap().to_owned();
    let attempted = |ledger: &serde_json::Value| {
        ledger["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["trade_no"] == scan["trade_no"] && n["attempts"].as_i64().unwrap_or(0) >= 1)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let ledger: serde_json::Value =
            http.get(format!("{url}/admin/ledger")).send().await.unwrap().json().await.unwrap();
        if attempted(&ledger) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the sandbox never tried to notify: {ledger}");
        tokio::task::yield_now().await;
    }
    assert!(Store::open(&db_path).unwrap().orders().order_by_out_trade_no(&out_trade_no).unwrap().is_none());

    // Open again: same address, and the acquirer's next retry lands.
    let second = tilldesk::sandbox::till::listen(&data, &accounts, &url, None).await.unwrap();
    assert_eq!(second.addr, addr, "the listener comes back where the acquirer retries");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let order = loop {
        if let Some(o) = Store::open(&db_path).unwrap().orders().order_by_out_trade_no(&out_trade_no).unwrap() {
            break o;
        }
        assert!(std::time::Instant::now() < deadline, "the retried notification never arrived");
        tokio::task::yield_now().await;
    };
    assert_eq!((order.store_id, order.acquirer_id, order.source), (store_id, alipay, OrderSource::StoreCode));
    assert_eq!(order.total_amount.fen(), 999);
    second.stop().await;
    sandbox.stop().await;
}
