//! Runs user code: each socket has one dispatcher task that owns its listeners and pull
//! streams, so a slow handler never stalls the connection task or other namespaces.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::error::ConnectError;
use crate::event::{Event, SocketEvent};
use crate::manager::command::{Charge, Delivery};
use crate::state::SocketState;
use crate::stream::Queued;
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

/// A change to the dispatcher's listeners, or an outgoing event to report.
pub(crate) enum Registration {
    /// Add a listener for the events numbered `from` and later.
    Add {
        id: ListenerId,
        filter: Filter,
        once: bool,
        from: u64,
        handler: Handler,
    },
    /// Remove one listener.
    Remove(ListenerId),
    /// Remove every listener with this filter.
    RemoveAll(Filter),
    /// Add a pull stream of the events numbered `from` and later.
    Stream {
        stream_tx: mpsc::Sender<Queued>,
        from: u64,
    },
    /// Tell the outgoing listeners about an emit.
    Outgoing(Event),
}

struct Listener {
    id: ListenerId,
    filter: Filter,
    once: bool,
    from: u64,
    handler: Handler,
}

struct Stream {
    stream_tx: mpsc::Sender<Queued>,
    from: u64,
}

/// The dispatcher's listeners and streams.
#[derive(Default)]
struct Registry {
    listeners: Vec<Listener>,
    streams: Vec<Stream>,
}

impl Registry {
    fn apply(&mut self, registration: Registration) {
        match registration {
            Registration::Add {
                id,
                filter,
                once,
                from,
                handler,
            } => {
                self.listeners.push(Listener {
                    id,
                    filter,
                    once,
                    from,
                    handler,
                });
            }
            Registration::Remove(id) => self.listeners.retain(|l| l.id != id),
            Registration::RemoveAll(filter) => self.listeners.retain(|l| l.filter != filter),
            Registration::Stream { stream_tx, from } => {
                self.streams.push(Stream { stream_tx, from })
            }
            Registration::Outgoing(event) => {
                self.call(u64::MAX, |f| *f == Filter::AnyOutgoing, &event)
            }
        }
    }

    /// Hands event `seq` to the streams (each copy counting its bytes once more until
    /// taken) and to the listeners; `charge` is given back once they all have it.
    async fn dispatch(&mut self, seq: u64, event: SocketEvent, charge: Charge) {
        let mut index = 0;
        while index < self.streams.len() {
            let stream = &self.streams[index];
            let queued = || Queued {
                event: event.clone(),
                charge: charge.duplicate(),
            };
            if stream.from <= seq && stream.stream_tx.send(queued()).await.is_err() {
                self.streams.swap_remove(index);
            } else {
                index += 1;
            }
        }
        match event {
            SocketEvent::Event(event) => {
                self.call(
                    seq,
                    |f| matches!(f, Filter::Named(name) if *name == event.name),
                    &event,
                );
                self.call(seq, |f| *f == Filter::Any, &event);
            }
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
        let event = Event::new("".into(), name.to_owned(), args, None);
        self.call(seq, |f| matches!(f, Filter::Named(n) if n == name), &event);
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
            let handler = listener.handler.clone();
            let event = event.clone();
            if catch_unwind(AssertUnwindSafe(move || handler(event))).is_err() {
                tracing::error!(event = %event_name(listener), "a listener panicked");
            }
            if listener.once {
                fired.push(listener.id);
            }
        }
        if !fired.is_empty() {
            self.listeners.retain(|l| !fired.contains(&l.id));
        }
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

/// What a socket's dispatcher runs with; kept by the socket until its first listener or
/// stream.
pub(crate) struct DispatcherStart {
    /// The thread's name.
    pub(crate) name: String,
    /// The runtime the socket was made in: listeners run within its context.
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) event_rx: mpsc::Receiver<Delivery>,
    pub(crate) registration_rx: mpsc::UnboundedReceiver<Registration>,
    pub(crate) state_rx: watch::Receiver<SocketState>,
}

/// Starts a socket's dispatcher on a thread of its own, so that a blocking listener never
/// stalls a tokio worker. Listeners run within the socket's runtime context: `tokio::spawn`
/// from a listener spawns on that runtime.
pub(crate) fn spawn_dispatcher(start: DispatcherStart) {
    let DispatcherStart {
        name,
        runtime,
        event_rx,
        registration_rx,
        state_rx,
    } = start;
    let spawned = std::thread::Builder::new()
        .name(name)
        .spawn(move || runtime.block_on(run_dispatcher(event_rx, registration_rx, state_rx)));
    if let Err(error) = spawned {
        tracing::error!(%error, "could not start a dispatcher thread");
    }
}

/// Runs a socket's dispatcher until the socket is closed or every sender is gone.
async fn run_dispatcher(
    mut event_rx: mpsc::Receiver<Delivery>,
    mut registration_rx: mpsc::UnboundedReceiver<Registration>,
    mut state_rx: watch::Receiver<SocketState>,
) {
    let mut registry = Registry::default();
    let mut registrations_open = true;
    loop {
        tokio::select! {
            biased;
            closed = state_rx.wait_for(|state| *state == SocketState::Closed) => {
                                if closed.is_ok() {
                    // Deliver what the connection task produced before closing, to the
                    // listeners and streams added before it, then stop.
                    while let Ok(registration) = registration_rx.try_recv() {
                        registry.apply(registration);
                    }
                    while let Ok(Delivery { seq, event, charge }) = event_rx.try_recv() {
                        registry.dispatch(seq, event, charge).await;
                    }
                }
                return;
            }
            registration = registration_rx.recv(), if registrations_open => match registration {
                Some(registration) => registry.apply(registration),
                None => registrations_open = false,
            },
            delivery = event_rx.recv() => match delivery {
                Some(Delivery { seq, event, charge }) => {
                    // Listeners added before this event was produced apply to it.
                    while let Ok(registration) = registration_rx.try_recv() {
                        registry.apply(registration);
                    }
                    registry.dispatch(seq, event, charge).await;
                }
                None => return,
            },
        }
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
        async fn dispatch_free(&mut self, seq: u64, event: SocketEvent) {
            self.dispatch(seq, event, Charge::default()).await;
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
        SocketEvent::Event(Event::new("/".into(), name.into(), Vec::new(), None))
    }

    #[tokio::test]
    async fn each_stream_copy_counts_its_bytes_until_taken() {
        let queued = Arc::new(crate::manager::command::QueuedBytes::new(1000));
        let mut registry = Registry::default();
        let (first_tx, first_rx) = mpsc::channel(4);
        let (second_tx, second_rx) = mpsc::channel(4);
        for stream_tx in [first_tx, second_tx] {
            registry.apply(Registration::Stream { stream_tx, from: 0 });
        }
        registry.dispatch(0, event("a"), queued.charge(100)).await;
        assert_eq!(queued.bytes(), 200, "one copy in each stream");
        let mut first = crate::EventStream::new(first_rx);
        assert!(first.next().await.is_some());
        assert_eq!(queued.bytes(), 100);
        drop(second_rx);
        assert_eq!(queued.bytes(), 0, "a dropped stream gives its bytes back");
    }

    #[tokio::test]
    async fn once_listener_fires_a_single_time() {
        let mut registry = Registry::default();
        let (handler, seen) = recorder();
        registry.apply(Registration::Add {
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
    async fn any_listener_sees_custom_events_but_not_builtin_ones() {
        let mut registry = Registry::default();
        let (handler, seen) = recorder();
        registry.apply(Registration::Add {
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
        let mut registry = Registry::default();
        let (handler, seen) = recorder();
        registry.apply(Registration::Add {
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
        let mut registry = Registry::default();
        let (handler, seen) = recorder();
        registry.apply(Registration::Add {
            id: ListenerId(7),
            filter: Filter::Named("a".into()),
            once: false,
            from: 0,
            handler,
        });
        registry.apply(Registration::Remove(ListenerId(7)));
        registry.dispatch_free(0, event("a")).await;
        assert!(seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_panicking_listener_does_not_stop_the_others() {
        let mut registry = Registry::default();
        let (handler, seen) = recorder();
        let panicking: Handler = Arc::new(|_| panic!("boom"));
        registry.apply(Registration::Add {
            id: ListenerId(1),
            filter: Filter::Named("a".into()),
            once: false,
            from: 0,
            handler: panicking,
        });
        registry.apply(Registration::Add {
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
        let mut registry = Registry::default();
        let args = Arc::new(Mutex::new(Vec::new()));
        let sink = args.clone();
        let handler: Handler =
            Arc::new(move |event: Event| sink.lock().unwrap().extend(event.args));
        registry.apply(Registration::Add {
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
}
