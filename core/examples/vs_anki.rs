//! Tidbit's side of `scripts/bench_vs_anki.sh`, the side-by-side benchmark against Anki's Rust
//! backend on the same history (20,000 items, 200,000 reviews).
//!
//! ```text
//! vs_anki export FILE                        the history as JSON, to build the Anki collection from
//! vs_anki measure [--opens N] [--answers N]  one run on a fresh copy; one JSON object on stdout
//! ```
//!
//! `export` writes the cached benchmark history (see `benches/support/history.rs`, generated
//! through the real facade the first time): the items in course order, every answer of the log
//! (item, time, FSRS rating, response time, and the card's phase before and interval after, as
//! Anki's review log keeps them), each card's scheduling state, and the due counts at the
//! instant both engines run at. The card states are read from the `cards` projection of a copy of
//! the store: a benchmark reading the state it compares, never something an app does.
//!
//! `measure` copies the store and, in this process and before anything else, records the peak
//! resident set before and after the first open to the first card. Then it times, call by call:
//! - **open to the first card**, `opens` times: `Tidbit::open`, `next_activity()` (recorded as a
//!   decision, as the apps' home screen does), `due_counts()` and `step_view()` of the first step
//!   of the recommended plan (what the screen shows); closing is not timed;
//! - **answer plus next**, `answers` times, on one open Tidbit: `answer()` (score, FSRS schedule,
//!   the event and its projections in SQLite and the event in the learner's Automerge document,
//!   in one committed transaction), then `next_activity()`, `due_counts()` and `step_view()` of
//!   the next card. Answers are right at the simulated learner's review rate; their grades are
//!   printed so the Anki side answers with the same sequence;
//! - **the session loop** `tidbit learn` runs, `answers` times more: one `plan_session(10)`, then
//!   `answer()` and `step_view()` of the next planned step, a new plan when it runs out (timed
//!   with the answer that emptied it); the counts are not asked again.
//!
//! Both engines run a week after the history ends ([`AWAY_DAYS`]), with about 800 cards due.
//! Time follows the wall clock from that morning (a [`ManualClock`] moved to it plus the time
//! elapsed in this process), as Anki's scheduler runs on the system clock over a history
//! shifted so that the same morning is now. Each sample has its wall time and the process's
//! CPU time (every thread: the WAL checkpointer runs on its own).

#[path = "../benches/support/history.rs"]
mod history;

use std::collections::VecDeque;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use serde_json::{json, Value};
use tidbit_core::events::{EventKind, ManualClock};
use tidbit_core::learn::recommend::{Activity, Recommendation};
use tidbit_core::learn::schedule::{CardState, Phase, Scheduler, DAY_MS};
use tidbit_core::simulate::answer_for;
use tidbit_core::tidbit::Tidbit;

use history::{Rng, COURSE};

/// The course's desired retention (the synthetic course keeps the default).
const DESIRED_RETENTION: f32 = 0.9;
/// The learner opens the app a week after the history ends, with about 800 cards due (a day
/// after it, only 20 are: the simulated learner cleared every due card each morning).
const AWAY_DAYS: i64 = 7;

/// The instant both engines run at: [`AWAY_DAYS`] after the morning after the history.
fn now_of(history: &history::History) -> chrono::DateTime<chrono::Utc> {
    history.next_morning + Duration::days(AWAY_DAYS)
}

/// A field of `/proc/self/status` in kilobytes (`VmHWM`, `VmRSS`), if the platform has one.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The one-minute load average, if the platform has one (the machine may be shared).
fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn memory() -> Value {
    json!({ "hwm_kb": status_kb("VmHWM:"), "rss_kb": status_kb("VmRSS:") })
}

/// CPU time of the whole process (all threads), in nanoseconds.
fn process_cpu_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to write into.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) } == 0;
    if ok {
        now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
    } else {
        0
    }
}

/// Wall and CPU nanoseconds of one call.
#[derive(Default)]
struct Samples {
    wall_ns: Vec<u64>,
    cpu_ns: Vec<u64>,
}

impl Samples {
    fn time<T>(&mut self, call: impl FnOnce() -> T) -> T {
        let cpu = process_cpu_ns();
        let started = Instant::now();
        let out = call();
        self.wall_ns.push(started.elapsed().as_nanos() as u64);
        self.cpu_ns.push(process_cpu_ns().saturating_sub(cpu));
        out
    }

    fn json(&self) -> Value {
        json!({ "wall_ns": self.wall_ns, "cpu_ns": self.cpu_ns })
    }
}

/// The first step the recommendation asks for, if it holds a plan.
fn first_planned(recommendation: &Recommendation) -> Option<(String, String)> {
    let plan = match &recommendation.activity {
        Activity::Remediation { plan, .. }
        | Activity::Reinforcement { plan, .. }
        | Activity::Booster { plan, .. } => plan,
        _ => return None,
    };
    plan.steps.first().map(|s| (s.step.clone(), s.kind.clone()))
}

/// Parts of one "open to the first card" or "answer plus next".
#[derive(Default)]
struct Parts {
    first: Samples,
    next_activity: Samples,
    due_counts: Samples,
    step_view: Samples,
    total_wall_ns: Vec<u64>,
    total_cpu_ns: Vec<u64>,
}

impl Parts {
    fn add_total(&mut self) {
        let last = |s: &Samples| {
            (
                *s.wall_ns.last().unwrap_or(&0),
                *s.cpu_ns.last().unwrap_or(&0),
            )
        };
        let parts = [
            last(&self.first),
            last(&self.next_activity),
            last(&self.due_counts),
            last(&self.step_view),
        ];
        self.total_wall_ns.push(parts.iter().map(|p| p.0).sum());
        self.total_cpu_ns.push(parts.iter().map(|p| p.1).sum());
    }

    fn json(&self, first: &str) -> Value {
        json!({
            "total": { "wall_ns": self.total_wall_ns, "cpu_ns": self.total_cpu_ns },
            first: self.first.json(),
            "next_activity": self.next_activity.json(),
            "due_counts": self.due_counts.json(),
            "step_view": self.step_view.json(),
        })
    }
}

/// Asks for the next card and shows it, timing each call into `parts`. Lessons the plan puts
/// first (a remediation's) are viewed untimed, as the learner reads them, and the next card asked
/// for again. Returns the step to answer next, if the plan has one.
fn next_card(
    tidbit: &mut Tidbit,
    parts: &mut Parts,
    lessons: &mut u32,
) -> Result<Option<(String, tidbit_core::learn::plan::DueCounts)>, String> {
    let mut recommendation = parts
        .next_activity
        .time(|| tidbit.next_activity())
        .map_err(|e| e.to_string())?;
    let counts = parts
        .due_counts
        .time(|| tidbit.due_counts())
        .map_err(|e| e.to_string())?;
    loop {
        let Some((step, kind)) = first_planned(&recommendation) else {
            parts.step_view.wall_ns.push(0);
            parts.step_view.cpu_ns.push(0);
            return Ok(None);
        };
        if kind == "lesson" {
            *lessons += 1;
            tidbit.view_step(COURSE, &step).map_err(|e| e.to_string())?;
            recommendation = tidbit.next_activity().map_err(|e| e.to_string())?;
            continue;
        }
        parts
            .step_view
            .time(|| tidbit.step_view(COURSE, &step))
            .map_err(|e| e.to_string())?;
        return Ok(Some((step, counts)));
    }
}

fn measure(opens: usize, answers: usize) -> Result<Value, String> {
    let history = history::cached(&history::LARGE);
    let scratch = tempfile::tempdir_in(history::cache_root()).map_err(|e| e.to_string())?;
    let store = history.copy_store_to(scratch.path());
    let now = now_of(&history);
    let clock = Arc::new(ManualClock::new(now));
    let started = Instant::now();
    let tick = || {
        let elapsed = Duration::from_std(started.elapsed()).unwrap_or_default();
        clock.set(now + elapsed);
    };
    let open =
        || Tidbit::open(history::config(&store), clock.clone()).map_err(|e| format!("open: {e}"));
    let mut lessons = 0;

    // Memory: the first open to the first card, before this process does anything else.
    let load = load_average();
    let before_open = memory();
    tick();
    let mut first_open = Parts::default();
    let mut tidbit = first_open.first.time(open)?;
    let first = next_card(&mut tidbit, &mut first_open, &mut lessons)?;
    first_open.add_total();
    let after_open = memory();
    let first_counts = first.as_ref().map(|(_, counts)| *counts);
    drop(tidbit);

    let mut home = Parts::default();
    for _ in 0..opens {
        tick();
        let mut tidbit = home.first.time(open)?;
        next_card(&mut tidbit, &mut home, &mut lessons)?;
        home.add_total();
    }

    let items = history::course_items(&history::LARGE);
    let index_of: std::collections::HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, (_, step, _))| (step.as_str(), i))
        .collect();
    let mut rng = Rng::new(0xA4C1_2026);
    let mut tidbit = open()?;
    let mut loop_parts = Parts::default();
    let mut current = next_card(&mut tidbit, &mut Parts::default(), &mut lessons)?;
    let mut grades = Vec::with_capacity(answers);
    let mut response_times = Vec::with_capacity(answers);
    let mut first_answer_ns = None;
    for _ in 0..answers {
        let Some((step, _)) = current.take() else {
            break;
        };
        let Some(&index) = index_of.get(step.as_str()) else {
            return Err(format!("the plan names an unknown step {step}"));
        };
        tick();
        let response = answer_for(&items[index].2, rng.chance(history::P_RIGHT_REVIEW));
        let ms = rng.response_ms();
        let feedback = loop_parts
            .first
            .time(|| tidbit.answer(COURSE, &step, response, ms))
            .map_err(|e| format!("answer: {e}"))?;
        first_answer_ns.get_or_insert(*loop_parts.first.wall_ns.last().unwrap_or(&0));
        grades.push(feedback.grade.rating());
        response_times.push(ms);
        current = next_card(&mut tidbit, &mut loop_parts, &mut lessons)?;
        loop_parts.add_total();
    }
    let counts_after = tidbit.due_counts().map_err(|e| e.to_string())?;
    let at_end = memory();

    // The session loop `tidbit learn` runs: one plan, its steps shown and answered in turn,
    // remediations appended, a new plan when it runs out; the counts are not asked again.
    let mut session = Parts::default();
    let mut queue: VecDeque<String> = VecDeque::new();
    let plan = |tidbit: &mut Tidbit, queue: &mut VecDeque<String>| -> Result<(), String> {
        let plan = tidbit.plan_session(10).map_err(|e| e.to_string())?;
        queue.extend(
            plan.steps
                .into_iter()
                .filter(|s| s.kind != "lesson")
                .map(|s| s.step),
        );
        Ok(())
    };
    plan(&mut tidbit, &mut queue)?;
    for _ in 0..answers {
        let Some(step) = queue.pop_front() else {
            break;
        };
        let Some(&index) = index_of.get(step.as_str()) else {
            return Err(format!("the plan names an unknown step {step}"));
        };
        tick();
        let response = answer_for(&items[index].2, rng.chance(history::P_RIGHT_REVIEW));
        let ms = rng.response_ms();
        let feedback = session
            .first
            .time(|| tidbit.answer(COURSE, &step, response, ms))
            .map_err(|e| format!("answer: {e}"))?;
        queue.extend(feedback.remediations.into_iter().map(|r| r.item_step));
        if queue.is_empty() {
            session
                .next_activity
                .time(|| plan(&mut tidbit, &mut queue))?;
        } else {
            session.next_activity.wall_ns.push(0);
            session.next_activity.cpu_ns.push(0);
        }
        session.due_counts.wall_ns.push(0);
        session.due_counts.cpu_ns.push(0);
        match queue.front() {
            Some(next) => {
                session
                    .step_view
                    .time(|| tidbit.step_view(COURSE, next))
                    .map_err(|e| e.to_string())?;
            }
            None => {
                session.step_view.wall_ns.push(0);
                session.step_view.cpu_ns.push(0);
            }
        }
        session.add_total();
    }
    let mut session_json = session.json("answer");
    if let Some(parts) = session_json.as_object_mut() {
        if let Some(replan) = parts.remove("next_activity") {
            parts.insert("plan_session".into(), replan);
        }
        parts.remove("due_counts");
    }

    Ok(json!({
        "engine": "tidbit",
        "load_average": load,
        "memory": { "before_open": before_open, "after_open": after_open, "at_end": at_end },
        "first_open": first_open.json("open"),
        "first_counts": first_counts,
        "counts_after": counts_after,
        "open": home.json("open"),
        "answer": loop_parts.json("answer"),
        "session": session_json,
        "first_answer_wall_ns": first_answer_ns,
        "answers": grades.len(),
        "lessons_viewed": lessons,
        "grades": grades,
        "response_ms": response_times,
    }))
}

fn phase_code(phase: Phase) -> u8 {
    // Anki's review log types: 0 learning, 1 review, 2 relearning.
    match phase {
        Phase::Learning => 0,
        Phase::Review => 1,
        Phase::Relearning => 2,
    }
}

/// An interval as Anki's review log keeps it: days when positive, seconds when negative.
fn logged_interval(state: &CardState) -> i64 {
    let ms = state.due_ms - state.last_review_ms;
    match state.phase {
        Phase::Review => (ms / DAY_MS).max(1),
        _ => -(ms / 1000),
    }
}

fn export(file: &Path) -> Result<(), String> {
    let history = history::cached(&history::LARGE);
    let scratch = tempfile::tempdir_in(history::cache_root()).map_err(|e| e.to_string())?;
    let store = history.copy_store_to(scratch.path());
    let clock = Arc::new(ManualClock::new(now_of(&history)));
    let (events, counts) = {
        let tidbit = Tidbit::open(history::config(&store), clock).map_err(|e| e.to_string())?;
        let counts = tidbit.due_counts().map_err(|e| e.to_string())?;
        (tidbit.events().map_err(|e| e.to_string())?, counts)
    };
    let items = history::course_items(&history::LARGE);
    let index_of: std::collections::HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, (_, step, _))| (step.as_str(), i))
        .collect();

    // Each answer's phase before and interval after: the phases follow from the grades alone, so
    // replaying them through the scheduler (without load balancing) gives the engine's.
    let mut scheduler = Scheduler::new(None).map_err(|e| e.to_string())?;
    // The parameters in force at the end of the log, for Anki's deck options.
    let mut parameters = scheduler.parameters().to_vec();
    let mut states: Vec<Option<CardState>> = vec![None; items.len()];
    let mut reviews = Vec::new();
    for event in &events {
        match &event.kind {
            EventKind::ItemAnswered {
                step,
                grade,
                response_ms,
                ..
            } => {
                let Some(&index) = index_of.get(step.as_str()) else {
                    return Err(format!("the log answers an unknown step {step}"));
                };
                let previous = states[index].take();
                let next = scheduler
                    .review(
                        &format!("{COURSE}/{step}"),
                        previous.as_ref(),
                        *grade,
                        event.at_ms,
                        DESIRED_RETENTION,
                        &mut |_| 0,
                    )
                    .map_err(|e| e.to_string())?;
                reviews.push(json!([
                    index,
                    event.at_ms,
                    grade.rating(),
                    response_ms,
                    phase_code(previous.as_ref().map_or(Phase::Learning, |p| p.phase)),
                    logged_interval(&next),
                    previous.as_ref().map_or(0, logged_interval),
                ]));
                states[index] = Some(next);
            }
            EventKind::ParametersAdopted {
                parameters: adopted,
                ..
            } => {
                scheduler = Scheduler::new(Some(adopted)).map_err(|e| e.to_string())?;
                parameters.clone_from(adopted);
            }
            _ => {}
        }
    }

    let conn = rusqlite::Connection::open(store.join(tidbit_core::store::DATABASE_FILE))
        .map_err(|e| e.to_string())?;
    let mut query = conn
        .prepare(
            "SELECT step, phase, learning_step, stability, difficulty, reps, lapses,
                    last_review_ms, due_ms FROM cards WHERE course = ?1",
        )
        .map_err(|e| e.to_string())?;
    let cards: Vec<Value> = query
        .query_map([COURSE], |r| {
            Ok((
                r.get::<_, String>(0)?,
                json!({
                    "phase": r.get::<_, String>(1)?,
                    "learning_step": r.get::<_, u32>(2)?,
                    "stability": r.get::<_, f64>(3)?,
                    "difficulty": r.get::<_, f64>(4)?,
                    "reps": r.get::<_, u32>(5)?,
                    "lapses": r.get::<_, u32>(6)?,
                    "last_review_ms": r.get::<_, i64>(7)?,
                    "due_ms": r.get::<_, i64>(8)?,
                }),
            ))
        })
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .filter_map(|(step, mut card)| {
            let index = *index_of.get(step.as_str())?;
            card["item"] = json!(index);
            Some(card)
        })
        .collect();

    let exported = json!({
        "next_morning_ms": history.next_morning.timestamp_millis(),
        "now_ms": now_of(&history).timestamp_millis(),
        "time_zone": history::config(&store).time_zone,
        "desired_retention": DESIRED_RETENTION,
        "fsrs_parameters": parameters,
        "learning_steps_minutes": tidbit_core::learn::schedule::LEARNING_STEPS_MINUTES,
        "relearning_steps_minutes": tidbit_core::learn::schedule::RELEARNING_STEPS_MINUTES,
        "due_counts": counts,
        "items": items.iter().map(|(_, step, item)| {
            let choices: Vec<String> = match item.interaction() {
                tidbit_core::content::Interaction::SingleChoice { choices } => {
                    choices.iter().map(|c| c.text.clone()).collect()
                }
                _ => Vec::new(),
            };
            json!({ "step": step, "prompt": item.prompt(), "choices": choices,
                    "explanation": item.explanation() })
        }).collect::<Vec<_>>(),
        "reviews": reviews,
        "cards": cards,
    });
    let text = serde_json::to_string(&exported).map_err(|e| e.to_string())?;
    std::fs::write(file, text).map_err(|e| format!("{}: {e}", file.display()))?;
    eprintln!(
        "exported {} items, {} answers, {} cards to {}",
        items.len(),
        exported["reviews"].as_array().map_or(0, Vec::len),
        exported["cards"].as_array().map_or(0, Vec::len),
        file.display()
    );
    Ok(())
}

fn usage() -> ExitCode {
    eprintln!("usage: vs_anki export FILE | vs_anki measure [--opens N] [--answers N]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |flag: &str, default: usize| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let result = match args.first().map(String::as_str) {
        Some("export") => match args.get(1) {
            Some(file) => export(Path::new(file)),
            None => return usage(),
        },
        Some("measure") => measure(number("--opens", 30), number("--answers", 1000))
            .map(|report| println!("{report}")),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vs_anki: {e}");
            ExitCode::FAILURE
        }
    }
}
