//! Who may read and write a cohort's space, and moderation: every combination of learner and
//! cohort is tried through the real server, and hidden content is gone from every device.

mod support;

use std::sync::Arc;

use automerge::AutoCommit;
use tidbit_core::community::{self, Entry, EntryKind};
use tidbit_core::events::ManualClock;
use tidbit_core::sync::documents::cohort_document;
use tidbit_core::sync::exchange::Exchange;
use tidbit_core::tidbit::{CommunityError, TidbitError};

use support::cohort::{admin_post, form, Member};
use support::{exchange_with, message_after, open_hub, post_sync, start, TestServer};

/// A server whose clock stands at the devices' start.
fn server(root: &std::path::Path) -> TestServer {
    let data = root.join("server");
    let clock = Arc::new(ManualClock::new(start()));
    TestServer::start_with(&data, Arc::new(open_hub(&data).with_clock(clock)))
}

/// The space of `cohort` as the server stores it, as a document.
fn stored_space(server: &TestServer, cohort: &str) -> AutoCommit {
    let stored = server
        .hub
        .storage
        .load(
            &tidbit_server::cohorts::owner(cohort),
            &cohort_document(cohort),
        )
        .unwrap()
        .unwrap();
    let mut doc = AutoCommit::load(&stored.snapshot).unwrap();
    for chunk in &stored.chunks {
        doc.load_incremental(chunk).unwrap();
    }
    doc
}

/// Sends a post written as `author` on `device` into `cohort`'s space with the token of
/// `learner`'s device `sender`; the status and whether the server refused the space's message.
fn append_as(
    server: &TestServer,
    cohort: &str,
    (learner, sender): (&str, &str),
    author: &str,
    device: &str,
) -> (u16, bool) {
    let name = cohort_document(cohort);
    let mut doc = stored_space(server, cohort);
    let before = doc.get_heads();
    let entry = Entry {
        id: String::new(),
        author: author.into(),
        device: device.into(),
        incarnation: "abc123".into(),
        sequence: 1,
        at_ms: start().timestamp_millis() + 60_000,
        kind: EntryKind::Post {
            text: format!("{author} writes to {cohort}"),
            module: None,
            step: None,
            summary: false,
        },
    };
    community::append(&mut doc, &name, &entry).unwrap();
    let token = server.token(learner, sender);
    let (status, body) = post_sync(
        &server.url(),
        learner,
        Some(&format!("Bearer {token}")),
        exchange_with(&name, message_after(&mut doc, &before)),
    );
    let refused = status == 200
        && Exchange::decode(&body)
            .unwrap()
            .refused
            .iter()
            .any(|r| r.doc == name);
    (status, refused)
}

/// The members' entries in `cohort`'s space (the server adds its own: rosters, rotas).
fn entries(server: &TestServer, cohort: &str) -> usize {
    tidbit_server::cohorts::entries(server.hub.storage.as_ref(), cohort)
        .unwrap()
        .iter()
        .filter(|e| e.author != tidbit_core::events::SERVER_DEVICE)
        .count()
}

fn audio_status(server: &TestServer, method: &str, cohort: &str, token: &str) -> u16 {
    // Each caller names other audio, so no upload stands where another left it.
    let sha = hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ));
    let url = format!("{}/v1/cohorts/{cohort}/audio/{sha}", server.url());
    let client = reqwest::blocking::Client::new();
    let request = match method {
        "HEAD" => client.head(&url),
        "GET" => client.get(&url),
        _ => client
            .put(&url)
            .header("upload-offset", "0")
            .header("upload-length", "4")
            .body(vec![1, 2]),
    };
    request.bearer_auth(token).send().unwrap().status().as_u16()
}

#[test]
fn a_member_reads_and_appends_to_their_cohorts_space_and_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    let server = server(root.path());
    assert_eq!(form(&server, "north", &["ana", "ben"]).0, 200);
    assert_eq!(form(&server, "south", &["chi", "ben"]).0, 200);
    let learners = ["ana", "ben", "chi", "eve"];
    let member_of = |learner: &str, cohort: &str| match cohort {
        "north" => ["ana", "ben"].contains(&learner),
        "south" => ["chi", "ben"].contains(&learner),
        _ => false,
    };
    // Reading: each device receives the spaces of its cohorts, and only those.
    for learner in learners {
        let device = Member::new(
            root.path(),
            &server,
            learner,
            &format!("{learner}-phone"),
            true,
        );
        device.sync(&server);
        let mut held = device.tidbit.lock().unwrap().cohorts().unwrap();
        held.sort();
        let expected: Vec<String> = ["north", "south"]
            .iter()
            .filter(|c| member_of(learner, c))
            .map(|c| c.to_string())
            .collect();
        assert_eq!(held, expected, "{learner} holds the wrong spaces");
    }
    // Writing and audio: every learner against every cohort, and one that does not exist.
    for learner in learners {
        let device = format!("{learner}-phone");
        let token = server.token(learner, &device);
        for cohort in ["north", "south", "west"] {
            let member = member_of(learner, cohort);
            if cohort != "west" {
                let before = entries(&server, cohort);
                let (status, refused) =
                    append_as(&server, cohort, (learner, &device), learner, &device);
                assert_eq!(status, 200);
                assert_eq!(refused, !member, "{learner} appending to {cohort}");
                let after = entries(&server, cohort);
                assert_eq!(after, before + usize::from(member), "{learner} in {cohort}");
            }
            let (head, get, put) = (
                audio_status(&server, "HEAD", cohort, &token),
                audio_status(&server, "GET", cohort, &token),
                audio_status(&server, "PUT", cohort, &token),
            );
            if member {
                // Nothing uploaded: HEAD and GET find nothing; an upload of a recording no share
                // of theirs names is refused.
                assert_eq!((head, get, put), (404, 404, 409), "{learner} in {cohort}");
            } else {
                assert_eq!((head, get, put), (403, 403, 403), "{learner} in {cohort}");
            }
        }
    }
    // A member never writes as another member, nor as the server.
    let before = entries(&server, "north");
    let ana = ("ana", "ana-phone");
    assert!(append_as(&server, "north", ana, "ben", "ana-phone").1);
    assert!(append_as(&server, "north", ana, "ana", "ben-phone").1);
    assert!(append_as(&server, "north", ana, "server", "server").1);
    assert_eq!(entries(&server, "north"), before);
    // The admin endpoints refuse device tokens and anonymous callers.
    for (path, token) in [
        ("/v1/admin/cohorts", Some(server.token("ana", "ana-phone"))),
        ("/v1/admin/cohorts", None),
        (
            "/v1/admin/cohorts/north",
            Some(server.token("ben", "ben-phone")),
        ),
    ] {
        let mut request = reqwest::blocking::Client::new().get(format!("{}{path}", server.url()));
        if let Some(token) = token.as_ref() {
            request = request.bearer_auth(token);
        }
        let status = request.send().unwrap().status().as_u16();
        assert_eq!(status, if token.is_some() { 403 } else { 401 }, "{path}");
    }
}

#[test]
fn hidden_and_withdrawn_content_is_gone_from_every_device_after_sync() {
    let root = tempfile::tempdir().unwrap();
    let server = server(root.path());
    let names = ["ana", "ben", "chi"];
    assert_eq!(form(&server, "north", &names).0, 200);
    let devices: Vec<Member> = names
        .iter()
        .map(|l| Member::new(root.path(), &server, l, &format!("{l}-phone"), true))
        .collect();
    // Twice round: what the last device sent reaches the first.
    let sync_all = || {
        for _ in 0..2 {
            for device in &devices {
                let report = device.sync(&server);
                assert!(report.refusals.is_empty(), "{:?}", report.refusals);
            }
        }
    };
    sync_all();
    let view = devices[0].tidbit.lock().unwrap().cohort("north").unwrap();
    let facilitator = view.rota.holder("facilitator").unwrap().to_string();
    let index = |learner: &str| names.iter().position(|n| *n == learner).unwrap();
    let others: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| *n != facilitator)
        .collect();
    let (author, reporter) = (others[0], others[1]);
    let rude = devices[index(author)]
        .tidbit
        .lock()
        .unwrap()
        .post_to_cohort("north", "something rude", None, None, false)
        .unwrap();
    sync_all();
    {
        let mut tidbit = devices[index(reporter)].tidbit.lock().unwrap();
        tidbit.report_in_cohort("north", &rude, "rude").unwrap();
        // A member who is not the facilitator may not hide another's post.
        let refused = tidbit.hide_in_cohort("north", &rude, "rude").unwrap_err();
        assert!(matches!(
            refused,
            TidbitError::Community(CommunityError::Refused { .. })
        ));
        // Nor rate a post as if it were a shared answer.
        assert!(matches!(
            tidbit
                .give_feedback("north", &rude, vec![], "")
                .unwrap_err(),
            TidbitError::Community(CommunityError::Refused { .. })
        ));
    }
    sync_all();
    let reports = devices[index(&facilitator)]
        .tidbit
        .lock()
        .unwrap()
        .cohort("north")
        .unwrap()
        .open_reports;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].target, rude);
    devices[index(&facilitator)]
        .tidbit
        .lock()
        .unwrap()
        .hide_in_cohort("north", &rude, "reported as rude")
        .unwrap();
    // The organisation hides another post; a member hides their own.
    let second = devices[index(reporter)]
        .tidbit
        .lock()
        .unwrap()
        .post_to_cohort("north", "off topic", None, None, false)
        .unwrap();
    let typo = devices[index(author)]
        .tidbit
        .lock()
        .unwrap()
        .post_to_cohort("north", "a typo", None, None, false)
        .unwrap();
    devices[index(author)]
        .tidbit
        .lock()
        .unwrap()
        .hide_in_cohort("north", &typo, "")
        .unwrap();
    sync_all();
    let (status, reply) = admin_post(
        &server,
        "/v1/admin/cohorts/north/hide",
        serde_json::json!({"target": second, "reason": "off topic"}),
    );
    assert_eq!(status, 200, "{reply}");
    sync_all();
    for device in &devices {
        let view = device.tidbit.lock().unwrap().cohort("north").unwrap();
        let ids: Vec<&str> = view.posts.iter().map(|p| p.id.as_str()).collect();
        for hidden in [&rude, &second, &typo] {
            assert!(
                !ids.contains(&hidden.as_str()),
                "{} still shows {hidden}",
                device.device
            );
        }
        assert!(view.open_reports.is_empty());
    }

    // Leaving withdraws everything the member shared, and the space stops syncing to them.
    let kept = devices[index(reporter)]
        .tidbit
        .lock()
        .unwrap()
        .post_to_cohort("north", "see you all", None, None, false)
        .unwrap();
    sync_all();
    devices[index(reporter)]
        .tidbit
        .lock()
        .unwrap()
        .leave_cohort("north")
        .unwrap();
    sync_all();
    for device in &devices {
        let view = device.tidbit.lock().unwrap().cohort("north").unwrap();
        assert!(view
            .posts
            .iter()
            .all(|p| p.id != kept && p.author != reporter));
        assert!(view.members.iter().all(|m| m.learner != reporter));
    }
    let left = &devices[index(reporter)];
    assert!(left.tidbit.lock().unwrap().cohorts().unwrap().is_empty());
    assert!(matches!(
        left.tidbit
            .lock()
            .unwrap()
            .post_to_cohort("north", "still here?", None, None, false)
            .unwrap_err(),
        TidbitError::Community(CommunityError::NotAMember(_))
    ));
    assert_eq!(
        tidbit_server::cohorts::cohorts_of(server.hub.storage.as_ref(), reporter).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn the_weeks_reviewer_is_nudged_to_review_a_peers_answer_outside_quiet_hours() {
    let root = tempfile::tempdir().unwrap();
    let server = server(root.path());
    assert_eq!(form(&server, "north", &["ana", "ben"]).0, 200);
    let devices: Vec<Member> = ["ana", "ben"]
        .iter()
        .map(|l| Member::new(root.path(), &server, l, &format!("{l}-phone"), true))
        .collect();
    for device in &devices {
        device.sync(&server);
    }
    let view = devices[0].tidbit.lock().unwrap().cohort("north").unwrap();
    let reviewer_name = view.rota.holder("reviewer").unwrap().to_string();
    let (reviewer, author) = if devices[0].learner == reviewer_name {
        (&devices[0], &devices[1])
    } else {
        (&devices[1], &devices[0])
    };
    let answer = author.reflect("Criteria first, then a fair test");
    let share = author
        .tidbit
        .lock()
        .unwrap()
        .share_answer(
            "north",
            &answer,
            tidbit_core::community::SharedAnswer::Reflection {
                text: "Criteria first, then a fair test".into(),
            },
        )
        .unwrap();
    author.sync(&server);
    reviewer.sync(&server);
    let prefs = tidbit_core::nudge::NudgePreferences::consented();
    let prompts = |device: &Member| -> Vec<tidbit_core::nudge::Nudge> {
        device
            .tidbit
            .lock()
            .unwrap()
            .plan_nudges(&prefs)
            .unwrap()
            .nudges
            .into_iter()
            .filter(|n| n.kind == tidbit_core::events::NudgeKind::CohortPrompt)
            .collect()
    };
    let nudged = prompts(reviewer);
    assert_eq!(nudged.len(), 1, "{nudged:?}");
    assert_eq!(
        nudged[0].body.text,
        format!(
            "Your turn to review {}'s answer to '{}'.",
            author.learner,
            view_prompt(reviewer, &share)
        )
    );
    assert_eq!(
        nudged[0].deep_link,
        format!("tidbit://cohort/north/share/{share}")
    );
    // Quiet hours (21:00 to 08:00, Berlin) hold.
    let hour = chrono::Timelike::hour(&nudged[0].fire_at_local);
    assert!((8..21).contains(&hour), "at {hour}:00");
    // The author is not nudged; once the reviewer has rated it, neither are they.
    assert!(prompts(author).is_empty());
    reviewer
        .tidbit
        .lock()
        .unwrap()
        .give_feedback("north", &share, vec![true, true, false], "Good start")
        .unwrap();
    assert!(prompts(reviewer).is_empty());
}

fn view_prompt(device: &Member, share: &str) -> String {
    let view = device.tidbit.lock().unwrap().cohort("north").unwrap();
    view.shares
        .into_iter()
        .find(|s| s.id == share)
        .map(|s| s.prompt)
        .unwrap()
}

/// Sends what `change` does to `cohort`'s stored space as a message of ana's phone; whether the
/// server refused the space's message.
fn send_change(
    server: &TestServer,
    cohort: &str,
    change: impl FnOnce(&mut AutoCommit, &str),
) -> bool {
    let name = cohort_document(cohort);
    let mut doc = stored_space(server, cohort);
    let before = doc.get_heads();
    change(&mut doc, &name);
    let token = server.token("ana", "ana-phone");
    let (status, body) = post_sync(
        &server.url(),
        "ana",
        Some(&format!("Bearer {token}")),
        exchange_with(&name, message_after(&mut doc, &before)),
    );
    assert_eq!(status, 200);
    Exchange::decode(&body)
        .unwrap()
        .refused
        .iter()
        .any(|r| r.doc == name)
}

/// A change a hostile device makes to a space's document before sending it.
type Change = Box<dyn FnOnce(&mut AutoCommit, &str)>;

fn ana_writes(at_ms: i64, sequence: u64, kind: EntryKind) -> Entry {
    Entry {
        id: Entry::make_id("ana", "ana-phone", "abc123", sequence),
        author: "ana".into(),
        device: "ana-phone".into(),
        incarnation: "abc123".into(),
        sequence,
        at_ms,
        kind,
    }
}

#[test]
fn a_hostile_message_to_a_cohort_space_is_refused_and_changes_nothing() {
    use automerge::transaction::Transactable;
    use automerge::{ReadDoc, ROOT};
    let root = tempfile::tempdir().unwrap();
    let server = server(root.path());
    assert_eq!(form(&server, "north", &["ana", "ben"]).0, 200);
    let at = start().timestamp_millis() + 1000;
    let post = ana_writes(
        at,
        1,
        EntryKind::Post {
            text: "a fair post".into(),
            module: None,
            step: None,
            summary: false,
        },
    );
    assert!(!send_change(&server, "north", |doc, name| {
        community::append(doc, name, &post).unwrap()
    }));
    let stored = stored_space(&server, "north").get_heads();
    let list = |doc: &AutoCommit| doc.get(ROOT, "entries").unwrap().unwrap().1;
    let hostile: Vec<(&str, Change)> = vec![
        (
            "delete the roster",
            Box::new(move |doc: &mut AutoCommit, _: &str| {
                let l = list(doc);
                doc.delete(&l, 0).unwrap();
            }),
        ),
        (
            "write another root key",
            Box::new(|doc: &mut AutoCommit, _: &str| doc.put(ROOT, "roster", "mine").unwrap()),
        ),
        (
            "insert bytes that are not an entry",
            Box::new(move |doc: &mut AutoCommit, _: &str| {
                let l = list(doc);
                let end = doc.length(&l);
                doc.insert(&l, end, automerge::ScalarValue::Bytes(b"\xff".to_vec()))
                    .unwrap();
            }),
        ),
        (
            "rate a post as if it were a shared answer",
            Box::new(move |doc: &mut AutoCommit, name: &str| {
                let rating = ana_writes(
                    at + 10,
                    2,
                    EntryKind::Feedback {
                        share: post.id.clone(),
                        criteria_met: vec![],
                        comment: String::new(),
                    },
                );
                community::append(doc, name, &rating).unwrap()
            }),
        ),
        (
            "send again an entry the space holds, with other text",
            Box::new(move |doc: &mut AutoCommit, name: &str| {
                let mut again = ana_writes(
                    at + 5,
                    1,
                    EntryKind::Post {
                        text: "a fair post, edited".into(),
                        module: None,
                        step: None,
                        summary: false,
                    },
                );
                again.at_ms = at + 40;
                community::append(doc, name, &again).unwrap()
            }),
        ),
        (
            "write more entries than a member may",
            Box::new(move |doc: &mut AutoCommit, name: &str| {
                let limit = tidbit_core::community::entry::MAX_ENTRIES_PER_MEMBER as u64;
                for sequence in 10..=10 + limit {
                    let day = ana_writes(
                        at + sequence as i64,
                        sequence,
                        EntryKind::Practised { day: 20_000 },
                    );
                    community::append(doc, name, &day).unwrap();
                }
            }),
        ),
        (
            "post 5 KiB of text",
            Box::new(move |doc: &mut AutoCommit, name: &str| {
                let long = ana_writes(
                    at + 20,
                    3,
                    EntryKind::Post {
                        text: "x".repeat(5 * 1024),
                        module: None,
                        step: None,
                        summary: false,
                    },
                );
                community::append(doc, name, &long).unwrap()
            }),
        ),
        (
            "write the server's roster",
            Box::new(move |doc: &mut AutoCommit, name: &str| {
                let roster = ana_writes(
                    at + 30,
                    4,
                    EntryKind::Roster {
                        course: "c".into(),
                        path: "p".into(),
                        roles: vec![],
                        members: vec!["ana".into()],
                    },
                );
                community::append(doc, name, &roster).unwrap()
            }),
        ),
    ];
    for (what, change) in hostile {
        assert!(send_change(&server, "north", change), "{what} was taken");
        assert_eq!(
            stored_space(&server, "north").get_heads(),
            stored,
            "{what} changed the space"
        );
    }
}
