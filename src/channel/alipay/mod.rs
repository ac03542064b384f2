//! Alipay OpenAPI (当面付 barcode pay): wire shapes, RSA2 signing, the trade bill file.

pub mod account_bill;
pub mod bill;
pub mod client;
pub mod notify;
mod rsassa;
pub mod sign;
pub mod wire;

// The keys the rest of TillDesk handles (settings, the key vault, the notify listener), without naming `sign`.
pub use sign::{AppKeyPair, PrivateKey, PublicKey, SignError, generate_app_keys, parse_private_key, parse_public_key};
/// Checks a signed request's RSA2 signature with the app's public key (the other side's check, for tests and tools).
pub use wire::verify_request_params;
