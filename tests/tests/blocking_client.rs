//! dugong-blocking's pooled `Client`: many threads against hyper, and the
//! resend rules against a server that fails connections on a plan and
//! counts what it received.

use std::time::Duration;

use dugong_blocking::dugong_net::resend::Verdict;
use dugong_blocking::{Body, Builder, Client, Error, ErrorKind, PoolConfig};
use dugong_tests::{
    answer_body, assert_counts, expected_body, fault_matrix, refused_addr, Fault, FaultServer, Got,
    HyperServer, Nginx,
};

const TIMEOUT: Duration = Duration::from_secs(10);

fn client(config: PoolConfig) -> Client {
    Client::with_settings(&Builder::new("localhost", 80).timeout(TIMEOUT), config)
}

fn config(max_per_origin: usize, depth: usize) -> PoolConfig {
    let mut config = PoolConfig::default();
    config.max_per_origin = max_per_origin;
    config.depth = depth;
    config
}

#[test]
fn many_threads_share_a_pool_against_hyper() {
    let server = HyperServer::start();
    let client = client(PoolConfig::default());
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (client, server) = (client.clone(), &server);
            s.spawn(move || {
                for i in 0..40u64 {
                    let n = (t * 997 + i * 131) % 5000;
                    let mut response = client
                        .get(&server.url(&format!("/size/{n}")))
                        .expect("response");
                    assert_eq!(response.status(), 200);
                    assert_eq!(response.read_all().expect("body"), expected_body(n));
                }
            });
        }
    });
    assert!(
        client.connections() <= 4,
        "{} connections",
        client.connections()
    );
    assert_eq!(server.requests(), 320);
}

#[test]
fn one_thread_pipelines_up_to_the_depth() {
    let server = FaultServer::start(vec![], 1);
    let client = client(config(2, 4));
    let pending: Vec<_> = (0..12)
        .map(|i| {
            client
                .start(
                    "GET",
                    &server.url(&format!("/{i}")),
                    [("Accept", "*/*")],
                    Body::Empty,
                )
                .expect("sent")
        })
        .collect();
    // 12 requests, depth 4, at most 2 connections: 4 on each, then the
    // rest deeper (one thread cannot wait for room it must make itself).
    for (i, p) in pending.into_iter().enumerate() {
        let mut response = p.wait().expect("response");
        let body = response.read_all().expect("body");
        assert_eq!(body, answer_body("GET", &format!("/{i}")).as_bytes());
    }
    let connections: std::collections::BTreeSet<usize> =
        server.received().iter().map(|r| r.connection).collect();
    assert_eq!(connections.len(), 2);
}

/// Sends GET, POST, GET, POST, ... (`n` of them) pipelined on one
/// connection of a server whose first connection ends with `fault`, and
/// reads the answers in order.
fn run_matrix_case(fault: Fault, n: usize) -> (Vec<Got>, FaultServer) {
    let server = FaultServer::start(vec![fault], n);
    let client = client(config(1, 16));
    let method = |i: usize| if i.is_multiple_of(2) { "GET" } else { "POST" };
    let pending: Vec<_> = (0..n)
        .map(|i| {
            let body = if method(i) == "POST" {
                Body::from("data")
            } else {
                Body::Empty
            };
            client
                .start(
                    method(i),
                    &server.url(&format!("/{i}")),
                    [("Accept", "*/*")],
                    body,
                )
                .expect("sent")
        })
        .collect();
    let got = pending
        .into_iter()
        .enumerate()
        .map(|(i, p)| match p.wait() {
            Ok(mut response) => match response.read_all() {
                Ok(body) => {
                    assert_eq!(body, answer_body(method(i), &format!("/{i}")).as_bytes());
                    Got::Answer(response.resends())
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
                    Got::CutBody
                }
            },
            Err(Error::GaveUp(g)) => {
                let last = g.account.attempts().last().expect("a try");
                Got::GaveUp(last.verdict)
            }
            Err(e) => panic!("request {i}: {e}"),
        })
        .collect();
    (got, server)
}

#[test]
fn fault_matrix_resends_exactly_what_is_safe() {
    for (what, fault, expected) in fault_matrix() {
        let (got, server) = run_matrix_case(fault, expected.len());
        assert_eq!(got, expected, "{what}");
        // The server saw each request once, and again only when resent.
        assert_counts(what, &got, &server);
    }
}

#[test]
fn a_reset_never_duplicates_a_post_that_may_have_been_processed() {
    for _ in 0..3 {
        let (got, server) = run_matrix_case(Fault::Reset { answered: 2 }, 6);
        for (i, g) in got.iter().enumerate() {
            let times = server.count(&format!("/{i}"));
            match g {
                Got::Answer(resends) => assert_eq!(times, 1 + resends, "request {i}: {got:?}"),
                Got::CutBody | Got::GaveUp(_) => assert_eq!(times, 1, "request {i}: {got:?}"),
            }
            if i % 2 == 1 {
                assert!(
                    times <= 1 || matches!(g, Got::Answer(_)),
                    "POST {i} twice: {got:?}"
                );
            }
        }
    }
}

#[test]
fn an_idempotency_key_makes_a_post_resendable() {
    let server = FaultServer::start(
        vec![Fault::CloseAfter {
            answered: 0,
            announce: false,
        }],
        1,
    );
    let client = client(config(1, 16));
    let mut response = client
        .request(
            "POST",
            &server.url("/keyed"),
            [("Idempotency-Key", "8e0b")],
            Body::from("x"),
        )
        .expect("resent");
    assert_eq!(response.resends(), 1);
    assert_eq!(response.read_all().expect("body"), b"POST /keyed");
    assert_eq!(server.count("/keyed"), 2);
}

#[test]
fn connect_failures_are_retried_then_reported_with_every_try() {
    let client = client(PoolConfig::default());
    let error = client
        .get(&format!("http://{}/", refused_addr()))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Io);
    let Error::GaveUp(g) = &error else {
        panic!("{error}")
    };
    assert_eq!(g.account.attempts().len(), 3, "{error}");
    assert_eq!(g.account.resends(), 2);
    assert!(error.to_string().contains("3 tries"), "{error}");

    let error = client.get("http://no-such-host.invalid/").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::HostNotFound);
    let Error::GaveUp(g) = &error else {
        panic!("{error}")
    };
    assert_eq!(
        g.account.attempts().len(),
        1,
        "not temporary: not tried again"
    );
}

#[test]
fn idle_connections_are_closed_and_streamed_bodies_refused() {
    let server = FaultServer::start(vec![], 1);
    let mut config = PoolConfig::default();
    config.idle_timeout = Duration::from_millis(50);
    let client = client(config);
    client
        .get(&server.url("/a"))
        .expect("first")
        .read_all()
        .expect("body");
    std::thread::sleep(Duration::from_millis(120));
    client
        .get(&server.url("/b"))
        .expect("second")
        .read_all()
        .expect("body");
    let connections: Vec<usize> = server.received().iter().map(|r| r.connection).collect();
    assert_eq!(connections, [0, 1], "the idle connection was closed");
    assert_eq!(client.connections(), 1);

    let error = client
        .request(
            "PUT",
            &server.url("/s"),
            [("Accept", "*/*")],
            Body::Sized(3),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Usage);
}

#[test]
fn a_dropped_unread_response_lets_the_next_one_through() {
    let server = HyperServer::start();
    let client = client(config(1, 16));
    let first = client
        .start(
            "GET",
            &server.url("/size/100000"),
            [("Accept", "*/*")],
            Body::Empty,
        )
        .expect("sent");
    let second = client
        .start(
            "GET",
            &server.url("/size/10"),
            [("Accept", "*/*")],
            Body::Empty,
        )
        .expect("sent");
    drop(first.wait().expect("head"));
    let mut response = second.wait().expect("second");
    assert_eq!(response.read_all().expect("body"), expected_body(10));
}

#[test]
fn one_thread_may_hold_a_response_while_it_sends_again() {
    let server = HyperServer::start();
    let client = client(PoolConfig::default());
    let mut first = client.get(&server.url("/size/1000")).expect("first");
    // The first response's body is unread: the next request goes to an
    // idle or a new connection, not behind it.
    let mut second = client.get(&server.url("/size/10")).expect("second");
    assert_eq!(second.read_all().expect("second body"), expected_body(10));
    assert_eq!(first.read_all().expect("first body"), expected_body(1000));
    assert_ne!(first.connection(), second.connection());
}

#[test]
fn start_never_waits_for_room_it_must_make_itself() {
    let server = HyperServer::start();
    // A window of 2 requests on one connection, 8 started from one thread.
    let builder = Builder::new("localhost", 80)
        .timeout(TIMEOUT)
        .max_in_flight(2);
    let client = Client::with_settings(&builder, config(1, 16));
    let pending: Vec<_> = (0..8u64)
        .map(|i| {
            client
                .start(
                    "GET",
                    &server.url(&format!("/size/{i}")),
                    [("Accept", "*/*")],
                    Body::Empty,
                )
                .expect("queued")
        })
        .collect();
    for (i, p) in pending.into_iter().enumerate() {
        let mut response = p.wait().expect("response");
        assert_eq!(response.read_all().expect("body"), expected_body(i as u64));
    }
}

/// What became of one request of the restart run.
#[derive(Debug)]
enum Outcome {
    /// Answered as expected.
    Answered,
    /// Given up, with the last try's verdict.
    GaveUp(Verdict),
}

#[test]
fn nginx_restarted_under_the_pool_loses_nothing_and_duplicates_no_post() {
    const THREADS: usize = 4;
    const EACH: usize = 60;
    let file = expected_body(20_000);
    let mut nginx = dugong_tests::peer_or_skip!(Nginx::start(&[("f", &file)]), "nginx");
    let client = client(PoolConfig::default());
    let url = |t: usize, i: usize| nginx.url(&format!("/f?t={t}&i={i}"));
    let urls: Vec<Vec<String>> = (0..THREADS)
        .map(|t| (0..EACH).map(|i| url(t, i)).collect())
        .collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let outcomes = std::thread::scope(|s| {
        let workers: Vec<_> = urls
            .iter()
            .map(|urls| {
                let (client, file, done) = (&client, &file, &done);
                s.spawn(move || {
                    urls.iter()
                        .enumerate()
                        .map(|(i, url)| {
                            // Every fifth a POST: nginx answers 405, and
                            // logs it, for a static file.
                            let post = i % 5 == 4;
                            let method = if post { "POST" } else { "GET" };
                            let body = if post { Body::from("x") } else { Body::Empty };
                            let outcome =
                                match client.request(method, url, [("Accept", "*/*")], body) {
                                    Ok(mut response) => {
                                        let got = response.read_all();
                                        if post {
                                            assert_eq!(response.status(), 405, "{url}");
                                        } else {
                                            assert_eq!(response.status(), 200, "{url}");
                                            assert_eq!(&got.expect("a whole body"), file, "{url}");
                                        }
                                        Outcome::Answered
                                    }
                                    Err(Error::GaveUp(g)) => {
                                        // As an application would: wait a
                                        // little before the next request
                                        // (the server may be restarting).
                                        std::thread::sleep(Duration::from_millis(50));
                                        Outcome::GaveUp(
                                            g.account.attempts().last().expect("a try").verdict,
                                        )
                                    }
                                    Err(e) => panic!("{url}: {e}"),
                                };
                            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            (url.clone(), post, outcome)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // Restart nginx under the running threads, twice.
        for at in [THREADS * EACH / 3, 2 * THREADS * EACH / 3] {
            while done.load(std::sync::atomic::Ordering::SeqCst) < at {
                std::thread::sleep(Duration::from_millis(1));
            }
            nginx.restart();
        }
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect::<Vec<_>>()
    });
    // nginx logs a request once it answered it, unless it was killed in
    // between: a POST logged twice would have been processed twice.
    let logged = nginx.requests();
    let times = |target: &str| logged.iter().filter(|(_, t)| t == target).count();
    for (url, post, outcome) in &outcomes {
        let target = &url[url.find("/f?").expect("path")..];
        if *post {
            assert!(
                times(target) <= 1,
                "POST {url} processed {} times",
                times(target)
            );
        }
        // A POST given up may have been processed; it is never resent then.
        if let (true, Outcome::GaveUp(v)) = (post, outcome) {
            assert_ne!(*v, Verdict::Resend, "{url}");
        }
    }
    let answered = outcomes
        .iter()
        .filter(|(_, _, o)| matches!(o, Outcome::Answered))
        .count();
    let gave_up: Vec<_> = outcomes
        .iter()
        .filter_map(|(url, _, o)| match o {
            Outcome::GaveUp(v) => Some((url.as_str(), *v)),
            Outcome::Answered => None,
        })
        .collect();
    eprintln!(
        "{answered} of {} answered across two restarts; reported: {gave_up:?}",
        outcomes.len()
    );
    // Each restart cuts the requests in flight (a POST among them is
    // reported, not resent) and refuses connections for a moment (a
    // request may use up its resends then, and is reported).
    assert!(answered >= outcomes.len() * 3 / 4, "{answered} answered");
}

#[test]
fn a_close_before_the_requests_were_read_resends_gets_and_reports_posts() {
    let (got, server) = run_matrix_case(Fault::CloseUnread { answered: 2 }, 6);
    use Got::*;
    assert_eq!(
        got,
        [
            Answer(0),
            Answer(0),
            Answer(1),
            GaveUp(Verdict::MayHaveBeenProcessed),
            Answer(1),
            GaveUp(Verdict::MayHaveBeenProcessed),
        ]
    );
    // The server never read the POSTs: the client cannot know that (they
    // were written whole), so it reports them instead of risking a repeat.
    for (i, times) in [(2, 1), (3, 0), (4, 1), (5, 0)] {
        assert_eq!(server.count(&format!("/{i}")), times, "request {i}");
    }
}

#[test]
fn uploads_stream_a_body_sized_or_chunked() {
    let nginx = dugong_tests::peer_or_skip!(Nginx::start(&[("f", b"x")]), "nginx");
    let client = client(PoolConfig::default());
    let body = expected_body(300_000);
    for (name, length) in [("sized", Some(body.len() as u64)), ("chunked", None)] {
        let url = nginx.url(&format!("/upload/{name}"));
        let response = client
            .upload(
                "PUT",
                &url,
                [("Content-Type", "application/octet-stream")],
                length,
                &body[..],
            )
            .expect("uploaded");
        assert_eq!(response.status(), 201, "{name}");
        drop(response);
        let mut back = client.get(&url).expect("read back");
        assert_eq!(back.read_all().expect("body"), body, "{name}");
    }
}

/// A body source that fails after a few bytes.
struct Failing(usize);

impl std::io::Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::other("the source failed"));
        }
        let n = self.0.min(buf.len());
        buf[..n].fill(b'a');
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn a_failing_or_short_upload_is_reported_and_never_sent_again() {
    let server = FaultServer::start(vec![], 1);
    let client = client(config(1, 16));
    let error = client
        .upload(
            "PUT",
            &server.url("/failing"),
            [("Accept", "*/*")],
            Some(100),
            Failing(10),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Io, "{error}");
    let error = client
        .upload(
            "PUT",
            &server.url("/short"),
            [("Accept", "*/*")],
            Some(100),
            &b"0123456789"[..],
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Usage, "{error}");
    let error = client
        .upload(
            "PUT",
            &server.url("/long"),
            [("Accept", "*/*")],
            Some(5),
            &b"0123456789"[..],
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Usage, "{error}");
    // None reached the server whole, and none was tried again; the pool
    // goes on.
    let mut response = client.get(&server.url("/after")).expect("the pool goes on");
    assert_eq!(response.read_all().expect("body"), b"GET /after");
    let targets: Vec<String> = server.received().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, ["/after"]);
}

#[test]
fn the_client_and_its_responses_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Client>();
    send::<dugong_blocking::ClientResponse>();
    send::<dugong_blocking::Pending>();
}

/// A body source that gives `pieces` pieces of 1 KiB, pausing before each.
struct Slow(usize);

impl std::io::Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(10));
        self.0 -= 1;
        let n = buf.len().min(1024);
        buf[..n].fill(b'u');
        Ok(n)
    }
}

#[test]
fn a_request_sent_during_an_upload_on_its_connection_waits_for_the_body() {
    let nginx = dugong_tests::peer_or_skip!(Nginx::start(&[("f", b"0123456789")]), "nginx");
    // One connection: the GET can only go behind the upload.
    let client = client(config(1, 16));
    std::thread::scope(|s| {
        let uploader = s.spawn(|| {
            client
                .upload(
                    "PUT",
                    &nginx.url("/upload/slow"),
                    [("Accept", "*/*")],
                    Some(20 * 1024),
                    Slow(20),
                )
                .map(|r| r.status())
        });
        std::thread::sleep(Duration::from_millis(50));
        let mut response = client
            .get(&nginx.url("/f"))
            .expect("the GET behind the upload");
        assert_eq!(response.read_all().expect("body"), b"0123456789");
        assert_eq!(uploader.join().expect("uploader").expect("uploaded"), 201);
    });
}

#[test]
fn idle_connections_of_other_origins_close_when_a_connection_opens() {
    let (a, b) = (FaultServer::start(vec![], 1), FaultServer::start(vec![], 1));
    let mut config = PoolConfig::default();
    config.idle_timeout = Duration::from_millis(50);
    let client = client(config);
    client
        .get(&a.url("/a"))
        .expect("a")
        .read_all()
        .expect("body");
    assert_eq!(client.connections(), 1);
    std::thread::sleep(Duration::from_millis(120));
    client
        .get(&b.url("/b"))
        .expect("b")
        .read_all()
        .expect("body");
    assert_eq!(client.connections(), 1, "a's idle connection was closed");
}
