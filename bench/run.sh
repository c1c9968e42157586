#!/usr/bin/env bash
# Runs every dugong benchmark and prints one markdown section, ready to
# paste into README.md: the loopback benchmark pinned to CPU 0 and
# unpinned, then dugong-proto's head-parsing benchmark (criterion).
#
#   bench/run.sh           full run (about 8 minutes after the build: three
#                          rounds per client, pinned and unpinned), and the
#                          callgrind instruction counts (bench/callgrind.sh)
#                          when valgrind is installed
#   bench/run.sh --quick   loopback --quick --pin 0, a short criterion run
#                          on a subset, and every parse_cost mode once
#                          natively (well under a minute after the build)
#
# Progress goes to stderr, the markdown to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
case "${1:-}" in
    "") ;;
    --quick) quick=1 ;;
    *)
        echo "usage: bench/run.sh [--quick]" >&2
        exit 2
        ;;
esac

log() {
    printf '==> %s\n' "$*" >&2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log "building (release)"
cargo build --release -q -p dugong-bench --bin loopback --bin parse_cost >&2
cargo bench -q -p dugong-proto --bench parse --no-run >&2 2>&1

loopback() {
    cargo run --release -q -p dugong-bench --bin loopback -- "$@"
}

if [ "$quick" -eq 1 ]; then
    log "loopback --quick --pin 0"
    loopback --quick --pin 0 >"$work/pinned.md"
    log "parse_cost, every mode once (it checks what it parses)"
    for head in min small typical large; do
        for mode in setup dugong httparse; do
            target/release/parse_cost "$mode" "$head" 2560
        done
    done
    target/release/parse_cost pipeline-setup small 2560
    target/release/parse_cost pipeline small 2560
    log "criterion (quick subset)"
    cargo bench -q -p dugong-proto --bench parse -- \
        --warm-up-time 0.2 --measurement-time 0.5 --sample-size 20 'small|one_read' \
        >"$work/criterion.txt" 2>/dev/null
else
    log "loopback --pin 0"
    loopback --pin 0 >"$work/pinned.md"
    log "loopback (unpinned)"
    loopback >"$work/unpinned.md"
    log "criterion"
    cargo bench -q -p dugong-proto --bench parse -- \
        --warm-up-time 1 --measurement-time 3 \
        >"$work/criterion.txt" 2>/dev/null
    if command -v valgrind >/dev/null; then
        log "callgrind"
        bench/callgrind.sh >"$work/callgrind.md"
    else
        log "no valgrind: no instruction counts"
    fi
fi

cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
cores=$(nproc)
rustc_v=$(rustc -V)
today=$(date -u +%Y-%m-%d)

# The peers' versions, as Cargo.lock pins them.
locked() {
    awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}
peers="hyper $(locked hyper), hyper-util $(locked hyper-util), ureq $(locked ureq), httparse $(locked httparse), tokio $(locked tokio), criterion $(locked criterion)"

# The loopback output without its own machine line (printed once above).
tables() {
    grep -v '^Machine: ' "$1" | sed '/./,$!d'
}

# Criterion's output as tables: `name` lines followed by `time: [lo mid hi]`
# lines (or both on one line for short names); the middle estimate is used.
criterion_tables() {
    awk '
    function ns(value, unit) {
        if (unit == "ps") return value / 1000
        if (unit == "ns") return value
        if (unit == "µs" || unit == "us") return value * 1000
        if (unit == "ms") return value * 1000000
        if (unit == "s") return value * 1000000000
        return value
    }
    function pretty(t) {
        if (t >= 1000000) return sprintf("%.2f ms", t / 1000000)
        if (t >= 1000) return sprintf("%.2f µs", t / 1000)
        return sprintf("%.0f ns", t)
    }
    /^allocations per pipelined response/ { alloc = $0; next }
    /^[^ ]/ && !/^(Benchmarking|Found|Warning|Gnuplot|change|thrpt|time)/ {
        name = $1
    }
    /time: +\[/ {
        # Only the first `time:` after a name: later ones are the change
        # since the last run, in percent.
        if (name == "" || (name in est)) next
        line = $0
        sub(/.*time: +\[/, "", line)
        split(line, f, " ")
        t = ns(f[3], f[4])
        order[n++] = name
        est[name] = t
    }
    END {
        print "| input | dugong-proto | httparse | dugong-proto against httparse |"
        print "|---|--:|--:|--:|"
        for (i = 0; i < n; i++) {
            k = order[i]
            if (k !~ /^response_head\/dugong\//) continue
            input = k; sub(/^response_head\/dugong\//, "", input)
            other = "response_head/httparse/" input
            if (other in est) {
                r = est[k] / est[other]
                printf "| %s | %s | %s | %.1f× %s |\n", input, pretty(est[k]), pretty(est[other]), (r >= 1 ? r : 1 / r), (r >= 1 ? "slower" : "faster")
            } else {
                printf "| %s | %s | — | — |\n", input, pretty(est[k])
            }
        }
        print ""
        print "| benchmark | time |"
        print "|---|--:|"
        for (i = 0; i < n; i++) {
            k = order[i]
            if (k ~ /^response_head\//) continue
            printf "| %s | %s |\n", k, pretty(est[k])
        }
        if (alloc != "") { print ""; print alloc }
    }' "$1"
}

{
    echo "## Benchmarks"
    echo
    echo "Machine: ${cpu:-unknown CPU}, ${cores} cores; ${rustc_v}; ${today} (UTC); ${peers}. Regenerate with \`bench/run.sh$([ "$quick" -eq 1 ] && echo ' --quick')\`."
    echo
    echo "### Loopback, one connection per client (pooled rows: several), server and clients pinned to CPU 0"
    echo
    tables "$work/pinned.md"
    if [ "$quick" -eq 0 ]; then
        echo "### Loopback, unpinned"
        echo
        tables "$work/unpinned.md"
    fi
    echo "### Head parsing, dugong-proto against httparse (criterion)"
    echo
    criterion_tables "$work/criterion.txt"
    if [ -s "$work/callgrind.md" ]; then
        echo
        echo "### Instructions per response head (callgrind, \`bench/callgrind.sh\`)"
        echo
        cat "$work/callgrind.md"
    fi
}
