#!/usr/bin/env bash
# Installs the official Python MCP SDK (PyPI `mcp`, pinned) into .tools/mcp-py for the cross-language proxy test (idempotent).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.tools/mcp-py"
version="1.30.0"
ready() { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$version')" 2>/dev/null; }
ready && exit 0
mkdir -p "$root/.tools"
exec 9>"$root/.tools/.mcp-py.lock"
flock 9
ready && exit 0
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "mcp==$version"
ready
