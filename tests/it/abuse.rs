//! Abuse: lockout under concurrency, and no answer, metric or amount of work that tells which
//! emails have accounts.

use crate::support::*;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Durable writes the store has committed so far.
fn writes(s: &TestServer) -> u64 {
    s.store()
        .writer_stats()
        .unwrap()
        .writes
        .load(Ordering::SeqCst)
}

#[tokio::test]
async fn concurrent_wrong_guesses_stop_counting_at_the_lock() {
    let s = Arc::new(
        TestServer::start_with(|c| {
            c.lockout.max_failures = 3;
            c.throttle.login_per_ip_per_minute = 0;
        })
        .await,
    );
    s.create_customer(BOB, BOB_PASSWORD).await;
    let guesses: Vec<_> = (0..30)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.sign_in(BOB, &format!("wrong-guess-{i}")).await })
        })
        .collect();
    for g in guesses {
        let (status, body) = g.await.unwrap();
        assert_eq!(status, 401);
        assert_eq!(first_error(&body).0, GENERIC);
    }
    // Only the guesses before the lock were verified and counted; the rest met the lock.
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(stored.credentials.lockout.failures, 3);
    assert!(stored.credentials.lockout.lock_expires.is_some());
}

#[tokio::test]
async fn the_right_password_behind_a_burst_of_wrong_ones_meets_the_lock() {
    // A real argon2 cost, so the burst is still being verified when the right password arrives.
    let s = Arc::new(
        TestServer::start_with(|c| {
            c.lockout.max_failures = 3;
            c.throttle.login_per_ip_per_minute = 0;
            c.password.argon2_memory_kib = 8192;
            c.password.argon2_iterations = 2;
        })
        .await,
    );
    s.create_customer(BOB, BOB_PASSWORD).await;
    let burst: Vec<_> = (0..12)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.sign_in(BOB, &format!("wrong-guess-{i}")).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    let (status, body) = s.sign_in(BOB, BOB_PASSWORD).await;
    for b in burst {
        b.await.unwrap();
    }
    assert_eq!(status, 401, "{body}");
    assert_eq!(first_error(&body).0, GENERIC);
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert!(stored.credentials.lockout.lock_expires.is_some());
}

#[tokio::test]
async fn metrics_need_the_admin_key_and_show_one_failure_outcome() {
    let s = TestServer::start_with(|c| {
        c.throttle.login_per_ip_per_minute = 0;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    s.sign_in(BOB, "wrong-password").await;
    s.sign_in("nobody@example.com", "wrong-password").await;

    let anonymous = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(
        body["message"],
        "The consumer isn't authorized to access %resources."
    );

    let metrics = s.metrics().await;
    assert!(
        metrics.contains("storekey_logins_total{method=\"credentials\",outcome=\"failure\"} 2"),
        "{metrics}"
    );
    assert!(!metrics.contains("unknown_email"), "{metrics}");
    assert!(!metrics.contains("wrong_secret"), "{metrics}");
}

#[tokio::test]
async fn confirm_email_answers_alike_for_unknown_and_already_active_emails() {
    let s = TestServer::start_with(|c| c.account.require_confirmation = true).await;
    s.admin_customer(BOB, BOB_PASSWORD, false).await; // admin-created: confirmed
    let q = "mutation($e:String!,$k:String!){ confirmEmail(input:{email:$e, confirmation_key:$k}) { customer { email } } }";
    let (_, known) = s.gql(q, json!({"e": BOB, "k": "0".repeat(32)}), None).await;
    let (_, unknown) = s
        .gql(
            q,
            json!({"e": "nobody@example.com", "k": "0".repeat(32)}),
            None,
        )
        .await;
    assert_eq!(
        first_error(&known).0,
        "The confirmation token is invalid. Verify the token and try again."
    );
    assert_eq!(known["errors"], unknown["errors"]);
}

#[tokio::test]
async fn a_reset_request_answers_before_any_work_that_depends_on_the_account() {
    if redb_only("it holds the redb writer") {
        return;
    }
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    // Hold the store's writer: an answer that waited for a durable write would hang here.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let writer = s.store().redb().expect("a redb store").clone();
    let holder = tokio::spawn(async move {
        writer
            .write(move |_tx| {
                let _ = held.recv();
                Ok(())
            })
            .await
    });
    let q = "mutation($e:String!){ requestPasswordResetEmail(email:$e) }";
    for email in [BOB, "nobody@example.com"] {
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            s.gql(q, json!({ "e": email }), None),
        )
        .await
        .expect("the answer must not wait for the store");
        assert_eq!(
            answer,
            (200, json!({"data": {"requestPasswordResetEmail": true}}))
        );
    }
    release.send(()).unwrap();
    holder.await.unwrap().unwrap();
    // The real account's mail still goes out once the store is free.
    let mails = wait_for_mail(&s.outbox_dir(), 1).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("To: bobloblaw@example.com"),
        "{}",
        mails[0]
    );
}

#[tokio::test]
async fn a_failed_sign_in_does_the_same_durable_work_for_known_and_unknown_emails() {
    if redb_only("it counts the redb writer's commits") {
        return;
    }
    let s = TestServer::start_with(|c| {
        c.throttle.login_per_ip_per_minute = 0;
        c.lockout.max_failures = 2;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let cost = |email: &'static str, password: &'static str| {
        let s = &s;
        async move {
            let before = writes(s);
            let (status, _) = s.sign_in(email, password).await;
            assert_eq!(status, 401);
            writes(s) - before
        }
    };
    let wrong = cost(BOB, "wrong-password").await;
    let unknown = cost("nobody@example.com", "wrong-password").await;
    assert_eq!(wrong, 1);
    assert_eq!(unknown, wrong);
    // A retry of the same attempt counts toward nothing, but does the same durable work.
    assert_eq!(cost(BOB, "wrong-password").await, wrong);
    cost(BOB, "another-wrong-password").await; // now locked
    let locked = cost(BOB, BOB_PASSWORD).await;
    assert_eq!(locked, wrong);
    let disabled_id = s
        .admin_customer("gone@example.com", BOB_PASSWORD, false)
        .await;
    s.admin(
        "PUT",
        &format!("/rest/V1/customers/{disabled_id}"),
        Some(json!({"customer": {"disabled": true}})),
    )
    .await;
    assert_eq!(cost("gone@example.com", BOB_PASSWORD).await, wrong);
}

#[tokio::test]
async fn composed_and_decomposed_emails_are_one_account() {
    let s = TestServer::start().await;
    let composed = "jos\u{e9}@example.com";
    let decomposed = "jose\u{301}@example.com";
    s.create_customer(composed, BOB_PASSWORD).await;
    let (_, body) = s
        .gql(
            "mutation($e:String!,$p:String!){ createCustomerV2(input:{firstname:\"J\", lastname:\"S\", email:$e, password:$p}) { customer { email } } }",
            json!({"e": decomposed, "p": BOB_PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        first_error(&body).0,
        "A customer with the same email address already exists in an associated website."
    );
    assert_eq!(s.sign_in(decomposed, BOB_PASSWORD).await.0, 200);
    assert_eq!(
        s.sign_in(&composed.to_uppercase(), BOB_PASSWORD).await.0,
        200
    );
}

#[tokio::test]
async fn aliased_confirmation_resends_send_one_mail() {
    let s = TestServer::start_with(|c| c.account.require_confirmation = true).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    assert_eq!(wait_for_mail(&s.outbox_dir(), 1).await.len(), 1);
    let aliased = (0..5)
        .map(|i| format!("r{i}: resendConfirmationEmail(email: \"{BOB}\")"))
        .collect::<Vec<_>>()
        .join(" ");
    for _ in 0..5 {
        let (status, body) = s
            .gql(&format!("mutation {{ {aliased} }}"), json!({}), None)
            .await;
        assert_eq!(status, 200, "{body}");
        // The answer never changes: it must not tell a limit from an unknown email.
        assert_eq!(body["data"]["r0"], true, "{body}");
        assert_eq!(body["data"]["r4"], true, "{body}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Registration sent one; within `reset.min_minutes_between` no resend goes out.
    assert_eq!(wait_for_mail(&s.outbox_dir(), 1).await.len(), 1);
    // The aliases used up this client's hourly budget too; an hour later it may ask again.
    s.clock.advance(61 * 60);
    let (_, body) = s
        .gql(
            &format!("mutation {{ resendConfirmationEmail(email: \"{BOB}\") }}"),
            json!({}),
            None,
        )
        .await;
    assert_eq!(body["data"]["resendConfirmationEmail"], true);
    assert_eq!(wait_for_mail(&s.outbox_dir(), 2).await.len(), 2);
}

#[tokio::test]
async fn an_admin_action_and_its_audit_entry_are_one_commit() {
    if redb_only("it counts the redb writer's commits") {
        return;
    }
    let s = TestServer::start().await;
    let before = s
        .store()
        .writer_stats()
        .unwrap()
        .commits
        .load(Ordering::SeqCst);
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee", "disabled": true}, "password": "Ann-passw0rd"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], true);
    let id = body["id"].as_u64().unwrap();
    assert_eq!(writes_since(&s, before), 1);

    let before = s
        .store()
        .writer_stats()
        .unwrap()
        .commits
        .load(Ordering::SeqCst);
    let (status, body) = s
        .admin(
            "PUT",
            &format!("/rest/V1/customers/{id}"),
            Some(json!({"customer": {"firstname": "Anna"}, "password": "N3w-passw0rd"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(writes_since(&s, before), 1);

    let before = s
        .store()
        .writer_stats()
        .unwrap()
        .commits
        .load(Ordering::SeqCst);
    let (status, _) = s
        .admin("DELETE", &format!("/rest/V1/customers/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(writes_since(&s, before), 1);

    let (_, audit) = s
        .admin("GET", "/rest/V1/audit?after=0&limit=50", None)
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["customer_created", "customer_updated", "customer_deleted"]
    );
}

/// Commits since `before` (requests here run one at a time, so one commit is one write).
fn writes_since(s: &TestServer, before: u64) -> u64 {
    s.store()
        .writer_stats()
        .unwrap()
        .commits
        .load(Ordering::SeqCst)
        - before
}

#[tokio::test]
async fn an_http2_connection_is_refused_rather_than_held() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start_with(|c| c.server.request_timeout_seconds = 30).await;
    let addr = s.url("").trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The HTTP/2 prior-knowledge preface, then silence.
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        conn.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the connection was held open");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 "), "{text}");
}
