//! The acquirers' channels as the window's commands need them: the key vault, once unlocked, is kept here beside the
//! connection pool (never on the window), and the router over the till's accounts is built from it off the UI thread
//! — the SQL that reads the accounts and routes and the keys that sign run on the queue.
//!
//! The window says where its channels come from ([`Channels`]: its merchant backend, the live gateways, or the
//! embedded sandbox, whose builder the composition root hands over); [`Core::router`] builds them.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, MutexGuard, PoisonError};

use crate::routing::Router;
use crate::routing::backend::LinkError;
use crate::secrets::Vault;
use crate::store::Store;

/// Why the embedded sandbox, its channels or its services could not be set up: the sandbox's own typed errors,
/// boxed, because only the composition root names the sandbox (the window logs them and phrases the kind).
pub type SandboxError = Box<dyn std::error::Error + Send + Sync>;

/// Builds the router of the till whose database is at the path on the embedded sandbox (given by the composition
/// root, which alone names the sandbox; run on the queue).
pub type SandboxRouter = Arc<dyn Fn(&Path) -> Result<Router, SandboxError> + Send + Sync>;

/// Where the window's channels come from: chosen by the window from its mode and its link, built by the queue.
#[derive(Clone)]
pub enum Channels {
    /// Through the merchant backend this till is enrolled with (the till's token from the vault).
    Backend,
    /// The live gateways of the till's accounts (their keys from the vault).
    Live,
    /// The embedded sandbox's profile of the accounts, once it listens.
    Sandbox(SandboxRouter),
    /// None yet: the embedded sandbox is starting, or the app runs without one in sandbox mode.
    NotConnected,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Channels::Backend => "Backend",
            Channels::Live => "Live",
            Channels::Sandbox(_) => "Sandbox",
            Channels::NotConnected => "NotConnected",
        })
    }
}

/// Why the channels cannot be built (the window phrases each kind).
#[derive(Debug, thiserror::Error)]
pub enum ChannelsError {
    /// The live keys (or the backend's token) are in the vault, and it is locked.
    #[error("the key vault is locked")]
    Locked {
        /// The till takes payments through its merchant backend (its token is what is missing).
        backend: bool,
    },
    /// The merchant backend's link cannot be used.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The live gateways cannot be set up from the settings and the vault.
    #[error("the live channels cannot be built: {0}")]
    Live(#[from] crate::keys::KeyError),
    /// The embedded sandbox's channels cannot be set up.
    #[error("the sandbox channels cannot be built: {0}")]
    Sandbox(#[source] SandboxError),
    /// No acquirer is connected yet.
    #[error("the acquirers are not connected")]
    NotConnected,
    /// The command gave no answer.
    #[error(transparent)]
    Queue(#[from] super::QueueError),
}

/// The vault slot, held while the guard lives (keep it short: the queue's commands wait for it). When the guard goes,
/// the core notes whether a vault is in the slot, so the window can ask without waiting for the lock.
pub struct VaultGuard<'a> {
    slot: MutexGuard<'a, Option<Vault>>,
    unlocked: &'a AtomicBool,
}

impl std::ops::Deref for VaultGuard<'_> {
    type Target = Option<Vault>;
    fn deref(&self) -> &Option<Vault> {
        &self.slot
    }
}

impl std::ops::DerefMut for VaultGuard<'_> {
    fn deref_mut(&mut self) -> &mut Option<Vault> {
        &mut self.slot
    }
}

impl Drop for VaultGuard<'_> {
    fn drop(&mut self) {
        self.unlocked.store(self.slot.is_some(), Ordering::Release);
    }
}

impl std::fmt::Debug for VaultGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultGuard").field("unlocked", &self.slot.is_some()).finish()
    }
}

impl super::Core {
    /// The vault slot: `Some` once unlocked.
    pub fn vault(&self) -> VaultGuard<'_> {
        VaultGuard { slot: self.vault.lock().unwrap_or_else(PoisonError::into_inner), unlocked: &self.unlocked }
    }

    /// The router over the till's accounts for `channels`, with `store` (a command's connection).
    pub fn router(&self, channels: &Channels, store: &Store) -> Result<Router, ChannelsError> {
        match channels {
            Channels::Backend => {
                let vault = self.vault();
                let Some(vault) = vault.as_ref() else { return Err(ChannelsError::Locked { backend: true }) };
                crate::routing::backend::router(store, vault)?.ok_or(ChannelsError::Link(LinkError::NotJoined))
            }
            Channels::Live => {
                let vault = self.vault();
                let Some(vault) = vault.as_ref() else { return Err(ChannelsError::Locked { backend: false }) };
                crate::keys::live_router(store.path(), vault).map_err(|e| {
                    tracing::warn!(error = %e, "the live channels cannot be built");
                    ChannelsError::Live(e)
                })
            }
            Channels::Sandbox(build) => build(store.path()).map_err(|e| {
                tracing::warn!(error = %e, "the sandbox channels cannot be built");
                ChannelsError::Sandbox(e)
            }),
            Channels::NotConnected => Err(ChannelsError::NotConnected),
        }
    }
}

impl super::Queue {
    /// The vault slot (see [`super::Core::vault`]).
    pub fn vault(&self) -> VaultGuard<'_> {
        self.core.vault()
    }

    /// Whether the vault is unlocked (as it stood when its slot was last let go: never waits for a command that
    /// holds it).
    pub fn vault_unlocked(&self) -> bool {
        self.core.unlocked.load(Ordering::Acquire)
    }

    /// Keeps `vault` (None: locks it).
    pub fn set_vault(&self, vault: Option<Vault>) {
        *self.core.vault() = vault;
    }

    /// Takes the vault out of the slot (a join holds it while it runs, then gives it back with [`Self::set_vault`]).
    pub fn take_vault(&self) -> Option<Vault> {
        self.core.vault().take()
    }

    /// Submits `work` with the core at hand, for a command that needs the vault for part of its length (a key
    /// import: it locks the slot with [`super::Core::vault`] only for the step that needs it).
    pub fn submit_with_core<T, F>(&self, work: F) -> super::Ticket<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut super::CoreSession, &super::Core) -> T + Send + 'static,
    {
        let core = self.core.clone();
        self.submit(move |session| work(session, &core))
    }

    /// Builds the router for `channels` off the UI thread; poll the ticket.
    pub fn router(&self, channels: Channels) -> super::Ticket<Result<Router, ChannelsError>> {
        let core = self.core.clone();
        self.submit(move |session| core.router(&channels, &session.store))
    }

    /// A builder of the router for `channels` to run inside a network job with its own connection (a refund).
    pub fn routes(&self, channels: Channels) -> Routes {
        Routes { core: self.core.clone(), channels }
    }

    /// Submits `work` with the router for `channels`, both off the UI thread (the background sync's start).
    pub fn submit_routed<T, F>(&self, channels: Channels, work: F) -> super::Ticket<Result<T, ChannelsError>>
    where
        T: Send + 'static,
        F: FnOnce(&mut super::CoreSession, Router) -> T + Send + 'static,
    {
        let core = self.core.clone();
        self.submit(move |session| {
            let router = core.router(&channels, &session.store)?;
            Ok(work(session, router))
        })
    }
}

/// The router for a set of channels, to be built off the UI thread inside a job ([`super::Queue::routes`]).
#[derive(Debug)]
pub struct Routes {
    core: Arc<super::Core>,
    channels: Channels,
}

impl Routes {
    /// Builds the router with `store` (the job's connection).
    pub fn build(&self, store: &Store) -> Result<Router, ChannelsError> {
        self.core.router(&self.channels, store)
    }
}
