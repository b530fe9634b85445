//! The sync client against servers that fail at the socket: one that refuses connections and
//! one that accepts them and never answers. Either way the sync ends with `Unreachable` after
//! the configured attempts, and the learner's store is left unlocked and unchanged; a sync
//! dropped while it waits on such a server closes its connection. How long each takes is a
//! figure of `cargo bench -p tidbit-core --bench sync_give_up`, not an assertion here.

mod sync_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use sync_support::*;
use tidbit_core::tidbit::sync_client::{sync, SyncError, SyncOptions};

/// Long enough that a wait fails the test rather than hang it; never what a test asserts.
const GUARD: Duration = Duration::from_secs(60);

#[test]
fn a_server_refusing_connections_fails_the_sync_after_the_default_five_attempts() {
    let (tidbit, _dir) = enrolled_learner();
    let before = local_state(&tidbit);
    let options = SyncOptions::new(&refusing_server(), "token");
    assert_eq!(options.max_attempts, 5);

    let result = run(sync(&tidbit, &options));

    match result {
        Err(SyncError::Unreachable { attempts, last }) => {
            assert_eq!(attempts, 5);
            assert!(last.contains("refused"), "{last}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
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

    let result = run(sync(&tidbit, &options));

    match result {
        Err(SyncError::Unreachable { attempts, last }) => {
            assert_eq!(attempts, 2);
            assert!(last.contains("timed out"), "{last}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    // One connection per attempt, each closed by the client when its attempt timed out.
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2);
    for attempt in 1..=2 {
        server
            .closed
            .recv_timeout(GUARD)
            .unwrap_or_else(|_| panic!("attempt {attempt} kept its connection open"));
    }
    assert_eq!(local_state(&tidbit), before);
}

#[test]
fn a_sync_dropped_while_waiting_on_the_server_closes_its_connection_and_frees_the_store() {
    let (tidbit, _dir) = enrolled_learner();
    let before = local_state(&tidbit);
    let mut server = SilentServer::start();
    // The defaults: the sync would wait 30 s per attempt; only the drop ends it.
    let options = SyncOptions::new(&server.url, "token");

    // The sync runs until the server has its connection, and is dropped there.
    let finished = run(async {
        tokio::time::timeout(GUARD, async {
            tokio::select! {
                result = sync(&tidbit, &options) => Some(result),
                _ = server.opened.recv() => None,
            }
        })
        .await
    });

    match finished {
        Ok(None) => {}
        Ok(Some(result)) => panic!("the sync finished against a silent server: {result:?}"),
        Err(_) => panic!("the server never saw the sync's connection"),
    }
    server
        .closed
        .recv_timeout(GUARD)
        .expect("the dropped sync kept its connection open");
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
    assert_eq!(local_state(&tidbit), before);
}
