//! The command queue's own tests: commands off the UI thread, answers once, the pool, audit sessions, jobs and
//! cancel, the router and the vault slot.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::*;

/// Polls `ticket` until it answers (the command runs on another thread); fails after a generous while.
fn answer<T>(ticket: &mut Ticket<T>) -> Result<T, QueueError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(answer) = ticket.poll() {
            return answer;
        }
        assert!(Instant::now() < deadline, "the command never answered");
        std::thread::yield_now();
    }
}

fn queue(dir: &tempfile::TempDir) -> Queue {
    Queue::new(Core::new(&dir.path().join("db.sqlite3")), "window")
}

#[test]
fn a_command_runs_off_the_ui_thread_and_answers_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut queue = queue(&dir);
    let woken = Arc::new(AtomicUsize::new(0));
    let counter = woken.clone();
    queue.set_waker(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    let _frame = crate::thread_role::ui_frame();
    let mut write = queue.submit(|s| {
        assert!(!crate::thread_role::on_ui_thread());
        s.store.set_setting("queue.test", "42", None)
    });
    answer(&mut write).unwrap().unwrap();
    assert!(write.poll().is_none(), "an answer is taken once");
    assert!(write.is_done());
    let mut read = queue.submit(|s| s.store.setting("queue.test"));
    assert_eq!(answer(&mut read).unwrap().unwrap().as_deref(), Some("42"));
    assert!(woken.load(Ordering::SeqCst) >= 2, "each answer wakes the window");
}

#[test]
fn commands_audit_for_the_operator_signed_in_when_they_were_submitted() {
    let dir = tempfile::tempdir().unwrap();
    let mut queue = queue(&dir);
    let mut add = queue.submit(|s| s.store.staff_mut().add_operator("林", crate::model::Role::Owner, "246810", None));
    let owner = answer(&mut add).unwrap().unwrap();
    queue.set_operator(Some(owner.id));
    let mut seen = queue.submit(|s| s.operator);
    assert_eq!(answer(&mut seen).unwrap(), Some(owner.id));
    let mut write = queue.submit(|s| s.store.set_setting("queue.audited", "yes", None));
    answer(&mut write).unwrap().unwrap();
    let store = Store::open(queue.core().db()).unwrap();
    let entries = store.staff().audit_page(None, 10).unwrap();
    let entry = entries.iter().find(|e| e.subject == "queue.audited").expect("the change is audited");
    assert_eq!(entry.operator_id, Some(owner.id), "{entry:?}");
    assert_eq!(entry.actor.as_deref(), Some("window"));
}

#[test]
fn a_command_that_panics_or_cannot_open_the_database_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let queue = queue(&dir);
    let mut boom = queue.submit(|_| -> u32 { panic!("the command broke") });
    assert!(matches!(answer(&mut boom), Err(QueueError::Stopped)));
    // A database in a folder that does not exist cannot be opened.
    let nowhere = Queue::new(Core::new(&dir.path().join("missing").join("db.sqlite3")), "window");
    let mut ticket = nowhere.submit(|_| 1);
    assert!(matches!(answer(&mut ticket), Err(QueueError::Open(_))));
}

#[test]
fn connections_go_back_to_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let queue = queue(&dir);
    for _ in 0..3 {
        let mut t = queue.submit(|s| s.store.schema_version());
        answer(&mut t).unwrap().unwrap();
    }
    let pooled = queue.core().pool.lock().unwrap().len();
    assert!((1..=POOL_SIZE).contains(&pooled), "{pooled} connections pooled");
}

#[test]
fn a_job_reports_its_steps_and_sees_its_cancel() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut queue = queue(&dir);
    let no_runtime = queue.start(|_r: Reporter<u8>, _c| async { 0 });
    assert!(matches!(no_runtime, Err(QueueError::NoRuntime)));
    queue.set_runtime(Some(rt.handle().clone()));
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let mut job = queue
        .start(|reporter: Reporter<u8>, cancel| async move {
            reporter.progress(1);
            reporter.progress(2);
            let _ = go_rx.await;
            if cancel.is_cancelled() { "cancelled" } else { "finished" }
        })
        .unwrap();
    job.cancel.cancel();
    go_tx.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let answer = loop {
        if let Some(answer) = job.poll() {
            break answer;
        }
        assert!(Instant::now() < deadline, "the job never finished");
        std::thread::yield_now();
    };
    assert_eq!(answer.unwrap(), "cancelled");
    assert_eq!(job.steps, [1, 2]);
    assert!(job.poll().is_none());
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "SQL on the UI thread")]
fn sql_while_the_window_draws_is_caught() {
    let store = Store::open_in_memory().unwrap();
    let _frame = crate::thread_role::ui_frame();
    let _ = store.schema_version();
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "Argon2 hashing on the UI thread")]
fn hashing_while_the_window_draws_is_caught() {
    let _frame = crate::thread_role::ui_frame();
    let _ = crate::store::operators::hash_pin("246810", crate::model::Role::Owner);
}

#[test]
fn a_blocking_job_reports_progress_and_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let queue = queue(&dir);
    let mut job = queue.submit_job(|s, reporter: &Reporter<(u64, u64)>, cancel| {
        reporter.progress((1, 2));
        reporter.progress((2, 2));
        (s.store.schema_version().is_ok(), cancel.is_cancelled())
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let answer = loop {
        if let Some(answer) = job.poll() {
            break answer;
        }
        assert!(Instant::now() < deadline, "the job never finished");
        std::thread::yield_now();
    };
    assert_eq!(answer.unwrap(), (true, false));
    assert_eq!(job.steps, [(1, 2), (2, 2)]);
}

#[test]
fn the_router_waits_for_the_vault_and_for_the_acquirers() {
    let dir = tempfile::tempdir().unwrap();
    let queue = queue(&dir);
    assert!(!queue.vault_unlocked());
    for (channels, locked) in
        [(Channels::Live, Some(false)), (Channels::Backend, Some(true)), (Channels::NotConnected, None)]
    {
        let mut ticket = queue.router(channels);
        match (answer(&mut ticket).unwrap(), locked) {
            (Err(ChannelsError::Locked { backend }), Some(expected)) => assert_eq!(backend, expected),
            (Err(ChannelsError::NotConnected), None) => {}
            (other, _) => panic!("unexpected: {:?}", other.map(|_| "a router")),
        }
    }
}

#[test]
fn the_counter_needs_the_apps_runtime_and_a_start_up_read_waits_for_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let queue = queue(&dir);
    assert!(matches!(Counter::open(&queue, Channels::NotConnected), Err(QueueError::NoRuntime)));
    queue.submit(|s| s.store.set_setting("queue.start", "1", None)).wait().unwrap().unwrap();
    assert_eq!(queue.submit(|s| s.store.setting("queue.start")).wait().unwrap().unwrap().as_deref(), Some("1"));
}

#[test]
fn a_counter_whose_channels_cannot_be_built_says_so_and_takes_no_payment() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut queue = queue(&dir);
    queue.set_runtime(Some(runtime.handle().clone()));
    let mut counter = Counter::open(&queue, Channels::Live).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let event = loop {
        if let Some(event) = counter.poll().into_iter().next() {
            break event;
        }
        assert!(Instant::now() < deadline, "the counter never answered");
        std::thread::yield_now();
    };
    assert!(matches!(
        event,
        CounterEvent::Built(Err(CounterError::Channels(ChannelsError::Locked { backend: false })))
    ));
    assert!(!counter.is_built());
    assert!(counter.query("TD1".into()).is_none(), "no engine: nothing is asked");
}

#[test]
fn whether_the_vault_is_unlocked_is_known_without_waiting_for_its_lock() {
    let dir = tempfile::tempdir().unwrap();
    let queue = queue(&dir);
    assert!(!queue.vault_unlocked());
    // A command that unlocks the vault (Argon2, off the UI thread) puts it in the slot.
    let data = dir.path().to_owned();
    let mut unlock = queue.submit_with_core(move |_, core| {
        let vault = crate::secrets::Vault::unlock(&data, "a good passphrase").map_err(|e| e.to_string())?;
        *core.vault() = Some(vault);
        Ok::<_, String>(())
    });
    answer(&mut unlock).unwrap().unwrap();
    assert!(queue.vault_unlocked());
    // While a command holds the slot, the window still gets an answer at once (the last known state).
    let held = queue.vault();
    let (tx, rx) = std::sync::mpsc::channel();
    let asking = queue.clone();
    std::thread::spawn(move || tx.send(asking.vault_unlocked()).unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)), Ok(true), "asked while the slot was held");
    drop(held);
    queue.set_vault(None);
    assert!(!queue.vault_unlocked());
}
