//! [`Builder`]: where to connect and how; and
//! [`Connection::connect`] and [`Connection::reconnect`], which use it.

use dugong_net::session::{tunnel_opened, tunnel_refused};
use dugong_net::{Error, PerConnection, Proxy, RequestExtras, Scheme, Settings, Url};
use dugong_proto::Body;
use tokio::net::TcpStream;

use crate::conn::Connection;
use crate::transport::{dial, Transport};

/// Settings for a new [`Connection`]: the server, TLS, a proxy, timeouts,
/// limits, tracing.
///
/// ```no_run
/// use std::time::Duration;
/// use dugong_tokio::Builder;
///
/// # async fn f() -> Result<(), dugong_tokio::Error> {
/// let mut conn = Builder::from_url("https://example.com/")?
///     .timeout(Duration::from_secs(10))
///     .proxy_from_env()
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    settings: Settings,
}

impl Builder {
    dugong_net::builder_settings_methods!();

    /// Drives a connection over a transport the caller opened (a Unix
    /// socket, an in-memory pipe, a tunnel). `Host` comes from the builder's
    /// host and port; TLS and proxy settings are not used, and the
    /// connection cannot [`reconnect`](Connection::reconnect).
    pub fn over<T: Transport>(&self, transport: T) -> Connection<T> {
        let per = PerConnection::over_caller_transport(&self.settings);
        Connection::new(transport, &self.settings, per)
    }

    /// Resolves the host (in a blocking task), connects (trying every
    /// address), and sets up the proxy tunnel and TLS as configured.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the attempt (and closes the socket).
    ///
    /// # Errors
    ///
    /// [`HostNotFound`](dugong_net::ErrorKind::HostNotFound),
    /// [`DnsUnavailable`](dugong_net::ErrorKind::DnsUnavailable),
    /// [`Io`](dugong_net::ErrorKind::Io) (refused, unreachable),
    /// [`TimedOut`](dugong_net::ErrorKind::TimedOut),
    /// [`Proxy`](dugong_net::ErrorKind::Proxy), [`Tls`](dugong_net::ErrorKind::Tls).
    pub async fn connect(&self) -> Result<Connection, Error> {
        let route = self.settings.route()?;
        let origin = route.origin.clone();
        let (dial_host, dial_port) = (&route.dial_host, route.dial_port);
        let trace = self.settings.open_trace(&route.about);
        let tcp = dial(dial_host, dial_port, self.settings.connect_timeout()).await?;
        let peer = tcp
            .peer_addr()
            .map_or_else(|_| "?".to_owned(), |a| a.to_string());
        if let Some(trace) = &trace {
            trace.note(&format!("connected to {peer}"));
        }
        tracing::debug!(host = %dial_host, port = dial_port, %peer, "dugong: connected");
        let mut per = PerConnection::for_origin(&origin, trace);
        match (self.settings.scheme(), route.proxy.as_ref()) {
            (Scheme::Http, None) => Ok(Connection::new(Box::new(tcp), &self.settings, per)),
            (Scheme::Http, Some(_)) => {
                per.extras = RequestExtras::for_route(&route);
                Ok(Connection::new(Box::new(tcp), &self.settings, per))
            }
            (Scheme::Https, None) => self.start_tls(tcp, per).await,
            (Scheme::Https, Some(proxy)) => {
                let tunnel = self.tunnel(tcp, proxy, &origin).await?;
                self.start_tls(tunnel, per).await
            }
        }
    }

    #[cfg(feature = "tls")]
    async fn start_tls(
        &self,
        inner: TcpStream,
        mut per: PerConnection,
    ) -> Result<Connection, Error> {
        let result = crate::tls::handshake(
            inner,
            self.settings.tls_config(),
            self.settings.server_name(),
            self.settings.timeout(),
        )
        .await;
        let (tls, info) = match result {
            Ok(done) => done,
            Err(error) => {
                if let Some(trace) = &per.trace {
                    trace.note(&format!("error: {error}"));
                }
                tracing::debug!(%error, "dugong: TLS handshake failed");
                return Err(error);
            }
        };
        per.tls_established(info);
        Ok(Connection::new(Box::new(tls), &self.settings, per))
    }

    #[cfg(not(feature = "tls"))]
    async fn start_tls(&self, _inner: TcpStream, _per: PerConnection) -> Result<Connection, Error> {
        Err(Error::Tls(
            "dugong-tokio was built without its `tls` feature".into(),
        ))
    }

    /// Opens a `CONNECT` tunnel through the proxy, with the protocol state
    /// machine (it decides whether the tunnel is open).
    async fn tunnel(
        &self,
        tcp: TcpStream,
        proxy: &Proxy,
        origin: &Url,
    ) -> Result<TcpStream, Error> {
        let mut conn = Connection::new(tcp, &self.settings, PerConnection::for_tunnel(proxy));
        let no_fields: [(&str, &str); 0] = [];
        conn.send_request("CONNECT", &origin.host_port(), no_fields, Body::Empty)
            .await?;
        let head = conn.read_response().await?;
        // The state machine decides whether the tunnel opened.
        match conn.into_upgraded().await {
            Ok((tcp, rest)) => tunnel_opened(&rest).map(|()| tcp),
            Err(conn) => Err(tunnel_refused(&head, conn.error())),
        }
    }
}

impl Connection {
    /// Connects to `http://host:port` with default settings (no timeout, no
    /// proxy). Use a [`Builder`] for TLS, proxies and timeouts.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the attempt (and closes the socket).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::HostNotFound`](dugong_net::ErrorKind::HostNotFound),
    /// [`DnsUnavailable`](dugong_net::ErrorKind::DnsUnavailable), or
    /// [`Io`](dugong_net::ErrorKind::Io) when no address accepts.
    pub async fn connect(host: &str, port: u16) -> Result<Connection, Error> {
        Builder::new(host, port).connect().await
    }

    /// Opens a new connection with the same settings, replacing this one
    /// (after an error, or [`disconnect`](Self::disconnect)). Responses still
    /// owed on the old connection are lost.
    ///
    /// # Cancel safety
    ///
    /// Dropped before it completes, the old connection is disconnected and
    /// no new one replaces it.
    ///
    /// # Errors
    ///
    /// [`Usage`](dugong_net::ErrorKind::Usage) for a connection made over a
    /// caller's transport; the errors of [`Builder::connect`].
    pub async fn reconnect(&mut self) -> Result<(), Error> {
        let (send, _) = self.halves();
        let settings = send
            .shared
            .lock()
            .session
            .settings()
            .cloned()
            .ok_or(Error::Usage(
                "a connection over a caller's transport cannot reconnect",
            ))?;
        self.disconnect().await;
        *self = Builder { settings }.connect().await?;
        Ok(())
    }
}
