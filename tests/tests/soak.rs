//! Soak: 1,000,000 pipelined requests over one connection to an in-process
//! server, with the resident set size reported at 10 % and 100 % of the
//! way; it must stay flat. Ignored by default (it is long in a debug
//! build); run it with
//!
//! ```text
//! cargo test --release -p dugong-tests --test soak -- --ignored --nocapture
//! ```

use std::time::{Duration, Instant};

use dugong_blocking::{Body, Builder};
use dugong_tests::{rss_kib, CannedServer};

const REQUESTS: u64 = 1_000_000;
/// RSS may grow this much between 10 % and 100 % (allocator noise), no
/// more: anything proportional to the request count would be far larger.
const ALLOWED_GROWTH_KIB: u64 = 8 * 1024;

#[test]
#[ignore = "long: run with --ignored (see the file's doc)"]
fn blocking_one_million_pipelined_requests_keep_memory_flat() {
    let server = CannedServer::start(100);
    let conn = Builder::new("127.0.0.1", server.addr().port())
        .timeout(Duration::from_secs(30))
        .no_trace()
        .connect()
        .unwrap();
    let (mut send, mut recv) = conn.split().unwrap();
    let started = Instant::now();
    let sender = std::thread::spawn(move || {
        for _ in 0..REQUESTS {
            send.send_request("GET", "/", [("Accept", "*/*")], Body::Empty)
                .unwrap();
        }
        send
    });
    let mut at_10 = None;
    let mut buf = [0; 256];
    for i in 0..REQUESTS {
        assert_eq!(recv.read_response().unwrap().status(), 200);
        let mut body = 0;
        loop {
            let n = recv.read_body(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            body += n;
        }
        assert_eq!(body, 100);
        if i + 1 == REQUESTS / 10 {
            at_10 = rss_kib();
        }
    }
    sender.join().unwrap();
    let at_100 = rss_kib();
    let elapsed = started.elapsed();
    println!(
        "blocking soak: {REQUESTS} requests in {:.1} s ({:.0}/s); RSS at 10 %: {:?} KiB, at 100 %: {:?} KiB (now, peak)",
        elapsed.as_secs_f64(),
        REQUESTS as f64 / elapsed.as_secs_f64(),
        at_10,
        at_100,
    );
    if let (Some((rss_10, _)), Some((rss_100, _))) = (at_10, at_100) {
        assert!(
            rss_100 <= rss_10 + ALLOWED_GROWTH_KIB,
            "RSS grew from {rss_10} KiB to {rss_100} KiB"
        );
    }
}

#[test]
#[ignore = "long: run with --ignored (see the file's doc)"]
fn tokio_one_million_pipelined_requests_keep_memory_flat() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = CannedServer::start(100);
        let conn = dugong_tokio::Builder::new("127.0.0.1", server.addr().port())
            .timeout(Duration::from_secs(30))
            .no_trace()
            .connect()
            .await
            .unwrap();
        let (mut send, mut recv) = conn.split();
        let started = Instant::now();
        let sender = async move {
            for _ in 0..REQUESTS {
                send.send_request("GET", "/", [("Accept", "*/*")], dugong_tokio::Body::Empty)
                    .await
                    .unwrap();
            }
            send
        };
        let receiver = async {
            let mut at_10 = None;
            let mut buf = [0; 256];
            for i in 0..REQUESTS {
                assert_eq!(recv.read_response().await.unwrap().status(), 200);
                let mut body = 0;
                loop {
                    let n = recv.read_body(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    body += n;
                }
                assert_eq!(body, 100);
                if i + 1 == REQUESTS / 10 {
                    at_10 = rss_kib();
                }
            }
            at_10
        };
        let (_send, at_10) = tokio::join!(sender, receiver);
        let at_100 = rss_kib();
        let elapsed = started.elapsed();
        println!(
            "tokio soak: {REQUESTS} requests in {:.1} s ({:.0}/s); RSS at 10 %: {:?} KiB, at 100 %: {:?} KiB (now, peak)",
            elapsed.as_secs_f64(),
            REQUESTS as f64 / elapsed.as_secs_f64(),
            at_10,
            at_100,
        );
        if let (Some((rss_10, _)), Some((rss_100, _))) = (at_10, at_100) {
            assert!(
                rss_100 <= rss_10 + ALLOWED_GROWTH_KIB,
                "RSS grew from {rss_10} KiB to {rss_100} KiB"
            );
        }
    });
}
