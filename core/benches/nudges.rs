//! Nudge planning for a learner with 20,000 items over 7 days (target ≤ 5 ms).
//!
//! `cargo bench -p tidbit-core --bench nudges` prints:
//! - `nudges/plan_nudges (facade, 20,000 items)`: `Tidbit::plan_nudges` on the large learning
//!   history (20,000 items, 200,000 reviews; see `support/history.rs`), the morning after it:
//!   reading due cards, finished modules, the streak and the nudge events, planning, and
//!   recording every decision;
//! - `nudges/plan (pure, 20,000 due items)`: the planner alone on 20,000 due times spread over
//!   the past month and the week ahead, with 300 earlier outcomes, 3 interventions and 12
//!   finished modules.

#[path = "support/history.rs"]
mod history;

use std::hint::black_box;
use std::sync::Arc;

use chrono::Duration;
use criterion::{criterion_group, criterion_main, Criterion};
use tidbit_core::events::ManualClock;
use tidbit_core::nudge::{
    plan_nudges, FinishedModule, Intervention, NudgeKind, NudgeOutcome, NudgePreferences,
    OutcomeRecord, PlanningState,
};
use tidbit_core::tidbit::Tidbit;

fn facade(c: &mut Criterion) {
    let history = history::cached(&history::LARGE);
    let dir = tempfile::tempdir_in(history::cache_root()).expect("a scratch directory");
    let store = history.copy_store_to(dir.path());
    let clock = Arc::new(ManualClock::new(history.next_morning));
    let mut tidbit = Tidbit::open(history::config(&store), clock).expect("the store opens");
    let prefs = NudgePreferences::consented();
    let plan = tidbit.plan_nudges(&prefs).expect("a plan");
    println!(
        "plan at {}: {} nudges, {} decisions",
        history.next_morning,
        plan.nudges.len(),
        plan.decisions.len()
    );
    c.bench_function("nudges/plan_nudges (facade, 20,000 items)", |b| {
        b.iter(|| black_box(tidbit.plan_nudges(&prefs).expect("a plan")))
    });
}

fn pure(c: &mut Criterion) {
    let now = history::start() + Duration::days(600);
    let zone = tidbit_core::time_zone::Zone::named("Europe/Berlin").expect("a zone");
    let mut state = PlanningState {
        seconds_per_item: 20,
        ..PlanningState::default()
    };
    let from = (now - Duration::days(30)).timestamp_millis();
    let span = Duration::days(37).num_milliseconds();
    state.due_ms = (0..20_000i64).map(|i| from + span * i / 20_000).collect();
    state.streak_days = 12;
    state.finished_modules = (0..12)
        .map(|i| FinishedModule {
            course: "synthetic".into(),
            module: format!("m{i}"),
            title: format!("Module {i}"),
            completed_at: now - Duration::days(4) + Duration::hours(i * 9),
        })
        .collect();
    state.interventions = (0..3)
        .map(|i| Intervention {
            id: format!("i{i}"),
            course: None,
            module: format!("m{i}"),
            reason: "risk".into(),
            triggered_at: now - Duration::hours(i),
            deadline: now + Duration::hours(24 + 12 * i),
            undelivered_push: None,
            action: Default::default(),
        })
        .collect();
    state.outcomes = (0..300)
        .map(|i| OutcomeRecord {
            at: now - Duration::days(90) + Duration::hours(i * 7),
            nudge: format!("n{}", i / 2),
            kind: NudgeKind::ReinforcementDue,
            subject: format!("review/{i}"),
            variant: if i % 4 < 2 { "count" } else { "minutes" }.into(),
            local_hour: (8 + (i % 12)) as u8,
            outcome: if i % 2 == 0 {
                NudgeOutcome::Delivered
            } else if i % 3 == 0 {
                NudgeOutcome::Opened
            } else {
                NudgeOutcome::Ignored
            },
        })
        .collect();
    let prefs = NudgePreferences::consented();
    c.bench_function("nudges/plan (pure, 20,000 due items)", |b| {
        b.iter(|| black_box(plan_nudges(now, zone, &prefs, &state)))
    });
}

criterion_group!(benches, facade, pure);
criterion_main!(benches);
