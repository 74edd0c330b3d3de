//! Passwords: the Adobe Commerce strength policy with its exact messages, and argon2id hashing
//! on a bounded pool of worker threads. The pool keeps argon2's memory off the async runtime and
//! bounded: when its queue is full a request fails at once with `Busy` instead of waiting.

use super::secret::Secret;
use crate::config::PasswordConfig;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
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
    Verify(Option<String>, Secret, tokio::sync::oneshot::Sender<bool>),
}

/// The argon2id worker pool.
pub struct PasswordPool {
    jobs: mpsc::SyncSender<Job>,
    queued: Arc<AtomicUsize>,
    workers: usize,
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
        // A real hash to verify against when the email is unknown, so a miss costs what a wrong
        // password costs and response time does not reveal which emails have accounts.
        let dummy = hash_with(&argon, "storekey-dummy-password")?;
        let (jobs, queue) = mpsc::sync_channel::<Job>(cfg.hash_queue);
        let queue = Arc::new(Mutex::new(queue));
        let queued = Arc::new(AtomicUsize::new(0));
        let workers = workers.max(1);
        for n in 0..workers {
            let queue = queue.clone();
            let queued = queued.clone();
            let argon = argon.clone();
            let dummy = dummy.clone();
            std::thread::Builder::new()
                .name(format!("storekey-argon2-{n}"))
                .spawn(move || loop {
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
                            let _ = reply.send(hash_with(&argon, pw.expose()));
                        }
                        Job::Verify(phc, pw, reply) => {
                            let ok =
                                verify_with(&argon, phc.as_deref().unwrap_or(&dummy), pw.expose())
                                    && phc.is_some();
                            let _ = reply.send(ok);
                        }
                    }
                })
                .map_err(|e| HashError::Failed(format!("cannot start hash worker: {e}")))?;
        }
        Ok(PasswordPool {
            jobs,
            queued,
            workers,
        })
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Requests waiting for a worker.
    pub fn queue_depth(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
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

    /// Verifies against `phc`, or against the dummy hash when there is none (always false then,
    /// but just as slow).
    pub async fn verify(&self, phc: Option<&str>, password: &Secret) -> Result<bool, HashError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Job::Verify(phc.map(str::to_owned), password.clone(), reply))?;
        answer
            .await
            .map_err(|_| HashError::Failed("hash worker stopped".into()))
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Failed(e.to_string()))
}

fn verify_with(argon: &Argon2<'_>, phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        // The stored hash carries its own parameters, so old hashes keep verifying after the
        // configured cost changes.
        Ok(parsed) => argon.verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PasswordConfig {
        PasswordConfig::default()
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
        assert!(pool.verify(Some(&phc), &pw).await.unwrap());
        assert!(!pool
            .verify(Some(&phc), &Secret::new("wrong"))
            .await
            .unwrap());
        assert!(!pool.verify(None, &pw).await.unwrap());
    }
}
