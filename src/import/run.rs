//! `storekey import`: streams a file through `open`, turns each row into an account, writes
//! them in batches (one store write each, `Store::import_batch`), and counts everything into a
//! JSON report that names lines and reasons, never a password or a hash.

use super::{Format, ImportRow, ImportedPassword, ReadOptions, RowProblem};
use crate::auth::secret::Secret;
use crate::auth::Auth;
use crate::model::passkey::UserHandle;
use crate::model::{email_key, Account, Credentials, Customer, CustomerId, Timestamp};
use crate::store::import::{Imported, OnConflict, RowOutcome};
use crate::store::Backend as _;
use crate::store::Store;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Reset mails `--send-reset` queues per second: well under common SMTP relay limits, and the
/// same per-email limits as `requestPasswordResetEmail` apply on top.
pub const RESETS_PER_SECOND: u32 = 10;

/// Lines listed in each of the report's lists; the counts go on past it.
pub const MAX_LISTED: usize = 1000;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub path: PathBuf,
    pub format: Option<Format>,
    pub on_conflict: OnConflict,
    pub dry_run: bool,
    /// Rows per store write.
    pub batch: usize,
    pub send_reset: bool,
    /// Draw a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
}

/// A line of the file and what happened to it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LineNote {
    pub line: u64,
    pub reason: String,
}

/// The JSON report (`--report`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub file: String,
    pub format: &'static str,
    pub dry_run: bool,
    pub on_conflict: &'static str,
    /// Every row the file holds, valid or not (blank rows aside).
    pub rows_read: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub invalid: u64,
    /// `--on-conflict fail`: the row that stopped the import.
    pub conflicts: u64,
    /// Valid rows by what they bring for the password: a scheme, `none`, `plaintext`,
    /// `unsupported`.
    pub hashes: BTreeMap<&'static str, u64>,
    pub invalid_rows: Vec<LineNote>,
    pub skipped_rows: Vec<LineNote>,
    /// Values dropped from rows that were still imported (an unusable hash, a bad date…).
    pub warnings: Vec<LineNote>,
    /// Whether a list above stopped at `MAX_LISTED` lines.
    pub lists_truncated: bool,
    pub reset_mails_queued: u64,
    /// Set when the import stopped before the end of the file (a conflict, a read error).
    pub stopped_at_line: Option<u64>,
    pub seconds: f64,
}

impl Report {
    fn note(&mut self, list: fn(&mut Report) -> &mut Vec<LineNote>, line: u64, reason: String) {
        let l = list(self);
        if l.len() < MAX_LISTED {
            l.push(LineNote { line, reason });
        } else {
            self.lists_truncated = true;
        }
    }

    /// One line for the terminal.
    pub fn summary(&self) -> String {
        format!(
            "{}{} rows read: {} created, {} updated, {} skipped, {} invalid{}",
            if self.dry_run {
                "dry run, nothing written: "
            } else {
                ""
            },
            self.rows_read,
            self.created,
            self.updated,
            self.skipped,
            self.invalid,
            if self.conflicts > 0 {
                format!(
                    ", stopped by a conflict at line {}",
                    self.stopped_at_line.unwrap_or(0)
                )
            } else {
                String::new()
            }
        )
    }
}

/// How an import ended: the report, and why it failed if it did (exit status non-zero).
pub struct Finished {
    pub report: Report,
    pub failure: Option<String>,
}

/// A row on its way to the store.
struct Pending {
    line: u64,
    account: Account,
}

/// Runs an import. `Err` when the file cannot be opened or read as any format, or the store
/// fails; otherwise the report, with `failure` set for a conflict under `fail` or a read error
/// part-way.
pub async fn import(
    auth: &Arc<Auth>,
    store: &Store,
    opts: &ImportOptions,
) -> Result<Finished, String> {
    let started = Instant::now();
    let shown = opts.path.display().to_string();
    let file = std::fs::File::open(&opts.path).map_err(|e| format!("{shown}: {e}"))?;
    let length = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut rows = super::open(file, opts.format, &ReadOptions::default())
        .map_err(|e| format!("{shown}: {e}"))?;
    let mut report = Report {
        file: shown,
        format: rows.format().name(),
        dry_run: opts.dry_run,
        on_conflict: match opts.on_conflict {
            OnConflict::Skip => "skip",
            OnConflict::Update => "update",
            OnConflict::Fail => "fail",
        },
        ..Report::default()
    };
    let bar = progress_bar(opts.progress, length);
    // First line of each email in the file (16 bytes of its key's SHA-256): a later row with
    // the same email is skipped in a dry run and a real one alike, so both count the same.
    let mut seen: HashMap<[u8; 16], u64> = HashMap::new();
    let mut handles: HashMap<UserHandle, u64> = HashMap::new();
    let mut batch: Vec<Pending> = Vec::with_capacity(opts.batch);
    let mut created: Vec<CustomerId> = Vec::new();
    let mut failure = None;
    let now = auth.now();
    while let Some(next) = rows.next() {
        report.rows_read += 1;
        let row = match next {
            Ok(row) => row,
            Err(e) => {
                report.invalid += 1;
                report.note(|r| &mut r.invalid_rows, e.line, e.problem.to_string());
                if let RowProblem::Io(_) = e.problem {
                    report.stopped_at_line = Some(e.line);
                    failure = Some(format!("{}: {e}", report.file));
                    break;
                }
                continue;
            }
        };
        let key = email_digest(&row.email);
        if let Some(first) = seen.get(&key) {
            report.skipped += 1;
            let reason = format!("email already on line {first} of the file");
            report.note(|r| &mut r.skipped_rows, row.line, reason);
            continue;
        }
        // A user handle finds one customer: a second row with the same handle is refused here,
        // in a dry run and a real one alike (the store refuses one another customer holds).
        if let Some(handle) = row.passkey_handle {
            if let Some(first) = handles.get(&handle) {
                report.invalid += 1;
                let reason = format!("passkey_handle already on line {first} of the file");
                report.note(|r| &mut r.invalid_rows, row.line, reason);
                continue;
            }
            handles.insert(handle, row.line);
        }
        seen.insert(key, row.line);
        *report.hashes.entry(row.password.label()).or_insert(0) += 1;
        let line = row.line;
        let account = to_account(auth, row, now, opts.dry_run, &mut report).await;
        batch.push(Pending { line, account });
        if batch.len() >= opts.batch {
            let stop = flush(store, &mut batch, opts, now, &mut report, &mut created).await?;
            bar.set_position(rows.bytes_read());
            bar.set_message(rate(report.rows_read, started));
            if let Some(stop) = stop {
                failure = Some(stop);
                break;
            }
        }
    }
    // The rows read before a read error are still written (after a conflict none are left).
    if let Some(stop) = flush(store, &mut batch, opts, now, &mut report, &mut created).await? {
        failure.get_or_insert(stop);
    }
    bar.finish_and_clear();
    if opts.send_reset && !opts.dry_run {
        report.reset_mails_queued = send_resets(auth, &created).await;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(Finished { report, failure })
}

/// Writes (or, in a dry run, decides) the pending rows and counts their outcomes. Returns why
/// the import must stop, if it must.
async fn flush(
    store: &Store,
    batch: &mut Vec<Pending>,
    opts: &ImportOptions,
    now: Timestamp,
    report: &mut Report,
    created: &mut Vec<CustomerId>,
) -> Result<Option<String>, String> {
    if batch.is_empty() {
        return Ok(None);
    }
    let pending = std::mem::take(batch);
    let lines: Vec<u64> = pending.iter().map(|p| p.line).collect();
    let accounts: Vec<Account> = pending.into_iter().map(|p| p.account).collect();
    let outcomes: Vec<Imported> = if opts.dry_run {
        crate::store::import::dry_run(store, &accounts, opts.on_conflict, now).await
    } else {
        store.import_batch(accounts, opts.on_conflict, now).await
    }
    .map_err(|e| e.to_string())?;
    for (line, imported) in lines.iter().zip(&outcomes) {
        if imported.identifier_taken {
            let reason = "multipass_identifier belongs to another customer, left out".to_string();
            report.note(|r| &mut r.warnings, *line, reason);
        }
        match imported.outcome {
            RowOutcome::Created(id) => {
                report.created += 1;
                if opts.send_reset {
                    created.push(id);
                }
            }
            RowOutcome::Updated(_) => report.updated += 1,
            RowOutcome::Skipped(_) => {
                report.skipped += 1;
                let reason = "email already in the store".to_string();
                report.note(|r| &mut r.skipped_rows, *line, reason);
            }
            RowOutcome::PasskeyHandleTaken => {
                report.invalid += 1;
                let reason =
                    "passkey_handle belongs to another customer in the store; row not imported"
                        .to_string();
                report.note(|r| &mut r.invalid_rows, *line, reason);
            }
            RowOutcome::Conflict(_) => {
                report.conflicts += 1;
                report.stopped_at_line = Some(*line);
                let reason = "email already in the store (--on-conflict fail)".to_string();
                report.note(|r| &mut r.skipped_rows, *line, reason);
                return Ok(Some(format!(
                    "line {line}: the email is already in the store; stopped (--on-conflict fail): rows before it were imported"
                )));
            }
        }
    }
    Ok(None)
}

/// The account a row describes. A plaintext password is hashed here (not in a dry run); an
/// unusable hash leaves the customer without a password, with a warning.
async fn to_account(
    auth: &Auth,
    row: ImportRow,
    now: Timestamp,
    dry_run: bool,
    report: &mut Report,
) -> Account {
    let line = row.line;
    for w in &row.warnings {
        report.note(|r| &mut r.warnings, line, w.to_string());
    }
    let password_hash = match row.password {
        ImportedPassword::None => None,
        ImportedPassword::Hash { stored, .. } => Some(stored.expose().to_owned()),
        ImportedPassword::Unsupported(e) => {
            let reason = format!("password hash not imported: {e}");
            report.note(|r| &mut r.warnings, line, reason);
            None
        }
        ImportedPassword::Plaintext(pw) if !dry_run => {
            hash_plaintext(auth, &pw, line, report).await
        }
        ImportedPassword::Plaintext(_) => None,
    };
    Account {
        customer: Customer {
            id: CustomerId(0),
            email: row.email,
            profile: row.profile,
            created_at: row.created_at.unwrap_or(now),
            updated_at: now,
            confirmed: row.confirmed,
            email_verified: row.email_verified.unwrap_or(row.confirmed),
            disabled: row.disabled,
            allow_remote_shopping_assistance: row.allow_remote_shopping_assistance,
            multipass_identifier: row.multipass_identifier,
            tags: row.tags,
        },
        credentials: Credentials {
            password_hash,
            passkey_handle: row.passkey_handle,
            passkeys: row.passkeys,
            ..Credentials::default()
        },
        addresses: row.addresses,
    }
}

async fn hash_plaintext(
    auth: &Auth,
    pw: &Secret,
    line: u64,
    report: &mut Report,
) -> Option<String> {
    match auth.passwords.hash(pw).await {
        Ok(h) => Some(h),
        Err(e) => {
            report.note(
                |r| &mut r.warnings,
                line,
                format!("password not hashed: {e:?}"),
            );
            None
        }
    }
}

/// Queues one reset mail per created customer through the core's reset use case, at
/// `RESETS_PER_SECOND`, then waits (boundedly) for the mails to reach the transport.
async fn send_resets(auth: &Arc<Auth>, created: &[CustomerId]) -> u64 {
    let interval = Duration::from_secs(1) / RESETS_PER_SECOND;
    let mut ticks = tokio::time::interval(interval);
    let mut queued = 0u64;
    let handed = || {
        ["sent", "failed"]
            .iter()
            .map(|outcome| {
                auth.metrics
                    .mails
                    .get_or_create(&crate::metrics::OutcomeLabels { outcome })
                    .get()
            })
            .sum::<u64>()
    };
    let before = handed();
    for id in created {
        ticks.tick().await;
        let Ok(Some(customer)) = auth.customer(*id).await else {
            continue;
        };
        if customer.disabled {
            continue;
        }
        match auth.request_password_reset(&customer.email, None).await {
            Ok(true) => queued += 1,
            Ok(false) => tracing::warn!(customer = id.0, "reset mail not queued: rate-limited"),
            Err(e) => tracing::warn!(customer = id.0, "reset mail not queued: {e}"),
        }
    }
    // The mails go out in the background; the process must not end before they have.
    let deadline = Instant::now() + Duration::from_secs(30);
    while handed() - before < queued && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    queued
}

fn email_digest(email: &str) -> [u8; 16] {
    let full = ring::digest::digest(&ring::digest::SHA256, email_key(email).as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&full.as_ref()[..16]);
    out
}

fn rate(rows: u64, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64().max(0.001);
    format!("{rows} rows, {:.0} rows/s", rows as f64 / secs)
}

/// A bar over the file's bytes (no counting pass), with rows, rows/s and ETA; hidden when
/// stderr is not a terminal.
fn progress_bar(wanted: bool, length: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(length);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {msg} ETA {eta}")
    {
        bar.set_style(style);
    }
    bar
}
