//! The clients measured, each over one connection to the loopback server
//! except the pooled ones (several at once).
//!
//! Every client sends the same request, `GET /x HTTP/1.1` with
//! `Host: 127.0.0.1:PORT` and no other field (dugong and hyper-util's
//! pooled client add that `Host` themselves; hyper, ureq and the raw
//! clients are told to send the same), and reads every response to its
//! end, counting body bytes.

use crate::window::{Measurement, Plan, Window};
use crate::BoxError;

mod async_dugong;
mod hyper_client;
mod hyper_util_pool;
mod raw;
mod sync_dugong;
mod ureq_client;

/// The host every client connects to.
pub(crate) const HOST: &str = "127.0.0.1";
/// The request target of every request.
pub(crate) const PATH: &str = "/x";
/// The caller's read buffer for large bodies (and the RSS runs).
pub(crate) const BODY_BUF: usize = 64 * 1024;

/// Which server, and so which body size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Size {
    /// 100-byte bodies: requests per second.
    Small,
    /// 1 MiB bodies: body bytes per second.
    Large,
}

impl Size {
    /// Both sizes, in report order.
    pub(crate) const ALL: [Size; 2] = [Size::Small, Size::Large];

    /// The body length the server sends.
    pub(crate) fn body_len(self) -> u64 {
        match self {
            Size::Small => 100,
            Size::Large => 1 << 20,
        }
    }

    /// Requests a pipelined client keeps in flight (it tops up when half
    /// of them are answered).
    pub(crate) fn depth(self) -> usize {
        match self {
            Size::Small => 256,
            Size::Large => 4,
        }
    }

    /// The window reads the clock every `mask + 1` responses.
    fn clock_mask(self) -> u64 {
        match self {
            Size::Small => 15,
            Size::Large => 0,
        }
    }

    /// The name in reports.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Large => "1MiB",
        }
    }
}

/// Whether a client pipelines, and over how many connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Many requests in flight on one connection.
    Pipelined,
    /// A pool of several connections, used at once (each pipelined, or
    /// one request at a time for hyper-util); compared with the pipelined
    /// rows.
    Pooled,
    /// Each request after the previous response.
    OneAtATime,
}

/// What a client run gets.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    /// The server's port on 127.0.0.1.
    pub(crate) port: u16,
    /// The body size the server sends.
    pub(crate) size: Size,
    /// How long to run.
    pub(crate) plan: Plan,
    /// The current-thread runtime async clients run on.
    pub(crate) rt: &'a tokio::runtime::Runtime,
}

impl Ctx<'_> {
    /// A fresh window for this run.
    pub(crate) fn window(&self) -> Window {
        Window::new(self.plan, self.size.clock_mask(), self.size.body_len())
    }

    /// The `Host` field value every client sends.
    pub(crate) fn authority(&self) -> String {
        format!("{HOST}:{}", self.port)
    }
}

/// One client to measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Client {
    /// Its name in reports (and for `--only`).
    pub(crate) name: &'static str,
    /// Pipelined, pooled or one at a time.
    pub(crate) kind: Kind,
    /// The connections it opens (the server's records are checked).
    pub(crate) connections: u64,
    /// Runs it for one window.
    pub(crate) run: fn(&Ctx<'_>) -> Result<Measurement, BoxError>,
}

/// Every client, in report order: the pipelined ones, the pooled ones,
/// then the ones that send one request at a time.
pub(crate) const CLIENTS: &[Client] = &[
    Client {
        name: ONE_PIPELINED,
        kind: Kind::Pipelined,
        connections: 1,
        run: sync_dugong::pipelined,
    },
    Client {
        name: "dugong-tokio pipelined (split)",
        kind: Kind::Pipelined,
        connections: 1,
        run: async_dugong::pipelined_split,
    },
    Client {
        name: "dugong-tokio pipelined (pipeline)",
        kind: Kind::Pipelined,
        connections: 1,
        run: async_dugong::pipelined_stream,
    },
    Client {
        name: "raw pipelined",
        kind: Kind::Pipelined,
        connections: 1,
        run: raw::pipelined,
    },
    Client {
        name: "raw+httparse pipelined",
        kind: Kind::Pipelined,
        connections: 1,
        run: raw::pipelined_httparse,
    },
    Client {
        name: POOLED_4X16,
        kind: Kind::Pooled,
        connections: 4,
        run: sync_dugong::pooled_4x16,
    },
    Client {
        name: "dugong-blocking Client 1x16",
        kind: Kind::Pooled,
        connections: 1,
        run: sync_dugong::pooled_1x16,
    },
    Client {
        name: HYPER_UTIL_POOLED,
        kind: Kind::Pooled,
        connections: hyper_util_pool::CONNECTIONS as u64,
        run: hyper_util_pool::pooled,
    },
    Client {
        name: "dugong-blocking one-at-a-time",
        kind: Kind::OneAtATime,
        connections: 1,
        run: sync_dugong::one_at_a_time,
    },
    Client {
        name: "dugong-tokio one-at-a-time",
        kind: Kind::OneAtATime,
        connections: 1,
        run: async_dugong::one_at_a_time,
    },
    Client {
        name: "hyper 1.x",
        kind: Kind::OneAtATime,
        connections: 1,
        run: hyper_client::one_at_a_time,
    },
    Client {
        name: "ureq 3",
        kind: Kind::OneAtATime,
        connections: 1,
        run: ureq_client::one_at_a_time,
    },
    Client {
        name: "raw one-at-a-time",
        kind: Kind::OneAtATime,
        connections: 1,
        run: raw::one_at_a_time,
    },
];

/// The name of the row the hyper ratios divide by.
pub(crate) const HYPER: &str = "hyper 1.x";
/// The row of one pipelined dugong connection (what the pooled rows are
/// compared with).
pub(crate) const ONE_PIPELINED: &str = "dugong-blocking pipelined";
/// dugong's pool at its defaults: 4 connections, depth 16.
pub(crate) const POOLED_4X16: &str = "dugong-blocking Client 4x16";
/// hyper-util's pooled legacy client with as many connections.
pub(crate) const HYPER_UTIL_POOLED: &str = "hyper-util pooled x4";
/// The raw row pipelined and pooled clients are compared with.
pub(crate) const RAW_PIPELINED: &str = "raw pipelined";
/// The raw row one-at-a-time clients are compared with.
pub(crate) const RAW_ONE: &str = "raw one-at-a-time";

/// Checks a response status.
pub(crate) fn expect_ok(status: u16) -> Result<(), BoxError> {
    if status == 200 {
        Ok(())
    } else {
        Err(format!("unexpected status {status}").into())
    }
}
