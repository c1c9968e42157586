//! Traffic traces: every byte sent and received on a connection, written to
//! a file named by `DUGONG_TRACEFILE`, with secrets redacted.
//!
//! # Format
//!
//! The file starts with one line `# dugong trace v1: <what the connection
//! is>`. Then each record is a header line, the record's bytes, and a
//! newline:
//!
//! ```text
//! @<seconds since the connection started> <kind> <length>\n<length bytes>\n
//! ```
//!
//! where `<kind>` is `send` (bytes written), `recv` (bytes read), `eof` (the
//! peer closed; length 0), `request` (a request was started, in the
//! `replay` example's `METHOD[:expect100|:upgrade]` syntax) or `note`
//! (free text: connected, errors). HTTP is mostly text, so the file reads
//! well in an editor; the `recv` records, split exactly as they were read,
//! replay through `dugong-proto`'s `replay` example (`--trace FILE`).
//!
//! Values of `Authorization`, `Proxy-Authorization` and `Cookie` fields in
//! `send` records are masked with `*` of the same length, unless the trace
//! keeps secrets ([`Trace::keep_secrets`], or `DUGONG_TRACE_SECRETS=1`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Numbers connections for `%d` in `DUGONG_TRACEFILE`.
static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

/// The environment variable that names the trace file.
pub const TRACEFILE_VAR: &str = "DUGONG_TRACEFILE";

/// The environment variable that, set to `1`, keeps secrets in traces.
pub const SECRETS_VAR: &str = "DUGONG_TRACE_SECRETS";

/// What a trace record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Bytes written to the peer.
    Send,
    /// Bytes read from the peer.
    Recv,
    /// The peer closed its side.
    Eof,
    /// A request started, in the `replay` example's request syntax.
    Request,
    /// Free text.
    Note,
}

impl Record {
    fn as_str(self) -> &'static str {
        match self {
            Record::Send => "send",
            Record::Recv => "recv",
            Record::Eof => "eof",
            Record::Request => "request",
            Record::Note => "note",
        }
    }
}

/// A trace file of one connection. Cloning gives another handle on the same
/// file (for the sending and receiving halves of a split connection).
#[derive(Debug, Clone)]
pub struct Trace {
    inner: Arc<Mutex<Inner>>,
    keep_secrets: bool,
}

#[derive(Debug)]
struct Inner {
    out: BufWriter<File>,
    start: Instant,
    path: PathBuf,
    failed: bool,
}

impl Trace {
    /// Opens the trace named by `DUGONG_TRACEFILE`, if set, with `%d`
    /// replaced by a number unique to this connection within the process.
    /// Failing to create the file is reported on stderr once and tracing is
    /// skipped: a debugging aid must not break the program.
    pub fn from_env(about: &str) -> Option<Trace> {
        let pattern = std::env::var_os(TRACEFILE_VAR)?;
        let pattern = pattern.to_string_lossy();
        let number = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        let path = pattern.replace("%d", &number.to_string());
        match Trace::create(Path::new(&path), about) {
            Ok(trace) => {
                let keep = std::env::var(SECRETS_VAR).is_ok_and(|v| v == "1");
                Some(trace.keep_secrets(keep))
            }
            Err(e) => {
                eprintln!("dugong: cannot write trace file {path}: {e}");
                None
            }
        }
    }

    /// Creates (truncates) a trace file at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be created.
    pub fn create(path: &Path, about: &str) -> io::Result<Trace> {
        let mut out = BufWriter::new(File::create(path)?);
        writeln!(out, "# dugong trace v1: {}", about.replace('\n', " "))?;
        out.flush()?;
        Ok(Trace {
            inner: Arc::new(Mutex::new(Inner {
                out,
                start: Instant::now(),
                path: path.to_owned(),
                failed: false,
            })),
            keep_secrets: false,
        })
    }

    /// Keeps secret header values in `send` records instead of masking
    /// them.
    pub fn keep_secrets(mut self, keep: bool) -> Self {
        self.keep_secrets = keep;
        self
    }

    /// Whether secrets are kept; when false the adapter must ask
    /// `dugong-proto` to track them (`Connection::set_track_secrets`).
    pub fn keeps_secrets(&self) -> bool {
        self.keep_secrets
    }

    /// The file's path.
    pub fn path(&self) -> PathBuf {
        self.lock().path.clone()
    }

    /// Records bytes written. `offset` is the stream offset of `bytes[0]`
    /// and `secrets` the stream ranges to mask (from
    /// `Connection::secret_spans`), ignored if the trace keeps secrets.
    pub fn sent(&self, offset: u64, bytes: &[u8], secrets: impl Iterator<Item = Range<u64>>) {
        if self.keep_secrets {
            self.record(Record::Send, bytes);
            return;
        }
        let end = offset + bytes.len() as u64;
        let mut masked: Option<Vec<u8>> = None;
        for span in secrets {
            let (from, to) = (span.start.max(offset), span.end.min(end));
            if from < to {
                let copy = masked.get_or_insert_with(|| bytes.to_vec());
                copy[(from - offset) as usize..(to - offset) as usize].fill(b'*');
            }
        }
        self.record(Record::Send, masked.as_deref().unwrap_or(bytes));
    }

    /// Writes one record. Write errors end tracing quietly after one message
    /// on stderr.
    pub fn record(&self, kind: Record, bytes: &[u8]) {
        let mut inner = self.lock();
        if inner.failed {
            return;
        }
        let elapsed = inner.start.elapsed().as_secs_f64();
        let result = (|| {
            writeln!(inner.out, "@{elapsed:.6} {} {}", kind.as_str(), bytes.len())?;
            inner.out.write_all(bytes)?;
            inner.out.write_all(b"\n")?;
            inner.out.flush()
        })();
        if let Err(e) = result {
            inner.failed = true;
            eprintln!("dugong: trace file {} failed: {e}", inner.path.display());
        }
    }

    /// Writes a `note` record.
    pub fn note(&self, text: &str) {
        self.record(Record::Note, text.as_bytes());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a half-written record at
        // worst; keep tracing.
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Reads a trace file back: its records, in order. For tools and tests.
///
/// # Errors
///
/// [`io::ErrorKind::InvalidData`] if the data is not a trace.
pub fn parse(data: &[u8]) -> io::Result<Vec<(String, Vec<u8>)>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut rest = data;
    let first = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| bad("empty trace"))?;
    if !rest.starts_with(b"# dugong trace v1") {
        return Err(bad("not a dugong trace"));
    }
    rest = &rest[first + 1..];
    let mut records = Vec::new();
    while !rest.is_empty() {
        let eol = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("truncated record header"))?;
        let header = std::str::from_utf8(&rest[..eol]).map_err(|_| bad("bad record header"))?;
        let mut parts = header
            .strip_prefix('@')
            .ok_or_else(|| bad("bad record header"))?
            .split(' ');
        let (_, kind, len) = (parts.next(), parts.next(), parts.next());
        let kind = kind.ok_or_else(|| bad("record without kind"))?.to_owned();
        let len: usize = len
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| bad("bad record length"))?;
        let body = rest
            .get(eol + 1..eol + 1 + len)
            .ok_or_else(|| bad("truncated record"))?;
        if rest.get(eol + 1 + len) != Some(&b'\n') {
            return Err(bad("record not followed by a newline"));
        }
        records.push((kind, body.to_vec()));
        rest = &rest[eol + 2 + len..];
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_secrets_are_masked() {
        let dir = std::env::temp_dir().join(format!("dugong-trace-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.trace");
        let trace = Trace::create(&path, "test\nconnection").unwrap();
        trace.record(Record::Request, b"GET");
        // "Cookie: abc" at stream offset 100; the secret is 108..111.
        trace.sent(100, b"Cookie: abc\r\n", [108..111, 200..210].into_iter());
        trace.sent(113, b"\r\n", std::iter::once(108..111));
        trace.record(Record::Recv, b"HTTP/1.1 200 OK\r\n\n");
        trace.record(Record::Eof, b"");
        let kept = trace.clone().keep_secrets(true);
        kept.sent(0, b"Cookie: abc", std::iter::once(8..11));
        let data = std::fs::read(&path).unwrap();
        assert!(data.starts_with(b"# dugong trace v1: test connection\n"));
        let records = parse(&data).unwrap();
        let expect: Vec<(String, Vec<u8>)> = vec![
            ("request".into(), b"GET".to_vec()),
            ("send".into(), b"Cookie: ***\r\n".to_vec()),
            ("send".into(), b"\r\n".to_vec()),
            ("recv".into(), b"HTTP/1.1 200 OK\r\n\n".to_vec()),
            ("eof".into(), b"".to_vec()),
            ("send".into(), b"Cookie: abc".to_vec()),
        ];
        assert_eq!(records, expect);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parse_rejects_damage() {
        assert!(parse(b"").is_err());
        assert!(parse(b"hello\n").is_err());
        assert!(parse(b"# dugong trace v1: x\n@0 recv 5\nab\n").is_err());
        assert!(parse(b"# dugong trace v1: x\n@0 recv 2\nabX").is_err());
        assert_eq!(parse(b"# dugong trace v1: x\n").unwrap(), vec![]);
    }
}
