//! Convergence under faults, and beside a hostile device.
//!
//! Three devices of one learner learn offline on random days and sync in random order through
//! fault-injecting proxies in front of two real server processes on one storage (as behind a
//! load balancer; each device syncs through the process the scenario gives it, at least one
//! device through each, so syncs of two devices at once meet in the storage): requests
//! are dropped before or after the server processed them, duplicated, delayed, stalled past
//! the devices' request timeout, delivered again later, their replies truncated, and the server
//! is killed with SIGKILL and started again on the same data and port before, during or after
//! a request (see `support/proxy.rs`). Every sync through the proxy must complete: a device
//! whose sync gives up tries again, a bounded number of times, and one that never gets through
//! fails the scenario. After the offline days the devices keep syncing through the proxy, in
//! rounds, until they and the server hold the same heads and the same events, each exactly
//! once, and the same projections. Only then does each device sync once straight to the
//! server, as a check that must find nothing new: one exchange, no events received, no heads
//! moved.
//!
//! In about half the scenarios a fourth device of the learner, with a valid token of its own,
//! is hostile (see `support/rogue.rs`): it takes one kind of hostile action, through the proxy
//! or straight to the server, before the last rounds and sometimes mid-way too. The honest
//! devices must still converge with nothing lost, their syncs must keep completing, and no
//! event or document the rogue wrote may reach them (except a burst's events, which are the
//! rogue's own history by the hostile-peer model: what the server takes of those must reach
//! everyone). A failure names the hostile action and what the server answered it.
//!
//! `cargo test` runs [`DEFAULT_SCENARIOS`] seeded scenarios and, separately, one scenario per
//! hostile action. `TIDBIT_SYNC_SCENARIOS=N` runs N (0 is refused), `TIDBIT_SYNC_SEED=S`
//! replays the one scenario a failure names, `TIDBIT_SYNC_HOSTILE` is `0` for no hostile
//! device, or an action's name (`far-future`) for that action in every scenario,
//! `TIDBIT_SYNC_THREADS` sets how many scenarios run at once, and `TIDBIT_SYNC_TIMEOUT_MS` the
//! devices' request timeout (400 ms; stalls outlast it). A failure prints the variables that
//! replay it. The long run, with its summary: `scripts/sync-faults-long.sh` (10,000 scenarios
//! in release).

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
use support::rogue::{HostileAction, Rogue, Verdict};
use support::server_process::ServerProcess;
use support::*;
use tidbit_core::events::{Clock, ManualClock};
use tidbit_core::simulate::PracticeDevice;
use tidbit_core::sync::documents;
use tidbit_core::tidbit::sync_client::{SyncError, SyncOptions, SyncReport};
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

const DEFAULT_SCENARIOS: u64 = 100;
const LEARNER: &str = "ana";
const DEVICES: [&str; 3] = ["phone", "tablet", "field"];
/// The hostile fourth device of the learner.
const ROGUE: &str = "rogue";
/// The template of a store with the pack installed and nothing recorded: a brand-new device,
/// or the replica that replays the server's events.
const UNENROLLED: &str = "unenrolled";
/// Failed round trips one sync tolerates before it gives up.
const MAX_ATTEMPTS: u32 = 6;
/// Syncs a device starts through the proxy, one after another, before the scenario calls the
/// link (or the server) broken: 72 failed round trips in a row.
const SYNC_TRIES: u32 = 12;
/// Rounds of syncs through the proxy after the offline days, within which the devices and the
/// server must hold the same.
const SETTLE_ROUNDS: usize = 4;
const DEFAULT_TIMEOUT_MS: u64 = 400;

/// The server process the scenarios start and kill (see `support/server_process.rs`).
#[test]
#[ignore = "the server process the fault tests start and kill; not a test on its own"]
fn server_process() {
    support::server_process::serve_from_env();
}

/// A number from the environment; a value that is set but not a number is a mistake, not a
/// default.
fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

/// How long a device waits for one round trip (and, at most, to connect).
fn request_timeout() -> Duration {
    Duration::from_millis(env_u64("TIDBIT_SYNC_TIMEOUT_MS").unwrap_or(DEFAULT_TIMEOUT_MS))
}

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

/// Short timeouts (the proxy's stalls outlast them), small backoffs, a few attempts.
fn proxied_options(url: &str, token: &str) -> SyncOptions {
    let mut options = SyncOptions::new(url, token);
    options.max_attempts = MAX_ATTEMPTS;
    options.initial_backoff = Duration::from_millis(1);
    options.max_backoff = Duration::from_millis(20);
    options.connect_timeout = request_timeout();
    options.request_timeout = request_timeout();
    options
}

/// For the fault-free check straight to the server: one attempt, time enough.
fn direct_options(url: &str, token: &str) -> SyncOptions {
    let mut options = SyncOptions::new(url, token);
    options.max_attempts = 1;
    options.request_timeout = Duration::from_secs(20);
    options
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panicked".into())
}

/// What came of one sync.
enum Attempt {
    Done(SyncReport),
    /// The link failed `MAX_ATTEMPTS` round trips: try again.
    GaveUp(String),
    /// Anything else: the device or the server refused, or the code panicked.
    Failed(String),
}

fn sync_once(device: &Device, options: &SyncOptions) -> Attempt {
    let result =
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            tidbit_core::runtime::runtime().unwrap().block_on(
                tidbit_core::tidbit::sync_client::sync(&device.tidbit, options),
            )
        }));
    match result {
        Ok(Ok(report)) => Attempt::Done(report),
        Ok(Err(error @ SyncError::Unreachable { .. })) => Attempt::GaveUp(error.to_string()),
        Ok(Err(error)) => Attempt::Failed(error.to_string()),
        Err(panic) => Attempt::Failed(format!("panicked: {}", panic_message(panic.as_ref()))),
    }
}

/// Syncs shared by the threads of one scenario.
#[derive(Default)]
struct Counters {
    /// Syncs through the proxy that completed.
    proxied_syncs: AtomicU64,
    /// Syncs through the proxy that gave up (and were started again).
    gave_up: AtomicU64,
}

/// Syncs `device` through the proxy until a sync completes, at most [`SYNC_TRIES`] times.
fn sync_through(
    device: &Device,
    proxy_url: &str,
    token: &str,
    counters: &Counters,
) -> Result<SyncReport, String> {
    let options = proxied_options(proxy_url, token);
    let mut last = String::new();
    for _ in 0..SYNC_TRIES {
        match sync_once(device, &options) {
            Attempt::Done(report) => {
                counters.proxied_syncs.fetch_add(1, Ordering::Relaxed);
                return Ok(report);
            }
            Attempt::GaveUp(error) => {
                counters.gave_up.fetch_add(1, Ordering::Relaxed);
                last = error;
            }
            Attempt::Failed(error) => {
                return Err(format!(
                    "{}'s sync through the proxy failed: {error}",
                    device.name
                ))
            }
        }
    }
    Err(format!(
        "{}'s sync through the proxy never completed: {SYNC_TRIES} syncs of up to \
         {MAX_ATTEMPTS} round trips each gave up (the last: {last})",
        device.name
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
fn device_document_events(device: &Device) -> Result<(Vec<String>, Heads), String> {
    let mut ids = Vec::new();
    let mut heads = Vec::new();
    for (name, mut doc) in device_documents(device) {
        let events = documents::events(&doc, &name)
            .map_err(|e| format!("{}'s document {name} is unreadable: {e}", device.name))?;
        ids.extend(events.into_iter().map(|e| e.id));
        heads.push((name, doc.get_heads()));
    }
    ids.sort();
    Ok((ids, sorted_heads(heads)))
}

fn stored_device_heads(device: &Device) -> Heads {
    device_heads(device).into_iter().collect()
}

fn server_heads(server: &SharedServer) -> Heads {
    let guard = server.lock().unwrap();
    sorted_heads(guard.hub.storage.documents(LEARNER).unwrap())
}

/// The server's stored copy of document `name`, if it holds one.
fn server_document(server: &ServerProcess, name: &str) -> Option<automerge::AutoCommit> {
    let stored = server.hub.storage.load(LEARNER, name).ok()??;
    let mut doc = automerge::AutoCommit::load(&stored.snapshot).ok()?;
    for chunk in &stored.chunks {
        doc.load_incremental(chunk).ok()?;
    }
    Some(doc)
}

fn server_events(server: &SharedServer) -> Result<Vec<tidbit_core::events::Event>, String> {
    let guard = server.lock().unwrap();
    tidbit_server::exchange::learner_events(guard.hub.storage.as_ref(), LEARNER)
        .map_err(|e| format!("the server's events are unreadable: {e}"))
}

fn duplicates(sorted_ids: &[String]) -> Vec<&String> {
    sorted_ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| &w[0])
        .collect()
}

/// What scenarios did, for the summary.
#[derive(Default)]
struct Tally {
    faults: BTreeMap<&'static str, u64>,
    /// Stalled requests the device had given up on by the time the reply was ready.
    client_timeouts: u64,
    /// Requests in flight when the server was killed that got no reply.
    cut_by_kill: u64,
    restarts: u64,
    proxied_syncs: u64,
    gave_up: u64,
    answers: u64,
    events: u64,
    /// Hostile actions by (action, verdict).
    hostile: BTreeMap<(&'static str, &'static str), u64>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        for (kind, n) in other.faults {
            *self.faults.entry(kind).or_default() += n;
        }
        for (key, n) in other.hostile {
            *self.hostile.entry(key).or_default() += n;
        }
        self.client_timeouts += other.client_timeouts;
        self.cut_by_kill += other.cut_by_kill;
        self.restarts += other.restarts;
        self.proxied_syncs += other.proxied_syncs;
        self.gave_up += other.gave_up;
        self.answers += other.answers;
        self.events += other.events;
    }
}

/// Which scenarios have a hostile device, from `TIDBIT_SYNC_HOSTILE`.
#[derive(Debug, Clone, Copy)]
enum Hostility {
    /// Unset (or `1`): about half, each with one kind of action drawn from its seed.
    Seeded,
    /// `0`: none.
    Off,
    /// An action's name: every scenario, with that action.
    Only(HostileAction),
}

impl Hostility {
    fn from_env() -> Hostility {
        let value = std::env::var("TIDBIT_SYNC_HOSTILE").unwrap_or_default();
        match value.trim() {
            "" | "1" => Hostility::Seeded,
            "0" => Hostility::Off,
            name => HostileAction::ALL
                .into_iter()
                .find(|action| action.name() == name)
                .map(Hostility::Only)
                .unwrap_or_else(|| {
                    let names: Vec<&str> = HostileAction::ALL.iter().map(|a| a.name()).collect();
                    panic!(
                        "TIDBIT_SYNC_HOSTILE={name:?} is none of 0, 1, {}",
                        names.join(", ")
                    )
                }),
        }
    }

    /// The one kind of hostile action scenario `seed`'s rogue takes, if it has a rogue. A
    /// seeded draw comes from a stream of its own, so it moves none of the scenario's others.
    fn action_of(self, seed: u64) -> Option<HostileAction> {
        match self {
            Hostility::Off => None,
            Hostility::Only(action) => Some(action),
            Hostility::Seeded => {
                let mut rng = SeededRng::new(seed ^ 0x0BAD_DE71_CE00_0000);
                rng.chance(0.5).then(|| {
                    HostileAction::ALL[rng.below(HostileAction::ALL.len() as u64) as usize]
                })
            }
        }
    }
}

/// One scenario's server, proxy, devices and rogue.
struct World {
    root: tempfile::TempDir,
    rng: SeededRng,
    server: SharedServer,
    direct_url: String,
    proxy: FaultProxy,
    /// The second server process on the same storage, behind a proxy of its own.
    second: SharedServer,
    second_proxy: FaultProxy,
    /// Whether each device syncs through the second process.
    through_second: Vec<bool>,
    devices: Vec<Device>,
    learners: Vec<PracticeDevice>,
    tokens: Vec<String>,
    rogue: Option<(Rogue, HostileAction)>,
    counters: Counters,
    answers: u64,
    events: u64,
}

impl World {
    fn new(seed: u64, hostile: Option<HostileAction>) -> World {
        let mut rng = SeededRng::new(seed);
        let root = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(&root.path().join("server"));
        let direct_url = server.url();
        let tokens: Vec<String> = DEVICES
            .iter()
            .map(|name| server.token(LEARNER, name))
            .collect();
        let rogue_token = server.token(LEARNER, ROGUE);
        let second = ServerProcess::start(&root.path().join("server"));
        let server: SharedServer = Arc::new(Mutex::new(server));
        let second: SharedServer = Arc::new(Mutex::new(second));
        let fault_rate = 0.2 + 0.65 * (rng.below(1000) as f64 / 1000.0);
        let proxy = FaultProxy::start(
            server.clone(),
            rng.next_u64(),
            fault_rate,
            request_timeout(),
        );
        let second_proxy = FaultProxy::start(
            second.clone(),
            rng.next_u64(),
            fault_rate,
            request_timeout(),
        );
        // One device through the second process for sure, the others at random.
        let sure = rng.below(DEVICES.len() as u64) as usize;
        let through_second: Vec<bool> = (0..DEVICES.len())
            .map(|i| i == sure || rng.chance(0.3))
            .collect();
        // Now and then the third device is brand new: it has recorded nothing, not even
        // enrolment.
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
        let learners = devices
            .iter()
            .map(|d| {
                let share = 0.5 + rng.below(50) as f64 / 100.0;
                PracticeDevice::new(&d.tidbit.lock().unwrap(), rng.next_u64(), share).unwrap()
            })
            .collect();
        let rogue = hostile.map(|action| {
            let victim = DEVICES[rng.below(DEVICES.len() as u64) as usize];
            let rogue = Rogue::new(LEARNER, ROGUE, &rogue_token, victim, rng.next_u64());
            (rogue, action)
        });
        World {
            root,
            rng,
            server,
            direct_url,
            proxy,
            second,
            second_proxy,
            through_second,
            devices,
            learners,
            tokens,
            rogue,
            counters: Counters::default(),
            answers: 0,
            events: 0,
        }
    }

    fn run(&mut self) -> Result<(), String> {
        self.offline_days()?;
        self.settle_through_the_proxy()?;
        self.nothing_new_straight_to_the_server()?;
        self.no_hostile_data_on_honest_devices()?;
        self.everything_everywhere_exactly_once()
    }

    fn sync_through_proxy(&self, i: usize) -> Result<SyncReport, String> {
        let proxy = match self.through_second[i] {
            true => &self.second_proxy,
            false => &self.proxy,
        };
        sync_through(
            &self.devices[i],
            &proxy.url(),
            &self.tokens[i],
            &self.counters,
        )
    }

    /// The rogue, if there is one, takes its action: through the proxy mostly, at the
    /// devices' latest time. Returns whether there was anything to act on.
    fn rogue_acts(&mut self) -> bool {
        let now_ms = self
            .devices
            .iter()
            .map(|d| d.clock.now().timestamp_millis())
            .max()
            .unwrap_or_default();
        let url = if self.rng.chance(0.7) {
            self.proxy.url()
        } else {
            self.direct_url.clone()
        };
        let Some((rogue, action)) = &mut self.rogue else {
            return true;
        };
        let server = self.server.lock().unwrap();
        let known = server
            .hub
            .storage
            .documents(LEARNER)
            .unwrap()
            .into_iter()
            .filter_map(|(name, _)| Some((name.clone(), server_document(&server, &name)?)))
            .collect();
        // The server process may be killed meanwhile; its data stays where it is.
        drop(server);
        rogue.act(*action, &url, now_ms, known);
        let server = self.server.lock().unwrap();
        let verdict = rogue.confirm(|name, change| {
            server_document(&server, name)
                .is_some_and(|mut doc| doc.get_change_by_hash(change).is_some())
        });
        !matches!(verdict, Verdict::Skipped | Verdict::Undelivered(_))
    }

    /// Days of learning offline; now and then some devices come online, one after another or
    /// two at once, and each sync they start must complete.
    fn offline_days(&mut self) -> Result<(), String> {
        let days = self.rng.between(2, 4) as i64;
        for day in 0..days {
            let mut order = [0usize, 1, 2];
            self.rng.shuffle(&mut order);
            for &i in &order {
                if self.rng.chance(0.7) {
                    let device = &self.devices[i];
                    let at = start()
                        + Span::days(day)
                        + Span::hours(self.rng.below(12) as i64)
                        + Span::minutes(self.rng.below(60) as i64);
                    if at > device.clock.now() {
                        device.clock.set(at);
                    }
                    let minutes = self.rng.between(1, 3) as u32;
                    let mut tidbit = device.tidbit.lock().unwrap();
                    let done = self.learners[i]
                        .practise(&mut tidbit, &device.clock, minutes)
                        .map_err(|e| {
                            format!("{} could not learn on day {day}: {e}", device.name)
                        })?;
                    self.answers += u64::from(done.answers);
                }
            }
            self.rng.shuffle(&mut order);
            let online = order[..self.rng.below(4) as usize].to_vec();
            let mut one_by_one = &online[..];
            if online.len() >= 2 && self.rng.chance(0.3) {
                let (a, b) = (online[0], online[1]);
                let this = &*self;
                let (first, second) = std::thread::scope(|s| {
                    let first = s.spawn(|| this.sync_through_proxy(a));
                    let second = s.spawn(|| this.sync_through_proxy(b));
                    (first.join().unwrap(), second.join().unwrap())
                });
                first.map_err(|e| format!("day {day}: {e}"))?;
                second.map_err(|e| format!("day {day}: {e}"))?;
                one_by_one = &online[2..];
            }
            for &i in one_by_one {
                self.sync_through_proxy(i)
                    .map_err(|e| format!("day {day}: {e}"))?;
            }
            if day >= 1 && self.rng.chance(0.4) {
                self.rogue_acts();
            }
        }
        Ok(())
    }

    /// Rounds in which every device syncs through the proxy, each sync completing, until the
    /// devices and the server hold the same. The rogue acts after the first sync of the first
    /// round (again after later syncs while it finds nothing to act on, or the link loses it).
    fn settle_through_the_proxy(&mut self) -> Result<(), String> {
        let mut rogue_pending = self.rogue.is_some();
        let mut last_act_round = 0;
        for round in 0..SETTLE_ROUNDS {
            let mut order = [0usize, 1, 2];
            self.rng.shuffle(&mut order);
            for i in order {
                self.sync_through_proxy(i)
                    .map_err(|e| format!("round {} of the last syncs: {e}", round + 1))?;
                if rogue_pending && round + 2 < SETTLE_ROUNDS {
                    rogue_pending = !self.rogue_acts();
                    last_act_round = round;
                }
            }
            if round > last_act_round && self.converged() {
                return Ok(());
            }
        }
        Err(format!(
            "after {SETTLE_ROUNDS} rounds of completed syncs through the proxy the devices \
             and the server still differ: {}",
            self.divergence()
        ))
    }

    fn converged(&self) -> bool {
        let heads = server_heads(&self.server);
        let ids = self.devices[0].event_ids();
        self.devices
            .iter()
            .all(|d| stored_device_heads(d) == heads && d.event_ids() == ids)
    }

    fn divergence(&self) -> String {
        let heads = server_heads(&self.server);
        let server_ids = server_events(&self.server).map(|e| e.len());
        let devices: Vec<String> = self
            .devices
            .iter()
            .map(|d| {
                format!(
                    "{} holds {} events, heads {} the server's",
                    d.name,
                    d.event_ids().len(),
                    if stored_device_heads(d) == heads {
                        "equal to"
                    } else {
                        "unlike"
                    }
                )
            })
            .collect();
        format!(
            "the server holds {server_ids:?} events in {} documents; {}",
            heads.len(),
            devices.join(", ")
        )
    }

    /// Each device syncs once straight to the server, without faults: with everything already
    /// synced through the proxy, that is one exchange that brings nothing and moves no heads.
    fn nothing_new_straight_to_the_server(&self) -> Result<(), String> {
        let before = server_heads(&self.server);
        for (device, token) in self.devices.iter().zip(&self.tokens) {
            let heads = stored_device_heads(device);
            match sync_once(device, &direct_options(&self.direct_url, token)) {
                Attempt::Done(report) if (report.round_trips, report.events_received) == (1, 0) => {
                }
                Attempt::Done(report) => {
                    return Err(format!(
                        "{}'s fault-free check found what its syncs through the proxy had \
                         not: {report:?}",
                        device.name
                    ))
                }
                Attempt::GaveUp(e) | Attempt::Failed(e) => {
                    return Err(format!("{}'s fault-free check failed: {e}", device.name))
                }
            }
            if stored_device_heads(device) != heads {
                return Err(format!(
                    "{}'s fault-free check moved its heads",
                    device.name
                ));
            }
        }
        if server_heads(&self.server) != before {
            return Err("the fault-free checks moved the server's heads".into());
        }
        Ok(())
    }

    /// The hostile action that wrote event `id`, if it is one no honest device may hold (see
    /// [`HostileAction::is_own_history`]).
    fn forbidden(&self, id: &str) -> Option<HostileAction> {
        let (rogue, _) = self.rogue.as_ref()?;
        rogue
            .planted
            .get(id)
            .copied()
            .filter(|action| !action.is_own_history())
    }

    /// No event the rogue wrote, no event of a device other than the learner's, and no
    /// document the rogue created is on an honest device, in its log or in its documents.
    fn no_hostile_data_on_honest_devices(&self) -> Result<(), String> {
        let Some((rogue, _)) = &self.rogue else {
            return Ok(());
        };
        for device in &self.devices {
            let events = device.tidbit.lock().unwrap().events().unwrap();
            for event in events {
                if let Some(action) = self.forbidden(&event.id) {
                    return Err(format!(
                        "{} holds event {} ({} from '{}' at {} ms) written by hostile action {}",
                        device.name,
                        event.id,
                        event.kind.name(),
                        event.device,
                        event.at_ms,
                        action.name()
                    ));
                }
                let own_history = rogue.planted.contains_key(&event.id);
                if !DEVICES.contains(&event.device.as_str()) && !own_history {
                    return Err(format!(
                        "{} holds event {} from device '{}', none of the learner's",
                        device.name, event.id, event.device
                    ));
                }
            }
            let (in_documents, _) = device_document_events(device)?;
            if let Some((id, action)) = in_documents
                .iter()
                .find_map(|id| Some((id, self.forbidden(id)?)))
            {
                return Err(format!(
                    "{}'s documents hold event {id}, written by hostile action {} (its log \
                     does not)",
                    device.name,
                    action.name()
                ));
            }
            for (name, _) in device_heads(device) {
                match rogue.created_documents.get(&name) {
                    Some(action) if !action.is_own_history() => {
                        return Err(format!(
                            "{} holds document {name}, created by hostile action {}",
                            device.name,
                            action.name()
                        ))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Every event recorded on an honest device is on every device and on the server, exactly
    /// once, and every side shows the same projections.
    fn everything_everywhere_exactly_once(&mut self) -> Result<(), String> {
        let forbidden = |id: &String| self.forbidden(id).is_some();
        let server_heads = server_heads(&self.server);
        let server_events = server_events(&self.server)?;
        let mut server_ids: Vec<String> = server_events.iter().map(|e| e.id.clone()).collect();
        server_ids.sort();
        let doubled = duplicates(&server_ids);
        if !doubled.is_empty() {
            return Err(format!("the server holds events twice: {doubled:?}"));
        }
        let honest_on_server: Vec<String> = server_ids
            .iter()
            .filter(|id| !forbidden(id))
            .cloned()
            .collect();
        let mut everywhere: BTreeSet<String> = honest_on_server.iter().cloned().collect();
        let mut per_device = Vec::new();
        for device in &self.devices {
            let logged = device.event_ids();
            let (in_documents, document_heads) = device_document_events(device)?;
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
        if honest_on_server != everywhere {
            return Err(format!(
                "the server holds {} events of the {} recorded anywhere",
                honest_on_server.len(),
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
        let honest_events: Vec<_> = server_events
            .into_iter()
            .filter(|e| !forbidden(&e.id))
            .collect();
        let replica = open_device(self.root.path(), UNENROLLED, "server-replica");
        replica
            .tidbit
            .lock()
            .unwrap()
            .replay_events(&honest_events)
            .map_err(|e| format!("the server's events do not replay: {e}"))?;
        let server_digest = replica.digest();
        for device in &self.devices {
            let digest = device.digest();
            if digest != server_digest {
                return Err(format!(
                    "{}'s projections differ from the server's: {digest} vs {server_digest}",
                    device.name
                ));
            }
        }
        self.events = everywhere.len() as u64;
        Ok(())
    }

    /// What the scenario did, for the summary.
    fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for proxy in [&self.proxy, &self.second_proxy] {
            for fault in proxy.faults.lock().unwrap().iter() {
                *tally.faults.entry(fault.kind()).or_default() += 1;
            }
            tally.client_timeouts += proxy.counts.client_timeouts.load(Ordering::Relaxed);
            tally.cut_by_kill += proxy.counts.cut_by_kill.load(Ordering::Relaxed);
        }
        tally.restarts = u64::from(self.server.lock().unwrap().restarts)
            + u64::from(self.second.lock().unwrap().restarts);
        tally.proxied_syncs = self.counters.proxied_syncs.load(Ordering::Relaxed);
        tally.gave_up = self.counters.gave_up.load(Ordering::Relaxed);
        tally.answers = self.answers;
        tally.events = self.events;
        if let Some((rogue, _)) = &self.rogue {
            for (action, verdict) in &rogue.log {
                *tally
                    .hostile
                    .entry((action.name(), verdict.kind()))
                    .or_default() += 1;
            }
        }
        tally
    }

    fn verdicts(&self) -> Vec<Verdict> {
        self.rogue
            .as_ref()
            .map(|(rogue, _)| rogue.log.iter().map(|(_, v)| v.clone()).collect())
            .unwrap_or_default()
    }
}

/// One failed scenario.
struct Failure {
    seed: u64,
    hostile: Option<HostileAction>,
    verdicts: Vec<Verdict>,
    message: String,
}

/// Runs one scenario: what it did, and a failure if anything diverged.
fn scenario(seed: u64, hostile: Option<HostileAction>) -> (Tally, Option<Failure>) {
    let failure = |verdicts, message| Failure {
        seed,
        hostile,
        verdicts,
        message,
    };
    let world = std::panic::catch_unwind(|| World::new(seed, hostile));
    let mut world = match world {
        Ok(world) => world,
        Err(panic) => {
            let message = format!("setting up panicked: {}", panic_message(panic.as_ref()));
            return (Tally::default(), Some(failure(Vec::new(), message)));
        }
    };
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| world.run()))
        .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(panic.as_ref()))));
    let tally = world.tally();
    let failed = outcome
        .err()
        .map(|message| failure(world.verdicts(), message.trim().to_string()));
    (tally, failed)
}

/// Runs the scenarios on `TIDBIT_SYNC_THREADS` threads; what they did, their failures (by
/// seed) and how long it took.
fn run_scenarios(scenarios: &[(u64, Option<HostileAction>)]) -> (Tally, Vec<Failure>, Duration) {
    // Scenarios wait on timeouts, backoffs and sockets as much as they compute: more threads
    // than cores.
    let threads = env_u64("TIDBIT_SYNC_THREADS").unwrap_or(6).max(1) as usize;
    templates();
    let began = Instant::now();
    let next = AtomicU64::new(0);
    let failures = Mutex::new(Vec::new());
    let total = Mutex::new(Tally::default());
    std::thread::scope(|s| {
        for _ in 0..threads.min(scenarios.len()) {
            s.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(&(seed, hostile)) = scenarios.get(index) else {
                    break;
                };
                let (tally, failure) = scenario(seed, hostile);
                total.lock().unwrap().add(tally);
                if let Some(failure) = failure {
                    eprintln!(
                        "scenario seed {seed} failed{}: {}",
                        blame(&failure),
                        failure.message
                    );
                    failures.lock().unwrap().push(failure);
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort_by_key(|f| (f.hostile, f.seed));
    (total.into_inner().unwrap(), failures, began.elapsed())
}

/// " with hostile action X (verdicts)", or nothing for a scenario without a rogue.
fn blame(failure: &Failure) -> String {
    match failure.hostile {
        None => String::new(),
        Some(action) => {
            // Each distinct verdict once, with how many times the rogue met it.
            let mut verdicts: Vec<(String, usize)> = Vec::new();
            for verdict in failure.verdicts.iter().map(|v| v.to_string()) {
                match verdicts.iter_mut().find(|(v, _)| *v == verdict) {
                    Some((_, n)) => *n += 1,
                    None => verdicts.push((verdict, 1)),
                }
            }
            let verdicts: Vec<String> = verdicts
                .into_iter()
                .map(|(v, n)| if n == 1 { v } else { format!("{v} x{n}") })
                .collect();
            format!(
                " with hostile action {} [{}]",
                action.name(),
                if verdicts.is_empty() {
                    "not taken yet".to_string()
                } else {
                    verdicts.join("; ")
                }
            )
        }
    }
}

/// The failures grouped by hostile action, each with its seeds and messages.
fn failure_report(failures: &[Failure], scenarios: usize) -> String {
    let mut by_action: BTreeMap<Option<HostileAction>, Vec<&Failure>> = BTreeMap::new();
    for failure in failures {
        by_action.entry(failure.hostile).or_default().push(failure);
    }
    let mut report = format!(
        "{} of {scenarios} scenarios failed (replay one with the variables its line names and \
         `cargo test -p tidbit-server --test sync_faults -- --nocapture devices_converge`):\n",
        failures.len()
    );
    for (action, group) in by_action {
        let seeds: Vec<String> = group.iter().map(|f| f.seed.to_string()).collect();
        report.push_str(&match action {
            None => format!("without a hostile device: seeds {}\n", seeds.join(", ")),
            Some(action) => format!(
                "hostile action {} broke the honest devices: seeds {}\n",
                action.name(),
                seeds.join(", ")
            ),
        });
        let hostile = action.map_or("0", HostileAction::name);
        for failure in group {
            report.push_str(&format!(
                "  TIDBIT_SYNC_SEED={} TIDBIT_SYNC_HOSTILE={hostile}{}: {}\n",
                failure.seed,
                blame(failure),
                failure.message
            ));
        }
    }
    report
}

fn summary(label: &str, scenarios: usize, seeds: &str, tally: &Tally, took: Duration) -> String {
    let mut hostile: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((action, verdict), n) in &tally.hostile {
        hostile
            .entry(action)
            .or_default()
            .push(format!("{n} {verdict}"));
    }
    let taken: u64 = tally.hostile.values().sum();
    let refused: u64 = tally
        .hostile
        .iter()
        .filter(|((_, verdict), _)| *verdict == "refused")
        .map(|(_, n)| n)
        .sum();
    format!(
        "{label}: {scenarios} scenarios ({seeds}) in {:.1} s\n  \
         {} syncs through the proxy completed; {} gave up and were started again; \
         {} answers, {} events converged\n  \
         faults injected: {:?}\n  \
         {} stalled requests outlasted the devices' {} ms timeout; the server was killed \
         and restarted {} times, cutting {} requests in flight\n  \
         hostile actions: {taken} taken, {refused} refused; {:?}",
        took.as_secs_f64(),
        tally.proxied_syncs,
        tally.gave_up,
        tally.answers,
        tally.events,
        tally.faults,
        tally.client_timeouts,
        request_timeout().as_millis(),
        tally.restarts,
        tally.cut_by_kill,
        hostile
    )
}

#[test]
fn devices_converge_through_a_faulty_link_in_every_seeded_scenario() {
    let hostility = Hostility::from_env();
    let (seeds, label): (Vec<u64>, String) = match env_u64("TIDBIT_SYNC_SEED") {
        Some(seed) => (vec![seed], format!("seed {seed}")),
        None => {
            let n = env_u64("TIDBIT_SYNC_SCENARIOS").unwrap_or(DEFAULT_SCENARIOS);
            ((0..n).collect(), format!("seeds 0..{n}"))
        }
    };
    assert!(
        !seeds.is_empty(),
        "TIDBIT_SYNC_SCENARIOS=0 runs no scenario and would prove nothing: run at least one"
    );
    let scenarios: Vec<(u64, Option<HostileAction>)> = seeds
        .iter()
        .map(|&seed| (seed, hostility.action_of(seed)))
        .collect();
    let (total, failures, took) = run_scenarios(&scenarios);
    eprintln!(
        "{}",
        summary("sync faults", seeds.len(), &label, &total, took)
    );
    assert!(
        failures.is_empty(),
        "{}",
        failure_report(&failures, seeds.len())
    );
    // Every scenario's three devices completed a sync in each of at least two last rounds.
    assert!(
        total.proxied_syncs >= 6 * seeds.len() as u64,
        "{}",
        total.proxied_syncs
    );
    // Every kind of fault was met, and stalls did outlast the timeout (when enough scenarios
    // ran to meet them).
    if seeds.len() >= DEFAULT_SCENARIOS as usize {
        for kind in [
            "drop-before",
            "cut-request",
            "drop-after",
            "duplicate",
            "delay",
            "stall",
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
        assert!(total.client_timeouts > 0, "no request timed out");
        assert!(total.restarts > 0, "the server was never killed");
        assert!(total.cut_by_kill > 0, "no kill cut a request in flight");
    }
}

#[test]
fn every_hostile_action_leaves_the_honest_devices_converging() {
    let scenarios: Vec<(u64, Option<HostileAction>)> = HostileAction::ALL
        .iter()
        .enumerate()
        .map(|(i, &action)| (1_000_000 + i as u64, Some(action)))
        .collect();
    let (total, failures, took) = run_scenarios(&scenarios);
    eprintln!(
        "{}",
        summary(
            "hostile actions",
            scenarios.len(),
            "one per action, seeds 1000000..",
            &total,
            took
        )
    );
    // Each action reached the server at least once, so each verdict above means something.
    let mut unmet = Vec::new();
    for action in HostileAction::ALL {
        let delivered = ["accepted", "refused", "server-error"]
            .iter()
            .any(|verdict| total.hostile.contains_key(&(action.name(), *verdict)));
        if !delivered && !failures.iter().any(|f| f.hostile == Some(action)) {
            unmet.push(action.name());
        }
    }
    assert!(
        failures.is_empty(),
        "{}",
        failure_report(&failures, scenarios.len())
    );
    assert!(unmet.is_empty(), "never delivered: {unmet:?}");
}

#[test]
fn a_brand_new_device_receives_the_learners_whole_history_through_a_faulty_link() {
    for seed in 0..4 {
        let root = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(&root.path().join("server"));
        let (url, phone_token, tablet_token) = (
            server.url(),
            server.token(LEARNER, "phone"),
            server.token(LEARNER, "tablet"),
        );
        let server: SharedServer = Arc::new(Mutex::new(server));
        let phone = open_device(root.path(), "phone", "phone");
        learn_for_days(&phone, seed, 2, 3);
        phone.sync(&url, &phone_token).unwrap();
        let tablet = open_device(root.path(), UNENROLLED, "tablet");
        assert!(tablet.event_ids().is_empty());
        let proxy = FaultProxy::start(server.clone(), seed, 0.5, request_timeout());
        let counters = Counters::default();
        let report = sync_through(&tablet, &proxy.url(), &tablet_token, &counters)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(report.round_trips >= 1, "seed {seed}: {report:?}");
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
