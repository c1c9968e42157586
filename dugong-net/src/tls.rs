//! TLS settings with rustls: verification on by default against the
//! webpki-roots (Mozilla) root store, or the caller's own `ClientConfig`.

use std::sync::Arc;

use rustls::client::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::RootCertStore;

use crate::error::Error;

pub use rustls;

/// The rustls crypto provider dugong uses (ring).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_with(roots: RootCertStore) -> Result<Arc<ClientConfig>, Error> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The default client configuration: certificates and host names verified
/// against the webpki-roots root store (Mozilla's), ALPN `http/1.1`.
pub fn default_config() -> Arc<ClientConfig> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // Invariant: ring supports both default TLS versions, so building with
    // the safe defaults cannot fail.
    config_with(roots).expect("the ring provider supports the default TLS versions")
}

/// A client configuration that trusts only the certificates in `pem` (one
/// or more `CERTIFICATE` blocks), as `--cacert` does.
///
/// # Errors
///
/// [`Error::Tls`] if the PEM holds no usable certificate.
pub fn config_with_roots_pem(pem: &[u8]) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = RootCertStore::empty();
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| Error::Tls(format!("bad certificate file: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| Error::Tls(format!("bad root certificate: {e}")))?;
        count += 1;
    }
    if count == 0 {
        return Err(Error::Tls("no certificate in the PEM data".into()));
    }
    config_with(roots)
}

/// The name to verify the server's certificate against: a DNS name or an IP
/// address (without brackets).
///
/// # Errors
///
/// [`Error::Tls`] if `host` is neither.
pub fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned())
        .map_err(|_| Error::Tls(format!("{host:?} is not a valid server name")))
}

/// What was negotiated with the server.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    peer_certificates: Vec<CertificateDer<'static>>,
    cipher_suite: Option<rustls::CipherSuite>,
    protocol_version: Option<rustls::ProtocolVersion>,
    alpn: Option<Vec<u8>>,
}

impl TlsInfo {
    /// Reads the negotiated parameters off a connection whose handshake is
    /// complete.
    pub fn of(conn: &rustls::ClientConnection) -> TlsInfo {
        TlsInfo {
            peer_certificates: conn
                .peer_certificates()
                .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
            cipher_suite: conn.negotiated_cipher_suite().map(|s| s.suite()),
            protocol_version: conn.protocol_version(),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
        }
    }

    /// The server's certificate chain, leaf first (DER).
    pub fn peer_certificates(&self) -> &[CertificateDer<'static>] {
        &self.peer_certificates
    }

    /// The negotiated cipher suite.
    pub fn cipher_suite(&self) -> Option<rustls::CipherSuite> {
        self.cipher_suite
    }

    /// The negotiated protocol version (TLS 1.2 or 1.3).
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.protocol_version
    }

    /// The negotiated ALPN protocol, if the server chose one.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.alpn.as_deref()
    }
}

/// A rustls error as a dugong error.
pub fn tls_error(e: rustls::Error) -> Error {
    Error::Tls(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_has_roots_and_alpn() {
        let config = default_config();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn bad_pem_is_a_tls_error() {
        assert!(matches!(
            config_with_roots_pem(b"nothing here"),
            Err(Error::Tls(_))
        ));
        let broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(config_with_roots_pem(broken), Err(Error::Tls(_))));
    }

    #[test]
    fn server_names() {
        assert!(server_name("example.com").is_ok());
        assert!(server_name("[::1]").is_ok());
        assert!(server_name("127.0.0.1").is_ok());
        assert!(server_name("bad name").is_err());
    }
}
