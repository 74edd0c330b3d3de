//! Time as the sign-in core sees it. Injected everywhere so expiry, lockout and code lifetimes
//! are tested by moving a clock, never by sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// The system clock shifted by an adjustable offset, or set to stand still at a given second:
/// tests and benchmarks move time while the server runs, and a test that sets it knows every
/// time the server writes (token lifetimes asserted to the second).
#[derive(Clone, Default)]
pub struct ShiftedClock {
    offset: Arc<AtomicI64>,
    /// The second the clock stands at; 0 while it follows the system clock.
    stopped_at: Arc<AtomicI64>,
}

impl ShiftedClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Stops the clock at `now` (seconds since the Unix epoch, not 0); `advance` still moves it.
    pub fn set(&self, now: i64) {
        self.offset.store(0, Ordering::SeqCst);
        self.stopped_at.store(now, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> i64 {
        let base = match self.stopped_at.load(Ordering::SeqCst) {
            0 => SystemClock.now(),
            at => at,
        };
        base + self.offset.load(Ordering::SeqCst)
    }
}

/// A clock that stands still: unit tests know every time the core writes.
pub struct FrozenClock(pub i64);

impl Clock for FrozenClock {
    fn now(&self) -> i64 {
        self.0
    }
}
