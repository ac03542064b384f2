//! What can go wrong building a channel client from its settings, the gateway address check, and plain words for a
//! failed HTTP exchange.

/// Why a channel client could not be built from its settings. Each message names the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the {channel} setting {field} is empty: fill it in from the {channel} merchant console")]
    MissingSetting { channel: &'static str, field: &'static str },
    #[error("the {channel} gateway address {url:?} is not an http:// or https:// address")]
    GatewayUrl { channel: &'static str, url: String },
    #[error("the Alipay app private key (应用私钥) cannot be used: {0}")]
    AlipayPrivateKey(#[source] crate::channel::alipay::sign::SignError),
    #[error("the Alipay public key (支付宝公钥) cannot be used: {0}")]
    AlipayPublicKey(#[source] crate::channel::alipay::sign::SignError),
    #[error(
        "the WeChat Pay API key must be the 32-character API v2 key (API密钥) from the merchant platform, but the one \
         in the settings has {len} characters"
    )]
    WechatApiKey { len: usize },
    #[error(
        "the WeChat Pay API certificate (apiclient_cert.p12) cannot be opened: {detail}. Check the file and its \
         password (WeChat sets it to the mch_id)"
    )]
    ClientCertificate { detail: String },
    #[error("the {channel} setting {field} is not valid: {reason}")]
    InvalidSetting { channel: &'static str, field: &'static str, reason: String },
    #[error("the HTTPS client for WeChat Pay's certificate calls (refund, reverse) cannot be set up: {0}")]
    HttpClient(String),
}

/// The gateway address, trimmed, if it is an http(s) URL with a host.
pub(crate) fn check_gateway_url(channel: &'static str, url: &str) -> Result<String, ClientError> {
    let url = url.trim();
    let ok = reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if ok { Ok(url.to_owned()) } else { Err(ClientError::GatewayUrl { channel, url: url.to_owned() }) }
}

/// Plain words for a failed HTTP exchange, ending "so the result is unknown". The URL (which may carry a
/// signature) is left out; the innermost cause is kept for the log.
pub(crate) fn transport_words(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "no answer came in time"
    } else if error.is_connect() {
        "the gateway could not be reached"
    } else if error.is_body() || error.is_decode() {
        "the answer was cut off"
    } else {
        "the connection failed"
    };
    let mut detail = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        format!("{what}, so the result is unknown")
    } else {
        format!("{what} ({detail}), so the result is unknown")
    }
}
