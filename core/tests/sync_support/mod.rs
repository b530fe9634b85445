//! Shared by the sync client's tests and its give-up bench (`benches/sync_give_up.rs`): an
//! enrolled learner in a fresh directory, and the two servers that fail at the socket.

#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use chrono::{DateTime, Utc};
use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

pub const COURSE: &str = "field-safety";

/// A learner enrolled in the sample course (one event recorded), in a fresh directory.
pub fn enrolled_learner() -> (Mutex<Tidbit>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-09-21T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../content")
        .join(COURSE);
    let compiled = compile_course(&source).unwrap();
    let key = SigningKey::generate().unwrap();
    let pack = dir.path().join("course.tidbit");
    let mut file = std::fs::File::create(&pack).unwrap();
    write_course_pack(&compiled, &key, start, &mut file, &mut |_, _| {}).unwrap();
    let mut tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: dir.path().join("data"),
            learner_id: "ada".into(),
            device_id: "phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: TrustedKeys::from_keys([key.public_key()]),
            at_rest_key: None,
        },
        Arc::new(ManualClock::new(start)),
    )
    .unwrap();
    tidbit.install_pack(&pack, &mut |_, _| {}).unwrap();
    tidbit.enroll(COURSE, "field-volunteer").unwrap();
    (Mutex::new(tidbit), dir)
}

/// What a device holds: its event ids and its projections' digest.
pub fn local_state(tidbit: &Mutex<Tidbit>) -> (Vec<String>, String) {
    let tidbit = tidbit
        .try_lock()
        .expect("the store is not locked after the sync");
    let ids = tidbit.events().unwrap().into_iter().map(|e| e.id).collect();
    (ids, tidbit.projection_digest().unwrap())
}

/// `http://127.0.0.1:PORT` where nothing listens: a port bound, read and let go.
pub fn refusing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A server on 127.0.0.1 that accepts connections, reads what comes and never answers.
pub struct SilentServer {
    pub url: String,
    pub accepted: Arc<AtomicUsize>,
    /// One message each time the server accepts a connection.
    pub opened: tokio::sync::mpsc::UnboundedReceiver<()>,
    /// One message each time a client closes a connection it opened.
    pub closed: mpsc::Receiver<()>,
}

impl SilentServer {
    pub fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let (opened_tx, opened) = tokio::sync::mpsc::unbounded_channel();
        let (closed_tx, closed) = mpsc::channel();
        let counter = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                counter.fetch_add(1, Ordering::SeqCst);
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
            accepted,
            opened,
            closed,
        }
    }
}

pub fn run<T>(work: impl std::future::Future<Output = T>) -> T {
    tidbit_core::runtime::runtime().unwrap().block_on(work)
}
