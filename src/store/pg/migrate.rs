//! The schema as numbered SQL files embedded in the binary, a `schema_migrations` table of the
//! versions applied, and migrate-at-start: each instance brings the database to its version
//! under the `migrate` lease, so instances starting together apply each migration once and
//! none starts on a half-made schema. Each migration is one transaction, all DDL or all DML.

use super::lease::CREATE_LEASES;
use super::{new_holder_id, PgError, Postgres, Retry};
use std::time::{Duration, Instant};
use tokio_postgres::error::SqlState;

/// One file of `migrations/`, `NNNN_name.sql`.
#[derive(Debug)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first; a new one is appended with the next version.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "schema",
        sql: include_str!("migrations/0001_schema.sql"),
    },
    Migration {
        version: 2,
        name: "meta_rows",
        sql: include_str!("migrations/0002_meta_rows.sql"),
    },
    Migration {
        version: 3,
        name: "admin",
        sql: include_str!("migrations/0003_admin.sql"),
    },
    Migration {
        version: 4,
        name: "mail_limits",
        sql: include_str!("migrations/0004_mail_limits.sql"),
    },
    Migration {
        version: 5,
        name: "activation",
        sql: include_str!("migrations/0005_activation.sql"),
    },
    Migration {
        version: 6,
        name: "addresses",
        sql: include_str!("migrations/0006_addresses.sql"),
    },
    Migration {
        version: 7,
        name: "lac_fields",
        sql: include_str!("migrations/0007_lac_fields.sql"),
    },
    Migration {
        version: 8,
        name: "lac_backfill",
        sql: include_str!("migrations/0008_lac_backfill.sql"),
    },
    Migration {
        version: 9,
        name: "oidc",
        sql: include_str!("migrations/0009_oidc.sql"),
    },
    Migration {
        version: 10,
        name: "login_codes",
        sql: include_str!("migrations/0010_login_codes.sql"),
    },
    Migration {
        version: 11,
        name: "email_verified",
        sql: include_str!("migrations/0011_email_verified.sql"),
    },
    Migration {
        version: 12,
        name: "email_verified_backfill",
        sql: include_str!("migrations/0012_email_verified_backfill.sql"),
    },
    Migration {
        version: 13,
        name: "passkeys",
        sql: include_str!("migrations/0013_passkeys.sql"),
    },
];

const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INT4 PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

const LEASE: &str = "migrate";
/// Renewed before each migration; a migrator that dies is taken over after this long.
const LEASE_TTL: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);
/// Longest wait for another instance's migrations before giving up with an error.
const WAIT_LIMIT: Duration = Duration::from_secs(600);

/// What one call to [`Postgres::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions this call applied (none when the schema was current or another instance did it).
    pub applied: Vec<i32>,
    /// The schema's version afterwards.
    pub version: i32,
}

impl Postgres {
    /// Brings the schema to this build's version. Safe to run from several instances at once
    /// and again on a current schema (then it takes no lease and changes nothing). Refuses a
    /// schema newer than this build.
    pub async fn migrate(&self) -> Result<MigrationReport, PgError> {
        let latest = MIGRATIONS.last().map_or(0, |m| m.version);
        self.create_bookkeeping_tables().await?;
        if pending(&self.applied_versions().await?)?.is_empty() {
            return Ok(MigrationReport {
                applied: Vec::new(),
                version: latest,
            });
        }
        let holder = new_holder_id();
        let started = Instant::now();
        let mut announced = false;
        while !self.take_lease(LEASE, &holder, LEASE_TTL).await? {
            if started.elapsed() > WAIT_LIMIT {
                return Err(PgError::Migration(format!(
                    "another instance has held the migration lease for over {} s; if none is running, delete the row name = 'migrate' from the leases table",
                    WAIT_LIMIT.as_secs()
                )));
            }
            if !announced {
                tracing::info!("waiting for another instance to finish migrating the database");
                announced = true;
            }
            tokio::time::sleep(POLL).await;
        }
        let result = self.apply_pending(&holder).await;
        if let Err(e) = self.give_up_lease(LEASE, &holder).await {
            tracing::warn!(error = %e, "could not release the migration lease; it expires by itself");
        }
        result
    }

    /// `leases` and `schema_migrations`, before any lease can be taken. Instances creating the
    /// same table at once collide in the catalog (`IF NOT EXISTS` checks before it inserts:
    /// 23505 on a catalog index, 42710 on the row type, or 42P07); the loser's next attempt
    /// finds the table there.
    async fn create_bookkeeping_tables(&self) -> Result<(), PgError> {
        let mut attempt = 1;
        loop {
            let created = self
                .transaction(Retry::CONFLICTS_AND_UNIQUE, |tx| {
                    Box::pin(async move {
                        tx.batch_execute(CREATE_LEASES).await?;
                        tx.batch_execute(CREATE_SCHEMA_MIGRATIONS).await?;
                        Ok(())
                    })
                })
                .await;
            match created {
                Err(e)
                    if attempt < 5
                        && matches!(
                            e.code(),
                            Some(c) if *c == SqlState::DUPLICATE_OBJECT || *c == SqlState::DUPLICATE_TABLE
                        ) =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The versions recorded in `schema_migrations`, in order.
    pub async fn applied_versions(&self) -> Result<Vec<i32>, PgError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .await?;
        rows.iter()
            .map(|row| row.try_get::<_, i32>(0).map_err(PgError::from))
            .collect()
    }

    /// Under the lease: applies what is still missing (another holder may have done some).
    async fn apply_pending(&self, holder: &str) -> Result<MigrationReport, PgError> {
        let mut applied = Vec::new();
        for migration in pending(&self.applied_versions().await?)? {
            if !self.take_lease(LEASE, holder, LEASE_TTL).await? {
                return Err(PgError::Migration(format!(
                    "lost the migration lease to another instance before migration {:04}",
                    migration.version
                )));
            }
            self.transaction(Retry::CONFLICTS, |tx| {
                Box::pin(async move {
                    tx.batch_execute(migration.sql).await?;
                    tx.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        &[&migration.version, &migration.name],
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
            .map_err(|e| {
                PgError::Migration(format!(
                    "migration {:04}_{}: {e}",
                    migration.version, migration.name
                ))
            })?;
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "applied database migration"
            );
            applied.push(migration.version);
        }
        Ok(MigrationReport {
            applied,
            version: MIGRATIONS.last().map_or(0, |m| m.version),
        })
    }
}

/// The migrations not in `done`, oldest first; an error when `done` holds a version this build
/// does not know (a newer build migrated the database).
fn pending(done: &[i32]) -> Result<Vec<&'static Migration>, PgError> {
    if let Some(unknown) = done
        .iter()
        .find(|v| !MIGRATIONS.iter().any(|m| m.version == **v))
    {
        return Err(PgError::Migration(format!(
            "the database has schema migration {unknown:04}, which this build does not know (it knows up to {:04}): run a storekey at least as new as the one that migrated it",
            MIGRATIONS.last().map_or(0, |m| m.version)
        )));
    }
    Ok(MIGRATIONS
        .iter()
        .filter(|m| !done.contains(&m.version))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements of a migration file, comments dropped.
    fn statements(sql: &str) -> Vec<String> {
        let text: String = sql
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        text.split(';')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    #[test]
    fn versions_count_up_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i32 + 1, "{}", m.name);
        }
    }

    #[test]
    fn no_migration_mixes_ddl_and_dml() {
        for m in MIGRATIONS {
            let kinds: std::collections::BTreeSet<bool> = statements(m.sql)
                .iter()
                .map(|s| {
                    let first = s.split_whitespace().next().unwrap_or("").to_uppercase();
                    matches!(first.as_str(), "CREATE" | "ALTER" | "DROP")
                })
                .collect();
            assert_eq!(kinds.len(), 1, "migration {} mixes DDL and DML", m.name);
        }
    }

    #[test]
    fn integer_widths_are_spelled_out_and_no_advisory_lock_is_used() {
        for m in MIGRATIONS {
            for s in statements(m.sql) {
                let upper = s.to_uppercase();
                for word in upper.split(|c: char| !c.is_ascii_alphanumeric() && c != '_') {
                    assert!(
                        !matches!(word, "INT" | "INTEGER" | "SERIAL" | "BIGINT" | "SMALLINT"),
                        "migration {}: {word} in {s}",
                        m.name
                    );
                }
                assert!(!upper.contains("ADVISORY"), "migration {}", m.name);
            }
        }
    }

    #[test]
    fn a_schema_from_a_newer_build_is_refused() {
        let all: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(pending(&[]).unwrap().len(), MIGRATIONS.len());
        assert!(pending(&all).unwrap().is_empty());
        let newer: Vec<i32> = all.iter().copied().chain([99]).collect();
        let e = pending(&newer).unwrap_err().to_string();
        assert!(
            e.starts_with("the database has schema migration 0099"),
            "{e}"
        );
    }
}
