//! The endpoints, the business error codes (`err_code`) and the states WeChat Pay reports.

/// The v2 endpoints TillDesk calls, relative to [`GATEWAY`](super::GATEWAY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Micropay,
    OrderQuery,
    Reverse,
    Refund,
    RefundQuery,
    DownloadBill,
    /// NATIVE: a code the customer scans (主扫).
    UnifiedOrder,
    CloseOrder,
}

impl Endpoint {
    pub const ALL: [Endpoint; 8] = [
        Endpoint::Micropay,
        Endpoint::OrderQuery,
        Endpoint::Reverse,
        Endpoint::Refund,
        Endpoint::RefundQuery,
        Endpoint::DownloadBill,
        Endpoint::UnifiedOrder,
        Endpoint::CloseOrder,
    ];

    /// The URL path ("/pay/micropay").
    pub const fn path(self) -> &'static str {
        match self {
            Endpoint::Micropay => "/pay/micropay",
            Endpoint::OrderQuery => "/pay/orderquery",
            Endpoint::Reverse => "/secapi/pay/reverse",
            Endpoint::Refund => "/secapi/pay/refund",
            Endpoint::RefundQuery => "/pay/refundquery",
            Endpoint::DownloadBill => "/pay/downloadbill",
            Endpoint::UnifiedOrder => "/pay/unifiedorder",
            Endpoint::CloseOrder => "/pay/closeorder",
        }
    }

    /// Whether the call needs the merchant's API client certificate (mutual TLS): the `secapi/*` ones.
    pub const fn needs_client_cert(self) -> bool {
        matches!(self, Endpoint::Reverse | Endpoint::Refund)
    }

    /// The endpoint served at `path` (sandbox routing).
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.path() == path)
    }
}

/// Business-level error codes (`err_code`) of the calls TillDesk makes.
pub mod err_code {
    /// Result unknown: query at once (micropay, orderquery, reverse, refund, refundquery).
    pub const SYSTEMERROR: &str = "SYSTEMERROR";
    /// Result unknown: bank system error, query at once (micropay).
    pub const BANKERROR: &str = "BANKERROR";
    /// Result unknown: the customer is entering the password; wait, then query (micropay).
    pub const USERPAYING: &str = "USERPAYING";
    /// The payment code expired; the customer refreshes it in WeChat.
    pub const AUTHCODEEXPIRE: &str = "AUTHCODEEXPIRE";
    /// Not enough balance (micropay: the customer's; refund: the merchant's).
    pub const NOTENOUGH: &str = "NOTENOUGH";
    pub const NOTSUPORTCARD: &str = "NOTSUPORTCARD";
    /// The code scanned is not a WeChat payment code.
    pub const AUTH_CODE_INVALID: &str = "AUTH_CODE_INVALID";
    /// Payment code malformed or already used (each code is single-use).
    pub const AUTH_CODE_ERROR: &str = "AUTH_CODE_ERROR";
    /// The out_trade_no was already paid.
    pub const ORDERPAID: &str = "ORDERPAID";
    pub const ORDERNOTEXIST: &str = "ORDERNOTEXIST";
    pub const ORDERREVERSED: &str = "ORDERREVERSED";
    pub const ORDERCLOSED: &str = "ORDERCLOSED";
    /// Reverse is only possible within 7 days.
    pub const REVERSE_EXPIRE: &str = "REVERSE_EXPIRE";
    pub const REFUNDNOTEXIST: &str = "REFUNDNOTEXIST";
    /// Refund not processed yet: retry with the same out_refund_no.
    pub const BIZERR_NEED_RETRY: &str = "BIZERR_NEED_RETRY";
    pub const TRADE_OVERDUE: &str = "TRADE_OVERDUE";
    pub const ERROR: &str = "ERROR";
    pub const USER_ACCOUNT_ABNORMAL: &str = "USER_ACCOUNT_ABNORMAL";
    pub const INVALID_REQ_TOO_MUCH: &str = "INVALID_REQ_TOO_MUCH";
    pub const INVALID_TRANSACTIONID: &str = "INVALID_TRANSACTIONID";
    pub const FREQUENCY_LIMITED: &str = "FREQUENCY_LIMITED";
    pub const PARAM_ERROR: &str = "PARAM_ERROR";
    pub const NOAUTH: &str = "NOAUTH";
    pub const BUYER_MISMATCH: &str = "BUYER_MISMATCH";
    pub const OUT_TRADE_NO_USED: &str = "OUT_TRADE_NO_USED";
    pub const APPID_NOT_EXIST: &str = "APPID_NOT_EXIST";
    pub const MCHID_NOT_EXIST: &str = "MCHID_NOT_EXIST";
    pub const APPID_MCHID_NOT_MATCH: &str = "APPID_MCHID_NOT_MATCH";
    pub const LACK_PARAMS: &str = "LACK_PARAMS";
    pub const SIGNERROR: &str = "SIGNERROR";
    pub const XML_FORMAT_ERROR: &str = "XML_FORMAT_ERROR";
    pub const REQUIRE_POST_METHOD: &str = "REQUIRE_POST_METHOD";
    pub const POST_DATA_EMPTY: &str = "POST_DATA_EMPTY";
    pub const NOT_UTF8: &str = "NOT_UTF8";
    pub const INVALID_REQUEST: &str = "INVALID_REQUEST";
    pub const TRADE_ERROR: &str = "TRADE_ERROR";

    /// For micropay: the payment may still succeed, so query (then reverse) instead of failing the sale.
    pub fn micropay_outcome_unknown(code: &str) -> bool {
        matches!(code, SYSTEMERROR | BANKERROR | USERPAYING)
    }
}

wire_enum! {
    /// Business-level outcome (`result_code`).
    ResultCode { Success => "SUCCESS", Fail => "FAIL" }
}

wire_enum! {
    /// `trade_state` as orderquery reports it.
    TradeState {
        /// Paid.
        Success => "SUCCESS",
        /// Paid, then (partly) refunded.
        Refund => "REFUND",
        NotPay => "NOTPAY",
        Closed => "CLOSED",
        /// A 付款码 payment reversed (撤销).
        Revoked => "REVOKED",
        /// The customer is entering the password.
        UserPaying => "USERPAYING",
        PayError => "PAYERROR",
        Accept => "ACCEPT",
    }
}

wire_enum! {
    /// `refund_status_$n` as refundquery reports it.
    RefundStatus {
        Success => "SUCCESS",
        RefundClose => "REFUNDCLOSE",
        Processing => "PROCESSING",
        /// The refund could not reach the customer's account; handled offline.
        Change => "CHANGE",
    }
}

/// The payment code (付款码) WeChat shows: 18 digits beginning 10–15.
pub fn is_wechat_auth_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 18 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && (b'0'..=b'5').contains(&b[1])
}
