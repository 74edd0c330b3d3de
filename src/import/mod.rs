//! Readers for the customer files `storekey import` takes: Magento's admin export, a raw
//! `customer_entity` dump, Shopify's customer export and JSON Lines (migration.md §4.3). Each
//! streams its file and yields one typed `ImportRow` or one `RowError` at a time, so a file of
//! any size is read in bounded memory. `run` drives `storekey import` over the readers and the
//! store's import operation; `export` writes what the JSON Lines reader takes back.

pub mod export;
mod fields;
mod jsonl;
pub mod run;
mod tabular;

pub use fields::BadValue;

use crate::auth::legacy_hash::{self, Limits, Scheme, Unsupported};
use crate::auth::secret::Secret;
use crate::model::{Profile, Timestamp};
use std::io::{BufRead, BufReader, Chain, Cursor, Read};

/// The file formats, named as `--format` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Magento's System > Export "Customers Main File".
    MagentoCsv,
    /// `customer_entity` as `mysql --batch` (tab-separated) or a CSV dump writes it.
    MagentoEntityCsv,
    /// Shopify's Customers > Export.
    ShopifyCsv,
    /// One JSON object per line; what `storekey export` will write.
    Jsonl,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::MagentoCsv,
        Format::MagentoEntityCsv,
        Format::ShopifyCsv,
        Format::Jsonl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::MagentoCsv => "magento-csv",
            Format::MagentoEntityCsv => "magento-entity-csv",
            Format::ShopifyCsv => "shopify-csv",
            Format::Jsonl => "jsonl",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                format!("unknown format {s:?}: expected one of {}", names.join(", "))
            })
    }
}

/// A password hash as storekey will keep it (see `LegacyHash::stored_form`). `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHash(String);

impl StoredHash {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredHash(<hidden>)")
    }
}

/// What a row brings for the password.
#[derive(Debug, Clone)]
pub enum ImportedPassword {
    /// No hash (Shopify never exports one): the customer signs in through Multipass or a reset.
    None,
    Hash {
        scheme: Scheme,
        stored: StoredHash,
    },
    /// A hash was given but cannot be used; the customer is imported without a password.
    Unsupported(Unsupported),
    /// Magento's importer also takes a plaintext `password` column; it is hashed on import.
    Plaintext(Secret),
}

impl ImportedPassword {
    /// The report's bucket: a scheme label, `none`, or `plaintext`.
    pub fn label(&self) -> &'static str {
        match self {
            ImportedPassword::None => "none",
            ImportedPassword::Hash { scheme, .. } => scheme.label(),
            ImportedPassword::Unsupported(_) => Scheme::Unsupported.label(),
            ImportedPassword::Plaintext(_) => "plaintext",
        }
    }
}

/// A value dropped from a row that was still imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowWarning {
    pub column: String,
    pub problem: BadValue,
}

impl std::fmt::Display for RowWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}, left empty", self.column, self.problem)
    }
}

/// One customer read from the file.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// The line the row starts on (the header is line 1 in the CSV formats).
    pub line: u64,
    /// Trimmed and in NFC (`auth::normalize_email`), checked with `auth::valid_email`.
    pub email: String,
    pub profile: Profile,
    pub confirmed: bool,
    /// A JSON Lines export's `email_verified`; a file without it (every other format) vouches
    /// for the address as far as it is confirmed (the merchant's data).
    pub email_verified: Option<bool>,
    pub disabled: bool,
    pub allow_remote_shopping_assistance: bool,
    pub tags: Vec<String>,
    pub multipass_identifier: Option<String>,
    /// `None` when the file has none or it did not parse (then a warning says so).
    pub created_at: Option<Timestamp>,
    pub password: ImportedPassword,
    /// Magento's website code (`_website`) or id (`website_id`), for `--website`.
    pub website: Option<String>,
    /// The id in the source (Magento `entity_id`, Shopify `Customer ID`, JSON Lines `id`).
    pub source_id: Option<String>,
    pub warnings: Vec<RowWarning>,
    /// The addresses of a JSON Lines export (`addresses`, `default_billing`,
    /// `default_shipping`); their ids are the source's and a store assigns its own.
    pub addresses: crate::model::AddressBook,
    /// A JSON Lines export's passkeys and the WebAuthn user handle they were registered under
    /// (`passkey_handle`, `passkeys`): both or neither (a handle without passkeys is dropped).
    pub passkey_handle: Option<crate::model::passkey::UserHandle>,
    pub passkeys: Vec<crate::model::passkey::Passkey>,
}

impl ImportRow {
    fn new(line: u64, email: String) -> ImportRow {
        ImportRow {
            line,
            email,
            profile: Profile::default(),
            confirmed: true,
            email_verified: None,
            disabled: false,
            allow_remote_shopping_assistance: false,
            tags: Vec::new(),
            multipass_identifier: None,
            created_at: None,
            password: ImportedPassword::None,
            website: None,
            source_id: None,
            warnings: Vec::new(),
            addresses: crate::model::AddressBook::default(),
            passkey_handle: None,
            passkeys: Vec::new(),
        }
    }

    fn warn(&mut self, column: &str, problem: BadValue) {
        self.warnings.push(RowWarning {
            column: column.to_owned(),
            problem,
        });
    }

    /// Sets a field from a mapping that may fail: a failure leaves it empty with a warning.
    fn mapped<T>(&mut self, column: &str, value: Result<T, BadValue>) -> Option<T> {
        value.map_err(|e| self.warn(column, e)).ok()
    }

    fn set_password(&mut self, hash: Option<&str>, plaintext: Option<&str>, limits: &Limits) {
        self.password = match (hash, plaintext) {
            (Some(hash), _) => match legacy_hash::parse(hash, limits) {
                Ok(h) => ImportedPassword::Hash {
                    scheme: h.scheme(),
                    stored: StoredHash(h.stored_form()),
                },
                Err(e) => ImportedPassword::Unsupported(e),
            },
            (None, Some(pw)) => ImportedPassword::Plaintext(Secret::new(pw)),
            (None, None) => ImportedPassword::None,
        };
    }
}

/// Why a row was not read. Never carries a password or a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowProblem {
    MissingEmail,
    InvalidEmail,
    /// The row has another number of fields than the header.
    FieldCount {
        found: usize,
        expected: usize,
    },
    NotUtf8,
    /// JSON Lines: the line is not JSON; says where it broke.
    NotJson(String),
    NotAnObject,
    /// JSON Lines: a field of the wrong JSON type.
    FieldType {
        field: String,
        expected: &'static str,
    },
    LineTooLong(usize),
    /// The file could not be read further; no row follows.
    Io(String),
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowProblem::MissingEmail => f.write_str("no email"),
            RowProblem::InvalidEmail => f.write_str("invalid email"),
            RowProblem::FieldCount { found, expected } => {
                write!(f, "{found} fields where the header has {expected}")
            }
            RowProblem::NotUtf8 => f.write_str("not valid UTF-8"),
            RowProblem::NotJson(e) => write!(f, "not JSON: {e}"),
            RowProblem::NotAnObject => f.write_str("not a JSON object"),
            RowProblem::FieldType { field, expected } => {
                write!(f, "{field} must be {expected}")
            }
            RowProblem::LineTooLong(max) => write!(f, "line longer than {max} bytes"),
            RowProblem::Io(e) => write!(f, "read failed: {e}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub problem: RowProblem,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// Why a file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    Empty,
    /// The header matches no format; `--format` can name one.
    UnknownFormat,
    /// The format's header lacks a column it needs.
    MissingColumn(&'static str),
    Unreadable(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Empty => f.write_str("the file is empty"),
            OpenError::UnknownFormat => f.write_str(
                "cannot tell the file's format from its first line; name it with --format (magento-csv, magento-entity-csv, shopify-csv, jsonl)",
            ),
            OpenError::MissingColumn(c) => write!(f, "the header has no {c} column"),
            OpenError::Unreadable(e) => write!(f, "cannot read the file: {e}"),
        }
    }
}

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// `None`: the format's default, or a tab when the header line has one.
    pub delimiter: Option<u8>,
    /// The work an imported hash may ask of a verify; beyond it the hash is unsupported.
    pub hash_limits: Limits,
}

/// The longest header or JSON line read; longer lines are refused, so one line cannot take
/// unbounded memory.
pub const MAX_LINE: usize = 1 << 20;

type Input<R> = Chain<Cursor<Vec<u8>>, BufReader<R>>;

/// The rows of a file, one at a time.
pub struct Rows<R: Read> {
    format: Format,
    inner: Inner<R>,
}

enum Inner<R: Read> {
    Tabular(Box<tabular::Reader<Input<R>>>),
    Jsonl(jsonl::Reader<Input<R>>),
}

impl<R: Read> Rows<R> {
    pub fn format(&self) -> Format {
        self.format
    }

    /// Bytes consumed so far, for a progress bar sized by the file's length.
    pub fn bytes_read(&self) -> u64 {
        match &self.inner {
            Inner::Tabular(r) => r.bytes_read(),
            Inner::Jsonl(r) => r.bytes_read(),
        }
    }
}

impl<R: Read> Iterator for Rows<R> {
    type Item = Result<ImportRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Tabular(r) => r.next(),
            Inner::Jsonl(r) => r.next(),
        }
    }
}

/// Opens a file for reading: reads its first line, sniffs the format from it unless `format`
/// is given, and checks the header. Nothing past the first line is read yet.
pub fn open<R: Read>(
    input: R,
    format: Option<Format>,
    options: &ReadOptions,
) -> Result<Rows<R>, OpenError> {
    let mut input = BufReader::with_capacity(64 * 1024, input);
    let mut first = Vec::new();
    (&mut input)
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut first)
        .map_err(|e| OpenError::Unreadable(e.to_string()))?;
    if first.len() > MAX_LINE {
        return Err(OpenError::Unreadable(format!(
            "first line longer than {MAX_LINE} bytes"
        )));
    }
    let header = String::from_utf8_lossy(&first).into_owned();
    if header.trim().is_empty() {
        return Err(OpenError::Empty);
    }
    let format = match format {
        Some(f) => f,
        None => sniff(&header).ok_or(OpenError::UnknownFormat)?,
    };
    let stream = Cursor::new(first).chain(input);
    let inner = match format {
        Format::Jsonl => Inner::Jsonl(jsonl::Reader::new(stream, options.hash_limits.clone())),
        _ => {
            let delimiter =
                options
                    .delimiter
                    .unwrap_or(if header.contains('\t') { b'\t' } else { b',' });
            Inner::Tabular(Box::new(tabular::Reader::new(
                stream,
                format,
                delimiter,
                options.hash_limits.clone(),
            )?))
        }
    };
    Ok(Rows { format, inner })
}

/// The format a first line belongs to, if it is recognisable.
pub fn sniff(first_line: &str) -> Option<Format> {
    let line = first_line.trim_start_matches('\u{feff}').trim();
    if line.starts_with('{') {
        return Some(Format::Jsonl);
    }
    let delimiter = if line.contains('\t') { '\t' } else { ',' };
    let columns: Vec<String> = line
        .split(delimiter)
        .map(|c| c.trim().trim_matches('"').trim().to_ascii_lowercase())
        .collect();
    let has = |name: &str| columns.iter().any(|c| c == name);
    if has("email") && (has("_website") || has("_store")) {
        Some(Format::MagentoCsv)
    } else if has("email") && has("entity_id") {
        Some(Format::MagentoEntityCsv)
    } else if has("email")
        && (has("first name") || has("customer id") || has("accepts email marketing"))
    {
        Some(Format::ShopifyCsv)
    } else {
        None
    }
}

/// The email of a row, normalised as the core keeps it, or why it cannot be.
fn checked_email(raw: Option<&str>, line: u64) -> Result<String, RowError> {
    let fail = |problem| RowError { line, problem };
    let email = crate::auth::normalize_email(raw.ok_or(fail(RowProblem::MissingEmail))?);
    if email.is_empty() {
        return Err(fail(RowProblem::MissingEmail));
    }
    if !crate::auth::valid_email(&email) {
        return Err(fail(RowProblem::InvalidEmail));
    }
    Ok(email)
}

#[cfg(test)]
mod tests;
