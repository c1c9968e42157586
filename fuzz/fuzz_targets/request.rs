//! cargo-fuzz target `request`: the oracle lives in `oracles/request.rs`, shared
//! with `dugong-proto/tests/fuzz_corpus.rs` (which replays the corpus on
//! stable).
#![no_main]

#[path = "../oracles/request.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::run(data));
