//! Prometheus metrics for `/metrics`: requests by dialect/operation/outcome, sign-ins by method
//! and outcome, lockouts, sweeper purges, hash-queue depth and latency histograms.
//! Every label value is `&'static str` from a fixed set, never client text: each distinct label
//! set is kept for the life of the process, so a client-chosen label would grow memory forever.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub dialect: &'static str,
    pub operation: &'static str,
    pub outcome: &'static str,
}

/// The admin REST API's resources, the first path segment after `/rest/V1/`, as a metrics label;
/// `other` for anything else.
pub fn admin_resource(segment: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "customers",
        "customer",
        "storefront-tokens",
        "audit",
        "backup",
        "oidc",
    ];
    KNOWN
        .iter()
        .find(|k| **k == segment)
        .copied()
        .unwrap_or("other")
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginLabels {
    pub method: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OidcLabels {
    pub endpoint: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PasskeyLabels {
    pub ceremony: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FromLabels {
    pub from: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SchemeLabels {
    pub scheme: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DialectLabels {
    pub dialect: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub logins: Family<LoginLabels, Counter>,
    /// The OpenID Connect provider's grants, refusals and logouts, by endpoint and outcome.
    pub oidc: Family<OidcLabels, Counter>,
    /// Passkey ceremonies (options, registrations, removals, admin sign-ins) by outcome;
    /// customers' passkey sign-ins are `logins` with method `passkey`.
    pub passkeys: Family<PasskeyLabels, Counter>,
    pub lockouts: Counter,
    pub sweeper_purged: Family<KindLabels, Counter>,
    pub sweeper_runs: Counter,
    pub hash_queue_depth: Gauge,
    pub request_seconds: Family<DialectLabels, Histogram>,
    pub store_commits: Gauge,
    pub store_writes: Gauge,
    /// redb: times the writer reopened the database after a write the disk could not take.
    pub store_reopens: Gauge,
    /// PostgreSQL: connections in use and idle, requests waiting for one, retried transactions.
    pub store_pool_in_use: Gauge,
    pub store_pool_idle: Gauge,
    pub store_pool_waiting: Gauge,
    pub store_retries: Gauge,
    pub mails: Family<OutcomeLabels, Counter>,
    /// Stored hashes replaced by argon2id at the configured cost, by the scheme replaced
    /// (`legacy_hash::Scheme` labels).
    pub password_rehash: Family<FromLabels, Counter>,
    /// Stored hashes that will be replaced at their customer's next sign-in, by scheme.
    pub legacy_password_hashes: Family<SchemeLabels, Gauge>,
    /// Customer sign-ins, failures and lockouts per hour (the admin console's overview).
    pub activity: Activity,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("storekey");
        let requests = Family::<RequestLabels, Counter>::default();
        let logins = Family::<LoginLabels, Counter>::default();
        let lockouts = Counter::default();
        let oidc = Family::<OidcLabels, Counter>::default();
        registry.register(
            "oidc",
            "OpenID Connect requests by endpoint (authorize, token, userinfo, logout) and outcome",
            oidc.clone(),
        );
        let passkeys = Family::<PasskeyLabels, Counter>::default();
        registry.register(
            "passkey",
            "Passkey ceremonies by ceremony (register_options, register, remove, sign_in_options, admin_sign_in, …) and outcome",
            passkeys.clone(),
        );
        let sweeper_purged = Family::<KindLabels, Counter>::default();
        let sweeper_runs = Counter::default();
        let hash_queue_depth = Gauge::default();
        let request_seconds = Family::<DialectLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        let store_commits = Gauge::default();
        let store_writes = Gauge::default();
        let store_reopens = Gauge::default();
        let store_pool_in_use = Gauge::default();
        let store_pool_idle = Gauge::default();
        let store_pool_waiting = Gauge::default();
        let store_retries = Gauge::default();
        for (name, help, gauge) in [
            (
                "store_pool_in_use",
                "PostgreSQL connections in use",
                &store_pool_in_use,
            ),
            (
                "store_pool_idle",
                "PostgreSQL connections idle in the pool",
                &store_pool_idle,
            ),
            (
                "store_pool_waiting",
                "Requests waiting for a PostgreSQL connection",
                &store_pool_waiting,
            ),
            (
                "store_retries",
                "PostgreSQL transactions retried (serialization failure, deadlock) since start",
                &store_retries,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        let mails = Family::<OutcomeLabels, Counter>::default();
        let password_rehash = Family::<FromLabels, Counter>::default();
        let legacy_password_hashes = Family::<SchemeLabels, Gauge>::default();
        registry.register(
            "password_rehash",
            "Password hashes replaced by argon2id at a sign-in or password check, by the scheme replaced",
            password_rehash.clone(),
        );
        registry.register(
            "legacy_password_hashes",
            "Stored password hashes not yet argon2id at the configured cost, by scheme (counted at start and after an import)",
            legacy_password_hashes.clone(),
        );
        registry.register(
            "mails",
            "Mail handed to the transport, by outcome",
            mails.clone(),
        );
        registry.register(
            "requests",
            "GraphQL and REST requests by dialect, operation and outcome",
            requests.clone(),
        );
        registry.register(
            "logins",
            "Sign-in attempts by method and outcome",
            logins.clone(),
        );
        registry.register(
            "lockouts",
            "Accounts locked by failed sign-ins",
            lockouts.clone(),
        );
        registry.register(
            "sweeper_purged",
            "Expired records removed by the sweeper, by kind",
            sweeper_purged.clone(),
        );
        registry.register("sweeper_runs", "Sweeper passes", sweeper_runs.clone());
        registry.register(
            "hash_queue_depth",
            "Password hashing requests waiting for a worker",
            hash_queue_depth.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Request latency by dialect",
            request_seconds.clone(),
        );
        registry.register(
            "store_commits",
            "Durable write transactions committed",
            store_commits.clone(),
        );
        registry.register(
            "store_writes",
            "Write operations committed (several share one commit under load)",
            store_writes.clone(),
        );
        registry.register(
            "store_reopens",
            "Times the redb writer reopened the database after a failed write (a full disk)",
            store_reopens.clone(),
        );
        Metrics {
            registry,
            requests,
            logins,
            oidc,
            passkeys,
            lockouts,
            sweeper_purged,
            sweeper_runs,
            hash_queue_depth,
            request_seconds,
            store_commits,
            store_writes,
            store_reopens,
            store_pool_in_use,
            store_pool_idle,
            store_pool_waiting,
            store_retries,
            mails,
            password_rehash,
            legacy_password_hashes,
            activity: Activity::default(),
        }
    }

    /// Counts a stored rehash and takes it off the legacy gauge.
    pub fn password_rehashed(&self, from: &'static str) {
        self.password_rehash
            .get_or_create(&FromLabels { from })
            .inc();
        let left = self
            .legacy_password_hashes
            .get_or_create(&SchemeLabels { scheme: from });
        if left.get() > 0 {
            left.dec();
        }
    }

    /// Sets the legacy gauge from a count by scheme label (schemes not named go to 0).
    pub fn set_legacy_password_hashes(&self, counts: &[(&'static str, u64)]) {
        for scheme in crate::auth::legacy_hash::Scheme::ALL {
            let n = counts
                .iter()
                .find(|(label, _)| *label == scheme.label())
                .map_or(0, |(_, n)| *n);
            self.legacy_password_hashes
                .get_or_create(&SchemeLabels {
                    scheme: scheme.label(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// One OpenID Connect request's outcome (`storekey_oidc_total`).
    pub fn oidc(&self, endpoint: &'static str, outcome: &'static str) {
        self.oidc
            .get_or_create(&OidcLabels { endpoint, outcome })
            .inc();
    }

    /// One passkey ceremony's outcome (`storekey_passkey_total`).
    pub fn passkey(&self, ceremony: &'static str, outcome: &'static str) {
        self.passkeys
            .get_or_create(&PasskeyLabels { ceremony, outcome })
            .inc();
    }

    pub fn login(&self, method: &'static str, outcome: &'static str) {
        self.logins
            .get_or_create(&LoginLabels { method, outcome })
            .inc();
        // Customers' sign-ins only; an overloaded or failing server is not a failed sign-in.
        if method != "admin_console" {
            match outcome {
                "success" => self.activity.record(unix_now(), Activity::SIGN_IN),
                "busy" | "error" => {}
                _ => self.activity.record(unix_now(), Activity::FAILURE),
            }
        }
    }

    /// An account locked by failed sign-ins.
    pub fn lockout(&self) {
        self.lockouts.inc();
        self.activity.record(unix_now(), Activity::LOCKOUT);
    }

    /// Counts one request. `operation` is a GraphQL root field name (see `api::gate`), an admin
    /// resource from [`admin_resource`], or a fixed word such as `other`.
    pub fn request(&self, dialect: &'static str, operation: &'static str, outcome: &'static str) {
        self.requests
            .get_or_create(&RequestLabels {
                dialect,
                operation,
                outcome,
            })
            .inc();
    }

    /// Counts one executed GraphQL request and records its latency.
    pub fn graphql(
        &self,
        dialect: &'static str,
        operation: &'static str,
        response: &async_graphql::Response,
        started: std::time::Instant,
    ) {
        let outcome = if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        };
        self.request(dialect, operation, outcome);
        self.request_seconds
            .get_or_create(&DialectLabels { dialect })
            .observe(started.elapsed().as_secs_f64());
    }

    pub fn mail(&self, outcome: &'static str) {
        self.mails.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Per-hour counts of customer sign-ins, failures and lockouts over the last 24 hours, kept in
/// memory (nothing else records them by hour; a restart starts over).
#[derive(Default)]
pub struct Activity {
    /// (hour since the epoch, counts by kind), oldest first, at most 24.
    hours: std::sync::Mutex<std::collections::VecDeque<(i64, [u64; 3])>>,
}

impl Activity {
    pub const SIGN_IN: usize = 0;
    pub const FAILURE: usize = 1;
    pub const LOCKOUT: usize = 2;

    pub fn record(&self, now: i64, kind: usize) {
        let hour = now.div_euclid(3600);
        let Ok(mut hours) = self.hours.lock() else {
            return;
        };
        match hours.back_mut() {
            Some((h, counts)) if *h == hour => counts[kind.min(2)] += 1,
            _ => {
                let mut counts = [0; 3];
                counts[kind.min(2)] = 1;
                hours.push_back((hour, counts));
            }
        }
        while hours.front().is_some_and(|(h, _)| *h <= hour - 24) {
            hours.pop_front();
        }
    }

    /// The 24 hours ending with the one holding `now`, oldest first: (hour start, counts).
    pub fn last_24_hours(&self, now: i64) -> Vec<(i64, [u64; 3])> {
        let current = now.div_euclid(3600);
        let hours = match self.hours.lock() {
            Ok(h) => h.clone(),
            Err(_) => Default::default(),
        };
        (current - 23..=current)
            .map(|h| {
                let counts = hours
                    .iter()
                    .find(|(at, _)| *at == h)
                    .map_or([0; 3], |(_, c)| *c);
                (h * 3600, counts)
            })
            .collect()
    }
}
