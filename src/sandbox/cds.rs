//! Acquirer onboarding and the CDS platform (JSON over HTTP; our own design, documented in docs/SANDBOX.md).
//!
//! The flows follow the Alipay+ MPM document: an acquirer verifies a merchant and assigns its merchant id;
//! acquirer 1 registers the merchant on the CDS platform and gets a merchant CDS index; acquirer 2 binds to the
//! same index; anyone can look up the acquirers bound to an index.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::SandboxState;

/// The merchant information an acquirer verifies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MerchantSubmission {
    pub legal_name: String,
    /// Latin letters, at most 25 characters (EMVCo tag 59).
    pub display_name: String,
    #[serde(default)]
    pub display_name_zh: String,
    pub mcc: String,
    pub country: String,
    pub city: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default)]
    pub store_id: String,
    #[serde(default)]
    pub store_name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact: String,
    /// The settlement account at this acquirer's protocol (Alipay app_id or WeChat mch_id); defaults to the
    /// acquirer's own account (`acquirers[].account`).
    #[serde(default)]
    pub account: Option<String>,
}

fn default_currency() -> String {
    "CNY".into()
}

/// Merchant category codes the sandbox acquirers refuse (as real ones do), to exercise the "failed" status.
const REFUSED_MCC: &[(&str, &str)] = &[("7995", "gambling"), ("5993", "tobacco")];

#[derive(Debug, Serialize)]
pub struct ApiError {
    pub error: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

fn refuse(status: StatusCode, error: &'static str, message: String, field: Option<&'static str>) -> Response {
    (status, Json(ApiError { error, message, field })).into_response()
}

fn validate(m: &MerchantSubmission) -> Result<(), (String, &'static str)> {
    let need = |v: &str, field: &'static str| {
        if v.trim().is_empty() { Err((format!("{field} is required"), field)) } else { Ok(()) }
    };
    need(&m.legal_name, "legal_name")?;
    need(&m.display_name, "display_name")?;
    need(&m.city, "city")?;
    let name_len = m.display_name.chars().count();
    if name_len > 25 {
        return Err((
            format!("display_name is {name_len} characters; store codes allow 25 (shorten it by {})", name_len - 25),
            "display_name",
        ));
    }
    if !m.display_name.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        return Err((
            "display_name must be Latin letters (put the Chinese name in display_name_zh)".into(),
            "display_name",
        ));
    }
    if m.mcc.len() != 4 || !m.mcc.bytes().all(|b| b.is_ascii_digit()) {
        return Err((format!("mcc must be 4 digits (ISO 18245), got {:?}", m.mcc), "mcc"));
    }
    if m.country.len() != 2 || !m.country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err((format!("country must be an ISO 3166 two-letter code like CN, got {:?}", m.country), "country"));
    }
    Ok(())
}

fn acquirer_exists(state: &SandboxState, acquirer_id: &str) -> Result<super::accounts::SandboxAcquirer, Response> {
    state.accounts().acquirer(acquirer_id).cloned().ok_or_else(|| {
        refuse(StatusCode::NOT_FOUND, "unknown_acquirer", format!("no sandbox acquirer {acquirer_id:?}"), None)
    })
}

fn internal(e: impl std::fmt::Display) -> Response {
    refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string(), None)
}

/// `POST /onboarding/{acquirer_id}/merchants`: submit a merchant for verification.
pub async fn submit_merchant(
    State(state): State<Arc<SandboxState>>,
    Path(acquirer_id): Path<String>,
    Json(m): Json<MerchantSubmission>,
) -> Response {
    let acquirer = match acquirer_exists(&state, &acquirer_id) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Err((message, field)) = validate(&m) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "invalid_merchant", message, Some(field));
    }
    let accounts = state.accounts();
    // By default the store settles to the till's own account with this acquirer (for ALIPAY and WECHATPAY, the
    // first sandbox merchant's, as before acquirers had their own).
    let account = m.account.clone().or_else(|| acquirer.account_id().map(str::to_owned)).or_else(|| {
        accounts.merchants.first().map(|a| {
            if acquirer.protocol == "wechatpay" { a.wechatpay.mch_id.clone() } else { a.alipay.app_id.clone() }
        })
    });
    let now = state.now();
    let seq = match state.ledger.count_acquirer_merchants(&acquirer_id) {
        Ok(n) => n + 1,
        Err(e) => return internal(e),
    };
    let merchant_id = format!("{}M{:08}", acquirer_id, seq);
    let delay = time::Duration::milliseconds(state.config().verification_delay_ms as i64);
    let info = serde_json::to_string(&m).unwrap_or_default();
    if let Err(e) =
        state.ledger.insert_acquirer_merchant(&acquirer_id, &merchant_id, &info, account.as_deref(), now + delay, now)
    {
        return internal(e);
    }
    // A refused category fails verification straight away, with the reason.
    if let Some((_, why)) = REFUSED_MCC.iter().find(|(mcc, _)| *mcc == m.mcc)
        && let Err(e) = state.ledger.fail_acquirer_merchant(
            &acquirer_id,
            &merchant_id,
            &format!("MCC {} ({why}) is not accepted by {}", m.mcc, acquirer.name),
        )
    {
        return internal(e);
    }
    merchant_status(State(state), Path((acquirer_id, merchant_id))).await
}

#[derive(Debug, Serialize)]
struct MerchantStatus {
    acquirer_id: String,
    merchant_id: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    issuer_guid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cds_platform_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cds_index: Option<String>,
    submitted_at: String,
}

/// `GET /onboarding/{acquirer_id}/merchants/{merchant_id}`: verification status.
pub async fn merchant_status(
    State(state): State<Arc<SandboxState>>,
    Path((acquirer_id, merchant_id)): Path<(String, String)>,
) -> Response {
    let acquirer = match acquirer_exists(&state, &acquirer_id) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let m = match state.ledger.acquirer_merchant(&acquirer_id, &merchant_id, state.now()) {
        Ok(Some(m)) => m,
        Ok(None) => {
            return refuse(
                StatusCode::NOT_FOUND,
                "unknown_merchant",
                format!("{} has no merchant {merchant_id:?}", acquirer.name),
                None,
            );
        }
        Err(e) => return internal(e),
    };
    let cds_index = state.ledger.cds_index_of(&acquirer_id, &merchant_id).ok().flatten();
    let platform = state.accounts().platform.cds_platform_id;
    Json(MerchantStatus {
        acquirer_id,
        merchant_id,
        status: m.status,
        reason: m.reason,
        issuer_guid: acquirer.issuer_guid,
        cds_platform_id: cds_index.as_ref().map(|_| platform),
        cds_index,
        submitted_at: m.created_at,
    })
    .into_response()
}

#[derive(Debug, Serialize)]
struct CdsRegistration {
    cds_platform_id: String,
    cds_index: String,
    acquirer_id: String,
    merchant_id: String,
}

fn require_active(
    state: &SandboxState,
    acquirer_id: &str,
    merchant_id: &str,
) -> Result<super::ledger::AcquirerMerchant, Response> {
    match state.ledger.acquirer_merchant(acquirer_id, merchant_id, state.now()) {
        Ok(Some(m)) if m.status == "active" => Ok(m),
        Ok(Some(m)) if m.status == "failed" => Err(refuse(
            StatusCode::CONFLICT,
            "merchant_failed",
            format!("merchant {merchant_id} failed verification: {}", m.reason.unwrap_or_default()),
            None,
        )),
        Ok(Some(_)) => Err(refuse(
            StatusCode::CONFLICT,
            "merchant_pending",
            format!("merchant {merchant_id} is still being verified by {acquirer_id}; try again shortly"),
            None,
        )),
        Ok(None) => Err(refuse(
            StatusCode::NOT_FOUND,
            "unknown_merchant",
            format!("acquirer {acquirer_id} has no merchant {merchant_id:?}"),
            None,
        )),
        Err(e) => Err(internal(e)),
    }
}

/// `POST /onboarding/{acquirer_id}/merchants/{merchant_id}/cds`: the acquirer registers its merchant on the CDS
/// platform, which assigns a merchant CDS index bound to this acquirer.
pub async fn register_on_cds(
    State(state): State<Arc<SandboxState>>,
    Path((acquirer_id, merchant_id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = acquirer_exists(&state, &acquirer_id) {
        return r;
    }
    let m = match require_active(&state, &acquirer_id, &merchant_id) {
        Ok(m) => m,
        Err(r) => return r,
    };
    match state.ledger.cds_index_of(&acquirer_id, &merchant_id) {
        Ok(Some(existing)) => {
            return refuse(
                StatusCode::CONFLICT,
                "already_registered",
                format!("merchant {merchant_id} is already registered on the CDS platform as {existing}"),
                None,
            );
        }
        Ok(None) => {}
        Err(e) => return internal(e),
    }
    let platform_id = state.accounts().platform.cds_platform_id;
    let seq = match state.ledger.count_cds_indexes() {
        Ok(n) => n + 1,
        Err(e) => return internal(e),
    };
    let cds_index = format!("IDX{:09}", seq);
    if let Err(e) =
        state.ledger.register_cds(&cds_index, &platform_id, &m.info_json, &acquirer_id, &merchant_id, state.now())
    {
        return internal(e);
    }
    (StatusCode::CREATED, Json(CdsRegistration { cds_platform_id: platform_id, cds_index, acquirer_id, merchant_id }))
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct BindRequest {
    pub cds_index: String,
    pub merchant_id: String,
}

/// `POST /onboarding/{acquirer_id}/cds-bindings`: a second acquirer binds its merchant to an existing index.
pub async fn bind_to_index(
    State(state): State<Arc<SandboxState>>,
    Path(acquirer_id): Path<String>,
    Json(req): Json<BindRequest>,
) -> Response {
    // Fault target `cds-bindings` (e.g. drop_after_commit: bound on the platform, the answer lost).
    let (fired, early) = super::before(&state, "cds-bindings").await;
    if let Some(r) = early {
        return r;
    }
    if let Err(r) = acquirer_exists(&state, &acquirer_id) {
        return r;
    }
    if let Err(r) = require_active(&state, &acquirer_id, &req.merchant_id) {
        return r;
    }
    match state.ledger.cds_index(&req.cds_index) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return refuse(
                StatusCode::NOT_FOUND,
                "unknown_cds_index",
                format!("the CDS platform has no merchant index {:?}", req.cds_index),
                Some("cds_index"),
            );
        }
        Err(e) => return internal(e),
    }
    let bindings = match state.ledger.cds_bindings(&req.cds_index) {
        Ok(b) => b,
        Err(e) => return internal(e),
    };
    if let Some((_, merchant, _)) = bindings.iter().find(|(a, _, _)| *a == acquirer_id) {
        return refuse(
            StatusCode::CONFLICT,
            "already_bound",
            format!("acquirer {acquirer_id} is already bound to {} (merchant {merchant})", req.cds_index),
            None,
        );
    }
    if let Err(e) = state.ledger.bind_cds(&req.cds_index, &acquirer_id, &req.merchant_id, state.now()) {
        return internal(e);
    }
    if fired.has(super::faults::FaultKind::DropAfterCommit) {
        return super::finish(super::Reply::json(String::new()), &fired);
    }
    lookup(&state, &req.cds_index, StatusCode::CREATED)
}

/// `GET /cds/indexes/{cds_index}`: the merchant and every acquirer bound to an index.
pub async fn lookup_index(State(state): State<Arc<SandboxState>>, Path(cds_index): Path<String>) -> Response {
    lookup(&state, &cds_index, StatusCode::OK)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct IndexLookup {
    pub cds_platform_id: String,
    pub cds_index: String,
    pub merchant: serde_json::Value,
    pub acquirers: Vec<BoundAcquirer>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BoundAcquirer {
    pub acquirer_id: String,
    pub name: String,
    pub protocol: String,
    pub merchant_id: String,
    pub bound_at: String,
}

fn lookup(state: &SandboxState, cds_index: &str, status: StatusCode) -> Response {
    let (platform_id, info) = match state.ledger.cds_index(cds_index) {
        Ok(Some(found)) => found,
        Ok(None) => {
            return refuse(
                StatusCode::NOT_FOUND,
                "unknown_cds_index",
                format!("the CDS platform has no merchant index {cds_index:?}"),
                None,
            );
        }
        Err(e) => return internal(e),
    };
    let accounts = state.accounts();
    let acquirers = match state.ledger.cds_bindings(cds_index) {
        Ok(b) => b
            .into_iter()
            .map(|(acquirer_id, merchant_id, bound_at)| {
                let a = accounts.acquirer(&acquirer_id);
                BoundAcquirer {
                    name: a.map(|a| a.name.clone()).unwrap_or_default(),
                    protocol: a.map(|a| a.protocol.clone()).unwrap_or_default(),
                    acquirer_id,
                    merchant_id,
                    bound_at,
                }
            })
            .collect(),
        Err(e) => return internal(e),
    };
    let merchant = serde_json::from_str(&info).unwrap_or(serde_json::Value::Null);
    (status, Json(IndexLookup { cds_platform_id: platform_id, cds_index: cds_index.to_owned(), merchant, acquirers }))
        .into_response()
}
