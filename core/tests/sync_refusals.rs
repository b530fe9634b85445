//! A reply the sync server should never send is refused as the peer's fault: the error says the
//! server sent something invalid and that nothing changed, never that the store is damaged.

mod sync_support;

use sync_support::*;
use tidbit_core::sync::exchange::Exchange;
use tidbit_core::tidbit::{SyncSession, TidbitError};

#[test]
fn a_reply_resuming_a_listing_the_device_never_sent_is_refused_and_changes_nothing() {
    let (tidbit, _dir) = enrolled_learner();
    let before = local_state(&tidbit);
    let mut session = SyncSession::new("server");
    let reply = Exchange {
        resume_after: Some("events-2026-11".into()),
        ..Exchange::default()
    };

    let result = tidbit.lock().unwrap().sync_incoming(&mut session, reply);

    match result {
        Err(error @ TidbitError::RefusedPeerData(_)) => {
            let message = error.to_string();
            assert!(
                message.contains("server sent something invalid"),
                "{message}"
            );
            assert!(message.contains("nothing was changed"), "{message}");
        }
        other => panic!("expected RefusedPeerData, got {other:?}"),
    }
    assert_eq!(local_state(&tidbit), before);
}
