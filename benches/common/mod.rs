//! What the benchmarks share: the real binary started on loopback, request helpers, and the
//! CPU and memory of server processes read from `/proc`.

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
        Server::start_bin(env!("CARGO_BIN_EXE_storekey"), dir, env)
    }

    /// `start` with another storekey binary (the load bench's `--before`).
    pub fn start_bin(bin: &str, dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
        let child = Command::new(bin)
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
        Server::from_child(child, "storekey listening on http://")
    }

    /// The bare reference (`examples/bare_reference.rs`), run by this very benchmark binary in a
    /// process of its own (`--bare-reference`), so its CPU is counted apart from the client's.
    #[allow(dead_code)] // the load bench runs it, the oracle probe does not
    pub fn start_bare(args: &[&str]) -> Server {
        let exe = std::env::current_exe().expect("the benchmark's own path");
        let child = Command::new(exe)
            .arg("--bare-reference")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the bare reference");
        Server::from_child(child, "bare reference listening on http://")
    }

    /// Any server process (`cmd`, its stdout piped here) whose first line is `prefix` and then
    /// its address: the oidc bench's oidc-provider under node.
    #[allow(dead_code)] // the oidc bench starts one, the others do not
    pub fn start_command(mut cmd: Command, prefix: &str) -> Server {
        let child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        Server::from_child(child, prefix)
    }

    fn from_child(mut child: Child, prefix: &str) -> Server {
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected {prefix:?}, the server printed {line:?}"))
            .to_string();
        Server { child, addr }
    }

    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
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

/// The fields of `/proc/<pid>/stat` after the command name (index 0 is field 3, the state).
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    // The state is a letter: keep the position with 0.
    Some(
        rest.split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

/// Clock ticks per second of `/proc/<pid>/stat`'s times (`getconf CLK_TCK`, else 100).
#[allow(dead_code)]
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process (all its threads), in clock ticks; 0 once it is gone.
#[allow(dead_code)]
pub fn cpu_ticks(pid: u32) -> u64 {
    stat_fields(pid).map_or(0, |f| f.get(11).unwrap_or(&0) + f.get(12).unwrap_or(&0))
}

/// utime + stime of the threads of process `pid` whose name starts with `prefix`, in clock
/// ticks.
#[allow(dead_code)]
pub fn thread_ticks(pid: u32, prefix: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| {
            let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
            let (name, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
            if !name.starts_with(prefix) {
                return None;
            }
            let f: Vec<u64> = rest
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse().ok())
                .collect();
            Some(f.iter().sum::<u64>())
        })
        .sum()
}

/// utime + stime of the threads of process `pid` alive now, summed by thread name (digits at
/// the end of a name dropped, so a pool's workers count as one), in clock ticks.
#[allow(dead_code)]
pub fn ticks_by_thread_name(pid: u32) -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let Some((name, rest)) = stat.split_once(" (").and_then(|(_, r)| r.rsplit_once(") "))
        else {
            continue;
        };
        let ticks: u64 = rest
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|v| v.parse::<u64>().ok())
            .sum();
        let name = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
        *out.entry(name.to_string()).or_insert(0) += ticks;
    }
    out
}

/// Bytes a process has caused to be sent to storage (`write_bytes` of `/proc/<pid>/io`).
#[allow(dead_code)]
pub fn io_write_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("write_bytes:")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The parent of a process.
#[allow(dead_code)]
pub fn parent_pid(pid: u32) -> Option<u32> {
    stat_fields(pid).and_then(|f| f.get(1).map(|&p| p as u32))
}

/// The CPU of a PostgreSQL server, in clock ticks: the postmaster's own utime + stime, plus its
/// reaped children's (cutime + cstime: backends that ended), plus utime + stime of every child
/// alive now (backends, WAL writer, checkpointer, …).
#[allow(dead_code)]
pub fn postgres_ticks(postmaster: u32) -> u64 {
    let own = stat_fields(postmaster).map_or(0, |f| f.iter().skip(11).take(4).sum::<u64>());
    let children: u64 = std::fs::read_dir("/proc")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(stat_fields)
                .filter(|f| f.get(1) == Some(&(postmaster as u64)))
                .map(|f| f.get(11).unwrap_or(&0) + f.get(12).unwrap_or(&0))
                .sum()
        })
        .unwrap_or(0);
    own + children
}

/// The value after `name` on the command line.
#[allow(dead_code)]
pub fn arg_str(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
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
