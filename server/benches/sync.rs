//! Sync figures (issue 4's targets), on the real facade, client and server over 127.0.0.1.
//!
//! ```text
//! cargo bench -p tidbit-server --bench sync
//! ```
//!
//! 1. A phone learns offline for 30 days (1,500 reviews), then syncs: HTTP exchanges and
//!    bytes on the wire per review; then a sync with nothing new.
//! 2. The same backlog when the server also holds a tablet's month of events in the same
//!    document (so the server cannot just take the phone's whole document).
//! 3. Answering an item with the CRDT write included: median and p99 over 2,000 answers.
//! 4. Three years of daily use (100,000 reviews in 36 monthly documents): document sizes and
//!    load times.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use automerge::AutoCommit;
use chrono::Duration;
use support::*;
use tidbit_core::events::{Event, EventKind, Grade};
use tidbit_core::learn::assess::{Outcome, Response};
use tidbit_core::simulate::answer_for;
use tidbit_core::sync::documents;

fn main() {
    let root = tempfile::tempdir().unwrap();
    backlog(root.path(), false);
    backlog(root.path(), true);
    three_years();
}

fn answers(device: &Device) -> usize {
    device
        .tidbit
        .lock()
        .unwrap()
        .events()
        .unwrap()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ItemAnswered { .. }) && e.device == device.name)
        .count()
}

/// The course's items, by step id.
fn items(device: &Device) -> Vec<(String, tidbit_core::content::items::Item)> {
    let course = device
        .tidbit
        .lock()
        .unwrap()
        .store()
        .load_course(COURSE)
        .unwrap();
    course
        .modules
        .iter()
        .flat_map(|m| m.steps.iter())
        .filter_map(|s| match &s.body {
            tidbit_core::content::model::StepBody::Item(item) => Some((s.id.clone(), item.clone())),
            _ => None,
        })
        .collect()
}

/// A month offline: 50 reviews a day for 30 days (1,500 in all), a fifth of them wrong.
fn offline_month(device: &Device, shift: usize) {
    let items = items(device);
    let mut tidbit = device.tidbit.lock().unwrap();
    for day in 0..30 {
        device
            .clock
            .set(start() + Duration::days(day) + Duration::hours(2 + shift as i64));
        for n in 0..50 {
            let (step, item) = &items[(day as usize * 50 + n + shift) % items.len()];
            device.clock.advance(Duration::seconds(15));
            let right = !(n + shift).is_multiple_of(5);
            tidbit
                .answer(
                    COURSE,
                    step,
                    answer_for(item, right),
                    4_000 + 100 * n as u32,
                )
                .unwrap();
        }
    }
}

fn backlog(root: &std::path::Path, with_tablet: bool) {
    let label = if with_tablet { "shared" } else { "alone" };
    let server = TestServer::start(&root.join(format!("server-{label}")));
    let phone = Device::new(&root.join(label), "ana", "phone");
    let token = server.token("ana", "phone");
    phone
        .tidbit
        .lock()
        .unwrap()
        .enroll(COURSE, "field-volunteer")
        .unwrap();
    phone.sync(&server.url(), &token).unwrap();
    let before = answers(&phone);
    if with_tablet {
        let tablet = Device::new(&root.join(label), "ana", "tablet");
        tablet
            .tidbit
            .lock()
            .unwrap()
            .enroll(COURSE, "field-volunteer")
            .unwrap();
        offline_month(&tablet, 7);
        tablet
            .sync(&server.url(), &server.token("ana", "tablet"))
            .unwrap();
    }
    offline_month(&phone, 0);
    let reviews = answers(&phone) - before;
    let events = phone.tidbit.lock().unwrap().events().unwrap().len();
    let report = phone.sync(&server.url(), &token).unwrap();
    let idle = phone.sync(&server.url(), &token).unwrap();
    println!(
        "backlog ({label}): {reviews} reviews ({events} events in all) in 30 days offline -> {} exchanges, {} B up ({:.1} B per review), {} B down; nothing new -> {} exchange",
        report.round_trips,
        report.bytes_up,
        report.bytes_up as f64 / reviews as f64,
        report.bytes_down,
        idle.round_trips,
    );
    if !with_tablet {
        answer_latency(&phone);
    }
}

fn answer_latency(device: &Device) {
    let items = items(device);
    let mut tidbit = device.tidbit.lock().unwrap();
    let mut times = Vec::new();
    for i in 0..2_000 {
        let (step, item) = &items[i % items.len()];
        device.clock.advance(Duration::seconds(20));
        let response = answer_for(item, i % 5 != 0);
        let began = Instant::now();
        tidbit.answer(COURSE, step, response, 6_000).unwrap();
        times.push(began.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "answer with the CRDT write: median {:.3} ms, p99 {:.3} ms (2,000 answers)",
        times[times.len() / 2],
        times[times.len() * 99 / 100]
    );
}

fn three_years() {
    let steps: Vec<String> = (0..1_200).map(|i| format!("step-{i:04}")).collect();
    let mut docs: Vec<(String, AutoCommit)> = Vec::new();
    let first_ms = 1_700_000_000_000i64;
    let span_ms = 3 * 365 * 86_400_000i64;
    let reviews = 100_000i64;
    for n in 0..reviews {
        let at_ms = first_ms + span_ms * n / reviews;
        let name = documents::period_of(at_ms);
        if docs.last().map(|(d, _)| d != &name).unwrap_or(true) {
            let mut doc = documents::genesis(&name).unwrap();
            doc.set_actor(automerge::ActorId::from(
                format!("device-{:08}", n / 5000).as_bytes(),
            ));
            docs.push((name.clone(), doc));
        }
        let event = Event {
            id: String::new(),
            at_ms,
            device: "phone".into(),
            kind: EventKind::ItemAnswered {
                course: "customer-objections".into(),
                module: format!("module-{:02}", n % 13),
                step: steps[(n * 7919 % 1_200) as usize].clone(),
                item_kind: "single".into(),
                response: Some(Response::SingleChoice {
                    choice: (n % 4) as u32,
                }),
                response_ms: 3_000 + (n * 37 % 9_000) as u32,
                credit: if n % 5 == 0 { 0.0 } else { 1.0 },
                outcome: if n % 5 == 0 {
                    Outcome::Wrong
                } else {
                    Outcome::Right
                },
                grade: if n % 5 == 0 {
                    Grade::Again
                } else {
                    Grade::Good
                },
                local_date: chrono::DateTime::from_timestamp_millis(at_ms)
                    .unwrap()
                    .date_naive(),
            },
        };
        let (_, doc) = docs.last_mut().unwrap();
        documents::append(doc, "0123456789abcdef0123456789abcdef", n as u64, &event).unwrap();
    }
    let mut sizes = Vec::new();
    let mut loads = Vec::new();
    for (_, doc) in docs.iter_mut() {
        let bytes = doc.save();
        let began = Instant::now();
        let mut loaded = AutoCommit::load(&bytes).unwrap();
        loads.push(began.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(loaded.get_heads().len(), 1);
        sizes.push(bytes.len());
    }
    let total: usize = sizes.iter().sum();
    sizes.sort();
    loads.sort_by(f64::total_cmp);
    println!(
        "three years, 100,000 reviews: {} monthly documents, {total} B in all ({:.1} B per review); a month: median {} B, largest {} B; load a month: median {:.2} ms, slowest {:.2} ms; load all: {:.0} ms",
        docs.len(),
        total as f64 / reviews as f64,
        sizes[sizes.len() / 2],
        sizes[sizes.len() - 1],
        loads[loads.len() / 2],
        loads[loads.len() - 1],
        loads.iter().sum::<f64>()
    );
}
