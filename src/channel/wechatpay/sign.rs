//! WeChat Pay v2 signatures (签名算法): MD5 or HMAC-SHA256 over `k=v&…&key=API_KEY`.
//!
//! The canonical string ("stringSignTemp") takes every field except `sign`, drops fields whose value is empty or
//! blank, uses the trimmed value, sorts the keys by ASCII, joins them raw (no URL encoding) and appends
//! `&key=` and the merchant's 32-character v2 API key. The digest is written as uppercase hex.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

/// The name of the field that carries the signature; it never takes part in the signed content.
pub const SIGN_FIELD: &str = "sign";
/// The name of the field that carries the algorithm; when sent it is itself signed.
pub const SIGN_TYPE_FIELD: &str = "sign_type";

/// The two v2 signature algorithms. An absent `sign_type` means MD5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignType {
    #[default]
    Md5,
    HmacSha256,
}

impl SignType {
    pub const ALL: [SignType; 2] = [SignType::Md5, SignType::HmacSha256];

    /// The wire spelling: "MD5" or "HMAC-SHA256".
    pub const fn as_str(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::HmacSha256 => "HMAC-SHA256",
        }
    }

    /// Reads a `sign_type` value; `None` or an empty value means MD5, as the protocol defines.
    pub fn parse(value: Option<&str>) -> Result<SignType, SignError> {
        match value.map(str::trim) {
            None | Some("") => Ok(SignType::Md5),
            Some(text) => SignType::ALL
                .into_iter()
                .find(|t| t.as_str() == text)
                .ok_or_else(|| SignError::UnknownSignType(text.to_owned())),
        }
    }

    /// The algorithm a set of fields declares in its own `sign_type` (MD5 when absent).
    pub fn of(params: &BTreeMap<String, String>) -> Result<SignType, SignError> {
        SignType::parse(params.get(SIGN_TYPE_FIELD).map(String::as_str))
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignType {
    type Err = SignError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SignType::parse(Some(s))
    }
}

/// Why a signature could not be checked or did not match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("unknown sign_type {0:?}: WeChat Pay v2 knows only MD5 and HMAC-SHA256")]
    UnknownSignType(String),
    #[error("the message carries no signature (field `sign` is missing or empty)")]
    MissingSign,
    #[error(
        "the signature does not match ({sign_type}): the message was altered, or the API key in the settings is not \
         the merchant's current v2 key"
    )]
    Mismatch { sign_type: SignType },
}

/// Java's `String.trim()`, which the official SDK applies: strips ASCII control characters and spaces, nothing else.
/// (Rust's `str::trim` would also strip U+3000 and other Unicode spaces, giving a different signature.)
pub(crate) fn sdk_trim(value: &str) -> &str {
    value.trim_matches(|c: char| c <= ' ')
}

/// The fields that take part in the signature: everything but `sign`, blank values dropped, values trimmed.
pub(crate) fn signed_fields(params: &BTreeMap<String, String>) -> impl Iterator<Item = (&str, &str)> {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != SIGN_FIELD)
        .map(|(k, v)| (k.as_str(), sdk_trim(v)))
        .filter(|(_, v)| !v.is_empty())
}

/// stringSignTemp: `k1=v1&k2=v2&…&key=API_KEY` (keys in ASCII order, raw values, `sign` and blank values left out).
pub fn sign_content(params: &BTreeMap<String, String>, api_key: &str) -> String {
    let mut out =
        String::with_capacity(params.iter().map(|(k, v)| k.len() + v.len() + 2).sum::<usize>() + 5 + api_key.len());
    // BTreeMap<String, _> iterates in byte order, which is the ASCII order the protocol asks for.
    for (key, value) in signed_fields(params) {
        out.push_str(key);
        out.push('=');
        out.push_str(value);
        out.push('&');
    }
    out.push_str("key=");
    out.push_str(api_key);
    out
}

/// The signature of `params` (uppercase hex): MD5 of stringSignTemp, or HMAC-SHA256 keyed by the API key over it.
pub fn sign(params: &BTreeMap<String, String>, api_key: &str, sign_type: SignType) -> String {
    crate::thread_role::assert_off_ui("signing");
    // stringSignTemp ends with the API key: wiped when dropped.
    let content = zeroize::Zeroizing::new(sign_content(params, api_key));
    match sign_type {
        SignType::Md5 => hex::encode_upper(Md5::digest(content.as_bytes())),
        SignType::HmacSha256 => {
            let mut mac =
                <Hmac<Sha256> as KeyInit>::new_from_slice(api_key.as_bytes()).expect("HMAC accepts keys of any length");
            mac.update(content.as_bytes());
            hex::encode_upper(mac.finalize().into_bytes())
        }
    }
}

/// Checks the `sign` field of `params` against the signature computed with `api_key` and `sign_type`.
/// Hex case is ignored; the comparison takes the same time wherever the first difference is.
pub fn verify(params: &BTreeMap<String, String>, api_key: &str, sign_type: SignType) -> Result<(), SignError> {
    let given = params.get(SIGN_FIELD).map(|s| s.trim()).filter(|s| !s.is_empty()).ok_or(SignError::MissingSign)?;
    let expected = sign(params, api_key, sign_type);
    if constant_time_eq_ignore_ascii_case(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(SignError::Mismatch { sign_type })
    }
}

/// Compares two byte strings without an early exit on the first difference (the lengths are not secret).
fn constant_time_eq_ignore_ascii_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x.to_ascii_uppercase() ^ y.to_ascii_uppercase()));
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOC_KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn doc_example() -> BTreeMap<String, String> {
        map(&[
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ])
    }

    #[test]
    fn v3_official_md5_example() {
        let params = doc_example();
        assert_eq!(
            sign_content(&params, DOC_KEY),
            "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d"
        );
        assert_eq!(sign(&params, DOC_KEY, SignType::Md5), "9A0A8659F005D6984697E2CA0A9CF3B7");
    }

    #[test]
    fn v4_official_hmac_sha256_example() {
        assert_eq!(
            sign(&doc_example(), DOC_KEY, SignType::HmacSha256),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        name: String,
        sign_type: String,
        params: BTreeMap<String, String>,
        key: String,
        string_sign_temp: String,
        sign: String,
    }

    #[test]
    fn all_vectors_in_wechat_v2_json() {
        let vectors: Vec<Vector> = serde_json::from_str(include_str!("../../../tests/vectors/wechat_v2.json")).unwrap();
        assert_eq!(vectors.len(), 4, "V3, V4, V5, V6");
        for v in vectors {
            let sign_type: SignType = v.sign_type.parse().unwrap();
            assert_eq!(sign_content(&v.params, &v.key), v.string_sign_temp, "{}", v.name);
            assert_eq!(sign(&v.params, &v.key, sign_type), v.sign, "{}", v.name);
            let mut signed = v.params.clone();
            signed.insert("sign".into(), v.sign.clone());
            assert_eq!(verify(&signed, &v.key, sign_type), Ok(()), "{}", v.name);
            // V6 declares its algorithm in a signed `sign_type` field; the doc example (V4) signs HMAC without it.
            if v.params.contains_key("sign_type") {
                assert_eq!(SignType::of(&v.params).unwrap(), sign_type, "{}", v.name);
            }
        }
    }

    #[test]
    fn tampering_or_a_wrong_key_fails_verification() {
        let mut params = doc_example();
        params.insert("sign".into(), "9A0A8659F005D6984697E2CA0A9CF3B7".into());
        assert_eq!(verify(&params, DOC_KEY, SignType::Md5), Ok(()));
        // Lowercase hex is the same signature.
        params.insert("sign".into(), "9a0a8659f005d6984697e2ca0a9cf3b7".into());
        assert_eq!(verify(&params, DOC_KEY, SignType::Md5), Ok(()));

        let mut tampered = params.clone();
        tampered.insert("body".into(), "test2".into());
        assert_eq!(verify(&tampered, DOC_KEY, SignType::Md5), Err(SignError::Mismatch { sign_type: SignType::Md5 }));
        let mut added = params.clone();
        added.insert("total_fee".into(), "1".into());
        assert!(verify(&added, DOC_KEY, SignType::Md5).is_err());
        assert!(verify(&params, "00000000000000000000000000000000", SignType::Md5).is_err());
        assert!(verify(&params, DOC_KEY, SignType::HmacSha256).is_err());

        params.remove("sign");
        assert_eq!(verify(&params, DOC_KEY, SignType::Md5), Err(SignError::MissingSign));
        params.insert("sign".into(), "  ".into());
        assert_eq!(verify(&params, DOC_KEY, SignType::Md5), Err(SignError::MissingSign));
    }

    #[test]
    fn sign_type_parsing() {
        assert_eq!(SignType::parse(None), Ok(SignType::Md5));
        assert_eq!(SignType::parse(Some("")), Ok(SignType::Md5));
        assert_eq!(SignType::parse(Some("MD5")), Ok(SignType::Md5));
        assert_eq!(SignType::parse(Some("HMAC-SHA256")), Ok(SignType::HmacSha256));
        assert_eq!(SignType::parse(Some("SHA1")), Err(SignError::UnknownSignType("SHA1".into())));
        assert_eq!(SignType::HmacSha256.to_string(), "HMAC-SHA256");
        assert_eq!(SignType::default(), SignType::Md5);
    }

    #[test]
    fn blank_values_are_dropped_and_values_trimmed_like_the_java_sdk() {
        let params = map(&[("a", " 1 "), ("b", "   "), ("c", ""), ("d", "\u{3000}x"), ("sign", "ignored")]);
        // U+3000 is not trimmed by Java's String.trim(), so neither here.
        assert_eq!(sign_content(&params, "K"), "a=1&d=\u{3000}x&key=K");
    }

    proptest! {
        #[test]
        fn signing_ignores_key_order_blank_fields_and_padding(
            fields in proptest::collection::vec(("[a-z_]{1,12}", "[A-Za-z0-9中文]{1,10}"), 0..12),
            blanks in proptest::collection::vec(("[A-Z]{1,6}", "[ \t]{0,3}"), 0..4),
            key in "[A-Za-z0-9]{32}",
        ) {
            let plain: BTreeMap<String, String> = fields.iter().cloned().collect();
            // Same fields inserted in reverse order (last value of a repeated key wins, as in `plain`),
            // values padded with spaces, plus blank-valued fields (uppercase keys never collide).
            let mut noisy = BTreeMap::new();
            for (k, v) in fields.iter().rev() {
                noisy.entry(k.clone()).or_insert_with(|| format!(" {v}\t"));
            }
            noisy.extend(blanks.iter().cloned());
            for t in SignType::ALL {
                prop_assert_eq!(sign(&plain, &key, t), sign(&noisy, &key, t));
            }
            let content = sign_content(&noisy, &key);
            let suffix = format!("key={key}");
            prop_assert!(content.ends_with(&suffix));
            let keys: Vec<&str> = content[..content.len() - suffix.len()]
                .split('&')
                .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
                .collect();
            prop_assert!(keys.windows(2).all(|w| w[0] < w[1]));
            prop_assert_eq!(keys.len(), plain.len());
        }
    }
}
