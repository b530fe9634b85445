//! Inputs the fuzz targets (`fuzz/`, `scripts/fuzz.sh`) found, kept as specifications so they
//! stay fixed. Each names its target and what the input is; the minimised bytes are inline.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use automerge::sync::{self, SyncDoc};
use chrono::{DateTime, Utc};
use tidbit_core::events::ManualClock;
use tidbit_core::keys::TrustedKeys;
use tidbit_core::sync::documents;
use tidbit_core::sync::exchange::{DocumentMessage, Exchange};
use tidbit_core::sync::peer::{self, Policy};
use tidbit_core::tidbit::{SyncSession, Tidbit, TidbitConfig};

const DOCUMENT: &str = "events-2026-11";

/// A learner's device with an empty store, its clock inside [`DOCUMENT`]'s month.
fn open_device(dir: &std::path::Path) -> Tidbit {
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-10T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    Tidbit::open(
        TidbitConfig {
            data_dir: dir.join("data"),
            learner_id: "ada".into(),
            device_id: "phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: TrustedKeys::new(),
            at_rest_key: None,
        },
        Arc::new(ManualClock::new(start)),
    )
    .unwrap()
}

/// A server's reply carrying one sync message for [`DOCUMENT`].
fn reply(message: &[u8]) -> Exchange {
    Exchange {
        heads: Vec::new(),
        messages: vec![DocumentMessage {
            doc: DOCUMENT.into(),
            message: message.to_vec(),
        }],
        ..Exchange::default()
    }
}

/// An Automerge sync message (v1) whose one `have` carries a Bloom filter that claims an entry
/// but has no bits: `0x42` (message type), no heads, no needs, one have with no last-sync
/// hashes and 3 filter bytes (1 entry, 0 bits per entry, 7 probes, so 0 bytes of bits), no
/// changes. Automerge accepts it, keeps the filter in the sync state, and the next
/// `generate_sync_message` divides by the filter's bit count (zero) while probing it for every
/// change hash: a panic on the device (`document_apply`) and on the server (`server_request`).
const BLOOM_WITHOUT_BITS: &[u8] = &[0x42, 0x00, 0x00, 0x01, 0x00, 0x03, 0x01, 0x00, 0x07, 0x00];

/// The same shape with a filter of one byte of bits and 4,294,967,295 probes: probing it
/// allocates 16 GiB and loops four billion times per change hash. Found by reading the code the
/// first input led to; the fix is the same check.
const BLOOM_WITH_ENDLESS_PROBES: &[u8] = &[
    0x42, 0x00, 0x00, 0x01, 0x00, 0x08, 0x01, 0x08, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00,
];

#[test]
fn a_sync_message_whose_bloom_filter_has_no_bits_is_refused() {
    let mut doc = documents::genesis(DOCUMENT).unwrap();
    let mut state = sync::State::new();
    let received = documents::receive_message(
        &mut doc,
        DOCUMENT,
        &mut state,
        BLOOM_WITHOUT_BITS,
        &Policy::device(),
        &mut peer::MAX_INFLATED_BYTES.clone(),
    );
    assert!(received.is_err(), "the message was accepted");
    let next = catch_unwind(AssertUnwindSafe(|| {
        doc.sync().generate_sync_message(&mut state)
    }));
    assert!(next.is_ok(), "the next message panicked");
}

#[test]
fn a_sync_message_whose_bloom_filter_has_endless_probes_is_refused() {
    let mut doc = documents::genesis(DOCUMENT).unwrap();
    let mut state = sync::State::new();
    // Checked before any message is generated from `state`: doing so would take 16 GiB.
    let received = documents::receive_message(
        &mut doc,
        DOCUMENT,
        &mut state,
        BLOOM_WITH_ENDLESS_PROBES,
        &Policy::device(),
        &mut peer::MAX_INFLATED_BYTES.clone(),
    );
    assert!(received.is_err(), "the message was accepted");
}

#[test]
fn a_device_refuses_a_reply_whose_bloom_filter_has_no_bits_and_syncs_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut device = open_device(dir.path());
    let mut session = SyncSession::new("server");
    let incoming = device.sync_incoming(&mut session, reply(BLOOM_WITHOUT_BITS));
    assert!(incoming.is_err(), "the reply was applied: {incoming:?}");
    let outgoing = catch_unwind(AssertUnwindSafe(|| device.sync_outgoing(&mut session)));
    assert!(
        matches!(outgoing, Ok(Ok(_))),
        "the next exchange failed or panicked"
    );
}

/// The raw layout of an exchange whose one heads entry lists 65 heads (`exchange_decode`'s
/// round trip, on an input built at the edge of the format: its seed `many-heads-raw` holds
/// 64). The count is one byte, so `Exchange::decode` takes up to 255 heads, but
/// `Exchange::encode` writes at most 64 (`MAX_HEADS`): an exchange decoded and sent on loses
/// heads, and the two halves of the format disagree about what is valid.
fn exchange_with_65_heads() -> Vec<u8> {
    let mut raw = b"TBX1".to_vec();
    raw.extend(1u16.to_be_bytes());
    raw.push(DOCUMENT.len() as u8);
    raw.extend(DOCUMENT.as_bytes());
    raw.push(65);
    for head in 0..65u8 {
        raw.extend([head; 32]);
    }
    raw.extend(0u16.to_be_bytes());
    let mut body = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    body.write_all(&raw).unwrap();
    body.finish().unwrap()
}

#[test]
fn an_exchange_holding_more_heads_than_encode_writes_is_refused() {
    let decoded = Exchange::decode(&exchange_with_65_heads());
    assert!(
        decoded.is_err(),
        "accepted: {} heads",
        decoded.unwrap().heads[0].heads.len()
    );
}

/// `document_apply`, after 1,081,755 runs: a real server's second message (the committed seed
/// `server-second-message`: one change, the genesis as the last sync), then a message whose
/// `need` lists change hashes the document does not hold. Automerge accepted both, and the next
/// `generate_sync_message` looked the needed hashes up and panicked (`MissingOps` in its change
/// collector), on that sync and on every later one. The peer checks now refuse a `need` the
/// document does not hold.
const SERVER_SECOND_MESSAGE: &[u8] =
    include_bytes!("../../fuzz/corpus/document_apply/server-second-message");
const NEEDS_WHAT_THE_DOCUMENT_LACKS: &[u8] =
    include_bytes!("fuzz_inputs/document_apply-unknown-need.bin");

#[test]
fn a_sync_message_that_needs_changes_the_document_lacks_is_refused() {
    let mut doc = documents::genesis(DOCUMENT).unwrap();
    let mut state = sync::State::new();
    for (message, accepted) in [
        (SERVER_SECOND_MESSAGE, true),
        (NEEDS_WHAT_THE_DOCUMENT_LACKS, false),
    ] {
        let received = documents::receive_message(
            &mut doc,
            DOCUMENT,
            &mut state,
            message,
            &Policy::device(),
            &mut peer::MAX_INFLATED_BYTES.clone(),
        );
        assert_eq!(received.is_ok(), accepted, "{received:?}");
    }
    let next = catch_unwind(AssertUnwindSafe(|| {
        doc.sync().generate_sync_message(&mut state)
    }));
    assert!(next.is_ok(), "the next message panicked");
}

#[test]
fn a_device_refuses_a_reply_that_needs_changes_it_lacks_and_syncs_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut device = open_device(dir.path());
    let mut session = SyncSession::new("server");
    let first = device.sync_incoming(&mut session, reply(SERVER_SECOND_MESSAGE));
    assert!(first.is_ok(), "the honest reply was refused: {first:?}");
    let second = device.sync_incoming(&mut session, reply(NEEDS_WHAT_THE_DOCUMENT_LACKS));
    assert!(second.is_err(), "the reply was applied: {second:?}");
    let outgoing = catch_unwind(AssertUnwindSafe(|| device.sync_outgoing(&mut session)));
    assert!(
        matches!(outgoing, Ok(Ok(_))),
        "the next exchange failed or panicked"
    );
}
