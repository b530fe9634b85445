//! Goals end to end through a real server on 127.0.0.1: the L&D team sets a goal for a learner
//! and one for a role, each reaches the devices through sync and changes their plan, an
//! impossible one is reported as such, and a withdrawn one is gone after the next sync.

mod support;

use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use support::*;
use tidbit_core::events::{Clock, ManualClock};
use tidbit_core::learn::goal::Pace;
use tidbit_core::learn::plan::Purpose;

const PATH: &str = "field-volunteer";

fn call(
    server: &TestServer,
    method: &str,
    route: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let url = format!("{}{route}", server.url());
    tidbit_core::runtime::runtime().unwrap().block_on(async {
        let client = reqwest::Client::new();
        let mut request = match method {
            "PUT" => client.put(url),
            "DELETE" => client.delete(url),
            _ => client.get(url),
        }
        .header("content-type", "application/json")
        .body(body.to_string());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

/// A server on `root` with its clock, a year after the devices' start.
fn server(root: &std::path::Path) -> (TestServer, Arc<ManualClock>) {
    let data = root.join("server");
    let clock = server_clock();
    let hub = open_hub(&data).with_clock(clock.clone());
    (TestServer::start_with(&data, Arc::new(hub)), clock)
}

/// A device of `learner` at `clock`'s time, following the field volunteer path.
fn device(root: &std::path::Path, clock: &ManualClock, learner: &str) -> Device {
    let device = Device::new(root, learner, &format!("{learner}-phone"));
    device.clock.set(clock.now());
    device.tidbit.lock().unwrap().enroll(COURSE, PATH).unwrap();
    device
}

fn sync(server: &TestServer, device: &Device, learner: &str) {
    device
        .sync(&server.url(), &server.token(learner, &device.name))
        .unwrap();
}

fn new_steps(device: &Device, minutes: u32) -> usize {
    let plan = device.tidbit.lock().unwrap().plan_session(minutes).unwrap();
    plan.steps
        .iter()
        .filter(|s| s.purpose == Purpose::New)
        .count()
}

#[test]
fn a_goal_set_on_the_server_reaches_the_device_and_paces_its_plan() {
    let root = tempfile::tempdir().unwrap();
    let (server, clock) = server(root.path());
    let phone = device(root.path(), &clock, "ana");
    sync(&server, &phone, "ana");
    let unpaced = new_steps(&phone, 60);
    assert!(
        unpaced > 8,
        "an hour without a goal holds {unpaced} new steps"
    );

    let today = clock.now().date_naive();
    let due = today + Duration::days(27);
    let body = format!(
        r#"{{"title": "Foundation in four weeks", "course": "{COURSE}", "path": "{PATH}", "stages": ["foundation"], "due": "{due}"}}"#
    );
    let route = "/v1/admin/learners/ana/goals/foundation";
    assert_eq!(call(&server, "PUT", route, None, &body).0, 401);
    let learner_token = server.token("ana", "ana-phone");
    assert_eq!(
        call(&server, "PUT", route, Some(&learner_token), &body).0,
        403
    );
    let admin = server.admin_token();
    let bad = body.replace(r#""stages": ["foundation"], "#, r#""stages": ["a b"], "#);
    let (status, reply) = call(&server, "PUT", route, Some(&admin), &bad);
    assert_eq!(status, 400, "{reply}");
    let past = body.replace(&due.to_string(), &(today - Duration::days(1)).to_string());
    assert_eq!(call(&server, "PUT", route, Some(&admin), &past).0, 400);
    let (status, reply) = call(&server, "PUT", route, Some(&admin), &body);
    assert_eq!(status, 200, "{reply}");

    // The next sync brings it: the plan now holds today's share of the stage, and the
    // recommendation says why.
    sync(&server, &phone, "ana");
    let goals = phone.tidbit.lock().unwrap().goals().unwrap();
    assert_eq!(goals.len(), 1);
    let goal = &goals[0];
    assert_eq!(goal.set_by, "server");
    assert_eq!(goal.spec.due, due.to_string());
    assert_eq!(goal.pace, Pace::OnTrack);
    assert!(goal.feasible, "{}", goal.summary);
    assert!(goal.minutes_today > 0 && goal.minutes_today < 60);
    let paced = new_steps(&phone, 60);
    assert!(
        paced > 0 && paced < unpaced,
        "paced {paced}, unpaced {unpaced}"
    );
    let next = phone.tidbit.lock().unwrap().next_activity().unwrap();
    assert!(
        next.reason.contains("Foundation in four weeks"),
        "{}",
        next.reason
    );

    // An impossible goal: the whole path by tomorrow at the default fifteen minutes a day.
    let tomorrow = today + Duration::days(1);
    let everything = format!(
        r#"{{"title": "Everything by tomorrow", "course": "{COURSE}", "path": "{PATH}", "due": "{tomorrow}"}}"#
    );
    let (status, reply) = call(
        &server,
        "PUT",
        "/v1/admin/learners/ana/goals/rush",
        Some(&admin),
        &everything,
    );
    assert_eq!(status, 200, "{reply}");
    sync(&server, &phone, "ana");
    let goals = phone.tidbit.lock().unwrap().goals().unwrap();
    let rush = goals.iter().find(|g| g.spec.goal == "rush").unwrap();
    assert!(!rush.feasible);
    assert!(rush.minutes_per_day_needed > 15, "{}", rush.summary);
    assert!(rush.summary.contains("cannot be met"), "{}", rush.summary);
    let earliest: NaiveDate = rush.earliest_date.clone().unwrap().parse().unwrap();
    assert!(earliest > tomorrow);

    // Withdrawn on the server: gone from the device after its next sync.
    let (status, reply) = call(
        &server,
        "DELETE",
        "/v1/admin/learners/ana/goals/rush",
        Some(&admin),
        "",
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        call(
            &server,
            "DELETE",
            "/v1/admin/learners/ana/goals/rush",
            Some(&admin),
            ""
        )
        .0,
        404
    );
    sync(&server, &phone, "ana");
    let goals = phone.tidbit.lock().unwrap().goals().unwrap();
    let ids: Vec<&str> = goals.iter().map(|g| g.spec.goal.as_str()).collect();
    assert_eq!(ids, ["foundation"]);
}

#[test]
fn a_roles_goal_reaches_its_holders_now_and_those_given_the_role_later() {
    let root = tempfile::tempdir().unwrap();
    let (server, clock) = server(root.path());
    let admin = server.admin_token();
    let ana = device(root.path(), &clock, "ana");
    let bo = device(root.path(), &clock, "bo");
    let roles = r#"{"roles": ["new-hire"]}"#;
    let (status, reply) = call(
        &server,
        "PUT",
        "/v1/admin/learners/ana/roles",
        Some(&admin),
        roles,
    );
    assert_eq!(status, 200, "{reply}");

    let goal = format!(
        r#"{{"title": "First 90 days", "course": "{COURSE}", "path": "{PATH}", "stages": ["foundation", "application"], "within_days": 90}}"#
    );
    let with_date = goal.replace(r#""within_days": 90"#, r#""due": "2030-01-01""#);
    let route = "/v1/admin/roles/new-hire/goals/first-90";
    assert_eq!(call(&server, "PUT", route, Some(&admin), &with_date).0, 400);
    let (status, reply) = call(&server, "PUT", route, Some(&admin), &goal);
    assert_eq!(status, 200, "{reply}");
    let given: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(given["given_to"], serde_json::json!(["ana"]));

    let today = clock.now().date_naive();
    sync(&server, &ana, "ana");
    sync(&server, &bo, "bo");
    let ana_goals = ana.tidbit.lock().unwrap().goals().unwrap();
    assert_eq!(ana_goals.len(), 1);
    assert_eq!(
        ana_goals[0].spec.due,
        (today + Duration::days(90)).to_string()
    );
    assert_eq!(ana_goals[0].spec.stages, ["foundation", "application"]);
    assert!(bo.tidbit.lock().unwrap().goals().unwrap().is_empty());

    // Bo is given the role ten days later: the goal comes with it, due 90 days from then.
    clock.set(clock.now() + Duration::days(10));
    bo.clock.set(clock.now());
    let (status, reply) = call(
        &server,
        "PUT",
        "/v1/admin/learners/bo/roles",
        Some(&admin),
        roles,
    );
    assert_eq!(status, 200, "{reply}");
    sync(&server, &bo, "bo");
    let bo_goals = bo.tidbit.lock().unwrap().goals().unwrap();
    assert_eq!(bo_goals.len(), 1);
    assert_eq!(
        bo_goals[0].spec.due,
        (today + Duration::days(100)).to_string()
    );
    assert_eq!(bo_goals[0].set_by, "server");

    let (status, listing) = call(&server, "GET", "/v1/admin/goals", Some(&admin), "");
    assert_eq!(status, 200);
    let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listing["learners"]["bo"]["first-90"]["role"], "new-hire");
    assert_eq!(listing["roles"]["new-hire"]["first-90"]["within_days"], 90);

    // Withdrawn from the role: gone from both devices.
    let (status, reply) = call(&server, "DELETE", route, Some(&admin), "");
    assert_eq!(status, 200, "{reply}");
    sync(&server, &ana, "ana");
    sync(&server, &bo, "bo");
    assert!(ana.tidbit.lock().unwrap().goals().unwrap().is_empty());
    assert!(bo.tidbit.lock().unwrap().goals().unwrap().is_empty());
}
