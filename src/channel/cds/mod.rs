//! Acquirer onboarding and the Code Directory Service (码目录服务) platform: submit a merchant for verification,
//! follow its status, register it on the CDS platform, bind a second acquirer to its merchant CDS index, and look
//! an index up. JSON over HTTP, our own design (no public CDS API exists): docs/SANDBOX.md.
//!
//! [`wire`] holds the exact request and response shapes; [`client`] turns them into the plain types below, which
//! are all the rest of TillDesk sees.

pub mod client;
pub mod wire;

pub use client::{CdsClient, CdsError};

use crate::model::BindingStatus;
use crate::mpm::CdsData;

/// What an acquirer says about a merchant it was asked to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantState {
    /// The merchant identifier the acquirer assigned.
    pub merchant_id: String,
    pub status: BindingStatus,
    /// Why verification failed.
    pub reason: Option<String>,
    /// What the acquirer puts in store codes as its identifier (reverse domain).
    pub issuer_guid: String,
    /// Set once the acquirer registered the merchant on the CDS platform.
    pub cds: Option<CdsData>,
}

/// One acquirer bound to a merchant CDS index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundAcquirer {
    /// The acquirer's onboarding id (`ALIPAY`, `WECHATPAY`, …).
    pub acquirer_code: String,
    pub name: String,
    /// The payment protocol its merchants use ("alipay", "wechatpay").
    pub protocol: String,
    pub merchant_id: String,
    /// As the platform wrote it (UTC).
    pub bound_at: String,
}

/// What the CDS platform knows about an index: what a wallet finds when it scans a code with CDS data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexListing {
    pub cds: CdsData,
    /// The merchant's Latin display name as registered, if any.
    pub merchant_name: Option<String>,
    pub acquirers: Vec<BoundAcquirer>,
}
