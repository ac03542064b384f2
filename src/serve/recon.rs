//! Head office's reconciliation through the till API: the runs of the sync worker's bill downloads (one run per
//! acquirer account and day), a run's report with its totals and differences, and the bill days — each scoped by
//! the role of the operator signed in at the till. An owner sees every store (the whole bill, or one store's share
//! with `store`); back office sees their till's store's share of each bill (its rows, its differences), and a run
//! that lists nothing of their store is `not_your_store`; a cashier may not reconcile (`not_allowed`).
//!
//! On SQLite the runs are the sync worker's, read from the backend's own file; the store each bill row and
//! difference belongs to comes from `store::recon_stores`. On PostgreSQL they are the published runs of the bill
//! loop ([`super::bills`]), with their stores as the run found them (`store::pg::recon`). Both engines give the same
//! facts ([`RunFacts`], [`DayFacts`]), phrased for the tills here.
//! May import recon (the report's model), the store's reads and the till API's shapes.

use std::collections::{HashMap, HashSet};

use super::office::Scope;
use super::{Backend, Names, Till, internal};
use crate::channel::backend::api::{
    AcquirerRef, ApiError, BillDay, BillDayList, BillDayQuery, BillFile, CountSum, ReconDifference, ReconField,
    ReconKindTotal, ReconReport, ReconRun, ReconRunList, ReconRunQuery, ReconTotals,
};
use crate::channel::wechatpay::bill::MilliFen;
use crate::i18n::Lang;
use crate::model::{AcquirerId, AcquirerKind, BillId, StoreId};
use crate::money::Amount;
use crate::recon::ReconError;
use crate::recon::report::{Item, Report, load_report};
use crate::store::operators::{Permission, require};
use crate::store::pg::recon::PgRun;
use crate::store::pg::recon_days::PgDayState;
use crate::store::recon::StoredRun;
use crate::store::recon_stores::{DayFilter, DifferenceStore, StoreRows};
use crate::store::{Store, StoreError};

/// What a reconciliation call may see: the operator's scope, narrowed to the store asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct View {
    /// None: every store (an owner who asked for none).
    store: Option<StoreId>,
    /// Back office: a run without their store is not theirs to see.
    own_store_only: bool,
}

impl View {
    fn sees(self, store: Option<StoreId>) -> bool {
        self.store.is_none_or(|s| store == Some(s))
    }
}

fn bad(field: &str, detail: &str) -> ApiError {
    ApiError::BadRequest { field: field.into(), detail: detail.into() }
}

fn count_sum(count: i64, fen: i64) -> CountSum {
    CountSum { count, amount: Amount::from_fen(fen).to_string() }
}

/// A day given as YYYY-MM-DD (checked), or nothing.
fn day(field: &str, text: Option<&str>) -> Result<Option<String>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => match crate::recon::parse_date(t) {
            Some(d) => Ok(Some(crate::recon::date_text(d))),
            None => Err(bad(field, "a day as YYYY-MM-DD")),
        },
    }
}

impl Backend {
    /// The scope of the operator signed in at `till` for reconciliation: refused as `sign_in_required` without a
    /// session, `not_allowed` for a role that may not reconcile.
    pub async fn recon_scope(&self, till: &Till, session: Option<&str>) -> Result<Scope, ApiError> {
        let operator = self.session_operator(till, session).await?;
        if require(&operator, Permission::Reconcile).is_err() {
            return Err(ApiError::NotAllowed {
                role: operator.role,
                permission: super::staff::permission_name(Permission::Reconcile),
            });
        }
        Ok(Scope::of(till, &operator))
    }

    /// The view of `scope` given the store asked for by code.
    fn recon_view(&self, scope: Scope, store: Option<&str>) -> Result<View, ApiError> {
        let asked = self.asked_store(store)?;
        let (store, _) = scope.narrow(asked)?;
        Ok(View { store, own_store_only: !matches!(scope, Scope::AllStores) })
    }

    /// The accounts an `acquirer` filter names: the backend's id, an onboarding id, or a protocol (every account of
    /// it).
    pub(super) fn asked_acquirers(names: &Names, acquirer: Option<&str>) -> Result<Option<Vec<AcquirerId>>, ApiError> {
        let Some(arg) = acquirer.map(str::trim).filter(|a| !a.is_empty()) else { return Ok(None) };
        let kind = match arg.to_ascii_lowercase().as_str() {
            "alipay" => Some(AcquirerKind::Alipay),
            "wechat" | "wechatpay" => Some(AcquirerKind::WechatPay),
            _ => None,
        };
        let id = arg.trim_start_matches('#').parse::<i64>().ok();
        let found: Vec<AcquirerId> = names
            .acquirers
            .values()
            .filter(|a| {
                Some(a.id) == id
                    || a.code.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(arg))
                    || kind == Some(a.kind)
            })
            .map(|a| AcquirerId(a.id))
            .collect();
        if found.is_empty() {
            return Err(ApiError::NotFound { what: format!("acquirer {arg}") });
        }
        Ok(Some(found))
    }

    /// `GET /v1/recon/runs`: the runs newest first, as far as `scope` sees them.
    pub async fn recon_runs(&self, scope: Scope, q: &ReconRunQuery) -> Result<ReconRunList, ApiError> {
        let limit = q.limit.unwrap_or(50).clamp(1, 200) as usize;
        let view = self.recon_view(scope, q.store.as_deref())?;
        let names = self.catalogue_names()?;
        let acquirers = Self::asked_acquirers(&names, q.acquirer.as_deref())?;
        let (from, to) = (day("from", q.from.as_deref())?, day("to", q.to.as_deref())?);
        let filter = DayFilter { acquirers: acquirers.as_deref(), from: from.as_deref(), to: to.as_deref() };
        let mut runs = Vec::new();
        let mut before = q.after;
        // Runs without the store asked for are skipped: read on in pages until the page is full.
        loop {
            let page = self.runs_page(&filter, before).await?;
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            for run in page {
                if let Some(listed) = run_line(&names, &run, view) {
                    if runs.len() == limit {
                        let next = runs.last().map(|r: &ReconRun| r.run_id);
                        return Ok(ReconRunList { runs, next });
                    }
                    runs.push(listed);
                }
            }
        }
        Ok(ReconRunList { runs, next: None })
    }

    /// A page of runs (100, newest first, ids below `before`) with their stores, from either engine.
    async fn runs_page(&self, filter: &DayFilter<'_>, before: Option<i64>) -> Result<Vec<RunFacts>, ApiError> {
        if let Some(pg) = self.pg() {
            let page = pg.recon_runs_page(filter, before, 100).await.map_err(|e| internal(&e))?;
            return self.of_pg(page).await;
        }
        self.with_store(|s| {
            let page = s.recon().recon_runs_page(filter, before, 100)?;
            page.iter().map(|run| RunFacts::of_sqlite(s, run)).collect::<Result<Vec<_>, StoreError>>()
        })
        .map_err(|e: StoreError| internal(&e))
    }

    /// `GET /v1/recon/runs/{run_id}`: the run's report as far as `scope` sees it (`store` narrows an owner's).
    pub async fn recon_report(&self, scope: Scope, run_id: i64, store: Option<&str>) -> Result<ReconReport, ApiError> {
        let view = self.recon_view(scope, store)?;
        let names = self.catalogue_names()?;
        let not_found = || ApiError::NotFound { what: format!("reconciliation run {run_id}") };
        let found = match self.pg() {
            Some(pg) => match pg.recon_run(run_id).await.map_err(|e| internal(&e))? {
                None => None,
                Some(run) => {
                    let report: Report = serde_json::from_str(&run.report)
                        .map_err(|e| internal(&ReconError::BadRun { run: run_id, message: e.to_string() }))?;
                    let differences = pg.recon_run_differences(run_id).await.map_err(|e| internal(&e))?;
                    let report = super::recon_resolve::with_resolutions(report, &differences);
                    let facts = self.of_pg(vec![run]).await?.pop().ok_or_else(|| internal(&"run left"))?;
                    Some((facts, report))
                }
            },
            None => self
                .with_store(|s| {
                    let Some(run) = s.recon().recon_run(run_id)? else { return Ok(None) };
                    let report = match load_report(s, run_id, Lang::En) {
                        Ok(r) => r,
                        Err(ReconError::BadRun { .. }) => return Ok(None),
                        Err(ReconError::Store(e)) => return Err(e),
                        Err(e) => return Err(StoreError::NotFound { what: "run", key: e.to_string() }),
                    };
                    Ok(Some((RunFacts::of_sqlite(s, &run)?, report)))
                })
                .map_err(|e: StoreError| internal(&e))?,
        };
        let Some((facts, report)) = found else { return Err(not_found()) };
        let Some(line) = run_line(&names, &facts, view) else {
            // Back office: another store's run. An owner who asked for a store the run does not list: none.
            return Err(if view.own_store_only { ApiError::NotYourStore } else { not_found() });
        };
        Ok(report_view(&names, line, report, &facts.stores, view))
    }

    /// A run's facts (its day, stores and state), from either engine.
    pub(super) async fn run_facts(&self, run_id: i64) -> Result<RunFacts, ApiError> {
        let not_found = || ApiError::NotFound { what: format!("reconciliation run {run_id}") };
        if let Some(pg) = self.pg() {
            let run = pg.recon_run(run_id).await.map_err(|e| internal(&e))?.ok_or_else(not_found)?;
            return self.of_pg(vec![run]).await?.pop().ok_or_else(not_found);
        }
        self.with_store(|s| match s.recon().recon_run(run_id)? {
            Some(run) => Ok(Some(RunFacts::of_sqlite(s, &run)?)),
            None => Ok(None),
        })
        .map_err(|e: StoreError| internal(&e))?
        .ok_or_else(not_found)
    }

    /// Published runs with their days' state (newest run, closing).
    async fn of_pg(&self, runs: Vec<PgRun>) -> Result<Vec<RunFacts>, ApiError> {
        let Some(pg) = self.pg() else { return Ok(Vec::new()) };
        let mut days: Vec<(AcquirerId, String)> = runs.iter().map(|r| (r.acquirer_id, r.bill_date.clone())).collect();
        days.sort();
        days.dedup();
        let states: HashMap<(AcquirerId, String), PgDayState> = pg
            .recon_day_states(&days)
            .await
            .map_err(|e| internal(&e))?
            .into_iter()
            .map(|state| ((state.acquirer_id, state.bill_date.clone()), state))
            .collect();
        Ok(runs
            .into_iter()
            .map(|run| {
                let state = states.get(&(run.acquirer_id, run.bill_date.clone()));
                let (latest, closed) = state.map_or((run.id, None), |s| (s.latest_run, s.closed.clone()));
                RunFacts {
                    id: run.id,
                    acquirer: run.acquirer_id,
                    latest: latest <= run.id,
                    closed,
                    bill_date: run.bill_date,
                    started_at: run.started_at,
                    stores: RunStores { rows: run.shares, differences: run.differences },
                }
            })
            .collect())
    }

    /// `GET /v1/recon/bills`: each store's share of the downloaded bills of a day, newest day first.
    pub async fn bill_days(&self, scope: Scope, q: &BillDayQuery) -> Result<BillDayList, ApiError> {
        let limit = q.limit.unwrap_or(50).clamp(1, 200) as usize;
        let view = self.recon_view(scope, q.store.as_deref())?;
        let names = self.catalogue_names()?;
        let acquirers = Self::asked_acquirers(&names, q.acquirer.as_deref())?;
        let (from, to) = (day("from", q.from.as_deref())?, day("to", q.to.as_deref())?);
        let mut cursor = match q.after.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => {
                let (d, id) = a.rsplit_once('~').ok_or_else(|| bad("after", "the next of the previous page"))?;
                let id = id.parse::<i64>().map_err(|_| bad("after", "the next of the previous page"))?;
                Some((d.to_owned(), AcquirerId(id)))
            }
        };
        let filter = DayFilter { acquirers: acquirers.as_deref(), from: from.as_deref(), to: to.as_deref() };
        let mut days: Vec<BillDay> = Vec::new();
        loop {
            let page = self.bill_days_page(&filter, cursor.as_ref().map(|(d, a)| (d.as_str(), *a))).await?;
            if page.is_empty() {
                break;
            }
            for day in page {
                cursor = Some((day.date.clone(), day.account));
                let shares: Vec<&StoreRows> = day.shares.iter().filter(|r| view.sees(r.store_id)).collect();
                if shares.is_empty() {
                    continue;
                }
                if days.len() >= limit {
                    let next = days.last().map(|d| format!("{}~{}", d.bill_date, d.acquirer.id));
                    return Ok(BillDayList { days, next });
                }
                for share in shares {
                    days.push(BillDay {
                        store_code: share.store_id.and_then(|id| names.stores.get(&id).cloned()),
                        acquirer: acquirer_ref(&names, day.account),
                        bill_date: day.date.clone(),
                        bills: day.files.clone(),
                        rows: share.rows,
                        payments: count_sum(share.payment_count, share.payment_amount),
                        refunds: count_sum(share.refund_count, share.refund_amount),
                        fee: MilliFen::from_milli_fen(share.fee_milli).to_string(),
                    });
                }
            }
        }
        Ok(BillDayList { days, next: None })
    }

    /// A page of bill days (100, newest first, after `after`) with their files and rows per store, from either
    /// engine.
    async fn bill_days_page(
        &self,
        filter: &DayFilter<'_>,
        after: Option<(&str, AcquirerId)>,
    ) -> Result<Vec<DayFacts>, ApiError> {
        if let Some(pg) = self.pg() {
            let page = pg.recon_bill_days_page(filter, after, 100).await.map_err(|e| internal(&e))?;
            return Ok(page
                .into_iter()
                .map(|d| DayFacts {
                    account: d.acquirer_id,
                    date: d.bill_date,
                    files: d
                        .files
                        .into_iter()
                        .map(|f| BillFile {
                            source_name: f.source_name,
                            bill_type: f.bill_type,
                            rows: f.row_count,
                            imported_at: f.imported_at,
                        })
                        .collect(),
                    shares: d.shares,
                })
                .collect());
        }
        self.with_store(|s| {
            let mut out = Vec::new();
            for (account, date) in s.recon().bill_days_page(filter, after, 100)? {
                let bills = s.recon().bills_of_day(account, &date)?;
                let ids: Vec<BillId> = bills.iter().map(|b| b.id).collect();
                let files = bills
                    .iter()
                    .map(|b| BillFile {
                        source_name: b.source_name.rsplit(['/', '\\']).next().unwrap_or("").to_owned(),
                        bill_type: b.bill_type.as_str().to_owned(),
                        rows: b.row_count,
                        imported_at: b.imported_at.clone(),
                    })
                    .collect();
                out.push(DayFacts { account, date, files, shares: s.recon().bill_rows_by_store(&ids)? });
            }
            Ok(out)
        })
        .map_err(|e: StoreError| internal(&e))
    }
}

pub(super) fn acquirer_ref(names: &Names, id: AcquirerId) -> AcquirerRef {
    names.acquirers.get(&id).cloned().unwrap_or_else(|| AcquirerRef {
        id: id.0,
        kind: AcquirerKind::Alipay,
        name: format!("acquirer #{id}"),
        code: None,
    })
}

/// What a run's stores are: its bills' rows by store, and its differences with their stores.
pub(super) struct RunStores {
    pub(super) rows: Vec<StoreRows>,
    pub(super) differences: Vec<DifferenceStore>,
}

/// A run as the reads need it, from either engine.
pub(super) struct RunFacts {
    id: i64,
    acquirer: AcquirerId,
    pub(super) bill_date: String,
    started_at: String,
    /// The day's closing in force (its report frozen): by whom and when.
    closed: Option<(String, String)>,
    /// The run is its day's newest.
    latest: bool,
    pub(super) stores: RunStores,
}

impl RunFacts {
    fn of_sqlite(s: &Store, run: &StoredRun) -> Result<RunFacts, StoreError> {
        // The bills the run read are in its summary (the report as it was).
        let bills: Vec<BillId> = serde_json::from_str::<Report>(&run.summary_json)
            .map(|r| r.bills.iter().map(|b| b.id).collect())
            .unwrap_or_default();
        let acquirer = run.acquirer_id.unwrap_or(AcquirerId(0));
        let bill_date = run.bill_date.clone().unwrap_or_default();
        Ok(RunFacts {
            id: run.id,
            acquirer,
            closed: s.recon().closed_day(acquirer, &bill_date)?.map(|c| (c.closed_by_name, c.closed_at)),
            latest: s.recon().latest_run_of_day(acquirer, &bill_date)?.is_none_or(|l| l <= run.id),
            bill_date,
            started_at: run.started_at.clone(),
            stores: RunStores {
                rows: s.recon().bill_rows_by_store(&bills)?,
                differences: s.recon().difference_stores(run.id)?,
            },
        })
    }
}

/// An account's bill day as the reads need it, from either engine.
struct DayFacts {
    account: AcquirerId,
    date: String,
    files: Vec<BillFile>,
    shares: Vec<StoreRows>,
}

/// The run as `view` lists it; None when it lists nothing of the view's store.
fn run_line(names: &Names, run: &RunFacts, view: View) -> Option<ReconRun> {
    let stores = &run.stores;
    let mut ids: Vec<StoreId> = stores
        .rows
        .iter()
        .filter_map(|r| r.store_id)
        .chain(stores.differences.iter().filter_map(|d| d.store_id))
        .filter(|id| view.sees(Some(*id)))
        .collect::<HashSet<StoreId>>()
        .into_iter()
        .collect();
    ids.sort_by_key(|id| id.0);
    if let Some(own) = view.store
        && !ids.contains(&own)
    {
        return None;
    }
    let seen: Vec<&DifferenceStore> = stores.differences.iter().filter(|d| view.sees(d.store_id)).collect();
    Some(ReconRun {
        run_id: run.id,
        acquirer: acquirer_ref(names, run.acquirer),
        closed: run.closed.is_some(),
        closed_by: run.closed.as_ref().map(|c| c.0.clone()),
        closed_at: run.closed.as_ref().map(|c| c.1.clone()),
        latest: run.latest,
        bill_date: run.bill_date.clone(),
        started_at: run.started_at.clone(),
        stores: ids.iter().map(|id| names.stores.get(id).cloned().unwrap_or_else(|| format!("#{id}"))).collect(),
        differences: seen.len() as i64,
        open: seen.iter().filter(|d| !d.resolved).count() as i64,
    })
}

fn difference(item: Item, store_code: Option<String>) -> ReconDifference {
    let money = |a: Option<Amount>| a.map(|a| a.to_string());
    ReconDifference {
        id: item.id.0,
        store_code,
        kind: item.kind,
        reason: item.reason.as_str().to_owned(),
        out_trade_no: item.out_trade_no,
        trade_no: item.trade_no,
        out_request_no: item.out_request_no,
        local_amount: money(item.local_amount),
        bill_amount: money(item.bill_amount),
        local_status: item.local_status,
        bill_status: item.bill_status,
        bill_line: item.bill_line,
        occurred_at: item.occurred_at,
        subject: item.subject,
        fields: item
            .fields
            .into_iter()
            .map(|f| ReconField { field: f.field.as_str().to_owned(), bill: f.bill, local: f.local })
            .collect(),
        resolved: item.resolved,
        note: item.note,
        resolution: item.resolution.and_then(|r| r.kind).map(|k| k.as_str().to_owned()),
    }
}

/// The report as `view` sees it: the whole bill's figures, or one store's rows and differences.
fn report_view(names: &Names, run: ReconRun, report: Report, stores: &RunStores, view: View) -> ReconReport {
    let store_of: HashMap<i64, Option<StoreId>> = stores.differences.iter().map(|d| (d.id.0, d.store_id)).collect();
    let code = |id: Option<StoreId>| id.and_then(|id| names.stores.get(&id).cloned());
    let mut kinds: Vec<ReconKindTotal> = Vec::new();
    let mut discrepancies = Vec::new();
    for item in report.discrepancies {
        let store = store_of.get(&item.id.0).copied().flatten();
        if !view.sees(store) {
            continue;
        }
        let (bill, local) = (item.bill_amount.map_or(0, |a| a.fen()), item.local_amount.map_or(0, |a| a.fen()));
        match kinds.iter_mut().find(|k| k.kind == item.kind) {
            Some(k) => {
                k.count += 1;
                k.bill_amount = add(&k.bill_amount, bill);
                k.local_amount = add(&k.local_amount, local);
            }
            None => kinds.push(ReconKindTotal {
                kind: item.kind,
                count: 1,
                bill_amount: Amount::from_fen(bill).to_string(),
                local_amount: Amount::from_fen(local).to_string(),
            }),
        }
        discrepancies.push(difference(item, code(store)));
    }
    let rows: Vec<&StoreRows> = stores.rows.iter().filter(|r| view.sees(r.store_id)).collect();
    let sum = |f: fn(&StoreRows) -> i64| rows.iter().map(|r| f(r)).sum::<i64>();
    let whole = view.store.is_none();
    let fees = &report.fees;
    let totals = ReconTotals {
        rows: sum(|r| r.rows),
        payments: count_sum(sum(|r| r.payment_count), sum(|r| r.payment_amount)),
        refunds: count_sum(sum(|r| r.refund_count), sum(|r| r.refund_amount)),
        fee: if whole { fees.fee.clone() } else { MilliFen::from_milli_fen(sum(|r| r.fee_milli)).to_string() },
        matched: whole.then(|| count_sum(report.matched.count, report.matched.amount.fen())),
        matched_refunds: whole.then(|| count_sum(report.matched_refunds.count, report.matched_refunds.amount.fen())),
        pending: whole.then(|| count_sum(report.pending.count, report.pending.amount.fen())),
        net: whole.then(|| fees.net.to_string()),
    };
    ReconReport {
        run,
        store: code(view.store),
        totals,
        kinds,
        discrepancies,
        warnings: if whole { report.warnings } else { Vec::new() },
    }
}

/// `text` (yuan) plus `fen`.
fn add(text: &str, fen: i64) -> String {
    let was = Amount::parse(text).map_or(0, |a| a.fen());
    Amount::from_fen(was.saturating_add(fen)).to_string()
}
