//! What a cohort's space holds: its entries, their wire form, their ids, and the field checks
//! every entry from a peer passes.
//!
//! An entry is appended once to the space's list and never edited; what later changes it (a
//! hide, a member leaving) is another entry. Its id is derived from its author, device, the
//! writer's incarnation and its sequence, which the server binds to the sending token: no device
//! can write under, or pre-empt the id of, another learner's entry.
//!
//! [`check_entry`] is the one place a peer's entry is checked field by field, on the server
//! before it is stored and on the device before it is shown. What an entry means for the space
//! (is its target shared, is its author a member) is [`super::space`]'s business.

use serde::{Deserialize, Serialize};

use crate::events::SERVER_DEVICE;
use crate::sync::peer::{self, field, id, text, Policy, Refusal};

/// The longest post text.
pub const MAX_POST_BYTES: usize = 4 * 1024;
/// The longest comment on a shared answer.
pub const MAX_COMMENT_BYTES: usize = 2 * 1024;
/// The longest reason given for a hide or a report.
pub const MAX_REASON_BYTES: usize = 500;
/// The most entries one member writes to a space (the server refuses more): years of daily
/// posts, shares, ratings and practice days, and a bound on what one member can make every
/// device fold.
pub const MAX_ENTRIES_PER_MEMBER: usize = 5_000;
/// The most members one roster lists (cohorts are formed of 10 to 12).
pub const MAX_MEMBERS: usize = 64;
/// The most roles that rotate in one cohort.
pub const MAX_ROLES: usize = 8;
/// The most criteria a shared answer carries.
pub const MAX_CRITERIA: usize = 16;
/// The longest text of a criterion or a prompt.
pub const MAX_CRITERION_BYTES: usize = 500;
/// The longest spoken answer shared, in milliseconds.
pub const MAX_VOICE_MS: u32 = 600_000;
/// The largest spoken answer shared, in bytes.
pub const MAX_VOICE_BYTES: u64 = 16 * 1024 * 1024;
/// The most decisions a shared scenario path records.
const MAX_PATH: usize = 64;

/// One entry of a cohort's space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Derived from the fields below by [`Entry::make_id`]; never on the wire.
    #[serde(skip)]
    pub id: String,
    /// The learner who wrote it ([`SERVER_DEVICE`] for the server's own entries).
    #[serde(rename = "a")]
    pub author: String,
    #[serde(rename = "d")]
    pub device: String,
    #[serde(rename = "n")]
    pub incarnation: String,
    #[serde(rename = "q")]
    pub sequence: u64,
    #[serde(rename = "t")]
    pub at_ms: i64,
    #[serde(flatten)]
    pub kind: EntryKind,
}

/// What an entry says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum EntryKind {
    /// The server's word on who is in the cohort and which roles rotate; the latest roster in
    /// the space's order holds. Only the server writes one.
    Roster {
        course: String,
        path: String,
        roles: Vec<String>,
        members: Vec<String>,
    },
    /// The server's record of a week's rota as it stood when the server first synced the space
    /// that week; entries arriving later never turn it. Only the server writes one.
    RotaFixed {
        week: i64,
        duties: Vec<crate::community::rota::Duty>,
    },
    /// A message to the cohort, optionally about a module or one of its steps. A summary is the
    /// summariser's round-up of the week.
    Post {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        module: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        summary: bool,
    },
    /// An answer the learner chose to share for peers to rate against the item's criteria.
    Share {
        course: String,
        step: String,
        /// The id of the learner's own answer event.
        answer_event: String,
        prompt: String,
        criteria: Vec<String>,
        answer: SharedAnswer,
    },
    /// A peer's ratings of a shared answer, one per criterion of the share, and a comment.
    Feedback {
        share: String,
        criteria_met: Vec<bool>,
        comment: String,
    },
    Reaction {
        target: String,
        reaction: Reaction,
    },
    /// Takes an entry out of everyone's view: its author's own, the week's facilitator's, or the
    /// organisation's (written by the server).
    Hide {
        target: String,
        reason: String,
    },
    /// Asks the facilitator and the organisation to look at another member's entry.
    Report {
        target: String,
        reason: String,
    },
    /// The member takes themselves out of (or back into) the role rota.
    Availability {
        available: bool,
    },
    /// The member did their duty for the week.
    RoleDone {
        week: i64,
        role: String,
    },
    /// The learner practised on this day (days since 1970-01-01, in their time zone): what the
    /// cohort sees of their learning, with no counts or scores.
    Practised {
        day: i64,
    },
    /// The member leaves the cohort; everything they shared is withdrawn.
    Leave {},
}

/// The answer a share carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum SharedAnswer {
    Reflection {
        text: String,
    },
    /// The choices taken through a scenario, with the text of each.
    Scenario {
        choices: Vec<String>,
    },
    /// A spoken answer: the audio itself is uploaded to the server beside the space, named by
    /// its SHA-256 (lowercase hex).
    Voice {
        audio: String,
        duration_ms: u32,
        bytes: u64,
    },
}

/// The reactions a member can leave: appreciation only, nothing that ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum Reaction {
    Thanks,
    Helpful,
    Insightful,
}

impl EntryKind {
    pub fn name(&self) -> &'static str {
        match self {
            EntryKind::Roster { .. } => "roster",
            EntryKind::RotaFixed { .. } => "rota_fixed",
            EntryKind::Post { .. } => "post",
            EntryKind::Share { .. } => "share",
            EntryKind::Feedback { .. } => "feedback",
            EntryKind::Reaction { .. } => "reaction",
            EntryKind::Hide { .. } => "hide",
            EntryKind::Report { .. } => "report",
            EntryKind::Availability { .. } => "availability",
            EntryKind::RoleDone { .. } => "role_done",
            EntryKind::Practised { .. } => "practised",
            EntryKind::Leave {} => "leave",
        }
    }

    /// The entry this one is about, if any.
    pub fn target(&self) -> Option<&str> {
        match self {
            EntryKind::Feedback { share, .. } => Some(share),
            EntryKind::Reaction { target, .. }
            | EntryKind::Hide { target, .. }
            | EntryKind::Report { target, .. } => Some(target),
            _ => None,
        }
    }
}

impl Entry {
    /// An entry's id: 32 hex digits of SHA-256 over its author, device, the writer's
    /// incarnation and its sequence.
    pub fn make_id(author: &str, device: &str, incarnation: &str, sequence: u64) -> String {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        for part in ["cohort-entry", author, device, incarnation] {
            context.update(part.as_bytes());
            context.update(&[0]);
        }
        context.update(&sequence.to_be_bytes());
        hex::encode(&context.finish().as_ref()[..16])
    }

    /// The order every device shows the space in: by time, ties by id.
    pub fn order_key(&self) -> (i64, &str) {
        (self.at_ms, &self.id)
    }

    pub fn encode(&self) -> Vec<u8> {
        // Serialising plain strings, numbers and vectors cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes an entry and derives its id.
    pub fn decode(bytes: &[u8]) -> Result<Entry, Refusal> {
        if bytes.len() > crate::sync::documents::MAX_EVENT_BYTES {
            return Err(field("entry", format!("{} bytes is too long", bytes.len())));
        }
        let mut entry: Entry =
            serde_json::from_slice(bytes).map_err(|e| field("entry", e.to_string()))?;
        peer::check_identity(&entry.device, &entry.incarnation)?;
        if !peer::valid_device_id(&entry.author) {
            return Err(field(
                "author",
                "1 to 128 letters, digits, '-', '_', '.', '@'",
            ));
        }
        entry.id = Entry::make_id(
            &entry.author,
            &entry.device,
            &entry.incarnation,
            entry.sequence,
        );
        Ok(entry)
    }
}

/// Who sent an entry, as the server knows from the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub learner: String,
    pub device: String,
}

/// Checks every field of `entry` against what the space accepts: its time against `policy`'s
/// window, its author against `sender` (the server's check: a device writes as its own learner
/// and device only), the server's kinds against their writer, and every length.
pub fn check_entry(entry: &Entry, policy: &Policy, sender: Option<&Sender>) -> Result<(), Refusal> {
    let (from, to) = policy.time_window();
    if entry.at_ms < from || entry.at_ms > to {
        return Err(field("time", "outside what the server's clock allows"));
    }
    let from_server = entry.device == SERVER_DEVICE;
    match (&entry.kind, from_server) {
        (EntryKind::Roster { .. } | EntryKind::RotaFixed { .. }, false) => {
            return Err(Refusal::ServerKindFromDevice {
                kind: entry.kind.name(),
                device: entry.device.clone(),
            })
        }
        (EntryKind::Roster { .. } | EntryKind::RotaFixed { .. } | EntryKind::Hide { .. }, true) => {
        }
        (_, true) => return Err(Refusal::ServerImpersonated(entry.device.clone())),
        _ => {}
    }
    if from_server && entry.author != SERVER_DEVICE {
        return Err(Refusal::ServerImpersonated(entry.author.clone()));
    }
    if let Some(sender) = sender {
        if entry.author != sender.learner || entry.device != sender.device {
            return Err(Refusal::ForeignDevice {
                claimed: format!("{}/{}", entry.author, entry.device),
                sender: format!("{}/{}", sender.learner, sender.device),
            });
        }
    }
    check_kind(&entry.kind)
}

fn check_kind(kind: &EntryKind) -> Result<(), Refusal> {
    match kind {
        EntryKind::Roster {
            course,
            path,
            roles,
            members,
        } => {
            id("course", course)?;
            id("path", path)?;
            if roles.len() > MAX_ROLES {
                return Err(field("roles", format!("more than {MAX_ROLES}")));
            }
            for role in roles {
                role_name(role)?;
            }
            if members.len() > MAX_MEMBERS {
                return Err(field("members", format!("more than {MAX_MEMBERS}")));
            }
            if members.iter().any(|m| !peer::valid_device_id(m)) {
                return Err(field("members", "a member id is malformed"));
            }
            Ok(())
        }
        EntryKind::RotaFixed { week, duties } => {
            if !(0..=10_000).contains(week) {
                return Err(field("week", "not a week of this era"));
            }
            if duties.len() > MAX_ROLES {
                return Err(field("duties", format!("more than {MAX_ROLES}")));
            }
            for duty in duties {
                role_name(&duty.role)?;
                if !peer::valid_device_id(&duty.learner) {
                    return Err(field("duties", "a member id is malformed"));
                }
            }
            Ok(())
        }
        EntryKind::Post {
            text: body,
            module,
            step,
            ..
        } => {
            non_empty("text", body, MAX_POST_BYTES)?;
            if let Some(module) = module {
                id("module", module)?;
            }
            if let Some(step) = step {
                id("step", step)?;
            }
            Ok(())
        }
        EntryKind::Share {
            course,
            step,
            answer_event,
            prompt,
            criteria,
            answer,
        } => {
            id("course", course)?;
            id("step", step)?;
            id("answer_event", answer_event)?;
            text("prompt", prompt, MAX_CRITERION_BYTES)?;
            if criteria.len() > MAX_CRITERIA {
                return Err(field("criteria", format!("more than {MAX_CRITERIA}")));
            }
            for criterion in criteria {
                text("criteria", criterion, MAX_CRITERION_BYTES)?;
            }
            check_answer(answer)
        }
        EntryKind::Feedback {
            share,
            criteria_met,
            comment,
        } => {
            entry_id("share", share)?;
            if criteria_met.len() > MAX_CRITERIA {
                return Err(field("criteria_met", format!("more than {MAX_CRITERIA}")));
            }
            text("comment", comment, MAX_COMMENT_BYTES)
        }
        EntryKind::Reaction { target, .. } => entry_id("target", target),
        EntryKind::Hide { target, reason } | EntryKind::Report { target, reason } => {
            entry_id("target", target)?;
            text("reason", reason, MAX_REASON_BYTES)
        }
        EntryKind::RoleDone { week, role } => {
            role_name(role)?;
            if !(0..=10_000).contains(week) {
                return Err(field("week", "not a week of this era"));
            }
            Ok(())
        }
        EntryKind::Practised { day } => {
            if !(0..=100_000).contains(day) {
                return Err(field("day", "not a day of this era"));
            }
            Ok(())
        }
        EntryKind::Availability { .. } | EntryKind::Leave {} => Ok(()),
    }
}

fn check_answer(answer: &SharedAnswer) -> Result<(), Refusal> {
    match answer {
        SharedAnswer::Reflection { text: body } => non_empty("answer", body, MAX_POST_BYTES),
        SharedAnswer::Scenario { choices } => {
            if choices.is_empty() || choices.len() > MAX_PATH {
                return Err(field("answer", format!("1 to {MAX_PATH} choices")));
            }
            for choice in choices {
                text("answer", choice, MAX_CRITERION_BYTES)?;
            }
            Ok(())
        }
        SharedAnswer::Voice {
            audio,
            duration_ms,
            bytes,
        } => {
            if !crate::events::is_recording_name(audio) {
                return Err(field("audio", "not 64 lowercase hex digits"));
            }
            if *duration_ms == 0 || *duration_ms > MAX_VOICE_MS {
                return Err(field("duration_ms", format!("not 1 to {MAX_VOICE_MS} ms")));
            }
            if *bytes == 0 || *bytes > MAX_VOICE_BYTES {
                return Err(field("bytes", format!("not 1 to {MAX_VOICE_BYTES}")));
            }
            Ok(())
        }
    }
}

/// A role's name: 1 to 40 lowercase letters, digits, `-` or `_`.
pub fn valid_role(role: &str) -> bool {
    !role.is_empty()
        && role.len() <= 40
        && role
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn role_name(role: &str) -> Result<(), Refusal> {
    if valid_role(role) {
        Ok(())
    } else {
        Err(field(
            "role",
            "1 to 40 lowercase letters, digits, '-' or '_'",
        ))
    }
}

fn entry_id(name: &'static str, value: &str) -> Result<(), Refusal> {
    if value.len() == 32
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(field(name, "not an entry id (32 lowercase hex digits)"))
    }
}

fn non_empty(name: &'static str, value: &str, max: usize) -> Result<(), Refusal> {
    if value.trim().is_empty() {
        return Err(field(name, "empty"));
    }
    text(name, value, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: i64 = 1_796_000_000_000;

    fn post(author: &str, device: &str) -> Entry {
        let mut entry = Entry {
            id: String::new(),
            author: author.into(),
            device: device.into(),
            incarnation: "a1".into(),
            sequence: 1,
            at_ms: AT,
            kind: EntryKind::Post {
                text: "Tried the greeting script on a real call".into(),
                module: Some("greeting".into()),
                step: None,
                summary: false,
            },
        };
        entry.id = Entry::make_id(author, device, "a1", 1);
        entry
    }

    #[test]
    fn an_entry_round_trips_and_derives_its_id() {
        let entry = post("ana", "ana-phone");
        let decoded = Entry::decode(&entry.encode()).unwrap();
        assert_eq!(decoded, entry);
        assert_eq!(decoded.id.len(), 32);
        assert_ne!(
            decoded.id,
            Entry::make_id("ben", "ana-phone", "a1", 1),
            "the author is part of the id"
        );
    }

    #[test]
    fn the_server_binds_author_and_device_to_the_token() {
        let policy = Policy::server("ana-phone", AT);
        let ana = Sender {
            learner: "ana".into(),
            device: "ana-phone".into(),
        };
        check_entry(&post("ana", "ana-phone"), &policy, Some(&ana)).unwrap();
        for forged in [post("ben", "ana-phone"), post("ana", "ben-phone")] {
            assert!(matches!(
                check_entry(&forged, &policy, Some(&ana)),
                Err(Refusal::ForeignDevice { .. })
            ));
        }
    }

    #[test]
    fn only_the_server_writes_a_roster_and_no_device_writes_as_the_server() {
        let mut roster = post("ana", "ana-phone");
        roster.kind = EntryKind::Roster {
            course: "c".into(),
            path: "p".into(),
            roles: vec!["reviewer".into()],
            members: vec!["ana".into()],
        };
        assert!(matches!(
            check_entry(&roster, &Policy::device(), None),
            Err(Refusal::ServerKindFromDevice { .. })
        ));
        roster.author = SERVER_DEVICE.into();
        roster.device = SERVER_DEVICE.into();
        check_entry(&roster, &Policy::device(), None).unwrap();
        let mut forged = post(SERVER_DEVICE, SERVER_DEVICE);
        forged.kind = EntryKind::Leave {};
        assert!(matches!(
            check_entry(&forged, &Policy::device(), None),
            Err(Refusal::ServerImpersonated(_))
        ));
    }

    #[test]
    fn fields_are_bounded() {
        let policy = Policy::device();
        let mut long = post("ana", "ana-phone");
        long.kind = EntryKind::Post {
            text: "x".repeat(MAX_POST_BYTES + 1),
            module: None,
            step: None,
            summary: false,
        };
        assert!(check_entry(&long, &policy, None).is_err());
        let mut voice = post("ana", "ana-phone");
        voice.kind = EntryKind::Share {
            course: "c".into(),
            step: "s".into(),
            answer_event: "e".into(),
            prompt: "Explain the refund policy".into(),
            criteria: vec!["names the 30 days".into()],
            answer: SharedAnswer::Voice {
                audio: "AB".repeat(32),
                duration_ms: 1000,
                bytes: 100,
            },
        };
        assert!(
            check_entry(&voice, &policy, None).is_err(),
            "uppercase hash"
        );
        let mut early = post("ana", "ana-phone");
        early.at_ms = AT + 2 * peer::MAX_FUTURE_MS;
        assert!(check_entry(&early, &Policy::server("ana-phone", AT), None).is_err());
        assert!(Entry::decode(b"{\"k\":\"post\"}").is_err());
    }
}
