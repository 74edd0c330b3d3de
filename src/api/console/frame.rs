//! What every console page is made of: the frame (title, who is signed in, the CSRF token, the
//! assets), rendering a template, and the message and confirmation pages.

use super::errors::internal;
use super::{asset_path, html, HttpResponse, Signed};
use askama::Template;
use warp::http::StatusCode;

/// What every page's frame shows.
pub struct Frame {
    pub title: String,
    pub admin: Option<String>,
    pub csrf: String,
    pub css: String,
    pub js: String,
    pub notice: Option<String>,
    pub error: Option<String>,
    /// Whether the navigation links the Passkeys page (passkeys are on).
    pub nav_passkeys: bool,
    /// The passkey script, on the pages that use it (with the CSRF token in a meta tag, where
    /// the script reads it).
    pub passkeys_js: Option<String>,
}

impl Frame {
    pub(super) fn new(title: impl Into<String>, signed: Option<&Signed>) -> Frame {
        Frame {
            title: title.into(),
            admin: signed.map(|s| s.admin.clone()),
            csrf: signed.map(|s| s.csrf.clone()).unwrap_or_default(),
            css: asset_path("console.css"),
            js: asset_path("console.js"),
            notice: None,
            error: None,
            nav_passkeys: signed.is_some_and(|s| s.passkeys),
            passkeys_js: None,
        }
    }

    pub(super) fn error(mut self, e: Option<String>) -> Frame {
        self.error = e;
        self
    }

    pub(super) fn notice(mut self, n: Option<String>) -> Frame {
        self.notice = n;
        self
    }
}

pub(super) fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => internal(format!("page template: {e}")),
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage {
    frame: Frame,
    text: String,
}

pub(super) fn message_page(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    let page = MessagePage {
        frame: Frame::new(title, None),
        text: text.into(),
    };
    match page.render() {
        Ok(body) => html(status, body),
        Err(_) => html(status, text.to_string()),
    }
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage {
    frame: Frame,
    question: String,
    action: String,
    ask_reason: bool,
    button: &'static str,
    button_class: &'static str,
    cancel: String,
}

pub(super) fn confirm_page(
    s: &Signed,
    title: &str,
    question: String,
    action: String,
    ask_reason: bool,
    button: &'static str,
    cancel: String,
) -> HttpResponse {
    let page = ConfirmPage {
        frame: Frame::new(title, Some(s)),
        question,
        action,
        ask_reason,
        button,
        button_class: if ask_reason { "primary" } else { "danger" },
        cancel,
    };
    render(StatusCode::OK, &page)
}
