//! Identical failed sign-ins (same account, same wrong secret, same client address) repeated
//! within `lockout.repeat_window_seconds` count once toward lockout and the per-IP throttle:
//! Venia retries a failed request up to five times, so each typo would otherwise count five.

use crate::support::*;

/// Sends one sign-in the way Venia's RetryLink does after a 401: five identical requests. Every
/// one gets the generic refusal.
async fn five_times(s: &TestServer, email: &str, password: &str) {
    for _ in 0..5 {
        let (status, body) = s.sign_in(email, password).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(first_error(&body).0, GENERIC);
    }
}

async fn failures(s: &TestServer) -> u32 {
    s.auth()
        .account_by_email(BOB)
        .await
        .unwrap()
        .unwrap()
        .credentials
        .lockout
        .failures
}

#[tokio::test]
async fn five_identical_wrong_attempts_count_once() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 0).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    five_times(&s, BOB, "wrong-password").await;
    assert_eq!(failures(&s).await, 1);
}

#[tokio::test]
async fn two_retried_typos_then_the_right_password_signs_in() {
    let s = TestServer::start_with(|c| {
        c.lockout.max_failures = 3;
        c.throttle.login_per_ip_per_minute = 0;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    five_times(&s, BOB, "b0bl0blaw").await;
    five_times(&s, BOB, "b0bl0bl@ww").await;
    assert_eq!(failures(&s).await, 2);
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
    assert_eq!(failures(&s).await, 0);
}

#[tokio::test]
async fn different_wrong_passwords_each_count() {
    let s = TestServer::start_with(|c| {
        c.lockout.max_failures = 3;
        c.throttle.login_per_ip_per_minute = 0;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    for wrong in ["wrong-1", "wrong-2", "wrong-3"] {
        assert_eq!(s.sign_in(BOB, wrong).await.0, 401);
    }
    assert_eq!(failures(&s).await, 3);
    // Locked: the right password gets the generic refusal.
    let (status, body) = s.sign_in(BOB, BOB_PASSWORD).await;
    assert_eq!(status, 401);
    assert_eq!(first_error(&body).0, GENERIC);
}

#[tokio::test]
async fn after_the_window_the_same_attempt_counts_again() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 0).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    five_times(&s, BOB, "wrong-password").await;
    // The test clock is wall time plus an offset in whole seconds: leave a second's margin on
    // each side of the 60 s window for a wall-clock tick during the test.
    s.clock.advance(58);
    five_times(&s, BOB, "wrong-password").await;
    assert_eq!(failures(&s).await, 1);
    s.clock.advance(3);
    five_times(&s, BOB, "wrong-password").await;
    assert_eq!(failures(&s).await, 2);
}

#[tokio::test]
async fn a_repeat_window_of_zero_counts_every_attempt() {
    let s = TestServer::start_with(|c| {
        c.lockout.repeat_window_seconds = 0;
        c.throttle.login_per_ip_per_minute = 0;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    five_times(&s, BOB, "wrong-password").await;
    assert_eq!(failures(&s).await, 5);
}

#[tokio::test]
async fn the_throttle_counts_a_repeat_once() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 3).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    // Attempt 1 (then four repeats that do not count).
    five_times(&s, BOB, "wrong-password").await;
    // Attempts 2 and 3.
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
    assert_eq!(s.sign_in(BOB, "another-wrong").await.0, 401);
    // Attempt 4 is over the limit: even the right password is refused.
    let (status, body) = s.sign_in(BOB, BOB_PASSWORD).await;
    assert_eq!(status, 401);
    assert_eq!(first_error(&body).0, GENERIC);
}

#[tokio::test]
async fn a_repeated_unknown_email_counts_once_toward_the_throttle() {
    // Unknown emails behave as accounts do, or the throttle would tell which emails exist.
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 3).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    five_times(&s, "nobody@example.com", "wrong-password").await;
    five_times(&s, BOB, "wrong-password").await;
    // Two attempts counted, so a third is allowed and a fourth is not.
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
    five_times(&s, "nobody@example.com", "other-wrong").await;
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 401);
}

#[tokio::test]
async fn a_remembered_wrong_password_signs_in_once_it_becomes_the_password() {
    // A repeat is refused without a verify; a password change must end that at once.
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 0).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    five_times(&s, BOB, "n3w-p@ssword").await;
    let token = s.token(BOB, BOB_PASSWORD).await;
    let (status, body) = s
        .gql(
            "mutation { changeCustomerPassword(currentPassword: \"b0bl0bl@w\", newPassword: \"n3w-p@ssword\") { email } }",
            serde_json::json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(s.sign_in(BOB, "n3w-p@ssword").await.0, 200);
}

#[tokio::test]
async fn a_right_password_refused_while_locked_signs_in_once_the_lock_ends() {
    // A refusal that checked no password (locked) is remembered too, like an unknown email's;
    // when the lock ends inside the window, the same attempt is checked again.
    let s = TestServer::start_with(|c| {
        c.lockout.max_failures = 2;
        c.lockout.lock_minutes = 1;
        c.lockout.repeat_window_seconds = 600;
        c.throttle.login_per_ip_per_minute = 0;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    five_times(&s, BOB, "wrong-1").await;
    five_times(&s, BOB, "wrong-2").await;
    five_times(&s, BOB, BOB_PASSWORD).await;
    s.clock.advance(61);
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
}
