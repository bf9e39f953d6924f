//! Push delivery: a foreign `EventListener` called with drained batches from one
//! long-lived delivery thread per registration (never a tokio worker, never the
//! connection task).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, watch};

use crate::error::{CallError, ListenerError};
use crate::event::EventRecord;
use crate::runtime::{guard, on_runtime, runtime};
use crate::stream::MAX_BATCH;
use crate::tracker::{lock, SocketCell};

/// Delivery threads alive in the process, for leak tests.
static LIVE_DELIVERY_THREADS: AtomicUsize = AtomicUsize::new(0);

/// How many delivery threads are alive.
pub(crate) fn live_delivery_threads() -> usize {
    LIVE_DELIVERY_THREADS.load(Ordering::SeqCst)
}

/// Receives a socket's events, a batch at a time, on the subscription's delivery thread.
///
/// Return quickly: the next batch waits for this call. An error is logged and delivery
/// goes on.
#[uniffi::export(foreign)]
pub trait EventListener: Send + Sync {
    /// Handles a batch of events, in order.
    fn on_events(&self, batch: Vec<EventRecord>) -> Result<(), ListenerError>;
}

/// Where a delivery thread takes its batches from.
pub(crate) enum Source {
    /// Everything a socket observes.
    Events(ferrio::EventStream),
    /// Every event a socket emits.
    Outgoing(Outgoing),
}

impl Source {
    /// Waits for one event, then takes what is queued, up to `max`; empty once ended.
    async fn next_batch(&mut self, max: usize) -> Vec<ferrio::SocketEvent> {
        match self {
            Source::Events(stream) => stream.next_batch(max).await,
            Source::Outgoing(outgoing) => outgoing.next_batch(max).await,
        }
    }
}

/// The receiving end of a socket's outgoing catch-all (`Socket.subscribe_outgoing`): the
/// core's listener hands each emitted event over without waiting, into a queue of
/// [`OUTGOING_CAPACITY`] events. When the foreign listener falls that far behind, further
/// events are dropped and counted, and the next batch ends with a `Lagged` record of how
/// many (an emit never waits for a listener).
pub(crate) struct Outgoing {
    rx: mpsc::Receiver<ferrio::Event>,
    dropped: Arc<AtomicU64>,
}

/// Most outgoing events waiting for a foreign listener: the core's bound on a socket's
/// queue of events ([`ferrio::ManagerOptions::incoming_capacity`]).
fn outgoing_capacity() -> usize {
    ferrio::ManagerOptions::default().incoming_capacity.max(1)
}

impl Outgoing {
    /// Registers an outgoing listener on `core`; returns its id and the receiving end.
    pub(crate) fn listen(core: &ferrio::Socket) -> (ferrio::ListenerId, Self) {
        let (tx, rx) = mpsc::channel(outgoing_capacity());
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        let id = core.on_any_outgoing(move |event| {
            if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(event) {
                if counted.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!("an outgoing listener fell behind: dropping outgoing events");
                }
            }
        });
        (id, Outgoing { rx, dropped })
    }

    async fn next_batch(&mut self, max: usize) -> Vec<ferrio::SocketEvent> {
        let mut events = Vec::with_capacity(max.min(64));
        if self.rx.recv_many(&mut events, max).await == 0 {
            return Vec::new();
        }
        let mut batch: Vec<_> = events.into_iter().map(ferrio::SocketEvent::Event).collect();
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            batch.push(ferrio::SocketEvent::Lagged(dropped));
        }
        batch
    }
}

/// One delivery thread: its stop signal, its end and its handle.
pub(crate) struct Delivery {
    stop_tx: watch::Sender<bool>,
    done_rx: watch::Receiver<bool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Delivery {
    /// Starts a thread delivering `stream` to `listener` until stopped, closed or ended;
    /// no thread for no stream (a closed socket).
    pub(crate) fn start(
        namespace: String,
        stream: Option<Source>,
        listener: Arc<dyn EventListener>,
        max_batch: u32,
        mut closed_rx: watch::Receiver<bool>,
    ) -> std::io::Result<Arc<Self>> {
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let (done_tx, done_rx) = watch::channel(false);
        let max = usize::try_from(max_batch.clamp(1, MAX_BATCH)).unwrap_or(64);
        let Some(mut stream) = stream else {
            done_tx.send_replace(true);
            return Ok(Arc::new(Delivery {
                stop_tx,
                done_rx,
                thread: Mutex::new(None),
            }));
        };
        let alive = Alive::new(done_tx);
        let thread = std::thread::Builder::new()
            .name(format!("ferrio-delivery {namespace}"))
            .spawn(move || {
                let _alive = alive;
                loop {
                    let batch = runtime().block_on(async {
                        tokio::select! {
                            biased;
                            _ = stop_rx.wait_for(|stop| *stop) => Vec::new(),
                            batch = stream.next_batch(max) => batch,
                            _ = closed_rx.wait_for(|closed| *closed) => Vec::new(),
                        }
                    });
                    if batch.is_empty() {
                        break;
                    }
                    let records = batch
                        .into_iter()
                        .map(|event| EventRecord::from_core(&namespace, event))
                        .collect();
                    match catch_unwind(AssertUnwindSafe(|| listener.on_events(records))) {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => tracing::warn!(%error, "event listener failed"),
                        Err(_) => tracing::error!("event listener panicked"),
                    }
                }
            })?;
        Ok(Arc::new(Delivery {
            stop_tx,
            done_rx,
            thread: Mutex::new(Some(thread)),
        }))
    }

    /// Stops the thread and waits for it, unless called from the thread itself.
    pub(crate) fn stop_blocking(&self) {
        self.stop_tx.send_replace(true);
        self.join();
    }

    /// Stops the thread and waits for it without blocking the executor.
    pub(crate) async fn stop(&self) {
        self.stop_tx.send_replace(true);
        let mut done_rx = self.done_rx.clone();
        let _ = done_rx.wait_for(|done| *done).await;
        self.join();
    }

    fn join(&self) {
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            if thread.thread().id() == std::thread::current().id() {
                // Stopped from its own listener: it ends after this batch.
                return;
            }
            let _ = thread.join();
        }
    }
}

/// Counts a live delivery thread and reports its end.
struct Alive(watch::Sender<bool>);

impl Alive {
    fn new(done_tx: watch::Sender<bool>) -> Self {
        LIVE_DELIVERY_THREADS.fetch_add(1, Ordering::SeqCst);
        Alive(done_tx)
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        LIVE_DELIVERY_THREADS.fetch_sub(1, Ordering::SeqCst);
        self.0.send_replace(true);
    }
}

/// A registered listener; `cancel` (or closing the manager) stops its delivery thread.
#[derive(uniffi::Object)]
pub struct Subscription {
    delivery: Arc<Delivery>,
    /// The core listener feeding an outgoing subscription, removed by `cancel`.
    core_listener: Option<(Arc<SocketCell>, ferrio::ListenerId)>,
}

impl Subscription {
    pub(crate) fn new(delivery: Arc<Delivery>) -> Self {
        Subscription {
            delivery,
            core_listener: None,
        }
    }

    /// A subscription fed by the core listener `id` of the socket in `cell`.
    pub(crate) fn fed_by(
        delivery: Arc<Delivery>,
        cell: Arc<SocketCell>,
        id: ferrio::ListenerId,
    ) -> Self {
        Subscription {
            delivery,
            core_listener: Some((cell, id)),
        }
    }

    /// Removes the core listener feeding this subscription, if any.
    fn remove_core_listener(&self) {
        if let Some((cell, id)) = &self.core_listener {
            if let Some(core) = lock(cell).as_ref() {
                core.off(*id);
            }
        }
    }
}

#[uniffi::export]
impl Subscription {
    /// Stops delivery and waits for the thread to end (blocking the caller briefly, at
    /// most one listener call).
    pub fn cancel(&self) -> Result<(), CallError> {
        guard(|| {
            self.remove_core_listener();
            self.delivery.stop_blocking();
            Ok(())
        })
    }

    /// Stops delivery and waits for the thread to end.
    pub async fn cancel_async(&self) -> Result<(), CallError> {
        self.remove_core_listener();
        let delivery = self.delivery.clone();
        on_runtime(async move {
            delivery.stop().await;
            Ok(())
        })
        .await
    }
}
