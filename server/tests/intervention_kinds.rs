//! Interventions beyond modules, end to end through a real server on 127.0.0.1 and real
//! devices syncing: a coaching conversation reaches the learner's device and the manager's side
//! only while the learner gives the `coaching` scope; a mentoring invitation pairs the peer who
//! holds the skill (fewest open mentees, then the most recently active) and tells the mentor; a
//! job aid opened counts as done; a missed one is reported with its kind; the per-kind outcome
//! figures are the hand-computed ones; bad input is refused with a 4xx and writes nothing.

mod support;

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use serde_json::{json, Value};
use support::*;
use tidbit_core::events::ManualClock;
use tidbit_core::events::{Clock, InterventionAction, InterventionKind, InterventionStep};
use tidbit_core::nudge::{NudgeKind, NudgePreferences};
use tidbit_core::privacy::consent::ConsentScope;

struct Setup {
    _root: tempfile::TempDir,
    root: std::path::PathBuf,
    server: TestServer,
    clock: Arc<ManualClock>,
}

/// A server whose content index holds the field-safety pack, on a clock the test moves.
fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    std::fs::create_dir_all(data.join("packs")).unwrap();
    let (pack, trusted) = sample_pack();
    std::fs::copy(pack, data.join("packs").join(format!("{COURSE}.tidbit"))).unwrap();
    let clock = server_clock();
    let hub = open_hub(&data)
        .with_clock(clock.clone())
        .with_trusted_packs(trusted.clone());
    let server = TestServer::start_with(&data, Arc::new(hub));
    Setup {
        root: root.path().to_path_buf(),
        _root: root,
        server,
        clock,
    }
}

impl Setup {
    /// A learner's phone, enrolled, its clock an hour before the server's.
    fn device(&self, learner: &str) -> Device {
        self.device_since(learner, Duration::hours(1))
    }

    /// A learner's phone, enrolled `ago` before the server's now.
    fn device_since(&self, learner: &str, ago: Duration) -> Device {
        let device = Device::new(&self.root.join(learner), learner, "phone");
        device.clock.set(self.clock.now() - ago);
        device
            .tidbit
            .lock()
            .unwrap()
            .enroll(COURSE, "field-volunteer")
            .unwrap();
        self.sync(&device, learner);
        device
    }

    fn sync(&self, device: &Device, learner: &str) {
        device
            .sync(
                &self.server.url(),
                &self.server.token(learner, &device.name),
            )
            .unwrap();
    }

    fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let client = reqwest::blocking::Client::new();
        let url = format!("{}{path}", self.server.url());
        let request = match method {
            "POST" => client.post(url).json(&body.unwrap_or(Value::Null)),
            _ => client.get(url),
        };
        let response = request.bearer_auth(token).send().unwrap();
        let status = response.status().as_u16();
        let text = response.text().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn trigger(&self, learner: &str, body: Value) -> (u16, Value) {
        let admin = self.server.admin_token();
        self.call(
            "POST",
            &format!("/v1/admin/learners/{learner}/interventions"),
            &admin,
            Some(body),
        )
    }

    fn coaching_of(&self, manager: &str) -> Value {
        let token = self.server.token(manager, "laptop");
        let (status, body) = self.call(
            "GET",
            &format!("/v1/managers/{manager}/coaching"),
            &token,
            None,
        );
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Waits until every learner's summary is remade from what was stored.
    fn settle(&self) {
        let deadline = Instant::now() + StdDuration::from_secs(60);
        while !self
            .server
            .hub
            .storage
            .summaries_due(10)
            .unwrap()
            .is_empty()
        {
            assert!(Instant::now() < deadline, "summaries were not made");
            std::thread::sleep(StdDuration::from_millis(50));
        }
        // The worker takes the marks before it puts the summary.
        std::thread::sleep(StdDuration::from_millis(300));
    }

    /// Every event the server stores for `learner`.
    fn stored_events(&self, learner: &str) -> usize {
        tidbit_server::exchange::learner_events(self.server.hub.storage.as_ref(), learner)
            .unwrap()
            .len()
    }
}

fn plan_of(device: &Device) -> tidbit_core::nudge::NudgePlan {
    device
        .tidbit
        .lock()
        .unwrap()
        .plan_nudges(&NudgePreferences::consented())
        .unwrap()
}

fn coaching_request(manager: &str) -> Value {
    json!({"kind": "coaching", "module": "primary-survey", "course": COURSE,
           "reason": "missed the survey order twice", "within_hours": 48,
           "manager": manager, "template": "after-a-miss"})
}

#[test]
fn coaching_reaches_the_device_and_the_manager_only_while_the_learner_consents() {
    let s = setup();
    let lea = s.device("lea");
    let (status, triggered) = s.trigger("lea", coaching_request("mara"));
    assert_eq!(status, 201, "{triggered}");
    let id = triggered["intervention"].as_str().unwrap().to_string();
    assert_eq!(triggered["action"]["kind"], "coaching");
    assert_eq!(
        triggered["action"]["template"]["prompts"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // The learner's device has it, with what it asks, and plans a nudge in its words.
    lea.clock.set(s.clock.now());
    s.sync(&lea, "lea");
    let views = lea.tidbit.lock().unwrap().interventions().unwrap();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].id, id);
    assert_eq!(views[0].kind, InterventionKind::Coaching);
    assert!(!views[0].shared_with_manager);
    let plan = plan_of(&lea);
    let nudge = plan
        .nudges
        .iter()
        .find(|n| n.kind == NudgeKind::Intervention)
        .unwrap();
    assert_eq!(nudge.body.key, "nudge.coaching.body");
    assert!(nudge
        .body
        .text
        .starts_with("mara would like a short coaching conversation"));

    // Without the coaching scope the manager sees nothing.
    s.settle();
    assert_eq!(s.coaching_of("mara"), json!([]));
    lea.tidbit
        .lock()
        .unwrap()
        .set_consent(ConsentScope::Coaching, true)
        .unwrap();
    s.sync(&lea, "lea");
    s.settle();
    let listed = s.coaching_of("mara");
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["intervention"], id.as_str());
    assert_eq!(listed[0]["learner"], "lea");
    assert_eq!(listed[0]["template"]["id"], "after-a-miss");
    assert_eq!(listed[0]["held_ms"], Value::Null);
    // Another manager sees none of it, and cannot read mara's list.
    assert_eq!(s.coaching_of("otto"), json!([]));
    let otto = s.server.token("otto", "laptop");
    assert_eq!(
        s.call("GET", "/v1/managers/mara/coaching", &otto, None).0,
        403
    );

    // Held: the server writes it into the learner's log; the device sees it done.
    let mara = s.server.token("mara", "laptop");
    let held_path = format!("/v1/managers/mara/coaching/{id}/held");
    let (status, held) = s.call("POST", &held_path, &mara, None);
    assert_eq!(status, 200, "{held}");
    assert_eq!(held["held_ms"], s.clock.now().timestamp_millis());
    s.sync(&lea, "lea");
    let views = lea.tidbit.lock().unwrap().interventions().unwrap();
    assert_eq!(views[0].steps, vec![InterventionStep::CoachingHeld]);
    assert_eq!(views[0].done_ms, Some(s.clock.now().timestamp_millis()));
    let plan = plan_of(&lea);
    assert!(plan
        .nudges
        .iter()
        .all(|n| n.kind != NudgeKind::Intervention));

    // Withdrawn: gone from the manager's side, and it can no longer be marked.
    lea.tidbit
        .lock()
        .unwrap()
        .set_consent(ConsentScope::Coaching, false)
        .unwrap();
    s.sync(&lea, "lea");
    s.settle();
    assert_eq!(s.coaching_of("mara"), json!([]));
    assert_eq!(s.call("POST", &held_path, &mara, None).0, 404);
}

#[test]
fn a_job_aid_opened_is_done_a_missed_one_is_reported_and_outcomes_count_per_kind() {
    let s = setup();
    let ana = s.device("ana");
    let ben = s.device("ben");
    ben.tidbit
        .lock()
        .unwrap()
        .set_consent(ConsentScope::Coaching, true)
        .unwrap();
    s.sync(&ben, "ben");
    let before = s.stored_events("ana");

    // Bad input: a clear 4xx, and nothing written.
    let aid = |aid: &str| {
        json!({"kind": "job_aid", "module": "primary-survey", "course": COURSE,
               "reason": "a quick reference", "within_hours": 48, "aid": aid})
    };
    let (status, body) = s.trigger("ana", aid("no-such-card"));
    assert_eq!(status, 400);
    assert!(
        body.as_str().unwrap().contains("no job aid 'no-such-card'"),
        "{body}"
    );
    let (status, body) = s.trigger(
        "ana",
        json!({"kind": "hug", "module": "m", "reason": "r", "within_hours": 48}),
    );
    assert_eq!(status, 400);
    assert!(
        body.as_str().unwrap().contains("unknown variant `hug`"),
        "{body}"
    );
    let (status, body) = s.trigger("ana", json!({"kind": "coaching", "module": "m", "reason": "r", "within_hours": 48, "manager": "mara", "template": "pep-talk"}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = s.trigger("ana", json!({"kind": "mentoring", "module": "primary-survey", "course": COURSE, "reason": "r", "within_hours": 48, "skill": "heat-cold"}));
    assert_eq!(status, 422, "{body}");
    assert!(
        body.as_str()
            .unwrap()
            .contains("nobody else holds skill 'heat-cold'"),
        "{body}"
    );
    assert_eq!(s.stored_events("ana"), before);

    // A job aid (opened in time), a module (never done: missed), a coaching conversation
    // (held after its deadline: late).
    let (status, card) = s.trigger("ana", aid("drsabcd-card"));
    assert_eq!(status, 201, "{card}");
    let (status, module) = s.trigger(
        "ana",
        json!({"module": "heat-and-cold", "course": COURSE, "reason": "below target", "within_hours": 24}),
    );
    assert_eq!(status, 201, "{module}");
    let (status, coaching) = s.trigger("ben", coaching_request("mara"));
    assert_eq!(status, 201, "{coaching}");

    ana.clock.set(s.clock.now() + Duration::hours(2));
    s.sync(&ana, "ana");
    let opened = ana
        .tidbit
        .lock()
        .unwrap()
        .job_aid(COURSE, "drsabcd-card")
        .unwrap();
    assert_eq!(opened.title, "DRSABCD at a glance");
    assert!(opened.body.lines().count() <= 16);
    let views = ana.tidbit.lock().unwrap().interventions().unwrap();
    let card_view = views.iter().find(|v| v.id == card["intervention"]).unwrap();
    assert_eq!(card_view.steps, vec![InterventionStep::JobAidOpened]);
    assert_eq!(card_view.done_ms, Some(ana.clock.now().timestamp_millis()));
    assert!(
        matches!(&card_view.action, InterventionAction::JobAid { aid, .. } if aid == "drsabcd-card")
    );
    // Opening it again records nothing more.
    ana.tidbit
        .lock()
        .unwrap()
        .job_aid(COURSE, "drsabcd-card")
        .unwrap();
    let again = ana.tidbit.lock().unwrap().interventions().unwrap();
    let again = again.iter().find(|v| v.id == card["intervention"]).unwrap();
    assert_eq!(again.steps.len(), 1);
    s.sync(&ana, "ana");

    // Three days on: the module intervention was missed; the device reports it with its kind.
    s.clock.advance(Duration::days(3));
    ana.clock.set(s.clock.now());
    s.sync(&ana, "ana");
    let plan = plan_of(&ana);
    assert_eq!(plan.missed.len(), 1, "{:?}", plan.missed);
    assert_eq!(
        plan.missed[0].intervention,
        module["intervention"].as_str().unwrap()
    );
    assert_eq!(plan.missed[0].kind, InterventionKind::Module);
    s.sync(&ana, "ana");
    s.settle();
    let mara = s.server.token("mara", "laptop");
    let held = format!(
        "/v1/managers/mara/coaching/{}/held",
        coaching["intervention"].as_str().unwrap()
    );
    assert_eq!(s.call("POST", &held, &mara, None).0, 200);
    s.settle();

    // Per kind, as computed by hand: job aid 1 in time (rate 1), module 1 missed (rate 0),
    // coaching 1 late (rate 0), mentoring none.
    let admin = s.server.admin_token();
    let (status, metrics) = s.call("GET", "/v1/admin/metrics", &admin, None);
    assert_eq!(status, 200);
    let by_kind = &metrics["interventions"]["by_kind"];
    let figures = |kind: &str| -> Vec<Value> {
        let k = by_kind
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == kind)
            .unwrap();
        [
            "triggered",
            "done_in_time",
            "done_late",
            "missed",
            "open",
            "rate",
        ]
        .iter()
        .map(|f| k[f].clone())
        .collect()
    };
    assert_eq!(
        figures("job_aid"),
        vec![json!(1), json!(1), json!(0), json!(0), json!(0), json!(1.0)]
    );
    assert_eq!(
        figures("module"),
        vec![json!(1), json!(0), json!(0), json!(1), json!(0), json!(0.0)]
    );
    assert_eq!(
        figures("coaching"),
        vec![json!(1), json!(0), json!(1), json!(0), json!(0), json!(0.0)]
    );
    assert_eq!(
        figures("mentoring"),
        vec![json!(0), json!(0), json!(0), json!(0), json!(0), json!(0.0)]
    );
    assert_eq!(metrics["interventions"]["triggered"], 3);
}

/// Practises `device` on `days` consecutive days ending an hour before the server's now, with
/// `right_share` of answers right.
fn practise(s: &Setup, device: &Device, learner: &str, days: i64, right_share: f64, seed: u64) {
    {
        let mut tidbit = device.tidbit.lock().unwrap();
        // The skills inventory lists only learners who share their profile.
        tidbit.set_consent(ConsentScope::Profile, true).unwrap();
        let mut practice =
            tidbit_core::simulate::PracticeDevice::new(&tidbit, seed, right_share).unwrap();
        for day in (0..days).rev() {
            device
                .clock
                .set(s.clock.now() - Duration::days(day) - Duration::hours(3));
            practice.practise(&mut tidbit, &device.clock, 25).unwrap();
        }
    }
    s.sync(device, learner);
}

#[test]
fn mentoring_pairs_a_peer_who_holds_the_skill_fewest_mentees_first_and_tells_the_mentor() {
    let s = setup();
    let ana = s.device_since("ana", Duration::days(5));
    let ben = s.device_since("ben", Duration::days(5));
    let cai = s.device_since("cai", Duration::days(5));
    let lea = s.device("lea");
    let _dev = s.device("dev");
    practise(&s, &ana, "ana", 4, 1.0, 1);
    s.clock.advance(Duration::minutes(30));
    practise(&s, &ben, "ben", 4, 1.0, 2);
    practise(&s, &cai, "cai", 1, 0.2, 3);
    s.settle();

    // By hand: the skills ana and ben both hold well above 0.8, and cai does not.
    let mastery = |d: &Device| -> std::collections::BTreeMap<String, f64> {
        d.tidbit
            .lock()
            .unwrap()
            .mastery(COURSE)
            .unwrap()
            .into_iter()
            .map(|m| (m.skill, m.mastery))
            .collect()
    };
    let (a, b, c) = (mastery(&ana), mastery(&ben), mastery(&cai));
    let skill = a
        .keys()
        .find(|k| a[*k] >= 0.85 && b[*k] >= 0.85 && c[*k] < 0.8)
        .unwrap_or_else(|| panic!("no skill both hold: ana {a:?} ben {b:?}"))
        .clone();
    let mentoring = json!({"kind": "mentoring", "module": "primary-survey", "course": COURSE,
                           "reason": "pair with someone who has it", "within_hours": 48,
                           "skill": skill});

    // Neither has a mentee yet: ben demonstrated the skill most recently.
    let (status, first) = s.trigger("lea", mentoring.clone());
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["action"]["mentor"], "ben");
    s.sync(&ben, "ben");
    let invitations = ben.tidbit.lock().unwrap().mentoring_invitations().unwrap();
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].mentee, "lea");
    assert_eq!(invitations[0].skill, skill);
    assert_eq!(
        invitations[0].intervention,
        first["intervention"].as_str().unwrap()
    );

    // The learner accepts: done.
    lea.clock.set(s.clock.now());
    s.sync(&lea, "lea");
    let id = first["intervention"].as_str().unwrap();
    lea.tidbit.lock().unwrap().accept_mentoring(id).unwrap();
    let refused = lea
        .tidbit
        .lock()
        .unwrap()
        .record_intervention_step(id, InterventionStep::JobAidOpened);
    assert!(refused.is_err());
    s.sync(&lea, "lea");
    s.settle();

    // ben now has an open mentee; ana has none: ana mentors the next learner. The learner
    // themself is never their own mentor.
    let (status, second) = s.trigger("dev", mentoring.clone());
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["action"]["mentor"], "ana");
    let (status, own) = s.trigger("ana", mentoring);
    assert_eq!(status, 201, "{own}");
    assert_eq!(own["action"]["mentor"], "ben");
    s.settle();
    let admin = s.server.admin_token();
    let (_, metrics) = s.call("GET", "/v1/admin/metrics", &admin, None);
    let kinds = metrics["interventions"]["by_kind"]
        .as_array()
        .unwrap()
        .clone();
    let of = kinds.iter().find(|k| k["kind"] == "mentoring").unwrap();
    assert_eq!(
        (
            of["triggered"].clone(),
            of["done_in_time"].clone(),
            of["open"].clone()
        ),
        (json!(3), json!(1), json!(2))
    );
}
