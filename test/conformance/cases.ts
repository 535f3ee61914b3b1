/**
 * The shared conformance suite: policies and engine inputs that every engine must decide exactly
 * like the native evaluator (decision, rule, matched, reasons, policy hash).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { compilePolicyFile, compilePolicySource, type CompiledPolicy } from '../../src/compiler/compile.js';
import { actionDefinition, RequestPreparer, type DecisionRequest } from '../../src/compiler/engine-input.js';
import type { EngineInput, JsonObject, JsonValue } from '../../src/compiler/ir.js';
import { STANDARD_ACTION_IDS } from '../../src/compiler/repository.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** Folder of the policies in the Python APE 1.0.2's shapes (also decided by the peer itself, test/compat). */
export const COMPAT_DIR = join(ROOT, 'test/compat/policies');
/** Folder of the example policies. */
export const POLICY_DIR = join(ROOT, 'policies');
/** Folder of the conformance-only policies (hostile strings, every operator). */
export const FIXTURE_DIR = join(ROOT, 'test/conformance/policies');

/** A policy of the suite, under a stable name. */
export interface SuitePolicy {
  name: string;
  policy: CompiledPolicy;
}

/** Every policy of the suite: example policies, policies in the Python APE's shapes, conformance fixtures. */
export function suitePolicies(): SuitePolicy[] {
  const out: SuitePolicy[] = [];
  for (const [dir, prefix] of [
    [POLICY_DIR, 'policies'],
    [COMPAT_DIR, 'compat'],
    [FIXTURE_DIR, 'fixtures'],
  ] as const) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
      out.push({ name: `${prefix}/${file}`, policy: compilePolicyFile(join(dir, file)) });
    }
  }
  return out;
}

/** Compiles inline policy text for a test. */
export function policyFromText(text: string, name = 'inline.yaml'): CompiledPolicy {
  return compilePolicySource(text, name);
}

/** Hostile values by kind, for adversarial requests. */
export const ADVERSARIAL: Record<'path' | 'url' | 'domain' | 'email' | 'ip' | 'string' | 'number', JsonValue[]> = {
  path: [
    '/workspace/../etc/passwd',
    '/srv/app/../../etc/shadow',
    '/tmp/../etc/passwd',
    '/workspace/./notes.md',
    '//workspace//notes.md',
    '/workspace/%2e%2e/etc/passwd',
    'workspace/notes.md',
    '../workspace/x',
    '',
    '/workspace/x\u0000.txt',
    '/WORKSPACE/notes.md',
    '/workspace',
    '/workspace/',
    '/workspacex/notes.md',
    '/workspace/ünïcødé/文件.txt',
    '/workspace/.env',
    '/data/app/.env',
    '/srv/app/secrets/key.pem',
    "/workspace/it's \"quoted\" \\ back#slash",
    `/workspace/${'a/'.repeat(200)}x`,
  ],
  url: [
    'https://api.github.com/repos',
    'https://API.EXAMPLE.COM./v1',
    'https://example.com.evil.io/',
    'https://evil.io/?next=api.example.com',
    'https://api.example.com@evil.io/',
    'https://evil.io\\@api.example.com/',
    'https://xn--e1afmkfd.xn--p1ai/',
    'https://пример.example.com/',
    'https://[::1]/',
    'https://0x7f.1/',
    'http://api.github.com/',
    'http://localhost:3000/health',
    'javascript:alert(1)',
    'not a url',
    'file:///etc/passwd',
    'https://a.example.com:8443/x/../y',
  ],
  domain: ['Example.COM.', 'a.corp.example', 'corp.example', 'corp.example.evil.io', 'evil.io', 'bad host', '127.0.0.1', ''],
  email: ['bob@Example.COM', 'bob@mail.example.com', 'a@b@evil.io', 'eve@evil.io', 'no-at-sign', '@example.com', "o'brien@example.com"],
  ip: ['10.1.2.3', '10.0.0.0', '192.168.1.1', '::ffff:10.0.0.1', '127.1', '::1', 'not-an-ip', '300.1.1.1'],
  string: ['', 'SELECT 1', 'select * from t', ' DROP TABLE t', 'rm -rf /', 'npm test', "quote'\"\\\n#", '日本語', 'a'.repeat(300)],
  number: [-1, 0, 1, 2, 65536, 65537, 1048576, 1048577, 0.5, -0.0, 1e308, 2 ** 53 + 2, 2 ** 60],
};

function kindOf(schema: JsonObject): keyof typeof ADVERSARIAL | 'other' {
  const format = schema['format'];
  if (format === 'path' || format === 'url' || format === 'domain' || format === 'email' || format === 'ip') return format;
  const type = schema['type'];
  if (type === 'string') return 'string';
  if (type === 'number' || type === 'integer') return 'number';
  return 'other';
}

function sampleFor(schema: JsonObject): JsonValue {
  const kind = kindOf(schema);
  if (kind === 'other') return schema['type'] === 'boolean' ? true : schema['type'] === 'array' ? [] : {};
  return ADVERSARIAL[kind][0] as JsonValue;
}

/** Requests built from an action's schema: one valid base, then each parameter swapped for each hostile value of its kind. */
export function adversarialRequests(policy: CompiledPolicy, action: string): DecisionRequest[] {
  const definition = actionDefinition(policy.ir, action);
  const properties = (definition?.parameters['properties'] ?? {}) as Record<string, JsonObject>;
  const required = (definition?.parameters['required'] ?? []) as string[];
  const base: JsonObject = {};
  for (const name of Object.keys(properties)) {
    const schema = properties[name] as JsonObject;
    if (required.includes(name) || kindOf(schema) !== 'other') base[name] = sampleFor(schema);
  }
  const requests: DecisionRequest[] = [{ action, params: base }];
  for (const [name, schema] of Object.entries(properties)) {
    const kind = kindOf(schema);
    if (kind === 'other') continue;
    for (const value of ADVERSARIAL[kind]) requests.push({ action, params: { ...base, [name]: value } });
    if (!required.includes(name)) {
      const without = { ...base };
      delete without[name];
      requests.push({ action, params: without });
    }
  }
  if (!definition) requests.push({ action, params: { path: 5, url: true, size: '5', query: null } });
  return requests;
}

/** Every action the policy's rules or examples mention, plus the standard actions. */
export function actionsOf(policy: CompiledPolicy): string[] {
  const set = new Set<string>(STANDARD_ACTION_IDS);
  for (const rule of policy.ir.rules) for (const a of rule.actions) set.add(a);
  for (const e of policy.examples) set.add(e.action);
  for (const from of Object.keys(policy.ir.toolTransitions)) set.add(from);
  return [...set].sort();
}

/** Engine inputs from requests (examples, adversarial, transitions); requests the preparer rejects are left out. */
export function requestInputs(policy: CompiledPolicy): EngineInput[] {
  const preparer = new RequestPreparer(policy.ir);
  const requests: DecisionRequest[] = [...policy.examples];
  for (const action of actionsOf(policy)) requests.push(...adversarialRequests(policy, action));
  for (const [from, to] of Object.entries(policy.ir.toolTransitions)) {
    for (const action of [...to, 'totally_unknown_action']) requests.push({ action, params: {}, previous_action: from });
  }
  const inputs: EngineInput[] = [];
  for (const request of requests) {
    try {
      inputs.push(preparer.prepare(request));
    } catch {
      // Rejected before any engine sees it: the same for every engine.
    }
  }
  return inputs;
}

/** The fact keys each action's rules read, for generating facts directly. */
function factKeysByAction(policy: CompiledPolicy): Map<string, string[]> {
  const map = new Map<string, Set<string>>();
  for (const rule of policy.ir.rules) {
    for (const action of rule.actions) {
      const set = map.get(action) ?? new Set<string>();
      for (const c of rule.conditions) set.add(c.fact);
      map.set(action, set);
    }
  }
  return new Map([...map].map(([k, v]) => [k, [...v]]));
}

const hostileString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.constantFrom('', "'", '"', '\\', '\n', '#', '*', '${x}', '%s', '\u0000', '/tmp/', '/workspace/x', 'a.example.com', 'https', 'SELECT 1', '4:00001010'),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const hostileNumber = fc.oneof(
  fc.integer({ min: -1_000_000, max: 2_000_000 }),
  fc.constantFrom(0, -0, 1, 65537, 1048576, 1048577, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e-7),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }),
);
const hostileValue: fc.Arbitrary<JsonValue> = fc.oneof(
  { arbitrary: hostileString, weight: 4 },
  { arbitrary: hostileNumber, weight: 3 },
  { arbitrary: fc.boolean(), weight: 1 },
  { arbitrary: fc.constant(null), weight: 1 },
  { arbitrary: fc.array(fc.oneof(hostileString, hostileNumber), { maxLength: 3 }), weight: 1 },
);

/**
 * Engine inputs generated directly at the fact level (fast-check, fixed seed): hostile strings and
 * numbers, wrong types, absent facts, and operand-derived values so conditions both hold and fail.
 */
export function generatedInputs(policy: CompiledPolicy, count: number, seed = 42): EngineInput[] {
  const keys = factKeysByAction(policy);
  const operandValues = new Map<string, JsonValue[]>();
  for (const rule of policy.ir.rules) {
    for (const c of rule.conditions) {
      const list = operandValues.get(c.fact) ?? [];
      switch (c.op) {
        case 'prefix':
          list.push(...c.values, ...c.values.map((v) => `${v}x/y`));
          break;
        case 'suffix':
          list.push(...c.values.map((v) => `x${v}`));
          break;
        case 'allowlist':
        case 'denylist':
          list.push(...c.patterns.map((p) => p.replace(/\*/g, 'ab')));
          break;
        case 'equals':
          list.push(c.value);
          break;
        case 'one_of':
          list.push(...c.values);
          break;
        case 'min':
        case 'max':
        case 'min_length':
        case 'max_length':
          list.push(c.value, c.value - 1, c.value + 1);
          break;
        case 'cidr':
          list.push(...c.prefixes.map((p) => p.padEnd(p.startsWith('4:') ? 34 : 130, '1')));
          break;
        case 'provenance':
          list.push(...c.labels, 'external', 'model');
          break;
        case 'source':
          list.push(c.names, [c.names[0] as string], ['read_file'], [], ['user', 'system', 'x'], c.names[0] as string, [c.names[0] as string, 7]);
          break;
        case 'regex':
        case 'exists':
          break;
      }
      operandValues.set(c.fact, list);
    }
  }
  const actions = [...new Set([...keys.keys(), ...actionsOf(policy)])];
  const input = fc
    .constantFrom(...actions)
    .chain((action) => {
      const factKeys = keys.get(action) ?? [];
      const valueFor = (fact: string) => {
        const known = operandValues.get(fact) ?? [];
        return known.length > 0 ? fc.oneof({ arbitrary: fc.constantFrom(...known), weight: 3 }, { arbitrary: hostileValue, weight: 2 }) : hostileValue;
      };
      const facts = fc.record(Object.fromEntries(factKeys.map((k) => [k, valueFor(k)])), { requiredKeys: [] });
      const previous = Object.keys(policy.ir.toolTransitions);
      const prev = previous.length ? fc.option(fc.constantFrom(...previous), { nil: undefined }) : fc.constant(undefined);
      return fc.tuple(fc.constant(action), facts, prev);
    })
    .map(([action, facts, previous]) => {
      const engineInput: EngineInput = { action, facts: facts as Record<string, JsonValue> };
      if (previous !== undefined) engineInput.previous_action = previous;
      return engineInput;
    });
  return fc.sample(input, { numRuns: count, seed });
}

/**
 * Requests with provenance labels and sources (a policy's examples carry neither), by suite policy:
 * `source` hit, miss, no place, missing sources, and the `model` label.
 */
export const CURATED_REQUESTS: Record<string, DecisionRequest[]> = {
  'fixtures/provenance_origin.yaml': [
    { action: 'pay', params: { recipient: 'bob', amount: 5 }, sources: { recipient: ['user'] } },
    { action: 'pay', params: { recipient: 'bob', amount: 5 }, sources: { recipient: ['read_file', 'get_contacts'] } },
    { action: 'pay', params: { recipient: 'bob', amount: 5 }, sources: { recipient: ['web fetch'] } },
    { action: 'pay', params: { recipient: 'bob', amount: 5 }, sources: { recipient: ["it's \"quoted\""] } },
    { action: 'pay', params: { recipient: 'bob', amount: 5 }, sources: { recipient: ['search', 'system'] } },
    { action: 'pay', params: { recipient: 'bob', amount: 5 }, sources: { recipient: [] } },
    { action: 'pay', params: { recipient: 'bob', amount: 5000 }, sources: { recipient: ['get_contacts'] } },
    { action: 'pay', params: { recipient: 'bob', amount: 5 }, sources: { amount: ['user'] } },
    { action: 'pay', params: { recipient: 'bob', amount: 5 } },
    { action: 'pay', params: { recipient: 'bob', amount: 5, memo: 'm' }, sources: { recipient: ['user'], memo: ['system'] } },
    { action: 'pay', params: { recipient: 'bob', amount: 5, memo: 'm' }, sources: { recipient: ['user'], memo: ['read_file'] } },
    { action: 'pay', params: { recipient: 'bob', amount: 5, memo: 'm' }, sources: { recipient: ['user'] } },
    { action: 'write_note', params: { text: 'x', title: 't' }, provenance: { text: 'model' }, sources: { title: ['user'] } },
    { action: 'write_note', params: { text: 'x', title: 't' }, provenance: { text: 'user' }, sources: { title: ['get_contacts'] } },
    { action: 'write_note', params: { text: 'x', title: 't' }, provenance: { text: 'external' }, sources: { title: ['user'] } },
    { action: 'write_note', params: { text: 'x', title: 't' }, provenance: { text: 'system' }, sources: { title: ['user'] } },
    { action: 'write_note', params: { text: 'x' }, provenance: { text: 'model' } },
  ],
  'fixtures/every_operator.yaml': [
    { action: 'read_file', params: { path: '/srv/a' }, provenance: { path: 'model' } },
    { action: 'read_file', params: { path: '/srv/a' }, provenance: { path: 'external' } },
    { action: 'search_files', params: { path: '/x', pattern: 'longer-than-5' }, sources: { pattern: ['list_directory'] } },
    { action: 'search_files', params: { path: '/x', pattern: 'longer-than-5' }, sources: { pattern: ['read_file'] } },
  ],
};

/** Engine inputs no request produces (a `source` fact that is not a list of strings), by suite policy. */
export const CURATED_INPUTS: Record<string, EngineInput[]> = {
  'fixtures/provenance_origin.yaml': [
    { action: 'pay', facts: { 'recipient#source': 'user', amount: 5 } },
    { action: 'pay', facts: { 'recipient#source': ['user', 1], amount: 5 } },
    { action: 'pay', facts: { 'recipient#source': null, amount: 5 } },
    { action: 'pay', facts: { 'recipient#source': { user: true }, amount: 5 } },
    { action: 'write_note', facts: { 'text#provenance': 'model', 'title#source': 'user' } },
    { action: 'write_note', facts: { 'text#provenance': 'model', 'title#source': [['user']] } },
  ],
};

/** Every (policy, input) pair of the suite: request-derived and curated inputs plus `perPolicy` generated ones. */
export function conformanceSuite(perPolicy = 300): { name: string; policy: CompiledPolicy; inputs: EngineInput[] }[] {
  return suitePolicies().map(({ name, policy }) => {
    const preparer = new RequestPreparer(policy.ir);
    const curated = (CURATED_REQUESTS[name] ?? []).map((request) => preparer.prepare(request));
    return {
      name,
      policy,
      inputs: [...requestInputs(policy), ...curated, ...(CURATED_INPUTS[name] ?? []), ...generatedInputs(policy, perPolicy)],
    };
  });
}
