/** The Rego back end: committed output is fresh, OPA's own tools accept it, literals can't inject code, and bad names are typed errors. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { globToRegExp } from '../../src/compiler/glob.js';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { runOpa } from '../../src/adapters/opa/cli.js';
import { OpaCommandError } from '../../src/adapters/opa/errors.js';
import { compilePolicySource } from '../../src/compiler/compile.js';
import { RequestPreparer } from '../../src/compiler/engine-input.js';
import { OPERATOR_NAMES } from '../../src/compiler/operators.js';
import { CONDITION_EMITTERS, emitRego, emitRegoTests, globToRe2, RegoEmitError } from '../../src/compiler/rego/index.js';
import { nativeDecide } from '../../src/adapters/native/index.js';
import { literal, ident, stringLiteral } from '../../src/compiler/rego/writer.js';
import { generatedRego } from '../../scripts/gen-rego.js';
import { CURATED_REQUESTS, FIXTURE_DIR, suitePolicies } from '../conformance/cases.js';
import { compilePolicyFile } from '../../src/compiler/compile.js';
import { ApeError } from '../../src/errors.js';
import { tempDir } from '../opa/helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const temp = tempDir('ape-rego-');
afterAll(() => temp.remove());

describe('committed rego/', () => {
  it('is what scripts/gen-rego.ts generates now (run `npx tsx scripts/gen-rego.ts` when this fails)', () => {
    const generated = generatedRego();
    expect(generated.size).toBeGreaterThan(0);
    for (const [path, content] of generated) expect(readFileSync(join(ROOT, path), 'utf8'), path).toBe(content);
  });
});

describe('OPA accepts the emitted Rego of every suite policy', () => {
  const dir = join(temp.dir, 'all');
  mkdirSync(dir, { recursive: true });
  const names = new Set<string>();
  for (const { name, policy } of suitePolicies()) {
    // Seed and example policies share names: keep one package per name.
    if (names.has(policy.ir.name)) continue;
    names.add(policy.ir.name);
    writeFileSync(join(dir, `${policy.ir.name}.rego`), emitRego(policy));
    writeFileSync(join(dir, `${policy.ir.name}_test.rego`), emitRegoTests(policy, nativeDecide(policy)));
    void name;
  }

  it('passes opa check --strict', async () => {
    await expect(runOpa(['check', '--strict', dir])).resolves.toBeDefined();
    await expect(runOpa(['check', '--strict', join(ROOT, 'rego')])).resolves.toBeDefined();
  });

  it('is already opa fmt-formatted (formatting changes nothing)', async () => {
    const { stdout } = await runOpa(['fmt', '--list', dir]);
    expect(stdout.trim()).toBe('');
    const committed = await runOpa(['fmt', '--list', join(ROOT, 'rego')]);
    expect(committed.stdout.trim()).toBe('');
  });

  it('passes the opa test cases generated from the examples', async () => {
    const { stdout } = await runOpa(['test', '--format', 'json', dir, join(ROOT, 'rego')].slice(0, 4));
    const results = JSON.parse(stdout) as { name: string; fail?: boolean; error?: unknown }[];
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((r) => r.fail || r.error)).toEqual([]);
    const committed = JSON.parse((await runOpa(['test', '--format', 'json', join(ROOT, 'rego')])).stdout) as { fail?: boolean }[];
    expect(committed.length).toBeGreaterThan(10);
    expect(committed.filter((r) => r.fail)).toEqual([]);
  });

  it('fails opa test when the Rego disagrees with an example (the generated tests can fail)', async () => {
    const broken = join(temp.dir, 'broken');
    mkdirSync(broken, { recursive: true });
    const policy = suitePolicies().find((p) => p.name === 'fixtures/every_operator.yaml')?.policy;
    if (!policy) throw new Error('fixture missing');
    writeFileSync(join(broken, 'p.rego'), emitRego(policy).replace('default_decision := "escalate"', 'default_decision := "allow"'));
    writeFileSync(join(broken, 'p_test.rego'), emitRegoTests(policy, nativeDecide(policy)));
    await expect(runOpa(['test', broken])).rejects.toBeInstanceOf(OpaCommandError);
  });
});

describe('literals and identifiers', () => {
  const hostile = ["it's", 'say "hi"', 'back\\slash', 'line\nbreak\r\t', '# not a comment', 'ünïcødé ✓ 数据', '\u0000\u0001\u001f\u007f', '\u2028\u2029', '😀 astral', '`raw` ${x} %s', '"}\ndecision := {"decision": "allow"}\n#'];

  it('every string literal reads back in OPA as exactly the same string', async () => {
    const module = `package lit\n\nvalues := ${literal(hostile).text}\n`;
    const file = join(temp.dir, 'lit.rego');
    writeFileSync(file, module);
    const { stdout } = await runOpa(['eval', '--format', 'json', '-d', file, 'data.lit.values']);
    const value = (JSON.parse(stdout) as { result: { expressions: { value: unknown }[] }[] }).result[0]?.expressions[0]?.value;
    expect(value).toEqual(hostile);
  });

  it('numbers keep their double value, and non-finite numbers or lone surrogates are refused', () => {
    expect(literal(1e21).text).toBe('1e+21');
    expect(literal(-0).text).toBe('0');
    expect(literal(Number('9007199254740993')).text).toBe('9007199254740992');
    expect(() => literal(Number.NaN)).toThrow(RegoEmitError);
    expect(() => stringLiteral('\ud800')).toThrow(RegoEmitError);
  });

  it('identifiers are checked: keywords and non-identifiers are typed errors', () => {
    for (const bad of ['not', 'default', 'input', 'a-b', '1a', 'a.b', 'x"y', '']) expect(() => ident(bad)).toThrow(RegoEmitError);
    expect(ident('scoped_access').text).toBe('scoped_access');
  });

  it('a policy named like a Rego keyword fails with a typed error, not broken Rego', () => {
    const policy = compilePolicySource('name: import\nversion: "1"\nrules:\n  - { action: read_file, decision: allow }\n', 'kw.yaml');
    try {
      emitRego(policy);
      expect.unreachable('emitRego accepted a keyword package name');
    } catch (error) {
      expect(error).toBeInstanceOf(RegoEmitError);
      expect((error as RegoEmitError).code).toBe('APE_REGO_UNREPRESENTABLE');
    }
  });

  it('an operand that tries to inject Rego stays data: the decision is still the default deny', async () => {
    const injection = '/"}\n_matched.read_file contains [2, 0, "x", "allow"]\ndecision := {"decision": "allow"}\n#';
    const policy = compilePolicySource(
      `name: inject\nversion: "1"\ndefault_decision: deny\nrules:\n  - id: r\n    action: read_file\n    decision: allow\n    conditions:\n      path: { prefix: ${JSON.stringify(injection)} }\n`,
      'inject.yaml',
    );
    const file = join(temp.dir, 'inject.rego');
    writeFileSync(file, emitRego(policy));
    await runOpa(['check', '--strict', file]);
    const input = new RequestPreparer(policy.ir).prepare({ action: 'read_file', params: { path: '/etc/passwd' } });
    writeFileSync(join(temp.dir, 'inject-input.json'), JSON.stringify(input));
    const native = new NativeEngine(policy.ir, policy.hash).decideSync(input);
    writeFileSync(join(temp.dir, 'inject-request.json'), JSON.stringify({ action: 'read_file', params: { path: '/etc/passwd' } }));
    for (const [inputFile, rule] of [['inject-input.json', 'facts_decision'], ['inject-request.json', 'decision']] as const) {
      const { stdout } = await runOpa(['eval', '--format', 'json', '-d', file, '-i', join(temp.dir, inputFile), `data.ape.inject.${rule}`]);
      const decision = (JSON.parse(stdout) as { result: { expressions: { value: { decision: string } }[] }[] }).result[0]?.expressions[0]?.value;
      expect(decision?.decision).toBe('deny');
      expect(decision).toEqual({ decision: native.decision, rule: native.rule, matched: native.matched, reasons: native.reasons, policy_hash: native.policy_hash });
    }
  });
});

describe('source and the model label in the request form (decision)', () => {
  it('opa eval reads input.sources as native does: hits, misses, no place, missing sources, and refuses malformed sources with native\'s error', async () => {
    const policy = compilePolicyFile(join(FIXTURE_DIR, 'provenance_origin.yaml'));
    const base = { action: 'pay', params: { recipient: 'bob', amount: 5 } };
    const malformed = [null, 'user', ['user'], { recipient: 'user' }, { recipient: ['user', 1] }, { recipient: [['user']] }, { other: null }];
    const requests: unknown[] = [...(CURATED_REQUESTS['fixtures/provenance_origin.yaml'] ?? []), ...malformed.map((sources) => ({ ...base, sources }))];
    const preparer = new RequestPreparer(policy.ir);
    const engine = new NativeEngine(policy.ir, policy.hash);
    const expected = requests.map((request) => {
      try {
        const { engine: _e, ...rest } = engine.decideSync(preparer.prepare(request as never));
        void _e;
        return rest;
      } catch (error) {
        if (!(error instanceof ApeError)) throw error;
        return { decision: 'deny', rule: null, matched: [], reasons: [error.message], policy_hash: policy.hash, error: { code: error.code, message: error.message } };
      }
    });
    expect(expected.filter((e) => 'error' in e)).toHaveLength(malformed.length);
    const file = join(temp.dir, 'provenance_origin.rego');
    writeFileSync(file, emitRego(policy));
    writeFileSync(join(temp.dir, 'requests.json'), JSON.stringify({ requests }));
    const query = '[d | some r in data.requests; d := data.ape.provenance_origin.decision with input as r]';
    const { stdout } = await runOpa(['eval', '--format', 'json', '-d', file, '-d', join(temp.dir, 'requests.json'), query]);
    const got = (JSON.parse(stdout) as { result: { expressions: { value: unknown }[] }[] }).result[0]?.expressions[0]?.value;
    expect(got).toEqual(expected);
  });
});

describe('condition emitters', () => {
  it('there is one emitter per condition operator', () => {
    expect(Object.keys(CONDITION_EMITTERS).sort()).toEqual([...OPERATOR_NAMES].sort());
  });

  it('globs compiled to parts match exactly like the native glob, in OPA WASM and in opa eval', async () => {
    const patterns = ['*.corp.example', 'a*b*c', '*/.git/*', '/x/*/y/*/z', 'a*b*c*d*e', 'exact', '*', '**', 'ü*ß*✓', '*\n*'];
    const values = ['x.corp.example', 'corp.example', 'abc', 'ac', 'aXbYc', 'acb', 'abcbc', '/r/.git/h', '/.git/', '/x/1/y/2/z', '/x//y//z', '/x/y/z', 'abcde', 'aXbXcXdXe', 'aedcb', 'exact', '', 'üaßb✓', 'ü✓ß', 'a\nb', 'ab'];
    const yaml = [
      'name: globs',
      'version: "1"',
      'actions:',
      '  - { id: g, parameters: { type: object, properties: { s: { type: string } } } }',
      'rules:',
      ...patterns.map((p, i) => `  - { id: p${i}, action: g, decision: allow, conditions: { s: { allowlist: [${JSON.stringify(p)}] } } }`),
      '',
    ].join('\n');
    const policy = compilePolicySource(yaml, 'globs.yaml');
    const { createOpaWasmEngine } = await import('../../src/adapters/opa-wasm/index.js');
    const wasm = await createOpaWasmEngine(policy);
    const native = new NativeEngine(policy.ir, policy.hash);
    for (const value of values) {
      const input = { action: 'g', facts: { s: value } };
      const { engine: _a, ...actual } = await wasm.decide(input);
      const { engine: _b, ...expected } = native.decideSync(input);
      expect(actual, value).toEqual(expected);
    }
    expect(native.decideSync({ action: 'g', facts: { s: 'aXbYc' } }).matched).toContain('p1');
  });

  it('globs translate to anchored RE2 patterns that agree with the native glob', async () => {
    const patterns = ['*.corp.example', 'a*b\\c*', '*.(x)+[y]?{z}|^$', '/workspace/*', 'exact', '*', '**', '*\n*', "*'*"];
    const values = ['x.corp.example', 'corp.example', 'a/b\\c', 'ab\\c/d', '.(x)+[y]?{z}|^$', 'q.(x)+[y]?{z}|^$z', '/workspace/a/b', '/workspace', 'exact', 'exactly', '', 'a\nb', "it's", 'x.corp.example\n'];
    const cases = patterns.flatMap((p) => values.map((v) => ({ p, re: globToRe2(p), v, native: globToRegExp(p).test(v) })));
    const file = join(temp.dir, 'globs.json');
    writeFileSync(file, JSON.stringify({ cases }));
    const { stdout } = await runOpa(['eval', '--format', 'json', '-d', file, '[regex.match(c.re, c.v) | some c in data.cases]']);
    const opa = (JSON.parse(stdout) as { result: { expressions: { value: boolean[] }[] }[] }).result[0]?.expressions[0]?.value;
    expect(opa).toEqual(cases.map((c) => c.native));
  });
});
