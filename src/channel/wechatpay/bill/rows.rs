//! The values a WeChat Pay bill holds: [`MilliFen`] (the 手续费's five decimals kept exactly), a row owned or
//! borrowed from the line just read, and the day's totals. Imports `money` only.

use std::fmt;

use time::PrimitiveDateTime;

use crate::money::Amount;

/// An amount in 1/1000 fen (0.00001 yuan): the bill's 手续费 is written with 5 decimals ("0.04000").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MilliFen(i64);

impl MilliFen {
    pub const ZERO: MilliFen = MilliFen(0);

    pub const fn from_milli_fen(value: i64) -> Self {
        MilliFen(value)
    }

    pub const fn milli_fen(self) -> i64 {
        self.0
    }

    /// The same amount in the finer unit; `None` on overflow.
    pub fn from_amount(amount: Amount) -> Option<Self> {
        amount.fen().checked_mul(1000).map(MilliFen)
    }

    /// Rounded to whole fen, halves away from zero.
    pub fn round_to_fen(self) -> Amount {
        let (q, r) = (self.0 / 1000, self.0 % 1000);
        let q = if r >= 500 {
            q + 1
        } else if r <= -500 {
            q - 1
        } else {
            q
        };
        Amount::from_fen(q)
    }

    /// Parses yuan with up to 5 decimals and an optional minus: "0.04000", "0.6", "0", "-0.00010".
    pub fn parse(text: &str) -> Option<Self> {
        let s = text.trim();
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || frac.len() > 5 {
            return None;
        }
        if digits.contains('.') && frac.is_empty() {
            return None;
        }
        let mut value: i64 = whole.parse::<i64>().ok()?.checked_mul(100_000)?;
        let mut scale = 10_000;
        for d in frac.bytes() {
            value = value.checked_add(i64::from(d - b'0') * scale)?;
            scale /= 10;
        }
        Some(MilliFen(if negative { -value } else { value }))
    }

    fn saturating_add(self, other: MilliFen) -> MilliFen {
        MilliFen(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for MilliFen {
    /// Yuan with 5 decimals, as the bill writes it ("0.04000").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:05}", abs / 100_000, abs % 100_000)
    }
}

/// One bill row. Columns a layout does not have read as empty text, zero or `None` (e.g. the refund columns of a
/// SUCCESS bill). Texts are as written, without the backtick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatBillRow {
    /// 交易时间, China time.
    pub trade_time: PrimitiveDateTime,
    /// 公众账号ID
    pub appid: String,
    /// 商户号
    pub mch_id: String,
    /// 特约商户号 (子商户号 in the old layout); "0" for direct merchants.
    pub sub_mch_id: String,
    /// 设备号
    pub device_info: String,
    /// 微信订单号
    pub transaction_id: String,
    /// 商户订单号
    pub out_trade_no: String,
    /// 用户标识
    pub openid: String,
    /// 交易类型: MICROPAY, JSAPI, NATIVE, …
    pub trade_type: String,
    /// 交易状态: SUCCESS, REFUND, REVOKED.
    pub trade_state: String,
    /// 付款银行
    pub bank_type: String,
    /// 货币种类
    pub fee_type: String,
    /// 应结订单金额 (order amount less non-cash coupons); zero in the old layout, which has only 总金额.
    pub settlement_total_fee: Amount,
    /// 代金券金额 (代金券或立减优惠金额 in the old layout).
    pub coupon_fee: Amount,
    /// 微信退款单号; "0" on payment rows.
    pub refund_id: String,
    /// 商户退款单号; "0" on payment rows.
    pub out_refund_no: String,
    /// 退款金额
    pub refund_fee: Amount,
    /// 充值券退款金额 (代金券或立减优惠退款金额 in the old layout).
    pub coupon_refund_fee: Amount,
    /// 退款类型: ORIGINAL, BALANCE.
    pub refund_type: String,
    /// 退款状态: SUCCESS, PROCESSING, FAIL, CHANGE.
    pub refund_status: String,
    /// 商品名称
    pub body: String,
    /// 商户数据包
    pub attach: String,
    /// 手续费, exact to 0.00001 yuan.
    pub service_fee: MilliFen,
    /// 费率, as written ("0.60%").
    pub rate: String,
    /// 订单金额 (总金额 in the old layout).
    pub total_fee: Amount,
    /// 申请退款金额
    pub applied_refund_fee: Amount,
    /// 费率备注
    pub rate_remark: String,
    /// 退款申请时间 (REFUND bills only).
    pub refund_apply_time: Option<PrimitiveDateTime>,
    /// 退款成功时间 (REFUND bills only; empty while processing).
    pub refund_success_time: Option<PrimitiveDateTime>,
}

/// A [`WechatBillRow`] whose texts borrow the line just read ([`BillReader::next_row`]): the same values without
/// an allocation per field, for imports of millions of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WechatBillRowRef<'a> {
    /// The 1-based line of the row in the file.
    pub line: usize,
    pub trade_time: PrimitiveDateTime,
    pub appid: &'a str,
    pub mch_id: &'a str,
    pub sub_mch_id: &'a str,
    pub device_info: &'a str,
    pub transaction_id: &'a str,
    pub out_trade_no: &'a str,
    pub openid: &'a str,
    pub trade_type: &'a str,
    pub trade_state: &'a str,
    pub bank_type: &'a str,
    pub fee_type: &'a str,
    pub settlement_total_fee: Amount,
    pub coupon_fee: Amount,
    pub refund_id: &'a str,
    pub out_refund_no: &'a str,
    pub refund_fee: Amount,
    pub coupon_refund_fee: Amount,
    pub refund_type: &'a str,
    pub refund_status: &'a str,
    pub body: &'a str,
    pub attach: &'a str,
    pub service_fee: MilliFen,
    pub rate: &'a str,
    pub total_fee: Amount,
    pub applied_refund_fee: Amount,
    pub rate_remark: &'a str,
    pub refund_apply_time: Option<PrimitiveDateTime>,
    pub refund_success_time: Option<PrimitiveDateTime>,
}

impl WechatBillRowRef<'_> {
    /// The row with its own texts.
    pub fn to_row(&self) -> WechatBillRow {
        WechatBillRow {
            trade_time: self.trade_time,
            appid: self.appid.to_owned(),
            mch_id: self.mch_id.to_owned(),
            sub_mch_id: self.sub_mch_id.to_owned(),
            device_info: self.device_info.to_owned(),
            transaction_id: self.transaction_id.to_owned(),
            out_trade_no: self.out_trade_no.to_owned(),
            openid: self.openid.to_owned(),
            trade_type: self.trade_type.to_owned(),
            trade_state: self.trade_state.to_owned(),
            bank_type: self.bank_type.to_owned(),
            fee_type: self.fee_type.to_owned(),
            settlement_total_fee: self.settlement_total_fee,
            coupon_fee: self.coupon_fee,
            refund_id: self.refund_id.to_owned(),
            out_refund_no: self.out_refund_no.to_owned(),
            refund_fee: self.refund_fee,
            coupon_refund_fee: self.coupon_refund_fee,
            refund_type: self.refund_type.to_owned(),
            refund_status: self.refund_status.to_owned(),
            body: self.body.to_owned(),
            attach: self.attach.to_owned(),
            service_fee: self.service_fee,
            rate: self.rate.to_owned(),
            total_fee: self.total_fee,
            applied_refund_fee: self.applied_refund_fee,
            rate_remark: self.rate_remark.to_owned(),
            refund_apply_time: self.refund_apply_time,
            refund_success_time: self.refund_success_time,
        }
    }
}

/// The bill's last two lines: the day's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WechatBillSummary {
    /// 总交易单数
    pub total_count: u64,
    /// 应结订单总金额
    pub settlement_total_fee: Amount,
    /// 退款总金额
    pub refund_fee: Amount,
    /// 充值券退款总金额
    pub coupon_refund_fee: Amount,
    /// 手续费总金额
    pub service_fee: MilliFen,
    /// 订单总金额 (总交易额 in the old layout)
    pub total_fee: Amount,
    /// 申请退款总金额
    pub applied_refund_fee: Amount,
}

impl WechatBillSummary {
    /// The totals of `rows`, as the bill's summary states them (sums saturate rather than wrap).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a WechatBillRow>) -> Self {
        let add = |a: Amount, b: Amount| Amount::from_fen(a.fen().saturating_add(b.fen()));
        rows.into_iter().fold(WechatBillSummary::default(), |s, r| WechatBillSummary {
            total_count: s.total_count + 1,
            settlement_total_fee: add(s.settlement_total_fee, r.settlement_total_fee),
            refund_fee: add(s.refund_fee, r.refund_fee),
            coupon_refund_fee: add(s.coupon_refund_fee, r.coupon_refund_fee),
            service_fee: s.service_fee.saturating_add(r.service_fee),
            total_fee: add(s.total_fee, r.total_fee),
            applied_refund_fee: add(s.applied_refund_fee, r.applied_refund_fee),
        })
    }
}
