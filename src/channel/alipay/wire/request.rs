//! Requests: the common parameters and signing them.

use super::*;

/// The common (system) parameters of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonParams {
    pub app_id: String,
    pub method: Method,
    /// "JSON", or `None` to leave the optional parameter out (python-alipay-sdk does).
    pub format: Option<String>,
    /// "utf-8": the request bytes are signed in this charset, and TillDesk only sends UTF-8.
    pub charset: String,
    /// "RSA2".
    pub sign_type: String,
    /// "yyyy-MM-dd HH:mm:ss", China time (GMT+8).
    pub timestamp: String,
    /// "1.0".
    pub version: String,
    pub notify_url: Option<String>,
    /// Set when a service provider (ISV) calls for a merchant.
    pub app_auth_token: Option<String>,
}

impl CommonParams {
    /// The usual values, stamped now.
    pub fn new(app_id: &str, method: Method) -> Self {
        CommonParams {
            app_id: app_id.into(),
            method,
            format: Some("JSON".into()),
            charset: "utf-8".into(),
            sign_type: "RSA2".into(),
            timestamp: timestamp_now_gmt8(),
            version: "1.0".into(),
            notify_url: None,
            app_auth_token: None,
        }
    }
}

/// Every request parameter, `sign` included, ready to be URL-encoded onto the wire.
pub fn signed_request_params(
    common: &CommonParams,
    biz_content_json: &str,
    key: &PrivateKey,
) -> Result<BTreeMap<String, String>, SignError> {
    if common.sign_type != "RSA2" {
        return Err(SignError::UnsupportedSignType(common.sign_type.clone()));
    }
    let mut params = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        params.insert(k.to_owned(), v.to_owned());
    };
    put("app_id", &common.app_id);
    put("method", common.method.as_str());
    if let Some(format) = &common.format {
        put("format", format);
    }
    put("charset", &common.charset);
    put("sign_type", &common.sign_type);
    put("timestamp", &common.timestamp);
    put("version", &common.version);
    if let Some(url) = &common.notify_url {
        put("notify_url", url);
    }
    if let Some(token) = &common.app_auth_token {
        put("app_auth_token", token);
    }
    put("biz_content", biz_content_json);
    let sign = sign::sign_rsa2(key, &sign::request_sign_content(&params))?;
    params.insert("sign".to_owned(), sign);
    Ok(params)
}

/// Checks a request's signature with the app public key (the sandbox side). `params` is the merge of the query
/// string and the form body, already URL-decoded.
pub fn verify_request_params(params: &BTreeMap<String, String>, app_public_key: &PublicKey) -> Result<(), SignError> {
    let sign = params.get("sign").filter(|s| !s.is_empty()).ok_or(SignError::MissingRequestSign)?;
    match params.get("sign_type").map(String::as_str) {
        Some("RSA2") => {}
        None | Some("") => return Err(SignError::MissingSignType),
        Some(other) => return Err(SignError::UnsupportedSignType(other.to_owned())),
    }
    sign::verify_rsa2(app_public_key, &sign::request_sign_content(params), sign)
}

/// Now in China time (GMT+8) as `yyyy-MM-dd HH:mm:ss`, the form of the `timestamp` parameter.
pub fn timestamp_now_gmt8() -> String {
    format_gmt8(time::OffsetDateTime::now_utc())
}

pub(super) fn format_gmt8(at: time::OffsetDateTime) -> String {
    let t = at.to_offset(crate::time::CHINA);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
