//! The pull of a till enrolled with a merchant backend: each pass refreshes the till's copy of its store's setup
//! (routes, acquirers: `GET /v1/till`) and of its staff (names and roles: `GET /v1/operators`), and pages through
//! the store's order changes (`GET /v1/orders?since=`) from where the last pass stopped, writing the settled ones
//! (`store::pulled`): orders taken at the other tills of the store, store-code payments notified to the backend,
//! refunds made elsewhere. The cursor is kept after every page, so an interrupted pull resumes where it was, and a
//! page applied twice changes nothing.

use std::collections::HashMap;

use crate::channel::backend::api::FeedOrder;
use crate::channel::backend::{BackendClient, BackendError};
use crate::model::Role;
use crate::model::{AcquirerId, StoreId};
use crate::money::Amount;
use crate::routing::backend::{SETTING_FEED_SCOPE, SETTING_FEED_SINCE, SETTING_SESSION_ROLE, local_acquirer, mirror};
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
    // For the operator signed in at the till now (the window signs in after the worker's client was built).
    let client = &crate::routing::backend::with_session(store, client.clone())?;
    let cfg = client.till().await?;
    let mirrored = mirror(store, &cfg, None)?;
    // The staff live in the backend: the till keeps the list it last saw (names and roles).
    let staff = client.operators().await?;
    let list: Vec<MirroredOperator> =
        staff.operators.iter().map(|o| MirroredOperator { name: o.name.clone(), role: o.role }).collect();
    store.backend_mut().mirror_backend_operators(&list)?;
    // An owner signed in at the till gets every store's orders: when that changes, the feed is read again from
    // the start (applying a change twice changes nothing).
    let owner = store.setting(SETTING_SESSION_ROLE)?.as_deref() == Some(Role::Owner.as_str());
    let scope = if owner { "all" } else { "store" };
    let mut since = store.setting(SETTING_FEED_SINCE)?.and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    if store.setting(SETTING_FEED_SCOPE)?.as_deref().unwrap_or("store") != scope {
        since = 0;
        store.set_bookkeeping(SETTING_FEED_SCOPE, scope)?;
    }
    let mut summary = PullSummary { since, ..PullSummary::default() };
    let mut stores: HashMap<String, StoreId> = HashMap::new();
    stores.insert(cfg.store.store_code.clone(), mirrored.store_id);
    loop {
        let page = client.orders_since(summary.since, PAGE).await?;
        for o in &page.orders {
            let acquirer = match mirrored.acquirers.get(&o.acquirer.id) {
                Some(id) => *id,
                None => local_acquirer(store, &o.acquirer, cfg.mode)?,
            };
            let store_id = match o.store_code.as_deref() {
                Some(code) => local_store(store, &mut stores, code, &cfg.stores)?,
                None => mirrored.store_id,
            };
            let Some(pulled) = to_pulled(o, store_id, acquirer) else {
                tracing::warn!(out_trade_no = o.out_trade_no, "a pulled order's figures cannot be read; skipped");
                summary.skipped += 1;
                continue;
            };
            match store.orders_mut().apply_pulled_order(&pulled)? {
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

/// The till's row of another store of the merchant (made the first time an owner's pull sees it, named as the
/// backend names it in `named`; by its code alone if the backend did not name it).
fn local_store(
    store: &mut Store,
    known: &mut HashMap<String, StoreId>,
    code: &str,
    named: &[crate::channel::backend::api::StoreRef],
) -> Result<StoreId, StoreError> {
    if let Some(id) = known.get(code) {
        return Ok(*id);
    }
    let id = match store.setup().store_by_code(code)? {
        Some(s) => s.id,
        None => {
            let merchant = store.setup_mut().merchant()?;
            let names = named.iter().find(|s| s.store_code == code);
            let new = crate::model::Store {
                id: StoreId(0),
                merchant_id: merchant.id,
                store_code: code.to_owned(),
                name: names.map_or_else(|| code.to_owned(), |s| s.name.clone()),
                name_zh: names.map(|s| s.name_zh.clone()).unwrap_or_default(),
                address: String::new(),
                contact: String::new(),
            };
            store.setup_mut().add_store(&new, None)?
        }
    };
    known.insert(code.to_owned(), id);
    Ok(id)
}

fn to_pulled(o: &FeedOrder, store_id: StoreId, acquirer_id: AcquirerId) -> Option<PulledOrder> {
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

/// Sends the shifts and day closes this till closed and its backend does not have yet (交接班, 日结: head office lists
/// every till's), oldest first; each is marked once the backend has it (sent again, nothing changes there). Returns
/// how many were sent.
pub async fn push_shift_reports(client: &BackendClient, store: &mut Store) -> Result<usize, PullError> {
    use crate::channel::backend::api::{ShiftKind, ShiftReport};
    let mut sent = 0;
    let now = crate::time::now_utc();
    let shifts = store.shifts().unreported_shifts(50)?;
    for row in shifts {
        let (Some(closed_at), Some(text)) = (row.closed_at.clone(), row.summary.as_deref()) else { continue };
        let Some((value, summary)) = frozen::<crate::shifts::ShiftSummary>(text) else {
            tracing::warn!(shift = row.id, "a closed shift's summary cannot be read; it is not sent");
            store.shifts_mut().mark_reported(row.id, false, &now)?;
            continue;
        };
        let report = ShiftReport {
            kind: ShiftKind::Shift,
            till_ref: row.id,
            operator: row.operator_name.clone(),
            opened_at: Some(row.opened_at.clone()),
            closed_at,
            business_day: None,
            figures: figures(&summary.figures),
            summary: value,
        };
        client.report_shift(&report).await?;
        store.shifts_mut().mark_reported(row.id, false, &now)?;
        sent += 1;
    }
    let days = store.shifts().unreported_day_closes(50)?;
    for row in days {
        let Some((value, summary)) = frozen::<crate::shifts::DaySummary>(&row.summary) else {
            tracing::warn!(day_close = row.id, "a day close's summary cannot be read; it is not sent");
            store.shifts_mut().mark_reported(row.id, true, &now)?;
            continue;
        };
        let report = ShiftReport {
            kind: ShiftKind::DayClose,
            till_ref: row.id,
            operator: summary.closed_by.clone(),
            opened_at: None,
            closed_at: row.closed_at.clone(),
            business_day: Some(row.business_day.clone()),
            figures: figures(&summary.figures),
            summary: value,
        };
        client.report_shift(&report).await?;
        store.shifts_mut().mark_reported(row.id, true, &now)?;
        sent += 1;
    }
    Ok(sent)
}

/// A frozen summary as it travels (the JSON as stored) and as read; None when it cannot be read.
fn frozen<T: serde::de::DeserializeOwned>(text: &str) -> Option<(serde_json::Value, T)> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let summary = T::deserialize(&value).ok()?;
    Some((value, summary))
}

fn figures(f: &crate::shifts::Figures) -> crate::channel::backend::api::ShiftFigures {
    crate::channel::backend::api::ShiftFigures {
        paid_count: f.paid_count,
        paid: Amount::from_fen(f.paid_fen).to_string(),
        refund_count: f.refund_count,
        refunded: Amount::from_fen(f.refund_fen).to_string(),
        net: Amount::from_fen(f.net_fen).to_string(),
    }
}
