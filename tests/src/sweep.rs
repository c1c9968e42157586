//! Pipelined response sequences for the truncation sweep: each is cut after
//! every byte offset, and an adapter must then deliver exactly the
//! responses completed before the cut, followed by a closed-connection
//! error naming the requests left unanswered.

use std::io::{self, Read, Write};

/// A request of a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRequest {
    /// The method.
    pub method: &'static str,
    /// Sent with `Expect: 100-continue` and this whole body.
    pub expect_continue_body: Option<&'static [u8]>,
}

/// The response to one request, as bytes on the wire and as the caller
/// must see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepResponse {
    /// Everything the server sends for this request (interim responses
    /// included).
    pub wire: Vec<u8>,
    /// The final status.
    pub status: u16,
    /// The body as the caller must read it.
    pub body: Vec<u8>,
    /// Offset in `wire` just past the final head.
    pub head_end: usize,
    /// Delimited by the connection's close (only ever the last response).
    pub close_delimited: bool,
}

/// One pipelined exchange.
#[derive(Debug, Clone)]
pub struct Sequence {
    /// What the sequence shows.
    pub name: &'static str,
    /// The requests, in order.
    pub requests: Vec<SweepRequest>,
    /// Their responses, in order.
    pub responses: Vec<SweepResponse>,
}

/// What the caller must see when the stream is cut after `cut` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// `(status, body)` of each response completed before the cut.
    pub complete: Vec<(u16, Vec<u8>)>,
    /// Ids (counted from 0) of the requests left unanswered; empty if all
    /// completed (then no error follows).
    pub unanswered: Vec<u64>,
    /// The first unanswered request's final head had arrived (its body was
    /// cut: the fate is "body incomplete").
    pub head_received: bool,
}

impl Sequence {
    /// All the response bytes, in order.
    pub fn wire(&self) -> Vec<u8> {
        self.responses.iter().flat_map(|r| r.wire.clone()).collect()
    }

    /// The outcome of cutting the stream after `cut` bytes.
    pub fn expected_at(&self, cut: usize) -> Expected {
        let mut start = 0;
        let mut expected = Expected {
            complete: Vec::new(),
            unanswered: Vec::new(),
            head_received: false,
        };
        for (i, response) in self.responses.iter().enumerate() {
            let head_in = cut >= start + response.head_end;
            let done = if response.close_delimited {
                head_in
            } else {
                cut >= start + response.wire.len()
            };
            if done && expected.unanswered.is_empty() {
                let body = if response.close_delimited {
                    response.body
                        [..cut.min(start + response.wire.len()) - start - response.head_end]
                        .to_vec()
                } else {
                    response.body.clone()
                };
                expected.complete.push((response.status, body));
            } else {
                if expected.unanswered.is_empty() {
                    expected.head_received = head_in;
                }
                expected.unanswered.push(i as u64);
            }
            start += response.wire.len();
        }
        expected
    }
}

fn get() -> SweepRequest {
    SweepRequest {
        method: "GET",
        expect_continue_body: None,
    }
}

fn head_request() -> SweepRequest {
    SweepRequest {
        method: "HEAD",
        expect_continue_body: None,
    }
}

fn put_expecting(body: &'static [u8]) -> SweepRequest {
    SweepRequest {
        method: "PUT",
        expect_continue_body: Some(body),
    }
}

fn response(
    prefix: &[u8],
    head: &str,
    wire_body: &[u8],
    body: &[u8],
    close: bool,
) -> SweepResponse {
    let status = head[9..12].parse().expect("a status code in the head");
    let wire = [prefix, head.as_bytes(), wire_body].concat();
    SweepResponse {
        head_end: prefix.len() + head.len(),
        wire,
        status,
        body: body.to_vec(),
        close_delimited: close,
    }
}

fn length(body: &[u8]) -> SweepResponse {
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    response(b"", &head, body, body, false)
}

fn chunked(pieces: &[&[u8]], trailers: &str) -> SweepResponse {
    let mut wire = Vec::new();
    for piece in pieces {
        wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(format!("0\r\n{trailers}\r\n").as_bytes());
    let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    response(b"", head, &wire, &pieces.concat(), false)
}

fn until_close(body: &[u8]) -> SweepResponse {
    response(
        b"",
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
        body,
        body,
        true,
    )
}

fn bodiless(status_line: &str, fields: &str) -> SweepResponse {
    let head = format!("HTTP/1.1 {status_line}\r\n{fields}\r\n");
    response(b"", &head, b"", b"", false)
}

fn after_continue(inner: SweepResponse) -> SweepResponse {
    let prefix = b"HTTP/1.1 100 Continue\r\n\r\n";
    SweepResponse {
        head_end: inner.head_end + prefix.len(),
        wire: [prefix.as_slice(), &inner.wire].concat(),
        ..inner
    }
}

fn after_hints(inner: SweepResponse) -> SweepResponse {
    let prefix = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n";
    SweepResponse {
        head_end: inner.head_end + prefix.len(),
        wire: [prefix.as_slice(), &inner.wire].concat(),
        ..inner
    }
}

/// The sequences: at least 20, covering length-delimited, chunked (with
/// trailers and extensions), close-delimited, HEAD/204/304 between others,
/// 100-continue and 103.
pub fn sequences() -> Vec<Sequence> {
    let seq = |name, requests: Vec<SweepRequest>, responses: Vec<SweepResponse>| {
        assert_eq!(requests.len(), responses.len(), "{name}");
        Sequence {
            name,
            requests,
            responses,
        }
    };
    vec![
        seq("one length", vec![get()], vec![length(b"hello")]),
        seq("empty length", vec![get()], vec![length(b"")]),
        seq(
            "two lengths",
            vec![get(), get()],
            vec![length(b"abc"), length(b"defgh")],
        ),
        seq(
            "one chunked",
            vec![get()],
            vec![chunked(&[b"hello", b" world"], "")],
        ),
        seq(
            "chunked with trailers",
            vec![get()],
            vec![chunked(&[b"abc"], "Checksum: 42\r\nX-T: y\r\n")],
        ),
        seq("chunked empty", vec![get()], vec![chunked(&[], "")]),
        seq(
            "chunked then length",
            vec![get(), get()],
            vec![chunked(&[b"ab", b"cd"], ""), length(b"xyz")],
        ),
        seq("until close", vec![get()], vec![until_close(b"all of it")]),
        seq(
            "length then until close",
            vec![get(), get()],
            vec![length(b"first"), until_close(b"second")],
        ),
        seq(
            "head between gets",
            vec![get(), head_request(), get()],
            vec![
                length(b"one"),
                bodiless("200 OK", "Content-Length: 1000\r\n"),
                length(b"three"),
            ],
        ),
        seq(
            "204 and 304 between",
            vec![get(), get(), get(), get()],
            vec![
                bodiless("204 No Content", ""),
                length(b"x"),
                bodiless("304 Not Modified", "ETag: \"a\"\r\n"),
                chunked(&[b"last"], ""),
            ],
        ),
        seq(
            "continue then length",
            vec![put_expecting(b"body")],
            vec![after_continue(length(b"stored"))],
        ),
        seq(
            "get, then continue and chunked",
            vec![get(), put_expecting(b"body")],
            vec![length(b"first"), after_continue(chunked(&[b"ok"], ""))],
        ),
        seq(
            "refused before continue",
            vec![put_expecting(b"body")],
            vec![response(
                b"",
                "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 2\r\n\r\n",
                b"no",
                b"no",
                false,
            )],
        ),
        seq(
            "early hints then length",
            vec![get(), get()],
            vec![after_hints(length(b"hinted")), length(b"plain")],
        ),
        seq(
            "five small",
            vec![get(), get(), get(), get(), get()],
            vec![
                length(b"1"),
                length(b"22"),
                length(b""),
                length(b"4444"),
                length(b"55555"),
            ],
        ),
        seq(
            "chunk extensions",
            vec![get()],
            vec![response(
                b"",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"3;name=value\r\nabc\r\n0;last\r\n\r\n",
                b"abc",
                false,
            )],
        ),
        seq(
            "http 1.0 length",
            vec![get()],
            vec![response(
                b"",
                "HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\n",
                b"old!",
                b"old!",
                false,
            )],
        ),
        seq(
            "many fields",
            vec![get(), get()],
            vec![
                response(
                    b"",
                    "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 2\r\nD: 4\r\n\r\n",
                    b"ok",
                    b"ok",
                    false,
                ),
                length(b"after"),
            ],
        ),
        seq(
            "large chunks",
            vec![get(), get()],
            vec![
                chunked(&[&[b'a'; 300], &[b'b'; 17]], "T: 1\r\n"),
                length(&[b'c'; 200]),
            ],
        ),
        seq(
            "mixed to the close",
            vec![get(), head_request(), get(), get()],
            vec![
                chunked(&[b"one"], ""),
                bodiless("200 OK", "Transfer-Encoding: chunked\r\n"),
                length(b"three"),
                until_close(b"four until close"),
            ],
        ),
    ]
}

/// A transport that plays `data` to the reader in reads of at most `piece`
/// bytes, then reports the peer's close; everything written is dropped.
#[derive(Debug)]
pub struct CutStream {
    data: Vec<u8>,
    at: usize,
    piece: usize,
    /// A request was written: as a real server, the async stream answers
    /// nothing before that.
    asked: bool,
    waker: Option<std::task::Waker>,
}

impl CutStream {
    /// Plays `data`, `piece` bytes at a time.
    pub fn new(data: Vec<u8>, piece: usize) -> CutStream {
        CutStream {
            data,
            at: 0,
            piece: piece.max(1),
            asked: false,
            waker: None,
        }
    }
}

impl Read for CutStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.piece).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for CutStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for CutStream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.asked {
            this.waker = Some(cx.waker().clone());
            return std::task::Poll::Pending;
        }
        let n = buf
            .remaining()
            .min(this.piece)
            .min(this.data.len() - this.at);
        buf.put_slice(&this.data[this.at..this.at + n]);
        this.at += n;
        std::task::Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for CutStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.asked = true;
        if let Some(waker) = this.waker.take() {
            waker.wake();
        }
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
