"""Tests for dugong._util: the parts of the API that need no HTTP connection.

They import `dugong._util` only, so they run without the Rust extension:

    cd dugong-python && PYTHONPATH=python python3 -m pytest tests/test_util.py -q

Everything stays on this machine (socket pairs, loopback listeners, names
under ``.invalid``) and every wait is bounded.
"""

import asyncio
import errno
import pickle
import select
import socket
import ssl
import sys
import time
import types

import pytest

from dugong import _util
from dugong._util import (
    BUFFER_SIZE, MAX_HEADER_SIZE, MAX_LINE_SIZE, POLLIN, POLLOUT,
    AioFuture, CaseInsensitiveDict, ConnectionClosed, ConnectionTimedOut,
    DNSUnavailable, ExcessBodyData, HostnameNotResolvable,
    HostnameNotResolvableOrDNSUnavailable, InvalidResponse, PollNeeded,
    StateError, UnsupportedResponse, _Buffer, _GeneralError, _join,
    create_socket, eval_coroutine, is_temp_network_error)

# Bounds every wait in these tests (seconds).
LIMIT = 5


@pytest.fixture
def sockpair():
    """A connected pair of non-blocking stream sockets."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def listener():
    """A listening TCP socket on 127.0.0.1 (any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    sock.listen(4)
    sock.settimeout(LIMIT)
    yield sock
    sock.close()


def unused_port():
    """A loopback TCP port that nothing listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------
# Constants and __all__
# ---------------------------------------------------------------------------

def test_constants():
    assert BUFFER_SIZE == 64 * 1024
    assert MAX_LINE_SIZE == BUFFER_SIZE - 1
    assert MAX_HEADER_SIZE == BUFFER_SIZE - 1
    assert (POLLIN, POLLOUT) == (select.POLLIN, select.POLLOUT)
    assert all(len(entry) == 2 for entry in _util.DNS_TEST_HOSTNAMES)


def test_all_names_exist():
    for name in _util.__all__:
        assert hasattr(_util, name), name
    assert len(set(_util.__all__)) == len(_util.__all__)


# ---------------------------------------------------------------------------
# CaseInsensitiveDict
# ---------------------------------------------------------------------------

def test_cid_lookup_ignores_case():
    cid = CaseInsensitiveDict()
    cid['Accept'] = 'application/json'
    assert cid['aCCEPT'] == 'application/json'
    assert cid['accept'] == 'application/json'
    assert 'ACCEPT' in cid
    assert 'Content-Type' not in cid
    assert cid.get('accepT') == 'application/json'
    assert cid.get('missing', 42) == 42
    with pytest.raises(KeyError):
        cid['missing']


def test_cid_keeps_case_of_last_set_key():
    cid = CaseInsensitiveDict()
    cid['Content-Type'] = 'a'
    assert list(cid) == ['Content-Type']
    cid['CONTENT-TYPE'] = 'b'
    assert list(cid) == ['CONTENT-TYPE']
    assert list(cid.items()) == [('CONTENT-TYPE', 'b')]
    assert len(cid) == 1


def test_cid_delete_and_mutablemapping_methods():
    cid = CaseInsensitiveDict({'Foo': 1, 'Bar': 2}, Baz=3)
    assert len(cid) == 3
    del cid['FOO']
    assert 'foo' not in cid
    with pytest.raises(KeyError):
        del cid['foo']
    assert cid.pop('bar') == 2
    assert cid.setdefault('BAZ', 99) == 3
    cid.update([('Qux', 4)])
    assert dict(cid) == {'Baz': 3, 'Qux': 4}
    cid.clear()
    assert len(cid) == 0


def test_cid_constructor_forms():
    assert dict(CaseInsensitiveDict()) == {}
    assert dict(CaseInsensitiveDict(None)) == {}
    assert dict(CaseInsensitiveDict([('A', 1)])) == {'A': 1}
    assert dict(CaseInsensitiveDict(A=1)) == {'A': 1}


def test_cid_lower_items():
    cid = CaseInsensitiveDict({'Content-Length': '3', 'ETag': 'x'})
    assert sorted(cid.lower_items()) == [('content-length', '3'),
                                         ('etag', 'x')]


def test_cid_equality():
    cid = CaseInsensitiveDict({'Content-Length': '3'})
    assert cid == {'content-length': '3'}
    assert cid == CaseInsensitiveDict({'CONTENT-LENGTH': '3'})
    assert cid != {'content-length': '4'}
    assert cid != {'content-length': '3', 'x': '1'}
    # Not a mapping: comparison is left to the other operand.
    assert cid != [('content-length', '3')]
    assert cid.__eq__(42) is NotImplemented


def test_cid_copy_is_independent():
    cid = CaseInsensitiveDict({'Foo': 'bar'})
    copy = cid.copy()
    assert isinstance(copy, CaseInsensitiveDict)
    assert copy == cid and list(copy) == ['Foo']
    copy['foo'] = 'baz'
    assert cid['FOO'] == 'bar'
    assert list(copy) == ['foo']


def test_cid_repr():
    cid = CaseInsensitiveDict({'Foo': 'bar'})
    assert repr(cid) == "CaseInsensitiveDict({'Foo': 'bar'})"


def test_cid_unhashable():
    with pytest.raises(TypeError):
        hash(CaseInsensitiveDict())


# ---------------------------------------------------------------------------
# PollNeeded, eval_coroutine
# ---------------------------------------------------------------------------

def test_pollneeded_is_a_tuple():
    req = PollNeeded(7, POLLIN | POLLOUT)
    assert isinstance(req, tuple)
    assert req == (7, POLLIN | POLLOUT)
    assert (req.fd, req.mask) == (7, POLLIN | POLLOUT)
    fd, mask = req
    assert (fd, mask) == (7, POLLIN | POLLOUT)
    with pytest.raises(AttributeError):
        req.foo = 1  # __slots__: no instance dict


def test_pollneeded_readable_after_write(sockpair):
    a, b = sockpair
    req = PollNeeded(a.fileno(), POLLIN)
    assert req.poll(timeout=0.05) is False
    b.send(b'x')
    assert req.poll(timeout=LIMIT) is True
    # Without a timeout it returns at once too, as data is waiting.
    assert req.poll() is True


def test_pollneeded_writable(sockpair):
    a, _ = sockpair
    assert PollNeeded(a.fileno(), POLLOUT).poll(timeout=LIMIT) is True


def test_pollneeded_timeout_returns_false(sockpair):
    a, _ = sockpair
    start = time.monotonic()
    assert PollNeeded(a.fileno(), POLLIN).poll(timeout=0.1) is False
    assert time.monotonic() - start >= 0.09


def _read_n(sock, count):
    """A dugong-style coroutine: read *count* bytes from *sock*."""
    parts = []
    received = 0
    while received < count:
        try:
            data = sock.recv(count - received)
        except BlockingIOError:
            yield PollNeeded(sock.fileno(), POLLIN)
            continue
        if not data:
            break
        parts.append(data)
        received += len(data)
    return _join(parts)


def test_eval_coroutine_returns_value(sockpair):
    a, b = sockpair
    b.send(b'hello')
    assert eval_coroutine(_read_n(a, 5), timeout=LIMIT) == b'hello'


def test_eval_coroutine_without_yield():
    def crt():
        return 42
        yield  # pragma: no cover - makes this a generator

    assert eval_coroutine(crt()) == 42


def test_eval_coroutine_polls_until_ready(sockpair):
    a, b = sockpair
    polls = []

    def crt():
        while True:
            try:
                return a.recv(10)
            except BlockingIOError:
                polls.append(1)
                if len(polls) == 1:
                    b.send(b'later')
                yield PollNeeded(a.fileno(), POLLIN)

    assert eval_coroutine(crt(), timeout=LIMIT) == b'later'
    assert polls == [1]


def test_eval_coroutine_times_out(sockpair):
    a, _ = sockpair
    start = time.monotonic()
    with pytest.raises(ConnectionTimedOut):
        eval_coroutine(_read_n(a, 1), timeout=0.1)
    assert time.monotonic() - start < LIMIT


def test_eval_coroutine_propagates_exceptions():
    def crt():
        raise ValueError('inside')
        yield  # pragma: no cover

    with pytest.raises(ValueError, match='inside'):
        eval_coroutine(crt())


# ---------------------------------------------------------------------------
# AioFuture
# ---------------------------------------------------------------------------

def test_aiofuture_reads_over_socketpair(sockpair):
    a, b = sockpair

    def reader():
        got = []
        for _ in range(3):
            yield PollNeeded(a.fileno(), POLLIN)
            got.append(a.recv(100))
        return got

    async def writer():
        for i in range(3):
            await asyncio.sleep(0.01)
            b.send(b'text-%d' % i)
            # Let the reader consume the message before sending the next.
            await asyncio.sleep(0.01)

    async def main():
        fut = AioFuture(reader())
        assert isinstance(fut, asyncio.Future)
        await asyncio.gather(writer(), asyncio.wait_for(fut, LIMIT))
        return fut.result()

    assert asyncio.run(main()) == [b'text-0', b'text-1', b'text-2']
    assert not AioFuture._owners


def test_aiofuture_switches_between_read_and_write(sockpair):
    a, b = sockpair

    def echo_once():
        yield PollNeeded(a.fileno(), POLLIN)
        data = a.recv(100)
        yield PollNeeded(a.fileno(), POLLOUT)
        a.send(data.upper())
        return len(data)

    async def main():
        fut = AioFuture(echo_once())
        await asyncio.sleep(0.01)
        b.send(b'ping')
        assert await asyncio.wait_for(fut, LIMIT) == 4

    asyncio.run(main())
    assert b.recv(100) == b'PING'
    assert not AioFuture._owners


def test_aiofuture_is_awaitable(sockpair):
    a, b = sockpair
    b.send(b'abc')

    async def main():
        return await AioFuture(_read_n(a, 3))

    assert asyncio.run(main()) == b'abc'


def test_aiofuture_explicit_loop(sockpair):
    a, b = sockpair
    b.send(b'xyz')
    loop = asyncio.new_event_loop()
    try:
        fut = AioFuture(_read_n(a, 3), loop=loop)
        assert fut.get_loop() is loop
        assert loop.run_until_complete(asyncio.wait_for(fut, LIMIT)) == b'xyz'
    finally:
        loop.close()


def test_aiofuture_exception():
    def crt():
        raise InvalidResponse('bad')
        yield  # pragma: no cover

    async def main():
        await AioFuture(crt())

    with pytest.raises(InvalidResponse, match='bad'):
        asyncio.run(main())


def test_aiofuture_rejects_other_yields():
    def crt():
        yield 'not a PollNeeded'

    async def main():
        await asyncio.wait_for(AioFuture(crt()), LIMIT)

    with pytest.raises(TypeError, match='PollNeeded'):
        asyncio.run(main())


def test_aiofuture_one_reader_per_fd(sockpair):
    a, _ = sockpair

    def waits_forever():
        while True:
            yield PollNeeded(a.fileno(), POLLIN)

    async def main():
        first = AioFuture(waits_forever())
        await asyncio.sleep(0.01)
        second = AioFuture(waits_forever())
        with pytest.raises(RuntimeError, match='already a read callback'):
            await asyncio.wait_for(second, LIMIT)
        assert not first.done()
        first.cancel()
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert not AioFuture._owners


def test_aiofuture_cancel_closes_coroutine(sockpair):
    a, _ = sockpair
    closed = []

    def crt():
        try:
            while True:
                yield PollNeeded(a.fileno(), POLLIN)
        finally:
            closed.append(True)

    async def main():
        fut = AioFuture(crt())
        await asyncio.sleep(0.01)
        fut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await fut
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert closed == [True]
    assert not AioFuture._owners


# ---------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('cls, default', [
    (StateError, 'Operation invalid in current connection state'),
    (ExcessBodyData, 'Cannot send larger request body than announced'),
    (InvalidResponse, 'Server sent invalid response'),
    (UnsupportedResponse, 'Server sent unsupported response'),
    (ConnectionClosed, 'connection closed unexpectedly'),
    (ConnectionTimedOut, 'send/recv timeout exceeded'),
])
def test_general_errors(cls, default):
    assert issubclass(cls, _GeneralError)
    assert issubclass(cls, Exception)
    assert str(cls()) == default
    assert cls().msg == default
    err = cls('custom text')
    assert str(err) == err.msg == 'custom text'
    assert cls.msg == default  # the instance's message stays its own
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is cls and str(copy) == 'custom text'


def test_general_error_base():
    assert str(_GeneralError()) == 'General HTTP Error'
    assert str(_GeneralError('x')) == 'x'


def test_connection_closed_additions():
    err = ConnectionClosed()
    assert err.resendable == () and err.fates == ()
    err = ConnectionClosed('server went away',
                           resendable=[('GET', '/a'), ('HEAD', '/b')],
                           fates=['first', 'second'])
    assert str(err) == 'server went away'
    assert err.resendable == (('GET', '/a'), ('HEAD', '/b'))
    assert err.fates == ('first', 'second')
    copy = pickle.loads(pickle.dumps(err))
    assert (str(copy), copy.resendable, copy.fates) == (
        'server went away', err.resendable, err.fates)
    copy = pickle.loads(pickle.dumps(ConnectionClosed(resendable=[('GET', '/')])))
    assert str(copy) == 'connection closed unexpectedly'
    assert copy.resendable == (('GET', '/'),)
    with pytest.raises(TypeError):
        ConnectionClosed('msg', (('GET', '/'),))  # keyword-only


@pytest.mark.parametrize('cls, text', [
    (HostnameNotResolvable, 'Host foo.invalid does not have any ip addresses'),
    (DNSUnavailable, 'Unable to resolve foo.invalid, DNS server unavailable.'),
    (HostnameNotResolvableOrDNSUnavailable,
     'Unable to resolve host foo.invalid'),
])
def test_resolution_errors(cls, text):
    assert not issubclass(cls, _GeneralError)
    err = cls('foo.invalid')
    assert err.name == 'foo.invalid'
    assert str(err) == text
    copy = pickle.loads(pickle.dumps(err))
    assert copy.name == 'foo.invalid' and str(copy) == text


# ---------------------------------------------------------------------------
# is_temp_network_error
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('exc', [
    socket.timeout(),
    TimeoutError(),
    ConnectionResetError(),
    ConnectionRefusedError(),
    ConnectionAbortedError(),
    BrokenPipeError(),
    InterruptedError(),
    ConnectionClosed(),
    ConnectionClosed(resendable=[('GET', '/')]),
    ConnectionTimedOut(),
    DNSUnavailable('foo.invalid'),
    ssl.SSLZeroReturnError(),
    ssl.SSLEOFError(),
    ssl.SSLSyscallError(),
    OSError(errno.EHOSTUNREACH, 'no route to host'),
    OSError(errno.ENETUNREACH, 'network unreachable'),
    OSError(errno.ENETDOWN, 'network down'),
    OSError(errno.ETIMEDOUT, 'timed out'),
    OSError(errno.EAGAIN, 'try again'),
    OSError(errno.EPIPE, 'broken pipe'),
    OSError(errno.ENOTCONN, 'not connected'),
])
def test_temp_network_errors(exc):
    assert is_temp_network_error(exc)


@pytest.mark.parametrize('exc', [
    ValueError(),
    RuntimeError(),
    OSError(),
    OSError(errno.ENOENT, 'no such file'),
    OSError(errno.EACCES, 'permission denied'),
    socket.gaierror(socket.EAI_NONAME, 'unknown name'),
    socket.gaierror(socket.EAI_AGAIN, 'temporary failure'),
    socket.herror(1, 'unknown host'),
    HostnameNotResolvable('foo.invalid'),
    HostnameNotResolvableOrDNSUnavailable('foo.invalid'),
    InvalidResponse(),
    UnsupportedResponse(),
    StateError(),
    ExcessBodyData(),
    ssl.SSLError(),
    ssl.SSLCertVerificationError(),
])
def test_permanent_errors(exc):
    assert not is_temp_network_error(exc)


# ---------------------------------------------------------------------------
# _join, _Buffer
# ---------------------------------------------------------------------------

def test_join():
    assert _join([]) == b''
    result = _join([b'ab', bytearray(b'cd'), memoryview(b'xefx')[1:3]])
    assert result == b'abcdef'
    assert isinstance(result, bytes)


def test_buffer_basics():
    buf = _Buffer(16)
    assert isinstance(buf.d, bytearray) and len(buf.d) == 16
    assert (buf.b, buf.e, len(buf)) == (0, 0, 0)
    buf.d[0:5] = b'hello'
    buf.e = 5
    buf.b = 2
    assert len(buf) == 3
    buf.clear()
    assert (buf.b, buf.e, len(buf)) == (0, 0, 0)
    assert len(buf.d) == 16


def test_buffer_compact():
    buf = _Buffer(10)
    buf.d[:8] = b'abcdefgh'
    buf.b, buf.e = 3, 8
    buf.compact()
    assert (buf.b, buf.e) == (0, 5)
    assert buf.d[:5] == b'defgh'
    assert len(buf.d) == 10
    buf.compact()  # nothing consumed: no change
    assert (buf.b, buf.e) == (0, 5) and buf.d[:5] == b'defgh'


def test_buffer_exhaust():
    buf = _Buffer(10)
    buf.d[:4] = b'abcd'
    buf.e = 4
    assert buf.exhaust() == bytearray(b'abcd')
    assert (buf.b, buf.e, len(buf.d)) == (0, 0, 10)

    buf.d[:6] = b'uvwxyz'
    buf.b, buf.e = 2, 6
    data = buf.exhaust()
    assert isinstance(data, bytearray) and data == b'wxyz'
    assert (buf.b, buf.e, len(buf.d)) == (0, 0, 10)
    assert buf.exhaust() == b''


# ---------------------------------------------------------------------------
# create_socket
# ---------------------------------------------------------------------------

def _check_connected(sock, listener):
    """Assert that *sock* is connected to *listener*; close both ends."""
    try:
        assert sock.getpeername()[:2] == listener.getsockname()
        peer, _ = listener.accept()
        with peer:
            sock.sendall(b'ping')
            peer.settimeout(LIMIT)
            assert peer.recv(4) == b'ping'
    finally:
        sock.close()


def test_create_socket_ip(listener):
    sock = create_socket(listener.getsockname())
    assert sock.type == socket.SOCK_STREAM
    _check_connected(sock, listener)


def test_create_socket_localhost(listener):
    # localhost may resolve to ::1 first; the IPv4 address must be tried too.
    sock = create_socket(('localhost', listener.getsockname()[1]))
    _check_connected(sock, listener)


def test_create_socket_refused():
    with pytest.raises(ConnectionRefusedError):
        create_socket(('127.0.0.1', unused_port()))


def test_create_socket_raises_last_error(monkeypatch, listener):
    port = listener.getsockname()[1]
    infos = [(socket.AF_INET, socket.SOCK_STREAM, 6, '', ('127.0.0.1', unused_port())),
             (socket.AF_INET, socket.SOCK_STREAM, 6, '', ('127.0.0.1', port))]
    monkeypatch.setattr(socket, 'getaddrinfo', lambda *args, **kw: list(infos))
    # The first address is refused, the second one connects.
    _check_connected(create_socket(('somewhere.invalid', 80)), listener)

    # Both refused: the error of the last attempt is raised.
    infos[1] = (socket.AF_INET, socket.SOCK_STREAM, 6, '',
                ('127.0.0.1', unused_port()))
    with pytest.raises(ConnectionRefusedError):
        create_socket(('somewhere.invalid', 80))

    infos.clear()
    with pytest.raises(OSError):
        create_socket(('somewhere.invalid', 80))


def _resolver_gives_noname(hostname):
    """Whether the system resolver says that *hostname* does not exist (as
    opposed to failing because no DNS server answers)."""
    try:
        socket.getaddrinfo(hostname, 80)
    except socket.gaierror as exc:
        return exc.errno in _util._EAI_NO_NAME
    return False


def test_hostname_not_resolvable(monkeypatch):
    if not _resolver_gives_noname('foobar.invalid'):
        pytest.skip('the system resolver gives no definite answer for .invalid')
    monkeypatch.setattr(_util, 'DNS_TEST_HOSTNAMES', (('localhost', 80),))
    with pytest.raises(HostnameNotResolvable) as info:
        create_socket(('foobar.invalid', 80))
    assert info.value.name == 'foobar.invalid'


def test_dns_unavailable(monkeypatch):
    monkeypatch.setattr(_util, 'DNS_TEST_HOSTNAMES',
                        (('grumpf.invalid', 80), ('frobz.invalid', 53)))
    with pytest.raises(DNSUnavailable) as info:
        create_socket(('foobar.invalid', 80))
    assert info.value.name == 'foobar.invalid'


class FakeResolver:
    """Stands in for `socket.getaddrinfo`: answers from a table of host ->
    result (a list of addresses, an error number, or a list of those to be
    used one call after the other), and records the names asked for."""

    def __init__(self, table, port):
        self.table = table
        self.port = port
        self.calls = []

    def __call__(self, host, port, *args, **kwargs):
        self.calls.append(host)
        answer = self.table[host]
        if isinstance(answer, list):
            answer = answer.pop(0)
        if isinstance(answer, int):
            raise socket.gaierror(answer, 'fake resolver error')
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, '',
                 ('127.0.0.1', self.port))]


@pytest.fixture
def fake_dns(monkeypatch, listener):
    """Install a `FakeResolver` with the given table; its addresses point
    at `listener`. The test host names are a.test and b.test."""
    monkeypatch.setattr(_util, 'DNS_TEST_HOSTNAMES',
                        (('a.test', 80), ('b.test', 80)))

    def install(table):
        resolver = FakeResolver(table, listener.getsockname()[1])
        monkeypatch.setattr(socket, 'getaddrinfo', resolver)
        return resolver

    return install


def test_fake_dns_eai_again_is_dns_unavailable(fake_dns):
    resolver = fake_dns({'host.test': socket.EAI_AGAIN})
    with pytest.raises(DNSUnavailable):
        create_socket(('host.test', 80))
    assert resolver.calls == ['host.test']  # no test hosts needed


def test_fake_dns_noname_with_working_dns(fake_dns):
    resolver = fake_dns({'host.test': socket.EAI_NONAME,
                         'a.test': socket.EAI_NONAME, 'b.test': 'ok'})
    with pytest.raises(HostnameNotResolvable):
        create_socket(('host.test', 80))
    assert resolver.calls == ['host.test', 'a.test', 'b.test', 'host.test']


def test_fake_dns_noname_without_working_dns(fake_dns):
    resolver = fake_dns({'host.test': socket.EAI_NONAME,
                         'a.test': socket.EAI_NONAME,
                         'b.test': socket.EAI_NONAME})
    with pytest.raises(DNSUnavailable):
        create_socket(('host.test', 80))
    assert resolver.calls == ['host.test', 'a.test', 'b.test']


def test_fake_dns_test_host_eai_again(fake_dns):
    fake_dns({'host.test': socket.EAI_NONAME, 'a.test': socket.EAI_AGAIN})
    with pytest.raises(DNSUnavailable) as info:
        create_socket(('host.test', 80))
    assert info.value.name == 'host.test'


def test_fake_dns_recovers(fake_dns, listener):
    # The name fails once, DNS works, and the second try resolves it.
    resolver = fake_dns({'host.test': [socket.EAI_NONAME, 'ok'], 'a.test': 'ok'})
    _check_connected(create_socket(('host.test', 80)), listener)
    assert resolver.calls == ['host.test', 'a.test', 'host.test']


def test_fake_dns_other_errors_propagate(fake_dns):
    fake_dns({'host.test': socket.EAI_SERVICE})
    with pytest.raises(socket.gaierror) as info:
        create_socket(('host.test', 80))
    assert info.value.errno == socket.EAI_SERVICE


def test_dns_test_hostnames_on_package_take_precedence(monkeypatch, fake_dns):
    """Replacing DNS_TEST_HOSTNAMES on the `dugong` package (as the original
    test suite does) is seen by create_socket."""
    package = sys.modules.get('dugong')
    if package is None:  # pragma: no cover - `from dugong import _util` ran
        package = types.ModuleType('dugong')
        monkeypatch.setitem(sys.modules, 'dugong', package)
    monkeypatch.setattr(package, 'DNS_TEST_HOSTNAMES', (('c.test', 80),),
                        raising=False)
    resolver = fake_dns({'host.test': socket.EAI_NONAME, 'c.test': 'ok'})
    with pytest.raises(HostnameNotResolvable):
        create_socket(('host.test', 80))
    assert resolver.calls == ['host.test', 'c.test', 'host.test']
