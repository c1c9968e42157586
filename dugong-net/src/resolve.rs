//! Name resolution that tells "no such host" from "resolution not working".

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use dns_lookup::{AddrInfoHints, LookupErrorKind, SockType};

use crate::error::Error;

/// How a failed lookup is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The name does not exist.
    NotFound,
    /// The resolver is not working; the name may exist.
    Unavailable,
}

/// Classifies `getaddrinfo`'s error code (not by asking other names, as the
/// Python original did).
pub(crate) fn classify(kind: LookupErrorKind) -> Failure {
    match kind {
        LookupErrorKind::NoName | LookupErrorKind::NoData => Failure::NotFound,
        _ => Failure::Unavailable,
    }
}

/// Resolves `host` (a name, or an IPv4 or IPv6 address with or without
/// brackets) to the addresses to try, in the resolver's order.
///
/// Names under the reserved `.invalid` domain (RFC 6761) are not looked up:
/// they cannot exist.
///
/// ```
/// let addrs = dugong_net::resolve("127.0.0.1", 80)?;
/// assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
/// let e = dugong_net::resolve("no-such-host.invalid", 80).unwrap_err();
/// assert_eq!(e.kind(), dugong_net::ErrorKind::HostNotFound);
/// # Ok::<(), dugong_net::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::HostNotFound`] when the resolver says the name does not exist
/// (`EAI_NONAME`, `EAI_NODATA`); [`Error::DnsUnavailable`] when resolution
/// itself fails (`EAI_AGAIN`, `EAI_FAIL`, a system error) or yields no
/// address.
pub fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let lower = host.trim_end_matches('.').to_ascii_lowercase();
    if lower == "invalid" || lower.ends_with(".invalid") {
        return Err(Error::HostNotFound {
            host: host.to_owned(),
        });
    }
    let hints = AddrInfoHints {
        socktype: SockType::Stream.into(),
        ..AddrInfoHints::default()
    };
    let unavailable = |source: io::Error| Error::DnsUnavailable {
        host: host.to_owned(),
        source: Arc::new(source),
    };
    let found = match dns_lookup::getaddrinfo(Some(host), None, Some(hints)) {
        Ok(found) => found,
        Err(e) => {
            return Err(match classify(e.kind()) {
                Failure::NotFound => Error::HostNotFound {
                    host: host.to_owned(),
                },
                Failure::Unavailable => unavailable(e.into()),
            })
        }
    };
    let mut addrs = Vec::new();
    for info in found {
        let info = info.map_err(unavailable)?;
        let addr = SocketAddr::new(info.sockaddr.ip(), port);
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    if addrs.is_empty() {
        return Err(unavailable(io::Error::other(
            "the resolver returned no address",
        )));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_classified() {
        use LookupErrorKind as K;
        assert_eq!(classify(K::NoName), Failure::NotFound);
        assert_eq!(classify(K::NoData), Failure::NotFound);
        for kind in [K::Again, K::Fail, K::System, K::Memory, K::IO, K::Unknown] {
            assert_eq!(classify(kind), Failure::Unavailable, "{kind:?}");
        }
    }

    #[test]
    fn literals_and_localhost() {
        assert_eq!(resolve("[::1]", 8).unwrap(), ["[::1]:8".parse().unwrap()]);
        assert_eq!(resolve("::1", 8).unwrap(), ["[::1]:8".parse().unwrap()]);
        let local = resolve("localhost", 9).unwrap();
        assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
    }

    #[test]
    fn reserved_invalid_names_are_not_found_without_a_query() {
        for host in ["x.invalid", "X.INVALID.", "invalid"] {
            let e = resolve(host, 80).unwrap_err();
            assert!(matches!(e, Error::HostNotFound { .. }), "{host}: {e}");
        }
    }
}
