//! `tilldesk sync`: the background sync headless — one pass (`--once`), the history (`--history`), or the worker
//! and the notify listener running until killed.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tilldesk::config::DataHome;
use tilldesk::store::sync::SyncRun;
use tilldesk::sync::SyncSettings;

use crate::cli::checkout::SandboxTarget;

pub struct SyncArgs {
    pub once: bool,
    pub history: bool,
    pub json: bool,
    pub notify_listen: Option<SocketAddr>,
    /// Let the notify listener bind a non-loopback address.
    pub notify_allow_remote: bool,
}

fn print_run(run: &SyncRun, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(run)?);
        return Ok(());
    }
    let when = tilldesk::time::to_china_display(run.finished_at.as_deref().unwrap_or(&run.started_at));
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
        let runs = home.store.sync().recent_sync_runs(20)?;
        if args.json {
            let outbox = home.store.sync().outbox_entries(50)?;
            let notifications = home.store.sync().recent_notifications(50)?;
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({ "runs": runs, "outbox": outbox, "notifications": notifications })
                )?
            );
            return Ok(());
        }
        println!("outbox: {} waiting", home.store.sync().outbox_len()?);
        match home.store.sync().last_successful_sync()? {
            Some(t) => println!("last successful sync: {}", tilldesk::time::to_china_display(&t)),
            None => println!("last successful sync: never"),
        }
        for run in &runs {
            print_run(run, false)?;
        }
        return Ok(());
    }
    let settings = SyncSettings::load(&home.store)?;
    let dir = home.dir.clone();
    let live = tilldesk::config::channel_mode(&home.store)? == tilldesk::model::ChannelMode::Live;
    rt.block_on(async {
        // Exactly the channels `tilldesk pay` uses: the live profile in live mode, else the sandbox's.
        let (router, embedded) = crate::cli::checkout::router(&home, target).await?;
        drop(home);
        let db = dir.join(tilldesk::config::DATABASE_FILE);
        // The CDS platform is the sandbox's own in sandbox mode; a live till has none configured yet.
        let sandbox_url = match (&target.sandbox_url, &embedded) {
            _ if live => None,
            (Some(url), _) => Some(url.clone()),
            (None, Some(running)) => Some(running.base_url()),
            (None, None) => None,
        };
        let cds = sandbox_url.as_deref().and_then(|u| tilldesk::channel::cds::client::CdsClient::new(u).ok());
        let worker = Arc::new(tilldesk::sync::SyncWorker::new(&db, &dir, router, cds, settings));
        if args.once {
            let _money_path = crate::cli::checkout::claim_money_path_in(&dir, "sync")?;
            let run = worker.run_once("cli").await?;
            print_run(&run, args.json)?;
            return Ok(());
        }
        // Notifications: the sandbox's are registered with it; a live acquirer posts to the address configured in
        // its console (the listener must be reachable from there).
        let _listener = match (&sandbox_url, &target.sandbox_data, &embedded) {
            (Some(url), data, embedded) => {
                let accounts = match (data, embedded) {
                    (Some(d), _) => crate::cli::checkout::read_accounts(d)?,
                    (None, Some(running)) => running.state.accounts(),
                    (None, None) => anyhow::bail!("--sandbox-url needs --sandbox-data"),
                };
                let options = tilldesk::sync::notify::ListenOptions { allow_remote: args.notify_allow_remote };
                let listener = tilldesk::sandbox::till::listen_with(&dir, &accounts, url, args.notify_listen, options)
                    .await
                    .context("starting the notify listener")?;
                println!("notifications: listening on {}", listener.url());
                Some(listener)
            }
            (None, ..) => None,
        };
        loop {
            // The money path is held for each pass only, so `tilldesk pay` can run between passes.
            let Some(_money_path) = tilldesk::ownership::MoneyPath::try_claim(&dir, "sync")? else {
                eprintln!("skipping a pass: another TillDesk holds this till's money path");
                tokio::time::sleep(worker.settings.offline_interval).await;
                continue;
            };
            let run = worker.run_once("timer").await?;
            drop(_money_path);
            print_run(&run, args.json)?;
            let wait = if run.online { worker.settings.interval } else { worker.settings.offline_interval };
            tokio::time::sleep(wait).await;
        }
    })
}
