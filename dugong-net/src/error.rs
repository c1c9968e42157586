//! The one error type of the dugong adapters.

use std::fmt;
use std::io;
use std::sync::Arc;

use dugong_proto::Closed;

/// What went wrong while talking to a server: the protocol errors of
/// [`dugong_proto::Error`], plus the transport's (I/O, timeouts, name
/// resolution, TLS, proxies).
///
/// It is `Clone` so a connection can repeat the error that broke it: after
/// any error of the peer's or the transport's making, a connection refuses
/// further use with that same error until it is reconnected.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the protocol state machine: the connection closed with
    /// responses owed ([`dugong_proto::Error::ConnectionClosed`]), an invalid,
    /// unsupported or too large response, or a mistake of the caller.
    #[error(transparent)]
    Protocol(#[from] dugong_proto::Error),

    /// No data moved for the configured time.
    #[error("timed out while {0}")]
    TimedOut(Phase),

    /// The host name does not exist (the resolver answered `EAI_NONAME` or
    /// `EAI_NODATA`, or the name is under the reserved `.invalid` domain).
    #[error("host not found: {host}")]
    HostNotFound {
        /// The name looked up.
        host: String,
    },

    /// Name resolution is not working (the resolver answered `EAI_AGAIN`,
    /// `EAI_FAIL` or failed otherwise); the name may well exist.
    #[error("name resolution failed for {host}: {source}")]
    DnsUnavailable {
        /// The name looked up.
        host: String,
        /// The resolver's error.
        source: Arc<io::Error>,
    },

    /// Connecting to every address of the host failed; the error of the last
    /// attempt.
    #[error("could not connect to {addr}: {source}")]
    Connect {
        /// The last address tried.
        addr: String,
        /// Why it failed.
        source: Arc<io::Error>,
    },

    /// The TLS layer failed: a certificate that does not verify, a handshake
    /// failure, or a bad certificate file.
    #[error("tls: {0}")]
    Tls(String),

    /// The proxy refused to open a tunnel (its final answer to `CONNECT`).
    #[error("proxy refused the tunnel: {status} {reason}")]
    ProxyRefused {
        /// The proxy's status code.
        status: u16,
        /// The proxy's reason phrase.
        reason: String,
    },

    /// The URL (of a request or of a proxy) cannot be used.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given, with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// While a write was blocked, the server sent more than the configured
    /// receive limit without the caller reading responses; the connection
    /// stops instead of buffering without bound.
    #[error("more than {limit} bytes of responses arrived while a write was blocked; read responses while sending")]
    ReceiveBufferFull {
        /// The configured limit.
        limit: usize,
    },

    /// A body read whole (`read_all`, or a tokio `pipeline` response) was
    /// longer than the configured limit (`Builder::max_read_all`, 16 MiB by
    /// default). Detected as soon as the bytes read pass the limit; the rest
    /// of the body is not read, and the connection is broken (use a
    /// streaming reader for bodies that large).
    #[error("response too large: body longer than {limit} bytes (the read_all limit)")]
    BodyTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },

    /// The caller used the connection the wrong way (for example, asked for
    /// the next response while the body of the current one is unread, or
    /// used a connection after `disconnect`).
    #[error("usage error: {0}")]
    Usage(&'static str),

    /// Another I/O error of the transport.
    #[error("i/o error: {0}")]
    Io(Arc<io::Error>),

    /// A resending client gave up on a request: the last try's error and
    /// the account of every try ([`resend::GaveUp`](crate::resend::GaveUp)).
    /// [`kind`](Error::kind), [`is_temporary`](Error::is_temporary) and
    /// [`closed`](Error::closed) answer for the last try's error.
    #[error("{0}")]
    GaveUp(Box<crate::resend::GaveUp>),
}

/// What the connection was doing when a deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Opening the TCP connection.
    Connecting,
    /// The TLS handshake.
    Handshake,
    /// Writing request bytes.
    Writing,
    /// Waiting for response bytes.
    Reading,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connecting => "connecting",
            Phase::Handshake => "in the TLS handshake",
            Phase::Writing => "writing",
            Phase::Reading => "reading",
        })
    }
}

/// A coarse classification of an [`Error`]: what kind of thing went wrong,
/// named the same way by both adapters and their examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The peer went away (EOF, reset, broken pipe) with responses owed.
    Closed,
    /// The response broke HTTP/1.1.
    Invalid,
    /// The response uses something dugong does not handle.
    Unsupported,
    /// The response exceeded a configured limit, or too much arrived while a
    /// write was blocked.
    TooLarge,
    /// A deadline passed.
    TimedOut,
    /// The host name does not exist.
    HostNotFound,
    /// Name resolution is not working.
    DnsUnavailable,
    /// TLS failed (including certificate verification).
    Tls,
    /// The proxy refused the tunnel.
    Proxy,
    /// Connecting failed, or another I/O error.
    Io,
    /// The caller's mistake: bad request data, a call at the wrong time, too
    /// much body, a bad URL.
    Usage,
}

impl ErrorKind {
    /// The kind in plain words, as the examples print it: `connection
    /// closed`, `invalid response`, `unsupported response`, `response too
    /// large`, `timed out`, `host not found`, `name resolution unavailable`,
    /// `tls`, `proxy refused`, `i/o error`, `usage error`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Closed => "connection closed",
            ErrorKind::Invalid => "invalid response",
            ErrorKind::Unsupported => "unsupported response",
            ErrorKind::TooLarge => "response too large",
            ErrorKind::TimedOut => "timed out",
            ErrorKind::HostNotFound => "host not found",
            ErrorKind::DnsUnavailable => "name resolution unavailable",
            ErrorKind::Tls => "tls",
            ErrorKind::Proxy => "proxy refused",
            ErrorKind::Io => "i/o error",
            ErrorKind::Usage => "usage error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// [`Error::InvalidUrl`] for `url`, its password (if any) masked so
    /// that it does not end up in logs.
    pub(crate) fn invalid_url(url: &str, reason: &'static str) -> Error {
        Error::InvalidUrl {
            url: mask_password(url),
            reason,
        }
    }

    /// Classifies the error.
    pub fn kind(&self) -> ErrorKind {
        use dugong_proto::ErrorKind as P;
        match self {
            Error::GaveUp(gave_up) => gave_up.last.kind(),
            Error::Protocol(e) => match e.kind() {
                P::Closed => ErrorKind::Closed,
                P::Invalid => ErrorKind::Invalid,
                P::Unsupported => ErrorKind::Unsupported,
                P::TooLarge => ErrorKind::TooLarge,
                P::TimedOut => ErrorKind::TimedOut,
                _ => ErrorKind::Usage,
            },
            Error::TimedOut(_) => ErrorKind::TimedOut,
            Error::HostNotFound { .. } => ErrorKind::HostNotFound,
            Error::DnsUnavailable { .. } => ErrorKind::DnsUnavailable,
            Error::Connect { .. } | Error::Io(_) => ErrorKind::Io,
            Error::Tls(_) => ErrorKind::Tls,
            Error::ProxyRefused { .. } => ErrorKind::Proxy,
            Error::InvalidUrl { .. } | Error::Usage(_) => ErrorKind::Usage,
            Error::ReceiveBufferFull { .. } | Error::BodyTooLarge { .. } => ErrorKind::TooLarge,
        }
    }

    /// Is it worth trying again (on a new connection, maybe later)? True for
    /// timeouts, closed connections, refused or reset connections,
    /// unreachable networks, name resolution that is not working, and a
    /// proxy's 502/503/504; false for invalid or unsupported responses, a
    /// host that does not exist, TLS failures and the caller's mistakes.
    ///
    /// A closed connection is temporary, but only the requests its
    /// [`Closed`] says were not processed are safe to resend blindly.
    pub fn is_temporary(&self) -> bool {
        match self {
            Error::GaveUp(gave_up) => gave_up.last.is_temporary(),
            Error::Protocol(e) => matches!(
                e.kind(),
                dugong_proto::ErrorKind::Closed | dugong_proto::ErrorKind::TimedOut
            ),
            Error::TimedOut(_) | Error::DnsUnavailable { .. } => true,
            Error::Connect { source, .. } | Error::Io(source) => is_temporary_io(source),
            Error::ProxyRefused { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }

    /// What a closed connection left unanswered, if this is a closed
    /// connection.
    pub fn closed(&self) -> Option<&Closed> {
        match self {
            Error::Protocol(dugong_proto::Error::ConnectionClosed(closed)) => Some(closed),
            Error::GaveUp(gave_up) => gave_up.last.closed(),
            _ => None,
        }
    }

    /// The error for a transport that failed while sending: the peer went
    /// away. Which requests got no response is known only once the
    /// responses it sent first are read.
    pub fn closed_while_sending() -> Self {
        Error::Protocol(dugong_proto::Error::ConnectionClosed(Closed::default()))
    }

    /// Wraps an I/O error that is not a sign of the peer going away.
    pub fn io(e: io::Error) -> Self {
        Error::Io(Arc::new(e))
    }

    /// The error of connecting to `host` when every address it resolved to
    /// failed: the last attempt's (a timeout is
    /// [`TimedOut`](Error::TimedOut)`(`[`Connecting`](Phase::Connecting)`)`,
    /// anything else [`Connect`](Error::Connect) naming the address), or
    /// [`HostNotFound`](Error::HostNotFound) if there was no address.
    pub fn connect_failed(host: &str, last: Option<(std::net::SocketAddr, io::Error)>) -> Self {
        match last {
            Some((_, e)) if e.kind() == io::ErrorKind::TimedOut => {
                Error::TimedOut(Phase::Connecting)
            }
            Some((addr, e)) => Error::Connect {
                addr: addr.to_string(),
                source: Arc::new(e),
            },
            None => Error::HostNotFound {
                host: host.to_owned(),
            },
        }
    }
}

/// True for I/O errors that mean the peer went away: reset, aborted, broken
/// pipe, unexpected end of file. Adapters turn these into the one
/// [`ErrorKind::Closed`].
pub fn is_peer_gone(e: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionReset
            | K::ConnectionAborted
            | K::BrokenPipe
            | K::UnexpectedEof
            | K::NotConnected
    )
}

fn is_temporary_io(e: &io::Error) -> bool {
    use io::ErrorKind as K;
    is_peer_gone(e)
        || matches!(
            e.kind(),
            K::ConnectionRefused
                | K::TimedOut
                | K::Interrupted
                | K::WouldBlock
                | K::AddrNotAvailable
                | K::HostUnreachable
                | K::NetworkUnreachable
                | K::NetworkDown
        )
}

impl From<io::Error> for Error {
    /// Peer-gone errors become [`ErrorKind::Closed`], timeouts
    /// [`ErrorKind::TimedOut`], the rest [`Error::Io`].
    fn from(e: io::Error) -> Self {
        if is_peer_gone(&e) {
            Error::closed_while_sending()
        } else if matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            Error::TimedOut(Phase::Reading)
        } else {
            Error::io(e)
        }
    }
}

impl From<Error> for io::Error {
    /// For `std::io::Read`/`Write` implementations: the kind matches
    /// ([`ConnectionAborted`](io::ErrorKind::ConnectionAborted) for a closed
    /// connection, [`TimedOut`](io::ErrorKind::TimedOut),
    /// [`InvalidData`](io::ErrorKind::InvalidData) for bad responses,
    /// [`NotFound`](io::ErrorKind::NotFound) for an unknown host), and the
    /// dugong error is the inner error (get it back with `downcast`).
    fn from(e: Error) -> Self {
        let kind = match e.kind() {
            ErrorKind::Closed => io::ErrorKind::ConnectionAborted,
            ErrorKind::Invalid | ErrorKind::Unsupported | ErrorKind::TooLarge => {
                io::ErrorKind::InvalidData
            }
            ErrorKind::TimedOut => io::ErrorKind::TimedOut,
            ErrorKind::HostNotFound => io::ErrorKind::NotFound,
            ErrorKind::Usage => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_over_the_read_all_limit_is_too_large_and_names_the_limit() {
        let e = Error::BodyTooLarge { limit: 16_777_216 };
        let text = e.to_string();
        assert!(text.starts_with("response too large: "), "{text}");
        assert!(text.contains("16777216 bytes"), "{text}");
        assert_eq!(e.kind().as_str(), "response too large");
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn kinds_and_temporariness() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let cases: Vec<(Error, ErrorKind, bool)> = vec![
            (Error::closed_while_sending(), ErrorKind::Closed, true),
            (
                Error::Protocol(dugong_proto::Error::TooLarge(
                    dugong_proto::Limit::HeadBytes(1),
                )),
                ErrorKind::TooLarge,
                false,
            ),
            (Error::TimedOut(Phase::Writing), ErrorKind::TimedOut, true),
            (
                Error::BodyTooLarge { limit: 10 },
                ErrorKind::TooLarge,
                false,
            ),
            (
                Error::HostNotFound {
                    host: "a.invalid".into(),
                },
                ErrorKind::HostNotFound,
                false,
            ),
            (
                Error::DnsUnavailable {
                    host: "a".into(),
                    source: Arc::new(io::Error::other("x")),
                },
                ErrorKind::DnsUnavailable,
                true,
            ),
            (
                Error::Connect {
                    addr: "127.0.0.1:1".into(),
                    source: Arc::new(refused),
                },
                ErrorKind::Io,
                true,
            ),
            (Error::io(denied), ErrorKind::Io, false),
            (Error::Tls("bad certificate".into()), ErrorKind::Tls, false),
            (
                Error::ProxyRefused {
                    status: 503,
                    reason: "x".into(),
                },
                ErrorKind::Proxy,
                true,
            ),
            (
                Error::ProxyRefused {
                    status: 403,
                    reason: "x".into(),
                },
                ErrorKind::Proxy,
                false,
            ),
            (
                Error::InvalidUrl {
                    url: "x".into(),
                    reason: "y",
                },
                ErrorKind::Usage,
                false,
            ),
            (
                Error::ReceiveBufferFull { limit: 1 },
                ErrorKind::TooLarge,
                false,
            ),
        ];
        for (error, kind, temporary) in cases {
            assert_eq!(error.kind(), kind, "{error}");
            assert_eq!(error.is_temporary(), temporary, "{error}");
        }
    }

    #[test]
    fn io_errors_of_a_vanished_peer_are_one_closed_error() {
        for kind in [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::ConnectionAborted,
            io::ErrorKind::UnexpectedEof,
        ] {
            let e = Error::from(io::Error::from(kind));
            assert_eq!(e.kind(), ErrorKind::Closed);
            assert!(e.closed().is_some());
        }
    }

    #[test]
    fn round_trip_through_io_error() {
        let e = io::Error::from(Error::TimedOut(Phase::Reading));
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        let inner = e.into_inner().unwrap().downcast::<Error>().unwrap();
        assert!(matches!(*inner, Error::TimedOut(Phase::Reading)));
    }
}

/// `url` with the password of its `user:password@` part, if any, replaced
/// by `***`.
fn mask_password(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i) else {
        return url.to_owned();
    };
    match url[start..at].find(':') {
        Some(colon) => format!("{}:***{}", &url[..start + colon], &url[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod mask_tests {
    use super::mask_password;

    #[test]
    fn passwords_are_masked_and_nothing_else_changes() {
        for (url, masked) in [
            (
                "http://user:secret@proxy:3128",
                "http://user:***@proxy:3128",
            ),
            ("http://user:se:cret@h/p?q=a@b", "http://user:***@h/p?q=a@b"),
            ("user:pw@proxy:8080", "user:***@proxy:8080"),
            ("http://user@host/", "http://user@host/"),
            ("http://host/a@b", "http://host/a@b"),
            ("ftp://x", "ftp://x"),
            ("", ""),
        ] {
            assert_eq!(mask_password(url), masked, "{url}");
        }
    }
}
