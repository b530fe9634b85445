//! Erasure by crypto-shredding, end to end through a real server on 127.0.0.1: two learners sync
//! real documents; an admin erases one; afterwards no file of the server's data directory
//! (database, write-ahead log, shared memory, keys) holds that learner's id or reflection text,
//! the other learner's data is intact and still syncs, and the erased learner's device gets a
//! typed `Erased` and keeps its own data. Erasing again is answered as documented; erasing an
//! unknown learner is a 404 and changes nothing.

mod support;

use support::*;
use tidbit_core::learn::assess::Response;
use tidbit_core::tidbit::sync_client::SyncError;
use tidbit_server::auth::ADMIN_DEVICE;

/// Distinctive enough that a match in a file is this learner and nothing else.
const ERASED: &str = "learner-ana-5e1d9c";
const KEPT: &str = "learner-bob-77a0f2";
const REFLECTION: &str =
    "Before each shift I drink water, and after a hard call I talk to Marguerite";

/// Every file under `dir` (recursively) whose bytes hold `needle`.
/// `DELETE /v1/admin/learners/{learner}` with `token`: the status and the body.
fn delete_learner(server: &TestServer, learner: &str, token: Option<&str>) -> (u16, String) {
    let url = format!("{}/v1/admin/learners/{learner}", server.url());
    tidbit_core::runtime::runtime().unwrap().block_on(async {
        let mut request = reqwest::Client::new().delete(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

fn admin(server: &TestServer) -> String {
    server.token("*", ADMIN_DEVICE)
}

/// Writes the reflection of the field-safety course's wellbeing module on `device`.
fn reflect(device: &Device) {
    // Under the analytics scope the reflection's text is recorded, and synced, with the answer.
    device
        .tidbit
        .lock()
        .unwrap()
        .set_consent(tidbit_core::privacy::consent::ConsentScope::Analytics, true)
        .unwrap();
    let response = Response::Reflection {
        text: REFLECTION.into(),
        criteria_met: vec![true, true, false],
    };
    device
        .tidbit
        .lock()
        .unwrap()
        .answer(COURSE, "hw-wellbeing-plan", response, 90_000)
        .unwrap();
}

struct Two {
    root: tempfile::TempDir,
    server: TestServer,
    ana: Device,
    bob: Device,
}

/// Two learners who learned for two days and synced; Ana also wrote a reflection.
fn two_learners() -> Two {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let ana = Device::new(root.path(), ERASED, "ana-phone");
    let bob = Device::new(root.path(), KEPT, "bob-phone");
    learn_for_days(&ana, 1, 2, 3);
    reflect(&ana);
    learn_for_days(&bob, 2, 2, 3);
    for device in [&ana, &bob] {
        let learner = device.tidbit.lock().unwrap().learner_id().to_string();
        device
            .sync(&server.url(), &server.token(&learner, &device.name))
            .unwrap();
    }
    Two {
        root,
        server,
        ana,
        bob,
    }
}

#[test]
fn an_erased_learner_leaves_nothing_readable_in_the_servers_files_and_the_other_learner_syncs_on() {
    let Two {
        root,
        server,
        ana,
        bob,
    } = two_learners();
    let data = server.data.clone();
    // Positive control: the scan finds the learner id, which the server keeps in plain form to
    // index rows, before the erasure.
    assert!(!stored_places_holding(&data, ERASED).is_empty());
    // The reflection reached the server (it is in the events the server holds for Ana), yet no
    // file holds it in plain form even now: documents are sealed under Ana's key. (Should the
    // device ever withhold answer texts from sync without a consent, the learner id above stays
    // the scan's positive control and this check is what shows the text is gone.)
    let held = tidbit_server::exchange::learner_events(server.hub.storage.as_ref(), ERASED)
        .unwrap()
        .iter()
        .any(|e| serde_json::to_string(e).unwrap().contains(REFLECTION));
    assert!(held, "the reflection did not reach the server");
    assert!(stored_places_holding(&data, REFLECTION).is_empty());
    let bob_heads = stored_heads(&server, KEPT);

    let (status, body) = delete_learner(&server, ERASED, Some(&admin(&server)));

    assert_eq!(status, 200, "{body}");
    let receipt: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(receipt["status"], "erased", "{receipt}");
    // SQLite empties its write-ahead log at once; PostgreSQL keeps deleted row versions until
    // vacuum reuses them (sealed under the key just deleted).
    assert_eq!(receipt["wal_truncated"], !on_postgres(), "{receipt}");
    assert!(receipt["documents"].as_u64().unwrap() >= 1, "{receipt}");
    assert!(receipt["event_ids"].as_u64().unwrap() >= 10, "{receipt}");
    assert!(receipt["sync_states"].as_u64().unwrap() >= 1, "{receipt}");
    for needle in [ERASED, REFLECTION] {
        assert_eq!(
            stored_places_holding(&data, needle),
            Vec::<String>::new(),
            "{needle}"
        );
    }
    assert!(server.hub.storage.documents(ERASED).unwrap().is_empty());
    // The erasure log names no one: an id, the time and counts.
    let [entry] = server.hub.storage.erasures().unwrap().try_into().unwrap();
    assert_eq!(Some(entry.erasure.as_str()), receipt["erasure"].as_str());
    assert_eq!(entry.at_ms, server.hub.now_ms());

    // Bob's data is intact, and Bob learns and syncs on.
    assert_eq!(stored_heads(&server, KEPT), bob_heads);
    learn_for_days(&bob, 3, 3, 2);
    bob.sync(&server.url(), &server.token(KEPT, "bob-phone"))
        .unwrap();
    assert_eq!(server_digest(&server, KEPT, root.path()), bob.digest());

    // Ana's device is told, typed, and keeps everything it holds.
    let events_before = ana.event_ids();
    let error = ana
        .sync(&server.url(), &server.token(ERASED, "ana-phone"))
        .unwrap_err();
    assert!(matches!(&error, SyncError::Erased { .. }), "{error}");
    assert_eq!(ana.event_ids(), events_before);
    // So is any other device of hers, with a token issued after the erasure.
    let tablet = Device::new(root.path(), ERASED, "ana-tablet");
    let error = tablet
        .sync(&server.url(), &server.token(ERASED, "ana-tablet"))
        .unwrap_err();
    assert!(matches!(&error, SyncError::Erased { .. }), "{error}");
    assert!(server.hub.storage.documents(ERASED).unwrap().is_empty());
    assert_eq!(stored_places_holding(&data, ERASED), Vec::<String>::new());
}

#[test]
fn erasing_again_answers_already_erased_and_changes_nothing() {
    let Two { server, .. } = two_learners();
    let admin = admin(&server);
    assert_eq!(delete_learner(&server, ERASED, Some(&admin)).0, 200);
    let log = server.hub.storage.erasures().unwrap();

    let (status, body) = delete_learner(&server, ERASED, Some(&admin));

    assert_eq!(status, 200, "{body}");
    let receipt: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(receipt, serde_json::json!({"status": "already_erased"}));
    assert_eq!(server.hub.storage.erasures().unwrap(), log);
}

#[test]
fn erasing_a_learner_the_server_never_held_is_404_and_changes_nothing() {
    let Two { server, .. } = two_learners();
    let heads = (stored_heads(&server, ERASED), stored_heads(&server, KEPT));

    let (status, body) = delete_learner(&server, "learner-nobody", Some(&admin(&server)));

    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("holds nothing for learner 'learner-nobody'"),
        "{body}"
    );
    assert!(server.hub.storage.erasures().unwrap().is_empty());
    assert!(!server.hub.storage.is_erased("learner-nobody").unwrap());
    assert_eq!(
        (stored_heads(&server, ERASED), stored_heads(&server, KEPT)),
        heads
    );
}

#[test]
fn only_an_admin_token_erases_and_a_bad_id_is_refused() {
    let Two { server, .. } = two_learners();
    let learners_token = server.token(ERASED, "ana-phone");
    assert_eq!(delete_learner(&server, ERASED, None).0, 401);
    assert_eq!(
        delete_learner(&server, ERASED, Some(&learners_token)).0,
        403
    );
    let (status, body) = delete_learner(&server, "has%20space", Some(&admin(&server)));
    assert_eq!(status, 400, "{body}");
    assert!(server.hub.storage.erasures().unwrap().is_empty());
    assert!(!server.hub.storage.documents(ERASED).unwrap().is_empty());
}

#[test]
fn an_intervention_for_an_erased_learner_is_gone() {
    let Two { server, .. } = two_learners();
    let admin = admin(&server);
    assert_eq!(delete_learner(&server, ERASED, Some(&admin)).0, 200);

    let status = tidbit_core::runtime::runtime().unwrap().block_on(async {
        reqwest::Client::new()
            .post(format!(
                "{}/v1/admin/learners/{ERASED}/interventions",
                server.url()
            ))
            .bearer_auth(&admin)
            .body(r#"{"module":"primary-survey","reason":"practise again","within_hours":24}"#)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });

    assert_eq!(status, 410);
    assert!(server.hub.storage.documents(ERASED).unwrap().is_empty());
}
