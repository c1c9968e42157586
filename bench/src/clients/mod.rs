//! The clients measured, each over one connection to the loopback server.
//!
//! Every client sends the same request, `GET /x HTTP/1.1` with
//! `Host: 127.0.0.1:PORT` and no other field (dugong adds that `Host`
//! itself; hyper, ureq and the raw clients are told to send the same), and
//! reads every response to its end, counting body bytes.

use crate::window::{Measurement, Plan, Window};
use crate::BoxError;

mod async_dugong;
mod hyper_client;
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

/// Whether a client pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Many requests in flight.
    Pipelined,
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
    /// Pipelined or one at a time.
    pub(crate) kind: Kind,
    /// Runs it for one window.
    pub(crate) run: fn(&Ctx<'_>) -> Result<Measurement, BoxError>,
}

/// Every client, in report order: the pipelined ones, then the ones that
/// send one request at a time.
pub(crate) const CLIENTS: &[Client] = &[
    Client {
        name: "dugong-blocking pipelined",
        kind: Kind::Pipelined,
        run: sync_dugong::pipelined,
    },
    Client {
        name: "dugong-tokio pipelined (split)",
        kind: Kind::Pipelined,
        run: async_dugong::pipelined_split,
    },
    Client {
        name: "dugong-tokio pipelined (pipeline)",
        kind: Kind::Pipelined,
        run: async_dugong::pipelined_stream,
    },
    Client {
        name: "raw pipelined",
        kind: Kind::Pipelined,
        run: raw::pipelined,
    },
    Client {
        name: "raw+httparse pipelined",
        kind: Kind::Pipelined,
        run: raw::pipelined_httparse,
    },
    Client {
        name: "dugong-blocking one-at-a-time",
        kind: Kind::OneAtATime,
        run: sync_dugong::one_at_a_time,
    },
    Client {
        name: "dugong-tokio one-at-a-time",
        kind: Kind::OneAtATime,
        run: async_dugong::one_at_a_time,
    },
    Client {
        name: "hyper 1.x",
        kind: Kind::OneAtATime,
        run: hyper_client::one_at_a_time,
    },
    Client {
        name: "ureq 3",
        kind: Kind::OneAtATime,
        run: ureq_client::one_at_a_time,
    },
    Client {
        name: "raw one-at-a-time",
        kind: Kind::OneAtATime,
        run: raw::one_at_a_time,
    },
];

/// The name of the row the hyper ratios divide by.
pub(crate) const HYPER: &str = "hyper 1.x";
/// The raw row pipelined clients are compared with.
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
