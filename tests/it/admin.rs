//! The admin REST API (SPEC §7).

use crate::support::*;
use serde_json::json;
use storekey::store::Backend as _;

#[tokio::test]
async fn every_call_needs_an_admin_key() {
    let s = TestServer::start().await;
    for key in [None, Some("wrong-key")] {
        let (status, body) = s.rest("GET", "/rest/V1/customers/1", None, key).await;
        assert_eq!(status, 401);
        assert_eq!(
            body,
            json!({"message": "The consumer isn't authorized to access %resources."})
        );
    }
}

#[tokio::test]
async fn customers_crud() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, false).await;
    let (status, c) = s
        .admin("GET", &format!("/rest/V1/customers/{id}"), None)
        .await;
    assert_eq!(status, 200);
    for key in [
        "id",
        "email",
        "firstname",
        "lastname",
        "created_at",
        "confirmed",
        "disabled",
        "allow_remote_shopping_assistance",
        "multipass_identifier",
        "tags",
    ] {
        assert!(c.get(key).is_some(), "missing {key}: {c}");
    }
    assert_eq!(c["email"], BOB);
    let (status, by_email) = s
        .admin(
            "GET",
            "/rest/V1/customers?email=bobloblaw%40example.com",
            None,
        )
        .await;
    assert_eq!((status, &by_email["id"]), (200, &json!(id)));
    let (status, _) = s
        .admin("GET", "/rest/V1/customers?email=ghost%40example.com", None)
        .await;
    assert_eq!(status, 404);

    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": BOB}})),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    let token = s.token(BOB, BOB_PASSWORD).await;
    let (status, c) = s
        .admin(
            "PUT",
            &format!("/rest/V1/customers/{id}"),
            Some(json!({"customer": {"firstname": "Robert", "disabled": true}})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (c["firstname"].clone(), c["disabled"].clone()),
        (json!("Robert"), json!(true))
    );
    assert_eq!(s.whoami(&token).await.0, 401, "disabling revokes tokens");
    s.admin(
        "PUT",
        &format!("/rest/V1/customers/{id}"),
        Some(json!({"customer": {"disabled": false}})),
    )
    .await;
    let token = s.token(BOB, BOB_PASSWORD).await;

    let (status, body) = s
        .admin("DELETE", &format!("/rest/V1/customers/{id}"), None)
        .await;
    assert_eq!((status, body), (200, json!(true)));
    assert_eq!(s.whoami(&token).await.0, 401, "its tokens went with it");
    let (status, _) = s
        .admin("GET", &format!("/rest/V1/customers/{id}"), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = s
        .admin(
            "PUT",
            "/rest/V1/customers/999",
            Some(json!({"customer": {"firstname": "x"}})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_bodies_are_400_and_change_nothing() {
    let s = TestServer::start().await;
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": "x@example.com", "nope": 1}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": "x@example.com"}, "password": "weak"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(s.store().customer_count().await.unwrap(), 0);
}

#[tokio::test]
async fn storefront_tokens_are_shown_once() {
    let s = TestServer::start().await;
    let (status, created) = s
        .admin(
            "POST",
            "/rest/V1/storefront-tokens",
            Some(json!({"title": "web", "scopes": ["unauthenticated_read_customers", "unauthenticated_write_customers"]})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let token = created["access_token"].as_str().unwrap();
    assert!(s.auth().storefront_token(token).await.unwrap().is_some());
    let (_, list) = s.admin("GET", "/rest/V1/storefront-tokens", None).await;
    assert_eq!(
        list,
        json!([{"id": created["id"], "title": "web", "scopes": created["scopes"], "kind": "public"}])
    );
    let (status, _) = s
        .admin(
            "POST",
            "/rest/V1/storefront-tokens",
            Some(json!({"title": "x", "scopes": ["write_everything"]})),
        )
        .await;
    assert_eq!(status, 400);
    let id = created["id"].as_u64().unwrap();
    let (status, _) = s
        .admin("DELETE", &format!("/rest/V1/storefront-tokens/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(s.auth().storefront_token(token).await.unwrap().is_none());
    let (status, _) = s
        .admin("DELETE", &format!("/rest/V1/storefront-tokens/{id}"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn lookup_by_email_keeps_a_plus_sign() {
    let s = TestServer::start().await;
    let id = s
        .admin_customer("bob+shop@example.com", BOB_PASSWORD, false)
        .await;
    for query in [
        "email=bob+shop@example.com",
        "email=bob%2Bshop%40example.com",
    ] {
        let (status, body) = s
            .admin("GET", &format!("/rest/V1/customers?{query}"), None)
            .await;
        assert_eq!((status, &body["id"]), (200, &json!(id)), "{query}: {body}");
    }
}

/// Backups into `<temp dir>/backups`, beside the test database.
fn backups_beside_db(c: &mut storekey::config::Config) {
    let dir = std::path::Path::new(&c.storage.path)
        .parent()
        .unwrap()
        .join("backups");
    c.storage.backup_dir = dir.to_string_lossy().into_owned();
}

async fn backup(s: &TestServer, body: serde_json::Value) -> (u16, serde_json::Value) {
    s.admin("POST", "/rest/V1/backup", Some(body)).await
}

#[tokio::test]
async fn a_backup_never_replaces_the_live_database() {
    if redb_only("backups copy the redb file") {
        return;
    }
    // backup_dir configured to the data directory: the database's own name is refused.
    let mut s = TestServer::start_with(|c| {
        let data = std::path::Path::new(&c.storage.path).parent().unwrap();
        c.storage.backup_dir = data.to_string_lossy().into_owned();
    })
    .await;
    let db_name = s
        .db_path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    for overwrite in [false, true] {
        let (status, body) = backup(&s, json!({"path": db_name, "overwrite": overwrite})).await;
        assert_eq!(
            (status, body),
            (
                400,
                json!({"message": "Refusing to write a backup over the live database file."})
            )
        );
    }
    // A link to it inside backup_dir is the same file.
    std::os::unix::fs::symlink(s.db_path(), s.db_path().with_file_name("link.redb")).unwrap();
    let (status, _) = backup(&s, json!({"path": "link.redb", "overwrite": true})).await;
    assert_eq!(status, 400);
    // Writes acknowledged afterwards survive a restart.
    s.admin_customer(BOB, BOB_PASSWORD, false).await;
    s.restart().await;
    assert_eq!(
        s.auth()
            .customer_by_email(BOB)
            .await
            .unwrap()
            .map(|c| c.email),
        Some(BOB.to_string())
    );
}

#[tokio::test]
async fn a_backup_name_must_be_a_plain_file_name() {
    if redb_only("backups copy the redb file") {
        return;
    }
    let s = TestServer::start_with(backups_beside_db).await;
    let outside = s.db_path().with_file_name("outside.redb");
    let escape =
        "\"path\" must be a plain file name inside storage.backup_dir: no '/', '\\' or '..'.";
    for (name, message) in [
        (
            "",
            "\"path\" must be a file name, for example \"storekey-2024-05-01.redb\".",
        ),
        ("../outside.redb", escape),
        (outside.to_str().unwrap(), escape),
        ("..", escape),
        ("a\\b.redb", escape),
        ("x\0y.redb", escape),
        (
            ".hidden.redb",
            "\"path\" must not start with '.' (hidden names are reserved for temporary files).",
        ),
    ] {
        let (status, body) = backup(&s, json!({ "path": name })).await;
        assert_eq!(
            (status, body),
            (400, json!({ "message": message })),
            "{name:?}"
        );
    }
    assert!(!outside.exists());
}

#[tokio::test]
async fn a_backup_name_is_short_and_printable() {
    if redb_only("backups copy the redb file") {
        return;
    }
    let s = TestServer::start_with(backups_beside_db).await;
    let long = format!("{}.redb", "a".repeat(300));
    let printable = "\"path\" may hold only printable ASCII characters (letters, digits, spaces and punctuation); no control characters such as a newline.";
    for (name, message) in [
        (
            long.as_str(),
            "\"path\" must be at most 128 characters long.",
        ),
        ("backup\n2024-05-01 admin=root.redb", printable),
        ("tab\there.redb", printable),
        ("del\u{7f}.redb", printable),
        ("caf\u{e9}.redb", printable),
        ("rtl\u{202e}bder.exe", printable),
    ] {
        let (status, body) = backup(&s, json!({ "path": name })).await;
        assert_eq!(
            (status, body),
            (400, json!({ "message": message })),
            "{name:?}"
        );
    }
    // 128 printable characters are a name.
    let longest = format!("{}.redb", "b".repeat(123));
    let (status, body) = backup(&s, json!({ "path": longest })).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_backup_keeps_an_existing_file_unless_overwrite_is_asked() {
    if redb_only("backups copy the redb file") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let s = TestServer::start_with(backups_beside_db).await;
    s.admin_customer(BOB, BOB_PASSWORD, false).await;
    let dir = std::path::PathBuf::from(&s.config.storage.backup_dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("nightly.redb");
    std::fs::write(&target, "keep me").unwrap();
    let partial = dir.join("nightly.partial");
    std::fs::write(&partial, "not storekey's").unwrap();
    let (status, body) = backup(&s, json!({"path": "nightly.redb"})).await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"message": "A backup named \"nightly.redb\" already exists; send \"overwrite\": true to replace it."})
        )
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    let (status, body) = backup(&s, json!({"path": "nightly.redb", "overwrite": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["path"], json!(target.to_string_lossy()));
    assert_eq!(body["customers"], json!(1));
    assert_eq!(std::fs::read_to_string(&partial).unwrap(), "not storekey's");
    assert_eq!(
        std::fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let copy = storekey::store::RedbStore::open(&target).unwrap();
    assert!(copy
        .read()
        .unwrap()
        .customer_by_email(BOB)
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_backup_creates_its_private_directory() {
    if redb_only("backups copy the redb file") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let s = TestServer::start_with(backups_beside_db).await;
    let dir = std::path::PathBuf::from(&s.config.storage.backup_dir);
    assert!(!dir.exists());
    let (status, body) = backup(&s, json!({"path": "first.redb"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["path"],
        json!(dir.join("first.redb").to_string_lossy())
    );
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let (status, entries) = s.admin("GET", "/rest/V1/audit", None).await;
    assert_eq!(status, 200);
    let last = entries.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], json!("backup"), "{last}");
}
