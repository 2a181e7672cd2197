#!/usr/bin/env bash
# Install what GradScope needs on a fresh Debian machine: the sandbox for pasted code
# (bubblewrap, libseccomp2), any extra Debian packages named as arguments, and the
# Python packages of REQUIREMENTS (default requirements.txt).
# Usage: bash scripts/setup.sh [REQUIREMENTS] [DEBIAN_PACKAGE...]
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="${1:-requirements.txt}"
shift || true

missing=()
command -v bwrap > /dev/null || missing+=(bubblewrap)
ldconfig -p 2> /dev/null | grep -q libseccomp.so.2 || missing+=(libseccomp2)
for package in "$@"; do
  dpkg -s "$package" > /dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get > /dev/null; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" > /dev/null
  else
    echo "setup: please install ${missing[*]} (pasted code runs sandboxed only with bubblewrap)" >&2
  fi
fi

python -m pip install --quiet --disable-pip-version-check -r "$requirements"
