"""Hostile servers, played by the scripted `raw_server`.

The cut sweeps take pipelined response streams and end the connection after
every byte offset in turn: the client must get every response that arrived
completely, intact, and then exactly `ConnectionClosed` -- never partial
data passed off as a body, never a hang, never another exception -- whose
`fates` name the requests left unanswered and whose `resendable` holds only
the ones that were not processed. Invalid framing must raise
`InvalidResponse`.
"""

import socket
import time
from dataclasses import dataclass

import pytest

from dugong import (BodyFollowing, ConnectionClosed, HTTPConnection,
                    InvalidResponse, StateError, UnsupportedResponse)

from conftest import LIMIT, Call, Close, HalfClose, ReadBytes, ReadHeads, Send, Sleep

pytestmark = pytest.mark.timeout(60)

#: Fate of a request the server got but did not (completely) answer.
MAYBE = 'maybe_processed'
#: Fate of a request whose response head arrived but not all of its body.
CUT_BODY = 'body_incomplete'
#: Fate of a request the server cannot have processed.
NOT_PROCESSED = 'not_processed'


@dataclass
class Exchange:
    """One pipelined request and the bytes of its response."""
    method: str
    path: str
    response: bytes
    status: int
    body: bytes
    body_bytes: bytes = b''   # for a request with a body sent whole


def content_length(status, reason, body, extra=b''):
    return b'HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\n\r\n%s' % (
        status, reason, extra, len(body), body)


CHUNKED = (b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
           b'3\r\nabc\r\n'
           b'4;name=value\r\ndefg\r\n'
           b'0\r\nX-Trailer: t\r\n\r\n')

#: Pipelined streams, each a list of exchanges; the server answers them all
#: (in one piece) after it has received every request.
STREAMS = {
    'length-chunked-length': [
        Exchange('GET', '/a', content_length(200, b'OK', b'hello'), 200, b'hello'),
        Exchange('GET', '/b', CHUNKED, 200, b'abcdefg'),
        Exchange('PUT', '/c', content_length(404, b'Not Found', b'nope', b'X-A: 1\r\n'), 404,
                 b'nope', body_bytes=b'put-body'),
    ],
    'bodyless-and-informational': [
        Exchange('HEAD', '/h', b'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n', 200, b''),
        Exchange('GET', '/i', b'HTTP/1.1 103 Early Hints\r\nLink: <x>\r\n\r\n'
                 + content_length(200, b'OK', b'xy'), 200, b'xy'),
        Exchange('DELETE', '/d', b'HTTP/1.1 204 No Content\r\n\r\n', 204, b''),
    ],
}


def expected_fates(exchanges, first, cut_at_body):
    """The fates of the unanswered requests from index *first* on: the first
    one's response body was cut (if *cut_at_body*), the others' responses
    had not started or not finished their head."""
    fates = []
    for i, ex in enumerate(exchanges[first:]):
        fate = CUT_BODY if (i == 0 and cut_at_body) else MAYBE
        fates.append((ex.method, ex.path, fate))
    return fates


def read_body(conn, how):
    """Reads the current body with *how* ('readall' or 'read(2)'); the bytes
    got before an exception are in the exception's ``partial`` attribute."""
    if how == 'readall':
        return conn.readall()
    parts = []
    try:
        while True:
            part = conn.read(2)
            if not part:
                return b''.join(parts)
            parts.append(part)
    except Exception as exc:
        exc.partial = b''.join(parts)
        raise


def play(conn, exchanges, how):
    """Sends the requests, reads the responses: ``(results, exc)``, results
    being ``(status, body)`` of each response read completely and *exc* the
    exception that ended the reading (or None)."""
    for ex in exchanges:
        conn.send_request(ex.method, ex.path, body=ex.body_bytes or None)
    results = []
    for ex in exchanges:
        try:
            resp = conn.read_response()
        except Exception as exc:
            exc.where = 'head'
            return results, exc
        assert (resp.method, resp.path, resp.status) == (ex.method, ex.path, ex.status)
        try:
            body = read_body(conn, how)
        except Exception as exc:
            exc.where = 'body'
            return results, exc
        results.append((resp.status, body))
    return results, None


def check_cut(exchanges, cut, results, exc):
    """Asserts the outcome (from `play`) of reading the responses of
    *exchanges* when the stream was cut after *cut* bytes."""
    ends, at = [], 0
    for ex in exchanges:
        at += len(ex.response)
        ends.append(at)
    complete = sum(1 for end in ends if end <= cut)
    assert results == [(ex.status, ex.body) for ex in exchanges[:complete]], cut
    if complete == len(exchanges):
        assert exc is None
        return
    assert type(exc) is ConnectionClosed, (cut, exc)
    start = ends[complete] - len(exchanges[complete].response)
    cut_ex = exchanges[complete]
    # Where the final head of the cut response ends (after any 1xx heads).
    final_head = cut_ex.response.rindex(b'HTTP/1.1 ')
    final_head_end = start + cut_ex.response.index(b'\r\n\r\n', final_head) + 4
    in_body = cut >= final_head_end
    assert exc.where == ('body' if in_body else 'head'), cut
    if in_body:
        # read(2) may have handed out body bytes before the cut was found,
        # never bytes that are not the body's.
        assert cut_ex.body.startswith(getattr(exc, 'partial', b'')), cut
    fates = list(exc.fates)
    expected = expected_fates(exchanges, complete, in_body)
    assert fates == expected, cut
    assert exc.resendable == tuple((m, p) for (m, p, f) in exc.fates if f == NOT_PROCESSED)


def sweep_server(raw_server, exchanges, stream, cuts, closer):
    requests = len(exchanges)
    body_bytes = sum(len(ex.body_bytes) for ex in exchanges)

    def script(index):
        steps = [ReadHeads(requests)]
        if body_bytes:
            steps.append(ReadBytes(body_bytes))
        return steps + [Send(stream[:cuts[index]]), closer()]

    return raw_server(script, connections=len(cuts))


@pytest.mark.parametrize('how', ['readall', 'read(2)'])
@pytest.mark.parametrize('name', STREAMS)
def test_cut_at_every_offset(raw_server, name, how):
    exchanges = STREAMS[name]
    stream = b''.join(ex.response for ex in exchanges)
    cuts = list(range(len(stream) + 1))
    server = sweep_server(raw_server, exchanges, stream, cuts, Close)
    for cut in cuts:
        conn = HTTPConnection('127.0.0.1', server.port)
        conn.timeout = LIMIT
        try:
            results, exc = play(conn, exchanges, how)
            check_cut(exchanges, cut, results, exc)
            if exc is not None:
                # The connection stays failed until it is reset.
                with pytest.raises(ConnectionClosed):
                    conn.read_response()
        finally:
            conn.disconnect()
    server.wait()


def test_half_close_at_every_offset(raw_server):
    """The server shuts down only its sending side (and keeps reading): the
    same as a close for the responses."""
    exchanges = STREAMS['length-chunked-length']
    stream = b''.join(ex.response for ex in exchanges)
    cuts = list(range(len(stream) + 1))
    server = sweep_server(raw_server, exchanges, stream, cuts, HalfClose)
    for cut in cuts:
        conn = HTTPConnection('127.0.0.1', server.port)
        conn.timeout = LIMIT
        try:
            results, exc = play(conn, exchanges, 'readall')
            check_cut(exchanges, cut, results, exc)
        finally:
            conn.disconnect()
    server.wait()


def test_fates_name_the_request_whose_body_was_cut(raw_server):
    exchanges = STREAMS['length-chunked-length']
    stream = b''.join(ex.response for ex in exchanges)
    cut = len(exchanges[0].response) + len(exchanges[1].response) - 3
    server = sweep_server(raw_server, exchanges, stream, [cut], Close)
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    try:
        results, exc = play(conn, exchanges, 'readall')
    finally:
        conn.disconnect()
    assert results == [(200, b'hello')]
    assert type(exc) is ConnectionClosed and exc.where == 'body'
    assert exc.fates == (('GET', '/b', CUT_BODY), ('PUT', '/c', MAYBE))


# ---------------------------------------------------------------------------
# Cuts around 100 Continue
# ---------------------------------------------------------------------------

CONTINUE = b'HTTP/1.1 100 Continue\r\n\r\n'
AFTER_CONTINUE = [
    Exchange('PUT', '/up', content_length(201, b'Created', b'stored'), 201, b'stored'),
    Exchange('GET', '/next', CHUNKED, 200, b'abcdefg'),
]


def quick_ack(sock):
    """Acknowledges what arrived at once: the client (whose socket has Nagle's
    algorithm on) sends the request after the body only once the body is
    acknowledged, which a delayed ACK makes wait 40 ms."""
    if hasattr(socket, 'TCP_QUICKACK'):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def continue_script(cut):
    """``100 Continue`` (cut), then -- once the body and the next request
    arrived -- the two final responses (cut)."""
    if cut < len(CONTINUE):
        return [ReadHeads(1), Send(CONTINUE[:cut]), Close()]
    rest = b''.join(ex.response for ex in AFTER_CONTINUE)
    return [ReadHeads(1), Send(CONTINUE), ReadBytes(4), Call(quick_ack), ReadHeads(1),
            Send(rest[:cut - len(CONTINUE)]), Close()]


def test_cut_around_100_continue(raw_server):
    rest = b''.join(ex.response for ex in AFTER_CONTINUE)
    cuts = list(range(len(CONTINUE) + len(rest) + 1))
    server = raw_server(lambda i: continue_script(cuts[i]), connections=len(cuts))
    for cut in cuts:
        conn = HTTPConnection('127.0.0.1', server.port)
        conn.timeout = LIMIT
        try:
            conn.send_request('PUT', '/up', body=BodyFollowing(4), expect100=True)
            if cut < len(CONTINUE):
                with pytest.raises(ConnectionClosed) as info:
                    conn.read_response()
                # The request was never completely written (its body waited
                # for the 100): the server cannot have processed it.
                assert type(info.value) is ConnectionClosed
                assert info.value.fates == (('PUT', '/up', NOT_PROCESSED),), cut
                assert info.value.resendable == (('PUT', '/up'),)
                continue
            cont = conn.read_response()
            assert (cont.status, cont.method, cont.path) == (100, 'PUT', '/up')
            conn.write(b'data')
            conn.send_request('GET', '/next')
            results, exc = [], None
            for ex in AFTER_CONTINUE:
                try:
                    resp = conn.read_response()
                except Exception as e:
                    e.where = 'head'
                    exc = e
                    break
                assert (resp.method, resp.path) == (ex.method, ex.path)
                try:
                    results.append((resp.status, conn.readall()))
                except Exception as e:
                    e.where = 'body'
                    exc = e
                    break
            check_cut(AFTER_CONTINUE, cut - len(CONTINUE), results, exc)
        finally:
            conn.disconnect()
    server.wait()


# ---------------------------------------------------------------------------
# Announced close: what is resendable
# ---------------------------------------------------------------------------

CLOSING = content_length(200, b'OK', b'bye', b'Connection: close\r\n')


def test_cut_of_a_response_that_announces_close(raw_server):
    """Three pipelined GETs, the first answered with ``Connection: close``:
    once that head arrived, the other two cannot have been processed (and
    are resendable); before, nothing is known of any of them."""
    head_end = CLOSING.index(b'\r\n\r\n') + 4
    cuts = list(range(len(CLOSING) + 1))
    server = raw_server(lambda i: [ReadHeads(3), Send(CLOSING[:cuts[i]]), Close()],
                        connections=len(cuts))
    for cut in cuts:
        conn = HTTPConnection('127.0.0.1', server.port)
        conn.timeout = LIMIT
        try:
            for path in ('/1', '/2', '/3'):
                conn.send_request('GET', path)
            if cut < head_end:
                with pytest.raises(ConnectionClosed) as info:
                    conn.read_response()
                assert info.value.fates == tuple(('GET', p, MAYBE) for p in ('/1', '/2', '/3'))
                assert info.value.resendable == ()
                continue
            resp = conn.read_response()
            assert resp.status == 200
            if cut < len(CLOSING):
                with pytest.raises(ConnectionClosed) as info:
                    conn.readall()
                assert info.value.fates[0][2] == CUT_BODY
                assert info.value.fates[1:] == (('GET', '/2', NOT_PROCESSED),
                                                ('GET', '/3', NOT_PROCESSED))
            else:
                assert conn.readall() == b'bye'
                with pytest.raises(ConnectionClosed) as info:
                    conn.read_response()
                assert info.value.fates == (('GET', '/2', NOT_PROCESSED),
                                            ('GET', '/3', NOT_PROCESSED))
            assert info.value.resendable == (('GET', '/2'), ('GET', '/3'))
        finally:
            conn.disconnect()
    server.wait()


# ---------------------------------------------------------------------------
# Invalid framing
# ---------------------------------------------------------------------------

def ok_chunked(chunks):
    return b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + chunks

#: name -> (response bytes, where InvalidResponse is raised: 'head' or 'body')
INVALID = {
    'conflicting Content-Length fields': (
        b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', 'head'),
    'conflicting Content-Length list': (
        b'HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!', 'head'),
    'negative Content-Length': (
        b'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello', 'head'),
    'non-numeric Content-Length': (
        b'HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\nhello', 'head'),
    'Content-Length and chunked': (
        b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'
        b'5\r\nhello\r\n0\r\n\r\n', 'head'),
    'negative chunk size': (ok_chunked(b'-5\r\nhello\r\n0\r\n\r\n'), 'body'),
    'non-hex chunk size': (ok_chunked(b'zz\r\nhello\r\n0\r\n\r\n'), 'body'),
    'empty chunk-size line': (ok_chunked(b'\r\nhello\r\n0\r\n\r\n'), 'body'),
    'chunk size overflow': (ok_chunked(b'10000000000000000\r\nhello\r\n0\r\n\r\n'), 'body'),
    'chunk data without CRLF': (ok_chunked(b'3\r\nabcXX0\r\n\r\n'), 'body'),
    'status line not HTTP': (b'ICY 200 OK\r\n\r\n', 'head'),
    'HTML instead of a response': (b'<html><body>hello</body></html>\r\n\r\n', 'head'),
    'non-numeric status': (b'HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n', 'head'),
    'two-digit status': (b'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n', 'head'),
    'header without colon': (b'HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n',
                             'head'),
    'oversized header field': (b'HTTP/1.1 200 OK\r\nX-Big: ' + b'a' * 70000
                               + b'\r\nContent-Length: 0\r\n\r\n', 'head'),
    'oversized head of many fields': (b'HTTP/1.1 200 OK\r\n' + b''.join(
        b'X-F%d: %s\r\n' % (i, b'v' * 90) for i in range(800))
        + b'Content-Length: 0\r\n\r\n', 'head'),
    'oversized status line': (b'HTTP/1.1 200 ' + b'K' * 70000
                              + b'\r\nContent-Length: 0\r\n\r\n', 'head'),
}


@pytest.mark.parametrize('name', INVALID)
def test_invalid_framing(raw_server, name):
    response, where = INVALID[name]
    server = raw_server([ReadHeads(1), Send(response), Sleep(0.05), Close()])
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    try:
        conn.send_request('GET', '/')
        if where == 'head':
            with pytest.raises(InvalidResponse):
                conn.read_response()
        else:
            assert conn.read_response().status == 200
            with pytest.raises(InvalidResponse):
                conn.readall()
        # The connection stays failed, with the same error, until reset.
        with pytest.raises(InvalidResponse):
            conn.read_response()
        assert conn.informational() == []
    finally:
        conn.disconnect()


def test_invalid_chunk_size_read_in_pieces(raw_server):
    server = raw_server([ReadHeads(1), Send(ok_chunked(b'3\r\nabc\r\n-5\r\nhello\r\n0\r\n\r\n')),
                         Close()])
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    try:
        conn.send_request('GET', '/')
        conn.read_response()
        assert conn.read(100) == b'abc'
        with pytest.raises(InvalidResponse):
            conn.read(100)
    finally:
        conn.disconnect()


def test_body_after_204_is_invalid(raw_server):
    server = raw_server([ReadHeads(2), Send(
        b'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello'
        + content_length(200, b'OK', b'')), Close()])
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    try:
        conn.send_request('GET', '/1')
        conn.send_request('GET', '/2')
        resp = conn.read_response()
        assert (resp.status, resp.length) == (204, 0)
        assert conn.readall() == b''
        with pytest.raises(InvalidResponse):
            conn.read_response()
    finally:
        conn.disconnect()


def test_unknown_transfer_coding_is_unsupported(raw_server):
    server = raw_server([ReadHeads(1), Send(
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx'), Close()])
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    try:
        conn.send_request('GET', '/')
        with pytest.raises(UnsupportedResponse):
            conn.read_response()
    finally:
        conn.disconnect()


def test_reset_after_invalid_response(raw_server):
    server = raw_server(lambda i: [ReadHeads(1), Send(
        b'ICY 200 OK\r\n\r\n' if i == 0 else content_length(200, b'OK', b'fine')), Close()],
        connections=2)
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    try:
        conn.send_request('GET', '/')
        with pytest.raises(InvalidResponse):
            conn.read_response()
        conn.reset()
        conn.send_request('GET', '/')
        assert conn.read_response().status == 200
        assert conn.readall() == b'fine'
    finally:
        conn.disconnect()
    server.wait()


# ---------------------------------------------------------------------------
# Unsolicited responses
# ---------------------------------------------------------------------------

def unsolicited_server(raw_server):
    """Answers the first request, then (unasked) sends a second response; a
    second request gets a third one."""
    return raw_server([ReadHeads(1), Send(content_length(200, b'OK', b'first')),
                       Sleep(0.05), Send(content_length(200, b'OK', b'unasked')),
                       ReadHeads(1), Send(content_length(200, b'OK', b'second'))])


def test_unsolicited_response_read_with_nothing_pending(raw_server):
    """With no request pending, read_response is a StateError whatever the
    server sent."""
    server = unsolicited_server(raw_server)
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    try:
        conn.send_request('GET', '/1')
        conn.read_response()
        assert conn.readall() == b'first'
        time.sleep(0.3)
        with pytest.raises(StateError):
            conn.read_response()
    finally:
        conn.disconnect()


def test_unsolicited_response_is_not_taken_for_the_next_one(raw_server):
    server = unsolicited_server(raw_server)
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    try:
        conn.send_request('GET', '/1')
        conn.read_response()
        assert conn.readall() == b'first'
        time.sleep(0.3)   # the unasked response has arrived by now
        body = None
        # The README: bytes that answer no request are an InvalidResponse.
        with pytest.raises(InvalidResponse):
            conn.send_request('GET', '/2')
            conn.read_response()
            body = conn.readall()
        assert body is None
    finally:
        conn.disconnect()


def test_bytes_past_the_body_with_nothing_pending(raw_server):
    server = raw_server([ReadHeads(1), Send(content_length(200, b'OK', b'hi') + b'JUNK'),
                         ReadHeads(1), Send(content_length(200, b'OK', b'second'))])
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    try:
        conn.send_request('GET', '/1')
        conn.read_response()
        assert conn.readall() == b'hi'
        time.sleep(0.1)
        # Reported when the next request is sent, or when its answer is read.
        with pytest.raises(InvalidResponse):
            conn.send_request('GET', '/2')
            conn.read_response()
    finally:
        conn.disconnect()


def test_server_closes_idle_connection(raw_server):
    """The server closes a kept-alive connection without saying so: that
    close is seen before the next request, which goes over a new
    connection (nothing was lost)."""
    server = raw_server(lambda i: [ReadHeads(1), Send(content_length(200, b'OK', b'r%d' % i)),
                                   Close()], connections=2)
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    try:
        conn.send_request('GET', '/1')
        conn.read_response()
        assert conn.readall() == b'r0'
        time.sleep(0.2)
        conn.send_request('GET', '/2')
        resp = conn.read_response()
        assert (resp.status, resp.path) == (200, '/2')
        assert conn.readall() == b'r1'
    finally:
        conn.disconnect()
    server.wait()
    assert server.received[1].startswith(b'GET /2 HTTP/1.1\r\n')


def test_unsolicited_bytes_then_close(raw_server):
    """Bytes that answer nothing, then a close: an InvalidResponse, not a
    quiet reopen."""
    server = raw_server([ReadHeads(1), Send(content_length(200, b'OK', b'hi')),
                         Sleep(0.05), Send(b'HTTP/1.1 200 OK\r\n'), Close()])
    conn = HTTPConnection('127.0.0.1', server.port)
    conn.timeout = LIMIT
    try:
        conn.send_request('GET', '/1')
        conn.read_response()
        assert conn.readall() == b'hi'
        time.sleep(0.3)
        with pytest.raises(InvalidResponse):
            conn.send_request('GET', '/2')
            conn.read_response()
    finally:
        conn.disconnect()
