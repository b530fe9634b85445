//! `tidbit nudges` on a store that has learnt a sample course: quiet hours, the daily cap and
//! the pending limit hold on every plan, and `--json` carries what the app needs.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Timelike};
use common::*;

/// A learner's store after 60 simulated days on the field-safety course (from 2026-01-05).
fn learnt_store(dir: &std::path::Path) -> std::path::PathBuf {
    simulated_store(dir, 60)
}

fn plan(dir: &std::path::Path, store: &std::path::Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec![
        "nudges",
        "--data",
        store.to_str().unwrap(),
        "--days",
        "7",
        "--json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&run_ok(dir, &args)).unwrap()
}

#[test]
fn plans_on_a_learnt_store_respect_quiet_hours_the_cap_and_the_pending_limit() {
    let work = workdir_with_key();
    let dir = work.path();
    let store = learnt_store(dir);
    // Each week spans a daylight-saving change (New York 8 March, Berlin 29 March, Sydney
    // 5 April), except Kolkata's, which has a cap high enough to test the pending limit.
    let cases: [(&str, &str, &str, u32); 4] = [
        ("2026-03-06T18:00:00Z", "America/New_York", "22:30-07:15", 1),
        ("2026-03-25T18:00:00Z", "Europe/Berlin", "21:00-08:00", 2),
        ("2026-04-01T09:00:00Z", "Australia/Sydney", "20:00-09:00", 3),
        ("2026-03-06T06:00:00Z", "Asia/Kolkata", "21:00-08:00", 40),
    ];
    for (now, tz, quiet, cap) in cases {
        let cap_text = cap.to_string();
        let nudges = plan(
            dir,
            &store,
            &[
                "--now",
                now,
                "--tz",
                tz,
                "--quiet",
                quiet,
                "--cap",
                &cap_text,
                "--spacing",
                "0",
            ],
        );
        assert!(
            !nudges.is_empty(),
            "{now} {tz}: a learnt store has something due"
        );
        assert!(nudges.len() <= 60);
        let (from, to) = quiet.split_once('-').unwrap();
        let from = NaiveTime::parse_from_str(from, "%H:%M").unwrap();
        let to = NaiveTime::parse_from_str(to, "%H:%M").unwrap();
        let mut per_day: BTreeMap<chrono::NaiveDate, u32> = BTreeMap::new();
        for nudge in &nudges {
            for field in ["id", "kind", "fire_at_utc", "fire_at_local"] {
                assert!(nudge[field].is_string(), "{field} in {nudge}");
            }
            let utc = DateTime::parse_from_rfc3339(nudge["fire_at_utc"].as_str().unwrap()).unwrap();
            let local =
                DateTime::parse_from_rfc3339(nudge["fire_at_local"].as_str().unwrap()).unwrap();
            assert_eq!(utc, local, "the same instant");
            let wall = local.naive_local();
            let time = wall.time().with_second(0).unwrap();
            assert!(
                time >= to && time < from,
                "{tz}: {time} is in quiet hours {quiet}"
            );
            *per_day.entry(wall.date()).or_default() += 1;
        }
        assert!(
            per_day.values().all(|&n| n <= cap),
            "{tz} cap {cap}: {per_day:?}"
        );
    }
}

#[test]
fn the_same_instant_gives_the_same_plan_and_the_table_lists_it() {
    let work = workdir_with_key();
    let dir = work.path();
    let store = learnt_store(dir);
    let args = ["--now", "2026-03-25T18:00:00Z", "--tz", "Europe/Berlin"];
    assert_eq!(plan(dir, &store, &args), plan(dir, &store, &args));
    let table = run_ok(
        dir,
        &[
            "nudges",
            "--data",
            store.to_str().unwrap(),
            "--now",
            "2026-03-25T18:00:00Z",
            "--tz",
            "Europe/Berlin",
        ],
    );
    assert!(
        table.contains("notification(s) from 2026-03-25T18:00:00Z (Europe/Berlin)"),
        "{table}"
    );
    let bad = run(
        dir,
        &[
            "nudges",
            "--data",
            store.to_str().unwrap(),
            "--now",
            "tomorrow",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn serve_trigger_appends_an_intervention_with_its_deadline_and_admin_tokens_are_issued() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(
        dir.path(),
        &[
            "serve",
            "trigger",
            "--data",
            "server",
            "--learner",
            "ana",
            "--module",
            "primary-survey",
            "--reason",
            "two below-target sprints",
            "--within",
            "2d",
            "--json",
        ],
    );
    let triggered: serde_json::Value = serde_json::from_str(&out).unwrap();
    let window = triggered["deadline_ms"].as_i64().unwrap() - triggered["at_ms"].as_i64().unwrap();
    assert_eq!(window, 48 * 3_600_000);
    assert_eq!(triggered["intervention"].as_str().unwrap().len(), 32);
    assert!(triggered["document"]
        .as_str()
        .unwrap()
        .starts_with("events-"));
    let refused = run(
        dir.path(),
        &[
            "serve",
            "trigger",
            "--data",
            "server",
            "--learner",
            "ana",
            "--module",
            "m",
            "--reason",
            "r",
            "--within",
            "3w",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("48h or 2d"));
    let admin = run_ok(
        dir.path(),
        &["serve", "token", "--data", "server", "--admin"],
    );
    assert!(admin.trim().starts_with("v2."));
}

#[test]
fn an_intervention_triggered_on_the_server_reaches_the_device_plan_through_sync() {
    let work = workdir_with_key();
    let dir = work.path();
    let token = terminal_token(dir, "learner");
    let server = ServedProcess::start(dir);
    let url = server.url.clone();
    install_sample(dir, "field-safety", "device");
    let triggered: serde_json::Value = serde_json::from_str(&run_ok(
        dir,
        &[
            "serve",
            "trigger",
            "--data",
            "server",
            "--learner",
            "learner",
            "--module",
            "primary-survey",
            "--reason",
            "repeated errors",
            "--within",
            "48h",
            "--json",
        ],
    ))
    .unwrap();
    let synced = run(
        dir,
        &[
            "sync", "--data", "device", "--server", &url, "--token", &token, "--json",
        ],
    );
    drop(server);
    assert!(
        synced.status.success(),
        "{}",
        String::from_utf8_lossy(&synced.stderr)
    );
    let now = (chrono::Utc::now() + chrono::Duration::minutes(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let nudges: Vec<serde_json::Value> = serde_json::from_str(&run_ok(
        dir,
        &[
            "nudges",
            "--data",
            "device",
            "--now",
            &now,
            "--tz",
            "Europe/Berlin",
            "--quiet",
            "none",
            "--json",
        ],
    ))
    .unwrap();
    let intervention = nudges
        .iter()
        .find(|n| n["kind"] == "intervention")
        .unwrap_or_else(|| panic!("no intervention in {nudges:?}"));
    assert_eq!(intervention["subject"], triggered["intervention"]);
    let fire = DateTime::parse_from_rfc3339(intervention["fire_at_utc"].as_str().unwrap()).unwrap();
    assert!(fire.timestamp_millis() <= triggered["deadline_ms"].as_i64().unwrap());
    assert!(intervention["deep_link"]
        .as_str()
        .unwrap()
        .starts_with("tidbit://module/field-safety/primary-survey?intervention="));
}
