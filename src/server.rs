//! The accept loop: HTTP/1 and HTTP/2 connections with a header read timeout, caps
//! on open connections in all and per client address, and a graceful stop.
//!
//! `axum::serve` sets no header timeout, so a client trickling headers byte by byte
//! would hold its connection (and a file descriptor) forever.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How connections are served.
#[derive(Clone, Copy, Debug)]
pub struct ServerLimits {
    /// Longest a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// Most connections open at once; more are closed on arrival.
    pub max_connections: usize,
    /// Most connections open at once from one client address; 0 for no cap (behind a
    /// proxy every client has the proxy's address).
    pub max_connections_per_address: usize,
    /// Longest in-flight requests may take to finish once a stop is asked.
    pub drain_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_connections_per_address: 256,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` until `stop` completes, then lets in-flight
/// requests finish (up to the drain timeout).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    stop: impl Future<Output = ()>,
) {
    let builder = connections(&limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(Mutex::new(HashMap::new()));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "refused by a limit: too many open connections; closing a new one");
                    crate::http::metrics::limit_refused("connections");
                    continue;
                };
                let Some(share) = Share::take(&per_address, peer.ip(), limits.max_connections_per_address) else {
                    tracing::warn!(%peer, "refused by a limit: too many open connections from this address; closing a new one");
                    crate::http::metrics::limit_refused("connections per address");
                    continue;
                };
                let router = router.clone();
                let service = tower::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    router.clone().oneshot(request)
                });
                let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
                let connection = graceful.watch(connection.into_owned());
                metrics::gauge!("roster_open_connections").increment(1.0);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
                    drop((slot, share));
                    metrics::gauge!("roster_open_connections").decrement(1.0);
                });
            }
            () = &mut stop => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some requests were still running at the end of the drain timeout");
    }
}

/// How each connection is served: HTTP/1 with the header timeout, or HTTP/2.
fn connections(limits: &ServerLimits) -> Arc<Builder<TokioExecutor>> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    Arc::new(builder)
}

/// Open connections by client address.
type PerAddress = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One open connection counted against its address; dropping it gives the place back.
struct Share {
    counts: PerAddress,
    ip: IpAddr,
}

impl Share {
    /// A place for one more connection from `ip`, unless it holds `cap` already
    /// (`cap` 0: no cap).
    fn take(counts: &PerAddress, ip: IpAddr, cap: usize) -> Option<Share> {
        let mut map = counts.lock().unwrap_or_else(|e| e.into_inner());
        let open = map.entry(ip).or_insert(0);
        if cap != 0 && *open >= cap {
            return None;
        }
        *open += 1;
        Some(Share {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = map.get_mut(&self.ip) {
            *open -= 1;
            if *open == 0 {
                map.remove(&self.ip);
            }
        }
    }
}
