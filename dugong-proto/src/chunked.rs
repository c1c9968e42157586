//! The chunked transfer coding (RFC 9112 §7.1), both ways: reading a
//! chunked response body ([`Dechunker`], [`parse_chunk_size`]) and writing
//! the chunk framing of a request body ([`write_chunk_size`],
//! [`write_last_chunk`]).
//!
//! ```text
//!   Size --size > 0--> Data(size) --all of it--> DataEnd --CRLF--> Size
//!     `--size 0--> Trailers (read by the receive side's section scan)
//! ```
//!
//! The receive side holds a [`Dechunker`] while it reads a chunked body and
//! routes what each [`step`](Dechunker::step) finds; the send side calls the
//! writers. Neither kind of function changes `RecvState` or `SendState`.

use bytes::{BufMut, BytesMut};

use crate::error::{Error, InvalidRequest, InvalidResponse, Limit};
use crate::head::{skip_ows, skip_quoted, skip_token};
use crate::request::{check_field, put_field, HeaderField};

/// Where the reader of a chunked body stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// At a chunk-size line.
    Size,
    /// Within chunk data, this many bytes left.
    Data(u64),
    /// At the CRLF after chunk data.
    DataEnd,
    /// The last chunk was read: at the trailer section.
    Trailers,
}

/// The chunk framing of a response body, read step by step from the front
/// of the receive buffer. It never copies: it says how many bytes at the
/// front are framing to drop or chunk data to hand out.
#[derive(Debug)]
pub(crate) struct Dechunker {
    chunk: Chunk,
}

/// What [`Dechunker::step`] found at the front of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The first `n` bytes are framing (a chunk-size line, or the CRLF
    /// after chunk data): drop them and step again.
    Framing(usize),
    /// The first `n` bytes are chunk data.
    Data(usize),
    /// More bytes are needed.
    NeedMore,
    /// The last chunk was read; the trailer section starts the buffer.
    Trailers,
}

impl Dechunker {
    /// At the first chunk-size line.
    pub(crate) fn new() -> Self {
        Dechunker { chunk: Chunk::Size }
    }

    /// The bytes of the current chunk not read yet: 0 outside chunk data.
    pub(crate) fn data_remaining(&self) -> u64 {
        match self.chunk {
            Chunk::Data(n) => n,
            _ => 0,
        }
    }

    /// Counts `n` bytes of chunk data read past the buffer; `n` is at most
    /// [`data_remaining`](Self::data_remaining).
    pub(crate) fn consume_data(&mut self, n: u64) {
        if let Chunk::Data(r) = &mut self.chunk {
            *r -= n;
            if *r == 0 {
                self.chunk = Chunk::DataEnd;
            }
        }
    }

    /// Reads what starts `buf`, whose first byte is at stream offset
    /// `base`. A chunk-size line may be at most `max_line` bytes long,
    /// CRLF included.
    #[inline]
    pub(crate) fn step(&mut self, buf: &[u8], max_line: usize, base: u64) -> Result<Step, Error> {
        match &mut self.chunk {
            Chunk::Size => {
                let window = &buf[..buf.len().min(max_line)];
                let Some(lf) = memchr::memchr(b'\n', window) else {
                    if buf.len() >= max_line {
                        return Err(Error::TooLarge(Limit::ChunkLineBytes(max_line)));
                    }
                    return Ok(Step::NeedMore);
                };
                if lf == 0 || buf[lf - 1] != b'\r' {
                    return Err(Error::invalid(InvalidResponse::BareLf, base + lf as u64));
                }
                let size =
                    parse_chunk_size(&buf[..lf - 1]).map_err(|kind| Error::invalid(kind, base))?;
                self.chunk = if size == 0 {
                    Chunk::Trailers
                } else {
                    Chunk::Data(size)
                };
                Ok(Step::Framing(lf + 1))
            }
            Chunk::Data(remaining) => {
                if buf.is_empty() {
                    return Ok(Step::NeedMore);
                }
                let n = usize::try_from(*remaining).map_or(buf.len(), |r| r.min(buf.len()));
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.chunk = Chunk::DataEnd;
                }
                Ok(Step::Data(n))
            }
            Chunk::DataEnd => {
                match buf.get(..2) {
                    Some(b"\r\n") => {}
                    Some(_) => return Err(Error::invalid(InvalidResponse::ChunkDataEnd, base)),
                    None if buf.first().is_some_and(|&b| b != b'\r') => {
                        return Err(Error::invalid(InvalidResponse::ChunkDataEnd, base))
                    }
                    None => return Ok(Step::NeedMore),
                }
                self.chunk = Chunk::Size;
                Ok(Step::Framing(2))
            }
            Chunk::Trailers => Ok(Step::Trailers),
        }
    }
}

/// Parses a chunk-size line (without its CRLF): hex digits, then optional
/// extensions `;name[=value]` with optional whitespace before `;` and
/// around `=` (RFC 9112 §7.1.1); nothing may end the line but a name or a
/// value.
pub(crate) fn parse_chunk_size(line: &[u8]) -> Result<u64, InvalidResponse> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(InvalidResponse::ChunkSize);
    }
    let mut size: u64 = 0;
    for &d in &line[..digits] {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => d - b'A' + 10,
        };
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(v)))
            .ok_or(InvalidResponse::ChunkSizeOverflow)?;
    }
    // `*( BWS ";" BWS name [ BWS "=" BWS value ] )` to the end: whitespace
    // only where a `;` or `=` follows it (or, after `;` and `=`, precedes
    // a name or value), never at the end of the line.
    let mut rest = &line[digits..];
    while !rest.is_empty() {
        let Some((&b';', after)) = skip_ows(rest).split_first() else {
            return Err(InvalidResponse::ChunkSize);
        };
        rest = skip_token(skip_ows(after)).ok_or(InvalidResponse::ChunkSize)?;
        if let Some((&b'=', value)) = skip_ows(rest).split_first() {
            let value = skip_ows(value);
            rest = if value.first() == Some(&b'"') {
                skip_quoted(value).ok_or(InvalidResponse::ChunkSize)?
            } else {
                skip_token(value).ok_or(InvalidResponse::ChunkSize)?
            };
        }
    }
    Ok(size)
}

/// Appends the chunk-size line of a chunk of `len` bytes (`len` > 0): the
/// size in lowercase hex, then CRLF.
pub(crate) fn write_chunk_size(out: &mut BytesMut, len: u64) {
    put_hex(out, len);
    out.extend_from_slice(b"\r\n");
}

/// Fields that must not be sent as trailers (RFC 9110 §6.5.1): framing,
/// routing, connection control, authentication and content metadata.
const FORBIDDEN_TRAILERS: &[&[u8]] = &[
    b"content-length",
    b"transfer-encoding",
    b"host",
    b"connection",
    b"keep-alive",
    b"upgrade",
    b"te",
    b"trailer",
    b"expect",
    b"authorization",
    b"proxy-authorization",
    b"content-encoding",
    b"content-type",
    b"content-range",
];

/// Appends the last chunk and trailer section of a chunked body. On error
/// `out` is left as it was.
pub(crate) fn write_last_chunk<I>(out: &mut BytesMut, trailers: I) -> Result<(), InvalidRequest>
where
    I: IntoIterator<Item: HeaderField>,
{
    let start = out.len();
    out.put_slice(b"0\r\n");
    for field in trailers {
        let (name, value) = (field.name(), field.value());
        let checked = check_field(name, value).and_then(|()| {
            if FORBIDDEN_TRAILERS
                .iter()
                .any(|f| name.eq_ignore_ascii_case(f))
            {
                Err(InvalidRequest::ForbiddenTrailer)
            } else {
                Ok(())
            }
        });
        if let Err(e) = checked {
            out.truncate(start);
            return Err(e);
        }
        put_field(out, name, value);
    }
    out.put_slice(b"\r\n");
    Ok(())
}

fn put_hex(out: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Steps through `body` as the receive side does, dropping framing;
    /// returns the data and what ended the walk.
    fn walk(body: &[u8], max_line: usize) -> (Vec<u8>, Result<Step, Error>) {
        let mut dechunker = Dechunker::new();
        let (mut at, mut data) = (0, Vec::new());
        loop {
            match dechunker.step(&body[at..], max_line, at as u64) {
                Ok(Step::Framing(n)) => at += n,
                Ok(Step::Data(n)) => {
                    data.extend_from_slice(&body[at..at + n]);
                    at += n;
                }
                end => return (data, end),
            }
        }
    }

    /// A body, the data in it, and what ends the walk through it.
    type Case = (&'static [u8], &'static [u8], Result<Step, Error>);

    #[test]
    fn dechunker_steps() {
        let invalid = |kind, at| Err(Error::invalid(kind, at));
        let cases: &[Case] = &[
            (b"", b"", Ok(Step::NeedMore)),
            (b"5\r\nhello\r\n0\r\n", b"hello", Ok(Step::Trailers)),
            (
                b"3;a\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                b"abcde",
                Ok(Step::Trailers),
            ),
            (b"5\r\nhel", b"hel", Ok(Step::NeedMore)),
            (b"5\r\nhello\r", b"hello", Ok(Step::NeedMore)),
            (
                b"5\r\nhellox",
                b"hello",
                invalid(InvalidResponse::ChunkDataEnd, 8),
            ),
            (
                b"5\r\nhello\rx",
                b"hello",
                invalid(InvalidResponse::ChunkDataEnd, 8),
            ),
            (b"5\n", b"", invalid(InvalidResponse::BareLf, 1)),
            (b"\n", b"", invalid(InvalidResponse::BareLf, 0)),
            (b"x\r\n", b"", invalid(InvalidResponse::ChunkSize, 0)),
            (
                b"1\r\na\r\n5 \r\n",
                b"a",
                invalid(InvalidResponse::ChunkSize, 6),
            ),
            (b"12345", b"", Ok(Step::NeedMore)),
            (
                b"123456",
                b"",
                Err(Error::TooLarge(Limit::ChunkLineBytes(6))),
            ),
        ];
        for (body, data, end) in cases {
            assert_eq!(
                walk(body, 6),
                (data.to_vec(), end.clone()),
                "{}",
                body.escape_ascii()
            );
        }
    }

    #[test]
    fn data_read_past_the_buffer_is_counted() {
        let mut dechunker = Dechunker::new();
        assert_eq!(dechunker.step(b"a\r\n", 64, 0), Ok(Step::Framing(3)));
        assert_eq!(dechunker.data_remaining(), 10);
        dechunker.consume_data(4);
        assert_eq!(dechunker.data_remaining(), 6);
        dechunker.consume_data(6);
        assert_eq!(dechunker.data_remaining(), 0);
        assert_eq!(dechunker.step(b"\r\n", 64, 13), Ok(Step::Framing(2)));
    }

    #[test]
    fn chunk_framing_is_written() {
        let mut out = BytesMut::new();
        for len in [1, 0xa, 0xff, 0x1000, u64::MAX] {
            write_chunk_size(&mut out, len);
        }
        assert_eq!(&out[..], b"1\r\na\r\nff\r\n1000\r\nffffffffffffffff\r\n");
        out.clear();
        write_last_chunk(&mut out, [("X-Sum", "1")]).unwrap();
        assert_eq!(&out[..], b"0\r\nX-Sum: 1\r\n\r\n");
        assert_eq!(
            write_last_chunk(&mut out, [("X-Ok", "1"), ("Content-Type", "a")]),
            Err(InvalidRequest::ForbiddenTrailer)
        );
        assert_eq!(&out[..], b"0\r\nX-Sum: 1\r\n\r\n");
    }
}
