//! An arbitrary Automerge sync message applied the way a device applies a server's reply: to a
//! real learner store (sample course installed, learner enrolled) through
//! `Tidbit::sync_incoming`, for the period document the sample events live in, followed by the
//! device's next message in that session (`sync_outgoing`); and through
//! `documents::receive_message` to a genesis document, followed by the next message generated
//! from it. Nothing may panic; an error is fine.
#![no_main]

use std::cell::RefCell;

use automerge::sync::{self, SyncDoc};
use libfuzzer_sys::fuzz_target;
use tidbit_core::sync::documents;
use tidbit_core::sync::exchange::{DocumentMessage, Exchange};
use tidbit_core::tidbit::{SyncSession, Tidbit};
use tidbit_fuzz::known_issues::hostile_bloom_filter;
use tidbit_fuzz::sync_messages::{open_device, DOCUMENT};

struct Device {
    tidbit: Tidbit,
    _dir: tempfile::TempDir,
}

thread_local! {
    static DEVICE: RefCell<Device> = RefCell::new({
        let dir = tempfile::tempdir().expect("a temporary directory");
        let tidbit = open_device(dir.path(), "phone").expect("the device opens");
        Device { tidbit, _dir: dir }
    });
}

fuzz_target!(|data: &[u8]| {
    if hostile_bloom_filter(data) {
        return;
    }
    DEVICE.with_borrow_mut(|device| {
        let mut session = SyncSession::new("fuzz-server");
        let reply = Exchange {
            heads: Vec::new(),
            messages: vec![DocumentMessage {
                doc: DOCUMENT.into(),
                message: data.to_vec(),
            }],
        };
        if device.tidbit.sync_incoming(&mut session, reply).is_ok() {
            let _ = device.tidbit.sync_outgoing(&mut session);
        }
    });

    let mut doc = documents::genesis(DOCUMENT).expect("a genesis document");
    let mut state = sync::State::new();
    if documents::receive_message(&mut doc, DOCUMENT, &mut state, data).is_ok() {
        let _ = doc.sync().generate_sync_message(&mut state);
    }
});
