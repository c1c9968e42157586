//! Bodies as tokio I/O traits: [`BodyReader`] ([`AsyncRead`]),
//! [`BodyStream`] (a [`Stream`] of [`Bytes`]) and [`BodyWriter`]
//! ([`AsyncWrite`]).

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use dugong_net::Error;
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::conn::Connection;
use crate::recv::RecvHalf;
use crate::send::SendHalf;
use crate::shared::{ReadAhead, WriteQueued};
use crate::transport::Transport;

impl<T: Transport> Connection<T> {
    /// The body of the request being sent as a [`tokio::io::AsyncWrite`];
    /// see [`BodyWriter`].
    pub fn body_writer(&mut self) -> BodyWriter<'_, T> {
        let (send, recv) = self.halves();
        BodyWriter::new(send, Some(recv))
    }

    /// The body of the current response as a [`tokio::io::AsyncRead`]; see
    /// [`BodyReader`] (and what dropping it early means).
    pub fn body_reader(&mut self) -> BodyReader<'_, T> {
        let (send, recv) = self.halves();
        BodyReader::new(recv, Some(send))
    }

    /// The body of the current response as a stream of [`Bytes`] pieces,
    /// each a zero-copy slice of the receive buffer; see [`BodyStream`].
    pub fn body_stream(&mut self) -> BodyStream<'_, T> {
        let (send, recv) = self.halves();
        BodyStream::new(recv, Some(send))
    }
}

impl<T: Transport> RecvHalf<T> {
    /// The body of the current response as a [`tokio::io::AsyncRead`]; see
    /// [`BodyReader`].
    pub fn body_reader(&mut self) -> BodyReader<'_, T> {
        BodyReader::new(self, None)
    }

    /// The body of the current response as a stream of [`Bytes`] pieces
    /// (zero-copy slices of the receive buffer); see [`BodyStream`].
    pub fn body_stream(&mut self) -> BodyStream<'_, T> {
        BodyStream::new(self, None)
    }
}

impl<T: Transport> SendHalf<T> {
    /// The body of the request being sent as a [`tokio::io::AsyncWrite`];
    /// see [`BodyWriter`].
    pub fn body_writer(&mut self) -> BodyWriter<'_, T> {
        BodyWriter::new(self, None)
    }
}

/// The sending half a body reader or stream of a [`Connection`] writes
/// with while it reads.
fn writer<'s, T: Transport>(
    send: &'s mut Option<&mut SendHalf<T>>,
) -> Option<&'s mut dyn WriteQueued> {
    send.as_deref_mut().map(|send| send as &mut dyn WriteQueued)
}

/// The body of the current response as a [`tokio::io::AsyncRead`], made by
/// [`Connection::body_reader`] or [`RecvHalf::body_reader`]. Reading
/// returns 0 bytes at the end of the body. Errors are
/// [`dugong_net::Error`]s inside [`std::io::Error`]s (kind
/// `ConnectionAborted` for a closed connection; get the dugong error back
/// with `into_inner` and `downcast`).
///
/// # Dropped before the end
///
/// Dropping the reader before the end of the body leaves the rest of the
/// body to be **drained on next use**: the next `read_response` first reads
/// and throws away what is left of this body, then reads the next head, and
/// the connection stays usable. (The rest can also still be read with
/// `read_body`, `read_chunk` or a new reader.) A caller who does not want
/// to wait for a long body should `disconnect` instead.
pub struct BodyReader<'a, T = Box<dyn Transport>> {
    recv: &'a mut RecvHalf<T>,
    send: Option<&'a mut SendHalf<T>>,
}

impl<'a, T: Transport> BodyReader<'a, T> {
    pub(crate) fn new(recv: &'a mut RecvHalf<T>, send: Option<&'a mut SendHalf<T>>) -> Self {
        BodyReader { recv, send }
    }
}

impl<T> fmt::Debug for BodyReader<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReader").finish_non_exhaustive()
    }
}

impl<T: Transport> AsyncRead for BodyReader<'_, T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let dst = buf.initialize_unfilled();
        let n = ready!(this.recv.poll_read_body(cx, writer(&mut this.send), dst))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T> Drop for BodyReader<'_, T> {
    fn drop(&mut self) {
        self.recv.abandon();
    }
}

/// The body of the current response as a [`Stream`] of [`Bytes`] pieces,
/// each a zero-copy slice of the receive buffer, made by
/// [`Connection::body_stream`] or [`RecvHalf::body_stream`]. The stream
/// ends at the end of the body; after an error it ends too.
///
/// Dropped before the end of the body, it behaves as a dropped
/// [`BodyReader`]: the rest is drained on next use.
pub struct BodyStream<'a, T = Box<dyn Transport>> {
    recv: &'a mut RecvHalf<T>,
    send: Option<&'a mut SendHalf<T>>,
    done: bool,
}

impl<'a, T: Transport> BodyStream<'a, T> {
    pub(crate) fn new(recv: &'a mut RecvHalf<T>, send: Option<&'a mut SendHalf<T>>) -> Self {
        BodyStream {
            recv,
            send,
            done: false,
        }
    }

    /// The next piece, `None` at the end of the body (the same as polling
    /// the stream, without a stream combinator crate).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a piece is returned or kept for the next call.
    pub async fn next(&mut self) -> Option<Result<Bytes, Error>> {
        std::future::poll_fn(|cx| self.poll_piece(cx)).await
    }

    fn poll_piece(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let result = ready!(self.recv.poll_read_chunk(cx, writer(&mut self.send)));
        Poll::Ready(match result {
            Ok(Some(piece)) => Some(Ok(piece)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        })
    }
}

impl<T> fmt::Debug for BodyStream<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyStream")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Stream for BodyStream<'_, T> {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_piece(cx)
    }
}

impl<T> Drop for BodyStream<'_, T> {
    fn drop(&mut self) {
        self.recv.abandon();
    }
}

/// The body of the request being sent as a [`tokio::io::AsyncWrite`], made
/// by [`Connection::body_writer`] or [`SendHalf::body_writer`].
///
/// Each `write` copies the bytes and queues them (at most one write's worth
/// is queued beyond what the transport took: a write first waits until the
/// previous one is written); `flush` writes everything queued;
/// `shutdown` ends a chunked body (as `finish`) and flushes. Errors are
/// [`dugong_net::Error`]s inside [`std::io::Error`]s.
///
/// On a [`SendHalf`], a write waits while the body is held for
/// `100 Continue`; on a [`Connection`] the body must not be written before
/// `read_response` returned the `100 Continue`.
pub struct BodyWriter<'a, T = Box<dyn Transport>> {
    send: &'a mut SendHalf<T>,
    recv: Option<&'a mut RecvHalf<T>>,
}

impl<'a, T: Transport> BodyWriter<'a, T> {
    pub(crate) fn new(send: &'a mut SendHalf<T>, recv: Option<&'a mut RecvHalf<T>>) -> Self {
        BodyWriter { send, recv }
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        ready!(self.send.poll_flush_all(cx, reader(&mut self.recv)))?;
        if self.recv.is_none() {
            // A sending half waits for its body to be released.
            ready!(self.send.poll_release(cx))?;
        }
        Poll::Ready(Ok(()))
    }
}

/// The receiving half a body writer of a [`Connection`] reads ahead with
/// while it writes.
fn reader<'r, T: Transport>(
    recv: &'r mut Option<&mut RecvHalf<T>>,
) -> Option<&'r mut dyn ReadAhead> {
    recv.as_deref_mut().map(|recv| recv as &mut dyn ReadAhead)
}

impl<T> fmt::Debug for BodyWriter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyWriter").finish_non_exhaustive()
    }
}

impl<T: Transport> AsyncWrite for BodyWriter<'_, T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_ready(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        this.send.queue_body(Bytes::copy_from_slice(buf))?;
        // Start writing at once; what the transport does not take now is
        // written by the next call.
        if let Poll::Ready(Err(e)) = this.send.poll_send(cx) {
            return Poll::Ready(Err(e.into()));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.send.poll_flush_all(cx, reader(&mut this.recv)))?;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_ready(cx))?;
        if this.send.sending_body() {
            this.send.queue_finish([] as [(&str, &str); 0])?;
        }
        ready!(this.send.poll_flush_all(cx, reader(&mut this.recv)))?;
        Poll::Ready(Ok(()))
    }
}
