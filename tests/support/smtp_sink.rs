//! An SMTP server for tests, in process on 127.0.0.1:0, so `cargo test` needs nothing but Rust.
//! It speaks what storekey's client (lettre) uses: EHLO/HELO, AUTH PLAIN and AUTH LOGIN
//! (checked against the configured login, and then required before MAIL FROM), MAIL FROM,
//! RCPT TO, DATA with dot-unstuffing, RSET, NOOP and QUIT. Each accepted message is kept in
//! memory for the test to read. Shared by the unit tests of src/mail.rs and tests/it/smtp.rs.
//!
//! It runs on its own thread with its own runtime, so blocking and async tests can both use
//! it, and it stops when dropped.

#![allow(dead_code)]

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const HOSTNAME: &str = "smtp-sink.localhost";
/// Longest command or data line accepted; longer input ends the session.
const MAX_LINE: usize = 64 * 1024;

/// One accepted message: the envelope and the DATA bytes after dot-unstuffing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The login the client authenticated as, if it did.
    pub auth_login: Option<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// The messages received so far; cloneable, so a test can wait on another thread.
#[derive(Clone, Default)]
pub struct Mailbox {
    inner: Arc<(Mutex<Vec<Received>>, Condvar)>,
}

impl Mailbox {
    fn push(&self, message: Received) {
        let (list, changed) = &*self.inner;
        list.lock().unwrap().push(message);
        changed.notify_all();
    }

    pub fn messages(&self) -> Vec<Received> {
        self.inner.0.lock().unwrap().clone()
    }

    /// Waits (blocking) until at least `n` messages arrived or 10 s passed; returns them all.
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        let (list, changed) = &*self.inner;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut guard = list.lock().unwrap();
        while guard.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
        guard.clone()
    }
}

pub struct SmtpSink {
    pub port: u16,
    pub mailbox: Mailbox,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SmtpSink {
    /// Starts the sink; with `auth`, AUTH with that login and password is required.
    pub fn start(auth: Option<(&str, &str)>) -> SmtpSink {
        let auth = auth.map(|(u, p)| (u.to_string(), p.to_string()));
        let mailbox = Mailbox::default();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let box_for_thread = mailbox.clone();
        let thread = std::thread::Builder::new()
            .name("smtp-sink".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                    port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                    let auth = Arc::new(auth);
                    tokio::pin!(stopped);
                    loop {
                        tokio::select! {
                            _ = &mut stopped => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let session = Session::new(auth.clone(), box_for_thread.clone());
                                tokio::spawn(session.run(stream));
                            }
                        }
                    }
                });
            })
            .unwrap();
        let port = port_rx.recv().unwrap();
        SmtpSink {
            port,
            mailbox,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn messages(&self) -> Vec<Received> {
        self.mailbox.messages()
    }

    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        self.mailbox.wait_for(n)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Session {
    auth: Arc<Option<(String, String)>>,
    mailbox: Mailbox,
    greeted: bool,
    login: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

enum Line {
    Text(String),
    Closed,
}

impl Session {
    fn new(auth: Arc<Option<(String, String)>>, mailbox: Mailbox) -> Session {
        Session {
            auth,
            mailbox,
            greeted: false,
            login: None,
            mail_from: None,
            rcpt_to: Vec::new(),
        }
    }

    async fn run(mut self, stream: TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        if reply(&mut write, &format!("220 {HOSTNAME} ESMTP test sink"))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let Line::Text(line) = read_line(&mut reader).await else {
                return;
            };
            let (verb, arg) = match line.split_once(' ') {
                Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_string()),
                None => (line.to_ascii_uppercase(), String::new()),
            };
            let answer = match verb.as_str() {
                "EHLO" => {
                    self.greeted = true;
                    self.reset();
                    let mut lines = vec![HOSTNAME.to_string()];
                    if self.auth.is_some() {
                        lines.push("AUTH PLAIN LOGIN".into());
                    }
                    lines.push("8BITMIME".into());
                    lines.push("SMTPUTF8".into());
                    let last = lines.len() - 1;
                    lines
                        .iter()
                        .enumerate()
                        .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
                        .collect::<Vec<_>>()
                        .join("\r\n")
                }
                "HELO" => {
                    self.greeted = true;
                    self.reset();
                    format!("250 {HOSTNAME}")
                }
                "AUTH" => match self.authenticate(&arg, &mut reader, &mut write).await {
                    Some(answer) => answer,
                    None => return,
                },
                "MAIL" => self.mail_from(&arg),
                "RCPT" => self.rcpt_to(&arg),
                "DATA" => match self.data(&mut reader, &mut write).await {
                    Some(answer) => answer,
                    None => return,
                },
                "RSET" => {
                    self.reset();
                    "250 OK".into()
                }
                "NOOP" => "250 OK".into(),
                "QUIT" => {
                    let _ = reply(&mut write, "221 Bye").await;
                    return;
                }
                _ => "502 5.5.2 Error: command not recognized".into(),
            };
            if reply(&mut write, &answer).await.is_err() {
                return;
            }
        }
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }

    async fn authenticate(
        &mut self,
        arg: &str,
        reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
        write: &mut tokio::net::tcp::OwnedWriteHalf,
    ) -> Option<String> {
        let Some((user, pass)) = self.auth.as_ref().clone() else {
            return Some("502 5.5.1 AUTH not offered".into());
        };
        if !self.greeted {
            return Some("503 5.5.1 Error: send EHLO first".into());
        }
        if self.login.is_some() {
            return Some("503 5.5.1 Already authenticated".into());
        }
        let (mechanism, initial) = match arg.split_once(' ') {
            Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_string())),
            None => (arg.to_ascii_uppercase(), None),
        };
        let credentials = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(i) => i,
                    None => self.challenge("", reader, write).await?,
                };
                decode(&response).and_then(|raw| {
                    let mut parts = raw.split(|&b| b == 0);
                    let _authzid = parts.next()?;
                    let login = parts.next()?.to_vec();
                    let password = parts.next()?.to_vec();
                    parts.next().is_none().then_some((login, password))
                })
            }
            "LOGIN" => {
                let login = match initial {
                    Some(i) => i,
                    None => self.challenge("VXNlcm5hbWU6", reader, write).await?,
                };
                let password = self.challenge("UGFzc3dvcmQ6", reader, write).await?;
                decode(&login).zip(decode(&password))
            }
            _ => return Some("504 5.5.4 Unrecognized authentication type".into()),
        };
        match credentials {
            Some((l, p)) if l == user.as_bytes() && p == pass.as_bytes() => {
                self.login = Some(user);
                Some("235 2.7.0 Authentication successful".into())
            }
            Some(_) => Some("535 5.7.8 Authentication credentials invalid".into()),
            None => Some("501 5.5.2 Cannot decode response".into()),
        }
    }

    /// Sends a 334 challenge and reads the client's answer; None when the client hung up.
    async fn challenge(
        &self,
        prompt: &str,
        reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
        write: &mut tokio::net::tcp::OwnedWriteHalf,
    ) -> Option<String> {
        reply(write, &format!("334 {prompt}")).await.ok()?;
        match read_line(reader).await {
            Line::Text(t) => Some(t),
            Line::Closed => None,
        }
    }

    fn mail_from(&mut self, arg: &str) -> String {
        if !self.greeted {
            return "503 5.5.1 Error: send HELO first".into();
        }
        if self.auth.is_some() && self.login.is_none() {
            return "530 5.7.0 Authentication required".into();
        }
        if self.mail_from.is_some() {
            return "503 5.5.1 Error: nested MAIL command".into();
        }
        match address(arg, "FROM:") {
            Some(a) => {
                self.mail_from = Some(a);
                "250 OK".into()
            }
            None => "501 5.5.4 Syntax: MAIL FROM:<address>".into(),
        }
    }

    fn rcpt_to(&mut self, arg: &str) -> String {
        if self.mail_from.is_none() {
            return "503 5.5.1 Error: need MAIL command".into();
        }
        match address(arg, "TO:") {
            Some(a) if !a.is_empty() => {
                self.rcpt_to.push(a);
                "250 OK".into()
            }
            _ => "501 5.5.4 Syntax: RCPT TO:<address>".into(),
        }
    }

    async fn data(
        &mut self,
        reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
        write: &mut tokio::net::tcp::OwnedWriteHalf,
    ) -> Option<String> {
        if self.rcpt_to.is_empty() {
            return Some("503 5.5.1 Error: need RCPT command".into());
        }
        reply(write, "354 End data with <CR><LF>.<CR><LF>")
            .await
            .ok()?;
        let mut data = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = (&mut *reader)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut line)
                .await
                .ok()?;
            if n == 0 || !line.ends_with(b"\n") {
                return None;
            }
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            // Dot-unstuffing (RFC 5321 §4.5.2): a leading dot was doubled by the client.
            let body = line.strip_prefix(b".").unwrap_or(&line);
            data.extend_from_slice(body);
        }
        let message = Received {
            mail_from: self.mail_from.take().unwrap_or_default(),
            rcpt_to: std::mem::take(&mut self.rcpt_to),
            auth_login: self.login.clone(),
            data,
        };
        self.mailbox.push(message);
        Some("250 OK message accepted".into())
    }
}

/// `FROM:<a@b> SIZE=10` → `a@b`.
fn address(arg: &str, prefix: &str) -> Option<String> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_string())
}

fn decode(b64: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
}

async fn read_line(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Line {
    let mut raw = Vec::new();
    match reader
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut raw)
        .await
    {
        Ok(n) if n > 0 && raw.ends_with(b"\n") => {
            let text = String::from_utf8_lossy(&raw);
            Line::Text(text.trim_end_matches(['\r', '\n']).to_string())
        }
        _ => Line::Closed,
    }
}

async fn reply(write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    write.write_all(format!("{text}\r\n").as_bytes()).await?;
    write.flush().await
}
