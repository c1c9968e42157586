//! Transport plumbing shared by the dugong adapters (`dugong-blocking` and
//! `dugong-tokio`), so that both name the same ideas the same way: one
//! [`Error`] type with the same [`ErrorKind`]s and
//! [`is_temporary`](Error::is_temporary), [`Url`]s, name resolution that
//! tells a missing host from a broken resolver ([`resolve`]), TLS settings
//! ([`tls`], feature `tls`), HTTP [`Proxy`]s, traffic [`Trace`]s, and
//! conversions to and from the [`http`] crate's types ([`http_interop`],
//! feature `http`).
//!
//! It holds no HTTP protocol logic: that lives in `dugong-proto`. Most users
//! meet these types through an adapter, which re-exports them.
//!
//! ```
//! use dugong_net::{ErrorKind, Url};
//!
//! let url = Url::parse("http://no-such-host.invalid/")?;
//! let error = dugong_net::resolve(url.host_name(), url.port()).unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::HostNotFound);
//! assert_eq!(error.kind().as_str(), "host not found");
//! assert!(!error.is_temporary());
//! # Ok::<(), dugong_net::Error>(())
//! ```

// Without a feature its items are not compiled: links to them then go to
// docs.rs (built with the default features, which include them), so the
// docs build without warnings whatever the features.
#![cfg_attr(
    not(feature = "tls"),
    doc = "
[`tls`]: https://docs.rs/dugong-net/latest/dugong_net/tls/index.html"
)]
#![cfg_attr(
    not(feature = "http"),
    doc = "
[`http_interop`]: https://docs.rs/dugong-net/latest/dugong_net/http_interop/index.html"
)]
#![deny(missing_docs)]

mod error;
#[cfg(feature = "http")]
pub mod http_interop;
mod message;
pub mod pool;
mod proxy;
mod request;
pub mod resend;
mod resolve;
pub mod session;
mod settings;
#[cfg(feature = "tls")]
pub mod tls;
pub mod trace;
mod url;

pub use error::{is_peer_gone, Error, ErrorKind, Phase};
pub use message::{FullResponse, Request};
pub use proxy::Proxy;
pub use request::RequestExtras;
pub use resolve::resolve;
pub use settings::{
    PerConnection, Route, Settings, Window, DEFAULT_MAX_BUFFERED, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_IN_FLIGHT_BYTES, DEFAULT_MAX_READ_ALL,
};
pub use trace::Trace;
pub use url::{Scheme, Url};

pub use dugong_proto;
