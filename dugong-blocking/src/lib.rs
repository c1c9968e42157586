//! A blocking HTTP/1.1 client with pipelining and `100 Continue`, driving
//! the sans-IO state machine of [`dugong_proto`] over std sockets (plain
//! TCP, TLS with rustls, HTTP proxies) or any [`Transport`].
//!
//! It holds no protocol logic of its own: it moves bytes between the socket
//! and the state machine, waits, and maps errors to [`Error`] (shared with
//! `dugong-tokio` through [`dugong_net`]).
//!
//! Everything it keeps beside the state machine is the I/O-free session
//! both adapters share: [`dugong_net::session::Session`] (requests and
//! their extras, the trace, the pipelining window, what the socket did,
//! the deadlines) and [`dugong_net::session::Reader`] (the response being
//! read, the body piece not handed out yet, trailers, 1xx, the `read_all`
//! bound). Each method is a loop that calls them and, while they say
//! `Pending`, writes what is queued, reads once or waits with poll(2), no
//! longer than the session's next deadline.
//!
//! # Pipelining
//!
//! Send any number of requests, then read the responses in order. One
//! thread can do this without deadlock: while a write would block, the
//! connection keeps reading responses into its buffer (up to
//! [`Builder::max_buffered`]).
//!
//! ```no_run
//! use dugong_blocking::{Body, Connection};
//!
//! let mut conn = Connection::connect("127.0.0.1", 8080)?;
//! for path in ["/a", "/b", "/c"] {
//!     conn.send_request("GET", path, [("Accept", "*/*")], Body::Empty)?;
//! }
//! while conn.response_pending() {
//!     let head = conn.read_response()?;
//!     let body = conn.read_all()?;
//!     println!("{} {} bytes", head.status(), body.len());
//! }
//! # Ok::<(), dugong_blocking::Error>(())
//! ```
//!
//! # 100-continue
//!
//! ```no_run
//! use dugong_blocking::{Body, Connection};
//!
//! # let mut conn = Connection::connect("127.0.0.1", 8080)?;
//! let body = b"a large upload";
//! conn.send_request(
//!     "PUT",
//!     "/upload",
//!     [("Expect", "100-continue")],
//!     Body::Sized(body.len() as u64),
//! )?;
//! let head = conn.read_response()?;
//! if head.status() == 100 {
//!     conn.write_body(body)?;
//!     let head = conn.read_response()?;
//!     println!("stored: {}", head.status());
//! } else {
//!     println!("refused before the body was sent: {}", head.status());
//! }
//! conn.discard()?;
//! # Ok::<(), dugong_blocking::Error>(())
//! ```
//!
//! # A pool of connections: [`Client`]
//!
//! For a REST client: up to 4 pipelined connections per origin, shared by
//! threads, and the requests of a connection that dies sent again on
//! another exactly when that is safe (see [`Client`] for the rules).
//!
//! ```no_run
//! use dugong_blocking::{Body, Client};
//!
//! let client = Client::new();
//! let mut response = client.get("http://127.0.0.1:8080/notes")?;
//! println!("{} {} bytes", response.status(), response.read_all()?.len());
//! let response = client.request(
//!     "POST",
//!     "http://127.0.0.1:8080/notes",
//!     [("Idempotency-Key", "3f2a"), ("Content-Type", "text/plain")],
//!     Body::from("hello"),
//! )?;
//! println!("{} (sent again {} times)", response.status(), response.resends());
//! # Ok::<(), dugong_blocking::Error>(())
//! ```
//!
//! # Errors
//!
//! One [`Error`] type; [`Error::kind`] tells closed connections (every way
//! a peer can go away is one [`ErrorKind::Closed`], naming the requests
//! left unanswered), invalid, unsupported or too large responses, timeouts,
//! missing hosts, broken name resolution, TLS and proxy failures, and the
//! caller's mistakes apart; [`Error::is_temporary`] says whether a retry
//! makes sense. A body cut short is an error, never a short `Ok`.
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
//! - `tls` (default): TLS with rustls: `https` connections,
//!   [`Builder::tls_config`] and the [`Tls`] transport (see
//!   [`dugong_net::tls`]).
//! - `http` (default): interop with the [`http`] crate:
//!   [`Connection::send_http`] sends an `http::Request` (repeated and
//!   latin-1 header values kept), and [`http_interop`] turns response heads
//!   into `http::response::Parts` or an `http::Response`, header fields and
//!   trailers into an `http::HeaderMap` and back, and converts `Method`,
//!   `StatusCode` and `Version`.
//!
//! ```no_run
//! # #[cfg(feature = "http")] {
//! use dugong_blocking::{http_interop, Connection};
//!
//! let mut conn = Connection::connect("127.0.0.1", 8080)?;
//! let request = http::Request::post("http://127.0.0.1:8080/notes")
//!     .header("x-name", http::HeaderValue::from_bytes(b"caf\xe9").unwrap())
//!     .body("hello")
//!     .unwrap();
//! conn.send_http(request)?;
//! let head = conn.read_response()?;
//! let response = http_interop::into_response(&head, conn.read_all()?)?;
//! println!("{} {} bytes", response.status(), response.body().len());
//! # }
//! # Ok::<(), dugong_blocking::Error>(())
//! ```

// Without a feature its items are not compiled: links to them then go to
// docs.rs (built with the default features, which include them), so the
// docs build without warnings whatever the features.
#![cfg_attr(
    not(feature = "tls"),
    doc = "
[`Builder::tls_config`]: https://docs.rs/dugong-blocking/latest/dugong_blocking/struct.Builder.html#method.tls_config
[`Tls`]: https://docs.rs/dugong-blocking/latest/dugong_blocking/struct.Tls.html
[`dugong_net::tls`]: https://docs.rs/dugong-net/latest/dugong_net/tls/index.html"
)]
#![cfg_attr(
    not(feature = "http"),
    doc = "
[`http`]: https://docs.rs/http/1
[`Connection::send_http`]: https://docs.rs/dugong-blocking/latest/dugong_blocking/struct.Connection.html#method.send_http
[`http_interop`]: https://docs.rs/dugong-net/latest/dugong_net/http_interop/index.html"
)]
#![deny(missing_docs)]

mod builder;
mod client;
mod conn;
mod split;
#[cfg(feature = "tls")]
mod tls;
mod transport;

pub use builder::Builder;
pub use client::{Client, ClientResponse, Pending};
pub use conn::{BodyReader, BodyWriter, Connection};
pub use dugong_net::{
    Window, DEFAULT_MAX_BUFFERED, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT_BYTES,
    DEFAULT_MAX_READ_ALL,
};
pub use split::{RecvHalf, SendHalf, SplitBodyReader};
#[cfg(feature = "tls")]
pub use tls::Tls;
#[cfg(unix)]
pub use transport::Unix;
pub use transport::{Blocking, Interest, Ready, Tcp, Transport, Waiter};

#[cfg(feature = "http")]
pub use dugong_net::http_interop;
pub use dugong_net::pool::PoolConfig;
pub use dugong_net::{self, Error, ErrorKind, Phase, Proxy, Scheme, Url};
pub use dugong_proto::{self, Body, Bytes, Config, Headers, RequestId, Response};
