"""Developer check: compares an extraction of ours with a reference extraction (same cases, same calls).

Usage: python check-extraction.py <ours.jsonl> <reference.jsonl>
Not used by the benchmark or the tests (the reference lives outside the repository).
"""
import json
import sys


def key(c):
    return (c["suite"], c["kind"], c["user_task"], c.get("injection_task"))


def calls(c):
    if c["kind"] == "benign":
        return [(x["function"], json.dumps(x["args"], sort_keys=True)) for x in c["trace"]]
    return [(x["function"], json.dumps(x["args"], sort_keys=True)) for x in c["prefix"]] + [("|", "")] + [
        (x["function"], json.dumps(x["args"], sort_keys=True)) for x in c["malicious_calls"]]


def flags(c):
    trace = c["trace"] if c["kind"] == "benign" else c["prefix"]
    return [(sorted(x["output_contains_injection_vectors"]), sorted(x["args_found_in_prior_tool_outputs_not_in_prompt"])) for x in trace]


ours = {key(c): c for c in map(json.loads, open(sys.argv[1]))}
ref = {key(c): c for c in map(json.loads, open(sys.argv[2]))}
print("cases: ours", len(ours), "reference", len(ref), "only ours", len(ours.keys() - ref.keys()), "only reference", len(ref.keys() - ours.keys()))
diff_calls = [k for k in ours.keys() & ref.keys() if calls(ours[k]) != calls(ref[k])]
diff_flags = [k for k in ours.keys() & ref.keys() if flags(ours[k]) != flags(ref[k])]
diff_via = [k for k in ours.keys() & ref.keys() if ours[k]["kind"] == "attack" and sorted(ours[k]["injected_via"]) != sorted(ref[k]["injected_via"])]
print("different calls", len(diff_calls), "different scoring flags", len(diff_flags), "different injected_via", len(diff_via))
for k in (diff_calls + diff_flags + diff_via)[:8]:
    print(k)
    print("  ours", calls(ours[k])[:6], flags(ours[k])[:4], ours[k].get("injected_via"))
    print("  ref ", calls(ref[k])[:6], flags(ref[k])[:4], ref[k].get("injected_via"))
