//! Push delivery: a foreign `EventListener` called with the drained batches of an
//! [`EventQueue`] on the delivery threads the process shares (never a tokio worker, never
//! the connection task): one while any subscription lives, more only while listener calls
//! block.

use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{oneshot, Notify};

use crate::error::{CallError, ListenerError};
use crate::event::{EventRecord, JsonBatch};
use crate::queue::{EventQueue, Held};
use crate::runtime::{guard, on_runtime, runtime};
use crate::tracker::{lock, SocketCell};

/// How many delivery threads of the process are alive (for leak tests).
pub(crate) fn live_delivery_threads() -> usize {
    POOL.live()
}

/// Receives a socket's events, a batch at a time, on a delivery thread.
///
/// Return quickly: the next batch waits for this call. An error is logged and delivery
/// goes on.
#[uniffi::export(foreign)]
pub trait EventListener: Send + Sync {
    /// Handles a batch of events, in order.
    fn on_events(&self, batch: Vec<EventRecord>) -> Result<(), ListenerError>;
}

/// Receives a socket's events as packed batches ([`JsonBatch`]: plain events as one JSON
/// text, the others as records), a batch at a time, on a delivery thread, as
/// [`EventListener`] does: for languages where lifting a record per event costs more
/// than parsing one text (the JVM over JNA).
#[uniffi::export(foreign)]
pub trait JsonEventListener: Send + Sync {
    /// Handles a batch of events, in order.
    fn on_json_events(&self, batch: JsonBatch) -> Result<(), ListenerError>;
}

/// The foreign side a subscription delivers to: records, or packed batches.
#[derive(Clone)]
pub(crate) enum Listener {
    /// Every event as an [`EventRecord`].
    Records(Arc<dyn EventListener>),
    /// Batches packed as a [`JsonBatch`].
    Packed(Arc<dyn JsonEventListener>),
}

impl Listener {
    /// Hands `batch`, events of socket `namespace`, to the foreign listener.
    fn call(&self, namespace: &str, batch: Vec<Held>) -> Result<(), ListenerError> {
        match self {
            Listener::Records(listener) => listener.on_events(
                batch
                    .into_iter()
                    .map(|(event, _)| EventRecord::from_core(namespace, event))
                    .collect(),
            ),
            Listener::Packed(listener) => {
                let events = batch.into_iter().map(|(event, _)| event).collect();
                listener.on_json_events(JsonBatch::pack(namespace, events))
            }
        }
    }
}

/// One subscription's delivery: its queue, its end and the delivery threads it uses.
pub(crate) struct Delivery {
    id: u64,
    queue: Arc<EventQueue>,
    ended: Arc<Ended>,
    pool: &'static Pool,
}

impl Delivery {
    /// Starts delivering `queue` to `listener` until the queue ends (stopped, or its
    /// manager closed): a task waits for each batch and hands it to the shared delivery
    /// threads (the first one started here when none is running); nothing for a queue
    /// already ended (a closed socket).
    pub(crate) fn start(
        queue: Arc<EventQueue>,
        listener: Listener,
        max_batch: u32,
    ) -> std::io::Result<Arc<Self>> {
        Self::start_in(&POOL, queue, listener, max_batch)
    }

    /// [`Delivery::start`] on the threads of `pool` (the process's, or a test's own).
    fn start_in(
        pool: &'static Pool,
        queue: Arc<EventQueue>,
        listener: Listener,
        max_batch: u32,
    ) -> std::io::Result<Arc<Self>> {
        let ended = Arc::new(Ended::default());
        let id = NEXT_SUBSCRIPTION.fetch_add(1, Ordering::Relaxed);
        let delivery = Arc::new(Delivery {
            id,
            queue: queue.clone(),
            ended: ended.clone(),
            pool,
        });
        if queue.is_ended() {
            ended.set();
            return Ok(delivery);
        }
        let alive = pool.enter(ended)?;
        runtime().spawn(deliver(Delivering {
            id,
            queue,
            listener,
            max_batch,
            alive,
        }));
        Ok(delivery)
    }

    /// Stops delivery and waits for its end (at most one listener call), unless called
    /// from its own listener; then waits for the delivery threads to end if it was the
    /// last subscription.
    pub(crate) fn stop_blocking(&self) {
        self.queue.stop();
        if RUNNING.get() == Some(self.id) {
            // Stopped from its own listener: it ends after this batch.
            return;
        }
        self.ended.wait();
        self.pool.reap();
    }

    /// Stops delivery and waits for its end without blocking the executor, then for the
    /// delivery threads to end if it was the last subscription.
    pub(crate) async fn stop(&self) {
        self.queue.stop();
        if RUNNING.get() == Some(self.id) {
            return;
        }
        self.ended.until_set().await;
        self.pool.reap();
    }
}

/// A subscription let go of without `cancel` stops too.
impl Drop for Delivery {
    fn drop(&mut self) {
        self.queue.stop();
    }
}

/// Numbers the subscriptions, so that a delivery thread knows whose listener it runs.
static NEXT_SUBSCRIPTION: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The subscription whose listener this delivery thread is calling.
    static RUNNING: Cell<Option<u64>> = const { Cell::new(None) };
}

/// A subscription's end, awaited by `stop` and waited for by `stop_blocking`.
#[derive(Default)]
struct Ended {
    done: Mutex<bool>,
    changed: Condvar,
    /// Wakes the `stop`s awaiting: inline, where a `watch` channel would allocate ~350
    /// bytes per subscription.
    set: Notify,
}

impl Ended {
    fn set(&self) {
        *lock(&self.done) = true;
        self.changed.notify_all();
        self.set.notify_waiters();
    }

    async fn until_set(&self) {
        loop {
            // Made before the flag is read: a `set` from then on wakes it.
            let set = self.set.notified();
            if *lock(&self.done) {
                return;
            }
            set.await;
        }
    }

    fn wait(&self) {
        let mut done = lock(&self.done);
        while !*done {
            done = self
                .changed
                .wait(done)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// What a subscription's task delivers with.
struct Delivering {
    id: u64,
    queue: Arc<EventQueue>,
    listener: Listener,
    max_batch: u32,
    alive: Alive,
}

/// A subscription's task: waits for a batch, has a delivery thread call the listener
/// with it and waits for that call to return before taking the next (one batch at a time,
/// in order; taking the next marks the batch handled for the manager's events, see
/// [`EventQueue::caught_up`]).
async fn deliver(delivering: Delivering) {
    loop {
        let batch = delivering.queue.next(delivering.max_batch).await;
        if batch.is_empty() {
            break;
        }
        delivering.call(batch).await;
    }
}

impl Delivering {
    /// Has a delivery thread call the listener with `batch`, and waits for that call to
    /// return.
    async fn call(&self, batch: Vec<Held>) {
        let (done_tx, mut done_rx) = oneshot::channel();
        let listener = self.listener.clone();
        let queue = self.queue.clone();
        let pool = self.alive.pool;
        let mut started = pool.submit(Job {
            subscription: self.id,
            call: Box::new(move || {
                match catch_unwind(AssertUnwindSafe(|| listener.call(queue.namespace(), batch))) {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::warn!(%error, "event listener failed"),
                    Err(_) => tracing::error!("event listener panicked"),
                }
                let _ = done_tx.send(());
            }),
        });
        loop {
            tokio::select! {
                _ = &mut done_rx => break,
                () = tokio::time::sleep(STALL) => started = pool.grow_if_stalled(started),
            }
        }
    }
}

/// How long a batch may wait for a delivery thread, while no thread takes any other batch,
/// before another thread starts: the busy ones are taken to be blocked in a listener
/// (which may wait for another socket's events).
const STALL: Duration = Duration::from_millis(100);

/// How long an extra delivery thread (beyond the first) stays without work before ending.
const IDLE: Duration = Duration::from_secs(5);

/// A listener call for a delivery thread.
struct Job {
    subscription: u64,
    call: Box<dyn FnOnce() + Send>,
}

/// Delivery threads shared by subscriptions (the process's [`POOL`] is shared by all of
/// them): one while any subscription lives, more only while listener calls stall (a call
/// that blocks waits for another socket's events), none once the last subscription has
/// ended. Each thread stays a thread of the foreign runtime between calls (a JVM thread
/// stays attached).
struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
    /// Its threads alive, for leak tests.
    live: AtomicUsize,
}

#[derive(Default)]
struct PoolState {
    jobs: VecDeque<Job>,
    idle: usize,
    /// Threads started and not yet looking for work.
    starting: usize,
    /// Listener calls taken by a thread so far.
    started: u64,
    /// Live subscriptions (tasks not yet ended).
    subscriptions: usize,
    /// Bumped when the last subscription ends: the threads of older generations end.
    generation: u64,
    threads: Vec<JoinHandle<()>>,
    /// Threads of ended generations, joined by the next `reap`.
    retired: Vec<JoinHandle<()>>,
}

/// The delivery threads of every subscription of the process.
static POOL: Pool = Pool::new();

impl Pool {
    const fn new() -> Self {
        Pool {
            state: Mutex::new(PoolState {
                jobs: VecDeque::new(),
                idle: 0,
                starting: 0,
                started: 0,
                subscriptions: 0,
                generation: 0,
                threads: Vec::new(),
                retired: Vec::new(),
            }),
            work: Condvar::new(),
            live: AtomicUsize::new(0),
        }
    }

    /// How many of its threads are alive.
    fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Counts a new subscription, starting the first thread if none runs.
    fn enter(&'static self, ended: Arc<Ended>) -> std::io::Result<Alive> {
        let mut state = lock(&self.state);
        if state.threads.is_empty() {
            self.spawn(&mut state)?;
        }
        state.subscriptions += 1;
        Ok(Alive { pool: self, ended })
    }

    /// Uncounts a subscription; the last one retires the threads.
    fn leave(&self) {
        let mut state = lock(&self.state);
        state.subscriptions -= 1;
        if state.subscriptions > 0 {
            return;
        }
        state.generation += 1;
        let threads = std::mem::take(&mut state.threads);
        state.retired.extend(threads);
        // Calls nobody waits for any more (their tasks dropped with the runtime).
        let orphans = std::mem::take(&mut state.jobs);
        drop(state);
        self.work.notify_all();
        drop(orphans);
    }

    /// Waits for the retired threads to end (but the calling one).
    fn reap(&self) {
        let retired = std::mem::take(&mut lock(&self.state).retired);
        for thread in retired {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }

    /// Queues `job`; returns the count of calls taken so far, for `grow_if_stalled`.
    fn submit(&'static self, job: Job) -> u64 {
        let mut state = lock(&self.state);
        state.jobs.push_back(job);
        if state.jobs.len() <= state.idle {
            self.work.notify_one();
        } else if state.threads.is_empty() {
            // Only while the last subscription ends and a new one starts at once.
            self.spawn_logged(&mut state);
        }
        state.started
    }

    /// Starts another thread when batches wait, no thread is free and none took a call
    /// since the count `started`; returns the count now.
    fn grow_if_stalled(&'static self, started: u64) -> u64 {
        let mut state = lock(&self.state);
        if state.started == started && state.jobs.len() > state.idle + state.starting {
            self.spawn_logged(&mut state);
        }
        state.started
    }

    fn spawn_logged(&'static self, state: &mut PoolState) {
        if let Err(error) = self.spawn(state) {
            tracing::error!(%error, "could not start another delivery thread");
        }
    }

    fn spawn(&'static self, state: &mut PoolState) -> std::io::Result<()> {
        let generation = state.generation;
        let live = Live::new(self);
        let thread = std::thread::Builder::new()
            .name("ferrio-delivery".into())
            .spawn(move || {
                let _live = live;
                self.work_loop(generation);
            })?;
        state.threads.push(thread);
        state.starting += 1;
        Ok(())
    }

    /// Runs the listener calls until the thread's generation retires, or, for an extra
    /// thread, until it has been without work for [`IDLE`].
    fn work_loop(&self, generation: u64) {
        let mut state = lock(&self.state);
        state.starting -= 1;
        loop {
            if state.generation != generation {
                return;
            }
            if let Some(job) = state.jobs.pop_front() {
                state.started += 1;
                drop(state);
                RUNNING.set(Some(job.subscription));
                (job.call)();
                RUNNING.set(None);
                state = lock(&self.state);
                continue;
            }
            state.idle += 1;
            let (next, timeout) = self
                .work
                .wait_timeout(state, IDLE)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            state.idle -= 1;
            if timeout.timed_out()
                && state.jobs.is_empty()
                && state.generation == generation
                && state.threads.len() > 1
            {
                let me = std::thread::current().id();
                // Its handle dropped: the thread ends detached.
                state.threads.retain(|thread| thread.thread().id() != me);
                return;
            }
        }
    }
}

/// Counts a live delivery thread of its pool.
struct Live(&'static Pool);

impl Live {
    fn new(pool: &'static Pool) -> Self {
        pool.live.fetch_add(1, Ordering::SeqCst);
        Live(pool)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A live subscription of `pool`: its task's end (however it ends) is reported and
/// uncounted.
struct Alive {
    pool: &'static Pool,
    ended: Arc<Ended>,
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.pool.leave();
        self.ended.set();
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

#[cfg(test)]
mod tests {
    use std::sync::mpsc as std_mpsc;

    use super::*;
    use crate::event::EventKind;
    use crate::manager::Manager;
    use crate::options::default_client_options;

    /// Sends the thread and the record kinds of each batch.
    struct Recorder(Mutex<std_mpsc::Sender<(std::thread::ThreadId, usize)>>);

    impl EventListener for Recorder {
        fn on_events(&self, batch: Vec<EventRecord>) -> Result<(), ListenerError> {
            let _ = lock(&self.0).send((std::thread::current().id(), batch.len()));
            Ok(())
        }
    }

    /// Sends the kinds of the records of each packed batch.
    struct PackedRecorder(Mutex<std_mpsc::Sender<Vec<EventKind>>>);

    impl JsonEventListener for PackedRecorder {
        fn on_json_events(&self, batch: JsonBatch) -> Result<(), ListenerError> {
            let kinds = batch.others.iter().map(|record| record.kind).collect();
            let _ = lock(&self.0).send(kinds);
            Ok(())
        }
    }

    /// Says when its first call starts, then blocks it until `release` fires.
    struct Blocker {
        entered: Mutex<std_mpsc::Sender<()>>,
        release: Mutex<Option<std_mpsc::Receiver<()>>>,
    }

    impl EventListener for Blocker {
        fn on_events(&self, _batch: Vec<EventRecord>) -> Result<(), ListenerError> {
            if let Some(release) = lock(&self.release).take() {
                let _ = lock(&self.entered).send(());
                let _ = release.recv();
            }
            Ok(())
        }
    }

    /// A socket of an unreachable server (each connect fails and queues a
    /// `connect_error`) and a delivery queue of its events.
    struct Unreachable {
        socket: ferrio::Socket,
        queue: Arc<EventQueue>,
        _tracker: Arc<crate::tracker::Tracker>,
    }

    impl Unreachable {
        fn new() -> Self {
            let (socket, tracker, queue) = runtime().block_on(crate::queue::tests::unreachable());
            Unreachable {
                socket,
                queue,
                _tracker: tracker,
            }
        }

        fn connect(&self) -> Result<(), ferrio::ConnectError> {
            runtime().block_on(self.socket.connect())
        }
    }

    /// Delivery threads of the test's own, counted apart from those of the process (which
    /// the other tests' subscriptions use at the same time).
    fn own_pool() -> &'static Pool {
        Box::leak(Box::new(Pool::new()))
    }

    #[test]
    fn subscriptions_share_one_thread_and_a_blocked_listener_gets_another() {
        let pool = own_pool();
        let (blocked, recorded) = (Unreachable::new(), Unreachable::new());
        let (seen_tx, seen_rx) = std_mpsc::channel();
        let (release_tx, release_rx) = std_mpsc::channel();
        let (entered_tx, entered_rx) = std_mpsc::channel();
        let blocker = Blocker {
            entered: Mutex::new(entered_tx),
            release: Mutex::new(Some(release_rx)),
        };
        let blocker = Delivery::start_in(
            pool,
            blocked.queue.clone(),
            Listener::Records(Arc::new(blocker)),
            64,
        )
        .unwrap();
        let recorder = Recorder(Mutex::new(seen_tx));
        let recorder = Delivery::start_in(
            pool,
            recorded.queue.clone(),
            Listener::Records(Arc::new(recorder)),
            64,
        )
        .unwrap();
        assert_eq!(pool.live(), 1, "one thread for both");
        assert!(blocked.connect().is_err());
        entered_rx.recv().unwrap();
        // The blocker's batch holds the first thread: the recorder's batch gets another.
        assert!(recorded.connect().is_err());
        let (thread, count) = seen_rx.recv().unwrap();
        assert!(count > 0);
        assert_eq!(pool.live(), 2);
        release_tx.send(()).unwrap();
        blocker.stop_blocking();
        assert_eq!(pool.live(), 2, "kept while a subscription lives");
        // The async stop waits for the end as the blocking one does.
        runtime().block_on(recorder.stop());
        assert_eq!(pool.live(), 0, "none once the last one ended");
        assert_ne!(thread, std::thread::current().id());
    }

    #[test]
    fn a_socket_made_with_a_listener_is_the_namespaces_socket_and_the_listener_gets_its_events() {
        let mut options = default_client_options("http://127.0.0.1:1".into());
        options.reconnection = false;
        let manager = Manager::new(options).unwrap();
        let (seen_tx, seen_rx) = std_mpsc::channel();
        let listener = Arc::new(PackedRecorder(Mutex::new(seen_tx)));
        let with_listener = manager
            .socket_with_listener("/chat".into(), None, listener, 64)
            .unwrap();
        let plain = manager.socket("/chat".into(), None).unwrap();
        assert_eq!(with_listener.namespace(), "/chat");
        // One core socket: a connect through the socket `socket` made reaches the listener.
        assert!(plain.connect_blocking().is_err());
        assert_eq!(seen_rx.recv().unwrap(), [EventKind::ConnectError]);
        assert!(with_listener.connect_blocking().is_err());
        assert_eq!(seen_rx.recv().unwrap(), [EventKind::ConnectError]);
        // Delivered for as long as the socket lives, or until the manager closes.
        manager.close_blocking().unwrap();
        assert!(
            seen_rx.recv().is_err(),
            "the listener is let go of once closed"
        );
    }
}
