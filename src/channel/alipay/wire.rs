//! The exact request and response shapes of the Alipay OpenAPI methods TillDesk uses, with Alipay's own field
//! names. Money travels as decimal strings ("88.88"); the `*_amount()`-style helpers turn them into [`Amount`] at
//! this edge and name the field when the text is not an amount. Absent optional fields are not serialized.

use std::collections::BTreeMap;

use super::sign::{PrivateKey, PublicKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::sign::{self, SignError};
use crate::money::{Amount, AmountError};

/// Public result codes (公共错误码) and their `msg` texts as the gateway returns them.
pub mod code {
    /// 接口调用成功.
    pub const SUCCESS: &str = "10000";
    pub const SUCCESS_MSG: &str = "Success";
    /// trade.pay only: the buyer must confirm (enter a password); poll with trade.query.
    pub const PAY_IN_PROGRESS: &str = "10003";
    /// The real gateway's text, leading space included.
    pub const PAY_IN_PROGRESS_MSG: &str = " order success pay inprocess";
    /// Service unavailable: the outcome is unknown, query.
    pub const UNKNOWN_ERROR: &str = "20000";
    pub const UNKNOWN_ERROR_MSG: &str = "Service Currently Unavailable";
    pub const INSUFFICIENT_TOKEN_PERMISSIONS: &str = "20001";
    pub const INSUFFICIENT_TOKEN_PERMISSIONS_MSG: &str = "Insufficient Token Permissions";
    pub const MISSING_ARGUMENTS: &str = "40001";
    pub const MISSING_ARGUMENTS_MSG: &str = "Missing Required Arguments";
    pub const INVALID_ARGUMENTS: &str = "40002";
    pub const INVALID_ARGUMENTS_MSG: &str = "Invalid Arguments";
    /// Business failure; `sub_code` says which (`ACQ.*`).
    pub const BUSINESS_FAILED: &str = "40004";
    pub const BUSINESS_FAILED_MSG: &str = "Business Failed";
    pub const INSUFFICIENT_PERMISSIONS: &str = "40006";
    pub const INSUFFICIENT_PERMISSIONS_MSG: &str = "Insufficient Permissions";
}

/// `sub_code` values TillDesk acts on.
pub mod sub_code {
    // Gateway level (40001 / 40002 / 20000).
    pub const ISP_UNKNOWN_ERROR: &str = "isp.unknow-error";
    pub const AOP_UNKNOWN_ERROR: &str = "aop.unknow-error";
    pub const MISSING_METHOD: &str = "isv.missing-method";
    pub const MISSING_SIGNATURE: &str = "isv.missing-signature";
    pub const MISSING_SIGNATURE_TYPE: &str = "isv.missing-signature-type";
    pub const MISSING_APP_ID: &str = "isv.missing-app-id";
    pub const MISSING_TIMESTAMP: &str = "isv.missing-timestamp";
    pub const MISSING_VERSION: &str = "isv.missing-version";
    pub const INVALID_SIGNATURE: &str = "isv.invalid-signature";
    pub const INVALID_APP_ID: &str = "isv.invalid-app-id";
    pub const INVALID_TIMESTAMP: &str = "isv.invalid-timestamp";
    pub const INVALID_METHOD: &str = "isv.invalid-method";
    pub const INSUFFICIENT_ISV_PERMISSIONS: &str = "isv.insufficient-isv-permissions";
    /// bill.downloadurl.query: no bill for that day (observed value; the spec's enum says BILL_NOT_EXIST).
    pub const BILL_NOT_EXIST: &str = "isp.bill_not_exist";

    // Business (40004).
    pub const SYSTEM_ERROR: &str = "ACQ.SYSTEM_ERROR";
    pub const INVALID_PARAMETER: &str = "ACQ.INVALID_PARAMETER";
    pub const ACCESS_FORBIDDEN: &str = "ACQ.ACCESS_FORBIDDEN";
    pub const EXIST_FORBIDDEN_WORD: &str = "ACQ.EXIST_FORBIDDEN_WORD";
    pub const TOTAL_FEE_EXCEED: &str = "ACQ.TOTAL_FEE_EXCEED";
    pub const PAYMENT_AUTH_CODE_INVALID: &str = "ACQ.PAYMENT_AUTH_CODE_INVALID";
    pub const CONTEXT_INCONSISTENT: &str = "ACQ.CONTEXT_INCONSISTENT";
    pub const TRADE_HAS_SUCCESS: &str = "ACQ.TRADE_HAS_SUCCESS";
    pub const TRADE_HAS_CLOSE: &str = "ACQ.TRADE_HAS_CLOSE";
    pub const BUYER_BALANCE_NOT_ENOUGH: &str = "ACQ.BUYER_BALANCE_NOT_ENOUGH";
    pub const BUYER_BANKCARD_BALANCE_NOT_ENOUGH: &str = "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH";
    pub const BUYER_SELLER_EQUAL: &str = "ACQ.BUYER_SELLER_EQUAL";
    pub const TRADE_BUYER_NOT_MATCH: &str = "ACQ.TRADE_BUYER_NOT_MATCH";
    pub const PAYMENT_FAIL: &str = "ACQ.PAYMENT_FAIL";
    pub const PAYMENT_REQUEST_HAS_RISK: &str = "ACQ.PAYMENT_REQUEST_HAS_RISK";
    pub const INVALID_STORE_ID: &str = "ACQ.INVALID_STORE_ID";
    pub const TRADE_NOT_EXIST: &str = "ACQ.TRADE_NOT_EXIST";
    pub const TRADE_STATUS_ERROR: &str = "ACQ.TRADE_STATUS_ERROR";
    pub const TRADE_HAS_FINISHED: &str = "ACQ.TRADE_HAS_FINISHED";
    pub const SELLER_BALANCE_NOT_ENOUGH: &str = "ACQ.SELLER_BALANCE_NOT_ENOUGH";
    pub const REASON_TRADE_BEEN_FREEZEN: &str = "ACQ.REASON_TRADE_BEEN_FREEZEN";
    pub const CANCEL_NOT_ALLOWED: &str = "ACQ.CANCEL_NOT_ALLOWED";
    pub const TRADE_CANCEL_TIME_OUT: &str = "ACQ.TRADE_CANCEL_TIME_OUT";
    pub const REASON_TRADE_REFUND_FEE_ERR: &str = "ACQ.REASON_TRADE_REFUND_FEE_ERR";
    pub const REFUND_AMT_NOT_EQUAL_TOTAL: &str = "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL";
    pub const DISCORDANT_REPEAT_REQUEST: &str = "ACQ.DISCORDANT_REPEAT_REQUEST";
    pub const TRADE_NOT_ALLOW_REFUND: &str = "ACQ.TRADE_NOT_ALLOW_REFUND";
}

/// Why a wire value could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the Alipay field {field} holds {text:?}, which is not an amount like 88.88")]
    BadAmount {
        field: &'static str,
        text: String,
        #[source]
        reason: AmountError,
    },
    #[error("the Alipay response has no {field}")]
    MissingField { field: &'static str },
    #[error("the Alipay {what} is not the JSON expected: {detail}")]
    Json { what: &'static str, detail: String },
}

/// Parses a money field (never negative on the API).
fn amount(field: &'static str, text: &str) -> Result<Amount, WireError> {
    Amount::parse(text).map_err(|reason| WireError::BadAmount { field, text: text.to_owned(), reason })
}

/// Parses an optional money field; absent stays `None`.
fn optional_amount(field: &'static str, text: Option<&str>) -> Result<Option<Amount>, WireError> {
    text.map(|t| amount(field, t)).transpose()
}

/// Parses a money field the caller needs.
fn required_amount(field: &'static str, text: Option<&str>) -> Result<Amount, WireError> {
    amount(field, text.ok_or(WireError::MissingField { field })?)
}

/// The OpenAPI methods TillDesk calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    TradePay,
    TradeQuery,
    TradeCancel,
    TradeClose,
    TradeRefund,
    TradeFastpayRefundQuery,
    BillDownloadUrlQuery,
    TradePrecreate,
}

impl Method {
    pub const ALL: [Method; 8] = [
        Method::TradePay,
        Method::TradeQuery,
        Method::TradeCancel,
        Method::TradeClose,
        Method::TradeRefund,
        Method::TradeFastpayRefundQuery,
        Method::BillDownloadUrlQuery,
        Method::TradePrecreate,
    ];

    /// The `method` parameter: `alipay.trade.pay`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::TradePay => "alipay.trade.pay",
            Method::TradeQuery => "alipay.trade.query",
            Method::TradeCancel => "alipay.trade.cancel",
            Method::TradeClose => "alipay.trade.close",
            Method::TradeRefund => "alipay.trade.refund",
            Method::TradeFastpayRefundQuery => "alipay.trade.fastpay.refund.query",
            Method::BillDownloadUrlQuery => "alipay.data.dataservice.bill.downloadurl.query",
            Method::TradePrecreate => "alipay.trade.precreate",
        }
    }

    /// The response node: `alipay_trade_pay_response`.
    pub fn response_node(self) -> &'static str {
        match self {
            Method::TradePay => "alipay_trade_pay_response",
            Method::TradeQuery => "alipay_trade_query_response",
            Method::TradeCancel => "alipay_trade_cancel_response",
            Method::TradeClose => "alipay_trade_close_response",
            Method::TradeRefund => "alipay_trade_refund_response",
            Method::TradeFastpayRefundQuery => "alipay_trade_fastpay_refund_query_response",
            Method::BillDownloadUrlQuery => "alipay_data_dataservice_bill_downloadurl_query_response",
            Method::TradePrecreate => "alipay_trade_precreate_response",
        }
    }

    /// The method named by a request's `method` parameter, if TillDesk knows it.
    pub fn parse(text: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Common response part

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

fn flag_is_yes(flag: Option<&str>) -> bool {
    flag == Some("Y")
}

// ---------------------------------------------------------------------------------------------------------------
// alipay.trade.pay

/// `scene` for the till scanning the buyer's payment code.
pub const SCENE_BAR_CODE: &str = "bar_code";
/// `product_code` of 当面付.
pub const PRODUCT_FACE_TO_FACE: &str = "FACE_TO_FACE_PAYMENT";

/// biz_content of alipay.trade.pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradePayRequest {
    pub out_trade_no: String,
    pub scene: String,
    pub auth_code: String,
    pub subject: String,
    pub total_amount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    /// e.g. "2m": how long the buyer has to confirm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_express: Option<String>,
}

impl TradePayRequest {
    /// A barcode payment (scene `bar_code`); the optional fields start empty.
    pub fn bar_code(out_trade_no: &str, auth_code: &str, subject: &str, total: Amount) -> Self {
        TradePayRequest {
            out_trade_no: out_trade_no.into(),
            scene: SCENE_BAR_CODE.into(),
            auth_code: auth_code.into(),
            subject: subject.into(),
            total_amount: total.format(),
            product_code: None,
            seller_id: None,
            body: None,
            operator_id: None,
            store_id: None,
            terminal_id: None,
            timeout_express: None,
        }
    }

    pub fn total_amount(&self) -> Result<Amount, WireError> {
        amount("total_amount", &self.total_amount)
    }
}

/// The alipay_trade_pay_response node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradePayResponse {
    #[serde(flatten)]
    pub common: CommonResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// Masked, e.g. "159****5620".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_logon_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_user_id: Option<String>,
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
    /// "yyyy-MM-dd HH:mm:ss", China time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmt_payment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_bill_list: Option<Vec<FundBill>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_name: Option<String>,
}

impl TradePayResponse {
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

// ---------------------------------------------------------------------------------------------------------------
// alipay.trade.query / cancel / close: a trade named by out_trade_no or trade_no

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

// ---------------------------------------------------------------------------------------------------------------
// Refunds

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

// ---------------------------------------------------------------------------------------------------------------
// Bills and store codes

/// `bill_type` of the trade bill (业务账单); `signcustomer` is the account bill (账务账单).
pub const BILL_TYPE_TRADE: &str = "trade";
pub const BILL_TYPE_SIGNCUSTOMER: &str = "signcustomer";

/// biz_content of alipay.data.dataservice.bill.downloadurl.query. `bill_date` is `yyyy-MM-dd` (daily) or
/// `yyyy-MM` (monthly), past dates only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillDownloadUrlQueryRequest {
    pub bill_type: String,
    pub bill_date: String,
}

impl BillDownloadUrlQueryRequest {
    /// The daily trade bill of `date`.
    pub fn daily_trade(date: time::Date) -> Self {
        Self::daily(date, BILL_TYPE_TRADE)
    }

    /// The daily bill of `date` of a type: `trade` (业务账单) or `signcustomer` (账务账单).
    pub fn daily(date: time::Date, bill_type: &str) -> Self {
        BillDownloadUrlQueryRequest {
            bill_type: bill_type.into(),
            bill_date: format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day()),
        }
    }
}

/// The alipay_data_dataservice_bill_downloadurl_query_response node. The URL expires about 30 s after issue.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BillDownloadUrlQueryResponse {
    #[serde(flatten)]
    pub common: CommonResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_download_url: Option<String>,
}

/// biz_content of alipay.trade.precreate (the buyer scans a QR code the till shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradePrecreateRequest {
    pub out_trade_no: String,
    pub total_amount: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_express: Option<String>,
    /// How long the code itself may be scanned, from its creation: `1m`…`2h` for 当面付.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code_timeout_express: Option<String>,
}

impl TradePrecreateRequest {
    pub fn new(out_trade_no: &str, subject: &str, total: Amount) -> Self {
        TradePrecreateRequest {
            out_trade_no: out_trade_no.into(),
            total_amount: total.format(),
            subject: subject.into(),
            product_code: None,
            seller_id: None,
            body: None,
            operator_id: None,
            store_id: None,
            terminal_id: None,
            timeout_express: None,
            qr_code_timeout_express: None,
        }
    }

    pub fn total_amount(&self) -> Result<Amount, WireError> {
        amount("total_amount", &self.total_amount)
    }
}

/// The alipay_trade_precreate_response node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradePrecreateResponse {
    #[serde(flatten)]
    pub common: CommonResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// The code to show, e.g. "https://qr.alipay.com/bax…".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
}

// ---------------------------------------------------------------------------------------------------------------
// Requests: common parameters and signing

/// The common (system) parameters of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonParams {
    pub app_id: String,
    pub method: Method,
    /// "JSON", or `None` to leave the optional parameter out (python-alipay-sdk does).
    pub format: Option<String>,
    /// "utf-8": the request bytes are signed in this charset, and TillDesk only sends UTF-8.
    pub charset: String,
    /// "RSA2".
    pub sign_type: String,
    /// "yyyy-MM-dd HH:mm:ss", China time (GMT+8).
    pub timestamp: String,
    /// "1.0".
    pub version: String,
    pub notify_url: Option<String>,
    /// Set when a service provider (ISV) calls for a merchant.
    pub app_auth_token: Option<String>,
}

impl CommonParams {
    /// The usual values, stamped now.
    pub fn new(app_id: &str, method: Method) -> Self {
        CommonParams {
            app_id: app_id.into(),
            method,
            format: Some("JSON".into()),
            charset: "utf-8".into(),
            sign_type: "RSA2".into(),
            timestamp: timestamp_now_gmt8(),
            version: "1.0".into(),
            notify_url: None,
            app_auth_token: None,
        }
    }
}

/// Every request parameter, `sign` included, ready to be URL-encoded onto the wire.
pub fn signed_request_params(
    common: &CommonParams,
    biz_content_json: &str,
    key: &PrivateKey,
) -> Result<BTreeMap<String, String>, SignError> {
    if common.sign_type != "RSA2" {
        return Err(SignError::UnsupportedSignType(common.sign_type.clone()));
    }
    let mut params = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        params.insert(k.to_owned(), v.to_owned());
    };
    put("app_id", &common.app_id);
    put("method", common.method.as_str());
    if let Some(format) = &common.format {
        put("format", format);
    }
    put("charset", &common.charset);
    put("sign_type", &common.sign_type);
    put("timestamp", &common.timestamp);
    put("version", &common.version);
    if let Some(url) = &common.notify_url {
        put("notify_url", url);
    }
    if let Some(token) = &common.app_auth_token {
        put("app_auth_token", token);
    }
    put("biz_content", biz_content_json);
    let sign = sign::sign_rsa2(key, &sign::request_sign_content(&params))?;
    params.insert("sign".to_owned(), sign);
    Ok(params)
}

/// Checks a request's signature with the app public key (the sandbox side). `params` is the merge of the query
/// string and the form body, already URL-decoded.
pub fn verify_request_params(params: &BTreeMap<String, String>, app_public_key: &PublicKey) -> Result<(), SignError> {
    let sign = params.get("sign").filter(|s| !s.is_empty()).ok_or(SignError::MissingRequestSign)?;
    match params.get("sign_type").map(String::as_str) {
        Some("RSA2") => {}
        None | Some("") => return Err(SignError::MissingSignType),
        Some(other) => return Err(SignError::UnsupportedSignType(other.to_owned())),
    }
    sign::verify_rsa2(app_public_key, &sign::request_sign_content(params), sign)
}

/// Now in China time (GMT+8) as `yyyy-MM-dd HH:mm:ss`, the form of the `timestamp` parameter.
pub fn timestamp_now_gmt8() -> String {
    format_gmt8(time::OffsetDateTime::now_utc())
}

fn format_gmt8(at: time::OffsetDateTime) -> String {
    let t = at.to_offset(time::macros::offset!(+8));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::sync::OnceLock;

    const KEYS: &str = include_str!("../../../tests/vectors/test_keys.json");
    const VECTORS: &str = include_str!("../../../tests/vectors/alipay_rsa2.json");

    fn keys() -> Value {
        serde_json::from_str(KEYS).unwrap()
    }

    fn app_key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| sign::parse_private_key(keys()["app"]["pkcs8_pem"].as_str().unwrap()).unwrap())
    }

    fn app_public() -> PublicKey {
        sign::parse_public_key(keys()["app"]["spki_b64"].as_str().unwrap()).unwrap()
    }

    #[test]
    fn methods_name_their_nodes() {
        for m in Method::ALL {
            assert_eq!(m.response_node(), sign::response_node_name(m.as_str()));
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
        assert_eq!(Method::TradePay.as_str(), "alipay.trade.pay");
        assert_eq!(Method::TradePay.response_node(), "alipay_trade_pay_response");
        assert_eq!(Method::parse("alipay.trade.create"), None);
    }

    #[test]
    fn the_vector_biz_content_is_what_bar_code_writes() {
        let vectors: Value = serde_json::from_str(VECTORS).unwrap();
        let expected = vectors["request_params"]["biz_content"].as_str().unwrap();
        let request =
            TradePayRequest::bar_code("20150320010101001", "28763443825664394", "Iphone6 16G", Amount::from_fen(8888));
        assert_eq!(encode_biz_content(&request).unwrap(), expected);
        let back: TradePayRequest = decode_biz_content(expected).unwrap();
        assert_eq!(back, request);
        assert_eq!(back.total_amount().unwrap(), Amount::from_fen(8888));
    }

    #[test]
    fn the_vector_response_decodes() {
        let vectors: Value = serde_json::from_str(VECTORS).unwrap();
        let node: Value = serde_json::from_str(vectors["response_signed_content"].as_str().unwrap()).unwrap();
        let response: TradePayResponse = decode_node(node).unwrap();
        assert!(response.common.is_success());
        assert_eq!(response.trade_no.as_deref(), Some("2013112011001004330000121536"));
        assert_eq!(response.receipt_amount().unwrap(), Some(Amount::from_fen(8888)));
        assert_eq!(response.gmt_payment.as_deref(), Some("2014-11-27 15:45:57"));
        let fund = &response.fund_bill_list.as_ref().unwrap()[0];
        assert_eq!((fund.fund_channel.as_str(), fund.amount.as_str()), ("ALIPAYACCOUNT", "88.88"));
    }

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> Value {
        let json = serde_json::to_value(value).unwrap();
        let back: T = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(&back, value);
        json
    }

    #[test]
    fn shapes_round_trip_with_alipay_field_names() {
        let pay = TradePayRequest {
            store_id: Some("NJ_001".into()),
            terminal_id: Some("T1".into()),
            operator_id: Some("op1".into()),
            timeout_express: Some("2m".into()),
            ..TradePayRequest::bar_code("o1", "28763443825664394", "咖啡", Amount::from_fen(1))
        };
        let json = round_trip(&pay);
        assert_eq!(json["scene"], "bar_code");
        assert_eq!(json["total_amount"], "0.01");
        assert_eq!(json["store_id"], "NJ_001");
        assert!(json.get("product_code").is_none() && json.get("body").is_none());

        let paying = TradePayResponse {
            common: CommonResponse {
                code: code::PAY_IN_PROGRESS.into(),
                msg: code::PAY_IN_PROGRESS_MSG.into(),
                ..CommonResponse::default()
            },
            out_trade_no: Some("o1".into()),
            ..TradePayResponse::default()
        };
        let json = round_trip(&paying);
        assert_eq!(json, json!({"code": "10003", "msg": " order success pay inprocess", "out_trade_no": "o1"}));
        assert!(paying.common.is_pay_in_progress());

        let query = TradeQueryResponse {
            common: CommonResponse::success(),
            trade_status: Some("TRADE_SUCCESS".into()),
            total_amount: Some("12.30".into()),
            ..TradeQueryResponse::default()
        };
        round_trip(&query);
        assert_eq!(query.status(), Some(TradeStatus::TradeSuccess));
        assert!(query.status().unwrap().is_paid());
        assert_eq!(query.total_amount().unwrap(), Some(Amount::from_fen(1230)));
        round_trip(&TradeQueryRequest::by_out_trade_no("o1"));

        let cancel: TradeCancelResponse = decode_node(json!({
            "code": "10000", "msg": "Success", "out_trade_no": "o1", "trade_no": "t1",
            "retry_flag": "N", "action": "refund", "unknown_extra": 1
        }))
        .unwrap();
        assert!(!cancel.should_retry());
        assert_eq!(cancel.cancel_action(), Some(CancelAction::Refund));
        round_trip(&cancel);
        round_trip(&TradeCancelRequest { out_trade_no: Some("o1".into()), trade_no: None });
        round_trip(&TradeCloseRequest { trade_no: Some("t1".into()), ..TradeCloseRequest::default() });
        round_trip(&TradeCloseResponse { common: CommonResponse::success(), ..TradeCloseResponse::default() });

        let refund = TradeRefundRequest {
            refund_reason: Some("退货".into()),
            ..TradeRefundRequest::new("o1", "r1", Amount::from_fen(150))
        };
        let json = round_trip(&refund);
        assert_eq!(json["refund_amount"], "1.50");
        assert_eq!(json["out_request_no"], "r1");
        let refunded: TradeRefundResponse =
            decode_node(json!({"code": "10000", "msg": "Success", "fund_change": "Y", "refund_fee": "1.50"})).unwrap();
        assert!(refunded.fund_changed());
        assert_eq!(refunded.refund_fee().unwrap(), Amount::from_fen(150));
        round_trip(&refunded);

        let rq = RefundQueryRequest {
            out_trade_no: Some("o1".into()),
            out_request_no: "r1".into(),
            ..RefundQueryRequest::default()
        };
        round_trip(&rq);
        let rq_resp: RefundQueryResponse = decode_node(
            json!({"code": "10000", "msg": "Success", "refund_status": "REFUND_SUCCESS", "refund_amount": "1.50"}),
        )
        .unwrap();
        assert!(rq_resp.is_refunded());
        assert_eq!(rq_resp.refund_amount().unwrap(), Some(Amount::from_fen(150)));
        let not_yet: RefundQueryResponse = decode_node(json!({"code": "10000", "msg": "Success"})).unwrap();
        assert!(!not_yet.is_refunded());

        let bill = BillDownloadUrlQueryRequest::daily_trade(time::macros::date!(2019 - 09 - 16));
        assert_eq!(round_trip(&bill), json!({"bill_type": "trade", "bill_date": "2019-09-16"}));
        let no_bill = BillDownloadUrlQueryResponse {
            common: CommonResponse::business_failed(sub_code::BILL_NOT_EXIST, "账单不存在"),
            bill_download_url: None,
        };
        assert_eq!(round_trip(&no_bill)["sub_code"], "isp.bill_not_exist");

        let pre = TradePrecreateRequest::new("o2", "茶", Amount::from_fen(500));
        assert_eq!(round_trip(&pre)["total_amount"], "5.00");
        round_trip(&TradePrecreateResponse {
            common: CommonResponse::success(),
            out_trade_no: Some("o2".into()),
            qr_code: Some("https://qr.alipay.com/bax0".into()),
        });
    }

    #[test]
    fn bad_money_names_the_field() {
        let response: TradePayResponse =
            decode_node(json!({"code": "10000", "msg": "Success", "receipt_amount": "8.8.8"})).unwrap();
        let err = response.receipt_amount().unwrap_err();
        assert!(matches!(err, WireError::BadAmount { field: "receipt_amount", .. }));
        assert!(err.to_string().contains("receipt_amount") && err.to_string().contains("8.8.8"), "{err}");
        let refund: TradeRefundResponse = decode_node(json!({"code": "10000", "msg": "Success"})).unwrap();
        assert_eq!(refund.refund_fee(), Err(WireError::MissingField { field: "refund_fee" }));
        let request =
            TradePayRequest { total_amount: "-1".into(), ..TradePayRequest::bar_code("o", "a", "s", Amount::ZERO) };
        assert!(request.total_amount().is_err());
        assert!(decode_node::<TradePayResponse>(json!({"msg": "no code"})).is_err());
    }

    #[test]
    fn unknown_outcomes_are_recognised() {
        let unknown = CommonResponse::failure(
            code::UNKNOWN_ERROR,
            code::UNKNOWN_ERROR_MSG,
            sub_code::ISP_UNKNOWN_ERROR,
            "系统繁忙",
        );
        assert!(unknown.is_unknown_outcome());
        assert!(CommonResponse::business_failed(sub_code::SYSTEM_ERROR, "系统错误").is_unknown_outcome());
        assert!(
            !CommonResponse::business_failed(sub_code::PAYMENT_AUTH_CODE_INVALID, "支付授权码无效")
                .is_unknown_outcome()
        );
        assert!(!CommonResponse::success().is_unknown_outcome());
    }

    fn vector_common() -> CommonParams {
        CommonParams {
            timestamp: "2014-07-24 03:07:50".into(),
            notify_url: Some(String::new()),
            app_auth_token: Some(String::new()),
            ..CommonParams::new("2014072300007148", Method::TradePay)
        }
    }

    #[test]
    fn signed_requests_match_the_vector_and_verify() {
        let vectors: Value = serde_json::from_str(VECTORS).unwrap();
        let biz = vectors["request_params"]["biz_content"].as_str().unwrap();
        let params = signed_request_params(&vector_common(), biz, app_key()).unwrap();
        assert_eq!(params["sign"], vectors["sign_with_app_key"].as_str().unwrap());
        assert_eq!(params["format"], "JSON");
        verify_request_params(&params, &app_public()).unwrap();

        let mut changed = params.clone();
        changed.insert("biz_content".into(), biz.replace("88.88", "0.01"));
        assert!(matches!(verify_request_params(&changed, &app_public()), Err(SignError::SignatureMismatch)));

        let mut unsigned = params.clone();
        unsigned.remove("sign");
        assert!(matches!(verify_request_params(&unsigned, &app_public()), Err(SignError::MissingRequestSign)));

        let mut untyped = params.clone();
        untyped.remove("sign_type");
        assert!(matches!(verify_request_params(&untyped, &app_public()), Err(SignError::MissingSignType)));

        let mut rsa1 = params.clone();
        rsa1.insert("sign_type".into(), "RSA".into());
        assert!(matches!(verify_request_params(&rsa1, &app_public()), Err(SignError::UnsupportedSignType(_))));
    }

    #[test]
    fn requests_without_format_still_verify() {
        let common = CommonParams {
            format: None,
            notify_url: Some("https://example.invalid/n".into()),
            ..CommonParams::new("2021000000000001", Method::TradeQuery)
        };
        let biz = encode_biz_content(&TradeQueryRequest::by_out_trade_no("o1")).unwrap();
        let params = signed_request_params(&common, &biz, app_key()).unwrap();
        assert!(!params.contains_key("format"));
        assert_eq!(params["method"], "alipay.trade.query");
        assert_eq!(params["notify_url"], "https://example.invalid/n");
        verify_request_params(&params, &app_public()).unwrap();
    }

    #[test]
    fn timestamps_are_china_time() {
        let at = time::macros::datetime!(2014-07-23 19:07:50 UTC);
        assert_eq!(format_gmt8(at), "2014-07-24 03:07:50");
        let now = timestamp_now_gmt8();
        assert_eq!(now.len(), 19);
        assert!(
            time::PrimitiveDateTime::parse(
                &now,
                time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")
            )
            .is_ok()
        );
    }
}
