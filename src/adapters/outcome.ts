/**
 * From matched rules to the decision object: precedence, tool transitions, risk escalation and
 * reasons, in one place for every engine that reports matched rules (native, cedar).
 */
import { noRuleReason, ruleDecidedReason, transitionReason, TRANSITION_RULE } from '../compiler/explain.js';
import type { Decision, DecisionResult, PolicyIR, RiskEscalationIR } from '../compiler/ir.js';

const RANK: Record<Decision, number> = { allow: 1, escalate: 2, deny: 3 };

/** A rule that matched the request. */
export interface RuleHit {
  id: string;
  decision: Decision;
}

/** What an engine found for one request; the outcome follows from it the same way for every engine. */
export interface Findings {
  action: string;
  /** Matched rules, in policy order. */
  hits: readonly RuleHit[];
  /** The previous action, when a `tool_transitions` entry forbids this one after it. */
  forbiddenAfter?: string;
  /** Why each candidate allow rule failed: engines fill it in when no rule matched (the default decides). */
  failures: string[];
}

/** Builds decision objects for one compiled policy and engine. */
export class OutcomeBuilder {
  readonly #ir: PolicyIR;
  readonly #hash: string;
  readonly #engine: string;
  readonly #risk: Map<string, RiskEscalationIR>;

  constructor(ir: PolicyIR, policyHash: string, engine: string) {
    this.#ir = ir;
    this.#hash = policyHash;
    this.#engine = engine;
    this.#risk = new Map(ir.riskEscalations.map((r) => [r.action, r]));
  }

  /** deny > escalate > allow > default; the first matched rule of the winning decision determines. */
  build(findings: Findings): DecisionResult {
    const matched = findings.hits.map((h) => h.id);
    if (findings.forbiddenAfter !== undefined) {
      matched.push(TRANSITION_RULE);
      return this.#result('deny', TRANSITION_RULE, matched, [transitionReason(findings.forbiddenAfter, findings.action)]);
    }
    let best: RuleHit | undefined;
    for (const hit of findings.hits) if (!best || RANK[hit.decision] > RANK[best.decision]) best = hit;
    let decision: Decision;
    let rule: string | null;
    let reasons: string[];
    if (best) {
      decision = best.decision;
      rule = best.id;
      reasons = [ruleDecidedReason(decision, rule)];
    } else {
      decision = this.#ir.defaultDecision;
      rule = null;
      reasons = findings.failures.length > 0 ? findings.failures : [noRuleReason(this.#ir, findings.action)];
    }
    if (decision === 'allow') {
      const risk = this.#risk.get(findings.action);
      if (risk) return this.#result('escalate', risk.rule, matched, [risk.reason]);
    }
    return this.#result(decision, rule, matched, reasons);
  }

  #result(decision: Decision, rule: string | null, matched: string[], reasons: string[]): DecisionResult {
    return { decision, rule, matched, reasons, policy_hash: this.#hash, engine: this.#engine };
  }
}
