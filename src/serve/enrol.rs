//! Tills and their credentials: one-time enrolment codes (160 random bits, shown once, kept as a SHA-256 hash,
//! valid 24 hours, spent by the first enrolment) and bearer tokens (256 random bits, handed to the till once, kept
//! as a hash). Codes and tokens are [`Secret`]s: masked in `Debug`, wiped when dropped, never logged.

use rand::RngExt as _;
use sha2::Digest as _;

use crate::secrets::Secret;

/// How long an enrolment code works.
pub const CODE_LIFETIME: time::Duration = time::Duration::hours(24);

/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or typed is not mistaken.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new enrolment code: 32 characters of base32 (160 bits), in groups of four: `7K3M-Q9PD-…`.
pub fn new_code() -> Secret {
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..32).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    let groups: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
    Secret::new(groups.join("-"))
}

/// A new till token: `tdt_` and 64 hex digits (256 bits).
pub fn new_token() -> Secret {
    let bytes: [u8; 32] = rand::rng().random();
    Secret::new(format!("tdt_{}", hex::encode(bytes)))
}

/// The code as stored: the hash of its normalised form (upper case, without separators or spaces; Crockford's
/// look-alikes read as the digits they stand for).
pub fn code_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    hash("tilldesk-enrolment-code:", &normal)
}

/// The token as stored.
pub fn token_hash(token: &str) -> String {
    hash("tilldesk-till-token:", token.trim())
}

fn hash(domain: &str, text: &str) -> String {
    let mut d = sha2::Sha256::new();
    d.update(domain.as_bytes());
    d.update(text.as_bytes());
    hex::encode(d.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_tokens_are_long_random_and_hashed_apart() {
        let code = new_code();
        assert_eq!(code.expose().len(), 39);
        assert_eq!(code.expose().chars().filter(|c| *c != '-').count(), 32);
        assert_ne!(new_code().expose(), code.expose());
        assert!(!format!("{code:?}").contains(code.expose()));
        // Typed in lower case, without dashes, with an O for a 0: the same code.
        let typed = code.expose().replace('-', "").to_lowercase().replace('0', "o");
        assert_eq!(code_hash(&typed), code_hash(code.expose()));
        let token = new_token();
        assert!(token.expose().starts_with("tdt_") && token.expose().len() == 68);
        assert_ne!(token_hash(token.expose()), code_hash(token.expose()));
    }
}
