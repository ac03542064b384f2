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
    self, BillDownloadUrlQueryRequest, BillDownloadUrlQueryResponse, CommonParams, Method, RefundQueryRequest,
    RefundQueryResponse, TradeCancelRequest, TradeCancelResponse, TradePayRequest, TradePayResponse, TradeQueryRequest,
    TradeQueryResponse, TradeRefundRequest, TradeRefundResponse,
};
use crate::channel::auth_code::{CodeOwner, route_auth_code};
use crate::channel::client_error::{ClientError, check_gateway_url, transport_words};
use crate::channel::{
    BillResult, BoxFuture, CancelResult, Channel, CloseResult, Failure, PayRequest, PayResult, PrecreateRequest,
    PrecreateResult, QueryResult, RefundQueryResult, RefundRequest, RefundResult,
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

/// Classifying verified answers as Alipay documents each code, and the cashier's words for refusals.
mod classify;
/// Dynamic codes (主扫): `alipay.trade.precreate` and `alipay.trade.close`.
mod dynamic;

use classify::*;

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
    use crate::channel::RefundState;
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
