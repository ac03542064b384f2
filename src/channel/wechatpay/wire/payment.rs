//! `/pay/micropay`, `/pay/orderquery` and `/secapi/pay/reverse`.

use super::*;

// --- /pay/micropay

/// `/pay/micropay`: charge the customer's payment code (付款码).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicropayRequest {
    pub merchant: MerchantIds,
    pub device_info: Option<String>,
    /// Goods description, at most 128 characters.
    pub body: String,
    pub detail: Option<String>,
    pub attach: Option<String>,
    /// At most 32 of `[0-9A-Za-z_-|*]`; unique per merchant.
    pub out_trade_no: String,
    /// Sent as integer fen.
    pub total_fee: Amount,
    pub fee_type: Option<String>,
    pub spbill_create_ip: String,
    pub goods_tag: Option<String>,
    /// `no_credit` forbids credit cards.
    pub limit_pay: Option<String>,
    /// yyyyMMddHHmmss.
    pub time_start: Option<String>,
    pub time_expire: Option<String>,
    pub receipt: Option<String>,
    /// 18 digits beginning 10–15.
    pub auth_code: String,
    /// JSON text (store info).
    pub scene_info: Option<String>,
    pub profit_sharing: Option<String>,
    pub version: Option<String>,
}

impl MicropayRequest {
    /// Checks what WeChat Pay would refuse anyway, so the cashier hears it before anything is sent.
    pub fn validate(&self) -> Result<(), WireError> {
        check_body(&self.body)?;
        check_out_no("out_trade_no", &self.out_trade_no, 32)?;
        check_positive("total_fee", self.total_fee)?;
        if !is_wechat_auth_code(&self.auth_code) {
            return Err(WireError::InvalidRequest {
                field: "auth_code",
                value: self.auth_code.clone(),
                reason: "is not a WeChat payment code (18 digits beginning 10 to 15)",
            });
        }
        if self.spbill_create_ip.trim().is_empty() {
            return Err(WireError::InvalidRequest {
                field: "spbill_create_ip",
                value: self.spbill_create_ip.clone(),
                reason: "must be the till's IP address",
            });
        }
        Ok(())
    }
}

/// The order's `body` (product description): 1 to 128 characters.
pub(super) fn check_body(body: &str) -> Result<(), WireError> {
    let len = body.chars().count();
    if len == 0 || len > 128 {
        return Err(WireError::InvalidRequest {
            field: "body",
            value: body.to_owned(),
            reason: "must be 1 to 128 characters",
        });
    }
    Ok(())
}

pub(super) fn check_out_no(field: &'static str, value: &str, max: usize) -> Result<(), WireError> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(WireError::InvalidRequest {
            field,
            value: value.to_owned(),
            reason: "must be 1 to 32 (refunds: 64) letters, digits or _-|*@",
        })
    }
}

pub(super) fn check_positive(field: &'static str, amount: Amount) -> Result<(), WireError> {
    if amount.fen() > 0 {
        Ok(())
    } else {
        Err(WireError::InvalidRequest { field, value: amount.to_string(), reason: "must be at least 0.01" })
    }
}

impl WireMessage for MicropayRequest {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.merchant.write(&mut out);
        out.opt("device_info", self.device_info.as_ref());
        out.put("body", self.body.as_str());
        out.opt("detail", self.detail.as_ref());
        out.opt("attach", self.attach.as_ref());
        out.put("out_trade_no", self.out_trade_no.as_str());
        out.fen("total_fee", self.total_fee);
        out.opt("fee_type", self.fee_type.as_ref());
        out.put("spbill_create_ip", self.spbill_create_ip.as_str());
        out.opt("goods_tag", self.goods_tag.as_ref());
        out.opt("limit_pay", self.limit_pay.as_ref());
        out.opt("time_start", self.time_start.as_ref());
        out.opt("time_expire", self.time_expire.as_ref());
        out.opt("receipt", self.receipt.as_ref());
        out.put("auth_code", self.auth_code.as_str());
        out.opt("scene_info", self.scene_info.as_ref());
        out.opt("profit_sharing", self.profit_sharing.as_ref());
        out.opt("version", self.version.as_ref());
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(MicropayRequest {
            merchant: MerchantIds::read(&f)?,
            device_info: f.opt("device_info"),
            body: f.req("body")?,
            detail: f.opt("detail"),
            attach: f.opt("attach"),
            out_trade_no: f.req("out_trade_no")?,
            total_fee: f.fen("total_fee")?,
            fee_type: f.opt("fee_type"),
            spbill_create_ip: f.req("spbill_create_ip")?,
            goods_tag: f.opt("goods_tag"),
            limit_pay: f.opt("limit_pay"),
            time_start: f.time_opt("time_start")?,
            time_expire: f.time_opt("time_expire")?,
            receipt: f.opt("receipt"),
            auth_code: f.req("auth_code")?,
            scene_info: f.opt("scene_info"),
            profit_sharing: f.opt("profit_sharing"),
            version: f.opt("version"),
        })
    }
}

impl WireRequest for MicropayRequest {
    const ENDPOINT: Endpoint = Endpoint::Micropay;
}

/// A completed payment, as micropay (on success) and orderquery (trade_state SUCCESS or REFUND) report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub openid: Option<String>,
    pub is_subscribe: Option<String>,
    /// `MICROPAY` for 付款码 payments.
    pub trade_type: Option<String>,
    pub bank_type: Option<String>,
    pub fee_type: Option<String>,
    pub total_fee: Amount,
    pub settlement_total_fee: Option<Amount>,
    pub coupon_fee: Option<Amount>,
    pub cash_fee_type: Option<String>,
    pub cash_fee: Amount,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub attach: Option<String>,
    /// yyyyMMddHHmmss, China time.
    pub time_end: String,
    pub promotion_detail: Option<String>,
}

impl Payment {
    pub(super) fn write(&self, out: &mut Out) {
        out.opt("openid", self.openid.as_ref());
        out.opt("is_subscribe", self.is_subscribe.as_ref());
        out.opt("trade_type", self.trade_type.as_ref());
        out.opt("bank_type", self.bank_type.as_ref());
        out.opt("fee_type", self.fee_type.as_ref());
        out.fen("total_fee", self.total_fee);
        out.fen_opt("settlement_total_fee", self.settlement_total_fee);
        out.fen_opt("coupon_fee", self.coupon_fee);
        out.opt("cash_fee_type", self.cash_fee_type.as_ref());
        out.fen("cash_fee", self.cash_fee);
        out.put("transaction_id", self.transaction_id.as_str());
        out.put("out_trade_no", self.out_trade_no.as_str());
        out.opt("attach", self.attach.as_ref());
        out.put("time_end", self.time_end.as_str());
        out.opt("promotion_detail", self.promotion_detail.as_ref());
    }

    pub(super) fn read(f: &Fields<'_>) -> Result<Self, WireError> {
        Ok(Payment {
            openid: f.opt("openid"),
            is_subscribe: f.opt("is_subscribe"),
            trade_type: f.opt("trade_type"),
            bank_type: f.opt("bank_type"),
            fee_type: f.opt("fee_type"),
            total_fee: f.fen("total_fee")?,
            settlement_total_fee: f.fen_opt("settlement_total_fee")?,
            coupon_fee: f.fen_opt("coupon_fee")?,
            cash_fee_type: f.opt("cash_fee_type"),
            cash_fee: f.fen("cash_fee")?,
            transaction_id: f.req("transaction_id")?,
            out_trade_no: f.req("out_trade_no")?,
            attach: f.opt("attach"),
            time_end: f.time("time_end")?,
            promotion_detail: f.opt("promotion_detail"),
        })
    }
}

/// The micropay reply. `payment` is present exactly when `result_code=SUCCESS`; otherwise `head.err_code` says
/// why (USERPAYING, SYSTEMERROR and BANKERROR mean "unknown: query").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicropayResponse {
    pub head: ReplyHead,
    pub device_info: Option<String>,
    pub payment: Option<Payment>,
}

impl WireMessage for MicropayResponse {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.head.write(&mut out);
        out.opt("device_info", self.device_info.as_ref());
        if let Some(payment) = &self.payment {
            payment.write(&mut out);
        }
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        let head = ReplyHead::read(&f)?;
        let payment = if head.is_success() { Some(Payment::read(&f)?) } else { None };
        Ok(MicropayResponse { head, device_info: f.opt("device_info"), payment })
    }
}

// --- /pay/orderquery

/// `/pay/orderquery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderQueryRequest {
    pub merchant: MerchantIds,
    pub trade: TradeRef,
}

impl WireMessage for OrderQueryRequest {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.merchant.write(&mut out);
        self.trade.write(&mut out);
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(OrderQueryRequest { merchant: MerchantIds::read(&f)?, trade: TradeRef::read(&f)? })
    }
}

impl WireRequest for OrderQueryRequest {
    const ENDPOINT: Endpoint = Endpoint::OrderQuery;
}

/// What orderquery knows about an order (`result_code=SUCCESS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueriedOrder {
    pub trade_state: TradeState,
    pub trade_state_desc: Option<String>,
    /// Required when `trade_state=SUCCESS`; read whenever a `transaction_id` is present.
    pub payment: Option<Payment>,
}

/// The orderquery reply; `order` is present exactly when `result_code=SUCCESS` (ORDERNOTEXIST is a FAIL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderQueryResponse {
    pub head: ReplyHead,
    pub device_info: Option<String>,
    pub order: Option<QueriedOrder>,
}

impl WireMessage for OrderQueryResponse {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.head.write(&mut out);
        out.opt("device_info", self.device_info.as_ref());
        if let Some(order) = &self.order {
            out.put("trade_state", order.trade_state.as_str());
            out.opt("trade_state_desc", order.trade_state_desc.as_ref());
            if let Some(payment) = &order.payment {
                payment.write(&mut out);
            }
        }
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        let head = ReplyHead::read(&f)?;
        let order = if head.is_success() {
            let trade_state = f.parse_req("trade_state", TradeState::parse, TradeState::expected)?;
            // Paid states must carry the payment; other states may carry some of its fields (transaction_id, total_fee)
            // without the rest, so a partial payment there is read when complete and otherwise left out.
            let payment = if matches!(trade_state, TradeState::Success | TradeState::Refund) {
                Some(Payment::read(&f)?)
            } else {
                Payment::read(&f).ok()
            };
            Some(QueriedOrder { trade_state, trade_state_desc: f.opt("trade_state_desc"), payment })
        } else {
            None
        };
        Ok(OrderQueryResponse { head, device_info: f.opt("device_info"), order })
    }
}

// --- /secapi/pay/reverse

/// `/secapi/pay/reverse` (撤销, needs the client certificate): closes an unpaid order or returns the money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReverseRequest {
    pub merchant: MerchantIds,
    pub trade: TradeRef,
}

impl WireMessage for ReverseRequest {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.merchant.write(&mut out);
        self.trade.write(&mut out);
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(ReverseRequest { merchant: MerchantIds::read(&f)?, trade: TradeRef::read(&f)? })
    }
}

impl WireRequest for ReverseRequest {
    const ENDPOINT: Endpoint = Endpoint::Reverse;
}

/// The reverse reply. `recall=Some(true)` (`Y`) means "call reverse again", also when `result_code=FAIL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReverseResponse {
    pub head: ReplyHead,
    pub recall: Option<bool>,
}

impl WireMessage for ReverseResponse {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.head.write(&mut out);
        if let Some(recall) = self.recall {
            out.put("recall", if recall { "Y" } else { "N" });
        }
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(ReverseResponse { head: ReplyHead::read(&f)?, recall: f.yes_no_opt("recall")? })
    }
}
