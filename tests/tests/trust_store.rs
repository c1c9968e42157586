//! The system's trust store as `SSL_CERT_FILE` and `SSL_CERT_DIR` make it:
//! real TLS handshakes (dugong-blocking against the rustls test server)
//! with configurations from `tls::system_config`, `tls::system_roots` and
//! the cached `tls::default_config`.
//!
//! Environment variables belong to the whole process, so this file is a
//! test binary of its own with one `#[test]` that runs every case in turn
//! (and no other test in this process reads them meanwhile).

use std::env;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dugong_blocking::dugong_net::tls::rustls::ClientConfig;
use dugong_blocking::dugong_net::tls::{default_config, system_config, system_roots};
use dugong_blocking::{Body, Builder, Error, ErrorKind};
use dugong_tests::{expected_body, unrelated_ca_pem, TlsServer};

const FILE: &str = "SSL_CERT_FILE";
const DIR: &str = "SSL_CERT_DIR";
const NO_FIELDS: [(&str, &str); 0] = [];

/// Sets (or, for `None`, removes) both variables.
fn set_env(file: Option<&Path>, dir: Option<&str>) {
    match file {
        Some(path) => env::set_var(FILE, path),
        None => env::remove_var(FILE),
    }
    match dir {
        Some(dirs) => env::set_var(DIR, dirs),
        None => env::remove_var(DIR),
    }
}

/// Connects to `server` as `localhost` with `config` (the caller's, or the
/// default one for `None`) and fetches a small body.
fn fetch(server: &TlsServer, config: Option<Arc<ClientConfig>>) -> Result<(), Error> {
    let builder = Builder::new("localhost", server.port())
        .timeout(Duration::from_secs(10))
        .no_trace();
    let builder = match config {
        Some(config) => builder.tls_config(config),
        None => builder.https(),
    };
    let mut conn = builder.connect()?;
    conn.send_request("GET", "/size/1000", NO_FIELDS, Body::Empty)?;
    assert_eq!(conn.read_response()?.status(), 200);
    assert_eq!(conn.read_all()?, expected_body(1000));
    Ok(())
}

/// The handshake was refused because the certificate is not trusted.
fn assert_untrusted(result: Result<(), Error>, case: &str) {
    let error = result.expect_err(case);
    assert_eq!(error.kind(), ErrorKind::Tls, "{case}: {error}");
    assert!(
        error.to_string().contains("UnknownIssuer"),
        "{case}: {error}"
    );
}

#[test]
fn ssl_cert_file_and_dir_decide_the_system_roots() {
    let server = TlsServer::start();
    let temp = tempfile::tempdir().unwrap();
    let write = |name: &str, contents: &str| {
        let path = temp.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        path
    };
    let ca = write("ca.pem", &server.ca_pem());
    let unrelated = write("unrelated.pem", &unrelated_ca_pem());
    let empty = write("empty.pem", "");
    let both = write(
        "both.pem",
        &format!("{}{}", unrelated_ca_pem(), server.ca_pem()),
    );
    let missing = temp.path().join("no-such-file.pem");

    // The default configuration reads the store on first use: here, the
    // test CA alone.
    set_env(Some(&ca), None);
    fetch(&server, None).expect("default config with SSL_CERT_FILE = the CA");

    // SSL_CERT_FILE: the right CA, an unrelated one, both, none.
    fetch(&server, Some(system_config())).expect("SSL_CERT_FILE = the CA");
    assert_eq!(system_roots().len(), 1);
    set_env(Some(&both), None);
    fetch(&server, Some(system_config())).expect("SSL_CERT_FILE = unrelated + the CA");
    assert_eq!(system_roots().len(), 2);
    set_env(Some(&unrelated), None);
    assert_untrusted(
        fetch(&server, Some(system_config())),
        "SSL_CERT_FILE = an unrelated CA",
    );
    // The default configuration was read once and keeps the test CA.
    fetch(&server, None).expect("the default config is cached");
    assert!(Arc::ptr_eq(&default_config(), &default_config()));

    // No root at all: the configuration still builds, and the handshake
    // fails (with the `webpki-roots` feature, Mozilla's roots stand in,
    // and they do not know the test CA either).
    set_env(Some(&empty), None);
    assert_untrusted(
        fetch(&server, Some(system_config())),
        "SSL_CERT_FILE = an empty file",
    );
    set_env(Some(&missing), None);
    assert_untrusted(
        fetch(&server, Some(system_config())),
        "SSL_CERT_FILE = a missing file",
    );

    // SSL_CERT_DIR: every file in the directory is read, whatever its name:
    // an `openssl rehash` name (`<subject hash>.0`) or a plain `.pem`.
    let hashed = write("hashed/5ed36f99.0", &server.ca_pem());
    let hashed = hashed.parent().unwrap().to_str().unwrap().to_owned();
    let plain = write("plain/test-ca.pem", &server.ca_pem());
    let plain = plain.parent().unwrap().to_str().unwrap().to_owned();
    let wrong = write("wrong/ca.pem", &unrelated_ca_pem());
    let wrong = wrong.parent().unwrap().to_str().unwrap().to_owned();
    let vacant = temp.path().join("vacant");
    fs::create_dir(&vacant).unwrap();
    let vacant = vacant.to_str().unwrap().to_owned();
    for dirs in [
        hashed.clone(),
        plain.clone(),
        // A list of directories, as OpenSSL takes it.
        format!("{vacant}:{hashed}"),
        format!("{wrong}:{plain}"),
    ] {
        set_env(None, Some(&dirs));
        fetch(&server, Some(system_config()))
            .unwrap_or_else(|e| panic!("SSL_CERT_DIR = {dirs}: {e}"));
    }
    for dirs in [wrong.clone(), vacant.clone()] {
        set_env(None, Some(&dirs));
        assert_untrusted(
            fetch(&server, Some(system_config())),
            &format!("SSL_CERT_DIR = {dirs}"),
        );
    }

    // Both set: the certificates of both are trusted.
    set_env(Some(&unrelated), Some(&plain));
    fetch(&server, Some(system_config())).expect("an unrelated file, the CA in a directory");
    set_env(Some(&ca), Some(&wrong));
    fetch(&server, Some(system_config())).expect("the CA in the file, an unrelated directory");
    set_env(None, None);
}
