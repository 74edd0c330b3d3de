//! Shutdown releases everything: the writer thread and the hash workers are joined before
//! `RunningServer::shutdown` returns, so the same file opens again at once (no "in use").

use crate::support::*;
use std::sync::Arc;
use storekey::auth::clock::ShiftedClock;

#[tokio::test]
async fn a_restarted_server_opens_the_same_file_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir.path().join("storekey.redb"));
    for round in 0..10 {
        let server = storekey::server::start(config.clone(), Arc::new(ShiftedClock::new()))
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let status = reqwest::Client::new()
            .post(format!("http://{}/graphql", server.addr))
            .json(&serde_json::json!({"query": format!(
                "mutation {{ createCustomerV2(input:{{firstname:\"A\", lastname:\"B\", email:\"c{round}@example.com\", password:\"{BOB_PASSWORD}\"}}) {{ customer {{ email }} }} }}"
            )}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 200);
        server.shutdown().await;
    }
    // Nothing holds the file once shutdown has returned: the offline store opens it.
    let store = storekey::store::RedbStore::open(&dir.path().join("storekey.redb")).unwrap();
    assert_eq!(store.read().unwrap().customer_count().unwrap(), 10);
}
