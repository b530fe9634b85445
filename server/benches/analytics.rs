//! What the L&D side costs: statement generation per event, a learner's summary update, the
//! dashboard's metrics over 10,000 learners × 90 days, and delivery to a real local LRS.
//!
//! ```text
//! cargo bench -p tidbit-server --bench analytics
//! TIDBIT_BENCH_LRS=0 cargo bench -p tidbit-server --bench analytics   # without the LRS part
//! ```
//!
//! - **Statements**: learners simulated through the real engine for 90 days (the field-safety
//!   course, 12 minutes on about two days in three), their events turned into xAPI statements
//!   by the same function the server uses; microseconds per event (median of 9 passes).
//! - **Summary update**: the same learners' engagement summaries remade from their events, as
//!   the server does when a learner's events change: milliseconds per learner, microseconds per
//!   event.
//! - **Dashboard**: 10,000 learner summaries (the simulated learners' summaries, each copied
//!   under new learner ids with its days shifted, so the population spreads over the 90 days)
//!   in a hub; the time of the dashboard's main request, `GET /v1/admin/metrics` over HTTP on
//!   127.0.0.1 (aggregation and JSON), median and worst of 21, and of a course filter.
//! - **LRS delivery**: 20,000 statements queued in a real server's outbox, delivered by its
//!   worker (batches of 500, 4 in flight) to Learning Locker's statements service on
//!   127.0.0.1 (`scripts/lrs.sh`); statements per second from the first request to the last,
//!   and over the first 5,000 and 10,000. The same 20,000 go first to a sink on 127.0.0.1 that
//!   takes every batch at once: Tidbit's side alone (reading the outbox, opening each sealed
//!   statement, the requests, settling).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tidbit_core::analytics::metrics::{summarise, LearnerSummary};
use tidbit_core::analytics::xapi::{statements_of, XapiSettings};
use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::{Event, ManualClock};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::simulate::PracticeDevice;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};
use tidbit_server::Hub;

const SIMULATED: usize = 24;
const DAYS: i64 = 90;
const POPULATION: usize = 10_000;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-01T07:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

struct Simulated {
    learner: String,
    events: Vec<Event>,
}

fn simulate(dir: &Path, pack: &Path, trusted: &TrustedKeys) -> (Tidbit, Vec<Simulated>) {
    let mut learners = Vec::new();
    let mut index = None;
    for i in 0..SIMULATED {
        let learner = format!("sim-{i:02}");
        let clock = Arc::new(ManualClock::new(start()));
        let mut tidbit = Tidbit::open(
            TidbitConfig {
                data_dir: dir.join(&learner),
                learner_id: learner.clone(),
                device_id: "phone".into(),
                time_zone: "Europe/Berlin".into(),
                trusted_keys: trusted.clone(),
                at_rest_key: None,
            },
            clock.clone(),
        )
        .unwrap();
        tidbit.install_pack(pack, &mut |_, _| {}).unwrap();
        tidbit.enroll("field-safety", "field-volunteer").unwrap();
        tidbit
            .set_consent(tidbit_core::privacy::consent::ConsentScope::Analytics, true)
            .unwrap();
        let mut practice = PracticeDevice::new(&tidbit, i as u64, 0.6 + 0.015 * i as f64).unwrap();
        for day in 0..DAYS {
            if (day as usize + i) % 3 == 2 {
                continue;
            }
            clock.set(start() + chrono::Duration::days(day) + chrono::Duration::hours(2));
            practice.practise(&mut tidbit, &clock, 12).unwrap();
        }
        learners.push(Simulated {
            learner,
            events: tidbit.events().unwrap(),
        });
        if index.is_none() {
            index = Some(tidbit);
        }
    }
    (index.unwrap(), learners)
}

/// `summary` as another learner whose days are `shift` days earlier.
fn shifted(summary: &LearnerSummary, learner: String, shift: i64) -> LearnerSummary {
    let ms = shift * 86_400_000;
    let mut copy = summary.clone();
    copy.learner = learner;
    copy.last_active_ms = copy.last_active_ms.map(|t| t - ms);
    copy.active_days = summary
        .active_days
        .iter()
        .map(|(d, v)| (*d - chrono::Duration::days(shift), *v))
        .collect::<BTreeMap<_, _>>();
    for enrolment in &mut copy.enrolments {
        enrolment.at_ms -= ms;
        for stage in &mut enrolment.stages {
            stage.unlocked_ms = stage.unlocked_ms.map(|t| t - ms);
            stage.passed_ms = stage.passed_ms.map(|t| t - ms);
        }
    }
    for done in copy.modules_completed.values_mut() {
        *done -= ms;
    }
    for check in &mut copy.checks {
        check.at_ms -= ms;
    }
    copy
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/field-safety");
    let compiled = compile_course(&source).unwrap();
    let pack = dir.path().join("field-safety.tidbit");
    let mut file = std::fs::File::create(&pack).unwrap();
    write_course_pack(&compiled, &key, start(), &mut file, &mut |_, _| {}).unwrap();
    drop(file);
    let trusted = TrustedKeys::from_keys([key.public_key()]);
    let began = Instant::now();
    let (index, learners) = simulate(dir.path(), &pack, &trusted);
    let events: usize = learners.iter().map(|l| l.events.len()).sum();
    println!(
        "simulated {SIMULATED} learners x {DAYS} days: {events} events in {:.1} s",
        began.elapsed().as_secs_f64()
    );

    // Statements per event.
    let settings = XapiSettings::new("https://learn.example.org");
    let mut statements = 0;
    let per_event: Vec<f64> = (0..9)
        .map(|_| {
            let t = Instant::now();
            statements = 0;
            for learner in &learners {
                // Made and written as JSON, as the server queues them.
                for statement in
                    statements_of(index.store(), &learner.learner, &learner.events, &settings)
                        .unwrap()
                {
                    statements += 1;
                    std::hint::black_box(serde_json::to_vec(&statement).unwrap());
                }
            }
            t.elapsed().as_secs_f64() * 1e6 / events as f64
        })
        .collect();
    println!(
        "statements (made and written as JSON): {statements} from {events} events; {:.2} us per event (median of 9), {:.2} us per statement",
        median(per_event.clone()),
        median(per_event) * events as f64 / statements as f64
    );

    // A learner's summary, remade from their events.
    let now_ms = (start() + chrono::Duration::days(DAYS)).timestamp_millis();
    let mut summaries = Vec::new();
    let per_learner: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            summaries = learners
                .iter()
                .map(|l| summarise(index.store(), &l.learner, &l.events, now_ms).unwrap())
                .collect();
            t.elapsed().as_secs_f64() * 1e3 / SIMULATED as f64
        })
        .collect();
    let ms = median(per_learner);
    println!(
        "summary update: {ms:.2} ms per learner of {} events ({:.2} us per event)",
        events / SIMULATED,
        ms * 1e3 * SIMULATED as f64 / events as f64
    );

    // The dashboard's main request over 10,000 learners.
    let server_dir = dir.path().join("server");
    let hub = Hub::open(&server_dir)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(
            start() + chrono::Duration::days(DAYS),
        )));
    for n in 0..POPULATION {
        let base = &summaries[n % SIMULATED];
        hub.summaries.put(shifted(
            base,
            format!("learner-{n:05}"),
            (n / SIMULATED) as i64 % 30,
        ));
    }
    let hub = Arc::new(hub);
    let admin = hub
        .tokens
        .issue("*", tidbit_server::auth::ADMIN_DEVICE, 4_102_444_800);
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let (addr, _task) = runtime
        .block_on(tidbit_server::spawn(
            "127.0.0.1:0".parse().unwrap(),
            hub.clone(),
        ))
        .unwrap();
    let client = reqwest::blocking::Client::new();
    for query in ["", "?course=field-safety&path=field-volunteer"] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..21 {
            let t = Instant::now();
            let body = client
                .get(format!("http://{addr}/v1/admin/metrics{query}"))
                .bearer_auth(&admin)
                .send()
                .unwrap()
                .bytes()
                .unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            bytes = body.len();
        }
        let worst = times.iter().cloned().fold(0.0, f64::max);
        println!(
            "dashboard metrics{query}: {POPULATION} learners, {bytes} bytes: median {:.1} ms, worst {worst:.1} ms",
            median(times)
        );
    }

    if std::env::var("TIDBIT_BENCH_LRS").as_deref() == Ok("0") {
        return;
    }
    // Tidbit's side alone: an endpoint on 127.0.0.1 that takes every batch at once.
    let sink = runtime.block_on(async {
        let app =
            axum::Router::new().route("/xAPI/statements", axum::routing::post(|| async { "[]" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });
    deliver(
        "a sink that takes every batch",
        &dir.path().join("sink-server"),
        &format!("http://{sink}/xAPI"),
        ("", ""),
        &learners,
        &index,
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/lrs.sh");
    let env_file = dir.path().join("lrs.env");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg("start")
        .arg(&env_file)
        .status()
        .unwrap();
    assert!(status.success(), "the LRS did not start");
    let text = std::fs::read_to_string(&env_file).unwrap();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap()
            .to_string()
    };
    deliver(
        "Learning Locker's statements service",
        &dir.path().join("lrs-server"),
        &value("LRS_ENDPOINT"),
        (&value("LRS_USER"), &value("LRS_PASSWORD")),
        &learners,
        &index,
    );
    let _ = std::process::Command::new("bash")
        .arg(&script)
        .arg("stop")
        .arg(&env_file)
        .status();
}

/// Queues 20,000 statements in a new server's outbox and times their delivery to `endpoint`.
fn deliver(
    what: &str,
    data: &Path,
    endpoint: &str,
    (user, password): (&str, &str),
    learners: &[Simulated],
    index: &Tidbit,
) {
    let hub = Hub::open(data).unwrap();
    // 20,000 real statements, queued as the records worker queues them.
    let settings = XapiSettings::new("https://learn.example.org");
    let mut queued = 0;
    'fill: for round in 0.. {
        for learner in learners {
            let name = format!("{}-{round}", learner.learner);
            let mut batch = Vec::new();
            for statement in
                statements_of(index.store(), &name, &learner.events, &settings).unwrap()
            {
                batch.push((
                    statement.id.clone(),
                    serde_json::to_vec(&statement).unwrap(),
                ));
            }
            let room = 20_000 - queued;
            batch.truncate(room);
            queued += batch.len();
            hub.storage.enqueue_statements(&name, 0, &batch).unwrap();
            if queued >= 20_000 {
                break 'fill;
            }
        }
    }
    let hub = Arc::new(
        hub.with_records(tidbit_server::records::LrsSettings {
            endpoint: endpoint.into(),
            user: user.into(),
            password: password.into(),
            batch: 500,
            parallel: 4,
            max_backoff: Duration::from_secs(1),
            home_page: "https://learn.example.org".into(),
        })
        .unwrap(),
    );
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let t = Instant::now();
    let (_addr, task) = runtime
        .block_on(tidbit_server::spawn(
            "127.0.0.1:0".parse().unwrap(),
            hub.clone(),
        ))
        .unwrap();
    let mut milestones = vec![5_000u64, 10_000];
    loop {
        let status = hub.storage.outbox_status(1).unwrap();
        if milestones.first().is_some_and(|m| status.delivered >= *m) {
            let seconds = t.elapsed().as_secs_f64();
            println!(
                "  to {what}: the first {} statements in {seconds:.2} s = {:.0} statements/s",
                status.delivered,
                status.delivered as f64 / seconds
            );
            milestones.remove(0);
        }
        if status.pending == 0 && status.learners_due == 0 {
            let seconds = t.elapsed().as_secs_f64();
            println!(
                "delivery to {what}: {} statements in {seconds:.2} s = {:.0} statements/s ({} quarantined, {} conflicts)",
                status.delivered,
                status.delivered as f64 / seconds,
                status.quarantined,
                status.conflicts
            );
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "delivery stalled: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    task.abort();
}
