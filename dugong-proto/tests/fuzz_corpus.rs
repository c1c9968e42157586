//! Replays the fuzz corpus on stable: the oracles of the cargo-fuzz targets
//! in `fuzz/` (see `fuzz/README.md`) run over every committed seed in
//! `fuzz/corpus/<target>/` and every reproducer in
//! `fuzz/regressions/<target>/`.
//!
//! A corpus directory that is missing or empty fails the test, so it cannot
//! silently test nothing; a regressions directory may be empty. Files whose
//! name starts with `.` are skipped.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/oracles/stream.rs"]
mod stream;

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/oracles/head_diff.rs"]
mod head_diff;

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/oracles/request.rs"]
mod request;

fn dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind)
        .join(target)
}

/// The files in `dir`, sorted; none if it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// Runs `oracle` on every file, and fails listing every file it panicked
/// on. Returns the number of files run.
fn replay(files: &[PathBuf], oracle: fn(&[u8])) -> usize {
    let mut failed = Vec::new();
    for path in files {
        let data = fs::read(path).expect("readable corpus file");
        if panic::catch_unwind(|| oracle(&data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "the oracle failed on {} of {} files:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
    files.len()
}

fn corpus(target: &str, oracle: fn(&[u8])) {
    let dir = dir("corpus", target);
    let files = files(&dir);
    assert!(
        !files.is_empty(),
        "corpus directory {} is missing or empty",
        dir.display()
    );
    replay(&files, oracle);
}

fn regressions(target: &str, oracle: fn(&[u8])) {
    replay(&files(&dir("regressions", target)), oracle);
}

#[test]
fn stream_corpus() {
    corpus("stream", stream::run);
}

#[test]
fn stream_regressions() {
    regressions("stream", stream::run);
}

#[test]
fn head_diff_corpus() {
    corpus("head_diff", head_diff::run);
}

#[test]
fn head_diff_regressions() {
    regressions("head_diff", head_diff::run);
}

#[test]
fn request_corpus() {
    corpus("request", request::run);
}

#[test]
fn request_regressions() {
    regressions("request", request::run);
}
