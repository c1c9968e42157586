//! The raw clients: a plain `TcpStream`, prebuilt request bytes, and the
//! least parsing that still reads every response (find the end of the
//! head, read `Content-Length`, skip that many body bytes). The practical
//! limit of the machine for this server, and the proof that the server
//! allocates nothing (these clients allocate nothing after connecting).
//!
//! `raw+httparse pipelined` is the same client with each head parsed by
//! `httparse::Response::parse` instead: the floor of any client that
//! parses the heads it reads, with the fastest head parser in Rust and
//! nothing else (no framing rules, no events, no request building).

use std::io::{self, Read, Write};
use std::net::TcpStream;

use memchr::memmem::Finder;

use super::{Ctx, BODY_BUF, HOST, PATH};
use crate::window::Measurement;
use crate::BoxError;

/// A connection and its receive buffer.
struct RawConn {
    /// The socket.
    stream: TcpStream,
    /// Received bytes; unread ones are `buf[start..end]`.
    buf: Vec<u8>,
    /// First unread byte.
    start: usize,
    /// End of received bytes.
    end: usize,
    /// Finds the end of a head.
    head_end: Finder<'static>,
    /// Finds the length field (as the server spells it).
    length_field: Finder<'static>,
    /// Parse each head with httparse instead of looking for its end.
    httparse: bool,
}

impl RawConn {
    /// Connects (with `TCP_NODELAY`, as the other clients).
    fn connect(ctx: &Ctx<'_>, httparse: bool) -> io::Result<RawConn> {
        let stream = TcpStream::connect((HOST, ctx.port))?;
        stream.set_nodelay(true)?;
        Ok(RawConn {
            stream,
            buf: vec![0; BODY_BUF],
            start: 0,
            end: 0,
            head_end: Finder::new(b"\r\n\r\n"),
            length_field: Finder::new(b"Content-Length: "),
            httparse,
        })
    }

    /// Reads one whole response; returns its body length.
    fn read_response(&mut self) -> io::Result<u64> {
        let (head_len, length) = if self.httparse {
            self.parse_head()?
        } else {
            let head_len = loop {
                if let Some(i) = self.head_end.find(&self.buf[self.start..self.end]) {
                    break i + 4;
                }
                self.fill()?;
            };
            let head = &self.buf[self.start..self.start + head_len];
            (head_len, self.content_length(head)?)
        };
        self.start += head_len;
        let mut left = length;
        loop {
            let take = ((self.end - self.start) as u64).min(left);
            self.start += take as usize;
            left -= take;
            if left == 0 {
                break;
            }
            // Everything buffered was body: read the rest into the whole
            // buffer (it may end with the next response).
            self.start = 0;
            self.end = 0;
            self.fill()?;
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        Ok(length)
    }

    /// Parses the next head with httparse; returns its length and the
    /// value of its `Content-Length` field.
    fn parse_head(&mut self) -> io::Result<(usize, u64)> {
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        loop {
            let mut fields = [httparse::EMPTY_HEADER; 16];
            let mut head = httparse::Response::new(&mut fields);
            match head.parse(&self.buf[self.start..self.end]) {
                Ok(httparse::Status::Complete(len)) => {
                    let length = head
                        .headers
                        .iter()
                        .find(|f| f.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|f| std::str::from_utf8(f.value).ok()?.parse().ok())
                        .ok_or_else(|| bad("no Content-Length"))?;
                    return Ok((len, length));
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(bad(&e.to_string())),
            }
            self.fill()?;
        }
    }

    /// The value of the `Content-Length` field of `head`.
    fn content_length(&self, head: &[u8]) -> io::Result<u64> {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "no Content-Length");
        let at = self.length_field.find(head).ok_or_else(bad)? + 16;
        let digits = head[at..].iter().take_while(|b| b.is_ascii_digit());
        let mut value = 0u64;
        let mut any = false;
        for &d in digits {
            value = value * 10 + u64::from(d - b'0');
            any = true;
        }
        if any {
            Ok(value)
        } else {
            Err(bad())
        }
    }

    /// Reads more bytes after `end`, moving unread ones to the front first
    /// if the buffer is full.
    fn fill(&mut self) -> io::Result<()> {
        if self.end == self.buf.len() {
            if self.start == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a response head larger than the buffer",
                ));
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The request every client sends.
fn request(ctx: &Ctx<'_>) -> Vec<u8> {
    format!("GET {PATH} HTTP/1.1\r\nHost: {}\r\n\r\n", ctx.authority()).into_bytes()
}

/// Raw pipelined: writes half a window of requests in one write whenever
/// half of the window is answered.
pub(super) fn pipelined(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    pipelined_with(ctx, false)
}

/// Raw pipelined with each head parsed by httparse.
pub(super) fn pipelined_httparse(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    pipelined_with(ctx, true)
}

/// Raw pipelined, each head parsed by httparse or not.
fn pipelined_with(ctx: &Ctx<'_>, httparse: bool) -> Result<Measurement, BoxError> {
    let mut conn = RawConn::connect(ctx, httparse)?;
    let half = (ctx.size.depth() / 2).max(1);
    let batch = request(ctx).repeat(half);
    let mut window = ctx.window();
    let mut in_flight = 0;
    let mut sending = true;
    loop {
        if sending {
            while in_flight + half <= ctx.size.depth() {
                conn.stream.write_all(&batch)?;
                in_flight += half;
            }
        }
        let answers = if sending { half } else { in_flight };
        for _ in 0..answers {
            let body = conn.read_response()?;
            in_flight -= 1;
            if !window.record(body) {
                sending = false;
            }
        }
        if !sending && in_flight == 0 {
            break;
        }
    }
    window.finish()
}

/// Raw one at a time: write the request, read the response, again.
pub(super) fn one_at_a_time(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    let mut conn = RawConn::connect(ctx, false)?;
    let request = request(ctx);
    let mut window = ctx.window();
    loop {
        conn.stream.write_all(&request)?;
        let body = conn.read_response()?;
        if !window.record(body) {
            break;
        }
    }
    window.finish()
}
