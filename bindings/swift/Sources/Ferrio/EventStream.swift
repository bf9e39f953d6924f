import Foundation

/// A socket's events as an `AsyncSequence` (``Socket/events`` and
/// ``Socket/events(named:maxQueued:)``), with a bounded buffer.
///
/// At most `maxQueued` events (1024 unless given) wait to be taken. When that many are
/// waiting, newer events are dropped, not the waiting ones: each drop is counted in
/// ``dropped``, and a warning is logged when a run of drops starts (the same policy as the
/// Python package's `events(max_queued=1024)`). So a loop that stops taking events cannot
/// grow the process without bound. Handlers are not affected: they see every event.
///
/// ```swift
/// let news = socket.events(named: "news", maxQueued: 100)
/// for await event in news { print(event.arguments) }
/// print("missed", news.dropped)
/// ```
///
/// The sequence ends when the socket's manager closes; ending the iteration (`break`, a
/// cancelled task) unregisters it. Iterate it from one task.
public struct EventStream: AsyncSequence, Sendable {
    /// An event.
    public typealias Element = Event

    /// The default bound: events waiting to be taken, past which new ones are dropped.
    public static let defaultMaxQueued = 1024

    /// At most this many events wait to be taken.
    public let maxQueued: Int
    let stream: AsyncStream<Event>
    let drops: DropCounter

    /// How many events were dropped so far because ``maxQueued`` events were waiting.
    public var dropped: Int { drops.count }

    /// An iterator over the events.
    public func makeAsyncIterator() -> AsyncStream<Event>.Iterator {
        stream.makeAsyncIterator()
    }
}

/// Counts the events an ``EventStream`` dropped, and logs a warning when a run of drops
/// starts (the first drop after an event was queued).
final class DropCounter: Sendable {
    private let state = Locked((count: 0, dropping: false))
    private let label: String
    private let maxQueued: Int

    init(label: String, maxQueued: Int) {
        self.label = label
        self.maxQueued = maxQueued
    }

    var count: Int { state.withLock { $0.count } }

    /// The event was queued: a later drop starts a new run.
    func queued() {
        state.withLock { $0.dropping = false }
    }

    /// The event was dropped.
    func dropped() {
        let (count, starts) = state.withLock { state -> (Int, Bool) in
            state.count += 1
            defer { state.dropping = true }
            return (state.count, !state.dropping)
        }
        if starts {
            Log.warning("\(label): \(maxQueued) events waiting, dropping new ones (\(count) dropped so far)")
        }
    }
}
