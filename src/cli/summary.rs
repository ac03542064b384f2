//! `tilldesk orders summary`: the 概览 figures on the command line. A store-direct till adds up its own orders; a
//! till enrolled with a merchant backend asks the backend, which adds up every till's orders as `--operator NAME`
//! may see them (an owner all stores, back office the till's store, a cashier their own orders). `--json` prints the
//! till API's shape either way, with `"source": "backend"` or `"till"`.

use anyhow::{Context as _, bail};
use tilldesk::channel::backend::dashboard::DashboardFigures;
use tilldesk::config::DataHome;
use tilldesk::dashboard::{Dashboard, Narrow, Period, Share, ShareKey, change_permille};
use tilldesk::recon::backend::{self as remote, RemoteError};
use tilldesk::store::order_query::OrderTotals;

use crate::cli::reconcile::parse_date;

pub struct SummaryArgs {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub store: Option<String>,
    pub json: bool,
}

fn period(args: &SummaryArgs) -> anyhow::Result<Period> {
    if let Some(from) = &args.from {
        let first = parse_date(from).context("--from")?;
        let last = args.to.as_deref().map(parse_date).transpose().context("--to")?.unwrap_or(first);
        return Ok(Period::Custom(first, last));
    }
    Ok(match args.period.as_deref().map(str::trim) {
        None | Some("today") => Period::Today,
        Some("yesterday") => Period::Yesterday,
        Some("7d") => Period::Last7Days,
        Some("month") => Period::ThisMonth,
        Some(other) => bail!("--period {other:?}: expected today, yesterday, 7d or month"),
    })
}

pub fn summary(home: &mut DataHome, operator: Option<&str>, args: &SummaryArgs) -> anyhow::Result<()> {
    let period = period(args)?;
    let now = time::OffsetDateTime::now_utc();
    let store = args.store.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let at_backend = crate::cli::reconcile_backend::enrolled(home)?;
    let (d, as_of) = if at_backend {
        let what = ("sales figures", "any operator; a cashier sees their own orders");
        let client = crate::cli::reconcile_backend::signed_in(home, operator, "tilldesk orders summary", what)?;
        let (d, as_of) = remote::block_on(tilldesk::dashboard::backend::figures(&client, period, now, store)).map_err(
            |e| match e {
                RemoteError::Unreachable(_) => {
                    anyhow::anyhow!("{e}; try again once it answers (`tilldesk backend status`)")
                }
                RemoteError::NotFound(_) => {
                    anyhow::anyhow!("the merchant backend has no store {:?}", store.unwrap_or(""))
                }
                RemoteError::NotYourStore => {
                    anyhow::anyhow!(
                        "--store {:?} is another store's: back office sees this till's store only",
                        store.unwrap_or("")
                    )
                }
                other => anyhow::Error::new(other),
            },
        )?;
        (d, as_of)
    } else {
        let narrow = match store {
            None => Narrow::default(),
            Some(code) => {
                let stores = home.store.setup().stores()?;
                let Some(s) = stores.iter().find(|s| s.store_code.eq_ignore_ascii_case(code)) else {
                    let known: Vec<&str> = stores.iter().map(|s| s.store_code.as_str()).collect();
                    bail!("--store {code:?}: this till has no such store (it has {})", known.join(", "));
                };
                Narrow { store: Some(s.id), operator: None }
            }
        };
        let d = tilldesk::dashboard::dashboard_of(&home.store, period, now, narrow)?;
        (d, tilldesk::time::format_utc(now))
    };
    if args.json {
        let figures = DashboardFigures::of(&d, as_of, store.map(str::to_owned));
        let mut value = serde_json::to_value(&figures)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("source".into(), if at_backend { "backend" } else { "till" }.into());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    print!("{}", text(&d, &as_of, at_backend));
    Ok(())
}

fn change(now: i64, before: i64) -> String {
    change_permille(now, before).map_or_else(
        || "—".to_owned(),
        |p| format!("{}{}.{}%", if p < 0 { "-" } else { "+" }, p.abs() / 10, p.abs() % 10),
    )
}

fn line(t: &OrderTotals) -> String {
    format!(
        "gross ¥{} · refunds ¥{} · net ¥{} · {} paid of {} orders",
        t.paid_amount,
        t.refunded_amount,
        t.net(),
        t.paid_count,
        t.count
    )
}

fn share_name(s: &Share) -> String {
    match s.key {
        ShareKey::Wallet(kind) => tilldesk::recon::acquirer_name(kind).to_owned(),
        ShareKey::Cashier(None) => "(nobody signed in)".to_owned(),
        _ => s.name.clone(),
    }
}

/// The figures as text (China days; amounts in yuan).
fn text(d: &Dashboard, as_of: &str, at_backend: bool) -> String {
    let (first, last) = d.days;
    let days = if first == last { first.to_string() } else { format!("{first} – {last}") };
    let whose = if at_backend { "added up at the merchant backend" } else { "this till's orders" };
    let mut out = format!("Sales {days} (China business days), {whose}, as of {} (China time)\n", {
        tilldesk::time::to_china_display(as_of)
    });
    out.push_str(&line(&d.totals));
    match d.average_ticket() {
        Some(avg) => out.push_str(&format!(" · average ticket ¥{avg}\n")),
        None => out.push('\n'),
    }
    let c = &d.compare;
    let before =
        if c.previous_days == 1 { "the day before".to_owned() } else { format!("{} days before", c.previous_days) };
    out.push_str(&format!(
        "{before}: gross ¥{} ({}); a week before: gross ¥{} ({})\n",
        c.previous.paid_amount,
        change(d.totals.paid_amount.fen(), c.previous.paid_amount.fen()),
        c.last_week.paid_amount,
        change(d.totals.paid_amount.fen(), c.last_week.paid_amount.fen()),
    ));
    for (heading, shares) in [("By store", &d.by_store), ("By cashier", &d.by_cashier), ("By wallet", &d.by_wallet)] {
        if shares.is_empty() {
            continue;
        }
        out.push_str(heading);
        out.push_str(":\n");
        for s in shares {
            out.push_str(&format!("  {}\t{}\n", share_name(s), line(&s.totals)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_read_from_the_flags() {
        let args = |period: Option<&str>, from: Option<&str>, to: Option<&str>| SummaryArgs {
            period: period.map(str::to_owned),
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
            store: None,
            json: false,
        };
        assert_eq!(period(&args(None, None, None)).unwrap(), Period::Today);
        assert_eq!(period(&args(Some("7d"), None, None)).unwrap(), Period::Last7Days);
        let day = time::macros::date!(2026 - 12 - 01);
        assert_eq!(period(&args(None, Some("2026-12-01"), None)).unwrap(), Period::Custom(day, day));
        let e = period(&args(Some("week"), None, None)).unwrap_err().to_string();
        assert!(e.contains("--period \"week\"") && e.contains("7d"), "{e}");
        let e = format!("{:#}", period(&args(None, Some("1 Dec"), None)).unwrap_err());
        assert!(e.contains("--from"), "{e}");
        assert_eq!(change(110, 100), "+10.0%");
        assert_eq!(change(5, 0), "—");
    }
}
