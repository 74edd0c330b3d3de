//! Forgot password → reset on the hosted pages (SPEC §10): the mailed link leads to the hosted
//! reset page on the issuer, the new password signs the customer in, `return_to` carried
//! through; every address gets the same page.

use crate::account_code::{csrf, mails_with, return_to_of};
use crate::oidc::{add_client, location, oidc_server, query_param, Browser, CALLBACK};
use crate::support::{wait_for_mail, TestServer, BOB, BOB_PASSWORD};

const SENT: &str = "If an account exists for that address, we sent a link to set a new password.";

async fn forgot(s: &TestServer, b: &mut Browser, email: &str, return_to: &str) -> (u16, String) {
    let token = csrf(s, b, "/account/forgot").await;
    let resp = b
        .post(
            &s.url("/account/forgot"),
            &[("csrf", &token), ("return_to", return_to), ("email", email)],
        )
        .await;
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The link of a mail.
fn link_in(mail: &str) -> String {
    mail.lines()
        .map(str::trim)
        .find(|l| l.starts_with("http"))
        .unwrap_or_else(|| panic!("no link in {mail}"))
        .to_string()
}

#[tokio::test]
async fn the_mailed_link_sets_a_new_password_and_signs_in_back_to_the_app() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let mut b = Browser::new();
    let return_to = return_to_of(&s, &mut b, &client.0).await;
    let (status, page) = forgot(&s, &mut b, BOB, &return_to).await;
    assert_eq!(status, 200);
    assert!(page.contains(SENT), "{page}");
    let mails = mails_with(&s, 1, "Reset your password").await;
    let link = link_in(&mails[0]);
    let path = link.strip_prefix(&s.url("")).expect("a link on the issuer");
    assert!(path.starts_with("/account/reset?"), "{path}");
    assert_eq!(
        query_param(path, "return_to").as_deref(),
        Some(return_to.as_str())
    );

    let page = b.get(&s.url(path)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let token = crate::oidc::csrf_of(&html);
    let resp = b
        .post(
            &s.url("/account/reset"),
            &[
                ("csrf", &token),
                ("return_to", &query_param(path, "return_to").unwrap()),
                ("email", &query_param(path, "email").unwrap()),
                ("token", &query_param(path, "token").unwrap()),
                ("password", "N3w-passw0rd"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    assert_eq!(location(&resp), return_to);
    let resp = b.get(&s.url(&return_to)).await;
    assert_eq!(resp.status(), 302);
    assert!(location(&resp).starts_with(CALLBACK));
    assert_eq!(s.sign_in(BOB, "N3w-passw0rd").await.0, 200);
    assert_ne!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);

    // The link worked once.
    let resp = b
        .post(
            &s.url("/account/reset"),
            &[
                ("csrf", &token),
                ("email", BOB),
                ("token", &query_param(path, "token").unwrap()),
                ("password", "An0ther-passw0rd"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("This link is not valid or has expired."));
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_page_and_no_mail() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut b = Browser::new();
    let (known_status, known) = forgot(&s, &mut b, BOB, "/account").await;
    const NOBODY: &str = "nobody-at-all@example.com";
    let (unknown_status, unknown) = forgot(&s, &mut b, NOBODY, "/account").await;
    assert_eq!(known_status, unknown_status);
    assert_eq!(known.replace(BOB, "X"), unknown.replace(NOBODY, "X"));
    assert_eq!(mails_with(&s, 1, "Reset your password").await.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(wait_for_mail(&s.outbox_dir(), 1).await.len(), 1);
}

#[tokio::test]
async fn the_pages_link_to_each_other_carrying_return_to() {
    let s = oidc_server().await;
    let mut b = Browser::new();
    let page = b
        .get(&s.url("/account/sign-in?return_to=%2Foauth%2Fauthorize%3Fclient_id%3Dx"))
        .await
        .text()
        .await
        .unwrap();
    for path in ["/account/code", "/account/forgot", "/account/register"] {
        let link = format!("href=\"{path}?return_to=%2Foauth%2Fauthorize%3Fclient_id%3Dx\"");
        assert!(page.contains(&link), "{link} in {page}");
    }
    for path in ["/account/code", "/account/forgot", "/account/register"] {
        let page = b
            .get(&s.url(&format!("{path}?return_to=%2Foauth%2Fauthorize%3Fa%3Db")))
            .await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("href=\"/account/sign-in?return_to=%2Foauth%2Fauthorize%3Fa%3Db\""),
            "{html}"
        );
        assert!(html.contains("<label for=\"email\">Email</label>"));
    }
}
