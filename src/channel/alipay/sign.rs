//! Alipay OpenAPI `RSA2` signing: keys, the string to sign, request signatures and response verification.
//!
//! Requests are signed over `k=v&…` of every parameter but `sign` (empty values dropped, keys sorted, values raw);
//! responses are signed over the exact raw text of the `*_response` JSON object. Keys are never logged.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::pkcs8::der::zeroize::Zeroizing;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};

use super::rsassa::{self, RsassaError};
pub use super::rsassa::{PrivateKey, PublicKey};

/// The node name of gateway-level failures that are not tied to one method.
pub const ERROR_RESPONSE_NODE: &str = "error_response";

/// Why a key could not be read, or a signature could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(
        "the key is neither PKCS#1 PEM (BEGIN RSA PRIVATE KEY) nor PKCS#8 PEM (BEGIN PRIVATE KEY), nor the bare \
         base64 body of either; paste the app private key (应用私钥) as the Alipay key tool shows it"
    )]
    PrivateKeyFormat,
    #[error("the private key is protected by a password (BEGIN ENCRYPTED PRIVATE KEY); export it without one")]
    EncryptedPrivateKey,
    #[error(
        "the key is neither an X.509 public key (BEGIN PUBLIC KEY, or its bare base64 body as the Alipay console \
         shows it) nor a PKCS#1 RSA public key"
    )]
    PublicKeyFormat,
    #[error("this is a private key, but a public key belongs here; paste the public key (公钥) instead")]
    PrivateKeyWherePublicExpected,
    #[error("this is a public key, but the app private key (应用私钥) belongs here")]
    PublicKeyWherePrivateExpected,
    #[error(
        "this is a certificate (public key certificate mode); TillDesk uses the public key mode: paste the key \
         text shown as 支付宝公钥 instead"
    )]
    CertificateGiven,
    #[error("the key is not a usable RSA key: {0}")]
    UnusableKey(String),
    #[error("could not create a new RSA key pair: {0}")]
    KeyGeneration(String),
    #[error("could not write the key as PEM: {0}")]
    KeyEncoding(String),
    #[error("the RSA key is too small for RSA2 signatures; use a 2048-bit key")]
    KeyTooSmall,
    #[error("signing failed a self-check; nothing was sent (try again, and report it if it repeats)")]
    SigningFault,
    #[error("the signature is not valid base64")]
    SignatureNotBase64,
    #[error("the signature does not match the public key")]
    SignatureMismatch,
    #[error("the response signature does not match the Alipay public key (支付宝公钥); check the key in settings")]
    ResponseSignatureMismatch,
    #[error("the response carries no signature (\"sign\"), so it cannot be trusted")]
    MissingResponseSign,
    #[error("the request carries no signature (\"sign\")")]
    MissingRequestSign,
    #[error("the request carries no sign_type")]
    MissingSignType,
    #[error("sign_type {0:?} is not supported: only RSA2 (SHA256withRSA) is")]
    UnsupportedSignType(String),
    #[error("the response has neither a \"{node}\" nor an \"error_response\" part")]
    ResponseNodeMissing { node: String },
    #[error("the response carries \"{0}\" twice")]
    DuplicateKey(String),
    #[error("the response is not the JSON Alipay sends: {0}")]
    MalformedResponse(String),
    #[error("could not write the response JSON: {0}")]
    ResponseEncoding(String),
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

/// A PEM block: its label and decoded DER body.
struct Pem {
    label: String,
    der: Vec<u8>,
}

/// Decodes base64 that may be wrapped over lines or padded with spaces (as pasted from a console or a file).
fn decode_base64_body(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let compact: Zeroizing<String> = Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
    if compact.is_empty() {
        return None;
    }
    BASE64.decode(compact.as_bytes()).ok().map(Zeroizing::new)
}

/// Unwraps `-----BEGIN X-----…-----END X-----`, tolerating CRLF, indentation and surrounding text.
/// `Ok(None)` when the text has no BEGIN line (it may be a bare base64 body).
fn parse_pem(text: &str) -> Result<Option<Pem>, ()> {
    let Some(begin) = text.find("-----BEGIN ") else {
        return Ok(None);
    };
    let after_begin = &text[begin + "-----BEGIN ".len()..];
    let label_end = after_begin.find("-----").ok_or(())?;
    let label = after_begin[..label_end].trim().to_owned();
    let body_and_rest = &after_begin[label_end + "-----".len()..];
    let end_marker = format!("-----END {label}-----");
    let body_end = body_and_rest.find(&end_marker).ok_or(())?;
    let body = &body_and_rest[..body_end];
    // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED") mean an encrypted legacy PEM.
    if body.contains(':') {
        return Ok(Some(Pem { label: format!("ENCRYPTED {label}"), der: Vec::new() }));
    }
    let der = decode_base64_body(body).ok_or(())?;
    Ok(Some(Pem { label, der: der.to_vec() }))
}

/// Reads the app private key: PKCS#1 PEM, PKCS#8 PEM, or the bare base64 body of either (one line, as Alipay's
/// key tool shows it).
pub fn parse_private_key(text: &str) -> Result<PrivateKey, SignError> {
    parse_rsa_private_key(text).map(PrivateKey::new)
}

fn parse_rsa_private_key(text: &str) -> Result<RsaPrivateKey, SignError> {
    match parse_pem(text).map_err(|()| SignError::PrivateKeyFormat)? {
        Some(pem) => {
            let der = Zeroizing::new(pem.der);
            match pem.label.as_str() {
                "RSA PRIVATE KEY" => {
                    RsaPrivateKey::from_pkcs1_der(&der).map_err(|e| SignError::UnusableKey(e.to_string()))
                }
                "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| SignError::UnusableKey(e.to_string())),
                label if label.contains("ENCRYPTED") => Err(SignError::EncryptedPrivateKey),
                "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => Err(SignError::PublicKeyWherePrivateExpected),
                _ => Err(SignError::PrivateKeyFormat),
            }
        }
        None => {
            let der = zeroize::Zeroizing::new(decode_base64_body(text).ok_or(SignError::PrivateKeyFormat)?);
            RsaPrivateKey::from_pkcs8_der(&der)
                .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der))
                .map_err(|_| SignError::PrivateKeyFormat)
        }
    }
}

/// Reads a public key (the Alipay public key 支付宝公钥, or an app public key): X.509 SubjectPublicKeyInfo PEM
/// (BEGIN PUBLIC KEY), PKCS#1 public PEM (BEGIN RSA PUBLIC KEY), or the bare base64 SubjectPublicKeyInfo.
pub fn parse_public_key(text: &str) -> Result<PublicKey, SignError> {
    parse_rsa_public_key(text).map(PublicKey::new)
}

fn parse_rsa_public_key(text: &str) -> Result<RsaPublicKey, SignError> {
    match parse_pem(text).map_err(|()| SignError::PublicKeyFormat)? {
        Some(pem) => match pem.label.as_str() {
            "PUBLIC KEY" => {
                RsaPublicKey::from_public_key_der(&pem.der).map_err(|e| SignError::UnusableKey(e.to_string()))
            }
            "RSA PUBLIC KEY" => {
                RsaPublicKey::from_pkcs1_der(&pem.der).map_err(|e| SignError::UnusableKey(e.to_string()))
            }
            "CERTIFICATE" => Err(SignError::CertificateGiven),
            label if label.contains("PRIVATE KEY") => Err(SignError::PrivateKeyWherePublicExpected),
            _ => Err(SignError::PublicKeyFormat),
        },
        None => {
            let der = decode_base64_body(text).ok_or(SignError::PublicKeyFormat)?;
            if let Ok(key) = RsaPublicKey::from_public_key_der(&der).or_else(|_| RsaPublicKey::from_pkcs1_der(&der)) {
                return Ok(key);
            }
            if RsaPrivateKey::from_pkcs8_der(&der).is_ok() || RsaPrivateKey::from_pkcs1_der(&der).is_ok() {
                return Err(SignError::PrivateKeyWherePublicExpected);
            }
            Err(SignError::PublicKeyFormat)
        }
    }
}

/// A freshly generated app key pair, in the forms the Alipay console and the SDKs want.
pub struct AppKeyPair {
    /// PKCS#8 PEM (BEGIN PRIVATE KEY), what Java-based tools expect.
    pub private_pkcs8_pem: Zeroizing<String>,
    /// PKCS#1 PEM (BEGIN RSA PRIVATE KEY), Alipay's "非 Java 语言适用" form.
    pub private_pkcs1_pem: Zeroizing<String>,
    /// X.509 SubjectPublicKeyInfo PEM (BEGIN PUBLIC KEY).
    pub public_pem: String,
    /// The SubjectPublicKeyInfo as one base64 line: what the Alipay console's 应用公钥 field takes.
    pub public_base64: String,
}

impl fmt::Debug for AppKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppKeyPair")
            .field("private_pkcs8_pem", &"<redacted>")
            .field("private_pkcs1_pem", &"<redacted>")
            .field("public_base64", &self.public_base64)
            .finish()
    }
}

/// Generates a new RSA-2048 app key pair (public exponent 65537). Takes a few hundred milliseconds.
pub fn generate_app_keys() -> Result<AppKeyPair, SignError> {
    let key = RsaPrivateKey::new(&mut rand::rng(), 2048).map_err(|e| SignError::KeyGeneration(e.to_string()))?;
    let public = key.to_public_key();
    let private_pkcs8_pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| SignError::KeyEncoding(e.to_string()))?;
    let private_pkcs1_pem = key.to_pkcs1_pem(LineEnding::LF).map_err(|e| SignError::KeyEncoding(e.to_string()))?;
    let public_pem = public.to_public_key_pem(LineEnding::LF).map_err(|e| SignError::KeyEncoding(e.to_string()))?;
    let public_der = public.to_public_key_der().map_err(|e| SignError::KeyEncoding(e.to_string()))?;
    Ok(AppKeyPair {
        private_pkcs8_pem,
        private_pkcs1_pem,
        public_pem,
        public_base64: BASE64.encode(public_der.as_bytes()),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// The string to sign

/// Java's `Character.isWhitespace`, which the Alipay SDK's `StringUtils.isEmpty` uses: a value made only of these
/// counts as empty and is left out of the string to sign.
fn java_is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{000B}' | '\u{000C}' | '\r' | '\u{001C}'..='\u{001F}')
        || (c.is_whitespace() && !matches!(c, '\u{00A0}' | '\u{2007}' | '\u{202F}') && c != '\u{0085}')
}

fn is_blank(value: &str) -> bool {
    value.chars().all(java_is_whitespace)
}

fn sign_content(params: &BTreeMap<String, String>, excluded: &[&str]) -> String {
    let mut content = String::new();
    for (key, value) in params {
        if excluded.contains(&key.as_str()) || is_blank(key) || is_blank(value) {
            continue;
        }
        if !content.is_empty() {
            content.push('&');
        }
        content.push_str(key);
        content.push('=');
        content.push_str(value);
    }
    content
}

/// The string to sign for an OpenAPI request: every parameter except `sign` (`sign_type` included), empty values
/// dropped, sorted by key (byte order), `key=value` with raw (not URL-encoded) values, joined with `&`.
pub fn request_sign_content(params: &BTreeMap<String, String>) -> String {
    sign_content(params, &["sign"])
}

/// The string to sign for an asynchronous notification (`rsaCheckV1`): like the request rule, but `sign_type` is
/// left out too.
pub fn notify_sign_content(params: &BTreeMap<String, String>) -> String {
    sign_content(params, &["sign", "sign_type"])
}

// ---------------------------------------------------------------------------------------------------------------
// Signatures

/// SHA256withRSA (PKCS#1 v1.5) over the UTF-8 bytes of `content`, as standard base64 without line breaks.
pub fn sign_rsa2(key: &PrivateKey, content: &str) -> Result<String, SignError> {
    sign_rsa2_bytes(key, content.as_bytes())
}

/// SHA256withRSA over `content` already encoded in the request's charset (Alipay signs the bytes of the string
/// to sign in `charset`: UTF-8, or GBK when `charset=GBK`).
pub fn sign_rsa2_bytes(key: &PrivateKey, content: &[u8]) -> Result<String, SignError> {
    crate::thread_role::assert_off_ui("signing");
    let signature = rsassa::sign(key, content).map_err(|e| match e {
        RsassaError::KeyTooSmall => SignError::KeyTooSmall,
        RsassaError::Malformed | RsassaError::Mismatch | RsassaError::Fault => SignError::SigningFault,
    })?;
    Ok(BASE64.encode(signature))
}

/// Checks a base64 SHA256withRSA (PKCS#1 v1.5) signature over the UTF-8 bytes of `content`.
pub fn verify_rsa2(key: &PublicKey, content: &str, sign_b64: &str) -> Result<(), SignError> {
    verify_rsa2_bytes(key, content.as_bytes(), sign_b64)
}

/// Checks a base64 SHA256withRSA signature over `content` already encoded in the request's charset.
pub fn verify_rsa2_bytes(key: &PublicKey, content: &[u8], sign_b64: &str) -> Result<(), SignError> {
    let compact: String = sign_b64.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let signature = BASE64.decode(compact.as_bytes()).map_err(|_| SignError::SignatureNotBase64)?;
    rsassa::verify(key, content, &signature).map_err(|e| match e {
        RsassaError::KeyTooSmall => SignError::KeyTooSmall,
        RsassaError::Malformed | RsassaError::Mismatch | RsassaError::Fault => SignError::SignatureMismatch,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

/// The name of a method's response node: `alipay.trade.pay` → `alipay_trade_pay_response`.
pub fn response_node_name(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// The signed part of a gateway response, cut from the body exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedResponse<'a> {
    /// `alipay_trade_pay_response`, or `error_response` when the gateway answered with that instead.
    pub node_name: &'a str,
    /// The node's exact text, from its `{` to the matching `}`: what Alipay signed.
    pub raw_node: &'a str,
    /// The decoded `sign` value, if the body has one.
    pub sign: Option<String>,
}

/// A byte scanner over the top level of a JSON object; strings are skipped escape-aware, nested values by
/// quote-aware bracket matching. Works on bytes: every structural character is ASCII, so UTF-8 stays intact.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

fn malformed(what: impl Into<String>) -> SignError {
    SignError::MalformedResponse(what.into())
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), SignError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(malformed(format!("expected '{}' at byte {}", byte as char, self.pos)))
        }
    }

    /// From an opening quote at `start`, the index just past the closing quote.
    fn string_end(&self, start: usize) -> Result<usize, SignError> {
        let bytes = self.bytes();
        let mut i = start + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return Ok(i + 1),
                _ => i += 1,
            }
        }
        Err(malformed("a string is not closed"))
    }

    /// The index just past the JSON value starting at `start`.
    fn value_end(&self, start: usize) -> Result<usize, SignError> {
        let bytes = self.bytes();
        match bytes.get(start) {
            None => Err(malformed("the body ends where a value should start")),
            Some(b'"') => self.string_end(start),
            Some(b'{' | b'[') => {
                let mut closers = Vec::new();
                let mut i = start;
                while i < bytes.len() {
                    match bytes[i] {
                        b'"' => {
                            i = self.string_end(i)?;
                            continue;
                        }
                        b'{' => closers.push(b'}'),
                        b'[' => closers.push(b']'),
                        c @ (b'}' | b']') => {
                            if closers.pop() != Some(c) {
                                return Err(malformed(format!("unbalanced '{}' at byte {i}", c as char)));
                            }
                            if closers.is_empty() {
                                return Ok(i + 1);
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                Err(malformed("an object or array is not closed"))
            }
            Some(_) => {
                let mut i = start;
                while i < bytes.len() && !matches!(bytes[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    i += 1;
                }
                if i == start { Err(malformed(format!("unexpected character at byte {start}"))) } else { Ok(i) }
            }
        }
    }

    /// Every top-level `(key, raw value)` pair of the object that makes up the whole text.
    fn top_level_members(mut self) -> Result<Vec<(Cow<'a, str>, &'a str)>, SignError> {
        let mut members = Vec::new();
        self.skip_ws();
        self.expect(b'{')?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                if self.peek() != Some(b'"') {
                    return Err(malformed(format!("expected a key at byte {}", self.pos)));
                }
                let key_end = self.string_end(self.pos)?;
                let key_raw = &self.text[self.pos..key_end];
                let key = if key_raw.contains('\\') {
                    Cow::Owned(serde_json::from_str::<String>(key_raw).map_err(|e| malformed(format!("bad key: {e}")))?)
                } else {
                    Cow::Borrowed(&self.text[self.pos + 1..key_end - 1])
                };
                self.pos = key_end;
                self.skip_ws();
                self.expect(b':')?;
                self.skip_ws();
                let value_end = self.value_end(self.pos)?;
                members.push((key, &self.text[self.pos..value_end]));
                self.pos = value_end;
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(malformed(format!("expected ',' or '}}' at byte {}", self.pos))),
                }
            }
        }
        self.skip_ws();
        if self.pos != self.text.len() {
            return Err(malformed(format!("unexpected text after the object at byte {}", self.pos)));
        }
        Ok(members)
    }
}

/// Cuts the signed node and the `sign` out of a gateway response body, exactly as sent.
///
/// Looks at the top-level keys only (a subject that happens to contain `alipay_trade_pay_response` cannot fool
/// it), prefers the method's node over `error_response`, and rejects a body that carries either key twice.
pub fn extract_signed_response<'a>(body: &'a str, method: &str) -> Result<SignedResponse<'a>, SignError> {
    let wanted = response_node_name(method);
    let members = Scanner { text: body, pos: 0 }.top_level_members()?;
    let mut node: Option<(&'a str, &'a str)> = None;
    let mut error_node: Option<(&'a str, &'a str)> = None;
    let mut sign_member: Option<(&'a str, &'a str)> = None;
    for (key, raw) in members {
        let name: &'a str = match key {
            Cow::Borrowed(name) => name,
            Cow::Owned(decoded) => {
                if [wanted.as_str(), ERROR_RESPONSE_NODE, "sign"].contains(&decoded.as_str()) {
                    return Err(malformed(format!("the key \"{decoded}\" is written with escapes")));
                }
                continue;
            }
        };
        let slot = match name {
            _ if name == wanted => &mut node,
            ERROR_RESPONSE_NODE => &mut error_node,
            "sign" => &mut sign_member,
            _ => continue,
        };
        if slot.replace((name, raw)).is_some() {
            return Err(SignError::DuplicateKey(name.to_owned()));
        }
    }
    let sign_raw = sign_member.map(|(_, raw)| raw);
    let (node_name, raw_node) = node.or(error_node).ok_or(SignError::ResponseNodeMissing { node: wanted })?;
    if !raw_node.starts_with('{') {
        return Err(malformed(format!("\"{node_name}\" is not an object")));
    }
    let sign = match sign_raw {
        None | Some("null") => None,
        Some(raw) => Some(serde_json::from_str::<String>(raw).map_err(|_| malformed("\"sign\" is not a string"))?),
    };
    Ok(SignedResponse { node_name, raw_node, sign })
}

/// Verifies a gateway response with the Alipay public key and returns its node (the method's, or
/// `error_response`). Like the Java SDK, a failed check is retried once over the text with `\/` read as `/`.
/// A response without a signature is refused.
pub fn verify_response(key: &PublicKey, body: &str, method: &str) -> Result<serde_json::Value, SignError> {
    let signed = extract_signed_response(body, method)?;
    let sign = signed.sign.as_deref().ok_or(SignError::MissingResponseSign)?;
    let verified = match verify_rsa2(key, signed.raw_node, sign) {
        Ok(()) => true,
        Err(SignError::SignatureNotBase64) => return Err(SignError::SignatureNotBase64),
        Err(_) if signed.raw_node.contains("\\/") => {
            verify_rsa2(key, &signed.raw_node.replace("\\/", "/"), sign).is_ok()
        }
        Err(_) => false,
    };
    if !verified {
        return Err(SignError::ResponseSignatureMismatch);
    }
    serde_json::from_str(signed.raw_node).map_err(|e| malformed(format!("\"{}\": {e}", signed.node_name)))
}

fn sign_node(key: &PrivateKey, node_name: &str, node: &serde_json::Value) -> Result<String, SignError> {
    if !node.is_object() {
        return Err(SignError::ResponseEncoding("the response node must be a JSON object".into()));
    }
    let node_text = serde_json::to_string(node).map_err(|e| SignError::ResponseEncoding(e.to_string()))?;
    let sign = sign_rsa2(key, &node_text)?;
    let name = serde_json::to_string(node_name).map_err(|e| SignError::ResponseEncoding(e.to_string()))?;
    let sign = serde_json::to_string(&sign).map_err(|e| SignError::ResponseEncoding(e.to_string()))?;
    Ok(format!("{{{name}:{node_text},\"sign\":{sign}}}"))
}

/// Writes a signed response body as the gateway does: compact `{"<method>_response":{…},"sign":"…"}`, node first,
/// signed over the node's exact text. Used by the sandbox.
pub fn sign_response(key: &PrivateKey, method: &str, node: &serde_json::Value) -> Result<String, SignError> {
    sign_node(key, &response_node_name(method), node)
}

/// Like [`sign_response`] for a gateway-level failure: `{"error_response":{…},"sign":"…"}`.
pub fn sign_error_response(key: &PrivateKey, node: &serde_json::Value) -> Result<String, SignError> {
    sign_node(key, ERROR_RESPONSE_NODE, node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rsa::traits::PublicKeyParts;
    use serde_json::{Value, json};
    use sha2::{Digest, Sha256};
    use std::sync::OnceLock;

    const VECTORS: &str = include_str!("../../../tests/vectors/alipay_rsa2.json");
    const KEYS: &str = include_str!("../../../tests/vectors/test_keys.json");

    fn vectors() -> Value {
        serde_json::from_str(VECTORS).unwrap()
    }

    fn key_text(owner: &str, form: &str) -> String {
        let keys: Value = serde_json::from_str(KEYS).unwrap();
        keys[owner][form].as_str().unwrap().to_owned()
    }

    fn app_key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| parse_private_key(&key_text("app", "pkcs1_pem")).unwrap())
    }

    fn platform_key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| parse_private_key(&key_text("platform", "pkcs8_pem")).unwrap())
    }

    fn platform_public() -> PublicKey {
        parse_public_key(&key_text("platform", "spki_b64")).unwrap()
    }

    fn vector_params() -> BTreeMap<String, String> {
        let v = vectors();
        v["request_params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect()
    }

    /// The PEM body of a key as one base64 line.
    fn pem_body(pem: &str) -> String {
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    #[test]
    fn v1_string_to_sign_matches_the_vector() {
        let v = vectors();
        assert_eq!(request_sign_content(&vector_params()), v["string_to_sign"].as_str().unwrap());
    }

    #[test]
    fn v1_signature_matches_the_vector_with_every_key_form() {
        let v = vectors();
        let expected = v["sign_with_app_key"].as_str().unwrap();
        let content = request_sign_content(&vector_params());
        let pkcs8_pem = key_text("app", "pkcs8_pem");
        let forms = [
            key_text("app", "pkcs1_pem"),
            pkcs8_pem.clone(),
            key_text("app", "pkcs1_b64"),
            pem_body(&pkcs8_pem),
            pkcs8_pem.replace('\n', "\r\n"),
        ];
        for form in &forms {
            let key = parse_private_key(form).unwrap();
            assert_eq!(sign_rsa2(&key, &content).unwrap(), expected);
        }
        let public = parse_public_key(&key_text("app", "spki_pem")).unwrap();
        verify_rsa2(&public, &content, expected).unwrap();
        assert!(matches!(verify_rsa2(&public, &format!("{content}x"), expected), Err(SignError::SignatureMismatch)));
    }

    #[test]
    fn public_keys_are_read_in_every_form() {
        let from_pem = parse_public_key(&key_text("app", "spki_pem")).unwrap();
        let from_b64 = parse_public_key(&key_text("app", "spki_b64")).unwrap();
        assert_eq!(from_pem, from_b64);
        assert_eq!(from_pem, app_key().public_key());
        let pkcs1 = {
            use rsa::pkcs1::EncodeRsaPublicKey;
            from_pem.as_rsa().to_pkcs1_pem(LineEnding::CRLF).unwrap()
        };
        assert_eq!(parse_public_key(&pkcs1).unwrap(), from_pem);
    }

    #[test]
    fn wrong_key_texts_get_a_plain_reason() {
        assert!(matches!(parse_private_key("hello"), Err(SignError::PrivateKeyFormat)));
        assert!(matches!(parse_private_key(""), Err(SignError::PrivateKeyFormat)));
        assert!(matches!(parse_private_key(&key_text("app", "spki_b64")), Err(SignError::PrivateKeyFormat)));
        assert!(matches!(
            parse_private_key(&key_text("app", "spki_pem")),
            Err(SignError::PublicKeyWherePrivateExpected)
        ));
        assert!(matches!(
            parse_private_key("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----"),
            Err(SignError::EncryptedPrivateKey)
        ));
        assert!(matches!(
            parse_public_key(&key_text("app", "pkcs1_b64")),
            Err(SignError::PrivateKeyWherePublicExpected)
        ));
        assert!(matches!(
            parse_public_key(&key_text("app", "pkcs8_pem")),
            Err(SignError::PrivateKeyWherePublicExpected)
        ));
        assert!(matches!(
            parse_public_key("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
            Err(SignError::CertificateGiven)
        ));
        assert!(matches!(parse_public_key("not a key"), Err(SignError::PublicKeyFormat)));
        let msg = SignError::PrivateKeyFormat.to_string();
        assert!(msg.contains("neither PKCS#1") && msg.contains("PKCS#8"), "{msg}");
    }

    #[test]
    fn generated_keys_round_trip_through_every_form() {
        let pair = generate_app_keys().unwrap();
        assert!(pair.private_pkcs8_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(pair.private_pkcs1_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(!pair.public_base64.contains(['\n', '\r', ' ']));
        let private = parse_private_key(&pair.private_pkcs8_pem).unwrap();
        assert_eq!(parse_private_key(&pair.private_pkcs1_pem).unwrap(), private);
        assert_eq!(private.size(), 256);
        let public = parse_public_key(&pair.public_base64).unwrap();
        assert_eq!(parse_public_key(&pair.public_pem).unwrap(), public);
        let sign = sign_rsa2(&private, "a=1&b=2").unwrap();
        verify_rsa2(&public, "a=1&b=2", &sign).unwrap();
        let debug = format!("{pair:?}");
        assert!(!debug.contains("PRIVATE KEY") && debug.contains("redacted"), "{debug}");
    }

    #[test]
    fn notify_content_leaves_out_sign_type() {
        let mut params = vector_params();
        params.insert("sign".into(), "abc".into());
        let notify = notify_sign_content(&params);
        assert!(!notify.contains("sign_type=") && !notify.contains("sign="));
        assert_eq!(request_sign_content(&params), notify.replace("&timestamp", "&sign_type=RSA2&timestamp"));
    }

    #[test]
    fn blank_values_are_dropped_like_the_java_sdk() {
        let params: BTreeMap<String, String> = [("a", "1"), ("b", ""), ("c", "  \t"), ("d", "\u{00A0}"), ("e", " x ")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(request_sign_content(&params), "a=1&d=\u{00A0}&e= x ");
    }

    #[test]
    fn v2_extracts_exactly_the_signed_content_and_verifies() {
        let v = vectors();
        let body = v["response_body"].as_str().unwrap();
        let signed = extract_signed_response(body, "alipay.trade.pay").unwrap();
        assert_eq!(signed.node_name, "alipay_trade_pay_response");
        assert_eq!(signed.raw_node, v["response_signed_content"].as_str().unwrap());
        assert_eq!(signed.sign.as_deref(), v["response_sign"].as_str());
        let node = verify_response(&platform_public(), body, "alipay.trade.pay").unwrap();
        assert_eq!(node["trade_no"], "2013112011001004330000121536");
        assert_eq!(node["code"], "10000");
    }

    /// Recomputes the documented rule by hand: the raw text between `"<node>":` and `,"sign"`, SHA-256, and the
    /// RSA public operation compared with the PKCS#1 v1.5 encoding built here.
    fn verify_by_hand(public: &PublicKey, body: &str, node_name: &str) -> bool {
        let prefix = format!("{{\"{node_name}\":");
        let rest = body.strip_prefix(&prefix).unwrap();
        let sign_at = rest.rfind(",\"sign\":\"").unwrap();
        let content = &rest[..sign_at];
        let sign_b64 = rest[sign_at + ",\"sign\":\"".len()..].strip_suffix("\"}").unwrap();
        let signature = BASE64.decode(sign_b64).unwrap();
        let k = public.size();
        let public = public.as_rsa();
        let s = rsa::BoxedUint::from_be_slice(&signature, public.n_params().bits_precision()).unwrap();
        let m = s.pow_mod(public.e(), public.n_params().modulus()).to_be_bytes();
        let m = &m[m.len() - k..];
        let digest_info = [
            &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
                0x04, 0x20,
            ][..],
            &Sha256::digest(content.as_bytes()),
        ]
        .concat();
        let mut expected = vec![0x00, 0x01];
        expected.extend(std::iter::repeat_n(0xff, k - 3 - digest_info.len()));
        expected.push(0x00);
        expected.extend(digest_info);
        m == expected.as_slice()
    }

    #[test]
    fn sign_response_verifies_by_the_documented_rule() {
        let node = json!({
            "code": "10000", "msg": "Success", "trade_no": "2026112522001400000000000001",
            "out_trade_no": "T1", "subject": "a}b\"{", "total_amount": "88.88", "note": "杭州 \\ / {[",
        });
        let body = sign_response(platform_key(), "alipay.trade.pay", &node).unwrap();
        assert!(body.starts_with("{\"alipay_trade_pay_response\":{"), "{body}");
        assert!(verify_by_hand(&platform_public(), &body, "alipay_trade_pay_response"));
        // The test's own check must fail on a wrong key, or it proves nothing.
        assert!(!verify_by_hand(&app_key().public_key(), &body, "alipay_trade_pay_response"));
        let signed = extract_signed_response(&body, "alipay.trade.pay").unwrap();
        assert_eq!(signed.raw_node, serde_json::to_string(&node).unwrap());
        assert_eq!(verify_response(&platform_public(), &body, "alipay.trade.pay").unwrap(), node);
    }

    #[test]
    fn tampered_responses_are_rejected() {
        let v = vectors();
        let body = v["response_body"].as_str().unwrap();
        let public = platform_public();
        let changed_amount = body.replacen("\"total_amount\":\"88.88\"", "\"total_amount\":\"98.88\"", 1);
        assert_ne!(changed_amount, body);
        assert!(matches!(
            verify_response(&public, &changed_amount, "alipay.trade.pay"),
            Err(SignError::ResponseSignatureMismatch)
        ));
        let sign = v["response_sign"].as_str().unwrap();
        let mut other_sign: Vec<char> = sign.chars().collect();
        other_sign[10] = if other_sign[10] == 'A' { 'B' } else { 'A' };
        let changed_sign = body.replace(sign, &other_sign.into_iter().collect::<String>());
        assert!(matches!(
            verify_response(&public, &changed_sign, "alipay.trade.pay"),
            Err(SignError::ResponseSignatureMismatch)
        ));
        let unsigned = format!("{{\"alipay_trade_pay_response\":{}}}", v["response_signed_content"].as_str().unwrap());
        assert!(matches!(verify_response(&public, &unsigned, "alipay.trade.pay"), Err(SignError::MissingResponseSign)));
        let wrong_key = app_key().public_key();
        assert!(matches!(
            verify_response(&wrong_key, body, "alipay.trade.pay"),
            Err(SignError::ResponseSignatureMismatch)
        ));
        let not_b64 = body.replace(sign, "%%%");
        assert!(matches!(verify_response(&public, &not_b64, "alipay.trade.pay"), Err(SignError::SignatureNotBase64)));
    }

    #[test]
    fn extraction_is_quote_and_escape_aware() {
        let node = r#"{"code":"10000","subject":"a}b\"{","x":["}",{"y":"\\"}],"z":"alipay_trade_pay_response"}"#;
        let body = format!("{{ \"alipay_trade_pay_response\" :\n {node} , \"sign\" : \"c2ln\" }}");
        let signed = extract_signed_response(&body, "alipay.trade.pay").unwrap();
        assert_eq!(signed.raw_node, node);
        assert_eq!(signed.sign.as_deref(), Some("c2ln"));
        let value: Value = serde_json::from_str(signed.raw_node).unwrap();
        assert_eq!(value["subject"], "a}b\"{");

        // The node after the sign, and a decoy key inside another value.
        let body = format!(
            r#"{{"sign":"c2ln","other":{{"alipay_trade_pay_response":{{}}}},"alipay_trade_pay_response":{node}}}"#
        );
        assert_eq!(extract_signed_response(&body, "alipay.trade.pay").unwrap().raw_node, node);

        for bad in [
            "",
            "[]",
            r#"{"alipay_trade_pay_response":{"a":"}"#,
            r#"{"alipay_trade_pay_response":{"a":1]}"#,
            r#"{"alipay_trade_pay_response":{},"sign":"x"} trailing"#,
            r#"{"alipay_trade_pay_response":"text","sign":"x"}"#,
        ] {
            assert!(
                matches!(extract_signed_response(bad, "alipay.trade.pay"), Err(SignError::MalformedResponse(_))),
                "{bad}"
            );
        }
        let twice =
            r#"{"alipay_trade_pay_response":{"code":"10000"},"alipay_trade_pay_response":{"code":"40004"},"sign":"x"}"#;
        assert!(matches!(extract_signed_response(twice, "alipay.trade.pay"), Err(SignError::DuplicateKey(_))));
        assert!(matches!(
            extract_signed_response(r#"{"alipay_trade_query_response":{},"sign":"x"}"#, "alipay.trade.pay"),
            Err(SignError::ResponseNodeMissing { .. })
        ));
    }

    #[test]
    fn error_response_nodes_are_handled() {
        let node = json!({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-app-id",
                          "sub_msg": "无效的AppID参数"});
        let body = sign_error_response(platform_key(), &node).unwrap();
        assert!(body.starts_with("{\"error_response\":{"));
        let signed = extract_signed_response(&body, "alipay.trade.pay").unwrap();
        assert_eq!(signed.node_name, ERROR_RESPONSE_NODE);
        assert!(verify_by_hand(&platform_public(), &body, "error_response"));
        assert_eq!(verify_response(&platform_public(), &body, "alipay.trade.pay").unwrap(), node);
        // The method's own node wins over error_response when both are present, as in the Java SDK.
        let both = r#"{"error_response":{"code":"40002"},"alipay_trade_pay_response":{"code":"10000"},"sign":"x"}"#;
        assert_eq!(extract_signed_response(both, "alipay.trade.pay").unwrap().node_name, "alipay_trade_pay_response");
    }

    #[test]
    fn escaped_slashes_fall_back_like_the_java_sdk() {
        // Alipay signed the text with "/", but the body arrived with "\/" (a JSON-equivalent rewrite).
        let node_text = r#"{"code":"10000","msg":"Success","qr_code":"https://qr.alipay.com/bax0"}"#;
        let sign = sign_rsa2(platform_key(), node_text).unwrap();
        let body =
            format!(r#"{{"alipay_trade_precreate_response":{},"sign":"{sign}"}}"#, node_text.replace('/', "\\/"));
        let node = verify_response(&platform_public(), &body, "alipay.trade.precreate").unwrap();
        assert_eq!(node["qr_code"], "https://qr.alipay.com/bax0");
    }

    fn param_map() -> impl Strategy<Value = BTreeMap<String, String>> {
        let key = prop_oneof![Just("sign".to_owned()), Just("sign_type".to_owned()), "[a-z_]{1,12}"];
        let value = prop_oneof![Just(String::new()), Just(" ".to_owned()), "[^&]{0,16}"];
        proptest::collection::btree_map(key, value, 0..10)
    }

    proptest! {
        #[test]
        fn sign_content_follows_the_rule(params in param_map()) {
            let content = request_sign_content(&params);
            let pairs: Vec<(String, String)> = if content.is_empty() {
                Vec::new()
            } else {
                content.split('&').map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_owned(), v.to_owned())
                }).collect()
            };
            let expected: Vec<(String, String)> = params
                .iter()
                .filter(|(k, v)| k.as_str() != "sign" && !v.chars().all(java_is_whitespace))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            prop_assert_eq!(&pairs, &expected);
            prop_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
            // sign and empty values never change the content; notify content is the same without sign_type.
            let mut more = params.clone();
            more.insert("sign".into(), "anything".into());
            more.insert("zz_empty".into(), String::new());
            prop_assert_eq!(request_sign_content(&more), content.clone());
            let mut without_type = params.clone();
            without_type.remove("sign_type");
            prop_assert_eq!(notify_sign_content(&params), request_sign_content(&without_type));
        }

        #[test]
        fn extraction_never_panics(body in "\\PC{0,64}") {
            let _ = extract_signed_response(&body, "alipay.trade.pay");
        }
    }
}
