//! The resolution workflow and closed days (issue 18): every resolution kind with who, when and the note; what is
//! refused and why; resolutions carried to later runs and reopened; closing a day (refused while anything is open),
//! its frozen report reprinted and re-exported byte for byte after new imports; and the same from the command line.

mod cli_common;
mod recon_common;

use std::process::Command;

use recon_common::{fixture, seed_local};
use tilldesk::i18n::Lang;
use tilldesk::model::{AcquirerKind, DiscrepancyId, Operator, ResolutionKind, Role};
use tilldesk::recon::resolve::{self, ResolveAs, ResolveError, Resolved};
use tilldesk::recon::{ImportControl, ImportOptions, ReconError, ReconOptions, Report, reconcile};
use tilldesk::store::recon_days::{BillRowPick, Refused};
use tilldesk::store::{Store, StoreError};
use time::macros::date;

const DAY: time::Date = date!(2026 - 11 - 24);
const CLOSED_AT: &str = "2026-11-25T02:00:00.000000Z";

fn import(store: &mut Store, path: &std::path::Path, accept_mismatched_totals: bool) {
    let options = ImportOptions { accept_mismatched_totals, ..ImportOptions::default() };
    tilldesk::recon::import_file(store, path, &options, &ImportControl::new()).unwrap();
}

fn run(store: &mut Store) -> Result<Report, ReconError> {
    reconcile(store, AcquirerKind::WechatPay, DAY, &ReconOptions::default(), Lang::En)
}

fn id_of(report: &Report, out_trade_no: &str, out_request_no: Option<&str>) -> DiscrepancyId {
    report
        .discrepancies
        .iter()
        .find(|d| d.out_trade_no.as_deref() == Some(out_trade_no) && d.out_request_no.as_deref() == out_request_no)
        .unwrap_or_else(|| panic!("no difference for {out_trade_no}"))
        .id
}

/// The WeChat fixture day reconciled, with an owner and a back-office clerk.
fn reconciled() -> (Store, Report, Operator) {
    let mut store = Store::open_in_memory().unwrap();
    seed_local(&mut store, AcquirerKind::WechatPay);
    import(&mut store, &fixture("wechat_20261124.txt"), false);
    let owner = store.staff_mut().add_operator("李娜", Role::Owner, "246810", None).unwrap();
    let clerk = store.staff_mut().add_operator("王芳", Role::BackOffice, "135790", Some(owner.id)).unwrap();
    let report = run(&mut store).unwrap();
    assert_eq!(report.discrepancies.len(), 6);
    (store, report, clerk)
}

/// Every difference of the fixture day resolved, one kind each (matching W008 by hand to line 6 resolves W004's
/// bill row with it).
fn resolve_all(store: &mut Store, report: &Report, clerk: &Operator) {
    let by = Some(clerk.id);
    let mut resolve = |no: &str, refund: Option<&str>, how: ResolveAs, note: &str| {
        resolve::resolve(store, id_of(report, no, refund), &how, note, by).unwrap()
    };
    assert!(matches!(
        resolve("W003", None, ResolveAs::Adopted, "顾客扫店铺码付款，已向微信确认"),
        Resolved::Adopted(_)
    ));
    resolve("W005", None, ResolveAs::Adjusted, "收银员少输了2元，已更正订单");
    let refunded = ResolveAs::Refunded { out_request_no: Some("WR007".into()) };
    resolve("W007", Some("WR007"), refunded, "已在商户平台退款给顾客");
    resolve("W001", Some("WR010"), ResolveAs::WrittenOff, "退款未到账，已与顾客线下结清");
    let matched = resolve("W008", None, ResolveAs::Matched(BillRowPick::Line(6)), "W004 的付款被记成了 W008");
    assert_eq!(matched, Resolved::Matched { line: 6 });
}

fn refused(e: ResolveError) -> Refused {
    match e {
        ResolveError::Store(StoreError::Resolution(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn each_kind_is_recorded_with_who_when_the_note_and_its_reference() {
    let (mut store, report, clerk) = reconciled();
    resolve_all(&mut store, &report, &clerk);
    let now = tilldesk::recon::load_report(&store, report.run_id, Lang::En).unwrap();
    assert_eq!(now.open_count(), 0, "W004's bill row was matched with W008");
    let get = |no: &str, refund: Option<&str>| {
        now.discrepancies.iter().find(|d| d.id == id_of(&now, no, refund)).unwrap().resolution.clone().unwrap()
    };
    assert_eq!(get("W003", None).kind, Some(ResolutionKind::Adopted));
    assert_eq!(get("W005", None).kind, Some(ResolutionKind::Adjusted));
    let refunded = get("W007", Some("WR007"));
    assert_eq!((refunded.kind, refunded.reference.as_deref()), (Some(ResolutionKind::Refunded), Some("WR007")));
    assert_eq!(get("W001", Some("WR010")).kind, Some(ResolutionKind::WrittenOff));
    let matched = get("W008", None);
    assert_eq!(matched.kind, Some(ResolutionKind::Matched));
    assert_eq!((matched.bill_line, matched.reference.as_deref()), (Some(6), Some("4200002026112400000004")));
    let paired = get("W004", None);
    assert_eq!((paired.kind, paired.reference.as_deref()), (Some(ResolutionKind::Matched), Some("W008")));
    assert_eq!(matched.by.as_deref(), Some("王芳"));
    assert!(matched.at.is_some());

    let audit = store.recent_audit(20).unwrap();
    let resolves: Vec<_> = audit.iter().filter(|a| a.action == "discrepancy.resolve").collect();
    assert_eq!(resolves.len(), 5, "adjusted, refunded, written off and the matched pair");
    assert!(resolves.iter().all(|a| a.operator_id == Some(clerk.id)));
    assert!(resolves.iter().any(|a| a.after.as_deref() == Some("refunded (WR007): 已在商户平台退款给顾客")));
    assert!(audit.iter().any(|a| a.action == "order.adopt_from_bill" && a.subject == "W003"));
}

#[test]
fn what_the_data_does_not_allow_is_refused_with_the_reason() {
    let (mut store, report, clerk) = reconciled();
    let by = Some(clerk.id);
    let w008 = id_of(&report, "W008", None);
    let mut try_ = |id, how: ResolveAs, note: &str| resolve::resolve(&mut store, id, &how, note, by).map(|_| ());
    // A row that matched its order, a line the bills do not have, no note.
    let line = |n| ResolveAs::Matched(BillRowPick::Line(n));
    assert!(matches!(refused(try_(w008, line(4), "x").unwrap_err()), Refused::BillRowMatched { line: 4, .. }));
    assert!(matches!(refused(try_(w008, line(99), "x").unwrap_err()), Refused::BillRowNotFound { .. }));
    let by_trade = ResolveAs::Matched(BillRowPick::TradeNo("4200009999".into()));
    assert!(matches!(refused(try_(w008, by_trade, "x").unwrap_err()), Refused::BillRowNotFound { .. }));
    assert_eq!(refused(try_(w008, ResolveAs::WrittenOff, "  ").unwrap_err()), Refused::NoteRequired);
    // A refund of another order; a bad out_request_no.
    let w007 = id_of(&report, "W007", Some("WR007"));
    let other = ResolveAs::Refunded { out_request_no: Some("WR010".into()) };
    assert!(matches!(refused(try_(w007, other, "x").unwrap_err()), Refused::RefundOfAnotherOrder { .. }));
    let bad = ResolveAs::Refunded { out_request_no: Some("WR 7".into()) };
    assert!(matches!(refused(try_(w007, bad, "x").unwrap_err()), Refused::BadOutRequestNo { .. }));
    // Only a bill payment the till lacks can be adopted.
    let w005 = id_of(&report, "W005", None);
    assert!(matches!(try_(w005, ResolveAs::Adopted, "x").unwrap_err(), ResolveError::CannotAdopt { .. }));
    // Matched once: the row (and the difference) cannot be matched again.
    try_(w008, line(6), "W004 的付款").unwrap();
    assert!(matches!(refused(try_(w008, ResolveAs::WrittenOff, "x").unwrap_err()), Refused::AlreadyResolved { .. }));
    let w008_again = refused(try_(id_of(&report, "W004", None), line(6), "x").unwrap_err());
    assert!(matches!(w008_again, Refused::AlreadyResolved { .. }), "{w008_again:?}");
    // Two bill rows are not matched to each other; a local-only difference is matched to a row once.
    let w003 = id_of(&report, "W003", None);
    assert_eq!(refused(try_(w003, line(7), "x").unwrap_err()), Refused::NotLocalOnly { id: w003.0, line: 5 });
    let wr010 = id_of(&report, "W001", Some("WR010"));
    assert!(matches!(refused(try_(wr010, line(6), "x").unwrap_err()), Refused::BillRowResolved { line: 6, .. }));
    // By trade_no, the row of that trade that is a difference: W007's refund row, not its payment (which matched).
    let by_trade = ResolveAs::Matched(BillRowPick::TradeNo("4200002026112400000007".into()));
    try_(wr010, by_trade, "退款记错了订单").unwrap();
    assert!(matches!(
        resolve::resolve(&mut store, DiscrepancyId(999), &ResolveAs::WrittenOff, "x", by).unwrap_err(),
        ResolveError::Store(StoreError::NotFound { .. })
    ));
    // An older run's difference is not worked on: the latest run is.
    let second = run(&mut store).unwrap();
    let old = resolve::resolve(&mut store, w005, &ResolveAs::Adjusted, "x", by).unwrap_err();
    assert_eq!(refused(old), Refused::NotLatestRun { id: w005.0, run: report.run_id, latest: second.run_id });
}

#[test]
fn resolutions_carry_over_with_their_kind_and_a_reopened_one_does_not() {
    let (mut store, report, clerk) = reconciled();
    let w005 = id_of(&report, "W005", None);
    let w007 = id_of(&report, "W007", Some("WR007"));
    resolve::resolve(&mut store, w005, &ResolveAs::Adjusted, "已更正", Some(clerk.id)).unwrap();
    resolve::resolve(&mut store, w007, &ResolveAs::WrittenOff, "顾客不再追究", Some(clerk.id)).unwrap();
    let second = run(&mut store).unwrap();
    let carried = second.discrepancies.iter().find(|d| d.id == id_of(&second, "W005", None)).unwrap();
    let r = carried.resolution.clone().unwrap();
    assert_eq!(
        (r.kind, r.by.as_deref(), carried.note.as_deref()),
        (Some(ResolutionKind::Adjusted), Some("王芳"), Some("已更正"))
    );

    // Reopened in the latest run: the next run leaves it open, although the first run still has it resolved.
    let w007_now = id_of(&second, "W007", Some("WR007"));
    resolve::reopen(&mut store, w007_now, "还要向微信确认", Some(clerk.id)).unwrap();
    let reopened_twice = resolve::reopen(&mut store, w007_now, "x", Some(clerk.id)).unwrap_err();
    assert_eq!(refused(reopened_twice), Refused::NotResolved { id: w007_now.0 });
    let third = run(&mut store).unwrap();
    let w007_third = third.discrepancies.iter().find(|d| d.id == id_of(&third, "W007", Some("WR007"))).unwrap();
    assert!(!w007_third.resolved && w007_third.resolution.is_none());
    assert!(third.discrepancies.iter().any(|d| d.id == id_of(&third, "W005", None) && d.resolved));
    assert!(store.recent_audit(5).unwrap().iter().any(|a| a.action == "discrepancy.reopen"));
}

#[test]
fn a_day_closes_only_when_nothing_is_open_and_then_stays_as_it_was() {
    let (mut store, report, clerk) = reconciled();
    let acquirer = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let refusal = resolve::close_day(&mut store, acquirer, DAY, "王芳", Some(clerk.id), CLOSED_AT).unwrap_err();
    assert_eq!(
        refused(refusal),
        Refused::OpenDifferences { bill_date: "2026-11-24".into(), count: 6, run: report.run_id }
    );
    assert!(
        Refused::OpenDifferences { bill_date: "2026-11-24".into(), count: 6, run: 1 }.to_string().contains("6 open")
    );
    resolve_all(&mut store, &report, &clerk);
    let closed = resolve::close_day(&mut store, acquirer, DAY, "王芳", Some(clerk.id), CLOSED_AT).unwrap();
    assert_eq!((closed.closed_by, closed.run_id), (Some(clerk.id), report.run_id));
    let again = resolve::close_day(&mut store, acquirer, DAY, "王芳", Some(clerk.id), CLOSED_AT).unwrap_err();
    assert!(matches!(again, ResolveError::Store(StoreError::DayClosed { .. })), "{again:?}");

    // Closed: no re-run, no resolution, no reopening of a difference.
    let rerun = run(&mut store).unwrap_err();
    assert!(matches!(rerun, ReconError::DayClosed { .. }), "{rerun:?}");
    assert!(rerun.to_string().contains("closed by 王芳 at 2026-11-25 10:00:00"), "{rerun}");
    let w005 = id_of(&report, "W005", None);
    let reopen = resolve::reopen(&mut store, w005, "x", Some(clerk.id)).unwrap_err();
    assert!(matches!(reopen, ResolveError::Store(StoreError::DayClosed { .. })));
    let adopt_again = store.recon_mut().resolve_discrepancy(w005, "x", None).unwrap_err();
    assert!(matches!(adopt_again, StoreError::DayClosed { .. }));
    // A run saved some other way is refused by the store itself.
    let saved = store.recon_mut().save_recon_run(acquirer, "2026-11-24", None, CLOSED_AT, "{}", &[]).unwrap_err();
    assert!(matches!(saved, StoreError::DayClosed { .. }));

    // Reopened (audited): it can be reconciled again, and closed again.
    resolve::reopen_day(&mut store, acquirer, DAY, "微信补发了账单", Some(clerk.id)).unwrap();
    assert!(store.recon().closed_day(acquirer, "2026-11-24").unwrap().is_none());
    let audit = store.recent_audit(10).unwrap();
    assert!(audit.iter().any(|a| a.action == "recon.day_close"));
    assert!(audit.iter().any(|a| a.action == "recon.day_reopen" && a.after.as_deref() == Some("微信补发了账单")));
    let rerun = run(&mut store).unwrap();
    assert_eq!(rerun.open_count(), 0, "the resolutions carried over");
    resolve::close_day(&mut store, acquirer, DAY, "王芳", Some(clerk.id), CLOSED_AT).unwrap();
}

#[test]
fn a_run_older_than_the_days_bill_cannot_close_it() {
    let (mut store, report, clerk) = reconciled();
    resolve_all(&mut store, &report, &clerk);
    // A corrected bill of the day arrives after the run.
    let tmp = tempfile::tempdir().unwrap();
    let changed = tmp.path().join("wechat_20261124_v2.txt");
    let text = std::fs::read_to_string(fixture("wechat_20261124.txt")).unwrap().replacen("`22.00,", "`20.00,", 1);
    std::fs::write(&changed, text).unwrap();
    import(&mut store, &changed, true);
    let acquirer = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let stale = resolve::close_day(&mut store, acquirer, DAY, "王芳", Some(clerk.id), CLOSED_AT).unwrap_err();
    assert_eq!(refused(stale), Refused::StaleRun { bill_date: "2026-11-24".into(), run: report.run_id });
}

/// Compares with the expected frozen text; `UPDATE_EXPECTED=1` rewrites it (read the diff before committing).
fn assert_expected(name: &str, actual: &str) {
    let path = fixture(name);
    if std::env::var_os("UPDATE_EXPECTED").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(actual, expected, "the frozen report differs from {}", path.display());
}

#[test]
fn the_closed_fixture_day_reprints_and_re_exports_byte_for_byte_after_new_imports() {
    let (mut store, report, clerk) = reconciled();
    resolve_all(&mut store, &report, &clerk);
    let acquirer = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let closed = resolve::close_day(&mut store, acquirer, DAY, "王芳", Some(clerk.id), CLOSED_AT).unwrap();
    assert_expected("resolve_wechat_20261124.expected.txt", &closed.report_text);

    let tmp = tempfile::tempdir().unwrap();
    let export_all = |store: &Store, tag: &str| -> Vec<Vec<u8>> {
        let day = resolve::day_report(store, acquirer, DAY).unwrap();
        let mut files = Vec::new();
        for (ext, lang) in [("csv", Lang::ZhCn), ("xlsx", Lang::ZhCn), ("xlsx", Lang::En), ("txt", Lang::En)] {
            let path = tmp.path().join(format!("{tag}-{lang:?}.{ext}"));
            tilldesk::recon::export::write_day(&day, &path, lang).unwrap();
            files.push(std::fs::read(&path).unwrap());
        }
        files
    };
    let before = export_all(&store, "before");
    assert_eq!(before[3], closed.report_text.as_bytes());
    // The workbook says it was made when the day was closed, not when it was exported.
    let mut book = zip::ZipArchive::new(std::io::Cursor::new(before[1].clone())).unwrap();
    let mut core = String::new();
    std::io::Read::read_to_string(&mut book.by_name("docProps/core.xml").unwrap(), &mut core).unwrap();
    assert!(core.contains("2026-11-25T02:00:00Z"), "{core}");
    let csv = String::from_utf8(before[0].clone()).unwrap();
    assert!(csv.contains("已处理（核销（接受损益））"), "{csv}");
    assert!(csv.contains("已处理（手工匹配账单行） 4200002026112400000004 账单行 6 · 王芳 "), "{csv}");

    // Later: another bill of the day is imported (it replaces the one the day was closed with), an order changes,
    // and a re-run is attempted.
    let changed = tmp.path().join("wechat_20261124_v2.txt");
    let text = std::fs::read_to_string(fixture("wechat_20261124.txt")).unwrap().replacen("`22.00,", "`20.00,", 1);
    std::fs::write(&changed, text).unwrap();
    import(&mut store, &changed, true);
    seed_local(&mut store, AcquirerKind::Alipay);
    import(&mut store, &fixture("alipay_20261124.csv.zip"), false);
    assert!(matches!(run(&mut store).unwrap_err(), ReconError::DayClosed { .. }));

    let after = export_all(&store, "after");
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert!(b == a, "export {i} changed after the day was closed");
    }
    assert_eq!(store.recon().closed_day(acquirer, "2026-11-24").unwrap().unwrap(), closed);
}

// The command line.

fn tilldesk(data: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    cmd.env_remove("TILLDESK_DATA_DIR").env_remove("TILLDESK_PIN").arg("--data-dir").arg(data);
    cmd
}

fn as_operator(data: &std::path::Path, name: &str, pin: &str) -> Command {
    let mut cmd = tilldesk(data);
    cmd.env("TILLDESK_PIN", pin).args(["--operator", name]);
    cmd
}

#[test]
fn the_command_line_resolves_closes_shows_and_reopens() {
    use cli_common::{fails, ok};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    {
        let mut home = tilldesk::config::DataHome::open(data).unwrap();
        seed_local(&mut home.store, AcquirerKind::WechatPay);
        let owner = home.store.staff_mut().add_operator("李娜", Role::Owner, "246810", None).unwrap();
        home.store.staff_mut().add_operator("王芳", Role::BackOffice, "135790", Some(owner.id)).unwrap();
        home.store.staff_mut().add_operator("小张", Role::Cashier, "1234", Some(owner.id)).unwrap();
    }
    ok(tilldesk(data).args(["bills", "import"]).arg(fixture("wechat_20261124.txt")).output().unwrap());
    // `reconcile --date` works as before, and `show` lists the ids.
    let out = ok(tilldesk(data).args(["reconcile", "--date", "2026-11-24", "--acquirer", "wechat"]).output().unwrap());
    assert!(out.contains("amount_mismatch payment_amount out_trade_no=W005"), "{out}");
    assert!(out.contains("6 difference(s) open: `tilldesk reconcile show --date 2026-11-24 --acquirer …`"), "{out}");
    let out = ok(tilldesk(data)
        .args(["reconcile", "show", "--date", "2026-11-24", "--acquirer", "wechat"])
        .output()
        .unwrap());
    assert!(out.contains("#3 payment_amount W005: open"), "{out}");
    assert!(out.contains("Day open: 6 open difference(s) in run 1."), "{out}");
    // Without --date the day is yesterday in China, and the message says so.
    let err = fails(tilldesk(data).args(["reconcile"]).output().unwrap());
    assert!(err.contains("(yesterday in China; give --date YYYY-MM-DD for another day)"), "{err}");

    // Bad ids and kinds name what was expected; a cashier and nobody are refused.
    let resolve = |cmd: &mut Command, args: &[&str]| cmd.args(["reconcile", "resolve"]).args(args).output().unwrap();
    let err = fails(resolve(&mut as_operator(data, "王芳", "135790"), &["W005", "--as", "adjusted", "--note", "x"]));
    assert!(err.contains("\"W005\" is not a difference id: expected a number like 12"), "{err}");
    let err = fails(resolve(&mut as_operator(data, "王芳", "135790"), &["3", "--as", "fixed", "--note", "x"]));
    assert!(err.contains("expected adjusted, refunded, written-off, matched or adopted"), "{err}");
    let err = fails(resolve(&mut as_operator(data, "王芳", "135790"), &["3", "--as", "matched", "--note", "x"]));
    assert!(err.contains("--bill-line N or --trade-no T"), "{err}");
    let err = fails(resolve(&mut as_operator(data, "小张", "1234"), &["3", "--as", "adjusted", "--note", "x"]));
    assert!(err.contains("小张 is a cashier and may not reconcile bills"), "{err}");
    let err = fails(resolve(&mut tilldesk(data), &["3", "--as", "adjusted", "--note", "x"]));
    assert!(err.contains("needs an operator: pass --operator NAME (owner or back office)"), "{err}");

    let close = |cmd: &mut Command| {
        cmd.args(["reconcile", "close", "--date", "2026-11-24", "--acquirer", "wechat"]).output().unwrap()
    };
    let err = fails(close(&mut as_operator(data, "王芳", "135790")));
    assert!(err.contains("2026-11-24 still has 6 open difference(s) in run 1"), "{err}");

    let clerk = |args: &[&str]| ok(resolve(&mut as_operator(data, "王芳", "135790"), args));
    let out = clerk(&["#1", "--as", "adopted", "--note", "顾客扫店铺码付款"]);
    assert!(out.starts_with("Difference #1 adopted from the bill as local order #"), "{out}");
    clerk(&["3", "--as", "adjusted", "--note", "已更正"]);
    clerk(&["4", "--as", "refunded", "--out-request-no", "WR007", "--note", "已退款"]);
    clerk(&["6", "--as", "written_off", "--note", "线下结清"]);
    let out = clerk(&["5", "--as", "matched", "--bill-line", "6", "--note", "W004 的付款"]);
    assert!(out.contains("matched by hand to bill line 6") && out.contains("the day can be closed"), "{out}");

    let out = ok(close(&mut as_operator(data, "王芳", "135790")));
    assert!(out.starts_with("Closed the WeChat Pay day 2026-11-24 (run 1) as 王芳 at "), "{out}");
    let show = |json: bool| {
        let mut cmd = tilldesk(data);
        cmd.args(["reconcile", "show", "--date", "2026-11-24", "--acquirer", "wechat"]);
        if json {
            cmd.arg("--json");
        }
        ok(cmd.output().unwrap())
    };
    let text = show(false);
    assert!(text.contains("#4 refunded_only_at_acquirer W007 WR007: refunded WR007 by 王芳: 已退款"), "{text}");
    assert!(text.contains("Day closed by 王芳 at "), "{text}");
    let json: serde_json::Value = serde_json::from_str(&show(true)).unwrap();
    assert_eq!(json["closed"]["closed_by"], "王芳");
    assert_eq!(json["report"]["discrepancies"][2]["resolution"]["kind"], "adjusted");

    let err =
        fails(tilldesk(data).args(["reconcile", "--date", "2026-11-24", "--acquirer", "wechat"]).output().unwrap());
    assert!(err.contains("was closed by 王芳") && err.contains("reopen-day"), "{err}");
    // The closed day prints the same bytes after a new import.
    ok(tilldesk(data).args(["bills", "import"]).arg(fixture("alipay_20261124.csv.zip")).output().unwrap());
    assert_eq!(show(false), text);
    // Without --acquirer the open days are reconciled and the closed one is named.
    let out = tilldesk(data).args(["reconcile", "--date", "2026-11-24"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = ok(out);
    assert!(stdout.contains("Reconciliation of the Alipay bill of 2026-11-24"), "{stdout}");
    assert!(!stdout.contains("WeChat Pay bill"), "{stdout}");
    assert!(stderr.contains("2026-11-24 was closed by 王芳 at "), "{stderr}");

    let out = ok(as_operator(data, "李娜", "246810")
        .args(["reconcile", "reopen-day", "--date", "2026-11-24", "--acquirer", "wechat", "--note", "补发账单"])
        .output()
        .unwrap());
    assert!(out.contains("Reopened the WeChat Pay day 2026-11-24 (closed by 王芳"), "{out}");
    let out =
        ok(as_operator(data, "李娜", "246810").args(["reconcile", "reopen", "3", "--note", "再查"]).output().unwrap());
    assert_eq!(out.trim(), "Difference #3 is open again.");
}

// The sync worker.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_worker_leaves_a_closed_day_alone() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;
    use tilldesk::checkout::{CheckoutSettings, Outcome, PaymentInput, SystemClock};

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let db = home.join(tilldesk::config::DATABASE_FILE);
    let sandbox =
        tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let (url, acc) = (sandbox.base_url(), sandbox.state.accounts());
    // Yesterday (at the acquirers) the till took one WeChat payment.
    sandbox.state.config.lock().unwrap().clock_offset_secs = -86_400;
    let fast = CheckoutSettings {
        poll_interval: Duration::from_millis(100),
        poll_window: Duration::from_millis(400),
        cancel_retry_interval: Duration::from_millis(50),
        max_cancel_attempts: 2,
        query_retries: 1,
        query_backoff: Duration::from_millis(50),
        cashier_deadline: Duration::from_secs(3),
    };
    let engine = tilldesk::sandbox::till::checkout(&db, &acc, &url, None, Arc::new(SystemClock), fast).unwrap();
    let input = PaymentInput {
        amount: tilldesk::money::Amount::from_fen(567),
        auth_code: "130000000000000000".into(),
        subject: "结账测试".into(),
        store_id: tilldesk::model::StoreId(1),
        operator_id: None,
        terminal_id: None,
    };
    let (_, outcome) = engine.pay(input, Arc::new(AtomicBool::new(false)), &|_| {}).await.unwrap();
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    sandbox.state.config.lock().unwrap().clock_offset_secs = 0;

    // The worker fetches and reconciles yesterday; the back office closes WeChat Pay's day.
    let settings = tilldesk::sync::SyncSettings {
        bill_time: time::Time::from_hms(0, 0, 0).ok(),
        backoff_base: Duration::from_millis(300),
        backoff_max: Duration::from_secs(2),
        ..tilldesk::sync::SyncSettings::default()
    };
    let worker = tilldesk::sandbox::till::worker(&home, &acc, &url, settings).unwrap();
    let run = worker.run_once("test").await.unwrap();
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let mut store = Store::open(&db).unwrap();
    let wechat = store.setup().acquirer_by_onboarding_code("WECHATPAY").unwrap().unwrap().acquirer.id;
    let yesterday = tilldesk::time::china_business_day(time::OffsetDateTime::now_utc());
    resolve::close_day(&mut store, wechat, yesterday, "王芳", None, CLOSED_AT).unwrap();

    // Asked to fetch it again (the bookkeeping forgot it), the worker leaves the closed day alone: no error.
    let key = format!("{}.{}", tilldesk::sync::SETTING_BILLS_DONE, wechat);
    store.set_bookkeeping(&key, "").unwrap();
    let run = worker.run_once("test").await.unwrap();
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    assert_eq!(run.bills_fetched, 0);
    sandbox.stop().await;
}
