//! One password check at a time per email: concurrent sign-ins for one address wait their turn,
//! so each sees the lockout the previous one left. Without this, a burst of guesses all read
//! "unlocked", all run argon2, and a right password inside the burst wins after the lock.
//!
//! Turns are keyed by the normalised email, not by customer id, so an unknown address queues
//! exactly like a known one (a difference in waiting would tell which emails have accounts).
//! The map holds only keys with a request in flight; it is bounded by the open connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default)]
pub struct Turns {
    slots: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// Held while a request checks a credential for one email; the next waiter goes on drop.
pub struct Turn<'a> {
    turns: &'a Turns,
    key: String,
    slot: Arc<AsyncMutex<()>>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Turns {
    /// Waits until no other request holds `key`'s turn, then holds it.
    pub async fn take(&self, key: &str) -> Turn<'_> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry(key.to_string()).or_default().clone()
        };
        let guard = slot.clone().lock_owned().await;
        Turn {
            turns: self,
            key: key.to_string(),
            slot,
            guard: Some(guard),
        }
    }

    /// Keys with a request in flight or waiting.
    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.slots.lock().map(|s| s.len()).unwrap_or(0)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut slots = self.turns.slots.lock().unwrap_or_else(|p| p.into_inner());
        // Ours and the map's: nobody else waits, so the key can go. Clones are only made under
        // this same lock, so the count cannot rise between the check and the removal.
        if Arc::strong_count(&self.slot) == 2 {
            slots.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_turn_at_a_time_per_key_and_the_map_empties() {
        let turns = Arc::new(Turns::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (turns, inside, most) = (turns.clone(), inside.clone(), most.clone());
                tokio::spawn(async move {
                    let _turn = turns.take("bob@example.com").await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert_eq!(turns.in_flight(), 0);
    }

    #[tokio::test]
    async fn different_keys_do_not_wait_for_each_other() {
        let turns = Turns::default();
        let _a = turns.take("a@example.com").await;
        let _b = turns.take("b@example.com").await;
        assert_eq!(turns.in_flight(), 2);
    }
}
