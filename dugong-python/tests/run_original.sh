#!/usr/bin/env bash
# Run python-dugong 3.8.2's own test suite against the `dugong` module that is
# installed in a virtual environment (normally this project's build of it).
#
# Usage: PYTHON=/path/to/venv/bin/python tests/run_original.sh [pytest args...]
#
#   PYTHON                    interpreter of the environment to test, with
#                             pytest installed (default: python3)
#   DUGONG_ORIGINAL_MIN_PASS  fewest passed tests accepted (default: 106)
#
# The original source distribution is downloaded from PyPI into a temporary
# directory, which is removed again at exit; its own copy of the module is
# deleted before the run, so that only the installed module is tested.
# pytest-timeout is used for a 60 s per-test limit when it is installed.
set -euo pipefail

PYTHON=${PYTHON:-python3}
MIN_PASS=${DUGONG_ORIGINAL_MIN_PASS:-106}
VERSION=3.8.2
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

die() {
    echo "run_original.sh: $*" >&2
    exit 2
}

command -v "$PYTHON" >/dev/null 2>&1 || die "no Python interpreter '$PYTHON'"
# An absolute path, as the script changes directories.
PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)')
[[ $MIN_PASS =~ ^[0-9]+$ ]] || die "DUGONG_ORIGINAL_MIN_PASS is not a number: '$MIN_PASS'"
"$PYTHON" -m pip --version >/dev/null 2>&1 \
    || die "pip is not available for $PYTHON"
"$PYTHON" -c 'import pytest' 2>/dev/null \
    || die "pytest is not installed for $PYTHON (try: $PYTHON -m pip install pytest)"

# The module under test must be importable from outside the source tree.
(cd / && "$PYTHON" -c 'import dugong') \
    || die "'import dugong' fails with $PYTHON: install the module first"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dugong-original.XXXXXX")
cleanup() { rm -rf -- "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "Downloading dugong==$VERSION (source distribution)..."
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps \
    --no-binary :all: "dugong==$VERSION" -d "$TMP/dist"

shopt -s nullglob
archives=("$TMP"/dist/*)
shopt -u nullglob
[[ ${#archives[@]} -eq 1 ]] || die "expected one downloaded archive, got ${#archives[@]}"

# Unpack with Python (handles .tar.gz and .zip alike, needs no tar or unzip);
# with the safe "data" filter where this Python has it.
"$PYTHON" - "${archives[0]}" "$TMP/src" <<'EOF'
import shutil, sys
try:
    shutil.unpack_archive(sys.argv[1], sys.argv[2], filter='data')
except TypeError:
    shutil.unpack_archive(sys.argv[1], sys.argv[2])
EOF
SRC="$TMP/src/dugong-$VERSION"
[[ -d $SRC/test ]] || die "unexpected archive layout: no $SRC/test"

# Make sure the unpacked original module cannot shadow the installed one
# (`python -m pytest` puts the working directory on sys.path).
rm -rf -- "$SRC/dugong" "$SRC"/*.egg-info

timeout_args=()
if "$PYTHON" -c 'import pytest_timeout' 2>/dev/null; then
    timeout_args=(--timeout=60)
fi

cd -- "$SRC"
set +e
PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" \
    "$PYTHON" -m pytest test/ --installed -p conftest_original -q -rA \
    -p no:cacheprovider ${timeout_args[@]+"${timeout_args[@]}"} "$@" 2>&1 | tee "$TMP/pytest.log"
status=${PIPESTATUS[0]}
set -e

# Count strictly from the -rA report: a test passes when its call PASSED and
# none of its phases FAILED or ERRORed (a teardown error, such as the suite's
# check for suspicious stderr output, makes it not pass here although pytest's
# summary counts it as passed).
passed=$(awk '
    $1 == "PASSED" { pass[$2] = 1 }
    $1 == "FAILED" || $1 == "ERROR" { bad[$2] = 1 }
    END { n = 0; for (t in pass) if (!(t in bad)) n++; print n }
' "$TMP/pytest.log")
summary=$(grep -E '([0-9]+ [a-z]+|no tests ran) in [0-9.]+s' "$TMP/pytest.log" | tail -n 1 || true)
echo "pytest: ${summary:-no summary}"
echo "tests that did not pass:"
grep -E '^(FAILED|ERROR) ' "$TMP/pytest.log" | sed 's/^/    /' || echo "    (none)"

echo "original dugong $VERSION suite: $passed passed (at least $MIN_PASS required; pytest exit status $status)"
if ((passed < MIN_PASS)); then
    echo "run_original.sh: too few tests passed" >&2
    exit 1
fi
