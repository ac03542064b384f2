//! Long work on the network (onboarding a store, binding a code, reading a store code with the platform): an async
//! task on the app's runtime that reports progress steps as it goes and can be cancelled.

use std::sync::mpsc;

use crate::onboarding::CancelFlag;
use crate::queue::{QueueError, WakeOnDrop, Waker};

/// Sends progress from inside a job.
pub struct Reporter<P> {
    tx: mpsc::Sender<P>,
    waker: Option<Waker>,
}

impl<P> Clone for Reporter<P> {
    fn clone(&self) -> Self {
        Reporter { tx: self.tx.clone(), waker: self.waker.clone() }
    }
}

impl<P> Reporter<P> {
    /// Reports one step (the window shows it at its next frame).
    pub fn progress(&self, step: P) {
        let _ = self.tx.send(step);
        if let Some(wake) = &self.waker {
            wake();
        }
    }
}

/// A running job and the steps it has reported so far.
pub struct Job<T, P> {
    steps_rx: mpsc::Receiver<P>,
    done_rx: mpsc::Receiver<Result<T, QueueError>>,
    pub cancel: CancelFlag,
    pub steps: Vec<P>,
    done: bool,
}

impl<T: Send + 'static, P: Send + 'static> Job<T, P> {
    pub(crate) fn spawn<F, Fut>(runtime: &tokio::runtime::Handle, waker: Option<Waker>, work: F) -> Self
    where
        F: FnOnce(Reporter<P>, CancelFlag) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        Self::spawn_fallible(runtime, waker, |reporter, cancel| {
            let future = work(reporter, cancel);
            async move { Ok(future.await) }
        })
    }

    /// [`Job::spawn`] for work that may end without an answer of its own (its connection could not be opened).
    pub(crate) fn spawn_fallible<F, Fut>(runtime: &tokio::runtime::Handle, waker: Option<Waker>, work: F) -> Self
    where
        F: FnOnce(Reporter<P>, CancelFlag) -> Fut,
        Fut: std::future::Future<Output = Result<T, QueueError>> + Send + 'static,
    {
        let (steps_tx, steps_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let cancel = CancelFlag::default();
        let future = work(Reporter { tx: steps_tx, waker: waker.clone() }, cancel.clone());
        runtime.spawn(async move {
            let _wake = WakeOnDrop(waker);
            let _ = done_tx.send(future.await);
        });
        Job { steps_rx, done_rx, cancel, steps: Vec::new(), done: false }
    }
}

impl<T: Send + 'static, P: Send + 'static> Job<T, P> {
    /// A job whose work is blocking (file exports), started by the caller on the blocking pool with the returned
    /// reporter and the job's cancel flag; its answer goes down the returned sender.
    pub(crate) fn blocking(waker: Option<Waker>) -> (Self, Reporter<P>, mpsc::Sender<Result<T, QueueError>>) {
        let (steps_tx, steps_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let job = Job { steps_rx, done_rx, cancel: CancelFlag::default(), steps: Vec::new(), done: false };
        (job, Reporter { tx: steps_tx, waker }, done_tx)
    }
}

impl<T, P> Job<T, P> {
    /// Takes what arrived; `Some` once, when the job has finished (`Err` when it stopped without an answer).
    pub fn poll(&mut self) -> Option<Result<T, QueueError>> {
        self.steps.extend(self.steps_rx.try_iter());
        if self.done {
            return None;
        }
        let answer = match self.done_rx.try_recv() {
            Ok(answer) => answer,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => Err(QueueError::Stopped),
        };
        self.steps.extend(self.steps_rx.try_iter());
        self.done = true;
        Some(answer)
    }
}
