//! JSON Lines: one customer object per line, with the field names of migration.md §4.3 (what
//! `storekey export` writes, addresses included). Blank lines are skipped; unknown fields are
//! ignored.

use super::{checked_email, fields, ImportRow, RowError, RowProblem, MAX_LINE};
use crate::auth::legacy_hash::Limits;
use crate::model::passkey::{Passkey, UserHandle, MAX_NAME_CHARS, MAX_PASSKEYS};
use crate::model::{
    self, Address, AddressBook, AddressId, Timestamp, MAX_ADDRESSES, MAX_FIELD_CHARS,
    MAX_STREET_LINES,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::{Map, Value};
use std::io::{BufRead, Read};

pub(super) struct Reader<R: BufRead> {
    input: R,
    line: u64,
    bytes: u64,
    buf: Vec<u8>,
    limits: Limits,
    done: bool,
}

impl<R: BufRead> Reader<R> {
    pub(super) fn new(input: R, limits: Limits) -> Reader<R> {
        Reader {
            input,
            line: 0,
            bytes: 0,
            buf: Vec::new(),
            limits,
            done: false,
        }
    }

    pub(super) fn bytes_read(&self) -> u64 {
        self.bytes
    }

    pub(super) fn next(&mut self) -> Option<Result<ImportRow, RowError>> {
        loop {
            if self.done {
                return None;
            }
            self.line += 1;
            let line = self.line;
            self.buf.clear();
            let read = (&mut self.input)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut self.buf);
            let n = match read {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(n) => n,
                Err(e) => {
                    self.done = true;
                    let problem = RowProblem::Io(e.to_string());
                    return Some(Err(RowError { line, problem }));
                }
            };
            self.bytes += n as u64;
            if self.buf.len() > MAX_LINE && self.buf.last() != Some(&b'\n') {
                if let Err(e) = self.skip_rest_of_line() {
                    self.done = true;
                    let problem = RowProblem::Io(e.to_string());
                    return Some(Err(RowError { line, problem }));
                }
                let problem = RowProblem::LineTooLong(MAX_LINE);
                return Some(Err(RowError { line, problem }));
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(row(&self.buf, line, &self.limits));
        }
    }

    fn skip_rest_of_line(&mut self) -> std::io::Result<()> {
        loop {
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                return Ok(());
            }
            match chunk.iter().position(|b| *b == b'\n') {
                Some(at) => {
                    self.input.consume(at + 1);
                    self.bytes += at as u64 + 1;
                    return Ok(());
                }
                None => {
                    let len = chunk.len();
                    self.input.consume(len);
                    self.bytes += len as u64;
                }
            }
        }
    }
}

fn row(bytes: &[u8], line: u64, limits: &Limits) -> Result<ImportRow, RowError> {
    let fail = |problem| RowError { line, problem };
    let text = std::str::from_utf8(bytes).map_err(|_| fail(RowProblem::NotUtf8))?;
    // serde_json's syntax errors name a position, never the input; type errors are not used
    // (they can quote a value), fields are checked one by one below.
    let text = text.trim_start_matches('\u{feff}').trim_end();
    let value: Value =
        serde_json::from_str(text).map_err(|e| fail(RowProblem::NotJson(syntax_error(&e))))?;
    let Value::Object(obj) = value else {
        return Err(fail(RowProblem::NotAnObject));
    };
    let input = Fields { obj: &obj, line };
    let email = checked_email(input.string("email")?.as_deref(), line)?;
    let mut row = ImportRow::new(line, email);
    row.profile.firstname = input.string("firstname")?;
    row.profile.lastname = input.string("lastname")?;
    row.profile.middlename = input.string("middlename")?;
    row.profile.prefix = input.string("prefix")?;
    row.profile.suffix = input.string("suffix")?;
    row.profile.taxvat = input.string("taxvat")?;
    row.profile.phone = input.string("phone")?;
    let dob = match input.string("date_of_birth")? {
        Some(d) => Some(d),
        None => input.string("dob")?,
    };
    if let Some(d) = dob {
        row.profile.date_of_birth = row.mapped("date_of_birth", fields::date_of_birth(&d));
    }
    row.profile.gender = match obj.get("gender") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => {
            let code = n
                .as_i64()
                .map_or("not an integer".to_owned(), |c| c.to_string());
            row.mapped("gender", fields::gender(&code)).flatten()
        }
        Some(Value::String(s)) => row.mapped("gender", fields::gender(s)).flatten(),
        Some(_) => return Err(input.wrong("gender", "a number or a label")),
    };
    row.profile.is_subscribed = input.flag("is_subscribed")?.unwrap_or(false);
    row.confirmed = input.flag("confirmed")?.unwrap_or(true);
    row.email_verified = input.flag("email_verified")?;
    row.disabled = input.flag("disabled")?.unwrap_or(false);
    row.allow_remote_shopping_assistance = input
        .flag("allow_remote_shopping_assistance")?
        .unwrap_or(false);
    row.tags = match obj.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| match t {
                Value::String(s) => Ok(s.trim().to_owned()),
                _ => Err(input.wrong("tags", "an array of strings")),
            })
            .filter(|t| !matches!(t, Ok(s) if s.is_empty()))
            .collect::<Result<_, _>>()?,
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(_) => return Err(input.wrong("tags", "an array of strings")),
    };
    row.multipass_identifier = input.string("multipass_identifier")?;
    row.website = input.string("website")?;
    row.source_id = match obj.get("id") {
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => input.string("id")?,
    };
    row.created_at = match obj.get("created_at") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(t) => Some(t),
            None => return Err(input.wrong("created_at", "whole seconds or a date string")),
        },
        Some(Value::String(s)) => row.mapped("created_at", fields::timestamp(s)),
        Some(_) => return Err(input.wrong("created_at", "whole seconds or a date string")),
    };
    row.addresses = addresses(&input)?;
    (row.passkey_handle, row.passkeys) = passkeys(&input)?;
    let hash = input.string("password_hash")?;
    row.set_password(hash.as_deref(), None, limits);
    Ok(row)
}

/// `addresses` as `storekey export` writes it: objects with the address fields, `street` an
/// array of lines, `default_billing` / `default_shipping` flags. Held to the limits the API
/// keeps (count, field length, street lines, a known country code).
fn addresses(input: &Fields<'_>) -> Result<AddressBook, RowError> {
    const EXPECTED: &str = "an array of at most 100 address objects (fields of at most 255 \
         characters, at most 4 street lines, ISO 3166-1 alpha-2 country codes)";
    let items = match input.obj.get("addresses") {
        None | Some(Value::Null) => return Ok(AddressBook::default()),
        Some(Value::Array(items)) if items.len() <= MAX_ADDRESSES => items,
        Some(_) => return Err(input.wrong("addresses", EXPECTED)),
    };
    let mut book = AddressBook::default();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(input.wrong("addresses", EXPECTED));
        };
        let fields = Fields {
            obj,
            line: input.line,
        };
        let text = |name: &str| -> Result<Option<String>, RowError> {
            let value = fields
                .string(name)
                .map_err(|_| input.wrong("addresses", EXPECTED))?;
            match value {
                Some(v) if v.chars().count() > MAX_FIELD_CHARS => {
                    Err(input.wrong("addresses", EXPECTED))
                }
                v => Ok(v),
            }
        };
        let street = match obj.get("street") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(lines)) if lines.len() <= MAX_STREET_LINES => lines
                .iter()
                .map(|l| match l {
                    Value::String(s) if s.chars().count() <= MAX_FIELD_CHARS => {
                        Ok(s.trim().to_owned())
                    }
                    _ => Err(input.wrong("addresses", EXPECTED)),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(input.wrong("addresses", EXPECTED)),
        };
        let country_code = match text("country_code")? {
            Some(c) => Some(
                model::country_code(&c)
                    .filter(|known| known.eq_ignore_ascii_case(&c))
                    .ok_or_else(|| input.wrong("addresses", EXPECTED))?
                    .to_owned(),
            ),
            None => None,
        };
        // The source's ids only tie the defaults to their address; the store assigns its own.
        let id = AddressId(i as u64 + 1);
        let flag = |name: &str| fields.flag(name).map(|f| f.unwrap_or(false));
        if flag("default_billing").map_err(|_| input.wrong("addresses", EXPECTED))? {
            book.default_billing = Some(id);
        }
        if flag("default_shipping").map_err(|_| input.wrong("addresses", EXPECTED))? {
            book.default_shipping = Some(id);
        }
        book.addresses.push(Address {
            id,
            firstname: text("firstname")?,
            lastname: text("lastname")?,
            company: text("company")?,
            street,
            city: text("city")?,
            region: text("region")?,
            region_code: text("region_code")?,
            postcode: text("postcode")?,
            country_code,
            telephone: text("telephone")?,
            middlename: text("middlename")?,
            prefix: text("prefix")?,
            suffix: text("suffix")?,
            fax: text("fax")?,
            vat_id: text("vat_id")?,
        });
    }
    Ok(book)
}

/// `passkey_handle` and `passkeys` as `storekey export` writes them: the handle and each id
/// unpadded base64url, each passkey's `credential` the WebAuthn library's credential (JSON, in a
/// string) for that same id, so a passkey that reads here signs in on the new store. Held to
/// the limits the hosted pages keep (`MAX_PASSKEYS`, names of `MAX_NAME_CHARS`). A handle
/// without passkeys is checked and dropped (nothing would sign in with it).
fn passkeys(input: &Fields<'_>) -> Result<(Option<UserHandle>, Vec<Passkey>), RowError> {
    const HANDLE: &str = "a user handle of 16 bytes in unpadded base64url";
    let handle = match input.obj.get("passkey_handle") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            URL_SAFE_NO_PAD
                .decode(s.as_bytes())
                .ok()
                .and_then(|b| UserHandle::try_from(b).ok())
                .ok_or_else(|| input.wrong("passkey_handle", HANDLE))?,
        ),
        Some(_) => return Err(input.wrong("passkey_handle", HANDLE)),
    };
    let items = match input.obj.get("passkeys") {
        None | Some(Value::Null) => return Ok((None, Vec::new())),
        Some(Value::Array(items)) if items.len() <= MAX_PASSKEYS => items,
        Some(_) => return Err(input.wrong("passkeys", "an array of at most 10 passkey objects")),
    };
    if items.is_empty() {
        return Ok((None, Vec::new()));
    }
    let Some(handle) = handle else {
        return Err(input.wrong(
            "passkey_handle",
            "given with passkeys: a user handle of 16 bytes in unpadded base64url",
        ));
    };
    let mut list: Vec<Passkey> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = |name: &str| format!("passkeys[{i}].{name}");
        let Value::Object(obj) = item else {
            return Err(input.wrong(&format!("passkeys[{i}]"), "a passkey object"));
        };
        let wrong = |name: &str, expected: &'static str| input.wrong(&field(name), expected);
        const ID: &str = "a credential id in unpadded base64url, once per customer";
        let id = match obj.get("id") {
            Some(Value::String(s)) => URL_SAFE_NO_PAD
                .decode(s.as_bytes())
                .ok()
                .filter(|id| !id.is_empty() && !list.iter().any(|p| p.id == *id))
                .ok_or_else(|| wrong("id", ID))?,
            _ => return Err(wrong("id", ID)),
        };
        const NAME: &str = "a name of 1 to 64 characters, no control characters";
        let name = match obj.get("name") {
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty()
                    || s.chars().count() > MAX_NAME_CHARS
                    || s.chars().any(char::is_control)
                {
                    return Err(wrong("name", NAME));
                }
                s.to_owned()
            }
            _ => return Err(wrong("name", NAME)),
        };
        const AT: &str = "whole seconds or a date string";
        let created_at = match obj.get("created_at") {
            Some(v) => moment(v).ok_or_else(|| wrong("created_at", AT))?,
            None => return Err(wrong("created_at", AT)),
        };
        let last_used_at = match obj.get("last_used_at") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                moment(v)
                    .ok_or_else(|| wrong("last_used_at", "whole seconds, a date string or null"))?,
            ),
        };
        let counter = match obj.get("counter") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|c| u32::try_from(c).ok())
                .ok_or_else(|| wrong("counter", "an integer from 0 to 4294967295"))?,
            Some(_) => return Err(wrong("counter", "an integer from 0 to 4294967295")),
        };
        let fields = Fields {
            obj,
            line: input.line,
        };
        let flag = |name: &str| -> Result<bool, RowError> {
            fields
                .flag(name)
                .map(|f| f.unwrap_or(false))
                .map_err(|_| wrong(name, "true or false"))
        };
        let transports = match obj.get("transports") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(ts)) => ts
                .iter()
                .map(|t| match t {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(wrong("transports", "an array of strings")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(wrong("transports", "an array of strings")),
        };
        const CREDENTIAL: &str =
            "the WebAuthn credential of this id as a JSON string (what storekey export writes)";
        let credential = match obj.get("credential") {
            Some(Value::String(s)) if credential_of(s, &id) => s.clone(),
            _ => return Err(wrong("credential", CREDENTIAL)),
        };
        list.push(Passkey {
            id,
            name,
            created_at,
            last_used_at,
            counter,
            backup_eligible: flag("backup_eligible")?,
            backup_state: flag("backup_state")?,
            transports,
            credential,
        });
    }
    Ok((Some(handle), list))
}

/// A passkey's time: whole seconds, or a date string in a form `fields::timestamp` takes.
fn moment(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => fields::timestamp(s).ok(),
        _ => None,
    }
}

/// Whether `text` is the WebAuthn library's stored credential (as the sign-in reads it back)
/// and is the credential `id` names: anything else would fail every sign-in on the new store.
fn credential_of(text: &str, id: &[u8]) -> bool {
    serde_json::from_str::<webauthn_rs::prelude::Credential>(text)
        .is_ok_and(|c| c.cred_id.as_slice() == id)
}

/// Where the JSON broke, by column; serde_json's own text is not used (a data error can quote
/// a value).
fn syntax_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => format!("ends early at column {}", e.column()),
        Category::Syntax | Category::Data | Category::Io => {
            format!("syntax error at column {}", e.column())
        }
    }
}

struct Fields<'a> {
    obj: &'a Map<String, Value>,
    line: u64,
}

impl Fields<'_> {
    fn wrong(&self, field: &str, expected: &'static str) -> RowError {
        RowError {
            line: self.line,
            problem: RowProblem::FieldType {
                field: field.to_owned(),
                expected,
            },
        }
    }

    /// A string field, trimmed; `None` when absent, null or empty.
    fn string(&self, field: &str) -> Result<Option<String>, RowError> {
        match self.obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let s = s.trim();
                Ok((!s.is_empty()).then(|| s.to_owned()))
            }
            Some(_) => Err(self.wrong(field, "a string")),
        }
    }

    fn flag(&self, field: &str) -> Result<Option<bool>, RowError> {
        match self.obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            _ => Err(self.wrong(field, "true or false")),
        }
    }
}
