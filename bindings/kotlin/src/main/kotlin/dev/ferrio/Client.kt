package dev.ferrio

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.StateFlow
import java.net.URI
import java.util.concurrent.CompletableFuture
import kotlin.time.Duration

/**
 * The common case: one namespace (the path of [url], `/` when none) on a connection of its
 * own. Register handlers, then [connect]; [close] (or `use { }`) releases everything.
 *
 * ```
 * Client("http://localhost:3000/chat").use { client ->
 *     client.on("message") { args, _ -> println(args) }
 *     client.connect()
 *     val reply = client.emitWithAck("join", "lobby", timeout = 5.seconds)
 * }
 * ```
 */
public class Client @JvmOverloads constructor(url: String, options: ClientOptions = ClientOptions()) : AutoCloseable {
    /** The connection, to open more namespaces on it. */
    public val manager: Manager = Manager(url, options)

    /** The socket of the URL's namespace. */
    public val socket: Socket = try {
        manager.socket(namespaceOf(url))
    } catch (error: Exception) {
        manager.close()
        throw error
    }

    /** See [Socket.state]. */
    public val state: StateFlow<ConnectionState> get() = socket.state

    /** See [Socket.id]. */
    public val id: String? get() = socket.id

    /** See [Socket.connected]. */
    public val connected: Boolean get() = socket.connected

    /** See [Socket.recovered]. */
    public val recovered: Boolean get() = socket.recovered

    /** See [Manager.reconnectNow]. */
    public suspend fun reconnectNow(): Unit = manager.reconnectNow()

    /** See [Manager.reconnectNowAsync]. */
    public fun reconnectNowAsync(): CompletableFuture<Void?> = manager.reconnectNowAsync()

    /** See [Socket.buffered]. */
    public suspend fun buffered(): BufferedEmits = socket.buffered()

    /** See [Socket.clearBuffer]. */
    public suspend fun clearBuffer(): Unit = socket.clearBuffer()

    /** See [Socket.connect]. */
    public suspend fun connect(): Unit = socket.connect()

    /** See [Socket.disconnect]. */
    public suspend fun disconnect(): Unit = socket.disconnect()

    /** See [Socket.connectAsync]. */
    public fun connectAsync(): CompletableFuture<Void?> = socket.connectAsync()

    /** See [Socket.disconnectAsync]. */
    public fun disconnectAsync(): CompletableFuture<Void?> = socket.disconnectAsync()

    /** See [Socket.on]. */
    public fun on(event: String, handler: EventHandler): Registration = socket.on(event, handler)

    /** See [Socket.on]: [handler] gets the first argument decoded as [T]. */
    @JvmSynthetic
    public inline fun <reified T> on(event: String, crossinline handler: (T) -> Unit): Registration =
        socket.on<T>(event, handler)

    /** See [Socket.once]. */
    public fun once(event: String, handler: EventHandler): Registration = socket.once(event, handler)

    /** See [Socket.off]. */
    public fun off(event: String): Unit = socket.off(event)

    /** See [Socket.onAny]. */
    public fun onAny(handler: AnyHandler): Registration = socket.onAny(handler)

    /** See [Socket.offAny]. */
    public fun offAny(): Unit = socket.offAny()

    /** See [Socket.onAnyOutgoing]. */
    public fun onAnyOutgoing(handler: OutgoingHandler): Registration = socket.onAnyOutgoing(handler)

    /** See [Socket.offAnyOutgoing]. */
    public fun offAnyOutgoing(): Unit = socket.offAnyOutgoing()

    /** See [Socket.joinRoom]. */
    public suspend fun joinRoom(room: String): Unit = socket.joinRoom(room)

    /** See [Socket.leaveRoom]. */
    public suspend fun leaveRoom(room: String): Unit = socket.leaveRoom(room)

    /** See [Socket.joinRoomAsync]. */
    public fun joinRoomAsync(room: String): CompletableFuture<Void?> = socket.joinRoomAsync(room)

    /** See [Socket.leaveRoomAsync]. */
    public fun leaveRoomAsync(room: String): CompletableFuture<Void?> = socket.leaveRoomAsync(room)

    /** See [Socket.emit]. */
    public fun emit(event: String, vararg args: Any?): Unit = socket.emit(event, *args)

    /** See [Socket.emitVolatile]. */
    public fun emitVolatile(event: String, vararg args: Any?): Unit = socket.emitVolatile(event, *args)

    /** See [Socket.emit]: one argument, `@Serializable` or plain. */
    @JvmSynthetic
    public inline fun <reified T> emit(event: String, value: T): Unit = socket.emit(event, value)

    /** See [Socket.emitWithAck]. */
    public suspend fun emitWithAck(event: String, vararg args: Any?, timeout: Duration? = null): List<Any?> =
        socket.emitWithAck(event, *args, timeout = timeout)

    /** See [Socket.emitWithAckAs]. */
    @JvmSynthetic
    public suspend inline fun <reified T, reified R> emitWithAckAs(event: String, value: T, timeout: Duration? = null): R =
        socket.emitWithAckAs<T, R>(event, value, timeout)

    /** See [Socket.emitWithAckAsync]. */
    public fun emitWithAckAsync(event: String, vararg args: Any?): CompletableFuture<List<Any?>> =
        socket.emitWithAckAsync(event, *args)

    /** See [Socket.emitWithAckAsync]. */
    public fun emitWithAckAsync(event: String, timeout: java.time.Duration, vararg args: Any?): CompletableFuture<List<Any?>> =
        socket.emitWithAckAsync(event, timeout, *args)

    /** See [Socket.events]. */
    public fun events(): Flow<SocketEvent> = socket.events()

    /** See [Manager.stats]. */
    public fun stats(): ConnectionStats = manager.stats()

    /** See [Manager.close]. */
    override fun close(): Unit = manager.close()
}

private fun namespaceOf(url: String): String {
    val path = try {
        URI(url).path
    } catch (_: java.net.URISyntaxException) {
        null
    }
    return if (path.isNullOrEmpty()) "/" else path
}
