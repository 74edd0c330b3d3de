//! The load benchmark: builds in release mode (`cargo bench --bench load`), starts the real
//! binary on loopback against a temp file, drives it with concurrent keep-alive HTTP clients,
//! and reports throughput ratios, p50/p99 latencies and the server's resident memory. Every
//! ratio compares two figures measured in the same run on the same machine.
//!
//! Options (after `--`): `--seconds N` per phase (default 8), `--sweep-rows N` (default 1000000),
//! `--only TEXT` (run only the phases whose name contains TEXT).

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storekey::auth::multipass::MultipassKey;

#[path = "common/mod.rs"]
mod common;

use common::{admin_post, arg, gql, Server, ADMIN};

const SECRET: &str = "bench multipass secret";
const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "B3nch-passw0rd";
/// Connections for the latency comparison (sweeper vs. control): enough to keep both cores
/// busy, few enough that latency measures the server rather than the client's own queue.
const LATENCY_CONNECTIONS: usize = 16;
/// Concurrent Multipass clients: group commit turns concurrency into larger batches per fsync.
const MP_CONNECTIONS: usize = 256;

#[derive(Default, Clone)]
struct Phase {
    name: String,
    ok: u64,
    other: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Phase {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }
}

/// Runs `connections` concurrent loops for `seconds`; `make` builds each request body and
/// headers, `check` decides whether a response counts as a success.
async fn drive<M, C>(
    name: &str,
    url: String,
    connections: usize,
    seconds: f64,
    make: M,
    check: C,
) -> Phase
where
    M: Fn(u64) -> (bytes::Bytes, Vec<(&'static str, String)>) + Send + Sync + 'static,
    C: Fn(u16, &Value) -> bool + Send + Sync + 'static,
{
    if let Some(only) = only() {
        if !name.contains(only.as_str()) {
            return Phase {
                name: name.into(),
                seconds: 1.0,
                ..Phase::default()
            };
        }
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
    let started = Instant::now();
    for _ in 0..connections {
        let (client, url, make, check, stop, counter) = (
            client.clone(),
            url.clone(),
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
    eprintln!(
        "  {:<44} {:>9.0} ok/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} ok, {} other)",
        phase.name,
        phase.rps(),
        phase.p50_ms,
        phase.p99_ms,
        phase.ok,
        phase.other
    );
    phase
}

/// One argon2id verify with the shipped parameters while `threads` run at once, timed in
/// this process (median per thread of 9 rounds). With one thread this is the textbook cost; with
/// one per CPU it includes the memory-bandwidth contention the hash pool really meets.
fn argon2_verify_seconds_parallel(threads: usize) -> f64 {
    let handles: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(|| argon2_verify_seconds_n(9)))
        .collect();
    let mut all: Vec<f64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    all.sort_by(|x, y| x.partial_cmp(y).unwrap());
    all[all.len() / 2]
}

fn argon2_verify_seconds() -> f64 {
    argon2_verify_seconds_n(15)
}

/// One argon2id verify with the shipped parameters, timed in this process (median of `n`).
fn argon2_verify_seconds_n(n: usize) -> f64 {
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
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            a.hash_password_into_with_memory(PASSWORD.as_bytes(), &salt, &mut out, &mut memory)
                .unwrap();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|x, y| x.partial_cmp(y).unwrap());
    times[n / 2]
}

/// `--only TEXT`: run just the phases whose name contains TEXT (for profiling one path).
fn only() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let seconds = arg("--seconds", 8.0);
    let sweep_rows = arg("--sweep-rows", 1_000_000.0) as u64;
    let dir = tempfile::tempdir().unwrap();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    eprintln!("storekey load benchmark: {cpus} CPUs, {seconds} s per phase");

    let server = Server::start(
        dir.path(),
        &[
            ("STOREKEY_MULTIPASS_SECRET", SECRET),
            ("STOREKEY_LOCKOUT_MAX_FAILURES", "0"),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let idle_rss = server.status_kib("VmRSS:");
    let addr = server.addr.clone();
    let http = reqwest::Client::new();
    admin_post(
        &http,
        &addr,
        "/rest/V1/customers",
        json!({"customer": {"email": EMAIL, "firstname": "Bench", "lastname": "Mark"}, "password": PASSWORD}),
    )
    .await;
    let sf = admin_post(
        &http,
        &addr,
        "/rest/V1/storefront-tokens",
        json!({"title": "bench", "scopes": ["unauthenticated_read_customers", "unauthenticated_write_customers"]}),
    )
    .await;
    let storefront_key = sf["access_token"].as_str().unwrap_or_default().to_string();
    let signin = gql(
        "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e,password:$p){ token } }",
        json!({"e": EMAIL, "p": PASSWORD}),
    );
    let token: Value = http
        .post(format!("http://{addr}/graphql"))
        .header("content-type", "application/json")
        .body(signin.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["data"]["generateCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let commerce = format!("http://{addr}/graphql");
    let storefront = format!("http://{addr}/api/2026-04/graphql.json");

    eprintln!("phases:");
    let bare = drive(
        "bare { __typename } (commerce)",
        commerce.clone(),
        64,
        seconds,
        {
            let body = gql("{ __typename }", json!({}));
            move |_| (body.clone(), vec![])
        },
        |s, v| s == 200 && v["data"]["__typename"] == "Query",
    )
    .await;
    let t = token.clone();
    let auth_commerce = drive(
        "Bearer customer { email } (commerce)",
        commerce.clone(),
        64,
        seconds,
        {
            let body = gql("{ customer { email } }", json!({}));
            move |_| (body.clone(), vec![("authorization", format!("Bearer {t}"))])
        },
        |s, v| s == 200 && v["data"]["customer"]["email"] == EMAIL,
    )
    .await;
    // A nested object without any token: separates GraphQL's own cost of resolving an object
    // from the cost of the token check.
    let guest_object = drive(
        "guest storeConfig { minimum_password_length } (commerce)",
        commerce.clone(),
        64,
        seconds,
        {
            let body = gql("{ storeConfig { minimum_password_length } }", json!({}));
            move |_| (body.clone(), vec![])
        },
        |s, v| s == 200 && v["data"]["storeConfig"]["minimum_password_length"] == "8",
    )
    .await;
    let bare16 = drive(
        "bare { __typename } (commerce, 16 conn)",
        commerce.clone(),
        LATENCY_CONNECTIONS,
        seconds,
        {
            let body = gql("{ __typename }", json!({}));
            move |_| (body.clone(), vec![])
        },
        |s, v| s == 200 && v["data"]["__typename"] == "Query",
    )
    .await;
    let t = token.clone();
    let control = drive(
        "Bearer customer { email } (16 conn, no sweep)",
        commerce.clone(),
        LATENCY_CONNECTIONS,
        seconds,
        {
            let body = gql("{ customer { email } }", json!({}));
            move |_| (body.clone(), vec![("authorization", format!("Bearer {t}"))])
        },
        |s, v| s == 200 && v["data"]["customer"]["email"] == EMAIL,
    )
    .await;
    let (k, t) = (storefront_key.clone(), token.clone());
    let bare_sf = {
        let k = k.clone();
        drive(
            "bare { __typename } (storefront)",
            storefront.clone(),
            64,
            seconds,
            {
                let body = gql("{ __typename }", json!({}));
                move |_| {
                    (
                        body.clone(),
                        vec![("x-shopify-storefront-access-token", k.clone())],
                    )
                }
            },
            |s, v| s == 200 && v["data"]["__typename"].is_string(),
        )
        .await
    };
    let auth_sf = drive(
        "customer(customerAccessToken:) (storefront)",
        storefront.clone(),
        64,
        seconds,
        {
            let body = gql(
                "query($t:String!){ customer(customerAccessToken:$t){ email } }",
                json!({"t": t}),
            );
            move |_| {
                (
                    body.clone(),
                    vec![("x-shopify-storefront-access-token", k.clone())],
                )
            }
        },
        |s, v| s == 200 && v["data"]["customer"]["email"] == EMAIL,
    )
    .await;

    let verify = argon2_verify_seconds();
    let limit = cpus as f64 / verify;
    let verify_parallel = argon2_verify_seconds_parallel(cpus);
    let limit_parallel = cpus as f64 / verify_parallel;
    let peak_before = server.status_kib("VmHWM:");
    // The flood spreads over many accounts: checks for one email take turns (at most one argon2
    // verify in flight per address), so a one-account flood would measure that rule, not the pool.
    const FLOOD_ACCOUNTS: usize = 64;
    for i in 0..FLOOD_ACCOUNTS {
        admin_post(
            &http,
            &addr,
            "/rest/V1/customers",
            json!({"customer": {"email": format!("flood{i}@example.com"), "firstname": "F", "lastname": "L"}, "password": PASSWORD}),
        )
        .await;
    }
    let flood = drive("password sign-in flood (256 connections, 64 accounts)", commerce.clone(), 256, seconds,
        {
            let bodies: Vec<bytes::Bytes> = (0..FLOOD_ACCOUNTS)
                .map(|i| gql("mutation($e:String!,$p:String!){ generateCustomerToken(email:$e,password:$p){ token } }",
                    json!({"e": format!("flood{i}@example.com"), "p": PASSWORD})))
                .collect();
            move |n| (bodies[n as usize % bodies.len()].clone(), vec![])
        },
        |s, v| s == 200 && v["data"]["generateCustomerToken"]["token"].is_string()).await;
    let peak_flood = server.status_kib("VmHWM:");
    let health = {
        let t = Instant::now();
        let ok = http
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        (ok, t.elapsed().as_secs_f64() * 1000.0)
    };

    // Fresh Multipass tokens, made before the phase so the load generator's AES and HMAC do
    // not compete with the server for the CPUs. Each is used once.
    let key = MultipassKey::new(SECRET).unwrap();
    let k2 = storefront_key.clone();
    let wanted = (seconds * 20_000.0) as usize;
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let bodies: Arc<Vec<bytes::Bytes>> = Arc::new(
        (0..wanted)
            .map(|n| {
                let payload = json!({"email": format!("mp{n}@example.com"), "created_at": now, "first_name": "M"}).to_string();
                gql("mutation($t:String!){ customerAccessTokenCreateWithMultipass(multipassToken:$t){ customerAccessToken { accessToken } customerUserErrors { code } } }",
                    json!({"t": key.encode(&payload)}))
            })
            .collect(),
    );
    let multipass = drive(
        "Multipass sign-in (each a durable write)",
        storefront.clone(),
        MP_CONNECTIONS,
        seconds,
        move |n| {
            // Past the prepared tokens a request is a replay and fails: counted as "other".
            (
                bodies[n as usize % bodies.len()].clone(),
                vec![("x-shopify-storefront-access-token", k2.clone())],
            )
        },
        |s, v| {
            s == 200
                && v["data"]["customerAccessTokenCreateWithMultipass"]["customerAccessToken"]
                    ["accessToken"]
                    .is_string()
        },
    )
    .await;
    server.stop();

    // Sweeper under load: fill the file with expired tokens offline, restart, and measure
    // authenticated queries while the sweeper purges them.
    let skip_sweep = only().is_some_and(|o| !"sweep".contains(o.as_str()));
    let (sweep_phase, purged) = if skip_sweep {
        (
            Phase {
                seconds: 1.0,
                ..Phase::default()
            },
            0,
        )
    } else {
        let store = storekey::store::RedbStore::open(&dir.path().join("bench.redb")).unwrap();
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
            dir.path(),
            &[
                ("STOREKEY_MULTIPASS_SECRET", SECRET),
                ("STOREKEY_LOCKOUT_MAX_FAILURES", "0"),
            ],
        );
        let token: Value = http
            .post(format!("http://{}/graphql", server.addr))
            .header("content-type", "application/json")
            .body(signin.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["data"]["generateCustomerToken"]["token"]
            .as_str()
            .unwrap()
            .to_string();
        let phase = drive(
            "Bearer customer { email } during 1M-row sweep (16 conn)",
            format!("http://{}/graphql", server.addr),
            LATENCY_CONNECTIONS,
            seconds.max(12.0),
            move |_| {
                (
                    gql("{ customer { email } }", json!({})),
                    vec![("authorization", format!("Bearer {token}"))],
                )
            },
            |s, v| s == 200 && v["data"]["customer"]["email"] == EMAIL,
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
        (phase, purged)
    };

    let report = format!(
        "| measure | figure | target |\n|---|---|---|\n\
| bare `{{ __typename }}` (commerce / storefront), 64 connections | {:.0} / {:.0} req/s, p50 {:.2} / {:.2} ms, p99 {:.2} / {:.2} ms | ceiling |\n\
| token-authenticated `customer` (commerce) | {:.0} req/s = **{:.2}** of bare, p50 {:.2} ms, p99 {:.2} ms | >= 0.75 |\n\
| token-authenticated `customer` (storefront) | {:.0} req/s = **{:.2}** of bare, p50 {:.2} ms, p99 {:.2} ms | >= 0.75 |\n\
| the same ratio with 16 connections (commerce) | {:.0} / {:.0} req/s = **{:.2}** | >= 0.75 |\n\
| guest nested object `storeConfig {{ .. }}`, no token (commerce), 64 conn | {:.0} req/s = {:.2} of bare | (reference) |\n\
| one argon2id verify (19 MiB, t=2, p=1), in-process | alone {:.2} ms -> {} workers / verify = **{:.1}** /s; {} at once {:.2} ms each -> {:.1} /s | |\n\
| password sign-ins, 256-connection flood | {:.1} /s = **{:.2}** of the argon2 limit ({:.2} of the {}-at-once limit), p50 {:.0} ms, p99 {:.0} ms, {} fast \"busy\" refusals | >= 0.9 |\n\
| `/healthz` right after the flood | HTTP {} in {:.1} ms | answers |\n\
| Multipass sign-ins ({} connections, each a durable write) | **{:.0} /s**, p50 {:.2} ms, p99 {:.2} ms | >= 10,000 /s |\n\
| authenticated query, {} connections, no sweep (control) | p99 {:.2} ms, p50 {:.2} ms, {:.0} req/s | |\n\
| the same while the sweeper purges {} expired rows | p99 **{:.2} ms**, p50 {:.2} ms, {:.0} req/s; {} purged in the window | <= 5 ms |\n\
| RSS idle | **{:.1} MiB** | <= 20 MiB |\n\
| peak RSS (VmHWM) through the sign-in flood | **{:.1} MiB** (before the flood {:.1} MiB) | <= 64 MiB |\n",
        bare.rps(), bare_sf.rps(), bare.p50_ms, bare_sf.p50_ms, bare.p99_ms, bare_sf.p99_ms,
        auth_commerce.rps(), auth_commerce.rps() / bare.rps().max(1.0), auth_commerce.p50_ms, auth_commerce.p99_ms,
        auth_sf.rps(), auth_sf.rps() / bare_sf.rps().max(1.0), auth_sf.p50_ms, auth_sf.p99_ms,
        control.rps(), bare16.rps(), control.rps() / bare16.rps().max(1.0),
        guest_object.rps(), guest_object.rps() / bare.rps().max(1.0),
        verify * 1000.0, cpus, limit, cpus, verify_parallel * 1000.0, limit_parallel,
        flood.rps(), flood.rps() / limit, flood.rps() / limit_parallel, cpus, flood.p50_ms, flood.p99_ms, flood.other,
        health.0, health.1,
        MP_CONNECTIONS, multipass.rps(), multipass.p50_ms, multipass.p99_ms,
        LATENCY_CONNECTIONS, control.p99_ms, control.p50_ms, control.rps(),
        sweep_rows, sweep_phase.p99_ms, sweep_phase.p50_ms, sweep_phase.rps(), purged,
        idle_rss as f64 / 1024.0,
        peak_flood as f64 / 1024.0, peak_before as f64 / 1024.0,
    );
    println!("\n{report}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-report.md");
    let _ = std::fs::write(&out, &report);
    eprintln!("report written to {}", out.display());
}
