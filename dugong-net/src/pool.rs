//! The decisions of a pool of pipelined connections, without I/O or
//! clock: which connection a request goes to, when to open another, when
//! an idle one is closed, and what keys the pool. Both adapters' `Client`
//! types keep their connections behind their own locks and ask these
//! functions; the resend decisions are in [`crate::resend`].
//!
//! ```
//! use dugong_net::pool::{choose, Choice, Load, PoolConfig};
//!
//! let config = PoolConfig::default();
//! let busy = Load { pending: 16, usable: true, has_room: true, connecting: false };
//! let light = Load { pending: 3, ..busy };
//! // The least loaded connection with room takes the request...
//! assert_eq!(choose(&[busy, light], &config), Choice::Use(1));
//! // ...and a new one is opened only when every one is full.
//! assert_eq!(choose(&[busy, busy], &config), Choice::Open);
//! assert_eq!(choose(&[busy; 4], &config), Choice::Wait);
//! ```

use std::time::Duration;

use crate::resend::{Backoff, RetryBudget, DEFAULT_RESENDS_PER_REQUEST};
use crate::settings::Route;
use crate::url::Scheme;

/// At most this many connections per origin by default.
pub const DEFAULT_MAX_PER_ORIGIN: usize = 4;
/// At most this many requests pipelined on one connection by default.
pub const DEFAULT_DEPTH: usize = 16;
/// An idle connection is closed after this long by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// How a pool behaves.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// At most this many connections to one origin (scheme, host, port and
    /// proxy), at least 1.
    pub max_per_origin: usize,
    /// At most this many requests in flight on one connection, at least 1
    /// (and never past the connection's bytes-in-flight window).
    pub depth: usize,
    /// A connection with nothing in flight for this long is closed.
    pub idle_timeout: Duration,
    /// How often one request may be sent again after failures
    /// ([`crate::resend::Tracker`]).
    pub resends_per_request: u32,
    /// The wait before a counted resend.
    pub backoff: Backoff,
    /// The client-wide budget of counted resends.
    pub budget: RetryBudget,
}

impl Default for PoolConfig {
    fn default() -> PoolConfig {
        PoolConfig {
            max_per_origin: DEFAULT_MAX_PER_ORIGIN,
            depth: DEFAULT_DEPTH,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            resends_per_request: DEFAULT_RESENDS_PER_REQUEST,
            backoff: Backoff::default(),
            budget: RetryBudget::default(),
        }
    }
}

/// One connection of the pool as [`choose`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Requests sent on it whose response is not read to its end.
    pub pending: usize,
    /// It takes new requests (not broken, not closing).
    pub usable: bool,
    /// Its bytes-in-flight window has room.
    pub has_room: bool,
    /// It is being opened (counts towards the limit, takes no request yet).
    pub connecting: bool,
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// On this connection (an index into the loads given).
    Use(usize),
    /// On a connection to be opened.
    Open,
    /// Nowhere yet: every connection is full and no more may be opened;
    /// wait until one has room.
    Wait,
}

/// Chooses the connection for the next request: the usable one with the
/// fewest pending requests that has room (below the depth and within its
/// window; the oldest among equals), else a new one while fewer than
/// [`max_per_origin`](PoolConfig::max_per_origin) are open or opening,
/// else [`Choice::Wait`]. Connections that are not usable count towards
/// the limit until the caller closes them, which it should do as soon as
/// their pending requests are read.
pub fn choose(loads: &[Load], config: &PoolConfig) -> Choice {
    let depth = config.depth.max(1);
    let best = loads
        .iter()
        .enumerate()
        .filter(|(_, l)| l.usable && !l.connecting && l.has_room && l.pending < depth)
        .min_by_key(|(i, l)| (l.pending, *i));
    match best {
        Some((i, _)) => Choice::Use(i),
        None if loads.len() < config.max_per_origin.max(1) => Choice::Open,
        None => Choice::Wait,
    }
}

/// True if a connection idle since `idle_for` ago should be closed.
pub fn expired(idle_for: Duration, config: &PoolConfig) -> bool {
    idle_for >= config.idle_timeout
}

/// What a pool's connections are keyed by: the origin's scheme, host and
/// port, and the proxy the route goes through (host and port) if any.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    scheme: Scheme,
    host: String,
    port: u16,
    proxy: Option<(String, u16)>,
}

impl Key {
    /// The key of a [`Route`].
    pub fn of(route: &Route) -> Key {
        Key {
            scheme: route.origin.scheme(),
            host: route.origin.host().to_owned(),
            port: route.origin.port(),
            proxy: route
                .proxy
                .as_ref()
                .map(|p| (p.host().to_owned(), p.port())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pending: usize) -> Load {
        Load {
            pending,
            usable: true,
            has_room: true,
            connecting: false,
        }
    }

    #[test]
    fn choose_table() {
        let config = PoolConfig::default();
        let closing = Load {
            usable: false,
            ..load(0)
        };
        let full_window = Load {
            has_room: false,
            ..load(1)
        };
        let opening = Load {
            connecting: true,
            ..load(0)
        };
        let cases: Vec<(&str, Vec<Load>, Choice)> = vec![
            ("no connection yet", vec![], Choice::Open),
            ("an idle one", vec![load(0)], Choice::Use(0)),
            ("a busy one below the depth", vec![load(15)], Choice::Use(0)),
            (
                "the least loaded",
                vec![load(5), load(2), load(2)],
                Choice::Use(1),
            ),
            (
                "all at the depth: open",
                vec![load(16), load(16)],
                Choice::Open,
            ),
            (
                "all at the depth, at the limit",
                vec![load(16); 4],
                Choice::Wait,
            ),
            (
                "closing ones are skipped",
                vec![closing, load(3)],
                Choice::Use(1),
            ),
            ("closing ones count", vec![closing; 4], Choice::Wait),
            (
                "a full window is skipped",
                vec![full_window, load(9)],
                Choice::Use(1),
            ),
            ("opening ones take nothing", vec![opening], Choice::Open),
            ("opening ones count", vec![opening; 4], Choice::Wait),
        ];
        for (what, loads, expected) in cases {
            assert_eq!(choose(&loads, &config), expected, "{what}");
        }
    }

    #[test]
    fn limits_of_zero_mean_one() {
        let config = PoolConfig {
            max_per_origin: 0,
            depth: 0,
            ..PoolConfig::default()
        };
        assert_eq!(choose(&[], &config), Choice::Open);
        assert_eq!(choose(&[load(0)], &config), Choice::Use(0));
        assert_eq!(choose(&[load(1)], &config), Choice::Wait);
    }

    #[test]
    fn keys_tell_origins_and_proxies_apart() {
        let settings = |url: &str| {
            crate::Settings::for_url(&crate::Url::parse(url).unwrap())
                .route()
                .unwrap()
        };
        let a = Key::of(&settings("http://example.com/a"));
        assert_eq!(a, Key::of(&settings("http://EXAMPLE.com:80/b")));
        assert_ne!(a, Key::of(&settings("https://example.com/")));
        assert_ne!(a, Key::of(&settings("http://example.com:8080/")));
        let mut proxied =
            crate::Settings::for_url(&crate::Url::parse("http://example.com/").unwrap());
        proxied.set_proxy(crate::Proxy::parse("http://127.0.0.1:3128").unwrap());
        assert_ne!(a, Key::of(&proxied.route().unwrap()));
    }

    #[test]
    fn idle_connections_expire() {
        let config = PoolConfig::default();
        assert!(!expired(Duration::from_secs(89), &config));
        assert!(expired(Duration::from_secs(90), &config));
    }
}
