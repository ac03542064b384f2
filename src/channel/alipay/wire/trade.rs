//! `alipay.trade.query`, `cancel` and `close`: a trade named by out_trade_no or trade_no.

use super::*;

/// biz_content of alipay.trade.query: `trade_no` wins when both are given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradeQueryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_options: Option<Vec<String>>,
}

impl TradeQueryRequest {
    pub fn by_out_trade_no(out_trade_no: &str) -> Self {
        TradeQueryRequest { out_trade_no: Some(out_trade_no.into()), ..Self::default() }
    }
}

/// The alipay_trade_query_response node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradeQueryResponse {
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
    /// WAIT_BUYER_PAY / TRADE_CLOSED / TRADE_SUCCESS / TRADE_FINISHED; see [`TradeQueryResponse::status`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_pay_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_amount: Option<String>,
    /// The payment time, "yyyy-MM-dd HH:mm:ss".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_pay_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_bill_list: Option<Vec<FundBill>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_name: Option<String>,
}

impl TradeQueryResponse {
    /// The trade status, if present and known.
    pub fn status(&self) -> Option<TradeStatus> {
        self.trade_status.as_deref().and_then(TradeStatus::parse)
    }

    pub fn total_amount(&self) -> Result<Option<Amount>, WireError> {
        optional_amount("total_amount", self.total_amount.as_deref())
    }

    pub fn receipt_amount(&self) -> Result<Option<Amount>, WireError> {
        optional_amount("receipt_amount", self.receipt_amount.as_deref())
    }

    pub fn buyer_pay_amount(&self) -> Result<Option<Amount>, WireError> {
        optional_amount("buyer_pay_amount", self.buyer_pay_amount.as_deref())
    }
}

/// biz_content of alipay.trade.cancel.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradeCancelRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
}

/// The alipay_trade_cancel_response node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradeCancelResponse {
    #[serde(flatten)]
    pub common: CommonResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// "Y": call cancel again; "N": done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_flag: Option<String>,
    /// "close" or "refund"; absent when the trade was not found or the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmt_refund_pay: Option<String>,
}

impl TradeCancelResponse {
    /// Whether Alipay asks for the cancel to be sent again (`retry_flag` = Y).
    pub fn should_retry(&self) -> bool {
        flag_is_yes(self.retry_flag.as_deref())
    }

    pub fn cancel_action(&self) -> Option<CancelAction> {
        self.action.as_deref().and_then(CancelAction::parse)
    }
}

/// biz_content of alipay.trade.close (only WAIT_BUYER_PAY trades can be closed).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradeCloseRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
}

/// The alipay_trade_close_response node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradeCloseResponse {
    #[serde(flatten)]
    pub common: CommonResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
}
