//! Signed exchanges: completing a request or reply with `nonce_str` and `sign`, and reading one back only once its signature holds.

use super::*;

/// A fresh `nonce_str`: 32 random characters from `[A-Za-z0-9]` (the protocol allows at most 32).
pub fn nonce_str() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// Values trimmed and blank ones dropped, so what is sent is exactly what is signed under every SDK's reading of
/// the rules (some trim, some do not); any old `sign` removed.
pub(super) fn normalised(fields: Params) -> Params {
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
