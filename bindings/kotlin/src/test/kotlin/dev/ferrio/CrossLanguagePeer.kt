package dev.ferrio

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlin.system.exitProcess
import kotlin.time.Duration.Companion.seconds

/**
 * The Kotlin side of the cross-language test (tests/cross-language): not a JUnit test but a
 * program on this package's test class path, driven over stdin/stdout by the test's script.
 *
 * `CrossLanguagePeer URL ROOM NAME PEER`: connects to the reference server at URL, joins ROOM,
 * prints `JOINED`; on the line `GO` it sends `toRoom(ROOM, {"from": NAME, "text": ...})`,
 * waits for the reference server's `room-message` from PEER and prints `RECEIVED <json>`;
 * then it stays connected until its stdin closes. Exit 0, or 1 with `FAILED <why>`.
 */
fun main(args: Array<String>) {
    if (args.size != 4) {
        System.err.println("usage: CrossLanguagePeer URL ROOM NAME PEER")
        exitProcess(2)
    }
    val (url, room, name, peer) = args
    val status = try {
        runBlocking { withTimeout(60.seconds) { peer(url, room, name, peer) } }
        0
    } catch (error: Exception) {
        println("FAILED $error")
        1
    }
    System.out.flush()
    exitProcess(status)
}

private suspend fun peer(url: String, room: String, name: String, peer: String) {
    val received = Channel<Map<*, *>>(Channel.UNLIMITED)
    val stdin = System.`in`.bufferedReader()
    Client(url).use { client ->
        client.on("room-message") { args, _ -> (args.firstOrNull() as? Map<*, *>)?.let { received.trySend(it) } }
        client.connect()
        check(client.emitWithAck("join", room, timeout = 10.seconds) == listOf(true)) { "join $room refused" }
        say("JOINED")
        check(withContext(Dispatchers.IO) { stdin.readLine() } == "GO") { "expected GO on stdin" }
        client.emit("toRoom", room, mapOf("from" to name, "text" to "hello from $name"))
        while (true) {
            val message = withTimeout(20.seconds) { received.receive() }
            if (message["from"] == peer) {
                say("RECEIVED ${Values.toJson(message)}")
                break
            }
        }
        // Stay in the room until the script is done with us.
        withContext(Dispatchers.IO) { while (stdin.readLine() != null) Unit }
    }
}

private fun say(line: String) {
    println(line)
    System.out.flush()
}
