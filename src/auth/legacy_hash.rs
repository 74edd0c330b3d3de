//! Password hashes made by other platforms, as `storekey import` brings them in: Magento's
//! `hash:salt:version[:version…]` forms, bcrypt and PBKDF2 strings, argon2 PHC strings with
//! foreign parameters. Pure functions: parse a stored string (bounding the work it can ask
//! for), classify it for reports and metrics, verify a password against it in constant time,
//! convert it to the form storekey keeps, and tell whether it must be rehashed.
//!
//! Formulas and test vectors: `shared/reference/migration.md` §1 (Magento's
//! `Encryptor::isValidHash`, libsodium's `crypto_pwhash_argon2id`).

use crate::config::PasswordConfig;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use md5::Md5;
use std::num::NonZeroU32;
use subtle::ConstantTimeEq;

/// What a stored hash is, for import reports and the rehash metrics. The labels are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Magento `…:0`, or Magento 1's `md5:salt`.
    MagentoMd5,
    /// Magento `…:1`, or Magento 1 Enterprise's `sha256:salt`.
    MagentoSha256,
    /// Magento `…:2` (or a bare `…:3`): libsodium argon2id with the old host's parameters.
    MagentoArgon2V2,
    /// Magento `…:3_<len>_<ops>_<mem>`: libsodium argon2id with stored parameters.
    MagentoArgon2V3,
    /// Magento with more than one version (`…:0:1`, `…:1:2`), from `customer:hash:upgrade`.
    Chained,
    /// An argon2 PHC string (`$argon2id$…`, also `$argon2i$…`): storekey's own form.
    PhcArgon2id,
    /// `$2a$`, `$2b$`, `$2y$`.
    Bcrypt,
    /// PBKDF2 in passlib, PHC, Django or Werkzeug form.
    Pbkdf2,
    /// Anything else, or a hash asking for more work than the limits allow.
    Unsupported,
}

impl Scheme {
    pub const ALL: [Scheme; 9] = [
        Scheme::MagentoMd5,
        Scheme::MagentoSha256,
        Scheme::MagentoArgon2V2,
        Scheme::MagentoArgon2V3,
        Scheme::Chained,
        Scheme::PhcArgon2id,
        Scheme::Bcrypt,
        Scheme::Pbkdf2,
        Scheme::Unsupported,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Scheme::MagentoMd5 => "magento_md5",
            Scheme::MagentoSha256 => "magento_sha256",
            Scheme::MagentoArgon2V2 => "magento_argon2_v2",
            Scheme::MagentoArgon2V3 => "magento_argon2_v3",
            Scheme::Chained => "chained",
            Scheme::PhcArgon2id => "phc_argon2id",
            Scheme::Bcrypt => "bcrypt",
            Scheme::Pbkdf2 => "pbkdf2",
            Scheme::Unsupported => "unsupported",
        }
    }
}

/// How much work an imported hash may ask of a verify. A hash beyond any of these is refused
/// as unsupported at import, so a hostile file cannot make sign-in allocate or spin without
/// bound: argon2 memory is the one that matters for memory, the others bound CPU time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Magento writes 64 MiB (libsodium's argon2id "interactive"); PHP's `password_hash`
    /// defaults to 64 MiB too.
    pub max_argon2_memory_kib: u32,
    pub max_argon2_iterations: u32,
    pub max_argon2_lanes: u32,
    /// Each step of 2 doubles the time; 12 is Laravel's and Django's default today.
    pub max_bcrypt_cost: u32,
    /// Iterations × output blocks; Django 5.2 writes 1,000,000 for SHA-256.
    pub max_pbkdf2_work: u32,
    /// Versions in one Magento chain (`customer:hash:upgrade` adds one per run).
    pub max_chain: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_argon2_memory_kib: 65536,
            max_argon2_iterations: 10,
            max_argon2_lanes: 8,
            max_bcrypt_cost: 13,
            max_pbkdf2_work: 2_000_000,
            max_chain: 4,
        }
    }
}

/// Longest stored string looked at (Magento's column is `varchar(128)`; a PHC string with a
/// 64-byte salt and output stays under 200).
const MAX_HASH_LEN: usize = 512;

/// Argon2 versions in one Magento chain (each is a full argon2 run, twice for a bare `2`).
const MAX_ARGON2_STEPS: usize = 2;

/// The prefix storekey keeps Magento hashes under (PHC strings start with `$`, so no clash).
pub const MAGENTO_PREFIX: &str = "magento:";

/// Why a hash cannot be used. Never carries any part of the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsupported {
    Empty,
    TooLong,
    /// Not a format this module knows.
    UnknownFormat,
    /// A known format with a broken part; the text names the part.
    Malformed(&'static str),
    /// A Magento version token other than 0, 1, 2, 3 and `3_<len>_<ops>_<mem>`.
    UnknownVersion,
    ChainTooLong(usize),
    /// More work than `Limits` allows; the text names the parameter and its limit.
    TooCostly(String),
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsupported::Empty => f.write_str("empty password hash"),
            Unsupported::TooLong => {
                write!(f, "password hash longer than {MAX_HASH_LEN} characters")
            }
            Unsupported::UnknownFormat => f.write_str("unknown password hash format"),
            Unsupported::Malformed(part) => write!(f, "malformed password hash: {part}"),
            Unsupported::UnknownVersion => f.write_str("unknown Magento hash version"),
            Unsupported::ChainTooLong(max) => {
                write!(f, "Magento hash chain longer than {max} versions")
            }
            Unsupported::TooCostly(what) => write!(f, "password hash too costly: {what}"),
        }
    }
}

/// One version of a Magento chain.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Md5,
    Sha256,
    /// `2`, or a bare `3`: argon2id with the host's "interactive" constants, which were one of
    /// two settings depending on the PHP build (magento/magento2#29235).
    Argon2Host,
    /// `3_<len>_<ops>_<mem>`; `mem` in bytes as libsodium takes it.
    Argon2 {
        len: u32,
        ops: u32,
        mem: u32,
    },
}

/// The two historical values of `SODIUM_CRYPTO_PWHASH_OPSLIMIT/MEMLIMIT_INTERACTIVE` a bare
/// `2` may have used: argon2id's (2, 64 MiB) and argon2i's (4, 32 MiB).
const HOST_SETTINGS: [(u32, u32); 2] = [(2, 67_108_864), (4, 33_554_432)];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prf {
    Sha1,
    Sha256,
    Sha512,
}

impl Prf {
    fn algorithm(self) -> ring::pbkdf2::Algorithm {
        match self {
            Prf::Sha1 => ring::pbkdf2::PBKDF2_HMAC_SHA1,
            Prf::Sha256 => ring::pbkdf2::PBKDF2_HMAC_SHA256,
            Prf::Sha512 => ring::pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }

    fn output_len(self) -> usize {
        match self {
            Prf::Sha1 => 20,
            Prf::Sha256 => 32,
            Prf::Sha512 => 64,
        }
    }
}

#[derive(Clone)]
enum Kind {
    Magento {
        digest: Vec<u8>,
        salt: String,
        steps: Vec<Step>,
    },
    Argon2Phc(String),
    Bcrypt(String),
    Pbkdf2 {
        original: String,
        prf: Prf,
        iterations: NonZeroU32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
}

/// A parsed legacy hash, within the limits it was parsed with. `Debug` shows only the scheme.
#[derive(Clone)]
pub struct LegacyHash(Kind);

impl std::fmt::Debug for LegacyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LegacyHash({})", self.scheme().label())
    }
}

/// Parses a hash as an import file or the store holds it: raw Magento forms, the
/// `magento:`-prefixed form storekey keeps, argon2 PHC, bcrypt, PBKDF2.
pub fn parse(stored: &str, limits: &Limits) -> Result<LegacyHash, Unsupported> {
    let s = stored.trim();
    if s.is_empty() {
        return Err(Unsupported::Empty);
    }
    if s.len() > MAX_HASH_LEN {
        return Err(Unsupported::TooLong);
    }
    let kind = if let Some(rest) = s.strip_prefix(MAGENTO_PREFIX) {
        parse_magento(rest, limits)?
    } else if s.starts_with("$argon2") {
        parse_argon2_phc(s, limits)?
    } else if s.starts_with("$2") {
        parse_bcrypt(s, limits)?
    } else if s.starts_with("$pbkdf2") {
        parse_pbkdf2_phc(s, limits)?
    } else if s.starts_with("pbkdf2_") {
        parse_pbkdf2_django(s, limits)?
    } else if s.starts_with("pbkdf2:") {
        parse_pbkdf2_werkzeug(s, limits)?
    } else if !s.starts_with('$') && s.contains(':') {
        parse_magento(s, limits)?
    } else {
        return Err(Unsupported::UnknownFormat);
    };
    Ok(LegacyHash(kind))
}

/// The scheme of a stored string, `Unsupported` when it does not parse within `limits`.
pub fn classify(stored: &str, limits: &Limits) -> Scheme {
    parse(stored, limits).map_or(Scheme::Unsupported, |h| h.scheme())
}

impl LegacyHash {
    pub fn scheme(&self) -> Scheme {
        match &self.0 {
            Kind::Magento { steps, .. } if steps.len() > 1 => Scheme::Chained,
            Kind::Magento { steps, .. } => match steps.first() {
                Some(Step::Md5) => Scheme::MagentoMd5,
                Some(Step::Sha256) => Scheme::MagentoSha256,
                Some(Step::Argon2Host) => Scheme::MagentoArgon2V2,
                Some(Step::Argon2 { .. }) => Scheme::MagentoArgon2V3,
                None => Scheme::Unsupported,
            },
            Kind::Argon2Phc(_) => Scheme::PhcArgon2id,
            Kind::Bcrypt(_) => Scheme::Bcrypt,
            Kind::Pbkdf2 { .. } => Scheme::Pbkdf2,
        }
    }

    /// Whether `password` matches, compared in constant time. Argon2 memory is allocated for
    /// the call and freed after it, so a 64 MiB legacy hash does not stay resident.
    pub fn verify(&self, password: &[u8]) -> bool {
        match &self.0 {
            Kind::Magento {
                digest,
                salt,
                steps,
            } => {
                let settings: &[(u32, u32)] = if steps.contains(&Step::Argon2Host) {
                    &HOST_SETTINGS
                } else {
                    &HOST_SETTINGS[..1]
                };
                // Every setting is tried even after a match, so the time does not tell which.
                settings.iter().fold(false, |ok, &host| {
                    let computed = magento_chain(password, salt.as_bytes(), steps, host);
                    let matched = computed.is_some_and(|c| bool::from(c.ct_eq(digest)));
                    ok | matched
                })
            }
            Kind::Argon2Phc(phc) => {
                use argon2::PasswordVerifier as _;
                PasswordHash::new(phc)
                    .is_ok_and(|h| Argon2::default().verify_password(password, &h).is_ok())
            }
            Kind::Bcrypt(s) => bcrypt::verify(password, s).unwrap_or(false),
            Kind::Pbkdf2 {
                prf,
                iterations,
                salt,
                expected,
                ..
            } => {
                ring::pbkdf2::verify(prf.algorithm(), *iterations, salt, password, expected).is_ok()
            }
        }
    }

    /// The string storekey keeps for this hash (migration.md §4.1): an unchained Magento
    /// `3_<len>_<ops>_<mem>` becomes the equivalent argon2id PHC string, which the password
    /// pool verifies as it is; other Magento forms are kept as `magento:hash:salt:versions`
    /// (Magento 1's two-part form gets its `:0`/`:1`); everything else is kept as given.
    pub fn stored_form(&self) -> String {
        match &self.0 {
            Kind::Magento {
                digest,
                salt,
                steps,
            } => {
                if let [Step::Argon2 { ops, mem, .. }] = steps.as_slice() {
                    if let Some(phc) = argon2_phc(digest, salt, *ops, *mem) {
                        return phc;
                    }
                }
                let versions: Vec<String> = steps.iter().map(step_token).collect();
                format!(
                    "{MAGENTO_PREFIX}{}:{salt}:{}",
                    hex::encode(digest),
                    versions.join(":")
                )
            }
            Kind::Argon2Phc(s) | Kind::Bcrypt(s) => s.clone(),
            Kind::Pbkdf2 { original, .. } => original.clone(),
        }
    }
}

/// The argon2 cost storekey hashes new passwords with (`[password]` in config.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Cost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl From<&PasswordConfig> for Argon2Cost {
    fn from(cfg: &PasswordConfig) -> Self {
        Argon2Cost {
            memory_kib: cfg.argon2_memory_kib,
            iterations: cfg.argon2_iterations,
            parallelism: cfg.argon2_parallelism,
        }
    }
}

/// Whether a stored hash should be replaced after a successful verify: anything but an
/// argon2id v1.3 PHC string with exactly the configured memory, iterations and lanes.
pub fn needs_rehash(stored: &str, cost: &Argon2Cost) -> bool {
    let Ok(parsed) = PasswordHash::new(stored.trim()) else {
        return true;
    };
    if Algorithm::try_from(parsed.algorithm) != Ok(Algorithm::Argon2id)
        || parsed.version != Some(Version::V0x13.into())
    {
        return true;
    }
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    params.m_cost() != cost.memory_kib
        || params.t_cost() != cost.iterations
        || params.p_cost() != cost.parallelism
}

/// The kinds of costly verify: within one kind, time is proportional to `VerifyCost::work`,
/// so the costliest stored hash of each kind is the slowest to verify (`refusal_floor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CostKind {
    /// Argon2 runs, PHC or Magento: work is KiB × passes.
    Argon2,
    /// Work is 2^cost.
    Bcrypt,
    /// PBKDF2 per PRF: work is iterations × output blocks.
    Pbkdf2Sha1,
    Pbkdf2Sha256,
    Pbkdf2Sha512,
}

/// What one verify of a stored hash costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyCost {
    pub kind: CostKind,
    pub work: u64,
}

/// The cost of verifying against `stored` as the password pool does: argon2 PHC strings at
/// their own parameters always (they verify whether or not legacy hashes are accepted, and with
/// no limit on their cost), other schemes only when `accept_legacy` and within the limits
/// (else a verify refuses at once). None for a verify that costs next to nothing (MD5, SHA-256)
/// or does not run.
pub fn verify_cost(stored: &str, accept_legacy: bool) -> Option<VerifyCost> {
    let s = stored.trim();
    if s.starts_with("$argon2") {
        let parsed = PasswordHash::new(s).ok()?;
        let params = Params::try_from(&parsed).ok()?;
        let work = u64::from(params.m_cost()) * u64::from(params.t_cost());
        return Some(VerifyCost {
            kind: CostKind::Argon2,
            work,
        });
    }
    if !accept_legacy {
        return None;
    }
    let cost = |kind, work| Some(VerifyCost { kind, work });
    match parse(s, &Limits::default()).ok()?.0 {
        Kind::Magento { steps, .. } => {
            let passes = |host: (u32, u32)| -> u64 {
                steps
                    .iter()
                    .map(|step| match *step {
                        Step::Argon2Host => u64::from(host.0) * u64::from(host.1 / 1024),
                        Step::Argon2 { ops, mem, .. } => u64::from(ops) * u64::from(mem / 1024),
                        Step::Md5 | Step::Sha256 => 0,
                    })
                    .sum()
            };
            // `verify` runs the chain once per host setting when a step uses the host's.
            let settings: &[(u32, u32)] = if steps.contains(&Step::Argon2Host) {
                &HOST_SETTINGS
            } else {
                &HOST_SETTINGS[..1]
            };
            let work: u64 = settings.iter().map(|&h| passes(h)).sum();
            if work == 0 {
                return None;
            }
            cost(CostKind::Argon2, work)
        }
        Kind::Argon2Phc(_) => None,
        Kind::Bcrypt(b) => {
            let rounds: u32 = b.get(4..6)?.parse().ok()?;
            cost(CostKind::Bcrypt, 1u64 << rounds.min(31))
        }
        Kind::Pbkdf2 {
            prf,
            iterations,
            expected,
            ..
        } => {
            let blocks = expected.len().div_ceil(prf.output_len()) as u64;
            let kind = match prf {
                Prf::Sha1 => CostKind::Pbkdf2Sha1,
                Prf::Sha256 => CostKind::Pbkdf2Sha256,
                Prf::Sha512 => CostKind::Pbkdf2Sha512,
            };
            cost(kind, u64::from(iterations.get()) * blocks)
        }
    }
}

fn step_token(step: &Step) -> String {
    match step {
        Step::Md5 => "0".into(),
        Step::Sha256 => "1".into(),
        Step::Argon2Host => "2".into(),
        Step::Argon2 { len, ops, mem } => format!("3_{len}_{ops}_{mem}"),
    }
}

/// Raw output length of a step's hash, so the stored hex can be checked against it.
fn step_output_len(step: &Step) -> usize {
    match step {
        Step::Md5 => 16,
        Step::Sha256 => 32,
        Step::Argon2Host => 32,
        Step::Argon2 { len, .. } => *len as usize,
    }
}

fn parse_magento(s: &str, limits: &Limits) -> Result<Kind, Unsupported> {
    // Magento's own split: explode(':', $hash, 3), then the rest on ':'.
    let mut parts = s.splitn(3, ':');
    let (Some(hash), Some(salt)) = (parts.next(), parts.next()) else {
        return Err(Unsupported::UnknownFormat);
    };
    let steps = match parts.next() {
        // Magento 1's `hash:salt`: MD5 or (Enterprise) SHA-256, told apart by length, as
        // magento/data-migration-tool's `upgradeCustomerHash` does.
        None => match hash.len() {
            32 => vec![Step::Md5],
            64 => vec![Step::Sha256],
            _ => return Err(Unsupported::Malformed("hash length fits no Magento 1 form")),
        },
        Some(versions) => {
            let tokens: Vec<&str> = versions.split(':').collect();
            if tokens.len() > limits.max_chain {
                return Err(Unsupported::ChainTooLong(limits.max_chain));
            }
            tokens
                .into_iter()
                .map(|t| parse_step(t, limits))
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    let last = steps.last().ok_or(Unsupported::UnknownVersion)?;
    let digest = hex::decode(hash).map_err(|_| Unsupported::Malformed("hash is not hex"))?;
    if digest.len() != step_output_len(last) {
        return Err(Unsupported::Malformed(
            "hash length does not match its version",
        ));
    }
    let argon_steps = steps
        .iter()
        .filter(|s| matches!(s, Step::Argon2Host | Step::Argon2 { .. }))
        .count();
    // Each argon2 version costs a full argon2 run; real chains have one (`:1:2`).
    if argon_steps > MAX_ARGON2_STEPS {
        return Err(Unsupported::TooCostly(format!(
            "more than {MAX_ARGON2_STEPS} argon2 versions in a chain"
        )));
    }
    let argon = argon_steps > 0;
    // PHP's empty() is true for "" and "0": Magento would have drawn a random salt then.
    if argon && (salt.is_empty() || salt == "0") {
        return Err(Unsupported::Malformed("argon2 version without a salt"));
    }
    if steps.contains(&Step::Argon2Host) {
        let (ops, mem) = HOST_SETTINGS[0];
        check_argon2(ops, mem / 1024, 1, limits)?;
    }
    Ok(Kind::Magento {
        digest,
        salt: salt.to_owned(),
        steps,
    })
}

fn parse_step(token: &str, limits: &Limits) -> Result<Step, Unsupported> {
    match token {
        "0" => return Ok(Step::Md5),
        "1" => return Ok(Step::Sha256),
        // A bare `3` is what one version of `customer:hash:upgrade` appended: host parameters.
        "2" | "3" => return Ok(Step::Argon2Host),
        _ => {}
    }
    let Some(params) = token.strip_prefix("3_") else {
        return Err(Unsupported::UnknownVersion);
    };
    let numbers: Vec<u32> = params
        .split('_')
        .map(|n| {
            if n.is_empty() || n.len() > 10 || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Unsupported::UnknownVersion);
            }
            n.parse::<u32>().map_err(|_| Unsupported::UnknownVersion)
        })
        .collect::<Result<_, _>>()?;
    let [len, ops, mem] = numbers.as_slice() else {
        return Err(Unsupported::UnknownVersion);
    };
    // libsodium's bounds: output ≥ 16 bytes, opslimit ≥ 1, memlimit ≥ 8 KiB.
    if !(16..=64).contains(len) || *ops < 1 || *mem < 8192 {
        return Err(Unsupported::Malformed("argon2 parameters out of range"));
    }
    check_argon2(*ops, mem / 1024, 1, limits)?;
    Ok(Step::Argon2 {
        len: *len,
        ops: *ops,
        mem: *mem,
    })
}

fn check_argon2(
    iterations: u32,
    memory_kib: u32,
    lanes: u32,
    limits: &Limits,
) -> Result<(), Unsupported> {
    if memory_kib > limits.max_argon2_memory_kib {
        return Err(Unsupported::TooCostly(format!(
            "argon2 memory above {} KiB",
            limits.max_argon2_memory_kib
        )));
    }
    if iterations > limits.max_argon2_iterations {
        return Err(Unsupported::TooCostly(format!(
            "argon2 iterations above {}",
            limits.max_argon2_iterations
        )));
    }
    if lanes > limits.max_argon2_lanes {
        return Err(Unsupported::TooCostly(format!(
            "argon2 lanes above {}",
            limits.max_argon2_lanes
        )));
    }
    Ok(())
}

/// Magento's `isValidHash` loop: each version hashes the previous one's lowercase hex (the
/// first hashes the password); returns the last step's raw output.
fn magento_chain(
    password: &[u8],
    salt: &[u8],
    steps: &[Step],
    host: (u32, u32),
) -> Option<Vec<u8>> {
    let mut input = password.to_vec();
    let mut raw = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        if n > 0 {
            input = hex::encode(&raw).into_bytes();
        }
        raw = match *step {
            Step::Md5 => {
                use md5::Digest as _;
                let mut h = Md5::new();
                h.update(salt);
                h.update(&input);
                h.finalize().to_vec()
            }
            Step::Sha256 => sha256(salt, &input),
            Step::Argon2Host => libsodium_argon2id(&input, salt, 32, host.0, host.1)?,
            Step::Argon2 { len, ops, mem } => libsodium_argon2id(&input, salt, len, ops, mem)?,
        };
    }
    Some(raw)
}

/// Magento's `getArgonHash` salt: the first 16 bytes, or a shorter salt repeated to 16
/// (PHP's `str_pad($salt, 16, $salt)`).
fn salt16(salt: &[u8]) -> Option<[u8; 16]> {
    if salt.is_empty() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = salt[i % salt.len()];
    }
    Some(out)
}

/// libsodium's `crypto_pwhash` with ALG_ARGON2ID13: raw argon2id v1.3, one lane,
/// `memlimit / 1024` KiB. The memory is allocated here and freed on return.
fn libsodium_argon2id(
    password: &[u8],
    salt: &[u8],
    len: u32,
    ops: u32,
    mem: u32,
) -> Option<Vec<u8>> {
    let salt = salt16(salt)?;
    let params = Params::new(mem / 1024, ops, 1, Some(len as usize)).ok()?;
    let mut out = vec![0u8; len as usize];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, &salt, &mut out)
        .ok()?;
    Some(out)
}

/// The PHC string of an unchained Magento version 3 hash: same algorithm, parameters, salt
/// and output, so storekey's own verifier accepts it.
fn argon2_phc(digest: &[u8], salt: &str, ops: u32, mem: u32) -> Option<String> {
    let salt = salt16(salt.as_bytes())?;
    let params = Params::new(mem / 1024, ops, 1, Some(digest.len())).ok()?;
    let salt = SaltString::encode_b64(&salt).ok()?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).ok()?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(digest).ok()?),
    };
    Some(phc.to_string())
}

fn parse_argon2_phc(s: &str, limits: &Limits) -> Result<Kind, Unsupported> {
    let parsed = PasswordHash::new(s).map_err(|_| Unsupported::Malformed("not a PHC string"))?;
    match Algorithm::try_from(parsed.algorithm) {
        Ok(Algorithm::Argon2id) | Ok(Algorithm::Argon2i) => {}
        _ => return Err(Unsupported::UnknownFormat),
    }
    let params =
        Params::try_from(&parsed).map_err(|_| Unsupported::Malformed("argon2 parameters"))?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(Unsupported::Malformed("argon2 salt or output missing"));
    }
    check_argon2(params.t_cost(), params.m_cost(), params.p_cost(), limits)?;
    Ok(Kind::Argon2Phc(s.to_owned()))
}

fn parse_bcrypt(s: &str, limits: &Limits) -> Result<Kind, Unsupported> {
    // `$2b$12$` + 22 characters of salt + 31 of hash. `$2x$` (the buggy-PHP marker) is not taken.
    let b = s.as_bytes();
    let prefix_ok = b.len() == 60
        && s.is_ascii()
        && matches!(&s[..4], "$2a$" | "$2b$" | "$2y$")
        && b[6] == b'$';
    if !prefix_ok {
        return Err(Unsupported::Malformed("not a bcrypt string"));
    }
    let cost: u32 = s[4..6]
        .parse()
        .map_err(|_| Unsupported::Malformed("bcrypt cost"))?;
    if cost < 4 {
        return Err(Unsupported::Malformed("bcrypt cost"));
    }
    if cost > limits.max_bcrypt_cost {
        return Err(Unsupported::TooCostly(format!(
            "bcrypt cost above {}",
            limits.max_bcrypt_cost
        )));
    }
    let alphabet_ok = s[7..]
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'/');
    if !alphabet_ok {
        return Err(Unsupported::Malformed("bcrypt salt or hash"));
    }
    Ok(Kind::Bcrypt(s.to_owned()))
}

/// passlib's `$pbkdf2-sha256$29000$<ab64 salt>$<ab64 hash>` (and `$pbkdf2$` for SHA-1,
/// `$pbkdf2-sha512$`), or the PHC form `$pbkdf2-sha256$i=600000,l=32$<b64 salt>$<b64 hash>`
/// written by RustCrypto's `pbkdf2` and accepted by Kratos.
fn parse_pbkdf2_phc(s: &str, limits: &Limits) -> Result<Kind, Unsupported> {
    let fields: Vec<&str> = s.split('$').collect();
    let ["", id, cost, salt, hash] = fields.as_slice() else {
        return Err(Unsupported::Malformed(
            "PBKDF2 string needs five $-separated fields",
        ));
    };
    let prf = match *id {
        "pbkdf2" | "pbkdf2-sha1" => Prf::Sha1,
        "pbkdf2-sha256" => Prf::Sha256,
        "pbkdf2-sha512" => Prf::Sha512,
        _ => return Err(Unsupported::UnknownFormat),
    };
    let mut iterations = None;
    let mut length = None;
    if cost.bytes().all(|b| b.is_ascii_digit()) {
        iterations = Some(parse_count(cost)?);
    } else {
        for pair in cost.split(',') {
            match pair.split_once('=') {
                Some(("i", n)) => iterations = Some(parse_count(n)?),
                Some(("l", n)) => length = Some(parse_count(n)?),
                _ => return Err(Unsupported::Malformed("PBKDF2 parameters")),
            }
        }
    }
    let iterations = iterations.ok_or(Unsupported::Malformed("PBKDF2 iterations"))?;
    let salt = lenient_b64(salt).ok_or(Unsupported::Malformed("PBKDF2 salt"))?;
    let expected = lenient_b64(hash).ok_or(Unsupported::Malformed("PBKDF2 hash"))?;
    if length.is_some_and(|l| l as usize != expected.len()) {
        return Err(Unsupported::Malformed(
            "PBKDF2 length does not match its hash",
        ));
    }
    pbkdf2_kind(s, prf, iterations, salt, expected, limits)
}

/// Django's `pbkdf2_sha256$<iterations>$<salt>$<b64 hash>`: the salt is used as its text.
fn parse_pbkdf2_django(s: &str, limits: &Limits) -> Result<Kind, Unsupported> {
    let fields: Vec<&str> = s.split('$').collect();
    let [id, cost, salt, hash] = fields.as_slice() else {
        return Err(Unsupported::Malformed(
            "Django PBKDF2 string needs four $-separated fields",
        ));
    };
    let prf = match *id {
        "pbkdf2_sha1" => Prf::Sha1,
        "pbkdf2_sha256" => Prf::Sha256,
        _ => return Err(Unsupported::UnknownFormat),
    };
    let iterations = parse_count(cost)?;
    let expected = lenient_b64(hash).ok_or(Unsupported::Malformed("PBKDF2 hash"))?;
    pbkdf2_kind(
        s,
        prf,
        iterations,
        salt.as_bytes().to_vec(),
        expected,
        limits,
    )
}

/// Werkzeug's `pbkdf2:sha256:<iterations>$<salt>$<hex hash>`: the salt is used as its text.
/// Without iterations the count depends on the Werkzeug release, so that form is refused.
fn parse_pbkdf2_werkzeug(s: &str, limits: &Limits) -> Result<Kind, Unsupported> {
    let fields: Vec<&str> = s.split('$').collect();
    let [method, salt, hash] = fields.as_slice() else {
        return Err(Unsupported::Malformed(
            "Werkzeug PBKDF2 string needs three $-separated fields",
        ));
    };
    let mut method = method.split(':');
    let (Some("pbkdf2"), Some(prf), Some(cost), None) =
        (method.next(), method.next(), method.next(), method.next())
    else {
        return Err(Unsupported::Malformed("Werkzeug PBKDF2 method"));
    };
    let prf = match prf {
        "sha1" => Prf::Sha1,
        "sha256" => Prf::Sha256,
        "sha512" => Prf::Sha512,
        _ => return Err(Unsupported::UnknownFormat),
    };
    let iterations = parse_count(cost)?;
    let expected = hex::decode(hash).map_err(|_| Unsupported::Malformed("PBKDF2 hash"))?;
    pbkdf2_kind(
        s,
        prf,
        iterations,
        salt.as_bytes().to_vec(),
        expected,
        limits,
    )
}

fn pbkdf2_kind(
    original: &str,
    prf: Prf,
    iterations: u32,
    salt: Vec<u8>,
    expected: Vec<u8>,
    limits: &Limits,
) -> Result<Kind, Unsupported> {
    if salt.is_empty() || salt.len() > 256 {
        return Err(Unsupported::Malformed("PBKDF2 salt length"));
    }
    if !(16..=64).contains(&expected.len()) {
        return Err(Unsupported::Malformed("PBKDF2 hash length"));
    }
    let blocks = expected.len().div_ceil(prf.output_len()) as u64;
    if u64::from(iterations) * blocks > u64::from(limits.max_pbkdf2_work) {
        return Err(Unsupported::TooCostly(format!(
            "PBKDF2 iterations above {}",
            limits.max_pbkdf2_work
        )));
    }
    let iterations =
        NonZeroU32::new(iterations).ok_or(Unsupported::Malformed("PBKDF2 iterations"))?;
    Ok(Kind::Pbkdf2 {
        original: original.to_owned(),
        prf,
        iterations,
        salt,
        expected,
    })
}

fn parse_count(n: &str) -> Result<u32, Unsupported> {
    if n.is_empty() || n.len() > 10 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Unsupported::Malformed("count"));
    }
    n.parse().map_err(|_| Unsupported::Malformed("count"))
}

/// Base64 as the PBKDF2 forms write it: standard, passlib's `.` for `+`, or URL-safe; padded
/// or not.
fn lenient_b64(s: &str) -> Option<Vec<u8>> {
    let normal: String = s
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '.' | '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    STANDARD_NO_PAD.decode(normal).ok()
}

/// SHA-256 through ring (already a dependency), as Magento's `hash('sha256', $salt . $x)`.
fn sha256(salt: &[u8], input: &[u8]) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(salt);
    ctx.update(input);
    ctx.finish().as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    //! Where each vector comes from:
    //! - "EncryptorTest": Magento's `lib/internal/Magento/Framework/Encryption/Test/Unit/
    //!   EncryptorTest.php` (migration.md §1.5).
    //! - "magento_cracker": `cyclone-github/magento_cracker` (migration.md §1.5), and its PHC
    //!   form from the `magento_converter` README.
    //! - "PHP here": computed on this project's machine with PHP 8.2's `hash()`,
    //!   `sodium_crypto_pwhash` (libsodium) and `password_hash`, following Magento's
    //!   `Encryptor::getHash` step by step; the same script reproduces every vector above.
    //! - "hashlib here": computed with Python's `hashlib.pbkdf2_hmac`, encoded in each format.
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    fn verifies(stored: &str, password: &str) -> bool {
        parse(stored, &limits())
            .unwrap_or_else(|e| panic!("{e}"))
            .verify(password.as_bytes())
    }

    fn refused(stored: &str) -> Unsupported {
        parse(stored, &limits()).unwrap_err()
    }

    const MD5: &str = "67a1e09bb1f83f5007dc119c14d663aa:salt:0"; // EncryptorTest
    const SHA256: &str = "13601bda4ea78e55a07b98866d2be6be0744e3866f13c00c811cab608a28f322:salt:1"; // EncryptorTest
    const V3: &str = "ab5ebf8d273b085b6a60336198e0a5a2090fdc3e0606a678315c7274ab06e046:5PiKJRn28bBKoFMopMaaKuV47aJ6GzVg:3_32_2_67108864"; // magento_cracker
    const V3_PHC: &str = "$argon2id$v=19$m=65536,t=2,p=1$NVBpS0pSbjI4YkJLb0ZNbw$q16/jSc7CFtqYDNhmOClogkP3D4GBqZ4MVxydKsG4EY"; // magento_converter
    const V2_ARGON2ID_HOST: &str = "efefea1217a1d74f60760e0cddef0e1ddcc58d048f2a50ba3606d5bf0a68af9f:0123456789abcdefGHIJKLMNOPQRSTUV:2"; // PHP here, (2, 64 MiB)
    const V2_ARGON2I_HOST: &str = "c5025fed64f5b95937e0919b420118eb5ec55c960acb200ef57f308bb1273b08:0123456789abcdefGHIJKLMNOPQRSTUV:2"; // PHP here, (4, 32 MiB)
    const BCRYPT_2Y: &str = "$2y$04$BOSGObVxtQxIFfQSC91ka.8zPssyj6PWPDnNA8HdszauZv.w1qZCS"; // PHP here

    #[test]
    fn magento_md5_and_sha256_match_encryptor_test() {
        assert!(verifies(MD5, "password"));
        assert!(verifies(SHA256, "password"));
        assert!(verifies(
            "a1c7fc88037b70c9be84d3ad12522c7888f647915db78f42eb572008422ba2fa:-----------random_salt----------:1",
            "password"
        ));
        assert!(verifies(
            "4c5cab8dd00137d11258f8f87b93fd17bd94c5026fc52d3c5af911dd177a2611:random_salt:1",
            "password"
        ));
        assert!(!verifies(MD5, "Password"));
        assert!(!verifies(SHA256, "password "));
        assert_eq!(classify(MD5, &limits()), Scheme::MagentoMd5);
        assert_eq!(classify(SHA256, &limits()), Scheme::MagentoSha256);
    }

    #[test]
    fn magento_hex_in_upper_case_still_verifies() {
        assert!(verifies(
            &MD5.to_uppercase().replace("SALT", "salt"),
            "password"
        ));
    }

    #[test]
    fn magento_one_two_part_hashes_are_told_apart_by_length() {
        let md5 = parse("67a1e09bb1f83f5007dc119c14d663aa:salt", &limits()).unwrap();
        assert_eq!(md5.scheme(), Scheme::MagentoMd5);
        assert!(md5.verify(b"password"));
        assert_eq!(md5.stored_form(), format!("magento:{MD5}"));
        let sha = parse(
            "13601bda4ea78e55a07b98866d2be6be0744e3866f13c00c811cab608a28f322:salt",
            &limits(),
        )
        .unwrap();
        assert_eq!(sha.scheme(), Scheme::MagentoSha256);
        assert!(sha.verify(b"password"));
        assert_eq!(
            refused("67a1e09bb1f83f5007dc119c14d663:salt"),
            Unsupported::Malformed("hash length fits no Magento 1 form")
        );
    }

    #[test]
    fn magento_chain_md5_then_sha256() {
        // sha256_hex("salt" ‖ md5_hex("salt" ‖ "password")): derived from the formula (PHP here).
        let chain = "3b68ca4706cbae291455e4340478076c1e1618e742b6144cfcc3e50f648903e4:salt:0:1";
        assert_eq!(classify(chain, &limits()), Scheme::Chained);
        assert!(verifies(chain, "password"));
        assert!(!verifies(chain, "passwore"));
        // The stored form keeps the chain as it is.
        assert_eq!(
            parse(chain, &limits()).unwrap().stored_form(),
            format!("magento:{chain}")
        );
    }

    #[test]
    fn magento_v3_matches_the_public_vector_and_converts_to_phc() {
        let h = parse(V3, &limits()).unwrap();
        assert_eq!(h.scheme(), Scheme::MagentoArgon2V3);
        assert!(h.verify(b"Password@"));
        assert!(!h.verify(b"password@"));
        assert_eq!(h.stored_form(), V3_PHC);
        // The converted string is an argon2id PHC string the argon2 crate verifies as it is
        // (storekey's password pool reads the same format).
        use argon2::PasswordVerifier as _;
        let phc = PasswordHash::new(V3_PHC).unwrap();
        assert!(Argon2::default()
            .verify_password(b"Password@", &phc)
            .is_ok());
        assert_eq!(classify(V3_PHC, &limits()), Scheme::PhcArgon2id);
        assert!(verifies(V3_PHC, "Password@"));
    }

    #[test]
    fn magento_v3_with_other_parameters_and_a_short_salt() {
        // PHP here: 16-byte output, 3 passes, 8 KiB.
        let small = "0fb7d83c1ba5d8574a295cbb89664cbd:0123456789abcdefGHIJKLMNOPQRSTUV:3_16_3_8192";
        let h = parse(small, &limits()).unwrap();
        assert!(h.verify(b"password"));
        let phc = h.stored_form();
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=3,p=1$"), "{phc}");
        assert!(verifies(&phc, "password"));
        // PHP here: salt "Ab" padded to "AbAbAbAbAbAbAbAb" as str_pad does.
        let short =
            "8da08554faee633190436eee08fc246661b7d92b2dfde769391906219dbd2d55:Ab:3_32_2_67108864";
        assert!(verifies(short, "password"));
    }

    #[test]
    fn magento_bare_2_verifies_at_either_historical_host_setting() {
        for stored in [V2_ARGON2ID_HOST, V2_ARGON2I_HOST] {
            let h = parse(stored, &limits()).unwrap();
            assert_eq!(h.scheme(), Scheme::MagentoArgon2V2);
            assert!(h.verify(b"password"), "{stored}");
            assert!(!h.verify(b"Password"));
            // Host parameters are unknown, so no PHC conversion: kept tagged.
            assert_eq!(h.stored_form(), format!("magento:{stored}"));
        }
        // A bare 3 (one release of customer:hash:upgrade appended it) means the same.
        let bare3 = V2_ARGON2ID_HOST.replace(":2", ":3");
        assert_eq!(classify(&bare3, &limits()), Scheme::MagentoArgon2V2);
        assert!(verifies(&bare3, "password"));
    }

    #[test]
    fn magento_chain_sha256_then_argon2() {
        // PHP here: the `:1:2` shape of Magento's hashing guide (same salt, our password).
        let chain =
            "93cc31e6f532b375e8b44eb3a8f871b149cd97986ead0357ff513892f6b7754b:8qnyO4H1OYIfGCUb:1:2";
        assert_eq!(classify(chain, &limits()), Scheme::Chained);
        assert!(verifies(chain, "password"));
        assert!(!verifies(chain, "password1"));
    }

    #[test]
    fn malformed_magento_hashes_are_unsupported() {
        assert_eq!(
            refused("67a1e09bb1f83f5007dc119c14d663aa:salt:9"),
            Unsupported::UnknownVersion
        );
        assert_eq!(
            refused("67a1e09bb1f83f5007dc119c14d663aa:salt:1"),
            Unsupported::Malformed("hash length does not match its version")
        );
        assert_eq!(
            refused("zz a1e09bb1f83f5007dc119c14d663aa:salt:0"),
            Unsupported::Malformed("hash is not hex")
        );
        assert_eq!(
            refused("efefea1217a1d74f60760e0cddef0e1ddcc58d048f2a50ba3606d5bf0a68af9f::2"),
            Unsupported::Malformed("argon2 version without a salt")
        );
        assert_eq!(
            refused("3_x_2_67108864:a:3_x_2_1"),
            Unsupported::UnknownVersion
        );
        assert_eq!(refused("   "), Unsupported::Empty);
        assert_eq!(refused("plaintext"), Unsupported::UnknownFormat);
        assert_eq!(refused("$1$abc$def"), Unsupported::UnknownFormat);
        assert_eq!(classify("{SSHA}abc", &limits()), Scheme::Unsupported);
    }

    #[test]
    fn bcrypt_2y_2b_2a_verify() {
        assert!(verifies(BCRYPT_2Y, "password"));
        assert!(!verifies(BCRYPT_2Y, "passwort"));
        // The three markers differ only in bugs of other implementations; for an ASCII
        // password the hash is the same.
        for marker in ["$2b$", "$2a$"] {
            let other = BCRYPT_2Y.replacen("$2y$", marker, 1);
            assert_eq!(classify(&other, &limits()), Scheme::Bcrypt);
            assert!(verifies(&other, "password"));
        }
        // PHP here, cost 5.
        assert!(verifies(
            "$2y$05$kkQLG7bLVHZvTD.M0uWJ7eUo7WQ/bfo4UoiJH0IrxZSb9.qMDsf5u",
            "Password@"
        ));
        assert_eq!(
            refused(&BCRYPT_2Y.replacen("$2y$", "$2x$", 1)),
            Unsupported::Malformed("not a bcrypt string")
        );
        assert_eq!(
            refused(&BCRYPT_2Y[..59]),
            Unsupported::Malformed("not a bcrypt string")
        );
    }

    #[test]
    fn pbkdf2_in_passlib_phc_django_and_werkzeug_forms() {
        // hashlib here, password "password".
        let cases = [
            // passlib, SHA-512 and SHA-1, "ab64" salt and hash.
            "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg$38DzhdBT7fPaUGBlsh42VTuuKSFAIYGZJ7l6feCDLIl.K3hdPFgxxu7xuUi4gIuH6cEIoODn18xH9Ig2ryNgUw",
            "$pbkdf2$1000$MDEyMzQ1Njc4OWFiY2RlZg$DYW.LTZG5wxyiF/qvsh40/./hXk",
            // PHC with i= and l= (RustCrypto pbkdf2, Kratos).
            "$pbkdf2-sha256$i=1000,l=32$MDEyMzQ1Njc4OWFiY2RlZg$hRRjgXWkW8ResfIvBP99J/T4vkgEmMRV/0tJTOjR59I",
            // Django: the salt is text, the hash padded base64.
            "pbkdf2_sha256$1000$seasalt42$IvrtmPmXNDq4x296dVsfpKgNHBwRfNx5nGONZWET+Ek=",
            // Werkzeug: the salt is text, the hash hex.
            "pbkdf2:sha256:1000$seasalt42$22faed98f997343ab8c76f7a755b1fa4a80d1c1c117cdc799c638d656113f849",
        ];
        for stored in cases {
            let h = parse(stored, &limits()).unwrap_or_else(|e| panic!("{stored}: {e}"));
            assert_eq!(h.scheme(), Scheme::Pbkdf2);
            assert!(h.verify(b"password"), "{stored}");
            assert!(!h.verify(b"Password"), "{stored}");
            assert_eq!(h.stored_form(), stored);
        }
        // passlib's SHA-256 form, a fixture from public code ("worker-compatibility-fixture").
        assert!(verifies(
            "$pbkdf2-sha256$29000$d29ya2Vycy1maXh0dXJl$kNa9.hCgWiPN51HMmO7.KyQkbSrFwJw7OD.WoWdT6Kc",
            "worker-compatibility-fixture"
        ));
        assert_eq!(
            refused("$pbkdf2-sha256$i=1000,l=16$MDEyMzQ1Njc4OWFiY2RlZg$hRRjgXWkW8ResfIvBP99J/T4vkgEmMRV/0tJTOjR59I"),
            Unsupported::Malformed("PBKDF2 length does not match its hash")
        );
        assert_eq!(
            refused("pbkdf2:sha256$seasalt42$22faed98f997343ab8c76f7a755b1fa4a80d1c1c117cdc799c638d656113f849"),
            Unsupported::Malformed("Werkzeug PBKDF2 method")
        );
    }

    #[test]
    fn hashes_asking_for_too_much_work_are_refused() {
        let costly = |s: &str| matches!(refused(s), Unsupported::TooCostly(_));
        // 256 MiB of argon2 memory (libsodium "moderate"), in every form that can carry it.
        assert!(costly(
            "ab5ebf8d273b085b6a60336198e0a5a2090fdc3e0606a678315c7274ab06e046:salt:3_32_2_268435456"
        ));
        assert!(costly(
            "$argon2id$v=19$m=262144,t=2,p=1$NVBpS0pSbjI4YkJLb0ZNbw$q16/jSc7CFtqYDNhmOClogkP3D4GBqZ4MVxydKsG4EY"
        ));
        assert!(costly(
            "$argon2id$v=19$m=65536,t=4000,p=1$NVBpS0pSbjI4YkJLb0ZNbw$q16/jSc7CFtqYDNhmOClogkP3D4GBqZ4MVxydKsG4EY"
        ));
        assert!(costly(&BCRYPT_2Y.replacen("$04$", "$31$", 1)));
        assert!(costly(
            "pbkdf2_sha256$99999999$seasalt42$IvrtmPmXNDq4x296dVsfpKgNHBwRfNx5nGONZWET+Ek="
        ));
        // 1,000,000 iterations × 2 output blocks of SHA-1 (40-byte key) is over 2,000,000.
        assert!(costly(&format!(
            "$pbkdf2$1100000$MDEyMzQ1Njc4OWFiY2RlZg${}",
            STANDARD_NO_PAD.encode([0u8; 40])
        )));
        assert_eq!(
            refused(
                "3b68ca4706cbae291455e4340478076c1e1618e742b6144cfcc3e50f648903e4:salt:0:1:0:1:1"
            ),
            Unsupported::ChainTooLong(4)
        );
        assert_eq!(
            refused("efefea1217a1d74f60760e0cddef0e1ddcc58d048f2a50ba3606d5bf0a68af9f:salt:2:2:2"),
            Unsupported::TooCostly("more than 2 argon2 versions in a chain".into())
        );
        assert_eq!(refused(&"a".repeat(600)), Unsupported::TooLong);
        // The limits are the caller's: a tighter one refuses what the default allows.
        let tight = Limits {
            max_argon2_memory_kib: 32768,
            ..Limits::default()
        };
        assert!(matches!(parse(V3, &tight), Err(Unsupported::TooCostly(_))));
        assert!(matches!(
            parse(V2_ARGON2ID_HOST, &tight),
            Err(Unsupported::TooCostly(_))
        ));
    }

    #[test]
    fn refusals_and_debug_never_show_the_hash() {
        let secret_part = "ab5ebf8d273b085b";
        for stored in [
            format!("{secret_part}:salt:9"),
            format!("{secret_part}:salt:3_32_2_268435456"),
            format!("$argon2id$v=19$m=262144,t=2,p=1$c2FsdHNhbHQ${secret_part}"),
        ] {
            let e = refused(&stored).to_string();
            assert!(!e.contains(secret_part) && !e.contains("salt:"), "{e}");
        }
        let h = parse(V3, &limits()).unwrap();
        assert_eq!(format!("{h:?}"), "LegacyHash(magento_argon2_v3)");
    }

    #[test]
    fn needs_rehash_unless_argon2id_with_the_configured_cost() {
        let cost = Argon2Cost::from(&PasswordConfig::default());
        let current = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$q16/jSc7CFtqYDNhmOClogkP3D4GBqZ4MVxydKsG4EY";
        assert!(!needs_rehash(current, &cost));
        // The converted Magento v3 hash: right algorithm, other cost.
        assert!(needs_rehash(V3_PHC, &cost));
        assert!(!needs_rehash(
            V3_PHC,
            &Argon2Cost {
                memory_kib: 65536,
                iterations: 2,
                parallelism: 1
            }
        ));
        assert!(needs_rehash(&current.replace("argon2id", "argon2i"), &cost));
        assert!(needs_rehash(&current.replace("v=19", "v=16"), &cost));
        assert!(needs_rehash(BCRYPT_2Y, &cost));
        assert!(needs_rehash(&format!("magento:{MD5}"), &cost));
        assert!(needs_rehash("", &cost));
    }

    #[test]
    fn stored_magento_form_parses_back_to_the_same_scheme() {
        for (stored, scheme) in [
            (MD5, Scheme::MagentoMd5),
            (SHA256, Scheme::MagentoSha256),
            (V2_ARGON2ID_HOST, Scheme::MagentoArgon2V2),
        ] {
            let kept = parse(stored, &limits()).unwrap().stored_form();
            assert!(kept.starts_with(MAGENTO_PREFIX));
            assert_eq!(classify(&kept, &limits()), scheme);
            assert_eq!(parse(&kept, &limits()).unwrap().stored_form(), kept);
        }
        assert!(verifies(&format!("magento:{MD5}"), "password"));
    }

    #[test]
    fn scheme_labels_are_the_report_names() {
        let labels: Vec<&str> = Scheme::ALL.iter().map(|s| s.label()).collect();
        assert_eq!(
            labels,
            [
                "magento_md5",
                "magento_sha256",
                "magento_argon2_v2",
                "magento_argon2_v3",
                "chained",
                "phc_argon2id",
                "bcrypt",
                "pbkdf2",
                "unsupported"
            ]
        );
    }

    #[test]
    fn verify_cost_follows_the_parameters_within_each_kind() {
        let cost = |s: &str| verify_cost(s, true).map(|c| (c.kind, c.work));
        // Magento 2.4's 64 MiB, two passes, as `storekey import` keeps it (PHC).
        let magento_v3 = "$argon2id$v=19$m=65536,t=2,p=1$NVBpS0pSbjI4YkJLb0ZNbw$q16/jSc7CFtqYDNhmOClogkP3D4GBqZ4MVxydKsG4EY";
        assert_eq!(cost(magento_v3), Some((CostKind::Argon2, 131_072)));
        // A bare `2` tries both host settings: 2 × 64 MiB and 4 × 32 MiB.
        let host = format!("{MAGENTO_PREFIX}{}:salt:2", "ab".repeat(32));
        assert_eq!(cost(&host), Some((CostKind::Argon2, 262_144)));
        assert_eq!(
            cost("$2y$04$BOSGObVxtQxIFfQSC91ka.8zPssyj6PWPDnNA8HdszauZv.w1qZCS"),
            Some((CostKind::Bcrypt, 16))
        );
        assert_eq!(
            cost("$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg$38DzhdBT7fPaUGBlsh42VTuuKSFAIYGZJ7l6feCDLIl.K3hdPFgxxu7xuUi4gIuH6cEIoODn18xH9Ig2ryNgUw"),
            Some((CostKind::Pbkdf2Sha512, 1000))
        );
        // Digests cost nothing worth padding for; unparseable hashes refuse at once.
        assert_eq!(
            cost("magento:67a1e09bb1f83f5007dc119c14d663aa:salt:0"),
            None
        );
        assert_eq!(cost("$2y$99$nonsense"), None);
        // Without legacy hashes only argon2 PHC strings verify, so only they cost.
        assert_eq!(
            verify_cost(
                "$2y$04$BOSGObVxtQxIFfQSC91ka.8zPssyj6PWPDnNA8HdszauZv.w1qZCS",
                false
            ),
            None
        );
        assert!(verify_cost(magento_v3, false).is_some());
    }
}
