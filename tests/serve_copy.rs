//! `tidbit serve copy`: a SQLite server with learners, one of them erased, copied into
//! PostgreSQL and verified (row counts and every learner's digest), then served from
//! PostgreSQL to a new device that gets everything back. Needs a PostgreSQL cluster named by
//! `TIDBIT_TEST_DATABASE` (the test script starts one with `scripts/postgres.sh`).

mod common;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use common::*;
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{PublicKey, TrustedKeys};
use tidbit_core::simulate::PracticeDevice;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

fn device(dir: &std::path::Path, learner: &str, name: &str) -> (Mutex<Tidbit>, Arc<ManualClock>) {
    let author =
        PublicKey::from_file_text(&std::fs::read_to_string(dir.join("author.pub")).unwrap())
            .unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now() - Duration::days(10)));
    let mut tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: dir.join(format!("{learner}-{name}")),
            learner_id: learner.into(),
            device_id: name.into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: TrustedKeys::from_keys([author]),
            at_rest_key: None,
        },
        clock.clone(),
    )
    .unwrap();
    tidbit
        .install_pack(
            &dir.join("server/packs/field-safety.tidbit"),
            &mut |_, _| {},
        )
        .unwrap();
    (Mutex::new(tidbit), clock)
}

fn practise(device: &Mutex<Tidbit>, clock: &ManualClock, seed: u64) {
    let mut tidbit = device.lock().unwrap();
    tidbit.enroll("field-safety", "field-volunteer").unwrap();
    let start: DateTime<Utc> = Utc::now() - Duration::days(8);
    let mut practice = PracticeDevice::new(&tidbit, seed, 0.75).unwrap();
    for day in 0..4 {
        clock.set(start + Duration::days(day));
        practice.practise(&mut tidbit, clock, 6).unwrap();
    }
}

fn sync(device: &Mutex<Tidbit>, url: &str, token: &str) {
    let options = tidbit_core::tidbit::sync_client::SyncOptions::new(url, token);
    tidbit_core::runtime::runtime()
        .unwrap()
        .block_on(tidbit_core::tidbit::sync_client::sync(device, &options))
        .unwrap();
}

fn token(dir: &std::path::Path, learner: &str, device: &str, database: &[&str]) -> String {
    let mut args = vec![
        "serve",
        "token",
        "--data",
        "server",
        "--learner",
        learner,
        "--device",
        device,
    ];
    args.extend_from_slice(database);
    run_ok(dir, &args).trim().to_string()
}

fn event_ids(device: &Mutex<Tidbit>) -> Vec<String> {
    let mut ids: Vec<String> = device
        .lock()
        .unwrap()
        .events()
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    ids.sort();
    ids
}

/// A new, empty database in the test cluster.
fn new_database(name: &str) -> String {
    let admin = std::env::var("TIDBIT_TEST_DATABASE")
        .expect("TIDBIT_TEST_DATABASE names a PostgreSQL cluster (scripts/postgres.sh)");
    let created = std::process::Command::new("psql")
        .args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

#[test]
#[ignore = "needs PostgreSQL: scripts/postgres.sh run cargo test -p tidbit-cli --test serve_copy -- --include-ignored"]
fn a_sqlite_server_copied_into_postgres_has_equal_digests_and_serves_every_event() {
    let work = workdir_with_key();
    let dir = work.path();
    let pack = build_sample(dir, "field-safety");
    std::fs::create_dir_all(dir.join("server/packs")).unwrap();
    std::fs::copy(&pack, dir.join("server/packs/field-safety.tidbit")).unwrap();
    let server = ServedProcess::start(dir);
    let mut phones = Vec::new();
    for (seed, learner) in ["ana", "bo", "cy"].into_iter().enumerate() {
        let (phone, clock) = device(dir, learner, "phone");
        practise(&phone, &clock, seed as u64 + 3);
        sync(&phone, &server.url, &token(dir, learner, "phone", &[]));
        phones.push(phone);
    }
    drop(server);
    run_ok(
        dir,
        &["serve", "erase", "--data", "server", "--learner", "cy"],
    );

    let url = new_database(&format!("copy_{}", std::process::id()));
    let copied = run(
        dir,
        &[
            "serve",
            "copy",
            "--from",
            "sqlite:server",
            "--to",
            &url,
            "--json",
        ],
    );
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&copied.stdout).unwrap();
    assert_eq!(report["learners"], 2, "{report}");
    let rows = |table: &str| {
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row[0] == table)
            .map(|row| row[1].as_u64().unwrap())
            .unwrap()
    };
    let ana_events = event_ids(&phones[0]).len() as u64;
    let bo_events = event_ids(&phones[1]).len() as u64;
    assert_eq!(rows("event_ids"), ana_events + bo_events, "{report}");
    assert_eq!(rows("learner_keys"), 2, "{report}");
    assert_eq!(rows("erased_learners"), 1, "{report}");
    assert_eq!(rows("erasures"), 1, "{report}");
    assert!(
        rows("documents") >= 2 && rows("sync_states") >= 2,
        "{report}"
    );

    // A second copy into the same database is refused, and changes nothing.
    let again = run(
        dir,
        &["serve", "copy", "--from", "sqlite:server", "--to", &url],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds data"));

    // Served from PostgreSQL: a new device of Ana's gets every event back; Cy stays erased.
    let database = ["--database", url.as_str()];
    let server = ServedProcess::start_with(dir, &database);
    let (tablet, _) = device(dir, "ana", "tablet");
    sync(
        &tablet,
        &server.url,
        &token(dir, "ana", "tablet", &database),
    );
    assert_eq!(event_ids(&tablet), event_ids(&phones[0]));
    assert_eq!(
        tablet.lock().unwrap().projection_digest().unwrap(),
        phones[0].lock().unwrap().projection_digest().unwrap()
    );
    let refused = run(
        dir,
        &[
            "serve",
            "token",
            "--data",
            "server",
            "--learner",
            "cy",
            "--device",
            "phone",
            "--database",
            &url,
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("erased"));
}
