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
    assert_eq!(out.trim(), format!("Imported 10 rows: WeChat Pay bill of 2026-11-24 ({}).", wechat.display()));
    let (ok, out, _) = run(tilldesk(tmp.path()).args(["bills", "import", "--json"]).arg(&wechat));
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["already_imported"], true);
    assert_eq!(json["bill"]["row_count"], 10);
    let (ok, out, err) = run(tilldesk(tmp.path())
        .args(["bills", "import", "--acquirer", "alipay", "--json"])
        .arg(fixture("alipay_20261124.csv.zip")));
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((json["acquirer"].as_str(), json["format"].as_str()), (Some("alipay"), Some("alipay_zip")));

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
            ("status_mismatch".into(), 2)
        ]
    );
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
    let (ok, _, err) =
        run(tilldesk(tmp.path()).args(["bills", "fetch", "--acquirer", "wechat", "--date", "2026-11-24"]));
    assert!(!ok);
    assert!(err.contains("bills import FILE"), "{err}");
}
