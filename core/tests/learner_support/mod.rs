//! Shared set-up for the tests over real learners' stores: the field-safety sample signed with a
//! fresh key, a learner's store on a manual clock with it installed, and days of practice.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::simulate::PracticeDevice;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

pub const COURSE: &str = "field-safety";
pub const PATH: &str = "field-volunteer";

pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-01T07:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// The field-safety sample course as `<dir>/field-safety.tidbit`, signed by a new key; with
/// the keys that trust it.
pub fn field_safety_pack(dir: &Path) -> (PathBuf, SigningKey) {
    let author = SigningKey::generate().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/field-safety");
    let compiled = compile_course(&source).unwrap();
    let pack = dir.join("field-safety.tidbit");
    let mut file = std::fs::File::create(&pack).unwrap();
    write_course_pack(&compiled, &author, start(), &mut file, &mut |_, _| {}).unwrap();
    (pack, author)
}

/// Learner `name`'s store in `<dir>/<name>` (device `phone`, Europe/Berlin) on a clock at the
/// start, with `pack` installed and the learner enrolled on the field-volunteer path.
pub fn enrolled_learner(
    dir: &Path,
    name: &str,
    pack: &Path,
    trusted: &TrustedKeys,
) -> (Tidbit, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    let mut tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: dir.join(name),
            learner_id: name.into(),
            device_id: "phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: trusted.clone(),
            at_rest_key: None,
        },
        clock.clone(),
    )
    .unwrap();
    tidbit.install_pack(pack, &mut |_, _| {}).unwrap();
    tidbit.enroll(COURSE, PATH).unwrap();
    (tidbit, clock)
}

/// Practice at 09:00 UTC for `minutes` on each of `days` (from the start), answering right with
/// `right_share` (a coin seeded with `seed`).
pub fn practise_on(
    tidbit: &mut Tidbit,
    clock: &ManualClock,
    (seed, right_share): (u64, f64),
    days: impl IntoIterator<Item = i64>,
    minutes: u32,
) {
    let mut practice = PracticeDevice::new(tidbit, seed, right_share).unwrap();
    for day in days {
        clock.set(start() + Duration::days(day) + Duration::hours(2));
        practice.practise(tidbit, clock, minutes).unwrap();
    }
}
