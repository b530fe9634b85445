//! A learner's history for the learning benchmarks, made by driving the real facade.
//!
//! A synthetic course is installed and enrolled, then a simulated learner works through it day
//! by day under a [`ManualClock`]: new modules (lesson card, then every item) at an even pace,
//! every card FSRS makes due (learning steps included) in a morning session, and every
//! remediation the engine inserts right away. Answers are fully right or clearly wrong
//! ([`answer_for`]) at a realistic rate, with response times that sometimes earn an Easy grade.
//! Generation stops at the requested number of answers (reviews).
//!
//! Generating 200,000 reviews takes about 40 s, so a history is generated once into a cache
//! directory keyed by its size and the schema version, and copied before each use: benchmarks
//! write to their copy, never to the cache. Shared by `benches/learning.rs` and
//! `examples/rebuild_bench.rs`.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, Utc};
use tidbit_core::content::synthetic::synthetic_course;
use tidbit_core::content::{write_course_pack, Item, StepBody};
use tidbit_core::events::{Clock, ManualClock};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::simulate::answer_for;
use tidbit_core::tidbit::{Feedback, Tidbit, TidbitConfig};

pub const COURSE: &str = "synthetic";
pub const PATH: &str = "everyone";
/// Bump when the simulated learner changes, so cached histories are regenerated.
const GENERATOR_VERSION: u32 = 2;
/// Chance of answering a newly met item right.
pub const P_RIGHT_NEW: f64 = 0.8;
/// Chance of answering a card right on later answers (FSRS aims at 0.9 recall).
pub const P_RIGHT_REVIEW: f64 = 0.9;
/// Chance of answering a remediation's item right, just after its lesson.
pub const P_RIGHT_REMEDIATION: f64 = 0.9;

/// How big a history is.
#[derive(Debug, Clone, Copy)]
pub struct HistorySpec {
    /// Items in the course (one card each once met).
    pub items: usize,
    /// Answers (item_answered events) in the log.
    pub reviews: u64,
    /// Days over which new modules are introduced; reviews continue until `reviews` is reached.
    pub intro_days: u32,
}

/// Targets 1–3: 20,000 items and 200,000 reviews over about two years.
pub const LARGE: HistorySpec = HistorySpec {
    items: 20_000,
    reviews: 200_000,
    intro_days: 580,
};

/// Target 4: about 12,000 reviews over 1,200 items.
pub const FIT: HistorySpec = HistorySpec {
    items: 1_200,
    reviews: 12_000,
    intro_days: 580,
};

/// A generated history on disk.
pub struct History {
    /// The cache directory (`data/` is the store).
    pub dir: PathBuf,
    /// The morning after the last simulated day: a realistic "now" to open the store at.
    pub next_morning: DateTime<Utc>,
    /// The projection digest the live engine produced while generating.
    pub digest: String,
}

impl History {
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Copies the store to `to` (a fresh directory) so a benchmark can write to it.
    pub fn copy_store_to(&self, to: &Path) -> PathBuf {
        let target = to.join("data");
        copy_dir(&self.data_dir(), &target);
        target
    }
}

pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-01-08T06:30:00Z")
        .expect("a valid instant")
        .with_timezone(&Utc)
}

pub fn config(data_dir: &Path) -> TidbitConfig {
    TidbitConfig {
        data_dir: data_dir.to_path_buf(),
        learner_id: "bench-learner".into(),
        device_id: "bench-phone".into(),
        time_zone: "Europe/Berlin".into(),
        trusted_keys: TrustedKeys::new(),
        at_rest_key: None,
    }
}

/// Every item of the synthetic course `spec` describes, by step id.
pub fn course_items(spec: &HistorySpec) -> Vec<(String, String, Item)> {
    let compiled = synthetic_course(COURSE, "1.0.0", spec.items, 16);
    compiled
        .course
        .modules
        .iter()
        .flat_map(|m| {
            m.steps.iter().filter_map(|s| match &s.body {
                StepBody::Item(item) => Some((m.id.clone(), s.id.clone(), item.clone())),
                StepBody::Lesson(_) => None,
            })
        })
        .collect()
}

/// Where cached histories live: cargo's per-target scratch directory when built as a bench,
/// `target/tmp` next to the example binary otherwise, the system temp directory as a fallback.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = option_env!("CARGO_TARGET_TMPDIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(|target| target.join("tmp")))
        .filter(|dir| dir.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// The cached history for `spec`, generated first if there is none.
pub fn cached(spec: &HistorySpec) -> History {
    let name = format!(
        "tidbit-learning-history-g{GENERATOR_VERSION}-s{}-{}items-{}reviews",
        tidbit_core::store::SCHEMA_VERSION,
        spec.items,
        spec.reviews
    );
    let dir = cache_root().join(name);
    if !dir.join("meta.txt").exists() {
        let partial = dir.with_extension(format!("partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).expect("create the history directory");
        let started = Instant::now();
        let summary = generate(spec, &partial);
        eprintln!(
            "generated {} answers ({} events) over {} items in {:.1} s, {} simulated days, into {}",
            summary.answers,
            summary.events,
            spec.items,
            started.elapsed().as_secs_f64(),
            summary.days,
            dir.display()
        );
        let meta = format!(
            "next_morning_ms={}\ndigest={}\nanswers={}\nevents={}\ndays={}\ngeneration_seconds={:.1}\n",
            summary.next_morning.timestamp_millis(),
            summary.digest,
            summary.answers,
            summary.events,
            summary.days,
            started.elapsed().as_secs_f64()
        );
        std::fs::write(partial.join("meta.txt"), meta).expect("write meta.txt");
        // Another process may have won the race; either copy is equally good.
        if std::fs::rename(&partial, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
    }
    let meta = std::fs::read_to_string(dir.join("meta.txt")).expect("read meta.txt");
    let field = |key: &str| {
        meta.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("meta.txt has no {key}"))
            .to_string()
    };
    let next_morning_ms: i64 = field("next_morning_ms").parse().expect("a number");
    History {
        next_morning: DateTime::from_timestamp_millis(next_morning_ms).expect("a valid instant"),
        digest: field("digest"),
        dir,
    }
}

pub struct Summary {
    pub answers: u64,
    pub events: usize,
    pub days: u32,
    pub next_morning: DateTime<Utc>,
    pub digest: String,
}

/// A small deterministic generator (xorshift64*), so every run makes the same history.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A response time between 6 and 14 seconds: the fast ones earn Easy.
    pub fn response_ms(&mut self) -> u32 {
        6_000 + (self.next_u64() % 8_000) as u32
    }
}

struct Learner {
    tidbit: Tidbit,
    clock: Arc<ManualClock>,
    items: Vec<(String, String, Item)>,
    index_of: HashMap<String, usize>,
    due_of: Vec<Option<i64>>,
    due: BinaryHeap<Reverse<(i64, usize)>>,
    rng: Rng,
    answers: u64,
}

impl Learner {
    fn answer(&mut self, index: usize, p_right: f64) {
        let right = self.rng.chance(p_right);
        let response = answer_for(&self.items[index].2, right);
        let ms = self.rng.response_ms();
        let feedback: Feedback = self
            .tidbit
            .answer(COURSE, &self.items[index].1, response, ms)
            .expect("the answer is recorded");
        self.answers += 1;
        if let Some(due) = feedback.next_due_ms {
            self.due_of[index] = Some(due);
            self.due.push(Reverse((due, index)));
        }
        for remediation in feedback.remediations {
            self.clock.advance(Duration::seconds(30));
            if let Some(lesson) = &remediation.lesson_step {
                self.tidbit
                    .view_step(COURSE, lesson)
                    .expect("the lesson is recorded");
            }
            self.clock.advance(Duration::seconds(30));
            if let Some(&item) = self.index_of.get(&remediation.item_step) {
                self.answer(item, P_RIGHT_REMEDIATION);
            }
        }
        self.clock.advance(Duration::seconds(15));
    }

    fn do_module(&mut self, module: &str, items: std::ops::Range<usize>) {
        let steps = self
            .tidbit
            .start_module(COURSE, module)
            .expect("the module starts");
        for step in steps {
            if let tidbit_core::tidbit::StepView::Lesson { id, .. } = step {
                self.clock.advance(Duration::seconds(30));
                self.tidbit
                    .view_step(COURSE, &id)
                    .expect("the lesson is recorded");
            }
        }
        for index in items {
            self.answer(index, P_RIGHT_NEW);
        }
    }

    /// Answers every card due before `until`, moving the clock to each due time.
    fn review_until(&mut self, until: i64, limit: u64) {
        while let Some(&Reverse((due, index))) = self.due.peek() {
            if due > until || self.answers >= limit {
                break;
            }
            self.due.pop();
            if self.due_of[index] != Some(due) {
                continue; // answered again (a remediation) since this was queued
            }
            let now = self.clock.now().timestamp_millis();
            if due > now {
                self.clock.advance(Duration::milliseconds(due - now));
            }
            self.answer(index, P_RIGHT_REVIEW);
        }
    }
}

/// Generates the history for `spec` into `dir/data`.
pub fn generate(spec: &HistorySpec, dir: &Path) -> Summary {
    let compiled = synthetic_course(COURSE, "1.0.0", spec.items, 16);
    let key = SigningKey::generate().expect("a signing key");
    let pack = dir.join("course.tidbit");
    let mut file = std::fs::File::create(&pack).expect("create the pack file");
    write_course_pack(&compiled, &key, start(), &mut file, &mut |_, _| {}).expect("pack builds");
    drop(file);
    let clock = Arc::new(ManualClock::new(start()));
    let mut cfg = config(&dir.join("data"));
    cfg.trusted_keys = TrustedKeys::from_keys([key.public_key()]);
    let mut tidbit = Tidbit::open(cfg, clock.clone()).expect("the store opens");
    tidbit
        .install_pack(&pack, &mut |_, _| {})
        .expect("the pack installs");
    std::fs::remove_file(&pack).expect("remove the pack file");
    tidbit.enroll(COURSE, PATH).expect("enrolled");
    let items = course_items(spec);
    let index_of = items
        .iter()
        .enumerate()
        .map(|(i, (_, step, _))| (step.clone(), i))
        .collect();
    // Modules in course order, each with the range of its items.
    let mut modules: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    for (i, (module, _, _)) in items.iter().enumerate() {
        match modules.last_mut() {
            Some((m, range)) if m == module => range.end = i + 1,
            _ => modules.push((module.clone(), i..i + 1)),
        }
    }
    let mut learner = Learner {
        tidbit,
        clock,
        due_of: vec![None; items.len()],
        items,
        index_of,
        due: BinaryHeap::new(),
        rng: Rng::new(0x7151_D817),
        answers: 0,
    };
    // New modules on practice days only (five a week).
    let per_day = modules.len() as f64 / (f64::from(spec.intro_days) * 5.0 / 7.0);
    let mut quota = 0.0;
    let mut next_module = 0;
    let mut day = 0u32;
    let started = Instant::now();
    while learner.answers < spec.reviews {
        let session = start() + Duration::days(i64::from(day));
        day += 1;
        if session.weekday().number_from_monday() > 5 {
            continue; // weekends off: due cards wait until Monday
        }
        let now = learner.clock.now();
        if session > now {
            learner.clock.set(session);
        }
        // Reviews first, then new modules, then the learning steps they started.
        learner.review_until(session.timestamp_millis(), spec.reviews);
        quota += per_day;
        while quota >= 1.0 && next_module < modules.len() && learner.answers < spec.reviews {
            quota -= 1.0;
            let (module, range) = modules[next_module].clone();
            learner.do_module(&module, range);
            next_module += 1;
        }
        let end = (session + Duration::hours(3)).timestamp_millis();
        learner.review_until(end, spec.reviews);
        if day.is_multiple_of(50) {
            eprintln!(
                "  day {day}: {} answers, {next_module}/{} modules, {:.0} s",
                learner.answers,
                modules.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let events = learner.tidbit.events().expect("events").len();
    let digest = learner.tidbit.projection_digest().expect("digest");
    Summary {
        answers: learner.answers,
        events,
        days: day,
        next_morning: start() + Duration::days(i64::from(day)),
        digest,
    }
}

/// Copies a directory tree (the store: SQLite file, its WAL if any, asset files).
///
/// The database and its journal files are copied. The installed assets (named by their content,
/// never written in place, read only to show media) are shared: the `assets` directory is a
/// symbolic link to the original's, and any other file is hard-linked where the file system
/// allows. Copying and then deleting the course's 2,000 asset files in 258 directories on every
/// run left the file system with thousands of freshly freed inodes, and creating any file (the
/// WAL on each open) then got slower run after run, on both sides of
/// `scripts/bench_vs_anki.sh`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy's directory");
    for entry in std::fs::read_dir(from).expect("read the store directory") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            #[cfg(unix)]
            if entry.file_name() == "assets"
                && std::os::unix::fs::symlink(entry.path(), &target).is_ok()
            {
                continue;
            }
            copy_dir(&entry.path(), &target);
            continue;
        }
        let database = entry
            .file_name()
            .to_string_lossy()
            .starts_with(tidbit_core::store::DATABASE_FILE);
        if database || std::fs::hard_link(entry.path(), &target).is_err() {
            std::fs::copy(entry.path(), &target).expect("copy a store file");
        }
    }
}
