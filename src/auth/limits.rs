//! In-memory rate limits: fixed windows per key (the per-IP sign-in throttle, the per-IP budget
//! for reset and confirmation mail). They live in memory, per instance, on purpose: they blunt
//! floods, and a restart forgetting them costs nothing that lockout and the per-address mail
//! limits (both stored, shared by every instance) do not still guard.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

use ring::hmac;
use ring::rand::SystemRandom;

/// The most keys one limiter keeps (both generations together). Each entry is a key plus a few
/// integers (an email key is well under 1 KB), so a limiter stays within tens of MB whatever
/// the traffic.
pub const MAX_KEYS: usize = 50_000;

/// The key a per-IP limit counts an address under: an IPv6 client by its /64 (the block one
/// subscriber gets, so rotating through it buys nothing), an IPv4-mapped IPv6 address as the
/// IPv4 address it is.
pub fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Per-key state in two generations, so memory is bounded and costs O(1) per event, with no
/// scan. New and touched keys go into `current`; when it has held `MAX_KEYS / 2` keys or has
/// been current for a whole window, it becomes `previous` and the old `previous` is dropped.
/// A rotation by time drops only expired state: every key in the old `previous` was last
/// touched before the current generation began, a window or more ago. A rotation by size may
/// drop live state: a key untouched while `MAX_KEYS / 2` to `MAX_KEYS` other keys arrive in
/// one window is forgotten and starts a fresh window. That is the trade-off for bounded memory:
/// an evicted key only means a fresh window, never a crash or growth; fewer than `MAX_KEYS / 2`
/// new keys never evict anything, a key touched meanwhile is never evicted, and whoever floods
/// to evict a key pays with that many requests, each limited under its own key.
struct Generations<K, V> {
    span: i64,
    started: i64,
    current: HashMap<K, V>,
    previous: HashMap<K, V>,
}

impl<K: Hash + Eq + Clone, V> Generations<K, V> {
    fn new(span: i64) -> Self {
        Generations {
            span,
            started: i64::MIN,
            current: HashMap::new(),
            previous: HashMap::new(),
        }
    }

    fn rotate(&mut self, now: i64) {
        self.previous = std::mem::take(&mut self.current);
        self.started = now;
    }

    /// Removes and returns the state of `key` from either generation.
    fn take(&mut self, key: &K, now: i64) -> Option<V> {
        let age = now.saturating_sub(self.started);
        if age >= self.span.saturating_mul(2) {
            // Every key was last touched a window or more ago.
            self.current.clear();
            self.previous.clear();
            self.started = now;
        } else if age >= self.span {
            self.rotate(now);
        }
        self.current
            .remove(key)
            .or_else(|| self.previous.remove(key))
    }

    /// Stores the state of `key` in the current generation.
    fn put(&mut self, key: K, value: V, now: i64) {
        if self.current.len() >= MAX_KEYS / 2 {
            self.rotate(now);
        }
        self.current.insert(key, value);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

pub struct RateLimiter<K> {
    limit: u32,
    window: i64,
    /// Per key: when its window started, and the events counted in it.
    counts: Mutex<Generations<K, (i64, u32)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `limit` events per `window` seconds; a limit of 0 turns the limiter off.
    pub fn new(limit: u32, window: i64) -> Self {
        let window = window.max(1);
        RateLimiter {
            limit,
            window,
            counts: Mutex::new(Generations::new(window)),
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
        let (start, count) = match counts.take(key, now) {
            Some((start, count)) if now.saturating_sub(start) < self.window => (start, count),
            _ => (now, 0),
        };
        let count = count.saturating_add(1);
        counts.put(key.clone(), (start, count), now);
        count <= self.limit
    }

    /// True when `key` has already used its whole limit in the current window (the next
    /// `allow` would refuse it). Counts nothing.
    pub fn over(&self, key: &K, now: i64) -> bool {
        if self.limit == 0 {
            return false;
        }
        let Ok(mut counts) = self.counts.lock() else {
            return false;
        };
        match counts.take(key, now) {
            Some((start, count)) if now.saturating_sub(start) < self.window => {
                counts.put(key.clone(), (start, count), now);
                count >= self.limit
            }
            _ => false,
        }
    }

    #[cfg(test)]
    fn stored_keys(&self) -> usize {
        self.counts.lock().map(|c| c.len()).unwrap_or(0)
    }
}

/// Failed sign-ins seen in the last `window` seconds, so an identical retry (a storefront
/// re-sending a refused request) counts once. An attempt is remembered only as an HMAC-SHA256
/// tag under a key drawn at start and never stored or logged, so the map holds nothing a
/// secret can be recovered or tested from; it is bounded like the limiters (`MAX_KEYS`).
pub struct RecentFailures {
    key: hmac::Key,
    window: i64,
    /// Per tag: when the attempt was counted.
    seen: Mutex<Generations<[u8; 32], i64>>,
}

impl RecentFailures {
    /// `window` seconds; 0 remembers nothing (every attempt counts).
    pub fn new(window: u32) -> Result<Self, String> {
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new())
            .map_err(|_| "no randomness for the repeat-attempt key".to_string())?;
        let window = i64::from(window);
        Ok(RecentFailures {
            key,
            window,
            seen: Mutex::new(Generations::new(window.max(1))),
        })
    }

    /// The tag of an attempt described by `parts` (each length-prefixed, so no two different
    /// lists of parts share an input).
    pub fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in parts {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// True when the attempt tagged `tag` was counted less than `window` seconds ago.
    pub fn seen(&self, tag: &[u8; 32], now: i64) -> bool {
        if self.window == 0 {
            return false;
        }
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        match seen.take(tag, now) {
            Some(at) if now.saturating_sub(at) < self.window => {
                seen.put(*tag, at, now);
                true
            }
            _ => false,
        }
    }

    /// Remembers that the attempt tagged `tag` was counted at `now`.
    pub fn remember(&self, tag: [u8; 32], now: i64) {
        if self.window == 0 {
            return;
        }
        if let Ok(mut seen) = self.seen.lock() {
            seen.take(&tag, now);
            seen.put(tag, now, now);
        }
    }

    #[cfg(test)]
    fn stored_keys(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
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

    const FLOOD: u32 = 100_000;

    fn email(n: u32) -> String {
        format!("flood{n}@example.com")
    }

    #[test]
    fn rate_limiter_stays_bounded_under_a_flood_of_keys() {
        let l = RateLimiter::new(2, 3600);
        let victim = "victim@example.com".to_string();
        assert!(l.allow(&victim, 0));
        assert!(l.allow(&victim, 0));
        assert!(!l.allow(&victim, 0));
        let mut most = 0;
        for n in 0..FLOOD {
            assert!(l.allow(&email(n), 1));
            most = most.max(l.stored_keys());
            // A key still being tried is never evicted, however many others arrive.
            if n % 1000 == 0 {
                assert!(!l.allow(&victim, 1), "after {n} flood keys");
            }
        }
        assert!(most <= MAX_KEYS, "{most} keys stored");
        assert!(!l.allow(&victim, 2));
    }

    #[test]
    fn fewer_new_keys_than_half_the_cap_evict_nothing() {
        let l = RateLimiter::new(1, 3600);
        let victim = "victim@example.com".to_string();
        assert!(l.allow(&victim, 0));
        for n in 0..(MAX_KEYS / 2 - 1) as u32 {
            l.allow(&email(n), 1);
        }
        assert!(!l.allow(&victim, 2));
    }

    #[test]
    fn an_evicted_key_starts_a_fresh_window() {
        let l = RateLimiter::new(1, 3600);
        let victim = "victim@example.com".to_string();
        assert!(l.allow(&victim, 0));
        for n in 0..MAX_KEYS as u32 {
            l.allow(&email(n), 1);
        }
        assert!(l.allow(&victim, 2));
        assert!(l.stored_keys() <= MAX_KEYS);
    }

    #[test]
    fn expired_generations_are_dropped_with_time() {
        let l = RateLimiter::new(1, 60);
        for n in 0..1000 {
            l.allow(&n, 0);
        }
        assert!(l.allow(&7000, 59));
        l.allow(&5000, 61);
        // A generation a window old is kept while its keys may still be in their window.
        assert_eq!(l.stored_keys(), 1002);
        assert!(!l.allow(&7000, 62));
        l.allow(&5001, 200);
        // Two windows on, everything older is gone; the limits still hold.
        assert_eq!(l.stored_keys(), 1);
        assert!(!l.allow(&5001, 201));
        assert!(l.allow(&0, 201));
    }

    #[test]
    fn over_reports_a_spent_limit_without_counting() {
        let l = RateLimiter::new(2, 60);
        assert!(!l.over(&1, 0));
        assert!(l.allow(&1, 0));
        assert!(!l.over(&1, 0));
        assert!(!l.over(&1, 0));
        assert!(l.allow(&1, 0));
        assert!(l.over(&1, 1));
        assert!(!l.over(&1, 60));
        assert!(!RateLimiter::new(0, 60).over(&1, 0));
    }

    #[test]
    fn recent_failures_tag_each_part_and_forget_after_the_window() {
        let r = RecentFailures::new(60).unwrap();
        let a = r.tag(&[b"bob@example.com", b"wrong", b"127.0.0.1"]);
        assert_eq!(a, r.tag(&[b"bob@example.com", b"wrong", b"127.0.0.1"]));
        // Another secret, another address, or the same bytes split differently: another tag.
        assert_ne!(a, r.tag(&[b"bob@example.com", b"wrong2", b"127.0.0.1"]));
        assert_ne!(a, r.tag(&[b"bob@example.com", b"wrong", b"127.0.0.2"]));
        assert_ne!(a, r.tag(&[b"bob@example.com", b"wron", b"g127.0.0.1"]));
        // The key is per process: another instance tags the same attempt differently.
        assert_ne!(
            a,
            RecentFailures::new(60)
                .unwrap()
                .tag(&[b"bob@example.com", b"wrong", b"127.0.0.1"])
        );

        assert!(!r.seen(&a, 0));
        r.remember(a, 0);
        assert!(r.seen(&a, 0));
        assert!(r.seen(&a, 59));
        assert!(!r.seen(&a, 60));

        let off = RecentFailures::new(0).unwrap();
        off.remember(a, 0);
        assert!(!off.seen(&a, 0));
    }

    #[test]
    fn recent_failures_stay_bounded_under_a_flood() {
        let r = RecentFailures::new(3600).unwrap();
        let victim = r.tag(&[b"victim"]);
        r.remember(victim, 0);
        let mut most = 0;
        for n in 0..FLOOD {
            r.remember(r.tag(&[&n.to_be_bytes()]), 1);
            most = most.max(r.stored_keys());
            if n % 1000 == 0 {
                assert!(r.seen(&victim, 1), "after {n} flood keys");
            }
        }
        assert!(most <= MAX_KEYS, "{most} keys stored");
    }

    #[test]
    fn ipv6_is_keyed_by_its_64() {
        let ip = |s: &str| ip_key(s.parse().unwrap());
        assert_eq!(
            ip("2001:db8:1:2::1"),
            ip("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(ip("2001:db8:1:2:abcd::7"), ip("2001:db8:1:2::").to_owned());
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
        assert_eq!(ip("::ffff:198.51.100.7"), ip("198.51.100.7"));
        assert_ne!(ip("198.51.100.7"), ip("198.51.100.8"));

        let l = RateLimiter::new(1, 60);
        assert!(l.allow(&ip("2001:db8:1:2::1"), 0));
        assert!(!l.allow(&ip("2001:db8:1:2::99"), 0));
        assert!(l.allow(&ip("2001:db8:1:3::1"), 0));
        assert!(l.allow(&ip("::ffff:203.0.113.9"), 0));
        assert!(!l.allow(&ip("203.0.113.9"), 0));
    }
}
