//! The acquirers' notifications at a backend on PostgreSQL: the same verification and answers as the till's
//! listener (`sync::notify::check`, `answer`), recorded in the shared database, so whichever instance the platform
//! reaches records it once. (On SQLite the backend mounts `sync::notify::routes` itself.)

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::{Backend, DbError};
use crate::store::sync::NoticeOutcome;
use crate::sync::notify::{Checked, MAX_BODY_BYTES, NoticeError, NotifyKeys, Platform, answer, check, store_notice};

struct Notices {
    backend: Arc<Backend>,
}

impl Backend {
    /// Verifies and records one notification of `platform` (or the body's, when None) in the shared database.
    pub async fn notification(
        &self,
        keys: &NotifyKeys,
        platform: Option<Platform>,
        body: &str,
    ) -> crate::sync::notify::Handled {
        let platform = platform.unwrap_or_else(|| Platform::of(body));
        let result = match check(platform, keys, body) {
            Checked::Paid { acquirer_id, paid } => {
                self.record_notice(platform, acquirer_id, &paid).await.map_err(|e| {
                    tracing::warn!(error = %e, "cannot record a notification; the platform sends it again");
                    NoticeError::NotRecorded { detail: e.to_string() }
                })
            }
            Checked::Other => Ok(NoticeOutcome::AlreadyRecorded),
            Checked::Refused { reason, out_trade_no, digest } => {
                if let Some(pg) = self.pg()
                    && let Err(e) =
                        pg.record_rejected_notice(platform.protocol(), &digest, out_trade_no.as_deref(), &reason).await
                {
                    tracing::warn!(error = %e, "cannot log a rejected notification");
                }
                Err(NoticeError::Refused { reason })
            }
        };
        answer(platform, result)
    }

    async fn record_notice(
        &self,
        platform: Platform,
        acquirer_id: crate::model::AcquirerId,
        paid: &crate::channel::notice::PaidNotice,
    ) -> Result<NoticeOutcome, DbError> {
        let merchant = paid.merchant_id.as_deref();
        let store_id = self.with_store(|s| s.setup_mut().store_for_acquirer_merchant(acquirer_id, merchant))?;
        let paid_at = paid.paid_at_utc.clone().unwrap_or_else(crate::time::now_utc);
        let notice = store_notice(platform, acquirer_id, paid, &paid_at, store_id);
        let outcome = match self.pg() {
            Some(pg) => pg.record_paid_notice(&notice).await?,
            None => self.with_store(|s| s.sync_mut().record_paid_notice(&notice))?,
        };
        let (protocol, out_trade_no, amount) = (platform.protocol(), &paid.out_trade_no, paid.amount);
        tracing::info!(protocol, out_trade_no, %amount, %store_id, ?outcome, "notification");
        Ok(outcome)
    }
}

async fn handle(state: &Notices, platform: Option<Platform>, body: &str) -> Response {
    let keys = state.backend.notify_keys().unwrap_or_default();
    let handled = state.backend.notification(&keys, platform, body).await;
    let mut response = (StatusCode::OK, handled.reply).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(handled.content_type));
    response
}

/// `/notify`, `/notify/alipay`, `/notify/wechatpay` on the backend's shared database (bodies up to 64 KiB),
/// verified with the backend's notification keys as they are at each request (they change with the catalogue).
pub fn routes(backend: Arc<Backend>) -> Router {
    let state = Arc::new(Notices { backend });
    Router::new()
        .route(
            "/notify",
            post(|State(s): State<Arc<Notices>>, body: String| async move { handle(&s, None, &body).await }),
        )
        .route(
            "/notify/alipay",
            post(|State(s): State<Arc<Notices>>, body: String| async move {
                handle(&s, Some(Platform::Alipay), &body).await
            }),
        )
        .route(
            "/notify/wechatpay",
            post(|State(s): State<Arc<Notices>>, body: String| async move {
                handle(&s, Some(Platform::Wechat), &body).await
            }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
