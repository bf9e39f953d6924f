import Foundation
internal import FerrioUniFFI

/// A handler of ``Socket/on(_:perform:)``.
public typealias EventHandler = @Sendable (Event) async throws -> Void

/// Identifies a registered handler, to remove it with ``Socket/off(_:)``.
public struct HandlerID: Sendable, Hashable {
    let value: UInt64
}

/// One socket's dispatcher: a task pulls the socket's native event stream in drained
/// batches (up to 64 events per call) and hands each event, in order, to the
/// ``EventStream``s of the socket (each bounded: a full one drops and counts the event),
/// then to its `onAny` handlers, then to the event's handlers (or `"*"`'s when it has none).
/// Handlers run one at a time; a slow handler delays the next event. Status changes
/// (``Socket/statusChanges``) are published as the socket's events are dispatched, and as
/// a second task receives its connection's events, which the native stream gives only once
/// the socket's events queued before them were dispatched: so the connection's come after
/// the socket's changes that happened before them.
final class EventHub: Sendable {
    /// The lifecycle milestones `connect` and `disconnect` wait for.
    enum Milestone: Hashable {
        case connected, failed, disconnected
    }

    private struct Subscriber {
        let name: String?
        let continuation: AsyncStream<Event>.Continuation
        let drops: DropCounter
    }

    private struct Waiter {
        let milestone: Milestone
        let beyond: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var nextID: UInt64 = 0
        var handlers: [String: [(id: UInt64, handler: EventHandler)]] = [:]
        var anyHandlers: [(id: UInt64, handler: EventHandler)] = []
        /// The ids of the handlers added with `once`: removed as an event takes them.
        var once: Set<UInt64> = []
        var subscribers: [UInt64: Subscriber] = [:]
        var statuses: [UInt64: AsyncStream<ConnectionStatus>.Continuation] = [:]
        var counts: [Milestone: Int] = [:]
        var waiters: [UInt64: Waiter] = [:]
        var ended = false

        /// The handlers of `name`; the `once` ones among them are removed as they are taken.
        mutating func take(_ name: String) -> [(id: UInt64, handler: EventHandler)] {
            let taken = handlers[name] ?? []
            if taken.contains(where: { once.contains($0.id) }) {
                var remaining = once
                handlers[name]?.removeAll { remaining.remove($0.id) != nil }
                once = remaining
            }
            return taken
        }
    }

    let namespace: String
    private let state = Locked(State())

    /// The hub whose handler the current task is running: `connect`, `disconnect` and
    /// `close` called from a handler must not wait for that hub, which waits for them.
    @TaskLocal static var dispatching: EventHub?

    /// Whether the current task runs one of this hub's handlers.
    var isDispatchingHere: Bool { EventHub.dispatching === self }

    init(namespace: String) {
        self.namespace = namespace
    }

    // MARK: Registration

    func add(_ name: String, _ handler: @escaping EventHandler) -> HandlerID {
        state.withLock { state in
            state.nextID += 1
            state.handlers[name, default: []].append((state.nextID, handler))
            return HandlerID(value: state.nextID)
        }
    }

    /// Adds a handler of the next `name` only.
    func addOnce(_ name: String, _ handler: @escaping EventHandler) -> HandlerID {
        state.withLock { state in
            state.nextID += 1
            state.handlers[name, default: []].append((state.nextID, handler))
            state.once.insert(state.nextID)
            return HandlerID(value: state.nextID)
        }
    }

    /// Adds a handler of every incoming event (not the lifecycle events).
    func addAny(_ handler: @escaping EventHandler) -> HandlerID {
        state.withLock { state in
            state.nextID += 1
            state.anyHandlers.append((state.nextID, handler))
            return HandlerID(value: state.nextID)
        }
    }

    /// A fresh handler id, for handlers kept elsewhere (``OutgoingHub``).
    func newID() -> UInt64 {
        state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
    }

    func remove(_ id: HandlerID) {
        state.withLock { state in
            for name in state.handlers.keys {
                state.handlers[name]?.removeAll { $0.id == id.value }
            }
            state.anyHandlers.removeAll { $0.id == id.value }
            state.once.remove(id.value)
        }
    }

    func removeAllAny() {
        state.withLock { $0.anyHandlers.removeAll() }
    }

    func removeAll(named name: String) {
        state.withLock { state in
            for removed in state.handlers.removeValue(forKey: name) ?? [] {
                state.once.remove(removed.id)
            }
        }
    }

    /// Events (named `name`, or all) from now on, until the socket's manager closes, at most
    /// `maxQueued` of them waiting (newer ones dropped and counted); ending the iteration
    /// unregisters the stream.
    func stream(named name: String?, maxQueued: Int) -> EventStream {
        let label = name.map { "events(named: \"\($0)\") of \(namespace)" } ?? "events of \(namespace)"
        let drops = DropCounter(label: label, maxQueued: maxQueued)
        let stream = AsyncStream(Event.self, bufferingPolicy: .bufferingOldest(maxQueued)) { continuation in
            let id: UInt64? = state.withLock { state in
                if state.ended { return nil }
                state.nextID += 1
                state.subscribers[state.nextID] = Subscriber(
                    name: name, continuation: continuation, drops: drops)
                return state.nextID
            }
            guard let id else {
                continuation.finish()
                return
            }
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
            }
        }
        return EventStream(maxQueued: maxQueued, stream: stream, drops: drops)
    }

    /// Status changes from now on (``Socket/statusChanges``): those of the socket as its
    /// events are dispatched, those of its connection as they come, and ``publish(_:)``'s,
    /// at most `maxQueued` waiting (the oldest dropped).
    func statusStream(maxQueued: Int) -> AsyncStream<ConnectionStatus> {
        AsyncStream(ConnectionStatus.self, bufferingPolicy: .bufferingNewest(maxQueued)) { continuation in
            let id: UInt64? = state.withLock { state in
                if state.ended { return nil }
                state.nextID += 1
                state.statuses[state.nextID] = continuation
                return state.nextID
            }
            guard let id else {
                continuation.finish()
                return
            }
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.statuses.removeValue(forKey: id) }
            }
        }
    }

    /// Hands `status` to every ``statusStream(following:maxQueued:)``.
    func publish(_ status: ConnectionStatus) {
        let continuations = state.withLock { Array($0.statuses.values) }
        continuations.forEach { $0.yield(status) }
    }

    /// How many `AsyncStream`s are registered.
    var subscriberCount: Int {
        state.withLock { $0.subscribers.count }
    }

    // MARK: Milestones

    func count(of milestone: Milestone) -> Int {
        state.withLock { $0.counts[milestone, default: 0] }
    }

    /// Waits until `milestone` happened more than `beyond` times, the hub ended, or
    /// `timeout` passed.
    func wait(for milestone: Milestone, beyond: Int, timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.ended || state.counts[milestone, default: 0] > beyond { return true }
                state.waiters[id] = Waiter(milestone: milestone, beyond: beyond, continuation: continuation)
                return false
            }
            if done {
                continuation.resume()
                return
            }
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.release { id2, _ in id2 == id }
            }
        }
    }

    /// Resumes (outside the lock) the waiters `matching` selects.
    private func release(_ matching: (UInt64, Waiter) -> Bool) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let ids = state.waiters.filter { matching($0.key, $0.value) }.map(\.key)
            return ids.compactMap { state.waiters.removeValue(forKey: $0)?.continuation }
        }
        ready.forEach { $0.resume() }
    }

    private func reached(_ milestone: Milestone) {
        let count = state.withLock { state -> Int in
            state.counts[milestone, default: 0] += 1
            return state.counts[milestone]!
        }
        release { _, waiter in waiter.milestone == milestone && count > waiter.beyond }
    }

    // MARK: Dispatch

    /// Pulls `events` until they end (the manager closed), then ends every `AsyncStream`
    /// and releases every waiter; meanwhile another task follows `connection` (until the
    /// manager closes) for the status changes it makes.
    func run(_ events: FerrioUniFFI.EventStream, following connection: ManagerEventStream?) async {
        if let connection {
            Task { [weak self] in
                while let event = (try? await connection.next()) ?? nil {
                    self?.follow(ConnectionEvent(event))
                }
            }
        }
        while true {
            let batch: [EventRecord]
            do {
                batch = try await events.nextBatch(max: 64)
            } catch {
                break
            }
            if batch.isEmpty { break }
            for record in batch {
                await dispatch(record)
            }
        }
        let (subscribers, statuses) = state.withLock { state in
            state.ended = true
            defer {
                state.subscribers.removeAll()
                state.statuses.removeAll()
            }
            return (Array(state.subscribers.values), Array(state.statuses.values))
        }
        subscribers.forEach { $0.continuation.finish() }
        statuses.forEach { $0.finish() }
        release { _, _ in true }
    }

    /// Publishes the status a change of the connection makes: a reconnection attempt, or
    /// giving up.
    private func follow(_ event: ConnectionEvent) {
        switch event {
        case .reconnectAttempt(let attempt): publish(.reconnecting(attempt: attempt))
        case .reconnectFailed: publish(.reconnectFailed)
        default: break
        }
    }

    private func dispatch(_ record: EventRecord) async {
        switch record.kind {
        case .event:
            guard let arguments = try? Arguments(text: record.argsJson, attachments: record.attachments)
            else { return }
            let event = Event(
                namespace: record.namespace, name: record.name, arguments: arguments,
                responder: record.ack.map(Responder.init))
            let (handlers, subscribers) = state.withLock { state in
                let own = state.take(event.name)
                return (state.anyHandlers + (own.isEmpty ? state.take("*") : own),
                        Array(state.subscribers.values))
            }
            for subscriber in subscribers where subscriber.name == nil || subscriber.name == event.name {
                switch subscriber.continuation.yield(event) {
                case .enqueued: subscriber.drops.queued()
                case .dropped: subscriber.drops.dropped()
                case .terminated: break
                @unknown default: break
                }
            }
            await run(handlers, with: event)
        case .connect:
            publish(.connected(id: record.sid ?? "", recovered: record.recovered))
            await lifecycle(record, "connect")
            reached(.connected)
        case .disconnect:
            if let reason = record.reason { publish(.disconnected(Ferrio.DisconnectReason(reason))) }
            await lifecycle(record, "disconnect")
            reached(.disconnected)
        case .connectError:
            publish(.connectFailed(message: record.error ?? ""))
            await lifecycle(record, "connect_error")
            reached(.failed)
        case .lagged:
            break
        }
    }

    private func lifecycle(_ record: EventRecord, _ name: String) async {
        let handlers = state.withLock { $0.take(name) }
        guard !handlers.isEmpty,
            let arguments = try? Arguments(text: record.argsJson, attachments: record.attachments)
        else { return }
        await run(handlers, with: Event(namespace: namespace, name: name, arguments: arguments, responder: nil))
    }

    private func run(_ handlers: [(id: UInt64, handler: EventHandler)], with event: Event) async {
        await EventHub.$dispatching.withValue(self) {
            for (_, handler) in handlers {
                try? await handler(event)
            }
        }
    }
}
