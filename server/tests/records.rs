//! Learning records through a real LRS (Learning Locker's xAPI statements service on
//! 127.0.0.1, started by `scripts/lrs.sh`): what the server delivers is read back from the LRS
//! and equals, statement for statement, what the learner's device makes from the same events;
//! an LRS that is down, a server restart and replies lost after the LRS stored a batch lose and
//! double nothing; a statement the LRS refuses is quarantined with its reason and the rest go on.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::lrs::{Gate, GateMode, Lrs};
use support::{learn_for_days, open_hub, sample_pack, server_clock, Device, COURSE};
use tidbit_core::privacy::consent::ConsentScope;
use tidbit_server::records::LrsSettings;
use tidbit_server::storage::OutboxStatus;
use tidbit_server::Hub;

const HOME: &str = "https://learn.example.org";

/// A server forwarding records to `endpoint`, on `addr` (port 0: a free one).
struct RecordsServer {
    hub: Arc<Hub>,
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RecordsServer {
    fn start(data: &Path, endpoint: &str, lrs: &Lrs, addr: std::net::SocketAddr) -> RecordsServer {
        let packs = data.join("packs");
        std::fs::create_dir_all(&packs).unwrap();
        let (pack, trusted) = sample_pack();
        std::fs::copy(pack, packs.join(format!("{COURSE}.tidbit"))).unwrap();
        let settings = LrsSettings {
            endpoint: endpoint.into(),
            user: lrs.user.clone(),
            password: lrs.password.clone(),
            batch: 50,
            parallel: 2,
            max_backoff: Duration::from_millis(500),
            home_page: HOME.into(),
        };
        let hub = Arc::new(
            open_hub(data)
                .with_clock(server_clock())
                .with_trusted_packs(trusted.clone())
                .with_records(settings)
                .unwrap(),
        );
        let runtime = tidbit_core::runtime::runtime().unwrap();
        let (addr, task) = runtime
            .block_on(tidbit_server::spawn(addr, hub.clone()))
            .unwrap();
        RecordsServer { hub, addr, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn status(&self) -> OutboxStatus {
        self.hub.storage.outbox_status(100).unwrap()
    }

    /// Waits until `done` holds of the outbox (at most 60 s).
    fn wait(&self, what: &str, done: impl Fn(&OutboxStatus) -> bool) -> OutboxStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(records) = &self.hub.records {
                records.wake();
            }
            let status = self.status();
            if done(&status) {
                return status;
            }
            assert!(Instant::now() < deadline, "waited for {what}: {status:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(self) {
        self.task.abort();
        let runtime = tidbit_core::runtime::runtime().unwrap();
        let _ = runtime.block_on(self.task);
    }
}

fn settled(status: &OutboxStatus) -> bool {
    status.pending == 0 && status.learners_due == 0
}

/// A statement as the LRS returns it, without what the LRS adds.
fn as_sent(mut stored: serde_json::Value) -> serde_json::Value {
    let object = stored.as_object_mut().unwrap();
    for added in ["stored", "authority", "version"] {
        object.remove(added);
    }
    numbers_as_floats(stored)
}

/// JSON numbers compared by value: the LRS writes a score of `1.0` back as `1`.
fn numbers_as_floats(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) => Value::from(n.as_f64().unwrap()),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_floats).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, numbers_as_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

fn device_records(device: &Device) -> Vec<serde_json::Value> {
    device
        .tidbit
        .lock()
        .unwrap()
        .learning_records(HOME)
        .unwrap()
        .into_iter()
        .map(|s| numbers_as_floats(serde_json::to_value(s).unwrap()))
        .collect()
}

/// The LRS holds exactly the device's statements, each once and equal to the device's.
fn assert_lrs_holds_exactly(lrs: &Lrs, device: &Device) {
    let expected = device_records(device);
    let stored = lrs.statements();
    let ids: BTreeSet<&str> = stored.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), stored.len(), "a statement was stored twice");
    assert_eq!(stored.len(), expected.len(), "statements lost or added");
    let mut stored: Vec<serde_json::Value> = stored.into_iter().map(as_sent).collect();
    stored.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let mut expected = expected;
    expected.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    for (stored, expected) in stored.iter().zip(&expected) {
        assert_eq!(stored, expected);
    }
}

#[test]
fn records_reach_the_real_lrs_equal_to_the_devices_through_an_outage_a_restart_and_lost_replies() {
    let lrs = Lrs::start();
    let gate = Gate::start(lrs.addr());
    let endpoint = format!("http://{}{}", gate.addr, lrs.base_path());
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let server = RecordsServer::start(&data, &endpoint, &lrs, "127.0.0.1:0".parse().unwrap());
    let token = server.hub.tokens.issue("ana", "phone", 4_102_444_800);

    // Delivered and read back: the server's statements are the device's, byte for byte.
    let phone = Device::new(root.path(), "ana", "phone");
    phone
        .tidbit
        .lock()
        .unwrap()
        .set_consent(ConsentScope::Analytics, true)
        .unwrap();
    learn_for_days(&phone, 3, 4, 12);
    phone.sync(&server.url(), &token).unwrap();
    let status = server.wait("the first delivery", settled);
    assert!(status.delivered > 100, "{status:?}");
    assert_eq!((status.quarantined, status.conflicts), (0, 0));
    assert_lrs_holds_exactly(&lrs, &phone);
    let first = lrs.statements().len();

    // The LRS goes down: new records wait in the outbox, attempts back off, nothing is lost...
    gate.set(GateMode::Down);
    learn_for_days(&phone, 4, 7, 12);
    phone.sync(&server.url(), &token).unwrap();
    server.wait("records made while the LRS is down", |s| {
        s.learners_due == 0 && s.pending > 0
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.hub.records.as_ref().unwrap().state().failures < 3 {
        assert!(Instant::now() < deadline, "no failed attempts recorded");
        std::thread::sleep(Duration::from_millis(50));
    }
    let down = server.hub.records.as_ref().unwrap().state();
    assert!(down.last_error.is_some(), "{down:?}");
    assert_eq!(lrs.statements().len(), first);

    // ...through a server restart while it is down...
    let addr = server.addr;
    server.stop();
    let server = RecordsServer::start(&data, &endpoint, &lrs, addr);
    assert!(server.status().pending > 0);

    // ...and when the LRS stores batches whose replies never arrive, the resends double
    // nothing.
    gate.set(GateMode::CutReplies);
    let deadline = Instant::now() + Duration::from_secs(30);
    while lrs.statements().len() == first {
        assert!(Instant::now() < deadline, "the LRS never got a batch");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.status().pending > 0, "the server saw no reply");
    gate.set(GateMode::Open);
    let status = server.wait("delivery after the outage", settled);
    assert_eq!((status.quarantined, status.conflicts), (0, 0));
    assert_lrs_holds_exactly(&lrs, &phone);
    assert_eq!(
        status.delivered as usize,
        device_records(&phone).len(),
        "{status:?}"
    );
    server.stop();
}

#[test]
fn a_statement_the_lrs_refuses_is_quarantined_with_its_reason_and_the_rest_go_on() {
    let lrs = Lrs::start();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let server = RecordsServer::start(&data, &lrs.endpoint, &lrs, "127.0.0.1:0".parse().unwrap());
    let token = server.hub.tokens.issue("ana", "phone", 4_102_444_800);
    let phone = Device::new(root.path(), "ana", "phone");
    learn_for_days(&phone, 5, 2, 10);
    let mut good: Vec<(String, Vec<u8>)> = device_records(&phone)
        .into_iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                serde_json::to_vec(&s).unwrap(),
            )
        })
        .collect();
    // One statement the LRS must refuse, in the middle of the first batch.
    let mut bad = serde_json::from_slice::<serde_json::Value>(&good[0].1).unwrap();
    bad["id"] = "0f8c2a9e-1b7d-5c3e-9a4f-2d6b8e0c1a35".into();
    bad["verb"]["id"] = "not a verb".into();
    good.insert(
        10,
        (
            bad["id"].as_str().unwrap().into(),
            serde_json::to_vec(&bad).unwrap(),
        ),
    );
    let total = good.len() as u64;
    server
        .hub
        .storage
        .enqueue_statements("ana", 0, &good)
        .unwrap();
    // Syncing the same events changes nothing in the outbox: the ids are already queued.
    phone.sync(&server.url(), &token).unwrap();

    let status = server.wait("delivery", |s| settled(s) && s.pending == 0);
    assert_eq!(status.quarantined, 1, "{status:?}");
    assert_eq!(status.delivered, total - 1);
    let quarantined = &status.quarantine[0];
    assert_eq!(quarantined.statement, bad["id"].as_str().unwrap());
    assert_eq!(quarantined.learner, "ana");
    assert!(quarantined.reason.contains("verb"), "{quarantined:?}");
    assert_lrs_holds_exactly(&lrs, &phone);

    // The admin sees the same through the API; a learner's token sees nothing.
    let client = reqwest::blocking::Client::new();
    let admin = server
        .hub
        .tokens
        .issue("*", tidbit_server::auth::ADMIN_DEVICE, 4_102_444_800);
    let view: serde_json::Value = client
        .get(format!("{}/v1/admin/records", server.url()))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(view["configured"], true);
    assert_eq!(view["outbox"]["quarantined"], 1);
    assert_eq!(
        view["outbox"]["quarantine"][0]["statement"],
        bad["id"].clone()
    );
    let refused = client
        .get(format!("{}/v1/admin/records", server.url()))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);

    // Erasure takes the learner's queued statements and engagement summary with the rest.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.hub.summaries.get("ana").is_none() {
        assert!(Instant::now() < deadline, "no summary was made");
        std::thread::sleep(Duration::from_millis(50));
    }
    tidbit_server::erasure::erase(&server.hub, "ana").unwrap();
    let status = server.status();
    assert_eq!(
        (status.pending, status.delivered, status.quarantined),
        (0, 0, 0),
        "{status:?}"
    );
    assert!(server.hub.summaries.get("ana").is_none());
    server.stop();
}

#[test]
fn records_of_events_from_before_the_lrs_was_set_up_are_delivered_once() {
    let lrs = Lrs::start();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    // A server without an LRS holds a learner's events.
    let plain = support::TestServer::start(&data);
    let token = plain.token("ana", "phone");
    let phone = Device::new(root.path(), "ana", "phone");
    learn_for_days(&phone, 9, 2, 10);
    phone.sync(&plain.url(), &token).unwrap();
    plain.stop();

    // Set up later, the LRS gets them all; a second start marks no one again.
    let server = RecordsServer::start(&data, &lrs.endpoint, &lrs, "127.0.0.1:0".parse().unwrap());
    let status = server.wait("the backfill", |s| settled(s) && s.pending == 0);
    assert_eq!(status.delivered as usize, device_records(&phone).len());
    assert_lrs_holds_exactly(&lrs, &phone);
    assert_eq!(server.hub.storage.mark_all_records_due().unwrap(), 0);
    server.stop();
}
