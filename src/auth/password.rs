//! Passwords: the Adobe Commerce strength policy with its exact messages, and argon2id hashing
//! on a bounded pool of worker threads. The pool keeps argon2's memory off the async runtime and
//! bounded: when its queue is full a request fails at once with `Busy` instead of waiting.
//! Verifies also take the hashes `storekey import` brings in (`legacy_hash`), and say whether
//! the stored hash should be replaced by one at the configured cost.

use super::legacy_hash::{self, Argon2Cost, Limits};
use super::secret::Secret;
use crate::config::PasswordConfig;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// A password the policy refused, with Adobe Commerce's message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    TooLong(usize),
    TooShort(usize),
    EdgeSpace,
    TooFewClasses(usize),
    SameAsEmail,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyError::TooLong(n) => write!(f, "Please enter a password with at most {n} characters."),
            PolicyError::TooShort(n) => write!(
                f,
                "The password needs at least {n} characters. Create a new password and try again."
            ),
            PolicyError::EdgeSpace => f.write_str(
                "The password can't begin or end with a space. Verify the password and try again.",
            ),
            PolicyError::TooFewClasses(n) => write!(
                f,
                "Minimum of different classes of characters in password is {n}. Classes of characters: Lower Case, Upper Case, Digits, Special Characters."
            ),
            PolicyError::SameAsEmail => f.write_str(
                "The password can't be the same as the email address. Create a new password and try again.",
            ),
        }
    }
}

/// Adobe Commerce's `checkPasswordStrength`, in its order, counting characters (not bytes).
pub fn check_policy(cfg: &PasswordConfig, password: &str, email: &str) -> Result<(), PolicyError> {
    let length = password.chars().count();
    if length > cfg.max_length {
        return Err(PolicyError::TooLong(cfg.max_length));
    }
    if length < cfg.min_length {
        return Err(PolicyError::TooShort(cfg.min_length));
    }
    if password.trim() != password {
        return Err(PolicyError::EdgeSpace);
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|present| **present)
    .count();
    if classes < cfg.required_classes {
        return Err(PolicyError::TooFewClasses(cfg.required_classes));
    }
    if !email.is_empty() && password.eq_ignore_ascii_case(email.trim()) {
        return Err(PolicyError::SameAsEmail);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashError {
    /// The queue is full: try again shortly.
    Busy,
    /// The pool is shut down, or argon2 failed.
    Failed(String),
}

enum Job {
    Hash(
        Secret,
        tokio::sync::oneshot::Sender<Result<String, HashError>>,
    ),
    Verify(
        Option<String>,
        Secret,
        tokio::sync::oneshot::Sender<Verified>,
    ),
    /// A verify whose result is dropped, for its duration on the worker (`time_verify`).
    Time(
        Option<String>,
        tokio::sync::oneshot::Sender<std::time::Duration>,
    ),
}

/// What a verify found: whether the password matched, and whether the stored hash should be
/// replaced by an argon2id hash at the configured cost (a legacy scheme, or argon2 at another
/// cost). A missing hash (the dummy verify) needs nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    pub needs_rehash: bool,
}

/// The argon2id worker pool.
pub struct PasswordPool {
    jobs: mpsc::SyncSender<Job>,
    queued: Arc<AtomicUsize>,
    /// Declared after `jobs`: dropping the pool closes the queue, then joins every worker.
    _workers: Workers,
}

/// The worker threads, joined on drop once the queue is closed (each finishes its job first).
struct Workers(Vec<std::thread::JoinHandle<()>>);

impl Drop for Workers {
    fn drop(&mut self) {
        for worker in self.0.drain(..) {
            let _ = worker.join();
        }
    }
}

impl PasswordPool {
    pub fn new(cfg: &PasswordConfig, workers: usize) -> Result<PasswordPool, HashError> {
        let params = Params::new(
            cfg.argon2_memory_kib,
            cfg.argon2_iterations,
            cfg.argon2_parallelism,
            None,
        )
        .map_err(|e| HashError::Failed(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let rules = Rules {
            cost: Argon2Cost::from(cfg),
            accept_legacy: cfg.accept_legacy_hashes,
            limits: Limits::default(),
        };
        // A hash to verify against when the email is unknown, so a miss costs what a wrong
        // password costs and response time does not reveal which emails have accounts. Its
        // output is random rather than computed: a verify against it runs argon2 at the same
        // cost (and never matches), and start-up allocates no argon2 memory area it then frees.
        let dummy = dummy_hash(argon.params())?;
        let (jobs, queue) = mpsc::sync_channel::<Job>(cfg.hash_queue);
        let queue = Arc::new(Mutex::new(queue));
        let queued = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::with_capacity(workers.max(1));
        for n in 0..workers.max(1) {
            let queue = queue.clone();
            let queued = queued.clone();
            let argon = argon.clone();
            let dummy = dummy.clone();
            let rules = rules.clone();
            let handle = std::thread::Builder::new()
                .name(format!("storekey-argon2-{n}"))
                .spawn(move || run_worker(&queue, &queued, Worker::new(argon, rules), &dummy))
                .map_err(|e| HashError::Failed(format!("cannot start hash worker: {e}")))?;
            handles.push(handle);
        }
        Ok(PasswordPool {
            jobs,
            queued,
            _workers: Workers(handles),
        })
    }

    /// Requests waiting for a worker.
    pub fn queue_depth(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// How long one verify against `phc` (or the dummy hash) takes on a worker, queueing left
    /// out: what `refusal_floor` calibrates with. The password is one no customer is asked for.
    pub async fn time_verify(&self, phc: Option<&str>) -> Result<std::time::Duration, HashError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Job::Time(phc.map(str::to_owned), reply))?;
        answer
            .await
            .map_err(|_| HashError::Failed("hash worker stopped".into()))
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.jobs.try_send(job).map_err(|e| {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            match e {
                mpsc::TrySendError::Full(_) => HashError::Busy,
                mpsc::TrySendError::Disconnected(_) => HashError::Failed("pool stopped".into()),
            }
        })
    }

    pub async fn hash(&self, password: &Secret) -> Result<String, HashError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Job::Hash(password.clone(), reply))?;
        answer
            .await
            .map_err(|_| HashError::Failed("hash worker stopped".into()))?
    }

    /// Verifies against a stored hash (argon2 PHC, or a legacy form `storekey import` keeps), or
    /// against the dummy hash when there is none (never a match then, but just as slow).
    pub async fn verify(
        &self,
        phc: Option<&str>,
        password: &Secret,
    ) -> Result<Verified, HashError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Job::Verify(phc.map(str::to_owned), password.clone(), reply))?;
        answer
            .await
            .map_err(|_| HashError::Failed("hash worker stopped".into()))
    }
}

fn run_worker(
    queue: &Mutex<mpsc::Receiver<Job>>,
    queued: &AtomicUsize,
    mut worker: Worker,
    dummy: &str,
) {
    loop {
        let job = match queue.lock() {
            Ok(q) => match q.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        queued.fetch_sub(1, Ordering::Relaxed);
        match job {
            Job::Hash(pw, reply) => {
                let _ = reply.send(worker.hash(pw.expose()));
            }
            Job::Verify(phc, pw, reply) => {
                let _ = reply.send(worker.verify_any(phc.as_deref(), pw.expose(), dummy));
            }
            Job::Time(phc, reply) => {
                let started = std::time::Instant::now();
                worker.verify_any(phc.as_deref(), "storekey calibration \u{1}", dummy);
                let _ = reply.send(started.elapsed());
            }
        }
    }
}

/// The hash unknown emails are verified against: argon2id with `params`, a random salt and a
/// random output, which no password produces.
fn dummy_hash(params: &Params) -> Result<String, HashError> {
    let mut out = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut out)
        .map_err(|_| HashError::Failed("no randomness for the dummy hash".into()))?;
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    phc(params, &salt, &out)
}

/// The PHC string of an argon2id output `out` with `params` and `salt`.
fn phc(params: &Params, salt: &SaltString, out: &[u8]) -> Result<String, HashError> {
    let failed = |e: &dyn std::fmt::Display| HashError::Failed(e.to_string());
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// One hash worker's state: the configured parameters and an argon2 memory area that is
/// allocated once and reused. Allocating 19 MiB per verify lets the allocator's per-thread
/// arenas fragment and grow far past 19 MiB per worker; one owned buffer keeps resident memory
/// at workers x argon2_memory.
struct Worker {
    argon: Argon2<'static>,
    rules: Rules,
    memory: Vec<Block>,
}

/// What a worker needs besides the argon2 it hashes with: the cost a stored hash must have not
/// to be replaced, whether legacy hashes verify, and the work one may ask for.
#[derive(Clone)]
struct Rules {
    cost: Argon2Cost,
    accept_legacy: bool,
    limits: Limits,
}

impl Worker {
    fn new(argon: Argon2<'static>, rules: Rules) -> Worker {
        Worker {
            argon,
            rules,
            memory: Vec::new(),
        }
    }

    /// Verifies against a stored hash, or against the dummy when there is none.
    fn verify_any(&mut self, stored: Option<&str>, password: &str, dummy: &str) -> Verified {
        match stored {
            Some(stored) => self.check(stored, password),
            None => {
                self.verify(dummy, password);
                Verified::default()
            }
        }
    }

    /// Verifies against any stored form: argon2 PHC on the reused memory (given back when a
    /// hash at a higher cost grew it, so an imported 64 MiB hash does not leave the worker at
    /// 64 MiB), other schemes through `legacy_hash` (their memory is freed after the call), or
    /// never when legacy hashes are not accepted.
    fn check(&mut self, stored: &str, password: &str) -> Verified {
        let needs_rehash = legacy_hash::needs_rehash(stored, &self.rules.cost);
        let ok = if stored.trim_start().starts_with("$argon2") {
            let ok = self.verify(stored, password);
            let configured = self.argon.params().block_count();
            if self.memory.len() > configured {
                self.memory.truncate(configured);
                self.memory.shrink_to_fit();
            }
            ok
        } else if self.rules.accept_legacy {
            legacy_hash::parse(stored, &self.rules.limits)
                .is_ok_and(|h| h.verify(password.as_bytes()))
        } else {
            false
        };
        Verified { ok, needs_rehash }
    }

    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.memory.len() < count {
            self.memory.resize(count, Block::default());
        }
        &mut self.memory[..count]
    }

    fn hash(&mut self, password: &str) -> Result<String, HashError> {
        let failed = |e: &dyn std::fmt::Display| HashError::Failed(e.to_string());
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt
            .as_salt()
            .decode_b64(&mut salt_buf)
            .map_err(|e| failed(&e))?;
        let argon = self.argon.clone();
        let params = argon.params().clone();
        let mut out = [0u8; 32];
        argon
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt_bytes,
                &mut out,
                self.blocks(params.block_count()),
            )
            .map_err(|e| failed(&e))?;
        phc(&params, &salt, &out)
    }

    /// Verifies `password` against a PHC string, using the parameters stored in it (so old
    /// hashes keep verifying after the configured cost changes).
    fn verify(&mut self, phc: &str, password: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
            return false;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        let version = match parsed.version.map(Version::try_from) {
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
            None => Version::V0x13,
        };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return false;
        };
        let mut salt_buf = [0u8; 64];
        let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
            return false;
        };
        let argon = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0u8; expected.len()];
        if argon
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt_bytes,
                &mut out,
                self.blocks(params.block_count()),
            )
            .is_err()
        {
            return false;
        }
        // Output's PartialEq compares in constant time.
        Output::new(&out).is_ok_and(|o| o == expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PasswordConfig {
        PasswordConfig::default()
    }

    #[test]
    fn the_dummy_hash_costs_a_real_verify_and_matches_nothing() {
        // A dummy that failed to parse would be refused at once: a timing oracle for unknown
        // emails. It must carry the configured cost, so a verify against it runs argon2 in full.
        let params = Params::new(64, 1, 1, None).unwrap();
        let dummy = dummy_hash(&params).unwrap();
        let parsed = PasswordHash::new(&dummy).unwrap();
        assert_eq!(parsed.algorithm, argon2::ARGON2ID_IDENT);
        let stored = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (stored.m_cost(), stored.t_cost(), stored.p_cost()),
            (64, 1, 1)
        );
        assert_ne!(
            dummy,
            dummy_hash(&params).unwrap(),
            "salt and output are fresh"
        );
        let rules = Rules {
            cost: Argon2Cost::from(&cfg()),
            accept_legacy: false,
            limits: Limits::default(),
        };
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut worker = Worker::new(argon, rules);
        assert!(!worker.verify(&dummy, "storekey-dummy-password"));
        assert!(!worker.verify(&dummy, ""));
        assert_eq!(worker.memory.len(), 64, "argon2 ran with the dummy's cost");
    }

    #[test]
    fn policy_messages_are_adobe_commerces() {
        let c = cfg();
        assert_eq!(
            check_policy(&c, "Ab1!", "a@b.c").unwrap_err().to_string(),
            "The password needs at least 8 characters. Create a new password and try again."
        );
        assert_eq!(
            check_policy(&c, " Abcdef1!", "a@b.c")
                .unwrap_err()
                .to_string(),
            "The password can't begin or end with a space. Verify the password and try again."
        );
        assert_eq!(
            check_policy(&c, "abcdefgh", "a@b.c").unwrap_err().to_string(),
            "Minimum of different classes of characters in password is 3. Classes of characters: Lower Case, Upper Case, Digits, Special Characters."
        );
        assert_eq!(
            check_policy(&c, &"aB1!".repeat(65), "a@b.c")
                .unwrap_err()
                .to_string(),
            "Please enter a password with at most 256 characters."
        );
        assert_eq!(
            check_policy(&c, "Bob@Example1.com", "bob@example1.com").unwrap_err(),
            PolicyError::SameAsEmail
        );
        assert!(check_policy(&c, "b0bl0bl@w", "bobloblaw@example.com").is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let c = cfg();
        // 8 characters, 16+ bytes.
        assert!(check_policy(&c, "ééééé1A!", "x@y.z").is_ok());
    }

    #[tokio::test]
    async fn pool_hashes_verifies_and_refuses_when_full() {
        let mut c = cfg();
        c.argon2_memory_kib = 64;
        c.argon2_iterations = 1;
        c.hash_queue = 1;
        let pool = PasswordPool::new(&c, 1).unwrap();
        let pw = Secret::new("b0bl0bl@w");
        let phc = pool.hash(&pw).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert_eq!(
            pool.verify(Some(&phc), &pw).await.unwrap(),
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        assert!(
            !pool
                .verify(Some(&phc), &Secret::new("wrong"))
                .await
                .unwrap()
                .ok
        );
        assert_eq!(pool.verify(None, &pw).await.unwrap(), Verified::default());
        // Hashes made elsewhere (the argon2 crate's own hasher) verify too.
        use argon2::password_hash::PasswordHasher as _;
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let foreign = Argon2::default()
            .hash_password(b"b0bl0bl@w", &salt)
            .unwrap()
            .to_string();
        // ... and ask to be replaced: they are at another cost.
        assert_eq!(
            pool.verify(Some(&foreign), &pw).await.unwrap(),
            Verified {
                ok: true,
                needs_rehash: true
            }
        );
        assert!(!pool.verify(Some("not a phc string"), &pw).await.unwrap().ok);
    }

    const MAGENTO_MD5: &str = "magento:67a1e09bb1f83f5007dc119c14d663aa:salt:0"; // EncryptorTest
    const MAGENTO_V3_PHC: &str = "$argon2id$v=19$m=65536,t=2,p=1$NVBpS0pSbjI4YkJLb0ZNbw$q16/jSc7CFtqYDNhmOClogkP3D4GBqZ4MVxydKsG4EY"; // migration.md §1.5

    fn small(accept_legacy: bool) -> PasswordConfig {
        let mut c = cfg();
        c.argon2_memory_kib = 64;
        c.argon2_iterations = 1;
        c.accept_legacy_hashes = accept_legacy;
        c
    }

    #[tokio::test]
    async fn legacy_hashes_verify_on_the_workers_and_ask_for_a_rehash() {
        let pool = PasswordPool::new(&small(true), 1).unwrap();
        let bcrypt = "$2y$04$BOSGObVxtQxIFfQSC91ka.8zPssyj6PWPDnNA8HdszauZv.w1qZCS";
        for stored in [MAGENTO_MD5, bcrypt] {
            assert_eq!(
                pool.verify(Some(stored), &Secret::new("password"))
                    .await
                    .unwrap(),
                Verified {
                    ok: true,
                    needs_rehash: true
                },
                "{stored}"
            );
            assert_eq!(
                pool.verify(Some(stored), &Secret::new("Password"))
                    .await
                    .unwrap(),
                Verified {
                    ok: false,
                    needs_rehash: true
                }
            );
        }
    }

    #[tokio::test]
    async fn legacy_hashes_never_verify_when_not_accepted() {
        let pool = PasswordPool::new(&small(false), 1).unwrap();
        let verified = pool
            .verify(Some(MAGENTO_MD5), &Secret::new("password"))
            .await
            .unwrap();
        assert_eq!(
            verified,
            Verified {
                ok: false,
                needs_rehash: true
            }
        );
        // argon2 at another cost is not legacy: it still verifies.
        assert!(
            pool.verify(Some(MAGENTO_V3_PHC), &Secret::new("Password@"))
                .await
                .unwrap()
                .ok
        );
    }

    #[test]
    fn a_worker_gives_back_the_memory_a_costlier_hash_took() {
        let c = small(true);
        let params = Params::new(c.argon2_memory_kib, c.argon2_iterations, 1, None).unwrap();
        let configured = params.block_count();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let rules = Rules {
            cost: Argon2Cost::from(&c),
            accept_legacy: true,
            limits: Limits::default(),
        };
        let mut worker = Worker::new(argon, rules);
        let verified = worker.check(MAGENTO_V3_PHC, "Password@");
        assert!(verified.ok && verified.needs_rehash);
        assert!(
            worker.memory.capacity() <= configured,
            "{} blocks kept after a 64 MiB verify",
            worker.memory.capacity()
        );
    }

    #[tokio::test]
    async fn dropping_the_pool_joins_every_worker_after_its_queued_jobs() {
        let mut c = cfg();
        c.argon2_memory_kib = 64;
        c.argon2_iterations = 1;
        let pool = PasswordPool::new(&c, 3).unwrap();
        let pw = Secret::new("b0bl0bl@w");
        // Queued but not yet answered when the pool goes.
        let (reply, answer) = tokio::sync::oneshot::channel();
        pool.submit(Job::Hash(pw, reply)).unwrap();
        // Each worker thread holds a clone of `queued` until it has returned.
        let queued = pool.queued.clone();
        drop(pool);
        assert_eq!(Arc::strong_count(&queued), 1, "a worker is still running");
        assert!(answer.await.unwrap().unwrap().starts_with("$argon2id$"));
    }
}
