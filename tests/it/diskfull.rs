//! A full disk under the redb file (issue 23, finding 7): a write that cannot be stored is
//! refused as unavailable (503 with `Retry-After` in each dialect), nothing acknowledged is
//! lost and nothing refused is half there, reads go on, and writes resume by themselves once
//! space is freed, with no restart.
//!
//! Two ways to fill the disk: storage that fails writes with ENOSPC once a byte budget is
//! spent (always runs), and a real small tmpfs that `.ci/run` mounts (ignored unless asked for).

use crate::outage::{
    assert_commerce_unavailable, assert_storefront_unavailable, post, SF_CUSTOMER, SF_PATH,
    SF_SIGN_IN,
};
use crate::support::*;
use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::{self, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storekey::auth::storefront_tokens::WRITE_CUSTOMERS;
use storekey::model::Account;
use storekey::store::Backend as _;
use storekey::store::{Created, RedbStore, Store, StoreError};

const DISK_FULL: &str = "storage unavailable: the disk is full (No space left on device (os error 28)); writes are refused until space is freed";

/// A disk for one database file that holds `left` more blocks of 4 KiB and then fails a write
/// that needs a new one with ENOSPC, as a file system does. Shared by every open of the file.
#[derive(Debug)]
struct Disk {
    left: AtomicU64,
    /// Blocks of the file written so far: writing one again needs no space, unless
    /// `overwrites_need_space` (a copy-on-write file system such as btrfs or ZFS).
    written: Mutex<HashSet<u64>>,
    overwrites_need_space: bool,
}

const BLOCK: u64 = 4096;

impl Disk {
    fn new(overwrites_need_space: bool) -> Arc<Disk> {
        Arc::new(Disk {
            left: AtomicU64::new(u64::MAX),
            written: Mutex::new(HashSet::new()),
            overwrites_need_space,
        })
    }

    fn fill(&self) {
        self.left.store(0, Ordering::SeqCst);
    }

    fn free(&self) {
        self.left.store(u64::MAX, Ordering::SeqCst);
    }

    /// Takes the blocks `offset..offset + len` needs, or fails with ENOSPC taking none.
    fn take(&self, offset: u64, len: u64) -> io::Result<()> {
        let mut written = self.written.lock().unwrap();
        let blocks = offset / BLOCK..(offset + len).div_ceil(BLOCK);
        let new = if self.overwrites_need_space {
            blocks.end - blocks.start
        } else {
            blocks.clone().filter(|b| !written.contains(b)).count() as u64
        };
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(new)
            })
            // ENOSPC, with the text a real full disk gives.
            .map_err(|_| io::Error::from_raw_os_error(28))?;
        written.extend(blocks);
        Ok(())
    }

    /// Blocks past a shrunk end are given back.
    fn shrink(&self, len: u64) {
        let mut written = self.written.lock().unwrap();
        let before = written.len();
        written.retain(|&b| b * BLOCK < len);
        let freed = (before - written.len()) as u64;
        let _ = self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                Some(left.saturating_add(freed))
            });
    }
}

/// The database file on a [`Disk`].
#[derive(Debug)]
struct Budgeted {
    file: FileBackend,
    disk: Arc<Disk>,
}

impl Budgeted {
    fn open(path: &Path, disk: Arc<Disk>) -> io::Result<Budgeted> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let file = FileBackend::new(file).map_err(io::Error::other)?;
        Ok(Budgeted { file, disk })
    }
}

impl StorageBackend for Budgeted {
    fn len(&self) -> io::Result<u64> {
        self.file.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.file.read(offset, out)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        // Growing leaves a hole, which takes no blocks until written.
        self.disk.shrink(len);
        self.file.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.disk.take(offset, data.len() as u64)?;
        self.file.write(offset, data)
    }
    fn close(&self) -> io::Result<()> {
        self.file.close()
    }
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }
    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }
    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }
    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }
    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }
    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}

async fn sign_up(store: &Store, email: &str) -> Result<(), StoreError> {
    let mut account = Account::default();
    account.customer.email = email.into();
    match store.create_customer(account, None).await? {
        Created::Created(_) => Ok(()),
        Created::EmailTaken => panic!("{email} was taken"),
    }
}

/// Reads `email` until a read answers, at most `within`: every failed read in between must be
/// unavailable. Returns how long it took and how many reads failed.
async fn read_until_it_answers(store: &Store, email: &str, within: Duration) -> (Duration, u32) {
    let start = Instant::now();
    let mut failed = 0;
    loop {
        match store.customer_by_email(email).await {
            Ok(found) => {
                assert!(found.is_some(), "{email} is gone");
                return (start.elapsed(), failed);
            }
            Err(e) => {
                assert!(e.is_unavailable(), "a read failed with {e}");
                failed += 1;
                assert!(start.elapsed() < within, "reads fail for {within:?}: {e}");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

/// Each of `stored` is there and none of `refused`, and nothing else.
async fn assert_holds_exactly(store: &Store, stored: &[String], refused: &[String]) {
    for email in stored {
        assert!(
            store.customer_by_email(email).await.unwrap().is_some(),
            "acknowledged {email} was lost"
        );
    }
    for email in refused {
        assert!(
            store.customer_by_email(email).await.unwrap().is_none(),
            "refused {email} was stored"
        );
    }
    assert_eq!(
        store.customer_count().await.unwrap(),
        stored.len() as u64,
        "customers besides the acknowledged ones"
    );
}

/// What became of each sign-up: acknowledged, or refused because the disk is full.
#[derive(Default)]
struct Outcomes {
    stored: Vec<String>,
    refused: Vec<String>,
}

impl Outcomes {
    /// Signs `email` up; a refusal must be the disk-full one and come promptly.
    async fn sign_up(&mut self, store: &Store, email: String) -> bool {
        let asked = Instant::now();
        let outcome = sign_up(store, &email).await;
        assert!(
            asked.elapsed() < Duration::from_secs(3),
            "an answer took {:?}",
            asked.elapsed()
        );
        match outcome {
            Ok(()) => {
                self.stored.push(email);
                true
            }
            Err(e) => {
                assert!(e.is_unavailable(), "{e}");
                assert_eq!(e.to_string(), DISK_FULL);
                self.refused.push(email);
                false
            }
        }
    }
}

/// A store over a file on `disk`, with three customers.
async fn store_on(disk: &Arc<Disk>, path: &Path) -> (RedbStore, Store, Outcomes) {
    let redb = {
        let (path, disk) = (path.to_path_buf(), disk.clone());
        RedbStore::open_with_backend(move || Budgeted::open(&path, disk.clone())).unwrap()
    };
    let store = Store::from(redb.clone());
    let mut outcomes = Outcomes::default();
    for i in 0..3 {
        assert!(
            outcomes
                .sign_up(&store, format!("before{i}@example.com"))
                .await
        );
    }
    (redb, store, outcomes)
}

/// Frees the disk and signs up until a write is stored again: how long that took.
async fn free_and_resume(disk: &Disk, store: &Store, outcomes: &mut Outcomes) -> Duration {
    disk.free();
    let freed = Instant::now();
    for i in 0.. {
        if outcomes
            .sign_up(store, format!("after{i}@example.com"))
            .await
        {
            break;
        }
        assert!(
            freed.elapsed() < Duration::from_secs(5),
            "writes do not resume"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let resumed = freed.elapsed();
    assert!(outcomes.sign_up(store, "later@example.com".into()).await);
    resumed
}

/// Every acknowledged sign-up is there and no refused one, now and after the file is opened
/// again as a plain file once the store is gone.
async fn assert_kept(redb: RedbStore, store: Store, path: &Path, outcomes: &Outcomes) {
    assert_holds_exactly(&store, &outcomes.stored, &outcomes.refused).await;
    drop(store);
    drop(redb);
    let again = Store::from(RedbStore::open(path).unwrap());
    assert_holds_exactly(&again, &outcomes.stored, &outcomes.refused).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_writes_as_unavailable_reads_go_on_and_writes_resume_when_space_is_freed(
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let disk = Disk::new(false);
    let (redb, store, mut outcomes) = store_on(&disk, &path).await;

    // The disk fills up. A write that fits in blocks the file already has is stored; the
    // first that needs a new block is refused.
    disk.fill();
    let mut i = 0;
    while outcomes
        .sign_up(&store, format!("full{i}@example.com"))
        .await
    {
        i += 1;
        assert!(i < 1000, "a thousand writes fit on a full disk");
    }
    eprintln!("{i} sign-ups fitted on the full disk before one was refused");
    // Reads right after: redb has latched the failure, so until the writer has reopened the
    // file a read may be refused as unavailable (never another error, never a wrong answer).
    let (window, failed_reads) =
        read_until_it_answers(&store, "before0@example.com", Duration::from_secs(5)).await;
    eprintln!("reads after the failed write: answered after {window:?}, {failed_reads} refused");

    // While the disk stays full, writes are refused promptly: at once while the writer waits
    // to try again, and after a real attempt once it has. Reads go on.
    let full_since = Instant::now();
    while full_since.elapsed() < Duration::from_millis(1500) {
        outcomes
            .sign_up(&store, format!("full{i}@example.com"))
            .await;
        i += 1;
        let (window, failed_reads) =
            read_until_it_answers(&store, "before1@example.com", Duration::from_secs(5)).await;
        if failed_reads > 0 {
            eprintln!("a read on the full disk answered after {window:?}, {failed_reads} refused");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reopens = redb.stats().reopens.load(Ordering::Relaxed);
    assert!(reopens >= 1, "reopened {reopens} times");
    assert!(
        outcomes.refused.len() >= 3,
        "{} refused",
        outcomes.refused.len()
    );

    let resumed = free_and_resume(&disk, &store, &mut outcomes).await;
    eprintln!(
        "writes resumed {resumed:?} after space was freed; {} reopens, {} writes refused",
        redb.stats().reopens.load(Ordering::Relaxed),
        outcomes.refused.len()
    );
    assert_kept(redb, store, &path, &outcomes).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn when_reopening_needs_space_too_reads_are_refused_until_space_is_freed() {
    // A copy-on-write file system (btrfs, ZFS) needs a new block even to rewrite one, so
    // redb cannot open the file again (the open marks it in use) while the disk is full.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let disk = Disk::new(true);
    let (redb, store, mut outcomes) = store_on(&disk, &path).await;

    disk.fill();
    assert!(!outcomes.sign_up(&store, "full@example.com".into()).await);
    // A read may still answer from redb's cache until the writer has closed the database
    // (right after it answered the write); from then on, while the writer keeps trying to
    // reopen it, reads and writes are refused promptly.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let full_since = Instant::now();
    let mut i = 0;
    while full_since.elapsed() < Duration::from_millis(800) {
        match store.customer_by_email("before0@example.com").await {
            Err(e) => assert!(e.is_unavailable(), "{e}"),
            Ok(found) => panic!("a read answered while the file could not be opened: {found:?}"),
        }
        assert!(
            !outcomes
                .sign_up(&store, format!("full{i}@example.com"))
                .await
        );
        i += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(redb.stats().reopens.load(Ordering::Relaxed), 0);

    let resumed = free_and_resume(&disk, &store, &mut outcomes).await;
    eprintln!("copy-on-write disk: writes resumed {resumed:?} after space was freed");
    assert_eq!(redb.stats().reopens.load(Ordering::Relaxed), 1);
    let (_, failed_reads) =
        read_until_it_answers(&store, "before0@example.com", Duration::from_secs(1)).await;
    assert_eq!(failed_reads, 0);
    assert_kept(redb, store, &path, &outcomes).await;
}

// ---------------------------------------------------------------- a real full file system

const SIGN_UP: &str = "mutation($e:String!,$p:String!){ createCustomerV2(input:{firstname:\"Bob\", lastname:\"Loblaw\", email:$e, password:$p}) { customer { email } } }";
const SIGN_IN: &str =
    "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e, password:$p) { token } }";

/// Fills the file system under `path` with one file, to the last byte it takes.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let mut written = 0;
    for chunk in [1 << 20, 4096, 1] {
        let bytes = vec![0xa5u8; chunk];
        loop {
            match file.write(&bytes) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.kind() == io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
    }
    written
}

/// Asks `ask(i)` with i = 0, 1, … until an answer is not a 200 without errors (on a full disk
/// a write that fits in pages the file already has is stored; the next that needs a new one
/// is not). Returns the answer and the `i`s that were answered 200.
async fn until_refused<F, Fut>(mut ask: F) -> ((u16, Option<String>, Value), Vec<usize>)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = (u16, Option<String>, Value)>,
{
    let mut ok = Vec::new();
    for i in 0..1000 {
        let answer = ask(i).await;
        if answer.0 != 200 || answer.2.get("errors").is_some() {
            return (answer, ok);
        }
        ok.push(i);
    }
    panic!("a thousand writes were all stored on a full disk");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a small tmpfs in STOREKEY_DISKFULL_DIR; .ci/run mounts one and runs it alone"]
async fn a_full_file_system_answers_503_in_each_dialect_reads_go_on_and_writes_resume() {
    if redb_only("a full file system under the redb file") {
        return;
    }
    let dir = PathBuf::from(std::env::var("STOREKEY_DISKFULL_DIR").expect(
        "STOREKEY_DISKFULL_DIR: a directory on a small tmpfs (mount -t tmpfs -o size=16m tmpfs DIR)",
    ));
    let db = dir.join("storekey.redb");
    let filler = dir.join("filler");
    for old in [&db, &filler] {
        let _ = std::fs::remove_file(old);
    }
    let mut s =
        TestServer::start_with(|c| c.storage.path = db.to_string_lossy().into_owned()).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let token = s.token(BOB, BOB_PASSWORD).await;
    let sf_token = s.storefront_token(&[WRITE_CUSTOMERS]).await;
    let sf_header = || Some(("X-Shopify-Storefront-Access-Token", sf_token.clone()));
    let bearer = || Some(("Authorization", format!("Bearer {token}")));
    let credentials = json!({"e": BOB, "p": BOB_PASSWORD});
    let email = |i: usize| format!("full{i}@example.com");

    let filled = fill(&filler);
    eprintln!("filler: {filled} bytes");

    // Sign-up, then sign-in in each dialect, on the full disk.
    let (answer, ok) = until_refused(|i| {
        post(
            &s,
            "/graphql",
            None,
            SIGN_UP,
            json!({"e": email(i), "p": BOB_PASSWORD}),
        )
    })
    .await;
    eprintln!(
        "{} sign-ups stored on the full disk before one was refused",
        ok.len()
    );
    assert_commerce_unavailable("sign-up on a full disk", answer);
    let mut stored: Vec<String> = ok.iter().map(|&i| email(i)).collect();
    stored.push(BOB.into());
    let mut refused = vec![email(ok.len())];
    let (answer, _) =
        until_refused(|_| post(&s, "/graphql", None, SIGN_IN, credentials.clone())).await;
    assert_commerce_unavailable("sign-in on a full disk", answer);
    let (answer, _) =
        until_refused(|_| post(&s, SF_PATH, sf_header(), SF_SIGN_IN, credentials.clone())).await;
    assert_storefront_unavailable("sign-in on a full disk", answer);

    // A token check is a read: it answers (after the writer's reopen, a few ms at most).
    let checked = Instant::now();
    let mut refused_reads = 0;
    loop {
        let answer = post(
            &s,
            "/graphql",
            bearer(),
            "{ customer { email } }",
            json!({}),
        )
        .await;
        if answer.0 == 200 {
            assert_eq!(answer.2["data"]["customer"]["email"], BOB, "{}", answer.2);
            break;
        }
        assert_commerce_unavailable("token check on a full disk", answer);
        refused_reads += 1;
        assert!(
            checked.elapsed() < Duration::from_secs(5),
            "token checks keep failing"
        );
    }
    let (status, _, body) = post(&s, SF_PATH, sf_header(), SF_CUSTOMER, json!({"t": token})).await;
    assert_eq!(
        (status, &body["data"]["customer"]["email"]),
        (200, &json!(BOB)),
        "{body}"
    );
    eprintln!(
        "token check on the full disk: answered after {:?}, {refused_reads} refused",
        checked.elapsed()
    );

    // Space is freed: writes resume by themselves.
    std::fs::remove_file(&filler).unwrap();
    let freed = Instant::now();
    for i in 0.. {
        let email = format!("after{i}@example.com");
        let answer = post(
            &s,
            "/graphql",
            None,
            SIGN_UP,
            json!({"e": email, "p": BOB_PASSWORD}),
        )
        .await;
        if answer.0 == 200 {
            assert_eq!(
                answer.2["data"]["createCustomerV2"]["customer"]["email"],
                email.as_str()
            );
            stored.push(email);
            break;
        }
        assert_commerce_unavailable("sign-up after space was freed", answer);
        refused.push(email);
        assert!(
            freed.elapsed() < Duration::from_secs(5),
            "writes do not resume"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "writes resumed {:?} after the filler was deleted",
        freed.elapsed()
    );
    let (status, _, body) = post(&s, SF_PATH, sf_header(), SF_SIGN_IN, credentials.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"]["customerAccessTokenCreate"]["customerAccessToken"]["accessToken"].is_string(),
        "{body}"
    );
    assert_holds_exactly(s.store(), &stored, &refused).await;
    // The operator sees the reopens in /metrics.
    let metrics = s.metrics().await;
    let reopens = metrics
        .lines()
        .find_map(|l| l.strip_prefix("storekey_store_reopens "))
        .and_then(|n| n.trim().parse::<u64>().ok());
    assert!(
        reopens.is_some_and(|n| n >= 1),
        "{reopens:?} in:\n{metrics}"
    );

    // The file opens cleanly after the server stops, with the same contents and tokens.
    // A fresh client: with this one's pooled keep-alive connections, shutdown waited its full
    // drain timeout (10 s) in about half the runs (reported; not a matter of the full disk).
    s.http = reqwest::Client::new();
    s.restart().await;
    assert_holds_exactly(s.store(), &stored, &refused).await;
    let (status, body) = s.whoami(&token).await;
    assert_eq!(
        (status, &body["data"]["customer"]["email"]),
        (200, &json!(BOB)),
        "{body}"
    );
    s.stop().await;
    let _ = std::fs::remove_file(&db);
}
