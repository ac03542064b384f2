//! The three onboarding flows end to end against the sandbox, the refusals, and wallet payments through
//! `/simulate/scan` on a code bound to two acquirers.

use std::time::Duration;

use tilldesk::channel::cds::CdsClient;
use tilldesk::model::{AcquirerId, BindingStatus, CodeFormatChoice, StoreId};
use tilldesk::mpm::{
    CdsData, CodeFormat, MpmError, StoreCodeInput, build_store_code, decode_image, decode_store_code, render_png,
};
use tilldesk::onboarding::{
    self, CancelFlag, Onboarder, OnboardingError, PollPolicy, Progress, build_for_store, ensure_sandbox_acquirers,
};
use tilldesk::sandbox::RunningSandbox;
use tilldesk::store::Store;

struct World {
    _dir: tempfile::TempDir,
    sandbox: RunningSandbox,
    db: Store,
    client: CdsClient,
    store: StoreId,
    http: reqwest::Client,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let sandbox =
        tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let http = reqwest::Client::new();
    // Verification takes a moment, so the "pending" state is really passed through.
    http.post(format!("{}/admin/config", sandbox.base_url()))
        .json(&serde_json::json!({"verification_delay_ms": 300}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let mut db = Store::open(&dir.path().join("tilldesk.sqlite3")).unwrap();
    ensure_sandbox_acquirers(&mut db).unwrap();
    let store = db.setup_mut().default_store().unwrap();
    let client = CdsClient::new(&sandbox.base_url()).unwrap();
    World { _dir: dir, sandbox, db, client, store, http }
}

impl World {
    fn acquirer(&self, code: &str) -> AcquirerId {
        self.db.setup().acquirer_by_onboarding_code(code).unwrap().unwrap().acquirer.id
    }

    fn onboarder<'a>(&'a mut self, progress: &'a (dyn Fn(Progress) + Send + Sync)) -> Onboarder<'a> {
        Onboarder {
            db: &mut self.db,
            client: &self.client,
            poll: PollPolicy { interval: Duration::from_millis(100), timeout: Duration::from_secs(20) },
            cancel: CancelFlag::default(),
            progress,
        }
    }

    async fn scan(&self, payload: &str, amount: &str, wallet: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(format!("{}/simulate/scan", self.sandbox.base_url()))
            .json(&serde_json::json!({"payload": payload, "amount": amount, "wallet": wallet}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

fn quiet(_: Progress) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_1_without_cds_puts_the_acquirers_reference_in_the_code() {
    let mut w = world().await;
    let alipay = w.acquirer("ALIPAY");
    let steps = std::sync::Mutex::new(Vec::new());
    let record = |p: Progress| steps.lock().unwrap().push(p.step);
    let store = w.store;
    let binding = w.onboarder(&record).onboard(store, alipay, false).await.unwrap();
    assert_eq!(binding.status, BindingStatus::Active);
    let merchant_id = binding.merchant_id_at_acquirer.clone().unwrap();
    assert!(merchant_id.starts_with("ALIPAYM"), "{merchant_id}");
    assert_eq!(binding.issuer_guid.as_deref(), Some("com.alipay.sandbox"));
    assert_eq!(binding.cds_index, None);
    let reported = steps.lock().unwrap().clone();
    assert!(reported.starts_with(&["submitting", "submitted", "pending_verification"]), "{reported:?}");
    assert!(reported.contains(&"active"), "{reported:?}");

    // Every step is recorded with its time.
    let recorded: Vec<String> = w.db.setup().binding_events(binding.id).unwrap().into_iter().map(|e| e.step).collect();
    assert_eq!(recorded, ["submitted", "active"]);

    // The store code carries the acquirer's issuer id and merchant id, in both formats.
    let emv = build_for_store(&w.db, store, None).unwrap();
    assert_eq!(emv.format, CodeFormat::Emvco);
    let d = decode_store_code(&emv.payload).unwrap();
    assert_eq!(d.references.len(), 1);
    assert_eq!(
        (d.references[0].guid.as_str(), d.references[0].merchant_id.as_str()),
        ("com.alipay.sandbox", merchant_id.as_str())
    );
    assert_eq!(d.cds, None);
    assert_eq!(d.merchant_name, "TILLDESK DEMO");
    let aplus = build_for_store(&w.db, store, Some(CodeFormatChoice::AlipayPlus)).unwrap();
    assert!(aplus.payload.starts_with("HTTPS://"), "{}", aplus.payload);
    assert_eq!(decode_store_code(&aplus.payload).unwrap().references, d.references);

    // A wallet paying on that code reaches the acquirer through the reference data.
    for payload in [&emv.payload, &aplus.payload] {
        let (status, paid) = w.scan(payload, "12.34", "alipay").await;
        assert_eq!(status, 200, "{paid}");
        assert_eq!(paid["acquirer_id"], "ALIPAY");
        assert_eq!(paid["resolved_by"], "reference");
        assert_eq!(paid["merchant_id"], merchant_id.as_str());
    }

    // Onboarding the same store again with the same acquirer is refused clearly.
    let err = w.onboarder(&quiet).onboard(store, alipay, false).await.unwrap_err();
    assert!(matches!(err, OnboardingError::AlreadyOnboarded { .. }), "{err}");
    assert!(err.to_string().contains("already onboarded"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_2_and_3_one_code_reaches_two_acquirers() {
    let mut w = world().await;
    let (partner, wechat) = (w.acquirer("PARTNER1"), w.acquirer("WECHATPAY"));
    let store = w.store;

    // Flow 2: acquirer 1 registers the merchant on the CDS platform.
    let b1 = w.onboarder(&quiet).onboard(store, partner, true).await.unwrap();
    assert_eq!(b1.status, BindingStatus::Active);
    assert_eq!(b1.cds_platform_id.as_deref(), Some("SANDBOXCDS"));
    let cds_index = b1.cds_index.clone().unwrap();
    let steps: Vec<String> = w.db.setup().binding_events(b1.id).unwrap().into_iter().map(|e| e.step).collect();
    assert_eq!(steps, ["submitted", "active", "cds_registered"]);

    // The code carries the CDS data; Alipay+ is the default once an index exists.
    let code = build_for_store(&w.db, store, None).unwrap();
    assert_eq!(code.format, CodeFormat::AlipayPlusMpm);
    let d = decode_store_code(&code.payload).unwrap();
    assert_eq!(d.cds, Some(CdsData { platform_id: "SANDBOXCDS".into(), cds_index: cds_index.clone() }));

    // A second registration for the same store through another acquirer is refused: bind instead.
    let err = w.onboarder(&quiet).onboard(store, wechat, true).await.unwrap_err();
    assert!(matches!(err, OnboardingError::StoreHasCdsIndex { .. }), "{err}");

    // Flow 3: open the printed code (a picture of it), bind acquirer 2 to its index.
    let png = render_png(&code.payload, 4, 4).unwrap();
    let scanned = decode_image(&png).unwrap();
    let outcome = w.onboarder(&quiet).bind_code(store, wechat, &scanned).await.unwrap();
    assert_eq!(outcome.binding.cds_index.as_deref(), Some(cds_index.as_str()));
    assert_eq!(outcome.binding.status, BindingStatus::Active);
    let reached: Vec<&str> = outcome.listing.acquirers.iter().map(|a| a.acquirer_code.as_str()).collect();
    assert_eq!(reached, ["PARTNER1", "WECHATPAY"]);
    let steps: Vec<String> =
        w.db.setup().binding_events(outcome.binding.id).unwrap().into_iter().map(|e| e.step).collect();
    assert_eq!(steps, ["submitted", "active", "cds_bound"]);

    // The printed code has not changed, and it now reaches both acquirers.
    assert_eq!(build_for_store(&w.db, store, None).unwrap().payload, code.payload);
    let (status, alipay_paid) = w.scan(&code.payload, "8.80", "alipay").await;
    assert_eq!(status, 200, "{alipay_paid}");
    assert_eq!(
        (alipay_paid["acquirer_id"].as_str(), alipay_paid["resolved_by"].as_str()),
        (Some("PARTNER1"), Some("cds"))
    );
    assert_eq!(alipay_paid["protocol"], "alipay");
    let (status, wechat_paid) = w.scan(&code.payload, "9.90", "wechatpay").await;
    assert_eq!(status, 200, "{wechat_paid}");
    assert_eq!(
        (wechat_paid["acquirer_id"].as_str(), wechat_paid["resolved_by"].as_str()),
        (Some("WECHATPAY"), Some("cds"))
    );
    assert_eq!(wechat_paid["protocol"], "wechatpay");
    assert_eq!(wechat_paid["amount"], "9.90");
    // Each acquirer's ledger holds its own payment.
    let ledger: serde_json::Value =
        w.http.get(format!("{}/admin/ledger", w.sandbox.base_url())).send().await.unwrap().json().await.unwrap();
    let text = ledger.to_string();
    for paid in [&alipay_paid, &wechat_paid] {
        assert!(text.contains(paid["trade_no"].as_str().unwrap()), "trade missing from the ledger: {paid}");
    }

    // Refusals: the same acquirer twice, an index that does not exist, a code without CDS data.
    let err = w.onboarder(&quiet).bind_code(store, wechat, &code.payload).await.unwrap_err();
    assert!(matches!(err, OnboardingError::AlreadyBound { .. }), "{err}");
    assert!(err.to_string().contains("cannot be bound twice"), "{err}");
    let err = w.onboarder(&quiet).bind_code(store, partner, &code.payload).await.unwrap_err();
    assert!(matches!(err, OnboardingError::AlreadyBound { .. }), "{err}");

    let input = StoreCodeInput::example_for_tests("GHOST SHOP", "");
    let ghost = CdsData { platform_id: "SANDBOXCDS".into(), cds_index: "IDX999999999".into() };
    let ghost_code = build_store_code(CodeFormat::Emvco, &input, &[], Some(&ghost)).unwrap();
    let alipay = w.acquirer("ALIPAY");
    let other_store = {
        let mut s = w.db.setup().store(store).unwrap().unwrap();
        s.store_code = "S002".into();
        w.db.setup_mut().add_store(&s, None).unwrap()
    };
    let err = w.onboarder(&quiet).bind_code(other_store, alipay, &ghost_code).await.unwrap_err();
    assert!(matches!(err, OnboardingError::UnknownCdsIndex { .. }), "{err}");
    assert!(err.to_string().contains("IDX999999999"), "{err}");
    assert!(w.db.setup().binding(other_store, alipay).unwrap().is_none(), "nothing is submitted for an unknown index");

    let no_cds = build_store_code(
        CodeFormat::AlipayPlusMpm,
        &input,
        &[tilldesk::mpm::AcquirerReference { guid: "com.alipay.sandbox".into(), merchant_id: "M1".into() }],
        None,
    )
    .unwrap();
    let err = w.onboarder(&quiet).bind_code(other_store, alipay, &no_cds).await.unwrap_err();
    assert!(matches!(err, OnboardingError::Code(MpmError::NoCdsData)), "{err}");
    assert!(err.to_string().contains("carries no CDS data"), "{err}");

    // The code of store S001 cannot be used to bind store S002.
    let err = w.onboarder(&quiet).bind_code(other_store, alipay, &code.payload).await.unwrap_err();
    assert!(matches!(err, OnboardingError::CodeOfAnotherStore { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_merchant_is_recorded_as_failed_with_the_reason() {
    let mut w = world().await;
    let mut m = w.db.setup_mut().merchant().unwrap();
    m.mcc = "7995".into();
    w.db.setup_mut().update_merchant(&m, None).unwrap();
    let (store, alipay) = (w.store, w.acquirer("ALIPAY"));
    let err = w.onboarder(&quiet).onboard(store, alipay, false).await.unwrap_err();
    assert!(matches!(err, OnboardingError::VerificationFailed { .. }), "{err}");
    assert!(err.to_string().contains("gambling"), "{err}");
    let b = w.db.setup().binding(store, alipay).unwrap().unwrap();
    assert_eq!(b.status, BindingStatus::Failed);
    assert!(b.failure_reason.unwrap().contains("7995"));
    assert!(matches!(build_for_store(&w.db, store, None), Err(OnboardingError::NotOnboarded { .. })));

    // An invalid profile never leaves TillDesk.
    m.mcc = "5812".into();
    m.display_name = "A NAME THAT IS FAR TOO LONG FOR A CODE".into();
    w.db.setup_mut().update_merchant(&m, None).unwrap();
    let wechat = w.acquirer("WECHATPAY");
    let err = w.onboarder(&quiet).onboard(store, wechat, false).await.unwrap_err();
    assert!(err.to_string().contains("shorten it by 13"), "{err}");
    assert!(w.db.setup().binding(store, wechat).unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_while_verifying_keeps_the_pending_binding_and_refresh_resumes_it() {
    let mut w = world().await;
    w.http
        .post(format!("{}/admin/config", w.sandbox.base_url()))
        .json(&serde_json::json!({"verification_delay_ms": 1500}))
        .send()
        .await
        .unwrap();
    let (store, wechat) = (w.store, w.acquirer("WECHATPAY"));
    let cancel = CancelFlag::default();
    let trigger = cancel.clone();
    let on_progress = move |p: Progress| {
        if p.step == "pending_verification" {
            trigger.cancel();
        }
    };
    let mut o = w.onboarder(&on_progress);
    o.cancel = cancel;
    let err = o.onboard(store, wechat, false).await.unwrap_err();
    assert!(matches!(err, OnboardingError::Cancelled), "{err}");
    let pending = w.db.setup().binding(store, wechat).unwrap().unwrap();
    assert_eq!(pending.status, BindingStatus::PendingVerification);
    // The acquirer verifies the merchant (its clock moves on 2 s).
    w.sandbox.state.advance_clock(2);
    let refreshed = w.onboarder(&quiet).refresh(store, wechat).await.unwrap();
    assert_eq!(refreshed.status, BindingStatus::Active);
    assert_eq!(refreshed.merchant_id_at_acquirer, pending.merchant_id_at_acquirer);
}

#[test]
fn the_sandbox_acquirers_are_listed_once() {
    let mut db = Store::open_in_memory().unwrap();
    let first = ensure_sandbox_acquirers(&mut db).unwrap();
    let again = ensure_sandbox_acquirers(&mut db).unwrap();
    assert_eq!(first, again);
    let codes: Vec<&str> = first.iter().map(|a| a.onboarding_code.as_str()).collect();
    assert_eq!(codes, onboarding::SANDBOX_ACQUIRERS.iter().map(|a| a.0).collect::<Vec<_>>());
}

// ---- the CLI, as a script onboarding many stores uses it ----

struct SandboxProcess(std::process::Child);

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tilldesk(data: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    cmd.env_remove("TILLDESK_ONBOARDING_URL").env("TILLDESK_DATA_DIR", data);
    cmd
}

fn ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_cli_runs_the_three_flows() {
    use std::io::BufRead as _;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--data"])
        .arg(tmp.path().join("sandbox"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let _sandbox = SandboxProcess(child);
    let url = first.trim().strip_prefix("listening on ").unwrap().to_owned();

    // The profile and two stores.
    ok(tilldesk(&data).args([
        "onboard",
        "merchant",
        "--display-name",
        "ZHANG SAN NOODLES",
        "--display-name-zh",
        "张三面馆",
        "--city-zh",
        "上海",
    ]));
    for (code, name) in [("S002", "People's Square"), ("S003", "Jing'an")] {
        ok(tilldesk(&data).args(["onboard", "store", "--store", code, "--name", name]));
    }
    let out = tilldesk(&data)
        .args(["onboard", "merchant", "--display-name", "ZHANG SAN HAND PULLED NOODLES"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("shorten it by 4"));

    // Flow 1 for S003, flow 2 for S002.
    let line =
        ok(tilldesk(&data).args(["onboard", "direct", "--store", "S003", "--acquirer", "ALIPAY", "--url", &url]));
    assert!(line.contains("S003") && line.contains("active") && line.contains("ALIPAYM"), "{line}");
    let json = ok(tilldesk(&data).args([
        "onboard",
        "cds",
        "--store",
        "S002",
        "--acquirer",
        "PARTNER1",
        "--json",
        "--url",
        &url,
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let cds_index = v["binding"]["cds_index"].as_str().unwrap().to_owned();
    assert_eq!(v["binding"]["status"], "active");

    // The code as a picture, then flow 3 with that picture.
    let png = tmp.path().join("S002.png");
    let payload = ok(tilldesk(&data).args(["codes", "payload", "--store", "S002", "--png"]).arg(&png));
    assert!(payload.trim().starts_with("HTTPS://QR.SANDBOX.TILLDESK.LOCAL/MPM/3/"), "{payload}");
    let emv = ok(tilldesk(&data).args(["codes", "payload", "--store", "S002", "--format", "emvco"]));
    assert!(emv.contains("张三面馆") && emv.contains(&cds_index), "{emv}");
    let bound = ok(tilldesk(&data)
        .args(["onboard", "bind", "--store", "S002", "--acquirer", "WECHATPAY", "--url", &url])
        .arg(&png));
    assert!(bound.contains("the code reaches WeChat Pay (sandbox) (WECHATPAY)"), "{bound}");
    assert!(bound.contains("the code reaches Alipay+ partner acquirer (sandbox) (PARTNER1)"), "{bound}");
    let again = tilldesk(&data)
        .args([
            "onboard",
            "bind",
            "--store",
            "S002",
            "--acquirer",
            "WECHATPAY",
            "--payload",
            payload.trim(),
            "--url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("cannot be bound twice"));

    // The checker resolves the index live; the status lists every step.
    let resolved = ok(tilldesk(&data).args(["codes", "decode", "--resolve", "--json", "--url", &url]).arg(&png));
    let v: serde_json::Value = serde_json::from_str(&resolved).unwrap();
    let reached: Vec<&str> =
        v["acquirers"].as_array().unwrap().iter().map(|a| a["acquirer_id"].as_str().unwrap()).collect();
    assert_eq!(reached, ["PARTNER1", "WECHATPAY"]);
    let status = ok(tilldesk(&data).args(["onboard", "status", "--store", "S002"]));
    assert!(status.contains("cds_registered") && status.contains("cds_bound"), "{status}");
}

/// A name no font on the machine can draw is refused when it is saved, naming the characters, instead of failing
/// every print later. (U+10FFFD is a private-use character no font draws, whatever fonts the machine has.)
#[test]
fn a_name_no_font_can_print_is_refused_when_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tilldesk(&data)
        .args(["onboard", "store", "--store", "S009", "--name", "Lucky", "--name-zh", "\u{10FFFD}面馆"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("store S009 was not saved: no font on this computer can print \u{10FFFD} in --name-zh"),
        "{err}"
    );
    let list = ok(tilldesk(&data).args(["onboard", "stores"]));
    assert!(!list.contains("S009"), "nothing was saved: {list}");
    let out = tilldesk(&data).args(["onboard", "merchant", "--display-name-zh", "\u{10FFFD}"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the merchant profile was not saved: no font"));
    // A name the bundled font draws is saved.
    ok(tilldesk(&data).args(["onboard", "store", "--store", "S009", "--name", "Lucky", "--name-zh", "幸运面馆"]));
}
