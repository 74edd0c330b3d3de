//! Test harness: an in-process server with a movable clock, and the real binary as a child.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use storekey::auth::clock::ShiftedClock;
use storekey::config::Config;
use storekey::server::RunningServer;

pub const BOB: &str = "bobloblaw@example.com";
pub const BOB_PASSWORD: &str = "b0bl0bl@w";
pub const GENERIC: &str = "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.";

/// A config for tests: cheap argon2 (the shipped default stays OWASP's), a temp database.
pub fn test_config(db: &Path) -> Config {
    let mut c = Config::default();
    c.server.listen = "127.0.0.1:0".into();
    c.storage.path = db.to_string_lossy().into_owned();
    c.password.argon2_memory_kib = 256;
    c.password.argon2_iterations = 1;
    c.mail.outbox_dir = db
        .parent()
        .unwrap()
        .join("outbox")
        .to_string_lossy()
        .into_owned();
    c.admin.env_key = Some("test-admin-key".into());
    // The provider generates an RSA key at start: only the suites that test it turn it on.
    c.oidc.enabled = false;
    c.oidc.key_file = db
        .parent()
        .unwrap()
        .join("oidc.kek")
        .to_string_lossy()
        .into_owned();
    c
}

pub struct TestServer {
    /// Kept so the temp directory lives as long as the server.
    pub _dir: tempfile::TempDir,
    pub config: Config,
    pub clock: ShiftedClock,
    pub server: Option<RunningServer>,
    pub http: reqwest::Client,
    /// With `STOREKEY_TEST_BACKEND=postgres`: the database of its own this server runs on
    /// (dropped with the test).
    pub _pg: Option<std::sync::Arc<crate::postgres::TestDatabase>>,
}

/// `STOREKEY_TEST_BACKEND=postgres` runs the suite on PostgreSQL: every server gets a fresh
/// migrated database from the test cluster (`tests/support/postgres.rs`).
pub fn on_postgres() -> bool {
    std::env::var("STOREKEY_TEST_BACKEND").as_deref() == Ok("postgres")
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&dir.path().join("storekey.redb"));
        let pg = if on_postgres() {
            let db = crate::postgres::database(crate::postgres::Schema::Migrated)
                .await
                .expect("STOREKEY_TEST_BACKEND=postgres needs PostgreSQL on this machine");
            config.storage = db.storage();
            Some(std::sync::Arc::new(db))
        } else {
            None
        };
        tweak(&mut config);
        let clock = ShiftedClock::new();
        let server = boot(config.clone(), clock.clone()).await;
        TestServer {
            _dir: dir,
            config,
            clock,
            server: Some(server),
            http: reqwest::Client::new(),
            _pg: pg,
        }
    }

    pub fn db_path(&self) -> PathBuf {
        PathBuf::from(&self.config.storage.path)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.server.as_ref().unwrap().addr, path)
    }

    pub fn auth(&self) -> &Arc<storekey::auth::Auth> {
        &self.server.as_ref().unwrap().auth
    }

    /// The server's store, for looking at what was written.
    pub fn store(&self) -> &storekey::store::Store {
        &self.server.as_ref().unwrap().store
    }

    /// Stops the server and starts a new one on the same file and clock.
    pub async fn restart(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        self.server = Some(boot(self.config.clone(), self.clock.clone()).await);
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    /// POST /graphql; returns (HTTP status, body).
    pub async fn gql(&self, query: &str, variables: Value, bearer: Option<&str>) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = bearer {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(ct.as_deref(), Some("application/json"));
        (status, resp.json().await.unwrap())
    }

    pub async fn create_customer(&self, email: &str, password: &str) -> Value {
        let (status, body) = self
            .gql(
                "mutation($e:String!,$p:String!){ createCustomerV2(input:{firstname:\"Bob\", lastname:\"Loblaw\", email:$e, password:$p}) { customer { email firstname lastname } } }",
                json!({"e": email, "p": password}),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        body
    }

    /// Bob Loblaw as `storekey customer add --confirmed` creates him: the merchant vouches for
    /// the address, so ID tokens say `email_verified: true` (a `createCustomerV2` sign-up's
    /// address is not verified until a mailed secret is used with it).
    pub async fn create_verified_customer(&self, email: &str, password: &str) {
        self.auth()
            .create_customer(storekey::auth::NewCustomer {
                email: email.into(),
                password: Some(storekey::auth::secret::Secret::new(password.to_string())),
                profile: storekey::auth::Profile {
                    firstname: Some("Bob".into()),
                    lastname: Some("Loblaw".into()),
                    ..Default::default()
                },
                confirmed: Some(true),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    /// generateCustomerToken; returns (status, body).
    /// A public storefront token with `scopes`, created through the core: the token itself,
    /// for `X-Shopify-Storefront-Access-Token`.
    pub async fn storefront_token(&self, scopes: &[&str]) -> String {
        let (_, token) = self
            .auth()
            .create_storefront_token(
                "test",
                "test storefront",
                scopes.iter().map(|s| s.to_string()).collect(),
                storekey::model::StorefrontTokenKind::Public,
            )
            .await
            .unwrap();
        token.expose().to_string()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> (u16, Value) {
        self.gql(
            "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e, password:$p) { token } }",
            json!({"e": email, "p": password}),
            None,
        )
        .await
    }

    pub async fn token(&self, email: &str, password: &str) -> String {
        let (status, body) = self.sign_in(email, password).await;
        assert_eq!(status, 200, "{body}");
        body["data"]["generateCustomerToken"]["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// `{ customer { email } }` with a bearer token.
    pub async fn whoami(&self, token: &str) -> (u16, Value) {
        self.gql("{ customer { email } }", json!({}), Some(token))
            .await
    }
}

async fn boot(config: Config, clock: ShiftedClock) -> RunningServer {
    // No retry: `RunningServer::shutdown` has released the file when it returns.
    storekey::server::start(config, Arc::new(clock))
        .await
        .unwrap_or_else(|e| panic!("server did not start: {e}"))
}

/// The first error of a GraphQL response: (message, category).
/// POST a GraphQL query to the Storefront endpoint with a storefront token; asserts HTTP 200
/// (GraphQL errors come in the body) and returns the body.
pub async fn sf(s: &TestServer, token: &str, query: &str, variables: Value) -> Value {
    let resp = s
        .http
        .post(s.url("/api/2026-04/graphql.json"))
        .header("X-Shopify-Storefront-Access-Token", token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

pub fn first_error(body: &Value) -> (String, String) {
    let e = &body["errors"][0];
    (
        e["message"].as_str().unwrap_or_default().to_string(),
        e["extensions"]["category"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// The real binary, started with `serve` on port 0.
pub struct BinServer {
    pub child: Child,
    pub addr: String,
    pub stderr_path: PathBuf,
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_storekey"))
}

/// Environment that keeps argon2 cheap and points everything into `dir`.
pub fn bin_env(cmd: &mut Command, dir: &Path) {
    cmd.current_dir(dir)
        .env_remove("RUST_LOG")
        .env("STOREKEY_PASSWORD_ARGON2_MEMORY_KIB", "256")
        .env("STOREKEY_PASSWORD_ARGON2_ITERATIONS", "1")
        .env("STOREKEY_STORAGE_PATH", dir.join("storekey.redb"))
        .env("STOREKEY_MAIL_OUTBOX_DIR", dir.join("outbox"));
}

impl BinServer {
    pub fn spawn(dir: &Path, extra_env: &[(&str, &str)]) -> BinServer {
        use std::io::BufRead;
        let stderr_path = dir.join("stderr.log");
        let mut cmd = bin();
        bin_env(&mut cmd, dir);
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .envs(extra_env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("storekey listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        BinServer {
            child,
            addr,
            stderr_path,
        }
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        unsafe_kill(self.child.id(), "TERM");
        self.child.wait().unwrap()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for BinServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status();
}

pub const ADMIN_KEY: &str = "test-admin-key";

impl TestServer {
    /// A REST call with the test admin key; returns (status, body).
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rest(method, path, body, Some(ADMIN_KEY)).await
    }

    pub async fn rest(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, self.url(path));
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "application/json"
        );
        (status, resp.json().await.unwrap())
    }

    /// Creates a customer through the admin API and returns its id.
    pub async fn admin_customer(&self, email: &str, password: &str, assistance: bool) -> u64 {
        let (status, body) = self
            .admin(
                "POST",
                "/rest/V1/customers",
                Some(json!({"customer": {"email": email, "firstname": "Bob", "lastname": "Loblaw", "allow_remote_shopping_assistance": assistance}, "password": password})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["id"].as_u64().unwrap()
    }

    pub async fn issue_otc(&self, id: u64, reason: &str) -> String {
        let (status, body) = self
            .admin(
                "POST",
                &format!("/rest/V1/customer/{id}/otp"),
                Some(json!({"reason": reason})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["otp"].as_str().unwrap().to_string()
    }

    /// `GET /metrics` with the admin key: the Prometheus text.
    pub async fn metrics(&self) -> String {
        let resp = self
            .http
            .get(self.url("/metrics"))
            .header("Authorization", format!("Bearer {ADMIN_KEY}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        resp.text().await.unwrap()
    }

    pub fn outbox_dir(&self) -> PathBuf {
        PathBuf::from(&self.config.mail.outbox_dir)
    }
}

/// The .eml files in a directory, oldest first, waiting up to 3 s for at least `n` of them
/// (mail is handed to the transport in the background).
pub async fn wait_for_mail(dir: &Path, n: usize) -> Vec<String> {
    for _ in 0..150 {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if files.len() >= n {
            files.sort();
            return files
                .iter()
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Vec::new()
}

/// The value of query parameter `name` in the first link of a mail that has it.
pub fn link_param(mail: &str, name: &str) -> Option<String> {
    let key = format!("{name}=");
    mail.lines().find_map(|line| {
        let start = line.find("http")?;
        let url = &line[start..];
        let query = url.split_once('?')?.1;
        query
            .split('&')
            .find_map(|p| p.strip_prefix(&key).map(|v| v.trim().replace("%40", "@")))
    })
}

/// For tests of what only the redb backend has (the file's bytes and permissions, backups, the
/// group-commit writer's counters, its expiry index, the offline CLI on the file): true on
/// PostgreSQL, after one line saying what is skipped and why.
pub fn redb_only(why: &str) -> bool {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: {why}");
    }
    on_postgres()
}
