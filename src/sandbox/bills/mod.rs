//! The bill files the sandbox serves, built from its ledger: Alipay's zip of GBK CSVs, WeChat's text bill. The
//! writers of the two formats are [`alipay`] and [`wechatpay`] (public: tests, benches and examples make bills with
//! them); the readers stay with the client in `channel::<acquirer>::bill`, which this module imports for the row
//! types and layouts, with the ledger.

pub mod alipay;
pub mod wechatpay;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use self::alipay::{bill_zip_name, write_bill_zip};
use self::wechatpay::write_bill;
use super::SandboxState;
use super::ledger::{LedgerError, Scope, Trade, TradeStatus, china_offset, parse_time};
use crate::channel::alipay::bill::{AlipayBillRow, BillKind};
use crate::channel::wechatpay::bill::{BillType, MilliFen, WechatBillRow};
use crate::money::Amount;

/// Why a bill file could not be made; its words go into the acquirer's answer.
#[derive(Debug, thiserror::Error)]
pub enum BillFileError {
    #[error("bill_type must be ALL, SUCCESS or REFUND, not {given:?}")]
    BillType { given: String },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Write(#[from] alipay::BillWriteError),
    #[error("cannot write the bill zip: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// "2026-11-24" → date.
pub fn parse_day(text: &str) -> Option<Date> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// "20261124" → date.
pub fn parse_compact_day(text: &str) -> Option<Date> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    parse_day(&format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..]))
}

pub fn day_text(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// A bill download link handed out by `alipay.data.dataservice.bill.downloadurl.query`.
#[derive(Debug, Clone)]
pub struct BillToken {
    /// The acquirer whose own gateway handed it out (its bills are served only under its prefix); None: the shared
    /// gateway.
    pub acquirer: Option<String>,
    pub acquirer_id: String,
    pub app_id: String,
    pub pid: String,
    /// The bill date, yyyy-MM-dd.
    pub day: String,
    /// `trade` (业务明细) or `signcustomer` (账务明细).
    pub bill_type: String,
    pub expires: OffsetDateTime,
}

/// The Alipay bill account: the merchant's 2088 PID followed by 0156.
fn alipay_account(pid: &str) -> String {
    format!("{pid}0156")
}

/// `{account}_{yyyyMMdd}.csv.zip`
pub fn alipay_file_name(pid: &str, date: Date) -> String {
    bill_zip_name(&alipay_account(pid), date)
}

/// The sandbox's Alipay service fee: 0.6% of the amount, rounded half up to the fen, charged as a negative value.
fn alipay_fee(fen: i64) -> Amount {
    Amount::from_fen(-((fen.abs() * 6 + 500) / 1000) * fen.signum())
}

/// The day's trade bill: `(file name, zip bytes)`.
pub fn alipay_bill_zip(
    state: &SandboxState,
    scope: Scope<'_>,
    pid: &str,
    date: Date,
) -> Result<(String, Vec<u8>), BillFileError> {
    let (from, to) = china_day(date);
    let (trades, refunds) = state.ledger.bill_entries(scope, from, to)?;
    let row = |t: &Trade, kind: BillKind, finished: Option<&str>, fen: i64, out_request_no: Option<String>| {
        let created = china_primitive(Some(&t.created_at))?;
        Some(AlipayBillRow {
            trade_no: t.trade_no.clone(),
            out_trade_no: t.out_trade_no.clone(),
            kind,
            subject: t.subject.clone(),
            created_at: created,
            finished_at: china_primitive(finished).unwrap_or(created),
            store_id: t.store_id.clone().unwrap_or_default(),
            store_name: t.store_id.clone().unwrap_or_default(),
            operator_id: t.operator_id.clone().unwrap_or_default(),
            terminal_id: t.terminal_id.clone().unwrap_or_default(),
            buyer_account: format!("*买家({}***@example.com)", &t.buyer_id[t.buyer_id.len().saturating_sub(3)..]),
            order_amount: Amount::from_fen(fen),
            receipt_amount: Amount::from_fen(fen),
            alipay_red_packet: Amount::ZERO,
            jifenbao: Amount::ZERO,
            alipay_discount: Amount::ZERO,
            merchant_discount: Amount::ZERO,
            coupon_amount: Amount::ZERO,
            coupon_name: String::new(),
            merchant_red_packet: Amount::ZERO,
            card_amount: Amount::ZERO,
            out_request_no,
            service_fee: alipay_fee(fen),
            profit_share: Amount::ZERO,
            remark: t.subject.clone(),
        })
    };
    let mut rows: Vec<AlipayBillRow> =
        trades.iter().filter_map(|t| row(t, BillKind::Trade, t.paid_at.as_deref(), t.total_amount, None)).collect();
    for (r, t) in &refunds {
        rows.extend(row(t, BillKind::Refund, Some(&r.created_at), -r.amount, Some(r.out_request_no.clone())));
    }
    // A paid trade cancelled with action=refund: the 交易 row stays on the day it was paid, and the money going back
    // is a 退款 row of the whole amount on the day of the cancel (no out_request_no: the merchant sent none).
    for t in state.ledger.reversals(scope, from, to)? {
        rows.extend(row(&t, BillKind::Refund, t.closed_at.as_deref(), -t.total_amount, None));
    }
    let exported = crate::sandbox::alipay::china_time(state.now());
    let exported = format!("{}年{}月{}日 {}", &exported[..4], &exported[5..7], &exported[8..10], &exported[11..]);
    let account = alipay_account(pid);
    let bytes = write_bill_zip(&account, date, &rows, &exported)?;
    Ok((bill_zip_name(&account, date), bytes))
}

/// One balance movement of the sandbox's Alipay account, in fen (`income` ≥ 0, `expense` ≥ 0).
struct Movement<'t> {
    at: OffsetDateTime,
    trade: &'t Trade,
    biz_type: &'static str,
    income: i64,
    expense: i64,
    remark: String,
}

/// The movements of [from, to): each paid trade (在线支付, then its 收费), each refund and reversal (交易退款, then the
/// fee given back as 收费), in time order.
fn movements<'t>(
    trades: &'t [Trade],
    refunds: &'t [(super::ledger::Refund, Trade)],
    reversals: &'t [Trade],
) -> Vec<Movement<'t>> {
    let at = |s: Option<&str>| s.and_then(parse_time).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut out = Vec::new();
    let mut push = |at: OffsetDateTime, trade: &'t Trade, fen: i64, remark: String| {
        let fee = alipay_fee(fen).fen();
        let (income, expense) = if fen >= 0 { (fen, 0) } else { (0, -fen) };
        out.push(Movement {
            at,
            trade,
            biz_type: if fen >= 0 { "在线支付" } else { "交易退款" },
            income,
            expense,
            remark,
        });
        if fee != 0 {
            let (income, expense) = if fee >= 0 { (fee, 0) } else { (0, -fee) };
            out.push(Movement { at, trade, biz_type: "收费", income, expense, remark: String::new() });
        }
    };
    for t in trades {
        push(at(t.paid_at.as_deref()), t, t.total_amount, String::new());
    }
    for (r, t) in refunds {
        push(at(Some(&r.created_at)), t, -r.amount, r.out_request_no.clone());
    }
    for t in reversals {
        push(at(t.closed_at.as_deref()), t, -t.total_amount, String::new());
    }
    out.sort_by_key(|m| m.at);
    out
}

/// The day's account bill (账务明细, bill_type=signcustomer): `(file name, zip bytes)` with the detail and its 汇总,
/// GBK, entries named `{account}_{yyyyMMdd}_账务明细.csv` and `…_账务明细(汇总).csv`. 支出 amounts are written
/// positive (the header carries the sign).
pub fn alipay_account_bill_zip(
    state: &SandboxState,
    scope: Scope<'_>,
    pid: &str,
    date: Date,
) -> Result<(String, Vec<u8>), BillFileError> {
    let (from, to) = china_day(date);
    // The opening balance: every movement before the day.
    let (old_trades, old_refunds) = state.ledger.bill_entries(scope, OffsetDateTime::UNIX_EPOCH, from)?;
    let old_reversals = state.ledger.reversals(scope, OffsetDateTime::UNIX_EPOCH, from)?;
    let mut balance: i64 =
        movements(&old_trades, &old_refunds, &old_reversals).iter().map(|m| m.income - m.expense).sum();
    let (trades, refunds) = state.ledger.bill_entries(scope, from, to)?;
    let reversals = state.ledger.reversals(scope, from, to)?;
    let day = movements(&trades, &refunds, &reversals);

    let account = alipay_account(pid);
    let stamp = format!("{:04}{:02}{:02}", date.year(), u8::from(date.month()), date.day());
    let next = date.next_day().unwrap_or(date);
    let cn = |d: Date| format!("{:04}年{:02}月{:02}日 00:00:00", d.year(), u8::from(d.month()), d.day());
    let exported = crate::sandbox::alipay::china_time(state.now());
    let exported = format!("{}年{}月{}日 {}", &exported[..4], &exported[5..7], &exported[8..10], &exported[11..]);
    let yuan = |fen: i64| Amount::from_fen(fen).to_string();
    let head = |title: &str, list: &str| {
        format!(
            "#支付宝{title}\n#账号：[{account}]\n#起始日期：[{}]   终止日期：[{}]\n#{}{list}{}\n",
            cn(date),
            cn(next),
            "-".repeat(41),
            "-".repeat(40)
        )
    };
    let mut detail = head("账务明细查询", "账务明细列表");
    detail.push_str("账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注\n");
    let (mut income, mut expense) = ((0u64, 0i64), (0u64, 0i64));
    let mut kinds: Vec<(&str, [i64; 4])> = Vec::new();
    for (seq, m) in day.iter().enumerate() {
        balance += m.income - m.expense;
        let t = m.trade;
        let when = crate::sandbox::alipay::china_time(m.at);
        let buyer = format!("*买家({}***@example.com)", &t.buyer_id[t.buyer_id.len().saturating_sub(3)..]);
        detail.push_str(&format!(
            "{stamp}{:010}\t,{}\t,{}\t,{}\t,{when},{buyer}\t,{},{},{},支付宝,{},{}\n",
            seq + 1,
            t.trade_no,
            t.out_trade_no,
            t.subject.replace([',', '\n', '"'], " "),
            yuan(m.income),
            yuan(m.expense),
            yuan(balance),
            m.biz_type,
            m.remark
        ));
        let i = kinds.iter().position(|(name, _)| *name == m.biz_type).unwrap_or_else(|| {
            kinds.push((m.biz_type, [0; 4]));
            kinds.len() - 1
        });
        let k = &mut kinds[i].1;
        if m.expense == 0 {
            income = (income.0 + 1, income.1 + m.income);
            k[0] += 1;
            k[1] += m.income;
        } else {
            expense = (expense.0 + 1, expense.1 + m.expense);
            k[2] += 1;
            k[3] += m.expense;
        }
    }
    detail.push_str(&format!("#{}账务明细列表结束{}\n", "-".repeat(40), "-".repeat(37)));
    detail.push_str(&format!("#支出合计：{}笔，共{}元\n", expense.0, yuan(expense.1)));
    detail.push_str(&format!("#收入合计：{}笔，共{}元\n", income.0, yuan(income.1)));
    detail.push_str(&format!("#导出时间：[{exported}]\n"));

    let mut summary = head("账务汇总查询", "账务汇总列表");
    summary.push_str("类型,收入笔数,收入金额（+元）,支出笔数,支出金额（-元）,总金额（元）\n");
    let mut total = [0i64; 4];
    for (name, k) in &kinds {
        summary.push_str(&format!("{name},{},{},{},{},{}\n", k[0], yuan(k[1]), k[2], yuan(k[3]), yuan(k[1] - k[3])));
        for i in 0..4 {
            total[i] += k[i];
        }
    }
    summary.push_str(&format!(
        "合计,{},{},{},{},{}\n",
        total[0],
        yuan(total[1]),
        total[2],
        yuan(total[3]),
        yuan(total[1] - total[3])
    ));
    summary.push_str(&format!("#{}账务汇总列表结束{}\n", "-".repeat(40), "-".repeat(37)));
    summary.push_str(&format!("#导出时间：[{exported}]\n"));

    let entries = [
        (format!("{account}_{stamp}_账务明细.csv"), detail),
        (format!("{account}_{stamp}_账务明细(汇总).csv"), summary),
    ];
    let bytes = zip_gbk(&entries)?;
    Ok((bill_zip_name(&account, date), bytes))
}

/// A zip of GBK entries with GBK names (no UTF-8 flag), as Alipay writes its bills.
fn zip_gbk(entries: &[(String, String)]) -> zip::result::ZipResult<Vec<u8>> {
    use std::io::Write as _;
    let gbk = |text: &str| encoding_rs::GBK.encode(text).0.into_owned();
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in entries {
        let raw = gbk(name);
        zip.start_file_with_options(options.name(&raw))?;
        zip.write_all(&gbk(text))?;
    }
    Ok(zip.finish()?.into_inner())
}

/// A trade paid and then reversed (cancel with action=refund / WeChat reverse): the money went back in full.
fn reversed(t: &Trade) -> bool {
    t.status == TradeStatus::Reversed && t.cancel_action.as_deref() == Some("refund")
}

/// The day [00:00, 24:00) in China time, as UTC instants.
fn china_day(date: Date) -> (OffsetDateTime, OffsetDateTime) {
    let start = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(china_offset());
    (start, start + time::Duration::days(1))
}

fn china_primitive(stored: Option<&str>) -> Option<PrimitiveDateTime> {
    let t = parse_time(stored?)?.to_offset(china_offset());
    Some(PrimitiveDateTime::new(t.date(), t.time().replace_nanosecond(0).unwrap_or(t.time())))
}

/// The sandbox's fee: 0.6% of the amount (WeChat writes it to 0.00001 yuan; one fen = 1000 milli-fen, so
/// 0.6% of N fen is 6·N milli-fen).
fn wechat_fee(fen: i64) -> MilliFen {
    MilliFen::from_milli_fen(fen.saturating_mul(6))
}

/// Which WeChat bill: the account's (all its sub-merchants), or one sub-merchant's.
pub struct WechatBillRequest<'a> {
    pub scope: Scope<'a>,
    pub appid: &'a str,
    pub sub_mch_id: Option<&'a str>,
    pub date: Date,
    pub bill_type: &'a str,
}

/// The downloadbill text for a day, or None when the day has no entries ("No Bill Exist").
pub fn wechat_bill(state: &SandboxState, req: &WechatBillRequest<'_>) -> Result<Option<String>, BillFileError> {
    let Some(bill_type) = BillType::parse(req.bill_type) else {
        return Err(BillFileError::BillType { given: req.bill_type.to_owned() });
    };
    let mch_id = req.scope.account;
    let (from, to) = china_day(req.date);
    let (mut trades, mut refunds) = state.ledger.bill_entries(req.scope, from, to)?;
    if let Some(sub) = req.sub_mch_id {
        trades.retain(|t| t.merchant_id == sub);
        refunds.retain(|(_, t)| t.merchant_id == sub);
    }
    let appid = req.appid;
    // 特约商户号: the sub-merchant a trade was taken for, `0` for the account's own trades (and, as before, on the
    // shared gateway).
    let sub_of = |t: &Trade| {
        if !req.scope.strict || t.merchant_id.is_empty() || t.merchant_id == mch_id {
            "0".to_owned()
        } else {
            t.merchant_id.clone()
        }
    };
    let base = |t: &Trade, when: Option<&str>| -> Option<WechatBillRow> {
        Some(WechatBillRow {
            trade_time: china_primitive(when)?,
            appid: appid.to_owned(),
            mch_id: mch_id.to_owned(),
            sub_mch_id: sub_of(t),
            device_info: t.terminal_id.clone().unwrap_or_default(),
            transaction_id: t.trade_no.clone(),
            out_trade_no: t.out_trade_no.clone(),
            openid: t.buyer_id.clone(),
            trade_type: if matches!(t.source.as_str(), "store_code" | "precreate") { "NATIVE" } else { "MICROPAY" }
                .into(),
            trade_state: "SUCCESS".into(),
            bank_type: "OTHERS".into(),
            fee_type: "CNY".into(),
            settlement_total_fee: Amount::from_fen(t.total_amount),
            coupon_fee: Amount::ZERO,
            refund_id: "0".into(),
            out_refund_no: "0".into(),
            refund_fee: Amount::ZERO,
            coupon_refund_fee: Amount::ZERO,
            refund_type: String::new(),
            refund_status: String::new(),
            body: t.subject.clone(),
            attach: String::new(),
            service_fee: wechat_fee(t.total_amount),
            rate: "0.60%".into(),
            total_fee: Amount::from_fen(t.total_amount),
            applied_refund_fee: Amount::ZERO,
            rate_remark: String::new(),
            refund_apply_time: None,
            refund_success_time: None,
        })
    };
    let mut rows = Vec::new();
    if bill_type != BillType::Refund {
        for t in &trades {
            let Some(mut row) = base(t, t.paid_at.as_deref()) else { continue };
            if reversed(t) {
                // A reversed (撤销) payment: listed REVOKED in the ALL bill, as the query API says; nothing settles and
                // no fee is charged. The SUCCESS bill lists successful payments only.
                if bill_type == BillType::Success {
                    continue;
                }
                row.trade_state = "REVOKED".into();
                row.settlement_total_fee = Amount::ZERO;
                row.service_fee = MilliFen::from_milli_fen(0);
            }
            rows.push(row);
        }
    }
    if bill_type != BillType::Success {
        for (r, t) in &refunds {
            let Some(mut row) = base(t, Some(&r.created_at)) else { continue };
            row.trade_state = "REFUND".into();
            row.settlement_total_fee = Amount::ZERO;
            row.refund_id = r.refund_no.clone();
            row.out_refund_no = r.out_request_no.clone();
            row.refund_fee = Amount::from_fen(r.amount);
            row.applied_refund_fee = Amount::from_fen(r.amount);
            row.refund_type = "ORIGINAL".into();
            row.refund_status = if r.succeeded(state.now()) { "SUCCESS" } else { "PROCESSING" }.into();
            row.service_fee = MilliFen::from_milli_fen(-wechat_fee(r.amount).milli_fen());
            row.refund_apply_time = china_primitive(Some(&r.created_at));
            row.refund_success_time =
                if r.succeeded(state.now()) { china_primitive(Some(&r.succeeds_at)) } else { None };
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(write_bill(bill_type, &rows)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bill_dates_parse_strictly() {
        assert_eq!(parse_day("2026-11-24").map(day_text).as_deref(), Some("2026-11-24"));
        assert!(parse_day("2026-13-01").is_none());
        assert!(parse_day("2026-1-1").is_none());
        assert_eq!(parse_compact_day("20261124").map(day_text).as_deref(), Some("2026-11-24"));
        assert!(parse_compact_day("2026112").is_none());
    }
}
