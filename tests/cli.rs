//! The command line as a script uses it.

use std::process::Command;

fn tilldesk() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    cmd.env_remove("TILLDESK_DATA_DIR");
    cmd
}

#[test]
fn version_prints_the_package_version() {
    let out = tilldesk().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("tilldesk {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn doctor_creates_the_data_folder_and_reports_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("first-run");
    let out = tilldesk().args(["doctor", "--data-dir"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(dir.join("tilldesk.sqlite3").is_file());
    assert!(text.contains(&format!("data folder:    {}", dir.display())), "{text}");
    assert!(text.contains(&format!("schema version: {}", tilldesk::store::SCHEMA_VERSION)), "{text}");
    assert!(text.contains("orders") && text.contains("outbox"), "{text}");
    assert!(text.contains("none configured"), "{text}");
}

#[test]
fn doctor_json_reads_the_environment_variable() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tilldesk().args(["doctor", "--json"]).env("TILLDESK_DATA_DIR", tmp.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["data_dir"], tmp.path().display().to_string());
    assert_eq!(json["schema_version"], tilldesk::store::SCHEMA_VERSION);
    assert_eq!(json["mode"], "sandbox");
    assert!(json["tables"].as_array().unwrap().iter().any(|t| t["table"] == "refunds" && t["rows"] == 0));
}

#[test]
fn a_database_from_a_newer_version_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(tmp.path().join("tilldesk.sqlite3")).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    let out = tilldesk().arg("doctor").arg("--data-dir").arg(tmp.path()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("newer TillDesk") && err.contains("999"), "{err}");
}

#[test]
fn orders_are_seeded_listed_and_exported_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = |args: &[&str]| {
        let out = tilldesk().args(args).arg("--data-dir").arg(&data).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, _, err) = run(&["dev", "seed-orders", "--count", "250", "--days", "2", "--seed", "1"]);
    assert!(ok, "{err}");
    // A second batch with another seed adds to the first; a seed that does not fit the order numbers is refused.
    let (ok, _, err) = run(&["dev", "seed-orders", "--count", "50", "--days", "2", "--seed", "2"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["dev", "seed-orders", "--seed", "10000"]);
    assert!(!ok && err.contains("--seed takes 0 to 9999"), "{err}");
    let (ok, json, err) = run(&["orders", "list", "--json"]);
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["totals"]["count"], 300);
    assert_eq!(json["orders"].as_array().unwrap().len(), 300);
    // Orders the way a merchant has them: paid, refunded and failed ones.
    let statuses: std::collections::BTreeSet<String> =
        json["orders"].as_array().unwrap().iter().filter_map(|o| o["status"].as_str().map(str::to_owned)).collect();
    for status in ["PAID", "REFUNDED", "FAILED"] {
        assert!(statuses.contains(status), "{status} among {statuses:?}");
    }

    let (ok, csv, err) = run(&["orders", "list", "--csv", "--status", "paid"]);
    assert!(ok, "{err}");
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("out_trade_no,trade_no,created (local),status,total_amount"));
    let paid = json["orders"].as_array().unwrap().iter().filter(|o| o["status"] == "PAID").count();
    assert_eq!(lines.count(), paid, "every order of the status paid, one per line");

    let xlsx = tmp.path().join("orders.xlsx");
    let (ok, out, err) = run(&["orders", "list", "--out", xlsx.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("wrote 300 orders to"), "{out}");
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));

    let refunds = tmp.path().join("refunds.csv");
    let (ok, out, err) = run(&["orders", "refunds", "--out", refunds.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("wrote 0 refunds"), "{out}");

    let (ok, _, err) = run(&["orders", "list", "--out", tmp.path().join("orders.txt").to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("orders.txt: the file name must end in .csv or .xlsx"), "{err}");
    assert!(!tmp.path().join("orders.txt").exists());
}

#[test]
fn bad_amounts_are_refused_with_the_reason_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    for (amount, expected) in [
        ("-1", "amount \"-1\" is negative: amounts are written without a sign, like 88.88"),
        ("12.345", "has more than 2 decimal places"),
        ("1,00", "is not a number"),
    ] {
        let out = tilldesk()
            .arg("--data-dir")
            .arg(dir.path())
            .args(["pay", "--amount", amount, "--auth-code", "2800000000000000"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{amount}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{amount}: {err}");
        assert!(!dir.path().join("sandbox").exists(), "{amount}: refused before the sandbox starts");
    }
}

/// `tilldesk doctor | head -1`: a reader that closed the pipe before the command printed ends it quietly with the
/// status a shell gives SIGPIPE (141), not with a panic's message.
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = tilldesk()
        .arg("doctor")
        .arg("--data-dir")
        .arg(tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The read end goes before the command writes anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    // What it did before printing stays done.
    assert!(tmp.path().join("tilldesk.sqlite3").is_file());
}
