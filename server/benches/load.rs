//! Server load test: sync exchanges per second and their latency, over loopback, on SQLite or
//! PostgreSQL, with one server process or several.
//!
//! ```text
//! cargo bench -p tidbit-server --bench load                  # SQLite, 1,000 learners, 1 process
//! TIDBIT_LOAD_LEARNERS=10000 cargo bench -p tidbit-server --bench load
//! scripts/postgres.sh run cargo bench -p tidbit-server --bench load          # PostgreSQL
//! TIDBIT_LOAD_PROCESSES=2 scripts/postgres.sh run cargo bench -p tidbit-server --bench load
//! TIDBIT_LOAD_SECONDS=30 TIDBIT_LOAD_CLIENTS=16,64 ...       # longer levels, other client counts
//! ```
//!
//! Every learner has three devices (a phone, a tablet, a laptop), each with its own Automerge
//! copy of the learner's month document, which already holds 40 events on the server. Clients
//! then sync devices round-robin, a learner's devices through different processes when there
//! are several, for a bounded time per level, in a realistic mix: 70 % of the syncs have nothing
//! new (one exchange), 25 % carry one new event, 5 % a backlog of 20 (the full Automerge
//! exchange: heads, bloom filter, changes, acknowledgement). Each client speaks the real wire
//! format over HTTP, so the two cores spend their time on the server and its database (and on
//! the clients, which share the machine). Reported per level: exchanges per second and the
//! latency percentiles of one exchange. With several processes, each is this benchmark's own
//! binary started again as a server on the same storage.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, AutoCommit};
use tidbit_core::events::{Event, EventKind};
use tidbit_core::sync::documents;
use tidbit_core::sync::exchange::{DocumentHeads, DocumentMessage, Exchange};
use tidbit_server::{Hub, RateLimit};
use tokio::sync::Mutex;

const DEVICES: [&str; 3] = ["phone", "tablet", "laptop"];
const EVENTS_BEFORE: u64 = 40;
/// Set in a server process this benchmark starts: where it listens, and its data directory.
const SERVE_ENV: &str = "TIDBIT_LOAD_SERVE";
const DATA_ENV: &str = "TIDBIT_LOAD_DATA";
const AT_MS: i64 = 1_790_000_000_000;

/// One device of one learner.
struct Learner {
    id: String,
    device: String,
    /// The server (process) this device syncs with.
    url: String,
    token: String,
    doc: AutoCommit,
    state: sync::State,
    sequence: u64,
}

fn event(learner: &str, device: &str, sequence: u64) -> Event {
    Event {
        id: String::new(),
        at_ms: AT_MS + sequence as i64 * 60_000,
        device: format!("{learner}-{device}"),
        kind: EventKind::StepViewed {
            course: "field-safety".into(),
            module: "scene-safety".into(),
            step: format!("step-{}", sequence % 40),
        },
    }
}

/// One sync of `learner`; returns the latency of each exchange.
async fn sync_learner(http: &reqwest::Client, learner: &mut Learner) -> Vec<Duration> {
    let name = documents::period_of(AT_MS);
    let mut latencies = Vec::new();
    let mut first = true;
    loop {
        let heads = learner.doc.get_heads();
        let mut request = Exchange::default();
        if first {
            request.heads.push(DocumentHeads {
                doc: name.clone(),
                heads: heads.clone(),
            });
        }
        let worth = !(first && learner.state.shared_heads == heads);
        if worth {
            if let Some(message) = learner.doc.sync().generate_sync_message(&mut learner.state) {
                let useful = !message.changes.is_empty()
                    || !message.need.is_empty()
                    || learner.state.their_heads.as_ref() != Some(&heads);
                if useful {
                    request.messages.push(DocumentMessage {
                        doc: name.clone(),
                        message: message.encode(),
                    });
                }
            }
        }
        if !first && request.messages.is_empty() {
            break;
        }
        first = false;
        let began = Instant::now();
        let response = http
            .post(format!("{}/v1/learners/{}/sync", learner.url, learner.id))
            .bearer_auth(&learner.token)
            .body(request.encode())
            .send()
            .await
            .expect("the server answers");
        assert!(response.status().is_success(), "{}", response.status());
        let body = response.bytes().await.expect("a body");
        latencies.push(began.elapsed());
        let reply = Exchange::decode(&body).expect("a valid reply");
        for message in reply.messages {
            let message = sync::Message::decode(&message.message).expect("a sync message");
            learner
                .doc
                .sync()
                .receive_sync_message(&mut learner.state, message)
                .expect("the server's message applies");
        }
    }
    latencies
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn hub(data: &std::path::Path) -> Hub {
    support::open_hub(data).with_rate_limit(RateLimit {
        burst: 1e9,
        per_second: 1e9,
    })
}

/// A server process on `data` (this binary again), and where it listens.
fn start_process(data: &std::path::Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env(SERVE_ENV, "127.0.0.1:0")
        .env(DATA_ENV, data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    (child, format!("http://{addr}"))
}

/// The body of a server process: serves until its stdin closes (the benchmark ended).
fn serve_here(addr: &str) {
    let data = std::path::PathBuf::from(std::env::var(DATA_ENV).unwrap());
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let (bound, _server) = runtime
        .block_on(tidbit_server::spawn(
            addr.parse().unwrap(),
            Arc::new(hub(&data)),
        ))
        .unwrap();
    println!("listening on {bound}");
    let mut sink = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
}

fn main() {
    if let Ok(addr) = std::env::var(SERVE_ENV) {
        return serve_here(&addr);
    }
    let seconds = env_number("TIDBIT_LOAD_SECONDS", 4) as u64;
    let learners_n = env_number("TIDBIT_LOAD_LEARNERS", 1_000);
    let processes = env_number("TIDBIT_LOAD_PROCESSES", 1).max(1);
    let levels: Vec<usize> = std::env::var("TIDBIT_LOAD_CLIENTS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![16, 64]);
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let hub = Arc::new(hub(&data));
    let storage = match support::on_postgres() {
        true => "PostgreSQL",
        false => "SQLite",
    };
    let mut children = Vec::new();
    let mut urls = Vec::new();
    let _in_process = match processes {
        1 => {
            let (addr, server) = runtime
                .block_on(tidbit_server::spawn(
                    "127.0.0.1:0".parse().unwrap(),
                    hub.clone(),
                ))
                .unwrap();
            urls.push(format!("http://{addr}"));
            Some(server)
        }
        n => {
            for _ in 0..n {
                let (child, url) = start_process(&data);
                children.push(child);
                urls.push(url);
            }
            None
        }
    };
    let http = reqwest::Client::new();

    // Set-up (not timed): every learner's phone sends its first 40 events; the tablet and the
    // laptop hold the same document (they synced before) with sync states of their own.
    let name = documents::period_of(AT_MS);
    let began = Instant::now();
    let mut devices: Vec<Arc<Mutex<Learner>>> = Vec::with_capacity(learners_n * DEVICES.len());
    runtime.block_on(async {
        for i in 0..learners_n {
            let id = format!("learner-{i:05}");
            let mut doc = documents::genesis(&name).unwrap();
            doc.set_actor(ActorId::from(format!("phone-{i:010}").as_bytes()));
            for sequence in 0..EVENTS_BEFORE {
                let event = event(&id, "phone", sequence);
                documents::append(&mut doc, "incarnation", sequence, &event).unwrap();
            }
            for (d, device) in DEVICES.iter().enumerate() {
                let mut copy = doc.fork();
                copy.set_actor(ActorId::from(format!("{device}-{i:010}").as_bytes()));
                let mut learner = Learner {
                    token: hub.tokens.issue(&id, device, 4_102_444_800),
                    id: id.clone(),
                    device: device.to_string(),
                    url: urls[(i + d) % urls.len()].clone(),
                    doc: copy,
                    state: sync::State::new(),
                    sequence: EVENTS_BEFORE + 1_000_000 * d as u64,
                };
                if d == 0 {
                    sync_learner(&http, &mut learner).await;
                }
                devices.push(Arc::new(Mutex::new(learner)));
            }
        }
    });
    println!(
        "server load set-up: {learners_n} learners x {} devices on {storage}, {processes} process(es): {:.1} s",
        DEVICES.len(),
        began.elapsed().as_secs_f64()
    );

    for (offset, clients) in levels.into_iter().enumerate() {
        let (latencies, elapsed) = run_level(runtime, &http, &devices, clients, offset, seconds);
        report(storage, processes, learners_n, clients, latencies, elapsed);
    }
    drop(children);
}

fn run_level(
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    devices: &[Arc<Mutex<Learner>>],
    clients: usize,
    offset: usize,
    seconds: u64,
) -> (Vec<Duration>, f64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let began = Instant::now();
    let latencies: Vec<Duration> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for client in 0..clients {
            let devices = devices.to_vec();
            let http = http.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut round = 0usize;
                while Instant::now() < deadline {
                    let index = (client + round * clients + offset * 7919) % devices.len();
                    let mut device = devices[index].lock().await;
                    // 70 % nothing new, 25 % one new event, 5 % a backlog of 20.
                    let new_events = match (round * 7 + client) % 20 {
                        0..=13 => 0,
                        14..=18 => 1,
                        _ => 20,
                    };
                    for _ in 0..new_events {
                        let sequence = device.sequence;
                        let event = event(&device.id, &device.device, sequence);
                        documents::append(&mut device.doc, "incarnation", sequence, &event)
                            .unwrap();
                        device.sequence += 1;
                    }
                    latencies.extend(sync_learner(&http, &mut device).await);
                    round += 1;
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all
    });
    let elapsed = began.elapsed().as_secs_f64();
    (latencies, elapsed)
}

fn report(
    storage: &str,
    processes: usize,
    learners: usize,
    clients: usize,
    mut latencies: Vec<Duration>,
    elapsed: f64,
) {
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "server load ({storage}, {processes} process(es)): {learners} learners x 3 devices, {clients} clients, {elapsed:.1} s: {} exchanges, {:.0} exchanges/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
    );
}
