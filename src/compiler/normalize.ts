/** Normalizes schema-valid policy data (either shape, or both) into the IR. */
import { RE2JS } from 're2js';
import { canonicalDomainPattern, canonicalHost, canonicalPath, canonicalUrl, cidrPrefix } from './canonical.js';
import { diagnostic, type Diagnostic, type DiagnosticCode } from './diagnostics.js';
import {
  RISK_LEVELS,
  type ActionIR,
  type Category,
  type ConditionIR,
  type ConditionOp,
  type Decision,
  type JsonObject,
  type PolicyIR,
  type ProvenanceLabel,
  type RateLimitsIR,
  type RiskEscalationIR,
  type RiskLevel,
  type RuleIR,
  type Scalar,
  type ValueKind,
} from './ir.js';
import { factKey } from './operators.js';
import { parameterSchemaProblem } from './params-schema.js';
import { lintFiresWhenMissing, lintNeverMatches, warnUnknownParameter } from './lint.js';
import { resolvePath } from './paths.js';
import { kindsOf, standardAction, STANDARD_ACTION_IDS } from './repository.js';
import type { SourceDocument } from './source.js';

/** A worked example a policy carries: a request and the decision it must get. */
export interface PolicyExample {
  name: string;
  action: string;
  params: JsonObject;
  context: JsonObject;
  previous_action?: string;
  expect: Decision;
  rule?: string | null;
}

/** Where each rule of the IR was written, for diagnostics about decisions. */
export type RuleSourceMap = Record<string, (string | number)[]>;

/** A rule as written in YAML (after schema validation). */
export interface RawRule {
  id?: string;
  action: string | string[];
  decision: Decision;
  conditions?: Record<string, Record<string, unknown>>;
}

interface RawAction {
  id: string;
  description?: string;
  category?: Category;
  risk_level?: RiskLevel;
  requires_human_review?: boolean;
  parameters?: JsonObject;
}

interface RawPolicy {
  name: string;
  version?: string | number;
  description?: string;
  default_decision?: Decision;
  default_deny?: boolean;
  rules?: RawRule[];
  allowed_actions?: string[];
  forbidden_actions?: string[];
  escalation_required?: string[];
  tool_transitions?: Record<string, string[]>;
  actions?: RawAction[];
  risk?: { escalate_at_or_above?: RiskLevel; escalate_human_review?: boolean };
  rate_limits?: RateLimitsIR;
  examples?: (Omit<PolicyExample, 'name' | 'params' | 'context'> & { name?: string; params?: JsonObject; context?: JsonObject })[];
  metadata?: JsonObject;
}

/** The result of normalization: the IR (when there was no error), examples, rule positions and findings. */
export interface Normalized {
  ir?: PolicyIR;
  examples: PolicyExample[];
  ruleSources: RuleSourceMap;
  diagnostics: Diagnostic[];
}

/** Normalizes a schema-valid document into the IR, collecting every error and lint. */
export function normalize(document: SourceDocument): Normalized {
  const raw = document.data as RawPolicy;
  const diagnostics: Diagnostic[] = [];
  const report = (code: DiagnosticCode, message: string, path: (string | number)[], hint?: string, key = false) => {
    const { line, column } = key ? document.locateKey(path) : document.locate(path);
    diagnostics.push(diagnostic(code, message, { file: document.file, line, column, path }, hint));
  };

  const defaultDecision = resolveDefault(raw, report);
  const inline = declareActions(raw.actions ?? [], report);
  const lookup = (id: string): ActionIR | undefined => inline.get(id) ?? standardAction(id);

  const rules: RuleIR[] = [];
  const ruleSources: RuleSourceMap = {};
  const addListRule = (key: 'forbidden_actions' | 'escalation_required' | 'allowed_actions', decision: Decision) => {
    const list = raw[key];
    if (!list || list.length === 0) return;
    rules.push({ id: key, actions: [...new Set(list)], decision, conditions: [] });
    ruleSources[key] = [key];
  };
  addListRule('forbidden_actions', 'deny');
  addListRule('escalation_required', 'escalate');
  (raw.rules ?? []).forEach((rule, index) => {
    const id = rule.id ?? `rules[${index}]`;
    const actions = [...new Set(Array.isArray(rule.action) ? rule.action : [rule.action])];
    const conditions = normalizeConditions(rule, index, actions, lookup, report);
    if (ruleSources[id]) {
      report('duplicate-rule-id', `rule id '${id}' is used more than once`, ['rules', index, 'id']);
      return;
    }
    rules.push({ id, actions, decision: rule.decision, conditions });
    ruleSources[id] = ['rules', index];
  });
  addListRule('allowed_actions', 'allow');

  const referenced = new Set<string>([...rules.flatMap((r) => r.actions), ...inline.keys()]);
  for (const [from, to] of Object.entries(raw.tool_transitions ?? {})) {
    referenced.add(from);
    for (const t of to) referenced.add(t);
  }
  const actions: Record<string, ActionIR> = {};
  for (const id of [...referenced].sort()) {
    const action = lookup(id);
    if (action) actions[id] = action;
  }

  const ir: PolicyIR = {
    irVersion: 1,
    name: raw.name,
    version: raw.version === undefined ? '' : String(raw.version),
    description: raw.description ?? '',
    defaultDecision,
    rules,
    actions,
    riskEscalations: riskEscalations(raw.risk, inline),
    toolTransitions: Object.fromEntries(
      Object.entries(raw.tool_transitions ?? {}).map(([from, to]) => [from, [...new Set(to)]]),
    ),
    metadata: raw.metadata ?? {},
  };
  if (raw.rate_limits !== undefined) ir.rateLimits = raw.rate_limits;

  const examples: PolicyExample[] = (raw.examples ?? []).map((e, i) => {
    const example: PolicyExample = {
      name: e.name ?? `examples[${i}]`,
      action: e.action,
      params: e.params ?? {},
      context: e.context ?? {},
      expect: e.expect,
    };
    if (e.previous_action !== undefined) example.previous_action = e.previous_action;
    if (e.rule !== undefined) example.rule = e.rule;
    return example;
  });

  const failed = diagnostics.some((d) => d.severity === 'error');
  return failed ? { examples, ruleSources, diagnostics } : { ir, examples, ruleSources, diagnostics };
}

/** Reports a diagnostic at a path of the source document. */
export type Report = (code: DiagnosticCode, message: string, path: (string | number)[], hint?: string, key?: boolean) => void;

function resolveDefault(raw: RawPolicy, report: Report): Decision {
  const fromDeny: Decision | undefined = raw.default_deny === undefined ? undefined : raw.default_deny ? 'deny' : 'allow';
  if (raw.default_decision !== undefined && fromDeny !== undefined && raw.default_decision !== fromDeny) {
    report(
      'conflicting-default',
      `default_decision '${raw.default_decision}' contradicts default_deny: ${String(raw.default_deny)}`,
      ['default_deny'],
      'keep only default_decision',
    );
  }
  const decision = raw.default_decision ?? fromDeny ?? 'deny';
  if (decision === 'allow') {
    const at = raw.default_decision !== undefined ? ['default_decision'] : ['default_deny'];
    report('default-allow', 'the default decision is allow: actions no rule covers are allowed', at, 'use deny or escalate in production');
  }
  return decision;
}

function declareActions(declared: RawAction[], report: Report): Map<string, ActionIR> {
  const inline = new Map<string, ActionIR>();
  declared.forEach((a, index) => {
    if (inline.has(a.id) || STANDARD_ACTION_IDS.includes(a.id)) {
      const what = inline.has(a.id) ? 'declared twice' : 'already a standard action';
      report('duplicate-action', `action '${a.id}' is ${what}`, ['actions', index, 'id']);
      return;
    }
    const parameters: JsonObject = a.parameters ?? { type: 'object' };
    const problem = parameterSchemaProblem(parameters);
    if (problem) {
      report('invalid-parameter-schema', `parameter schema of '${a.id}' is not a valid JSON Schema: ${problem}`, ['actions', index, 'parameters']);
      return;
    }
    inline.set(a.id, {
      id: a.id,
      category: a.category ?? 'custom',
      risk: a.risk_level ?? 'moderate',
      humanReview: a.requires_human_review ?? false,
      description: a.description ?? '',
      parameters,
      kinds: kindsOf(parameters),
      source: 'inline',
    });
  });
  return inline;
}

function riskEscalations(risk: RawPolicy['risk'], inline: Map<string, ActionIR>): RiskEscalationIR[] {
  if (!risk) return [];
  const threshold = risk.escalate_at_or_above ? RISK_LEVELS.indexOf(risk.escalate_at_or_above) : Infinity;
  const all = [...STANDARD_ACTION_IDS.map((id) => standardAction(id) as ActionIR), ...inline.values()];
  const out: RiskEscalationIR[] = [];
  for (const action of all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (RISK_LEVELS.indexOf(action.risk) >= threshold) {
      out.push({
        action: action.id,
        rule: `risk:${risk.escalate_at_or_above}`,
        reason: `action '${action.id}' has risk '${action.risk}', at or above '${risk.escalate_at_or_above}'`,
      });
    } else if (risk.escalate_human_review && action.humanReview) {
      out.push({ action: action.id, rule: 'risk:human_review', reason: `action '${action.id}' requires human review` });
    }
  }
  return out;
}

/** The kind of a condition path's fact for the rule's actions, the derived kinds of URL and email parts included. */
function kindFor(path: string, actions: string[], lookup: (id: string) => ActionIR | undefined): ValueKind | { conflict: string } {
  const found = new Map<ValueKind, string>();
  for (const id of actions) {
    const action = lookup(id);
    if (!action) continue;
    const kind = resolvePath(action, path).factKind;
    if (!found.has(kind)) found.set(kind, id);
  }
  if (found.size > 1) {
    return { conflict: [...found.entries()].map(([kind, id]) => `${kind} in '${id}'`).join(', ') };
  }
  return [...found.keys()][0] ?? 'plain';
}

function asList(value: unknown): string[] {
  return Array.isArray(value) ? (value as string[]) : [value as string];
}

function normalizeConditions(
  rule: RawRule,
  ruleIndex: number,
  actions: string[],
  lookup: (id: string) => ActionIR | undefined,
  report: Report,
): ConditionIR[] {
  const conditions: ConditionIR[] = [];
  const rulePath = ['rules', ruleIndex];
  for (const [path, operators] of Object.entries(rule.conditions ?? {})) {
    const at = [...rulePath, 'conditions', path];
    const resolved = kindFor(path, actions, lookup);
    if (typeof resolved !== 'string') {
      report('invalid-operand', `parameter '${path}' has different kinds across the rule's actions: ${resolved.conflict}`, at, 'split the rule', true);
      continue;
    }
    const kind = resolved;
    warnUnknownParameter(path, actions, lookup, at, report);
    for (const [opName, operand] of Object.entries(operators)) {
      const op = opName as ConditionOp;
      const opAt = [...at, opName];
      const fact = factKey(op, path);
      const base = { path, fact, kind };
      switch (op) {
        case 'prefix':
        case 'suffix': {
          const values = asList(operand).map((v) => canonicalOperand(v, kind, op, path, opAt, report));
          if (op === 'prefix' && kind === 'path') {
            for (const v of values) {
              if (!v.endsWith('/')) {
                report('prefix-without-slash', `path prefix '${v}' has no trailing slash, so it also matches '${v}-other'`, opAt, `write '${v}/'`);
              }
            }
          }
          conditions.push({ op, ...base, values });
          break;
        }
        case 'allowlist':
        case 'denylist': {
          const patterns = asList(operand).map((p) => (kind === 'domain' ? canonicalDomainPattern(p) : p));
          conditions.push({ op, ...base, patterns });
          break;
        }
        case 'equals': {
          const value = typeof operand === 'string' ? canonicalOperand(operand, kind, op, path, opAt, report) : (operand as Scalar);
          conditions.push({ op, ...base, value });
          break;
        }
        case 'one_of': {
          const values = (operand as Scalar[]).map((v) =>
            typeof v === 'string' ? canonicalOperand(v, kind, op, path, opAt, report) : v,
          );
          conditions.push({ op, ...base, values: uniqueScalars(values) });
          break;
        }
        case 'min':
        case 'max':
        case 'min_length':
        case 'max_length':
          conditions.push({ op, ...base, value: operand as number });
          break;
        case 'exists':
          conditions.push({ op, ...base, value: operand as boolean });
          break;
        case 'regex': {
          const pattern = operand as string;
          try {
            RE2JS.compile(pattern);
          } catch (error) {
            report('invalid-regex', `regex '${pattern}' on '${path}' is not a valid RE2 expression: ${(error as Error).message}`, opAt);
          }
          conditions.push({ op, ...base, pattern });
          break;
        }
        case 'cidr': {
          const ranges = asList(operand);
          const prefixes: string[] = [];
          for (const range of ranges) {
            const prefix = cidrPrefix(range);
            if (prefix === undefined) report('invalid-cidr', `'${range}' on '${path}' is not a CIDR range like 10.0.0.0/8`, opAt);
            else prefixes.push(prefix);
          }
          conditions.push({ op, ...base, ranges, prefixes });
          break;
        }
        case 'provenance':
          conditions.push({ op, ...base, labels: [...new Set(asList(operand))] as ProvenanceLabel[] });
          break;
        case 'source':
          conditions.push({ op, ...base, names: [...new Set(asList(operand))] });
          break;
        default: {
          const never: never = op;
          report('unknown-operator', `unknown operator '${String(never)}'`, opAt, undefined, true);
        }
      }
    }
  }
  lintNeverMatches(rule.decision, conditions, rulePath, report);
  lintFiresWhenMissing(rule, ruleIndex, actions, conditions, lookup, report);
  return conditions;
}

function uniqueScalars(values: Scalar[]): Scalar[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = `${typeof v}:${String(v)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Canonicalizes a string operand the way values of its kind are canonicalized. */
function canonicalOperand(
  value: string,
  kind: ValueKind,
  op: ConditionOp,
  path: string,
  at: (string | number)[],
  report: Report,
): string {
  if (kind === 'path') {
    if (op === 'suffix') return value;
    const canonical = canonicalPath(value);
    if (canonical === undefined) {
      report('invalid-operand', `'${value}' on path parameter '${path}' is not an absolute path`, at, 'path operands start with /');
      return value;
    }
    // normalize('/tmp/') keeps the slash; normalize('/tmp/.') drops it: keep what the author meant.
    return value.endsWith('/') && !canonical.endsWith('/') ? `${canonical}/` : canonical;
  }
  if (kind === 'domain') {
    if (op === 'equals' || op === 'one_of') return canonicalHost(value) ?? value.toLowerCase();
    return value.toLowerCase();
  }
  if (kind === 'url' && op !== 'suffix') {
    const url = canonicalUrl(value);
    if (op === 'prefix' && !URL_PREFIX_WITH_PATH.test(value)) {
      report(
        'prefix-without-slash',
        `URL prefix '${value}' does not end its host with '/', so it also matches '${value}.evil.io/' and '${value}@evil.io/'`,
        at,
        `test '${path}.host' instead, or end the prefix with '/'`,
      );
      return value;
    }
    return url?.href ?? value;
  }
  return value;
}

/** A URL prefix that fixes the host: scheme, '//', host, then '/'. */
const URL_PREFIX_WITH_PATH = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]+\//;
