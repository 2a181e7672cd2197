#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine, then run every test.
# Used verbatim by the README and by .ci/run. Browser tests need Debian's chromium,
# installed here with apt-get (as root; with sudo otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium > /dev/null
fi

python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

python -m pytest "$@"
