//! RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2), the scheme behind Alipay's `RSA2`.
//!
//! Keys are read, written and generated with the `rsa` crate (every PEM/DER form Alipay's tools produce). The
//! signature operations themselves run in AWS-LC (`aws-lc-rs`, already in the tree as rustls' provider) for keys of
//! 2048–8192 bits, prepared once per key: an RSA-2048 signature there takes a fraction of the `rsa` crate's time,
//! and both sides of a sandbox payment sign once each. Keys outside that range go through the `rsa` crate. The
//! scheme is deterministic, so both give the same bytes; the official vectors in `sign.rs` and the equivalence tests
//! below pin it.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::EncodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use sha2::Sha256;

/// Why a raw signature operation failed; the caller turns it into a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RsassaError {
    /// The modulus is too small to hold the encoded digest.
    KeyTooSmall,
    /// The signature's length or value does not fit the key.
    Malformed,
    /// The signature does not match.
    Mismatch,
    /// Signing failed (a fault); nothing is returned.
    Fault,
}

/// The smallest modulus that holds EMSA-PKCS1-v1_5 of a SHA-256 digest: 19 + 32 bytes of DigestInfo + 11.
const MIN_KEY_BYTES: usize = 62;

/// The modulus sizes AWS-LC's PKCS#1 v1.5 operations take.
const FAST_BITS: std::ops::RangeInclusive<u32> = 2048..=8192;

fn modulus_bits(n: &impl PublicKeyParts) -> u32 {
    n.n().bit_width()
}

/// An RSA private key (an app private key, or the sandbox's platform key): the `rsa` crate's key plus, for
/// 2048–8192-bit keys, the same key prepared for AWS-LC. `Debug` never shows key material.
#[derive(Clone)]
pub struct PrivateKey {
    rsa: rsa::PrivateKey,
    fast: Option<Arc<RsaKeyPair>>,
}

impl PrivateKey {
    /// Prepares `key` for signing. A key AWS-LC does not take is used through the `rsa` crate alone.
    pub fn new(key: rsa::PrivateKey) -> PrivateKey {
        let fast = if FAST_BITS.contains(&modulus_bits(&key)) {
            key.to_pkcs8_der().ok().and_then(|der| RsaKeyPair::from_pkcs8(der.as_bytes()).ok()).map(Arc::new)
        } else {
            None
        };
        PrivateKey { rsa: key, fast }
    }

    /// The same key signing through the `rsa` crate only: for comparisons (the payment benchmark's breakdown).
    pub fn without_aws_lc(key: rsa::PrivateKey) -> PrivateKey {
        PrivateKey { rsa: key, fast: None }
    }

    /// The key as the `rsa` crate holds it (encoding, the public half).
    pub fn as_rsa(&self) -> &rsa::PrivateKey {
        &self.rsa
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::new(self.rsa.to_public_key())
    }

    /// The modulus size in bytes (256 for RSA-2048).
    pub fn size(&self) -> usize {
        self.rsa.size()
    }
}

impl PartialEq for PrivateKey {
    fn eq(&self, other: &Self) -> bool {
        self.rsa == other.rsa
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(RSA-{}, <redacted>)", modulus_bits(&self.rsa))
    }
}

impl From<rsa::PrivateKey> for PrivateKey {
    fn from(key: rsa::PrivateKey) -> Self {
        PrivateKey::new(key)
    }
}

/// An RSA public key (the Alipay public key, an app public key), parsed once for AWS-LC when 2048–8192 bits.
#[derive(Clone)]
pub struct PublicKey {
    rsa: rsa::PublicKey,
    fast: Option<Arc<ParsedPublicKey>>,
}

impl PublicKey {
    pub fn new(key: rsa::PublicKey) -> PublicKey {
        let fast = if FAST_BITS.contains(&modulus_bits(&key)) {
            key.to_pkcs1_der()
                .ok()
                .and_then(|der| ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_bytes()).ok())
                .map(Arc::new)
        } else {
            None
        };
        PublicKey { rsa: key, fast }
    }

    /// The key as the `rsa` crate holds it (encoding, parameters).
    pub fn as_rsa(&self) -> &rsa::PublicKey {
        &self.rsa
    }

    /// The modulus size in bytes.
    pub fn size(&self) -> usize {
        self.rsa.size()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.rsa == other.rsa
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey").field(&self.rsa).finish()
    }
}

impl From<rsa::PublicKey> for PublicKey {
    fn from(key: rsa::PublicKey) -> Self {
        PublicKey::new(key)
    }
}

/// Signs `message` (SHA256withRSA, PKCS#1 v1.5). Deterministic.
pub(super) fn sign(key: &PrivateKey, message: &[u8]) -> Result<Vec<u8>, RsassaError> {
    if key.rsa.size() < MIN_KEY_BYTES {
        return Err(RsassaError::KeyTooSmall);
    }
    if let Some(fast) = &key.fast {
        let mut signature = vec![0u8; fast.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        fast.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature).map_err(|_| RsassaError::Fault)?;
        return Ok(signature);
    }
    slow_sign(&key.rsa, message)
}

fn slow_sign(key: &rsa::PrivateKey, message: &[u8]) -> Result<Vec<u8>, RsassaError> {
    let signer = SigningKey::<Sha256>::new(key.clone());
    let signature = signer.try_sign(message).map_err(|_| RsassaError::Fault)?;
    Ok(signature.to_vec())
}

/// Verifies a SHA256withRSA PKCS#1 v1.5 signature.
pub(super) fn verify(key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<(), RsassaError> {
    if signature.len() != key.rsa.size() {
        return Err(RsassaError::Malformed);
    }
    if let Some(fast) = &key.fast {
        return fast.verify_sig(message, signature).map_err(|_| RsassaError::Mismatch);
    }
    slow_verify(&key.rsa, message, signature)
}

fn slow_verify(key: &rsa::PublicKey, message: &[u8], signature: &[u8]) -> Result<(), RsassaError> {
    let signature = Signature::try_from(signature).map_err(|_| RsassaError::Malformed)?;
    VerifyingKey::<Sha256>::new(key.clone()).verify(message, &signature).map_err(|_| RsassaError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let keys: serde_json::Value =
                serde_json::from_str(include_str!("../../../tests/vectors/test_keys.json")).unwrap();
            super::super::sign::parse_private_key(keys["app"]["pkcs8_pem"].as_str().unwrap()).unwrap()
        })
    }

    #[test]
    fn a_2048_bit_key_takes_the_fast_path() {
        assert!(key().fast.is_some());
        assert!(key().public_key().fast.is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// AWS-LC and the `rsa` crate make the same signature, and each accepts the other's; a changed byte of the
        /// message or the signature is refused by both.
        #[test]
        fn both_implementations_agree(message in proptest::collection::vec(any::<u8>(), 0..300), flip in 0usize..256) {
            let key = key();
            let public = key.public_key();
            let fast = sign(key, &message).unwrap();
            let slow = slow_sign(&key.rsa, &message).unwrap();
            prop_assert_eq!(&fast, &slow);
            prop_assert!(verify(&public, &message, &slow).is_ok());
            prop_assert!(slow_verify(&public.rsa, &message, &fast).is_ok());
            let mut bad = fast.clone();
            let at = flip % bad.len();
            bad[at] ^= 0x01;
            prop_assert_eq!(verify(&public, &message, &bad), Err(RsassaError::Mismatch));
            prop_assert!(slow_verify(&public.rsa, &message, &bad).is_err());
            let mut other = message.clone();
            other.push(0);
            prop_assert_eq!(verify(&public, &other, &fast), Err(RsassaError::Mismatch));
        }
    }

    #[test]
    fn a_small_key_signs_through_the_rsa_crate() {
        let small = PrivateKey::new(rsa::PrivateKey::new(&mut rand::rng(), 1024).unwrap());
        assert!(small.fast.is_none());
        let public = small.public_key();
        let signature = sign(&small, b"a=1").unwrap();
        assert_eq!(signature, slow_sign(&small.rsa, b"a=1").unwrap());
        verify(&public, b"a=1", &signature).unwrap();
        assert_eq!(verify(&public, b"a=2", &signature), Err(RsassaError::Mismatch));
    }
}
