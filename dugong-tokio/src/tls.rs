//! TLS with tokio-rustls over any [`Transport`].

use std::io;
use std::sync::Arc;
use std::time::Duration;

use dugong_net::tls::rustls::ClientConfig;
use dugong_net::tls::{server_name, TlsInfo};
use dugong_net::{is_peer_gone, Error, Phase};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::transport::Transport;

/// Runs the handshake with `host` (verified against `config`'s roots),
/// giving up after `timeout`.
pub(crate) async fn handshake<S: Transport>(
    inner: S,
    config: Arc<ClientConfig>,
    host: &str,
    timeout: Option<Duration>,
) -> Result<(TlsStream<S>, TlsInfo), Error> {
    let name = server_name(host)?;
    let connect = TlsConnector::from(config).connect(name, inner);
    let result = match timeout {
        Some(t) => tokio::time::timeout(t, connect)
            .await
            .map_err(|_| Error::TimedOut(Phase::Handshake))?,
        None => connect.await,
    };
    let stream = result.map_err(handshake_error)?;
    let info = TlsInfo::of(stream.get_ref().1);
    Ok((stream, info))
}

/// tokio-rustls reports rustls errors (a certificate that does not verify,
/// a handshake failure) as `InvalidData` I/O errors holding them.
fn handshake_error(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::InvalidData {
        return Error::Tls(match e.into_inner() {
            Some(inner) => inner.to_string(),
            None => "invalid data in the handshake".to_owned(),
        });
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return Error::Tls("the server closed the connection during the handshake".into());
    }
    if is_peer_gone(&e) {
        return Error::closed_while_sending();
    }
    Error::from(e)
}
