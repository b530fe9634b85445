//! Requests the `server_request` fuzz target (`fuzz/`, `scripts/fuzz.sh`) found to get a 5xx,
//! kept as specifications so they stay fixed. A test whose fix belongs in a module under active
//! change is `#[ignore]`d with the reason, and runs with
//! `cargo test -p tidbit-server --test fuzz_regressions -- --ignored`; until it is fixed, the
//! fuzz targets skip such inputs (`fuzz/src/known_issues.rs`).

mod support;

use support::*;
use tidbit_core::sync::documents;
use tidbit_core::sync::exchange::{DocumentMessage, Exchange};

/// An Automerge sync message (v1) whose one `have` carries a Bloom filter that claims an entry
/// but has no bits (see `core/tests/fuzz_regressions.rs`). The server accepts it, and then
/// generating its reply divides by the filter's bit count (zero): the worker thread panics and
/// the device gets a 500 instead of a refusal.
const BLOOM_WITHOUT_BITS: &[u8] = &[0x42, 0x00, 0x00, 0x01, 0x00, 0x03, 0x01, 0x00, 0x07, 0x00];

#[test]
#[ignore = "fix in core/src/sync/documents.rs (receive_message, which the server calls, must \
            refuse a Bloom filter with no bits or too many probes), under change on main"]
fn a_sync_message_whose_bloom_filter_has_no_bits_is_refused_not_a_server_error() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let token = server.token("ana", "phone");
    let now_ms = chrono::Utc::now().timestamp_millis();
    let body = Exchange {
        heads: Vec::new(),
        messages: vec![DocumentMessage {
            doc: documents::period_of(now_ms),
            message: BLOOM_WITHOUT_BITS.to_vec(),
        }],
    }
    .encode();
    let (status, reply) = post_sync(&server.url(), "ana", Some(&format!("Bearer {token}")), body);
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&reply));
}
