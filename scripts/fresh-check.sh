#!/usr/bin/env bash
# Prove the README's two commands, and `make helm`, on a machine that has never run
# Loom: a clean clone of HEAD with shared/ beside it, its own stack state, and empty
# uv, pip, Go and Maven caches (a temporary HOME, so ~/.cache, ~/.m2, ~/go and
# ~/.local start empty; the package registries must be reachable). Debian packages
# the scripts install with apt stay installed: they are not a cache.
#
#   scripts/fresh-check.sh [PHASE ...]   phases: demo test helm (default: all three)
#
# The stack runs on the default ports when they are free, else 1000 above them, so a
# stack already running here is left alone. Prints each phase's time; keeps the
# scratch folder (logs under it) when a phase fails.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
phases=("$@")
[ ${#phases[@]} -gt 0 ] || phases=(demo test helm)
for phase in "${phases[@]}"; do
  case "$phase" in demo | test | helm) ;; *)
    echo "unknown phase '$phase' (demo, test or helm)" >&2
    exit 2
    ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/loom-fresh.XXXXXX")
chmod 755 "$scratch" # PostgreSQL runs as `postgres` and must reach its data
clone="$scratch/loom"
export HOME="$scratch/home"
mkdir -p "$HOME"
unset UV_CACHE_DIR GOCACHE GOMODCACHE GOPATH PIP_FIND_LINKS LOOM_HOME
# Java takes its home from the password database, not $HOME: point Maven there.
export MAVEN_OPTS="-Dmaven.repo.local=$HOME/.m2/repository${MAVEN_OPTS:+ $MAVEN_OPTS}"
# uv and Go are reached as on a new machine: uv via pip --user, Go from its install.
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/\.local/bin$' | paste -sd:)
export PATH

offset=0
for port in 19092 19093 15433 16379 18080 8000 3000; do
  port_free "$port" || offset=1000
done
export LOOM_KAFKA_BOOTSTRAP="127.0.0.1:$((19092 + offset))"
export LOOM_DATABASE_URL="postgresql://loom:loom@127.0.0.1:$((15433 + offset))/loom"
export LOOM_REDIS_URL="redis://127.0.0.1:$((16379 + offset))/0"
export LOOM_TRINO_URL="http://127.0.0.1:$((18080 + offset))"
demo_args="--detach --api-port $((8000 + offset)) --ui-port $((3000 + offset))"

say "cloning $(git -C "$repo" rev-parse --short HEAD) into $clone (HOME=$HOME)"
git clone --quiet --no-hardlinks "$repo" "$clone"
if [ -d "$repo/../shared" ]; then
  cp -r "$repo/../shared" "$scratch/shared"
fi
cd "$clone"

timings=()
stop_stack() { [ -x .venv/bin/loom ] && .venv/bin/loom stack down >/dev/null 2>&1 || true; }
trap stop_stack EXIT

run_phase() {
  local name=$1
  shift
  local log="$scratch/$name.log" start=$SECONDS
  say "$name: $* (log: $log)"
  if "$@" >"$log" 2>&1; then
    timings+=("$name $((SECONDS - start)) s")
    say "$name passed in $((SECONDS - start)) s"
  else
    tail -n 40 "$log" >&2
    say "$name FAILED after $((SECONDS - start)) s; scratch kept in $scratch"
    trap - EXIT
    stop_stack
    exit 1
  fi
}

for phase in "${phases[@]}"; do
  case "$phase" in
    # the demo stays up until Ctrl-C; detached, `loom stack down` stops it after
    demo) run_phase demo make demo DEMO_ARGS="$demo_args" && stop_stack ;;
    test) run_phase test make test ;;
    helm) run_phase helm make helm ;;
  esac
done

trap - EXIT
stop_stack
say "fresh machine check passed:"
printf '    %s\n' "${timings[@]}" >&2
rm -rf "$scratch"
