//! How long `Tidbit.sync` takes to return once its `Cancellation` is cancelled while the sync
//! waits on a server that accepts and never answers: the path the Swift wrapper takes when its
//! `Task` is cancelled. A figure, never an assertion: the binding suites and
//! `src/cancellation.rs` assert that the call ends with `Cancelled` and lets go of the
//! connection.
//!
//! ```text
//! cargo bench -p tidbit-ffi --bench cancel_sync          # TIDBIT_BENCH_RUNS=N, default 20
//! ```
//!
//! Prints min / median / max of the time from `cancel()` to the call returning `Cancelled`, and
//! to the server seeing the connection closed. The call is polled from a thread of its own, as a
//! foreign executor does; the sync itself runs on the core's runtime.

use std::io::Read;
use std::net::TcpListener;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tidbit_ffi::{Cancellation, KeyStore, KeyStoreError, Tidbit, TidbitConfig, TidbitError};

/// A bound on every wait, so a broken cancellation stops the bench instead of hanging it.
const GUARD: Duration = Duration::from_secs(120);

struct NoKeys;

impl KeyStore for NoKeys {
    fn certificate_signing_key(&self) -> Result<Option<String>, KeyStoreError> {
        Ok(None)
    }

    fn at_rest_key(&self) -> Result<Option<Vec<u8>>, KeyStoreError> {
        Ok(None)
    }

    fn destroy_at_rest_key(&self) -> Result<(), KeyStoreError> {
        Ok(())
    }
}

/// A server on 127.0.0.1 that accepts connections, reads what comes and never answers.
struct SilentServer {
    url: String,
    /// One message each time the server accepts a connection.
    opened: tokio::sync::mpsc::UnboundedReceiver<()>,
    /// One message each time a client closes a connection it opened.
    closed: mpsc::Receiver<()>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let (opened_tx, opened) = tokio::sync::mpsc::unbounded_channel();
        let (closed_tx, closed) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let _ = opened_tx.send(());
                let closed_tx = closed_tx.clone();
                std::thread::spawn(move || {
                    let mut buffer = [0u8; 4096];
                    while matches!(stream.read(&mut buffer), Ok(n) if n > 0) {}
                    let _ = closed_tx.send(());
                });
            }
        });
        SilentServer {
            url,
            opened,
            closed,
        }
    }
}

fn main() {
    let runs: usize = std::env::var("TIDBIT_BENCH_RUNS")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(20)
        .max(1);
    let dir = std::env::temp_dir().join(format!("tidbit-cancel-sync-{}", std::process::id()));
    let tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: dir.to_string_lossy().into_owned(),
            learner_id: "bench".into(),
            device_id: "bench-phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: vec![],
        },
        Arc::new(NoKeys),
    )
    .expect("a fresh store opens");
    let mut server = SilentServer::start();
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime for the caller");

    let mut returned = Vec::with_capacity(runs);
    let mut closed = Vec::with_capacity(runs);
    for _ in 0..runs {
        let cancellation = Cancellation::new();
        let started = caller.block_on(async {
            let mut call = Box::pin(tidbit.sync(
                server.url.clone(),
                "token".into(),
                Some(Arc::clone(&cancellation)),
            ));
            let waited = tokio::time::timeout(GUARD, async {
                tokio::select! {
                    result = &mut call => panic!("the sync ended against a silent server: {result:?}"),
                    _ = server.opened.recv() => {}
                }
            })
            .await;
            assert!(waited.is_ok(), "the server never saw the sync's connection");
            let started = Instant::now();
            cancellation.cancel();
            match tokio::time::timeout(GUARD, call).await {
                Ok(Err(TidbitError::Cancelled(_))) => {}
                other => panic!("expected Cancelled, got {other:?}"),
            }
            returned.push(started.elapsed());
            started
        });
        server
            .closed
            .recv_timeout(GUARD)
            .expect("the cancelled sync kept its connection open");
        closed.push(started.elapsed());
    }
    tidbit.close_store();
    let _ = std::fs::remove_dir_all(&dir);

    returned.sort();
    closed.sort();
    println!("cancel_sync: {runs} runs (min / median / max)");
    report("cancel() until sync returns Cancelled", &returned);
    report("cancel() until the server sees the close", &closed);
}

fn report(what: &str, sorted: &[Duration]) {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "  {what}: {:.0} / {:.0} / {:.0} µs",
        us(sorted[0]),
        us(sorted[sorted.len() / 2]),
        us(sorted[sorted.len() - 1])
    );
}
