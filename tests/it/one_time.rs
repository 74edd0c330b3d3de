//! Reset tokens, admin one-time codes, confirmation, the sweeper and backups (SPEC §5.2-5.3, §7, §8).

use crate::support::*;
use serde_json::{json, Value};
use storekey::store::Backend as _;

const RESET_REQUEST: &str = "mutation($e:String!){ requestPasswordResetEmail(email:$e) }";
const RESET: &str = "mutation($e:String!,$t:String!,$p:String!){ resetPassword(email:$e, resetPasswordToken:$t, newPassword:$p) }";
const EXCHANGE: &str =
    "mutation($e:String!,$o:String!){ exchangeOtpForCustomerToken(email:$e, otp:$o) { token } }";

async fn reset_token_for(s: &TestServer, email: &str) -> String {
    let (status, body) = s.gql(RESET_REQUEST, json!({"e": email}), None).await;
    assert_eq!(
        (status, &body),
        (200, &json!({"data": {"requestPasswordResetEmail": true}}))
    );
    let mails = wait_for_mail(&s.outbox_dir(), 1).await;
    let mail = mails.last().expect("a reset mail in the outbox");
    link_param(mail, "token").expect("the link carries the token")
}

#[tokio::test]
async fn reset_mail_link_carries_a_token_that_resets_once() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let old_token = s.token(BOB, BOB_PASSWORD).await;
    let token = reset_token_for(&s, BOB).await;
    assert_eq!(token.len(), 32);
    let mails = wait_for_mail(&s.outbox_dir(), 1).await;
    assert!(mails[0].contains(&format!("To: {BOB}")), "{}", mails[0]);
    assert!(mails[0].contains("Subject: Reset your password"));
    assert_eq!(link_param(&mails[0], "email").as_deref(), Some(BOB));

    let (status, body) = s
        .gql(
            RESET,
            json!({"e": BOB, "t": token, "p": "N3w-passw0rd"}),
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"resetPassword": true}}))
    );
    assert_eq!(
        s.whoami(&old_token).await.0,
        401,
        "reset revokes every token"
    );
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 401);
    assert_eq!(s.sign_in(BOB, "N3w-passw0rd").await.0, 200);
    let (_, body) = s
        .gql(
            RESET,
            json!({"e": BOB, "t": token, "p": "An0ther-pw"}),
            None,
        )
        .await;
    assert_eq!(
        first_error(&body),
        (
            "Cannot set the customer's password".into(),
            "graphql-input".into()
        )
    );
}

#[tokio::test]
async fn reset_errors_use_adobe_commerce_messages() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let token = reset_token_for(&s, BOB).await;
    let cases = [
        (
            json!({"e": "", "t": "x", "p": "N3w-passw0rd"}),
            "You must specify an email address.",
        ),
        (
            json!({"e": "bad", "t": "x", "p": "N3w-passw0rd"}),
            "The email address has an invalid format.",
        ),
        (
            json!({"e": BOB, "t": "", "p": "N3w-passw0rd"}),
            "resetPasswordToken must be specified",
        ),
        (
            json!({"e": BOB, "t": token, "p": ""}),
            "newPassword must be specified",
        ),
        (
            json!({"e": BOB, "t": token, "p": "short"}),
            "Cannot set the customer's password",
        ),
        (
            json!({"e": "nobody@example.com", "t": token, "p": "N3w-passw0rd"}),
            "Cannot set the customer's password",
        ),
    ];
    for (vars, message) in cases {
        let (status, body) = s.gql(RESET, vars, None).await;
        assert_eq!(status, 200);
        assert_eq!(first_error(&body), (message.into(), "graphql-input".into()));
    }
    s.clock.advance(2 * 3600 + 1);
    let (_, body) = s
        .gql(
            RESET,
            json!({"e": BOB, "t": token, "p": "N3w-passw0rd"}),
            None,
        )
        .await;
    assert_eq!(first_error(&body).0, "Cannot set the customer's password");
}

#[tokio::test]
async fn reset_clears_the_lockout() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 0).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    // Distinct wrong passwords: an identical one repeated within the window counts once.
    for i in 0..10 {
        s.sign_in(BOB, &format!("wrong-password-{i}")).await;
    }
    let (_, body) = s.sign_in(BOB, BOB_PASSWORD).await;
    assert_eq!(
        first_error(&body).0,
        GENERIC,
        "the lock engaged: the right password is refused"
    );
    let token = reset_token_for(&s, BOB).await;
    let (status, body) = s
        .gql(
            RESET,
            json!({"e": BOB, "t": token, "p": "N3w-passw0rd"}),
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"resetPassword": true}}))
    );
    assert_eq!(s.sign_in(BOB, "N3w-passw0rd").await.0, 200);
}

#[tokio::test]
async fn unknown_email_gets_true_and_no_mail() {
    let s = TestServer::start().await;
    let (status, body) = s
        .gql(RESET_REQUEST, json!({"e": "nobody@example.com"}), None)
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"requestPasswordResetEmail": true}}))
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(wait_for_mail(&s.outbox_dir(), 1).await.is_empty());
}

#[tokio::test]
async fn reset_requests_are_rate_limited_per_email() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    reset_token_for(&s, BOB).await;
    let (_, body) = s.gql(RESET_REQUEST, json!({"e": BOB}), None).await;
    assert_eq!(
        first_error(&body),
        (
            "Cannot reset the customer's password".into(),
            "graphql-input".into()
        )
    );
    // The same answer for an email without an account: the limit reveals nothing.
    s.gql(RESET_REQUEST, json!({"e": "ghost@example.com"}), None)
        .await;
    let (_, body) = s
        .gql(RESET_REQUEST, json!({"e": "ghost@example.com"}), None)
        .await;
    assert_eq!(first_error(&body).0, "Cannot reset the customer's password");
    s.clock.advance(10 * 60);
    let (_, body) = s.gql(RESET_REQUEST, json!({"e": BOB}), None).await;
    assert_eq!(body["data"]["requestPasswordResetEmail"], true);
}

#[tokio::test]
async fn a_new_reset_request_replaces_the_old_token() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let first = reset_token_for(&s, BOB).await;
    s.clock.advance(10 * 60);
    s.gql(RESET_REQUEST, json!({"e": BOB}), None).await;
    let mails = wait_for_mail(&s.outbox_dir(), 2).await;
    let second = link_param(&mails[1], "token").unwrap();
    assert_ne!(first, second);
    assert_eq!(s.sign_in(BOB, &first).await.0, 401);
    assert_eq!(s.sign_in(BOB, &second).await.0, 200);
}

#[tokio::test]
async fn password_then_reset_token_then_otc_each_once() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let reset = reset_token_for(&s, BOB).await;
    let otc = s.issue_otc(id, "support call").await;

    // The password matches first and leaves the one-time secrets live.
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
    for secret in [&reset, &otc] {
        let (status, body) = s.sign_in(BOB, secret).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(s.sign_in(BOB, secret).await.0, 401, "second use fails");
    }
    // Using them changed nothing about the password.
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn exchange_accepts_otc_and_reset_token_but_not_the_password() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let (status, body) = s
        .gql(EXCHANGE, json!({"e": BOB, "o": BOB_PASSWORD}), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(first_error(&body).0, GENERIC);
    let otc = s.issue_otc(id, "r").await;
    let (status, body) = s.gql(EXCHANGE, json!({"e": BOB, "o": otc}), None).await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["exchangeOtpForCustomerToken"]["token"]
        .as_str()
        .unwrap();
    assert_eq!(s.whoami(token).await.0, 200);
    let reset = reset_token_for(&s, BOB).await;
    assert_eq!(
        s.gql(EXCHANGE, json!({"e": BOB, "o": reset}), None).await.0,
        200
    );
}

#[tokio::test]
async fn expired_codes_never_work_even_before_the_sweeper() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let otc = s.issue_otc(id, "r").await;
    s.clock.advance(31);
    assert_eq!(s.sign_in(BOB, &otc).await.0, 401);
    let reset = reset_token_for(&s, BOB).await;
    s.clock.advance(2 * 3600);
    assert_eq!(s.sign_in(BOB, &reset).await.0, 401);
}

#[tokio::test]
async fn another_customers_code_never_works() {
    let s = TestServer::start().await;
    let bob = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    s.admin_customer("ann@example.com", BOB_PASSWORD, true)
        .await;
    let otc = s.issue_otc(bob, "r").await;
    assert_eq!(s.sign_in("ann@example.com", &otc).await.0, 401);
    assert_eq!(s.sign_in(BOB, &otc).await.0, 200);
}

#[tokio::test]
async fn a_new_code_replaces_the_live_one() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let first = s.issue_otc(id, "r").await;
    let second = s.issue_otc(id, "r").await;
    assert_eq!(first.len(), 32);
    assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(s.sign_in(BOB, &first).await.0, 401);
    assert_eq!(s.sign_in(BOB, &second).await.0, 200);
}

async fn race(s: &TestServer, secret: &str) -> usize {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let http = s.http.clone();
        let url = s.url("/graphql");
        let secret = secret.to_string();
        set.spawn(async move {
            let body: Value = http
                .post(url)
                .json(&json!({"query": EXCHANGE, "variables": {"e": BOB, "o": secret}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["data"]["exchangeOtpForCustomerToken"]["token"].is_string()
        });
    }
    let mut wins = 0;
    while let Some(r) = set.join_next().await {
        wins += usize::from(r.unwrap());
    }
    wins
}

#[tokio::test]
async fn thirty_two_racing_exchanges_of_one_code_issue_one_token() {
    let s = TestServer::start_with(|c| {
        c.throttle.login_per_ip_per_minute = 0;
        c.lockout.max_failures = 0;
    })
    .await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let otc = s.issue_otc(id, "r").await;
    assert_eq!(race(&s, &otc).await, 1);
    let reset = reset_token_for(&s, BOB).await;
    assert_eq!(race(&s, &reset).await, 1);
    assert_eq!(s.store().access_token_count().await.unwrap(), 2);
}

#[tokio::test]
async fn otc_issue_rules() {
    let s = TestServer::start().await;
    let no_permission = s.admin_customer(BOB, BOB_PASSWORD, false).await;
    let (status, body) = s
        .admin(
            "POST",
            &format!("/rest/V1/customer/{no_permission}/otp"),
            Some(json!({"reason": "r"})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"message": "Login as Customer assistance is disabled for this customer."})
        )
    );
    let (status, _) = s
        .admin(
            "POST",
            "/rest/V1/customer/999/otp",
            Some(json!({"reason": "r"})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = s
        .rest(
            "POST",
            &format!("/rest/V1/customer/{no_permission}/otp"),
            Some(json!({})),
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"message": "The consumer isn't authorized to access %resources."})
        )
    );

    let off = TestServer::start_with(|c| c.otc.enabled = false).await;
    let id = off.admin_customer(BOB, BOB_PASSWORD, true).await;
    let (status, body) = off
        .admin(
            "POST",
            &format!("/rest/V1/customer/{id}/otp"),
            Some(json!({"reason": "r"})),
        )
        .await;
    assert_eq!(
        (status, body),
        (403, json!({"message": "Login as Customer is disabled."}))
    );
}

#[tokio::test]
async fn withdrawing_permission_voids_the_live_code() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let token = s.token(BOB, BOB_PASSWORD).await;
    let set = "mutation($a:Boolean!){ updateCustomerV2(input:{allow_remote_shopping_assistance:$a}) { customer { allow_remote_shopping_assistance } } }";
    s.gql(set, json!({"a": true}), Some(&token)).await;
    let id = s.auth().customer_by_email(BOB).await.unwrap().unwrap().id;
    let otc = s.issue_otc(id.0, "r").await;
    s.gql(set, json!({"a": false}), Some(&token)).await;
    assert_eq!(s.sign_in(BOB, &otc).await.0, 401);
    s.gql(set, json!({"a": true}), Some(&token)).await;
    assert_eq!(
        s.sign_in(BOB, &otc).await.0,
        401,
        "a voided code stays void"
    );
}

#[tokio::test]
async fn issue_and_use_are_audited_with_the_admin_and_reason() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let otc = s.issue_otc(id, "Support session #42").await;
    s.sign_in(BOB, &otc).await;
    let (status, body) = s
        .admin("GET", "/rest/V1/audit?after=0&limit=10", None)
        .await;
    assert_eq!(status, 200);
    let entries = body.as_array().unwrap();
    let issued = entries
        .iter()
        .find(|e| e["action"] == "otc_issued")
        .unwrap();
    assert_eq!(issued["actor"], "env");
    assert_eq!(issued["detail"], "Support session #42");
    assert_eq!(issued["customer_id"], id);
    let used = entries.iter().find(|e| e["action"] == "otc_used").unwrap();
    assert!(used["detail"].as_str().unwrap().contains("issued by env"));
    assert!(used["detail"]
        .as_str()
        .unwrap()
        .contains("Support session #42"));
    // Paging: after the first entry.
    let first = entries[0]["id"].as_u64().unwrap();
    let (_, page) = s
        .admin(
            "GET",
            &format!("/rest/V1/audit?after={first}&limit=1"),
            None,
        )
        .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["id"].as_u64().unwrap(), first + 1);
}

#[tokio::test]
async fn generate_customer_token_as_admin() {
    let s = TestServer::start().await;
    s.admin_customer(BOB, BOB_PASSWORD, true).await;
    s.admin_customer("no@example.com", BOB_PASSWORD, false)
        .await;
    let q = "mutation($e:String!){ generateCustomerTokenAsAdmin(input:{customer_email:$e}) { customer_token } }";
    let (status, body) = s.gql(q, json!({"e": BOB}), Some(ADMIN_KEY)).await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["generateCustomerTokenAsAdmin"]["customer_token"]
        .as_str()
        .unwrap();
    assert_eq!(s.whoami(token).await.0, 200);
    let (_, body) = s.gql(q, json!({"e": BOB}), None).await;
    assert_eq!(
        first_error(&body),
        (
            "The current customer isn't authorized.".into(),
            "graphql-authorization".into()
        )
    );
    let (_, body) = s
        .gql(q, json!({"e": "no@example.com"}), Some(ADMIN_KEY))
        .await;
    assert_eq!(
        first_error(&body).0,
        "Login as Customer assistance is disabled for this customer."
    );
    let (_, body) = s
        .gql(q, json!({"e": "ghost@example.com"}), Some(ADMIN_KEY))
        .await;
    assert_eq!(
        first_error(&body).0,
        "Customer email provided does not exist"
    );
}

#[tokio::test]
async fn confirmation_flow() {
    let s = TestServer::start_with(|c| c.account.require_confirmation = true).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mails = wait_for_mail(&s.outbox_dir(), 1).await;
    let key = mails[0]
        .lines()
        .find_map(|l| l.strip_prefix("Confirmation key: "))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 401);
    let q = "mutation($e:String!,$k:String!){ confirmEmail(input:{email:$e, confirmation_key:$k}) { customer { email confirmation_status } } }";
    let (_, body) = s.gql(q, json!({"e": BOB, "k": "0".repeat(32)}), None).await;
    assert_eq!(
        first_error(&body).0,
        "The confirmation token is invalid. Verify the token and try again."
    );
    let (_, body) = s.gql(q, json!({"e": BOB, "k": key}), None).await;
    assert_eq!(
        body["data"]["confirmEmail"]["customer"]["confirmation_status"],
        "ACCOUNT_CONFIRMED"
    );
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
    // Used up: an active account answers like any wrong key (no account oracle).
    let (_, body) = s.gql(q, json!({"e": BOB, "k": key}), None).await;
    assert_eq!(
        first_error(&body).0,
        "The confirmation token is invalid. Verify the token and try again."
    );
    let (_, body) = s
        .gql(
            "mutation { resendConfirmationEmail(email:\"ghost@example.com\") }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(body["data"]["resendConfirmationEmail"], true);
}

#[tokio::test]
async fn the_sweeper_purges_what_expired_and_keeps_what_lives() {
    if redb_only("it reads the redb expiry index") {
        return;
    }
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let live = s.token(BOB, BOB_PASSWORD).await;
    s.issue_otc(id, "r").await;
    reset_token_for(&s, BOB).await;
    s.clock.advance(31);
    let report = storekey::sweeper::sweep_now(s.auth()).await.unwrap();
    assert_eq!(report.otcs, 1);
    assert_eq!(report.reset_tokens, 0);
    assert_eq!(report.access_tokens, 0);
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert!(stored.credentials.otc.is_none());
    assert!(stored.credentials.reset_token.is_some());
    assert_eq!(s.whoami(&live).await.0, 200);

    s.clock.advance(2 * 3600);
    let report = storekey::sweeper::sweep_now(s.auth()).await.unwrap();
    assert_eq!((report.reset_tokens, report.access_tokens), (1, 1));
    let reader = s.store().redb().expect("a redb store").read().unwrap();
    assert_eq!(reader.access_token_count().unwrap(), 0);
    assert_eq!(reader.expiry_index_len().unwrap(), 0);
    drop(reader);
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("storekey_sweeper_purged_total{kind=\"otc\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("storekey_sweeper_purged_total{kind=\"access_token\"} 1"));
}

#[tokio::test]
async fn backup_during_writes_holds_every_acknowledged_customer() {
    if redb_only("backups copy the redb file") {
        return;
    }
    let s = TestServer::start_with(|c| {
        let dir = std::path::Path::new(&c.storage.path).with_file_name("backups");
        c.storage.backup_dir = dir.to_string_lossy().into_owned();
    })
    .await;
    // The writer reports each acknowledged email; the backup starts once ten are acknowledged
    // and runs while the writer goes on.
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let writer = {
        let http = s.http.clone();
        let url = s.url("/rest/V1/customers");
        tokio::spawn(async move {
            for i in 0..60 {
                let email = format!("c{i}@example.com");
                let resp = http
                    .post(&url)
                    .header("Authorization", format!("Bearer {ADMIN_KEY}"))
                    .json(&json!({"customer": {"email": email, "firstname": "C", "lastname": "D"}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status().as_u16(), 200);
                let _ = acked_tx.send(email);
            }
        })
    };
    let mut before_backup = Vec::new();
    while before_backup.len() < 10 {
        before_backup.push(acked_rx.recv().await.expect("the writer stopped early"));
    }
    while let Ok(email) = acked_rx.try_recv() {
        before_backup.push(email);
    }
    let path = s.db_path().with_file_name("backups").join("backup.redb");
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/backup",
            Some(json!({"path": "backup.redb"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    writer.await.unwrap();
    let copy = storekey::store::RedbStore::open(&path).unwrap();
    let reader = copy.read().unwrap();
    for email in &before_backup {
        assert!(
            reader.customer_by_email(email).unwrap().is_some(),
            "{email} was acknowledged before the backup started but is not in the copy"
        );
    }
    let in_copy = reader.customer_count().unwrap();
    assert!(
        (before_backup.len() as u64..=60).contains(&in_copy),
        "{in_copy} customers in the copy"
    );
    assert_eq!(body["customers"].as_u64().unwrap(), in_copy);
    // Every customer in the copy is whole and findable by email.
    for c in reader
        .customers(storekey::model::CustomerId(0), 1000)
        .unwrap()
    {
        assert_eq!(
            reader
                .customer_by_email(&c.customer.email)
                .unwrap()
                .unwrap()
                .customer
                .id,
            c.customer.id
        );
    }
}

#[tokio::test]
async fn no_plaintext_one_time_secret_in_the_database() {
    if redb_only("it reads the redb file's bytes") {
        return;
    }
    let mut s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let otc = s.issue_otc(id, "r").await;
    let reset = reset_token_for(&s, BOB).await;
    s.stop().await;
    let bytes = std::fs::read(s.db_path()).unwrap();
    for secret in [&otc, &reset] {
        assert!(!bytes.windows(32).any(|w| w == secret.as_bytes()));
    }
}

#[tokio::test]
async fn the_reset_link_encodes_a_plus_address_and_works_by_url() {
    let s = TestServer::start().await;
    s.create_customer("bob+shop@example.com", BOB_PASSWORD)
        .await;
    s.gql(RESET_REQUEST, json!({"e": "bob+shop@example.com"}), None)
        .await;
    let mails = wait_for_mail(&s.outbox_dir(), 1).await;
    assert!(
        mails[0].contains("email=bob%2Bshop%40example.com&token="),
        "{}",
        mails[0]
    );
}

#[tokio::test]
async fn login_as_customer_switched_off_gives_one_answer_in_rest_and_graphql() {
    let off = TestServer::start_with(|c| c.otc.enabled = false).await;
    let id = off.admin_customer(BOB, BOB_PASSWORD, false).await;
    let (status, body) = off
        .admin(
            "POST",
            &format!("/rest/V1/customer/{id}/otp"),
            Some(json!({"reason": "r"})),
        )
        .await;
    assert_eq!(
        (status, body),
        (403, json!({"message": "Login as Customer is disabled."}))
    );
    let q = "mutation($e:String!){ generateCustomerTokenAsAdmin(input:{customer_email:$e}) { customer_token } }";
    let (_, body) = off.gql(q, json!({"e": BOB}), Some(ADMIN_KEY)).await;
    assert_eq!(
        first_error(&body),
        (
            "Login as Customer is disabled.".into(),
            "graphql-authorization".into()
        )
    );
}
