//! Several server processes on one storage, as behind a load balancer: two devices of one
//! learner syncing at the same moment through different processes, and a process killed
//! (SIGKILL) in the middle of exchanges while the device goes on through the other one. On
//! SQLite both processes share the file; on PostgreSQL (`TIDBIT_TEST_DATABASE`, see
//! `scripts/postgres.sh`) they share the database, and concurrent commits for one learner are
//! serialised by an advisory lock and compared against the heads they were prepared from.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::server_process::ServerProcess;
use support::*;

const LEARNER: &str = "learner-ana-two-processes";

/// The server process the tests start and kill (see `support/server_process.rs`).
#[test]
#[ignore = "the server process the tests start and kill; not a test on its own"]
fn server_process() {
    support::server_process::serve_from_env();
}

/// Every event id the server holds for the learner; fails on a duplicate.
fn server_event_ids(server: &ServerProcess) -> Vec<String> {
    let events =
        tidbit_server::exchange::learner_events(server.hub.storage.as_ref(), LEARNER).unwrap();
    let ids: Vec<String> = events.into_iter().map(|e| e.id).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an event is stored twice");
    let mut ids = ids;
    ids.sort();
    ids
}

#[test]
fn two_devices_syncing_at_once_through_two_processes_lose_nothing_and_double_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let first = ServerProcess::start(&data);
    let second = ServerProcess::start(&data);
    let phone = Device::new(root.path(), LEARNER, "phone");
    let tablet = Device::new(root.path(), LEARNER, "tablet");
    let phone_token = first.token(LEARNER, "phone");
    let tablet_token = second.token(LEARNER, "tablet");

    for round in 0..6 {
        learn_for_days(&phone, 10 + round, 1 + round as i64, 3);
        learn_for_days(&tablet, 50 + round, 1 + round as i64, 3);
        // Both at the same moment, each through its own process.
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|scope| {
            let phone_sync = scope.spawn(|| {
                barrier.wait();
                phone.sync(&first.url(), &phone_token)
            });
            let tablet_sync = scope.spawn(|| {
                barrier.wait();
                tablet.sync(&second.url(), &tablet_token)
            });
            phone_sync.join().unwrap().unwrap();
            tablet_sync.join().unwrap().unwrap();
        });
    }
    // One more round each, the other way round, so each device gets what the other sent last.
    phone.sync(&second.url(), &phone_token).unwrap();
    tablet.sync(&first.url(), &tablet_token).unwrap();
    phone.sync(&second.url(), &phone_token).unwrap();

    let held = server_event_ids(&first);
    assert_eq!(phone.event_ids(), tablet.event_ids());
    assert_eq!(phone.event_ids(), held);
    assert!(held.len() > 100, "{} events", held.len());
    assert_eq!(phone.digest(), tablet.digest());
    assert_eq!(
        hub_digest(&second.hub, LEARNER, root.path()),
        phone.digest()
    );
}

#[test]
fn a_process_killed_mid_exchange_loses_no_committed_work_and_the_device_converges_through_the_other(
) {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let mut killed = ServerProcess::start(&data);
    let survivor = ServerProcess::start(&data);
    let phone = Device::new(root.path(), LEARNER, "phone");
    let tablet = Device::new(root.path(), LEARNER, "tablet");
    let phone_token = killed.token(LEARNER, "phone");
    let tablet_token = killed.token(LEARNER, "tablet");
    let mut cut = 0;

    for round in 0..8u64 {
        // A backlog of several days, so the exchange takes a while to apply and commit.
        learn_for_days(&phone, 100 + round, 2 + round as i64 * 2, 4);
        let held_before = server_event_ids(&survivor);
        let url = killed.url();
        std::thread::scope(|scope| {
            let sync = scope.spawn(|| phone.sync(&url, &phone_token));
            std::thread::sleep(Duration::from_millis(2 + 7 * round));
            killed.kill();
            if sync.join().unwrap().is_err() {
                cut += 1;
            }
        });
        // What was committed before the kill is still there, whole.
        let held_after_kill = server_event_ids(&survivor);
        assert!(
            held_before.iter().all(|id| held_after_kill.contains(id)),
            "committed events were lost"
        );
        // The device goes on through the other process.
        phone.sync(&survivor.url(), &phone_token).unwrap();
        assert_eq!(server_event_ids(&survivor), phone.event_ids());
        killed.restart();
    }
    tablet.sync(&survivor.url(), &tablet_token).unwrap();
    assert_eq!(tablet.event_ids(), phone.event_ids());
    assert_eq!(tablet.digest(), phone.digest());
    assert_eq!(
        hub_digest(&survivor.hub, LEARNER, root.path()),
        phone.digest()
    );
    eprintln!("{cut} of 8 syncs were cut by the kill");
}

/// Whether `server` leads the background work, from its metrics.
fn leads(server: &ServerProcess) -> bool {
    let metrics = reqwest::blocking::get(format!("{}/metrics", server.url()))
        .unwrap()
        .text()
        .unwrap();
    metrics
        .lines()
        .any(|line| line == "tidbit_background_leader 1")
}

/// `GET /v1/admin/metrics` through `server`: the status and the body.
fn admin_metrics(server: &ServerProcess, admin: &str) -> (u16, String) {
    let answer = reqwest::blocking::Client::new()
        .get(format!("{}/v1/admin/metrics?format=json", server.url()))
        .bearer_auth(admin)
        .send()
        .unwrap();
    (answer.status().as_u16(), answer.text().unwrap())
}

#[test]
fn one_process_leads_the_background_work_the_other_forwards_to_it_and_takes_over_when_it_dies() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let mut first = ServerProcess::start(&data);
    let second = ServerProcess::start(&data);
    let admin = first
        .hub
        .tokens
        .issue("*", tidbit_server::auth::ADMIN_DEVICE, 4_102_444_800);
    let phone = Device::new(root.path(), LEARNER, "phone");
    learn_for_days(&phone, 7, 3, 4);
    phone
        .sync(&second.url(), &second.token(LEARNER, "phone"))
        .unwrap();

    // The first started leads; the second forwards what only the leader holds.
    assert!(leads(&first));
    assert!(!leads(&second));
    let learners = |body: &str| -> u64 {
        let view: serde_json::Value = serde_json::from_str(body).unwrap();
        view["summary"]["learners"].as_u64().unwrap()
    };
    let settled = |body: &str| -> bool {
        let view: serde_json::Value = serde_json::from_str(body).unwrap();
        view["summary"]["learners"] == 1 && view["learners_pending"] == 0
    };
    // The two answers are asked one after the other, so they are compared once the leader has
    // made every summary: until then the second can see a newer state than the first.
    let mut answers = (String::new(), String::new());
    for _ in 0..100 {
        let (status_first, body_first) = admin_metrics(&first, &admin);
        let (status_second, body_second) = admin_metrics(&second, &admin);
        assert_eq!((status_first, status_second), (200, 200), "{body_second}");
        answers = (body_first, body_second);
        if settled(&answers.0) && settled(&answers.1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(settled(&answers.0), "{}", answers.0);
    assert_eq!(answers.0, answers.1);

    // The leader dies; the other takes the lead and rebuilds the summaries from the storage.
    first.kill();
    let mut taken_over = false;
    for _ in 0..100 {
        let (status, body) = admin_metrics(&second, &admin);
        if status == 200 && learners(&body) == 1 {
            taken_over = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        taken_over,
        "the second process never answered the metrics itself"
    );
    assert!(leads(&second));
}
