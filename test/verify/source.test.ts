/** `ape verify` with `source` conditions and the `model` label: proofs hold, counterexamples carry `sources` and are confirmed by the native evaluator and `ape eval`. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { readFileSync } from 'node:fs';
import { compilePolicyFile, compilePolicySource } from '../../src/compiler/compile.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { placesFromString, placesString } from '../../src/verify/facts.js';
import { propertyFrom } from '../../src/verify/properties.js';
import type { RequestLine } from '../../src/verify/realize.js';
import { semanticDiff } from '../../src/verify/semantic-diff.js';
import { verifyProperty } from '../../src/verify/verify.js';
import { FIXTURE_DIR } from '../conformance/cases.js';

/** Generous solver time: the suite shares 2 cores (a timeout is 'unknown', never a wrong answer). */
const SLOW_MACHINE = { timeoutMs: 120_000 };
const FILE = join(FIXTURE_DIR, 'provenance_origin.yaml');
const policy = compilePolicyFile(FILE);
const tmp = mkdtempSync(join(tmpdir(), 'ape-verify-source-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `ape eval --requests` on one request (in-process CLI). */
async function evalCli(request: RequestLine): Promise<string> {
  const file = join(tmp, `${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(file, `${JSON.stringify(request)}\n`);
  const io = bufferIO();
  expect(await runCli(['eval', FILE, '--requests', file], io)).toBe(0);
  return (JSON.parse(io.stdout.trim()) as { decision: string }).decision;
}

type Raw = Parameters<typeof propertyFrom>[0];
const cases: { raw: Raw; status: 'proved' | 'refuted'; check?: (r: RequestLine) => boolean }[] = [
  { raw: { name: 'no pay to a recipient read from a file', never: 'pay', where: { recipient: { source: 'read_file' } } }, status: 'proved' },
  { raw: { name: 'paid recipients come from the user or the contacts', action: 'pay', always: { recipient: { source: ['user', 'get_contacts'] } }, decisions: ['allow'] }, status: 'proved' },
  {
    raw: { name: 'never a payment', never: 'pay', decisions: ['allow'] },
    status: 'refuted',
    check: (r) => (r.sources?.['recipient'] ?? []).some((p) => p === 'user' || p === 'get_contacts') && !(r.sources?.['recipient'] ?? []).includes('read_file'),
  },
  {
    raw: { name: 'paid recipients come from the user', action: 'pay', always: { recipient: { source: 'user' } }, decisions: ['allow'] },
    status: 'refuted',
    check: (r) => (r.sources?.['recipient'] ?? []).includes('get_contacts') && !(r.sources?.['recipient'] ?? []).includes('user'),
  },
  { raw: { name: 'notes allowed only from the user or the model', action: 'write_note', always: { text: { provenance: ['user', 'model'] } }, decisions: ['allow'] }, status: 'proved' },
  {
    raw: { name: 'notes allowed only from the user', action: 'write_note', always: { text: { provenance: 'user' } }, decisions: ['allow'] },
    status: 'refuted',
    check: (r) => r.provenance?.['text'] === 'model' && (r.sources?.['title'] ?? []).includes('user'),
  },
];

describe('verify with source conditions and the model label', () => {
  it.each(cases.map((c) => [`${c.raw.name} is ${c.status}`, c] as const))('%s', async (_title, c) => {
    const property = propertyFrom(c.raw);
    const result = await verifyProperty(policy, property, SLOW_MACHINE);
    expect(result.status, result.reason).toBe(c.status);
    if (c.status === 'proved') {
      expect(result.counterexample).toBeUndefined();
      return;
    }
    const request = result.counterexample as RequestLine;
    const native = new NativeEvaluator(policy).decideSync(request).decision;
    expect(native).toBe(result.decision);
    expect(property.decisions).toContain(native);
    expect(await evalCli(request)).toBe(native);
    expect(c.check?.(request), JSON.stringify(request)).toBe(true);
  });

  it('ape diff --semantic: trusting the contacts no more is a confirmed narrowing on pay, nothing else differs', async () => {
    const text = readFileSync(FILE, 'utf8');
    expect(text).toContain('recipient: { source: [user, get_contacts] }');
    const narrow = compilePolicySource(text.replace('recipient: { source: [user, get_contacts] }', 'recipient: { source: [user] }'), 'narrow.yaml');
    const result = await semanticDiff(policy, narrow, { narrowingOnly: true, ...SLOW_MACHINE });
    expect(result.unknown).toEqual([]);
    expect(result.differences.map((d) => [d.action, d.a, d.b])).toEqual([['pay', 'allow', 'deny']]);
    expect(result.widenings).toEqual([]);
    const request = (result.differences[0] as { request: RequestLine }).request;
    expect(request.sources?.['recipient']).toContain('get_contacts');
    expect(new NativeEvaluator(policy).decideSync(request).decision).toBe('allow');
    expect(new NativeEvaluator(narrow).decideSync(request).decision).toBe('deny');
  });

  it('a list of places and its solver string map one to one (lists without NUL in a place)', () => {
    for (const places of [[], [''], ['user'], ['user', 'get_contacts'], ['', ''], ["it's", 'a b', '😀']]) {
      expect(placesFromString(placesString(places))).toEqual(places);
    }
    for (const text of ['', 'user', '\u0000user', 'user\u0000']) expect(placesFromString(text)).toBeUndefined();
  });
});
