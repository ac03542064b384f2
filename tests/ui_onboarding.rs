//! The Acquirers and Store codes screens as a merchant uses them, against the sandbox: onboard a store with
//! acquirer 1 via CDS, open the printed code's picture and bind acquirer 2 to it, check the code; edit stores.

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::onboarding::build_for_store;
use tilldesk::store::Store;
use tilldesk::ui::TillDeskApp;
use ui_common::{AppHarness, type_into, wait_for_ok, wait_until};

mod scan_common;
mod ui_common;

fn harness(app: TillDeskApp) -> AppHarness {
    ui_common::harness(app, [1200.0, 1400.0])
}

fn app_with_sandbox(dir: &std::path::Path, rt: &tokio::runtime::Runtime) -> TillDeskApp {
    let mut home = DataHome::open(&dir.join("data")).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::ZhCn.tag(), None).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    ui_common::run_on_sandbox(&mut app, dir, rt, Some(200));
    app
}

#[test]
fn onboard_with_cds_then_bind_a_second_acquirer_by_opening_the_code() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut h = harness(app_with_sandbox(tmp.path(), &rt));

    h.get_by_label("收单机构").click();
    h.run_steps(2);
    h.get_by_label("收单机构与绑定");
    h.get_by_label("尚未与任何收单机构绑定");

    // Acquirer 1 with CDS.
    // By accessibility actions: the screen's sections fill in as the command queue answers.
    ui_common::click(&mut h, "PARTNER1 · Alipay+ 合作机构 PARTNER1（沙箱）");
    ui_common::click(&mut h, "入驻并注册 CDS");
    wait_for_ok(&mut h, "已入驻 Alipay+ 合作机构 PARTNER1（沙箱）");
    wait_for_ok(&mut h, "已生效");
    let cds_index = {
        let db = Store::open(&tmp.path().join("data").join("tilldesk.sqlite3")).unwrap();
        let s = db.setup().store_by_code("S001").unwrap().unwrap();
        db.setup().bindings_for_store(s.id).unwrap()[0].cds_index.clone().unwrap()
    };
    wait_for_ok(&mut h, &format!("{cds_index} @ SANDBOXCDS"));

    // The printed code: what the Store codes screen shows, saved as a picture.
    let payload = {
        let db = Store::open(&tmp.path().join("data").join("tilldesk.sqlite3")).unwrap();
        let s = db.setup().store_by_code("S001").unwrap().unwrap();
        build_for_store(&db, s.id, None).unwrap().payload
    };
    let picture = tmp.path().join("printed-code.png");
    std::fs::write(&picture, tilldesk::mpm::render_png(&payload, 4, 4).unwrap()).unwrap();

    // Acquirer 2: open the code's picture and bind.
    ui_common::click(&mut h, "WECHATPAY · 微信支付（沙箱）");
    type_into(&mut h, "图片文件", &picture.display().to_string());
    h.run_steps(2);
    ui_common::click(&mut h, "绑定此收单机构到该码");
    wait_for_ok(&mut h, "已绑定到店铺码");
    h.get_by_label_contains("同一张店铺码现在可到达以下收单机构");
    h.get_by_label_contains("(PARTNER1) — 商户号 PARTNER1M");
    h.get_by_label_contains("(WECHATPAY) — 商户号 WECHATPAYM");
    // Both bindings are active, and so is the route the WECHATPAY onboarding wrote for WeChat Pay (the demo store
    // keeps its direct ALIPAY route for Alipay: the owner chooses PARTNER1 in the routing table if they want).
    // (The routing table is read again through the command queue.)
    ui_common::wait_until(&mut h, "both bindings and the WeChat Pay route active", |h| {
        h.query_all_by_label("已生效").count() == 3
    });
    h.get_by_label("S001 支付宝 收单机构");
    ui_common::wait_until(&mut h, "both bindings with the index", |h| {
        h.query_all_by_label(&format!("{cds_index} @ SANDBOXCDS")).count() == 2
    });

    // Binding the same acquirer again is refused with a clear message.
    ui_common::click(&mut h, "绑定此收单机构到该码");
    wait_for_ok(&mut h, "不能重复绑定");

    // The steps are recorded with their times.
    wait_for_ok(&mut h, "步骤记录 WECHATPAY");
    ui_common::click(&mut h, "步骤记录 WECHATPAY");
    wait_for_ok(&mut h, "已绑定 CDS 索引");

    // Store codes: the preview shows the Alipay+ code with the CDS data, and the checker lists both acquirers.
    h.get_by_label("店铺码").click();
    h.run_steps(3);
    h.get_by_label("店铺收款码");
    // The code is built through the command queue.
    wait_until(&mut h, "the Alipay+ code", |h| h.query_all_by_label("Alipay+ MPM 码").count() == 2);
    h.get_by_label(&payload);
    h.get_all_by_label(&cds_index).next().expect("the decoded CDS index is shown");
    wait_for_ok(&mut h, "预览：S001");
    type_into(&mut h, "待检查的码内容", &payload);
    h.run_steps(2);
    h.get_by_label("检查此码").click();
    h.run_steps(1);
    wait_for_ok(&mut h, "可到达微信支付（沙箱）");
    h.get_by_label_contains("可到达Alipay+ 合作机构 PARTNER1（沙箱）");

    // Switching the store to EMVCo changes the printed code, and the choice is saved.
    h.get_by_label("EMVCo").click();
    // Saved and built again through the command queue.
    wait_until(&mut h, "the EMVCo code", |h| h.query_all_by_label("EMVCo 码").count() == 2);
    let db = Store::open(&tmp.path().join("data").join("tilldesk.sqlite3")).unwrap();
    let s = db.setup().store_by_code("S001").unwrap().unwrap();
    assert_eq!(db.setup().store_code_format(s.id).unwrap(), tilldesk::model::CodeFormatChoice::Emvco);
    let emvco = build_for_store(&db, s.id, None).unwrap().payload;
    assert_ne!(emvco, payload);

    // Print from the same screen: the stand shows the store's wallets, and the PDF's code is the screen's code.
    h.get_by_label("打印店铺码");
    h.get_by_label("A6 桌面台卡").click();
    let pdf = tmp.path().join("stands").join("s001.pdf");
    type_into(&mut h, "PDF 文件", &pdf.display().to_string());
    h.get_by_label("保存 PDF…").click();
    wait_for_ok(&mut h, "已保存 1 页");
    let pages = scan_common::rasterise(&pdf, 200);
    assert_eq!(pages.len(), 1);
    assert_eq!(scan_common::decode_all(&pages[0]), [emvco.clone(), emvco.clone()], "both faces of the tent");

    // Print… hands the PDF to the system's lp (here a stand-in that records what it was given).
    let lp = tmp.path().join("lp");
    let record = tmp.path().join("lp-args");
    std::fs::write(
        &lp,
        format!("#!/bin/sh\necho \"$@\" > {}\necho 'request id is Counter-7 (1 file(s))'\n", record.display()),
    )
    .unwrap();
    std::fs::set_permissions(&lp, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    h.state_mut().store_codes.print.print_command = lp.into_os_string();
    h.get_by_label("打印…").click();
    wait_for_ok(&mut h, "request id is Counter-7");
    let args = std::fs::read_to_string(&record).unwrap();
    assert!(args.contains("-t TillDesk store codes --") && args.contains("tilldesk-store-codes.pdf"), "{args}");
}

#[test]
fn a_new_store_is_validated_and_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(tmp.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::ZhCn.tag(), None).unwrap();
    let mut h = harness(TillDeskApp::new(home).unwrap());
    h.get_by_label("收单机构").click();
    h.run_steps(2);
    h.get_by_label("商户与门店资料").click();
    // The merchant and its stores are read through the command queue.
    wait_until(&mut h, "新增门店", |h| {
        h.query_by_label("新增门店").is_some() && h.query_by_label("编辑 S001").is_some()
    });
    // Clicked by id (an accessibility action): the lists below arrive from the queue and move the layout.
    ui_common::click(&mut h, "新增门店");
    wait_until(&mut h, "保存门店", |h| h.query_by_label("保存门店").is_some());
    ui_common::click(&mut h, "保存门店");
    wait_for_ok(&mut h, "必须填写门店编号");
    h.get_by_label("必须填写英文门店名");
    type_into(&mut h, "门店编号", "S002");
    type_into(&mut h, "英文门店名", "People's Square");
    type_into(&mut h, "中文门店名", "人民广场店");
    h.run_steps(2);
    ui_common::click(&mut h, "保存门店");
    wait_for_ok(&mut h, "已保存门店 S002");
    // The screen reads the stores again through the command queue.
    wait_for_ok(&mut h, "S002 人民广场店");
    let db = Store::open(&tmp.path().join("tilldesk.sqlite3")).unwrap();
    assert_eq!(db.setup().store_by_code("S002").unwrap().unwrap().name, "People's Square");

    // The merchant profile: a Latin name too long for the code is refused, saying by how much.
    type_into(&mut h, "英文名称（≤25）", " HAND PULLED NOODLES");
    ui_common::click(&mut h, "保存商户资料");
    wait_for_ok(&mut h, "英文名称有 33 个字符");
    h.get_by_label("英文名称有 33 个字符，店铺码（标签 59）最多 25 个：请删掉 8 个");
    h.get_by_label("请修正标红的字段");
    drop(db);
    let mut db = Store::open(&tmp.path().join("tilldesk.sqlite3")).unwrap();
    assert_eq!(db.setup_mut().merchant().unwrap().display_name, "TILLDESK DEMO", "nothing was saved");
}
