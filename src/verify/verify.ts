/** Proving properties of one policy: each is proved, refuted with a confirmed counterexample, or unknown. */
import type { CompiledPolicy } from '../compiler/compile.js';
import { RequestPreparer, type FactSpec } from '../compiler/engine-input.js';
import type { Decision, PolicyIR } from '../compiler/ir.js';
import { NativeEngine } from '../adapters/native/index.js';
import { NativeEvaluator } from '../evaluator.js';
import { constantFacts, OpaqueRegistry, PolicyEncoding } from './encode.js';
import { factSpecs } from './facts.js';
import { ALWAYS_RULE, compileConditions, WHERE_RULE, type Property } from './properties.js';
import { modelDecision, Query } from './query.js';
import type { RequestLine } from './realize.js';
import { app, atom, not, or } from './smtlib.js';
import { DEFAULT_TIMEOUT_MS } from './solver.js';

/** The result of one property, as `ape verify --json` prints it. */
export interface PropertyResult {
  property: string;
  status: 'proved' | 'refuted' | 'unknown';
  /** When refuted: a request the policy decides against the property (`ape eval --requests` form). */
  counterexample?: RequestLine;
  /** When refuted: the decision the policy (and `ape eval`) gives the counterexample. */
  decision?: Decision;
  /** When unknown: why. */
  reason?: string;
  /** Time spent on the property, in milliseconds. */
  ms: number;
}

/** Options of a verification run. */
export interface VerifyOptions {
  /** Time limit of each solver query, in milliseconds. */
  timeoutMs?: number;
}

type ActionOutcome = { status: 'proved' } | { status: 'unknown'; reason: string } | { status: 'refuted'; request: RequestLine; decision: Decision };

/** Why proofs about a policy can't be trusted, if they can't. */
export function proofBlocker(ir: PolicyIR): string | undefined {
  const bad = new PolicyEncoding(ir).unrepresentableTransitions();
  return bad.length > 0 ? `tool_transitions keys beyond the solver's alphabet: ${bad.join(', ')}` : undefined;
}

async function checkAction(policy: CompiledPolicy, evaluator: NativeEvaluator, property: Property, action: string, timeoutMs: number): Promise<ActionOutcome> {
  const ir = policy.ir;
  const maps = [];
  if (property.where) maps.push({ id: WHERE_RULE, conditions: property.where });
  if (property.always) maps.push({ id: ALWAYS_RULE, conditions: property.always });
  const extra = compileConditions(ir, action, maps);
  // Only this action's rules: the facts of the action are planned from them alone.
  const synthetic: PolicyIR = { ...ir, rules: [...ir.rules.filter((r) => r.actions.includes(action)), ...extra] };
  const opaque = new OpaqueRegistry();
  const query = new Query(ir, action, opaque);
  const encoding = new PolicyEncoding(ir, opaque, query.member);
  const extraEncoding = new PolicyEncoding(synthetic, opaque, query.member);
  query.addFacts(factSpecs(synthetic, action) satisfies FactSpec[]);
  if (query.conflict) return { status: 'unknown', reason: query.conflict };
  const decision = query.decision('policy', encoding.decision(action, constantFacts));
  query.assert(or(...property.decisions.map((d) => app('=', decision, atom(d)))));
  const where = extra.find((r) => r.id === WHERE_RULE);
  const always = extra.find((r) => r.id === ALWAYS_RULE);
  if (where) query.assert(extraEncoding.ruleMatch(where, constantFacts));
  if (always) query.assert(not(extraEncoding.ruleMatch(always, constantFacts)));

  const syntheticEngine = new NativeEngine(synthetic, 'verify');
  const syntheticPreparer = new RequestPreparer(synthetic);
  let decided: Decision | undefined;
  const result = await query.search(timeoutMs, (request, model) => {
    let actual: Decision;
    let matched: string[];
    try {
      actual = evaluator.decideSync(request).decision;
      matched = syntheticEngine.decideSync(syntheticPreparer.prepare(request)).matched;
    } catch (error) {
      return `the request is invalid: ${(error as Error).message}`;
    }
    const expected = modelDecision(model, 'policy');
    if (actual !== expected) return `the solver expected ${expected ?? '?'}, the evaluator decided ${actual}`;
    if (!property.decisions.includes(actual)) return `decided ${actual}`;
    if (where && !matched.includes(WHERE_RULE)) return 'the request does not match where';
    if (always && matched.includes(ALWAYS_RULE)) return 'the request satisfies the property';
    decided = actual;
    return undefined;
  });
  if (result.status === 'sat') return { status: 'refuted', request: result.request, decision: decided as Decision };
  if (result.status === 'unknown') return result;
  const blocker = proofBlocker(ir);
  return blocker ? { status: 'unknown', reason: blocker } : { status: 'proved' };
}

/** Proves or refutes one property. Throws `PropertyError` when its conditions don't compile. */
export async function verifyProperty(policy: CompiledPolicy, property: Property, options: VerifyOptions = {}): Promise<PropertyResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const reasons: string[] = [];
  const evaluator = new NativeEvaluator(policy);
  for (const action of property.actions) {
    const outcome = await checkAction(policy, evaluator, property, action, timeoutMs);
    if (outcome.status === 'refuted') {
      return { property: property.name, status: 'refuted', counterexample: outcome.request, decision: outcome.decision, ms: performance.now() - started };
    }
    if (outcome.status === 'unknown') reasons.push(`${action}: ${outcome.reason}`);
  }
  const ms = performance.now() - started;
  return reasons.length > 0 ? { property: property.name, status: 'unknown', reason: reasons.join('; '), ms } : { property: property.name, status: 'proved', ms };
}

/** Proves or refutes several properties, in order. */
export async function verifyProperties(policy: CompiledPolicy, properties: readonly Property[], options: VerifyOptions = {}): Promise<PropertyResult[]> {
  const out: PropertyResult[] = [];
  for (const p of properties) out.push(await verifyProperty(policy, p, options));
  return out;
}
