//! Ends the process if a run hangs (a client or the server stuck on a
//! read), so CI never waits forever. The clients have no timeouts of
//! their own: a timer in their hot paths would change what is measured.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Milliseconds since [`BASE`] after which the process ends.
static DEADLINE_MS: AtomicU64 = AtomicU64::new(u64::MAX);
/// What is running, for the message.
static RUNNING: Mutex<&'static str> = Mutex::new("");
/// The clock's origin.
static BASE: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since the origin.
fn now_ms() -> u64 {
    BASE.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Starts the watchdog thread (it wakes once a second).
pub(crate) fn start() {
    now_ms();
    let _ = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(|| loop {
            std::thread::sleep(Duration::from_secs(1));
            if now_ms() > DEADLINE_MS.load(Ordering::SeqCst) {
                let what = *RUNNING.lock().unwrap_or_else(|p| p.into_inner());
                eprintln!("loopback: {what} did not finish in time; giving up");
                std::process::exit(3);
            }
        });
}

/// `what` must end within `limit`.
pub(crate) fn arm(what: &'static str, limit: Duration) {
    *RUNNING.lock().unwrap_or_else(|p| p.into_inner()) = what;
    DEADLINE_MS.store(now_ms() + limit.as_millis() as u64, Ordering::SeqCst);
}

/// Nothing is timed any more.
pub(crate) fn disarm() {
    DEADLINE_MS.store(u64::MAX, Ordering::SeqCst);
}
