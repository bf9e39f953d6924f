//! A doorbell that wakes the connection task through tokio's I/O driver (Unix, multi-thread
//! runtime): a socket pair whose reading end the task waits on, written by a sender that
//! runs outside the runtime's tasks.
//!
//! Why: a waker woken from outside the runtime (a thread in `block_on`, a binding's
//! thread) pushes the task to tokio's shared queue and unparks a worker as *searching*;
//! that worker, the last searcher once it finds the task, unparks another, which finds
//! nothing and parks again: a wake-up and two context switches per command the floor does
//! not pay (`benches/NOTES.md`). A byte written to the doorbell instead wakes the worker
//! parked in `epoll`, which schedules the task on itself, as the reply of the server does.
//! Senders running in a task wake the task directly (on a worker, tokio schedules it
//! locally), and the current-thread runtime has no doorbell: its `block_on` thread is the
//! worker.
//!
//! Costs: two descriptors per manager and a tokio I/O registration; a read of the
//! doorbell's bytes per wake-up through it.

#[cfg(unix)]
mod unix {
    use std::io::Write;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, ReadBuf};
    use tokio::net::UnixStream;
    use tokio::runtime::{Handle, RuntimeFlavor};

    /// How many bytes one read takes from the doorbell. A sender writes at most one per
    /// wait of the task, so one read empties it but for spurious rings.
    const DRAIN: usize = 64;

    /// The senders' end.
    #[derive(Debug)]
    pub(crate) struct Bell(std::os::unix::net::UnixStream);

    /// The connection task's end, registered with the runtime's I/O driver.
    #[derive(Debug)]
    pub(crate) struct BellRx(UnixStream);

    /// A new doorbell when the current runtime is tokio's multi-thread one with I/O
    /// enabled; `None` otherwise (or when the descriptors cannot be had): the queue then
    /// wakes its receiver directly.
    pub(crate) fn doorbell() -> Option<(Bell, BellRx)> {
        let runtime = Handle::try_current().ok()?;
        if runtime.runtime_flavor() != RuntimeFlavor::MultiThread {
            return None;
        }
        let (tx, rx) = std::os::unix::net::UnixStream::pair().ok()?;
        tx.set_nonblocking(true).ok()?;
        rx.set_nonblocking(true).ok()?;
        let rx = UnixStream::from_std(rx).ok()?;
        Some((Bell(tx), BellRx(rx)))
    }

    impl Bell {
        /// Rings; `false` when the bell cannot take the byte (its buffer full or its
        /// reader gone): the caller wakes the task directly instead.
        pub(crate) fn ring(&self) -> bool {
            matches!((&self.0).write(&[1]), Ok(1))
        }
    }

    impl BellRx {
        /// Waits for a ring, registering the task's waker with the I/O driver, and takes
        /// the bytes rung (one read: tokio keeps the readiness when the read filled the
        /// buffer, so the next poll reads again). `Ready(false)` when the driver cannot
        /// watch the bell any more (the runtime is shutting down).
        pub(crate) fn poll_rung(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
            let mut bytes = [0u8; DRAIN];
            let mut buffer = ReadBuf::new(&mut bytes);
            match Pin::new(&mut self.0).poll_read(cx, &mut buffer) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(())) => Poll::Ready(!buffer.filled().is_empty()),
                Poll::Ready(Err(error)) => {
                    Poll::Ready(error.kind() == std::io::ErrorKind::Interrupted)
                }
            }
        }
    }
}

#[cfg(unix)]
pub(crate) use unix::{doorbell, Bell, BellRx};

#[cfg(not(unix))]
mod other {
    use std::task::{Context, Poll};

    /// No doorbell outside Unix: the queue wakes its receiver directly.
    #[derive(Debug)]
    pub(crate) enum Bell {}

    /// No doorbell outside Unix.
    #[derive(Debug)]
    pub(crate) enum BellRx {}

    /// Always `None`.
    pub(crate) fn doorbell() -> Option<(Bell, BellRx)> {
        None
    }

    impl Bell {
        /// Never called: there is no bell.
        pub(crate) fn ring(&self) -> bool {
            match *self {}
        }
    }

    impl BellRx {
        /// Never called: there is no bell.
        pub(crate) fn poll_rung(&mut self, _cx: &mut Context<'_>) -> Poll<bool> {
            match *self {}
        }
    }
}

#[cfg(not(unix))]
pub(crate) use other::{doorbell, Bell, BellRx};

#[cfg(all(test, unix))]
mod tests {
    use std::future::poll_fn;
    use std::task::Poll;

    use super::*;

    #[test]
    fn there_is_no_doorbell_outside_a_runtime() {
        assert!(doorbell().is_none());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_current_thread_runtime_has_no_doorbell() {
        assert!(doorbell().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_ring_from_a_thread_outside_the_runtime_wakes_the_waiting_task_once() {
        let (bell, mut rx) = doorbell().expect("a doorbell on the multi-thread runtime");
        let mut polls = 0;
        let rung = poll_fn(|cx| {
            polls += 1;
            let rung = rx.poll_rung(cx);
            if polls == 1 {
                assert!(rung.is_pending());
                std::thread::scope(|s| {
                    s.spawn(|| assert!(bell.ring()));
                });
            }
            rung
        })
        .await;
        assert!(rung);
        poll_fn(|cx| {
            assert!(rx.poll_rung(cx).is_pending());
            Poll::Ready(())
        })
        .await;
    }
}
