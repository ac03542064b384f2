//! Payment notifications in the domain's terms: what a verified notification says, and why one was refused. Each
//! protocol's `notify::verify` reads its own format (Alipay's form, WeChat Pay's XML) and checks the signature
//! before anything else; the listener (`sync::notify`) records what comes out.

use crate::money::Amount;

/// A notification whose signature held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// It reports no payment (Alipay WAIT_BUYER_PAY / TRADE_CLOSED, WeChat Pay a FAIL result): acknowledged, and
    /// the sync worker's queries settle such orders.
    NotPaid,
    Paid(PaidNotice),
}

/// A verified payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidNotice {
    pub out_trade_no: String,
    /// The acquirer's number (Alipay trade_no, WeChat Pay transaction_id).
    pub trade_no: String,
    pub amount: Amount,
    /// The acquirer's payment time, in UTC; None when it sent none or one that cannot be read.
    pub paid_at_utc: Option<String>,
    pub subject: Option<String>,
    /// The merchant it names: Alipay's seller_id (the seller's PID), WeChat Pay's sub_mch_id.
    pub merchant_id: Option<String>,
    pub currency: Option<String>,
    /// Whether `merchant_id` is the merchant the order was sent for (WeChat Pay's sub_mch_id), so it must match.
    pub compare_merchant: bool,
}

/// Why a notification was refused; `out_trade_no` (when it could be read) names it in the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct Refused {
    pub out_trade_no: Option<String>,
    pub kind: RefusedKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedKind {
    #[error("the body is not a notification {format}: {detail}")]
    NotReadable { format: &'static str, detail: String },
    #[error("the notification is for {field} {value:?}, not this till's")]
    NotOurs { field: &'static str, value: String },
    #[error("unsigned: the notification has no sign")]
    Unsigned,
    #[error("{0}")]
    SignType(String),
    #[error("the signature does not verify with the {key}: {detail}")]
    BadSignature { key: &'static str, detail: String },
    #[error("a paid notification without out_trade_no or {0}")]
    NoNumbers(&'static str),
    #[error("{field} {text:?} is not {expected}")]
    BadAmount { field: &'static str, text: Option<String>, expected: &'static str },
}

impl RefusedKind {
    pub(crate) fn at(self, out_trade_no: Option<&str>) -> Refused {
        Refused { out_trade_no: out_trade_no.map(str::to_owned), kind: self }
    }
}
