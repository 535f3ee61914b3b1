/**
 * The committed raw Cedar policy sets stand alone: cedar-wasm decides them directly (no APE
 * encoder) on raw requests whose context is the APE request as the application has it. Generated
 * requests (fast-check, hostile and non-canonical values) are never allowed where native does not
 * allow; requests whose values Cedar can check exactly (plain values and canonical paths) and are
 * canonical get native's decision, and native's rule is among the policies Cedar reports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAuthorized, policySetTextToParts, policyToJson } from '@cedar-policy/cedar-wasm/nodejs';
import { compilePolicyFile, type CompiledPolicy } from '../../src/compiler/compile.js';
import { actionDefinition, planFacts, RequestPreparer, type DecisionRequest } from '../../src/compiler/engine-input.js';
import type { JsonObject, JsonValue } from '../../src/compiler/ir.js';
import { cedarFileNames } from '../../src/compiler/cedar/target.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { ADVERSARIAL, actionsOf } from '../conformance/cases.js';

const ROOT = new URL('../../', import.meta.url).pathname;

type Outcome = { decision: 'allow' | 'deny' | 'escalate'; rules: string[] } | { decision: 'refused' | 'error'; rules: string[] };

/** Each policy's `@ape_rule` and `@ape_decision`, by Cedar policy id, read with Cedar's own API. */
function annotationsOf(text: string): Map<string, { rule: string; decision: string }> {
  const parts = policySetTextToParts(text);
  if (parts.type !== 'success') throw new Error(JSON.stringify(parts));
  const out = new Map<string, { rule: string; decision: string }>();
  parts.policies.forEach((policyText, i) => {
    const json = policyToJson(policyText);
    if (json.type !== 'success') throw new Error(JSON.stringify(json));
    const notes = json.json.annotations ?? {};
    out.set(`policy${i}`, { rule: notes['ape_rule'] ?? '', decision: notes['ape_decision'] ?? '' });
  });
  return out;
}

/** Cedar's answer for a raw request, read as docs/cedar.md says (no APE code involved). */
function askCedar(text: string, notes: Map<string, { rule: string; decision: string }>, request: DecisionRequest): Outcome {
  const context: Record<string, unknown> = { params: request.params ?? {}, context: request.context ?? {} };
  if (request.previous_action !== undefined) context['previous_action'] = request.previous_action;
  const answer = isAuthorized({
    principal: { type: 'Agent', id: 'agent' },
    action: { type: 'Action', id: request.action },
    resource: { type: 'Tool', id: 'tool' },
    context: context as never,
    policies: { staticPolicies: text },
    entities: [],
  });
  if (answer.type !== 'success') return { decision: 'error', rules: [] };
  const reasons = answer.response.diagnostics.reason;
  const rules = reasons.map((id) => notes.get(id)?.rule ?? '?');
  if (answer.response.decision === 'allow') return { decision: 'allow', rules };
  const escalate = reasons.length > 0 && reasons.every((id) => notes.get(id)?.decision === 'escalate');
  return { decision: escalate ? 'escalate' : 'deny', rules };
}

function nativeOutcome(policy: CompiledPolicy, request: DecisionRequest): Outcome & { rule?: string | null } {
  try {
    const d = new NativeEvaluator(policy).decideSync(request);
    return { decision: d.decision, rules: [], rule: d.rule };
  } catch {
    return { decision: 'refused', rules: [] };
  }
}

/** Values of a schema's kind: canonical ones (from the policy's operands) and hostile, non-canonical ones. */
function valueFor(schema: JsonObject, operands: string[]): fc.Arbitrary<JsonValue> {
  const format = schema['format'];
  const type = schema['type'];
  const strings = (extra: readonly string[]) =>
    fc.oneof(fc.constantFrom(...extra, ...operands.map((o) => `${o}x`), ...operands), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }));
  if (format === 'path') {
    const segment = fc.constantFrom('workspace', 'srv', 'app', 'tmp', 'build', 'data', 'etc', '..', '.', '', '.env', 'secrets', 'a.pem', 'WORKSPACE', 'x\u0000', 'project');
    return fc.oneof(strings(ADVERSARIAL.path as string[]), fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`));
  }
  if (format === 'url' || format === 'domain' || format === 'email' || format === 'ip') return strings(ADVERSARIAL[format] as string[]);
  if (type === 'string') return strings(ADVERSARIAL.string as string[]);
  if (type === 'integer') return fc.oneof(fc.nat(), fc.constantFrom(0, 1, 65536, 65537, 1048576, 1048577, 2 ** 53));
  if (type === 'number') return fc.oneof(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.constantFrom(0, 0.5, 1e21, 1048576, 1048577, 7));
  if (type === 'boolean') return fc.boolean();
  if (type === 'array') return fc.array(fc.constantFrom('bob@example.com', 'eve@evil.io'), { maxLength: 25 });
  if (type === 'object') return fc.dictionary(fc.constantFrom('host', 'accept'), fc.string({ maxLength: 5 }), { maxKeys: 2 });
  const untyped: fc.Arbitrary<JsonValue>[] = [fc.string({ maxLength: 5 }), fc.constant({}), fc.constant([1])];
  return fc.oneof(...untyped);
}

/** Schema-valid requests with hostile values, for every action of the policy. */
function rawRequests(policy: CompiledPolicy, count: number, seed: number): DecisionRequest[] {
  const operands = policy.ir.rules.flatMap((r) =>
    r.conditions.flatMap((c) => ('values' in c && Array.isArray(c.values) ? (c.values as unknown[]).filter((v): v is string => typeof v === 'string') : 'patterns' in c ? c.patterns.map((p) => p.replace(/\*/g, 'ab')) : [])),
  );
  const actions = actionsOf(policy).filter((a) => actionDefinition(policy.ir, a) !== undefined);
  const request = fc.constantFrom(...actions).chain((action) => {
    const schema = (actionDefinition(policy.ir, action) as { parameters: JsonObject }).parameters;
    const properties = (schema['properties'] ?? {}) as Record<string, JsonObject>;
    const required = (schema['required'] ?? []) as string[];
    const record = Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, valueFor(s, operands)]));
    return fc.record(record, { requiredKeys: required }).map((params) => ({ action, params: params as Record<string, unknown> }));
  });
  return fc.sample(request, { numRuns: count, seed });
}

/** Whether JSON data is a Cedar value: no null, numbers only as 64-bit integers (safe ones here), no `__entity`/`__extn` escapes. */
function cedarData(value: unknown): boolean {
  if (value === undefined || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isSafeInteger(value);
  if (Array.isArray(value)) return value.every(cedarData);
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).every(([k, v]) => k !== '__entity' && k !== '__extn' && cedarData(v));
}

/**
 * Whether the raw form decides this request exactly (docs/cedar.md): every value the action's rules
 * read is a plain value or a path, read directly (no derived part, length or provenance), already
 * canonical, and the request holds only Cedar data (docs/cedar.md: a fraction or null is refused by Cedar).
 */
function exactlyDecidable(policy: CompiledPolicy, request: DecisionRequest): boolean {
  if (!cedarData(request.params) || !cedarData(request.context)) return false;
  let facts: Record<string, JsonValue>;
  try {
    facts = new RequestPreparer(policy.ir).prepare(request).facts;
  } catch {
    return false;
  }
  for (const spec of planFacts(policy.ir).plans.get(request.action) ?? []) {
    const { kind, derived, source, segments } = spec.resolved;
    if (spec.transform !== 'value' || derived !== undefined || (kind !== 'plain' && kind !== 'path')) return false;
    let raw: unknown = source === 'params' ? request.params : request.context;
    for (const s of segments) raw = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[s] : undefined;
    if (raw === undefined) continue;
    if (facts[spec.fact] !== raw) return false;
    if (typeof raw === 'number' && !Number.isSafeInteger(raw)) return false;
    if (typeof raw === 'object') return false;
  }
  return true;
}

const examples = readdirSync(join(ROOT, 'policies'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((file) => {
    const text = readFileSync(join(ROOT, 'cedar', cedarFileNames(file).raw), 'utf8');
    return { file, policy: compilePolicyFile(join(ROOT, 'policies', file)), text, notes: annotationsOf(text) };
  });

describe('standalone Cedar: cedar-wasm on the committed raw policy sets, raw requests', () => {
  for (const { file, policy, text, notes } of examples) {
    it(`${file}: never an allow native does not give; exactly decidable requests decided as native`, () => {
      const unsafe: unknown[] = [];
      const different: unknown[] = [];
      let exact = 0;
      for (const request of rawRequests(policy, 300, 12)) {
        const native = nativeOutcome(policy, request);
        const cedar = askCedar(text, notes, request);
        if (cedar.decision === 'allow' && native.decision !== 'allow') unsafe.push({ request, native, cedar });
        if (native.decision !== 'refused' && exactlyDecidable(policy, request)) {
          exact++;
          const rule = native.rule ?? 'default';
          if (cedar.decision !== native.decision || !cedar.rules.includes(rule)) different.push({ request, native, cedar });
        }
      }
      expect(unsafe.slice(0, 5)).toEqual([]);
      expect(different.slice(0, 5)).toEqual([]);
      expect(exact).toBeGreaterThan(20);
    });
  }

  it('requests that violate the action schema (missing, mistyped, fractional, nested values) are never allowed', () => {
    const wrong: JsonValue[] = [7, 1.5, -1, 'text', true, { a: 1 }, [1], null, { __entity: { type: 'Agent', id: 'x' } }];
    for (const { policy, text, notes } of examples) {
      const unsafe: unknown[] = [];
      for (const [i, request] of rawRequests(policy, 60, 11).entries()) {
        const schema = (actionDefinition(policy.ir, request.action) as { parameters: JsonObject }).parameters;
        const names = Object.keys((schema['properties'] ?? {}) as object);
        const params = { ...(request.params ?? {}) };
        const name = names[i % Math.max(names.length, 1)];
        if (name === undefined) continue;
        if (i % 3 === 0) delete params[name];
        else params[name] = wrong[i % wrong.length] as JsonValue;
        const mutated = { action: request.action, params };
        const native = nativeOutcome(policy, mutated);
        const cedar = askCedar(text, notes, mutated);
        if (cedar.decision === 'allow' && native.decision !== 'allow') unsafe.push({ mutated, native, cedar });
      }
      expect(unsafe.slice(0, 5)).toEqual([]);
    }
  });

  it('non-canonical spellings of allowed paths are never allowed; deny rules still fire', () => {
    const { policy, text, notes } = examples.find((e) => e.file === 'scoped_access.yaml') as (typeof examples)[number];
    const ask = (path: unknown, action = 'read_file') => askCedar(text, notes, { action, params: { path } });
    expect(ask('/workspace/notes.md')).toEqual({ decision: 'allow', rules: ['workspace-read'] });
    const spellings: [string, string][] = [
      ['/workspace/../etc/passwd', 'deny'],
      ['/workspace/./notes.md', 'allow'],
      ['/workspace//notes.md', 'allow'],
      ['/workspace/..', 'deny'],
      ['/workspace/.', 'deny'],
      ['/workspace/x\u0000', 'deny'],
      ['workspace/notes.md', 'deny'],
    ];
    for (const [path, native] of spellings) {
      expect(nativeOutcome(policy, { action: 'read_file', params: { path } }).decision, path).toBe(native);
      expect(ask(path).decision, path).toBe('deny');
    }
    // A secret behind a non-canonical spelling: the deny rule fires (fail closed), not only the default.
    expect(ask('/workspace/./.env').rules).toContain('no-secrets');
    expect(ask('/workspace/.env')).toEqual({ decision: 'deny', rules: ['no-secrets'] });
    // A path of the wrong type: no permit applies (the well-typedness guard errs), never an allow.
    expect(ask(5).decision).not.toBe('allow');
    expect(ask(['/workspace/a']).decision).not.toBe('allow');
  });

  it('values Cedar cannot check (hosts, URLs, lengths) fail closed: allow rules never hold, deny and escalate rules do', () => {
    const scoped = examples.find((e) => e.file === 'scoped_access.yaml') as (typeof examples)[number];
    expect(nativeOutcome(scoped.policy, { action: 'http_get', params: { url: 'https://api.example.com/x' } }).decision).toBe('allow');
    expect(askCedar(scoped.text, scoped.notes, { action: 'http_get', params: { url: 'https://api.example.com/x' } }).decision).toBe('deny');
    expect(askCedar(scoped.text, scoped.notes, { action: 'http_get', params: { url: 'HTTPS://API.EXAMPLE.COM./x' } }).decision).toBe('deny');
    const dev = examples.find((e) => e.file === 'development.yaml') as (typeof examples)[number];
    expect(askCedar(dev.text, dev.notes, { action: 'run_shell_command', params: { command: 'rm -rf / && ls', cwd: '/a/../b' } }).decision).toBe('deny');
  });
});
