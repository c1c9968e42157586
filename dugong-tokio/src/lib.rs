//! An async HTTP/1.1 client with pipelining and `100 Continue`, driving the
//! sans-IO state machine of [`dugong_proto`] over tokio streams (TCP, TLS
//! with tokio-rustls, HTTP proxies) or any [`Transport`].
//!
//! It holds no protocol logic of its own: it moves bytes between the
//! transport and the state machine, waits (for the transport and for the
//! state machine's deadlines, with tokio's timer), and maps errors to
//! [`Error`], the type `dugong-blocking` uses too (both come from
//! [`dugong_net`]). Its methods have the blocking adapter's names, as
//! `async fn`s.
//!
//! Everything it keeps beside the state machine is the I/O-free session
//! both adapters share: [`dugong_net::session::Session`] (requests and
//! their extras, the trace, the pipelining window, what the transport did,
//! the deadlines), which the two halves share behind a lock, and
//! [`dugong_net::session::Reader`] (the response being read, the body
//! piece not handed out yet, trailers, 1xx, the `read_all` bound), which
//! the receiving half owns. Each `poll_*` calls them under the lock and,
//! while they say `Pending`, moves bytes, or parks until the transport or
//! the session's next deadline (tokio's timer) wakes it.
//!
//! # The model
//!
//! ```text
//!              Connection (one task)             split(): two tasks
//!   send_request ─┐                        SendHalf ──── writes ────┐
//!   send_body     ├─ SendHalf ─┐                                     │
//!   finish        ┘            │  Arc<Shared>: session::Session
//!                              ├─ behind a std Mutex, never held  ── transport
//!   read_response ┐            │  across an .await                  (tokio::io::split)
//!   read_body     ├─ RecvHalf ─┘                                     │
//!   read_chunk    ┘                        RecvHalf ──── reads ─────┘
//! ```
//!
//! - A [`Connection`] is driven from one task. It can send any number of
//!   requests before reading: while a write is blocked it keeps reading
//!   responses into its buffer (up to [`Builder::max_buffered`]), so a
//!   server that answers before reading more cannot deadlock it.
//! - [`Connection::split`] gives a [`SendHalf`] and a [`RecvHalf`] to run
//!   concurrently (two tasks, or one `join!`): the sender writes requests,
//!   the receiver reads responses, and nothing is buffered beyond what the
//!   receiver asks for.
//! - [`Connection::pipeline`] sends an iterator of [`Request`]s and yields
//!   their [`FullResponse`]s in order, keeping up to N in flight.
//! - [`Client`] is a pool of split connections per origin for many tasks
//!   (4 connections × depth 16 by default): `client.get(url).await?` or
//!   `client.request(method, url, headers, body).await?` gives a
//!   [`ClientResponse`], and [`Client::start`] pipelines from one task
//!   ([`Pending::wait`]). When a connection dies with requests unanswered,
//!   each is resent on another connection if and only if that is safe
//!   (never processed; or idempotent, or marked with an `Idempotency-Key`;
//!   never once its response began), in order, within a per-request limit
//!   and a client-wide budget, with backoff; the decisions are
//!   [`dugong_net::pool`]'s and [`dugong_net::resend`]'s, shared with
//!   `dugong-blocking`. A response dropped with its body unread, or a
//!   [`Pending`] dropped before its head was read, breaks its connection
//!   (a drop cannot wait): read or discard bodies to reuse connections.
//!
//! # Example
//!
//! Two pipelined requests over an in-memory pipe whose other end plays the
//! server:
//!
//! ```
//! use dugong_tokio::{Body, Builder};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), dugong_tokio::Error> {
//! let (client, mut server) = tokio::io::duplex(64 * 1024);
//! tokio::spawn(async move {
//!     let mut request = [0u8; 1024];
//!     let _ = server.read(&mut request).await;
//!     let _ = server
//!         .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
//!                      HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!")
//!         .await;
//! });
//!
//! let mut conn = Builder::new("example.com", 80).no_trace().over(client);
//! conn.send_request("GET", "/a", [("Accept", "*/*")], Body::Empty).await?;
//! conn.send_request("GET", "/b", [("Accept", "*/*")], Body::Empty).await?;
//! let mut answers = Vec::new();
//! while conn.response_pending() {
//!     let head = conn.read_response().await?;
//!     let body = conn.read_all().await?;
//!     answers.push((head.status(), body));
//! }
//! assert_eq!(answers, [(200, b"hello".to_vec()), (404, b"no!".to_vec())]);
//! # Ok(())
//! # }
//! ```
//!
//! Over the network, `Connection::connect("example.com", 80).await?` or a
//! [`Builder`] (`Builder::from_url("https://example.com/")?.timeout(..)
//! .connect().await?`) makes the connection.
//!
//! # 100-continue
//!
//! ```no_run
//! use dugong_tokio::{Body, Connection};
//!
//! # async fn f() -> Result<(), dugong_tokio::Error> {
//! # let mut conn = Connection::connect("127.0.0.1", 8080).await?;
//! let body = b"a large upload";
//! conn.send_request(
//!     "PUT",
//!     "/upload",
//!     [("Expect", "100-continue")],
//!     Body::Sized(body.len() as u64),
//! )
//! .await?;
//! let head = conn.read_response().await?;
//! if head.status() == 100 {
//!     conn.write_body(body).await?;
//!     let head = conn.read_response().await?;
//!     println!("stored: {}", head.status());
//! } else {
//!     println!("refused before the body was sent: {}", head.status());
//! }
//! conn.discard().await?;
//! # Ok(()) }
//! ```
//!
//! # Cancel safety
//!
//! Every async method says what happens when its future is dropped before
//! it completes. Nothing read is ever lost: bytes go into the connection's
//! receive buffer and events are stored before any `.await`, so reading
//! methods (`read_response`, `read_body`, `read_chunk`, `discard`) are
//! cancel-safe and can be used in `select!`. Sending methods queue their
//! bytes at the first poll; a dropped one leaves the rest queued for the
//! next call that writes (or [`Connection::flush`]). `read_all` loses what
//! it gathered if dropped.
//!
//! A [`BodyReader`] or [`BodyStream`] dropped before the end of its body
//! leaves the rest of the body to be drained on next use: the next
//! `read_response` reads and discards it first, and the connection stays
//! usable.
//!
//! # Errors
//!
//! One [`Error`] type; [`Error::kind`] tells closed connections (every way
//! a peer can go away is one [`ErrorKind::Closed`], naming the requests
//! left unanswered), invalid, unsupported or too large responses, timeouts
//! ([`Error::TimedOut`] with the [`Phase`]: no data moved for
//! [`Builder::timeout`]), missing hosts, broken name resolution, TLS and
//! proxy failures, and the caller's mistakes apart;
//! [`Error::is_temporary`] says whether a retry makes sense. A body cut
//! short is an error, never a short `Ok`.
//!
//! # Tracing
//!
//! With `DUGONG_TRACEFILE=/tmp/conn-%d.trace`, every connection writes the
//! bytes it sends and receives to its own file (secrets masked; see
//! [`dugong_net::trace`]). Connection, request, response and error events
//! also go to the [`tracing`] crate at debug level.
//!
//! # Cargo features
//!
//! - `tls` (default): TLS with tokio-rustls: `https` connections,
//!   [`Builder::tls_config`] and [`TlsInfo`] (see [`dugong_net::tls`]).
//! - `http` (default): interop with the [`http`] crate:
//!   [`Connection::send_http`] sends an `http::Request` (repeated and
//!   latin-1 header values kept), and [`http_interop`] turns response heads
//!   into `http::response::Parts` or an `http::Response`, header fields and
//!   trailers into an `http::HeaderMap` and back, and converts `Method`,
//!   `StatusCode` and `Version`.
//!
//! ```no_run
//! # #[cfg(feature = "http")]
//! # async fn f() -> Result<(), dugong_tokio::Error> {
//! use dugong_tokio::{http_interop, Connection};
//!
//! let mut conn = Connection::connect("127.0.0.1", 8080).await?;
//! let request = http::Request::post("http://127.0.0.1:8080/notes")
//!     .header("x-name", http::HeaderValue::from_bytes(b"caf\xe9").unwrap())
//!     .body("hello")
//!     .unwrap();
//! conn.send_http(request).await?;
//! let head = conn.read_response().await?;
//! let response = http_interop::into_response(&head, conn.read_all().await?)?;
//! println!("{} {} bytes", response.status(), response.body().len());
//! # Ok(()) }
//! ```

// Without a feature its items are not compiled: links to them then go to
// docs.rs (built with the default features, which include them), so the
// docs build without warnings whatever the features.
#![cfg_attr(
    not(feature = "tls"),
    doc = "
[`Builder::tls_config`]: https://docs.rs/dugong-tokio/latest/dugong_tokio/struct.Builder.html#method.tls_config
[`TlsInfo`]: https://docs.rs/dugong-net/latest/dugong_net/tls/struct.TlsInfo.html
[`dugong_net::tls`]: https://docs.rs/dugong-net/latest/dugong_net/tls/index.html"
)]
#![cfg_attr(
    not(feature = "http"),
    doc = "
[`http`]: https://docs.rs/http/1
[`Connection::send_http`]: https://docs.rs/dugong-tokio/latest/dugong_tokio/struct.Connection.html#method.send_http
[`http_interop`]: https://docs.rs/dugong-net/latest/dugong_net/http_interop/index.html"
)]
#![deny(missing_docs)]

mod body;
mod builder;
mod client;
mod conn;
mod pipeline;
mod recv;
mod send;
mod shared;
#[cfg(feature = "tls")]
mod tls;
mod transport;

pub use body::{BodyReader, BodyStream, BodyWriter};
pub use builder::Builder;
pub use client::{Client, ClientResponse, Pending};
pub use conn::Connection;
pub use dugong_net::{FullResponse, Request};
pub use dugong_net::{
    Window, DEFAULT_MAX_BUFFERED, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT_BYTES,
    DEFAULT_MAX_READ_ALL,
};
pub use pipeline::Pipeline;
pub use recv::RecvHalf;
pub use send::SendHalf;
pub use transport::Transport;

#[cfg(feature = "http")]
pub use dugong_net::http_interop;
pub use dugong_net::pool::PoolConfig;
#[cfg(feature = "tls")]
pub use dugong_net::tls::TlsInfo;
pub use dugong_net::{self, Error, ErrorKind, Phase, Proxy, Scheme, Url};
pub use dugong_proto::{self, Body, Bytes, Config, Headers, RequestId, Response};
