//! Adobe Commerce's lockout arithmetic, as pure functions.

use super::*;

/// What one failed sign-in did to the lockout columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strike {
    /// Counted; the account stays unlocked.
    Counted,
    /// Counted, and this failure engaged the lock.
    Locked,
    /// The lock had engaged before this failure arrived (one in flight on another instance,
    /// or on this one before the lock): not counted, and the lock's end stays where it was.
    WhileLocked,
}

/// Adobe Commerce's `processAuthenticationFailure` on the lockout columns: counts a failure and
/// locks at `max` failures for `minutes`; the first failure, or one after an expired lock,
/// starts over at 1. Run inside the store's update of the record, so of failures racing over
/// several instances exactly the `max`th engages the lock and the rest find it engaged.
pub fn count_failure(l: &mut Lockout, now: Timestamp, max: u32, minutes: u32) -> Strike {
    if is_locked(l, now) {
        return Strike::WhileLocked;
    }
    let mut failures = l.failures + 1;
    let lock_expired = matches!(l.lock_expires, Some(t) if now > t);
    let mut outcome = Strike::Counted;
    if failures == 1 || l.first_failure.is_none() || lock_expired {
        l.first_failure = Some(now);
        failures = 1;
        l.lock_expires = None;
    } else if failures >= max {
        l.lock_expires = Some(now + i64::from(minutes) * 60);
        outcome = Strike::Locked;
    }
    l.failures = failures;
    outcome
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
        assert_eq!(count_failure(&mut l, 100, 3, 10), Strike::Counted);
        assert_eq!(
            (l.failures, l.first_failure, l.lock_expires),
            (1, Some(100), None)
        );
        assert_eq!(count_failure(&mut l, 101, 3, 10), Strike::Counted);
        assert_eq!(count_failure(&mut l, 102, 3, 10), Strike::Locked);
        assert_eq!((l.failures, l.lock_expires), (3, Some(102 + 600)));
        assert!(is_locked(&l, 702 - 1));
        assert!(!is_locked(&l, 702));
        // A failure after the lock ended counts from 1 again.
        assert_eq!(count_failure(&mut l, 703, 3, 10), Strike::Counted);
        assert_eq!(
            (l.failures, l.first_failure, l.lock_expires),
            (1, Some(703), None)
        );
    }

    #[test]
    fn a_failure_that_arrives_after_the_lock_engaged_neither_counts_nor_moves_its_end() {
        let mut l = Lockout::default();
        for now in 100..103 {
            count_failure(&mut l, now, 3, 10);
        }
        let locked = l.clone();
        assert_eq!(locked.lock_expires, Some(702));
        // Failures verified against the unlocked record, committed after the lock engaged.
        for now in [102, 103, 701] {
            assert_eq!(count_failure(&mut l, now, 3, 10), Strike::WhileLocked);
            assert_eq!(l, locked);
        }
        // Once it has ended, a failure starts over.
        assert_eq!(count_failure(&mut l, 703, 3, 10), Strike::Counted);
        assert_eq!((l.failures, l.lock_expires), (1, None));
    }
}
