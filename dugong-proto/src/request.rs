//! Writing request heads: the request line, the caller's fields (checked),
//! `Host` and the framing field chosen from the body, and what the head
//! says about the request ([`RequestFacts`]) for the in-flight queue.
//!
//! A pure function of its arguments; `send.rs` decides when to call it.

use alloc::vec::Vec;
use core::ops::Range;

use bytes::{BufMut, BytesMut};

use crate::error::InvalidRequest;
use crate::head::{all_in, first_non_field, is_ows, is_token, list, trim_ows, TARGET};

/// What a request head says about the request, for the in-flight queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RequestFacts {
    pub(crate) head: bool,
    pub(crate) connect: bool,
    pub(crate) expects_continue: bool,
    pub(crate) upgrade: bool,
    pub(crate) close: bool,
}

/// How the request body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    None,
    Length(u64),
    Chunked,
}

/// A header field as the caller gives it: anything that has a name and a
/// value as bytes. Implemented for pairs `(N, V)` of `AsRef<[u8]>` (such as
/// `("Host", "example.com")` or `(String, Vec<u8>)`) and for references to
/// them, so both `[("Host", "a")]` and `&Vec<(String, String)>` work.
pub trait HeaderField {
    /// The field name (a token).
    fn name(&self) -> &[u8];
    /// The field value (latin-1 bytes without CR, LF or NUL).
    fn value(&self) -> &[u8];
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> HeaderField for (N, V) {
    fn name(&self) -> &[u8] {
        self.0.as_ref()
    }
    fn value(&self) -> &[u8] {
        self.1.as_ref()
    }
}

impl<T: HeaderField + ?Sized> HeaderField for &T {
    fn name(&self) -> &[u8] {
        (**self).name()
    }
    fn value(&self) -> &[u8] {
        (**self).value()
    }
}

/// Field names whose values are secrets: their positions are recorded for
/// traffic traces that redact them.
const SECRET_FIELDS: &[&[u8]] = &[b"authorization", b"proxy-authorization", b"cookie"];

/// Connection-wide choices for writing request heads.
#[derive(Debug, Default)]
pub(crate) struct HeadOptions<'a> {
    /// `Host` value added when the caller gives none.
    pub(crate) default_host: Option<&'a [u8]>,
    /// Where to record the byte ranges (within the head) of secret values.
    pub(crate) secrets: Option<&'a mut Vec<Range<usize>>>,
    /// Where to collect the `Upgrade` values (joined with commas): the
    /// protocols a `101` may switch to.
    pub(crate) upgrade_offer: Option<&'a mut Vec<u8>>,
}

/// Appends a request head to `out`, validating everything. On error `out`
/// is left as it was: nothing is emitted.
pub(crate) fn write_request_head<I>(
    out: &mut BytesMut,
    method: &str,
    target: &str,
    headers: I,
    body: BodyFraming,
    mut options: HeadOptions<'_>,
) -> Result<RequestFacts, InvalidRequest>
where
    I: IntoIterator<Item: HeaderField>,
{
    let start = out.len();
    let secrets_before = options.secrets.as_ref().map_or(0, |s| s.len());
    let result = write_head_inner(out, method, target, headers, body, &mut options);
    if result.is_err() {
        out.truncate(start);
        if let Some(secrets) = options.secrets {
            secrets.truncate(secrets_before);
        }
    }
    result
}

fn write_head_inner<I>(
    out: &mut BytesMut,
    method: &str,
    target: &str,
    headers: I,
    body: BodyFraming,
    options: &mut HeadOptions<'_>,
) -> Result<RequestFacts, InvalidRequest>
where
    I: IntoIterator<Item: HeaderField>,
{
    let method = method.as_bytes();
    if !is_token(method) {
        return Err(InvalidRequest::Method);
    }
    let mut facts = RequestFacts {
        head: method == b"HEAD",
        connect: method == b"CONNECT",
        ..RequestFacts::default()
    };
    check_target(method, target.as_bytes())?;
    out.reserve(method.len() + target.len() + 64);
    out.put_slice(method);
    out.put_u8(b' ');
    out.put_slice(target.as_bytes());
    out.put_slice(b" HTTP/1.1\r\n");
    let mut has_host = false;
    for field in headers {
        let (name, value) = (field.name(), field.value());
        check_field(name, value)?;
        if let Some(secrets) = options.secrets.as_deref_mut() {
            if SECRET_FIELDS.iter().any(|s| name.eq_ignore_ascii_case(s)) {
                let at = out.len() + name.len() + 2;
                secrets.push(at..at + value.len());
            }
        }
        if name.eq_ignore_ascii_case(b"host") {
            has_host = true;
        } else if name.eq_ignore_ascii_case(b"content-length")
            || name.eq_ignore_ascii_case(b"transfer-encoding")
        {
            return Err(InvalidRequest::FramingHeader);
        } else if name.eq_ignore_ascii_case(b"connection") {
            facts.close |= list(value).any(|t| t.eq_ignore_ascii_case(b"close"));
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            facts.upgrade = true;
            if let Some(offer) = options.upgrade_offer.as_deref_mut() {
                if !offer.is_empty() {
                    offer.push(b',');
                }
                offer.extend_from_slice(value);
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            facts.expects_continue |= trim_ows(value).eq_ignore_ascii_case(b"100-continue");
        }
        put_field(out, name, value);
    }
    if !has_host {
        // CONNECT names its authority in the target (RFC 9110 §9.3.6).
        let host = if facts.connect {
            Some(target.as_bytes())
        } else {
            options.default_host
        };
        if let Some(host) = host {
            if host.is_empty() {
                return Err(InvalidRequest::HeaderValue);
            }
            check_field(b"Host", host)?;
            put_field(out, b"Host", host);
        }
    }
    match body {
        BodyFraming::None => {}
        BodyFraming::Length(n) => {
            out.put_slice(b"Content-Length: ");
            put_decimal(out, n);
            out.put_slice(b"\r\n");
        }
        BodyFraming::Chunked => out.put_slice(b"Transfer-Encoding: chunked\r\n"),
    }
    out.put_slice(b"\r\n");
    Ok(facts)
}

pub(crate) fn put_field(out: &mut BytesMut, name: &[u8], value: &[u8]) {
    out.reserve(name.len() + value.len() + 4);
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

pub(crate) fn check_field(name: &[u8], value: &[u8]) -> Result<(), InvalidRequest> {
    if !is_token(name) {
        return Err(InvalidRequest::HeaderName);
    }
    let edge_ws =
        value.first().is_some_and(|&b| is_ows(b)) || value.last().is_some_and(|&b| is_ows(b));
    if edge_ws || first_non_field(value).is_some() {
        return Err(InvalidRequest::HeaderValue);
    }
    Ok(())
}

fn check_target(method: &[u8], target: &[u8]) -> Result<(), InvalidRequest> {
    if target.is_empty() || !all_in(target, TARGET) {
        return Err(InvalidRequest::Target);
    }
    let ok = if method == b"CONNECT" {
        is_authority_form(target)
    } else if target == b"*" {
        method == b"OPTIONS"
    } else {
        // `example.com:443` also reads as scheme `example.com`: authority-form
        // wins, and is for CONNECT only.
        target[0] == b'/' || (is_absolute_form(target) && !is_authority_form(target))
    };
    if ok {
        Ok(())
    } else {
        Err(InvalidRequest::Target)
    }
}

/// `host:port` (RFC 9112 §3.2.3): no path, no userinfo, a numeric port.
fn is_authority_form(target: &[u8]) -> bool {
    let Some(colon) = target.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (&target[..colon], &target[colon + 1..]);
    !host.is_empty()
        && !port.is_empty()
        && port.iter().all(u8::is_ascii_digit)
        && !host.iter().any(|&b| matches!(b, b'/' | b'?' | b'#' | b'@'))
}

/// `scheme ":" rest` (RFC 3986 §3.1 scheme) with something after the colon.
fn is_absolute_form(target: &[u8]) -> bool {
    let Some(colon) = target.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = &target[..colon];
    colon + 1 < target.len()
        && scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

pub(crate) fn put_decimal(out: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}
