//! Peak RSS while streaming one huge body (1 GiB; 64 MiB with `--quick`)
//! through a dugong body reader in 64 KiB reads: memory must not grow with
//! the body.
//!
//! Each reader runs in a fresh child process (this binary with the hidden
//! `--rss-child NAME`), with its own server thread: in the parent, the
//! heap already holds memory freed by the throughput runs, which new
//! allocations would reuse without growing the RSS.
//!
//! `VmRSS` (from `/proc/self/status`) is read before the request and every
//! 1,000 reads; the peak is the largest sample. Where the kernel allows it,
//! the peak is also taken exactly: `/proc/self/clear_refs` resets `VmHWM`
//! to the current RSS before the request and `VmHWM` is read after. The
//! live heap (bytes allocated and not freed, from the counting allocator)
//! is sampled with `VmRSS`.

use std::fs::File;
use std::io::{self, Read};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use crate::args::Options;
use crate::clients::{expect_ok, BODY_BUF, HOST, PATH};
use crate::report::RssRow;
use crate::server::Server;
use crate::{watchdog, BoxError, GLOBAL};

/// How many reads between two `VmRSS` samples.
const SAMPLE_EVERY: u64 = 1000;

/// No header fields: the connection adds `Host`.
const NO_FIELDS: [(&str, &str); 0] = [];

/// What one RSS run measured.
#[derive(Debug, Clone)]
pub(crate) struct RssResult {
    /// Body bytes read.
    pub(crate) body_bytes: u64,
    /// Reads (or stream pieces) it took.
    pub(crate) reads: u64,
    /// `VmRSS` before the request, KiB.
    pub(crate) before_kib: u64,
    /// The largest `VmRSS` sample, KiB.
    pub(crate) peak_kib: u64,
    /// `VmHWM` after the body minus `VmRSS` before, KiB, if `VmHWM`
    /// could be reset.
    pub(crate) hwm_growth_kib: Option<u64>,
    /// The largest live-heap sample minus the live heap before, bytes.
    pub(crate) heap_growth: u64,
    /// From the request to the end of the body.
    pub(crate) elapsed: Duration,
}

impl RssResult {
    /// Peak minus before, KiB.
    pub(crate) fn growth_kib(&self) -> u64 {
        self.peak_kib.saturating_sub(self.before_kib)
    }

    /// Body megabytes (10^6 bytes) per second.
    pub(crate) fn mb_per_s(&self) -> f64 {
        self.body_bytes as f64 / 1e6 / self.elapsed.as_secs_f64()
    }
}

/// What an RSS run gets.
#[derive(Debug)]
pub(crate) struct RssCtx<'a> {
    /// The server's port.
    pub(crate) port: u16,
    /// The body length it sends.
    pub(crate) body_len: u64,
    /// The runtime for the async readers.
    pub(crate) rt: &'a tokio::runtime::Runtime,
}

/// One way of reading the body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RssReader {
    /// Its name in reports.
    pub(crate) name: &'static str,
    /// Streams one body and measures.
    pub(crate) run: fn(&RssCtx<'_>) -> Result<RssResult, BoxError>,
}

/// The readers measured.
pub(crate) const READERS: &[RssReader] = &[
    RssReader {
        name: "rss dugong-blocking body_reader",
        run: blocking_reader,
    },
    RssReader {
        name: "rss dugong-tokio body_reader",
        run: tokio_reader,
    },
    RssReader {
        name: "rss dugong-tokio body_stream",
        run: tokio_stream,
    },
];

/// Samples memory while a body is read.
#[derive(Debug)]
struct Sampler {
    /// `VmRSS` at the start, KiB.
    before: u64,
    /// Largest sample, KiB.
    peak: u64,
    /// Reads so far.
    reads: u64,
    /// Whether `VmHWM` was reset at the start.
    hwm_reset: bool,
    /// Live heap bytes at the start.
    heap_before: i64,
    /// Largest live-heap sample.
    heap_peak: i64,
    /// When the request was sent.
    start: Instant,
}

impl Sampler {
    /// Resets `VmHWM` if possible and takes the first sample.
    fn start() -> io::Result<Sampler> {
        let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let before = status_kib(b"VmRSS:")?;
        let heap = live_heap();
        Ok(Sampler {
            before,
            peak: before,
            reads: 0,
            hwm_reset,
            heap_before: heap,
            heap_peak: heap,
            start: Instant::now(),
        })
    }

    /// Counts one read; samples every [`SAMPLE_EVERY`].
    fn read(&mut self) -> io::Result<()> {
        self.reads += 1;
        if self.reads % SAMPLE_EVERY == 0 {
            self.sample()?;
        }
        Ok(())
    }

    /// Takes a `VmRSS` sample.
    fn sample(&mut self) -> io::Result<()> {
        self.peak = self.peak.max(status_kib(b"VmRSS:")?);
        self.heap_peak = self.heap_peak.max(live_heap());
        Ok(())
    }

    /// The result, checking the body length.
    fn finish(mut self, ctx: &RssCtx<'_>, body_bytes: u64) -> Result<RssResult, BoxError> {
        let elapsed = self.start.elapsed();
        self.sample()?;
        if body_bytes != ctx.body_len {
            return Err(format!("read {body_bytes} body bytes, expected {}", ctx.body_len).into());
        }
        let hwm_growth_kib = if self.hwm_reset {
            Some(status_kib(b"VmHWM:")?.saturating_sub(self.before))
        } else {
            None
        };
        Ok(RssResult {
            body_bytes,
            reads: self.reads,
            before_kib: self.before,
            peak_kib: self.peak,
            hwm_growth_kib,
            heap_growth: (self.heap_peak - self.heap_before).max(0) as u64,
            elapsed,
        })
    }
}

/// Bytes allocated and not freed, whole process.
fn live_heap() -> i64 {
    let s = GLOBAL.stats();
    // (Reallocations are counted in both totals already.)
    s.bytes_allocated as i64 - s.bytes_deallocated as i64
}

/// Runs every reader `opts` selects, each in a child process, printing a
/// progress line for each.
pub(crate) fn run_readers(opts: &Options) -> Vec<RssRow> {
    let mut rows = Vec::new();
    for reader in READERS.iter().filter(|r| opts.selects(r.name)) {
        eprint!("{:<40} {:>6} ", reader.name, "");
        watchdog::arm(reader.name, Duration::from_secs(120));
        let result = run_child(reader.name, opts).map_err(|e| e.to_string());
        watchdog::disarm();
        match &result {
            Ok(r) => eprintln!(
                "{:>8} KiB RSS growth (VmRSS {} -> {} KiB), live heap +{} B",
                r.growth_kib(),
                r.before_kib,
                r.peak_kib,
                r.heap_growth
            ),
            Err(e) => eprintln!("error: {e}"),
        }
        rows.push(RssRow {
            name: reader.name,
            result,
        });
    }
    rows
}

/// Runs one reader in a child process and reads its result line.
fn run_child(name: &str, opts: &Options) -> Result<RssResult, BoxError> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--rss-child").arg(name);
    if opts.quick {
        cmd.arg("--quick");
    }
    if let Some(cpu) = opts.pin {
        cmd.arg("--pin").arg(cpu.to_string());
    }
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::inherit()).output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the child process failed ({}): {}",
            out.status,
            stdout.trim()
        )
        .into());
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("rss-result "))
        .ok_or("the child process printed no result")?;
    let field = |key: &str| -> Result<&str, BoxError> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .ok_or_else(|| format!("no {key} in the child's result").into())
    };
    let num = |key: &str| -> Result<u64, BoxError> { Ok(field(key)?.parse()?) };
    let hwm = field("hwm_growth_kib")?;
    Ok(RssResult {
        body_bytes: num("body_bytes")?,
        reads: num("reads")?,
        before_kib: num("before_kib")?,
        peak_kib: num("peak_kib")?,
        hwm_growth_kib: if hwm == "none" {
            None
        } else {
            Some(hwm.parse()?)
        },
        heap_growth: num("heap_growth")?,
        elapsed: Duration::from_nanos(num("elapsed_ns")?),
    })
}

/// The child process: runs the reader `name` against its own server and
/// prints one `rss-result key=value...` line.
pub(crate) fn child_main(name: &str, opts: &Options) -> ExitCode {
    let Some(reader) = READERS.iter().find(|r| r.name == name) else {
        println!("no RSS reader named {name:?}");
        return ExitCode::from(2);
    };
    let result = (|| -> Result<RssResult, BoxError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let server = Server::start(opts.rss_bytes(), opts.pin)?;
        let ctx = RssCtx {
            port: server.port(),
            body_len: opts.rss_bytes(),
            rt: &rt,
        };
        (reader.run)(&ctx)
    })();
    match result {
        Ok(r) => {
            println!(
                "rss-result body_bytes={} reads={} before_kib={} peak_kib={} hwm_growth_kib={} heap_growth={} elapsed_ns={}",
                r.body_bytes,
                r.reads,
                r.before_kib,
                r.peak_kib,
                r.hwm_growth_kib.map_or("none".to_owned(), |k| k.to_string()),
                r.heap_growth,
                r.elapsed.as_nanos()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// A `kB` field of `/proc/self/status`, read into a stack buffer (no heap
/// allocation, so sampling does not disturb what it measures).
fn status_kib(field: &[u8]) -> io::Result<u64> {
    let mut buf = [0u8; 8192];
    let mut file = File::open("/proc/self/status")?;
    let mut len = 0;
    loop {
        let n = file.read(&mut buf[len..])?;
        if n == 0 || len + n == buf.len() {
            len += n;
            break;
        }
        len += n;
    }
    buf[..len]
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(field))
        .map(|rest| {
            rest.iter()
                .filter(|b| b.is_ascii_digit())
                .fold(0u64, |v, d| v * 10 + u64::from(d - b'0'))
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no such field in /proc/self/status",
            )
        })
}

/// dugong-blocking's `body_reader()` (`std::io::Read`), 64 KiB reads.
fn blocking_reader(ctx: &RssCtx<'_>) -> Result<RssResult, BoxError> {
    let mut conn = dugong_blocking::Builder::new(HOST, ctx.port)
        .no_trace()
        .connect()?;
    let mut buf = vec![0u8; BODY_BUF];
    let mut sampler = Sampler::start()?;
    conn.send_request("GET", PATH, NO_FIELDS, dugong_blocking::Body::Empty)?;
    expect_ok(conn.read_response()?.status())?;
    let mut reader = conn.body_reader();
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        sampler.read()?;
    }
    sampler.finish(ctx, total)
}

/// dugong-tokio's `body_reader()` (`AsyncRead`), 64 KiB reads.
fn tokio_reader(ctx: &RssCtx<'_>) -> Result<RssResult, BoxError> {
    ctx.rt.block_on(async {
        let mut conn = dugong_tokio::Builder::new(HOST, ctx.port)
            .no_trace()
            .connect()
            .await?;
        let mut buf = vec![0u8; BODY_BUF];
        let mut sampler = Sampler::start()?;
        conn.send_request("GET", PATH, NO_FIELDS, dugong_tokio::Body::Empty)
            .await?;
        expect_ok(conn.read_response().await?.status())?;
        let mut reader = conn.body_reader();
        let mut total = 0u64;
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            total += n as u64;
            sampler.read()?;
        }
        drop(reader);
        sampler.finish(ctx, total)
    })
}

/// dugong-tokio's `body_stream()` (zero-copy `Bytes` pieces, each dropped
/// once counted).
fn tokio_stream(ctx: &RssCtx<'_>) -> Result<RssResult, BoxError> {
    ctx.rt.block_on(async {
        let mut conn = dugong_tokio::Builder::new(HOST, ctx.port)
            .no_trace()
            .connect()
            .await?;
        let mut sampler = Sampler::start()?;
        conn.send_request("GET", PATH, NO_FIELDS, dugong_tokio::Body::Empty)
            .await?;
        expect_ok(conn.read_response().await?.status())?;
        let mut stream = conn.body_stream();
        let mut total = 0u64;
        while let Some(piece) = stream.next().await {
            total += piece?.len() as u64;
            sampler.read()?;
        }
        drop(stream);
        sampler.finish(ctx, total)
    })
}
