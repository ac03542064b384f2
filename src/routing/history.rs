//! A till's orders from before it joined a merchant backend. They were taken store-direct, with the till's own
//! acquirer accounts, which the backend may not hold ("accounts may differ"). Joining marks them
//! ([`mark`]: every order up to the last one then) and the till sends them up once, in pages, as its history
//! ([`send`]: right after joining, then by the sync worker until all went), so that head office sees them in its
//! lists and figures. The backend records them without sending anything to an acquirer; this till keeps them too. A
//! refund of one goes through the backend only once the backend has it, and the backend makes it only if the account
//! it filed the order under holds the trade (it asks the acquirer: the till's account was one the backend holds);
//! otherwise it is refused as taken before joining ([`taken_before_joining`] at the till for what the backend does
//! not have): refund it in that acquirer's merchant portal, or after leaving the backend.
//!
//! Only the orders the till took itself go up: the ones it copied from a backend it was enrolled with before (other
//! tills' orders, store-code payments) are not its history. An order the backend answers it holds already as one it
//! took itself (`held`: taken at this till through that backend, before the till left and joined it again) is an
//! ordinary order there, refunded through it. A malformed one (`invalid`) stays here, with what the backend said.
//!
//! Joining waits until nothing is in flight through the till's present access
//! ([`super::backend::check_nothing_in_flight`]), so every order sent is settled; one that waits for a person (its
//! figures did not match the acquirer's) stays at the till.

use std::collections::HashMap;

use super::backend::{LinkError, link};
use crate::channel::backend::BackendClient;
use crate::channel::backend::api::{AcquirerRef, FeedOrder, HISTORY_BATCH, HistoryOutcome, HistoryRequest};
use crate::model::{AcquirerId, Order};
use crate::store::{Store, StoreError};

/// The id of the last order taken before the till joined (bookkeeping).
pub const SETTING_HISTORY_UPTO: &str = "backend.history_upto";
/// The id of the last of those sent up (bookkeeping).
pub const SETTING_HISTORY_SENT: &str = "backend.history_sent";

fn number(store: &Store, key: &str) -> Result<i64, StoreError> {
    Ok(store.setting(key)?.and_then(|v| v.trim().parse().ok()).unwrap_or(0))
}

/// Marks every order taken so far as the till's history, none sent yet; the last order's id.
pub fn mark(store: &mut Store) -> Result<i64, StoreError> {
    let upto = store.orders().last_order_id()?;
    store.set_bookkeeping(SETTING_HISTORY_UPTO, &upto.to_string())?;
    store.set_bookkeeping(SETTING_HISTORY_SENT, "0")?;
    store.orders_mut().forget_history_answers()?;
    Ok(upto)
}

/// How many orders of the till's history are still to be sent.
pub fn unsent(store: &Store) -> Result<i64, StoreError> {
    let (upto, sent) = (number(store, SETTING_HISTORY_UPTO)?, number(store, SETTING_HISTORY_SENT)?);
    if sent >= upto {
        return Ok(0);
    }
    store.orders().count_own_in_id_range(sent, upto)
}

/// Whether `order` was taken at this till before it joined the backend it is enrolled with now and the backend does
/// not have it (not sent yet, or not recorded: waiting for a person, no account of its wallet, malformed), so that
/// a refund of it cannot go through the backend. Never on a store-direct till, nor for an order copied from a
/// backend. One the backend recorded goes to it, and the backend refunds it if its account holds the trade (else it
/// refuses it as taken before joining, which the refund desk says the same way).
pub fn taken_before_joining(store: &Store, order: &Order) -> Result<bool, StoreError> {
    if link(store)?.is_none() || order.id.0 > number(store, SETTING_HISTORY_UPTO)? {
        return Ok(false);
    }
    let orders = store.orders();
    if orders.is_pulled(order.id)? {
        return Ok(false);
    }
    let at_backend =
        [HistoryOutcome::Recorded, HistoryOutcome::Known, HistoryOutcome::Held].map(HistoryOutcome::as_str);
    Ok(!orders.history_answer(order.id)?.is_some_and(|a| at_backend.contains(&a.as_str())))
}

/// What sending the history did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HistorySent {
    /// Recorded at the backend now.
    pub recorded: usize,
    /// The backend had them already as this till's history (sent before).
    pub known: usize,
    /// The backend holds them as orders it took itself (through it, before this till left and joined again): refunded
    /// through it.
    pub held: usize,
    /// Waiting for a person here: they stay at the till.
    pub not_settled: usize,
    /// The backend has no account of their wallet: they stay at the till.
    pub no_account: usize,
    /// Refused as malformed: they stay at the till (out_trade_no, what the backend said).
    pub invalid: Vec<(String, String)>,
}

impl HistorySent {
    /// How many stay at this till only.
    pub fn kept(&self) -> usize {
        self.not_settled + self.no_account + self.invalid.len()
    }
}

/// Sends the history not sent yet, page by page, each page's progress kept as it is answered (a till stopped
/// half-way sends the rest later; a page sent twice is `known` the second time).
pub async fn send(store: &mut Store, client: &BackendClient) -> Result<HistorySent, LinkError> {
    let mut sent = HistorySent::default();
    let acquirers = acquirer_refs(store)?;
    let stores: HashMap<_, _> = store.setup().stores()?.into_iter().map(|s| (s.id, s.store_code)).collect();
    loop {
        let upto = number(store, SETTING_HISTORY_UPTO)?;
        let after = number(store, SETTING_HISTORY_SENT)?;
        if after >= upto {
            return Ok(sent);
        }
        let page = store.orders().own_orders_in_id_range(after, upto, HISTORY_BATCH as u32)?;
        let Some(last) = page.last().map(|o| o.id.0) else {
            store.set_bookkeeping(SETTING_HISTORY_SENT, &upto.to_string())?;
            return Ok(sent);
        };
        let mut orders = Vec::with_capacity(page.len());
        for o in page {
            let refunds = store.refunds().refunds_of(o.id)?;
            let acquirer = acquirers.get(&o.acquirer_id).cloned().unwrap_or_else(|| AcquirerRef {
                id: o.acquirer_id.0,
                kind: crate::model::AcquirerKind::Alipay,
                name: format!("acquirer #{}", o.acquirer_id.0),
                code: None,
            });
            let store_code = stores.get(&o.store_id).cloned();
            orders.push(FeedOrder::of(o, refunds, acquirer, store_code, None, 0));
        }
        let answer = client.send_history(&HistoryRequest { orders }).await?;
        let mut answers = Vec::with_capacity(answer.results.len());
        for r in &answer.results {
            match r.outcome {
                HistoryOutcome::Recorded => sent.recorded += 1,
                HistoryOutcome::Known => sent.known += 1,
                HistoryOutcome::Held => sent.held += 1,
                HistoryOutcome::NotSettled => sent.not_settled += 1,
                HistoryOutcome::NoAccount => sent.no_account += 1,
                HistoryOutcome::Invalid => {
                    let detail = r.detail.clone().unwrap_or_default();
                    let no = &r.out_trade_no;
                    tracing::warn!(out_trade_no = %no, %detail, "the merchant backend refused an order of the history");
                    sent.invalid.push((r.out_trade_no.clone(), detail));
                }
            }
            answers.push((r.out_trade_no.clone(), r.outcome.as_str(), r.detail.clone().unwrap_or_default()));
        }
        store.orders_mut().record_history_answers(&answers)?;
        store.set_bookkeeping(SETTING_HISTORY_SENT, &last.to_string())?;
        tracing::info!(
            recorded = sent.recorded,
            known = sent.known,
            held = sent.held,
            kept = sent.kept(),
            "orders from before joining sent to the merchant backend"
        );
    }
}

/// The acquirer accounts of a database as the till API names them (by onboarding id, else kind and name): a
/// backend's for its tills, a till's for its history (the kind tells the backend which wallet's account to file an
/// order under).
pub fn acquirer_refs(store: &Store) -> Result<HashMap<AcquirerId, AcquirerRef>, StoreError> {
    let codes: HashMap<AcquirerId, String> =
        store.setup().onboarding_acquirers()?.into_iter().map(|a| (a.acquirer.id, a.onboarding_code)).collect();
    Ok(store
        .setup()
        .acquirers()?
        .into_iter()
        .map(|a| (a.id, AcquirerRef { id: a.id.0, kind: a.kind, name: a.name, code: codes.get(&a.id).cloned() }))
        .collect())
}

/// Right after joining: sends the history (see [`send`]) through a connection of its own to `db`; None when there
/// was nothing to send or it could not go now (the sync worker sends it later).
pub async fn send_after_joining(db: &std::path::Path, vault: &crate::secrets::Vault) -> Option<HistorySent> {
    let mut store = Store::open(db).ok()?;
    if unsent(&store).ok()? == 0 {
        return None;
    }
    let client = super::backend::client(&store, vault).ok()??;
    match send(&mut store, &client).await {
        Ok(sent) => Some(sent),
        Err(e) => {
            tracing::warn!(error = %e, "the orders taken before joining were not sent yet; the sync sends them");
            None
        }
    }
}
