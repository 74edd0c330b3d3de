//! Reset mail through SMTP on loopback: an in-process SMTP server written in Rust
//! (tests/support/smtp_sink.rs), so `cargo test` needs nothing else. `smtp_interop_*` runs the
//! same flow against a real server (aiosmtpd); it is ignored by default and run by .ci/run.

use crate::smtp_sink::SmtpSink;
use crate::support::*;
use serde_json::json;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use storekey::config::{MailTransport, SmtpTls};

async fn smtp_server(port: u16) -> TestServer {
    let s = TestServer::start_with(|c| {
        c.mail.transport = MailTransport::Smtp;
        c.mail.smtp_host = Some("127.0.0.1".into());
        c.mail.smtp_port = port;
        c.mail.smtp_tls = SmtpTls::None;
        c.mail.smtp_username = Some("shop".into());
        c.mail.smtp_password = Some("s3cret".into());
        c.mail.from = "store@example.com".into();
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let (_, body) = s
        .gql(
            "mutation { requestPasswordResetEmail(email:\"bobloblaw@example.com\") }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(body["data"]["requestPasswordResetEmail"], true);
    s
}

/// The mail the SMTP server received: right headers, and its link resets the password.
async fn assert_reset_mail_works(s: &TestServer, mail: &str, rcpt: &str) {
    assert!(mail.contains("Subject: Reset your password"), "{mail}");
    assert!(mail.contains("From: store@example.com"), "{mail}");
    assert!(rcpt.contains(BOB), "envelope recipient: {rcpt:?}");
    let token = link_param(mail, "token").expect("link with token");
    let (status, body) = s
        .gql(
            "mutation($t:String!){ resetPassword(email:\"bobloblaw@example.com\", resetPasswordToken:$t, newPassword:\"N3w-passw0rd\") }",
            json!({"t": token}),
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
async fn reset_mail_arrives_over_smtp_and_its_link_works() {
    let sink = SmtpSink::start(Some(("shop", "s3cret")));
    let s = smtp_server(sink.port).await;
    let mailbox = sink.mailbox.clone();
    let mails = tokio::task::spawn_blocking(move || mailbox.wait_for(1))
        .await
        .unwrap();
    assert_eq!(mails.len(), 1, "the SMTP server received the reset mail");
    assert_eq!(mails[0].auth_login.as_deref(), Some("shop"));
    assert_eq!(mails[0].mail_from, "store@example.com");
    assert_reset_mail_works(&s, &mails[0].text(), &mails[0].rcpt_to.join("\n")).await;
}

// ---- the same against aiosmtpd (tests/support/smtp_sink.py), run by .ci/run ----

struct PythonSink {
    child: Child,
    port: u16,
}

impl Drop for PythonSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_python_sink(maildir: &std::path::Path) -> PythonSink {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "the SMTP interop test needs aiosmtpd: pip install aiosmtpd (.ci/run does)"
    );
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["--port", "0", "--maildir"])
        .arg(maildir)
        .args(["--auth-user", "shop", "--auth-pass", "s3cret"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected sink line {line:?}"));
    PythonSink { child, port }
}

#[tokio::test]
#[ignore = "needs python3 with aiosmtpd; .ci/run runs it"]
async fn smtp_interop_with_aiosmtpd() {
    let maildir = tempfile::tempdir().unwrap();
    let sink = start_python_sink(maildir.path());
    let s = smtp_server(sink.port).await;
    let mails = wait_for_mail(maildir.path(), 1).await;
    assert_eq!(mails.len(), 1, "the SMTP server received the reset mail");
    let rcpt = std::fs::read_to_string(maildir.path().join("1.rcpt")).unwrap_or_default();
    assert_reset_mail_works(&s, &mails[0], &rcpt).await;
}

#[tokio::test]
async fn a_failed_delivery_still_answers_true() {
    // A listener that accepts the connection and closes it before the SMTP greeting: delivery
    // is attempted and fails, and the client cannot tell.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = TestServer::start_with(|c| {
        c.mail.transport = MailTransport::Smtp;
        c.mail.smtp_host = Some("127.0.0.1".into());
        c.mail.smtp_port = port;
        c.mail.smtp_tls = SmtpTls::None;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let (status, body) = s
        .gql(
            "mutation { requestPasswordResetEmail(email:\"bobloblaw@example.com\") }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"requestPasswordResetEmail": true}}))
    );
    let (conn, _) = tokio::time::timeout(std::time::Duration::from_secs(5), listener.accept())
        .await
        .expect("storekey never tried to deliver the reset mail")
        .unwrap();
    drop(conn);
    let failed = "storekey_mails_total{outcome=\"failed\"} 1";
    let mut metrics = String::new();
    for _ in 0..150 {
        metrics = s.metrics().await;
        if metrics.contains(failed) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(metrics.contains(failed), "{metrics}");
    assert!(!metrics.contains("outcome=\"sent\""), "{metrics}");
}
