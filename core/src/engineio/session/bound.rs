//! How long one write may wait, and how the session ends when it gives up.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use tokio::time::{timeout_at, Instant};

use crate::disconnect::DisconnectReason;
use crate::error::TransportError;

/// Why a write ended the session.
#[derive(Debug)]
pub(crate) struct WriteFailed {
    /// Why, as Socket.IO reports it.
    pub(crate) reason: DisconnectReason,
    /// The transport failure behind it; none for a heartbeat that expired meanwhile.
    pub(crate) error: Option<TransportError>,
}

impl From<TransportError> for WriteFailed {
    fn from(error: TransportError) -> Self {
        Self {
            reason: error.disconnect_reason(),
            error: Some(error),
        }
    }
}

/// How long one write may wait: never past the heartbeat deadline (a connection that got
/// no ping in time is dead, written to or not), and at most `stall` (the server's
/// `pingTimeout`) without progress. A write that completes at once costs no timer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteBound {
    /// The heartbeat deadline.
    pub(crate) heartbeat: Instant,
    /// The server's `pingTimeout`.
    pub(crate) stall: Duration,
}

impl WriteBound {
    /// When a write that starts waiting at `now` gives up, and how the session ends then.
    fn expiry(self, now: Instant) -> (Instant, WriteFailed) {
        let stalled = now + self.stall;
        if self.heartbeat <= stalled {
            let ended = WriteFailed {
                reason: DisconnectReason::PingTimeout,
                error: None,
            };
            (self.heartbeat, ended)
        } else {
            let error = TransportError::WriteStalled { after: self.stall };
            (stalled, error.into())
        }
    }

    /// Runs one write step under the bound.
    pub(crate) async fn run<T>(
        self,
        write: impl Future<Output = Result<T, TransportError>>,
    ) -> Result<T, WriteFailed> {
        let mut write = std::pin::pin!(write);
        let first = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
        if let Poll::Ready(done) = first {
            return Ok(done?);
        }
        let (deadline, ended) = self.expiry(Instant::now());
        match timeout_at(deadline, write).await {
            Ok(done) => Ok(done?),
            Err(_) => {
                tracing::debug!(reason = %ended.reason, "write gave up");
                Err(ended)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALL: Duration = Duration::from_millis(50);

    #[test]
    fn a_write_gives_up_after_the_stall_bound_when_the_heartbeat_is_further() {
        let now = Instant::now();
        let bound = WriteBound {
            heartbeat: now + Duration::from_secs(60),
            stall: STALL,
        };
        let (deadline, failed) = bound.expiry(now);
        assert_eq!(deadline, now + STALL);
        assert_eq!(failed.reason, DisconnectReason::WriteStalled);
        assert!(
            matches!(failed.error, Some(TransportError::WriteStalled { after }) if after == STALL),
            "{failed:?}"
        );
    }

    #[test]
    fn a_write_never_waits_past_the_heartbeat_deadline() {
        let now = Instant::now();
        let bound = WriteBound {
            heartbeat: now + Duration::from_millis(10),
            stall: Duration::from_secs(20),
        };
        let (deadline, failed) = bound.expiry(now);
        assert_eq!(deadline, now + Duration::from_millis(10));
        assert_eq!(failed.reason, DisconnectReason::PingTimeout);
        assert!(failed.error.is_none(), "{failed:?}");
    }

    #[tokio::test]
    async fn a_write_that_makes_no_progress_ends_with_write_stalled() {
        let bound = WriteBound {
            heartbeat: Instant::now() + Duration::from_secs(3600),
            stall: STALL,
        };
        let stuck = std::future::pending::<Result<(), TransportError>>();
        let failed = bound.run(stuck).await.expect_err("a stuck write gives up");
        assert_eq!(failed.reason, DisconnectReason::WriteStalled);
    }

    #[tokio::test]
    async fn a_write_that_completes_at_once_succeeds_even_past_the_heartbeat() {
        // The deadline passed, but the write needs no wait: it is not failed for it.
        let bound = WriteBound {
            heartbeat: Instant::now(),
            stall: STALL,
        };
        let done = bound.run(async { Ok::<_, TransportError>(7) }).await;
        assert_eq!(done.expect("written"), 7);
    }

    #[tokio::test]
    async fn a_failed_write_keeps_its_own_cause() {
        let bound = WriteBound {
            heartbeat: Instant::now() + Duration::from_secs(3600),
            stall: STALL,
        };
        let failed = bound
            .run(async { Err::<(), _>(TransportError::WriteBufferFull { limit: 1 }) })
            .await
            .expect_err("the write failed");
        assert_eq!(failed.reason, DisconnectReason::WriteStalled);
        assert!(matches!(
            failed.error,
            Some(TransportError::WriteBufferFull { limit: 1 })
        ));
    }
}
