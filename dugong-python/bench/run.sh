#!/usr/bin/env bash
# Regenerates dugong-python's benchmark (see README.md beside this script).
#
#   dugong-python/bench/run.sh [--quick] [--rounds N] [--seconds S]
#                              [--big-seconds S] [--depth N] [--bufsize BYTES]
#                              [--no-install] [--out DIR]
#
# Needs Linux, Python >= 3.9 (`python3`, or $PYTHON) and Rust (cargo); the
# package index is reached once to fill two virtualenvs, kept under
# $DUGONG_BENCH_CACHE (default: ${XDG_CACHE_HOME:-~/.cache}/dugong-python-bench):
#   venv-this: this module (pip builds a release wheel with maturin) + h11, urllib3
#   venv-orig: python-dugong 3.8.2 from the index (both are `import dugong`)
# Then one loopback server (bench/server, std-only Rust) answers every
# client; each client runs in its own process, round after round, taking
# turns; the Markdown tables (medians, ratios) go to standard output and,
# with the raw JSON lines, to --out (default: a fresh temp dir).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODULE=$(cd "$HERE/.." && pwd)
PYTHON=${PYTHON:-python3}
CACHE=${DUGONG_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dugong-python-bench}

ROUNDS=3
SECONDS_SMALL=3
SECONDS_BIG=1
DEPTH=1000
BUFSIZE=$((256 * 1024))
INSTALL=1
OUT=

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) ROUNDS=1; SECONDS_SMALL=1; SECONDS_BIG=0.5 ;;
        --rounds) ROUNDS=$2; shift ;;
        --seconds) SECONDS_SMALL=$2; shift ;;
        --big-seconds) SECONDS_BIG=$2; shift ;;
        --depth) DEPTH=$2; shift ;;
        --bufsize) BUFSIZE=$2; shift ;;
        --no-install) INSTALL=0 ;;
        --out) OUT=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

log() { printf '%s\n' "$*" >&2; }

[ "$(uname -s)" = Linux ] || { log "run.sh: Linux only (/proc/self/status)"; exit 2; }
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || { log "run.sh: $PYTHON is older than Python 3.9"; exit 2; }
command -v cargo >/dev/null || { log "run.sh: cargo (Rust) is needed"; exit 2; }

mkdir -p "$CACHE"
if [ -z "$OUT" ]; then
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/dugong-python-bench.XXXXXX")
fi
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"

SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the two environments --------------------------------------------------
THIS="$CACHE/venv-this"
ORIG="$CACHE/venv-orig"
if [ "$INSTALL" = 1 ]; then
    for venv in "$THIS" "$ORIG"; do
        [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    done
    log "== building this module (release) into $THIS"
    # A target dir in the cache: the build leaves nothing in the source tree
    # and the next run rebuilds incrementally. pip builds a release wheel
    # through maturin (PEP 517).
    CARGO_TARGET_DIR="$CACHE/target-module" \
        "$THIS/bin/python" -m pip install --quiet --force-reinstall --no-deps "$MODULE" >&2
    "$THIS/bin/python" -m pip install --quiet h11 urllib3 >&2
    log "== python-dugong 3.8.2 into $ORIG"
    "$ORIG/bin/python" -m pip install --quiet dugong==3.8.2 >&2
fi
# Each environment must import the dugong it is meant to (the source tree
# is never on sys.path: bench.py is run from $OUT).
(cd "$OUT" && "$THIS/bin/python" -c 'import dugong._dugong') \
    || { log "run.sh: $THIS does not import this module"; exit 1; }
(cd "$OUT" && "$ORIG/bin/python" -c 'import dugong, sys; sys.exit(dugong.__version__ != "3.8.2")') \
    || { log "run.sh: $ORIG does not import python-dugong 3.8.2"; exit 1; }
if (cd "$OUT" && "$THIS/bin/python" -c 'import dugong, sys; sys.exit("site-packages" not in dugong.__file__)'); then :; else
    log "run.sh: warning: this module is not imported from site-packages (an editable install?)"
fi

# ---- the server ------------------------------------------------------------
log "== building the server"
CARGO_TARGET_DIR="$CACHE/target-server" \
    cargo build --quiet --release --manifest-path "$HERE/server/Cargo.toml" >&2
SERVER_BIN="$CACHE/target-server/release/bench-server"
# Port 0: the server takes a free port and prints it; it also ends by
# itself after --lifetime seconds should this script be killed hard.
"$SERVER_BIN" --lifetime 1800 > "$OUT/server.out" 2> "$OUT/server.err" &
SERVER_PID=$!
PORT=
for _ in $(seq 100); do
    PORT=$(awk '/^PORT /{print $2; exit}' "$OUT/server.out")
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { log "run.sh: the server died:"; cat "$OUT/server.err" >&2; exit 1; }
    sleep 0.05
done
[ -n "$PORT" ] || { log "run.sh: the server did not report its port"; exit 1; }
log "== server on 127.0.0.1:$PORT (pid $SERVER_PID); results in $OUT"

# ---- the clients -----------------------------------------------------------
cp "$HERE/bench.py" "$OUT/bench.py"
BENCH="$OUT/bench.py"

# "venv client seconds" per line, in the order they take turns.
SMALL_PLAN="
$THIS dugong-pipelined
$ORIG dugong-pipelined
$THIS socket-pipelined
$THIS dugong-pipelined-headers
$ORIG dugong-pipelined-headers
$THIS dugong-single
$ORIG dugong-single
$THIS http.client-single
$THIS h11-single
$THIS urllib3-single
$THIS socket-single
"
BIG_PLAN="
$THIS dugong-big
$ORIG dugong-big
$THIS http.client-big
$THIS h11-big
$THIS urllib3-big
$THIS socket-big
"

run_one() { # venv client seconds round [bufsize]
    local venv=$1 client=$2 seconds=$3 round=$4 bufsize=${5:-$BUFSIZE} line
    local name; name=$(basename "$venv")
    printf '%-10s %-20s round %s ... ' "${name#venv-}" "$client" "$round" >&2
    if line=$(cd "$OUT" && timeout 120 "$venv/bin/python" "$BENCH" --client "$client" --port "$PORT" \
            --seconds "$seconds" --depth "$DEPTH" --bufsize "$bufsize" --round "$round" < /dev/null 2>> "$OUT/clients.err"); then
        printf '%s\n' "$line" >> "$RESULTS"
        "$PYTHON" -c 'import json,sys; r=json.loads(sys.argv[1]); print("{:>12,.0f} req/s {:>8,.0f} MB/s".format(r["req_per_s"], r["mb_per_s"]))' "$line" < /dev/null >&2
    else
        log "FAILED (see $OUT/clients.err)"
        FAILED=1
    fi
}

FAILED=0
START=$(date +%s)
for round in $(seq "$ROUNDS"); do
    while read -r venv client; do
        [ -n "$venv" ] && run_one "$venv" "$client" "$SECONDS_SMALL" "$round"
    done <<< "$SMALL_PLAN"
done
for round in $(seq "$ROUNDS"); do
    while read -r venv client; do
        [ -n "$venv" ] && run_one "$venv" "$client" "$SECONDS_BIG" "$round"
    done <<< "$BIG_PLAN"
done
# Memory: a fresh process streams 1 GiB (python-dugong too, for
# reference); this module also with a 1 MiB buffer, the top of the range.
# The peak varies from run to run (allocator churn): one run per round,
# the report gives the median and the largest growth.
for round in $(seq "$ROUNDS"); do
    run_one "$THIS" dugong-rss 0 "$round"
    run_one "$THIS" dugong-rss 0 "$round" $((1024 * 1024))
    run_one "$ORIG" dugong-rss 0 "$round"
done
log "== measured in $(( $(date +%s) - START )) s"

{
    REV=$(git -C "$MODULE" describe --always --dirty 2>/dev/null || echo "?")
    echo "<!-- dugong-python $REV, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -srm), $(nproc) CPUs, $("$THIS/bin/python" -V), $ROUNDS rounds, ${SECONDS_SMALL} s small / ${SECONDS_BIG} s large per run -->"
    echo
    "$PYTHON" "$BENCH" --report "$RESULTS"
} | tee "$OUT/report.md"
exit "$FAILED"
