//! `tilldesk backend`: this till and a merchant backend — `join URL --code CODE` (enrol; the token goes to the key
//! vault, unlocked with TILLDESK_PASSPHRASE), `status`, `leave`. Also the router of an enrolled till, which every
//! verb that moves money uses (see `checkout::router`).

use anyhow::Context as _;
use tilldesk::config::DataHome;
use tilldesk::routing::backend::{self as link, LinkError};

#[derive(Debug, clap::Subcommand)]
pub enum BackendCommand {
    /// Enrol this till with a merchant backend using the one-time code `tilldesk serve add-till` printed there.
    /// The till then takes payments through the backend and holds no acquirer keys. Needs TILLDESK_PASSPHRASE (the
    /// key vault keeps the till's token).
    Join {
        /// The backend's URL, like https://pay.example.com or http://192.168.1.10:8080.
        url: String,
        #[arg(long)]
        code: String,
    },
    /// Where this till stands: the backend, its till number and name, and whether the backend answers.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Leave the backend: the token is wiped and the till goes back to store-direct access (its orders stay).
    Leave,
}

impl BackendCommand {
    /// What the command changes, for the staff check (None: it only reads).
    pub fn changes(&self) -> Option<&'static str> {
        match self {
            BackendCommand::Join { .. } => Some("tilldesk backend join"),
            BackendCommand::Leave => Some("tilldesk backend leave"),
            BackendCommand::Status { .. } => None,
        }
    }
}

/// The router of a till enrolled with a merchant backend (None when it is not): every acquirer account's channel
/// goes through the backend.
pub fn router(home: &DataHome) -> anyhow::Result<Option<tilldesk::routing::Router>> {
    if link::link(&home.store)?.is_none() {
        return Ok(None);
    }
    let vault = crate::cli::keys::open_vault(home).context("this till takes payments through its merchant backend")?;
    Ok(link::router(&home.store, &vault)?)
}

#[derive(serde::Serialize)]
struct Status<'a> {
    #[serde(flatten)]
    link: &'a link::Link,
    store: String,
    mode: String,
    /// "ok", the backend's error kind, or why it was not asked.
    contact: String,
    /// Orders taken before joining still to be sent up as the till's history (the sync sends them).
    history_unsent: i64,
    /// Orders taken before joining that the backend did not record (waiting for a person, no account of their
    /// wallet, malformed): kept at this till only.
    history_kept: i64,
}

/// Sends the orders taken here before joining up to the backend, and says what became of them (the sync worker
/// sends what could not go now).
fn send_history(rt: &tokio::runtime::Runtime, home: &mut DataHome, vault: &tilldesk::secrets::Vault) {
    use tilldesk::routing::history;
    let unsent = history::unsent(&home.store).unwrap_or(0);
    if unsent == 0 {
        return;
    }
    let client = match link::client(&home.store, vault) {
        Ok(Some(client)) => client,
        Ok(None) => return,
        Err(e) => {
            eprintln!("the {unsent} order(s) taken here before joining were not sent to the backend yet ({e})");
            return;
        }
    };
    match rt.block_on(history::send(&mut home.store, &client)) {
        Ok(sent) => {
            let kept = sent.kept();
            println!(
                "sent the {unsent} order(s) taken here before joining to the merchant backend as this till's history: {} \
                 recorded, {} already there{}{}; a refund of one goes through the backend when one of its accounts \
                 holds the payment, else it is made in the acquirer's merchant portal",
                sent.recorded,
                sent.known,
                if sent.held > 0 {
                    format!(
                        ", {} the backend took itself (before this till left it; refunded through it as before)",
                        sent.held
                    )
                } else {
                    String::new()
                },
                if kept > 0 {
                    format!(
                        ", {kept} kept here only ({} waiting for a person, {} of a wallet the backend has no account \
                         for, {} refused as malformed)",
                        sent.not_settled,
                        sent.no_account,
                        sent.invalid.len()
                    )
                } else {
                    String::new()
                }
            );
            for (out_trade_no, detail) in &sent.invalid {
                eprintln!("  refused by the backend: {out_trade_no}: {detail}");
            }
        }
        Err(e) => eprintln!(
            "the {unsent} order(s) taken here before joining were not sent to the backend yet ({e}); the sync sends \
             them later"
        ),
    }
}

pub fn run(
    rt: &tokio::runtime::Runtime,
    home: &mut DataHome,
    operator: Option<tilldesk::model::OperatorId>,
    command: BackendCommand,
) -> anyhow::Result<()> {
    match command {
        BackendCommand::Join { url, code } => {
            let mut vault = crate::cli::keys::open_vault(home)?;
            let db = home.store.path().to_owned();
            let joined = rt.block_on(link::join(&db, &mut vault, &url, &code, operator))?;
            println!(
                "joined {} as till #{} \"{}\" of store {} ({} mode): payments go through the merchant backend",
                joined.link.url, joined.link.till_id, joined.link.till_name, joined.store_code, joined.mode
            );
            send_history(rt, home, &vault);
            Ok(())
        }
        BackendCommand::Status { json } => {
            let Some(l) = link::link(&home.store)? else {
                if json {
                    println!("null");
                } else {
                    println!("not enrolled with a merchant backend (access mode: store-direct or forwarding)");
                }
                return Ok(());
            };
            let contact = match crate::cli::keys::open_vault(home) {
                Err(_) => "not asked (set TILLDESK_PASSPHRASE to check the contact)".to_owned(),
                Ok(vault) => match link::client(&home.store, &vault) {
                    Ok(Some(client)) => match rt.block_on(client.till()) {
                        Ok(_) => "ok".to_owned(),
                        Err(e) => e.api().map_or_else(|| e.to_string(), |api| api.kind()),
                    },
                    Ok(None) => "not enrolled".to_owned(),
                    Err(LinkError::NoToken { .. }) => "no token in the key vault: join again".to_owned(),
                    Err(e) => e.to_string(),
                },
            };
            let till = tilldesk::config::this_till(&mut home.store)?;
            let mode = tilldesk::config::channel_mode(&home.store)?.to_string();
            let history_unsent = tilldesk::routing::history::unsent(&home.store)?;
            let history_kept = home.store.orders().history_kept()?;
            let status = Status { link: &l, store: till.store_code, mode, contact, history_unsent, history_kept };
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                println!("merchant backend: {}", status.link.url);
                println!("till: #{} \"{}\" of store {}", status.link.till_id, status.link.till_name, status.store);
                println!("mode: {}", status.mode);
                println!("contact: {}", status.contact);
                if history_unsent > 0 {
                    println!("orders from before joining not sent up yet: {history_unsent} (the sync sends them)");
                }
                if history_kept > 0 {
                    println!(
                        "orders from before joining kept at this till only: {history_kept} (the backend did not record \
                         them; `tilldesk orders list` has them)"
                    );
                }
            }
            Ok(())
        }
        BackendCommand::Leave => {
            let mut vault = crate::cli::keys::open_vault(home)?;
            link::leave(&mut home.store, &mut vault, operator)?;
            println!("left the merchant backend: access mode store-direct");
            Ok(())
        }
    }
}
