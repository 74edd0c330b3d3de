//! Reset mail through a real SMTP server (aiosmtpd, installed by .ci/run) on loopback.

use crate::support::*;
use serde_json::json;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};

struct Sink {
    child: Child,
    port: u16,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sink(maildir: &std::path::Path) -> Sink {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "the SMTP test needs aiosmtpd: pip install aiosmtpd (.ci/run does)"
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
    Sink { child, port }
}

#[tokio::test]
async fn reset_mail_arrives_over_smtp_and_its_link_works() {
    let maildir = tempfile::tempdir().unwrap();
    let sink = start_sink(maildir.path());
    let s = TestServer::start_with(|c| {
        c.mail.transport = "smtp".into();
        c.mail.smtp_host = Some("127.0.0.1".into());
        c.mail.smtp_port = sink.port;
        c.mail.smtp_tls = "none".into();
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
    let mails = wait_for_mail(maildir.path(), 1).await;
    assert_eq!(mails.len(), 1, "the SMTP server received the reset mail");
    let mail = &mails[0];
    assert!(mail.contains("Subject: Reset your password"), "{mail}");
    assert!(mail.contains("From: store@example.com"), "{mail}");
    let rcpt = std::fs::read_to_string(maildir.path().join("1.rcpt")).unwrap_or_default();
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
async fn a_failed_delivery_still_answers_true() {
    // Nothing listens on this port: delivery fails, the client cannot tell.
    let s = TestServer::start_with(|c| {
        c.mail.transport = "smtp".into();
        c.mail.smtp_host = Some("127.0.0.1".into());
        c.mail.smtp_port = 9;
        c.mail.smtp_tls = "none".into();
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
}
