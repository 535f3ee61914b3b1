/**
 * APE rules as Cedar policies. Each rule becomes one policy with its real effect (deny -> `forbid`,
 * allow -> `permit`, escalate -> `forbid` with id `escalate:<rule>` and `@ape_decision("escalate")`,
 * so Cedar never allows what APE escalates), each `tool_transitions` entry a `forbid`; the default
 * decision and the risk escalations are policies too (`default:<decision>`, `risk:...`). For the adapter, the same conditions are also emitted as
 * "evaluation" policies (every rule as a `permit`, so Cedar reports every matched rule) and as one
 * "detector" per condition of an allow rule (satisfied when that condition fails).
 */
import type { CompiledPolicy } from '../compile.js';
import { TRANSITION_RULE } from '../explain.js';
import type { ConditionIR, Decision, PolicyIR } from '../ir.js';
import { STANDARD_ACTION_IDS } from '../repository.js';
import type { CedarDiagnostic } from './diagnostics.js';
import { emitCondition, holds, type ConditionCedar } from './conditions.js';
import { schemaCheck, type RawConditions } from './raw.js';
import { factLayout, type FactAttributes, type FactLayout } from './encoding.js';
import { actionScope, and, annotation, CedarLiteralError, ctx, ctxHas, not, op, or, policy, str, type Cedar } from './writer.js';

/** The context attribute holding the previous action (for `tool_transitions`). */
export const PREVIOUS_ACTION = 'previous_action';

/** One condition of a rule, in Cedar. */
export interface CedarCondition {
  condition: ConditionIR;
  attrs: FactAttributes;
  /** The condition as it holds inside its rule. */
  holds: Cedar;
}

/** A policy of the set, with what the adapter needs to map Cedar's answer back. */
export interface CedarPolicy {
  kind: 'rule' | 'transition';
  /** The APE rule id (`tool_transitions` for a transition). */
  rule: string;
  decision: Decision;
  /** Index in policy order (rules first, then transitions). */
  index: number;
  /** The actions in scope; `null` for every action. */
  actions: string[] | null;
  /** For a transition: the previous action, and the actions that may follow it. */
  transition?: { from: string; allowed: string[] };
  conditions: CedarCondition[];
  /** The policy as written to `<name>.cedar` (real effect). */
  text: Cedar;
  /** The evaluation form: the same scope and conditions as a `permit`. */
  evaluation: Cedar;
  /** For an allow rule: one policy per condition, satisfied when that condition fails. */
  detectors: Cedar[];
}

/** The Cedar form of a whole policy. */
export interface CedarPolicySet {
  layout: FactLayout;
  policies: CedarPolicy[];
  /** Every action id the schema declares. */
  actions: string[];
  hasTransitions: boolean;
  /** The default decision and risk escalations as policies, for the written set (the adapter applies them itself). */
  outcomes: Cedar[];
}

function annotations(id: string, rule: string, decision: Decision): Cedar[] {
  return [annotation('id', id), annotation('ape_rule', rule), annotation('ape_decision', decision)];
}

/** Every action id of the policy's repository (standard and declared) and every one it mentions (rules, transitions), sorted. */
export function policyActions(ir: PolicyIR): string[] {
  const set = new Set<string>([...Object.keys(ir.actions), ...STANDARD_ACTION_IDS]);
  for (const rule of ir.rules) for (const a of rule.actions) set.add(a);
  for (const [from, to] of Object.entries(ir.toolTransitions)) {
    set.add(from);
    for (const a of to) set.add(a);
  }
  return [...set].sort();
}

/** Emits the policy set, collecting a diagnostic for every condition Cedar cannot express. */
export function emitPolicySet(compiled: CompiledPolicy, raw?: RawConditions): { set: CedarPolicySet; diagnostics: CedarDiagnostic[] } {
  const { ir } = compiled;
  const layout = factLayout(ir);
  const diagnostics: CedarDiagnostic[] = [];
  const policies: CedarPolicy[] = [];
  ir.rules.forEach((rule, ruleIndex) => {
    const conditions: CedarCondition[] = [];
    const location = compiled.ruleSources[rule.id] ?? ['rules', ruleIndex];
    for (const condition of rule.conditions) {
      const attrs = layout.byFact.get(condition.fact) as FactAttributes;
      const fail = (message: string) =>
        diagnostics.push({
          code: 'cedar-unrepresentable',
          severity: 'error',
          target: 'cedar',
          rule: rule.id,
          operator: condition.op,
          path: condition.path,
          file: compiled.file,
          location: [...location, 'conditions', condition.path, condition.op],
          message,
        });
      let emitted: ConditionCedar | { unrepresentable: string };
      try {
        emitted = emitCondition(condition, attrs);
      } catch (error) {
        if (!(error instanceof CedarLiteralError)) throw error;
        emitted = { unrepresentable: error.message };
      }
      if ('unrepresentable' in emitted) fail(emitted.unrepresentable);
      else conditions.push({ condition, attrs, holds: raw ? raw.holds(rule, condition, rule.decision) : holds(condition, emitted, rule.decision) });
    }
    if (conditions.length !== rule.conditions.length) return;
    const scope = actionScope(rule.actions);
    const when = conditions.length ? and(conditions.map((c) => c.holds)) : null;
    // The raw form's permits also require the action's parameter schema and every raw value to be well typed (see `raw.ts`).
    const textWhen = raw && rule.decision === 'allow' ? and([...conditions.map((c) => c.holds), schemaCheck(ir, rule.actions), raw.shapeCheck(ir, rule.actions), raw.wellTyped(rule.actions)]) : when;
    const notes = annotations(rule.decision === 'escalate' ? `escalate:${rule.id}` : rule.id, rule.id, rule.decision);
    policies.push({
      kind: 'rule',
      rule: rule.id,
      decision: rule.decision,
      index: policies.length,
      actions: [...rule.actions],
      conditions,
      text: policy({ annotations: notes, effect: rule.decision === 'allow' ? 'permit' : 'forbid', action: scope, when: textWhen }),
      evaluation: policy({ annotations: notes, effect: 'permit', action: scope, when }),
      detectors:
        rule.decision === 'allow'
          ? conditions.map((c, i) =>
              policy({ annotations: [annotation('id', `${rule.id}#${i}`), annotation('ape_rule', rule.id)], effect: 'permit', action: scope, when: not(c.holds) }),
            )
          : [],
    });
  });
  const hasTransitions = Object.keys(ir.toolTransitions).length > 0;
  for (const [from, allowed] of Object.entries(ir.toolTransitions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const when = and([ctxHas(PREVIOUS_ACTION), op(ctx(PREVIOUS_ACTION), '==', str(from))]);
    const unless = allowed.length ? actionScope([...new Set(allowed)]) : null;
    const notes = annotations(`${TRANSITION_RULE}:${from}`, TRANSITION_RULE, 'deny');
    policies.push({
      kind: 'transition',
      rule: TRANSITION_RULE,
      decision: 'deny',
      index: policies.length,
      actions: null,
      transition: { from, allowed: [...allowed] },
      conditions: [],
      text: policy({ annotations: notes, effect: 'forbid', action: null, when, unless }),
      evaluation: policy({ annotations: notes, effect: 'permit', action: null, when, unless }),
      detectors: [],
    });
  }
  return { set: { layout, policies, actions: policyActions(ir), hasTransitions, outcomes: outcomePolicies(ir, policies, raw) }, diagnostics };
}

/** Whether some rule of these decisions matches: each rule's scope and conditions, or'ed. */
function anyMatches(policies: readonly CedarPolicy[], decisions: readonly Decision[], action?: string): Cedar | null {
  const parts: Cedar[] = [];
  for (const p of policies) {
    if (p.kind !== 'rule' || !decisions.includes(p.decision) || p.actions === null) continue;
    if (action !== undefined && !p.actions.includes(action)) continue;
    const conditions = p.conditions.map((c) => c.holds);
    parts.push(action !== undefined ? and(conditions) : and([actionScope(p.actions), ...conditions]));
  }
  return parts.length ? or(parts) : null;
}

/**
 * The default decision and the risk escalations as policies. Default allow: a `permit` of everything.
 * Default deny or escalate: a `forbid` unless some allow or escalate rule matches. Risk: a `forbid`
 * (escalate) of the action when its outcome would be allow.
 */
function outcomePolicies(ir: PolicyIR, policies: readonly CedarPolicy[], raw: RawConditions | undefined): Cedar[] {
  const out: Cedar[] = [];
  const id = `default:${ir.defaultDecision}`;
  const notes = [annotation('id', id), annotation('ape_rule', 'default'), annotation('ape_decision', ir.defaultDecision)];
  if (ir.defaultDecision === 'allow') out.push(policy({ annotations: notes, effect: 'permit', action: null, when: raw ? and([schemaCheck(ir, null), raw.shapeCheck(ir, null), raw.wellTyped(null)]) : null }));
  else out.push(policy({ annotations: notes, effect: 'forbid', action: null, when: null, unless: anyMatches(policies, ['allow', 'escalate']) }));
  for (const risk of ir.riskEscalations) {
    const when = ir.defaultDecision === 'allow' ? null : anyMatches(policies, ['allow'], risk.action);
    if (ir.defaultDecision !== 'allow' && when === null) continue;
    const riskNotes = [annotation('id', `${risk.rule}:${risk.action}`), annotation('ape_rule', risk.rule), annotation('ape_decision', 'escalate')];
    out.push(policy({ annotations: riskNotes, effect: 'forbid', action: actionScope([risk.action]), when }));
  }
  return out;
}
