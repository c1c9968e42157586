#!/usr/bin/env bash
# Runs both test suites of the Python module against the `dugong` installed
# in the virtual environment of $PYTHON: this module's own pytest suite
# (tests/), then python-dugong 3.8.2's suite, fetched from the package index
# (tests/run_original.sh). Extra arguments go to both pytest runs.
#
#   PYTHON=/path/to/venv/bin/python dugong-python/tests/run.sh
set -euo pipefail
PYTHON=${PYTHON:-python3}
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

echo "==> dugong-python's own suite"
# From a directory without a `dugong` package, so that the installed module
# is the one imported.
(cd -- "$HERE" && "$PYTHON" -m pytest . -q -p no:cacheprovider --timeout=120 "$@")

echo "==> python-dugong 3.8.2's own suite against this module"
PYTHON="$PYTHON" "$HERE/run_original.sh" "$@"
