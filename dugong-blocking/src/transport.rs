//! Transports: what a [`Connection`](crate::Connection) reads from and writes
//! to. Non-blocking with readiness waits for TCP (and TLS over it), so one
//! thread can keep reading while its writes are blocked; plain blocking for
//! any other `Read + Write`.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest {
    /// Wait until bytes can be read (or the peer closed).
    pub read: bool,
    /// Wait until bytes can be written.
    pub write: bool,
}

/// What [`Transport::wait`] found ready. Spurious readiness is allowed: the
/// caller retries its operation, which may report `WouldBlock` again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready {
    /// A read may make progress.
    pub read: bool,
    /// A write may make progress.
    pub write: bool,
}

impl Ready {
    /// Nothing became ready before the timeout.
    pub fn is_timeout(self) -> bool {
        !self.read && !self.write
    }
}

/// A byte stream to a server, as the connection drives it.
///
/// `read` and `write_vectored` may return [`io::ErrorKind::WouldBlock`];
/// then the connection calls [`wait`](Self::wait) and tries again. A
/// transport that always blocks (see [`Blocking`]) never returns
/// `WouldBlock` and reports everything ready at once.
pub trait Transport: Send + fmt::Debug {
    /// Reads into `buf`; `Ok(0)` means the peer closed.
    ///
    /// # Errors
    ///
    /// I/O errors, including `WouldBlock` for non-blocking transports.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes from `bufs`, returning how many bytes were taken.
    ///
    /// # Errors
    ///
    /// I/O errors, including `WouldBlock` for non-blocking transports.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;

    /// Pushes out anything the transport buffers itself (TLS records).
    ///
    /// # Errors
    ///
    /// I/O errors, including `WouldBlock`.
    fn flush(&mut self) -> io::Result<()>;

    /// Waits until the transport may make progress on what `interest` asks
    /// for, or until `timeout` passes (`None`: no limit). Returns what is
    /// ready; nothing ready means the timeout passed.
    ///
    /// # Errors
    ///
    /// I/O errors of the wait itself.
    fn wait(&mut self, interest: Interest, timeout: Option<Duration>) -> io::Result<Ready>;

    /// True if `read` returns `WouldBlock` instead of waiting when no data is
    /// there, so the connection may look for unexpected bytes before
    /// sending a request on an idle connection. Default false.
    fn is_nonblocking(&self) -> bool {
        false
    }

    /// Reads into `buf`, waiting for bytes if none are there yet: one system
    /// call where [`wait`](Self::wait) and [`read`](Self::read) take two.
    /// Only called when [`can_read_waiting`](Self::can_read_waiting) says
    /// so, with nothing to write and no time limit. Default: `read`.
    ///
    /// # Errors
    ///
    /// I/O errors.
    fn read_waiting(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(buf)
    }

    /// True if [`read_waiting`](Self::read_waiting) waits for bytes rather
    /// than returning `WouldBlock`. Default false.
    fn can_read_waiting(&self) -> bool {
        false
    }

    /// A handle that waits for this transport's readiness without borrowing
    /// it, so a [`Connection`](crate::Connection) split into two halves can
    /// wait in each thread without holding the other back. `None` (the
    /// default) if the transport cannot; such a connection cannot be split.
    fn waiter(&self) -> Option<Box<dyn Waiter>> {
        None
    }

    /// Closes the sending direction (after the last request), if the
    /// transport can.
    ///
    /// # Errors
    ///
    /// I/O errors.
    fn shutdown_write(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Box<dyn Transport> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (**self).write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
    fn wait(&mut self, interest: Interest, timeout: Option<Duration>) -> io::Result<Ready> {
        (**self).wait(interest, timeout)
    }
    fn is_nonblocking(&self) -> bool {
        (**self).is_nonblocking()
    }
    fn read_waiting(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_waiting(buf)
    }
    fn can_read_waiting(&self) -> bool {
        (**self).can_read_waiting()
    }
    fn waiter(&self) -> Option<Box<dyn Waiter>> {
        (**self).waiter()
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

/// Waits for a transport's readiness from another thread (see
/// [`Transport::waiter`]).
pub trait Waiter: Send + Sync + fmt::Debug {
    /// As [`Transport::wait`].
    ///
    /// # Errors
    ///
    /// I/O errors of the wait itself.
    fn wait(&self, interest: Interest, timeout: Option<Duration>) -> io::Result<Ready>;
}

/// Waits on a duplicate of a socket's descriptor.
#[derive(Debug)]
struct SocketWaiter<S>(S);

#[cfg(unix)]
impl<S: std::os::fd::AsFd + Send + Sync + fmt::Debug> Waiter for SocketWaiter<S> {
    fn wait(&self, interest: Interest, timeout: Option<Duration>) -> io::Result<Ready> {
        poll_socket(&self.0, interest, timeout)
    }
}

/// A TCP connection driven without blocking: reads and writes return
/// `WouldBlock` instead of waiting, and [`wait`](Transport::wait) uses
/// `poll(2)`.
///
/// On Unix the socket itself stays in blocking mode and each read and write
/// asks not to wait (`MSG_DONTWAIT`), so that a read that should wait for
/// the answer to a lone request ([`read_waiting`](Transport::read_waiting))
/// is one system call instead of `poll` and a read. Writes never raise
/// `SIGPIPE` (`MSG_NOSIGNAL`). Reading or writing the socket from
/// [`get_ref`](Self::get_ref) directly may block.
#[derive(Debug)]
pub struct Tcp {
    stream: TcpStream,
}

impl Tcp {
    /// Takes a connected stream (in blocking mode, as `TcpStream::connect`
    /// returns it) and sets `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// Setting the socket options failed.
    pub fn new(stream: TcpStream) -> io::Result<Tcp> {
        stream.set_nodelay(true)?;
        #[cfg(unix)]
        stream.set_nonblocking(false)?;
        Ok(Tcp { stream })
    }

    /// The socket.
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }
}

/// The [`Transport`] of a connected socket ([`Tcp`], [`Unix`]): on Unix,
/// reads and writes pass `MSG_DONTWAIT` (the socket itself stays in
/// blocking mode, so `read_waiting` can wait in the read) and waits are
/// poll(2); elsewhere the socket blocks.
macro_rules! socket_transport {
    ($name:ty) => {
        impl Transport for $name {
            #[cfg(unix)]
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                use rustix::net::{recv, RecvFlags};
                Ok(recv(&self.stream, buf, RecvFlags::DONTWAIT)?.0)
            }

            #[cfg(not(unix))]
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.stream.read(buf)
            }

            #[cfg(unix)]
            fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                use rustix::net::{send, sendmsg, SendAncillaryBuffer, SendFlags};
                let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
                if let [one] = bufs {
                    // The cheaper call for the usual lone segment.
                    return Ok(send(&self.stream, one, flags)?);
                }
                Ok(sendmsg(
                    &self.stream,
                    bufs,
                    &mut SendAncillaryBuffer::default(),
                    flags,
                )?)
            }

            #[cfg(not(unix))]
            fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                self.stream.write_vectored(bufs)
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }

            fn wait(&mut self, interest: Interest, timeout: Option<Duration>) -> io::Result<Ready> {
                poll_socket(&self.stream, interest, timeout)
            }

            /// Elsewhere than on Unix the socket blocks, and waits report
            /// ready at once.
            fn is_nonblocking(&self) -> bool {
                cfg!(unix)
            }

            #[cfg(unix)]
            fn read_waiting(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                use rustix::net::{recv, RecvFlags};
                Ok(recv(&self.stream, buf, RecvFlags::empty())?.0)
            }

            fn can_read_waiting(&self) -> bool {
                cfg!(unix)
            }

            #[cfg(unix)]
            fn waiter(&self) -> Option<Box<dyn Waiter>> {
                let clone = self.stream.try_clone().ok()?;
                Some(Box::new(SocketWaiter(clone)))
            }

            fn shutdown_write(&mut self) -> io::Result<()> {
                self.stream.shutdown(std::net::Shutdown::Write)
            }
        }
    };
}

socket_transport!(Tcp);

/// Waits with `poll(2)` for a socket's readiness.
#[cfg(unix)]
pub(crate) fn poll_socket(
    socket: &impl std::os::fd::AsFd,
    interest: Interest,
    timeout: Option<Duration>,
) -> io::Result<Ready> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};

    let mut flags = PollFlags::empty();
    if interest.read {
        flags |= PollFlags::IN;
    }
    if interest.write {
        flags |= PollFlags::OUT;
    }
    let timespec = timeout.map(|t| Timespec {
        tv_sec: t.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: t.subsec_nanos().into(),
    });
    let mut fds = [PollFd::new(socket, flags)];
    loop {
        match poll(&mut fds, timespec.as_ref()) {
            Ok(_) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let revents = fds[0].revents();
    // Errors and hang-ups are "ready": the next operation reports them.
    let broken = revents.intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL);
    Ok(Ready {
        read: interest.read && (broken || revents.contains(PollFlags::IN)),
        write: interest.write && (broken || revents.contains(PollFlags::OUT)),
    })
}

#[cfg(not(unix))]
pub(crate) fn poll_socket<S>(
    _socket: &S,
    interest: Interest,
    _timeout: Option<Duration>,
) -> io::Result<Ready> {
    Ok(Ready {
        read: interest.read,
        write: interest.write,
    })
}

/// Any blocking `Read + Write` (a Unix socket, an in-memory pipe): reads and
/// writes block, and every wait reports ready at once.
///
/// One thread that sends many requests before reading can deadlock on such
/// a transport once both directions' buffers fill; give it a timeout of its
/// own, or read responses while sending.
#[derive(Debug)]
pub struct Blocking<T>(pub T);

impl<T: Read + Write + Send + fmt::Debug> Transport for Blocking<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }

    fn wait(&mut self, interest: Interest, _timeout: Option<Duration>) -> io::Result<Ready> {
        Ok(Ready {
            read: interest.read,
            write: interest.write,
        })
    }
}

/// A Unix domain socket, driven without blocking like [`Tcp`].
#[cfg(unix)]
#[derive(Debug)]
pub struct Unix {
    stream: std::os::unix::net::UnixStream,
}

#[cfg(unix)]
impl Unix {
    /// Takes a connected stream (in blocking mode: its reads and writes
    /// pass `MSG_DONTWAIT` instead, as [`Tcp`]'s do).
    ///
    /// # Errors
    ///
    /// Setting the socket options failed.
    pub fn new(stream: std::os::unix::net::UnixStream) -> io::Result<Unix> {
        stream.set_nonblocking(false)?;
        Ok(Unix { stream })
    }
}

#[cfg(unix)]
socket_transport!(Unix);
