#!/usr/bin/env python3
"""The client side of dugong-python's benchmark (see README.md beside it).

One run measures one client against the loopback server of ``run.sh``
and prints one JSON line::

    python bench.py --client dugong-pipelined --port P --seconds 3

``dugong-*`` clients use whichever ``dugong`` the interpreter imports:
this module (dugong-python, a release build) in one virtualenv,
python-dugong 3.8.2 in the other; the JSON line says which (``impl``).

    python bench.py --report results.jsonl

reads the JSON lines of a whole run (several rounds) and prints the
Markdown tables (medians, ratios, targets). ``--list`` names the clients.

Only the standard library is needed, except by the ``h11-*`` and
``urllib3-*`` clients.
"""

import argparse
import gc
import json
import platform
import socket
import statistics
import sys
import time

HOST = "127.0.0.1"
SMALL_PATH = "/small"
SMALL_BODY = b"Hello, world!"
BIG_PATH = "/big"
BIG_LEN = 64 << 20
HUGE_PATH = "/huge"
HUGE_LEN = 1 << 30

# ----------------------------------------------------------------------------
# small responses: requests per second
# ----------------------------------------------------------------------------


def _window(seconds, warmup, step):
    """Runs ``step()`` (which returns how many requests it made and how many
    body bytes it read) for *warmup* seconds, then for *seconds* seconds;
    returns (requests, body bytes, elapsed) of the measured part."""
    end = time.perf_counter() + warmup
    while time.perf_counter() < end:
        step()
    gc.collect()
    requests = nbytes = 0
    start = time.perf_counter()
    end = start + seconds
    while True:
        n, b = step()
        requests += n
        nbytes += b
        now = time.perf_counter()
        if now >= end:
            return requests, nbytes, now - start


def dugong_impl():
    import dugong

    try:
        import dugong._dugong  # noqa: F401 -- only this module has it

        return "dugong-python"
    except ImportError:
        return "python-dugong " + getattr(dugong, "__version__", "?")


def small_dugong_pipelined(port, seconds, warmup, opts, headers=False):
    import dugong

    depth = opts.depth
    conn = dugong.HTTPConnection(HOST, port)
    send, read_response, readall = conn.send_request, conn.read_response, conn.readall

    def step():
        for _ in range(depth):
            send("GET", SMALL_PATH)
        nbytes = 0
        for _ in range(depth):
            resp = read_response()
            if resp.status != 200:
                raise RuntimeError("status %d" % resp.status)
            if headers and resp.headers["Content-Length"] != "13":
                raise RuntimeError("Content-Length %r" % resp.headers["Content-Length"])
            nbytes += len(readall())
        return depth, nbytes

    try:
        return _window(seconds, warmup, step)
    finally:
        conn.disconnect()


def small_dugong_pipelined_headers(port, seconds, warmup, opts):
    """As dugong-pipelined, but each response's ``headers`` is looked at
    (one field): what a caller that reads a header pays."""
    return small_dugong_pipelined(port, seconds, warmup, opts, headers=True)


def small_dugong_single(port, seconds, warmup, opts):
    import dugong

    conn = dugong.HTTPConnection(HOST, port)
    send, read_response, readall = conn.send_request, conn.read_response, conn.readall

    def step():
        nbytes = 0
        for _ in range(100):
            send("GET", SMALL_PATH)
            resp = read_response()
            if resp.status != 200:
                raise RuntimeError("status %d" % resp.status)
            nbytes += len(readall())
        return 100, nbytes

    try:
        return _window(seconds, warmup, step)
    finally:
        conn.disconnect()


def small_http_client(port, seconds, warmup, opts):
    import http.client

    conn = http.client.HTTPConnection(HOST, port)

    def step():
        nbytes = 0
        for _ in range(100):
            conn.request("GET", SMALL_PATH)
            resp = conn.getresponse()
            if resp.status != 200:
                raise RuntimeError("status %d" % resp.status)
            nbytes += len(resp.read())
        return 100, nbytes

    try:
        return _window(seconds, warmup, step)
    finally:
        conn.close()


def small_h11(port, seconds, warmup, opts):
    import h11

    sock = socket.create_connection((HOST, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = h11.Connection(our_role=h11.CLIENT)
    host = "%s:%d" % (HOST, port)

    def one():
        req = h11.Request(method="GET", target=SMALL_PATH, headers=[("Host", host)])
        sock.sendall(conn.send(req) + conn.send(h11.EndOfMessage()))
        nbytes = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
            elif type(event) is h11.Response:
                if event.status_code != 200:
                    raise RuntimeError("status %d" % event.status_code)
            elif type(event) is h11.Data:
                nbytes += len(event.data)
            elif type(event) is h11.EndOfMessage:
                break
            else:
                raise RuntimeError("unexpected h11 event %r" % (event,))
        conn.start_next_cycle()
        return nbytes

    def step():
        nbytes = 0
        for _ in range(100):
            nbytes += one()
        return 100, nbytes

    try:
        return _window(seconds, warmup, step)
    finally:
        sock.close()


def small_urllib3(port, seconds, warmup, opts):
    import urllib3

    pool = urllib3.HTTPConnectionPool(HOST, port, maxsize=1, retries=False)
    request = pool.request

    def step():
        nbytes = 0
        for _ in range(100):
            resp = request("GET", SMALL_PATH)
            if resp.status != 200:
                raise RuntimeError("status %d" % resp.status)
            nbytes += len(resp.data)
        return 100, nbytes

    try:
        return _window(seconds, warmup, step)
    finally:
        pool.close()


def _raw_request(port):
    return ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (SMALL_PATH, HOST, port)).encode()


# The whole canned answer of the server to /small (its length is all a raw
# client needs: a floor, not an HTTP client).
_SMALL_ANSWER_LEN = len(
    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 13\r\n\r\n"
) + len(SMALL_BODY)


def small_socket_single(port, seconds, warmup, opts):
    sock = socket.create_connection((HOST, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = _raw_request(port)
    want = _SMALL_ANSWER_LEN
    buf = bytearray(65536)
    view = memoryview(buf)

    def step():
        for _ in range(100):
            sock.sendall(request)
            got = 0
            while got < want:
                n = sock.recv_into(view[got:])
                if not n:
                    raise ConnectionError("server closed")
                got += n
        return 100, 100 * len(SMALL_BODY)

    try:
        return _window(seconds, warmup, step)
    finally:
        sock.close()


def small_socket_pipelined(port, seconds, warmup, opts):
    sock = socket.create_connection((HOST, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    depth = opts.depth
    batch = _raw_request(port) * depth
    want = _SMALL_ANSWER_LEN * depth
    buf = bytearray(want)
    view = memoryview(buf)

    def step():
        sock.sendall(batch)
        got = 0
        while got < want:
            n = sock.recv_into(view[got:])
            if not n:
                raise ConnectionError("server closed")
            got += n
        return depth, depth * len(SMALL_BODY)

    try:
        return _window(seconds, warmup, step)
    finally:
        sock.close()


# ----------------------------------------------------------------------------
# large bodies: MB/s of 64 MiB bodies read into one reused buffer
# ----------------------------------------------------------------------------


def _big_window(seconds, warmup, one):
    """Like `_window` for whole 64 MiB bodies: at least one measured."""
    return _window(seconds, warmup, lambda: (1, one()))


def _read_whole(status, readinto, buf, length):
    """Reads a body of *length* bytes answered with *status* through
    *readinto* into the reused *buf*; its length."""
    if status != 200:
        raise RuntimeError("status %d" % status)
    total = 0
    while True:
        n = readinto(buf)
        if not n:
            break
        total += n
    if total != length:
        raise RuntimeError("read %d bytes of %d" % (total, length))
    return total


def big_dugong(port, seconds, warmup, opts):
    import dugong

    conn = dugong.HTTPConnection(HOST, port)
    buf = bytearray(opts.bufsize)

    def one():
        conn.send_request("GET", BIG_PATH)
        resp = conn.read_response()
        return _read_whole(resp.status, conn.readinto, buf, BIG_LEN)

    try:
        return _big_window(seconds, warmup, one)
    finally:
        conn.disconnect()


def big_http_client(port, seconds, warmup, opts):
    import http.client

    conn = http.client.HTTPConnection(HOST, port)
    buf = bytearray(opts.bufsize)

    def one():
        conn.request("GET", BIG_PATH)
        resp = conn.getresponse()
        return _read_whole(resp.status, resp.readinto, buf, BIG_LEN)

    try:
        return _big_window(seconds, warmup, one)
    finally:
        conn.close()


def big_h11(port, seconds, warmup, opts):
    import h11

    sock = socket.create_connection((HOST, port))
    conn = h11.Connection(our_role=h11.CLIENT)
    host = "%s:%d" % (HOST, port)
    bufsize = opts.bufsize

    def one():
        req = h11.Request(method="GET", target=BIG_PATH, headers=[("Host", host)])
        sock.sendall(conn.send(req) + conn.send(h11.EndOfMessage()))
        total = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(bufsize))
            elif type(event) is h11.Data:
                total += len(event.data)
            elif type(event) is h11.Response:
                if event.status_code != 200:
                    raise RuntimeError("status %d" % event.status_code)
            elif type(event) is h11.EndOfMessage:
                break
            else:
                raise RuntimeError("unexpected h11 event %r" % (event,))
        conn.start_next_cycle()
        if total != BIG_LEN:
            raise RuntimeError("read %d bytes of %d" % (total, BIG_LEN))
        return total

    try:
        return _big_window(seconds, warmup, one)
    finally:
        sock.close()


def big_urllib3(port, seconds, warmup, opts):
    import urllib3

    pool = urllib3.HTTPConnectionPool(HOST, port, maxsize=1, retries=False)
    buf = bytearray(opts.bufsize)

    def one():
        resp = pool.request("GET", BIG_PATH, preload_content=False)
        total = _read_whole(resp.status, resp.readinto, buf, BIG_LEN)
        resp.release_conn()
        return total

    try:
        return _big_window(seconds, warmup, one)
    finally:
        pool.close()


def big_socket(port, seconds, warmup, opts):
    sock = socket.create_connection((HOST, port))
    request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (BIG_PATH, HOST, port)).encode()
    head_len = len(
        ("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % BIG_LEN).encode()
    )
    buf = bytearray(opts.bufsize)

    def one():
        sock.sendall(request)
        want = head_len + BIG_LEN
        got = 0
        recv_into = sock.recv_into
        while got < want:
            n = recv_into(buf, min(len(buf), want - got))
            if not n:
                raise ConnectionError("server closed")
            got += n
        return BIG_LEN

    try:
        return _big_window(seconds, warmup, one)
    finally:
        sock.close()


# ----------------------------------------------------------------------------
# memory: RSS growth while one 1 GiB body streams through a reused buffer
# ----------------------------------------------------------------------------


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/self/status" % field)


def _reset_peak():
    """Resets VmHWM to the current RSS (Linux >= 4.0); False if it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_dugong(port, seconds, warmup, opts):
    """Streams one 1 GiB body with readinto; the RSS figures go in the
    result (``rss_before_kib``, ``rss_peak_kib``, ``rss_growth_kib``)."""
    import dugong

    conn = dugong.HTTPConnection(HOST, port)
    buf = bytearray(opts.bufsize)
    # One small exchange first: the connection, the core and their buffers
    # exist before the baseline is taken.
    conn.send_request("GET", SMALL_PATH)
    conn.read_response()
    conn.readall()
    gc.collect()
    reset = _reset_peak()
    before = _status_kib("VmRSS")
    peak_before = _status_kib("VmHWM")
    start = time.perf_counter()
    conn.send_request("GET", HUGE_PATH)
    resp = conn.read_response()
    total = _read_whole(resp.status, conn.readinto, buf, HUGE_LEN)
    elapsed = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    conn.disconnect()
    return {
        "requests": 1,
        "bytes": total,
        "elapsed": elapsed,
        "rss_before_kib": before,
        "rss_peak_kib": peak,
        # Without a reset of the peak (old kernels) an earlier, higher peak
        # would hide the growth: then the growth is a lower bound.
        "rss_growth_kib": peak - before,
        "peak_reset": reset and peak_before <= before + 4,
    }


# ----------------------------------------------------------------------------

CLIENTS = {
    # name: (kind, function, needs a dugong)
    "dugong-pipelined": ("small", small_dugong_pipelined, True),
    "dugong-pipelined-headers": ("small", small_dugong_pipelined_headers, True),
    "dugong-single": ("small", small_dugong_single, True),
    "http.client-single": ("small", small_http_client, False),
    "h11-single": ("small", small_h11, False),
    "urllib3-single": ("small", small_urllib3, False),
    "socket-pipelined": ("small", small_socket_pipelined, False),
    "socket-single": ("small", small_socket_single, False),
    "dugong-big": ("big", big_dugong, True),
    "http.client-big": ("big", big_http_client, False),
    "h11-big": ("big", big_h11, False),
    "urllib3-big": ("big", big_urllib3, False),
    "socket-big": ("big", big_socket, False),
    "dugong-rss": ("rss", rss_dugong, True),
}


def run_client(opts):
    kind, func, uses_dugong = CLIENTS[opts.client]
    impl = dugong_impl() if uses_dugong else opts.client.split("-")[0]
    result = {
        "client": opts.client,
        "impl": impl,
        "kind": kind,
        "round": opts.round,
        "python": platform.python_version(),
    }
    if kind == "rss":
        result.update(func(opts.port, opts.seconds, opts.warmup, opts))
    else:
        requests, nbytes, elapsed = func(opts.port, opts.seconds, opts.warmup, opts)
        if kind == "small" and nbytes != requests * len(SMALL_BODY):
            raise RuntimeError("read %d body bytes for %d requests" % (nbytes, requests))
        result.update(requests=requests, bytes=nbytes, elapsed=elapsed)
    result["req_per_s"] = result["requests"] / result["elapsed"]
    result["mb_per_s"] = result["bytes"] / result["elapsed"] / 1e6
    if kind in ("big", "rss"):
        result["bufsize"] = opts.bufsize
    if opts.client.endswith("pipelined"):
        result["depth"] = opts.depth
    print(json.dumps(result), flush=True)


# ----------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------

THIS = "dugong-python"
ORIG = "python-dugong"

# (client, impl prefix, row label, mode); the order of the table rows.
SMALL_ROWS = [
    ("dugong-pipelined", THIS, "**dugong-python** (this module)", "pipelined"),
    ("dugong-pipelined", ORIG, "python-dugong 3.8.2", "pipelined"),
    ("socket-pipelined", "socket", "raw socket (floor: no HTTP parsing)", "pipelined"),
    ("dugong-pipelined-headers", THIS, "**dugong-python** (this module)", "pipelined, reads `resp.headers[...]`"),
    ("dugong-pipelined-headers", ORIG, "python-dugong 3.8.2", "pipelined, reads `resp.headers[...]`"),
    ("dugong-single", THIS, "**dugong-python** (this module)", "one at a time"),
    ("dugong-single", ORIG, "python-dugong 3.8.2", "one at a time"),
    ("http.client-single", "http.client", "http.client (stdlib)", "one at a time"),
    ("h11-single", "h11", "h11 + blocking socket", "one at a time"),
    ("urllib3-single", "urllib3", "urllib3 HTTPConnectionPool", "one at a time"),
    ("socket-single", "socket", "raw socket (floor: no HTTP parsing)", "one at a time"),
]
BIG_ROWS = [
    ("dugong-big", THIS, "**dugong-python** (this module)", "`readinto`"),
    ("dugong-big", ORIG, "python-dugong 3.8.2", "`readinto`"),
    ("http.client-big", "http.client", "http.client (stdlib)", "`HTTPResponse.readinto`"),
    ("h11-big", "h11", "h11 + blocking socket", "`recv` + `receive_data`, `Data` events"),
    ("urllib3-big", "urllib3", "urllib3 HTTPConnectionPool", "`preload_content=False`, `readinto`"),
    ("socket-big", "socket", "raw socket (floor: no HTTP parsing)", "`recv_into`"),
]


def _fmt_rate(x):
    return "{:,.0f}".format(x)


def _fmt_ratio(x):
    if x is None:
        return "–"
    return "{:.2f}×".format(x) if x < 10 else "{:.1f}×".format(x)


def _spread(values, fmt):
    if len(values) < 2:
        return ""
    return "{}–{}".format(fmt(min(values)), fmt(max(values)))


def report(path):
    results = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                results.append(json.loads(line))

    def runs(client, impl):
        return [r for r in results if r["client"] == client and r["impl"].startswith(impl)]

    def median(client, impl, key):
        vals = [r[key] for r in runs(client, impl)]
        return statistics.median(vals) if vals else None

    out = []
    w = out.append
    rounds = max([r.get("round", 1) for r in results] or [0])
    depth = next((r["depth"] for r in results if "depth" in r), None)
    bufsize = next((r["bufsize"] for r in results if "bufsize" in r), None)
    pyver = next((r["python"] for r in results), "?")

    # -- small ------------------------------------------------------------
    w("### Small responses (13-byte body), requests/s")
    w("")
    w(
        "Median of %d rounds; pipelined = %s requests sent, then their %s responses read. "
        "Ratios are of medians. Python %s." % (rounds, depth, depth, pyver)
    )
    w("")
    w("| client | mode | requests/s | spread (min–max) | ÷ python-dugong, same mode | ÷ http.client |")
    w("|---|---|---:|---:|---:|---:|")
    orig = {
        "pipelined": median("dugong-pipelined", ORIG, "req_per_s"),
        "pipelined, reads `resp.headers[...]`": median("dugong-pipelined-headers", ORIG, "req_per_s"),
        "one at a time": median("dugong-single", ORIG, "req_per_s"),
    }
    httpc = median("http.client-single", "http.client", "req_per_s")
    for client, impl, label, mode in SMALL_ROWS:
        vals = [r["req_per_s"] for r in runs(client, impl)]
        if not vals:
            continue
        m = statistics.median(vals)
        base = orig.get(mode)
        w(
            "| %s | %s | %s | %s | %s | %s |"
            % (
                label,
                mode,
                _fmt_rate(m),
                _spread(vals, _fmt_rate),
                _fmt_ratio(m / base if base else None),
                _fmt_ratio(m / httpc if httpc else None),
            )
        )
    w("")

    # -- big --------------------------------------------------------------
    w("### Large body (64 MiB), MB/s")
    w("")
    w("Median of %d rounds; each body read into one reused %s-KiB buffer." % (rounds, (bufsize or 0) // 1024))
    w("")
    w("| client | how | MB/s | spread (min–max) | ÷ python-dugong | ÷ http.client |")
    w("|---|---|---:|---:|---:|---:|")
    orig_big = median("dugong-big", ORIG, "mb_per_s")
    httpc_big = median("http.client-big", "http.client", "mb_per_s")
    for client, impl, label, how in BIG_ROWS:
        vals = [r["mb_per_s"] for r in runs(client, impl)]
        if not vals:
            continue
        m = statistics.median(vals)
        w(
            "| %s | %s | %s | %s | %s | %s |"
            % (
                label,
                how,
                _fmt_rate(m),
                _spread(vals, _fmt_rate),
                _fmt_ratio(m / orig_big if orig_big else None),
                _fmt_ratio(m / httpc_big if httpc_big else None),
            )
        )
    w("")

    # -- rss --------------------------------------------------------------
    rss = [r for r in results if r["kind"] == "rss"]
    if rss:
        w("### Memory: one 1 GiB body streamed with `readinto` into a reused buffer")
        w("")
        w(
            "Growth = peak RSS while the body streams (VmHWM, reset just before the request) "
            "− RSS before the request; one fresh process per run, %d runs per row." % rounds
        )
        w("")
        w("| client | buffer | RSS before | growth, median | growth, largest | MB/s, median | target |")
        w("|---|---:|---:|---:|---:|---:|---|")
        keys = []
        for r in rss:
            key = (r["impl"], r["bufsize"])
            if key not in keys:
                keys.append(key)
        for impl, bufsize in keys:
            group = [r for r in rss if r["impl"] == impl and r["bufsize"] == bufsize]
            growths = [r["rss_growth_kib"] for r in group]
            worst = max(growths)
            this = impl.startswith(THIS)
            label = "**dugong-python** (this module)" if this else impl
            note = "" if all(r.get("peak_reset") for r in group) else " (peak not reset: lower bound)"
            target = ("< 2 MiB: **%s**" % ("met" if worst < 2048 else "MISSED")) if this else ""
            w(
                "| %s | %d KiB | %.1f MiB | %.2f MiB | %.2f MiB%s | %s | %s |"
                % (
                    label,
                    bufsize // 1024,
                    statistics.median(r["rss_before_kib"] for r in group) / 1024,
                    statistics.median(growths) / 1024,
                    worst / 1024,
                    note,
                    _fmt_rate(statistics.median(r["mb_per_s"] for r in group)),
                    target,
                )
            )
        w("")

    # -- targets ----------------------------------------------------------
    w("### Targets")
    w("")
    this_pipe = median("dugong-pipelined", THIS, "req_per_s")
    this_single = median("dugong-single", THIS, "req_per_s")

    def verdict(ratio, target):
        if ratio is None:
            return "not measured"
        return "%s (target ≥ %g×): **%s**" % (_fmt_ratio(ratio), target, "met" if ratio >= target else "MISSED")

    w(
        "- pipelined, this module ÷ python-dugong: "
        + verdict(this_pipe / orig["pipelined"] if this_pipe and orig["pipelined"] else None, 20)
    )
    w("- one at a time, this module ÷ http.client: " + verdict(this_single / httpc if this_single and httpc else None, 2))
    this_rss = [r for r in rss if r["impl"].startswith(THIS)]
    if this_rss:
        worst = max(this_rss, key=lambda r: r["rss_growth_kib"])
        g = worst["rss_growth_kib"]
        w(
            "- 1 GiB streamed, RSS growth: %.2f MiB at most (%d-KiB buffer; target < 2 MiB): **%s**"
            % (g / 1024, worst["bufsize"] // 1024, "met" if g < 2048 else "MISSED")
        )
    print("\n".join(out))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--client", choices=sorted(CLIENTS))
    p.add_argument("--port", type=int)
    p.add_argument("--seconds", type=float, default=3.0, help="measured window (default 3)")
    p.add_argument("--warmup", type=float, default=0.3, help="unmeasured warm-up first (default 0.3)")
    p.add_argument("--depth", type=int, default=1000, help="requests in flight when pipelined (default 1000)")
    p.add_argument("--bufsize", type=int, default=256 * 1024, help="readinto buffer (default 256 KiB)")
    p.add_argument("--round", type=int, default=1, help="round number, copied into the result")
    p.add_argument("--report", metavar="JSONL", help="print the Markdown tables of a run's results")
    p.add_argument("--list", action="store_true", help="print the client names and kinds")
    opts = p.parse_args()
    if opts.list:
        for name, (kind, _, uses_dugong) in CLIENTS.items():
            print(name, kind, "dugong" if uses_dugong else "other")
        return
    if opts.report:
        report(opts.report)
        return
    if not opts.client or not opts.port:
        p.error("--client and --port are needed (or --report, or --list)")
    run_client(opts)


if __name__ == "__main__":
    sys.exit(main())
