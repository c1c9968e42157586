//! What the sending and the receiving half of a connection share: the
//! [`Session`] behind a lock that is never held across an `.await`, the
//! clock, and the wakers each half leaves for the other; and what each
//! half does for the other when one task drives both ([`WriteQueued`],
//! [`ReadAhead`]).
//!
//! Each lock taken costs two atomic read-modify-write instructions, which
//! is most of what a pipelined response costs a split connection beyond
//! the protocol work; so every release of the lock also leaves what the
//! halves ask for most often (requests in flight, room in the pipelining
//! window, a broken connection) in an atomic [`Gauge`] they read without
//! the lock.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll, Waker};

use dugong_net::session::Session;
use dugong_net::{Error, PerConnection, Settings};
use tokio::time::{Instant, Sleep};

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
    /// What the session said at the last release of the lock.
    gauge: Gauge,
    /// The origin of the clock handed to the session.
    started: Instant,
    /// The session has deadlines that run outside waits (idle, read or
    /// write timeout): look at the clock after responses and before
    /// requests.
    ticks: bool,
    /// What the TLS handshake negotiated (also the session's; kept here
    /// to be lent without the lock).
    #[cfg(feature = "tls")]
    pub(crate) tls_info: Option<dugong_net::tls::TlsInfo>,
}

/// The mutable state, locked briefly by either half.
pub(crate) struct Core {
    /// The state machine and the connection's state around it.
    pub(crate) session: Session,
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
        #[cfg(feature = "tls")]
        let tls_info = per.tls_info.clone();
        let session = Session::new(settings, per);
        let config = session.proto().config();
        let ticks = config.idle_timeout().is_some()
            || config.read_timeout().is_some()
            || config.write_timeout().is_some();
        let gauge = Gauge::default();
        gauge.set(&session);
        Shared {
            gauge,
            core: Mutex::new(Core {
                session,
                sender_gone: false,
                receiver_gone: false,
                send_waker: None,
                recv_waker: None,
                send_io_waker: None,
                recv_io_waker: None,
            }),
            started: Instant::now(),
            ticks,
            #[cfg(feature = "tls")]
            tls_info,
        }
    }

    pub(crate) fn lock(&self) -> CoreGuard<'_> {
        // A panic while holding the lock leaves the protocol state as the
        // last completed call left it; carry on with it.
        CoreGuard {
            guard: self
                .core
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
            gauge: &self.gauge,
        }
    }

    /// How many requests wait for (the rest of) their responses, as of the
    /// last release of the lock.
    pub(crate) fn in_flight(&self) -> usize {
        self.gauge.in_flight()
    }

    /// True if one more request fits in the pipelining window, as of the
    /// last release of the lock.
    pub(crate) fn has_room(&self) -> bool {
        self.gauge.has_room()
    }

    /// True if the driver or the caller broke the connection
    /// ([`Session::broken`]), as of the last release of the lock.
    pub(crate) fn broken(&self) -> bool {
        self.gauge.broken()
    }

    fn proto_now(&self, at: Instant) -> dugong_proto::Instant {
        dugong_proto::Instant::from_elapsed(at.saturating_duration_since(self.started))
    }

    /// Breaks the connection with `error` and wakes both halves.
    pub(crate) fn fail(&self, core: &mut Core, error: Error) -> Error {
        let error = core.session.fail(error);
        core.wake_both();
        error
    }

    /// Runs the session's deadlines that are due now (outside a wait), and
    /// wakes both halves if one was.
    pub(crate) fn tick(&self, core: &mut Core) {
        if self.ticks {
            let now = self.proto_now(Instant::now());
            if core.session.poll_timeout(now).is_some_and(|at| at <= now) {
                let _ = core.session.handle_timeout(now);
                core.wake_both();
            }
        }
    }

    pub(crate) fn usable(&self) -> bool {
        let mut core = self.lock();
        self.tick(&mut core);
        core.session.is_usable()
    }
}

/// The locked [`Core`]: releasing it updates the [`Gauge`].
pub(crate) struct CoreGuard<'a> {
    guard: MutexGuard<'a, Core>,
    gauge: &'a Gauge,
}

impl Deref for CoreGuard<'_> {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.guard
    }
}

impl DerefMut for CoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Core {
        &mut self.guard
    }
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        // Before the lock is released (the field is dropped after this):
        // the session only changes under the lock, so the gauge always
        // holds what the last holder left.
        self.gauge.set(&self.guard.session);
    }
}

/// The session's requests in flight, whether its window has room and
/// whether it is broken, kept in one atomic word
/// (`in_flight << 2 | broken << 1 | room`) for reads without the lock: a
/// load and a store are plain moves on common hardware, where the lock
/// costs two atomic read-modify-writes. Like any look at a connection the
/// other half may use meanwhile, a value read is a snapshot.
#[derive(Default)]
struct Gauge(AtomicUsize);

impl Gauge {
    const ROOM: usize = 1;
    const BROKEN: usize = 2;

    fn set(&self, session: &Session) {
        let mut word = session.proto().in_flight() << 2;
        if session.has_room() {
            word |= Self::ROOM;
        }
        if session.broken().is_some() {
            word |= Self::BROKEN;
        }
        self.0.store(word, Ordering::Release);
    }

    fn in_flight(&self) -> usize {
        self.0.load(Ordering::Acquire) >> 2
    }

    fn has_room(&self) -> bool {
        self.0.load(Ordering::Acquire) & Self::ROOM != 0
    }

    fn broken(&self) -> bool {
        self.0.load(Ordering::Acquire) & Self::BROKEN != 0
    }
}

impl Core {
    pub(crate) fn wait_as_sender(&mut self, waker: &Waker) {
        park(&mut self.send_waker, waker);
    }

    pub(crate) fn wait_as_receiver(&mut self, waker: &Waker) {
        park(&mut self.recv_waker, waker);
    }

    pub(crate) fn park_sender(&mut self, waker: &Waker) {
        park(&mut self.send_io_waker, waker);
    }

    pub(crate) fn park_receiver(&mut self, waker: &Waker) {
        park(&mut self.recv_io_waker, waker);
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

/// A look at a split connection's state from outside its halves, for the
/// pooled [`Client`](crate::Client): each call takes the shared lock
/// briefly and never waits.
pub(crate) struct Probe {
    shared: Arc<Shared>,
}

impl Probe {
    pub(crate) fn new(shared: Arc<Shared>) -> Probe {
        Probe { shared }
    }

    /// The fates of the requests in flight, as the state machine tells.
    pub(crate) fn unanswered(&self) -> dugong_proto::Closed {
        self.shared.lock().session.proto().unanswered()
    }

    /// (takes a new request, its pipelining window has room), after the
    /// deadlines due now.
    pub(crate) fn load(&self) -> (bool, bool) {
        let mut core = self.shared.lock();
        self.shared.tick(&mut core);
        (core.session.is_usable(), core.session.has_room())
    }

    /// Breaks the connection with `error` (unless it is broken already)
    /// and wakes both halves: their calls fail from now on, and nothing
    /// more can be queued.
    pub(crate) fn shut_down(&self, error: Error) {
        let mut core = self.shared.lock();
        if core.session.broken().is_none() {
            self.shared.fail(&mut core, error);
        } else {
            core.wake_both();
        }
    }
}

/// Keeps `waker` in `slot` (no clone when the one there wakes the same
/// task).
fn park(slot: &mut Option<Waker>, waker: &Waker) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
        *slot = Some(waker.clone());
    }
}

/// Sleeps until the session's next deadline, one per half.
#[derive(Default)]
pub(crate) struct Timer {
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Timer {
    /// Waits for the session's next deadline (`Pending` forever if none
    /// runs), then acts on it and wakes both halves: `Ready(Ok)` to look
    /// at the state again, or the timeout that broke the connection.
    pub(crate) fn poll(
        &mut self,
        shared: &Shared,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Error>> {
        let due = {
            let mut core = shared.lock();
            core.session.poll_timeout(shared.proto_now(Instant::now()))
        };
        let Some(due) = due else {
            self.sleep = None;
            return Poll::Pending;
        };
        let target = shared.started + due.elapsed_since_origin();
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
        let mut core = shared.lock();
        let result = core
            .session
            .handle_timeout(shared.proto_now(Instant::now()));
        core.wake_both();
        Poll::Ready(result)
    }
}
