//! The learner's consent scopes through the real server: with each optional scope withdrawn,
//! the core computes and sends none of what it gates; a withdrawal made offline on one device
//! takes effect on the other after sync, and replay gives the same consent state.

mod support;

use chrono::{Duration, Utc};
use support::{Device, TestServer, COURSE};
use tidbit_core::events::{Event, EventKind, Response};
use tidbit_core::nudge::{NudgeKind, NudgePreferences};
use tidbit_core::privacy::consent::{ConsentError, ConsentScope};
use tidbit_core::tidbit::TidbitError;

const REFLECTION_STEP: &str = "rfm-site-reflection";
const REFLECTION: &str = "AED by the north gate; hazards: traffic and the weir.";

fn reflect(device: &Device) {
    let mut tidbit = device.tidbit.lock().unwrap();
    tidbit
        .answer(
            COURSE,
            REFLECTION_STEP,
            Response::Reflection {
                text: REFLECTION.into(),
                criteria_met: vec![true, true, false, true],
            },
            60_000,
        )
        .unwrap();
}

fn set(device: &Device, scope: ConsentScope, granted: bool) {
    device
        .tidbit
        .lock()
        .unwrap()
        .set_consent(scope, granted)
        .unwrap();
}

fn server_events(server: &TestServer, learner: &str) -> Vec<Event> {
    tidbit_server::exchange::learner_events(server.hub.storage.as_ref(), learner).unwrap()
}

/// The responses of the answers the server holds, in the log's order.
fn sent_responses(server: &TestServer, learner: &str) -> Vec<Option<Response>> {
    server_events(server, learner)
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::ItemAnswered { response, .. } => Some(response),
            _ => None,
        })
        .collect()
}

fn enrolled(root: &std::path::Path, learner: &str, name: &str) -> Device {
    let device = Device::new(root, learner, name);
    device
        .tidbit
        .lock()
        .unwrap()
        .enroll(COURSE, "field-volunteer")
        .unwrap();
    device
}

#[test]
fn nothing_optional_is_on_until_given_and_each_scope_has_its_purpose() {
    let root = tempfile::tempdir().unwrap();
    let phone = enrolled(root.path(), "ana", "phone");
    let consents = phone.tidbit.lock().unwrap().consents().unwrap();
    let scopes: Vec<ConsentScope> = consents.iter().map(|c| c.scope).collect();
    assert_eq!(scopes, ConsentScope::ALL);
    for consent in &consents {
        assert!(!consent.granted, "{consent:?}");
        assert_eq!(consent.changed_ms, None);
        assert_eq!(consent.purpose, consent.scope.purpose());
    }
    // Withdrawing what was never given records nothing.
    let events = phone.tidbit.lock().unwrap().events().unwrap().len();
    set(&phone, ConsentScope::Voice, false);
    assert_eq!(phone.tidbit.lock().unwrap().events().unwrap().len(), events);
    assert_eq!(
        "location".parse::<ConsentScope>(),
        Err(ConsentError::UnknownScope("location".into()))
    );
}

#[test]
fn without_analytics_no_answer_detail_reaches_the_server() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let phone = enrolled(root.path(), "ana", "phone");
    let token = server.token("ana", "phone");

    reflect(&phone);
    phone.sync(&server.url(), &token).unwrap();
    assert_eq!(sent_responses(&server, "ana"), vec![None]);

    phone.clock.advance(Duration::minutes(5));
    set(&phone, ConsentScope::Analytics, true);
    reflect(&phone);
    phone.sync(&server.url(), &token).unwrap();
    let sent = sent_responses(&server, "ana");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], None);
    assert!(
        matches!(&sent[1], Some(Response::Reflection { text, .. }) if text == REFLECTION),
        "{sent:?}"
    );

    phone.clock.advance(Duration::minutes(5));
    set(&phone, ConsentScope::Analytics, false);
    reflect(&phone);
    phone.sync(&server.url(), &token).unwrap();
    let sent = sent_responses(&server, "ana");
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2], None, "withdrawn, the detail stops at once");
    // The training record itself (outcome, credit, grade) is sent either way.
    let answers = server_events(&server, "ana")
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::ItemAnswered { .. }))
        .count();
    assert_eq!(answers, 3);
}

#[test]
fn without_personalisation_no_parameters_are_fitted_or_sent() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let phone = Device::new(root.path(), "ana", "phone");
    support::learn_for_days(&phone, 7, 60, 10);
    let token = server.token("ana", "phone");
    let err = phone
        .tidbit
        .lock()
        .unwrap()
        .fit_parameters(&mut |_, _| panic!("nothing may be computed"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            TidbitError::Consent(ConsentError::Required(ConsentScope::Personalisation))
        ),
        "{err}"
    );
    phone.sync(&server.url(), &token).unwrap();
    let events = server_events(&server, "ana");
    assert!(events.len() > 100, "the learner's record was sent");
    assert!(!events
        .iter()
        .any(|e| matches!(e.kind, EventKind::ParametersAdopted { .. })));

    // Given, the same log is fitted (and what is adopted is sent).
    set(&phone, ConsentScope::Personalisation, true);
    let report = phone
        .tidbit
        .lock()
        .unwrap()
        .fit_parameters(&mut |_, _| {})
        .unwrap();
    phone.sync(&server.url(), &token).unwrap();
    let adopted = server_events(&server, "ana")
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ParametersAdopted { .. }))
        .count();
    assert_eq!(adopted, usize::from(report.adopted));
}

fn post_intervention(server: &TestServer, learner: &str, body: &str) -> String {
    let admin = server.token("*", tidbit_server::auth::ADMIN_DEVICE);
    let url = format!("{}/v1/admin/learners/{learner}/interventions", server.url());
    tidbit_core::runtime::runtime().unwrap().block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {admin}"))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let triggered: tidbit_server::interventions::Triggered =
            serde_json::from_str(&response.text().await.unwrap()).unwrap();
        triggered.intervention
    })
}

fn planned_interventions(device: &Device) -> Vec<String> {
    let mut tidbit = device.tidbit.lock().unwrap();
    let plan = tidbit.plan_nudges(&NudgePreferences::consented()).unwrap();
    plan.nudges
        .into_iter()
        .filter(|n| n.kind == NudgeKind::Intervention)
        .map(|n| n.subject)
        .collect()
}

#[test]
fn without_signals_an_intervention_a_work_signal_triggered_is_not_acted_on() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let phone = enrolled(root.path(), "ana", "phone");
    phone.clock.set(Utc::now());
    let token = server.token("ana", "phone");
    phone.sync(&server.url(), &token).unwrap();

    let from_signal = post_intervention(
        &server,
        "ana",
        r#"{"module": "primary-survey", "reason": "a casualty report from your last shift",
            "within_hours": 48, "signal": "incident-report"}"#,
    );
    phone.clock.set(Utc::now() + Duration::minutes(1));
    phone.sync(&server.url(), &token).unwrap();
    assert_eq!(planned_interventions(&phone), Vec::<String>::new());
    let plain = post_intervention(
        &server,
        "ana",
        r#"{"module": "scene-safety", "reason": "refresh before the season", "within_hours": 48}"#,
    );
    phone.clock.set(Utc::now() + Duration::minutes(2));
    phone.sync(&server.url(), &token).unwrap();
    assert_eq!(planned_interventions(&phone), vec![plain.clone()]);

    set(&phone, ConsentScope::Signals, true);
    let mut planned = planned_interventions(&phone);
    planned.sort();
    let mut expected = vec![plain, from_signal];
    expected.sort();
    assert_eq!(planned, expected);
}

#[test]
fn community_and_voice_are_refused_until_given() {
    let root = tempfile::tempdir().unwrap();
    let phone = enrolled(root.path(), "ana", "phone");
    for scope in [ConsentScope::Community, ConsentScope::Voice] {
        let err = phone
            .tidbit
            .lock()
            .unwrap()
            .require_consent(scope)
            .unwrap_err();
        assert!(
            matches!(err, TidbitError::Consent(ConsentError::Required(s)) if s == scope),
            "{err}"
        );
        set(&phone, scope, true);
        phone.tidbit.lock().unwrap().require_consent(scope).unwrap();
    }
}

#[test]
fn a_withdrawal_made_offline_takes_effect_on_the_other_device_after_sync() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let phone = enrolled(root.path(), "ana", "phone");
    let tablet = Device::new(root.path(), "ana", "tablet");
    let (phone_token, tablet_token) = (server.token("ana", "phone"), server.token("ana", "tablet"));
    set(&phone, ConsentScope::Analytics, true);
    set(&phone, ConsentScope::Personalisation, true);
    phone.sync(&server.url(), &phone_token).unwrap();
    tablet.sync(&server.url(), &tablet_token).unwrap();
    let granted = |device: &Device, scope: ConsentScope| {
        device
            .tidbit
            .lock()
            .unwrap()
            .consents()
            .unwrap()
            .into_iter()
            .find(|c| c.scope == scope)
            .unwrap()
            .granted
    };
    assert!(granted(&tablet, ConsentScope::Analytics));

    // Offline, the tablet withdraws analytics; later, still offline, the phone gives signals.
    tablet.clock.advance(Duration::hours(1));
    set(&tablet, ConsentScope::Analytics, false);
    phone.clock.advance(Duration::hours(2));
    set(&phone, ConsentScope::Signals, true);
    // And both change personalisation: the later change (the phone's withdrawal) wins.
    tablet.clock.advance(Duration::hours(2));
    set(&tablet, ConsentScope::Personalisation, true);
    phone.clock.advance(Duration::hours(2));
    set(&phone, ConsentScope::Personalisation, false);

    for _ in 0..2 {
        phone.sync(&server.url(), &phone_token).unwrap();
        tablet.sync(&server.url(), &tablet_token).unwrap();
    }
    for device in [&phone, &tablet] {
        assert!(!granted(device, ConsentScope::Analytics), "{}", device.name);
        assert!(granted(device, ConsentScope::Signals), "{}", device.name);
        assert!(
            !granted(device, ConsentScope::Personalisation),
            "{}",
            device.name
        );
    }
    // The phone learned of the withdrawal: its next answer carries no detail.
    reflect(&phone);
    phone.sync(&server.url(), &phone_token).unwrap();
    assert_eq!(sent_responses(&server, "ana").last().unwrap(), &None);
    // Same state on both devices, and a replay of the log gives it again.
    tablet.sync(&server.url(), &tablet_token).unwrap();
    assert_eq!(phone.digest(), tablet.digest());
    let before = tablet.tidbit.lock().unwrap().consents().unwrap();
    tablet.tidbit.lock().unwrap().rebuild_projections().unwrap();
    assert_eq!(tablet.tidbit.lock().unwrap().consents().unwrap(), before);
    assert_eq!(phone.digest(), tablet.digest());
}

fn admin_request(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<&str>,
) -> (u16, String) {
    let admin = server.token("*", tidbit_server::auth::ADMIN_DEVICE);
    let url = format!("{}{path}", server.url());
    tidbit_core::runtime::runtime().unwrap().block_on(async {
        let mut request = reqwest::Client::new()
            .request(method, url)
            .header("authorization", format!("Bearer {admin}"));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

#[test]
fn a_review_travels_phone_to_server_to_admin_and_back_and_changes_the_stage() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let phone = enrolled(root.path(), "ana", "phone");
    let tablet = Device::new(root.path(), "ana", "tablet");
    let (phone_token, tablet_token) = (server.token("ana", "phone"), server.token("ana", "tablet"));
    let locked = phone.tidbit.lock().unwrap().stages(COURSE).unwrap()[1].clone();
    assert!(locked.unlocked_ms.is_none());
    let review = phone
        .tidbit
        .lock()
        .unwrap()
        .request_review(
            COURSE,
            &locked.stage,
            "I passed this assessment on site in May",
        )
        .unwrap();
    // Not on the queue before the phone syncs.
    let (status, listed) = admin_request(&server, reqwest::Method::GET, "/v1/admin/reviews", None);
    assert_eq!((status, listed.as_str()), (200, "[]"));
    phone.sync(&server.url(), &phone_token).unwrap();

    let (status, listed) = admin_request(&server, reqwest::Method::GET, "/v1/admin/reviews", None);
    assert_eq!(status, 200, "{listed}");
    let listed: Vec<tidbit_server::reviews::PendingReview> = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].learner, "ana");
    assert_eq!(listed[0].review, review);
    assert_eq!(listed[0].stage, locked.stage);
    assert_eq!(listed[0].reason, "I passed this assessment on site in May");
    assert!(
        listed[0].questioned.contains("is locked"),
        "{}",
        listed[0].questioned
    );

    // A device token may not read the queue; bad decisions change nothing.
    let (status, _) = {
        let url = format!("{}/v1/admin/reviews", server.url());
        tidbit_core::runtime::runtime().unwrap().block_on(async {
            let response = reqwest::Client::new()
                .get(url)
                .header("authorization", format!("Bearer {phone_token}"))
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), ())
        })
    };
    assert_eq!(status, 403);
    let decide = |review: &str, body: &str| {
        admin_request(
            &server,
            reqwest::Method::POST,
            &format!("/v1/admin/learners/ana/reviews/{review}"),
            Some(body),
        )
    };
    let verdict = r#"{"unlock": true, "reason": "Assessed on site by the trainer; certificate seen.", "author": "Maria Lopez (L&D)"}"#;
    assert_eq!(decide("no-such-review", verdict).0, 404);
    assert_eq!(
        decide(&review, r#"{"unlock": true, "reason": "", "author": "x"}"#).0,
        400
    );
    let (status, reply) = decide(&review, verdict);
    assert_eq!(status, 201, "{reply}");
    assert_eq!(
        decide(
            &review,
            r#"{"unlock": false, "reason": "changed my mind", "author": "x"}"#
        )
        .0,
        409,
        "the first decision stands"
    );
    let (_, listed) = admin_request(&server, reqwest::Method::GET, "/v1/admin/reviews", None);
    assert_eq!(listed, "[]");

    phone.clock.advance(Duration::minutes(10));
    phone.sync(&server.url(), &phone_token).unwrap();
    let stage = phone.tidbit.lock().unwrap().stages(COURSE).unwrap()[1].clone();
    assert!(
        stage.unlocked_ms.is_some(),
        "the decision unlocked the stage"
    );
    let reviews = phone.tidbit.lock().unwrap().reviews().unwrap();
    let decision = reviews[0].decision.clone().expect("the decision arrived");
    assert!(decision.unlock);
    assert_eq!(decision.author, "Maria Lopez (L&D)");
    assert_eq!(
        decision.reason,
        "Assessed on site by the trainer; certificate seen."
    );

    // The other device converges; a replay of the log gives the same state.
    tablet.sync(&server.url(), &tablet_token).unwrap();
    assert_eq!(tablet.digest(), phone.digest());
    let digest = phone.digest();
    phone.tidbit.lock().unwrap().rebuild_projections().unwrap();
    assert_eq!(phone.digest(), digest);
    assert_eq!(support::server_digest(&server, "ana", root.path()), digest);

    // A device cannot forge a decision: only the server writes them (see sync::peer).
}

#[test]
fn a_decision_to_keep_a_stage_locked_keeps_it_locked_with_its_reason() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let phone = enrolled(root.path(), "ana", "phone");
    let token = server.token("ana", "phone");
    let stage = phone.tidbit.lock().unwrap().stages(COURSE).unwrap()[1]
        .stage
        .clone();
    let review = phone
        .tidbit
        .lock()
        .unwrap()
        .request_review(COURSE, &stage, "please check")
        .unwrap();
    phone.sync(&server.url(), &token).unwrap();
    let (status, _) = admin_request(
        &server,
        reqwest::Method::POST,
        &format!("/v1/admin/learners/ana/reviews/{review}"),
        Some(
            r#"{"unlock": false, "reason": "The check covers CPR, which was not assessed on site.", "author": "Sam Chen"}"#,
        ),
    );
    assert_eq!(status, 201);
    phone.clock.advance(Duration::minutes(10));
    phone.sync(&server.url(), &token).unwrap();
    let tidbit = phone.tidbit.lock().unwrap();
    assert!(tidbit.stages(COURSE).unwrap()[1].unlocked_ms.is_none());
    let decision = tidbit.reviews().unwrap()[0].decision.clone().unwrap();
    assert!(!decision.unlock);
    assert_eq!(decision.author, "Sam Chen");
}

#[test]
fn the_server_exports_one_learner_to_an_admin_the_same_twice() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let phone = enrolled(root.path(), "ana", "phone");
    set(&phone, ConsentScope::Analytics, true);
    reflect(&phone);
    phone.clock.advance(Duration::minutes(1));
    set(&phone, ConsentScope::Analytics, false);
    phone
        .sync(&server.url(), &server.token("ana", "phone"))
        .unwrap();
    let path = "/v1/admin/learners/ana/export";
    let (status, first) = admin_request(&server, reqwest::Method::GET, path, None);
    assert_eq!(status, 200, "{first}");
    let (_, second) = admin_request(&server, reqwest::Method::GET, path, None);
    assert_eq!(first, second);
    let archive: tidbit_core::tidbit::export::Archive = serde_json::from_str(&first).unwrap();
    assert_eq!(archive.learner, "ana");
    assert_eq!(
        archive.events,
        phone.tidbit.lock().unwrap().events().unwrap()
    );
    assert_eq!(archive.consent_history.len(), 2);
    assert_eq!(
        archive.consents,
        phone.tidbit.lock().unwrap().consents().unwrap()
    );
    assert_eq!(
        admin_request(
            &server,
            reqwest::Method::GET,
            "/v1/admin/learners/nobody/export",
            None
        )
        .0,
        404
    );
    let (status, _) = {
        let url = format!("{}{path}", server.url());
        let token = server.token("ana", "phone");
        tidbit_core::runtime::runtime().unwrap().block_on(async {
            let response = reqwest::Client::new()
                .get(url)
                .header("authorization", format!("Bearer {token}"))
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), ())
        })
    };
    assert_eq!(status, 403);
}
