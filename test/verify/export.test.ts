/** The exports: the SMT-LIB decision function agrees with the native evaluator in Z3; the JSON model and TLA+ spec are well-formed. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { compilePolicyFile } from '../../src/compiler/compile.js';
import type { EngineInput, JsonValue } from '../../src/compiler/ir.js';
import { PolicyEncoding } from '../../src/verify/encode.js';
import { smtExport } from '../../src/verify/export-smt.js';
import { placesString } from '../../src/verify/facts.js';
import { verificationModel, MODEL_FORMAT } from '../../src/verify/model.js';
import { fitsAlphabet, realLit, strLit } from '../../src/verify/smtlib.js';
import { checkSmt } from '../../src/verify/solver.js';
import { modelCheckingFiles, tokenSpec, TLA_INVARIANTS } from '../../src/verify/tla.js';
import { conformanceSuite } from '../conformance/cases.js';

const ROOT = new URL('../../', import.meta.url).pathname;

function factTerm(value: JsonValue, key: string): string | undefined {
  if (key.endsWith('#source')) {
    // A list of places is the string NUL p1 NUL p2 NUL ...; anything else is no list of places (missing).
    if (!Array.isArray(value) || !value.every((x): x is string => typeof x === 'string')) return 'absent';
    const text = placesString(value);
    return fitsAlphabet(text) ? `(str ${strLit(text)})` : undefined;
  }
  if (typeof value === 'string') return fitsAlphabet(value) ? `(str ${strLit(value)})` : undefined;
  if (typeof value === 'number') return `(num ${realLit(value)})`;
  if (typeof value === 'boolean') return `(bool ${value})`;
  return 'other';
}

/** The input as arguments of |decide|, or undefined if a string is outside the solver's alphabet. */
function decideCall(input: EngineInput): string | undefined {
  let facts = '((as const (Array String Fact)) absent)';
  for (const [key, value] of Object.entries(input.facts)) {
    const term = factTerm(value, key);
    if (term === undefined || !fitsAlphabet(key)) return undefined;
    facts = `(store ${facts} ${strLit(key)} ${term})`;
  }
  if (!fitsAlphabet(input.action) || (input.previous_action !== undefined && !fitsAlphabet(input.previous_action))) return undefined;
  const prev = input.previous_action === undefined ? 'absent' : `(str ${strLit(input.previous_action)})`;
  return `(|decide| ${strLit(input.action)} ${facts} ${prev})`;
}

/** Actions whose rules use a condition the export leaves uninterpreted (their decision is not determined). */
function opaqueActions(ir: ReturnType<typeof compilePolicyFile>['ir']): Set<string> {
  const encoding = new PolicyEncoding(ir);
  for (const rule of ir.rules) for (const action of rule.actions) encoding.decision(action, () => '' as never);
  return new Set(ir.rules.filter((r) => encoding.opaqueByRule.has(r.id)).flatMap((r) => r.actions));
}

describe('SMT-LIB export', () => {
  const suite = conformanceSuite(40);

  it.each(suite.map((s) => [s.name, s] as const))('%s: Z3 decides the conformance inputs as the native evaluator does', async (_name, { policy, inputs }) => {
    const engine = new NativeEngine(policy.ir, policy.hash);
    const opaque = opaqueActions(policy.ir);
    const lines: string[] = [smtExport(policy)];
    const expected: string[] = [];
    for (const input of inputs) {
      if (opaque.has(input.action)) continue;
      const call = decideCall(input);
      if (!call) continue;
      lines.push(`(declare-const |d${expected.length}| Decision)`, `(assert (= |d${expected.length}| ${call}))`);
      expected.push(engine.decideSync(input).decision);
    }
    expect(expected.length).toBeGreaterThan(inputs.length * 0.8);
    const result = await checkSmt(lines.join('\n'), 60_000);
    expect(result.status).toBe('sat');
    if (result.status !== 'sat') return;
    const got = expected.map((_, i) => {
      const v = result.model.get(`d${i}`)?.value;
      return v?.kind === 'decision' ? v.value : undefined;
    });
    expect(got).toEqual(expected);
  });

  it('is plain SMT-LIB: declarations and definitions only, every action of the policy has a function', () => {
    const policy = compilePolicyFile(join(ROOT, 'policies/scoped_access.yaml'));
    const text = smtExport(policy);
    expect(text).toContain('(set-logic ALL)');
    expect(text).toContain('(define-fun |decide| ((|action| String) (|facts| (Array String Fact)) (|previous_action| Fact)) Decision');
    for (const action of ['read_file', 'write_file', 'http_get', 'http_post', 'send_email', 'delete_file']) expect(text).toContain(`(define-fun |decide:${action}|`);
    expect(text).not.toMatch(/\(check-sat\)|\(assert /);
    let depth = 0;
    for (const line of text.split('\n').filter((l) => !l.startsWith(';'))) {
      for (const ch of line.replace(/"([^"]|"")*"/g, '""').replace(/\|[^|]*\|/g, '||')) depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
  });

  it('quotes hostile policy strings: they stay string literals', async () => {
    const policy = compilePolicyFile(join(ROOT, 'test/conformance/policies/hostile_strings.yaml'));
    const text = smtExport(policy);
    const result = await checkSmt(`${text}\n(assert (= (|decide| "tag_item" (store ((as const (Array String Fact)) absent) "label" (str "it's x")) absent) allow))`, 10_000);
    expect(result.status).toBe('sat');
  });
});

describe('JSON verification model', () => {
  it('describes actions, facts, rules as atoms and the decision procedure', () => {
    const policy = compilePolicyFile(join(ROOT, 'policies/scoped_access.yaml'));
    const model = verificationModel(policy) as unknown as Record<string, unknown>;
    expect(model['format']).toBe(MODEL_FORMAT);
    expect(model['version']).toBe(1);
    expect(model['policy']).toEqual({ name: 'scoped_access', version: '2.0.0', hash: policy.hash });
    const rules = model['rules'] as { id: string; when: { all: Record<string, unknown>[] } }[];
    const api = rules.find((r) => r.id === 'api-domains');
    expect(api?.when.all).toEqual([
      { fact: 'url.scheme', path: 'url.scheme', kind: 'plain', test: 'equals', value: 'https', accepts: ['string'], whenMissing: false },
      { fact: 'url.host', path: 'url.host', kind: 'domain', test: 'allowlist', patterns: ['api.github.com', '*.example.com'], accepts: ['string'], whenMissing: false },
    ]);
    const noSecrets = rules.find((r) => r.id === 'no-secrets');
    expect(noSecrets?.when.all[0]?.['whenMissing']).toBe(true);
    const actions = model['actions'] as Record<string, { facts: { fact: string; kind: string; part?: string }[] }>;
    expect(actions['http_get']?.facts).toEqual([
      { fact: 'url.host', from: 'params', segments: ['url'], kind: 'url', part: 'host', transform: 'value' },
      { fact: 'url.scheme', from: 'params', segments: ['url'], kind: 'url', part: 'scheme', transform: 'value' },
    ]);
  });

  it('is what `ape compile --target model` prints, and `--target smt` prints the SMT export', async () => {
    const file = join(ROOT, 'policies/minimal_safe.yaml');
    const io = bufferIO();
    expect(await runCli(['compile', file, '--target', 'model'], io)).toBe(0);
    expect(JSON.parse(io.stdout)).toEqual(verificationModel(compilePolicyFile(file)));
    const smt = bufferIO();
    expect(await runCli(['compile', file, '--target', 'smt'], smt)).toBe(0);
    expect(smt.stdout).toBe(smtExport(compilePolicyFile(file)));
  });
});

describe('TLA+ specification', () => {
  it('the committed docs/verify/ApeTokens.tla is the generated spec', () => {
    expect(readFileSync(join(ROOT, 'docs/verify/ApeTokens.tla'), 'utf8')).toBe(tokenSpec());
  });

  it('is a well-formed module that defines every invariant it checks', () => {
    const spec = tokenSpec();
    expect(spec.split('\n')[0]).toMatch(/^-{4,} MODULE ApeTokens -{4,}$/);
    expect(spec.trimEnd().split('\n').pop()).toMatch(/^={4,}$/);
    for (const name of [...TLA_INVARIANTS, 'Init', 'Next', 'Spec', 'Issue(c)', 'Consume(t, c)', 'Revoke(t)', 'Escalate(c)', 'Tick']) {
      expect(spec).toMatch(new RegExp(`^${name.replace(/[()]/g, '\\$&')} ==`, 'm'));
    }
    const body = spec.replace(/\(\*[\s\S]*?\*\)/g, '').replace(/\\\*.*$/gm, '').replace(/"[^"]*"/g, '""');
    let depth = 0;
    for (const ch of body) {
      if ('([{<'.includes(ch) && ch !== '<') depth++;
      if (')]}'.includes(ch)) depth--;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
    const variables = /VARIABLES ([\s\S]*?)\n\n/.exec(spec)?.[1]?.replace(/\\\*.*$/gm, '').split(',').map((v) => v.trim()) ?? [];
    expect(variables).toEqual(['state', 'clock', 'seq', 'tokens', 'runs', 'pending', 'approved']);
    for (const v of variables) expect(spec).toContain(`vars == <<state, clock, seq, tokens, runs, pending, approved>>`.includes(v) ? v : '\u0000');
  });

  it('`ape compile --target tla -o dir` writes the spec, a model-checking module with the policy decisions and a TLC config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ape-tla-'));
    try {
      const file = join(ROOT, 'policies/minimal_safe.yaml');
      const io = bufferIO();
      expect(await runCli(['compile', file, '--target', 'tla', '-o', dir], io)).toBe(0);
      expect(readFileSync(join(dir, 'ApeTokens.tla'), 'utf8')).toBe(tokenSpec());
      const mc = readFileSync(join(dir, 'MCApeTokens.tla'), 'utf8');
      expect(mc).toContain('"delete_file" :> {"deny"}');
      expect(mc).toContain('"read_file" :> {"allow", "deny"}');
      expect(mc).toContain('"write_file" :> {"escalate"}');
      const cfg = readFileSync(join(dir, 'MCApeTokens.cfg'), 'utf8');
      for (const invariant of TLA_INVARIANTS) expect(cfg).toContain(`INVARIANT ${invariant}`);
      expect(modelCheckingFiles(compilePolicyFile(file)).config).toBe(cfg);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
