//! WeChat Pay API v2 (XML over HTTPS, MD5 / HMAC-SHA256 signatures): the 付款码 (micropay) family of calls and
//! the downloadbill text format.
//!
//! - [`sign`]: the canonical string and the two signature algorithms, checked against the official vectors.
//! - [`wire`]: XML codec (XXE-safe), the exact request/response fields of each endpoint, signing and verifying.
//! - [`bill`]: the 对账单 text format, written by the sandbox and streamed by the client.
//! - [`cert`]: the merchant API certificate (apiclient_cert.p12) for the `secapi` calls.

/// Declares a protocol enum spelled exactly as on the wire, with `as_str`, `parse` and `Display`.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The wire spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// Parses the exact wire spelling.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)* _ => None }
            }

            /// "one of A, B, C": for error messages.
            #[allow(dead_code)]
            pub(crate) fn expected() -> String {
                let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                format!("one of {}", names.join(", "))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod bill;
pub mod cert;
pub mod client;
pub mod notify;
pub mod sign;
pub mod wire;

/// The v2 signature algorithm (MD5 or HMAC-SHA256), a setting of the merchant's account.
pub use sign::SignType;
