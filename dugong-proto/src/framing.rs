//! What follows a response head: how its body is delimited (RFC 9112
//! §6.3), whether the connection is handed over, and whether the peer
//! closes after it (§9.3). Pure functions of the request, the status line
//! and the framing fields the head scan collected, in the manner of h11's
//! `_body_framing`; `recv.rs` turns the answer into its state.

use crate::error::{Error, InvalidResponse, Unsupported};
use crate::event::Version;
use crate::head::{list, Framing, TransferEncoding};
use crate::request::RequestFacts;

/// What follows a response head, as [`response_body`] decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseBody {
    /// `100 Continue`: no body; the request's body may go, and another
    /// response follows.
    Continue,
    /// Another interim response (102 to 199): no body; another response
    /// follows.
    Informational,
    /// `101 Switching Protocols` to a request that offered an upgrade: the
    /// connection is handed over after the head, once the caller checked
    /// with [`upgrade_offered`] that the protocol chosen was offered.
    Switch,
    /// A 2xx to `CONNECT`: the tunnel opens right after the head.
    Tunnel,
    /// No body.
    Empty,
    /// A body of this many bytes (more than 0).
    Length(u64),
    /// A chunked body.
    Chunked,
    /// A body delimited by the end of the stream.
    UntilClose,
}

/// How the body of a response to `request` with this status code, version
/// and framing fields is delimited. `at` is the stream offset of the head,
/// where errors are reported.
///
/// Interim responses first: `100` → [`Continue`](ResponseBody::Continue);
/// `101` → [`Switch`](ResponseBody::Switch) if the request offered an
/// upgrade, else [`Unsupported::UnrequestedSwitch`]; `102`-`199` →
/// [`Informational`](ResponseBody::Informational). Then the rules of
/// RFC 9112 §6.3, in order:
///
/// 1. a response to `HEAD`, and any `204` or `304`, has no body (1xx are
///    handled above); except that
/// 2. any 2xx to `CONNECT` (even `204`) is a [`Tunnel`](ResponseBody::Tunnel):
///    the bytes after the head are the tunnel's;
/// 3. `Transfer-Encoding` with `Content-Length` is an error
///    ([`InvalidResponse::TransferEncodingWithContentLength`]: the RFC lets
///    `Transfer-Encoding` win, but says such a message ought to be handled
///    as an error, which is what the request-smuggling defences do);
/// 4. `Transfer-Encoding` in an HTTP/1.0 response is an error
///    ([`InvalidResponse::TransferEncodingOnHttp10`], RFC 9112 §6.1); if it
///    is exactly `chunked` the body is [`Chunked`](ResponseBody::Chunked);
///    any other coding (where the RFC would read until close) is
///    [`Unsupported::TransferCoding`], and a malformed list
///    [`InvalidResponse::TransferEncoding`];
/// 5. an invalid or conflicting `Content-Length` is an error (the kind the
///    head scan recorded);
/// 6. a valid `Content-Length` is the body's length (`0`:
///    [`Empty`](ResponseBody::Empty));
/// 7. (requests only);
/// 8. anything else is read [`UntilClose`](ResponseBody::UntilClose).
#[inline]
pub(crate) fn response_body(
    request: RequestFacts,
    status: u16,
    version: Version,
    framing: &Framing,
    at: u64,
) -> Result<ResponseBody, Error> {
    let invalid = |kind| Err(Error::invalid(kind, at));
    match status {
        100 => return Ok(ResponseBody::Continue),
        101 if request.upgrade => return Ok(ResponseBody::Switch),
        101 => return Err(Error::UnsupportedResponse(Unsupported::UnrequestedSwitch)),
        102..=199 => return Ok(ResponseBody::Informational),
        _ => {}
    }
    if request.connect && (200..300).contains(&status) {
        return Ok(ResponseBody::Tunnel);
    }
    if request.head || status == 204 || status == 304 {
        return Ok(ResponseBody::Empty);
    }
    if framing.transfer_encoding != TransferEncoding::Absent {
        if framing.content_length != Ok(None) {
            return invalid(InvalidResponse::TransferEncodingWithContentLength);
        }
        if version == Version::Http10 {
            return invalid(InvalidResponse::TransferEncodingOnHttp10);
        }
        return match framing.transfer_encoding {
            TransferEncoding::Chunked => Ok(ResponseBody::Chunked),
            TransferEncoding::Unsupported => {
                Err(Error::UnsupportedResponse(Unsupported::TransferCoding))
            }
            _ => invalid(InvalidResponse::TransferEncoding),
        };
    }
    match framing.content_length {
        Err(kind) => invalid(kind),
        Ok(Some(0)) => Ok(ResponseBody::Empty),
        Ok(Some(n)) => Ok(ResponseBody::Length(n)),
        Ok(None) => Ok(ResponseBody::UntilClose),
    }
}

/// True if a final response says the peer closes the connection after it
/// (RFC 9112 §9.3): `Connection: close`, or HTTP/1.0 without
/// `Connection: keep-alive`. Nothing pipelined behind it is processed.
#[inline]
pub(crate) fn announces_close(version: Version, framing: &Framing) -> bool {
    framing.close || (version == Version::Http10 && !framing.keep_alive)
}

/// True if the `Upgrade` values of a `101` response name at least one
/// protocol, and only protocols the request offered in `offered` (its
/// `Upgrade` values joined with commas), RFC 9110 §7.8. Protocol names are
/// compared ignoring ASCII case, as that section recommends; a version the
/// response names must be the offered one when the offer names one too.
pub(crate) fn upgrade_offered<'a>(offered: &[u8], chosen: impl Iterator<Item = &'a [u8]>) -> bool {
    let mut any = false;
    for protocol in chosen.flat_map(list) {
        any = true;
        let (name, version) = split_protocol(protocol);
        let matches = list(offered).any(|offer| {
            let (offer_name, offer_version) = split_protocol(offer);
            offer_name.eq_ignore_ascii_case(name)
                && match (version, offer_version) {
                    (Some(v), Some(w)) => v.eq_ignore_ascii_case(w),
                    _ => true,
                }
        });
        if !matches {
            return false;
        }
    }
    any
}

/// A protocol `name[/version]` as its name and version.
fn split_protocol(protocol: &[u8]) -> (&[u8], Option<&[u8]>) {
    match protocol.iter().position(|&b| b == b'/') {
        Some(slash) => (&protocol[..slash], Some(&protocol[slash + 1..])),
        None => (protocol, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::TransferEncoding as Te;
    use ResponseBody::*;

    const GET: RequestFacts = RequestFacts {
        head: false,
        connect: false,
        expects_continue: false,
        upgrade: false,
        close: false,
    };
    const HEAD: RequestFacts = RequestFacts { head: true, ..GET };
    const CONNECT: RequestFacts = RequestFacts {
        connect: true,
        ..GET
    };
    const UPGRADE: RequestFacts = RequestFacts {
        upgrade: true,
        ..GET
    };

    const V10: Version = Version::Http10;
    const V11: Version = Version::Http11;

    type ContentLength = Result<Option<u64>, InvalidResponse>;
    const NONE: ContentLength = Ok(None);
    const CL0: ContentLength = Ok(Some(0));
    const CL5: ContentLength = Ok(Some(5));
    const CL_MAX: ContentLength = Ok(Some(u64::MAX));
    const CL_BAD: ContentLength = Err(InvalidResponse::ContentLength);
    const CL_CONFLICT: ContentLength = Err(InvalidResponse::ConflictingContentLength);

    fn fields(content_length: ContentLength, te: Te) -> Framing {
        Framing {
            content_length,
            transfer_encoding: te,
            close: false,
            keep_alive: false,
        }
    }

    fn bad(kind: InvalidResponse) -> Result<ResponseBody, Error> {
        Err(Error::invalid(kind, 7))
    }

    fn unsup(what: Unsupported) -> Result<ResponseBody, Error> {
        Err(Error::UnsupportedResponse(what))
    }

    /// The request, status, version, `Content-Length` and
    /// `Transfer-Encoding`, and what follows the head.
    type Case = (
        RequestFacts,
        u16,
        Version,
        ContentLength,
        Te,
        Result<ResponseBody, Error>,
    );

    #[test]
    fn framing_follows_rfc_9112_section_6_3() {
        use InvalidResponse as I;
        use Unsupported as U;
        // One row per case, in columns.
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // Interim responses.
            (GET,     100, V11, NONE,        Te::Absent,      Ok(Continue)),
            (GET,     100, V11, CL5,         Te::Chunked,     Ok(Continue)),
            (GET,     102, V11, NONE,        Te::Absent,      Ok(Informational)),
            (GET,     103, V10, CL5,         Te::Invalid,     Ok(Informational)),
            (CONNECT, 199, V11, NONE,        Te::Absent,      Ok(Informational)),
            (UPGRADE, 101, V11, NONE,        Te::Absent,      Ok(Switch)),
            (UPGRADE, 101, V11, CL5,         Te::Chunked,     Ok(Switch)),
            (GET,     101, V11, NONE,        Te::Absent,      unsup(U::UnrequestedSwitch)),
            (CONNECT, 101, V11, NONE,        Te::Absent,      unsup(U::UnrequestedSwitch)),
            // 1. HEAD, 204, 304: no body, whatever the fields say.
            (HEAD,    200, V11, CL5,         Te::Absent,      Ok(Empty)),
            (HEAD,    200, V11, CL5,         Te::Chunked,     Ok(Empty)),
            (HEAD,    404, V10, CL_BAD,      Te::Invalid,     Ok(Empty)),
            (GET,     204, V11, CL5,         Te::Absent,      Ok(Empty)),
            (GET,     304, V11, NONE,        Te::Chunked,     Ok(Empty)),
            (UPGRADE, 304, V11, NONE,        Te::Unsupported, Ok(Empty)),
            // 2. Any 2xx to CONNECT is a tunnel; anything else is framed.
            (CONNECT, 200, V11, NONE,        Te::Absent,      Ok(Tunnel)),
            (CONNECT, 204, V11, NONE,        Te::Absent,      Ok(Tunnel)),
            (CONNECT, 299, V10, CL5,         Te::Chunked,     Ok(Tunnel)),
            (CONNECT, 300, V11, NONE,        Te::Absent,      Ok(UntilClose)),
            (CONNECT, 304, V11, CL5,         Te::Absent,      Ok(Empty)),
            (CONNECT, 407, V11, CL5,         Te::Absent,      Ok(Length(5))),
            // 3. Transfer-Encoding with Content-Length.
            (GET,     200, V11, CL5,         Te::Chunked,     bad(I::TransferEncodingWithContentLength)),
            (GET,     200, V11, CL0,         Te::Invalid,     bad(I::TransferEncodingWithContentLength)),
            (GET,     200, V10, CL_BAD,      Te::Chunked,     bad(I::TransferEncodingWithContentLength)),
            // 4. Transfer-Encoding.
            (GET,     200, V10, NONE,        Te::Chunked,     bad(I::TransferEncodingOnHttp10)),
            (GET,     200, V10, NONE,        Te::Unsupported, bad(I::TransferEncodingOnHttp10)),
            (GET,     200, V11, NONE,        Te::Chunked,     Ok(Chunked)),
            (UPGRADE, 200, V11, NONE,        Te::Chunked,     Ok(Chunked)),
            (GET,     500, V11, NONE,        Te::Unsupported, unsup(U::TransferCoding)),
            (GET,     200, V11, NONE,        Te::Invalid,     bad(I::TransferEncoding)),
            // 5. Invalid Content-Length.
            (GET,     200, V11, CL_BAD,      Te::Absent,      bad(I::ContentLength)),
            (GET,     200, V10, CL_CONFLICT, Te::Absent,      bad(I::ConflictingContentLength)),
            // 6. Content-Length.
            (GET,     200, V11, CL0,         Te::Absent,      Ok(Empty)),
            (GET,     200, V10, CL5,         Te::Absent,      Ok(Length(5))),
            (GET,     999, V11, CL_MAX,      Te::Absent,      Ok(Length(u64::MAX))),
            // 8. Until close.
            (GET,     200, V11, NONE,        Te::Absent,      Ok(UntilClose)),
            (GET,     205, V10, NONE,        Te::Absent,      Ok(UntilClose)),
        ];
        for (i, &(request, status, version, content_length, te, ref expected)) in
            cases.iter().enumerate()
        {
            let framing = fields(content_length, te);
            let got = response_body(request, status, version, &framing, 7);
            assert_eq!(
                &got, expected,
                "case {i}: {request:?} {status} {version:?} {framing:?}"
            );
        }
    }

    #[test]
    fn close_is_announced_by_connection_close_or_http_1_0() {
        // Version, `close`, `keep-alive`, and whether the peer closes.
        let cases = [
            (V11, false, false, false),
            (V11, true, false, true),
            (V11, false, true, false),
            (V11, true, true, true),
            (V10, false, false, true),
            (V10, true, false, true),
            (V10, false, true, false),
            (V10, true, true, true),
        ];
        for (version, close, keep_alive, closes) in cases {
            let framing = Framing {
                close,
                keep_alive,
                ..fields(NONE, Te::Absent)
            };
            assert_eq!(
                announces_close(version, &framing),
                closes,
                "{version:?} {framing:?}"
            );
        }
    }

    #[test]
    fn a_switch_must_name_offered_protocols_only() {
        // The request's offer, the 101's `Upgrade` values, and the verdict.
        let cases: &[(&str, &[&str], bool)] = &[
            ("websocket", &["websocket"], true),
            ("websocket", &["WebSocket"], true),
            ("h2c, websocket", &["websocket"], true),
            ("h2c,websocket", &["h2c", "websocket"], true),
            ("foo", &["foo/2"], true),
            ("foo/1", &["foo"], true),
            ("foo/1", &["FOO/1"], true),
            ("foo/1", &["foo/2"], false),
            ("websocket", &[], false),
            ("websocket", &[""], false),
            ("websocket", &[" , "], false),
            ("websocket", &["h2c"], false),
            ("websocket", &["websocket, h2c"], false),
            ("", &["websocket"], false),
        ];
        for &(offered, chosen, ok) in cases {
            let got = upgrade_offered(offered.as_bytes(), chosen.iter().map(|c| c.as_bytes()));
            assert_eq!(got, ok, "{offered:?} {chosen:?}");
        }
    }
}
