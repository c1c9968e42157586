//! Just enough of a URL for an HTTP client: scheme, host, port, target.

use std::fmt;

use crate::error::Error;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP, default port 80.
    Http,
    /// HTTP over TLS, default port 443.
    Https,
}

impl Scheme {
    /// The scheme's default port.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// An `http://` or `https://` URL, split the way a client uses it.
///
/// ```
/// use dugong_net::{Scheme, Url};
///
/// let url = Url::parse("https://example.com:8443/a/b?c=d#frag")?;
/// assert_eq!(url.scheme(), Scheme::Https);
/// assert_eq!(url.host(), "example.com");
/// assert_eq!(url.port(), 8443);
/// assert_eq!(url.target(), "/a/b?c=d");
/// assert_eq!(url.authority(), "example.com:8443");
/// # Ok::<(), dugong_net::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    scheme: Scheme,
    host: String,
    port: u16,
    target: String,
    userinfo: Option<String>,
}

impl Url {
    /// Parses an absolute `http` or `https` URL. A fragment is dropped;
    /// user information (`user:password@`) is kept apart (see
    /// [`userinfo`](Self::userinfo)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] for another scheme, no host, a bad port, or
    /// characters a URL cannot hold.
    pub fn parse(url: &str) -> Result<Url, Error> {
        let bad = |reason| Error::invalid_url(url, reason);
        let without_fragment = url.split('#').next().unwrap_or_default();
        let (scheme, rest) = without_fragment
            .split_once("://")
            .ok_or_else(|| bad("not an absolute URL (scheme://host/...)"))?;
        let scheme = if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else {
            return Err(bad("the scheme is not http or https"));
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(authority_end);
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((user, hostport)) => (Some(user.to_owned()), hostport),
            None => (None, authority),
        };
        let (host, port) = match hostport.strip_prefix('[') {
            Some(v6) => {
                let (addr, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
                let port = match after {
                    "" => None,
                    p => Some(p.strip_prefix(':').ok_or_else(|| bad("bad port"))?),
                };
                if addr.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err(bad("bad IPv6 address"));
                }
                (&hostport[..addr.len() + 2], port)
            }
            None => match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            },
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None => scheme.default_port(),
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(bad("bad port")),
            },
        };
        // Let the `http` crate check the characters of host and target.
        let checked = format!("{}://{hostport}{target}", scheme.as_str());
        let uri: http::Uri = checked.parse().map_err(|_| bad("not a valid URL"))?;
        let target = match uri.path_and_query() {
            Some(pq) if pq.as_str().starts_with('/') => pq.as_str().to_owned(),
            Some(pq) => format!("/{}", pq.as_str()),
            None => "/".to_owned(),
        };
        Ok(Url {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            target,
            userinfo,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host as written in the URL (lowercased; an IPv6 address keeps its
    /// brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host as a name to resolve or to verify a certificate against (an
    /// IPv6 address without brackets).
    pub fn host_name(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    /// The port (the scheme's default if the URL names none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target in origin form: path and query, at least `/`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// `host` or `host:port` (the port only when it is not the scheme's
    /// default), as sent in the `Host` field.
    pub fn authority(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `host:port`, always with the port, as `CONNECT` names a tunnel's end.
    pub fn host_port(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The target in absolute form (`http://host:port/path`), as sent to a
    /// proxy.
    pub fn absolute_target(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority(),
            self.target
        )
    }

    /// `user:password` (still percent-encoded) if the URL carries it.
    pub fn userinfo(&self) -> Option<&str> {
        self.userinfo.as_deref()
    }

    /// The same scheme, host and port: requests to both can share a
    /// connection.
    pub fn same_origin(&self, other: &Url) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.port == other.port
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.absolute_target())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let ok: &[(&str, Scheme, &str, u16, &str, &str)] = &[
            ("http://a", Scheme::Http, "a", 80, "/", "a"),
            (
                "http://A.Example:80/x",
                Scheme::Http,
                "a.example",
                80,
                "/x",
                "a.example",
            ),
            (
                "HTTPS://h:8443?q=1",
                Scheme::Https,
                "h",
                8443,
                "/?q=1",
                "h:8443",
            ),
            ("https://h/p#frag", Scheme::Https, "h", 443, "/p", "h"),
            (
                "http://[::1]:8080/v6",
                Scheme::Http,
                "[::1]",
                8080,
                "/v6",
                "[::1]:8080",
            ),
            ("http://[::1]/v6", Scheme::Http, "[::1]", 80, "/v6", "[::1]"),
            ("http://u:p@h:81/", Scheme::Http, "h", 81, "/", "h:81"),
            (
                "http://127.0.0.1:5/a%20b",
                Scheme::Http,
                "127.0.0.1",
                5,
                "/a%20b",
                "127.0.0.1:5",
            ),
        ];
        for &(input, scheme, host, port, target, authority) in ok {
            let url = Url::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(url.scheme(), scheme, "{input}");
            assert_eq!(url.host(), host, "{input}");
            assert_eq!(url.port(), port, "{input}");
            assert_eq!(url.target(), target, "{input}");
            assert_eq!(url.authority(), authority, "{input}");
        }
        assert_eq!(Url::parse("http://[::1]/").unwrap().host_name(), "::1");
        assert_eq!(Url::parse("http://u:p@h/").unwrap().userinfo(), Some("u:p"));
        for bad in [
            "ftp://a/",
            "a/b",
            "http://",
            "http:///x",
            "http://h:0/",
            "http://h:99999/",
            "http://h:x/",
            "http://h:/",
            "http://h:+5/",
            "http://[::1/",
            "http://[zz]/",
            "http://h /",
            "http://h/a b",
        ] {
            assert!(
                matches!(Url::parse(bad), Err(Error::InvalidUrl { .. })),
                "{bad} should be rejected"
            );
        }
    }
}
