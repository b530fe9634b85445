//! Installing packs into a real store: first install, no-op reinstall, upgrade that keeps step
//! ids, refused downgrade, and refused tampered or untrusted packs that change nothing.

use std::path::{Path, PathBuf};

use tidbit_core::content::synthetic::synthetic_course;
use tidbit_core::content::{write_course_pack, CompiledCourse};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::pack::{write_pack_unchecked, PackError};
use tidbit_core::store::{InstallOutcome, Store, StoreError};

struct Fixture {
    dir: tempfile::TempDir,
    key: SigningKey,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            key: SigningKey::generate().unwrap(),
        }
    }

    fn trusted(&self) -> TrustedKeys {
        TrustedKeys::from_keys([self.key.public_key()])
    }

    fn pack(&self, name: &str, compiled: &CompiledCourse) -> PathBuf {
        let path = self.dir.path().join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        let created = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        write_course_pack(compiled, &self.key, created, &mut file, &mut |_, _| {}).unwrap();
        path
    }

    fn store(&self) -> Store {
        Store::open(&self.dir.path().join("data")).unwrap()
    }
}

fn asset_files(data: &Path) -> usize {
    walk(&data.join("assets"))
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn an_installed_course_reads_back_exactly_as_built() {
    let fx = Fixture::new();
    let compiled = synthetic_course("syn", "1.0.0", 40, 256);
    let pack = fx.pack("syn.tidbit", &compiled);
    let mut store = fx.store();
    let report = store
        .install_pack(&pack, &fx.trusted(), &mut |_, _| {})
        .unwrap();
    assert_eq!(report.outcome, InstallOutcome::Installed);
    assert_eq!(report.steps_added, 44);
    assert_eq!(report.assets, 4);
    assert_eq!(store.load_course("syn").unwrap(), compiled.course);
    let catalog = store.catalog().unwrap();
    assert_eq!(catalog.len(), 1);
    assert_eq!(catalog[0].paths[0].stages.len(), 4);
    let first_stage = &catalog[0].paths[0].stages[0];
    assert_eq!(first_stage.check.as_ref().unwrap().id, "module-0");
    assert_eq!(first_stage.check.as_ref().unwrap().items, 10);
    let file = store
        .asset_file("syn", "assets/module-2.bin")
        .unwrap()
        .unwrap();
    assert_eq!(std::fs::read(file).unwrap(), compiled.assets[2].1);
}

#[test]
fn reinstalling_the_same_pack_changes_nothing() {
    let fx = Fixture::new();
    let pack = fx.pack("syn.tidbit", &synthetic_course("syn", "1.0.0", 20, 64));
    let mut store = fx.store();
    store
        .install_pack(&pack, &fx.trusted(), &mut |_, _| {})
        .unwrap();
    let before = store.catalog().unwrap();
    let again = store
        .install_pack(&pack, &fx.trusted(), &mut |_, _| {})
        .unwrap();
    assert_eq!(again.outcome, InstallOutcome::AlreadyInstalled);
    assert!(again.steps_retired.is_empty());
    assert_eq!(store.catalog().unwrap(), before);
}

#[test]
fn an_upgrade_keeps_persisting_step_ids_and_retires_the_rest() {
    let fx = Fixture::new();
    let v1 = synthetic_course("syn", "1.0.0", 40, 64);
    let mut v2 = synthetic_course("syn", "1.1.0", 40, 64);
    // v2 drops the last item of module 1 and adds nothing else.
    v2.course.modules[1].steps.pop();
    let mut store = fx.store();
    store
        .install_pack(&fx.pack("v1.tidbit", &v1), &fx.trusted(), &mut |_, _| {})
        .unwrap();
    let report = store
        .install_pack(&fx.pack("v2.tidbit", &v2), &fx.trusted(), &mut |_, _| {})
        .unwrap();
    assert_eq!(
        report.outcome,
        InstallOutcome::Upgraded {
            from: "1.0.0".into()
        }
    );
    assert_eq!(report.steps_kept, 43);
    assert_eq!(report.steps_added, 0);
    assert_eq!(report.steps_retired, vec!["q19".to_string()]);
    assert_eq!(store.retired_steps("syn").unwrap(), vec!["q19".to_string()]);
    assert_eq!(store.catalog().unwrap()[0].version, "1.1.0");
}

#[test]
fn identical_assets_are_stored_once_and_dropped_ones_are_collected() {
    let fx = Fixture::new();
    let v1 = synthetic_course("syn", "1.0.0", 40, 512);
    let mut v2 = synthetic_course("syn", "2.0.0", 40, 512);
    let mut store = fx.store();
    let data = store.data_dir().to_path_buf();
    store
        .install_pack(&fx.pack("v1.tidbit", &v1), &fx.trusted(), &mut |_, _| {})
        .unwrap();
    assert_eq!(asset_files(&data), 4);
    // v2 changes one asset: three are shared, one replaced.
    v2.assets[0].1[0] ^= 0xff;
    let report = store
        .install_pack(&fx.pack("v2.tidbit", &v2), &fx.trusted(), &mut |_, _| {})
        .unwrap();
    assert_eq!(asset_files(&data), 4);
    assert_eq!(report.assets_collected, 1);
}

#[test]
fn an_older_version_is_refused_and_the_store_is_unchanged() {
    let fx = Fixture::new();
    let mut store = fx.store();
    let v2 = fx.pack("v2.tidbit", &synthetic_course("syn", "2.0.0", 20, 64));
    let v1 = fx.pack("v1.tidbit", &synthetic_course("syn", "1.9.9", 20, 64));
    store
        .install_pack(&v2, &fx.trusted(), &mut |_, _| {})
        .unwrap();
    let before = store.catalog().unwrap();
    let err = store
        .install_pack(&v1, &fx.trusted(), &mut |_, _| {})
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Downgrade { installed, offered, .. } if installed == "2.0.0" && offered == "1.9.9"),
        "{err}"
    );
    assert_eq!(store.catalog().unwrap(), before);
}

#[test]
fn changed_content_under_the_same_version_is_refused() {
    let fx = Fixture::new();
    let mut store = fx.store();
    let a = synthetic_course("syn", "1.0.0", 20, 64);
    let mut b = a.clone();
    b.course.title = "Another title".into();
    store
        .install_pack(&fx.pack("a.tidbit", &a), &fx.trusted(), &mut |_, _| {})
        .unwrap();
    let err = store
        .install_pack(&fx.pack("b.tidbit", &b), &fx.trusted(), &mut |_, _| {})
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict { .. }), "{err}");
}

#[test]
fn a_pack_from_an_untrusted_key_installs_nothing() {
    let fx = Fixture::new();
    let pack = fx.pack("syn.tidbit", &synthetic_course("syn", "1.0.0", 20, 64));
    let stranger = TrustedKeys::from_keys([SigningKey::generate().unwrap().public_key()]);
    let mut store = fx.store();
    let err = store
        .install_pack(&pack, &stranger, &mut |_, _| {})
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Pack(PackError::UntrustedSigner { .. })),
        "{err}"
    );
    assert!(store.catalog().unwrap().is_empty());
    assert_eq!(asset_files(store.data_dir()), 0);
}

#[test]
fn a_tampered_asset_installs_nothing() {
    let fx = Fixture::new();
    let pack = fx.pack("syn.tidbit", &synthetic_course("syn", "1.0.0", 20, 4096));
    let mut bytes = std::fs::read(&pack).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x40;
    std::fs::write(&pack, bytes).unwrap();
    let mut store = fx.store();
    let err = store
        .install_pack(&pack, &fx.trusted(), &mut |_, _| {})
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Pack(PackError::HashMismatch { .. })),
        "{err}"
    );
    assert!(store.catalog().unwrap().is_empty());
}

#[test]
fn a_signed_pack_whose_course_contradicts_its_manifest_is_refused() {
    let fx = Fixture::new();
    // A correctly signed pack whose course.json holds an item with two correct options.
    let honest = synthetic_course("evil", "1.0.0", 20, 0);
    let honest_json = serde_json::to_string(&honest.course).unwrap();
    let evil_json = honest_json.replacen(r#""correct":false"#, r#""correct":true"#, 1);
    assert_ne!(honest_json, evil_json);
    let course_json = evil_json.as_bytes();
    let sha = hex(ring_sha(course_json));
    let manifest = format!(
        r#"{{"assets":[{{"encoding":"stored","packed_sha256":"{sha}","packed_size":{len},"path":"course.json","sha256":"{sha}","size":{len}}}],"course_id":"evil","created_at":"2026-01-01T00:00:00Z","locale":"en","schema_version":1,"signer_key_id":"{kid}","title":"Evil","version":"1.0.0"}}"#,
        len = course_json.len(),
        kid = fx.key.key_id()
    );
    let path = fx.dir.path().join("evil.tidbit");
    let mut file = std::fs::File::create(&path).unwrap();
    write_pack_unchecked(&mut file, manifest.as_bytes(), course_json, &fx.key).unwrap();
    let mut store = fx.store();
    let err = store
        .install_pack(&path, &fx.trusted(), &mut |_, _| {})
        .unwrap_err();
    assert!(matches!(err, StoreError::CourseJson(_)), "{err}");
    assert!(err.to_string().contains("exactly one"), "{err}");
    assert!(store.catalog().unwrap().is_empty());
}

fn ring_sha(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

fn hex(bytes: Vec<u8>) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
