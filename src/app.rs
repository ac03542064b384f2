//! The composition root's shared pieces: the embedded sandbox as the running app holds it. The sandbox is one more
//! set of accounts the app can be pointed at; only this module, `main` and the command line name it, so the core
//! (checkout, sync, notify, recon, channel) and the screens never do.

use std::path::Path;

use crate::queue::SandboxError;
use crate::sync::{Services, SyncSettings};

/// The embedded sandbox's life: started off the UI thread, then serving for the life of the app.
#[derive(Default)]
pub enum SandboxStatus {
    /// Not used (tests, or live gateways).
    #[default]
    Off,
    Starting(std::sync::mpsc::Receiver<Result<crate::sandbox::RunningSandbox, SandboxError>>),
    Running(crate::sandbox::RunningSandbox),
    Failed(SandboxError),
}

impl std::fmt::Debug for SandboxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SandboxStatus::Off => f.write_str("Off"),
            SandboxStatus::Starting(_) => f.write_str("Starting"),
            SandboxStatus::Running(r) => write!(f, "Running({})", r.addr),
            SandboxStatus::Failed(e) => write!(f, "Failed({e})"),
        }
    }
}

impl SandboxStatus {
    /// Picks up the start result without blocking.
    pub fn poll(&mut self) {
        if let SandboxStatus::Starting(rx) = self {
            match rx.try_recv() {
                Ok(Ok(running)) => *self = SandboxStatus::Running(running),
                Ok(Err(e)) => *self = SandboxStatus::Failed(e),
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    *self = SandboxStatus::Failed("the sandbox task ended before it started".into());
                }
            }
        }
    }
}

impl SandboxStatus {
    /// The sandbox's address once it listens.
    pub fn base_url(&self) -> Option<String> {
        match self {
            SandboxStatus::Running(r) => Some(r.base_url()),
            _ => None,
        }
    }

    /// The router of a till on this sandbox (its accounts' sandbox profile) as the command queue builds it, off the
    /// UI thread, once the sandbox listens: the till is prepared first (its acquirers, the demo store's routes).
    pub fn router_builder(&self) -> Option<crate::queue::SandboxRouter> {
        let SandboxStatus::Running(running) = self else { return None };
        let (accounts, url) = (running.state.accounts(), running.base_url());
        Some(std::sync::Arc::new(move |db: &Path| {
            let mut store = crate::store::Store::open(db)?;
            crate::sandbox::till::prepare(&mut store)?;
            Ok(crate::sandbox::till::router(&store, &accounts, &url)?)
        }))
    }

    /// Starts the sync worker and the notify listener for the till in `data_dir` on `runtime`, once the sandbox
    /// listens (its settings read there, off the UI thread); the result arrives on the returned receiver.
    pub fn start_services(
        &self,
        runtime: &tokio::runtime::Handle,
        data_dir: &Path,
    ) -> Option<std::sync::mpsc::Receiver<Result<Services, SandboxError>>> {
        let SandboxStatus::Running(running) = self else { return None };
        let (tx, rx) = std::sync::mpsc::channel();
        let (accounts, url, dir) = (running.state.accounts(), running.base_url(), data_dir.to_owned());
        runtime.spawn(async move {
            let db = dir.join(crate::config::DATABASE_FILE);
            let settings = tokio::task::spawn_blocking(move || {
                crate::store::Store::open(&db).and_then(|store| SyncSettings::load(&store)).unwrap_or_default()
            })
            .await
            .unwrap_or_default();
            let started = crate::sandbox::till::start_services(&dir, &accounts, &url, settings).await;
            let _ = tx.send(started.map_err(SandboxError::from));
        });
        Some(rx)
    }
}
