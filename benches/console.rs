//! The console's list pages as store reads, on a redb file with 100,000 customers and 100,000
//! Login as Customer log entries: one search page and one log page (the core's bounded reads,
//! `auth::console_queries`), beside what the pages read before (every customer for a search,
//! the whole audit log for a log page). `cargo bench --bench console`. Prints a table.

use std::time::Instant;
use storekey::auth::console_queries::{LOG_EXAMINE, SEARCH_EXAMINE};
use storekey::model::{Account, AuditEntry, CustomerId, LacFilter, OtcIssue};
use storekey::store::copy::Row;
use storekey::store::{Backend, RedbStore};

const CUSTOMERS: u64 = 100_000;
const LOG: u64 = 100_000;
const RUNS: usize = 21;

/// The median of `RUNS` timings of `f` in milliseconds, and what its last run returned.
async fn median<T, F: std::future::Future<Output = T>>(mut f: impl FnMut() -> F) -> (f64, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = f().await;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        last = Some(out);
    }
    times.sort_by(f64::total_cmp);
    (times[RUNS / 2], last.expect("RUNS > 0"))
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = RedbStore::open(&dir.path().join("console.redb")).expect("open");
    let fill = Instant::now();
    for start in (1..=CUSTOMERS).step_by(5000) {
        let rows = (start..start + 5000)
            .map(|n| {
                let mut a = Account::default();
                a.customer.id = CustomerId(n);
                a.customer.email = format!("customer{n}@example.com");
                a.customer.profile.firstname = Some(format!("First{n}"));
                a.customer.profile.lastname = Some("Lastname".into());
                a.customer.created_at = 1_800_000_000;
                Row::Customer(Box::new(a))
            })
            .collect();
        s.load_page(rows).await.expect("customers");
    }
    for start in (1..=LOG).step_by(5000) {
        let rows = (start..start + 5000)
            .map(|n| {
                let admin = if n % 1000 == 0 { "rare" } else { "ops" };
                let used = n % 2 == 0;
                Row::Audit(
                    n,
                    AuditEntry {
                        at: 1_800_000_000 + n as i64,
                        actor: if used { "customer" } else { admin }.into(),
                        action: if used { "otc_used" } else { "otc_issued" }.into(),
                        subject: Some(CustomerId(1 + n % CUSTOMERS)),
                        detail: Some(format!("ticket {n}")),
                        otc: Some(OtcIssue {
                            issued_by: admin.into(),
                            reason: format!("ticket {n}"),
                        }),
                    },
                )
            })
            .collect();
        s.load_page(rows).await.expect("log");
    }
    s.finish_load().await.expect("finish");
    println!(
        "filled {CUSTOMERS} customers and {LOG} log entries in {:.1} s",
        fill.elapsed().as_secs_f64()
    );
    println!();
    println!("| page | read | rows looked at | rows shown | median ms ({RUNS} runs) |");
    println!("|---|---|---:|---:|---:|");
    let row = |page: &str, read: &str, looked: String, shown: usize, ms: f64| {
        println!("| {page} | {read} | {looked} | {shown} | {ms:.2} |");
    };

    // Search, a common term: the page fills within the first customers.
    let (ms, p) =
        median(|| s.search_customers("customer", CustomerId(0), 26, SEARCH_EXAMINE)).await;
    let p = p.expect("search");
    row(
        "search \"customer\"",
        "search_customers",
        "26".into(),
        p.found.len(),
        ms,
    );
    // Search, a term one customer matches, at the end: the read stops at its bound.
    let (ms, p) =
        median(|| s.search_customers("customer99999@", CustomerId(0), 26, SEARCH_EXAMINE)).await;
    let p = p.expect("search");
    row(
        "search \"customer99999@\"",
        "search_customers",
        format!("{SEARCH_EXAMINE}"),
        p.found.len(),
        ms,
    );
    // Before: every customer, 500 a read, filtered in the adapter.
    let (ms, n) = median(|| async {
        let (mut after, mut seen, mut hits) = (CustomerId(0), 0, 0);
        loop {
            let batch = s.customers(after, 500).await.expect("customers");
            let Some(last) = batch.last().map(|a| a.customer.id) else {
                break;
            };
            seen += batch.len();
            hits += batch
                .iter()
                .filter(|a| a.customer.email.contains("customer99999@"))
                .count();
            after = last;
        }
        (seen, hits)
    })
    .await;
    row(
        "search \"customer99999@\" (before)",
        "customers(after, 500) to the end",
        n.0.to_string(),
        n.1,
        ms,
    );

    // The log, newest first, unfiltered: 51 lines.
    let every = LacFilter::default();
    let (ms, p) = median(|| s.lac_log(&every, None, 51, LOG_EXAMINE)).await;
    let p = p.expect("log");
    row("log, no filter", "lac_log", "51".into(), p.found.len(), ms);
    // Filtered by an admin with one line in a thousand: the read stops at its bound.
    let rare = LacFilter {
        issued_by: Some("rare".into()),
        ..LacFilter::default()
    };
    let (ms, p) = median(|| s.lac_log(&rare, None, 51, LOG_EXAMINE)).await;
    let p = p.expect("log");
    row(
        "log, admin=rare",
        "lac_log",
        format!("{LOG_EXAMINE}"),
        p.found.len(),
        ms,
    );
    // Before: the whole audit log, 1000 a read, parsed and filtered in the adapter.
    let (ms, n) = median(|| async {
        let (mut after, mut seen, mut hits) = (0, 0, 0);
        loop {
            let page = s.audit(after, 1000).await.expect("audit");
            let Some(last) = page.last().map(|(seq, _)| *seq) else {
                break;
            };
            seen += page.len();
            hits += page
                .iter()
                .filter(|(_, e)| e.otc.as_ref().is_some_and(|o| o.issued_by == "rare"))
                .count();
            after = last;
        }
        (seen, hits)
    })
    .await;
    row(
        "log, admin=rare (before)",
        "audit(after, 1000) to the end",
        n.0.to_string(),
        n.1,
        ms,
    );
}
