/** Test helpers: compile inline policies and decide requests natively. */
import { compilePolicySource, checkPolicySource, type CompiledPolicy } from '../src/compiler/compile.js';
import type { DecisionRequest } from '../src/compiler/engine-input.js';
import type { DecisionResult } from '../src/compiler/ir.js';
import { NativeEvaluator } from '../src/evaluator.js';

/** Compiles inline YAML (throws on errors). */
export function compile(text: string, file = 'test.yaml'): CompiledPolicy {
  return compilePolicySource(text, file);
}

/** Diagnostics of inline YAML. */
export function diagnosticsOf(text: string, file = 'test.yaml') {
  return checkPolicySource(text, file).diagnostics;
}

/** Decides one request against inline YAML with the native evaluator. */
export function decide(text: string, request: DecisionRequest): DecisionResult {
  return new NativeEvaluator(compile(text)).decideSync(request);
}

/** A one-rule policy on a custom action `act` whose parameter `v` has the given schema. */
export function oneRule(decision: 'allow' | 'deny' | 'escalate', conditions: string, schema = '{}', defaultDecision = 'deny'): string {
  return `name: t
default_decision: ${defaultDecision}
actions:
  - id: act
    parameters: { type: object, properties: { v: ${schema} } }
rules:
  - id: r
    action: act
    decision: ${decision}
    conditions:
      v: ${conditions}
`;
}
