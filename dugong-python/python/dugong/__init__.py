"""dugong: an HTTP/1.1 client module with pipelining, ``100 Continue``,
coroutines and an exact account of what a closed connection lost.

A drop-in replacement for python-dugong 3.8.2 (same import, same API) on
the dugong Rust core: every protocol decision (framing, pipelining, what
a closed connection lost) is the core's; Python's own ``socket`` and
``ssl`` move the bytes.

>>> from dugong import HTTPConnection
>>> conn = HTTPConnection('example.com')        # doctest: +SKIP
>>> conn.send_request('GET', '/')               # doctest: +SKIP
>>> resp = conn.read_response()                 # doctest: +SKIP
>>> body = conn.readall()                       # doctest: +SKIP

Differences from python-dugong are listed in this package's README: the
core is strict where the original was lenient (conflicting lengths,
malformed chunks and unsolicited responses raise ``InvalidResponse``).
"""

import email
import email.message
import email.policy
import hashlib
import os
import select
import socket
import ssl
import time
from base64 import b64encode

from . import _util
from . import _dugong
from ._dugong import Core as _Core
from ._util import *  # noqa: F401,F403 -- the public names of python-dugong
from ._util import (
    BUFFER_SIZE,
    POLLIN,
    POLLOUT,
    CaseInsensitiveDict,
    ConnectionClosed,
    PollNeeded,
    StateError,
    _Buffer,
    _join,
    create_socket,
    eval_coroutine,
)

__all__ = list(_util.__all__) + [
    "HTTPConnection",
    "HTTPResponse",
    "BodyFollowing",
    "IDEMPOTENT_METHODS",
    "LINGER_TIME",
    "LINGER_BYTES",
]

HTTP_PORT = 80
HTTPS_PORT = 443

#: Methods RFC 9110 §9.2.2 calls idempotent: a request with one of them
#: that the server may have processed is still safe to resend.
IDEMPOTENT_METHODS = frozenset(_dugong.IDEMPOTENT_METHODS)


class BodyFollowing:
    """Passed as ``body`` to `HTTPConnection.send_request`: the body is
    sent afterwards with `HTTPConnection.write`. *length* is its size in
    bytes; ``None`` sends it chunked (end it with ``write(b'')``; the
    original refused chunked uploads)."""

    __slots__ = ("length",)

    def __init__(self, length=None):
        #: The body's length in bytes, or ``None`` for a chunked body.
        self.length = length


class _HTTPPolicy(email.policy.EmailPolicy):
    """`email.policy.HTTP` (the same settings) that keeps the header
    objects it makes: parsing a field value into one costs tens of
    microseconds, and responses repeat the same fields. The objects are
    immutable `str`s, so messages can share them."""

    def header_fetch_parse(self, name, value):
        key = (name, value)
        header = _HEADER_CACHE.get(key)
        if header is None:
            if len(_HEADER_CACHE) >= _HEADER_CACHE_SIZE:
                _HEADER_CACHE.clear()
            header = _HEADER_CACHE[key] = super().header_fetch_parse(name, value)
        return header


_HEADER_CACHE = {}
_HEADER_CACHE_SIZE = 4096
_HTTP_POLICY = _HTTPPolicy(linesep="\r\n", max_line_length=None)


class HTTPResponse:
    """A response head: `status`, `reason`, `headers`, and the `method` and
    `path` of the request it answers. The body is read from the
    connection."""

    __slots__ = ("method", "path", "status", "reason", "_fields", "_headers", "length")

    def __init__(self, method, path, status, reason, headers, length=None):
        #: The method of the request this answers.
        self.method = method
        #: The path of the request this answers.
        self.path = path
        #: The status code.
        self.status = status
        #: The reason phrase.
        self.reason = reason
        #: The body's length as sent: the ``Content-Length``, 0 when there
        #: is no body (``HEAD``, 204, 304, 1xx), ``None`` when unknown
        #: (chunked, or read until the server closes).
        self.length = length
        if isinstance(headers, list):
            self._fields = headers
            self._headers = None
        else:
            self._fields = None
            self._headers = headers

    @property
    def headers(self):
        """The header fields, an `email.message.Message` with
        `email.policy.HTTP`'s settings (as python-dugong gives), made on
        first use from the fields the core parsed."""
        if self._headers is None:
            message = email.message.Message(policy=_HTTP_POLICY)
            for name, value in self._fields:
                message.set_raw(name, value)
            message.set_payload("")
            self._headers = message
        return self._headers

    def __repr__(self):
        return "<HTTPResponse %d %s for %s %s>" % (self.status, self.reason, self.method, self.path)


def _response(head):
    status, reason, fields, length, method, path = head
    return HTTPResponse(method, path, status, reason, fields, length)


def _closed_locally():
    return ConnectionClosed("connection has been closed locally")


#: The fields of a request without headers and body (python-dugong's).
_PLAIN_FIELDS = (("Accept-Encoding", "identity"), ("Connection", "keep-alive"))


class HTTPConnection:
    """One HTTP/1.1 connection to *hostname*:*port* (80, or 443 with an
    *ssl_context*), through *proxy* (``(host, port)``) if given: absolute
    request targets for plain HTTP, a ``CONNECT`` tunnel for HTTPS.

    Requests may be pipelined: send several, then read the responses in
    order. Blocking calls wait at most `timeout` seconds for the socket
    each time (``None``: no limit) and then raise `ConnectionTimedOut`;
    every ``co_*`` method is a coroutine that yields `PollNeeded` instead
    of waiting. The connection opens on first use."""

    def __init__(self, hostname, port=None, ssl_context=None, proxy=None):
        if port is None:
            port = HTTP_PORT if ssl_context is None else HTTPS_PORT
        #: The port connected to.
        self.port = port
        #: The `ssl.SSLContext` (or anything with its ``wrap_socket``).
        self.ssl_context = ssl_context
        #: The server's host name.
        self.hostname = hostname
        #: ``(host, port)`` of a proxy, or ``None``.
        self.proxy = proxy
        #: Seconds a blocking call waits for the socket each time before
        #: `ConnectionTimedOut`; ``None`` waits without limit.
        self.timeout = None
        #: Kept for python-dugong compatibility (its trace file object).
        self.trace_fh = None
        #: Kept for python-dugong compatibility: its read buffer (unused).
        self._rbuf = _Buffer(BUFFER_SIZE)
        self._sock = None
        self._core = None
        self._body_dropped = self._upload_dropped = False
        self._opened = False
        # Requests sent on a connection the server had announced it was
        # closing: python-dugong reports them at `read_response`.
        self._refused = []

    # io.RawIOBase-like methods, so that io.TextIOWrapper(conn) works.
    closed = False

    def readable(self):
        """True: the response body can be read."""
        return True

    def writable(self):
        """True: a request body can be written."""
        return True

    def seekable(self):
        """False."""
        return False

    def connect(self):
        """Opens the connection (done by the first request if not called)."""
        if self.proxy:
            sock = create_socket(self.proxy)
            if self.ssl_context:
                self._tunnel(sock)
        else:
            sock = create_socket((self.hostname, self.port))
        if self.ssl_context:
            sock = self.ssl_context.wrap_socket(sock, server_hostname=self.hostname)
        sock.setblocking(False)
        trace = os.environ.get("DUGONG_TRACEFILE")
        if trace:
            trace = trace % id(sock) if "%" in trace else trace
        absolute = self.proxy if (self.proxy and not self.ssl_context) else None
        try:
            self._core = _Core(sock, self.hostname, self.port, absolute, trace or None)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._opened = True
        self._refused = []
        self._body_dropped = self._upload_dropped = False

    def _tunnel(self, sock):
        sock.setblocking(False)
        core = _Core(sock, self.hostname, self.port)
        host = self.hostname
        if ":" in host and not host.startswith("["):
            host = "[%s]" % host   # an IPv6 literal (RFC 9112 3.2.3)
        target = "%s:%d" % (host, self.port)
        try:
            core.queue_request("CONNECT", target, [], bodiless=True)
            core.flush(self.timeout)
            status, reason, *_ = core.read_response(self.timeout)
            if not core.tunnel_opened():
                raise ConnectionError("Tunnel connection failed: %d %s" % (status, reason))
        except BaseException:
            sock.close()
            raise
        sock.setblocking(True)

    def get_ssl_peercert(self, binary_form=False):
        """The server's certificate (`ssl.SSLSocket.getpeercert`), ``None``
        for plain HTTP."""
        if not self.ssl_context:
            return None
        if self._sock is None:
            self.connect()
        return self._sock.getpeercert(binary_form)

    def get_ssl_cipher(self):
        """The TLS cipher in use (`ssl.SSLSocket.cipher`), ``None`` for plain
        HTTP."""
        if not self.ssl_context:
            return None
        if self._sock is None:
            self.connect()
        return self._sock.cipher()

    # ----- sending ---------------------------------------------------------

    @staticmethod
    def _fields(headers, body, expect100):
        """The header fields to send and the core's body arguments."""
        if headers is None:
            fields = []
        else:
            if not isinstance(headers, CaseInsensitiveDict):
                headers = CaseInsensitiveDict(headers)
            # python-dugong overwrites a caller's Content-Length: the core
            # writes the framing field from the body.
            fields = [(k, str(v)) for (k, v) in headers.items() if k.lower() != "content-length"]
        names = {k.lower() for (k, _) in fields}
        kwargs = {}
        if body is None:
            pass
        elif isinstance(body, BodyFollowing):
            if body.length is None:
                kwargs["chunked"] = True
            else:
                kwargs["length"] = body.length
            if expect100:
                fields.append(("Expect", "100-continue"))
        elif isinstance(body, (bytes, bytearray, memoryview)):
            body = bytes(body)
            if "content-md5" not in names:
                fields.append(("Content-MD5", b64encode(hashlib.md5(body).digest()).decode("ascii")))
            kwargs["body"] = body
        else:
            raise TypeError("*body* must be None, bytes-like or BodyFollowing")
        fields.append(("Accept-Encoding", "identity"))
        if "connection" not in names:
            fields.append(("Connection", "keep-alive"))
        return fields, kwargs

    def _queue(self, method, path, headers, body, expect100):
        """Queues a request on the core (connecting first); False if the
        server had announced the close (the request is reported by the
        next `read_response`)."""
        if expect100 and not isinstance(body, BodyFollowing):
            raise ValueError("expect100 only allowed for separate body")
        if self._core is None:
            self.connect()
        if headers is None and body is None:
            fields, kwargs = _PLAIN_FIELDS, {}
        else:
            fields, kwargs = self._fields(headers, body, expect100)
        try:
            self._core.queue_request(method, path, fields, **kwargs)
        except ConnectionClosed:
            if self._core.response_pending() or not self._opened:
                raise
            if self._core.may_reopen:
                # Nothing was lost (a body the server refused was never
                # sent, or the server closed the idle connection before
                # this request): go on over a new connection.
                self.disconnect()
                self.connect()
                self._core.queue_request(method, path, fields, **kwargs)
                return True
            self._refused.append((method, path))
            return False
        return True

    def send_request(self, method, path, headers=None, body=None, expect100=False):
        """Sends a request. *body* is bytes-like (sent whole, with a
        ``Content-MD5`` unless *headers* has one), a `BodyFollowing` (sent
        afterwards with `write`), or ``None``. With *expect100* the body
        waits for the server's ``100 Continue``, which `read_response`
        returns."""
        core = self._core
        if core is not None:
            core.flush(self.timeout)
        if self._queue(method, path, headers, body, expect100):
            self._core.flush(self.timeout)

    def co_send_request(self, method, path, headers=None, body=None, expect100=False):
        """Coroutine form of `send_request`."""
        if self._core is not None:
            yield from self._co_flush()
        if self._queue(method, path, headers, body, expect100):
            yield from self._co_flush()

    def _live_core(self):
        core = self._core
        if core is None:
            raise _closed_locally()
        return core

    def _body_core(self):
        """The core to read the response body from, or ``None`` when there
        is no connection and no body was being read (reads give ``b''``,
        as python-dugong's do); `ConnectionClosed` when `disconnect` cut a
        body short."""
        core = self._core
        if core is None and self._body_dropped:
            raise _closed_locally()
        return core

    def _co_body(self, nothing, step, *args):
        """Repeats the core's body-reading *step* (with *args*) until it
        gives a result, yielding `PollNeeded` while the socket would block;
        *nothing* when no body is being read on a closed connection."""
        while True:
            core = self._body_core()
            if core is None:
                return nothing
            result = getattr(core, step)(*args)
            if result is not None:
                return result
            yield PollNeeded(core.fd, core.need)

    def _upload_core(self):
        """The core to write a request body to: `StateError` when there is
        no connection and no body was being sent, `ConnectionClosed` when
        `disconnect` cut one short."""
        core = self._core
        if core is None:
            if self._upload_dropped:
                raise _closed_locally()
            raise StateError("No active request with pending body data")
        return core

    def _co_flush(self):
        while True:
            core = self._live_core()
            if core.flush_step():
                return
            yield PollNeeded(core.fd, core.need)

    def write(self, buf):
        """Writes *buf* as part of the body announced with `BodyFollowing`.
        Raises `ExcessBodyData` past the announced length; for a chunked
        body, ``write(b'')`` ends it."""
        core = self._upload_core()
        core.queue_body(bytes(buf))
        core.flush(self.timeout)

    def co_write(self, buf):
        """Coroutine form of `write`."""
        self._upload_core().queue_body(bytes(buf))
        yield from self._co_flush()

    # ----- receiving -------------------------------------------------------

    def response_pending(self):
        """True while a response is owed, or its body is not read to its
        end."""
        core = self._core
        return core is not None and core.response_pending()

    def _refused_error(self):
        refused, self._refused = self._refused, []
        return ConnectionClosed(
            "the server closed the connection before these requests were sent",
            resendable=tuple(refused),
            fates=tuple((m, p, "not_processed") for (m, p) in refused),
        )

    def read_response(self):
        """Reads the next response head (`HTTPResponse`). A ``100 Continue``
        answering an *expect100* request is returned too."""
        core = self._core
        if core is None:
            if self._opened:
                raise _closed_locally()
            raise StateError("No pending requests")
        if self._refused and not core.response_pending():
            raise self._refused_error()
        return _response(core.read_response(self.timeout))

    def co_read_response(self):
        """Coroutine form of `read_response`."""
        while True:
            core = self._core
            if core is None:
                if self._opened:
                    raise _closed_locally()
                raise StateError("No pending requests")
            if self._refused and not core.response_pending():
                raise self._refused_error()
            head = core.read_response_step()
            if head is not None:
                return _response(head)
            yield PollNeeded(core.fd, core.need)

    def read(self, len_=None):
        """Up to *len_* bytes of the response body (all of it if ``None``);
        ``b''`` at its end."""
        if len_ is None:
            return self.readall()
        core = self._body_core()
        return b"" if core is None else core.read(len_, self.timeout)

    def co_read(self, len_=None):
        """Coroutine form of `read`."""
        if len_ is None:
            return (yield from self.co_readall())
        return (yield from self._co_body(b"", "read_step", len_))

    def read_raw(self, size):
        """Up to *size* bytes of a body that has neither a length nor chunked
        coding nor an announced close (which `read` refuses with
        `UnsupportedResponse`), read until the server closes; ``b''`` then."""
        core = self._body_core()
        return b"" if core is None else core.read_raw(size, self.timeout)

    def co_read_raw(self, size):
        """Coroutine form of `read_raw`."""
        return (yield from self._co_body(b"", "read_raw_step", size))

    def readinto(self, buf):
        """Reads body bytes into the writable buffer *buf*; returns how many
        (0 at the end of the body). Large reads go straight from the socket
        into *buf*."""
        view = memoryview(buf).cast("B")
        core = self._body_core()
        return 0 if core is None else core.readinto(view, self.timeout)

    def co_readinto(self, buf):
        """Coroutine form of `readinto`."""
        return (yield from self._co_body(0, "readinto_step", memoryview(buf).cast("B")))

    def readall(self):
        """The rest of the response body."""
        core = self._body_core()
        return b"" if core is None else core.readall(self.timeout)

    def co_readall(self):
        """Coroutine form of `readall`."""
        return (yield from self._co_body(b"", "readall_step"))

    def discard(self):
        """Reads and drops the rest of the response body."""
        core = self._body_core()
        if core is not None:
            core.discard(self.timeout)

    def co_discard(self):
        """Coroutine form of `discard`."""
        while True:
            core = self._body_core()
            if core is None or core.discard_step():
                return
            yield PollNeeded(core.fd, core.need)

    # ----- beyond python-dugong --------------------------------------------

    def trailers(self):
        """The trailer fields of the last chunked body read to its end, as
        ``(name, value)`` pairs."""
        core = self._core
        return [] if core is None else core.trailers()

    def informational(self):
        """The 1xx responses (other than ``100``) that preceded the last
        response head, as `HTTPResponse` objects."""
        core = self._core
        if core is None:
            return []
        return [HTTPResponse(None, None, s, r, f, 0) for (s, r, f) in core.informational()]

    # ----- closing ---------------------------------------------------------

    def disconnect(self):
        """Closes the connection. Unanswered requests are dropped; the next
        request opens a new connection.

        When an exchange is cut short (a response or a request body not
        finished), the connection is shut down for writing first and the
        server is given up to `LINGER_TIME` seconds (and `LINGER_BYTES`
        bytes, read and discarded) to finish and close its side: it sees an
        orderly end instead of a reset in the middle of its reply, and
        whatever it does about the abandoned request is done when
        `disconnect` returns. Over TLS a close_notify goes first.
        """
        core, sock = self._core, self._sock
        self._core = None
        self._sock = None
        cut_short = False
        if core is not None:
            self._body_dropped = core.in_body()
            self._upload_dropped = core.body_pending()
            cut_short = self._upload_dropped or core.response_pending()
            core.disconnect()
        if sock is None:
            return
        if isinstance(sock, ssl.SSLSocket):
            # Send TLS close_notify (without waiting for the server's): the
            # server sees a clean end of the TLS stream rather than an
            # unexpected EOF.
            try:
                sock.unwrap()
            except (OSError, ValueError):
                pass
        if cut_short:
            _linger(sock)
        else:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            sock.close()
        except OSError:
            pass

    def reset(self):
        """Disconnects and forgets every pending request (python-dugong's
        `reset`)."""
        self.disconnect()
        self._refused = []
        self._body_dropped = self._upload_dropped = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.disconnect()
        return False


#: Longest wait, in seconds, of `HTTPConnection.disconnect` for the server
#: to close its side after an exchange was cut short.
LINGER_TIME = 1.0

#: Most bytes `HTTPConnection.disconnect` reads (and discards) while it
#: waits for the server to close after an exchange was cut short.
LINGER_BYTES = 1 << 20


def _linger(sock):
    """Shuts *sock* down for writing, then reads (below TLS) and discards
    what the server still sends until it closes, for at most `LINGER_TIME`
    seconds and `LINGER_BYTES` bytes."""
    try:
        fd = sock.fileno()
        sock.shutdown(socket.SHUT_WR)
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + LINGER_TIME
    budget = LINGER_BYTES
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while budget > 0:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            if not poller.poll(left * 1000):
                return
            data = os.read(fd, min(budget, 65536))
        except BlockingIOError:
            continue
        except OSError:
            return
        if not data:
            return
        budget -= len(data)


def _apply_timeout_doc():
    """Names the waiting behaviour in the coroutine methods' docs."""
    for name in dir(HTTPConnection):
        if name.startswith("co_"):
            method = getattr(HTTPConnection, name)
            method.__doc__ = (method.__doc__ or "") + (
                " Yields `PollNeeded` whenever the socket would block; use"
                " with `eval_coroutine` or `AioFuture`."
            )


_apply_timeout_doc()
del _apply_timeout_doc

