//! A real `tidbit install` process killed with SIGKILL at random moments always leaves a store
//! that opens with either the old or the new course version, complete, never a mix.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use tidbit_core::content::synthetic::synthetic_course;
use tidbit_core::content::{write_course_pack, CompiledCourse, Course};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::store::Store;

fn write_pack(dir: &Path, name: &str, compiled: &CompiledCourse, key: &SigningKey) -> String {
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    let created = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
    write_course_pack(compiled, key, created, &mut file, &mut |_, _| {}).unwrap();
    path.to_str().unwrap().to_string()
}

fn installed(data: &Path) -> Course {
    let store = Store::open(data).expect("the store opens after a kill");
    store
        .load_course("killable")
        .expect("a course is installed")
}

#[test]
fn killing_an_install_at_random_moments_leaves_old_or_new_never_a_half() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    std::fs::write(
        dir.path().join("author.pub"),
        key.public_key().to_file_text(None),
    )
    .unwrap();
    let old = synthetic_course("killable", "1.0.0", 300, 1024);
    // The new version has more items and 6 MiB of new assets, so the kill lands in every phase.
    let new = synthetic_course("killable", "2.0.0", 1000, 60 * 1024);
    let old_pack = write_pack(dir.path(), "old.tidbit", &old, &key);
    let new_pack = write_pack(dir.path(), "new.tidbit", &new, &key);

    let pristine = dir.path().join("pristine");
    Store::open(&pristine)
        .unwrap()
        .install_pack(
            Path::new(&old_pack),
            &TrustedKeys::from_keys([key.public_key()]),
            &mut |_, _| {},
        )
        .unwrap();

    // How long an uninterrupted install takes, so kills spread over its whole duration.
    let timing = dir.path().join("timing");
    copy_dir(&pristine, &timing);
    let started = Instant::now();
    run_ok(
        dir.path(),
        &[
            "install",
            &new_pack,
            "--data",
            timing.to_str().unwrap(),
            "--trust",
            "author.pub",
        ],
    );
    let full = started.elapsed().as_micros().max(1000) as u64;
    assert_eq!(installed(&timing), new.course);

    let trials = std::env::var("TIDBIT_KILL_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(40u64);
    let mut state = 0x6b69_6c6cu64;
    let (mut saw_old, mut saw_new) = (0, 0);
    for trial in 0..trials {
        let data = dir.path().join(format!("trial-{trial}"));
        copy_dir(&pristine, &data);
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = Duration::from_micros(state % (full + full / 5));
        let mut child = tidbit()
            .current_dir(dir.path())
            .args([
                "install",
                &new_pack,
                "--data",
                data.to_str().unwrap(),
                "--trust",
                "author.pub",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().ok(); // SIGKILL; the process may already have finished.
        child.wait().unwrap();
        let course = installed(&data);
        if course == old.course {
            saw_old += 1;
        } else if course == new.course {
            saw_new += 1;
        } else {
            panic!("trial {trial} (kill after {delay:?}): the store holds neither version intact");
        }
        // The next install after a kill completes and the store is whole.
        run_ok(
            dir.path(),
            &[
                "install",
                &new_pack,
                "--data",
                data.to_str().unwrap(),
                "--trust",
                "author.pub",
            ],
        );
        assert_eq!(installed(&data), new.course);
        std::fs::remove_dir_all(&data).unwrap();
    }
    eprintln!("{trials} kills: {saw_old} left the old version, {saw_new} the new one");
    assert!(
        saw_old > 0,
        "no kill landed before the commit; the test did not exercise an interrupted install"
    );
}
