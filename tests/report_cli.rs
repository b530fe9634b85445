//! `tidbit serve report` on a real server's data directory: after a learner learned on their
//! device and synced through a running `tidbit serve`, the report prints the numbers the
//! metrics API gives (as JSON and CSV too), and says when a pack cannot be read.

mod common;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use common::*;
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{PublicKey, TrustedKeys};
use tidbit_core::simulate::PracticeDevice;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

fn report(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["serve", "report", "--data", "server"];
    args.extend_from_slice(extra);
    run(dir, &args)
}

#[test]
fn the_report_prints_the_metrics_of_the_learners_the_server_holds() {
    let work = workdir_with_key();
    let dir = work.path();
    let pack = build_sample(dir, "field-safety");
    std::fs::create_dir_all(dir.join("server/packs")).unwrap();
    std::fs::copy(&pack, dir.join("server/packs/field-safety.tidbit")).unwrap();
    let token = terminal_token(dir, "ana");
    let server = ServedProcess::start(dir);

    // A learner practises on four days and syncs.
    let author =
        PublicKey::from_file_text(&std::fs::read_to_string(dir.join("author.pub")).unwrap())
            .unwrap();
    let start: DateTime<Utc> = Utc::now() - Duration::days(6);
    let clock = Arc::new(ManualClock::new(start));
    let mut tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: dir.join("device"),
            learner_id: "ana".into(),
            device_id: "terminal".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: TrustedKeys::from_keys([author]),
            at_rest_key: None,
        },
        clock.clone(),
    )
    .unwrap();
    tidbit.install_pack(&pack, &mut |_, _| {}).unwrap();
    tidbit.enroll("field-safety", "field-volunteer").unwrap();
    let mut practice = PracticeDevice::new(&tidbit, 5, 0.8).unwrap();
    for day in 0..4 {
        clock.set(start + Duration::days(day));
        practice.practise(&mut tidbit, &clock, 10).unwrap();
    }
    let device = Mutex::new(tidbit);
    let options = tidbit_core::tidbit::sync_client::SyncOptions::new(&server.url, &token);
    tidbit_core::runtime::runtime()
        .unwrap()
        .block_on(tidbit_core::tidbit::sync_client::sync(&device, &options))
        .unwrap();
    drop(server);

    let json = report(dir, &["--trust", "author.pub", "--json"]);
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let view: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(view["summary"]["learners"], 1);
    assert_eq!(view["summary"]["monthly_active"], 1);
    assert_eq!(view["courses"], serde_json::json!(["field-safety"]));
    // The device's own numbers, aggregated the same way.
    let tidbit = device.lock().unwrap();
    let mine = tidbit.engagement().unwrap();
    let active: Vec<u64> = view["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["active"].as_u64().unwrap())
        .collect();
    assert_eq!(active.iter().sum::<u64>(), mine.active_days.len() as u64);
    let rate = mine.modules_completed.len() as f64 / mine.modules_started.len() as f64;
    assert!((view["summary"]["module_completion_rate"].as_f64().unwrap() - rate).abs() < 1e-9);
    let stages = tidbit.stages("field-safety").unwrap();
    let reached = view["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["unlocked"] == 1)
        .count();
    assert_eq!(
        reached,
        stages.iter().filter(|s| s.unlocked_ms.is_some()).count()
    );

    let text = report(dir, &["--trust", "author.pub"]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("Tidbit outcomes as of"), "{text}");
    assert!(
        text.contains("field-safety · field-volunteer · foundation"),
        "{text}"
    );
    assert!(!text.contains("pack not read"), "{text}");

    let csv = report(
        dir,
        &["--trust", "author.pub", "--csv", "--course", "field-safety"],
    );
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(
        csv.starts_with("section,key,value\n") && csv.contains("\nsummary,learners,1\n"),
        "{csv}"
    );

    // Without the publisher's key the pack is not read, and the report says so.
    let untrusted = report(dir, &[]);
    assert!(untrusted.status.success());
    assert!(String::from_utf8_lossy(&untrusted.stdout).contains("pack not read"));
}
