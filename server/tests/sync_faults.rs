//! Convergence under faults: three devices of one learner learn offline on random days and sync
//! in random order through a fault-injecting proxy in front of a real server on 127.0.0.1
//! (requests dropped before or after the server processed them, duplicated, delayed, delivered
//! again later, replies truncated, the server restarted mid-sync). After a last, fault-free
//! round of syncs straight to the server, every device and the server hold the same heads and
//! the same events, each exactly once, and the same projections.
//!
//! `cargo test` runs 200 seeded scenarios; `TIDBIT_SYNC_SCENARIOS=N` runs N,
//! `TIDBIT_SYNC_SEED=S` replays the one scenario a failure names, and `TIDBIT_SYNC_THREADS`
//! sets how many run at once.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use chrono::Duration as Span;
use support::proxy::{FaultProxy, SeededRng, SharedServer};
use support::*;
use tidbit_core::events::{Clock, ManualClock};
use tidbit_core::learn::simulate::PracticeDevice;
use tidbit_core::sync::client::{SyncError, SyncOptions, SyncReport};
use tidbit_core::sync::documents;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

const DEFAULT_SCENARIOS: u64 = 200;
const LEARNER: &str = "ana";
const DEVICES: [&str; 3] = ["phone", "tablet", "field"];
/// The template of a store with the pack installed and nothing recorded: a brand-new device,
/// or the replica that replays the server's events.
const UNENROLLED: &str = "unenrolled";

/// Stores with the sample pack installed (and, for the devices, enrolled), made once per
/// process and copied into each scenario: installing a pack is the slowest part of a device.
fn templates() -> &'static PathBuf {
    static TEMPLATES: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let root = tempfile::tempdir().unwrap().keep();
        for name in DEVICES {
            let device = Device::new(&root, LEARNER, name);
            device
                .tidbit
                .lock()
                .unwrap()
                .enroll(COURSE, "field-volunteer")
                .unwrap();
        }
        drop(Device::new(&root, LEARNER, UNENROLLED));
        root
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A device `name` of [`LEARNER`] in `root`, started from `template`.
fn open_device(root: &Path, template: &str, name: &str) -> Device {
    let dir = root.join(name);
    copy_dir(&templates().join(template), &dir);
    let clock = Arc::new(ManualClock::new(start()));
    let tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: dir.clone(),
            learner_id: LEARNER.into(),
            device_id: name.into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: sample_pack().1.clone(),
            at_rest_key: None,
        },
        clock.clone(),
    )
    .unwrap();
    Device {
        name: name.into(),
        tidbit: Mutex::new(tidbit),
        clock,
        dir,
    }
}

/// Small backoffs and enough attempts for a link that fails often.
fn options(url: &str, token: &str) -> SyncOptions {
    let mut options = SyncOptions::new(url, token);
    options.max_attempts = 12;
    options.initial_backoff = Duration::from_millis(1);
    options.max_backoff = Duration::from_millis(20);
    options.request_timeout = Duration::from_secs(20);
    options
}

fn sync(device: &Device, url: &str, token: &str) -> Result<SyncReport, SyncError> {
    tidbit_core::sync::runtime()
        .unwrap()
        .block_on(tidbit_core::sync::client::sync(
            &device.tidbit,
            &options(url, token),
        ))
}

/// Heads per document, each list sorted.
type Heads = BTreeMap<String, Vec<ChangeHash>>;

fn sorted_heads(rows: Vec<(String, Vec<ChangeHash>)>) -> Heads {
    rows.into_iter()
        .map(|(name, mut heads)| {
            heads.sort();
            (name, heads)
        })
        .collect()
}

/// The ids of every event in the device's stored documents, duplicates kept, and the
/// documents' actual heads.
fn device_document_events(device: &Device) -> (Vec<String>, Heads) {
    let mut ids = Vec::new();
    let mut heads = Vec::new();
    for (name, mut doc) in device_documents(device) {
        ids.extend(
            documents::events(&doc, &name)
                .unwrap()
                .into_iter()
                .map(|e| e.id),
        );
        heads.push((name, doc.get_heads()));
    }
    ids.sort();
    (ids, sorted_heads(heads))
}

fn stored_device_heads(device: &Device) -> Heads {
    device_heads(device).into_iter().collect()
}

fn server_heads(server: &SharedServer) -> Heads {
    let guard = server.lock().unwrap();
    sorted_heads(
        guard
            .as_ref()
            .unwrap()
            .hub
            .storage
            .documents(LEARNER)
            .unwrap(),
    )
}

fn server_events(server: &SharedServer) -> Vec<tidbit_core::events::Event> {
    let guard = server.lock().unwrap();
    tidbit_server::sync::learner_events(guard.as_ref().unwrap().hub.storage.as_ref(), LEARNER)
        .unwrap()
}

fn duplicates(sorted_ids: &[String]) -> Vec<&String> {
    sorted_ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| &w[0])
        .collect()
}

/// What one scenario did, for the summary line.
#[derive(Default)]
struct Tally {
    faults: BTreeMap<&'static str, u64>,
    syncs_completed: u64,
    syncs_given_up: u64,
    answers: u64,
    events: u64,
}

/// Runs one scenario; `Err` says what diverged.
fn scenario(seed: u64) -> Result<Tally, String> {
    let mut rng = SeededRng::new(seed);
    let root = tempfile::tempdir().unwrap();
    let server: SharedServer = Arc::new(Mutex::new(Some(TestServer::start_generous(
        &root.path().join("server"),
    ))));
    let fault_rate = 0.2 + 0.65 * (rng.below(1000) as f64 / 1000.0);
    let proxy = FaultProxy::start(server.clone(), rng.next_u64(), fault_rate);
    // Now and then the third device is brand new: it has recorded nothing, not even enrolment.
    let fresh = rng.chance(0.25);
    let devices: Vec<Device> = DEVICES
        .iter()
        .map(|&name| {
            let template = if fresh && name == DEVICES[2] {
                UNENROLLED
            } else {
                name
            };
            open_device(root.path(), template, name)
        })
        .collect();
    let mut learners: Vec<PracticeDevice> = devices
        .iter()
        .map(|d| {
            let share = 0.5 + rng.below(50) as f64 / 100.0;
            PracticeDevice::new(&d.tidbit.lock().unwrap(), rng.next_u64(), share).unwrap()
        })
        .collect();
    let tokens: Vec<String> = {
        let guard = server.lock().unwrap();
        DEVICES
            .iter()
            .map(|name| guard.as_ref().unwrap().token(LEARNER, name))
            .collect()
    };
    let mut tally = Tally::default();
    let through_proxy = |i: usize| sync(&devices[i], &proxy.url(), &tokens[i]);

    let days = rng.between(2, 4) as i64;
    for day in 0..days {
        let mut order = [0usize, 1, 2];
        rng.shuffle(&mut order);
        for &i in &order {
            if rng.chance(0.7) {
                let device = &devices[i];
                let at = start()
                    + Span::days(day)
                    + Span::hours(rng.below(12) as i64)
                    + Span::minutes(rng.below(60) as i64);
                if at > device.clock.now() {
                    device.clock.set(at);
                }
                let minutes = rng.between(1, 3) as u32;
                let mut tidbit = device.tidbit.lock().unwrap();
                let done = learners[i]
                    .practise(&mut tidbit, &device.clock, minutes)
                    .unwrap();
                tally.answers += u64::from(done.answers);
            }
        }
        // Some devices come online, one after another, or the first two at once.
        rng.shuffle(&mut order);
        let online = &order[..rng.below(4) as usize];
        let mut results = Vec::new();
        let mut one_by_one = online;
        if online.len() >= 2 && rng.chance(0.3) {
            let (a, b) = (online[0], online[1]);
            let (first, second) = std::thread::scope(|s| {
                let first = s.spawn(|| through_proxy(a));
                let second = s.spawn(|| through_proxy(b));
                (first.join().unwrap(), second.join().unwrap())
            });
            results.extend([(a, first), (b, second)]);
            one_by_one = &online[2..];
        }
        for &i in one_by_one {
            results.push((i, through_proxy(i)));
        }
        // A sync may give up on a bad link; any other failure is a bug.
        for (i, result) in results {
            match result {
                Ok(_) => tally.syncs_completed += 1,
                Err(SyncError::Unreachable { .. }) => tally.syncs_given_up += 1,
                Err(other) => return Err(format!("{} failed to sync: {other}", DEVICES[i])),
            }
        }
    }
    for fault in proxy.faults.lock().unwrap().iter() {
        *tally.faults.entry(fault.kind()).or_default() += 1;
    }
    drop(proxy);

    // The link heals: sync straight to the server until every side holds the same.
    let url = server.lock().unwrap().as_ref().unwrap().url();
    let mut converged = false;
    for _round in 0..4 {
        for (i, device) in devices.iter().enumerate() {
            sync(device, &url, &tokens[i])
                .map_err(|e| format!("{} failed a fault-free sync: {e}", device.name))?;
        }
        let heads = server_heads(&server);
        let ids = devices[0].event_ids();
        if devices
            .iter()
            .all(|d| stored_device_heads(d) == heads && d.event_ids() == ids)
        {
            converged = true;
            break;
        }
    }

    // Every event recorded anywhere is everywhere, exactly once.
    let server_heads = server_heads(&server);
    let server_events = server_events(&server);
    let mut server_ids: Vec<String> = server_events.iter().map(|e| e.id.clone()).collect();
    server_ids.sort();
    let doubled = duplicates(&server_ids);
    if !doubled.is_empty() {
        return Err(format!("the server holds events twice: {doubled:?}"));
    }
    let mut everywhere: BTreeSet<String> = server_ids.iter().cloned().collect();
    let mut per_device = Vec::new();
    for device in &devices {
        let logged = device.event_ids();
        let (in_documents, document_heads) = device_document_events(device);
        let doubled = duplicates(&in_documents);
        if !doubled.is_empty() {
            return Err(format!(
                "{}'s documents hold events twice: {doubled:?}",
                device.name
            ));
        }
        if in_documents != logged {
            return Err(format!(
                "{}'s documents hold {} events but its log {}",
                device.name,
                in_documents.len(),
                logged.len()
            ));
        }
        if document_heads != stored_device_heads(device) {
            return Err(format!(
                "{}'s stored heads are not its documents' heads",
                device.name
            ));
        }
        everywhere.extend(logged.iter().cloned());
        per_device.push((device, logged, document_heads));
    }
    let everywhere: Vec<String> = everywhere.into_iter().collect();
    if server_ids != everywhere {
        return Err(format!(
            "the server holds {} events of the {} recorded anywhere",
            server_ids.len(),
            everywhere.len()
        ));
    }
    for (device, logged, heads) in &per_device {
        if *logged != everywhere {
            return Err(format!(
                "{} holds {} events of the {} recorded anywhere",
                device.name,
                logged.len(),
                everywhere.len()
            ));
        }
        if *heads != server_heads {
            return Err(format!(
                "{}'s heads differ from the server's: {:?} vs {:?}",
                device.name, heads, server_heads
            ));
        }
    }
    if !converged {
        return Err("the devices had to be checked before they settled".into());
    }
    // Quiescent: with nothing new anywhere, a sync is one exchange that brings nothing.
    for (i, device) in devices.iter().enumerate() {
        let idle = sync(device, &url, &tokens[i])
            .map_err(|e| format!("{} failed an idle sync: {e}", device.name))?;
        if (idle.round_trips, idle.events_received) != (1, 0) {
            return Err(format!("{}'s idle sync was {idle:?}", device.name));
        }
    }

    // And every side shows the same projections.
    let replica = open_device(root.path(), UNENROLLED, "server-replica");
    replica
        .tidbit
        .lock()
        .unwrap()
        .replay_events(&server_events)
        .unwrap();
    let server_digest = replica.digest();
    for device in &devices {
        let digest = device.digest();
        if digest != server_digest {
            return Err(format!(
                "{}'s projections differ from the server's: {digest} vs {server_digest}",
                device.name
            ));
        }
    }
    tally.events = everywhere.len() as u64;
    Ok(tally)
}

#[test]
fn a_brand_new_device_receives_the_learners_whole_history_through_a_faulty_link() {
    for seed in 0..4 {
        let root = tempfile::tempdir().unwrap();
        let server: SharedServer = Arc::new(Mutex::new(Some(TestServer::start_generous(
            &root.path().join("server"),
        ))));
        let (url, phone_token, tablet_token) = {
            let guard = server.lock().unwrap();
            let server = guard.as_ref().unwrap();
            (
                server.url(),
                server.token(LEARNER, "phone"),
                server.token(LEARNER, "tablet"),
            )
        };
        let phone = open_device(root.path(), "phone", "phone");
        learn_for_days(&phone, seed, 2, 3);
        sync(&phone, &url, &phone_token).unwrap();
        let tablet = open_device(root.path(), UNENROLLED, "tablet");
        assert!(tablet.event_ids().is_empty());
        let proxy = FaultProxy::start(server.clone(), seed, 0.5);
        let mut report = sync(&tablet, &proxy.url(), &tablet_token);
        while let Err(SyncError::Unreachable { .. }) = report {
            report = sync(&tablet, &proxy.url(), &tablet_token);
        }
        let report = report.unwrap();
        assert_eq!(
            report.events_received,
            phone.event_ids().len() as u64,
            "seed {seed}: {report:?}"
        );
        assert_eq!(tablet.event_ids(), phone.event_ids(), "seed {seed}");
        assert_eq!(tablet.digest(), phone.digest(), "seed {seed}");
    }
}

#[test]
fn changes_that_reach_the_server_without_their_ancestors_are_sent_again_in_the_same_sync() {
    // A Bloom filter false positive makes a device hold back one change while sending its
    // descendants; the server cannot apply those and does not keep them past the exchange.
    use automerge::sync::{Message, MessageVersion, State, SyncDoc};
    use tidbit_core::events::{Event, EventKind};
    use tidbit_core::sync::exchange::{DocumentHeads, DocumentMessage, Exchange};

    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let authorization = format!("Bearer {}", server.token(LEARNER, "phone"));
    let name = "events-2026-09";
    let mut device = documents::genesis(name)
        .unwrap()
        .with_actor(automerge::ActorId::from(b"phone-incarnatio".as_slice()));
    let mut hashes = Vec::new();
    for sequence in 1..=3 {
        let event = Event {
            id: Event::make_id("phone", "a1", sequence),
            at_ms: start().timestamp_millis() + sequence as i64,
            device: "phone".into(),
            kind: EventKind::ModuleStarted {
                course: COURSE.into(),
                module: format!("m{sequence}"),
            },
        };
        documents::append(&mut device, "a1", sequence, &event).unwrap();
        hashes.push(device.get_heads()[0]);
    }
    let exchange = |heads: Vec<ChangeHash>, message: Message| -> Message {
        let body = Exchange {
            heads: vec![DocumentHeads {
                doc: name.into(),
                heads,
            }],
            messages: vec![DocumentMessage {
                doc: name.into(),
                message: message.encode(),
            }],
            listing: Some(tidbit_core::sync::exchange::Listing::default()),
            ..Exchange::default()
        }
        .encode();
        let (status, reply) = post_sync(&server.url(), LEARNER, Some(&authorization), body);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
        let reply = tidbit_core::sync::exchange::Exchange::decode(&reply).unwrap();
        Message::decode(&reply.messages[0].message).unwrap()
    };
    // The device sends the second and third changes, and records them as sent.
    let mut state = State::new();
    state.sent_hashes.extend([hashes[1], hashes[2]]);
    state.have_responded = true;
    let held_back = Message {
        heads: device.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: device.save_after(&[hashes[0]]).into(),
        flags: None,
        version: MessageVersion::V1,
    };
    let mut reply = exchange(device.get_heads(), held_back);
    assert_eq!(reply.need, vec![hashes[0]]);
    // From here on the device follows the protocol: it settles within a few round trips.
    for _ in 0..3 {
        device
            .sync()
            .receive_sync_message(&mut state, reply)
            .unwrap();
        let Some(message) = device.sync().generate_sync_message(&mut state) else {
            break;
        };
        reply = exchange(device.get_heads(), message);
    }
    let stored = server.hub.storage.documents(LEARNER).unwrap();
    assert_eq!(stored, vec![(name.to_string(), device.get_heads())]);
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[test]
fn devices_converge_through_a_faulty_link_in_every_seeded_scenario() {
    let seeds: Vec<u64> = match env_u64("TIDBIT_SYNC_SEED") {
        Some(seed) => vec![seed],
        None => (0..env_u64("TIDBIT_SYNC_SCENARIOS").unwrap_or(DEFAULT_SCENARIOS)).collect(),
    };
    // Scenarios wait on backoffs and sockets as much as they compute: more threads than cores.
    let threads = env_u64("TIDBIT_SYNC_THREADS").unwrap_or(6).max(1) as usize;
    templates();
    let began = Instant::now();
    let next = AtomicU64::new(0);
    let failures = Mutex::new(Vec::<(u64, String)>::new());
    let total = Mutex::new(Tally::default());
    std::thread::scope(|s| {
        for _ in 0..threads.min(seeds.len()) {
            s.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(&seed) = seeds.get(index) else {
                    break;
                };
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| scenario(seed)))
                    .unwrap_or_else(|panic| {
                        Err(panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "panicked".into()))
                    });
                match outcome {
                    Ok(tally) => {
                        let mut total = total.lock().unwrap();
                        for (kind, n) in tally.faults {
                            *total.faults.entry(kind).or_default() += n;
                        }
                        total.syncs_completed += tally.syncs_completed;
                        total.syncs_given_up += tally.syncs_given_up;
                        total.answers += tally.answers;
                        total.events += tally.events;
                    }
                    Err(message) => {
                        eprintln!("scenario seed {seed} failed: {message}");
                        failures.lock().unwrap().push((seed, message));
                    }
                }
            });
        }
    });
    let total = total.into_inner().unwrap();
    eprintln!(
        "{} scenarios in {:.1} s: {} syncs completed, {} gave up mid-scenario, {} answers, \
         {} events converged; faults injected: {:?}",
        seeds.len(),
        began.elapsed().as_secs_f64(),
        total.syncs_completed,
        total.syncs_given_up,
        total.answers,
        total.events,
        total.faults
    );
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios diverged (replay one with TIDBIT_SYNC_SEED=<seed>):\n{}",
        failures.len(),
        seeds.len(),
        failures
            .iter()
            .map(|(seed, message)| format!("  seed {seed}: {message}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Every kind of fault was met somewhere (when enough scenarios ran to meet them).
    if seeds.len() >= DEFAULT_SCENARIOS as usize {
        for kind in [
            "drop-before",
            "cut-request",
            "drop-after",
            "duplicate",
            "delay",
            "reorder",
            "hold",
            "truncate",
            "restart",
        ] {
            assert!(
                total.faults.get(kind).copied().unwrap_or(0) > 0,
                "no {kind} fault"
            );
        }
    }
}
