/**
 * `ape diff --semantic`: for each action, whether two policies decide identically for every request,
 * and if not a request (confirmed by both native evaluators) they decide differently.
 */
import type { CompiledPolicy } from '../compiler/compile.js';
import type { Decision } from '../compiler/ir.js';
import { NativeEvaluator } from '../evaluator.js';
import { constantFacts, OpaqueRegistry, PolicyEncoding } from './encode.js';
import { actionsOf } from './export-smt.js';
import { factSpecs } from './facts.js';
import { modelDecision, Query } from './query.js';
import type { RequestLine } from './realize.js';
import { and, app, atom, not, or, type Smt } from './smtlib.js';
import { DEFAULT_TIMEOUT_MS } from './solver.js';
import { proofBlocker } from './verify.js';

/** One action the policies decide differently, with a request that shows it. */
export interface SemanticDifference {
  action: string;
  request: RequestLine;
  a: Decision;
  b: Decision;
}

/** The result of a semantic diff, as `ape diff --semantic --json` prints it (`widenings` only with narrowing-only). */
export interface SemanticDiff {
  equivalent: boolean;
  differences: SemanticDifference[];
  /** Actions whose equivalence could not be decided, and why. */
  unknown: { action: string; reason: string }[];
  /** With `narrowingOnly`: requests the new policy lets through (more permissively) than the old one did. */
  widenings?: SemanticDifference[];
}

/** Options of a semantic diff. */
export interface SemanticDiffOptions {
  timeoutMs?: number;
  /** Also search, per action, for a request the new policy (b) treats more permissively than the old (a). */
  narrowingOnly?: boolean;
}

const PERMISSIVENESS: Record<Decision, number> = { deny: 0, escalate: 1, allow: 2 };

/** Whether `b` is more permissive than `a` (deny < escalate < allow). */
function widens(a: Smt, b: Smt): Smt {
  return or(and(app('=', b, atom('allow')), not(app('=', a, atom('allow')))), and(app('=', b, atom('escalate')), app('=', a, atom('deny'))));
}

/** An action id neither policy mentions (every such action is decided alike, by defaults). */
function unlistedAction(taken: Set<string>): string {
  let name = 'unlisted_action';
  for (let i = 2; taken.has(name); i++) name = `unlisted_action_${i}`;
  return name;
}

async function compareAction(
  a: CompiledPolicy,
  b: CompiledPolicy,
  evalA: NativeEvaluator,
  evalB: NativeEvaluator,
  action: string,
  timeoutMs: number,
  mode: 'differ' | 'widen',
): Promise<{ status: 'same' } | { status: 'unknown'; reason: string } | { status: 'different'; difference: SemanticDifference }> {
  const opaque = new OpaqueRegistry();
  const query = new Query(a.ir, action, opaque);
  const encA = new PolicyEncoding(a.ir, opaque, query.member);
  const encB = new PolicyEncoding(b.ir, opaque, query.member);
  query.addFacts(factSpecs(a.ir, action));
  query.addFacts(factSpecs(b.ir, action), b.ir);
  if (query.conflict) return { status: 'unknown', reason: query.conflict };
  const da = query.decision('a', encA.decision(action, constantFacts));
  const db = query.decision('b', encB.decision(action, constantFacts));
  query.assert(mode === 'differ' ? not(app('=', da, db)) : widens(da, db));
  let decided: [Decision, Decision] | undefined;
  const result = await query.search(timeoutMs, (request, model) => {
    let x: Decision;
    let y: Decision;
    try {
      x = evalA.decideSync(request).decision;
      y = evalB.decideSync(request).decision;
    } catch (error) {
      return `the request is invalid: ${(error as Error).message}`;
    }
    if (x !== modelDecision(model, 'a') || y !== modelDecision(model, 'b')) return `the solver expected ${modelDecision(model, 'a') ?? '?'}/${modelDecision(model, 'b') ?? '?'}, the evaluators decided ${x}/${y}`;
    decided = [x, y];
    return undefined;
  });
  if (result.status === 'sat') {
    const [x, y] = decided as [Decision, Decision];
    return { status: 'different', difference: { action, request: result.request, a: x, b: y } };
  }
  if (result.status === 'unknown') return result;
  const blocker = proofBlocker(a.ir) ?? proofBlocker(b.ir);
  return blocker ? { status: 'unknown', reason: blocker } : { status: 'same' };
}

/** Compares two policies action by action. */
export async function semanticDiff(a: CompiledPolicy, b: CompiledPolicy, options: SemanticDiffOptions = {}): Promise<SemanticDiff> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const listed = new Set([...actionsOf(a.ir), ...actionsOf(b.ir)]);
  const actions = [...listed, unlistedAction(listed)];
  const result: SemanticDiff = { equivalent: true, differences: [], unknown: [] };
  if (options.narrowingOnly) result.widenings = [];
  const evalA = new NativeEvaluator(a);
  const evalB = new NativeEvaluator(b);
  for (const action of actions) {
    const outcome = await compareAction(a, b, evalA, evalB, action, timeoutMs, 'differ');
    if (outcome.status === 'different') result.differences.push(outcome.difference);
    else if (outcome.status === 'unknown') result.unknown.push({ action, reason: outcome.reason });
    if (options.narrowingOnly && outcome.status !== 'same') {
      const d = outcome.status === 'different' ? outcome.difference : undefined;
      if (d && PERMISSIVENESS[d.b] > PERMISSIVENESS[d.a]) result.widenings?.push(d);
      else {
        const widening = await compareAction(a, b, evalA, evalB, action, timeoutMs, 'widen');
        if (widening.status === 'different') result.widenings?.push(widening.difference);
        else if (widening.status === 'unknown' && outcome.status !== 'unknown') result.unknown.push({ action, reason: widening.reason });
      }
    }
  }
  result.equivalent = result.differences.length === 0 && result.unknown.length === 0;
  return result;
}
