//! Just enough of a URL for an HTTP client: scheme, host, port, target.
//!
//! Parsing is the [`url`](::url) crate's (the WHATWG URL Standard, as
//! browsers parse): international host names become punycode (IDNA),
//! spaces and non-ASCII characters in path and query are percent-encoded,
//! scheme and host are lowercased, `.` and `..` path segments are resolved
//! and a default port is dropped. [`Url`] wraps the result, narrowed to
//! what an HTTP/1.1 client sends, with a few rules stricter than WHATWG's
//! (see [`Url::parse`]).

use std::fmt;

use ::url::Position;

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
/// A thin wrapper around [`url::Url`](::url::Url) (WHATWG parsing; see
/// [`parse`](Self::parse)) that is always `http` or `https`, always has a
/// host and a non-zero port, and has no fragment.
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
///
/// // International names become punycode; spaces are percent-encoded.
/// let url = Url::parse("http://bücher.example/a b?q=ü")?;
/// assert_eq!(url.host(), "xn--bcher-kva.example");
/// assert_eq!(url.target(), "/a%20b?q=%C3%BC");
/// # Ok::<(), dugong_net::Error>(())
/// ```
///
/// Neither its `Display` (the [`absolute_target`](Self::absolute_target))
/// nor its `Debug` output shows a password.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Url {
    /// Parsed, with the fragment removed. Invariants (checked by `parse`):
    /// the scheme is `http` or `https` and agrees with `scheme`, the host is
    /// not empty, the port is not 0.
    inner: ::url::Url,
    scheme: Scheme,
}

impl Url {
    /// Parses an absolute `http` or `https` URL, following the WHATWG URL
    /// Standard (the [`url`](::url) crate): the scheme and a host name are
    /// lowercased, an international host name becomes punycode, an IPv4
    /// address is normalised (`127.1` is `127.0.0.1`), spaces and other
    /// characters a request target cannot hold are percent-encoded in path
    /// and query, a port equal to the scheme's default is dropped, and a
    /// fragment is dropped. User information (`user:password@`) is kept
    /// apart (see [`userinfo`](Self::userinfo)).
    ///
    /// Stricter than WHATWG, as a client should be: the URL must start with
    /// `http://` or `https://` (any case; not `http:host` or `http:/host`),
    /// the authority after `//` must not be empty (`http:///x` is refused,
    /// where a browser would read host `x`), and port 0 is refused.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] for another scheme, no host, a bad port, or a
    /// host that is no valid name or address. Its URL has any password
    /// masked.
    pub fn parse(url: &str) -> Result<Url, Error> {
        let bad = |reason| Error::invalid_url(url, reason);
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("not an absolute URL (scheme://host/...)"))?;
        let scheme = if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else {
            return Err(bad("the scheme is not http or https"));
        };
        // WHATWG skips any number of slashes (and backslashes) before the
        // host; an HTTP URL with an empty authority has no host to talk to.
        if rest.is_empty() || rest.starts_with(['/', '\\', '?', '#']) {
            return Err(bad("no host"));
        }
        let mut inner = ::url::Url::parse(url).map_err(|e| bad(parse_error_reason(e)))?;
        if inner.port() == Some(0) {
            return Err(bad("bad port"));
        }
        match inner.host_str() {
            Some(host) if !host.is_empty() => {}
            _ => return Err(bad("no host")),
        }
        inner.set_fragment(None);
        Ok(Url { inner, scheme })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host as it appears in the URL: lowercased, an international name
    /// in punycode (`xn--...`), an IPv6 address with its brackets.
    pub fn host(&self) -> &str {
        &self.inner[Position::BeforeHost..Position::AfterHost]
    }

    /// The host as a name to resolve or to verify a certificate against (an
    /// IPv6 address without brackets).
    pub fn host_name(&self) -> &str {
        self.host().trim_start_matches('[').trim_end_matches(']')
    }

    /// The port (the scheme's default if the URL names none).
    pub fn port(&self) -> u16 {
        self.inner
            .port()
            .unwrap_or_else(|| self.scheme.default_port())
    }

    /// The request target in origin form: path and query (percent-encoded),
    /// at least `/`.
    pub fn target(&self) -> &str {
        &self.inner[Position::BeforePath..Position::AfterQuery]
    }

    /// `host` or `host:port` (the port only when it is not the scheme's
    /// default), as sent in the `Host` field.
    pub fn authority(&self) -> String {
        // The parser has already dropped a default port.
        self.inner[Position::BeforeHost..Position::AfterPort].to_owned()
    }

    /// `host:port`, always with the port, as `CONNECT` names a tunnel's end.
    pub fn host_port(&self) -> String {
        format!("{}:{}", self.host(), self.port())
    }

    /// The target in absolute form (`http://host:port/path`), as sent to a
    /// proxy. It has no user information.
    pub fn absolute_target(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority(),
            self.target()
        )
    }

    /// `user:password` (still percent-encoded) if the URL carries it.
    pub fn userinfo(&self) -> Option<&str> {
        // Not `..Position::AfterPassword`: url 2.5 computes that wrongly for
        // a user name without a password.
        self.inner[Position::BeforeUsername..Position::BeforeHost].strip_suffix('@')
    }

    /// The same scheme, host and port: requests to both can share a
    /// connection.
    pub fn same_origin(&self, other: &Url) -> bool {
        self.scheme == other.scheme && self.host() == other.host() && self.port() == other.port()
    }

    /// The parsed URL of the [`url`](::url) crate (version 2), without the
    /// fragment.
    ///
    /// Unlike this type's, its `Display` and `Debug` output shows the
    /// password, if the URL has one.
    pub fn as_url(&self) -> &::url::Url {
        &self.inner
    }
}

/// The reason for an [`Error::InvalidUrl`] from the `url` crate's error.
fn parse_error_reason(e: ::url::ParseError) -> &'static str {
    use ::url::ParseError as P;
    match e {
        P::EmptyHost => "no host",
        // A forbidden character or a bad international name; url 2.5 calls
        // most of both an IDNA error.
        P::IdnaError | P::InvalidDomainCharacter => "bad host name",
        P::InvalidPort => "bad port",
        P::InvalidIpv4Address => "bad IPv4 address",
        P::InvalidIpv6Address => "bad IPv6 address",
        P::RelativeUrlWithoutBase => "not an absolute URL (scheme://host/...)",
        _ => "not a valid URL",
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.absolute_target())
    }
}

/// Shows the parts, with a password replaced by `***`.
impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let userinfo = self.userinfo().map(|_| match self.inner.password() {
            Some(_) => format!("{}:***", self.inner.username()),
            None => self.inner.username().to_owned(),
        });
        f.debug_struct("Url")
            .field("scheme", &self.scheme)
            .field("host", &self.host())
            .field("port", &self.port())
            .field("target", &self.target())
            .field("userinfo", &userinfo)
            .finish()
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
            // Refused by the hand-written parser (a limitation): an empty
            // port is the default port (RFC 3986 section 6.2.3, WHATWG).
            ("http://h:/", Scheme::Http, "h", 80, "/", "h"),
            // Refused by the hand-written parser (a limitation): a space in
            // the path is percent-encoded (WHATWG).
            ("http://h/a b", Scheme::Http, "h", 80, "/a%20b", "h"),
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
            "http://h:+5/",
            "http://[::1/",
            "http://[zz]/",
            "http://h /",
        ] {
            assert!(
                matches!(Url::parse(bad), Err(Error::InvalidUrl { .. })),
                "{bad} should be rejected"
            );
        }
    }

    /// One parsed URL's parts: input, then host, port, target, authority.
    type Parts = (&'static str, &'static str, u16, &'static str, &'static str);

    fn assert_parts(cases: &[Parts]) {
        for &(input, host, port, target, authority) in cases {
            let url = Url::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(url.host(), host, "{input}");
            assert_eq!(url.port(), port, "{input}");
            assert_eq!(url.target(), target, "{input}");
            assert_eq!(url.authority(), authority, "{input}");
        }
    }

    #[test]
    fn international_hosts_become_punycode() {
        assert_parts(&[
            (
                "http://bücher.example/",
                "xn--bcher-kva.example",
                80,
                "/",
                "xn--bcher-kva.example",
            ),
            (
                "https://BÜCHER.example:8443/",
                "xn--bcher-kva.example",
                8443,
                "/",
                "xn--bcher-kva.example:8443",
            ),
            (
                "http://xn--bcher-kva.example/",
                "xn--bcher-kva.example",
                80,
                "/",
                "xn--bcher-kva.example",
            ),
            (
                "http://例え.テスト/",
                "xn--r8jz45g.xn--zckzah",
                80,
                "/",
                "xn--r8jz45g.xn--zckzah",
            ),
        ]);
        let url = Url::parse("http://bücher.example/").unwrap();
        assert_eq!(url.host_name(), "xn--bcher-kva.example");
        assert_eq!(url.to_string(), "http://xn--bcher-kva.example/");
    }

    #[test]
    fn path_and_query_are_percent_encoded() {
        assert_parts(&[
            ("http://h/a b/c", "h", 80, "/a%20b/c", "h"),
            ("http://h/ü", "h", 80, "/%C3%BC", "h"),
            ("http://h/p?q=a b&r=ü", "h", 80, "/p?q=a%20b&r=%C3%BC", "h"),
            ("http://h/\"<>`{}", "h", 80, "/%22%3C%3E%60%7B%7D", "h"),
            // Already encoded: kept, not encoded twice.
            ("http://h/a%20b?q=%C3%BC", "h", 80, "/a%20b?q=%C3%BC", "h"),
            // Dot segments resolved; a backslash is a slash in http URLs.
            ("http://h/a/./b/../c", "h", 80, "/a/c", "h"),
            ("http://h/a\\b", "h", 80, "/a/b", "h"),
            // A fragment is dropped, encoded or not.
            ("http://h/p?q#f g", "h", 80, "/p?q", "h"),
        ]);
        // Every target is visible ASCII, as a request line needs.
        let url = Url::parse("http://h/\u{7f}\u{1}ü ?€ \t").unwrap();
        assert!(url.target().bytes().all(|b| b.is_ascii_graphic()), "{url}");
    }

    #[test]
    fn default_ports_are_elided() {
        assert_parts(&[
            ("http://h:80/", "h", 80, "/", "h"),
            ("https://h:443/", "h", 443, "/", "h"),
            ("http://h:443/", "h", 443, "/", "h:443"),
            ("https://h:80/", "h", 80, "/", "h:80"),
            ("http://h:0080/", "h", 80, "/", "h"),
            ("http://[::1]:80/", "[::1]", 80, "/", "[::1]"),
        ]);
        let url = Url::parse("https://h:443/p").unwrap();
        assert_eq!(url.host_port(), "h:443");
        assert_eq!(url.absolute_target(), "https://h/p");
    }

    #[test]
    fn scheme_and_host_are_lowercased() {
        assert_parts(&[
            (
                "HTTP://EXAMPLE.COM/Path",
                "example.com",
                80,
                "/Path",
                "example.com",
            ),
            ("hTTpS://Ex.Com:8443", "ex.com", 8443, "/", "ex.com:8443"),
            (
                "http://[::FFFF:1.2.3.4]/",
                "[::ffff:102:304]",
                80,
                "/",
                "[::ffff:102:304]",
            ),
            ("http://127.1/", "127.0.0.1", 80, "/", "127.0.0.1"),
        ]);
        let url = Url::parse("HTTPS://EXAMPLE.COM/").unwrap();
        assert_eq!(url.scheme(), Scheme::Https);
        assert_eq!(url.to_string(), "https://example.com/");
    }

    #[test]
    fn ipv6_hosts_keep_their_brackets_in_host_only() {
        let url = Url::parse("http://[2001:DB8::1]:8080/").unwrap();
        assert_eq!(url.host(), "[2001:db8::1]");
        assert_eq!(url.host_name(), "2001:db8::1");
        assert_eq!(url.authority(), "[2001:db8::1]:8080");
        assert_eq!(url.host_port(), "[2001:db8::1]:8080");
        assert_eq!(url.to_string(), "http://[2001:db8::1]:8080/");
    }

    #[test]
    fn userinfo_stays_percent_encoded_and_apart() {
        for (input, userinfo, host) in [
            ("http://u:p@h/", Some("u:p"), "h"),
            ("http://a%40b:p%3Aw@h:1/", Some("a%40b:p%3Aw"), "h"),
            // A raw `@` in the user name is encoded; the last `@` ends it.
            ("http://a@b:c@h/", Some("a%40b:c"), "h"),
            ("http://us%20er:pä@h/", Some("us%20er:p%C3%A4"), "h"),
            ("http://user@h/", Some("user"), "h"),
            ("http://:pw@h/", Some(":pw"), "h"),
            ("http://@h/", None, "h"),
            ("http://h/", None, "h"),
            ("http://h/a@b", None, "h"),
        ] {
            let url = Url::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(url.userinfo(), userinfo, "{input}");
            assert_eq!(url.host(), host, "{input}");
            // Never in the absolute form or the Host field.
            assert!(
                !url.to_string().contains('@') || input.ends_with("a@b"),
                "{input}"
            );
            assert!(!url.authority().contains('@'), "{input}");
        }
    }

    #[test]
    fn rejected_urls_name_the_reason() {
        for (input, reason) in [
            ("ftp://h/", "the scheme is not http or https"),
            ("file:///etc/passwd", "the scheme is not http or https"),
            ("ws://h/", "the scheme is not http or https"),
            ("mailto:a@b", "not an absolute URL (scheme://host/...)"),
            ("http:h", "not an absolute URL (scheme://host/...)"),
            ("http:/h", "not an absolute URL (scheme://host/...)"),
            ("/relative", "not an absolute URL (scheme://host/...)"),
            ("", "not an absolute URL (scheme://host/...)"),
            ("http://", "no host"),
            ("https://", "no host"),
            ("http:///x", "no host"),
            ("http://\\x", "no host"),
            ("http://?q", "no host"),
            ("http://#f", "no host"),
            ("http://u:p@/", "no host"),
            ("http://:80/", "no host"),
            ("http://h:0/", "bad port"),
            ("http://h:65536/", "bad port"),
            ("http://[::1", "bad IPv6 address"),
            ("http://1.2.3.256/", "bad IPv4 address"),
            ("http://a<b/", "bad host name"),
            ("http://a%20b/", "bad host name"),
            ("http://xn--a.example/", "bad host name"),
        ] {
            match Url::parse(input) {
                Err(Error::InvalidUrl { url, reason: got }) => {
                    assert_eq!(got, reason, "{input}");
                    if !input.contains('@') {
                        assert_eq!(url, input, "{input}");
                    }
                }
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_password_never_shows() {
        let url = Url::parse("http://user:s3cret@h:81/p?q#frag").unwrap();
        assert_eq!(url.userinfo(), Some("user:s3cret"));
        for shown in [
            url.to_string(),
            format!("{url:?}"),
            format!("{url:#?}"),
            url.absolute_target(),
            url.authority(),
            url.host_port(),
        ] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }
        assert!(format!("{url:?}").contains(r#"userinfo: Some("user:***")"#));
        let url = Url::parse("http://user@h/").unwrap();
        assert!(format!("{url:?}").contains(r#"userinfo: Some("user")"#));
        // Errors mask it too.
        let error = Url::parse("ftp://user:s3cret@h/").unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert!(!format!("{error:?}").contains("s3cret"), "{error:?}");
        let error = Url::parse("http://user:s3cret@h:0/").unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn origins_equality_and_the_url_crate() {
        let a = Url::parse("http://H:80/a").unwrap();
        let b = Url::parse("http://h/b?c").unwrap();
        let c = Url::parse("https://h/a").unwrap();
        assert!(a.same_origin(&b));
        assert!(!a.same_origin(&c));
        assert_eq!(a, Url::parse("HTTP://h/a#x").unwrap());
        assert_ne!(a, b);
        assert_eq!(a.as_url().as_str(), "http://h/a");
        assert_eq!(a.as_url().fragment(), None);
    }
}
