//! Wall-clock timestamps (`12:34:56.789`, local time) for readable output and server logs.

use std::sync::OnceLock;

use time::{OffsetDateTime, UtcOffset};

/// The local UTC offset, read once at start-up.
static LOCAL_OFFSET: OnceLock<UtcOffset> = OnceLock::new();

/// Reads the local UTC offset. Call it before any other thread starts: on Unix the offset
/// can only be read soundly while the process has one thread; later calls keep UTC.
pub fn init() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let _ = LOCAL_OFFSET.set(offset);
}

/// The current local time as `HH:MM:SS.mmm` (UTC when [`init`] was not called).
pub fn now() -> String {
    let offset = LOCAL_OFFSET.get().copied().unwrap_or(UtcOffset::UTC);
    format_time(OffsetDateTime::now_utc().to_offset(offset))
}

fn format_time(time: OffsetDateTime) -> String {
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        time.hour(),
        time.minute(),
        time.second(),
        time.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_zero_padded_with_milliseconds() {
        let time = OffsetDateTime::from_unix_timestamp_nanos(3_723_004_000_000).unwrap();
        assert_eq!(format_time(time), "01:02:03.004");
    }

    #[test]
    fn now_has_the_fixed_width_format() {
        let now = now();
        assert_eq!(now.len(), 12, "{now}");
        assert_eq!(&now[2..3], ":");
        assert_eq!(&now[8..9], ".");
    }
}
