//! How long a refused sign-in takes at least: as long as the slowest password verify any
//! account in the store could cost, so an unknown email (which cannot know which scheme to
//! imitate) and an account with an imported slow hash (Magento's 64 MiB argon2, bcrypt 13,
//! PBKDF2 at a million rounds) are refused alike. Refusals wait by sleeping, never by hashing.
//!
//! The floor is calibrated once at start-up, before any refusal is answered: the scan of the
//! customers that the legacy-hash gauge already makes finds the costliest stored hash of each
//! kind (`legacy_hash::verify_cost`), and one verify of each (plus one of the dummy hash) is
//! timed on a hash worker. A store without slow hashes times nothing; the costliest
//! the import limits admit is never run unless a store holds it. Costly verifies then go
//! through a lane of few permits (`Auth::verify_stored`), so one client cannot buy more than
//! that many workers' time with them.

use super::legacy_hash::{self, Argon2Cost, CostKind};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// The costliest stored hash of each kind of costly verify, as a scan of the store finds them.
#[derive(Default)]
pub struct Census {
    costliest: BTreeMap<CostKind, (u64, String)>,
}

impl Census {
    /// Counts one stored hash: one at the configured argon2 cost is left to the verify it
    /// costs anyway; any other that costs real work is kept if the costliest of its kind.
    pub fn consider(&mut self, stored: &str, cost: &Argon2Cost, accept_legacy: bool) {
        if !legacy_hash::needs_rehash(stored, cost) {
            return;
        }
        let Some(c) = legacy_hash::verify_cost(stored, accept_legacy) else {
            return;
        };
        let slot = self.costliest.entry(c.kind).or_insert((0, String::new()));
        if c.work > slot.0 {
            *slot = (c.work, stored.to_owned());
        }
    }

    /// The hashes to time, one per kind.
    pub fn hashes(&self) -> impl Iterator<Item = (CostKind, &str)> {
        self.costliest.iter().map(|(k, (_, h))| (*k, h.as_str()))
    }
}

/// What refusals wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Floor {
    /// Every refusal ends no earlier than this after it began.
    pub wait: Duration,
    /// The slowest verify timed: a costly verify that starts within `wait - slowest` of the
    /// request still ends before the floor.
    pub slowest: Duration,
    /// The most that slower verifies seen later may raise `wait` to.
    cap: Duration,
}

/// The floor over the slowest timed verify: one measurement on a shared machine varies, and a
/// verify that outlasts the floor shows. Half again, at the cost of a sleep.
const MARGIN: (u32, u32) = (3, 2);

/// How far verifies seen after start-up may raise the floor, as a multiple of the calibrated
/// one: a loaded machine's slow verifies should not show, but neither should one stall (or a
/// client that loads the machine) make every refusal wait without bound.
const RAISE_CAP: u32 = 4;

impl Floor {
    /// The floor for verifies that took `times` (the dummy's and each costliest hash's).
    pub fn calibrated(times: &[Duration]) -> Floor {
        let slowest = times.iter().copied().max().unwrap_or_default();
        let wait = slowest * MARGIN.0 / MARGIN.1;
        Floor {
            wait,
            slowest,
            cap: wait * RAISE_CAP,
        }
    }

    /// How long a costly verify may wait for the lane and still end by the floor.
    pub fn slack(&self) -> Duration {
        self.wait.saturating_sub(self.slowest)
    }

    /// The floor after a costly verify that took `took`: raised when that verify, with the
    /// margin, would outlast it (up to the cap), else unchanged.
    pub fn after(&self, took: Duration) -> Floor {
        let wanted = (took * MARGIN.0 / MARGIN.1).min(self.cap);
        if wanted <= self.wait {
            return *self;
        }
        Floor {
            wait: wanted,
            slowest: took.max(self.slowest),
            cap: self.cap,
        }
    }
}

/// The floor as refusals read it: unknown (`None`) from the moment the server expects a
/// census until the census has set it, so refusals answered meanwhile wait for it.
pub struct RefusalFloor {
    floor: watch::Sender<Option<Floor>>,
    /// Serialises raises, so two verifies ending together cannot lower one another's.
    raising: Mutex<()>,
}

impl Default for RefusalFloor {
    /// No floor: a core without a census (commands, unit tests) pads to the verify average.
    fn default() -> Self {
        RefusalFloor {
            floor: watch::Sender::new(Some(Floor::default())),
            raising: Mutex::new(()),
        }
    }
}

impl RefusalFloor {
    /// From now until `set`, refusals wait for the census.
    pub fn expect(&self) {
        self.floor.send_replace(None);
    }

    pub fn set(&self, floor: Floor) {
        self.floor.send_replace(Some(floor));
    }

    /// The floor, once known.
    pub async fn get(&self) -> Floor {
        let mut rx = self.floor.subscribe();
        let known = match rx.wait_for(Option::is_some).await {
            Ok(known) => known.unwrap_or_default(),
            // The sender lives as long as `self`: unreachable, but never a panic.
            Err(_) => Floor::default(),
        };
        known
    }

    /// Raises the floor after a costly verify that took `took` (see `Floor::after`).
    pub fn observe(&self, took: Duration) {
        let Ok(_raising) = self.raising.lock() else {
            return;
        };
        let current = *self.floor.borrow();
        if let Some(floor) = current {
            let raised = floor.after(took);
            if raised != floor {
                self.floor.send_replace(Some(raised));
            }
        }
    }
}

/// What a verify that could not be timed counts as (the pool failed at start-up): longer than
/// any verify the import limits admit on the development machine, so nothing shows.
const UNTIMED: Duration = Duration::from_secs(3);

impl super::Auth {
    /// Marks the floor unknown until `take_census` sets it: the server calls this before it
    /// serves, so no refusal is answered on a floor that does not yet cover the store.
    pub fn expect_census(&self) {
        self.sign_ins.refusal_floor.expect();
    }

    /// Scans the store (setting the legacy-hash gauge), times one dummy verify and one verify
    /// of the costliest stored hash of each kind, and sets the refusal floor from them.
    /// Returns the gauge's total. On a store failure the floor falls back to `UNTIMED`.
    pub async fn take_census(&self) -> Result<u64, super::StoreError> {
        let (left, census) = match self.scan_password_hashes().await {
            Ok(found) => found,
            Err(e) => {
                self.sign_ins
                    .refusal_floor
                    .set(Floor::calibrated(&[UNTIMED]));
                return Err(e);
            }
        };
        // A store without costly hashes needs no floor beyond the verify each refusal makes or
        // waits as long as: nothing is timed, so no hash worker holds a 19 MiB argon2 area from
        // start-up (the idle server stays at ~15 MiB instead of ~34).
        let mut times = Vec::new();
        if census.hashes().next().is_some() {
            let dummy = self.passwords.time_verify(None).await.unwrap_or(UNTIMED);
            times.push(dummy);
            for (kind, stored) in census.hashes() {
                let took = self
                    .passwords
                    .time_verify(Some(stored))
                    .await
                    .unwrap_or(UNTIMED);
                tracing::debug!(?kind, ?took, "costliest stored hash of its kind timed");
                times.push(took);
            }
            // The dummy's time also seeds the average refusals without a costly hash wait for.
            let _ = self.sign_ins.verify_micros.compare_exchange(
                0,
                dummy.as_micros() as u64,
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        let floor = Floor::calibrated(&times);
        tracing::info!(
            refusal_floor_ms = floor.wait.as_millis() as u64,
            "sign-in refusals wait at least this long"
        );
        self.sign_ins.refusal_floor.set(floor);
        Ok(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: Argon2Cost = Argon2Cost {
        memory_kib: 19456,
        iterations: 2,
        parallelism: 1,
    };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_census_keeps_the_costliest_hash_of_each_kind_and_nothing_cheap() {
        let mut census = Census::default();
        let bcrypt4 = "$2y$04$BOSGObVxtQxIFfQSC91ka.8zPssyj6PWPDnNA8HdszauZv.w1qZCS";
        let bcrypt5 = "$2b$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLC5ZZ4QW0tmzPBmv8y";
        let magento = "$argon2id$v=19$m=65536,t=2,p=1$NVBpS0pSbjI4YkJLb0ZNbw$q16/jSc7CFtqYDNhmOClogkP3D4GBqZ4MVxydKsG4EY";
        let own = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        for stored in [
            bcrypt4,
            bcrypt5,
            bcrypt4,
            magento,
            own,
            "magento:67a1e09bb1f83f5007dc119c14d663aa:salt:0",
        ] {
            census.consider(stored, &SHIPPED, true);
        }
        let kept: Vec<_> = census.hashes().collect();
        assert_eq!(
            kept,
            [(CostKind::Argon2, magento), (CostKind::Bcrypt, bcrypt5)]
        );
        // Legacy hashes off: bcrypt never verifies, a foreign-cost argon2 PHC string still does.
        let mut off = Census::default();
        for stored in [bcrypt5, magento, own] {
            off.consider(stored, &SHIPPED, false);
        }
        assert_eq!(
            off.hashes().collect::<Vec<_>>(),
            [(CostKind::Argon2, magento)]
        );
    }

    #[test]
    fn the_floor_is_half_again_the_slowest_timed_verify() {
        let floor = Floor::calibrated(&[ms(40), ms(800), ms(300)]);
        assert_eq!((floor.wait, floor.slowest), (ms(1200), ms(800)));
        assert_eq!(floor.slack(), ms(400));
        assert_eq!(Floor::calibrated(&[]), Floor::default());
    }

    #[test]
    fn slower_verifies_raise_the_floor_up_to_a_cap_and_faster_ones_never_lower_it() {
        let floor = Floor::calibrated(&[ms(100)]);
        assert_eq!(floor.after(ms(50)), floor);
        assert_eq!(floor.after(ms(100)), floor);
        let raised = floor.after(ms(200));
        assert_eq!((raised.wait, raised.slowest), (ms(300), ms(200)));
        assert_eq!(raised.after(ms(10)), raised);
        // One stall raises it to four times the calibrated floor, no further.
        assert_eq!(floor.after(ms(60_000)).wait, ms(600));
    }

    #[tokio::test]
    async fn refusals_wait_for_the_census_once_it_is_expected() {
        let floor = std::sync::Arc::new(RefusalFloor::default());
        assert_eq!(floor.get().await, Floor::default());
        floor.expect();
        let waiting = tokio::spawn({
            let floor = floor.clone();
            async move { floor.get().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a refusal went ahead of the census");
        let known = Floor::calibrated(&[ms(20)]);
        floor.set(known);
        assert_eq!(waiting.await.unwrap(), known);
        floor.observe(ms(40));
        assert_eq!(floor.get().await.wait, ms(60));
    }
}
