//! Real sync material: a device store with the sample course installed, the events another
//! device records while learning, the server's document holding them, and the Automerge sync
//! messages that document sends a device that has only the genesis change.

use std::path::Path;
use std::sync::Arc;

use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, AutoCommit};
use chrono::{DateTime, Utc};
use tidbit_core::events::{Event, ManualClock};
use tidbit_core::learn::assess::Response;
use tidbit_core::sync::documents;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

use crate::course_source::{sample_pack, COURSE_ID, PATH_ID};

/// The period document every sample event belongs to.
pub const DOCUMENT: &str = "events-2026-11";
pub const LEARNER: &str = "ada";

/// The devices' clock: inside [`DOCUMENT`]'s month.
pub fn clock_start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-10T08:00:00Z")
        .expect("a fixed date")
        .with_timezone(&Utc)
}

/// A device of [`LEARNER`] storing its data under `dir`, with the sample course installed and
/// the learner enrolled in its path.
pub fn open_device(dir: &Path, device: &str) -> Result<Tidbit, String> {
    let pack = dir.join("sample.tidbit");
    std::fs::write(&pack, sample_pack()).map_err(|e| e.to_string())?;
    let mut tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: dir.join("data"),
            learner_id: LEARNER.into(),
            device_id: device.into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: crate::trusted_keys().clone(),
            at_rest_key: None,
        },
        Arc::new(ManualClock::new(clock_start())),
    )
    .map_err(|e| e.to_string())?;
    tidbit
        .install_pack(&pack, &mut |_, _| {})
        .map_err(|e| e.to_string())?;
    tidbit
        .enroll(COURSE_ID, PATH_ID)
        .map_err(|e| e.to_string())?;
    Ok(tidbit)
}

/// What a tablet records while it takes the intro module: enrolment, module start, a lesson
/// read and two answers.
pub fn tablet_events() -> Result<Vec<Event>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut tablet = open_device(dir.path(), "tablet")?;
    let failed = |e: tidbit_core::tidbit::TidbitError| e.to_string();
    tablet.start_module(COURSE_ID, "intro").map_err(failed)?;
    tablet.view_step(COURSE_ID, "intro-card").map_err(failed)?;
    tablet
        .answer(
            COURSE_ID,
            "intro-q",
            Response::SingleChoice { choice: 0 },
            4_200,
        )
        .map_err(failed)?;
    tablet
        .answer(
            COURSE_ID,
            "intro-t",
            Response::TrueFalse { answer: false },
            3_100,
        )
        .map_err(failed)?;
    tablet.events().map_err(failed)
}

/// The server's copy of [`DOCUMENT`] holding `events`, written by one fixed incarnation.
pub fn server_document(events: &[Event]) -> Result<AutoCommit, String> {
    let mut doc = documents::genesis(DOCUMENT).map_err(|e| e.to_string())?;
    doc.set_actor(ActorId::from(b"tablet-fuzz-seed".as_slice()));
    for (sequence, event) in (1u64..).zip(events) {
        documents::append(&mut doc, "tablet-1", sequence, event).map_err(|e| e.to_string())?;
    }
    Ok(doc)
}

/// Every message `server` sends a peer holding only the genesis of [`DOCUMENT`] until the two
/// are in sync, in order: the first carries heads and a bloom filter, later ones the changes.
pub fn messages_to_new_device(server: &mut AutoCommit) -> Result<Vec<Vec<u8>>, String> {
    let mut device = documents::genesis(DOCUMENT).map_err(|e| e.to_string())?;
    let mut server_state = sync::State::new();
    let mut device_state = sync::State::new();
    let mut sent = Vec::new();
    for _ in 0..16 {
        let mut spoke = false;
        if let Some(message) = server.sync().generate_sync_message(&mut server_state) {
            sent.push(message.clone().encode());
            device
                .sync()
                .receive_sync_message(&mut device_state, message)
                .map_err(|e| e.to_string())?;
            spoke = true;
        }
        if let Some(message) = device.sync().generate_sync_message(&mut device_state) {
            server
                .sync()
                .receive_sync_message(&mut server_state, message)
                .map_err(|e| e.to_string())?;
            spoke = true;
        }
        if !spoke {
            break;
        }
    }
    Ok(sent)
}
