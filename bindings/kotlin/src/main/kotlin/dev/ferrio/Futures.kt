package dev.ferrio

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.future.future
import java.util.concurrent.CompletableFuture

/**
 * Runs the suspending calls behind the `…Async` methods (for Java and other callers without
 * coroutines) as [CompletableFuture]s: each call is a coroutine on `Dispatchers.IO`, one
 * failure never cancels another (a supervisor), and cancelling a future cancels its call.
 */
internal object Futures {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    fun <T> of(block: suspend CoroutineScope.() -> T): CompletableFuture<T> = scope.future(block = block)
}
