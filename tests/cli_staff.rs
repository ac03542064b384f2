//! Staff checks on the command line (issue 17, item 8): once the first owner exists, the mode switch, key changes
//! and staff changes need `--operator NAME` and the PIN in TILLDESK_PIN; other commands stay scriptable and are
//! audited with the actor "command line"; wrong PINs lock an operator out.

mod cli_common;

use cli_common::ok;

use std::path::Path;
use std::process::{Command, Output};

use tilldesk::store::Store;

fn tilldesk(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    cmd.env_remove("TILLDESK_DATA_DIR").env_remove("TILLDESK_PIN").env_remove("TILLDESK_NEW_PIN");
    cmd.arg("--data-dir").arg(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The command failed; its stderr.
fn refused(out: Output) -> String {
    assert!(!out.status.success(), "expected a refusal; stdout: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mode(dir: &Path) -> String {
    let json: serde_json::Value = serde_json::from_str(&ok(tilldesk(dir, &["doctor", "--json"], &[]))).unwrap();
    json["mode"].as_str().unwrap().to_owned()
}

#[test]
fn the_mode_switch_and_staff_changes_need_the_operator_and_pin_once_an_owner_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // First run: nobody exists yet, so the mode switch is allowed as it is.
    ok(tilldesk(dir, &["keys", "mode", "live"], &[]));
    ok(tilldesk(dir, &["keys", "mode", "sandbox"], &[]));
    // The owner's PIN needs 6 digits.
    let short =
        refused(tilldesk(dir, &["operators", "add", "boss", "--role", "owner"], &[("TILLDESK_NEW_PIN", "2468")]));
    assert!(short.contains("owner PINs must be 6 to 12 digits"), "{short}");
    ok(tilldesk(dir, &["operators", "add", "boss", "--role", "owner"], &[("TILLDESK_NEW_PIN", "246810")]));

    // Now the mode switch names an operator...
    let err = refused(tilldesk(dir, &["keys", "mode", "live"], &[]));
    assert!(err.contains("pass --operator NAME (owner) and the PIN in TILLDESK_PIN"), "{err}");
    // ...with their PIN...
    let err = refused(tilldesk(dir, &["keys", "mode", "live", "--operator", "boss"], &[]));
    assert!(err.contains("no PIN: set TILLDESK_PIN"), "{err}");
    // ...the right one; a wrong PIN and an unknown name read the same.
    let wrong = refused(tilldesk(dir, &["keys", "mode", "live", "--operator", "boss"], &[("TILLDESK_PIN", "111111")]));
    let nobody =
        refused(tilldesk(dir, &["keys", "mode", "live", "--operator", "nobody"], &[("TILLDESK_PIN", "246810")]));
    assert!(wrong.contains("the name or the PIN is wrong"), "{wrong}");
    assert_eq!(wrong, nobody);
    assert_eq!(mode(dir), "sandbox", "nothing changed while refused");
    ok(tilldesk(dir, &["--operator", "boss", "keys", "mode", "live"], &[("TILLDESK_PIN", "246810")]));
    assert_eq!(mode(dir), "live");

    // A staff change is the same.
    let err =
        refused(tilldesk(dir, &["operators", "add", "amy", "--role", "cashier"], &[("TILLDESK_NEW_PIN", "1357")]));
    assert!(err.contains("--operator"), "{err}");
    ok(tilldesk(
        dir,
        &["operators", "add", "amy", "--role", "cashier", "--operator", "boss"],
        &[("TILLDESK_NEW_PIN", "1357"), ("TILLDESK_PIN", "246810")],
    ));
    // A cashier may not add staff, and the owner may not give a back-office operator a 4-digit PIN.
    let err = refused(tilldesk(
        dir,
        &["operators", "add", "li", "--role", "back_office", "--operator", "amy"],
        &[("TILLDESK_NEW_PIN", "135790"), ("TILLDESK_PIN", "1357")],
    ));
    assert!(err.contains("amy is a cashier and may not manage staff"), "{err}");
    let err = refused(tilldesk(
        dir,
        &["operators", "add", "li", "--role", "back_office", "--operator", "boss"],
        &[("TILLDESK_NEW_PIN", "1357"), ("TILLDESK_PIN", "246810")],
    ));
    assert!(err.contains("back office PINs must be 6 to 12 digits"), "{err}");
    // Anyone changes their own PIN with the current one.
    ok(tilldesk(
        dir,
        &["operators", "set-pin", "amy", "--operator", "amy"],
        &[("TILLDESK_NEW_PIN", "8642"), ("TILLDESK_PIN", "1357")],
    ));
    refused(tilldesk(dir, &["operators", "set-pin", "amy"], &[("TILLDESK_NEW_PIN", "1111")]));
    // A leaver is deactivated by the owner (a cashier may not; the last owner stays) and cannot sign in; taken back,
    // they can.
    let as_amy = |pin: &str| {
        let add = ["operators", "add", "zed", "--role", "cashier", "--operator", "amy"];
        tilldesk(dir, &add, &[("TILLDESK_PIN", pin), ("TILLDESK_NEW_PIN", "2468")])
    };
    let err =
        refused(tilldesk(dir, &["operators", "deactivate", "boss", "--operator", "amy"], &[("TILLDESK_PIN", "8642")]));
    assert!(err.contains("amy is a cashier and may not manage staff"), "{err}");
    let boss_pin = [("TILLDESK_PIN", "246810")];
    let err = refused(tilldesk(dir, &["operators", "deactivate", "boss", "--operator", "boss"], &boss_pin));
    assert!(err.contains("boss is the only active owner"), "{err}");
    let err = refused(tilldesk(dir, &["operators", "deactivate", "nobody", "--operator", "boss"], &boss_pin));
    assert!(err.contains("there is no operator called \"nobody\""), "{err}");
    let off = ok(tilldesk(dir, &["operators", "deactivate", "amy", "--operator", "boss"], &boss_pin));
    assert_eq!(off.trim(), "amy (cashier) is inactive");
    assert!(refused(as_amy("8642")).contains("the name or the PIN is wrong"));
    assert!(ok(tilldesk(dir, &["operators", "list"], &[])).contains("amy\tcashier\tinactive"));
    ok(tilldesk(dir, &["operators", "reactivate", "amy", "--operator", "boss"], &boss_pin));
    assert!(refused(as_amy("8642")).contains("amy is a cashier and may not manage staff"));

    // Other commands stay scriptable, audited as the command line.
    ok(tilldesk(dir, &["till", "--terminal", "T-9"], &[]));
    let csv = tmp.path().join("orders.csv");
    ok(tilldesk(dir, &["orders", "list", "--out", csv.to_str().unwrap()], &[]));

    let store = Store::open(&dir.join("tilldesk.sqlite3")).unwrap();
    let boss = store.staff().operator_by_name("boss").unwrap().unwrap();
    let audit = store.staff().audit_page(None, 200).unwrap();
    assert!(audit.iter().all(|e| e.actor.as_deref() == Some("command line")), "{audit:#?}");
    let entry = |action: &str, subject: &str| {
        audit
            .iter()
            .find(|e| e.action == action && e.subject == subject)
            .unwrap_or_else(|| panic!("{action} {subject}"))
    };
    let live = audit.iter().find(|e| e.subject == "channel.mode" && e.after.as_deref() == Some("live")).unwrap();
    assert_eq!(live.operator_id, Some(boss.id), "the mode switch is recorded for the owner");
    assert_eq!(entry("setting.change", "till.terminal_id").operator_id, None);
    assert_eq!(entry("permission.refused", "tilldesk keys mode").after.as_deref(), Some("no --operator"));
    assert!(audit.iter().any(|e| e.action == "permission.refused" && e.subject == "tilldesk operators add li"));
    entry("operator.unknown_name", "nobody");
    entry("operator.pin_refused", "boss");
    entry("operator.pin_change", "amy");
    assert_eq!(entry("operator.deactivate", "amy").operator_id, Some(boss.id));
    assert_eq!(entry("operator.reactivate", "amy").operator_id, Some(boss.id));
}

#[test]
fn five_wrong_pins_lock_the_operator_out_even_for_the_right_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(tilldesk(dir, &["operators", "add", "boss", "--role", "owner"], &[("TILLDESK_NEW_PIN", "246810")]));
    let attempt = |pin: &str| tilldesk(dir, &["--operator", "boss", "keys", "mode", "live"], &[("TILLDESK_PIN", pin)]);
    for _ in 0..4 {
        assert!(refused(attempt("000000")).contains("the name or the PIN is wrong"));
    }
    let err = refused(attempt("000000"));
    assert!(err.contains("too many wrong PINs for boss: try again in 30 s"), "{err}");
    let err = refused(attempt("246810"));
    assert!(err.contains("too many wrong PINs for boss"), "{err}");
    assert_eq!(mode(dir), "sandbox");
    let store = Store::open(&dir.join("tilldesk.sqlite3")).unwrap();
    let actions: Vec<String> = store.staff().audit_page(None, 50).unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(actions.iter().filter(|a| *a == "operator.pin_refused").count(), 5);
    assert_eq!(actions.iter().filter(|a| *a == "operator.locked_out").count(), 1);
    assert_eq!(actions.iter().filter(|a| *a == "operator.pin_locked").count(), 1);
}
