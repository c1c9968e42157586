//! What machine the figures come from, and pinning threads to a CPU.

use std::time::{SystemTime, UNIX_EPOCH};

/// The machine line of a report.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    /// `model name` from `/proc/cpuinfo`.
    pub(crate) cpu: String,
    /// CPUs this process may use (before any pinning).
    pub(crate) nproc: usize,
    /// `rustc -V` of the compiler that built the binary, if known.
    pub(crate) rustc: Option<String>,
    /// Today, UTC, as `YYYY-MM-DD`.
    pub(crate) date: String,
}

impl Machine {
    /// Looks at this machine (call before pinning: `nproc` follows the
    /// affinity mask).
    pub(crate) fn probe() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let nproc = std::thread::available_parallelism().map_or(1, usize::from);
        Machine {
            cpu,
            nproc,
            rustc: option_env!("DUGONG_BENCH_RUSTC").map(str::to_owned),
            date: today(),
        }
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`.
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The proleptic Gregorian date of a day number counted from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Pins the calling thread to one CPU. Threads it starts afterwards
/// inherit the mask (tokio's blocking pool included).
pub(crate) fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
