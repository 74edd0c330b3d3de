//! The load benchmark: builds in release mode (`cargo bench --bench load`), starts the real
//! binary on loopback, drives it with concurrent keep-alive HTTP clients, and reports throughput,
//! p50/p99 latencies, the server's CPU per request (utime + stime from `/proc/<pid>/stat`,
//! divided by the requests served) and its resident memory. Every ratio compares two figures
//! measured in the same run on the same machine.
//!
//! Backends (`--backend redb|postgres|both`, default redb; `both` runs redb, then PostgreSQL):
//! redb is one server on a temp file; PostgreSQL is a throwaway durable cluster started here (the
//! test harness's code, `tests/support/postgres.rs`, with fsync on) and `--instances N` servers on
//! one database, the connections spread over them round-robin. There the report adds the
//! PostgreSQL server's own CPU per request and pgbench's ceiling on the same cluster.
//!
//! A bare reference (`examples/bare_reference.rs`: warp + async-graphql, one in-memory customer)
//! runs beside, and the CPU phases alternate bare and storekey round by round (`--rounds N`),
//! each round starting with the next one, so every participant takes every place in the order.
//!
//! Options (after `--`): `--seconds N` per phase (default 8), `--sweep-rows N` (default 1000000),
//! `--rounds N` (default 3), `--backend B`, `--instances N` (default 1), `--only TEXT` (run only
//! the phases whose name contains TEXT), `--before BIN` with `--before-label TEXT` (an earlier
//! storekey binary on redb, measured beside this one: the CPU rounds alternate bare, before,
//! after, and it gets the 16-connection Multipass phase too), `--pg-unix` (storekey reaches
//! PostgreSQL through its Unix socket rather than loopback TCP).

use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storekey::auth::multipass::MultipassKey;

#[path = "common/mod.rs"]
mod common;

#[path = "../examples/bare_reference.rs"]
mod bare_reference;

#[path = "../tests/support/postgres.rs"]
mod pg_support;

use common::{admin_post, arg, arg_str, gql, Server, ADMIN};

const SECRET: &str = "bench multipass secret";
const EMAIL: &str = "bench@example.com";
const FIRSTNAME: &str = "Bench";
const PASSWORD: &str = "B3nch-passw0rd";
/// The bare reference's one token.
const BARE_TOKEN: &str = "bare-reference-token-0123456789";
/// Connections for the latency comparison (sweeper vs. control): enough to keep both cores
/// busy, few enough that latency measures the server rather than the client's own queue.
const LATENCY_CONNECTIONS: usize = 16;
/// Concurrent Multipass clients: group commit turns concurrency into larger batches per fsync.
const MP_CONNECTIONS: usize = 256;
/// Multipass at ordinary concurrency (issue 15's goal: ≤ 80 µs CPU, ≥ 10,000/s).
const MP_ORDINARY_CONNECTIONS: usize = 16;
/// Connections of the CPU-per-request comparison with the bare reference.
const CPU_CONNECTIONS: usize = 32;

#[derive(Default, Clone)]
struct Phase {
    name: String,
    ok: u64,
    other: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Server CPU (all the metered storekey or bare processes), seconds.
    cpu: f64,
    /// The PostgreSQL server's CPU, seconds (PostgreSQL backend only).
    db_cpu: Option<f64>,
    /// Of `cpu`, the servers' argon2 hash workers' threads (`storekey-argon2-N`), seconds.
    argon2_cpu: f64,
    /// Bytes the server processes sent to storage (`write_bytes` of `/proc/<pid>/io`).
    disk_bytes: u64,
    /// Durable commits and the write operations they carried (the servers' `/metrics`).
    commits: u64,
    writes: u64,
}

impl Phase {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }
    fn ran(&self) -> bool {
        self.ok > 0
    }
    /// Server CPU per successful request, µs (the CPU of refusals is included).
    fn cpu_us(&self) -> f64 {
        self.cpu * 1e6 / (self.ok.max(1) as f64)
    }
    fn db_us(&self) -> Option<f64> {
        self.db_cpu.map(|c| c * 1e6 / (self.ok.max(1) as f64))
    }
    /// What the write path did per successful request: KiB to disk, and write operations per
    /// commit (how well group commit batches). Empty when the phase wrote nothing.
    fn writer_note(&self) -> String {
        if self.writes < 10 {
            return String::new();
        }
        format!(
            "  {:.1} KiB to disk/req, {:.1} writes/commit",
            self.disk_bytes as f64 / 1024.0 / self.ok.max(1) as f64,
            self.writes as f64 / self.commits as f64
        )
    }
}

/// Whose CPU a phase is charged: the server processes, and the PostgreSQL postmaster's tree.
#[derive(Clone, Default)]
struct Meter {
    pids: Vec<u32>,
    postmaster: Option<u32>,
    ticks_per_second: f64,
    /// The servers' `/metrics` URLs (none for the bare reference).
    metrics: Vec<String>,
}

impl Meter {
    /// (server CPU, PostgreSQL CPU), seconds since boot of the processes.
    fn read(&self) -> (f64, Option<f64>) {
        let tck = self.ticks_per_second.max(1.0);
        let server: u64 = self.pids.iter().map(|&p| common::cpu_ticks(p)).sum();
        let db = self
            .postmaster
            .map(|pm| common::postgres_ticks(pm) as f64 / tck);
        (server as f64 / tck, db)
    }

    /// CPU of the servers' argon2 hash worker threads so far, seconds.
    fn argon2_cpu(&self) -> f64 {
        let ticks: u64 = self
            .pids
            .iter()
            .map(|&p| common::thread_ticks(p, "storekey-argon"))
            .sum();
        ticks as f64 / self.ticks_per_second.max(1.0)
    }

    /// Bytes the server processes have sent to storage so far.
    fn disk_bytes(&self) -> u64 {
        self.pids.iter().map(|&p| common::io_write_bytes(p)).sum()
    }

    /// (commits, write operations) so far, summed over the servers.
    async fn writer_counts(&self, http: &reqwest::Client) -> (u64, u64) {
        let mut total = (0, 0);
        for url in &self.metrics {
            let Ok(resp) = http.get(url).bearer_auth(ADMIN).send().await else {
                continue;
            };
            let text = resp.text().await.unwrap_or_default();
            let value = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
                    .unwrap_or(0.0) as u64
            };
            total.0 += value("storekey_store_commits ");
            total.1 += value("storekey_store_writes ");
        }
        total
    }
}

/// Runs `connections` concurrent loops for `seconds`, connection i on `urls[i % len]`; `make`
/// builds each request body and headers, `check` decides whether a response counts as a success.
#[allow(clippy::too_many_arguments)]
async fn drive<M, C>(
    name: &str,
    urls: &[String],
    connections: usize,
    seconds: f64,
    meter: &Meter,
    make: M,
    check: C,
) -> Phase
where
    M: Fn(u64) -> (bytes::Bytes, Vec<(&'static str, String)>) + Send + Sync + 'static,
    C: Fn(u16, &Value) -> bool + Send + Sync + 'static,
{
    if !selected(name) {
        return Phase {
            name: name.into(),
            seconds: 1.0,
            ..Phase::default()
        };
    }
    let make = Arc::new(make);
    let check = Arc::new(check);
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    let (commits0, writes0) = meter.writer_counts(&client).await;
    let disk0 = meter.disk_bytes();
    let argon0 = meter.argon2_cpu();
    let (cpu0, db0) = meter.read();
    let started = Instant::now();
    for i in 0..connections {
        let (client, url, make, check, stop, counter) = (
            client.clone(),
            urls[i % urls.len()].clone(),
            make.clone(),
            check.clone(),
            stop.clone(),
            counter.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut ok, mut other) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let (body, headers) = make(n);
                let mut req = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body);
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let t = Instant::now();
                let Ok(resp) = req.send().await else {
                    other += 1;
                    continue;
                };
                let status = resp.status().as_u16();
                // A well-behaved client honours Retry-After on 503 (the hash queue is full)
                // instead of spinning; the server's CPU belongs to argon2.
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<f64>().ok());
                let value: Value = resp.json().await.unwrap_or(Value::Null);
                if let (503, Some(wait)) = (status, retry_after) {
                    other += 1;
                    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                    continue;
                }
                if check(status, &value) {
                    ok += 1;
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    other += 1;
                }
            }
            (ok, other, lat)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut phase = Phase {
        name: name.into(),
        ..Phase::default()
    };
    let mut all = Vec::new();
    for t in tasks {
        let (ok, other, lat) = t.await.unwrap();
        phase.ok += ok;
        phase.other += other;
        all.extend(lat);
    }
    phase.seconds = started.elapsed().as_secs_f64();
    let (cpu1, db1) = meter.read();
    phase.cpu = cpu1 - cpu0;
    phase.db_cpu = db0.zip(db1).map(|(a, b)| b - a);
    phase.disk_bytes = meter.disk_bytes().saturating_sub(disk0);
    phase.argon2_cpu = meter.argon2_cpu() - argon0;
    let (commits1, writes1) = meter.writer_counts(&client).await;
    (phase.commits, phase.writes) = (commits1 - commits0, writes1 - writes0);
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| {
        if all.is_empty() {
            0.0
        } else {
            all[((all.len() - 1) as f64 * p) as usize]
        }
    };
    phase.p50_ms = pct(0.50);
    phase.p99_ms = pct(0.99);
    let db = phase
        .db_us()
        .map(|us| format!(" + PG {us:.0} µs"))
        .unwrap_or_default();
    eprintln!(
        "  {:<58} {:>9.0} ok/s  p50 {:>7.2} ms  p99 {:>7.2} ms  {:>7.1} µs CPU{db}  ({} ok, {} other){}",
        phase.name,
        phase.rps(),
        phase.p50_ms,
        phase.p99_ms,
        phase.cpu_us(),
        phase.ok,
        phase.other,
        phase.writer_note()
    );
    phase
}

/// One argon2id verify with the shipped parameters while `threads` run at once, timed in
/// this process (median per thread of 9 rounds). With one thread this is the textbook cost; with
/// one per CPU it includes the memory-bandwidth contention the hash pool really meets.
fn argon2_verify_seconds_parallel(threads: usize) -> Verify {
    let handles: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(|| argon2_verify_seconds_n(9)))
        .collect();
    let all: Vec<Verify> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let median = |f: fn(&Verify) -> f64| {
        let mut v: Vec<f64> = all.iter().map(f).collect();
        v.sort_by(|x, y| x.partial_cmp(y).unwrap());
        v[v.len() / 2]
    };
    Verify {
        wall: median(|v| v.wall),
        cpu: median(|v| v.cpu),
    }
}

fn argon2_verify_seconds() -> Verify {
    argon2_verify_seconds_n(15)
}

/// One verify's wall time and its thread's CPU time, seconds. The CPU time is what the server's
/// CPU per sign-in is compared with: on a busy machine the wall time also counts waiting.
#[derive(Clone, Copy)]
struct Verify {
    wall: f64,
    cpu: f64,
}

/// This thread's CPU time so far, seconds (`/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// One argon2id verify with the shipped parameters, timed in this process (median of `n`).
fn argon2_verify_seconds_n(n: usize) -> Verify {
    // As the server's hash workers do it: one argon2 memory area allocated once and reused
    // (a fresh 19 MiB allocation per verify would add page faults the server never pays).
    let params = argon2::Params::new(19456, 2, 1, None).unwrap();
    let a = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params.clone(),
    );
    let mut memory = vec![argon2::Block::default(); params.block_count()];
    let mut out = [0u8; 32];
    let salt = [7u8; 16];
    a.hash_password_into_with_memory(PASSWORD.as_bytes(), &salt, &mut out, &mut memory)
        .unwrap();
    let mut times: Vec<(f64, f64)> = (0..n)
        .map(|_| {
            let (t, cpu) = (Instant::now(), thread_cpu_seconds());
            a.hash_password_into_with_memory(PASSWORD.as_bytes(), &salt, &mut out, &mut memory)
                .unwrap();
            (t.elapsed().as_secs_f64(), thread_cpu_seconds() - cpu)
        })
        .collect();
    times.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap());
    let wall = times[n / 2].0;
    times.sort_by(|x, y| x.1.partial_cmp(&y.1).unwrap());
    Verify {
        wall,
        cpu: times[n / 2].1,
    }
}

/// `--only TEXT`: run just the phases whose name contains TEXT (for profiling one path).
fn only() -> Option<String> {
    arg_str("--only")
}

fn selected(name: &str) -> bool {
    only().is_none_or(|o| name.contains(o.as_str()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Redb,
    Postgres,
}

/// What the run measured on one backend.
#[derive(Default)]
struct Run {
    /// "redb" or "postgres (N instances)".
    label: String,
    /// The phases, by key.
    phases: Vec<(&'static str, Phase)>,
    /// The CPU comparison: (key, bare phase, storekey phase) per round.
    rounds: Vec<(&'static str, Phase, Phase)>,
    /// `--before`: the earlier binary's phase of each round, by key, and its idle RSS (KiB).
    before_rounds: Vec<(&'static str, Phase)>,
    before_idle_rss: u64,
    /// Highest over the instances, KiB.
    idle_rss: u64,
    peak_before_flood: u64,
    peak_flood: u64,
    /// `/healthz` right after the flood: status, ms.
    health: (u16, f64),
    /// redb only: rows purged during the sweep phase.
    purged: Option<u64>,
    pgbench: Option<PgBench>,
}

impl Run {
    fn phase(&self, key: &str) -> Option<&Phase> {
        self.phases
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, p)| p)
            .filter(|p| p.ran())
    }

    /// Medians over the rounds of (bare, storekey) for one query: (bare µs, storekey µs,
    /// PostgreSQL µs, storekey req/s).
    fn cpu_medians(&self, key: &str) -> Option<(f64, f64, Option<f64>, f64)> {
        let of = |f: &dyn Fn(&Phase, &Phase) -> Option<f64>| {
            let mut v: Vec<f64> = self
                .rounds
                .iter()
                .filter(|(k, b, s)| *k == key && b.ran() && s.ran())
                .filter_map(|(_, b, s)| f(b, s))
                .collect();
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            (!v.is_empty()).then(|| v[v.len() / 2])
        };
        Some((
            of(&|b, _| Some(b.cpu_us()))?,
            of(&|_, s| Some(s.cpu_us()))?,
            of(&|_, s| s.db_us()),
            of(&|_, s| Some(s.rps()))?,
        ))
    }
}

impl Run {
    /// Median over the rounds of the earlier binary's CPU µs per request for one query.
    fn before_median(&self, key: &str) -> Option<f64> {
        let mut v: Vec<f64> = self
            .before_rounds
            .iter()
            .filter(|(k, p)| *k == key && p.ran())
            .map(|(_, p)| p.cpu_us())
            .collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        (!v.is_empty()).then(|| v[v.len() / 2])
    }
}

/// The `--before` table: each figure of the earlier binary and of this one, measured in the
/// same run (the CPU phases alternated bare, before, after, round by round, the order rotating).
fn before_after(r: &Run, opts: &Options) -> String {
    let label = &opts.before_label;
    let mut s = format!(
        "\n**Before ({label}) and after, one run on redb** (CPU per request, median of {} rounds alternated bare, before, after, the order rotating; {CPU_CONNECTIONS} connections):\n\n| measure | bare | before | after | after ÷ before |\n|---|---|---|---|---|\n",
        opts.rounds
    );
    for (key, measure) in [
        (
            "cpu_customer",
            "Bearer `{ customer { email firstname } }` (commerce), CPU",
        ),
        (
            "cpu_customer_sf",
            "`customer(customerAccessToken:)` (storefront), CPU",
        ),
        ("cpu_typename", "`{ __typename }` (commerce), CPU"),
    ] {
        let (Some((bare, after, _, _)), Some(before)) = (r.cpu_medians(key), r.before_median(key))
        else {
            continue;
        };
        s += &format!(
            "| {measure} | {bare:.1} µs | {before:.1} µs ({:.2} × bare) | {after:.1} µs ({:.2} × bare) | **{:.2}** |\n",
            before / bare,
            after / bare,
            after / before
        );
    }
    if let (Some(b), Some(a)) = (r.phase("mp16_before"), r.phase("mp16")) {
        s += &format!(
            "| durable Multipass sign-in, {MP_ORDINARY_CONNECTIONS} conn, CPU | — | {:.0} µs | {:.0} µs | **{:.2}** |\n",
            b.cpu_us(),
            a.cpu_us(),
            a.cpu_us() / b.cpu_us()
        );
        s += &format!(
            "| durable Multipass sign-in, {MP_ORDINARY_CONNECTIONS} conn, rate | — | {}/s | {}/s | **{:.2}** |\n",
            thousands(b.rps()),
            thousands(a.rps()),
            a.rps() / b.rps()
        );
    }
    if r.before_idle_rss > 0 {
        s += &format!(
            "| RSS idle | — | {:.1} MiB | {:.1} MiB | **{:.2}** |\n",
            r.before_idle_rss as f64 / 1024.0,
            r.idle_rss as f64 / 1024.0,
            r.idle_rss as f64 / r.before_idle_rss as f64
        );
    }
    s
}

/// pgbench on the same cluster: (transactions/s, PostgreSQL CPU µs per transaction).
#[derive(Default)]
struct PgBench {
    clients: usize,
    select_only: Option<(f64, f64)>,
    insert: Option<(f64, f64)>,
}

struct Options {
    seconds: f64,
    sweep_rows: u64,
    rounds: usize,
    instances: usize,
    cpus: usize,
    ticks_per_second: f64,
    /// `--before BIN`: an earlier storekey binary, measured beside this one on redb.
    before: Option<String>,
    /// `--before-label TEXT`: how the report names it (a commit, say).
    before_label: String,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bare-reference") {
        if let Err(e) = bare_reference::serve(&args) {
            eprintln!("bare reference: {e}");
            std::process::exit(1);
        }
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let backends = match arg_str("--backend").as_deref().unwrap_or("redb") {
        "redb" => vec![Backend::Redb],
        "postgres" => vec![Backend::Postgres],
        "both" => vec![Backend::Redb, Backend::Postgres],
        other => {
            eprintln!("--backend redb|postgres|both, not {other:?}");
            std::process::exit(2);
        }
    };
    let opts = Options {
        seconds: arg("--seconds", 8.0),
        sweep_rows: arg("--sweep-rows", 1_000_000.0) as u64,
        rounds: (arg("--rounds", 3.0) as usize).max(1),
        instances: (arg("--instances", 1.0) as usize).max(1),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        ticks_per_second: common::clock_ticks(),
        before: arg_str("--before"),
        before_label: arg_str("--before-label").unwrap_or_else(|| "before".into()),
    };
    eprintln!(
        "storekey load benchmark: {} CPUs, {} s per phase, {} rounds against the bare reference",
        opts.cpus, opts.seconds, opts.rounds
    );
    // argon2 first, with nothing else running.
    let verify = argon2_verify_seconds();
    let verify_parallel = argon2_verify_seconds_parallel(opts.cpus);
    let bare = Server::start_bare(&[
        "--token",
        BARE_TOKEN,
        "--email",
        EMAIL,
        "--firstname",
        FIRSTNAME,
    ]);
    let mut runs = Vec::new();
    for backend in backends {
        if let Some(run) = run_backend(backend, &opts, &bare).await {
            runs.push(run);
        }
    }
    bare.stop();
    let report = report(&runs, &opts, verify, verify_parallel);
    println!("\n{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-report.md");
    let _ = std::fs::write(&out, &report);
    eprintln!("report written to {}", out.display());
}

/// Fresh Multipass sign-in bodies, made before the phase so the load generator's AES and HMAC
/// do not compete with the server for the CPUs. Each is used once.
fn multipass_bodies(prefix: &str, count: usize) -> Arc<Vec<bytes::Bytes>> {
    let key = MultipassKey::new(SECRET).unwrap();
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    Arc::new(
        (0..count)
            .map(|n| {
                let payload = json!({"email": format!("{prefix}{n}@example.com"), "created_at": now, "first_name": "M"}).to_string();
                gql("mutation($t:String!){ customerAccessTokenCreateWithMultipass(multipassToken:$t){ customerAccessToken { accessToken } customerUserErrors { code } } }",
                    json!({"t": key.encode(&payload)}))
            })
            .collect(),
    )
}

fn multipass_ok(s: u16, v: &Value) -> bool {
    s == 200
        && v["data"]["customerAccessTokenCreateWithMultipass"]["customerAccessToken"]["accessToken"]
            .is_string()
}

/// The customer email in `{ customer { … } }` answers.
fn customer_is(email: &'static str) -> impl Fn(u16, &Value) -> bool + Send + Sync + 'static {
    move |s, v| s == 200 && v["data"]["customer"]["email"] == email
}

fn typename_ok(s: u16, v: &Value) -> bool {
    s == 200 && v["data"]["__typename"].is_string()
}

/// The customer, a storefront token and a signed-in customer token on a fresh server:
/// (storefront key, customer token).
async fn fixtures(http: &reqwest::Client, addr: &str) -> (String, String) {
    admin_post(
        http,
        addr,
        "/rest/V1/customers",
        json!({"customer": {"email": EMAIL, "firstname": FIRSTNAME, "lastname": "Mark"}, "password": PASSWORD}),
    )
    .await;
    let sf = admin_post(
        http,
        addr,
        "/rest/V1/storefront-tokens",
        json!({"title": "bench", "scopes": ["unauthenticated_read_customers", "unauthenticated_write_customers"]}),
    )
    .await;
    let storefront_key = sf["access_token"].as_str().unwrap_or_default().to_string();
    let signin = gql(
        "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e,password:$p){ token } }",
        json!({"e": EMAIL, "p": PASSWORD}),
    );
    (storefront_key, sign_in(http, addr, signin).await)
}

/// The customer token a `generateCustomerToken` body gets from the server at `addr`.
async fn sign_in(http: &reqwest::Client, addr: &str, body: bytes::Bytes) -> String {
    let answer: Value = http
        .post(format!("http://{addr}/graphql"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["data"]["generateCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every phase on one backend; None when PostgreSQL is asked for and not installed.
async fn run_backend(backend: Backend, opts: &Options, bare: &Server) -> Option<Run> {
    let seconds = opts.seconds;
    let dir = tempfile::tempdir().unwrap();
    let mut env: Vec<(&str, String)> = vec![
        ("STOREKEY_MULTIPASS_SECRET", SECRET.into()),
        ("STOREKEY_LOCKOUT_MAX_FAILURES", "0".into()),
    ];
    // PostgreSQL: a durable cluster (fsync, synchronous_commit on), one database for storekey,
    // one for pgbench. The harness's watchdog stops it when this process ends.
    let mut pg = None;
    if backend == Backend::Postgres {
        pg_support::DURABLE.store(true, Ordering::SeqCst);
        let Some(db) = pg_support::database(pg_support::Schema::Migrated).await else {
            eprintln!("--backend postgres: no PostgreSQL here (see the line above); skipped");
            return None;
        };
        let pgbench_db = pg_support::database(pg_support::Schema::Empty).await?;
        env.push(("STOREKEY_STORAGE_BACKEND", "postgres".into()));
        // `--pg-unix`: through the cluster's Unix socket instead of loopback TCP (on loopback
        // the sender's CPU also pays the receiver's TCP processing).
        let pg_unix = std::env::args().any(|a| a == "--pg-unix");
        let url = match (pg_unix, &db.ca_file) {
            (true, Some(ca)) => {
                let socket_dir = ca.parent().unwrap().display().to_string();
                let port = db
                    .url
                    .rsplit(':')
                    .next()
                    .unwrap()
                    .split('/')
                    .next()
                    .unwrap();
                format!(
                    "postgresql://storekey@{}:{port}/{}",
                    socket_dir.replace('/', "%2F"),
                    db.name
                )
            }
            _ => db.url.clone(),
        };
        env.push(("STOREKEY_STORAGE_URL", url));
        env.push(("STOREKEY_STORAGE_TLS", "disable".into()));
        pg = Some((db, pgbench_db));
    }
    let instances = if pg.is_some() { opts.instances } else { 1 };
    let label = match backend {
        Backend::Redb => "redb".to_string(),
        Backend::Postgres => format!(
            "postgres ({instances} instance{})",
            if instances == 1 { "" } else { "s" }
        ),
    };
    eprintln!("{label}:");
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let postmaster = match &pg {
        Some((db, _)) => postmaster_pid(&db.url).await,
        None => None,
    };
    let mut run = Run {
        label: label.clone(),
        ..Run::default()
    };

    // The first instance applies nothing new (the database is migrated) and gets the fixtures;
    // the others start after it, so every instance sees the storefront token at once.
    let mut servers = vec![Server::start(dir.path(), &env_refs)];
    std::thread::sleep(Duration::from_millis(300));
    // Idle: started, nothing served yet (the fixtures below hash passwords, which gives the
    // hash workers their argon2 memory).
    let first_idle_rss = servers[0].status_kib("VmRSS:");
    let addr = servers[0].addr.clone();
    let http = reqwest::Client::new();
    let (storefront_key, token) = fixtures(&http, &addr).await;
    let signin = gql(
        "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e,password:$p){ token } }",
        json!({"e": EMAIL, "p": PASSWORD}),
    );
    // `--before` (redb): the earlier binary on a file of its own, with the same fixtures.
    let before = match (&opts.before, backend) {
        (Some(bin), Backend::Redb) => {
            let before_dir = tempfile::tempdir().unwrap();
            let server = Server::start_bin(bin, before_dir.path(), &env_refs);
            std::thread::sleep(Duration::from_millis(300));
            run.before_idle_rss = server.status_kib("VmRSS:");
            let (key, token) = fixtures(&http, &server.addr).await;
            Some((server, before_dir, key, token))
        }
        _ => None,
    };
    for _ in 1..instances {
        servers.push(Server::start(dir.path(), &env_refs));
    }
    std::thread::sleep(Duration::from_millis(300));
    run.idle_rss = servers[1..]
        .iter()
        .map(|s| s.status_kib("VmRSS:"))
        .fold(first_idle_rss, u64::max);
    let commerce: Vec<String> = servers
        .iter()
        .map(|s| format!("http://{}/graphql", s.addr))
        .collect();
    let storefront: Vec<String> = servers
        .iter()
        .map(|s| format!("http://{}/api/2026-04/graphql.json", s.addr))
        .collect();
    let meter = Meter {
        pids: servers.iter().map(Server::pid).collect(),
        postmaster,
        ticks_per_second: opts.ticks_per_second,
        metrics: servers
            .iter()
            .map(|s| format!("http://{}/metrics", s.addr))
            .collect(),
    };
    let bare_meter = Meter {
        pids: vec![bare.pid()],
        postmaster: None,
        ticks_per_second: opts.ticks_per_second,
        metrics: Vec::new(),
    };
    let n = |phase: &str| format!("{label}: {phase}");
    let sf_header = {
        let k = storefront_key.clone();
        move || vec![("x-shopify-storefront-access-token", k.clone())]
    };

    eprintln!("phases:");
    let typename = gql("{ __typename }", json!({}));
    let bearer_email = gql("{ customer { email } }", json!({}));
    let p = drive(
        &n("bare { __typename } (commerce)"),
        &commerce,
        64,
        seconds,
        &meter,
        {
            let b = typename.clone();
            move |_| (b.clone(), vec![])
        },
        typename_ok,
    )
    .await;
    run.phases.push(("typename64", p));
    let t = token.clone();
    let p = drive(
        &n("Bearer customer { email } (commerce)"),
        &commerce,
        64,
        seconds,
        &meter,
        {
            let b = bearer_email.clone();
            move |_| (b.clone(), vec![("authorization", format!("Bearer {t}"))])
        },
        customer_is(EMAIL),
    )
    .await;
    run.phases.push(("auth64", p));
    // A nested object without any token: separates GraphQL's own cost of resolving an object
    // from the cost of the token check.
    let p = drive(
        &n("guest storeConfig { minimum_password_length } (commerce)"),
        &commerce,
        64,
        seconds,
        &meter,
        {
            let b = gql("{ storeConfig { minimum_password_length } }", json!({}));
            move |_| (b.clone(), vec![])
        },
        |s, v| s == 200 && v["data"]["storeConfig"]["minimum_password_length"] == "8",
    )
    .await;
    run.phases.push(("guest64", p));
    let p = drive(
        &n("bare { __typename } (commerce, 16 conn)"),
        &commerce,
        LATENCY_CONNECTIONS,
        seconds,
        &meter,
        {
            let b = typename.clone();
            move |_| (b.clone(), vec![])
        },
        typename_ok,
    )
    .await;
    run.phases.push(("typename16", p));
    let t = token.clone();
    let p = drive(
        &n("Bearer customer { email } (16 conn, no sweep)"),
        &commerce,
        LATENCY_CONNECTIONS,
        seconds,
        &meter,
        {
            let b = bearer_email.clone();
            move |_| (b.clone(), vec![("authorization", format!("Bearer {t}"))])
        },
        customer_is(EMAIL),
    )
    .await;
    run.phases.push(("auth16", p));
    let h = sf_header.clone();
    let p = drive(
        &n("bare { __typename } (storefront)"),
        &storefront,
        64,
        seconds,
        &meter,
        {
            let b = typename.clone();
            move |_| (b.clone(), h())
        },
        typename_ok,
    )
    .await;
    run.phases.push(("typename_sf64", p));
    let h = sf_header.clone();
    let p = drive(
        &n("customer(customerAccessToken:) (storefront)"),
        &storefront,
        64,
        seconds,
        &meter,
        {
            let b = gql(
                "query($t:String!){ customer(customerAccessToken:$t){ email } }",
                json!({"t": token}),
            );
            move |_| (b.clone(), h())
        },
        customer_is(EMAIL),
    )
    .await;
    run.phases.push(("auth_sf64", p));

    // CPU per request against the bare reference: the same three queries on bare, before (if
    // any) and storekey, round by round, the order rotating.
    let bare_commerce = vec![format!("http://{}/graphql", bare.addr)];
    let bare_storefront = vec![format!("http://{}/api/2026-04/graphql.json", bare.addr)];
    let customer_query = gql("{ customer { email firstname } }", json!({}));
    let before_urls = before.as_ref().map(|(server, ..)| {
        (
            vec![format!("http://{}/graphql", server.addr)],
            vec![format!("http://{}/api/2026-04/graphql.json", server.addr)],
            Meter {
                pids: vec![server.pid()],
                postmaster: None,
                ticks_per_second: opts.ticks_per_second,
                metrics: vec![format!("http://{}/metrics", server.addr)],
            },
        )
    });
    for round in 1..=opts.rounds {
        let mut participants = vec![(
            "bare",
            &bare_commerce,
            &bare_storefront,
            BARE_TOKEN.to_string(),
            storefront_key.clone(),
            &bare_meter,
        )];
        if let (Some((_, _, key, tok)), Some((c, s, m))) = (&before, &before_urls) {
            participants.push(("before", c, s, tok.clone(), key.clone(), m));
        }
        participants.push((
            "storekey",
            &commerce,
            &storefront,
            token.clone(),
            storefront_key.clone(),
            &meter,
        ));
        // Each round starts with the next participant, so over the rounds every participant
        // takes every place in the order and no place can favour one of them.
        let turn = (round - 1) % participants.len();
        participants.rotate_left(turn);
        for (who, urls_c, urls_s, tok, sf_key, m) in participants {
            let tag = |q: &str| format!("{label}: cpu: {q} [{who} round {round}]");
            let t = tok.clone();
            let c = drive(
                &tag("Bearer customer { email firstname } (commerce, 32 conn)"),
                urls_c,
                CPU_CONNECTIONS,
                seconds,
                m,
                {
                    let b = customer_query.clone();
                    move |_| (b.clone(), vec![("authorization", format!("Bearer {t}"))])
                },
                customer_is(EMAIL),
            )
            .await;
            let h = move || vec![("x-shopify-storefront-access-token", sf_key.clone())];
            let s = drive(
                &tag("customer(customerAccessToken:) { email firstName } (storefront, 32 conn)"),
                urls_s,
                CPU_CONNECTIONS,
                seconds,
                m,
                {
                    let b = gql(
                        "query($t:String!){ customer(customerAccessToken:$t){ email firstName } }",
                        json!({"t": tok}),
                    );
                    move |_| (b.clone(), h())
                },
                customer_is(EMAIL),
            )
            .await;
            let y = drive(
                &tag("{ __typename } (commerce, 32 conn)"),
                urls_c,
                CPU_CONNECTIONS,
                seconds,
                m,
                {
                    let b = typename.clone();
                    move |_| (b.clone(), vec![])
                },
                typename_ok,
            )
            .await;
            for (key, phase) in [
                ("cpu_customer", c),
                ("cpu_customer_sf", s),
                ("cpu_typename", y),
            ] {
                if who == "bare" {
                    run.rounds.push((key, phase, Phase::default()));
                } else if who == "before" {
                    run.before_rounds.push((key, phase));
                } else if let Some(slot) = run.rounds.iter_mut().rev().find(|(k, _, _)| *k == key) {
                    slot.2 = phase;
                }
            }
        }
    }

    // Durable Multipass sign-ins at ordinary concurrency.
    let bodies = multipass_bodies("mp16-", (seconds * 15_000.0) as usize);
    let h = sf_header.clone();
    let p = drive(
        &n("Multipass sign-in (16 conn, each a durable write)"),
        &storefront,
        MP_ORDINARY_CONNECTIONS,
        seconds,
        &meter,
        // Past the prepared tokens a request is a replay and fails: counted as "other".
        move |i| (bodies[i as usize % bodies.len()].clone(), h()),
        multipass_ok,
    )
    .await;
    run.phases.push(("mp16", p));
    if let (Some((_, _, key, _)), Some((_, s, m))) = (&before, &before_urls) {
        let bodies = multipass_bodies("mp16b-", (seconds * 15_000.0) as usize);
        let key = key.clone();
        let p = drive(
            &n("Multipass sign-in (16 conn, each a durable write) [before]"),
            s,
            MP_ORDINARY_CONNECTIONS,
            seconds,
            m,
            move |i| {
                (
                    bodies[i as usize % bodies.len()].clone(),
                    vec![("x-shopify-storefront-access-token", key.clone())],
                )
            },
            multipass_ok,
        )
        .await;
        run.phases.push(("mp16_before", p));
    }

    run.peak_before_flood = servers
        .iter()
        .map(|s| s.status_kib("VmHWM:"))
        .max()
        .unwrap_or(0);
    // The flood spreads over many accounts: checks for one email take turns (at most one argon2
    // verify in flight per address), so a one-account flood would measure that rule, not the pool.
    const FLOOD_ACCOUNTS: usize = 64;
    if selected(&n("password sign-in flood")) {
        for i in 0..FLOOD_ACCOUNTS {
            admin_post(
                &http,
                &addr,
                "/rest/V1/customers",
                json!({"customer": {"email": format!("flood{i}@example.com"), "firstname": "F", "lastname": "L"}, "password": PASSWORD}),
            )
            .await;
        }
    }
    let p = drive(&n("password sign-in flood (256 connections, 64 accounts)"), &commerce, 256, seconds, &meter,
        {
            let bodies: Vec<bytes::Bytes> = (0..FLOOD_ACCOUNTS)
                .map(|i| gql("mutation($e:String!,$p:String!){ generateCustomerToken(email:$e,password:$p){ token } }",
                    json!({"e": format!("flood{i}@example.com"), "p": PASSWORD})))
                .collect();
            move |i| (bodies[i as usize % bodies.len()].clone(), vec![])
        },
        |s, v| s == 200 && v["data"]["generateCustomerToken"]["token"].is_string()).await;
    run.phases.push(("flood", p));
    run.peak_flood = servers
        .iter()
        .map(|s| s.status_kib("VmHWM:"))
        .max()
        .unwrap_or(0);
    run.health = {
        let t = Instant::now();
        let ok = http
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        (ok, t.elapsed().as_secs_f64() * 1000.0)
    };

    let bodies = multipass_bodies("mp256-", (seconds * 20_000.0) as usize);
    let h = sf_header.clone();
    let p = drive(
        &n("Multipass sign-in (256 conn, each a durable write)"),
        &storefront,
        MP_CONNECTIONS,
        seconds,
        &meter,
        move |i| (bodies[i as usize % bodies.len()].clone(), h()),
        multipass_ok,
    )
    .await;
    run.phases.push(("mp256", p));
    for server in servers {
        server.stop();
    }
    if let Some((server, ..)) = before {
        server.stop();
    }

    match pg {
        None => {
            if let Some((p, purged)) = sweep_phase(dir.path(), opts, &label, &signin).await {
                run.phases.push(("sweep", p));
                run.purged = Some(purged);
            }
        }
        Some((_db, pgbench_db)) => {
            run.pgbench = Some(pgbench(&pgbench_db.url, opts, postmaster, &label).await);
        }
    }
    Some(run)
}

/// The PostgreSQL server behind `url`: the parent of the backend serving a connection, when
/// that backend runs on this machine.
async fn postmaster_pid(url: &str) -> Option<u32> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .ok()?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let backend: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .ok()?
        .get(0);
    common::parent_pid(backend as u32)
}

/// Sweeper under load (redb): fill the file with expired tokens offline, restart, and measure
/// authenticated queries while the sweeper purges them.
async fn sweep_phase(
    dir: &Path,
    opts: &Options,
    label: &str,
    signin: &bytes::Bytes,
) -> Option<(Phase, u64)> {
    let name = format!("{label}: Bearer customer {{ email }} during 1M-row sweep (16 conn)");
    if !selected(&name) && only().is_some_and(|o| !"sweep".contains(o.as_str())) {
        return None;
    }
    let sweep_rows = opts.sweep_rows;
    let store = storekey::store::RedbStore::open(&dir.join("bench.redb")).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let t0 = Instant::now();
    let mut written = 0u64;
    while written < sweep_rows {
        let n = (sweep_rows - written).min(20_000);
        let base = written;
        store
            .write(move |tx| {
                for i in base..base + n {
                    let digest = storekey::auth::secret::digest(&format!("expired-{i}"));
                    tx.insert_access_token(
                        &digest,
                        &storekey::store::AccessTokenRecord {
                            customer_id: storekey::model::CustomerId(1),
                            issued_at: now - 7200,
                            expires_at: now - 3600,
                            kind: storekey::store::TokenKind::Commerce,
                        },
                    )?;
                }
                Ok(())
            })
            .await
            .unwrap();
        written += n;
    }
    eprintln!(
        "  wrote {sweep_rows} expired tokens in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    drop(store);
    std::thread::sleep(Duration::from_millis(200));
    let server = Server::start(
        dir,
        &[
            ("STOREKEY_MULTIPASS_SECRET", SECRET),
            ("STOREKEY_LOCKOUT_MAX_FAILURES", "0"),
        ],
    );
    let http = reqwest::Client::new();
    let token = sign_in(&http, &server.addr, signin.clone()).await;
    let meter = Meter {
        pids: vec![server.pid()],
        postmaster: None,
        ticks_per_second: opts.ticks_per_second,
        metrics: Vec::new(),
    };
    let body = gql("{ customer { email } }", json!({}));
    let phase = drive(
        &name,
        &[format!("http://{}/graphql", server.addr)],
        LATENCY_CONNECTIONS,
        opts.seconds.max(12.0),
        &meter,
        move |_| {
            (
                body.clone(),
                vec![("authorization", format!("Bearer {token}"))],
            )
        },
        customer_is(EMAIL),
    )
    .await;
    let metrics = http
        .get(format!("http://{}/metrics", server.addr))
        .header("authorization", format!("Bearer {ADMIN}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let purged: u64 = metrics
        .lines()
        .find(|l| l.starts_with("storekey_sweeper_purged_total{kind=\"access_token\"}"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    server.stop();
    Some((phase, purged))
}

/// The database's own ceiling on the same cluster, with the Multipass phase's client count:
/// pgbench select-only (`-S`) and a script of one single-row INSERT per transaction
/// (synchronous_commit on).
async fn pgbench(url: &str, opts: &Options, postmaster: Option<u32>, label: &str) -> PgBench {
    let mut out = PgBench {
        clients: MP_CONNECTIONS,
        ..PgBench::default()
    };
    let Some(bin) = pg_support::find_bin_dir() else {
        eprintln!("  {label}: no PostgreSQL bindir, pgbench skipped");
        return out;
    };
    let meter = Meter {
        pids: vec![],
        postmaster,
        ticks_per_second: opts.ticks_per_second,
        metrics: Vec::new(),
    };
    // pgbench's -T includes opening its 256 connections: at least 5 s, or a short smoke run
    // would measure nothing but connection start-up.
    let seconds = (opts.seconds.ceil() as u64).max(5).to_string();
    let clients = MP_CONNECTIONS.to_string();
    let threads = opts.cpus.to_string();
    let run = |extra: &[&str]| -> Option<(f64, f64)> {
        let (_, db0) = meter.read();
        let output = std::process::Command::new(bin.join("pgbench"))
            .args(["-c", &clients, "-j", &threads, "-T", &seconds])
            .args(extra)
            .arg(url)
            .env("PGOPTIONS", "-c synchronous_commit=on")
            .output();
        let (_, db1) = meter.read();
        let output = match output {
            Ok(o) if o.status.success() => o,
            Ok(o) => {
                let err = String::from_utf8_lossy(&o.stderr);
                eprintln!("  pgbench {extra:?} failed: {}", err.trim());
                return None;
            }
            Err(e) => {
                eprintln!("  pgbench {extra:?}: {e}");
                return None;
            }
        };
        let text = String::from_utf8_lossy(&output.stdout);
        let field = |prefix: &str| -> Option<f64> {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(prefix))
                .and_then(|rest| rest.split([' ', '/']).next())
                .and_then(|v| v.parse().ok())
        };
        let (Some(tps), Some(transactions)) = (
            field("tps = "),
            field("number of transactions actually processed: "),
        ) else {
            eprintln!("  pgbench {extra:?}: no rate in its output:\n{text}");
            return None;
        };
        let db_us = db0
            .zip(db1)
            .map_or(0.0, |(a, b)| (b - a) * 1e6 / transactions.max(1.0));
        eprintln!(
            "  {label}: pgbench {extra:?}: {tps:.0} tps, PG {db_us:.0} µs CPU per transaction"
        );
        Some((tps, db_us))
    };
    if selected(&format!("{label}: pgbench select-only")) {
        let init = std::process::Command::new(bin.join("pgbench"))
            .args(["-i", "-q", "-s", "1"])
            .arg(url)
            .output();
        match init {
            Ok(o) if o.status.success() => out.select_only = run(&["-S"]),
            Ok(o) => eprintln!(
                "  pgbench -i failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => eprintln!("  pgbench: {e}"),
        }
    }
    if selected(&format!("{label}: pgbench single-row insert")) {
        let created = async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            client
                .batch_execute(
                    "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, email text NOT NULL, \
                     created_at timestamptz NOT NULL DEFAULT now())",
                )
                .await
        }
        .await;
        let script = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            script.path(),
            "INSERT INTO bench_insert (email) VALUES ('mp' || :client_id || '@example.com');\n",
        )
        .unwrap();
        match created {
            Ok(()) => {
                let path = script.path().to_string_lossy().into_owned();
                out.insert = run(&["-n", "-f", &path]);
            }
            Err(e) => eprintln!("  pgbench insert table: {e}"),
        }
    }
    out
}

/// 12345.6 → "12,346".
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn phase_cell(p: Option<&Phase>) -> String {
    let Some(p) = p else {
        return "—".into();
    };
    let db = p
        .db_us()
        .map(|us| format!(" + PG {us:.0} µs"))
        .unwrap_or_default();
    format!(
        "{}/s, p50 {:.2} ms, p99 {:.2} ms, **{:.0} µs** CPU{db}",
        thousands(p.rps()),
        p.p50_ms,
        p.p99_ms,
        p.cpu_us()
    )
}

fn report(runs: &[Run], opts: &Options, alone: Verify, at_once: Verify) -> String {
    let (verify, verify_parallel) = (alone.wall, at_once.wall);
    let redb = runs.iter().find(|r| r.label == "redb");
    let pg = runs.iter().find(|r| r.label.starts_with("postgres"));
    let pg_label = pg.map_or("postgres".to_string(), |r| r.label.clone());
    let cpus = opts.cpus;
    let limit = cpus as f64 / verify;
    let limit_parallel = cpus as f64 / verify_parallel;
    let mut s = format!(
        "{cpus} CPUs, {} s per phase, {} rounds; CPU = the server processes' utime + stime per successful request (`/proc/<pid>/stat`), PG = the PostgreSQL server's (postmaster and children).\n\n",
        opts.seconds, opts.rounds
    );

    s += &format!("| phase | redb | {pg_label} | postgres ÷ redb (rate, CPU) | target |\n|---|---|---|---|---|\n");
    let rows: [(&str, &str, &str); 11] = [
        (
            "typename64",
            "bare `{ __typename }` (commerce), 64 conn",
            "ceiling",
        ),
        (
            "typename_sf64",
            "bare `{ __typename }` (storefront), 64 conn",
            "ceiling",
        ),
        (
            "auth64",
            "Bearer `customer { email }` (commerce), 64 conn",
            "≥ 0.75 of bare; postgres ≥ 0.8 of redb",
        ),
        (
            "auth_sf64",
            "`customer(customerAccessToken:)` (storefront), 64 conn",
            "≥ 0.75 of bare; postgres ≥ 0.8 of redb",
        ),
        (
            "guest64",
            "guest `storeConfig { .. }`, no token (commerce), 64 conn",
            "(reference)",
        ),
        (
            "typename16",
            "bare `{ __typename }` (commerce), 16 conn",
            "",
        ),
        (
            "auth16",
            "Bearer `customer { email }` (commerce), 16 conn, no sweep",
            "≥ 0.75 of bare",
        ),
        (
            "mp16",
            "Multipass sign-ins, 16 conn, each a durable write",
            "≥ 10,000 /s, ≤ 80 µs (redb)",
        ),
        (
            "flood",
            "password sign-ins, 256-connection flood, 64 accounts",
            "argon2-bound",
        ),
        (
            "mp256",
            "Multipass sign-ins, 256 conn, each a durable write",
            "≥ 10,000 /s (redb)",
        ),
        (
            "sweep",
            "Bearer `customer { email }`, 16 conn, while the sweeper purges",
            "p99 ≤ 5 ms (redb only)",
        ),
    ];
    for (key, measure, target) in rows {
        let a = redb.and_then(|r| r.phase(key));
        let b = pg.and_then(|r| r.phase(key));
        let ratio = match (a, b) {
            (Some(a), Some(b)) => format!(
                "{:.2}, {:.2}",
                b.rps() / a.rps().max(1e-9),
                b.cpu_us() / a.cpu_us().max(1e-9)
            ),
            _ => "—".into(),
        };
        s += &format!(
            "| {measure} | {} | {} | {ratio} | {target} |\n",
            phase_cell(a),
            phase_cell(b)
        );
    }

    // Figures derived per backend.
    let per = |f: &dyn Fn(&Run) -> Option<String>| -> (String, String) {
        (
            redb.and_then(f).unwrap_or_else(|| "—".into()),
            pg.and_then(f).unwrap_or_else(|| "—".into()),
        )
    };
    let ratio_of = |num: &'static str, den: &'static str| {
        move |r: &Run| {
            let (a, b) = (r.phase(num)?, r.phase(den)?);
            Some(format!("**{:.2}**", a.rps() / b.rps().max(1e-9)))
        }
    };
    let mut derived: Vec<(String, (String, String), &str)> = vec![
        (
            "Bearer ÷ bare `{ __typename }` throughput (commerce, 64 conn)".into(),
            per(&ratio_of("auth64", "typename64")),
            "≥ 0.75",
        ),
        (
            "the same, storefront, 64 conn".into(),
            per(&ratio_of("auth_sf64", "typename_sf64")),
            "≥ 0.75",
        ),
        (
            "the same, commerce, 16 conn".into(),
            per(&ratio_of("auth16", "typename16")),
            "≥ 0.75",
        ),
    ];
    derived.push((
        "one argon2id verify (19 MiB, t=2, p=1), in-process, before the servers start".to_string(),
        {
            let v = format!(
                "alone {:.2} ms ({:.2} ms CPU) → {cpus} workers ÷ verify = {:.1} /s; {cpus} at once {:.2} ms each ({:.2} ms CPU) → {:.1} /s",
                verify * 1000.0,
                alone.cpu * 1000.0,
                limit,
                verify_parallel * 1000.0,
                at_once.cpu * 1000.0,
                limit_parallel
            );
            (v.clone(), v)
        },
        "",
    ));
    derived.push((
        "password sign-ins in the flood, of the argon2 limit".into(),
        per(&|r: &Run| {
            let f = r.phase("flood")?;
            Some(format!(
                "{:.1} /s = **{:.2}** ({:.2} of the {cpus}-at-once limit), {} fast \"busy\" refusals",
                f.rps(),
                f.rps() / limit,
                f.rps() / limit_parallel,
                f.other
            ))
        }),
        "≥ 0.9",
    ));
    derived.push((
        "password sign-in: server CPU beyond the argon2 verify".into(),
        per(&|r: &Run| {
            let f = r.phase("flood")?;
            let ok = f.ok.max(1) as f64;
            Some(format!(
                "{:.0} µs CPU per sign-in − {:.0} µs on the hash workers' threads = **{:.0} µs** (the in-process verify above: {:.0} µs alone, {:.0} µs {cpus} at once)",
                f.cpu_us(),
                f.argon2_cpu * 1e6 / ok,
                (f.cpu - f.argon2_cpu) * 1e6 / ok,
                alone.cpu * 1e6,
                at_once.cpu * 1e6,
            ))
        }),
        "≤ 100 µs",
    ));
    derived.push((
        "`/healthz` right after the flood".into(),
        per(&|r: &Run| {
            (r.health.0 != 0).then(|| format!("HTTP {} in {:.1} ms", r.health.0, r.health.1))
        }),
        "answers",
    ));
    derived.push((
        "RSS idle (highest instance)".into(),
        per(&|r: &Run| Some(format!("**{:.1} MiB**", r.idle_rss as f64 / 1024.0))),
        "≤ 20 MiB",
    ));
    derived.push((
        "peak RSS (VmHWM) through the sign-in flood (highest instance)".into(),
        per(&|r: &Run| {
            r.phase("flood")?;
            Some(format!(
                "**{:.1} MiB** (before the flood {:.1} MiB)",
                r.peak_flood as f64 / 1024.0,
                r.peak_before_flood as f64 / 1024.0
            ))
        }),
        "≤ 64 MiB",
    ));
    derived.push((
        format!(
            "expired tokens purged inside the sweep window (of {})",
            thousands(opts.sweep_rows as f64)
        ),
        per(&|r: &Run| r.purged.map(|p| thousands(p as f64))),
        "",
    ));
    s += &format!("\n| measure | redb | {pg_label} | target |\n|---|---|---|---|\n");
    for (measure, (a, b), target) in derived {
        s += &format!("| {measure} | {a} | {b} | {target} |\n");
    }

    // Against the bare reference.
    s += &format!(
        "\n**CPU per request against the bare stack** (warp + async-graphql, one in-memory customer; {CPU_CONNECTIONS} connections, median of {} rounds alternated bare, storekey, the order rotating):\n\n| request | bare | storekey on redb (÷ bare) | storekey on {pg_label} (÷ bare) + PG | goal |\n|---|---|---|---|---|\n",
        opts.rounds
    );
    for (key, measure, goal) in [
        (
            "cpu_customer",
            "Bearer `{ customer { email firstname } }` (commerce)",
            "≤ 1.15 × (redb), ≤ 1.3 × (postgres)",
        ),
        (
            "cpu_customer_sf",
            "`customer(customerAccessToken:) { email firstName }` (storefront)",
            "≤ 1.15 × (redb), ≤ 1.3 × (postgres)",
        ),
        ("cpu_typename", "`{ __typename }` (commerce)", ""),
    ] {
        let a = redb.and_then(|r| r.cpu_medians(key));
        let b = pg.and_then(|r| r.cpu_medians(key));
        let bare = a.or(b).map_or("—".into(), |m| format!("{:.1} µs", m.0));
        let cell = |m: Option<(f64, f64, Option<f64>, f64)>| {
            m.map_or("—".into(), |(bare, sk, db, rps)| {
                let db = db.map(|d| format!(" + PG {d:.1} µs")).unwrap_or_default();
                format!(
                    "{sk:.1} µs (**{:.2} ×**){db}, {}/s",
                    sk / bare.max(1e-9),
                    thousands(rps)
                )
            })
        };
        s += &format!(
            "| {measure} | {bare} | {} | {} | {goal} |\n",
            cell(a),
            cell(b)
        );
    }
    let mp = |r: &Run| {
        r.phase("mp16").map(|p| {
            let db = p
                .db_us()
                .map(|d| format!(" + PG {d:.0} µs"))
                .unwrap_or_default();
            format!("**{:.0} µs**{db}, **{}/s**", p.cpu_us(), thousands(p.rps()))
        })
    };
    let (a, b) = per(&mp);
    s += &format!("| durable Multipass sign-in, {MP_ORDINARY_CONNECTIONS} connections | — | {a} | {b} | ≤ 80 µs and ≥ 10,000/s (redb) |\n");
    if let Some(r) = redb.filter(|r| !r.before_rounds.is_empty()) {
        s += &before_after(r, opts);
    }

    // The database's own ceiling.
    if let Some(run) = pg {
        if let Some(bench) = &run.pgbench {
            let fmt = |v: Option<(f64, f64)>| {
                v.map_or("—".into(), |(tps, us)| {
                    format!("{} tps, PG {us:.0} µs CPU per transaction", thousands(tps))
                })
            };
            s += &format!(
                "\n**PostgreSQL's own ceiling** (pgbench on the same cluster, {} clients, fsync and synchronous_commit on):\n\n| measure | figure | goal |\n|---|---|---|\n| pgbench select-only (`-S`) | {} | ceiling |\n| pgbench, one single-row INSERT per transaction | {} | ceiling |\n",
                bench.clients,
                fmt(bench.select_only),
                fmt(bench.insert)
            );
            let goal_ratio = |num: Option<&Phase>, den: Option<&Phase>| match (num, den) {
                (Some(n), Some(d)) => format!("**{:.2}**", n.rps() / d.rps().max(1e-9)),
                _ => "—".into(),
            };
            s += &format!(
                "| authenticated query, postgres ÷ redb (commerce / storefront, 64 conn) | {} / {} | ≥ 0.8 |\n",
                goal_ratio(run.phase("auth64"), redb.and_then(|r| r.phase("auth64"))),
                goal_ratio(run.phase("auth_sf64"), redb.and_then(|r| r.phase("auth_sf64")))
            );
            let mp_vs_insert = match (run.phase("mp256"), bench.insert) {
                (Some(p), Some((tps, _))) => format!(
                    "{}/s ÷ {} tps = **{:.2}**",
                    thousands(p.rps()),
                    thousands(tps),
                    p.rps() / tps.max(1e-9)
                ),
                _ => "—".into(),
            };
            s += &format!("| durable Multipass ({MP_CONNECTIONS} conn) ÷ pgbench insert rate | {mp_vs_insert} | ≥ 0.5 |\n");
            let sel = match (run.phase("auth64"), bench.select_only) {
                (Some(p), Some((tps, _))) => format!("**{:.2}**", p.rps() / tps.max(1e-9)),
                _ => "—".into(),
            };
            s += &format!("| authenticated query (64 conn) ÷ pgbench select-only rate | {sel} | (reference) |\n");
        }
    }
    s
}
