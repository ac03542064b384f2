//! The HTTP client for acquirer onboarding and the CDS platform. Every answer is parsed into a typed value here;
//! a refusal keeps the platform's own code and message so the screen can say exactly what went wrong.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::wire::{
    ApiError, BindRequest, CdsRegistrationResponse, IndexLookupResponse, MerchantStatusResponse, MerchantSubmission,
};
use super::{BoundAcquirer, IndexListing, MerchantState};
use crate::model::{BindingStatus, Merchant, Store};
use crate::mpm::CdsData;

/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdsError {
    #[error("the onboarding address {url:?} is not a usable http(s) URL: {detail}")]
    BadUrl { url: String, detail: String },
    /// The platform or acquirer answered with a refusal.
    #[error("{message} ({code}, HTTP {status})")]
    Refused { status: u16, code: String, message: String, field: Option<String> },
    #[error("no answer from {url}: {detail}. Check the network and that the acquirer's address is right")]
    Transport { url: String, detail: String },
    #[error("{url} answered something TillDesk cannot read (HTTP {status}): {detail}")]
    BadResponse { url: String, status: u16, detail: String },
}

impl CdsError {
    /// The platform's refusal code (`unknown_cds_index`, `already_bound`, …), if it refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            CdsError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Talks to one onboarding/CDS server (the embedded sandbox, or a partner's).
#[derive(Debug, Clone)]
pub struct CdsClient {
    base: reqwest::Url,
    http: reqwest::Client,
}

impl CdsClient {
    /// `base_url` is the server's root, e.g. `http://127.0.0.1:40123`.
    pub fn new(base_url: &str) -> Result<Self, CdsError> {
        let bad = |detail: String| CdsError::BadUrl { url: base_url.to_owned(), detail };
        let base = reqwest::Url::parse(base_url.trim()).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad("expected http://HOST:PORT or https://HOST".into()));
        }
        let http = reqwest::Client::builder().timeout(CALL_TIMEOUT).build().map_err(|e| bad(e.to_string()))?;
        Ok(CdsClient { base, http })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        url: &reqwest::Url,
    ) -> Result<T, CdsError> {
        let shown = url.to_string();
        let response =
            request.send().await.map_err(|e| CdsError::Transport { url: shown.clone(), detail: without_url(&e) })?;
        let status = response.status().as_u16();
        let body =
            response.bytes().await.map_err(|e| CdsError::Transport { url: shown.clone(), detail: without_url(&e) })?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map_err(|e| CdsError::BadResponse {
                url: shown,
                status,
                detail: e.to_string(),
            });
        }
        match serde_json::from_slice::<ApiError>(&body) {
            Ok(e) => Err(CdsError::Refused { status, code: e.error, message: e.message, field: e.field }),
            Err(_) => Err(CdsError::BadResponse {
                url: shown,
                status,
                detail: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }),
        }
    }

    /// Submits a store of the merchant for verification; the answer carries the merchant id the acquirer assigned.
    pub async fn submit_merchant(
        &self,
        acquirer_code: &str,
        merchant: &Merchant,
        store: &Store,
    ) -> Result<MerchantState, CdsError> {
        let url = self.url(&["onboarding", acquirer_code, "merchants"]);
        let body = submission(merchant, store);
        let r: MerchantStatusResponse = self.call(self.http.post(url.clone()).json(&body), &url).await?;
        state(r, &url)
    }

    /// The verification status of a merchant at an acquirer.
    pub async fn merchant_status(&self, acquirer_code: &str, merchant_id: &str) -> Result<MerchantState, CdsError> {
        let url = self.url(&["onboarding", acquirer_code, "merchants", merchant_id]);
        let r: MerchantStatusResponse = self.call(self.http.get(url.clone()), &url).await?;
        state(r, &url)
    }

    /// The acquirer registers its (active) merchant on the CDS platform, which assigns a merchant CDS index.
    pub async fn register_on_cds(&self, acquirer_code: &str, merchant_id: &str) -> Result<CdsData, CdsError> {
        let url = self.url(&["onboarding", acquirer_code, "merchants", merchant_id, "cds"]);
        let r: CdsRegistrationResponse = self.call(self.http.post(url.clone()), &url).await?;
        Ok(CdsData { platform_id: r.cds_platform_id, cds_index: r.cds_index })
    }

    /// A further acquirer binds its (active) merchant to an existing merchant CDS index.
    pub async fn bind_to_index(
        &self,
        acquirer_code: &str,
        cds_index: &str,
        merchant_id: &str,
    ) -> Result<IndexListing, CdsError> {
        let url = self.url(&["onboarding", acquirer_code, "cds-bindings"]);
        let body = BindRequest { cds_index: cds_index.to_owned(), merchant_id: merchant_id.to_owned() };
        let r: IndexLookupResponse = self.call(self.http.post(url.clone()).json(&body), &url).await?;
        Ok(listing(r))
    }

    /// What a wallet finds on the CDS platform for an index: the merchant and every acquirer bound to it.
    pub async fn lookup_index(&self, cds_index: &str) -> Result<IndexListing, CdsError> {
        let url = self.url(&["cds", "indexes", cds_index]);
        let r: IndexLookupResponse = self.call(self.http.get(url.clone()), &url).await?;
        Ok(listing(r))
    }
}

/// reqwest's messages repeat the URL; the caller already names it.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    let mut detail = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    detail
}

fn submission(m: &Merchant, s: &Store) -> MerchantSubmission {
    MerchantSubmission {
        legal_name: m.legal_name.clone(),
        display_name: m.display_name.clone(),
        display_name_zh: m.display_name_zh.clone(),
        mcc: m.mcc.clone(),
        country: m.country.clone(),
        city: m.city.clone(),
        postal_code: m.postal_code.clone(),
        currency: m.currency.code().to_owned(),
        store_id: s.store_code.clone(),
        store_name: if s.name_zh.is_empty() { s.name.clone() } else { format!("{} {}", s.name, s.name_zh) },
        address: s.address.clone(),
        contact: s.contact.clone(),
        account: None,
    }
}

fn state(r: MerchantStatusResponse, url: &reqwest::Url) -> Result<MerchantState, CdsError> {
    let status = BindingStatus::parse(&r.status).ok_or_else(|| CdsError::BadResponse {
        url: url.to_string(),
        status: 200,
        detail: format!("unknown merchant status {:?}", r.status),
    })?;
    let cds = match (r.cds_platform_id, r.cds_index) {
        (Some(platform_id), Some(cds_index)) => Some(CdsData { platform_id, cds_index }),
        _ => None,
    };
    Ok(MerchantState { merchant_id: r.merchant_id, status, reason: r.reason, issuer_guid: r.issuer_guid, cds })
}

fn listing(r: IndexLookupResponse) -> IndexListing {
    IndexListing {
        merchant_name: r.merchant.get("display_name").and_then(|v| v.as_str()).map(str::to_owned),
        cds: CdsData { platform_id: r.cds_platform_id, cds_index: r.cds_index },
        acquirers: r
            .acquirers
            .into_iter()
            .map(|a| BoundAcquirer {
                acquirer_code: a.acquirer_id,
                name: a.name,
                protocol: a.protocol,
                merchant_id: a.merchant_id,
                bound_at: a.bound_at,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_escape_what_came_from_a_scanned_code() {
        let c = CdsClient::new("http://127.0.0.1:9/").unwrap();
        assert_eq!(c.url(&["cds", "indexes", "IDX/1 2"]).as_str(), "http://127.0.0.1:9/cds/indexes/IDX%2F1%202");
        assert!(matches!(CdsClient::new("ftp://x"), Err(CdsError::BadUrl { .. })));
        assert!(matches!(CdsClient::new("not a url"), Err(CdsError::BadUrl { .. })));
    }

    #[test]
    fn a_refused_call_keeps_the_platform_words() {
        let e = CdsError::Refused {
            status: 404,
            code: "unknown_cds_index".into(),
            message: "the CDS platform has no merchant index \"X\"".into(),
            field: None,
        };
        assert_eq!(e.code(), Some("unknown_cds_index"));
        assert!(e.to_string().contains("no merchant index"));
    }
}
