//! Serving a hub on a TCP listener: each connection within the hub's
//! [`Limits`](crate::Limits), the learning records and metrics workers beside them, and a
//! graceful stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::{metrics, records, router, Hub};

/// Serves on `listener` until the returned future is dropped, which closes every connection at
/// once (requests in flight are cut, as when the process is killed). Each connection has
/// [`Limits::header_timeout`](crate::Limits::header_timeout) to send a request's headers.
pub async fn serve(listener: tokio::net::TcpListener, hub: Arc<Hub>) -> std::io::Result<()> {
    serve_until(listener, hub, std::future::pending(), Duration::ZERO).await
}

/// [`serve`] until `shutdown` completes; then a graceful stop: no new connection is accepted,
/// `/readyz` answers 503, idle connections close, and requests in flight (a sync exchange
/// included) finish and are answered, for at most `grace`, before this returns.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    hub: Arc<Hub>,
    shutdown: impl std::future::Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    let limits = hub.limits;
    if let Ok(bound) = listener.local_addr() {
        hub.advertise_if_unset(format!("http://{bound}"));
    }
    // The workers stop with the server: aborted when this future is dropped.
    crate::lead::try_lead(&hub).await;
    let _lead = AbortOnDrop(tokio::spawn(crate::lead::run(hub.clone())));
    let _records = hub
        .records
        .clone()
        .map(|records| AbortOnDrop(tokio::spawn(records::run(hub.clone(), records))));
    let _metrics = AbortOnDrop(tokio::spawn(metrics::run(hub.clone())));
    let app = router(hub.clone());
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.connections));
    let mut connections = tokio::task::JoinSet::new();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors or a connection reset before it was accepted: wait a
                // moment rather than spin, and go on serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        let connection =
            graceful.watch(builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
        connections.spawn(async move {
            let _slot = slot;
            let _ = connection.await;
        });
    }
    hub.observer.drain();
    drop(listener);
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
    Ok(())
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Binds `addr` and serves in the background on the current runtime; returns the bound address
/// (pass port 0 for a free one).
pub async fn spawn(
    addr: SocketAddr,
    hub: Arc<Hub>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((bound, tokio::spawn(serve(listener, hub))))
}
