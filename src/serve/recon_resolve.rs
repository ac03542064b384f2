//! Head office's resolution workflow through the till API: resolving a difference of a day's latest run (adjusted,
//! refunded, written off, matched by hand to a bill row, adopted from the bill), reopening it, closing an account's
//! day (its report frozen) and reopening the day — as the operator signed in at the till, on either engine.
//!
//! Who may: an owner anything; back office the differences of their till's store, and the days whose bill lists no
//! other store's money (`other_stores` otherwise); a cashier nothing (`not_allowed`). What the data refuses comes back
//! as `recon_refused` with its reason and values, which the till phrases.
//!
//! On SQLite this is the till's own workflow (`recon::resolve`) on the backend's file. On PostgreSQL it is
//! `store::pg::recon_days` on the published runs: a match by hand pairs the difference with a bill row that the same
//! run lists as a difference of its own (a bill row that matched an order needs no hand), and adopting records the
//! bill's payment as an order of the difference's store.

use std::collections::HashMap;

use super::office::Scope;
use super::{Backend, Till, internal};
use crate::channel::backend::api::{
    AcquirerRef, ApiError, DayClosing, DayRequest, ReconDifference, ReconRefusal, ReopenRequest, ResolveRequest,
    ResolveResponse,
};
use crate::model::{
    AcquirerId, DiscrepancyId, Operator, Order, OrderId, OrderSource, OrderStatus, ResolutionKind, StoreId,
};
use crate::money::{Amount, Currency};
use crate::recon::report::{Reason, Report};
use crate::recon::resolve::{self, Closing, DayReport, Resolution, ResolveAs, ResolveError, Resolved};
use crate::recon::{ReconError, date_text, parse_date};
use crate::store::StoreError;
use crate::store::operators::{Permission, require};
use crate::store::pg::PgError;
use crate::store::pg::recon_days::{PgDifference, PgResolve};
use crate::store::recon_days::{BillRowPick, Refused};

impl From<Refused> for ReconRefusal {
    fn from(r: Refused) -> Self {
        match r {
            Refused::NotLatestRun { id, run, latest } => ReconRefusal::NotLatestRun { id, run, latest },
            Refused::AlreadyResolved { id, kind } => ReconRefusal::AlreadyResolved { id, resolution: kind },
            Refused::NotResolved { id } => ReconRefusal::NotResolved { id },
            Refused::NoteRequired => ReconRefusal::NoteRequired,
            Refused::BillRowNotFound { what, bill_date } => ReconRefusal::BillRowNotFound { what, bill_date },
            Refused::BillRowAmbiguous { line, bill_date } => ReconRefusal::BillRowAmbiguous { line, bill_date },
            Refused::BillRowMatched { line, trade_no } => ReconRefusal::BillRowMatched { line, trade_no },
            Refused::NotLocalOnly { id, line } => ReconRefusal::NotLocalOnly { id, line },
            Refused::BillRowResolved { line, trade_no, kind } => {
                ReconRefusal::BillRowResolved { line, trade_no, resolution: kind }
            }
            Refused::BadOutRequestNo { out_request_no } => ReconRefusal::BadOutRequestNo { out_request_no },
            Refused::RefundOfAnotherOrder { out_request_no, belongs_to, expected } => {
                ReconRefusal::RefundOfAnotherOrder { out_request_no, belongs_to, expected }
            }
            Refused::CannotAdopt { id } => ReconRefusal::CannotAdopt { id },
            Refused::NoRun { bill_date } => ReconRefusal::NoRun { bill_date },
            Refused::OpenDifferences { bill_date, count, run } => {
                ReconRefusal::OpenDifferences { bill_date, count, run }
            }
            Refused::StaleRun { bill_date, run } => ReconRefusal::StaleRun { bill_date, run },
            Refused::NotClosed { bill_date } => ReconRefusal::NotClosed { bill_date },
        }
    }
}

fn refused(r: impl Into<ReconRefusal>) -> ApiError {
    ApiError::ReconRefused { refusal: r.into() }
}

fn bad(field: &str, detail: &str) -> ApiError {
    ApiError::BadRequest { field: field.into(), detail: detail.into() }
}

/// A refusal of the till's workflow on SQLite, as the API says it.
fn sqlite_refusal(e: ResolveError) -> ApiError {
    match e {
        ResolveError::CannotAdopt { id, .. } => refused(Refused::CannotAdopt { id }),
        ResolveError::NoRun { date, .. } => refused(Refused::NoRun { bill_date: date }),
        ResolveError::Store(StoreError::Resolution(r)) => refused(r),
        ResolveError::Store(StoreError::DayClosed { bill_date, closed_at, closed_by }) => {
            refused(ReconRefusal::DayClosed { bill_date, closed_by, closed_at })
        }
        ResolveError::Recon(ReconError::DayClosed { date, closed_by, closed_at, .. }) => {
            refused(ReconRefusal::DayClosed { bill_date: date, closed_by, closed_at })
        }
        ResolveError::Store(StoreError::NotFound { what, key }) => ApiError::NotFound { what: format!("{what} {key}") },
        e => internal(&e),
    }
}

/// A refusal of the PostgreSQL store, as the API says it.
fn pg_refusal(e: PgError) -> ApiError {
    match e {
        PgError::Resolution(r) => refused(r),
        PgError::DayClosed { bill_date, closed_by, closed_at } => {
            refused(ReconRefusal::DayClosed { bill_date, closed_by, closed_at })
        }
        PgError::NotFound { what, key } => ApiError::NotFound { what: format!("{what} {key}") },
        e => internal(&e),
    }
}

/// A day a request names, and who works on it.
struct AskedDay {
    operator: Operator,
    account: AcquirerId,
    date: time::Date,
    /// YYYY-MM-DD.
    day: String,
    /// The day's latest run.
    run_id: i64,
}

/// The difference's run and store, from either engine.
struct Found {
    run_id: i64,
    store: Option<StoreId>,
}

impl Backend {
    /// The operator signed in at `till`, who must be allowed to reconcile, and their scope.
    async fn reconciler(&self, till: &Till, session: Option<&str>) -> Result<(Operator, Scope), ApiError> {
        let operator = self.session_operator(till, session).await?;
        if require(&operator, Permission::Reconcile).is_err() {
            return Err(ApiError::NotAllowed {
                role: operator.role,
                permission: super::staff::permission_name(Permission::Reconcile),
            });
        }
        let scope = Scope::of(till, &operator);
        Ok((operator, scope))
    }

    /// The difference `id` as the operator signed in at `till` may work on it: who, their scope, and its run and
    /// store (back office: their store's only).
    async fn difference_for(
        &self,
        till: &Till,
        session: Option<&str>,
        id: i64,
    ) -> Result<(Operator, Scope, DiscrepancyId, Found), ApiError> {
        let (operator, scope) = self.reconciler(till, session).await?;
        let id = DiscrepancyId(id);
        let found = self.found(id).await?;
        own_difference(scope, found.store)?;
        Ok((operator, scope, id, found))
    }

    async fn found(&self, id: DiscrepancyId) -> Result<Found, ApiError> {
        let not_found = || ApiError::NotFound { what: format!("difference #{}", id.0) };
        if let Some(pg) = self.pg() {
            let d = pg.recon_difference(id).await.map_err(|e| internal(&e))?.ok_or_else(not_found)?;
            return Ok(Found { run_id: d.run_id, store: d.store_id });
        }
        let found = self
            .with_store(|s| {
                let Some(d) = s.recon().discrepancy(id)? else { return Ok(None) };
                let store = s.recon().difference_stores(d.run_id)?.into_iter().find(|x| x.id == id);
                Ok(Some(Found { run_id: d.run_id, store: store.and_then(|x| x.store_id) }))
            })
            .map_err(|e: StoreError| internal(&e))?;
        found.ok_or_else(not_found)
    }

    /// `POST /v1/recon/differences/{id}/resolve`.
    pub async fn resolve_difference(
        &self,
        till: &Till,
        session: Option<&str>,
        id: i64,
        req: &ResolveRequest,
    ) -> Result<ResolveResponse, ApiError> {
        let (operator, scope, id, found) = self.difference_for(till, session, id).await?;
        let how = resolve_as(req)?;
        match self.resolve_found(&operator, id, found.run_id, &how, req).await {
            Ok((line, adopted)) => self.answer(scope, found.run_id, id, line, adopted).await,
            // A till that lost the answer asks again: the same resolution is answered as it stands.
            Err(refusal @ ApiError::ReconRefused { refusal: ReconRefusal::AlreadyResolved { .. } }) => {
                let now = self.answer(scope, found.run_id, id, None, None).await?;
                let d = &now.difference;
                let same = d.resolution.as_deref() == Some(req.kind.as_str())
                    && d.note.as_deref().map(str::trim) == Some(req.note.trim());
                if same { Ok(now) } else { Err(refusal) }
            }
            Err(e) => Err(e),
        }
    }

    /// Writes the resolution on the backend's engine; returns the bill line matched and the order adopted.
    async fn resolve_found(
        &self,
        operator: &Operator,
        id: DiscrepancyId,
        run_id: i64,
        how: &ResolveAs,
        req: &ResolveRequest,
    ) -> Result<(Option<i64>, Option<String>), ApiError> {
        let (mut line, mut adopted) = (None, None);
        match self.pg() {
            None => {
                let done = self
                    .with_store(|s| resolve::resolve(s, id, how, &req.note, Some(operator.id)))
                    .map_err(sqlite_refusal)?;
                match done {
                    Resolved::Plain => {}
                    Resolved::Matched { line: l } => line = Some(l),
                    Resolved::Adopted(order) => adopted = self.out_trade_no_of(order)?,
                }
            }
            Some(pg) => {
                let run = self.pg_report(run_id).await?;
                let differences = pg.recon_run_differences(run_id).await.map_err(|e| internal(&e))?;
                let d = differences.iter().find(|d| d.id == id).ok_or_else(|| internal(&"difference left its run"))?;
                let mut write = PgResolve {
                    id,
                    kind: how.kind(),
                    note: &req.note,
                    reference: None,
                    line: None,
                    partner: None,
                    adopt: None,
                    operator: operator.id.0,
                    by_name: &operator.name,
                };
                let order;
                let reference;
                match how {
                    ResolveAs::Adjusted | ResolveAs::WrittenOff => {}
                    ResolveAs::Refunded { out_request_no } => {
                        reference = self.checked_refund(d, out_request_no.as_deref()).await?;
                        write.reference = reference.as_deref();
                    }
                    ResolveAs::Matched(pick) => {
                        let (own, l, trade_no) = self.bill_row_of(d, &differences, pick).await?;
                        write.partner = Some(own);
                        write.line = Some(l);
                        reference = trade_no;
                        write.reference = reference.as_deref();
                        line = Some(l);
                    }
                    ResolveAs::Adopted => {
                        order = adoptable(&run, d)?;
                        write.reference = order.trade_no.as_deref();
                        write.line = d.keys.bill_line;
                        write.adopt = Some(&order);
                        adopted = Some(order.out_trade_no.clone());
                    }
                }
                pg.resolve_recon_difference(&write).await.map_err(pg_refusal)?;
            }
        }
        Ok((line, adopted))
    }

    /// `POST /v1/recon/differences/{id}/reopen`.
    pub async fn reopen_difference(
        &self,
        till: &Till,
        session: Option<&str>,
        id: i64,
        req: &ReopenRequest,
    ) -> Result<ResolveResponse, ApiError> {
        let (operator, scope, id, found) = self.difference_for(till, session, id).await?;
        if req.note.trim().is_empty() {
            return Err(refused(Refused::NoteRequired));
        }
        match self.pg() {
            None => {
                self.with_store(|s| resolve::reopen(s, id, &req.note, Some(operator.id))).map_err(sqlite_refusal)?
            }
            Some(pg) => pg.reopen_recon_difference(id, &req.note, operator.id.0).await.map_err(pg_refusal)?,
        }
        self.answer(scope, found.run_id, id, None, None).await
    }

    /// The difference as the operator now sees it, and how many of its run are open.
    async fn answer(
        &self,
        scope: Scope,
        run_id: i64,
        id: DiscrepancyId,
        bill_line: Option<i64>,
        adopted: Option<String>,
    ) -> Result<ResolveResponse, ApiError> {
        let report = self.recon_report(scope, run_id, None).await?;
        let open = report.discrepancies.iter().filter(|d| !d.resolved).count() as i64;
        let difference: ReconDifference = report
            .discrepancies
            .into_iter()
            .find(|d| d.id == id.0)
            .ok_or_else(|| ApiError::NotFound { what: format!("difference #{}", id.0) })?;
        Ok(ResolveResponse { difference, run_id, open, bill_line, adopted })
    }

    fn out_trade_no_of(&self, order: OrderId) -> Result<Option<String>, ApiError> {
        self.with_store(|s| Ok(s.orders().order(order)?.map(|o| o.out_trade_no))).map_err(|e: StoreError| internal(&e))
    }

    /// A published run's report.
    pub(super) async fn pg_report(&self, run_id: i64) -> Result<Report, ApiError> {
        let Some(pg) = self.pg() else { return Err(internal(&"not on PostgreSQL")) };
        let run = pg
            .recon_run(run_id)
            .await
            .map_err(|e| internal(&e))?
            .ok_or_else(|| ApiError::NotFound { what: format!("reconciliation run {run_id}") })?;
        serde_json::from_str(&run.report)
            .map_err(|e| internal(&ReconError::BadRun { run: run_id, message: e.to_string() }))
    }

    /// refunded on PostgreSQL: the refund's number, checked as the till checks it.
    async fn checked_refund(&self, d: &PgDifference, out_request_no: Option<&str>) -> Result<Option<String>, ApiError> {
        let Some(no) = out_request_no.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
        if !crate::store::recon_days::valid_out_request_no(no) {
            return Err(refused(Refused::BadOutRequestNo { out_request_no: no.to_owned() }));
        }
        let Some(pg) = self.pg() else { return Ok(Some(no.to_owned())) };
        if let Some(refund) = pg.refund_by_out_request_no(no).await.map_err(|e| internal(&e))?
            && let Some(order) = pg.order(refund.order_id).await.map_err(|e| internal(&e))?
            && let Some(expected) = d.keys.out_trade_no.clone()
            && order.out_trade_no != expected
        {
            return Err(refused(Refused::RefundOfAnotherOrder {
                out_request_no: no.to_owned(),
                belongs_to: order.out_trade_no,
                expected,
            }));
        }
        Ok(Some(no.to_owned()))
    }

    /// matched on PostgreSQL: the bill row picked, as the run's own difference of it (a row that is no difference
    /// matched an order already). Returns that difference, the row's line and its trade_no.
    async fn bill_row_of(
        &self,
        d: &PgDifference,
        run: &[PgDifference],
        pick: &BillRowPick,
    ) -> Result<(DiscrepancyId, i64, Option<String>), ApiError> {
        let rows: Vec<&PgDifference> = run
            .iter()
            .filter(|x| x.keys.bill_line.is_some())
            .filter(|x| match pick {
                BillRowPick::Line(n) => x.keys.bill_line == Some(*n),
                BillRowPick::TradeNo(t) => x.keys.trade_no.as_deref() == Some(t.trim()),
            })
            .collect();
        let what = match pick {
            BillRowPick::Line(n) => format!("line {n}"),
            BillRowPick::TradeNo(t) => format!("trade_no {t}"),
        };
        if let BillRowPick::Line(n) = pick {
            let trades: std::collections::HashSet<Option<&str>> =
                rows.iter().map(|x| x.keys.trade_no.as_deref()).collect();
            if trades.len() > 1 {
                return Err(refused(Refused::BillRowAmbiguous { line: *n, bill_date: d.bill_date.clone() }));
            }
        }
        let Some(own) = rows.first() else {
            // Not a difference of the run: a row that matched an order, or none at all.
            let matched = match pick {
                BillRowPick::TradeNo(t) => match self.pg() {
                    Some(pg) => pg
                        .orders_named(&[], &[t.trim().to_owned()])
                        .await
                        .map_err(|e| internal(&e))?
                        .0
                        .first()
                        .map(|o| (0, o.trade_no.clone().unwrap_or_default())),
                    None => None,
                },
                BillRowPick::Line(_) => None,
            };
            return Err(match matched {
                Some((line, trade_no)) => refused(Refused::BillRowMatched { line, trade_no }),
                None => refused(Refused::BillRowNotFound { what, bill_date: d.bill_date.clone() }),
            });
        };
        let line = own.keys.bill_line.unwrap_or_default();
        if d.keys.bill_line.is_some() && own.id != d.id {
            return Err(refused(Refused::NotLocalOnly { id: d.id.0, line: d.keys.bill_line.unwrap_or_default() }));
        }
        Ok((own.id, line, own.keys.trade_no.clone().filter(|t| !t.is_empty())))
    }

    /// `POST /v1/recon/days/close`: closes an account's day from its latest run (nothing open), freezing its report.
    /// A day closed from that run already is answered with its closing.
    pub async fn close_recon_day(
        &self,
        till: &Till,
        session: Option<&str>,
        req: &DayRequest,
    ) -> Result<DayClosing, ApiError> {
        let no_run = |bill_date| Refused::NoRun { bill_date };
        let AskedDay { operator, account, date, day, run_id } = self.day_for(till, session, req, no_run).await?;
        let acquirer = super::recon::acquirer_ref(&self.catalogue_names()?, account);
        let now = crate::time::now_utc();
        let closed = match self.pg() {
            None => self
                .with_store(|s| {
                    if let Some(c) = s.recon().closed_day(account, &day)?
                        && c.run_id == run_id
                    {
                        return Ok((c.run_id, c.closed_by_name, c.closed_at));
                    }
                    let c = resolve::close_day(s, account, date, &operator.name, Some(operator.id), &now)?;
                    Ok((c.run_id, c.closed_by_name, c.closed_at))
                })
                .map_err(sqlite_refusal)?,
            Some(pg) => {
                let report = self.pg_report(run_id).await?;
                let kind = acquirer.kind;
                let closing = Closing { closed_at: now.clone(), closed_by: operator.name.clone(), run_id };
                let c = pg
                    .close_recon_day(account, &day, run_id, (operator.id.0, &operator.name, &now), |diffs| {
                        frozen(report, diffs, kind, &day, closing)
                    })
                    .await
                    .map_err(pg_refusal)?;
                (c.run_id, c.closed_by_name, c.closed_at)
            }
        };
        Ok(closing(acquirer, day, closed))
    }

    /// `POST /v1/recon/days/reopen`: reopens a closed day (with a note): it can be resolved and reconciled again.
    pub async fn reopen_recon_day(
        &self,
        till: &Till,
        session: Option<&str>,
        req: &DayRequest,
    ) -> Result<DayClosing, ApiError> {
        let note = req.note.as_deref().unwrap_or("").trim();
        if note.is_empty() {
            return Err(refused(Refused::NoteRequired));
        }
        let not_closed = |bill_date| Refused::NotClosed { bill_date };
        let AskedDay { operator, account, date, day, .. } = self.day_for(till, session, req, not_closed).await?;
        let was = match self.pg() {
            None => self
                .with_store(|s| {
                    let c = resolve::reopen_day(s, account, date, note, Some(operator.id))?;
                    Ok((c.run_id, c.closed_by_name, c.closed_at))
                })
                .map_err(sqlite_refusal)?,
            Some(pg) => {
                let c = pg.reopen_recon_day(account, &day, note, operator.id.0).await.map_err(pg_refusal)?;
                (c.run_id, c.closed_by_name, c.closed_at)
            }
        };
        Ok(closing(super::recon::acquirer_ref(&self.catalogue_names()?, account), day, was))
    }

    /// The account's day a day request names, as the operator signed in at `till` may close or reopen it: its latest
    /// run (none: `no_run`'s refusal), and for back office only a day whose bill is all their store's.
    async fn day_for(
        &self,
        till: &Till,
        session: Option<&str>,
        req: &DayRequest,
        no_run: impl FnOnce(String) -> Refused,
    ) -> Result<AskedDay, ApiError> {
        let (operator, scope) = self.reconciler(till, session).await?;
        let (account, date) = self.asked_day(req)?;
        let day = date_text(date);
        let Some(run_id) = self.latest_run(account, &day).await? else { return Err(refused(no_run(day))) };
        self.own_day(scope, run_id).await?;
        Ok(AskedDay { operator, account, date, day, run_id })
    }

    /// The one account and the day a day request names.
    fn asked_day(&self, req: &DayRequest) -> Result<(AcquirerId, time::Date), ApiError> {
        let names = self.catalogue_names()?;
        let accounts = Self::asked_acquirers(&names, Some(&req.acquirer))?.unwrap_or_default();
        let [account] = accounts.as_slice() else {
            return Err(bad("acquirer", "one account: its id or onboarding id (this names several)"));
        };
        let date = parse_date(&req.bill_date).ok_or_else(|| bad("bill_date", "a day as YYYY-MM-DD"))?;
        Ok((*account, date))
    }

    async fn latest_run(&self, account: AcquirerId, day: &str) -> Result<Option<i64>, ApiError> {
        match self.pg() {
            Some(pg) => pg.latest_recon_run(account, day).await.map_err(|e| internal(&e)),
            None => {
                self.with_store(|s| s.recon().latest_run_of_day(account, day)).map_err(|e: StoreError| internal(&e))
            }
        }
    }

    /// Back office closes (or reopens) only a day whose bill and differences are all their store's.
    async fn own_day(&self, scope: Scope, run_id: i64) -> Result<(), ApiError> {
        let own = match scope {
            Scope::AllStores => return Ok(()),
            Scope::Store(s) | Scope::OwnOrders(s, _) => s,
        };
        let facts = self.run_facts(run_id).await?;
        let names = self.catalogue_names()?;
        let mut others: Vec<String> = facts
            .stores
            .rows
            .iter()
            .map(|r| r.store_id)
            .chain(facts.stores.differences.iter().map(|d| d.store_id))
            .filter(|s| *s != Some(own))
            .map(|s| s.and_then(|id| names.stores.get(&id).cloned()).unwrap_or_else(|| "?".to_owned()))
            .collect();
        others.sort();
        others.dedup();
        if others.is_empty() {
            return Ok(());
        }
        let bill_date = facts.bill_date;
        Err(refused(ReconRefusal::OtherStores { bill_date, stores: others }))
    }
}

/// A closing as the API answers it: (run, by whom, when).
fn closing(acquirer: AcquirerRef, day: String, c: (i64, String, String)) -> DayClosing {
    DayClosing { acquirer, bill_date: day, run_id: c.0, closed_by: c.1, closed_at: c.2 }
}

/// Back office works on their store's differences only.
fn own_difference(scope: Scope, store: Option<StoreId>) -> Result<(), ApiError> {
    match scope {
        Scope::AllStores => Ok(()),
        Scope::Store(s) | Scope::OwnOrders(s, _) if store == Some(s) => Ok(()),
        _ => Err(ApiError::NotYourStore),
    }
}

/// The request as the workflow's resolution.
fn resolve_as(req: &ResolveRequest) -> Result<ResolveAs, ApiError> {
    let nonempty = |t: &Option<String>| t.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    if req.out_request_no.is_some() && req.kind != ResolutionKind::Refunded {
        return Err(bad("out_request_no", "only with kind refunded"));
    }
    if (req.bill_line.is_some() || req.trade_no.is_some()) && req.kind != ResolutionKind::Matched {
        return Err(bad("bill_line", "bill_line and trade_no only with kind matched"));
    }
    Ok(match req.kind {
        ResolutionKind::Adjusted => ResolveAs::Adjusted,
        ResolutionKind::WrittenOff => ResolveAs::WrittenOff,
        ResolutionKind::Adopted => ResolveAs::Adopted,
        ResolutionKind::Refunded => ResolveAs::Refunded { out_request_no: nonempty(&req.out_request_no) },
        ResolutionKind::Matched => match (req.bill_line, nonempty(&req.trade_no)) {
            (Some(n), None) if n > 0 => ResolveAs::Matched(BillRowPick::Line(n)),
            (None, Some(t)) => ResolveAs::Matched(BillRowPick::TradeNo(t)),
            (Some(_), Some(_)) => return Err(bad("bill_line", "the bill row once: bill_line or trade_no, not both")),
            _ => return Err(bad("bill_line", "the bill row: a line (1 or more) or its trade_no")),
        },
    })
}

/// adopted on PostgreSQL: the bill's payment as the difference's store's order.
fn adoptable(run: &Report, d: &PgDifference) -> Result<Order, ApiError> {
    let cannot = || refused(Refused::CannotAdopt { id: d.id.0 });
    let reason = Reason::parse(&d.keys.reason).ok_or_else(cannot)?;
    if !reason.can_adopt() || d.keys.out_request_no.is_some() {
        return Err(cannot());
    }
    let item = run.discrepancies.iter().find(|i| i.bill_line == d.keys.bill_line && i.reason == reason);
    let item = item.filter(|i| i.out_trade_no == d.keys.out_trade_no).ok_or_else(cannot)?;
    let out_trade_no = item.out_trade_no.clone().filter(|o| !o.is_empty()).ok_or_else(cannot)?;
    let amount = item.bill_amount.filter(|a| a.fen() > 0).ok_or_else(cannot)?;
    // Whose money it is: the difference's store (its order's, else its bill row's).
    let store_id = d.store_id.ok_or_else(cannot)?;
    let now = crate::time::now_utc();
    let paid_at = item.occurred_at.clone().unwrap_or_else(|| now.clone());
    Ok(Order {
        id: OrderId(0),
        out_trade_no,
        trade_no: item.trade_no.clone().filter(|t| !t.is_empty()),
        store_id,
        acquirer_id: d.acquirer_id,
        operator_id: None,
        source: OrderSource::StoreCode,
        subject: item.subject.clone(),
        total_amount: amount,
        currency: Currency::CNY,
        refunded_amount: Amount::ZERO,
        status: OrderStatus::Paid,
        auth_code_masked: None,
        created_at: paid_at.clone(),
        paid_at: Some(paid_at),
        acquirer_merchant_id: None,
        terminal_id: None,
    })
}

/// A published run's report with its differences' resolutions as they are now.
pub(super) fn with_resolutions(mut report: Report, differences: &[PgDifference]) -> Report {
    let by_id: HashMap<DiscrepancyId, &PgDifference> = differences.iter().map(|d| (d.id, d)).collect();
    for item in &mut report.discrepancies {
        let Some(d) = by_id.get(&item.id) else { continue };
        item.resolved = d.resolved;
        item.note = d.resolved.then(|| d.note.clone()).flatten();
        item.resolution = d.resolved.then(|| Resolution {
            kind: d.resolution.as_deref().and_then(ResolutionKind::parse),
            reference: d.resolution_ref.clone(),
            bill_line: d.resolution_line,
            by: d.resolved_by_name.clone(),
            at: d.resolved_at.clone(),
        });
    }
    report
}

/// The frozen report of a day closed on PostgreSQL: JSON and text exactly as a till freezes its own.
fn frozen(
    report: Report,
    differences: &[PgDifference],
    acquirer: crate::model::AcquirerKind,
    day: &str,
    closing: Closing,
) -> Result<(String, String), String> {
    let report = with_resolutions(report, differences);
    let day = DayReport {
        acquirer,
        bill_date: day.to_owned(),
        closed: Some(closing),
        open_differences: 0,
        report,
        frozen_text: None,
    };
    let json = serde_json::to_string_pretty(&day).map_err(|e| e.to_string())?;
    Ok((json, day.to_text()))
}
