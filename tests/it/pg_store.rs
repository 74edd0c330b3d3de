//! The store contract: every operation, run by the same test body against a redb store in a
//! temp dir and against PostgreSQL on a fresh database (tests/support/postgres.rs; skipped
//! with one line when there is none, unless `STOREKEY_REQUIRE_PG=1`). `contract!` makes each
//! body into `pg_store::redb::<name>` and `pg_store::postgres::<name>`, so the two backends
//! stay equivalent. The PostgreSQL-only tests at the end drive the retry path (SQLSTATE 40001
//! injected before COMMIT, as CockroachDB reports its restarts).
//!
//! Each body is generic over `store::Backend` and gets the backend itself (`RedbStore`,
//! `Postgres`), below the `store::Store` facade, so a difference between the backends cannot
//! hide behind it.

use crate::postgres::{database, Schema};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use storekey::model::oidc::{AuthorizationCode, BrowserSession, Grant, OidcClient, SigningKey};
use storekey::model::passkey::{Ceremony, Passkey, PasskeyChallenge, PasskeyOwner};
use storekey::model::{
    Account, Address, AddressBook, AddressChanges, AddressId, AuditEntry, LacAction, LacEntry,
    LacFilter, Lockout, LoginCode, OneTimeSecret, OtcIssue, StorefrontToken, StorefrontTokenKind,
};
use storekey::store::import::{self, OnConflict, RowOutcome};
use storekey::store::pg::Postgres;
use storekey::store::{
    AccessTokenRecord, AddressEdit, AddressOutcome, Backend, Change, Created, CustomerId, Effects,
    Granted, Issue, MailLimit, MultipassOutcome, NewToken, RedbStore, SweepReport, Timestamp,
    TokenKind, Updated, Upsert, Who,
};

/// What must outlive every clone of a store (its temp dir, its test database): held, not read.
type KeepAlive = Arc<dyn Send + Sync>;

fn redb() -> (RedbStore, KeepAlive) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("store.redb")).unwrap();
    (store, Arc::new(dir))
}

async fn postgres() -> Option<(Postgres, KeepAlive)> {
    let db = database(Schema::Migrated).await?;
    // Room for the racers to really run at once.
    let mut storage = db.storage();
    storage.pool_size = 16;
    let pg = Postgres::connect(&storage).await.unwrap();
    Some((pg, Arc::new(db)))
}

/// Creates `record`, which must be new; returns it as stored.
async fn create<B: Backend>(s: &B, record: Account) -> Account {
    match s.create_customer(record, None).await.unwrap() {
        Created::Created(account) => *account,
        Created::EmailTaken => panic!("email taken"),
    }
}

/// Mints `token` for `id` through an edit that changes nothing else.
async fn issue<B: Backend>(s: &B, id: CustomerId, token: NewToken) {
    let issued = s
        .update_customer(Who::Id(id), move |_| {
            Change::Save(
                (),
                Effects {
                    token: Some(token.clone()),
                    ..Effects::default()
                },
            )
        })
        .await
        .unwrap();
    assert!(matches!(issued, Updated::Saved(..)), "{issued:?}");
}

/// Instantiates each body for each backend: redb on a file, redb in memory (the core's unit
/// tests' store), PostgreSQL.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod redb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (store, _dir) = super::redb();
                    super::$name(store).await;
                }
            )*
        }
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(storekey::store::RedbStore::in_memory().unwrap()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some((store, _db)) = super::postgres().await else {
                        return;
                    };
                    super::$name(store).await;
                }
            )*
        }
    };
}

contract!(
    a_customer_reads_back_as_created_by_id_email_and_identifier,
    a_second_customer_with_the_same_email_is_refused,
    an_edit_moves_the_email_and_identifier_lookups,
    an_edit_to_an_email_another_customer_has_writes_nothing,
    a_refused_edit_writes_nothing,
    an_edit_of_nobody_is_not_found,
    a_deleted_customer_takes_its_tokens_and_lookups_with_it,
    tokens_are_issued_renewed_deleted_and_revoked,
    customers_are_listed_by_id_after_a_cursor,
    storefront_tokens_get_ids_and_their_deletes_are_audited,
    audit_entries_read_back_in_order_after_a_cursor,
    a_refusal_records_nothing_visible,
    a_refused_multipass_sign_in_still_uses_the_token,
    one_otc_has_exactly_one_winner_among_32_racers,
    one_multipass_token_signs_in_once_among_32_racers,
    concurrent_multipass_sign_ins_for_one_new_email_make_one_customer,
    sixteen_concurrent_lockout_failures_are_all_counted,
    the_sweep_purges_what_expired_and_reports_it,
    a_sweep_stops_at_its_batch_and_says_there_is_more,
    an_import_batch_creates_skips_updates_and_stops_at_a_conflict,
    mail_requests_are_capped_per_window_and_key,
    mail_requests_keep_the_minimum_gap_since_the_last_allowed_one,
    thirty_two_concurrent_mail_requests_with_a_cap_of_3_allow_exactly_3,
    spent_mail_counts_are_swept_and_live_ones_stay,
    addresses_get_ids_and_read_back_with_their_customer,
    an_address_update_changes_its_fields_and_moves_the_defaults,
    a_default_address_is_kept_or_cleared_on_delete_as_asked,
    another_customers_address_is_not_yours_and_an_unknown_one_is_not_found,
    thirty_two_concurrent_address_creates_stop_at_the_limit,
    a_deleted_customer_takes_its_addresses_with_it,
    imported_and_edited_customers_keep_their_addresses,
    a_customer_search_matches_email_or_name_in_any_case_within_its_bound,
    the_login_as_customer_log_reads_typed_fields_newest_first_within_its_bound,
    oidc_the_first_key_wins_and_a_rotation_retires_the_old_one,
    oidc_clients_are_created_once_listed_and_deleted_with_their_grants,
    oidc_browser_sessions_are_created_read_touched_and_ended,
    oidc_a_code_is_redeemed_once_and_a_replay_ends_its_grant,
    oidc_an_expired_or_unknown_code_is_unknown,
    oidc_a_refused_redemption_writes_nothing_and_the_code_stays_redeemable,
    oidc_a_refresh_rotates_its_token_and_a_late_replay_ends_the_grant,
    oidc_revoking_a_customers_tokens_ends_its_sessions_and_grants,
    oidc_the_sweep_purges_expired_codes_sessions_and_grants,
    oidc_eight_concurrent_redemptions_of_one_code_issue_one_grant,
    oidc_eight_concurrent_refreshes_of_one_token_rotate_it_once,
    a_login_code_keeps_its_attempts_beside_the_other_secrets_and_is_swept,
    passkeys_read_back_with_their_customer_who_is_found_by_handle,
    a_passkey_challenge_is_taken_once_among_32_racers_and_not_after_expiry,
    expired_passkey_challenges_are_swept,
    an_import_batch_refuses_a_passkey_handle_another_customer_holds,
);

const NOW: Timestamp = 1_800_000_000;

fn account(email: &str) -> Account {
    let mut a = Account::default();
    a.customer.email = email.into();
    a.customer.created_at = NOW;
    a.customer.updated_at = NOW;
    a
}

fn secret(byte: u8, expires_at: Timestamp) -> OneTimeSecret {
    OneTimeSecret {
        digest: [byte; 32],
        created_at: NOW - 10,
        expires_at,
        issued_by: None,
        reason: None,
    }
}

fn token(byte: u8, customer: CustomerId, expires_at: Timestamp) -> NewToken {
    NewToken {
        digest: [byte; 32],
        record: AccessTokenRecord {
            customer_id: customer,
            issued_at: NOW,
            expires_at,
            kind: TokenKind::Commerce,
        },
    }
}

fn entry(action: &str, subject: Option<CustomerId>) -> AuditEntry {
    AuditEntry {
        at: NOW,
        actor: "ops".into(),
        action: action.into(),
        subject,
        detail: Some(format!("{action} detail")),
        otc: None,
    }
}

fn actions(log: &[(u64, AuditEntry)]) -> Vec<&str> {
    log.iter().map(|(_, e)| e.action.as_str()).collect()
}

/// A customer with every field set, secrets and lockout included.
fn full_account(email: &str, identifier: &str) -> Account {
    let mut a = account(email);
    a.customer.multipass_identifier = Some(identifier.into());
    a.customer.profile.firstname = Some("Ann".into());
    a.customer.profile.lastname = Some("Lee".into());
    a.customer.profile.middlename = Some("M".into());
    a.customer.profile.prefix = Some("Dr".into());
    a.customer.profile.suffix = Some("Jr".into());
    a.customer.profile.date_of_birth = Some("1990-02-03".into());
    a.customer.profile.gender = Some(2);
    a.customer.profile.taxvat = Some("DE123".into());
    a.customer.profile.phone = Some("+49 30 1234".into());
    a.customer.profile.is_subscribed = true;
    a.customer.confirmed = true;
    a.customer.allow_remote_shopping_assistance = true;
    a.customer.tags = vec!["vip".into(), "b2b".into()];
    a.credentials.password_hash = Some("$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA".into());
    a.credentials.password_version = 3;
    a.credentials.lockout = Lockout {
        failures: 2,
        first_failure: Some(NOW - 60),
        lock_expires: None,
    };
    a.credentials.reset_token = Some(secret(1, NOW + 3600));
    a.credentials.otc = Some(OneTimeSecret {
        issued_by: Some("support".into()),
        reason: Some("phone call".into()),
        ..secret(2, NOW + 600)
    });
    a.credentials.confirmation = Some(secret(3, NOW + 86_400));
    a.credentials.activation = Some(secret(4, NOW + 30 * 86_400));
    a
}

async fn a_customer_reads_back_as_created_by_id_email_and_identifier<B: Backend>(s: B) {
    let record = full_account("Ann@Example.com", "ident-a");
    let Created::Created(ann) = s
        .create_customer(record.clone(), Some(entry("customer_created", None)))
        .await
        .unwrap()
    else {
        panic!("email taken");
    };
    let id = ann.customer.id;
    assert_ne!(id, CustomerId(0));
    let mut expected = record;
    expected.customer.id = id;
    assert_eq!(*ann, expected);
    assert_eq!(s.customer(id).await.unwrap(), Some(expected.clone()));
    assert_eq!(
        s.customer_by_email("  ann@EXAMPLE.com ").await.unwrap(),
        Some(expected)
    );
    assert_eq!(
        s.customer_id_by_email("ANN@example.com").await.unwrap(),
        Some(id)
    );
    assert_eq!(
        s.customer_id_by_identifier("ident-a").await.unwrap(),
        Some(id)
    );
    assert_eq!(s.customer_id_by_identifier("ident-b").await.unwrap(), None);
    assert_eq!(s.customer_count().await.unwrap(), 1);
    let log = s.audit(0, 10).await.unwrap();
    assert_eq!(actions(&log), ["customer_created"]);
    assert_eq!(log[0].1.subject, Some(id), "the create names its customer");
}

async fn a_second_customer_with_the_same_email_is_refused<B: Backend>(s: B) {
    let ann = create(&s, account("ann@example.com")).await;
    let again = s
        .create_customer(
            account(" ANN@example.com"),
            Some(entry("customer_created", None)),
        )
        .await
        .unwrap();
    assert!(matches!(again, Created::EmailTaken), "{again:?}");
    assert_eq!(s.customer_count().await.unwrap(), 1);
    assert!(
        s.audit(0, 10).await.unwrap().is_empty(),
        "a refused create is not audited"
    );
    let bob = create(&s, account("bob@example.com")).await;
    assert!(bob.customer.id > ann.customer.id);
}

async fn an_edit_moves_the_email_and_identifier_lookups<B: Backend>(s: B) {
    let ann = create(&s, full_account("ann@example.com", "ident-a")).await;
    let id = ann.customer.id;
    let updated = s
        .update_customer(Who::Email("ANN@example.com".into()), |c| {
            c.customer.email = "Anna@Example.com".into();
            c.customer.multipass_identifier = Some("ident-b".into());
            c.customer.profile.firstname = None;
            c.credentials.reset_token = Some(secret(9, NOW + 7200));
            c.credentials.otc = None;
            c.credentials.lockout.failures += 1;
            Change::Save("moved", Effects::default())
        })
        .await
        .unwrap();
    let Updated::Saved(after, outcome) = updated else {
        panic!("{updated:?}");
    };
    assert_eq!(outcome, "moved");
    let mut expected = ann.clone();
    expected.customer.email = "Anna@Example.com".into();
    expected.customer.multipass_identifier = Some("ident-b".into());
    expected.customer.profile.firstname = None;
    expected.credentials.reset_token = Some(secret(9, NOW + 7200));
    expected.credentials.otc = None;
    expected.credentials.lockout.failures = 3;
    assert_eq!(*after, expected);
    assert_eq!(s.customer(id).await.unwrap(), Some(expected));
    assert_eq!(
        s.customer_id_by_email("ann@example.com").await.unwrap(),
        None
    );
    assert_eq!(
        s.customer_id_by_email("anna@example.com").await.unwrap(),
        Some(id)
    );
    assert_eq!(s.customer_id_by_identifier("ident-a").await.unwrap(), None);
    assert_eq!(
        s.customer_id_by_identifier("ident-b").await.unwrap(),
        Some(id)
    );
    // The freed email is free for someone else.
    let other = create(&s, account("ann@example.com")).await;
    assert_ne!(other.customer.id, id);
}

async fn an_edit_to_an_email_another_customer_has_writes_nothing<B: Backend>(s: B) {
    let ann = create(&s, account("ann@example.com")).await;
    let bob = create(&s, account("bob@example.com")).await;
    let updated = s
        .update_customer(Who::Id(bob.customer.id), |c| {
            c.customer.email = " ANN@example.com".into();
            c.customer.profile.firstname = Some("Bob".into());
            Change::Save(
                (),
                Effects {
                    token: Some(token(5, c.customer.id, NOW + 60)),
                    audit: vec![entry("customer_updated", Some(c.customer.id))],
                    ..Effects::default()
                },
            )
        })
        .await
        .unwrap();
    assert!(matches!(updated, Updated::EmailTaken), "{updated:?}");
    assert_eq!(
        s.customer(bob.customer.id).await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        s.customer_id_by_email("ann@example.com").await.unwrap(),
        Some(ann.customer.id)
    );
    assert_eq!(s.access_token(&[5; 32]).await.unwrap(), None);
    assert!(s.audit(0, 10).await.unwrap().is_empty());
    // Only the case changes: the email stays the customer's own.
    let updated = s
        .update_customer(Who::Id(bob.customer.id), |c| {
            c.customer.email = "BOB@example.com".into();
            Change::Save((), Effects::default())
        })
        .await
        .unwrap();
    assert!(matches!(updated, Updated::Saved(..)), "{updated:?}");
    assert_eq!(
        s.customer_by_email("bob@example.com")
            .await
            .unwrap()
            .map(|c| c.customer.email),
        Some("BOB@example.com".into())
    );
}

async fn a_refused_edit_writes_nothing<B: Backend>(s: B) {
    let ann = create(&s, full_account("ann@example.com", "ident-a")).await;
    let updated = s
        .update_customer(Who::Id(ann.customer.id), |c| {
            c.customer.email = "other@example.com".into();
            c.credentials.otc = None;
            Change::Refuse(7)
        })
        .await
        .unwrap();
    assert!(matches!(updated, Updated::Refused(7)), "{updated:?}");
    assert_eq!(s.customer(ann.customer.id).await.unwrap(), Some(ann));
    assert_eq!(
        s.customer_id_by_email("other@example.com").await.unwrap(),
        None
    );
}

async fn an_edit_of_nobody_is_not_found<B: Backend>(s: B) {
    create(&s, account("ann@example.com")).await;
    for who in [
        Who::Id(CustomerId(999)),
        Who::Email("nobody@example.com".into()),
    ] {
        let updated = s
            .update_customer(who, |_| -> Change<()> {
                panic!("no customer to decide on")
            })
            .await
            .unwrap();
        assert!(matches!(updated, Updated::NotFound), "{updated:?}");
    }
}

async fn a_deleted_customer_takes_its_tokens_and_lookups_with_it<B: Backend>(s: B) {
    let ann = create(&s, full_account("ann@example.com", "ident-a")).await;
    let bob = create(&s, account("bob@example.com")).await;
    let id = ann.customer.id;
    issue(&s, id, token(1, id, NOW + 60)).await;
    issue(&s, id, token(2, id, NOW + 60)).await;
    issue(&s, bob.customer.id, token(3, bob.customer.id, NOW + 60)).await;
    assert!(s
        .delete_customer(id, Some(entry("customer_deleted", Some(id))))
        .await
        .unwrap());
    assert_eq!(s.customer(id).await.unwrap(), None);
    assert_eq!(
        s.customer_id_by_email("ann@example.com").await.unwrap(),
        None
    );
    assert_eq!(s.customer_id_by_identifier("ident-a").await.unwrap(), None);
    assert_eq!(s.access_token(&[1; 32]).await.unwrap(), None);
    assert_eq!(s.access_token(&[2; 32]).await.unwrap(), None);
    assert_eq!(
        s.access_token_count().await.unwrap(),
        1,
        "bob's token stays"
    );
    assert_eq!(s.customer_count().await.unwrap(), 1);
    assert!(!s
        .delete_customer(id, Some(entry("customer_deleted", Some(id))))
        .await
        .unwrap());
    let log = s.audit(0, 10).await.unwrap();
    assert_eq!(actions(&log), ["customer_deleted"], "audited once");
    assert_eq!(log[0].1.subject, Some(id));
}

async fn tokens_are_issued_renewed_deleted_and_revoked<B: Backend>(s: B) {
    let ann = create(&s, account("ann@example.com")).await;
    let bob = create(&s, account("bob@example.com")).await;
    let (a, b) = (ann.customer.id, bob.customer.id);
    let t1 = token(1, a, NOW + 60);
    issue(&s, a, t1.clone()).await;
    assert_eq!(s.access_token(&[1; 32]).await.unwrap(), Some(t1.record));
    assert_eq!(
        s.session(&[1; 32]).await.unwrap(),
        Some((t1.record, ann.clone()))
    );
    assert_eq!(s.session(&[8; 32]).await.unwrap(), None);

    let mut renewed = token(1, a, NOW + 3600);
    renewed.record.issued_at = NOW + 30;
    renewed.record.kind = TokenKind::Storefront;
    assert!(s.renew_token(renewed.clone()).await.unwrap());
    assert_eq!(
        s.access_token(&[1; 32]).await.unwrap(),
        Some(renewed.record)
    );
    assert!(!s.renew_token(token(8, a, NOW + 3600)).await.unwrap());
    assert_eq!(
        s.access_token(&[8; 32]).await.unwrap(),
        None,
        "a renew creates nothing"
    );

    issue(&s, a, token(2, a, NOW + 60)).await;
    issue(&s, b, token(3, b, NOW + 60)).await;
    assert_eq!(s.access_token_count().await.unwrap(), 3);
    assert_eq!(s.revoke_customer_tokens(a).await.unwrap(), 2);
    assert_eq!(s.revoke_customer_tokens(a).await.unwrap(), 0);
    assert_eq!(s.access_token(&[1; 32]).await.unwrap(), None);
    assert_eq!(s.access_token_count().await.unwrap(), 1);
    assert!(s.delete_token([3; 32]).await.unwrap());
    assert!(!s.delete_token([3; 32]).await.unwrap());

    // One edit revokes every token and mints a new one, in that order.
    issue(&s, a, token(4, a, NOW + 60)).await;
    issue(&s, a, token(5, a, NOW + 60)).await;
    let t6 = token(6, a, NOW + 60);
    let edit = t6.clone();
    let updated = s
        .update_customer(Who::Id(a), move |c| {
            c.credentials.set_password("$argon2id$new".into());
            Change::Save(
                (),
                Effects {
                    revoke_tokens: true,
                    token: Some(edit.clone()),
                    audit: Vec::new(),
                    ..Effects::default()
                },
            )
        })
        .await
        .unwrap();
    assert!(matches!(updated, Updated::Saved(..)), "{updated:?}");
    assert_eq!(s.access_token(&[4; 32]).await.unwrap(), None);
    assert_eq!(s.access_token(&[5; 32]).await.unwrap(), None);
    let (record, account) = s.session(&[6; 32]).await.unwrap().unwrap();
    assert_eq!(record, t6.record);
    assert_eq!(account.credentials.password_version, 1);
    assert_eq!(s.access_token_count().await.unwrap(), 1);
}

async fn customers_are_listed_by_id_after_a_cursor<B: Backend>(s: B) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            create(&s, account(&format!("c{i}@example.com")))
                .await
                .customer
                .id,
        );
    }
    let all = s.customers(CustomerId(0), 100).await.unwrap();
    assert_eq!(all.iter().map(|c| c.customer.id).collect::<Vec<_>>(), ids);
    let page = s.customers(ids[1], 2).await.unwrap();
    assert_eq!(
        page.iter()
            .map(|c| c.customer.email.as_str())
            .collect::<Vec<_>>(),
        ["c2@example.com", "c3@example.com"]
    );
    assert!(s.customers(ids[4], 10).await.unwrap().is_empty());
}

async fn storefront_tokens_get_ids_and_their_deletes_are_audited<B: Backend>(s: B) {
    let draft = |title: &str, kind| StorefrontToken {
        id: 0,
        title: title.into(),
        scopes: vec!["unauthenticated_write_customers".into()],
        created_at: NOW,
        kind,
    };
    let audit = |t: &StorefrontToken| AuditEntry {
        detail: Some(format!("{} #{}", t.title, t.id)),
        ..entry("storefront_token_created", None)
    };
    let web = s
        .create_storefront_token([2; 32], draft("web", StorefrontTokenKind::Public), audit)
        .await
        .unwrap();
    let server = s
        .create_storefront_token(
            [1; 32],
            draft("server", StorefrontTokenKind::Private),
            audit,
        )
        .await
        .unwrap();
    assert_eq!((web.id, server.id), (1, 2));
    assert_eq!(
        web,
        StorefrontToken {
            id: 1,
            ..draft("web", StorefrontTokenKind::Public)
        }
    );
    assert_eq!(
        s.storefront_tokens().await.unwrap(),
        vec![([1; 32], server.clone()), ([2; 32], web.clone())],
        "listed by digest"
    );
    assert!(s
        .delete_storefront_token(1, entry("storefront_token_deleted", None))
        .await
        .unwrap());
    assert!(!s
        .delete_storefront_token(1, entry("storefront_token_deleted", None))
        .await
        .unwrap());
    assert!(!s
        .delete_storefront_token(99, entry("storefront_token_deleted", None))
        .await
        .unwrap());
    assert_eq!(
        s.storefront_tokens().await.unwrap(),
        vec![([1; 32], server)]
    );
    let log = s.audit(0, 10).await.unwrap();
    assert_eq!(
        actions(&log),
        [
            "storefront_token_created",
            "storefront_token_created",
            "storefront_token_deleted"
        ]
    );
    assert_eq!(log[0].1.detail.as_deref(), Some("web #1"));
    assert_eq!(log[1].1.detail.as_deref(), Some("server #2"));
    let third = s
        .create_storefront_token([3; 32], draft("app", StorefrontTokenKind::Public), audit)
        .await
        .unwrap();
    assert_eq!(third.id, 3, "ids are not reused");
}

async fn audit_entries_read_back_in_order_after_a_cursor<B: Backend>(s: B) {
    let ann = create(&s, account("ann@example.com")).await;
    for (i, action) in ["one", "two", "three", "four", "five"].iter().enumerate() {
        let subject = (i % 2 == 0).then_some(ann.customer.id);
        s.append_audit(AuditEntry {
            at: NOW + i as i64,
            ..entry(action, subject)
        })
        .await
        .unwrap();
    }
    let log = s.audit(0, 100).await.unwrap();
    assert_eq!(actions(&log), ["one", "two", "three", "four", "five"]);
    assert!(log.windows(2).all(|w| w[0].0 < w[1].0), "{log:?}");
    assert_eq!(
        log[0].1,
        AuditEntry {
            at: NOW,
            actor: "ops".into(),
            action: "one".into(),
            subject: Some(ann.customer.id),
            detail: Some("one detail".into()),
            otc: None,
        }
    );
    assert_eq!(log[1].1.subject, None);
    assert_eq!(log[4].1.at, NOW + 4);
    let page = s.audit(log[1].0, 2).await.unwrap();
    assert_eq!(actions(&page), ["three", "four"]);
    assert!(s.audit(log[4].0, 10).await.unwrap().is_empty());
}

async fn a_refusal_records_nothing_visible<B: Backend>(s: B) {
    s.record_refusal().await.unwrap();
    s.record_refusal().await.unwrap();
    assert_eq!(s.customer_count().await.unwrap(), 0);
    assert_eq!(s.access_token_count().await.unwrap(), 0);
    assert!(s.audit(0, 10).await.unwrap().is_empty());
    // Sequences are untouched: the next customer and storefront token get the first ids.
    assert_eq!(
        create(&s, account("a@example.com")).await.customer.id,
        CustomerId(1)
    );
}

/// A Multipass decision for tests: update whoever the token names, else create.
fn upsert(
    email: &str,
) -> impl Fn(Option<&Account>, Option<&Account>) -> Result<Upsert, &'static str> + Send + 'static {
    let email = email.to_string();
    move |by_identifier, by_email| match by_identifier.or(by_email) {
        Some(found) => {
            let mut after = found.clone();
            after.customer.confirmed = true;
            Ok(Upsert::Update(after))
        }
        None => Ok(Upsert::Create(Account {
            customer: storekey::model::Customer {
                confirmed: true,
                multipass_identifier: Some(format!("mp-{email}")),
                ..account(&email).customer
            },
            ..Account::default()
        })),
    }
}

async fn a_refused_multipass_sign_in_still_uses_the_token<B: Backend>(s: B) {
    let refused = s
        .multipass_sign_in(
            [7; 32],
            NOW + 600,
            None,
            "ann@example.com".into(),
            |_: Option<&Account>, _: Option<&Account>| Err::<Upsert, _>("taken"),
            token(1, CustomerId(0), NOW + 60),
        )
        .await
        .unwrap();
    assert!(
        matches!(refused, MultipassOutcome::Refused("taken")),
        "{refused:?}"
    );
    assert!(s.replay_seen(&[7; 32]).await.unwrap());
    assert_eq!(s.customer_count().await.unwrap(), 0);
    assert_eq!(s.access_token_count().await.unwrap(), 0);
    let again = s
        .multipass_sign_in(
            [7; 32],
            NOW + 600,
            None,
            "ann@example.com".into(),
            upsert("ann@example.com"),
            token(1, CustomerId(0), NOW + 60),
        )
        .await
        .unwrap();
    assert!(matches!(again, MultipassOutcome::Replayed), "{again:?}");
    assert_eq!(s.customer_count().await.unwrap(), 0);
}

async fn one_otc_has_exactly_one_winner_among_32_racers<B: Backend>(s: B) {
    let mut record = account("ann@example.com");
    record.credentials.otc = Some(secret(4, NOW + 600));
    let id = create(&s, record).await.customer.id;
    let mut racers = Vec::new();
    for i in 0..32u8 {
        let s = s.clone();
        racers.push(tokio::spawn(async move {
            s.update_customer(Who::Id(id), move |c| {
                if c.credentials.otc.as_ref().map(|o| o.digest) != Some([4; 32]) {
                    return Change::Refuse(false);
                }
                c.credentials.otc = None;
                Change::Save(
                    true,
                    Effects {
                        token: Some(token(100 + i, id, NOW + 60)),
                        audit: vec![entry("otc_used", Some(id))],
                        ..Effects::default()
                    },
                )
            })
            .await
            .unwrap()
        }));
    }
    let mut winners = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Updated::Saved(_, true) => winners += 1,
            Updated::Refused(false) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(s.access_token_count().await.unwrap(), 1);
    assert_eq!(actions(&s.audit(0, 100).await.unwrap()), ["otc_used"]);
    assert_eq!(s.customer(id).await.unwrap().unwrap().credentials.otc, None);
}

async fn one_multipass_token_signs_in_once_among_32_racers<B: Backend>(s: B) {
    let mut racers = Vec::new();
    for i in 0..32u8 {
        let s = s.clone();
        racers.push(tokio::spawn(async move {
            s.multipass_sign_in(
                [9; 32],
                NOW + 600,
                Some("mp-ann@example.com".into()),
                "ann@example.com".into(),
                upsert("ann@example.com"),
                token(i, CustomerId(0), NOW + 60),
            )
            .await
            .unwrap()
        }));
    }
    let mut signed_in = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            MultipassOutcome::SignedIn(account) => signed_in.push(account),
            MultipassOutcome::Replayed => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(signed_in.len(), 1);
    assert_eq!(s.customer_count().await.unwrap(), 1);
    assert_eq!(s.access_token_count().await.unwrap(), 1);
    assert!(s.replay_seen(&[9; 32]).await.unwrap());
    let id = signed_in[0].customer.id;
    assert_eq!(
        s.customer_id_by_identifier("mp-ann@example.com")
            .await
            .unwrap(),
        Some(id)
    );
}

async fn concurrent_multipass_sign_ins_for_one_new_email_make_one_customer<B: Backend>(s: B) {
    let mut racers = Vec::new();
    for i in 0..16u8 {
        let s = s.clone();
        racers.push(tokio::spawn(async move {
            s.multipass_sign_in(
                [i; 32],
                NOW + 600,
                None,
                "new@example.com".into(),
                upsert("new@example.com"),
                token(i, CustomerId(0), NOW + 60),
            )
            .await
            .unwrap()
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for racer in racers {
        match racer.await.unwrap() {
            MultipassOutcome::SignedIn(account) => ids.insert(account.customer.id),
            other => panic!("every distinct token signs in: {other:?}"),
        };
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(s.customer_count().await.unwrap(), 1);
    assert_eq!(s.access_token_count().await.unwrap(), 16);
    let id = ids.into_iter().next().unwrap();
    for i in 0..16u8 {
        assert_eq!(
            s.access_token(&[i; 32]).await.unwrap().unwrap().customer_id,
            id
        );
    }
}

async fn sixteen_concurrent_lockout_failures_are_all_counted<B: Backend>(s: B) {
    let id = create(&s, account("ann@example.com")).await.customer.id;
    let mut racers = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        racers.push(tokio::spawn(async move {
            s.update_customer(Who::Id(id), |c| {
                let lockout = &mut c.credentials.lockout;
                lockout.failures += 1;
                lockout.first_failure.get_or_insert(NOW);
                if lockout.failures >= 16 {
                    lockout.lock_expires = Some(NOW + 600);
                }
                Change::Save(lockout.failures, Effects::default())
            })
            .await
            .unwrap()
        }));
    }
    let mut seen = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            Updated::Saved(_, n) => seen.push(n),
            other => panic!("{other:?}"),
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        (1..=16).collect::<Vec<u32>>(),
        "each failure saw the one before"
    );
    let lockout = s.customer(id).await.unwrap().unwrap().credentials.lockout;
    assert_eq!(
        lockout,
        Lockout {
            failures: 16,
            first_failure: Some(NOW),
            lock_expires: Some(NOW + 600),
        }
    );
}

async fn the_sweep_purges_what_expired_and_reports_it<B: Backend>(s: B) {
    let now = NOW + 10_000;
    let mut ann = full_account("ann@example.com", "ident-a");
    ann.credentials.reset_token = Some(secret(1, now - 1));
    ann.credentials.otc = Some(secret(2, now + 1));
    ann.credentials.confirmation = Some(secret(3, now));
    ann.credentials.activation = Some(secret(4, now - 2));
    ann.credentials.lockout = Lockout {
        failures: 5,
        first_failure: Some(now - 900),
        lock_expires: Some(now - 300),
    };
    let ann = create(&s, ann).await;
    let mut bob = account("bob@example.com");
    bob.credentials.lockout = Lockout {
        failures: 5,
        first_failure: Some(now - 60),
        lock_expires: Some(now + 600),
    };
    let bob = create(&s, bob).await;
    let (a, b) = (ann.customer.id, bob.customer.id);
    issue(&s, a, token(11, a, now - 1)).await;
    issue(&s, a, token(12, a, now)).await;
    issue(&s, b, token(13, b, now + 1)).await;
    for (replay, until, email) in [
        ([21; 32], now - 5, "carol@example.com"),
        ([22; 32], now + 5, "dave@example.com"),
    ] {
        let done = s
            .multipass_sign_in(
                replay,
                until,
                None,
                email.into(),
                upsert(email),
                token(replay[0], CustomerId(0), now + 600),
            )
            .await
            .unwrap();
        assert!(matches!(done, MultipassOutcome::SignedIn(_)), "{done:?}");
    }

    let report = s.sweep(now, 100).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            access_tokens: 2,
            reset_tokens: 1,
            otcs: 0,
            confirmations: 1,
            activations: 1,
            multipass_replays: 1,
            lockouts: 1,
            mail_limits: 0,
            more: false,
            ..SweepReport::default()
        }
    );
    let ann_after = s.customer(a).await.unwrap().unwrap();
    assert_eq!(ann_after.credentials.reset_token, None);
    assert_eq!(ann_after.credentials.otc, ann.credentials.otc);
    assert_eq!(ann_after.credentials.confirmation, None);
    assert_eq!(ann_after.credentials.activation, None);
    assert_eq!(ann_after.credentials.lockout, Lockout::default());
    assert_eq!(ann_after.customer, ann.customer, "the profile stays");
    assert_eq!(
        s.customer(b).await.unwrap().unwrap().credentials.lockout,
        bob.credentials.lockout
    );
    assert_eq!(s.access_token(&[11; 32]).await.unwrap(), None);
    assert_eq!(s.access_token(&[12; 32]).await.unwrap(), None);
    assert!(s.access_token(&[13; 32]).await.unwrap().is_some());
    assert!(
        s.access_token(&[21; 32]).await.unwrap().is_some(),
        "carol's token is live"
    );
    assert!(!s.replay_seen(&[21; 32]).await.unwrap());
    assert!(s.replay_seen(&[22; 32]).await.unwrap());
    assert_eq!(s.sweep(now, 100).await.unwrap(), SweepReport::default());
}

async fn a_sweep_stops_at_its_batch_and_says_there_is_more<B: Backend>(s: B) {
    let id = create(&s, account("ann@example.com")).await.customer.id;
    for byte in 1..=3 {
        issue(&s, id, token(byte, id, NOW + i64::from(byte))).await;
    }
    let first = s.sweep(NOW + 10, 2).await.unwrap();
    assert_eq!((first.access_tokens, first.more), (2, true), "{first:?}");
    let second = s.sweep(NOW + 10, 2).await.unwrap();
    assert_eq!(
        (second.access_tokens, second.more),
        (1, false),
        "{second:?}"
    );
    assert_eq!(s.access_token_count().await.unwrap(), 0);
}

async fn a_login_code_keeps_its_attempts_beside_the_other_secrets_and_is_swept<B: Backend>(s: B) {
    let ann = create(&s, full_account("ann@example.com", "ident-a")).await;
    let id = ann.customer.id;
    assert_eq!(ann.credentials.login_code, None);
    let code = LoginCode {
        secret: secret(7, NOW + 600),
        attempts: 0,
    };
    let stored = code.clone();
    s.update_customer(Who::Id(id), move |c| {
        c.credentials.login_code = Some(stored.clone());
        Change::Save((), Effects::default())
    })
    .await
    .unwrap();
    let read = s.customer(id).await.unwrap().unwrap();
    assert_eq!(read.credentials.login_code, Some(code.clone()));
    assert_eq!(read.credentials.reset_token, ann.credentials.reset_token);
    // Two wrong guesses, each its own write: the count is what was committed.
    for _ in 0..2 {
        s.update_customer(Who::Id(id), |c| {
            if let Some(code) = c.credentials.login_code.as_mut() {
                code.attempts += 1;
            }
            Change::Save((), Effects::default())
        })
        .await
        .unwrap();
    }
    let read = s
        .customer_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    let mut counted = code.clone();
    counted.attempts = 2;
    assert_eq!(read.credentials.login_code, Some(counted));
    assert_eq!(read.credentials.activation, ann.credentials.activation);
    // A live code stays; an expired one is swept and reported as such.
    let live = s.sweep(NOW + 1, 100).await.unwrap();
    assert_eq!(live.login_codes, 0, "{live:?}");
    let report = s.sweep(NOW + 600, 100).await.unwrap();
    assert_eq!(report.login_codes, 1, "{report:?}");
    let after = s.customer(id).await.unwrap().unwrap();
    assert_eq!(after.credentials.login_code, None);
    assert_eq!(after.credentials.reset_token, ann.credentials.reset_token);
}

// PostgreSQL only: the retry path.

#[tokio::test]
async fn an_injected_serialization_failure_reruns_update_customer_and_it_commits_once() {
    let Some((pg, _db)) = postgres().await else {
        return;
    };
    let id = create(&pg, account("ann@example.com")).await.customer.id;
    let runs = Arc::new(AtomicU32::new(0));
    let counted = runs.clone();
    pg.inject_serialization_failures(1);
    let updated = pg
        .update_customer(Who::Id(id), move |c| {
            counted.fetch_add(1, Ordering::SeqCst);
            c.credentials.lockout.failures += 1;
            Change::Save(
                c.credentials.lockout.failures,
                Effects {
                    token: Some(token(1, id, NOW + 60)),
                    audit: vec![entry("customer_updated", Some(id))],
                    ..Effects::default()
                },
            )
        })
        .await
        .unwrap();
    assert!(matches!(updated, Updated::Saved(_, 1)), "{updated:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 2, "the edit ran again");
    assert_eq!(pg.retries(), 1);
    assert_eq!(
        pg.customer(id)
            .await
            .unwrap()
            .unwrap()
            .credentials
            .lockout
            .failures,
        1
    );
    assert_eq!(pg.access_token_count().await.unwrap(), 1);
    assert_eq!(
        actions(&pg.audit(0, 10).await.unwrap()),
        ["customer_updated"]
    );
}

#[tokio::test]
async fn an_injected_serialization_failure_reruns_a_multipass_sign_in_which_still_wins() {
    let Some((pg, _db)) = postgres().await else {
        return;
    };
    pg.inject_serialization_failures(1);
    let done = pg
        .multipass_sign_in(
            [5; 32],
            NOW + 600,
            None,
            "ann@example.com".into(),
            upsert("ann@example.com"),
            token(1, CustomerId(0), NOW + 60),
        )
        .await
        .unwrap();
    let MultipassOutcome::SignedIn(account) = done else {
        panic!("the rolled-back first attempt left no replay record: {done:?}");
    };
    assert_eq!(pg.retries(), 1);
    assert_eq!(pg.customer_count().await.unwrap(), 1);
    assert_eq!(
        pg.access_token(&[1; 32])
            .await
            .unwrap()
            .map(|t| t.customer_id),
        Some(account.customer.id)
    );
}

#[tokio::test]
async fn a_storefront_token_change_bumps_the_generation() {
    let Some((pg, _db)) = postgres().await else {
        return;
    };
    assert_eq!(pg.storefront_generation().await.unwrap(), Some(0));
    let draft = StorefrontToken {
        id: 0,
        title: "web".into(),
        scopes: vec![],
        created_at: NOW,
        kind: StorefrontTokenKind::Public,
    };
    let token = pg
        .create_storefront_token([1; 32], draft, |_| entry("storefront_token_created", None))
        .await
        .unwrap();
    assert_eq!(pg.storefront_generation().await.unwrap(), Some(1));
    assert!(!pg
        .delete_storefront_token(token.id + 1, entry("storefront_token_deleted", None))
        .await
        .unwrap());
    assert_eq!(
        pg.storefront_generation().await.unwrap(),
        Some(1),
        "nothing deleted"
    );
    assert!(pg
        .delete_storefront_token(token.id, entry("storefront_token_deleted", None))
        .await
        .unwrap());
    assert_eq!(pg.storefront_generation().await.unwrap(), Some(2));
}

async fn an_import_batch_creates_skips_updates_and_stops_at_a_conflict<B: Backend>(s: B) {
    let existing = create(&s, account("kept@example.com")).await;
    let mut new = account("new@example.com");
    new.customer.multipass_identifier = Some("shop-7".into());
    new.credentials.password_hash = Some("magento:abc:salt:0".into());
    let mut again = account("KEPT@example.com");
    again.customer.profile.firstname = Some("Renamed".into());
    let rows = vec![new.clone(), again.clone()];

    // A dry run decides the same and writes nothing.
    let dry = import::dry_run(&s, &rows, OnConflict::Skip, NOW)
        .await
        .unwrap();
    assert_eq!(dry[0].outcome, RowOutcome::Created(CustomerId(0)));
    assert_eq!(dry[1].outcome, RowOutcome::Skipped(existing.customer.id));
    assert_eq!(s.customer_count().await.unwrap(), 1);

    let done = s
        .import_batch(rows.clone(), OnConflict::Skip, NOW)
        .await
        .unwrap();
    let RowOutcome::Created(id) = done[0].outcome else {
        panic!("{done:?}");
    };
    assert_eq!(done[1].outcome, RowOutcome::Skipped(existing.customer.id));
    let stored = s.customer(id).await.unwrap().unwrap();
    assert_eq!(stored.customer.email, "new@example.com");
    assert_eq!(
        stored.credentials.password_hash.as_deref(),
        Some("magento:abc:salt:0")
    );
    assert_eq!(
        s.customer_id_by_identifier("shop-7").await.unwrap(),
        Some(id)
    );

    // Re-running skips every row; `update` refreshes the profile; `fail` stops at the row.
    let rerun = s
        .import_batch(rows.clone(), OnConflict::Skip, NOW)
        .await
        .unwrap();
    assert!(
        rerun
            .iter()
            .all(|r| matches!(r.outcome, RowOutcome::Skipped(_))),
        "{rerun:?}"
    );
    let updated = s
        .import_batch(vec![again.clone()], OnConflict::Update, NOW)
        .await
        .unwrap();
    assert_eq!(
        updated[0].outcome,
        RowOutcome::Updated(existing.customer.id)
    );
    let kept = s.customer(existing.customer.id).await.unwrap().unwrap();
    assert_eq!(kept.customer.profile.firstname.as_deref(), Some("Renamed"));
    let third = account("third@example.com");
    let failed = s
        .import_batch(vec![again, third], OnConflict::Fail, NOW)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].outcome,
        RowOutcome::Conflict(existing.customer.id)
    );
    assert_eq!(s.customer_count().await.unwrap(), 2);
}

const HOURLY_3: MailLimit = MailLimit {
    cap: 3,
    window: 3600,
    gap: 0,
};

async fn mail_requests_are_capped_per_window_and_key<B: Backend>(s: B) {
    let mut allowed = Vec::new();
    for t in [0, 1, 2, 3, 3599] {
        allowed.push(
            s.count_mail_request([1; 32], HOURLY_3, NOW + t)
                .await
                .unwrap(),
        );
    }
    assert_eq!(allowed, [true, true, true, false, false]);
    assert!(
        s.count_mail_request([2; 32], HOURLY_3, NOW + 4)
            .await
            .unwrap(),
        "another key has its own count"
    );
    // The window runs an hour from its first request; then the count starts again.
    assert!(s
        .count_mail_request([1; 32], HOURLY_3, NOW + 3600)
        .await
        .unwrap());
    assert!(s
        .count_mail_request([1; 32], HOURLY_3, NOW + 3601)
        .await
        .unwrap());
    assert!(s
        .count_mail_request([1; 32], HOURLY_3, NOW + 3602)
        .await
        .unwrap());
    assert!(!s
        .count_mail_request([1; 32], HOURLY_3, NOW + 3603)
        .await
        .unwrap());
}

async fn mail_requests_keep_the_minimum_gap_since_the_last_allowed_one<B: Backend>(s: B) {
    let limit = MailLimit {
        cap: 100,
        window: 3600,
        gap: 600,
    };
    let mut allowed = Vec::new();
    for t in [0, 599, 600, 1000, 1199, 1200] {
        allowed.push(s.count_mail_request([3; 32], limit, NOW + t).await.unwrap());
    }
    // Refused requests do not restart the gap: 1200 is 600 after the one allowed at 600.
    assert_eq!(allowed, [true, false, true, false, false, true]);
}

async fn thirty_two_concurrent_mail_requests_with_a_cap_of_3_allow_exactly_3<B: Backend>(s: B) {
    let racers: Vec<_> = (0..32)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.count_mail_request([4; 32], HOURLY_3, NOW).await.unwrap() })
        })
        .collect();
    let mut allowed = 0;
    for racer in racers {
        if racer.await.unwrap() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 3);
    assert!(!s
        .count_mail_request([4; 32], HOURLY_3, NOW + 1)
        .await
        .unwrap());
}

async fn spent_mail_counts_are_swept_and_live_ones_stay<B: Backend>(s: B) {
    let limit = MailLimit {
        cap: 1,
        window: 3600,
        gap: 600,
    };
    assert!(s.count_mail_request([5; 32], limit, NOW).await.unwrap());
    assert!(s
        .count_mail_request([6; 32], limit, NOW + 100)
        .await
        .unwrap());
    let report = s.sweep(NOW + 3600, 100).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            mail_limits: 1,
            ..SweepReport::default()
        }
    );
    // The live count still limits; the swept one starts afresh.
    assert!(!s
        .count_mail_request([6; 32], limit, NOW + 3601)
        .await
        .unwrap());
    assert!(s
        .count_mail_request([5; 32], limit, NOW + 3601)
        .await
        .unwrap());
    assert_eq!(
        s.sweep(NOW + 3601, 100).await.unwrap(),
        SweepReport::default()
    );
}
fn address(city: &str) -> Address {
    Address {
        firstname: Some("Ann".into()),
        lastname: Some("Lee".into()),
        company: Some("Acme".into()),
        street: vec!["1 Main St".into(), "Suite 2".into()],
        city: Some(city.into()),
        region: Some("Texas".into()),
        region_code: Some("TX".into()),
        postcode: Some("78701".into()),
        country_code: Some("US".into()),
        telephone: Some("+1 512 555 0100".into()),
        ..Address::default()
    }
}

fn create_address(city: &str, billing: bool, shipping: bool, max: usize) -> AddressEdit {
    AddressEdit::Create {
        address: address(city),
        default_billing: billing,
        default_shipping: shipping,
        first_is_default: false,
        max,
    }
}

/// The book and the id of a `Done` outcome.
fn done(outcome: AddressOutcome) -> (AddressBook, AddressId) {
    match outcome {
        AddressOutcome::Done(book, id) => (*book, id),
        other => panic!("{other:?}"),
    }
}

async fn addresses_get_ids_and_read_back_with_their_customer<B: Backend>(s: B) {
    let id = create(&s, account("ann@example.com")).await.customer.id;
    let (_, first) = done(
        s.edit_addresses(id, create_address("Austin", true, false, 100))
            .await
            .unwrap(),
    );
    let (book, second) = done(
        s.edit_addresses(id, create_address("Dallas", false, true, 100))
            .await
            .unwrap(),
    );
    assert!(first.0 > 0 && second.0 > first.0, "{first} {second}");
    assert_eq!(book.default_billing, Some(first));
    assert_eq!(book.default_shipping, Some(second));
    let expected = AddressBook {
        addresses: vec![
            Address {
                id: first,
                ..address("Austin")
            },
            Address {
                id: second,
                ..address("Dallas")
            },
        ],
        default_billing: Some(first),
        default_shipping: Some(second),
    };
    assert_eq!(book, expected);
    assert_eq!(s.customer(id).await.unwrap().unwrap().addresses, expected);
    assert_eq!(
        s.customer_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap()
            .addresses,
        expected
    );
    assert_eq!(
        s.customers(CustomerId(0), 10).await.unwrap()[0].addresses,
        expected
    );
    // Ids are unique across customers.
    let other = create(&s, account("bob@example.com")).await.customer.id;
    let (_, third) = done(
        s.edit_addresses(other, create_address("Waco", false, false, 100))
            .await
            .unwrap(),
    );
    assert!(third.0 > second.0);
    assert_eq!(
        s.edit_addresses(
            CustomerId(999),
            create_address("Nowhere", false, false, 100)
        )
        .await
        .unwrap(),
        AddressOutcome::CustomerNotFound
    );
}

async fn an_address_update_changes_its_fields_and_moves_the_defaults<B: Backend>(s: B) {
    let id = create(&s, account("ann@example.com")).await.customer.id;
    let (_, a) = done(
        s.edit_addresses(id, create_address("Austin", true, true, 100))
            .await
            .unwrap(),
    );
    let (_, b) = done(
        s.edit_addresses(id, create_address("Dallas", false, false, 100))
            .await
            .unwrap(),
    );
    let changes = AddressChanges {
        city: Some("Houston".into()),
        company: Some(String::new()),
        street: Some(vec!["9 Elm St".into()]),
        ..AddressChanges::default()
    };
    let (book, edited) = done(
        s.edit_addresses(
            id,
            AddressEdit::Update {
                id: b,
                changes,
                default_billing: Some(true),
                default_shipping: None,
            },
        )
        .await
        .unwrap(),
    );
    assert_eq!(edited, b);
    let stored = s.customer(id).await.unwrap().unwrap().addresses;
    assert_eq!(stored, book);
    let b_now = stored.get(b).unwrap();
    assert_eq!(b_now.city.as_deref(), Some("Houston"));
    assert_eq!(b_now.company, None);
    assert_eq!(b_now.street, vec!["9 Elm St".to_string()]);
    assert_eq!(
        stored.get(a).unwrap(),
        &Address {
            id: a,
            ..address("Austin")
        }
    );
    assert_eq!(
        (stored.default_billing, stored.default_shipping),
        (Some(b), Some(a))
    );
    // Unsetting a default this address has clears it; unsetting one it has not changes nothing.
    let unset = |id, billing, shipping| AddressEdit::Update {
        id,
        changes: AddressChanges::default(),
        default_billing: billing,
        default_shipping: shipping,
    };
    done(
        s.edit_addresses(id, unset(a, Some(false), Some(false)))
            .await
            .unwrap(),
    );
    let stored = s.customer(id).await.unwrap().unwrap().addresses;
    assert_eq!(
        (stored.default_billing, stored.default_shipping),
        (Some(b), None)
    );
    let (book, _) = done(
        s.edit_addresses(
            id,
            AddressEdit::SetDefaults {
                id: a,
                billing: true,
                shipping: true,
            },
        )
        .await
        .unwrap(),
    );
    assert_eq!(
        (book.default_billing, book.default_shipping),
        (Some(a), Some(a))
    );
    assert_eq!(s.customer(id).await.unwrap().unwrap().addresses, book);
}

async fn a_default_address_is_kept_or_cleared_on_delete_as_asked<B: Backend>(s: B) {
    let id = create(&s, account("ann@example.com")).await.customer.id;
    let (_, a) = done(
        s.edit_addresses(id, create_address("Austin", true, false, 100))
            .await
            .unwrap(),
    );
    let (_, b) = done(
        s.edit_addresses(id, create_address("Dallas", false, true, 100))
            .await
            .unwrap(),
    );
    let keep = |id| AddressEdit::Delete {
        id,
        keep_defaults: true,
    };
    assert_eq!(
        s.edit_addresses(id, keep(a)).await.unwrap(),
        AddressOutcome::DefaultBilling
    );
    assert_eq!(
        s.edit_addresses(id, keep(b)).await.unwrap(),
        AddressOutcome::DefaultShipping
    );
    assert_eq!(
        s.customer(id)
            .await
            .unwrap()
            .unwrap()
            .addresses
            .addresses
            .len(),
        2
    );
    let (book, deleted) = done(
        s.edit_addresses(
            id,
            AddressEdit::Delete {
                id: b,
                keep_defaults: false,
            },
        )
        .await
        .unwrap(),
    );
    assert_eq!(deleted, b);
    assert_eq!(book.default_shipping, None);
    assert_eq!(book.default_billing, Some(a));
    assert_eq!(s.customer(id).await.unwrap().unwrap().addresses, book);
    assert_eq!(book.addresses.len(), 1);
    assert_eq!(
        s.edit_addresses(id, keep(b)).await.unwrap(),
        AddressOutcome::NotFound
    );
}

async fn another_customers_address_is_not_yours_and_an_unknown_one_is_not_found<B: Backend>(s: B) {
    let ann = create(&s, account("ann@example.com")).await.customer.id;
    let bob = create(&s, account("bob@example.com")).await.customer.id;
    let (_, a) = done(
        s.edit_addresses(ann, create_address("Austin", false, false, 100))
            .await
            .unwrap(),
    );
    let edits = |id| {
        [
            AddressEdit::Update {
                id,
                changes: AddressChanges {
                    city: Some("Stolen".into()),
                    ..AddressChanges::default()
                },
                default_billing: None,
                default_shipping: None,
            },
            AddressEdit::Delete {
                id,
                keep_defaults: false,
            },
            AddressEdit::SetDefaults {
                id,
                billing: true,
                shipping: true,
            },
        ]
    };
    for edit in edits(a) {
        assert_eq!(
            s.edit_addresses(bob, edit).await.unwrap(),
            AddressOutcome::NotYours
        );
    }
    for edit in edits(AddressId(a.0 + 1000)) {
        assert_eq!(
            s.edit_addresses(bob, edit).await.unwrap(),
            AddressOutcome::NotFound
        );
    }
    assert_eq!(
        s.customer(ann).await.unwrap().unwrap().addresses.addresses,
        vec![Address {
            id: a,
            ..address("Austin")
        }]
    );
    assert!(s.customer(bob).await.unwrap().unwrap().addresses.is_empty());
}

async fn thirty_two_concurrent_address_creates_stop_at_the_limit<B: Backend>(s: B) {
    let id = create(&s, account("ann@example.com")).await.customer.id;
    let mut racers = Vec::new();
    for i in 0..32 {
        let s = s.clone();
        racers.push(tokio::spawn(async move {
            s.edit_addresses(id, create_address(&format!("City {i}"), false, false, 5))
                .await
                .unwrap()
        }));
    }
    let (mut created, mut refused) = (0, 0);
    for racer in racers {
        match racer.await.unwrap() {
            AddressOutcome::Done(..) => created += 1,
            AddressOutcome::TooMany => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((created, refused), (5, 27));
    assert_eq!(
        s.customer(id)
            .await
            .unwrap()
            .unwrap()
            .addresses
            .addresses
            .len(),
        5
    );
}

async fn a_deleted_customer_takes_its_addresses_with_it<B: Backend>(s: B) {
    let ann = create(&s, account("ann@example.com")).await.customer.id;
    let bob = create(&s, account("bob@example.com")).await.customer.id;
    let (_, a) = done(
        s.edit_addresses(ann, create_address("Austin", true, true, 100))
            .await
            .unwrap(),
    );
    assert!(s.delete_customer(ann, None).await.unwrap());
    let delete = AddressEdit::Delete {
        id: a,
        keep_defaults: false,
    };
    assert_eq!(
        s.edit_addresses(bob, delete).await.unwrap(),
        AddressOutcome::NotFound
    );
}

async fn imported_and_edited_customers_keep_their_addresses<B: Backend>(s: B) {
    // An imported row's addresses are stored under the store's own ids.
    let mut row = account("ann@example.com");
    row.addresses = AddressBook {
        addresses: vec![
            Address {
                id: AddressId(7001),
                ..address("Austin")
            },
            Address {
                id: AddressId(7002),
                ..address("Dallas")
            },
        ],
        default_billing: Some(AddressId(7002)),
        default_shipping: Some(AddressId(7001)),
    };
    let imported = s
        .import_batch(vec![row], OnConflict::Fail, NOW)
        .await
        .unwrap();
    let RowOutcome::Created(id) = imported[0].outcome else {
        panic!("{imported:?}");
    };
    let book = s.customer(id).await.unwrap().unwrap().addresses;
    let ids: Vec<AddressId> = book.addresses.iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.iter().all(|i| i.0 < 7001), "{ids:?}");
    assert_eq!(book.addresses[0].city.as_deref(), Some("Austin"));
    assert_eq!(book.default_billing, Some(ids[1]));
    assert_eq!(book.default_shipping, Some(ids[0]));
    // A customer edit (a profile change) leaves them as they are, and the next id follows.
    let edited = s
        .update_customer(Who::Id(id), |a| {
            a.customer.profile.firstname = Some("Annie".into());
            Change::Save((), Effects::default())
        })
        .await
        .unwrap();
    assert!(matches!(edited, Updated::Saved(..)), "{edited:?}");
    assert_eq!(s.customer(id).await.unwrap().unwrap().addresses, book);
    let (_, next) = done(
        s.edit_addresses(id, create_address("Waco", false, false, 100))
            .await
            .unwrap(),
    );
    assert!(next.0 > ids[1].0);
}

async fn a_customer_search_matches_email_or_name_in_any_case_within_its_bound<B: Backend>(s: B) {
    let named = |email: &str, first: Option<&str>, last: Option<&str>| {
        let mut a = account(email);
        a.customer.profile.firstname = first.map(Into::into);
        a.customer.profile.lastname = last.map(Into::into);
        a
    };
    let mut ids = Vec::new();
    for a in [
        named("ann@example.com", Some("Ann"), Some("Lee")),
        named("bob@example.com", Some("Bob"), Some("100%_Sure\\x")),
        named("carol@shop.test", None, None),
        named("ANNA@EXAMPLE.COM", None, None),
        named("dave@example.com", Some("Jo"), Some("Ann")),
        named("a_b@x.test", None, None),
        named("axb@x.test", None, Some("Lee")),
    ] {
        ids.push(create(&s, a).await.customer.id);
    }
    let search = |term: &'static str, after: CustomerId, limit: usize, examine: usize| {
        let s = s.clone();
        async move {
            let page = s
                .search_customers(term, after, limit, examine)
                .await
                .unwrap();
            let found: Vec<CustomerId> = page.found.iter().map(|a| a.customer.id).collect();
            (found, page.resume)
        }
    };
    let all = 100;
    let start = CustomerId(0);
    // Email or first, last or "first last" name, in any case, in id order.
    assert_eq!(
        search("ann", start, 10, all).await,
        (vec![ids[0], ids[3], ids[4]], None)
    );
    assert_eq!(
        search("ANN", start, 10, all).await,
        (vec![ids[0], ids[3], ids[4]], None)
    );
    assert_eq!(
        search("lee", start, 10, all).await,
        (vec![ids[0], ids[6]], None)
    );
    assert_eq!(
        search("ann lee", start, 10, all).await,
        (vec![ids[0]], None)
    );
    assert_eq!(search("jo ann", start, 10, all).await, (vec![ids[4]], None));
    // `%`, `_` and `\` are characters, not patterns.
    assert_eq!(search("a_b", start, 10, all).await, (vec![ids[5]], None));
    assert_eq!(search("%", start, 10, all).await, (vec![ids[1]], None));
    assert_eq!(
        search("0%_sure\\", start, 10, all).await,
        (vec![ids[1]], None)
    );
    assert_eq!(search("\\", start, 10, all).await, (vec![ids[1]], None));
    assert_eq!(search("nobody", start, 10, all).await, (vec![], None));
    // The empty term matches everyone; a full page resumes after its last match.
    assert_eq!(
        search("", start, 2, all).await,
        (vec![ids[0], ids[1]], Some(ids[1]))
    );
    assert_eq!(search("", ids[5], 2, all).await, (vec![ids[6]], None));
    // At most `examine` customers per call: a window that ends resumes after its last one.
    assert_eq!(
        search("ann", start, 10, 2).await,
        (vec![ids[0]], Some(ids[1]))
    );
    assert_eq!(
        search("ann", ids[1], 10, 2).await,
        (vec![ids[3]], Some(ids[3]))
    );
    assert_eq!(
        search("ann", ids[3], 10, 2).await,
        (vec![ids[4]], Some(ids[5]))
    );
    assert_eq!(search("ann", ids[5], 10, 2).await, (vec![], None));
    assert_eq!(search("nobody", start, 10, 3).await, (vec![], Some(ids[2])));
}

async fn the_login_as_customer_log_reads_typed_fields_newest_first_within_its_bound<B: Backend>(
    s: B,
) {
    let ann = create(&s, account("ann@example.com")).await.customer.id;
    let bob = create(&s, account("bob@example.com")).await.customer.id;
    let otc = |by: &str, reason: &str| {
        Some(OtcIssue {
            issued_by: by.into(),
            reason: reason.into(),
        })
    };
    // A reason may hold anything, "; reason: " too: it is a field, never parsed.
    let tricky = "call; reason: twice";
    let entries = [
        (NOW, "ops", "otc_issued", ann, otc("ops", tricky)),
        (NOW + 1, "ops", "customer_updated", ann, None),
        (NOW + 2, "customer", "otc_used", ann, otc("ops", tricky)),
        (NOW + 3, "sam", "otc_issued", bob, otc("sam", "ticket 7")),
    ];
    for (at, actor, action, subject, otc) in entries.clone() {
        s.append_audit(AuditEntry {
            at,
            actor: actor.into(),
            action: action.into(),
            subject: Some(subject),
            detail: Some("free text".into()),
            otc,
        })
        .await
        .unwrap();
    }
    let seqs: Vec<u64> = s.audit(0, 10).await.unwrap().iter().map(|e| e.0).collect();
    let line =
        |i: usize, action: LacAction, customer: CustomerId, by: &str, reason: &str| LacEntry {
            seq: seqs[i],
            at: entries[i].0,
            action,
            customer,
            customer_email: Some(
                if customer == ann {
                    "ann@example.com"
                } else {
                    "bob@example.com"
                }
                .into(),
            ),
            issued_by: by.into(),
            reason: reason.into(),
        };
    let e0 = line(0, LacAction::Issued, ann, "ops", tricky);
    let e2 = line(2, LacAction::Used, ann, "ops", tricky);
    let e3 = line(3, LacAction::Issued, bob, "sam", "ticket 7");
    let log = |filter: LacFilter, before: Option<u64>, limit: usize, examine: usize| {
        let s = s.clone();
        async move {
            let page = s.lac_log(&filter, before, limit, examine).await.unwrap();
            (page.found, page.resume)
        }
    };
    let every = LacFilter::default;
    assert_eq!(
        log(every(), None, 10, 100).await,
        (vec![e3.clone(), e2.clone(), e0.clone()], None)
    );
    let by_ops = LacFilter {
        issued_by: Some("ops".into()),
        ..every()
    };
    assert_eq!(
        log(by_ops, None, 10, 100).await,
        (vec![e2.clone(), e0.clone()], None)
    );
    let of_bob = LacFilter {
        customer: Some(bob),
        ..every()
    };
    assert_eq!(log(of_bob, None, 10, 100).await, (vec![e3.clone()], None));
    let used = LacFilter {
        action: Some(LacAction::Used),
        ..every()
    };
    assert_eq!(log(used, None, 10, 100).await, (vec![e2.clone()], None));
    let from = LacFilter {
        from: Some(NOW + 2),
        ..every()
    };
    assert_eq!(
        log(from, None, 10, 100).await,
        (vec![e3.clone(), e2.clone()], None)
    );
    let until = LacFilter {
        until: Some(NOW + 2),
        ..every()
    };
    assert_eq!(log(until, None, 10, 100).await, (vec![e0.clone()], None));
    // A full page resumes before its last line; a window of `examine` entries before its
    // oldest (the entry of another action counts as looked at).
    assert_eq!(
        log(every(), None, 1, 100).await,
        (vec![e3.clone()], Some(seqs[3]))
    );
    assert_eq!(
        log(every(), None, 10, 2).await,
        (vec![e3.clone(), e2.clone()], Some(seqs[2]))
    );
    assert_eq!(
        log(every(), Some(seqs[2]), 10, 2).await,
        (vec![e0.clone()], Some(seqs[0]))
    );
    assert_eq!(log(every(), Some(seqs[0]), 10, 2).await, (vec![], None));
    // A deleted customer's lines stay, without an email.
    assert!(s.delete_customer(bob, None).await.unwrap());
    let gone = LacEntry {
        customer_email: None,
        ..e3
    };
    assert_eq!(
        log(every(), None, 1, 100).await,
        (vec![gone], Some(seqs[3]))
    );
}

// The OpenID Connect provider's records.

fn signing_key(kid: &str, created_at: Timestamp) -> SigningKey {
    SigningKey {
        kid: kid.into(),
        alg: "RS256".into(),
        created_at,
        signs_from: created_at,
        published_until: None,
        public_jwk: serde_json::json!({"kty": "RSA", "kid": kid, "n": "AQAB", "e": "AQAB"}),
        sealed_private: kid.as_bytes().to_vec(),
    }
}

fn oidc_client(client_id: &str) -> OidcClient {
    OidcClient {
        client_id: client_id.into(),
        name: format!("{client_id} app"),
        secret_sha256: Some("ab".repeat(32)),
        first_party: false,
        redirect_uris: vec![format!("https://{client_id}.example/cb")],
        post_logout_redirect_uris: vec![],
        scopes: vec!["openid".into(), "email".into()],
        access_token_minutes: None,
        refresh_token_days: Some(30),
        created_at: NOW,
    }
}

fn browser_session(customer: CustomerId, sid: &str, expires_at: Timestamp) -> BrowserSession {
    BrowserSession {
        sid: sid.into(),
        customer,
        auth_time: NOW,
        amr: vec!["pwd".into()],
        created_at: NOW,
        last_seen: NOW,
        expires_at,
    }
}

fn code(customer: CustomerId, client: &str, sid: &str, expires_at: Timestamp) -> AuthorizationCode {
    AuthorizationCode {
        client_id: client.into(),
        customer,
        redirect_uri: format!("https://{client}.example/cb"),
        scope: "openid email".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: None,
        sid: sid.into(),
        auth_time: NOW - 5,
        amr: vec!["pwd".into()],
        expires_at,
        redeemed: None,
    }
}

/// What a grant issues: access token `[access; 32]` until `access_until` (its customer is the
/// grant's, filled in by the store), refresh token `[refresh; 32]`, the grant until
/// `grant_until`, audited as `oidc_tokens_issued`.
fn grant_issue(access: u8, refresh: u8, access_until: Timestamp, grant_until: Timestamp) -> Issue {
    Issue {
        access: token(access, CustomerId(0), access_until),
        refresh: Some([refresh; 32]),
        grant_expires_at: grant_until,
        audit: Some(entry("oidc_tokens_issued", None)),
    }
}

/// A redemption's decision: issues `grant_issue(access, refresh, …)` to a customer who exists.
fn accept_code(
    access: u8,
    refresh: u8,
    grant_until: Timestamp,
) -> impl Fn(&AuthorizationCode, Option<&Account>) -> Result<Issue, &'static str> + Send + 'static {
    move |_, account| match account {
        Some(_) => Ok(grant_issue(access, refresh, NOW + 3600, grant_until)),
        None => Err("no customer"),
    }
}

/// A refresh's decision, as `accept_code`.
fn accept_refresh(
    access: u8,
    refresh: u8,
) -> impl Fn(&Grant, Option<&Account>) -> Result<Issue, &'static str> + Send + 'static {
    move |grant, account| match account {
        Some(_) => Ok(grant_issue(access, refresh, NOW + 3600, grant.expires_at)),
        None => Err("no customer"),
    }
}

/// Saves a code `[code_byte; 32]` for `customer`'s session `sid` at `client` and redeems it,
/// issuing access `[access; 32]` and refresh `[refresh; 32]`; the grant.
async fn granted<B: Backend>(
    s: &B,
    customer: CustomerId,
    client: &str,
    sid: &str,
    (code_byte, access, refresh): (u8, u8, u8),
    grant_until: Timestamp,
) -> Grant {
    s.save_oidc_code([code_byte; 32], code(customer, client, sid, NOW + 60))
        .await
        .unwrap();
    match s
        .redeem_oidc_code(
            [code_byte; 32],
            NOW,
            accept_code(access, refresh, grant_until),
        )
        .await
        .unwrap()
    {
        Granted::Issued { grant, .. } => grant,
        other => panic!("{other:?}"),
    }
}

/// Whether access token `[byte; 32]` still works, through both of its reads.
async fn access_lives<B: Backend>(s: &B, byte: u8) -> bool {
    let plain = s.access_token(&[byte; 32]).await.unwrap().is_some();
    let oidc = s.oidc_access(&[byte; 32]).await.unwrap().is_some();
    assert_eq!(plain, oidc, "access token {byte}: its two reads disagree");
    plain
}

/// `n` reads at once, so that a pool has `n` connections open before a race.
async fn warm_up<B: Backend>(s: &B, n: usize) {
    let reads: Vec<_> = (0..n)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.oidc_keys().await.unwrap() })
        })
        .collect();
    for read in reads {
        read.await.unwrap();
    }
}

async fn oidc_the_first_key_wins_and_a_rotation_retires_the_old_one<B: Backend>(s: B) {
    assert!(s.oidc_keys().await.unwrap().is_empty());
    // Eight instances starting at once on an empty store: one key between them. (Eight
    // reads first, so that on PostgreSQL each racer finds a connection ready and none is
    // held back by a connect.)
    warm_up(&s, 8).await;
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let (s, start) = (s.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                s.add_oidc_key(signing_key(&format!("k{i}"), NOW), None, None)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.unwrap());
    }
    let kept = s.oidc_keys().await.unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        answers.iter().all(|a| *a == kept),
        "each was told the kept key: {answers:?}"
    );
    let first = kept[0].clone();
    // A later start finds it and adds nothing.
    assert_eq!(
        s.add_oidc_key(signing_key("k8", NOW + 1), None, None)
            .await
            .unwrap(),
        kept
    );

    // Rotated keys are named apart from the racers' (k0…k7), whichever of them won.
    let rotated = s
        .add_oidc_key(
            signing_key("r1", NOW + 10),
            Some(NOW + 100),
            Some(entry("oidc_key_rotated", None)),
        )
        .await
        .unwrap();
    let retired = SigningKey {
        published_until: Some(NOW + 100),
        ..first
    };
    assert_eq!(rotated, [retired.clone(), signing_key("r1", NOW + 10)]);
    assert_eq!(s.oidc_keys().await.unwrap(), rotated);
    // The next rotation retires only the key still signing.
    let again = s
        .add_oidc_key(signing_key("r2", NOW + 20), Some(NOW + 200), None)
        .await
        .unwrap();
    assert_eq!(
        again,
        [
            retired,
            SigningKey {
                published_until: Some(NOW + 200),
                ..signing_key("r1", NOW + 10)
            },
            signing_key("r2", NOW + 20),
        ]
    );
    assert_eq!(
        actions(&s.audit(0, 10).await.unwrap()),
        ["oidc_key_rotated"]
    );
}

async fn oidc_clients_are_created_once_listed_and_deleted_with_their_grants<B: Backend>(s: B) {
    let created = entry("oidc_client_created", None);
    assert!(s
        .create_oidc_client(oidc_client("shop"), created.clone())
        .await
        .unwrap());
    let mut taken = oidc_client("shop");
    taken.name = "another".into();
    assert!(!s.create_oidc_client(taken, created.clone()).await.unwrap());
    assert_eq!(
        s.oidc_client("shop").await.unwrap(),
        Some(oidc_client("shop")),
        "the first create stays"
    );
    assert!(s
        .create_oidc_client(oidc_client("app"), created)
        .await
        .unwrap());
    assert_eq!(
        s.oidc_clients().await.unwrap(),
        [oidc_client("app"), oidc_client("shop")],
        "by id"
    );
    assert_eq!(s.oidc_client("nobody").await.unwrap(), None);

    let ann = create(&s, account("ann@example.com")).await.customer.id;
    let shop = granted(&s, ann, "shop", "s1", (1, 10, 20), NOW + 1000).await;
    granted(&s, ann, "shop", "s1", (2, 11, 21), NOW + 1000).await;
    let app = granted(&s, ann, "app", "s1", (3, 12, 22), NOW + 1000).await;
    let (record, grant, account) = s.oidc_access(&[10; 32]).await.unwrap().unwrap();
    assert_eq!(record.customer_id, ann);
    assert_eq!((grant, account.customer.id), (shop, ann));

    let deleted = entry("oidc_client_deleted", None);
    assert!(s
        .delete_oidc_client("shop".into(), deleted.clone())
        .await
        .unwrap());
    assert!(!s.delete_oidc_client("shop".into(), deleted).await.unwrap());
    assert_eq!(s.oidc_client("shop").await.unwrap(), None);
    assert!(!access_lives(&s, 10).await, "the client's grants ended");
    assert!(!access_lives(&s, 11).await);
    let refresh = s
        .refresh_oidc([20; 32], NOW + 1, 30, accept_refresh(13, 23))
        .await
        .unwrap();
    assert!(matches!(refresh, Granted::Unknown), "{refresh:?}");
    assert!(access_lives(&s, 12).await, "the other client's grant stays");
    assert_eq!(s.oidc_access(&[12; 32]).await.unwrap().unwrap().1, app);
    assert_eq!(s.access_token_count().await.unwrap(), 1);
    let log = s.audit(0, 20).await.unwrap();
    let client_actions: Vec<&str> = actions(&log)
        .into_iter()
        .filter(|a| a.starts_with("oidc_client"))
        .collect();
    assert_eq!(
        client_actions,
        [
            "oidc_client_created",
            "oidc_client_created",
            "oidc_client_deleted"
        ],
        "a refused create or delete is not audited"
    );
}

async fn oidc_browser_sessions_are_created_read_touched_and_ended<B: Backend>(s: B) {
    let ann = create(&s, account("ann@example.com")).await.customer.id;
    let session = browser_session(ann, "s1", NOW + 600);
    s.create_browser_session(
        [1; 32],
        session.clone(),
        Some(entry("signed_in", Some(ann))),
    )
    .await
    .unwrap();
    s.create_browser_session([2; 32], browser_session(ann, "s2", NOW + 600), None)
        .await
        .unwrap();
    assert_eq!(
        s.browser_session(&[1; 32]).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(s.browser_session(&[9; 32]).await.unwrap(), None);

    assert!(s
        .touch_browser_session([1; 32], NOW + 30, NOW + 630)
        .await
        .unwrap());
    assert!(!s
        .touch_browser_session([9; 32], NOW + 30, NOW + 630)
        .await
        .unwrap());
    let touched = BrowserSession {
        last_seen: NOW + 30,
        expires_at: NOW + 630,
        ..session
    };
    assert_eq!(
        s.browser_session(&[1; 32]).await.unwrap(),
        Some(touched.clone())
    );

    // Grants: shop in s1, app in s1, shop in s2.
    granted(&s, ann, "shop", "s1", (1, 10, 20), NOW + 1000).await;
    granted(&s, ann, "app", "s1", (2, 11, 21), NOW + 1000).await;
    granted(&s, ann, "shop", "s2", (3, 12, 22), NOW + 1000).await;
    let ended = s
        .end_browser_session(
            [1; 32],
            Some("shop".into()),
            Some(entry("signed_out", Some(ann))),
        )
        .await
        .unwrap();
    assert_eq!(ended, Some(touched), "the session as it was");
    assert_eq!(s.browser_session(&[1; 32]).await.unwrap(), None);
    assert!(!access_lives(&s, 10).await, "shop's grant in s1 ended");
    assert!(access_lives(&s, 11).await, "app's grant in s1 stays");
    assert!(access_lives(&s, 12).await, "shop's grant in s2 stays");
    assert!(s.browser_session(&[2; 32]).await.unwrap().is_some());

    assert_eq!(
        s.end_browser_session([1; 32], None, Some(entry("signed_out", Some(ann))))
            .await
            .unwrap(),
        None
    );
    // Without a client, only the session ends.
    assert!(s
        .end_browser_session([2; 32], None, None)
        .await
        .unwrap()
        .is_some());
    assert!(access_lives(&s, 12).await);
    let log = s.audit(0, 20).await.unwrap();
    let session_actions: Vec<&str> = actions(&log)
        .into_iter()
        .filter(|a| a.starts_with("signed"))
        .collect();
    assert_eq!(session_actions, ["signed_in", "signed_out"]);
}

async fn oidc_a_code_is_redeemed_once_and_a_replay_ends_its_grant<B: Backend>(s: B) {
    let ann = create(&s, account("ann@example.com")).await;
    let id = ann.customer.id;
    let saved = code(id, "shop", "s1", NOW + 60);
    s.save_oidc_code([1; 32], saved.clone()).await.unwrap();
    let first = s
        .redeem_oidc_code([1; 32], NOW, accept_code(10, 20, NOW + 1000))
        .await
        .unwrap();
    let Granted::Issued { grant, account } = first else {
        panic!("{first:?}");
    };
    assert_eq!(
        grant,
        Grant {
            id: grant.id,
            client_id: "shop".into(),
            customer: id,
            scope: saved.scope.clone(),
            sid: "s1".into(),
            auth_time: saved.auth_time,
            amr: saved.amr.clone(),
            nonce: saved.nonce.clone(),
            created_at: NOW,
            expires_at: NOW + 1000,
        }
    );
    assert_eq!(*account, ann);
    let mut expected_token = token(10, id, NOW + 3600).record;
    expected_token.customer_id = id;
    assert_eq!(
        s.oidc_access(&[10; 32]).await.unwrap(),
        Some((expected_token, grant.clone(), ann.clone()))
    );
    assert_eq!(
        s.session(&[10; 32]).await.unwrap(),
        Some((expected_token, ann.clone())),
        "the access token is the grant's customer's"
    );
    assert_eq!(
        actions(&s.audit(0, 10).await.unwrap()),
        ["oidc_tokens_issued"]
    );

    for _ in 0..2 {
        let again = s
            .redeem_oidc_code([1; 32], NOW + 1, accept_code(11, 21, NOW + 1000))
            .await
            .unwrap();
        assert!(
            matches!(again, Granted::Replayed { grant: g } if g == grant.id),
            "{again:?}"
        );
    }
    assert!(!access_lives(&s, 10).await, "the replay ended the grant");
    assert!(!access_lives(&s, 11).await, "and issued nothing");
    let refresh = s
        .refresh_oidc([20; 32], NOW + 2, 30, accept_refresh(12, 22))
        .await
        .unwrap();
    assert!(matches!(refresh, Granted::Unknown), "{refresh:?}");
    assert_eq!(s.access_token_count().await.unwrap(), 0);
    assert_eq!(
        actions(&s.audit(0, 10).await.unwrap()),
        ["oidc_tokens_issued"]
    );
}

async fn oidc_an_expired_or_unknown_code_is_unknown<B: Backend>(s: B) {
    let id = create(&s, account("ann@example.com")).await.customer.id;
    s.save_oidc_code([1; 32], code(id, "shop", "s1", NOW + 60))
        .await
        .unwrap();
    let late = s
        .redeem_oidc_code([1; 32], NOW + 60, accept_code(10, 20, NOW + 1000))
        .await
        .unwrap();
    assert!(matches!(late, Granted::Unknown), "{late:?}");
    let unknown = s
        .redeem_oidc_code([2; 32], NOW, accept_code(11, 21, NOW + 1000))
        .await
        .unwrap();
    assert!(matches!(unknown, Granted::Unknown), "{unknown:?}");
    assert_eq!(s.access_token_count().await.unwrap(), 0);
    assert!(s.audit(0, 10).await.unwrap().is_empty());
    // Before its expiry the same code is still good: the late try spent nothing.
    let in_time = s
        .redeem_oidc_code([1; 32], NOW + 59, accept_code(12, 22, NOW + 1000))
        .await
        .unwrap();
    assert!(matches!(in_time, Granted::Issued { .. }), "{in_time:?}");
}

async fn oidc_a_refused_redemption_writes_nothing_and_the_code_stays_redeemable<B: Backend>(s: B) {
    let id = create(&s, account("ann@example.com")).await.customer.id;
    s.save_oidc_code([1; 32], code(id, "shop", "s1", NOW + 60))
        .await
        .unwrap();
    let refused = s
        .redeem_oidc_code(
            [1; 32],
            NOW,
            |c: &AuthorizationCode, _: Option<&Account>| {
                Err::<Issue, _>(format!("wrong redirect_uri for {}", c.client_id))
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(&refused, Granted::Refused(why) if why == "wrong redirect_uri for shop"),
        "{refused:?}"
    );
    assert_eq!(s.access_token_count().await.unwrap(), 0);
    assert!(s.audit(0, 10).await.unwrap().is_empty());
    let issued = s
        .redeem_oidc_code([1; 32], NOW, accept_code(10, 20, NOW + 1000))
        .await
        .unwrap();
    assert!(matches!(issued, Granted::Issued { .. }), "{issued:?}");
    assert!(access_lives(&s, 10).await);

    // A code whose customer is gone: the decision sees no customer.
    let bob = create(&s, account("bob@example.com")).await.customer.id;
    s.save_oidc_code([2; 32], code(bob, "shop", "s2", NOW + 60))
        .await
        .unwrap();
    assert!(s.delete_customer(bob, None).await.unwrap());
    let gone = s
        .redeem_oidc_code([2; 32], NOW, accept_code(11, 21, NOW + 1000))
        .await
        .unwrap();
    assert!(matches!(gone, Granted::Refused("no customer")), "{gone:?}");
}

async fn oidc_a_refresh_rotates_its_token_and_a_late_replay_ends_the_grant<B: Backend>(s: B) {
    let ann = create(&s, account("ann@example.com")).await;
    let id = ann.customer.id;
    let grant = granted(&s, id, "shop", "s1", (1, 10, 20), NOW + 1000).await;

    let refused = s
        .refresh_oidc([20; 32], NOW + 1, 30, |_: &Grant, _: Option<&Account>| {
            Err::<Issue, _>("consent withdrawn")
        })
        .await
        .unwrap();
    assert!(
        matches!(refused, Granted::Refused("consent withdrawn")),
        "{refused:?}"
    );
    let expired = s
        .refresh_oidc([20; 32], NOW + 1000, 30, accept_refresh(19, 29))
        .await
        .unwrap();
    assert!(matches!(expired, Granted::Unknown), "{expired:?}");
    let unknown = s
        .refresh_oidc([99; 32], NOW + 1, 30, accept_refresh(19, 29))
        .await
        .unwrap();
    assert!(matches!(unknown, Granted::Unknown), "{unknown:?}");
    assert!(!access_lives(&s, 19).await, "none of those issued anything");

    let rotated_at = NOW + 100;
    let renewed = s
        .refresh_oidc([20; 32], rotated_at, 30, accept_refresh(11, 21))
        .await
        .unwrap();
    let Granted::Issued {
        grant: same,
        account,
    } = renewed
    else {
        panic!("{renewed:?}");
    };
    assert_eq!((same, *account), (grant.clone(), ann));
    assert!(
        access_lives(&s, 10).await,
        "the first access token lives on"
    );
    assert!(access_lives(&s, 11).await);

    let raced = s
        .refresh_oidc([20; 32], rotated_at + 29, 30, accept_refresh(12, 22))
        .await
        .unwrap();
    assert!(matches!(raced, Granted::Raced), "{raced:?}");
    assert!(!access_lives(&s, 12).await, "a race issues nothing");
    assert!(access_lives(&s, 11).await, "and ends nothing");

    let replayed = s
        .refresh_oidc([20; 32], rotated_at + 30, 30, accept_refresh(13, 23))
        .await
        .unwrap();
    assert!(
        matches!(replayed, Granted::Replayed { grant: g } if g == grant.id),
        "{replayed:?}"
    );
    assert!(!access_lives(&s, 10).await, "the replay ended the grant");
    assert!(!access_lives(&s, 11).await);
    assert!(!access_lives(&s, 13).await);
    let next = s
        .refresh_oidc([21; 32], rotated_at + 31, 30, accept_refresh(14, 24))
        .await
        .unwrap();
    assert!(
        matches!(next, Granted::Unknown),
        "the rotated-to token went with its grant: {next:?}"
    );
    assert_eq!(s.access_token_count().await.unwrap(), 0);
}

async fn oidc_revoking_a_customers_tokens_ends_its_sessions_and_grants<B: Backend>(s: B) {
    let ann = create(&s, account("ann@example.com")).await.customer.id;
    let bob = create(&s, account("bob@example.com")).await.customer.id;
    s.create_browser_session([1; 32], browser_session(ann, "s1", NOW + 600), None)
        .await
        .unwrap();
    s.create_browser_session([2; 32], browser_session(bob, "s2", NOW + 600), None)
        .await
        .unwrap();
    granted(&s, ann, "shop", "s1", (1, 10, 20), NOW + 1000).await;
    granted(&s, bob, "shop", "s2", (2, 11, 21), NOW + 1000).await;
    issue(&s, ann, token(30, ann, NOW + 600)).await;

    assert_eq!(
        s.revoke_customer_tokens(ann).await.unwrap(),
        2,
        "her plain token and her grant's access token"
    );
    assert_eq!(s.browser_session(&[1; 32]).await.unwrap(), None);
    assert!(!access_lives(&s, 10).await);
    let refresh = s
        .refresh_oidc([20; 32], NOW + 1, 30, accept_refresh(12, 22))
        .await
        .unwrap();
    assert!(matches!(refresh, Granted::Unknown), "{refresh:?}");
    assert!(
        s.browser_session(&[2; 32]).await.unwrap().is_some(),
        "bob's stay"
    );
    assert!(access_lives(&s, 11).await);

    // A password change (an edit that revokes) and a delete end them too.
    s.create_browser_session([3; 32], browser_session(ann, "s3", NOW + 600), None)
        .await
        .unwrap();
    granted(&s, ann, "shop", "s3", (3, 13, 23), NOW + 1000).await;
    let updated = s
        .update_customer(Who::Id(ann), |c| {
            c.credentials.set_password("$argon2id$new".into());
            Change::Save(
                (),
                Effects {
                    revoke_tokens: true,
                    ..Effects::default()
                },
            )
        })
        .await
        .unwrap();
    assert!(matches!(updated, Updated::Saved(..)), "{updated:?}");
    assert_eq!(s.browser_session(&[3; 32]).await.unwrap(), None);
    assert!(!access_lives(&s, 13).await);
    assert!(s.delete_customer(bob, None).await.unwrap());
    assert_eq!(s.browser_session(&[2; 32]).await.unwrap(), None);
    assert!(!access_lives(&s, 11).await);
    let refresh = s
        .refresh_oidc([21; 32], NOW + 1, 30, accept_refresh(14, 24))
        .await
        .unwrap();
    assert!(matches!(refresh, Granted::Unknown), "{refresh:?}");
    assert_eq!(s.access_token_count().await.unwrap(), 0);
}

async fn oidc_the_sweep_purges_expired_codes_sessions_and_grants<B: Backend>(s: B) {
    let now = NOW + 100;
    let ann = create(&s, account("ann@example.com")).await.customer.id;
    // Codes 1 and 2 (redeemed) expire at NOW + 60, code 3 (not) at NOW + 500.
    let ending = granted(&s, ann, "shop", "s1", (1, 10, 20), now).await;
    let lasting = granted(&s, ann, "shop", "s1", (2, 11, 21), now + 1).await;
    s.save_oidc_code([3; 32], code(ann, "shop", "s1", NOW + 500))
        .await
        .unwrap();
    s.create_browser_session([1; 32], browser_session(ann, "s1", now), None)
        .await
        .unwrap();
    s.create_browser_session([2; 32], browser_session(ann, "s2", now + 1), None)
        .await
        .unwrap();

    let report = s.sweep(now, 100).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            oidc_codes: 2,
            browser_sessions: 1,
            oidc_grants: 1,
            ..SweepReport::default()
        }
    );
    assert_eq!(s.browser_session(&[1; 32]).await.unwrap(), None);
    assert!(s.browser_session(&[2; 32]).await.unwrap().is_some());
    assert!(
        !access_lives(&s, 10).await,
        "an ended grant's access token goes with it ({ending:?})"
    );
    assert!(access_lives(&s, 11).await, "{lasting:?}");
    let refresh = s
        .refresh_oidc([20; 32], NOW, 30, accept_refresh(12, 22))
        .await
        .unwrap();
    assert!(matches!(refresh, Granted::Unknown), "{refresh:?}");
    let replay = s
        .redeem_oidc_code([1; 32], NOW, accept_code(13, 23, now))
        .await
        .unwrap();
    assert!(
        matches!(replay, Granted::Unknown),
        "the purged code is gone: {replay:?}"
    );
    let live = s
        .redeem_oidc_code([3; 32], now, accept_code(14, 24, now + 1000))
        .await
        .unwrap();
    assert!(matches!(live, Granted::Issued { .. }), "{live:?}");
    assert_eq!(s.sweep(now, 100).await.unwrap(), SweepReport::default());

    // A small batch stops and says there is more.
    let first = s.sweep(now + 1000, 1).await.unwrap();
    assert!(first.more, "{first:?}");
}

async fn oidc_eight_concurrent_redemptions_of_one_code_issue_one_grant<B: Backend>(s: B) {
    let id = create(&s, account("ann@example.com")).await.customer.id;
    s.save_oidc_code([1; 32], code(id, "shop", "s1", NOW + 60))
        .await
        .unwrap();
    warm_up(&s, 8).await;
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let racers: Vec<_> = (0..8u8)
        .map(|i| {
            let (s, start) = (s.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                s.redeem_oidc_code([1; 32], NOW, accept_code(100 + i, 200 + i, NOW + 1000))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let (mut issued, mut replayed) = (Vec::new(), Vec::new());
    for racer in racers {
        match racer.await.unwrap() {
            Granted::Issued { grant, .. } => issued.push(grant.id),
            Granted::Replayed { grant } => replayed.push(grant),
            other => panic!("{other:?}"),
        }
    }
    // The first redemption issues; each of the seven after it finds the code redeemed and
    // ends (or finds ended) that one grant.
    assert_eq!(issued.len(), 1, "{issued:?} {replayed:?}");
    assert_eq!(replayed, vec![issued[0]; 7]);
    assert_eq!(
        s.access_token_count().await.unwrap(),
        0,
        "the replays ended the grant"
    );
    for i in 0..8u8 {
        assert!(!access_lives(&s, 100 + i).await);
    }
}

async fn oidc_eight_concurrent_refreshes_of_one_token_rotate_it_once<B: Backend>(s: B) {
    let id = create(&s, account("ann@example.com")).await.customer.id;
    let grant = granted(&s, id, "shop", "s1", (1, 10, 20), NOW + 1000).await;
    warm_up(&s, 8).await;
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let racers: Vec<_> = (0..8u8)
        .map(|i| {
            let (s, start) = (s.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let outcome = s
                    .refresh_oidc([20; 32], NOW + 1, 60, accept_refresh(100 + i, 200 + i))
                    .await
                    .unwrap();
                (i, outcome)
            })
        })
        .collect();
    let (mut issued, mut raced) = (Vec::new(), 0);
    for racer in racers {
        match racer.await.unwrap() {
            (i, Granted::Issued { grant: g, .. }) => {
                assert_eq!(g, grant);
                issued.push(i);
            }
            (_, Granted::Raced) => raced += 1,
            (_, other) => panic!("{other:?}"),
        }
    }
    // One rotates; the seven after it find the token rotated within the grace: refused, and
    // nothing ended.
    assert_eq!((issued.len(), raced), (1, 7), "{issued:?}");
    let winner = issued[0];
    assert_eq!(s.access_token_count().await.unwrap(), 2);
    assert!(access_lives(&s, 10).await);
    assert!(access_lives(&s, 100 + winner).await);
    let next = s
        .refresh_oidc([200 + winner; 32], NOW + 2, 60, accept_refresh(9, 19))
        .await
        .unwrap();
    assert!(matches!(next, Granted::Issued { .. }), "{next:?}");
}

// ---------------------------------------------------------------- passkeys

fn passkey(id: u8, name: &str) -> Passkey {
    Passkey {
        id: vec![id; 20],
        name: name.into(),
        created_at: NOW,
        last_used_at: None,
        counter: 3,
        backup_eligible: true,
        backup_state: false,
        transports: vec!["internal".into(), "hybrid".into()],
        credential: r#"{"cred_id":"x"}"#.into(),
    }
}

fn challenge(ceremony: Ceremony, expires_at: Timestamp) -> PasskeyChallenge {
    PasskeyChallenge {
        ceremony,
        state: r#"{"ast":{}}"#.into(),
        expires_at,
    }
}

async fn passkeys_read_back_with_their_customer_who_is_found_by_handle<B: Backend>(s: B) {
    let mut record = account("ann@example.com");
    record.credentials.passkey_handle = Some([7; 16]);
    record.credentials.passkeys = vec![passkey(1, "Phone")];
    let id = create(&s, record).await.customer.id;
    let other = create(&s, account("bob@example.com")).await.customer.id;
    assert_eq!(
        s.customer_id_by_passkey_handle(&[7; 16]).await.unwrap(),
        Some(id)
    );
    assert_eq!(
        s.customer_id_by_passkey_handle(&[8; 16]).await.unwrap(),
        None
    );

    // A second passkey, and a handle given to a customer by an edit.
    s.update_customer(Who::Id(id), |a| {
        let mut used = passkey(2, "Laptop");
        used.last_used_at = Some(NOW + 5);
        used.counter = 9;
        a.credentials.passkeys.push(used);
        Change::Save((), Effects::default())
    })
    .await
    .unwrap();
    s.update_customer(Who::Id(other), |a| {
        a.credentials.passkey_handle = Some([8; 16]);
        a.credentials.passkeys = vec![passkey(3, "Key")];
        Change::Save((), Effects::default())
    })
    .await
    .unwrap();
    let read = s.customer(id).await.unwrap().unwrap();
    assert_eq!(read.credentials.passkey_handle, Some([7; 16]));
    assert_eq!(read.credentials.passkeys.len(), 2);
    assert_eq!(read.credentials.passkeys[0], passkey(1, "Phone"));
    assert_eq!(read.credentials.passkeys[1].counter, 9);
    assert_eq!(read.credentials.passkeys[1].last_used_at, Some(NOW + 5));
    assert_eq!(
        s.customer_id_by_passkey_handle(&[8; 16]).await.unwrap(),
        Some(other)
    );

    // Deleting the customer takes the handle with it.
    assert!(s.delete_customer(id, None).await.unwrap());
    assert_eq!(
        s.customer_id_by_passkey_handle(&[7; 16]).await.unwrap(),
        None
    );
}

async fn a_passkey_challenge_is_taken_once_among_32_racers_and_not_after_expiry<B: Backend>(s: B) {
    let started = challenge(
        Ceremony::Register {
            owner: PasskeyOwner::Customer(CustomerId(4)),
            handle: [1; 16],
        },
        NOW + 300,
    );
    s.save_passkey_challenge([5; 32], started.clone())
        .await
        .unwrap();
    let mut racers = Vec::new();
    for _ in 0..32 {
        let s = s.clone();
        racers.push(tokio::spawn(async move {
            s.take_passkey_challenge([5; 32], NOW).await.unwrap()
        }));
    }
    let mut taken = Vec::new();
    for racer in racers {
        taken.extend(racer.await.unwrap());
    }
    assert_eq!(taken, vec![started]);

    // An expired challenge is not given, and is gone after the attempt.
    let admin = challenge(Ceremony::AdminSignIn { admin: None }, NOW + 10);
    s.save_passkey_challenge([6; 32], admin).await.unwrap();
    assert_eq!(
        s.take_passkey_challenge([6; 32], NOW + 10).await.unwrap(),
        None
    );
    assert_eq!(s.take_passkey_challenge([6; 32], NOW).await.unwrap(), None);
    assert_eq!(s.take_passkey_challenge([9; 32], NOW).await.unwrap(), None);
}

async fn expired_passkey_challenges_are_swept<B: Backend>(s: B) {
    s.save_passkey_challenge([1; 32], challenge(Ceremony::CustomerSignIn, NOW - 1))
        .await
        .unwrap();
    let live = challenge(Ceremony::CustomerSignIn, NOW + 300);
    s.save_passkey_challenge([2; 32], live.clone())
        .await
        .unwrap();
    let report = s.sweep(NOW, 100).await.unwrap();
    assert_eq!(report.passkey_challenges, 1);
    assert!(!report.more);
    assert_eq!(
        s.take_passkey_challenge([2; 32], NOW).await.unwrap(),
        Some(live)
    );
}

fn with_passkey(email: &str, handle: u8, id: u8) -> Account {
    let mut a = account(email);
    a.credentials.passkey_handle = Some([handle; 16]);
    a.credentials.passkeys = vec![passkey(id, "Phone")];
    a
}

async fn an_import_batch_refuses_a_passkey_handle_another_customer_holds<B: Backend>(s: B) {
    let ann = create(&s, with_passkey("ann@example.com", 7, 1))
        .await
        .customer
        .id;
    let dan = create(&s, account("dan@example.com")).await;
    // Ann's handle on a new customer and on one without passkeys (whom an update would give
    // them), and one new handle twice in one batch: refused, decided the same in a dry run.
    let rows = vec![
        with_passkey("bob@example.com", 7, 2),
        with_passkey("dan@example.com", 7, 3),
        with_passkey("cy@example.com", 8, 4),
        with_passkey("eve@example.com", 8, 5),
    ];
    let dry = import::dry_run(&s, &rows, OnConflict::Update, NOW)
        .await
        .unwrap();
    let outcomes: Vec<RowOutcome> = dry.iter().map(|i| i.outcome).collect();
    assert_eq!(
        outcomes[..2],
        [
            RowOutcome::PasskeyHandleTaken,
            RowOutcome::PasskeyHandleTaken
        ]
    );
    let done = s.import_batch(rows, OnConflict::Update, NOW).await.unwrap();
    let RowOutcome::Created(cy) = done[2].outcome else {
        panic!("{done:?}");
    };
    let outcomes: Vec<RowOutcome> = done.iter().map(|i| i.outcome).collect();
    assert_eq!(
        outcomes,
        [
            RowOutcome::PasskeyHandleTaken,
            RowOutcome::PasskeyHandleTaken,
            RowOutcome::Created(cy),
            RowOutcome::PasskeyHandleTaken,
        ]
    );
    // Nothing of a refused row is written, and each handle still finds its holder.
    for email in ["bob@example.com", "eve@example.com"] {
        assert!(
            s.customer_by_email(email).await.unwrap().is_none(),
            "{email}"
        );
    }
    assert_eq!(
        s.customer_by_email("dan@example.com")
            .await
            .unwrap()
            .as_ref(),
        Some(&dan)
    );
    assert_eq!(
        s.customer_id_by_passkey_handle(&[7; 16]).await.unwrap(),
        Some(ann)
    );
    assert_eq!(
        s.customer_id_by_passkey_handle(&[8; 16]).await.unwrap(),
        Some(cy)
    );
    // Dan with a handle of his own gets his passkey; ann keeps hers whatever a row brings.
    let done = s
        .import_batch(
            vec![
                with_passkey("dan@example.com", 9, 6),
                with_passkey("ann@example.com", 10, 7),
            ],
            OnConflict::Update,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(done[0].outcome, RowOutcome::Updated(dan.customer.id));
    assert_eq!(done[1].outcome, RowOutcome::Skipped(ann));
    assert_eq!(
        s.customer_id_by_passkey_handle(&[9; 16]).await.unwrap(),
        Some(dan.customer.id)
    );
    assert_eq!(
        s.customer_id_by_passkey_handle(&[10; 16]).await.unwrap(),
        None
    );
    let kept = s.customer(ann).await.unwrap().unwrap().credentials;
    assert_eq!(
        (kept.passkey_handle, kept.passkeys[0].id.clone()),
        (Some([7; 16]), vec![1; 20])
    );
}
