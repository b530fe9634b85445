//! The hostile-peer model: what a peer may put in what it sends, checked in one place.
//!
//! Every device token may be stolen and every device may run modified code, so whatever
//! arrives from a peer is checked here, by the server before it stores anything and by the
//! device before it applies anything: the same functions, the same bounds. The written model,
//! field by field, is `server/HOSTILE_PEERS.md`; this module is its executable form.
//!
//! - [`check_message`] checks a sync message's Bloom filters and bounds what it may inflate
//!   to, before Automerge sees it. Honest
//!   peers send plain change chunks or whole documents (whose columns may be deflated); a
//!   compressed change chunk or a bundle is refused, and a document's deflated columns are
//!   inflated into a counting sink against a budget shared by the whole exchange.
//! - [`check_event`] checks every field of every event kind against what the engine accepts
//!   (the identity that makes its id, its time, ids and texts, response shapes, credits, FSRS
//!   parameters, windows), and, under a [`Policy::server`], binds the event to the sending
//!   device's token and the server's clock.
//! - [`check_new_document`] keeps document names to a plausible window of the server's clock.
//!
//! Nothing here touches storage; a refusal is a value that says what was wrong.

use std::io::Read;

use chrono::{DateTime, Datelike, Utc};

use crate::content::items::ItemKind;
use crate::events::{
    check_goal, check_push_token, check_study_time, Event, EventKind, InterventionAction, Outcome,
    RetentionSetting, COACHING_PROMPTS, SERVER_DEVICE,
};

mod kinds;
mod response;

use kinds::check_kind;
use response::check_response;
pub use response::MAX_VOICE_MS;

/// How far ahead of the server's clock an event may be dated (device clocks drift).
pub const MAX_FUTURE_MS: i64 = 24 * 3_600_000;
/// How far behind the server's clock an event may be dated: a device may have been offline
/// for a long time before it syncs what it recorded, but not for more than two years.
pub const MAX_PAST_MS: i64 = 730 * 24 * 3_600_000;
/// No Tidbit event predates 2020-01-01 or postdates 2100-01-01, whatever any clock says.
pub const EARLIEST_MS: i64 = 1_577_836_800_000;
pub const LATEST_MS: i64 = 4_102_444_800_000;
/// What the sync messages of one exchange may inflate to, in all.
pub const MAX_INFLATED_BYTES: usize = 32 * 1024 * 1024;
/// The longest id (course, path, module, step, nudge, device) an event may carry.
pub const MAX_ID_BYTES: usize = 128;
/// The longest free text (a reason, an answer, a reflection) an event may carry.
pub const MAX_TEXT_BYTES: usize = 8 * 1024;
/// The most entries a response list (choices, blanks, an order, a path) may hold.
pub const MAX_RESPONSE_ENTRIES: usize = 256;
/// The longest an answer may take to be counted (a day).
pub const MAX_RESPONSE_MS: u32 = 24 * 3_600_000;
/// The FSRS-6 parameter count Tidbit fits and adopts.
pub const FSRS_PARAMETERS: usize = 21;
/// The longest window an intervention may be given (fourteen days).
pub const MAX_INTERVENTION_MS: i64 = 14 * 24 * 3_600_000;

/// The inclusive range each FSRS-6 parameter may take: the optimiser's own clamps, with the
/// two short-term parameters at their widest. The engine's scheduler takes every set inside
/// them (a test in `learn::schedule` builds one at each corner), so this module needs no
/// engine to check what it is sent.
pub const FSRS_BOUNDS: [(f32, f32); FSRS_PARAMETERS] = [
    (0.001, 100.0),
    (0.001, 100.0),
    (0.001, 100.0),
    (0.001, 100.0),
    (1.0, 10.0),
    (0.001, 4.0),
    (0.001, 4.0),
    (0.001, 0.75),
    (0.0, 4.5),
    (0.0, 0.8),
    (0.001, 3.5),
    (0.001, 5.0),
    (0.001, 0.25),
    (0.001, 0.9),
    (0.0, 4.0),
    (0.0, 1.0),
    (1.0, 6.0),
    (0.0, 2.0),
    (0.0, 2.0),
    (0.0, 0.8),
    (0.1, 0.8),
];

/// Why something a peer sent was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("its {field} is malformed: {why}")]
    Field { field: &'static str, why: String },
    #[error("it claims device '{claimed}' but was sent with the token of device '{sender}'")]
    ForeignDevice { claimed: String, sender: String },
    #[error("it is dated {at}, outside what the server's clock allows ({from} to {to}); check the device's clock")]
    OutOfTime {
        at: String,
        from: String,
        to: String,
    },
    #[error("it is a {kind} event from device '{device}'; only the server records those")]
    ServerKindFromDevice { kind: &'static str, device: String },
    #[error("device '{0}' is the server's name; no device may record events under it")]
    ServerImpersonated(String),
    #[error("a sync message carries a {0}, which Tidbit peers never send")]
    ForbiddenChunk(&'static str),
    #[error("the sync messages of one exchange would inflate past {MAX_INFLATED_BYTES} bytes")]
    InflatesTooFar,
    #[error("a sync message's chunks are malformed: {0}")]
    BadChunk(&'static str),
    #[error("a sync message's Bloom filter is refused: {0}")]
    BadBloomFilter(&'static str),
    #[error("a sync message asks for {0} changes this document does not hold")]
    UnknownNeed(usize),
    #[error("document '{doc}' is outside the window the server's clock allows ({from} to {to})")]
    DocumentOutOfWindow {
        doc: String,
        from: String,
        to: String,
    },
}

/// Who sent what is being checked, and what it is checked against.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The device whose token sent the message: every new event must be its own.
    pub sender: Option<String>,
    /// The checking side's trusted clock (the server's), for time windows.
    pub now_ms: Option<i64>,
}

impl Policy {
    /// What a device applies to what the server relays: every field, absolute time bounds.
    pub fn device() -> Policy {
        Policy::default()
    }

    /// What the server applies to a device's message: the device's own events only, dated
    /// within the window of the server's clock.
    pub fn server(sender: &str, now_ms: i64) -> Policy {
        Policy {
            sender: Some(sender.to_string()),
            now_ms: Some(now_ms),
        }
    }

    /// The window of event times this policy accepts.
    pub fn time_window(&self) -> (i64, i64) {
        match self.now_ms {
            Some(now) => (
                now.saturating_sub(MAX_PAST_MS).max(EARLIEST_MS),
                now.saturating_add(MAX_FUTURE_MS).min(LATEST_MS),
            ),
            None => (EARLIEST_MS, LATEST_MS),
        }
    }
}

/// A device id as tokens carry it: 1 to 128 of letters, digits, `-`, `_`, `.`, `@`. No id can
/// hold the separator that event ids are derived with.
pub fn valid_device_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
}

/// An incarnation (a writer's Automerge actor for one process): 1 to 64 lowercase hex digits.
pub fn valid_incarnation(incarnation: &str) -> bool {
    !incarnation.is_empty()
        && incarnation.len() <= 64
        && incarnation
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks the identity an event id is derived from: its device and its writer's incarnation.
pub fn check_identity(device: &str, incarnation: &str) -> Result<(), Refusal> {
    if !valid_device_id(device) {
        return Err(field(
            "device",
            "1 to 128 letters, digits, '-', '_', '.', '@'",
        ));
    }
    if !valid_incarnation(incarnation) {
        return Err(field("incarnation", "1 to 64 lowercase hex digits"));
    }
    Ok(())
}

/// Checks every field of `event` against what the engine accepts and what `policy` allows.
pub fn check_event(event: &Event, policy: &Policy) -> Result<(), Refusal> {
    let (from, to) = policy.time_window();
    if event.at_ms < from || event.at_ms > to {
        return Err(Refusal::OutOfTime {
            at: iso(event.at_ms),
            from: iso(from),
            to: iso(to),
        });
    }
    if !valid_device_id(&event.device) {
        return Err(field(
            "device",
            "1 to 128 letters, digits, '-', '_', '.', '@'",
        ));
    }
    let from_server = event.kind.is_from_server();
    if from_server && event.device != SERVER_DEVICE {
        return Err(Refusal::ServerKindFromDevice {
            kind: event.kind.name(),
            device: event.device.clone(),
        });
    }
    if !from_server && !event.kind.is_from_either() && event.device == SERVER_DEVICE {
        return Err(Refusal::ServerImpersonated(event.device.clone()));
    }
    if let Some(sender) = &policy.sender {
        if &event.device != sender {
            return Err(Refusal::ForeignDevice {
                claimed: event.device.clone(),
                sender: sender.clone(),
            });
        }
    }
    check_kind(event)
}

/// Checks that a document the server does not hold yet may be created: its month lies within
/// the window of `now_ms` that event times may take.
pub fn check_new_document(name: &str, now_ms: i64) -> Result<(), Refusal> {
    let (from, to) = Policy::server("", now_ms).time_window();
    let month = |ms: i64| super::documents::period_of(ms);
    // Names are events-YYYY-MM: they order as their months do.
    if name < month(from).as_str() || name > month(to).as_str() {
        return Err(Refusal::DocumentOutOfWindow {
            doc: name.chars().take(64).collect(),
            from: month(from),
            to: month(to),
        });
    }
    Ok(())
}

/// Checks what Automerge would trust in a sync message before it sees it: the Bloom filters
/// of its `have`s (Automerge divides by a filter's bit count and probes it as often as it
/// says), and every chunk of its changes: chunk types Tidbit peers never send are refused, and
/// what the document chunks' deflated columns inflate to is charged against `budget` (bytes
/// left for the whole exchange), since Automerge inflates without a bound.
pub fn check_message(
    message: &automerge::sync::Message,
    budget: &mut usize,
) -> Result<(), Refusal> {
    if message.have.len() > MAX_HAVES {
        return Err(Refusal::BadBloomFilter("more summaries than a peer sends"));
    }
    for have in &message.have {
        check_bloom(&have.bloom.to_bytes())?;
    }
    for bytes in message.changes.iter() {
        let mut rest = bytes;
        while !rest.is_empty() {
            rest = check_chunk(rest, budget)?;
        }
    }
    Ok(())
}

/// Checks what a sync message asks for: a peer needs only changes it learned of from this
/// document's heads, so every hash in `need` must be one the document holds. Automerge looks
/// each up when it answers, and a hash it does not hold makes that panic (`MissingOps`), on
/// this sync and every later one.
pub fn check_needs(
    message: &automerge::sync::Message,
    holds: impl Fn(&automerge::ChangeHash) -> bool,
) -> Result<(), Refusal> {
    if message.need.len() > MAX_NEEDS {
        return Err(Refusal::UnknownNeed(message.need.len()));
    }
    match message.need.iter().filter(|hash| !holds(hash)).count() {
        0 => Ok(()),
        unknown => Err(Refusal::UnknownNeed(unknown)),
    }
}

/// The most change hashes a message may ask for (a peer a year behind needs a few hundred).
const MAX_NEEDS: usize = 4096;

/// The most `have` summaries a message may carry (Automerge sends one).
const MAX_HAVES: usize = 8;
/// The most probes and bits per entry a Bloom filter may use (Automerge uses 7 and 10).
const MAX_BLOOM_PROBES: u64 = 32;
const MAX_BLOOM_BITS_PER_ENTRY: u64 = 64;

/// A Bloom filter as Automerge encodes it: nothing (empty), or the entry count, bits per
/// entry and probe count, then the bits. One with entries must have bits and a sane shape.
fn check_bloom(bytes: &[u8]) -> Result<(), Refusal> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut input = Cursor { bytes };
    let bad = |why| Refusal::BadBloomFilter(why);
    let _entries = input.uleb().map_err(|_| bad("its header is cut"))?;
    let bits_per_entry = input.uleb().map_err(|_| bad("its header is cut"))?;
    let probes = input.uleb().map_err(|_| bad("its header is cut"))?;
    if input.bytes.is_empty() {
        return Err(bad("it has entries but no bits"));
    }
    if probes == 0 || probes > MAX_BLOOM_PROBES || bits_per_entry > MAX_BLOOM_BITS_PER_ENTRY {
        return Err(bad("its probe or bit counts are not a filter's"));
    }
    Ok(())
}

const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const DOCUMENT_CHUNK: u8 = 0;
const CHANGE_CHUNK: u8 = 1;
const COMPRESSED_CHANGE_CHUNK: u8 = 2;
/// The column specification bit that marks a deflated column.
const DEFLATE_BIT: u64 = 0b1000;

/// Checks the chunk at the start of `bytes`; returns what follows it.
fn check_chunk<'a>(bytes: &'a [u8], budget: &mut usize) -> Result<&'a [u8], Refusal> {
    let mut input = Cursor { bytes };
    if input.take(4)? != CHUNK_MAGIC {
        return Err(Refusal::BadChunk(
            "a chunk does not start with Automerge's magic bytes",
        ));
    }
    input.take(4)?; // checksum: Automerge verifies it
    let kind = input.take(1)?[0];
    let length = input.length()?;
    let data = input.take(length)?;
    let rest = input.bytes;
    charge(budget, data.len())?;
    match kind {
        CHANGE_CHUNK => Ok(rest),
        DOCUMENT_CHUNK => {
            check_document_columns(data, budget)?;
            Ok(rest)
        }
        COMPRESSED_CHANGE_CHUNK => Err(Refusal::ForbiddenChunk("compressed change chunk")),
        _ => Err(Refusal::ForbiddenChunk(
            "chunk of an unknown or bundle type",
        )),
    }
}

/// A document chunk: actors, heads, then the change and op column metadata, then the columns
/// in that order. Each deflated column is inflated into a counting sink against the budget.
fn check_document_columns(data: &[u8], budget: &mut usize) -> Result<(), Refusal> {
    let mut input = Cursor { bytes: data };
    let actors = input.length()?;
    for _ in 0..actors {
        let n = input.length()?;
        input.take(n)?;
    }
    let heads = input.length()?;
    input.take(
        heads
            .checked_mul(32)
            .ok_or(Refusal::BadChunk("too many heads"))?,
    )?;
    let mut columns = Vec::new();
    for _ in 0..2 {
        let count = input.length()?;
        for _ in 0..count {
            let spec = input.uleb()?;
            let len = input.length()?;
            columns.push((spec & DEFLATE_BIT != 0, len));
            if columns.len() > 4096 {
                return Err(Refusal::BadChunk("too many columns"));
            }
        }
    }
    for (deflated, len) in columns {
        let column = input.take(len)?;
        if deflated {
            // The inflated bytes replace the deflated ones.
            *budget = budget.saturating_add(column.len());
            let limit = *budget as u64 + 1;
            let inflated = std::io::copy(
                &mut flate2::read::DeflateDecoder::new(column).take(limit),
                &mut std::io::sink(),
            )
            .map_err(|_| Refusal::BadChunk("a deflated column does not inflate"))?;
            charge(budget, inflated as usize)?;
        }
    }
    Ok(())
}

fn charge(budget: &mut usize, bytes: usize) -> Result<(), Refusal> {
    *budget = budget.checked_sub(bytes).ok_or(Refusal::InflatesTooFar)?;
    Ok(())
}

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Refusal> {
        if n > self.bytes.len() {
            return Err(Refusal::BadChunk("a chunk ends early"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn uleb(&mut self) -> Result<u64, Refusal> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Refusal::BadChunk("a length does not fit 64 bits"))
    }

    /// A LEB128 length or count, which can never exceed the bytes left (every entry takes at
    /// least one).
    fn length(&mut self) -> Result<usize, Refusal> {
        let value = self.uleb()?;
        usize::try_from(value)
            .ok()
            .filter(|&n| n <= self.bytes.len())
            .ok_or(Refusal::BadChunk("a length runs past the chunk"))
    }
}

pub(crate) fn field(field: &'static str, why: impl Into<String>) -> Refusal {
    Refusal::Field {
        field,
        why: why.into(),
    }
}

/// Checks an id a peer sent: 1 to [`MAX_ID_BYTES`] bytes without control characters.
pub(crate) fn id(name: &'static str, value: &str) -> Result<(), Refusal> {
    if value.is_empty() || value.len() > MAX_ID_BYTES || value.chars().any(char::is_control) {
        return Err(field(name, "not 1 to 128 bytes without control characters"));
    }
    Ok(())
}

/// Checks a text a peer sent: at most `max` bytes.
pub(crate) fn text(name: &'static str, value: &str, max: usize) -> Result<(), Refusal> {
    if value.len() > max {
        return Err(field(name, format!("longer than {max} bytes")));
    }
    Ok(())
}

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

#[cfg(test)]
mod tests;
