#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine, then run every test.
# Used verbatim by the README and by .ci/run. Browser tests need Debian's chromium, the
# saved runs' tests a PostgreSQL server (Debian's postgresql, started by the tests on
# 127.0.0.1), the sandbox tests bubblewrap: scripts/setup.sh installs them with apt-get
# (as root; with sudo otherwise), then requirements-dev.txt. ruff runs first: lint and format
# are part of the suite; the diagnosis benchmark's quick form prints its table (the
# floors it must hold are tests: tests/test_diagnosis_targets.py).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh requirements-dev.txt chromium postgresql

python -m ruff check .
python -m ruff format --check .
python benchmarks/diagnosis_corpus.py --quick  # the diagnosis's table on real-style code
python -m pytest "$@"
