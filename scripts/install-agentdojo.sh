#!/usr/bin/env bash
# Installs AgentDojo 0.1.35 from PyPI into .tools/agentdojo (idempotent) and extracts its ground-truth
# cases, run in AgentDojo's own environments with their real outputs, into .cache/agentdojo/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.tools/agentdojo"
cache="$root/.cache/agentdojo"
if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import agentdojo' 2>/dev/null; }; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet agentdojo==0.1.35
fi
mkdir -p "$cache"
for version in v1 v1.2.2; do
  if [ ! -s "$cache/cases-$version.jsonl" ] || [ "$root/bench/agentdojo/extract.py" -nt "$cache/cases-$version.jsonl" ]; then
    "$venv/bin/python" "$root/bench/agentdojo/extract.py" "$version" "$cache/cases-$version.jsonl.tmp" "$cache/tools-$version.json"
    mv "$cache/cases-$version.jsonl.tmp" "$cache/cases-$version.jsonl"
  fi
done
