use super::rota::{week_of, week_start_ms, Duty, DAY_MS};
use super::*;
use crate::events::SERVER_DEVICE;

/// Monday 2026-11-30 00:00 UTC.
const MONDAY: i64 = 1_795_996_800_000;

struct Writer {
    learner: &'static str,
    sequence: u64,
}

impl Writer {
    fn new(learner: &'static str) -> Writer {
        Writer {
            learner,
            sequence: 0,
        }
    }

    fn write(&mut self, at_ms: i64, kind: EntryKind) -> Entry {
        self.sequence += 1;
        let device = if self.learner == SERVER_DEVICE {
            SERVER_DEVICE.to_string()
        } else {
            format!("{}-phone", self.learner)
        };
        Entry {
            id: Entry::make_id(self.learner, &device, "a1", self.sequence),
            author: self.learner.into(),
            device,
            incarnation: "a1".into(),
            sequence: self.sequence,
            at_ms,
            kind,
        }
    }
}

fn roster(at_ms: i64, members: &[&str]) -> Entry {
    Writer::new(SERVER_DEVICE).write(
        at_ms,
        EntryKind::Roster {
            course: "sales".into(),
            path: "rep".into(),
            roles: vec![],
            members: members.iter().map(|m| m.to_string()).collect(),
        },
    )
}

fn post(text: &str) -> EntryKind {
    EntryKind::Post {
        text: text.into(),
        module: None,
        step: None,
        summary: false,
    }
}

fn share() -> EntryKind {
    EntryKind::Share {
        course: "sales".into(),
        step: "explain-refunds".into(),
        answer_event: "e1".into(),
        prompt: "Explain the refund policy to a customer".into(),
        criteria: vec!["names the 30 days".into(), "offers an exchange".into()],
        answer: SharedAnswer::Reflection {
            text: "You have 30 days...".into(),
        },
    }
}

#[test]
fn the_view_is_the_same_whatever_order_the_entries_arrive_in() {
    let mut ana = Writer::new("ana");
    let mut ben = Writer::new("ben");
    let shared = ana.write(MONDAY + DAY_MS, share());
    let entries = vec![
        roster(MONDAY, &["ana", "ben", "chi"]),
        ana.write(MONDAY + 1000, post("Hello all")),
        shared.clone(),
        ben.write(
            MONDAY + 2 * DAY_MS,
            EntryKind::Feedback {
                share: shared.id.clone(),
                criteria_met: vec![true, false],
                comment: "Offer the exchange too".into(),
            },
        ),
        ben.write(
            MONDAY + 2 * DAY_MS + 1,
            EntryKind::Reaction {
                target: shared.id.clone(),
                reaction: Reaction::Helpful,
            },
        ),
    ];
    let now = MONDAY + 3 * DAY_MS;
    let forward = CohortView::of("north", entries.clone(), now);
    let mut reversed = entries.clone();
    reversed.reverse();
    reversed.push(entries[1].clone());
    let backward = CohortView::of("north", reversed, now);
    assert_eq!(forward, backward);
    assert_eq!(forward.digest(), backward.digest());
    assert_eq!(forward.posts.len(), 1);
    assert_eq!(forward.shares[0].feedback[0].reviewer, "ben");
    assert_eq!(forward.shares[0].reactions[0].count, 1);
    assert_eq!(forward.metrics.shares_with_feedback, 1);
    assert_eq!(forward.metrics.median_first_feedback_ms, Some(DAY_MS));
    assert!(forward.ignored.is_empty());
}

#[test]
fn feedback_that_does_not_fit_is_ignored_with_a_reason() {
    let mut ana = Writer::new("ana");
    let mut ben = Writer::new("ben");
    let mut eve = Writer::new("eve");
    let shared = ana.write(MONDAY + 10, share());
    let a_post = ana.write(MONDAY + 11, post("Not an answer"));
    let rate = |w: &mut Writer, target: &str, met: Vec<bool>, at: i64| {
        w.write(
            at,
            EntryKind::Feedback {
                share: target.into(),
                criteria_met: met,
                comment: String::new(),
            },
        )
    };
    let entries = vec![
        roster(MONDAY, &["ana", "ben"]),
        shared.clone(),
        a_post.clone(),
        rate(&mut ben, &a_post.id, vec![], MONDAY + 20),
        rate(&mut ben, &shared.id, vec![true], MONDAY + 21),
        rate(&mut ana, &shared.id, vec![true, true], MONDAY + 22),
        rate(&mut eve, &shared.id, vec![true, true], MONDAY + 23),
        rate(&mut ben, &shared.id, vec![true, true], MONDAY + 24),
        rate(&mut ben, &shared.id, vec![false, false], MONDAY + 25),
    ];
    let view = CohortView::of("north", entries, MONDAY + DAY_MS);
    let reasons: Vec<&str> = view.ignored.iter().map(|i| i.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "it rates an entry that is not a shared answer",
            "it rates 1 criteria; the answer has 2",
            "it rates the reviewer's own answer",
            "eve is not a member of this cohort",
        ]
    );
    // Ben rated twice: his latest rating replaces the first.
    assert_eq!(view.shares[0].feedback.len(), 1);
    assert_eq!(view.shares[0].feedback[0].criteria_met, vec![false, false]);
}

#[test]
fn hiding_and_leaving_take_content_out_of_every_view() {
    let members = ["ana", "ben", "chi", "dev"];
    let start = MONDAY - 7 * DAY_MS;
    let mut writers: Vec<Writer> = members.iter().map(|m| Writer::new(m)).collect();
    let mut entries = vec![roster(start, &members)];
    // Everyone is active before the week begins.
    for (i, w) in writers.iter_mut().enumerate() {
        entries.push(w.write(start + 1000 + i as i64, post("hello")));
    }
    let space = CohortSpace::fold("north", entries.clone());
    let mut space = space;
    let facilitator = space
        .rota(week_of(MONDAY))
        .holder("facilitator")
        .unwrap()
        .to_string();
    let other = members
        .iter()
        .find(|m| **m != facilitator)
        .unwrap()
        .to_string();
    let third = members
        .iter()
        .find(|m| **m != facilitator && **m != other)
        .unwrap()
        .to_string();
    let writer = |name: &str, writers: &mut Vec<Writer>| -> usize {
        writers.iter().position(|w| w.learner == name).unwrap()
    };
    let o = writer(&other, &mut writers);
    let rude = writers[o].write(MONDAY + 100, post("something rude"));
    let own = writers[o].write(MONDAY + 101, post("a typo"));
    let t = writer(&third, &mut writers);
    let report = writers[t].write(
        MONDAY + 102,
        EntryKind::Report {
            target: rude.id.clone(),
            reason: "rude".into(),
        },
    );
    let not_allowed = writers[t].write(
        MONDAY + 103,
        EntryKind::Hide {
            target: rude.id.clone(),
            reason: "I do not like it".into(),
        },
    );
    entries.extend([rude.clone(), own.clone(), report, not_allowed]);
    let before = CohortView::of("north", entries.clone(), MONDAY + 200);
    assert_eq!(before.open_reports.len(), 1);
    assert!(before.posts.iter().any(|p| p.id == rude.id));
    assert_eq!(
        before.ignored.len(),
        1,
        "a member may not hide another's post"
    );

    let f = writer(&facilitator, &mut writers);
    entries.push(writers[f].write(
        MONDAY + 300,
        EntryKind::Hide {
            target: rude.id.clone(),
            reason: "reported".into(),
        },
    ));
    entries.push(writers[o].write(
        MONDAY + 301,
        EntryKind::Hide {
            target: own.id.clone(),
            reason: String::new(),
        },
    ));
    let after = CohortView::of("north", entries.clone(), MONDAY + 400);
    assert!(after
        .posts
        .iter()
        .all(|p| p.id != rude.id && p.id != own.id));
    assert!(after.open_reports.is_empty());

    // Leaving withdraws everything the member wrote, and they are no longer in the rota.
    entries.push(writers[t].write(MONDAY + 500, EntryKind::Leave {}));
    let left = CohortView::of("north", entries.clone(), MONDAY + 600);
    assert!(left.posts.iter().all(|p| p.author != third));
    assert!(left.members.iter().all(|m| m.learner != third));
    // From the next week on, the rota no longer counts them.
    let next_week = CohortView::of("north", entries, week_start_ms(week_of(MONDAY) + 1) + 1);
    assert_eq!(next_week.rota.duties.len(), 3);
    assert!(next_week.rota.duties.iter().all(|d| d.learner != third));
}

#[test]
fn duties_done_count_only_for_their_holder() {
    let members = ["ana", "ben", "chi"];
    let start = MONDAY - 7 * DAY_MS;
    let mut entries = vec![roster(start, &members)];
    let mut space = CohortSpace::fold("north", entries.clone());
    let week = week_of(MONDAY);
    let rota = space.rota(week);
    let summariser = rota.holder("summariser").unwrap();
    let not_summariser = members.iter().find(|m| **m != summariser).unwrap();
    let mut holder = Writer::new(members.iter().find(|m| **m == summariser).unwrap());
    let mut other = Writer::new(not_summariser);
    entries.push(holder.write(
        MONDAY + 1,
        EntryKind::RoleDone {
            week,
            role: "summariser".into(),
        },
    ));
    entries.push(other.write(
        MONDAY + 2,
        EntryKind::RoleDone {
            week,
            role: "summariser".into(),
        },
    ));
    let view = CohortView::of("north", entries, MONDAY + 8 * DAY_MS);
    assert_eq!(view.ignored.len(), 1);
    assert!(view.ignored[0].reason.contains("was not the summariser"));
    assert_eq!(view.metrics.duties_assigned, 3);
    assert_eq!(view.metrics.duties_fulfilled, 1);
}

#[test]
fn copies_of_one_id_count_once_and_a_target_left_out_may_fit_elsewhere() {
    let mut ana = Writer::new("ana");
    let mut ben = Writer::new("ben");
    let shared = ana.write(MONDAY + 10, share());
    let rating = ben.write(
        MONDAY + 20,
        EntryKind::Feedback {
            share: shared.id.clone(),
            criteria_met: vec![true, true],
            comment: "clear".into(),
        },
    );
    // A copy of ben's rating with other content, sorted far from the first.
    let mut copy = rating.clone();
    copy.at_ms = MONDAY + 5_000;
    copy.kind = EntryKind::Feedback {
        share: shared.id.clone(),
        criteria_met: vec![false, false],
        comment: "changed".into(),
    };
    // Ana hides her share before ben's rating (her clock ran behind); chi reacts to the rating.
    let hide = ana.write(
        MONDAY + 15,
        EntryKind::Hide {
            target: shared.id.clone(),
            reason: String::new(),
        },
    );
    let mut chi = Writer::new("chi");
    let thanks = chi.write(
        MONDAY + 30,
        EntryKind::Reaction {
            target: rating.id.clone(),
            reaction: Reaction::Thanks,
        },
    );
    let entries = vec![
        roster(MONDAY, &["ana", "ben", "chi"]),
        shared,
        rating.clone(),
        copy,
        hide,
        thanks,
    ];
    let space = CohortSpace::fold("north", entries);
    assert_eq!(
        space.accepted.iter().filter(|e| e.id == rating.id).count(),
        0,
        "the rating of a hidden share is left out"
    );
    // Left out, not unknown: an honest device may hold it, so the server must not refuse it.
    let ignored: Vec<(&str, bool)> = space
        .ignored
        .iter()
        .map(|i| (i.reason.as_str(), i.permanent))
        .collect();
    assert_eq!(
        ignored,
        vec![
            ("it rates an answer that was hidden", false),
            ("its target was left out of the space", false),
        ]
    );
}

#[test]
fn a_rota_the_server_fixed_stands_whatever_arrives_later() {
    let members = ["ana", "ben", "chi", "dev"];
    let start = MONDAY - 7 * DAY_MS;
    let mut entries = vec![roster(start, &members)];
    let week = week_of(MONDAY);
    let fixed = vec![
        Duty {
            role: "facilitator".into(),
            learner: "dev".into(),
        },
        Duty {
            role: "reviewer".into(),
            learner: "ana".into(),
        },
    ];
    // Another of the server's writes than the roster (another sequence, another id).
    let mut server = Writer::new(SERVER_DEVICE);
    server.sequence = 10;
    entries.push(server.write(
        MONDAY + 3 * DAY_MS,
        EntryKind::RotaFixed {
            week,
            duties: fixed.clone(),
        },
    ));
    // Dev hides a post on Monday, before the server fixed the rota on Thursday.
    let mut ben = Writer::new("ben");
    let post = ben.write(MONDAY + 1000, post("off topic"));
    let mut dev = Writer::new("dev");
    let hide = dev.write(
        MONDAY + 2000,
        EntryKind::Hide {
            target: post.id.clone(),
            reason: "off topic".into(),
        },
    );
    entries.extend([post.clone(), hide]);
    let mut space = CohortSpace::fold("north", entries);
    assert_eq!(space.rota(week).duties, fixed);
    assert_eq!(space.rota(week).open_roles, vec!["summariser"]);
    assert!(space.hidden.contains(&post.id));
}
