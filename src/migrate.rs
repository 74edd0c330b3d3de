//! `storekey migrate --from <store> --to <store>`: copies every record from one store to
//! another (redb file or PostgreSQL, either way), table by table in keyset pages, one write
//! transaction per page on the target, then moves the target's id sequences past what was
//! copied and compares the row counts of both sides.

use crate::config::{resolve_tls, DatabaseUrl, StorageBackend, StorageConfig, TlsChoice};
use crate::store::copy::{Counts, Key, Row, Table};
use crate::store::Backend as _;
use crate::store::{Store, StoreError};
use std::path::{Path, PathBuf};

/// Rows read and written per page (one target transaction each).
pub const PAGE: usize = 1000;

/// A store named on the command line: a `postgres://` / `postgresql://` URL, or a redb path.
#[derive(Debug, Clone)]
pub enum Endpoint {
    Redb(PathBuf),
    Postgres(DatabaseUrl),
}

impl Endpoint {
    pub fn parse(text: &str) -> Endpoint {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Endpoint::Postgres(DatabaseUrl::new(text))
        } else {
            Endpoint::Redb(PathBuf::from(text))
        }
    }

    /// Whether both name the same store: the same file (through any path), or the same
    /// connection string.
    pub fn same_as(&self, other: &Endpoint) -> bool {
        match (self, other) {
            (Endpoint::Redb(a), Endpoint::Redb(b)) => {
                a == b
                    || matches!(
                        (std::fs::canonicalize(a), std::fs::canonicalize(b)),
                        (Ok(x), Ok(y)) if x == y
                    )
            }
            (Endpoint::Postgres(a), Endpoint::Postgres(b)) => a.expose() == b.expose(),
            _ => false,
        }
    }

    /// For PostgreSQL, the TLS mode the connection will use and where it comes from (the URL's
    /// sslmode, else `storage.tls`), or why the URL's sslmode is not one.
    pub fn tls(&self, storage: &StorageConfig) -> Option<Result<TlsChoice, String>> {
        match self {
            Endpoint::Redb(_) => None,
            Endpoint::Postgres(url) => {
                Some(resolve_tls(url.expose(), storage.tls).map(|(choice, _)| choice))
            }
        }
    }

    /// Opens the store (a redb file is created when missing; PostgreSQL is migrated to this
    /// build's schema). `storage` gives the PostgreSQL client settings (TLS, CA file).
    pub async fn open(&self, storage: &StorageConfig) -> Result<Store, String> {
        let config = match self {
            Endpoint::Redb(path) => StorageConfig {
                backend: StorageBackend::Redb,
                path: path.to_string_lossy().into_owned(),
                ..storage.clone()
            },
            Endpoint::Postgres(url) => StorageConfig {
                backend: StorageBackend::Postgres,
                url: Some(url.clone()),
                ..storage.clone()
            },
        };
        Store::open(&config)
            .await
            .map_err(|e| format!("{self}: {e}"))
    }
}

/// The redb path, or the URL with its password hidden.
impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Redb(p) => write!(f, "{}", p.display()),
            Endpoint::Postgres(url) => write!(f, "{url}"),
        }
    }
}

/// Why nothing (or not everything) was copied.
#[derive(Debug)]
pub enum MigrateError {
    /// `--from` and `--to` name one store.
    SameStore(String),
    /// The target holds rows and `--force` was not given.
    NotEmpty(String, Box<Counts>),
    Store(StoreError),
}

impl std::fmt::Display for MigrateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MigrateError::SameStore(s) => {
                write!(f, "--from and --to are the same store ({s}); nothing to migrate")
            }
            MigrateError::NotEmpty(s, c) => write!(
                f,
                "the target {s} is not empty ({} customers, {} access tokens, {} storefront tokens, {} replay records, {} audit entries, {} OpenID Connect clients); pass --force to copy into it anyway",
                c.customers, c.access_tokens, c.storefront_tokens, c.replay, c.audit, c.oidc_clients
            ),
            MigrateError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for MigrateError {
    fn from(e: StoreError) -> Self {
        MigrateError::Store(e)
    }
}

/// What a finished copy found: each side's counts, and what the target held before.
#[derive(Debug, Clone)]
pub struct Report {
    pub source: Counts,
    pub target_before: Counts,
    pub target: Counts,
}

impl Report {
    /// The tables whose target count is not the source's (plus what the target held before).
    pub fn mismatches(&self) -> Vec<Table> {
        Table::ALL
            .into_iter()
            .filter(|t| self.target.get(*t) != self.source.get(*t) + self.target_before.get(*t))
            .collect()
    }

    /// The count check as printed: one line per table.
    pub fn lines(&self) -> Vec<String> {
        let forced = !self.target_before.is_empty();
        Table::ALL
            .into_iter()
            .map(|t| {
                let (s, d, b) = (
                    self.source.get(t),
                    self.target.get(t),
                    self.target_before.get(t),
                );
                let verdict = if d == s + b { "ok" } else { "MISMATCH" };
                if forced {
                    format!(
                        "{:<18} source {s:>9}  target {d:>9} (had {b})  {verdict}",
                        t.name()
                    )
                } else {
                    format!("{:<18} source {s:>9}  target {d:>9}  {verdict}", t.name())
                }
            })
            .collect()
    }
}

/// Checks the two stores may be copied between (not one store, an empty target unless
/// `force`), opening neither twice.
pub fn check_endpoints(from: &Endpoint, to: &Endpoint) -> Result<(), MigrateError> {
    if from.same_as(to) {
        return Err(MigrateError::SameStore(to.to_string()));
    }
    Ok(())
}

/// Copies every row of `source` into `target`; `progress` is called after each page with the
/// rows copied so far and the total to copy. Returns the count check's figures.
pub async fn copy(
    source: &Store,
    target: &Store,
    target_name: &str,
    force: bool,
    mut progress: impl FnMut(u64, u64),
) -> Result<Report, MigrateError> {
    let target_before = target.counts().await?;
    if !force && !target_before.is_empty() {
        return Err(MigrateError::NotEmpty(
            target_name.to_string(),
            Box::new(target_before),
        ));
    }
    let source_counts = source.counts().await?;
    let total: u64 = Table::ALL.iter().map(|t| source_counts.get(*t)).sum();
    // Into a target that already has an audit log (only with --force), the copied entries go
    // after its last one, in their order.
    let audit_offset = if target_before.audit > 0 {
        last_audit_seq(target).await?
    } else {
        0
    };
    let mut done = 0u64;
    progress(done, total);
    for table in Table::ALL {
        let mut after = Key::Start;
        loop {
            let mut page = source.dump_page(table, &after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.key();
            if audit_offset > 0 {
                for row in &mut page {
                    if let Row::Audit(seq, _) = row {
                        *seq += audit_offset;
                    }
                }
            }
            done += page.len() as u64;
            target.load_page(page).await?;
            progress(done, total);
        }
    }
    target.finish_load().await?;
    Ok(Report {
        source: source_counts,
        target_before,
        target: target.counts().await?,
    })
}

async fn last_audit_seq(store: &Store) -> Result<u64, StoreError> {
    let mut last = 0;
    loop {
        let page = store.audit(last, PAGE).await?;
        match page.last() {
            Some((seq, _)) => last = *seq,
            None => return Ok(last),
        }
    }
}

/// A redb source must exist: opening a missing one would create an empty file.
pub fn check_source_exists(from: &Endpoint) -> Result<(), String> {
    match from {
        Endpoint::Redb(p) if !Path::new(p).is_file() => {
            Err(format!("{}: no such database file", p.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_postgresql_and_shows_without_its_password() {
        let pg = Endpoint::parse("postgresql://storekey:hunter2@db.internal/storekey");
        assert!(matches!(pg, Endpoint::Postgres(_)));
        assert_eq!(
            pg.to_string(),
            "postgresql://storekey:<hidden>@db.internal/storekey"
        );
        assert!(matches!(
            Endpoint::parse("postgres://h/d"),
            Endpoint::Postgres(_)
        ));
        assert!(matches!(
            Endpoint::parse("data/storekey.redb"),
            Endpoint::Redb(_)
        ));
        let err = check_endpoints(&pg, &pg.clone()).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
