//! RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2), the scheme behind Alipay's `RSA2`, from the `rsa` crate
//! (feature `pkcs1v15`). The official vectors in `sign.rs` pin the behaviour.

use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
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

/// Signs `message` (SHA256withRSA, PKCS#1 v1.5). Deterministic.
pub(super) fn sign(key: &PrivateKey, message: &[u8]) -> Result<Vec<u8>, RsassaError> {
    if key.size() < MIN_KEY_BYTES {
        return Err(RsassaError::KeyTooSmall);
    }
    let signer = SigningKey::<Sha256>::new(key.clone());
    let signature = signer.try_sign(message).map_err(|_| RsassaError::Fault)?;
    Ok(signature.to_vec())
}

/// Verifies a SHA256withRSA PKCS#1 v1.5 signature.
pub(super) fn verify(key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<(), RsassaError> {
    if signature.len() != key.size() {
        return Err(RsassaError::Malformed);
    }
    let signature = Signature::try_from(signature).map_err(|_| RsassaError::Malformed)?;
    VerifyingKey::<Sha256>::new(key.clone()).verify(message, &signature).map_err(|_| RsassaError::Mismatch)
}
