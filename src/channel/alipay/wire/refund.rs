//! `alipay.trade.refund` and `alipay.trade.fastpay.refund.query`.

use super::*;

/// biz_content of alipay.trade.refund. `out_request_no` must be unique per refund of a trade, is required for
/// partial refunds, and must be reused unchanged to retry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradeRefundRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    pub refund_amount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_request_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_options: Option<Vec<String>>,
}

impl TradeRefundRequest {
    pub fn new(out_trade_no: &str, out_request_no: &str, refund: Amount) -> Self {
        TradeRefundRequest {
            out_trade_no: Some(out_trade_no.into()),
            out_request_no: Some(out_request_no.into()),
            refund_amount: refund.format(),
            ..Self::default()
        }
    }

    pub fn refund_amount(&self) -> Result<Amount, WireError> {
        amount("refund_amount", &self.refund_amount)
    }
}

/// The alipay_trade_refund_response node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradeRefundResponse {
    #[serde(flatten)]
    pub common: CommonResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_logon_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_user_id: Option<String>,
    /// "Y": money moved with this call; "N": it did not (e.g. an idempotent repeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_change: Option<String>,
    /// Total refunded on the trade so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_fee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmt_refund_pay: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_back_fee: Option<String>,
}

impl TradeRefundResponse {
    pub fn fund_changed(&self) -> bool {
        flag_is_yes(self.fund_change.as_deref())
    }

    /// Total refunded on the trade so far; required on success.
    pub fn refund_fee(&self) -> Result<Amount, WireError> {
        required_amount("refund_fee", self.refund_fee.as_deref())
    }
}

/// biz_content of alipay.trade.fastpay.refund.query. `out_request_no` is the refund's, or the `out_trade_no` if the
/// refund was sent without one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefundQueryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    pub out_request_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_options: Option<Vec<String>>,
}

/// `refund_status` when the refund went through.
pub const REFUND_SUCCESS: &str = "REFUND_SUCCESS";

/// The alipay_trade_fastpay_refund_query_response node. No `refund_status` means the refund was not received or
/// failed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefundQueryResponse {
    #[serde(flatten)]
    pub common: CommonResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_request_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<String>,
    /// This refund's amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmt_refund_pay: Option<String>,
}

impl RefundQueryResponse {
    /// Whether the refund went through (`refund_status` = REFUND_SUCCESS).
    pub fn is_refunded(&self) -> bool {
        self.common.is_success() && self.refund_status.as_deref() == Some(REFUND_SUCCESS)
    }

    pub fn refund_amount(&self) -> Result<Option<Amount>, WireError> {
        optional_amount("refund_amount", self.refund_amount.as_deref())
    }

    pub fn total_amount(&self) -> Result<Option<Amount>, WireError> {
        optional_amount("total_amount", self.total_amount.as_deref())
    }
}
