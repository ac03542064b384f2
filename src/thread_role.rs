//! Which role the current thread plays: the window's UI thread while it draws a frame, or any other thread. The
//! window marks its frames ([`ui_frame`]); the work the UI must never do itself — opening the database and running
//! SQL (`store`), Argon2 hashing and checking (`store::operators`, `secrets`), signing (`channel`) and writing
//! files (`private_files`, `export`) — calls [`assert_off_ui`], a debug assertion, so a screen that does such work
//! instead of sending it through [`crate::queue`] fails its kittest. Owns one thread-local flag. And the other side of
//! the same rule for the merchant backend's async workers: [`blocking`] runs such work there without stalling them.

use std::cell::Cell;
use std::marker::PhantomData;

thread_local! {
    static DRAWING: Cell<bool> = const { Cell::new(false) };
}

/// While alive, this thread is drawing a frame of the window. Not `Send`: it marks the thread that made it.
#[must_use = "the thread is the UI thread only while the guard lives"]
#[derive(Debug)]
pub struct UiFrame {
    was: bool,
    _not_send: PhantomData<*const ()>,
}

/// Marks this thread as the UI thread until the returned guard is dropped (the window wraps each frame in one).
/// Nests: the mark in force before comes back when the guard goes.
pub fn ui_frame() -> UiFrame {
    let was = DRAWING.with(|d| d.replace(true));
    UiFrame { was, _not_send: PhantomData }
}

impl Drop for UiFrame {
    fn drop(&mut self) {
        let was = self.was;
        DRAWING.with(|d| d.set(was));
    }
}

/// True while this thread draws a frame of the window.
pub fn on_ui_thread() -> bool {
    DRAWING.with(Cell::get)
}

/// A debug assertion that this thread is not the UI thread: `what` (SQL, Argon2, signing, a file write) belongs on
/// the queue. Free in release builds.
#[track_caller]
pub fn assert_off_ui(what: &str) {
    debug_assert!(!on_ui_thread(), "{what} on the UI thread: send it through the window's command queue");
}

/// Runs blocking work (SQLite, Argon2) called from async code: on a worker of a multi-thread tokio runtime it tells
/// the runtime first (`block_in_place`), so the worker's other tasks move to another thread instead of waiting for
/// it (the merchant backend's requests); anywhere else (a current-thread runtime, a plain thread) it just runs `f`.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_lasts_as_long_as_the_guard_and_nests() {
        assert!(!on_ui_thread());
        {
            let _outer = ui_frame();
            assert!(on_ui_thread());
            {
                let _inner = ui_frame();
                assert!(on_ui_thread());
            }
            assert!(on_ui_thread(), "the inner guard restores the outer mark");
        }
        assert!(!on_ui_thread());
        assert_off_ui("nothing");
    }

    #[test]
    fn other_threads_are_not_the_ui_thread() {
        let _frame = ui_frame();
        assert!(std::thread::spawn(on_ui_thread).join().is_ok_and(|ui| !ui));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "SQL on the UI thread")]
    fn work_on_the_ui_thread_is_caught() {
        let _frame = ui_frame();
        assert_off_ui("SQL");
    }
}
