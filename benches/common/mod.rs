//! What the benchmarks share: the real binary started on loopback, and request helpers.

use serde_json::{json, Value};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};

pub const ADMIN: &str = "bench-admin-key";

pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    /// The release binary on 127.0.0.1:0 against a temp file, with the shipped argon2 cost, the
    /// throttle off, and `env` on top.
    pub fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_storekey"))
            .current_dir(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("STOREKEY_STORAGE_PATH", dir.join("bench.redb"))
            .env("STOREKEY_MAIL_OUTBOX_DIR", dir.join("outbox"))
            .env("STOREKEY_ADMIN_KEY", ADMIN)
            .env("STOREKEY_THROTTLE_LOGIN_PER_IP_PER_MINUTE", "0")
            .env("STOREKEY_LOG_LEVEL", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start storekey");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("storekey listening on http://")
            .expect("port line")
            .to_string();
        Server { child, addr }
    }

    #[allow(dead_code)] // the load bench reads memory, the oracle probe does not
    pub fn status_kib(&self, field: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        text.lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

pub fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub async fn admin_post(http: &reqwest::Client, addr: &str, path: &str, body: Value) -> Value {
    http.post(format!("http://{addr}{path}"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A request body, serialized once (the load generator shares the CPUs with the server, so it
/// does as little per request as it can).
pub fn gql(query: &str, variables: Value) -> bytes::Bytes {
    bytes::Bytes::from(json!({"query": query, "variables": variables}).to_string())
}
