//! A connection split into a sending half and a receiving half, for two
//! threads.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use bytes::Bytes;
use dugong_net::Error;
use dugong_proto::{Body, HeaderField, Headers, RequestId, Response};

use dugong_net::session::Reader;

use crate::conn::{Connection, Link};
use crate::transport::Waiter;

/// What the halves share: the session and the transport (a TLS session
/// reads and writes through one state) behind a lock that is never held
/// while waiting, and the signals between the halves. The response reader
/// is the receiving half's own.
#[derive(Debug)]
struct Shared {
    link: Mutex<Link>,
    waiter: Box<dyn Waiter>,
    /// Signalled when the sending half queues a request or goes away.
    sent: Condvar,
    sender_gone: AtomicBool,
    /// Signalled, when the sending half waits for it, as the receiving half
    /// reads responses or goes away.
    read: Condvar,
    sender_waiting: AtomicBool,
    receiver_gone: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Link> {
        // A panic in the other half leaves the state machine consistent
        // (every call either completes or returns before changing it).
        self.link.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits (for the sending half) until fewer than the connection's
    /// bound of requests are in flight, the receiving half is gone, or the
    /// connection broke.
    fn wait_for_room(&self) -> MutexGuard<'_, Link> {
        let mut conn = self.lock();
        while !conn.session().has_room()
            && conn.session().broken().is_none()
            && !self.receiver_gone.load(Ordering::SeqCst)
        {
            self.sender_waiting.store(true, Ordering::SeqCst);
            // The timeout only guards against a missed signal.
            conn = self
                .read
                .wait_timeout(conn, std::time::Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        self.sender_waiting.store(false, Ordering::SeqCst);
        conn
    }

    /// Tells a waiting sending half that responses were read.
    fn signal_read(&self) {
        if self.sender_waiting.load(Ordering::SeqCst) {
            // Take the lock so the signal cannot fall between the sender's
            // check and its wait.
            drop(self.lock());
            self.read.notify_all();
        }
    }

    /// Runs `op` under the lock; when it stops because the transport is not
    /// ready, waits for it without the lock and runs it again.
    fn drive<T>(&self, mut op: impl FnMut(&mut Link) -> Result<T, Error>) -> Result<T, Error> {
        loop {
            let (interest, limit, deadline) = {
                let mut conn = self.lock();
                let result = op(&mut conn);
                match conn.take_blocked() {
                    None => return result,
                    Some(interest) => {
                        let (limit, deadline) = conn.wait_limit();
                        (interest, limit, deadline)
                    }
                }
            };
            let ready = self.waiter.wait(interest, limit).map_err(Error::io)?;
            self.lock().after_wait(ready, deadline)?;
        }
    }
}

impl Connection {
    /// Splits the connection into a sending half and a receiving half that
    /// can be used from two threads at once: one sends requests (and
    /// streams bodies) while the other reads responses. Neither waits for
    /// the other; they share the state machine behind a lock that is never
    /// held while waiting for the network.
    ///
    /// ```no_run
    /// use dugong_blocking::{Body, Connection};
    ///
    /// let conn = Connection::connect("127.0.0.1", 8080)?;
    /// let (mut send, mut recv) = conn.split().expect("a TCP connection can be split");
    /// let sender = std::thread::spawn(move || {
    ///     for i in 0..1000 {
    ///         send.send_request("GET", &format!("/item/{i}"), [("Accept", "*/*")], Body::Empty)?;
    ///     }
    ///     Ok::<_, dugong_blocking::Error>(send)
    /// });
    /// for _ in 0..1000 {
    ///     let head = recv.read_response()?;
    ///     let body = recv.read_all()?;
    ///     println!("{} {}", head.status(), body.len());
    /// }
    /// let send = sender.join().unwrap()?;
    /// let conn = Connection::reunite(send, recv).expect("the halves of one connection");
    /// # Ok::<(), dugong_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Gives the connection back if its transport cannot be waited on from
    /// two threads (see [`Transport::waiter`](crate::Transport::waiter)):
    /// TCP, Unix sockets and TLS over them can.
    pub fn split(self) -> Result<(SendHalf, RecvHalf), Box<Connection>> {
        let (link, reader, waiter) = self.into_parts()?;
        let shared = Arc::new(Shared {
            link: Mutex::new(link),
            waiter,
            sent: Condvar::new(),
            sender_gone: AtomicBool::new(false),
            read: Condvar::new(),
            sender_waiting: AtomicBool::new(false),
            receiver_gone: AtomicBool::new(false),
        });
        Ok((
            SendHalf {
                shared: Arc::clone(&shared),
            },
            RecvHalf { shared, reader },
        ))
    }

    /// Puts the halves made by [`split`](Self::split) back together, as
    /// one connection that goes on where they left off (requests still in
    /// flight stay in flight).
    ///
    /// ```no_run
    /// use dugong_blocking::{Body, Connection};
    ///
    /// let conn = Connection::connect("127.0.0.1", 8080)?;
    /// let (mut send, mut recv) = conn.split().expect("a TCP connection can be split");
    /// send.send_request("GET", "/a", [("Accept", "*/*")], Body::Empty)?;
    /// recv.read_response()?;
    /// recv.discard()?;
    /// let mut conn = Connection::reunite(send, recv).expect("the halves of one connection");
    /// conn.send_request("GET", "/b", [("Accept", "*/*")], Body::Empty)?;
    /// # Ok::<(), dugong_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Gives the halves back, unchanged, if they are not two halves of one
    /// connection.
    // The halves are given back whole, as dugong-tokio does.
    #[allow(clippy::result_large_err)]
    pub fn reunite(send: SendHalf, mut recv: RecvHalf) -> Result<Connection, (SendHalf, RecvHalf)> {
        if !Arc::ptr_eq(&send.shared, &recv.shared) {
            return Err((send, recv));
        }
        let shared = Arc::clone(&send.shared);
        let reader = std::mem::replace(&mut recv.reader, Reader::new(0));
        drop(send);
        drop(recv);
        let shared =
            Arc::into_inner(shared).expect("both halves were given, so no other reference exists");
        let link = shared.link.into_inner().unwrap_or_else(|p| p.into_inner());
        Ok(Connection::from_parts(link, reader))
    }
}

/// The sending half of a [split](Connection::split) connection.
#[derive(Debug)]
pub struct SendHalf {
    shared: Arc<Shared>,
}

impl SendHalf {
    /// As [`Connection::send_request`].
    ///
    /// # Errors
    ///
    /// As [`Connection::send_request`].
    pub fn send_request<I>(
        &mut self,
        method: &str,
        target: &str,
        headers: I,
        body: Body,
    ) -> Result<RequestId, Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        let id = self.queue_request(method, target, headers, body)?;
        self.flush()?;
        Ok(id)
    }

    /// As [`Connection::queue_request`]: queued, written by the next
    /// [`flush`](Self::flush) or send.
    ///
    /// # Errors
    ///
    /// As [`Connection::queue_request`].
    pub fn queue_request<I>(
        &mut self,
        method: &str,
        target: &str,
        headers: I,
        body: Body,
    ) -> Result<RequestId, Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        drop(self.shared.wait_for_room());
        self.queued(|link| link.queue_request(method, target, headers, body))
    }

    /// As [`Connection::flush`].
    ///
    /// # Errors
    ///
    /// As [`Connection::flush`].
    pub fn flush(&mut self) -> Result<(), Error> {
        self.shared.drive(Link::flush)
    }

    /// As [`Connection::send_body`].
    ///
    /// # Errors
    ///
    /// As [`Connection::send_body`].
    pub fn send_body(&mut self, data: Bytes) -> Result<(), Error> {
        self.shared.lock().queue_body(data)?;
        self.shared.drive(Link::flush)
    }

    /// As [`Connection::write_body`].
    ///
    /// # Errors
    ///
    /// As [`Connection::send_body`].
    pub fn write_body(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_body(Bytes::copy_from_slice(data))
    }

    /// As [`Connection::finish`].
    ///
    /// # Errors
    ///
    /// As [`Connection::finish`].
    pub fn finish(&mut self) -> Result<(), Error> {
        self.finish_with_trailers([] as [(&str, &str); 0])
    }

    /// As [`Connection::finish_with_trailers`].
    ///
    /// # Errors
    ///
    /// As [`Connection::finish_with_trailers`].
    pub fn finish_with_trailers<I>(&mut self, trailers: I) -> Result<(), Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        self.shared.lock().queue_finish(trailers)?;
        self.shared.drive(Link::flush)
    }

    /// As [`Connection::is_usable`].
    pub fn is_usable(&self) -> bool {
        self.shared.lock().session().is_usable()
    }

    /// Puts the two halves back together: `send.reunite(recv)` is
    /// [`Connection::reunite(send, recv)`](Connection::reunite).
    ///
    /// # Errors
    ///
    /// As [`Connection::reunite`]: gives the halves back if they are not
    /// two halves of one connection.
    #[allow(clippy::result_large_err)]
    pub fn reunite(self, recv: RecvHalf) -> Result<Connection, (SendHalf, RecvHalf)> {
        Connection::reunite(self, recv)
    }

    /// Joins the two halves into one connection again.
    ///
    /// # Panics
    ///
    /// If the halves come from different connections.
    #[deprecated(
        since = "0.1.1",
        note = "use Connection::reunite, which returns the halves instead of panicking"
    )]
    pub fn unsplit(self, recv: RecvHalf) -> Connection {
        match Connection::reunite(self, recv) {
            Ok(conn) => conn,
            Err(_) => panic!("the halves belong to different connections"),
        }
    }
}

/// A look at a split connection's state from outside its halves, for the
/// pool: never waits (the shared lock is never held while waiting).
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    shared: Arc<Shared>,
}

impl Probe {
    /// The fates of the requests in flight (as the state machine tells).
    pub(crate) fn unanswered(&self) -> dugong_proto::Closed {
        self.shared.lock().session().proto().unanswered()
    }

    /// (usable for a new request, its window has room).
    pub(crate) fn load(&self) -> (bool, bool) {
        let link = self.shared.lock();
        (link.session().is_usable(), link.session().has_room())
    }

    /// Waits until the window has room (or the connection broke, or the
    /// receiving half is gone), without holding anything of the caller's.
    pub(crate) fn wait_for_room(&self) {
        drop(self.shared.wait_for_room());
    }

    /// Shuts the transport down: the halves' calls fail from now on.
    pub(crate) fn shut_down(&self) {
        self.shared.lock().shut_down();
        self.shared.sent.notify_all();
        self.shared.read.notify_all();
    }
}

impl SendHalf {
    /// Queues a request of the pool, without waiting for room in the
    /// window (for a caller that must not wait for its own reads).
    pub(crate) fn queue_pooled(
        &mut self,
        request: &dugong_net::pool::PooledRequest,
    ) -> Result<RequestId, Error> {
        let (method, target) = (request.method(), request.target());
        self.queued(|link| link.queue_request(method, target, request.fields(), request.body()))
    }

    /// Queues with `queue`, then tells a receiving half waiting for a
    /// request.
    fn queued(
        &mut self,
        queue: impl FnOnce(&mut Link) -> Result<RequestId, Error>,
    ) -> Result<RequestId, Error> {
        let id = queue(&mut self.shared.lock())?;
        self.shared.sent.notify_all();
        Ok(id)
    }

    /// A [`Probe`] of this connection.
    pub(crate) fn probe(&self) -> Probe {
        Probe {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl RecvHalf {
    /// True while the body of the current response is unread.
    pub(crate) fn body_pending(&self) -> bool {
        self.reader.in_body()
    }
}

impl Drop for SendHalf {
    fn drop(&mut self) {
        self.shared.sender_gone.store(true, Ordering::SeqCst);
        self.shared.sent.notify_all();
    }
}

/// The receiving half of a [split](Connection::split) connection.
#[derive(Debug)]
pub struct RecvHalf {
    shared: Arc<Shared>,
    /// The response being read.
    reader: Reader,
}

impl RecvHalf {
    /// As [`Connection::read_response`], except that when no request is
    /// pending it waits for the sending half to send one (the receiving
    /// thread may run ahead of the sending one).
    ///
    /// # Errors
    ///
    /// As [`Connection::read_response`]; a usage error if no request is
    /// pending and the sending half is gone.
    pub fn read_response(&mut self) -> Result<Response, Error> {
        {
            let mut conn = self.shared.lock();
            while conn.session().proto().in_flight() == 0
                && !self.reader.in_body()
                && !self.shared.sender_gone.load(Ordering::SeqCst)
                && conn.session().broken().is_none()
            {
                conn = self
                    .shared
                    .sent
                    .wait(conn)
                    .unwrap_or_else(|p| p.into_inner());
            }
        }
        let reader = &mut self.reader;
        let head = self.shared.drive(|link| link.read_response(reader));
        self.shared.signal_read();
        head
    }

    /// As [`Connection::informational`] (a copy).
    pub fn informational(&self) -> Vec<Response> {
        self.reader.informational().to_vec()
    }

    /// As [`Connection::read_body`].
    ///
    /// # Errors
    ///
    /// As [`Connection::read_body`].
    pub fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let reader = &mut self.reader;
        let n = self.shared.drive(|link| link.read_body(reader, buf));
        if matches!(n, Ok(0) | Err(_)) {
            self.shared.signal_read();
        }
        n
    }

    /// As [`Connection::read_chunk`].
    ///
    /// # Errors
    ///
    /// As [`Connection::read_body`].
    pub fn read_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let reader = &mut self.reader;
        let piece = self
            .shared
            .drive(|link| link.read_with(reader, Reader::poll_chunk));
        if matches!(piece, Ok(None) | Err(_)) {
            self.shared.signal_read();
        }
        piece
    }

    /// As [`Connection::read_all`]: bounded by
    /// [`Builder::max_read_all`](crate::Builder::max_read_all) (16 MiB by
    /// default); a longer body fails with
    /// [`Error::BodyTooLarge`] as soon as the bytes read pass the limit, and
    /// breaks the connection (for both halves).
    ///
    /// # Errors
    ///
    /// As [`Connection::read_all`].
    pub fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let reader = &mut self.reader;
        let result = self
            .shared
            .drive(|link| link.read_all_into(reader, &mut out));
        // A sending half waiting for room must see the end (or the break).
        self.shared.signal_read();
        result.map(|()| out)
    }

    /// As [`Connection::discard`].
    ///
    /// # Errors
    ///
    /// As [`Connection::read_body`].
    pub fn discard(&mut self) -> Result<(), Error> {
        while self.read_chunk()?.is_some() {}
        Ok(())
    }

    /// As [`Connection::trailers`] (a copy).
    pub fn trailers(&self) -> Option<Headers> {
        self.reader.trailers().cloned()
    }

    /// How many requests wait for (the rest of) their responses; never more
    /// than the builder's [`max_in_flight`](crate::Builder::max_in_flight).
    pub fn in_flight(&self) -> usize {
        self.shared.lock().session().proto().in_flight()
    }

    /// As [`Connection::response_pending`].
    pub fn response_pending(&self) -> bool {
        self.reader.in_body() || self.in_flight() > 0
    }

    /// The body of the current response as a [`std::io::Read`].
    pub fn body_reader(&mut self) -> SplitBodyReader<'_> {
        SplitBodyReader { half: self }
    }
}

impl Drop for RecvHalf {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::SeqCst);
        drop(self.shared.lock());
        self.shared.read.notify_all();
    }
}

/// The body of the current response of a [`RecvHalf`] as a
/// [`std::io::Read`].
#[derive(Debug)]
pub struct SplitBodyReader<'a> {
    half: &'a mut RecvHalf,
}

impl io::Read for SplitBodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.half.read_body(buf)?)
    }
}
