//! HTTP proxies: from the caller, or from `http_proxy` / `https_proxy` /
//! `no_proxy` when the caller opts in.

use std::env;

use crate::error::Error;
use crate::url::{Scheme, Url};

/// An HTTP proxy. Plain HTTP requests go to it with absolute-form targets;
/// HTTPS goes through a `CONNECT` tunnel it opens, then TLS to the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    host: String,
    port: u16,
    authorization: Option<String>,
}

impl Proxy {
    /// A proxy at `http://host:port` (the port defaults to 80). A
    /// `user:password@` part becomes a `Basic` `Proxy-Authorization`.
    ///
    /// ```
    /// let proxy = dugong_net::Proxy::parse("http://user:pw@127.0.0.1:3128")?;
    /// assert_eq!(proxy.host(), "127.0.0.1");
    /// assert_eq!(proxy.port(), 3128);
    /// assert_eq!(proxy.authorization(), Some("Basic dXNlcjpwdw=="));
    /// # Ok::<(), dugong_net::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] if it is not an `http://` URL with a host (TLS
    /// to the proxy itself is not supported).
    pub fn parse(url: &str) -> Result<Proxy, Error> {
        // A bare `host:port`, as found in many environments, means http.
        let owned;
        let url = if url.contains("://") {
            url
        } else {
            owned = format!("http://{url}");
            &owned
        };
        let parsed = Url::parse(url)?;
        if parsed.scheme() != Scheme::Http {
            return Err(Error::invalid_url(
                url,
                "only http:// proxies are supported",
            ));
        }
        Ok(Proxy {
            host: parsed.host().to_owned(),
            port: parsed.port(),
            authorization: parsed
                .userinfo()
                .map(|user| format!("Basic {}", base64(&percent_decode(user)))),
        })
    }

    /// The proxy for a request to `url` according to the environment:
    /// `https_proxy` (or `HTTPS_PROXY`) for https, `http_proxy` for http
    /// (only lowercase: `HTTP_PROXY` can be set by CGI requests), and none
    /// if `no_proxy` (or `NO_PROXY`) matches the host.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] if the variable holds something that is not a
    /// proxy URL.
    pub fn from_env(url: &Url) -> Result<Option<Proxy>, Error> {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| env::var(n).ok().filter(|v| !v.trim().is_empty()))
        };
        let value = match url.scheme() {
            Scheme::Http => var(&["http_proxy"]),
            Scheme::Https => var(&["https_proxy", "HTTPS_PROXY"]),
        };
        let Some(value) = value else {
            return Ok(None);
        };
        let no_proxy = var(&["no_proxy", "NO_PROXY"]).unwrap_or_default();
        if no_proxy_matches(&no_proxy, url.host_name()) {
            return Ok(None);
        }
        Proxy::parse(value.trim()).map(Some)
    }

    /// The proxy's host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `Proxy-Authorization` value to send, if the proxy URL had
    /// credentials.
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }

    /// The request header fields that go to this proxy (credentials, if
    /// any).
    pub fn header_fields(&self) -> Vec<(&'static str, String)> {
        self.authorization
            .iter()
            .map(|a| ("Proxy-Authorization", a.clone()))
            .collect()
    }
}

/// Does a `no_proxy` list exclude `host`? Entries are separated by commas or
/// spaces; `*` matches everything; an entry matches the host itself and its
/// subdomains (a leading `.` is allowed); a port suffix is ignored.
pub(crate) fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    list.split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.trim_start_matches("*.").trim_start_matches('.');
            let entry = match entry.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or_default(),
                None if entry.matches(':').count() == 1 => {
                    entry.split(':').next().unwrap_or_default()
                }
                None => entry,
            };
            let entry = entry.to_ascii_lowercase();
            host == entry
                || (host.len() > entry.len()
                    && host.ends_with(&entry)
                    && host.as_bytes()[host.len() - entry.len() - 1] == b'.')
        })
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), output);
        }
    }

    #[test]
    fn proxy_urls() {
        let p = Proxy::parse("127.0.0.1:3128").unwrap();
        assert_eq!(
            (p.host(), p.port(), p.authorization()),
            ("127.0.0.1", 3128, None)
        );
        let p = Proxy::parse("http://proxy").unwrap();
        assert_eq!(p.port(), 80);
        let p = Proxy::parse("http://a%40b:p%3Aw@h:1").unwrap();
        assert_eq!(
            p.authorization(),
            Some(format!("Basic {}", base64(b"a@b:p:w")).as_str())
        );
        assert!(Proxy::parse("https://h:1").is_err());
        assert!(Proxy::parse("socks5://h:1").is_err());
    }

    #[test]
    fn no_proxy_lists() {
        let cases = [
            ("*", "anything", true),
            ("example.com", "example.com", true),
            ("example.com", "www.example.com", true),
            (".example.com", "www.example.com", true),
            ("*.example.com", "a.b.example.com", true),
            ("example.com", "badexample.com", false),
            ("example.com", "example.org", false),
            ("a, b ,localhost:8080", "localhost", true),
            ("127.0.0.1", "127.0.0.1", true),
            ("[::1]", "::1", true),
            ("", "example.com", false),
            ("EXAMPLE.com", "Example.COM.", true),
        ];
        for (list, host, expected) in cases {
            assert_eq!(no_proxy_matches(list, host), expected, "{list:?} vs {host}");
        }
    }
}
