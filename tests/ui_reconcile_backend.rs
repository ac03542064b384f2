//! The 对账 screen on a till enrolled with a merchant backend, as an owner uses it: the backend's runs are listed
//! (read through the queue from the backend), a run is opened and its differences shown with the store of each,
//! the store filter is typed and entered from the keyboard, the screen says in its own language that it is
//! read-only and that differences are resolved at the backend, and it says so when the backend stops answering.

mod recon_common;
mod ui_common;

use egui_kittest::kittest::{NodeT, Queryable};
use tilldesk::config::DataHome;
use tilldesk::i18n::Lang;
use tilldesk::model::AcquirerKind;

/// Whether the button is disabled (or not on the screen this frame).
fn disabled<S>(h: &egui_kittest::Harness<'_, S>, label: &str) -> bool {
    h.query_by_role_and_label(egui::accesskit::Role::Button, label).is_none_or(|b| b.accesskit_node().is_disabled())
}

/// The till's vault (its token for the backend), unlocked again.
fn app_vault(data: &std::path::Path) -> &'static Vault {
    Box::leak(Box::new(Vault::unlock(data, "till passphrase").unwrap()))
}
use tilldesk::channel::backend::api::{ResolveRequest, SignInRequest};
use tilldesk::model::ResolutionKind;
use tilldesk::recon::report::Reason;
use tilldesk::recon::{ImportControl, ImportOptions, ReconOptions};
use tilldesk::routing::backend;
use tilldesk::secrets::Secret;
use tilldesk::secrets::Vault;
use tilldesk::serve::StartOptions;
use tilldesk::store::Store;
use tilldesk::ui::TillDeskApp;
use ui_common::{assert_one_language, click, type_into, wait_for, wait_for_sign_in, wait_until};

fn the_backends_reports_in(lang: Lang) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let options = StartOptions { sync: None, recover: false, tls: None };
    let (sandbox, running) = ui_common::backend_on_sandbox(&rt, tmp.path(), options, |_| {});
    // The backend's bills of 2026-11-24, reconciled there (as its sync worker does after downloading them).
    let run_id = {
        let mut store = Store::open(&running.backend.db_path()).unwrap();
        recon_common::seed_local(&mut store, AcquirerKind::WechatPay);
        let bill = recon_common::fixture("wechat_20261124.txt");
        tilldesk::recon::import_file(&mut store, &bill, &ImportOptions::default(), &ImportControl::new()).unwrap();
        let day = time::macros::date!(2026 - 11 - 24);
        tilldesk::recon::reconcile(&mut store, AcquirerKind::WechatPay, day, &ReconOptions::default(), Lang::En)
            .unwrap()
            .run_id
    };

    // The till joins, its owner is added at the backend and signs in there.
    let data = tmp.path().join("till");
    let db = data.join(tilldesk::config::DATABASE_FILE);
    let vault = ui_common::join_as_owner(&rt, &running, &data, lang);

    let home = DataHome::open(&data).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.queue.set_vault(Some(vault));
    app.ctx.operator = Some("老板".into());
    let mut h = ui_common::harness(app, [1400.0, 1400.0]);
    wait_for_sign_in(&mut h);
    click(&mut h, lang.pick("对账", "Reconciliation"));
    wait_for(&mut h, lang.pick("商户后台对账", "Reconciliation at the merchant backend"));
    wait_for(&mut h, "(WECHATPAY)");
    h.get_by_label_contains(lang.pick("都记录在商户后台", "are recorded at the merchant backend"));
    assert!(h.query_all_by_label("2026-11-24").count() >= 1, "the run's day");

    // The run opened: its differences, each with its store and why, in the screen's language.
    click(&mut h, &format!("{} #{run_id}", lang.pick("查看", "Open")));
    wait_for(&mut h, "W008");
    h.get_by_label(Reason::MissingFromBill.explanation(lang));
    h.get_by_label_contains(lang.pick("全部门店", "Every store"));
    h.get_by_label_contains(lang.pick("账单：支付 8 笔 共 222.50", "Bill: 8 payments totalling 222.50"));
    assert!(h.query_all_by_label("S001").count() >= 1, "the store of W008's difference");
    // A difference in a field says which, with both sides (times in China time).
    let fields = h.query_all_by_label_contains(lang.pick("：账单 ", ": bill ")).count();
    assert!(fields >= 1, "the differing fields are listed");
    let allow = ["WECHATPAY", "(WECHATPAY)", "out_trade_no", "老板"];
    assert_one_language(&h, lang, &allow, "the backend's reconciliation");

    // Working through the day from the till: W008's difference resolved in the dialog (written off, the note typed,
    // Enter saves); the day cannot be closed while anything is open.
    let owner = rt.block_on(async {
        let client = backend::client(&Store::open(&db).unwrap(), app_vault(&data)).unwrap().unwrap();
        let signed = client.sign_in(&SignInRequest { name: "老板".into(), pin: "246810".into() }).await.unwrap();
        client.with_session(Secret::from(signed.session))
    });
    let report = rt.block_on(owner.recon_report(run_id, None)).unwrap();
    let w008 = report.discrepancies.iter().find(|d| d.out_trade_no.as_deref() == Some("W008")).unwrap().id;
    click(&mut h, &format!("{} #{w008}", lang.pick("处理", "Resolve")));
    wait_for(&mut h, lang.pick("处理差异", "Resolve a difference"));
    click(&mut h, lang.pick("核销（接受损益）", "written off"));
    type_into(&mut h, lang.pick("处理说明", "Note"), lang.pick("测试单，未收款", "test order, not paid"));
    h.key_press(egui::Key::Enter);
    wait_for(&mut h, &format!("{} #{w008}", lang.pick("重新打开", "Reopen")));
    h.get_by_label_contains(lang.pick("条未处理", "still open"));
    let written_off =
        h.query_all_by_label_contains(lang.pick("核销（接受损益）：测试单", "written off: test order")).count();
    assert_eq!(written_off, 1, "the resolution and its note are shown");
    let at_backend = rt.block_on(owner.recon_report(run_id, None)).unwrap();
    let d = at_backend.discrepancies.iter().find(|d| d.id == w008).unwrap();
    assert_eq!((d.resolved, d.resolution.as_deref()), (true, Some("written_off")), "recorded at the backend");
    assert!(disabled(&h, lang.pick("结账", "Close day")), "open differences: the day stays open");
    // The rest resolved (at another till, say); the report read again, the day closed, then reopened with a reason.
    for d in at_backend.discrepancies.iter().filter(|d| !d.resolved) {
        let req = ResolveRequest {
            kind: ResolutionKind::Adjusted,
            note: lang.pick("已更正", "corrected").into(),
            out_request_no: None,
            bill_line: None,
            trade_no: None,
        };
        rt.block_on(owner.resolve_difference(d.id, &req)).unwrap();
    }
    click(&mut h, &format!("{} #{run_id}", lang.pick("查看", "Open")));
    wait_until(&mut h, "Close day enabled", |h| !disabled(h, lang.pick("结账", "Close day")));
    click(&mut h, lang.pick("结账", "Close day"));
    wait_for(
        &mut h,
        lang.pick("已在商户后台结账，报表已冻结", "Day closed at the merchant backend: its report is frozen"),
    );
    wait_until(&mut h, "the day bar says closed", |h| {
        h.query_all_by_label_contains(lang.pick("已结账 · 结账人 老板", "closed · by 老板")).count() == 1
    });
    assert_eq!(h.query_all_by_label(&format!("{} #{w008}", lang.pick("重新打开", "Reopen"))).count(), 0, "frozen");
    assert!(disabled(&h, lang.pick("重新开账", "Reopen day")), "a reason first");
    type_into(&mut h, lang.pick("重新开账原因", "Reason to reopen"), "补录一笔");
    click(&mut h, lang.pick("重新开账", "Reopen day"));
    wait_for(&mut h, lang.pick("已重新开账", "The day is open again"));
    let allow = ["WECHATPAY", "(WECHATPAY)", "out_trade_no", "老板", "W008"];
    assert_one_language(&h, lang, &allow, "the backend's reconciliation, worked on");

    // The store filter from the keyboard: S001's runs.
    let field = lang.pick("门店代码", "Store code");
    h.get_by_label(field).focus();
    h.run_steps(1);
    h.get_by_label(field).type_text("S001");
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    wait_for(&mut h, "(WECHATPAY)");
    assert!(h.query_all_by_label("S001").count() >= 1, "the run lists S001");

    // Nobody signed in at the window: the backend's session an earlier sign-in left is not used.
    h.state_mut().ctx.operator = None;
    let refresh = lang.pick("刷新", "Refresh");
    wait_until(&mut h, "the runs read", |h| !disabled(h, refresh));
    click(&mut h, refresh);
    wait_for(&mut h, lang.pick("请先登录（店主或后台人员）", "Sign in first (owner or back office)"));
    assert_eq!(h.query_all_by_label("(WECHATPAY)").count(), 0, "nothing of the backend's is shown");
    h.state_mut().ctx.operator = Some("老板".into());

    // The backend stops answering: the screen says so.
    rt.block_on(running.stop());
    wait_for(&mut h, refresh);
    wait_until(&mut h, "the runs read", |h| !disabled(h, refresh));
    click(&mut h, refresh);
    wait_for(&mut h, lang.pick("无法连接商户后台", "The merchant backend cannot be reached"));
    drop(h);
    rt.block_on(sandbox.stop());
}

#[test]
fn the_backends_reports_in_chinese() {
    the_backends_reports_in(Lang::ZhCn);
}

#[test]
fn the_backends_reports_in_english() {
    the_backends_reports_in(Lang::En);
}
