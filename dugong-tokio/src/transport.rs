//! Transports: what a [`Connection`](crate::Connection) reads from and writes
//! to, and opening TCP connections.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use dugong_net::{resolve, Error};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream to a server: anything that is [`AsyncRead`] +
/// [`AsyncWrite`] + [`Unpin`] + [`Send`] (a [`TcpStream`], a TLS stream, a
/// Unix socket, `tokio::io::duplex`, a proxy's tunnel). Implemented for
/// every such type.
///
/// Connections made by a [`Builder`](crate::Builder) use
/// `Box<dyn Transport>`, so plain, TLS and proxied connections have one
/// type.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + ?Sized> Transport for T {}

/// Resolves `host` (in a blocking task: `getaddrinfo` blocks) and connects
/// to each address in turn until one accepts.
pub(crate) async fn dial(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
) -> Result<TcpStream, Error> {
    let name = host.to_owned();
    let addrs = tokio::task::spawn_blocking(move || resolve(&name, port))
        .await
        .map_err(|e| Error::io(io::Error::other(e)))??;
    let mut last: Option<(SocketAddr, io::Error)> = None;
    for addr in addrs {
        let attempt = match timeout {
            Some(t) => match tokio::time::timeout(t, TcpStream::connect(addr)).await {
                Ok(result) => result,
                Err(_) => Err(io::ErrorKind::TimedOut.into()),
            },
            None => TcpStream::connect(addr).await,
        };
        match attempt.and_then(|tcp| tcp.set_nodelay(true).map(|()| tcp)) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => {
                tracing::debug!(%addr, error = %e, "dugong: connect failed");
                last = Some((addr, e));
            }
        }
    }
    Err(Error::connect_failed(host, last))
}
