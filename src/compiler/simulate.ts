/** Action-level simulation (no parameters): what `ape simulate` and the seed decision matrix show. */
import type { Decision, PolicyIR } from './ir.js';

/** An action-level decision: fixed, or `conditional` when it depends on parameters. */
export interface SimulatedDecision {
  action: string;
  decision: Decision | 'conditional';
  /** The rule that decides (for a fixed decision), or null for the default. */
  rule: string | null;
  /** Decisions the action can get, over all parameters. */
  possible: Decision[];
  /** Rules whose conditions make the outcome depend on parameters. */
  conditionalRules: string[];
}

const RANK: Record<Decision, number> = { allow: 1, escalate: 2, deny: 3 };

/** The decision an action gets before its parameters are known. */
export function simulate(ir: PolicyIR, action: string): SimulatedDecision {
  const rules = ir.rules.filter((r) => r.actions.includes(action));
  let fixed: { decision: Decision; rule: string | null } = { decision: ir.defaultDecision, rule: null };
  let fixedRank = 0;
  for (const r of rules) {
    if (r.conditions.length === 0 && RANK[r.decision] > fixedRank) {
      fixed = { decision: r.decision, rule: r.id };
      fixedRank = RANK[r.decision];
    }
  }
  const risk = ir.riskEscalations.find((e) => e.action === action);
  const finish = (d: { decision: Decision; rule: string | null }) =>
    d.decision === 'allow' && risk ? { decision: 'escalate' as Decision, rule: risk.rule } : d;
  const conditional = rules.filter((r) => r.conditions.length > 0 && RANK[r.decision] > fixedRank);
  const outcome = finish(fixed);
  const possible = new Set<Decision>([outcome.decision, ...conditional.map((r) => finish({ decision: r.decision, rule: r.id }).decision)]);
  const sorted = [...possible].sort((a, b) => RANK[a] - RANK[b]);
  if (conditional.length === 0 || sorted.length === 1 && conditional.every((r) => finish({ decision: r.decision, rule: r.id }).decision === outcome.decision)) {
    return { action, decision: outcome.decision, rule: outcome.rule, possible: sorted, conditionalRules: conditional.map((r) => r.id) };
  }
  return { action, decision: 'conditional', rule: null, possible: sorted, conditionalRules: conditional.map((r) => r.id) };
}
