//! The sync client against servers that fail at the socket: one that refuses connections and
//! one that accepts them and never answers. Either way the sync ends with `Unreachable` after
//! the configured attempts, and the learner's store is left unlocked and unchanged; a sync
//! dropped while it waits on such a server closes its connection.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::sync::client::{sync, SyncError, SyncOptions};
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

const COURSE: &str = "field-safety";

/// A learner enrolled in the sample course (one event recorded), in a fresh directory.
fn enrolled_learner() -> (Mutex<Tidbit>, tempfile::TempDir) {
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
fn local_state(tidbit: &Mutex<Tidbit>) -> (Vec<String>, String) {
    let tidbit = tidbit
        .try_lock()
        .expect("the store is not locked after the sync");
    let ids = tidbit.events().unwrap().into_iter().map(|e| e.id).collect();
    (ids, tidbit.projection_digest().unwrap())
}

/// `http://127.0.0.1:PORT` where nothing listens: a port bound, read and let go.
fn refusing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A server on 127.0.0.1 that accepts connections, reads what comes and never answers.
struct SilentServer {
    url: String,
    accepted: Arc<AtomicUsize>,
    /// One message each time a client closes a connection it opened.
    closed: mpsc::Receiver<()>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let (closed_tx, closed) = mpsc::channel();
        let counter = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                counter.fetch_add(1, Ordering::SeqCst);
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
            closed,
        }
    }
}

fn run<T>(work: impl std::future::Future<Output = T>) -> T {
    tidbit_core::sync::runtime().unwrap().block_on(work)
}

#[test]
fn a_server_refusing_connections_fails_the_sync_within_seconds_with_the_default_options() {
    let (tidbit, _dir) = enrolled_learner();
    let before = local_state(&tidbit);
    let options = SyncOptions::new(&refusing_server(), "token");
    assert_eq!(options.max_attempts, 5);

    let started = Instant::now();
    let result = run(sync(&tidbit, &options));
    let took = started.elapsed();

    match result {
        Err(SyncError::Unreachable { attempts, last }) => {
            assert_eq!(attempts, 5);
            assert!(last.contains("refused"), "{last}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(took < Duration::from_secs(15), "gave up after {took:?}");
    assert_eq!(local_state(&tidbit), before);
    assert_eq!(before.0.len(), 1, "the enrolment is the one event");
}

#[test]
fn a_server_that_never_answers_fails_each_attempt_at_the_request_timeout() {
    let (tidbit, _dir) = enrolled_learner();
    let before = local_state(&tidbit);
    let server = SilentServer::start();
    let mut options = SyncOptions::new(&server.url, "token");
    options.max_attempts = 2;
    options.initial_backoff = Duration::from_millis(10);
    options.request_timeout = Duration::from_millis(300);

    let started = Instant::now();
    let result = run(sync(&tidbit, &options));
    let took = started.elapsed();

    match result {
        Err(SyncError::Unreachable { attempts, last }) => {
            assert_eq!(attempts, 2);
            assert!(last.contains("timed out"), "{last}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(took < Duration::from_secs(10), "gave up after {took:?}");
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2);
    assert_eq!(local_state(&tidbit), before);
}

#[test]
fn a_sync_dropped_while_waiting_on_the_server_closes_its_connection_and_frees_the_store() {
    let (tidbit, _dir) = enrolled_learner();
    let before = local_state(&tidbit);
    let server = SilentServer::start();
    let options = SyncOptions::new(&server.url, "token");

    let waited = run(async {
        tokio::time::timeout(Duration::from_millis(300), sync(&tidbit, &options)).await
    });

    assert!(waited.is_err(), "the sync finished against a silent server");
    server
        .closed
        .recv_timeout(Duration::from_secs(5))
        .expect("the dropped sync kept its connection open");
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
    assert_eq!(local_state(&tidbit), before);
}
