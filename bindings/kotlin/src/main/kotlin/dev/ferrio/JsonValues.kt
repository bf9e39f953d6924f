package dev.ferrio

import java.math.BigInteger

/**
 * Reads JSON text straight into the values events carry (see [Values]): objects as
 * [LinkedHashMap]s in key order (a repeated key keeps its first place and its last value),
 * arrays as [ArrayList]s, strings, integers as [Long] ([BigInteger] when larger), other numbers
 * as [Double], booleans and `null`; a `{"_placeholder":true,"num":K}` object becomes
 * [attachments]`[K]` when there is one.
 *
 * The same values as parsing a `JsonElement` tree and converting it ([Codec.fromJson]), without
 * building the tree: on the receive and acknowledgement paths the tree and its conversion
 * were most of the decoding's cost.
 */
internal class JsonValues private constructor(private val text: String, private val attachments: List<ByteArray>) {
    private var at = 0

    /**
     * The array at [at] (its `[`), read without recursion: a loop over the open containers
     * keeps the JIT's compiled code small (a recursive reader inlined into itself several
     * levels deep cost more compile time than a receive run's decoding).
     */
    @Suppress("UNCHECKED_CAST")
    private fun document(): ArrayList<Any?> {
        val root = ArrayList<Any?>()
        at++
        val parents = ArrayList<Any>()
        val parentKeys = ArrayList<String?>()
        var container: Any = root
        var key: String? = null
        while (true) {
            // An element of `container`, or its end when it has none.
            skipSpace()
            var ended = false
            if (peek() == closer(container) && isEmpty(container)) {
                at++
                ended = true
            } else {
                if (container is LinkedHashMap<*, *>) {
                    if (peek() != '"') fail("a key")
                    key = string()
                    skipSpace()
                    expect(':')
                    skipSpace()
                }
                when (peek()) {
                    '[', '{' -> {
                        parents.add(container)
                        parentKeys.add(key)
                        container = if (text[at++] == '[') ArrayList<Any?>() else LinkedHashMap<String, Any?>()
                        key = null
                        continue
                    }
                    else -> put(container, key, scalar())
                }
            }
            // After an element: `,` and the next one, or the end of `container` (and maybe of
            // its parents).
            while (true) {
                if (!ended) {
                    skipSpace()
                    val char = peek()
                    if (char == ',') {
                        at++
                        break
                    }
                    if (char != closer(container)) fail("`,` or `${closer(container)}`")
                    at++
                }
                ended = false
                val done = if (container is LinkedHashMap<*, *>) attachment(container as Map<String, Any?>) ?: container else container
                if (parents.isEmpty()) return root
                container = parents.removeAt(parents.size - 1)
                key = parentKeys.removeAt(parentKeys.size - 1)
                put(container, key, done)
            }
        }
    }

    private fun closer(container: Any): Char = if (container is ArrayList<*>) ']' else '}'

    private fun isEmpty(container: Any): Boolean =
        if (container is ArrayList<*>) container.isEmpty() else (container as Map<*, *>).isEmpty()

    @Suppress("UNCHECKED_CAST")
    private fun put(container: Any, key: String?, value: Any?) {
        if (container is ArrayList<*>) {
            (container as ArrayList<Any?>).add(value)
        } else {
            (container as LinkedHashMap<String, Any?>)[key!!] = value
        }
    }

    private fun scalar(): Any? = when (val char = peek()) {
        '"' -> string()
        't' -> literal("true", true)
        'f' -> literal("false", false)
        'n' -> literal("null", null)
        else -> if (char == '-' || char in '0'..'9') number() else fail("a value")
    }

    /** The attachment a placeholder object stands for; `null` for any other object. */
    private fun attachment(map: Map<String, Any?>): ByteArray? {
        if (attachments.isEmpty() || map.size != 2 || map["_placeholder"] != true) return null
        val num = map["num"] as? Long ?: return null
        return if (num in 0 until attachments.size) attachments[num.toInt()] else null
    }

    private fun string(): String {
        val start = ++at
        // Most strings have no escape: one substring.
        while (at < text.length) {
            val char = text[at]
            if (char == '"') return text.substring(start, at++)
            if (char == '\\') return escaped(start)
            at++
        }
        fail("`\"`")
    }

    /** The rest of the string begun at [start], from its first escape at [at]. */
    private fun escaped(start: Int): String {
        val out = StringBuilder(at - start + 16).append(text, start, at)
        while (at < text.length) {
            val char = text[at++]
            when (char) {
                '"' -> return out.toString()
                '\\' -> {
                    if (at >= text.length) fail("an escape")
                    when (val escaped = text[at++]) {
                        '"', '\\', '/' -> out.append(escaped)
                        'b' -> out.append('\b')
                        'f' -> out.append('\u000c')
                        'n' -> out.append('\n')
                        'r' -> out.append('\r')
                        't' -> out.append('\t')
                        'u' -> {
                            if (at + 4 > text.length) fail("four hex digits")
                            var code = 0
                            repeat(4) {
                                val digit = Character.digit(text[at++], 16)
                                if (digit < 0) fail("a hex digit")
                                code = code * 16 + digit
                            }
                            out.append(code.toChar())
                        }
                        else -> fail("an escape")
                    }
                }
                else -> out.append(char)
            }
        }
        fail("`\"`")
    }

    private fun number(): Any {
        val start = at
        // Integers of up to 18 digits (any Long of that size) without a substring.
        val negative = text[at] == '-'
        if (negative) at++
        var value = 0L
        var digits = 0
        while (at < text.length) {
            val digit = text[at] - '0'
            if (digit < 0 || digit > 9) break
            value = value * 10 + digit
            digits++
            at++
        }
        val next = peek()
        if (digits in 1..18 && next != '.' && next != 'e' && next != 'E') return if (negative) -value else value
        at = start
        var fraction = false
        while (at < text.length) {
            val char = text[at]
            if (char in '0'..'9' || char == '-' || char == '+') {
                at++
            } else if (char == '.' || char == 'e' || char == 'E') {
                fraction = true
                at++
            } else {
                break
            }
        }
        val literal = text.substring(start, at)
        return try {
            if (fraction) literal.toDouble() else literal.toLongOrNull() ?: BigInteger(literal)
        } catch (_: NumberFormatException) {
            at = start
            fail("a number")
        }
    }

    private fun literal(word: String, value: Any?): Any? {
        if (!text.startsWith(word, at)) fail("a value")
        at += word.length
        return value
    }

    private fun skipSpace() {
        while (at < text.length) {
            val char = text[at]
            if (char != ' ' && char != '\n' && char != '\r' && char != '\t') return
            at++
        }
    }

    private fun peek(): Char = if (at < text.length) text[at] else '\u0000'

    private fun expect(char: Char) {
        if (peek() != char) fail("`$char`")
        at++
    }

    private fun fail(expected: String): Nothing =
        throw IllegalArgumentException("invalid JSON: expected $expected at offset $at of ${text.take(200)}")

    companion object {
        /**
         * The arguments in [text], a JSON array, its placeholders replaced by [attachments].
         *
         * @throws IllegalArgumentException when [text] is not one JSON array.
         */
        fun arguments(text: String, attachments: List<ByteArray>): List<Any?> {
            val reader = JsonValues(text, attachments)
            reader.skipSpace()
            require(reader.peek() == '[') { "arguments must be a JSON array: ${text.take(200)}" }
            val args = reader.document()
            reader.skipSpace()
            if (reader.at != text.length) reader.fail("the end")
            return args
        }
    }
}
