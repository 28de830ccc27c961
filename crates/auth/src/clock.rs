//! Time, injectable so tests can expire codes and tokens without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// The stored timestamp format: RFC 3339 UTC with milliseconds; strings of this format sort
/// in time order, so SQL can compare them.
const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now, UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock tests move by hand.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starts at the current system time.
    pub fn new() -> Self {
        Self(Arc::new(AtomicI64::new(OffsetDateTime::now_utc().unix_timestamp())))
    }

    /// Moves time forward.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0.load(Ordering::SeqCst))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// Formats a time for storage.
pub fn stamp(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(FORMAT).unwrap_or_default()
}

/// Parses a stored time.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(s, FORMAT).ok().map(|t| t.assume_utc())
}
