#!/usr/bin/env bash
# Builds the pinned Regal (Rego linter) into .tools/bin from its module source, hash-checked (idempotent).
set -euo pipefail
REGAL_VERSION="v0.33.1"
# The module's h1 hash ("Sum" of `go mod download -json`). sum.golang.org has no entry for this module,
# so the checksum database is switched off for it alone and this pinned hash is checked here instead.
REGAL_SUM="h1:VXlF29xpoXzxAj6JWUD+gtQleNN9cPh6rqKz1vpYqo0="
MODULE="github.com/styrainc/regal"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
marker="$bin/.regal-version"
if [ -x "$bin/regal" ]; then
  installed="$("$bin/regal" version 2>/dev/null || true)"
  case "$installed" in
    *"Version:"*"${REGAL_VERSION}"*) exit 0 ;;
  esac
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "${REGAL_VERSION} ${REGAL_SUM}" ]; then exit 0; fi
fi
command -v go >/dev/null || { echo "install-regal: Go is required to build Regal" >&2; exit 1; }
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/dl" "$bin"
echo "install-regal: go mod download ${MODULE}@${REGAL_VERSION}" >&2
info="$(cd "$work/dl" && GOSUMDB=off GONOSUMDB="$MODULE" go mod download -json "${MODULE}@${REGAL_VERSION}")"
field() { printf '%s\n' "$info" | sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" | head -n 1; }
sum="$(field Sum)"
dir="$(field Dir)"
if [ "$sum" != "$REGAL_SUM" ]; then
  echo "install-regal: ${MODULE}@${REGAL_VERSION} has hash '${sum}', expected ${REGAL_SUM}; refusing to build it" >&2
  exit 1
fi
[ -n "$dir" ] && [ -f "$dir/go.mod" ] || { echo "install-regal: downloaded module directory not found" >&2; exit 1; }
cp -R "$dir" "$work/src"
chmod -R u+w "$work/src"
echo "install-regal: go build (Regal ${REGAL_VERSION})" >&2
(cd "$work/src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build \
  -ldflags "-X ${MODULE}/pkg/version.Version=${REGAL_VERSION}" -o "$bin/regal.tmp" .)
mv "$bin/regal.tmp" "$bin/regal"
printf '%s\n' "${REGAL_VERSION} ${REGAL_SUM}" > "$marker"
"$bin/regal" version | head -n 1
