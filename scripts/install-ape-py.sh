#!/usr/bin/env bash
# Installs the Python APE 1.0.2 from PyPI into .tools/ape-py (idempotent): the live peer of the
# compatibility tests (test/compat) and of the runtime benchmark.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.tools/ape-py"
marker="$venv/.installed-agent-policy-engine-1.0.2"
ready() { [ -f "$marker" ] && "$venv/bin/python" -c 'import ape.policy.engine' 2>/dev/null; }
ready && exit 0
command -v python3 >/dev/null || { echo "install-ape-py: python3 (3.10+, with venv) is required: apt-get install python3-venv" >&2; exit 1; }
mkdir -p "$root/.tools"
# Several checkouts may share .tools: one installer at a time.
if command -v flock >/dev/null; then exec 9>"$root/.tools/.ape-py.lock"; flock 9; ready && exit 0; fi
rm -rf "$venv"
python3 -m venv "$venv" || { echo "install-ape-py: python3 -m venv failed: apt-get install python3-venv" >&2; exit 1; }
echo "install-ape-py: pip install agent-policy-engine==1.0.2 into .tools/ape-py" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check agent-policy-engine==1.0.2
"$venv/bin/python" -c 'import ape.policy.engine'
touch "$marker"
