//! [`Builder`]: where to connect and how.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dugong_net::{resolve, Error, Phase, Proxy, Scheme, Trace, Url};
use dugong_proto::{Body, Config};

use crate::conn::{Connection, Setup};
use crate::transport::{Tcp, Transport};

/// The default bound on response bytes buffered while a write is blocked.
pub const DEFAULT_MAX_BUFFERED: usize = 64 * 1024 * 1024;

/// The default bound on requests in flight for a split connection's
/// sending half.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

/// Where the proxy comes from.
#[derive(Debug, Clone)]
enum ProxyChoice {
    None,
    Env,
    Given(Proxy),
}

/// Where the trace goes.
#[derive(Debug, Clone)]
enum TraceChoice {
    Env,
    Off,
    File(PathBuf),
}

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
    scheme: Scheme,
    host: String,
    port: u16,
    #[cfg(feature = "tls")]
    tls_config: Option<Arc<rustls::ClientConfig>>,
    server_name: Option<String>,
    proxy: ProxyChoice,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    config: Config,
    max_buffered: usize,
    max_in_flight: usize,
    trace: TraceChoice,
    keep_secrets: bool,
}

impl Builder {
    /// Plain HTTP to `host` (a name or an IP address) and `port`.
    pub fn new(host: &str, port: u16) -> Builder {
        Builder {
            scheme: Scheme::Http,
            host: host.to_ascii_lowercase(),
            port,
            #[cfg(feature = "tls")]
            tls_config: None,
            server_name: None,
            proxy: ProxyChoice::None,
            connect_timeout: None,
            timeout: None,
            config: Config::default(),
            max_buffered: DEFAULT_MAX_BUFFERED,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            trace: TraceChoice::Env,
            keep_secrets: false,
        }
    }

    /// The scheme, host and port of a URL (`http://` or `https://`); its
    /// path is not used.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`].
    pub fn from_url(url: &str) -> Result<Builder, Error> {
        Ok(Builder::for_url(&Url::parse(url)?))
    }

    /// The scheme, host and port of `url`.
    pub fn for_url(url: &Url) -> Builder {
        let builder = Builder::new(url.host(), url.port());
        match url.scheme() {
            Scheme::Http => builder,
            Scheme::Https => builder.https(),
        }
    }

    /// Use TLS (with the default configuration: certificates verified
    /// against the webpki-roots store, unless [`tls_config`](Self::tls_config)
    /// gives another).
    pub fn https(mut self) -> Builder {
        self.scheme = Scheme::Https;
        self
    }

    /// Use TLS with this rustls configuration (custom roots, client
    /// certificates).
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Builder {
        self.scheme = Scheme::Https;
        self.tls_config = Some(config);
        self
    }

    /// Verify the server's certificate against this name instead of the
    /// host connected to.
    pub fn server_name(mut self, name: &str) -> Builder {
        self.server_name = Some(name.to_owned());
        self
    }

    /// Go through this HTTP proxy.
    pub fn proxy(mut self, proxy: Proxy) -> Builder {
        self.proxy = ProxyChoice::Given(proxy);
        self
    }

    /// Go through the proxy that `http_proxy` / `https_proxy` / `no_proxy`
    /// choose for this server, if any.
    pub fn proxy_from_env(mut self) -> Builder {
        self.proxy = ProxyChoice::Env;
        self
    }

    /// Give up connecting to an address after this long (then try the
    /// next).
    pub fn connect_timeout(mut self, timeout: Duration) -> Builder {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Fail with [`ErrorKind::TimedOut`](dugong_net::ErrorKind::TimedOut)
    /// when no data moves for this long while reading, writing or in the
    /// TLS handshake (and connecting, unless
    /// [`connect_timeout`](Self::connect_timeout) says otherwise).
    pub fn timeout(mut self, timeout: Duration) -> Builder {
        self.timeout = Some(timeout);
        self
    }

    /// How long a request with `Expect: 100-continue` waits for the
    /// server's answer before its body is sent anyway (default 1 s).
    pub fn continue_delay(mut self, delay: Duration) -> Builder {
        self.config = self.config.with_continue_delay(delay);
        self
    }

    /// The protocol limits (head size, header count, ...).
    pub fn config(mut self, config: Config) -> Builder {
        self.config = config;
        self
    }

    /// At most this many response bytes are buffered while a write is
    /// blocked (default 64 MiB); past it the connection fails with
    /// [`Error::ReceiveBufferFull`] instead of growing without bound.
    pub fn max_buffered(mut self, bytes: usize) -> Builder {
        self.max_buffered = bytes;
        self
    }

    /// At most this many requests in flight when the connection is
    /// [split](Connection::split) (default 1024): the sending half waits for
    /// responses to be read before it sends more, so neither the kernel's
    /// buffers nor the list of requests in flight grow with a sender that
    /// runs ahead. A connection used from one thread is not limited (it
    /// cannot wait for itself); there [`max_buffered`](Self::max_buffered)
    /// bounds memory.
    pub fn max_in_flight(mut self, requests: usize) -> Builder {
        self.max_in_flight = requests.max(1);
        self
    }

    /// Write a traffic trace to this file (instead of the file named by
    /// `DUGONG_TRACEFILE`, which is used by default).
    pub fn trace_file(mut self, path: impl Into<PathBuf>) -> Builder {
        self.trace = TraceChoice::File(path.into());
        self
    }

    /// Write no traffic trace, even if `DUGONG_TRACEFILE` is set.
    pub fn no_trace(mut self) -> Builder {
        self.trace = TraceChoice::Off;
        self
    }

    /// Keep `Authorization`, `Proxy-Authorization` and `Cookie` values in
    /// traces instead of masking them.
    pub fn keep_trace_secrets(mut self, keep: bool) -> Builder {
        self.keep_secrets = keep;
        self
    }

    fn origin(&self) -> Url {
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        // Invariant: scheme, bracketed host and port always make a URL.
        Url::parse(&format!(
            "{}://{}:{}/",
            self.scheme.as_str(),
            host,
            self.port
        ))
        .expect("a URL made of a scheme, a host and a port parses")
    }

    fn open_trace(&self, about: &str) -> Option<Trace> {
        let trace = match &self.trace {
            TraceChoice::Off => None,
            TraceChoice::Env => Trace::from_env(about),
            TraceChoice::File(path) => match Trace::create(path, about) {
                Ok(t) => Some(t),
                Err(e) => {
                    eprintln!("dugong: cannot write trace file {}: {e}", path.display());
                    None
                }
            },
        };
        trace.map(|t| {
            let keep = self.keep_secrets || t.keeps_secrets();
            t.keep_secrets(keep)
        })
    }

    fn setup(&self, trace: Option<Trace>, origin: &Url) -> Setup {
        Setup {
            config: self.config.clone(),
            host: Some(origin.authority()),
            timeout: self.timeout,
            max_buffered: self.max_buffered,
            max_in_flight: self.max_in_flight,
            trace,
            absolute_prefix: None,
            extra_fields: Vec::new(),
            builder: Some(self.clone()),
        }
    }

    /// Drives a connection over a transport the caller opened (a Unix
    /// socket, an in-memory pipe, a tunnel). `Host` comes from the builder's
    /// host and port; TLS and proxy settings are not used.
    pub fn over(&self, transport: impl Transport + 'static) -> Connection {
        let origin = self.origin();
        let trace = self.open_trace(&format!("connection to {origin} over a caller's transport"));
        let mut setup = self.setup(trace, &origin);
        setup.builder = None;
        Connection::new(Box::new(transport), setup)
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
        let origin = self.origin();
        let proxy = match &self.proxy {
            ProxyChoice::None => None,
            ProxyChoice::Given(p) => Some(p.clone()),
            ProxyChoice::Env => Proxy::from_env(&origin)?,
        };
        let (dial_host, dial_port) = match &proxy {
            Some(p) => (p.host().to_owned(), p.port()),
            None => (self.host.clone(), self.port),
        };
        let about = match &proxy {
            Some(p) => format!("connection to {origin} via proxy {}:{}", p.host(), p.port()),
            None => format!("connection to {origin}"),
        };
        let trace = self.open_trace(&about);
        let tcp = self.dial(&dial_host, dial_port)?;
        if let Some(trace) = &trace {
            trace.note(&format!("connected to {}", peer(&tcp)));
        }
        tracing::debug!(host = %dial_host, port = dial_port, "dugong: connected");
        let mut setup = self.setup(trace, &origin);
        let transport: Box<dyn Transport> = match (self.scheme, proxy) {
            (Scheme::Http, None) => Box::new(tcp),
            (Scheme::Http, Some(proxy)) => {
                setup.absolute_prefix = Some(format!("http://{}", origin.authority()));
                setup.extra_fields = proxy.header_fields();
                Box::new(tcp)
            }
            (Scheme::Https, proxy) => {
                let inner: Box<dyn Transport> = match proxy {
                    None => Box::new(tcp),
                    Some(proxy) => self.tunnel(Box::new(tcp), &proxy, &origin)?,
                };
                return self.start_tls(inner, setup);
            }
        };
        Ok(Connection::new(transport, setup))
    }

    #[cfg(feature = "tls")]
    fn start_tls(&self, inner: Box<dyn Transport>, setup: Setup) -> Result<Connection, Error> {
        let config = self
            .tls_config
            .clone()
            .unwrap_or_else(dugong_net::tls::default_config);
        let name = self
            .server_name
            .clone()
            .unwrap_or_else(|| self.host.clone());
        let trace = setup.trace.clone();
        let tls = crate::tls::Tls::handshake(inner, config, &name, self.timeout)?;
        let info = tls.info();
        if let Some(trace) = trace {
            trace.note(&format!(
                "tls: {:?} {:?}",
                info.protocol_version(),
                info.cipher_suite()
            ));
        }
        let mut conn = Connection::new(Box::new(tls), setup);
        conn.set_tls_info(info);
        Ok(conn)
    }

    #[cfg(not(feature = "tls"))]
    fn start_tls(&self, _inner: Box<dyn Transport>, _setup: Setup) -> Result<Connection, Error> {
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
        let setup = Setup {
            config: self.config.clone(),
            host: None,
            timeout: self.timeout,
            max_buffered: self.max_buffered,
            max_in_flight: self.max_in_flight,
            trace: None,
            absolute_prefix: None,
            extra_fields: proxy.header_fields(),
            builder: None,
        };
        let mut conn = Connection::new(transport, setup);
        let no_fields: [(&str, &str); 0] = [];
        conn.send_request("CONNECT", &origin.host_port(), no_fields, Body::Empty)?;
        let head = conn.read_response()?;
        if !(200..300).contains(&head.status()) {
            let reason = String::from_utf8_lossy(head.reason()).into_owned();
            return Err(Error::ProxyRefused {
                status: head.status(),
                reason,
            });
        }
        match conn.into_upgraded() {
            Ok((transport, rest)) if rest.is_empty() => Ok(transport),
            Ok(_) => Err(Error::Tls(
                "the proxy sent bytes before the TLS handshake".into(),
            )),
            Err(conn) => Err(conn.error().unwrap_or(Error::ProxyRefused {
                status: head.status(),
                reason: "the tunnel was not opened".into(),
            })),
        }
    }

    /// Connects to every resolved address in turn.
    fn dial(&self, host: &str, port: u16) -> Result<Tcp, Error> {
        let addrs = resolve(host, port)?;
        let timeout = self.connect_timeout.or(self.timeout);
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
        Err(match last {
            Some((_, e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                Error::TimedOut(Phase::Connecting)
            }
            Some((addr, e)) => Error::Connect {
                addr: addr.to_string(),
                source: Arc::new(e),
            },
            None => Error::HostNotFound {
                host: host.to_owned(),
            },
        })
    }
}

fn peer(tcp: &Tcp) -> String {
    tcp.get_ref()
        .peer_addr()
        .map_or_else(|_| "?".to_owned(), |a: SocketAddr| a.to_string())
}
