//! Alipay OpenAPI (当面付 barcode pay): wire shapes, RSA2 signing, the trade bill file.

pub mod account_bill;
pub mod bill;
pub mod client;
pub mod notify;
mod rsassa;
pub mod sign;
pub mod wire;
