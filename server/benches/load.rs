//! Server load test: sync exchanges per second and their latency, SQLite storage, loopback.
//!
//! ```text
//! cargo bench -p tidbit-server --bench load            # 1,000 learners, 4 s per level
//! TIDBIT_LOAD_SECONDS=30 cargo bench -p tidbit-server --bench load
//! ```
//!
//! 1,000 learners each have a phone whose month document already holds 40 events on the
//! server. Then 8, 16, 32 and 64 concurrent clients in turn sync learners round-robin for a
//! bounded time each: two thirds
//! of the syncs carry one new review (the full Automerge exchange: heads, bloom filter, change,
//! acknowledgement), a third have nothing new (one exchange). Each client speaks the real wire
//! format over HTTP with its own in-memory Automerge copy, so the two cores spend their time on
//! the server. Reported: exchanges per second and the latency percentiles of one exchange.

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, AutoCommit};
use tidbit_core::events::{Event, EventKind};
use tidbit_core::sync::documents;
use tidbit_core::sync::exchange::{DocumentHeads, DocumentMessage, Exchange};
use tidbit_server::{Hub, RateLimit};
use tokio::sync::Mutex;

const LEARNERS: usize = 1_000;
const CLIENT_LEVELS: [usize; 4] = [8, 16, 32, 64];
const EVENTS_BEFORE: u64 = 40;
const AT_MS: i64 = 1_790_000_000_000;

struct Learner {
    id: String,
    token: String,
    doc: AutoCommit,
    state: sync::State,
    sequence: u64,
}

fn event(learner: &str, sequence: u64) -> Event {
    Event {
        id: String::new(),
        at_ms: AT_MS + sequence as i64 * 60_000,
        device: format!("{learner}-phone"),
        kind: EventKind::StepViewed {
            course: "field-safety".into(),
            module: "scene-safety".into(),
            step: format!("step-{}", sequence % 40),
        },
    }
}

/// One sync of `learner`; returns the latency of each exchange.
async fn sync_learner(http: &reqwest::Client, url: &str, learner: &mut Learner) -> Vec<Duration> {
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
            .post(format!("{url}/v1/learners/{}/sync", learner.id))
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

fn main() {
    let seconds: u64 = std::env::var("TIDBIT_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let hub = Arc::new(Hub::open(dir.path()).unwrap().with_rate_limit(RateLimit {
        burst: 1e9,
        per_second: 1e9,
    }));
    let (addr, _server) = runtime
        .block_on(tidbit_server::spawn(
            "127.0.0.1:0".parse().unwrap(),
            hub.clone(),
        ))
        .unwrap();
    let url = format!("http://{addr}");
    let http = reqwest::Client::new();

    // Set-up (not timed): every learner's phone sends its first 40 events.
    let name = documents::period_of(AT_MS);
    let learners: Vec<Arc<Mutex<Learner>>> = (0..LEARNERS)
        .map(|i| {
            let id = format!("learner-{i:04}");
            let mut doc = documents::genesis(&name).unwrap();
            doc.set_actor(ActorId::from(format!("phone-{i:010}").as_bytes()));
            for sequence in 0..EVENTS_BEFORE {
                documents::append(&mut doc, "incarnation", sequence, &event(&id, sequence))
                    .unwrap();
            }
            Arc::new(Mutex::new(Learner {
                token: hub.tokens.issue(&id, "phone", 4_102_444_800),
                id,
                doc,
                state: sync::State::new(),
                sequence: EVENTS_BEFORE,
            }))
        })
        .collect();
    runtime.block_on(async {
        for learner in &learners {
            let mut learner = learner.lock().await;
            sync_learner(&http, &url, &mut learner).await;
        }
    });

    for (offset, clients) in CLIENT_LEVELS.into_iter().enumerate() {
        let (latencies, elapsed) =
            run_level(runtime, &http, &url, &learners, clients, offset, seconds);
        report(clients, latencies, elapsed);
    }
}

fn run_level(
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    url: &str,
    learners: &[Arc<Mutex<Learner>>],
    clients: usize,
    offset: usize,
    seconds: u64,
) -> (Vec<Duration>, f64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let began = Instant::now();
    let latencies: Vec<Duration> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for client in 0..clients {
            let learners = learners.to_vec();
            let http = http.clone();
            let url = url.to_string();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut round = 0usize;
                while Instant::now() < deadline {
                    let index = (client + round * clients + offset * 7) % LEARNERS;
                    let mut learner = learners[index].lock().await;
                    if round % 3 != 2 {
                        let sequence = learner.sequence;
                        let id = learner.id.clone();
                        documents::append(
                            &mut learner.doc,
                            "incarnation",
                            sequence,
                            &event(&id, sequence),
                        )
                        .unwrap();
                        learner.sequence += 1;
                    }
                    latencies.extend(sync_learner(&http, &url, &mut learner).await);
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

fn report(clients: usize, mut latencies: Vec<Duration>, elapsed: f64) {
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "server load: {LEARNERS} learners, {clients} clients, {elapsed:.1} s: {} exchanges, {:.0} exchanges/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
    );
}
