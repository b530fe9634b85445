//! The L&D team's metrics through the real server: learners of two courses learn on their own
//! devices and sync; the server's metrics (JSON and CSV) equal what the same aggregation gives
//! over the devices' own summaries, a course filter changes them, experiments are defined once
//! and reported; and the dashboard at `/admin`, driven in a real headless Chromium, shows the
//! API's numbers, redraws them for a filter, and leaves a screenshot.

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{open_hub, sample_pack, server_clock, start, TestServer, COURSE};
use tidbit_core::analytics::metrics::{Cohort, Filter};
use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::{Clock, ManualClock};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::simulate::PracticeDevice;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

const SALES: &str = "customer-objections";

fn sales_pack(dir: &Path) -> (PathBuf, SigningKey) {
    let key = SigningKey::generate().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../content")
        .join(SALES);
    let compiled = compile_course(&source).unwrap();
    let path = dir.join(format!("{SALES}.tidbit"));
    let mut out = std::fs::File::create(&path).unwrap();
    write_course_pack(&compiled, &key, start(), &mut out, &mut |_, _| {}).unwrap();
    (path, key)
}

/// A learner's device with both courses, enrolled on `course`, practising on `days`.
fn learner(
    root: &Path,
    name: &str,
    packs: &[PathBuf],
    trusted: &TrustedKeys,
    course: &str,
    days: &[i64],
) -> Mutex<Tidbit> {
    let clock = Arc::new(ManualClock::new(start()));
    let mut tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: root.join(name),
            learner_id: name.into(),
            device_id: "phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: trusted.clone(),
            at_rest_key: None,
        },
        clock.clone(),
    )
    .unwrap();
    for pack in packs {
        tidbit.install_pack(pack, &mut |_, _| {}).unwrap();
    }
    let path = if course == COURSE {
        "field-volunteer"
    } else {
        "sales-executive"
    };
    tidbit.enroll(course, path).unwrap();
    let mut practice = PracticeDevice::new(&tidbit, name.len() as u64 * 7, 0.8).unwrap();
    for day in days {
        clock.set(start() + chrono::Duration::days(*day) + chrono::Duration::hours(2));
        practice.practise(&mut tidbit, &clock, 10).unwrap();
    }
    Mutex::new(tidbit)
}

fn sync(device: &Mutex<Tidbit>, server: &TestServer, learner: &str) {
    let token = server.token(learner, "phone");
    let options = tidbit_core::tidbit::sync_client::SyncOptions::new(&server.url(), &token);
    tidbit_core::runtime::runtime()
        .unwrap()
        .block_on(tidbit_core::tidbit::sync_client::sync(device, &options))
        .unwrap();
}

/// Numbers to nine decimals: JSON's text form may move a float's last bit.
fn rounded(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => Value::from((n.as_f64().unwrap() * 1e9).round() / 1e9),
        Value::Array(items) => Value::Array(items.iter().map(rounded).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), rounded(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn get(server: &TestServer, path: &str, token: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .unwrap()
}

#[test]
fn metrics_through_the_api_and_the_dashboard_in_a_real_browser() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    std::fs::create_dir_all(data.join("packs")).unwrap();
    let (safety, safety_trusted) = sample_pack();
    let (sales, sales_key) = sales_pack(root.path());
    let mut trusted = safety_trusted.clone();
    trusted.add(sales_key.public_key());
    std::fs::copy(safety, data.join("packs").join(format!("{COURSE}.tidbit"))).unwrap();
    std::fs::copy(&sales, data.join("packs").join(format!("{SALES}.tidbit"))).unwrap();
    let hub = open_hub(&data)
        .with_clock(server_clock())
        .with_trusted_packs(trusted.clone());
    let server = TestServer::start_with(&data, Arc::new(hub));

    let packs = [safety.clone(), sales];
    let plans: [(&str, &str, &[i64]); 8] = [
        ("ana", COURSE, &[0, 1, 2, 3]),
        ("ben", COURSE, &[0, 5]),
        ("cai", COURSE, &[]),
        ("dev", COURSE, &[1, 2]),
        ("eli", COURSE, &[0, 1, 2, 3, 4, 5]),
        ("fay", SALES, &[0, 1]),
        ("gus", SALES, &[3]),
        ("hal", SALES, &[0, 2, 4]),
    ];
    let mut devices = Vec::new();
    for (name, course, days) in plans {
        let device = learner(root.path(), name, &packs, &trusted, course, days);
        sync(&device, &server, name);
        devices.push((name, device));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.hub.summaries.len() < plans.len()
        || !server.hub.storage.summaries_due(10).unwrap().is_empty()
    {
        assert!(Instant::now() < deadline, "summaries were not made");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The server's numbers are the aggregation of the devices' own summaries, as of its time.
    let now = server_clock().now();
    let on_devices: Vec<_> = devices
        .iter()
        .map(|(_, d)| {
            let tidbit = d.lock().unwrap();
            let events = tidbit.events().unwrap();
            tidbit_core::analytics::metrics::summarise(
                tidbit.store(),
                tidbit.learner_id(),
                &events,
                now.timestamp_millis(),
            )
            .unwrap()
        })
        .collect();
    let admin = server
        .hub
        .tokens
        .issue("*", tidbit_server::auth::ADMIN_DEVICE, 4_102_444_800);
    for (query, filter) in [
        ("", Filter::default()),
        (
            "?course=customer-objections",
            Filter {
                course: Some(SALES.into()),
                ..Filter::default()
            },
        ),
    ] {
        let api: serde_json::Value = get(&server, &format!("/v1/admin/metrics{query}"), &admin)
            .json()
            .unwrap();
        let expected = Cohort::of(&on_devices, &filter, now);
        let same = |key: &str, value: serde_json::Value| {
            assert_eq!(rounded(&api[key]), rounded(&value), "{key} {query}");
        };
        same("summary", serde_json::to_value(&expected.summary).unwrap());
        same("stages", serde_json::to_value(&expected.stages).unwrap());
        same("skills", serde_json::to_value(&expected.skills).unwrap());
        same(
            "activity",
            serde_json::to_value(&expected.activity).unwrap(),
        );
        same("at_risk", serde_json::to_value(&expected.at_risk).unwrap());
        assert_eq!(api["learners_pending"], 0);
    }
    let all: serde_json::Value = get(&server, "/v1/admin/metrics", &admin).json().unwrap();
    assert_eq!(all["summary"]["learners"], 8);
    assert_eq!(all["courses"], serde_json::json!([SALES, COURSE]));
    let csv = get(
        &server,
        "/v1/admin/metrics?course=field-safety&format=csv",
        &admin,
    )
    .text()
    .unwrap();
    assert!(csv.starts_with("section,key,value\n"), "{csv}");
    assert!(csv.contains("\nsummary,learners,5\n"), "{csv}");
    assert_eq!(
        get(&server, "/v1/admin/metrics", &server.token("ana", "phone")).status(),
        reqwest::StatusCode::FORBIDDEN
    );

    // Experiments: defined once, refused when malformed, reported with a verdict.
    let client = reqwest::blocking::Client::new();
    let definition = serde_json::json!({
        "id": "reminder-wording",
        "arms": [{"name": "control", "weight": 1, "gets": "today's wording"},
                 {"name": "skill-named", "weight": 1, "gets": "names the skill due"}],
        "varies": {"kind": "nudge_template", "nudge_kind": "reinforcement_due"},
        "metric": "completion"
    });
    let post = |body: &serde_json::Value| {
        client
            .post(format!("{}/v1/admin/experiments", server.url()))
            .bearer_auth(&admin)
            .json(body)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(post(&definition), 201);
    assert_eq!(post(&definition), 409);
    let mut one_arm = definition.clone();
    one_arm["id"] = "one-arm".into();
    one_arm["arms"].as_array_mut().unwrap().pop();
    assert_eq!(post(&one_arm), 400);
    let experiments: serde_json::Value = get(&server, "/v1/admin/experiments", &admin)
        .json()
        .unwrap();
    assert_eq!(experiments[0]["definition"]["id"], "reminder-wording");
    let verdict = experiments[0]["result"]["comparisons"][0]["verdict"]
        .as_str()
        .unwrap();
    assert!(verdict.starts_with("Not enough data yet"), "{verdict}");

    // A cohort of two, so the dashboard's Cohorts table has a row to show.
    server
        .hub
        .form_cohort(&tidbit_server::cohorts::CohortRequest {
            id: "sales-1".into(),
            course: SALES.into(),
            path: "sales-executive".into(),
            roles: Vec::new(),
            members: vec!["fay".into(), "hal".into()],
        })
        .unwrap();

    // The dashboard in a real browser: the API's numbers, a filter that changes them, the
    // cohorts, a screenshot.
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tidbit-dashboard.png");
    let _ = std::fs::remove_file(&screenshot);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = std::process::Command::new("bash")
        .arg(repo.join("scripts/browser.sh"))
        .arg("run")
        .arg(repo.join("tests/browser/dashboard.cjs"))
        .env("DASHBOARD_URL", server.url())
        .env("ADMIN_TOKEN", &admin)
        .env("SCREENSHOT", &screenshot)
        .env("FILTER_COURSE", SALES)
        .env("FILTER_LEARNERS", "fay,hal")
        .env("EXPECT_COHORTS", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("\"ok\":true"), "{stdout}");
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    eprintln!("dashboard screenshot: {}", screenshot.display());
}
