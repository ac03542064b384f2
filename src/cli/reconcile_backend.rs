//! `tilldesk reconcile show|runs|bills`: reading reconciliation. On a till enrolled with a merchant backend the till
//! holds no acquirer keys and its own bill tables stay empty: these read the backend's runs, reports and bill days
//! instead, as `--operator NAME` (owner: every store; back office: the till's store), the PIN in `TILLDESK_PIN`
//! checked at the backend. On a store-direct till `runs` and `bills` list the till's own.

use anyhow::{Context as _, bail};
use tilldesk::channel::backend::BackendClient;
use tilldesk::channel::backend::api::{BillDayQuery, ReconRunQuery, ResolveRequest};
use tilldesk::config::DataHome;
use tilldesk::recon::backend::{self as remote, RemoteError};
use tilldesk::recon::resolve::ResolveAs;
use tilldesk::recon::{self, acquirer_name};
use tilldesk::routing::backend;
use tilldesk::store::recon_days::BillRowPick;

use crate::cli::reconcile::{ReportFilter, parse_date};

/// What these commands read at the backend, and who may.
const RECON: (&str, &str) = ("reconciliation", "owner or back office");
/// What the resolution commands change there.
const RESOLVE: (&str, &str) = ("differences and closed days", "owner or back office");

/// Whether this till reads reconciliation from a merchant backend.
pub fn enrolled(home: &DataHome) -> anyhow::Result<bool> {
    Ok(backend::link(&home.store)?.is_some())
}

/// The backend's client speaking for `operator`, signed in there with the PIN (`TILLDESK_PIN`); `what` the command,
/// `read` what it reads there and `who` may.
pub fn signed_in(
    home: &mut DataHome,
    operator: Option<&str>,
    what: &str,
    (read, who): (&str, &str),
) -> anyhow::Result<BackendClient> {
    let Some(name) = operator else {
        bail!("{what} uses the merchant backend's {read}: pass --operator NAME ({who}) and the PIN in TILLDESK_PIN");
    };
    let pin = crate::cli::staff::read_pin(name)?;
    let vault =
        crate::cli::keys::open_vault(home).with_context(|| format!("{read} are read from the merchant backend"))?;
    let client = backend::client(&home.store, &vault)?.context("this till is not enrolled with a merchant backend")?;
    let (operator, session) =
        crate::cli::staff::on_backend(backend::sign_in_with(&mut home.store, &client, name, &pin))?;
    home.store.set_audit_session(Some(operator.id), crate::cli::staff::ACTOR)?;
    Ok(client.with_session(session))
}

/// A refusal of the backend, said for the command line.
fn said(e: RemoteError) -> anyhow::Error {
    match e {
        RemoteError::Unreachable(_) => anyhow::anyhow!("{e}; try again once it answers (`tilldesk backend status`)"),
        other => anyhow::Error::new(other),
    }
}

fn day(field: &str, text: Option<&str>) -> anyhow::Result<Option<String>> {
    text.map(|t| parse_date(t).map(recon::date_text).with_context(|| format!("--{field}"))).transpose()
}

/// `reconcile show` on an enrolled till: the latest run of the day at the backend.
pub fn show(
    home: &mut DataHome,
    operator: Option<&str>,
    date: time::Date,
    acquirer: &str,
    store: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let client = signed_in(home, operator, "tilldesk reconcile show", RECON)?;
    let day = recon::date_text(date);
    let report = remote::block_on(remote::day_report(&client, acquirer, &day, store)).map_err(said)?;
    let Some(report) = report else {
        bail!(
            "the merchant backend has no reconciliation of the {acquirer} bill of {day} (yet){}",
            match store {
                Some(s) => format!(" listing store {s}"),
                None => String::new(),
            }
        );
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", remote::report_text(&report));
    }
    Ok(())
}

/// `reconcile resolve` on an enrolled till: at the backend, as `--operator`.
pub fn resolve(
    home: &mut DataHome,
    operator: Option<&str>,
    id: i64,
    how: &ResolveAs,
    note: &str,
) -> anyhow::Result<()> {
    let client = signed_in(home, operator, &format!("tilldesk reconcile resolve {id}"), RESOLVE)?;
    let (out_request_no, bill_line, trade_no) = match how {
        ResolveAs::Refunded { out_request_no } => (out_request_no.clone(), None, None),
        ResolveAs::Matched(BillRowPick::Line(n)) => (None, Some(*n), None),
        ResolveAs::Matched(BillRowPick::TradeNo(t)) => (None, None, Some(t.clone())),
        _ => (None, None, None),
    };
    let req = ResolveRequest { kind: how.kind(), note: note.to_owned(), out_request_no, bill_line, trade_no };
    let done = remote::block_on(remote::resolve(&client, id, &req)).map_err(said)?;
    let what = match (&done.adopted, done.bill_line) {
        (Some(order), _) => format!("adopted from the bill as order {order} at the merchant backend"),
        (None, Some(line)) => format!("matched by hand to bill line {line} at the merchant backend"),
        _ => format!("resolved as {} at the merchant backend", how.kind()),
    };
    println!("Difference #{id} {what}.{}", open_left(done.open));
    Ok(())
}

/// `reconcile reopen` on an enrolled till.
pub fn reopen(home: &mut DataHome, operator: Option<&str>, id: i64, note: &str) -> anyhow::Result<()> {
    let client = signed_in(home, operator, &format!("tilldesk reconcile reopen {id}"), RESOLVE)?;
    let done = remote::block_on(remote::reopen(&client, id, note)).map_err(said)?;
    println!("Difference #{id} is open again at the merchant backend.{}", open_left(done.open));
    Ok(())
}

/// `reconcile close` (`reopen`: None) or `reconcile reopen-day` (the note) on an enrolled till.
pub fn close_day(
    home: &mut DataHome,
    operator: Option<&str>,
    date: time::Date,
    acquirer: &str,
    reopen: Option<&str>,
) -> anyhow::Result<()> {
    let day = recon::date_text(date);
    let what = match reopen {
        None => format!("tilldesk reconcile close --date {day}"),
        Some(_) => format!("tilldesk reconcile reopen-day --date {day}"),
    };
    let client = signed_in(home, operator, &what, RESOLVE)?;
    match reopen {
        None => {
            let c = remote::block_on(remote::close_day(&client, acquirer, &day)).map_err(said)?;
            println!(
                "Closed the {} day {} (run {}) at the merchant backend as {} at {} (China time).",
                acquirer_name(c.acquirer.kind),
                c.bill_date,
                c.run_id,
                c.closed_by,
                tilldesk::time::to_china_display(&c.closed_at)
            );
        }
        Some(note) => {
            let c = remote::block_on(remote::reopen_day(&client, acquirer, &day, note)).map_err(said)?;
            println!(
                "Reopened the {} day {} at the merchant backend (closed by {} at {}): it can be resolved and \
                 reconciled again.",
                acquirer_name(c.acquirer.kind),
                c.bill_date,
                c.closed_by,
                tilldesk::time::to_china_display(&c.closed_at)
            );
        }
    }
    Ok(())
}

fn open_left(open: i64) -> String {
    match open {
        0 => " Nothing is open in that run now: the day can be closed (`tilldesk reconcile close`).".to_owned(),
        n => format!(" {n} difference(s) of that run are still open."),
    }
}

/// `reconcile runs`.
pub fn runs(home: &mut DataHome, operator: Option<&str>, f: ReportFilter) -> anyhow::Result<()> {
    if !enrolled(home)? {
        return local_runs(home, &f);
    }
    let client = signed_in(home, operator, "tilldesk reconcile runs", RECON)?;
    let q = ReconRunQuery {
        store: f.store.clone(),
        acquirer: f.acquirer.clone(),
        from: day("from", f.from.as_deref())?,
        to: day("to", f.to.as_deref())?,
        limit: f.limit,
        after: None,
    };
    let list = remote::block_on(remote::runs(&client, &q)).map_err(said)?;
    if f.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.runs.is_empty() {
        println!(
            "the merchant backend has no reconciliation runs{}",
            if f.store.is_some() { " of that store" } else { "" }
        );
    }
    for run in &list.runs {
        println!("{}", remote::run_line(run));
    }
    if list.next.is_some() {
        println!("(more: narrow with --from/--to, or raise --limit)");
    }
    Ok(())
}

/// `reconcile bills`.
pub fn bills(home: &mut DataHome, operator: Option<&str>, f: ReportFilter) -> anyhow::Result<()> {
    if !enrolled(home)? {
        return local_bills(home, &f);
    }
    let client = signed_in(home, operator, "tilldesk reconcile bills", RECON)?;
    let q = BillDayQuery {
        store: f.store.clone(),
        acquirer: f.acquirer.clone(),
        from: day("from", f.from.as_deref())?,
        to: day("to", f.to.as_deref())?,
        limit: f.limit,
        after: None,
    };
    let list = remote::block_on(remote::bill_days(&client, &q)).map_err(said)?;
    if f.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.days.is_empty() {
        println!(
            "the merchant backend has downloaded no bills{}",
            if f.store.is_some() { " of that store" } else { "" }
        );
    }
    for d in &list.days {
        let account = match &d.acquirer.code {
            Some(code) => format!("{} ({code})", acquirer_name(d.acquirer.kind)),
            None => acquirer_name(d.acquirer.kind).to_owned(),
        };
        println!(
            "{}  {:<22} {:<6} rows {:<4} payments {} totalling {}  refunds {} totalling {}  fees {}",
            d.bill_date,
            account,
            d.store_code.as_deref().unwrap_or("-"),
            d.rows,
            d.payments.count,
            d.payments.amount,
            d.refunds.count,
            d.refunds.amount,
            d.fee
        );
    }
    Ok(())
}

fn local_runs(home: &DataHome, f: &ReportFilter) -> anyhow::Result<()> {
    anyhow::ensure!(f.store.is_none(), "--store is for a till enrolled with a merchant backend (head office)");
    let account = f.acquirer.as_deref().map(|a| crate::cli::reconcile::resolve_acquirer(&home.store, a)).transpose()?;
    let (from, to) = (day("from", f.from.as_deref())?, day("to", f.to.as_deref())?);
    let accounts = home.store.setup().acquirers()?;
    let mut shown = Vec::new();
    for run in home.store.recon().recon_runs(f.limit.unwrap_or(50).clamp(1, 500))? {
        let date = run.bill_date.clone().unwrap_or_default();
        if account.as_ref().is_some_and(|a| run.acquirer_id != Some(a.id))
            || from.as_ref().is_some_and(|d| date < *d)
            || to.as_ref().is_some_and(|d| date > *d)
        {
            continue;
        }
        let name = accounts.iter().find(|a| Some(a.id) == run.acquirer_id).map(|a| a.name.clone()).unwrap_or_default();
        let open = home.store.recon().open_discrepancy_count(run.id)?;
        let all = home.store.recon().run_discrepancies(run.id)?.len();
        shown.push(serde_json::json!({ "run_id": run.id, "acquirer": name, "bill_date": date,
            "started_at": run.started_at, "differences": all, "open": open }));
        if !f.json {
            println!("#{:<5} {date}  {name:<22} differences {all} (open {open})", run.id);
        }
    }
    if f.json {
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else if shown.is_empty() {
        println!("no reconciliation runs on this till");
    }
    Ok(())
}

fn local_bills(home: &DataHome, f: &ReportFilter) -> anyhow::Result<()> {
    anyhow::ensure!(f.store.is_none(), "--store is for a till enrolled with a merchant backend (head office)");
    let account = f.acquirer.as_deref().map(|a| crate::cli::reconcile::resolve_acquirer(&home.store, a)).transpose()?;
    let (from, to) = (day("from", f.from.as_deref())?, day("to", f.to.as_deref())?);
    let accounts = home.store.setup().acquirers()?;
    let mut shown = Vec::new();
    for bill in home.store.recon().recent_bills(f.limit.unwrap_or(50).clamp(1, 500))? {
        if account.as_ref().is_some_and(|a| bill.acquirer_id != a.id)
            || from.as_ref().is_some_and(|d| bill.bill_date < *d)
            || to.as_ref().is_some_and(|d| bill.bill_date > *d)
        {
            continue;
        }
        let name = accounts.iter().find(|a| a.id == bill.acquirer_id).map(|a| a.name.clone()).unwrap_or_default();
        if !f.json {
            println!(
                "{}  {name:<22} {:<8} rows {:<6} {}",
                bill.bill_date,
                bill.bill_type.as_str(),
                bill.row_count,
                bill.source_name
            );
        }
        shown.push(bill);
    }
    if f.json {
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else if shown.is_empty() {
        println!("no bills imported on this till");
    }
    Ok(())
}
