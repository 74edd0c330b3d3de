//! In-memory rate limits: fixed windows per key (the per-IP sign-in throttle, the reset-request
//! limits). They live in memory on purpose: they blunt floods, and a restart forgetting them
//! costs nothing that lockout (which is stored) does not still guard.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

pub struct RateLimiter<K> {
    limit: u32,
    window: i64,
    counts: Mutex<HashMap<K, (i64, u32)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `limit` events per `window` seconds; a limit of 0 turns the limiter off.
    pub fn new(limit: u32, window: i64) -> Self {
        RateLimiter {
            limit,
            window: window.max(1),
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key` at `now`; false when it goes over the limit.
    pub fn allow(&self, key: &K, now: i64) -> bool {
        if self.limit == 0 {
            return true;
        }
        let Ok(mut counts) = self.counts.lock() else {
            return true;
        };
        if counts.len() > 100_000 {
            let window = self.window;
            counts.retain(|_, (start, _)| now - *start < window);
        }
        let entry = counts.entry(key.clone()).or_insert((now, 0));
        if now - entry.0 >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.limit
    }
}

/// "At most one event per `gap` seconds" per key (Adobe Commerce's minimum time between
/// password-reset requests).
pub struct MinInterval<K> {
    gap: i64,
    last: Mutex<HashMap<K, i64>>,
}

impl<K: Hash + Eq + Clone> MinInterval<K> {
    pub fn new(gap: i64) -> Self {
        MinInterval {
            gap,
            last: Mutex::new(HashMap::new()),
        }
    }

    pub fn allow(&self, key: &K, now: i64) -> bool {
        if self.gap <= 0 {
            return true;
        }
        let Ok(mut last) = self.last.lock() else {
            return true;
        };
        if last.len() > 100_000 {
            let gap = self.gap;
            last.retain(|_, t| now - *t < gap);
        }
        match last.get(key) {
            Some(t) if now - *t < self.gap => false,
            _ => {
                last.insert(key.clone(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_limits_and_resets() {
        let l = RateLimiter::new(2, 60);
        assert!(l.allow(&1, 0));
        assert!(l.allow(&1, 1));
        assert!(!l.allow(&1, 2));
        assert!(l.allow(&2, 2));
        assert!(l.allow(&1, 61));
        assert!(RateLimiter::new(0, 60).allow(&1, 0));
    }

    #[test]
    fn min_interval() {
        let m = MinInterval::new(600);
        assert!(m.allow(&"a", 0));
        assert!(!m.allow(&"a", 599));
        assert!(m.allow(&"a", 600));
    }
}
