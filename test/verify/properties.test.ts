/** Properties of the example policies: proved ones hold, refuted ones come with a request `ape eval` decides as the solver said. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { compilePolicyFile } from '../../src/compiler/compile.js';
import type { Decision } from '../../src/compiler/ir.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { PropertyError } from '../../src/verify/errors.js';
import { parseProperties, propertyFrom } from '../../src/verify/properties.js';
import type { RequestLine } from '../../src/verify/realize.js';
import { verifyProperty, type PropertyResult } from '../../src/verify/verify.js';

/** Solver time for results that must be decided: generous, because the suite shares 2 cores with JVMs and servers (a timeout is 'unknown', never a wrong answer). */
const SLOW_MACHINE = { timeoutMs: 120_000 };

const ROOT = new URL('../../', import.meta.url).pathname;
const policyPath = (name: string) => join(ROOT, 'policies', `${name}.yaml`);
const tmp = mkdtempSync(join(tmpdir(), 'ape-verify-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Decides a counterexample with `ape eval --requests` (in-process CLI). */
async function evalCli(policy: string, request: RequestLine): Promise<Decision> {
  const file = join(tmp, `${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(file, `${JSON.stringify(request)}\n`);
  const io = bufferIO();
  expect(await runCli(['eval', policyPath(policy), '--requests', file], io)).toBe(0);
  return (JSON.parse(io.stdout.trim()) as { decision: Decision }).decision;
}

/** Checks a refutation: the native evaluator and `ape eval` decide the counterexample as reported. */
async function expectConfirmed(policy: string, result: PropertyResult, decisions: Decision[]): Promise<RequestLine> {
  expect(result.status).toBe('refuted');
  const request = result.counterexample as RequestLine;
  expect(Object.keys(request).sort()).toEqual(expect.arrayContaining(['action', 'context', 'params']));
  const native = new NativeEvaluator(compilePolicyFile(policyPath(policy))).decideSync(request).decision;
  expect(native).toBe(result.decision);
  expect(decisions).toContain(native);
  expect(await evalCli(policy, request)).toBe(native);
  return request;
}

type Raw = Parameters<typeof propertyFrom>[0];
const cases: { policy: string; raw: Raw; status: 'proved' | 'refuted'; check?: (r: RequestLine) => boolean }[] = [
  { policy: 'minimal_safe', raw: { name: 'no deletes', never: ['delete_file', 'delete_directory', 'run_shell_command'] }, status: 'proved' },
  { policy: 'minimal_safe', raw: { name: 'queries are selects', action: 'query_data', always: { query: { regex: '^\\s*(?i:select)\\s' } } }, status: 'proved' },
  { policy: 'minimal_safe', raw: { name: 'never a query', never: 'query_data' }, status: 'refuted', check: (r) => /^\s*select\s/i.test(String(r.params['query'])) },
  { policy: 'minimal_safe', raw: { name: 'reads in workspace', action: 'read_file', within: { path: '/workspace/' } }, status: 'proved' },
  { policy: 'scoped_access', raw: { name: 'no .env reads', never: 'read_file', where: { path: { allowlist: ['*/.env'] } } }, status: 'proved' },
  { policy: 'scoped_access', raw: { name: 'never evil mail', never: 'send_email', where: { 'to.domain': { allowlist: ['*evil.io'] } } }, status: 'proved' },
  {
    policy: 'scoped_access',
    raw: { name: 'only github', action: 'http_get', always: { 'url.host': { equals: 'api.github.com' } }, decisions: ['allow'] },
    status: 'refuted',
    check: (r) => new URL(String(r.params['url'])).hostname.endsWith('example.com'),
  },
  { policy: 'scoped_access', raw: { name: 'no big writes', never: 'write_file', where: { size: { min: 1048577 } } }, status: 'proved' },
  {
    policy: 'development',
    raw: { name: 'writes allowed only in workspace', action: 'write_file', within: { path: '/workspace/' }, decisions: ['allow'] },
    status: 'refuted',
    check: (r) => String(r.params['path']).startsWith('/tmp/'),
  },
  { policy: 'development', raw: { name: 'never a shell', never: 'run_shell_command', decisions: ['allow'] }, status: 'refuted', check: (r) => /^(npm|npx|node|git|make|pytest|go|cargo) /.test(String(r.params['command'])) },
  { policy: 'filesystem_scoped', raw: { name: 'secrets never', never: ['read_file', 'write_file'], where: { path: { prefix: '/srv/app/secrets/' } } }, status: 'proved' },
  { policy: 'filesystem_scoped', raw: { name: 'deletes never run', never: 'delete_file' }, status: 'refuted', check: (r) => /^\/(srv\/app|tmp\/build)\//.test(String(r.params['path'])) },
  { policy: 'human_in_loop', raw: { name: 'no mass email', never: 'send_email', where: { cc: { min_length: 21 } } }, status: 'proved' },
  { policy: 'human_in_loop', raw: { name: 'never writes', never: 'write_file' }, status: 'refuted' },
  { policy: 'read_only', raw: { name: 'no plain http', never: 'http_get', where: { 'url.scheme': { equals: 'http' } } }, status: 'proved' },
  { policy: 'read_only', raw: { name: 'no keys', never: ['read_file', 'search_files'], where: { path: { allowlist: ['*.key', '*/.ssh/*'] } } }, status: 'proved' },
  { policy: 'read_only', raw: { name: 'never fetch', never: 'http_get' }, status: 'refuted', check: (r) => String(r.params['url']).startsWith('https:') },
];

describe('properties of the example policies', () => {
  it.each(cases.map((c) => [`${c.policy}: ${c.raw.name} is ${c.status}`, c] as const))('%s', async (_title, c) => {
    const property = propertyFrom(c.raw);
    const result = await verifyProperty(compilePolicyFile(policyPath(c.policy)), property, SLOW_MACHINE);
    expect(result.status, result.reason).toBe(c.status);
    if (c.status === 'refuted') {
      const request = await expectConfirmed(c.policy, result, property.decisions);
      if (c.check) expect(c.check(request), JSON.stringify(request)).toBe(true);
    } else {
      expect(result.counterexample).toBeUndefined();
    }
  });

  it('a property file: each named property proved or refuted', async () => {
    const properties = parseProperties(await import('node:fs').then((fs) => fs.readFileSync(join(ROOT, 'test/verify/fixtures/properties.yaml'), 'utf8')));
    const policy = compilePolicyFile(policyPath('scoped_access'));
    const results = [];
    for (const p of properties) results.push(await verifyProperty(policy, p, SLOW_MACHINE));
    expect(results.map((r) => [r.property, r.status])).toEqual([
      ['writes-stay-in-workspace', 'proved'],
      ['no-pem-reads', 'proved'],
      ['http-only-https', 'proved'],
      ['no-big-posts-allowed', 'proved'],
      ['reads-only-docs', 'refuted'],
    ]);
    const refuted = await expectConfirmed('scoped_access', results[4] as PropertyResult, ['allow', 'escalate']);
    expect(String(refuted.params['path']).startsWith('/workspace/docs/')).toBe(false);
  });
});

describe('a deny list written with globs has a bypass the regex version has not', () => {
  const fixture = (name: string) => join(ROOT, 'test/verify/fixtures', `${name}.yaml`);
  const property = propertyFrom({ name: 'rm -rf never runs', never: 'run_shell_command', where: { command: { regex: 'rm\\s+-[a-z]*r' } } });

  it('regex deny rule: proved', async () => {
    const result = await verifyProperty(compilePolicyFile(fixture('shell_regex')), property, SLOW_MACHINE);
    expect(result.status, result.reason).toBe('proved');
  });

  it('glob deny rule: refuted by a command with more than one blank after rm, which the evaluator allows', async () => {
    const policy = compilePolicyFile(fixture('shell_globs'));
    const result = await verifyProperty(policy, property, SLOW_MACHINE);
    expect(result.status, result.reason).toBe('refuted');
    const request = result.counterexample as RequestLine;
    expect(new NativeEvaluator(policy).decideSync(request).decision).toBe('allow');
    expect(String(request.params['command'])).toMatch(/rm\s+-[a-z]*r/);
    expect(String(request.params['command'])).not.toMatch(/rm -r/);
  });
});

describe('properties the solver cannot translate are never proved', () => {
  const policyText = (pattern: string) => `name: opaque
default_decision: deny
actions:
  - id: act
    parameters: { type: object, properties: { v: { type: string } }, required: [v] }
rules:
  - id: r
    action: act
    decision: allow
    conditions:
      v: { regex: ${JSON.stringify(pattern)} }
`;

  it('a regex with a word boundary: refuted with a confirmed request, or unknown; never a false proof', async () => {
    const { compilePolicySource } = await import('../../src/compiler/compile.js');
    const policy = compilePolicySource(policyText('\\bfoo\\b'), 'opaque.yaml');
    const result = await verifyProperty(policy, propertyFrom({ name: 'never', never: 'act' }));
    expect(result.status).not.toBe('proved');
    if (result.status === 'refuted') {
      expect(new NativeEvaluator(policy).decideSync(result.counterexample as RequestLine).decision).toBe('allow');
    }
  });

  it('the untranslated regex still lets the solver prove what does not depend on it', async () => {
    const { compilePolicySource } = await import('../../src/compiler/compile.js');
    const policy = compilePolicySource(policyText('\\bfoo\\b'), 'opaque.yaml');
    const result = await verifyProperty(policy, propertyFrom({ name: 'other action', never: 'read_file' }));
    expect(result.status).toBe('proved');
  });
});

describe('property files', () => {
  it.each([
    ['not YAML', 'properties: [', /not valid YAML/],
    ['no properties', 'version: 1', /properties/],
    ['unknown key', 'properties: [{name: a, never: x, bogus: 1}]', /additional/],
    ['nothing to prove', 'properties: [{name: a, action: x}]', /say what must hold/],
    ['both kinds', 'properties: [{name: a, never: x, within: {path: /a/}}]', /either never or always/],
    ['duplicate names', 'properties: [{name: a, never: x}, {name: a, never: y}]', /used twice/],
  ])('%s is a PropertyError', (_name, text, message) => {
    expect(() => parseProperties(text, 'p.yaml')).toThrow(PropertyError);
    expect(() => parseProperties(text, 'p.yaml')).toThrow(message);
  });

  it('where-conditions that do not compile are a PropertyError', async () => {
    const policy = compilePolicyFile(policyPath('scoped_access'));
    await expect(verifyProperty(policy, propertyFrom({ name: 'bad', never: 'read_file', where: { path: { prefix: 5 } } }))).rejects.toThrow(PropertyError);
  });
});
