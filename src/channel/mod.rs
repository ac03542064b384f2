//! The acquirers' protocols, one folder each. Wire types stay inside `channel/`: the rest of TillDesk sees only the
//! small [`Channel`] trait and the plain result types below.

pub mod alipay;
pub mod auth_code;
pub mod backend;
pub mod cds;
pub mod client_error;
pub mod notice;
pub mod wechatpay;

use std::future::Future;
use std::pin::Pin;

use crate::model::AcquirerKind;
use crate::money::Amount;
pub use auth_code::AuthCode;

/// A boxed future, so `Channel` can be used as `dyn Channel`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A barcode payment: the cashier scanned the customer's payment code. `Debug` shows the code masked.
#[derive(Debug, Clone)]
pub struct PayRequest {
    pub out_trade_no: String,
    pub auth_code: AuthCode,
    pub amount: Amount,
    pub subject: String,
    pub store_id: Option<String>,
    pub terminal_id: Option<String>,
    pub operator_id: Option<String>,
}

/// What the acquirer said about a trade it knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TradeInfo {
    /// The acquirer's number (Alipay trade_no, WeChat transaction_id).
    pub trade_no: Option<String>,
    pub amount: Option<Amount>,
    /// The acquirer's payment time as it wrote it.
    pub paid_at: Option<String>,
    /// A masked buyer account, for the receipt.
    pub buyer: Option<String>,
    /// The currency the acquirer names (WeChat fee_type; None where the answer names none).
    pub currency: Option<String>,
    /// The (sub-)merchant the acquirer says took the payment, where the answer names it.
    pub merchant_id: Option<String>,
}

/// The outcome of a pay request, classified exactly as the acquirers document it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayResult {
    Paid(TradeInfo),
    /// The customer must confirm (Alipay 10003, WeChat USERPAYING): query until it settles.
    Waiting(TradeInfo),
    /// Nobody knows (20000, ACQ.SYSTEM_ERROR, SYSTEMERROR, BANKERROR, timeout, lost connection, a response that
    /// does not verify): query, then cancel/reverse.
    Unknown(String),
    /// A definite failure: nothing was charged; the cashier may try again with a new code.
    Failed(Failure),
}

/// A definite refusal, with the acquirer's code and a message for the cashier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryResult {
    Paid(TradeInfo),
    Waiting(TradeInfo),
    /// Closed, cancelled or reversed without payment standing (or fully refunded).
    Closed(TradeInfo),
    /// The acquirer has no such trade.
    NotFound,
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelResult {
    /// The acquirer confirmed: the trade is closed, or its money went back (`refunded`).
    Done {
        refunded: bool,
    },
    /// Ask again (Alipay retry_flag=Y, WeChat recall=Y).
    Retry(String),
    Failed(Failure),
    Unknown(String),
}

#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub out_trade_no: String,
    pub out_request_no: String,
    pub refund_amount: Amount,
    /// The order's total (WeChat needs it).
    pub total_amount: Amount,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundState {
    Success,
    /// Accepted, result later (WeChat PROCESSING): follow with `refund_query`.
    Processing,
    /// WeChat CHANGE (the money could not go back to the buyer) or REFUNDCLOSE.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundResult {
    Accepted { state: RefundState, refund_no: Option<String> },
    Failed(Failure),
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundQueryResult {
    Found(RefundState),
    NotFound,
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillResult {
    /// The bill file as the acquirer serves it (Alipay: zip bytes; WeChat: text bytes).
    Bill {
        file_name: String,
        bytes: Vec<u8>,
    },
    /// The acquirer has no bill for that day.
    NoBill,
    Failed(String),
}

/// A dynamic code (主扫): the till asks the acquirer for a code the customer scans (Alipay `alipay.trade.precreate`,
/// WeChat Pay `unifiedorder` with trade_type NATIVE).
#[derive(Debug, Clone)]
pub struct PrecreateRequest {
    pub out_trade_no: String,
    pub amount: Amount,
    pub subject: String,
    pub store_id: Option<String>,
    pub terminal_id: Option<String>,
    pub operator_id: Option<String>,
    /// When the code stops being payable (UTC); the channel writes it in the acquirer's own form.
    pub expires_at: time::OffsetDateTime,
    /// Now, by the checkout's clock (UTC): WeChat's `time_start`, Alipay's relative timeout.
    pub now: time::OffsetDateTime,
}

/// The outcome of a precreate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrecreateResult {
    /// The code to show, verbatim (Alipay `qr_code`, WeChat `code_url`).
    Created { code: String },
    /// This order number is paid already (a repeat after a lost answer).
    AlreadyPaid,
    /// A definite refusal: nothing can be paid under this order number.
    Failed(Failure),
    /// No trustworthy answer: ask again with the same order number, or close it.
    Unknown(String),
}

/// The outcome of closing a dynamic-code trade (Alipay `alipay.trade.close`, WeChat Pay `closeorder`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseResult {
    /// Closed, or never scanned and now unpayable: nothing was charged.
    Closed,
    /// The customer paid before the close: a sale.
    AlreadyPaid(TradeInfo),
    /// Ask again (a system error).
    Retry(String),
    Failed(Failure),
    Unknown(String),
}

fn not_offered(what: &str) -> Failure {
    Failure { code: "NOT_SUPPORTED".into(), message: format!("this acquirer offers no {what} (动态码)") }
}

/// All the rest of TillDesk sees of an acquirer.
pub trait Channel: Send + Sync {
    fn kind(&self) -> AcquirerKind;
    fn pay<'a>(&'a self, req: &'a PayRequest) -> BoxFuture<'a, PayResult>;
    /// Does the CPU work of `req` (signing) ahead, without sending anything, so the checkout can do it while its
    /// write-ahead row is being made durable; `pay` with the same request then sends what was prepared. Optional:
    /// a channel that prepares nothing simply does the work in `pay`.
    fn prepare_pay(&self, _req: &PayRequest) {}
    fn query<'a>(&'a self, out_trade_no: &'a str) -> BoxFuture<'a, QueryResult>;
    /// Alipay trade.cancel / WeChat reverse.
    fn cancel<'a>(&'a self, out_trade_no: &'a str) -> BoxFuture<'a, CancelResult>;
    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, RefundResult>;
    fn refund_query<'a>(&'a self, out_trade_no: &'a str, out_request_no: &'a str) -> BoxFuture<'a, RefundQueryResult>;
    /// The trade bill of a day (China time).
    fn bill<'a>(&'a self, bill_date: time::Date) -> BoxFuture<'a, BillResult>;
    /// The account bill of a day (Alipay's 账务明细, `bill_type=signcustomer`): the balance movements the settlement
    /// check compares with the trade bill. Acquirers without one answer `Failed`.
    fn account_bill<'a>(&'a self, _bill_date: time::Date) -> BoxFuture<'a, BillResult> {
        Box::pin(async { BillResult::Failed("this acquirer has no account bill (账务明细)".into()) })
    }
    /// Asks for a dynamic code the customer scans. Acquirers without one answer `Failed`.
    fn precreate<'a>(&'a self, _req: &'a PrecreateRequest) -> BoxFuture<'a, PrecreateResult> {
        Box::pin(async { PrecreateResult::Failed(not_offered("dynamic code")) })
    }
    /// Closes a dynamic-code trade so its code can no longer be paid.
    fn close<'a>(&'a self, _out_trade_no: &'a str) -> BoxFuture<'a, CloseResult> {
        Box::pin(async { CloseResult::Failed(not_offered("close for dynamic codes")) })
    }
    /// The same account acting for one of its sub-merchants (the store's merchant id at the acquirer: Alipay
    /// `sub_merchant.merchant_id`, WeChat Pay `sub_mch_id`). None when the channel has no such notion.
    fn for_merchant(&self, _merchant_id: &str) -> Option<std::sync::Arc<dyn Channel>> {
        None
    }
}
