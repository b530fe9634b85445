//! The skills inventory over real learners' stores, against what their events say counted by
//! hand: each skill's answers, right answers, items, first and last dates, passed stage checks
//! and when it was last demonstrated; mastery equal to the progress screen's; the Open Badges /
//! CLR credentials naming exactly the held skills.

mod learner_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration};
use learner_support::{enrolled_learner, field_safety_pack, practise_on, COURSE, PATH};
use tidbit_core::events::{Clock, EventKind, ManualClock, Outcome};
use tidbit_core::keys::TrustedKeys;
use tidbit_core::tidbit::Tidbit;

/// A learner enrolled at the start who practises 15 minutes on each of `days` days, answering
/// right with `right_share`.
fn learner(dir: &Path, name: &str, right_share: f64, days: i64) -> (Tidbit, Arc<ManualClock>) {
    let (pack, author) = field_safety_pack(dir);
    let trusted = TrustedKeys::from_keys([author.public_key()]);
    let (mut tidbit, clock) = enrolled_learner(dir, name, &pack, &trusted);
    practise_on(&mut tidbit, &clock, (7, right_share), 0..days, 15);
    (tidbit, clock)
}

/// Per skill, from the events: (answers, right, distinct items, first, last, last right).
type Counted = (u32, u32, usize, i64, i64, Option<i64>);

fn counted(tidbit: &Tidbit) -> BTreeMap<String, Counted> {
    let course = tidbit.course(COURSE).unwrap();
    let skills_of: BTreeMap<String, Vec<String>> = course
        .modules
        .iter()
        .flat_map(|m| &m.steps)
        .map(|s| (s.id.clone(), s.skills.clone()))
        .collect();
    let mut items: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut out: BTreeMap<String, Counted> = BTreeMap::new();
    let mut events = tidbit.events().unwrap();
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    for event in events {
        if let EventKind::ItemAnswered { step, outcome, .. } = &event.kind {
            for skill in &skills_of[step] {
                items.entry(skill.clone()).or_default().insert(step.clone());
                let c = out
                    .entry(skill.clone())
                    .or_insert((0, 0, 0, event.at_ms, 0, None));
                c.0 += 1;
                c.4 = event.at_ms;
                if *outcome == Outcome::Right {
                    c.1 += 1;
                    c.5 = Some(event.at_ms);
                }
            }
        }
    }
    for (skill, c) in out.iter_mut() {
        c.2 = items[skill].len();
    }
    out
}

#[test]
fn the_inventory_states_what_the_events_say_for_each_skill() {
    let dir = tempfile::tempdir().unwrap();
    let (tidbit, clock) = learner(dir.path(), "ana", 1.0, 12);
    let inventory = tidbit.skills_inventory().unwrap();
    let expected = counted(&tidbit);
    let mastery = tidbit.mastery(COURSE).unwrap();
    let stages = tidbit.stages(COURSE).unwrap();
    assert_eq!(inventory.learner, "ana");
    assert_eq!(inventory.at_ms, clock.now().timestamp_millis());
    assert_eq!(inventory.skills.len(), mastery.len());
    assert!(!expected.is_empty());
    let passed: BTreeSet<i64> = stages.iter().filter_map(|s| s.passed_ms).collect();
    assert!(!passed.is_empty(), "a learner always right passes a check");
    for (skill, measured) in inventory.skills.iter().zip(&mastery) {
        assert_eq!(skill.skill, measured.skill);
        assert!((skill.mastery - measured.mastery).abs() < 1e-12);
        assert_eq!(skill.held, skill.mastery >= skill.threshold);
        assert!(!skill.name.is_empty() && skill.course_title != COURSE);
        let e = &skill.evidence;
        match expected.get(&skill.skill) {
            Some(&(answers, right, items, first, last, last_right)) => {
                assert_eq!(
                    (e.answers, e.right, e.items as usize),
                    (answers, right, items),
                    "{}",
                    skill.skill
                );
                assert_eq!(e.first_answer_ms, Some(first));
                assert_eq!(e.last_answer_ms, Some(last));
                assert_eq!(e.last_right_ms, last_right);
            }
            None => assert_eq!(e.answers, 0),
        }
        // Every passed check is one the path's stages record, and demonstrated is the later of
        // the last right answer and the last passed check.
        for check in &e.checks {
            assert_eq!(check.path, PATH);
            assert!(passed.contains(&check.at_ms) || check.at_ms > *passed.first().unwrap());
            assert!(check.mastery >= skill.threshold);
        }
        let last_check = e.checks.iter().map(|c| c.at_ms).max();
        assert_eq!(
            skill.last_demonstrated_ms,
            last_check.max(e.last_right_ms),
            "{}",
            skill.skill
        );
        assert_eq!(e.peer_ratings, 0);
        assert_eq!(e.peer_mean_credit, None);
    }
    assert!(inventory
        .skills
        .iter()
        .any(|s| !s.evidence.checks.is_empty()));
}

#[test]
fn mastery_fades_with_time_but_the_demonstration_date_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (tidbit, clock) = learner(dir.path(), "ben", 1.0, 5);
    let before = tidbit.skills_inventory().unwrap();
    clock.set(clock.now() + Duration::days(200));
    let after = tidbit.skills_inventory().unwrap();
    let practised: Vec<_> = before
        .skills
        .iter()
        .zip(&after.skills)
        .filter(|(b, _)| b.evidence.answers > 0)
        .collect();
    assert!(!practised.is_empty());
    for (b, a) in practised {
        assert!(
            a.mastery < b.mastery,
            "{}: {} !< {}",
            a.skill,
            a.mastery,
            b.mastery
        );
        assert_eq!(a.last_demonstrated_ms, b.last_demonstrated_ms);
        assert_eq!(a.evidence, b.evidence);
    }
}

#[test]
fn a_learner_who_never_answers_right_has_demonstrated_nothing_and_holds_no_credential() {
    let dir = tempfile::tempdir().unwrap();
    let (tidbit, _) = learner(dir.path(), "cai", 0.0, 3);
    let inventory = tidbit.skills_inventory().unwrap();
    assert!(inventory.skills.iter().any(|s| s.evidence.answers > 0));
    for skill in &inventory.skills {
        assert_eq!(skill.evidence.right, 0);
        assert_eq!(skill.last_demonstrated_ms, None);
        assert!(skill.evidence.checks.is_empty());
        assert!(!skill.held);
    }
    let clr: serde_json::Value =
        serde_json::from_str(&tidbit.skill_credentials().unwrap()).unwrap();
    assert_eq!(
        clr["credentialSubject"]["verifiableCredential"],
        serde_json::json!([])
    );
}

#[test]
fn the_credentials_are_one_open_badge_per_held_skill_in_one_clr() {
    let dir = tempfile::tempdir().unwrap();
    let (tidbit, _) = learner(dir.path(), "dee", 1.0, 12);
    let inventory = tidbit.skills_inventory().unwrap();
    let clr: serde_json::Value =
        serde_json::from_str(&tidbit.skill_credentials().unwrap()).unwrap();
    assert_eq!(
        clr["@context"],
        serde_json::json!([
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
        ])
    );
    assert_eq!(
        clr["type"],
        serde_json::json!(["VerifiableCredential", "ClrCredential"])
    );
    assert_eq!(
        clr["credentialSubject"]["type"],
        serde_json::json!(["ClrSubject"])
    );
    assert_eq!(clr["credentialSubject"]["id"], "urn:tidbit:learner:dee");
    assert!(
        clr.get("proof").is_none(),
        "the record is unsigned and says so"
    );
    assert!(clr["description"].as_str().unwrap().contains("Unsigned"));
    let held: Vec<_> = inventory.skills.iter().filter(|s| s.held).collect();
    assert!(!held.is_empty());
    let badges = clr["credentialSubject"]["verifiableCredential"]
        .as_array()
        .unwrap();
    assert_eq!(badges.len(), held.len());
    for (badge, skill) in badges.iter().zip(held) {
        assert_eq!(
            badge["type"],
            serde_json::json!(["VerifiableCredential", "OpenBadgeCredential"])
        );
        assert_eq!(badge["@context"][0], "https://www.w3.org/ns/credentials/v2");
        let subject = &badge["credentialSubject"];
        assert_eq!(subject["type"], serde_json::json!(["AchievementSubject"]));
        let achievement = &subject["achievement"];
        assert_eq!(achievement["type"], serde_json::json!(["Achievement"]));
        assert_eq!(achievement["achievementType"], "Competency");
        assert_eq!(achievement["name"], skill.name.as_str());
        assert_eq!(
            achievement["id"],
            format!("urn:tidbit:skill:{COURSE}:{}", skill.skill)
        );
        assert!(achievement["criteria"]["narrative"].as_str().unwrap().len() > 40);
        assert_eq!(subject["result"][0]["type"], serde_json::json!(["Result"]));
        assert_eq!(
            subject["result"][0]["value"],
            format!("{:.2}", skill.mastery)
        );
        assert_eq!(
            subject["result"][0]["resultDescription"],
            achievement["resultDescription"][0]["id"]
        );
        let evidence = badge["evidence"].as_array().unwrap();
        let answers = evidence.iter().find(|e| e["name"] == "Answers").unwrap();
        assert!(answers["narrative"].as_str().unwrap().starts_with(&format!(
            "{} answers to {} items",
            skill.evidence.answers, skill.evidence.items
        )));
        assert_eq!(
            evidence
                .iter()
                .filter(|e| e["name"].as_str().unwrap().starts_with("Stage check"))
                .count(),
            skill.evidence.checks.len()
        );
        assert!(evidence
            .iter()
            .all(|e| e["type"] == serde_json::json!(["Evidence"])));
        assert_eq!(
            badge["validFrom"],
            DateTime::from_timestamp_millis(skill.last_demonstrated_ms.unwrap())
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
    }
}
