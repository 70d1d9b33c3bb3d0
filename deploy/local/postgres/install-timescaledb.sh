#!/usr/bin/env bash
# Build and install the TimescaleDB extension (Apache-licensed part) for the
# machine's PostgreSQL 15. Debian bookworm ships no timescaledb package, so this
# builds Debian trixie's source package against bookworm's PostgreSQL 15, using a
# private apt configuration that leaves the system's sources untouched.
#
# Usage: install-timescaledb.sh <work-dir>     (needs root for apt and install)
set -euo pipefail

work=${1:?usage: install-timescaledb.sh <work-dir>}
pg_config=/usr/lib/postgresql/15/bin/pg_config

if [ -f "$($pg_config --pkglibdir)/timescaledb.so" ]; then
  echo "timescaledb already installed in $($pg_config --pkglibdir)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "building TimescaleDB needs root (apt-get and make install); run: sudo $0 $work" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# the sources unpack inside a checkout: keep their build from asking our git
export GIT_CEILING_DIRECTORIES="$work"
apt-get install -y -q postgresql-15 postgresql-server-dev-15 cmake build-essential dpkg-dev >/dev/null

# The same Debian mirror as the system's sources, suite trixie, sources only.
mirror=$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
  | awk '{print $2}' | grep -v security | head -n 1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
apt_dir="$work/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$work/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
  >"$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
apt-get "${apt_opts[@]}" -q update >/dev/null

cd "$work/src"
if ! ls -d timescaledb-*/ >/dev/null 2>&1; then
  apt-get "${apt_opts[@]}" -q source timescaledb >/dev/null
fi
src=$(ls -d timescaledb-*/ | head -n 1)
cmake -S "$src" -B build -DPG_CONFIG="$pg_config" -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF \
  -DTAP_CHECKS=OFF -DSEND_TELEMETRY_DEFAULT=OFF -DUSE_TELEMETRY=OFF \
  -DWARNINGS_AS_ERRORS=OFF >/dev/null
make -C build -j"$(nproc)" >/dev/null
make -C build install >/dev/null
echo "timescaledb installed in $($pg_config --pkglibdir)"
