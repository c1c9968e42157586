#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/<target>/ (files named seed-*)
and the hand-made reproducers of fuzz/regressions/<target>/.

The input encodings are documented at the top of each oracle in
fuzz/oracles/. Run from anywhere: python3 fuzz/make_seeds.py
Files from fuzz runs (named by their SHA-1, from `cargo fuzz cmin`) are left
alone.
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))

# ----- stream ---------------------------------------------------------------

GET, HEAD, POST, CONNECT, PUT, DELETE, OPTIONS = range(7)
EXPECT, UPGRADE, CLOSE, RELEASE, BODY = 0x08, 0x10, 0x20, 0x40, 0x80
ROOMY = bytes([255, 39, 63, 127])  # 1024 head bytes, 39 fields, 66, 256


def stream(requests, response, sizes=(), eof=False, feed=0, limits=ROOMY):
    out = bytearray([len(requests) - 1])
    out += bytes(requests)
    out += limits
    out.append(len(sizes))
    out += bytes(s - 1 for s in sizes)
    out.append((1 if eof else 0) | (feed << 1))
    out += response
    return bytes(out)


def crlf(text):
    return text.replace(b"\n", b"\r\n")


OK5 = crlf(b"HTTP/1.1 200 OK\nContent-Length: 5\n\n") + b"hello"
CHUNKED = crlf(
    b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nTrailer: Checksum\n\n"
    b"6;name=value\nhello \n5 ; q=\"a\\\"b\"\nworld\n0\nChecksum: 0a1b\n\n"
)
SAMPLE = open(os.path.join(HERE, "..", "dugong-proto", "examples", "sample-response.http"), "rb").read()

STREAM = {
    "ok-byte-by-byte": stream([GET], OK5),
    "ok-eof": stream([GET], OK5, sizes=(3, 1, 7), eof=True, feed=3),
    "sample-pipelined": stream([GET, HEAD, GET], SAMPLE, sizes=(5, 11), feed=1),
    "chunked-trailers": stream([GET], CHUNKED, sizes=(2, 3), feed=2, eof=True),
    "continue-then-ok": stream(
        [PUT | EXPECT],
        crlf(b"HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\n") + b"ok",
        sizes=(4,),
    ),
    "expect-final-first": stream(
        [PUT | EXPECT, GET],
        crlf(b"HTTP/1.1 417 Expectation Failed\nContent-Length: 0\n\n"),
        eof=True,
    ),
    "expect-released-pipelined": stream(
        [POST | EXPECT | RELEASE, GET],
        crlf(b"HTTP/1.1 100 Continue\n\nHTTP/1.1 201 Created\nContent-Length: 0\n\n") + OK5,
        sizes=(9, 2),
        feed=3,
    ),
    "early-hints": stream(
        [GET],
        crlf(b"HTTP/1.1 103 Early Hints\nLink: </a.css>\n\nHTTP/1.1 102 Processing\n\n") + OK5,
    ),
    "switching": stream(
        [GET | UPGRADE],
        crlf(b"HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: upgrade\n\n")
        + b"\x81\x05hello more frames",
        sizes=(7,),
    ),
    "switching-refused": stream([GET | UPGRADE, GET], OK5 + OK5, sizes=(13,)),
    "unrequested-switch": stream([GET], crlf(b"HTTP/1.1 101 Switching Protocols\n\n")),
    "connect-tunnel": stream(
        [CONNECT],
        crlf(b"HTTP/1.1 200 Connection established\n\n") + b"\x16\x03\x01 tls bytes",
        sizes=(2,),
        eof=True,
    ),
    "connect-refused": stream(
        [CONNECT],
        crlf(b"HTTP/1.1 407 Proxy Authentication Required\nContent-Length: 3\n\n") + b"no!",
        eof=True,
    ),
    "http10-until-close": stream(
        [GET], crlf(b"HTTP/1.0 200 OK\nServer: old\n\n") + b"all of this until close", eof=True, sizes=(6,)
    ),
    "close-pipelined": stream(
        [GET, GET, HEAD],
        crlf(b"HTTP/1.1 200 OK\nConnection: close\nContent-Length: 5\n\n") + b"hello",
        sizes=(17,),
    ),
    "bodiless": stream(
        [HEAD, GET, GET],
        crlf(
            b"HTTP/1.1 200 OK\nContent-Length: 10\n\n"
            b"HTTP/1.1 204 No Content\nContent-Length: 4\n\n"
            b"HTTP/1.1 304 Not Modified\nTransfer-Encoding: chunked\n\n"
        ),
        eof=True,
    ),
    "cut-body": stream([GET, GET], OK5[:-2], eof=True),
    "cut-chunk": stream([GET], CHUNKED[:95], eof=True, sizes=(4,)),
    "eof-before-head": stream([GET, DELETE], b"HTTP/1.1 200 O", eof=True),
    "eof-idle": stream([GET], OK5, eof=True, sizes=(1,)),
    "te-and-cl": stream(
        [GET], crlf(b"HTTP/1.1 200 OK\nContent-Length: 3\nTransfer-Encoding: chunked\n\n0\n\n")
    ),
    "cl-list": stream([GET, GET], crlf(b"HTTP/1.1 200 OK\nContent-Length: 3, 3\nContent-Length: 3\n\n") + b"abc" + OK5),
    "cl-conflict": stream([GET], crlf(b"HTTP/1.1 200 OK\nContent-Length: 3\nContent-Length: 4\n\nabcd")),
    "gzip-coding": stream([GET], crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\n")),
    "bare-lf": stream([GET], b"HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
    "obs-fold": stream(
        [GET], crlf(b"HTTP/1.1 200 OK\nX-Folded: a\n  b\n\tc\nContent-Length: 1\n\n") + b"x", sizes=(3,)
    ),
    "blank-lines-first": stream([GET, GET], b"\r\n\r\n" + OK5 + b"\r\n" + OK5, sizes=(1, 2, 3)),
    "head-too-large": stream([GET], crlf(b"HTTP/1.1 200 OK\nX: " + b"y" * 80 + b"\n\n"), limits=bytes([4, 39, 63, 127])),
    "too-many-fields": stream([GET], crlf(b"HTTP/1.1 200 OK\nA: 1\nB: 2\nC: 3\n\n"), limits=bytes([255, 2, 63, 127])),
    "chunk-line-too-long": stream(
        [GET], crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5;" + b"e" * 20 + b"\nhello\n0\n\n"),
        limits=bytes([255, 39, 3, 127]), sizes=(2,),
    ),
    "trailers-too-large": stream(
        [GET], crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n0\nT: " + b"t" * 40 + b"\n\n"),
        limits=bytes([255, 39, 63, 5]),
    ),
    "unsolicited": stream([GET], OK5 + b"HTTP/1.1 200 OK\r\n\r\n"),
    "chunk-data-end": stream([GET], crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nabc\n0\n\n")),
    "chunk-overflow": stream([GET], crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n1ffffffffffffffff\n")),
    "refused-behind-body": stream([GET | CLOSE, GET, POST | BODY], OK5 + OK5, eof=True),
    "direct-reads": stream([GET, GET, GET], OK5 + CHUNKED + crlf(b"HTTP/1.0 200 OK\n\n") + b"until close",
                           sizes=(20, 3), feed=4, eof=True),
    "direct-mixed": stream([GET, HEAD, GET], SAMPLE, sizes=(30, 1, 9), feed=5),
    "options-star-and-delete": stream([OPTIONS, DELETE | BODY], OK5 + crlf(b"HTTP/1.1 404 Not Found\nContent-Length: 0\n\n")),
    # Conformance round 2 (issue 14).
    "tls-record": stream([GET], b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", sizes=(1,)),
    "http09-body": stream([GET, GET], b"<html>hello</html>\n", sizes=(2,)),
    "not-http-after-1xx": stream([GET], crlf(b"HTTP/1.1 103 Early Hints\n\n") + b"\x15\x03\x03", sizes=(5,)),
    "close-then-response": stream(
        [GET, GET], crlf(b"HTTP/1.1 200 OK\nConnection: close\nContent-Length: 0\n\n") + OK5, sizes=(9,)
    ),
    "close-then-padding": stream(
        [GET], crlf(b"HTTP/1.1 200 OK\nConnection: close\nContent-Length: 0\n\n\n\n"), eof=True, sizes=(3,)
    ),
    "status-700": stream([GET], crlf(b"HTTP/1.1 700 Odd\nContent-Length: 2\n\n") + b"ok"),
    "te-syntax": stream([GET], crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: gzip;q=\"a,b\", chunked\n\n")),
    "chunk-size-space": stream([GET], crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5 \nhello\n0\n\n")),
    "trailer-fold": stream(
        [GET], crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n0\nX: a \n\t b\n\n"), sizes=(4,)
    ),
    "switch-not-offered": stream(
        [GET | UPGRADE], crlf(b"HTTP/1.1 101 Switching Protocols\nUpgrade: h2c\n\n") + b"frames"
    ),
}

# ----- head_diff ------------------------------------------------------------

HEAD_DIFF = {
    "simple": crlf(b"HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 5\n\n") + b"hello",
    "no-reason": crlf(b"HTTP/1.1 204\nDate: x\n\n"),
    "empty-reason": crlf(b"HTTP/1.1 404 \n\n"),
    "http10": crlf(b"HTTP/1.0 200 OK\nConnection: keep-alive\n\n"),
    "http12": crlf(b"HTTP/1.2 200 OK\nA: b\n\n"),
    "status-600": crlf(b"HTTP/1.1 600 Beyond\n\n"),
    "status-099": crlf(b"HTTP/1.1 099 Below\n\n"),
    "continue": crlf(b"HTTP/1.1 100 Continue\n\n"),
    "early-hints": crlf(b"HTTP/1.1 103 Early Hints\nLink: </a.css>; rel=preload\n\n"),
    "switching": crlf(b"HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n") + b"frames",
    "obs-fold": crlf(b"HTTP/1.1 200 OK\nX-A: one \n  two\n\tthree\nX-B:\n folded-empty\n\n"),
    "obs-fold-first": crlf(b"HTTP/1.1 200 OK\n folded: x\n\n"),
    "reason-obs-text": crlf(b"HTTP/1.1 200 Gr\xfc\xdfe\nX: caf\xe9\n\n"),
    "reason-tab": crlf(b"HTTP/1.1 500 Internal\tServer  Error \n\n"),
    "bare-lf": b"HTTP/1.1 200 OK\nA: b\n\n",
    "bare-lf-end": b"HTTP/1.1 200 OK\r\nA: b\r\n\n",
    "lf-leading": b"\nHTTP/1.1 200 OK\r\n\r\n",
    "blank-lines": b"\r\n\r\nHTTP/1.1 200 OK\r\nA: b\r\n\r\n",
    "space-before-colon": crlf(b"HTTP/1.1 200 OK\nA : b\n\n"),
    "empty-name": crlf(b"HTTP/1.1 200 OK\n: b\n\n"),
    "no-colon": crlf(b"HTTP/1.1 200 OK\nA b\n\n"),
    "nul-in-value": crlf(b"HTTP/1.1 200 OK\nA: b\x00c\n\n"),
    "del-in-value": crlf(b"HTTP/1.1 200 OK\nA: b\x7fc\n\n"),
    "cr-in-value": crlf(b"HTTP/1.1 200 OK\nA: b") + b"\rc\r\n\r\n",
    "whitespace-values": crlf(b"HTTP/1.1 200 OK\nA:   \nB:\t x \t\nC:\n\n"),
    "te-cl": crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Length: 5\n\n"),
    "te-http10": crlf(b"HTTP/1.0 200 OK\nTransfer-Encoding: chunked\n\n"),
    "te-empty": crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: ,\n\n"),
    "te-twice": crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nTransfer-Encoding: Chunked\n\n"),
    "te-gzip": crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\n"),
    "cl-list": crlf(b"HTTP/1.1 200 OK\nContent-Length: 7 , 7\nContent-Length: 7\n\n"),
    "cl-conflict": crlf(b"HTTP/1.1 200 OK\nContent-Length: 7\nContent-Length: 8\n\n"),
    "cl-plus": crlf(b"HTTP/1.1 200 OK\nContent-Length: +7\n\n"),
    "cl-overflow": crlf(b"HTTP/1.1 200 OK\nContent-Length: 99999999999999999999\n\n"),
    "cl-folded": crlf(b"HTTP/1.1 200 OK\nContent-Length: 7,\n 7\n\n"),
    "http2": crlf(b"HTTP/2 200 OK\n\n"),
    "lowercase": crlf(b"http/1.1 200 OK\n\n"),
    "partial": b"HTTP/1.1 200 OK\r\nContent-Le",
    "many-fields": crlf(b"HTTP/1.1 200 OK\n" + b"".join(b"X-%d: %d\n" % (i, i) for i in range(40)) + b"\n"),
    # Miscompiled by nightly 2026-05-15 (LLVM 22.1.4) with cargo-fuzz's
    # branch-folding flag: dugong answered TransferEncoding instead of
    # TransferEncodingWithContentLength (see README.md).
    "nightly-miscompile": crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: chunke!\nContent-Length: 5HTTP/1.1 200 OK\n\n\n"),
    "token-chars": crlf(b"HTTP/1.1 200 OK\n!#$%&'*+-.^_`|~09azAZ: v\n\n"),
    # Conformance round 2 (issue 14).
    "tls-record": b"\x16\x03\x01\x00\xa5\x01\x00",
    "http09": b"<html>\r\n\r\n",
    "not-http-prefix": b"HTTQ/1.1 200 OK\r\n\r\n",
    "status-999": crlf(b"HTTP/1.1 999 Odd\nContent-Length: 0\n\n"),
    "status-leading-zero": b"HTTP/1.1 0",
    "te-quoted": crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: \"chunked\"\n\n"),
    "te-params": crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: gzip ; q = \"a,\\\"b\", chunked\n\n"),
    "te-chunked-param": crlf(b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked;a=b\n\n"),
    "switching-other": crlf(b"HTTP/1.1 101 Switching Protocols\nUpgrade: h2c\n\n"),
    "switching-none": crlf(b"HTTP/1.1 101 Switching Protocols\n\n"),
    "switching-versioned": crlf(b"HTTP/1.1 101 Switching Protocols\nUpgrade: WebSocket/13\n\n"),
}

# ----- request --------------------------------------------------------------

M = {"GET": 0, "HEAD": 1, "POST": 2, "PUT": 3, "DELETE": 4, "OPTIONS": 5, "CONNECT": 6, "PATCH": 7}
T = {"/": 0, "/a/b?c=d&e": 1, "*": 2, "http://example.com/x": 3, "example.com:443": 4, "/%7E": 5,
     "//x": 6, "HTTP://": 7, "[::1]:8080": 8, "a:b": 9, "/a b": 10, "/{}": 11}
N = {"Host": 0, "Expect": 1, "Connection": 2, "Upgrade": 3, "Content-Length": 4, "transfer-encoding": 5,
     "X-Custom": 6, "Accept": 7, "Trailer": 8, "TE": 9, "Content-Type": 10, "x": 11, "Server-Timing": 12,
     "tchar": 13, "Authorization": 14, "cookie": 15, "Proxy-Authorization": 16}
V = {"example.com": 0, "100-continue": 1, "close": 2, "upgrade": 3, "websocket": 4, "chunked": 5, "0": 6,
     "": 7, " leading": 8, "trailing": 9, "tab": 10, "latin1": 11, "list": 12, "ctl": 13, "crlf": 14, "del": 15}


def blob(data):
    assert len(data) < 20
    return bytes([len(data)]) + data


def fields(pairs):
    out = bytearray([len(pairs)])
    for name, value in pairs:
        if isinstance(name, bytes):
            out += bytes([200]) + bytes([len(name)]) + name
        else:
            out.append(N[name])
        if isinstance(value, bytes):
            out += bytes([160]) + bytes([len(value)]) + value
        else:
            out.append(V[value])
    return bytes(out)


def req(method, target, headers=(), body=("empty",), keep_held=False, delta=0):
    out = bytearray()
    out += bytes([224, len(method)]) + method if isinstance(method, bytes) else bytes([M[method]])
    out += bytes([192, len(target)]) + target if isinstance(target, bytes) else bytes([T[target]])
    out += fields(list(headers))
    kind = {"empty": 0, "full": 1, "sized": 2, "chunked": 3}[body[0]]
    kind |= (4 if keep_held else 0) | (((delta + 2) % 5) << 4)
    out.append(kind)
    if body[0] == "full":
        out += blob(body[1])
    elif body[0] == "sized":
        out.append(len(body[1]))
        for p in body[1]:
            out += blob(p)
    elif body[0] == "chunked":
        out.append(len(body[1]))
        for p in body[1]:
            out += blob(p)
        out += fields(list(body[2]))
    return bytes(out)


def requests(*reqs, host=0, secrets=False):
    return bytes([(len(reqs) - 1) | (host << 2) | (0x10 if secrets else 0)]) + b"".join(reqs)


HOST = ("Host", "example.com")
REQUEST = {
    "get": requests(req("GET", "/", [HOST])),
    "pipelined": requests(req("GET", "/", [HOST]), req("HEAD", "/a/b?c=d&e", [HOST, ("Accept", "list")]),
                          req("DELETE", "//x", [HOST])),
    "post-full": requests(req("POST", "/", [HOST, ("Content-Type", "latin1")], ("full", b"a=1&b=2"))),
    "sized-pieces": requests(req("PUT", "/", [HOST], ("sized", [b"hel", b"", b"lo"])), req("GET", "/", [HOST])),
    "sized-short": requests(req("PUT", "/", [HOST], ("sized", [b"abc"]), delta=2), req("GET", "/", [HOST])),
    "sized-excess": requests(req("PUT", "/", [HOST], ("sized", [b"ab", b"cd"]), delta=-1)),
    "chunked-trailers": requests(req("POST", "/", [HOST], ("chunked", [b"hello ", b"", b"world"],
                                                            [("Server-Timing", "list"), ("x", "tab")]))),
    "chunked-forbidden-trailer": requests(req("POST", "/", [HOST], ("chunked", [b"x"], [("Content-Length", "0")]))),
    "expect-released": requests(req("PUT", "/", [HOST, ("Expect", "100-continue")], ("full", b"body")),
                                req("GET", "/", [HOST])),
    "expect-held": requests(req("PUT", "/", [HOST, ("Expect", "100-continue")], ("chunked", [b"a"], []),
                                keep_held=True), req("GET", "/", [HOST])),
    "expect-sized": requests(req("PUT", "/", [HOST, ("Expect", "100-continue")], ("sized", [b"ab", b"c"]))),
    "connect": requests(req("CONNECT", "example.com:443", [HOST]), req("GET", "/", [HOST])),
    "connect-origin-form": requests(req("CONNECT", "/", [HOST])),
    "options-star": requests(req("OPTIONS", "*", [HOST]), req("GET", "*", [HOST])),
    "absolute-form": requests(req("GET", "http://example.com/x", [HOST]), req("GET", "a:b", [HOST]),
                              req("GET", "[::1]:8080", [HOST])),
    "upgrade": requests(req("GET", "/", [HOST, ("Connection", "upgrade"), ("Upgrade", "websocket")]),
                        req("GET", "/", [HOST])),
    "close": requests(req("GET", "/", [HOST, ("Connection", "close")]), req("GET", "/", [HOST])),
    "framing-header": requests(req("POST", "/", [HOST, ("Content-Length", "0")], ("full", b"x")),
                               req("POST", "/", [("transfer-encoding", "chunked")])),
    "bad-values": requests(req("GET", "/", [("X-Custom", "crlf")]), req("GET", "/", [("X-Custom", " leading")]),
                           req("GET", "/", [("X-Custom", "ctl")]), req("GET", "/", [("X-Custom", "del")])),
    "good-values": requests(req("GET", "/", [("X-Custom", "tab"), ("X-Custom", "latin1"), ("x", ""),
                                             ("tchar", "list")])),
    "bad-names": requests(req("GET", "/", [(b"Bad Name", b"v")]), req("GET", "/", [(b"", b"v")]),
                          req("GET", "/", [(b"caf\xe9", b"v")])),
    "bad-method": requests(req(b"G T", "/"), req(b"", "/"), req(b"M\xe9", "/")),
    "custom-method": requests(req(b"PROPFIND", "/", [HOST]), req(b"X!#", "/", [HOST])),
    "bad-target": requests(req("GET", "/a b"), req("GET", b"/\xe9"), req("GET", b""), req("GET", b"x")),
    "default-host": requests(req("GET", "/"), req("CONNECT", "example.com:443"), host=1),
    "bad-default-host": requests(req("GET", "/"), req("GET", "/", [HOST]), host=2),
    "connect-no-host": requests(req("CONNECT", "example.com:443", [("Accept", "list")])),
    "secrets": requests(req("GET", "/", [HOST, ("Authorization", "example.com"), ("cookie", ""),
                                         ("Proxy-Authorization", "latin1")]),
                        req("GET", "/", [("cookie", "crlf")]), req("POST", "/", [("Authorization", "0")],
                                                                    ("full", b"body")), secrets=True),
    "odd-target": requests(req("GET", "/{}", [HOST]), req("GET", "/%7E", [HOST])),
}


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, "seed-" + name), "wb") as f:
            f.write(data)


# Reproducers of findings (fuzz/regressions/<target>/), written by hand.
REQUEST_REGRESSIONS = {
    # Finding 1: a default Host with whitespace at its ends is sent as is.
    "default-host-whitespace": requests(req("GET", "/"), host=3),
}


def write_regressions(target, seeds):
    d = os.path.join(HERE, "regressions", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


write_regressions("request", REQUEST_REGRESSIONS)
write("stream", STREAM)
write("head_diff", HEAD_DIFF)
write("request", REQUEST)
print(len(STREAM), len(HEAD_DIFF), len(REQUEST))
