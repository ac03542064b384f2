//! The pull of a till enrolled with a merchant backend: each pass refreshes the till's copy of its store's setup
//! (routes, acquirers: `GET /v1/till`) and of its staff (names and roles: `GET /v1/operators`), and pages through
//! the store's order changes (`GET /v1/orders?since=`) from where the last pass stopped, writing the settled ones
//! (`store::pulled`): orders taken at the other tills of the store, store-code payments notified to the backend,
//! refunds made elsewhere. The cursor is kept after every page, so an interrupted pull resumes where it was, and a
//! page applied twice changes nothing.

use crate::channel::backend::api::FeedOrder;
use crate::channel::backend::{BackendClient, BackendError};
use crate::model::{AcquirerId, StoreId};
use crate::money::Amount;
use crate::routing::backend::{Mirrored, SETTING_FEED_SINCE, local_acquirer, mirror};
use crate::store::pulled::{Pulled, PulledOrder, PulledRefund};
use crate::store::serve::MirroredOperator;
use crate::store::{Store, StoreError};

/// Orders asked for per page.
pub const PAGE: u32 = 200;

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one pull did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PullSummary {
    pub new: usize,
    pub updated: usize,
    /// Orders whose figures could not be read (logged, skipped).
    pub skipped: usize,
    /// The change number reached.
    pub since: i64,
}

/// One pull (see the module doc).
pub async fn pull_orders(client: &BackendClient, store: &mut Store) -> Result<PullSummary, PullError> {
    let cfg = client.till().await?;
    let mirrored = mirror(store, &cfg, None)?;
    // The staff live in the backend: the till keeps the list it last saw (names and roles).
    let staff = client.operators().await?;
    let list: Vec<MirroredOperator> =
        staff.operators.iter().map(|o| MirroredOperator { name: o.name.clone(), role: o.role }).collect();
    store.mirror_backend_operators(&list)?;
    let mut summary = PullSummary {
        since: store.setting(SETTING_FEED_SINCE)?.and_then(|s| s.trim().parse().ok()).unwrap_or(0),
        ..PullSummary::default()
    };
    loop {
        let page = client.orders_since(summary.since, PAGE).await?;
        for o in &page.orders {
            let acquirer = match mirrored.acquirers.get(&o.acquirer.id) {
                Some(id) => *id,
                None => local_acquirer(store, &o.acquirer, cfg.mode)?,
            };
            let Some(pulled) = to_pulled(o, &mirrored, acquirer) else {
                tracing::warn!(out_trade_no = o.out_trade_no, "a pulled order's figures cannot be read; skipped");
                summary.skipped += 1;
                continue;
            };
            match store.apply_pulled_order(&pulled)? {
                Pulled::New => summary.new += 1,
                Pulled::Updated => summary.updated += 1,
                Pulled::Unchanged => {}
            }
        }
        let done = !page.more || page.orders.is_empty() || page.next <= summary.since;
        summary.since = summary.since.max(page.next);
        store.set_bookkeeping(SETTING_FEED_SINCE, &summary.since.to_string())?;
        if done {
            return Ok(summary);
        }
    }
}

fn to_pulled(o: &FeedOrder, mirrored: &Mirrored, acquirer_id: AcquirerId) -> Option<PulledOrder> {
    let store_id: StoreId = mirrored.store_id;
    let refunds = o
        .refunds
        .iter()
        .map(|r| {
            Some(PulledRefund {
                out_request_no: r.out_request_no.clone(),
                refund_amount: Amount::parse(&r.refund_amount).ok()?,
                reason: r.reason.clone(),
                status: r.status,
                created_at: r.created_at.clone(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(PulledOrder {
        out_trade_no: o.out_trade_no.clone(),
        trade_no: o.trade_no.clone(),
        store_id,
        acquirer_id,
        source: o.source,
        subject: o.subject.clone(),
        total_amount: Amount::parse(&o.total_amount).ok().filter(|a| a.fen() > 0)?,
        status: o.status,
        auth_code_masked: o.auth_code_masked.clone(),
        created_at: o.created_at.clone(),
        paid_at: o.paid_at.clone(),
        acquirer_merchant_id: o.acquirer_merchant_id.clone(),
        terminal_id: o.terminal_id.clone(),
        refunds,
    })
}
