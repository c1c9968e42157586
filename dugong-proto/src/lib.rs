//! A sans-IO HTTP/1.1 client: the whole protocol state of a client
//! connection, with no sockets, clocks or threads.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod config;
mod conn;
mod error;
mod event;
mod head;
mod recv;
mod send;
mod time;

pub use bytes::{Bytes, BytesMut};
pub use config::Config;
pub use conn::Connection;
pub use error::{
    Closed, Error, ErrorKind, Fate, InvalidRequest, InvalidResponse, Limit, StateError, Timeout,
    Unanswered, Unsupported,
};
pub use event::{Event, Headers, RequestId, Response, Version};
pub use head::HeaderField;
pub use send::Body;
pub use time::Instant;
