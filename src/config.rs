//! Typed configuration: built-in defaults, then `config.toml`, then `STOREKEY_<SECTION>_<KEY>`
//! environment variables, then command-line flags. Unknown keys are rejected, so a typo is an
//! error at start-up instead of a silently ignored setting.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

mod sslmode;
pub use sslmode::{resolve as resolve_tls, TlsChoice, TlsMode, TlsSource};

/// A configuration problem, already phrased as the one line the CLI prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ConfigError {}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub password: PasswordConfig,
    pub lockout: LockoutConfig,
    pub throttle: ThrottleConfig,
    pub tokens: TokensConfig,
    pub account: AccountConfig,
    pub reset: ResetConfig,
    pub otc: OtcConfig,
    pub multipass: MultipassConfig,
    pub mail: MailConfig,
    pub sweeper: SweeperConfig,
    pub admin: AdminConfig,
    pub log: LogConfig,
    pub oidc: OidcConfig,
    pub webauthn: WebauthnConfig,
}

/// The most `server.max_value_depth` may be.
pub const MAX_VALUE_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub body_limit_bytes: usize,
    pub max_query_depth: usize,
    pub max_query_complexity: usize,
    /// Deepest nesting of `{`, `[` and `(` in a parsed document (values, selections, argument
    /// lists and list types together; brackets in strings and comments are not nesting). At
    /// most [`MAX_VALUE_DEPTH`].
    pub max_value_depth: usize,
    /// Most selections a document may hold once its fragments are spread (fragment bombs).
    pub max_expanded_selections: usize,
    /// Deadline for reading a request's headers, its body, and for running a GraphQL operation.
    pub request_timeout_seconds: u64,
    /// A connection with no request in flight and no byte sent either way for this long is
    /// closed (HTTP keep-alive idle timeout).
    pub keep_alive_seconds: u64,
    /// Most connections open at once; beyond it new connections wait in the listen backlog
    /// until one closes (none is accepted, so the process never runs out of file descriptors).
    pub max_connections: usize,
    /// Most unknown storefront tokens an instance remembers refusing (each for
    /// `storefront_tokens::UNKNOWN_REMEMBERED_FOR`), so a client repeating a bad token is
    /// refused from memory; 0 = none (every unknown token is looked up in the store).
    pub unknown_storefront_tokens: usize,
    pub graphiql: bool,
    pub cors_origins: Vec<String>,
}
impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            body_limit_bytes: 65536,
            max_query_depth: 16,
            max_query_complexity: 1000,
            max_value_depth: 64,
            max_expanded_selections: 2000,
            request_timeout_seconds: 10,
            keep_alive_seconds: 30,
            max_connections: 512,
            unknown_storefront_tokens: 4096,
            graphiql: true,
            cors_origins: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub backend: StorageBackend,
    pub path: String,
    /// The only directory `POST /rest/V1/backup` writes into.
    pub backup_dir: String,
    /// The PostgreSQL connection URL (`backend = "postgres"`); its password never shows in
    /// `Debug`, `Display` or logs.
    pub url: Option<DatabaseUrl>,
    /// Most connections one instance keeps to PostgreSQL.
    pub pool_size: usize,
    /// redb's in-process page cache, MiB (the file's pages stay in the OS page cache besides).
    pub cache_mib: usize,
    pub tls: StorageTls,
    /// PEM file of the CA that signed the server's certificate (`tls = "verify-full"`); without
    /// one the Mozilla roots are trusted.
    pub tls_ca_file: Option<String>,
}
impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: StorageBackend::Redb,
            path: "data/storekey.redb".into(),
            backup_dir: "data/backups".into(),
            url: None,
            pool_size: 16,
            cache_mib: 16,
            tls: StorageTls::VerifyFull,
            tls_ca_file: None,
        }
    }
}

/// A database connection string (URL or `key=value` form) that shows itself with the password
/// replaced by `<hidden>`; [`DatabaseUrl::expose`] is the only way to the text itself.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(text: impl Into<String>) -> Self {
        DatabaseUrl(text.into())
    }

    /// The connection string with its password, for the database client only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn redacted(&self) -> String {
        let text = self.0.as_str();
        match url_authority_start(text) {
            Some(start) => redact_url(text, start),
            None => redact_key_values(text),
        }
    }
}

const HIDDEN: &str = "<hidden>";

/// Where the part after `scheme://` begins, when `text` (leading spaces aside) starts with a
/// URL scheme; `None` for libpq's `key=value` form (whose values may hold `://` themselves).
fn url_authority_start(text: &str) -> Option<usize> {
    let lead = text.len() - text.trim_start().len();
    let sep = text[lead..].find("://")? + lead;
    let scheme = &text[lead..sep];
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some(sep + 3)
}

/// `scheme://user:password@hosts/db?password=…`. A password need not be percent-encoded to be
/// hidden: the readers disagree about where an unescaped `@`, `/`, `?` or `#` in it ends it
/// (tokio-postgres takes the userinfo up to the first `@` anywhere, libpq up to the first `@`
/// before a `/`, the operator meant the last `@`), so what is hidden is the union of every
/// reading: from the first `:` before the last `@` up to that `@`, and the value of every
/// `password` parameter (its name percent-decoded) after any `?` or `&`, up to the next
/// `&name=` (an unescaped `&` in it is hidden too). An `@` inside a query value may hide the
/// host and database as well; nothing of a password is ever shown.
fn redact_url(text: &str, start: usize) -> String {
    let bytes = text.as_bytes();
    let mut hidden = vec![false; bytes.len()];
    if let Some(at) = text[start..].rfind('@').map(|i| start + i) {
        if let Some(colon) = text[start..at].find(':').map(|i| start + i) {
            hidden[colon + 1..at].iter_mut().for_each(|h| *h = true);
        }
    }
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if b != b'?' && b != b'&' {
            continue;
        }
        let name_start = i + 1;
        let Some(eq) = text[name_start..]
            .find(['=', '&', '?'])
            .map(|j| name_start + j)
        else {
            continue;
        };
        if bytes[eq] != b'=' || !is_password_name(&text[name_start..eq]) {
            continue;
        }
        let end = next_parameter(text, eq + 1);
        hidden[eq + 1..end].iter_mut().for_each(|h| *h = true);
    }
    // Every run of hidden bytes becomes one `<hidden>` (runs start and end on char boundaries:
    // they are bounded by ASCII delimiters or the end of the text).
    let mut out = String::with_capacity(text.len());
    let mut run_start = None;
    for (i, c) in text.char_indices() {
        match (hidden[i], run_start) {
            (true, None) => {
                run_start = Some(i);
                out.push_str(HIDDEN);
            }
            (true, Some(_)) => {}
            (false, _) => {
                run_start = None;
                out.push(c);
            }
        }
    }
    out
}

/// Whether a query parameter's name, percent-decoded as tokio-postgres decodes it, is
/// `password` (in any case).
fn is_password_name(raw: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    decoded.eq_ignore_ascii_case("password")
}

/// Where a parameter value starting at `from` ends: at the next `&` followed by a name and
/// `=`, or at the end of the text.
fn next_parameter(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(amp) = text[i..].find('&').map(|j| i + j) {
        let name_len = bytes[amp + 1..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'%' | b'-'))
            .count();
        if name_len > 0 && bytes.get(amp + 1 + name_len) == Some(&b'=') {
            return amp;
        }
        i = amp + 1;
    }
    text.len()
}

/// `host=h password=secret dbname=d` (libpq's key/value form, values optionally quoted with
/// `'…'` and backslash escapes, spaces allowed around `=`): the password value is hidden.
fn redact_key_values(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let key_start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() || chars[i] != '=' {
            // Not `key=value`: nothing any reader takes as a setting, perhaps the rest of an
            // unquoted password with a space in it.
            out.push_str(HIDDEN);
            out.push(' ');
            continue;
        }
        out.push_str(&key);
        out.push('=');
        i += 1;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let value_start = i;
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = i.min(chars.len());
        }
        if key.eq_ignore_ascii_case("password") {
            out.push_str(HIDDEN);
        } else {
            out.extend(&chars[value_start..i]);
        }
    }
    out.trim_end().to_string()
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    pub min_length: usize,
    pub required_classes: usize,
    pub max_length: usize,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// 0 = one worker per CPU.
    pub hash_workers: usize,
    pub hash_queue: usize,
    /// Verify hashes brought in by `storekey import` (Magento, bcrypt, PBKDF2); off, they never
    /// verify and those customers must reset their password.
    pub accept_legacy_hashes: bool,
}
impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            min_length: 8,
            required_classes: 3,
            max_length: 256,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hash_workers: 0,
            hash_queue: 64,
            accept_legacy_hashes: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    pub max_failures: u32,
    pub lock_minutes: u32,
    /// An identical failed sign-in (same account, same wrong secret, same client address)
    /// repeated within this many seconds counts once toward lockout and the throttle (0 = off).
    pub repeat_window_seconds: u32,
}
impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            max_failures: 10,
            lock_minutes: 10,
            repeat_window_seconds: 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    pub login_per_ip_per_minute: u32,
    /// Self-registrations (`createCustomerV2`, `createCustomer`, `customerCreate`) per client IP
    /// per hour, counted whether they create an account or answer "already exists", so the
    /// answer is no account oracle beyond this budget (0 = off). Admin creation is exempt.
    pub create_account_per_ip_per_hour: u32,
}
impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            login_per_ip_per_minute: 60,
            create_account_per_ip_per_hour: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    pub commerce_ttl_minutes: u32,
    pub storefront_ttl_days: u32,
    pub revoke_all_on_logout: bool,
    /// Commerce sign-in also sets an HttpOnly session cookie (SPEC §5.1).
    pub session_cookie: bool,
}
impl Default for TokensConfig {
    fn default() -> Self {
        TokensConfig {
            commerce_ttl_minutes: 60,
            storefront_ttl_days: 42,
            revoke_all_on_logout: false,
            session_cookie: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountConfig {
    pub require_confirmation: bool,
    /// Lifetime of an account invite's activation token: Shopify's activation URLs expire
    /// after 30 days.
    pub activation_ttl_days: u32,
    /// The activation link an invite mails (`{id}`, `{token}`, `{email}`): Shopify's
    /// `/account/activate/<id>/<token>` form, which Hydrogen's account routes answer.
    pub activation_url_template: String,
}
impl Default for AccountConfig {
    fn default() -> Self {
        AccountConfig {
            require_confirmation: false,
            activation_ttl_days: 30,
            activation_url_template: "http://localhost:3000/account/activate/{id}/{token}".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResetConfig {
    pub ttl_hours: u32,
    pub max_requests_per_hour: u32,
    pub min_minutes_between: u32,
    pub url_template: String,
}
impl Default for ResetConfig {
    fn default() -> Self {
        ResetConfig {
            ttl_hours: 2,
            max_requests_per_hour: 5,
            min_minutes_between: 10,
            url_template:
                "http://localhost:3000/customer/account/createPassword/?email={email}&token={token}"
                    .into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtcConfig {
    pub enabled: bool,
    pub ttl_seconds: u32,
}
impl Default for OtcConfig {
    fn default() -> Self {
        OtcConfig {
            enabled: true,
            ttl_seconds: 30,
        }
    }
}

#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MultipassConfig {
    pub secret: String,
    pub max_age_minutes: u32,
    pub max_skew_seconds: u32,
}
impl Default for MultipassConfig {
    fn default() -> Self {
        MultipassConfig {
            secret: String::new(),
            max_age_minutes: 15,
            max_skew_seconds: 60,
        }
    }
}
impl std::fmt::Debug for MultipassConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipassConfig")
            .field(
                "secret",
                &if self.secret.is_empty() {
                    ""
                } else {
                    "<hidden>"
                },
            )
            .field("max_age_minutes", &self.max_age_minutes)
            .field("max_skew_seconds", &self.max_skew_seconds)
            .finish()
    }
}

/// `[oidc]`: the OpenID Connect provider (SPEC §10).
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    pub enabled: bool,
    /// The exact `iss`; empty = the server's own base URL (`http://<bound address>`).
    pub issuer: String,
    pub code_seconds: u32,
    pub access_token_minutes: u32,
    pub refresh_token_days: u32,
    pub id_token_minutes: u32,
    pub session_idle_days: u32,
    pub session_max_days: u32,
    pub login_code_minutes: u32,
    /// 32 bytes (64 hex characters or base64) sealing the signing keys in the store; empty =
    /// the key in `key_file`, created on first start.
    pub key_encryption_key: String,
    pub key_file: String,
    /// How long after a refresh token's rotation a second use of it is taken for a
    /// concurrent refresh (refused, nothing ended) rather than a replay (the grant ended).
    pub refresh_grace_seconds: u32,
    /// Whether RP-initiated logout also ends the client's grants made in that session
    /// (their refresh tokens stop working).
    pub logout_ends_grants: bool,
    /// How long a rotated-out signing key stays published beyond the ID-token lifetime, and how
    /// long `storekey oidc rotate-key`'s new key is published before it signs (relying parties
    /// cache the JWKS).
    pub key_publish_minutes: u32,
}
impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            enabled: true,
            issuer: String::new(),
            code_seconds: 60,
            access_token_minutes: 60,
            refresh_token_days: 30,
            id_token_minutes: 60,
            session_idle_days: 7,
            session_max_days: 30,
            login_code_minutes: 10,
            key_encryption_key: String::new(),
            key_file: "data/oidc.kek".into(),
            refresh_grace_seconds: 10,
            logout_ends_grants: true,
            key_publish_minutes: 10,
        }
    }
}
impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = if self.key_encryption_key.is_empty() {
            ""
        } else {
            "<hidden>"
        };
        f.debug_struct("OidcConfig")
            .field("enabled", &self.enabled)
            .field("issuer", &self.issuer)
            .field("code_seconds", &self.code_seconds)
            .field("access_token_minutes", &self.access_token_minutes)
            .field("refresh_token_days", &self.refresh_token_days)
            .field("id_token_minutes", &self.id_token_minutes)
            .field("session_idle_days", &self.session_idle_days)
            .field("session_max_days", &self.session_max_days)
            .field("login_code_minutes", &self.login_code_minutes)
            .field("key_encryption_key", &hidden)
            .field("key_file", &self.key_file)
            .field("refresh_grace_seconds", &self.refresh_grace_seconds)
            .field("logout_ends_grants", &self.logout_ends_grants)
            .field("key_publish_minutes", &self.key_publish_minutes)
            .finish()
    }
}

#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub outbox_dir: String,
    pub from: String,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    pub smtp_tls: SmtpTls,
}
impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            transport: MailTransport::Outbox,
            outbox_dir: "data/outbox".into(),
            from: "store@localhost".into(),
            smtp_host: None,
            smtp_port: 587,
            smtp_username: None,
            smtp_password: None,
            smtp_tls: SmtpTls::Starttls,
        }
    }
}
impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("transport", &self.transport)
            .field("outbox_dir", &self.outbox_dir)
            .field("from", &self.from)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_username", &self.smtp_username)
            .field(
                "smtp_password",
                &self.smtp_password.as_ref().map(|_| "<hidden>"),
            )
            .field("smtp_tls", &self.smtp_tls)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweeperConfig {
    pub interval_seconds: u64,
    pub batch: usize,
}
impl Default for SweeperConfig {
    fn default() -> Self {
        SweeperConfig {
            interval_seconds: 5,
            batch: 10000,
        }
    }
}

#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    pub keys: Vec<AdminKeyConfig>,
    /// The console's admin users: shortest password (Adobe Commerce asks for 7; PCI DSS 4.0
    /// requirement 8.3.6 for 12).
    pub password_min_length: usize,
    /// A console session ends after this many idle minutes (Adobe Commerce's admin session
    /// lifetime defaults to 900 s).
    pub session_minutes: u32,
    /// Where "Open the storefront" goes after Login as Customer: `{email}` and `{otc}` are
    /// filled in (URL-encoded). Empty: no such button.
    pub storefront_login_url: String,
    /// Console sign-in with a passkey alone (no password, no TOTP). Off: a passkey is a second
    /// factor beside TOTP.
    pub passkey_only: bool,
    /// From `STOREKEY_ADMIN_KEY` only (plain text, for development and tests); never read from
    /// the file and never written back.
    #[serde(skip)]
    pub env_key: Option<String>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            keys: Vec::new(),
            password_min_length: 12,
            session_minutes: 15,
            storefront_login_url: String::new(),
            passkey_only: false,
            env_key: None,
        }
    }
}

impl std::fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminConfig")
            .field("keys", &self.keys)
            .field("password_min_length", &self.password_min_length)
            .field("session_minutes", &self.session_minutes)
            .field("storefront_login_url", &self.storefront_login_url)
            .field("passkey_only", &self.passkey_only)
            .field("env_key", &self.env_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminKeyConfig {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}
impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// A configuration key whose value is one of a few names. Each is a serde enum with the lowercase
/// names config.toml uses; a bad value is refused while the file is read, with an error naming
/// the key and every allowed value.
macro_rules! config_enum {
    ($(#[$doc:meta])* $name:ident, $key:literal, { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
        #[serde(try_from = "String")]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }
        impl $name {
            /// The key this value is read from.
            pub const KEY: &'static str = $key;
            /// Every allowed value, in the order the documentation lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The name config.toml uses.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == text)
                    .ok_or_else(|| {
                        let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        format!("{}: expected {}, not {text:?}", $key, one_of(&names))
                    })
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

config_enum!(
    /// `mail.transport`: where mail goes.
    MailTransport, "mail.transport", {
        /// One `.eml` file per message in `mail.outbox_dir`.
        Outbox = "outbox",
        /// Through the SMTP server `mail.smtp_host`.
        Smtp = "smtp",
    }
);

config_enum!(
    /// `mail.smtp_tls`: how the SMTP connection is secured.
    SmtpTls, "mail.smtp_tls", {
        /// Plain connection upgraded with STARTTLS, which the server must offer.
        Starttls = "starttls",
        /// Implicit TLS from the first byte (usually port 465).
        Tls = "tls",
        /// No TLS (a relay on loopback or a private network).
        None = "none",
    }
);

config_enum!(
    /// `storage.backend`: where customers, tokens and the audit log are kept.
    StorageBackend, "storage.backend", {
        /// One redb file (`storage.path`) on this machine.
        Redb = "redb",
        /// A PostgreSQL database (`storage.url`) that several instances may share.
        Postgres = "postgres",
    }
);

config_enum!(
    /// `storage.tls`: how the PostgreSQL connection is secured when its URL has no `sslmode`
    /// (one there wins, with libpq's meanings: `config/sslmode.rs`).
    StorageTls, "storage.tls", {
        /// Plain TCP (a database on loopback or a private network).
        Disable = "disable",
        /// Encrypted, but the server's certificate is not checked (libpq's `sslmode=require`).
        Require = "require",
        /// Encrypted, the certificate chain checked against `storage.tls_ca_file` (or the Mozilla
        /// roots) and the host name against the certificate.
        VerifyFull = "verify-full",
    }
);

config_enum!(
    /// `log.format`: how log lines on stderr look.
    LogFormat, "log.format", {
        Text = "text",
        Json = "json",
    }
);

impl OidcConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("oidc.{key}: {why}")));
        if !self.issuer.is_empty() {
            let plain = self.issuer.starts_with("https://") || self.issuer.starts_with("http://");
            let host = self.issuer.split_once("://").map_or("", |(_, rest)| rest);
            if !plain
                || host.is_empty()
                || self.issuer.ends_with('/')
                || self.issuer.contains(['?', '#', ' '])
            {
                return bad(
                    "issuer",
                    "expected an http(s) URL without a trailing slash, query or fragment, for example https://id.example.com",
                );
            }
        }
        if !(1..=600).contains(&self.code_seconds) {
            return bad("code_seconds", "must be between 1 and 600");
        }
        for (key, value) in [
            ("access_token_minutes", self.access_token_minutes),
            ("refresh_token_days", self.refresh_token_days),
            ("id_token_minutes", self.id_token_minutes),
            ("session_idle_days", self.session_idle_days),
            ("session_max_days", self.session_max_days),
            ("login_code_minutes", self.login_code_minutes),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1");
            }
        }
        if self.key_encryption_key.is_empty() && self.key_file.is_empty() {
            return bad(
                "key_file",
                "must not be empty when oidc.key_encryption_key is",
            );
        }
        Ok(())
    }
}

/// `[webauthn]`: passkeys on the hosted pages and the console (SPEC §11).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebauthnConfig {
    /// The relying party id: the domain passkeys are bound to (`shop.example.com`, or a parent
    /// domain of every origin). Empty = passkeys off.
    pub rp_id: String,
    /// The name authenticators show beside the account ("Example Shop").
    pub rp_name: String,
    /// The exact origins (`https://id.example.com`) the pages are served from; a ceremony from
    /// any other origin is refused. `http://` only for `localhost` or a loopback address.
    pub origins: Vec<String>,
    /// How long a ceremony's challenge may be answered.
    pub challenge_seconds: u32,
}

impl Default for WebauthnConfig {
    fn default() -> Self {
        WebauthnConfig {
            rp_id: String::new(),
            rp_name: "storekey".into(),
            origins: Vec::new(),
            challenge_seconds: 300,
        }
    }
}

impl WebauthnConfig {
    pub fn enabled(&self) -> bool {
        !self.rp_id.is_empty()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| Err(ConfigError(format!("webauthn.{key}: {why}")));
        if !(10..=3600).contains(&self.challenge_seconds) {
            return bad("challenge_seconds", "must be between 10 and 3600".into());
        }
        if !self.enabled() {
            return Ok(());
        }
        let rp = self.rp_id.as_str();
        if rp.contains(['/', ':', ' ']) || rp.ends_with('.') || rp != rp.to_ascii_lowercase() {
            return bad(
                "rp_id",
                format!("\"{rp}\" is not a lower-case domain name (no scheme, port or path)"),
            );
        }
        if self.origins.is_empty() {
            return bad(
                "origins",
                "must name at least one origin when webauthn.rp_id is set, for example [\"https://id.example.com\"]".into(),
            );
        }
        for origin in &self.origins {
            let (scheme, host) = origin.split_once("://").unwrap_or(("", ""));
            let host_only = host.rsplit_once(':').map_or(host, |(h, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    host
                }
            });
            let loopback = host_only == "localhost"
                || host_only
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            let scheme_ok = scheme == "https" || (scheme == "http" && loopback);
            let within = host_only == rp || host_only.ends_with(&format!(".{rp}"));
            if !scheme_ok || host.is_empty() || host.contains(['/', '?', '#']) {
                return bad(
                    "origins",
                    format!("\"{origin}\" is not an https origin (scheme and host, no path; http only for localhost)"),
                );
            }
            if !within {
                return bad(
                    "origins",
                    format!("\"{origin}\" is not on {rp} or a subdomain of it (webauthn.rp_id)"),
                );
            }
        }
        Ok(())
    }
}

/// Where the file part of the configuration comes from.
pub enum ConfigSource<'a> {
    /// `./config.toml` when present, else built-in defaults.
    Default,
    /// An explicit `--config PATH`: a missing file is an error.
    Explicit(&'a Path),
}

impl Config {
    /// Loads defaults → file → the given environment variables, then validates.
    pub fn load(
        source: ConfigSource<'_>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (path, required) = match source {
            ConfigSource::Default => (PathBuf::from("config.toml"), false),
            ConfigSource::Explicit(p) => (p.to_path_buf(), true),
        };
        let mut table = match std::fs::read_to_string(&path) {
            Ok(text) => text.parse::<toml::Table>().map_err(|e| {
                ConfigError(format!(
                    "config {}: {}",
                    path.display(),
                    e.message().replace('\n', " ")
                ))
            })?,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(e) => return Err(ConfigError(format!("config {}: {e}", path.display()))),
        };
        let mut admin_env_key = None;
        apply_env(&mut table, env, &mut admin_env_key)?;
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(describe_toml_error(&e)))?;
        config.admin.env_key = admin_env_key;
        config.validate()?;
        Ok(config)
    }

    /// Checks the values serde cannot: ranges, address syntax and keys that depend on others.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(
                "server.listen",
                "expected IP:PORT, for example 127.0.0.1:8080",
            );
        }
        if self.server.body_limit_bytes < 1024 {
            return bad("server.body_limit_bytes", "must be at least 1024");
        }
        if self.server.max_query_depth == 0 || self.server.max_query_complexity == 0 {
            return bad("server.max_query_depth", "limits must be positive");
        }
        if self.server.max_value_depth < 8 {
            return bad("server.max_value_depth", "must be at least 8");
        }
        // Documents within it are validated and run on a worker's 2 MiB stack, by code that
        // recurses per level (tests/it/gate.rs runs one at this depth through the server).
        if self.server.max_value_depth > MAX_VALUE_DEPTH {
            return bad("server.max_value_depth", "must be at most 128");
        }
        if self.server.max_expanded_selections == 0 {
            return bad("server.max_expanded_selections", "must be positive");
        }
        if self.server.request_timeout_seconds == 0 {
            return bad("server.request_timeout_seconds", "must be positive");
        }
        if !(1..=3600).contains(&self.server.keep_alive_seconds) {
            return bad("server.keep_alive_seconds", "must be between 1 and 3600");
        }
        if self.server.max_connections == 0 {
            return bad("server.max_connections", "must be positive");
        }
        if self.storage.path.is_empty() {
            return bad("storage.path", "must not be empty");
        }
        if self.storage.backup_dir.is_empty() {
            return bad("storage.backup_dir", "must not be empty");
        }
        if self.storage.backend == StorageBackend::Postgres && self.storage.url.is_none() {
            return bad(
                "storage.url",
                "required when storage.backend = \"postgres\" (env STOREKEY_STORAGE_URL)",
            );
        }
        // The mode in force: the URL's own sslmode, else storage.tls.
        let mut tls = TlsMode::from(self.storage.tls);
        if let Some(url) = &self.storage.url {
            let (choice, rest) = resolve_tls(url.expose(), self.storage.tls)
                .map_err(|why| ConfigError(format!("storage.url: {why}")))?;
            tls = choice.mode;
            if rest
                .parse::<tokio_postgres::Config>()
                .map_or(true, |c| c.get_hosts().is_empty())
            {
                return bad(
                    "storage.url",
                    "not a PostgreSQL connection URL (postgresql://user:password@host:port/database)",
                );
            }
        }
        if !(1..=65536).contains(&self.storage.cache_mib) {
            return bad("storage.cache_mib", "must be from 1 to 65536");
        }
        if self.storage.pool_size == 0 {
            return bad("storage.pool_size", "must be at least 1");
        }
        if self.storage.tls_ca_file.is_some() && !tls.verifies_chain() {
            return bad(
                "storage.tls_ca_file",
                &format!("only used when the server's certificate is checked (verify-ca or verify-full), and the mode in force is {tls}"),
            );
        }
        if self.password.min_length == 0 || self.password.max_length < self.password.min_length {
            return bad(
                "password.max_length",
                "must be at least password.min_length (and min_length at least 1)",
            );
        }
        if self.password.required_classes > 4 {
            return bad("password.required_classes", "must be between 0 and 4");
        }
        if argon2::Params::new(
            self.password.argon2_memory_kib,
            self.password.argon2_iterations,
            self.password.argon2_parallelism,
            None,
        )
        .is_err()
        {
            return bad(
                "password.argon2_memory_kib",
                "argon2 parameters out of range (memory >= 8 KiB per lane, iterations >= 1, parallelism >= 1)",
            );
        }
        if self.password.hash_queue == 0 {
            return bad("password.hash_queue", "must be at least 1");
        }
        if self.tokens.commerce_ttl_minutes == 0 {
            return bad("tokens.commerce_ttl_minutes", "must be at least 1");
        }
        if self.tokens.storefront_ttl_days == 0 {
            return bad("tokens.storefront_ttl_days", "must be at least 1");
        }
        if self.reset.ttl_hours == 0 {
            return bad("reset.ttl_hours", "must be at least 1");
        }
        if self.account.activation_ttl_days == 0 {
            return bad("account.activation_ttl_days", "must be at least 1");
        }
        if self.otc.ttl_seconds == 0 {
            return bad("otc.ttl_seconds", "must be at least 1");
        }
        self.oidc.validate()?;
        self.webauthn.validate()?;
        if self.admin.passkey_only && !self.webauthn.enabled() {
            return bad(
                "admin.passkey_only",
                "needs passkeys on: set webauthn.rp_id and webauthn.origins",
            );
        }
        if self.mail.transport == MailTransport::Smtp
            && self.mail.smtp_host.as_deref().unwrap_or("").is_empty()
        {
            return bad("mail.smtp_host", "required when mail.transport = \"smtp\"");
        }
        if self.sweeper.interval_seconds == 0 || self.sweeper.batch == 0 {
            return bad(
                "sweeper.interval_seconds",
                "interval and batch must be at least 1",
            );
        }
        for key in &self.admin.keys {
            if key.name.is_empty() {
                return bad("admin.keys", "every key needs a name");
            }
            if key.sha256.len() != 64 || hex::decode(&key.sha256).is_err() {
                return bad(
                    "admin.keys",
                    &format!("key \"{}\": sha256 must be 64 hex characters", key.name),
                );
            }
        }
        if self.admin.password_min_length < 7 || self.admin.password_min_length > 256 {
            return bad(
                "admin.password_min_length",
                "must be between 7 (Adobe Commerce's minimum) and 256",
            );
        }
        if self.admin.session_minutes == 0 {
            return bad("admin.session_minutes", "must be at least 1");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return bad("log.level", "not a valid level or filter");
        }
        Ok(())
    }

    /// Worker threads for argon2: the configured number, or one per CPU.
    pub fn hash_workers(&self) -> usize {
        if self.password.hash_workers > 0 {
            self.password.hash_workers
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }
    }
}

/// Applies `STOREKEY_<SECTION>_<KEY>` variables onto the file's table. Each value is read with
/// the type the key has in the defaults, so `STOREKEY_SMTP_PASSWORD=1234` stays a string.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
    admin_env_key: &mut Option<String>,
) -> Result<(), ConfigError> {
    let defaults = toml::Table::try_from(Config::default())
        .map_err(|e| ConfigError(format!("internal: defaults do not serialize: {e}")))?;
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("STOREKEY_"))
        .collect();
    vars.sort();
    for (name, value) in vars {
        let rest = &name["STOREKEY_".len()..];
        // The test suite's own switches (tests/support/postgres.rs), inherited by the binaries
        // it starts; not configuration.
        if rest.starts_with("TEST_") || rest == "REQUIRE_PG" {
            continue;
        }
        if rest == "ADMIN_KEY" {
            if !value.is_empty() {
                *admin_env_key = Some(value);
            }
            continue;
        }
        let lower = rest.to_ascii_lowercase();
        // The sections are those of the defaults, so a new one takes variables at once.
        let Some(section) = defaults
            .iter()
            .filter(|(_, v)| v.is_table())
            .map(|(s, _)| s.as_str())
            .find(|s| lower.starts_with(&format!("{s}_")))
        else {
            return Err(ConfigError(format!(
                "{name}: no such configuration section"
            )));
        };
        let key = &lower[section.len() + 1..];
        let default = defaults
            .get(section)
            .and_then(|s| s.as_table())
            .and_then(|t| t.get(key));
        let parsed = match default {
            Some(toml::Value::String(_)) | None => toml::Value::String(value.clone()),
            Some(_) => parse_toml_value(&value).ok_or_else(|| {
                ConfigError(format!(
                    "{name}: \"{value}\" is not a valid value for {section}.{key}"
                ))
            })?,
        };
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry.as_table_mut() {
            Some(t) => {
                t.insert(key.to_string(), parsed);
            }
            None => return Err(ConfigError(format!("config: [{section}] must be a table"))),
        }
    }
    Ok(())
}

fn parse_toml_value(text: &str) -> Option<toml::Value> {
    let doc = format!("v = {text}").parse::<toml::Table>().ok()?;
    doc.get("v").cloned()
}

fn describe_toml_error(e: &toml::de::Error) -> String {
    // toml's messages span several lines; the CLI contract is one line.
    let msg = e.message().replace('\n', " ");
    format!("config: {msg}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load_str(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(ConfigSource::Explicit(&path), env(vars))
    }

    #[test]
    fn defaults_match_the_spec() {
        let c = Config::default();
        assert_eq!(c.server.listen, "127.0.0.1:8080");
        assert_eq!(c.password.argon2_memory_kib, 19456);
        assert_eq!(c.password.argon2_iterations, 2);
        assert_eq!(c.lockout.max_failures, 10);
        assert_eq!(c.lockout.repeat_window_seconds, 60);
        assert_eq!(c.otc.ttl_seconds, 30);
        c.validate().unwrap();
    }

    #[test]
    fn env_overrides_file_and_keeps_types() {
        let c = load_str(
            "[server]\nlisten = \"127.0.0.1:9000\"\n[lockout]\nmax_failures = 3\n",
            &[
                ("STOREKEY_SERVER_LISTEN", "127.0.0.1:0"),
                ("STOREKEY_LOCKOUT_MAX_FAILURES", "5"),
                ("STOREKEY_MAIL_SMTP_PASSWORD", "1234"),
                ("STOREKEY_ADMIN_KEY", "dev-key"),
                ("STOREKEY_OIDC_CODE_SECONDS", "3"),
                (
                    "STOREKEY_OIDC_KEY_ENCRYPTION_KEY",
                    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                ),
            ],
        )
        .unwrap();
        assert_eq!(c.oidc.code_seconds, 3);
        assert_eq!(c.oidc.key_encryption_key.len(), 64);
        assert!(
            !format!("{c:?}").contains("00112233"),
            "the key-encryption key is hidden"
        );
        assert_eq!(c.server.listen, "127.0.0.1:0");
        assert_eq!(c.lockout.max_failures, 5);
        assert_eq!(c.mail.smtp_password.as_deref(), Some("1234"));
        assert_eq!(c.admin.env_key.as_deref(), Some("dev-key"));
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let c = load_str(
            "[multipass]\nsecret = \"mp-secret-value-42\"\n",
            &[
                ("STOREKEY_ADMIN_KEY", "admin-key-value-17"),
                ("STOREKEY_MAIL_SMTP_PASSWORD", "smtp-password-value-99"),
            ],
        )
        .unwrap();
        let text = format!("{c:?}");
        for secret in [
            "admin-key-value-17",
            "smtp-password-value-99",
            "mp-secret-value-42",
        ] {
            assert!(!text.contains(secret), "{secret} printed in {text}");
        }
        assert!(text.contains("env_key: Some(\"<redacted>\")"), "{text}");
    }

    #[test]
    fn backup_dir_defaults_and_takes_its_env_override() {
        assert_eq!(Config::default().storage.backup_dir, "data/backups");
        let c = load_str("", &[("STOREKEY_STORAGE_BACKUP_DIR", "/srv/backups")]).unwrap();
        assert_eq!(c.storage.backup_dir, "/srv/backups");
        let e = load_str("[storage]\nbackup_dir = \"\"\n", &[]).unwrap_err();
        assert!(e.0.starts_with("storage.backup_dir:"), "{e}");
    }

    #[test]
    fn storage_backend_defaults_to_redb_and_reads_postgres_settings() {
        let c = Config::default();
        assert_eq!(c.storage.backend, StorageBackend::Redb);
        assert_eq!(c.storage.url, None);
        assert_eq!(c.storage.pool_size, 16);
        assert_eq!(c.storage.tls, StorageTls::VerifyFull);
        let c = load_str(
            "[storage]\nbackend = \"postgres\"\ntls = \"disable\"\npool_size = 4\n",
            &[(
                "STOREKEY_STORAGE_URL",
                "postgresql://sk@db.internal/storekey",
            )],
        )
        .unwrap();
        assert_eq!(c.storage.backend, StorageBackend::Postgres);
        assert_eq!(c.storage.tls, StorageTls::Disable);
        assert_eq!(c.storage.pool_size, 4);
        assert_eq!(
            c.storage.url.as_ref().map(|u| u.expose()),
            Some("postgresql://sk@db.internal/storekey")
        );
    }

    #[test]
    fn a_value_depth_past_what_a_worker_validates_is_refused() {
        assert_eq!(
            load_str("[server]\nmax_value_depth = 129\n", &[])
                .unwrap_err()
                .0,
            "server.max_value_depth: must be at most 128"
        );
        assert!(load_str("[server]\nmax_value_depth = 128\n", &[]).is_ok());
    }

    #[test]
    fn storage_settings_that_cannot_work_are_refused_with_the_key() {
        let cases = [
            (
                "[storage]\nbackend = \"postgres\"\n",
                "storage.url: required when storage.backend = \"postgres\" (env STOREKEY_STORAGE_URL)",
            ),
            (
                "[storage]\nbackend = \"postgres\"\nurl = \"mysql://nope\"\n",
                "storage.url: not a PostgreSQL connection URL (postgresql://user:password@host:port/database)",
            ),
            (
                "[storage]\nbackend = \"postgres\"\nurl = \"postgresql://h/db\"\npool_size = 0\n",
                "storage.pool_size: must be at least 1",
            ),
            (
                "[storage]\nurl = \"postgresql://h/db\"\ntls = \"require\"\ntls_ca_file = \"/etc/ca.pem\"\n",
                "storage.tls_ca_file: only used when the server's certificate is checked (verify-ca or verify-full), and the mode in force is require",
            ),
            (
                "[storage]\nurl = \"postgresql://h/db?sslmode=disable\"\ntls_ca_file = \"/etc/ca.pem\"\n",
                "storage.tls_ca_file: only used when the server's certificate is checked (verify-ca or verify-full), and the mode in force is disable",
            ),
            (
                "[storage]\nurl = \"postgresql://h/db?sslmode=verify\"\n",
                "storage.url: sslmode: expected \"disable\", \"allow\", \"prefer\", \"require\", \"verify-ca\" or \"verify-full\", not \"verify\"",
            ),
            (
                "[storage]\nbackend = \"sqlite\"\n",
                "config: storage.backend: expected \"redb\" or \"postgres\", not \"sqlite\"",
            ),
            (
                "[storage]\ntls = \"prefer\"\n",
                "config: storage.tls: expected \"disable\", \"require\" or \"verify-full\", not \"prefer\"",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(load_str(text, &[]).unwrap_err().0, message, "{text}");
        }
    }

    #[test]
    fn passkey_settings_that_cannot_work_are_refused_with_the_key() {
        let cases = [
            (
                "[webauthn]\nrp_id = \"shop.example\"\n",
                "webauthn.origins: must name at least one origin when webauthn.rp_id is set, for example [\"https://id.example.com\"]",
            ),
            (
                "[webauthn]\nrp_id = \"https://shop.example\"\norigins = [\"https://shop.example\"]\n",
                "webauthn.rp_id: \"https://shop.example\" is not a lower-case domain name (no scheme, port or path)",
            ),
            (
                "[webauthn]\nrp_id = \"shop.example\"\norigins = [\"http://id.shop.example\"]\n",
                "webauthn.origins: \"http://id.shop.example\" is not an https origin (scheme and host, no path; http only for localhost)",
            ),
            (
                "[webauthn]\nrp_id = \"shop.example\"\norigins = [\"https://id.shop.example/account\"]\n",
                "webauthn.origins: \"https://id.shop.example/account\" is not an https origin (scheme and host, no path; http only for localhost)",
            ),
            (
                "[webauthn]\nrp_id = \"shop.example\"\norigins = [\"https://shop.example.evil.test\"]\n",
                "webauthn.origins: \"https://shop.example.evil.test\" is not on shop.example or a subdomain of it (webauthn.rp_id)",
            ),
            (
                "[webauthn]\nchallenge_seconds = 5\n",
                "webauthn.challenge_seconds: must be between 10 and 3600",
            ),
            (
                "[admin]\npasskey_only = true\n",
                "admin.passkey_only: needs passkeys on: set webauthn.rp_id and webauthn.origins",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(load_str(text, &[]).unwrap_err().0, message, "{text}");
        }
        // What works: https on the RP id or a subdomain, a port, and http on localhost.
        let ok = load_str(
            "[webauthn]\nrp_id = \"shop.example\"\norigins = [\"https://shop.example\", \"https://id.shop.example:8443\"]\n[admin]\npasskey_only = true\n",
            &[],
        )
        .unwrap();
        assert!(ok.webauthn.enabled() && ok.admin.passkey_only);
        let local = load_str(
            "",
            &[
                ("STOREKEY_WEBAUTHN_RP_ID", "localhost"),
                ("STOREKEY_WEBAUTHN_ORIGINS", "[\"http://localhost:8080\"]"),
            ],
        )
        .unwrap();
        assert_eq!(local.webauthn.origins, ["http://localhost:8080"]);
    }

    #[test]
    fn a_url_sslmode_that_checks_the_certificate_takes_the_ca_file() {
        for url in [
            "postgresql://h/db?sslmode=verify-ca",
            "host=h dbname=db sslmode=verify-full",
        ] {
            let text = format!(
                "[storage]\nurl = \"{url}\"\ntls = \"disable\"\ntls_ca_file = \"/etc/ca.pem\"\n"
            );
            assert!(load_str(&text, &[]).is_ok(), "{text}");
        }
    }

    #[test]
    fn the_database_password_is_in_no_debug_or_display_output() {
        let c = load_str(
            "[storage]\nbackend = \"postgres\"\n",
            &[(
                "STOREKEY_STORAGE_URL",
                "postgresql://storekey:pg-password-value-73@db.internal:5432/storekey?sslmode=require",
            )],
        )
        .unwrap();
        let url = c.storage.url.clone().unwrap();
        for text in [
            format!("{c:?}"),
            format!("{:?}", c.storage),
            format!("{url}"),
            format!("{url:?}"),
        ] {
            assert!(
                !text.contains("pg-password-value-73"),
                "password printed in {text}"
            );
            assert!(text.contains("db.internal"), "{text}");
        }
        assert_eq!(
            url.to_string(),
            "postgresql://storekey:<hidden>@db.internal:5432/storekey?sslmode=require"
        );
    }

    #[test]
    fn every_form_of_a_database_password_is_hidden() {
        let cases = [
            ("postgres://u:secret@h/db", "postgres://u:<hidden>@h/db"),
            ("postgresql://u@h/db", "postgresql://u@h/db"),
            (
                "postgresql://h/db?user=u&password=secret&x=1",
                "postgresql://h/db?user=u&password=<hidden>&x=1",
            ),
            (
                "postgresql://u:p%40ss@h1,h2/db",
                "postgresql://u:<hidden>@h1,h2/db",
            ),
            (
                "host=h user=u password=secret dbname=d",
                "host=h user=u password=<hidden> dbname=d",
            ),
            (
                "host=h password='se cret' dbname=d",
                "host=h password=<hidden> dbname=d",
            ),
            (
                "host=h password = secret dbname=d",
                "host=h password=<hidden> dbname=d",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(DatabaseUrl::new(url).to_string(), shown, "{url}");
        }
    }

    /// Every reserved character (and a space), unescaped, in a password in each place a
    /// connection string can carry one.
    #[test]
    fn a_password_with_any_reserved_character_is_hidden() {
        for c in ":/?#[]@!$&'()*+,;=% ".chars() {
            let pw = format!("PW{c}SECRET");
            let quoted = pw.replace('\\', "\\\\").replace('\'', "\\'");
            let cases = [
                (
                    format!("postgresql://storekey:{pw}@db.internal:5432/storekey?sslmode=require"),
                    "postgresql://storekey:<hidden>@db.internal:5432/storekey?sslmode=require"
                        .to_string(),
                ),
                (
                    format!("postgres://storekey:{pw}@db.internal/storekey"),
                    "postgres://storekey:<hidden>@db.internal/storekey".to_string(),
                ),
                (
                    format!("postgresql://db.internal/storekey?user=storekey&password={pw}"),
                    "postgresql://db.internal/storekey?user=storekey&password=<hidden>".to_string(),
                ),
                (
                    format!("host=db.internal password='{quoted}' dbname=storekey"),
                    "host=db.internal password=<hidden> dbname=storekey".to_string(),
                ),
            ];
            for (url, shown) in cases {
                assert_eq!(DatabaseUrl::new(&url).to_string(), shown, "{url}");
            }
        }
        // A `key=value` string whose password holds `://` is not a URL.
        assert_eq!(
            DatabaseUrl::new("host=h password=PW://SECRET@x dbname=d").to_string(),
            "host=h password=<hidden> dbname=d"
        );
        // An unquoted password with a space: the rest is no setting, and hidden too.
        assert_eq!(
            DatabaseUrl::new("host=h password=PW SECRET dbname=d").to_string(),
            "host=h password=<hidden> <hidden> dbname=d"
        );
        // A percent-encoded parameter name is the same parameter to tokio-postgres.
        assert_eq!(
            DatabaseUrl::new("postgres://h/d?p%61ssword=SECRET").to_string(),
            "postgres://h/d?p%61ssword=<hidden>"
        );
    }

    /// Differential: for generated passwords in every form, tokio-postgres (the component that
    /// reads `storage.url`) is asked what the password is; neither that nor any letter of the
    /// password meant is in the redacted text, and the host and database are. Passwords are
    /// upper-case letters and reserved characters; everything else in the strings is lower case,
    /// so an upper-case letter in the redacted text is a leak. Seeded: a failure names its case.
    #[test]
    fn tokio_postgres_never_reads_a_password_the_redaction_shows() {
        const ALPHABET: &[u8] = b":/?#[]@!$&'()*+,;=% \\ABCDEFGHJKLMNPQRSTUVWXYZ";
        let mut seed: u64 = 0x5eed_2222;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let encode = |pw: &str| -> String {
            pw.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' => (b as char).to_string(),
                    _ => format!("%{b:02x}"),
                })
                .collect()
        };
        let mut parsed_passwords = 0;
        for case in 0..4000 {
            let len = 1 + (next() % 16) as usize;
            let mut pw: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize] as char)
                .collect();
            pw.push((b'A' + (next() % 26) as u8) as char);
            let escaped = pw.replace('\\', "\\\\").replace('\'', "\\'");
            let unquoted: String = pw
                .chars()
                .flat_map(|c| match c {
                    '\\' | '\'' | ' ' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            let forms = [
                format!("postgresql://storekey:{pw}@db.internal:5432/storekey?sslmode=require"),
                format!("postgres://storekey:{}@db.internal/storekey", encode(&pw)),
                format!(
                    "postgresql://db.internal:5432/storekey?user=storekey&password={}&sslmode=require",
                    encode(&pw)
                ),
                format!(
                    "postgresql://db.internal:5432/storekey?user=storekey&password={}",
                    pw.replace('&', "%26")
                ),
                format!("host=db.internal user=storekey password='{escaped}' dbname=storekey"),
                format!("host=db.internal password={unquoted} dbname=storekey"),
            ];
            for (form, url) in forms.iter().enumerate() {
                let shown = DatabaseUrl::new(url.as_str()).to_string();
                let why = format!("case {case} form {form}: {url} shown as {shown}");
                assert!(!shown.chars().any(|c| c.is_ascii_uppercase()), "{why}");
                assert!(shown.contains("db.internal"), "{why}");
                if form != 3 {
                    assert!(shown.contains("storekey"), "{why}");
                }
                if let Ok(config) = url.parse::<tokio_postgres::Config>() {
                    if let Some(read) = config.get_password() {
                        let read = String::from_utf8_lossy(read);
                        parsed_passwords += 1;
                        if form != 0 && form != 3 {
                            assert_eq!(read, pw, "{why}");
                        }
                        if read.chars().any(|c| c.is_ascii_alphanumeric()) {
                            assert!(!shown.contains(read.as_ref()), "{why}");
                        }
                    }
                }
            }
        }
        assert!(parsed_passwords > 12_000, "{parsed_passwords}");
    }

    #[test]
    fn the_test_suites_postgres_switches_are_not_configuration() {
        let c = load_str(
            "",
            &[
                ("STOREKEY_REQUIRE_PG", "1"),
                (
                    "STOREKEY_TEST_PG_URL",
                    "postgresql://storekey@127.0.0.1:5432/postgres",
                ),
                ("STOREKEY_TEST_BACKEND", "postgres"),
            ],
        )
        .unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let e = load_str("[server]\nlisten_addr = \"x\"\n", &[]).unwrap_err();
        assert!(e.0.contains("listen_addr"), "{e}");
        let e = load_str("", &[("STOREKEY_SERVER_NOPE", "1")]).unwrap_err();
        assert!(e.0.contains("nope"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = load_str("", &[("STOREKEY_LOCKOUT_MAX_FAILURES", "many")]).unwrap_err();
        assert!(e.0.contains("STOREKEY_LOCKOUT_MAX_FAILURES"), "{e}");
        let e = load_str("[server]\nlisten = \"nowhere\"\n", &[]).unwrap_err();
        assert!(e.0.starts_with("server.listen:"), "{e}");
        assert!(!e.0.contains('\n'));
        let e = load_str("[storage]\ncache_mib = 0\n", &[]).unwrap_err();
        assert_eq!(e.0, "storage.cache_mib: must be from 1 to 65536");
        assert_eq!(load_str("", &[]).unwrap().storage.cache_mib, 16);
        let e = load_str("[server]\nkeep_alive_seconds = 0\n", &[]).unwrap_err();
        assert_eq!(e.0, "server.keep_alive_seconds: must be between 1 and 3600");
        let e = load_str("", &[("STOREKEY_SERVER_MAX_CONNECTIONS", "0")]).unwrap_err();
        assert_eq!(e.0, "server.max_connections: must be positive");
    }

    #[test]
    fn a_bad_enumerated_value_names_the_key_and_every_allowed_value() {
        let cases = [
            (
                "STOREKEY_MAIL_TRANSPORT",
                "pigeon",
                "config: mail.transport: expected \"outbox\" or \"smtp\", not \"pigeon\"",
            ),
            (
                "STOREKEY_MAIL_SMTP_TLS",
                "ssl",
                "config: mail.smtp_tls: expected \"starttls\", \"tls\" or \"none\", not \"ssl\"",
            ),
            (
                "STOREKEY_LOG_FORMAT",
                "xml",
                "config: log.format: expected \"text\" or \"json\", not \"xml\"",
            ),
        ];
        for (var, value, message) in cases {
            assert_eq!(load_str("", &[(var, value)]).unwrap_err().0, message);
        }
        let e = load_str("[mail]\ntransport = \"Outbox\"\n", &[]).unwrap_err();
        assert_eq!(
            e.0,
            "config: mail.transport: expected \"outbox\" or \"smtp\", not \"Outbox\""
        );
    }

    #[test]
    fn enumerated_values_read_by_their_lowercase_names() {
        let c = load_str(
            "[mail]\ntransport = \"smtp\"\nsmtp_host = \"mail.example.com\"\nsmtp_tls = \"none\"\n",
            &[("STOREKEY_LOG_FORMAT", "json")],
        )
        .unwrap();
        assert_eq!(c.mail.transport, MailTransport::Smtp);
        assert_eq!(c.mail.smtp_tls, SmtpTls::None);
        assert_eq!(c.log.format, LogFormat::Json);
    }

    /// The shipped config.toml documents every key with its built-in default: it holds each key
    /// the defaults have, with the same value, and reads back as exactly `Config::default()`.
    #[test]
    fn the_shipped_config_toml_is_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let shipped: toml::Table = text.parse().unwrap();
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        for (section, keys) in &defaults {
            let keys = keys.as_table().unwrap();
            let file = shipped
                .get(section)
                .and_then(|s| s.as_table())
                .unwrap_or_else(|| panic!("config.toml has no [{section}]"));
            for (key, default) in keys {
                assert_eq!(
                    file.get(key),
                    Some(default),
                    "config.toml: {section}.{key} should be present with its default"
                );
            }
        }
        let loaded = Config::load(ConfigSource::Explicit(&path), env(&[])).unwrap();
        assert_eq!(loaded, Config::default());
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let e = Config::load(
            ConfigSource::Explicit(Path::new("/nonexistent/storekey.toml")),
            env(&[]),
        )
        .unwrap_err();
        assert!(e.0.contains("/nonexistent/storekey.toml"));
    }
}
