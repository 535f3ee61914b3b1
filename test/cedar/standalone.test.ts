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
import { policySetTextToParts, policyToJson, preparsePolicySet, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { compilePolicyFile, compilePolicySource, type CompiledPolicy } from '../../src/compiler/compile.js';
import { compileCedarRaw } from '../../src/compiler/cedar/index.js';
import { actionDefinition, planFacts, RequestPreparer, type DecisionRequest } from '../../src/compiler/engine-input.js';
import type { JsonObject, JsonValue } from '../../src/compiler/ir.js';
import { cedarFileNames } from '../../src/compiler/cedar/target.js';
import { isIdent } from '../../src/compiler/cedar/writer.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { nested, rawRequests } from '../conformance/raw-requests.js';

const ROOT = new URL('../../', import.meta.url).pathname;

type Outcome = { decision: 'allow' | 'deny' | 'escalate' | 'refused' | 'error'; rules: string[]; errors?: number };

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
const preparsed = new Map<string, string>();
function askCedar(text: string, notes: Map<string, { rule: string; decision: string }>, request: DecisionRequest): Outcome {
  let setId = preparsed.get(text);
  if (setId === undefined) {
    setId = `standalone-${preparsed.size}`;
    const parsed = preparsePolicySet(setId, { staticPolicies: text });
    if (parsed.type !== 'success') throw new Error(JSON.stringify(parsed));
    preparsed.set(text, setId);
  }
  const context: Record<string, unknown> = { params: request.params ?? {}, context: request.context ?? {} };
  if (request.previous_action !== undefined) context['previous_action'] = request.previous_action;
  let answer: ReturnType<typeof statefulIsAuthorized>;
  try {
    answer = statefulIsAuthorized({
      principal: { type: 'Agent', id: 'agent' },
      action: { type: 'Action', id: request.action },
      resource: { type: 'Tool', id: 'tool' },
      context: context as never,
      preparsedPolicySetId: setId,
      entities: [],
    });
  } catch {
    // cedar-wasm throws on JSON it cannot read (a lone surrogate, nesting beyond its parser's recursion limit): no answer.
    return { decision: 'error', rules: [] };
  }
  if (answer.type !== 'success') return { decision: 'error', rules: [] };
  const reasons = answer.response.diagnostics.reason;
  const rules = reasons.map((id) => notes.get(id)?.rule ?? '?');
  const errors = answer.response.diagnostics.errors.length;
  if (answer.response.decision === 'allow') return { decision: 'allow', rules, errors };
  const escalate = reasons.length > 0 && reasons.every((id) => notes.get(id)?.decision === 'escalate');
  return { decision: escalate ? 'escalate' : 'deny', rules, errors };
}

function nativeOutcome(policy: CompiledPolicy, request: DecisionRequest): Outcome & { rule?: string | null } {
  try {
    const d = new NativeEvaluator(policy).decideSync(request);
    return { decision: d.decision, rules: [], rule: d.rule };
  } catch {
    return { decision: 'refused', rules: [] };
  }
}

/** Whether JSON data is a Cedar value: no null, numbers only as 64-bit integers (safe ones here), no `__entity`/`__extn` escapes. */
function cedarData(value: unknown): boolean {
  if (value === undefined || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isSafeInteger(value);
  if (Array.isArray(value)) return value.every(cedarData);
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).every(([k, v]) => k !== '__entity' && k !== '__extn' && cedarData(v));
}

/** The keys an action's rules read under `params` or `context` (identifier keys only), as nested maps. */
type Reads = Map<string, Reads>;
function readsOf(policy: CompiledPolicy, action: string, source: 'params' | 'context'): Reads {
  const root: Reads = new Map();
  for (const spec of planFacts(policy.ir).plans.get(action) ?? []) {
    const { segments } = spec.resolved;
    if (spec.resolved.source !== source || segments.length === 0 || !segments.every(isIdent)) continue;
    let node = root;
    for (const segment of segments) {
      const next: Reads = node.get(segment) ?? new Map();
      node.set(segment, next);
      node = next;
    }
  }
  return root;
}

/** Whether a value holds only keys some rule reads, records along the read paths and scalars at their ends (docs/cedar.md: the raw form refuses everything else). */
function fitsReads(value: unknown, reads: Reads): boolean {
  if (reads.size === 0) return value === null || typeof value !== 'object';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.entries(value).every(([k, v]) => reads.has(k) && fitsReads(v, reads.get(k) as Reads));
}

/**
 * Whether the raw form decides this request exactly (docs/cedar.md): every value the action's rules
 * read is a plain value or a path, read directly (no derived part, length or provenance), already
 * canonical, and the request holds only Cedar data (docs/cedar.md: a fraction or null is refused by Cedar).
 */
function exactlyDecidable(policy: CompiledPolicy, request: DecisionRequest): boolean {
  if (!cedarData(request.params) || !cedarData(request.context)) return false;
  // Context values no rule reads (and, for an action without a definition, such parameters) are refused.
  if (request.context !== undefined && !fitsReads(request.context, readsOf(policy, request.action, 'context'))) return false;
  if (actionDefinition(policy.ir, request.action) === undefined && !fitsReads(request.params ?? {}, readsOf(policy, request.action, 'params'))) return false;
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
    for (const s of segments) {
      if (raw === undefined) break;
      // A parent that is not a record makes Cedar's evaluation err (no permit applies): denied, not exact.
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return false;
      raw = Object.prototype.hasOwnProperty.call(raw, s) ? (raw as Record<string, unknown>)[s] : undefined;
    }
    if (raw === undefined) continue;
    if (facts[spec.fact] !== raw) return false;
    // The value has the one JSON type every condition on it tests (else native's deny and escalate
    // rules hold for the mistyped value, and the raw form refuses every permit instead).
    const tested = policy.ir.rules.flatMap((r) => (r.actions.includes(request.action) ? r.conditions : [])).filter((c) => c.fact === spec.fact && c.op !== 'exists');
    // A value only `exists` reads must be a string or a boolean (docs/cedar.md: Cedar cannot test "any scalar").
    if (tested.length === 0 && typeof raw !== 'string' && typeof raw !== 'boolean') return false;
    for (const c of tested) {
      const wanted =
        c.op === 'equals' || c.op === 'one_of' ? new Set((c.op === 'equals' ? [c.value] : c.values).map((x) => typeof x)) : new Set([c.op === 'min' || c.op === 'max' ? 'number' : 'string']);
      if (wanted.size !== 1 || !wanted.has(typeof raw)) return false;
    }
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
      const decided = new Set<string>();
      for (const request of rawRequests(policy, 300, 12)) {
        const native = nativeOutcome(policy, request);
        const cedar = askCedar(text, notes, request);
        if (cedar.decision === 'allow' && native.decision !== 'allow') unsafe.push({ request, native, cedar });
        if (native.decision !== 'refused' && exactlyDecidable(policy, request)) {
          exact++;
          const rule = native.rule ?? 'default';
          if (cedar.decision !== native.decision || !cedar.rules.includes(rule) || cedar.errors !== 0) different.push({ request, native, cedar });
          decided.add(native.decision);
        }
      }
      expect(unsafe.slice(0, 5)).toEqual([]);
      expect(different.slice(0, 5)).toEqual([]);
      expect(exact).toBeGreaterThan(20);
      // The exactly decided requests are not all of one outcome (the policy's allow rules on paths and plain values fire).
      expect(decided.size, [...decided].join()).toBeGreaterThan(1);
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

  it('generated schema violations and deep or ill-formed values (params and context) are never allowed', () => {
    let refused = 0;
    let allowed = 0;
    for (const { policy, text, notes } of examples) {
      const unsafe: unknown[] = [];
      for (const request of rawRequests(policy, 300, 31, { violations: true, context: true })) {
        const native = nativeOutcome(policy, request);
        if (native.decision === 'refused') refused++;
        const cedar = askCedar(text, notes, request);
        if (cedar.decision === 'allow') allowed++;
        if (cedar.decision === 'allow' && native.decision !== 'allow') unsafe.push({ request, native, cedar });
      }
      expect(unsafe.slice(0, 5)).toEqual([]);
    }
    expect(refused).toBeGreaterThan(300);
    expect(allowed).toBeGreaterThan(3);
  });

  it('non-canonical spellings of allowed paths are never allowed; deny rules still fire', () => {
    const { policy, text, notes } = examples.find((e) => e.file === 'scoped_access.yaml') as (typeof examples)[number];
    const ask = (path: unknown, action = 'read_file') => askCedar(text, notes, { action, params: { path } });
    expect(ask('/workspace/notes.md')).toEqual({ decision: 'allow', rules: ['workspace-read'], errors: 0 });
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
    expect(ask('/workspace/.env')).toEqual({ decision: 'deny', rules: ['no-secrets'], errors: 0 });
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

/** Context paths, nested reads, integers against fractional bounds, mixed-type one_of, exists, transitions, a default of allow. */
const EDGES = `
name: raw_edges
version: "1"
default_decision: allow
actions:
  - id: op
    description: an action of this test
    risk_level: low
    parameters:
      type: object
      additionalProperties: false
      required: [name]
      properties:
        name: { type: string }
        dir: { type: string, format: path }
        n: { type: integer, minimum: -5 }
        flag: { type: boolean }
rules:
  - { id: deny-secret, action: op, decision: deny, conditions: { name: { allowlist: ["*secret*", "a\\"b*", "*) || true }; permit (principal, action, resource); //*"] } } }
  - { id: esc-big, action: op, decision: escalate, conditions: { n: { min: 100.5 } } }
  - { id: esc-risk, action: op, decision: escalate, conditions: { context.session.risk: { one_of: ["high", "severe"] } } }
  - { id: allow-mixed, action: op, decision: allow, conditions: { context.session.tier: { one_of: [1, "1", true] } } }
  - { id: deny-etc, action: op, decision: deny, conditions: { dir: { prefix: ["/etc/"] } } }
  - { id: allow-tmp, action: op, decision: allow, conditions: { dir: { prefix: ["/tmp/"] }, n: { max: 7.5 }, flag: { equals: true } } }
  - { id: no-flag, action: op, decision: allow, conditions: { flag: { exists: false }, name: { equals: "ok" } } }
  - { id: deny-noflag, action: op, decision: deny, conditions: { flag: { exists: false }, name: { equals: "strict" } } }
tool_transitions:
  op: [op, read_file]
`;

describe('standalone Cedar: the raw form on edge cases', () => {
  const policy = compilePolicySource(EDGES, 'raw_edges.yaml');
  const text = compileCedarRaw(policy);
  const notes = annotationsOf(text);

  it('policy operands stay inside their literals (one Cedar policy per rule, transition and outcome)', () => {
    expect(text.match(/^(permit|forbid) \(/gm)?.length).toBe(8 + 1 + 1);
  });

  it('generated requests: never an allow native does not give, exactly decidable ones decided as native', () => {
    // Mostly schema-valid values (so that many requests are decided exactly), some hostile or mistyped.
    const mostly = <T extends JsonValue>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<JsonValue>) => fc.oneof({ arbitrary: valid as fc.Arbitrary<JsonValue>, weight: 5 }, { arbitrary: other, weight: 1 });
    const opParams = fc.record(
      {
        name: mostly(fc.oneof(fc.constantFrom('strict', 'my secret', 'a"b', 'a"bc', 'ok', 'x) || true }; permit (principal, action, resource); //y'), fc.string({ maxLength: 6 })), fc.constantFrom<JsonValue>(5, true)),
        dir: mostly(fc.constantFrom('/tmp/a', '/etc/passwd', '/srv', '/tmp/', '/etcetera'), fc.oneof(fc.constantFrom<JsonValue>('/tmp/../etc/x', '/tmp//a', '/tmp/.', 'tmp/a', '/TMP/a', '/tmp/a\u0000', 4), fc.string({ maxLength: 6 }))),
        n: mostly(fc.constantFrom(-5, 0, 7, 8, 100, 101, 2 ** 40), fc.constantFrom<JsonValue>(-6, 2 ** 53, 7.5, 'seven', true)),
        flag: mostly(fc.boolean(), fc.constantFrom<JsonValue>('true', 1)),
        extra: fc.constant<JsonValue>('x'),
      },
      { requiredKeys: [] },
    ).map((p) => {
      const out: Record<string, JsonValue> = { ...p };
      if (out['extra'] !== undefined && out['n'] !== 7) delete out['extra'];
      return out;
    });
    const paramsOf = (action: string) =>
      action === 'op' ? opParams : action === 'read_file' ? fc.constant<Record<string, JsonValue>>({ path: '/tmp/a' }) : fc.constant<Record<string, JsonValue>>({ path: '/tmp/a', content: 'c' });
    const context = fc.option(
      fc.record({ session: mostly(fc.record({ risk: mostly(fc.constantFrom('low', 'high', 'severe', 'low'), fc.constantFrom<JsonValue>(3, true, [3], {}, 'HIGH')), tier: fc.constantFrom<JsonValue>(1, '1', true, 2, false) }, { requiredKeys: ['risk'] }), fc.constant('x')) }, { requiredKeys: [] }),
      { nil: undefined, freq: 6 },
    );
    const previous = fc.option(fc.constantFrom('op', 'read_file', 'other'), { nil: undefined });
    const request = fc
      .constantFrom('op', 'op', 'op', 'read_file', 'write_file')
      .chain((action) => fc.record({ action: fc.constant(action), params: paramsOf(action), context, previous_action: previous }))
      .map((r) => {
        const out: DecisionRequest = { action: r.action, params: r.params };
        if (r.context !== undefined) out.context = r.context;
        if (r.previous_action !== undefined) out.previous_action = r.previous_action;
        return out;
      });
    const unsafe: unknown[] = [];
    const different: unknown[] = [];
    const decided = new Set<string>();
    // Directed requests for every rule (the generated ones add the hostile and mistyped variations).
    const low = { session: { risk: 'low' } };
    const base = { name: 'ok', dir: '/srv', n: 1, flag: false };
    const directed: DecisionRequest[] = [
      { name: 'my secret' },
      { n: 101 },
      { dir: '/etc/passwd' },
      { dir: '/tmp/x', flag: true },
      { flag: undefined },
      { name: 'strict', flag: undefined },
      {},
    ].map((p) => ({ action: 'op', params: JSON.parse(JSON.stringify({ ...base, ...p })) as Record<string, unknown>, context: low }));
    directed.push({ action: 'op', params: base, context: { session: { risk: 'severe' } } }, { action: 'write_file', params: { path: '/a', content: 'c' }, previous_action: 'op' });
    for (const r of [...directed, ...fc.sample(request, { numRuns: 2000, seed: 5 })]) {
      const native = nativeOutcome(policy, r);
      const cedar = askCedar(text, notes, r);
      if (cedar.decision === 'allow' && native.decision !== 'allow') unsafe.push({ r, native, cedar });
      if (native.decision !== 'refused' && exactlyDecidable(policy, r)) {
        decided.add(`${native.decision}:${native.rule ?? 'default'}`);
        if (cedar.decision !== native.decision || !cedar.rules.includes(native.rule ?? 'default') || cedar.errors !== 0) different.push({ r, native, cedar });
      }
    }
    expect(unsafe.slice(0, 5)).toEqual([]);
    expect(different.slice(0, 5)).toEqual([]);
    // Every rule, the transition and the default decide some exactly decidable request.
    for (const outcome of ['deny:deny-secret', 'escalate:esc-big', 'escalate:esc-risk', 'deny:deny-etc', 'allow:allow-tmp', 'allow:no-flag', 'deny:deny-noflag', 'deny:tool_transitions', 'allow:default']) {
      expect([...decided], outcome).toContain(outcome);
    }
  });

  it('an extra parameter, a wrong type or a malformed parent never lets a permit apply', () => {
    const low = { session: { risk: 'low' } };
    const ask = (r: DecisionRequest) => askCedar(text, notes, { context: low, ...r }).decision;
    const native = (r: DecisionRequest) => nativeOutcome(policy, { context: low, ...r }).decision;
    const tmp = { name: 'ok', dir: '/tmp/a', n: 1, flag: true };
    expect(ask({ action: 'op', params: tmp })).toBe('allow');
    expect(ask({ action: 'op', params: { ...tmp, dir: '/srv' } })).toBe('allow');
    const noFlag = { action: 'op', params: { name: 'ok', dir: '/srv', n: 1 } };
    expect(nativeOutcome(policy, { context: low, ...noFlag })).toMatchObject({ decision: 'allow', rule: 'no-flag' });
    expect(askCedar(text, notes, { context: low, ...noFlag })).toMatchObject({ decision: 'allow', errors: 0 });
    expect(askCedar(text, notes, { context: low, ...noFlag }).rules).toContain('no-flag');
    expect(ask({ action: 'op', params: { ...tmp, extra: 1 } })).toBe('deny');
    expect(native({ action: 'op', params: { ...tmp, extra: 1 } })).toBe('refused');
    expect(ask({ action: 'op', params: { ...tmp, flag: 'true' } })).toBe('deny');
    expect(ask({ action: 'op', params: { ...tmp, dir: 5 } })).toBe('deny');
    expect(ask({ action: 'op', params: { ...tmp, n: -6 } })).toBe('deny');
    expect(native({ action: 'op', params: { ...tmp, n: -6 } })).toBe('refused');
    // A parent that is not a record: native escalates (the risk is missing), Cedar's evaluation errs and no permit applies.
    expect(native({ action: 'op', params: tmp, context: { session: 'high' } })).toBe('escalate');
    expect(ask({ action: 'op', params: tmp, context: { session: 'high' } })).toBe('deny');
    expect(ask({ action: 'op', params: tmp, context: {} })).toBe('escalate');
    // Fractions and null are no Cedar values: the request is refused (Cedar answers nothing, never Allow).
    expect(ask({ action: 'op', params: { ...tmp, n: 1.5 } })).toBe('error');
    expect(ask({ action: 'op', params: { ...tmp, n: null } })).toBe('error');
    expect(ask({ action: 'op', params: 'name=ok' as unknown as Record<string, unknown> })).toBe('deny');
    // The request's shape, as APE refuses it: params and context objects, previous_action a string.
    for (const bad of [{ previous_action: 5 }, { previous_action: ['op'] }, { context: 'x' }, { context: [1] }] as Record<string, unknown>[]) {
      const r = { action: 'op', params: tmp, ...bad } as unknown as DecisionRequest;
      expect(native(r), JSON.stringify(bad)).toBe('refused');
      expect(ask(r), JSON.stringify(bad)).not.toBe('allow');
    }
    const open = compilePolicySource('name: open\nversion: "1"\ndefault_decision: allow\nrules: []\n', 'open.yaml');
    const openText = compileCedarRaw(open);
    const openNotes = annotationsOf(openText);
    // An action without a definition takes no parameter the rules do not read (Cedar cannot see how deep it nests): native allows, the raw form denies.
    expect(askCedar(openText, openNotes, { action: 'some_tool' }).decision).toBe('allow');
    expect(askCedar(openText, openNotes, { action: 'some_tool', params: {} }).decision).toBe('allow');
    expect(nativeOutcome(open, { action: 'some_tool', params: { a: [1, { b: 'c' }] } }).decision).toBe('allow');
    expect(askCedar(openText, openNotes, { action: 'some_tool', params: { a: [1, { b: 'c' }] } }).decision).toBe('deny');
    for (const bad of [{ params: 'x' }, { params: [1] }, { context: 'x' }, { previous_action: 1 }] as Record<string, unknown>[]) {
      const r = { action: 'some_tool', ...bad } as unknown as DecisionRequest;
      expect(nativeOutcome(open, r).decision, JSON.stringify(bad)).toBe('refused');
      expect(askCedar(openText, openNotes, r).decision, JSON.stringify(bad)).not.toBe('allow');
    }
    // Without params at all the required name is missing.
    expect(ask({ action: 'op' })).toBe('deny');
  });

  it('values nested deeper than APE allows are never allowed: context keys no rule reads, undeclared parameters, nested read values', () => {
    const tmp = { name: 'ok', dir: '/tmp/a', n: 1, flag: true };
    const low = { risk: 'low' };
    expect(askCedar(text, notes, { action: 'op', params: tmp, context: { session: low } }).decision).toBe('allow');
    const open = compilePolicySource('name: open\nversion: "1"\ndefault_decision: allow\nrules: []\n', 'open.yaml');
    const openText = compileCedarRaw(open);
    const openNotes = annotationsOf(openText);
    for (const depth of [63, 64, 65, 66, 80, 100]) {
      const deep = nested(depth);
      const requests: [CompiledPolicy, string, Map<string, { rule: string; decision: string }>, DecisionRequest][] = [
        [policy, text, notes, { action: 'op', params: tmp, context: { session: low, trace: deep } }],
        [policy, text, notes, { action: 'op', params: tmp, context: { session: { ...low, extra: deep } } }],
        [policy, text, notes, { action: 'op', params: tmp, context: { session: { risk: deep } } }],
        [policy, text, notes, { action: 'read_file', params: { path: '/tmp/a' }, context: { trace: deep } }],
        [open, openText, openNotes, { action: 'some_tool', params: { a: deep } }],
        [open, openText, openNotes, { action: 'read_file', params: { path: '/a' }, context: { a: deep } }],
      ];
      for (const [p, t, n, r] of requests) {
        const native = nativeOutcome(p, r).decision;
        if (depth >= 65) expect(native, `${depth} ${JSON.stringify(Object.keys(r.context ?? r.params ?? {}))}`).toBe('refused');
        // cedar-wasm reads nesting up to its parser's limit (about 128 levels): below it the raw form must refuse every permit itself.
        expect(askCedar(t, n, r).decision, `${depth}`).not.toBe('allow');
      }
    }
  });
});

/** The JSON Schema keywords the raw form checks exactly (enum, const, integer bounds), and one it cannot (maxLength); six optional parameters, the most record equality enumerates. */
const KEYWORDS = `
name: cedar_keywords
version: "1"
default_decision: deny
actions:
  - id: tag
    description: parameters with checked keywords
    risk_level: low
    parameters:
      type: object
      additionalProperties: false
      properties:
        color: { type: string, enum: [red, green, "\\U0001F600"] }
        k: { type: integer, exclusiveMinimum: 0.5, maximum: 100.5 }
        z: { type: integer, exclusiveMaximum: 0 }
        level: { type: integer, enum: [1, 2, 2.5] }
        flag: { type: boolean, const: true }
        label: { type: string, maxLength: 3 }
rules:
  - { id: tag-ok, action: tag, decision: allow }
`;

describe('standalone Cedar: schema keywords in the raw form', () => {
  const policy = compilePolicySource(KEYWORDS, 'cedar_keywords.yaml');
  const text = compileCedarRaw(policy);
  const notes = annotationsOf(text);

  it('enum, const and integer bounds decide exactly as native; what Cedar cannot check (lengths) is never allowed', () => {
    const directed: [Record<string, unknown>, 'allow' | 'refused', 'allow' | 'deny'][] = [
      [{}, 'allow', 'allow'],
      [{ color: '😀' }, 'allow', 'allow'],
      [{ color: 'Red' }, 'refused', 'deny'],
      [{ k: 0 }, 'refused', 'deny'],
      [{ k: 1 }, 'allow', 'allow'],
      [{ k: 100 }, 'allow', 'allow'],
      [{ k: 101 }, 'refused', 'deny'],
      [{ z: -1 }, 'allow', 'allow'],
      [{ z: 0 }, 'refused', 'deny'],
      [{ level: 2 }, 'allow', 'allow'],
      [{ level: 3 }, 'refused', 'deny'],
      [{ flag: true }, 'allow', 'allow'],
      [{ flag: false }, 'refused', 'deny'],
      [{ label: 'ab' }, 'allow', 'deny'],
    ];
    for (const [params, native, cedar] of directed) {
      const request = { action: 'tag', params };
      expect(nativeOutcome(policy, request).decision, JSON.stringify(params)).toBe(native);
      expect(askCedar(text, notes, request).decision, JSON.stringify(params)).toBe(cedar);
    }
    const unsafe: unknown[] = [];
    const different: unknown[] = [];
    const seen = new Set<string>();
    const params = fc.record(
      {
        color: fc.constantFrom<JsonValue>('red', 'green', '😀', 'Red', '', 5, '\ud83d'),
        k: fc.constantFrom<JsonValue>(-1, 0, 1, 2, 100, 101, 1.5, 'x'),
        z: fc.constantFrom<JsonValue>(-5, -1, 0, 1, true),
        level: fc.constantFrom<JsonValue>(1, 2, 3, 2.5, '1'),
        flag: fc.constantFrom<JsonValue>(true, false, 'true', null),
        label: fc.constantFrom<JsonValue>('ab', 'abcd'),
      },
      { requiredKeys: [] },
    );
    const generated = fc.sample(params.map((p) => ({ action: 'tag', params: p as Record<string, unknown> })), { numRuns: 1200, seed: 41 });
    for (const request of [...generated, ...rawRequests(policy, 300, 41, { violations: true })]) {
      const native = nativeOutcome(policy, request);
      const cedar = askCedar(text, notes, request);
      if (cedar.decision === 'allow' && native.decision !== 'allow') unsafe.push({ request, native, cedar });
      const given = request.params ?? {};
      if (request.action === 'tag' && cedarData(given) && !('label' in given) && Object.values(given).every((v) => typeof v !== 'object')) {
        const expected = native.decision === 'allow' ? 'allow' : 'deny';
        seen.add(expected);
        // No answer (cedar-wasm refuses a lone surrogate) is a deny.
        if ((cedar.decision === 'error' ? 'deny' : cedar.decision) !== expected) different.push({ request, native, cedar });
      }
    }
    expect(unsafe.slice(0, 5)).toEqual([]);
    expect(different.slice(0, 5)).toEqual([]);
    expect([...seen].sort()).toEqual(['allow', 'deny']);
  });
});
