//! cargo-fuzz target `stream`: the oracle lives in `oracles/stream.rs`, shared
//! with `dugong-proto/tests/fuzz_corpus.rs` (which replays the corpus on
//! stable).
#![no_main]

#[path = "../oracles/stream.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::run(data));
