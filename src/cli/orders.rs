//! `tilldesk orders list`, `tilldesk refund`, `tilldesk operators add` and `tilldesk dev seed-orders`.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context as _, bail};
use tilldesk::checkout::SystemClock;
use tilldesk::config::DataHome;
use tilldesk::i18n::Lang;
use tilldesk::model::{OrderStatus, RefundStatus, Role};
use tilldesk::money::Amount;
use tilldesk::refund::{RefundDesk, RefundSettings};
use tilldesk::store::Store;
use tilldesk::store::operators::Permission;
use tilldesk::store::order_query::{OrderFilter, OrderSort};

use crate::cli::checkout::{SandboxTarget, engine};

/// A local calendar day "YYYY-MM-DD".
fn parse_day(flag: &str, text: &str) -> anyhow::Result<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format).with_context(|| format!("{flag} {text:?}: expected a date like 2026-11-25"))
}

pub struct ListArgs {
    pub from: Option<String>,
    pub to: Option<String>,
    pub status: Option<String>,
    pub json: bool,
    pub csv: bool,
    pub out: Option<std::path::PathBuf>,
}

/// The filter the CLI flags describe: `--from` and `--to` are China business days, both inclusive (the window's
/// presets and the acquirers' bills cut days the same way).
pub fn filter_from_flags(args: &ListArgs) -> anyhow::Result<OrderFilter> {
    let offset = tilldesk::time::CHINA;
    let mut filter = OrderFilter::default();
    if let Some(from) = &args.from {
        filter.from = Some(tilldesk::time::local_day_bounds(parse_day("--from", from)?, offset).0);
    }
    if let Some(to) = &args.to {
        filter.to = Some(tilldesk::time::local_day_bounds(parse_day("--to", to)?, offset).1);
    }
    if let Some(status) = &args.status {
        for s in status.split(',') {
            let parsed = OrderStatus::parse(&s.trim().to_ascii_uppercase()).with_context(|| {
                let all: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
                format!("--status {s:?}: expected one of {}", all.join(", "))
            })?;
            filter.statuses.push(parsed);
        }
    }
    Ok(filter)
}

pub fn list(home: &DataHome, args: ListArgs) -> anyhow::Result<()> {
    let filter = filter_from_flags(&args)?;
    let store = &home.store;
    let totals = store.orders().order_totals(&filter)?;
    if let Some(path) = &args.out {
        let n = tilldesk::export::export_orders(
            store,
            &filter,
            OrderSort::NewestFirst,
            path,
            Lang::En,
            &mut progress_line("orders"),
            &AtomicBool::new(false),
        )?;
        eprintln!();
        println!("wrote {n} orders to {}", path.display());
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    if args.csv {
        tilldesk::export::write_orders_csv(store, &filter, OrderSort::NewestFirst, Lang::En, out)?;
        return Ok(());
    }
    let mut json_rows = Vec::new();
    // The JSON names each order's store (its number) and acquirer (its onboarding id, else its name).
    let store_codes: std::collections::HashMap<i64, String> =
        store.setup().stores()?.into_iter().map(|s| (s.id.0, s.store_code)).collect();
    let mut acquirer_names: std::collections::HashMap<i64, String> =
        store.setup().acquirers()?.into_iter().map(|a| (a.id.0, a.name)).collect();
    for a in store.setup().onboarding_acquirers()? {
        acquirer_names.insert(a.acquirer.id.0, a.onboarding_code);
    }
    let mut key = None;
    loop {
        let (page, next) = store.orders().orders_page(&filter, OrderSort::NewestFirst, key.as_ref(), 1000)?;
        if page.is_empty() {
            break;
        }
        for o in page {
            if args.json {
                let mut row = serde_json::to_value(&o)?;
                row["store"] = store_codes.get(&o.store_id.0).cloned().into();
                row["acquirer"] = acquirer_names.get(&o.acquirer_id.0).cloned().into();
                json_rows.push(row);
            } else {
                writeln!(
                    out,
                    "{}  {:<34} {:>12} {:<20} {}",
                    tilldesk::time::to_china_display(&o.created_at),
                    o.out_trade_no,
                    o.total_amount.to_string(),
                    o.status.as_str(),
                    o.subject
                )?;
            }
        }
        key = next;
    }
    if args.json {
        let v = serde_json::json!({ "totals": totals, "orders": json_rows });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(
            out,
            "{} orders; paid {} ({}), refunded {}, net {}",
            totals.count,
            totals.paid_amount,
            totals.paid_count,
            totals.refunded_amount,
            totals.net()
        )?;
    }
    Ok(())
}

/// Progress on stderr: "orders 12000 / 1000000", rewritten in place.
fn progress_line(what: &'static str) -> impl FnMut(u64, u64) {
    move |done, total| eprint!("\r{what} {done} / {total}")
}

/// `tilldesk orders refunds --out FILE`: the refunds list, as on the Refunds screen, to CSV or XLSX.
pub fn export_refunds(home: &DataHome, status: Option<&str>, out: &std::path::Path) -> anyhow::Result<()> {
    let status = match status {
        None => None,
        Some(s) => Some(RefundStatus::parse(&s.trim().to_ascii_uppercase()).with_context(|| {
            let all: Vec<&str> = RefundStatus::ALL.iter().map(|s| s.as_str()).collect();
            format!("--status {s:?}: expected one of {}", all.join(", "))
        })?),
    };
    let filter = tilldesk::store::refunds::RefundFilter { status, ..Default::default() };
    let n = tilldesk::export::export_refunds(
        &home.store,
        &filter,
        out,
        Lang::En,
        &mut progress_line("refunds"),
        &AtomicBool::new(false),
    )?;
    eprintln!();
    println!("wrote {n} refunds to {}", out.display());
    Ok(())
}

pub struct RefundArgs {
    pub out_trade_no: String,
    pub amount: String,
    pub reason: String,
    pub operator: String,
    pub json: bool,
}

pub fn refund(
    rt: &tokio::runtime::Runtime,
    mut home: DataHome,
    args: RefundArgs,
    target: &SandboxTarget,
) -> anyhow::Result<()> {
    let amount = Amount::parse(&args.amount).context("--amount")?;
    let operator = crate::cli::staff::sign_in(&mut home, &args.operator)?;
    let _money_path = crate::cli::checkout::claim_money_path(&home, "refund")?;
    rt.block_on(async {
        let (engine, _sandbox) = engine(&home, target).await?;
        let desk = RefundDesk::new(
            Store::open(home.store.path())?,
            engine.router(),
            Arc::new(SystemClock),
            RefundSettings::default(),
        );
        let refund = desk.refund(&operator, &args.out_trade_no, amount, &args.reason).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&refund)?);
        } else {
            println!("{} {} {}", refund.out_request_no, refund.refund_amount, refund.status.as_str());
        }
        Ok(())
    })
}

pub fn add_operator(home: &mut DataHome, name: &str, role: &str, by: Option<String>) -> anyhow::Result<()> {
    let role = Role::parse(role).with_context(|| format!("--role {role:?}: expected owner, back_office or cashier"))?;
    if tilldesk::routing::backend::link(&home.store)?.is_some() {
        return crate::cli::staff::add_operator_at_backend(home, name, role, by.as_deref());
    }
    let what = format!("tilldesk operators add {name}");
    let by_operator = crate::cli::staff::authorize(home, by.as_deref(), Permission::ManageStaff, &what)?;
    if by_operator.is_none() && role != Role::Owner {
        bail!("the first operator must be the owner (--role owner)");
    }
    let pin = std::env::var("TILLDESK_NEW_PIN").context("set TILLDESK_NEW_PIN to the new operator's PIN")?;
    let op = home.store.staff_mut().add_operator(name, role, &pin, by_operator.map(|o| o.id))?;
    println!("added {} ({})", op.name, op.role.as_str());
    Ok(())
}

/// `tilldesk operators set-pin NAME`: NAME themselves, or an owner, gives NAME a new PIN.
pub fn set_pin(home: &mut DataHome, name: &str, operator: Option<&str>) -> anyhow::Result<()> {
    if tilldesk::routing::backend::link(&home.store)?.is_some() {
        return crate::cli::staff::set_pin_at_backend(home, name, operator);
    }
    let target = home.store.staff().operator_by_name(name)?.filter(|o| o.active);
    let what = format!("tilldesk operators set-pin {name}");
    let by = match operator {
        Some(me) if me.trim() == name.trim() => Some(crate::cli::staff::sign_in(home, me)?),
        _ => crate::cli::staff::authorize(home, operator, Permission::ManageStaff, &what)?,
    };
    let Some(target) = target else { bail!("there is no active operator called {name:?}") };
    let pin = std::env::var("TILLDESK_NEW_PIN").context("set TILLDESK_NEW_PIN to the new PIN")?;
    home.store.staff_mut().change_pin(target.id, &pin, by.map(|o| o.id))?;
    println!("changed the PIN of {}", target.name);
    Ok(())
}

pub fn seed_orders(home: &mut DataHome, count: u64, days: i64, seed: Option<u64>) -> anyhow::Result<()> {
    let seed = match seed {
        Some(seed) if seed > 9_999 => bail!("--seed takes 0 to 9999 (it is part of the order numbers), not {seed}"),
        Some(seed) => seed,
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() % 10_000),
    };
    let started = std::time::Instant::now();
    home.store.orders_mut().seed_varied_orders(count, days, seed, &mut |n| {
        if n % 100_000 == 0 && n > 0 {
            eprintln!("{n} orders…");
        }
    })?;
    println!("seeded {count} orders in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
