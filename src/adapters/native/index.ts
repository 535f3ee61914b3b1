/** The native evaluator: the reference semantics of the IR and the fast in-process path. */
import {
  candidatePrefix,
  failureTemplate,
  missingReason,
  noRuleReason,
  renderReason,
  ruleDecidedReason,
  transitionReason,
  TRANSITION_RULE,
  type ReasonTemplate,
} from '../../compiler/explain.js';
import type { Decision, DecisionResult, EngineInput, PolicyIR, RiskEscalationIR, RuleIR } from '../../compiler/ir.js';
import type { DecisionEngine } from '../engine.js';
import { compileCondition, type CompiledCondition } from './conditions.js';

interface CompiledRule {
  rule: RuleIR;
  conditions: { compiled: CompiledCondition; failure: ReasonTemplate; missing: string }[];
  /** Whether a missing or wrongly typed value makes a condition hold (deny and escalate rules). */
  missingHolds: boolean;
}

/** Rules indexed by action: the cost of a decision does not grow with unrelated rules. */
function indexRules(ir: PolicyIR): Map<string, CompiledRule[]> {
  const index = new Map<string, CompiledRule[]>();
  for (const rule of ir.rules) {
    const compiled: CompiledRule = {
      rule,
      conditions: rule.conditions.map((c) => ({ compiled: compileCondition(c), failure: failureTemplate(c), missing: missingReason(c) })),
      missingHolds: rule.decision !== 'allow',
    };
    for (const action of rule.actions) {
      const list = index.get(action);
      if (list) list.push(compiled);
      else index.set(action, [compiled]);
    }
  }
  return index;
}

/** Whether every condition of a rule holds for these facts. */
function ruleMatches(rule: CompiledRule, facts: EngineInput['facts']): boolean {
  for (const { compiled } of rule.conditions) {
    const value = facts[compiled.condition.fact];
    if (value === undefined || !compiled.accepts(value)) {
      if (compiled.condition.op === 'exists' ? compiled.condition.value : !rule.missingHolds) return false;
      continue;
    }
    if (!compiled.test(value)) return false;
  }
  return true;
}

/** Why an allow rule did not match: one reason per failing condition. */
function failures(rule: CompiledRule, facts: EngineInput['facts']): string[] {
  const out: string[] = [];
  const prefix = candidatePrefix(rule.rule.id);
  for (const { compiled, failure, missing } of rule.conditions) {
    const value = facts[compiled.condition.fact];
    if (value === undefined || !compiled.accepts(value)) {
      if (compiled.condition.op === 'exists' ? compiled.condition.value : true) out.push(prefix + missing);
    } else if (!compiled.test(value)) {
      out.push(prefix + renderReason(failure, value));
    }
  }
  return out;
}

const RANK: Record<Decision, number> = { allow: 1, escalate: 2, deny: 3 };

/** The native decision engine for one compiled policy. `decideSync` is the allocation-light hot path. */
export class NativeEngine implements DecisionEngine {
  readonly name = 'native';
  readonly #ir: PolicyIR;
  readonly #hash: string;
  readonly #index: Map<string, CompiledRule[]>;
  readonly #risk: Map<string, RiskEscalationIR>;
  readonly #transitions: Map<string, Set<string>>;

  constructor(ir: PolicyIR, policyHash: string) {
    this.#ir = ir;
    this.#hash = policyHash;
    this.#index = indexRules(ir);
    this.#risk = new Map(ir.riskEscalations.map((r) => [r.action, r]));
    this.#transitions = new Map(Object.entries(ir.toolTransitions).map(([from, to]) => [from, new Set(to)]));
  }

  /** Decides synchronously. */
  decideSync(input: EngineInput): DecisionResult {
    const rules = this.#index.get(input.action);
    const matched: string[] = [];
    let best: CompiledRule | undefined;
    if (rules) {
      for (const rule of rules) {
        if (!ruleMatches(rule, input.facts)) continue;
        matched.push(rule.rule.id);
        if (!best || RANK[rule.rule.decision] > RANK[best.rule.decision]) best = rule;
      }
    }
    const previous = input.previous_action;
    if (previous !== undefined) {
      const allowed = this.#transitions.get(previous);
      if (allowed && !allowed.has(input.action)) {
        matched.push(TRANSITION_RULE);
        return this.#result('deny', TRANSITION_RULE, matched, [transitionReason(previous, input.action)]);
      }
    }
    let decision: Decision;
    let rule: string | null;
    let reasons: string[];
    if (best) {
      decision = best.rule.decision;
      rule = best.rule.id;
      reasons = [ruleDecidedReason(decision, rule)];
    } else {
      decision = this.#ir.defaultDecision;
      rule = null;
      reasons = [];
      if (rules) for (const r of rules) if (r.rule.decision === 'allow') reasons.push(...failures(r, input.facts));
      if (reasons.length === 0) reasons.push(noRuleReason(this.#ir, input.action));
    }
    if (decision === 'allow') {
      const risk = this.#risk.get(input.action);
      if (risk) return this.#result('escalate', risk.rule, matched, [risk.reason]);
    }
    return this.#result(decision, rule, matched, reasons);
  }

  /** Decides (the asynchronous form of the engine interface). */
  decide(input: EngineInput): Promise<DecisionResult> {
    try {
      return Promise.resolve(this.decideSync(input));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #result(decision: Decision, rule: string | null, matched: string[], reasons: string[]): DecisionResult {
    return { decision, rule, matched, reasons, policy_hash: this.#hash, engine: this.name };
  }
}
