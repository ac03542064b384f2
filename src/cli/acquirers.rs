//! `tilldesk acquirers` (the routing table: which acquirer takes which wallet's codes at which store) and
//! `tilldesk till` (this till's store and terminal id).

use anyhow::{Context as _, bail};
use clap::Subcommand;
use tilldesk::config::DataHome;
use tilldesk::model::{Route, RouteSource, Wallet};

#[derive(Debug, Subcommand)]
pub enum AcquirersCommand {
    /// Every route: store number, wallet, acquirer, merchant id at the acquirer, onboarding status.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Choose the acquirer that takes a wallet's codes at a store (when two could, or for a direct contract).
    Route {
        /// The store number (S001…).
        #[arg(long)]
        store: String,
        /// alipay or wechat.
        #[arg(long)]
        wallet: String,
        /// The acquirer's onboarding id (ALIPAY, WECHATPAY, PARTNER1…) or alipay / wechat.
        #[arg(long)]
        acquirer: String,
        /// The store's merchant id at that acquirer. Default: the one its onboarding returned; none for a direct
        /// contract.
        #[arg(long)]
        merchant_id: Option<String>,
    },
    /// Stop taking a wallet's codes at a store.
    Unroute {
        #[arg(long)]
        store: String,
        #[arg(long)]
        wallet: String,
    },
}

impl AcquirersCommand {
    /// The subcommand's name, for the record of a published catalogue.
    pub fn name(&self) -> &'static str {
        match self {
            AcquirersCommand::List { .. } => "list",
            AcquirersCommand::Route { .. } => "route",
            AcquirersCommand::Unroute { .. } => "unroute",
        }
    }
}

fn parse_wallet(text: &str) -> anyhow::Result<Wallet> {
    match text.trim().to_ascii_lowercase().as_str() {
        "alipay" => Ok(Wallet::Alipay),
        "wechat" | "wechatpay" => Ok(Wallet::WechatPay),
        other => bail!("--wallet {other:?} is not a wallet; use alipay or wechat"),
    }
}

fn store_by_code(home: &DataHome, code: &str) -> anyhow::Result<tilldesk::model::Store> {
    match home.store.setup().store_by_code(code.trim())? {
        Some(s) => Ok(s),
        None => {
            let known: Vec<String> = home.store.setup().stores()?.into_iter().map(|s| s.store_code).collect();
            bail!("there is no store {:?}; the stores are: {}", code.trim(), known.join(", "))
        }
    }
}

pub fn acquirers(home: &mut DataHome, command: AcquirersCommand) -> anyhow::Result<()> {
    // A till on the sandbox has its acquirers (and the demo store's routes) before anything else.
    if tilldesk::config::channel_mode(&home.store)? == tilldesk::model::ChannelMode::Sandbox {
        tilldesk::sandbox::till::prepare(&mut home.store)?;
    }
    match command {
        AcquirersCommand::List { json } => {
            let routes = home.store.setup().route_views()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&routes)?);
                return Ok(());
            }
            if routes.is_empty() {
                println!(
                    "no routes: onboard a store with an acquirer (tilldesk onboard) or add one with `tilldesk acquirers route`"
                );
            }
            println!(
                "{:<8} {:<10} {:<12} {:<22} {:<22} source",
                "store", "wallet", "acquirer", "merchant id", "status"
            );
            for r in routes {
                println!(
                    "{:<8} {:<10} {:<12} {:<22} {:<22} {}",
                    r.store_code,
                    r.wallet.as_str(),
                    r.acquirer,
                    r.merchant_id.as_deref().unwrap_or("-"),
                    r.status,
                    r.source
                );
            }
            Ok(())
        }
        AcquirersCommand::Route { store, wallet, acquirer, merchant_id } => {
            let wallet = parse_wallet(&wallet)?;
            let s = store_by_code(home, &store)?;
            let account = crate::cli::reconcile::resolve_acquirer(&home.store, &acquirer)?;
            if account.kind.protocol() != wallet.protocol() {
                bail!(
                    "{} speaks the {} protocol, so it cannot take {} codes",
                    account.name,
                    account.kind.protocol(),
                    wallet.label(tilldesk::i18n::Lang::En)
                );
            }
            let binding = home.store.setup().binding(s.id, account.id)?;
            let (merchant_id, source) = match (merchant_id, binding) {
                (Some(m), _) => (Some(m.trim().to_owned()).filter(|m| !m.is_empty()), RouteSource::Direct),
                (None, Some(b)) if b.status == tilldesk::model::BindingStatus::Active => {
                    (b.merchant_id_at_acquirer, RouteSource::Chosen)
                }
                (None, Some(b)) => bail!(
                    "{} is not active at {} yet ({}): finish its onboarding first, or give --merchant-id for a \
                     direct contract",
                    s.store_code,
                    account.name,
                    b.status
                ),
                (None, None) => (None, RouteSource::Direct),
            };
            let route = Route { store_id: s.id, wallet, acquirer_id: account.id, merchant_id, source };
            home.store.setup_mut().set_route(&route, None).context("saving the route")?;
            println!(
                "{} takes {} codes through {}{}",
                s.store_code,
                wallet.label(tilldesk::i18n::Lang::En),
                account.name,
                route.merchant_id.as_deref().map(|m| format!(" as merchant {m}")).unwrap_or_default()
            );
            Ok(())
        }
        AcquirersCommand::Unroute { store, wallet } => {
            let wallet = parse_wallet(&wallet)?;
            let s = store_by_code(home, &store)?;
            if home.store.setup_mut().remove_route(s.id, wallet, None)? {
                println!("{} no longer takes {} codes", s.store_code, wallet.label(tilldesk::i18n::Lang::En));
            } else {
                println!("{} had no route for {} codes", s.store_code, wallet.label(tilldesk::i18n::Lang::En));
            }
            Ok(())
        }
    }
}

/// `tilldesk till`: shows this till's store and terminal id, or sets them.
pub fn till(home: &mut DataHome, store: Option<String>, terminal: Option<String>, json: bool) -> anyhow::Result<()> {
    let current = tilldesk::config::this_till(&mut home.store)?;
    let till = if store.is_some() || terminal.is_some() {
        let store = store.unwrap_or_else(|| current.store_code.clone());
        let terminal = terminal.unwrap_or_else(|| current.terminal_id.clone().unwrap_or_default());
        tilldesk::config::set_this_till(&mut home.store, &store, &terminal, None)?
    } else {
        current
    };
    if json {
        let value = serde_json::json!({ "store": till.store_code, "terminal_id": till.terminal_id });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("store: {}", till.store_code);
        println!("terminal: {}", till.terminal_id.as_deref().unwrap_or("-"));
    }
    Ok(())
}
