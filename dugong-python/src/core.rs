//! `Core`: one connection's session driven over a Python socket.
//!
//! Every operation comes in two forms: a *step* (`*_step`) that makes all
//! the progress it can without waiting and returns `None` (or `False`)
//! when the socket would block, leaving the poll mask in [`Core::need`]
//! (the `co_*` coroutines yield it as `PollNeeded`); and a blocking form
//! that repeats the step, waiting with `poll(2)` without the GIL, at most
//! `timeout` seconds per wait (python-dugong's `eval_coroutine`
//! semantics). The session and the core decide everything else.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dugong_net::session::{Filled, Head, Progress, Reader, Session, MAX_READ_SIZE};
use dugong_net::{Error, PerConnection, Settings};
use dugong_proto::{Body, Fate, RequestId, Response};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::{PyBytes, PyList, PySlice, PyString, PyTuple};

use crate::errors;
use crate::sock::{wait, Socket, POLLIN, POLLOUT};

/// Most bytes handed to one `send`.
const MAX_SEND: usize = 256 * 1024;
/// How long a connection must have been quiet before a new request reads
/// what arrived meanwhile (the idle check).
const IDLE_CHECK_AFTER: Duration = Duration::from_millis(1);
/// Most bytes one `read(n)` returns (a larger `n` is capped).
const MAX_READ: usize = 1024 * 1024;
/// Reads of at least this many bytes go straight from the socket to the
/// caller when nothing of the body waits in the receive buffer.
const DIRECT_MIN: usize = 4 * 1024;

/// A request sent and not yet answered with a final head: what the
/// response reports as its `method` and `path`.
struct Sent {
    id: RequestId,
    method: String,
    path: String,
}

/// One HTTP/1.1 connection over a Python socket, usable from any thread:
/// its state sits behind a mutex that a call holds only while it moves
/// bytes, never while it waits, so one thread may send while another waits
/// for a response (python-dugong allows that).
#[pyclass(module = "dugong._dugong", frozen)]
pub(crate) struct Core {
    /// The socket's file descriptor (waits need it without the state).
    fd: i32,
    state: Mutex<Conn>,
}

/// The state of a [`Core`].
struct Conn {
    session: Session,
    reader: Reader,
    sock: Socket,
    sent: VecDeque<Sent>,
    /// The request whose response body is being read (for the account of
    /// a connection that closes before its end).
    reading: Option<Sent>,
    /// The request whose announced body the caller is still writing.
    body_for: Option<RequestId>,
    /// That body is chunked (an empty piece ends it).
    chunked: bool,
    /// The current body is close-delimited and its head did not announce
    /// the close: python-dugong refuses it (`UnsupportedResponse`) except
    /// through `read_raw`.
    raw_only: bool,
    /// A final response answered a request whose body waited for `100
    /// Continue`: the body is never sent, so the connection closes (the
    /// server cannot tell where the next request starts). Nothing else was
    /// lost: python-dugong's callers expect to go on, so the module opens
    /// a new connection for the next request.
    body_cancelled: bool,
    /// The idle check before a request found that the server had closed.
    idle_closed: bool,
    /// When bytes last arrived: the idle check before a request reads only
    /// if the connection was quiet for a while.
    last_received: Instant,
    /// Body bytes a `readall` step collected before it had to wait.
    collected: Vec<u8>,
    /// Bytes of `collected` already handed out by `read`.
    collected_at: usize,
    /// Where body bytes are copied out of the receive buffer (grown, never
    /// cleared, so a read does not zero-fill a fresh buffer each time).
    scratch: Vec<u8>,
}

#[pymethods]
impl Core {
    /// A connection to `host:port` over `sock` (connected, non-blocking).
    /// `proxy` (`(host, port)`) makes requests use the absolute form, as
    /// for a plain-HTTP proxy; `trace` names a trace file to write.
    #[new]
    #[pyo3(signature = (sock, host, port, proxy=None, trace=None))]
    fn new(
        sock: &Bound<'_, PyAny>,
        host: &str,
        port: u16,
        proxy: Option<(String, u16)>,
        trace: Option<std::path::PathBuf>,
    ) -> PyResult<Core> {
        let mut settings = Settings::new(host, port);
        let origin = settings
            .try_origin()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let mut per = PerConnection::for_origin(&origin, None);
        if let Some((proxy_host, proxy_port)) = proxy {
            let proxy_host = if proxy_host.contains(':') && !proxy_host.starts_with('[') {
                format!("[{proxy_host}]") // an IPv6 literal
            } else {
                proxy_host
            };
            let proxy = dugong_net::Proxy::parse(&format!("http://{proxy_host}:{proxy_port}"))
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            settings.set_proxy(proxy);
            let route = settings
                .route()
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            per.extras = dugong_net::RequestExtras::for_route(&route);
        }
        if let Some(path) = trace {
            settings.set_trace_file(path);
            per.trace = settings.open_trace(&format!("python connection to {host}:{port}"));
        }
        let conn = Conn {
            session: Session::new(&settings, per),
            reader: Reader::new(usize::MAX),
            sock: Socket::new(sock)?,
            sent: VecDeque::new(),
            reading: None,
            body_for: None,
            chunked: false,
            raw_only: false,
            body_cancelled: false,
            idle_closed: false,
            last_received: Instant::now(),
            collected: Vec::new(),
            collected_at: 0,
            scratch: Vec::new(),
        };
        Ok(Core {
            fd: conn.sock.fd(),
            state: Mutex::new(conn),
        })
    }

    /// The poll mask (`POLLIN`, `POLLOUT` or both) the last step that
    /// returned without a result waits for.
    #[getter]
    fn need(&self, py: Python<'_>) -> i16 {
        self.lock(py).sock.need
    }

    /// True when the connection cannot take another request but nothing
    /// was lost, so a new connection may carry it: a final response
    /// cancelled a body that waited for `100 Continue`, or the server
    /// closed the idle connection before the request was written.
    #[getter]
    fn may_reopen(&self, py: Python<'_>) -> bool {
        self.lock(py).may_reopen()
    }

    /// The socket's file descriptor.
    #[getter]
    fn fd(&self) -> i32 {
        self.fd
    }

    /// The socket object.
    #[getter]
    fn sock(&self, py: Python<'_>) -> Py<PyAny> {
        self.lock(py).sock.obj().clone_ref(py)
    }

    /// Queues a request: `body` is bytes (sent whole), `length` says that
    /// many bytes follow through `queue_body`, `chunked` a chunked body
    /// ended by an empty piece; with none of them the request has an empty
    /// body sent with `Content-Length: 0` (python-dugong's habit), or no
    /// framing field at all if `bodiless`. Returns the request's id. Writes
    /// nothing: call `flush`/`flush_step`.
    #[pyo3(signature = (method, path, headers, body=None, length=None, chunked=false, bodiless=false))]
    #[allow(clippy::too_many_arguments)]
    fn queue_request(
        &self,
        py: Python<'_>,
        method: &str,
        path: &str,
        headers: Vec<(String, String)>,
        body: Option<&Bound<'_, PyBytes>>,
        length: Option<u64>,
        chunked: bool,
        bodiless: bool,
    ) -> PyResult<u64> {
        let body = match (body, length, chunked) {
            (Some(data), None, false) => Body::Full(Bytes::copy_from_slice(data.as_bytes())),
            (None, Some(n), false) => Body::Sized(n),
            (None, None, true) => Body::Chunked,
            (None, None, false) if bodiless => Body::Empty,
            (None, None, false) => Body::Full(Bytes::new()),
            _ => return Err(PyValueError::new_err("give one of body, length or chunked")),
        };
        self.lock(py)
            .queue_request(py, method, path, &headers, body)
    }

    /// Queues body bytes of the request being sent (an empty piece ends a
    /// chunked body). Writes nothing: call `flush`/`flush_step`.
    fn queue_body(&self, py: Python<'_>, data: &Bound<'_, PyBytes>) -> PyResult<()> {
        self.lock(py).queue_body(py, data.as_bytes())
    }

    /// Writes what is queued without waiting; `True` once all is written.
    fn flush_step(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.lock(py).try_flush(py)?.is_some())
    }

    /// Writes everything queued, waiting at most `timeout` seconds for the
    /// socket each time.
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        self.drive(py, timeout, Conn::try_flush)
    }

    /// True while a response is owed or its body is not read to its end.
    fn response_pending(&self, py: Python<'_>) -> bool {
        self.lock(py).response_pending()
    }

    /// True while the caller owes body bytes of the request being sent.
    fn body_pending(&self, py: Python<'_>) -> bool {
        self.lock(py).body_pending()
    }

    /// True while a response body is being read.
    fn in_body(&self, py: Python<'_>) -> bool {
        self.lock(py).reader.in_body()
    }

    /// The next response head as `(status, reason, headers, length,
    /// method, path)`, or `None` when the socket would block.
    fn read_response_step(&self, py: Python<'_>) -> PyResult<Option<Py<PyTuple>>> {
        self.lock(py).try_read_response(py)
    }

    /// The next response head, waiting as `flush` does.
    #[pyo3(signature = (timeout=None))]
    fn read_response(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyTuple>> {
        self.drive(py, timeout, Conn::try_read_response)
    }

    /// Up to `n` bytes of the current body (`b""` at its end), or `None`
    /// when the socket would block.
    fn read_step(&self, py: Python<'_>, n: usize) -> PyResult<Option<Py<PyBytes>>> {
        self.lock(py).try_read(py, n, false)
    }

    /// Up to `n` bytes of the current body, waiting as `flush` does.
    #[pyo3(signature = (n, timeout=None))]
    fn read(&self, py: Python<'_>, n: usize, timeout: Option<f64>) -> PyResult<Py<PyBytes>> {
        self.drive(py, timeout, |conn, py| conn.try_read(py, n, false))
    }

    /// Body bytes into the writable buffer `view` (a `memoryview` of
    /// bytes): how many (0 at the end of the body), or `None` when the
    /// socket would block.
    fn readinto_step(&self, py: Python<'_>, view: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        self.lock(py).try_readinto(py, view)
    }

    /// Body bytes into `view`, waiting as `flush` does.
    #[pyo3(signature = (view, timeout=None))]
    fn readinto(
        &self,
        py: Python<'_>,
        view: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<usize> {
        self.drive(py, timeout, |conn, py| conn.try_readinto(py, view))
    }

    /// Up to `n` bytes of a body python-dugong cannot frame (no length, no
    /// chunking, no announced close), read until the server closes.
    #[pyo3(signature = (n, timeout=None))]
    fn read_raw(&self, py: Python<'_>, n: usize, timeout: Option<f64>) -> PyResult<Py<PyBytes>> {
        self.drive(py, timeout, |conn, py| conn.try_read(py, n, true))
    }

    /// Step form of `read_raw`.
    fn read_raw_step(&self, py: Python<'_>, n: usize) -> PyResult<Option<Py<PyBytes>>> {
        self.lock(py).try_read(py, n, true)
    }

    /// The rest of the current body, or `None` when the socket would block
    /// (what arrived so far is kept for the next call).
    fn readall_step(&self, py: Python<'_>) -> PyResult<Option<Py<PyBytes>>> {
        self.lock(py).try_readall(py)
    }

    /// The rest of the current body, waiting as `flush` does.
    #[pyo3(signature = (timeout=None))]
    fn readall(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyBytes>> {
        self.drive(py, timeout, Conn::try_readall)
    }

    /// Reads and drops the rest of the current body; `False` when the
    /// socket would block.
    fn discard_step(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.lock(py).try_discard(py)?.is_some())
    }

    /// Reads and drops the rest of the current body, waiting as `flush`
    /// does.
    #[pyo3(signature = (timeout=None))]
    fn discard(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        self.drive(py, timeout, Conn::try_discard)
    }

    /// After the response to a `CONNECT`: `True` if the tunnel opened (the
    /// core handed the connection over), after checking that nothing
    /// arrived after the head (the tunnel's first bytes are the TLS
    /// handshake's); `False` if the proxy refused.
    fn tunnel_opened(&self, py: Python<'_>) -> PyResult<bool> {
        self.lock(py).tunnel_opened(py)
    }

    /// The trailer fields of the last chunked body, as `(name, value)`
    /// pairs (empty for other bodies or before its end).
    fn trailers(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        self.lock(py).trailers(py)
    }

    /// The 1xx responses (but `100`) that came before the last final head,
    /// as `(status, reason, headers)` tuples.
    fn informational(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        self.lock(py).informational(py)
    }

    /// Stops the connection: nothing more is sent or read. The caller
    /// closes the socket.
    fn disconnect(&self, py: Python<'_>) {
        self.lock(py).disconnect();
    }
}

impl Core {
    /// The state, locked without holding the GIL while another thread has
    /// it (that thread may need the GIL to finish). A panic while it was
    /// held cannot leave it torn: every step leaves the state consistent
    /// before it calls into Python.
    fn lock(&self, py: Python<'_>) -> MutexGuard<'_, Conn> {
        self.state
            .lock_py_attached(py)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Repeats `step` until it returns a value, waiting for the socket in
    /// between (at most `timeout` seconds each time) with the state
    /// unlocked, so another thread can use the connection meanwhile.
    fn drive<'py, T>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        mut step: impl FnMut(&mut Conn, Python<'py>) -> PyResult<Option<T>>,
    ) -> PyResult<T> {
        let limit = match timeout {
            Some(t) if t.is_finite() && t >= 0.0 => Some(Duration::from_secs_f64(t)),
            Some(t) if t.is_nan() || t < 0.0 => {
                return Err(PyValueError::new_err(
                    "timeout must be a non-negative number",
                ))
            }
            _ => None,
        };
        loop {
            let need = {
                let mut conn = self.lock(py);
                if let Some(value) = step(&mut conn, py)? {
                    return Ok(value);
                }
                conn.sock.need
            };
            if !wait(py, self.fd, need, limit)? {
                return Err(errors::timed_out(py));
            }
        }
    }
}

impl Conn {
    /// True when the connection cannot take another request but nothing
    /// was lost, so a new connection may carry it: a final response
    /// cancelled a body that waited for `100 Continue` (see the field), or
    /// the server closed the idle connection before the request was
    /// written.
    fn may_reopen(&self) -> bool {
        self.body_cancelled || self.idle_closed
    }

    /// Queues a request (after the idle check); its id.
    fn queue_request(
        &mut self,
        py: Python<'_>,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Body,
    ) -> PyResult<u64> {
        let streams = matches!(body, Body::Sized(_) | Body::Chunked);
        let chunked = matches!(body, Body::Chunked);
        self.check_idle(py)?;
        let id = self
            .session
            .queue_request(method, path, headers, body)
            .map_err(|e| self.raise(py, e))?;
        self.sent.push_back(Sent {
            id,
            method: method.to_owned(),
            path: path.to_owned(),
        });
        self.body_for = streams.then_some(id);
        self.chunked = chunked;
        Ok(id.as_u64())
    }

    /// Queues body bytes of the request being sent (an empty piece ends a
    /// chunked body). Writes nothing: call `flush`/`flush_step`.
    fn queue_body(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        self.check(py)?;
        if self.session.proto().awaiting_continue().is_some() {
            return Err(errors::state_error(
                py,
                "the server has not answered 100 Continue yet: read_response first",
            ));
        }
        if data.is_empty() && !self.chunked {
            return Ok(());
        }
        let result = if data.is_empty() {
            self.session
                .queue_finish(std::iter::empty::<(&str, &str)>())
        } else {
            self.session.queue_body(Bytes::copy_from_slice(data))
        };
        result.map_err(|e| self.raise(py, e))?;
        if !self.session.proto().is_sending_body() {
            self.body_for = None;
            self.chunked = false;
        }
        Ok(())
    }

    /// True while a response is owed or its body is not read to its end.
    fn response_pending(&self) -> bool {
        !self.sent.is_empty() || self.reader.in_body()
    }

    /// True while the caller owes body bytes of the request being sent.
    fn body_pending(&self) -> bool {
        self.body_for.is_some()
    }

    /// After the response to a `CONNECT`: `True` if the tunnel opened (the
    /// core handed the connection over), after checking that nothing
    /// arrived after the head (the tunnel's first bytes are the TLS
    /// handshake's); `False` if the proxy refused.
    fn tunnel_opened(&mut self, py: Python<'_>) -> PyResult<bool> {
        if self.reader.in_body() && self.reader.upgraded().is_none() {
            // The hand-over follows the head as an event of its own.
            self.poll_reader(py, Reader::poll_chunk)?;
        }
        let Some(rest) = self.reader.take_upgraded() else {
            return Ok(false);
        };
        dugong_net::session::tunnel_opened(&rest).map_err(|e| self.raise(py, e))?;
        Ok(true)
    }

    /// The trailer fields of the last chunked body, as `(name, value)`
    /// pairs (empty for other bodies or before its end).
    fn trailers(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let list = PyList::empty(py);
        if let Some(trailers) = self.reader.trailers() {
            for (name, value) in trailers.iter() {
                list.append((name, latin1(py, value)))?;
            }
        }
        Ok(list.unbind())
    }

    /// The 1xx responses (but `100`) that came before the last final head,
    /// as `(status, reason, headers)` tuples.
    fn informational(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let list = PyList::empty(py);
        for head in self.reader.informational() {
            list.append((head.status(), latin1(py, head.reason()), fields(py, head)?))?;
        }
        Ok(list.unbind())
    }

    /// Stops the connection: nothing more is sent or read. The caller
    /// closes the socket.
    fn disconnect(&mut self) {
        self.session.disconnect();
    }

    /// Turns a session error into the Python exception python-dugong
    /// raises for it (or the socket's own exception, when that caused it).
    fn raise(&mut self, py: Python<'_>, error: Error) -> PyErr {
        if let Some(raised) = self.sock.raised.take() {
            return raised;
        }
        let account = error.closed().map(|closed| {
            closed
                .unanswered()
                .iter()
                .map(|u| {
                    let (method, path) = self
                        .sent
                        .iter()
                        .chain(&self.reading)
                        .find(|s| s.id == u.id)
                        .map_or(("", ""), |s| (s.method.as_str(), s.path.as_str()));
                    (method.to_owned(), path.to_owned(), fate_name(u.fate))
                })
                .collect::<Vec<_>>()
        });
        errors::from_session(py, &error, account)
    }

    /// Writes until nothing is queued (`Some`) or the socket would block
    /// (`None`, `need` set).
    fn try_flush(&mut self, py: Python<'_>) -> PyResult<Option<()>> {
        self.check(py)?;
        while self.session.wants_write() {
            if !self.write_some(py).map_err(|e| self.raise(py, e))? {
                self.sock.need = POLLOUT;
                return Ok(None);
            }
        }
        Ok(Some(()))
    }

    /// One `send` of what is queued: `Ok(false)` if it would block.
    fn write_some(&mut self, py: Python<'_>) -> Result<bool, Error> {
        self.session.check_send()?;
        if self.sock.is_plain() {
            let mut slots = [IoSlice::new(&[]); 16];
            let result = self
                .sock
                .send_vectored(py, self.session.io_slices(&mut slots));
            return self.session.write_done(result);
        }
        let total = usize::try_from(self.session.proto().transmit_len())
            .unwrap_or(MAX_SEND)
            .min(MAX_SEND);
        let data = PyBytes::new_with(py, total, |out| {
            let mut at = 0;
            for segment in self.session.proto().transmit_segments() {
                let n = segment.len().min(total - at);
                out[at..at + n].copy_from_slice(&segment[..n]);
                at += n;
                if at == total {
                    break;
                }
            }
            Ok(())
        })
        .map_err(|e| {
            self.sock.raised = Some(e);
            Error::io(std::io::Error::other("cannot allocate the send buffer"))
        })?;
        let result = self.sock.send(py, data);
        self.session.write_done(result)
    }

    /// Moves bytes for a reader that needs more: writes what is queued if
    /// the socket takes it (a peer that stopped reading may still answer),
    /// then reads once. `Ok(false)` if the socket would block: the reader
    /// waits for `POLLIN` only, since the bytes still queued belong to a
    /// send call (another thread's, or a coroutine's) that waits for
    /// `POLLOUT` itself; asyncio's loop takes one waiter per direction.
    fn pump(&mut self, py: Python<'_>) -> Result<bool, Error> {
        self.session.check_more()?;
        if self.session.wants_write() {
            match self.write_some(py) {
                Ok(_) => {}
                Err(e) if e.closed().is_some() && self.session.send_closed() => {}
                Err(e) => return Err(e),
            }
        }
        let size = self.session.read_size();
        let sock = &mut self.sock;
        // What a blocked read waits for (a TLS socket may need to write).
        sock.need = POLLIN;
        let result = self
            .session
            .proto_mut()
            .read_into(size, |buf| sock.recv(py, buf));
        match self.session.read_done(result)? {
            Filled::Data(_) => {
                self.last_received = Instant::now();
                Ok(true)
            }
            Filled::Eof => Ok(true),
            Filled::Blocked => Ok(false),
        }
    }

    /// Runs `read` on the reader until it is done (`Some`) or the socket
    /// would block (`None`).
    fn poll_reader<T>(
        &mut self,
        py: Python<'_>,
        mut read: impl FnMut(&mut Reader, &mut dugong_proto::Connection) -> Result<Progress<T>, Error>,
    ) -> PyResult<Option<T>> {
        loop {
            let reader = &mut self.reader;
            match self.session.poll(|p| read(reader, p)) {
                Ok(Progress::Done(value)) => return Ok(Some(value)),
                Ok(Progress::Pending) => match self.pump(py) {
                    Ok(true) => {}
                    Ok(false) => return Ok(None),
                    Err(e) => return Err(self.raise(py, e)),
                },
                Err(e) => return Err(self.raise(py, e)),
            }
        }
    }

    fn try_read_response(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyTuple>>> {
        self.check(py)?;
        if self.sent.is_empty() && !self.reader.in_body() {
            return Err(errors::state_error(py, "No pending requests"));
        }
        if self.reader.in_body() {
            return Err(errors::state_error(
                py,
                "Previous response not read completely",
            ));
        }
        let front = self.sent.front().map(|s| s.id);
        if self.body_for.is_some()
            && self.body_for == front
            && self.session.proto().awaiting_continue().is_none()
            && !self.session.send_closed()
            && self.session.broken().is_none()
        {
            return Err(errors::state_error(
                py,
                "body data has not been sent completely yet",
            ));
        }
        let held = self.session.proto().awaiting_continue();
        let Some(head) = self.poll_reader(py, Reader::poll_head)? else {
            return Ok(None);
        };
        if let Head::Final(response) = &head {
            if held == Some(response.id()) {
                self.body_cancelled = true;
                self.body_for = None;
            }
        }
        let (response, length) = match head {
            Head::Continue(id) => (Response::continue_for(id), Some(0)),
            Head::Final(response) => {
                let proto = self.session.proto();
                self.raw_only = proto.body_until_close() && !proto.close_announced();
                let length = proto.body_remaining();
                if length == Some(0) {
                    // Nothing to read: end the body now, so the next head can
                    // be read without a call for it (as python-dugong does).
                    self.poll_reader(py, Reader::poll_discard)?;
                }
                (response, length)
            }
        };
        let at = self.sent.iter().position(|s| s.id == response.id());
        let (method, path) = match at {
            Some(at) if response.status() != 100 => {
                // The requests before it were answered already (their
                // responses were read) or never will be: forget them.
                match self.sent.drain(..=at).next_back() {
                    Some(sent) => {
                        let names = (sent.method.clone(), sent.path.clone());
                        self.reading = self.reader.in_body().then_some(sent);
                        names
                    }
                    None => (String::new(), String::new()),
                }
            }
            Some(at) => self
                .sent
                .get(at)
                .map(|s| (s.method.clone(), s.path.clone()))
                .unwrap_or_default(),
            None => (String::new(), String::new()),
        };
        let tuple = PyTuple::new(
            py,
            [
                response.status().into_pyobject(py)?.into_any(),
                latin1(py, response.reason()).into_any(),
                fields(py, &response)?.into_any(),
                length.into_pyobject(py)?.into_any(),
                PyString::new(py, &method).into_any(),
                PyString::new(py, &path).into_any(),
            ],
        )?;
        Ok(Some(tuple.unbind()))
    }

    fn check_framed(&self, py: Python<'_>, raw: bool) -> PyResult<()> {
        if self.raw_only && !raw && self.reader.in_body() {
            return Err(errors::unsupported(
                py,
                "No content-length and no chunked encoding",
            ));
        }
        Ok(())
    }

    fn try_read(&mut self, py: Python<'_>, n: usize, raw: bool) -> PyResult<Option<Py<PyBytes>>> {
        self.check(py)?;
        if let Some(out) = self.take_collected(n, |piece| PyBytes::new(py, piece).unbind()) {
            return Ok(Some(out));
        }
        if !self.reader.in_body() || n == 0 {
            return Ok(Some(PyBytes::new(py, b"").unbind()));
        }
        self.check_framed(py, raw)?;
        let want = n.min(MAX_READ);
        let max = self.direct_len(want);
        if max > 0 {
            let result = self.sock.recv_bytes(py, max);
            let (count, data) = match result {
                Ok(data) => (Ok(data.bind(py).as_bytes().len()), Some(data)),
                Err(e) => (Err(e), None),
            };
            let traced = match (&data, self.session.trace()) {
                (Some(data), Some(_)) => data.bind(py).as_bytes(),
                _ => &[],
            };
            match self.direct_done(py, count, traced)? {
                Filled::Data(_) => return Ok(data),
                Filled::Blocked => return Ok(None),
                // The state machine reports what the end means.
                Filled::Eof => {}
            }
        }
        let Some(got) = self.read_scratch(py, want.min(MAX_READ_SIZE))? else {
            return Ok(None);
        };
        Ok(Some(PyBytes::new(py, &self.scratch[..got]).unbind()))
    }

    /// Body bytes into the writable buffer `view` (a `memoryview` of
    /// bytes): how many, 0 at the end of the body, `None` when the socket
    /// would block. Straight from the socket (its `recv_into`) when nothing
    /// of the body waits in the receive buffer.
    fn try_readinto(&mut self, py: Python<'_>, view: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        self.check(py)?;
        let len = view.len()?;
        if let Some(filled) =
            self.take_collected(len, |piece| fill(view, piece).map(|()| piece.len()))
        {
            return filled.map(Some);
        }
        if !self.reader.in_body() || len == 0 {
            return Ok(Some(0));
        }
        self.check_framed(py, false)?;
        let max = self.direct_len(len);
        if max > 0 {
            let count = self.sock.recv_into(py, view, max);
            let traced = match (&count, self.session.trace()) {
                (Ok(n), Some(_)) => view
                    .get_item(PySlice::new(py, 0, *n as isize, 1))?
                    .call_method0("tobytes")?
                    .extract::<Vec<u8>>()?,
                _ => Vec::new(),
            };
            match self.direct_done(py, count, &traced)? {
                Filled::Data(n) => return Ok(Some(n)),
                Filled::Blocked => return Ok(None),
                Filled::Eof => {}
            }
        }
        let Some(got) = self.read_scratch(py, len.min(MAX_READ_SIZE))? else {
            return Ok(None);
        };
        fill(view, &self.scratch[..got])?;
        Ok(Some(got))
    }

    /// Hands up to `n` of the bytes a `readall` step collected before it
    /// had to wait to `out`, if any are left; `None` otherwise.
    fn take_collected<T>(&mut self, n: usize, out: impl FnOnce(&[u8]) -> T) -> Option<T> {
        let from = self.collected_at;
        if from >= self.collected.len() {
            return None;
        }
        let end = self.collected.len().min(from + n);
        let value = out(self.collected.get(from..end).unwrap_or_default());
        self.collected_at = end;
        if end == self.collected.len() {
            self.collected.clear();
            self.collected_at = 0;
        }
        Some(value)
    }

    /// Judges a read straight from the socket (`count` bytes, or its error;
    /// `traced`: those bytes when the session traces, else empty).
    fn direct_done(
        &mut self,
        py: Python<'_>,
        count: std::io::Result<usize>,
        traced: &[u8],
    ) -> PyResult<Filled> {
        let filled = self
            .session
            .read_direct_done(count, traced)
            .map_err(|e| self.raise(py, e))?;
        if matches!(filled, Filled::Data(_)) {
            self.last_received = Instant::now();
        }
        Ok(filled)
    }

    /// How many body bytes a read of `want` may take straight from the
    /// socket (0: through the receive buffer). Sets what a blocked read
    /// waits for.
    fn direct_len(&mut self, want: usize) -> usize {
        if want < DIRECT_MIN {
            return 0;
        }
        self.sock.need = POLLIN;
        self.session.direct_read_len(&self.reader, want)
    }

    /// Body bytes through the receive buffer into `scratch`: how many (0 at
    /// the end of the body), `None` when the socket would block. Callers
    /// ask for at most `MAX_READ_SIZE` (what one `recv` brings), so `scratch`
    /// stays small whatever buffer the caller reads into.
    fn read_scratch(&mut self, py: Python<'_>, want: usize) -> PyResult<Option<usize>> {
        if self.scratch.len() < want {
            self.scratch.resize(want, 0);
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let done = self.poll_reader(py, |reader, proto| {
            reader.poll_body(proto, &mut scratch[..want])
        });
        self.scratch = scratch;
        let Some(got) = done? else {
            return Ok(None);
        };
        self.body_done();
        Ok(Some(got))
    }

    fn try_readall(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyBytes>>> {
        self.check(py)?;
        self.check_framed(py, false)?;
        let mut collected = std::mem::take(&mut self.collected);
        let done = self.poll_reader(py, |reader, proto| {
            reader.poll_read_all(proto, &mut collected)
        });
        match done {
            Ok(Some(())) => {
                let out = PyBytes::new(py, collected.get(self.collected_at..).unwrap_or_default());
                self.collected_at = 0;
                self.body_done();
                Ok(Some(out.unbind()))
            }
            Ok(None) => {
                self.collected = collected;
                Ok(None)
            }
            Err(e) => {
                self.collected_at = 0;
                Err(e)
            }
        }
    }

    fn try_discard(&mut self, py: Python<'_>) -> PyResult<Option<()>> {
        self.check(py)?;
        self.collected.clear();
        self.collected_at = 0;
        self.check_framed(py, false)?;
        let done = self.poll_reader(py, Reader::poll_discard)?;
        self.body_done();
        Ok(done)
    }

    /// Before a request on an idle connection that was quiet for a while:
    /// reads what arrived meanwhile without waiting. Bytes that answer no
    /// request break the connection (`InvalidResponse`); a server that
    /// closed makes the request fail as closed, with `may_reopen` set.
    fn check_idle(&mut self, py: Python<'_>) -> PyResult<()> {
        let proto = self.session.proto();
        if proto.in_flight() > 0
            || self.reader.in_body()
            || proto.must_close()
            || self.session.eof()
            || self.last_received.elapsed() < IDLE_CHECK_AFTER
        {
            return Ok(());
        }
        let size = self.session.read_size();
        let sock = &mut self.sock;
        let result = self
            .session
            .proto_mut()
            .read_into(size, |buf| sock.recv(py, buf));
        let checked = self
            .session
            .read_done(result)
            .and_then(|_| self.session.check_idle());
        if let Err(e) = checked {
            self.idle_closed = self.session.eof() && e.closed().is_some();
            return Err(self.raise(py, e));
        }
        Ok(())
    }

    /// Fails with the connection's error once it is broken or
    /// disconnected.
    fn check(&mut self, py: Python<'_>) -> PyResult<()> {
        self.session.check().map_err(|e| self.raise(py, e))
    }

    fn body_done(&mut self) {
        if !self.reader.in_body() {
            self.raw_only = false;
            self.reading = None;
        }
    }
}

/// The response's fields as a list of `(name, value)` strings (values
/// decoded as Latin-1, as `http.client` does).
fn fields<'py>(py: Python<'py>, head: &Response) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (name, value) in head.headers().iter() {
        list.append((name, latin1(py, value)))?;
    }
    Ok(list)
}

/// Copies `data` to the start of the writable buffer `view` (a
/// `memoryview`; the limited API before Python 3.11 has no buffer access).
fn fill(view: &Bound<'_, PyAny>, data: &[u8]) -> PyResult<()> {
    if data.is_empty() {
        return Ok(());
    }
    let py = view.py();
    view.set_item(
        PySlice::new(py, 0, data.len() as isize, 1),
        PyBytes::new(py, data),
    )
}

fn latin1<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.is_ascii() => PyString::new(py, text),
        _ => PyString::new(
            py,
            &bytes.iter().map(|&b| char::from(b)).collect::<String>(),
        ),
    }
}

fn fate_name(fate: Fate) -> &'static str {
    match fate {
        Fate::NotProcessed => errors::NOT_PROCESSED,
        Fate::MaybeProcessed => "maybe_processed",
        Fate::BodyIncomplete => "body_incomplete",
        _ => "unknown",
    }
}
