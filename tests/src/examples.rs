//! Running the adapters' example programs from tests.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// A [`Command`] for the example `name` of the workspace package `package`,
/// built first (once per test process) with the same cargo and profile as
/// the running test, so a stale binary is never run.
///
/// # Panics
///
/// If the example does not build.
pub fn example(package: &str, name: &str) -> Command {
    static BUILT: OnceLock<Mutex<Vec<(String, PathBuf)>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(|p| p.into_inner());
    let key = format!("{package}/{name}");
    if let Some((_, path)) = built.iter().find(|(k, _)| *k == key) {
        return Command::new(path);
    }
    // target/<profile>/deps/<test>-<hash> -> target/<profile>
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("tests run from target/<profile>/deps");
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "-q", "-p", package, "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("release") => {
            build.arg("--release");
        }
        Some("debug") | None => {}
        Some(profile) => {
            build.args(["--profile", profile]);
        }
    }
    if let Some(target_dir) = profile_dir.parent() {
        build.env("CARGO_TARGET_DIR", target_dir);
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building example {key} failed");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "{} was not built", path.display());
    built.push((key, path.clone()));
    Command::new(path)
}
