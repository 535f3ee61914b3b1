#!/usr/bin/env bash
# Installs the Python APE 1.0.2 (the benchmark's peer baseline) into .tools/ape-py (idempotent).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.tools/ape-py"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import ape' 2>/dev/null; then exit 0; fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet agent-policy-engine==1.0.2
