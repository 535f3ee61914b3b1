/**
 * The bundle standing alone: a plain `opa run -s` serving `ape compile --target bundle` output is asked
 * with raw APE requests over HTTP (no APE code in between). Canonical requests are decided exactly as
 * native, others as native or denied naming the value, refused requests with native's error code, and
 * nothing is allowed that native does not allow. Also: annotations, `allow`, and the wasm bundle's roots.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { policyBundle } from '../../src/adapters/opa/bundle.js';
import { findOpa } from '../../src/adapters/opa/cli.js';
import { buildWasmBundle } from '../../src/adapters/opa/wasm.js';
import { canonicalEmail, canonicalHost, canonicalIp, canonicalPath, canonicalUrl } from '../../src/compiler/canonical.js';
import { compilePolicyFile, type CompiledPolicy } from '../../src/compiler/compile.js';
import { actionDefinition, planFacts, RequestPreparer, type FactSpec } from '../../src/compiler/engine-input.js';
import type { DecisionResult, JsonValue } from '../../src/compiler/ir.js';
import { STANDARD_ACTION_IDS } from '../../src/compiler/repository.js';
import { ApeError } from '../../src/errors.js';
import { FIXTURE_DIR, POLICY_DIR } from '../conformance/cases.js';
import { startOpa, tempDir, type RunningOpa } from './helpers.js';

const RUNS = 100;
const temp = tempDir('ape-standalone-');
let opa: RunningOpa;

/** The example policies and the conformance fixtures (every operator and kind, hostile strings). */
const policies: CompiledPolicy[] = [POLICY_DIR, FIXTURE_DIR].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => compilePolicyFile(join(dir, f))),
);

beforeAll(async () => {
  const args: string[] = [];
  for (const policy of policies) {
    const file = join(temp.dir, `${policy.ir.name}.tar.gz`);
    writeFileSync(file, await policyBundle(policy));
    args.push('-b', file);
  }
  opa = await startOpa(args);
}, 60_000);

afterAll(async () => {
  await opa?.stop();
  temp.remove();
});

type RegoAnswer = Omit<DecisionResult, 'engine'> & { error?: { code: string; message: string } };

async function ask(policy: CompiledPolicy, rule: 'decision' | 'allow', input: unknown): Promise<unknown> {
  const response = await fetch(`${opa.url}/v1/data/ape/${policy.ir.name}/${rule}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { result?: unknown }).result;
}

/** Native's answer: the decision (less `engine`), or the code of the error it refuses the request with. */
function native(policy: CompiledPolicy, request: unknown): Omit<DecisionResult, 'engine'> | { refused: string } {
  try {
    const input = new RequestPreparer(policy.ir).prepare(request as never);
    const { engine: _engine, ...rest } = new NativeEngine(policy.ir, policy.hash).decideSync(input);
    void _engine;
    return rest;
  } catch (error) {
    if (error instanceof ApeError) return { refused: error.code };
    throw error;
  }
}

function lookup(root: unknown, segments: readonly string[]): unknown {
  let node = root;
  for (const s of segments) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.prototype.hasOwnProperty.call(node, s)) return undefined;
    node = (node as Record<string, unknown>)[s];
  }
  return node;
}

const SPECIAL_URL = /^(?:https?|wss?|ftp):\/\/[^/?#@]*(?:[/?#]|$)/;
const isIpv4 = (v: string) => canonicalIp(v)?.text === v && !v.includes(':');
const plainHost = (h: string) => canonicalHost(h) === h && !h.startsWith('[') && !/(^|\.)xn--/.test(h);

/**
 * Whether every value the action's rules read is in canonical form (canonicalizing it changes
 * nothing). Documented exclusions (docs/standalone.md): IPv6 literals, punycode labels, URLs with
 * credentials or a non-special scheme.
 */
function canonicalRequest(policy: CompiledPolicy, request: Record<string, unknown>): boolean {
  const specs: FactSpec[] = planFacts(policy.ir).plans.get(request['action'] as string) ?? [];
  for (const spec of specs) {
    if (spec.transform === 'provenance' || spec.transform === 'source') continue;
    const raw = lookup(spec.resolved.source === 'params' ? request['params'] : request['context'], spec.resolved.segments);
    if (typeof raw !== 'string') continue;
    const ok = {
      plain: () => spec.transform !== 'bits' || isIpv4(raw),
      path: () => canonicalPath(raw) === raw,
      domain: () => plainHost(raw),
      url: () => canonicalUrl(raw)?.href === raw && SPECIAL_URL.test(raw) && plainHost(new URL(raw).hostname),
      email: () => canonicalEmail(raw)?.address === raw && plainHost(raw.slice(raw.lastIndexOf('@') + 1)),
      ip: () => isIpv4(raw),
    }[spec.resolved.kind]();
    if (!ok) return false;
  }
  return true;
}

const wellFormed = (s: string) => !/\p{Cs}/u.test(s);
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }).filter(wellFormed),
  fc.constantFrom("it's", '"}\n', '\u2028', '\u0000', '%2e%2e', '../', '*', '', ' ', 'ü', '😀', 'DROP TABLE t;'),
);
const pools: Record<string, readonly JsonValue[]> = {
  path: ['/workspace/notes.md', '/workspace/../etc/passwd', '/workspace//a', '/workspace/./a/', '/srv/x/logs/', '/srv/a/../tmp/', 'relative/x', '/a\u0000b', '/', '/etc/passwd', '/srv/ü'],
  host: ['api.github.com', 'API.EXAMPLE.COM.', 'x.corp.example', 'corp.example', 'a.evil.io', 'xn--bcher-kva.example', '1.2.3.4', '[::1]', '0x7f.1', 'bad host', 'münchen.example', 'a..b'],
  url: ['https://api.github.com/repos', 'https://API.EXAMPLE.COM./v1', 'https://u:p@api.github.com/', 'http://api.github.com', 'https://example.com.evil.io/', 'https://api.github.com/a/../b', 'ftp://x.example/', 'javascript:alert(1)', 'https://api.github.com:443/', 'https://api.example.com/upload', 'http://[::1]/'],
  email: ['a@corp.example', 'A@CORP.EXAMPLE.', 'x@evil.io', 'noatsign', '@corp.example', 'a b@corp.example', 'a@b@corp.example'],
  ip: ['10.1.2.3', '192.168.0.1', '8.8.8.8', '::1', 'fd00::1', '::ffff:10.0.0.1', '010.0.0.1', '[10.0.0.1]', '10.0.0.256'],
  text: ['SELECT 1', 'SELECT 1; DROP', 'select x', 'DROP TABLE t', 'utf-8', 'utf-16le', 'a.log', 'eu', 'us', 'no', 'yes', '*.log'],
  other: [0, 22, 443, -1, 1.5, 100.5, 1e21, 65536, true, false, null, [], ['a'], ['a', 'b', 'c', 'd'], { region: 'eu', weight: 200 }, { risk: 80 }],
};
const value = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...pools['path']!, ...pools['host']!, ...pools['url']!, ...pools['email']!, ...pools['ip']!, ...pools['text']!) },
  { weight: 2, arbitrary: fc.constantFrom(...pools['other']!) },
  { weight: 2, arbitrary: hostile },
);

const strings = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...pools['path']!, ...pools['host']!, ...pools['url']!, ...pools['email']!, ...pools['ip']!, ...pools['text']!) },
  { weight: 2, arbitrary: hostile },
);

/** A value for a property of this schema: mostly of its type (so most requests reach the rules), sometimes anything. */
function valueFor(schema: JsonValue | undefined): fc.Arbitrary<JsonValue> {
  const type = schema && typeof schema === 'object' && !Array.isArray(schema) ? schema['type'] : undefined;
  const typed: fc.Arbitrary<JsonValue> | undefined =
    type === 'string'
      ? strings
      : type === 'integer'
        ? fc.constantFrom(0, 22, 443, 65536, 100, -1)
        : type === 'number'
          ? fc.constantFrom(0, 1.5, 100.5, 200, 1e21)
          : type === 'boolean'
            ? fc.boolean()
            : type === 'array'
              ? fc.array(strings, { maxLength: 4 })
              : type === 'object'
                ? fc.constantFrom<JsonValue>({ region: 'eu', weight: 200 }, { region: 'us', weight: 1 }, { region: 'mars' }, {})
                : undefined;
  return typed ? fc.oneof({ weight: 9, arbitrary: typed }, { weight: 1, arbitrary: value }) : value;
}

/** Parameters for an action: its schema's properties (required ones mostly present) and its rules' paths. */
function paramsFor(policy: CompiledPolicy, action: string): fc.Arbitrary<Record<string, JsonValue>> {
  const parameters = actionDefinition(policy.ir, action)?.parameters;
  const properties = (parameters?.['properties'] ?? {}) as Record<string, JsonValue>;
  const required = new Set((parameters?.['required'] as string[] | undefined) ?? []);
  const names = new Set(Object.keys(properties));
  if (parameters?.['additionalProperties'] !== false) {
    for (const rule of policy.ir.rules.filter((r) => r.actions.includes(action))) {
      for (const c of rule.conditions) if (!c.path.startsWith('context.')) names.add(c.path.split('.')[0] ?? c.path);
    }
  }
  const entries = [...names].map((name) => {
    const v = valueFor(properties[name]);
    return fc.tuple(fc.constant(name), required.has(name) ? fc.oneof({ weight: 15, arbitrary: v }, { weight: 1, arbitrary: fc.constant(undefined) }) : fc.option(v, { nil: undefined, freq: 3 }));
  });
  const extra = fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom('extra', 'path', '__proto__'), value) });
  return fc.tuple(fc.tuple(...entries), extra).map(([list, more]) => {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of list) if (v !== undefined) out[k] = v;
    if (more) Object.defineProperty(out, more[0], { value: more[1], enumerable: true, configurable: true, writable: true });
    return out;
  });
}

/** `sources` for a policy: lists of the places its `source` conditions name (and others), sometimes malformed. */
function sourcesFor(policy: CompiledPolicy): fc.Arbitrary<unknown> {
  const conditions = policy.ir.rules.flatMap((r) => r.conditions).filter((c) => c.op === 'source');
  const paths = [...new Set(conditions.map((c) => c.path)), 'other'];
  const names = [...new Set([...conditions.flatMap((c) => c.names), 'read_file', 'user', 'system', "it's \"x\""])];
  const valid = fc.dictionary(fc.constantFrom(...paths), fc.array(fc.constantFrom(...names), { maxLength: 3 }), { maxKeys: 3 });
  const first = paths[0] as string;
  const invalid = fc.constantFrom<unknown>(null, [], 'x', { [first]: 'user' }, { [first]: ['user', 7] }, { [first]: null }, { [first]: [['user']] });
  return fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: invalid });
}

function requests(policy: CompiledPolicy): fc.Arbitrary<Record<string, unknown>> {
  const actions = [...new Set([...policy.ir.rules.flatMap((r) => r.actions), ...STANDARD_ACTION_IDS.slice(0, 6), 'no_such_action'])];
  return fc.constantFrom(...actions).chain((action) => {
    const filled = paramsFor(policy, action);
    return fc.record(
      {
        action: fc.oneof({ weight: 20, arbitrary: fc.constant<unknown>(action) }, { weight: 1, arbitrary: fc.constantFrom<unknown>('', 7, null) }),
        params: fc.oneof({ weight: 20, arbitrary: filled as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.constantFrom<unknown>(null, [], 'x') }),
        context: fc.oneof(
          { weight: 8, arbitrary: fc.oneof(fc.constant<unknown>({}), fc.record({ session: fc.record({ risk: fc.constantFrom(10, 50, 99, 'high') }) }), fc.constant<unknown>(null)) },
          { weight: 1, arbitrary: fc.constant<unknown>([]) },
        ),
        previous_action: fc.oneof({ weight: 12, arbitrary: fc.constantFrom<unknown>('read_file', 'connect', 'write_file') }, { weight: 1, arbitrary: fc.constant<unknown>(3) }),
        provenance: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom<unknown>({ path: 'user' }, { path: 'external' }, { path: 'model' }, { text: 'model' }, { text: 'user' }, { path: 7 }) },
          { weight: 1, arbitrary: fc.constant<unknown>(null) },
        ),
        sources: sourcesFor(policy),
        facts: fc.constant<unknown>({ path: '/workspace/x', url: 'https://api.github.com/', 'url.host': 'api.github.com', 'url.scheme': 'https' }),
      },
      { requiredKeys: ['action', 'params'] },
    );
  });
}

describe('a plain opa run -s serving the bundle, asked with raw APE requests', () => {
  const seen = { canonical: 0, other: 0, refused: 0, allowed: 0, deniedUnsure: 0 };

  /** Asks OPA and checks its answer against native's. */
  async function check(policy: CompiledPolicy, request: Record<string, unknown>): Promise<void> {
    const answer = (await ask(policy, 'decision', request)) as RegoAnswer;
    const expected = native(policy, request);
    if ('refused' in expected) {
      seen.refused++;
      expect(answer.decision).toBe('deny');
      expect(answer.error?.code).toBe(expected.refused);
      return;
    }
    expect(answer.error).toBeUndefined();
    if (answer.decision === 'allow') {
      seen.allowed++;
      expect(expected.decision).toBe('allow');
    }
    if (canonicalRequest(policy, request)) {
      seen.canonical++;
      expect(answer).toEqual(expected);
    } else {
      seen.other++;
      if (!isEqual(answer, expected)) {
        seen.deniedUnsure++;
        expect(answer.decision).toBe('deny');
        expect(answer.rule).toBeNull();
        expect(answer.reasons.every((r) => /^(parameter|context value) '/.test(r))).toBe(true);
      }
    }
  }

  it.each(policies.map((p) => [p.ir.name, p] as const))('%s: its examples, sent as written', async (_name, policy) => {
    for (const example of policy.examples) {
      const request: Record<string, unknown> = { action: example.action, params: example.params, context: example.context };
      if (example.previous_action !== undefined) request['previous_action'] = example.previous_action;
      await check(policy, request);
    }
  });

  it.each(policies.map((p) => [p.ir.name, p] as const))('%s: generated requests: canonical = native; others native or denied; never an allow native refuses', async (_name, policy) => {
    await fc.assert(
      fc.asyncProperty(requests(policy), (request) => check(policy, request)),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('covered every class of request', () => {
    console.log('standalone opa requests:', JSON.stringify(seen));
    expect(seen.canonical).toBeGreaterThan(policies.length * RUNS * 0.3);
    expect(seen.refused).toBeGreaterThan(20);
    expect(seen.allowed).toBeGreaterThan(20);
    expect(seen.deniedUnsure).toBeGreaterThan(5);
  });

  it("decides the issue's cases: no path escape, no facts injection, a default for {}", async () => {
    const minimal = policies.find((p) => p.ir.name === 'minimal_safe') as CompiledPolicy;
    const escape = (await ask(minimal, 'decision', { action: 'read_file', params: { path: '/workspace/../etc/passwd' } })) as RegoAnswer;
    expect(escape.decision).toBe('deny');
    const injected = { action: 'read_file', params: { path: '/etc/passwd' }, facts: { path: '/workspace/x' } };
    expect(((await ask(minimal, 'decision', injected)) as RegoAnswer).decision).toBe('deny');
    expect(await ask(minimal, 'allow', injected)).toBe(false);
    const empty = (await ask(minimal, 'decision', {})) as RegoAnswer;
    expect(empty).toMatchObject({ decision: 'deny', rule: null, error: { code: 'APE_REQUEST_INVALID' } });
    expect(await ask(minimal, 'allow', {})).toBe(false);
    expect(await ask(minimal, 'allow', { action: 'read_file', params: { path: '/workspace/a/./b' } })).toBe(true);
    expect(await ask(minimal, 'allow', { action: 'write_file', params: { path: '/workspace/a', content: 'x' } })).toBe(false);
    const unsure = (await ask(policies.find((p) => p.ir.name === 'scoped_access') as CompiledPolicy, 'decision', { action: 'http_get', params: { url: 'https://u:p@api.github.com/' } })) as RegoAnswer;
    expect(unsure).toMatchObject({ decision: 'deny', rule: null });
    expect(unsure.reasons[0]).toMatch(/^parameter 'url/);
  });
});

function isEqual(a: unknown, b: unknown): boolean {
  try {
    expect(a).toEqual(b);
    return true;
  } catch {
    return false;
  }
}

describe('what a plain OPA user sees', () => {
  it('opa inspect -a shows the title, description and entrypoints of the bundle', () => {
    const policy = policies.find((p) => p.ir.name === 'minimal_safe') as CompiledPolicy;
    const file = join(temp.dir, 'minimal_safe.tar.gz');
    const out = JSON.parse(execFileSync(findOpa(), ['inspect', '-a', '--format', 'json', file], { encoding: 'utf8' })) as {
      annotations?: { annotations: { title?: string; description?: string; entrypoint?: boolean }; path: { value: string }[] }[];
    };
    const entry = (out.annotations ?? []).filter((a) => a.annotations.entrypoint).map((a) => a.annotations.title);
    expect(entry.sort()).toEqual(['APE allow', 'APE decision', 'APE decision on engine input']);
    const pkg = (out.annotations ?? []).find((a) => a.annotations.title === `APE policy minimal_safe ${policy.ir.version}`);
    expect(pkg?.annotations.description).toBe(policy.ir.description);
  });

  it('the wasm bundle claims only its own root and two builds are byte-identical', async () => {
    const policy = policies.find((p) => p.ir.name === 'minimal_safe') as CompiledPolicy;
    const [a, b] = [await buildWasmBundle(policy), await buildWasmBundle(policy)];
    expect(a.equals(b)).toBe(true);
    const file = join(temp.dir, 'w.tar.gz');
    writeFileSync(file, a);
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', file, '/.manifest'], { encoding: 'utf8' })) as { roots: string[]; wasm: { entrypoint: string }[] };
    expect(manifest.roots).toEqual(['ape/minimal_safe']);
    expect(manifest.wasm.map((w) => w.entrypoint).sort()).toEqual(['ape/minimal_safe/allow', 'ape/minimal_safe/decision', 'ape/minimal_safe/facts_decision']);
    const files = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' });
    expect(files).not.toMatch(/tmp|ape-wasm-/);
  }, 60_000);
});


