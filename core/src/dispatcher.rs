//! Runs user code: a socket with Rust listeners (`on`, `on_any`, `on_any_outgoing`) has one
//! dispatcher that calls them, so a slow handler never stalls the connection task or other
//! namespaces. It is one of the socket's consumers (`manager::delivery`), with a queue of
//! its own like each pull stream's; a socket with streams alone has no dispatcher.
//!
//! The listeners are a table shared with the socket ([`Listeners`]): the sync `on`/`off`
//! calls change it in place and bump its version, and the dispatcher copies it only when
//! the version moved. Its memory is bounded by the live listeners, not by how many changes
//! a busy dispatcher has yet to see. The outgoing events for the `on_any_outgoing`
//! listeners go through a bounded queue ([`OutgoingQueue`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;

use crate::error::ConnectError;
use crate::manager::command::Delivery;
use crate::manager::delivery::DeliveryRx;
use crate::manager::event::{Event, SocketEvent};
use crate::value::{Map, Value};

/// A listener: called with each matching event, on the socket's dispatcher task.
pub(crate) type Handler = Arc<dyn Fn(Event) + Send + Sync>;

/// Identifies a registered listener, to remove it with `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(pub(crate) u64);

/// Which events a listener receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    /// Incoming events (and the built-in ones) with this name.
    Named(String),
    /// Every incoming custom event (`on_any`).
    Any,
    /// Every outgoing event (`on_any_outgoing`).
    AnyOutgoing,
}

/// A listener of the events numbered `from` and later: among the incoming events for the
/// incoming filters, among the outgoing events ([`OutgoingQueue`]) for `AnyOutgoing`.
#[derive(Clone)]
pub(crate) struct Listener {
    pub(crate) id: ListenerId,
    pub(crate) filter: Filter,
    pub(crate) once: bool,
    pub(crate) from: u64,
    pub(crate) handler: Handler,
}

/// The state behind [`Listeners`]' lock.
#[derive(Default)]
struct Table {
    listeners: Vec<Listener>,
    /// The dispatcher has stopped: nothing added now would ever be called or fed.
    stopped: bool,
}

/// A socket's listeners, changed by the socket and read by its dispatcher.
#[derive(Default)]
pub(crate) struct Listeners {
    table: Mutex<Table>,
    /// Bumped by every change, under the lock.
    version: AtomicU64,
}

impl Listeners {
    /// Adds `listener`; dropped when the dispatcher has stopped.
    pub(crate) fn add(&self, listener: Listener) {
        self.change(|table| table.listeners.push(listener));
    }

    /// Removes one listener; returns whether it was an outgoing one (`AnyOutgoing`).
    pub(crate) fn remove(&self, id: ListenerId) -> bool {
        let mut outgoing = false;
        self.change(|table| {
            table.listeners.retain(|l| {
                let removed = l.id == id;
                outgoing |= removed && l.filter == Filter::AnyOutgoing;
                !removed
            });
        });
        outgoing
    }

    /// Removes every listener with this filter.
    pub(crate) fn remove_all(&self, filter: &Filter) {
        self.change(|table| table.listeners.retain(|l| l.filter != *filter));
    }

    /// The number of listeners in the table.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().listeners.len()
    }

    /// Marks the dispatcher stopped and drops its listeners.
    pub(crate) fn stop(&self) {
        let mut table = self.lock();
        table.stopped = true;
        table.listeners.clear();
        self.version.fetch_add(1, Ordering::Release);
    }

    fn change(&self, change: impl FnOnce(&mut Table)) {
        let mut table = self.lock();
        if !table.stopped {
            change(&mut table);
            self.version.fetch_add(1, Ordering::Release);
        }
    }

    /// No user code runs under the lock, so a poisoned table is still whole.
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The queue of a socket's outgoing events to its `on_any_outgoing` listeners, bounded by
/// `ManagerOptions::incoming_capacity`. When full (the listeners fell behind), an emit's
/// event is dropped and counted: the first drop and then the total, once the dispatcher
/// takes the next event, are logged as warnings.
///
/// Every event is numbered, queued or dropped, as the incoming ones are: a listener added
/// now gets the events numbered from [`OutgoingQueue::at_next`]'s on, not one emitted
/// before it and still waiting for the dispatcher.
pub(crate) struct OutgoingQueue {
    /// Boxed events: the channel allocates its first block of 32 slots when made, 32
    /// pointers instead of 32 events (~4.8 KiB) for a socket without outgoing listeners.
    tx: mpsc::Sender<Box<OutgoingEvent>>,
    /// How many events were numbered. Held while an event is numbered and queued, and
    /// while a listener is added: a listener is in the table before the dispatcher gets
    /// the first event numbered for it.
    numbered: Mutex<u64>,
    dropped: AtomicU64,
}

/// An outgoing event and its number.
pub(crate) struct OutgoingEvent {
    seq: u64,
    event: Event,
}

impl OutgoingQueue {
    /// A queue of `capacity` events (at least one) and its receiving end.
    pub(crate) fn new(capacity: usize) -> (Arc<Self>, mpsc::Receiver<Box<OutgoingEvent>>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let queue = Self {
            tx,
            numbered: Mutex::new(0),
            dropped: AtomicU64::new(0),
        };
        (Arc::new(queue), rx)
    }

    /// Numbers `event` and queues it for the outgoing listeners, or drops and counts it
    /// when full.
    pub(crate) fn send(&self, event: Event) {
        let mut numbered = self.numbered();
        let seq = *numbered;
        *numbered += 1;
        // Queued under the lock: the queue holds the events in their numbers' order.
        let queued = self.tx.try_send(Box::new(OutgoingEvent { seq, event }));
        drop(numbered);
        if let Err(mpsc::error::TrySendError::Full(_)) = queued {
            if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!("on_any_outgoing listeners fell behind: dropping outgoing events");
            }
        }
    }

    /// Calls `add` with the number of the next outgoing event, no event being numbered
    /// meanwhile: a listener `add` puts in the table gets the events from that number on.
    pub(crate) fn at_next<R>(&self, add: impl FnOnce(u64) -> R) -> R {
        add(*self.numbered())
    }

    /// No user code runs under the lock: a poisoned count is still right.
    fn numbered(&self) -> MutexGuard<'_, u64> {
        self.numbered.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many events were dropped since the last call.
    fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }
}

/// The dispatcher's copy of the listeners.
struct Registry {
    shared: Arc<Listeners>,
    /// The table version copied.
    version: u64,
    listeners: Vec<Listener>,
}

impl Registry {
    fn new(shared: Arc<Listeners>) -> Self {
        Self {
            shared,
            version: u64::MAX,
            listeners: Vec::new(),
        }
    }

    /// Copies the shared table when it changed since the last copy.
    fn refresh(&mut self) {
        if self.shared.version.load(Ordering::Acquire) == self.version {
            return;
        }
        let table = self.shared.lock();
        self.version = self.shared.version.load(Ordering::Acquire);
        self.listeners.clone_from(&table.listeners);
    }

    /// Calls the outgoing listeners of the copy added before outgoing event `seq`.
    fn deliver_outgoing(&mut self, seq: u64, event: &Event) {
        self.call(seq, |f| *f == Filter::AnyOutgoing, event);
    }

    /// Hands event `seq` to the listeners of the copy added before it.
    fn deliver(&mut self, seq: u64, event: SocketEvent) {
        match event {
            SocketEvent::Event(event) => self.call_incoming(seq, event),
            SocketEvent::Connect { .. } => self.call_builtin(seq, "connect", Vec::new()),
            SocketEvent::Disconnect(reason) => {
                self.call_builtin(seq, "disconnect", vec![reason.as_str().into()])
            }
            SocketEvent::ConnectError(error) => {
                self.call_builtin(seq, "connect_error", vec![connect_error_value(&error)])
            }
            SocketEvent::Lagged(_) => {}
        }
    }

    fn call_builtin(&mut self, seq: u64, name: &str, args: Vec<Value>) {
        let event = Event::from_values("".into(), name.to_owned(), args);
        self.call(seq, |f| matches!(f, Filter::Named(n) if n == name), &event);
    }

    /// Calls the listeners of incoming event `seq` added before it: those of its name, then
    /// the `on_any` ones. The last one called gets the event itself, the others a copy.
    fn call_incoming(&mut self, seq: u64, event: Event) {
        let named = |l: &&Listener| matches!(&l.filter, Filter::Named(name) if *name == event.name);
        let any = |l: &&Listener| l.filter == Filter::Any;
        let added = |l: &&Listener| l.from <= seq;
        let listeners = self.listeners.iter().filter(named);
        let listeners = listeners.chain(self.listeners.iter().filter(any));
        let mut fired = Vec::new();
        let mut listeners = listeners.filter(added).peekable();
        while let Some(listener) = listeners.next() {
            if listeners.peek().is_none() {
                call_one(listener, event, &mut fired);
                break;
            }
            call_one(listener, event.clone(), &mut fired);
        }
        self.forget(&fired);
    }

    /// Calls every listener added before event `seq` whose filter matches; removes the
    /// `once` ones after their call.
    fn call(&mut self, seq: u64, matches: impl Fn(&Filter) -> bool, event: &Event) {
        let mut fired = Vec::new();
        for listener in self
            .listeners
            .iter()
            .filter(|l| l.from <= seq && matches(&l.filter))
        {
            call_one(listener, event.clone(), &mut fired);
        }
        self.forget(&fired);
    }

    /// Removes the `once` listeners in `fired` from the copy and the shared table.
    fn forget(&mut self, fired: &[ListenerId]) {
        if !fired.is_empty() {
            self.listeners.retain(|l| !fired.contains(&l.id));
            self.shared
                .change(|table| table.listeners.retain(|l| !fired.contains(&l.id)));
        }
    }
}

/// Calls `listener` with `event`, a panic caught and logged; notes a `once` listener in
/// `fired`.
fn call_one(listener: &Listener, event: Event, fired: &mut Vec<ListenerId>) {
    let handler = &listener.handler;
    if catch_unwind(AssertUnwindSafe(|| handler(event))).is_err() {
        tracing::error!(event = %event_name(listener), "a listener panicked");
    }
    if listener.once {
        fired.push(listener.id);
    }
}

fn event_name(listener: &Listener) -> String {
    match &listener.filter {
        Filter::Named(name) => name.clone(),
        Filter::Any => "*".into(),
        Filter::AnyOutgoing => "* (outgoing)".into(),
    }
}

/// The `connect_error` argument as the JS client shows it: `{message, data}`.
fn connect_error_value(error: &ConnectError) -> Value {
    let mut object = Map::new();
    match error {
        ConnectError::Rejected { message, data } => {
            object.insert("message".into(), message.clone().into());
            if let Some(data) = data {
                object.insert("data".into(), data.clone());
            }
        }
        other => {
            object.insert("message".into(), other.to_string().into());
        }
    }
    Value::Object(object)
}

/// What a socket's dispatcher runs with, made by its first listener.
pub(crate) struct DispatcherStart {
    /// The thread's name.
    pub(crate) name: String,
    /// The runtime the socket was made in: listeners run within its context.
    pub(crate) runtime: tokio::runtime::Handle,
    /// The dispatcher's queue of incoming events, fed by the connection task; it ends
    /// when the manager closes.
    pub(crate) event_rx: DeliveryRx,
    /// The table of listeners, shared with the socket.
    pub(crate) listeners: Arc<Listeners>,
    /// The queue of outgoing events (for its drop count) and its receiving end.
    pub(crate) outgoing: Arc<OutgoingQueue>,
    pub(crate) outgoing_rx: mpsc::Receiver<Box<OutgoingEvent>>,
}

/// Starts a socket's dispatcher as a task on the socket's runtime: until an event comes
/// for a listener it needs no thread. Before it would call a listener (a Rust closure,
/// which may block), the dispatcher moves to a thread of its own, so that a blocking
/// listener never stalls a tokio worker. Listeners run within the socket's runtime context: `tokio::spawn` from a
/// listener spawns on that runtime.
pub(crate) fn spawn_dispatcher(start: DispatcherStart) {
    let runtime = start.runtime.clone();
    // Boxed: the task's future holds a pointer, not the dispatcher (twice: the closure's
    // copy and `run`'s).
    let dispatcher = Box::new(Dispatcher::new(start));
    runtime.spawn(async move {
        if let Some(dispatcher) = dispatcher.run().await {
            dispatcher.move_to_thread();
        }
    });
}

/// What the dispatcher takes next, or has taken and not yet handled when it moves to a
/// thread.
enum Next {
    Delivery(Delivery),
    Outgoing(Box<OutgoingEvent>),
}

/// A socket's dispatcher: on a task until a listener needs it on a thread.
struct Dispatcher {
    name: String,
    runtime: tokio::runtime::Handle,
    event_rx: DeliveryRx,
    outgoing: Arc<OutgoingQueue>,
    outgoing_rx: mpsc::Receiver<Box<OutgoingEvent>>,
    registry: Registry,
    /// Running as a task: it must not call a listener.
    on_task: bool,
    /// Taken on the task, handled first on the thread.
    pending: Option<Next>,
    /// Stops the table when the dispatcher ends, however it ends (its runtime shut down).
    _stop: StopOnDrop,
}

/// Stops a socket's table of listeners when dropped: a listener added later is never kept.
struct StopOnDrop(Arc<Listeners>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

impl Dispatcher {
    fn new(start: DispatcherStart) -> Self {
        Dispatcher {
            name: start.name,
            runtime: start.runtime,
            event_rx: start.event_rx,
            outgoing: start.outgoing,
            outgoing_rx: start.outgoing_rx,
            registry: Registry::new(start.listeners.clone()),
            on_task: true,
            pending: None,
            _stop: StopOnDrop(start.listeners),
        }
    }

    /// Continues on a thread of its own; when the system refuses one, the dispatcher
    /// stops and says so.
    fn move_to_thread(mut self: Box<Self>) {
        self.on_task = false;
        let runtime = self.runtime.clone();
        let spawned = std::thread::Builder::new()
            .name(self.name.clone())
            .spawn(move || runtime.block_on(self.run()));
        if let Err(error) = spawned {
            tracing::error!(%error, "could not start a dispatcher thread");
        }
    }

    /// Runs until its queue ends, the manager closed (`None`: then the table stops), or,
    /// on a task, until a listener is to be called (`Some`: to continue on a thread).
    async fn run(mut self: Box<Self>) -> Option<Box<Self>> {
        if let Some(next) = self.pending.take() {
            if let Err(next) = self.handle(next).await {
                self.pending = Some(next);
                return Some(self);
            }
        }
        while let Some(next) = self.next().await {
            if let Err(next) = self.handle(next).await {
                self.pending = Some(next);
                return Some(self);
            }
        }
        None
    }

    /// The next delivery or outgoing event; `None` once the incoming queue has ended
    /// (what the connection task queued before the close is delivered first). Outgoing
    /// events first. What is queued already is taken without a wait: the wait's
    /// `select!` polls both queues and registers the dispatcher's waker with each.
    async fn next(&mut self) -> Option<Next> {
        if let Ok(event) = self.outgoing_rx.try_recv() {
            return Some(Next::Outgoing(event));
        }
        if let Some(delivery) = self.event_rx.try_recv() {
            return Some(Next::Delivery(delivery));
        }
        tokio::select! {
            biased;
            Some(event) = self.outgoing_rx.recv() => Some(Next::Outgoing(event)),
            delivery = self.event_rx.recv() => delivery.map(Next::Delivery),
        }
    }

    /// Hands `next` to the listeners; gives it back untouched when there are listeners to
    /// call and this is the task.
    async fn handle(&mut self, next: Next) -> Result<(), Next> {
        self.registry.refresh();
        if self.on_task && !self.registry.listeners.is_empty() {
            return Err(next);
        }
        match next {
            Next::Delivery(Delivery { seq, event, charge }) => {
                self.registry.deliver(seq, *event);
                // Its bytes count until the listeners are done with it.
                drop(charge);
            }
            Next::Outgoing(event) => {
                let dropped = self.outgoing.take_dropped();
                if dropped > 0 {
                    tracing::warn!(
                        dropped,
                        "on_any_outgoing listeners fell behind: outgoing events dropped"
                    );
                }
                self.registry.deliver_outgoing(event.seq, &event.event);
            }
        }
        Ok(())
    }
}

/// Counts listener ids.
#[derive(Debug, Default)]
pub(crate) struct ListenerIds(std::sync::atomic::AtomicU64);

impl ListenerIds {
    pub(crate) fn next(&self) -> ListenerId {
        ListenerId(self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    impl Registry {
        /// Refreshes the copy, then delivers.
        async fn dispatch_free(&mut self, seq: u64, event: SocketEvent) {
            self.refresh();
            self.deliver(seq, event);
        }

        /// Refreshes the copy, then calls the outgoing listeners.
        fn outgoing(&mut self, seq: u64, event: &Event) {
            self.refresh();
            self.deliver_outgoing(seq, event);
        }
    }

    fn recorder() -> (Handler, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        (
            Arc::new(move |event: Event| sink.lock().unwrap().push(event.name)),
            seen,
        )
    }

    fn event(name: &str) -> SocketEvent {
        SocketEvent::Event(Event::from_values("/".into(), name.into(), Vec::new()))
    }

    #[tokio::test]
    async fn once_listener_fires_a_single_time() {
        let mut registry = Registry::new(Arc::default());
        let (handler, seen) = recorder();
        registry.shared.add(Listener {
            id: ListenerId(1),
            filter: Filter::Named("a".into()),
            once: true,
            from: 0,
            handler,
        });
        registry.dispatch_free(0, event("a")).await;
        registry.dispatch_free(0, event("a")).await;
        assert_eq!(*seen.lock().unwrap(), ["a"]);
    }

    #[tokio::test]
    async fn the_last_listener_called_gets_the_event_itself_the_others_a_copy() {
        let mut registry = Registry::new(Arc::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        for (id, filter) in [(1, Filter::Named("a".into())), (2, Filter::Any)] {
            let sink = seen.clone();
            let handler: Handler = Arc::new(move |event: Event| {
                let text = event.payload().json();
                sink.lock()
                    .unwrap()
                    .push((id, text.to_owned(), text.as_ptr() as usize));
            });
            registry.shared.add(listener(id, filter, false, handler));
        }
        let event = Event::from_values("/".into(), "a".into(), vec![Value::from("x")]);
        let original = event.payload().json().as_ptr() as usize;
        registry.dispatch_free(0, SocketEvent::Event(event)).await;
        let seen = seen.lock().unwrap();
        let calls: Vec<_> = seen
            .iter()
            .map(|(id, text, _)| (*id, text.as_str()))
            .collect();
        assert_eq!(calls, [(1, r#"["x"]"#), (2, r#"["x"]"#)], "named, then any");
        assert_ne!(seen[0].2, original, "the first listener gets a copy");
        assert_eq!(seen[1].2, original, "the last one gets the event itself");
    }

    #[tokio::test]
    async fn any_listener_sees_custom_events_but_not_builtin_ones() {
        let mut registry = Registry::new(Arc::default());
        let (handler, seen) = recorder();
        registry.shared.add(Listener {
            id: ListenerId(1),
            filter: Filter::Any,
            once: false,
            from: 0,
            handler,
        });
        registry
            .dispatch_free(
                0,
                SocketEvent::Connect {
                    sid: "x".into(),
                    recovered: false,
                },
            )
            .await;
        registry.dispatch_free(1, event("chat")).await;
        assert_eq!(*seen.lock().unwrap(), ["chat"]);
    }

    #[tokio::test]
    async fn listener_added_after_an_event_was_produced_does_not_see_it() {
        let mut registry = Registry::new(Arc::default());
        let (handler, seen) = recorder();
        registry.shared.add(Listener {
            id: ListenerId(1),
            filter: Filter::Named("a".into()),
            once: false,
            from: 5,
            handler,
        });
        registry.dispatch_free(4, event("a")).await;
        registry.dispatch_free(5, event("a")).await;
        assert_eq!(*seen.lock().unwrap(), ["a"]);
    }

    #[tokio::test]
    async fn removed_listener_is_not_called() {
        let mut registry = Registry::new(Arc::default());
        let (handler, seen) = recorder();
        registry.shared.add(Listener {
            id: ListenerId(7),
            filter: Filter::Named("a".into()),
            once: false,
            from: 0,
            handler,
        });
        registry.shared.remove(ListenerId(7));
        registry.dispatch_free(0, event("a")).await;
        assert!(seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_panicking_listener_does_not_stop_the_others() {
        let mut registry = Registry::new(Arc::default());
        let (handler, seen) = recorder();
        let panicking: Handler = Arc::new(|_| panic!("boom"));
        registry.shared.add(Listener {
            id: ListenerId(1),
            filter: Filter::Named("a".into()),
            once: false,
            from: 0,
            handler: panicking,
        });
        registry.shared.add(Listener {
            id: ListenerId(2),
            filter: Filter::Named("a".into()),
            once: false,
            from: 0,
            handler,
        });
        registry.dispatch_free(0, event("a")).await;
        assert_eq!(*seen.lock().unwrap(), ["a"]);
    }

    #[tokio::test]
    async fn disconnect_listener_gets_the_reason_string() {
        let mut registry = Registry::new(Arc::default());
        let args = Arc::new(Mutex::new(Vec::new()));
        let sink = args.clone();
        let handler: Handler =
            Arc::new(move |event: Event| sink.lock().unwrap().extend_from_slice(event.args()));
        registry.shared.add(Listener {
            id: ListenerId(1),
            filter: Filter::Named("disconnect".into()),
            once: false,
            from: 0,
            handler,
        });
        registry
            .dispatch_free(
                0,
                SocketEvent::Disconnect(crate::DisconnectReason::PingTimeout),
            )
            .await;
        assert_eq!(*args.lock().unwrap(), [Value::from("ping timeout")]);
    }

    fn listener(id: u64, filter: Filter, once: bool, handler: Handler) -> Listener {
        Listener {
            id: ListenerId(id),
            filter,
            once,
            from: 0,
            handler,
        }
    }

    #[tokio::test]
    async fn the_table_is_copied_only_when_its_version_moved() {
        let mut registry = Registry::new(Arc::default());
        let shared = registry.shared.clone();
        let (handler, seen) = recorder();
        shared.add(listener(
            1,
            Filter::Named("a".into()),
            false,
            handler.clone(),
        ));
        shared.add(listener(2, Filter::Named("b".into()), true, handler));
        let version = shared.version.load(Ordering::Acquire);
        registry.dispatch_free(0, event("a")).await;
        assert_eq!(registry.version, version, "copied once");
        assert_eq!(registry.listeners.len(), 2);
        registry.dispatch_free(1, event("b")).await;
        assert!(
            shared.version.load(Ordering::Acquire) > version,
            "a fired once listener leaves the table"
        );
        assert_eq!(shared.len(), 1);
        shared.remove(ListenerId(1));
        registry.dispatch_free(2, event("a")).await;
        registry.dispatch_free(3, event("b")).await;
        assert_eq!(*seen.lock().unwrap(), ["a", "b"]);
        assert_eq!(shared.len(), 0);
        assert!(registry.listeners.is_empty());
    }

    #[tokio::test]
    async fn many_changes_cost_only_the_live_listeners() {
        let registry = Registry::new(Arc::default());
        let (handler, _) = recorder();
        for id in 0..10_000 {
            registry
                .shared
                .add(listener(id, Filter::Any, false, handler.clone()));
            registry.shared.remove(ListenerId(id));
        }
        registry
            .shared
            .add(listener(1, Filter::AnyOutgoing, false, handler.clone()));
        registry.shared.remove_all(&Filter::Any);
        assert_eq!(registry.shared.len(), 1);
    }

    #[test]
    fn a_stopped_table_takes_no_listener() {
        let shared = Arc::new(Listeners::default());
        let (handler, _) = recorder();
        shared.add(listener(1, Filter::Any, false, handler.clone()));
        shared.stop();
        assert_eq!(shared.len(), 0);
        shared.add(listener(2, Filter::Any, false, handler));
        assert_eq!(shared.len(), 0);
    }

    #[tokio::test]
    async fn a_full_outgoing_queue_drops_and_counts() {
        let (queue, mut outgoing_rx) = OutgoingQueue::new(3);
        for n in 0..10 {
            queue.send(Event::from_values("/".into(), n.to_string(), Vec::new()));
        }
        assert_eq!(queue.take_dropped(), 7);
        assert_eq!(queue.take_dropped(), 0, "the count restarts");
        let mut kept = Vec::new();
        while let Ok(event) = outgoing_rx.try_recv() {
            kept.push(event.event.name);
        }
        assert_eq!(kept, ["0", "1", "2"], "the oldest are kept");
        queue.send(Event::from_values("/".into(), "next".into(), Vec::new()));
        assert_eq!(queue.take_dropped(), 0, "room again once taken");
    }

    #[tokio::test]
    async fn outgoing_listeners_see_outgoing_events_only() {
        let mut registry = Registry::new(Arc::default());
        let (handler, seen) = recorder();
        registry
            .shared
            .add(listener(1, Filter::AnyOutgoing, false, handler));
        registry.dispatch_free(0, event("in")).await;
        registry.outgoing(0, &Event::from_values("/".into(), "out".into(), Vec::new()));
        assert_eq!(*seen.lock().unwrap(), ["out"]);
    }

    #[tokio::test]
    async fn an_outgoing_listener_gets_the_events_emitted_after_it_was_added() {
        let (queue, mut outgoing_rx) = OutgoingQueue::new(8);
        let mut registry = Registry::new(Arc::default());
        let (first, first_seen) = recorder();
        let (second, second_seen) = recorder();
        let emit = |name: &str| queue.send(Event::from_values("/".into(), name.into(), Vec::new()));
        queue.at_next(|from| {
            registry.shared.add(Listener {
                from,
                ..listener(1, Filter::AnyOutgoing, false, first)
            });
        });
        emit("before");
        // Added while "before" waits for the dispatcher.
        queue.at_next(|from| {
            registry.shared.add(Listener {
                from,
                ..listener(2, Filter::AnyOutgoing, false, second)
            });
        });
        emit("after");
        while let Ok(queued) = outgoing_rx.try_recv() {
            registry.outgoing(queued.seq, &queued.event);
        }
        assert_eq!(*first_seen.lock().unwrap(), ["before", "after"]);
        assert_eq!(*second_seen.lock().unwrap(), ["after"]);
    }
}
