package dev.ferrio

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.SerialName
import kotlinx.serialization.Serializable
import kotlinx.serialization.SerializationException
import kotlinx.serialization.json.JsonObject
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import kotlin.time.Duration.Companion.seconds

@Serializable
data class Author(val name: String, val id: Long)

@Serializable
data class Post(val room: String, val text: String, val tags: List<String>, val author: Author, val pinned: Boolean = false)

@Serializable
data class Upload(val name: String, val data: ByteArray)

@Serializable
sealed class Shape {
    @Serializable
    @SerialName("circle")
    data class Circle(val radius: Double) : Shape()

    @Serializable
    @SerialName("square")
    data class Square(val side: Double) : Shape()
}

@Serializable
data class Page<T>(val items: List<T>, val next: String?)

/** `@Serializable` payloads: emit<T>, on<T>, emitWithAckAs, Values.decode, through the Node server. */
class SerializableTest {
    private val server = TestServer.shared
    private val post = Post("lobby", "hello", listOf("a", "b"), Author("ada", 7))

    @Test
    fun `a serializable value goes out as JSON and comes back through on T`() = test {
        Client(server.url).use { client ->
            val back = CompletableDeferred<Post>()
            client.on<Post>("message-back") { back.complete(it) }
            client.connect()
            client.emit("message", post)
            assertEquals(post, withTimeout(10.seconds) { back.await() })
        }
    }

    @Test
    fun `serializable values among several arguments and in an ack answer`() = test {
        Client(server.url).use { client ->
            val back = Recorder()
            val answers = Recorder()
            client.on("message-back", back)
            client.on("answer", answers)
            client.on("question") { _, ack -> ack!!.send(post.author, listOf(post.author)) }
            client.connect()
            client.emit("message", post.author, "and", mapOf("post" to post, "data" to bytes(4)))
            val args = back.next()
            assertEquals(post.author, Values.decode<Author>(args[0]))
            assertEquals("and", args[1])
            assertEquals(post, Values.decode<Post>((args[2] as Map<*, *>)["post"]))
            assertArrayEquals(bytes(4), (args[2] as Map<*, *>)["data"] as ByteArray)
            client.emit("askMe", 1)
            assertEquals(listOf(mapOf("name" to "ada", "id" to 7L), listOf(mapOf("name" to "ada", "id" to 7L))), answers.next())
        }
    }

    @Test
    fun `the server sees the JSON form, defaults included`() = test {
        Client(server.url).use { client ->
            client.connect()
            val raw = client.emitWithAck("echo", post).single()
            assertEquals(
                mapOf(
                    "room" to "lobby", "text" to "hello", "tags" to listOf("a", "b"),
                    "author" to mapOf("name" to "ada", "id" to 7L), "pinned" to false,
                ),
                raw,
            )
        }
    }

    @Test
    fun `a list of serializable values and an ack decoded to a serializable type`() = test {
        Client(server.url).use { client ->
            client.connect()
            val posts = listOf(post, post.copy(text = "again", pinned = true))
            val echoed: List<Post> = client.emitWithAckAs("echo", posts)
            assertEquals(posts, echoed)
            assertEquals(post.author, client.socket.emitWithAckAs<Author, Author>("echo", post.author))
            val tags: List<String> = client.emitWithAckAs("echo", post.tags, timeout = 10.seconds)
            assertEquals(post.tags, tags)
        }
    }

    @Test
    fun `sealed and generic types go through the serializer of T`() = test {
        Client(server.url).use { client ->
            val shapes = Channel<Shape>(Channel.UNLIMITED)
            client.on<Shape>("message-back") { shapes.trySend(it) }
            client.connect()
            client.emit<Shape>("message", Shape.Circle(1.5))
            assertEquals(Shape.Circle(1.5), withTimeout(10.seconds) { shapes.receive() })
            val raw = client.emitWithAck("echo", mapOf("type" to "square", "side" to 2.0)).single()
            assertEquals(Shape.Square(2.0), Values.decode<Shape>(raw))
            val tagged = client.emitWithAckAs<Shape, JsonObject>("echo", Shape.Circle(1.5))
            assertEquals(mapOf("type" to "circle", "radius" to 1.5), Values.fromJson(tagged))
            val page = Page(listOf(post.author), next = null)
            val echoed: Page<Author> = client.emitWithAckAs("echo", page)
            assertEquals(page, echoed)
        }
    }

    @Test
    fun `an ack decodes unknown keys away and nothing as null`() = test {
        Client(server.url).use { client ->
            client.connect()
            val author: Author = client.emitWithAckAs("echo", mapOf("name" to "ada", "id" to 7, "extra" to listOf(1)))
            assertEquals(Author("ada", 7), author)
            val nothing: Author? = client.emitWithAckAs("echo", null as String?)
            assertNull(nothing)
            assertThrows<SerializationException> { client.emitWithAckAs<String, Author>("echo", "not an author") }
        }
    }

    @Test
    fun `plain values through the one-argument emit keep binary`() = test {
        Client(server.url).use { client ->
            val back = Recorder()
            client.on("message-back", back)
            client.connect()
            client.emit("message", mapOf("name" to "a.bin", "data" to bytes(1, 2, 3)))
            assertEquals(listOf(mapOf("name" to "a.bin", "data" to bin(1, 2, 3))), plain(back.next()))
            client.emit("message", bytes(9))
            assertEquals(listOf(bin(9)), plain(back.next()))
        }
    }

    @Test
    fun `received binary decodes into a ByteArray property`() = test {
        Client(server.url).use { client ->
            val uploads = Channel<Upload>(Channel.UNLIMITED)
            client.on<Upload>("message-back") { uploads.trySend(it) }
            client.connect()
            client.emit("message", mapOf("name" to "a.bin", "data" to bytes(1, 2, 255)))
            val upload = withTimeout(10.seconds) { uploads.receive() }
            assertEquals("a.bin", upload.name)
            assertArrayEquals(bytes(1, 2, 255), upload.data)
        }
    }

    @Test
    fun `an argument that does not fit is skipped and the next one arrives`() = test {
        Client(server.url).use { client ->
            val authors = Channel<Author>(Channel.UNLIMITED)
            client.on<Author>("message-back") { authors.trySend(it) }
            client.connect()
            client.emit("message", "not an author")
            client.emit("message", Author("bob", 1))
            assertEquals(Author("bob", 1), withTimeout(10.seconds) { authors.receive() })
            assertEquals(null, authors.tryReceive().getOrNull())
        }
    }

    @Test
    fun `Values decode reads events from the Flow and acknowledgements`() = test {
        Client(server.url).use { client ->
            client.connect()
            val events = client.events()
            val received = CompletableDeferred<Post>()
            val job = launch {
                val message = events.filterIsInstance<SocketEvent.Message>().first { it.name == "message-back" }
                received.complete(Values.decode(message.args[0]))
            }
            client.emit("message", post)
            assertEquals(post, received.await())
            job.join()
            assertEquals(post.author, Values.decode<Author>(client.emitWithAck("echo", post.author)[0]))
            assertEquals(listOf(post.tags), client.emitWithAck("echo", post.tags).map { Values.decode<List<String>>(it) })
        }
    }
}
