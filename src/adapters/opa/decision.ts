/** Maps an OPA `decision` document back to a DecisionResult, failing closed on anything else. */
import type { Decision, DecisionResult } from '../../compiler/ir.js';
import { EngineError } from '../../errors.js';

/** The policy's `decision` document is undefined for the input: the engine cannot decide. */
export class OpaUndefinedDecisionError extends EngineError {
  constructor(engine: string, path: string) {
    super(engine, `the decision ${path} is undefined for this input`);
  }
}

/** OPA answered with something that is not an APE decision (or for another policy). */
export class OpaInvalidDecisionError extends EngineError {
  constructor(engine: string, detail: string) {
    super(engine, `OPA returned an invalid decision: ${detail}`);
  }
}

const DECISIONS = new Set<Decision>(['allow', 'deny', 'escalate']);

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Checks an OPA result and returns it as a DecisionResult of `engine`; throws `OpaInvalidDecisionError` otherwise. */
export function toDecisionResult(engine: string, value: unknown, policyHash: string): DecisionResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new OpaInvalidDecisionError(engine, 'not an object');
  const v = value as Record<string, unknown>;
  const { decision, rule, matched, reasons, policy_hash } = v;
  if (typeof decision !== 'string' || !DECISIONS.has(decision as Decision)) throw new OpaInvalidDecisionError(engine, `decision ${JSON.stringify(decision)}`);
  if (rule !== null && typeof rule !== 'string') throw new OpaInvalidDecisionError(engine, 'rule is not a string or null');
  if (!isStringArray(matched) || !isStringArray(reasons)) throw new OpaInvalidDecisionError(engine, 'matched or reasons is not a list of strings');
  if (policy_hash !== policyHash) throw new OpaInvalidDecisionError(engine, `policy hash ${JSON.stringify(policy_hash)} is not ${policyHash}`);
  return { decision: decision as Decision, rule, matched, reasons, policy_hash: policyHash, engine };
}
