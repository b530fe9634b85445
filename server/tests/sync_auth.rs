//! Who may sync what, through the real HTTP server: a learner's token opens that learner's
//! documents and nobody else's; expired, forged and missing tokens open nothing; admin tokens
//! cannot sync at all.

mod support;

use automerge::sync::{Message, MessageVersion};
use support::*;
use tidbit_core::events::{Event, EventKind};
use tidbit_core::sync::documents;
use tidbit_core::sync::exchange::{DocumentHeads, DocumentMessage, Exchange, Listing};
use tidbit_core::tidbit::sync_client::SyncError;
use tidbit_server::auth::{TokenKey, ADMIN_DEVICE};

const FAR_FUTURE: i64 = 4_102_444_800;
const PERIOD: &str = "events-2026-09";

/// Two learners who have each synced a few days of learning.
fn two_learners() -> (tempfile::TempDir, TestServer) {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    for (learner, seed) in [("ana", 1), ("bob", 2)] {
        let device = Device::new(root.path(), learner, &format!("{learner}-phone"));
        learn_for_days(&device, seed, 2, 3);
        device
            .sync(&server.url(), &server.token(learner, &device.name))
            .unwrap();
    }
    assert!(!stored_heads(&server, "bob").is_empty());
    (root, server)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// An opening exchange claiming to hold none of `PERIOD`: the server answers with its content.
fn read_probe() -> Vec<u8> {
    Exchange {
        heads: vec![DocumentHeads {
            doc: PERIOD.into(),
            heads: Vec::new(),
        }],
        listing: Some(Listing::default()),
        ..Exchange::default()
    }
    .encode()
}

/// An exchange appending one well-formed event to `PERIOD`.
fn write_probe(device: &str) -> Vec<u8> {
    let mut doc = documents::genesis(PERIOD).unwrap();
    let before = doc.get_heads();
    let at_ms = start().timestamp_millis();
    let event = Event {
        id: Event::make_id(device, "1badcafe", 1),
        at_ms,
        device: device.into(),
        kind: EventKind::Enrolled {
            course: COURSE.into(),
            path: "field-volunteer".into(),
        },
    };
    documents::append(&mut doc, "1badcafe", 1, &event).unwrap();
    let message = Message {
        heads: doc.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: doc.save_after(&before).into(),
        flags: None,
        version: MessageVersion::V1,
    };
    Exchange {
        heads: vec![DocumentHeads {
            doc: PERIOD.into(),
            heads: doc.get_heads(),
        }],
        messages: vec![DocumentMessage {
            doc: PERIOD.into(),
            message: message.encode(),
        }],
        listing: Some(Listing::default()),
        ..Exchange::default()
    }
    .encode()
}

#[test]
fn a_learners_token_reads_that_learners_documents() {
    let (_root, server) = two_learners();
    let token = server.token("bob", "bob-phone");
    let (status, body) = post_sync(&server.url(), "bob", Some(&bearer(&token)), read_probe());
    assert_eq!(status, 200);
    let reply = Exchange::decode(&body).unwrap();
    assert_eq!(reply.messages.len(), 1);
    assert_eq!(reply.messages[0].doc, PERIOD);
}

#[test]
fn a_token_for_one_learner_can_never_read_another_learners_documents() {
    let (_root, server) = two_learners();
    let before = stored_heads(&server, "bob");
    for device in ["ana-phone", "bob-phone", "ana-tablet"] {
        let token = server.token("ana", device);
        let (status, body) = post_sync(&server.url(), "bob", Some(&bearer(&token)), read_probe());
        assert_eq!(status, 403, "{device}");
        assert!(
            Exchange::decode(&body).is_err(),
            "a 403 carried an exchange"
        );
        assert_eq!(
            String::from_utf8_lossy(&body).trim(),
            "this token is not for this learner's documents"
        );
    }
    assert_eq!(stored_heads(&server, "bob"), before);
}

#[test]
fn a_token_for_one_learner_can_never_write_another_learners_documents() {
    let (_root, server) = two_learners();
    let ana_before = stored_heads(&server, "ana");
    let bob_before = stored_heads(&server, "bob");
    let token = server.token("ana", "ana-phone");
    let (status, _) = post_sync(
        &server.url(),
        "bob",
        Some(&bearer(&token)),
        write_probe("ana-phone"),
    );
    assert_eq!(status, 403);
    assert_eq!(stored_heads(&server, "bob"), bob_before);
    assert_eq!(stored_heads(&server, "ana"), ana_before);
    // The same write with bob's own token is stored: the probe itself was well formed.
    let token = server.token("bob", "bob-phone");
    let (status, _) = post_sync(
        &server.url(),
        "bob",
        Some(&bearer(&token)),
        write_probe("bob-phone"),
    );
    assert_eq!(status, 200);
    assert_ne!(stored_heads(&server, "bob"), bob_before);
}

#[test]
fn a_device_syncing_with_another_learners_token_is_refused_and_keeps_its_progress() {
    let (root, server) = two_learners();
    let bob_before = stored_heads(&server, "bob");
    let device = Device::new(root.path(), "bob", "bob-tablet");
    learn_for_days(&device, 9, 1, 3);
    let (digest, events) = (device.digest(), device.event_ids());
    let error = device
        .sync(&server.url(), &server.token("ana", "bob-tablet"))
        .unwrap_err();
    assert!(
        matches!(error, SyncError::Unauthorized { status: 403 }),
        "{error}"
    );
    assert_eq!(stored_heads(&server, "bob"), bob_before);
    assert_eq!((device.digest(), device.event_ids()), (digest, events));
}

#[test]
fn expired_forged_malformed_and_missing_tokens_get_401() {
    let (root, server) = two_learners();
    let ana_before = stored_heads(&server, "ana");
    let keys = &server.hub.tokens;
    let now = chrono::Utc::now().timestamp();
    let good = keys.issue("ana", "ana-phone", FAR_FUTURE);
    let (_, payload_and_mac) = good.split_once('.').unwrap();
    let (payload, mac) = payload_and_mac.split_once('.').unwrap();
    // Another server's key signs a token that is otherwise perfect.
    let other_key = TokenKey::load_or_create(&root.path().join("other-server")).unwrap();
    let cases: Vec<(&str, Option<String>)> = vec![
        (
            "expired",
            Some(bearer(&keys.issue("ana", "ana-phone", now - 1))),
        ),
        (
            "payload swapped",
            Some(bearer(&format!(
                "v2.{}.{mac}",
                hex::encode(format!("ana\nana-phone\n{}\n0\n", FAR_FUTURE + 1))
            ))),
        ),
        (
            "mac of another token",
            Some(bearer(&format!(
                "v2.{payload}.{}",
                keys.issue("ana", "ana-phone", FAR_FUTURE - 1)
                    .rsplit('.')
                    .next()
                    .unwrap()
            ))),
        ),
        (
            "another server's key",
            Some(bearer(&other_key.issue("ana", "ana-phone", FAR_FUTURE))),
        ),
        ("mac cut", Some(bearer(&good[..good.len() - 2]))),
        ("not hex", Some(bearer("v1.zz.zz"))),
        (
            "wrong version",
            Some(bearer(&good.replacen("v2.", "v3.", 1))),
        ),
        ("garbage", Some(bearer("garbage"))),
        ("empty bearer", Some("Bearer ".into())),
        ("basic auth", Some("Basic YW5hOnNlY3JldA==".into())),
        ("token without scheme", Some(good.clone())),
        ("missing", None),
    ];
    for (case, authorization) in cases {
        for body in [read_probe(), write_probe("ana-phone")] {
            let (status, reply) = post_sync(&server.url(), "ana", authorization.as_deref(), body);
            assert_eq!(status, 401, "{case}: {}", String::from_utf8_lossy(&reply));
        }
    }
    assert_eq!(stored_heads(&server, "ana"), ana_before);
    // The genuine token still works.
    let (status, _) = post_sync(&server.url(), "ana", Some(&bearer(&good)), read_probe());
    assert_eq!(status, 200);
}

#[test]
fn a_device_with_an_expired_token_is_told_to_get_a_new_one() {
    let (root, server) = two_learners();
    let device = Device::new(root.path(), "ana", "ana-tablet");
    let expired = server.hub.tokens.issue("ana", "ana-tablet", 1_000);
    let error = device.sync(&server.url(), &expired).unwrap_err();
    assert!(
        matches!(error, SyncError::Unauthorized { status: 401 }),
        "{error}"
    );
    assert!(error.to_string().contains("get a new token"), "{error}");
}

#[test]
fn an_admin_token_cannot_sync() {
    let (root, server) = two_learners();
    let ana_before = stored_heads(&server, "ana");
    let admin = server.hub.tokens.issue("ana", ADMIN_DEVICE, FAR_FUTURE);
    for body in [read_probe(), write_probe(ADMIN_DEVICE)] {
        let (status, _) = post_sync(&server.url(), "ana", Some(&bearer(&admin)), body);
        assert_eq!(status, 403);
    }
    let device = Device::new(root.path(), "ana", "ana-laptop");
    let error = device.sync(&server.url(), &admin).unwrap_err();
    assert!(
        matches!(error, SyncError::Unauthorized { status: 403 }),
        "{error}"
    );
    assert_eq!(stored_heads(&server, "ana"), ana_before);
}
