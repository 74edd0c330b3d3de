//! Adobe Commerce's lockout arithmetic, as pure functions.

use super::*;

/// Adobe Commerce's `processAuthenticationFailure` on the lockout columns: counts a failure and
/// locks at `max` failures for `minutes`; the first failure, or one after an expired lock,
/// starts over at 1. True when this failure engaged the lock.
pub fn count_failure(l: &mut Lockout, now: Timestamp, max: u32, minutes: u32) -> bool {
    let mut failures = l.failures + 1;
    let lock_expired = matches!(l.lock_expires, Some(t) if now > t);
    let mut locked_now = false;
    if failures == 1 || l.first_failure.is_none() || lock_expired {
        l.first_failure = Some(now);
        failures = 1;
        l.lock_expires = None;
    } else if failures >= max {
        l.lock_expires = Some(now + i64::from(minutes) * 60);
        locked_now = true;
    }
    l.failures = failures;
    locked_now
}

pub fn is_locked(lockout: &Lockout, now: Timestamp) -> bool {
    matches!(lockout.lock_expires, Some(t) if t > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_engages_at_max_failures_and_an_expired_lock_starts_over() {
        let mut l = Lockout::default();
        assert!(!count_failure(&mut l, 100, 3, 10));
        assert_eq!(
            (l.failures, l.first_failure, l.lock_expires),
            (1, Some(100), None)
        );
        assert!(!count_failure(&mut l, 101, 3, 10));
        assert!(count_failure(&mut l, 102, 3, 10));
        assert_eq!((l.failures, l.lock_expires), (3, Some(102 + 600)));
        assert!(is_locked(&l, 702 - 1));
        assert!(!is_locked(&l, 702));
        // A failure after the lock ended counts from 1 again.
        assert!(!count_failure(&mut l, 703, 3, 10));
        assert_eq!(
            (l.failures, l.first_failure, l.lock_expires),
            (1, Some(703), None)
        );
    }
}
