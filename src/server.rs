//! Starting and stopping the service: opens the store, builds the sign-in core and the routes,
//! binds the listener, and on shutdown stops accepting, lets in-flight requests finish (bounded)
//! and joins the background tasks.

use crate::api::{routes, AppState};
use crate::auth::clock::Clock;
use crate::auth::Auth;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use warp::Filter;

/// How long shutdown waits for in-flight requests before giving up on them.
type BoxFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RunningServer {
    pub addr: SocketAddr,
    pub auth: Arc<Auth>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting, waits for in-flight requests (at most `DRAIN_TIMEOUT`) and for the
    /// background tasks.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, task).await;
        }
    }
}

/// Opens everything and starts serving on `config.server.listen`.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<RunningServer, String> {
    let config = Arc::new(config);
    let store = Store::open(Path::new(&config.storage.path))
        .map_err(|e| format!("storage.path {}: {e}", config.storage.path))?;
    let metrics = Arc::new(Metrics::new());
    let auth = Arc::new(Auth::new(config.clone(), store, clock, metrics)?);
    let state = AppState::new(auth.clone());
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
    let bind_error = |e: warp::Error| format!("server.listen {listen}: {e}");
    let filter = routes(state);
    let (addr, serving): (SocketAddr, BoxFuture) = if config.server.cors_origins.is_empty() {
        let (a, f) = warp::serve(filter)
            .try_bind_with_graceful_shutdown(listen, signal)
            .map_err(bind_error)?;
        (a, Box::pin(f))
    } else {
        let cors = warp::cors()
            .allow_origins(config.server.cors_origins.iter().map(String::as_str))
            .allow_methods(["GET", "POST", "PUT", "DELETE", "OPTIONS"])
            .allow_headers([
                "content-type",
                "authorization",
                "x-shopify-storefront-access-token",
            ]);
        let (a, f) = warp::serve(filter.with(cors))
            .try_bind_with_graceful_shutdown(listen, signal)
            .map_err(bind_error)?;
        (a, Box::pin(f))
    };
    let mut tasks = vec![tokio::spawn(serving)];
    tasks.push(tokio::spawn(crate::sweeper::run(auth.clone(), stopped)));
    Ok(RunningServer {
        addr,
        auth,
        stop,
        tasks,
    })
}
