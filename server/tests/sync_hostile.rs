//! Hostile sync traffic, both ways. A malformed request gets a 4xx from the real server, never
//! a panic; a hostile message for one document is refused alone (the reply names it, nothing of
//! it is stored, the other documents sync); either way the learner's documents stay as they
//! were and a device then still syncs normally. A reply that would edit the device's documents
//! makes its sync fail and changes nothing; a reply carrying malformed or forged events is
//! applied without them, and they are reported.

mod support;

use std::sync::Arc;
use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use support::*;
use tidbit_core::events::{Event, EventKind};
use tidbit_core::sync::documents;
use tidbit_core::sync::exchange::{DocumentHeads, DocumentMessage, Exchange};
use tidbit_core::tidbit::sync_client::{SyncError, SyncOptions};

const LEARNER: &str = "ana";
/// The month the sample devices learn in.
const PERIOD: &str = "events-2026-09";

/// One stored document: its name, heads, snapshot and chunks.
type StoredBytes = (String, Vec<automerge::ChangeHash>, Vec<u8>, Vec<Vec<u8>>);

/// A server holding a few days of the phone's learning.
struct Setup {
    root: tempfile::TempDir,
    server: TestServer,
    phone: Device,
}

impl Setup {
    fn new() -> Setup {
        let root = tempfile::tempdir().unwrap();
        let server = TestServer::start(&root.path().join("server"));
        let phone = Device::new(root.path(), LEARNER, "phone");
        learn_for_days(&phone, 3, 2, 4);
        phone
            .sync(&server.url(), &server.token(LEARNER, "phone"))
            .unwrap();
        Setup {
            root,
            server,
            phone,
        }
    }

    /// Posts `body` with a valid token of the phone.
    fn post(&self, body: Vec<u8>) -> (u16, String) {
        let token = format!("Bearer {}", self.server.token(LEARNER, "phone"));
        let (status, reply) = post_sync(&self.server.url(), LEARNER, Some(&token), body);
        (status, String::from_utf8_lossy(&reply).into_owned())
    }

    /// The server's copy of `name`.
    fn server_document(&self, name: &str) -> AutoCommit {
        let stored = self
            .server
            .hub
            .storage
            .load(LEARNER, name)
            .unwrap()
            .unwrap();
        let mut doc = AutoCommit::load(&stored.snapshot).unwrap();
        for chunk in &stored.chunks {
            doc.load_incremental(chunk).unwrap();
        }
        doc
    }

    /// Every stored byte of the learner's documents.
    fn stored(&self) -> Vec<StoredBytes> {
        stored_heads(&self.server, LEARNER)
            .into_iter()
            .map(|(name, heads)| {
                let stored = self.server.hub.storage.load(LEARNER, &name).unwrap();
                let stored = stored.unwrap();
                (name, heads, stored.snapshot, stored.chunks)
            })
            .collect()
    }

    /// Posting `body` gets `status`, and the learner's documents stay exactly as they were.
    fn refused(&self, case: &str, body: Vec<u8>, status: u16) {
        let before = self.stored();
        let (got, reason) = self.post(body);
        assert_eq!(got, status, "{case}: {reason}");
        assert!(self.stored() == before, "{case} changed a document");
    }

    /// Posting `body` gets 200 with `doc` among the refused documents, and the learner's
    /// documents stay exactly as they were.
    fn refused_alone(&self, case: &str, body: Vec<u8>, doc: &str) {
        let before = self.stored();
        let token = format!("Bearer {}", self.server.token(LEARNER, "phone"));
        let (status, reply) = post_sync(&self.server.url(), LEARNER, Some(&token), body);
        assert_eq!(status, 200, "{case}: {}", String::from_utf8_lossy(&reply));
        let reply = Exchange::decode(&reply).unwrap();
        assert!(
            reply.refused.iter().any(|r| r.doc == doc),
            "{case}: {doc} not refused: {reply:?}"
        );
        assert!(self.stored() == before, "{case} changed a document");
    }

    /// After everything refused, the server is up and devices still converge through it.
    fn still_syncs(&self) {
        let tablet = Device::new(self.root.path(), LEARNER, "tablet");
        learn_for_days(&tablet, 4, 3, 3);
        let url = self.server.url();
        tablet
            .sync(&url, &self.server.token(LEARNER, "tablet"))
            .unwrap();
        let report = self
            .phone
            .sync(&url, &self.server.token(LEARNER, "phone"))
            .unwrap();
        assert!(report.events_received > 0, "{report:?}");
        assert_eq!(self.phone.event_ids(), tablet.event_ids());
        assert_eq!(self.phone.digest(), tablet.digest());
        assert_eq!(
            server_digest(&self.server, LEARNER, self.root.path()),
            self.phone.digest()
        );
    }
}

fn events_list(doc: &AutoCommit) -> ObjId {
    match doc.get(ROOT, "events").unwrap() {
        Some((Value::Object(ObjType::List), id)) => id,
        other => panic!("no events list: {other:?}"),
    }
}

/// A sync message carrying one change made by a stranger on top of `base` by `edit`.
fn hostile_message(base: &AutoCommit, edit: impl FnOnce(&mut AutoCommit, &ObjId)) -> Vec<u8> {
    // Each message has a writer of its own, so messages never clash with one another.
    static WRITERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let writer = WRITERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut doc = base
        .clone()
        .with_actor(ActorId::from(format!("hostile-{writer:08}").as_bytes()));
    let before = doc.get_heads();
    let list = events_list(&doc);
    edit(&mut doc, &list);
    doc.commit();
    message_after(&mut doc, &before)
}

/// An event of the phone's at `at_ms` with `credit`, as `documents::append` stores it.
fn answered(at_ms: i64, credit: f64, template: &Event) -> Event {
    let EventKind::ItemAnswered { .. } = &template.kind else {
        panic!("not an answer: {template:?}");
    };
    let mut event = template.clone();
    event.at_ms = at_ms;
    if let EventKind::ItemAnswered { credit: c, .. } = &mut event.kind {
        *c = credit;
    }
    event
}

/// One recorded answer from the phone's log.
fn an_answer(device: &Device) -> Event {
    device
        .tidbit
        .lock()
        .unwrap()
        .events()
        .unwrap()
        .into_iter()
        .find(|e| matches!(e.kind, EventKind::ItemAnswered { .. }))
        .unwrap()
}

/// What a hostile message does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hostility {
    /// It would edit the document: refused whole, on both sides.
    Edit,
    /// It appends events the hostile-peer model refuses: a device applies the rest.
    BadEvent,
}

/// The messages a hostile device might send about a document it shares with the server, each
/// named: every one would do something other than append well-formed events of its own.
fn hostile_edits(base: &AutoCommit, answer: &Event) -> Vec<(&'static str, Vec<u8>, Hostility)> {
    let in_period = answer.at_ms + 1;
    let out_of_period = answer.at_ms + 40 * 86_400_000;
    vec![
        (
            "delete an event",
            hostile_message(base, |doc, list| doc.delete(list, 0).unwrap()),
            Hostility::Edit,
        ),
        (
            "overwrite an event",
            hostile_message(base, |doc, list| {
                doc.put(list, 0, ScalarValue::Bytes(b"{}".to_vec()))
                    .unwrap()
            }),
            Hostility::Edit,
        ),
        (
            "insert a number",
            hostile_message(base, |doc, list| {
                let end = doc.length(list);
                doc.insert(list, end, 42_i64).unwrap()
            }),
            Hostility::Edit,
        ),
        (
            "insert a text",
            hostile_message(base, |doc, list| {
                doc.insert(list, 0, "an event, honestly").unwrap()
            }),
            Hostility::Edit,
        ),
        (
            "insert a map",
            hostile_message(base, |doc, list| {
                let end = doc.length(list);
                doc.insert_object(list, end, ObjType::Map).unwrap();
            }),
            Hostility::Edit,
        ),
        (
            "insert bytes that are not an event",
            hostile_message(base, |doc, list| {
                let end = doc.length(list);
                doc.insert(list, end, ScalarValue::Bytes(b"\xff garbage".to_vec()))
                    .unwrap()
            }),
            Hostility::BadEvent,
        ),
        (
            "insert an oversized event",
            hostile_message(base, |doc, list| {
                let end = doc.length(list);
                doc.insert(
                    list,
                    end,
                    ScalarValue::Bytes(vec![b' '; documents::MAX_EVENT_BYTES + 1]),
                )
                .unwrap()
            }),
            Hostility::BadEvent,
        ),
        (
            "insert an event from another month",
            hostile_message(base, |doc, _| {
                documents::append(doc, "b0", 1, &answered(out_of_period, 1.0, answer)).unwrap()
            }),
            Hostility::BadEvent,
        ),
        (
            "insert an answer with credit 2",
            hostile_message(base, |doc, _| {
                documents::append(doc, "b0", 2, &answered(in_period, 2.0, answer)).unwrap()
            }),
            Hostility::BadEvent,
        ),
        (
            "record an intervention, which only the server may",
            hostile_message(base, |doc, _| {
                let mut forged = answer.clone();
                forged.at_ms = in_period + 1;
                forged.kind = EventKind::InterventionTriggered {
                    course: Some("field-safety".into()),
                    module: "scene-safety".into(),
                    reason: "forged by a device".into(),
                    deadline_ms: in_period + 86_400_000,
                    signal: None,
                    action: Default::default(),
                };
                documents::append(doc, "b0", 3, &forged).unwrap()
            }),
            Hostility::BadEvent,
        ),
        (
            "write another root key",
            hostile_message(base, |doc, _| doc.put(ROOT, "profile", "taken").unwrap()),
            Hostility::Edit,
        ),
        (
            "replace the events list",
            hostile_message(base, |doc, _| {
                doc.put_object(ROOT, "events", ObjType::List).unwrap();
            }),
            Hostility::Edit,
        ),
        (
            "delete the events list",
            hostile_message(base, |doc, _| doc.delete(ROOT, "events").unwrap()),
            Hostility::Edit,
        ),
        (
            "append an event and delete another",
            hostile_message(base, |doc, list| {
                documents::append(doc, "b0", 3, &answered(in_period, 1.0, answer)).unwrap();
                doc.delete(list, 0).unwrap();
            }),
            Hostility::Edit,
        ),
    ]
}

fn deflate(raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(raw).unwrap();
    encoder.finish().unwrap()
}

fn inflate(body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::DeflateDecoder::new(body)
        .read_to_end(&mut raw)
        .unwrap();
    raw
}

#[test]
fn garbage_and_truncated_bodies_get_400() {
    let setup = Setup::new();
    let valid = exchange_with(PERIOD, b"whatever".to_vec());
    setup.refused("empty body", Vec::new(), 400);
    setup.refused("garbage", b"\x00\x01 this is not deflate".to_vec(), 400);
    for cut in [1, valid.len() / 3, valid.len() / 2, valid.len() - 1] {
        setup.refused("truncated deflate", valid[..cut].to_vec(), 400);
    }
    setup.refused("deflate of a text", deflate(b"hello, server"), 400);
    let mut trailing = inflate(&valid);
    trailing.extend_from_slice(b"after the last message");
    setup.refused("bytes after the last message", deflate(&trailing), 400);
    let mut lying = inflate(&valid);
    lying[4..6].copy_from_slice(&9u16.to_be_bytes());
    setup.refused("a count larger than the body", deflate(&lying), 400);
    setup.still_syncs();
}

#[test]
fn a_message_that_is_not_an_automerge_sync_message_is_refused_alone() {
    let setup = Setup::new();
    setup.refused_alone(
        "garbage message",
        exchange_with(PERIOD, b"not automerge".to_vec()),
        PERIOD,
    );
    setup.refused_alone("empty message", exchange_with(PERIOD, Vec::new()), PERIOD);
    let mut cut = hostile_message(&setup.server_document(PERIOD), |doc, list| {
        let end = doc.length(list);
        doc.insert(list, end, 1_i64).unwrap()
    });
    cut.truncate(cut.len() - 3);
    setup.refused_alone("cut message", exchange_with(PERIOD, cut), PERIOD);
    setup.still_syncs();
}

#[test]
fn messages_that_would_do_anything_but_append_valid_events_are_refused_and_change_nothing() {
    let setup = Setup::new();
    let base = setup.server_document(PERIOD);
    let answer = an_answer(&setup.phone);
    let edits = hostile_edits(&base, &answer);
    assert_eq!(edits.len(), 14);
    for (case, message, _) in edits {
        setup.refused_alone(case, exchange_with(PERIOD, message), PERIOD);
    }
    setup.still_syncs();
}

#[test]
fn a_hostile_message_for_a_new_document_creates_no_document() {
    let setup = Setup::new();
    let name = "events-2026-10";
    let genesis = documents::genesis(name).unwrap();
    for (case, message) in [
        (
            "a root key",
            hostile_message(&genesis, |doc, _| doc.put(ROOT, "x", 1_i64).unwrap()),
        ),
        (
            "a number",
            hostile_message(&genesis, |doc, list| doc.insert(list, 0, 7_i64).unwrap()),
        ),
    ] {
        setup.refused_alone(case, exchange_with(name, message), name);
    }
    assert!(setup
        .server
        .hub
        .storage
        .load(LEARNER, name)
        .unwrap()
        .is_none());
    setup.still_syncs();
}

#[test]
fn a_refused_document_is_refused_alone_and_the_others_are_stored() {
    let setup = Setup::new();
    let base = setup.server_document(PERIOD);
    let answer = an_answer(&setup.phone);
    let good = hostile_message(&base, |doc, _| {
        documents::append(doc, "f1e", 1, &answered(answer.at_ms + 5, 1.0, &answer)).unwrap()
    });
    let bad = hostile_message(
        &documents::genesis("events-2026-10").unwrap(),
        |doc, list| doc.insert(list, 0, 7_i64).unwrap(),
    );
    let body = Exchange {
        heads: Vec::new(),
        messages: vec![
            DocumentMessage {
                doc: PERIOD.into(),
                message: good,
            },
            DocumentMessage {
                doc: "events-2026-10".into(),
                message: bad,
            },
        ],
        ..Exchange::default()
    }
    .encode();
    let events_before = setup.server_document(PERIOD).length(events_list(&base));
    let (status, reply) = setup.post(body);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        setup.server_document(PERIOD).length(events_list(&base)),
        events_before + 1
    );
    assert!(setup
        .server
        .hub
        .storage
        .load(LEARNER, "events-2026-10")
        .unwrap()
        .is_none());
}

#[test]
fn more_than_64_documents_get_413() {
    let setup = Setup::new();
    let names: Vec<String> = (0..65)
        .map(|i| format!("events-{:04}-{:02}", 2000 + i / 12, i % 12 + 1))
        .collect();
    let heads = Exchange {
        heads: names
            .iter()
            .map(|doc| DocumentHeads {
                doc: doc.clone(),
                heads: Vec::new(),
            })
            .collect(),
        ..Exchange::default()
    };
    setup.refused("65 heads", heads.encode(), 413);
    let messages = Exchange {
        messages: names
            .iter()
            .map(|doc| DocumentMessage {
                doc: doc.clone(),
                message: Vec::new(),
            })
            .collect(),
        ..Exchange::default()
    };
    setup.refused("65 messages", messages.encode(), 413);
    // 64 is allowed.
    let at_limit = Exchange {
        heads: heads.heads[..64].to_vec(),
        ..Exchange::default()
    };
    assert_eq!(setup.post(at_limit.encode()).0, 200);
    setup.still_syncs();
}

#[test]
fn a_body_over_8_mib_gets_413_and_a_deflate_bomb_400() {
    let setup = Setup::new();
    let mut noise = vec![0u8; tidbit_server::MAX_BODY_BYTES + 1];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for byte in &mut noise {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    setup.refused("8 MiB and a byte", noise, 413);
    // A small body that inflates past the 32 MiB limit.
    let mut inflated = b"TBX1".to_vec();
    inflated.resize(tidbit_core::sync::exchange::MAX_BODY_BYTES + 1, 0);
    let bomb = deflate(&inflated);
    assert!(bomb.len() < tidbit_server::MAX_BODY_BYTES);
    setup.refused("deflate bomb", bomb, 400);
    setup.still_syncs();
}

#[test]
fn bad_document_names_get_400() {
    let setup = Setup::new();
    let answer = answered(start().timestamp_millis(), 1.0, &an_answer(&setup.phone));
    let message = hostile_message(&documents::genesis(PERIOD).unwrap(), |doc, _| {
        documents::append(doc, "n", 1, &answer).unwrap()
    });
    for name in [
        "profile",
        "../../etc/passwd",
        "events-2026-13",
        "events-2026-9",
        "events-2026-09 ",
        "",
        "EVENTS-2026-09",
    ] {
        setup.refused(name, exchange_with(name, message.clone()), 400);
        let heads = Exchange {
            heads: vec![DocumentHeads {
                doc: name.into(),
                heads: Vec::new(),
            }],
            ..Exchange::default()
        };
        setup.refused(name, heads.encode(), 400);
    }
    setup.still_syncs();
}

/// A server that answers every sync with `reply`.
fn fake_server(reply: Vec<u8>) -> String {
    let reply = Arc::new(reply);
    let app = axum::Router::new().route(
        "/v1/learners/{learner}/sync",
        axum::routing::post(move || {
            let reply = reply.clone();
            async move { reply.as_ref().clone() }
        }),
    );
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Everything a device holds: its events, its projections' digest, its documents' heads.
#[derive(Debug, PartialEq)]
struct DeviceState {
    events: Vec<String>,
    digest: String,
    heads: Vec<(String, Vec<automerge::ChangeHash>)>,
}

fn device_state(device: &Device) -> DeviceState {
    DeviceState {
        events: device.event_ids(),
        digest: device.digest(),
        heads: device_heads(device),
    }
}

fn sync_quickly(device: &Device, url: &str) -> Result<(), SyncError> {
    let mut options = SyncOptions::new(url, "any-token");
    options.max_attempts = 3;
    options.initial_backoff = Duration::from_millis(1);
    options.max_backoff = Duration::from_millis(5);
    tidbit_core::runtime::runtime()
        .unwrap()
        .block_on(tidbit_core::tidbit::sync_client::sync(
            &device.tidbit,
            &options,
        ))
        .map(|_| ())
}

#[test]
fn a_hostile_reply_fails_the_sync_and_changes_nothing_on_the_device() {
    let setup = Setup::new();
    let phone = &setup.phone;
    let (_, base) = device_documents(phone)
        .into_iter()
        .find(|(name, _)| name == PERIOD)
        .unwrap();
    let answer = an_answer(phone);
    let mut replies: Vec<(&str, Vec<u8>)> = hostile_edits(&base, &answer)
        .into_iter()
        .filter(|(_, _, hostility)| *hostility == Hostility::Edit)
        .map(|(case, message, _)| (case, exchange_with(PERIOD, message)))
        .collect();
    assert_eq!(replies.len(), 9);
    replies.push((
        "a bad document name",
        exchange_with("../profile", b"x".to_vec()),
    ));
    replies.push((
        "a message that is not automerge",
        exchange_with(PERIOD, b"not automerge".to_vec()),
    ));
    replies.push((
        "a new document with a root key",
        exchange_with(
            "events-2026-12",
            hostile_message(&documents::genesis("events-2026-12").unwrap(), |doc, _| {
                doc.put(ROOT, "x", 1_i64).unwrap()
            }),
        ),
    ));
    for (case, reply) in replies {
        let before = device_state(phone);
        let error = sync_quickly(phone, &fake_server(reply)).unwrap_err();
        assert!(
            matches!(error, SyncError::Tidbit(_)),
            "{case}: unexpected {error}"
        );
        assert_eq!(device_state(phone), before, "{case} changed the device");
    }
    // What the device holds in memory was thrown away too: it still syncs every event.
    learn_for_days(phone, 5, 3, 2);
    phone
        .sync(&setup.server.url(), &setup.server.token(LEARNER, "phone"))
        .unwrap();
    let mut on_server: Vec<String> =
        tidbit_server::exchange::learner_events(setup.server.hub.storage.as_ref(), LEARNER)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
    on_server.sort();
    assert_eq!(on_server, phone.event_ids());
    assert_eq!(
        server_digest(&setup.server, LEARNER, setup.root.path()),
        phone.digest()
    );
}

#[test]
fn a_reply_with_malformed_or_forged_events_is_applied_without_them_and_reports_them() {
    let setup = Setup::new();
    let phone = &setup.phone;
    let (_, base) = device_documents(phone)
        .into_iter()
        .find(|(name, _)| name == PERIOD)
        .unwrap();
    let answer = an_answer(phone);
    let bad_events: Vec<_> = hostile_edits(&base, &answer)
        .into_iter()
        .filter(|(_, _, hostility)| *hostility == Hostility::BadEvent)
        .collect();
    assert_eq!(bad_events.len(), 5);
    let before_all = phone.event_ids().len();
    for (case, message, _) in bad_events {
        let (events, digest) = (phone.event_ids(), phone.digest());
        let mut tidbit = phone.tidbit.lock().unwrap();
        let mut session = tidbit_core::tidbit::SyncSession::new("hostile-server");
        tidbit.sync_outgoing(&mut session).unwrap();
        let reply = Exchange::decode(&exchange_with(PERIOD, message)).unwrap();
        let incoming = tidbit.sync_incoming(&mut session, reply).unwrap();
        drop(tidbit);
        assert_eq!(incoming.refused.len(), 1, "{case}: {incoming:?}");
        assert_eq!(incoming.events_received, 0, "{case}");
        assert_eq!(phone.event_ids(), events, "{case} reached the log");
        assert_eq!(phone.digest(), digest, "{case} reached the projections");
    }
    // The device goes on learning on what it holds (the refused events never reach an honest
    // server either: it refuses them from this device as it would from their forger).
    learn_for_days(phone, 5, 3, 2);
    assert!(phone.event_ids().len() > before_all);
}

#[test]
fn a_garbled_or_cut_reply_is_retried_then_given_up_without_changing_the_device() {
    let setup = Setup::new();
    let phone = &setup.phone;
    let (_, base) = device_documents(phone)
        .into_iter()
        .find(|(name, _)| name == PERIOD)
        .unwrap();
    let fine = exchange_with(
        PERIOD,
        hostile_message(&base, |doc, _| {
            let answer = an_answer(phone);
            documents::append(doc, "other", 1, &answered(answer.at_ms + 3, 1.0, &answer)).unwrap()
        }),
    );
    for (case, reply) in [
        ("garbage", b"garbage".to_vec()),
        ("empty", Vec::new()),
        ("truncated", fine[..fine.len() / 2].to_vec()),
        ("one byte short", fine[..fine.len() - 1].to_vec()),
    ] {
        let before = device_state(phone);
        let error = sync_quickly(phone, &fake_server(reply)).unwrap_err();
        assert!(
            matches!(error, SyncError::Unreachable { attempts: 3, .. }),
            "{case}: unexpected {error}"
        );
        assert_eq!(device_state(phone), before, "{case} changed the device");
    }
}

/// The bytes of the first event in `doc`'s events list, as a JSON value.
fn first_stored_event(doc: &AutoCommit) -> serde_json::Value {
    let list = events_list(doc);
    let Some((Value::Scalar(scalar), _)) = doc.get(&list, 0).unwrap() else {
        panic!("no first event");
    };
    let ScalarValue::Bytes(bytes) = scalar.as_ref() else {
        panic!("the first event is not bytes");
    };
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn a_message_reusing_a_recorded_event_id_is_refused() {
    let setup = Setup::new();
    let base = setup.server_document(PERIOD);
    // The same writer, sequence and device (so the same id), a millisecond earlier.
    let mut twin = first_stored_event(&base);
    twin["t"] = serde_json::json!(twin["t"].as_i64().unwrap() - 1);
    let twin = serde_json::to_vec(&twin).unwrap();
    let message = hostile_message(&base, |doc, list| {
        let end = doc.length(list);
        doc.insert(list, end, ScalarValue::Bytes(twin)).unwrap()
    });
    setup.refused("an event id twice", exchange_with(PERIOD, message), 422);
    setup.still_syncs();
}

#[test]
fn a_reply_longer_than_any_exchange_is_not_read_to_its_end() {
    let setup = Setup::new();
    let phone = &setup.phone;
    let before = device_state(phone);
    let endless = vec![0u8; tidbit_core::sync::exchange::MAX_BODY_BYTES + 1];
    let error = sync_quickly(phone, &fake_server(endless)).unwrap_err();
    match error {
        SyncError::Unreachable { attempts: 3, last } => {
            assert!(last.contains("longer than"), "{last}")
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(device_state(phone), before);
}
