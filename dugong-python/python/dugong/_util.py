"""Pure-Python parts of the `dugong` API.

This module holds everything in the public API that does not need the Rust
core: constants, the exception classes, `PollNeeded` with the two ways of
driving a coroutine that yields it (`eval_coroutine` for blocking callers,
`AioFuture` for asyncio), `CaseInsensitiveDict`, `is_temp_network_error` and
the socket setup used by `HTTPConnection` (`create_socket`).

The names, signatures and behaviour follow python-dugong 3.8.2, so that code
written for that module keeps working; the few additions are documented where
they are defined.
"""

import asyncio
import errno
import logging
import select
import socket
import ssl
import sys
from collections.abc import Mapping, MutableMapping

# The private names are listed too, so that ``from dugong._util import *``
# brings them into the package, where python-dugong had them as well.
__all__ = [
    'BUFFER_SIZE', 'MAX_LINE_SIZE', 'MAX_HEADER_SIZE', 'DNS_TEST_HOSTNAMES',
    'POLLIN', 'POLLOUT', 'PollNeeded', 'eval_coroutine', 'AioFuture',
    'HostnameNotResolvable', 'DNSUnavailable',
    'HostnameNotResolvableOrDNSUnavailable', 'StateError', 'ExcessBodyData',
    'InvalidResponse', 'UnsupportedResponse', 'ConnectionClosed',
    'ConnectionTimedOut', 'is_temp_network_error', 'CaseInsensitiveDict',
    'create_socket', '_GeneralError', '_join', '_Buffer',
]

log = logging.getLogger(__name__)

#: Size in bytes of the chunks in which data is read and buffered.
BUFFER_SIZE = 64 * 1024

#: Longest accepted status line (in bytes). A longer one makes the response
#: invalid and raises `InvalidResponse`.
MAX_LINE_SIZE = BUFFER_SIZE - 1

#: Longest accepted response header section (all header lines together, in
#: bytes). A longer one raises `InvalidResponse`.
MAX_HEADER_SIZE = BUFFER_SIZE - 1

#: ``(hostname, port)`` pairs of hosts that are expected to resolve whenever
#: DNS works at all. When a hostname does not resolve, `create_socket` tries
#: these to tell a name that does not exist (`HostnameNotResolvable`) from a
#: resolver that cannot be reached (`DNSUnavailable`).
#:
#: The value is looked up when it is needed, on the `dugong` package first and
#: then on this module, so assigning a new tuple to either takes effect.
DNS_TEST_HOSTNAMES = (('www.google.com', 80),
                      ('www.iana.org', 80),
                      ('C.root-servers.org', 53))

# The default, kept to find out which of the two modules' values was replaced.
_DEFAULT_DNS_TEST_HOSTNAMES = DNS_TEST_HOSTNAMES

try:
    from select import POLLIN, POLLOUT
    _HAVE_POLL = hasattr(select, 'poll')
except ImportError:  # no poll(2), e.g. on Windows: fall back to select()
    POLLIN, POLLOUT = 0x001, 0x004
    _HAVE_POLL = False


# ---------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------

class _GeneralError(Exception):
    """Base class of the errors that dugong raises about a connection.

    The text of the error is its `msg` attribute: a class-wide default that
    an instance replaces when it is given a message of its own.
    """

    #: Message returned by ``str()``.
    msg = 'General HTTP Error'

    def __init__(self, msg=None):
        super().__init__(*((msg,) if msg else ()))
        if msg:
            self.msg = msg

    def __str__(self):
        return self.msg


class HostnameNotResolvable(Exception):
    """The host name has no IP address.

    Raised when resolving a name fails with :const:`!socket.EAI_NONAME` or
    :const:`!socket.EAI_NODATA` although at least one of the names in
    `DNS_TEST_HOSTNAMES` resolves, i.e. the resolver works but does not know
    this name. The name is in the `name` attribute.
    """

    def __init__(self, hostname):
        super().__init__(hostname)
        #: The host name that could not be resolved.
        self.name = hostname

    def __str__(self):
        return 'Host %s does not have any ip addresses' % (self.name,)


class DNSUnavailable(Exception):
    """The DNS server cannot be reached.

    Raised when resolving a name fails with :const:`!socket.EAI_AGAIN`, or
    fails and none of the names in `DNS_TEST_HOSTNAMES` resolves either. The
    name that was being resolved is in the `name` attribute.
    """

    def __init__(self, hostname):
        super().__init__(hostname)
        #: The host name whose resolution failed.
        self.name = hostname

    def __str__(self):
        return 'Unable to resolve %s, DNS server unavailable.' % (self.name,)


class HostnameNotResolvableOrDNSUnavailable(Exception):
    """The host name did not resolve, for a reason not yet known.

    The resolver's answer alone cannot tell a missing name from a missing
    DNS server; `create_socket` uses this internally before it settles on
    `HostnameNotResolvable` or `DNSUnavailable`.
    """

    def __init__(self, hostname):
        super().__init__(hostname)
        #: The host name that could not be resolved.
        self.name = hostname

    def __str__(self):
        return 'Unable to resolve host %s' % (self.name,)


class StateError(_GeneralError):
    """The operation is not possible in the connection's current state.

    For example, reading a response body while no response is active, or
    sending body data when no request body is expected.
    """

    msg = 'Operation invalid in current connection state'


class ExcessBodyData(_GeneralError):
    """More request body data was written than the request announced."""

    msg = 'Cannot send larger request body than announced'


class InvalidResponse(_GeneralError):
    """The server's answer is not a valid HTTP/1.0 or HTTP/1.1 response."""

    msg = 'Server sent invalid response'


class UnsupportedResponse(_GeneralError):
    """The server sent a valid response that dugong does not support.

    HTTP/1.1 conforming servers should never cause this. Afterwards the
    position of the next response in the stream is unknown, so the
    connection has to be reset with :meth:`~HTTPConnection.disconnect`.
    """

    msg = 'Server sent unsupported response'


class ConnectionClosed(_GeneralError):
    """The connection was closed while responses were still expected.

    Also raised on the next request or response after the server announced
    with ``Connection: close`` that it would close the connection: the
    response carrying that header can still be read in full, but the
    connection has to be reset (`HTTPConnection.reset`) before it is used
    again. Because requests may have been pipelined, the exception tells the
    caller that pending requests were lost and may need to be sent again.

    Additions over python-dugong (keyword-only, so code that creates the
    exception as before is unaffected):

    *resendable*
        a tuple of ``(method, path)`` pairs of requests that got no
        response and that the server cannot have processed, so that they
        are safe to send again on a new connection. Empty by default.
    *fates*
        a tuple with one entry for each request that had not been completely
        answered when the connection closed, describing what is known about
        it (whether the server may have processed it). The entries are
        provided by `HTTPConnection`. Empty by default.
    """

    msg = 'connection closed unexpectedly'

    def __init__(self, msg=None, *, resendable=(), fates=()):
        super().__init__(msg)
        #: ``(method, path)`` pairs of unanswered requests that are safe to
        #: resend (an addition over python-dugong).
        self.resendable = tuple(resendable)
        #: What is known of each unanswered request (an addition over
        #: python-dugong).
        self.fates = tuple(fates)

    def __reduce__(self):
        # Keep the keyword-only attributes when pickled or copied.
        msg = self.__dict__.get('msg')
        return (_rebuild_connection_closed,
                (type(self), msg, self.resendable, self.fates))


def _rebuild_connection_closed(cls, msg, resendable, fates):
    """Recreate a pickled `ConnectionClosed` (or subclass) instance."""
    return cls(msg, resendable=resendable, fates=fates)


class ConnectionTimedOut(_GeneralError):
    """No data could be sent or received within the timeout.

    Raised by the blocking `HTTPConnection` methods (not by the ``co_*``
    coroutines) when the socket stayed unready for `HTTPConnection.timeout`
    seconds, and by `eval_coroutine` when a poll times out.
    """

    msg = 'send/recv timeout exceeded'


# ---------------------------------------------------------------------------
# Coroutine support
# ---------------------------------------------------------------------------

class PollNeeded(tuple):
    """An I/O request yielded by a dugong coroutine.

    A coroutine yields a `PollNeeded` when it cannot go on without blocking.
    It holds the file descriptor `fd` and the kind of I/O needed, `mask`; the
    coroutine should be resumed once *fd* is ready for that I/O. Being a
    tuple, it also unpacks as ``fd, mask = req``.
    """

    __slots__ = ()

    def __new__(cls, fd, mask):
        return super().__new__(cls, (fd, mask))

    @property
    def fd(self):
        """File descriptor the coroutine waits for."""
        return self[0]

    @property
    def mask(self):
        """The I/O the coroutine waits for, as a :ref:`poll <poll-objects>`
        event mask: `POLLIN`, `POLLOUT` or both OR-ed together. Once `fd` is
        ready for it, the coroutine can make progress without blocking.
        """
        return self[1]

    def poll(self, timeout=None):
        """Block until `fd` is ready for the requested I/O.

        Uses :func:`select.poll` (or :func:`select.select` where poll is not
        available). Return `True` once the descriptor is ready, or `False` if
        *timeout* seconds passed first. As in python-dugong, a *timeout* of
        `None` or ``0`` means waiting without a time limit.
        """
        if _HAVE_POLL:
            poller = select.poll()
            poller.register(self.fd, self.mask)
            if timeout:
                return bool(poller.poll(timeout * 1000))
            return bool(poller.poll())

        read_fds = [self.fd] if self.mask & POLLIN else []
        write_fds = [self.fd] if self.mask & POLLOUT else []
        if timeout:
            ready = select.select(read_fds, write_fds, [], timeout)
        else:
            ready = select.select(read_fds, write_fds, [])
        return any(ready)


def eval_coroutine(crt, timeout=None):
    """Run the coroutine *crt* to completion, blocking as needed.

    *crt* is a generator that yields `PollNeeded` instances; each time, this
    function waits until the requested I/O is possible and resumes it. The
    generator's return value is returned. If a wait lasts longer than
    *timeout* seconds (`None` or ``0``: no limit), `ConnectionTimedOut` is
    raised and the coroutine is left suspended.
    """
    try:
        while True:
            if not next(crt).poll(timeout=timeout):
                raise ConnectionTimedOut()
    except StopIteration as exc:
        return exc.value


class AioFuture(asyncio.Future):
    """An `asyncio.Future` that runs a dugong coroutine on an event loop.

    *crt* is a generator that yields `PollNeeded` instances. It is started
    on the next iteration of the loop; whenever it yields, a reader and/or
    writer callback is registered for the requested file descriptor and the
    generator is resumed once the descriptor is ready. The future's result is
    the generator's return value, or the exception it raised.

    *loop* is the event loop to use; by default the running loop (or, outside
    of a running loop, the loop that `asyncio.Future` picks by default).

    Only one future at a time may wait for reading (or for writing) on the
    same file descriptor; a second one gets a `RuntimeError` thrown into its
    coroutine. Cancelling the future closes the coroutine and removes its
    callbacks.
    """

    #: Futures that currently own the loop's reader (or writer) callback of a
    #: file descriptor, keyed by ``(fd, POLLIN)`` or ``(fd, POLLOUT)``.
    #: Class-wide, since callbacks are per descriptor, not per future.
    _owners = {}

    def __init__(self, crt, loop=None):
        super().__init__(loop=loop)
        self._crt = crt
        #: The ``(fd, event)`` keys this future has callbacks registered for.
        self._registered = set()
        self.add_done_callback(AioFuture._finish)
        self.get_loop().call_soon(self._step)

    def _step(self, exc=None):
        """Resume the coroutine (throwing *exc* into it, if given)."""
        if self.done():  # e.g. cancelled while a callback was pending
            return
        try:
            if exc is None:
                io_req = next(self._crt)
            else:
                io_req = self._crt.throw(exc)
        except StopIteration as stop:
            self._unregister(self._registered)
            self.set_result(stop.value)
            return
        except asyncio.CancelledError:
            self._unregister(self._registered)
            self.cancel()
            return
        except (KeyboardInterrupt, SystemExit) as err:
            # Record the outcome, but let these reach the event loop too.
            self._unregister(self._registered)
            self.set_exception(err)
            raise
        except Exception as err:
            self._unregister(self._registered)
            self.set_exception(err)
            return

        if not isinstance(io_req, PollNeeded):
            self.get_loop().call_soon(self._step, TypeError(
                'Coroutine passed to AioFuture did not yield a PollNeeded '
                'instance (got %r)' % (io_req,)))
            return
        self._watch(io_req)

    def _watch(self, io_req):
        """Make the loop resume the coroutine when *io_req* is satisfied.

        Callbacks for I/O that is no longer requested are removed, so a
        coroutine that switches from reading to writing is not woken up by
        readability.
        """
        loop = self.get_loop()
        wanted = {(io_req.fd, event) for event in (POLLIN, POLLOUT)
                  if io_req.mask & event}
        self._unregister(self._registered - wanted)

        for key in wanted - self._registered:
            fd, event = key
            owner = self._owners.get(key)
            if owner is not None and not owner._is_stale():
                kind = 'read' if event == POLLIN else 'write'
                loop.call_soon(self._step, RuntimeError(
                    'There is already a %s callback for fd %d' % (kind, fd)))
                return
            if event == POLLIN:
                loop.add_reader(fd, self._step)
            else:
                loop.add_writer(fd, self._step)
            self._owners[key] = self
            self._registered.add(key)

    def _is_stale(self):
        """Whether this future's callbacks can no longer be in use."""
        return self.done() or self.get_loop().is_closed()

    def _unregister(self, keys):
        """Remove this future's reader/writer callbacks for *keys*.

        A callback that another future has taken over since is left alone.
        """
        loop = self.get_loop()
        for key in list(keys):
            self._registered.discard(key)
            if self._owners.get(key) is not self:
                continue
            del self._owners[key]
            if loop.is_closed():
                continue
            fd, event = key
            if event == POLLIN:
                loop.remove_reader(fd)
            else:
                loop.remove_writer(fd)

    def _finish(self):
        """Done callback: drop the I/O callbacks left (there are some only if
        the future was cancelled) and close a cancelled coroutine."""
        self._unregister(self._registered)
        if self.cancelled():
            self._crt.close()


# ---------------------------------------------------------------------------
# Error classification
# ---------------------------------------------------------------------------

#: Exception types that always stand for a (possibly) temporary problem.
_TEMP_ERROR_TYPES = (
    socket.timeout, ConnectionError, TimeoutError, InterruptedError,
    ConnectionClosed, ConnectionTimedOut, DNSUnavailable,
    ssl.SSLZeroReturnError, ssl.SSLEOFError, ssl.SSLSyscallError,
)

#: `errno` values of an `OSError` that stand for a temporary problem (those
#: that the platform does not define are left out).
_TEMP_ERRNOS = frozenset(
    getattr(errno, name) for name in (
        'EHOSTDOWN', 'EHOSTUNREACH', 'ENETDOWN', 'ENETRESET', 'ENETUNREACH',
        'ENOLINK', 'ENONET', 'ENOTCONN', 'ENXIO', 'EPIPE', 'EREMCHG',
        'ESHUTDOWN', 'ETIMEDOUT', 'EAGAIN')
    if hasattr(errno, name))


def is_temp_network_error(exc):
    """Return whether *exc* may be a temporary network problem.

    True for timeouts, connection resets and refusals, interrupted system
    calls, `ConnectionClosed`, `ConnectionTimedOut`, `DNSUnavailable`,
    TLS connections closed or cut short, and `OSError` instances whose
    errno says that the network or host is unreachable or down, the socket
    is not connected, or the operation should be retried.

    Resolver errors (`socket.gaierror`, `socket.herror`) count as permanent:
    `create_socket` turns them into `HostnameNotResolvable` (permanent) or
    `DNSUnavailable` (temporary) instead.
    """
    if isinstance(exc, _TEMP_ERROR_TYPES):
        return True
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno in _TEMP_ERRNOS
    return False


# ---------------------------------------------------------------------------
# Containers and helpers
# ---------------------------------------------------------------------------

class CaseInsensitiveDict(MutableMapping):
    """A mapping with case-insensitive string keys.

    Lookups, membership tests and deletion ignore the case of the key, while
    iteration, :meth:`!keys` and :meth:`!items` give each key in the case it
    was last assigned with::

        headers = CaseInsensitiveDict()
        headers['Content-Type'] = 'text/plain'
        headers['content-type']   # -> 'text/plain'
        list(headers)             # -> ['Content-Type']

    It supports everything of :class:`collections.abc.MutableMapping`, plus
    `copy` and `lower_items`, and compares equal to any mapping with the same
    items when keys are compared without regard to case. If keys that differ
    only in case are given together (to the constructor, :meth:`!update` or a
    comparison), which of them wins is not defined.
    """

    def __init__(self, data=None, **kwargs):
        # Maps the lower-case key to a (key as last set, value) pair.
        self._store = {}
        self.update({} if data is None else data, **kwargs)

    def __setitem__(self, key, value):
        self._store[key.lower()] = (key, value)

    def __getitem__(self, key):
        return self._store[key.lower()][1]

    def __delitem__(self, key):
        del self._store[key.lower()]

    def __iter__(self):
        return (key for key, _ in self._store.values())

    def __len__(self):
        return len(self._store)

    def lower_items(self):
        """Like :meth:`!items`, but with every key in lower case."""
        return ((lower, pair[1]) for lower, pair in self._store.items())

    def __eq__(self, other):
        if not isinstance(other, Mapping):
            return NotImplemented
        if not isinstance(other, CaseInsensitiveDict):
            other = CaseInsensitiveDict(other)
        return dict(self.lower_items()) == dict(other.lower_items())

    def copy(self):
        """Return a shallow copy (a new `CaseInsensitiveDict`)."""
        return CaseInsensitiveDict(self._store.values())

    def __repr__(self):
        return '%s(%r)' % (type(self).__name__, dict(self.items()))


def _join(parts):
    """Concatenate a sequence of bytes-like objects into one `bytes`."""
    return b''.join(parts)


class _Buffer:
    """A fixed-size byte buffer that is filled at the end and consumed at
    the front.

    The bytes ``d[b:e]`` are buffered and not consumed yet. Kept for code
    (such as python-dugong's test suite) that assigns one to
    ``HTTPConnection._rbuf``; the Rust-backed connection does its own
    buffering.
    """

    __slots__ = ('d', 'b', 'e')

    def __init__(self, size):
        #: The storage, a `bytearray` of the buffer's size.
        self.d = bytearray(size)
        #: Offset of the first byte not consumed yet ("begin").
        self.b = 0
        #: Offset just past the last buffered byte ("end").
        self.e = 0

    def __len__(self):
        """Number of buffered bytes not consumed yet."""
        return self.e - self.b

    def clear(self):
        """Drop all buffered data."""
        self.b = self.e = 0

    def compact(self):
        """Move the unconsumed bytes to the front, so that the buffer can
        be filled up to its full size again."""
        if self.b == 0:
            return
        length = self.e - self.b
        self.d[:length] = self.d[self.b:self.e]
        self.b = 0
        self.e = length

    def exhaust(self):
        """Consume and return all buffered bytes as a `bytearray`."""
        if self.b == 0:
            # Hand out the storage itself (no copy) and start a new one.
            data, self.d = self.d, bytearray(len(self.d))
            del data[self.e:]
        else:
            data = self.d[self.b:self.e]
        self.b = self.e = 0
        return data


# ---------------------------------------------------------------------------
# Connecting
# ---------------------------------------------------------------------------

def _dns_test_hostnames():
    """The `DNS_TEST_HOSTNAMES` in force: the `dugong` package's value if it
    was replaced there, else this module's (which may have been replaced)."""
    package = sys.modules.get('dugong')
    value = getattr(package, 'DNS_TEST_HOSTNAMES', _DEFAULT_DNS_TEST_HOSTNAMES)
    if value is _DEFAULT_DNS_TEST_HOSTNAMES:
        value = DNS_TEST_HOSTNAMES
    return value


#: Resolver error codes that mean "no such name" -- or a resolver that
#: failed without saying why, which has to be found out separately.
_EAI_NO_NAME = frozenset(
    getattr(socket, name) for name in ('EAI_NONAME', 'EAI_NODATA')
    if hasattr(socket, name))


def _resolve(host, port, name):
    """Return ``socket.getaddrinfo(host, port)`` for stream sockets.

    A resolver error saying that the DNS server is unreachable becomes
    `DNSUnavailable`; one saying that the name does not exist becomes
    `HostnameNotResolvableOrDNSUnavailable`, since that is what some
    resolvers also say when they cannot reach the server. *name* is the
    host name that these exceptions report. Other errors propagate.
    """
    try:
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, socket.herror) as exc:
        if exc.errno == socket.EAI_AGAIN:
            raise DNSUnavailable(name) from exc
        if exc.errno in _EAI_NO_NAME:
            raise HostnameNotResolvableOrDNSUnavailable(name) from exc
        raise


def _dns_works(name):
    """Whether any of the `DNS_TEST_HOSTNAMES` resolves.

    Raises `DNSUnavailable` (for *name*) as soon as the resolver reports
    that its server is unreachable.
    """
    for test_host, test_port in _dns_test_hostnames():
        try:
            _resolve(test_host, test_port, name)
        except HostnameNotResolvableOrDNSUnavailable:
            continue
        return True
    return False


def create_socket(address):
    """Return a socket connected to *address*, a ``(host, port)`` tuple.

    The host is resolved with `socket.getaddrinfo` and each of its addresses
    is tried in turn; the socket of the first successful connection is
    returned (in the default blocking mode). If none connects, the error of
    the last attempt is raised.

    If the host name does not resolve, the names in `DNS_TEST_HOSTNAMES` are
    resolved to find out why: if one of them resolves, the DNS server works
    and the name is resolved once more (the server may just have recovered)
    before `HostnameNotResolvable` is raised; if none does,
    `DNSUnavailable` is raised. A resolver error that says outright that
    the server is unreachable raises `DNSUnavailable` at once.
    """
    host, port = address[0], address[1]
    try:
        infos = _resolve(host, port, host)
    except HostnameNotResolvableOrDNSUnavailable:
        # Some resolvers report an unreachable server as a missing name, so
        # check whether names that should always exist resolve.
        if not _dns_works(host):
            raise DNSUnavailable(host) from None
        try:
            infos = _resolve(host, port, host)
        except HostnameNotResolvableOrDNSUnavailable:
            raise HostnameNotResolvable(host) from None

    last_error = None
    for family, type_, proto, _, sockaddr in infos:
        sock = None
        try:
            sock = socket.socket(family, type_, proto)
            sock.connect(sockaddr)
        except BaseException as exc:
            if sock is not None:
                sock.close()
            if not isinstance(exc, OSError):
                raise
            log.debug('connecting to %s failed: %s', sockaddr, exc)
            last_error = exc
            continue
        return sock

    if last_error is None:
        raise OSError('getaddrinfo returned no addresses for %s' % (host,))
    raise last_error
