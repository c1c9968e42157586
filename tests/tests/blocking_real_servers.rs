//! dugong-blocking against the packaged web servers Apache httpd,
//! lighttpd, haproxy (a reverse proxy in front of nginx) and squid (a
//! forward proxy to nginx): pipelined `GET`s and `HEAD`s of files from 0 B
//! to 3 MiB compared byte for byte, and `100-continue` uploads. What each
//! server must answer is in [`dugong_tests::Site`] and
//! [`dugong_tests::Upload`], shared with `tokio_real_servers.rs`. Skipped
//! when a program is missing, unless `DUGONG_REQUIRE_PEERS` is set.

use std::net::SocketAddr;
use std::time::Duration;

use dugong_blocking::{Body, Builder, Connection, ErrorKind, Proxy};
use dugong_tests::{
    peer_or_skip, Apache, Exchange, Haproxy, Lighttpd, Nginx, Origin, Site, Squid, Upload,
};

/// No header fields.
const NO_FIELDS: [(&str, &str); 0] = [];
/// No read or write waits longer than this.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than [`TIMEOUT`]: a `100 Continue` the client would make up
/// after this delay can never pass for the server's (the read times out
/// first).
const CONTINUE_DELAY: Duration = Duration::from_secs(60);

/// Connects to `addr`, or through the forward proxy at `proxy` to `addr`.
fn connect(addr: SocketAddr, proxy: Option<&str>) -> Connection {
    let mut builder = Builder::new("127.0.0.1", addr.port())
        .timeout(TIMEOUT)
        .continue_delay(CONTINUE_DELAY)
        .no_trace();
    if let Some(proxy) = proxy {
        builder = builder.proxy(Proxy::parse(proxy).unwrap());
    }
    builder.connect().unwrap()
}

/// Reads the next response to the end and checks it against `exchange`
/// (and that its `Via` field names `via`, if given).
fn read_and_check(conn: &mut Connection, exchange: &Exchange<'_>, via: Option<&str>) {
    let head = conn
        .read_response()
        .unwrap_or_else(|e| panic!("{exchange}: {e}"));
    let body = conn
        .read_all()
        .unwrap_or_else(|e| panic!("{exchange}: {e}"));
    exchange.check(head.status(), head.headers().get("content-length"), &body);
    if let Some(via) = via {
        exchange.check_via(head.headers().get("via"), via);
    }
}

/// Sends all of `plan` (a [`Site::pipeline`]) before reading any response, then
/// checks every response in order.
fn pipelined(mut conn: Connection, plan: &[Exchange<'_>], via: Option<&str>) {
    for exchange in plan {
        conn.send_request(exchange.method, &exchange.target, NO_FIELDS, Body::Empty)
            .unwrap_or_else(|e| panic!("{exchange}: {e}"));
    }
    for exchange in plan {
        read_and_check(&mut conn, exchange, via);
    }
    assert!(conn.is_usable());
}

/// Each upload on a fresh connection; after one the server took, a `GET`
/// on the same connection.
fn uploads(addr: SocketAddr, proxy: Option<&str>, site: &Site, uploads: &[Upload]) {
    for upload in uploads {
        let mut conn = connect(addr, proxy);
        conn.send_request(
            upload.method,
            &upload.target,
            upload.fields(),
            Body::Sized(upload.body.len() as u64),
        )
        .unwrap();
        let head = conn
            .read_response()
            .unwrap_or_else(|e| panic!("{upload}: {e}"));
        upload.check_first(head.status());
        if upload.expects_continue() {
            for piece in upload.body.chunks(16 * 1024) {
                conn.write_body(piece).unwrap();
            }
            let head = conn.read_response().unwrap();
            let body = conn.read_all().unwrap();
            upload.check_final(head.status(), &body);
            assert!(conn.is_usable(), "{upload}");
            let next = site.after_upload();
            conn.send_request(next.method, &next.target, NO_FIELDS, Body::Empty)
                .unwrap();
            read_and_check(&mut conn, &next, None);
        } else {
            conn.discard().unwrap();
            let refused = conn.write_body(&upload.body).unwrap_err();
            assert_eq!(refused.kind(), ErrorKind::Usage, "{upload}: {refused}");
            assert!(!conn.is_usable(), "{upload}");
        }
    }
}

#[test]
fn apache_pipelined_files_and_uploads() {
    let site = Site::new();
    let apache = peer_or_skip!(Apache::start(&site.files()), "apache2");
    let plan = site.pipeline(Origin::Apache);
    pipelined(connect(apache.addr(), None), &plan, None);
    uploads(apache.addr(), None, &site, &Upload::apache());
}

#[test]
fn lighttpd_pipelined_files_and_uploads() {
    let site = Site::new();
    let lighttpd = peer_or_skip!(Lighttpd::start(&site.files()), "lighttpd");
    let plan = site.pipeline(Origin::Lighttpd);
    pipelined(connect(lighttpd.addr(), None), &plan, None);
    uploads(lighttpd.addr(), None, &site, &Upload::lighttpd());
}

#[test]
fn haproxy_in_front_of_nginx() {
    let site = Site::new();
    let nginx = peer_or_skip!(Nginx::start(&site.files()), "nginx");
    let haproxy = peer_or_skip!(Haproxy::start(nginx.addr()), "haproxy");
    let plan = site.pipeline(Origin::Nginx);
    pipelined(connect(haproxy.addr(), None), &plan, None);
    uploads(haproxy.addr(), None, &site, &Upload::nginx(&nginx));
}

#[test]
fn squid_forwarding_to_nginx() {
    let site = Site::new();
    let nginx = peer_or_skip!(Nginx::start(&site.files()), "nginx");
    let squid = peer_or_skip!(Squid::start(nginx.addr()), "squid");
    let proxy = Some(squid.url());
    // Squid's `Via` shows that the client really went through it.
    let via = Some("dugong-squid");
    let plan = site.pipeline(Origin::Nginx);
    pipelined(connect(nginx.addr(), proxy.as_deref()), &plan, via);
    uploads(
        nginx.addr(),
        proxy.as_deref(),
        &site,
        &Upload::nginx(&nginx),
    );
}
