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

// ------------------------------------------------------------------------------------------------------------------
// XML codec

/// Writes `<xml>` with one element per field, keys in ASCII order and `sign` last. Digit-only values are written
/// bare, all others in CDATA (a `]]>` inside a value is split across two CDATA sections).
///
/// Keys must be XML names; they are the protocol's own field names (`[a-z_0-9]`), never user text.
pub fn to_xml(params: &Params) -> String {
    let mut out = String::with_capacity(16 + params.iter().map(|(k, v)| 2 * k.len() + v.len() + 17).sum::<usize>());
    out.push_str("<xml>");
    for (key, value) in params.iter().filter(|(k, _)| k.as_str() != SIGN_FIELD) {
        write_element(&mut out, key, value);
    }
    if let Some(sign) = params.get(SIGN_FIELD) {
        write_element(&mut out, SIGN_FIELD, sign);
    }
    out.push_str("</xml>");
    out
}

fn write_element(out: &mut String, key: &str, value: &str) {
    debug_assert!(is_xml_name(key), "field name {key:?} is not an XML name");
    out.push('<');
    out.push_str(key);
    out.push('>');
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        out.push_str(value);
    } else {
        out.push_str("<![CDATA[");
        out.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
        out.push_str("]]>");
    }
    out.push_str("</");
    out.push_str(key);
    out.push('>');
}

fn is_xml_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Where the parser is in the document.
enum Place {
    BeforeRoot,
    InRoot,
    InField { name: String, value: String },
    AfterRoot,
}

/// Reads a flat `<xml><field>value</field>…</xml>` document: CDATA and plain text both accepted, a leading BOM
/// tolerated. Refuses DOCTYPE and entities other than the five predefined ones and character references (XXE),
/// nested elements, repeated fields and any root other than `<xml>`. Values are kept as sent (not trimmed).
pub fn from_xml(text: &str) -> Result<Params, WireError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(WireError::Empty);
    }
    let mut reader = Reader::from_str(text);
    let mut fields = Params::new();
    let mut place = Place::BeforeRoot;
    loop {
        let event =
            reader.read_event().map_err(|source| WireError::Xml { position: reader.error_position(), source })?;
        match event {
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::DocType(_) => return Err(WireError::DocType),
            Event::Start(start) => {
                let name = start.name().as_ref().to_owned();
                place = match place {
                    Place::BeforeRoot if name == "xml" => Place::InRoot,
                    Place::BeforeRoot => return Err(WireError::Root(name)),
                    Place::InRoot => Place::InField { name, value: String::new() },
                    Place::InField { name: field, .. } => return Err(WireError::Nested { field, child: name }),
                    Place::AfterRoot => return Err(WireError::TrailingContent),
                };
            }
            Event::Empty(empty) => {
                let name = empty.name().as_ref().to_owned();
                place = match place {
                    Place::BeforeRoot if name == "xml" => Place::AfterRoot,
                    Place::BeforeRoot => return Err(WireError::Root(name)),
                    Place::InRoot => {
                        insert_field(&mut fields, name, String::new())?;
                        Place::InRoot
                    }
                    Place::InField { name: field, .. } => return Err(WireError::Nested { field, child: name }),
                    Place::AfterRoot => return Err(WireError::TrailingContent),
                };
            }
            Event::End(_) => {
                place = match place {
                    Place::InField { name, value } => {
                        insert_field(&mut fields, name, value)?;
                        Place::InRoot
                    }
                    Place::InRoot => Place::AfterRoot,
                    // quick-xml reports unmatched end tags itself; anything else is content out of place.
                    Place::BeforeRoot | Place::AfterRoot => return Err(WireError::TrailingContent),
                };
            }
            Event::Text(t) => match &mut place {
                Place::InField { value, .. } => value.push_str(&t.xml10_content()),
                _ if t.trim().is_empty() => {}
                Place::AfterRoot => return Err(WireError::TrailingContent),
                _ => return Err(WireError::StrayText(t.trim().to_owned())),
            },
            Event::CData(c) => match &mut place {
                Place::InField { value, .. } => value.push_str(&c.xml10_content()),
                Place::AfterRoot => return Err(WireError::TrailingContent),
                _ => return Err(WireError::StrayText(c.into_inner().into_owned())),
            },
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten().map(String::from)
                } else {
                    quick_xml::escape::resolve_xml_entity(&r).map(String::from)
                };
                let Some(resolved) = resolved else {
                    return Err(WireError::Entity(r.into_inner().into_owned()));
                };
                match &mut place {
                    Place::InField { value, .. } => value.push_str(&resolved),
                    Place::AfterRoot => return Err(WireError::TrailingContent),
                    _ => return Err(WireError::StrayText(resolved)),
                }
            }
            Event::Eof => break,
        }
    }
    match place {
        Place::AfterRoot => Ok(fields),
        Place::BeforeRoot => Err(WireError::Empty),
        Place::InRoot | Place::InField { .. } => Err(WireError::Truncated),
    }
}

fn insert_field(fields: &mut Params, name: String, value: String) -> Result<(), WireError> {
    if fields.contains_key(&name) {
        return Err(WireError::DuplicateField(name));
    }
    fields.insert(name, value);
    Ok(())
}

// ------------------------------------------------------------------------------------------------------------------
// Signed exchanges

/// A fresh `nonce_str`: 32 random characters from `[A-Za-z0-9]` (the protocol allows at most 32).
pub fn nonce_str() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// Values trimmed and blank ones dropped, so what is sent is exactly what is signed under every SDK's reading of
/// the rules (some trim, some do not); any old `sign` removed.
fn normalised(fields: Params) -> Params {
    fields
        .into_iter()
        .filter(|(k, _)| k != SIGN_FIELD)
        .filter_map(|(k, v)| {
            let trimmed = sdk_trim(&v);
            if trimmed.is_empty() {
                None
            } else if trimmed.len() == v.len() {
                Some((k, v))
            } else {
                Some((k, trimmed.to_owned()))
            }
        })
        .collect()
}

/// Completes request fields for sending: adds `nonce_str` (unless given), `sign_type=HMAC-SHA256` when that is the
/// algorithm (MD5 is the default and is sent without `sign_type`), then `sign`. Blank fields are dropped and values
/// trimmed first.
pub fn signed_request(fields: Params, api_key: &str, sign_type: SignType) -> Params {
    let mut params = normalised(fields);
    params.entry("nonce_str".to_owned()).or_insert_with(nonce_str);
    match sign_type {
        SignType::HmacSha256 => {
            params.insert(SIGN_TYPE_FIELD.to_owned(), sign_type.as_str().to_owned());
        }
        SignType::Md5 => {
            params.remove(SIGN_TYPE_FIELD);
        }
    }
    let signature = sign::sign(&params, api_key, sign_type);
    params.insert(SIGN_FIELD.to_owned(), signature);
    params
}

/// Completes response fields (sandbox side): adds `nonce_str` (unless given) and `sign`, with the algorithm of the
/// request. A `return_code=FAIL` reply is not signed by WeChat Pay; build it with [`fail_reply`] instead.
pub fn signed_response(fields: Params, api_key: &str, sign_type: SignType) -> Params {
    let mut params = normalised(fields);
    params.entry("nonce_str".to_owned()).or_insert_with(nonce_str);
    let signature = sign::sign(&params, api_key, sign_type);
    params.insert(SIGN_FIELD.to_owned(), signature);
    params
}

/// A communication-level failure reply (`return_code=FAIL`), which carries no signature.
pub fn fail_reply(return_msg: &str) -> Params {
    Params::from([("return_code".to_owned(), "FAIL".to_owned()), ("return_msg".to_owned(), return_msg.to_owned())])
}

/// Reads a reply and checks it: a `return_code=SUCCESS` reply must carry a valid signature made with `api_key`
/// and the request's `sign_type`, else it is refused; a `return_code=FAIL` reply (unsigned by design) becomes
/// [`WireError::ReturnFail`] so its unverified fields are never used.
pub fn parse_and_verify_response(xml: &str, api_key: &str, sign_type: SignType) -> Result<Params, WireError> {
    let params = from_xml(xml)?;
    match params.get("return_code").map(|c| sdk_trim(c)) {
        Some("SUCCESS") => {
            sign::verify(&params, api_key, sign_type)?;
            Ok(params)
        }
        Some("FAIL") => Err(WireError::ReturnFail {
            return_msg: params.get("return_msg").map(|m| sdk_trim(m).to_owned()).unwrap_or_default(),
        }),
        Some(other) => Err(WireError::BadField {
            field: "return_code".into(),
            value: other.to_owned(),
            expected: "SUCCESS or FAIL".into(),
        }),
        None => Err(WireError::MissingField("return_code".into())),
    }
}

/// Reads a request (sandbox side) and checks its signature with the algorithm it declares in `sign_type`.
/// Returns the fields and that algorithm, which the reply must use too.
pub fn parse_and_verify_request(xml: &str, api_key: &str) -> Result<(Params, SignType), WireError> {
    let params = from_xml(xml)?;
    let sign_type = SignType::of(&params)?;
    sign::verify(&params, api_key, sign_type)?;
    Ok((params, sign_type))
}

// ------------------------------------------------------------------------------------------------------------------
// Endpoints, codes and states

/// The v2 endpoints TillDesk calls, relative to [`GATEWAY`].
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

// ------------------------------------------------------------------------------------------------------------------
// Field helpers

/// Reads typed values out of a message, naming the field in every error.
struct Fields<'a>(&'a Params);

impl Fields<'_> {
    /// The trimmed value; blank counts as absent.
    fn opt(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| sdk_trim(v)).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    fn req(&self, name: &str) -> Result<String, WireError> {
        self.opt(name).ok_or_else(|| WireError::MissingField(name.to_owned()))
    }

    fn parse_opt<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: impl FnOnce() -> String,
    ) -> Result<Option<T>, WireError> {
        match self.opt(name) {
            None => Ok(None),
            Some(value) => match parse(&value) {
                Some(parsed) => Ok(Some(parsed)),
                None => Err(WireError::BadField { field: name.to_owned(), value, expected: expected() }),
            },
        }
    }

    fn parse_req<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: impl FnOnce() -> String,
    ) -> Result<T, WireError> {
        self.parse_opt(name, parse, expected)?.ok_or_else(|| WireError::MissingField(name.to_owned()))
    }

    fn fen_opt(&self, name: &str) -> Result<Option<Amount>, WireError> {
        self.parse_opt(name, parse_fen, || "an amount in fen (a whole number like 888 for 8.88)".into())
    }

    fn fen(&self, name: &str) -> Result<Amount, WireError> {
        self.fen_opt(name)?.ok_or_else(|| WireError::MissingField(name.to_owned()))
    }

    fn count_opt(&self, name: &str) -> Result<Option<u32>, WireError> {
        self.parse_opt(name, parse_count, || "a count (a whole number)".into())
    }

    fn time_opt(&self, name: &str) -> Result<Option<String>, WireError> {
        self.parse_opt(
            name,
            |v| (v.len() == 14 && v.bytes().all(|b| b.is_ascii_digit())).then(|| v.to_owned()),
            || "a time like 20141030133525 (yyyyMMddHHmmss)".into(),
        )
    }

    fn time(&self, name: &str) -> Result<String, WireError> {
        self.time_opt(name)?.ok_or_else(|| WireError::MissingField(name.to_owned()))
    }

    fn yes_no_opt(&self, name: &str) -> Result<Option<bool>, WireError> {
        self.parse_opt(
            name,
            |v| match v {
                "Y" => Some(true),
                "N" => Some(false),
                _ => None,
            },
            || "Y or N".into(),
        )
    }
}

fn parse_fen(text: &str) -> Option<Amount> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().map(Amount::from_fen)
}

fn parse_count(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Builds a message, dropping absent values.
#[derive(Default)]
struct Out(Params);

impl Out {
    fn put(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_owned(), value.into());
    }

    fn opt(&mut self, name: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.put(name, v.as_str());
        }
    }

    fn fen(&mut self, name: &str, value: Amount) {
        self.put(name, value.fen().to_string());
    }

    fn fen_opt(&mut self, name: &str, value: Option<Amount>) {
        if let Some(v) = value {
            self.fen(name, v);
        }
    }

    fn count_opt(&mut self, name: &str, value: Option<u32>) {
        if let Some(v) = value {
            self.put(name, v.to_string());
        }
    }
}

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
fn check_body(body: &str) -> Result<(), WireError> {
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

fn check_out_no(field: &'static str, value: &str, max: usize) -> Result<(), WireError> {
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

fn check_positive(field: &'static str, amount: Amount) -> Result<(), WireError> {
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
    fn write(&self, out: &mut Out) {
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

    fn read(f: &Fields<'_>) -> Result<Self, WireError> {
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

// --- /secapi/pay/refund

/// `/secapi/pay/refund` (needs the client certificate). The reply only acknowledges; query for the result.
/// Retries must reuse the same `out_refund_no`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub merchant: MerchantIds,
    pub trade: TradeRef,
    /// At most 64 of `[0-9A-Za-z_-|*@]`.
    pub out_refund_no: String,
    /// The order's total.
    pub total_fee: Amount,
    pub refund_fee: Amount,
    pub refund_fee_type: Option<String>,
    pub refund_desc: Option<String>,
    pub refund_account: Option<String>,
    pub notify_url: Option<String>,
}

impl RefundRequest {
    /// Checks what WeChat Pay would refuse anyway.
    pub fn validate(&self) -> Result<(), WireError> {
        check_out_no("out_refund_no", &self.out_refund_no, 64)?;
        check_positive("total_fee", self.total_fee)?;
        check_positive("refund_fee", self.refund_fee)?;
        if self.refund_fee > self.total_fee {
            return Err(WireError::InvalidRequest {
                field: "refund_fee",
                value: self.refund_fee.to_string(),
                reason: "is more than the order total",
            });
        }
        Ok(())
    }
}

impl WireMessage for RefundRequest {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.merchant.write(&mut out);
        self.trade.write(&mut out);
        out.put("out_refund_no", self.out_refund_no.as_str());
        out.fen("total_fee", self.total_fee);
        out.fen("refund_fee", self.refund_fee);
        out.opt("refund_fee_type", self.refund_fee_type.as_ref());
        out.opt("refund_desc", self.refund_desc.as_ref());
        out.opt("refund_account", self.refund_account.as_ref());
        out.opt("notify_url", self.notify_url.as_ref());
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(RefundRequest {
            merchant: MerchantIds::read(&f)?,
            trade: TradeRef::read(&f)?,
            out_refund_no: f.req("out_refund_no")?,
            total_fee: f.fen("total_fee")?,
            refund_fee: f.fen("refund_fee")?,
            refund_fee_type: f.opt("refund_fee_type"),
            refund_desc: f.opt("refund_desc"),
            refund_account: f.opt("refund_account"),
            notify_url: f.opt("notify_url"),
        })
    }
}

impl WireRequest for RefundRequest {
    const ENDPOINT: Endpoint = Endpoint::Refund;
}

/// A refund WeChat Pay accepted (`result_code=SUCCESS`); its outcome comes later through refundquery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAccepted {
    pub transaction_id: String,
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_fee: Amount,
    pub settlement_refund_fee: Option<Amount>,
    pub total_fee: Amount,
    pub settlement_total_fee: Option<Amount>,
    pub fee_type: Option<String>,
    pub cash_fee: Option<Amount>,
    pub cash_refund_fee: Option<Amount>,
    pub coupon_refund_fee: Option<Amount>,
    pub coupon_refund_count: Option<u32>,
}

/// The refund reply; `accepted` is present exactly when `result_code=SUCCESS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundResponse {
    pub head: ReplyHead,
    pub accepted: Option<RefundAccepted>,
}

impl WireMessage for RefundResponse {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.head.write(&mut out);
        if let Some(a) = &self.accepted {
            out.put("transaction_id", a.transaction_id.as_str());
            out.put("out_trade_no", a.out_trade_no.as_str());
            out.put("out_refund_no", a.out_refund_no.as_str());
            out.put("refund_id", a.refund_id.as_str());
            out.fen("refund_fee", a.refund_fee);
            out.fen_opt("settlement_refund_fee", a.settlement_refund_fee);
            out.fen("total_fee", a.total_fee);
            out.fen_opt("settlement_total_fee", a.settlement_total_fee);
            out.opt("fee_type", a.fee_type.as_ref());
            out.fen_opt("cash_fee", a.cash_fee);
            out.fen_opt("cash_refund_fee", a.cash_refund_fee);
            out.fen_opt("coupon_refund_fee", a.coupon_refund_fee);
            out.count_opt("coupon_refund_count", a.coupon_refund_count);
        }
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        let head = ReplyHead::read(&f)?;
        let accepted = if head.is_success() {
            Some(RefundAccepted {
                transaction_id: f.req("transaction_id")?,
                out_trade_no: f.req("out_trade_no")?,
                out_refund_no: f.req("out_refund_no")?,
                refund_id: f.req("refund_id")?,
                refund_fee: f.fen("refund_fee")?,
                settlement_refund_fee: f.fen_opt("settlement_refund_fee")?,
                total_fee: f.fen("total_fee")?,
                settlement_total_fee: f.fen_opt("settlement_total_fee")?,
                fee_type: f.opt("fee_type"),
                cash_fee: f.fen_opt("cash_fee")?,
                cash_refund_fee: f.fen_opt("cash_refund_fee")?,
                coupon_refund_fee: f.fen_opt("coupon_refund_fee")?,
                coupon_refund_count: f.count_opt("coupon_refund_count")?,
            })
        } else {
            None
        };
        Ok(RefundResponse { head, accepted })
    }
}

// --- /pay/refundquery

/// `/pay/refundquery`. `offset` pages through orders with more than 10 refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQueryRequest {
    pub merchant: MerchantIds,
    pub target: RefundRef,
    pub offset: Option<u32>,
}

impl WireMessage for RefundQueryRequest {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.merchant.write(&mut out);
        self.target.write(&mut out);
        out.count_opt("offset", self.offset);
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(RefundQueryRequest {
            merchant: MerchantIds::read(&f)?,
            target: RefundRef::read(&f)?,
            offset: f.count_opt("offset")?,
        })
    }
}

impl WireRequest for RefundQueryRequest {
    const ENDPOINT: Endpoint = Endpoint::RefundQuery;
}

/// One refund of a refundquery reply: the fields suffixed `_$n` (0-based) on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_channel: Option<String>,
    pub refund_fee: Amount,
    pub settlement_refund_fee: Option<Amount>,
    pub coupon_refund_fee: Option<Amount>,
    pub refund_status: RefundStatus,
    pub refund_account: Option<String>,
    /// Where the money went back to (the protocol's spelling, "accout").
    pub refund_recv_accout: Option<String>,
    /// "yyyy-MM-dd HH:mm:ss" as sent.
    pub refund_success_time: Option<String>,
}

/// What refundquery found (`result_code=SUCCESS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQueryResult {
    pub transaction_id: String,
    pub out_trade_no: String,
    pub total_fee: Amount,
    pub settlement_total_fee: Option<Amount>,
    pub fee_type: Option<String>,
    pub cash_fee: Option<Amount>,
    /// All refunds of the order, when it has more than this page holds.
    pub total_refund_count: Option<u32>,
    /// `refund_count` on the wire: the records in this reply, `refunds[n]` from the `_$n` fields.
    pub refunds: Vec<RefundRecord>,
}

/// The refundquery reply; `result` is present exactly when `result_code=SUCCESS` (REFUNDNOTEXIST is a FAIL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQueryResponse {
    pub head: ReplyHead,
    pub result: Option<RefundQueryResult>,
}

impl RefundRecord {
    fn write(&self, n: usize, out: &mut Out) {
        let name = |field: &str| format!("{field}_{n}");
        out.put(&name("out_refund_no"), self.out_refund_no.as_str());
        out.put(&name("refund_id"), self.refund_id.as_str());
        out.opt(&name("refund_channel"), self.refund_channel.as_ref());
        out.fen(&name("refund_fee"), self.refund_fee);
        out.fen_opt(&name("settlement_refund_fee"), self.settlement_refund_fee);
        out.fen_opt(&name("coupon_refund_fee"), self.coupon_refund_fee);
        out.put(&name("refund_status"), self.refund_status.as_str());
        out.opt(&name("refund_account"), self.refund_account.as_ref());
        out.opt(&name("refund_recv_accout"), self.refund_recv_accout.as_ref());
        out.opt(&name("refund_success_time"), self.refund_success_time.as_ref());
    }

    fn read(n: u32, f: &Fields<'_>) -> Result<Self, WireError> {
        let name = |field: &str| format!("{field}_{n}");
        Ok(RefundRecord {
            out_refund_no: f.req(&name("out_refund_no"))?,
            refund_id: f.req(&name("refund_id"))?,
            refund_channel: f.opt(&name("refund_channel")),
            refund_fee: f.fen(&name("refund_fee"))?,
            settlement_refund_fee: f.fen_opt(&name("settlement_refund_fee"))?,
            coupon_refund_fee: f.fen_opt(&name("coupon_refund_fee"))?,
            refund_status: f.parse_req(&name("refund_status"), RefundStatus::parse, RefundStatus::expected)?,
            refund_account: f.opt(&name("refund_account")),
            refund_recv_accout: f.opt(&name("refund_recv_accout")),
            refund_success_time: f.opt(&name("refund_success_time")),
        })
    }
}

impl WireMessage for RefundQueryResponse {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.head.write(&mut out);
        if let Some(r) = &self.result {
            out.put("transaction_id", r.transaction_id.as_str());
            out.put("out_trade_no", r.out_trade_no.as_str());
            out.fen("total_fee", r.total_fee);
            out.fen_opt("settlement_total_fee", r.settlement_total_fee);
            out.opt("fee_type", r.fee_type.as_ref());
            out.fen_opt("cash_fee", r.cash_fee);
            out.count_opt("total_refund_count", r.total_refund_count);
            out.put("refund_count", r.refunds.len().to_string());
            for (n, record) in r.refunds.iter().enumerate() {
                record.write(n, &mut out);
            }
        }
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        let head = ReplyHead::read(&f)?;
        let result = if head.is_success() {
            let refund_count =
                f.count_opt("refund_count")?.ok_or_else(|| WireError::MissingField("refund_count".into()))?;
            // The count is untrusted: records are read one by one and the first missing one stops the parse.
            let refunds = (0..refund_count).map(|n| RefundRecord::read(n, &f)).collect::<Result<Vec<_>, _>>()?;
            Some(RefundQueryResult {
                transaction_id: f.req("transaction_id")?,
                out_trade_no: f.req("out_trade_no")?,
                total_fee: f.fen("total_fee")?,
                settlement_total_fee: f.fen_opt("settlement_total_fee")?,
                fee_type: f.opt("fee_type"),
                cash_fee: f.fen_opt("cash_fee")?,
                total_refund_count: f.count_opt("total_refund_count")?,
                refunds,
            })
        } else {
            None
        };
        Ok(RefundQueryResponse { head, result })
    }
}

// --- /pay/downloadbill

/// `/pay/downloadbill`. The reply is the bill as plain text, or an XML failure; see [`DownloadBillReply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadBillRequest {
    pub merchant: MerchantIds,
    pub device_info: Option<String>,
    /// yyyyMMdd.
    pub bill_date: String,
    pub bill_type: BillType,
    /// `GZIP` asks for a compressed bill, which TillDesk does not read: leave it `None`.
    pub tar_type: Option<String>,
}

impl DownloadBillRequest {
    /// Checks the date shape.
    pub fn validate(&self) -> Result<(), WireError> {
        if self.bill_date.len() == 8 && self.bill_date.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(WireError::InvalidRequest {
                field: "bill_date",
                value: self.bill_date.clone(),
                reason: "must be a date like 20240101 (yyyyMMdd)",
            })
        }
    }
}

impl WireMessage for DownloadBillRequest {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.merchant.write(&mut out);
        out.opt("device_info", self.device_info.as_ref());
        out.put("bill_date", self.bill_date.as_str());
        out.put("bill_type", self.bill_type.as_str());
        out.opt("tar_type", self.tar_type.as_ref());
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(DownloadBillRequest {
            merchant: MerchantIds::read(&f)?,
            device_info: f.opt("device_info"),
            bill_date: f.req("bill_date")?,
            bill_type: f.parse_opt("bill_type", BillType::parse, BillType::expected)?.unwrap_or(BillType::All),
            tar_type: f.opt("tar_type"),
        })
    }
}

impl WireRequest for DownloadBillRequest {
    const ENDPOINT: Endpoint = Endpoint::DownloadBill;
}

/// What `/pay/downloadbill` answered: the bill text, or an unsigned XML failure (e.g. `No Bill Exist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadBillReply {
    Bill(String),
    Fail { return_msg: String, error_code: Option<String> },
}

impl DownloadBillReply {
    /// Tells a bill from a failure by its first bytes (`<xml>`), and refuses gzip or non-UTF-8 bodies.
    pub fn parse(body: &[u8]) -> Result<Self, WireError> {
        if body.starts_with(&[0x1f, 0x8b]) {
            return Err(WireError::GzipBill);
        }
        let text = std::str::from_utf8(body).map_err(|e| WireError::BillNotUtf8(e.valid_up_to()))?;
        let head = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        if !head.starts_with("<xml") && !head.starts_with("<?xml") {
            return Ok(DownloadBillReply::Bill(text.to_owned()));
        }
        let params = from_xml(text)?;
        let f = Fields(&params);
        match f.opt("return_code").as_deref() {
            Some("FAIL") => Ok(DownloadBillReply::Fail {
                return_msg: f.opt("return_msg").unwrap_or_default(),
                error_code: f.opt("error_code"),
            }),
            Some(other) => Err(WireError::BadField {
                field: "return_code".into(),
                value: other.to_owned(),
                expected: "FAIL (a successful downloadbill reply is the bill text, not XML)".into(),
            }),
            None => Err(WireError::MissingField("return_code".into())),
        }
    }

    /// The body the sandbox sends.
    pub fn to_body(&self) -> String {
        match self {
            DownloadBillReply::Bill(text) => text.clone(),
            DownloadBillReply::Fail { return_msg, error_code } => {
                let mut params = fail_reply(return_msg);
                if let Some(code) = error_code {
                    params.insert("error_code".into(), code.clone());
                }
                to_xml(&params)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn map(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn merchant() -> MerchantIds {
        MerchantIds { appid: "wxd930ea5d5a258f4f".into(), mch_id: "10000100".into(), ..MerchantIds::default() }
    }

    fn micropay() -> MicropayRequest {
        MicropayRequest {
            merchant: merchant(),
            device_info: None,
            body: "image形象店-深圳腾大- QQ公仔".into(),
            detail: None,
            attach: Some(String::new()),
            out_trade_no: "1217752501201407033233368018".into(),
            total_fee: Amount::from_fen(888),
            fee_type: None,
            spbill_create_ip: "8.8.8.8".into(),
            goods_tag: None,
            limit_pay: None,
            time_start: None,
            time_expire: None,
            receipt: None,
            auth_code: "120061098828009406".into(),
            scene_info: None,
            profit_sharing: None,
            version: None,
        }
    }

    #[test]
    fn xml_is_sorted_with_numbers_bare_text_in_cdata_and_sign_last() {
        let params = map(&[("sign", "ABC"), ("total_fee", "888"), ("body", "咖啡"), ("appid", "wx1"), ("e", "")]);
        let xml = to_xml(&params);
        assert_eq!(
            xml,
            "<xml><appid><![CDATA[wx1]]></appid><body><![CDATA[咖啡]]></body><e><![CDATA[]]></e>\
             <total_fee>888</total_fee><sign><![CDATA[ABC]]></sign></xml>"
        );
    }

    #[test]
    fn xml_round_trips_chinese_cdata_terminators_and_markup() {
        let params = map(&[
            ("body", "image形象店-深圳腾大- QQ公仔"),
            ("attach", "a]]>b]]>]]>"),
            ("detail", "<goods> & \"quotes\" 'x' ]]"),
            ("total_fee", "888"),
            ("empty", ""),
            ("sign", "9A0A8659F005D6984697E2CA0A9CF3B7"),
        ]);
        let xml = to_xml(&params);
        assert!(xml.contains("<total_fee>888</total_fee>"));
        assert_eq!(from_xml(&xml).unwrap(), params);
    }

    #[test]
    fn xml_reader_accepts_plain_text_entities_bom_declaration_and_whitespace() {
        let doc = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml>\n  <return_code>SUCCESS</return_code>\n  \
                   <return_msg><![CDATA[OK]]></return_msg>\n  <a>x &amp; y &#x4E2D;&#25991;</a>\n  <b/>\n  \
                   <!-- comment -->\n</xml>\n";
        let params = from_xml(doc).unwrap();
        assert_eq!(params, map(&[("return_code", "SUCCESS"), ("return_msg", "OK"), ("a", "x & y 中文"), ("b", "")]));
    }

    #[test]
    fn xxe_and_malformed_documents_are_refused() {
        let xxe =
            r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><a>&xxe;</a></xml>"#;
        let err = from_xml(xxe).unwrap_err();
        assert!(matches!(err, WireError::DocType), "{err}");
        assert!(err.to_string().contains("XXE"));
        assert!(matches!(from_xml("<xml><a>&xxe;</a></xml>"), Err(WireError::Entity(e)) if e == "xxe"));
        assert!(matches!(
            from_xml("<xml><a><b>1</b></a></xml>"),
            Err(WireError::Nested { field, child }) if field == "a" && child == "b"
        ));
        assert!(matches!(from_xml("<root><a>1</a></root>"), Err(WireError::Root(r)) if r == "root"));
        assert!(matches!(from_xml("<xml><a>1</a><a>2</a></xml>"), Err(WireError::DuplicateField(a)) if a == "a"));
        assert!(matches!(from_xml("<xml>oops<a>1</a></xml>"), Err(WireError::StrayText(_))));
        assert!(matches!(from_xml("<xml></xml><xml></xml>"), Err(WireError::TrailingContent)));
        assert!(matches!(from_xml(""), Err(WireError::Empty)));
        assert!(matches!(from_xml(" \u{feff}"), Err(WireError::Empty) | Err(WireError::StrayText(_))));
        assert!(from_xml("<xml><a>1</b></xml>").is_err());
        assert!(from_xml("<xml><a>1</a>").is_err());
        assert!(from_xml("not xml at all").is_err());
        let empty_root = from_xml("<xml/>").unwrap();
        assert!(empty_root.is_empty());
    }

    #[test]
    fn v5_micropay_request_fields_sign_like_the_vector() {
        // The same fields as vector V5, built from the typed request (empty attach dropped).
        let mut params = micropay().to_params();
        params.insert("nonce_str".into(), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into());
        let signed = signed_request(params.clone(), KEY, SignType::Md5);
        assert_eq!(signed["sign"], "BC9D17D67E865DC5483BD6CBE60E8E7E");
        assert!(!signed.contains_key("attach"));
        let signed = signed_request(params, KEY, SignType::HmacSha256);
        assert_eq!(signed["sign_type"], "HMAC-SHA256");
        assert_eq!(signed["sign"], "49517439062A909E6E1761A9A1BF5E7F36A8CF280840C926947C58CD1F655D24");
    }

    #[test]
    fn signed_micropay_request_verifies_with_both_sign_types() {
        let request = micropay();
        request.validate().unwrap();
        for sign_type in SignType::ALL {
            let signed = signed_request(request.to_params(), KEY, sign_type);
            assert_eq!(signed["nonce_str"].len(), 32);
            assert!(signed["nonce_str"].bytes().all(|b| b.is_ascii_alphanumeric()));
            assert_eq!(signed.contains_key("sign_type"), sign_type == SignType::HmacSha256);
            let xml = to_xml(&signed);
            assert!(xml.ends_with(&format!("<sign><![CDATA[{}]]></sign></xml>", signed["sign"])));
            let (received, declared) = parse_and_verify_request(&xml, KEY).unwrap();
            assert_eq!(declared, sign_type);
            assert_eq!(MicropayRequest::from_params(&received).unwrap().attach, None);
            let mut expected = request.clone();
            expected.attach = None;
            assert_eq!(MicropayRequest::from_params(&received).unwrap(), expected);
            // Another key, or a changed amount, fails.
            assert!(matches!(parse_and_verify_request(&xml, "x"), Err(WireError::Sign(SignError::Mismatch { .. }))));
            let tampered = xml.replace("<total_fee>888</total_fee>", "<total_fee>1</total_fee>");
            assert!(parse_and_verify_request(&tampered, KEY).is_err());
        }
        assert_ne!(nonce_str(), nonce_str());
    }

    #[test]
    fn micropay_request_validation_names_the_field() {
        let mut bad = micropay();
        bad.auth_code = "280000000000000000".into();
        assert!(matches!(bad.validate(), Err(WireError::InvalidRequest { field: "auth_code", .. })));
        let mut bad = micropay();
        bad.total_fee = Amount::ZERO;
        assert!(matches!(bad.validate(), Err(WireError::InvalidRequest { field: "total_fee", .. })));
        let mut bad = micropay();
        bad.out_trade_no = "订单1".into();
        assert!(matches!(bad.validate(), Err(WireError::InvalidRequest { field: "out_trade_no", .. })));
        assert!(is_wechat_auth_code("134567890123456789"));
        assert!(!is_wechat_auth_code("164567890123456789"));
        assert!(!is_wechat_auth_code("13456789012345678"));
    }

    fn paid() -> Payment {
        Payment {
            openid: Some("oUpF8uN95-Ptaags6E_roPHg7AG0".into()),
            is_subscribe: Some("N".into()),
            trade_type: Some("MICROPAY".into()),
            bank_type: Some("CMC".into()),
            fee_type: Some("CNY".into()),
            total_fee: Amount::from_fen(888),
            settlement_total_fee: None,
            coupon_fee: None,
            cash_fee_type: None,
            cash_fee: Amount::from_fen(888),
            transaction_id: "1008450740201411110005820873".into(),
            out_trade_no: "1217752501201407033233368018".into(),
            attach: Some("订单额外描述".into()),
            time_end: "20141111170043".into(),
            promotion_detail: None,
        }
    }

    /// Sandbox → XML → client, through signing and verification.
    fn exchange<T: WireMessage>(reply: &T, sign_type: SignType) -> Result<T, WireError> {
        let xml = to_xml(&signed_response(reply.to_params(), KEY, sign_type));
        T::from_params(&parse_and_verify_response(&xml, KEY, sign_type)?)
    }

    #[test]
    fn micropay_replies_round_trip_success_and_userpaying() {
        let ok = MicropayResponse { head: ReplyHead::success(&merchant()), device_info: None, payment: Some(paid()) };
        let back = exchange(&ok, SignType::HmacSha256).unwrap();
        assert_eq!(back.payment, ok.payment);
        assert!(back.head.is_success());
        assert_eq!(back.head.nonce_str.len(), 32);

        let paying = MicropayResponse {
            head: ReplyHead::failure(&merchant(), err_code::USERPAYING, "需要用户输入支付密码"),
            device_info: None,
            payment: None,
        };
        let back = exchange(&paying, SignType::Md5).unwrap();
        assert_eq!(back.payment, None);
        assert_eq!(back.head.err_code.as_deref(), Some("USERPAYING"));
        assert_eq!(back.head.err_code_des.as_deref(), Some("需要用户输入支付密码"));
        assert!(err_code::micropay_outcome_unknown(back.head.err_code.as_deref().unwrap()));
        assert!(!err_code::micropay_outcome_unknown(err_code::AUTHCODEEXPIRE));
    }

    #[test]
    fn unsigned_or_wrongly_signed_success_replies_are_refused() {
        let reply =
            MicropayResponse { head: ReplyHead::success(&merchant()), device_info: None, payment: Some(paid()) };
        let mut params = reply.to_params();
        params.insert("nonce_str".into(), "n".into());
        let unsigned = to_xml(&params);
        assert!(matches!(
            parse_and_verify_response(&unsigned, KEY, SignType::Md5),
            Err(WireError::Sign(SignError::MissingSign))
        ));
        let signed = signed_response(params, KEY, SignType::Md5);
        let xml = to_xml(&signed);
        assert!(parse_and_verify_response(&xml, KEY, SignType::Md5).is_ok());
        assert!(matches!(
            parse_and_verify_response(&xml, KEY, SignType::HmacSha256),
            Err(WireError::Sign(SignError::Mismatch { .. }))
        ));
        let forged = xml.replace("<total_fee>888</total_fee>", "<total_fee>88800</total_fee>");
        assert!(matches!(parse_and_verify_response(&forged, KEY, SignType::Md5), Err(WireError::Sign(_))));
    }

    #[test]
    fn return_code_fail_is_an_error_with_the_message() {
        let xml = to_xml(&fail_reply("签名错误"));
        let err = parse_and_verify_response(&xml, KEY, SignType::Md5).unwrap_err();
        assert!(matches!(&err, WireError::ReturnFail { return_msg } if return_msg == "签名错误"));
        assert_eq!(err.to_string(), "WeChat Pay refused the request (return_code=FAIL): 签名错误");
        assert!(matches!(MicropayResponse::from_params(&fail_reply("x")), Err(WireError::ReturnFail { .. })));
        let no_code = to_xml(&map(&[("return_msg", "?")]));
        let err = parse_and_verify_response(&no_code, KEY, SignType::Md5).unwrap_err();
        assert!(matches!(err, WireError::MissingField(f) if f == "return_code"));
    }

    #[test]
    fn missing_or_bad_fields_are_named() {
        let mut params =
            MicropayResponse { head: ReplyHead::success(&merchant()), device_info: None, payment: Some(paid()) }
                .to_params();
        params.insert("nonce_str".into(), "n".into());
        let mut no_id = params.clone();
        no_id.remove("transaction_id");
        let err = MicropayResponse::from_params(&no_id).unwrap_err();
        assert_eq!(err.to_string(), "the message lacks the field `transaction_id`");
        let mut bad_fee = params.clone();
        bad_fee.insert("total_fee".into(), "8.88".into());
        let err = MicropayResponse::from_params(&bad_fee).unwrap_err();
        assert!(matches!(&err, WireError::BadField { field, value, .. } if field == "total_fee" && value == "8.88"));
        assert!(err.to_string().contains("fen"), "{err}");
        let mut bad_time = params;
        bad_time.insert("time_end".into(), "2014-11-11".into());
        let err = MicropayResponse::from_params(&bad_time).unwrap_err();
        assert!(matches!(err, WireError::BadField { field, .. } if field == "time_end"));
    }

    #[test]
    fn orderquery_states_round_trip() {
        for state in TradeState::ALL {
            let payment = matches!(state, TradeState::Success | TradeState::Refund).then(paid);
            let reply = OrderQueryResponse {
                head: ReplyHead::success(&merchant()),
                device_info: None,
                order: Some(QueriedOrder { trade_state: *state, trade_state_desc: Some("描述".into()), payment }),
            };
            assert_eq!(exchange(&reply, SignType::Md5).unwrap().order, reply.order);
        }
        let missing = OrderQueryResponse {
            head: ReplyHead::failure(&merchant(), err_code::ORDERNOTEXIST, "此交易订单号不存在"),
            device_info: None,
            order: None,
        };
        assert_eq!(exchange(&missing, SignType::Md5).unwrap().order, None);
        // SUCCESS without the payment fields is refused.
        let mut params = ReplyHead::success(&merchant()).to_params_for_test();
        params.insert("trade_state".into(), "SUCCESS".into());
        assert!(matches!(OrderQueryResponse::from_params(&params), Err(WireError::MissingField(_))));
        params.insert("trade_state".into(), "PAID".into());
        let err = OrderQueryResponse::from_params(&params).unwrap_err();
        assert!(err.to_string().contains("one of SUCCESS, REFUND"), "{err}");
    }

    impl ReplyHead {
        fn to_params_for_test(&self) -> Params {
            let mut out = Out::default();
            self.write(&mut out);
            out.put("nonce_str", "n");
            out.0
        }
    }

    #[test]
    fn reverse_and_refund_round_trip() {
        let reverse = ReverseRequest { merchant: merchant(), trade: TradeRef::OutTradeNo("T1".into()) };
        assert_eq!(ReverseRequest::from_params(&reverse.to_params()).unwrap(), reverse);
        assert!(ReverseRequest::ENDPOINT.needs_client_cert());
        let mut head = ReplyHead::failure(&merchant(), err_code::SYSTEMERROR, "系统错误");
        head.nonce_str = "fixed".into();
        let again = ReverseResponse { head, recall: Some(true) };
        assert_eq!(exchange(&again, SignType::Md5).unwrap(), again);
        let mut bad = again.to_params();
        bad.insert("recall".into(), "maybe".into());
        assert!(
            matches!(ReverseResponse::from_params(&bad), Err(WireError::BadField { field, .. }) if field == "recall")
        );

        let refund = RefundRequest {
            merchant: merchant(),
            trade: TradeRef::TransactionId("4200000001".into()),
            out_refund_no: "R1".into(),
            total_fee: Amount::from_fen(600),
            refund_fee: Amount::from_fen(1),
            refund_fee_type: None,
            refund_desc: Some("顾客退货".into()),
            refund_account: None,
            notify_url: None,
        };
        refund.validate().unwrap();
        let params = refund.to_params();
        assert_eq!(params["total_fee"], "600");
        assert_eq!(params["refund_fee"], "1");
        assert!(!params.contains_key("out_trade_no"));
        assert_eq!(RefundRequest::from_params(&params).unwrap(), refund);
        let too_much = RefundRequest { refund_fee: Amount::from_fen(601), ..refund.clone() };
        assert!(matches!(too_much.validate(), Err(WireError::InvalidRequest { field: "refund_fee", .. })));

        let accepted = RefundResponse {
            head: ReplyHead::success(&merchant()),
            accepted: Some(RefundAccepted {
                transaction_id: "4200000001".into(),
                out_trade_no: "T1".into(),
                out_refund_no: "R1".into(),
                refund_id: "50000000001".into(),
                refund_fee: Amount::from_fen(1),
                settlement_refund_fee: None,
                total_fee: Amount::from_fen(600),
                settlement_total_fee: None,
                fee_type: Some("CNY".into()),
                cash_fee: Some(Amount::from_fen(600)),
                cash_refund_fee: Some(Amount::from_fen(1)),
                coupon_refund_fee: None,
                coupon_refund_count: None,
            }),
        };
        assert_eq!(exchange(&accepted, SignType::HmacSha256).unwrap().accepted, accepted.accepted);
    }

    #[test]
    fn refundquery_reads_indexed_fields() {
        // As WeChat Pay sends it: two refunds, fields suffixed _0 and _1.
        let mut params = ReplyHead::success(&merchant()).to_params_for_test();
        params.extend(map(&[
            ("transaction_id", "1008450740201411110005820873"),
            ("out_trade_no", "1415757673"),
            ("total_fee", "600"),
            ("cash_fee", "600"),
            ("refund_count", "2"),
            ("out_refund_no_0", "R1"),
            ("refund_id_0", "2008450740201411110000174436"),
            ("refund_channel_0", "ORIGINAL"),
            ("refund_fee_0", "1"),
            ("refund_status_0", "SUCCESS"),
            ("refund_recv_accout_0", "支付用户的零钱"),
            ("refund_success_time_0", "2019-07-23 20:53:40"),
            ("out_refund_no_1", "R2"),
            ("refund_id_1", "2008450740201411110000174437"),
            ("refund_fee_1", "100"),
            ("refund_status_1", "PROCESSING"),
        ]));
        let reply = RefundQueryResponse::from_params(&params).unwrap();
        let result = reply.result.clone().unwrap();
        assert_eq!(result.refunds.len(), 2);
        assert_eq!(result.refunds[0].refund_status, RefundStatus::Success);
        assert_eq!(result.refunds[0].refund_fee, Amount::from_fen(1));
        assert_eq!(result.refunds[0].refund_recv_accout.as_deref(), Some("支付用户的零钱"));
        assert_eq!(result.refunds[1].refund_status, RefundStatus::Processing);
        assert_eq!(result.refunds[1].out_refund_no, "R2");
        assert_eq!(result.refunds[1].refund_success_time, None);
        // params carried nonce_str "n", so the whole reply survives the signed round trip.
        assert_eq!(exchange(&reply, SignType::Md5).unwrap(), reply);

        let mut short = params.clone();
        short.insert("refund_count".into(), "3".into());
        let err = RefundQueryResponse::from_params(&short).unwrap_err();
        assert_eq!(err.to_string(), "the message lacks the field `out_refund_no_2`");
        let mut bad = params;
        bad.insert("refund_status_1".into(), "DONE".into());
        let err = RefundQueryResponse::from_params(&bad).unwrap_err();
        assert!(matches!(err, WireError::BadField { field, .. } if field == "refund_status_1"));

        let query =
            RefundQueryRequest { merchant: merchant(), target: RefundRef::OutRefundNo("R1".into()), offset: None };
        assert_eq!(RefundQueryRequest::from_params(&query.to_params()).unwrap(), query);
        let none = RefundQueryRequest::from_params(&map(&[("appid", "a"), ("mch_id", "m")])).unwrap_err();
        assert!(none.to_string().contains("refund_id or out_refund_no or transaction_id or out_trade_no"), "{none}");
    }

    #[test]
    fn downloadbill_request_and_replies() {
        let request = DownloadBillRequest {
            merchant: merchant(),
            device_info: None,
            bill_date: "20190725".into(),
            bill_type: BillType::Refund,
            tar_type: None,
        };
        request.validate().unwrap();
        assert_eq!(request.to_params()["bill_type"], "REFUND");
        assert_eq!(DownloadBillRequest::from_params(&request.to_params()).unwrap(), request);
        assert!(DownloadBillRequest { bill_date: "2019-07-25".into(), ..request.clone() }.validate().is_err());

        let fail = DownloadBillReply::Fail { return_msg: "No Bill Exist".into(), error_code: Some("20002".into()) };
        assert_eq!(DownloadBillReply::parse(fail.to_body().as_bytes()).unwrap(), fail);
        let bill = DownloadBillReply::Bill("交易时间,公众账号ID\r\n".into());
        assert_eq!(DownloadBillReply::parse(bill.to_body().as_bytes()).unwrap(), bill);
        assert!(matches!(DownloadBillReply::parse(&[0x1f, 0x8b, 8, 0]), Err(WireError::GzipBill)));
        assert!(matches!(DownloadBillReply::parse(&[b'a', 0xff]), Err(WireError::BillNotUtf8(1))));
    }

    #[test]
    fn endpoints() {
        assert_eq!(Endpoint::Micropay.path(), "/pay/micropay");
        assert_eq!(Endpoint::Reverse.path(), "/secapi/pay/reverse");
        assert_eq!(MicropayRequest::ENDPOINT, Endpoint::Micropay);
        let with_cert: Vec<_> = Endpoint::ALL.into_iter().filter(|e| e.needs_client_cert()).collect();
        assert_eq!(with_cert, [Endpoint::Reverse, Endpoint::Refund]);
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::from_path(e.path()), Some(e));
        }
        assert_eq!(Endpoint::from_path("/pay/unifiedorder"), Some(Endpoint::UnifiedOrder));
        assert_eq!(Endpoint::from_path("/pay/closeorder"), Some(Endpoint::CloseOrder));
        assert_eq!(Endpoint::from_path("/pay/nosuch"), None);
    }
}
