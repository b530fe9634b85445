//! Inputs the targets skip because they hit a bug already found and kept as an ignored
//! regression test, so bounded runs in the test command stay green and go on finding new bugs.
//! Remove an entry (and un-ignore its tests) when its fix lands.

use automerge::sync::Message;
use tidbit_core::sync::exchange::Exchange;

/// Probes beyond this make probing a filter a denial of service (Automerge writes 7).
const MOST_PROBES: u64 = 64;

/// A sync message holding a Bloom filter that claims entries but has no bits, or that asks for
/// more than [`MOST_PROBES`] probes: Automerge accepts it and then panics (divides by zero) or
/// spins when it generates the next message. `core/tests/fuzz_regressions.rs` and
/// `server/tests/fuzz_regressions.rs` hold the tests; the fix belongs in
/// `tidbit_core::sync::documents::receive_message`.
pub fn hostile_bloom_filter(message: &[u8]) -> bool {
    let Ok(message) = Message::decode(message) else {
        return false;
    };
    message.have.iter().any(|have| {
        let bytes = have.bloom.to_bytes();
        let mut rest = bytes.as_slice();
        let mut next = || leb128_u64(&mut rest);
        match (next(), next(), next()) {
            (Some(entries), Some(bits_per_entry), Some(probes)) => {
                entries > 0 && (bits_per_entry == 0 || probes > MOST_PROBES)
            }
            _ => false,
        }
    })
}

/// A sync body any of whose messages [`hostile_bloom_filter`] flags.
pub fn exchange_with_hostile_bloom_filter(body: &[u8]) -> bool {
    Exchange::decode(body).is_ok_and(|exchange| {
        exchange
            .messages
            .iter()
            .any(|m| hostile_bloom_filter(&m.message))
    })
}

fn leb128_u64(bytes: &mut &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The most heads one entry of an exchange is written with (`exchange::MAX_HEADS`, private).
const MOST_HEADS_WRITTEN: usize = 64;

/// An exchange naming a document with more heads than `Exchange::encode` writes: decoding takes
/// up to 255, encoding keeps the first 64, so the round trip changes it.
/// `core/tests/fuzz_regressions.rs` holds the test; the fix belongs in
/// `tidbit_core::sync::exchange`.
pub fn more_heads_than_encode_writes(exchange: &Exchange) -> bool {
    exchange
        .heads
        .iter()
        .any(|entry| entry.heads.len() > MOST_HEADS_WRITTEN)
}
