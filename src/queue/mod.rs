//! The one way the window's screens reach the core: a command queue. A screen submits a command — a closure that
//! gets a [`CoreSession`] (a database connection from [`Core`]'s small pool, with the audit session set for the
//! signed-in operator) — and gets a [`Ticket`] back, which it polls each frame; the command runs off the UI thread on
//! the app's tokio runtime (`spawn_blocking`) and wakes the window when its answer is ready. Long network work with
//! progress steps and a Cancel button ([`Queue::start`], [`Job`]) goes through the same queue.
//!
//! Owns the connection pool and the executor; names no egui (the window hands it a waker). Imports `store` and
//! `model`; the only code that imports it is the window (`ui/`) and the composition root.

mod channels;
mod counter;
mod job;
mod plain;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use crate::model::OperatorId;
use crate::store::{Store, StoreError};

pub use channels::{Channels, ChannelsError, Routes, SandboxError, SandboxRouter, VaultGuard};
pub use counter::{Counter, CounterError, CounterEvent, DynamicEvent, DynamicRun, Finished, PayEvent, PaymentRun};
pub use job::{Job, Reporter};

/// How many idle connections the pool keeps. Commands beyond that open their own and close it when done.
const POOL_SIZE: usize = 4;

/// Why a command gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The database could not be opened for the command.
    #[error(transparent)]
    Open(#[from] StoreError),
    /// The command panicked, or the runtime shut down before it ran.
    #[error("the command stopped without an answer")]
    Stopped,
    /// The app runs without a network runtime, and this command needs one.
    #[error("the network runtime is not running")]
    NoRuntime,
}

/// What the commands run against: the database of one data folder, through a small pool of connections, and the
/// key vault once unlocked (see `channels`).
#[derive(Debug)]
pub struct Core {
    db: PathBuf,
    pool: Mutex<Vec<Store>>,
    vault: Mutex<Option<crate::secrets::Vault>>,
    /// Whether the vault slot held a vault when it was last let go (see `channels::VaultGuard`).
    unlocked: std::sync::atomic::AtomicBool,
}

impl Core {
    /// The core of the database at `db` (opened lazily, by the first command).
    pub fn new(db: &Path) -> Self {
        Core { db: db.to_owned(), pool: Mutex::new(Vec::new()), vault: Mutex::new(None), unlocked: Default::default() }
    }

    /// The database file.
    pub fn db(&self) -> &Path {
        &self.db
    }

    /// A connection from the pool, or a new one.
    fn take(&self) -> Result<Store, StoreError> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        match pooled {
            Some(store) => Ok(store),
            None => Store::open(&self.db),
        }
    }

    /// Gives a connection back (dropped when the pool is full).
    fn give_back(&self, store: Store) {
        if let Ok(mut pool) = self.pool.lock()
            && pool.len() < POOL_SIZE
        {
            pool.push(store);
        }
    }
}

/// What a command gets: a connection whose audit session names the operator signed in when it was submitted.
#[derive(Debug)]
pub struct CoreSession {
    pub store: Store,
    /// The operator signed in at the window when the command was submitted.
    pub operator: Option<OperatorId>,
}

/// Wakes the window (requests a repaint) when an answer arrives. The window gives one; tests may give none.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The command queue. Cheap to clone: clones share the core, the runtime and the waker.
#[derive(Clone)]
pub struct Queue {
    core: Arc<Core>,
    runtime: Option<tokio::runtime::Handle>,
    /// A runtime of the queue's own, made on first use when the app has given none (kittests without a network).
    own: Arc<Mutex<Option<tokio::runtime::Runtime>>>,
    waker: Option<Waker>,
    operator: Option<OperatorId>,
    /// The audit actor every command's connection is set to.
    actor: &'static str,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("db", &self.core.db)
            .field("runtime", &self.runtime.is_some())
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
}

impl Queue {
    /// A queue over `core`, whose commands audit as `actor` on behalf of the signed-in operator.
    pub fn new(core: Core, actor: &'static str) -> Self {
        Queue { core: Arc::new(core), runtime: None, own: Arc::default(), waker: None, operator: None, actor }
    }

    /// The core the commands run against.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Runs the commands on `runtime` (the app's one runtime) from now on; None: on a small runtime of the queue's
    /// own.
    pub fn set_runtime(&mut self, runtime: Option<tokio::runtime::Handle>) {
        self.runtime = runtime;
    }

    /// Whether the app gave the queue its network runtime.
    pub fn has_runtime(&self) -> bool {
        self.runtime.is_some()
    }

    /// Wakes the window with `waker` whenever an answer arrives.
    pub fn set_waker(&mut self, waker: Waker) {
        self.waker = Some(waker);
    }

    /// Audits the commands submitted from now on for `operator`.
    pub fn set_operator(&mut self, operator: Option<OperatorId>) {
        self.operator = operator;
    }

    /// The runtime the commands run on.
    fn handle(&self) -> Result<tokio::runtime::Handle, QueueError> {
        if let Some(handle) = &self.runtime {
            return Ok(handle.clone());
        }
        let mut own = self.own.lock().map_err(|_| QueueError::Stopped)?;
        if own.is_none() {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .max_blocking_threads(POOL_SIZE)
                .thread_name("tilldesk-queue")
                .enable_all()
                .build()
                .map_err(|e| {
                    tracing::warn!(error = %e, "the command queue's runtime did not start");
                    QueueError::Stopped
                })?;
            *own = Some(runtime);
        }
        own.as_ref().map(|r| r.handle().clone()).ok_or(QueueError::Stopped)
    }

    /// Submits `work`; it runs off the UI thread with a connection of its own. Poll the ticket each frame.
    pub fn submit<T, F>(&self, work: F) -> Ticket<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut CoreSession) -> T + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.execute(work, move |answer| {
            let _ = tx.send(answer);
        });
        Ticket { rx, done: false }
    }

    /// Submits blocking work that reports progress and may be cancelled (an export writing a large file): like
    /// [`Queue::submit`], with a [`Job`] to poll instead of a ticket.
    pub fn submit_job<T, P, F>(&self, work: F) -> Job<T, P>
    where
        T: Send + 'static,
        P: Send + 'static,
        F: FnOnce(&mut CoreSession, &Reporter<P>, &crate::onboarding::CancelFlag) -> T + Send + 'static,
    {
        let (job, reporter, done) = Job::blocking(self.waker.clone());
        let cancel = job.cancel.clone();
        self.execute(
            move |session| work(session, &reporter, &cancel),
            move |answer| {
                let _ = done.send(answer);
            },
        );
        job
    }

    /// Runs `work` on the blocking pool with a pooled connection and hands its answer to `answer`, then wakes the
    /// window.
    fn execute<T, F, A>(&self, work: F, answer: A)
    where
        T: Send + 'static,
        F: FnOnce(&mut CoreSession) -> T + Send + 'static,
        A: FnOnce(Result<T, QueueError>) + Send + 'static,
    {
        let handle = match self.handle() {
            Ok(handle) => handle,
            Err(e) => return answer(Err(e)),
        };
        let core = self.core.clone();
        let waker = self.waker.clone();
        let operator = self.operator;
        let actor = self.actor;
        handle.spawn_blocking(move || {
            // Wakes the window however the command ends (a panic included: the answer is then Stopped).
            let _wake = WakeOnDrop(waker);
            let result = core
                .take()
                .and_then(|mut store| {
                    store.set_audit_session(operator, actor)?;
                    Ok(store)
                })
                .map_err(QueueError::Open)
                .map(|store| {
                    let mut session = CoreSession { store, operator };
                    let value = work(&mut session);
                    core.give_back(session.store);
                    value
                });
            answer(result);
        });
    }

    /// Starts network work with progress steps and a cancel flag on the app's runtime (see [`Job`]). Refused
    /// ([`QueueError::NoRuntime`]) when the app runs without one.
    pub fn start<T, P, F, Fut>(&self, work: F) -> Result<Job<T, P>, QueueError>
    where
        T: Send + 'static,
        P: Send + 'static,
        F: FnOnce(Reporter<P>, crate::onboarding::CancelFlag) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        let runtime = self.runtime.as_ref().ok_or(QueueError::NoRuntime)?;
        Ok(Job::spawn(runtime, self.waker.clone(), work))
    }

    /// [`Queue::start`] for network work that needs a database connection of its own for its whole length (a
    /// refund: the refund desk owns its connection): the connection is opened on the blocking pool, audited like
    /// a command's, then handed to `work`.
    pub fn start_with_store<T, P, F, Fut>(&self, work: F) -> Result<Job<T, P>, QueueError>
    where
        T: Send + 'static,
        P: Send + 'static,
        F: FnOnce(Store, Reporter<P>, crate::onboarding::CancelFlag) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        let runtime = self.runtime.as_ref().ok_or(QueueError::NoRuntime)?;
        let (db, operator, actor) = (self.core.db.clone(), self.operator, self.actor);
        Ok(Job::spawn_fallible(runtime, self.waker.clone(), move |reporter, cancel| async move {
            let opened = tokio::task::spawn_blocking(move || {
                let mut store = Store::open(&db)?;
                store.set_audit_session(operator, actor)?;
                Ok::<_, StoreError>(store)
            })
            .await
            .map_err(|_| QueueError::Stopped)??;
            Ok(work(opened, reporter, cancel).await)
        }))
    }
}

/// Calls the waker when dropped.
pub(crate) struct WakeOnDrop(pub(crate) Option<Waker>);

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        if let Some(wake) = &self.0 {
            wake();
        }
    }
}

/// The answer a command will give. Dropping it does not stop the command (a write still completes).
#[derive(Debug)]
pub struct Ticket<T> {
    rx: mpsc::Receiver<Result<T, QueueError>>,
    done: bool,
}

impl<T> Ticket<T> {
    /// `Some` once, when the answer has arrived (or the command stopped without one); `None` before and after.
    pub fn poll(&mut self) -> Option<Result<T, QueueError>> {
        if self.done {
            return None;
        }
        let answer = match self.rx.try_recv() {
            Ok(answer) => answer,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => Err(QueueError::Stopped),
        };
        self.done = true;
        Some(answer)
    }

    /// Waits for the answer, blocking the calling thread: only for the window's start-up, before its first frame (a
    /// screen polls instead).
    pub fn wait(self) -> Result<T, QueueError> {
        if self.done {
            return Err(QueueError::Stopped);
        }
        self.rx.recv().unwrap_or(Err(QueueError::Stopped))
    }

    /// Whether the answer was taken already.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

/// A ticket kept in screen state: polls it if there is one, and clears it once it has answered.
pub fn poll_slot<T>(slot: &mut Option<Ticket<T>>) -> Option<Result<T, QueueError>> {
    let answer = slot.as_mut()?.poll()?;
    *slot = None;
    Some(answer)
}

#[cfg(test)]
mod tests;
