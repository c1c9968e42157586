//! What an adapter adds to the requests it sends for its caller.

use dugong_proto::{Body, HeaderField, RequestId};

use crate::error::Error;
use crate::proxy::Proxy;
use crate::settings::Route;
use crate::trace::{Record, Trace};

/// What a connection adds to every request: for plain HTTP through a
/// proxy, the absolute form of the target and the proxy's credentials.
#[derive(Debug, Clone, Default)]
pub struct RequestExtras {
    absolute_prefix: Option<String>,
    fields: Vec<(&'static str, String)>,
}

/// A header field given by the caller or added by the connection.
enum Field<'a, H> {
    Caller(H),
    Added(&'a (&'static str, String)),
}

impl<H: HeaderField> HeaderField for Field<'_, H> {
    fn name(&self) -> &[u8] {
        match self {
            Field::Caller(h) => h.name(),
            Field::Added(f) => f.0.as_bytes(),
        }
    }
    fn value(&self) -> &[u8] {
        match self {
            Field::Caller(h) => h.value(),
            Field::Added(f) => f.1.as_bytes(),
        }
    }
}

impl RequestExtras {
    /// Nothing added (a direct connection, or one over a caller's
    /// transport).
    pub fn none() -> RequestExtras {
        RequestExtras::default()
    }

    /// What requests over `route` need: through a proxy, plain HTTP
    /// requests carry absolute-form targets and the proxy's credentials (an
    /// HTTPS tunnel needs neither once it is open).
    pub fn for_route(route: &Route) -> RequestExtras {
        match (&route.proxy, route.absolute_prefix()) {
            (Some(proxy), Some(prefix)) => RequestExtras {
                absolute_prefix: Some(prefix),
                fields: proxy.header_fields(),
            },
            _ => RequestExtras::none(),
        }
    }

    /// What the `CONNECT` request that opens a tunnel through `proxy`
    /// needs: the proxy's credentials.
    pub fn for_tunnel(proxy: &Proxy) -> RequestExtras {
        RequestExtras {
            absolute_prefix: None,
            fields: proxy.header_fields(),
        }
    }

    /// Starts a request on the state machine with the extras applied, and
    /// records it in the trace (in the `replay` example's request syntax).
    /// Returns the request's id and the target as sent.
    ///
    /// # Errors
    ///
    /// The state machine's errors.
    pub fn send_request<I>(
        &self,
        proto: &mut dugong_proto::Connection,
        trace: Option<&Trace>,
        method: &str,
        target: &str,
        headers: I,
        body: Body,
    ) -> Result<RequestId, Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        let absolute;
        let target = match &self.absolute_prefix {
            Some(prefix) if target.starts_with('/') => {
                absolute = format!("{prefix}{target}");
                absolute.as_str()
            }
            _ => target,
        };
        let id = if self.fields.is_empty() {
            // The usual case (no proxy credentials): the caller's fields
            // as they are, without a wrapper around each.
            proto.send_request(method, target, headers, body)?
        } else {
            let fields = headers
                .into_iter()
                .map(Field::Caller)
                .chain(self.fields.iter().map(Field::Added));
            proto.send_request(method, target, fields, body)?
        };
        if let Some(trace) = trace {
            let mut spec = method.to_owned();
            if proto.awaiting_continue() == Some(id) {
                spec.push_str(":expect100");
            }
            trace.record(Record::Request, spec.as_bytes());
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_requests_get_absolute_targets_and_credentials() {
        let route = Route {
            origin: crate::Url::parse("http://origin:8080/").unwrap(),
            proxy: Some(Proxy::parse("http://u:p@proxy:3128").unwrap()),
            dial_host: "proxy".into(),
            dial_port: 3128,
            about: String::new(),
        };
        let extras = RequestExtras::for_route(&route);
        let mut proto = dugong_proto::Connection::default();
        proto.set_host(Some("origin:8080".into()));
        let no_fields: [(&str, &str); 0] = [];
        extras
            .send_request(&mut proto, None, "GET", "/x?y", no_fields, Body::Empty)
            .unwrap();
        let wire = proto.poll_transmit().unwrap();
        assert_eq!(
            &wire[..],
            b"GET http://origin:8080/x?y HTTP/1.1\r\nProxy-Authorization: Basic dTpw\r\nHost: origin:8080\r\n\r\n"
        );
        // An HTTPS origin through a proxy: nothing added (the tunnel carries it).
        let tunnelled = Route {
            origin: crate::Url::parse("https://origin/").unwrap(),
            ..route
        };
        let extras = RequestExtras::for_route(&tunnelled);
        extras
            .send_request(&mut proto, None, "GET", "/", no_fields, Body::Empty)
            .unwrap();
        let wire = proto.poll_transmit().unwrap();
        assert!(wire.starts_with(b"GET / HTTP/1.1\r\nHost"));
    }
}
