/**
 * A compiled APE policy as one XACML 3.0 PolicySet. Its Policy decides with real effects: deny ->
 * Deny, allow -> Permit, escalate -> Permit with the `urn:ape:obligation:escalate` obligation;
 * precedence (transitions > deny > escalate > allow > default) and risk escalation are written into
 * mutually exclusive rule conditions, so exactly one rule applies. Advice names the rule and the
 * reason; the `explain` advice reports every rule and allow-rule condition for APE's engine.
 */
import type { CompiledPolicy } from '../compile.js';
import { ruleDecidedReason, TRANSITION_RULE } from '../explain.js';
import type { Decision } from '../ir.js';
import { emitCondition, holds } from './conditions.js';
import type { XacmlDiagnostic } from './diagnostics.js';
import { emitFacts } from './facts.js';
import { emitSchemaCheck, SCHEMA_VAR } from './schema.js';
import {
  and,
  anyOf,
  apply,
  ATTRIBUTE,
  bagSizeIs,
  CATEGORY,
  COMBINING,
  designator,
  FN,
  not,
  or,
  PEP,
  strValue,
  varRef,
  XACML_NS,
} from './vocabulary.js';
import { comment, element, indent, textElement, XmlLiteralError, type Xml } from './writer.js';

/** What the adapter needs to read the PDP's explain advice back. */
export interface XacmlRuleInfo {
  id: string;
  decision: Decision;
  actions: string[];
  /** Number of conditions (explained for allow rules). */
  conditions: number;
}

/** The XACML form of a whole policy. */
export interface XacmlPolicySet {
  /** The PolicySetId. */
  id: string;
  /** The document, indented, with an XML declaration. */
  xml: string;
  rules: XacmlRuleInfo[];
}

const ACTION_BAG = designator(CATEGORY.action, ATTRIBUTE.action, 'string');
const PREVIOUS_BAG = designator(CATEGORY.action, ATTRIBUTE.previousAction, 'string');
const V = {
  actionOk: 'ape.action-ok',
  requestOk: 'ape.request-ok',
  transition: 'ape.transition',
  anyDeny: 'ape.any.deny',
  anyEscalate: 'ape.any.escalate',
  anyAllow: 'ape.any.allow',
  anyRule: 'ape.any.rule',
  rule: (i: number) => `ape.rule.${i}`,
  condition: (i: number, k: number) => `ape.rule.${i}.${k}`,
};

/** The PolicySetId of a compiled policy: its name and IR hash (so seed and example policies of one name never collide). */
export function policySetId(policy: CompiledPolicy): string {
  return `urn:ape:policy:${encodeURIComponent(policy.ir.name)}:${policy.hash.replace(/^sha256:/, '')}`;
}

function variable(id: string, expression: Xml): Xml {
  return element('VariableDefinition', { VariableId: id }, [expression]);
}

function actionIn(actions: readonly string[]): Xml {
  return and([varRef(V.actionOk), or([...new Set(actions)].map((a) => anyOf(FN.stringEqual, strValue(a), ACTION_BAG)))]);
}

function assignment(id: string, expression: Xml): Xml {
  return element('AttributeAssignmentExpression', { AttributeId: id }, [expression]);
}

/** Advice (or, for escalate, an obligation) naming the decision, the rule and the reason. */
function pepActions(decision: Decision, rule: string | null, reason: Xml): Xml {
  const assignments = [assignment(PEP.decisionValue, strValue(decision)), rule === null ? null : assignment(PEP.rule, strValue(rule)), assignment(PEP.reason, reason)].filter(
    (x): x is Xml => x !== null,
  );
  if (decision === 'escalate') {
    return element('ObligationExpressions', {}, [element('ObligationExpression', { ObligationId: PEP.escalate, FulfillOn: 'Permit' }, assignments)]);
  }
  return element('AdviceExpressions', {}, [element('AdviceExpression', { AdviceId: PEP.decision, AppliesTo: decision === 'deny' ? 'Deny' : 'Permit' }, assignments)]);
}

function xacmlRule(id: string, decision: Decision, condition: Xml, reason: Xml, rule: string | null, description: string): Xml {
  return element('Rule', { RuleId: id, Effect: decision === 'deny' ? 'Deny' : 'Permit' }, [
    textElement('Description', {}, description),
    element('Target', {}),
    element('Condition', {}, [condition]),
    pepActions(decision, rule, reason),
  ]);
}

const concat = (parts: Xml[]): Xml => apply(FN.stringConcatenate, parts);
const one = (bag: Xml): Xml => apply(FN.stringOneAndOnly, [bag]);

/** Emits the policy set, collecting a diagnostic for everything XACML cannot express. */
export function emitPolicySet(compiled: CompiledPolicy): { set: XacmlPolicySet | null; diagnostics: XacmlDiagnostic[] } {
  const { ir } = compiled;
  const diagnostics: XacmlDiagnostic[] = [];
  const diagnose = (rule: string, location: (string | number)[], operator: XacmlDiagnostic['operator'], path: string, message: string) =>
    diagnostics.push({ code: 'xacml-unrepresentable', severity: 'error', target: 'xacml', rule, operator, path, file: compiled.file, location, message });
  const { facts, definitions } = emitFacts(ir);
  const ruleVars: Xml[] = [];
  const infos: XacmlRuleInfo[] = [];
  ir.rules.forEach((rule, i) => {
    const location = compiled.ruleSources[rule.id] ?? ['rules', i];
    let ok = true;
    rule.conditions.forEach((condition, k) => {
      const refs = facts.get(condition.fact);
      if (!refs) throw new Error(`no fact for '${condition.fact}'`);
      const where = [...location, 'conditions', condition.path, condition.op];
      try {
        const emitted = emitCondition(condition, refs.refs);
        if ('unrepresentable' in emitted) {
          diagnose(rule.id, where, condition.op, condition.path, emitted.unrepresentable);
          ok = false;
          return;
        }
        ruleVars.push(variable(V.condition(i, k), holds(condition, emitted, rule.decision)));
      } catch (error) {
        if (!(error instanceof XmlLiteralError)) throw error;
        diagnose(rule.id, where, condition.op, condition.path, error.message);
        ok = false;
      }
    });
    if (!ok) return;
    ruleVars.push(variable(V.rule(i), and([actionIn(rule.actions), ...rule.conditions.map((_, k) => varRef(V.condition(i, k)))])));
    infos.push({ id: rule.id, decision: rule.decision, actions: [...rule.actions], conditions: rule.conditions.length });
  });
  if (diagnostics.length) return { set: null, diagnostics };
  try {
    return { set: assemble(compiled, definitions, ruleVars, infos), diagnostics };
  } catch (error) {
    if (!(error instanceof XmlLiteralError)) throw error;
    diagnose('policy', [], null, '', error.message);
    return { set: null, diagnostics };
  }
}

function assemble(compiled: CompiledPolicy, facts: Xml[], ruleVars: Xml[], rules: XacmlRuleInfo[]): XacmlPolicySet {
  const { ir } = compiled;
  const id = policySetId(compiled);
  const indices = (d: Decision) => rules.flatMap((r, i) => (r.decision === d ? [i] : []));
  const anyOfRules = (list: number[]) => or(list.map((i) => varRef(V.rule(i))));
  const transitions = Object.entries(ir.toolTransitions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const riskActions = ir.riskEscalations.map((r) => r.action);
  const isRisk = or(riskActions.map((a) => anyOf(FN.stringEqual, strValue(a), ACTION_BAG)));
  const single = (bag: Xml) => bagSizeIs('string', bag, 1);

  const variables: Xml[] = [
    ...facts,
    variable(V.actionOk, single(ACTION_BAG)),
    emitSchemaCheck(ir),
    variable(V.requestOk, and([varRef(V.actionOk), or([bagSizeIs('string', PREVIOUS_BAG, 0), single(PREVIOUS_BAG)]), varRef(SCHEMA_VAR)])),
    ...ruleVars,
    variable(
      V.transition,
      or(transitions.map(([from, allowed]) => and([single(PREVIOUS_BAG), anyOf(FN.stringEqual, strValue(from), PREVIOUS_BAG), not(actionIn(allowed))]))),
    ),
    variable(V.anyDeny, anyOfRules(indices('deny'))),
    variable(V.anyEscalate, anyOfRules(indices('escalate'))),
    variable(V.anyAllow, anyOfRules(indices('allow'))),
    variable(V.anyRule, anyOfRules(rules.map((_, i) => i))),
  ];

  const base = [varRef(V.requestOk), not(varRef(V.transition))];
  const out: Xml[] = [
    xacmlRule(
      'ape:malformed-request',
      'deny',
      not(varRef(V.requestOk)),
      strValue("the request must carry exactly one action-id, at most one previous action, parameters that fit the action's schema as far as XACML can check it, and under context only the values the rules read"),
      null,
      'A request without exactly one action, with several previous actions, or (without APE) with parameters the PolicySet cannot check against the action schema or that violate it, or context values no rule reads, is denied.',
    ),
  ];
  if (transitions.length) {
    out.push(
      xacmlRule(
        `ape:${TRANSITION_RULE}`,
        'deny',
        and([varRef(V.requestOk), varRef(V.transition)]),
        concat([strValue("'"), one(ACTION_BAG), strValue("' may not follow '"), one(PREVIOUS_BAG), strValue(`' (${TRANSITION_RULE})`)]),
        TRANSITION_RULE,
        'tool_transitions: after these actions only the listed ones may follow.',
      ),
    );
  }
  const earlier = (i: number, d: Decision) => not(anyOfRules(indices(d).filter((j) => j < i)));
  rules.forEach((rule, i) => {
    const guard =
      rule.decision === 'deny'
        ? [earlier(i, 'deny')]
        : rule.decision === 'escalate'
          ? [not(varRef(V.anyDeny)), earlier(i, 'escalate')]
          : [not(varRef(V.anyDeny)), not(varRef(V.anyEscalate)), earlier(i, 'allow'), not(isRisk)];
    out.push(
      xacmlRule(
        `ape:rule:${rule.id}`,
        rule.decision,
        and([...base, varRef(V.rule(i)), ...guard]),
        strValue(ruleDecidedReason(rule.decision, rule.id)),
        rule.id,
        `${rule.decision} ${rule.actions.join(', ')} (APE rule '${rule.id}')`,
      ),
    );
  });
  for (const risk of ir.riskEscalations) {
    const allowed = ir.defaultDecision === 'allow' ? or([varRef(V.anyAllow), not(varRef(V.anyRule))]) : varRef(V.anyAllow);
    out.push(
      xacmlRule(
        `ape:${risk.rule}:${risk.action}`,
        'escalate',
        and([...base, not(varRef(V.anyDeny)), not(varRef(V.anyEscalate)), anyOf(FN.stringEqual, strValue(risk.action), ACTION_BAG), allowed]),
        strValue(risk.reason),
        risk.rule,
        `an allowed ${risk.action} is escalated (${risk.rule})`,
      ),
    );
  }
  const defaultGuard = ir.defaultDecision === 'allow' ? [not(isRisk)] : [];
  out.push(
    xacmlRule(
      'ape:default',
      ir.defaultDecision,
      and([...base, not(varRef(V.anyRule)), ...defaultGuard]),
      concat([strValue("no rule matches action '"), one(ACTION_BAG), strValue(`'; the default decision is ${ir.defaultDecision}`)]),
      null,
      `No rule matched: the default decision, ${ir.defaultDecision}.`,
    ),
  );

  const explain = [
    ...rules.map((_, i) => assignment(PEP.explainRule(i), varRef(V.rule(i)))),
    ...rules.flatMap((r, i) => (r.decision === 'allow' ? Array.from({ length: r.conditions }, (_, k) => assignment(PEP.explainCondition(i, k), varRef(V.condition(i, k)))) : [])),
    assignment(PEP.explainTransition, varRef(V.transition)),
  ];
  const advice = element('AdviceExpressions', {}, [
    element('AdviceExpression', { AdviceId: PEP.explain, AppliesTo: 'Permit' }, explain),
    element('AdviceExpression', { AdviceId: PEP.explain, AppliesTo: 'Deny' }, explain),
  ]);
  const decisionPolicy = element('Policy', { PolicyId: `${id}:decision`, Version: '1.0', RuleCombiningAlgId: COMBINING.denyOverridesRules }, [
    textElement('Description', {}, 'Exactly one rule applies; Permit with the escalate obligation means escalate.'),
    element('Target', {}),
    ...variables,
    ...out,
    advice,
  ]);
  const doc = element('PolicySet', { xmlns: XACML_NS, PolicySetId: id, Version: '1.0', PolicyCombiningAlgId: COMBINING.denyOverridesPolicies }, [
    textElement('Description', {}, `APE policy '${ir.name}' version ${ir.version}: ${ir.description}`),
    element('Target', {}),
    decisionPolicy,
  ]);
  const header = [
    comment(`XACML 3.0 PolicySet of APE policy '${ir.name}' version ${ir.version}, IR ${compiled.hash}. Generated by ape compile --target xacml.`),
    comment(`Default decision: ${ir.defaultDecision}. Precedence: tool_transitions > deny > escalate > allow > default. Only Permit without the ${PEP.escalate} obligation is an allow.`),
    comment(`Request: ${ATTRIBUTE.action} (action category); each fact as urn:ape:fact:(string|double|boolean):<fact> (resource category); see docs/xacml.md.`),
  ];
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n${header.map((c) => c.xml).join('\n')}\n${indent(doc)}`;
  return { id, xml, rules };
}
