"""Decides requests with the real Python APE 1.0.2 policy engine (driven by test/compat): JSON in on stdin, JSON out."""
import json
import sys

from ape.errors import PolicyError
from ape.policy.engine import PolicyEngine


def decide(engine, request):
    """The peer's decision: a refused tool transition denies, then PolicyEngine.evaluate decides."""
    previous = request.get("previous_action")
    if previous is not None and not engine.validate_tool_transition(previous, request["action"]):
        return "DENY"
    return engine.evaluate(request["action"], request.get("params", {}), request.get("context")).decision.value


def run(case):
    engine = PolicyEngine()
    try:
        if "file" in case:
            engine.load(case["file"])
        else:
            engine.load_from_dict(case["policy"])
    except PolicyError as error:
        return {"load_error": str(error)}
    return {"decisions": [decide(engine, r) for r in case["requests"]]}


cases = json.load(sys.stdin)
json.dump([run(case) for case in cases], sys.stdout)
