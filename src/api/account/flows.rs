//! The hosted pages beside the password sign-in: sign in with a mailed code (`/account/code`),
//! create an account with a verified address (`/account/register`), and forgot password →
//! reset (`/account/forgot`, `/account/reset`). Each page is a thin layer on one use case of
//! the core (`auth/oidc/login_code.rs`, `registration.rs`, `reset.rs`); every form carries the
//! CSRF token and `return_to`, and every answer to an address is the same whether or not it
//! has an account.

use super::texts::{self, Texts};
use super::{
    client_ip, failure_page, message, render, safe_return, secure, see_other, session_cookie,
    set_cookie, Csrf, Page,
};
use crate::api::{AppState, HttpResponse};
use crate::auth::oidc::authorize::Params;
use crate::auth::oidc::registration::{Pending, RegistrationError};
use crate::auth::one_time::{url_encode, ResetError};
use crate::auth::secret::Secret;
use crate::auth::{Failure, IssuedToken, Profile, SignInError};
use askama::Template;
use std::net::SocketAddr;
use warp::http::{HeaderMap, Method, StatusCode};

/// A link under a form.
pub struct Link {
    pub href: String,
    pub text: &'static str,
}

/// Where a link leads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum To {
    SignIn,
    Code,
    Register,
    Forgot,
}

/// The links to `to`, each carrying `return_to`.
pub fn links(t: &'static Texts, return_to: &str, to: &[To]) -> Vec<Link> {
    let rt = url_encode(return_to);
    to.iter()
        .map(|to| {
            let (path, text) = match to {
                To::SignIn => ("sign-in", t.use_password_instead),
                To::Code => ("code", t.use_code_instead),
                To::Register => ("register", t.create_account),
                To::Forgot => ("forgot", t.forgot_link),
            };
            Link {
                href: format!("/account/{path}?return_to={rt}"),
                text,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "account/email_form.html")]
struct EmailForm<'a> {
    t: &'static Texts,
    page: Page,
    intro: &'static str,
    action: &'static str,
    button: &'static str,
    email: &'a str,
    return_to: &'a str,
    links: Vec<Link>,
}

#[derive(Template)]
#[template(path = "account/code_form.html")]
struct CodeForm<'a> {
    t: &'static Texts,
    page: Page,
    email: &'a str,
    return_to: &'a str,
    links: Vec<Link>,
}

#[derive(Template)]
#[template(path = "account/register_form.html")]
struct RegisterForm<'a> {
    t: &'static Texts,
    page: Page,
    email: &'a str,
    issued: i64,
    firstname: &'a str,
    lastname: &'a str,
    return_to: &'a str,
    links: Vec<Link>,
    /// Passkeys are on: the form may create the account without a password.
    passkeys: bool,
}

#[derive(Template)]
#[template(path = "account/reset_form.html")]
struct ResetForm<'a> {
    t: &'static Texts,
    page: Page,
    email: &'a str,
    token: &'a str,
    return_to: &'a str,
    links: Vec<Link>,
}

/// Which email form.
#[derive(Clone, Copy)]
enum Flow {
    Code,
    Register,
    Forgot,
}

/// What a page says above its form.
struct Said {
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
}

impl Said {
    fn ok() -> Said {
        Said {
            status: StatusCode::OK,
            notice: None,
            error: None,
        }
    }
    fn notice(text: &str) -> Said {
        Said {
            notice: Some(text.to_string()),
            ..Said::ok()
        }
    }
    fn error(status: StatusCode, text: &str) -> Said {
        Said {
            status,
            notice: None,
            error: Some(text.to_string()),
        }
    }
}

/// The request's parts a page needs.
struct Request<'a> {
    state: &'a AppState,
    headers: &'a HeaderMap,
    return_to: String,
}

impl Request<'_> {
    fn email_form(&self, flow: Flow, email: &str, said: Said) -> HttpResponse {
        let t = texts::for_locales(None);
        let (title, intro, action, button, to) = match flow {
            Flow::Code => (
                t.code_title,
                t.code_intro,
                "/account/code",
                t.send_code,
                [To::SignIn, To::Register],
            ),
            Flow::Register => (
                t.register_title,
                t.register_intro,
                "/account/register",
                t.continue_button,
                [To::SignIn, To::Code],
            ),
            Flow::Forgot => (
                t.forgot_title,
                t.forgot_intro,
                "/account/forgot",
                t.send_link,
                [To::SignIn, To::Code],
            ),
        };
        let csrf = Csrf::of(self.headers);
        let p = Page::new(title, &csrf);
        let page = EmailForm {
            t,
            page: p.notice(said.notice).error(said.error),
            intro,
            action,
            button,
            email,
            return_to: &self.return_to,
            links: links(t, &self.return_to, &to),
        };
        self.show(said.status, &page, &csrf)
    }

    fn code_form(&self, email: &str, said: Said) -> HttpResponse {
        let t = texts::for_locales(None);
        let csrf = Csrf::of(self.headers);
        let p = Page::new(t.code_title, &csrf);
        let mut to = links(t, &self.return_to, &[To::Code, To::SignIn]);
        if let Some(again) = to.first_mut() {
            again.text = t.send_another_code;
            again
                .href
                .push_str(&format!("&email={}", url_encode(email)));
        }
        let page = CodeForm {
            t,
            page: p.notice(said.notice).error(said.error),
            email,
            return_to: &self.return_to,
            links: to,
        };
        self.show(said.status, &page, &csrf)
    }

    fn register_form(
        &self,
        email: &str,
        issued: i64,
        profile: &Profile,
        said: Said,
    ) -> HttpResponse {
        let t = texts::for_locales(None);
        let csrf = Csrf::of(self.headers);
        let p = Page::new(t.register_title, &csrf);
        let page = RegisterForm {
            t,
            page: p.notice(said.notice).error(said.error),
            email,
            issued,
            firstname: profile.firstname.as_deref().unwrap_or(""),
            lastname: profile.lastname.as_deref().unwrap_or(""),
            return_to: &self.return_to,
            links: links(t, &self.return_to, &[To::Register, To::SignIn]),
            passkeys: self.state.auth.passkeys_enabled(),
        };
        self.show(said.status, &page, &csrf)
    }

    fn reset_form(&self, email: &str, token: &str, said: Said) -> HttpResponse {
        let t = texts::for_locales(None);
        let csrf = Csrf::of(self.headers);
        let p = Page::new(t.reset_title, &csrf);
        let page = ResetForm {
            t,
            page: p.notice(said.notice).error(said.error),
            email,
            token,
            return_to: &self.return_to,
            links: links(t, &self.return_to, &[To::Forgot, To::SignIn]),
        };
        self.show(said.status, &page, &csrf)
    }

    /// A page of this flow: its form leads on to `return_to`.
    fn show(&self, status: StatusCode, page: &impl Template, csrf: &Csrf) -> HttpResponse {
        render(
            status,
            page,
            csrf,
            secure(self.state),
            Some(&self.return_to),
        )
    }

    /// Signed in: the session's cookie, and on to `return_to`.
    fn signed_in(&self, issued: &IssuedToken) -> HttpResponse {
        self.signed_in_to(issued, &self.return_to)
    }

    /// Signed in: the session's cookie, and on to `next` (a path here).
    fn signed_in_to(&self, issued: &IssuedToken, next: &str) -> HttpResponse {
        let max_age = issued.expires_at - self.state.auth.now();
        let mut resp = see_other(next, StatusCode::SEE_OTHER);
        set_cookie(
            resp.headers_mut(),
            &session_cookie(issued.token.expose(), max_age.max(0), secure(self.state)),
        );
        resp
    }

    fn failure(&self, e: &Failure) -> HttpResponse {
        failure_page(self.state, self.headers, e)
    }
}

/// `/account/{code,register,forgot,reset}[/…]`.
pub(super) async fn handle(
    state: &AppState,
    method: &Method,
    segments: &[&str],
    query: &str,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    body: &[u8],
) -> HttpResponse {
    let t = texts::for_locales(None);
    let Some(provider) = state.oidc.clone() else {
        return message(
            state,
            headers,
            StatusCode::NOT_FOUND,
            t.not_found_title,
            t.not_found,
        );
    };
    let query = Params::parse(query);
    let body = String::from_utf8_lossy(body);
    let form = Params::parse(&body);
    let fields = if method == Method::POST {
        &form
    } else {
        &query
    };
    let field = |name: &str| fields.get(name).unwrap_or("").trim().to_string();
    let email = match fields.get("email") {
        Some(e) => e.trim().to_string(),
        None => query.get("login_hint").unwrap_or("").trim().to_string(),
    };
    let req = Request {
        state,
        headers,
        return_to: safe_return(fields.get("return_to").unwrap_or("/account")).to_string(),
    };
    let ip = client_ip(remote);
    if method == Method::POST && !Csrf::of(headers).accepts(form.get("csrf")) {
        let expired = Said::error(StatusCode::FORBIDDEN, t.form_expired);
        return match segments {
            ["reset"] => req.reset_form(&email, &field("token"), expired),
            ["register", ..] => req.email_form(Flow::Register, &email, expired),
            ["forgot"] => req.email_form(Flow::Forgot, &email, expired),
            _ => req.email_form(Flow::Code, &email, expired),
        };
    }
    match (method, segments) {
        (&Method::GET, ["code"]) => req.email_form(Flow::Code, &email, Said::ok()),
        (&Method::POST, ["code"]) => {
            state.auth.request_login_code(&email, ip).await;
            req.code_form(&email, Said::notice(t.code_sent))
        }
        (&Method::POST, ["code", "verify"]) => {
            let code = Secret::new(field("code"));
            match state.auth.sign_in_with_code(&email, &code, ip).await {
                Ok(issued) => req.signed_in(&issued),
                Err(SignInError::Failure(f)) => req.failure(&f),
                Err(_) => req.code_form(
                    &email,
                    Said::error(StatusCode::UNAUTHORIZED, t.code_refused),
                ),
            }
        }
        (&Method::GET, ["register"]) => req.email_form(Flow::Register, &email, Said::ok()),
        (&Method::POST, ["register"]) => match provider.request_registration(&email, ip).await {
            Ok(pending) => req.register_form(
                &email,
                pending.issued_at,
                &Profile::default(),
                Said::notice(t.register_code_sent),
            ),
            Err(RegistrationError::Failure(f)) => req.failure(&f),
            Err(_) => req.email_form(
                Flow::Register,
                &email,
                Said::error(StatusCode::BAD_REQUEST, t.invalid_email),
            ),
        },
        (&Method::POST, ["register", "complete"]) => {
            let issued_at = field("issued").parse::<i64>().unwrap_or(0);
            // "Create account with a passkey": no password; the account page asks for the
            // passkey next (passkeys on only).
            let with_passkey = field("use") == "passkey" && state.auth.passkeys_enabled();
            let password = Secret::new(form.get("password").unwrap_or(""));
            let profile = Profile {
                firstname: Some(field("firstname")).filter(|s| !s.is_empty()),
                lastname: Some(field("lastname")).filter(|s| !s.is_empty()),
                ..Profile::default()
            };
            let result = provider
                .complete_registration(
                    &email,
                    Pending { issued_at },
                    &Secret::new(field("code")),
                    (!with_passkey).then_some(&password),
                    profile.clone(),
                    ip,
                )
                .await;
            let refused = |status, text: &str| {
                req.register_form(&email, issued_at, &profile, Said::error(status, text))
            };
            match result {
                Ok(issued) if with_passkey => {
                    let next = format!(
                        "/account?passkey=create&return_to={}",
                        crate::auth::oidc::authorize::escape(&req.return_to)
                    );
                    req.signed_in_to(&issued, &next)
                }
                Ok(issued) => req.signed_in(&issued),
                Err(RegistrationError::Failure(f)) => req.failure(&f),
                Err(RegistrationError::Policy(p)) => {
                    refused(StatusCode::BAD_REQUEST, &t.policy(&p))
                }
                Err(RegistrationError::TooLong(_)) => {
                    refused(StatusCode::BAD_REQUEST, t.field_too_long)
                }
                Err(RegistrationError::Throttled) => {
                    refused(StatusCode::TOO_MANY_REQUESTS, t.register_throttled)
                }
                Err(RegistrationError::InvalidEmail) => req.email_form(
                    Flow::Register,
                    &email,
                    Said::error(StatusCode::BAD_REQUEST, t.invalid_email),
                ),
                Err(RegistrationError::Code) => {
                    refused(StatusCode::UNAUTHORIZED, t.register_code_refused)
                }
            }
        }
        (&Method::GET, ["forgot"]) => req.email_form(Flow::Forgot, &email, Said::ok()),
        (&Method::POST, ["forgot"]) => {
            // Within the limits or not, known or not: one answer (the core decides the mail).
            match provider
                .request_hosted_reset(&email, ip, &req.return_to)
                .await
            {
                Ok(_) => req.email_form(Flow::Forgot, &email, Said::notice(t.reset_sent)),
                Err(e) => req.failure(&e.into()),
            }
        }
        (&Method::GET, ["reset"]) => req.reset_form(&email, &field("token"), Said::ok()),
        (&Method::POST, ["reset"]) => {
            let token = Secret::new(field("token"));
            let password = Secret::new(form.get("password").unwrap_or(""));
            match provider
                .reset_into_session(&email, &token, &password, ip)
                .await
            {
                Ok(Some(issued)) => req.signed_in(&issued),
                Ok(None) => message(state, headers, StatusCode::OK, t.reset_title, t.reset_done),
                Err(ResetError::Failure(f)) => req.failure(&f),
                Err(ResetError::Policy(p)) => req.reset_form(
                    &email,
                    token.expose(),
                    Said::error(StatusCode::BAD_REQUEST, &t.policy(&p)),
                ),
                Err(_) => req.email_form(
                    Flow::Forgot,
                    &email,
                    Said::error(StatusCode::BAD_REQUEST, t.reset_refused),
                ),
            }
        }
        _ => message(
            state,
            headers,
            StatusCode::NOT_FOUND,
            t.not_found_title,
            t.not_found,
        ),
    }
}
