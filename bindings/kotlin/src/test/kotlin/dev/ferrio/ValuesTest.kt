package dev.ferrio

import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.math.BigInteger

/** The argument codec, without a server. */
class ValuesTest {
    @Test
    fun `kotlin values become compact JSON text with binary as numbered placeholders`() {
        val encoded = Codec.encode(
            listOf(bytes(1, 2, 3), mapOf("deep" to listOf(bytes(4, 5)), "n" to 1), "é\"", null, bytes()),
        )
        assertEquals(
            """[{"_placeholder":true,"num":0},{"deep":[{"_placeholder":true,"num":1}],"n":1},"é\"",null,""" +
                """{"_placeholder":true,"num":2}]""",
            encoded.text,
        )
        assertEquals(listOf(bin(1, 2, 3), bin(4, 5), bin()), plain(encoded.attachments))
        assertEquals(Codec.Encoded("[]", emptyList()).text, Codec.encode(emptyList()).text)
    }

    @Test
    fun `placeholders are renumbered to follow the attachments of earlier emits of a batch`() {
        val encoded = Codec.encode(listOf(bytes(1), "{\"_placeholder\":true,\"num\":0}", mapOf("b" to listOf(bytes(2)))))
        assertEquals(
            """[{"_placeholder":true,"num":3},"{\"_placeholder\":true,\"num\":0}",{"b":[{"_placeholder":true,"num":4}]}]""",
            Codec.renumbered(encoded.text, 3),
        )
        assertEquals("""["x",12]""", Codec.renumbered("""["x",12]""", 3))
    }

    @Test
    fun `the written text is the JSON of the values, escapes and leaves included`() {
        val values = listOf(
            "q\"b\\c\u0001\n\t\u001fé😀",
            mapOf("k\"" to listOf(1, 2.5, -3L, true, null, 'c', 7u, ULong.MAX_VALUE, BigInteger.TEN.pow(30))),
            intArrayOf(1, 2),
            arrayOf("a", listOf<Any?>()),
            JsonObject(mapOf("j" to JsonPrimitive("x"))),
            emptyMap<String, Any?>(),
        )
        val text = Codec.encode(values).text
        assertEquals(Values.toJson(values), Json.parseToJsonElement(text))
        assertEquals(Values.toJson(values.drop(1)).toString(), Codec.encode(values.drop(1)).text)
    }

    @Test
    fun `received JSON becomes kotlin values with the attachments in place`() {
        val args = Codec.decode(
            """[{"_placeholder":true,"num":1},{"x":[{"_placeholder":true,"num":0}]},18446744073709551615,0.5,-3]""",
            listOf(bytes(9), bytes(8)),
        )
        assertEquals(
            listOf(bin(8), mapOf("x" to listOf(bin(9))), BigInteger("18446744073709551615"), 0.5, -3L),
            plain(args),
        )
    }

    @Test
    fun `received JSON reads as the JsonElement tree converted would`() {
        val texts = listOf(
            """[]""",
            """ [ 1 , -2 , 3.5 , -0.25e2 , 1E3 , 9223372036854775807 , -9223372036854775809 , true , false , null ] """,
            """["", "a\"b\\c\/d\b\f\n\r\t\u0001\u00e9\ud83d\ude00", "é😀", "x\u0022"]""",
            """[{}, [], {"a": {"b": [1, {"c": null}]}, "d": []}, [[[]]]]""",
            """[{"k": 1, "j": 2, "k": 3}]""",
            """[{"_placeholder": true, "num": 1}, {"_placeholder": true, "num": 5}, {"_placeholder": "true", "num": 0}]""",
            """[{"_placeholder": true, "num": 0, "x": 1}, {"_placeholder": true, "num": 0.0}, {"num": 0, "_placeholder": true}]""",
        )
        val attachments = listOf(bytes(1), bytes(2))
        for (text in texts) {
            val tree = Json.parseToJsonElement(text) as kotlinx.serialization.json.JsonArray
            assertEquals(plain(tree.map { Codec.fromJson(it, attachments) }), plain(Codec.decode(text, attachments)), text)
        }
        assertEquals(listOf(mapOf("k" to 3L, "j" to 2L)), Codec.decode("""[{"k": 1, "j": 2, "k": 3}]""", emptyList()))
        assertEquals(listOf("\\u0001é😀"), Codec.decode("""["\\u0001\u00e9\ud83d\ude00"]""", emptyList()))
    }

    @Test
    fun `text that is not one JSON array is refused`() {
        for (text in listOf("", "{}", "1", "[", "[1,]", "[1 2]", """["a]""", """["\x"]""", "[tru]", "[1]x", "[-]", """[{"a"}]""")) {
            assertThrows<IllegalArgumentException>(text) { Codec.decode(text, emptyList()) }
        }
    }

    @Test
    fun `a placeholder-shaped object without attachments stays an object`() {
        assertEquals(
            listOf(mapOf("_placeholder" to true, "num" to 0L)),
            Codec.decode("""[{"_placeholder":true,"num":0}]""", emptyList()),
        )
    }

    @Test
    fun `values convert to and from JsonElement`() {
        val element = Values.toJson(mapOf("a" to listOf(1, true, null), "b" to 'c', "u" to 7u))
        assertEquals(
            JsonObject(
                mapOf(
                    "a" to kotlinx.serialization.json.JsonArray(
                        listOf(JsonPrimitive(1), JsonPrimitive(true), kotlinx.serialization.json.JsonNull),
                    ),
                    "b" to JsonPrimitive("c"),
                    "u" to JsonPrimitive(7L),
                ),
            ),
            element,
        )
        assertEquals(mapOf("a" to listOf(1L, true, null), "b" to "c", "u" to 7L), Values.fromJson(element))
        assertThrows<IllegalArgumentException> { Values.toJson(bytes(1)) }
        assertThrows<IllegalArgumentException> { Values.toJson(mapOf(1 to 2)) }
    }
}
