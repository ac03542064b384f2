//! One owner of a data folder's money path at a time.
//!
//! Taking payments, refunding, recovering and the background sync move money through the data folder's database.
//! Two processes doing so at once would each take the other's unfinished orders for abandoned ones (a second `pay`
//! "recovering" and cancelling a payment the first is still taking). So whoever moves money holds an OS file lock
//! on `money.lock` in the data folder for as long as it does: the window for its whole life, a command for its run,
//! `tilldesk sync` for each pass. The lock goes with the process (a `kill -9` or a power cut frees it), so the next
//! owner knows that every unfinished order it finds belongs to an owner that is gone.
//!
//! A second process waits for a command to finish (up to a bound) and says plainly who holds the till when it is a
//! window, or when the wait runs out. Who holds it is written beside the lock (`money.owner`) for that message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub const LOCK_FILE: &str = "money.lock";
pub const OWNER_FILE: &str = "money.owner";

/// Who holds a data folder's money path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    /// `window`, or the command (`pay`, `refund`, `recover`, `sync`).
    pub what: String,
    /// UTC.
    pub since: String,
}

impl Owner {
    pub fn is_window(&self) -> bool {
        self.what == "window"
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OwnershipError {
    #[error("{}", busy_words(.dir, .owner.as_ref(), *.waited))]
    Busy { dir: PathBuf, owner: Option<Owner>, waited: Duration },
    #[error("cannot open the lock file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

fn busy_words(dir: &Path, owner: Option<&Owner>, waited: Duration) -> String {
    let who = match owner {
        Some(o) if o.is_window() => format!("the TillDesk window (process {}, open since {})", o.pid, o.since),
        Some(o) => format!("`tilldesk {}` (process {}, since {})", o.what, o.pid, o.since),
        None => "another TillDesk".to_owned(),
    };
    let waited = if waited.is_zero() { String::new() } else { format!(" (waited {} s)", waited.as_secs()) };
    format!(
        "the till in {} is open in {who}{waited}: take payments and refunds there, or close it and try again",
        dir.display()
    )
}

/// The held lock; dropping it (or the process ending) lets the next owner in.
#[derive(Debug)]
pub struct MoneyPath {
    _file: File,
    owner_file: PathBuf,
}

impl Drop for MoneyPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.owner_file);
    }
}

impl MoneyPath {
    /// Takes the money path now, or None when another process holds it.
    pub fn try_claim(dir: &Path, what: &str) -> Result<Option<MoneyPath>, OwnershipError> {
        let path = dir.join(LOCK_FILE);
        // 0600 like every file in the data folder (it holds nothing secret, but nobody else has business with it).
        let _ = crate::private_files::ensure_private_file(&path);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| OwnershipError::Io { path: path.clone(), source })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(source)) => return Err(OwnershipError::Io { path, source }),
        }
        let owner = Owner { pid: std::process::id(), what: what.to_owned(), since: crate::time::now_utc() };
        let owner_file = dir.join(OWNER_FILE);
        // Only for the message another process shows: a failure to write it changes nothing about the lock.
        if let Ok(text) = serde_json::to_string(&owner)
            && let Ok(mut f) = crate::private_files::create_private_file(&owner_file)
        {
            let _ = f.write_all(text.as_bytes());
        }
        Ok(Some(MoneyPath { _file: file, owner_file }))
    }

    /// Takes the money path, waiting up to `wait` while a command holds it (`on_wait` is told once who holds it, to
    /// say so). A window holds it for its whole life: then it refuses at once.
    pub fn claim(
        dir: &Path,
        what: &str,
        wait: Duration,
        on_wait: &mut dyn FnMut(Option<&Owner>),
    ) -> Result<MoneyPath, OwnershipError> {
        let started = Instant::now();
        let mut told = false;
        loop {
            if let Some(held) = MoneyPath::try_claim(dir, what)? {
                return Ok(held);
            }
            let owner = current_owner(dir);
            let waited = started.elapsed();
            if owner.as_ref().is_some_and(Owner::is_window) || waited >= wait {
                return Err(OwnershipError::Busy { dir: dir.to_owned(), owner, waited });
            }
            if !told {
                on_wait(owner.as_ref());
                told = true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The orders (out_trade_no) or refunds (out_request_no) work in this process is on right now: recovery and the
/// sync worker, which run beside the checkout in the window, leave them alone. (Another process cannot be working on
/// any: it would need the money path.)
#[derive(Debug, Default)]
pub struct InFlight {
    keys: std::sync::Mutex<Vec<String>>,
}

impl InFlight {
    pub const fn new() -> Self {
        InFlight { keys: std::sync::Mutex::new(Vec::new()) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vec<String>) -> T) -> T {
        match self.keys.lock() {
            Ok(mut k) => f(&mut k),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.with(|k| k.iter().any(|o| o == key))
    }

    /// Marks `key` as worked on until the returned guard is dropped.
    pub fn start(&'static self, key: &str) -> Working {
        self.with(|k| k.push(key.to_owned()));
        Working { set: self, key: key.to_owned() }
    }
}

/// A key marked in an [`InFlight`] set while alive.
#[derive(Debug)]
pub struct Working {
    set: &'static InFlight,
    key: String,
}

impl Drop for Working {
    fn drop(&mut self) {
        self.set.with(|k| {
            if let Some(i) = k.iter().position(|o| *o == self.key) {
                k.swap_remove(i);
            }
        });
    }
}

/// A test hook: `TILLDESK_CRASH_AT=<step>` aborts the process at that step, as a power cut would (the checkout's
/// and the refund desk's steps are listed where they call it).
pub fn crash_point(step: &str) {
    if std::env::var("TILLDESK_CRASH_AT").is_ok_and(|s| s == step) {
        eprintln!("TILLDESK_CRASH_AT={step}: aborting");
        std::process::abort();
    }
}

/// Who holds the money path, as the holder wrote it (None: nobody, or unreadable).
pub fn current_owner(dir: &Path) -> Option<Owner> {
    let text = std::fs::read_to_string(dir.join(OWNER_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_owner_at_a_time_and_the_next_gets_in_when_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = MoneyPath::try_claim(dir.path(), "pay").unwrap().expect("free");
        assert!(MoneyPath::try_claim(dir.path(), "recover").unwrap().is_none(), "held by the first");
        assert_eq!(current_owner(dir.path()).map(|o| o.what), Some("pay".to_owned()));
        let err = MoneyPath::claim(dir.path(), "recover", Duration::ZERO, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("`tilldesk pay`"), "{err}");
        drop(first);
        assert!(MoneyPath::try_claim(dir.path(), "recover").unwrap().is_some());
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_and_owner_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let _held = MoneyPath::try_claim(dir.path(), "pay").unwrap().expect("free");
        for f in [LOCK_FILE, OWNER_FILE] {
            assert_eq!(crate::private_files::mode_of(&dir.path().join(f)), Some(0o600), "{f}");
        }
    }

    #[test]
    fn a_window_is_refused_at_once_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let _window = MoneyPath::try_claim(dir.path(), "window").unwrap().expect("free");
        let mut waited = false;
        let err = MoneyPath::claim(dir.path(), "pay", Duration::from_secs(3600), &mut |_| waited = true).unwrap_err();
        assert!(!waited);
        assert!(err.to_string().contains("the TillDesk window"), "{err}");
    }
}
