//! The WeChat Pay API v2 client behind [`Channel`]: 付款码支付 (`/pay/micropay`), order query, reverse (撤销),
//! refund, refund query and the daily bill.
//!
//! Every request is a flat `<xml>` document signed with the merchant's 32-character API key (MD5 by default,
//! HMAC-SHA256 when configured, in which case `sign_type` is sent and signed). **A reply is believed only after its
//! signature checks out** with the same key and algorithm ([`wire::parse_and_verify_response`]); a reply that is
//! unsigned, signed wrongly, cut short, not XML, an HTTP error, a timeout or a lost connection is "unknown", never a
//! success and never a definite failure. `return_code=FAIL` replies are unsigned by design, so they are reported
//! (their `return_msg` helps fix the settings) but treated as unknown for anything that moves money.
//!
//! The `secapi` calls (reverse, refund) present the merchant's API certificate (`apiclient_cert.p12`, see [`cert`])
//! as TLS client authentication when one is configured; the sandbox serves plain HTTP on loopback and needs none. A
//! live client is built with [`WechatConfig::require_api_certificate`]: without a usable certificate those calls fail
//! at once, before anything is sent, with words that say how to import one.
//!
//! `spbill_create_ip` (micropay) is the till's own address: left empty in the settings, it is the local address of a
//! UDP socket connected to the gateway's host ([`local_address_towards`]), found at the first payment.
//!
//! Classification follows the v2 documents: micropay `SUCCESS` paid; `USERPAYING` waiting for the password;
//! `SYSTEMERROR`/`BANKERROR` unknown; `ORDERPAID` (this out_trade_no is already paid) is confirmed by a query;
//! anything else is a definite failure explained in cashier words. orderquery `SUCCESS`/`REFUND` paid,
//! `USERPAYING`/`NOTPAY`/`ACCEPT` waiting, `CLOSED`/`REVOKED`/`PAYERROR` closed, `ORDERNOTEXIST` not found.
//! reverse: `recall=Y` or `SYSTEMERROR` means call again.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::bill::BillType;
use super::cert::{self, ApiCertificate, CertInfo};
use super::sign::SignType;
use super::wire::{
    self, DownloadBillReply, DownloadBillRequest, Endpoint, MerchantIds, MicropayRequest, MicropayResponse,
    OrderQueryRequest, OrderQueryResponse, Params, RefundQueryRequest, RefundQueryResponse, RefundRef,
    RefundRequest as WireRefundRequest, RefundResponse, ReverseRequest, ReverseResponse, TradeRef, WireError,
    WireMessage,
};
use crate::channel::auth_code::{CodeOwner, route_auth_code, scrub_codes};
use crate::channel::client_error::{ClientError, check_gateway_url, transport_words};
use crate::channel::{
    BillResult, BoxFuture, CancelResult, Channel, CloseResult, Failure, PayRequest, PayResult, PrecreateRequest,
    PrecreateResult, QueryResult, RefundQueryResult, RefundRequest, RefundResult,
};
use crate::model::AcquirerKind;
use crate::secrets::Secret;

/// The longest any one gateway call may take, whatever the HTTP client allows.
const CALL_CEILING: Duration = Duration::from_secs(30);

/// `body` is at most 128 characters.
const MAX_BODY_CHARS: usize = 128;

/// The settings of one WeChat Pay merchant (or a service provider acting for a sub-merchant).
///
/// `Debug` shows the identifiers but never the API key or the certificate.
#[derive(Clone)]
pub struct WechatConfig {
    /// `https://api.mch.weixin.qq.com` in production (the endpoint paths are appended).
    pub gateway_url: String,
    pub appid: String,
    pub mch_id: String,
    /// Service-provider mode (服务商): the sub-merchant's ids.
    pub sub_appid: Option<String>,
    pub sub_mch_id: Option<String>,
    /// The 32-character API v2 key (API密钥).
    pub api_key: Secret,
    pub sign_type: SignType,
    /// The till's IP address, required by micropay. Empty: the local address used to reach the gateway, found at
    /// the first payment ([`local_address_towards`]; 127.0.0.1 when it cannot be found).
    pub spbill_create_ip: String,
    /// The terminal (device_info), sent with micropay.
    pub device_info: Option<String>,
    /// The merchant API certificate (apiclient_cert.p12) for reverse and refund, and its password (the mch_id
    /// unless changed).
    pub client_certificate_p12: Option<Vec<u8>>,
    pub client_certificate_password: Option<String>,
    /// The same certificate already read (the live till keeps it in its vault); used when the p12 is not given.
    pub api_certificate: Option<ApiCertificate>,
    /// Refuse reverse and refund at once, with plain words, when there is no certificate or it has expired (the live
    /// gateway demands one; the sandbox does not).
    pub require_api_certificate: bool,
    /// Extra root certificates (PEM) the gateway's TLS certificate may chain to, besides the system's (a private
    /// gateway; tests). Used for the certificate calls here; give the plain `reqwest::Client` the same roots.
    pub extra_root_certificates_pem: Option<String>,
    /// Where WeChat posts the refund result (optional).
    pub refund_notify_url: Option<String>,
    /// Where WeChat posts the result of a NATIVE (dynamic-code) payment. The till polls, so this is optional;
    /// WeChat requires the field, and without one the loopback address is named ([`NO_NOTIFY_URL`]).
    pub notify_url: Option<String>,
}

impl Default for WechatConfig {
    fn default() -> Self {
        WechatConfig {
            gateway_url: wire::GATEWAY.to_owned(),
            appid: String::new(),
            mch_id: String::new(),
            sub_appid: None,
            sub_mch_id: None,
            api_key: Secret::default(),
            sign_type: SignType::Md5,
            spbill_create_ip: "127.0.0.1".to_owned(),
            device_info: None,
            client_certificate_p12: None,
            client_certificate_password: None,
            api_certificate: None,
            require_api_certificate: false,
            extra_root_certificates_pem: None,
            refund_notify_url: None,
            notify_url: None,
        }
    }
}

impl fmt::Debug for WechatConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatConfig")
            .field("gateway_url", &self.gateway_url)
            .field("appid", &self.appid)
            .field("mch_id", &self.mch_id)
            .field("sub_appid", &self.sub_appid)
            .field("sub_mch_id", &self.sub_mch_id)
            .field("api_key", &self.api_key)
            .field("sign_type", &self.sign_type)
            .field("spbill_create_ip", &self.spbill_create_ip)
            .field("device_info", &self.device_info)
            .field("client_certificate_p12", &self.client_certificate_p12.as_ref().map(|_| "<redacted>"))
            .field("api_certificate", &self.api_certificate.as_ref().map(ApiCertificate::info))
            .field("require_api_certificate", &self.require_api_certificate)
            .finish_non_exhaustive()
    }
}

/// A WeChat Pay merchant, ready to call the gateway.
#[derive(Clone)]
pub struct WechatClient {
    gateway_url: String,
    merchant: MerchantIds,
    api_key: Secret,
    sign_type: SignType,
    spbill_create_ip: Spbill,
    device_info: Option<String>,
    refund_notify_url: Option<String>,
    notify_url: Option<String>,
    http: reqwest::Client,
    /// How the `secapi/*` calls go out.
    secapi: Secapi,
}

/// `spbill_create_ip`: fixed in the settings, or found once from the socket that reaches the gateway (shared by
/// the clients acting for sub-merchants).
#[derive(Clone)]
enum Spbill {
    Fixed(String),
    Detect(std::sync::Arc<tokio::sync::OnceCell<String>>),
}

/// The `secapi/*` calls: with the merchant certificate, with the plain client (none configured, none required), or
/// refused before sending (none configured but required).
#[derive(Clone)]
enum Secapi {
    WithCertificate { http: reqwest::Client, info: Option<CertInfo> },
    Plain,
    Refused,
}

/// What a live till says when reverse or refund cannot go out for want of the certificate.
pub const MISSING_CERTIFICATE: &str = "the WeChat Pay API certificate (apiclient_cert.p12) is not imported: tilldesk \
                                       keys import-cert --acquirer WECHATPAY FILE.p12";

/// Why a call's result is unknown: the request may or may not have been acted on. Its words become the reason of
/// the `Unknown` result the caller sees.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    #[error("{MISSING_CERTIFICATE}")]
    NoCertificate,
    #[error("{0}")]
    Transport(String),
    #[error("WeChat Pay answered with an HTTP error ({0}), so the result is unknown")]
    HttpStatus(reqwest::StatusCode),
    #[error("the answer from WeChat Pay was cut off ({0}), so the result is unknown")]
    CutOff(#[source] reqwest::Error),
    #[error("WeChat Pay did not answer within {secs} s, so the result is unknown")]
    Timeout { secs: u64 },
    #[error("the answer from WeChat Pay is not UTF-8 text")]
    NotUtf8,
    #[error(
        "WeChat Pay refused the request (return_code=FAIL: {return_msg}); check the WeChat Pay settings (mch_id, API \
         key); the result is unknown"
    )]
    ReturnFail { return_msg: String },
    #[error("WeChat Pay's answer cannot be trusted ({0}); the result is unknown")]
    Untrusted(#[source] WireError),
    #[error("the verified answer is not usable: {0}")]
    Unusable(#[source] WireError),
}

impl fmt::Debug for WechatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatClient")
            .field("gateway_url", &self.gateway_url)
            .field("mch_id", &self.merchant.mch_id)
            .finish_non_exhaustive()
    }
}

fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl WechatClient {
    /// Checks the settings; the error names the one to fix.
    pub fn new(config: WechatConfig, http: reqwest::Client) -> Result<Self, ClientError> {
        let gateway_url = check_gateway_url("WeChat Pay", &config.gateway_url)?.trim_end_matches('/').to_owned();
        let appid = config.appid.trim().to_owned();
        let mch_id = config.mch_id.trim().to_owned();
        if appid.is_empty() {
            return Err(ClientError::MissingSetting { channel: "WeChat Pay", field: "appid" });
        }
        if mch_id.is_empty() {
            return Err(ClientError::MissingSetting { channel: "WeChat Pay", field: "mch_id" });
        }
        let api_key = Secret::from(config.api_key.expose().trim());
        if api_key.expose().chars().count() != 32 {
            return Err(ClientError::WechatApiKey { len: api_key.expose().chars().count() });
        }
        let spbill_create_ip = config.spbill_create_ip.trim().to_owned();
        let spbill_create_ip = if spbill_create_ip.is_empty() {
            Spbill::Detect(std::sync::Arc::new(tokio::sync::OnceCell::new()))
        } else if spbill_create_ip.parse::<IpAddr>().is_err() {
            return Err(ClientError::InvalidSetting {
                channel: "WeChat Pay",
                field: "spbill_create_ip",
                reason: format!("{spbill_create_ip:?} is not an IP address"),
            });
        } else {
            Spbill::Fixed(spbill_create_ip)
        };
        let certificate = match &config.client_certificate_p12 {
            Some(p12) => {
                let password = zeroize::Zeroizing::new(
                    config.client_certificate_password.clone().unwrap_or_else(|| mch_id.clone()),
                );
                Some(
                    ApiCertificate::from_pkcs12(p12, &password)
                        .map_err(|e| ClientError::ClientCertificate { detail: e.to_string() })?,
                )
            }
            None => config.api_certificate,
        };
        let secapi = match certificate {
            Some(certificate) => Secapi::WithCertificate {
                http: secapi_client(&certificate, config.extra_root_certificates_pem.as_deref())?,
                info: Some(certificate.info().clone()),
            },
            None if config.require_api_certificate => Secapi::Refused,
            None => Secapi::Plain,
        };
        Ok(WechatClient {
            gateway_url,
            merchant: MerchantIds {
                appid,
                mch_id,
                sub_appid: non_blank(config.sub_appid),
                sub_mch_id: non_blank(config.sub_mch_id),
            },
            api_key,
            sign_type: config.sign_type,
            spbill_create_ip,
            device_info: non_blank(config.device_info),
            refund_notify_url: non_blank(config.refund_notify_url),
            notify_url: non_blank(config.notify_url),
            http,
            secapi,
        })
    }

    pub fn mch_id(&self) -> &str {
        &self.merchant.mch_id
    }

    /// The API certificate presented on the `secapi` calls, if any.
    pub fn api_certificate(&self) -> Option<&CertInfo> {
        match &self.secapi {
            Secapi::WithCertificate { info, .. } => info.as_ref(),
            _ => None,
        }
    }

    /// Why a `secapi` call cannot go out now (nothing is sent): no certificate though one is required, or it has
    /// expired.
    fn secapi_refusal(&self) -> Option<Failure> {
        match &self.secapi {
            Secapi::Refused => {
                Some(Failure { code: "NO_API_CERTIFICATE".into(), message: MISSING_CERTIFICATE.to_owned() })
            }
            Secapi::WithCertificate { info: Some(info), .. } => {
                info.check_time(time::OffsetDateTime::now_utc()).err().map(|e| Failure {
                    code: "API_CERTIFICATE_EXPIRED".into(),
                    message: format!("the WeChat Pay API certificate ({}) cannot be used: {e}", cert::CERT_FILE),
                })
            }
            _ => None,
        }
    }

    /// The till's address for `spbill_create_ip`.
    async fn spbill_create_ip(&self) -> String {
        match &self.spbill_create_ip {
            Spbill::Fixed(ip) => ip.clone(),
            Spbill::Detect(cell) => {
                cell.get_or_init(|| async { local_address_towards(&self.gateway_url).await.to_string() }).await.clone()
            }
        }
    }

    // -----------------------------------------------------------------------------------------------------------
    // One signed call

    async fn exchange(&self, endpoint: Endpoint, body: String) -> Result<Vec<u8>, CallError> {
        let http = match &self.secapi {
            Secapi::WithCertificate { http, .. } if endpoint.needs_client_cert() => http,
            Secapi::Refused if endpoint.needs_client_cert() => return Err(CallError::NoCertificate),
            _ => &self.http,
        };
        let url = format!("{}{}", self.gateway_url, endpoint.path());
        let exchange = async {
            let response = http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
                .body(body)
                .send()
                .await
                .map_err(|e| CallError::Transport(transport_words(&e)))?;
            let status = response.status();
            if !status.is_success() {
                return Err(CallError::HttpStatus(status));
            }
            response.bytes().await.map(|b| b.to_vec()).map_err(|e| CallError::CutOff(e.without_url()))
        };
        tokio::time::timeout(CALL_CEILING, exchange)
            .await
            .map_err(|_| CallError::Timeout { secs: CALL_CEILING.as_secs() })?
    }

    /// Signs and sends one request, then verifies and decodes the reply. Every error leaves the result unknown.
    async fn call<T: WireMessage>(&self, endpoint: Endpoint, fields: Params) -> Result<T, CallError> {
        let signed = wire::signed_request(fields, self.api_key.expose(), self.sign_type);
        let body = wire::to_xml(&signed);
        tracing::debug!(path = endpoint.path(), "wechat request");
        let bytes = self.exchange(endpoint, body).await?;
        let text = std::str::from_utf8(&bytes).map_err(|_| CallError::NotUtf8)?;
        let params =
            wire::parse_and_verify_response(text, self.api_key.expose(), self.sign_type).map_err(|e| match e {
                WireError::ReturnFail { return_msg } => CallError::ReturnFail { return_msg: scrub_codes(&return_msg) },
                other => CallError::Untrusted(other),
            })?;
        T::from_params(&params).map_err(CallError::Unusable)
    }

    // -----------------------------------------------------------------------------------------------------------
    // The operations

    async fn pay_impl(&self, req: &PayRequest) -> PayResult {
        let auth_code = req.auth_code.expose();
        let masked = req.auth_code.masked();
        match route_auth_code(auth_code) {
            Ok(CodeOwner::Wechat) => {}
            Ok(CodeOwner::Alipay) => {
                return PayResult::Failed(Failure {
                    code: "NOT_A_WECHAT_CODE".into(),
                    message:
                        "这是支付宝付款码，不是微信付款码 / this is an Alipay code, not a WeChat Pay code: take it \
                              with Alipay"
                            .into(),
                });
            }
            Err(not_a_code) => {
                return PayResult::Failed(Failure {
                    code: "NOT_A_PAYMENT_CODE".into(),
                    message: not_a_code.to_string(),
                });
            }
        }
        let body: String = req.subject.trim().chars().take(MAX_BODY_CHARS).collect();
        let request = MicropayRequest {
            merchant: self.merchant.clone(),
            device_info: non_blank(req.terminal_id.clone()).or_else(|| self.device_info.clone()),
            body: if body.is_empty() { "TillDesk".to_owned() } else { body },
            detail: None,
            attach: None,
            out_trade_no: req.out_trade_no.clone(),
            total_fee: req.amount,
            fee_type: None,
            spbill_create_ip: self.spbill_create_ip().await,
            goods_tag: None,
            limit_pay: None,
            time_start: None,
            time_expire: None,
            receipt: None,
            auth_code: auth_code.to_owned(),
            scene_info: None,
            profit_sharing: None,
            version: None,
        };
        if let Err(e) = request.validate() {
            // Nothing was sent: definite.
            return PayResult::Failed(Failure { code: "NOT_SENT".into(), message: scrub_codes(&e.to_string()) });
        }
        tracing::info!(out_trade_no = %req.out_trade_no, auth_code = %masked, amount = %req.amount, "wechat micropay");
        let response: MicropayResponse = match self.call(Endpoint::Micropay, request.to_params()).await {
            Ok(r) => r,
            Err(reason) => {
                tracing::warn!(out_trade_no = %req.out_trade_no, %reason, "wechat micropay: result unknown");
                return PayResult::Unknown(reason.to_string());
            }
        };
        match classify_micropay(&response, &req.out_trade_no) {
            PayStep::Done(result) => {
                tracing::info!(out_trade_no = %req.out_trade_no, result = pay_result_name(&result), "wechat micropay");
                result
            }
            PayStep::ConfirmByQuery => match self.query_impl(&req.out_trade_no).await {
                QueryResult::Paid(info) => PayResult::Paid(info),
                other => PayResult::Unknown(format!(
                    "WeChat Pay says this order number is already paid (ORDERPAID), but a query does not confirm it \
                     ({other:?})"
                )),
            },
        }
    }

    async fn query_impl(&self, out_trade_no: &str) -> QueryResult {
        let request =
            OrderQueryRequest { merchant: self.merchant.clone(), trade: TradeRef::OutTradeNo(out_trade_no.to_owned()) };
        match self.call::<OrderQueryResponse>(Endpoint::OrderQuery, request.to_params()).await {
            Ok(response) => {
                let result = classify_query(&response, out_trade_no);
                tracing::info!(%out_trade_no, result = query_result_name(&result), "wechat orderquery");
                result
            }
            Err(reason) => {
                tracing::warn!(%out_trade_no, %reason, "wechat orderquery: result unknown");
                QueryResult::Unknown(reason.to_string())
            }
        }
    }

    async fn cancel_impl(&self, out_trade_no: &str) -> CancelResult {
        if let Some(refused) = self.secapi_refusal() {
            tracing::warn!(%out_trade_no, "wechat reverse not sent: {}", refused.message);
            return CancelResult::Failed(refused);
        }
        let request =
            ReverseRequest { merchant: self.merchant.clone(), trade: TradeRef::OutTradeNo(out_trade_no.to_owned()) };
        let result = match self.call::<ReverseResponse>(Endpoint::Reverse, request.to_params()).await {
            Ok(response) => classify_reverse(&response),
            Err(reason) => CancelResult::Unknown(reason.to_string()),
        };
        tracing::info!(%out_trade_no, result = ?result, "wechat reverse");
        result
    }

    async fn refund_impl(&self, req: &RefundRequest) -> RefundResult {
        let request = WireRefundRequest {
            merchant: self.merchant.clone(),
            trade: TradeRef::OutTradeNo(req.out_trade_no.clone()),
            out_refund_no: req.out_request_no.clone(),
            total_fee: req.total_amount,
            refund_fee: req.refund_amount,
            refund_fee_type: None,
            refund_desc: non_blank(Some(req.reason.chars().take(80).collect())),
            refund_account: None,
            notify_url: self.refund_notify_url.clone(),
        };
        if let Err(e) = request.validate() {
            return RefundResult::Failed(Failure { code: "NOT_SENT".into(), message: e.to_string() });
        }
        if let Some(refused) = self.secapi_refusal() {
            tracing::warn!(out_request_no = %req.out_request_no, "wechat refund not sent: {}", refused.message);
            return RefundResult::Failed(refused);
        }
        tracing::info!(out_trade_no = %req.out_trade_no, out_request_no = %req.out_request_no,
            amount = %req.refund_amount, "wechat refund");
        let result = match self.call::<RefundResponse>(Endpoint::Refund, request.to_params()).await {
            Ok(response) => classify_refund(&response),
            Err(reason) => RefundResult::Unknown(reason.to_string()),
        };
        tracing::info!(out_trade_no = %req.out_trade_no, out_request_no = %req.out_request_no, result = ?result,
            "wechat refund");
        result
    }

    async fn refund_query_impl(&self, out_trade_no: &str, out_request_no: &str) -> RefundQueryResult {
        let request = RefundQueryRequest {
            merchant: self.merchant.clone(),
            target: RefundRef::OutRefundNo(out_request_no.to_owned()),
            offset: None,
        };
        match self.call::<RefundQueryResponse>(Endpoint::RefundQuery, request.to_params()).await {
            Ok(response) => classify_refund_query(&response, out_trade_no, out_request_no),
            Err(reason) => RefundQueryResult::Unknown(reason.to_string()),
        }
    }

    async fn bill_impl(&self, bill_date: time::Date) -> BillResult {
        let compact = format!("{:04}{:02}{:02}", bill_date.year(), u8::from(bill_date.month()), bill_date.day());
        let request = DownloadBillRequest {
            merchant: self.merchant.clone(),
            device_info: None,
            bill_date: compact.clone(),
            bill_type: BillType::All,
            tar_type: None,
        };
        if let Err(e) = request.validate() {
            return BillResult::Failed(e.to_string());
        }
        let signed = wire::signed_request(request.to_params(), self.api_key.expose(), self.sign_type);
        let bytes = match self.exchange(Endpoint::DownloadBill, wire::to_xml(&signed)).await {
            Ok(b) => b,
            Err(reason) => return BillResult::Failed(format!("the bill could not be downloaded: {reason}")),
        };
        match DownloadBillReply::parse(&bytes) {
            Ok(DownloadBillReply::Bill(text)) => {
                let file_name = format!("wechatpay_{}_{compact}_ALL.txt", self.merchant.mch_id);
                tracing::info!(%file_name, bytes = text.len(), "wechat bill downloaded");
                BillResult::Bill { file_name, bytes: text.into_bytes() }
            }
            Ok(DownloadBillReply::Fail { return_msg, error_code }) => {
                if error_code.as_deref() == Some("20002") || return_msg.eq_ignore_ascii_case("No Bill Exist") {
                    BillResult::NoBill
                } else {
                    BillResult::Failed(format!(
                        "WeChat Pay did not give the bill: {return_msg} (error_code {})",
                        error_code.as_deref().unwrap_or("-")
                    ))
                }
            }
            Err(e) => BillResult::Failed(format!("the bill download is not usable: {e}")),
        }
    }
}

/// A reqwest client that presents the merchant certificate (TLS client authentication), trusting `extra_roots`
/// (PEM) besides the system's roots.
fn secapi_client(certificate: &ApiCertificate, extra_roots: Option<&str>) -> Result<reqwest::Client, ClientError> {
    let identity = certificate.identity().map_err(|e| ClientError::ClientCertificate { detail: e.to_string() })?;
    let mut builder = reqwest::Client::builder().identity(identity).timeout(Duration::from_secs(15));
    for root in extra_root_certificates(extra_roots)? {
        builder = builder.add_root_certificate(root);
    }
    builder.build().map_err(|e| ClientError::HttpClient(e.to_string()))
}

/// The certificates of a PEM bundle of extra trusted roots (none when blank).
pub fn extra_root_certificates(pem: Option<&str>) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let Some(pem) = pem.map(str::trim).filter(|p| !p.is_empty()) else { return Ok(Vec::new()) };
    let roots = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| ClientError::InvalidSetting {
        channel: "WeChat Pay",
        field: "extra trusted root certificate",
        reason: e.to_string(),
    })?;
    if roots.is_empty() {
        return Err(ClientError::InvalidSetting {
            channel: "WeChat Pay",
            field: "extra trusted root certificate",
            reason: "no CERTIFICATE block in the PEM".into(),
        });
    }
    Ok(roots)
}

/// The local address this machine uses to reach the host of `gateway_url`: the address of a UDP socket
/// `connect`ed to it (no packet is sent). 127.0.0.1 when the host cannot be resolved or no route exists.
pub async fn local_address_towards(gateway_url: &str) -> IpAddr {
    let fallback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let Ok(url) = reqwest::Url::parse(gateway_url) else { return fallback };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else { return fallback };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let lookup = tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((host.as_str(), port))).await;
    let Ok(Ok(mut addrs)) = lookup else {
        tracing::warn!(%host, "the gateway's host cannot be resolved: spbill_create_ip falls back to 127.0.0.1");
        return fallback;
    };
    match addrs.next().map(local_address_for) {
        Some(Ok(ip)) if !ip.is_unspecified() => ip,
        _ => {
            tracing::warn!(%host, "no local address reaches the gateway: spbill_create_ip falls back to 127.0.0.1");
            fallback
        }
    }
}

/// The local address of a UDP socket connected to `target`.
pub fn local_address_for(target: SocketAddr) -> std::io::Result<IpAddr> {
    let any: SocketAddr = match target {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = std::net::UdpSocket::bind(any)?;
    socket.connect(target)?;
    Ok(socket.local_addr()?.ip())
}

impl Channel for WechatClient {
    fn kind(&self) -> AcquirerKind {
        AcquirerKind::WechatPay
    }

    fn for_merchant(&self, merchant_id: &str) -> Option<std::sync::Arc<dyn Channel>> {
        let mut scoped = self.clone();
        scoped.merchant.sub_mch_id = Some(merchant_id.trim().to_owned()).filter(|m| !m.is_empty());
        Some(std::sync::Arc::new(scoped))
    }

    fn pay<'a>(&'a self, req: &'a PayRequest) -> BoxFuture<'a, PayResult> {
        Box::pin(self.pay_impl(req))
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
        Box::pin(self.bill_impl(bill_date))
    }

    fn precreate<'a>(&'a self, req: &'a PrecreateRequest) -> BoxFuture<'a, PrecreateResult> {
        Box::pin(self.unifiedorder_impl(req))
    }

    fn close<'a>(&'a self, out_trade_no: &'a str) -> BoxFuture<'a, CloseResult> {
        Box::pin(self.closeorder_impl(out_trade_no))
    }
}

/// Classifying verified answers as WeChat Pay documents each code, and the cashier's words for refusals.
mod classify;
/// NATIVE payments (dynamic codes): unifiedorder and closeorder.
mod native;

use classify::*;
pub use native::NO_NOTIFY_URL;

#[cfg(test)]
mod tests {
    use super::super::wire::{ReplyHead, TradeState};
    use super::*;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn head_fail(code: &str) -> ReplyHead {
        ReplyHead::failure(&MerchantIds { appid: "wx1".into(), mch_id: "100".into(), ..Default::default() }, code, "x")
    }

    fn payment(out_trade_no: &str) -> wire::Payment {
        wire::Payment {
            openid: Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into()),
            is_subscribe: None,
            trade_type: Some("MICROPAY".into()),
            bank_type: None,
            fee_type: None,
            total_fee: crate::money::Amount::from_fen(1234),
            settlement_total_fee: None,
            coupon_fee: None,
            cash_fee_type: None,
            cash_fee: crate::money::Amount::from_fen(1234),
            transaction_id: "4200000001".into(),
            out_trade_no: out_trade_no.into(),
            attach: None,
            time_end: "20261125101010".into(),
            promotion_detail: None,
        }
    }

    fn micropay(head: ReplyHead, payment: Option<wire::Payment>) -> MicropayResponse {
        MicropayResponse { head, device_info: None, payment }
    }

    #[test]
    fn micropay_codes_are_classified_as_documented() {
        let ok = ReplyHead::success(&MerchantIds::default());
        let PayStep::Done(PayResult::Paid(info)) = classify_micropay(&micropay(ok.clone(), Some(payment("o1"))), "o1")
        else {
            panic!("paid")
        };
        assert_eq!(info.trade_no.as_deref(), Some("4200000001"));
        assert_eq!(info.buyer.as_deref(), Some("oUpF***WeS6o".replace("WeS6o", "eS6o").as_str()));
        assert!(matches!(
            classify_micropay(&micropay(ok, Some(payment("other"))), "o1"),
            PayStep::Done(PayResult::Unknown(_))
        ));
        for (code, expect) in [("USERPAYING", "waiting"), ("SYSTEMERROR", "unknown"), ("BANKERROR", "unknown")] {
            let PayStep::Done(r) = classify_micropay(&micropay(head_fail(code), None), "o1") else { panic!() };
            assert_eq!(pay_result_name(&r), expect, "{code}");
        }
        assert!(matches!(classify_micropay(&micropay(head_fail("ORDERPAID"), None), "o1"), PayStep::ConfirmByQuery));
        for code in ["AUTHCODEEXPIRE", "NOTENOUGH", "AUTH_CODE_ERROR", "ORDERREVERSED", "PARAM_ERROR"] {
            let PayStep::Done(PayResult::Failed(f)) = classify_micropay(&micropay(head_fail(code), None), "o1") else {
                panic!("{code}")
            };
            assert_eq!(f.code, code);
            assert!(f.message.contains(" / "), "bilingual: {}", f.message);
        }
    }

    #[test]
    fn query_states_map_to_results() {
        let q = |state: TradeState, pay: bool| OrderQueryResponse {
            head: ReplyHead::success(&MerchantIds::default()),
            device_info: None,
            order: Some(wire::QueriedOrder {
                trade_state: state,
                trade_state_desc: None,
                payment: pay.then(|| payment("o1")),
            }),
        };
        assert!(matches!(classify_query(&q(TradeState::Success, true), "o1"), QueryResult::Paid(_)));
        assert!(matches!(classify_query(&q(TradeState::Refund, true), "o1"), QueryResult::Paid(_)));
        assert!(matches!(classify_query(&q(TradeState::UserPaying, false), "o1"), QueryResult::Waiting(_)));
        assert!(matches!(classify_query(&q(TradeState::NotPay, false), "o1"), QueryResult::Waiting(_)));
        assert!(matches!(classify_query(&q(TradeState::Revoked, false), "o1"), QueryResult::Closed(_)));
        assert!(matches!(classify_query(&q(TradeState::PayError, false), "o1"), QueryResult::Closed(_)));
        assert!(matches!(classify_query(&q(TradeState::Success, true), "o2"), QueryResult::Unknown(_)));
        let missing = OrderQueryResponse { head: head_fail("ORDERNOTEXIST"), device_info: None, order: None };
        assert_eq!(classify_query(&missing, "o1"), QueryResult::NotFound);
        let sys = OrderQueryResponse { head: head_fail("SYSTEMERROR"), device_info: None, order: None };
        assert!(matches!(classify_query(&sys, "o1"), QueryResult::Unknown(_)));
    }

    #[test]
    fn reverse_repeats_while_recall_is_y() {
        let ok = ReplyHead::success(&MerchantIds::default());
        assert_eq!(
            classify_reverse(&ReverseResponse { head: ok.clone(), recall: Some(false) }),
            CancelResult::Done { refunded: false }
        );
        assert!(matches!(
            classify_reverse(&ReverseResponse { head: head_fail("SYSTEMERROR"), recall: Some(true) }),
            CancelResult::Retry(_)
        ));
        assert!(matches!(
            classify_reverse(&ReverseResponse { head: head_fail("SYSTEMERROR"), recall: None }),
            CancelResult::Retry(_)
        ));
        let CancelResult::Failed(f) =
            classify_reverse(&ReverseResponse { head: head_fail("REVERSE_EXPIRE"), recall: None })
        else {
            panic!()
        };
        assert!(f.message.contains("7"));
    }

    #[test]
    fn refund_results() {
        let sys = RefundResponse { head: head_fail("BIZERR_NEED_RETRY"), accepted: None };
        assert!(matches!(classify_refund(&sys), RefundResult::Unknown(_)));
        let RefundResult::Failed(f) = classify_refund(&RefundResponse { head: head_fail("NOTENOUGH"), accepted: None })
        else {
            panic!()
        };
        assert!(f.message.contains("merchant account"));
    }

    #[test]
    fn settings_are_checked() {
        let base = WechatConfig {
            gateway_url: "http://127.0.0.1:1".into(),
            appid: "wx1".into(),
            mch_id: "100".into(),
            api_key: KEY.into(),
            ..WechatConfig::default()
        };
        assert!(WechatClient::new(base.clone(), reqwest::Client::new()).is_ok());
        let short = WechatConfig { api_key: "abc".into(), ..base.clone() };
        assert!(matches!(WechatClient::new(short, reqwest::Client::new()), Err(ClientError::WechatApiKey { len: 3 })));
        let no_mch = WechatConfig { mch_id: " ".into(), ..base.clone() };
        assert!(WechatClient::new(no_mch, reqwest::Client::new()).unwrap_err().to_string().contains("mch_id"));
        let bad_cert = WechatConfig { client_certificate_p12: Some(b"not a p12".to_vec()), ..base.clone() };
        let e = WechatClient::new(bad_cert, reqwest::Client::new()).unwrap_err();
        assert!(e.to_string().contains("apiclient_cert.p12"), "{e}");
        let debug = format!("{base:?}");
        assert!(!debug.contains(KEY), "the key never shows in Debug: {debug}");
    }

    #[test]
    fn the_till_address_comes_from_the_socket_that_reaches_the_gateway() {
        let listener = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let target = listener.local_addr().unwrap();
        assert_eq!(local_address_for(target).unwrap(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let url = format!("https://127.0.0.1:{}/", target.port());
        assert_eq!(rt.block_on(local_address_towards(&url)), IpAddr::V4(Ipv4Addr::LOCALHOST));
        // What the gateway would see as the peer is what the socket reports.
        let probe = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        probe.connect(target).unwrap();
        assert_eq!(rt.block_on(local_address_towards(&url)), probe.local_addr().unwrap().ip());
        assert_eq!(rt.block_on(local_address_towards("not a url")), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            rt.block_on(local_address_towards("https://no-such-host.invalid/")),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
    }

    #[test]
    fn without_a_required_certificate_reverse_and_refund_are_refused_before_sending() {
        // A gateway that would hang: nothing may be sent.
        let live = WechatConfig {
            gateway_url: "http://127.0.0.1:9".into(),
            appid: "wx1".into(),
            mch_id: "100".into(),
            api_key: KEY.into(),
            spbill_create_ip: String::new(),
            require_api_certificate: true,
            ..WechatConfig::default()
        };
        let client = WechatClient::new(live, reqwest::Client::new()).unwrap();
        assert!(client.api_certificate().is_none());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let CancelResult::Failed(f) = rt.block_on(client.cancel("o1")) else { panic!("refused") };
        assert_eq!((f.code.as_str(), f.message.as_str()), ("NO_API_CERTIFICATE", MISSING_CERTIFICATE));
        let request = RefundRequest {
            out_trade_no: "o1".into(),
            out_request_no: "o1-r1".into(),
            refund_amount: crate::money::Amount::from_fen(100),
            total_amount: crate::money::Amount::from_fen(100),
            reason: "test".into(),
        };
        let RefundResult::Failed(f) = rt.block_on(client.refund(&request)) else { panic!("refused") };
        assert_eq!(f.message, MISSING_CERTIFICATE);
        assert!(MISSING_CERTIFICATE.contains("tilldesk keys import-cert --acquirer WECHATPAY FILE.p12"));
    }

    #[test]
    fn openids_are_masked() {
        assert_eq!(mask_openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"), "oUpF***WeS6o".replace("WeS6o", "eS6o"));
        assert_eq!(mask_openid("short"), "*****");
    }
}
