//! `/secapi/pay/refund` and `/pay/refundquery`.

use super::*;

// --- /secapi/pay/refund

/// `/secapi/pay/refund` (needs the client certificate). The reply only acknowledges; query for the result.
/// Retries must reuse the same `out_refund_no`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub merchant: MerchantIds,
    pub trade: TradeRef,
    /// At most 64 of `[0-9A-Za-z_-|*@]`.
    pub out_refund_no: String,
    /// The order's total.
    pub total_fee: Amount,
    pub refund_fee: Amount,
    pub refund_fee_type: Option<String>,
    pub refund_desc: Option<String>,
    pub refund_account: Option<String>,
    pub notify_url: Option<String>,
}

impl RefundRequest {
    /// Checks what WeChat Pay would refuse anyway.
    pub fn validate(&self) -> Result<(), WireError> {
        check_out_no("out_refund_no", &self.out_refund_no, 64)?;
        check_positive("total_fee", self.total_fee)?;
        check_positive("refund_fee", self.refund_fee)?;
        if self.refund_fee > self.total_fee {
            return Err(WireError::InvalidRequest {
                field: "refund_fee",
                value: self.refund_fee.to_string(),
                reason: "is more than the order total",
            });
        }
        Ok(())
    }
}

impl WireMessage for RefundRequest {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.merchant.write(&mut out);
        self.trade.write(&mut out);
        out.put("out_refund_no", self.out_refund_no.as_str());
        out.fen("total_fee", self.total_fee);
        out.fen("refund_fee", self.refund_fee);
        out.opt("refund_fee_type", self.refund_fee_type.as_ref());
        out.opt("refund_desc", self.refund_desc.as_ref());
        out.opt("refund_account", self.refund_account.as_ref());
        out.opt("notify_url", self.notify_url.as_ref());
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(RefundRequest {
            merchant: MerchantIds::read(&f)?,
            trade: TradeRef::read(&f)?,
            out_refund_no: f.req("out_refund_no")?,
            total_fee: f.fen("total_fee")?,
            refund_fee: f.fen("refund_fee")?,
            refund_fee_type: f.opt("refund_fee_type"),
            refund_desc: f.opt("refund_desc"),
            refund_account: f.opt("refund_account"),
            notify_url: f.opt("notify_url"),
        })
    }
}

impl WireRequest for RefundRequest {
    const ENDPOINT: Endpoint = Endpoint::Refund;
}

/// A refund WeChat Pay accepted (`result_code=SUCCESS`); its outcome comes later through refundquery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAccepted {
    pub transaction_id: String,
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_fee: Amount,
    pub settlement_refund_fee: Option<Amount>,
    pub total_fee: Amount,
    pub settlement_total_fee: Option<Amount>,
    pub fee_type: Option<String>,
    pub cash_fee: Option<Amount>,
    pub cash_refund_fee: Option<Amount>,
    pub coupon_refund_fee: Option<Amount>,
    pub coupon_refund_count: Option<u32>,
}

/// The refund reply; `accepted` is present exactly when `result_code=SUCCESS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundResponse {
    pub head: ReplyHead,
    pub accepted: Option<RefundAccepted>,
}

impl WireMessage for RefundResponse {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.head.write(&mut out);
        if let Some(a) = &self.accepted {
            out.put("transaction_id", a.transaction_id.as_str());
            out.put("out_trade_no", a.out_trade_no.as_str());
            out.put("out_refund_no", a.out_refund_no.as_str());
            out.put("refund_id", a.refund_id.as_str());
            out.fen("refund_fee", a.refund_fee);
            out.fen_opt("settlement_refund_fee", a.settlement_refund_fee);
            out.fen("total_fee", a.total_fee);
            out.fen_opt("settlement_total_fee", a.settlement_total_fee);
            out.opt("fee_type", a.fee_type.as_ref());
            out.fen_opt("cash_fee", a.cash_fee);
            out.fen_opt("cash_refund_fee", a.cash_refund_fee);
            out.fen_opt("coupon_refund_fee", a.coupon_refund_fee);
            out.count_opt("coupon_refund_count", a.coupon_refund_count);
        }
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        let head = ReplyHead::read(&f)?;
        let accepted = if head.is_success() {
            Some(RefundAccepted {
                transaction_id: f.req("transaction_id")?,
                out_trade_no: f.req("out_trade_no")?,
                out_refund_no: f.req("out_refund_no")?,
                refund_id: f.req("refund_id")?,
                refund_fee: f.fen("refund_fee")?,
                settlement_refund_fee: f.fen_opt("settlement_refund_fee")?,
                total_fee: f.fen("total_fee")?,
                settlement_total_fee: f.fen_opt("settlement_total_fee")?,
                fee_type: f.opt("fee_type"),
                cash_fee: f.fen_opt("cash_fee")?,
                cash_refund_fee: f.fen_opt("cash_refund_fee")?,
                coupon_refund_fee: f.fen_opt("coupon_refund_fee")?,
                coupon_refund_count: f.count_opt("coupon_refund_count")?,
            })
        } else {
            None
        };
        Ok(RefundResponse { head, accepted })
    }
}

// --- /pay/refundquery

/// `/pay/refundquery`. `offset` pages through orders with more than 10 refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQueryRequest {
    pub merchant: MerchantIds,
    pub target: RefundRef,
    pub offset: Option<u32>,
}

impl WireMessage for RefundQueryRequest {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.merchant.write(&mut out);
        self.target.write(&mut out);
        out.count_opt("offset", self.offset);
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(RefundQueryRequest {
            merchant: MerchantIds::read(&f)?,
            target: RefundRef::read(&f)?,
            offset: f.count_opt("offset")?,
        })
    }
}

impl WireRequest for RefundQueryRequest {
    const ENDPOINT: Endpoint = Endpoint::RefundQuery;
}

/// One refund of a refundquery reply: the fields suffixed `_$n` (0-based) on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_channel: Option<String>,
    pub refund_fee: Amount,
    pub settlement_refund_fee: Option<Amount>,
    pub coupon_refund_fee: Option<Amount>,
    pub refund_status: RefundStatus,
    pub refund_account: Option<String>,
    /// Where the money went back to (the protocol's spelling, "accout").
    pub refund_recv_accout: Option<String>,
    /// "yyyy-MM-dd HH:mm:ss" as sent.
    pub refund_success_time: Option<String>,
}

/// What refundquery found (`result_code=SUCCESS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQueryResult {
    pub transaction_id: String,
    pub out_trade_no: String,
    pub total_fee: Amount,
    pub settlement_total_fee: Option<Amount>,
    pub fee_type: Option<String>,
    pub cash_fee: Option<Amount>,
    /// All refunds of the order, when it has more than this page holds.
    pub total_refund_count: Option<u32>,
    /// `refund_count` on the wire: the records in this reply, `refunds[n]` from the `_$n` fields.
    pub refunds: Vec<RefundRecord>,
}

/// The refundquery reply; `result` is present exactly when `result_code=SUCCESS` (REFUNDNOTEXIST is a FAIL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQueryResponse {
    pub head: ReplyHead,
    pub result: Option<RefundQueryResult>,
}

impl RefundRecord {
    pub(super) fn write(&self, n: usize, out: &mut Out) {
        let name = |field: &str| format!("{field}_{n}");
        out.put(&name("out_refund_no"), self.out_refund_no.as_str());
        out.put(&name("refund_id"), self.refund_id.as_str());
        out.opt(&name("refund_channel"), self.refund_channel.as_ref());
        out.fen(&name("refund_fee"), self.refund_fee);
        out.fen_opt(&name("settlement_refund_fee"), self.settlement_refund_fee);
        out.fen_opt(&name("coupon_refund_fee"), self.coupon_refund_fee);
        out.put(&name("refund_status"), self.refund_status.as_str());
        out.opt(&name("refund_account"), self.refund_account.as_ref());
        out.opt(&name("refund_recv_accout"), self.refund_recv_accout.as_ref());
        out.opt(&name("refund_success_time"), self.refund_success_time.as_ref());
    }

    pub(super) fn read(n: u32, f: &Fields<'_>) -> Result<Self, WireError> {
        let name = |field: &str| format!("{field}_{n}");
        Ok(RefundRecord {
            out_refund_no: f.req(&name("out_refund_no"))?,
            refund_id: f.req(&name("refund_id"))?,
            refund_channel: f.opt(&name("refund_channel")),
            refund_fee: f.fen(&name("refund_fee"))?,
            settlement_refund_fee: f.fen_opt(&name("settlement_refund_fee"))?,
            coupon_refund_fee: f.fen_opt(&name("coupon_refund_fee"))?,
            refund_status: f.parse_req(&name("refund_status"), RefundStatus::parse, RefundStatus::expected)?,
            refund_account: f.opt(&name("refund_account")),
            refund_recv_accout: f.opt(&name("refund_recv_accout")),
            refund_success_time: f.opt(&name("refund_success_time")),
        })
    }
}

impl WireMessage for RefundQueryResponse {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.head.write(&mut out);
        if let Some(r) = &self.result {
            out.put("transaction_id", r.transaction_id.as_str());
            out.put("out_trade_no", r.out_trade_no.as_str());
            out.fen("total_fee", r.total_fee);
            out.fen_opt("settlement_total_fee", r.settlement_total_fee);
            out.opt("fee_type", r.fee_type.as_ref());
            out.fen_opt("cash_fee", r.cash_fee);
            out.count_opt("total_refund_count", r.total_refund_count);
            out.put("refund_count", r.refunds.len().to_string());
            for (n, record) in r.refunds.iter().enumerate() {
                record.write(n, &mut out);
            }
        }
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        let head = ReplyHead::read(&f)?;
        let result = if head.is_success() {
            let refund_count =
                f.count_opt("refund_count")?.ok_or_else(|| WireError::MissingField("refund_count".into()))?;
            // The count is untrusted: records are read one by one and the first missing one stops the parse.
            let refunds = (0..refund_count).map(|n| RefundRecord::read(n, &f)).collect::<Result<Vec<_>, _>>()?;
            Some(RefundQueryResult {
                transaction_id: f.req("transaction_id")?,
                out_trade_no: f.req("out_trade_no")?,
                total_fee: f.fen("total_fee")?,
                settlement_total_fee: f.fen_opt("settlement_total_fee")?,
                fee_type: f.opt("fee_type"),
                cash_fee: f.fen_opt("cash_fee")?,
                total_refund_count: f.count_opt("total_refund_count")?,
                refunds,
            })
        } else {
            None
        };
        Ok(RefundQueryResponse { head, result })
    }
}
