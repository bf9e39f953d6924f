//! Push delivery: a foreign `EventListener` called with drained batches from one
//! long-lived delivery thread per registration (never a tokio worker, never the
//! connection task).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::watch;

use crate::error::{CallError, ListenerError};
use crate::event::EventRecord;
use crate::runtime::{guard, on_runtime, runtime};
use crate::stream::MAX_BATCH;
use crate::tracker::lock;

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
        stream: Option<ferrio::EventStream>,
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
}

impl Subscription {
    pub(crate) fn new(delivery: Arc<Delivery>) -> Self {
        Subscription { delivery }
    }
}

#[uniffi::export]
impl Subscription {
    /// Stops delivery and waits for the thread to end (blocking the caller briefly, at
    /// most one listener call).
    pub fn cancel(&self) -> Result<(), CallError> {
        guard(|| {
            self.delivery.stop_blocking();
            Ok(())
        })
    }

    /// Stops delivery and waits for the thread to end.
    pub async fn cancel_async(&self) -> Result<(), CallError> {
        let delivery = self.delivery.clone();
        on_runtime(async move {
            delivery.stop().await;
            Ok(())
        })
        .await
    }
}
