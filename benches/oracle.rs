//! The account-oracle probe (`cargo bench --bench oracle`): can an anonymous client tell, from
//! how long an answer takes, whether an email has an account? Builds in release mode, starts the
//! real binary with the shipped argon2 cost, and times requests for known and unknown emails
//! one at a time, interleaved, so both see the same machine. For each pair it reports medians,
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

    let mut t: [Vec<Duration>; 7] = Default::default();
    for i in 0..samples {
        let known = format!("known{i}@example.com");
        let unknown = format!("nobody{i}@example.com");
        t[0].push(timed(&http, &url, sign_in(known.clone())).await);
        t[1].push(timed(&http, &url, sign_in(unknown.clone())).await);
        t[2].push(timed(&http, &url, sign_in("locked@example.com".into())).await);
        t[3].push(timed(&http, &url, reset(known.clone())).await);
        t[4].push(timed(&http, &url, reset(unknown.clone())).await);
        t[5].push(timed(&http, &url, confirm(known)).await);
        t[6].push(timed(&http, &url, confirm(unknown)).await);
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
    ];
    let mut report = format!(
        "| request ({samples} each, one at a time, interleaved) | p10 ms | median ms | p90 ms |\n|---|---|---|---|\n"
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
        "\nAUC known-vs-unknown (0.5 = indistinguishable): sign-in wrong password {:.2}, sign-in locked {:.2}, reset request {:.2}, confirmEmail {:.2}\n",
        auc(&t[0], &t[1]),
        auc(&t[2], &t[1]),
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
