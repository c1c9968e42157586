//! The request syntax of the `replay` example, `METHOD[:expect100|:upgrade]`.
//! The crate's tests include this file too, so they send requests exactly
//! as the trace contract describes.

use dugong_proto::{Body, Bytes, Connection, Error, RequestId};

/// Why a request spec could not be sent.
#[derive(Debug)]
pub(crate) enum SpecError {
    /// The part after `:` is not `expect100` or `upgrade`.
    UnknownFlag(String),
    /// The connection refused the request.
    Rejected(Error),
}

/// Sends one request in the `METHOD[:expect100|:upgrade]` syntax: every
/// request carries `Host: example.com`; `expect100` adds
/// `Expect: 100-continue` and a small body held back for `100 Continue`;
/// `upgrade` adds `Connection: upgrade` and `Upgrade: websocket`; `CONNECT`
/// uses the authority-form target `example.com:443`, others `/`.
pub(crate) fn send_spec(conn: &mut Connection, spec: &str) -> Result<RequestId, SpecError> {
    let (method, flag) = spec.split_once(':').unwrap_or((spec, ""));
    let target = if method == "CONNECT" {
        "example.com:443"
    } else {
        "/"
    };
    let mut headers = vec![("Host", "example.com")];
    let body = match flag {
        "expect100" => {
            headers.push(("Expect", "100-continue"));
            Body::Full(Bytes::from_static(b"body"))
        }
        "upgrade" => {
            headers.push(("Connection", "upgrade"));
            headers.push(("Upgrade", "websocket"));
            Body::Empty
        }
        "" => Body::Empty,
        other => return Err(SpecError::UnknownFlag(other.to_owned())),
    };
    conn.send_request(method, target, headers, body)
        .map_err(SpecError::Rejected)
}
