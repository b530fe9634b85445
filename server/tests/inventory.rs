//! The organisation's view of the skills inventory through the real server: six learners learn
//! on their own devices (manual clocks) and sync; `GET /v1/admin/skills/{course}/{skill}/holders`
//! answers exactly the learners a check computed by hand from each device's own inventory
//! expects: mastery at the asked level, demonstrated within the asked days, and the `profile`
//! consent given (never asked, withdrawn and given again are all told apart). Moving the
//! server's clock on moves who is recent. Bad queries get a 4xx and change nothing.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{open_hub, sample_pack, server_clock, start, Device, TestServer, COURSE};
use tidbit_core::events::{Clock, ManualClock};
use tidbit_core::privacy::consent::ConsentScope;
use tidbit_core::simulate::PracticeDevice;

const SKILL: &str = "scene-safety";
const DAY_MS: i64 = 86_400_000;

/// Who learns how: right share, the days (from the sample start) practised, and the `profile`
/// consent changes made after practising, in order.
struct Plan {
    name: &'static str,
    right_share: f64,
    days: std::ops::Range<i64>,
    consent: &'static [bool],
}

const PLANS: [Plan; 6] = [
    // Strong and recent, shares: a holder.
    Plan {
        name: "ana",
        right_share: 1.0,
        days: 330..362,
        consent: &[true],
    },
    // Strong long ago, shares: not demonstrated in the last 90 days.
    Plan {
        name: "ben",
        right_share: 1.0,
        days: 0..40,
        consent: &[true],
    },
    // Recent but weak, shares: below the mastery asked.
    Plan {
        name: "cai",
        right_share: 0.35,
        days: 330..362,
        consent: &[true],
    },
    // Strong and recent, never asked: not shown.
    Plan {
        name: "dee",
        right_share: 1.0,
        days: 330..362,
        consent: &[],
    },
    // Strong and recent, gave then withdrew: not shown.
    Plan {
        name: "eli",
        right_share: 1.0,
        days: 330..362,
        consent: &[true, false],
    },
    // Strong and recent, withdrew then gave again: the later change wins, a holder.
    Plan {
        name: "fay",
        right_share: 1.0,
        days: 320..360,
        consent: &[false, true],
    },
];

fn learn(device: &Device, plan: &Plan, seed: u64) {
    let mut tidbit = device.tidbit.lock().unwrap();
    tidbit.enroll(COURSE, "field-volunteer").unwrap();
    let mut practice = PracticeDevice::new(&tidbit, seed, plan.right_share).unwrap();
    for day in plan.days.clone() {
        device
            .clock
            .set(start() + chrono::Duration::days(day) + chrono::Duration::hours(2));
        practice.practise(&mut tidbit, &device.clock, 15).unwrap();
    }
    for granted in plan.consent {
        device.clock.advance(chrono::Duration::minutes(1));
        tidbit.set_consent(ConsentScope::Profile, *granted).unwrap();
    }
}

/// What the device itself says of the skill at `now`: (mastery, last demonstrated).
fn own_view(device: &Device, now: chrono::DateTime<chrono::Utc>) -> (f64, Option<i64>) {
    device.clock.set(now);
    let inventory = device.tidbit.lock().unwrap().skills_inventory().unwrap();
    let skill = inventory
        .skills
        .iter()
        .find(|s| s.course == COURSE && s.skill == SKILL)
        .unwrap();
    (skill.mastery, skill.last_demonstrated_ms)
}

fn get(server: &TestServer, path: &str, token: Option<&str>) -> (u16, String) {
    let mut request = reqwest::blocking::Client::new().get(format!("{}{path}", server.url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn holders(server: &TestServer, query: &str) -> Vec<(String, f64, i64)> {
    let (status, body) = get(
        server,
        &format!("/v1/admin/skills/{COURSE}/{SKILL}/holders{query}"),
        Some(&server.admin_token()),
    );
    assert_eq!(status, 200, "{body}");
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["learners_pending"], 0);
    view["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["learner"].as_str().unwrap().to_string(),
                h["mastery"].as_f64().unwrap(),
                h["last_demonstrated_ms"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn wait_for_summaries(server: &TestServer, learners: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.hub.summaries.len() < learners
        || !server.hub.storage.summaries_due(10).unwrap().is_empty()
    {
        assert!(Instant::now() < deadline, "summaries were not made");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The hand-computed answer: who shares, and holds the skill at `min` or more, demonstrated
/// no earlier than `days` before `now_ms`, from each device's own numbers; best first.
fn expected(
    views: &BTreeMap<&str, (bool, f64, Option<i64>)>,
    min: f64,
    days: i64,
    now_ms: i64,
) -> Vec<String> {
    let mut out: Vec<(&str, f64, i64)> = views
        .iter()
        .filter_map(|(name, (shares, mastery, last))| {
            let last = (*last)?;
            (*shares && *mastery >= min && last >= now_ms - days * DAY_MS && last <= now_ms)
                .then_some((*name, *mastery, last))
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(b.0)));
    out.into_iter().map(|(n, _, _)| n.to_string()).collect()
}

#[test]
fn the_holders_query_returns_exactly_the_hand_computed_learners() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    std::fs::create_dir_all(data.join("packs")).unwrap();
    let (pack, trusted) = sample_pack();
    std::fs::copy(pack, data.join("packs").join(format!("{COURSE}.tidbit"))).unwrap();
    let clock: Arc<ManualClock> = server_clock();
    let hub = open_hub(&data)
        .with_clock(clock.clone())
        .with_trusted_packs(trusted.clone());
    let server = TestServer::start_with(&data, Arc::new(hub));

    let mut devices = Vec::new();
    for (seed, plan) in PLANS.iter().enumerate() {
        let device = Device::new(&root.path().join(plan.name), plan.name, "phone");
        learn(&device, plan, seed as u64 + 11);
        device
            .sync(&server.url(), &server.token(plan.name, "phone"))
            .unwrap();
        devices.push((plan, device));
    }
    wait_for_summaries(&server, PLANS.len());

    let now = clock.now();
    let now_ms = now.timestamp_millis();
    let views: BTreeMap<&str, (bool, f64, Option<i64>)> = devices
        .iter()
        .map(|(plan, device)| {
            let (mastery, last) = own_view(device, now);
            let shares = plan.consent.last() == Some(&true);
            (plan.name, (shares, mastery, last))
        })
        .collect();
    println!("each learner's own view of {SKILL} at the server's time: {views:?}");

    // The default query (0.8, 90 days) and the hand-computed set: exactly ana and fay.
    let answer = holders(&server, "?min_mastery=0.8&within_days=90");
    let names: Vec<String> = answer.iter().map(|h| h.0.clone()).collect();
    assert_eq!(names, expected(&views, 0.8, 90, now_ms));
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["ana", "fay"], "the scenario is what the plans say");
    for (name, mastery, last) in &answer {
        let (_, own, own_last) = views[name.as_str()];
        assert!((mastery - own).abs() < 1e-9, "{name}: {mastery} vs {own}");
        assert_eq!(Some(*last), own_last);
    }
    assert_eq!(
        holders(&server, ""),
        answer,
        "0.8 and 90 days are the defaults"
    );

    // Each criterion lets in whom it should: ben with a longer window, cai at a lower mastery.
    for (min, days) in [(0.8, 3650), (0.0, 90), (0.0, 3650), (0.95, 90), (1.0, 90)] {
        let names: Vec<String> =
            holders(&server, &format!("?min_mastery={min}&within_days={days}"))
                .into_iter()
                .map(|h| h.0)
                .collect();
        assert_eq!(names, expected(&views, min, days, now_ms), "{min} {days}");
    }
    // Ben demonstrated it long ago: at any mastery, 90 days leave him out and ten years let him in.
    let recent: Vec<String> = holders(&server, "?min_mastery=0&within_days=90")
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert!(!recent.contains(&"ben".to_string()), "{recent:?}");
    assert!(recent.contains(&"cai".to_string()), "{recent:?}");
    let wide: Vec<String> = holders(&server, "?min_mastery=0&within_days=3650")
        .into_iter()
        .map(|h| h.0)
        .collect();
    let mut wide_sorted = wide.clone();
    wide_sorted.sort();
    assert_eq!(wide_sorted, ["ana", "ben", "cai", "fay"]);

    // Bad queries: a 4xx with a reason, and the summaries as they were.
    let admin = server.admin_token();
    let device = server.token("ana", "phone");
    let before = server.hub.summaries.len();
    let bad: [(&str, &str, &str, Option<&str>, u16); 8] = [
        (COURSE, SKILL, "", None, 401),
        (COURSE, SKILL, "", Some(&device), 403),
        (COURSE, "no-such-skill", "", Some(&admin), 404),
        ("no-such-course", SKILL, "", Some(&admin), 404),
        (COURSE, SKILL, "?min_mastery=1.5", Some(&admin), 400),
        (COURSE, SKILL, "?min_mastery=high", Some(&admin), 400),
        (COURSE, SKILL, "?within_days=0", Some(&admin), 400),
        (COURSE, SKILL, "?within_days=-3", Some(&admin), 400),
    ];
    for (course, skill, query, token, status) in bad {
        let path = format!("/v1/admin/skills/{course}/{skill}/holders{query}");
        let (got, body) = get(&server, &path, token);
        assert_eq!(got, status, "{path}: {body}");
        assert!(!body.trim().is_empty(), "{path}: a reason");
    }
    assert_eq!(server.hub.summaries.len(), before);

    // A hundred days on, nobody demonstrated the skill within 90 days.
    clock.set(now + chrono::Duration::days(100));
    server.hub.storage.mark_all_summaries_due().unwrap();
    wait_for_summaries(&server, PLANS.len());
    assert_eq!(holders(&server, "?min_mastery=0&within_days=90"), []);
    let later = holders(&server, "?min_mastery=0&within_days=3650");
    assert_eq!(later.len(), 4);
    for (name, mastery, _) in &later {
        assert!(
            *mastery < views[name.as_str()].1,
            "{name}: mastery fades with time"
        );
    }
}
