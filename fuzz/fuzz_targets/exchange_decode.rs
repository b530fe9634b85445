//! The sync exchange body decoder on arbitrary bytes, and on arbitrary bytes deflated (so the
//! fuzzer writes the length-prefixed layout directly). It must never panic or allocate beyond
//! its limits, and whatever it decodes must encode and decode back to the same exchange.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidbit_core::sync::exchange::Exchange;
use tidbit_fuzz::known_issues::more_heads_than_encode_writes;

fuzz_target!(|data: &[u8]| {
    round_trip(data);
    round_trip(&tidbit_fuzz::deflate(data));
});

fn round_trip(body: &[u8]) {
    let Ok(exchange) = Exchange::decode(body) else {
        return;
    };
    if more_heads_than_encode_writes(&exchange) {
        return;
    }
    let again = Exchange::decode(&exchange.encode())
        .unwrap_or_else(|e| panic!("a decoded exchange, encoded again, is refused: {e}"));
    assert_eq!(
        again, exchange,
        "an exchange changed on its way through encode"
    );
}
