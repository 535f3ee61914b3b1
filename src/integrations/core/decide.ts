/** The decision of a tool call before it runs (no token, no approval asked), as frameworks need it. */
import type { Ape } from '../../agent/index.js';
import type { JsonObject } from '../../compiler/index.js';
import { ApeError } from '../../errors.js';

/** What a framework is told before the call: run it, refuse it with a reason, or ask a human. */
export type Verdict =
  | { kind: 'allow' }
  | { kind: 'deny'; rule: string | null; reason: string }
  | { kind: 'escalate'; rule: string | null; reason: string };

/**
 * Decides `action(params)` with `ape.check`. In `observe` and `disabled` mode every call is allowed
 * (the gate audits what it would have refused when the call runs). A call the engine cannot decide
 * (bad parameters, unknown action, engine failure) is denied with the error's message: fail closed.
 */
export async function precheck(ape: Ape, action: string, params: unknown, context?: JsonObject): Promise<Verdict> {
  if (ape.runtime.mode !== 'enforce') return { kind: 'allow' };
  let result;
  try {
    if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new TypeError('tool input must be an object');
    result = await ape.check(action, params, context === undefined ? {} : { context });
  } catch (error) {
    return { kind: 'deny', rule: null, reason: error instanceof ApeError || error instanceof Error ? error.message : String(error) };
  }
  if (result.decision === 'allow') return { kind: 'allow' };
  const by = result.rule ? `by rule '${result.rule}'` : 'by default';
  const why = result.reasons.filter((r) => !r.endsWith(by)).join('; ');
  const verb = result.decision === 'deny' ? 'is denied' : 'needs approval';
  return { kind: result.decision, rule: result.rule, reason: `action '${action}' ${verb} ${by}${why ? `: ${why}` : ''}` };
}
