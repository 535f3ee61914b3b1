/**
 * The committed XACML artifacts stand alone: a real AuthzForce PDP serves xacml/*.xml as written,
 * and is asked with raw requests over HTTP, encoded as a PEP that never ran APE would encode them
 * (each parameter as it was sent, typed by its JSON type, its name in `urn:ape:param-names`, no
 * `urn:ape:facts-canonical`). Generated requests (fast-check, hostile and non-canonical values, extra
 * parameters, missing or incomplete names bags) are never allowed where native does not allow; requests whose values are canonical and whose rules read no derived fact are decided
 * exactly as native (decision and rule).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseXacmlResponse } from '../../src/adapters/xacml/index.js';
import { compilePolicyFile, compilePolicySource, type CompiledPolicy } from '../../src/compiler/compile.js';
import { actionDefinition, RequestPreparer, type DecisionRequest } from '../../src/compiler/engine-input.js';
import type { JsonObject, JsonValue } from '../../src/compiler/ir.js';
import { ATTRIBUTE, CATEGORY, compileXacml, DATATYPE, factAttributeId, PEP, policySetId, type XacmlPolicySet } from '../../src/compiler/xacml/index.js';
import { translatePattern } from '../../src/compiler/xacml/pattern.js';
import { xacmlFileName } from '../../src/compiler/xacml/target.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { nested, rawRequests } from '../conformance/raw-requests.js';
import { startAuthzforce, type RunningPdp } from '../setup/authzforce.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Markup, entities, CDATA ends, comment ends, quotes, whitespace, bidi and astral characters in ids and operands. */
const HOSTILE_XML = `
name: hostile_xml
version: "1"
description: "</Description><!-- --> ]]> &amp; \\"quotes\\" 'single'"
default_decision: deny
actions:
  - id: tag_item
    description: "an action </AttributeValue> with &amp; markup"
    risk_level: low
    parameters:
      type: object
      properties:
        label: { type: string }
        n: { type: number }
rules:
  - id: prefix-rule
    action: tag_item
    decision: allow
    conditions:
      label: { prefix: ["</AttributeValue>", "]]>", "&amp;", "a\\r\\nb", "\\t", " lead", "\\u202e", "😀"] }
  - id: deny-glob
    action: tag_item
    decision: deny
    conditions:
      label: { allowlist: ["*<!--*", "*-->*", "*.(x)+[y]?{z}|^$*", "*\\\\*"] }
  - id: esc
    action: tag_item
    decision: escalate
    conditions:
      n: { min: 0, max: 0 }
`;

/** `exists` on values the PolicySet cannot trust: a non-canonical path, a derived URL part. */
const EXISTS_KINDS = `
name: exists_kinds
default_decision: deny
rules:
  - id: no-cwd
    action: run_shell_command
    decision: allow
    conditions:
      cwd: { exists: false }
  - id: host-given
    action: http_get
    decision: deny
    conditions:
      url.host: { exists: true }
  - id: any-get
    action: http_get
    decision: allow
`;

/** An action with a closed schema that declares no parameter: no names bag can pass, so it is never allowed raw. */
const CLOSED_EMPTY = `
name: closed_empty
default_decision: deny
actions:
  - id: ping
    description: "no parameters"
    risk_level: low
    parameters: { type: object, additionalProperties: false }
rules:
  - id: ping-ok
    action: ping
    decision: allow
`;

/**
 * Every JSON Schema keyword the PolicySet checks on the raw path, and some it cannot check (a
 * lookahead pattern, a format it does not know, multipleOf, nested objects and arrays): those
 * parameters must be absent for an allow.
 */
const SCHEMA_KEYWORDS = `
name: schema_keywords
default_decision: deny
actions:
  - id: tag
    description: parameters with every checked keyword
    risk_level: low
    parameters:
      type: object
      additionalProperties: false
      required: [label]
      properties:
        label: { type: string, minLength: 2, maxLength: 4 }
        color: { type: string, enum: [red, green, "bl\\u00fce", "\\U0001F600", "a\\nb"] }
        code: { type: string, pattern: '^[A-Z]{2}-\\d{3}$' }
        loose: { type: string, pattern: 'b.c|x\\s*y|^[^a-c]$|\\W\\D', maxLength: 6 }
        look: { type: string, pattern: "(?=a)a" }
        when: { type: string, format: date }
        n: { type: number, minimum: -1.5, exclusiveMaximum: 10 }
        k: { type: integer, exclusiveMinimum: 0, maximum: 100 }
        z: { type: number, exclusiveMaximum: 0 }
        p: { type: number, minimum: 0, maximum: 0 }
        level: { enum: [1, 2, "high", true, null] }
        fixed: { const: "yes" }
        meta: { type: object, properties: { a: { type: string } } }
        list: { type: array, items: { type: string } }
        any: {}
        mult: { type: integer, multipleOf: 3 }
rules:
  - id: tag-ok
    action: tag
    decision: allow
`;

/** A rule on a nested context value: only it and its parent may be carried under context on the raw path. */
const CONTEXT_READS = `
name: context_reads
default_decision: deny
rules:
  - id: low-risk-read
    action: read_file
    decision: allow
    conditions:
      context.session.risk: { prefix: [lo] }
`;

/** Patterns of every construct the translation writes (and some it refuses), one optional parameter each. */
const PATTERNS = ['^.$', '^..?$', '\\d', '\\D\\W', '^\\S+$', '^[^x]{2}$', '\\s', 'a{2,3}?b', '^(?<w>\\w+)-(?:\\d|x)*$', '[é-ü]$', '^\\u00e9|\\x41$', '[.]\\.', '^[-a\\]]+$', '(?=a)', '😀', '^$'];
const PATTERN_POLICY = `
name: patterns
default_decision: deny
actions:
  - id: match
    description: one parameter per pattern
    risk_level: low
    parameters:
      type: object
      additionalProperties: false
      properties:
${PATTERNS.map((p, i) => `        p${i}: { type: string, pattern: ${JSON.stringify(p)} }`).join('\n')}
rules:
  - id: match-ok
    action: match
    decision: allow
`;

/** The parameters of SCHEMA_KEYWORDS the PolicySet cannot check as strings (or at all): an allow needs them absent. */
const UNCHECKABLE = new Set(['look', 'when', 'meta', 'list', 'mult']);

/**
 * A raw JSON Profile request: parameters flattened to dotted keys, each typed by its JSON type, the
 * dotted names of every context value as `urn:ape:context-names`, and
 * the top-level parameter names as `urn:ape:param-names` (or `names` when given; `null` omits it); no canonical flag.
 */
function rawRequest(request: DecisionRequest, hash: string, names?: string[] | null): unknown {
  const action: { AttributeId: string; DataType: string; Value: string }[] = [{ AttributeId: ATTRIBUTE.action, DataType: DATATYPE.string, Value: request.action }];
  if (request.previous_action !== undefined) action.push({ AttributeId: ATTRIBUTE.previousAction, DataType: DATATYPE.string, Value: request.previous_action });
  const resource: { AttributeId: string; DataType: string; Value: JsonValue }[] = [];
  const others: string[] = [];
  const contextNames: string[] = [];
  const visit = (key: string, value: unknown) => {
    if (key.startsWith('context.')) contextNames.push(key);
    if (typeof value === 'string') resource.push({ AttributeId: factAttributeId(key, 'string'), DataType: DATATYPE.string, Value: value });
    else if (typeof value === 'number') resource.push({ AttributeId: factAttributeId(key, 'double'), DataType: DATATYPE.double, Value: String(value) });
    else if (typeof value === 'boolean') resource.push({ AttributeId: factAttributeId(key, 'boolean'), DataType: DATATYPE.boolean, Value: value });
    else {
      others.push(key);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) visit(`${key}.${k}`, v);
    }
  };
  for (const [k, v] of Object.entries(request.params ?? {})) visit(k, v);
  for (const [k, v] of Object.entries(request.context ?? {})) visit(`context.${k}`, v);
  if (others.length) resource.push({ AttributeId: ATTRIBUTE.otherFacts, DataType: DATATYPE.string, Value: others });
  if (contextNames.length) resource.push({ AttributeId: ATTRIBUTE.contextNames, DataType: DATATYPE.string, Value: contextNames });
  const listed = names === undefined ? Object.keys(request.params ?? {}) : names;
  if (listed !== null && listed.length) resource.push({ AttributeId: ATTRIBUTE.paramNames, DataType: DATATYPE.string, Value: listed });
  return {
    Request: {
      Category: [
        { CategoryId: CATEGORY.action, Attribute: action },
        { CategoryId: CATEGORY.resource, Attribute: resource },
        { CategoryId: CATEGORY.environment, Attribute: [{ AttributeId: ATTRIBUTE.policyHash, DataType: DATATYPE.string, Value: hash }] },
      ],
    },
  };
}

type Outcome = { decision: 'allow' | 'deny' | 'escalate'; rule: string | null } | { decision: 'refused' | 'error'; rule: null };

async function askRaw(pdp: RunningPdp, request: DecisionRequest, hash: string, names?: string[] | null): Promise<Outcome> {
  const response = await fetch(pdp.url, {
    method: 'POST',
    headers: { 'content-type': 'application/xacml+json', accept: 'application/xacml+json' },
    body: JSON.stringify(rawRequest(request, hash, names)),
  });
  const text = await response.text();
  if (response.status !== 200) return { decision: 'error', rule: null };
  const result = parseXacmlResponse(text, pdp.url);
  const escalate = result.obligations.find((o) => o.id === PEP.escalate);
  const advice = result.advice.find((a) => a.id === PEP.decision);
  if (result.decision === 'Permit' && escalate) return { decision: 'escalate', rule: escalate.values.get(PEP.rule)?.[0] ?? null };
  if (result.decision === 'Permit') return { decision: 'allow', rule: advice?.values.get(PEP.rule)?.[0] ?? null };
  if (result.decision === 'Deny') return { decision: 'deny', rule: advice?.values.get(PEP.rule)?.[0] ?? null };
  return { decision: 'error', rule: null };
}

function nativeOutcome(policy: CompiledPolicy, request: DecisionRequest): Outcome {
  try {
    const d = new NativeEvaluator(policy).decideSync(request);
    return { decision: d.decision, rule: d.rule };
  } catch {
    return { decision: 'refused', rule: null };
  }
}

const examples = readdirSync(join(ROOT, 'policies'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((file) => ({ file, policy: compilePolicyFile(join(ROOT, 'policies', file)) }));
const hostile = compilePolicySource(HOSTILE_XML, 'hostile_xml.yaml');
const existsKinds = compilePolicySource(EXISTS_KINDS, 'exists_kinds.yaml');
const closedEmpty = compilePolicySource(CLOSED_EMPTY, 'closed_empty.yaml');
const keywords = compilePolicySource(SCHEMA_KEYWORDS, 'schema_keywords.yaml');
const contextReads = compilePolicySource(CONTEXT_READS, 'context_reads.yaml');
const patterns = compilePolicySource(PATTERN_POLICY, 'patterns.yaml');
let pdp: RunningPdp | undefined;

beforeAll(async () => {
  // The committed files, byte for byte (their staleness is tested in emit.test.ts).
  const committed: { hash: string; set: XacmlPolicySet }[] = examples.map(({ file, policy }) => ({
    hash: policy.hash,
    set: { id: policySetId(policy), xml: readFileSync(join(ROOT, 'xacml', xacmlFileName(file)), 'utf8'), rules: [] },
  }));
  pdp = await startAuthzforce([...committed, { hash: hostile.hash, set: compileXacml(hostile) }, { hash: existsKinds.hash, set: compileXacml(existsKinds) }, { hash: closedEmpty.hash, set: compileXacml(closedEmpty) }, { hash: keywords.hash, set: compileXacml(keywords) }, { hash: contextReads.hash, set: compileXacml(contextReads) }, { hash: patterns.hash, set: compileXacml(patterns) }], 110_000);
});
afterAll(async () => {
  await pdp?.stop();
});

/** Whether every parameter value is already in canonical form (APE's canonicalization would not change it). */
function canonical(policy: CompiledPolicy, request: DecisionRequest): boolean {
  // Null, objects and arrays are refused on the raw path (XACML cannot inspect nested values): not decided exactly.
  if (!Object.values(request.params ?? {}).every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) return false;
  const preparer = new RequestPreparer(policy.ir);
  try {
    const input = preparer.prepare(request);
    for (const [fact, value] of Object.entries(input.facts)) {
      if (fact.includes('#') || fact.includes('.')) return false;
      if (request.params?.[fact] !== value) return false;
    }
    // Every kind-typed parameter must canonicalize to itself (or the rules do not read it).
    return true;
  } catch {
    return false;
  }
}

describe('standalone XACML: raw requests to the committed PolicySets', () => {
  for (const { file, policy } of examples) {
    it(`${file}: never an allow native does not give; canonical requests decided as native`, async () => {
      if (!pdp) throw new Error('the PDP did not start');
      const unsafe: unknown[] = [];
      const different: unknown[] = [];
      let exact = 0;
      for (const request of rawRequests(policy, 250, 7)) {
        const native = nativeOutcome(policy, request);
        const xacml = await askRaw(pdp, request, policy.hash);
        expect(xacml.decision, JSON.stringify(request)).not.toBe('error');
        if (xacml.decision === 'allow' && native.decision !== 'allow') unsafe.push({ request, native, xacml });
        if (native.decision !== 'refused' && canonical(policy, request)) {
          exact++;
          if (JSON.stringify(xacml) !== JSON.stringify(native)) different.push({ request, native, xacml });
        }
      }
      expect(unsafe).toEqual([]);
      expect(different.slice(0, 5)).toEqual([]);
      expect(exact).toBeGreaterThan(20);
    });
  }

  it('raw requests that violate the action schema (missing, mistyped, fractional or negative parameters) are never allowed', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    const wrong: JsonValue[] = [7, 1.5, -1, 'text', true, { a: 1 }, [1], null];
    let refused = 0;
    for (const { policy } of examples) {
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
        if (native.decision === 'refused') refused++;
        const xacml = await askRaw(pdp, mutated, policy.hash);
        if (xacml.decision === 'allow' && native.decision !== 'allow') unsafe.push({ mutated, native, xacml });
      }
      expect(unsafe.slice(0, 5)).toEqual([]);
    }
    expect(refused).toBeGreaterThan(100);
  });

  it('generated schema violations (enum outsiders, lengths, patterns, bounds, lone surrogates, deep or mistyped nesting) are never allowed', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    let refused = 0;
    let allowed = 0;
    for (const { policy } of examples) {
      const unsafe: unknown[] = [];
      for (const request of rawRequests(policy, 150, 23, { violations: true, context: true })) {
        const native = nativeOutcome(policy, request);
        if (native.decision === 'refused') refused++;
        const xacml = await askRaw(pdp, request, policy.hash);
        expect(xacml.decision, JSON.stringify(request)).not.toBe('error');
        if (xacml.decision === 'allow') allowed++;
        if (xacml.decision === 'allow' && native.decision !== 'allow') unsafe.push({ request, native, xacml });
      }
      expect(unsafe.slice(0, 5)).toEqual([]);
    }
    expect(refused).toBeGreaterThan(150);
    expect(allowed).toBeGreaterThan(2);
  });

  it('context: values other than those the rules read (and their parents) are refused raw, at any depth; read strings must be well-formed', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    const read = { path: '/workspace/a' };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ session: { risk: 'low' } }, 'allow', 'allow'],
      [{ session: { risk: 'low' }, trace: 'x', n: 3 }, 'allow', 'deny'],
      [{ session: { risk: 'low' }, trace: 'x\ud800' }, 'refused', 'deny'],
      [{ session: { risk: 'lo\ud800' } }, 'refused', 'deny'],
      [{ session: { risk: 'lo' } }, 'allow', 'allow'],
      [{ session: { risk: 'high' } }, 'deny', 'deny'],
      [{ session: { risk: 'low' }, trace: nested(2) }, 'allow', 'deny'],
      [{ session: { risk: 'low' }, trace: nested(70) }, 'refused', 'deny'],
      [{ session: { risk: 'low', junk: nested(70) } }, 'refused', 'deny'],
      [{ session: { risk: 'low', junk: null } }, 'allow', 'deny'],
      [{ session: { risk: nested(70) } }, 'refused', 'deny'],
    ];
    // The deny says why (advice urn:ape:reason of ape:malformed-request).
    const response = await fetch(pdp.url, {
      method: 'POST',
      headers: { 'content-type': 'application/xacml+json', accept: 'application/xacml+json' },
      body: JSON.stringify(rawRequest({ action: 'read_file', params: read, context: { session: { risk: 'low' }, trace: 'x' } }, contextReads.hash)),
    });
    const result = parseXacmlResponse(await response.text(), pdp.url);
    expect(result.decision).toBe('Deny');
    expect(result.advice.find((a) => a.id === PEP.decision)?.values.get(PEP.reason)?.[0]).toMatch(/schema.*context only the values the rules read/);
    for (const [context, native, xacml] of cases) {
      const request = { action: 'read_file', params: read, context };
      expect(nativeOutcome(contextReads, request).decision, JSON.stringify(context).slice(0, 80)).toBe(native);
      expect((await askRaw(pdp, request, contextReads.hash)).decision, JSON.stringify(context).slice(0, 80)).toBe(xacml);
    }
  });

  it('translated patterns match exactly the strings ECMAScript matches (code points, line terminators, anchors); untranslatable ones never allow', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    const translated = PATTERNS.map((p) => translatePattern(p) !== null);
    expect(translated.filter((t) => !t).length).toBe(2);
    const units = fc.constantFrom('a', 'b', 'x', 'A', '-', '.', ']', '1', '\u0661', 'é', 'ü', '😀', '\n', '\r', '\u2028', ' ', '\u00a0', '\t', '\u000b', '_');
    const strings = fc.sample(fc.array(units, { maxLength: 5 }).map((a) => a.join('')), { numRuns: 60, seed: 37 });
    const different: unknown[] = [];
    let allowed = 0;
    for (const [i, pattern] of PATTERNS.entries()) {
      for (const value of strings) {
        const request = { action: 'match', params: { [`p${i}`]: value } };
        const native = nativeOutcome(patterns, request).decision;
        const xacml = (await askRaw(pdp, request, patterns.hash)).decision;
        if (xacml === 'allow') allowed++;
        const expected = translated[i] ? (native === 'allow' ? 'allow' : 'deny') : 'deny';
        if (xacml !== expected) different.push({ pattern, value, native, xacml });
      }
    }
    expect(different.slice(0, 5)).toEqual([]);
    expect(allowed).toBeGreaterThan(100);
  });

  it('enum, const, lengths in code points, patterns and bounds are decided exactly as native; what XACML cannot check is never allowed', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    const unsafe: unknown[] = [];
    const different: unknown[] = [];
    const seen = new Set<string>();
    const directed: Record<string, unknown>[] = [
      { label: 'ab' },
      { label: '😀😀😀😀' },
      { label: '😀😀😀😀a' },
      { label: 'a' },
      { label: '😀' },
      { label: 'abcde' },
      { label: 'a\ud800' },
      { label: 'ab', color: '😀' },
      { label: 'ab', color: 'blüe' },
      { label: 'ab', color: 'Red' },
      { label: 'ab', color: 'a\nb' },
      { label: 'ab', code: 'AB-123' },
      { label: 'ab', code: 'AB-123\n' },
      { label: 'ab', code: 'AB-١٢٣' },
      { label: 'ab', loose: 'b😀c' },
      { label: 'ab', loose: '😀' },
      { label: 'ab', loose: 'x\u2028y' },
      { label: 'ab', loose: 'b\nc' },
      { label: 'ab', loose: 'a' },
      { label: 'ab', loose: '!x' },
      { label: 'ab', n: -1.5 },
      { label: 'ab', n: -1.6 },
      { label: 'ab', n: 10 },
      { label: 'ab', n: 9.999 },
      { label: 'ab', k: 0 },
      { label: 'ab', k: 1 },
      { label: 'ab', k: 100 },
      { label: 'ab', k: 1.5 },
      { label: 'ab', z: -0 },
      { label: 'ab', z: 0 },
      { label: 'ab', z: -1e-300 },
      { label: 'ab', p: -0 },
      { label: 'ab', p: 0 },
      { label: 'ab', p: 1e-300 },
      { label: 'ab', level: 2 },
      { label: 'ab', level: 3 },
      { label: 'ab', level: 'high' },
      { label: 'ab', level: true },
      { label: 'ab', level: false },
      { label: 'ab', level: null },
      { label: 'ab', fixed: 'yes' },
      { label: 'ab', fixed: 'no' },
      { label: 'ab', any: 'x' },
      { label: 'ab', any: { a: 1 } },
      { label: 'ab', any: '\udc00' },
      { label: 'ab', look: 'a' },
      { label: 'ab', when: '2024-01-01' },
      { label: 'ab', meta: { a: 'b' } },
      { label: 'ab', list: ['a'] },
      { label: 'ab', mult: 3 },
    ];
    const properties = (keywords.ir.actions['tag'] as { parameters: JsonObject }).parameters['properties'] as Record<string, JsonObject>;
    expect([properties['code']?.['pattern'], properties['loose']?.['pattern'], properties['color']?.['enum']]).toEqual(['^[A-Z]{2}-\\d{3}$', 'b.c|x\\s*y|^[^a-c]$|\\W\\D', ['red', 'green', 'blüe', '😀', 'a\nb']]);
    const generated = rawRequests(keywords, 1500, 29, { violations: true });
    for (const request of [...directed.map((params) => ({ action: 'tag', params })), ...generated]) {
      const native = nativeOutcome(keywords, request);
      const xacml = await askRaw(pdp, request, keywords.hash);
      expect(xacml.decision, JSON.stringify(request)).not.toBe('error');
      if (xacml.decision === 'allow' && native.decision !== 'allow') unsafe.push({ request, native, xacml });
      const params = request.params ?? {};
      const checkable = Object.entries(params).every(([k, v]) => !UNCHECKABLE.has(k) && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'));
      if (checkable) {
        const expected = native.decision === 'refused' ? { decision: 'deny', rule: null } : native;
        seen.add(expected.decision);
        if (JSON.stringify(xacml) !== JSON.stringify(expected)) different.push({ request, native, xacml });
      } else if (xacml.decision === 'allow') unsafe.push({ request, native, xacml, uncheckable: true });
    }
    expect(unsafe.slice(0, 5)).toEqual([]);
    expect(different.slice(0, 5)).toEqual([]);
    expect([...seen].sort()).toEqual(['allow', 'deny']);
  });

  it('raw requests with an extra parameter (closed schemas) are never allowed where native refuses them', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    const extras: [string, JsonValue][] = [
      ['extra', 'x'],
      ['force', true],
      ['mode', 7],
      ['opts', { a: 1 }],
      ['constructor', 'x'],
      ['__proto__x', null],
    ];
    let refused = 0;
    let allowedWithout = 0;
    for (const { policy } of examples) {
      const unsafe: unknown[] = [];
      for (const [i, request] of rawRequests(policy, 40, 13).entries()) {
        const [name, value] = extras[i % extras.length] as [string, JsonValue];
        const base = await askRaw(pdp, request, policy.hash);
        if (base.decision === 'allow') allowedWithout++;
        const mutated = { action: request.action, params: { ...(request.params ?? {}), [name]: value } };
        const native = nativeOutcome(policy, mutated);
        if (native.decision === 'refused') refused++;
        const declared = Object.keys(request.params ?? {});
        // Listed honestly; listed with an empty-string name added. (A PEP that sends an undeclared attribute
        // and leaves it out of the bag is lying: the PolicySet cannot enumerate attributes, see docs/xacml.md.)
        for (const names of [undefined, [...declared, name, '']]) {
          const xacml = await askRaw(pdp, mutated, policy.hash, names);
          if (xacml.decision === 'allow' && native.decision !== 'allow') unsafe.push({ mutated, names, native, xacml });
        }
        // Only the names bag says so: an extra name alone (its value withheld) is refused too.
        const named = await askRaw(pdp, request, policy.hash, [...declared, name]);
        if (named.decision === 'allow') unsafe.push({ request, names: [...declared, name], xacml: named });
      }
      expect(unsafe.slice(0, 5)).toEqual([]);
    }
    expect(refused).toBeGreaterThan(200);
    // The extra is what turned these away: without it, some of the same requests are allowed.
    expect(allowedWithout).toBeGreaterThan(5);
    const policy = (examples.find((e) => e.file === 'scoped_access.yaml') as { policy: CompiledPolicy }).policy;
    const read = { action: 'read_file', params: { path: '/workspace/notes.md' } };
    expect(await askRaw(pdp, read, policy.hash)).toEqual({ decision: 'allow', rule: 'workspace-read' });
    const extra = { action: 'read_file', params: { path: '/workspace/notes.md', follow_symlinks: true } };
    expect(nativeOutcome(policy, extra).decision).toBe('refused');
    expect(await askRaw(pdp, extra, policy.hash)).toEqual({ decision: 'deny', rule: null });
    expect(await askRaw(pdp, read, policy.hash, ['path', 'follow_symlinks'])).toEqual({ decision: 'deny', rule: null });
  });

  it('a raw request without the names bag, or with a carried parameter left out of it, is never an allow', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    let allowedWith = 0;
    for (const { policy } of examples) {
      const unsafe: unknown[] = [];
      for (const request of rawRequests(policy, 40, 17)) {
        if ((await askRaw(pdp, request, policy.hash)).decision === 'allow') allowedWith++;
        const missing = await askRaw(pdp, request, policy.hash, null);
        if (missing.decision === 'allow') unsafe.push({ request, names: null, xacml: missing });
        const declared = Object.keys(request.params ?? {});
        for (const left of declared) {
          const partial = declared.filter((n) => n !== left);
          const xacml = await askRaw(pdp, request, policy.hash, partial);
          if (xacml.decision === 'allow') unsafe.push({ request, names: partial, xacml });
        }
      }
      expect(unsafe.slice(0, 5)).toEqual([]);
    }
    expect(allowedWith).toBeGreaterThan(3);
    // The same request, decided with and without its names bag.
    const policy = (examples.find((e) => e.file === 'scoped_access.yaml') as { policy: CompiledPolicy }).policy;
    const read = { action: 'read_file', params: { path: '/workspace/notes.md' } };
    expect(await askRaw(pdp, read, policy.hash)).toEqual({ decision: 'allow', rule: 'workspace-read' });
    expect(await askRaw(pdp, read, policy.hash, null)).toEqual({ decision: 'deny', rule: null });
    expect(await askRaw(pdp, read, policy.hash, ['path', 'path'])).toEqual({ decision: 'allow', rule: 'workspace-read' });
    // A closed schema without parameters: native allows the empty call, raw cannot tell it from a missing bag (denied).
    expect(nativeOutcome(closedEmpty, { action: 'ping', params: {} }).decision).toBe('allow');
    expect(nativeOutcome(closedEmpty, { action: 'ping', params: { x: 1 } }).decision).toBe('refused');
    for (const names of [undefined, null, ['x'], ['']]) {
      expect((await askRaw(pdp, { action: 'ping', params: {} }, closedEmpty.hash, names)).decision, JSON.stringify(names)).toBe('deny');
      expect((await askRaw(pdp, { action: 'ping', params: { x: 1 } }, closedEmpty.hash, names)).decision, JSON.stringify(names)).toBe('deny');
    }
  });

  it('non-canonical spellings of allowed paths are never allowed (path traversal, dot segments, double slashes)', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    const policy = (examples.find((e) => e.file === 'scoped_access.yaml') as { policy: CompiledPolicy }).policy;
    expect(await askRaw(pdp, { action: 'read_file', params: { path: '/workspace/notes.md' } }, policy.hash)).toEqual({ decision: 'allow', rule: 'workspace-read' });
    // Native canonicalizes first (allowing the harmless spellings); the PolicySet, without APE, denies every non-canonical one.
    const spellings: [string, string][] = [
      ['/workspace/../etc/passwd', 'deny'],
      ['/workspace/./notes.md', 'allow'],
      ['/workspace//notes.md', 'allow'],
      ['/workspace/..', 'deny'],
      ['/workspace/x\u0000', 'deny'],
      ['/workspace/a\u0007b', 'allow'],
    ];
    for (const [path, native] of spellings) {
      expect(nativeOutcome(policy, { action: 'read_file', params: { path } }).decision, path).toBe(native);
      expect((await askRaw(pdp, { action: 'read_file', params: { path } }, policy.hash)).decision, path).toBe('deny');
    }
  });

  it('exists on an untrusted value counts against allow rules and for deny rules', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    const cases: [DecisionRequest, string, string][] = [
      [{ action: 'run_shell_command', params: { command: 'ls' } }, 'allow', 'allow'],
      [{ action: 'run_shell_command', params: { command: 'ls', cwd: '/a/../b' } }, 'deny', 'deny'],
      [{ action: 'run_shell_command', params: { command: 'ls', cwd: '/a/b' } }, 'deny', 'deny'],
      [{ action: 'http_get', params: { url: 'https://a.example.com/' } }, 'deny', 'deny'],
      [{ action: 'http_get', params: { url: 'HTTPS://A.EXAMPLE.COM./' } }, 'deny', 'deny'],
      [{ action: 'http_get', params: { url: 'not a url' } }, 'allow', 'deny'],
    ];
    for (const [request, native, xacml] of cases) {
      expect(nativeOutcome(existsKinds, request).decision, JSON.stringify(request)).toBe(native);
      expect((await askRaw(pdp, request, existsKinds.hash)).decision, JSON.stringify(request)).toBe(xacml);
    }
  });

  it('raw requests with several values, a missing action or a forged type are denied', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    const policy = (examples.find((e) => e.file === 'scoped_access.yaml') as { policy: CompiledPolicy }).policy;
    const ask = async (body: unknown) => {
      const response = await fetch((pdp as RunningPdp).url, { method: 'POST', headers: { 'content-type': 'application/xacml+json', accept: 'application/xacml+json' }, body: JSON.stringify(body) });
      return parseXacmlResponse(await response.text(), 'pdp').decision;
    };
    const env = { CategoryId: CATEGORY.environment, Attribute: [{ AttributeId: ATTRIBUTE.policyHash, DataType: DATATYPE.string, Value: policy.hash }] };
    const act = (...ids: string[]) => ({ CategoryId: CATEGORY.action, Attribute: [{ AttributeId: ATTRIBUTE.action, DataType: DATATYPE.string, Value: ids }] });
    const names = { AttributeId: ATTRIBUTE.paramNames, DataType: DATATYPE.string, Value: ['path'] };
    const path = (...values: string[]) => ({ CategoryId: CATEGORY.resource, Attribute: [{ AttributeId: factAttributeId('path', 'string'), DataType: DATATYPE.string, Value: values }, names] });
    expect(await ask({ Request: { Category: [act('read_file'), path('/workspace/a'), env] } })).toBe('Permit');
    expect(await ask({ Request: { Category: [act('read_file'), path('/workspace/a', '/etc/passwd'), env] } })).toBe('Deny');
    expect(await ask({ Request: { Category: [act('read_file', 'delete_file'), path('/workspace/a'), env] } })).toBe('Deny');
    expect(await ask({ Request: { Category: [path('/workspace/a'), env] } })).toBe('Deny');
    // A PEP cannot claim a path is canonical by typing it otherwise.
    const typed = { CategoryId: CATEGORY.resource, Attribute: [{ AttributeId: factAttributeId('path', 'string'), DataType: DATATYPE.double, Value: '1' }, names] };
    expect(await ask({ Request: { Category: [act('read_file'), typed, env] } })).not.toBe('Permit');
  });

  it('a policy with markup, entities and control characters in ids and operands loads and decides like native', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    const action = 'tag_item';
    const cases: DecisionRequest[] = [
      ...['</AttributeValue>x', ']]>', '&amp;;', 'a\r\nb', '\tx', ' lead', '\u202eevil', '😀!', 'plain', 'x<!--y', 'a-->b', 'q.(x)+[y]?{z}|^$q', 'back\\slash', 'A\r\nb', 'a\nb'].map((label) => ({
        action,
        params: { label },
      })),
      { action, params: { label: 'plain', n: 0 } },
      { action, params: { label: '😀', n: -0 } },
      { action, params: { label: '😀', n: 1e-300 } },
    ];
    for (const request of cases) expect(await askRaw(pdp, request, hostile.hash), JSON.stringify(request)).toEqual(nativeOutcome(hostile, request));
  });
});
