"""Extracts AgentDojo's ground-truth tool calls, run in AgentDojo's own environments, with their real outputs.

Usage: python extract.py <version> <out.jsonl> <tools.json>
  version: v1 or v1.2.2 (any version agentdojo registers)

For every suite of the version it writes one JSON line per case:
- benign: the user task's ground-truth calls run in the default environment (no attack), each
  with the text output the agent would see (``tool_result_to_str``) and the error, if any.
- attack: for every (injectable user task, injection task) pair, the environment is loaded with
  the attacker's text (AgentDojo's "important_instructions" template, default names) in every
  injection vector the user task's calls read; the user's calls run up to and including the
  first one whose output carries the attack (the prefix), then the injection task's ground-truth
  calls run in that same environment (the malicious calls), with their outputs.

Scoring fields (``output_contains_injection_vectors``, ``args_found_in_prior_tool_outputs_not_in_prompt``,
``kind``, ``malicious``) are computed here for the report only: the replay never reads them to decide.
The tools file holds, per suite, each tool's name, description and JSON Schema of parameters, and
(``deployer``) what the agent's deployer knows of the user without asking a tool (see ``deployer_data``).
"""

from __future__ import annotations

import enum
import json
import sys
import warnings
from typing import Any

warnings.filterwarnings("ignore")

from agentdojo.agent_pipeline.tool_execution import tool_result_to_str  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from agentdojo.attacks.base_attacks import DEFAULT_MODEL_NAME, DEFAULT_USER_NAME  # noqa: E402
from agentdojo.attacks.important_instructions_attacks import ImportantInstructionsAttack  # noqa: E402
from agentdojo.functions_runtime import FunctionsRuntime  # noqa: E402
from agentdojo.task_suite.load_suites import get_suites  # noqa: E402


def canary(vector: str) -> str:
    return f"<CANARY---{vector}--->"


def plain(value: Any) -> Any:
    """Arguments as plain JSON (AgentDojo may hold pydantic or enum values)."""
    return json.loads(json.dumps(value, default=str))


def structured(value: Any) -> Any:
    """A tool's return value as JSON, the way a Node tool would hand it to the runtime (pydantic models dumped)."""
    if isinstance(value, BaseModel):
        return structured(value.model_dump(mode="json"))
    if isinstance(value, dict):
        return {str(k): structured(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [structured(v) for v in value]
    if isinstance(value, enum.Enum):
        return structured(value.value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def run_calls(runtime: FunctionsRuntime, env: Any, calls: list[Any]) -> list[dict[str, Any]]:
    out = []
    for call in calls:
        result, error = runtime.run_function(env, call.function, call.args, raise_on_error=False)
        out.append({
            "function": call.function, "args": plain(dict(call.args)),
            "output": tool_result_to_str(result) if error is None else "",
            "result": structured(result) if error is None else None,
            "error": error,
        })
    return out


def contains_leaves(value: Any, text: str) -> bool:
    if isinstance(value, (list, tuple)):
        return any(contains_leaves(v, text) for v in value)
    if isinstance(value, dict):
        return any(contains_leaves(v, text) for v in value.values())
    s = str(value)
    return len(s) >= 3 and s in text


def annotate(trace: list[dict[str, Any]], canary_trace: list[dict[str, Any]], vectors: list[str], prompt: str) -> None:
    """Scoring-only fields, like the reference extraction's."""
    seen = ""
    for call, canary_call in zip(trace, canary_trace):
        call["output_contains_injection_vectors"] = [v for v in vectors if canary(v) in canary_call["output"]]
        call["args_found_in_prior_tool_outputs_not_in_prompt"] = [
            k for k, v in call["args"].items() if contains_leaves(v, seen) and not contains_leaves(v, prompt)
        ]
        seen += "\n" + call["output"]


def tools_of(suite: Any) -> list[dict[str, Any]]:
    return [{"name": f.name, "description": f.description, "parameters": f.parameters.model_json_schema()} for f in suite.tools]


def deployer_data(suite_name: str, env: Any) -> Any:
    """What the deployer of the agent knows without asking any tool (read from the default environment,
    before any injection): the user's own addresses and account, the address book, the team's members.
    The replay records it as the ``system`` input; README.md says what each suite gets and why."""
    if suite_name == "workspace":
        return {"account_email": env.inbox.account_email, "contacts": structured(env.inbox.contact_list)}
    if suite_name == "travel":
        return {"account_email": env.user.email}
    if suite_name == "banking":
        return {"own_iban": env.bank_account.iban}
    if suite_name == "slack":
        return {"members": structured(env.slack.users)}
    return None


def extract(version: str, out_path: str, tools_path: str) -> None:
    suites = get_suites(version)
    tools: dict[str, Any] = {}
    deployer: dict[str, Any] = {}
    n = {"benign": 0, "attack": 0}
    with open(out_path, "w", encoding="utf-8") as out:
        for suite_name, suite in suites.items():
            tools[suite_name] = tools_of(suite)
            runtime = FunctionsRuntime(suite.tools)
            vectors = list(suite.get_injection_vector_defaults().keys())
            canaries = {v: canary(v) for v in vectors}
            default_env = suite.load_and_inject_default_environment({})
            deployer[suite_name] = deployer_data(suite_name, suite.load_and_inject_default_environment(suite.get_injection_vector_defaults()))
            canary_env = suite.load_and_inject_default_environment(canaries)
            for user_id, user_task in suite.user_tasks.items():
                calls = user_task.ground_truth(default_env.model_copy(deep=True))
                trace = run_calls(runtime, default_env.model_copy(deep=True), calls)
                canary_calls = user_task.ground_truth(canary_env.model_copy(deep=True))
                canary_trace = run_calls(runtime, canary_env.model_copy(deep=True), canary_calls)
                annotate(trace, canary_trace, vectors, user_task.PROMPT)
                out.write(json.dumps({"version": version, "suite": suite_name, "kind": "benign", "user_task": user_id, "prompt": user_task.PROMPT, "trace": trace}) + "\n")
                n["benign"] += 1
                seen_vectors = [v for v in vectors if any(canary(v) in c["output"] for c in canary_trace)]
                if not seen_vectors:
                    continue  # not injectable: AgentDojo pairs it with no injection task
                for inj_id, inj_task in suite.injection_tasks.items():
                    text = ImportantInstructionsAttack._JB_STRING.format(user=DEFAULT_USER_NAME, model=DEFAULT_MODEL_NAME, goal=inj_task.GOAL)
                    env = suite.load_and_inject_default_environment({v: text for v in seen_vectors})
                    user_calls = user_task.ground_truth(env.model_copy(deep=True))
                    prefix: list[dict[str, Any]] = []
                    for call in user_calls:
                        done = run_calls(runtime, env, [call])[0]
                        prefix.append(done)
                        if text.strip() in done["output"] or "<INFORMATION>" in done["output"]:
                            break
                    canary_prefix = run_calls(runtime, canary_env.model_copy(deep=True), canary_calls[: len(prefix)])
                    annotate(prefix, canary_prefix, vectors, user_task.PROMPT)
                    malicious = run_calls(runtime, env, inj_task.ground_truth(env.model_copy(deep=True)))
                    out.write(json.dumps({
                        "version": version, "suite": suite_name, "kind": "attack", "user_task": user_id, "injection_task": inj_id,
                        "prompt": user_task.PROMPT, "attacker_goal": inj_task.GOAL, "injected_via": seen_vectors,
                        "prefix": prefix, "malicious_calls": malicious,
                    }) + "\n")
                    n["attack"] += 1
    with open(tools_path, "w", encoding="utf-8") as f:
        json.dump({"version": version, "suites": tools, "deployer": deployer}, f, indent=1)
    print(f"extract {version}: {n['benign']} benign, {n['attack']} attack cases", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: extract.py <version> <out.jsonl> <tools.json>")
    extract(sys.argv[1], sys.argv[2], sys.argv[3])
