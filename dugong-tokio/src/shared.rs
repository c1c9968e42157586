//! What the sending and the receiving half of a connection share: the
//! protocol state behind a lock that is never held across an `.await`, the
//! settings, the clock, and the wakers each half leaves for the other; and
//! what each half does for the other when one task drives both
//! ([`WriteQueued`], [`ReadAhead`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use dugong_net::{Error, PerConnection, Phase, RequestExtras, Settings, Trace};
use dugong_proto::RequestId;
use tokio::time::{Instant, Sleep};

/// The error of every call after [`Connection::disconnect`](crate::Connection::disconnect).
pub(crate) const DISCONNECTED: &str = "the connection was disconnected";

/// What a receiving call does for the sending direction when one task
/// drives both (a [`Connection`](crate::Connection), or a body reader made
/// from one): write what is queued. Implemented by the
/// [`SendHalf`](crate::SendHalf), so the receiving half needs no more of it.
pub(crate) trait WriteQueued {
    /// Writes what is queued until it is all written (and the transport
    /// flushed) or the transport would block.
    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>>;
}

/// What a sending call does for the receiving direction when one task
/// drives both: read what arrives meanwhile into the receive buffer, so a
/// server that answers before it reads more cannot deadlock the
/// connection. Implemented by the [`RecvHalf`](crate::RecvHalf).
pub(crate) trait ReadAhead {
    /// Reads once into the receive buffer: `Ready(Ok(true))` when bytes
    /// arrived, `Ready(Ok(false))` at the end of stream.
    fn poll_read_ahead(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Error>>;
}

/// Shared by the two halves of one connection (behind an `Arc`).
pub(crate) struct Shared {
    core: Mutex<Core>,
    /// "No data moved for this long" fails the connection.
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_buffered: usize,
    pub(crate) window: dugong_net::Window,
    pub(crate) trace: Option<Trace>,
    /// The origin of the clock handed to the state machine.
    started: Instant,
    /// The configuration has deadlines that run outside waits (idle or
    /// read timeout): look at the clock after responses and before
    /// requests.
    ticks: bool,
    /// What every request gets added (through an HTTP proxy).
    pub(crate) extras: RequestExtras,
    /// What [`Connection::reconnect`](crate::Connection::reconnect)
    /// connects with.
    pub(crate) settings: Option<Settings>,
    #[cfg(feature = "tls")]
    pub(crate) tls_info: Option<dugong_net::tls::TlsInfo>,
}

/// The mutable state, locked briefly by either half.
pub(crate) struct Core {
    pub(crate) proto: dugong_proto::Connection,
    /// The error that broke the transport, repeated by every later call.
    pub(crate) broken: Option<Error>,
    /// Writing failed because the peer went away; reading goes on.
    pub(crate) send_closed: bool,
    /// The peer closed its side.
    pub(crate) eof: bool,
    /// When a byte last moved in either direction.
    pub(crate) last_progress: Instant,
    /// A body held for `100 Continue` was released by the continue delay;
    /// the next `read_response` reports it.
    pub(crate) released: Option<RequestId>,
    /// The sending half was dropped: no request will come any more.
    pub(crate) sender_gone: bool,
    /// The receiving half was dropped: no response will be read any more.
    pub(crate) receiver_gone: bool,
    /// The sending half waits for a held body to be released.
    send_waker: Option<Waker>,
    /// The receiving half waits for a request to be sent.
    recv_waker: Option<Waker>,
    /// The halves wait for the transport: woken only if the connection
    /// breaks (kept apart so the busy paths cause no spurious wakeups).
    send_io_waker: Option<Waker>,
    recv_io_waker: Option<Waker>,
}

impl Shared {
    /// The shared part of a connection with the builder's `settings` and
    /// this connection's own values.
    pub(crate) fn new(settings: &Settings, per: PerConnection) -> Shared {
        let now = Instant::now();
        let config = settings.config();
        let ticks = config.idle_timeout().is_some() || config.read_timeout().is_some();
        let mut proto = dugong_proto::Connection::new(config.clone());
        proto.set_host(per.host.map(bytes::Bytes::from));
        if per.trace.as_ref().is_some_and(|t| !t.keeps_secrets()) {
            proto.set_track_secrets(true);
        }
        Shared {
            core: Mutex::new(Core {
                proto,
                broken: None,
                send_closed: false,
                eof: false,
                last_progress: now,
                released: None,
                sender_gone: false,
                receiver_gone: false,
                send_waker: None,
                recv_waker: None,
                send_io_waker: None,
                recv_io_waker: None,
            }),
            timeout: settings.timeout(),
            max_buffered: settings.max_buffered(),
            window: settings.window(),
            trace: per.trace,
            started: now,
            ticks,
            extras: per.extras,
            settings: per.reconnect.then(|| settings.clone()),
            #[cfg(feature = "tls")]
            tls_info: per.tls_info,
        }
    }

    /// Locks the core. Callers never hold the guard across an `.await`.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Core> {
        // A panic while holding the lock leaves the protocol state as the
        // last completed call left it; carry on with it.
        self.core
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The state machine's clock reading for `at`.
    pub(crate) fn proto_now(&self, at: Instant) -> dugong_proto::Instant {
        dugong_proto::Instant::from_elapsed(at.saturating_duration_since(self.started))
    }

    fn tokio_instant(&self, at: dugong_proto::Instant) -> Instant {
        self.started + at.elapsed_since_origin()
    }

    /// Records an error that breaks the connection, and returns it.
    pub(crate) fn fail(&self, core: &mut Core, error: Error) -> Error {
        tracing::debug!(%error, "dugong: connection broken");
        self.note(&format!("error: {error}"));
        core.broken = Some(error.clone());
        core.wake_both();
        error
    }

    /// Writes a `note` record to the trace, if there is one.
    pub(crate) fn note(&self, text: &str) {
        if let Some(trace) = &self.trace {
            trace.note(text);
        }
    }

    /// Acts on the state machine's deadlines that passed (and starts those
    /// that begin now): a body held for `100 Continue` released by the
    /// continue delay is remembered for the receiving side to report.
    /// Returns whether anything changed.
    fn fire_timers(&self, core: &mut Core, now: Instant) -> bool {
        let before = (
            core.proto.awaiting_continue(),
            core.proto.must_close(),
            core.proto.error().is_some(),
        );
        let released = core.proto.handle_timeout(self.proto_now(now));
        if let Some(id) = released.filter(|_| core.proto.error().is_none()) {
            tracing::debug!(id = id.as_u64(), "dugong: continue delay passed");
            self.note("continue delay passed: sending the body");
            core.released = Some(id);
        }
        let after = (
            core.proto.awaiting_continue(),
            core.proto.must_close(),
            core.proto.error().is_some(),
        );
        before != after
    }

    /// Lets the state machine look at the clock outside a wait: after a
    /// response (the idle timeout starts), before a request (an idle
    /// connection the server may be closing is not used), and when the
    /// caller asks whether the connection is usable.
    pub(crate) fn tick(&self, core: &mut Core) {
        if self.ticks && self.fire_timers(core, Instant::now()) {
            core.wake_both();
        }
    }

    /// True if the connection can take another request now.
    pub(crate) fn usable(&self) -> bool {
        let mut core = self.lock();
        self.tick(&mut core);
        core.usable()
    }
}

impl Core {
    /// True if the connection can take another request now.
    pub(crate) fn usable(&self) -> bool {
        self.broken.is_none()
            && !self.send_closed
            && !self.eof
            && self.proto.error().is_none()
            && !self.proto.must_close()
            && !self.proto.upgrade_pending()
    }

    /// The error that broke the connection (transport or protocol), if any.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        if let Some(e) = self.proto.error() {
            return Err(Error::Protocol(e.clone()));
        }
        Ok(())
    }

    pub(crate) fn error(&self) -> Option<Error> {
        self.check().err()
    }

    pub(crate) fn progress(&mut self) {
        self.last_progress = Instant::now();
    }

    pub(crate) fn wait_as_sender(&mut self, waker: &Waker) {
        self.send_waker = Some(waker.clone());
    }

    pub(crate) fn wait_as_receiver(&mut self, waker: &Waker) {
        self.recv_waker = Some(waker.clone());
    }

    pub(crate) fn park_sender(&mut self, waker: &Waker) {
        if !self
            .send_io_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(waker))
        {
            self.send_io_waker = Some(waker.clone());
        }
    }

    pub(crate) fn park_receiver(&mut self, waker: &Waker) {
        if !self
            .recv_io_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(waker))
        {
            self.recv_io_waker = Some(waker.clone());
        }
    }

    pub(crate) fn wake_sender(&mut self) {
        if let Some(waker) = self.send_waker.take() {
            waker.wake();
        }
    }

    pub(crate) fn wake_receiver(&mut self) {
        if let Some(waker) = self.recv_waker.take() {
            waker.wake();
        }
    }

    /// Wakes every waiting half (the connection broke, or a deadline
    /// passed).
    pub(crate) fn wake_both(&mut self) {
        self.wake_sender();
        self.wake_receiver();
        for waker in [self.send_io_waker.take(), self.recv_io_waker.take()]
            .into_iter()
            .flatten()
        {
            waker.wake();
        }
    }
}

/// The deadline one half waits for: the state machine's next deadline
/// (continue delay, idle and read timeouts of its [`Config`]) and, while the
/// half waits for the transport, "no data moved for `timeout`".
///
/// The idle clock of a wait starts at the later of the last byte moved and
/// the start of the wait, so time the caller spent not waiting (between a
/// request and reading its response) does not count.
#[derive(Default)]
pub(crate) struct Timer {
    sleep: Option<Pin<Box<Sleep>>>,
    /// When the current wait started; `None` between waits.
    since: Option<Instant>,
}

impl Timer {
    /// The wait ended: the transport did something.
    pub(crate) fn done(&mut self) {
        self.since = None;
    }

    /// `Ready(Ok)` when a deadline of the state machine passed (and was
    /// handled: look at the state again); `Ready(Err)` when no data moved
    /// for the timeout while waiting in `phase`; `Pending` otherwise (with
    /// no deadline at all, nothing is registered: the caller waits on
    /// something else).
    pub(crate) fn poll(
        &mut self,
        shared: &Shared,
        cx: &mut Context<'_>,
        phase: Option<Phase>,
    ) -> Poll<Result<(), Error>> {
        let since = *self.since.get_or_insert_with(Instant::now);
        loop {
            let (due_proto, due_idle) = {
                let mut core = shared.lock();
                let at = core.proto.poll_timeout(shared.proto_now(Instant::now()));
                let idle = match (phase, shared.timeout) {
                    (Some(_), Some(t)) => Some(core.last_progress.max(since) + t),
                    _ => None,
                };
                (at.map(|at| shared.tokio_instant(at)), idle)
            };
            let target = match (due_proto, due_idle) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => {
                    self.sleep = None;
                    return Poll::Pending;
                }
            };
            let sleep = match &mut self.sleep {
                Some(sleep) => {
                    if sleep.deadline() != target {
                        sleep.as_mut().reset(target);
                    }
                    sleep
                }
                None => self
                    .sleep
                    .insert(Box::pin(tokio::time::sleep_until(target))),
            };
            ready!(sleep.as_mut().poll(cx));
            let now = Instant::now();
            let mut core = shared.lock();
            if due_proto.is_some_and(|at| at <= now) {
                shared.fire_timers(&mut core, now);
                core.wake_both();
                return Poll::Ready(Ok(()));
            }
            if let (Some(phase), Some(timeout)) = (phase, shared.timeout) {
                if core.last_progress.max(since) + timeout <= now {
                    return Poll::Ready(Err(shared.fail(&mut core, Error::TimedOut(phase))));
                }
            }
            // Data moved meanwhile: wait again from the new reference.
        }
    }
}
