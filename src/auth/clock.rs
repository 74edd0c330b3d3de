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

/// The system clock shifted by an adjustable offset: tests and benchmarks move time forward
/// while the server runs.
#[derive(Clone, Default)]
pub struct ShiftedClock {
    offset: Arc<AtomicI64>,
}

impl ShiftedClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> i64 {
        SystemClock.now() + self.offset.load(Ordering::SeqCst)
    }
}

/// A clock that stands still: unit tests know every time the core writes.
pub struct FrozenClock(pub i64);

impl Clock for FrozenClock {
    fn now(&self) -> i64 {
        self.0
    }
}
