package dev.ferrio

import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonObject
import dev.ferrio.ffi.ReconnectHook as FfiReconnectHook
import dev.ferrio.ffi.ReconnectUpdate as FfiReconnectUpdate

/**
 * Fresh settings for a reconnection attempt, returned by [ClientOptions.beforeReconnect];
 * a field left `null` keeps its current value.
 */
public data class ReconnectUpdate @JvmOverloads constructor(
    /** A new server URL (its path is ignored: namespaces stay as they are). */
    val url: String? = null,
    /** New query parameters, replacing the previous ones. */
    val query: Map<String, String>? = null,
    /** New extra headers, replacing the previous ones. */
    val extraHeaders: Map<String, String>? = null,
    /** A new auth payload for every namespace, e.g. a refreshed token. */
    val auth: JsonObject? = null,
) {
    /** For Java: a copy with the auth payload [auth] given as plain values (see [Values]). */
    public fun withAuth(auth: Map<String, Any?>): ReconnectUpdate = copy(auth = Values.toJson(auth) as JsonObject)

    internal fun toFfi(): FfiReconnectUpdate = FfiReconnectUpdate(
        url = url,
        query = query,
        extraHeaders = extraHeaders,
        authJson = auth?.toString(),
    )
}

/**
 * The native library's hook, running [block] on the blocking thread the library calls it on
 * (never one of its runtime's workers). An exception crosses as the hook's error: the library
 * logs it and the attempt goes on with the current settings.
 */
internal class ReconnectHookBridge(
    private val block: suspend (attempt: Int) -> ReconnectUpdate,
) : FfiReconnectHook {
    override fun beforeAttempt(attempt: UInt): FfiReconnectUpdate =
        runBlocking { block(attempt.toInt()) }.toFfi()
}
