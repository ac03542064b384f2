//! Test helpers of `recon/`: WeChat Pay bills written by hand (the columns the import reads, the summary computed
//! from the rows) and the till's orders and refunds seeded directly.

use time::Date;

use super::{ImportControl, ImportOptions, ImportOutcome, ReconError, import_bytes};
use crate::model::AcquirerKind;
use crate::money::Amount;
use crate::store::Store;
use crate::store::recon::{SeedOrder, SeedRefund};

/// One row of a WeChat Pay ALL bill.
#[derive(Debug, Clone)]
pub struct Row {
    /// China time, "2026-11-24 09:15:03".
    pub at: &'static str,
    pub transaction_id: String,
    pub out_trade_no: String,
    /// SUCCESS, REFUND or REVOKED.
    pub state: &'static str,
    /// 订单金额 (the order's amount, on refund rows too).
    pub total: i64,
    /// 退款金额 of a refund row.
    pub refund: i64,
    pub out_refund_no: String,
    /// 退款状态 of a refund row.
    pub refund_status: &'static str,
    /// 手续费 in 1/1000 fen.
    pub fee_milli: i64,
    /// 特约商户号 ("0": the account's own).
    pub sub_mch_id: &'static str,
}

/// A paid payment row.
pub fn paid(at: &'static str, out_trade_no: &str, total: i64) -> Row {
    Row {
        at,
        transaction_id: format!("4200{out_trade_no}"),
        out_trade_no: out_trade_no.to_owned(),
        state: "SUCCESS",
        total,
        refund: 0,
        out_refund_no: "0".into(),
        refund_status: "",
        fee_milli: total * 6,
        sub_mch_id: "0",
    }
}

/// A refund row of `out_trade_no` (whose payment was `total`).
pub fn refunded(at: &'static str, out_trade_no: &str, total: i64, out_refund_no: &str, refund: i64) -> Row {
    Row {
        state: "REFUND",
        refund,
        out_refund_no: out_refund_no.to_owned(),
        refund_status: "SUCCESS",
        fee_milli: -refund * 6,
        ..paid(at, out_trade_no, total)
    }
}

pub const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,交易状态,应结订单金额,\
                          微信退款单号,商户退款单号,退款金额,退款状态,商品名称,手续费,订单金额,申请退款金额";

fn yuan(fen: i64) -> String {
    Amount::from_fen(fen).to_string()
}

fn milli(m: i64) -> String {
    crate::channel::wechatpay::bill::MilliFen::from_milli_fen(m).to_string()
}

/// One data line as WeChat writes it: every value after a backtick.
pub fn line(r: &Row) -> String {
    let settled = if r.state == "SUCCESS" { r.total } else { 0 };
    let refund_id = if r.state == "REFUND" { format!("5030{}", r.out_refund_no) } else { "0".into() };
    let values = [
        r.at.to_owned(),
        "wx2421b1c4370ec43b".into(),
        "1900000109".into(),
        r.sub_mch_id.into(),
        String::new(),
        r.transaction_id.clone(),
        r.out_trade_no.clone(),
        r.state.into(),
        yuan(settled),
        refund_id,
        r.out_refund_no.clone(),
        yuan(r.refund),
        r.refund_status.into(),
        format!("咖啡 {}", r.out_trade_no),
        milli(r.fee_milli),
        yuan(r.total),
        yuan(r.refund),
    ];
    values.iter().map(|v| format!("`{v}")).collect::<Vec<_>>().join(",")
}

/// The whole bill: header, rows, and the summary of the rows.
pub fn bill(rows: &[Row]) -> String {
    let mut out = format!("{HEADER}\r\n");
    for r in rows {
        out.push_str(&line(r));
        out.push_str("\r\n");
    }
    let settled: i64 = rows.iter().filter(|r| r.state == "SUCCESS").map(|r| r.total).sum();
    let refunds: i64 = rows.iter().map(|r| r.refund).sum();
    let fees: i64 = rows.iter().map(|r| r.fee_milli).sum();
    let totals: i64 = rows.iter().map(|r| r.total).sum();
    out.push_str("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n");
    out.push_str(&format!(
        "`{},`{},`{},`0.00,`{},`{},`{}\r\n",
        rows.len(),
        yuan(settled),
        yuan(refunds),
        milli(fees),
        yuan(totals),
        yuan(refunds)
    ));
    out
}

/// Imports `text` as the WeChat Pay bill `name` of `date`.
pub fn import(store: &mut Store, name: &str, text: &str, date: Option<Date>) -> Result<ImportOutcome, ReconError> {
    let options = ImportOptions { acquirer: Some(AcquirerKind::WechatPay), bill_date: date, ..Default::default() };
    import_bytes(store, name, text.as_bytes(), &options, &ImportControl::new())
}

/// "2026-11-24 09:15:03" China time → "2026-11-24T01:15:03Z".
pub fn utc(china: &str) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(china, format).unwrap_or_else(|e| panic!("{china}: {e}"));
    crate::time::format_utc(t.assume_offset(crate::time::CHINA))
}

/// A local WeChat Pay order in `status`, paid (or made) at `at` China time.
pub fn order(store: &mut Store, out_trade_no: &str, total: i64, status: &str, at: &str) {
    let acquirer_id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let paid = matches!(status, "PAID" | "PARTIALLY_REFUNDED" | "REFUNDED").then(|| utc(at));
    store
        .recon_mut()
        .seed_orders([SeedOrder {
            out_trade_no: out_trade_no.to_owned(),
            trade_no: Some(format!("4200{out_trade_no}")),
            acquirer_id,
            subject: format!("咖啡 {out_trade_no}"),
            total_amount: total,
            refunded_amount: 0,
            status: status.to_owned(),
            created_at: utc(at),
            paid_at: paid,
        }])
        .unwrap();
}

/// A local refund of `out_trade_no`.
pub fn refund(store: &mut Store, out_trade_no: &str, out_request_no: &str, amount: i64, status: &str, at: &str) {
    store
        .recon_mut()
        .seed_refunds([SeedRefund {
            out_trade_no: out_trade_no.to_owned(),
            out_request_no: out_request_no.to_owned(),
            refund_amount: amount,
            status: status.to_owned(),
            created_at: utc(at),
        }])
        .unwrap();
}
