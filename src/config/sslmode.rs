//! Which TLS mode a PostgreSQL connection uses: an `sslmode` in the connection string (URL query
//! parameter or `sslmode=` in the `key=value` form) with libpq's meanings, else `storage.tls`.
//!
//! tokio-postgres knows only `disable`, `prefer` and `require` (and refuses the rest), so the
//! `sslmode` is taken out of the string here and the connection is set up from [`TlsMode`].

use super::StorageTls;

/// libpq's `sslmode` values, each mapped onto what the rustls set-up can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// Either, certificate unchecked. libpq tries plain first; storekey tries TLS first (as for
    /// `prefer`): the same connections are accepted, an encrypted one is preferred.
    Allow,
    /// TLS when the server offers it, else plain; the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is not checked.
    Require,
    /// TLS; the certificate chain is checked against `storage.tls_ca_file` (or the Mozilla
    /// roots), the host name is not.
    VerifyCa,
    /// TLS; the chain is checked and the host name (or address) against the certificate.
    VerifyFull,
}

impl TlsMode {
    pub const ALL: [TlsMode; 6] = [
        TlsMode::Disable,
        TlsMode::Allow,
        TlsMode::Prefer,
        TlsMode::Require,
        TlsMode::VerifyCa,
        TlsMode::VerifyFull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Allow => "allow",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the server's certificate chain is checked (`storage.tls_ca_file` is used).
    pub fn verifies_chain(self) -> bool {
        matches!(self, TlsMode::VerifyCa | TlsMode::VerifyFull)
    }

    /// Whether a connection without TLS is accepted.
    pub fn allows_plain(self) -> bool {
        matches!(self, TlsMode::Disable | TlsMode::Allow | TlsMode::Prefer)
    }
}

impl From<StorageTls> for TlsMode {
    fn from(tls: StorageTls) -> TlsMode {
        match tls {
            StorageTls::Disable => TlsMode::Disable,
            StorageTls::Require => TlsMode::Require,
            StorageTls::VerifyFull => TlsMode::VerifyFull,
        }
    }
}

impl std::fmt::Display for TlsMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the mode in force came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsSource {
    /// The connection string's own `sslmode`.
    Sslmode,
    /// `storage.tls` (the string has no `sslmode`).
    StorageTls,
}

impl std::fmt::Display for TlsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsSource::Sslmode => "sslmode in the URL",
            TlsSource::StorageTls => "storage.tls",
        })
    }
}

/// The mode in force and where it came from, e.g. `disable (sslmode in the URL)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsChoice {
    pub mode: TlsMode,
    pub source: TlsSource,
}

impl std::fmt::Display for TlsChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.mode, self.source)
    }
}

/// The TLS mode for `conn` and the connection string without its `sslmode` (for
/// tokio-postgres). The last `sslmode` wins, as in libpq. A string that does not parse is
/// returned unchanged, for the client to refuse with its own reason.
pub fn resolve(conn: &str, tls: StorageTls) -> Result<(TlsChoice, String), String> {
    let (found, rest) = match strip_url(conn) {
        Some(stripped) => stripped?,
        None => strip_key_values(conn)?,
    };
    let choice = match found {
        Some(text) => TlsChoice {
            mode: parse_mode(&text)?,
            source: TlsSource::Sslmode,
        },
        None => TlsChoice {
            mode: tls.into(),
            source: TlsSource::StorageTls,
        },
    };
    Ok((choice, rest))
}

fn parse_mode(text: &str) -> Result<TlsMode, String> {
    TlsMode::ALL
        .iter()
        .copied()
        .find(|m| m.as_str() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = TlsMode::ALL.iter().map(|m| m.as_str()).collect();
            format!("sslmode: expected {}, not {text:?}", super::one_of(&names))
        })
}

type Stripped = Result<(Option<String>, String), String>;

/// The URL form, read as tokio-postgres reads it: credentials up to the first `@`, then the
/// query after the first `?`, `&`-separated `key=value` pairs, percent-encoded.
fn strip_url(conn: &str) -> Option<Stripped> {
    let prefix = ["postgres://", "postgresql://"]
        .iter()
        .find(|p| conn.starts_with(*p))?;
    let after_credentials = conn[prefix.len()..]
        .find('@')
        .map_or(prefix.len(), |at| prefix.len() + at + 1);
    let Some(question) = conn[after_credentials..].find('?') else {
        return Some(Ok((None, conn.to_string())));
    };
    let query_start = after_credentials + question + 1;
    let mut found = None;
    let mut kept = Vec::new();
    for pair in conn[query_start..].split('&') {
        let key = pair.split_once('=').map(|(k, v)| (decode(k), v));
        match key {
            Some((Some(k), v)) if k == "sslmode" => match decode(v) {
                Some(v) => found = Some(v),
                None => return Some(Err("sslmode: not valid percent-encoded UTF-8".into())),
            },
            _ => kept.push(pair),
        }
    }
    let mut rest = conn[..query_start - 1].to_string();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    Some(Ok((found, rest)))
}

fn decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// The `key=value` form, read as tokio-postgres (and libpq) read it: whitespace-separated
/// pairs, spaces allowed around `=`, a value either `'quoted'` or bare, `\` escaping the next
/// character in both.
fn strip_key_values(conn: &str) -> Stripped {
    let mut found = None;
    let mut rest = String::with_capacity(conn.len());
    let mut kept_until = 0;
    let mut chars = conn.char_indices().peekable();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut chars);
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key_end = start;
        while let Some((i, c)) = chars.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            key_end = i + c.len_utf8();
        }
        let key = &conn[start..key_end];
        skip_ws(&mut chars);
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            // Not a pair: left for tokio-postgres to refuse.
            return Ok((None, conn.to_string()));
        }
        skip_ws(&mut chars);
        let quoted = chars.next_if(|(_, c)| *c == '\'').is_some();
        let mut value = String::new();
        let mut closed = !quoted;
        while let Some((_, c)) = chars.peek().copied() {
            if quoted && c == '\'' {
                chars.next();
                closed = true;
                break;
            }
            if !quoted && c.is_whitespace() {
                break;
            }
            chars.next();
            if c == '\\' {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            } else {
                value.push(c);
            }
        }
        if !closed {
            return Ok((None, conn.to_string()));
        }
        if key == "sslmode" {
            let end = chars.peek().map_or(conn.len(), |&(i, _)| i);
            rest.push_str(&conn[kept_until..start]);
            kept_until = end;
            found = Some(value);
        }
    }
    rest.push_str(&conn[kept_until..]);
    Ok((found, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(conn: &str, tls: StorageTls) -> (String, String) {
        let (choice, rest) = resolve(conn, tls).unwrap();
        (choice.to_string(), rest)
    }

    #[test]
    fn every_libpq_sslmode_in_a_url_wins_over_storage_tls() {
        for mode in TlsMode::ALL {
            for tls in [StorageTls::Disable, StorageTls::VerifyFull] {
                let url = format!("postgresql://u:p@db:5432/app?sslmode={mode}");
                assert_eq!(
                    resolved(&url, tls),
                    (
                        format!("{mode} (sslmode in the URL)"),
                        "postgresql://u:p@db:5432/app".to_string()
                    )
                );
                let url = format!(
                    "postgres://db/app?application_name=x&sslmode={mode}&connect_timeout=3"
                );
                assert_eq!(
                    resolved(&url, tls),
                    (
                        format!("{mode} (sslmode in the URL)"),
                        "postgres://db/app?application_name=x&connect_timeout=3".to_string()
                    )
                );
            }
        }
    }

    /// The pair is cut out where it stands (the whitespace around it is kept: insignificant).
    #[test]
    fn every_libpq_sslmode_in_key_value_form_wins_over_storage_tls() {
        for mode in TlsMode::ALL {
            for (conn, rest) in [
                (
                    format!("host=db user=u sslmode={mode} dbname=app"),
                    "host=db user=u  dbname=app",
                ),
                (format!("host=db sslmode = '{mode}'"), "host=db "),
                (format!("sslmode={mode}   host=db"), "   host=db"),
            ] {
                assert_eq!(
                    resolved(&conn, StorageTls::VerifyFull),
                    (format!("{mode} (sslmode in the URL)"), rest.to_string()),
                    "{conn}"
                );
                // What is left parses, with nothing about TLS.
                rest.parse::<tokio_postgres::Config>().unwrap();
            }
        }
    }

    #[test]
    fn without_sslmode_storage_tls_applies() {
        for (tls, shown) in [
            (StorageTls::Disable, "disable (storage.tls)"),
            (StorageTls::Require, "require (storage.tls)"),
            (StorageTls::VerifyFull, "verify-full (storage.tls)"),
        ] {
            for conn in [
                "postgresql://u:p@db/app",
                "postgresql://u:p@db/app?connect_timeout=3",
                "host=db user=u password='a b\\' sslmode=disable'",
            ] {
                assert_eq!(resolved(conn, tls), (shown.to_string(), conn.to_string()));
            }
        }
    }

    #[test]
    fn the_url_sslmode_is_percent_decoded_and_the_last_one_wins() {
        assert_eq!(
            resolved(
                "postgresql://db/app?sslmode=require&ssl%6Dode=verify%2Dca",
                StorageTls::Disable
            ),
            (
                "verify-ca (sslmode in the URL)".to_string(),
                "postgresql://db/app".to_string()
            )
        );
        // A password holding `?sslmode=` is the password's, not a parameter.
        assert_eq!(
            resolved(
                "postgresql://u:x?sslmode=disable@db/app",
                StorageTls::VerifyFull
            ),
            (
                "verify-full (storage.tls)".to_string(),
                "postgresql://u:x?sslmode=disable@db/app".to_string()
            )
        );
    }

    #[test]
    fn an_unknown_sslmode_is_refused_with_the_choices() {
        for conn in ["postgresql://db/app?sslmode=on", "host=db sslmode=on"] {
            assert_eq!(
                resolve(conn, StorageTls::VerifyFull).err().as_deref(),
                Some("sslmode: expected \"disable\", \"allow\", \"prefer\", \"require\", \"verify-ca\" or \"verify-full\", not \"on\"")
            );
        }
    }
}
