import Foundation
internal import FerrioUniFFI

/// One namespace on a ``Manager``'s connection.
///
/// ```swift
/// let socket = try manager.socket(forNamespace: "/chat")
/// socket.on("message") { event in print(event.arguments) }
/// try await socket.connect()
/// try await socket.emit("message", "hello", ["room": "lobby"])
/// let reply = try await socket.emitWithAck("join", "lobby", timeout: .seconds(5))
/// for await event in socket.events(named: "news") { print(event.arguments) }
/// ```
///
/// Events are dispatched in order by one task per socket, from its creation until its
/// manager closes; handlers run one at a time.
public final class Socket: Sendable {
    /// The namespace, e.g. `/` or `/chat`.
    public let namespace: String
    /// The manager whose connection this socket uses.
    public let manager: Manager
    let native: FerrioUniFFI.Socket
    let hub: EventHub
    let outgoing: OutgoingHub

    init(manager: Manager, native: FerrioUniFFI.Socket) throws {
        self.manager = manager
        self.native = native
        self.namespace = native.namespace()
        let hub = EventHub(namespace: namespace)
        self.hub = hub
        self.outgoing = OutgoingHub(namespace: namespace)
        let events = try FerrioError.native { try native.events() }
        let connection = try? manager.native.events()
        manager.track(hub, Task { await hub.run(events, following: connection) })
    }

    // MARK: State

    /// The session id given by the server, while connected.
    public var id: String? {
        (try? native.id()) ?? nil
    }

    /// Whether the namespace is connected.
    public var isConnected: Bool {
        (try? native.connected()) ?? false
    }

    /// Whether connection state recovery restored the previous session (missed events
    /// replayed, rooms kept) on the last connect; `false` while disconnected. Also in
    /// ``ConnectionStatus/connected(id:recovered:)``.
    public var recovered: Bool {
        (try? native.recovered()) ?? false
    }

    // MARK: Connecting

    /// Connects the namespace (opening the connection if needed), waits for the server, and
    /// returns once the `connect` handlers have run (called from one of this socket's
    /// handlers, it does not wait for them). Emits made before are sent once connected, in
    /// order.
    ///
    /// - Throws: ``FerrioError/connect(message:data:)`` when the server refuses the
    ///   namespace (after the `connect_error` handlers ran), ``FerrioError/connectionFailed(_:)``,
    ///   ``FerrioError/connectTimeout``, ``FerrioError/closed``.
    public func connect() async throws {
        let connects = hub.count(of: .connected)
        let failures = hub.count(of: .failed)
        let waits = !hub.isDispatchingHere
        hub.publish(.connecting)
        do {
            try await native.connect()
        } catch {
            if waits { await hub.wait(for: .failed, beyond: failures, timeout: .seconds(5)) }
            throw FerrioError.from(error)
        }
        if waits { await hub.wait(for: .connected, beyond: connects, timeout: .seconds(5)) }
    }

    /// Disconnects this namespace (`io client disconnect`) and returns once its `disconnect`
    /// handlers have run (not waiting for them when called from one of this socket's
    /// handlers). The connection stays open for the manager's other sockets.
    public func disconnect() async {
        let wasConnected = isConnected
        let disconnects = hub.count(of: .disconnected)
        try? await native.disconnect()
        if wasConnected && !hub.isDispatchingHere {
            await hub.wait(for: .disconnected, beyond: disconnects, timeout: .seconds(5))
        }
    }

    // MARK: Offline buffer

    /// What waits in the offline buffer: the emits made while the namespace is not
    /// connected, sent in order once it is. Counted as the core takes emits in: one just
    /// made may show a moment later.
    public var buffered: BufferedEmits {
        guard let native = try? native.buffered() else {
            return BufferedEmits(emits: 0, bytes: 0)
        }
        return BufferedEmits(emits: native.emits, bytes: native.bytes)
    }

    /// Discards the offline buffer: those emits are never sent, and the ``emitWithAck``s
    /// among them fail.
    public func clearBuffer() async {
        try? await native.clearBuffer()
    }

    // MARK: Rooms

    /// Joins `room`: emits ``ClientOptions/roomJoinEvent`` (`join` by default) with the room's
    /// name now when connected, else once connected, and again after every reconnection that
    /// did not recover the session (the server forgot its rooms then). The server's handler of
    /// that event does the joining: Socket.IO has no room packet.
    public func joinRoom(_ room: String) async {
        try? await native.joinRoom(room: room)
    }

    /// Leaves `room`: forgets it (no join after a reconnection) and emits
    /// ``ClientOptions/roomLeaveEvent`` (`leave` by default) with its name when connected.
    public func leaveRoom(_ room: String) async {
        try? await native.leaveRoom(room: room)
    }

    // MARK: Emitting

    /// Sends `event` with `arguments`, each `Encodable` (`Data` anywhere travels as binary).
    /// While the namespace is offline, emits are buffered and sent in order after
    /// (re)connection; waits only while the outgoing queue is full.
    ///
    /// - Throws: ``FerrioError/reservedEvent(_:)``, ``FerrioError/encoding(_:)``,
    ///   ``FerrioError/bufferFull``, ``FerrioError/closed``, ...
    public func emit(_ event: String, _ arguments: any Encodable...) async throws {
        try await emit(event, arguments: arguments)
    }

    /// ``emit(_:_:)`` with the arguments as an array.
    public func emit(_ event: String, arguments: [any Encodable]) async throws {
        try await send(
            arguments,
            now: { try native.emit(event: event, argsJson: $0, attachments: $1) },
            waiting: { try await native.emitAsync(event: event, argsJson: $0, attachments: $1) }
        )
    }

    /// Sends `event` with `arguments` as a volatile event (the JavaScript client's
    /// `socket.volatile.emit`): sent only if the connection can take it now, dropped otherwise
    /// (while connecting or reconnecting, or during the upgrade from polling to WebSocket),
    /// never buffered nor retried. For values that are worthless once stale, such as a
    /// position. Waits only while the outgoing queue is full.
    ///
    /// - Throws: as ``emit(_:_:)``.
    public func emitVolatile(_ event: String, _ arguments: any Encodable...) async throws {
        try await emitVolatile(event, arguments: arguments)
    }

    /// ``emitVolatile(_:_:)`` with the arguments as an array.
    public func emitVolatile(_ event: String, arguments: [any Encodable]) async throws {
        try await send(
            arguments,
            now: { try native.emitVolatile(event: event, argsJson: $0, attachments: $1) },
            waiting: { try await native.emitVolatileAsync(event: event, argsJson: $0, attachments: $1) }
        )
    }

    /// Encodes `arguments` and queues them with `now`, a call that does not wait; when the
    /// outgoing queue is full, with `waiting`, which waits for room.
    private func send(
        _ arguments: [any Encodable],
        now: (String, [Data]) throws -> Void,
        waiting: (String, [Data]) async throws -> Void
    ) async throws {
        let (text, attachments) = try Codec.encode(arguments)
        do {
            try now(text, attachments)
        } catch EmitError.QueueFull {
            try await FerrioError.native { try await waiting(text, attachments) }
        } catch {
            throw FerrioError.from(error)
        }
    }

    /// Sends `event` and returns the server's acknowledgement (the arguments of its
    /// callback); decode them with ``Arguments/decode(_:at:)``.
    ///
    /// - Parameter timeout: how long to wait; the options' `ackTimeout` when `nil`.
    /// - Throws: ``FerrioError/timeout``, ``FerrioError/disconnected``, and the errors of
    ///   ``emit(_:_:)``.
    public func emitWithAck(
        _ event: String, _ arguments: any Encodable..., timeout: Duration? = nil
    ) async throws -> Arguments {
        try await emitWithAck(event, arguments: arguments, timeout: timeout)
    }

    /// ``emitWithAck(_:_:timeout:)`` with the arguments as an array.
    public func emitWithAck(
        _ event: String, arguments: [any Encodable], timeout: Duration? = nil
    ) async throws -> Arguments {
        let (text, attachments) = try Codec.encode(arguments)
        let ack = try await FerrioError.native {
            try await native.emitWithAck(
                event: event, argsJson: text, attachments: attachments,
                timeoutMs: timeout?.milliseconds)
        }
        return try Arguments(text: ack.argsJson, attachments: ack.attachments)
    }

    // MARK: Receiving

    /// Calls `handler` with every `event` (in order, one handler at a time), until
    /// ``off(_:)``. `"*"` receives the events without a handler of their own, as in
    /// python-socketio (``onAny(perform:)`` receives every event). Lifecycle events:
    /// `connect`, `disconnect` (the reason), `connect_error` (`{message, data}`); they never
    /// reach `"*"`. Errors thrown by the handler are ignored.
    @discardableResult
    public func on(_ event: String, perform handler: @escaping EventHandler) -> HandlerID {
        hub.add(event, handler)
    }

    /// Calls `handler` with the next `event` only, then removes it (as ``on(_:perform:)``
    /// otherwise: `"*"` and the lifecycle events too). ``off(_:)`` removes it before then.
    @discardableResult
    public func once(_ event: String, perform handler: @escaping EventHandler) -> HandlerID {
        hub.addOnce(event, handler)
    }

    /// Calls `handler` with the first argument of every `event`, decoded as `type`; events
    /// whose argument does not decode are skipped.
    @discardableResult
    public func on<T: Decodable & Sendable>(
        _ event: String, as type: T.Type, perform handler: @escaping @Sendable (T) async -> Void
    ) -> HandlerID {
        hub.add(event) { event in
            await handler(try event.decode(T.self))
        }
    }

    /// Calls `handler` whenever the namespace connects (after ``id`` is set, before
    /// ``connect()`` returns): the typed form of `on("connect")`.
    @discardableResult
    public func onConnect(perform handler: @escaping @Sendable () async -> Void) -> HandlerID {
        hub.add("connect") { _ in await handler() }
    }

    /// Calls `handler` whenever connecting the namespace fails: the server refused it (its
    /// message and data) or could not be reached (the client's message, no data). The typed
    /// form of `on("connect_error")`; it runs before ``connect()`` throws.
    @discardableResult
    public func onConnectError(perform handler: @escaping @Sendable (ConnectErrorInfo) async -> Void) -> HandlerID {
        hub.add("connect_error") { event in
            let payload = event.arguments.value
            let data = payload?["data"].flatMap { $0 == .null ? nil : $0 }
            await handler(ConnectErrorInfo(message: payload?["message"]?.stringValue ?? "", data: data))
        }
    }

    /// Calls `handler` with the reason whenever the namespace is disconnected.
    @discardableResult
    public func onDisconnect(perform handler: @escaping @Sendable (DisconnectReason) async -> Void) -> HandlerID {
        hub.add("disconnect") { event in
            if let reason = event.arguments.value?.stringValue.flatMap(DisconnectReason.init(rawValue:)) {
                await handler(reason)
            }
        }
    }

    /// Calls `handler` with every event from the server (not the lifecycle events), before
    /// the event's own handlers (or `"*"`'s), whether or not it has some: the JavaScript
    /// client's `onAny`. Remove it with ``off(_:)`` (its id) or ``offAny()``.
    @discardableResult
    public func onAny(perform handler: @escaping EventHandler) -> HandlerID {
        hub.addAny(handler)
    }

    /// Removes every ``onAny(perform:)`` handler.
    public func offAny() {
        hub.removeAllAny()
    }

    /// Calls `handler` with every event this socket emits from now on (``emit(_:_:)``,
    /// ``emitVolatile(_:_:)``, ``emitWithAck(_:_:timeout:)``; each once, even with
    /// ``ClientOptions/retries``; not the events of ``joinRoom(_:)`` and ``leaveRoom(_:)``), in
    /// the order of the emits: the JavaScript client's `onAnyOutgoing`. The event has the
    /// emit's name and arguments as the receiving side decodes them (`Data` for binary).
    /// Handlers run one at a time, in registration order, on a task of their own (not the one
    /// of ``on(_:perform:)``'s handlers). Bounded: when the handlers fall 1024 events behind,
    /// the emits are still sent but not shown to them, and a warning says how many were not.
    /// Remove it with ``off(_:)`` (its id) or ``offAnyOutgoing()``; with none left, emits take
    /// their fast path again.
    @discardableResult
    public func onAnyOutgoing(perform handler: @escaping EventHandler) -> HandlerID {
        let id = hub.newID()
        outgoing.add(id, handler, on: native)
        return HandlerID(value: id)
    }

    /// Removes every ``onAnyOutgoing(perform:)`` handler.
    public func offAnyOutgoing() {
        outgoing.removeAll()
    }

    /// Removes the handler `id` (of ``on(_:perform:)``, ``onAny(perform:)`` or
    /// ``onAnyOutgoing(perform:)``).
    public func off(_ id: HandlerID) {
        hub.remove(id)
        outgoing.remove(id.value)
    }

    /// Removes every handler of `event`.
    public func off(_ event: String) {
        hub.removeAll(named: event)
    }

    /// Every event from the server from now on (not the lifecycle events), until the manager
    /// closes, at most ``EventStream/defaultMaxQueued`` (1024) of them waiting to be taken:
    /// newer ones are dropped and counted in ``EventStream/dropped``. Ending the iteration
    /// (`break`, a cancelled task) unregisters the stream.
    public var events: EventStream {
        hub.stream(named: nil, maxQueued: EventStream.defaultMaxQueued)
    }

    /// Every event from the server from now on, as ``events``, at most `maxQueued` of them
    /// waiting to be taken (must be at least 1).
    public func events(maxQueued: Int) -> EventStream {
        precondition(maxQueued >= 1, "maxQueued must be at least 1")
        return hub.stream(named: nil, maxQueued: maxQueued)
    }

    /// The events named `name` from now on, as ``events``, at most `maxQueued` of them
    /// waiting to be taken (must be at least 1): newer ones are dropped and counted in
    /// ``EventStream/dropped``.
    public func events(named name: String, maxQueued: Int = EventStream.defaultMaxQueued) -> EventStream {
        precondition(maxQueued >= 1, "maxQueued must be at least 1")
        return hub.stream(named: name, maxQueued: maxQueued)
    }
}
