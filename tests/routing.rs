//! "Several acquirers, one printed code", end to end through the command line against the sandbox: two stores and
//! three acquirers. S001 is onboarded directly with ALIPAY and WECHATPAY; S002 with PARTNER1 through CDS, and
//! WECHATPAY bound to its code. Every payment — scanned at the till or paid by a wallet scanning the printed code —
//! lands at the acquirer its store is onboarded with, as the store's merchant id, in the sandbox's ledger and in
//! `orders list --json`; refunds go back to that acquirer; each acquirer's bill reconciles with no difference; a
//! store without a route for a wallet refuses that wallet's codes before anything is written.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A child process stopped however the test ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and returns it with the first line it prints; the rest of its output is read (and dropped) on a
/// thread, so the process never blocks or fails writing to a full or closed pipe.
fn spawn_with_first_line(cmd: &mut Command) -> (Running, String) {
    let mut child = Running(cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let mut reader = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    (child, line.trim().to_owned())
}

struct Till {
    data: PathBuf,
    sandbox_dir: PathBuf,
    url: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Till {
    /// A till in `dir/data` and a stand-alone sandbox in `dir/sandbox` (stopped when the returned guard drops).
    fn with_sandbox(dir: &std::path::Path) -> (Running, Till) {
        let (data, sandbox_dir) = (dir.join("data"), dir.join("sandbox"));
        let (sandbox, line) = spawn_with_first_line(
            Command::new(env!("CARGO_BIN_EXE_tilldesk"))
                .args(["sandbox", "--listen", "127.0.0.1:0", "--data"])
                .arg(&sandbox_dir),
        );
        let url = line.trim_start_matches("listening on ").to_owned();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        (sandbox, Till { data, sandbox_dir, url, rt, http: reqwest::Client::new() })
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
        cmd.env_remove("TILLDESK_DATA_DIR").arg("--data-dir").arg(&self.data);
        cmd
    }

    /// Runs a command; returns (success, stdout, stderr).
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        self.run_with(args, &[], false)
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)], sandbox_target: bool) -> (bool, String, String) {
        let mut cmd = self.cmd();
        cmd.args(args);
        if sandbox_target {
            cmd.arg("--sandbox-url").arg(&self.url).arg("--sandbox-data").arg(&self.sandbox_dir);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "tilldesk {args:?} failed: {out}{err}");
        out
    }

    fn pay(&self, store: &str, code: &str, amount: &str) -> Value {
        let (ok, out, err) =
            self.run_with(&["pay", "--store", store, "--amount", amount, "--auth-code", code, "--json"], &[], true);
        assert!(ok, "pay at {store}: {out}{err}");
        serde_json::from_str(&out).unwrap()
    }

    fn ledger(&self) -> Value {
        self.rt.block_on(async {
            self.http.get(format!("{}/admin/ledger", self.url)).send().await.unwrap().json().await.unwrap()
        })
    }

    fn post(&self, path: &str, body: Value) -> (bool, Value) {
        self.rt.block_on(async {
            let r = self.http.post(format!("{}{path}", self.url)).json(&body).send().await.unwrap();
            let ok = r.status().is_success();
            (ok, r.json().await.unwrap_or(Value::Null))
        })
    }

    fn admin(&self, path: &str, body: Value) {
        let (ok, answer) = self.post(path, body);
        assert!(ok, "{path}: {answer}");
    }

    fn orders(&self) -> Vec<Value> {
        let out = self.ok(&["orders", "list", "--json"]);
        let v: Value = serde_json::from_str(&out).unwrap();
        v["orders"].as_array().unwrap().clone()
    }

    fn order(&self, out_trade_no: &str) -> Value {
        self.orders().into_iter().find(|o| o["out_trade_no"] == out_trade_no).unwrap()
    }
}

fn trade<'a>(ledger: &'a Value, out_trade_no: &str) -> &'a Value {
    ledger["trades"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["out_trade_no"] == out_trade_no)
        .unwrap_or_else(|| panic!("{out_trade_no} is not in the ledger: {ledger}"))
}

fn merchant_id(routes: &[Value], store: &str, wallet: &str) -> String {
    let r = routes.iter().find(|r| r["store_code"] == store && r["wallet"] == wallet).unwrap();
    r["merchant_id"].as_str().unwrap().to_owned()
}

#[test]
fn two_stores_three_acquirers_every_payment_refund_and_bill_goes_through_the_stores_own_acquirer() {
    let tmp = tempfile::tempdir().unwrap();
    let (_sandbox, till) = Till::with_sandbox(tmp.path());
    let url = till.url.clone();
    // Verification is instant; every trade happens "yesterday" at the acquirers, so today's bill request finds it.
    till.admin("/admin/config", json!({"verification_delay_ms": 0, "clock_offset_secs": -86_400}));

    // Onboarding: S001 directly with ALIPAY and WECHATPAY; S002 with PARTNER1 through CDS, WECHATPAY bound to its code.
    let remote = ["--url", url.as_str()];
    till.ok(&[&["onboard", "direct", "--store", "S001", "--acquirer", "ALIPAY"][..], &remote].concat());
    till.ok(&[&["onboard", "direct", "--store", "S001", "--acquirer", "WECHATPAY"][..], &remote].concat());
    till.ok(&["onboard", "store", "--store", "S002", "--name", "Second Street", "--name-zh", "二店"]);
    till.ok(&[&["onboard", "cds", "--store", "S002", "--acquirer", "PARTNER1"][..], &remote].concat());
    let s002_code = till.ok(&["codes", "payload", "--store", "S002"]).trim().to_owned();
    till.ok(&[
        &["onboard", "bind", "--store", "S002", "--acquirer", "WECHATPAY", "--payload", &s002_code][..],
        &remote,
    ]
    .concat());

    // The routing table: store × wallet → acquirer, with the merchant id each onboarding returned.
    let routes: Vec<Value> = serde_json::from_str(&till.ok(&["acquirers", "list", "--json"])).unwrap();
    let table: Vec<(String, String, String)> = routes
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_owned();
            (s("store_code"), s("wallet"), s("acquirer"))
        })
        .collect();
    let expect = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        table,
        [
            expect("S001", "alipay", "ALIPAY"),
            expect("S001", "wechatpay", "WECHATPAY"),
            expect("S002", "alipay", "PARTNER1"),
            expect("S002", "wechatpay", "WECHATPAY"),
        ]
    );
    assert!(routes.iter().all(|r| r["status"] == "active" && r["merchant_id"].is_string()), "{routes:?}");
    let (m_s001_alipay, m_s001_wechat) =
        (merchant_id(&routes, "S001", "alipay"), merchant_id(&routes, "S001", "wechatpay"));
    let (m_s002_alipay, m_s002_wechat) =
        (merchant_id(&routes, "S002", "alipay"), merchant_id(&routes, "S002", "wechatpay"));
    assert_ne!(m_s001_wechat, m_s002_wechat, "each store is its own merchant at WECHATPAY");

    // Scanned at the till: each payment reaches its store's acquirer as the store's merchant.
    let cases = [
        ("S001", "2800000000000000", "1.01", "ALIPAY", &m_s001_alipay),
        ("S002", "2800000000000000", "2.02", "PARTNER1", &m_s002_alipay),
        ("S001", "130000000000000000", "3.03", "WECHATPAY", &m_s001_wechat),
        ("S002", "130000000000000000", "4.04", "WECHATPAY", &m_s002_wechat),
    ];
    let mut paid = Vec::new();
    for (store, code, amount, acquirer, merchant) in cases {
        let order = till.pay(store, code, amount);
        assert_eq!(order["status"], "PAID", "{order}");
        let out = order["out_trade_no"].as_str().unwrap().to_owned();
        let ledger = till.ledger();
        let t = trade(&ledger, &out);
        assert_eq!(
            (t["acquirer_id"].as_str(), t["merchant_id"].as_str()),
            (Some(acquirer), Some(merchant.as_str())),
            "{t}"
        );
        let listed = till.order(&out);
        assert_eq!((listed["store"].as_str(), listed["acquirer"].as_str()), (Some(store), Some(acquirer)), "{listed}");
        assert_eq!(listed["acquirer_merchant_id"].as_str(), Some(merchant.as_str()));
        paid.push((out, acquirer));
    }

    // A wallet scanning each store's printed code: the notification files the order under that store and acquirer.
    let (_sync, line) = spawn_with_first_line(
        till.cmd().args(["sync", "--sandbox-url", &url, "--sandbox-data"]).arg(&till.sandbox_dir),
    );
    assert!(line.starts_with("notifications: listening on http://127.0.0.1:"), "{line}");
    let s001_code = till.ok(&["codes", "payload", "--store", "S001"]).trim().to_owned();
    let scans = [
        (&s001_code, "alipay", "5.05", "S001", "ALIPAY"),
        (&s001_code, "wechatpay", "6.06", "S001", "WECHATPAY"),
        (&s002_code, "alipay", "7.07", "S002", "PARTNER1"),
        (&s002_code, "wechatpay", "8.08", "S002", "WECHATPAY"),
    ];
    for (payload, wallet, amount, store, acquirer) in scans {
        let (ok, scan) = till.post("/simulate/scan", json!({"payload": payload, "amount": amount, "wallet": wallet}));
        assert!(ok, "{scan}");
        assert_eq!(scan["acquirer_id"], acquirer, "{scan}");
        let out = scan["out_trade_no"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + Duration::from_secs(120);
        let order = loop {
            if let Some(o) = till.orders().into_iter().find(|o| o["out_trade_no"] == out.as_str()) {
                break o;
            }
            assert!(Instant::now() < deadline, "the notification of {out} never made an order");
            std::thread::yield_now();
        };
        assert_eq!((order["store"].as_str(), order["acquirer"].as_str()), (Some(store), Some(acquirer)), "{order}");
        assert_eq!((order["source"].as_str(), order["status"].as_str()), (Some("store_code"), Some("PAID")));
        paid.push((out, acquirer));
    }

    // Refunds go back to the acquirer that took the payment.
    till.ok_env(&["operators", "add", "Owner", "--role", "owner"], &[("TILLDESK_NEW_PIN", "246810")]);
    for (out, acquirer) in &paid {
        let (ok, stdout, err) = till.run_with(
            &["refund", out, "--amount", "1.00", "--reason", "退一元", "--operator", "Owner", "--json"],
            &[("TILLDESK_PIN", "246810")],
            true,
        );
        assert!(ok, "refund {out}: {stdout}{err}");
        let ledger = till.ledger();
        let t = trade(&ledger, out);
        assert_eq!(t["acquirer_id"].as_str(), Some(*acquirer));
        assert_eq!(t["refunded_amount"], 100, "the refund reached {acquirer}: {t}");
    }

    // A store with no route for a wallet refuses its codes, plainly, before anything is written.
    till.ok(&["acquirers", "unroute", "--store", "S002", "--wallet", "wechat"]);
    let before = till.orders().len();
    let (ok, _, err) =
        till.run_with(&["pay", "--store", "S002", "--amount", "1.00", "--auth-code", "130000000000000000"], &[], true);
    assert!(!ok);
    assert!(
        err.contains("S002 takes no WeChat Pay codes: onboard it with an acquirer for WeChat Pay (收单机构)"),
        "{err}"
    );
    assert_eq!(till.orders().len(), before, "nothing was written");

    // Each acquirer's bill of the day, and the reconciliation: no difference anywhere.
    till.admin("/admin/config", json!({"verification_delay_ms": 0, "clock_offset_secs": 0}));
    let china = time::UtcOffset::from_hms(8, 0, 0).unwrap();
    let yesterday = (time::OffsetDateTime::now_utc().to_offset(china).date() - time::Duration::days(1)).to_string();
    let (ok, out, err) = till.run_with(&["bills", "fetch", "--date", &yesterday, "--json"], &[], true);
    assert!(ok, "{out}{err}");
    let fetched: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(fetched.len(), 3, "ALIPAY, WECHATPAY and PARTNER1 each sent a bill: {out}");
    let out = till.ok(&["reconcile", "--date", &yesterday, "--json"]);
    let reports: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(reports.len(), 3, "{out}");
    let mut matched = 0;
    for r in &reports {
        assert!(r["discrepancies"].as_array().unwrap().is_empty(), "{r}");
        matched += r["matched"]["count"].as_i64().unwrap();
    }
    assert!(matched >= 8, "every payment (and its refund) matched: {out}");
}

impl Till {
    fn ok_env(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let (ok, out, err) = self.run_with(args, env, false);
        assert!(ok, "tilldesk {args:?} failed: {out}{err}");
        out
    }
}

/// `tilldesk sync` in live mode uses exactly the channels `tilldesk pay` uses: the live gateway with the vault's
/// keys. A reverse the live gateway never confirmed stays in the outbox; the sandbox is not even started.
#[test]
fn live_sync_delivers_only_what_the_live_gateway_confirms() {
    let tmp = tempfile::tempdir().unwrap();
    // Another TillDesk sandbox plays the live acquirer: the till reaches it only through the URL and keys below.
    let (_gateway, till) = Till::with_sandbox(tmp.path());
    let (data, sandbox_dir, url) = (till.data.clone(), till.sandbox_dir.clone(), till.url.clone());
    let accounts: Value =
        serde_json::from_str(&std::fs::read_to_string(sandbox_dir.join("sandbox.json")).unwrap()).unwrap();
    let alipay = accounts["acquirers"].as_array().unwrap().iter().find(|a| a["acquirer_id"] == "ALIPAY").unwrap();
    let account = &alipay["account"]["alipay"];
    let env = [("TILLDESK_PASSPHRASE", "correct horse battery staple")];
    let keys = |args: &[&str]| {
        let (ok, out, err) = till.run_with(args, &env, false);
        assert!(ok, "{args:?}: {out}{err}");
    };
    let private = tmp.path().join("app_private_key.pem");
    std::fs::write(&private, account["app_private_key_pkcs8_pem"].as_str().unwrap()).unwrap();
    let platform = tmp.path().join("alipay_public_key.pem");
    std::fs::write(&platform, account["alipay_public_key_pem"].as_str().unwrap()).unwrap();
    let app_id = account["app_id"].as_str().unwrap();
    // The gateway is down (nothing listens on port 9 of loopback).
    keys(&[
        "keys",
        "set",
        "--acquirer",
        "alipay",
        "--gateway-url",
        "http://127.0.0.1:9/gateway.do",
        "--app-id",
        app_id,
    ]);
    keys(&["keys", "import-private-key", private.to_str().unwrap()]);
    keys(&["keys", "import-platform-key", platform.to_str().unwrap()]);
    keys(&["keys", "mode", "live"]);

    // A payment whose reverse was never confirmed: NEEDS_ATTENTION, queued.
    let out_trade_no = "TDLIVE0000000001";
    {
        use tilldesk::model::{AcquirerKind, OrderStatus};
        let mut store = tilldesk::store::Store::open(&data.join(tilldesk::config::DATABASE_FILE)).unwrap();
        let new = tilldesk::store::orders::NewOrder {
            out_trade_no: out_trade_no.into(),
            store_id: store.setup_mut().default_store().unwrap(),
            acquirer_id: store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap(),
            operator_id: None,
            subject: "live".into(),
            total_amount: tilldesk::money::Amount::from_fen(500),
            auth_code_masked: "280000******0000".into(),
            acquirer_merchant_id: None,
            terminal_id: None,
        };
        let order = store.orders_mut().create_order(&new).unwrap();
        let attention = tilldesk::store::transitions::OrderMove::to(
            OrderStatus::NeedsAttention,
            "needs_attention",
            "the cancel was not confirmed",
        );
        store.orders_mut().move_order(order.id, &attention).unwrap();
        let payload = json!({ "out_trade_no": out_trade_no, "verb": "cancel" }).to_string();
        store.sync_mut().enqueue_outbox("cancel", &format!("cancel:{out_trade_no}"), &payload).unwrap();
    }
    let sync = |expect_delivered: i64| {
        let (ok, out, err) = till.run_with(&["sync", "--once", "--json"], &env, false);
        assert!(ok, "{out}{err}");
        let run: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(run["outbox_delivered"], expect_delivered, "{run}");
        run
    };
    let run = sync(0);
    assert_eq!(run["online"], false, "the live gateway is down: {run}");
    assert_eq!(till.order(out_trade_no)["status"], "NEEDS_ATTENTION");
    assert!(!data.join("sandbox").exists(), "a live till never starts the sandbox");
    assert!(till.ledger()["trades"].as_array().unwrap().is_empty(), "the gateway received nothing");

    // The gateway is reachable: the cancel goes to it, and only its confirmation marks the order cancelled.
    let gateway = format!("{url}/acquirers/ALIPAY/gateway.do");
    keys(&["keys", "set", "--acquirer", "alipay", "--gateway-url", &gateway, "--app-id", app_id]);
    sync(1);
    assert_eq!(till.order(out_trade_no)["status"], "CANCELLED");
    let ledger = till.ledger();
    let closed = trade(&ledger, out_trade_no);
    assert_eq!(
        (closed["acquirer_id"].as_str(), closed["status"].as_str()),
        (Some("ALIPAY"), Some("CLOSED")),
        "{closed}"
    );
}

/// A wallet paid the printed code but no notification ever reached the till: the day's bill records it as the
/// store's sale (source store_code, the store the acquirer takes payments for), not as a difference.
#[test]
fn a_store_code_payment_the_till_never_heard_of_is_recorded_from_the_bill() {
    let tmp = tempfile::tempdir().unwrap();
    let (_sandbox, till) = Till::with_sandbox(tmp.path());
    let url = till.url.clone();
    till.admin("/admin/config", json!({"verification_delay_ms": 0, "clock_offset_secs": -86_400}));
    till.ok(&["onboard", "direct", "--store", "S001", "--acquirer", "ALIPAY", "--url", &url]);
    let code = till.ok(&["codes", "payload", "--store", "S001"]).trim().to_owned();
    // Nobody listens: the till never hears of this payment.
    let (ok, scan) = till.post("/simulate/scan", json!({"payload": code, "amount": "18.80", "wallet": "alipay"}));
    assert!(ok, "{scan}");
    assert_eq!(scan["notification_queued"], false, "{scan}");
    let out_trade_no = scan["out_trade_no"].as_str().unwrap().to_owned();
    assert!(till.orders().iter().all(|o| o["out_trade_no"] != out_trade_no.as_str()));

    till.admin("/admin/config", json!({"verification_delay_ms": 0, "clock_offset_secs": 0}));
    let china = time::UtcOffset::from_hms(8, 0, 0).unwrap();
    let yesterday = (time::OffsetDateTime::now_utc().to_offset(china).date() - time::Duration::days(1)).to_string();
    let (ok, out, err) = till.run_with(&["bills", "fetch", "--acquirer", "ALIPAY", "--date", &yesterday], &[], true);
    assert!(ok, "{out}{err}");
    let out = till.ok(&["reconcile", "--date", &yesterday, "--acquirer", "ALIPAY", "--json"]);
    let reports: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(reports[0]["discrepancies"].as_array().unwrap().is_empty(), "{out}");
    assert_eq!(reports[0]["matched"]["count"], 1, "{out}");
    let order = till.order(&out_trade_no);
    assert_eq!(
        (order["store"].as_str(), order["acquirer"].as_str(), order["source"].as_str(), order["status"].as_str()),
        (Some("S001"), Some("ALIPAY"), Some("store_code"), Some("PAID")),
        "{order}"
    );
    assert_eq!(order["total_amount"], 1880);
}

/// Live mode is the live profile of the same accounts and routes: each store's payments go to its own acquirer's
/// live gateway with that account's keys (ALIPAY for S001's direct contract, PARTNER1 for S002 onboarded through
/// CDS), as the store's merchant id.
#[test]
fn live_mode_pays_each_store_through_its_own_acquirer_account() {
    let tmp = tempfile::tempdir().unwrap();
    // A TillDesk sandbox plays the live acquirers: the till reaches them only through the URLs and keys below.
    let (_gateway, till) = Till::with_sandbox(tmp.path());
    let url = till.url.clone();
    till.admin("/admin/config", json!({"verification_delay_ms": 0}));
    till.ok(&["onboard", "store", "--store", "S002", "--name", "Second Street", "--name-zh", "二店"]);
    till.ok(&["onboard", "cds", "--store", "S002", "--acquirer", "PARTNER1", "--url", &url]);
    let accounts: Value =
        serde_json::from_str(&std::fs::read_to_string(till.sandbox_dir.join("sandbox.json")).unwrap()).unwrap();
    let env = [("TILLDESK_PASSPHRASE", "correct horse battery staple")];
    for (sandbox_id, acquirer) in [("ALIPAY", "alipay"), ("PARTNER1", "alipayplus")] {
        let a = accounts["acquirers"].as_array().unwrap().iter().find(|a| a["acquirer_id"] == sandbox_id).unwrap();
        let account = &a["account"]["alipay"];
        let private = tmp.path().join(format!("{sandbox_id}-private.pem"));
        std::fs::write(&private, account["app_private_key_pkcs8_pem"].as_str().unwrap()).unwrap();
        let platform = tmp.path().join(format!("{sandbox_id}-platform.pem"));
        std::fs::write(&platform, account["alipay_public_key_pem"].as_str().unwrap()).unwrap();
        let gateway = format!("{url}/acquirers/{sandbox_id}/gateway.do");
        let app_id = account["app_id"].as_str().unwrap();
        for args in [
            vec!["keys", "set", "--acquirer", acquirer, "--gateway-url", &gateway, "--app-id", app_id],
            vec!["keys", "import-private-key", "--acquirer", acquirer, private.to_str().unwrap()],
            vec!["keys", "import-platform-key", "--acquirer", acquirer, platform.to_str().unwrap()],
            vec!["keys", "test", "--acquirer", acquirer],
        ] {
            let (ok, out, err) = till.run_with(&args, &env, false);
            assert!(ok, "{args:?}: {out}{err}");
        }
    }
    let (ok, out, err) = till.run_with(&["keys", "mode", "live"], &env, false);
    assert!(ok, "{out}{err}");
    let routes: Vec<Value> = serde_json::from_str(&till.ok(&["acquirers", "list", "--json"])).unwrap();
    let partner_merchant = merchant_id(&routes, "S002", "alipay");
    for (store, amount, acquirer, merchant) in
        [("S001", "1.11", "ALIPAY", None), ("S002", "2.22", "PARTNER1", Some(partner_merchant.as_str()))]
    {
        let (ok, out, err) = till.run_with(
            &["pay", "--store", store, "--amount", amount, "--auth-code", "2800000000000000", "--json"],
            &env,
            false,
        );
        assert!(ok, "{out}{err}");
        let order: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(order["status"], "PAID", "{order}");
        let ledger = till.ledger();
        let t = trade(&ledger, order["out_trade_no"].as_str().unwrap());
        assert_eq!(t["acquirer_id"].as_str(), Some(acquirer), "{t}");
        if let Some(m) = merchant {
            assert_eq!(t["merchant_id"].as_str(), Some(m), "{t}");
        }
    }
    assert!(!till.data.join("sandbox").exists(), "a live till never starts the sandbox");
}
