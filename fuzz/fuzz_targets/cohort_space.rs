//! An arbitrary Automerge sync message applied to a cohort's space the way the server applies a
//! member's message (`community::receive` with the member's identity, on a space holding a
//! roster and a post), then folded into the view every device shows; and the same bytes decoded
//! as one entry and folded. Nothing may panic; an error, a refusal or an ignored entry is fine.
#![no_main]

use automerge::sync;
use libfuzzer_sys::fuzz_target;
use tidbit_core::community::{self, CohortView, Entry, EntryKind, Sender};
use tidbit_core::events::SERVER_DEVICE;
use tidbit_core::sync::documents::{self, cohort_document};
use tidbit_core::sync::peer::{self, Policy};

const AT: i64 = 1_796_000_000_000;

fn entry(author: &str, device: &str, sequence: u64, kind: EntryKind) -> Entry {
    Entry {
        id: Entry::make_id(author, device, "a1", sequence),
        author: author.into(),
        device: device.into(),
        incarnation: "a1".into(),
        sequence,
        at_ms: AT + sequence as i64,
        kind,
    }
}

fn space() -> (automerge::AutoCommit, Vec<Entry>) {
    let name = cohort_document("north");
    let mut doc = documents::genesis(&name).expect("a genesis");
    let held = vec![
        entry(
            SERVER_DEVICE,
            SERVER_DEVICE,
            1,
            EntryKind::Roster {
                course: "c".into(),
                path: "p".into(),
                roles: Vec::new(),
                members: vec!["ana".into(), "ben".into()],
            },
        ),
        entry(
            "ben",
            "ben-phone",
            2,
            EntryKind::Post {
                text: "hello".into(),
                module: None,
                step: None,
                summary: false,
            },
        ),
    ];
    for e in &held {
        community::append(&mut doc, &name, e).expect("an append");
    }
    (doc, held)
}

fuzz_target!(|data: &[u8]| {
    let name = cohort_document("north");
    let (mut doc, held) = space();
    let sender = Sender {
        learner: "ana".into(),
        device: "ana-phone".into(),
    };
    let mut state = sync::State::new();
    let mut budget = peer::MAX_INFLATED_BYTES;
    let policy = Policy::server("ana-phone", AT);
    if let Ok(received) =
        community::receive(&mut doc, &name, &mut state, data, &policy, Some(&sender), &mut budget)
    {
        let mut entries = held.clone();
        entries.extend(received.added);
        let view = CohortView::of("north", entries, AT + 86_400_000);
        let _ = view.digest();
    }
    if let Ok(decoded) = Entry::decode(data) {
        let mut entries = held;
        entries.push(decoded);
        let _ = CohortView::of("north", entries, AT).digest();
    }
});
