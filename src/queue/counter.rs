//! The counter's engine on the queue: the checkout engine (`crate::checkout::Checkout`) is built here, off the UI
//! thread, from the channels the window names (the router's SQL and keys run on the queue), then resumes the orders a
//! crash left unfinished before the till takes a payment. The checkout screen holds a [`Counter`] — a handle, not the
//! engine — and sends it commands: pay (amount and auth_code), cancel, query an order, start a dynamic code. Each
//! answers with events the screen polls each frame; the window is woken when one arrives.
//!
//! The engine's own rules are unchanged (write-ahead before the first byte goes out, polling, cancel or reverse until
//! confirmed, never two payments for one order): this file only carries commands down and events up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, mpsc};

use crate::checkout::{
    Checkout, CheckoutError, CheckoutSettings, Clock, DynamicInput, DynamicProgress, DynamicSale, DynamicStart,
    Outcome, PaymentInput, Progress, SystemClock,
};
use crate::model::{Order, PaidWith};
use crate::store::StoreError;

use super::{Channels, ChannelsError, Queue, QueueError, Ticket, WakeOnDrop, Waker};

/// A payment's end as the counter shows it: the order, how it ended, and whose wallet paid.
pub type Finished = (Order, Outcome, Option<PaidWith>);

/// Why the counter's engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    /// The channels cannot be built (locked keys, a backend link, the sandbox).
    #[error(transparent)]
    Channels(#[from] ChannelsError),
    /// The engine's database connection or its settings could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the engine reports while it starts.
#[derive(Debug)]
pub enum CounterEvent {
    /// The engine is built (or why not); when built, recovery follows.
    Built(Result<(), CounterError>),
    /// Recovery of the orders left unfinished is done: how many were resumed. Payments may start now.
    Recovered(Result<usize, StoreError>),
}

/// Events of one payment.
#[derive(Debug)]
pub enum PayEvent {
    Progress(Progress),
    Done(Box<Result<Finished, CheckoutError>>),
}

/// Events of one dynamic-code sale; `I` is what the window made of the code (its picture), made on the runtime.
#[derive(Debug)]
pub enum DynamicEvent<I> {
    Shown(Box<DynamicSale>, Option<I>),
    Progress(DynamicProgress),
    Done(Box<Result<(Order, Outcome), CheckoutError>>),
}

/// Sends events to the window and wakes it.
struct Events<T> {
    tx: mpsc::Sender<T>,
    waker: Option<Waker>,
}

impl<T> Events<T> {
    fn send(&self, event: T) {
        let _ = self.tx.send(event);
        if let Some(wake) = &self.waker {
            wake();
        }
    }
}

fn channel<T>(waker: &Option<Waker>) -> (Events<T>, mpsc::Receiver<T>) {
    let (tx, rx) = mpsc::channel();
    (Events { tx, waker: waker.clone() }, rx)
}

/// Everything that arrived so far.
fn drain<T>(rx: &mpsc::Receiver<T>) -> Vec<T> {
    rx.try_iter().collect()
}

/// The counter's engine, as the screen holds it: commands in, events out. Dropping it drops the engine once no
/// payment runs on it any more.
pub struct Counter {
    engine: Arc<OnceLock<Arc<Checkout>>>,
    events: mpsc::Receiver<CounterEvent>,
    runtime: tokio::runtime::Handle,
    waker: Option<Waker>,
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counter").field("built", &self.engine.get().is_some()).finish_non_exhaustive()
    }
}

impl Counter {
    /// Builds the engine over `channels` on the app's runtime (the system clock), then recovers; poll for
    /// [`CounterEvent`]s. Refused when the app runs without a network runtime.
    pub fn open(queue: &Queue, channels: Channels) -> Result<Counter, QueueError> {
        Self::open_with_clock(queue, channels, Arc::new(SystemClock))
    }

    /// [`Counter::open`] with the engine's clock given (tests).
    pub fn open_with_clock(queue: &Queue, channels: Channels, clock: Arc<dyn Clock>) -> Result<Counter, QueueError> {
        let runtime = queue.runtime.clone().ok_or(QueueError::NoRuntime)?;
        let (events, rx) = channel(&queue.waker);
        let engine: Arc<OnceLock<Arc<Checkout>>> = Arc::default();
        let (core, slot) = (queue.core.clone(), engine.clone());
        runtime.spawn(async move {
            let built = tokio::task::spawn_blocking(move || -> Result<Arc<Checkout>, CounterError> {
                let store = core.take()?;
                let made = core.router(&channels, &store).map_err(CounterError::from).and_then(|router| {
                    let settings = CheckoutSettings::load(&store).unwrap_or_default();
                    Ok(Arc::new(Checkout::open(core.db(), router, clock, settings)?))
                });
                core.give_back(store);
                made
            })
            .await
            .unwrap_or_else(|_| Err(CounterError::Channels(ChannelsError::Queue(QueueError::Stopped))));
            let engine = match built {
                Ok(engine) => engine,
                Err(e) => return events.send(CounterEvent::Built(Err(e))),
            };
            let _ = slot.set(engine.clone());
            events.send(CounterEvent::Built(Ok(())));
            let recovered = engine.recover_crashed().await.map(|r| r.len());
            events.send(CounterEvent::Recovered(recovered));
        });
        Ok(Counter { engine, events: rx, runtime, waker: queue.waker.clone() })
    }

    /// What the engine reported since the last poll.
    pub fn poll(&mut self) -> Vec<CounterEvent> {
        drain(&self.events)
    }

    /// Whether the engine is built.
    pub fn is_built(&self) -> bool {
        self.engine.get().is_some()
    }

    /// Takes one payment to its end on the runtime; None before the engine is built.
    pub fn pay(&self, input: PaymentInput) -> Option<PaymentRun> {
        let engine = self.engine.get()?.clone();
        let (events, rx) = channel(&self.waker);
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        self.runtime.spawn(async move {
            let report = |p: Progress| events.send(PayEvent::Progress(p));
            let result = engine.pay(input, stop, &report).await.map(|(order, outcome)| {
                let wallet = engine.paid_with(&order);
                (order, outcome, wallet)
            });
            // The window shows the result and takes the next sale's keystrokes without waiting for an input event.
            events.send(PayEvent::Done(Box::new(result)));
        });
        Some(PaymentRun { cancel, events: rx })
    }

    /// The order `out_trade_no` as it stands; one left unfinished is resolved with the acquirer first. None before
    /// the engine is built.
    pub fn query(&self, out_trade_no: String) -> Option<Ticket<Result<Option<Order>, StoreError>>> {
        let engine = self.engine.get()?.clone();
        let (tx, rx) = mpsc::channel();
        let waker = self.waker.clone();
        self.runtime.spawn(async move {
            let _wake = WakeOnDrop(waker);
            let result = async {
                let now = engine.order(&out_trade_no)?;
                if now.as_ref().is_some_and(|o| o.status.is_unfinished()) {
                    engine.recover().await?;
                    return engine.order(&out_trade_no);
                }
                Ok(now)
            }
            .await;
            let _ = tx.send(Ok(result));
        });
        Some(Ticket { rx, done: false })
    }

    /// Starts a dynamic-code sale: the order is written ahead, the store's acquirer makes the code (`render` turns
    /// it into what the window shows, on the runtime), and the engine waits for the customer until paid, expired or
    /// cancelled. None before the engine is built.
    pub fn start_dynamic<I, R>(&self, input: DynamicInput, render: R) -> Option<DynamicRun<I>>
    where
        I: Send + 'static,
        R: FnOnce(&str) -> Option<I> + Send + 'static,
    {
        let engine = self.engine.get()?.clone();
        let (events, rx) = channel(&self.waker);
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        self.runtime.spawn(async move {
            let sale = match engine.start_dynamic(input).await {
                Ok(DynamicStart::Shown(sale)) => sale,
                Ok(DynamicStart::Ended(order, outcome)) => {
                    return events.send(DynamicEvent::Done(Box::new(Ok((order, outcome)))));
                }
                Err(e) => return events.send(DynamicEvent::Done(Box::new(Err(e)))),
            };
            let picture = render(&sale.code);
            events.send(DynamicEvent::Shown(Box::new(sale.clone()), picture));
            let report = |p: DynamicProgress| events.send(DynamicEvent::Progress(p));
            let result = engine.wait_dynamic(&sale, &stop, &report).await;
            events.send(DynamicEvent::Done(Box::new(result)));
        });
        Some(DynamicRun { cancel, events: rx })
    }
}

/// One payment running on the engine.
#[derive(Debug)]
pub struct PaymentRun {
    cancel: Arc<AtomicBool>,
    events: mpsc::Receiver<PayEvent>,
}

impl PaymentRun {
    /// The cashier cancels: the engine stops waiting and cancels (or reverses) the payment until confirmed.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// What the payment reported since the last poll.
    pub fn poll(&mut self) -> Vec<PayEvent> {
        drain(&self.events)
    }
}

/// One dynamic-code sale running on the engine.
#[derive(Debug)]
pub struct DynamicRun<I> {
    cancel: Arc<AtomicBool>,
    events: mpsc::Receiver<DynamicEvent<I>>,
}

impl<I> DynamicRun<I> {
    /// The cashier cancels: the trade is closed at the acquirer (a payment made meanwhile still counts).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// What the sale reported since the last poll.
    pub fn poll(&mut self) -> Vec<DynamicEvent<I>> {
        drain(&self.events)
    }
}
