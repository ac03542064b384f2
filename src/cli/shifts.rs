//! `tilldesk shifts open|list|close|show|day-close|reopen-day`: shifts (交接班) and the day close (日结) headless.
//! The operator is `--operator NAME` with the PIN in `TILLDESK_PIN` (or asked on a terminal), as for refunds.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use tilldesk::channel::backend::api::{ShiftKind, ShiftQuery};
use tilldesk::config::DataHome;
use tilldesk::money::Amount;
use tilldesk::receipt::handover::{self, Slip};
use tilldesk::receipt::{Printed, ReceiptSettings, Width};
use tilldesk::shifts::{self, DaySummary, Figures, ShiftSummary};

#[derive(Debug, Subcommand)]
pub enum ShiftsCommand {
    /// Open --operator's shift at this till (signing in as a cashier anywhere else does it too). Says so when one
    /// is open already.
    Open {
        #[arg(long)]
        json: bool,
    },
    /// Shifts and day closes, newest first, with their figures.
    List {
        #[arg(long)]
        json: bool,
        /// The store number (S001…); default: every store.
        #[arg(long, value_name = "STORE")]
        store: Option<String>,
        /// Only shifts opened and days closed on this China day, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
    },
    /// Close --operator's open shift at this till (the handover) and show its summary.
    Close {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        out: SlipOut,
    },
    /// One shift's summary: frozen once closed (a reprint gives the same slip), running while open.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        out: SlipOut,
    },
    /// Close a store's day (日结) as --operator (owner or back office): closes its shifts still open, then freezes
    /// the day's figures. Refused for a day already closed (an owner reopens it with reopen-day).
    DayClose {
        /// The store number (S001…); default: this till's store.
        #[arg(long, value_name = "STORE")]
        store: Option<String>,
        /// The China business day, YYYY-MM-DD (default: today in China).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        out: SlipOut,
    },
    /// A day close's frozen summary (reprint).
    ShowDay {
        id: i64,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        out: SlipOut,
    },
    /// Every till's shifts and day closes as the merchant backend has them (a till enrolled with one), newest
    /// first: --operator an owner (every store), back office (this till's store) or a cashier (their own shifts),
    /// the PIN in TILLDESK_PIN checked there.
    Tills {
        #[arg(long)]
        json: bool,
        /// The store number (S001…).
        #[arg(long, value_name = "STORE")]
        store: Option<String>,
        /// Closed on or after this China day, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<String>,
        /// Closed on or before this China day, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<String>,
        /// Only shifts, or only day closes.
        #[arg(long, value_name = "shift|day")]
        kind: Option<String>,
    },
    /// Reopen a closed day as --operator (an owner), so that it can be closed again.
    ReopenDay {
        #[arg(long, value_name = "STORE")]
        store: Option<String>,
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
    },
}

/// Where a slip goes besides the screen.
#[derive(Debug, Args)]
pub struct SlipOut {
    /// Print the slip on the receipt printer (Settings → Receipts); with none configured, save a PDF in the data
    /// folder's slips/ and say where.
    #[arg(long)]
    print: bool,
    /// Write the figures as CSV (one row per wallet and the totals; UTF-8 with BOM for Excel).
    #[arg(long, value_name = "FILE.csv")]
    export: Option<PathBuf>,
    /// Paper width for --pdf and --escpos-out, 58 or 80 (default: the configured width).
    #[arg(long, value_name = "58|80")]
    width: Option<String>,
    /// Save the slip as a PDF.
    #[arg(long, value_name = "FILE")]
    pdf: Option<PathBuf>,
    /// Write the slip's ESC/POS bytes to FILE.
    #[arg(long, value_name = "FILE")]
    escpos_out: Option<PathBuf>,
}

fn sign_in(home: &mut DataHome, operator: Option<&str>, what: &str) -> anyhow::Result<tilldesk::model::Operator> {
    let Some(name) = operator else {
        bail!("{what} needs an operator: pass --operator NAME and the PIN in TILLDESK_PIN")
    };
    crate::cli::staff::sign_in(home, name)
}

/// On a till enrolled with a merchant backend, sends what was just closed at once (else the next sync pass does;
/// a backend that does not answer is said on stderr, nothing is lost).
fn send_reports(home: &mut DataHome) {
    let sent = (|| -> anyhow::Result<Option<usize>> {
        if tilldesk::routing::backend::link(&home.store)?.is_none() {
            return Ok(None);
        }
        let vault = crate::cli::keys::open_vault(home)?;
        let Some(client) = tilldesk::routing::backend::client(&home.store, &vault)? else { return Ok(None) };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(Some(runtime.block_on(tilldesk::sync::pull::push_shift_reports(&client, &mut home.store))?))
    })();
    match sent {
        Ok(Some(n)) if n > 0 => eprintln!("sent to the merchant backend"),
        Ok(_) => {}
        Err(e) => eprintln!("note: not sent to the merchant backend yet ({e:#}); the next sync sends it"),
    }
}

/// `shifts tills`: the backend's shift reports.
fn tills(home: &mut DataHome, operator: Option<&str>, q: ShiftQuery, json: bool) -> anyhow::Result<()> {
    if tilldesk::routing::backend::link(&home.store)?.is_none() {
        bail!("this till is not enrolled with a merchant backend: `tilldesk shifts list` lists its own shifts");
    }
    let client = crate::cli::reconcile_backend::signed_in(
        home,
        operator,
        "tilldesk shifts tills",
        ("shift reports", "owner: every store; back office: this store; a cashier: their own"),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let list = runtime.block_on(client.shift_reports(&q)).map_err(|e| match e.api() {
        Some(api) => anyhow::anyhow!("the merchant backend refused: {api}"),
        None => anyhow::anyhow!("the merchant backend cannot be reached: {e}"),
    })?;
    if json {
        return emit(&list);
    }
    for r in &list.reports {
        let what = match r.kind {
            ShiftKind::Shift => format!("shift {:>4}", r.id),
            ShiftKind::DayClose => format!("day {}", r.business_day.as_deref().unwrap_or("?")),
        };
        println!(
            "{what}  {} till #{} {:<10} {:<12} closed {}  paid {:>3} {:>10}  refunded {:>10}  net {:>10}",
            r.store_code,
            r.till_id,
            r.till_name,
            r.operator,
            tilldesk::time::to_china_display(&r.closed_at),
            r.figures.paid_count,
            r.figures.paid,
            r.figures.refunded,
            r.figures.net
        );
    }
    if list.reports.is_empty() {
        println!("no shift reports at the merchant backend");
    }
    Ok(())
}

fn store_id(home: &mut DataHome, code: Option<&str>) -> anyhow::Result<tilldesk::model::StoreId> {
    Ok(crate::cli::checkout::resolve_store(home, code)?.0)
}

fn day(date: Option<&str>) -> anyhow::Result<time::Date> {
    match date {
        Some(d) => Ok(shifts::parse_day(d)?),
        None => Ok(shifts::today()),
    }
}

fn yuan(fen: i64) -> String {
    format!("¥{}", Amount::from_fen(fen))
}

fn print_figures(f: &Figures) {
    println!("  {:<24} {:>6} {:>12} {:>7} {:>12} {:>12}", "wallet", "paid", "amount", "refunds", "refunded", "net");
    for w in f.wallets.iter().chain(std::iter::once(&f.total_line())) {
        let name = match w.kind() {
            Some(tilldesk::model::AcquirerKind::AlipayPlus) => format!("Alipay+ {}", w.name),
            Some(tilldesk::model::AcquirerKind::Alipay) => "Alipay".to_owned(),
            Some(tilldesk::model::AcquirerKind::WechatPay) => "WeChat Pay".to_owned(),
            None => "total".to_owned(),
        };
        println!(
            "  {:<24} {:>6} {:>12} {:>7} {:>12} {:>12}",
            name,
            w.paid_count,
            yuan(w.paid_fen),
            w.refund_count,
            yuan(w.refund_fen),
            yuan(w.net_fen)
        );
    }
}

fn print_shift(s: &ShiftSummary) {
    let state = if s.closed { "closed" } else { "open" };
    println!("shift {} ({state}) · {} at store {} till {}", s.shift_id, s.operator, s.store_code, s.terminal_id);
    println!(
        "opened {} · {} {}",
        tilldesk::time::to_china_display(&s.opened_at),
        if s.closed { "closed" } else { "as of" },
        tilldesk::time::to_china_display(&s.closed_at)
    );
    print_figures(&s.figures);
    for o in &s.open_orders {
        println!("  open order {} {} {}", o.out_trade_no, o.status, yuan(o.amount_fen));
    }
    if let Some(p) = &s.previous {
        if p.changes.is_empty() {
            println!("previous close: shift {} ({}), nothing changed since", p.shift_id, p.operator);
        } else {
            println!("previous close: shift {} ({}), changed since:", p.shift_id, p.operator);
            for c in &p.changes {
                println!("  {} {} {}: {} -> {}", c.wallet, c.name, c.field.as_str(), c.before, c.after);
            }
        }
    }
}

fn print_day(d: &DaySummary) {
    println!(
        "day close {} at store {} · closed {} by {}",
        d.business_day,
        d.store_code,
        tilldesk::time::to_china_display(&d.closed_at),
        d.closed_by
    );
    print_figures(&d.figures);
    for s in &d.shifts {
        println!("  shift {} {} net {}", s.shift_id, s.operator, yuan(s.net_fen));
    }
    println!("  no operator: {} paid, net {}", d.no_operator.paid_count, yuan(d.no_operator.net_fen));
    if !d.closed_shifts.is_empty() {
        println!("  closed at the day close: shifts {:?}", d.closed_shifts);
    }
}

/// Does what `out` asks with a slip and its figures.
fn deliver(home: &DataHome, out: &SlipOut, slip: Slip<'_>, figures: &Figures, name: &str) -> anyhow::Result<()> {
    let width = match &out.width {
        Some(w) => Width::parse(w)?,
        None => ReceiptSettings::load(&home.store)?.width,
    };
    if let Some(path) = &out.escpos_out {
        let bytes = match slip {
            Slip::Shift(s) => handover::shift_escpos(s, width),
            Slip::Day(d) => handover::day_escpos(d, width),
        };
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("ESC/POS written to {}", path.display());
    }
    if let Some(path) = &out.pdf {
        let bytes = match slip {
            Slip::Shift(s) => handover::shift_pdf(s, width)?,
            Slip::Day(d) => handover::day_pdf(d, width)?,
        };
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("PDF written to {}", path.display());
    }
    if out.print {
        let fallback = home.dir.join("slips").join(format!("{name}.pdf"));
        match handover::print_slip(&home.store, slip, &fallback)? {
            Printed::Printer(p) => eprintln!("printed on {p}"),
            Printed::Pdf(p) => eprintln!("no receipt printer configured: saved {}", p.display()),
        }
    }
    if let Some(path) = &out.export {
        shifts::export::write_csv(figures, path).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("CSV written to {}", path.display());
    }
    Ok(())
}

fn emit<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[derive(Serialize)]
struct OpenedJson {
    shift_id: i64,
    operator: String,
    opened_at: String,
    created: bool,
}

#[derive(Serialize)]
struct ListJson {
    shifts: Vec<shifts::ShiftLine>,
    day_closes: Vec<shifts::DayLine>,
}

#[derive(Serialize)]
struct DayJson<'a> {
    id: i64,
    #[serde(flatten)]
    summary: &'a DaySummary,
}

pub fn run(home: &mut DataHome, operator: Option<&str>, command: ShiftsCommand) -> anyhow::Result<()> {
    let now = tilldesk::time::now_utc();
    match command {
        ShiftsCommand::Open { json } => {
            let op = sign_in(home, operator, "tilldesk shifts open")?;
            let till = tilldesk::config::this_till(&mut home.store)?;
            let opened = shifts::open(&mut home.store, &till, &op, &now)?;
            if json {
                return emit(&OpenedJson {
                    shift_id: opened.shift_id,
                    operator: op.name,
                    opened_at: opened.opened_at,
                    created: opened.created,
                });
            }
            let at = tilldesk::time::to_china_display(&opened.opened_at);
            if opened.created {
                println!("shift {} opened for {} at {at}", opened.shift_id, op.name);
            } else {
                println!("shift {} of {} is already open (since {at})", opened.shift_id, op.name);
            }
            Ok(())
        }
        ShiftsCommand::List { json, store, date } => {
            let store_id = match store.as_deref() {
                Some(code) => Some(store_id(home, Some(code))?),
                None => None,
            };
            let day = date.as_deref().map(shifts::parse_day).transpose()?;
            let list = shifts::list(&home.store, store_id, day, &now)?;
            let days = shifts::list_days(&home.store, store_id, day)?;
            if json {
                return emit(&ListJson { shifts: list, day_closes: days });
            }
            for s in &list {
                let closed = s.closed_at.as_deref().map_or("open".to_owned(), tilldesk::time::to_china_display);
                println!(
                    "shift {:>4}  {:<12} {} till {:<8} {} → {:<19}  paid {:>3} {:>10}  net {:>10}",
                    s.id,
                    s.operator,
                    s.store_code,
                    s.terminal_id,
                    tilldesk::time::to_china_display(&s.opened_at),
                    closed,
                    s.figures.paid_count,
                    yuan(s.figures.paid_fen),
                    yuan(s.figures.net_fen)
                );
            }
            for d in &days {
                let reopened = if d.reopened_at.is_some() { " (reopened)" } else { "" };
                println!(
                    "day close {:>3}  {} {}{reopened}  paid {:>3} {:>10}  net {:>10}",
                    d.id,
                    d.store_code,
                    d.business_day,
                    d.figures.paid_count,
                    yuan(d.figures.paid_fen),
                    yuan(d.figures.net_fen)
                );
            }
            if list.is_empty() && days.is_empty() {
                println!("no shifts");
            }
            Ok(())
        }
        ShiftsCommand::Tills { json, store, from, to, kind } => {
            let kind = match kind.as_deref() {
                None => None,
                Some("shift" | "shifts") => Some(ShiftKind::Shift),
                Some("day" | "day_close" | "days") => Some(ShiftKind::DayClose),
                Some(other) => bail!("--kind {other:?}: expected shift or day"),
            };
            for (field, d) in [("from", &from), ("to", &to)] {
                if let Some(d) = d {
                    shifts::parse_day(d).with_context(|| format!("--{field}"))?;
                }
            }
            let q = ShiftQuery { store, kind, from, to, after: None, limit: Some(200) };
            tills(home, operator, q, json)
        }
        ShiftsCommand::Close { json, out } => {
            let op = sign_in(home, operator, "tilldesk shifts close")?;
            let till = tilldesk::config::this_till(&mut home.store)?;
            let summary = shifts::close_mine(&mut home.store, &till, &op, &now)?;
            if json {
                emit(&summary)?
            } else {
                print_shift(&summary)
            }
            send_reports(home);
            deliver(home, &out, Slip::Shift(&summary), &summary.figures, &format!("shift-{}", summary.shift_id))
        }
        ShiftsCommand::Show { id, json, out } => {
            let summary = shifts::summary_of(&home.store, id, &now)?;
            if json {
                emit(&summary)?
            } else {
                print_shift(&summary)
            }
            deliver(home, &out, Slip::Shift(&summary), &summary.figures, &format!("shift-{id}"))
        }
        ShiftsCommand::DayClose { store, date, json, out } => {
            let op = match operator {
                Some(name) => Some(crate::cli::staff::sign_in(home, name)?),
                None if home.store.staff().has_owner()? => {
                    bail!(
                        "the day close needs an operator: pass --operator NAME (owner or back office) and the PIN in TILLDESK_PIN"
                    )
                }
                None => None,
            };
            let store_id = store_id(home, store.as_deref())?;
            let day = day(date.as_deref())?;
            let plan = shifts::day_plan(&home.store, store_id, day, &now)?;
            if plan.closed.is_none() {
                for s in &plan.open_shifts {
                    eprintln!("note: shift {} of {} is still open: closing it first", s.id, s.operator);
                }
            }
            let (id, summary) = shifts::close_day(&mut home.store, store_id, day, op.as_ref(), &now)?;
            if json {
                emit(&DayJson { id, summary: &summary })?
            } else {
                print_day(&summary)
            }
            send_reports(home);
            let name = format!("day-{}-{}", summary.store_code, summary.business_day);
            deliver(home, &out, Slip::Day(&summary), &summary.figures, &name)
        }
        ShiftsCommand::ShowDay { id, json, out } => {
            let summary = shifts::day_summary(&home.store, id)?;
            if json {
                emit(&DayJson { id, summary: &summary })?
            } else {
                print_day(&summary)
            }
            let name = format!("day-{}-{}", summary.store_code, summary.business_day);
            deliver(home, &out, Slip::Day(&summary), &summary.figures, &name)
        }
        ShiftsCommand::ReopenDay { store, date } => {
            let op = sign_in(home, operator, "tilldesk shifts reopen-day")?;
            let store_id = store_id(home, store.as_deref())?;
            let day = shifts::parse_day(&date)?;
            shifts::reopen_day(&mut home.store, store_id, day, &op, &now)?;
            println!("{date} reopened: it can be closed again");
            Ok(())
        }
    }
}

/// What `tilldesk pay --operator NAME` does before the payment: signs them in and, for a cashier, opens their shift
/// when none is open (what signing in at the window does).
pub fn sign_in_for_payment(home: &mut DataHome, name: &str) -> anyhow::Result<tilldesk::model::OperatorId> {
    let op = crate::cli::staff::sign_in(home, name)?;
    let till = tilldesk::config::this_till(&mut home.store)?;
    if let Some(opened) = shifts::on_sign_in(&mut home.store, &till, &op, &tilldesk::time::now_utc())?
        && opened.created
    {
        eprintln!("shift {} opened for {}", opened.shift_id, op.name);
    }
    Ok(op.id)
}
