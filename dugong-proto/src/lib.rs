//! A sans-IO HTTP/1.1 client: the whole protocol state of a client
//! connection, with no sockets, clocks or threads.
//!
//! `dugong-proto` contains no networking code and reads no clock. A
//! [`Connection`] takes requests and received bytes, and hands out bytes to
//! write and [`Event`]s. Whatever moves the bytes (a blocking socket, an
//! async runtime, a C event loop, a fuzzer, another language's binding)
//! stays in charge of I/O and time; the protocol logic lives here only, so
//! every driver behaves the same.
//!
//! # Design overview
//!
//! ```text
//!   caller                         Connection                        transport
//!   ------                         ----------                        ---------
//!   send_request / send_body  -->  send side (send.rs)  -- poll_transmit -->  write
//!   finish / continue_timeout       |  Idle, Sized, Chunked,
//!                                   |  AwaitContinue, Cancelled
//!                                   |
//!                                in-flight queue (id, method, expects 100,
//!                                   |   upgrade, where its bytes end)
//!                                   |
//!   poll_event  <-- Event ------ receive side (recv.rs) <-- receive / read_into  <--  read
//!                                   Head, Body(Length | Chunked | UntilClose), receive_eof
//!                                   Upgrade, AfterClose, Finished
//! ```
//!
//! Only `send.rs` and `recv.rs` change the send and receive states, and
//! `lifecycle.rs` the connection's as a whole (open, upgrade pending,
//! closing and why, switched, dead); the rest are pure functions they
//! call. The receive side reads heads with `head.rs`, decides what
//! follows each (RFC 9112 §6.3 framing, hand-over, close) with
//! `framing.rs` and reads chunked bodies with `chunked.rs`; the send side
//! writes heads with `request.rs` and chunk framing with `chunked.rs`.
//!
//! - **Pipelining.** Any number of requests may be in flight; responses are
//!   matched to them in order, and every event names or follows the
//!   [`RequestId`] it belongs to. The core refuses a new request whenever it
//!   would be unsafe: behind an unfinished body, a body waiting for
//!   `100 Continue`, a `CONNECT` or upgrade, or on a closing connection.
//! - **100-continue.** A request with `Expect: 100-continue` has its body
//!   held until [`Event::Continue`], the continue deadline, or
//!   [`Connection::continue_timeout`]. A final response instead cancels the
//!   body.
//! - **Strict framing.** Bodies are delimited exactly as RFC 9112 §6.3 says;
//!   anything ambiguous (both `Transfer-Encoding` and `Content-Length`,
//!   differing lengths, unknown codings) is an error, never a guess.
//! - **Nothing silently lost.** A body cut short is never ended with
//!   [`Event::End`]; the peer closing while responses are owed is one
//!   [`Error::ConnectionClosed`] that says, per request, whether it may have
//!   been processed ([`Fate`]).
//! - **Zero copy.** Request bodies given as [`Bytes`] are handed out as they
//!   are (adapters can write them vectored); response body pieces are slices
//!   of the receive buffer, which adapters can read into directly.
//! - **Bounded memory.** Head size, field count, chunk-size line and trailer
//!   size are limited while parsing ([`Config`]).
//! - **Time as input.** The continue delay and the optional read and idle
//!   timeouts are deadlines the caller asks for ([`Connection::poll_timeout`])
//!   and reports ([`Connection::handle_timeout`]) with its own clock.
//!
//! # Example
//!
//! Two pipelined requests, the responses arriving in one read:
//!
//! ```
//! use dugong_proto::{Body, Connection, Event};
//!
//! let mut conn = Connection::default();
//! let first = conn.send_request("GET", "/a", [("Host", "example.com")], Body::Empty)?;
//! let second = conn.send_request("GET", "/b", [("Host", "example.com")], Body::Empty)?;
//!
//! // Write everything the connection hands out, in order.
//! let mut wire = Vec::new();
//! while let Some(segment) = conn.poll_transmit() {
//!     wire.extend_from_slice(&segment);
//! }
//! assert_eq!(
//!     wire,
//!     b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\nGET /b HTTP/1.1\r\nHost: example.com\r\n\r\n"
//! );
//!
//! // Give it what the server sent, then poll events until it needs more.
//! conn.receive(
//!     b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
//!       HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nno!\r\n0\r\n\r\n",
//! )?;
//! let mut bodies = vec![Vec::new(), Vec::new()];
//! let mut current = None;
//! while let Some(event) = conn.poll_event()? {
//!     match event {
//!         Event::Headers(response) => {
//!             println!("{} -> {}", response.id().as_u64(), response.status());
//!             current = Some(response.id());
//!         }
//!         Event::Data(piece) => bodies[current.unwrap().as_u64() as usize].extend_from_slice(&piece),
//!         Event::End { .. } => {}
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! assert_eq!((first.as_u64(), second.as_u64()), (0, 1));
//! assert_eq!(bodies, [b"hello".to_vec(), b"no!".to_vec()]);
//! assert_eq!(conn.in_flight(), 0);
//! # Ok::<(), dugong_proto::Error>(())
//! ```
//!
//! # Driving a connection
//!
//! An adapter runs this loop (see [`Connection`] for the exact contract):
//!
//! 1. after a request or body call, write out [`Connection::poll_transmit`]
//!    (or [`Connection::transmit_segments`] with
//!    [`Connection::consume_transmit`] for vectored writes);
//! 2. read from the transport into the connection
//!    ([`Connection::read_into`], [`Connection::recv_buf`] or
//!    [`Connection::receive`]); on end of stream call
//!    [`Connection::receive_eof`];
//! 3. poll [`Connection::poll_event`] until `Ok(None)`;
//! 4. with deadlines, wait no longer than [`Connection::poll_timeout`] and
//!    call [`Connection::handle_timeout`] when it passes.
//!
//! # Errors
//!
//! [`Error`] says whose fault it was: the peer's ([`Error::InvalidResponse`],
//! [`Error::UnsupportedResponse`], [`Error::TooLarge`]), nobody's
//! ([`Error::ConnectionClosed`], [`Error::TimedOut`]), or the caller's
//! ([`Error::InvalidRequest`], [`Error::State`], [`Error::ExcessBodyData`]).
//! The first two kinds are fatal: the connection repeats the error from then
//! on and the transport must be closed. The caller's mistakes change
//! nothing and emit nothing.
//!
//! # Features
//!
//! - `std` (default): nothing more than `no_std` + `alloc` today; kept so
//!   that std-only conveniences can be added without breaking `no_std`
//!   users, who build with `default-features = false`.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod chunked;
mod config;
mod conn;
mod error;
mod event;
mod framing;
mod head;
mod lifecycle;
mod recv;
mod request;
mod send;
mod time;

pub use bytes::{Bytes, BytesMut};
pub use config::Config;
pub use conn::Connection;
pub use error::{
    Arrived, Closed, Error, ErrorKind, Fate, InvalidRequest, InvalidResponse, Limit, StateError,
    Timeout, Unanswered, Unsupported,
};
pub use event::{Event, Headers, RequestId, Response, Version};
pub use request::HeaderField;
pub use send::{Body, Segments};
pub use time::Instant;
