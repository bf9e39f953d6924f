import Foundation
internal import FerrioUniFFI

/// A socket's outgoing catch-all (``Socket/onAnyOutgoing(perform:)``): while it has handlers,
/// the core reports each event the socket emits through a subscription of its own (a native
/// delivery thread), whose batches a task hands to the handlers, in order, one at a time.
///
/// Bounded twice: the core keeps at most 1024 events for the delivery thread (past that an emit
/// is sent but not reported, and the next batch says how many were not), and at most
/// ``maxQueued`` wait here for the handlers (newer ones are dropped, counted and logged).
final class OutgoingHub: Sendable {
    /// Events waiting for the handlers, past which new ones are dropped.
    static let maxQueued = 1024

    /// A running subscription and the task that runs the handlers.
    private struct Feed {
        let subscription: FerrioUniFFI.Subscription
        let continuation: AsyncStream<EventRecord>.Continuation
        let task: Task<Void, Never>

        /// Stops the reports (removing the core's listener), then lets the task end.
        func stop() {
            try? subscription.cancel()
            continuation.finish()
        }
    }

    private struct State {
        var handlers: [(id: UInt64, handler: EventHandler)] = []
        var feed: Feed?
        var ended = false
    }

    let namespace: String
    private let state = Locked(State())

    /// The hub whose handler the current task is running: ``end()`` called from one must not
    /// wait for that hub's task.
    @TaskLocal static var dispatching: OutgoingHub?

    init(namespace: String) {
        self.namespace = namespace
    }

    /// Adds a handler with the id `id`; the first one subscribes to `native`'s outgoing events.
    func add(_ id: UInt64, _ handler: @escaping EventHandler, on native: FerrioUniFFI.Socket) {
        state.withLock { state in
            state.handlers.append((id, handler))
            guard state.feed == nil, !state.ended else { return }
            let (stream, continuation) = AsyncStream.makeStream(
                of: EventRecord.self, bufferingPolicy: .bufferingOldest(Self.maxQueued))
            let drops = DropCounter(label: "onAnyOutgoing of \(namespace)", maxQueued: Self.maxQueued)
            let listener = OutgoingListener(continuation: continuation, drops: drops)
            do {
                let subscription = try native.subscribeOutgoing(listener: listener, maxBatch: 64)
                let task = Task { [self] in
                    for await record in stream {
                        await dispatch(record)
                    }
                }
                state.feed = Feed(subscription: subscription, continuation: continuation, task: task)
            } catch {
                continuation.finish()
                Log.warning("\(namespace): onAnyOutgoing could not subscribe: \(error)")
            }
        }
    }

    /// Removes the handler `id`, if it is one of these; the last one stops the subscription.
    func remove(_ id: UInt64) {
        let feed = state.withLock { state -> Feed? in
            state.handlers.removeAll { $0.id == id }
            return state.handlers.isEmpty ? state.feed.take() : nil
        }
        feed?.stop()
    }

    /// Removes every handler and stops the subscription.
    func removeAll() {
        let feed = state.withLock { state -> Feed? in
            state.handlers.removeAll()
            return state.feed.take()
        }
        feed?.stop()
    }

    /// The manager closed: stops the subscription and waits for the handlers to finish (not
    /// when called from one of them); no handler is added after.
    func end() async {
        let feed = state.withLock { state -> Feed? in
            state.ended = true
            return state.feed.take()
        }
        guard let feed else { return }
        feed.stop()
        if OutgoingHub.dispatching !== self {
            await feed.task.value
        }
    }

    private func dispatch(_ record: EventRecord) async {
        switch record.kind {
        case .event:
            let handlers = state.withLock { $0.handlers }
            guard !handlers.isEmpty,
                let arguments = try? Arguments(text: record.argsJson, attachments: record.attachments)
            else { return }
            let event = Event(namespace: namespace, name: record.name, arguments: arguments, responder: nil)
            await OutgoingHub.$dispatching.withValue(self) {
                for (_, handler) in handlers {
                    try? await handler(event)
                }
            }
        case .lagged:
            Log.warning("\(namespace): \(record.dropped) emits not shown to onAnyOutgoing (its handlers fell behind)")
        default:
            break
        }
    }
}

/// The native listener of a socket's outgoing events: it only queues each batch for the
/// handlers' task, so the delivery thread never waits for a handler.
private final class OutgoingListener: EventListener {
    let continuation: AsyncStream<EventRecord>.Continuation
    let drops: DropCounter

    init(continuation: AsyncStream<EventRecord>.Continuation, drops: DropCounter) {
        self.continuation = continuation
        self.drops = drops
    }

    func onEvents(batch: [EventRecord]) throws {
        for record in batch {
            switch continuation.yield(record) {
            case .enqueued: drops.queued()
            case .dropped: drops.dropped()
            case .terminated: return
            @unknown default: break
            }
        }
    }
}

extension Optional {
    /// The value, leaving `nil`.
    fileprivate mutating func take() -> Wrapped? {
        defer { self = nil }
        return self
    }
}
