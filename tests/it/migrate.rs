//! `storekey migrate`: the real binary moves a store between redb files and PostgreSQL, and a
//! server started on each copy signs in what the original signed in. The PostgreSQL round trip
//! skips with one line when there is no PostgreSQL (unless `STOREKEY_REQUIRE_PG=1`).

use crate::postgres::{database, Schema};
use crate::support::*;
use serde_json::json;
use std::path::Path;
use storekey::model::{Account, AdminSession, AuditEntry, CustomerId, OneTimeSecret};
use storekey::store::Backend as _;
use storekey::store::{AdminEdit, RedbStore, Store};

/// Customers written straight into the redb file (no argon2), besides the ones the server made.
const BULK: u64 = 10_000;
const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
/// The digest of an admin console session opened in the source.
const SESSION: [u8; 32] = [0x5e; 32];

/// `storekey migrate` with `args`, run in `dir`; (exit code, stdout, stderr).
fn migrate(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = bin();
    bin_env(&mut cmd, dir);
    let out = cmd
        .env("STOREKEY_STORAGE_TLS", "disable")
        .arg("migrate")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn bulk_account(n: u64) -> Account {
    let mut a = Account::default();
    a.customer.email = format!("bulk{n}@example.com");
    a.customer.profile.firstname = Some(format!("First{n}"));
    a.customer.profile.gender = Some((n % 3) as i32);
    a.customer.created_at = 1_700_000_000 + n as i64;
    a.customer.updated_at = 1_700_000_100 + n as i64;
    a.customer.confirmed = n.is_multiple_of(2);
    a.credentials.password_hash = Some(format!("$2y$10$legacy{n}"));
    if n.is_multiple_of(7) {
        a.customer.tags = vec!["vip".into(), format!("t{n}")];
    }
    if n.is_multiple_of(11) {
        a.customer.multipass_identifier = Some(format!("mp-{n}"));
    }
    if n.is_multiple_of(13) {
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&n.to_be_bytes());
        a.credentials.confirmation = Some(OneTimeSecret {
            digest,
            created_at: 1_700_000_000,
            expires_at: 4_000_000_000,
            issued_by: None,
            reason: None,
        });
    }
    if n.is_multiple_of(17) {
        a.credentials.lockout.failures = 2;
        a.credentials.lockout.first_failure = Some(1_700_000_000);
    }
    if n.is_multiple_of(19) {
        a.credentials.passkey_handle = Some(passkey_handle(n));
        a.credentials.passkeys = vec![storekey::model::passkey::Passkey {
            id: n.to_be_bytes().to_vec(),
            name: format!("Phone {n}"),
            created_at: 1_700_000_000,
            last_used_at: Some(1_700_000_050),
            counter: 7,
            backup_eligible: true,
            backup_state: true,
            transports: vec!["internal".into()],
            credential: format!(r#"{{"cred_id":"{n}"}}"#),
        }];
    }
    a
}

/// The WebAuthn user handle of bulk customer `n` (every 19th has a passkey).
fn passkey_handle(n: u64) -> [u8; 16] {
    let mut handle = [0x5a; 16];
    handle[..8].copy_from_slice(&n.to_be_bytes());
    handle
}

/// A redb store at `path` with two signed-up customers (one token each way to check later),
/// a live admin code for bob, a storefront token, an admin user, audit entries, replay records
/// and `BULK` more customers. Returns (alice's token, bob's admin code, the storefront token).
async fn source_store(path: &Path) -> (String, String, String) {
    // The admin code must outlive two copies of 10,002 customers on a loaded machine.
    let mut s = TestServer::start_with(|c| {
        on_redb(c, path);
        c.otc.ttl_seconds = 3600;
    })
    .await;
    s.create_customer(ALICE, "Secret-pass-1").await;
    let token = s.token(ALICE, "Secret-pass-1").await;
    for (city, billing) in [("Austin", true), ("Dallas", false)] {
        let address = storekey::model::AddressChanges {
            city: Some(city.into()),
            country_code: Some("US".into()),
            street: Some(vec!["1 Main St".into()]),
            ..Default::default()
        };
        let defaults = storekey::store::NewAddressDefaults {
            billing,
            shipping: !billing,
            first_is_default: false,
        };
        s.auth()
            .create_address(CustomerId(1), address, defaults)
            .await
            .unwrap();
    }
    let bob = s.admin_customer(BOB, "Secret-pass-2", true).await;
    let otc = s.issue_otc(bob, "moving day").await;
    let (status, created) = s
        .admin(
            "POST",
            "/rest/V1/storefront-tokens",
            Some(json!({"title": "web", "scopes": ["unauthenticated_read_customers"]})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let storefront = created["access_token"].as_str().unwrap().to_string();
    s.auth().add_admin("ops", "cli", false).await.unwrap();
    s.stop().await;

    let redb = RedbStore::open(path).unwrap();
    for start in (0..BULK).step_by(1000) {
        redb.write(move |tx| {
            for n in start..start + 1000 {
                tx.insert_customer(bulk_account(n))?;
            }
            Ok(())
        })
        .await
        .unwrap();
    }
    redb.write(|tx| {
        for n in 0..5u8 {
            tx.record_replay(&[n + 1; 32], 4_000_000_000)?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let store = Store::from(redb);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let opened = store
        .update_admin_user("ops".into(), 3600, move |_| AdminEdit {
            outcome: (),
            save: false,
            session: Some((
                SESSION,
                AdminSession {
                    admin: "ops".into(),
                    created_at: now,
                    last_seen: now,
                },
            )),
            audit: None,
        })
        .await
        .unwrap();
    assert_eq!(opened, Some(()));
    for n in 0..3 {
        store
            .append_audit(AuditEntry {
                at: 1_700_000_000 + n,
                actor: "cli".into(),
                action: format!("test.entry{n}"),
                subject: Some(CustomerId(1)),
                detail: Some("moved".into()),
                otc: None,
            })
            .await
            .unwrap();
    }
    (token, otc, storefront)
}

/// A server on the redb file at `path`, whatever `STOREKEY_TEST_BACKEND` says.
fn on_redb(c: &mut storekey::config::Config, path: &Path) {
    c.storage = storekey::config::StorageConfig {
        path: path.to_string_lossy().into_owned(),
        ..Default::default()
    };
}

/// Every customer of a store, in id order.
async fn all_customers(store: &Store) -> Vec<Account> {
    let mut out = Vec::new();
    loop {
        let after = out
            .last()
            .map_or(CustomerId(0), |a: &Account| a.customer.id);
        let page = store.customers(after, 2000).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

async fn all_audit(store: &Store) -> Vec<(u64, AuditEntry)> {
    store.audit(0, 100_000).await.unwrap()
}

#[tokio::test]
async fn a_redb_store_moves_to_postgresql_and_back_with_everything_equal() {
    let Some(db) = database(Schema::Empty).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (src, back) = (dir.path().join("src.redb"), dir.path().join("back.redb"));
    let (token, otc, storefront) = source_store(&src).await;

    let (code, out, err) = migrate(
        dir.path(),
        &["--from", src.to_str().unwrap(), "--to", &db.url],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");
    let total = BULK + 2;
    assert!(
        out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
            == [
                "customers",
                "source",
                &total.to_string(),
                "target",
                &total.to_string(),
                "ok"
            ]),
        "{out}"
    );
    assert!(!out.contains("MISMATCH"), "{out}");

    let (code, out, err) = migrate(
        dir.path(),
        &["--from", &db.url, "--to", back.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");

    // Every record equal on the three stores.
    let original = Store::open_redb(&src).unwrap();
    let on_pg = Store::open(&db.storage()).await.unwrap();
    let returned = Store::open_redb(&back).unwrap();
    let customers = all_customers(&original).await;
    assert_eq!(customers.len() as u64, total);
    // Addresses travel with their customer, ids and defaults kept.
    let book = &customers[0].addresses;
    assert_eq!(book.addresses.len(), 2);
    assert_eq!(book.default_billing, Some(book.addresses[0].id));
    assert_eq!(book.default_shipping, Some(book.addresses[1].id));
    assert_eq!(all_customers(&on_pg).await, customers);
    assert_eq!(all_customers(&returned).await, customers);
    // Passkeys travel with their customer, who is found by handle on each store.
    let with_passkey = customers
        .iter()
        .find(|a| a.customer.email == "bulk19@example.com")
        .unwrap();
    assert_eq!(with_passkey.credentials.passkeys.len(), 1);
    for store in [&original, &on_pg, &returned] {
        assert_eq!(
            store
                .customer_id_by_passkey_handle(&passkey_handle(19))
                .await
                .unwrap(),
            Some(with_passkey.customer.id)
        );
    }
    let audit = all_audit(&original).await;
    assert!(audit.len() >= 6, "{audit:?}");
    assert_eq!(all_audit(&on_pg).await, audit);
    assert_eq!(all_audit(&returned).await, audit);
    let counts = original.counts().await.unwrap();
    assert_eq!(counts.replay, 5);
    assert_eq!(counts.admin_users, 1);
    assert_eq!(counts.storefront_tokens, 1);
    assert_eq!(on_pg.counts().await.unwrap(), counts);
    assert_eq!(returned.counts().await.unwrap(), counts);
    assert_eq!(
        on_pg.storefront_tokens().await.unwrap(),
        original.storefront_tokens().await.unwrap()
    );
    assert_eq!(
        returned.admin_user("ops").await.unwrap(),
        original.admin_user("ops").await.unwrap()
    );
    assert!(returned.replay_seen(&[3; 32]).await.unwrap());
    assert_eq!(counts.admin_sessions, 1);
    let session = original.admin_session(&SESSION).await.unwrap();
    assert!(session.is_some());
    assert_eq!(on_pg.admin_session(&SESSION).await.unwrap(), session);
    assert_eq!(returned.admin_session(&SESSION).await.unwrap(), session);
    drop((original, on_pg, returned));

    // A server on the PostgreSQL copy: the old token and storefront token work, and a new
    // customer takes an id after the copied ones.
    let mut pg_server = TestServer::start_with(|c| c.storage = db.storage()).await;
    let (status, body) = pg_server.whoami(&token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["customer"]["email"], ALICE);
    assert!(pg_server
        .auth()
        .storefront_token(&storefront)
        .await
        .unwrap()
        .is_some());
    assert_fresh_ids_follow_the_copied_ones(&pg_server, total).await;
    pg_server.stop().await;

    // A server on the final redb copy: the token, the admin code once, fresh ids.
    let s = TestServer::start_with(|c| on_redb(c, &back)).await;
    let (status, body) = s.whoami(&token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["customer"]["email"], ALICE);
    assert!(s
        .auth()
        .storefront_token(&storefront)
        .await
        .unwrap()
        .is_some());
    assert_eq!(s.sign_in(BOB, &otc).await.0, 200);
    assert_eq!(s.sign_in(BOB, &otc).await.0, 401);
    assert_fresh_ids_follow_the_copied_ones(&s, total).await;
}

#[tokio::test]
async fn a_non_empty_target_is_refused_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src.redb"), dir.path().join("dst.redb"));
    {
        let mut s = TestServer::start_with(|c| on_redb(c, &src)).await;
        s.create_customer(ALICE, "Secret-pass-1").await;
        s.stop().await;
        let mut s = TestServer::start_with(|c| on_redb(c, &dst)).await;
        s.create_customer(BOB, "Secret-pass-2").await;
        s.stop().await;
    }
    for (path, action) in [(&src, "source.entry"), (&dst, "target.entry")] {
        let store = Store::open_redb(path).unwrap();
        store
            .append_audit(AuditEntry {
                at: 1_700_000_000,
                actor: "cli".into(),
                action: action.into(),
                subject: None,
                detail: None,
                otc: None,
            })
            .await
            .unwrap();
    }
    let args = [
        "--from",
        src.to_str().unwrap(),
        "--to",
        dst.to_str().unwrap(),
    ];
    let (code, out, err) = migrate(dir.path(), &args);
    assert_eq!(code, Some(2), "{out}\n{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "storekey: the target {} is not empty (1 customers, 0 access tokens, 0 storefront tokens, 0 replay records, 1 audit entries, 0 OpenID Connect clients); pass --force to copy into it anyway",
            dst.display()
        )
    );
    let target = Store::open_redb(&dst).unwrap();
    assert_eq!(
        target.customer_count().await.unwrap(),
        1,
        "nothing was written"
    );
    drop(target);

    // With --force, alice (id 1) replaces bob (id 1); the check says so and exits 2.
    let mut forced = args.to_vec();
    forced.push("--force");
    let (code, out, err) = migrate(dir.path(), &forced);
    assert_eq!(code, Some(2), "{out}\n{err}");
    assert!(err.contains("count check failed for customers"), "{err}");
    let target = Store::open_redb(&dst).unwrap();
    let alice = target.customer_by_email(ALICE).await.unwrap().unwrap();
    assert_eq!(alice.customer.id, CustomerId(1));
    assert!(target.customer_by_email(BOB).await.unwrap().is_none());
    // The copied audit entry goes after the target's own.
    let audit = all_audit(&target).await;
    assert_eq!(
        audit.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        [1, 2]
    );
}

#[tokio::test]
async fn a_redb_store_moves_to_an_empty_redb_file() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src.redb"), dir.path().join("new/dst.redb"));
    let token = {
        let mut s = TestServer::start_with(|c| on_redb(c, &src)).await;
        s.create_customer(ALICE, "Secret-pass-1").await;
        let token = s.token(ALICE, "Secret-pass-1").await;
        s.stop().await;
        token
    };
    let (code, out, err) = migrate(
        dir.path(),
        &[
            "--from",
            src.to_str().unwrap(),
            "--to",
            dst.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert_eq!(
        out.lines().next(),
        Some(format!("copied {} to {}", src.display(), dst.display()).as_str())
    );
    let s = TestServer::start_with(|c| on_redb(c, &dst)).await;
    assert_eq!(s.whoami(&token).await.0, 200);
    let id = s.admin_customer(BOB, "Secret-pass-2", false).await;
    assert_eq!(id, 2, "the id counter moved past the copied customer");
}

#[tokio::test]
async fn the_same_store_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("s.redb");
    drop(RedbStore::open(&src).unwrap());
    let via_dot = dir.path().join(".").join("s.redb");
    let (code, out, err) = migrate(
        dir.path(),
        &[
            "--from",
            src.to_str().unwrap(),
            "--to",
            via_dot.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(
        err.trim_end(),
        format!(
            "storekey: --from and --to are the same store ({}); nothing to migrate",
            via_dot.display()
        )
    );
    let url = "postgresql://storekey:hunter2@127.0.0.1:1/storekey";
    let (code, _, err) = migrate(dir.path(), &["--from", url, "--to", url]);
    assert_eq!(code, Some(2));
    assert!(err.contains("the same store"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn the_url_password_never_shows() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("s.redb");
    drop(RedbStore::open(&src).unwrap());
    let (code, out, err) = migrate(
        dir.path(),
        &[
            "--from",
            src.to_str().unwrap(),
            "--to",
            "postgresql://storekey:hunter2@127.0.0.1:1/storekey",
        ],
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(err.contains("PostgreSQL"), "{err}");
    assert!(
        !err.contains("hunter2") && !out.contains("hunter2"),
        "{err}"
    );
    let (code, _, err) = migrate(
        dir.path(),
        &[
            "--from",
            dir.path().join("missing.redb").to_str().unwrap(),
            "--to",
            src.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("missing.redb: no such database file"), "{err}");
    assert!(!dir.path().join("missing.redb").exists());
}

/// A customer created on a migrated store takes the id after the copied customers, and their
/// first address the id after the copied addresses (two of them).
async fn assert_fresh_ids_follow_the_copied_ones(server: &TestServer, copied_customers: u64) {
    let new_id = server
        .admin_customer("new@example.com", "Secret-pass-3", false)
        .await;
    assert_eq!(new_id, copied_customers + 1);
    let next_address = server
        .auth()
        .create_address(CustomerId(new_id), Default::default(), Default::default())
        .await
        .unwrap()
        .id;
    assert_eq!(
        next_address.0, 3,
        "a new address takes an id after the copied ones"
    );
}

/// A password holding a reserved character, unescaped, as operators paste them: neither
/// `migrate` nor `serve` prints any part of it (each fails, nothing listens on port 1).
#[tokio::test]
async fn a_password_with_reserved_characters_never_shows() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("s.redb");
    drop(RedbStore::open(&src).unwrap());
    for c in ['?', '#', '/', '@', '%'] {
        let url = format!("postgresql://storekey:HUNTER{c}TWO@127.0.0.1:1/storekey");
        let (code, out, err) =
            migrate(dir.path(), &["--from", src.to_str().unwrap(), "--to", &url]);
        assert_eq!(code, Some(2), "{out}");
        for part in ["HUNTER", "TWO"] {
            assert!(!err.contains(part) && !out.contains(part), "{c}: {err}");
        }
        assert!(err.contains("127.0.0.1:1"), "{err}");
        let mut cmd = bin();
        bin_env(&mut cmd, dir.path());
        let served = cmd
            .env("STOREKEY_STORAGE_BACKEND", "postgres")
            .env("STOREKEY_STORAGE_TLS", "disable")
            .env("STOREKEY_STORAGE_URL", &url)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        let (out, err) = (
            String::from_utf8_lossy(&served.stdout),
            String::from_utf8_lossy(&served.stderr),
        );
        assert!(!served.status.success(), "{out}");
        for part in ["HUNTER", "TWO"] {
            assert!(!err.contains(part) && !out.contains(part), "{c}: {err}");
        }
    }
}

/// The OpenID Connect provider's state moves too: on the PostgreSQL copy and back on redb, the
/// client still authenticates, the signing key is the same (same `kid`), and a refresh token
/// issued on the original rotates on the copy.
#[tokio::test]
async fn the_openid_connect_state_moves_both_ways() {
    use crate::oidc::{add_client, authorize_url, exchange, sign_in_for_code, Browser, CALLBACK};
    let Some(db) = database(Schema::Empty).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (src, back) = (dir.path().join("src.redb"), dir.path().join("back.redb"));
    let kek = dir.path().join("oidc.kek");
    let with_oidc = |c: &mut storekey::config::Config| {
        c.oidc.enabled = true;
        c.oidc.key_file = kek.to_string_lossy().into_owned();
    };
    let mut s = TestServer::start_with(|c| {
        on_redb(c, &src);
        with_oidc(c);
    })
    .await;
    s.create_customer(crate::support::BOB, crate::support::BOB_PASSWORD)
        .await;
    let client = add_client(&s, true).await;
    let code = sign_in_for_code(&s, &mut Browser::new(), &authorize_url(&s, &client.0, "")).await;
    let (status, tokens) = exchange(
        &s,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let kid = crate::oidc::kid_of(tokens["id_token"].as_str().unwrap());
    s.stop().await;

    let (code, out, err) = migrate(
        dir.path(),
        &["--from", src.to_str().unwrap(), "--to", &db.url],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");
    for table in [
        "signing keys",
        "OpenID Connect clients",
        "grants",
        "refresh tokens",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(table) && l.ends_with("ok")),
            "{table}: {out}"
        );
    }
    let on_pg = TestServer::start_with(|c| {
        c.storage = db.storage();
        with_oidc(c);
    })
    .await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, renewed) = exchange(
        &on_pg,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(
        crate::oidc::kid_of(renewed["id_token"].as_str().unwrap()),
        kid
    );
    let mut on_pg = on_pg;
    on_pg.stop().await;

    let (code, out, err) = migrate(
        dir.path(),
        &["--from", &db.url, "--to", back.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");
    let returned = TestServer::start_with(|c| {
        on_redb(c, &back);
        with_oidc(c);
    })
    .await;
    let (status, again) = exchange(
        &returned,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", renewed["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{again}");
    // The refresh token the PostgreSQL copy rotated is rotated here too: refused.
    let (status, replay) = exchange(
        &returned,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}
