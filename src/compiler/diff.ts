/** Action-level difference of two policies (the semantic, parameter-level diff lives in src/verify). */
import type { PolicyIR } from './ir.js';
import { STANDARD_ACTION_IDS } from './repository.js';
import { simulate, type SimulatedDecision } from './simulate.js';

/** One action whose action-level decision (or deciding rule) differs. */
export interface ActionChange {
  action: string;
  a: Pick<SimulatedDecision, 'decision' | 'rule' | 'possible'>;
  b: Pick<SimulatedDecision, 'decision' | 'rule' | 'possible'>;
}

/** Every action either policy mentions, plus the standard actions, whose decision or deciding rule differs. */
export function diffPolicies(a: PolicyIR, b: PolicyIR): ActionChange[] {
  const actions = new Set<string>([...STANDARD_ACTION_IDS]);
  for (const ir of [a, b]) {
    for (const rule of ir.rules) for (const action of rule.actions) actions.add(action);
    for (const action of Object.keys(ir.actions)) actions.add(action);
  }
  const pick = (s: SimulatedDecision) => ({ decision: s.decision, rule: s.rule, possible: s.possible });
  const changes: ActionChange[] = [];
  for (const action of [...actions].sort()) {
    const sa = simulate(a, action);
    const sb = simulate(b, action);
    const same = sa.decision === sb.decision && sa.rule === sb.rule && sa.possible.join() === sb.possible.join();
    if (!same) changes.push({ action, a: pick(sa), b: pick(sb) });
  }
  if (a.defaultDecision !== b.defaultDecision) {
    const d = (ir: PolicyIR) => ({ decision: ir.defaultDecision, rule: null, possible: [ir.defaultDecision] });
    changes.push({ action: '*', a: d(a), b: d(b) });
  }
  return changes;
}
