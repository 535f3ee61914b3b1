/** The native evaluator: the reference semantics of the IR and the fast in-process path. */
import { candidatePrefix, failureTemplate, missingReason, renderReason, type ReasonTemplate } from '../../compiler/explain.js';
import type { DecisionResult, EngineInput, PolicyIR, RuleIR } from '../../compiler/ir.js';
import type { DecisionEngine } from '../engine.js';
import { OutcomeBuilder, type Findings, type RuleHit } from '../outcome.js';
import { compileCondition, type CompiledCondition } from './conditions.js';

interface CompiledRule {
  rule: RuleIR;
  hit: RuleHit;
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
      hit: { id: rule.id, decision: rule.decision },
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

/** Why an allow rule did not match: appends one reason per failing condition to `out`. */
function failures(rule: CompiledRule, facts: EngineInput['facts'], out: string[]): void {
  const prefix = candidatePrefix(rule.rule.id);
  for (const { compiled, failure, missing } of rule.conditions) {
    const value = facts[compiled.condition.fact];
    if (value === undefined || !compiled.accepts(value)) {
      if (compiled.condition.op === 'exists' ? compiled.condition.value : true) out.push(prefix + missing);
    } else if (!compiled.test(value)) {
      out.push(prefix + renderReason(failure, value));
    }
  }
}

/** The native decision engine for one compiled policy. `decideSync` is the allocation-light hot path. */
export class NativeEngine implements DecisionEngine {
  readonly name = 'native';
  readonly #index: Map<string, CompiledRule[]>;
  readonly #transitions: Map<string, Set<string>>;
  readonly #outcome: OutcomeBuilder;

  constructor(ir: PolicyIR, policyHash: string) {
    this.#index = indexRules(ir);
    this.#transitions = new Map(Object.entries(ir.toolTransitions).map(([from, to]) => [from, new Set(to)]));
    this.#outcome = new OutcomeBuilder(ir, policyHash, this.name);
  }

  /** Decides synchronously. */
  decideSync(input: EngineInput): DecisionResult {
    const rules = this.#index.get(input.action) ?? [];
    const hits: RuleHit[] = [];
    for (const rule of rules) if (ruleMatches(rule, input.facts)) hits.push(rule.hit);
    const reasons: string[] = [];
    if (hits.length === 0) for (const r of rules) if (r.rule.decision === 'allow') failures(r, input.facts, reasons);
    const findings: Findings = { action: input.action, hits, failures: reasons };
    const previous = input.previous_action;
    if (previous !== undefined && this.#transitions.get(previous)?.has(input.action) === false) findings.forbiddenAfter = previous;
    return this.#outcome.build(findings);
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
}

/** The native engine's synchronous decision for one compiled policy, as a function (the reference for emitted tests). */
export function nativeDecide(policy: { ir: PolicyIR; hash: string }): (input: EngineInput) => DecisionResult {
  const engine = new NativeEngine(policy.ir, policy.hash);
  return (input) => engine.decideSync(input);
}
