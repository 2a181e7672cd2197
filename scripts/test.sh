#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine, then run every test.
# Used verbatim by the README and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

python -m pytest "$@"
