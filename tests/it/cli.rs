//! The real binary: the port line, signals, exit codes, offline subcommands, and logs.

use crate::support::*;
use serde_json::{json, Value};

#[test]
fn unknown_flag_is_a_one_line_error_with_status_2() {
    let out = bin().args(["serve", "--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("--no-such-flag"), "{err}");
}

#[test]
fn invalid_config_value_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["serve"])
        .env("STOREKEY_LOCKOUT_MAX_FAILURES", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("STOREKEY_LOCKOUT_MAX_FAILURES"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1);

    let out = bin()
        .current_dir(dir.path())
        .args(["serve"])
        .env("STOREKEY_MAIL_SMTP_TLS", "ssl")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "storekey: config: mail.smtp_tls: expected \"starttls\", \"tls\" or \"none\", not \"ssl\"\n"
    );

    let out = bin()
        .current_dir(dir.path())
        .args(["serve", "--config", "missing.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("missing.toml"));
}

#[test]
fn offline_customer_commands() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = bin();
        bin_env(&mut cmd, dir.path());
        cmd.args(args).output().unwrap()
    };
    let out = run(&[
        "customer",
        "add",
        "--email",
        BOB,
        "--password",
        BOB_PASSWORD,
        "--firstname",
        "Bob",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "customer",
        "add",
        "--email",
        BOB,
        "--password",
        BOB_PASSWORD,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "customer",
        "add",
        "--email",
        "weak@example.com",
        "--password",
        "weak",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8 characters"));
    let out = run(&["customer", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("1\t{BOB}\tenabled\n")
    );
    let out = run(&["customer", "disable", BOB]);
    assert!(out.status.success());
    let out = run(&["customer", "show", BOB]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["disabled"], true);
    assert_eq!(shown["firstname"], "Bob");
    assert!(run(&["customer", "enable", BOB]).status.success());
    let out = run(&["customer", "show", "nobody@example.com"]);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn serve_prints_the_port_signs_in_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    bin_env(&mut cmd, dir.path());
    let out = cmd
        .args([
            "customer",
            "add",
            "--email",
            BOB,
            "--password",
            BOB_PASSWORD,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());

    let mut server = BinServer::spawn(dir.path(), &[("STOREKEY_LOG_LEVEL", "trace")]);
    let http = reqwest::Client::new();
    let url = format!("http://{}/graphql", server.addr);
    let body: Value = http
        .post(&url)
        .json(&json!({"query": format!("mutation {{ generateCustomerToken(email:\"{BOB}\", password:\"{BOB_PASSWORD}\") {{ token }} }}")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["data"]["generateCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();

    // While the server holds the file, offline commands refuse clearly instead of hanging.
    let mut cmd = bin();
    bin_env(&mut cmd, dir.path());
    let out = cmd.args(["customer", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("admin REST API"), "{err}");

    let status = server.terminate();
    assert_eq!(status.code(), Some(0));
    let logs = server.stderr();
    assert!(logs.contains("shutting down"), "{logs}");
    assert!(!logs.contains(BOB_PASSWORD), "password in logs");
    assert!(!logs.contains(&token), "token in logs");
}

#[test]
fn keygen_prints_a_key_and_its_digest_line() {
    let out = bin().arg("keygen").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let key = text.lines().next().unwrap();
    let digest = hex::encode(storekey::auth::secret::digest(key));
    assert!(text.contains(&format!("sha256 = \"{digest}\"")), "{text}");
}

#[test]
fn otc_issue_follows_the_admin_rules() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = bin();
        bin_env(&mut cmd, dir.path());
        cmd.args(args).output().unwrap()
    };
    assert!(run(&[
        "customer",
        "add",
        "--email",
        BOB,
        "--password",
        BOB_PASSWORD
    ])
    .status
    .success());
    let out = run(&["otc", "issue", "--email", BOB, "--reason", "phone"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Login as Customer assistance is disabled for this customer."));
    assert!(run(&[
        "customer",
        "add",
        "--email",
        "ann@example.com",
        "--allow-remote-assistance"
    ])
    .status
    .success());
    let out = run(&[
        "otc",
        "issue",
        "--email",
        "ann@example.com",
        "--reason",
        "phone",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap();
    assert_eq!(code.trim().len(), 32);
    assert!(code.trim().bytes().all(|b| b.is_ascii_hexdigit()));
}

#[tokio::test]
async fn backup_works_while_serving_through_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    bin_env(&mut cmd, dir.path());
    assert!(cmd
        .args([
            "customer",
            "add",
            "--email",
            BOB,
            "--password",
            BOB_PASSWORD
        ])
        .output()
        .unwrap()
        .status
        .success());
    let mut server = BinServer::spawn(dir.path(), &[("STOREKEY_ADMIN_KEY", "k")]);
    // The default storage.backup_dir, relative to the working directory.
    let backup = dir.path().join("data/backups/copy.redb");
    let mut cmd = bin();
    bin_env(&mut cmd, dir.path());
    let out = cmd
        .env("STOREKEY_ADMIN_KEY", "k")
        .env("STOREKEY_SERVER_LISTEN", &server.addr)
        .arg("backup")
        .arg(&backup)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.terminate();
    let copy = storekey::store::RedbStore::open(&backup).unwrap();
    assert!(copy
        .read()
        .unwrap()
        .customer_by_email(BOB)
        .unwrap()
        .is_some());
}

#[test]
fn backup_while_serving_needs_a_path_in_the_backup_dir() {
    let dir = tempfile::tempdir().unwrap();
    let _server = BinServer::spawn(dir.path(), &[("STOREKEY_ADMIN_KEY", "k")]);
    let mut cmd = bin();
    bin_env(&mut cmd, dir.path());
    let out = cmd
        .env("STOREKEY_ADMIN_KEY", "k")
        .env("STOREKEY_SERVER_LISTEN", &_server.addr)
        .arg("backup")
        .arg(dir.path().join("storekey.redb"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("writes backups only into storage.backup_dir (data/backups)"),
        "{stderr}"
    );
    assert!(!dir.path().join("data/backups").exists());
}

#[test]
fn offline_backup_refuses_the_live_file_and_keeps_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = bin();
        bin_env(&mut cmd, dir.path());
        cmd.args(args).output().unwrap()
    };
    assert!(run(&[
        "customer",
        "add",
        "--email",
        BOB,
        "--password",
        BOB_PASSWORD
    ])
    .status
    .success());
    let live = dir.path().join("storekey.redb");
    let inode = || {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&live).unwrap().ino()
    };
    let before = inode();
    for args in [
        &["backup", "storekey.redb"][..],
        &["backup", "--overwrite", "storekey.redb"][..],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            "storekey: storekey.redb: refusing to write a backup over the live database file (storage.path)"
        );
    }
    assert_eq!(inode(), before, "the database file was replaced");
    std::fs::write(dir.path().join("old.redb"), "keep me").unwrap();
    let out = run(&["backup", "old.redb"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "storekey: old.redb already exists; pass --overwrite to replace it"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("old.redb")).unwrap(),
        "keep me"
    );
    let out = run(&["backup", "--overwrite", "old.redb"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = storekey::store::RedbStore::open(&dir.path().join("old.redb")).unwrap();
    assert!(copy
        .read()
        .unwrap()
        .customer_by_email(BOB)
        .unwrap()
        .is_some());
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[storage]\npath = \"from-file.redb\"\n[password]\nargon2_memory_kib = 256\nargon2_iterations = 1\n",
    )
    .unwrap();
    let add = |env: Option<&str>, flag: Option<&str>, email: &str| {
        let mut cmd = bin();
        cmd.current_dir(dir.path())
            .env_remove("STOREKEY_STORAGE_PATH");
        if let Some(e) = env {
            cmd.env("STOREKEY_STORAGE_PATH", e);
        }
        if let Some(f) = flag {
            cmd.args(["--db", f]);
        }
        let out = cmd
            .args(["customer", "add", "--email", email])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    add(None, None, "file@example.com");
    add(Some("from-env.redb"), None, "env@example.com");
    add(
        Some("from-env.redb"),
        Some("from-flag.redb"),
        "flag@example.com",
    );
    for (file, email) in [
        ("from-file.redb", "file@example.com"),
        ("from-env.redb", "env@example.com"),
        ("from-flag.redb", "flag@example.com"),
    ] {
        let store = storekey::store::RedbStore::open(&dir.path().join(file)).unwrap();
        let reader = store.read().unwrap();
        assert_eq!(reader.customer_count().unwrap(), 1, "{file}");
        assert!(reader.customer_by_email(email).unwrap().is_some(), "{file}");
    }
}

#[test]
fn sigint_also_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = BinServer::spawn(dir.path(), &[]);
    let _ = std::process::Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status();
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
    assert!(server.stderr().contains("stopped"));
}
