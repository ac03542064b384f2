//! `tilldesk reconcile resolve|reopen|close|reopen-day|show`: the resolution workflow and closed days, headless.
//! Changes need an operator who may reconcile (owner or back office) once the first owner exists.

use std::path::Path;

use anyhow::{Context as _, bail};
use tilldesk::config::DataHome;
use tilldesk::i18n::Lang;
use tilldesk::model::{DiscrepancyId, OperatorId};
use tilldesk::recon::resolve::{self, ResolveAs, Resolved};
use tilldesk::recon::{self, acquirer_name};
use tilldesk::store::operators::Permission;
use tilldesk::store::recon_days::BillRowPick;

use crate::cli::reconcile::{ReconcileAction, parse_date, resolve_acquirer};

/// "#12" or "12" → the difference's id.
fn parse_id(text: &str) -> anyhow::Result<DiscrepancyId> {
    let digits = text.trim().trim_start_matches('#');
    match digits.parse::<i64>() {
        Ok(n) if n > 0 => Ok(DiscrepancyId(n)),
        _ => bail!(
            "{text:?} is not a difference id: expected a number like 12 (the #12 that `tilldesk reconcile show` lists)"
        ),
    }
}

const KINDS: &str = "adjusted, refunded, written-off, matched or adopted";

/// `--as KIND` with what the kind needs.
fn resolve_as(
    kind: &str,
    bill_line: Option<i64>,
    trade_no: Option<String>,
    out_request_no: Option<String>,
) -> anyhow::Result<ResolveAs> {
    let kind = kind.trim().to_ascii_lowercase().replace('_', "-");
    if out_request_no.is_some() && kind != "refunded" {
        bail!("--out-request-no goes with --as refunded (the refund's number), not with --as {kind}");
    }
    if (bill_line.is_some() || trade_no.is_some()) && kind != "matched" {
        bail!("--bill-line and --trade-no go with --as matched (the bill row), not with --as {kind}");
    }
    Ok(match kind.as_str() {
        "adjusted" => ResolveAs::Adjusted,
        "refunded" => ResolveAs::Refunded { out_request_no },
        "written-off" => ResolveAs::WrittenOff,
        "adopted" => ResolveAs::Adopted,
        "matched" => match (bill_line, trade_no) {
            (Some(line), None) if line > 0 => ResolveAs::Matched(BillRowPick::Line(line)),
            (Some(line), None) => bail!("--bill-line {line} is not a line number: expected 1 or more"),
            (None, Some(t)) if !t.trim().is_empty() => ResolveAs::Matched(BillRowPick::TradeNo(t.trim().to_owned())),
            (None, None) | (None, Some(_)) => {
                bail!("--as matched needs the bill row: --bill-line N or --trade-no T (from the day's bill)")
            }
            (Some(_), Some(_)) => bail!("give the bill row once: --bill-line N or --trade-no T, not both"),
        },
        _ => bail!("--as {kind:?} is not a resolution: expected {KINDS}"),
    })
}

/// Signs the operator in (when staff exist) for `what`; returns their id and the name the report gives them.
fn sign_in(home: &mut DataHome, operator: Option<&str>, what: &str) -> anyhow::Result<(Option<OperatorId>, String)> {
    let signed = crate::cli::staff::authorize(home, operator, Permission::Reconcile, what)?;
    Ok(match signed {
        Some(o) => (Some(o.id), o.name),
        None => (None, crate::cli::staff::ACTOR.to_owned()),
    })
}

fn open_left(home: &DataHome, id: DiscrepancyId) -> anyhow::Result<String> {
    let Some(d) = home.store.recon().discrepancy(id)? else { return Ok(String::new()) };
    let open = home.store.recon().open_discrepancy_count(d.run_id)?;
    Ok(match open {
        0 => " Nothing is open in that run now: the day can be closed (`tilldesk reconcile close`).".to_owned(),
        n => format!(" {n} difference(s) of that run are still open."),
    })
}

pub fn run(home: &mut DataHome, operator: Option<&str>, action: ReconcileAction) -> anyhow::Result<()> {
    match action {
        ReconcileAction::Check(command) => return crate::cli::reconcile::reconcile_command(home, command),
        ReconcileAction::Runs { filter } => return crate::cli::reconcile_backend::runs(home, operator, filter),
        ReconcileAction::Bills { filter } => return crate::cli::reconcile_backend::bills(home, operator, filter),
        ReconcileAction::Resolve { id, kind, note, bill_line, trade_no, out_request_no } => {
            let id = parse_id(&id)?;
            let how = resolve_as(&kind, bill_line, trade_no, out_request_no)?;
            if crate::cli::reconcile_backend::enrolled(home)? {
                return crate::cli::reconcile_backend::resolve(home, operator, id.0, &how, &note);
            }
            let (operator, _) = sign_in(home, operator, &format!("tilldesk reconcile resolve {}", id.0))?;
            let done = resolve::resolve(&mut home.store, id, &how, &note, operator)?;
            let what = match done {
                Resolved::Plain => format!("resolved as {}", how.kind()),
                Resolved::Matched { line } => format!("matched by hand to bill line {line}"),
                Resolved::Adopted(order) => format!("adopted from the bill as local order #{order}"),
            };
            println!("Difference #{} {what}.{}", id.0, open_left(home, id)?);
        }
        ReconcileAction::Reopen { id, note } => {
            let id = parse_id(&id)?;
            if crate::cli::reconcile_backend::enrolled(home)? {
                return crate::cli::reconcile_backend::reopen(home, operator, id.0, &note);
            }
            let (operator, _) = sign_in(home, operator, &format!("tilldesk reconcile reopen {}", id.0))?;
            resolve::reopen(&mut home.store, id, &note, operator)?;
            println!("Difference #{} is open again.", id.0);
        }
        ReconcileAction::Close { date, acquirer } => {
            let date = parse_date(&date)?;
            if crate::cli::reconcile_backend::enrolled(home)? {
                return crate::cli::reconcile_backend::close_day(home, operator, date, &acquirer, None);
            }
            let account = resolve_acquirer(&home.store, &acquirer)?;
            let what = format!("tilldesk reconcile close --date {}", recon::date_text(date));
            let (operator, by) = sign_in(home, operator, &what)?;
            let now = tilldesk::time::now_utc();
            let closed = resolve::close_day(&mut home.store, account.id, date, &by, operator, &now)?;
            println!(
                "Closed the {} day {} (run {}) as {by} at {} (China time). `tilldesk reconcile show` prints its frozen \
                 report.",
                acquirer_name(account.kind),
                closed.bill_date,
                closed.run_id,
                resolve::china_display(&closed.closed_at)
            );
        }
        ReconcileAction::ReopenDay { date, acquirer, note } => {
            let date = parse_date(&date)?;
            if crate::cli::reconcile_backend::enrolled(home)? {
                return crate::cli::reconcile_backend::close_day(home, operator, date, &acquirer, Some(&note));
            }
            let account = resolve_acquirer(&home.store, &acquirer)?;
            let what = format!("tilldesk reconcile reopen-day --date {}", recon::date_text(date));
            let (operator, _) = sign_in(home, operator, &what)?;
            let was = resolve::reopen_day(&mut home.store, account.id, date, &note, operator)?;
            println!(
                "Reopened the {} day {} (closed by {} at {}): it can be resolved and reconciled again.",
                acquirer_name(account.kind),
                was.bill_date,
                was.closed_by_name,
                resolve::china_display(&was.closed_at)
            );
        }
        ReconcileAction::Show { date, acquirer, store, json, export } => {
            let date = crate::cli::reconcile::day_or_business_day(date.as_deref())?;
            // An enrolled till's reports are the merchant backend's.
            if crate::cli::reconcile_backend::enrolled(home)? {
                if export.is_some() {
                    bail!("--export is for this till's own reports: print the backend's with --json instead");
                }
                return crate::cli::reconcile_backend::show(home, operator, date, &acquirer, store.as_deref(), json);
            }
            if store.is_some() {
                bail!("--store is for a till enrolled with a merchant backend (head office)");
            }
            let account = resolve_acquirer(&home.store, &acquirer)?;
            let closed = home.store.recon().closed_day(account.id, &recon::date_text(date))?;
            // A closed day's report is the frozen one: these bytes never change.
            let day = resolve::day_report(&home.store, account.id, date)?;
            if let Some(path) = &export {
                write(&day, path)?;
            }
            // A closed day prints its frozen bytes; an open one its latest run as it is now.
            match (&closed, json) {
                (Some(c), true) => println!("{}", c.report_json),
                (_, false) => print!("{}", day.frozen_text.clone().unwrap_or_else(|| day.to_text())),
                (None, true) => println!("{}", serde_json::to_string_pretty(&day)?),
            }
            if let Some(path) = &export
                && !json
            {
                println!("exported to {}", path.display());
            }
        }
    }
    Ok(())
}

fn write(day: &resolve::DayReport, path: &Path) -> anyhow::Result<()> {
    recon::export::write_day(day, path, Lang::En).with_context(|| format!("exporting to {}", path.display()))
}
