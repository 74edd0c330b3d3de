//! The three CSV formats: Magento's admin export, a `customer_entity` dump (CSV, or TSV from
//! `mysql --batch` with its backslash escapes and `NULL`), and Shopify's customer export.
//! Columns are found by header name, so their order and extra columns do not matter.

use super::{checked_email, fields, Format, ImportRow, OpenError, RowError, RowProblem};
use crate::auth::legacy_hash::Limits;
use std::borrow::Cow;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The longest record read. A CSV record has no length bound of its own: one unclosed quote
/// turns the rest of the file into a single field, which the csv crate would hold in memory.
pub const MAX_RECORD: u64 = 1 << 20;

/// Read-ahead allowed past `MAX_RECORD`: the csv reader's buffer runs ahead of its position.
const READ_AHEAD: u64 = 256 * 1024;

/// The input, refusing to be read past `limit` bytes (which the reader moves on before each
/// record), so a runaway record fails instead of filling memory.
pub(super) struct Bounded<R> {
    inner: R,
    read: u64,
    limit: Arc<AtomicU64>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.limit.load(Ordering::Relaxed).saturating_sub(self.read);
        if left == 0 && !buf.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a record longer than {MAX_RECORD} bytes (an unclosed quote?)"),
            ));
        }
        let take = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..take])?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Where each field is in a record, found from the header.
#[derive(Default)]
struct Columns {
    email: Option<usize>,
    website: Option<usize>,
    website_id: Option<usize>,
    source_id: Option<usize>,
    firstname: Option<usize>,
    lastname: Option<usize>,
    middlename: Option<usize>,
    prefix: Option<usize>,
    suffix: Option<usize>,
    dob: Option<usize>,
    gender: Option<usize>,
    taxvat: Option<usize>,
    confirmation: Option<usize>,
    is_active: Option<usize>,
    created_at: Option<usize>,
    password_hash: Option<usize>,
    password: Option<usize>,
    phone: Option<usize>,
    address_phone: Option<usize>,
    accepts_marketing: Option<usize>,
    tags: Option<usize>,
}

impl Columns {
    fn from_header(names: &[String], format: Format) -> Columns {
        let find = |candidates: &[&str]| {
            candidates
                .iter()
                .find_map(|want| names.iter().position(|n| n == want))
        };
        match format {
            Format::ShopifyCsv => Columns {
                email: find(&["email"]),
                source_id: find(&["customer id"]),
                firstname: find(&["first name"]),
                lastname: find(&["last name"]),
                phone: find(&["phone"]),
                address_phone: find(&["default address phone"]),
                // Before 2022 the export had one "Accepts Marketing" column.
                accepts_marketing: find(&["accepts email marketing", "accepts marketing"]),
                tags: find(&["tags"]),
                ..Columns::default()
            },
            _ => Columns {
                email: find(&["email"]),
                website: find(&["_website"]),
                website_id: find(&["website_id"]),
                source_id: find(&["entity_id"]),
                firstname: find(&["firstname"]),
                lastname: find(&["lastname"]),
                middlename: find(&["middlename"]),
                prefix: find(&["prefix"]),
                suffix: find(&["suffix"]),
                dob: find(&["dob"]),
                gender: find(&["gender"]),
                taxvat: find(&["taxvat"]),
                confirmation: find(&["confirmation"]),
                is_active: find(&["is_active"]),
                created_at: find(&["created_at"]),
                password_hash: find(&["password_hash"]),
                password: find(&["password"]),
                ..Columns::default()
            },
        }
    }
}

pub(super) struct Reader<R: Read> {
    csv: csv::Reader<Bounded<R>>,
    limit: Arc<AtomicU64>,
    format: Format,
    columns: Columns,
    header_len: usize,
    /// `customer_entity` dumps write SQL NULL as `NULL` (`mysql --batch`) or `\N` (`--tab`).
    nulls: bool,
    /// `mysql --batch` escapes tab, newline, backslash and NUL with a backslash and never quotes.
    mysql_escapes: bool,
    record: csv::StringRecord,
    limits: Limits,
    done: bool,
}

impl<R: Read> Reader<R> {
    pub(super) fn new(
        input: R,
        format: Format,
        delimiter: u8,
        limits: Limits,
    ) -> Result<Reader<R>, OpenError> {
        let mysql_escapes = format == Format::MagentoEntityCsv && delimiter == b'\t';
        let limit = Arc::new(AtomicU64::new(MAX_RECORD + READ_AHEAD));
        let input = Bounded {
            inner: input,
            read: 0,
            limit: limit.clone(),
        };
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .quoting(!mysql_escapes)
            // Lines end at `\n` only: with the default CRLF handling the csv crate numbers the
            // records of a CRLF file (Shopify's exports) one line too low. The `\r` left at the
            // end of the last field is trimmed with the rest of the white space.
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(input);
        let header = csv
            .headers()
            .map_err(|e| OpenError::Unreadable(e.to_string()))?;
        let names: Vec<String> = header
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
            .collect();
        let columns = Columns::from_header(&names, format);
        if columns.email.is_none() {
            return Err(OpenError::MissingColumn("email"));
        }
        Ok(Reader {
            csv,
            limit,
            format,
            columns,
            header_len: names.len(),
            nulls: format == Format::MagentoEntityCsv,
            mysql_escapes,
            record: csv::StringRecord::new(),
            limits,
            done: false,
        })
    }

    pub(super) fn bytes_read(&self) -> u64 {
        self.csv.position().byte()
    }

    pub(super) fn next(&mut self) -> Option<Result<ImportRow, RowError>> {
        loop {
            if self.done {
                return None;
            }
            let start = self.csv.position().clone();
            self.limit
                .store(start.byte() + MAX_RECORD + READ_AHEAD, Ordering::Relaxed);
            return match self.csv.read_record(&mut self.record) {
                Ok(false) => {
                    self.done = true;
                    None
                }
                // A blank line of a CRLF file (`\r` alone), or a row of empty cells.
                Ok(true) if self.record.iter().all(|f| f.trim().is_empty()) => continue,
                Ok(true) => {
                    let line = self.record.position().map_or(0, |p| p.line());
                    Some(self.row(line))
                }
                Err(e) => {
                    // An I/O error has no position: the record began where the last one ended.
                    let line = e.position().map_or(start.line(), |p| p.line());
                    let problem = match e.kind() {
                        // The reader has moved past the record: the next one can still be read.
                        csv::ErrorKind::Utf8 { .. } => RowProblem::NotUtf8,
                        _ => {
                            self.done = true;
                            RowProblem::Io(e.to_string())
                        }
                    };
                    Some(Err(RowError { line, problem }))
                }
            };
        }
    }

    /// A field's value: trimmed, unescaped, `None` when empty or NULL.
    fn get(&self, column: Option<usize>) -> Option<Cow<'_, str>> {
        let raw = self.record.get(column?)?.trim();
        if raw.is_empty() || (self.nulls && (raw == "NULL" || raw == "\\N")) {
            return None;
        }
        if self.mysql_escapes && raw.contains('\\') {
            return Some(Cow::Owned(unescape_mysql(raw)));
        }
        Some(Cow::Borrowed(raw))
    }

    fn text(&self, column: Option<usize>) -> Option<String> {
        self.get(column).map(Cow::into_owned)
    }

    fn row(&self, line: u64) -> Result<ImportRow, RowError> {
        if self.record.len() != self.header_len {
            return Err(RowError {
                line,
                problem: RowProblem::FieldCount {
                    found: self.record.len(),
                    expected: self.header_len,
                },
            });
        }
        let c = &self.columns;
        let email = checked_email(self.get(c.email).as_deref(), line)?;
        let mut row = ImportRow::new(line, email);
        row.source_id = self.text(c.source_id);
        row.profile.firstname = self.text(c.firstname);
        row.profile.lastname = self.text(c.lastname);
        if self.format == Format::ShopifyCsv {
            row.source_id = row
                .source_id
                .map(|id| id.trim_start_matches('\'').to_owned());
            row.profile.phone = self.text(c.phone).or_else(|| self.text(c.address_phone));
            if let Some(v) = self.get(c.accepts_marketing) {
                row.profile.is_subscribed = row
                    .mapped("Accepts Email Marketing", fields::flag(&v))
                    .unwrap_or(false);
            }
            row.tags = self
                .get(c.tags)
                .map(|t| {
                    t.split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            return Ok(row);
        }
        row.website = self.text(c.website).or_else(|| self.text(c.website_id));
        row.profile.middlename = self.text(c.middlename);
        row.profile.prefix = self.text(c.prefix);
        row.profile.suffix = self.text(c.suffix);
        row.profile.taxvat = self.text(c.taxvat);
        if let Some(v) = self.get(c.dob) {
            row.profile.date_of_birth = row.mapped("dob", fields::date_of_birth(&v));
        }
        if let Some(v) = self.get(c.gender) {
            row.profile.gender = row.mapped("gender", fields::gender(&v)).flatten();
        }
        // Magento keeps a confirmation key until the customer confirms; NULL = confirmed.
        row.confirmed = self.get(c.confirmation).is_none();
        if let Some(v) = self.get(c.is_active) {
            row.disabled = !row.mapped("is_active", fields::flag(&v)).unwrap_or(true);
        }
        if let Some(v) = self.get(c.created_at) {
            row.created_at = row.mapped("created_at", fields::timestamp(&v));
        }
        let hash = self.get(c.password_hash);
        let plaintext = self.get(c.password);
        row.set_password(hash.as_deref(), plaintext.as_deref(), &self.limits);
        Ok(row)
    }
}

fn unescape_mysql(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
