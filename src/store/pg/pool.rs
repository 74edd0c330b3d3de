//! `[storage]` → a deadpool of tokio-postgres connections, TLS through rustls (ring provider).

use super::{PgError, Postgres};
use crate::config::{resolve_tls, StorageConfig, TlsMode};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How long a request waits for a free connection, and how long opening one may take, before
/// the caller gets an error instead of hanging.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Postgres {
    /// Builds the pool from `[storage]` and opens one connection, so a wrong URL, password or
    /// TLS setting fails at start with one clear line.
    pub async fn connect(config: &StorageConfig) -> Result<Postgres, PgError> {
        let url = config.url.as_ref().ok_or_else(|| {
            PgError::Config("storage.url: required for the PostgreSQL backend".into())
        })?;
        // The URL's own sslmode (libpq's meanings), else storage.tls.
        let (tls, text) = resolve_tls(url.expose(), config.tls)
            .map_err(|why| PgError::Config(format!("storage.url {url}: {why}")))?;
        let mut pg: tokio_postgres::Config = text.parse().map_err(|_| {
            PgError::Config(format!(
                "storage.url {url}: not a PostgreSQL connection URL"
            ))
        })?;
        pg.ssl_mode(match tls.mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Allow | TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        });
        if pg.get_application_name().is_none() {
            pg.application_name("storekey");
        }
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(CONNECT_TIMEOUT);
        }
        // Fast recycling: a connection returned to the pool is reused without a test query.
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls.mode {
            TlsMode::Disable => Manager::from_config(pg, tokio_postgres::NoTls, manager_config),
            mode => Manager::from_config(pg, tls_connector(mode, config)?, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT + Duration::from_secs(5)))
            .build()
            .map_err(|e| PgError::Config(format!("storage: cannot build the pool: {e}")))?;
        let handle = Postgres {
            pool,
            injected_failures: Default::default(),
            retries: Default::default(),
        };
        drop(handle.client().await?);
        tracing::info!(
            url = %url,
            pool_size = config.pool_size,
            tls = %tls.mode,
            tls_from = %tls.source,
            "connected to PostgreSQL"
        );
        Ok(handle)
    }

    /// A connection from the pool, or a one-line reason there is none.
    pub async fn client(&self) -> Result<deadpool_postgres::Object, PgError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => match e.as_db_error() {
                Some(db) => PgError::Connect(format!(
                    "PostgreSQL refused the connection: {} ({})",
                    db.message(),
                    db.code().code()
                )),
                None => PgError::Connect(format!("cannot connect to PostgreSQL: {}", chain(&e))),
            },
            e => PgError::Connect(format!("no PostgreSQL connection: {e}")),
        })
    }
}

/// An error and its causes, `outer: inner: …` (tokio-postgres keeps the reason a TLS handshake
/// or a connect failed in the source, not in its own message).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn tls_connector(mode: TlsMode, config: &StorageConfig) -> Result<MakeRustlsConnect, PgError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| PgError::Config(format!("storage.tls: {e}")))?;
    let algorithms = provider.signature_verification_algorithms;
    let client = match mode {
        TlsMode::VerifyFull => builder
            .with_root_certificates(roots(config.tls_ca_file.as_deref())?)
            .with_no_client_auth(),
        TlsMode::VerifyCa => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly {
                roots: roots(config.tls_ca_file.as_deref())?,
                algorithms,
            }))
            .with_no_client_auth(),
        // allow, prefer, require (disable never gets here): encrypted, certificate unchecked.
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(algorithms)))
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(client))
}

/// The CA file's certificates, or the Mozilla roots when none is configured.
fn roots(ca_file: Option<&str>) -> Result<RootCertStore, PgError> {
    let mut roots = RootCertStore::empty();
    let Some(path) = ca_file else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(roots);
    };
    let bad = |why: String| PgError::Config(format!("storage.tls_ca_file {path}: {why}"));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    for cert in certs {
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    Ok(roots)
}

/// `require` (and `allow`, `prefer`): the connection is encrypted and the handshake signatures
/// are checked, but the certificate's chain and name are not (libpq's `sslmode=require`).
#[derive(Debug)]
struct EncryptOnly(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the certificate chain is checked against the trusted roots (as for
/// `verify-full`), the host name is not.
#[derive(Debug)]
struct ChainOnly {
    roots: RootCertStore,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
