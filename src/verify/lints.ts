/**
 * Lints that need a solver: a rule that never matches, a rule that never decides (fully shadowed),
 * two allow rules that overlap, an allow rule whose conditions restrict nothing the schema allows.
 */
import type { CompiledPolicy } from '../compiler/compile.js';
import type { RuleIR } from '../compiler/ir.js';
import { NativeEvaluator } from '../evaluator.js';
import { constantFacts, OpaqueRegistry, PolicyEncoding, RANK } from './encode.js';
import { factSpecs } from './facts.js';
import { Query } from './query.js';
import type { RequestLine } from './realize.js';
import { not, type Smt } from './smtlib.js';
import { DEFAULT_TIMEOUT_MS } from './solver.js';

/** Lint codes. */
export type SolverLintCode = 'rule-never-matches' | 'rule-shadowed' | 'allow-rules-overlap' | 'allow-rule-unrestricted';

/** One finding (or, with status unknown, a check that could not be decided). */
export interface SolverLint {
  lint: SolverLintCode;
  status: 'found' | 'unknown';
  rule: string;
  /** The other rule (overlap) or the rules that shadow this one. */
  rules?: string[];
  message: string;
  /** A request showing the finding (overlaps), confirmed by the native evaluator. */
  example?: RequestLine;
}

type Answer = 'sat' | 'unsat' | { unknown: string };

async function ask(policy: CompiledPolicy, action: string, build: (enc: PolicyEncoding) => Smt, timeoutMs: number): Promise<Answer> {
  const opaque = new OpaqueRegistry();
  const query = new Query(policy.ir, action, opaque);
  const enc = new PolicyEncoding(policy.ir, opaque, query.member);
  query.addFacts(factSpecs(policy.ir, action));
  query.assert(build(enc));
  const r = await query.solve([], timeoutMs);
  return r.status === 'unknown' ? { unknown: r.reason } : r.status;
}

/** Runs the solver lints on a policy. */
export async function solverLints(policy: CompiledPolicy, options: { timeoutMs?: number } = {}): Promise<SolverLint[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { ir } = policy;
  const out: SolverLint[] = [];
  const unknown = (lint: SolverLintCode, rule: RuleIR, why: string) => out.push({ lint, status: 'unknown', rule: rule.id, message: `could not decide: ${why}` });
  const matchable = new Map<string, Set<string>>();

  for (const rule of ir.rules) {
    if (rule.conditions.length === 0) {
      matchable.set(rule.id, new Set(rule.actions));
      continue;
    }
    const actions = new Set<string>();
    let undecided: string | undefined;
    for (const action of rule.actions) {
      const answer = await ask(policy, action, (enc) => enc.ruleMatch(rule, constantFacts), timeoutMs);
      if (answer === 'sat') actions.add(action);
      else if (answer !== 'unsat') undecided = answer.unknown;
    }
    matchable.set(rule.id, actions);
    if (actions.size === 0 && undecided) unknown('rule-never-matches', rule, undecided);
    else if (actions.size === 0) out.push({ lint: 'rule-never-matches', status: 'found', rule: rule.id, message: `rule '${rule.id}' never matches: no request satisfies all its conditions` });
  }

  for (const rule of ir.rules) {
    const actions = [...(matchable.get(rule.id) ?? [])];
    if (actions.length === 0) continue;
    let decides = false;
    let undecided: string | undefined;
    for (const action of actions) {
      const answer = await ask(policy, action, (enc) => enc.ruleDecides(rule, action, constantFacts), timeoutMs);
      if (answer === 'sat') {
        decides = true;
        break;
      }
      if (answer !== 'unsat') undecided = answer.unknown;
    }
    if (decides) continue;
    if (undecided) {
      unknown('rule-shadowed', rule, undecided);
      continue;
    }
    const index = ir.rules.indexOf(rule);
    const above = ir.rules.filter((r, i) => r !== rule && r.actions.some((a) => actions.includes(a)) && (RANK[r.decision] > RANK[rule.decision] || (r.decision === rule.decision && i < index)));
    out.push({
      lint: 'rule-shadowed',
      status: 'found',
      rule: rule.id,
      rules: above.map((r) => r.id),
      message: `rule '${rule.id}' never decides: whenever it matches, ${above.map((r) => `'${r.id}'`).join(' or ')} (higher precedence or earlier) matches too`,
    });
  }

  const allows = ir.rules.filter((r) => r.decision === 'allow');
  const evaluator = new NativeEvaluator(policy);
  for (let i = 0; i < allows.length; i++) {
    for (let j = i + 1; j < allows.length; j++) {
      const r = allows[i] as RuleIR;
      const s = allows[j] as RuleIR;
      for (const action of r.actions.filter((a) => s.actions.includes(a))) {
        const opaque = new OpaqueRegistry();
        const query = new Query(ir, action, opaque);
        const enc = new PolicyEncoding(ir, opaque, query.member);
        query.addFacts(factSpecs(ir, action));
        query.assert(enc.ruleMatch(r, constantFacts));
        query.assert(enc.ruleMatch(s, constantFacts));
        const found = await query.search(timeoutMs, (request) => {
          try {
            const matched = evaluator.decideSync(request).matched;
            return matched.includes(r.id) && matched.includes(s.id) ? undefined : 'the evaluator does not match both rules';
          } catch (error) {
            return (error as Error).message;
          }
        });
        if (found.status === 'sat') {
          out.push({ lint: 'allow-rules-overlap', status: 'found', rule: r.id, rules: [s.id], message: `allow rules '${r.id}' and '${s.id}' both match some '${action}' requests`, example: found.request });
          break;
        }
        if (found.status === 'unknown') out.push({ lint: 'allow-rules-overlap', status: 'unknown', rule: r.id, rules: [s.id], message: `could not decide: ${found.reason}` });
      }
    }
  }

  for (const rule of allows) {
    if (rule.conditions.length === 0) continue;
    let restricts = false;
    let undecided: string | undefined;
    for (const action of rule.actions) {
      const answer = await ask(policy, action, (enc) => not(enc.ruleMatch(rule, constantFacts)), timeoutMs);
      if (answer === 'sat') {
        restricts = true;
        break;
      }
      if (answer !== 'unsat') undecided = answer.unknown;
    }
    if (restricts) continue;
    if (undecided) unknown('allow-rule-unrestricted', rule, undecided);
    else out.push({ lint: 'allow-rule-unrestricted', status: 'found', rule: rule.id, message: `allow rule '${rule.id}' is as broad as the schema: every valid request for ${rule.actions.map((a) => `'${a}'`).join(', ')} matches its conditions` });
  }
  return out;
}
