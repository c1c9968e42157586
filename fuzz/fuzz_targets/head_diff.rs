//! cargo-fuzz target `head_diff`: the oracle lives in `oracles/head_diff.rs`, shared
//! with `dugong-proto/tests/fuzz_corpus.rs` (which replays the corpus on
//! stable).
#![no_main]

#[path = "../oracles/head_diff.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::run(data));
