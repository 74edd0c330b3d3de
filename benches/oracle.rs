//! The account-oracle probe (`cargo bench --bench oracle`): can an anonymous client tell, from
//! how long an answer takes, whether an email has an account? Builds in release mode, starts the
//! real binary with the shipped argon2 cost, and times requests for known and unknown emails
//! one at a time, interleaved in a shuffled order with a pause between requests, so both see
//! the same machine. For each pair it reports medians,
//! p10/p90 and the AUC: the chance that a random "known" answer took longer than a random
//! "unknown" one (0.5 = indistinguishable, 1.0 = the slower one always tells).
//!
//! Options (after `--`): `--samples N` per category (default 150).

#[path = "common/mod.rs"]
mod common;

use common::{admin_post, arg, gql, Server};
use serde_json::json;
use std::time::{Duration, Instant};

async fn timed(http: &reqwest::Client, url: &str, body: bytes::Bytes) -> Duration {
    let started = Instant::now();
    let resp = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let _ = resp.bytes().await.unwrap();
    started.elapsed()
}

fn ms(d: &[Duration], q: f64) -> f64 {
    d[((d.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0
}

/// P(a random `known` sample is slower than a random `unknown` one), ties counting half.
fn auc(known: &[Duration], unknown: &[Duration]) -> f64 {
    let mut wins = 0.0;
    for k in known {
        for u in unknown {
            wins += match k.cmp(u) {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            };
        }
    }
    wins / (known.len() * unknown.len()) as f64
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let samples = arg("--samples", 150.0) as usize;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("STOREKEY_LOCKOUT_MAX_FAILURES", "3"),
            ("STOREKEY_RESET_MAX_REQUESTS_PER_HOUR", "0"),
            ("STOREKEY_RESET_MIN_MINUTES_BETWEEN", "0"),
        ],
    );
    let addr = server.addr.clone();
    let url = format!("http://{addr}/graphql");
    let http = reqwest::Client::new();
    eprintln!("creating {samples} accounts (one wrong guess each, so none locks) and one locked");
    for i in 0..samples {
        admin_post(
            &http,
            &addr,
            "/rest/V1/customers",
            json!({"customer": {"email": format!("known{i}@example.com"), "firstname": "K", "lastname": "N"}, "password": "Kn0wn-passw0rd"}),
        )
        .await;
    }
    admin_post(
        &http,
        &addr,
        "/rest/V1/customers",
        json!({"customer": {"email": "locked@example.com", "firstname": "L", "lastname": "K"}, "password": "Kn0wn-passw0rd"}),
    )
    .await;
    let sign_in = |email: String| {
        gql(
            "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e,password:$p){ token } }",
            json!({"e": email, "p": "wrong-passw0rd"}),
        )
    };
    for _ in 0..3 {
        timed(&http, &url, sign_in("locked@example.com".into())).await;
    }
    let reset = |email: String| {
        gql(
            "mutation($e:String!){ requestPasswordResetEmail(email:$e) }",
            json!({ "e": email }),
        )
    };
    let confirm = |email: String| {
        gql(
            "mutation($e:String!,$k:String!){ confirmEmail(input:{email:$e, confirmation_key:$k}){ customer { email } } }",
            json!({"e": email, "k": "0".repeat(32)}),
        )
    };
    // Warm-up: the first requests pay for connections and caches.
    for i in 0..10 {
        timed(&http, &url, reset(format!("warm{i}@example.com"))).await;
    }

    // Each round sends the eight requests in a shuffled order with a pause after each, so
    // background work (a known email's reset mail) cannot land on the next measurement and the
    // position in the round favours no category.
    let mut t: [Vec<Duration>; 8] = Default::default();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..samples {
        let known = format!("known{i}@example.com");
        let unknown = format!("nobody{i}@example.com");
        let mut order: Vec<usize> = (0..8).collect();
        for j in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(j, (seed % (j as u64 + 1)) as usize);
        }
        for k in order {
            let body = match k {
                0 => sign_in(known.clone()),
                1 => sign_in(unknown.clone()),
                2 => sign_in("locked@example.com".into()),
                3 => reset(known.clone()),
                4 => reset(unknown.clone()),
                5 => confirm(known.clone()),
                6 => confirm(unknown.clone()),
                _ => sign_in("nobody-again@example.com".into()),
            };
            t[k].push(timed(&http, &url, body).await);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    for v in t.iter_mut() {
        v.sort();
    }
    let names = [
        "generateCustomerToken, wrong password, known email",
        "generateCustomerToken, unknown email",
        "generateCustomerToken, locked account",
        "requestPasswordResetEmail, known email",
        "requestPasswordResetEmail, unknown email",
        "confirmEmail, wrong key, known email",
        "confirmEmail, unknown email",
        "generateCustomerToken, one unknown email again and again",
    ];
    let mut report = format!(
        "| request ({samples} each, one at a time, shuffled, 25 ms apart) | p10 ms | median ms | p90 ms |\n|---|---|---|---|\n"
    );
    for (name, v) in names.iter().zip(&t) {
        report += &format!(
            "| {name} | {:.2} | {:.2} | {:.2} |\n",
            ms(v, 0.1),
            ms(v, 0.5),
            ms(v, 0.9)
        );
    }
    report += &format!(
        "\nAUC known-vs-unknown (0.5 = indistinguishable): sign-in wrong password {:.2}, sign-in locked (vs one unknown email repeated) {:.2}, reset request {:.2}, confirmEmail {:.2}\n",
        auc(&t[0], &t[1]),
        auc(&t[2], &t[7]),
        auc(&t[3], &t[4]),
        auc(&t[5], &t[6]),
    );
    println!("{report}");
    let _ = std::fs::write(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/oracle-report.md"),
        &report,
    );
    server.stop();
}
