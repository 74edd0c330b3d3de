//! The listener's two bounds on connections: at most `server.max_connections` open at once
//! (beyond it, new connections wait in the kernel's listen backlog, unaccepted, so the process
//! never runs out of file descriptors), and a keep-alive connection idle for
//! `server.keep_alive_seconds` (no request in flight, no byte read or written) is closed.
//! hyper 0.14 has neither: its header read timeout covers a connection's first request only.

use hyper::server::accept::Accept;
use hyper::server::conn::{AddrIncoming, AddrStream};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

type PermitFuture =
    Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// The listener, accepting a connection only while fewer than the cap are open.
pub struct BoundedIncoming {
    incoming: AddrIncoming,
    permits: Arc<Semaphore>,
    waiting: Option<PermitFuture>,
    held: Option<OwnedSemaphorePermit>,
    idle: Duration,
}

impl BoundedIncoming {
    pub fn new(incoming: AddrIncoming, max_connections: usize, idle: Duration) -> Self {
        BoundedIncoming {
            incoming,
            permits: Arc::new(Semaphore::new(max_connections)),
            waiting: None,
            held: None,
            idle,
        }
    }
}

impl Accept for BoundedIncoming {
    type Conn = Connection;
    type Error = io::Error;

    fn poll_accept(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Connection, io::Error>>> {
        let this = self.get_mut();
        // A slot first: until one is free, nothing is accepted.
        if this.held.is_none() {
            let permits = this.permits.clone();
            let waiting = this
                .waiting
                .get_or_insert_with(|| Box::pin(permits.acquire_owned()));
            match waiting.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(permit)) => {
                    this.waiting = None;
                    this.held = Some(permit);
                }
                // The semaphore is never closed; treat it as the listener ending.
                Poll::Ready(Err(_)) => return Poll::Ready(None),
            }
        }
        match Pin::new(&mut this.incoming).poll_accept(cx) {
            Poll::Ready(Some(Ok(io))) => match this.held.take() {
                Some(slot) => Poll::Ready(Some(Ok(Connection::new(io, slot, this.idle)))),
                // Not reached: a slot is held before accepting. Dropping `io` closes it.
                None => Poll::Ready(Some(Err(io::Error::other("no connection slot held")))),
            },
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Requests in flight on one connection, shared with its service.
#[derive(Default)]
pub struct InFlight(AtomicUsize);

impl InFlight {
    /// Marks a request in flight until the returned guard drops.
    pub fn start(self: &Arc<Self>) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(self.clone())
    }

    fn any(&self) -> bool {
        self.0.load(Ordering::Acquire) > 0
    }
}

pub struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One accepted connection: holds its slot until dropped, and reads as closed (EOF) once idle
/// for `idle` with no request in flight, which makes hyper close it.
pub struct Connection {
    io: AddrStream,
    _slot: OwnedSemaphorePermit,
    in_flight: Arc<InFlight>,
    idle: Duration,
    last_activity: Instant,
    deadline: Pin<Box<Sleep>>,
}

impl Connection {
    fn new(io: AddrStream, slot: OwnedSemaphorePermit, idle: Duration) -> Self {
        let now = Instant::now();
        Connection {
            io,
            _slot: slot,
            in_flight: Arc::new(InFlight::default()),
            idle,
            last_activity: now,
            deadline: Box::pin(tokio::time::sleep_until(now + idle)),
        }
    }

    pub fn remote_addr(&self) -> SocketAddr {
        self.io.remote_addr()
    }

    pub fn in_flight(&self) -> Arc<InFlight> {
        self.in_flight.clone()
    }

    /// Whether the connection has been idle too long; re-arms the timer otherwise (the timer
    /// is moved lazily, when it fires, rather than on every byte).
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.deadline.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let now = Instant::now();
            let next = if self.in_flight.any() {
                now + self.idle
            } else if now >= self.last_activity + self.idle {
                return Poll::Ready(());
            } else {
                self.last_activity + self.idle
            };
            self.deadline.as_mut().reset(next);
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.last_activity = Instant::now();
                }
                Poll::Ready(result)
            }
            // Idle too long: read as the end of the stream, so hyper closes the connection.
            Poll::Pending => this.poll_idle(cx).map(|()| Ok(())),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.last_activity = Instant::now();
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.last_activity = Instant::now();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
