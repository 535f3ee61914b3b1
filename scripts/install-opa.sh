#!/usr/bin/env bash
# Installs the pinned OPA CLI into .tools/bin from the Go module proxy (idempotent).
set -euo pipefail
OPA_VERSION="${OPA_VERSION:-v1.22.2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
installed="$("$bin/opa" version 2>/dev/null || true)"
case "$installed" in
  *"Version: ${OPA_VERSION#v}"*) exit 0 ;;
esac
command -v go >/dev/null || { echo "install-opa: Go is required to install OPA (go install)" >&2; exit 1; }
mkdir -p "$bin"
echo "install-opa: go install github.com/open-policy-agent/opa@${OPA_VERSION}" >&2
GOBIN="$bin" CGO_ENABLED=0 go install "github.com/open-policy-agent/opa@${OPA_VERSION}"
version="$("$bin/opa" version)"
echo "${version%%$'\n'*}"
