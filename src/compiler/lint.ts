/** Lints: findings about a policy that compiles but probably does not mean what its author meant. */
import { diagnostic, type Diagnostic, type DiagnosticCode } from './diagnostics.js';
import type { ActionIR, ConditionIR, ConditionOp, Decision, PolicyIR } from './ir.js';
import type { RawRule, Report, RuleSourceMap } from './normalize.js';
import type { SourceDocument } from './source.js';

/** Warns when a condition names a parameter the action's closed schema does not have. */
export function warnUnknownParameter(
  path: string,
  actions: string[],
  lookup: (id: string) => ActionIR | undefined,
  at: (string | number)[],
  report: Report,
): void {
  if (path.startsWith('context.')) return;
  const head = path.split('.')[0] as string;
  for (const id of actions) {
    const schema = lookup(id)?.parameters;
    const properties = schema?.['properties'];
    if (!schema || !properties || typeof properties !== 'object' || Array.isArray(properties)) continue;
    if (schema['additionalProperties'] === false && !(head in properties)) {
      report('unknown-parameter', `action '${id}' has no parameter '${head}'`, at, `its parameters are ${Object.keys(properties).join(', ')}`, true);
    }
  }
}

/** A deny/escalate condition on an optional parameter holds whenever it is absent (fail closed): say so. */
export function lintFiresWhenMissing(
  rule: RawRule,
  ruleIndex: number,
  actions: string[],
  conditions: ConditionIR[],
  lookup: (id: string) => ActionIR | undefined,
  report: Report,
): void {
  if (rule.decision === 'allow') return;
  const guarded = new Set(conditions.filter((c) => c.op === 'exists').map((c) => c.path));
  const warned = new Set<string>();
  for (const c of conditions) {
    if (guarded.has(c.path) || warned.has(c.path) || c.path.startsWith('context.')) continue;
    const head = c.path.split('.')[0] as string;
    const optionalIn = actions.filter((id) => {
      const required = lookup(id)?.parameters['required'];
      return lookup(id) !== undefined && !(Array.isArray(required) && required.includes(head));
    });
    if (optionalIn.length === 0) continue;
    warned.add(c.path);
    report(
      'fires-when-missing',
      `this ${rule.decision} rule also matches every '${optionalIn[0]}' request without '${c.path}' (a missing value makes ${rule.decision} conditions hold)`,
      ['rules', ruleIndex, 'conditions', c.path],
      `add 'exists: true' to '${c.path}' if it should only apply when present`,
      true,
    );
  }
}

export function lintNeverMatches(decision: Decision, conditions: ConditionIR[], at: (string | number)[], report: Report): void {
  if (decision !== 'allow') return;
  const byPath = new Map<string, ConditionIR[]>();
  for (const c of conditions) byPath.set(c.path, [...(byPath.get(c.path) ?? []), c]);
  for (const [path, cs] of byPath) {
    const find = <K extends ConditionOp>(op: K) => cs.find((c) => c.op === op) as Extract<ConditionIR, { op: K }> | undefined;
    const min = find('min');
    const max = find('max');
    const minLength = find('min_length');
    const maxLength = find('max_length');
    const exists = find('exists');
    const equals = find('equals');
    const oneOf = find('one_of');
    const never = (why: string) => report('rule-never-matches', `this allow rule can never match: ${why}`, at);
    if (min && max && min.value > max.value) never(`'${path}' must be at least ${min.value} and at most ${max.value}`);
    if (minLength && maxLength && minLength.value > maxLength.value) never(`length of '${path}' must be at least ${minLength.value} and at most ${maxLength.value}`);
    if (exists && !exists.value && cs.length > 1) never(`'${path}' must be absent and also satisfy other conditions`);
    if (equals && oneOf && !oneOf.values.some((v) => v === equals.value)) never(`'${path}' must equal ${JSON.stringify(equals.value)} and be one of the other values`);
  }
}

/** Place names of `request.sources` that are not tools: the user's prompt and the system configuration. */
const RESERVED_PLACES: readonly string[] = ['user', 'system'];

/** Lints over the finished IR: actions unknown to the repository, rules shadowed by an unconditional deny. */
export function lintIR(ir: PolicyIR, ruleSources: RuleSourceMap, document: SourceDocument): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report = (code: DiagnosticCode, message: string, path: (string | number)[], hint?: string) => {
    const { line, column } = document.locate(path);
    out.push(diagnostic(code, message, { file: document.file, line, column, path }, hint));
  };
  for (const rule of ir.rules) {
    const source = ruleSources[rule.id] ?? [];
    rule.actions.forEach((action, i) => {
      const at = source[0] === 'rules' ? [...source, 'action', i] : [...source, i];
      if (!ir.actions[action]) {
        report('unknown-action', `action '${action}' is not in the action repository`, at, 'declare it under actions: to give it a schema and a risk level');
      }
      if (RESERVED_PLACES.includes(action)) {
        report('reserved-place-name', `action '${action}' has the name of a reserved place: a \`source: ${action}\` condition means the ${action === 'user' ? "user's prompt" : 'system configuration'}, not this tool's output`, at, 'rename the tool');
      }
    });
  }
  const unconditionalDeny = new Map<string, string>();
  for (const rule of ir.rules) {
    if (rule.decision === 'deny' && rule.conditions.length === 0) {
      for (const action of rule.actions) if (!unconditionalDeny.has(action)) unconditionalDeny.set(action, rule.id);
    }
  }
  for (const rule of ir.rules) {
    const shadowers = rule.actions.map((a) => unconditionalDeny.get(a));
    if (shadowers.every((s) => s !== undefined && s !== rule.id)) {
      report('rule-shadowed', `rule '${rule.id}' never decides: every action it covers is always denied by '${shadowers[0]}'`, ruleSources[rule.id] ?? []);
    }
  }
  return out;
}
