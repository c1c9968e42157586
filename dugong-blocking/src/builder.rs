//! [`Builder`]: where to connect and how.

use std::net::{SocketAddr, TcpStream};

use dugong_net::session::{tunnel_opened, tunnel_refused};
use dugong_net::{resolve, Error, PerConnection, Proxy, RequestExtras, Scheme, Settings, Url};
use dugong_proto::Body;

use crate::conn::Connection;
use crate::transport::{Tcp, Transport};

/// Settings for a new [`Connection`]: the server, TLS, a proxy, timeouts,
/// limits, tracing.
///
/// ```no_run
/// use std::time::Duration;
/// use dugong_blocking::Builder;
///
/// let mut conn = Builder::from_url("https://example.com/")?
///     .timeout(Duration::from_secs(10))
///     .proxy_from_env()
///     .connect()?;
/// # Ok::<(), dugong_blocking::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    settings: Settings,
}

impl Builder {
    dugong_net::builder_settings_methods!();

    /// Drives a connection over a transport the caller opened (a Unix
    /// socket, an in-memory pipe, a tunnel). `Host` comes from the builder's
    /// host and port; TLS and proxy settings are not used.
    pub fn over(&self, transport: impl Transport + 'static) -> Connection {
        let per = PerConnection::over_caller_transport(&self.settings);
        Connection::new(Box::new(transport), &self.settings, per)
    }

    /// Resolves the host, connects (trying every address), and sets up the
    /// proxy tunnel and TLS as configured.
    ///
    /// # Errors
    ///
    /// [`HostNotFound`](dugong_net::ErrorKind::HostNotFound),
    /// [`DnsUnavailable`](dugong_net::ErrorKind::DnsUnavailable),
    /// [`Io`](dugong_net::ErrorKind::Io) (refused, unreachable),
    /// [`TimedOut`](dugong_net::ErrorKind::TimedOut),
    /// [`Proxy`](dugong_net::ErrorKind::Proxy), [`Tls`](dugong_net::ErrorKind::Tls).
    pub fn connect(&self) -> Result<Connection, Error> {
        let route = self.settings.route()?;
        let origin = route.origin.clone();
        let trace = self.settings.open_trace(&route.about);
        let tcp = self.dial(&route.dial_host, route.dial_port)?;
        if let Some(trace) = &trace {
            trace.note(&format!("connected to {}", peer(&tcp)));
        }
        tracing::debug!(host = %route.dial_host, port = route.dial_port, "dugong: connected");
        let mut per = PerConnection::for_origin(&origin, trace);
        let transport: Box<dyn Transport> = match (self.settings.scheme(), route.proxy.as_ref()) {
            (Scheme::Http, None) => Box::new(tcp),
            (Scheme::Http, Some(_)) => {
                per.extras = RequestExtras::for_route(&route);
                Box::new(tcp)
            }
            (Scheme::Https, proxy) => {
                let inner: Box<dyn Transport> = match proxy {
                    None => Box::new(tcp),
                    Some(proxy) => self.tunnel(Box::new(tcp), proxy, &origin)?,
                };
                return self.start_tls(inner, per);
            }
        };
        Ok(Connection::new(transport, &self.settings, per))
    }

    #[cfg(feature = "tls")]
    fn start_tls(
        &self,
        inner: Box<dyn Transport>,
        mut per: PerConnection,
    ) -> Result<Connection, Error> {
        let tls = crate::tls::Tls::handshake(
            inner,
            self.settings.tls_config(),
            self.settings.server_name(),
            self.settings.timeout(),
        )?;
        per.tls_established(tls.info());
        Ok(Connection::new(Box::new(tls), &self.settings, per))
    }

    #[cfg(not(feature = "tls"))]
    fn start_tls(
        &self,
        _inner: Box<dyn Transport>,
        _per: PerConnection,
    ) -> Result<Connection, Error> {
        Err(Error::Tls(
            "dugong-blocking was built without its `tls` feature".into(),
        ))
    }

    /// Opens a `CONNECT` tunnel through the proxy.
    fn tunnel(
        &self,
        transport: Box<dyn Transport>,
        proxy: &Proxy,
        origin: &Url,
    ) -> Result<Box<dyn Transport>, Error> {
        let mut conn = Connection::new(transport, &self.settings, PerConnection::for_tunnel(proxy));
        let no_fields: [(&str, &str); 0] = [];
        conn.send_request("CONNECT", &origin.host_port(), no_fields, Body::Empty)?;
        let head = conn.read_response()?;
        // The state machine decides whether the tunnel opened.
        match conn.into_upgraded() {
            Ok((transport, rest)) => tunnel_opened(&rest).map(|()| transport),
            Err(conn) => Err(tunnel_refused(&head, conn.error())),
        }
    }

    /// Connects to every resolved address in turn.
    fn dial(&self, host: &str, port: u16) -> Result<Tcp, Error> {
        let addrs = resolve(host, port)?;
        let timeout = self.settings.connect_timeout();
        let mut last = None;
        for addr in addrs {
            let attempt = match timeout {
                Some(t) => TcpStream::connect_timeout(&addr, t),
                None => TcpStream::connect(addr),
            };
            match attempt.and_then(Tcp::new) {
                Ok(tcp) => return Ok(tcp),
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "dugong: connect failed");
                    last = Some((addr, e));
                }
            }
        }
        Err(Error::connect_failed(host, last))
    }
}

fn peer(tcp: &Tcp) -> String {
    tcp.get_ref()
        .peer_addr()
        .map_or_else(|_| "?".to_owned(), |a: SocketAddr| a.to_string())
}

/// Opening connections (here rather than in `conn.rs`, so that the
/// connection does not depend on its builder).
impl Connection {
    /// Connects to `http://host:port` with default settings (no timeout,
    /// no proxy). Use a [`Builder`](crate::Builder) for TLS, proxies and
    /// timeouts.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::HostNotFound`](dugong_net::ErrorKind::HostNotFound),
    /// [`DnsUnavailable`](dugong_net::ErrorKind::DnsUnavailable), or
    /// [`Io`](dugong_net::ErrorKind::Io) when no address accepts.
    pub fn connect(host: &str, port: u16) -> Result<Connection, Error> {
        Builder::new(host, port).connect()
    }

    /// Opens a new connection with the same settings, replacing this one
    /// (after an error, or [`disconnect`](Self::disconnect)). Responses still
    /// owed on the old connection are lost.
    ///
    /// # Errors
    ///
    /// [`Usage`](dugong_net::ErrorKind::Usage) for a connection made over a
    /// caller's transport; the errors of [`Builder::connect`](crate::Builder::connect).
    pub fn reconnect(&mut self) -> Result<(), Error> {
        let settings = self.settings().cloned().ok_or(Error::Usage(
            "a connection over a caller's transport cannot reconnect",
        ))?;
        let builder = Builder { settings };
        self.disconnect();
        *self = builder.connect()?;
        Ok(())
    }
}
