//! Learning-engine latencies on a learner with 20,000 items and 200,000 reviews, and parameter
//! fitting on about 12,000 reviews over 1,200 items.
//!
//! `cargo bench -p tidbit-core --bench learning` prints:
//! - `home/open+next_activity+due_counts`: `Tidbit::open`, then the home screen's two reads
//!   (target ≤ 5 ms), and each part alone;
//! - `answer latency`: one line with the median, p90, p99 and max of individually timed answers
//!   (score, schedule, persist the event and projections, return feedback; target ≤ 0.5 ms
//!   median, ≤ 3 ms p99), then criterion's `answer/item` mean;
//! - `fit/fit_parameters`: fitting FSRS parameters, reading the log included (target ≤ 50 ms).
//!
//! The histories are generated through the real facade the first time (about 40 s for the
//! large one; see `support/history.rs`) and cached under cargo's target directory; every
//! benchmark works on a copy. The full rebuild (target 3) is measured in a fresh process by
//! `cargo run --release -p tidbit-core --example rebuild_bench`.

#[path = "support/history.rs"]
mod history;

use std::collections::{HashMap, VecDeque};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use tidbit_core::content::Item;
use tidbit_core::events::ManualClock;
use tidbit_core::learn::assess::Response;
use tidbit_core::privacy::at_rest::AtRestKey;
use tidbit_core::simulate::answer_for;
use tidbit_core::tidbit::{Feedback, Tidbit, TidbitConfig};

use history::{Rng, COURSE};

/// Answers timed one by one for the latency distribution.
const TIMED_ANSWERS: usize = 4_000;

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(history::cache_root()).expect("a scratch directory")
}

fn open(store: &std::path::Path, clock: &Arc<ManualClock>) -> Tidbit {
    Tidbit::open(history::config(store), clock.clone()).expect("the store opens")
}

/// Target 1: opening the store and the home screen's reads, on the morning after the history.
fn home(c: &mut Criterion) {
    let history = history::cached(&history::LARGE);
    let dir = scratch();
    let store = history.copy_store_to(dir.path());
    let clock = Arc::new(ManualClock::new(history.next_morning));
    {
        let mut tidbit = open(&store, &clock);
        let recommendation = tidbit.next_activity().expect("a recommendation");
        let counts = tidbit.due_counts().expect("due counts");
        println!(
            "home screen at {}: {counts:?}; next activity: {}",
            history.next_morning, recommendation.reason
        );
    }
    let mut group = c.benchmark_group("home");
    group.sample_size(30);
    group.bench_function("open+next_activity+due_counts", |b| {
        b.iter_batched(
            || (),
            |()| {
                let mut tidbit = open(&store, &clock);
                let recommendation = tidbit.next_activity().expect("a recommendation");
                let counts = tidbit.due_counts().expect("due counts");
                // Dropping (closing the connection, checkpointing the WAL) is not timed.
                (tidbit, recommendation, counts)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("open", |b| {
        b.iter_batched(|| (), |()| open(&store, &clock), BatchSize::PerIteration)
    });
    let mut tidbit = open(&store, &clock);
    group.bench_function("next_activity", |b| {
        b.iter(|| black_box(tidbit.next_activity().expect("a recommendation")))
    });
    group.bench_function("due_counts", |b| {
        b.iter(|| black_box(tidbit.due_counts().expect("due counts")))
    });
    group.finish();
}

/// Picks what to answer next: a remediation the engine just inserted, else the next card of a
/// fixed shuffle of the whole course; right at the simulated learner's review rate.
struct Answerer {
    items: Vec<(String, String, Item)>,
    index_of: HashMap<String, usize>,
    order: Vec<usize>,
    next: usize,
    remediations: VecDeque<usize>,
    rng: Rng,
}

impl Answerer {
    fn new() -> Answerer {
        let items = history::course_items(&history::LARGE);
        let index_of = items
            .iter()
            .enumerate()
            .map(|(i, (_, step, _))| (step.clone(), i))
            .collect();
        let mut rng = Rng::new(0xB3_2024);
        let mut order: Vec<usize> = (0..items.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        Answerer {
            items,
            index_of,
            order,
            next: 0,
            remediations: VecDeque::new(),
            rng,
        }
    }

    fn pick(&mut self) -> (&str, Response, u32) {
        let (index, p_right) = match self.remediations.pop_front() {
            Some(index) => (index, history::P_RIGHT_REMEDIATION),
            None => {
                self.next = (self.next + 1) % self.order.len();
                (self.order[self.next], history::P_RIGHT_REVIEW)
            }
        };
        let right = self.rng.chance(p_right);
        let response = answer_for(&self.items[index].2, right);
        (&self.items[index].1, response, self.rng.response_ms())
    }

    fn after(&mut self, feedback: &Feedback) {
        for r in &feedback.remediations {
            if let Some(&index) = self.index_of.get(&r.item_step) {
                self.remediations.push_back(index);
            }
        }
    }
}

fn answer_once(tidbit: &mut Tidbit, answerer: &mut Answerer, clock: &ManualClock) -> Duration {
    clock.advance(chrono::Duration::seconds(10));
    let (step, response, ms) = answerer.pick();
    let step = step.to_string();
    let started = Instant::now();
    let feedback = tidbit
        .answer(COURSE, &step, response, ms)
        .expect("the answer is recorded");
    let elapsed = started.elapsed();
    answerer.after(&feedback);
    elapsed
}

/// Answers [`TIMED_ANSWERS`] items one at a time (after 200 to warm the caches) and prints the
/// latency's quantiles under `label`.
fn print_answer_latency(
    label: &str,
    tidbit: &mut Tidbit,
    answerer: &mut Answerer,
    clock: &ManualClock,
) {
    for _ in 0..200 {
        answer_once(tidbit, answerer, clock);
    }
    let mut times: Vec<Duration> = (0..TIMED_ANSWERS)
        .map(|_| answer_once(tidbit, answerer, clock))
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "answer latency{label} over {TIMED_ANSWERS} answers: median {:?}, p90 {:?}, p99 {:?}, max {:?}, mean {mean:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
    );
}

/// Target 2: answering an item, timed one call at a time, then with criterion; in a plain
/// store and in one sealed with an at-rest key.
fn answer(c: &mut Criterion) {
    let history = history::cached(&history::LARGE);
    let dir = scratch();
    let store = history.copy_store_to(dir.path());
    let clock = Arc::new(ManualClock::new(history.next_morning));
    let mut tidbit = open(&store, &clock);
    let mut answerer = Answerer::new();
    print_answer_latency("", &mut tidbit, &mut answerer, &clock);

    let sealed_dir = scratch();
    let sealed_store = history.copy_store_to(sealed_dir.path());
    let key = AtRestKey::from_bytes(&[7; 32]).expect("a 32-byte key");
    let config = TidbitConfig {
        at_rest_key: Some(Arc::new(key)),
        ..history::config(&sealed_store)
    };
    let started = Instant::now();
    let mut sealed = Tidbit::open(config, clock.clone()).expect("the store opens sealed");
    println!(
        "first open with a key, sealing the history's events and documents: {:?}",
        started.elapsed()
    );
    let mut sealed_answerer = Answerer::new();
    print_answer_latency(", sealed store", &mut sealed, &mut sealed_answerer, &clock);

    let mut group = c.benchmark_group("answer");
    group.sample_size(50);
    group.bench_function("item", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| answer_once(&mut tidbit, &mut answerer, &clock))
                .sum()
        })
    });
    group.bench_function("item, sealed store", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| answer_once(&mut sealed, &mut sealed_answerer, &clock))
                .sum()
        })
    });
    group.finish();
}

/// Target 4: fitting the learner's FSRS parameters, reading the log from the store included.
fn fit(c: &mut Criterion) {
    let history = history::cached(&history::FIT);
    let clock = Arc::new(ManualClock::new(history.next_morning));
    let fresh = || {
        let dir = scratch();
        let store = history.copy_store_to(dir.path());
        let tidbit = open(&store, &clock);
        (dir, tidbit)
    };
    {
        let (_dir, mut tidbit) = fresh();
        let started = Instant::now();
        let report = tidbit.fit_parameters(&mut |_, _| {}).expect("a fit");
        println!(
            "fit_parameters: {} reviews, {} training items, log loss {:.4} -> {:.4}, adopted {}, {:?}",
            report.reviews,
            report.training_items,
            report.log_loss_before,
            report.log_loss_after,
            report.adopted,
            started.elapsed()
        );
    }
    let mut group = c.benchmark_group("fit");
    group.sample_size(10);
    group.bench_function("fit_parameters", |b| {
        b.iter_batched(
            fresh,
            |(dir, mut tidbit)| {
                let report = tidbit.fit_parameters(&mut |_, _| {}).expect("a fit");
                (report, tidbit, dir)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group! {
    name = learning;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = home, answer, fit
}
criterion_main!(learning);
