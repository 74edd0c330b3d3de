//! Several storekey instances on one PostgreSQL database (issue 12): the promises hold across
//! instances. Each test starts three real servers on a fresh database of the test cluster
//! (skipped with one line when this machine has no PostgreSQL, unless `STOREKEY_REQUIRE_PG=1`);
//! the SIGKILL test runs one of them as the real binary, a child process.

use crate::postgres::{database, Schema, TestDatabase};
use crate::support::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use storekey::auth::storefront_tokens::{StorefrontTokenKind, SHARED_CHECK, WRITE_CUSTOMERS};
use storekey::config::Config;
use storekey::store::Backend as _;

const MULTIPASS_SECRET: &str = "multipass secret shared by every instance";

/// Three in-process servers on one fresh database, each with `tweak` applied.
async fn instances_with(
    tweak: impl Fn(&mut Config) + Clone,
) -> Option<(TestDatabase, [TestServer; 3])> {
    let db = database(Schema::Migrated).await?;
    let storage = db.storage();
    let mut servers = Vec::new();
    for _ in 0..3 {
        let storage = storage.clone();
        let tweak = tweak.clone();
        servers.push(
            TestServer::start_with(move |c| {
                c.storage = storage;
                c.multipass.secret = MULTIPASS_SECRET.into();
                tweak(c);
            })
            .await,
        );
    }
    let servers: [TestServer; 3] = servers.try_into().ok()?;
    Some((db, servers))
}

async fn three_instances() -> Option<(TestDatabase, [TestServer; 3])> {
    instances_with(|_| {}).await
}

/// Polls `done` every 20 ms until it holds; panics after `limit` (a bound far above the
/// documented one, so a slow machine does not fail the test, and a broken promise still does).
async fn eventually<F, Fut>(limit: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `q` with `variables` to the servers in turn, 18 times at once.
async fn race(
    servers: &[TestServer; 3],
    path: &str,
    header: Option<(&str, &str)>,
    q: &str,
    variables: Value,
) -> Vec<Value> {
    let tries = (0..18).map(|i| {
        let server = &servers[i % 3];
        let body = json!({ "query": q, "variables": variables });
        async move {
            let mut req = server.http.post(server.url(path)).json(&body);
            if let Some((name, value)) = header {
                req = req.header(name, value);
            }
            req.send().await.unwrap().json::<Value>().await.unwrap()
        }
    });
    futures_util::future::join_all(tries).await
}

async fn sf(s: &TestServer, token: &str, query: &str) -> u16 {
    s.http
        .post(s.url("/api/2026-04/graphql.json"))
        .header("X-Shopify-Storefront-Access-Token", token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

const REQUEST_RESET: &str = "mutation($e:String!){ requestPasswordResetEmail(email:$e) }";
const RESET_REFUSED: &str = "Cannot reset the customer's password";

/// `requestPasswordResetEmail` for `email` on `s`: true when accepted, false when refused with
/// the limit's message.
async fn reset_accepted(s: &TestServer, email: &str) -> bool {
    let (status, body) = s.gql(REQUEST_RESET, json!({ "e": email }), None).await;
    assert_eq!(status, 200, "{body}");
    if body["data"]["requestPasswordResetEmail"] == json!(true) {
        return true;
    }
    assert_eq!(first_error(&body).0, RESET_REFUSED, "{body}");
    false
}

#[tokio::test]
async fn the_per_email_reset_cap_holds_across_instances() {
    let Some((_db, s)) = instances_with(|c| {
        c.reset.max_requests_per_hour = 3;
        c.reset.min_minutes_between = 0;
    })
    .await
    else {
        return;
    };
    s[0].create_customer(BOB, BOB_PASSWORD).await;
    // Over the three instances (each alone would allow 3; the client's own budget, per
    // instance, is 3 too and stays under it here).
    let mut accepted = Vec::new();
    for i in [0, 1, 2, 0] {
        accepted.push(reset_accepted(&s[i], BOB).await);
    }
    assert_eq!(accepted, [true, true, true, false]);
    // The limit is per email whether or not it has an account: an unknown one is counted alike.
    let mut unknown = Vec::new();
    for i in [1, 2, 0, 1] {
        unknown.push(reset_accepted(&s[i], "nobody@example.com").await);
    }
    assert_eq!(unknown, accepted);
    // Another email has its own budget.
    assert!(reset_accepted(&s[2], "carol@example.com").await);
    // Three mails in all for Bob, whichever instance sent them.
    let mut mails = 0;
    for server in &s {
        mails += wait_for_mail(&server.outbox_dir(), 1).await.len();
    }
    assert_eq!(mails, 3);
}

#[tokio::test]
async fn the_minimum_gap_between_reset_requests_holds_across_instances() {
    let Some((_db, s)) = instances_with(|c| {
        c.reset.max_requests_per_hour = 100;
        c.reset.min_minutes_between = 10;
    })
    .await
    else {
        return;
    };
    s[0].create_customer(BOB, BOB_PASSWORD).await;
    assert!(reset_accepted(&s[0], BOB).await);
    assert!(!reset_accepted(&s[1], BOB).await);
    assert!(!reset_accepted(&s[2], BOB).await);
    // Ten minutes later (on every instance's clock), the next one goes through, once.
    for server in &s {
        server.clock.advance(600);
    }
    assert!(reset_accepted(&s[2], BOB).await);
    assert!(!reset_accepted(&s[0], BOB).await);
}

#[tokio::test]
async fn a_storefront_token_deleted_on_one_instance_is_refused_by_the_others_within_the_bound() {
    let Some((_db, s)) = three_instances().await else {
        return;
    };
    let (record, token) = s[0]
        .auth()
        .create_storefront_token(
            "test",
            "shop",
            vec![WRITE_CUSTOMERS.into()],
            StorefrontTokenKind::Public,
        )
        .await
        .unwrap();
    let token = token.expose().to_string();
    for server in &s {
        assert_eq!(sf(server, &token, "{ __typename }").await, 200);
    }
    assert!(s[0]
        .auth()
        .delete_storefront_token("test", record.id)
        .await
        .unwrap());
    assert_eq!(sf(&s[0], &token, "{ __typename }").await, 401);
    // The others' caches are at most SHARED_CHECK old before they read the generation again.
    for server in &s[1..] {
        eventually(SHARED_CHECK * 10, "the deleted token refused", || async {
            sf(server, &token, "{ __typename }").await == 401
        })
        .await;
    }
}

#[tokio::test]
async fn a_storefront_token_created_on_one_instance_works_on_the_others_at_once() {
    let Some((_db, s)) = three_instances().await else {
        return;
    };
    let create = |title: &str| {
        let body = json!({"title": title, "scopes": [WRITE_CUSTOMERS]});
        let a = &s[0];
        async move {
            let (status, body) = a
                .admin("POST", "/rest/V1/storefront-tokens", Some(body))
                .await;
            assert_eq!(status, 200, "{body}");
            body["access_token"].as_str().unwrap().to_string()
        }
    };
    // B and C have a fresh cache of the tokens (one used a moment ago), and have just refused
    // an unknown token.
    let old = create("old").await;
    for server in &s[1..] {
        assert_eq!(sf(server, &old, "{ __typename }").await, 200);
        assert_eq!(sf(server, "no-such-token", "{ __typename }").await, 401);
    }
    // A deploy creates a token through A and uses it through the others straight away.
    let new = create("new").await;
    for server in &s[1..] {
        assert_eq!(sf(server, &new, "{ __typename }").await, 200);
    }
    // An unknown token is still refused everywhere, however often it comes.
    for server in &s {
        for _ in 0..3 {
            assert_eq!(sf(server, "no-such-token", "{ __typename }").await, 401);
        }
    }
}

#[tokio::test]
async fn one_admin_code_signs_in_once_across_three_instances() {
    let Some((_db, s)) = three_instances().await else {
        return;
    };
    let id = s[0].admin_customer(BOB, BOB_PASSWORD, true).await;
    let code = s[1].issue_otc(id, "phone support").await;
    let q =
        "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e, password:$p) { token } }";
    let answers = race(&s, "/graphql", None, q, json!({"e": BOB, "p": code})).await;
    let winners = answers
        .iter()
        .filter(|body| body["data"]["generateCustomerToken"]["token"].is_string())
        .count();
    assert_eq!(winners, 1, "{answers:?}");
    assert_eq!(s[2].store().access_token_count().await.unwrap(), 1);
}

#[tokio::test]
async fn lockout_counts_failures_spread_over_three_instances() {
    let Some((_db, s)) = three_instances().await else {
        return;
    };
    s[0].create_customer(BOB, BOB_PASSWORD).await;
    let max = s[0].config.lockout.max_failures;
    for i in 0..max {
        let stored = s[0].auth().account_by_email(BOB).await.unwrap().unwrap();
        assert_eq!(
            (
                stored.credentials.lockout.failures,
                stored.credentials.lockout.lock_expires
            ),
            (i, None),
            "before failure {}",
            i + 1
        );
        // Distinct wrong passwords: an identical retry counts once.
        let (_, body) = s[(i % 3) as usize]
            .sign_in(BOB, &format!("wrong-{i}"))
            .await;
        assert_eq!(first_error(&body).0, GENERIC, "{body}");
    }
    let stored = s[1].auth().account_by_email(BOB).await.unwrap().unwrap();
    assert!(
        stored.credentials.lockout.lock_expires.is_some(),
        "locked at exactly {max}: {:?}",
        stored.credentials.lockout
    );
    // Locked on every instance, even with the right password.
    for server in &s {
        let (_, body) = server.sign_in(BOB, BOB_PASSWORD).await;
        assert_eq!(first_error(&body).0, GENERIC, "{body}");
    }
}

/// A counter's value on one server's `/metrics` (0 when it is not there yet).
async fn counter(s: &TestServer, name: &str) -> u64 {
    let prefix = format!("{name} ");
    s.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn thirty_wrong_passwords_at_once_over_three_instances_lock_at_exactly_max_failures() {
    // The load comes from one address: no per-IP throttle in the way.
    let Some((_db, s)) = instances_with(|c| c.throttle.login_per_ip_per_minute = 0).await else {
        return;
    };
    s[0].create_customer(BOB, BOB_PASSWORD).await;
    let max = s[0].config.lockout.max_failures;
    let minutes = i64::from(s[0].config.lockout.lock_minutes);
    let started = s[0].auth().now();
    // Thirty distinct wrong passwords, all in flight together, ten per instance.
    let tries = (0..30).map(|i| {
        let server = &s[i % 3];
        async move { server.sign_in(BOB, &format!("wrong-{i}")).await }
    });
    for (_, body) in futures_util::future::join_all(tries).await {
        assert_eq!(first_error(&body).0, GENERIC, "{body}");
    }
    let ended = s[0].auth().now();
    // Failures that arrived once the lock had engaged were refused uncounted, and did not move
    // the lock's end: it is the one the tenth failure set.
    let lockout = s[1]
        .auth()
        .account_by_email(BOB)
        .await
        .unwrap()
        .unwrap()
        .credentials
        .lockout;
    assert_eq!(lockout.failures, max, "{lockout:?}");
    let expires = lockout.lock_expires.expect("locked");
    assert!(
        (started + minutes * 60..=ended + minutes * 60).contains(&expires),
        "{lockout:?}"
    );
    // One lock, counted once over the three instances.
    let mut lockouts = 0;
    for server in &s {
        lockouts += counter(server, "storekey_lockouts_total").await;
    }
    assert_eq!(lockouts, 1);
    // Locked on every instance, even with the right password.
    for server in &s {
        let (_, body) = server.sign_in(BOB, BOB_PASSWORD).await;
        assert_eq!(first_error(&body).0, GENERIC, "{body}");
    }
}

/// `storekey_sweeper_runs` on one server.
async fn sweeper_runs(s: &TestServer) -> u64 {
    counter(s, "storekey_sweeper_runs_total").await
}

#[tokio::test]
async fn only_one_of_three_instances_sweeps() {
    let Some((_db, s)) = instances_with(|c| c.sweeper.interval_seconds = 1).await else {
        return;
    };
    // Every instance ticks each second; only the lease holder sweeps on its ticks.
    eventually(Duration::from_secs(60), "four sweeps", || async {
        let mut total = 0;
        for server in &s {
            total += sweeper_runs(server).await;
        }
        total >= 4
    })
    .await;
    let mut runs = Vec::new();
    for server in &s {
        runs.push(sweeper_runs(server).await);
    }
    assert_eq!(
        runs.iter().filter(|&&n| n > 0).count(),
        1,
        "sweeps per instance: {runs:?}"
    );
}

#[tokio::test]
async fn a_clean_stop_of_the_sweeping_instance_hands_the_sweep_on_within_one_interval() {
    let interval = Duration::from_secs(2);
    let Some((_db, mut s)) =
        instances_with(move |c| c.sweeper.interval_seconds = interval.as_secs()).await
    else {
        return;
    };
    eventually(Duration::from_secs(60), "a sweep", || async {
        let mut total = 0;
        for server in &s {
            total += sweeper_runs(server).await;
        }
        total >= 1
    })
    .await;
    let mut runs = Vec::new();
    for server in &s {
        runs.push(sweeper_runs(server).await);
    }
    let holder = runs.iter().position(|&n| n > 0).unwrap();
    // A rolling restart stops the holder cleanly (what SIGTERM does)...
    s[holder].stop().await;
    let stopped = Instant::now();
    let others: Vec<usize> = (0..3).filter(|&i| i != holder).collect();
    // ...and one of the others sweeps at its next tick, not once the lease (three intervals)
    // has run out. A second of slack for a busy machine; an unreleased lease needs at least
    // two intervals more.
    let limit = interval + Duration::from_secs(1);
    loop {
        let mut swept = false;
        for &i in &others {
            swept |= sweeper_runs(&s[i]).await > runs[i];
        }
        if swept {
            break;
        }
        assert!(
            stopped.elapsed() < limit,
            "no other instance swept within {limit:?} of the holder's stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn health_and_metrics_report_the_database_pool() {
    let Some((_db, s)) = three_instances().await else {
        return;
    };
    let a = &s[0];
    let health = a.http.get(a.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    a.create_customer(BOB, BOB_PASSWORD).await;
    let metrics = a.metrics().await;
    for line in [
        "storekey_store_retries 0",
        "storekey_store_pool_waiting 0",
        "storekey_store_pool_in_use 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    let idle = metrics
        .lines()
        .find_map(|l| l.strip_prefix("storekey_store_pool_idle "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(idle.is_some_and(|n| n >= 1), "{metrics}");
}

#[tokio::test]
async fn one_multipass_token_signs_in_once_across_three_instances() {
    let Some((_db, s)) = three_instances().await else {
        return;
    };
    let sf = s[0].storefront_token(&[WRITE_CUSTOMERS]).await;
    let created_at = time::OffsetDateTime::from_unix_timestamp(s[0].auth().now())
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let token = storekey::auth::multipass::MultipassKey::new(MULTIPASS_SECRET)
        .unwrap()
        .encode(&json!({"email": "nic@example.com", "created_at": created_at}).to_string());
    let q = "mutation($t:String!){ customerAccessTokenCreateWithMultipass(multipassToken:$t) { customerAccessToken { accessToken } } }";
    let answers = race(
        &s,
        "/api/2026-04/graphql.json",
        Some(("X-Shopify-Storefront-Access-Token", sf.as_str())),
        q,
        json!({ "t": token }),
    )
    .await;
    let winners = answers
        .iter()
        .filter(|body| {
            body["data"]["customerAccessTokenCreateWithMultipass"]["customerAccessToken"]
                ["accessToken"]
                .is_string()
        })
        .count();
    assert_eq!(winners, 1, "{answers:?}");
    assert_eq!(s[1].store().customer_count().await.unwrap(), 1);
    assert_eq!(s[2].store().access_token_count().await.unwrap(), 1);
}

#[tokio::test]
async fn one_reset_token_resets_once_across_three_instances() {
    let Some((_db, s)) = three_instances().await else {
        return;
    };
    s[0].create_customer(BOB, BOB_PASSWORD).await;
    assert!(reset_accepted(&s[0], BOB).await);
    let mails = wait_for_mail(&s[0].outbox_dir(), 1).await;
    let reset = link_param(mails.last().unwrap(), "token").unwrap();
    let q = "mutation($e:String!,$t:String!,$p:String!){ resetPassword(email:$e, resetPasswordToken:$t, newPassword:$p) }";
    let answers = race(
        &s,
        "/graphql",
        None,
        q,
        json!({"e": BOB, "t": reset, "p": "N3w-passw0rd-raced"}),
    )
    .await;
    let winners = answers
        .iter()
        .filter(|body| body["data"]["resetPassword"] == json!(true))
        .count();
    assert_eq!(winners, 1, "{answers:?}");
    assert_eq!(s[1].token(BOB, "N3w-passw0rd-raced").await.len(), 32);
}

/// `generateCustomerToken` against a server at `addr`: the token on HTTP 200 with one, else
/// None (a refused or cut-off request).
async fn sign_in_at(http: &reqwest::Client, addr: &str, email: &str) -> Option<String> {
    let resp = http
        .post(format!("http://{addr}/graphql"))
        .json(&json!({
            "query": "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e, password:$p) { token } }",
            "variables": {"e": email, "p": BOB_PASSWORD},
        }))
        .send()
        .await
        .ok()?;
    if resp.status().as_u16() != 200 {
        return None;
    }
    let body: Value = resp.json().await.ok()?;
    body["data"]["generateCustomerToken"]["token"]
        .as_str()
        .map(str::to_string)
}

#[tokio::test]
async fn an_instance_killed_under_sign_in_load_loses_no_acknowledged_token() {
    let Some((db, s)) = three_instances().await else {
        return;
    };
    let [a, b, _c] = &s;
    let emails: Vec<String> = (0..4).map(|i| format!("shopper{i}@example.com")).collect();
    for email in &emails {
        a.create_customer(email, BOB_PASSWORD).await;
    }
    // The one to kill is the real binary, a child process, on the same database.
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.clone();
    let mut victim = BinServer::spawn(
        dir.path(),
        &[
            ("STOREKEY_STORAGE_BACKEND", "postgres"),
            ("STOREKEY_STORAGE_URL", url.as_str()),
            ("STOREKEY_STORAGE_TLS", "disable"),
            ("STOREKEY_STORAGE_POOL_SIZE", "4"),
            // The load comes from one address: no per-IP throttle in the way.
            ("STOREKEY_THROTTLE_LOGIN_PER_IP_PER_MINUTE", "0"),
        ],
    );
    let addr = victim.addr.clone();
    // Load: four clients signing in on the victim in a loop until it stops answering.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut clients = Vec::new();
    for email in emails.clone() {
        let (http, addr, acknowledged) = (http.clone(), addr.clone(), acknowledged.clone());
        let stop_rx = stop_rx.clone();
        clients.push(tokio::spawn(async move {
            while !*stop_rx.borrow() {
                match sign_in_at(&http, &addr, &email).await {
                    Some(token) => acknowledged.lock().unwrap().push((email.clone(), token)),
                    None => break,
                }
            }
        }));
    }
    eventually(
        Duration::from_secs(60),
        "20 sign-ins on the victim",
        || async { acknowledged.lock().unwrap().len() >= 20 },
    )
    .await;
    // SIGKILL while the clients are mid-request.
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();
    let _ = stop_tx.send(true);
    for client in clients {
        client.await.unwrap();
    }
    // The survivors keep serving sign-ins...
    for (i, email) in emails.iter().enumerate() {
        let server = &s[i % 2];
        assert_eq!(server.token(email, BOB_PASSWORD).await.len(), 32, "{email}");
    }
    // ...and every token the victim acknowledged before it died authenticates on them.
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 20);
    for (email, token) in &acknowledged {
        for server in [a, b] {
            let (status, body) = server.whoami(token).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["data"]["customer"]["email"], json!(email), "{body}");
        }
    }
}
