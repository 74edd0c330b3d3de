//! E-mail delivery: owns the [`Mail`] message type, the blocking [`MailTransport`]
//! trait and its two real transports — [`Outbox`] (writes each message as an
//! `.eml` file into a directory, for development and tests) and [`Smtp`] (lettre's
//! blocking SMTP client over rustls) — plus building the RFC 5322 message with
//! lettre and validating the `[mail]` config section ([`transport_from_config`]).
//! Sending blocks: async callers wrap `send` in `tokio::task::spawn_blocking`.
//! Message bodies carry one-time sign-in links, so neither `Debug` output nor
//! error messages ever include them.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, Message, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

use crate::config::{self, MailConfig, SmtpTls};

/// Connect / read / write timeout for one SMTP conversation.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);
/// From address of an [`Outbox`] made with [`Outbox::new`] (the config default).
const DEFAULT_FROM: &str = "store@localhost";
/// RFC 5322 §2.1.1: a line is at most 998 characters, CRLF excluded.
const MAX_LINE_LEN: usize = 998;

/// One message. Body is plain text UTF-8. Debug must not print the body (it carries one-time links).
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// Why a message was not sent. Messages never include the body.
#[derive(Debug)]
pub enum MailError {
    /// The `[mail]` config is unusable; the message names the key.
    Config(String),
    /// The message could not be built (bad address, bad subject, ...).
    Build(String),
    /// The transport failed to deliver (I/O error, SMTP error, ...).
    Delivery(String),
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailError::Config(m) => write!(f, "mail config: {m}"),
            MailError::Build(m) => write!(f, "cannot build mail: {m}"),
            MailError::Delivery(m) => write!(f, "mail delivery failed: {m}"),
        }
    }
}

impl std::error::Error for MailError {}

/// Sends one message. BLOCKING: async callers use `spawn_blocking`.
pub trait MailTransport: Send + Sync {
    fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// Keeps every message in memory (the core's unit tests): no file, no socket.
#[derive(Debug, Default)]
pub struct Captured(std::sync::Mutex<Vec<(String, String, String)>>);

impl Captured {
    /// The messages sent so far as (to, subject, body), oldest first.
    pub fn sent(&self) -> Vec<(String, String, String)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl MailTransport for Captured {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((mail.to.clone(), mail.subject.clone(), mail.body.clone()));
        Ok(())
    }
}

/// Builds the transport `mail.transport` names; smtp without a host (or another bad key) is a
/// `MailError::Config` naming the key.
pub fn transport_from_config(cfg: &MailConfig) -> Result<Arc<dyn MailTransport>, MailError> {
    match cfg.transport {
        config::MailTransport::Outbox => {
            if cfg.outbox_dir.trim().is_empty() {
                return Err(MailError::Config(
                    "mail.outbox_dir: must not be empty when mail.transport is \"outbox\"".into(),
                ));
            }
            check_from(&cfg.from)?;
            Ok(Arc::new(Outbox {
                dir: PathBuf::from(&cfg.outbox_dir),
                from: cfg.from.clone(),
            }))
        }
        config::MailTransport::Smtp => Ok(Arc::new(Smtp::new(cfg)?)),
    }
}

/// Writes each message as `<dir>/<timestamp-ms>-<random hex>.eml` (the RFC 5322
/// bytes), atomically: a temporary dot-file in the same directory, then a rename.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    from: String,
}

impl Outbox {
    /// An outbox in `dir` (created on first send), sending from `store@localhost`.
    /// [`transport_from_config`] uses `mail.from` instead.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Outbox {
            dir: dir.into(),
            from: DEFAULT_FROM.to_owned(),
        }
    }
}

impl MailTransport for Outbox {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = build_message(&self.from, mail)?;
        write_eml(&self.dir, &message.formatted()).map(|_| ())
    }
}

/// SMTP submission through lettre's blocking [`SmtpTransport`] (rustls for TLS).
/// One connection per message.
pub struct Smtp {
    transport: SmtpTransport,
    from: String,
    host: String,
    port: u16,
}

impl fmt::Debug for Smtp {
    // Hand-written so credentials can never end up in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Smtp {
    /// Checks the smtp_* keys and `mail.from`; connects only when sending.
    pub fn new(cfg: &MailConfig) -> Result<Self, MailError> {
        let host = cfg
            .smtp_host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                MailError::Config("mail.smtp_host: required when mail.transport is \"smtp\"".into())
            })?
            .to_owned();
        if cfg.smtp_port == 0 {
            return Err(MailError::Config(
                "mail.smtp_port: must be between 1 and 65535".into(),
            ));
        }
        check_from(&cfg.from)?;

        let tls_params = || {
            TlsParameters::new(host.clone()).map_err(|e| {
                MailError::Config(format!(
                    "mail.smtp_host: cannot set up TLS for {host:?}: {e}"
                ))
            })
        };
        let tls = match cfg.smtp_tls {
            SmtpTls::Starttls => Tls::Required(tls_params()?),
            SmtpTls::Tls => Tls::Wrapper(tls_params()?),
            SmtpTls::None => Tls::None,
        };

        let username = cfg.smtp_username.as_deref().filter(|u| !u.is_empty());
        let credentials = match (username, cfg.smtp_password.as_deref()) {
            (Some(user), Some(pass)) => Some(Credentials::new(user.to_owned(), pass.to_owned())),
            (Some(_), None) => {
                return Err(MailError::Config(
                    "mail.smtp_password: required when mail.smtp_username is set".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(MailError::Config(
                    "mail.smtp_username: required when mail.smtp_password is set".into(),
                ))
            }
            (None, None) => None,
        };

        let mut builder = SmtpTransport::builder_dangerous(host.as_str())
            .port(cfg.smtp_port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        Ok(Smtp {
            transport: builder.build(),
            from: cfg.from.clone(),
            host,
            port: cfg.smtp_port,
        })
    }
}

impl MailTransport for Smtp {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = build_message(&self.from, mail)?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| MailError::Delivery(format!("smtp {}:{}: {e}", self.host, self.port)))
    }
}

/// `mail.from` must parse as an address (`a@b` or `Name <a@b>`).
fn check_from(from: &str) -> Result<(), MailError> {
    from.trim()
        .parse::<Mailbox>()
        .map(|_| ())
        .map_err(|e| MailError::Config(format!("mail.from: invalid address {from:?}: {e}")))
}

fn build_message(from: &str, mail: &Mail) -> Result<Message, MailError> {
    let from: Mailbox = from
        .trim()
        .parse()
        .map_err(|e| MailError::Build(format!("invalid From address {from:?}: {e}")))?;
    // The recipient is a bare address, never a mailbox: `Eve <x@corp.example>` would mail
    // x@corp.example, which is not the account's email.
    let to: lettre::Address = mail
        .to
        .trim()
        .parse()
        .map_err(|e| MailError::Build(format!("invalid To address {:?}: {e}", mail.to)))?;
    let to = Mailbox::new(None, to);
    if mail.subject.contains(['\r', '\n']) {
        return Err(MailError::Build("subject contains a line break".into()));
    }
    let part = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(encode_body(&mail.body));
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.as_str())
        .date_now()
        .message_id(None)
        .singlepart(part)
        .map_err(|e| MailError::Build(e.to_string()))
}

/// Plain ASCII bodies (every line within RFC 5322's 998 characters, no NUL) go
/// out as 7bit, byte for byte, so a link in them reads back verbatim. lettre's own
/// choice would quoted-printable-encode any line of 76+ characters, turning a
/// link's `=` into `=3D`. Anything else gets lettre's choice (quoted-printable or
/// base64). Line endings become CRLF either way.
fn encode_body(body: &str) -> Body {
    let text = body.replace("\r\n", "\n").replace('\r', "\n");
    let plain = text
        .split('\n')
        .all(|line| line.len() <= MAX_LINE_LEN && line.bytes().all(|b| b.is_ascii() && b != 0));
    if plain {
        Body::dangerous_pre_encoded(
            text.replace('\n', "\r\n").into_bytes(),
            ContentTransferEncoding::SevenBit,
        )
    } else {
        Body::new(text)
    }
}

/// Writes `bytes` to a new `<timestamp-ms>-<random hex>.eml` in `dir` (temp file +
/// rename, so readers never see a partial file) and returns its path.
/// The directory is created 0700 and the file 0600: a mail holds a live reset link.
fn write_eml(dir: &Path, bytes: &[u8]) -> Result<PathBuf, MailError> {
    crate::store::private_dir(dir).map_err(|e| {
        MailError::Delivery(format!(
            "outbox {}: cannot create directory: {e}",
            dir.display()
        ))
    })?;
    let name = format!("{}-{}.eml", unix_millis(), random_hex());
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let written = (|| -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        crate::store::private_mode(&mut options);
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, &path)
    })();
    match written {
        Ok(()) => Ok(path),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(MailError::Delivery(format!(
                "outbox {}: cannot write {name}: {e}",
                dir.display()
            )))
        }
    }
}

fn unix_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// 16 hex digits, unique per call: std's randomly keyed SipHash over a process-wide
/// counter, the pid and the clock. File names need uniqueness, not secrecy.
fn random_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    hasher.write_u128(nanos);
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
#[path = "../tests/support/smtp_sink.rs"]
mod smtp_sink;

#[cfg(test)]
mod tests {
    use super::smtp_sink::SmtpSink;
    use super::*;
    use std::net::TcpListener;

    const LINK: &str = "https://shop.example/account/signin?email=a%40b.c&token=abc123";

    fn config(transport: config::MailTransport) -> MailConfig {
        MailConfig {
            transport,
            outbox_dir: "data/outbox".into(),
            from: "store@localhost".into(),
            smtp_host: None,
            smtp_port: 587,
            smtp_username: None,
            smtp_password: None,
            smtp_tls: SmtpTls::Starttls,
        }
    }

    fn sample_mail() -> Mail {
        Mail {
            to: "customer@example.com".into(),
            subject: "Your sign-in link".into(),
            body: format!("Hello,\n\nSign in here:\n{LINK}\n\nThe link works once.\n"),
        }
    }

    /// A parsed .eml: unfolded headers and the body with CRLF turned into LF.
    struct Eml {
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Eml {
        fn parse(raw: &[u8]) -> Eml {
            let text = String::from_utf8(raw.to_vec()).expect("eml is UTF-8");
            let text = text.replace("\r\n", "\n");
            let (head, body) = text
                .split_once("\n\n")
                .expect("eml has a header/body split");
            let mut headers: Vec<(String, String)> = Vec::new();
            for line in head.lines() {
                if line.starts_with([' ', '\t']) {
                    let last = headers.last_mut().expect("continuation after a header");
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                } else {
                    let (k, v) = line.split_once(':').expect("header line has a colon");
                    headers.push((k.trim().to_owned(), v.trim().to_owned()));
                }
            }
            Eml {
                headers,
                body: body.to_owned(),
            }
        }

        fn header(&self, name: &str) -> &str {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
        }
    }

    fn eml_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .expect("read outbox dir")
            .map(|e| e.expect("dir entry").path())
            .collect();
        files.sort();
        files
    }

    fn assert_sample(eml: &Eml, from: &str) {
        let mail = sample_mail();
        assert_eq!(eml.header("To"), mail.to);
        assert_eq!(eml.header("From"), from);
        assert_eq!(eml.header("Subject"), mail.subject);
        assert_eq!(eml.header("Content-Type"), "text/plain; charset=utf-8");
        assert_eq!(eml.header("Content-Transfer-Encoding"), "7bit");
        assert!(!eml.header("Date").is_empty());
        let id = eml.header("Message-ID");
        assert!(
            id.starts_with('<') && id.ends_with('>') && id.contains('@'),
            "{id}"
        );
        assert_eq!(
            eml.body.trim_end_matches('\n'),
            mail.body.trim_end_matches('\n')
        );
        assert!(eml.body.contains("?email=a%40b.c&token=abc123"));
    }

    #[test]
    fn outbox_writes_one_readable_eml() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("outbox"); // created by send
        Outbox::new(&dir).send(&sample_mail()).expect("send");

        let files = eml_files(&dir);
        assert_eq!(files.len(), 1, "exactly one file, no temp left: {files:?}");
        let name = files[0].file_name().and_then(|n| n.to_str()).expect("name");
        let (stamp, rest) = name.split_once('-').expect("<ms>-<hex>.eml");
        assert!(stamp.parse::<u128>().is_ok(), "{name}");
        let hex = rest.strip_suffix(".eml").expect(".eml suffix");
        assert!(
            !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()),
            "{name}"
        );

        let eml = Eml::parse(&fs::read(&files[0]).expect("read eml"));
        assert_sample(&eml, "store@localhost");
    }

    #[test]
    fn outbox_from_config_uses_mail_from_and_unique_names() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut cfg = config(config::MailTransport::Outbox);
        cfg.outbox_dir = tmp.path().to_string_lossy().into_owned();
        cfg.from = "Store <noreply@shop.example>".into();
        let transport = transport_from_config(&cfg).expect("outbox transport");
        transport.send(&sample_mail()).expect("send 1");
        transport.send(&sample_mail()).expect("send 2");
        let files = eml_files(tmp.path());
        assert_eq!(files.len(), 2, "{files:?}");
        let eml = Eml::parse(&fs::read(&files[0]).expect("read eml"));
        assert_sample(&eml, "Store <noreply@shop.example>");
    }

    #[test]
    fn long_ascii_lines_stay_verbatim_and_non_ascii_is_encoded() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let long_link = format!("{LINK}&pad={}", "x".repeat(300));
        let mut mail = sample_mail();
        mail.body = format!("{long_link}\r\nbye");
        Outbox::new(tmp.path()).send(&mail).expect("send long");
        let eml = Eml::parse(&fs::read(&eml_files(tmp.path())[0]).expect("read"));
        assert_eq!(eml.header("Content-Transfer-Encoding"), "7bit");
        assert_eq!(eml.body.trim_end(), format!("{long_link}\nbye"));

        let tmp = tempfile::tempdir().expect("tempdir");
        mail.subject = "Grüße".into();
        mail.body = "Grüße — sign in".into();
        Outbox::new(tmp.path()).send(&mail).expect("send non-ascii");
        let raw = fs::read(&eml_files(tmp.path())[0]).expect("read");
        assert!(raw.is_ascii(), "non-ASCII must be encoded on the wire");
        let eml = Eml::parse(&raw);
        let cte = eml.header("Content-Transfer-Encoding");
        assert!(cte == "quoted-printable" || cte == "base64", "{cte}");
    }

    #[test]
    fn bad_messages_are_build_errors_without_the_body() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let outbox = Outbox::new(tmp.path());
        let mut mail = sample_mail();
        mail.to = "not an address".into();
        match outbox.send(&mail) {
            Err(e @ MailError::Build(_)) => {
                let text = e.to_string();
                assert!(text.contains("not an address"), "{text}");
                assert!(!text.contains("token=abc123"), "{text}");
            }
            other => panic!("expected Build error, got {other:?}"),
        }
        // A mailbox with a name is not a recipient: its mail would go to the inner address.
        let mut mail = sample_mail();
        mail.to = "Eve <x@corp.example>".into();
        assert!(matches!(outbox.send(&mail), Err(MailError::Build(_))));
        let mut mail = sample_mail();
        mail.subject = "hi\r\nBcc: evil@example.com".into();
        assert!(matches!(outbox.send(&mail), Err(MailError::Build(_))));
        assert!(eml_files(tmp.path()).is_empty());

        let debug = format!("{:?}", sample_mail());
        assert!(!debug.contains("token"), "{debug}");
        assert!(debug.contains("customer@example.com"), "{debug}");
    }

    fn config_error(cfg: &MailConfig) -> String {
        match transport_from_config(cfg) {
            Err(MailError::Config(m)) => m,
            Err(e) => panic!("expected Config error, got {e:?}"),
            Ok(_) => panic!("expected Config error, got a transport"),
        }
    }

    #[test]
    fn smtp_without_host_is_a_config_error() {
        let msg = config_error(&config(config::MailTransport::Smtp));
        assert!(msg.starts_with("mail.smtp_host:"), "{msg}");
        let mut cfg = config(config::MailTransport::Smtp);
        cfg.smtp_host = Some("  ".into());
        assert!(config_error(&cfg).starts_with("mail.smtp_host:"));
    }

    #[test]
    fn other_bad_config_names_the_key() {
        let mut cfg = config(config::MailTransport::Smtp);
        cfg.smtp_host = Some("mail.example.com".into());
        cfg.smtp_username = Some("user".into());
        assert!(config_error(&cfg).starts_with("mail.smtp_password:"));

        let mut cfg = config(config::MailTransport::Outbox);
        cfg.from = "nobody".into();
        assert!(config_error(&cfg).starts_with("mail.from:"));

        // All TLS modes build (rustls) without connecting.
        for &mode in SmtpTls::ALL {
            let mut cfg = config(config::MailTransport::Smtp);
            cfg.smtp_host = Some("mail.example.com".into());
            cfg.smtp_tls = mode;
            cfg.smtp_username = Some("user".into());
            cfg.smtp_password = Some("secret-pass".into());
            let smtp = Smtp::new(&cfg).unwrap_or_else(|e| panic!("{mode}: {e:?}"));
            assert!(!format!("{smtp:?}").contains("secret-pass"));
        }
    }

    #[test]
    fn smtp_connection_refused_is_a_delivery_error() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let mut cfg = config(config::MailTransport::Smtp);
        cfg.smtp_host = Some("127.0.0.1".into());
        cfg.smtp_port = port;
        cfg.smtp_tls = SmtpTls::None;
        match Smtp::new(&cfg).expect("smtp").send(&sample_mail()) {
            Err(e @ MailError::Delivery(_)) => {
                let text = e.to_string();
                assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
                assert!(!text.contains("token=abc123"), "{text}");
            }
            other => panic!("expected Delivery error, got {other:?}"),
        }
    }

    // ---- SMTP against the in-process sink (tests/support/smtp_sink.rs) ----

    fn sink_config(sink: &SmtpSink) -> MailConfig {
        let mut cfg = config(config::MailTransport::Smtp);
        cfg.smtp_host = Some("127.0.0.1".into());
        cfg.smtp_port = sink.port;
        cfg.smtp_tls = SmtpTls::None;
        cfg
    }

    #[test]
    fn smtp_delivers_to_a_real_server() {
        let sink = SmtpSink::start(None);
        let smtp = Smtp::new(&sink_config(&sink)).expect("smtp transport");
        smtp.send(&sample_mail()).expect("smtp send");

        let received = sink.wait_for(1);
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].rcpt_to, ["customer@example.com"]);
        assert_eq!(received[0].mail_from, "store@localhost");
        assert_sample(&Eml::parse(&received[0].data), "store@localhost");
    }

    #[test]
    fn smtp_authenticates_when_username_is_set() {
        let sink = SmtpSink::start(Some(("mailer", "s3cret pass")));

        // No credentials: the server requires AUTH, delivery fails.
        let mut cfg = sink_config(&sink);
        assert!(matches!(
            transport_from_config(&cfg)
                .expect("smtp")
                .send(&sample_mail()),
            Err(MailError::Delivery(_))
        ));

        // Wrong password: refused, and the error names neither body nor password.
        cfg.smtp_username = Some("mailer".into());
        cfg.smtp_password = Some("bad-pass-123".into());
        match transport_from_config(&cfg)
            .expect("smtp")
            .send(&sample_mail())
        {
            Err(e @ MailError::Delivery(_)) => {
                let text = e.to_string();
                assert!(
                    !text.contains("token=abc123") && !text.contains("bad-pass-123"),
                    "{text}"
                );
            }
            other => panic!("expected Delivery error, got {other:?}"),
        }
        assert!(sink.messages().is_empty());

        cfg.smtp_password = Some("s3cret pass".into());
        transport_from_config(&cfg)
            .expect("smtp")
            .send(&sample_mail())
            .expect("authenticated send");
        let received = sink.wait_for(1);
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].rcpt_to, ["customer@example.com"]);
        assert_eq!(received[0].auth_login.as_deref(), Some("mailer"));
        assert_sample(&Eml::parse(&received[0].data), "store@localhost");
    }

    #[test]
    fn smtp_lines_starting_with_a_dot_arrive_intact() {
        let sink = SmtpSink::start(None);
        let mut mail = sample_mail();
        mail.body = ".leading dot\n..two dots\n.\nend".into();
        Smtp::new(&sink_config(&sink))
            .expect("smtp transport")
            .send(&mail)
            .expect("smtp send");
        let text = sink.wait_for(1)[0].text();
        assert!(
            text.contains("\r\n.leading dot\r\n..two dots\r\n.\r\nend"),
            "{text}"
        );
    }
}
