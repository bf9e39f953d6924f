package dev.ferrio

import kotlinx.serialization.DeserializationStrategy
import kotlinx.serialization.SerializationStrategy
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.booleanOrNull
import kotlinx.serialization.serializer
import java.math.BigInteger

/**
 * Conversions between the values of events and kotlinx.serialization's [JsonElement].
 *
 * What can be sent: `null`, [JsonElement], [String], [Char], [Boolean], numbers (including
 * unsigned ones, `BigInteger`, `BigDecimal`), [Map]s with string keys, [Iterable]s, arrays,
 * and [ByteArray] at any depth, which travels as a binary attachment; a value of a
 * `@Serializable` class (or an enum) anywhere in them goes in its kotlinx.serialization JSON
 * form, through the serializer of its class (see [Payloads]: defaults encoded). For a
 * generic or polymorphic type, whose serializer the runtime class does not give, use the
 * one-argument `emit<T>` or [Socket.emitWithAckAs], which take [T]'s serializer.
 *
 * What is received: JSON objects as `Map<String, Any?>` (in the server's key order), arrays as
 * `List<Any?>`, strings, integers as [Long] (or [BigInteger] when larger), other numbers as
 * [Double], booleans, `null`, and binary attachments as [ByteArray]. A [JsonElement] has no
 * binary node, so received values are plain Kotlin values; [toJson] turns one (without binary)
 * into a [JsonElement], e.g. for `Json.decodeFromJsonElement`.
 */
public object Values {
    /** [value] as a [JsonElement]; throws [IllegalArgumentException] for binary or other types. */
    public fun toJson(value: Any?): JsonElement = Codec.toJson(value)

    /** A [JsonElement] as the Kotlin values events carry. */
    public fun fromJson(element: JsonElement): Any? = Codec.fromJson(element, emptyList())

    /**
     * A received [value] (an event's or acknowledgement's argument) decoded as [T] with
     * kotlinx.serialization, e.g. as a `@Serializable` class; a [ByteArray] in it decodes as a
     * `ByteArray` property. Keys [T] does not declare are ignored.
     *
     * @throws kotlinx.serialization.SerializationException when [value] does not fit [T].
     */
    public inline fun <reified T> decode(value: Any?): T = Payloads.decode(value, serializer<T>())
}

/**
 * `@Serializable` values in events ([Socket.emit], [Socket.on], [Socket.emitWithAckAs]),
 * through kotlinx.serialization's JSON form: [json] encodes default values and ignores
 * unknown keys.
 */
@PublishedApi
internal object Payloads {
    val json: Json = Json {
        encodeDefaults = true
        ignoreUnknownKeys = true
    }

    /**
     * [value] itself when it is a value [Codec] sends as it is (plain values, maps, lists,
     * binary), so a [ByteArray] in it still travels as binary; otherwise its JSON form through
     * [serializer] (a `@Serializable` class, or a collection of them).
     */
    fun <T> encode(value: T, serializer: () -> SerializationStrategy<T>): Any? =
        if (Codec.sendable(value)) value else json.encodeToJsonElement(serializer(), value)

    /** A received [value] as [T]; a [ByteArray] is read as a JSON array of its bytes. */
    fun <T> decode(value: Any?, deserializer: DeserializationStrategy<T>): T =
        json.decodeFromJsonElement(deserializer, Codec.receivedToJson(value))
}

/**
 * Arguments across the native boundary: the JSON text of an array, in which each binary node
 * is `{"_placeholder":true,"num":K}` with its bytes in `attachments[K]` (depth first, in
 * writing order): the Socket.IO wire convention, which the FFI layer speaks too.
 */
internal object Codec {
    private const val HEX = "0123456789abcdef"
    private const val PLACEHOLDER = """{"_placeholder":true,"num":"""

    class Encoded(val text: String, val attachments: List<ByteArray>)

    /**
     * Writes the text directly, without a [JsonElement] tree (building the tree and printing
     * it were most of an emit's cost); leaves other than strings, integers and booleans go
     * through [toJson].
     *
     * @throws IllegalArgumentException for a value that cannot be sent.
     */
    fun encode(args: List<Any?>): Encoded {
        if (args.isEmpty()) return Encoded("[]", emptyList())
        val attachments = ArrayList<ByteArray>(0)
        val text = StringBuilder(64)
        write(text, args, attachments)
        return Encoded(text.toString(), attachments)
    }

    /**
     * [text], written by [encode], with its placeholders numbered from [first] instead of 0:
     * its attachments follow [first] others in a batch. A JSON string cannot hold the
     * placeholder's text unescaped, so only placeholders match.
     */
    fun renumbered(text: String, first: Int): String {
        val out = StringBuilder(text.length + 8)
        var from = 0
        while (true) {
            val at = text.indexOf(PLACEHOLDER, from)
            if (at < 0) break
            val digits = at + PLACEHOLDER.length
            var end = digits
            while (end < text.length && text[end] in '0'..'9') end++
            out.append(text, from, digits).append(first + text.substring(digits, end).toInt())
            from = end
        }
        return out.append(text, from, text.length).toString()
    }

    /** `[event, ...args]`: [event] put before the arguments of [args], an array written by [encode]. */
    fun named(event: String, args: String): String {
        val text = StringBuilder(event.length + args.length + 4).append('[')
        writeString(text, event)
        if (args.length > 2) text.append(',').append(args, 1, args.length) else text.append(']')
        return text.toString()
    }

    /** The arguments in [text] (a JSON array), read by [JsonValues] without a [JsonElement] tree. */
    fun decode(text: String, attachments: List<ByteArray>): List<Any?> = JsonValues.arguments(text, attachments)

    private fun write(out: StringBuilder, value: Any?, attachments: MutableList<ByteArray>) {
        when (value) {
            null -> out.append("null")
            is String -> writeString(out, value)
            is ByteArray -> {
                attachments.add(value)
                out.append(PLACEHOLDER).append(attachments.size - 1).append('}')
            }
            is Int, is Long, is Short, is Byte, is Boolean -> out.append(value)
            is Map<*, *> -> {
                out.append('{')
                var first = true
                for ((key, item) in value) {
                    require(key is String) { "object keys must be strings, not ${key?.let { it::class }}" }
                    if (!first) out.append(',')
                    first = false
                    writeString(out, key)
                    out.append(':')
                    write(out, item, attachments)
                }
                out.append('}')
            }
            is Iterable<*> -> writeArray(out, value, attachments)
            is Array<*> -> writeArray(out, value.asIterable(), attachments)
            else -> out.append(toJson(value).toString())
        }
    }

    private fun writeArray(out: StringBuilder, items: Iterable<*>, attachments: MutableList<ByteArray>) {
        out.append('[')
        var first = true
        for (item in items) {
            if (!first) out.append(',')
            first = false
            write(out, item, attachments)
        }
        out.append(']')
    }

    /** [text] as a JSON string: quotes, backslashes and control characters escaped. */
    fun writeString(out: StringBuilder, text: String) {
        out.append('"')
        var start = 0
        for (index in text.indices) {
            val char = text[index]
            if (char != '"' && char != '\\' && char >= ' ') continue
            out.append(text, start, index)
            when (char) {
                '"', '\\' -> out.append('\\').append(char)
                else -> out.append("\\u00").append(HEX[char.code shr 4]).append(HEX[char.code and 0xf])
            }
            start = index + 1
        }
        out.append(text, start, text.length).append('"')
    }

    /** Whether [write] sends [value] as it is (no type it cannot send, at any depth). */
    fun sendable(value: Any?): Boolean = when (value) {
        null, is String, is Boolean, is Number, is Char, is ByteArray, is JsonElement -> true
        is UInt, is UShort, is UByte, is ULong -> true
        is IntArray, is LongArray, is DoubleArray, is FloatArray, is ShortArray, is BooleanArray -> true
        is Map<*, *> -> value.all { (key, item) -> key is String && sendable(item) }
        is Iterable<*> -> value.all(::sendable)
        is Array<*> -> value.all(::sendable)
        else -> false
    }

    /** A received value (see [fromJson]) as a [JsonElement], a [ByteArray] as an array of its bytes. */
    fun receivedToJson(value: Any?): JsonElement = when (value) {
        is ByteArray -> JsonArray(value.map { JsonPrimitive(it) })
        is Map<*, *> -> JsonObject(
            value.entries.associateTo(LinkedHashMap(value.size)) { (key, item) -> key.toString() to receivedToJson(item) },
        )
        is List<*> -> JsonArray(value.map(::receivedToJson))
        else -> toJson(value)
    }

    /** [value] as a [JsonElement] tree; binary has no JSON form. */
    fun toJson(value: Any?): JsonElement = when (value) {
        null -> JsonNull
        is JsonElement -> value
        is String -> JsonPrimitive(value)
        is Boolean -> JsonPrimitive(value)
        is Number -> JsonPrimitive(value)
        is Char -> JsonPrimitive(value.toString())
        is UInt -> JsonPrimitive(value.toLong())
        is UShort -> JsonPrimitive(value.toInt())
        is UByte -> JsonPrimitive(value.toInt())
        is ULong -> JsonPrimitive(BigInteger(value.toString()))
        is ByteArray -> throw IllegalArgumentException("binary data has no JSON form")
        is Map<*, *> -> JsonObject(
            value.entries.associateTo(LinkedHashMap(value.size)) { (key, item) ->
                require(key is String) { "object keys must be strings, not ${key?.let { it::class }}" }
                key to toJson(item)
            },
        )
        is Iterable<*> -> JsonArray(value.map(::toJson))
        is Array<*> -> JsonArray(value.map(::toJson))
        is IntArray -> JsonArray(value.map { JsonPrimitive(it) })
        is LongArray -> JsonArray(value.map { JsonPrimitive(it) })
        is DoubleArray -> JsonArray(value.map { JsonPrimitive(it) })
        is FloatArray -> JsonArray(value.map { JsonPrimitive(it) })
        is ShortArray -> JsonArray(value.map { JsonPrimitive(it) })
        is BooleanArray -> JsonArray(value.map { JsonPrimitive(it) })
        else -> serializedForm(value) ?: throw IllegalArgumentException("a ${value::class.qualifiedName} cannot be sent")
    }

    /**
     * The JSON form of a value of a `@Serializable` class (or an enum), through the serializer
     * of its runtime class; `null` when that class has none.
     */
    private fun serializedForm(value: Any): JsonElement? {
        val serializer = try {
            serializer(value.javaClass)
        } catch (_: IllegalArgumentException) {
            // SerializationException (no serializer), or a class whose serializer needs type arguments.
            return null
        }
        return Payloads.json.encodeToJsonElement(serializer, value)
    }

    fun fromJson(element: JsonElement, attachments: List<ByteArray>): Any? = when (element) {
        is JsonNull -> null
        is JsonPrimitive -> when {
            element.isString -> element.content
            else -> element.booleanOrNull ?: number(element.content)
        }
        is JsonArray -> element.map { fromJson(it, attachments) }
        is JsonObject -> attachment(element, attachments)
            ?: element.entries.associateTo(LinkedHashMap(element.size)) { (key, item) ->
                key to fromJson(item, attachments)
            }
    }

    private fun number(text: String): Any =
        text.toLongOrNull()
            ?: if (text.any { it == '.' || it == 'e' || it == 'E' }) text.toDouble() else BigInteger(text)

    private fun attachment(element: JsonObject, attachments: List<ByteArray>): ByteArray? {
        if (attachments.isEmpty() || element.size != 2) return null
        val flag = element["_placeholder"] as? JsonPrimitive ?: return null
        val num = element["num"] as? JsonPrimitive ?: return null
        if (flag.isString || flag.booleanOrNull != true || num.isString) return null
        return num.content.toIntOrNull()?.let { attachments.getOrNull(it) }
    }
}
