//! The Alipay OpenAPI client behind [`Channel`]: 当面付 barcode pay (`alipay.trade.pay`, scene `bar_code`), query,
//! cancel, refund, refund query and the daily trade bill.
//!
//! Requests go out as the Java SDK sends them: an HTTP POST to the gateway with the system parameters (`app_id`,
//! `method`, `sign`, …) in the query string and `biz_content` in an `application/x-www-form-urlencoded;charset=utf-8`
//! body, RSA2-signed with the app private key ([`wire::signed_request_params`]).
//!
//! **Nothing in a response is believed before its signature checks out** with the Alipay public key
//! ([`sign::verify_response`]). A response that is unsigned, signed wrongly, cut short, not JSON, an HTTP error, a
//! timeout or a lost connection is "unknown" (`PayResult::Unknown`, …), never a success and never a definite
//! failure: the checkout engine then queries and, if still unclear, cancels.
//!
//! Classification follows Alipay's documents exactly:
//! - pay: `10000` paid; `10003` waiting for the customer's password; `20000` or `40004 ACQ.SYSTEM_ERROR` unknown;
//!   `40004 ACQ.TRADE_HAS_SUCCESS` (this order number is already paid) is confirmed with a query, then paid; any
//!   other `40004` is a definite failure explained in cashier words; gateway refusals (`20001`, `40001`, `40002`,
//!   `40006`) are definite failures that point at the settings.
//! - query: `trade_status` TRADE_SUCCESS / TRADE_FINISHED paid, WAIT_BUYER_PAY waiting, TRADE_CLOSED closed;
//!   `ACQ.TRADE_NOT_EXIST` not found.
//! - cancel: `retry_flag=Y` (or a transient error) retry; `10000` done, `refunded` when `action=refund`.
//! - refund: `10000` success (`out_request_no` is always sent, so a retry is idempotent); refund query:
//!   `refund_status=REFUND_SUCCESS` found, absent not found.
//!
//! Logs carry the method, the order number and a masked payment code; never keys, signatures or a full code.

use std::fmt;
use std::time::Duration;

use super::sign::{PrivateKey, PublicKey};
use serde::de::DeserializeOwned;

use super::sign::{self, SignError};
use super::wire::{
    self, BillDownloadUrlQueryRequest, BillDownloadUrlQueryResponse, CommonParams, CommonResponse, Method,
    RefundQueryRequest, RefundQueryResponse, TradeCancelRequest, TradeCancelResponse, TradePayRequest,
    TradePayResponse, TradeQueryRequest, TradeQueryResponse, TradeRefundRequest, TradeRefundResponse, TradeStatus,
    code, sub_code,
};
use crate::channel::auth_code::{CodeOwner, route_auth_code, scrub_codes};
use crate::channel::client_error::{ClientError, check_gateway_url, transport_words};
use crate::channel::{
    BillResult, BoxFuture, CancelResult, Channel, CloseResult, Failure, PayRequest, PayResult, PrecreateRequest,
    PrecreateResult, QueryResult, RefundQueryResult, RefundRequest, RefundResult, RefundState, TradeInfo,
};
use crate::model::AcquirerKind;
use crate::money::Amount;
use crate::secrets::Secret;

/// The longest any one gateway call may take, whatever the HTTP client allows. Give the `reqwest::Client` a
/// shorter timeout of its own (10–15 s suits a till).
const CALL_CEILING: Duration = Duration::from_secs(30);

/// Alipay's limits for `total_amount`: 0.01 to 100 000 000.00 yuan.
const MAX_AMOUNT: Amount = Amount::from_fen(10_000_000_000);

/// `subject` is at most 256 characters.
const MAX_SUBJECT_CHARS: usize = 256;

/// The settings of one Alipay app (a merchant's own app, or a service provider's app acting with `app_auth_token`).
///
/// `Debug` shows the identifiers but never the keys or the token.
#[derive(Clone, Default)]
pub struct AlipayConfig {
    /// `https://openapi.alipay.com/gateway.do` in production.
    pub gateway_url: String,
    pub app_id: String,
    /// The app private key (应用私钥): PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), PKCS#8 PEM (`BEGIN PRIVATE KEY`), or the
    /// bare base64 body of either as Alipay's key tool shows it.
    pub app_private_key: Secret,
    /// The Alipay public key (支付宝公钥) that signs responses: PEM or the one-line base64 from the console.
    pub alipay_public_key: String,
    /// Set when a service provider (ISV) calls for the merchant.
    pub app_auth_token: Option<String>,
    /// The service provider's PID for rebates (返佣), sent in `extend_params.sys_service_provider_id`.
    pub sys_service_provider_id: Option<String>,
    /// Defaults for pay and refund when the request carries none.
    pub store_id: Option<String>,
    pub terminal_id: Option<String>,
    /// How long the customer has to confirm a password prompt, e.g. "2m".
    pub timeout_express: Option<String>,
    /// Where Alipay posts the asynchronous payment notification (sent with pay only).
    pub notify_url: Option<String>,
}

impl fmt::Debug for AlipayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlipayConfig")
            .field("gateway_url", &self.gateway_url)
            .field("app_id", &self.app_id)
            .field("app_private_key", &self.app_private_key)
            .field("alipay_public_key", &redacted(&self.alipay_public_key))
            .field("app_auth_token", &self.app_auth_token.as_deref().map(redacted))
            .field("sys_service_provider_id", &self.sys_service_provider_id)
            .field("store_id", &self.store_id)
            .field("terminal_id", &self.terminal_id)
            .field("timeout_express", &self.timeout_express)
            .field("notify_url", &self.notify_url)
            .finish()
    }
}

fn redacted(text: &str) -> &'static str {
    if text.trim().is_empty() { "<empty>" } else { "<redacted>" }
}

/// The settings once checked: blank options are `None`, keys are parsed (and their text dropped).
#[derive(Clone)]
struct Settings {
    gateway_url: String,
    app_id: String,
    app_auth_token: Option<String>,
    sys_service_provider_id: Option<String>,
    store_id: Option<String>,
    terminal_id: Option<String>,
    timeout_express: Option<String>,
    notify_url: Option<String>,
    /// The store's merchant id at an acquirer that takes Alipay-protocol payments for sub-merchants
    /// (`sub_merchant.merchant_id` of pay).
    sub_merchant_id: Option<String>,
}

/// An Alipay app, ready to call the gateway. Cheap to share (`Arc`) between tasks.
#[derive(Clone)]
pub struct AlipayClient {
    settings: Settings,
    app_key: PrivateKey,
    alipay_key: PublicKey,
    http: reqwest::Client,
    /// A pay request signed ahead ([`Channel::prepare_pay`]) while the checkout commits its write-ahead row: the
    /// biz_content it was signed for, and the signed request.
    presigned: std::sync::Arc<std::sync::Mutex<Option<(String, Signed)>>>,
}

/// A request signed and encoded, ready to send.
#[derive(Clone)]
struct Signed {
    system: Vec<(String, String)>,
    body: String,
}

impl Drop for Signed {
    fn drop(&mut self) {
        // The body holds the customer's payment code.
        zeroize::Zeroize::zeroize(&mut self.body);
    }
}

impl fmt::Debug for AlipayClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlipayClient")
            .field("gateway_url", &self.settings.gateway_url)
            .field("app_id", &self.settings.app_id)
            .finish_non_exhaustive()
    }
}

fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl AlipayClient {
    /// Checks the settings and reads both keys once. The error names the setting to fix; a key that cannot sign
    /// (too small, damaged) is refused here rather than at the first sale.
    pub fn new(config: AlipayConfig, http: reqwest::Client) -> Result<Self, ClientError> {
        let gateway_url = check_gateway_url("Alipay", &config.gateway_url)?;
        let app_id = config.app_id.trim().to_owned();
        if app_id.is_empty() {
            return Err(ClientError::MissingSetting { channel: "Alipay", field: "app_id" });
        }
        if config.app_private_key.expose().trim().is_empty() {
            return Err(ClientError::MissingSetting { channel: "Alipay", field: "app private key (应用私钥)" });
        }
        if config.alipay_public_key.trim().is_empty() {
            return Err(ClientError::MissingSetting {
                channel: "Alipay", field: "Alipay public key (支付宝公钥)"
            });
        }
        let app_key =
            sign::parse_private_key(config.app_private_key.expose()).map_err(ClientError::AlipayPrivateKey)?;
        sign::sign_rsa2(&app_key, "tilldesk key check").map_err(ClientError::AlipayPrivateKey)?;
        let alipay_key = sign::parse_public_key(&config.alipay_public_key).map_err(ClientError::AlipayPublicKey)?;
        let settings = Settings {
            gateway_url,
            app_id,
            app_auth_token: non_blank(config.app_auth_token),
            sys_service_provider_id: non_blank(config.sys_service_provider_id),
            store_id: non_blank(config.store_id),
            terminal_id: non_blank(config.terminal_id),
            timeout_express: non_blank(config.timeout_express),
            notify_url: non_blank(config.notify_url),
            sub_merchant_id: None,
        };
        Ok(AlipayClient { settings, app_key, alipay_key, http, presigned: Default::default() })
    }

    pub fn app_id(&self) -> &str {
        &self.settings.app_id
    }

    // -----------------------------------------------------------------------------------------------------------
    // One signed call

    /// Signs and encodes one request.
    fn sign_request(&self, method: Method, biz_content: &str) -> Result<Signed, CallError> {
        let mut common = CommonParams::new(&self.settings.app_id, method);
        common.app_auth_token = self.settings.app_auth_token.clone();
        if matches!(method, Method::TradePay | Method::TradePrecreate) {
            common.notify_url = self.settings.notify_url.clone();
        }
        let mut params = wire::signed_request_params(&common, biz_content, &self.app_key)
            .map_err(|e| CallError::NotSent(format!("the request could not be signed: {e}")))?;
        let biz = params.remove("biz_content").unwrap_or_default();
        let body = serde_urlencoded::to_string([("biz_content", biz.as_str())])
            .map_err(|e| CallError::NotSent(format!("the request could not be encoded: {e}")))?;
        Ok(Signed { system: params.into_iter().collect(), body })
    }

    /// The pay request signed ahead for exactly this biz_content, if there is one (taken: used once).
    fn take_presigned(&self, method: Method, biz_content: &str) -> Option<Signed> {
        if method != Method::TradePay {
            return None;
        }
        let mut slot = match self.presigned.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        match slot.take() {
            Some((biz, signed)) if biz == biz_content => Some(signed),
            _ => None,
        }
    }

    /// Signs and sends one request, then verifies and decodes the answer.
    async fn call<T: DeserializeOwned>(&self, method: Method, biz_content: &str) -> Result<T, CallError> {
        let signed = match self.take_presigned(method, biz_content) {
            Some(signed) => signed,
            None => self.sign_request(method, biz_content)?,
        };
        let (system, body) = (&signed.system, signed.body.clone());
        tracing::debug!(method = method.as_str(), "alipay request");
        let exchange = async {
            let response = self
                .http
                .post(&self.settings.gateway_url)
                .query(system)
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded;charset=utf-8")
                .body(body)
                .send()
                .await
                .map_err(|e| CallError::Unreliable(transport_words(&e)))?;
            let status = response.status();
            if !status.is_success() {
                return Err(CallError::Unreliable(format!(
                    "Alipay answered with an HTTP error ({status}), so the result is unknown"
                )));
            }
            response
                .bytes()
                .await
                .map_err(|e| CallError::Unreliable(format!("the answer from Alipay was cut off ({})", e.without_url())))
        };
        let bytes = tokio::time::timeout(CALL_CEILING, exchange).await.map_err(|_| {
            CallError::Unreliable(format!("Alipay did not answer within {} s", CALL_CEILING.as_secs()))
        })??;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| CallError::Unreliable("the answer from Alipay is not UTF-8 text".into()))?;
        let node = sign::verify_response(&self.alipay_key, text, method.as_str())
            .map_err(|e| CallError::Unreliable(untrusted_words(&e, text, method)))?;
        wire::decode_node(node).map_err(|e| CallError::Unreliable(format!("the verified answer is not usable: {e}")))
    }

    // -----------------------------------------------------------------------------------------------------------
    // The operations

    /// The pay request's biz_content, or the refusal when the request cannot be sent at all.
    fn pay_biz(&self, req: &PayRequest) -> Result<String, Failure> {
        let auth_code = req.auth_code.expose();
        match route_auth_code(auth_code) {
            Ok(CodeOwner::Alipay) => {}
            Ok(CodeOwner::Wechat) => {
                return Err(Failure {
                    code: "NOT_AN_ALIPAY_CODE".into(),
                    message:
                        "这是微信付款码，不是支付宝付款码 / this is a WeChat Pay code, not an Alipay code: take it \
                              with WeChat Pay"
                            .into(),
                });
            }
            Err(not_a_code) => {
                return Err(Failure { code: "NOT_A_PAYMENT_CODE".into(), message: not_a_code.to_string() });
            }
        }
        if let Some(refusal) = check_order(&req.out_trade_no, req.amount, &req.subject) {
            return Err(refusal);
        }
        let subject: String = req.subject.trim().chars().take(MAX_SUBJECT_CHARS).collect();
        let request = TradePayRequest {
            product_code: Some(wire::PRODUCT_FACE_TO_FACE.into()),
            store_id: non_blank(req.store_id.clone()).or_else(|| self.settings.store_id.clone()),
            terminal_id: non_blank(req.terminal_id.clone()).or_else(|| self.settings.terminal_id.clone()),
            operator_id: non_blank(req.operator_id.clone()),
            timeout_express: self.settings.timeout_express.clone(),
            ..TradePayRequest::bar_code(&req.out_trade_no, auth_code, &subject, req.amount)
        };
        self.biz_content_for(&request).map_err(|e| Failure { code: "NOT_SENT".into(), message: e.to_string() })
    }

    async fn pay_impl(&self, req: &PayRequest) -> PayResult {
        let masked = req.auth_code.masked();
        let biz = match self.pay_biz(req) {
            Ok(biz) => biz,
            Err(refused) => return PayResult::Failed(refused),
        };
        tracing::info!(out_trade_no = %req.out_trade_no, auth_code = %masked, amount = %req.amount, "alipay pay");
        let response: TradePayResponse = match self.call(Method::TradePay, &biz).await {
            Ok(r) => r,
            Err(CallError::NotSent(message)) => {
                tracing::error!(out_trade_no = %req.out_trade_no, %message, "alipay pay not sent");
                return PayResult::Failed(Failure { code: "NOT_SENT".into(), message });
            }
            Err(CallError::Unreliable(reason)) => {
                tracing::warn!(out_trade_no = %req.out_trade_no, %reason, "alipay pay: result unknown");
                return PayResult::Unknown(reason);
            }
        };
        match classify_pay(&response, &req.out_trade_no) {
            PayStep::Done(result) => {
                log_pay(&req.out_trade_no, &result);
                result
            }
            PayStep::ConfirmByQuery => {
                tracing::info!(out_trade_no = %req.out_trade_no, "alipay: order already paid, confirming by query");
                match self.query_impl(&req.out_trade_no).await {
                    QueryResult::Paid(info) => PayResult::Paid(info),
                    other => PayResult::Unknown(format!(
                        "Alipay says this order number is already paid (ACQ.TRADE_HAS_SUCCESS), but a query does not \
                         confirm it ({other:?})"
                    )),
                }
            }
        }
    }

    /// A request's biz_content, with `extend_params.sys_service_provider_id` and `sub_merchant.merchant_id` when
    /// configured (pay and precreate send both).
    fn biz_content_for<T: serde::Serialize>(&self, request: &T) -> Result<String, wire::WireError> {
        let mut value = serde_json::to_value(request)
            .map_err(|e| wire::WireError::Json { what: "biz_content", detail: e.to_string() })?;
        if let (Some(pid), Some(map)) = (&self.settings.sys_service_provider_id, value.as_object_mut()) {
            map.insert("extend_params".into(), serde_json::json!({ "sys_service_provider_id": pid }));
        }
        if let (Some(merchant_id), Some(map)) = (&self.settings.sub_merchant_id, value.as_object_mut()) {
            map.insert("sub_merchant".into(), serde_json::json!({ "merchant_id": merchant_id }));
        }
        wire::encode_biz_content(&value)
    }

    async fn query_impl(&self, out_trade_no: &str) -> QueryResult {
        let biz = match wire::encode_biz_content(&TradeQueryRequest::by_out_trade_no(out_trade_no)) {
            Ok(b) => b,
            Err(e) => return QueryResult::Unknown(e.to_string()),
        };
        let response: TradeQueryResponse = match self.call(Method::TradeQuery, &biz).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%out_trade_no, reason = %e.words(), "alipay query: result unknown");
                return QueryResult::Unknown(e.into_words());
            }
        };
        let result = classify_query(&response, out_trade_no);
        tracing::info!(%out_trade_no, result = result_name_query(&result), "alipay query");
        result
    }

    async fn cancel_impl(&self, out_trade_no: &str) -> CancelResult {
        let request = TradeCancelRequest { out_trade_no: Some(out_trade_no.to_owned()), trade_no: None };
        let biz = match wire::encode_biz_content(&request) {
            Ok(b) => b,
            Err(e) => return CancelResult::Failed(Failure { code: "NOT_SENT".into(), message: e.to_string() }),
        };
        let response: TradeCancelResponse = match self.call(Method::TradeCancel, &biz).await {
            Ok(r) => r,
            Err(CallError::NotSent(message)) => {
                return CancelResult::Failed(Failure { code: "NOT_SENT".into(), message });
            }
            Err(CallError::Unreliable(reason)) => {
                tracing::warn!(%out_trade_no, %reason, "alipay cancel: result unknown");
                return CancelResult::Unknown(reason);
            }
        };
        let result = classify_cancel(&response);
        tracing::info!(%out_trade_no, result = ?result, "alipay cancel");
        result
    }

    async fn refund_impl(&self, req: &RefundRequest) -> RefundResult {
        if req.out_request_no.trim().is_empty() {
            return RefundResult::Failed(Failure {
                code: "NOT_SENT".into(),
                message: "退款单号为空 / the refund has no refund number (out_request_no)".into(),
            });
        }
        if req.refund_amount.fen() <= 0 || req.refund_amount > MAX_AMOUNT {
            return RefundResult::Failed(Failure {
                code: "NOT_SENT".into(),
                message: format!(
                    "退款金额无效 / the refund amount {} is not between 0.01 and 100000000",
                    req.refund_amount
                ),
            });
        }
        let request = TradeRefundRequest {
            refund_reason: non_blank(Some(req.reason.clone())),
            store_id: self.settings.store_id.clone(),
            terminal_id: self.settings.terminal_id.clone(),
            ..TradeRefundRequest::new(&req.out_trade_no, &req.out_request_no, req.refund_amount)
        };
        let biz = match wire::encode_biz_content(&request) {
            Ok(b) => b,
            Err(e) => return RefundResult::Failed(Failure { code: "NOT_SENT".into(), message: e.to_string() }),
        };
        tracing::info!(out_trade_no = %req.out_trade_no, out_request_no = %req.out_request_no,
            amount = %req.refund_amount, "alipay refund");
        let response: TradeRefundResponse = match self.call(Method::TradeRefund, &biz).await {
            Ok(r) => r,
            Err(CallError::NotSent(message)) => {
                return RefundResult::Failed(Failure { code: "NOT_SENT".into(), message });
            }
            Err(CallError::Unreliable(reason)) => {
                tracing::warn!(out_trade_no = %req.out_trade_no, %reason, "alipay refund: result unknown");
                return RefundResult::Unknown(reason);
            }
        };
        let result = classify_refund(&response);
        tracing::info!(out_trade_no = %req.out_trade_no, out_request_no = %req.out_request_no, result = ?result,
            "alipay refund");
        result
    }

    async fn refund_query_impl(&self, out_trade_no: &str, out_request_no: &str) -> RefundQueryResult {
        let request = RefundQueryRequest {
            out_trade_no: Some(out_trade_no.to_owned()),
            out_request_no: out_request_no.to_owned(),
            ..RefundQueryRequest::default()
        };
        let biz = match wire::encode_biz_content(&request) {
            Ok(b) => b,
            Err(e) => return RefundQueryResult::Unknown(e.to_string()),
        };
        match self.call::<RefundQueryResponse>(Method::TradeFastpayRefundQuery, &biz).await {
            Ok(response) => classify_refund_query(&response),
            Err(e) => RefundQueryResult::Unknown(e.into_words()),
        }
    }

    async fn bill_impl(&self, bill_date: time::Date, bill_type: &str) -> BillResult {
        let request = BillDownloadUrlQueryRequest::daily(bill_date, bill_type);
        let biz = match wire::encode_biz_content(&request) {
            Ok(b) => b,
            Err(e) => return BillResult::Failed(e.to_string()),
        };
        let response: BillDownloadUrlQueryResponse = match self.call(Method::BillDownloadUrlQuery, &biz).await {
            Ok(r) => r,
            Err(e) => return BillResult::Failed(format!("the bill address could not be fetched: {}", e.words())),
        };
        let url = match classify_bill_url(&response) {
            Ok(url) => url,
            Err(result) => return result,
        };
        let fallback_name = format!(
            "{}_{:04}{:02}{:02}.csv.zip",
            self.settings.app_id,
            bill_date.year(),
            u8::from(bill_date.month()),
            bill_date.day()
        );
        let download = async {
            let response = self.http.get(url.as_str()).send().await.map_err(|e| transport_words(&e))?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("the bill download answered HTTP {status} (links last about 30 s)"));
            }
            let from_header = response
                .headers()
                .get(reqwest::header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .and_then(file_name_from_disposition);
            let bytes = response.bytes().await.map_err(|e| format!("the bill download was cut off ({e})"))?;
            Ok((from_header, bytes))
        };
        let (from_header, bytes) = match tokio::time::timeout(CALL_CEILING, download).await {
            Ok(Ok(v)) => v,
            Ok(Err(message)) => return BillResult::Failed(message),
            Err(_) => return BillResult::Failed("the bill download took too long".into()),
        };
        if !bytes.starts_with(b"PK") {
            return BillResult::Failed("the bill download is not a zip file, as Alipay serves bills".into());
        }
        let file_name = file_name_from_url(&url).or(from_header).unwrap_or(fallback_name);
        tracing::info!(%file_name, bytes = bytes.len(), "alipay bill downloaded");
        BillResult::Bill { file_name, bytes: bytes.to_vec() }
    }
}

impl Channel for AlipayClient {
    fn kind(&self) -> AcquirerKind {
        AcquirerKind::Alipay
    }

    fn for_merchant(&self, merchant_id: &str) -> Option<std::sync::Arc<dyn Channel>> {
        let mut scoped = self.clone();
        scoped.settings.sub_merchant_id = Some(merchant_id.trim().to_owned()).filter(|m| !m.is_empty());
        Some(std::sync::Arc::new(scoped))
    }

    fn pay<'a>(&'a self, req: &'a PayRequest) -> BoxFuture<'a, PayResult> {
        Box::pin(self.pay_impl(req))
    }

    fn prepare_pay(&self, req: &PayRequest) {
        let Ok(biz) = self.pay_biz(req) else { return };
        let Ok(signed) = self.sign_request(Method::TradePay, &biz) else { return };
        match self.presigned.lock() {
            Ok(mut slot) => *slot = Some((biz, signed)),
            Err(p) => *p.into_inner() = Some((biz, signed)),
        }
    }

    fn query<'a>(&'a self, out_trade_no: &'a str) -> BoxFuture<'a, QueryResult> {
        Box::pin(self.query_impl(out_trade_no))
    }

    fn cancel<'a>(&'a self, out_trade_no: &'a str) -> BoxFuture<'a, CancelResult> {
        Box::pin(self.cancel_impl(out_trade_no))
    }

    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, RefundResult> {
        Box::pin(self.refund_impl(req))
    }

    fn refund_query<'a>(&'a self, out_trade_no: &'a str, out_request_no: &'a str) -> BoxFuture<'a, RefundQueryResult> {
        Box::pin(self.refund_query_impl(out_trade_no, out_request_no))
    }

    fn bill<'a>(&'a self, bill_date: time::Date) -> BoxFuture<'a, BillResult> {
        Box::pin(self.bill_impl(bill_date, "trade"))
    }

    fn account_bill<'a>(&'a self, bill_date: time::Date) -> BoxFuture<'a, BillResult> {
        Box::pin(self.bill_impl(bill_date, "signcustomer"))
    }

    fn precreate<'a>(&'a self, req: &'a PrecreateRequest) -> BoxFuture<'a, PrecreateResult> {
        Box::pin(self.precreate_impl(req))
    }

    fn close<'a>(&'a self, out_trade_no: &'a str) -> BoxFuture<'a, CloseResult> {
        Box::pin(self.close_impl(out_trade_no))
    }
}

/// Dynamic codes (主扫): `alipay.trade.precreate` and `alipay.trade.close`.
mod dynamic;

// ---------------------------------------------------------------------------------------------------------------
// Transport and trust

/// Why a call gave no trustworthy answer.
enum CallError {
    /// Nothing left the till (signing or encoding failed): a definite failure.
    NotSent(String),
    /// It may or may not have been processed: unknown.
    Unreliable(String),
}

impl CallError {
    fn words(&self) -> &str {
        match self {
            CallError::NotSent(w) | CallError::Unreliable(w) => w,
        }
    }

    fn into_words(self) -> String {
        match self {
            CallError::NotSent(w) | CallError::Unreliable(w) => w,
        }
    }
}

/// Why a response was not believed. When it is unsigned, the code it claims is quoted to help find the cause
/// (e.g. a wrong app_id), but it is not acted on.
fn untrusted_words(error: &SignError, body: &str, method: Method) -> String {
    let claim = sign::extract_signed_response(body, method.as_str())
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s.raw_node).ok())
        .map(|node| {
            let code = node.get("code").and_then(|v| v.as_str()).unwrap_or("?").to_owned();
            match node.get("sub_code").and_then(|v| v.as_str()) {
                Some(sub) => format!("{code} {sub}"),
                None => code,
            }
        });
    match (error, claim) {
        (SignError::MissingResponseSign, Some(claim)) => format!(
            "Alipay's answer is not signed, so it cannot be trusted (it claims {claim}; check the app_id and keys in \
             the Alipay settings); the result is unknown"
        ),
        _ => format!("Alipay's answer cannot be trusted ({error}); the result is unknown"),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Classification (pure, so every documented code is unit-tested)

enum PayStep {
    Done(PayResult),
    /// ACQ.TRADE_HAS_SUCCESS: the order number is already paid; believe it once a query confirms.
    ConfirmByQuery,
}

fn parse_amount_or_warn(field: &str, parsed: Result<Option<Amount>, wire::WireError>) -> Option<Amount> {
    parsed.unwrap_or_else(|e| {
        tracing::warn!(field, error = %e, "alipay sent an unreadable amount");
        None
    })
}

fn pay_info(r: &TradePayResponse) -> TradeInfo {
    TradeInfo {
        trade_no: r.trade_no.clone(),
        amount: parse_amount_or_warn("total_amount", r.total_amount()),
        paid_at: r.gmt_payment.clone(),
        buyer: r.buyer_logon_id.clone(),
        currency: None,
        merchant_id: None,
    }
}

fn query_info(r: &TradeQueryResponse) -> TradeInfo {
    TradeInfo {
        trade_no: r.trade_no.clone(),
        amount: parse_amount_or_warn("total_amount", r.total_amount()),
        paid_at: r.send_pay_date.clone(),
        buyer: r.buyer_logon_id.clone(),
        currency: None,
        merchant_id: None,
    }
}

fn other_order(field: Option<&str>, out_trade_no: &str) -> bool {
    field.is_some_and(|f| !f.is_empty() && f != out_trade_no)
}

fn classify_pay(r: &TradePayResponse, out_trade_no: &str) -> PayStep {
    let c = &r.common;
    if other_order(r.out_trade_no.as_deref(), out_trade_no) {
        return PayStep::Done(PayResult::Unknown(
            "Alipay's answer is about a different order number; the result is unknown".into(),
        ));
    }
    if c.is_success() {
        return PayStep::Done(PayResult::Paid(pay_info(r)));
    }
    if c.is_pay_in_progress() {
        return PayStep::Done(PayResult::Waiting(pay_info(r)));
    }
    if c.is_unknown_outcome() {
        return PayStep::Done(PayResult::Unknown(unknown_words(c)));
    }
    if c.code == code::BUSINESS_FAILED && c.sub_code.as_deref() == Some(sub_code::TRADE_HAS_SUCCESS) {
        return PayStep::ConfirmByQuery;
    }
    match refusal(c, pay_words) {
        Some(failure) => PayStep::Done(PayResult::Failed(failure)),
        None => PayStep::Done(PayResult::Unknown(format!(
            "Alipay answered with code {} ({}), which TillDesk does not know; the result is unknown",
            c.code,
            c.msg.trim()
        ))),
    }
}

fn classify_query(r: &TradeQueryResponse, out_trade_no: &str) -> QueryResult {
    let c = &r.common;
    if c.is_success() {
        if other_order(r.out_trade_no.as_deref(), out_trade_no) {
            return QueryResult::Unknown("Alipay's answer is about a different order number".into());
        }
        return match r.status() {
            Some(s) if s.is_paid() => QueryResult::Paid(query_info(r)),
            Some(TradeStatus::WaitBuyerPay) => QueryResult::Waiting(query_info(r)),
            Some(TradeStatus::TradeClosed) => QueryResult::Closed(query_info(r)),
            _ => QueryResult::Unknown(format!(
                "Alipay reported the trade status {:?}, which TillDesk does not know",
                r.trade_status.as_deref().unwrap_or("")
            )),
        };
    }
    if c.code == code::BUSINESS_FAILED && c.sub_code.as_deref() == Some(sub_code::TRADE_NOT_EXIST) {
        return QueryResult::NotFound;
    }
    QueryResult::Unknown(failure_summary(c))
}

fn classify_cancel(r: &TradeCancelResponse) -> CancelResult {
    let c = &r.common;
    if r.should_retry() {
        return CancelResult::Retry(if c.is_success() {
            "Alipay asks for the cancel to be sent again (retry_flag=Y)".into()
        } else {
            format!("Alipay asks for the cancel to be sent again (retry_flag=Y, {})", failure_summary(c))
        });
    }
    if c.is_success() {
        return CancelResult::Done { refunded: r.cancel_action() == Some(wire::CancelAction::Refund) };
    }
    if c.is_unknown_outcome() {
        // The documented answer to ACQ.SYSTEM_ERROR / 20000 on cancel is to call it again.
        return CancelResult::Retry(format!(
            "Alipay had a transient error; send the cancel again ({})",
            failure_summary(c)
        ));
    }
    match refusal(c, cancel_words) {
        Some(failure) => CancelResult::Failed(failure),
        None => CancelResult::Unknown(failure_summary(c)),
    }
}

fn classify_refund(r: &TradeRefundResponse) -> RefundResult {
    let c = &r.common;
    if c.is_success() {
        return RefundResult::Accepted { state: RefundState::Success, refund_no: None };
    }
    if c.is_unknown_outcome() {
        return RefundResult::Unknown(format!(
            "Alipay had a transient error; send the refund again with the same refund number ({})",
            failure_summary(c)
        ));
    }
    match refusal(c, refund_words) {
        Some(failure) => RefundResult::Failed(failure),
        None => RefundResult::Unknown(failure_summary(c)),
    }
}

fn classify_refund_query(r: &RefundQueryResponse) -> RefundQueryResult {
    let c = &r.common;
    if c.is_success() {
        return match r.refund_status.as_deref() {
            Some(wire::REFUND_SUCCESS) => RefundQueryResult::Found(RefundState::Success),
            None | Some("") => RefundQueryResult::NotFound,
            Some(other) => RefundQueryResult::Unknown(format!(
                "Alipay reported the refund status {other:?}, which TillDesk does not know"
            )),
        };
    }
    if c.code == code::BUSINESS_FAILED && c.sub_code.as_deref() == Some(sub_code::TRADE_NOT_EXIST) {
        return RefundQueryResult::NotFound;
    }
    RefundQueryResult::Unknown(failure_summary(c))
}

fn classify_bill_url(r: &BillDownloadUrlQueryResponse) -> Result<reqwest::Url, BillResult> {
    let c = &r.common;
    if c.is_success() {
        let Some(url) = r.bill_download_url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Err(BillResult::Failed("Alipay gave no bill download address".into()));
        };
        return reqwest::Url::parse(url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| BillResult::Failed("Alipay's bill download address is not a web address".into()));
    }
    let sub = c.sub_code.as_deref().unwrap_or("");
    if sub.eq_ignore_ascii_case(sub_code::BILL_NOT_EXIST) || sub.to_ascii_uppercase().ends_with("BILL_NOT_EXIST") {
        return Err(BillResult::NoBill);
    }
    Err(BillResult::Failed(format!("Alipay did not give the bill: {}", failure_summary(c))))
}

/// `code sub_code: sub_msg` for logs and unknown results (auth codes in texts masked).
fn failure_summary(c: &CommonResponse) -> String {
    let mut s = format!("{} {}", c.code, c.msg.trim());
    if let Some(sub) = &c.sub_code {
        s.push_str(&format!(", {sub}"));
    }
    if let Some(m) = c.sub_msg.as_deref().filter(|m| !m.is_empty()) {
        // isv.invalid-signature echoes the whole signed string (with the payment code): never repeat it.
        if c.code != code::INVALID_ARGUMENTS {
            s.push_str(&format!(": {}", scrub_codes(m)));
        }
    }
    s
}

fn unknown_words(c: &CommonResponse) -> String {
    format!("Alipay could not say whether it went through ({}); query the order", failure_summary(c))
}

/// A definite refusal: a 40004 business failure in cashier words, or a gateway refusal that points at the settings.
/// `None` for codes that are not documented refusals.
fn refusal(c: &CommonResponse, business: fn(&str) -> Option<&'static str>) -> Option<Failure> {
    let sub = c.sub_code.clone().unwrap_or_default();
    match c.code.as_str() {
        code::BUSINESS_FAILED => {
            let message = match business(&sub) {
                Some(words) => words.to_owned(),
                None => {
                    let detail = c.sub_msg.as_deref().map(scrub_codes).unwrap_or_else(|| sub.clone());
                    format!("支付宝拒绝了请求 / Alipay refused the request: {detail}")
                }
            };
            Some(Failure { code: if sub.is_empty() { c.code.clone() } else { sub }, message })
        }
        code::INSUFFICIENT_TOKEN_PERMISSIONS => Some(Failure {
            code: non_empty_or(sub, &c.code),
            message: "商户授权令牌无效或已过期 / the merchant's authorisation (app_auth_token) is invalid or expired: \
                      renew it in the Alipay settings"
                .into(),
        }),
        code::MISSING_ARGUMENTS | code::INVALID_ARGUMENTS => {
            let message = match sub.as_str() {
                sub_code::INVALID_SIGNATURE => {
                    "支付宝验签失败 / Alipay could not verify TillDesk's signature: the app \
                                                 private key in the settings does not match the app public key \
                                                 uploaded to Alipay"
                        .to_owned()
                }
                sub_code::INVALID_APP_ID => {
                    "支付宝不认识这个 app_id / Alipay does not know this app_id: check the Alipay settings".to_owned()
                }
                _ => format!(
                    "支付宝拒绝了请求参数 / Alipay refused the request as malformed ({sub}): check the Alipay settings"
                ),
            };
            Some(Failure { code: non_empty_or(sub, &c.code), message })
        }
        code::INSUFFICIENT_PERMISSIONS => Some(Failure {
            code: non_empty_or(sub, &c.code),
            message: "这个应用没有开通当面付 / this Alipay app may not take barcode payments: sign the 当面付 product \
                      in the Alipay console"
                .into(),
        }),
        _ => None,
    }
}

fn non_empty_or(text: String, fallback: &str) -> String {
    if text.is_empty() { fallback.to_owned() } else { text }
}

/// trade.pay refusals in cashier words.
fn pay_words(sub: &str) -> Option<&'static str> {
    Some(match sub {
        sub_code::BUYER_BALANCE_NOT_ENOUGH | sub_code::BUYER_BANKCARD_BALANCE_NOT_ENOUGH => {
            "余额不足 / the customer's balance is not enough"
        }
        sub_code::PAYMENT_AUTH_CODE_INVALID => {
            "付款码无效或已过期，请顾客刷新付款码 / the payment code is invalid or expired: ask the customer to refresh it"
        }
        sub_code::TRADE_HAS_CLOSE => "这笔订单已关闭，请重新收款 / this order was closed: start a new sale",
        sub_code::TRADE_BUYER_NOT_MATCH => {
            "这个订单号已由另一位顾客支付 / this order number was paid by another customer: start a new sale"
        }
        sub_code::BUYER_SELLER_EQUAL => {
            "顾客和商户是同一个支付宝账户 / the customer's and the merchant's Alipay accounts are the same"
        }
        sub_code::TOTAL_FEE_EXCEED => "金额超出限额 / the amount is above Alipay's limit",
        sub_code::PAYMENT_FAIL | "ACQ.PULL_MOBILE_CASHIER_FAIL" | "ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE" => {
            "支付失败，请顾客换一种付款方式 / the payment failed: ask the customer to pay another way"
        }
        sub_code::PAYMENT_REQUEST_HAS_RISK => {
            "支付宝风控拒绝了这笔支付 / Alipay refused this payment for risk reasons: ask the customer to pay another way"
        }
        "ACQ.BUYER_ENABLE_STATUS_FORBID" => {
            "顾客的支付宝账户不可用 / the customer's Alipay account is restricted: ask the customer to pay another way"
        }
        "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR"
        | "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR"
        | "ACQ.BEYOND_PAY_RESTRICTION"
        | "ACQ.BEYOND_PER_RECEIPT_RESTRICTION" => {
            "超出顾客的支付限额 / the customer has reached a payment limit: ask the customer to pay another way"
        }
        "ACQ.ERROR_BALANCE_PAYMENT_DISABLE" => {
            "顾客关闭了余额支付 / the customer has turned off balance payments: ask the customer to choose another \
             funding source"
        }
        "ACQ.MOBILE_PAYMENT_SWITCH_OFF" | "ACQ.USER_FACE_PAYMENT_SWITCH_OFF" => {
            "顾客关闭了付款码支付 / the customer has turned off payment codes in Alipay"
        }
        "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT" => {
            "顾客未完成实名认证 / the customer's Alipay account is not verified (实名认证) and cannot pay yet"
        }
        "ACQ.SELLER_BEEN_BLOCKED" => "商户的支付宝账户被限制收款 / the merchant's Alipay account may not take payments",
        sub_code::INVALID_STORE_ID => "门店编号无效 / the store id (store_id) is not valid: check the store settings",
        sub_code::ACCESS_FORBIDDEN
        | "ACQ.PARTNER_ERROR"
        | "ACQ.SUB_MERCHANT_CREATE_FAIL"
        | "ACQ.SUB_MERCHANT_TYPE_INVALID" => {
            "商户没有当面付权限 / the merchant may not take barcode payments: check the Alipay contract"
        }
        sub_code::EXIST_FORBIDDEN_WORD => "商品名称含有违禁词 / the item name contains a forbidden word: change it",
        sub_code::CONTEXT_INCONSISTENT => {
            "订单号已用于不同内容的交易 / this order number was used with different details: start a new sale"
        }
        sub_code::INVALID_PARAMETER => {
            "支付宝认为请求参数无效 / Alipay found the request invalid: check the amount and the order details"
        }
        _ => return None,
    })
}

/// trade.cancel refusals in plain words.
fn cancel_words(sub: &str) -> Option<&'static str> {
    Some(match sub {
        sub_code::TRADE_CANCEL_TIME_OUT => "已超过撤销期限 / the payment is too old to cancel: refund it instead",
        sub_code::CANCEL_NOT_ALLOWED | sub_code::TRADE_HAS_FINISHED => {
            "这笔交易不能撤销 / Alipay does not allow this payment to be cancelled: refund it instead"
        }
        sub_code::REASON_TRADE_REFUND_FEE_ERR => {
            "这笔交易已有退款，不能撤销 / this payment was already (partly) refunded and cannot be cancelled"
        }
        sub_code::REASON_TRADE_BEEN_FREEZEN => "交易被冻结，不能撤销 / Alipay has frozen this payment",
        sub_code::SELLER_BALANCE_NOT_ENOUGH => {
            "商户余额不足，无法退回 / the merchant's Alipay balance is too low to return the money"
        }
        sub_code::TRADE_NOT_EXIST => "交易不存在 / Alipay has no such trade",
        sub_code::INVALID_PARAMETER => "支付宝认为请求参数无效 / Alipay found the request invalid",
        _ => return None,
    })
}

/// trade.refund refusals in plain words.
fn refund_words(sub: &str) -> Option<&'static str> {
    Some(match sub {
        sub_code::REFUND_AMT_NOT_EQUAL_TOTAL => {
            "退款金额超过可退金额 / the refund is more than what can still be refunded on this payment"
        }
        sub_code::DISCORDANT_REPEAT_REQUEST => {
            "这个退款单号已用于不同的金额 / this refund number was already used for a different amount"
        }
        sub_code::SELLER_BALANCE_NOT_ENOUGH => {
            "商户余额不足 / the merchant's Alipay balance is not enough for this refund"
        }
        sub_code::TRADE_NOT_EXIST => "交易不存在 / Alipay has no such trade",
        sub_code::TRADE_STATUS_ERROR => "交易未支付或已关闭 / the payment is not paid or already closed",
        sub_code::TRADE_HAS_FINISHED | sub_code::TRADE_NOT_ALLOW_REFUND => {
            "这笔交易已不能退款 / this payment can no longer be refunded"
        }
        sub_code::REASON_TRADE_BEEN_FREEZEN => "交易被冻结，不能退款 / Alipay has frozen this payment",
        sub_code::REASON_TRADE_REFUND_FEE_ERR => "退款金额无效 / the refund amount is not valid",
        sub_code::INVALID_PARAMETER => "支付宝认为请求参数无效 / Alipay found the refund request invalid",
        _ => return None,
    })
}

/// Checks what Alipay would refuse anyway, before anything is sent.
fn check_order(out_trade_no: &str, amount: Amount, subject: &str) -> Option<Failure> {
    let out = out_trade_no.trim();
    if out.is_empty() || out.len() > 64 || out != out_trade_no {
        return Some(Failure {
            code: "NOT_SENT".into(),
            message: "订单号无效 / the order number (out_trade_no) must be 1 to 64 characters without spaces".into(),
        });
    }
    if amount.fen() <= 0 || amount > MAX_AMOUNT {
        return Some(Failure {
            code: "NOT_SENT".into(),
            message: format!("金额无效 / the amount {amount} is not between 0.01 and 100000000"),
        });
    }
    if subject.trim().is_empty() {
        return Some(Failure {
            code: "NOT_SENT".into(),
            message: "订单标题为空 / the sale has no description (subject)".into(),
        });
    }
    None
}

fn log_pay(out_trade_no: &str, result: &PayResult) {
    match result {
        PayResult::Paid(info) => {
            tracing::info!(%out_trade_no, trade_no = ?info.trade_no, "alipay pay: paid")
        }
        PayResult::Waiting(_) => tracing::info!(%out_trade_no, "alipay pay: waiting for the customer"),
        PayResult::Unknown(reason) => tracing::warn!(%out_trade_no, %reason, "alipay pay: result unknown"),
        PayResult::Failed(f) => tracing::info!(%out_trade_no, code = %f.code, "alipay pay: refused"),
    }
}

fn result_name_query(result: &QueryResult) -> &'static str {
    match result {
        QueryResult::Paid(_) => "paid",
        QueryResult::Waiting(_) => "waiting",
        QueryResult::Closed(_) => "closed",
        QueryResult::NotFound => "not found",
        QueryResult::Unknown(_) => "unknown",
    }
}

/// `downloadFileName` of an Alipay bill link, as a bare file name.
fn file_name_from_url(url: &reqwest::Url) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == "downloadFileName").and_then(|(_, v)| safe_file_name(&v))
}

fn file_name_from_disposition(value: &str) -> Option<String> {
    let start = value.find("filename=")? + "filename=".len();
    safe_file_name(value[start..].split(';').next()?.trim().trim_matches('"'))
}

/// The last path component, if it is a plain, non-empty name.
fn safe_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next()?.trim();
    (!last.is_empty() && last != "." && last != ".." && !last.chars().any(char::is_control)).then(|| last.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const KEYS: &str = include_str!("../../../tests/vectors/test_keys.json");

    fn keys() -> Value {
        serde_json::from_str(KEYS).unwrap()
    }

    fn config(private: &str, public: &str) -> AlipayConfig {
        AlipayConfig {
            gateway_url: "https://openapi.alipay.com/gateway.do".into(),
            app_id: "2021000000000001".into(),
            app_private_key: private.into(),
            alipay_public_key: public.into(),
            app_auth_token: Some("202511BBsecret-token".into()),
            ..AlipayConfig::default()
        }
    }

    fn key(who: &str, form: &str) -> String {
        keys()[who][form].as_str().unwrap().to_owned()
    }

    #[test]
    fn every_key_form_is_accepted() {
        for private in ["pkcs1_pem", "pkcs8_pem", "pkcs1_b64"] {
            for public in ["spki_pem", "spki_b64"] {
                AlipayClient::new(config(&key("app", private), &key("platform", public)), reqwest::Client::new())
                    .unwrap_or_else(|e| panic!("{private} / {public}: {e}"));
            }
        }
    }

    #[test]
    fn config_errors_name_the_setting() {
        let http = reqwest::Client::new;
        let good_private = key("app", "pkcs8_pem");
        let good_public = key("platform", "spki_b64");

        let e = AlipayClient::new(config("not a key", &good_public), http()).unwrap_err();
        assert!(matches!(e, ClientError::AlipayPrivateKey(_)), "{e:?}");
        assert!(e.to_string().contains("app private key (应用私钥)"), "{e}");

        let e = AlipayClient::new(config(&key("app", "spki_pem"), &good_public), http()).unwrap_err();
        assert!(e.to_string().contains("应用私钥") && e.to_string().contains("public key"), "{e}");

        let e = AlipayClient::new(config(&good_private, &key("platform", "pkcs8_pem")), http()).unwrap_err();
        assert!(matches!(e, ClientError::AlipayPublicKey(_)), "{e:?}");
        assert!(e.to_string().contains("支付宝公钥"), "{e}");

        let e = AlipayClient::new(config(&good_private, "MIIB garbage"), http()).unwrap_err();
        assert!(e.to_string().starts_with("the Alipay public key (支付宝公钥) cannot be used"), "{e}");

        let e = AlipayClient::new(config(&good_private, "  "), http()).unwrap_err();
        assert!(matches!(e, ClientError::MissingSetting { .. }), "{e:?}");

        let e = AlipayClient::new(AlipayConfig { app_id: " ".into(), ..config(&good_private, &good_public) }, http())
            .unwrap_err();
        assert!(e.to_string().contains("app_id"), "{e}");

        for url in ["", "openapi.alipay.com/gateway.do", "ftp://x/gateway.do", "https://"] {
            let e = AlipayClient::new(
                AlipayConfig { gateway_url: url.into(), ..config(&good_private, &good_public) },
                http(),
            )
            .unwrap_err();
            assert!(matches!(e, ClientError::GatewayUrl { .. }), "{url}: {e:?}");
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let private = key("app", "pkcs1_pem");
        let public = key("platform", "spki_b64");
        let cfg = config(&private, &public);
        let shown = format!("{cfg:?} {cfg:#?}");
        let client = AlipayClient::new(cfg, reqwest::Client::new()).unwrap();
        let shown = format!("{shown} {client:?}");
        for secret in [&private, &public, &key("app", "pkcs1_b64")] {
            let body: String = secret.lines().filter(|l| !l.starts_with("-----")).collect();
            for chunk in body.as_bytes().chunks(24) {
                let chunk = std::str::from_utf8(chunk).unwrap();
                assert!(!shown.contains(chunk), "Debug leaks key material: {chunk}");
            }
        }
        assert!(!shown.contains("BEGIN") && !shown.contains("secret-token"), "{shown}");
        assert!(shown.contains("2021000000000001") && shown.contains("<redacted>"), "{shown}");
    }

    fn pay_response(node: Value) -> TradePayResponse {
        wire::decode_node(node).unwrap()
    }

    #[test]
    fn pay_codes_are_classified_as_documented() {
        let paid = pay_response(json!({"code": "10000", "msg": "Success", "out_trade_no": "o1", "trade_no": "t1",
            "total_amount": "88.88", "buyer_logon_id": "159****5620", "gmt_payment": "2026-11-25 10:00:00"}));
        let PayStep::Done(PayResult::Paid(info)) = classify_pay(&paid, "o1") else { panic!() };
        assert_eq!(info.trade_no.as_deref(), Some("t1"));
        assert_eq!(info.amount, Some(Amount::from_fen(8888)));
        assert_eq!(info.buyer.as_deref(), Some("159****5620"));
        assert_eq!(info.paid_at.as_deref(), Some("2026-11-25 10:00:00"));

        let other = classify_pay(&paid, "o2");
        assert!(matches!(other, PayStep::Done(PayResult::Unknown(_))), "an answer about another order is unknown");

        let waiting = pay_response(json!({"code": "10003", "msg": " order success pay inprocess"}));
        assert!(matches!(classify_pay(&waiting, "o1"), PayStep::Done(PayResult::Waiting(_))));

        for unknown in [
            json!({"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error"}),
            json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": "系统错误"}),
            json!({"code": "50000", "msg": "New code"}),
        ] {
            assert!(
                matches!(classify_pay(&pay_response(unknown.clone()), "o1"), PayStep::Done(PayResult::Unknown(_))),
                "{unknown}"
            );
        }

        let has_success =
            pay_response(json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_HAS_SUCCESS"}));
        assert!(matches!(classify_pay(&has_success, "o1"), PayStep::ConfirmByQuery));

        let balance = pay_response(json!({"code": "40004", "msg": "Business Failed",
            "sub_code": "ACQ.BUYER_BALANCE_NOT_ENOUGH", "sub_msg": "买家余额不足"}));
        let PayStep::Done(PayResult::Failed(f)) = classify_pay(&balance, "o1") else { panic!() };
        assert_eq!(f.code, "ACQ.BUYER_BALANCE_NOT_ENOUGH");
        assert_eq!(f.message, "余额不足 / the customer's balance is not enough");

        let expired = pay_response(json!({"code": "40004", "msg": "Business Failed",
            "sub_code": "ACQ.PAYMENT_AUTH_CODE_INVALID", "sub_msg": "支付授权码无效"}));
        let PayStep::Done(PayResult::Failed(f)) = classify_pay(&expired, "o1") else { panic!() };
        assert_eq!(
            f.message,
            "付款码无效或已过期，请顾客刷新付款码 / the payment code is invalid or expired: ask the customer to refresh it"
        );

        let novel = pay_response(json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SOMETHING_NEW",
            "sub_msg": "码 2800000000000105 不可用"}));
        let PayStep::Done(PayResult::Failed(f)) = classify_pay(&novel, "o1") else { panic!() };
        assert!(f.message.contains("Alipay refused") && f.message.contains("280000******0105"), "{}", f.message);

        let bad_sign = pay_response(json!({"code": "40002", "msg": "Invalid Arguments",
            "sub_code": "isv.invalid-signature", "sub_msg": "验签字符串为：auth_code=2800000000000105&…"}));
        let PayStep::Done(PayResult::Failed(f)) = classify_pay(&bad_sign, "o1") else { panic!() };
        assert!(f.message.contains("app private key") && !f.message.contains("2800000000000105"), "{}", f.message);
        assert!(!failure_summary(&bad_sign.common).contains("2800"), "the signed string is never repeated");
    }

    #[test]
    fn query_cancel_refund_and_bill_codes() {
        let q = |node: Value| classify_query(&wire::decode_node(node).unwrap(), "o1");
        assert!(matches!(
            q(json!({"code": "10000", "msg": "Success", "trade_status": "TRADE_SUCCESS"})),
            QueryResult::Paid(_)
        ));
        assert!(matches!(
            q(json!({"code": "10000", "msg": "Success", "trade_status": "TRADE_FINISHED"})),
            QueryResult::Paid(_)
        ));
        assert!(matches!(
            q(json!({"code": "10000", "msg": "Success", "trade_status": "WAIT_BUYER_PAY"})),
            QueryResult::Waiting(_)
        ));
        assert!(matches!(
            q(json!({"code": "10000", "msg": "Success", "trade_status": "TRADE_CLOSED"})),
            QueryResult::Closed(_)
        ));
        assert!(matches!(q(json!({"code": "10000", "msg": "Success"})), QueryResult::Unknown(_)));
        assert_eq!(
            q(json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"})),
            QueryResult::NotFound
        );
        assert!(matches!(q(json!({"code": "20000", "msg": "x"})), QueryResult::Unknown(_)));

        let c = |node: Value| classify_cancel(&wire::decode_node(node).unwrap());
        assert!(matches!(c(json!({"code": "10000", "msg": "Success", "retry_flag": "Y"})), CancelResult::Retry(_)));
        assert_eq!(
            c(json!({"code": "10000", "msg": "Success", "retry_flag": "N", "action": "refund"})),
            CancelResult::Done { refunded: true }
        );
        assert_eq!(
            c(json!({"code": "10000", "msg": "Success", "retry_flag": "N", "action": "close"})),
            CancelResult::Done { refunded: false }
        );
        assert!(matches!(
            c(json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR",
            "retry_flag": "Y"})),
            CancelResult::Retry(_)
        ));
        assert!(matches!(c(json!({"code": "20000", "msg": "x"})), CancelResult::Retry(_)));
        let CancelResult::Failed(f) = c(json!({"code": "40004", "msg": "Business Failed",
            "sub_code": "ACQ.TRADE_CANCEL_TIME_OUT", "retry_flag": "N"}))
        else {
            panic!()
        };
        assert!(f.message.contains("refund it instead"), "{}", f.message);

        let r = |node: Value| classify_refund(&wire::decode_node(node).unwrap());
        assert_eq!(
            r(json!({"code": "10000", "msg": "Success", "fund_change": "N", "refund_fee": "1.00"})),
            RefundResult::Accepted { state: RefundState::Success, refund_no: None }
        );
        assert!(matches!(
            r(json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR"})),
            RefundResult::Unknown(_)
        ));
        let RefundResult::Failed(f) = r(json!({"code": "40004", "msg": "Business Failed",
            "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"}))
        else {
            panic!()
        };
        assert_eq!(f.code, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");

        let rq = |node: Value| classify_refund_query(&wire::decode_node(node).unwrap());
        assert_eq!(
            rq(json!({"code": "10000", "msg": "Success", "refund_status": "REFUND_SUCCESS"})),
            RefundQueryResult::Found(RefundState::Success)
        );
        assert_eq!(rq(json!({"code": "10000", "msg": "Success"})), RefundQueryResult::NotFound);
        assert!(matches!(rq(json!({"code": "20000", "msg": "x"})), RefundQueryResult::Unknown(_)));

        let b = |node: Value| classify_bill_url(&wire::decode_node(node).unwrap());
        assert_eq!(
            b(json!({"code": "40004", "msg": "Business Failed", "sub_code": "isp.bill_not_exist"})).unwrap_err(),
            BillResult::NoBill
        );
        assert_eq!(
            b(json!({"code": "40004", "msg": "Business Failed", "sub_code": "BILL_NOT_EXIST"})).unwrap_err(),
            BillResult::NoBill
        );
        assert!(matches!(b(json!({"code": "10000", "msg": "Success"})), Err(BillResult::Failed(_))));
        let url = b(json!({"code": "10000", "msg": "Success", "bill_download_url":
            "http://dwbillcenter.alipay.com/downloadBillFile.resource?bizType=trade&downloadFileName=20880000000000000156_20160623.csv.zip"}))
        .unwrap();
        assert_eq!(file_name_from_url(&url).as_deref(), Some("20880000000000000156_20160623.csv.zip"));
    }

    #[test]
    fn file_names_are_plain() {
        assert_eq!(safe_file_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(safe_file_name("a\\b.zip").as_deref(), Some("b.zip"));
        assert_eq!(safe_file_name(".."), None);
        assert_eq!(file_name_from_disposition("attachment; filename=\"x_1.csv.zip\"").as_deref(), Some("x_1.csv.zip"));
    }

    #[test]
    fn extend_params_carry_the_service_provider() {
        let cfg = AlipayConfig {
            sys_service_provider_id: Some("2088511833207846".into()),
            ..config(&key("app", "pkcs8_pem"), &key("platform", "spki_pem"))
        };
        let client = AlipayClient::new(cfg, reqwest::Client::new()).unwrap();
        let request = TradePayRequest::bar_code("o1", "28763443825664394", "咖啡", Amount::from_fen(100));
        let biz: Value = serde_json::from_str(&client.biz_content_for(&request).unwrap()).unwrap();
        assert_eq!(biz["extend_params"]["sys_service_provider_id"], "2088511833207846");
        assert_eq!(biz["scene"], "bar_code");
        assert_eq!(biz["total_amount"], "1.00");
    }

    #[test]
    fn orders_alipay_would_refuse_are_not_sent() {
        assert!(check_order("o1", Amount::from_fen(1), "x").is_none());
        assert!(check_order("", Amount::from_fen(1), "x").is_some());
        assert!(check_order(&"o".repeat(65), Amount::from_fen(1), "x").is_some());
        assert!(check_order("o1", Amount::ZERO, "x").is_some());
        assert!(check_order("o1", Amount::from_fen(10_000_000_001), "x").is_some());
        assert!(check_order("o1", Amount::from_fen(1), " ").is_some());
    }
}
