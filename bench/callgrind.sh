#!/usr/bin/env bash
# Counts the instructions dugong-proto spends per response head, and per
# pipelined response, against httparse's parse of the same head, with
# callgrind (repeatable to the instruction, where timings on a shared VM
# move by a quarter between runs). Prints a markdown table.
#
#   bench/callgrind.sh      about a minute; needs valgrind
#                           (apt-get install -y valgrind)
#
# Each figure is (count of a run doing N units of work - count of the same
# run without them) / N, from `parse_cost` (bench/src/parse_cost.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
    echo "bench/callgrind.sh needs valgrind (apt-get install -y valgrind)" >&2
    exit 1
fi

cargo build --release -q -p dugong-bench --bin parse_cost >&2
bin=target/release/parse_cost
n=25600

# Instructions executed by one run of parse_cost with these arguments.
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 |
        awk '/I *refs:/ { gsub(",", "", $NF); print $NF }'
}

# Instructions per head spent in dugong-proto's head scan alone (the
# scanner and the framing fields it collects, inclusive), from one run of
# the `dugong` mode: the part that does what httparse does.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
scan_only() {
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" dugong "$1" "$n" >/dev/null 2>&1
    callgrind_annotate --inclusive=yes "$out" |
        awk -v n="$n" '/SectionScan::scan/ { gsub(",", "", $1); print int($1 / n); exit }'
}

per() {
    echo $((($1 - $2) / n))
}

echo "| head | dugong-proto | httparse | dugong-proto / httparse | of which the head scan | scan / httparse |"
echo "|---|--:|--:|--:|--:|--:|"
base=$(count httparse min 0)
for head in min small typical large; do
    echo "==> $head" >&2
    setup=$(count setup "$head" "$n")
    ours=$(per "$(count dugong "$head" "$n")" "$setup")
    theirs=$(per "$(count httparse "$head" "$n")" "$base")
    ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
    scan=$(scan_only "$head")
    scan_ratio=$(awk -v a="$scan" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
    echo "| $head | $ours | $theirs | $ratio | $scan | $scan_ratio |"
done
echo "==> pipeline" >&2
setup=$(count pipeline-setup small "$n")
ours=$(per "$(count pipeline small "$n")" "$setup")
echo
echo "Pipelined small response (the small head, a 100-byte body; \`Headers\`, \`Data\`, \`End\`): $ours instructions."
echo
echo "The head scan: \`SectionScan::scan\` inclusive, the status line, every field and the framing fields; the rest of \`dugong-proto\`'s count is the connection around it (the receive copy, the in-flight queue, two events per head, the head's shared buffer)."
