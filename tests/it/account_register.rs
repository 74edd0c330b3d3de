//! Creating an account on the hosted pages (SPEC §10): the address is verified with a mailed
//! code before the account exists, so it is created confirmed and ID tokens say
//! `email_verified: true`; an address with an account gets the same page and a different mail.

use crate::account_code::{code_in, csrf, mails_with, return_to_of};
use crate::oidc::{
    add_client, claims_of, exchange, location, oidc_server, query_param, Browser, CALLBACK,
};
use crate::support::{wait_for_mail, TestServer, BOB, BOB_PASSWORD};
use storekey::store::Backend as _;

const SENT: &str =
    "We sent an email to that address. Enter the code from it to create your account.";
const ANN: &str = "ann.new@example.com";
const ANN_PASSWORD: &str = "Ann-s3cret-pass";

/// Asks to register `email`: status, page, and the form's `issued` value.
pub async fn ask(
    s: &TestServer,
    b: &mut Browser,
    email: &str,
    return_to: &str,
) -> (u16, String, String) {
    let token = csrf(s, b, "/account/register").await;
    let resp = b
        .post(
            &s.url("/account/register"),
            &[("csrf", &token), ("return_to", return_to), ("email", email)],
        )
        .await;
    let status = resp.status().as_u16();
    let page = resp.text().await.unwrap();
    let at = page
        .find("name=\"issued\" value=\"")
        .expect("an issued field")
        + 21;
    let issued = page[at..].split('"').next().unwrap().to_string();
    (status, page, issued)
}

pub async fn complete(
    s: &TestServer,
    b: &mut Browser,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = csrf(s, b, "/account/register").await;
    let mut form = vec![("csrf", token.as_str())];
    form.extend_from_slice(fields);
    b.post(&s.url("/account/register/complete"), &form).await
}

#[tokio::test]
async fn registration_creates_a_confirmed_customer_whose_id_token_has_email_verified() {
    let s = TestServer::start_with(|c| {
        c.oidc.enabled = true;
        c.account.require_confirmation = true;
    })
    .await;
    let client = add_client(&s, true).await;
    let mut b = Browser::new();
    let return_to = return_to_of(&s, &mut b, &client.0).await;
    let (status, page, issued) = ask(&s, &mut b, ANN, &return_to).await;
    assert_eq!(status, 200);
    assert!(page.contains(SENT), "{page}");
    let mails = mails_with(&s, 1, "Verify your email address").await;
    let code = code_in(&mails[0]);
    let resp = complete(
        &s,
        &mut b,
        &[
            ("return_to", &return_to),
            ("email", ANN),
            ("issued", &issued),
            ("code", &code),
            ("password", ANN_PASSWORD),
            ("firstname", "Ann"),
            ("lastname", "Lee"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    assert_eq!(location(&resp), return_to);
    let customer = s.auth().customer_by_email(ANN).await.unwrap().unwrap();
    assert!(customer.confirmed);
    assert_eq!(customer.profile.firstname.as_deref(), Some("Ann"));

    let resp = b.get(&s.url(&return_to)).await;
    assert_eq!(resp.status(), 302);
    let to_client = location(&resp);
    assert!(to_client.starts_with(CALLBACK), "{to_client}");
    let code = query_param(&to_client, "code").unwrap();
    let (status, tokens) = exchange(
        &s,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["email"], ANN);
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["given_name"], "Ann");
    // The password set there works.
    assert_eq!(s.sign_in(ANN, ANN_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn a_code_creates_one_account_once() {
    let s = oidc_server().await;
    let mut b = Browser::new();
    let (_, _, issued) = ask(&s, &mut b, ANN, "/account").await;
    let code = code_in(&mails_with(&s, 1, "Verify your email address").await[0]);
    let fields = [
        ("email", ANN),
        ("issued", issued.as_str()),
        ("code", code.as_str()),
        ("password", ANN_PASSWORD),
    ];
    assert_eq!(complete(&s, &mut b, &fields).await.status(), 303);
    let mut other = Browser::new();
    let again = complete(&s, &mut other, &fields).await;
    assert_eq!(again.status(), 401);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("That code is not valid."));
}

#[tokio::test]
async fn an_existing_email_gets_the_same_page_another_mail_and_no_second_account() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut b = Browser::new();
    let (new_status, new_page, new_issued) = ask(&s, &mut b, ANN, "/account").await;
    let (old_status, old_page, old_issued) = ask(&s, &mut b, BOB, "/account").await;
    assert_eq!(new_status, old_status);
    assert_eq!(
        new_page.replace(ANN, "X").replace(&new_issued, "T"),
        old_page.replace(BOB, "X").replace(&old_issued, "T")
    );
    let mails = wait_for_mail(&s.outbox_dir(), 2).await;
    assert_eq!(mails.len(), 2);
    let to_bob = mails
        .iter()
        .find(|m| m.contains(&format!("To: {BOB}")))
        .unwrap();
    assert!(
        to_bob.contains("Subject: You already have an account"),
        "{to_bob}"
    );
    assert!(to_bob.contains("/account/sign-in"));
    assert!(to_bob.contains("/account/forgot"));
    assert!(
        !to_bob
            .lines()
            .any(|l| l.trim().len() == 6 && l.trim().bytes().all(|c| c.is_ascii_digit())),
        "no code for an address that has an account"
    );
    // Ann's code does not create Bob.
    let ann_code = code_in(
        mails
            .iter()
            .find(|m| m.contains("Subject: Verify your email address"))
            .unwrap(),
    );
    let resp = complete(
        &s,
        &mut b,
        &[
            ("email", BOB),
            ("issued", &old_issued),
            ("code", &ann_code),
            ("password", ANN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert_eq!(s.store().customer_count().await.unwrap(), 1);
    assert_eq!(
        s.sign_in(BOB, BOB_PASSWORD).await.0,
        200,
        "Bob's password stays"
    );
}

#[tokio::test]
async fn a_weak_password_is_shown_and_spends_no_guess() {
    let s = oidc_server().await;
    let mut b = Browser::new();
    let (_, _, issued) = ask(&s, &mut b, ANN, "/account").await;
    let code = code_in(&mails_with(&s, 1, "Verify your email address").await[0]);
    for _ in 0..6 {
        let resp = complete(
            &s,
            &mut b,
            &[
                ("email", ANN),
                ("issued", &issued),
                ("code", &code),
                ("password", "short"),
            ],
        )
        .await;
        assert_eq!(resp.status(), 400);
        let page = resp.text().await.unwrap();
        assert!(page.contains("The password needs at least"), "{page}");
    }
    let resp = complete(
        &s,
        &mut b,
        &[
            ("email", ANN),
            ("issued", &issued),
            ("code", &code),
            ("password", ANN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn five_wrong_registration_codes_void_it() {
    let s = oidc_server().await;
    let mut b = Browser::new();
    let (_, _, issued) = ask(&s, &mut b, ANN, "/account").await;
    let code = code_in(&mails_with(&s, 1, "Verify your email address").await[0]);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let with = |code: &str| {
        [
            ("email", ANN.to_string()),
            ("issued", issued.clone()),
            ("code", code.to_string()),
            ("password", ANN_PASSWORD.to_string()),
        ]
    };
    for _ in 0..5 {
        let f = with(wrong);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(complete(&s, &mut b, &f).await.status(), 401);
    }
    let f = with(&code);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(complete(&s, &mut b, &f).await.status(), 401);
    assert!(s.auth().customer_by_email(ANN).await.unwrap().is_none());
}
