//! Starting and stopping the service: opens the store, builds the sign-in core and the routes,
//! binds the listener, and on shutdown stops accepting, lets in-flight requests finish (bounded)
//! and joins the background tasks.

use crate::api::PeerAddr;
use crate::api::{routes, routes_with_cors, AppState};
use crate::auth::clock::Clock;
use crate::auth::Auth;
use crate::config::{Config, StorageBackend};
use crate::connections::{BoundedIncoming, Connection};
use crate::metrics::Metrics;
use crate::store::Store;
use hyper::service::{make_service_fn, service_fn, Service};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

type BoxFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// How long shutdown waits for in-flight requests before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RunningServer {
    pub addr: SocketAddr,
    pub auth: Arc<Auth>,
    /// The store the core writes to: for tests and tools that inspect it (the core's own
    /// handle is private). Dropped with the server.
    pub store: Store,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting, waits for in-flight requests (at most `DRAIN_TIMEOUT`) and for the
    /// background tasks, then releases the core: the store's writer thread and the hash workers
    /// are joined, so when this returns the database file can be opened again at once.
    pub async fn shutdown(self) {
        let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout_at(deadline, task).await;
        }
        // Work detached from a request (a reset request's write and mail) may hold the core a
        // moment longer than the requests; the last holder drops it, which joins the threads.
        drop(self.store);
        let mut auth = self.auth;
        loop {
            match Arc::try_unwrap(auth) {
                Ok(core) => {
                    // Joining blocks: off the runtime's threads.
                    let _ = tokio::task::spawn_blocking(move || drop(core)).await;
                    return;
                }
                Err(shared) if tokio::time::Instant::now() < deadline => {
                    auth = shared;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(_) => {
                    tracing::warn!("shutdown: the sign-in core is still in use; the database file stays open until it is released");
                    return;
                }
            }
        }
    }
}

/// Opens the store `storage.backend` names, with a failure phrased for the operator: a redb
/// failure names the file (`storage.path`), a PostgreSQL one says PostgreSQL.
pub async fn open_store(config: &Config) -> Result<Store, String> {
    Store::open(&config.storage)
        .await
        .map_err(|e| store_error(config, e))
}

/// A store that would not open, phrased for the operator with the setting to look at.
fn store_error(config: &Config, e: crate::store::StoreError) -> String {
    match config.storage.backend {
        StorageBackend::Redb => format!("storage.path {}: {e}", config.storage.path),
        StorageBackend::Postgres => format!("storage: {e}"),
    }
}

/// `open_store` for the bulk commands (`import`, `export`): a bounded redb page cache.
pub async fn open_store_bulk(config: &Config) -> Result<Store, String> {
    Store::open_bulk(&config.storage)
        .await
        .map_err(|e| store_error(config, e))
}

/// Opens everything and starts serving on `config.server.listen`.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<RunningServer, String> {
    let config = Arc::new(config);
    let store = open_store(&config).await?;
    let metrics = Arc::new(Metrics::new());
    let auth = Arc::new(Auth::from_config(
        config.clone(),
        store.clone(),
        clock,
        metrics,
    )?);
    let listen: SocketAddr = config
        .server
        .listen
        .parse()
        .map_err(|_| format!("server.listen: invalid address {}", config.server.listen))?;

    let (stop, stopped) = watch::channel(false);
    let mut stop_http = stopped.clone();
    let signal = async move {
        let _ = stop_http.wait_for(|s| *s).await;
    };
    let mut incoming = hyper::server::conn::AddrIncoming::bind(&listen)
        .map_err(|e| format!("server.listen {listen}: {e}"))?;
    incoming.set_nodelay(true);
    let addr = incoming.local_addr();
    let oidc = if config.oidc.enabled {
        let issuer = if config.oidc.issuer.is_empty() {
            format!("http://{addr}")
        } else {
            config.oidc.issuer.clone()
        };
        Some(crate::auth::oidc::Provider::start(auth.clone(), &config.oidc, issuer).await?)
    } else {
        None
    };
    let state = AppState::with_oidc(auth.clone(), config.clone(), oidc.clone());
    let header_timeout = Duration::from_secs(config.server.request_timeout_seconds);
    let incoming = BoundedIncoming::new(
        incoming,
        config.server.max_connections,
        Duration::from_secs(config.server.keep_alive_seconds),
    );
    let serving: BoxFuture = if config.server.cors_origins.is_empty() {
        serve(
            warp::service(routes(state)),
            incoming,
            header_timeout,
            signal,
        )
    } else {
        serve(
            warp::service(routes_with_cors(state)),
            incoming,
            header_timeout,
            signal,
        )
    };
    let mut tasks = vec![tokio::spawn(serving)];
    if let Some(provider) = oidc {
        tasks.push(tokio::spawn(reload_keys(provider, stopped.clone())));
    }
    tasks.push(tokio::spawn(crate::sweeper::run(auth.clone(), stopped)));
    // One scan of the customers (time linear in customers, memory one page), beside serving
    // so start-up does not wait for it: it sets storekey_legacy_password_hashes (rehashes count
    // it down from there; one that lands during the scan may leave it one high until the next)
    // and the refusal floor, which refusals answered meanwhile wait for.
    auth.expect_census();
    let counting = auth.clone();
    tasks.push(tokio::spawn(async move {
        match counting.take_census().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                legacy_password_hashes = n,
                "password hashes to be replaced at first sign-in"
            ),
            Err(e) => tracing::warn!("legacy password hash count failed: {e}"),
        }
    }));
    Ok(RunningServer {
        addr,
        auth,
        store,
        stop,
        tasks,
    })
}

/// Reads the signing keys again every minute: a rotation by another process or instance is
/// published (and signs) here too, and a retired key leaves the JWKS.
async fn reload_keys(
    provider: Arc<crate::auth::oidc::Provider>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        if let Err(e) = provider.reload_keys().await {
            tracing::warn!("signing keys not reloaded: {e}");
        }
    }
}

/// Serves `service` with hyper's builder rather than `warp::serve`, which cannot set a header
/// read timeout: a client that has not sent its whole header within `header_timeout` is
/// disconnected. `incoming` caps the open connections and closes idle keep-alive ones. Each request carries its peer address as a [`PeerAddr`] extension (what
/// `warp::addr::remote` reads only under `warp::serve`).
fn serve<S>(
    service: S,
    incoming: BoundedIncoming,
    header_timeout: Duration,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> BoxFuture
where
    S: Service<
            warp::http::Request<hyper::Body>,
            Response = warp::http::Response<hyper::Body>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let make = make_service_fn(move |conn: &Connection| {
        let peer = PeerAddr(conn.remote_addr());
        let in_flight = conn.in_flight();
        let service = service.clone();
        async move {
            Ok::<_, Infallible>(service_fn(
                move |mut req: warp::http::Request<hyper::Body>| {
                    req.extensions_mut().insert(peer);
                    // The connection is not idle while a request runs, however long it takes.
                    let busy = in_flight.start();
                    let answer = service.clone().call(req);
                    async move {
                        let response = answer.await;
                        drop(busy);
                        response
                    }
                },
            ))
        }
    });
    // HTTP/1 only: every client of both dialects speaks it, and hyper's header timeout covers
    // HTTP/1 alone, so an HTTP/2 (h2c) connection could be held open by a silent client.
    let server = hyper::Server::builder(incoming)
        .http1_only(true)
        .http1_header_read_timeout(header_timeout)
        .serve(make)
        .with_graceful_shutdown(signal);
    Box::pin(async move {
        if let Err(e) = server.await {
            tracing::error!("http server: {e}");
        }
    })
}
