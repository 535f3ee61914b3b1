/**
 * `ape compile --target model`: the policy as a versioned JSON verification model (documented in
 * docs/verify/README.md): actions with their parameter schemas and facts, rules with their conditions
 * as atoms in a small logical form, and the decision procedure spelled out as data.
 */
import type { CompiledPolicy } from '../compiler/compile.js';
import { actionDefinition } from '../compiler/engine-input.js';
import type { ConditionIR, Decision, JsonObject, JsonValue, PolicyIR } from '../compiler/ir.js';
import { OPERATORS } from '../compiler/operators.js';
import { actionsWithRules } from './export-smt.js';
import { factSpecs } from './facts.js';
import { translateRegex } from './regex.js';

/** The `format` field of a verification model. */
export const MODEL_FORMAT = 'ape-verification-model';
/** The version of the model format (bumped on any incompatible change). */
export const MODEL_VERSION = 1;

/** The JSON types a condition's fact must have to be tested. */
function accepts(c: ConditionIR): string[] {
  if (c.op === 'exists') return ['any'];
  if (c.op === 'equals') return [typeof c.value];
  if (c.op === 'one_of') return [...new Set(c.values.map((v) => typeof v))].sort();
  return [OPERATORS[c.op].valueType];
}

/** One condition as an atom: the fact, the test and its operands, the types it accepts and its value on a missing fact. */
function atomOf(c: ConditionIR, decision: Decision): JsonObject {
  const { op, fact, path, kind, ...operands } = c as ConditionIR & Record<string, JsonValue>;
  const atom: JsonObject = { fact, path, kind, test: op, ...(operands as JsonObject), accepts: accepts(c) };
  atom['whenMissing'] = c.op === 'exists' ? !c.value : decision !== 'allow';
  if (c.op === 'regex') {
    const t = translateRegex(c.pattern);
    atom['smt'] = 'regex' in t ? 'exact' : `uninterpreted (${t.unsupported})`;
  }
  return atom;
}

/** The verification model of a compiled policy. */
export function verificationModel(policy: CompiledPolicy): JsonObject {
  const ir: PolicyIR = policy.ir;
  const actions: JsonObject = {};
  for (const id of actionsWithRules(ir)) {
    const def = actionDefinition(ir, id);
    const risk = ir.riskEscalations.find((e) => e.action === id);
    actions[id] = {
      known: def !== undefined,
      ...(def ? { category: def.category, risk: def.risk, source: def.source, parameters: def.parameters } : {}),
      facts: factSpecs(ir, id).map((s) => ({
        fact: s.fact,
        from: s.resolved.source,
        segments: s.resolved.segments,
        kind: s.resolved.kind,
        ...(s.resolved.derived ? { part: s.resolved.derived } : {}),
        transform: s.transform,
      })),
      rules: ir.rules.filter((r) => r.actions.includes(id)).map((r) => r.id),
      escalateWhenAllowed: risk ? { rule: risk.rule, reason: risk.reason } : null,
    };
  }
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    policy: { name: ir.name, version: ir.version, hash: policy.hash },
    decision: {
      precedence: ['deny', 'escalate', 'allow'],
      default: ir.defaultDecision,
      tieBreak: 'the first matching rule in policy order determines the rule id',
      match: 'a rule matches when every atom of `when.all` holds',
      missing: 'an atom on an absent fact, or a fact of a type not in `accepts`, has the value `whenMissing`',
      transitions: 'if previous_action is a key of toolTransitions and the action is not in its list: deny by rule tool_transitions, before anything else',
      risk: 'an allow (by rule or default) of an action listed in riskEscalations becomes escalate',
    },
    actions,
    rules: ir.rules.map((r) => ({ id: r.id, decision: r.decision, actions: r.actions, when: { all: r.conditions.map((c) => atomOf(c, r.decision)) } })),
    riskEscalations: ir.riskEscalations.map((e) => ({ action: e.action, rule: e.rule, reason: e.reason })),
    toolTransitions: ir.toolTransitions,
  };
}
