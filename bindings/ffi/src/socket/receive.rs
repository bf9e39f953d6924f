//! How a socket's events reach the foreign language: a delivery queue per subscription
//! ([`EventQueue`]), waited on in one of three ways: pulled ([`EventStream`]), signalled on
//! a descriptor ([`EventPipe`]) or handed to a listener ([`Subscription`]).

use std::sync::Arc;

use super::Socket;
use crate::error::CallError;
use crate::listener::{Delivery, EventListener, JsonEventListener, Listener, Subscription};
#[cfg(unix)]
use crate::pipe::EventPipe;
use crate::queue::{EventQueue, Outgoing, Source};
use crate::runtime::guard;
use crate::stream::EventStream;

impl Socket {
    /// A queue of this socket fed by `source` (`None` once the manager is closed), ended
    /// by the manager's close.
    fn queue(&self, source: Option<Source>) -> Arc<EventQueue> {
        Arc::new(EventQueue::new(
            self.namespace.clone(),
            source,
            self.tracker.clone(),
        ))
    }

    /// A queue of everything this socket observes from now on.
    /// Manager events wait for it to be handled ([`crate::tracker::Tracker::caught_up`]).
    pub(super) fn events_queue(&self) -> Arc<EventQueue> {
        let queue = self.queue(self.core().map(|core| Source::Events(core.events())));
        self.tracker.queue(&queue);
        queue
    }

    /// Delivers `queue` to `listener` on the delivery threads, waited for by the
    /// manager's close.
    fn deliver(
        &self,
        queue: Arc<EventQueue>,
        listener: Listener,
        max_batch: u32,
    ) -> Result<Arc<Delivery>, CallError> {
        let delivery =
            Delivery::start(queue, listener, max_batch).map_err(|e| CallError::Resource {
                detail: format!("could not start a delivery thread: {e}"),
            })?;
        self.tracker.delivery(&delivery);
        Ok(delivery)
    }

    /// This socket with `listener` given its packed batches (as `subscribe_json`) for as
    /// long as the socket object lives, or until the manager closes.
    pub(crate) fn with_listener(
        mut self,
        listener: Arc<dyn JsonEventListener>,
        max_batch: u32,
    ) -> Result<Self, CallError> {
        let delivery = self.deliver(self.events_queue(), Listener::Packed(listener), max_batch)?;
        self.listener = Some(delivery);
        Ok(self)
    }
}

#[uniffi::export]
impl Socket {
    /// A pull stream of everything this socket observes from now on. A closed stream
    /// when the manager is closed.
    pub fn events(&self) -> Result<Arc<EventStream>, CallError> {
        guard(|| Ok(Arc::new(EventStream::new(self.events_queue()))))
    }

    /// Calls `listener` with batches of at most `max_batch` events (64 is a good value)
    /// on a delivery thread (shared by the process's subscriptions, see [`EventListener`]),
    /// until the subscription is cancelled or the manager closed.
    pub fn subscribe(
        &self,
        listener: Arc<dyn EventListener>,
        max_batch: u32,
    ) -> Result<Arc<Subscription>, CallError> {
        guard(|| {
            let delivery =
                self.deliver(self.events_queue(), Listener::Records(listener), max_batch)?;
            Ok(Arc::new(Subscription::new(delivery)))
        })
    }

    /// `subscribe` with the batches packed ([`crate::JsonBatch`]: plain events as one
    /// JSON text, the others as records) for a [`JsonEventListener`].
    pub fn subscribe_json(
        &self,
        listener: Arc<dyn JsonEventListener>,
        max_batch: u32,
    ) -> Result<Arc<Subscription>, CallError> {
        guard(|| {
            let delivery =
                self.deliver(self.events_queue(), Listener::Packed(listener), max_batch)?;
            Ok(Arc::new(Subscription::new(delivery)))
        })
    }

    /// Calls `listener` with every event this socket emits from now on (the outgoing
    /// catch-all, JS `onAnyOutgoing`), in the order of the emits, in batches of at most
    /// `max_batch`, on a delivery thread (as `subscribe`). Emits of every
    /// kind are reported (plain, volatile, with ack, with retries: once each), as records
    /// of kind `Event` without `ack`; not the join and leave events of `join_room`.
    ///
    /// Bounded: the events wait for the listener in a queue of 1024 (the core's
    /// `incoming_capacity`); past that, an emit is still sent but not reported, and the
    /// next batch ends with a `Lagged` record of how many were not (an emit never waits
    /// for a listener). `cancel` removes it; closing the manager ends it.
    pub fn subscribe_outgoing(
        &self,
        listener: Arc<dyn EventListener>,
        max_batch: u32,
    ) -> Result<Arc<Subscription>, CallError> {
        guard(|| {
            let fed = self.core().map(|core| Outgoing::listen(&core));
            let (id, source) = match fed {
                Some((id, outgoing)) => (Some(id), Some(Source::Outgoing(outgoing))),
                None => (None, None),
            };
            let delivery =
                self.deliver(self.queue(source), Listener::Records(listener), max_batch)?;
            Ok(Arc::new(match id {
                Some(id) => Subscription::fed_by(delivery, self.core.clone(), id),
                None => Subscription::new(delivery),
            }))
        })
    }
}

/// The event pipe is a Unix pipe (its call socket a Unix socket pair): exported on Unix.
/// Bindings generated from a library built for another platform (Windows) have no
/// `event_pipe`; their users pull with [`Socket::events`] or [`Socket::subscribe`].
#[cfg(unix)]
#[uniffi::export]
impl Socket {
    /// Like `events`, delivered through a descriptor the caller's event loop watches (see
    /// [`EventPipe`]), which also carries the replies to its `emit_with_ack`.
    pub fn event_pipe(&self) -> Result<Arc<EventPipe>, CallError> {
        guard(|| {
            let pipe = EventPipe::new(self.events_queue(), self.core.clone()).map_err(|e| {
                CallError::Resource {
                    detail: format!("could not open the event pipe: {e}"),
                }
            })?;
            Ok(Arc::new(pipe))
        })
    }
}
