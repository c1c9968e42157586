//! Test servers shared by the adapters' integration tests.
//!
//! Every server here listens on loopback (`127.0.0.1`) on a port chosen by
//! the operating system, stops by itself when its handle is dropped, and
//! bounds every wait, so a test that uses them cannot hang on them and
//! never touches the network beyond this machine.
//!
//! | server | what it is |
//! | --- | --- |
//! | [`HyperServer`] | hyper 1 HTTP/1.1 server with routes for sizes, chunked bodies, trailers, echo, 100-continue, close, status codes, slowness |
//! | [`TlsServer`] | the same routes over TLS, with a CA and leaf certificate generated at start |
//! | [`Nginx`] | the `nginx` binary (Debian's `nginx-light`) serving given files, with 100-continue upload locations |
//! | [`Proxy`] | the `tinyproxy` binary: absolute-form forwarding and `CONNECT` tunnels |
//! | [`Apache`] | Apache httpd 2.4 (`apache2`, mpm_event) serving given files; 100-continue then 405 on a `PUT`, 413 without 100 over a body limit |
//! | [`Lighttpd`] | the `lighttpd` binary serving given files, with a CGI upload script |
//! | [`Haproxy`] | the `haproxy` binary as a reverse proxy in front of a given origin |
//! | [`Squid`] | the `squid` binary as a forward proxy to a given origin |
//! | [`SilentServer`] | accepts connections and never answers |
//! | [`ScriptServer`] | plays a script of raw sends, drips, pauses, reads, closes and resets |
//!
//! The external programs ([`Nginx`], [`Proxy`], [`Apache`], [`Lighttpd`],
//! [`Haproxy`], [`Squid`]) may be missing on a developer's machine: their
//! `start` returns `None` then, and tests skip with [`peer_or_skip!`]
//! unless `DUGONG_REQUIRE_PEERS` is set (as CI does), in which case a
//! missing program fails the test. [`Site`] holds the files the real web
//! servers serve and what they must answer, for both adapters' tests.

#![deny(missing_docs)]

mod apache;
mod canned;
mod examples;
mod fault;
mod haproxy;
mod hostile;
mod hyper_server;
mod lighttpd;
mod nginx;
mod proxy;
mod script;
mod silent;
mod site;
mod squid;
mod sweep;
mod util;

pub use apache::Apache;
pub use canned::{rss_kib, CannedServer};
pub use examples::example;
pub use fault::{answer_body, assert_counts, fault_matrix, Fault, FaultServer, Got, Received};
pub use haproxy::Haproxy;
pub use hostile::{hostile_cases, panic_message, HostileCase, Outcome, AT_ONCE, HOSTILE_TIMEOUT};
pub use hyper_server::{body_byte, expected_body, unrelated_ca_pem, HyperServer, TlsServer};
pub use lighttpd::Lighttpd;
pub use nginx::Nginx;
pub use proxy::Proxy;
pub use script::{ScriptServer, Step};
pub use silent::{refused_addr, SilentServer};
pub use site::{
    site_byte, site_content, site_file_name, Answer, Exchange, Origin, Site, Upload, SITE_SIZES,
};
pub use squid::Squid;
pub use sweep::{sequences, CutStream, Expected, Sequence, SweepRequest, SweepResponse};
pub use tempfile::TempDir;
pub use util::{free_port, require_peer, temp_dir, which, REQUIRE_PEERS_ENV};
