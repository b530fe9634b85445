//! `tidbit inventory` on a store that has learnt a sample course: `--json` is the core's own
//! inventory of that store at the same instant, `--credentials` one Open Badge per held skill in
//! a CLR, the table names every skill, and bad input exits with a reason.

mod common;

use std::sync::Arc;

use chrono::DateTime;
use common::*;
use tidbit_core::events::ManualClock;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

const NOW: &str = "2026-03-06T12:00:00Z";

/// A learner's store after 45 simulated days on the field-safety course (from 2026-01-05).
fn learnt_store(dir: &std::path::Path) -> std::path::PathBuf {
    simulated_store(dir, 45)
}

#[test]
fn the_inventory_command_prints_the_cores_inventory_and_credentials() {
    let work = workdir_with_key();
    let dir = work.path();
    let store = learnt_store(dir);
    let data = store.to_str().unwrap();
    let printed = run_ok(dir, &["inventory", "--data", data, "--now", NOW, "--json"]);

    let (learner_id, device_id) = Tidbit::stored_identity(&store).unwrap().unwrap();
    let now = DateTime::parse_from_rfc3339(NOW).unwrap().to_utc();
    let tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: store.clone(),
            learner_id,
            device_id,
            time_zone: "UTC".into(),
            trusted_keys: Default::default(),
            at_rest_key: None,
        },
        Arc::new(ManualClock::new(now)),
    )
    .unwrap();
    let inventory = tidbit.skills_inventory().unwrap();
    // The same text, to the last digit of every number.
    assert_eq!(printed.trim_end(), tidbit.skills_inventory_json().unwrap());
    assert_eq!(inventory.skills.len(), 7);
    assert!(inventory.skills.iter().any(|s| s.evidence.answers > 0));

    let clr: serde_json::Value = serde_json::from_str(&run_ok(
        dir,
        &["inventory", "--data", data, "--now", NOW, "--credentials"],
    ))
    .unwrap();
    assert_eq!(
        clr["type"],
        serde_json::json!(["VerifiableCredential", "ClrCredential"])
    );
    let held: Vec<&str> = inventory
        .skills
        .iter()
        .filter(|s| s.held)
        .map(|s| s.name.as_str())
        .collect();
    let badges: Vec<&str> = clr["credentialSubject"]["verifiableCredential"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            b["credentialSubject"]["achievement"]["name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(badges, held);

    let table = run_ok(dir, &["inventory", "--data", data, "--now", NOW]);
    for skill in &inventory.skills {
        assert!(
            table.contains(&format!("{}/{}", skill.course, skill.skill)),
            "{table}"
        );
    }
    assert!(
        table.contains(&format!("{} of 7 skills held", held.len())),
        "{table}"
    );
}

#[test]
fn bad_input_exits_with_a_reason() {
    let work = workdir_with_key();
    let dir = work.path();
    let missing = run(dir, &["inventory", "--data", "nowhere"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no learner store here"));
    let store = learnt_store(dir);
    let data = store.to_str().unwrap();
    let bad_now = run(dir, &["inventory", "--data", data, "--now", "yesterday"]);
    assert_eq!(bad_now.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_now.stderr).contains("RFC 3339"));
    let both = run(
        dir,
        &["inventory", "--data", data, "--json", "--credentials"],
    );
    assert_eq!(both.status.code(), Some(2));
}
