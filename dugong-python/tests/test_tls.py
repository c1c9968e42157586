"""TLS through the caller's `ssl.SSLContext`, against loopback servers that
use a CA and a server certificate made at test time (`certs`)."""

import hashlib
import ssl

import pytest

from dugong import BodyFollowing, ConnectionClosed, ConnectionTimedOut, HTTPConnection

from conftest import Call, Close, ReadHeads, Send, payload

pytestmark = pytest.mark.timeout(30)


def fetch(conn, path):
    conn.send_request('GET', path)
    resp = conn.read_response()
    return resp, conn.readall()


@pytest.fixture
def tls_conn(tls_server, certs, conn_factory):
    return conn_factory('localhost', tls_server.port, ssl_context=certs.client_context())


@pytest.mark.parametrize('host', ['localhost', '127.0.0.1'])
def test_get_over_tls(tls_server, certs, conn_factory, host):
    conn = conn_factory(host, tls_server.port, ssl_context=certs.client_context())
    resp, body = fetch(conn, '/send_100000_bytes')
    assert (resp.status, resp.length) == (200, 100000)
    assert body == payload(100000)
    assert tls_server.requests[0].headers['Host'] == '%s:%d' % (host, tls_server.port)


def test_default_port_is_443():
    conn = HTTPConnection('localhost', ssl_context=ssl.create_default_context())
    assert conn.port == 443


def test_pipelining_over_tls(tls_conn, tls_server):
    paths = ['/send_%d_bytes' % (i * 997) if i % 2 else '/chunked_%d_bytes' % (i * 997)
             for i in range(30)]
    for path in paths:
        tls_conn.send_request('GET', path)
    for i, path in enumerate(paths):
        resp = tls_conn.read_response()
        assert resp.path == path
        assert tls_conn.readall() == payload(i * 997)
    assert not tls_conn.response_pending()
    assert len(tls_server.connections()) == 1


def test_large_upload_and_download_over_tls(tls_conn):
    data = payload(3 * 1024 * 1024 + 5)
    tls_conn.send_request('PUT', '/echo', body=BodyFollowing(len(data)))
    for at in range(0, len(data), 256 * 1024):
        tls_conn.write(data[at:at + 256 * 1024])
    resp = tls_conn.read_response()
    assert resp.headers['X-MD5'] == hashlib.md5(data).hexdigest()
    parts = []
    while True:
        part = tls_conn.read(50000)
        if not part:
            break
        parts.append(part)
    assert b''.join(parts) == data


def test_chunked_upload_and_expect100_over_tls(tls_conn):
    tls_conn.send_request('POST', '/echo', body=BodyFollowing(None), expect100=True)
    assert tls_conn.read_response().status == 100
    tls_conn.write(b'secret ')
    tls_conn.write(b'data')
    tls_conn.write(b'')
    resp = tls_conn.read_response()
    assert resp.headers['X-Framing'] == 'chunked'
    assert tls_conn.readall() == b'secret data'


def test_peer_certificate_and_cipher(tls_conn, certs):
    # Before any request: the connection is opened for the answer.
    cert = tls_conn.get_ssl_peercert()
    assert ('DNS', 'localhost') in cert['subjectAltName']
    assert ('IP Address', '127.0.0.1') in cert['subjectAltName']
    der = tls_conn.get_ssl_peercert(binary_form=True)
    with open(certs.cert_pem) as fh:
        first_pem = fh.read().split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n'
    assert der == ssl.PEM_cert_to_DER_cert(first_pem)
    name, protocol, bits = tls_conn.get_ssl_cipher()
    assert protocol.startswith('TLSv1.')
    assert isinstance(name, str) and bits >= 128
    # The same connection then carries requests.
    assert fetch(tls_conn, '/send_10_bytes')[1] == payload(10)


def test_context_without_the_ca_is_refused(tls_server, conn_factory):
    context = ssl.create_default_context()   # the system's CAs, not ours
    conn = conn_factory('localhost', tls_server.port, ssl_context=context)
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.send_request('GET', '/send_1_bytes')
    assert tls_server.requests == []


def test_hostname_not_in_certificate(raw_server, conn_factory, tmp_path):
    trustme = pytest.importorskip('trustme')
    ca = trustme.CA()
    cert = ca.issue_cert('elsewhere.example')
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    server = raw_server([ReadHeads(1)], ssl_context=server_context)
    conn = conn_factory('localhost', server.port, ssl_context=client_context)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        conn.send_request('GET', '/')
    assert 'localhost' in str(info.value)
    server.stop(check=False)


@pytest.mark.parametrize('notify', [False, True], ids=['tcp-close', 'close_notify'])
@pytest.mark.parametrize('cut', ['mid-body', 'mid-head', 'mid-chunked'])
def test_server_closing_mid_response_is_connection_closed(raw_server, certs, conn_factory,
                                                          notify, cut):
    sent = {
        'mid-body': b'HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789',
        'mid-head': b'HTTP/1.1 200 OK\r\nContent-Len',
        'mid-chunked': b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
    }[cut]
    server = raw_server([ReadHeads(1), Send(sent), Close(notify=notify)],
                        ssl_context=certs.server_context())
    conn = conn_factory('localhost', server.port, ssl_context=certs.client_context())
    conn.send_request('GET', '/cut')
    if cut == 'mid-head':
        with pytest.raises(ConnectionClosed) as info:
            conn.read_response()
        assert info.value.fates == (('GET', '/cut', 'maybe_processed'),)
    else:
        assert conn.read_response().status == 200
        with pytest.raises(ConnectionClosed) as info:
            conn.readall()
        assert [f[2] for f in info.value.fates] == ['body_incomplete']
    assert type(info.value) is ConnectionClosed   # not ssl.SSLEOFError
    assert info.value.resendable == ()


def test_server_closing_mid_body_read_in_pieces(raw_server, certs, conn_factory):
    server = raw_server([ReadHeads(1), Send(b'HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n'
                                            b'0123456789'), Close()],
                        ssl_context=certs.server_context())
    conn = conn_factory('localhost', server.port, ssl_context=certs.client_context())
    conn.send_request('GET', '/')
    conn.read_response()
    assert conn.read(100) == b'0123456789'
    with pytest.raises(ConnectionClosed):
        conn.read(100)


def test_http10_response_ended_by_close_notify(raw_server, certs, conn_factory):
    server = raw_server([ReadHeads(1), Send(b'HTTP/1.0 200 OK\r\n\r\nuntil the end'),
                         Close(notify=True)], ssl_context=certs.server_context())
    conn = conn_factory('localhost', server.port, ssl_context=certs.client_context())
    resp, body = fetch(conn, '/')
    assert (resp.status, resp.length, body) == (200, None, b'until the end')


def test_disconnect_sends_close_notify(raw_server, certs, conn_factory):
    seen = []

    def read_end(sock):
        # With suppress_ragged_eofs=False, a TCP close without close_notify
        # raises SSLEOFError here; a close_notify reads as b''.
        try:
            seen.append(sock.recv(10))
        except ssl.SSLError as exc:
            seen.append(exc)

    server = raw_server([ReadHeads(1), Send(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'),
                         Call(read_end), Close()],
                        ssl_context=certs.server_context(), suppress_ragged_eofs=False)
    conn = conn_factory('localhost', server.port, ssl_context=certs.client_context())
    assert fetch(conn, '/')[1] == b'hi'
    conn.disconnect()
    server.wait()
    assert seen == [b'']


def test_disconnect_mid_body_over_tls_waits_for_the_server(raw_server, certs, conn_factory):
    # close_notify, then FIN: the server reads a clean end; whatever it then
    # does (OpenSSL 3 refuses its reply after the close_notify) is done
    # when disconnect returns.
    seen = []

    def read_to_end(sock):
        while sock.recv(100):
            pass
        seen.append('end')

    def try_reply(sock):
        try:
            sock.sendall(b'HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno')
            seen.append('replied')
        except OSError as exc:
            seen.append(type(exc).__name__)

    server = raw_server([ReadHeads(1), Call(read_to_end), Call(try_reply), Close()],
                        ssl_context=certs.server_context(), suppress_ragged_eofs=False)
    conn = conn_factory('localhost', server.port, ssl_context=certs.client_context())
    conn.send_request('PUT', '/', body=BodyFollowing(42))
    conn.write(b'fooo')
    conn.disconnect()
    assert len(seen) == 2 and seen[0] == 'end'
    server.wait()


def test_reconnect_over_tls(tls_conn, tls_server):
    assert fetch(tls_conn, '/send_5_bytes')[1] == payload(5)
    tls_conn.disconnect()
    assert fetch(tls_conn, '/send_6_bytes')[1] == payload(6)
    assert len(tls_server.connections()) == 2


def test_connection_close_then_reset_over_tls(tls_conn):
    assert fetch(tls_conn, '/close')[1] == b'closing'
    tls_conn.send_request('GET', '/send_1_bytes')
    with pytest.raises(ConnectionClosed) as info:
        tls_conn.read_response()
    assert info.value.resendable == (('GET', '/send_1_bytes'),)
    tls_conn.reset()
    assert fetch(tls_conn, '/send_1_bytes')[1] == payload(1)


def test_timeout_over_tls(tls_conn):
    tls_conn.timeout = 0.3
    tls_conn.send_request('GET', '/stall')
    with pytest.raises(ConnectionTimedOut):
        tls_conn.read_response()
