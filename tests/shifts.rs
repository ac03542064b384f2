//! Shifts and the day close end to end through the `tilldesk` binary (issue 20): a cashier opens a shift, takes an
//! Alipay and a WeChat Pay sale with `tilldesk pay --operator`, the back office refunds part of one, a sale with
//! nobody signed in goes to no shift; closing the shift gives the per-wallet figures as JSON, a CSV with a BOM and a
//! slip (ESC/POS and PDF, 58 and 80 mm) whose reprint is byte for byte the same; the day close counts every sale and
//! is refused a second time.

use std::path::Path;
use std::process::Output;

use tilldesk::receipt::escpos;

mod cli_common;
mod scan_common;
use cli_common::{fails, ok};
use scan_common::tool;

fn tilldesk(dir: &Path, pin: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    cmd.env_remove("TILLDESK_DATA_DIR").env_remove("TILLDESK_PIN").arg("--data-dir").arg(dir).args(args);
    if let Some(pin) = pin {
        cmd.env("TILLDESK_PIN", pin);
    }
    cmd.output().unwrap()
}

fn json(out: Output) -> serde_json::Value {
    let text = ok(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn pdf_text(pdf: &Path) -> String {
    let out = tool("pdftotext").arg("-layout").arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The wallet row of `figures` for `wallet`.
fn wallet<'a>(figures: &'a serde_json::Value, wallet: &str) -> &'a serde_json::Value {
    figures["wallets"].as_array().unwrap().iter().find(|w| w["wallet"] == wallet).unwrap()
}

#[test]
fn a_shift_closes_with_the_right_figures_and_the_day_close_counts_every_sale() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let new_pin = |pin: &str, args: &[&str], by: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"));
        cmd.env_remove("TILLDESK_DATA_DIR").arg("--data-dir").arg(&data).args(args).env("TILLDESK_NEW_PIN", pin);
        if let Some(by) = by {
            cmd.env("TILLDESK_PIN", by);
        }
        ok(cmd.output().unwrap())
    };
    new_pin("246810", &["operators", "add", "boss", "--role", "owner"], None);
    new_pin("1357", &["operators", "add", "amy", "--role", "cashier", "--by", "boss"], Some("246810"));

    // Opening twice gives the same shift; a wrong PIN is refused.
    let opened = json(tilldesk(&data, Some("1357"), &["shifts", "open", "--operator", "amy", "--json"]));
    assert_eq!(opened["created"], true);
    let id = opened["shift_id"].as_i64().unwrap();
    let again = json(tilldesk(&data, Some("1357"), &["shifts", "open", "--operator", "amy", "--json"]));
    assert_eq!((again["shift_id"].as_i64(), again["created"].as_bool()), (Some(id), Some(false)));
    let err = fails(tilldesk(&data, Some("9999"), &["shifts", "open", "--operator", "amy"]));
    assert!(err.contains("the name or the PIN is wrong"), "{err}");

    // Two sales by amy, one with nobody signed in, a partial refund of the WeChat one by the owner.
    let pay = |pin: Option<&str>, amount: &str, code: &str, operator: Option<&str>| {
        let mut args = vec!["pay", "--amount", amount, "--auth-code", code, "--json"];
        if let Some(op) = operator {
            args.extend(["--operator", op]);
        }
        let order = json(tilldesk(&data, pin, &args));
        assert_eq!(order["status"], "PAID", "{order}");
        order["out_trade_no"].as_str().unwrap().to_owned()
    };
    pay(Some("1357"), "12.34", "2800000000000000", Some("amy"));
    let wechat = pay(Some("1357"), "5.60", "130000000000000000", Some("amy"));
    pay(None, "3.00", "2800000000000000", None);
    ok(tilldesk(
        &data,
        Some("246810"),
        &["refund", &wechat, "--amount", "2.00", "--reason", "broken cup", "--operator", "boss"],
    ));

    // Close: the figures of amy's two sales and the refund.
    let csv = dir.path().join("shift.csv");
    let bin = dir.path().join("shift58.bin");
    let s = json(tilldesk(
        &data,
        Some("1357"),
        &[
            "shifts",
            "close",
            "--operator",
            "amy",
            "--json",
            "--export",
            csv.to_str().unwrap(),
            "--width",
            "58",
            "--escpos-out",
            bin.to_str().unwrap(),
        ],
    ));
    assert_eq!(s["shift_id"].as_i64(), Some(id));
    assert_eq!(s["closed"], true);
    let f = &s["figures"];
    let w = wallet(f, "wechatpay");
    assert_eq!((w["paid_count"].as_i64(), w["paid_fen"].as_i64()), (Some(1), Some(560)));
    assert_eq!(
        (w["refund_count"].as_i64(), w["refund_fen"].as_i64(), w["net_fen"].as_i64()),
        (Some(1), Some(200), Some(360))
    );
    let a = wallet(f, "alipay");
    assert_eq!(
        (a["paid_count"].as_i64(), a["paid_fen"].as_i64(), a["net_fen"].as_i64()),
        (Some(1), Some(1234), Some(1234))
    );
    assert_eq!(
        (f["paid_count"].as_i64(), f["paid_fen"].as_i64(), f["refund_fen"].as_i64(), f["net_fen"].as_i64()),
        (Some(2), Some(1794), Some(200), Some(1594))
    );
    assert!(s["open_orders"].as_array().unwrap().is_empty());

    // The CSV: BOM, heading, one row per wallet, the totals.
    let bytes = std::fs::read(&csv).unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 with BOM");
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[1], "微信支付 WeChat Pay,1,5.60,1,2.00,3.60");
    assert_eq!(lines[2], "支付宝 Alipay,1,12.34,0,0.00,12.34");
    assert_eq!(lines[3], "合计 Total,2,17.94,1,2.00,15.94");

    // No second close; the slip's reprint is byte for byte the same, in both widths, ESC/POS and PDF.
    let err = fails(tilldesk(&data, Some("1357"), &["shifts", "close", "--operator", "amy"]));
    assert!(err.contains("no open shift"), "{err}");
    let first = std::fs::read(&bin).unwrap();
    assert!(first.starts_with(&escpos::INIT) && first.ends_with(&escpos::CUT));
    for needle in ["交接班小票 SHIFT HANDOVER", "￥15.94", "￥17.94", "-￥2.00", "amy"] {
        assert!(escpos::find(&first, &escpos::gbk(needle)).is_some(), "{needle} on the slip");
    }
    for width in ["58", "80"] {
        let reprint = dir.path().join(format!("reprint{width}.bin"));
        let pdf = dir.path().join(format!("reprint{width}.pdf"));
        let id_text = id.to_string();
        let args = ["shifts", "show", &id_text, "--width", width, "--escpos-out", reprint.to_str().unwrap()];
        let mut args = args.to_vec();
        args.extend(["--pdf", pdf.to_str().unwrap()]);
        ok(tilldesk(&data, None, &args));
        let bytes = std::fs::read(&reprint).unwrap();
        if width == "58" {
            assert_eq!(bytes, first, "a reprint gives the same bytes");
        }
        assert!(escpos::find(&bytes, &escpos::gbk("￥15.94")).is_some());
        let text = pdf_text(&pdf);
        assert!(
            text.lines().any(|l| l.contains("净额 Net") && l.contains("￥15.94")),
            "the net on its line at {width} mm: {text}"
        );
        assert!(text.contains("交接班小票") && text.contains("￥5.60") && text.contains("￥12.34"), "{text}");
    }
    let again = dir.path().join("again58.bin");
    ok(tilldesk(
        &data,
        None,
        &["shifts", "show", &id.to_string(), "--width", "58", "--escpos-out", again.to_str().unwrap()],
    ));
    assert_eq!(std::fs::read(&again).unwrap(), first);

    // The day close: every sale of the store (the one with nobody signed in too), once.
    let err = fails(tilldesk(&data, Some("1357"), &["shifts", "day-close", "--store", "S001", "--operator", "amy"]));
    assert!(err.contains("owner or back office"), "{err}");
    let day_bin = dir.path().join("day.bin");
    let d = json(tilldesk(
        &data,
        Some("246810"),
        &[
            "shifts",
            "day-close",
            "--store",
            "S001",
            "--operator",
            "boss",
            "--json",
            "--escpos-out",
            day_bin.to_str().unwrap(),
        ],
    ));
    let df = &d["figures"];
    assert_eq!(
        (df["paid_count"].as_i64(), df["paid_fen"].as_i64(), df["net_fen"].as_i64()),
        (Some(3), Some(2094), Some(1894))
    );
    assert_eq!((d["no_operator"]["paid_count"].as_i64(), d["no_operator"]["paid_fen"].as_i64()), (Some(1), Some(300)));
    assert_eq!(d["shifts"].as_array().unwrap().len(), 1);
    assert_eq!(d["shifts"][0]["net_fen"].as_i64(), Some(1594));
    let day_bytes = std::fs::read(&day_bin).unwrap();
    assert!(escpos::find(&day_bytes, &escpos::gbk("日结小票 DAY CLOSE")).is_some());
    assert!(escpos::find(&day_bytes, &escpos::gbk("￥18.94")).is_some());
    let err = fails(tilldesk(&data, Some("246810"), &["shifts", "day-close", "--store", "S001", "--operator", "boss"]));
    assert!(err.contains("reopen"), "{err}");
    let day_id = d["id"].as_i64().unwrap().to_string();
    let day_again = dir.path().join("day-again.bin");
    let day_pdf = dir.path().join("day80.pdf");
    let args = ["shifts", "show-day", &day_id, "--escpos-out", day_again.to_str().unwrap()];
    let mut args = args.to_vec();
    args.extend(["--width", "58", "--pdf", day_pdf.to_str().unwrap()]);
    ok(tilldesk(&data, None, &args));
    assert_eq!(std::fs::read(&day_again).unwrap(), day_bytes, "a day close's reprint gives the same bytes");
    let text = pdf_text(&day_pdf);
    assert!(
        text.contains("日结小票") && text.lines().any(|l| l.contains("净额 Net") && l.contains("￥18.94")),
        "{text}"
    );
    assert!(text.contains("无操作员 No operator ×1"), "{text}");

    // The list: the shift with its frozen figures and the day close.
    let list = json(tilldesk(&data, None, &["shifts", "list", "--json", "--store", "S001"]));
    let shifts = list["shifts"].as_array().unwrap();
    assert_eq!(shifts.len(), 1);
    assert_eq!((shifts[0]["id"].as_i64(), shifts[0]["figures"]["net_fen"].as_i64()), (Some(id), Some(1594)));
    assert_eq!(list["day_closes"].as_array().unwrap().len(), 1);
}
