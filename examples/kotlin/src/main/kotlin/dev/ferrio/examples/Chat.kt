/*
 * A chat client: joins a room, says hello, prints the room's messages.
 *
 *   cargo run -p ferrio-cli -- serve                                  # a local server
 *   mvn -f bindings/kotlin/pom.xml -DskipTests install                # once
 *   mvn -f examples/kotlin/pom.xml -q compile exec:java -Dexec.args="--name ada"
 *
 * Usage: Chat [URL] [--name NAME] [--room ROOM] [--messages N] [--timeout S]; URL defaults
 * to http://127.0.0.1:3000. It exits 0 after N messages received (default: never) and 1 when
 * the timeout comes first, so it doubles as a smoke test.
 *
 * Any Socket.IO server with the events of `ferrio serve` works: `join(room)` answered with an
 * acknowledgement, and `broadcast(room, message)` sent to the room as `message`.
 */
package dev.ferrio.examples

import dev.ferrio.Client
import dev.ferrio.FerrioException
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.system.exitProcess
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** The command line. */
data class Options(
    val url: String = "http://127.0.0.1:3000",
    val name: String = "kotliner",
    val room: String = "lobby",
    /** Exit after this many messages; null for never. */
    val messages: Int? = null,
    /** Exit with an error when the messages have not arrived by then. */
    val timeout: Duration = Duration.INFINITE,
)

fun main(args: Array<String>) {
    val options = try {
        parse(args.toList())
    } catch (error: IllegalArgumentException) {
        System.err.println("chat: ${error.message}\nusage: Chat [URL] [--name NAME] [--room ROOM] [--messages N] [--timeout S]")
        exitProcess(2)
    }
    val status = try {
        runBlocking { chat(options) }
    } catch (error: FerrioException) {
        System.err.println("chat: ${error.message}")
        1
    } catch (error: IllegalStateException) {
        System.err.println("chat: ${error.message}")
        1
    }
    exitProcess(status)
}

suspend fun chat(options: Options): Int {
    // Handlers run on the socket's delivery thread: hand the messages over to this coroutine.
    val received = Channel<Map<*, *>>(Channel.UNLIMITED)
    Client(options.url).use { client ->                     // close() when done: nothing left running
        client.on("message") { args, _ -> (args.firstOrNull() as? Map<*, *>)?.let { received.trySend(it) } }
        client.on("disconnect") { args, _ -> println("disconnected: ${args.firstOrNull()}") }
        client.connect()                                    // polling first, then the upgrade
        println("connected to ${options.url} as ${options.name}")

        // Join the room; the server acknowledges with `true`.
        val joined = client.emitWithAck("join", options.room, timeout = 10.seconds)
        check(joined == listOf(true)) { "the server did not let us join ${options.room}" }

        // Several arguments: the room, then the message, one JSON object.
        client.emit("broadcast", options.room, mapOf("from" to options.name, "text" to "hello from ${options.name}"))

        val done = withTimeoutOrNull(options.timeout) {
            var count = 0
            while (options.messages == null || count < options.messages) {
                val message = received.receive()
                println("[${options.room}] ${message["from"]}: ${message["text"]}")
                count++
            }
        }
        if (done == null) {
            System.err.println("chat: timed out after ${options.timeout} waiting for messages")
            return 1
        }
    }
    return 0
}

fun parse(args: List<String>): Options {
    var options = Options()
    val rest = args.iterator()
    while (rest.hasNext()) {
        val arg = rest.next()
        fun value(): String = if (rest.hasNext()) rest.next() else throw IllegalArgumentException("$arg needs a value")
        options = when (arg) {
            "--name" -> options.copy(name = value())
            "--room" -> options.copy(room = value())
            "--messages" -> options.copy(messages = number(arg, value()).toInt())
            "--timeout" -> options.copy(timeout = number(arg, value()).seconds)
            else -> {
                require(!arg.startsWith("--")) { "unknown option $arg" }
                options.copy(url = arg)
            }
        }
    }
    return options
}

private fun number(option: String, text: String): Double =
    text.toDoubleOrNull() ?: throw IllegalArgumentException("$option: not a number: $text")
