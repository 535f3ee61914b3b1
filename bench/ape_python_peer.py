"""Peer baseline: the Python APE 1.0.2 decide + issue + gate path, timed per call (driven by bench/runtime.ts)."""
import io
import json
import statistics
import sys
import time
import contextlib

from ape.action.action import Action
from ape.audit.logger import AuditLogger
from ape.authority.manager import AuthorityManager
from ape.config import EnforcementMode, RuntimeConfig
from ape.enforcement.gate import EnforcementGate
from ape.policy.engine import PolicyEngine
from ape.runtime.orchestrator import RuntimeOrchestrator
from ape.runtime.state import RuntimeState

BATCH = int(sys.argv[1]) if len(sys.argv) > 1 else 100
BATCHES = int(sys.argv[2]) if len(sys.argv) > 2 else 300

engine = PolicyEngine()
engine.load_from_dict({"name": "bench", "version": "1", "allowed_actions": ["read_file"], "forbidden_actions": ["delete_file"], "default_deny": True})
runtime = RuntimeOrchestrator()
for state in (RuntimeState.INTENT_SET, RuntimeState.PLAN_APPROVED, RuntimeState.EXECUTING):
    runtime.transition(state)
authority = AuthorityManager(runtime, token_ttl_seconds=60)
audit = AuditLogger(enabled=True, store_events=True)
gate = EnforcementGate(authority, RuntimeConfig(enforcement_mode=EnforcementMode.ENFORCE), audit)


def tool(path):
    return len(path)


params = {"path": "/srv/app/config.yaml"}


def full_call():
    decision = engine.evaluate("read_file", params)
    if not decision.is_allowed():
        raise RuntimeError("denied")
    action = Action(action_id="read_file", tool_id="read_file", parameters=params, intent_version="v1", plan_hash="p1", plan_step_index=0)
    token = authority.issue(intent_version="v1", plan_hash="p1", action=action)
    return gate.execute(token, tool, action=action, **params)


PREBUILT = Action(action_id="read_file", tool_id="read_file", parameters=params, intent_version="v1", plan_hash="p1", plan_step_index=0)


def reused_action_call():
    # The same path with the Action object built once: Action() runs a jsonschema validation per call.
    decision = engine.evaluate("read_file", params)
    if not decision.is_allowed():
        raise RuntimeError("denied")
    token = authority.issue(intent_version="v1", plan_hash="p1", action=PREBUILT)
    return gate.execute(token, tool, action=PREBUILT, **params)


def measure(fn, batches=BATCHES):
    for _ in range(BATCH * 10):
        fn()
    samples = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        for _ in range(BATCH):
            fn()
        samples.append((time.perf_counter_ns() - start) / BATCH / 1000)
        if hasattr(audit, "_events"):
            audit._events.clear()
    return statistics.median(samples)


# The audit logger prints to the console by default: keep its output out of the measurement's stdout.
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    full = measure(full_call, max(10, BATCHES // 20))
    reused = measure(reused_action_call)
    direct = measure(lambda: tool(**params))
print(json.dumps({"full_us": full, "reused_action_us": reused, "direct_us": direct, "batch": BATCH, "batches": BATCHES}))
