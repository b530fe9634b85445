//! A cohort of twelve over a simulated month, through the real server: each member learns and
//! writes to the cohort's space on their own device, offline most days (one for two weeks),
//! and syncs now and then. At the end every device shows the same space, rota and metrics
//! (one digest, the server's too), and nothing anyone wrote is lost.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use tidbit_core::community::{rota, CohortView, Reaction, SharedAnswer};
use tidbit_core::events::ManualClock;
use tidbit_core::simulate::PracticeDevice;

use support::cohort::{form, Coin, Member};
use support::{open_hub, start, TestServer};

const LEARNERS: [&str; 12] = [
    "ana", "ben", "chi", "dev", "eli", "fay", "gus", "hal", "ivy", "jon", "kim", "lou",
];
const COHORT: &str = "north-1";
const DAYS: i64 = 30;
/// The member offline from day 5 to day 19.
const OFFLINE: &str = "lou";

#[test]
fn twelve_members_over_a_month_end_with_the_same_space_and_nothing_lost() {
    let root = tempfile::tempdir().unwrap();
    // The server's clock moves with the month: the cohort is formed the evening before.
    let clock = Arc::new(ManualClock::new(start() - chrono::Duration::hours(12)));
    let data = root.path().join("server");
    let server = TestServer::start_with(&data, Arc::new(open_hub(&data).with_clock(clock.clone())));
    let (status, reply) = form(&server, COHORT, &LEARNERS);
    assert_eq!(status, 200, "{reply}");
    // Twelve members on their own devices, and ana on a tablet besides.
    let mut devices: Vec<Member> = LEARNERS
        .iter()
        .map(|l| Member::new(root.path(), &server, l, &format!("{l}-phone"), true))
        .collect();
    devices.push(Member::new(root.path(), &server, "ana", "ana-tablet", true));
    for device in &devices {
        device.sync(&server);
    }
    assert!(devices
        .iter()
        .all(|d| d.tidbit.lock().unwrap().cohorts().unwrap() == vec![COHORT.to_string()]));

    let mut coin = Coin::new(0x005e_edc0_4047);
    let mut written: BTreeSet<String> = BTreeSet::new();
    let mut syncs = 0;
    let mut practisers: Vec<PracticeDevice> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| PracticeDevice::new(&d.tidbit.lock().unwrap(), i as u64, 0.75).unwrap())
        .collect();
    for day in 0..DAYS {
        clock.set(start() + chrono::Duration::days(day) + chrono::Duration::hours(12));
        for (i, device) in devices.iter().enumerate() {
            let at =
                start() + chrono::Duration::days(day) + chrono::Duration::minutes(30 * i as i64);
            device.clock.set(at);
            let offline = device.learner == OFFLINE && (5..20).contains(&day);
            let mut tidbit = device.tidbit.lock().unwrap();
            if coin.chance(0.7) {
                practisers[i]
                    .practise(&mut tidbit, &device.clock, 4)
                    .unwrap();
            }
            if coin.chance(0.25) {
                let module = coin.chance(0.3).then(|| "reframe-on-value".to_string());
                let text = format!("{} on day {day}: tried it on a call today", device.learner);
                written.insert(
                    tidbit
                        .post_to_cohort(COHORT, &text, module, None, false)
                        .unwrap(),
                );
            }
            if coin.chance(0.12) {
                drop(tidbit);
                let text = format!("{}'s comparison, day {day}", device.learner);
                let answer = device.reflect(&text);
                tidbit = device.tidbit.lock().unwrap();
                written.insert(
                    tidbit
                        .share_answer(COHORT, &answer, SharedAnswer::Reflection { text })
                        .unwrap(),
                );
            }
            let view = tidbit.cohort(COHORT).unwrap();
            let reviewer = view.rota.holder("reviewer") == Some(device.learner.as_str());
            for share in &view.shares {
                let rated = share.feedback.iter().any(|f| f.reviewer == device.learner);
                if share.author != device.learner && !rated && (reviewer || coin.chance(0.15)) {
                    let met = share.criteria.iter().map(|_| coin.chance(0.7)).collect();
                    written.insert(
                        tidbit
                            .give_feedback(COHORT, &share.id, met, "Clear; name a fair test too")
                            .unwrap(),
                    );
                }
            }
            if let Some(post) = view.posts.get(coin.below(view.posts.len().max(1))) {
                if post.author != device.learner && coin.chance(0.2) {
                    // The same reaction twice is refused; the first stands.
                    if let Ok(id) = tidbit.react(COHORT, &post.id, Reaction::Thanks) {
                        written.insert(id);
                    }
                }
            }
            // The summariser rounds the week up on its last day (Monday is a new week).
            let last_day = rota::week_of(at.timestamp_millis() + 86_400_000)
                != rota::week_of(at.timestamp_millis());
            if last_day && view.rota.holder("summariser") == Some(device.learner.as_str()) {
                let summary = format!("Week {} in short: pricing, then timing", view.rota.week);
                written.insert(
                    tidbit
                        .post_to_cohort(COHORT, &summary, None, None, true)
                        .unwrap(),
                );
                written.insert(tidbit.mark_duty_done(COHORT, "summariser").unwrap());
            }
            // gus takes a break from the rota in the second week and is back in the fourth.
            if device.learner == "gus" && (day == 8 || day == 22) {
                written.insert(tidbit.set_rota_availability(COHORT, day == 22).unwrap());
            }
            drop(tidbit);
            if !offline && coin.chance(0.35) {
                device.sync(&server);
                syncs += 1;
            }
        }
    }

    // Everyone comes online at the same moment, twice round, then compares.
    let end = start() + chrono::Duration::days(DAYS) + chrono::Duration::hours(12);
    clock.set(end);
    for _ in 0..2 {
        for device in &devices {
            device.clock.set(end);
            device.sync(&server);
            syncs += 1;
        }
    }
    let views: Vec<CohortView> = devices
        .iter()
        .map(|d| d.tidbit.lock().unwrap().cohort(COHORT).unwrap())
        .collect();
    let digest = views[0].digest();
    for (device, view) in devices.iter().zip(&views) {
        if view.digest() != digest {
            show_difference(&views[0], view);
        }
        assert_eq!(view.digest(), digest, "{} differs", device.device);
    }
    let on_server =
        tidbit_server::cohorts::view(server.hub.storage.as_ref(), COHORT, end.timestamp_millis())
            .unwrap();
    if on_server.digest() != digest {
        show_difference(&views[0], &on_server);
    }
    assert_eq!(on_server.digest(), digest, "the server's view differs");

    // Nothing lost: every entry any device wrote is in the server's space.
    let stored: BTreeSet<String> =
        tidbit_server::cohorts::entries(server.hub.storage.as_ref(), COHORT)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
    let lost: Vec<&String> = written.difference(&stored).collect();
    assert!(lost.is_empty(), "{} entries lost: {lost:?}", lost.len());
    let view = &views[0];
    assert!(view.ignored.is_empty(), "{:?}", view.ignored);
    let shown = view.posts.len()
        + view.shares.len()
        + view.shares.iter().map(|s| s.feedback.len()).sum::<usize>();
    assert!(shown > 100, "only {shown} posts, shares and feedback");
    // The order is stable: by time, then id.
    assert!(view
        .posts
        .windows(2)
        .all(|w| (w[0].at_ms, &w[0].id) < (w[1].at_ms, &w[1].id)));
    // Four weeks of rota ran, three roles each, and most duties were done.
    let metrics = &view.metrics;
    assert_eq!(metrics.members, 12);
    assert!(metrics.duties_assigned >= 9, "{metrics:?}");
    assert!(
        metrics.duties_fulfilled * 2 >= metrics.duties_assigned,
        "{metrics:?}"
    );
    assert!(metrics.median_first_feedback_ms.is_some());
    assert_eq!(view.rota.duties.len(), 3);
    println!(
        "cohort month: {} members + 1 second device, {DAYS} days, {} entries written, {syncs} syncs; \
         {} posts, {} shares, {} feedback; active 7/14/30 d: {}/{}/{}; first feedback median {:.1} h; \
         duties {}/{}; digest {digest}",
        LEARNERS.len(),
        written.len(),
        view.posts.len(),
        view.shares.len(),
        view.shares.iter().map(|s| s.feedback.len()).sum::<usize>(),
        metrics.active_7d,
        metrics.active_14d,
        metrics.active_30d,
        metrics.median_first_feedback_ms.unwrap_or(0) as f64 / 3_600_000.0,
        metrics.duties_fulfilled,
        metrics.duties_assigned,
    );
}

/// Prints where two views differ, for a failing run.
fn show_difference(a: &CohortView, b: &CohortView) {
    let a = serde_json::to_string_pretty(a).unwrap();
    let b = serde_json::to_string_pretty(b).unwrap();
    for (line, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            println!("line {line}: {x}  |  {y}");
        }
    }
}
