//! dugong-tokio over TLS (tokio-rustls) against the rustls test server:
//! verification with the right root, an unrelated root, the default roots
//! and a wrong name; what `tls_info` reports; pipelining with split halves
//! over TLS.

use std::future::Future;
use std::time::Duration;

use dugong_tests::{expected_body, unrelated_ca_pem, TlsServer};
use dugong_tokio::dugong_net::tls::config_with_roots_pem;
use dugong_tokio::{Body, Builder, Error, ErrorKind};

const LIMIT: Duration = Duration::from_secs(60);

async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("the test did not finish in time")
}

fn trusting(server: &TlsServer, host: &str) -> Builder {
    Builder::new(host, server.port())
        .tls_config(config_with_roots_pem(server.ca_pem().as_bytes()).unwrap())
        .timeout(Duration::from_secs(20))
        .no_trace()
}

#[tokio::test]
async fn right_root_verifies_and_reports_the_session() {
    let server = TlsServer::start();
    bounded(async {
        for host in ["localhost", "127.0.0.1"] {
            let mut conn = trusting(&server, host).connect().await.unwrap();
            let info = conn.tls_info().expect("a TLS connection has TLS info");
            assert!(!info.peer_certificates().is_empty());
            assert!(info.cipher_suite().is_some());
            assert!(info.protocol_version().is_some());
            assert_eq!(info.alpn_protocol(), Some(&b"http/1.1"[..]));
            conn.send_request("GET", "/size/70000", [("A", "b")], Body::Empty)
                .await
                .unwrap();
            let head = conn.read_response().await.unwrap();
            assert_eq!(head.status(), 200);
            assert_eq!(conn.read_all().await.unwrap(), expected_body(70_000));
            conn.disconnect().await;
        }
        // From a URL, as the examples do.
        let mut conn = Builder::from_url(&server.url("/"))
            .unwrap()
            .tls_config(config_with_roots_pem(server.ca_pem().as_bytes()).unwrap())
            .no_trace()
            .connect()
            .await
            .unwrap();
        conn.send_request("GET", "/trailers", [("TE", "trailers")], Body::Empty)
            .await
            .unwrap();
        conn.read_response().await.unwrap();
        assert_eq!(conn.read_all().await.unwrap(), b"hello");
        assert_eq!(
            conn.trailers().unwrap().get("x-checksum"),
            Some(&b"1234"[..])
        );
    })
    .await;
}

#[tokio::test]
async fn unrelated_and_default_roots_fail_with_tls() {
    let server = TlsServer::start();
    bounded(async {
        let wrong = config_with_roots_pem(unrelated_ca_pem().as_bytes()).unwrap();
        let error = Builder::new("localhost", server.port())
            .tls_config(wrong)
            .no_trace()
            .connect()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
        assert!(matches!(error, Error::Tls(_)));
        assert!(!error.is_temporary());
        // The default roots (the system's trust store) do not know the test CA
        // either.
        let error = Builder::new("localhost", server.port())
            .https()
            .no_trace()
            .connect()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
    })
    .await;
}

#[tokio::test]
async fn wrong_name_fails() {
    let server = TlsServer::start();
    bounded(async {
        let error = trusting(&server, "127.0.0.1")
            .server_name("example.com")
            .connect()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
        // The right name given explicitly works while connecting to the IP.
        let conn = trusting(&server, "127.0.0.1")
            .server_name("localhost")
            .connect()
            .await;
        assert!(conn.is_ok());
    })
    .await;
}

/// Split halves over TLS: 2,000 pipelined requests.
#[tokio::test]
async fn pipelining_over_tls_with_split_halves() {
    const COUNT: u64 = 2000;
    let server = TlsServer::start();
    bounded(async {
        let conn = trusting(&server, "localhost").connect().await.unwrap();
        let (mut send, mut recv) = conn.split();
        let sender = tokio::spawn(async move {
            for i in 0..COUNT {
                let target = format!("/chunked/{}", i % 2500);
                send.send_request("GET", &target, [("A", "b")], Body::Empty)
                    .await?;
            }
            Ok::<_, Error>(())
        });
        let mut count = 0;
        while let Some(head) = recv.next_response().await.unwrap() {
            assert_eq!(head.id().as_u64(), count);
            assert_eq!(recv.read_all().await.unwrap(), expected_body(count % 2500));
            count += 1;
        }
        sender.await.unwrap().unwrap();
        assert_eq!(count, COUNT);
    })
    .await;
}
