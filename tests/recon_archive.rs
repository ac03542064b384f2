//! The bill archive: every imported or downloaded bill file is kept by content and recorded, so a day can be
//! imported and reconciled again after its bill rows are gone; a file that changed in the archive is refused.

mod recon_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use recon_common::{fixture, seed_local};
use tilldesk::i18n::Lang;
use tilldesk::model::AcquirerKind;
use tilldesk::recon::{ImportControl, ImportOptions, ReconOptions, import_file, reconcile};
use tilldesk::store::Store;
use time::macros::date;

const DAY: time::Date = date!(2026 - 11 - 24);

/// A data folder with its database and a "downloads" folder holding copies of the fixture bills.
fn data_folder() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let (data, downloads) = (tmp.path().join("data"), tmp.path().join("downloads"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&downloads).unwrap();
    for name in ["alipay_20261124.csv.zip", "wechat_20261124.txt", "alipay_account_20261124.csv.zip"] {
        std::fs::copy(fixture(name), downloads.join(name)).unwrap();
    }
    (tmp, data, downloads)
}

fn open(data: &Path) -> Store {
    Store::open(&data.join("tilldesk.sqlite3")).unwrap()
}

fn report_text(store: &mut Store, kind: AcquirerKind) -> String {
    let mut report = reconcile(store, kind, DAY, &ReconOptions::default(), Lang::En).unwrap();
    for b in &mut report.bills {
        b.source_name = b.source_name.rsplit('/').next().unwrap().to_owned();
    }
    report.to_text()
}

/// Deletes every imported bill and its rows (as if they had been purged), behind TillDesk's back.
fn forget_bills(data: &Path) {
    let conn = rusqlite::Connection::open(data.join("tilldesk.sqlite3")).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM bill_rows; DELETE FROM bills; DELETE FROM account_bill_rows; DELETE FROM account_bills;")
        .unwrap();
}

fn bill_count(store: &Store) -> i64 {
    store.table_counts().unwrap().iter().find(|(t, _)| *t == "bills").unwrap().1
}

/// The archive fixture day: both trade bills of 2026-11-24 imported, reconciled, then their rows deleted and the
/// downloaded files removed; a re-import from the archive gives the same reports (the ones written down in
/// tests/fixtures/recon/*.expected.txt).
#[test]
fn a_day_imported_again_from_the_archive_gives_the_same_report() {
    let (_tmp, data, downloads) = data_folder();
    let mut store = open(&data);
    seed_local(&mut store, AcquirerKind::Alipay);
    seed_local(&mut store, AcquirerKind::WechatPay);
    for name in ["alipay_20261124.csv.zip", "wechat_20261124.txt"] {
        import_file(&mut store, &downloads.join(name), &ImportOptions::default(), &ImportControl::new()).unwrap();
    }
    let first = [report_text(&mut store, AcquirerKind::Alipay), report_text(&mut store, AcquirerKind::WechatPay)];
    assert_eq!(first[0], std::fs::read_to_string(fixture("alipay_20261124.expected.txt")).unwrap());
    assert_eq!(first[1], std::fs::read_to_string(fixture("wechat_20261124.expected.txt")).unwrap());

    let archived = store.recon().archived_bills(Some("2026-11-24"), None).unwrap();
    let kept: Vec<(&str, &str, &str, &str)> = archived
        .iter()
        .map(|a| (a.original_name.as_str(), a.source.as_str(), a.format.as_str(), a.bill_type.as_str()))
        .collect();
    assert_eq!(
        kept,
        [
            ("alipay_20261124.csv.zip", "imported", "alipay_zip", "trade"),
            ("wechat_20261124.txt", "imported", "wechat_text", "ALL")
        ]
    );
    for a in &archived {
        let path = data.join("bills").join("archive").join(&a.sha256);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), a.size);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
    // Importing the same file again archives nothing new.
    import_file(&mut store, &downloads.join("wechat_20261124.txt"), &ImportOptions::default(), &ImportControl::new())
        .unwrap();
    assert_eq!(store.recon().archived_bills(None, None).unwrap().len(), 2);

    drop(store);
    forget_bills(&data);
    std::fs::remove_dir_all(&downloads).unwrap();
    let mut store = open(&data);
    assert_eq!(bill_count(&store), 0);
    let done = tilldesk::recon::archive::reimport(&mut store, DAY, None, &ImportControl::new()).unwrap();
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|r| r.trade.as_ref().is_some_and(|o| !o.already_imported)));
    let again = [report_text(&mut store, AcquirerKind::Alipay), report_text(&mut store, AcquirerKind::WechatPay)];
    assert_eq!(again, first);
    assert_eq!(store.recon().archived_bills(None, None).unwrap().len(), 2, "a re-import archives nothing new");
}

/// A file changed in the archive is refused by name before anything is imported.
#[test]
fn a_changed_archived_file_is_refused_by_name() {
    let (_tmp, data, downloads) = data_folder();
    let mut store = open(&data);
    import_file(&mut store, &downloads.join("wechat_20261124.txt"), &ImportOptions::default(), &ImportControl::new())
        .unwrap();
    import_file(
        &mut store,
        &downloads.join("alipay_20261124.csv.zip"),
        &ImportOptions::default(),
        &ImportControl::new(),
    )
    .unwrap();
    let archived = store.recon().archived_bills(None, None).unwrap();
    let wechat = archived.iter().find(|a| a.original_name == "wechat_20261124.txt").unwrap();
    let path = data.join("bills").join("archive").join(&wechat.sha256);
    let text = std::fs::read_to_string(&path).unwrap().replace("`0.60%", "`0.61%");
    std::fs::write(&path, text).unwrap();
    drop(store);
    forget_bills(&data);
    let mut store = open(&data);
    let err = tilldesk::recon::archive::reimport(&mut store, DAY, None, &ImportControl::new()).unwrap_err().to_string();
    assert!(err.contains(&path.display().to_string()) && err.contains("wechat_20261124.txt"), "{err}");
    assert!(err.contains("has changed") && err.contains("nothing was imported"), "{err}");
    assert_eq!(bill_count(&store), 0, "the Alipay file, unchanged, was not imported either");
}

/// A failed import leaves no archive record and no archived file.
#[test]
fn a_failed_import_is_not_archived() {
    let (_tmp, data, downloads) = data_folder();
    let mut store = open(&data);
    let bad = downloads.join("cut.txt");
    let text = std::fs::read_to_string(downloads.join("wechat_20261124.txt")).unwrap();
    std::fs::write(&bad, &text[..text.find("总交易单数").unwrap()]).unwrap();
    assert!(import_file(&mut store, &bad, &ImportOptions::default(), &ImportControl::new()).is_err());
    assert!(store.recon().archived_bills(None, None).unwrap().is_empty());
    let dir = data.join("bills").join("archive");
    assert!(!dir.exists() || dir.read_dir().unwrap().next().is_none());
}

fn tilldesk(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    cmd.env_remove("TILLDESK_DATA_DIR").arg("--data-dir").arg(data);
    cmd
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    stdout.into_owned()
}

/// The command line: `bills import` archives both kinds of bill (the account bill told apart by content),
/// `bills archive` lists them, `bills reimport` brings a forgotten day back, `reconcile settlement` checks it.
#[test]
fn the_command_line_archives_lists_reimports_and_checks_settlement() {
    let (_tmp, data, downloads) = data_folder();
    for name in ["alipay_20261124.csv.zip", "alipay_account_20261124.csv.zip"] {
        let out = ok(tilldesk(&data).args(["bills", "import"]).arg(downloads.join(name)));
        assert!(out.starts_with("Imported"), "{out}");
    }
    let listed: serde_json::Value =
        serde_json::from_str(&ok(tilldesk(&data).args(["bills", "archive", "--date", "2026-11-24", "--json"])))
            .unwrap();
    let types: Vec<&str> = listed.as_array().unwrap().iter().map(|a| a["bill_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["trade", "signcustomer"]);
    forget_bills(&data);
    let out = ok(tilldesk(&data).args(["bills", "reimport", "--date", "2026-11-24"]));
    assert!(out.contains("Imported 11 rows") && out.contains("Alipay account bill of 2026-11-24"), "{out}");
    let check: serde_json::Value =
        serde_json::from_str(&ok(tilldesk(&data).args(["reconcile", "settlement", "--date", "2026-11-24", "--json"])))
            .unwrap();
    assert_eq!(check["ok"], false);
    assert_eq!(check["trade_net"], 31_705, "fen");
    assert_eq!(check["items"].as_array().unwrap().len(), 4);
    let text = ok(tilldesk(&data).args(["reconcile", "settlement", "--date", "2026-11-24"]));
    assert_eq!(
        text.replace("Settlement of 2026-11-24 (Alipay account bill alipay_account_20261124.csv.zip)", "").trim_start(),
        std::fs::read_to_string(fixture("alipay_account_20261124.expected.txt"))
            .unwrap()
            .replace("Settlement of 2026-11-24 (Alipay account bill alipay_account_20261124.csv.zip)", "")
            .trim_start()
    );
}
