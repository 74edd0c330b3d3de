//! Migration (issue 14): `storekey import` / `export` as the real binary, then the real server
//! on the file they wrote: imported passwords sign in and are rehashed, reports, re-runs.

use crate::support::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;
use storekey::auth::multipass::MultipassKey;
use storekey::auth::storefront_tokens::WRITE_CUSTOMERS;
use storekey::store::Backend as _;

const RONI: &str = "roni_cost@example.com"; // magento:…:0 (MD5), password "password"
const JDOE: &str = "jdoe@example.com"; // 3_32_2_67108864, converted to PHC, "Password@"
const MARY: &str = "mary.obrien@example.com"; // chain :0:1, "password"

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

/// Runs the binary with the test environment on `dir`'s database.
fn run(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = bin();
    bin_env(&mut cmd, dir);
    cmd.args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `storekey import FILE ARGS… --report DIR/NAME`, which must succeed; returns the report.
fn import_ok(dir: &Path, file: &Path, args: &[&str], report: &str) -> Value {
    let report_path = dir.join(report);
    let mut all = vec!["import", file.to_str().unwrap()];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--report", report_path.to_str().unwrap()]);
    let out = run(dir, &all);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_str(&std::fs::read_to_string(report_path).unwrap()).unwrap()
}

/// A server on `dir`'s database.
async fn server_on(dir: &Path, tweak: impl FnOnce(&mut storekey::config::Config)) -> TestServer {
    let db = dir.join("storekey.redb");
    TestServer::start_with(move |c| {
        c.storage.path = db.to_string_lossy().into_owned();
        tweak(c);
    })
    .await
}

async fn stored_hash(s: &TestServer, email: &str) -> String {
    s.auth()
        .account_by_email(email)
        .await
        .unwrap()
        .unwrap()
        .credentials
        .password_hash
        .unwrap_or_default()
}

fn metric_line(metrics: &str, prefix: &str) -> Option<String> {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .map(str::to_owned)
}

#[tokio::test]
async fn an_imported_magento_password_signs_in_and_is_rehashed_keeping_tokens() {
    if redb_only("the offline import CLI writes the redb file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = import_ok(dir.path(), &fixture("magento-customers.csv"), &[], "r.json");
    assert_eq!(report["created"], 3);
    let s = server_on(dir.path(), |_| {}).await;
    // The count runs beside serving at start: wait for it, then it must be exactly 1.
    let md5 = "storekey_legacy_password_hashes{scheme=\"magento_md5\"}";
    let mut line = None;
    for _ in 0..500 {
        line = metric_line(&s.metrics().await, md5).filter(|l| !l.ends_with(" 0"));
        if line.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        line.as_deref(),
        Some("storekey_legacy_password_hashes{scheme=\"magento_md5\"} 1")
    );
    assert!(stored_hash(&s, RONI).await.starts_with("magento:"));
    let before = s.auth().account_by_email(RONI).await.unwrap().unwrap();

    let first = s.token(RONI, "password").await;
    let after = s.auth().account_by_email(RONI).await.unwrap().unwrap();
    let hash = after.credentials.password_hash.clone().unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{hash}");
    assert_eq!(
        after.credentials.password_version,
        before.credentials.password_version
    );
    // The old password still works, on the new hash, and the first token was not revoked.
    let second = s.token(RONI, "password").await;
    assert_ne!(first, second);
    assert_eq!(stored_hash(&s, RONI).await, hash, "no second rehash");
    let (_, me) = s.whoami(&first).await;
    assert_eq!(me["data"]["customer"]["email"], RONI, "{me}");

    // The chained and the converted argon2 (64 MiB) hashes too.
    s.token(MARY, "password").await;
    s.token(JDOE, "Password@").await;
    for email in [MARY, JDOE] {
        assert!(stored_hash(&s, email)
            .await
            .starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
    }
    let metrics = s.metrics().await;
    for (from, n) in [("magento_md5", 1), ("chained", 1), ("phc_argon2id", 1)] {
        let prefix = format!("storekey_password_rehash_total{{from=\"{from}\"}}");
        assert_eq!(
            metric_line(&metrics, &prefix),
            Some(format!("{prefix} {n}")),
            "{metrics}"
        );
    }
    assert_eq!(
        metric_line(
            &metrics,
            "storekey_legacy_password_hashes{scheme=\"magento_md5\"}"
        )
        .as_deref(),
        Some("storekey_legacy_password_hashes{scheme=\"magento_md5\"} 0")
    );
}

#[tokio::test]
async fn a_wrong_password_on_a_legacy_hash_is_refused_and_counts_toward_lockout() {
    if redb_only("the offline import CLI writes the redb file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    import_ok(dir.path(), &fixture("magento-customers.csv"), &[], "r.json");
    let s = server_on(dir.path(), |_| {}).await;
    let (status, body) = s.sign_in(RONI, "Password").await;
    assert_eq!(status, 401);
    assert_eq!(first_error(&body).0, GENERIC);
    let account = s.auth().account_by_email(RONI).await.unwrap().unwrap();
    assert_eq!(account.credentials.lockout.failures, 1);
    assert!(
        stored_hash(&s, RONI).await.starts_with("magento:"),
        "not rehashed"
    );
}

#[tokio::test]
async fn with_legacy_hashes_off_an_imported_magento_password_is_refused() {
    if redb_only("the offline import CLI writes the redb file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    import_ok(dir.path(), &fixture("magento-customers.csv"), &[], "r.json");
    let s = server_on(dir.path(), |c| c.password.accept_legacy_hashes = false).await;
    let (_, body) = s.sign_in(RONI, "password").await;
    assert_eq!(first_error(&body).0, GENERIC);
    assert!(stored_hash(&s, RONI).await.starts_with("magento:"));
    // A converted argon2 hash is not legacy: it still signs in.
    s.token(JDOE, "Password@").await;
}

fn counts(report: &Value) -> Value {
    let mut r = report.clone();
    for volatile in ["dry_run", "seconds"] {
        r.as_object_mut().unwrap().remove(volatile);
    }
    r
}

#[test]
fn a_dry_run_writes_nothing_and_reports_what_the_import_then_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture("customer_entity.tsv");
    let dry = import_ok(dir.path(), &file, &["--dry-run"], "dry.json");
    assert_eq!(dry["dry_run"], true);
    let store = storekey::store::RedbStore::open(&dir.path().join("storekey.redb")).unwrap();
    assert_eq!(store.read().unwrap().customer_count().unwrap(), 0);
    drop(store);
    let real = import_ok(dir.path(), &file, &[], "real.json");
    assert_eq!(counts(&dry), counts(&real));
    assert_eq!(real["created"], 2);
    assert_eq!(real["invalid"], 1);
}

#[test]
fn the_report_names_lines_and_reasons_and_never_a_hash() {
    let dir = tempfile::tempdir().unwrap();
    let report = import_ok(dir.path(), &fixture("customer_entity.tsv"), &[], "r.json");
    assert_eq!(
        report["invalid_rows"],
        json!([{"line": 4, "reason": "invalid email"}])
    );
    assert_eq!(
        report["warnings"],
        json!([
            {"line": 3, "reason": "created_at: zero date, left empty"},
            {"line": 3, "reason": "password hash not imported: password hash too costly: argon2 memory above 65536 KiB"}
        ])
    );
    assert_eq!(
        report["hashes"],
        json!({"magento_sha256": 1, "unsupported": 1})
    );
    assert_eq!(report["rows_read"], 3);
    let raw = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    for part in [
        "13601bda4ea78e55",
        "ab5ebf8d273b085b",
        "HostileSalt",
        "magento:",
    ] {
        assert!(!raw.contains(part), "{part} in the report");
    }
}

#[test]
fn re_running_an_import_skips_every_row_and_fail_stops_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture("magento-customers.csv");
    import_ok(dir.path(), &file, &[], "first.json");
    let again = import_ok(dir.path(), &file, &[], "again.json");
    assert_eq!(
        (&again["created"], &again["updated"], &again["skipped"]),
        (&json!(0), &json!(0), &json!(3))
    );
    assert_eq!(
        again["skipped_rows"],
        json!([
            {"line": 2, "reason": "email already in the store"},
            {"line": 3, "reason": "email already in the store"},
            {"line": 4, "reason": "email already in the store"}
        ])
    );
    let out = run(
        dir.path(),
        &["import", file.to_str().unwrap(), "--on-conflict", "fail"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "storekey: line 2: the email is already in the store; stopped (--on-conflict fail): rows before it were imported\n"
    );
    let out = run(dir.path(), &["import", "no-such-file.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no-such-file.csv"));
}

#[tokio::test]
async fn on_conflict_update_refreshes_profiles_but_keeps_a_password_already_rehashed() {
    if redb_only("the offline import CLI writes the redb file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    import_ok(dir.path(), &fixture("magento-customers.csv"), &[], "r.json");
    let mut s = server_on(dir.path(), |_| {}).await;
    s.token(RONI, "password").await;
    let rehashed = stored_hash(&s, RONI).await;
    s.stop().await;
    // Both rows bring the SHA-256 vector ("password" with salt "salt") and a new first name.
    let sha = "13601bda4ea78e55a07b98866d2be6be0744e3866f13c00c811cab608a28f322:salt:1";
    let update = dir.path().join("update.jsonl");
    std::fs::write(
        &update,
        format!(
            "{}\n{}\n",
            json!({"email": RONI, "firstname": "Vera", "password_hash": sha}),
            json!({"email": MARY, "firstname": "Maria", "password_hash": sha}),
        ),
    )
    .unwrap();
    let report = import_ok(dir.path(), &update, &["--on-conflict", "update"], "u.json");
    assert_eq!(
        (&report["updated"], &report["created"]),
        (&json!(2), &json!(0))
    );
    s.restart().await;
    let roni = s.auth().account_by_email(RONI).await.unwrap().unwrap();
    assert_eq!(roni.customer.profile.firstname.as_deref(), Some("Vera"));
    assert_eq!(roni.customer.profile.lastname.as_deref(), Some("Costello"));
    assert_eq!(
        roni.credentials.password_hash.as_deref(),
        Some(rehashed.as_str())
    );
    // Mary had not signed in: her legacy hash was replaced by the row's.
    assert_eq!(stored_hash(&s, MARY).await, format!("magento:{sha}"));
    s.token(MARY, "password").await;
}

#[tokio::test]
async fn export_then_import_into_a_fresh_file_keeps_customers_and_passwords() {
    if redb_only("the offline import CLI writes the redb file") {
        return;
    }
    let from = tempfile::tempdir().unwrap();
    import_ok(
        from.path(),
        &fixture("magento-customers.csv"),
        &[],
        "r.json",
    );
    import_ok(from.path(), &fixture("customers.jsonl"), &[], "j.json");
    // Confirmed, its address not verified (a sign-up that changed its email): kept apart.
    let unverified = from.path().join("unverified.jsonl");
    std::fs::write(
        &unverified,
        format!(
            "{}\n",
            json!({"email": "vic@example.com", "confirmed": true, "email_verified": false})
        ),
    )
    .unwrap();
    import_ok(from.path(), &unverified, &[], "v.json");
    let exported = from.path().join("customers-export.jsonl");
    let out = run(
        from.path(),
        &["export", "--output", exported.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("exported 7 customers to {}\n", exported.display())
    );
    let to = tempfile::tempdir().unwrap();
    let report = import_ok(to.path(), &exported, &[], "back.json");
    assert_eq!(
        (&report["created"], &report["invalid"]),
        (&json!(7), &json!(0))
    );

    let all = |dir: &Path| {
        let store = storekey::store::RedbStore::open(&dir.join("storekey.redb")).unwrap();
        let mut accounts = store
            .read()
            .unwrap()
            .customers(storekey::model::CustomerId(0), 100)
            .unwrap();
        for a in &mut accounts {
            a.customer.updated_at = 0;
        }
        accounts
    };
    assert_eq!(all(from.path()), all(to.path()));
    let verified: Vec<(String, bool, bool)> = all(to.path())
        .into_iter()
        .map(|a| {
            (
                a.customer.email,
                a.customer.confirmed,
                a.customer.email_verified,
            )
        })
        .filter(|(_, confirmed, verified)| confirmed != verified)
        .collect();
    assert_eq!(verified, [("vic@example.com".to_string(), true, false)]);

    let s = server_on(to.path(), |_| {}).await;
    s.token(RONI, "password").await;
    s.token(JDOE, "Password@").await;
    s.token("pat@example.com", "password").await;
    s.token("sam@example.com", "password").await;
}

#[tokio::test]
async fn shopify_customers_come_without_passwords_and_sign_in_by_multipass() {
    if redb_only("the offline import CLI writes the redb file") {
        return;
    }
    const SECRET: &str = "multipass secret from shop admin";
    let dir = tempfile::tempdir().unwrap();
    let report = import_ok(
        dir.path(),
        &fixture("shopify-customers.csv"),
        &["--send-reset"],
        "r.json",
    );
    assert_eq!(
        (&report["created"], &report["invalid"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(report["hashes"], json!({"none": 2}));
    assert_eq!(
        report["invalid_rows"],
        json!([{"line": 5, "reason": "no email"}])
    );
    assert_eq!(report["reset_mails_queued"], 2);
    let mails = wait_for_mail(&dir.path().join("outbox"), 2).await;
    assert_eq!(mails.len(), 2);
    assert!(mails.iter().any(|m| m.contains("karine.ruby@example.com")));

    let s = server_on(dir.path(), |c| c.multipass.secret = SECRET.into()).await;
    let id = s
        .auth()
        .customer_by_email("karine.ruby@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(stored_hash(&s, "karine.ruby@example.com").await.is_empty());
    let sf_token = s.storefront_token(&[WRITE_CUSTOMERS]).await;
    let now = time::OffsetDateTime::from_unix_timestamp(s.auth().now()).unwrap();
    let claims = json!({
        "email": "karine.ruby@example.com",
        "created_at": now.format(&time::format_description::well_known::Rfc3339).unwrap(),
    });
    let token = MultipassKey::new(SECRET)
        .unwrap()
        .encode(&claims.to_string());
    let resp = s
        .http
        .post(s.url("/api/2026-04/graphql.json"))
        .header("X-Shopify-Storefront-Access-Token", &sf_token)
        .json(&json!({
            "query": "mutation($t:String!){ customerAccessTokenCreateWithMultipass(multipassToken:$t) { customerAccessToken { accessToken } customerUserErrors { code } } }",
            "variables": {"t": token},
        }))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    let payload = &body["data"]["customerAccessTokenCreateWithMultipass"];
    assert_eq!(payload["customerUserErrors"], json!([]), "{body}");
    assert!(payload["customerAccessToken"]["accessToken"].is_string());
    // The imported customer, found by email: no second one.
    assert_eq!(
        s.auth()
            .customer_by_email("karine.ruby@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        id
    );
    assert_eq!(s.store().customer_count().await.unwrap(), 2);
}

#[tokio::test]
async fn an_email_change_verified_on_a_legacy_hash_rehashes_it_in_the_same_write() {
    if redb_only("the offline import CLI writes the redb file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    import_ok(dir.path(), &fixture("magento-customers.csv"), &[], "r.json");
    let s = server_on(dir.path(), |_| {}).await;
    let before = s.auth().account_by_email(MARY).await.unwrap().unwrap();
    let secret = storekey::auth::secret::Secret::new("password");
    let changes = storekey::auth::CustomerChanges {
        email: Some("mary.new@example.com".into()),
        ..Default::default()
    };
    let changed = s
        .auth()
        .change_email(&before.customer, &secret, changes)
        .await
        .unwrap();
    assert_eq!(changed.email, "mary.new@example.com");
    let after = s
        .auth()
        .account_by_email("mary.new@example.com")
        .await
        .unwrap()
        .unwrap();
    let hash = after.credentials.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{hash}");
    assert_eq!(
        after.credentials.password_version,
        before.credentials.password_version
    );
    assert!(s
        .metrics()
        .await
        .contains("storekey_password_rehash_total{from=\"chained\"} 1"));
    s.token("mary.new@example.com", "password").await;
}

#[tokio::test]
async fn an_import_killed_half_way_and_run_again_has_each_customer_once() {
    if redb_only("the offline import CLI writes the redb file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rows = 30_000;
    let file = dir.path().join("many.jsonl");
    let lines: String = (0..rows)
        .map(|i| format!("{{\"email\":\"c{i}@example.com\",\"firstname\":\"C{i}\"}}\n"))
        .collect();
    std::fs::write(&file, lines).unwrap();
    let db = dir.path().join("storekey.redb");
    let mut cmd = bin();
    bin_env(&mut cmd, dir.path());
    let mut child = cmd
        .args(["import", file.to_str().unwrap(), "--batch", "500"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some batches are on disk (or as soon as it would finish anyway).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) > 2 * 1024 * 1024 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    let before = {
        let store = storekey::store::RedbStore::open(&db).unwrap();
        store.read().unwrap().customer_count().unwrap()
    };
    eprintln!("customers on disk after the kill: {before}");
    let report = import_ok(dir.path(), &file, &["--batch", "500"], "again.json");
    let (created, skipped) = (
        report["created"].as_u64().unwrap(),
        report["skipped"].as_u64().unwrap(),
    );
    assert_eq!((created + skipped, skipped), (rows, before), "{report}");
    let store = storekey::store::RedbStore::open(&db).unwrap();
    assert_eq!(store.read().unwrap().customer_count().unwrap(), rows);
}

/// `--report` and `--output` create a new file: a symlink planted at the path is not followed
/// (its target keeps its bytes), an existing file is refused with a clear error, and nothing is
/// imported when the report path is refused.
#[cfg(unix)]
#[tokio::test]
async fn reports_and_exports_never_write_through_a_symlink_or_over_a_file() {
    if redb_only("the offline import CLI writes the redb file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("victim.txt");
    std::fs::write(&target, "keep me").unwrap();
    let link = dir.path().join("report.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let refused = |path: &Path| {
        format!(
            "storekey: {} already exists (a file or a symlink); give a new path: reports and exports are never written over a file or through a link\n",
            path.display()
        )
    };

    let csv = fixture("magento-customers.csv");
    let out = run(
        dir.path(),
        &[
            "import",
            csv.to_str().unwrap(),
            "--report",
            link.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert_eq!(text(&out.stderr), refused(&link));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    // Nothing was imported: the same import with a fresh report creates every customer.
    let report = import_ok(dir.path(), &csv, &[], "fresh.json");
    assert_eq!(report["updated"], json!(0));
    assert_eq!(report["skipped"], json!(0), "{report}");

    // An existing regular file is refused too, and kept.
    let existing = dir.path().join("fresh.json");
    let before = std::fs::read(&existing).unwrap();
    let out = run(
        dir.path(),
        &[
            "import",
            csv.to_str().unwrap(),
            "--report",
            existing.to_str().unwrap(),
        ],
    );
    assert_eq!(text(&out.stderr), refused(&existing));
    assert_eq!(std::fs::read(&existing).unwrap(), before);

    for path in [&link, &existing] {
        let out = run(dir.path(), &["export", "--output", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(text(&out.stderr), refused(path));
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
}
