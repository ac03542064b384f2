//! Blocking work that needs no database connection (a file dialog, checking fonts, writing an exported file, a
//! test print): run on the same blocking pool as the commands, answered through a [`Ticket`], waking the window.

use std::sync::mpsc;

use crate::queue::{Queue, Ticket, WakeOnDrop};

impl Queue {
    /// Runs `work` off the UI thread without a connection; poll the ticket each frame.
    pub fn run<T, F>(&self, work: F) -> Ticket<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        match self.handle() {
            Ok(handle) => {
                let waker = self.waker.clone();
                handle.spawn_blocking(move || {
                    let _wake = WakeOnDrop(waker);
                    let _ = tx.send(Ok(work()));
                });
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
        Ticket { rx, done: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Core;

    #[test]
    fn plain_work_answers_through_a_ticket() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::new(Core::new(&dir.path().join("t.sqlite3")), "test");
        let mut ticket = queue.run(|| 6 * 7);
        let answer = loop {
            if let Some(answer) = ticket.poll() {
                break answer;
            }
            std::thread::yield_now();
        };
        assert_eq!(answer.unwrap(), 42);
        assert!(ticket.poll().is_none());
    }
}
