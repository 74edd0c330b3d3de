//! What storekey leaves on disk is private: the database, its directory, outbox mails (they
//! carry live reset links) and the outbox directory (SPEC §8).

use crate::support::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_database_and_outbox_mails_are_private() {
    if redb_only("it checks the redb file's mode") {
        return;
    }
    let s = TestServer::start_with(|c| {
        let base = Path::new(&c.storage.path).parent().unwrap().to_path_buf();
        c.storage.path = base
            .join("data/storekey.redb")
            .to_string_lossy()
            .into_owned();
        c.mail.outbox_dir = base.join("mail/outbox").to_string_lossy().into_owned();
    })
    .await;
    assert_eq!(mode(&s.db_path()), 0o600);
    assert_eq!(mode(s.db_path().parent().unwrap()), 0o700);
    s.create_customer(BOB, BOB_PASSWORD).await;
    s.gql(
        "mutation { requestPasswordResetEmail(email:\"bobloblaw@example.com\") }",
        json!({}),
        None,
    )
    .await;
    assert_eq!(wait_for_mail(&s.outbox_dir(), 1).await.len(), 1);
    assert_eq!(mode(&s.outbox_dir()), 0o700);
    assert_eq!(mode(s.outbox_dir().parent().unwrap()), 0o700);
    for entry in std::fs::read_dir(s.outbox_dir()).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}
