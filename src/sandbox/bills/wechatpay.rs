//! Writing the WeChat Pay v2 bill (对账单) as `/pay/downloadbill` returns it: a header, one row per entry with every
//! value after a backtick, then the day's totals; UTF-8, CRLF line ends, no BOM. The three layouts (ALL 27 columns,
//! SUCCESS 20, REFUND 29) are WeChat Pay's documented ones. The sandbox serves these bills; tests, benches and
//! examples make bills with them.
//!
//! It owns only the writing; it imports the row and summary types of the reader (`channel::wechatpay::bill`), which
//! maps columns by header name, so what is written here is read back whatever the layout.

use time::PrimitiveDateTime;

use crate::channel::wechatpay::bill::{BillType, WechatBillRow, WechatBillSummary};
use crate::money::Amount;

const SUCCESS: [&str; 20] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "费率备注",
];

const ALL: [&str; 27] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

const REFUND: [&str; 29] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "退款申请时间",
    "退款成功时间",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

/// The summary header, in order.
pub const SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

/// The column names of a layout, in file order.
fn layout(bill_type: BillType) -> &'static [&'static str] {
    match bill_type {
        BillType::All => &ALL,
        BillType::Success => &SUCCESS,
        BillType::Refund => &REFUND,
    }
}

/// The header line of a layout.
pub fn header(bill_type: BillType) -> String {
    layout(bill_type).join(",")
}

fn format_time(t: &PrimitiveDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The row as a bill of `bill_type` carries it: the columns that layout lacks emptied.
pub fn in_layout(row: &WechatBillRow, bill_type: BillType) -> WechatBillRow {
    let mut r = row.clone();
    if bill_type != BillType::Refund {
        r.refund_apply_time = None;
        r.refund_success_time = None;
    }
    if bill_type == BillType::Success {
        r.refund_id.clear();
        r.out_refund_no.clear();
        r.refund_fee = Amount::ZERO;
        r.coupon_refund_fee = Amount::ZERO;
        r.refund_type.clear();
        r.refund_status.clear();
        r.applied_refund_fee = Amount::ZERO;
    }
    r
}

/// The text of the column named `column` (one of the layouts' names).
fn cell(row: &WechatBillRow, column: &str) -> String {
    let time = |t: &Option<PrimitiveDateTime>| t.as_ref().map(format_time).unwrap_or_default();
    match column {
        "交易时间" => format_time(&row.trade_time),
        "公众账号ID" => row.appid.clone(),
        "商户号" => row.mch_id.clone(),
        "特约商户号" => row.sub_mch_id.clone(),
        "设备号" => row.device_info.clone(),
        "微信订单号" => row.transaction_id.clone(),
        "商户订单号" => row.out_trade_no.clone(),
        "用户标识" => row.openid.clone(),
        "交易类型" => row.trade_type.clone(),
        "交易状态" => row.trade_state.clone(),
        "付款银行" => row.bank_type.clone(),
        "货币种类" => row.fee_type.clone(),
        "应结订单金额" => row.settlement_total_fee.to_string(),
        "代金券金额" => row.coupon_fee.to_string(),
        "退款申请时间" => time(&row.refund_apply_time),
        "退款成功时间" => time(&row.refund_success_time),
        "微信退款单号" => row.refund_id.clone(),
        "商户退款单号" => row.out_refund_no.clone(),
        "退款金额" => row.refund_fee.to_string(),
        "充值券退款金额" => row.coupon_refund_fee.to_string(),
        "退款类型" => row.refund_type.clone(),
        "退款状态" => row.refund_status.clone(),
        "商品名称" => row.body.clone(),
        "商户数据包" => row.attach.clone(),
        "手续费" => row.service_fee.to_string(),
        "费率" => row.rate.clone(),
        "订单金额" => row.total_fee.to_string(),
        "申请退款金额" => row.applied_refund_fee.to_string(),
        "费率备注" => row.rate_remark.clone(),
        _ => String::new(),
    }
}

/// A value as the bill writes it: a backtick, then the text with line breaks and backticks (which would end the
/// value for readers that split on ",`") replaced.
fn push_value(line: &mut String, text: &str) {
    line.push('`');
    line.extend(text.chars().map(|c| match c {
        '\r' | '\n' => ' ',
        '`' => '\'',
        c => c,
    }));
}

/// Writes a bill of `bill_type` as WeChat Pay serves it: header, one backticked row per entry, then the summary
/// computed from the rows as written; CRLF line ends, no BOM. Columns the layout lacks are left out (and so count
/// nothing in the summary, see [`in_layout`]).
pub fn write_bill(bill_type: BillType, rows: &[WechatBillRow]) -> String {
    let cols = layout(bill_type);
    let mut out = header(bill_type);
    out.push_str("\r\n");
    for row in rows {
        for (i, col) in cols.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_value(&mut out, &cell(row, col));
        }
        out.push_str("\r\n");
    }
    let s = WechatBillSummary::from_rows(&rows.iter().map(|r| in_layout(r, bill_type)).collect::<Vec<_>>());
    out.push_str(SUMMARY_HEADER);
    out.push_str("\r\n");
    let values = [
        s.total_count.to_string(),
        s.settlement_total_fee.to_string(),
        s.refund_fee.to_string(),
        s.coupon_refund_fee.to_string(),
        s.service_fee.to_string(),
        s.total_fee.to_string(),
        s.applied_refund_fee.to_string(),
    ];
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_value(&mut out, v);
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    //! The writer against the client's reader.
    use time::macros::datetime;

    use super::*;
    use crate::channel::wechatpay::bill::{BillReader, MilliFen};

    fn read_all(text: &str) -> (Vec<WechatBillRow>, Option<WechatBillSummary>, BillType) {
        let mut reader = BillReader::new(text.as_bytes()).unwrap();
        let rows: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        (rows, reader.summary().copied(), reader.bill_type())
    }

    fn row(n: i64) -> WechatBillRow {
        WechatBillRow {
            trade_time: datetime!(2024-01-01 12:00:00) + time::Duration::minutes(n),
            appid: "wxd930ea5d5a258f4f".into(),
            mch_id: "10000100".into(),
            sub_mch_id: "0".into(),
            device_info: String::new(),
            transaction_id: format!("42000000012024010100000{n:05}"),
            out_trade_no: format!("T{n}"),
            openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
            trade_type: "MICROPAY".into(),
            trade_state: "SUCCESS".into(),
            bank_type: "CMB_DEBIT".into(),
            fee_type: "CNY".into(),
            settlement_total_fee: Amount::from_fen(600 + n),
            coupon_fee: Amount::ZERO,
            refund_id: "0".into(),
            out_refund_no: "0".into(),
            refund_fee: Amount::ZERO,
            coupon_refund_fee: Amount::ZERO,
            refund_type: String::new(),
            refund_status: String::new(),
            body: format!("拿铁咖啡（大杯）, 第{n}杯"),
            attach: "店铺=南山店".into(),
            service_fee: MilliFen::from_milli_fen(3_600 + n),
            rate: "0.60%".into(),
            total_fee: Amount::from_fen(600 + n),
            applied_refund_fee: Amount::ZERO,
            rate_remark: String::new(),
            refund_apply_time: None,
            refund_success_time: None,
        }
    }

    fn refund_row(n: i64) -> WechatBillRow {
        WechatBillRow {
            trade_state: "REFUND".into(),
            settlement_total_fee: Amount::ZERO,
            refund_id: format!("5030000{n}"),
            out_refund_no: format!("R{n}"),
            refund_fee: Amount::from_fen(100),
            refund_type: "ORIGINAL".into(),
            refund_status: "SUCCESS".into(),
            service_fee: MilliFen::from_milli_fen(-600),
            applied_refund_fee: Amount::from_fen(100),
            refund_apply_time: Some(datetime!(2024-01-01 15:00:00)),
            refund_success_time: Some(datetime!(2024-01-01 15:00:04)),
            ..row(n)
        }
    }

    #[test]
    fn headers_have_the_documented_columns() {
        assert_eq!(
            header(BillType::All),
            "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
        );
        assert_eq!(
            header(BillType::Success),
            "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注"
        );
        assert_eq!(
            header(BillType::Refund),
            "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
        );
        // Every name is one the writer fills.
        let full = refund_row(1);
        for name in REFUND {
            assert!(!cell(&full, name).is_empty() || ["设备号", "费率备注"].contains(&name), "{name}");
        }
    }

    #[test]
    fn write_then_read_round_trips_every_layout() {
        let rows = vec![row(1), row(2), refund_row(3)];
        for bill_type in BillType::ALL.iter().copied() {
            let text = write_bill(bill_type, &rows);
            assert!(text.lines().all(|l| !l.ends_with('\r')) && text.contains("\r\n"));
            assert_eq!(text.split("\r\n").count(), rows.len() + 4, "{bill_type}: header, rows, summary ×2, end");
            let (back, summary, detected) = read_all(&text);
            assert_eq!(detected, bill_type);
            let expected: Vec<_> = rows.iter().map(|r| in_layout(r, bill_type)).collect();
            assert_eq!(back, expected, "{bill_type}");
            assert_eq!(summary, Some(WechatBillSummary::from_rows(&expected)), "{bill_type}");
        }
    }

    #[test]
    fn written_summary_is_the_sum_of_the_rows() {
        let rows = vec![row(1), row(2), refund_row(3)];
        let text = write_bill(BillType::All, &rows);
        let last = text.trim_end().lines().last().unwrap();
        // 601 + 602 + 0 settlement; 1 refund of 1.00; fees 3601 + 3602 − 600 milli-fen; orders 6.01 + 6.02 + 6.03.
        assert_eq!(last, "`3,`12.03,`1.00,`0.00,`0.06603,`18.06,`1.00");
        let (back, summary, _) = read_all(&text);
        let summary = summary.unwrap();
        assert_eq!(summary.total_count, back.len() as u64);
        assert_eq!(summary.total_fee.fen(), back.iter().map(|r| r.total_fee.fen()).sum::<i64>());
        assert_eq!(summary.service_fee.milli_fen(), back.iter().map(|r| r.service_fee.milli_fen()).sum::<i64>());
    }

    #[test]
    fn goods_names_with_commas_and_backticks_survive() {
        let mut r = row(1);
        r.body = "面包, 牛奶,`特价`".into();
        let text = write_bill(BillType::Success, &[r.clone()]);
        let (back, _, _) = read_all(&text);
        assert_eq!(back[0].body, "面包, 牛奶,'特价'");
    }

    proptest::proptest! {
        #[test]
        fn bill_round_trip_keeps_any_text(body in "\\PC{0,20}", attach in "[^`\r\n]{0,12}", fen in 0i64..10_000_000) {
            let mut r = row(1);
            r.body = body.trim().replace('`', "'");
            r.attach = attach.trim().to_owned();
            r.total_fee = Amount::from_fen(fen);
            let text = write_bill(BillType::All, &[r.clone()]);
            let (back, summary, _) = read_all(&text);
            proptest::prop_assert_eq!(&back, &vec![r]);
            proptest::prop_assert_eq!(summary.map(|s| s.total_fee), Some(Amount::from_fen(fen)));
        }
    }
}
