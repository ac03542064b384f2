//! `POST /v1/orders/history`: a till's orders from before it joined (taken store-direct, with its own acquirer
//! accounts), recorded as its store's orders so that head office sees them, filed under the backend's account of the
//! same wallet (the till's store's route for it, the same onboarding id preferred) for the figures by wallet and
//! account. They are marked as history: recording them sends nothing to an acquirer, and a refund of one asked later
//! is made only if the account it is filed under holds its trade (the gateway asks the acquirer: the till's account
//! was one the backend holds), else refused as `taken_before_joining`. Asked again, an order already here is `known`;
//! one this backend took itself (at that till, through it, before the till left and joined again) is `held` and stays
//! an ordinary order. Each order is checked on its own before anything is written: a malformed one is `invalid`, with
//! the field and what was expected, and is not written (the till keeps it and does not send it again); the others
//! are.

use super::gateway::check_number;
use super::{Backend, Till, internal};
use crate::channel::backend::api::{
    ApiError, FeedOrder, HISTORY_BATCH, HistoryOutcome, HistoryRequest, HistoryResponse, HistoryResult,
};
use crate::model::{AcquirerId, RefundStatus};
use crate::money::Amount;
use crate::store::StoreError;
use crate::store::pulled::{HistoryRecord, PulledOrder, PulledRefund, is_settled};

fn bad(field: String, detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest { field, detail: detail.into() }
}

fn money(field: String, text: &str) -> Result<Amount, ApiError> {
    Amount::parse(text).map_err(|e| bad(field, e.to_string()))
}

fn time(field: String, text: &str) -> Result<String, ApiError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(crate::time::format_utc)
        .map_err(|_| bad(field, "a UTC time like 2026-12-01T02:03:04Z"))
}

/// One order of the request as the backend writes it (its store and account are the backend's).
fn pulled(n: usize, o: &FeedOrder, till: &Till, acquirer: AcquirerId) -> Result<PulledOrder, ApiError> {
    let at = |field: &str| format!("orders[{n}].{field}");
    check_number(&at("out_trade_no"), &o.out_trade_no)?;
    let total = money(at("total_amount"), &o.total_amount)?;
    if total.fen() <= 0 {
        return Err(bad(at("total_amount"), "must be more than 0.00"));
    }
    let mut refunds = Vec::with_capacity(o.refunds.len());
    for (k, r) in o.refunds.iter().enumerate() {
        let field = |f: &str| format!("orders[{n}].refunds[{k}].{f}");
        check_number(&field("out_request_no"), &r.out_request_no)?;
        let amount = money(field("refund_amount"), &r.refund_amount)?;
        if amount.fen() <= 0 {
            return Err(bad(field("refund_amount"), "must be more than 0.00"));
        }
        refunds.push(PulledRefund {
            out_request_no: r.out_request_no.clone(),
            refund_amount: amount,
            reason: r.reason.clone(),
            status: r.status,
            created_at: time(field("created_at"), &r.created_at)?,
        });
    }
    let refunded: i64 =
        refunds.iter().filter(|r| r.status == RefundStatus::Success).map(|r| r.refund_amount.fen()).sum();
    if refunded > total.fen() {
        return Err(bad(at("refunds"), format!("refunds of {} on an order of {total}", Amount::from_fen(refunded))));
    }
    Ok(PulledOrder {
        out_trade_no: o.out_trade_no.clone(),
        trade_no: o.trade_no.clone(),
        store_id: till.store_id,
        acquirer_id: acquirer,
        source: o.source,
        subject: o.subject.clone(),
        total_amount: total,
        status: o.status,
        auth_code_masked: o.auth_code_masked.clone(),
        created_at: time(at("created_at"), &o.created_at)?,
        paid_at: o.paid_at.as_deref().map(|p| time(at("paid_at"), p)).transpose()?,
        acquirer_merchant_id: o.acquirer_merchant_id.clone(),
        terminal_id: o.terminal_id.clone(),
        refunds,
    })
}

impl Backend {
    /// Records `till`'s history (see the module doc); every order is checked before anything is written.
    pub async fn record_history(&self, till: &Till, req: &HistoryRequest) -> Result<HistoryResponse, ApiError> {
        if req.orders.len() > HISTORY_BATCH {
            return Err(bad("orders".into(), format!("at most {HISTORY_BATCH} at once")));
        }
        // The account of each wallet kind: the till's store's route to it, the same onboarding id preferred; else
        // any account of that kind.
        let accounts = self
            .with_store(|s| {
                let refs = crate::routing::history::acquirer_refs(s)?;
                let routed: Vec<AcquirerId> = s
                    .setup()
                    .routes()?
                    .into_iter()
                    .filter(|r| r.store_id == till.store_id)
                    .map(|r| r.acquirer_id)
                    .collect();
                Ok::<_, StoreError>((refs, routed))
            })
            .map_err(|e| internal(&e))?;
        let (refs, routed) = accounts;
        let account_for = |o: &FeedOrder| -> Option<AcquirerId> {
            let same_kind = |id: &AcquirerId| refs.get(id).is_some_and(|a| a.kind == o.acquirer.kind);
            let same_code =
                |id: &AcquirerId| o.acquirer.code.is_some() && refs.get(id).is_some_and(|a| a.code == o.acquirer.code);
            let mut ids: Vec<AcquirerId> = routed.iter().copied().filter(same_kind).collect();
            let mut others: Vec<AcquirerId> = refs.keys().copied().filter(same_kind).collect();
            others.sort_by_key(|id| id.0);
            ids.extend(others);
            ids.iter().copied().find(same_code).or_else(|| ids.first().copied())
        };
        let mut planned = Vec::with_capacity(req.orders.len());
        for (n, o) in req.orders.iter().enumerate() {
            let plan = match (is_settled(o.status), account_for(o)) {
                (false, _) => Err((HistoryOutcome::NotSettled, None)),
                (true, None) => Err((HistoryOutcome::NoAccount, None)),
                (true, Some(acquirer)) => pulled(n, o, till, acquirer).map_err(|e| {
                    let detail = match e {
                        ApiError::BadRequest { field, detail } => format!("{field}: {detail}"),
                        other => other.to_string(),
                    };
                    (HistoryOutcome::Invalid, Some(detail))
                }),
            };
            planned.push((o.out_trade_no.clone(), plan));
        }
        let mut results = Vec::with_capacity(planned.len());
        for (out_trade_no, plan) in planned {
            let (outcome, detail) = match plan {
                Err(refused) => refused,
                Ok(order) => match self.db_record_history_order(till.id, &order).await? {
                    HistoryRecord::Recorded => (HistoryOutcome::Recorded, None),
                    HistoryRecord::Known => (HistoryOutcome::Known, None),
                    HistoryRecord::Held => (HistoryOutcome::Held, None),
                    HistoryRecord::NotSettled => (HistoryOutcome::NotSettled, None),
                },
            };
            results.push(HistoryResult { out_trade_no, outcome, detail });
        }
        let recorded = results.iter().filter(|r| r.outcome == HistoryOutcome::Recorded).count();
        tracing::info!(till = %till.id, orders = results.len(), recorded, "a till's orders from before it joined");
        Ok(HistoryResponse { results })
    }
}
