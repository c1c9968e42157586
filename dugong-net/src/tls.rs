//! TLS settings with rustls: verification on by default against the
//! system's trust store, or the caller's own `ClientConfig`.
//!
//! The system's trust store is read with rustls-native-certs: the
//! platform's roots (the CA bundle and directory OpenSSL would use on
//! Linux and other Unix systems, the keychains on macOS, the certificate
//! store on Windows), or, when `SSL_CERT_FILE` or `SSL_CERT_DIR` is set,
//! only the certificates there, as OpenSSL-based tools do. `SSL_CERT_FILE`
//! names a PEM file of any number of certificates; `SSL_CERT_DIR` names
//! directories (separated by `:`, or `;` on Windows) whose files are all
//! read as PEM, whatever their names (so both `openssl rehash` directories
//! and plain `*.pem` files work).
//!
//! [`default_config`] reads the store once per process (a CA bundle is a
//! few hundred kilobytes to parse); [`system_config`] and [`system_roots`]
//! read it afresh each time, so changes to the environment take effect.
//!
//! With the `webpki-roots` cargo feature, Mozilla's roots (compiled in) are
//! used when the system's trust store yields no certificate at all, for
//! hosts without one. They are a fallback, not an addition: a trust store
//! that is there, or a bundle named by `SSL_CERT_FILE`, is trusted as it
//! is, so narrowing the roots on purpose keeps working.
//!
//! Without any root, a configuration still builds, and every handshake then
//! fails with a certificate error from rustls (`UnknownIssuer`); the reason
//! is logged with `tracing` when the store is read.

// Why rustls-native-certs and not rustls-platform-verifier: the platform
// verifier hands verification to the OS on macOS and Windows, which ignore
// `SSL_CERT_FILE` and `SSL_CERT_DIR` there, and it builds a verifier rather
// than a root store, so it cannot count what it trusts or fall back to
// webpki-roots. rustls-native-certs (0.8) reads the variables itself on
// every platform and the OS stores otherwise, and the roots it returns are
// verified by rustls's own webpki verifier, the same on all three systems.
// The price: OS-specific trust settings (distrust, name constraints added
// by the OS, revocation) are not applied.

use std::sync::{Arc, OnceLock};

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

/// A configuration with `roots` that cannot fail to build.
fn infallible_config(roots: RootCertStore) -> Arc<ClientConfig> {
    // Invariant: ring supports both default TLS versions, so building with
    // the safe defaults cannot fail.
    config_with(roots).expect("the ring provider supports the default TLS versions")
}

/// The default client configuration: certificates and host names verified
/// against the system's trust store (see the [module docs](self)), ALPN
/// `http/1.1`. This is what a connection uses unless the caller gives its
/// own configuration.
///
/// The store is read on the first call and the configuration kept for the
/// life of the process: later changes to the store or to `SSL_CERT_FILE`
/// and `SSL_CERT_DIR` are not seen. Use [`system_config`] for a
/// configuration read afresh.
pub fn default_config() -> Arc<ClientConfig> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    Arc::clone(DEFAULT.get_or_init(system_config))
}

/// A client configuration like [`default_config`]'s, but with the system's
/// trust store read now (as [`system_roots`] does), not cached: changes to
/// `SSL_CERT_FILE`, `SSL_CERT_DIR` or the store itself since the last call
/// take effect. Reading the store can take milliseconds; keep the result
/// rather than calling this per connection.
pub fn system_config() -> Arc<ClientConfig> {
    infallible_config(system_roots())
}

/// The roots of the system's trust store, read now (see the
/// [module docs](self)), for callers that build their own `ClientConfig`
/// (with a client certificate, say) on the system's roots.
///
/// A certificate that cannot be read or parsed is skipped and logged (with
/// `tracing`); the others are still used. Without the `webpki-roots`
/// feature the store can be empty; with it, Mozilla's roots are returned
/// when the system yields none.
pub fn system_roots() -> RootCertStore {
    roots_from(rustls_native_certs::load_native_certs())
}

/// The root store made of what rustls-native-certs loaded, logging what it
/// was, and falling back to webpki-roots (with that feature) if empty.
fn roots_from(loaded: rustls_native_certs::CertificateResult) -> RootCertStore {
    for error in &loaded.errors {
        tracing::warn!("system trust store: {error}");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    if ignored > 0 {
        tracing::warn!("system trust store: {ignored} certificates ignored (not usable as roots)");
    }
    if added > 0 {
        tracing::debug!(
            "system trust store: {added} root certificates loaded ({} errors)",
            loaded.errors.len()
        );
        return roots;
    }
    #[cfg(feature = "webpki-roots")]
    {
        tracing::debug!(
            "system trust store: no root certificate; using the {} webpki-roots (Mozilla) roots",
            webpki_roots::TLS_SERVER_ROOTS.len()
        );
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    #[cfg(not(feature = "webpki-roots"))]
    tracing::warn!(
        "system trust store: no root certificate found; every TLS handshake with the default \
         configuration will fail certificate verification (set SSL_CERT_FILE or SSL_CERT_DIR, \
         give a configuration of your own, or enable dugong's `webpki-roots` feature)"
    );
    roots
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
        // Read once: the same configuration every time.
        assert!(Arc::ptr_eq(&config, &default_config()));
    }

    #[test]
    fn an_empty_system_store_still_makes_a_config() {
        let roots = roots_from(rustls_native_certs::CertificateResult::default());
        #[cfg(not(feature = "webpki-roots"))]
        assert!(roots.is_empty());
        #[cfg(feature = "webpki-roots")]
        assert_eq!(roots.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        let config = infallible_config(roots);
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn unparsable_system_certificates_are_skipped() {
        let mut loaded = rustls_native_certs::CertificateResult::default();
        loaded.certs.push(CertificateDer::from(vec![0x30, 0x00]));
        let roots = roots_from(loaded);
        #[cfg(not(feature = "webpki-roots"))]
        assert!(roots.is_empty());
        #[cfg(feature = "webpki-roots")]
        assert!(!roots.is_empty());
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
