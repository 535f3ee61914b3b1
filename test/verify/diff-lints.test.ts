/** Semantic diff on policy pairs with known differences, and the solver lints on a fixture with one finding each. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePolicyFile } from '../../src/compiler/compile.js';
import type { Decision } from '../../src/compiler/ir.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { solverLints } from '../../src/verify/lints.js';
import { semanticDiff, type SemanticDifference } from '../../src/verify/semantic-diff.js';

/** Solver time for results that must be decided: generous, because the suite shares 2 cores with JVMs and servers (a timeout is 'unknown', never a wrong answer). */
const SLOW_MACHINE = { timeoutMs: 120_000 };

const ROOT = new URL('../../', import.meta.url).pathname;
const fixture = (name: string) => compilePolicyFile(join(ROOT, 'test/verify/fixtures', `${name}.yaml`));

/** Each difference's request is decided by both native evaluators as reported. */
function expectConfirmed(a: ReturnType<typeof fixture>, b: ReturnType<typeof fixture>, differences: SemanticDifference[]): void {
  const ea = new NativeEvaluator(a);
  const eb = new NativeEvaluator(b);
  for (const d of differences) {
    expect(d.a).not.toBe(d.b);
    expect(ea.decideSync(d.request).decision).toBe(d.a);
    expect(eb.decideSync(d.request).decision).toBe(d.b);
  }
}

const PERMISSIVE: Record<Decision, number> = { deny: 0, escalate: 1, allow: 2 };

describe('ape diff --semantic', () => {
  const old = fixture('diff_old');

  it('policies written differently but deciding alike are equivalent', async () => {
    const result = await semanticDiff(old, fixture('diff_same'), SLOW_MACHINE);
    expect(result).toEqual({ equivalent: true, differences: [], unknown: [] });
  });

  it('a narrower policy: reads and writes differ, nothing is wider', async () => {
    const narrow = fixture('diff_narrow');
    const result = await semanticDiff(old, narrow, { narrowingOnly: true, ...SLOW_MACHINE });
    expect(result.equivalent).toBe(false);
    expect(result.differences.map((d) => [d.action, d.a, d.b])).toEqual([
      ['read_file', 'allow', 'deny'],
      ['write_file', 'allow', 'deny'],
    ]);
    expect(result.widenings).toEqual([]);
    expectConfirmed(old, narrow, result.differences);
    const write = result.differences[1] as SemanticDifference;
    expect(write.request.params['size']).toBeGreaterThan(500);
    expect(write.request.params['size']).toBeLessThanOrEqual(1000);
  });

  it('a wider policy: /tmp/ writes and an escalating default are widenings, each confirmed', async () => {
    const wide = fixture('diff_wide');
    const result = await semanticDiff(old, wide, { narrowingOnly: true, ...SLOW_MACHINE });
    const widenings = result.widenings ?? [];
    expectConfirmed(old, wide, result.differences);
    expectConfirmed(old, wide, widenings);
    for (const w of widenings) expect(PERMISSIVE[w.b]).toBeGreaterThan(PERMISSIVE[w.a]);
    expect(widenings.find((w) => w.action === 'write_file')).toBeDefined();
    expect(widenings.map((w) => w.action)).toContain('unlisted_action');
    expect(widenings.find((w) => w.action === 'read_file')?.request.params['path']).not.toMatch(/^\/workspace\//);
  });

  it('finds the double-blank bypass between a regex deny list and its glob rewrite', async () => {
    const a = fixture('shell_regex');
    const b = fixture('shell_globs');
    const result = await semanticDiff(a, b, { narrowingOnly: true, ...SLOW_MACHINE });
    expectConfirmed(a, b, result.widenings ?? []);
    const shell = (result.widenings ?? []).find((w) => w.action === 'run_shell_command');
    expect(shell?.a).toBe('deny');
    expect(shell?.b).toBe('allow');
  });
});

describe('solver lints', () => {
  it('finds each planted problem and nothing else', async () => {
    const policy = fixture('lints');
    const lints = await solverLints(policy);
    expect(lints.map((l) => [l.lint, l.status, l.rule, l.rules ?? []])).toEqual([
      ['rule-never-matches', 'found', 'impossible', []],
      ['rule-shadowed', 'found', 'read-tmp', ['all-reads-denied']],
      ['allow-rules-overlap', 'found', 'list-srv', ['list-data']],
      ['allow-rule-unrestricted', 'found', 'any-pattern', []],
    ]);
    const overlap = lints[2];
    const matched = new NativeEvaluator(policy).decideSync(overlap?.example as never).matched;
    expect(matched).toEqual(expect.arrayContaining(['list-srv', 'list-data']));
  });

  it('reports nothing on a policy without such problems', async () => {
    expect(await solverLints(fixture('diff_old'))).toEqual([]);
  });
});
