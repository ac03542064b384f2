//! The exact request and response shapes of the Alipay OpenAPI methods TillDesk uses, with Alipay's own field
//! names. Money travels as decimal strings ("88.88"); the `*_amount()`-style helpers turn them into [`Amount`] at
//! this edge and name the field when the text is not an amount. Absent optional fields are not serialized.

use std::collections::BTreeMap;

use super::sign::{PrivateKey, PublicKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::sign::{self, SignError};
use crate::money::{Amount, AmountError};

/// Why a wire value could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the Alipay field {field} holds {text:?}, which is not an amount like 88.88")]
    BadAmount {
        field: &'static str,
        text: String,
        #[source]
        reason: AmountError,
    },
    #[error("the Alipay response has no {field}")]
    MissingField { field: &'static str },
    #[error("the Alipay {what} is not the JSON expected: {detail}")]
    Json { what: &'static str, detail: String },
}

mod bills;
mod codes;
mod common;
mod pay;
mod refund;
mod request;
mod trade;
pub use bills::*;
pub use codes::*;
pub use common::*;
pub use pay::*;
pub use refund::*;
pub use request::*;
pub use trade::*;

#[cfg(test)]
mod tests;
