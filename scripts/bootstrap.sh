#!/usr/bin/env bash
# Make a fresh machine ready for `make demo` and `make test`: uv, the locked virtual
# environment, and the few Debian packages the tests use. Idempotent and quiet when
# everything is already there. (The stack's servers are installed by `loom stack up`.)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Loom needs Python >= 3.11 as '$python' (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

if ! command -v uv >/dev/null 2>&1; then
  say "installing uv from PyPI"
  "$python" -m pip install --quiet --user uv 2>/dev/null || "$python" -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi

# Debian packages the test suite and the demo use (speech synthesis for test audio).
apt_packages=(espeak-ng sox)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
  else
    echo "missing Debian packages; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

say "syncing the virtual environment (.venv) from uv.lock"
uv sync --frozen --quiet --python "$python"
