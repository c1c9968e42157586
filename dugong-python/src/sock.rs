//! The transport: the caller's Python socket (`socket.socket` or
//! `ssl.SSLSocket`, in non-blocking mode) moved by its own `recv` and
//! `send`, and `poll(2)` on its file descriptor when it would block.
//!
//! Python exceptions become `io::Error`s the session understands (would
//! block, peer gone); any other exception is kept and raised as it is once
//! the session has noted the failure.

use std::io;
use std::time::Duration;

use pyo3::exceptions::{
    PyBlockingIOError, PyBrokenPipeError, PyConnectionAbortedError, PyConnectionResetError,
    PyInterruptedError,
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
        Ok(Socket {
            obj: obj.clone().unbind(),
            fd,
            ssl,
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

    /// Receives at most `buf.len()` bytes into `buf`.
    pub(crate) fn recv(&mut self, py: Python<'_>, buf: &mut [u8]) -> io::Result<usize> {
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
                return peer_gone(direction, e);
            }
        }
        if e.is_instance_of::<PyConnectionResetError>(py)
            || e.is_instance_of::<PyBrokenPipeError>(py)
            || e.is_instance_of::<PyConnectionAbortedError>(py)
        {
            return peer_gone(direction, e);
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

/// The peer closed or reset: an end of stream when reading (the state
/// machine decides what that means for the response), a broken pipe when
/// writing.
fn peer_gone(direction: i16, e: PyErr) -> io::Error {
    if direction == POLLIN {
        io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string())
    } else {
        io::Error::new(io::ErrorKind::BrokenPipe, e.to_string())
    }
}
