//! Time as an input: a monotonic instant supplied by the caller.

use core::ops::Add;
use core::time::Duration;

/// A point in time on the caller's monotonic clock.
///
/// `dugong-proto` reads no clock. The caller picks any fixed origin (for
/// example the moment it created its first connection) and passes the time
/// elapsed since then. Only differences between instants matter.
///
/// ```
/// use core::time::Duration;
/// use dugong_proto::Instant;
///
/// let start = Instant::from_elapsed(Duration::from_millis(5));
/// let later = start + Duration::from_secs(1);
/// assert_eq!(later.saturating_duration_since(start), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(Duration);

impl Instant {
    /// The origin of the caller's clock.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The instant `elapsed` after the caller's origin.
    pub const fn from_elapsed(elapsed: Duration) -> Self {
        Instant(elapsed)
    }

    /// The time elapsed from the caller's origin to this instant.
    pub const fn elapsed_since_origin(self) -> Duration {
        self.0
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the largest representable instant.
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}
