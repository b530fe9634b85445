//! The hardening findings, one test each, through the real server on 127.0.0.1: what one
//! hostile device token (or anyone who can reach the server) could do to stop a learner's sync
//! for good, exhaust the server, or lose committed work, and that it no longer can.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use automerge::sync::{Message, MessageVersion};
use automerge::{ActorId, AutoCommit};
use support::*;
use tidbit_core::events::{Clock, Event, EventKind, ManualClock};
use tidbit_core::sync::documents;
use tidbit_core::sync::exchange::Exchange;
use tidbit_server::storage::{DocumentUpdate, DocumentWrite, StorageError};
use tidbit_server::{Hub, Limits};

const LEARNER: &str = "ana";
const PERIOD: &str = "events-2026-09";

/// A server on a free port over `hub`.
fn serve(hub: Arc<Hub>) -> String {
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let (addr, _task) = runtime
        .block_on(tidbit_server::spawn("127.0.0.1:0".parse().unwrap(), hub))
        .unwrap();
    format!("http://{addr}")
}

/// The server's copy of `name` for `learner`.
fn server_document(hub: &Hub, name: &str) -> AutoCommit {
    let stored = hub.storage.load(LEARNER, name).unwrap().unwrap();
    let mut doc = AutoCommit::load(&stored.snapshot).unwrap();
    for chunk in &stored.chunks {
        doc.load_incremental(chunk).unwrap();
    }
    doc
}

/// A message appending `events` (as `incarnation`) on top of `base`.
fn appending(base: &AutoCommit, incarnation: &str, events: &[Event]) -> Vec<u8> {
    let mut doc = base
        .clone()
        .with_actor(ActorId::from(hex::decode(incarnation).unwrap()));
    let before = doc.get_heads();
    for (i, event) in events.iter().enumerate() {
        documents::append(&mut doc, incarnation, i as u64 + 1, event).unwrap();
    }
    message_after(&mut doc, &before)
}

/// Posts `body` as `device`; returns the status and the decoded reply (when 200).
fn post_as(server: &TestServer, device: &str, body: Vec<u8>) -> (u16, Option<Exchange>) {
    let token = format!("Bearer {}", server.token(LEARNER, device));
    let (status, reply) = post_sync(&server.url(), LEARNER, Some(&token), body);
    (
        status,
        (status == 200).then(|| Exchange::decode(&reply).unwrap()),
    )
}

fn event(device: &str, incarnation: &str, sequence: u64, at_ms: i64, kind: EventKind) -> Event {
    Event {
        id: Event::make_id(device, incarnation, sequence),
        at_ms,
        device: device.into(),
        kind,
    }
}

fn module_started(module: &str) -> EventKind {
    EventKind::ModuleStarted {
        course: COURSE.into(),
        module: module.into(),
    }
}

/// A phone that has learned and synced, and a server holding it.
struct Learner {
    root: tempfile::TempDir,
    server: TestServer,
    phone: Device,
}

impl Learner {
    fn new() -> Learner {
        let root = tempfile::tempdir().unwrap();
        let server = TestServer::start(&root.path().join("server"));
        let phone = Device::new(root.path(), LEARNER, "phone");
        learn_for_days(&phone, 3, 2, 4);
        phone
            .sync(&server.url(), &server.token(LEARNER, "phone"))
            .unwrap();
        Learner {
            root,
            server,
            phone,
        }
    }

    /// A message from device `sender` appending `events` to the period is refused alone, and
    /// the learner's honest devices still converge with every event of theirs.
    fn refuses(&self, case: &str, sender: &str, events: &[Event]) {
        let base = server_document(&self.server.hub, PERIOD);
        let before = stored_heads(&self.server, LEARNER);
        let (status, reply) = post_as(
            &self.server,
            sender,
            exchange_with(PERIOD, appending(&base, "0badc0de", events)),
        );
        assert_eq!(status, 200, "{case}");
        let reply = reply.unwrap();
        assert_eq!(reply.refused.len(), 1, "{case}: {reply:?}");
        assert_eq!(stored_heads(&self.server, LEARNER), before, "{case} stored");
        self.converges(case);
    }

    /// A new tablet learns and syncs, the phone syncs: they hold the same events and state.
    fn converges(&self, case: &str) {
        static TABLETS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = TABLETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tablet = Device::new(self.root.path(), LEARNER, &format!("tablet-{n}"));
        learn_for_days(&tablet, 9, 1, 3);
        let url = self.server.url();
        let report = tablet
            .sync(&url, &self.server.token(LEARNER, &tablet.name))
            .unwrap();
        assert_eq!(report.documents_refused, 0, "{case}: {report:?}");
        self.phone
            .sync(&url, &self.server.token(LEARNER, "phone"))
            .unwrap();
        assert_eq!(self.phone.event_ids(), tablet.event_ids(), "{case}");
        assert_eq!(self.phone.digest(), tablet.digest(), "{case}");
    }
}

#[test]
fn a_compressed_change_or_a_deflate_bomb_in_a_document_chunk_is_refused_before_automerge() {
    let learner = Learner::new();
    // A document chunk whose one column is a deflated run of zeros 64 MiB long.
    let mut zeros = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..1024 {
        zeros.write_all(&[0u8; 64 * 1024]).unwrap();
    }
    let column = zeros.finish().unwrap();
    let mut data = vec![0, 0, 1];
    leb(&mut data, 0x08 | (1 << 4));
    leb(&mut data, column.len() as u64);
    data.push(0);
    data.extend_from_slice(&column);
    let bomb = chunk(0, &data);
    let compressed_change = chunk(2, &column);
    for (case, changes) in [("bomb", bomb), ("compressed change", compressed_change)] {
        let message = Message {
            heads: Vec::new(),
            need: Vec::new(),
            have: Vec::new(),
            changes: changes.into(),
            flags: None,
            version: MessageVersion::V1,
        }
        .encode();
        assert!(message.len() < 200 * 1024, "{case}: {}", message.len());
        let (status, reply) = post_as(&learner.server, "phone", exchange_with(PERIOD, message));
        assert_eq!(status, 200, "{case}");
        let refused = &reply.unwrap().refused;
        assert_eq!(refused.len(), 1, "{case}");
        assert!(
            refused[0].reason.contains("inflate") || refused[0].reason.contains("compressed"),
            "{case}: {}",
            refused[0].reason
        );
    }
}

fn chunk(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, kind];
    leb(&mut bytes, data.len() as u64);
    bytes.extend_from_slice(data);
    bytes
}

fn leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[test]
fn a_poison_event_is_refused_and_never_stops_the_other_devices() {
    let learner = Learner::new();
    let at = start().timestamp_millis() + 10 * 86_400_000 - 1;
    for (case, parameters) in [
        ("three parameters", vec![0.5; 3]),
        ("a NaN", {
            let mut w = vec![1.0f32; 21];
            w[3] = f32::NAN;
            w
        }),
        ("a huge stability", {
            let mut w = vec![1.0f32; 21];
            w[0] = 1e30;
            w
        }),
    ] {
        let poison = event(
            "phone",
            "0badc0de",
            1,
            at,
            EventKind::ParametersAdopted {
                parameters,
                reviews: 100,
                log_loss_before: 0.5,
                log_loss_after: 0.4,
            },
        );
        learner.refuses(case, "phone", &[poison]);
    }
}

#[test]
fn an_event_claiming_another_device_or_the_server_is_refused() {
    let learner = Learner::new();
    let at = start().timestamp_millis() + 10 * 86_400_000 - 1;
    // The phone's own next id, pre-empted by another device's token.
    learner.refuses(
        "another device",
        "intruder",
        &[event("phone", "0badc0de", 1, at, module_started("m1"))],
    );
    learner.refuses(
        "the server",
        "phone",
        &[event("server", "0badc0de", 1, at, module_started("m1"))],
    );
}

#[test]
fn events_dated_outside_the_server_clock_window_are_refused() {
    let learner = Learner::new();
    let now = learner.server.hub.now_ms();
    let day = 86_400_000;
    let far_future = event(
        "phone",
        "0badc0de",
        1,
        253_402_300_000_000,
        module_started("m1"),
    );
    let push = event(
        "phone",
        "0badc0de",
        1,
        now + 2 * day,
        EventKind::PushTokenRegistered {
            platform: "fcm".into(),
            token: "takes-every-push".into(),
        },
    );
    // Each goes to its own period's document: the far one is refused as a document, the near
    // one as an event.
    for (case, event) in [
        ("year 9999", far_future),
        ("a push token two days ahead", push),
    ] {
        let name = documents::period_of(event.at_ms);
        let base = documents::genesis(&name).unwrap();
        let before = stored_heads(&learner.server, LEARNER);
        let (status, reply) = post_as(
            &learner.server,
            "phone",
            exchange_with(&name, appending(&base, "0badc0de", &[event])),
        );
        assert_eq!(status, 200, "{case}");
        assert_eq!(reply.unwrap().refused.len(), 1, "{case}");
        assert_eq!(stored_heads(&learner.server, LEARNER), before, "{case}");
    }
}

#[test]
fn years_of_monthly_documents_sync_in_pages_and_a_new_device_bootstraps_them_all() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let hub = Arc::new(
        open_hub(&root.path().join("server"))
            .with_rate_limit(GENEROUS_RATE)
            .with_clock(clock.clone()),
    );
    let url = serve(hub.clone());
    let token = |device: &str| hub.tokens.issue(LEARNER, device, 4_102_444_800);
    let phone = Device::new(root.path(), LEARNER, "phone");
    // 70 months, one short session a month, synced as it goes.
    let months = 70;
    for month in 0..months {
        let at = start() + chrono::Duration::days(30 * month);
        phone.clock.set(at);
        clock.set(at + chrono::Duration::hours(1));
        learn_for_days(&phone, month as u64, 1, 2);
        phone.sync(&url, &token("phone")).unwrap();
    }
    let documents = stored_heads_of(&hub);
    assert!(documents.len() >= 69, "{} documents", documents.len());
    // The phone lists them all again, a page at a time: nothing new, nothing refused.
    let again = phone.sync(&url, &token("phone")).unwrap();
    assert_eq!((again.events_received, again.documents_refused), (0, 0));
    assert!(again.round_trips >= 3, "{again:?}");
    // A new tablet receives every document, more than one reply holds.
    let tablet = Device::new(root.path(), LEARNER, "tablet");
    tablet.clock.set(phone.clock.now());
    let report = tablet.sync(&url, &token("tablet")).unwrap();
    // 48 documents a reply at most: two replies at least.
    assert!(report.round_trips >= 2, "{report:?}");
    assert_eq!(report.documents as usize, documents.len());
    assert_eq!(tablet.event_ids(), phone.event_ids());
    assert_eq!(tablet.digest(), phone.digest());
    assert_eq!(device_heads(&tablet).len(), documents.len());
}

fn stored_heads_of(hub: &Hub) -> Vec<(String, Vec<automerge::ChangeHash>)> {
    hub.storage.documents(LEARNER).unwrap()
}

#[test]
fn a_hostile_device_naming_documents_far_outside_the_present_stops_nothing() {
    let learner = Learner::new();
    let names: Vec<String> = (0..40)
        .map(|i| format!("events-{:04}-{:02}", 2000 + i / 12, i % 12 + 1))
        .collect();
    let body = Exchange {
        heads: names
            .iter()
            .map(|doc| tidbit_core::sync::exchange::DocumentHeads {
                doc: doc.clone(),
                heads: vec![automerge::ChangeHash([7; 32])],
            })
            .collect(),
        listing: Some(tidbit_core::sync::exchange::Listing::default()),
        ..Exchange::default()
    }
    .encode();
    let (status, reply) = post_as(&learner.server, "intruder", body);
    assert_eq!(status, 200);
    assert_eq!(reply.unwrap().refused.len(), 40);
    assert_eq!(stored_heads(&learner.server, LEARNER).len(), 1);
    learner.converges("after the names");
}

#[test]
fn a_commit_prepared_on_heads_that_changed_since_is_refused_and_writes_nothing() {
    let learner = Learner::new();
    let storage = learner.server.hub.storage.as_ref();
    let mut base = server_document(&learner.server.hub, PERIOD);
    let loaded = base.get_heads();
    let write = |doc: &mut AutoCommit, incarnation: &str, module: &str| {
        let mut doc2 = doc
            .clone()
            .with_actor(ActorId::from(hex::decode(incarnation).unwrap()));
        let at = start().timestamp_millis() + 5 * 86_400_000;
        let e = event("phone", incarnation, 1, at, module_started(module));
        documents::append(&mut doc2, incarnation, 1, &e).unwrap();
        (doc2, e.id)
    };
    let (first, first_id) = write(&mut base.clone(), "0a", "m1");
    let (second, second_id) = write(&mut base.clone(), "0b", "m2");
    let update = |doc: &AutoCommit| DocumentUpdate {
        doc: PERIOD.into(),
        expected: Some(loaded.clone()),
        write: DocumentWrite::Chunk(doc.clone().save_after(&loaded)),
        heads: doc.clone().get_heads(),
    };
    storage
        .commit(LEARNER, "phone", &[update(&first)], &[], &[first_id])
        .unwrap();
    // Another writer (an intervention from another process, say) prepared on the same heads.
    let error = storage
        .commit(
            LEARNER,
            "phone",
            &[update(&second)],
            &[],
            std::slice::from_ref(&second_id),
        )
        .unwrap_err();
    assert!(matches!(error, StorageError::Conflict { .. }), "{error}");
    // Its event id was not recorded: the device's re-send is taken later.
    storage
        .commit(LEARNER, "phone", &[], &[], &[second_id])
        .unwrap();
}

#[test]
fn interventions_from_another_process_and_syncs_at_the_same_time_lose_nothing() {
    let learner = Learner::new();
    let data = learner.server.data.clone();
    let url = learner.server.url();
    let tablet = Device::new(learner.root.path(), LEARNER, "tablet");
    let server_now = learner.server.hub.now_ms();
    // `tidbit serve trigger` in another process: its own connection to the same storage.
    let other = std::thread::spawn(move || {
        let storage = open_hub(&data).storage;
        let storage = storage.as_ref();
        let mut ids = Vec::new();
        for i in 0..20 {
            let request = tidbit_server::interventions::InterventionRequest {
                module: format!("module-{i}"),
                course: None,
                reason: "practise again".into(),
                within_hours: 48,
                signal: None,
                ..Default::default()
            };
            let triggered =
                tidbit_server::interventions::trigger(storage, LEARNER, &request, server_now + i)
                    .unwrap();
            ids.push(triggered.intervention);
        }
        ids
    });
    for day in 0..6 {
        learn_for_days(&tablet, 20 + day, 1, 2);
        tablet
            .sync(&url, &learner.server.token(LEARNER, "tablet"))
            .unwrap();
        learn_for_days(&learner.phone, 40 + day, 1, 2);
        learner
            .phone
            .sync(&url, &learner.server.token(LEARNER, "phone"))
            .unwrap();
    }
    let interventions = other.join().unwrap();
    for device in [&tablet, &learner.phone, &tablet] {
        device
            .sync(&url, &learner.server.token(LEARNER, &device.name))
            .unwrap();
    }
    let on_server: Vec<String> =
        tidbit_server::exchange::learner_events(learner.server.hub.storage.as_ref(), LEARNER)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
    for id in &interventions {
        assert!(on_server.contains(id), "intervention {id} lost");
    }
    let mut sorted = on_server.clone();
    sorted.sort();
    assert_eq!(sorted, tablet.event_ids());
    assert_eq!(tablet.event_ids(), learner.phone.event_ids());
}

#[test]
fn clients_that_go_away_mid_exchange_never_let_two_exchanges_of_a_learner_interleave() {
    let learner = Learner::new();
    let url = learner.server.url();
    // The tablet's clock is behind the phone's events: it records after them all the same.
    let tablet = Device::new(learner.root.path(), LEARNER, "tablet");
    let impatient = std::thread::spawn({
        let url = url.clone();
        let token = learner.server.token(LEARNER, "phone");
        move || {
            let body = Exchange {
                listing: Some(tidbit_core::sync::exchange::Listing::default()),
                ..Exchange::default()
            }
            .encode();
            // Requests given up after a millisecond: the server's work goes on without them.
            let runtime = tidbit_core::runtime::runtime().unwrap();
            let _context = runtime.enter();
            let client = reqwest::Client::builder()
                .timeout(Duration::from_millis(1))
                .build()
                .unwrap();
            for _ in 0..200 {
                let _ = runtime.block_on(
                    client
                        .post(format!("{url}/v1/learners/{LEARNER}/sync"))
                        .bearer_auth(&token)
                        .body(body.clone())
                        .send(),
                );
            }
        }
    });
    for day in 0..5 {
        learn_for_days(&tablet, 60 + day, 1, 2);
        tablet
            .sync(&url, &learner.server.token(LEARNER, "tablet"))
            .unwrap();
    }
    impatient.join().unwrap();
    learner
        .phone
        .sync(&url, &learner.server.token(LEARNER, "phone"))
        .unwrap();
    tablet
        .sync(&url, &learner.server.token(LEARNER, "tablet"))
        .unwrap();
    assert_eq!(learner.phone.event_ids(), tablet.event_ids());
    assert_eq!(learner.phone.digest(), tablet.digest());
    // What was applied live is what a replay of the log gives.
    let live = tablet.digest();
    tablet.tidbit.lock().unwrap().rebuild_projections().unwrap();
    assert_eq!(tablet.digest(), live);
    let mut on_server: Vec<String> =
        tidbit_server::exchange::learner_events(learner.server.hub.storage.as_ref(), LEARNER)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
    on_server.sort();
    assert_eq!(on_server, tablet.event_ids());
    // An abandoned exchange's work finishes in the background, then its lock goes.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while learner.server.hub.learner_locks() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(learner.server.hub.learner_locks(), 0);
}

fn limited_hub(root: &std::path::Path, limits: Limits) -> Arc<Hub> {
    Arc::new(
        open_hub(&root.join("server"))
            .with_clock(server_clock())
            .with_limits(limits),
    )
}

#[test]
fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let root = tempfile::tempdir().unwrap();
    let hub = limited_hub(
        root.path(),
        Limits {
            header_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
    );
    let url = serve(hub);
    let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    stream
        .write_all(b"POST /v1/learners/ana/sync HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // Bounded so a server that never closes fails the test instead of hanging it.
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reply = Vec::new();
    let read = stream.read_to_end(&mut reply);
    assert!(read.is_ok(), "the connection stayed open: {read:?}");
}

#[test]
fn a_token_is_checked_before_the_body_is_read() {
    let root = tempfile::tempdir().unwrap();
    let hub = limited_hub(root.path(), Limits::default());
    let url = serve(hub);
    let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    // An 8 MiB body is announced and never sent: a bad token is refused at once.
    stream
        .write_all(
            b"POST /v1/learners/ana/sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer v1.00.00\r\nContent-Length: 8000000\r\n\r\n",
        )
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 401");
}

#[test]
fn requests_past_the_concurrency_limit_are_shed_with_retry_after() {
    let root = tempfile::tempdir().unwrap();
    let hub = limited_hub(
        root.path(),
        Limits {
            requests_in_flight: 1,
            ..Limits::default()
        },
    );
    let url = serve(hub.clone());
    let token = hub.tokens.issue(LEARNER, "phone", 4_102_444_800);
    // One request holds the only slot: its body arrives slowly.
    let mut slow = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    slow.write_all(
        format!(
            "POST /v1/learners/ana/sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    // Wait (bounded) until the server has taken the slow request in: only then is the slot held.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while hub.requests_in_flight() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow request never reached the server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(hub.requests_in_flight(), 1);
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let shed = runtime
        .block_on(reqwest::Client::new().get(format!("{url}/health")).send())
        .unwrap();
    assert_eq!(shed.status(), 503, "a request past the limit was not shed");
    assert_eq!(shed.headers()["retry-after"], "1");
    drop(slow);
}

#[test]
fn a_pack_is_hashed_once_however_often_it_is_served_and_again_when_it_changes() {
    let root = tempfile::tempdir().unwrap();
    let hub = limited_hub(root.path(), Limits::default());
    let packs = root.path().join("server/packs");
    std::fs::create_dir_all(&packs).unwrap();
    let (pack, _) = sample_pack();
    std::fs::copy(pack, packs.join("course.tidbit")).unwrap();
    let url = serve(hub.clone());
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let admin = hub.tokens.issue(
        "*",
        tidbit_server::auth::ADMIN_DEVICE,
        chrono::Utc::now().timestamp() + 3_600,
    );
    let get = |path: &str, range: Option<&str>| {
        runtime.block_on(async {
            let mut request = reqwest::Client::new()
                .get(format!("{url}{path}"))
                .bearer_auth(&admin);
            if let Some(range) = range {
                request = request.header("range", range);
            }
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.bytes().await.unwrap().to_vec(),
            )
        })
    };
    let whole = std::fs::read(packs.join("course.tidbit")).unwrap();
    assert_eq!(get("/v1/packs/course.tidbit", None), (200, whole.clone()));
    assert_eq!(
        get("/v1/packs/course.tidbit", Some("bytes=0-0")),
        (206, whole[..1].to_vec())
    );
    assert_eq!(
        get("/v1/packs/course.tidbit", Some("bytes=10-")),
        (206, whole[10..].to_vec())
    );
    assert_eq!(get("/v1/catalog", None).0, 200);
    assert_eq!(hub.pack_files_hashed(), 1);
    // A new version under the same name is hashed again, once.
    std::fs::write(packs.join("course.tidbit"), &whole[..whole.len() / 2]).unwrap();
    assert_eq!(
        get("/v1/packs/course.tidbit", None).1.len(),
        whole.len() / 2
    );
    assert_eq!(get("/v1/catalog", None).0, 200);
    assert_eq!(hub.pack_files_hashed(), 2);
}

#[test]
fn the_admin_path_refuses_a_bad_learner_id_before_taking_any_lock() {
    let root = tempfile::tempdir().unwrap();
    let hub = limited_hub(root.path(), Limits::default());
    let url = serve(hub.clone());
    let admin = hub
        .tokens
        .issue("*", tidbit_server::auth::ADMIN_DEVICE, 4_102_444_800);
    let runtime = tidbit_core::runtime::runtime().unwrap();
    for learner in ["has%20space", "x".repeat(200).as_str()] {
        let status = runtime
            .block_on(
                reqwest::Client::new()
                    .post(format!("{url}/v1/admin/learners/{learner}/interventions"))
                    .bearer_auth(&admin)
                    .body(r#"{"module":"m","reason":"r","within_hours":24}"#)
                    .send(),
            )
            .unwrap()
            .status();
        assert_eq!(status, 400, "{learner}");
    }
    assert_eq!(hub.learner_locks(), 0);
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let _hub = open_hub(&data);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    if !on_postgres() {
        assert_eq!(mode(&data.join(tidbit_server::DATABASE_FILE)), 0o600);
    }
    assert_eq!(mode(&data.join("token.key")), 0o600);
}
