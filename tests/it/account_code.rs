//! The hosted pages' sign-in with a mailed code (SPEC §10): six digits, single use,
//! `oidc.login_code_minutes`, five wrong guesses void it, one page for every address; and the
//! CSRF token every form of the hosted pages needs.

use crate::oidc::{
    add_client, authorize_url, csrf_of, location, oidc_server, query_param, Browser, CALLBACK,
};
use crate::support::{wait_for_mail, TestServer, BOB, BOB_PASSWORD};

pub const CODE_SENT: &str = "If an account exists for that address, we sent a code to it.";
const CODE_REFUSED: &str = "That code is not valid. Check the email, or ask for a new code.";

/// The six-digit line of a mail.
pub fn code_in(mail: &str) -> String {
    mail.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {mail}"))
        .to_string()
}

/// The mails in the outbox whose subject is `subject`.
pub async fn mails_with(s: &TestServer, n: usize, subject: &str) -> Vec<String> {
    wait_for_mail(&s.outbox_dir(), n)
        .await
        .into_iter()
        .filter(|m| m.contains(&format!("Subject: {subject}")))
        .collect()
}

/// The authorization request's sign-in page path (`return_to` inside).
pub async fn return_to_of(s: &TestServer, b: &mut Browser, client_id: &str) -> String {
    let resp = b.get(&authorize_url(s, client_id, "")).await;
    assert_eq!(resp.status(), 302);
    query_param(&location(&resp), "return_to").unwrap()
}

/// GETs `path` and gives its CSRF token.
pub async fn csrf(s: &TestServer, b: &mut Browser, path: &str) -> String {
    let page = b.get(&s.url(path)).await;
    assert_eq!(page.status(), 200, "{path}");
    csrf_of(&page.text().await.unwrap())
}

/// Asks for a code for `email`: the page's status and text.
async fn ask_code(s: &TestServer, b: &mut Browser, email: &str, return_to: &str) -> (u16, String) {
    let token = csrf(s, b, "/account/code").await;
    let resp = b
        .post(
            &s.url("/account/code"),
            &[("csrf", &token), ("return_to", return_to), ("email", email)],
        )
        .await;
    (resp.status().as_u16(), resp.text().await.unwrap())
}

pub async fn enter_code(
    s: &TestServer,
    b: &mut Browser,
    email: &str,
    code: &str,
    return_to: &str,
) -> reqwest::Response {
    let token = csrf(s, b, "/account/code").await;
    b.post(
        &s.url("/account/code/verify"),
        &[
            ("csrf", &token),
            ("return_to", return_to),
            ("email", email),
            ("code", code),
        ],
    )
    .await
}

pub async fn mailed_code(s: &TestServer, b: &mut Browser, return_to: &str) -> String {
    let (status, page) = ask_code(s, b, BOB, return_to).await;
    assert_eq!(status, 200);
    assert!(page.contains(CODE_SENT), "{page}");
    let mails = mails_with(s, 1, "Your sign-in code").await;
    assert_eq!(mails.len(), 1);
    code_in(&mails[0])
}

#[tokio::test]
async fn a_mailed_code_signs_in_and_authorize_then_issues_a_code_without_a_password() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let mut b = Browser::new();
    let return_to = return_to_of(&s, &mut b, &client.0).await;
    let code = mailed_code(&s, &mut b, &return_to).await;
    let resp = enter_code(&s, &mut b, BOB, &code, &return_to).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), return_to);
    assert!(b.cookie("storekey_account").is_some());
    let resp = b.get(&s.url(&return_to)).await;
    assert_eq!(resp.status(), 302);
    let to_client = location(&resp);
    assert!(to_client.starts_with(CALLBACK), "{to_client}");
    assert!(query_param(&to_client, "code").is_some(), "{to_client}");
}

#[tokio::test]
async fn a_code_works_once() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut b = Browser::new();
    let code = mailed_code(&s, &mut b, "/account").await;
    let first = enter_code(&s, &mut b, BOB, &code, "/account").await;
    assert_eq!(first.status(), 303);
    let mut other = Browser::new();
    let again = enter_code(&s, &mut other, BOB, &code, "/account").await;
    assert_eq!(again.status(), 401);
    assert!(again.text().await.unwrap().contains(CODE_REFUSED));
    assert!(other.cookie("storekey_account").is_none());
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut b = Browser::new();
    let code = mailed_code(&s, &mut b, "/account").await;
    s.clock.advance(10 * 60);
    let resp = enter_code(&s, &mut b, BOB, &code, "/account").await;
    assert_eq!(resp.status(), 401);
    assert!(resp.text().await.unwrap().contains(CODE_REFUSED));
    assert!(b.cookie("storekey_account").is_none());
}

#[tokio::test]
async fn five_wrong_guesses_void_the_code() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut b = Browser::new();
    let code = mailed_code(&s, &mut b, "/account").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let resp = enter_code(&s, &mut b, BOB, wrong, "/account").await;
        assert_eq!(resp.status(), 401);
        assert!(resp.text().await.unwrap().contains(CODE_REFUSED));
    }
    let resp = enter_code(&s, &mut b, BOB, &code, "/account").await;
    assert_eq!(resp.status(), 401, "the right code after five wrong ones");
    assert!(b.cookie("storekey_account").is_none());
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(stored.credentials.login_code, None);
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_page_and_no_mail() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut b = Browser::new();
    let (known_status, known) = ask_code(&s, &mut b, BOB, "/account").await;
    const NOBODY: &str = "nobody-at-all@example.com";
    let (unknown_status, unknown) = ask_code(&s, &mut b, NOBODY, "/account").await;
    assert_eq!(known_status, unknown_status);
    let blind = |page: &str, email: &str| {
        page.replace(email, "X")
            .replace(&email.replace('@', "%40"), "X")
    };
    assert_eq!(blind(&known, BOB), blind(&unknown, NOBODY));
    assert!(unknown.contains(CODE_SENT));
    // Bob's mail comes; nobody's never does.
    assert_eq!(mails_with(&s, 1, "Your sign-in code").await.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mails = wait_for_mail(&s.outbox_dir(), 1).await;
    assert_eq!(mails.len(), 1);
    assert!(!mails.iter().any(|m| m.contains(NOBODY)));
    // A guess for the unknown address is refused like a wrong code.
    let resp = enter_code(&s, &mut b, NOBODY, "123456", "/account").await;
    assert_eq!(resp.status(), 401);
    assert!(resp.text().await.unwrap().contains(CODE_REFUSED));
}

#[tokio::test]
async fn every_form_of_the_hosted_pages_needs_its_csrf_token() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let forms: [(&str, &[(&str, &str)]); 7] = [
        ("/account/code", &[("email", BOB)]),
        (
            "/account/code/verify",
            &[("email", BOB), ("code", "123456")],
        ),
        ("/account/register", &[("email", "new@example.com")]),
        (
            "/account/register/complete",
            &[("email", "new@example.com"), ("code", "123456")],
        ),
        ("/account/forgot", &[("email", BOB)]),
        ("/account/reset", &[("email", BOB), ("token", "x")]),
        (
            "/account/sign-in",
            &[("email", BOB), ("password", BOB_PASSWORD)],
        ),
    ];
    for (path, fields) in forms {
        // No cookie at all, then a cookie with a form that does not match it.
        let mut b = Browser::new();
        let resp = b.post(&s.url(path), fields).await;
        assert_eq!(resp.status(), 403, "{path} without a token");
        let _ = csrf(&s, &mut b, "/account/code").await;
        let mut with_wrong: Vec<(&str, &str)> = fields.to_vec();
        let wrong = "A".repeat(43);
        with_wrong.push(("csrf", &wrong));
        let resp = b.post(&s.url(path), &with_wrong).await;
        assert_eq!(resp.status(), 403, "{path} with a wrong token");
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("This form has expired. Please try again."),
            "{path}"
        );
        assert!(b.cookie("storekey_account").is_none());
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        wait_for_mail(&s.outbox_dir(), 1).await.is_empty(),
        "no form without its token sent mail"
    );
}
