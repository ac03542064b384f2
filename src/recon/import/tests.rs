//! A malformed bill is refused whole, with the file, the 1-based line and the column in the error (as a value the
//! caller can match, and in the message), and nothing of it stays in the database.

use super::*;
use crate::channel::alipay::bill::{BillError as AlipayBillError, DETAIL_COLUMNS};
use crate::channel::wechatpay::bill::BillError as WechatBillError;
use crate::recon::testing::{HEADER, bill, import, line, paid, refunded};

fn nothing_imported(store: &Store) {
    assert_eq!(store.recon().bill_row_count().unwrap(), 0, "no rows stay");
    assert!(store.recon().recent_bills(10).unwrap().is_empty(), "no bill stays");
}

fn three_rows() -> String {
    bill(&[
        paid("2026-11-24 09:00:00", "TD001", 2_000),
        paid("2026-11-24 09:30:00", "TD002", 1_230),
        refunded("2026-11-24 10:00:00", "TD001", 2_000, "RF001", 500),
    ])
}

#[test]
fn a_bad_amount_names_the_file_line_and_column() {
    let mut store = Store::open_in_memory().unwrap();
    let text = three_rows().replacen("`12.30,", "`12.3x,", 1);
    let err = import(&mut store, "wx.txt", &text, None).unwrap_err();
    match &err {
        ReconError::Wechat { file, source: WechatBillError::Value { line, column, text, .. } } => {
            assert_eq!((file.as_str(), *line, column.as_str(), text.as_str()), ("wx.txt", 3, "应结订单金额", "12.3x"));
        }
        other => panic!("expected a bad value, got {other:?}"),
    }
    assert_eq!(err.to_string(), "wx.txt: line 3, column 应结订单金额: \"12.3x\" is not an amount");
    nothing_imported(&store);
}

#[test]
fn a_bad_time_and_a_bad_fee_name_their_columns() {
    let mut store = Store::open_in_memory().unwrap();
    let text = three_rows().replacen("`2026-11-24 09:30:00", "`2026/11/24 09:30", 1);
    let err = import(&mut store, "wx.txt", &text, None).unwrap_err();
    assert!(
        matches!(&err, ReconError::Wechat { source: WechatBillError::Value { line: 3, column, .. }, .. } if column == "交易时间"),
        "{err}"
    );
    let text = three_rows().replacen("`0.12000,", "`0.120001,", 1);
    let err = import(&mut store, "wx.txt", &text, None).unwrap_err();
    assert!(
        matches!(&err, ReconError::Wechat { source: WechatBillError::Value { line: 2, column, .. }, .. } if column == "手续费"),
        "{err}"
    );
    nothing_imported(&store);
}

#[test]
fn a_row_with_a_value_missing_names_its_line_and_the_counts() {
    let mut store = Store::open_in_memory().unwrap();
    let short = line(&paid("2026-11-24 09:30:00", "TD002", 1_230)).replacen(",`wx2421b1c4370ec43b", "", 1);
    let text = three_rows().replacen(&line(&paid("2026-11-24 09:30:00", "TD002", 1_230)), &short, 1);
    let err = import(&mut store, "wx.txt", &text, None).unwrap_err();
    assert!(
        matches!(
            &err,
            ReconError::Wechat { source: WechatBillError::ColumnCount { line: 3, found: 16, expected: 17 }, .. }
        ),
        "{err}"
    );
    nothing_imported(&store);
}

#[test]
fn a_trade_state_the_import_does_not_know_is_refused_with_its_line() {
    let mut store = Store::open_in_memory().unwrap();
    let mut closed = paid("2026-11-24 09:00:00", "TD001", 2_000);
    closed.state = "CLOSED";
    let err =
        import(&mut store, "wx.txt", &bill(&[paid("2026-11-24 08:00:00", "TD000", 100), closed]), None).unwrap_err();
    match &err {
        ReconError::Value { file, line, column, text, .. } => {
            assert_eq!((file.as_str(), *line, *column, text.as_str()), ("wx.txt", 3, "交易状态", "CLOSED"));
        }
        other => panic!("expected a bad value, got {other:?}"),
    }
    assert!(
        err.to_string().starts_with("wx.txt line 3, column 交易状态: \"CLOSED\" is not SUCCESS, REFUND or REVOKED")
    );
    nothing_imported(&store);
}

#[test]
fn a_refund_row_in_a_success_bill_is_refused() {
    let mut store = Store::open_in_memory().unwrap();
    // A SUCCESS bill's header has no refund columns.
    let header = "交易时间,公众账号ID,商户号,特约商户号,微信订单号,商户订单号,交易状态,应结订单金额,手续费,订单金额";
    let text = format!(
        "{header}\r\n`2026-11-24 09:00:00,`wx1,`1900000109,`0,`4200TD001,`TD001,`REFUND,`0.00,`0.00000,`20.00\r\n\
         总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n\
         `1,`0.00,`0.00,`0.00,`0.00000,`20.00,`0.00\r\n"
    );
    let err = import(&mut store, "success.txt", &text, None).unwrap_err();
    assert!(
        matches!(&err, ReconError::Value { line: 2, column: "交易状态", expected, .. } if expected.contains("SUCCESS bill")),
        "{err}"
    );
    nothing_imported(&store);
}

#[test]
fn totals_that_do_not_add_up_are_refused_unless_accepted() {
    let mut store = Store::open_in_memory().unwrap();
    let good = three_rows();
    let last = good.trim_end().lines().last().unwrap().to_owned();
    let values: Vec<&str> = last.split(',').collect();
    let mut wrong: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
    wrong[5] = "`99.99".into(); // 订单总金额
    let text = good.replace(&last, &wrong.join(","));
    let err = import(&mut store, "wx.txt", &text, None).unwrap_err();
    match &err {
        ReconError::TotalsMismatch { file, details } => {
            assert_eq!(file, "wx.txt");
            assert_eq!(details, "订单总金额 is 99.99 in the summary but the rows add up to 52.30");
        }
        other => panic!("expected a totals mismatch, got {other:?}"),
    }
    nothing_imported(&store);

    let options =
        ImportOptions { acquirer: Some(AcquirerKind::WechatPay), accept_mismatched_totals: true, ..Default::default() };
    let outcome = import_bytes(&mut store, "wx.txt", text.as_bytes(), &options, &ImportControl::new()).unwrap();
    assert_eq!(outcome.file_rows, 3);
    assert!(outcome.bill.totals_mismatch.as_deref().is_some_and(|m| m.contains("99.99")));
}

#[test]
fn a_bill_cut_short_says_so_and_keeps_nothing() {
    let mut store = Store::open_in_memory().unwrap();
    let good = three_rows();
    let cut = &good[..good.find("总交易单数").unwrap()];
    let err = import(&mut store, "wx.txt", cut, None).unwrap_err();
    assert!(matches!(&err, ReconError::Wechat { source: WechatBillError::Truncated { line: 4 }, .. }), "{err}");
    assert!(err.to_string().starts_with("wx.txt: line 4: the bill ends without its summary"), "{err}");
    nothing_imported(&store);
}

#[test]
fn a_header_without_a_required_column_is_refused_at_line_1() {
    let mut store = Store::open_in_memory().unwrap();
    let text = three_rows().replacen(HEADER, &HEADER.replace("商户订单号", "订单"), 1);
    let err = import(&mut store, "wx.txt", &text, None).unwrap_err();
    assert!(
        matches!(
            &err,
            ReconError::Wechat { source: WechatBillError::MissingColumn { line: 1, column: "商户订单号" }, .. }
        ),
        "{err}"
    );
    nothing_imported(&store);
}

/// An Alipay 业务明细 CSV (UTF-8, as a re-saved file may be) with one data row.
fn alipay_csv(row: &str) -> String {
    let header = DETAIL_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(",");
    format!(
        "#支付宝业务明细查询\n#账号：[20880211096256330156]\n\
         #起始日期：[2026年11月24日 00:00:00]   终止日期：[2026年11月25日 00:00:00]\n{header}\n{row}\n"
    )
}

const ALIPAY_ROW: &str = "2026112422001458860515315401\t,TD001\t,交易\t,咖啡,2026-11-24 10:55:16,2026-11-24 10:55:23,\
                          ,,,,,20.00,20.00,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,-0.12,0.00,";

#[test]
fn an_alipay_row_with_a_bad_time_or_amount_names_the_file_line_and_column() {
    let mut store = Store::open_in_memory().unwrap();
    let options = ImportOptions { acquirer: Some(AcquirerKind::Alipay), ..Default::default() };
    let import_csv = |store: &mut Store, text: &str| {
        import_bytes(store, "alipay.csv", text.as_bytes(), &options, &ImportControl::new()).unwrap_err()
    };
    let err = import_csv(&mut store, &alipay_csv(&ALIPAY_ROW.replace("2026-11-24 10:55:23", "24/11/2026")));
    match &err {
        ReconError::Alipay(e) => match e.as_ref() {
            AlipayBillError::BadTime { file, line, column, text } => {
                assert_eq!((file.as_str(), *line, *column, text.as_str()), ("alipay.csv", 5, "完成时间", "24/11/2026"));
            }
            other => panic!("expected a bad time, got {other:?}"),
        },
        other => panic!("expected an Alipay error, got {other:?}"),
    }
    let err = import_csv(&mut store, &alipay_csv(&ALIPAY_ROW.replacen(",20.00,20.00,", ",20.0O,20.00,", 1)));
    assert!(
        matches!(&err, ReconError::Alipay(e) if matches!(e.as_ref(), AlipayBillError::BadAmount { line: 5, column: "订单金额（元）", .. })),
        "{err}"
    );
    assert_eq!(err.to_string(), "alipay.csv line 5, column 订单金额（元）: \"20.0O\" is not an amount");
    nothing_imported(&store);
}
