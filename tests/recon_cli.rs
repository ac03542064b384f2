//! `tilldesk bills import`, `tilldesk bills fetch` and `tilldesk reconcile` as a script uses them.

mod recon_common;

use std::process::Command;

use recon_common::{fixture, seed_local};
use tilldesk::model::AcquirerKind;

fn tilldesk(data: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    cmd.env_remove("TILLDESK_DATA_DIR").arg("--data-dir").arg(data);
    cmd
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn import_twice_then_reconcile_prints_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let mut home = tilldesk::config::DataHome::open(tmp.path()).unwrap();
        seed_local(&mut home.store, AcquirerKind::WechatPay);
        seed_local(&mut home.store, AcquirerKind::Alipay);
    }
    let wechat = fixture("wechat_20261124.txt");
    let (ok, out, err) = run(tilldesk(tmp.path()).args(["bills", "import"]).arg(&wechat));
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("Imported 10 rows: WeChat Pay ALL bill of 2026-11-24 ({}).", wechat.display()));
    let (ok, out, _) = run(tilldesk(tmp.path()).args(["bills", "import", "--json"]).arg(&wechat));
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["already_imported"], true);
    assert_eq!(json["bill"]["row_count"], 10);
    assert_eq!((json["bill_type"].as_str(), json["result"].as_str()), (Some("ALL"), Some("already_imported")));
    let (ok, out, err) = run(tilldesk(tmp.path())
        .args(["bills", "import", "--acquirer", "alipay", "--json"])
        .arg(fixture("alipay_20261124.csv.zip")));
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((json["acquirer"].as_str(), json["format"].as_str()), (Some("alipay"), Some("alipay_zip")));
    assert_eq!((json["bill_type"].as_str(), json["result"].as_str()), (Some("trade"), Some("imported")));
    assert_eq!(json["warnings"], serde_json::json!([]));

    // Both acquirers' reports, as the fixtures expect them.
    let (ok, out, err) = run(tilldesk(tmp.path()).args(["reconcile", "--date", "2026-11-24"]));
    assert!(ok, "{err}");
    let expected_alipay = std::fs::read_to_string(fixture("alipay_20261124.expected.txt")).unwrap();
    let expected_wechat = std::fs::read_to_string(fixture("wechat_20261124.expected.txt")).unwrap();
    let wechat_name = wechat.display().to_string();
    let out = out.replace(&wechat_name, "wechat_20261124.txt");
    assert!(out.contains(&expected_alipay), "{out}");
    assert!(out.contains(&expected_wechat), "{out}");

    let csv = tmp.path().join("report.csv");
    let (ok, out, err) = run(tilldesk(tmp.path())
        .args(["reconcile", "--date", "2026-11-24", "--acquirer", "wechat", "--json", "--export"])
        .arg(&csv));
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let report = &json[0];
    assert_eq!(report["matched"]["count"], 5);
    assert_eq!(report["matched"]["amount"], 13_200);
    let kinds: Vec<(String, i64)> = report["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kind"].as_str().unwrap().to_owned(), k["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("only_in_bill".into(), 2),
            ("only_local".into(), 1),
            ("amount_mismatch".into(), 1),
            ("status_mismatch".into(), 2),
            ("field_mismatch".into(), 0)
        ]
    );
    // Each difference names the fields that differ, with both values; the carry-over is counted.
    let w005 = report["discrepancies"].as_array().unwrap().iter().find(|d| d["out_trade_no"] == "W005").unwrap();
    assert_eq!(w005["fields"], serde_json::json!([{"field": "amount", "bill": "22.00", "local": "20.00"}]));
    assert_eq!(report["carry"]["out_waiting"]["count"], 1);
    assert_eq!(report["carry"]["in_matched"]["amount"], 2600);
    let nos: Vec<&str> =
        report["discrepancies"].as_array().unwrap().iter().map(|d| d["out_trade_no"].as_str().unwrap()).collect();
    assert_eq!(nos, ["W003", "W004", "W005", "W007", "W008", "W001"]);
    assert!(std::fs::read_to_string(&csv).unwrap().contains("W005"));
}

#[test]
fn bad_input_gets_a_clear_message_and_a_failing_exit() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.txt");
    let text = std::fs::read_to_string(fixture("wechat_20261124.txt")).unwrap().replacen("`22.00,", "`22.0x,", 1);
    std::fs::write(&bad, text).unwrap();
    let (ok, _, err) = run(tilldesk(tmp.path()).args(["bills", "import"]).arg(&bad));
    assert!(!ok);
    assert!(err.contains("bad.txt: line 7, column 应结订单金额: \"22.0x\" is not an amount"), "{err}");
    let (ok, _, err) = run(tilldesk(tmp.path()).args(["reconcile", "--date", "2026-11-24"]));
    assert!(!ok);
    assert!(err.contains("no bill for 2026-11-24 has been imported"), "{err}");
    let (ok, _, err) = run(tilldesk(tmp.path()).args(["reconcile", "--date", "24.11.2026"]));
    assert!(!ok);
    assert!(err.contains("is not a date like 2026-11-24"), "{err}");
}

/// Pays through both channels "yesterday" (the sandbox's clock shifted back a day), then fetches both bills from
/// the sandbox with `bills fetch` and reconciles: every payment matched, nothing else reported.
#[test]
fn fetch_yesterdays_bills_from_the_sandbox_and_reconcile() {
    use std::io::BufRead as _;
    let tmp = tempfile::tempdir().unwrap();
    let (data, sandbox_dir) = (tmp.path().join("data"), tmp.path().join("sandbox"));
    /// Stops the sandbox however the test ends.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut sandbox = Running(
        Command::new(env!("CARGO_BIN_EXE_tilldesk"))
            .args(["sandbox", "--listen", "127.0.0.1:0", "--data"])
            .arg(&sandbox_dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufReader::new(sandbox.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().trim_start_matches("listening on ").to_owned();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let set_clock = |secs: i64| {
        let status = rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{url}/admin/config"))
                .json(&serde_json::json!({ "clock_offset_secs": secs }))
                .send()
                .await
                .unwrap()
                .status()
        });
        assert!(status.is_success());
    };
    let with_target = |cmd: &mut Command| {
        cmd.arg("--sandbox-url").arg(&url).arg("--sandbox-data").arg(&sandbox_dir);
    };
    set_clock(-86_400);
    for (amount, code) in [("12.34", "130000000000000000"), ("8.80", "2800000000000000")] {
        let mut cmd = tilldesk(&data);
        cmd.args(["pay", "--amount", amount, "--auth-code", code]);
        with_target(&mut cmd);
        let (ok, out, err) = run(&mut cmd);
        assert!(ok, "{out}{err}");
    }
    set_clock(0);
    let china = time::UtcOffset::from_hms(8, 0, 0).unwrap();
    let yesterday = (time::OffsetDateTime::now_utc().to_offset(china).date() - time::Duration::days(1)).to_string();
    for acquirer in ["wechat", "alipay"] {
        let mut cmd = tilldesk(&data);
        cmd.args(["bills", "fetch", "--acquirer", acquirer, "--date", &yesterday]);
        with_target(&mut cmd);
        let (ok, out, err) = run(&mut cmd);
        assert!(ok, "{err}");
        assert!(out.starts_with("Imported 1 rows:"), "{out}");
    }
    assert!(data.join("bills").join("alipay").read_dir().unwrap().count() == 1, "the downloaded zip is kept");
    let (ok, out, err) = run(tilldesk(&data).args(["reconcile", "--date", &yesterday, "--json"]));
    assert!(ok, "{err}");
    let reports: serde_json::Value = serde_json::from_str(&out).unwrap();
    let reports = reports.as_array().cloned().unwrap_or_else(|| vec![reports]);
    assert_eq!(reports.len(), 2, "{out}");
    for r in &reports {
        assert_eq!(r["matched"]["count"], 1, "{r}");
        assert!(r["discrepancies"].as_array().unwrap().is_empty(), "{r}");
    }
    // A day without trades: the acquirer's own answer, plainly.
    let mut cmd = tilldesk(&data);
    cmd.args(["bills", "fetch", "--acquirer", "wechat", "--date", "2026-01-05"]);
    with_target(&mut cmd);
    let (ok, out, err) = run(&mut cmd);
    assert!(!ok, "{out}");
    assert!(err.contains("WeChat Pay has no bill for 2026-01-05"), "{err}");
}

/// Without --date, `reconcile` and `reconcile show` take the China business day whose bills are out (yesterday in
/// China), whatever the machine's time zone: on a till set to UTC after 16:00, or to New York, it is still China's
/// yesterday.
#[test]
fn without_a_date_the_day_is_yesterday_in_china_whatever_the_machines_zone() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(tilldesk(tmp.path()).args(["reconcile", "--acquirer", "wechat"]));
    assert!(!ok);
    assert!(err.contains("this till has no WeChat Pay account yet"), "{err}");
    {
        let mut home = tilldesk::config::DataHome::open(tmp.path()).unwrap();
        seed_local(&mut home.store, AcquirerKind::WechatPay);
    }
    let business_day =
        || tilldesk::recon::date_text(tilldesk::time::china_business_day(time::OffsetDateTime::now_utc()));
    for tz in ["UTC", "America/New_York", "Asia/Shanghai"] {
        let before = business_day();
        let (ok, _, err) = run(tilldesk(tmp.path()).env("TZ", tz).args(["reconcile", "--acquirer", "wechat"]));
        let after = business_day();
        assert!(!ok);
        assert!(
            err.contains(&format!("bill for {before}")) || err.contains(&format!("bill for {after}")),
            "TZ={tz}: {err}"
        );
    }
    let (ok, _, err) = run(tilldesk(tmp.path()).args(["reconcile", "--date", "2026-13-01"]));
    assert!(!ok);
    assert!(err.contains("\"2026-13-01\" is not a date like 2026-11-24"), "{err}");
}
