//! dugong-tokio's pooled `Client`: many tasks against hyper, and the
//! resend rules against a server that fails connections on a plan and
//! counts what it received (the same cases, and the same outcomes, as
//! `blocking_client.rs`), and what dropping a response or a pending
//! request does.

use std::future::Future;
use std::time::Duration;

use dugong_tests::{
    answer_body, assert_counts, expected_body, fault_matrix, refused_addr, Fault, FaultServer, Got,
    HyperServer, Nginx,
};
use dugong_tokio::dugong_net::resend::Verdict;
use dugong_tokio::{Body, Builder, Client, Error, ErrorKind, Pending, PoolConfig};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Every test runs under this bound, so a hang is a failure, not a stuck
/// run.
const LIMIT: Duration = Duration::from_secs(60);

async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("the test did not finish in time")
}

fn client(config: PoolConfig) -> Client {
    Client::with_settings(&Builder::new("localhost", 80).timeout(TIMEOUT), config)
}

fn config(max_per_origin: usize, depth: usize) -> PoolConfig {
    let mut config = PoolConfig::default();
    config.max_per_origin = max_per_origin;
    config.depth = depth;
    config
}

/// GET for even `i`, POST (with a body) for odd.
fn method(i: usize) -> &'static str {
    if i.is_multiple_of(2) {
        "GET"
    } else {
        "POST"
    }
}

/// Starts GET, POST, GET, POST, ... (`n` of them) against `server`, for
/// `/0`, `/1`, ...
async fn start_mixed(client: &Client, server: &FaultServer, n: usize) -> Vec<Pending> {
    let mut pending = Vec::new();
    for i in 0..n {
        let body = if method(i) == "POST" {
            Body::from("data")
        } else {
            Body::Empty
        };
        let p = client
            .start(
                method(i),
                &server.url(&format!("/{i}")),
                [("Accept", "*/*")],
                body,
            )
            .await
            .expect("sent");
        pending.push(p);
    }
    pending
}

#[test]
fn the_client_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Client>();
    send::<Pending>();
    send::<dugong_tokio::ClientResponse>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_share_a_pool_against_hyper() {
    bounded(async {
        let server = HyperServer::start();
        let client = client(PoolConfig::default());
        let tasks: Vec<_> = (0..8u64)
            .map(|t| {
                let client = client.clone();
                let base = server.url("");
                tokio::spawn(async move {
                    for i in 0..40u64 {
                        let n = (t * 997 + i * 131) % 5000;
                        let mut response = client
                            .get(&format!("{base}/size/{n}"))
                            .await
                            .expect("response");
                        assert_eq!(response.status(), 200);
                        assert_eq!(response.read_all().await.expect("body"), expected_body(n));
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        assert!(
            client.connections() <= 4,
            "{} connections",
            client.connections()
        );
        assert_eq!(server.requests(), 320);
    })
    .await;
}

#[tokio::test]
async fn one_task_pipelines_up_to_the_depth() {
    bounded(async {
        let server = FaultServer::start(vec![], 1);
        let client = client(config(2, 4));
        let mut pending = Vec::new();
        for i in 0..12 {
            let p = client
                .start(
                    "GET",
                    &server.url(&format!("/{i}")),
                    [("Accept", "*/*")],
                    Body::Empty,
                )
                .await
                .expect("sent");
            pending.push(p);
        }
        // 12 requests, depth 4, at most 2 connections: 4 on each, then the
        // rest deeper (one task cannot wait for room it must make itself).
        for (i, p) in pending.into_iter().enumerate() {
            let mut response = p.wait().await.expect("response");
            let body = response.read_all().await.expect("body");
            assert_eq!(body, answer_body("GET", &format!("/{i}")).as_bytes());
        }
        let connections: std::collections::BTreeSet<usize> =
            server.received().iter().map(|r| r.connection).collect();
        assert_eq!(connections.len(), 2);
        assert_eq!(client.connections(), 2);
    })
    .await;
}

/// Reads the answers to `pending` (made by [`start_mixed`], from request
/// `first` on) in order.
async fn outcomes(pending: Vec<Pending>, first: usize) -> Vec<Got> {
    let mut got = Vec::new();
    for (i, p) in (first..).zip(pending) {
        got.push(match p.wait().await {
            Ok(mut response) => match response.read_all().await {
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
        });
    }
    got
}

/// Sends GET, POST, GET, POST, ... (`n` of them) pipelined on one
/// connection of a server whose first connection ends with `fault`, and
/// reads the answers in order.
async fn run_matrix_case(fault: Fault, n: usize) -> (Vec<Got>, FaultServer) {
    let server = FaultServer::start(vec![fault], n);
    let client = client(config(1, 16));
    let pending = start_mixed(&client, &server, n).await;
    (outcomes(pending, 0).await, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_resends_exactly_what_is_safe() {
    let cases = fault_matrix();
    bounded(async {
        for (what, fault, expected) in cases {
            let n = expected.len();
            let (got, server) = run_matrix_case(fault, n).await;
            assert_eq!(got, expected, "{what}");
            assert_counts(what, &got, &server);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_never_duplicates_a_post_that_may_have_been_processed() {
    bounded(async {
        for _ in 0..3 {
            let (got, server) = run_matrix_case(Fault::Reset { answered: 2 }, 6).await;
            assert_counts("reset", &got, &server);
            for (i, g) in got.iter().enumerate() {
                if i % 2 == 1 {
                    let times = server.count(&format!("/{i}"));
                    assert!(
                        times <= 1 || matches!(g, Got::Answer(_)),
                        "POST {i} twice: {got:?}"
                    );
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn an_idempotency_key_makes_a_post_resendable() {
    bounded(async {
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
            .await
            .expect("resent");
        assert_eq!(response.resends(), 1);
        assert_eq!(response.read_all().await.expect("body"), b"POST /keyed");
        assert_eq!(server.count("/keyed"), 2);
    })
    .await;
}

#[tokio::test]
async fn connect_failures_are_retried_then_reported_with_every_try() {
    bounded(async {
        let client = client(PoolConfig::default());
        let error = client
            .get(&format!("http://{}/", refused_addr()))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Io);
        let Error::GaveUp(g) = &error else {
            panic!("{error}")
        };
        assert_eq!(g.account.attempts().len(), 3, "{error}");
        assert_eq!(g.account.resends(), 2);
        assert!(error.to_string().contains("3 tries"), "{error}");
        assert_eq!(client.connections(), 0, "failed openings are removed");

        let error = client
            .get("http://no-such-host.invalid/")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::HostNotFound);
        let Error::GaveUp(g) = &error else {
            panic!("{error}")
        };
        assert_eq!(
            g.account.attempts().len(),
            1,
            "not temporary: not tried again"
        );
    })
    .await;
}

#[tokio::test]
async fn idle_connections_are_closed_and_streamed_bodies_refused() {
    bounded(async {
        let server = FaultServer::start(vec![], 1);
        let mut config = PoolConfig::default();
        config.idle_timeout = Duration::from_millis(50);
        let client = client(config);
        client
            .get(&server.url("/a"))
            .await
            .expect("first")
            .read_all()
            .await
            .expect("body");
        tokio::time::sleep(Duration::from_millis(120)).await;
        client
            .get(&server.url("/b"))
            .await
            .expect("second")
            .read_all()
            .await
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
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Usage);
    })
    .await;
}

#[tokio::test]
async fn a_dropped_unread_response_lets_the_next_one_through() {
    bounded(async {
        let server = HyperServer::start();
        let client = client(config(1, 16));
        let first = client
            .start(
                "GET",
                &server.url("/size/100000"),
                [("Accept", "*/*")],
                Body::Empty,
            )
            .await
            .expect("sent");
        let second = client
            .start(
                "GET",
                &server.url("/size/10"),
                [("Accept", "*/*")],
                Body::Empty,
            )
            .await
            .expect("sent");
        let first = first.wait().await.expect("head");
        let broken = first.connection();
        // A drop cannot read the rest: the connection breaks, and the GET
        // behind it (written, unanswered: it may have been processed, and
        // is idempotent) is sent again on a new connection.
        drop(first);
        let mut response = second.wait().await.expect("second");
        assert_eq!(response.read_all().await.expect("body"), expected_body(10));
        assert_eq!(response.resends(), 1);
        assert_ne!(response.connection(), broken);
        assert_eq!(client.connections(), 1, "the broken one was let go");
    })
    .await;
}

#[tokio::test]
async fn a_dropped_response_never_duplicates_a_post_behind_it() {
    bounded(async {
        let server = FaultServer::start(vec![], 3);
        let client = client(config(1, 16));
        let mut pending = start_mixed(&client, &server, 3).await.into_iter();
        let first = pending.next().expect("GET /0");
        // Its head is read, its body not.
        drop(first.wait().await.expect("head"));
        let got = outcomes(pending.collect(), 1).await;
        assert_eq!(
            got,
            [Got::GaveUp(Verdict::MayHaveBeenProcessed), Got::Answer(1)]
        );
        assert_eq!(server.count("/0"), 1);
        assert_eq!(server.count("/1"), 1, "the POST was not sent again");
        assert_eq!(server.count("/2"), 2, "the GET was");
    })
    .await;
}

#[tokio::test]
async fn a_dropped_pending_breaks_its_connection_and_the_rest_is_resent_in_order() {
    bounded(async {
        let server = FaultServer::start(vec![], 4);
        let client = client(config(1, 16));
        let mut pending = start_mixed(&client, &server, 4).await;
        // Dropped unwaited: /1 (a POST). The GET before it and the
        // requests behind it learn that their connection is gone.
        let behind = pending.split_off(2);
        let dropped = pending.pop().expect("POST /1");
        let first = pending.pop().expect("GET /0");
        drop(dropped);
        let mut response = first.wait().await.expect("GET /0 again");
        assert_eq!(response.read_all().await.expect("body"), b"GET /0");
        assert_eq!(response.resends(), 1);
        let mut got = Vec::new();
        for p in behind {
            got.push(match p.wait().await {
                Ok(mut response) => {
                    response.discard().await.expect("body");
                    Got::Answer(response.resends())
                }
                Err(Error::GaveUp(g)) => Got::GaveUp(g.account.attempts()[0].verdict),
                Err(e) => panic!("{e}"),
            });
        }
        assert_eq!(
            got,
            [Got::Answer(1), Got::GaveUp(Verdict::MayHaveBeenProcessed)],
            "/2 (GET) resent, /3 (POST) not"
        );
        let counts: Vec<usize> = (0..4).map(|i| server.count(&format!("/{i}"))).collect();
        assert_eq!(counts, [2, 1, 2, 1]);
        let received = server.received();
        let again: Vec<&str> = received
            .iter()
            .filter(|r| r.connection == 1)
            .map(|r| r.target.as_str())
            .collect();
        assert_eq!(again, ["/0", "/2"], "resent in order");
    })
    .await;
}

#[tokio::test]
async fn a_cancelled_wait_breaks_its_connection_like_a_drop() {
    bounded(async {
        // It waits for a third request, then answers after 100 ms idle.
        let server = FaultServer::start(vec![], 3);
        let client = client(config(1, 16));
        let mut pending = start_mixed(&client, &server, 2).await.into_iter();
        let first = pending.next().expect("GET /0");
        let second = pending.next().expect("POST /1");
        // A wait that cannot finish at once, given up at the first poll.
        let cancelled = tokio::time::timeout(Duration::ZERO, first.wait()).await;
        assert!(cancelled.is_err(), "the answer cannot be there yet");
        match second.wait().await {
            Err(Error::GaveUp(g)) => assert_eq!(
                g.account.attempts()[0].verdict,
                Verdict::MayHaveBeenProcessed
            ),
            other => panic!("{other:?}"),
        }
        // The pool goes on with a new connection.
        let mut response = client.get(&server.url("/after")).await.expect("after");
        assert_eq!(response.read_all().await.expect("body"), b"GET /after");
        assert_eq!(response.resends(), 0);
        let counts: Vec<usize> = ["/0", "/1"].iter().map(|t| server.count(t)).collect();
        assert_eq!(counts, [1, 1], "neither was sent again");
    })
    .await;
}

#[tokio::test]
async fn one_task_may_hold_a_response_while_it_sends_again() {
    let server = HyperServer::start();
    let client = Client::with_settings(
        &Builder::new("localhost", 80).timeout(Duration::from_secs(10)),
        PoolConfig::default(),
    );
    let mut first = client.get(&server.url("/size/1000")).await.expect("first");
    // The first response's body is unread: the next request goes to an
    // idle or a new connection, not behind it.
    let mut second = client.get(&server.url("/size/10")).await.expect("second");
    assert_eq!(
        second.read_all().await.expect("second body"),
        expected_body(10)
    );
    assert_eq!(
        first.read_all().await.expect("first body"),
        expected_body(1000)
    );
    assert_ne!(first.connection(), second.connection());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_restarted_under_the_pool_loses_nothing_and_duplicates_no_post() {
    const TASKS: usize = 4;
    const EACH: usize = 60;
    let file = expected_body(20_000);
    let nginx = dugong_tests::peer_or_skip!(Nginx::start(&[("f", &file)]), "nginx");
    let base = nginx.url("/f");
    let nginx = std::sync::Arc::new(std::sync::Mutex::new(nginx));
    let client = client(PoolConfig::default());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let file = std::sync::Arc::new(file);
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let (client, done, file, base) = (client.clone(), done.clone(), file.clone(), base.clone());
        tasks.spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..EACH {
                let url = format!("{base}?t={t}&i={i}");
                // Every fifth a POST: nginx answers 405, and logs it, for a
                // static file.
                let post = i % 5 == 4;
                let (method, body) = if post {
                    ("POST", Body::from("x"))
                } else {
                    ("GET", Body::Empty)
                };
                let outcome = match client
                    .request(method, &url, [("Accept", "*/*")], body)
                    .await
                {
                    Ok(mut response) => {
                        let got = response.read_all().await;
                        if post {
                            assert_eq!(response.status(), 405, "{url}");
                        } else {
                            assert_eq!(response.status(), 200, "{url}");
                            assert_eq!(got.expect("a whole body"), *file, "{url}");
                        }
                        None
                    }
                    Err(Error::GaveUp(g)) => {
                        // As an application would: wait a little before the
                        // next request (the server may be restarting).
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Some(g.account.attempts().last().expect("a try").verdict)
                    }
                    Err(e) => panic!("{url}: {e}"),
                };
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                outcomes.push((url, post, outcome));
            }
            outcomes
        });
    }
    // Restart nginx under the running tasks, twice.
    for at in [TASKS * EACH / 3, 2 * TASKS * EACH / 3] {
        while done.load(std::sync::atomic::Ordering::SeqCst) < at {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let nginx = nginx.clone();
        tokio::task::spawn_blocking(move || nginx.lock().expect("nginx").restart())
            .await
            .expect("restart");
    }
    let mut outcomes = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        outcomes.extend(joined.expect("task"));
    }
    // nginx logs a request once it answered it, unless it was killed in
    // between: a POST logged twice would have been processed twice.
    let logged = nginx.lock().expect("nginx").requests();
    let times = |target: &str| logged.iter().filter(|(_, t)| t == target).count();
    for (url, post, outcome) in &outcomes {
        let target = &url[url.find("/f?").expect("path")..];
        if *post {
            assert!(
                times(target) <= 1,
                "POST {url} processed {} times",
                times(target)
            );
            assert_ne!(*outcome, Some(Verdict::Resend), "{url}");
        }
    }
    let answered = outcomes.iter().filter(|(_, _, o)| o.is_none()).count();
    assert!(answered >= outcomes.len() * 3 / 4, "{answered} answered");
}

#[tokio::test]
async fn a_close_before_the_requests_were_read_resends_gets_and_reports_posts() {
    let (got, server) = bounded(run_matrix_case(Fault::CloseUnread { answered: 2 }, 6)).await;
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

#[tokio::test]
async fn uploads_stream_a_body_sized_or_chunked() {
    let nginx = dugong_tests::peer_or_skip!(Nginx::start(&[("f", b"x")]), "nginx");
    bounded(async {
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
                .await
                .expect("uploaded");
            assert_eq!(response.status(), 201, "{name}");
            drop(response);
            let mut back = client.get(&url).await.expect("read back");
            assert_eq!(back.read_all().await.expect("body"), body, "{name}");
        }
    })
    .await;
}

/// A body source that fails after a few bytes.
struct Failing(usize);

impl tokio::io::AsyncRead for Failing {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.0 == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("the source failed")));
        }
        let n = self.0.min(buf.remaining());
        buf.initialize_unfilled_to(n).fill(b'a');
        buf.advance(n);
        self.0 -= n;
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_failing_or_short_upload_is_reported_and_never_sent_again() {
    bounded(async {
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
            .await
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
            .await
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
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Usage, "{error}");
        // None reached the server whole, and none was tried again; the pool
        // goes on.
        let mut response = client
            .get(&server.url("/after"))
            .await
            .expect("the pool goes on");
        assert_eq!(response.read_all().await.expect("body"), b"GET /after");
        let targets: Vec<String> = server.received().into_iter().map(|r| r.target).collect();
        assert_eq!(targets, ["/after"]);
    })
    .await;
}

#[tokio::test]
async fn a_dropped_upload_breaks_its_connection_and_the_pool_goes_on() {
    bounded(async {
        let server = FaultServer::start(vec![], 1);
        let client = client(config(1, 16));
        // A source that gives a few bytes, then nothing, and never ends.
        let (mut source, body) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut source, b"0123456789")
            .await
            .expect("source");
        let url = server.url("/endless");
        let upload = client.upload("PUT", &url, [("Accept", "*/*")], Some(1_000_000), body);
        fn send<T: Send>(_: &T) {}
        send(&upload);
        // A GET for the same (only) connection, which waits behind the
        // body being sent while the upload is dropped.
        let behind = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            client.get(&server.url("/behind")).await
        };
        let (dropped, behind) = tokio::join!(
            tokio::time::timeout(Duration::from_millis(200), upload),
            behind
        );
        assert!(dropped.is_err(), "the upload cannot finish");
        let mut response = behind.expect("the GET behind it goes elsewhere");
        assert_eq!(response.read_all().await.expect("body"), b"GET /behind");
        // The pool goes on with a new connection.
        let mut response = client.get(&server.url("/after")).await.expect("after");
        assert_eq!(response.read_all().await.expect("body"), b"GET /after");
        assert_eq!(client.connections(), 1);
        let received: Vec<(usize, String)> = server
            .received()
            .into_iter()
            .map(|r| (r.connection, r.target))
            .collect();
        assert_eq!(
            received,
            [(1, "/behind".to_owned()), (1, "/after".to_owned())],
            "the cut upload never reached the server whole"
        );
        drop(source);
    })
    .await;
}

#[tokio::test]
async fn idle_connections_of_other_origins_close_when_a_connection_opens() {
    let (a, b) = (FaultServer::start(vec![], 1), FaultServer::start(vec![], 1));
    let mut config = PoolConfig::default();
    config.idle_timeout = Duration::from_millis(50);
    let client = client(config);
    let mut first = client.get(&a.url("/a")).await.expect("a");
    first.read_all().await.expect("body");
    assert_eq!(client.connections(), 1);
    tokio::time::sleep(Duration::from_millis(120)).await;
    let mut second = client.get(&b.url("/b")).await.expect("b");
    second.read_all().await.expect("body");
    assert_eq!(client.connections(), 1, "a's idle connection was closed");
}
