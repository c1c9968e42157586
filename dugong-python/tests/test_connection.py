"""Every public `HTTPConnection` API against loopback servers (the stdlib
`http_server`, or a scripted `raw_server` where the exact bytes matter)."""

import email.message
import errno
import hashlib
import io
import socket
import sys
import threading
import time

import pytest

from dugong import (BodyFollowing, CaseInsensitiveDict, ConnectionClosed,
                    ConnectionTimedOut, ExcessBodyData, HTTPConnection,
                    HTTPResponse, StateError, UnsupportedResponse)

from conftest import (LIMIT, TEXT, Call, Close, HalfClose, LoopbackServer, ReadHeads,
                      Send, Sleep, ipv6_available, md5_b64, payload)

pytestmark = pytest.mark.timeout(30)

OK_EMPTY = b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'


def fetch(conn, path, method='GET'):
    """Sends one request and reads its response: ``(response, body)``."""
    conn.send_request(method, path)
    resp = conn.read_response()
    return resp, conn.readall()


def head_lines(raw):
    """The request line and the set of header lines of the request head at
    the start of *raw*, and what follows the head."""
    head, _, rest = bytes(raw).partition(b'\r\n\r\n')
    line, *fields = head.split(b'\r\n')
    return line, set(fields), rest


# ---------------------------------------------------------------------------
# Simple requests
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('size', [0, 1, 1000, 3 * 65536 + 17])
def test_get_returns_the_exact_body(conn, size):
    resp, body = fetch(conn, '/send_%d_bytes' % size)
    assert isinstance(resp, HTTPResponse)
    assert (resp.status, resp.reason) == (200, 'OK')
    assert (resp.method, resp.path) == ('GET', '/send_%d_bytes' % size)
    assert resp.length == size
    assert body == payload(size)
    assert not conn.response_pending()


def test_request_head_on_the_wire(raw_server, conn_factory):
    server = raw_server([ReadHeads(1), Send(OK_EMPTY)])
    conn = conn_factory('127.0.0.1', server.port)
    # A caller's Content-Length is replaced by the real one (python-dugong).
    conn.send_request('GET', '/a/b?c=d', headers={'X-Foo': 'bar', 'content-length': '99'})
    assert conn.read_response().status == 200
    assert conn.readall() == b''
    conn.disconnect()
    server.wait()
    line, fields, rest = head_lines(server.received[0])
    assert line == b'GET /a/b?c=d HTTP/1.1'
    assert fields == {b'X-Foo: bar', b'Accept-Encoding: identity', b'Connection: keep-alive',
                      b'Host: 127.0.0.1:%d' % server.port, b'Content-Length: 0'}
    assert rest == b''


@pytest.mark.parametrize('make_body', [bytes, bytearray, memoryview],
                         ids=['bytes', 'bytearray', 'memoryview'])
def test_bytes_body_is_sent_with_content_md5(conn, http_server, make_body):
    data = payload(10000)
    conn.send_request('PUT', '/echo', body=make_body(data))
    resp = conn.read_response()
    assert resp.status == 200
    assert conn.readall() == data
    assert resp.headers['X-Content-MD5'] == md5_b64(data)
    assert resp.headers['X-Framing'] == 'length'
    [received] = http_server.requests
    assert received.headers['Content-Length'] == '10000'
    assert received.body == data


def test_callers_content_md5_is_kept(conn, http_server):
    conn.send_request('POST', '/echo', headers=CaseInsensitiveDict({'content-md5': 'abc='}),
                      body=b'xyz')
    resp = conn.read_response()
    assert conn.readall() == b'xyz'
    assert resp.headers['X-Content-MD5'] == 'abc='
    assert http_server.requests[0].headers.get_all('Content-MD5') == ['abc=']


def test_body_must_be_bytes_like(conn):
    with pytest.raises(TypeError):
        conn.send_request('PUT', '/echo', body='text')


# ---------------------------------------------------------------------------
# Bodies sent with write()
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('size,piece', [(3000, 1), (150000, 1000), (150000, 70000)])
def test_body_following_with_length(conn, http_server, size, piece):
    data = payload(size)
    conn.send_request('PUT', '/echo', body=BodyFollowing(len(data)))
    for at in range(0, len(data), piece):
        conn.write(data[at:at + piece])
    resp = conn.read_response()
    assert resp.status == 200
    assert resp.headers['X-Framing'] == 'length'
    assert resp.headers['X-MD5'] == hashlib.md5(data).hexdigest()
    assert conn.readall() == data
    assert http_server.requests[0].headers['Content-Length'] == str(len(data))


def test_body_following_none_is_chunked(conn, http_server):
    pieces = [b'abc', payload(70000), b'\r\n0\r\n\r\n', b'z']
    conn.send_request('POST', '/echo', body=BodyFollowing(None))
    for piece in pieces:
        conn.write(piece)
    conn.write(b'')   # ends the body
    resp = conn.read_response()
    assert resp.headers['X-Framing'] == 'chunked'
    assert conn.readall() == b''.join(pieces)
    [received] = http_server.requests
    assert received.chunked
    assert received.headers['Transfer-Encoding'] == 'chunked'
    assert 'Content-Length' not in received.headers
    assert received.trailers == []


def test_chunked_body_on_the_wire(raw_server, conn_factory):
    # The head, then the body up to its last chunk's "0\r\n\r\n".
    server = raw_server([ReadHeads(2), Send(OK_EMPTY)])
    conn = conn_factory('127.0.0.1', server.port)
    conn.send_request('PUT', '/up', body=BodyFollowing())
    conn.write(b'hello')
    conn.write(bytearray(b' world'))
    conn.write(b'')
    assert conn.read_response().status == 200
    conn.disconnect()
    server.wait()
    line, fields, rest = head_lines(server.received[0])
    assert line == b'PUT /up HTTP/1.1'
    assert b'Transfer-Encoding: chunked' in fields
    assert rest == b'5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'


def test_read_response_before_body_is_complete_is_a_state_error(conn):
    conn.send_request('PUT', '/echo', body=BodyFollowing(10))
    conn.write(b'12345')
    with pytest.raises(StateError):
        conn.read_response()
    conn.write(b'67890')
    assert conn.read_response().status == 200
    assert conn.readall() == b'1234567890'


def test_excess_body_data(conn):
    conn.send_request('PUT', '/echo', body=BodyFollowing(3))
    with pytest.raises(ExcessBodyData):
        conn.write(b'abcd')
    # Nothing of the refused piece was sent: the body can still be completed.
    conn.write(b'ab')
    with pytest.raises(ExcessBodyData):
        conn.write(b'cd')
    conn.write(b'c')
    with pytest.raises(StateError):
        conn.write(b'd')
    assert conn.read_response().status == 200
    assert conn.readall() == b'abc'


# ---------------------------------------------------------------------------
# 100-continue
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('length', [5, None], ids=['length', 'chunked'])
def test_expect100_accepted(conn, http_server, length):
    conn.send_request('PUT', '/echo', body=BodyFollowing(length), expect100=True)
    cont = conn.read_response()
    assert (cont.status, cont.method, cont.path, cont.length) == (100, 'PUT', '/echo', 0)
    assert conn.response_pending()
    conn.write(b'hello')
    if length is None:
        conn.write(b'')
    resp = conn.read_response()
    assert (resp.status, resp.method, resp.path) == (200, 'PUT', '/echo')
    assert conn.readall() == b'hello'
    assert not conn.response_pending()
    assert http_server.requests[0].headers['Expect'] == '100-continue'


def test_write_before_100_continue_is_a_state_error(conn):
    conn.send_request('PUT', '/echo', body=BodyFollowing(5), expect100=True)
    with pytest.raises(StateError):
        conn.write(b'hello')
    assert conn.read_response().status == 100
    conn.write(b'hello')
    assert conn.read_response().status == 200
    assert conn.readall() == b'hello'


def test_expect100_refused(conn, http_server):
    conn.send_request('PUT', '/refuse', body=BodyFollowing(5), expect100=True)
    resp = conn.read_response()
    assert (resp.status, resp.reason, resp.method, resp.path) == (403, 'Go Away', 'PUT', '/refuse')
    assert resp.length == 0
    assert conn.readall() == b''
    assert not conn.response_pending()
    with pytest.raises(StateError):
        conn.write(b'hello')   # the body is cancelled
    # The body was never sent, so the server cannot tell where the next
    # request would start: it goes over a new connection.
    resp, body = fetch(conn, '/send_10_bytes')
    assert (resp.status, body) == (200, payload(10))
    assert len(http_server.connections()) == 2
    assert [r.target for r in http_server.requests] == ['/refuse', '/send_10_bytes']


def test_expect100_needs_body_following(conn):
    with pytest.raises(ValueError):
        conn.send_request('PUT', '/echo', body=b'data', expect100=True)
    with pytest.raises(ValueError):
        conn.send_request('PUT', '/echo', expect100=True)


# ---------------------------------------------------------------------------
# Reading bodies
# ---------------------------------------------------------------------------

def read_in_pieces(conn, size):
    parts = []
    while True:
        part = conn.read(size)
        assert isinstance(part, bytes)
        assert len(part) <= size
        if not part:
            return b''.join(parts)
        parts.append(part)


def readinto_in_pieces(conn, size):
    buf = bytearray(size)
    parts = []
    while True:
        n = conn.readinto(buf)
        if not n:
            return b''.join(parts)
        parts.append(bytes(buf[:n]))


READERS = {
    'readall': lambda conn: conn.readall(),
    'read()': lambda conn: conn.read(),
    'read(None)': lambda conn: conn.read(None),
    'read(1)': lambda conn: read_in_pieces(conn, 1),
    'read(777)': lambda conn: read_in_pieces(conn, 777),
    'read(1M)': lambda conn: read_in_pieces(conn, 1 << 20),
    'readinto(4096)': lambda conn: readinto_in_pieces(conn, 4096),
    'readinto(memoryview)': lambda conn: _readinto_view(conn),
}


def _readinto_view(conn):
    storage = bytearray(3000)
    view = memoryview(storage)[1000:2500]
    parts = []
    while True:
        n = conn.readinto(view)
        if not n:
            assert storage[:1000] == bytes(1000) and storage[2500:] == bytes(500)
            return b''.join(parts)
        parts.append(bytes(view[:n]))


@pytest.mark.parametrize('reader', READERS.values(), ids=READERS.keys())
@pytest.mark.parametrize('path', ['/send_20000_bytes', '/chunked_20000_bytes?piece=999'])
def test_read_methods(conn, reader, path):
    # Twice over one connection: the body's end is found exactly.
    for _ in range(2):
        conn.send_request('GET', path)
        conn.read_response()
        assert reader(conn) == payload(20000)
        assert conn.read(100) == b''
        assert conn.readall() == b''
        assert not conn.response_pending()


def test_discard_then_next_response(conn):
    for path in ['/send_50000_bytes', '/chunked_50000_bytes', '/send_7_bytes']:
        conn.send_request('GET', path)
    conn.read_response()
    conn.discard()
    conn.read_response()
    assert conn.read(10) == payload(10)
    conn.discard()
    conn.discard()   # nothing left: no-op
    resp = conn.read_response()
    assert resp.path == '/send_7_bytes'
    assert conn.readall() == payload(7)


def test_read_zero_bytes(conn):
    conn.send_request('GET', '/send_10_bytes')
    conn.read_response()
    assert conn.read(0) == b''
    assert conn.response_pending()
    assert conn.readall() == payload(10)


def test_text_io_wrapper(conn):
    conn.send_request('GET', '/text')
    resp = conn.read_response()
    assert resp.headers.get_content_charset() == 'utf-8'
    fh = io.TextIOWrapper(conn, encoding='utf-8')
    assert fh.readline() == TEXT.splitlines(keepends=True)[0]
    assert fh.read(10) == TEXT.splitlines(keepends=True)[1][:10]
    rest = fh.read()
    assert TEXT.splitlines(keepends=True)[0] + TEXT.splitlines(keepends=True)[1][:10] + rest == TEXT
    assert fh.read() == ''
    assert not conn.response_pending()


def test_text_io_wrapper_line_iteration(conn):
    conn.send_request('GET', '/text')
    conn.read_response()
    lines = list(io.TextIOWrapper(conn, encoding='utf-8'))
    assert lines == TEXT.splitlines(keepends=True)


def test_read_raw_on_body_without_framing(raw_server, conn_factory):
    # HTTP/1.1, no length, no chunking, no Connection: close: python-dugong
    # refuses read() and allows read_raw() until the server closes.
    body = payload(3000)
    server = raw_server([ReadHeads(1), Send(b'HTTP/1.1 200 OK\r\n\r\n' + body), Close()])
    conn = conn_factory('127.0.0.1', server.port)
    conn.send_request('GET', '/raw')
    resp = conn.read_response()
    assert resp.length is None
    with pytest.raises(UnsupportedResponse):
        conn.read(10)
    with pytest.raises(UnsupportedResponse):
        conn.readall()
    parts = []
    while True:
        part = conn.read_raw(1000)
        assert len(part) <= 1000
        if not part:
            break
        parts.append(part)
    assert b''.join(parts) == body
    assert conn.read_raw(10) == b''


def test_http10_response_read_until_close(conn, http_server):
    resp, body = fetch(conn, '/http10')
    assert resp.status == 200
    assert resp.length is None
    assert body == payload(5000)
    assert not conn.response_pending()
    # The server closed: a further request is reported, not silently lost.
    conn.send_request('GET', '/send_1_bytes')
    with pytest.raises(ConnectionClosed) as info:
        conn.read_response()
    assert info.value.resendable == (('GET', '/send_1_bytes'),)
    assert info.value.fates == (('GET', '/send_1_bytes', 'not_processed'),)
    conn.reset()
    assert fetch(conn, '/send_1_bytes')[1] == payload(1)


def test_http10_response_over_raw_socket(raw_server, conn_factory):
    server = raw_server([ReadHeads(1), Send(b'HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nold school'),
                         HalfClose()])
    conn = conn_factory('127.0.0.1', server.port)
    resp, body = fetch(conn, '/')
    assert (resp.status, resp.length, body) == (200, None, b'old school')
    assert resp.headers['x-a'] == '1'


# ---------------------------------------------------------------------------
# Pipelining
# ---------------------------------------------------------------------------

def test_pipelining_100_requests(conn, http_server):
    sizes = [(i * 37) % 2000 for i in range(100)]
    paths = ['/send_%d_bytes' % n if i % 3 else '/chunked_%d_bytes' % n
             for i, n in enumerate(sizes)]
    for path in paths:
        conn.send_request('GET', path)
    for path, size in zip(paths, sizes):
        assert conn.response_pending()
        resp = conn.read_response()
        assert (resp.status, resp.path) == (200, path)
        assert conn.readall() == payload(size)
    assert not conn.response_pending()
    assert len(http_server.connections()) == 1
    assert [r.target for r in http_server.requests] == paths


def test_pipelining_mixed_methods_and_bodies(conn):
    conn.send_request('PUT', '/echo', body=b'first')
    conn.send_request('PUT', '/echo', body=BodyFollowing(6))
    conn.write(b'second')
    conn.send_request('POST', '/echo', body=BodyFollowing(None))
    conn.write(b'thi')
    conn.write(b'rd')
    conn.write(b'')
    conn.send_request('HEAD', '/send_100_bytes')
    conn.send_request('DELETE', '/send_3_bytes')
    expected = [('PUT', b'first'), ('PUT', b'second'), ('POST', b'third'), ('HEAD', b''),
                ('DELETE', payload(3))]
    for method, body in expected:
        resp = conn.read_response()
        assert resp.method == method
        assert conn.readall() == body


# ---------------------------------------------------------------------------
# Responses without a body; headers; trailers; informational responses
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('method,path,status', [
    ('HEAD', '/send_100_bytes', 200),
    ('HEAD', '/chunked_100_bytes', 200),
    ('GET', '/status_204', 204),
    ('GET', '/status_304', 304),
])
def test_bodyless_responses(conn, method, path, status):
    conn.send_request(method, path)
    conn.send_request('GET', '/send_5_bytes')   # must not be eaten as a body
    resp = conn.read_response()
    assert (resp.status, resp.method, resp.length) == (status, method, 0)
    assert conn.read(10) == b''
    assert conn.readall() == b''
    resp = conn.read_response()
    assert (resp.status, resp.path) == (200, '/send_5_bytes')
    assert conn.readall() == payload(5)
    assert not conn.response_pending()


def test_head_keeps_content_length_header(conn):
    conn.send_request('HEAD', '/send_100_bytes')
    resp = conn.read_response()
    assert resp.headers['Content-Length'] == '100'
    assert not conn.response_pending()


def test_headers_are_a_case_insensitive_message(raw_server, conn_factory):
    server = raw_server([ReadHeads(1), Send(
        b'HTTP/1.1 201 Created Here\r\n'
        b'Content-Type: text/plain\r\n'
        b'Set-Cookie: a=1\r\n'
        b'set-cookie: b=2\r\n'
        b'X-Latin: caf\xe9\r\n'
        b'Content-Length: 2\r\n\r\nok')])
    conn = conn_factory('127.0.0.1', server.port)
    resp, body = fetch(conn, '/')
    assert (resp.status, resp.reason, body) == (201, 'Created Here', b'ok')
    assert isinstance(resp.headers, email.message.Message)
    assert resp.headers['content-type'] == resp.headers['CONTENT-TYPE'] == 'text/plain'
    assert resp.headers.get_all('SET-COOKIE') == ['a=1', 'b=2']
    assert resp.headers['X-Latin'] == 'caf\xe9'
    assert resp.headers['X-Missing'] is None
    assert 'content-length' in resp.headers
    assert 'X-Missing' not in resp.headers


def test_trailers(conn):
    conn.send_request('GET', '/chunked_5000_bytes?piece=700')
    conn.send_request('GET', '/send_5_bytes')
    resp = conn.read_response()
    assert resp.length is None
    assert resp.headers['Transfer-Encoding'] == 'chunked'
    assert conn.trailers() == []   # not read to the end yet
    assert conn.readall() == payload(5000)
    assert conn.trailers() == [('X-MD5', hashlib.md5(payload(5000)).hexdigest()),
                               ('X-Length', '5000')]
    conn.read_response()
    assert conn.readall() == payload(5)
    assert conn.trailers() == []   # a Content-Length body has none


def test_informational(conn):
    assert conn.informational() == []
    resp, body = fetch(conn, '/informational')
    assert (resp.status, body) == (200, b'final')
    infos = conn.informational()
    assert [(i.status, i.reason) for i in infos] == [(102, 'Processing'), (103, 'Early Hints')]
    assert all(isinstance(i, HTTPResponse) and i.length == 0 for i in infos)
    assert infos[1].headers['link'] == '</style.css>; rel=preload'
    fetch(conn, '/send_1_bytes')
    assert conn.informational() == []


def test_response_pending(conn):
    assert not conn.response_pending()
    conn.send_request('GET', '/send_10_bytes')
    assert conn.response_pending()
    conn.read_response()
    assert conn.response_pending()   # body not read yet
    assert conn.read(5) == payload(10)[:5]
    assert conn.response_pending()
    assert conn.read(5) == payload(10)[5:]
    # As in python-dugong: pending until read() has returned b''.
    assert conn.response_pending()
    assert conn.read(5) == b''
    assert not conn.response_pending()


# ---------------------------------------------------------------------------
# Timeouts
# ---------------------------------------------------------------------------

def test_timeout_default_is_none():
    assert HTTPConnection('127.0.0.1', 1).timeout is None


def test_timeout_on_stalled_server(conn, http_server):
    conn.timeout = 0.3
    conn.send_request('GET', '/stall')
    started = time.monotonic()
    with pytest.raises(ConnectionTimedOut):
        conn.read_response()
    assert 0.25 <= time.monotonic() - started < LIMIT / 2


def test_timeout_mid_body(raw_server, conn_factory):
    server = raw_server([ReadHeads(1), Send(b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345')])
    conn = conn_factory('127.0.0.1', server.port)
    conn.timeout = 0.2
    conn.send_request('GET', '/')
    conn.read_response()
    assert conn.read(10) == b'12345'
    with pytest.raises(ConnectionTimedOut):
        conn.read(10)
    with pytest.raises(ConnectionTimedOut):
        conn.readall()


def test_timeout_on_write_to_server_that_does_not_read(raw_server, conn_factory):
    release = threading.Event()
    server = raw_server([Call(lambda sock: release.wait(LIMIT)), Close()])
    conn = conn_factory('127.0.0.1', server.port)
    conn.timeout = 0.2
    conn.send_request('PUT', '/big', body=BodyFollowing(64 << 20))
    with pytest.raises(ConnectionTimedOut):
        for _ in range(64):
            conn.write(bytes(1 << 20))
    release.set()


# ---------------------------------------------------------------------------
# Closing and reconnecting
# ---------------------------------------------------------------------------

def test_disconnect_then_next_request_reconnects(conn, http_server):
    assert fetch(conn, '/send_3_bytes')[1] == payload(3)
    conn.disconnect()
    conn.disconnect()   # harmless twice
    assert not conn.response_pending()
    assert fetch(conn, '/send_4_bytes')[1] == payload(4)
    assert len(http_server.connections()) == 2


def test_disconnect_drops_pending_requests(conn, http_server):
    conn.send_request('GET', '/send_3_bytes')
    conn.send_request('GET', '/send_4_bytes')
    conn.disconnect()
    assert not conn.response_pending()
    with pytest.raises(ConnectionClosed):
        conn.read_response()
    assert fetch(conn, '/send_5_bytes')[1] == payload(5)


def test_disconnect_mid_body_waits_for_the_server(raw_server):
    # Cut short while the server still reads the body: it sees an orderly
    # end (not a reset), may still reply, and is done when disconnect
    # returns.
    seen = []

    def read_to_end(sock):
        while True:
            chunk = sock.recv(100)
            seen.append(chunk)
            if not chunk:
                return

    server = raw_server([ReadHeads(1), Call(read_to_end), Sleep(0.05),
                         Send(b'HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno'),
                         Call(lambda sock: seen.append('replied')), Close()])
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    conn.send_request('PUT', '/', body=BodyFollowing(42))
    conn.write(b'fooo')
    conn.disconnect()
    assert seen[-1] == 'replied'
    server.wait()
    assert seen[-2:] == [b'', 'replied']
    assert (bytes(server.received[0]) + b''.join(seen[:-2])).endswith(b'\r\n\r\nfooo')


def test_disconnect_mid_response_drains_until_the_server_closes(raw_server):
    sent = []
    server = raw_server([ReadHeads(1),
                         Send(b'HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n'),
                         Send(b'x' * 1000), Sleep(0.1), Send(b'y' * 200000),
                         Call(lambda sock: sent.append(True)), Close()])
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    conn.send_request('GET', '/')
    conn.read_response()
    assert conn.read(10) == b'x' * 10
    conn.disconnect()
    assert sent == [True]
    server.wait()   # every byte sent without a reset


def test_disconnect_linger_is_bounded(raw_server, monkeypatch):
    import dugong
    monkeypatch.setattr(dugong, 'LINGER_TIME', 0.2)
    server = raw_server([ReadHeads(1), Send(b'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n'),
                         Sleep(2), Close()])
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    conn.send_request('GET', '/')
    conn.read_response()
    start = time.monotonic()
    conn.disconnect()
    assert 0.15 <= time.monotonic() - start < 1.5
    assert not server.done.is_set()


def test_reset(conn):
    conn.send_request('GET', '/send_3_bytes')
    conn.read_response()
    conn.reset()
    assert not conn.response_pending()
    assert fetch(conn, '/send_6_bytes')[1] == payload(6)


def test_context_manager_disconnects(raw_server):
    server = raw_server([ReadHeads(1), Send(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')])
    with HTTPConnection('127.0.0.1', server.port) as conn:
        conn.timeout = LIMIT
        assert fetch(conn, '/')[1] == b'hi'
        assert not server.done.is_set()
    # The server's script ends when it sees the client close.
    assert server.done.wait(LIMIT)
    assert server.error is None


def test_context_manager_does_not_swallow(conn):
    with pytest.raises(KeyError):
        with conn:
            raise KeyError('x')


def test_connection_close_response(conn, http_server):
    resp, body = fetch(conn, '/close')
    assert (resp.status, body) == (200, b'closing')
    assert resp.headers['Connection'] == 'close'
    conn.send_request('GET', '/send_1_bytes')
    with pytest.raises(ConnectionClosed) as info:
        conn.read_response()
    assert info.value.resendable == (('GET', '/send_1_bytes'),)
    conn.reset()
    assert fetch(conn, '/send_2_bytes')[1] == payload(2)


def test_connect_is_explicit_or_implicit(conn, http_server):
    conn.connect()
    assert fetch(conn, '/send_2_bytes')[1] == payload(2)
    assert len(http_server.connections()) == 1


def test_connection_refused():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]   # bound, not listening
        conn = HTTPConnection('127.0.0.1', port)
        with pytest.raises(ConnectionRefusedError):
            conn.send_request('GET', '/')


def test_plain_http_has_no_tls_info(conn):
    assert conn.get_ssl_peercert() is None
    assert conn.get_ssl_cipher() is None


# ---------------------------------------------------------------------------
# State errors
# ---------------------------------------------------------------------------

def test_read_response_with_nothing_pending(conn):
    with pytest.raises(StateError):
        conn.read_response()
    fetch(conn, '/send_1_bytes')
    with pytest.raises(StateError):
        conn.read_response()


def test_read_response_with_unread_body(conn):
    conn.send_request('GET', '/send_10_bytes')
    conn.send_request('GET', '/send_1_bytes')
    conn.read_response()
    with pytest.raises(StateError):
        conn.read_response()
    conn.read(3)
    with pytest.raises(StateError):
        conn.read_response()
    assert conn.readall() == payload(10)[3:]
    assert conn.read_response().path == '/send_1_bytes'


def test_write_without_body(conn):
    conn.send_request('GET', '/send_1_bytes')
    with pytest.raises(StateError):
        conn.write(b'x')
    conn.send_request('PUT', '/echo', body=b'abc')
    with pytest.raises(StateError):
        conn.write(b'x')
    conn.read_response()
    assert conn.readall() == payload(1)
    conn.read_response()
    assert conn.readall() == b'abc'


def test_write_on_fresh_connection_is_a_state_error(conn):
    with pytest.raises(StateError):
        conn.write(b'x')


def test_read_on_fresh_connection_returns_nothing(conn):
    assert conn.read(10) == b''
    assert conn.readall() == b''


# ---------------------------------------------------------------------------
# IPv6
# ---------------------------------------------------------------------------

@pytest.mark.skipif(not ipv6_available(), reason='no IPv6 loopback')
def test_ipv6_loopback(raw_server, conn_factory):
    server = raw_server([ReadHeads(2), Send(OK_EMPTY + b'HTTP/1.1 200 OK\r\n'
                                            b'Content-Length: 4\r\n\r\nsix!')], host='::1')
    conn = conn_factory('::1', server.port)
    conn.send_request('GET', '/one')
    conn.send_request('GET', '/two')
    assert fetch_pending(conn) == [(200, b''), (200, b'six!')]
    conn.disconnect()
    server.wait()
    first, fields, _ = head_lines(server.received[0])
    assert first == b'GET /one HTTP/1.1'
    assert b'Host: [::1]:%d' % server.port in fields


@pytest.mark.skipif(not ipv6_available(), reason='no IPv6 loopback')
def test_ipv6_stdlib_server(conn_factory):
    server = LoopbackServer(host='::1').start()
    try:
        conn = conn_factory('::1', server.port)
        assert fetch(conn, '/send_1000_bytes')[1] == payload(1000)
    finally:
        server.stop()


def fetch_pending(conn):
    """Reads every pending response: ``[(status, body), ...]``."""
    out = []
    while conn.response_pending():
        resp = conn.read_response()
        out.append((resp.status, conn.readall()))
    return out


# ---------------------------------------------------------------------------
# Threads (python-dugong: not thread-safe, but one thread may send while
# another reads, and a connection may move between threads)
# ---------------------------------------------------------------------------

def run_in_thread(fn):
    """Runs *fn* in a new thread: ``(result, None)`` or ``(None, exc)``."""
    outcome = []

    def target():
        try:
            outcome.append((fn(), None))
        except BaseException as exc:   # PanicException is a BaseException
            outcome.append((None, exc))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(LIMIT)
    assert outcome, 'thread did not finish'
    return outcome[0]


def test_connection_used_from_another_thread(conn):
    conn.send_request('GET', '/send_3_bytes')
    result, exc = run_in_thread(lambda: (conn.read_response().status, conn.readall()))
    assert exc is None, repr(exc)
    assert result == (200, payload(3))


def test_one_thread_sends_while_another_reads(conn):
    paths = ['/send_%d_bytes' % n for n in range(0, 3000, 100)]
    sent = threading.Semaphore(0)
    conn.connect()

    def send_all():
        for path in paths:
            conn.send_request('GET', path)
            sent.release()

    sender = threading.Thread(target=lambda: run_and_keep(send_all, errors), daemon=True)
    errors = []
    sender.start()
    bodies = []
    for path in paths:
        while not sent.acquire(timeout=0.05):
            assert sender.is_alive(), 'sender failed: %r' % errors
        conn.read_response()
        bodies.append(conn.readall())
    sender.join(LIMIT)
    assert errors == []
    assert bodies == [payload(int(p[6:-6])) for p in paths]


def run_and_keep(fn, errors):
    try:
        fn()
    except BaseException as exc:
        errors.append(exc)


def test_connection_released_in_another_thread(raw_server):
    server = raw_server([ReadHeads(1), Send(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')])
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    assert fetch(conn, '/')[1] == b'hi'
    holder = [conn]
    del conn
    unraisable = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        result, exc = run_in_thread(holder.clear)
    finally:
        sys.unraisablehook = old_hook
    assert exc is None
    assert [u.exc_value for u in unraisable] == []
    # The socket was closed with the connection: the server saw the end.
    assert server.done.wait(2)


def test_headers_equal_what_the_email_parser_makes():
    # HTTPResponse.headers is built from the core's fields with a caching
    # copy of email.policy.HTTP: the same message python-dugong parses.
    import email
    import email.policy
    fields = [('Content-Type', 'text/html; charset=utf-8'), ('Content-Length', '13'),
              ('Date', 'Sun, 06 Dec 2026 00:30:00 GMT'), ('Set-Cookie', 'a=b; Path=/'),
              ('X-Empty', ''), ('Content-Disposition', 'attachment; filename="x y.txt"'),
              ('X-Multi', 'a'), ('x-multi', 'b'), ('To', 'a@b.c')]
    text = ''.join('%s: %s\r\n' % f for f in fields) + '\r\n'
    for _ in range(2):   # the second time from the cache
        parsed = email.message_from_string(text, policy=email.policy.HTTP)
        built = HTTPResponse('GET', '/', 200, 'OK', list(fields), 13).headers
        assert isinstance(built, email.message.Message)
        for name, _ in fields:
            want, got = parsed[name], built[name]
            assert (want, type(want).__name__) == (got, type(got).__name__), name
        assert built.get_all('X-MULTI') == ['a', 'b']
        assert built.items() == parsed.items()
        assert built.as_string() == parsed.as_string()
        assert built.get_payload() == parsed.get_payload() == ''
        assert built.get_content_type() == 'text/html'
        assert built.get_param('charset') == 'utf-8'
        assert built['date'].datetime.year == 2026


def test_socket_closed_behind_the_connections_back(raw_server):
    # A plain socket is read on its descriptor directly: once the Python
    # socket is closed, the read fails as Python's own would (EBADF), and
    # never touches a descriptor that may have been reused.
    server = raw_server([ReadHeads(1), Send(OK_EMPTY)])
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    conn.send_request('GET', '/')
    conn._sock.close()
    with pytest.raises(OSError) as info:
        conn.read_response()
    assert info.value.errno == errno.EBADF
    conn.disconnect()


def test_idempotent_methods_are_rfc_9110s():
    # From the Rust core's resend rules (dugong_net::resend).
    import dugong
    assert dugong.IDEMPOTENT_METHODS == frozenset(
        ('GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'))
