//! Alipay's public result codes (`code`), the `sub_code`s TillDesk acts on, and the methods it calls.

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
