//! The common part of every response (`code`, `msg`, `sub_code`, `sub_msg`) and reading amounts at this edge.

use super::*;

/// What every response node carries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CommonResponse {
    pub code: String,
    pub msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_msg: Option<String>,
}

impl CommonResponse {
    /// `10000 Success`.
    pub fn success() -> Self {
        CommonResponse { code: code::SUCCESS.into(), msg: code::SUCCESS_MSG.into(), sub_code: None, sub_msg: None }
    }

    /// A failure with its sub code and the text for people.
    pub fn failure(code: &str, msg: &str, sub_code: &str, sub_msg: &str) -> Self {
        CommonResponse {
            code: code.into(),
            msg: msg.into(),
            sub_code: Some(sub_code.into()),
            sub_msg: Some(sub_msg.into()),
        }
    }

    /// `40004 Business Failed` with an `ACQ.*` sub code.
    pub fn business_failed(sub_code: &str, sub_msg: &str) -> Self {
        Self::failure(code::BUSINESS_FAILED, code::BUSINESS_FAILED_MSG, sub_code, sub_msg)
    }

    pub fn is_success(&self) -> bool {
        self.code == code::SUCCESS
    }

    /// 10003: the buyer still has to confirm (trade.pay).
    pub fn is_pay_in_progress(&self) -> bool {
        self.code == code::PAY_IN_PROGRESS
    }

    /// The outcome is unknown and must be queried: 20000, or 40004 with `ACQ.SYSTEM_ERROR`.
    pub fn is_unknown_outcome(&self) -> bool {
        self.code == code::UNKNOWN_ERROR
            || (self.code == code::BUSINESS_FAILED && self.sub_code.as_deref() == Some(sub_code::SYSTEM_ERROR))
    }
}

/// A signed response node decoded into one of the response types below.
pub fn decode_node<T: DeserializeOwned>(node: serde_json::Value) -> Result<T, WireError> {
    serde_json::from_value(node).map_err(|e| WireError::Json { what: "response", detail: e.to_string() })
}

/// A request's `biz_content` decoded (the sandbox side); SDKs differ in key order and escaping, so it is always
/// parsed, never compared as text.
pub fn decode_biz_content<T: DeserializeOwned>(biz_content: &str) -> Result<T, WireError> {
    serde_json::from_str(biz_content).map_err(|e| WireError::Json { what: "biz_content", detail: e.to_string() })
}

/// A request's `biz_content` text: compact JSON, non-ASCII as is (UTF-8).
pub fn encode_biz_content<T: Serialize>(request: &T) -> Result<String, WireError> {
    serde_json::to_string(request).map_err(|e| WireError::Json { what: "biz_content", detail: e.to_string() })
}

/// One funding source of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundBill {
    pub fund_channel: String,
    pub amount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_amount: Option<String>,
}

/// `trade_status` of alipay.trade.query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeStatus {
    /// Created, waiting for the buyer.
    WaitBuyerPay,
    /// Unpaid and closed (timeout, cancel), or fully refunded.
    TradeClosed,
    /// Paid; refundable.
    TradeSuccess,
    /// Finished; no longer refundable.
    TradeFinished,
}

impl TradeStatus {
    pub const ALL: [TradeStatus; 4] =
        [TradeStatus::WaitBuyerPay, TradeStatus::TradeClosed, TradeStatus::TradeSuccess, TradeStatus::TradeFinished];

    pub fn as_str(self) -> &'static str {
        match self {
            TradeStatus::WaitBuyerPay => "WAIT_BUYER_PAY",
            TradeStatus::TradeClosed => "TRADE_CLOSED",
            TradeStatus::TradeSuccess => "TRADE_SUCCESS",
            TradeStatus::TradeFinished => "TRADE_FINISHED",
        }
    }

    pub fn parse(text: &str) -> Option<TradeStatus> {
        TradeStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the money was received (TRADE_SUCCESS or TRADE_FINISHED).
    pub fn is_paid(self) -> bool {
        matches!(self, TradeStatus::TradeSuccess | TradeStatus::TradeFinished)
    }
}

/// `action` of alipay.trade.cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancelAction {
    /// The trade was unpaid and is now closed.
    Close,
    /// The trade was paid and has been refunded.
    Refund,
}

impl CancelAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelAction::Close => "close",
            CancelAction::Refund => "refund",
        }
    }

    pub fn parse(text: &str) -> Option<CancelAction> {
        match text {
            "close" => Some(CancelAction::Close),
            "refund" => Some(CancelAction::Refund),
            _ => None,
        }
    }
}

pub(super) fn flag_is_yes(flag: Option<&str>) -> bool {
    flag == Some("Y")
}

/// Parses a money field (never negative on the API).
pub(super) fn amount(field: &'static str, text: &str) -> Result<Amount, WireError> {
    Amount::parse(text).map_err(|reason| WireError::BadAmount { field, text: text.to_owned(), reason })
}

/// Parses an optional money field; absent stays `None`.
pub(super) fn optional_amount(field: &'static str, text: Option<&str>) -> Result<Option<Amount>, WireError> {
    text.map(|t| amount(field, t)).transpose()
}

/// Parses a money field the caller needs.
pub(super) fn required_amount(field: &'static str, text: Option<&str>) -> Result<Amount, WireError> {
    amount(field, text.ok_or(WireError::MissingField { field })?)
}
