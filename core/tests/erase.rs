//! Erasing a learner from a device, on real store files: the store closes, the platform is
//! asked to destroy the at-rest key, and every file of the store goes (database, log, course
//! assets), while another learner's store beside it is untouched. A key store that cannot
//! destroy the key leaves everything as it was.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::learn::assess::Response;
use tidbit_core::privacy::at_rest::AtRestKey;
use tidbit_core::tidbit::{EraseError, Tidbit, TidbitConfig};

const COURSE: &str = "field-safety";
const REFLECTION: &str = "Before my shift I drink water and I call Marguerite after a hard call";

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-21T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// The field-safety sample course (it has images and audio), signed once.
fn pack() -> &'static (PathBuf, TrustedKeys) {
    static PACK: OnceLock<(PathBuf, TrustedKeys)> = OnceLock::new();
    PACK.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/field-safety");
        let compiled = compile_course(&source).unwrap();
        let author = SigningKey::generate().unwrap();
        let path = dir.join("field-safety.tidbit");
        let mut file = std::fs::File::create(&path).unwrap();
        write_course_pack(&compiled, &author, start(), &mut file, &mut |_, _| {}).unwrap();
        (path, TrustedKeys::from_keys([author.public_key()]))
    })
}

fn open(dir: &Path, learner: &str, key: u8) -> Tidbit {
    let config = TidbitConfig {
        data_dir: dir.to_path_buf(),
        learner_id: learner.into(),
        device_id: "phone".into(),
        time_zone: "Europe/Berlin".into(),
        trusted_keys: pack().1.clone(),
        at_rest_key: Some(Arc::new(AtRestKey::from_bytes(&[key; 32]).unwrap())),
    };
    Tidbit::open(config, Arc::new(ManualClock::new(start()))).unwrap()
}

/// A learner's store with the course installed and a reflection written.
fn learner_store(dir: &Path, learner: &str, key: u8) -> Tidbit {
    let mut tidbit = open(dir, learner, key);
    tidbit.install_pack(&pack().0, &mut |_, _| {}).unwrap();
    tidbit.enroll(COURSE, "field-volunteer").unwrap();
    // Under the analytics scope the reflection's text is recorded with the answer.
    tidbit
        .set_consent(tidbit_core::privacy::consent::ConsentScope::Analytics, true)
        .unwrap();
    let response = Response::Reflection {
        text: REFLECTION.into(),
        criteria_met: vec![true, true, false],
    };
    tidbit
        .answer(COURSE, "hw-wellbeing-plan", response, 60_000)
        .unwrap();
    tidbit
}

fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .map(|p| if p.is_dir() { files_under(&p) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn erase_removes_every_file_of_the_store_and_leaves_another_learners_store_untouched() {
    let root = tempfile::tempdir().unwrap();
    let (ana_dir, bob_dir) = (root.path().join("ana"), root.path().join("bob"));
    let ana = learner_store(&ana_dir, "ana", 1);
    let bob = learner_store(&bob_dir, "bob", 2);
    let bob_digest = bob.projection_digest().unwrap();
    let bob_events = bob.events().unwrap().len();
    let bob_asset = bob
        .asset_file(COURSE, "assets/atmist.png")
        .unwrap()
        .unwrap();
    drop(bob);
    let ana_assets = files_under(&ana_dir.join("assets"));
    assert!(ana_assets >= 4, "{ana_assets} asset files");

    let destroyed = Cell::new(false);
    let removed = ana
        .erase(|| {
            destroyed.set(true);
            Ok(())
        })
        .unwrap();

    assert!(destroyed.get());
    assert!(removed.database_files >= 1, "{removed:?}");
    assert_eq!(removed.asset_files as usize, ana_assets);
    assert!(removed.data_dir_removed);
    assert!(!ana_dir.exists());
    let bob = open(&bob_dir, "bob", 2);
    assert_eq!(bob.projection_digest().unwrap(), bob_digest);
    assert_eq!(bob.events().unwrap().len(), bob_events);
    assert_eq!(bob.catalog().unwrap().len(), 1);
    assert!(bob_asset.is_file());
}

#[test]
fn a_key_store_that_cannot_destroy_the_key_leaves_the_store_as_it_was() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ana");
    let ana = learner_store(&dir, "ana", 1);
    let digest = ana.projection_digest().unwrap();
    let assets = files_under(&dir.join("assets"));

    let error = ana
        .erase(|| Err("the device is locked".into()))
        .unwrap_err();

    assert!(
        matches!(&error, EraseError::KeyNotDestroyed(reason) if reason == "the device is locked"),
        "{error}"
    );
    assert!(error.to_string().contains("nothing was removed"), "{error}");
    assert!(dir.join(tidbit_core::store::DATABASE_FILE).is_file());
    assert_eq!(files_under(&dir.join("assets")), assets);
    let ana = open(&dir, "ana", 1);
    assert_eq!(ana.projection_digest().unwrap(), digest);
    assert!(ana
        .events()
        .unwrap()
        .iter()
        .any(|e| serde_json::to_string(e).unwrap().contains(REFLECTION)));
}

#[test]
fn files_the_store_did_not_make_stay_with_their_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ana");
    let ana = learner_store(&dir, "ana", 1);
    std::fs::write(dir.join("app-settings.json"), b"{}").unwrap();

    let removed = ana.erase(|| Ok(())).unwrap();

    assert!(!removed.data_dir_removed);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("app-settings.json")]);
}
