//! Reconciliation on a till enrolled with a merchant backend: the till holds no acquirer keys, so it neither
//! downloads bills nor reconciles; the backend does, for every store, and the till reads its runs, a run's report
//! and the bill days through the till API (`/v1/recon/...`), as the operator signed in at the till (owner: every
//! store; back office: the till's store; a cashier may not). Differences are resolved and days closed there too, through
//! the same API, as that operator (back office: their store's differences, and days whose bill is all theirs).
//!
//! Here: the calls with their refusals as kinds ([`RemoteError`]) and the report as plain text for the command line.
//! The window phrases the kinds (`ui/words_recon.rs`). May import channel (the backend client and the till API's
//! shapes) and the report's reasons.

use crate::channel::backend::api::{
    ApiError, BillDayList, BillDayQuery, DayClosing, DayRequest, ReconRefusal, ReconReport, ReconRun, ReconRunList,
    ReconRunQuery, ReopenRequest, ResolveRequest, ResolveResponse,
};
use crate::channel::backend::{BackendClient, BackendError};
use crate::i18n::Lang;
use crate::model::Role;
use crate::store::recon_days::Refused;

/// Why the backend's reconciliation could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// No answer (down, unreachable, too slow, a certificate the till does not trust).
    #[error("the merchant backend cannot be reached: {0}")]
    Unreachable(String),
    /// Nobody is signed in at the till, or the session expired.
    #[error("sign in first: the merchant backend shows reconciliation to a signed-in owner or back office")]
    SignInRequired,
    #[error("a {role} may not see reconciliation (owner or back office)", role = crate::store::operators::role_words(*.role))]
    NotAllowed { role: Role },
    /// Back office asked about another store.
    #[error("that belongs to another store: back office sees its till's store only")]
    NotYourStore,
    /// An older backend on PostgreSQL, from before bills and reconciliation were done there.
    #[error("the merchant backend is an older version that does not reconcile on PostgreSQL: update the backend")]
    NotOnThisEngine,
    #[error("the merchant backend has no {0}")]
    NotFound(String),
    /// A resolution or a day's closing the data does not allow.
    #[error("{}", refusal_words(.0))]
    Resolution(ReconRefusal),
    /// Any other refusal (its kind).
    #[error("the merchant backend refused: {0} ({kind})", kind = .0.kind())]
    Refused(ApiError),
    #[error("the merchant backend's answer cannot be used: {0}")]
    Broken(String),
    /// The till's token is in the key vault, and the vault is locked.
    #[error("unlock the key vault first: the till's token for the merchant backend is in it")]
    VaultLocked,
    #[error(transparent)]
    Link(#[from] crate::routing::backend::LinkError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<BackendError> for RemoteError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Api(ApiError::SignInRequired) => RemoteError::SignInRequired,
            BackendError::Api(ApiError::NotAllowed { role, .. }) => RemoteError::NotAllowed { role },
            BackendError::Api(ApiError::NotYourStore) => RemoteError::NotYourStore,
            BackendError::Api(ApiError::NotOnThisEngine { .. }) => RemoteError::NotOnThisEngine,
            BackendError::Api(ApiError::NotFound { what }) => RemoteError::NotFound(what),
            BackendError::Api(ApiError::ReconRefused { refusal }) => RemoteError::Resolution(refusal),
            BackendError::Api(other) => RemoteError::Refused(other),
            e @ (BackendError::Transport(_) | BackendError::TrustedRoot { .. }) => {
                RemoteError::Unreachable(e.to_string())
            }
            e @ (BackendError::BadResponse { .. } | BackendError::BadUrl { .. }) => RemoteError::Broken(e.to_string()),
        }
    }
}

/// The backend's client of this till (its token from `vault`), speaking for the operator signed in at the till.
pub fn client_of(
    store: &crate::store::Store,
    vault: Option<&crate::secrets::Vault>,
) -> Result<BackendClient, RemoteError> {
    let vault = vault.ok_or(RemoteError::VaultLocked)?;
    Ok(crate::routing::backend::client(store, vault)?.ok_or(crate::routing::backend::LinkError::NotJoined)?)
}

/// The runs, newest first.
pub async fn runs(client: &BackendClient, q: &ReconRunQuery) -> Result<ReconRunList, RemoteError> {
    Ok(client.recon_runs(q).await?)
}

/// One run's report (`store`: narrowed to one store).
pub async fn report(client: &BackendClient, run_id: i64, store: Option<&str>) -> Result<ReconReport, RemoteError> {
    Ok(client.recon_report(run_id, store).await?)
}

/// The bill days, newest first.
pub async fn bill_days(client: &BackendClient, q: &BillDayQuery) -> Result<BillDayList, RemoteError> {
    Ok(client.bill_days(q).await?)
}

/// The report of the latest run of `acquirer`'s day `date` (YYYY-MM-DD); None when the backend has no run of it.
pub async fn day_report(
    client: &BackendClient,
    acquirer: &str,
    date: &str,
    store: Option<&str>,
) -> Result<Option<ReconReport>, RemoteError> {
    let q = ReconRunQuery {
        store: store.map(str::to_owned),
        acquirer: Some(acquirer.to_owned()),
        from: Some(date.to_owned()),
        to: Some(date.to_owned()),
        limit: Some(1),
        ..ReconRunQuery::default()
    };
    let Some(run) = client.recon_runs(&q).await?.runs.into_iter().next() else { return Ok(None) };
    Ok(Some(client.recon_report(run.run_id, store).await?))
}

/// Resolves a difference at the backend.
pub async fn resolve(client: &BackendClient, id: i64, req: &ResolveRequest) -> Result<ResolveResponse, RemoteError> {
    Ok(client.resolve_difference(id, req).await?)
}

/// Takes a resolution back at the backend.
pub async fn reopen(client: &BackendClient, id: i64, note: &str) -> Result<ResolveResponse, RemoteError> {
    Ok(client.reopen_difference(id, &ReopenRequest { note: note.to_owned() }).await?)
}

/// Closes an account's day at the backend (`acquirer`: its id or onboarding id).
pub async fn close_day(client: &BackendClient, acquirer: &str, date: &str) -> Result<DayClosing, RemoteError> {
    let req = DayRequest { acquirer: acquirer.to_owned(), bill_date: date.to_owned(), note: None };
    Ok(client.close_recon_day(&req).await?)
}

/// Reopens a closed day at the backend, with why.
pub async fn reopen_day(
    client: &BackendClient,
    acquirer: &str,
    date: &str,
    note: &str,
) -> Result<DayClosing, RemoteError> {
    let req = DayRequest { acquirer: acquirer.to_owned(), bill_date: date.to_owned(), note: Some(note.to_owned()) };
    Ok(client.reopen_recon_day(&req).await?)
}

/// The till's own refusal of the same kind, where there is one (the window phrases those already); `Err` gives the
/// two only a backend says: a closed day, other stores' money.
pub fn as_refused(r: &ReconRefusal) -> Result<Refused, &ReconRefusal> {
    Ok(match r.clone() {
        ReconRefusal::NotLatestRun { id, run, latest } => Refused::NotLatestRun { id, run, latest },
        ReconRefusal::AlreadyResolved { id, resolution } => Refused::AlreadyResolved { id, kind: resolution },
        ReconRefusal::NotResolved { id } => Refused::NotResolved { id },
        ReconRefusal::NoteRequired => Refused::NoteRequired,
        ReconRefusal::BillRowNotFound { what, bill_date } => Refused::BillRowNotFound { what, bill_date },
        ReconRefusal::BillRowAmbiguous { line, bill_date } => Refused::BillRowAmbiguous { line, bill_date },
        ReconRefusal::BillRowMatched { line, trade_no } => Refused::BillRowMatched { line, trade_no },
        ReconRefusal::NotLocalOnly { id, line } => Refused::NotLocalOnly { id, line },
        ReconRefusal::BillRowResolved { line, trade_no, resolution } => {
            Refused::BillRowResolved { line, trade_no, kind: resolution }
        }
        ReconRefusal::BadOutRequestNo { out_request_no } => Refused::BadOutRequestNo { out_request_no },
        ReconRefusal::RefundOfAnotherOrder { out_request_no, belongs_to, expected } => {
            Refused::RefundOfAnotherOrder { out_request_no, belongs_to, expected }
        }
        ReconRefusal::CannotAdopt { id } => Refused::CannotAdopt { id },
        ReconRefusal::NoRun { bill_date } => Refused::NoRun { bill_date },
        ReconRefusal::OpenDifferences { bill_date, count, run } => Refused::OpenDifferences { bill_date, count, run },
        ReconRefusal::StaleRun { bill_date, run } => Refused::StaleRun { bill_date, run },
        ReconRefusal::NotClosed { bill_date } => Refused::NotClosed { bill_date },
        ReconRefusal::DayClosed { .. } | ReconRefusal::OtherStores { .. } => return Err(r),
    })
}

/// A backend's refusal in English (the window phrases it in its language: `ui/reconcile/remote.rs`).
pub fn refusal_words(r: &ReconRefusal) -> String {
    match as_refused(r) {
        Ok(refused) => refused.to_string(),
        Err(ReconRefusal::DayClosed { bill_date, closed_by, closed_at }) => format!(
            "{bill_date} was closed by {closed_by} at {} (China time): reopen the day first",
            crate::time::to_china_display(closed_at)
        ),
        Err(ReconRefusal::OtherStores { bill_date, stores }) => format!(
            "the bill of {bill_date} lists other stores' money too ({}): an owner closes or reopens that day",
            stores.join(", ")
        ),
        Err(other) => format!("{other:?}"),
    }
}

/// Runs one call to its end on the calling thread (the command line outside a runtime, or a command of the
/// window's queue).
pub fn block_on<T>(work: impl std::future::Future<Output = Result<T, RemoteError>>) -> Result<T, RemoteError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RemoteError::Unreachable(format!("cannot start the network runtime: {e}")))?;
    rt.block_on(work)
}

/// "Alipay (ALIPAY)".
pub fn account_words(run: &ReconRun) -> String {
    let name = super::acquirer_name(run.acquirer.kind);
    match &run.acquirer.code {
        Some(code) => format!("{name} ({code})"),
        None => name.to_owned(),
    }
}

/// One line of the run list.
pub fn run_line(run: &ReconRun) -> String {
    format!(
        "#{:<5} {}  {:<22} stores {:<12} differences {} (open {}){}",
        run.run_id,
        run.bill_date,
        account_words(run),
        if run.stores.is_empty() { "-".to_owned() } else { run.stores.join(", ") },
        run.differences,
        run.open,
        if run.closed { "  [day closed]" } else { "" }
    )
}

/// The report as plain text (English, as the command line speaks).
pub fn report_text(r: &ReconReport) -> String {
    let mut out = String::new();
    let run = &r.run;
    out.push_str(&format!(
        "Reconciliation of the {} bill of {} at the merchant backend (run #{}; {})\n",
        account_words(run),
        run.bill_date,
        run.run_id,
        match &r.store {
            Some(s) => format!("store {s}'s share"),
            None => format!("every store: {}", run.stores.join(", ")),
        }
    ));
    let t = &r.totals;
    out.push_str(&format!(
        "  bill rows: {}; payments {} totalling {}; refunds {} totalling {}; fees {}\n",
        t.rows, t.payments.count, t.payments.amount, t.refunds.count, t.refunds.amount, t.fee
    ));
    if let (Some(m), Some(mr)) = (&t.matched, &t.matched_refunds) {
        out.push_str(&format!("  matched payments: {} totalling {}\n", m.count, m.amount));
        out.push_str(&format!("  matched refunds:  {} totalling {}\n", mr.count, mr.amount));
    }
    if let Some(p) = &t.pending {
        out.push_str(&format!("  waiting for the neighbouring day's bill: {} totalling {}\n", p.count, p.amount));
    }
    if let Some(net) = &t.net {
        out.push_str(&format!("  net: {net}\n"));
    }
    for k in &r.kinds {
        out.push_str(&format!(
            "  {:<16} {} (bill {}, local {})\n",
            format!("{}:", k.kind.as_str()),
            k.count,
            k.bill_amount,
            k.local_amount
        ));
    }
    for w in &r.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    if !r.discrepancies.is_empty() {
        out.push_str("Discrepancies:\n");
    }
    for d in &r.discrepancies {
        let mut keys = format!("out_trade_no={}", d.out_trade_no.as_deref().unwrap_or("-"));
        if let Some(no) = &d.out_request_no {
            keys.push_str(&format!(" out_request_no={no}"));
        }
        out.push_str(&format!(
            "  #{} {} {} {} {} local={} ({}) bill={} ({}){}{}\n",
            d.id,
            d.store_code.as_deref().unwrap_or("-"),
            d.kind.as_str(),
            d.reason,
            keys,
            d.local_amount.as_deref().unwrap_or("-"),
            d.local_status.as_deref().unwrap_or("-"),
            d.bill_amount.as_deref().unwrap_or("-"),
            d.bill_status.as_deref().unwrap_or("-"),
            d.bill_line.map(|l| format!(" line {l}")).unwrap_or_default(),
            match (&d.resolution, d.resolved) {
                (Some(kind), true) => format!(" [{kind}: {}]", d.note.as_deref().unwrap_or("")),
                (None, true) => format!(" [resolved: {}]", d.note.as_deref().unwrap_or("")),
                _ => String::new(),
            }
        ));
        if let Some(reason) = super::report::Reason::parse(&d.reason) {
            out.push_str(&format!("    {} {}\n", reason.explanation(Lang::En), reason.action(Lang::En)));
        }
        for f in &d.fields {
            out.push_str(&format!("    {}: bill {}, till {}\n", f.field, f.bill, f.local));
        }
    }
    if r.run.closed {
        out.push_str(&format!(
            "Day closed by {} at {} (China time).\n",
            r.run.closed_by.as_deref().unwrap_or("-"),
            r.run.closed_at.as_deref().map(crate::time::to_china_display).unwrap_or_default()
        ));
    } else if !r.run.latest {
        out.push_str("A newer run of this day exists: its differences are the ones to resolve.\n");
    } else {
        let open = r.discrepancies.iter().filter(|d| !d.resolved).count();
        out.push_str(&format!(
            "Day open: {open} open difference(s). Resolve with `tilldesk reconcile resolve ID --as KIND --note …`; \
             close with `tilldesk reconcile close`.\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backends_kinds_become_the_tills_refusals() {
        let kind = |e: ApiError| RemoteError::from(BackendError::Api(e));
        assert!(matches!(kind(ApiError::SignInRequired), RemoteError::SignInRequired));
        let refused = kind(ApiError::NotAllowed { role: Role::Cashier, permission: "reconcile_bills".into() });
        assert!(matches!(refused, RemoteError::NotAllowed { role: Role::Cashier }));
        assert_eq!(refused.to_string(), "a cashier may not see reconciliation (owner or back office)");
        assert!(matches!(kind(ApiError::NotYourStore), RemoteError::NotYourStore));
        assert!(matches!(
            kind(ApiError::NotOnThisEngine { what: "reconciliation".into() }),
            RemoteError::NotOnThisEngine
        ));
        let down = RemoteError::from(BackendError::Transport("connection refused".into()));
        assert!(matches!(down, RemoteError::Unreachable(_)));
        assert!(down.to_string().contains("connection refused"));
    }

    #[test]
    fn a_backends_refusal_travels_as_a_kind_with_its_values_and_reads_as_the_tills_own() {
        let open = ApiError::ReconRefused {
            refusal: ReconRefusal::OpenDifferences { bill_date: "2026-12-05".into(), count: 2, run: 7 },
        };
        let json = serde_json::to_value(&open).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "kind": "recon_refused",
                "refusal": { "reason": "open_differences", "bill_date": "2026-12-05", "count": 2, "run": 7 } })
        );
        assert_eq!(serde_json::from_value::<ApiError>(json).unwrap(), open);
        assert_eq!(open.status(), 409);
        let e = RemoteError::from(BackendError::Api(open));
        assert!(matches!(&e, RemoteError::Resolution(ReconRefusal::OpenDifferences { count: 2, .. })));
        assert_eq!(
            e.to_string(),
            Refused::OpenDifferences { bill_date: "2026-12-05".into(), count: 2, run: 7 }.to_string()
        );
        let closed = ReconRefusal::DayClosed {
            bill_date: "2026-12-05".into(),
            closed_by: "老板".into(),
            closed_at: "2026-12-06T02:00:00.000000Z".into(),
        };
        assert!(as_refused(&closed).is_err());
        assert_eq!(
            refusal_words(&closed),
            "2026-12-05 was closed by 老板 at 2026-12-06 10:00:00 (China time): reopen the day first"
        );
        let others = ReconRefusal::OtherStores { bill_date: "2026-12-05".into(), stores: vec!["S002".into()] };
        assert!(refusal_words(&others).contains("other stores' money too (S002): an owner closes"));
    }
}
