//! dugong-tokio against real-world peers: nginx (static files up to
//! 64 MiB, HEAD, keep-alive pipelining, 100-continue uploads) and
//! tinyproxy (absolute-form forwarding, `CONNECT` tunnels to TLS).
//! Skipped when the programs are missing, unless `DUGONG_REQUIRE_PEERS`.

use std::future::Future;
use std::time::Duration;

use dugong_tests::{expected_body, peer_or_skip, HyperServer, Nginx, Proxy, TlsServer};
use dugong_tokio::dugong_net::tls::config_with_roots_pem;
use dugong_tokio::{Body, Builder, Bytes, Connection, Error, ErrorKind, Request};

const LIMIT: Duration = Duration::from_secs(120);
const BIG: usize = 64 * 1024 * 1024;

async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("the test did not finish in time")
}

/// The byte at offset `i` of the big file: not periodic in any small
/// power of two, so a misplaced block shows.
fn big_byte(i: usize) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ (i % 251) as u8
}

async fn connect(nginx: &Nginx) -> Connection {
    Builder::new("127.0.0.1", nginx.addr().port())
        .timeout(Duration::from_secs(30))
        .no_trace()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn nginx_static_files_small_and_64_mib() {
    let big: Vec<u8> = (0..BIG).map(big_byte).collect();
    let nginx = peer_or_skip!(
        Nginx::start(&[("small.txt", b"hello nginx\n"), ("big.bin", &big)]),
        "nginx"
    );
    drop(big);
    bounded(async {
        let mut conn = connect(&nginx).await;
        conn.send_request("GET", "/small.txt", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(conn.read_all().await.unwrap(), b"hello nginx\n");

        // 64 MiB through read_body (large reads go straight into the
        // caller's buffer), checked as it arrives.
        conn.send_request("GET", "/big.bin", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(
            head.headers().get("content-length"),
            Some(BIG.to_string().as_bytes())
        );
        let mut buf = vec![0u8; 1024 * 1024];
        let mut offset = 0usize;
        loop {
            let n = conn.read_body(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            for (k, &b) in buf[..n].iter().enumerate() {
                assert_eq!(b, big_byte(offset + k), "byte {}", offset + k);
            }
            offset += n;
        }
        assert_eq!(offset, BIG);

        // And again as zero-copy pieces.
        conn.send_request("GET", "/big.bin", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.read_response().await.unwrap();
        let mut offset = 0usize;
        while let Some(piece) = conn.read_chunk().await.unwrap() {
            assert!(
                piece
                    .iter()
                    .enumerate()
                    .all(|(k, &b)| b == big_byte(offset + k)),
                "piece at {offset}"
            );
            offset += piece.len();
        }
        assert_eq!(offset, BIG);
        assert!(conn.is_usable());
    })
    .await;
}

#[tokio::test]
async fn nginx_head_and_missing_files() {
    let nginx = peer_or_skip!(Nginx::start(&[("a.json", b"{\"a\": 1}")]), "nginx");
    bounded(async {
        let mut conn = connect(&nginx).await;
        conn.send_request("HEAD", "/a.json", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.send_request("GET", "/missing", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.send_request("GET", "/a.json", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers().get("content-length"), Some(&b"8"[..]));
        assert_eq!(
            head.headers().get("content-type"),
            Some(&b"application/json"[..])
        );
        assert!(conn.read_all().await.unwrap().is_empty());
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 404);
        conn.discard().await.unwrap();
        conn.read_response().await.unwrap();
        assert_eq!(conn.read_all().await.unwrap(), b"{\"a\": 1}");
    })
    .await;
}

#[tokio::test]
async fn nginx_keep_alive_pipelining() {
    let files: Vec<(String, Vec<u8>)> = (0..50)
        .map(|i| (format!("f{i}.txt"), expected_body(i * 37)))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    let nginx = peer_or_skip!(Nginx::start(&refs), "nginx");
    bounded(async {
        // Two tasks, 5,000 requests.
        let (mut send, mut recv) = connect(&nginx).await.split();
        let sender = tokio::spawn(async move {
            for i in 0..5000 {
                let target = format!("/f{}.txt", i % 50);
                send.send_request("GET", &target, [("A", "b")], Body::Empty)
                    .await?;
            }
            Ok::<_, Error>(())
        });
        let mut i = 0;
        while let Some(head) = recv.next_response().await.unwrap() {
            assert_eq!(head.status(), 200);
            assert_eq!(recv.read_all().await.unwrap(), files[i % 50].1, "#{i}");
            i += 1;
        }
        sender.await.unwrap().unwrap();
        assert_eq!(i, 5000);

        // The pipeline stream, 64 in flight.
        let mut conn = connect(&nginx).await;
        let requests = (0..1000).map(|i| Request::get(format!("/f{}.txt", i % 50)));
        let mut responses = conn.pipeline(requests, 64);
        let mut i = 0;
        while let Some(response) = responses.next().await {
            assert_eq!(response.unwrap().body().as_ref(), files[i % 50].1);
            i += 1;
        }
        assert_eq!(i, 1000);
    })
    .await;
}

#[tokio::test]
async fn nginx_upload_with_100_continue() {
    let nginx = peer_or_skip!(Nginx::start(&[]), "nginx");
    bounded(async {
        let mut conn = connect(&nginx).await;
        let data = expected_body(300_000);
        conn.send_request(
            "PUT",
            "/upload/a.txt",
            [("Expect", "100-continue")],
            Body::Sized(data.len() as u64),
        )
        .await
        .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 100);
        for piece in data.chunks(100_000) {
            conn.send_body(Bytes::copy_from_slice(piece)).await.unwrap();
        }
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 201);
        conn.discard().await.unwrap();
        assert_eq!(
            std::fs::read(nginx.root().join("upload/a.txt")).unwrap(),
            data
        );

        // A chunked upload with 100-continue, then an over-long upload
        // refused before the body (no 100).
        conn.send_request(
            "PUT",
            "/upload/b.txt",
            [("Expect", "100-continue")],
            Body::Chunked,
        )
        .await
        .unwrap();
        assert_eq!(conn.read_response().await.unwrap().status(), 100);
        conn.write_body(b"chunked ").await.unwrap();
        conn.write_body(b"upload").await.unwrap();
        conn.finish().await.unwrap();
        assert_eq!(conn.read_response().await.unwrap().status(), 201);
        conn.discard().await.unwrap();
        assert_eq!(
            std::fs::read(nginx.root().join("upload/b.txt")).unwrap(),
            b"chunked upload"
        );
        conn.send_request(
            "PUT",
            "/small/c.txt",
            [("Expect", "100-continue")],
            Body::Sized(1000),
        )
        .await
        .unwrap();
        assert_eq!(conn.read_response().await.unwrap().status(), 413);
        conn.discard().await.unwrap();
        assert_eq!(
            conn.write_body(&[0; 1000]).await.unwrap_err().kind(),
            ErrorKind::Usage
        );
        assert!(!conn.is_usable());
        assert!(!nginx.root().join("small/c.txt").exists());
    })
    .await;
}

#[tokio::test]
async fn plain_http_through_tinyproxy() {
    let proxy = peer_or_skip!(Proxy::start(), "tinyproxy");
    let server = HyperServer::start();
    bounded(async {
        let mut conn = Builder::new("127.0.0.1", server.addr().port())
            .proxy(dugong_tokio::Proxy::parse(&proxy.url()).unwrap())
            .timeout(Duration::from_secs(20))
            .no_trace()
            .connect()
            .await
            .unwrap();
        conn.send_request("GET", "/headers", [("X-Test", "yes")], Body::Empty)
            .await
            .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 200, "{}", proxy.log());
        assert!(head.headers().contains("via"));
        let seen = String::from_utf8(conn.read_all().await.unwrap()).unwrap();
        assert!(seen.contains("x-test: yes"), "{seen}");
        assert!(seen.contains(&format!("host: 127.0.0.1:{}", server.addr().port())));
        assert!(seen.to_lowercase().contains("via: "), "{seen}");
    })
    .await;
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn https_through_a_tinyproxy_tunnel() {
    let proxy = peer_or_skip!(Proxy::start(), "tinyproxy");
    let server = TlsServer::start();
    bounded(async {
        let mut conn = Builder::new("127.0.0.1", server.port())
            .tls_config(config_with_roots_pem(server.ca_pem().as_bytes()).unwrap())
            .proxy(dugong_tokio::Proxy::parse(&proxy.url()).unwrap())
            .timeout(Duration::from_secs(20))
            .no_trace()
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", proxy.log()));
        assert!(conn.tls_info().is_some());
        // Pipelined through the tunnel (tinyproxy only relays bytes).
        for i in 0..20 {
            conn.send_request("GET", &format!("/size/{i}"), [("A", "b")], Body::Empty)
                .await
                .unwrap();
        }
        for i in 0..20 {
            conn.read_response().await.unwrap();
            assert_eq!(conn.read_all().await.unwrap(), expected_body(i));
        }
    })
    .await;
    assert_eq!(server.requests(), 20);
}

#[tokio::test]
async fn tinyproxy_refusing_a_tunnel_is_a_proxy_error() {
    let proxy = peer_or_skip!(Proxy::start(), "tinyproxy");
    let nowhere = dugong_tests::refused_addr();
    bounded(async {
        let error = Builder::new("127.0.0.1", nowhere.port())
            .https()
            .proxy(dugong_tokio::Proxy::parse(&proxy.url()).unwrap())
            .timeout(Duration::from_secs(20))
            .no_trace()
            .connect()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Proxy, "{error}");
        assert!(matches!(error, Error::ProxyRefused { .. }));
    })
    .await;
}
