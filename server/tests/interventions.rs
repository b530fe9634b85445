//! Interventions end to end through a real server on 127.0.0.1: an admin triggers one, it
//! reaches the learner's device through sync (and a push where a token is registered), the
//! device's planner schedules it before the deadline, and a device offline for longer than the
//! window reports it missed, with why, back through sync.

mod support;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use support::*;
use tidbit_core::events::{Clock, EventKind};
use tidbit_core::nudge::{NudgeKind, NudgeOutcome, NudgePreferences};
use tidbit_server::interventions::{trigger, InterventionRequest, PushMessage, PushSender};
use tidbit_server::push::{Delivery, PushTarget, Sending};

fn request(within_hours: u32) -> InterventionRequest {
    InterventionRequest {
        module: "primary-survey".into(),
        course: None,
        reason: "two below-target sprints".into(),
        within_hours,
        signal: None,
        ..Default::default()
    }
}

fn post_intervention(
    server: &TestServer,
    learner: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let url = format!("{}/v1/admin/learners/{learner}/interventions", server.url());
    tidbit_core::runtime::runtime().unwrap().block_on(async {
        let mut request = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

/// Syncs `device`, then plans at its clock's now.
fn sync_and_plan(
    server: &TestServer,
    device: &Device,
    learner: &str,
) -> tidbit_core::nudge::NudgePlan {
    device
        .sync(&server.url(), &server.token(learner, &device.name))
        .unwrap();
    device
        .tidbit
        .lock()
        .unwrap()
        .plan_nudges(&NudgePreferences::consented())
        .unwrap()
}

#[test]
fn only_an_admin_token_may_post_an_intervention_and_the_device_receives_it_by_sync() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let phone = Device::new(root.path(), "ana", "phone");
    phone.clock.set(Utc::now());
    phone
        .tidbit
        .lock()
        .unwrap()
        .enroll(COURSE, "field-volunteer")
        .unwrap();
    phone
        .sync(&server.url(), &server.token("ana", "phone"))
        .unwrap();

    let body =
        r#"{"module": "primary-survey", "reason": "two below-target sprints", "within_hours": 48}"#;
    assert_eq!(post_intervention(&server, "ana", None, body).0, 401);
    let learner_token = server.token("ana", "phone");
    assert_eq!(
        post_intervention(&server, "ana", Some(&learner_token), body).0,
        403
    );
    let admin = server.token("*", tidbit_server::auth::ADMIN_DEVICE);
    let (status, reply) = post_intervention(&server, "ana", Some(&admin), r#"{"module": ""}"#);
    assert_eq!(status, 400, "{reply}");
    let (status, reply) = post_intervention(&server, "ana", Some(&admin), body);
    assert_eq!(status, 201, "{reply}");
    let triggered: tidbit_server::interventions::Triggered = serde_json::from_str(&reply).unwrap();
    assert_eq!(triggered.deadline_ms - triggered.at_ms, 48 * 3_600_000);
    // An admin token still opens no learner's documents.
    let (status, _) = post_sync(
        &server.url(),
        "ana",
        Some(&format!("Bearer {admin}")),
        Vec::new(),
    );
    assert_eq!(status, 403);

    phone.clock.set(Utc::now() + Duration::minutes(1));
    let plan = sync_and_plan(&server, &phone, "ana");
    let nudge = plan
        .nudges
        .iter()
        .find(|n| n.kind == NudgeKind::Intervention)
        .expect("the intervention is planned");
    assert_eq!(nudge.subject, triggered.intervention);
    assert!(nudge.fire_at_utc.timestamp_millis() <= triggered.deadline_ms);
    // The module's course was looked up on the device.
    assert!(nudge
        .deep_link
        .starts_with("tidbit://module/field-safety/primary-survey?"));
}

/// Triggers at the device's simulated `now`, leaves the device offline for `gap`, then syncs,
/// plans and, if planned, delivers the notification when it fires; the outcome syncs back.
fn offline_then_sync(
    server: &TestServer,
    phone: &Device,
    learner: &str,
    gap: Duration,
) -> (DateTime<Utc>, tidbit_core::nudge::NudgePlan) {
    let triggered_at = phone.clock.now();
    let triggered = trigger(
        server.hub.storage.as_ref(),
        learner,
        &request(48),
        triggered_at.timestamp_millis(),
    )
    .unwrap();
    let deadline = DateTime::from_timestamp_millis(triggered.deadline_ms).unwrap();
    phone.clock.set(triggered_at + gap);
    let plan = sync_and_plan(server, phone, learner);
    if let Some(nudge) = plan
        .nudges
        .iter()
        .find(|n| n.kind == NudgeKind::Intervention)
    {
        phone.clock.set(nudge.fire_at_utc);
        let mut tidbit = phone.tidbit.lock().unwrap();
        tidbit
            .record_nudge_outcome(nudge, NudgeOutcome::Delivered)
            .unwrap();
    }
    phone
        .sync(&server.url(), &server.token(learner, &phone.name))
        .unwrap();
    (deadline, plan)
}

/// The server's view of what became of the learner's interventions.
fn outcomes_on_server(
    server: &TestServer,
    learner: &str,
) -> Vec<(NudgeOutcome, i64, Option<String>)> {
    tidbit_server::exchange::learner_events(server.hub.storage.as_ref(), learner)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::NudgeOutcomeRecorded {
                nudge_kind: NudgeKind::Intervention,
                outcome,
                detail,
                ..
            } => Some((outcome, e.at_ms, detail)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_intervention_is_delivered_within_its_deadline_across_offline_gaps_shorter_than_it() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    for hours in [0, 6, 30, 44] {
        let learner = format!("gap-{hours}");
        let phone = Device::new(root.path(), &learner, &format!("phone-{hours}"));
        learn_for_days(&phone, hours as u64, 2, 5);
        phone
            .sync(&server.url(), &server.token(&learner, &phone.name))
            .unwrap();
        let (deadline, plan) = offline_then_sync(&server, &phone, &learner, Duration::hours(hours));
        assert!(
            plan.missed.is_empty(),
            "{hours} h offline: {:?}",
            plan.missed
        );
        let delivered = outcomes_on_server(&server, &learner);
        assert_eq!(delivered.len(), 1, "{hours} h offline");
        assert_eq!(delivered[0].0, NudgeOutcome::Delivered);
        assert!(
            delivered[0].1 <= deadline.timestamp_millis(),
            "{hours} h offline: delivered after the deadline"
        );
    }
}

#[test]
fn an_intervention_is_reported_missed_with_why_when_the_device_was_offline_longer() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let phone = Device::new(root.path(), "ben", "phone");
    learn_for_days(&phone, 7, 2, 5);
    phone
        .sync(&server.url(), &server.token("ben", "phone"))
        .unwrap();
    let (_, plan) = offline_then_sync(&server, &phone, "ben", Duration::hours(60));
    assert!(plan
        .nudges
        .iter()
        .all(|n| n.kind != NudgeKind::Intervention));
    assert_eq!(plan.missed.len(), 1);
    assert!(
        plan.missed[0].why.contains("offline"),
        "{}",
        plan.missed[0].why
    );
    // The miss is an event: it reached the server with the reason.
    let reported = outcomes_on_server(&server, "ben");
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].0, NudgeOutcome::Missed);
    assert!(reported[0].2.as_deref().unwrap().contains("48 h"));
    // Planning again reports it once only.
    let again = phone
        .tidbit
        .lock()
        .unwrap()
        .plan_nudges(&NudgePreferences::consented())
        .unwrap();
    assert!(again.missed.is_empty());
}

#[derive(Default)]
struct RecordingPush(Mutex<Vec<(PushTarget, PushMessage)>>);

impl PushSender for RecordingPush {
    fn send<'a>(&'a self, target: &'a PushTarget, message: &'a PushMessage) -> Sending<'a> {
        self.0
            .lock()
            .unwrap()
            .push((target.clone(), message.clone()));
        Box::pin(std::future::ready(Delivery::Delivered))
    }
}

#[test]
fn a_device_that_registered_a_push_token_is_pushed_when_an_intervention_is_triggered() {
    let root = tempfile::tempdir().unwrap();
    let push = Arc::new(RecordingPush::default());
    let data = root.path().join("server");
    let hub = open_hub(&data)
        .with_clock(server_clock())
        .with_push(push.clone());
    let server = TestServer::start_with(&data, Arc::new(hub));
    let phone = Device::new(root.path(), "cy", "phone");
    let admin = server.admin_token();
    let body =
        r#"{"module": "primary-survey", "reason": "two below-target sprints", "within_hours": 24}"#;
    // No token yet: nothing is pushed.
    let (status, reply) = post_intervention(&server, "cy", Some(&admin), body);
    assert_eq!(status, 201, "{reply}");
    let first: tidbit_server::interventions::Triggered = serde_json::from_str(&reply).unwrap();
    assert!(!first.pushed);
    assert!(first.pushes.is_empty());
    phone
        .tidbit
        .lock()
        .unwrap()
        .register_push_token("fcm", "token-abc")
        .unwrap();
    phone
        .sync(&server.url(), &server.token("cy", "phone"))
        .unwrap();
    let (status, reply) = post_intervention(&server, "cy", Some(&admin), body);
    assert_eq!(status, 201, "{reply}");
    let second: tidbit_server::interventions::Triggered = serde_json::from_str(&reply).unwrap();
    assert!(second.pushed);
    let sent = push.0.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.device, "phone");
    assert_eq!(sent[0].0.token, "token-abc");
    assert_eq!(
        sent[0].1,
        PushMessage {
            intervention: Some(second.intervention.clone()),
            deadline_ms: Some(second.deadline_ms),
        }
    );
    assert_eq!(second.deadline_ms, second.at_ms + 24 * 3_600_000);
    assert_eq!(second.pushes.len(), 1);
    assert_eq!(second.pushes[0].outcome, "delivered");
    assert_eq!(
        second.pushes[0].token_sha256,
        tidbit_core::events::push_token_sha256("token-abc")
    );
}
