//! `tilldesk reconcile runs|show|bills|resolve|close|reopen-day` on a till enrolled with a merchant backend, through
//! the binary: the reports are the backend's, read and worked on as `--operator NAME` with the PIN in `TILLDESK_PIN`
//! (owner or back office); a cashier, a command without an operator, what the data does not allow and a backend that
//! does not answer are refused with words that say what to do.

mod cli_common;
mod recon_common;

use std::path::Path;
use std::process::Command;

use cli_common::{fails, ok};
use tilldesk::i18n::Lang;
use tilldesk::model::AcquirerKind;
use tilldesk::recon::{ImportControl, ImportOptions, ReconOptions};

const PASSPHRASE: &str = "till vault passphrase";

fn tilldesk(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    c.arg("--data-dir").arg(data).env("TILLDESK_PASSPHRASE", PASSPHRASE).env_remove("TILLDESK_DATABASE_URL");
    c.env_remove("TILLDESK_PIN");
    c
}

/// The backend's bills of 2026-11-24 (the WeChat Pay fixture) imported and reconciled against its orders, as its
/// sync worker does after downloading them.
fn reconcile_at_backend(backend: &Path) {
    let mut store = tilldesk::store::Store::open(&backend.join(tilldesk::serve::DATABASE_FILE)).unwrap();
    recon_common::seed_local(&mut store, AcquirerKind::WechatPay);
    let bill = recon_common::fixture("wechat_20261124.txt");
    tilldesk::recon::import_file(&mut store, &bill, &ImportOptions::default(), &ImportControl::new()).unwrap();
    let day = time::macros::date!(2026 - 11 - 24);
    tilldesk::recon::reconcile(&mut store, AcquirerKind::WechatPay, day, &ReconOptions::default(), Lang::En).unwrap();
}

#[test]
fn an_enrolled_till_reads_the_backends_reconciliation_as_its_operator() {
    let dir = tempfile::tempdir().unwrap();
    let backend = dir.path().join("backend");
    let till = dir.path().join("till");
    let code =
        ok(tilldesk(&backend).args(["serve", "add-till", "--store", "S001", "--name", "till 1"]).output().unwrap());
    let mut command = tilldesk(&backend);
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    let (serving, url) = cli_common::serve(command);
    ok(tilldesk(&till).args(["backend", "join", &url, "--code", code.trim()]).output().unwrap());
    let add = |name: &str, role: &str, pin: &str| {
        let mut c = tilldesk(&till);
        c.args(["operators", "add", name, "--role", role]).env("TILLDESK_NEW_PIN", pin);
        if role != "owner" {
            c.args(["--by", "老板"]).env("TILLDESK_PIN", "246810");
        }
        ok(c.output().unwrap());
    };
    add("老板", "owner", "246810");
    add("会计 Li", "back_office", "135790");
    add("Wang", "cashier", "1357");
    reconcile_at_backend(&backend);
    let as_op = |name: &str, pin: &str, args: &[&str]| {
        let mut c = tilldesk(&till);
        c.args(["--operator", name]).args(args).env("TILLDESK_PIN", pin);
        c.output().unwrap()
    };

    // The owner: the backend's run of the day, and its report with the store of each difference.
    let runs = ok(as_op("老板", "246810", &["reconcile", "runs"]));
    assert!(runs.contains("2026-11-24") && runs.contains("WeChat Pay (WECHATPAY)"), "{runs}");
    assert!(runs.contains("S001"), "{runs}");
    let shown = ok(as_op("老板", "246810", &["reconcile", "show", "--date", "2026-11-24", "--acquirer", "wechat"]));
    assert!(
        shown.starts_with("Reconciliation of the WeChat Pay (WECHATPAY) bill of 2026-11-24 at the merchant backend")
    );
    assert!(shown.contains("S001 only_local missing_from_bill out_trade_no=W008 local=12.00 (PAID)"), "{shown}");
    assert!(shown.contains("Day open: "), "{shown}");
    let json = ok(as_op(
        "老板",
        "246810",
        &["reconcile", "show", "--date", "2026-11-24", "--acquirer", "WECHATPAY", "--json"],
    ));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(report["store"].is_null(), "the whole bill: {report}");
    assert_eq!(report["totals"]["payments"]["count"], 8, "{report}");
    let days = ok(as_op("老板", "246810", &["reconcile", "bills", "--json"]));
    let days: serde_json::Value = serde_json::from_str(&days).unwrap();
    let s001 = days["days"].as_array().unwrap().iter().find(|d| d["store_code"] == "S001").cloned().expect("S001");
    assert_eq!(s001["bill_date"], "2026-11-24");
    assert!(s001["rows"].as_i64().unwrap() >= 1, "{days}");

    // Back office: their store's share.
    let json = ok(as_op(
        "会计 Li",
        "135790",
        &["reconcile", "show", "--date", "2026-11-24", "--acquirer", "wechat", "--json"],
    ));
    let mine: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(mine["store"], "S001");
    assert!(mine["discrepancies"].as_array().unwrap().iter().all(|d| d["store_code"] == "S001"), "{mine}");
    assert!(mine["totals"]["matched"].is_null());
    let other = fails(as_op("会计 Li", "135790", &["reconcile", "runs", "--store", "S009"]));
    assert!(other.contains("store S009"), "{other}");
    let none = ok(as_op("会计 Li", "135790", &["reconcile", "runs", "--to", "2026-01-01"]));
    assert!(none.contains("no reconciliation runs"), "{none}");

    // A cashier, and nobody: refused with what to do.
    let cashier = fails(as_op("Wang", "1357", &["reconcile", "runs"]));
    assert!(cashier.contains("a cashier may not see reconciliation (owner or back office)"), "{cashier}");
    let nobody = fails(
        tilldesk(&till).args(["reconcile", "show", "--date", "2026-11-24", "--acquirer", "wechat"]).output().unwrap(),
    );
    assert!(nobody.contains("pass --operator NAME (owner or back office)"), "{nobody}");
    let no_day = fails(as_op("老板", "246810", &["reconcile", "show", "--date", "2026-11-20", "--acquirer", "wechat"]));
    assert!(no_day.contains("has no reconciliation of the wechat bill of 2026-11-20"), "{no_day}");

    // Working through the day at the backend: back office resolves their store's W008, the owner may not close
    // the day while anything is open, resolves the rest, closes it, and reopens it with a reason.
    let w008 = mine["discrepancies"].as_array().unwrap().iter().find(|d| d["out_trade_no"] == "W008").cloned();
    let w008 = w008.expect("W008's difference")["id"].as_i64().unwrap().to_string();
    let resolve = |name: &str, pin: &str, id: &str, kind: &str, note: &str| {
        as_op(name, pin, &["reconcile", "resolve", id, "--as", kind, "--note", note])
    };
    let cashier = fails(resolve("Wang", "1357", &w008, "written-off", "我来"));
    assert!(cashier.contains("a cashier may not"), "{cashier}");
    let done = ok(resolve("会计 Li", "135790", &w008, "written-off", "测试单，未收款"));
    assert!(done.contains(&format!("Difference #{w008} resolved as written_off at the merchant backend.")), "{done}");
    let twice = fails(resolve("会计 Li", "135790", &w008, "adjusted", "再来"));
    assert!(twice.contains("already resolved"), "{twice}");
    let close = ["reconcile", "close", "--date", "2026-11-24", "--acquirer", "WECHATPAY"];
    let early = fails(as_op("老板", "246810", &close));
    assert!(early.contains("open difference(s)"), "{early}");
    let report: serde_json::Value = serde_json::from_str(&ok(as_op(
        "老板",
        "246810",
        &["reconcile", "show", "--date", "2026-11-24", "--acquirer", "WECHATPAY", "--json"],
    )))
    .unwrap();
    for d in report["discrepancies"].as_array().unwrap().iter().filter(|d| d["resolved"] == false) {
        ok(resolve("老板", "246810", &d["id"].as_i64().unwrap().to_string(), "adjusted", "已更正"));
    }
    let closed = ok(as_op("老板", "246810", &close));
    assert!(closed.contains("Closed the WeChat Pay day 2026-11-24") && closed.contains("as 老板"), "{closed}");
    let shown = ok(as_op("老板", "246810", &["reconcile", "show", "--date", "2026-11-24", "--acquirer", "WECHATPAY"]));
    assert!(shown.contains("Day closed by 老板"), "{shown}");
    assert!(shown.contains("[written_off: 测试单，未收款]"), "{shown}");
    let reopen = ["reconcile", "reopen-day", "--date", "2026-11-24", "--acquirer", "WECHATPAY", "--note", "补录"];
    let reopened = ok(as_op("老板", "246810", &reopen));
    assert!(reopened.contains("Reopened the WeChat Pay day 2026-11-24 at the merchant backend"), "{reopened}");
    let again = fails(as_op("老板", "246810", &reopen));
    assert!(again.contains("is not closed"), "{again}");

    // The 概览 figures of the bill's day on the command line, added up at the backend: the owner's, back office's
    // (S001's: here every order), a cashier's own (none); nobody, a store the backend lacks, a word it does not know.
    let summary = |name: &str, pin: &str, extra: &[&str]| {
        let mut args = vec!["orders", "summary", "--from", "2026-11-24"];
        args.extend_from_slice(extra);
        as_op(name, pin, &args)
    };
    let all: serde_json::Value = serde_json::from_str(&ok(summary("老板", "246810", &["--json"]))).unwrap();
    assert_eq!((all["source"].as_str(), all["from"].as_str()), (Some("backend"), Some("2026-11-24")), "{all}");
    let count = all["totals"]["count"].as_i64().unwrap();
    assert!(count >= 8 && all["totals"]["paid_amount"].as_str().is_some_and(|a| a != "0.00"), "{all}");
    let text = ok(summary("老板", "246810", &[]));
    assert!(text.starts_with("Sales 2026-11-24 (China business days), added up at the merchant backend"), "{text}");
    assert!(text.contains("By store:\n  S001 ") && text.contains("By wallet:\n  WeChat Pay\t"), "{text}");
    let li: serde_json::Value = serde_json::from_str(&ok(summary("会计 Li", "135790", &["--json"]))).unwrap();
    assert_eq!(li["totals"], all["totals"], "every order here is S001's");
    let wang: serde_json::Value = serde_json::from_str(&ok(summary("Wang", "1357", &["--json"]))).unwrap();
    assert_eq!(wang["totals"]["count"], 0, "a cashier's own orders: none here");
    let nobody = fails(tilldesk(&till).args(["orders", "summary"]).output().unwrap());
    assert!(nobody.contains("pass --operator NAME"), "{nobody}");
    let unknown = fails(summary("老板", "246810", &["--store", "S009"]));
    assert!(unknown.contains("has no store \"S009\""), "{unknown}");
    let word = fails(as_op("老板", "246810", &["orders", "summary", "--period", "week"]));
    assert!(word.contains("expected today, yesterday, 7d or month"), "{word}");

    // The backend stops: the till says it cannot be reached.
    drop(serving);
    let down = fails(as_op("老板", "246810", &["reconcile", "runs"]));
    assert!(down.contains("cannot be reached"), "{down}");
    let down = fails(summary("老板", "246810", &[]));
    assert!(down.contains("cannot be reached"), "{down}");
}

/// A store-direct till's `orders summary` adds up its own orders: the same figures as its dashboard.
#[test]
fn a_store_direct_tills_summary_is_its_own() {
    let dir = tempfile::tempdir().unwrap();
    ok(tilldesk(dir.path())
        .args(["dev", "seed-orders", "--count", "300", "--days", "3", "--seed", "7"])
        .output()
        .unwrap());
    let json = ok(tilldesk(dir.path()).args(["orders", "summary", "--period", "7d", "--json"]).output().unwrap());
    let figures: serde_json::Value = serde_json::from_str(&json).unwrap();
    let store = tilldesk::store::Store::open(&dir.path().join(tilldesk::config::DATABASE_FILE)).unwrap();
    let d =
        tilldesk::dashboard::dashboard(&store, tilldesk::dashboard::Period::Last7Days, time::OffsetDateTime::now_utc())
            .unwrap();
    assert_eq!(figures["source"], "till");
    assert_eq!(figures["totals"]["count"], d.totals.count);
    assert_eq!(figures["totals"]["paid_amount"], d.gross().to_string());
    assert_eq!(figures["by_store"].as_array().unwrap().len(), d.by_store.len());
    let code = d.by_store[0].name.split(' ').next().unwrap().to_owned();
    let one =
        ok(tilldesk(dir.path()).args(["orders", "summary", "--period", "7d", "--store", &code]).output().unwrap());
    assert!(one.contains("this till's orders") && one.contains(&format!("By store:\n  {code} ")), "{one}");
    let none = fails(tilldesk(dir.path()).args(["orders", "summary", "--store", "S999"]).output().unwrap());
    assert!(none.contains("--store \"S999\": this till has no such store"), "{none}");
}
