"""Every ``co_*`` method, driven (a) by select/poll loops of our own over the
`PollNeeded` objects they yield and (b) by asyncio through `AioFuture`."""

import asyncio
import select
import threading
import time

import pytest

from dugong import (POLLIN, POLLOUT, AioFuture, BodyFollowing, ConnectionClosed,
                    ConnectionTimedOut, ExcessBodyData, PollNeeded, StateError,
                    UnsupportedResponse, eval_coroutine)

from conftest import (LIMIT, SLOW_PIECES, Call, Close, ReadBytes, ReadHeads, Send, md5_b64,
                      payload)

pytestmark = pytest.mark.timeout(30)

MASKS = (POLLIN, POLLOUT, POLLIN | POLLOUT)


class Counted:
    """Wraps a dugong coroutine, checking and counting what it yields."""

    def __init__(self, crt):
        self.crt = crt
        self.yields = []

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, value):
        req = self.crt.send(value)
        assert isinstance(req, PollNeeded), req
        assert isinstance(req.fd, int) and req.fd >= 0
        assert req.mask in MASKS, req
        assert tuple(req) == (req.fd, req.mask)
        self.yields.append(req)
        return req

    def throw(self, *args):
        return self.crt.throw(*args)

    def close(self):
        self.crt.close()


# ---------------------------------------------------------------------------
# Drivers: each runs one coroutine to its end and returns its value
# ---------------------------------------------------------------------------

def drive_select(crt):
    """A select() loop: wait for what each PollNeeded asks, then resume."""
    try:
        req = next(crt)
        while True:
            rlist = [req.fd] if req.mask & POLLIN else []
            wlist = [req.fd] if req.mask & POLLOUT else []
            ready = select.select(rlist, wlist, [], LIMIT)
            assert any(ready), 'no I/O readiness within %s s for %r' % (LIMIT, req)
            req = crt.send(None)
    except StopIteration as stop:
        return stop.value


def drive_poll(crt):
    """The same with select.poll()."""
    try:
        req = next(crt)
        while True:
            poller = select.poll()
            poller.register(req.fd, req.mask)
            assert poller.poll(LIMIT * 1000), 'no I/O readiness for %r' % (req,)
            req = crt.send(None)
    except StopIteration as stop:
        return stop.value


def drive_asyncio(crt):
    """asyncio.run() of an AioFuture for the coroutine."""
    async def main():
        return await asyncio.wait_for(AioFuture(crt), LIMIT)
    return asyncio.run(main())


async def settle(*futures):
    """Awaits every future (at most 2 * `LIMIT` s). If one fails, the others
    are cancelled -- and their callbacks run -- so that no `AioFuture` stays
    registered for a descriptor after its event loop is gone."""
    try:
        return await asyncio.wait_for(asyncio.gather(*futures), LIMIT * 2)
    finally:
        for future in futures:
            future.cancel()
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def no_aiofuture_left_registered():
    yield
    assert AioFuture._owners == {}


def drive_eval(crt):
    return eval_coroutine(crt, LIMIT)


DRIVERS = {'select': drive_select, 'poll': drive_poll, 'asyncio': drive_asyncio,
           'eval_coroutine': drive_eval}


@pytest.fixture(params=DRIVERS.values(), ids=DRIVERS.keys())
def drive(request):
    """Runs a coroutine (wrapped in `Counted`) with one of the drivers;
    returns its value. ``drive.last`` is the last `Counted`."""
    def run(crt):
        run.last = Counted(crt)
        return request.param(run.last)
    return run


# ---------------------------------------------------------------------------
# Each co_* method
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('size', [0, 10, 300000])
def test_get(conn, drive, size):
    assert drive(conn.co_send_request('GET', '/send_%d_bytes' % size)) is None
    resp = drive(conn.co_read_response())
    assert (resp.status, resp.method, resp.path, resp.length) == (
        200, 'GET', '/send_%d_bytes' % size, size)
    assert drive(conn.co_readall()) == payload(size)
    assert not conn.response_pending()


def test_bytes_body(conn, http_server, drive):
    data = payload(200000)
    drive(conn.co_send_request('PUT', '/echo', body=data))
    resp = drive(conn.co_read_response())
    assert resp.headers['X-Content-MD5'] == md5_b64(data)
    assert drive(conn.co_read(None)) == data


@pytest.mark.parametrize('length', [150000, None], ids=['length', 'chunked'])
def test_co_write(conn, http_server, drive, length):
    data = payload(150000)
    drive(conn.co_send_request('PUT', '/echo', body=BodyFollowing(length)))
    for at in range(0, len(data), 40000):
        assert drive(conn.co_write(data[at:at + 40000])) is None
    if length is None:
        drive(conn.co_write(b''))
    resp = drive(conn.co_read_response())
    assert resp.headers['X-Framing'] == ('length' if length else 'chunked')
    parts = []
    while True:
        part = drive(conn.co_read(10000))
        assert len(part) <= 10000
        if not part:
            break
        parts.append(part)
    assert b''.join(parts) == data
    assert http_server.requests[0].body == data


def test_expect100(conn, drive):
    drive(conn.co_send_request('PUT', '/echo', body=BodyFollowing(4), expect100=True))
    cont = drive(conn.co_read_response())
    assert cont.status == 100
    drive(conn.co_write(b'data'))
    resp = drive(conn.co_read_response())
    assert resp.status == 200
    assert drive(conn.co_readall()) == b'data'


def test_expect100_refused(conn, http_server, drive):
    drive(conn.co_send_request('PUT', '/refuse', body=BodyFollowing(4), expect100=True))
    assert drive(conn.co_read_response()).status == 403
    assert drive(conn.co_readall()) == b''
    drive(conn.co_send_request('GET', '/send_3_bytes'))
    drive(conn.co_read_response())
    assert drive(conn.co_readall()) == payload(3)
    assert len(http_server.connections()) == 2


def test_co_readinto(conn, drive):
    drive(conn.co_send_request('GET', '/chunked_50000_bytes?piece=3000'))
    drive(conn.co_read_response())
    buf = bytearray(7000)
    parts = []
    while True:
        n = drive(conn.co_readinto(buf))
        if not n:
            break
        parts.append(bytes(buf[:n]))
    assert b''.join(parts) == payload(50000)
    assert conn.trailers()[1] == ('X-Length', '50000')


def test_co_discard(conn, drive):
    for path in ('/send_100000_bytes', '/chunked_100000_bytes', '/send_5_bytes'):
        drive(conn.co_send_request('GET', path))
    drive(conn.co_read_response())
    assert drive(conn.co_discard()) is None
    drive(conn.co_read_response())
    assert drive(conn.co_read(3)) == payload(3)
    drive(conn.co_discard())
    resp = drive(conn.co_read_response())
    assert resp.path == '/send_5_bytes'
    assert drive(conn.co_readall()) == payload(5)


def test_co_read_raw(raw_server, conn_factory, drive):
    body = payload(100000)
    server = raw_server([ReadHeads(1), Send(b'HTTP/1.1 200 OK\r\n\r\n' + body), Close()])
    conn = conn_factory('127.0.0.1', server.port)
    drive(conn.co_send_request('GET', '/'))
    drive(conn.co_read_response())
    with pytest.raises(UnsupportedResponse):
        drive(conn.co_read(10))
    parts = []
    while True:
        part = drive(conn.co_read_raw(30000))
        if not part:
            break
        parts.append(part)
    assert b''.join(parts) == body


def test_co_read_on_slow_chunked_response_yields(conn, drive):
    drive(conn.co_send_request('GET', '/slow_chunked'))
    drive(conn.co_read_response())
    parts, yields = [], []
    while True:
        part = drive(conn.co_read(1000))
        yields += drive.last.yields
        if not part:
            break
        parts.append(part)
    assert b''.join(parts) == b''.join(SLOW_PIECES)
    # The pieces come 50 ms apart: reading had to wait for them.
    assert len(yields) >= 1
    assert all(req.mask == POLLIN for req in yields)


def test_co_readall_on_slow_chunked_response_yields(conn, drive):
    drive(conn.co_send_request('GET', '/slow_chunked'))
    drive(conn.co_read_response())
    assert drive(conn.co_readall()) == b''.join(SLOW_PIECES)
    assert len(drive.last.yields) >= 1


def test_co_read_response_yields_until_the_response_comes(conn, http_server, drive):
    drive(conn.co_send_request('GET', '/stall'))
    crt = conn.co_read_response()
    req = next(crt)   # nothing there yet: the coroutine waits
    assert isinstance(req, PollNeeded)
    assert req.mask & POLLIN
    http_server.release.set()
    resp = drive(crt)
    assert resp.status == 200
    assert drive(conn.co_readall()) == b'late'


@pytest.mark.parametrize('finish', [
    lambda conn: conn.read(3) + conn.readall(),
    lambda conn: eval_coroutine(conn.co_readall(), LIMIT),
    lambda conn: conn.readall(),
], ids=['read+readall', 'co_readall again', 'readall'])
def test_abandoned_co_readall_loses_nothing(conn, finish):
    """A coroutine closed while it waits: what it had collected is handed
    out by the next call."""
    conn.send_request('GET', '/slow_chunked')
    conn.read_response()
    crt = conn.co_readall()
    assert next(crt).mask == POLLIN
    crt.close()
    assert finish(conn) == b''.join(SLOW_PIECES)
    assert not conn.response_pending()


def test_abandoned_co_read_then_discard(conn):
    conn.send_request('GET', '/slow_chunked')
    conn.send_request('GET', '/send_3_bytes')
    conn.read_response()
    crt = conn.co_readall()
    next(crt)
    crt.close()
    conn.discard()
    conn.read_response()
    assert conn.readall() == payload(3)


# ---------------------------------------------------------------------------
# Errors through the drivers
# ---------------------------------------------------------------------------

def test_state_error_is_raised_by_the_coroutine(conn, drive):
    with pytest.raises(StateError):
        drive(conn.co_read_response())
    drive(conn.co_send_request('GET', '/send_1_bytes'))
    with pytest.raises(StateError):
        drive(conn.co_write(b'x'))


def test_connection_closed_through_the_drivers(raw_server, conn_factory, drive):
    server = raw_server([ReadHeads(2), Send(b'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc'),
                         Close()])
    conn = conn_factory('127.0.0.1', server.port)
    drive(conn.co_send_request('GET', '/1'))
    drive(conn.co_send_request('GET', '/2'))
    drive(conn.co_read_response())
    with pytest.raises(ConnectionClosed) as info:
        drive(conn.co_readall())
    assert type(info.value) is ConnectionClosed
    assert info.value.fates[1] == ('GET', '/2', 'maybe_processed')


def test_co_write_excess(conn, drive):
    drive(conn.co_send_request('PUT', '/echo', body=BodyFollowing(2)))
    with pytest.raises(ExcessBodyData):
        drive(conn.co_write(b'abc'))
    drive(conn.co_write(b'ab'))
    drive(conn.co_read_response())
    assert drive(conn.co_readall()) == b'ab'


def test_eval_coroutine_timeout(conn):
    eval_coroutine(conn.co_send_request('GET', '/stall'), LIMIT)
    started = time.monotonic()
    with pytest.raises(ConnectionTimedOut):
        eval_coroutine(conn.co_read_response(), 0.2)
    assert time.monotonic() - started < LIMIT / 2


# ---------------------------------------------------------------------------
# Pipelining: a sending and a reading coroutine, interleaved
# ---------------------------------------------------------------------------

def sender(conn, requests):
    for method, path, body in requests:
        yield from conn.co_send_request(method, path, body=body)


def reader(conn, count):
    out = []
    for _ in range(count):
        resp = yield from conn.co_read_response()
        out.append((resp.path, (yield from conn.co_readall())))
    return out


def run_interleaved_select(*crts):
    """A select() scheduler for several coroutines at once; returns their
    values."""
    crts = [Counted(c) for c in crts]
    results = [None] * len(crts)
    waiting = {}
    for i, crt in enumerate(crts):
        try:
            waiting[i] = next(crt)
        except StopIteration as stop:
            results[i] = stop.value
    while waiting:
        rlist = {req.fd for req in waiting.values() if req.mask & POLLIN}
        wlist = {req.fd for req in waiting.values() if req.mask & POLLOUT}
        readable, writable, _ = select.select(list(rlist), list(wlist), [], LIMIT)
        assert readable or writable, 'stalled: %r' % (waiting,)
        for i, req in list(waiting.items()):
            if (req.mask & POLLIN and req.fd in readable) or \
                    (req.mask & POLLOUT and req.fd in writable):
                try:
                    waiting[i] = crts[i].send(None)
                except StopIteration as stop:
                    del waiting[i]
                    results[i] = stop.value
    return results


def run_interleaved_asyncio(*crts):
    async def main():
        return await settle(*(AioFuture(c) for c in crts))
    return asyncio.run(main())


SMALL = [('GET', '/send_%d_bytes' % (i * 13), None) for i in range(300)]
#: Big enough for the sender to block while the responses are not read.
BIG = [('PUT', '/echo', payload(65536 + i)) for i in range(120)]


def expected(requests):
    return [(path, body if body is not None else payload(int(path[6:-6])))
            for _, path, body in requests]


@pytest.mark.parametrize('requests', [SMALL, BIG], ids=['small-gets', 'big-puts'])
def test_pipelining_interleaved_with_select(conn, http_server, requests):
    _, got = run_interleaved_select(sender(conn, requests), reader(conn, len(requests)))
    assert got == expected(requests)
    assert len(http_server.connections()) == 1


def test_pipelining_interleaved_with_asyncio(conn, http_server):
    _, got = run_interleaved_asyncio(sender(conn, SMALL), reader(conn, len(SMALL)))
    assert got == expected(SMALL)
    assert len(http_server.connections()) == 1


#: A request body larger than what the loopback socket buffers hold.
HUGE = 48 * 1024 * 1024


def stalled_upload_server(raw_server, release):
    """Reads nothing until *release* is set, then the request and its body,
    and answers ``201`` with ``b'got it'``."""
    return raw_server([Call(lambda sock: release.wait(LIMIT)), ReadHeads(1), ReadBytes(HUGE),
                       Send(b'HTTP/1.1 201 Created\r\nContent-Length: 6\r\n\r\ngot it')])


def test_blocked_sender_and_waiting_reader_with_select(raw_server, conn_factory):
    release = threading.Event()
    server = stalled_upload_server(raw_server, release)
    conn = conn_factory('127.0.0.1', server.port)
    send = Counted(conn.co_send_request('PUT', '/big', body=payload(HUGE)))
    read = Counted(conn.co_read_response())
    assert next(send).mask == POLLOUT   # the server reads nothing yet
    req = next(read)
    assert req.mask & POLLIN
    release.set()
    _, resp = run_interleaved_select(send, read)
    assert resp.status == 201
    assert eval_coroutine(conn.co_readall(), LIMIT) == b'got it'


def test_blocked_sender_and_waiting_reader_with_asyncio(raw_server, conn_factory):
    release = threading.Event()
    server = stalled_upload_server(raw_server, release)
    conn = conn_factory('127.0.0.1', server.port)

    async def main():
        send = AioFuture(conn.co_send_request('PUT', '/big', body=payload(HUGE)))
        read = AioFuture(conn.co_read_response())
        await asyncio.sleep(0.1)   # both wait: the server reads nothing yet
        release.set()
        return await settle(send, read)

    _, resp = asyncio.run(main())
    assert resp.status == 201


def test_asyncio_style_coroutine_awaiting_aiofutures(conn, http_server):
    """python-dugong's first style: an asyncio coroutine that awaits an
    AioFuture per dugong call, mixed with other awaitables."""
    async def main():
        await AioFuture(conn.co_send_request('GET', '/send_1000_bytes'))
        await AioFuture(conn.co_send_request('GET', '/slow_chunked'))
        resp = await AioFuture(conn.co_read_response())
        first = await AioFuture(conn.co_read(None))
        await asyncio.sleep(0.01)
        await AioFuture(conn.co_read_response())
        second = await AioFuture(conn.co_readall())
        return resp.status, first, second

    assert asyncio.run(asyncio.wait_for(main(), LIMIT)) == (
        200, payload(1000), b''.join(SLOW_PIECES))


def test_many_connections_in_one_event_loop(http_server, conn_factory):
    conns = [conn_factory('127.0.0.1', http_server.port) for _ in range(8)]

    def get(conn, n):
        yield from conn.co_send_request('GET', '/slow_chunked')
        yield from conn.co_send_request('GET', '/send_%d_bytes' % n)
        yield from conn.co_read_response()
        slow = yield from conn.co_readall()
        yield from conn.co_read_response()
        return slow, (yield from conn.co_readall())

    async def main():
        return await settle(*(AioFuture(get(c, i * 1000)) for i, c in enumerate(conns)))

    started = time.monotonic()
    results = asyncio.run(main())
    assert results == [(b''.join(SLOW_PIECES), payload(i * 1000)) for i in range(8)]
    # Concurrent, not one after the other (each slow body takes ~0.25 s).
    assert time.monotonic() - started < 8 * 0.25
    assert len(http_server.connections()) == 8


def test_aiofuture_cancel_closes_the_coroutine(conn, http_server):
    eval_coroutine(conn.co_send_request('GET', '/stall'), LIMIT)
    crt = conn.co_read_response()

    async def main():
        future = AioFuture(crt)
        await asyncio.sleep(0.05)
        future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await future

    asyncio.run(main())
    assert crt.gi_frame is None   # closed
