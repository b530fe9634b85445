//! Fitting a learner's own FSRS parameters on the device: refused on a short log, identical on
//! every device holding the same log, adopted only when it predicts the log better.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tidbit_core::content::model::StepBody;
use tidbit_core::content::synthetic::synthetic_course;
use tidbit_core::content::{write_course_pack, Course};
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::learn::personalise::FitError;
use tidbit_core::learn::plan::Purpose;
use tidbit_core::privacy::consent::{ConsentError, ConsentScope};
use tidbit_core::simulate::answer_for;
use tidbit_core::tidbit::{Tidbit, TidbitConfig, TidbitError};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T07:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A learner who studies `days` days of a 120-item course, answering about 85% right, fully
/// determined by the step ids and days.
fn practised(dir: &Path, key: &SigningKey, days: i64) -> (Tidbit, Arc<ManualClock>) {
    let compiled = synthetic_course("fit", "1.0.0", 120, 16);
    let pack = dir.join("fit.tidbit");
    let mut file = std::fs::File::create(&pack).unwrap();
    write_course_pack(&compiled, key, start(), &mut file, &mut |_, _| {}).unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let mut tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: dir.join("data"),
            learner_id: "lee".into(),
            device_id: "phone".into(),
            time_zone: "UTC".into(),
            trusted_keys: TrustedKeys::from_keys([key.public_key()]),
            at_rest_key: None,
        },
        clock.clone(),
    )
    .unwrap();
    tidbit.install_pack(&pack, &mut |_, _| {}).unwrap();
    tidbit.enroll("fit", "everyone").unwrap();
    tidbit
        .set_consent(ConsentScope::Personalisation, true)
        .unwrap();
    let course: Course = compiled.course;
    for day in 0..days {
        clock.set(start() + Duration::days(day));
        let plan = tidbit.plan_session(6).unwrap();
        for (n, step) in plan.steps.iter().enumerate() {
            clock.advance(Duration::seconds(15));
            let module = course.module(&step.module).unwrap();
            let body = &module
                .steps
                .iter()
                .find(|s| s.id == step.step)
                .unwrap()
                .body;
            match body {
                StepBody::Lesson(_) => {
                    if step.purpose == Purpose::New && n == 0 {
                        tidbit.start_module("fit", &step.module).unwrap();
                    }
                    tidbit.view_step("fit", &step.step).unwrap();
                }
                StepBody::Item(item) => {
                    let right = !(step.step.len() + day as usize + n).is_multiple_of(7);
                    tidbit
                        .answer("fit", &step.step, answer_for(item, right), 6000)
                        .unwrap();
                }
            }
        }
    }
    (tidbit, clock)
}

/// Rows of fitted parameters in the learner's store under `dir`.
fn fitted_parameters(dir: &Path) -> i64 {
    let database = dir.join("data").join(tidbit_core::store::DATABASE_FILE);
    rusqlite::Connection::open(database)
        .unwrap()
        .query_row("SELECT count(*) FROM fsrs_parameters", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn without_the_personalisation_scope_nothing_is_fitted_and_withdrawing_drops_fitted_parameters() {
    let key = SigningKey::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut tidbit, _) = practised(dir.path(), &key, 45);
    tidbit
        .set_consent(ConsentScope::Personalisation, false)
        .unwrap();
    let events = tidbit.events().unwrap().len();
    let mut calls = 0;
    let err = tidbit.fit_parameters(&mut |_, _| calls += 1).unwrap_err();
    assert!(
        matches!(
            err,
            TidbitError::Consent(ConsentError::Required(ConsentScope::Personalisation))
        ),
        "{err}"
    );
    assert_eq!(calls, 0, "nothing was computed");
    assert_eq!(
        tidbit.events().unwrap().len(),
        events,
        "nothing was recorded"
    );

    // Given again, a fit adopts parameters; withdrawn, they go out of use, live and replayed.
    tidbit
        .set_consent(ConsentScope::Personalisation, true)
        .unwrap();
    let report = tidbit.fit_parameters(&mut |_, _| {}).unwrap();
    assert!(report.adopted, "{report:?}");
    let fitted = fitted_parameters(dir.path());
    assert_eq!(fitted, 1);
    tidbit
        .set_consent(ConsentScope::Personalisation, false)
        .unwrap();
    let fitted = fitted_parameters(dir.path());
    assert_eq!(fitted, 0);
    let digest = tidbit.projection_digest().unwrap();
    tidbit.rebuild_projections().unwrap();
    assert_eq!(tidbit.projection_digest().unwrap(), digest);
}

#[test]
fn a_short_log_is_not_enough_to_personalise() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let (mut tidbit, _) = practised(dir.path(), &key, 2);
    let err = tidbit.fit_parameters(&mut |_, _| {}).unwrap_err();
    assert!(
        matches!(err, TidbitError::Fit(FitError::NotEnoughData { .. })),
        "{err}"
    );
}

#[test]
fn two_devices_with_the_same_log_fit_the_same_parameters() {
    let key = SigningKey::generate().unwrap();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (mut first, _) = practised(a.path(), &key, 45);
    let (mut second, _) = practised(b.path(), &key, 45);
    assert_eq!(
        first.projection_digest().unwrap(),
        second.projection_digest().unwrap()
    );
    let mut calls = 0;
    let one = first.fit_parameters(&mut |_, _| calls += 1).unwrap();
    let two = second.fit_parameters(&mut |_, _| {}).unwrap();
    assert!(calls > 0, "progress is reported");
    assert!(one.training_items >= 64, "{one:?}");
    assert_eq!(one, two);
    assert_eq!(one.adopted, one.log_loss_after < one.log_loss_before);
    // Adopted parameters are an event: replaying the log gives the same state.
    let digest = first.projection_digest().unwrap();
    first.rebuild_projections().unwrap();
    assert_eq!(first.projection_digest().unwrap(), digest);
}
