//! The FFI crate's own tokio runtime, and the panic guards every export goes through.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinHandle;

/// Worker threads of the runtime: the connection tasks are I/O bound.
const WORKER_THREADS: usize = 2;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The runtime that runs every core task and every exported async function.
pub(crate) fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("ferrio-runtime")
            .enable_all()
            .build()
            .expect("the ferrio runtime could not be started")
    })
}

/// A panic caught at the boundary; every error enum of the FFI turns it into its `Panic`
/// variant.
#[derive(Debug)]
pub(crate) struct Panic(pub(crate) String);

impl Panic {
    fn from_payload(payload: Box<dyn Any + Send>) -> Self {
        let message = match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => match payload.downcast::<&'static str>() {
                Ok(message) => (*message).to_owned(),
                Err(_) => "panic with a non-string payload".to_owned(),
            },
        };
        tracing::error!(%message, "panic caught at the FFI boundary");
        Panic(message)
    }
}

/// Runs a synchronous export body, turning a panic into the error's `Panic` variant.
pub(crate) fn guard<T, E: From<Panic>>(body: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|payload| Err(Panic::from_payload(payload).into()))
}

/// Runs an async export body as a task on the FFI runtime and awaits it: the foreign
/// executor only polls a join handle, so the body has the runtime's timers and I/O. A panic
/// becomes the error's `Panic` variant; dropping the returned future (a cancelled
/// coroutine) aborts the task.
pub(crate) async fn on_runtime<T, E, F>(body: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<Panic> + Send + 'static,
{
    let mut task = match catch_unwind(AssertUnwindSafe(|| runtime().spawn(body))) {
        Ok(task) => AbortOnDrop(task),
        Err(payload) => return Err(Panic::from_payload(payload).into()),
    };
    match task.await_result().await {
        Ok(result) => result,
        Err(error) if error.is_panic() => Err(Panic::from_payload(error.into_panic()).into()),
        Err(error) => Err(Panic(format!("task stopped: {error}")).into()),
    }
}

/// Runs an async export body on the thread that polls it (the foreign executor's), inside
/// the runtime's context (its timers and I/O): no task is spawned, so a call that mostly
/// waits (an acknowledgement) is not handed to a worker thread and back, and its result
/// needs no join handle. The body is woken by the runtime's threads as any future is. A
/// panic becomes the error's `Panic` variant; dropping the future (a cancelled coroutine)
/// drops the body, in the runtime's context too. For bodies that only wait: one that
/// computes long would hold the foreign thread.
pub(crate) fn polled_here<T, E, F>(body: F) -> PolledHere<F>
where
    F: Future<Output = Result<T, E>>,
    E: From<Panic>,
{
    PolledHere(Some(Box::pin(body)))
}

/// The future of [`polled_here`]; `None` once its body panicked or is dropped.
pub(crate) struct PolledHere<F>(Option<Pin<Box<F>>>);

impl<T, E, F> Future for PolledHere<F>
where
    F: Future<Output = Result<T, E>>,
    E: From<Panic>,
{
    type Output = Result<T, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(body) = self.0.as_mut() else {
            return Poll::Ready(Err(Panic("polled after its panic".to_owned()).into()));
        };
        let _context = runtime().enter();
        match catch_unwind(AssertUnwindSafe(|| body.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                self.0 = None;
                Poll::Ready(Err(Panic::from_payload(payload).into()))
            }
        }
    }
}

impl<F> Drop for PolledHere<F> {
    fn drop(&mut self) {
        let _context = runtime().enter();
        self.0 = None;
    }
}

/// Runs `work` with `core`, a core handle, as a task on the runtime and awaits it; without
/// a handle (its manager closed) does nothing.
pub(crate) async fn run_if_open<C, W, F, E>(core: Option<C>, work: W) -> Result<(), E>
where
    W: FnOnce(C) -> F,
    F: Future<Output = ()> + Send + 'static,
    E: From<Panic> + Send + 'static,
{
    let Some(core) = core else {
        return Ok(());
    };
    let work = work(core);
    on_runtime(async move {
        work.await;
        Ok(())
    })
    .await
}

/// [`run_if_open`], blocking the calling thread.
pub(crate) fn block_if_open<C, W, F, E>(core: Option<C>, work: W) -> Result<(), E>
where
    W: FnOnce(C) -> F,
    F: Future<Output = ()> + Send + 'static,
    E: From<Panic> + Send + 'static,
{
    let Some(core) = core else {
        return Ok(());
    };
    let work = work(core);
    block_on(async move {
        work.await;
        Ok(())
    })
}

/// Runs an async body on the FFI runtime and blocks the calling (foreign) thread until it
/// finishes: for callers without an async runtime, such as a Python script.
pub(crate) fn block_on<T, E, F>(body: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<Panic> + Send + 'static,
{
    guard(|| runtime().block_on(on_runtime(body)))
}

/// Aborts the task when the awaiting side goes away.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn await_result(&mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum TestError {
        Panic(String),
    }

    impl From<Panic> for TestError {
        fn from(panic: Panic) -> Self {
            TestError::Panic(panic.0)
        }
    }

    #[test]
    fn guard_turns_a_panic_into_the_panic_variant() {
        let result: Result<(), TestError> = guard(|| panic!("boom"));
        assert_eq!(result, Err(TestError::Panic("boom".into())));
    }

    #[test]
    fn guard_passes_results_through() {
        assert_eq!(guard(|| Ok::<_, TestError>(7)), Ok(7));
    }

    #[test]
    fn a_panicking_async_body_becomes_the_panic_variant() {
        let result: Result<(), TestError> = block_on(async { panic!("async {}", "boom") });
        assert_eq!(result, Err(TestError::Panic("async boom".into())));
    }

    #[test]
    fn async_bodies_run_with_the_runtime_timers() {
        let result: Result<u8, TestError> = block_on(async {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            Ok(1)
        });
        assert_eq!(result, Ok(1));
    }

    /// Polls `future` to its end on the calling thread, parking between wake-ups: a foreign
    /// executor, outside the runtime.
    fn poll_on_this_thread<F: Future>(future: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            std::thread::park();
        }
    }

    #[test]
    fn a_body_polled_here_runs_on_the_polling_thread_with_the_runtime_timers() {
        let caller = std::thread::current().id();
        let result: Result<bool, TestError> = poll_on_this_thread(polled_here(async move {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            Ok(std::thread::current().id() == caller)
        }));
        assert_eq!(result, Ok(true));
    }

    #[test]
    fn a_body_polled_here_is_woken_by_the_runtime_threads() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        runtime().spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            tx.send(5).ok();
        });
        let result: Result<u8, TestError> =
            poll_on_this_thread(polled_here(async move { Ok(rx.await.unwrap_or(0)) }));
        assert_eq!(result, Ok(5));
    }

    #[test]
    fn a_panicking_body_polled_here_becomes_the_panic_variant() {
        let result: Result<(), TestError> =
            poll_on_this_thread(polled_here(async { panic!("here {}", "boom") }));
        assert_eq!(result, Err(TestError::Panic("here boom".into())));
    }

    #[test]
    fn blocking_inside_the_runtime_is_an_error_not_a_crash() {
        let result: Result<(), TestError> =
            block_on(async { block_on::<(), TestError, _>(async { Ok(()) }) });
        assert!(matches!(result, Err(TestError::Panic(_))), "{result:?}");
    }
}
