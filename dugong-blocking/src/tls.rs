//! TLS over any [`Transport`] with rustls, driven without blocking.

use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dugong_net::tls::{server_name, tls_error, TlsInfo};
use dugong_net::{Error, Phase};
use rustls::{ClientConfig, ClientConnection};

use crate::transport::{Interest, Ready, Transport};

/// A TLS session over an inner transport (TCP, or a proxy's tunnel).
#[derive(Debug)]
pub struct Tls<T> {
    inner: T,
    tls: ClientConnection,
}

/// `Read`/`Write` over a transport, for rustls's `read_tls`/`write_tls`.
struct Raw<'a, T>(&'a mut T);

impl<T: Transport> Read for Raw<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<T: Transport> Write for Raw<'_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_vectored(&[IoSlice::new(buf)])
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

impl<T: Transport> Tls<T> {
    /// Runs the handshake with `host` (verified against `config`'s roots),
    /// waiting at most `timeout` for any step.
    pub(crate) fn handshake(
        mut inner: T,
        config: Arc<ClientConfig>,
        host: &str,
        timeout: Option<Duration>,
    ) -> Result<Tls<T>, Error> {
        let name = server_name(host)?;
        let mut tls = ClientConnection::new(config, name).map_err(tls_error)?;
        while tls.is_handshaking() || tls.wants_write() {
            while tls.wants_write() {
                match tls.write_tls(&mut Raw(&mut inner)) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e.into()),
                }
            }
            if !tls.is_handshaking() && !tls.wants_write() {
                break;
            }
            if tls.wants_read() {
                match tls.read_tls(&mut Raw(&mut inner)) {
                    Ok(0) => {
                        return Err(Error::Tls(
                            "the server closed the connection during the handshake".into(),
                        ))
                    }
                    Ok(_) => {
                        if let Err(e) = tls.process_new_packets() {
                            // Send the alert that says why, then fail.
                            let _ = tls.write_tls(&mut Raw(&mut inner));
                            return Err(tls_error(e));
                        }
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let deadline = timeout.map(|t| Instant::now() + t);
            let interest = Interest {
                read: tls.wants_read(),
                write: tls.wants_write(),
            };
            if inner.wait(interest, remaining(deadline))?.is_timeout() {
                return Err(Error::TimedOut(Phase::Handshake));
            }
        }
        Ok(Tls { inner, tls })
    }

    /// What was negotiated.
    pub fn info(&self) -> TlsInfo {
        TlsInfo::of(&self.tls)
    }

    /// The inner transport.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    fn flush_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            self.tls.write_tls(&mut Raw(&mut self.inner))?;
        }
        Ok(())
    }
}

fn soft(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        other => other,
    }
}

impl<T: Transport> Transport for Tls<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return other,
            }
            // No plaintext: read records.
            if self.tls.read_tls(&mut Raw(&mut self.inner))? == 0 {
                // The peer closed the TCP connection; the reader now says
                // whether it sent close_notify first.
                return self.tls.reader().read(buf);
            }
            self.tls
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            soft(self.flush_records())?;
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        soft(self.flush_records())?;
        let n = self.tls.writer().write_vectored(bufs)?;
        soft(self.flush_records())?;
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            // rustls's buffer is full until records go out.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_records()?;
        self.inner.flush()
    }

    fn wait(&mut self, interest: Interest, timeout: Option<Duration>) -> io::Result<Ready> {
        // Records already read from the socket may hold plaintext (or the
        // peer's close): ready to read, whatever the socket says. (The
        // connection waits before reading when the last read found
        // nothing; the socket can be drained while rustls still holds a
        // whole response.)
        if interest.read {
            let buffered = match self.tls.process_new_packets() {
                Ok(state) => state.plaintext_bytes_to_read() > 0 || state.peer_has_closed(),
                // The next read reports it.
                Err(_) => true,
            };
            if buffered {
                return Ok(Ready {
                    read: true,
                    write: false,
                });
            }
        }
        let pending = self.tls.wants_write();
        let ready = self.inner.wait(
            Interest {
                read: interest.read,
                write: interest.write || pending,
            },
            timeout,
        )?;
        if ready.write && pending {
            soft(self.flush_records())?;
        }
        // Records went out although the caller only wanted to read: report
        // a (possibly spurious) read readiness so it retries, not a timeout.
        Ok(Ready {
            read: ready.read || (ready.write && !interest.write),
            write: interest.write && ready.write,
        })
    }

    fn is_nonblocking(&self) -> bool {
        self.inner.is_nonblocking()
    }

    fn waiter(&self) -> Option<Box<dyn crate::transport::Waiter>> {
        self.inner.waiter()
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.tls.send_close_notify();
        soft(self.flush_records())?;
        self.inner.shutdown_write()
    }
}
