//! The old home of the payment-code and client-error helpers, kept as a path until the screens that name it move to
//! [`super::auth_code`] and [`super::client_error`].

pub use super::auth_code::*;
pub use super::client_error::*;
