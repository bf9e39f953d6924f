package dev.ferrio

import java.util.concurrent.atomic.AtomicBoolean
import dev.ferrio.ffi.AckRequest as FfiAckRequest

/** The server's request for an acknowledgement of one event: answer it once with [send]. */
public class Ack internal constructor(private val request: FfiAckRequest) {
    private val sent = AtomicBoolean(false)

    /** Whether [send] was called. */
    public val isSent: Boolean get() = sent.get()

    /**
     * Answers with [args] (see [Values]; [ByteArray]s travel as binary). Never blocks.
     *
     * @throws EmitException the second time, or for arguments that cannot be sent.
     */
    public fun send(vararg args: Any?) {
        val encoded = Codec.encode(args.asList())
        if (!sent.compareAndSet(false, true)) {
            throw EmitException("this acknowledgement was already sent")
        }
        try {
            native { request.send(encoded.text, encoded.attachments) }
        } finally {
            request.destroy()
        }
    }

    override fun toString(): String = if (isSent) "Ack(sent)" else "Ack(pending)"
}
