//! Limits and deadlines of one connection.

use core::time::Duration;

/// Limits and deadlines that a [`Connection`](crate::Connection) enforces.
///
/// Every limit is checked while bytes are parsed, before more of them are
/// buffered, so memory stays bounded whatever the peer sends. Build one with
/// [`Config::default`] and the `with_*` methods:
///
/// ```
/// use core::time::Duration;
/// use dugong_proto::Config;
///
/// let config = Config::default()
///     .with_max_head_bytes(16 * 1024)
///     .with_read_timeout(Some(Duration::from_secs(30)));
/// assert_eq!(config.max_head_bytes(), 16 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    max_head_bytes: usize,
    max_headers: usize,
    max_chunk_line_bytes: usize,
    max_trailer_bytes: usize,
    max_informational: usize,
    continue_delay: Duration,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_head_bytes: 64 * 1024,
            max_headers: 128,
            max_chunk_line_bytes: 4 * 1024,
            max_trailer_bytes: 16 * 1024,
            max_informational: 64,
            continue_delay: Duration::from_secs(1),
            read_timeout: None,
            write_timeout: None,
            idle_timeout: None,
        }
    }
}

/// The largest head or trailer section a limit may allow: offsets within
/// one are kept in 32 bits.
const MAX_SECTION_BYTES: usize = u32::MAX as usize;

impl Config {
    /// Largest response head (status line, header fields and the empty line
    /// that ends them), in bytes. Default 64 KiB. Empty lines before a status
    /// line do not count.
    pub fn max_head_bytes(&self) -> usize {
        self.max_head_bytes
    }

    /// Sets [`max_head_bytes`](Self::max_head_bytes) (at least 16, at
    /// most `u32::MAX`).
    #[must_use]
    pub fn with_max_head_bytes(mut self, bytes: usize) -> Self {
        self.max_head_bytes = bytes.clamp(16, MAX_SECTION_BYTES);
        self
    }

    /// Most header fields in one response head, and most trailer fields in
    /// one chunked body. Default 128.
    pub fn max_headers(&self) -> usize {
        self.max_headers
    }

    /// Sets [`max_headers`](Self::max_headers).
    #[must_use]
    pub fn with_max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// Longest chunk-size line (size, extensions and CRLF), in bytes.
    /// Default 4 KiB.
    pub fn max_chunk_line_bytes(&self) -> usize {
        self.max_chunk_line_bytes
    }

    /// Sets [`max_chunk_line_bytes`](Self::max_chunk_line_bytes) (at least 3).
    #[must_use]
    pub fn with_max_chunk_line_bytes(mut self, bytes: usize) -> Self {
        self.max_chunk_line_bytes = bytes.max(3);
        self
    }

    /// Largest trailer section of a chunked body (fields and the final empty
    /// line), in bytes. Default 16 KiB.
    pub fn max_trailer_bytes(&self) -> usize {
        self.max_trailer_bytes
    }

    /// Sets [`max_trailer_bytes`](Self::max_trailer_bytes) (at least 2, at
    /// most `u32::MAX`).
    #[must_use]
    pub fn with_max_trailer_bytes(mut self, bytes: usize) -> Self {
        self.max_trailer_bytes = bytes.clamp(2, MAX_SECTION_BYTES);
        self
    }

    /// Most interim (1xx) responses accepted before one final response.
    /// Default 64: a few `103 Early Hints` are normal, an endless stream
    /// of them is a peer keeping the connection busy.
    pub fn max_informational(&self) -> usize {
        self.max_informational
    }

    /// Sets [`max_informational`](Self::max_informational).
    #[must_use]
    pub fn with_max_informational(mut self, count: usize) -> Self {
        self.max_informational = count;
        self
    }

    /// How long a request with `Expect: 100-continue` waits for
    /// `100 Continue` before its body is sent anyway. Default 1 s, as curl.
    pub fn continue_delay(&self) -> Duration {
        self.continue_delay
    }

    /// Sets [`continue_delay`](Self::continue_delay).
    #[must_use]
    pub fn with_continue_delay(mut self, delay: Duration) -> Self {
        self.continue_delay = delay;
        self
    }

    /// How long the connection may make no progress while a response is
    /// owed before it fails with [`Error::TimedOut`](crate::Error::TimedOut).
    /// Progress is any byte received or handed out for sending. Default
    /// `None` (no deadline).
    pub fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout
    }

    /// Sets [`read_timeout`](Self::read_timeout).
    #[must_use]
    pub fn with_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// How long bytes queued for writing may wait with no progress before
    /// the connection fails with [`Error::TimedOut`](crate::Error::TimedOut)
    /// ([`Timeout::Write`](crate::Timeout::Write)): a peer that stops
    /// reading. Progress is any byte handed out for sending or received.
    /// Default `None` (no deadline).
    pub fn write_timeout(&self) -> Option<Duration> {
        self.write_timeout
    }

    /// Sets [`write_timeout`](Self::write_timeout).
    #[must_use]
    pub fn with_write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// How long the connection may sit idle (nothing in flight) before it is
    /// no longer reused: [`Connection::must_close`](crate::Connection::must_close)
    /// turns true and new requests are refused. Servers drop idle
    /// connections; this avoids sending into one they are closing. Default
    /// `None`.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }
}
