//! The onboarding and CDS platform messages exactly as they travel (JSON field names as in docs/SANDBOX.md).

use serde::{Deserialize, Serialize};

/// `POST /onboarding/{acquirer_id}/merchants`: the merchant information the acquirer verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantSubmission {
    pub legal_name: String,
    /// Latin letters, at most 25 characters (EMVCo tag 59).
    pub display_name: String,
    pub display_name_zh: String,
    /// ISO 18245, 4 digits.
    pub mcc: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub city: String,
    pub postal_code: String,
    /// ISO 4217 letters ("CNY").
    pub currency: String,
    /// The merchant's own store number.
    pub store_id: String,
    pub store_name: String,
    pub address: String,
    pub contact: String,
    /// The settlement account at this acquirer's protocol (Alipay app_id or WeChat mch_id); `None` lets the
    /// acquirer choose (the sandbox uses its first merchant's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// The answer to a submission and to `GET /onboarding/{acquirer_id}/merchants/{merchant_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MerchantStatusResponse {
    pub acquirer_id: String,
    pub merchant_id: String,
    /// `pending_verification`, `active` or `failed`.
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    pub issuer_guid: String,
    #[serde(default)]
    pub cds_platform_id: Option<String>,
    #[serde(default)]
    pub cds_index: Option<String>,
    #[serde(default)]
    pub submitted_at: Option<String>,
}

/// `201` answer of `POST /onboarding/{acquirer_id}/merchants/{merchant_id}/cds`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CdsRegistrationResponse {
    pub cds_platform_id: String,
    pub cds_index: String,
    pub acquirer_id: String,
    pub merchant_id: String,
}

/// `POST /onboarding/{acquirer_id}/cds-bindings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindRequest {
    pub cds_index: String,
    pub merchant_id: String,
}

/// `GET /cds/indexes/{cds_index}` (and the `201` answer of a binding).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IndexLookupResponse {
    pub cds_platform_id: String,
    pub cds_index: String,
    #[serde(default)]
    pub merchant: serde_json::Value,
    pub acquirers: Vec<BoundAcquirerWire>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BoundAcquirerWire {
    pub acquirer_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub protocol: String,
    pub merchant_id: String,
    #[serde(default)]
    pub bound_at: String,
}

/// Every refusal: `{error, message, field?}` with a 4xx/5xx status.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    pub error: String,
    pub message: String,
    #[serde(default)]
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_shapes_parse() {
        let s: MerchantStatusResponse = serde_json::from_str(
            r#"{"acquirer_id":"ALIPAY","merchant_id":"ALIPAYM00000001","status":"pending_verification",
                "issuer_guid":"com.alipay.sandbox","submitted_at":"2026-11-25T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!((s.status.as_str(), s.cds_index), ("pending_verification", None));
        let l: IndexLookupResponse = serde_json::from_str(
            r#"{"cds_platform_id":"SANDBOXCDS","cds_index":"IDX000000001","merchant":{"display_name":"X"},
                "acquirers":[{"acquirer_id":"PARTNER1","name":"P","protocol":"alipay","merchant_id":"M","bound_at":"t"}]}"#,
        )
        .unwrap();
        assert_eq!(l.acquirers[0].acquirer_id, "PARTNER1");
        let e: ApiError =
            serde_json::from_str(r#"{"error":"unknown_cds_index","message":"no","field":"cds_index"}"#).unwrap();
        assert_eq!(e.field.as_deref(), Some("cds_index"));
    }
}
