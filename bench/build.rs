//! Records `rustc -V` of the compiler building the benchmark, for the
//! machine line of its reports (`DUGONG_BENCH_RUSTC`).

use std::process::Command;

/// Runs `$RUSTC -V` and passes its output on as a compile-time variable.
fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    if let Ok(out) = Command::new(rustc).arg("-V").output() {
        if out.status.success() {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            println!("cargo:rustc-env=DUGONG_BENCH_RUSTC={version}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
