"""Proxies: plain HTTP through a proxy (absolute-form request targets) and
HTTPS through a ``CONNECT`` tunnel -- with a scripted proxy (exact bytes),
small Python proxies in threads, and a real tinyproxy when it is installed
(required when ``DUGONG_REQUIRE_PEERS`` is set)."""

import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from dugong import BodyFollowing

from conftest import LIMIT, LoopbackServer, ReadHeads, Send, ipv6_available, md5_b64, payload

pytestmark = pytest.mark.timeout(30)

OK_HI = b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'


def fetch(conn, path, method='GET'):
    conn.send_request(method, path)
    resp = conn.read_response()
    return resp, conn.readall()


# ---------------------------------------------------------------------------
# Plain HTTP through a proxy
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('host,port,target,host_field', [
    ('example.test', 8080, b'http://example.test:8080/p?q=1', b'example.test:8080'),
    ('example.test', None, b'http://example.test/p?q=1', b'example.test'),
    ('::1', 8080, b'http://[::1]:8080/p?q=1', b'[::1]:8080'),
])
def test_plain_request_uses_absolute_form(raw_server, conn_factory, host, port, target,
                                          host_field):
    proxy = raw_server([ReadHeads(1), Send(OK_HI)])
    # The origin's name is never resolved: only the proxy is connected to.
    conn = conn_factory(host, port, proxy=proxy.address)
    resp, body = fetch(conn, '/p?q=1')
    assert (resp.status, resp.path, body) == (200, '/p?q=1', b'hi')
    conn.disconnect()
    proxy.wait()
    head = bytes(proxy.received[0])
    assert head.startswith(b'GET ' + target + b' HTTP/1.1\r\n')
    assert b'\r\nHost: ' + host_field + b'\r\n' in head
    assert head.endswith(b'\r\n\r\n')


@pytest.mark.skipif(not ipv6_available(), reason='no IPv6 loopback')
def test_proxy_at_an_ipv6_address(raw_server, conn_factory):
    proxy = raw_server([ReadHeads(1), Send(OK_HI)], host='::1')
    conn = conn_factory('example.test', 8080, proxy=('::1', proxy.port))
    resp, body = fetch(conn, '/x')
    assert (resp.status, body) == (200, b'hi')
    conn.disconnect()
    proxy.wait()
    assert bytes(proxy.received[0]).startswith(b'GET http://example.test:8080/x HTTP/1.1\r\n')


def test_plain_pipelining_through_scripted_proxy(raw_server, conn_factory):
    proxy = raw_server([ReadHeads(2), Send(OK_HI + b'HTTP/1.1 201 Created\r\n'
                                           b'Content-Length: 3\r\n\r\nnew')])
    conn = conn_factory('origin.test', 81, proxy=proxy.address)
    conn.send_request('GET', '/one')
    conn.send_request('PUT', '/two', body=b'body')
    assert (conn.read_response().path, conn.readall()) == ('/one', b'hi')
    assert (conn.read_response().status, conn.readall()) == (201, b'new')
    conn.disconnect()
    proxy.wait()
    received = bytes(proxy.received[0])
    first, second = received.split(b'\r\n\r\n', 1)
    assert first.startswith(b'GET http://origin.test:81/one HTTP/1.1\r\n')
    assert second.startswith(b'PUT http://origin.test:81/two HTTP/1.1\r\n')
    assert second.endswith(b'\r\n\r\nbody')
    assert b'Content-MD5: ' + md5_b64(b'body').encode() in second


class ForwardingHandler(BaseHTTPRequestHandler):
    """A forwarding proxy: absolute-form requests are sent on with
    `http.client`; the response comes back with a Content-Length and a
    ``Via`` field. `server.seen` records ``(method, target, Host)``."""

    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append((self.command, self.path, self.headers['Host']))
        url = urlsplit(self.path)
        assert url.scheme == 'http'
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ('host', 'connection', 'content-length')}
        upstream = http.client.HTTPConnection(url.hostname, url.port, timeout=LIMIT)
        try:
            upstream.request(self.command, url.path + ('?' + url.query if url.query else ''),
                             body=body, headers=headers)
            resp = upstream.getresponse()
            data = resp.read()
        finally:
            upstream.close()
        self.send_response(resp.status, resp.reason)
        for name, value in resp.getheaders():
            if name.lower() not in ('transfer-encoding', 'connection', 'content-length',
                                    'server', 'date'):
                self.send_header(name, value)
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Via', '1.1 test-proxy')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    do_HEAD = do_PUT = do_POST = do_GET


@pytest.fixture
def forwarding_proxy():
    server = ThreadingHTTPServer(('127.0.0.1', 0), ForwardingHandler)
    server.daemon_threads = True
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(LIMIT)


def test_plain_through_forwarding_proxy(forwarding_proxy, http_server, conn_factory):
    conn = conn_factory('127.0.0.1', http_server.port,
                        proxy=('127.0.0.1', forwarding_proxy.server_address[1]))
    origin = '127.0.0.1:%d' % http_server.port
    conn.send_request('GET', '/send_3000_bytes')
    conn.send_request('PUT', '/echo', body=payload(5000))
    conn.send_request('HEAD', '/send_10_bytes')
    conn.send_request('GET', '/chunked_700_bytes?piece=100')
    results = []
    for _ in range(4):
        resp = conn.read_response()
        results.append((resp.method, resp.status, resp.headers['Via'], conn.readall()))
    assert results == [('GET', 200, '1.1 test-proxy', payload(3000)),
                       ('PUT', 200, '1.1 test-proxy', payload(5000)),
                       ('HEAD', 200, '1.1 test-proxy', b''),
                       ('GET', 200, '1.1 test-proxy', payload(700))]
    assert forwarding_proxy.seen == [
        ('GET', 'http://%s/send_3000_bytes' % origin, origin),
        ('PUT', 'http://%s/echo' % origin, origin),
        ('HEAD', 'http://%s/send_10_bytes' % origin, origin),
        ('GET', 'http://%s/chunked_700_bytes?piece=100' % origin, origin),
    ]
    # The origin got origin-form targets (from the proxy, not from dugong).
    assert [r.target for r in http_server.requests] == [
        '/send_3000_bytes', '/echo', '/send_10_bytes', '/chunked_700_bytes?piece=100']
    assert http_server.requests[1].headers['Content-MD5'] == md5_b64(payload(5000))


# ---------------------------------------------------------------------------
# HTTPS through a CONNECT tunnel
# ---------------------------------------------------------------------------

def connect_head(host, port):
    return b'CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n' % (host, port, host, port)


def test_https_through_connect_tunnel(connect_proxy, tls_server, certs, conn_factory):
    proxy = connect_proxy()
    conn = conn_factory('localhost', tls_server.port, ssl_context=certs.client_context(),
                        proxy=proxy.address)
    paths = ['/send_%d_bytes' % n for n in (0, 1, 70000)] + ['/chunked_3333_bytes']
    for path in paths:
        conn.send_request('GET', path)
    conn.send_request('PUT', '/echo', body=BodyFollowing(None))
    conn.write(b'through ')
    conn.write(b'the tunnel')
    conn.write(b'')
    bodies = []
    for _ in range(len(paths) + 1):
        conn.read_response()
        bodies.append(conn.readall())
    assert bodies == [payload(0), payload(1), payload(70000), payload(3333),
                      b'through the tunnel']
    assert ('DNS', 'localhost') in conn.get_ssl_peercert()['subjectAltName']
    assert proxy.heads == [connect_head(b'localhost', tls_server.port)]
    # Inside the tunnel: origin-form targets, the origin's Host.
    assert [r.target for r in tls_server.requests] == paths + ['/echo']
    assert tls_server.requests[0].headers['Host'] == 'localhost:%d' % tls_server.port


def test_tunnel_reopened_after_disconnect(connect_proxy, tls_server, certs, conn_factory):
    proxy = connect_proxy()
    conn = conn_factory('localhost', tls_server.port, ssl_context=certs.client_context(),
                        proxy=proxy.address)
    assert fetch(conn, '/send_5_bytes')[1] == payload(5)
    conn.disconnect()
    assert fetch(conn, '/send_6_bytes')[1] == payload(6)
    assert proxy.heads == [connect_head(b'localhost', tls_server.port)] * 2
    assert len(tls_server.connections()) == 2


def test_tunnel_refused_by_proxy(raw_server, certs, conn_factory):
    proxy = raw_server([ReadHeads(1), Send(b'HTTP/1.1 407 Proxy Authentication Required\r\n'
                                           b'Content-Length: 0\r\n\r\n')])
    conn = conn_factory('localhost', 4443, ssl_context=certs.client_context(),
                        proxy=proxy.address)
    with pytest.raises(ConnectionError) as info:
        conn.send_request('GET', '/')
    assert str(info.value) == 'Tunnel connection failed: 407 Proxy Authentication Required'
    proxy.wait()
    assert bytes(proxy.received[0]) == connect_head(b'localhost', 4443)


def test_tunnel_refused_with_a_body(connect_proxy, certs, conn_factory):
    proxy = connect_proxy(refuse=b'403 Forbidden')
    conn = conn_factory('localhost', 4443, ssl_context=certs.client_context(),
                        proxy=proxy.address)
    with pytest.raises(ConnectionError, match='Tunnel connection failed: 403 Forbidden'):
        conn.send_request('GET', '/')


def test_tunnel_to_ipv6_literal_is_bracketed(raw_server, certs, conn_factory):
    proxy = raw_server([ReadHeads(1), Send(b'HTTP/1.1 403 No\r\nContent-Length: 0\r\n\r\n')])
    conn = conn_factory('::1', 4443, ssl_context=certs.client_context(), proxy=proxy.address)
    with pytest.raises(ConnectionError):
        conn.send_request('GET', '/')
    proxy.wait()
    assert bytes(proxy.received[0]) == connect_head(b'[::1]', 4443)


# ---------------------------------------------------------------------------
# tinyproxy
# ---------------------------------------------------------------------------

def peers_required():
    return os.environ.get('DUGONG_REQUIRE_PEERS', '') not in ('', '0')


def find_tinyproxy():
    for candidate in (shutil.which('tinyproxy'), '/usr/bin/tinyproxy', '/usr/sbin/tinyproxy'):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


TINYPROXY_CONF = '''\
# Written by dugong-python's tests.
Port {port}
Listen 127.0.0.1
Allow 127.0.0.1
Timeout 30
MaxClients 20
LogFile "{base}/tinyproxy.log"
LogLevel Info
PidFile "{base}/tinyproxy.pid"
'''


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='module')
def tinyproxy():
    """``(host, port)`` of a private tinyproxy on 127.0.0.1 (no ``User``:
    it keeps the current user; no ``ConnectPort``: CONNECT to any port)."""
    binary = find_tinyproxy()
    if binary is None:
        if peers_required():
            pytest.fail('tinyproxy is not installed and DUGONG_REQUIRE_PEERS is set')
        pytest.skip('tinyproxy is not installed')
    failures = []
    for _ in range(3):
        base = tempfile.mkdtemp(prefix='dugong-tinyproxy-')
        port = free_port()
        with open(os.path.join(base, 'tinyproxy.conf'), 'w') as fh:
            fh.write(TINYPROXY_CONF.format(port=port, base=base))
        process = subprocess.Popen([binary, '-d', '-c', os.path.join(base, 'tinyproxy.conf')],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(('127.0.0.1', port), 0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            process.kill()
            process.wait(LIMIT)
            try:
                with open(os.path.join(base, 'tinyproxy.log')) as fh:
                    failures.append(fh.read())
            except OSError:
                failures.append('(no log)')
            shutil.rmtree(base, ignore_errors=True)
            continue
        try:
            yield ('127.0.0.1', port)
        finally:
            process.terminate()
            try:
                process.wait(LIMIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(LIMIT)
            shutil.rmtree(base, ignore_errors=True)
        return
    pytest.fail('tinyproxy did not start:\n' + '\n'.join(failures))


def test_plain_http_through_tinyproxy(tinyproxy, http_server, conn_factory):
    conn = conn_factory('127.0.0.1', http_server.port, proxy=tinyproxy)
    # tinyproxy closes the client connection after each forwarded request:
    # one request per connection.
    for method, path, body, expected in [
            ('GET', '/send_40000_bytes', None, payload(40000)),
            ('PUT', '/echo', payload(3000), payload(3000)),
            ('GET', '/chunked_5000_bytes', None, payload(5000))]:
        conn.send_request(method, path, body=body)
        resp = conn.read_response()
        assert resp.status == 200
        assert 'tinyproxy' in resp.headers['Via']
        assert conn.readall() == expected
        conn.disconnect()
    assert [(r.method, r.target) for r in http_server.requests] == [
        ('GET', '/send_40000_bytes'), ('PUT', '/echo'), ('GET', '/chunked_5000_bytes')]
    assert all('tinyproxy' in r.headers['Via'] for r in http_server.requests)
    assert http_server.requests[1].headers['Content-MD5'] == md5_b64(payload(3000))


def test_https_through_tinyproxy(tinyproxy, tls_server, certs, conn_factory):
    conn = conn_factory('localhost', tls_server.port, ssl_context=certs.client_context(),
                        proxy=tinyproxy)
    paths = ['/send_%d_bytes' % (n * 1001) for n in range(10)]
    for path in paths:
        conn.send_request('GET', path)
    for n, path in enumerate(paths):
        assert conn.read_response().path == path
        assert conn.readall() == payload(n * 1001)
    assert conn.get_ssl_cipher()[1].startswith('TLSv1.')
    assert len(tls_server.connections()) == 1
    # No Via inside the tunnel: tinyproxy only carries the bytes.
    assert tls_server.requests[0].headers['Via'] is None


@pytest.mark.skipif(not ipv6_available(), reason='no IPv6 loopback')
def test_https_to_ipv6_origin_through_tinyproxy(tinyproxy, certs, conn_factory):
    server = LoopbackServer(host='::1', ssl_context=certs.server_context()).start()
    try:
        conn = conn_factory('::1', server.port, ssl_context=certs.client_context(),
                            proxy=tinyproxy)
        assert fetch(conn, '/send_77_bytes')[1] == payload(77)
    finally:
        server.stop()
