//! The command line.

use std::time::Duration;

use crate::window::Plan;

/// What `--help` prints.
pub(crate) const USAGE: &str = "\
usage: loopback [--quick] [--json] [--pin CPU] [--only NAME]... [--duration SECS]
                [--rounds N] [--size small|1mib] [--rss | --no-rss] [--verbose]

Measures HTTP/1.1 clients over one loopback connection each (pooled
clients: several), against an in-process server: 100-byte bodies
(requests/s) and 1 MiB bodies (MB/s), allocations per request, and peak
RSS while streaming one huge body.

  --quick          0.2 s per client and size (CI); no RSS run unless --rss
  --json           print one JSON object with every figure instead of tables
  --pin CPU        pin the server, the clients and the runtime to one CPU
  --only NAME      only clients whose name contains NAME (repeatable, or
                   comma-separated; case-insensitive; `rss` selects the RSS
                   runs)
  --duration SECS  the measured window per client and size (default 2)
  --rounds N       run every client N times, taking turns, and report each
                   one's median run (default 3; 1 with --quick)
  --size SIZE      only `small` or `1mib` bodies
  --rss            run the RSS measurement (1 GiB body; 64 MiB with --quick)
  --no-rss         skip it
  --verbose        print the first request head each client sent";

/// Parsed options.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// `--quick`.
    pub(crate) quick: bool,
    /// `--json`.
    pub(crate) json: bool,
    /// `--pin CPU`.
    pub(crate) pin: Option<usize>,
    /// `--only` names, lower-cased.
    pub(crate) only: Vec<String>,
    /// `--duration`.
    pub(crate) duration: Option<Duration>,
    /// `--rounds`.
    pub(crate) rounds: Option<usize>,
    /// `--size`: `Some(true)` for small only, `Some(false)` for 1 MiB only.
    pub(crate) small_only: Option<bool>,
    /// `--rss` (`Some(true)`) or `--no-rss` (`Some(false)`).
    pub(crate) rss: Option<bool>,
    /// `--verbose`.
    pub(crate) verbose: bool,
    /// `--help`.
    pub(crate) help: bool,
    /// The hidden `--rss-child NAME`: run one RSS reader and print its
    /// result (what the parent process starts).
    pub(crate) rss_child: Option<String>,
}

impl Options {
    /// Parses the arguments after the program name.
    ///
    /// # Errors
    ///
    /// A message for an unknown option or a bad value.
    pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut opts = Options::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--quick" => opts.quick = true,
                "--json" => opts.json = true,
                "--verbose" | "-v" => opts.verbose = true,
                "--rss" => opts.rss = Some(true),
                "--no-rss" => opts.rss = Some(false),
                "--help" | "-h" => opts.help = true,
                "--rss-child" => opts.rss_child = Some(value("--rss-child")?),
                "--pin" => {
                    let v = value("--pin")?;
                    let cpu: usize = v.parse().map_err(|_| format!("bad CPU number {v:?}"))?;
                    if cpu >= 1024 {
                        return Err(format!("CPU {cpu} is out of range"));
                    }
                    opts.pin = Some(cpu);
                }
                "--only" => {
                    let v = value("--only")?;
                    opts.only.extend(
                        v.split(',')
                            .map(|s| s.trim().to_lowercase())
                            .filter(|s| !s.is_empty()),
                    );
                }
                "--duration" => {
                    let v = value("--duration")?;
                    let secs: f64 = v.parse().map_err(|_| format!("bad duration {v:?}"))?;
                    if !(0.01..=3600.0).contains(&secs) {
                        return Err(format!("duration {secs} s is out of range"));
                    }
                    opts.duration = Some(Duration::from_secs_f64(secs));
                }
                "--rounds" => {
                    let v = value("--rounds")?;
                    let n: usize = v.parse().map_err(|_| format!("bad round count {v:?}"))?;
                    if !(1..=99).contains(&n) {
                        return Err(format!("{n} rounds is out of range (1 to 99)"));
                    }
                    opts.rounds = Some(n);
                }
                "--size" => {
                    let v = value("--size")?;
                    opts.small_only = Some(match v.to_lowercase().as_str() {
                        "small" => true,
                        "1mib" | "large" => false,
                        _ => return Err(format!("unknown size {v:?} (small or 1mib)")),
                    });
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(opts)
    }

    /// How long each client runs.
    pub(crate) fn plan(&self) -> Plan {
        let duration = self.duration.unwrap_or(if self.quick {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(2)
        });
        let warmup = if self.quick {
            Duration::from_millis(50)
        } else {
            duration
                .mul_f64(0.15)
                .clamp(Duration::from_millis(50), Duration::from_millis(500))
        };
        Plan { warmup, duration }
    }

    /// How many times each client runs (the median run is reported).
    pub(crate) fn rounds(&self) -> usize {
        self.rounds.unwrap_or(if self.quick { 1 } else { 3 })
    }

    /// True if `--only` lets the client (or RSS reader) `name` run.
    pub(crate) fn selects(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.only.is_empty() || self.only.iter().any(|o| name.contains(o.as_str()))
    }

    /// True if the RSS runs happen.
    pub(crate) fn run_rss(&self) -> bool {
        self.rss.unwrap_or(!self.quick)
    }

    /// The body length of the RSS runs.
    pub(crate) fn rss_bytes(&self) -> u64 {
        if self.quick {
            64 << 20
        } else {
            1 << 30
        }
    }
}
