//! The merchant API certificate (商户API证书, `apiclient_cert.p12`) that WeChat Pay demands as TLS client
//! authentication on the `secapi` calls (`/secapi/pay/reverse`, `/secapi/pay/refund`). Signing still uses the API key.
//!
//! WeChat issues a PKCS#12 file whose password is the mch_id. Older downloads are "legacy" PKCS#12 (RC2-40 for the
//! certificates, 3DES for the key, a SHA-1 MAC), which OpenSSL 3 refuses without its legacy provider; `p12-keystore`
//! (pure Rust) reads those and the modern AES/PBKDF2 ones alike. The subject's CN is the mch_id; the validity is
//! usually 1 to 5 years.
//!
//! rustls (through reqwest) wants the identity as one PEM buffer: the PKCS#8 `PRIVATE KEY` and the `CERTIFICATE`s.
//! That PEM is also the form the till keeps in its vault, so no password is stored. [`ApiCertificate`] holds it in
//! memory that is zeroised when dropped, and its `Debug` shows only the public facts ([`CertInfo`]).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// The file name WeChat gives the certificate, for messages.
pub const CERT_FILE: &str = "apiclient_cert.p12";

/// Why a certificate cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("the certificate password is wrong (WeChat sets it to the mch_id)")]
    WrongPassword,
    #[error("the file is not a PKCS#12 certificate like {CERT_FILE}: {0}")]
    NotPkcs12(String),
    #[error("the certificate file holds no private key with its certificate")]
    NoKey,
    #[error("the certificate cannot be read: {0}")]
    BadCertificate(String),
    #[error("the certificate's subject has no CN (it should be the mch_id)")]
    NoCommonName,
    #[error("the certificate is for merchant {cn}, not for the configured mch_id {mch_id}")]
    OtherMerchant { cn: String, mch_id: String },
    #[error(
        "the certificate expired on {date} (UTC): download a new one in the WeChat Pay merchant platform (账户中心 → \
         API安全 → API证书) and import it"
    )]
    Expired { date: String },
    #[error("the certificate is not valid before {date} (UTC): check the till's clock")]
    NotYetValid { date: String },
}

/// The public facts of a certificate: what the settings show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject CN: the mch_id for a WeChat Pay API certificate.
    pub subject_cn: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// SHA-256 of the certificate (DER), uppercase hex pairs joined by ':' as `openssl x509 -fingerprint` shows it.
    pub sha256: String,
}

impl CertInfo {
    /// The expiry date, `YYYY-MM-DD` (UTC).
    pub fn expiry_date(&self) -> String {
        date_of(self.not_after)
    }

    /// Whole days from `now` until it expires (negative once expired).
    pub fn days_left(&self, now: OffsetDateTime) -> i64 {
        (self.not_after - now).whole_days()
    }

    /// Valid at `now`?
    pub fn check_time(&self, now: OffsetDateTime) -> Result<(), CertError> {
        if now > self.not_after {
            return Err(CertError::Expired { date: self.expiry_date() });
        }
        if now < self.not_before {
            return Err(CertError::NotYetValid { date: date_of(self.not_before) });
        }
        Ok(())
    }

    /// Issued to `mch_id`?
    pub fn check_merchant(&self, mch_id: &str) -> Result<(), CertError> {
        if self.subject_cn.trim() != mch_id.trim() {
            return Err(CertError::OtherMerchant { cn: self.subject_cn.clone(), mch_id: mch_id.trim().to_owned() });
        }
        Ok(())
    }
}

fn date_of(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// A merchant API certificate with its private key, ready to present.
#[derive(Clone)]
pub struct ApiCertificate {
    /// `PRIVATE KEY` (PKCS#8) then the `CERTIFICATE`s, leaf first.
    pem: Zeroizing<String>,
    info: CertInfo,
}

impl fmt::Debug for ApiCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiCertificate").field("info", &self.info).field("key", &"<redacted>").finish()
    }
}

impl ApiCertificate {
    /// Reads a PKCS#12 file (legacy RC2/3DES with a SHA-1 MAC, or modern AES/PBKDF2). Checks nothing but that it
    /// opens and holds a key with its certificate; see [`CertInfo::check_merchant`] and [`CertInfo::check_time`].
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self, CertError> {
        let store = p12_keystore::KeyStore::from_pkcs12(der, password, p12_keystore::Pkcs12ImportPolicy::Relaxed)
            .map_err(|e| match e {
                p12_keystore::error::Error::MacError(_) => CertError::WrongPassword,
                other => CertError::NotPkcs12(other.to_string()),
            })?;
        let Some((_, chain)) = store.private_key_chain() else { return Err(CertError::NoKey) };
        let Some(leaf) = chain.certs().first() else { return Err(CertError::NoKey) };
        let info = read_info(leaf.as_der())?;
        let mut pem = Zeroizing::new(String::new());
        push_pem(&mut pem, "PRIVATE KEY", chain.key().as_der());
        for cert in chain.certs() {
            push_pem(&mut pem, "CERTIFICATE", cert.as_der());
        }
        Ok(ApiCertificate { pem, info })
    }

    /// Reads the PEM form kept in the vault (a `PRIVATE KEY` and at least one `CERTIFICATE`, leaf first).
    pub fn from_pem(text: &str) -> Result<Self, CertError> {
        let mut key = false;
        let mut leaf: Option<Zeroizing<Vec<u8>>> = None;
        for (label, der) in pem_blocks(text)? {
            match label.as_str() {
                "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => key = true,
                "CERTIFICATE" if leaf.is_none() => leaf = Some(der),
                _ => {}
            }
        }
        let (true, Some(leaf)) = (key, leaf) else { return Err(CertError::NoKey) };
        let info = read_info(&leaf)?;
        Ok(ApiCertificate { pem: Zeroizing::new(text.to_owned()), info })
    }

    pub fn info(&self) -> &CertInfo {
        &self.info
    }

    /// The key and certificates as PEM: secret, for the vault only.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The TLS client identity.
    pub fn identity(&self) -> Result<reqwest::Identity, CertError> {
        reqwest::Identity::from_pem(self.pem.as_bytes()).map_err(|e| CertError::BadCertificate(e.to_string()))
    }
}

/// The CN, validity and fingerprint of a DER certificate.
pub fn read_info(der: &[u8]) -> Result<CertInfo, CertError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| CertError::BadCertificate(e.to_string()))?;
    let subject_cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(|cn| cn.trim().to_owned())
        .filter(|cn| !cn.is_empty())
        .ok_or(CertError::NoCommonName)?;
    let validity = cert.validity();
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(der);
    let sha256 = digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":");
    Ok(CertInfo {
        subject_cn,
        not_before: validity.not_before.to_datetime(),
        not_after: validity.not_after.to_datetime(),
        sha256,
    })
}

fn push_pem(out: &mut String, label: &str, der: &[u8]) {
    let body = Zeroizing::new(BASE64.encode(der));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in body.as_bytes().chunks(64) {
        // Base64 is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
}

/// One PEM block: its label and DER bytes (zeroised when dropped: it may be a key).
type PemBlock = (String, Zeroizing<Vec<u8>>);

/// The blocks of a PEM text.
fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, CertError> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, Zeroizing<String>)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
            current = Some((label.to_owned(), Zeroizing::new(String::new())));
        } else if let Some(label) = line.strip_prefix("-----END ").and_then(|l| l.strip_suffix("-----")) {
            let Some((begun, body)) = current.take() else {
                return Err(CertError::BadCertificate(format!("END {label} without BEGIN")));
            };
            if begun != label {
                return Err(CertError::BadCertificate(format!("BEGIN {begun} ends with END {label}")));
            }
            let der = BASE64.decode(body.as_bytes()).map_err(|e| CertError::BadCertificate(format!("{label}: {e}")))?;
            blocks.push((label.to_owned(), Zeroizing::new(der)));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        }
    }
    if blocks.is_empty() {
        return Err(CertError::BadCertificate("no PEM blocks".into()));
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(matches!(ApiCertificate::from_pkcs12(b"not a p12", "1900000109"), Err(CertError::NotPkcs12(_))));
        assert!(matches!(ApiCertificate::from_pem("hello"), Err(CertError::BadCertificate(_))));
        let only_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(ApiCertificate::from_pem(only_key).unwrap_err(), CertError::NoKey);
        let mismatched = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(ApiCertificate::from_pem(mismatched), Err(CertError::BadCertificate(_))));
    }

    #[test]
    fn times_and_merchants_are_checked() {
        let day = time::Duration::days(1);
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let info = CertInfo {
            subject_cn: "1900000109".into(),
            not_before: now - day * 365,
            not_after: now + day * 20,
            sha256: "AB".into(),
        };
        assert_eq!(info.days_left(now), 20);
        assert!(info.check_time(now).is_ok());
        assert!(matches!(info.check_time(now + day * 21), Err(CertError::Expired { .. })));
        assert!(matches!(info.check_time(now - day * 366), Err(CertError::NotYetValid { .. })));
        assert!(info.check_merchant(" 1900000109 ").is_ok());
        let e = info.check_merchant("1900000110").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the certificate is for merchant 1900000109, not for the configured mch_id 1900000110"
        );
        assert_eq!(
            CertError::WrongPassword.to_string(),
            "the certificate password is wrong (WeChat sets it to the mch_id)"
        );
    }
}
