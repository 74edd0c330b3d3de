//! The OpenID Connect provider benchmark (issue 25): `cargo bench --bench oidc` builds in release
//! mode, starts the real binary on loopback against a temp redb file and npm `oidc-provider`
//! (panva's OpenID-certified provider, `benches/oidc-provider/server.mjs`) under node beside it,
//! and drives both with the same keep-alive HTTP client at 64 connections:
//!
//! - `token:code`: each request redeems a distinct authorization code minted before the phase
//!   (storekey's through its real `/oauth/authorize` with a signed-in browser session,
//!   oidc-provider's in its own process, as its authorization endpoint would after a sign-in);
//!   the answer carries an access token, a refresh token and an RS256 ID token.
//! - `token:refresh`: each connection refreshes its own chain (every answer's refresh token is
//!   the next request's; both providers rotate on every use), 64 chains, one grant each.
//! - `userinfo`: one access token, GET with Bearer.
//! - `discovery` and `jwks`: GET.
//!
//! For each: requests per second, p50/p99 latency, and the server's CPU per request (utime +
//! stime of the server process from `/proc/<pid>/stat`, divided by the successful requests).
//! The participants alternate round by round (`--rounds N`), each round starting with the next,
//! so neither always goes first; the report gives medians over the rounds and the ratios
//! storekey ÷ oidc-provider, marked against issue 25's goals (≥ 5× the rate, ≤ 1/5 of the CPU
//! per request, p99 ≤ 50 ms).
//!
//! Options (after `--`): `--seconds N` per phase (default 8), `--rounds N` (default 3),
//! `--only TEXT` (run only the phases whose name contains TEXT), `--connections N` (default 64).
//! The report goes to stdout and `target/oidc-bench-report.md`.

use base64::Engine as _;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use storekey::auth::oidc::authorize::{escape, url_pairs};

#[path = "common/mod.rs"]
#[allow(dead_code)] // the GraphQL helpers serve the other benches
mod common;

use common::{admin_post, arg, arg_str, Server};

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "B3nch-passw0rd";
const REDIRECT_URI: &str = "https://shop.example/account/callback";
const SCOPE: &str = "openid email profile";
/// Issue 25's goals.
const RATE_GOAL: f64 = 5.0;
const CPU_GOAL: f64 = 0.2;
const P99_GOAL_MS: f64 = 50.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Storekey,
    OidcProvider,
}

impl Who {
    fn label(self) -> &'static str {
        match self {
            Who::Storekey => "storekey",
            Who::OidcProvider => "oidc-provider",
        }
    }
}

/// One provider under test: where its endpoints are and how its codes are minted.
struct Target {
    who: Who,
    server: Server,
    token_url: String,
    userinfo_url: String,
    discovery_url: String,
    jwks_url: String,
    /// `Basic …` for the client.
    basic: String,
    /// storekey: the browser session's cookie header for `/oauth/authorize`.
    cookie: String,
    /// The refresh chains, one per connection, carried from round to round.
    chains: Vec<String>,
    /// One access token for userinfo.
    access_token: String,
}

#[derive(Default, Clone)]
struct Phase {
    ok: u64,
    other: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Server CPU, seconds.
    cpu: f64,
    /// Of `cpu`, by thread name (a pool's threads as one), seconds.
    threads: std::collections::BTreeMap<String, f64>,
}

impl Phase {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds.max(1e-9)
    }
    fn cpu_us(&self) -> f64 {
        self.cpu * 1e6 / self.ok.max(1) as f64
    }
}

/// What a phase sends.
#[derive(Clone)]
enum Kind {
    /// POST the token endpoint, one code each; the phase ends early when they run out.
    Code(Arc<Vec<String>>),
    /// POST the token endpoint, each connection on its own refresh chain.
    Refresh,
    /// GET, with this bearer token if any; a success's body contains `expect`.
    Get {
        url: String,
        bearer: Option<String>,
        expect: &'static str,
    },
}

const PHASES: [&str; 5] = [
    "token:code",
    "token:refresh",
    "userinfo",
    "discovery",
    "jwks",
];

fn only() -> Option<String> {
    arg_str("--only")
}

fn selected(name: &str) -> bool {
    only().is_none_or(|o| name.contains(o.as_str()))
}

fn form_escape(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Drives `target` with `connections` keep-alive connections for `seconds` (less when a code
/// pool runs out). Refresh chains advance in `target.chains`.
async fn drive(target: &mut Target, kind: Kind, connections: usize, seconds: f64) -> Phase {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let redirect = form_escape(REDIRECT_URI);
    let chains = Arc::new(Mutex::new(std::mem::take(&mut target.chains)));
    let ticks = common::clock_ticks();
    let pid = target.server.pid();
    let cpu0 = common::cpu_ticks(pid);
    let threads0 = common::ticks_by_thread_name(pid);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..connections {
        let (client, stop, counter, kind, chains) = (
            client.clone(),
            stop.clone(),
            counter.clone(),
            kind.clone(),
            chains.clone(),
        );
        let (token_url, basic, redirect) = (
            target.token_url.clone(),
            target.basic.clone(),
            redirect.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut chain = match kind {
                Kind::Refresh => chains.lock().unwrap().get(i).cloned(),
                _ => None,
            };
            let mut lat = Vec::new();
            let (mut ok, mut other) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let (req, expect) = match &kind {
                    Kind::Code(codes) => {
                        let n = counter.fetch_add(1, Ordering::Relaxed) as usize;
                        let Some(code) = codes.get(n) else {
                            stop.store(true, Ordering::Relaxed);
                            break;
                        };
                        let body = format!(
                            "grant_type=authorization_code&code={code}&redirect_uri={redirect}"
                        );
                        (
                            token_post(&client, &token_url, &basic, body),
                            "\"id_token\"",
                        )
                    }
                    Kind::Refresh => {
                        let Some(token) = &chain else { break };
                        let body = format!("grant_type=refresh_token&refresh_token={token}");
                        (
                            token_post(&client, &token_url, &basic, body),
                            "\"id_token\"",
                        )
                    }
                    Kind::Get {
                        url,
                        bearer,
                        expect,
                    } => {
                        let mut req = client.get(url);
                        if let Some(b) = bearer {
                            req = req.header("authorization", format!("Bearer {b}"));
                        }
                        (req, *expect)
                    }
                };
                let t = Instant::now();
                let Ok(resp) = req.send().await else {
                    other += 1;
                    continue;
                };
                let status = resp.status().as_u16();
                let Ok(body) = resp.bytes().await else {
                    other += 1;
                    continue;
                };
                let elapsed = t.elapsed().as_secs_f64() * 1000.0;
                let found = body.windows(expect.len()).any(|w| w == expect.as_bytes());
                if status != 200 || !found {
                    other += 1;
                    if other == 1 {
                        eprintln!(
                            "    a refusal: {status} {}",
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        );
                    }
                    continue;
                }
                if matches!(kind, Kind::Refresh) {
                    let next = serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|v| v["refresh_token"].as_str().map(str::to_string));
                    if next.is_none() {
                        other += 1;
                        break;
                    }
                    chain = next;
                }
                ok += 1;
                lat.push(elapsed);
            }
            if let Some(token) = chain {
                chains.lock().unwrap()[i] = token;
            }
            (ok, other, lat)
        }));
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs_f64(seconds);
    while tokio::time::Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut phase = Phase::default();
    let mut all = Vec::new();
    for t in tasks {
        let (ok, other, lat) = t.await.unwrap();
        phase.ok += ok;
        phase.other += other;
        all.extend(lat);
    }
    phase.seconds = started.elapsed().as_secs_f64();
    phase.cpu = (common::cpu_ticks(pid) - cpu0) as f64 / ticks;
    phase.threads = common::ticks_by_thread_name(pid)
        .into_iter()
        .map(|(name, t)| {
            let before = threads0.get(&name).copied().unwrap_or(0);
            (name, t.saturating_sub(before) as f64 / ticks)
        })
        .filter(|(_, s)| *s > 0.0)
        .collect();
    target.chains = std::mem::take(&mut *chains.lock().unwrap());
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
    phase
}

fn token_post(
    client: &reqwest::Client,
    url: &str,
    basic: &str,
    body: String,
) -> reqwest::RequestBuilder {
    client
        .post(url)
        .header("authorization", basic)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

/// `n` fresh authorization codes from `target`, minted `connections` at a time.
async fn mint_codes(target: &Target, n: usize, connections: usize) -> Vec<String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    match target.who {
        Who::OidcProvider => {
            let mut codes = Vec::with_capacity(n);
            while codes.len() < n {
                let batch = (n - codes.len()).min(5000);
                let got: Vec<String> = http
                    .post(format!(
                        "http://{}/__bench/mint?n={batch}",
                        target.server.addr
                    ))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .expect("oidc-provider's mint endpoint answers a JSON list");
                codes.extend(got);
            }
            codes
        }
        Who::Storekey => {
            let url = authorize_url(&target.server.addr, &credentials(target).0);
            let counter = Arc::new(AtomicU64::new(0));
            let mut tasks = Vec::new();
            for _ in 0..connections {
                let (http, url, cookie, counter) = (
                    http.clone(),
                    url.clone(),
                    target.cookie.clone(),
                    counter.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut codes = Vec::new();
                    while (counter.fetch_add(1, Ordering::Relaxed) as usize) < n {
                        let resp = http
                            .get(&url)
                            .header("cookie", &cookie)
                            .send()
                            .await
                            .unwrap();
                        let to = location(&resp);
                        let code = query_param(&to, "code")
                            .unwrap_or_else(|| panic!("no code in {to} ({})", resp.status()));
                        codes.push(code);
                    }
                    codes
                }));
            }
            let mut codes = Vec::with_capacity(n);
            for t in tasks {
                codes.extend(t.await.unwrap());
            }
            codes
        }
    }
}

impl Target {
    /// Redeems one code: the token response.
    async fn exchange(&self, code: &str) -> Value {
        let resp = reqwest::Client::new()
            .post(&self.token_url)
            .header("authorization", &self.basic)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                form_escape(REDIRECT_URI)
            ))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "{} refused a code: {body}", self.who.label());
        body
    }

    /// The refresh chains (one per connection) and the userinfo access token.
    async fn seed(&mut self, connections: usize) {
        let codes = mint_codes(self, connections + 1, 8).await;
        let first = self.exchange(&codes[0]).await;
        self.access_token = first["access_token"].as_str().unwrap().to_string();
        for code in &codes[1..] {
            let t = self.exchange(code).await;
            self.chains
                .push(t["refresh_token"].as_str().unwrap().to_string());
        }
    }
}

fn authorize_url(addr: &str, client_id: &str) -> String {
    format!(
        "http://{addr}/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope={}&state=st-1&nonce=n-1",
        escape(REDIRECT_URI),
        escape(SCOPE)
    )
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url_pairs(query)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// A browser's cookies, kept by hand.
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn keep(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all("set-cookie") {
            let Some(pair) = v.to_str().ok().and_then(|t| t.split(';').next()) else {
                continue;
            };
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.0.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.0.push((name.into(), value.into()));
            }
        }
    }
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// storekey on a temp redb file with one customer and one first-party confidential client,
/// signed in once through the hosted page: the target with its browser session.
async fn start_storekey(dir: &Path) -> Target {
    let key_file = dir.join("oidc.kek").display().to_string();
    let server = Server::start(
        dir,
        &[
            ("STOREKEY_OIDC_CODE_SECONDS", "600"),
            ("STOREKEY_OIDC_KEY_FILE", &key_file),
            ("STOREKEY_OIDC_KEY_PUBLISH_MINUTES", "0"),
        ],
    );
    let addr = server.addr.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    admin_post(
        &http,
        &addr,
        "/rest/V1/customers",
        json!({"customer": {"email": EMAIL, "firstname": "Bench", "lastname": "Mark"}, "password": PASSWORD}),
    )
    .await;
    let client = admin_post(
        &http,
        &addr,
        "/rest/V1/oidc/clients",
        json!({"name": "Bench shop", "redirect_uris": [REDIRECT_URI], "first_party": true}),
    )
    .await;
    let client_id = client["client_id"]
        .as_str()
        .expect("a client_id")
        .to_string();
    let secret = client["client_secret"]
        .as_str()
        .expect("a client_secret")
        .to_string();

    // The one sign-in: authorize → the hosted page → back to authorize with a session.
    let mut jar = Jar::default();
    let base = format!("http://{addr}");
    let resp = http
        .get(authorize_url(&addr, &client_id))
        .send()
        .await
        .unwrap();
    jar.keep(&resp);
    let to_sign_in = location(&resp);
    assert!(
        to_sign_in.starts_with("/account/sign-in"),
        "authorize led to {to_sign_in:?}"
    );
    let page = http
        .get(format!("{base}{to_sign_in}"))
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    jar.keep(&page);
    let html = page.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    let csrf = html[at..].split('"').next().unwrap().to_string();
    let return_to = query_param(&to_sign_in, "return_to").unwrap();
    let resp = http
        .post(format!("{base}/account/sign-in"))
        .header("cookie", jar.header())
        .form(&[
            ("csrf", csrf.as_str()),
            ("return_to", &return_to),
            ("email", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "the sign-in was refused");
    jar.keep(&resp);
    let discovery: Value = http
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    target_from(
        Who::Storekey,
        server,
        &discovery,
        &client_id,
        &secret,
        jar.header(),
    )
}

fn target_from(
    who: Who,
    server: Server,
    discovery: &Value,
    client_id: &str,
    secret: &str,
    cookie: String,
) -> Target {
    let url = |k: &str| {
        discovery[k]
            .as_str()
            .unwrap_or_else(|| panic!("{} lists no {k}", who.label()))
            .to_string()
    };
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            form_escape(client_id),
            form_escape(secret)
        ))
    );
    Target {
        who,
        token_url: url("token_endpoint"),
        userinfo_url: url("userinfo_endpoint"),
        jwks_url: url("jwks_uri"),
        discovery_url: format!("{}/.well-known/openid-configuration", url("issuer")),
        server,
        basic,
        cookie,
        chains: Vec::new(),
        access_token: String::new(),
    }
}

/// oidc-provider under node with the same client; `npm ci` first when its modules are missing.
async fn start_oidc_provider(client_id: &str, secret: &str) -> Target {
    let project = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/oidc-provider");
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node_ok {
        eprintln!(
            "the oidc benchmark runs npm oidc-provider beside storekey and needs node (≥ 20) and npm on the PATH (Debian: apt-get install nodejs npm)"
        );
        std::process::exit(2);
    }
    if !project.join("node_modules/oidc-provider").exists() {
        eprintln!("npm ci in {}", project.display());
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&project)
            .status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!(
                "`npm ci` failed in {} (is npm installed and the registry reachable?)",
                project.display()
            );
            std::process::exit(2);
        }
    }
    let mut cmd = Command::new("node");
    cmd.arg("server.mjs")
        .current_dir(&project)
        .env("BENCH_CLIENT_ID", client_id)
        .env("BENCH_CLIENT_SECRET", secret)
        .env("BENCH_REDIRECT_URI", REDIRECT_URI)
        .env("BENCH_EMAIL", EMAIL)
        .env("NODE_ENV", "production");
    let server = Server::start_command(cmd, "oidc-provider listening on http://");
    let discovery: Value = reqwest::get(format!(
        "http://{}/.well-known/openid-configuration",
        server.addr
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    target_from(
        Who::OidcProvider,
        server,
        &discovery,
        client_id,
        secret,
        String::new(),
    )
}

/// The basic auth of a target: (client_id, secret).
fn credentials(t: &Target) -> (String, String) {
    let raw = t.basic.strip_prefix("Basic ").unwrap_or_default();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&decoded).to_string();
    let (id, secret) = text.split_once(':').unwrap_or_default();
    (id.to_string(), secret.to_string())
}

/// One participant's turn in a round: every selected phase. `pool` is the codes to mint for
/// `token:code`.
async fn turn(
    t: &mut Target,
    connections: usize,
    seconds: f64,
    pool: usize,
    round: usize,
) -> Vec<(&'static str, Phase)> {
    let mut out = Vec::new();
    for name in PHASES {
        if !selected(name) {
            continue;
        }
        let kind = match name {
            "token:code" => {
                let t0 = Instant::now();
                let codes = mint_codes(t, pool, connections).await;
                eprintln!(
                    "    {} codes minted by {} in {:.1} s",
                    codes.len(),
                    t.who.label(),
                    t0.elapsed().as_secs_f64()
                );
                // Let the minting's writes settle before the clock starts.
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                Kind::Code(Arc::new(codes))
            }
            "token:refresh" => Kind::Refresh,
            "userinfo" => Kind::Get {
                url: t.userinfo_url.clone(),
                bearer: Some(t.access_token.clone()),
                expect: EMAIL,
            },
            "discovery" => Kind::Get {
                url: t.discovery_url.clone(),
                bearer: None,
                expect: "\"token_endpoint\"",
            },
            _ => Kind::Get {
                url: t.jwks_url.clone(),
                bearer: None,
                expect: "\"keys\"",
            },
        };
        let p = drive(t, kind, connections, seconds).await;
        if round > 0 {
            eprintln!(
                "  {:<14} {:<14} round {round}: {:>8.0} ok/s  p50 {:>7.2} ms  p99 {:>7.2} ms  {:>8.1} µs CPU  ({} ok, {} other, {:.1} s)",
                name,
                t.who.label(),
                p.rps(),
                p.p50_ms,
                p.p99_ms,
                p.cpu_us(),
                p.ok,
                p.other,
                p.seconds
            );
        }
        out.push((name, p));
    }
    out
}

/// This thread's CPU time so far, seconds (`/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// The CPU of one RS256 signature with AWS-LC (aws-lc-rs), as storekey signs an ID token (a
/// 2048-bit key, a 600-byte signing input), µs: the median of 5 batches of 40, on a thread of
/// its own.
fn storekey_sign_us() -> f64 {
    std::thread::spawn(|| {
        use rsa::pkcs8::EncodePrivateKey;
        let private = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
        let der = private.to_pkcs8_der().unwrap();
        let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(der.as_bytes()).unwrap();
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let input = vec![b'x'; 600];
        let mut signature = vec![0u8; pair.public_modulus_len()];
        let batches = (0..5)
            .map(|_| {
                let cpu = thread_cpu_seconds();
                for _ in 0..40 {
                    pair.sign(
                        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                        &rng,
                        &input,
                        &mut signature,
                    )
                    .unwrap();
                }
                (thread_cpu_seconds() - cpu) * 1e6 / 40.0
            })
            .collect();
        median(batches)
    })
    .join()
    .unwrap()
}

/// The same in oidc-provider's process (node's `crypto.sign`, OpenSSL), µs: median of 5.
async fn node_sign_us(t: &Target) -> f64 {
    let mut v = Vec::new();
    for _ in 0..5 {
        let answer: Value = reqwest::get(format!("http://{}/__bench/sign?n=40", t.server.addr))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v.push(answer["us_per_sign"].as_f64().unwrap_or(0.0));
    }
    median(v)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    let rounds = (arg("--rounds", 3.0) as usize).max(1);
    let connections = (arg("--connections", 64.0) as usize).max(1);
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    eprintln!(
        "oidc benchmark: {cpus} CPUs, {connections} connections, {seconds} s per phase, {rounds} rounds, storekey (redb) and oidc-provider alternating"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut sk = start_storekey(dir.path()).await;
    let (client_id, secret) = credentials(&sk);
    let mut op = start_oidc_provider(&client_id, &secret).await;
    let node_version = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    sk.seed(connections).await;
    op.seed(connections).await;
    let signs = (storekey_sign_us(), node_sign_us(&op).await);
    eprintln!(
        "  one RS256 signature: AWS-LC (storekey) {:.0} µs, node (OpenSSL) {:.0} µs of CPU",
        signs.0, signs.1
    );

    // Warm-up (not reported): a short turn each, so node's JIT and both servers' caches start
    // warm.
    eprintln!("  warm-up");
    turn(&mut sk, connections, 1.0, 2000, 0).await;
    turn(&mut op, connections, 1.0, 2000, 0).await;

    // results[who][phase] = one Phase per round.
    let mut results: Vec<(Who, &'static str, Phase)> = Vec::new();
    let mut pools = [seconds * 4000.0, seconds * 2000.0];
    for round in 1..=rounds {
        let mut order = [Who::Storekey, Who::OidcProvider];
        order.rotate_left((round - 1) % 2);
        for who in order {
            let (t, slot) = match who {
                Who::Storekey => (&mut sk, 0),
                Who::OidcProvider => (&mut op, 1),
            };
            let phases = turn(t, connections, seconds, pools[slot] as usize, round).await;
            for (name, p) in phases {
                if name == "token:code" {
                    // The next round's pool: this round's rate with a margin, so the phase
                    // runs its full time without minting far more than it redeems.
                    pools[slot] = (p.rps() * seconds * 1.3 + 1000.0).max(pools[slot] * 0.5);
                }
                results.push((who, name, p));
            }
        }
    }
    let report = report(
        &results,
        signs,
        seconds,
        rounds,
        connections,
        cpus,
        &node_version,
    );
    println!("\n{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/oidc-bench-report.md");
    let _ = std::fs::write(&out, &report);
    eprintln!("report written to {}", out.display());
    sk.server.stop();
    op.server.stop();
}

fn report(
    results: &[(Who, &'static str, Phase)],
    signs: (f64, f64),
    seconds: f64,
    rounds: usize,
    connections: usize,
    cpus: usize,
    node: &str,
) -> String {
    let med = |who: Who, name: &str, f: fn(&Phase) -> f64| {
        median(
            results
                .iter()
                .filter(|(w, n, p)| *w == who && *n == name && p.ok > 0)
                .map(|(_, _, p)| f(p))
                .collect(),
        )
    };
    let mut s = format!(
        "{cpus} CPUs, {connections} keep-alive connections, {seconds} s per phase, medians of {rounds} rounds (storekey and oidc-provider alternating, each round starting with the other); node {node}. CPU = the server process's utime + stime per successful request (`/proc/<pid>/stat`).\n\n\
         | phase | storekey req/s | p50 / p99 | CPU/req | oidc-provider req/s | p50 / p99 | CPU/req | rate × | CPU ÷ | goals (≥ 5× rate, ≤ 1/5 CPU, p99 ≤ 50 ms) |\n|---|---|---|---|---|---|---|---|---|---|\n"
    );
    let mut verdicts = Vec::new();
    for name in PHASES {
        let ran = |who| {
            results
                .iter()
                .any(|(w, n, p)| *w == who && *n == name && p.ok > 0)
        };
        if !ran(Who::Storekey) && !ran(Who::OidcProvider) {
            continue;
        }
        let rps = |w| med(w, name, Phase::rps);
        let p50 = |w| med(w, name, |p| p.p50_ms);
        let p99 = |w| med(w, name, |p| p.p99_ms);
        let cpu = |w| med(w, name, Phase::cpu_us);
        let (sr, or) = (rps(Who::Storekey), rps(Who::OidcProvider));
        let (sc, oc) = (cpu(Who::Storekey), cpu(Who::OidcProvider));
        let rate = sr / or.max(1e-9);
        let cpu_ratio = sc / oc.max(1e-9);
        let goals = if matches!(name, "discovery" | "jwks") {
            format!("served from memory (p99 {:.1} ms)", p99(Who::Storekey))
        } else {
            let mark = |pass: bool| if pass { "PASS" } else { "FAIL" };
            let (a, b, c) = (
                rate >= RATE_GOAL,
                cpu_ratio <= CPU_GOAL,
                p99(Who::Storekey) <= P99_GOAL_MS,
            );
            verdicts.push((name, a, b, c));
            format!("rate {} · CPU {} · p99 {}", mark(a), mark(b), mark(c))
        };
        s += &format!(
            "| `{name}` | {} | {:.1} / {:.1} ms | {:.0} µs | {} | {:.1} / {:.1} ms | {:.0} µs | **{:.2}×** | **{:.2}** | {goals} |\n",
            thousands(sr),
            p50(Who::Storekey),
            p99(Who::Storekey),
            sc,
            thousands(or),
            p50(Who::OidcProvider),
            p99(Who::OidcProvider),
            oc,
            rate,
            cpu_ratio,
        );
    }
    s += "\nEvery round:\n\n| phase | who | round | req/s | p50 / p99 | CPU/req | ok | refused or failed | seconds |\n|---|---|---|---|---|---|---|---|---|\n";
    let mut per_round: Vec<_> = results.iter().collect();
    per_round.sort_by_key(|(w, n, _)| {
        (
            PHASES.iter().position(|p| p == n),
            matches!(w, Who::OidcProvider),
        )
    });
    let mut counts = std::collections::HashMap::new();
    for (who, name, p) in per_round {
        let round = counts.entry((*who as u8, *name)).or_insert(0);
        *round += 1;
        s += &format!(
            "| `{name}` | {} | {round} | {} | {:.1} / {:.1} ms | {:.0} µs | {} | {} | {:.1} |\n",
            who.label(),
            thousands(p.rps()),
            p.p50_ms,
            p.p99_ms,
            p.cpu_us(),
            p.ok,
            p.other,
            p.seconds
        );
    }
    s += "\nWhere each server's CPU went, by thread (`/proc/<pid>/task/*/stat`, all rounds, a pool's threads as one; share of the process's CPU and cores busy on average):\n\n| phase | who | threads |\n|---|---|---|\n";
    for name in PHASES {
        for who in [Who::Storekey, Who::OidcProvider] {
            let mut sum = std::collections::BTreeMap::<String, f64>::new();
            let (mut cpu, mut wall) = (0.0, 0.0);
            for (_, _, p) in results.iter().filter(|(w, n, _)| *w == who && *n == name) {
                for (t, v) in &p.threads {
                    *sum.entry(t.clone()).or_default() += v;
                }
                cpu += p.cpu;
                wall += p.seconds;
            }
            if cpu <= 0.0 {
                continue;
            }
            let mut v: Vec<_> = sum.into_iter().collect();
            v.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap());
            let cells: Vec<String> = v
                .iter()
                .take(4)
                .map(|(t, c)| format!("{t} {:.0} % ({:.2} cores)", c / cpu * 100.0, c / wall))
                .collect();
            s += &format!(
                "| `{name}` | {} | {:.2} cores in all: {} |\n",
                who.label(),
                cpu / wall,
                cells.join(", ")
            );
        }
    }
    s += &format!(
        "\nEvery token response carries an RS256 ID token: one 2048-bit RSA signature, measured alone in each process on this machine: AWS-LC (storekey) {:.0} µs, node's OpenSSL (oidc-provider) {:.0} µs of CPU. That is a floor under each provider's CPU per token request.\n",
        signs.0, signs.1
    );
    let failed: Vec<String> = verdicts
        .iter()
        .flat_map(|(n, a, b, c)| {
            [(a, "rate"), (b, "CPU per request"), (c, "p99")]
                .into_iter()
                .filter(|(pass, _)| !**pass)
                .map(move |(_, what)| format!("`{n}` {what}"))
        })
        .collect();
    s += &if verdicts.is_empty() {
        String::new()
    } else if failed.is_empty() {
        "\nIssue 25's goals are met on every phase run.\n".to_string()
    } else {
        format!("\nMissed: {}.\n", failed.join(", "))
    };
    s
}
