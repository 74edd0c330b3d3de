//! Adobe Commerce lockout and the per-IP throttle, driven by moving the clock. Each failure
//! uses another wrong password: an identical retry counts once (see `repeats`).

use crate::support::*;

#[tokio::test]
async fn ten_failures_lock_the_account_until_the_lock_expires() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 0).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    for i in 0..10 {
        assert_eq!(s.sign_in(BOB, &format!("wrong-password-{i}")).await.0, 401);
    }
    // Locked: even the right password fails, with the generic message.
    let (status, body) = s.sign_in(BOB, BOB_PASSWORD).await;
    assert_eq!(status, 401);
    assert_eq!(first_error(&body).0, GENERIC);
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(stored.credentials.lockout.failures, 10);
    assert!(stored.credentials.lockout.lock_expires.is_some());

    s.clock.advance(9 * 60);
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 401);
    s.clock.advance(61);
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
    // A success clears the count.
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(stored.credentials.lockout, Default::default());
}

#[tokio::test]
async fn nine_failures_do_not_lock_and_a_success_resets_the_count() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 0).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    for i in 0..9 {
        s.sign_in(BOB, &format!("wrong-password-{i}")).await;
    }
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
    for i in 0..9 {
        s.sign_in(BOB, &format!("wrong-password-{i}")).await;
    }
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn a_failure_after_an_expired_lock_starts_the_count_over() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 0).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    for i in 0..10 {
        s.sign_in(BOB, &format!("wrong-password-{i}")).await;
    }
    s.clock.advance(11 * 60);
    s.sign_in(BOB, "wrong-password").await;
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(stored.credentials.lockout.failures, 1);
    assert_eq!(stored.credentials.lockout.lock_expires, None);
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn lockout_zero_turns_it_off() {
    let s = TestServer::start_with(|c| {
        c.lockout.max_failures = 0;
        c.throttle.login_per_ip_per_minute = 0;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    for i in 0..12 {
        s.sign_in(BOB, &format!("wrong-password-{i}")).await;
    }
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn the_per_ip_throttle_refuses_even_the_right_password() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 3).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
    }
    let (status, body) = s.sign_in(BOB, BOB_PASSWORD).await;
    assert_eq!(status, 401);
    assert_eq!(first_error(&body).0, GENERIC);
    // Throttled attempts do not count toward the account's lockout.
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(stored.credentials.lockout.failures, 0);
    s.clock.advance(60);
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn unknown_email_costs_about_as_much_as_a_wrong_password() {
    // A real argon2 cost here: the point is that a miss runs a verify too.
    let s = TestServer::start_with(|c| {
        c.password.argon2_memory_kib = 8192;
        c.password.argon2_iterations = 2;
        c.throttle.login_per_ip_per_minute = 0;
        c.lockout.max_failures = 0;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..9 {
        // Distinct passwords: an identical retry is answered from the repeat window.
        let t = std::time::Instant::now();
        s.sign_in(BOB, &format!("wrong-password-{i}")).await;
        known.push(t.elapsed());
        let t = std::time::Instant::now();
        s.sign_in("nobody@example.com", &format!("wrong-password-{i}"))
            .await;
        unknown.push(t.elapsed());
    }
    // The fastest of each: a loaded machine (the whole suite in parallel) only adds time, so
    // the minimum is the cost of the path itself (the oracle bench measures the distributions).
    known.sort();
    unknown.sort();
    let (k, u) = (known[0].as_secs_f64(), unknown[0].as_secs_f64());
    // Without the dummy verify an unknown email would answer in well under a tenth of the time.
    assert!(
        u > k * 0.5 && u < k * 2.0,
        "known {k:.4}s vs unknown {u:.4}s"
    );
}
