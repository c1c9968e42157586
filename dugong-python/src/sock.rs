//! The transport: the caller's Python socket (`socket.socket` or
//! `ssl.SSLSocket`, in non-blocking mode) moved by its own `recv` and
//! `send`, and `poll(2)` on its file descriptor when it would block.
//!
//! Python exceptions become `io::Error`s the session understands (would
//! block, peer gone); any other exception is kept and raised as it is once
//! the session has noted the failure.

use std::io::{self, IoSlice, Read, Write};
use std::mem::ManuallyDrop;
use std::net::TcpStream;
use std::os::fd::FromRawFd;
use std::time::Duration;

use pyo3::exceptions::{
    PyBlockingIOError, PyBrokenPipeError, PyConnectionAbortedError, PyConnectionResetError,
    PyInterruptedError, PyOSError,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// `POLLIN` as `select.POLLIN` has it (the same on every Unix).
pub(crate) const POLLIN: i16 = libc::POLLIN;
/// `POLLOUT`.
pub(crate) const POLLOUT: i16 = libc::POLLOUT;

/// The `ssl` exception classes a non-blocking `SSLSocket` raises.
struct SslErrors {
    want_read: Py<PyAny>,
    want_write: Py<PyAny>,
    eof: Py<PyAny>,
    zero_return: Py<PyAny>,
}

/// A Python socket object and what its last call needed.
pub(crate) struct Socket {
    obj: Py<PyAny>,
    fd: i32,
    ssl: Option<SslErrors>,
    /// A plain `socket.socket` (no TLS, no wrapper): reads and writes go
    /// straight to its descriptor, not through its `recv` and `send`.
    plain: bool,
    /// The poll mask the last blocked call waits for.
    pub(crate) need: i16,
    /// A Python exception from the last call that is not an I/O condition
    /// the session handles: raised to the caller as it is.
    pub(crate) raised: Option<PyErr>,
}

impl Socket {
    /// Wraps `obj`, which must have `fileno`, `recv` and `send`.
    pub(crate) fn new(obj: &Bound<'_, PyAny>) -> PyResult<Socket> {
        let py = obj.py();
        let fd: i32 = obj.call_method0("fileno")?.extract()?;
        let ssl_mod = py.import("ssl")?;
        let ssl = if obj.is_instance(&ssl_mod.getattr("SSLSocket")?)? {
            Some(SslErrors {
                want_read: ssl_mod.getattr("SSLWantReadError")?.unbind(),
                want_write: ssl_mod.getattr("SSLWantWriteError")?.unbind(),
                eof: ssl_mod.getattr("SSLEOFError")?.unbind(),
                zero_return: ssl_mod.getattr("SSLZeroReturnError")?.unbind(),
            })
        } else {
            None
        };
        let socket_mod = py.import("socket")?;
        let plain = obj.get_type().is(&socket_mod.getattr("socket")?)
            && obj
                .getattr("type")?
                .eq(socket_mod.getattr("SOCK_STREAM")?)?;
        Ok(Socket {
            obj: obj.clone().unbind(),
            fd,
            ssl,
            plain,
            need: 0,
            raised: None,
        })
    }

    /// The socket object.
    pub(crate) fn obj(&self) -> &Py<PyAny> {
        &self.obj
    }

    /// Its file descriptor.
    pub(crate) fn fd(&self) -> i32 {
        self.fd
    }

    /// True for a plain socket, whose bytes move on its descriptor.
    pub(crate) fn is_plain(&self) -> bool {
        self.plain
    }

    /// The plain socket's descriptor as a stream to read and write (never
    /// closed by it), once the Python object says the descriptor is still
    /// its own: a socket closed behind the connection's back fails as
    /// Python's own calls would.
    fn stream(&mut self, py: Python<'_>) -> io::Result<ManuallyDrop<TcpStream>> {
        let current = self
            .obj
            .call_method0(py, "fileno")
            .and_then(|fd| fd.extract::<i32>(py))
            .unwrap_or(-1);
        if current != self.fd {
            let e = io::Error::from_raw_os_error(libc::EBADF);
            self.raised = Some(os_error(py, libc::EBADF));
            return Err(e);
        }
        // SAFETY: `fd` is the Python socket's open descriptor (checked
        // above); `ManuallyDrop` never closes it, and the stream only
        // reads and writes (the socket is non-blocking, as the caller set
        // it).
        #[allow(unsafe_code)]
        let stream = unsafe { TcpStream::from_raw_fd(self.fd) };
        Ok(ManuallyDrop::new(stream))
    }

    /// Notes what an error of a plain socket's read or write (which would
    /// wait for `direction`) means here: a read or write that would block
    /// waits for `direction`; a peer gone or an interruption is for the
    /// session to judge ([`dugong_net::is_peer_gone`]); anything else is
    /// raised as Python's own `OSError` would be.
    fn classify_os(&mut self, py: Python<'_>, e: io::Error, direction: i16) -> io::Error {
        if e.kind() == io::ErrorKind::WouldBlock {
            self.need = direction;
        } else if e.kind() != io::ErrorKind::Interrupted && !dugong_net::is_peer_gone(&e) {
            if let Some(code) = e.raw_os_error() {
                self.raised = Some(os_error(py, code));
            }
        }
        e
    }

    /// Writes from `bufs` (one vectored write on a plain socket).
    pub(crate) fn send_vectored(
        &mut self,
        py: Python<'_>,
        bufs: &[IoSlice<'_>],
    ) -> io::Result<usize> {
        let result = self.stream(py)?.write_vectored(bufs);
        result.map_err(|e| self.classify_os(py, e, POLLOUT))
    }

    /// Receives at most `buf.len()` bytes into `buf`.
    pub(crate) fn recv(&mut self, py: Python<'_>, buf: &mut [u8]) -> io::Result<usize> {
        if self.plain {
            let result = self.stream(py)?.read(buf);
            return result.map_err(|e| self.classify_os(py, e, POLLIN));
        }
        match self.obj.call_method1(py, "recv", (buf.len(),)) {
            Ok(data) => {
                let data = data.bind(py).cast::<PyBytes>().map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "recv() did not return bytes")
                })?;
                let data = data.as_bytes();
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                Ok(n)
            }
            Err(e) => Err(self.classify(py, e, POLLIN)),
        }
    }

    /// Receives at most `n` bytes as a new `bytes` object (no copy beyond
    /// the one out of the kernel).
    pub(crate) fn recv_bytes(&mut self, py: Python<'_>, n: usize) -> io::Result<Py<PyBytes>> {
        match self.obj.call_method1(py, "recv", (n,)) {
            Ok(data) => data
                .into_bound(py)
                .cast_into::<PyBytes>()
                .map(Bound::unbind)
                .map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "recv() did not return bytes")
                }),
            Err(e) => Err(self.classify(py, e, POLLIN)),
        }
    }

    /// Receives at most `n` bytes straight into `buf` (a writable buffer
    /// object) with the socket's `recv_into`.
    pub(crate) fn recv_into(
        &mut self,
        py: Python<'_>,
        buf: &Bound<'_, PyAny>,
        n: usize,
    ) -> io::Result<usize> {
        match self.obj.call_method1(py, "recv_into", (buf, n)) {
            Ok(got) => got.extract::<usize>(py).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "recv_into() did not return a count",
                )
            }),
            Err(e) => Err(self.classify(py, e, POLLIN)),
        }
    }

    /// Sends from `data`, returning how much went.
    pub(crate) fn send(&mut self, py: Python<'_>, data: Bound<'_, PyBytes>) -> io::Result<usize> {
        match self.obj.call_method1(py, "send", (data,)) {
            Ok(n) => n.extract::<usize>(py).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "send() did not return a count")
            }),
            Err(e) => Err(self.classify(py, e, POLLOUT)),
        }
    }

    /// Maps a Python exception from `recv`/`send` (which would wait for
    /// `direction`) to the `io::Error` the session reads.
    fn classify(&mut self, py: Python<'_>, e: PyErr, direction: i16) -> io::Error {
        if e.is_instance_of::<PyBlockingIOError>(py) {
            self.need = direction;
            return io::ErrorKind::WouldBlock.into();
        }
        if e.is_instance_of::<PyInterruptedError>(py) {
            return io::ErrorKind::Interrupted.into();
        }
        if let Some(ssl) = &self.ssl {
            let is = |class: &Py<PyAny>| e.is_instance(py, class.bind(py));
            if is(&ssl.want_read) {
                self.need = POLLIN;
                return io::ErrorKind::WouldBlock.into();
            }
            if is(&ssl.want_write) {
                self.need = POLLOUT;
                return io::ErrorKind::WouldBlock.into();
            }
            if is(&ssl.eof) || is(&ssl.zero_return) {
                return peer_gone(direction, &e.to_string());
            }
        }
        if e.is_instance_of::<PyConnectionResetError>(py)
            || e.is_instance_of::<PyBrokenPipeError>(py)
            || e.is_instance_of::<PyConnectionAbortedError>(py)
        {
            return peer_gone(direction, &e.to_string());
        }
        let text = e.to_string();
        self.raised = Some(e);
        io::Error::other(text)
    }
}

/// Waits until `fd` is ready for `mask` or `timeout` passes, without the
/// GIL. `Ok(false)` on timeout.
pub(crate) fn wait(
    py: Python<'_>,
    fd: i32,
    mask: i16,
    timeout: Option<Duration>,
) -> PyResult<bool> {
    loop {
        let ms = timeout.map_or(-1, |t| {
            i32::try_from(t.as_millis().max(u128::from(!t.is_zero()))).unwrap_or(i32::MAX)
        });
        let (n, err) = py.detach(|| {
            let mut pfd = libc::pollfd {
                fd,
                events: mask,
                revents: 0,
            };
            // SAFETY: one valid pollfd, count 1.
            #[allow(unsafe_code)]
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            (n, io::Error::last_os_error())
        });
        if n >= 0 {
            return Ok(n > 0);
        }
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err.into());
        }
        py.check_signals()?;
    }
}

/// Python's `OSError(errno, os.strerror(errno))` for `code`: the subclass
/// Python picks for it, with `errno` set, as the socket module raises.
fn os_error(py: Python<'_>, code: i32) -> PyErr {
    let text = py
        .import("os")
        .and_then(|os| os.call_method1("strerror", (code,)))
        .map_or_else(|_| format!("errno {code}"), |t| t.to_string());
    PyOSError::new_err((code, text))
}

/// The peer closed or reset: an end of stream when reading (the state
/// machine decides what that means for the response), a broken pipe when
/// writing.
fn peer_gone(direction: i16, what: &str) -> io::Error {
    if direction == POLLIN {
        io::Error::new(io::ErrorKind::UnexpectedEof, what.to_owned())
    } else {
        io::Error::new(io::ErrorKind::BrokenPipe, what.to_owned())
    }
}
