//! Account invites (issue 11 items 3 and 4, SPEC §6.3 and §7): `POST /rest/V1/customers/{id}/invite`
//! mails an activation link; `customerActivate` and `customerActivateByUrl` set the first
//! password, confirm and enable the account and sign the customer in, once; and
//! `Customer.orders` is a clear error on both dialects.

use crate::postgres::{database, Schema, TestDatabase};
use crate::smtp_sink::SmtpSink;
use crate::support::*;
use serde_json::{json, Value};
use storekey::auth::storefront_tokens::{READ_CUSTOMERS, WRITE_CUSTOMERS};
use storekey::config::{MailTransport, SmtpTls};
use storekey::model::CustomerId;

const ANN: &str = "ann.invited@example.com";
const NEW_PASSWORD: &str = "Activ8-my-account";

const ACTIVATE: &str = "mutation($id:ID!,$t:String!,$p:String!){ customerActivate(id:$id, input:{activationToken:$t, password:$p}) { customer { id email } customerAccessToken { accessToken expiresAt } customerUserErrors { code field message } userErrors { field message } } }";
const ACTIVATE_BY_URL: &str = "mutation($u:URL!,$p:String!){ customerActivateByUrl(activationUrl:$u, password:$p) { customer { id email } customerAccessToken { accessToken expiresAt } customerUserErrors { code field message } } }";
const CUSTOMER: &str = "query($t:String!){ customer(customerAccessToken:$t) { id email } }";

async fn storefront_token(s: &TestServer) -> String {
    s.storefront_token(&[WRITE_CUSTOMERS, READ_CUSTOMERS]).await
}

/// A customer an admin created without a password (as an import or a shop admin does).
async fn invited_customer(s: &TestServer, email: &str) -> u64 {
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": email, "firstname": "Ann", "lastname": "Invited"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_u64().unwrap()
}

async fn invite(s: &TestServer, id: u64) -> (u16, Value) {
    s.admin("POST", &format!("/rest/V1/customers/{id}/invite"), None)
        .await
}

/// The activation link in the `n`th mail of the outbox (1-based).
async fn nth_activation_link(s: &TestServer, n: usize) -> String {
    let mails = wait_for_mail(&s.outbox_dir(), n).await;
    assert!(mails.len() >= n, "expected {n} mails, got {}", mails.len());
    activation_link_in(&mails[n - 1])
}

fn activation_link_in(mail: &str) -> String {
    mail.lines()
        .find(|l| l.contains("/account/activate/"))
        .unwrap_or_else(|| panic!("no activation link in {mail}"))
        .trim()
        .to_string()
}

/// (id, token) from `…/account/activate/<id>/<token>`.
fn link_parts(link: &str) -> (u64, String) {
    let tail = link.split("/account/activate/").nth(1).unwrap();
    let (id, token) = tail.split_once('/').unwrap();
    (id.parse().unwrap(), token.to_string())
}

fn gid(id: u64) -> String {
    format!("gid://shopify/Customer/{id}")
}

async fn activate(s: &TestServer, sf_token: &str, id: u64, token: &str, password: &str) -> Value {
    let body = sf(
        s,
        sf_token,
        ACTIVATE,
        json!({"id": gid(id), "t": token, "p": password}),
    )
    .await;
    body["data"]["customerActivate"].clone()
}

async fn stored(s: &TestServer, id: u64) -> storekey::model::Account {
    s.auth().account(CustomerId(id)).await.unwrap().unwrap()
}

fn invalid_token(field: &[&str]) -> Value {
    json!([{"code": "TOKEN_INVALID", "field": field, "message": "Activation token is invalid"}])
}

#[tokio::test]
async fn an_invite_mails_a_link_whose_token_activates_once_and_signs_in() {
    let s = TestServer::start().await;
    let sf_token = storefront_token(&s).await;
    let id = invited_customer(&s, ANN).await;
    assert_eq!(invite(&s, id).await, (200, json!(true)));

    let mails = wait_for_mail(&s.outbox_dir(), 1).await;
    assert!(
        mails[0].contains("Subject: Activate your customer account"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains(&format!("To: {ANN}")), "{}", mails[0]);
    let link = activation_link_in(&mails[0]);
    assert!(
        link.starts_with(&format!("http://localhost:3000/account/activate/{id}/")),
        "{link}"
    );
    let (link_id, token) = link_parts(&link);
    assert_eq!(link_id, id);
    assert_eq!(token.len(), 32);

    let done = activate(&s, &sf_token, id, &token, NEW_PASSWORD).await;
    assert_eq!(done["customerUserErrors"], json!([]), "{done}");
    assert_eq!(done["userErrors"], json!([]));
    assert_eq!(done["customer"], json!({"id": gid(id), "email": ANN}));
    let access = done["customerAccessToken"]["accessToken"].as_str().unwrap();
    let me = sf(&s, &sf_token, CUSTOMER, json!({"t": access})).await;
    assert_eq!(me["data"]["customer"]["email"], ANN);

    // The account is enabled: confirmed, not disabled, and the new password signs in.
    let account = stored(&s, id).await;
    assert!(account.customer.confirmed && !account.customer.disabled);
    assert!(account.credentials.activation.is_none());
    assert_eq!(s.sign_in(ANN, NEW_PASSWORD).await.0, 200);

    // The token worked once.
    let again = activate(&s, &sf_token, id, &token, "An0ther-passw0rd").await;
    assert_eq!(
        again["customerUserErrors"],
        invalid_token(&["input", "activationToken"])
    );
    assert_eq!(again["customerAccessToken"], Value::Null);
    assert_eq!(again["customer"], Value::Null);
    assert_eq!(
        again["userErrors"],
        json!([{"field": ["input", "activationToken"], "message": "Activation token is invalid"}])
    );
    assert_eq!(s.sign_in(ANN, NEW_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn activate_by_url_takes_the_mailed_link_and_shopifys_form_on_any_host() {
    let s = TestServer::start().await;
    let sf_token = storefront_token(&s).await;

    let ann = invited_customer(&s, ANN).await;
    invite(&s, ann).await;
    let link = nth_activation_link(&s, 1).await;
    let body = sf(
        &s,
        &sf_token,
        ACTIVATE_BY_URL,
        json!({"u": link, "p": NEW_PASSWORD}),
    )
    .await;
    let done = &body["data"]["customerActivateByUrl"];
    assert_eq!(done["customerUserErrors"], json!([]), "{body}");
    assert_eq!(done["customer"]["email"], ANN);
    let access = done["customerAccessToken"]["accessToken"].as_str().unwrap();
    let me = sf(&s, &sf_token, CUSTOMER, json!({"t": access})).await;
    assert_eq!(me["data"]["customer"]["id"], gid(ann));

    // Used: the same link is refused, at the field it came from.
    let body = sf(
        &s,
        &sf_token,
        ACTIVATE_BY_URL,
        json!({"u": link, "p": "An0ther-passw0rd"}),
    )
    .await;
    assert_eq!(
        body["data"]["customerActivateByUrl"],
        json!({"customer": null, "customerAccessToken": null, "customerUserErrors": invalid_token(&["activationUrl"])})
    );

    // Shopify's own form on the shop's domain reads the same.
    let bob = invited_customer(&s, "bob.invited@example.com").await;
    invite(&s, bob).await;
    let (_, token) = link_parts(&nth_activation_link(&s, 2).await);
    let shopify = format!("https://jsmith.myshopify.com/account/activate/{bob}/{token}?syclid=x");
    let body = sf(
        &s,
        &sf_token,
        ACTIVATE_BY_URL,
        json!({"u": shopify, "p": NEW_PASSWORD}),
    )
    .await;
    let done = &body["data"]["customerActivateByUrl"];
    assert_eq!(done["customerUserErrors"], json!([]), "{body}");
    assert_eq!(done["customer"]["email"], "bob.invited@example.com");

    // A URL that names no customer and token.
    let body = sf(
        &s,
        &sf_token,
        ACTIVATE_BY_URL,
        json!({"u": "https://shop.example/account/login", "p": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        body["data"]["customerActivateByUrl"]["customerUserErrors"],
        json!([{"code": "INVALID", "field": ["activationUrl"], "message": "Activation URL is invalid"}])
    );
}

#[tokio::test]
async fn a_refused_activation_changes_nothing() {
    let s = TestServer::start().await;
    let sf_token = storefront_token(&s).await;
    let id = invited_customer(&s, ANN).await;
    invite(&s, id).await;
    let (_, token) = link_parts(&nth_activation_link(&s, 1).await);
    let before = stored(&s, id).await;

    let wrong = activate(&s, &sf_token, id, &"0".repeat(32), NEW_PASSWORD).await;
    assert_eq!(
        wrong["customerUserErrors"],
        invalid_token(&["input", "activationToken"])
    );
    // Another customer's id with this token.
    let other = invited_customer(&s, "other@example.com").await;
    let elsewhere = activate(&s, &sf_token, other, &token, NEW_PASSWORD).await;
    assert_eq!(
        elsewhere["customerUserErrors"],
        invalid_token(&["input", "activationToken"])
    );
    let bad_id = sf(
        &s,
        &sf_token,
        ACTIVATE,
        json!({"id": "gid://shopify/Product/1", "t": token, "p": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        bad_id["data"]["customerActivate"]["customerUserErrors"],
        json!([{"code": "INVALID", "field": ["id"], "message": "Customer id is invalid"}])
    );
    let short = activate(&s, &sf_token, id, &token, "short").await;
    assert_eq!(
        short["customerUserErrors"],
        json!([{"code": "TOO_SHORT", "field": ["input", "password"], "message": "Password is too short (minimum is 8 characters)"}])
    );
    let spaced = activate(&s, &sf_token, id, &token, " Activ8-my-account").await;
    assert_eq!(
        spaced["customerUserErrors"][0]["code"],
        "PASSWORD_STARTS_OR_ENDS_WITH_WHITESPACE"
    );
    assert_eq!(stored(&s, id).await, before, "nothing was written");

    // The token still works after all that.
    let done = activate(&s, &sf_token, id, &token, NEW_PASSWORD).await;
    assert_eq!(done["customerUserErrors"], json!([]), "{done}");
}

#[tokio::test]
async fn an_activation_token_expires_after_30_days_even_before_the_sweeper() {
    let s = TestServer::start().await;
    let sf_token = storefront_token(&s).await;
    let id = invited_customer(&s, ANN).await;
    invite(&s, id).await;
    let (_, token) = link_parts(&nth_activation_link(&s, 1).await);
    let slot = stored(&s, id).await.credentials.activation.unwrap();
    assert_eq!(slot.expires_at - slot.created_at, 30 * 86_400);

    s.clock.advance(30 * 86_400);
    let late = activate(&s, &sf_token, id, &token, NEW_PASSWORD).await;
    assert_eq!(
        late["customerUserErrors"],
        json!([{"code": "TOKEN_INVALID", "field": ["input", "activationToken"], "message": "Activation token has expired"}])
    );
    let account = stored(&s, id).await;
    assert!(account.credentials.password_hash.is_none());
}

#[tokio::test]
async fn the_lifetime_and_the_link_follow_the_configuration() {
    let s = TestServer::start_with(|c| {
        c.account.activation_ttl_days = 2;
        c.account.activation_url_template =
            "https://shop.example/welcome?customer={id}&key={token}&for={email}".into();
    })
    .await;
    let sf_token = storefront_token(&s).await;
    let id = invited_customer(&s, "nic+shop@example.com").await;
    invite(&s, id).await;
    let mails = wait_for_mail(&s.outbox_dir(), 1).await;
    let link = mails[0]
        .lines()
        .find(|l| l.contains("https://shop.example/welcome?"))
        .unwrap()
        .trim()
        .to_string();
    assert!(
        link.starts_with(&format!("https://shop.example/welcome?customer={id}&key=")),
        "{link}"
    );
    assert!(link.ends_with("&for=nic%2Bshop%40example.com"), "{link}");
    assert!(mails[0].contains("expires in 2 day(s)"), "{}", mails[0]);
    let slot = stored(&s, id).await.credentials.activation.unwrap();
    assert_eq!(slot.expires_at - slot.created_at, 2 * 86_400);

    let body = sf(
        &s,
        &sf_token,
        ACTIVATE_BY_URL,
        json!({"u": link, "p": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        body["data"]["customerActivateByUrl"]["customerUserErrors"],
        json!([]),
        "{body}"
    );
}

#[tokio::test]
async fn invite_rules_in_the_admin_api() {
    let s = TestServer::start().await;
    assert_eq!(
        invite(&s, 999).await,
        (
            404,
            json!({"message": "No such entity with customerId = 999"})
        )
    );
    assert_eq!(
        s.rest(
            "POST",
            "/rest/V1/customers/1/invite",
            None,
            Some("wrong key")
        )
        .await,
        (
            401,
            json!({"message": "The consumer isn't authorized to access %resources."})
        )
    );
    // An enabled account (password, confirmed, not disabled) gets no invite, as on Shopify.
    let enabled = s.admin_customer(BOB, BOB_PASSWORD, false).await;
    assert_eq!(
        invite(&s, enabled).await,
        (
            409,
            json!({"message": "The customer's account is already enabled: they can sign in or reset their password."})
        )
    );
    assert!(stored(&s, enabled).await.credentials.activation.is_none());

    // A disabled one is invited, and activation enables it with the new password.
    let (status, _) = s
        .admin(
            "PUT",
            &format!("/rest/V1/customers/{enabled}"),
            Some(json!({"customer": {"disabled": true}})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(invite(&s, enabled).await, (200, json!(true)));
    let (_, token) = link_parts(&nth_activation_link(&s, 1).await);
    assert_eq!(
        wait_for_mail(&s.outbox_dir(), 1).await.len(),
        1,
        "the refused invite mailed nothing"
    );
    let sf_token = storefront_token(&s).await;
    let done = activate(&s, &sf_token, enabled, &token, NEW_PASSWORD).await;
    assert_eq!(done["customerUserErrors"], json!([]), "{done}");
    assert_eq!(s.sign_in(BOB, NEW_PASSWORD).await.0, 200);
    assert_ne!(
        s.sign_in(BOB, BOB_PASSWORD).await.1["errors"],
        Value::Null,
        "the old password is gone"
    );
}

#[tokio::test]
async fn a_new_invite_replaces_the_live_token() {
    let s = TestServer::start().await;
    let sf_token = storefront_token(&s).await;
    let id = invited_customer(&s, ANN).await;
    invite(&s, id).await;
    let (_, first) = link_parts(&nth_activation_link(&s, 1).await);
    invite(&s, id).await;
    let (_, second) = link_parts(&nth_activation_link(&s, 2).await);
    assert_ne!(first, second);
    let old = activate(&s, &sf_token, id, &first, NEW_PASSWORD).await;
    assert_eq!(
        old["customerUserErrors"],
        invalid_token(&["input", "activationToken"])
    );
    let new = activate(&s, &sf_token, id, &second, NEW_PASSWORD).await;
    assert_eq!(new["customerUserErrors"], json!([]), "{new}");
}

#[tokio::test]
async fn the_token_is_kept_only_as_its_digest() {
    let mut s = TestServer::start().await;
    let id = invited_customer(&s, ANN).await;
    invite(&s, id).await;
    let (_, token) = link_parts(&nth_activation_link(&s, 1).await);
    let slot = stored(&s, id).await.credentials.activation.unwrap();
    assert_eq!(slot.digest, storekey::auth::secret::digest(&token));
    assert_eq!(slot.issued_by.as_deref(), Some("env"));
    if !on_postgres() {
        s.stop().await;
        let bytes = std::fs::read(s.db_path()).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token itself is in the database file"
        );
    }
}

#[tokio::test]
async fn thirty_two_racing_activations_of_one_token_activate_once() {
    let s = TestServer::start().await;
    let sf_token = storefront_token(&s).await;
    let id = invited_customer(&s, ANN).await;
    invite(&s, id).await;
    let (_, token) = link_parts(&nth_activation_link(&s, 1).await);
    let racers = (0..32).map(|i| {
        let (s, sf_token, token) = (&s, &sf_token, &token);
        async move { activate(s, sf_token, id, token, &format!("Activ8-racer-{i:02}")).await }
    });
    let answers = futures_util::future::join_all(racers).await;
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|a| a["customerAccessToken"].is_object())
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for loser in answers
        .iter()
        .filter(|a| !a["customerAccessToken"].is_object())
    {
        assert_eq!(
            loser["customerUserErrors"],
            invalid_token(&["input", "activationToken"]),
            "{loser}"
        );
    }
    // Exactly one activation_used entry, and only the winner's token lives.
    let (_, audit) = s
        .admin("GET", "/rest/V1/audit?after=0&limit=100", None)
        .await;
    let used = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "activation_used")
        .count();
    assert_eq!(used, 1, "{audit}");
    let access = winners[0]["customerAccessToken"]["accessToken"]
        .as_str()
        .unwrap();
    let me = sf(&s, &sf_token, CUSTOMER, json!({"t": access})).await;
    assert_eq!(me["data"]["customer"]["email"], ANN);
}

#[tokio::test]
async fn issue_and_use_are_audited() {
    let s = TestServer::start().await;
    let sf_token = storefront_token(&s).await;
    let id = invited_customer(&s, ANN).await;
    invite(&s, id).await;
    let (_, token) = link_parts(&nth_activation_link(&s, 1).await);
    activate(&s, &sf_token, id, &token, NEW_PASSWORD).await;
    let (status, audit) = s
        .admin("GET", "/rest/V1/audit?after=0&limit=100", None)
        .await;
    assert_eq!(status, 200);
    let ours: Vec<(String, String, u64, Value)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("activation"))
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["customer_id"].as_u64().unwrap(),
                e["detail"].clone(),
            )
        })
        .collect();
    assert_eq!(
        ours,
        vec![
            ("env".into(), "activation_issued".into(), id, Value::Null),
            (
                "customer".into(),
                "activation_used".into(),
                id,
                json!("invited by env")
            ),
        ]
    );
}

#[tokio::test]
async fn the_sweeper_purges_an_expired_activation_token() {
    let s = TestServer::start().await;
    let ann = invited_customer(&s, ANN).await;
    let bob = invited_customer(&s, "bob.invited@example.com").await;
    invite(&s, ann).await;
    s.clock.advance(86_400);
    invite(&s, bob).await;
    s.clock.advance(29 * 86_400);
    let report = storekey::sweeper::sweep_now(s.auth()).await.unwrap();
    assert_eq!(report.activations, 1, "{report:?}");
    assert!(stored(&s, ann).await.credentials.activation.is_none());
    assert!(stored(&s, bob).await.credentials.activation.is_some());
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("storekey_sweeper_purged_total{kind=\"activation\"} 1"),
        "{metrics}"
    );
    if !on_postgres() {
        let reader = s.store().redb().expect("a redb store").read().unwrap();
        assert_eq!(reader.expiry_index_len().unwrap(), 1, "bob's entry stays");
    }
}

#[tokio::test]
async fn the_invite_mail_arrives_over_smtp() {
    let sink = SmtpSink::start(Some(("shop", "s3cret")));
    let s = TestServer::start_with(|c| {
        c.mail.transport = MailTransport::Smtp;
        c.mail.smtp_host = Some("127.0.0.1".into());
        c.mail.smtp_port = sink.port;
        c.mail.smtp_tls = SmtpTls::None;
        c.mail.smtp_username = Some("shop".into());
        c.mail.smtp_password = Some("s3cret".into());
        c.mail.from = "store@example.com".into();
    })
    .await;
    let sf_token = storefront_token(&s).await;
    let id = invited_customer(&s, ANN).await;
    assert_eq!(invite(&s, id).await, (200, json!(true)));
    let mailbox = sink.mailbox.clone();
    let mails = tokio::task::spawn_blocking(move || mailbox.wait_for(1))
        .await
        .unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].rcpt_to, vec![ANN.to_string()]);
    let text = mails[0].text();
    assert!(
        text.contains("Subject: Activate your customer account"),
        "{text}"
    );
    let (_, token) = link_parts(&activation_link_in(&text));
    let done = activate(&s, &sf_token, id, &token, NEW_PASSWORD).await;
    assert_eq!(done["customerUserErrors"], json!([]), "{done}");
}

// ---- several instances on one PostgreSQL database (the pattern of instances.rs) ----

async fn three_instances() -> Option<(TestDatabase, Vec<TestServer>)> {
    let db = database(Schema::Migrated).await?;
    let mut servers = Vec::new();
    for _ in 0..3 {
        let storage = db.storage();
        servers.push(TestServer::start_with(move |c| c.storage = storage).await);
    }
    Some((db, servers))
}

#[tokio::test]
async fn one_activation_token_activates_once_across_three_instances() {
    let Some((_db, servers)) = three_instances().await else {
        return;
    };
    let sf_token = storefront_token(&servers[0]).await;
    let id = invited_customer(&servers[0], ANN).await;
    invite(&servers[1], id).await;
    let (_, token) = link_parts(&nth_activation_link(&servers[1], 1).await);
    let racers = (0..24).map(|i| {
        let (server, sf_token, token) = (&servers[i % 3], &sf_token, &token);
        async move { activate(server, sf_token, id, token, &format!("Activ8-racer-{i:02}")).await }
    });
    let answers = futures_util::future::join_all(racers).await;
    let winners = answers
        .iter()
        .filter(|a| a["customerAccessToken"].is_object())
        .count();
    assert_eq!(winners, 1, "{answers:?}");
    assert!(stored(&servers[2], id)
        .await
        .credentials
        .activation
        .is_none());
}

// ---- Customer.orders ----

#[tokio::test]
async fn selecting_orders_is_an_error_naming_the_field_on_both_dialects() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let token = s.token(BOB, BOB_PASSWORD).await;
    let message = "storekey keeps no orders: the field `orders` is not served";

    // Commerce: Alokai's and Luma's order documents validate, and `orders` is null with an error.
    let (status, body) = s
        .gql(
            "query($f:CustomerOrdersFilterInput,$p:Int,$s:Int){ customer { email orders(filter:$f, currentPage:$p, pageSize:$s) { total_count page_info { current_page page_size total_pages } items { id number order_date status } } } }",
            json!({"f": {"number": {"eq": "000000001"}}, "p": 1, "s": 10}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["customer"]["email"], BOB, "{body}");
    assert_eq!(body["data"]["customer"]["orders"], Value::Null);
    assert_eq!(body["errors"][0]["message"], message, "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["customer", "orders"]));

    // Storefront: Hydrogen's account page selects orders the same way.
    let sf_token = storefront_token(&s).await;
    let sf_access = {
        let body = sf(
            &s,
            &sf_token,
            "mutation($e:String!,$p:String!){ customerAccessTokenCreate(input:{email:$e, password:$p}) { customerAccessToken { accessToken } } }",
            json!({"e": BOB, "p": BOB_PASSWORD}),
        )
        .await;
        body["data"]["customerAccessTokenCreate"]["customerAccessToken"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let body = sf(
        &s,
        &sf_token,
        "query($t:String!){ customer(customerAccessToken:$t) { email orders(first: 20, sortKey: PROCESSED_AT, reverse: true) { totalCount pageInfo { hasNextPage endCursor } nodes { id name orderNumber processedAt } edges { cursor node { id } } } } }",
        json!({"t": sf_access}),
    )
    .await;
    assert_eq!(body["data"]["customer"]["email"], BOB, "{body}");
    assert_eq!(body["data"]["customer"]["orders"], Value::Null);
    assert_eq!(body["errors"][0]["message"], message, "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["customer", "orders"]));

    // An order page asking for order fields storekey does not declare (Hydrogen's, through a
    // fragment) fails validation: the answer names `orders`, not the unknown fields below it.
    let body = sf(
        &s,
        &sf_token,
        "query($t:String!){ customer(customerAccessToken:$t) { ...CustomerOrders } } fragment CustomerOrders on Customer { numberOfOrders orders(first: 20) { nodes { currentTotalPrice { amount currencyCode } lineItems(first: 10) { nodes { title } } } } }",
        json!({"t": sf_access}),
    )
    .await;
    assert_eq!(body["data"], Value::Null, "{body}");
    assert_eq!(body["errors"], json!([{"message": message}]), "{body}");
    // A document that fails validation without selecting orders keeps its own errors.
    let body = sf(&s, &sf_token, "{ customer { nope } }", json!({})).await;
    assert_ne!(body["errors"][0]["message"], message, "{body}");
}
