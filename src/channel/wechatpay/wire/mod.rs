//! WeChat Pay v2 on the wire: the flat `<xml>` codec, the exact fields of each endpoint, and signed exchanges.
//!
//! Messages are flat maps of field name to text ([`Params`]). Typed requests turn into such a map with
//! [`WireMessage::to_params`]; typed responses are read back from a map whose signature was checked by
//! [`parse_and_verify_response`]. Both directions exist for every type so the sandbox can reuse them.
//! Amounts on this wire are integer fen (`total_fee=888` is 8.88 yuan).

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::reader::Reader;
use rand::distr::{Alphanumeric, SampleString};

use super::bill::BillType;
use super::sign::{self, SIGN_FIELD, SIGN_TYPE_FIELD, SignError, SignType, sdk_trim};
use crate::money::Amount;

/// A flat WeChat Pay message: field name → text value, in the ASCII order the signature uses.
pub type Params = BTreeMap<String, String>;

/// The production gateway.
pub const GATEWAY: &str = "https://api.mch.weixin.qq.com";

/// Why a WeChat Pay message could not be read, trusted or built.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("the reply is empty: expected an <xml> document")]
    Empty,
    #[error("the reply is not well-formed XML (near byte {position}): {source}")]
    Xml {
        position: u64,
        #[source]
        source: quick_xml::Error,
    },
    #[error(
        "the reply contains a DOCTYPE declaration; refused: WeChat Pay never sends one, and it can smuggle in external \
         entities (XXE)"
    )]
    DocType,
    #[error(
        "the reply uses the entity &{0}; which is not a character reference or one of XML's five predefined \
         entities; refused (XXE protection)"
    )]
    Entity(String),
    #[error("the reply's root element is <{0}>: WeChat Pay messages are a single <xml> element")]
    Root(String),
    #[error("field <{field}> contains a nested element <{child}>: WeChat Pay v2 messages are flat")]
    Nested { field: String, child: String },
    #[error("field <{0}> appears twice in the message")]
    DuplicateField(String),
    #[error("unexpected text {0:?} outside any field")]
    StrayText(String),
    #[error("unexpected content after the closing </xml>")]
    TrailingContent,
    #[error("the document ends before </xml>: the reply was cut short")]
    Truncated,
    #[error("the reply cannot be trusted: {0}")]
    Sign(#[from] SignError),
    #[error("WeChat Pay refused the request (return_code=FAIL): {return_msg}")]
    ReturnFail { return_msg: String },
    #[error("the message lacks the field `{0}`")]
    MissingField(String),
    #[error("field `{field}` = {value:?} is not {expected}")]
    BadField { field: String, value: String, expected: String },
    #[error("cannot send: `{field}` = {value:?} {reason}")]
    InvalidRequest { field: &'static str, value: String, reason: &'static str },
    #[error(
        "the bill came back gzip-compressed (tar_type=GZIP); TillDesk reads plain-text bills, ask without tar_type"
    )]
    GzipBill,
    #[error("the bill is not UTF-8 text (byte {0}): WeChat Pay bills are UTF-8")]
    BillNotUtf8(usize),
}

mod codec;
mod codes;
mod download;
mod envelope;
mod fields;
mod payment;
mod refund;
pub use codec::*;
pub use codes::*;
pub use download::*;
pub use envelope::*;
use fields::*;
pub use payment::*;
pub use refund::*;

// ------------------------------------------------------------------------------------------------------------------
// Typed messages

/// A typed message that converts to and from the flat field map.
pub trait WireMessage: Sized {
    /// The fields of this message; absent optional fields are left out. Requests do not include `nonce_str`,
    /// `sign_type` or `sign` ([`signed_request`] adds them).
    fn to_params(&self) -> Params;
    /// Reads the message from (verified) fields; the error names the missing or malformed field.
    fn from_params(params: &Params) -> Result<Self, WireError>;
}

/// A request and where it is sent.
pub trait WireRequest: WireMessage {
    const ENDPOINT: Endpoint;
}

/// Who is calling: the merchant's ids, plus the sub-merchant's for service providers (服务商).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MerchantIds {
    pub appid: String,
    pub mch_id: String,
    pub sub_appid: Option<String>,
    pub sub_mch_id: Option<String>,
}

impl MerchantIds {
    fn write(&self, out: &mut Out) {
        out.put("appid", self.appid.as_str());
        out.put("mch_id", self.mch_id.as_str());
        out.opt("sub_appid", self.sub_appid.as_ref());
        out.opt("sub_mch_id", self.sub_mch_id.as_ref());
    }

    fn read(f: &Fields<'_>) -> Result<Self, WireError> {
        Ok(MerchantIds {
            appid: f.req("appid")?,
            mch_id: f.req("mch_id")?,
            sub_appid: f.opt("sub_appid"),
            sub_mch_id: f.opt("sub_mch_id"),
        })
    }
}

/// Which order a call is about. When both are known WeChat Pay prefers `transaction_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeRef {
    TransactionId(String),
    OutTradeNo(String),
}

impl TradeRef {
    fn write(&self, out: &mut Out) {
        match self {
            TradeRef::TransactionId(id) => out.put("transaction_id", id.as_str()),
            TradeRef::OutTradeNo(no) => out.put("out_trade_no", no.as_str()),
        }
    }

    fn read(f: &Fields<'_>) -> Result<Self, WireError> {
        if let Some(id) = f.opt("transaction_id") {
            Ok(TradeRef::TransactionId(id))
        } else if let Some(no) = f.opt("out_trade_no") {
            Ok(TradeRef::OutTradeNo(no))
        } else {
            Err(WireError::MissingField("transaction_id or out_trade_no".into()))
        }
    }
}

/// Which refund(s) refundquery is about, in WeChat Pay's order of precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRef {
    RefundId(String),
    OutRefundNo(String),
    TransactionId(String),
    OutTradeNo(String),
}

impl RefundRef {
    const FIELDS: [&'static str; 4] = ["refund_id", "out_refund_no", "transaction_id", "out_trade_no"];

    fn write(&self, out: &mut Out) {
        let (name, value) = match self {
            RefundRef::RefundId(v) => ("refund_id", v),
            RefundRef::OutRefundNo(v) => ("out_refund_no", v),
            RefundRef::TransactionId(v) => ("transaction_id", v),
            RefundRef::OutTradeNo(v) => ("out_trade_no", v),
        };
        out.put(name, value.as_str());
    }

    fn read(f: &Fields<'_>) -> Result<Self, WireError> {
        for (i, name) in RefundRef::FIELDS.into_iter().enumerate() {
            if let Some(v) = f.opt(name) {
                return Ok(match i {
                    0 => RefundRef::RefundId(v),
                    1 => RefundRef::OutRefundNo(v),
                    2 => RefundRef::TransactionId(v),
                    _ => RefundRef::OutTradeNo(v),
                });
            }
        }
        Err(WireError::MissingField(RefundRef::FIELDS.join(" or ")))
    }
}

/// The part every reply shares once `return_code=SUCCESS`: who answered and the business-level outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyHead {
    /// Usually "OK".
    pub return_msg: Option<String>,
    pub merchant: MerchantIds,
    pub nonce_str: String,
    pub result_code: ResultCode,
    /// Set when `result_code=FAIL`; see [`err_code`].
    pub err_code: Option<String>,
    pub err_code_des: Option<String>,
}

impl ReplyHead {
    /// A successful head (sandbox side); `nonce_str` is left empty for [`signed_response`] to fill.
    pub fn success(merchant: &MerchantIds) -> Self {
        ReplyHead {
            return_msg: Some("OK".into()),
            merchant: merchant.clone(),
            nonce_str: String::new(),
            result_code: ResultCode::Success,
            err_code: None,
            err_code_des: None,
        }
    }

    /// A business failure head (sandbox side).
    pub fn failure(merchant: &MerchantIds, err_code: &str, err_code_des: &str) -> Self {
        ReplyHead {
            result_code: ResultCode::Fail,
            err_code: Some(err_code.to_owned()),
            err_code_des: Some(err_code_des.to_owned()),
            ..ReplyHead::success(merchant)
        }
    }

    pub fn is_success(&self) -> bool {
        self.result_code == ResultCode::Success
    }

    fn write(&self, out: &mut Out) {
        out.put("return_code", "SUCCESS");
        out.opt("return_msg", self.return_msg.as_ref());
        self.merchant.write(out);
        if !self.nonce_str.is_empty() {
            out.put("nonce_str", self.nonce_str.as_str());
        }
        out.put("result_code", self.result_code.as_str());
        out.opt("err_code", self.err_code.as_ref());
        out.opt("err_code_des", self.err_code_des.as_ref());
    }

    /// Reads the head; a `return_code=FAIL` message is [`WireError::ReturnFail`].
    fn read(f: &Fields<'_>) -> Result<Self, WireError> {
        let return_code = f.req("return_code")?;
        match return_code.as_str() {
            "SUCCESS" => {}
            "FAIL" => return Err(WireError::ReturnFail { return_msg: f.opt("return_msg").unwrap_or_default() }),
            _ => {
                return Err(WireError::BadField {
                    field: "return_code".into(),
                    value: return_code,
                    expected: "SUCCESS or FAIL".into(),
                });
            }
        }
        Ok(ReplyHead {
            return_msg: f.opt("return_msg"),
            merchant: MerchantIds::read(f)?,
            nonce_str: f.req("nonce_str")?,
            result_code: f.parse_req("result_code", ResultCode::parse, ResultCode::expected)?,
            err_code: f.opt("err_code"),
            err_code_des: f.opt("err_code_des"),
        })
    }
}

/// NATIVE (dynamic codes): `/pay/unifiedorder` and `/pay/closeorder`.
mod native;
pub use native::{CloseOrderRequest, CloseOrderResponse, TRADE_TYPE_NATIVE, UnifiedOrderRequest, UnifiedOrderResponse};

#[cfg(test)]
mod tests;
