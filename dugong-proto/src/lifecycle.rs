//! The connection as a whole: open, waiting for a tunnel or upgrade,
//! closing, handed over, or dead. Only this file changes [`Lifecycle`].
//!
//! ```text
//!             CONNECT / upgrade sent              2xx / 101 read
//!   Open ---------------------------------> UpgradePending ----------> Switched
//!    |  ^          refused (final response ends)  |
//!    |  +-----------------------------------------+
//!    |                                            |
//!    | close sent, close announced, body          | peer closed
//!    | cancelled, peer closed, idle expired       v
//!    +---------------------------------------> Closing(why)
//!
//!   any state but Switched --fatal error--> Dead(error)
//! ```
//!
//! `Closing` still reads the responses owed; it only refuses new requests.
//! `Switched` and `Dead` are final.

use crate::error::{Error, StateError};
use crate::request::RequestFacts;

/// Why no new request may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closing {
    /// A request carried `Connection: close`.
    Sent,
    /// A response announced the server closes.
    Announced,
    /// The peer closed its side.
    PeerClosed,
    /// A body was cancelled by a final response before `100 Continue`.
    BodyCancelled,
    /// The idle timeout passed.
    IdleExpired,
}

/// Where the connection stands as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// New requests may be sent.
    Open,
    /// A `CONNECT` or upgrade request is in flight: no request may follow
    /// it, and the connection may be handed over.
    UpgradePending,
    /// No new request may start; the responses owed are still read.
    Closing(Closing),
    /// Handed over to another protocol (after `Event::Upgraded`).
    Switched,
    /// Failed: every call repeats the error.
    Dead(Error),
}

impl Lifecycle {
    // ----- questions ------------------------------------------------------------

    /// The fatal error, once dead.
    #[inline]
    pub(crate) fn error(&self) -> Option<&Error> {
        match self {
            Lifecycle::Dead(e) => Some(e),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn is_dead(&self) -> bool {
        matches!(self, Lifecycle::Dead(_))
    }

    #[inline]
    pub(crate) fn is_switched(&self) -> bool {
        matches!(self, Lifecycle::Switched)
    }

    /// Neither dead nor handed over: the connection still speaks HTTP.
    #[inline]
    pub(crate) fn is_alive(&self) -> bool {
        !matches!(self, Lifecycle::Dead(_) | Lifecycle::Switched)
    }

    #[inline]
    pub(crate) fn is_open(&self) -> bool {
        matches!(self, Lifecycle::Open)
    }

    #[inline]
    pub(crate) fn is_upgrade_pending(&self) -> bool {
        matches!(self, Lifecycle::UpgradePending)
    }

    /// No new request can be sent, now or later.
    #[inline]
    pub(crate) fn must_close(&self) -> bool {
        !matches!(self, Lifecycle::Open | Lifecycle::UpgradePending)
    }

    /// Whether a new request may start now (the dead case is the caller's
    /// to check first, to repeat its error).
    #[inline]
    pub(crate) fn check_new_request(&self) -> Result<(), Error> {
        match self {
            Lifecycle::Open => Ok(()),
            Lifecycle::UpgradePending | Lifecycle::Switched => {
                Err(Error::State(StateError::Upgrading))
            }
            Lifecycle::Closing(_) | Lifecycle::Dead(_) => Err(Error::State(StateError::Closing)),
        }
    }

    // ----- transitions ----------------------------------------------------------

    /// A request was queued.
    #[inline]
    pub(crate) fn request_sent(&mut self, facts: RequestFacts) {
        if !self.is_open() {
            return;
        }
        if facts.close {
            *self = Lifecycle::Closing(Closing::Sent);
        } else if facts.connect || facts.upgrade {
            *self = Lifecycle::UpgradePending;
        }
    }

    /// A response ended normally. `tunnel_refused`: it answered the
    /// `CONNECT` or upgrade request, so plain HTTP goes on;
    /// `announced_close`: it announced the server closes; `peer_gone`: the
    /// peer already closed and nothing more is owed.
    #[inline]
    pub(crate) fn response_ended(
        &mut self,
        tunnel_refused: bool,
        announced_close: bool,
        peer_gone: bool,
    ) {
        if tunnel_refused && self.is_upgrade_pending() {
            *self = Lifecycle::Open;
        }
        if !self.is_alive() {
            return;
        }
        if announced_close {
            *self = Lifecycle::Closing(Closing::Announced);
        } else if peer_gone {
            self.close(Closing::PeerClosed);
        }
    }

    /// A final response came before `100 Continue`: the held body is
    /// cancelled, and the request stream can no longer be delimited.
    #[inline]
    pub(crate) fn body_cancelled(&mut self) {
        if self.is_alive() {
            *self = Lifecycle::Closing(Closing::BodyCancelled);
        }
    }

    /// The peer closed its side.
    #[inline]
    pub(crate) fn peer_closed(&mut self) {
        self.close(Closing::PeerClosed);
    }

    /// The idle timeout passed (it runs only while open).
    #[inline]
    pub(crate) fn idle_expired(&mut self) {
        if self.is_open() {
            *self = Lifecycle::Closing(Closing::IdleExpired);
        }
    }

    /// The connection was handed over.
    #[inline]
    pub(crate) fn switched(&mut self) {
        if self.is_alive() {
            *self = Lifecycle::Switched;
        }
    }

    /// A fatal error.
    #[inline]
    pub(crate) fn fail(&mut self, error: Error) {
        if !self.is_dead() {
            *self = Lifecycle::Dead(error);
        }
    }

    /// Closing for `why`, unless it already is (the first reason stays),
    /// or is past it.
    fn close(&mut self, why: Closing) {
        if matches!(self, Lifecycle::Open | Lifecycle::UpgradePending) {
            *self = Lifecycle::Closing(why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(close: bool, connect: bool) -> RequestFacts {
        RequestFacts {
            close,
            connect,
            ..RequestFacts::default()
        }
    }

    #[test]
    fn transitions() {
        let mut l = Lifecycle::Open;
        l.request_sent(facts(false, false));
        assert_eq!(l, Lifecycle::Open);
        l.request_sent(facts(false, true));
        assert_eq!(l, Lifecycle::UpgradePending);
        assert_eq!(
            l.check_new_request(),
            Err(Error::State(StateError::Upgrading))
        );
        assert!(!l.must_close());
        // Refused: plain HTTP goes on.
        l.response_ended(true, false, false);
        assert_eq!(l, Lifecycle::Open);
        l.request_sent(facts(true, false));
        assert_eq!(l, Lifecycle::Closing(Closing::Sent));
        assert!(l.must_close());
        // The first reason stays, but an announcement or a cancelled body
        // is recorded.
        l.peer_closed();
        assert_eq!(l, Lifecycle::Closing(Closing::Sent));
        l.response_ended(false, true, false);
        assert_eq!(l, Lifecycle::Closing(Closing::Announced));
        l.fail(Error::State(StateError::NoBody));
        assert!(l.is_dead());
        l.switched();
        l.body_cancelled();
        l.response_ended(false, true, true);
        assert_eq!(l.error(), Some(&Error::State(StateError::NoBody)));

        let mut l = Lifecycle::Open;
        l.request_sent(facts(false, true));
        l.switched();
        assert!(l.is_switched() && !l.is_alive() && l.must_close());
        l.peer_closed();
        assert!(l.is_switched());

        let mut l = Lifecycle::Open;
        l.idle_expired();
        assert_eq!(l, Lifecycle::Closing(Closing::IdleExpired));
        assert_eq!(
            l.check_new_request(),
            Err(Error::State(StateError::Closing))
        );
    }
}
