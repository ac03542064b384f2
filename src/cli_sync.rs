//! `tilldesk sync`: the background sync headless — one pass (`--once`), the history (`--history`), or the worker
//! and the notify listener running until killed.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tilldesk::config::DataHome;
use tilldesk::store::sync::SyncRun;
use tilldesk::sync::{SyncSettings, notify};

use crate::cli_checkout::SandboxTarget;

pub struct SyncArgs {
    pub once: bool,
    pub history: bool,
    pub json: bool,
    pub notify_listen: Option<SocketAddr>,
}

fn print_run(run: &SyncRun, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(run)?);
        return Ok(());
    }
    let when = tilldesk::time::to_local_display(run.finished_at.as_deref().unwrap_or(&run.started_at));
    let state = if run.online { "online" } else { "offline" };
    println!("#{} {when} {state} ({}): {}", run.id, run.trigger, run.summary);
    for e in &run.errors {
        println!("  error: {e}");
    }
    Ok(())
}

pub fn sync(
    rt: &tokio::runtime::Runtime,
    home: DataHome,
    args: SyncArgs,
    target: &SandboxTarget,
) -> anyhow::Result<()> {
    if args.history {
        let runs = home.store.recent_sync_runs(20)?;
        if args.json {
            let outbox = home.store.outbox_entries(50)?;
            let notifications = home.store.recent_notifications(50)?;
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({ "runs": runs, "outbox": outbox, "notifications": notifications })
                )?
            );
            return Ok(());
        }
        println!("outbox: {} waiting", home.store.outbox_len()?);
        match home.store.last_successful_sync()? {
            Some(t) => println!("last successful sync: {}", tilldesk::time::to_local_display(&t)),
            None => println!("last successful sync: never"),
        }
        for run in &runs {
            print_run(run, false)?;
        }
        return Ok(());
    }
    let settings = SyncSettings::load(&home.store)?;
    let listen = match args.notify_listen {
        Some(a) => a,
        None => notify::listen_addr(&home.store).map_err(anyhow::Error::msg)?,
    };
    let dir = home.dir.clone();
    drop(home);
    rt.block_on(async {
        let (accounts, url, _embedded) = match (&target.sandbox_url, &target.sandbox_data) {
            (Some(url), Some(data)) => (crate::cli_checkout::read_accounts(data)?, url.clone(), None),
            _ => {
                let running = tilldesk::sandbox::start(&dir.join("sandbox"), "127.0.0.1:0".parse()?, false).await?;
                (running.state.accounts(), running.base_url(), Some(running))
            }
        };
        if args.once {
            let worker = tilldesk::sync::sandbox_worker(&dir, &accounts, &url, settings).map_err(anyhow::Error::msg)?;
            let run = worker.run_once("cli").await?;
            print_run(&run, args.json)?;
            return Ok(());
        }
        let worker =
            Arc::new(tilldesk::sync::sandbox_worker(&dir, &accounts, &url, settings).map_err(anyhow::Error::msg)?);
        let keys = notify::NotifyKeys::for_sandbox(&accounts).map_err(anyhow::Error::msg)?;
        let listener = notify::listen(listen, &dir.join(tilldesk::config::DATABASE_FILE), keys).await?;
        let app_id = accounts.merchants.first().map(|m| m.alipay.app_id.clone()).unwrap_or_default();
        notify::register_with_sandbox(&reqwest::Client::new(), &url, &app_id, &listener.url())
            .await
            .map_err(anyhow::Error::msg)
            .context("registering the notify address")?;
        println!("notifications: listening on {}", listener.url());
        loop {
            let run = worker.run_once("timer").await?;
            print_run(&run, args.json)?;
            let wait = if run.online { worker.settings.interval } else { worker.settings.offline_interval };
            tokio::time::sleep(wait).await;
        }
    })
}
