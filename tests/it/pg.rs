//! The PostgreSQL backend's foundations against a real server (tests/support/postgres.rs):
//! migrations, the lease, the retry helper, the password kept out of logs; and the refusal to
//! serve from PostgreSQL before its store operations exist.

use crate::postgres::{database, storage_for, Schema};
use crate::support::{bin, bin_env};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use storekey::config::{StorageConfig, StorageTls};
use storekey::store::pg::{Postgres, Retry, MIGRATIONS};

fn all_versions() -> Vec<i32> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

async fn tables(pg: &Postgres) -> Vec<String> {
    let client = pg.client().await.unwrap();
    client
        .query(
            "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn migrations_apply_on_an_empty_database_and_record_their_versions() {
    let Some(db) = database(Schema::Empty).await else {
        return;
    };
    let pg = db.connect().await;
    assert!(tables(&pg).await.is_empty());
    let report = pg.migrate().await.unwrap();
    assert_eq!(report.applied, all_versions());
    assert_eq!(Some(report.version), all_versions().last().copied());
    assert_eq!(pg.applied_versions().await.unwrap(), all_versions());
    let client = pg.client().await.unwrap();
    let names: Vec<(i32, String)> = client
        .query(
            "SELECT version, name FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        names,
        vec![
            (1, "schema".into()),
            (2, "meta_rows".into()),
            (3, "admin".into()),
            (4, "mail_limits".into()),
            (5, "activation".into()),
            (6, "addresses".into()),
            (7, "lac_fields".into()),
            (8, "lac_backfill".into()),
            (9, "oidc".into()),
            (10, "login_codes".into()),
            (11, "email_verified".into()),
            (12, "email_verified_backfill".into()),
            (13, "passkeys".into())
        ]
    );
    assert_eq!(
        tables(&pg).await,
        [
            "access_tokens",
            "admin_sessions",
            "admin_users",
            "audit_log",
            "browser_sessions",
            "customer_addresses",
            "customer_secrets",
            "customers",
            "leases",
            "meta",
            "multipass_replay",
            "oidc_access",
            "oidc_clients",
            "oidc_codes",
            "oidc_grants",
            "oidc_keys",
            "oidc_refresh_tokens",
            "passkey_challenges",
            "rate_limits",
            "schema_migrations",
            "storefront_tokens",
        ]
    );
    let generation: i64 = client
        .query_one(
            "SELECT value FROM meta WHERE key = 'storefront_generation'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(generation, 0);
    // The migration lease is given back at the end.
    let leases: i64 = client
        .query_one("SELECT count(*) FROM leases", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(leases, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrators_started_together_all_succeed_and_apply_each_migration_once() {
    let Some(db) = database(Schema::Empty).await else {
        return;
    };
    let mut migrators = Vec::new();
    for _ in 0..4 {
        let pg = db.connect().await;
        migrators.push(tokio::spawn(async move { pg.migrate().await }));
    }
    let mut applied = Vec::new();
    for m in migrators {
        let report = m
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("a migrator failed: {e}"));
        assert_eq!(Some(report.version), all_versions().last().copied());
        applied.extend(report.applied);
    }
    applied.sort();
    assert_eq!(
        applied,
        all_versions(),
        "each migration applied by exactly one migrator"
    );
    let pg = db.connect().await;
    assert_eq!(pg.applied_versions().await.unwrap(), all_versions());
}

#[tokio::test]
async fn migrating_a_current_schema_changes_nothing() {
    let Some(db) = database(Schema::Migrated).await else {
        return;
    };
    let pg = db.connect().await;
    let before: Vec<String> = applied_at(&pg).await;
    let report = pg.migrate().await.unwrap();
    assert!(report.applied.is_empty(), "{report:?}");
    assert_eq!(Some(report.version), all_versions().last().copied());
    let again = pg.migrate().await.unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(applied_at(&pg).await, before);
    assert_eq!(pg.applied_versions().await.unwrap(), all_versions());
}

async fn applied_at(pg: &Postgres) -> Vec<String> {
    let client = pg.client().await.unwrap();
    client
        .query(
            "SELECT version::TEXT || ' ' || applied_at::TEXT FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn a_schema_migrated_by_a_newer_build_is_refused() {
    let Some(db) = database(Schema::Migrated).await else {
        return;
    };
    let pg = db.connect().await;
    pg.client()
        .await
        .unwrap()
        .batch_execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')")
        .await
        .unwrap();
    let e = pg.migrate().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the database has schema migration 0099, which this build does not know (it knows up to 0013): run a storekey at least as new as the one that migrated it"
    );
}

#[tokio::test]
async fn a_live_lease_refuses_a_second_holder_who_takes_over_once_it_expires() {
    let Some(db) = database(Schema::Migrated).await else {
        return;
    };
    let pg = db.connect().await;
    let ttl = Duration::from_secs(30);
    assert!(pg.try_lease("sweeper", "instance-a", ttl).await.unwrap());
    assert!(!pg.try_lease("sweeper", "instance-b", ttl).await.unwrap());
    // The holder renews its own live lease; other names are independent.
    assert!(pg.try_lease("sweeper", "instance-a", ttl).await.unwrap());
    assert!(pg.try_lease("other", "instance-b", ttl).await.unwrap());
    // The database's clock is the only one: move the lease's expiry into its past.
    pg.client()
        .await
        .unwrap()
        .batch_execute(
            "UPDATE leases SET expires_at = now() - INTERVAL '1 second' WHERE name = 'sweeper'",
        )
        .await
        .unwrap();
    assert!(pg.try_lease("sweeper", "instance-b", ttl).await.unwrap());
    assert!(!pg.try_lease("sweeper", "instance-a", ttl).await.unwrap());
    let holder: String = pg
        .client()
        .await
        .unwrap()
        .query_one("SELECT holder FROM leases WHERE name = 'sweeper'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(holder, "instance-b");
    // Only the holder can give it back; then anyone may take it.
    assert!(!pg.release_lease("sweeper", "instance-a").await.unwrap());
    assert!(pg.release_lease("sweeper", "instance-b").await.unwrap());
    assert!(pg.try_lease("sweeper", "instance-a", ttl).await.unwrap());
}

/// A table for the retry tests and the number of rows it holds.
async fn scratch(pg: &Postgres) {
    pg.client()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE scratch (k INT4 PRIMARY KEY)")
        .await
        .unwrap();
}

async fn scratch_keys(pg: &Postgres) -> Vec<i32> {
    pg.client()
        .await
        .unwrap()
        .query("SELECT k FROM scratch ORDER BY k", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn a_transaction_failed_twice_with_40001_succeeds_on_the_third_attempt() {
    let Some(db) = database(Schema::Migrated).await else {
        return;
    };
    let pg = db.connect().await;
    scratch(&pg).await;
    pg.inject_serialization_failures(2);
    let runs = Arc::new(AtomicU32::new(0));
    let value = pg
        .transaction(Retry::CONFLICTS, |tx| {
            let runs = runs.clone();
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tx.execute("INSERT INTO scratch (k) VALUES (1)", &[])
                    .await?;
                Ok("committed")
            })
        })
        .await
        .unwrap();
    assert_eq!(value, "committed");
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_eq!(pg.retries(), 2);
    // The failed attempts' inserts were rolled back: one row, not a duplicate-key error.
    assert_eq!(scratch_keys(&pg).await, vec![1]);
}

#[tokio::test]
async fn a_unique_violation_is_retried_only_where_the_caller_allows() {
    let Some(db) = database(Schema::Migrated).await else {
        return;
    };
    let pg = db.connect().await;
    scratch(&pg).await;
    pg.client()
        .await
        .unwrap()
        .batch_execute("INSERT INTO scratch (k) VALUES (1)")
        .await
        .unwrap();
    // First attempt inserts a key that exists (as if a racer won); later ones pick another.
    let insert = |runs: Arc<AtomicU32>, retry: Retry| {
        let pg = pg.clone();
        async move {
            pg.transaction(retry, move |tx| {
                let runs = runs.clone();
                Box::pin(async move {
                    let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
                    let key: i32 = if run == 1 { 1 } else { 2 };
                    tx.execute("INSERT INTO scratch (k) VALUES ($1)", &[&key])
                        .await?;
                    Ok(())
                })
            })
            .await
        }
    };
    let runs = Arc::new(AtomicU32::new(0));
    let e = insert(runs.clone(), Retry::CONFLICTS).await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("23505"));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(pg.retries(), 0);
    assert_eq!(scratch_keys(&pg).await, vec![1]);

    let runs = Arc::new(AtomicU32::new(0));
    insert(runs.clone(), Retry::CONFLICTS_AND_UNIQUE)
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(pg.retries(), 1);
    assert_eq!(scratch_keys(&pg).await, vec![1, 2]);
}

#[tokio::test]
async fn a_syntax_error_is_not_retried_and_a_deadlock_victim_is() {
    let Some(db) = database(Schema::Migrated).await else {
        return;
    };
    let pg = db.connect().await;
    let runs = Arc::new(AtomicU32::new(0));
    let e = pg
        .transaction(Retry::CONFLICTS_AND_UNIQUE, |tx| {
            let runs = runs.clone();
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tx.batch_execute("SELEC 1").await?;
                Ok(())
            })
        })
        .await
        .unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("42601"));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(pg.retries(), 0);

    let runs = Arc::new(AtomicU32::new(0));
    pg.transaction(Retry::CONFLICTS, |tx| {
        let runs = runs.clone();
        Box::pin(async move {
            if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                tx.batch_execute(
                    "DO $$ BEGIN RAISE EXCEPTION 'chosen as deadlock victim' USING ERRCODE = '40P01'; END $$",
                )
                .await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(pg.retries(), 1);
}

/// The test URL with a password in it (the test server trusts loopback, so any is accepted).
fn with_password(url: &str, password: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].find('@') {
        Some(at) if !url[start..start + at].contains(':') => {
            format!("{}:{password}{}", &url[..start + at], &url[start + at..])
        }
        _ => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}password={password}")
        }
    }
}

#[tokio::test]
async fn the_database_password_is_in_no_log_line_and_no_error() {
    let Some(db) = database(Schema::Empty).await else {
        return;
    };
    let password = "pg-password-value-3141";
    let url = with_password(&db.url, password);
    assert!(url.contains(password));
    // In a process of its own (this binary, one ignored test): there a global subscriber sees
    // every event; a per-thread one races the other tests for tracing's callsite cache.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "pg::log_a_connection_migration_and_retry",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(LOG_URL_VAR, &url)
        .output()
        .unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{logs}");
    assert!(logs.contains("connected to PostgreSQL"), "{logs}");
    assert!(logs.contains("applied database migration"), "{logs}");
    assert!(logs.contains("transaction conflict; retrying"), "{logs}");
    assert!(
        logs.contains(":<hidden>@") || logs.contains("password=<hidden>"),
        "{logs}"
    );
    assert!(!logs.contains(password), "the password is logged:\n{logs}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(password));

    // Nothing listens on port 1: the error names the server, not the password.
    let refused = with_password("postgresql://storekey@127.0.0.1:1/storekey", password);
    let e = Postgres::connect(&storage_for(&refused))
        .await
        .err()
        .unwrap();
    let text = e.to_string();
    assert!(text.starts_with("cannot connect to PostgreSQL"), "{text}");
    assert!(!text.contains(password), "{text}");
    assert!(!format!("{e:?}").contains(password));
}

const LOG_URL_VAR: &str = "STOREKEY_TEST_PG_LOG_URL";

/// Run by the test above in a child process: every event of the process, at every level, to
/// stderr, while connecting (with a password in the URL), migrating and retrying once.
#[tokio::test]
#[ignore = "run by the_database_password_is_in_no_log_line_and_no_error in a process of its own"]
async fn log_a_connection_migration_and_retry() {
    let Ok(url) = std::env::var(LOG_URL_VAR) else {
        return;
    };
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let pg = Postgres::connect(&storage_for(&url)).await.unwrap();
    pg.migrate().await.unwrap();
    pg.inject_serialization_failures(1);
    pg.transaction(Retry::CONFLICTS, |_| Box::pin(async { Ok(()) }))
        .await
        .unwrap();
}

/// Whether the connection a handle hands out is encrypted, as the server sees it.
async fn encrypted(pg: &Postgres) -> bool {
    pg.client()
        .await
        .unwrap()
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn storage_tls_decides_how_the_connection_is_secured() {
    let Some(db) = database(Schema::Migrated).await else {
        return;
    };
    let Some(ca) = db.ca_file.clone() else {
        // STOREKEY_TEST_PG_URL: a server of unknown TLS set-up.
        return;
    };
    let with = |url: &str, tls: StorageTls, ca: Option<&std::path::Path>| StorageConfig {
        tls,
        tls_ca_file: ca.map(|p| p.display().to_string()),
        ..storage_for(url)
    };
    let by_name = db.url.replace("@127.0.0.1:", "@localhost:");

    let plain = Postgres::connect(&with(&db.url, StorageTls::Disable, None))
        .await
        .unwrap();
    assert!(!encrypted(&plain).await);
    // require: encrypted, the certificate (from a CA nobody trusts) not checked.
    let require = Postgres::connect(&with(&db.url, StorageTls::Require, None))
        .await
        .unwrap();
    assert!(encrypted(&require).await);
    // verify-full: the chain against the CA file, the name (or address) against the certificate.
    for url in [&by_name, &db.url] {
        let verified = Postgres::connect(&with(url, StorageTls::VerifyFull, Some(&ca)))
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(encrypted(&verified).await);
    }
    // ... and without the CA file only the Mozilla roots are trusted: refused.
    let e = Postgres::connect(&with(&by_name, StorageTls::VerifyFull, None))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.starts_with("cannot connect to PostgreSQL: "), "{e}");
    assert!(e.contains("UnknownIssuer"), "{e}");
    // A certificate for another name is refused even from the trusted CA (the server reached
    // at its address, the name checked being db.example).
    let port = db.url.split("@127.0.0.1:").nth(1).unwrap();
    let other_name = format!(
        "postgresql://storekey@db.example:{}?hostaddr=127.0.0.1",
        port
    );
    let e = Postgres::connect(&with(&other_name, StorageTls::VerifyFull, Some(&ca)))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.starts_with("cannot connect to PostgreSQL: "), "{e}");
    assert!(
        e.contains("certificate not valid for name \"db.example\""),
        "{e}"
    );
    let e = Postgres::connect(&with(
        &db.url,
        StorageTls::VerifyFull,
        Some(std::path::Path::new("/nonexistent/ca.pem")),
    ))
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.starts_with("storage.tls_ca_file /nonexistent/ca.pem: "),
        "{e}"
    );
}

/// `url` with `sslmode=<mode>` added to its query.
fn with_sslmode(url: &str, mode: &str) -> String {
    let join = if url.contains('?') { '&' } else { '?' };
    format!("{url}{join}sslmode={mode}")
}

#[tokio::test]
async fn an_sslmode_in_the_url_is_honoured_with_libpq_meanings_whatever_storage_tls_says() {
    let Some(db) = database(Schema::Migrated).await else {
        return;
    };
    let Some(ca) = db.ca_file.clone() else {
        return;
    };
    let ca = ca.display().to_string();
    // storage.tls says the opposite of each mode; the URL's sslmode wins. The server serves TLS
    // with a certificate from a CA of its own, for localhost and 127.0.0.1.
    let connect = |url: String, tls: StorageTls, ca_file: Option<&str>| {
        let config = StorageConfig {
            tls,
            tls_ca_file: ca_file.map(str::to_string),
            ..storage_for(&url)
        };
        async move { Postgres::connect(&config).await }
    };
    let plain = connect(
        with_sslmode(&db.url, "disable"),
        StorageTls::VerifyFull,
        None,
    )
    .await
    .unwrap();
    assert!(!encrypted(&plain).await);
    // allow, prefer, require: encrypted (the server offers TLS), the certificate unchecked.
    for mode in ["allow", "prefer", "require"] {
        let pg = connect(with_sslmode(&db.url, mode), StorageTls::Disable, None)
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert!(encrypted(&pg).await, "{mode}");
    }
    // verify-ca: the chain is checked, the name is not: a certificate for localhost serves
    // db.example; a CA nobody named is refused.
    let port = db.url.split("@127.0.0.1:").nth(1).unwrap();
    let other_name = format!("postgresql://storekey@db.example:{port}?hostaddr=127.0.0.1");
    let pg = connect(
        with_sslmode(&other_name, "verify-ca"),
        StorageTls::Disable,
        Some(&ca),
    )
    .await
    .unwrap();
    assert!(encrypted(&pg).await);
    let e = connect(
        with_sslmode(&db.url, "verify-ca"),
        StorageTls::Disable,
        None,
    )
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("UnknownIssuer"), "{e}");
    // verify-full: the name too.
    let pg = connect(
        with_sslmode(&db.url, "verify-full"),
        StorageTls::Disable,
        Some(&ca),
    )
    .await
    .unwrap();
    assert!(encrypted(&pg).await);
    let e = connect(
        with_sslmode(&other_name, "verify-full"),
        StorageTls::Disable,
        Some(&ca),
    )
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("certificate not valid for name \"db.example\""),
        "{e}"
    );
    // The key=value form alike.
    let key_values = format!(
        "host=127.0.0.1 port={} user=storekey dbname={} sslmode=disable",
        port.split('/').next().unwrap(),
        db.name
    );
    if db.url.contains("storekey@") {
        let pg = connect(key_values, StorageTls::VerifyFull, None)
            .await
            .unwrap();
        assert!(!encrypted(&pg).await);
    }
}

/// `migrate` and `serve` to a PostgreSQL URL with `?sslmode=disable`, no STOREKEY_STORAGE_TLS:
/// the URL decides (the server also serves TLS, from a CA storekey does not trust, so
/// `verify-full` from the built-in default would be refused) and each says what is in force.
#[tokio::test]
async fn migrate_and_serve_with_sslmode_disable_need_no_storage_tls() {
    let Some(db) = database(Schema::Empty).await else {
        return;
    };
    let url = with_sslmode(&db.url, "disable");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.redb");
    drop(storekey::store::RedbStore::open(&src).unwrap());
    let mut cmd = bin();
    bin_env(&mut cmd, dir.path());
    let out = cmd
        .env_remove("STOREKEY_STORAGE_TLS")
        .args(["migrate", "--from", src.to_str().unwrap(), "--to", &url])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("copied "), "{stdout}");
    assert!(
        stderr.contains(": TLS disable (sslmode in the URL)"),
        "{stderr}"
    );
    let mut server = crate::support::BinServer::spawn(
        dir.path(),
        &[
            ("STOREKEY_STORAGE_BACKEND", "postgres"),
            ("STOREKEY_STORAGE_URL", &url),
            ("STOREKEY_LOG_FORMAT", "json"),
        ],
    );
    server.terminate();
    let log = server.stderr();
    let line = log
        .lines()
        .find(|l| l.contains("connected to PostgreSQL"))
        .unwrap_or_else(|| panic!("{log}"));
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(line["fields"]["tls"], "disable", "{line}");
    assert_eq!(line["fields"]["tls_from"], "sslmode in the URL", "{line}");
}

#[test]
fn commands_on_an_unreachable_postgres_say_so_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["customer", "list"][..],
        &["serve", "--listen", "127.0.0.1:0"][..],
    ] {
        let mut cmd = bin();
        bin_env(&mut cmd, dir.path());
        let out = cmd
            .args(args)
            .env("STOREKEY_STORAGE_BACKEND", "postgres")
            .env(
                "STOREKEY_STORAGE_URL",
                "postgresql://storekey:pg-password-value-2718@127.0.0.1:1/storekey",
            )
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(
                "storekey: storage: storage unavailable: cannot connect to PostgreSQL"
            ),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("pg-password-value-2718"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let mut cmd = bin();
    bin_env(&mut cmd, dir.path());
    let out = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("STOREKEY_STORAGE_BACKEND", "postgres")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "storekey: storage.url: required when storage.backend = \"postgres\" (env STOREKEY_STORAGE_URL)\n"
    );
}

#[tokio::test]
async fn migration_0012_reads_email_verified_as_confirmed_for_customers_written_before_0011() {
    let Some(db) = database(Schema::Migrated).await else {
        return;
    };
    let pg = db.connect().await;
    let client = pg.client().await.unwrap();
    // Rows as an older build wrote them: no email_verified given (0011's default, false).
    client
        .batch_execute(
            "INSERT INTO customers (email, email_key, confirmed, disabled, created_at, updated_at)
             VALUES ('ann@example.com', 'ann@example.com', true, false, 1, 1),
                    ('bo@example.com', 'bo@example.com', false, false, 1, 1)",
        )
        .await
        .unwrap();
    let backfill = MIGRATIONS.iter().find(|m| m.version == 12).unwrap();
    client.batch_execute(backfill.sql).await.unwrap();
    let rows: Vec<(String, bool, bool)> = client
        .query(
            "SELECT email, confirmed, email_verified FROM customers ORDER BY email",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        rows,
        [
            ("ann@example.com".into(), true, true),
            ("bo@example.com".into(), false, false)
        ]
    );
    // The store reads it, and a customer written now keeps its own (confirmed, not verified).
    let ann = pg
        .customer_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(ann.customer.email_verified);
    let mut cy = storekey::model::Account::default();
    cy.customer.email = "cy@example.com".into();
    cy.customer.confirmed = true;
    let created = match pg.create_customer(cy, None).await.unwrap() {
        storekey::store::Created::Created(a) => a,
        storekey::store::Created::EmailTaken => panic!("email taken"),
    };
    let read = pg.customer(created.customer.id).await.unwrap().unwrap();
    assert!(read.customer.confirmed && !read.customer.email_verified);
}

#[tokio::test]
async fn migration_0008_reads_the_fields_of_legacy_login_as_customer_entries_from_their_text() {
    let Some(db) = database(Schema::Migrated).await else {
        return;
    };
    let pg = db.connect().await;
    let client = pg.client().await.unwrap();
    client
        .batch_execute(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES
             (1, 'ops', 'otc_issued', 7, 'call; reason: twice'),
             (2, 'customer', 'otc_used', 7, 'issued by ops; reason: call; reason: twice'),
             (3, 'customer', 'otc_used', 7, 'issued by sam'),
             (4, 'ops', 'customer_updated', 7, 'issued by x; reason: y')",
        )
        .await
        .unwrap();
    let backfill = MIGRATIONS.iter().find(|m| m.version == 8).unwrap();
    client.batch_execute(backfill.sql).await.unwrap();
    let rows: Vec<(Option<String>, Option<String>)> = client
        .query("SELECT issued_by, reason FROM audit_log ORDER BY seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let some = |by: &str, reason: &str| (Some(by.to_string()), Some(reason.to_string()));
    assert_eq!(
        rows,
        [
            some("ops", "call; reason: twice"),
            some("ops", "call; reason: twice"),
            some("sam", ""),
            (None, None)
        ]
    );
}
