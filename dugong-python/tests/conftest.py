"""Shared fixtures for the dugong tests: loopback servers only.

* `http_server` -- a threaded stdlib HTTP/1.1 server (`LoopbackServer`) with
  the routes of `Handler`, recording every request it receives;
* `tls_server` -- the same behind TLS, with a CA and a server certificate
  made at test time (`certs`: ``trustme``, or the ``openssl`` CLI);
* `raw_server` -- a factory of `RawServer`: a listening socket whose thread
  plays a script (read so many heads or bytes, send exact bytes, close or
  half-close) on each connection it accepts, recording what it received.

Every wait in here is bounded by `LIMIT` seconds, so a misbehaving client
makes a test fail, never hang.
"""

import base64
import gc
import hashlib
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

#: Bound (seconds) of every wait of the servers and of the clients' timeout.
LIMIT = 10


def payload(n):
    """*n* bytes of deterministic binary test data (every byte value, CR and
    LF included)."""
    return (bytes(range(256)) * (n // 256 + 1))[:n]


def md5_b64(data):
    """The ``Content-MD5`` value of *data*."""
    return base64.b64encode(hashlib.md5(data).digest()).decode('ascii')


def ipv6_available():
    """Whether a socket can be bound to ``::1``."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(('::1', 0))
    except OSError:
        return False
    return True


# ---------------------------------------------------------------------------
# The stdlib loopback server
# ---------------------------------------------------------------------------

@dataclass
class Received:
    """One request as the loopback server got it."""
    method: str
    target: str          # the request target as sent (path, or absolute form)
    version: str
    headers: object      # email.message.Message
    body: bytes
    trailers: list       # (name, value) pairs of a chunked body
    chunked: bool
    client: tuple        # the client's (host, port): one per connection


#: Text served by ``/text`` (several lines, non-ASCII characters included).
TEXT = ''.join('line %d: grüße, ελληνικά, 漢字\n' % i for i in range(200))

#: Pieces of the ``/slow_chunked`` body, sent with `SLOW_DELAY` in between.
SLOW_PIECES = [b'piece-%d;' % i for i in range(5)]
SLOW_DELAY = 0.05

#: Informational responses sent before the final one by ``/informational``.
INFORMATIONAL = (b'HTTP/1.1 102 Processing\r\n\r\n'
                 b'HTTP/1.1 103 Early Hints\r\n'
                 b'Link: </style.css>; rel=preload\r\n\r\n')


class Handler(BaseHTTPRequestHandler):
    """Routes (the query string is ignored unless said otherwise):

    ``/send_N_bytes``        200 with `payload(N)` and a Content-Length
    ``/chunked_N_bytes``     200 with `payload(N)` chunked in pieces of
                             ``?piece=`` bytes (default 1000) and the
                             trailers ``X-MD5`` (hex) and ``X-Length``
    ``/echo``                200 echoing the request body, with ``X-MD5``
                             (hex), ``X-Content-MD5`` (the request's header)
                             and ``X-Framing`` (``chunked``, ``length`` or
                             ``none``)
    ``/refuse``              answers ``Expect: 100-continue`` with
                             ``403 Forbidden`` (otherwise like ``/echo``)
    ``/status_N``            status N with no body (``/status_304`` says
                             ``Content-Length: 10``, as a 304 may)
    ``/informational``       102 and 103 before a 200 with ``b'final'``
    ``/close``               200 with ``Connection: close`` and
                             ``b'closing'``, then closes
    ``/http10``              an HTTP/1.0 response with no length, body
                             ``payload(5000)``, then closes
    ``/text``                `TEXT` as UTF-8
    ``/slow_chunked``        `SLOW_PIECES` chunked, `SLOW_DELAY` apart
    ``/stall``               nothing until the server's `release` event is
                             set (at most `LIMIT` s), then ``b'late'``
    """

    protocol_version = 'HTTP/1.1'
    server_version = 'dugong-test'

    def log_message(self, *args):
        pass

    def handle_expect_100(self):
        if urlsplit(self.path).path == '/refuse':
            self.server.record(self, b'', [], False)
            self.send_response(403, 'Go Away')
            self.send_header('Content-Length', '0')
            self.end_headers()
            return False
        return super().handle_expect_100()

    def do_GET(self):
        self.dispatch()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_OPTIONS = do_GET

    # -- request body ---------------------------------------------------

    def read_body(self):
        """The request body and its trailers, as the framing says."""
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            parts, trailers = [], []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip(), 16)
                if size == 0:
                    break
                parts.append(self.rfile.read(size))
                if self.rfile.read(2) != b'\r\n':
                    raise ValueError('chunk data not followed by CRLF')
            while True:
                line = self.rfile.readline()
                if line in (b'\r\n', b'\n', b''):
                    break
                name, _, value = line.decode('latin-1').partition(':')
                trailers.append((name.strip(), value.strip()))
            return b''.join(parts), trailers, True
        length = int(self.headers.get('Content-Length', 0))
        return self.rfile.read(length), [], False

    # -- responses -------------------------------------------------------

    def reply(self, status, body=b'', headers=(), length=True):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if length:
            self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def chunked(self, pieces, trailers=(), delay=0):
        self.send_response(200)
        self.send_header('Transfer-Encoding', 'chunked')
        if trailers:
            self.send_header('Trailer', ', '.join(name for name, _ in trailers))
        self.end_headers()
        if self.command == 'HEAD':
            return
        for piece in pieces:
            self.wfile.write(b'%x\r\n%s\r\n' % (len(piece), piece))
            if delay:
                time.sleep(delay)
        self.wfile.write(b'0\r\n' + b''.join(
            b'%s: %s\r\n' % (n.encode(), v.encode()) for n, v in trailers) + b'\r\n')

    def dispatch(self):
        body, trailers, chunked = self.read_body()
        self.server.record(self, body, trailers, chunked)
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)

        if path.startswith('/send_') and path.endswith('_bytes'):
            self.reply(200, payload(int(path[6:-6])),
                       [('Content-Type', 'application/octet-stream')])
        elif path.startswith('/chunked_') and path.endswith('_bytes'):
            data = payload(int(path[9:-6]))
            step = int(query.get('piece', ['1000'])[0])
            self.chunked([data[i:i + step] for i in range(0, len(data), step)],
                         [('X-MD5', hashlib.md5(data).hexdigest()),
                          ('X-Length', str(len(data)))])
        elif path in ('/echo', '/refuse'):
            framing = 'chunked' if chunked else (
                'length' if 'Content-Length' in self.headers else 'none')
            self.reply(200, body, [('X-MD5', hashlib.md5(body).hexdigest()),
                                   ('X-Content-MD5', self.headers.get('Content-MD5', '')),
                                   ('X-Framing', framing)])
        elif path.startswith('/status_'):
            status = int(path[8:])
            self.send_response(status)
            if status == 304:
                self.send_header('Content-Length', '10')
            self.end_headers()
        elif path == '/informational':
            self.wfile.write(INFORMATIONAL)
            self.reply(200, b'final')
        elif path == '/close':
            self.reply(200, b'closing', [('Connection', 'close')])
            self.close_connection = True
        elif path == '/http10':
            self.wfile.write(b'HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream'
                             b'\r\n\r\n' + payload(5000))
            self.close_connection = True
        elif path == '/text':
            self.reply(200, TEXT.encode('utf-8'),
                       [('Content-Type', 'text/plain; charset=utf-8')])
        elif path == '/slow_chunked':
            self.chunked(SLOW_PIECES, delay=SLOW_DELAY)
        elif path == '/stall':
            self.server.release.wait(LIMIT)
            self.reply(200, b'late')
        else:
            self.reply(404, b'no route for ' + path.encode())


class LoopbackServer(ThreadingHTTPServer):
    """`ThreadingHTTPServer` on loopback with `Handler`, serving in a thread.

    `requests` lists every request received (`Received`); `release` is set
    on shutdown (and by tests) to end ``/stall`` waits; `errors` collects
    exceptions of handler threads other than a client going away.
    """

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64   # no SYN dropped (and retried 1 s later)

    def __init__(self, host='127.0.0.1', ssl_context=None):
        self.address_family = socket.AF_INET6 if ':' in host else socket.AF_INET
        self.ssl_context = ssl_context
        self.requests = []
        self.errors = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        super().__init__((host, 0), Handler)
        self.host = host
        self.port = self.server_address[1]
        self._thread = threading.Thread(target=self.serve_forever,
                                        kwargs={'poll_interval': 0.05}, daemon=True)

    def server_bind(self):
        # HTTPServer.server_bind resolves the host name (slow, and pointless
        # on loopback): bind only.
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = self.server_address[:2]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.release.set()
        self.shutdown()
        self.server_close()
        self._thread.join(LIMIT)

    def record(self, handler, body, trailers, chunked):
        with self._lock:
            self.requests.append(Received(
                handler.command, handler.path, handler.request_version,
                handler.headers, body, trailers, chunked, handler.client_address))

    def connections(self):
        """The distinct client addresses (one per connection) seen so far."""
        with self._lock:
            return list(dict.fromkeys(r.client for r in self.requests))

    def finish_request(self, request, client_address):
        request.settimeout(LIMIT)
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()   # e.g. a client that does not trust our CA
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        # A client that goes away (or sends a cut chunked body) is a test's
        # business; anything else is a bug in the handler, reported by the
        # fixtures at teardown.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (OSError, ValueError)):
            self.errors.append(exc)


@pytest.fixture
def http_server():
    """A fresh `LoopbackServer` on 127.0.0.1."""
    server = LoopbackServer().start()
    yield server
    server.stop()
    assert server.errors == []


# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------

@dataclass
class Certs:
    """A test-time CA and a server certificate for ``localhost``,
    127.0.0.1 and ::1."""
    ca_pem: str          # path of the CA certificate
    cert_pem: str        # path of the server's certificate chain
    key_pem: str         # path of the server's key

    def client_context(self):
        """An `ssl.SSLContext` that trusts the test CA (only)."""
        ctx = ssl.create_default_context(cafile=self.ca_pem)
        return ctx

    def server_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_pem, self.key_pem)
        return ctx


def _certs_with_trustme(directory):
    import trustme
    ca = trustme.CA()
    cert = ca.issue_cert('localhost', '127.0.0.1', '::1')
    paths = Certs(*(os.path.join(directory, n) for n in ('ca.pem', 'cert.pem', 'key.pem')))
    ca.cert_pem.write_to_path(paths.ca_pem)
    with open(paths.cert_pem, 'wb') as fh:
        for blob in cert.cert_chain_pems:
            fh.write(blob.bytes())
    cert.private_key_pem.write_to_path(paths.key_pem)
    return paths


def _certs_with_openssl(directory):
    openssl = shutil.which('openssl')
    if openssl is None:
        raise RuntimeError('no openssl binary')
    p = lambda name: os.path.join(directory, name)  # noqa: E731

    def run(*args):
        subprocess.run([openssl, *args], check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
        '-subj', '/CN=dugong test CA', '-keyout', p('ca.key'), '-out', p('ca.pem'),
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
        '-keyout', p('key.pem'), '-out', p('cert.csr'))
    with open(p('ext.cnf'), 'w') as fh:
        fh.write('subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n'
                 'extendedKeyUsage=serverAuth\n')
    run('x509', '-req', '-in', p('cert.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'),
        '-CAcreateserial', '-days', '2', '-extfile', p('ext.cnf'), '-out', p('cert.pem'))
    return Certs(p('ca.pem'), p('cert.pem'), p('key.pem'))


@pytest.fixture(scope='session')
def certs():
    """`Certs` made with trustme, else with the openssl CLI; skips the test
    if neither works."""
    directory = tempfile.mkdtemp(prefix='dugong-certs-')
    failures = []
    for make in (_certs_with_trustme, _certs_with_openssl):
        try:
            made = make(directory)
            made.server_context()   # checks the files
            break
        except Exception as exc:   # ImportError, missing binary, old openssl...
            failures.append('%s: %r' % (make.__name__, exc))
    else:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.skip('cannot make test certificates: ' + '; '.join(failures))
    yield made
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def tls_server(certs):
    """A fresh `LoopbackServer` on 127.0.0.1 behind TLS (`certs`)."""
    server = LoopbackServer(ssl_context=certs.server_context()).start()
    yield server
    server.stop()
    assert server.errors == []


# ---------------------------------------------------------------------------
# The scripted raw server
# ---------------------------------------------------------------------------

class ReadHeads:
    """Script step: consume data up to the end of *n* more message heads
    (``\\r\\n\\r\\n``)."""

    def __init__(self, n=1):
        self.n = n


class ReadBytes:
    """Script step: consume *n* more bytes."""

    def __init__(self, n):
        self.n = n


class Send:
    """Script step: send *data* (all of it)."""

    def __init__(self, data):
        self.data = data


class Sleep:
    """Script step: wait *seconds*."""

    def __init__(self, seconds):
        self.seconds = seconds


class Close:
    """Script step: close the connection (and end the script). For TLS,
    *notify* sends a close_notify first; otherwise the TCP connection just
    ends."""

    def __init__(self, notify=False):
        self.notify = notify


class HalfClose:
    """Script step: shut down the sending direction (FIN), keep reading."""


class Call:
    """Script step: call *fn(sock)* (e.g. to wait for an event)."""

    def __init__(self, fn):
        self.fn = fn


class RawServer:
    """A listening socket on loopback whose thread accepts *connections*
    connections one after the other and plays a script on each.

    *script* is a list of steps (`ReadHeads`, `ReadBytes`, `Send`, `Sleep`,
    `HalfClose`, `Call`, `Close`) or a function of the connection's index
    returning one. A script that does not end with `Close` waits for the
    client to close (at most `LIMIT` s) before closing. With *ssl_context*,
    each connection is wrapped in TLS (server side, *suppress_ragged_eofs*
    as for `ssl.SSLContext.wrap_socket`).

    `received[i]` holds every byte connection *i* received; `error` the
    exception that ended the thread, if any (`wait` raises it; `stop` raises
    it unless it is an `OSError`, e.g. a client that went away early); `done`
    is set once every script has ended.
    """

    def __init__(self, script, connections=1, ssl_context=None, host='127.0.0.1',
                 suppress_ragged_eofs=True):
        family = socket.AF_INET6 if ':' in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(64)
        self.listener.settimeout(LIMIT)
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.script = script
        self.connections = connections
        self.ssl_context = ssl_context
        self.suppress_ragged_eofs = suppress_ragged_eofs
        self.received = []
        self.error = None
        self.done = threading.Event()
        self._current = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def address(self):
        return (self.host, self.port)

    def _run(self):
        try:
            for index in range(self.connections):
                sock, _ = self.listener.accept()
                self._current = sock
                data = bytearray()
                self.received.append(data)
                try:
                    sock.settimeout(LIMIT)
                    if self.ssl_context is not None:
                        sock = self.ssl_context.wrap_socket(
                            sock, server_side=True,
                            suppress_ragged_eofs=self.suppress_ragged_eofs)
                    script = self.script(index) if callable(self.script) else self.script
                    self._play(sock, script, data)
                finally:
                    sock.close()
        except BaseException as exc:   # reported by stop()
            self.error = exc
        finally:
            self.done.set()

    @staticmethod
    def _fill(sock, data, until):
        while not until():
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError('client closed early; got %r' % bytes(data))
            data.extend(chunk)

    def _play(self, sock, script, data):
        at = 0   # bytes consumed so far
        for step in script:
            if isinstance(step, ReadHeads):
                for _ in range(step.n):
                    self._fill(sock, data, lambda: data.find(b'\r\n\r\n', at) >= 0)
                    at = data.find(b'\r\n\r\n', at) + 4
            elif isinstance(step, ReadBytes):
                end = at + step.n
                self._fill(sock, data, lambda: len(data) >= end)
                at = end
            elif isinstance(step, Send):
                sock.sendall(step.data)
            elif isinstance(step, Sleep):
                time.sleep(step.seconds)
            elif isinstance(step, HalfClose):
                sock.shutdown(socket.SHUT_WR)
            elif isinstance(step, Call):
                step.fn(sock)
            elif isinstance(step, Close):
                if step.notify and isinstance(sock, ssl.SSLSocket):
                    try:
                        sock.unwrap()
                    except (OSError, ValueError):
                        pass
                return
            else:
                raise TypeError('unknown script step %r' % (step,))
        # No Close: wait for the client to close first.
        deadline = time.monotonic() + LIMIT
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionError, ssl.SSLError):
                return
            if not chunk:
                return
            data.extend(chunk)

    def stop(self, check=True):
        """Stops listening and waits for the thread; with *check*, raises
        the thread's error."""
        self.listener.close()
        current = self._current
        if current is not None and not self.done.is_set():
            try:   # ends a recv() that waits for the client
                current.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(LIMIT + 1)
        if check and self.error is not None and not isinstance(self.error, OSError):
            raise self.error

    def wait(self, timeout=LIMIT):
        """Waits until every connection's script has ended."""
        assert self.done.wait(timeout), 'raw server still running'
        if self.error is not None:
            raise self.error


@pytest.fixture
def raw_server():
    """Factory: ``raw_server(script, connections=1, ssl_context=None,
    host='127.0.0.1')`` starts a `RawServer`; all are stopped at teardown."""
    servers = []

    def start(script, **kwargs):
        server = RawServer(script, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(check=False)


# ---------------------------------------------------------------------------
# A CONNECT proxy
# ---------------------------------------------------------------------------

class ConnectProxy:
    """A small HTTP proxy in a thread for ``CONNECT`` tunnels: each
    connection's request head is recorded in `heads`; with *refuse* set it
    answers that status line instead of opening the tunnel; otherwise it
    connects to the requested host and port (loopback only), answers
    ``200 Connection established`` and splices bytes both ways."""

    def __init__(self, refuse=None):
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(16)
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.refuse = refuse
        self.heads = []
        self._stop = threading.Event()
        self._threads = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    @property
    def address(self):
        return ('127.0.0.1', self.port)

    def _accept(self):
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, client):
        upstream = None
        try:
            client.settimeout(LIMIT)
            head = bytearray()
            while b'\r\n\r\n' not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head.extend(chunk)
            head, _, rest = bytes(head).partition(b'\r\n\r\n')
            self.heads.append(head + b'\r\n\r\n')
            if self.refuse:
                client.sendall(b'HTTP/1.1 ' + self.refuse +
                               b'\r\nContent-Length: 0\r\n\r\n')
                return
            method, target, _ = head.split(b'\r\n')[0].split(b' ')
            host, _, port = target.decode().rpartition(':')
            if method != b'CONNECT' or host.strip('[]') not in (
                    '127.0.0.1', 'localhost', '::1'):
                client.sendall(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
                return
            upstream = socket.create_connection((host.strip('[]'), int(port)), LIMIT)
            client.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
            if rest:
                upstream.sendall(rest)
            self._splice(client, upstream)
        except OSError:
            pass
        finally:
            client.close()
            if upstream is not None:
                upstream.close()

    def _splice(self, a, b):
        peers = {a: b, b: a}
        open_ = {a, b}
        while open_ and not self._stop.is_set():
            ready, _, _ = select.select(list(open_), [], [], 0.1)
            for sock in ready:
                data = sock.recv(65536)
                if data:
                    peers[sock].sendall(data)
                else:
                    open_.discard(sock)
                    try:
                        peers[sock].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass

    def stop(self):
        self._stop.set()
        self.listener.close()
        self._accepter.join(LIMIT)
        for thread in self._threads:
            thread.join(LIMIT)


@pytest.fixture
def connect_proxy():
    """Factory: ``connect_proxy(refuse=None)`` starts a `ConnectProxy`."""
    proxies = []

    def start(**kwargs):
        proxy = ConnectProxy(**kwargs)
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def conn_factory():
    """Factory of `dugong.HTTPConnection` objects with ``timeout = LIMIT``;
    all are disconnected at teardown."""
    import dugong
    made = []

    def make(*args, **kwargs):
        conn = dugong.HTTPConnection(*args, **kwargs)
        conn.timeout = LIMIT
        made.append(conn)
        return conn

    yield make
    for conn in made:
        conn.disconnect()


@pytest.fixture(autouse=True)
def _collect_garbage_in_this_thread():
    """Runs the cycle collector after each test, in the main thread.

    A test that keeps an exception (``pytest.raises(...) as info``) keeps
    its traceback's frames in a reference cycle, and with them whatever
    connection objects they refer to. Left for later, the collector may
    run in one of the servers' threads, and dropping a connection there
    is a known bug of the module (see
    test_connection.py::test_connection_released_in_another_thread); it
    is tested there, not left to show up at random in other tests.
    """
    yield
    gc.collect()


@pytest.fixture
def conn(http_server, conn_factory):
    """An `HTTPConnection` to `http_server` (not connected yet)."""
    return conn_factory(http_server.host, http_server.port)
