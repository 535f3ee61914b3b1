/** `ape verify` and `ape diff --semantic` through the CLI: JSON shapes and exit codes. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const policy = (name: string) => join(ROOT, 'policies', `${name}.yaml`);
const fixture = (name: string) => join(ROOT, 'test/verify/fixtures', name);

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = bufferIO();
  const code = await runCli(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

const lines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('ape verify', () => {
  it('--never proved: exit 0, one JSON object per property', async () => {
    const r = await run(['verify', policy('scoped_access'), '--never', 'delete_file', '--never', 'delete_directory', '--json']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      { property: 'never delete_file', status: 'proved' },
      { property: 'never delete_directory', status: 'proved' },
    ]);
  });

  it('--never refuted: exit 2 and a counterexample `ape eval` decides the same way', async () => {
    const r = await run(['verify', policy('scoped_access'), '--never', 'read_file', '--where', '{path: {prefix: /workspace/}}', '--json']);
    expect(r.code).toBe(2);
    const [result] = lines(r.stdout) as [{ status: string; counterexample: { action: string; params: Record<string, string> }; decision: string }];
    expect(result.status).toBe('refuted');
    expect(result.counterexample.params['path']?.startsWith('/workspace/')).toBe(true);
    const check = await run(['eval', policy('scoped_access'), 'read_file', '--params', JSON.stringify(result.counterexample.params), '--json']);
    expect(JSON.parse(check.stdout).decision).toBe(result.decision);
  });

  it('--always-within pairs and a property file together, human output', async () => {
    const r = await run(['verify', policy('scoped_access'), '--always-within', 'write_file.path', '/workspace/', '--properties', fixture('properties.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^PROVED {3}write_file\.path within \/workspace\/$/m);
    expect(r.stdout).toMatch(/^REFUTED {2}reads-only-docs\n {2}counterexample \(allow\): \{"action":"read_file"/m);
  });

  it('--lint: findings exit 2', async () => {
    const r = await run(['verify', fixture('lints.yaml'), '--lint', '--json']);
    expect(r.code).toBe(2);
    expect(lines(r.stdout).map((l) => l['lint'])).toEqual(['rule-never-matches', 'rule-shadowed', 'allow-rules-overlap', 'allow-rule-unrestricted']);
  });

  it('unknown when only an untranslated regex could refute it: exit 3, never "proved"', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'ape-verify-cli-'));
    try {
      const file = join(dir, 'opaque.yaml');
      writeFileSync(file, `name: opaque
default_decision: deny
actions:
  - id: act
    parameters: { type: object, properties: { v: { type: string } }, required: [v] }
rules:
  - id: r
    action: act
    decision: allow
    conditions:
      v: { regex: "\\\\bfoo\\\\b" }
`);
      const r = await run(['verify', file, '--never', 'act', '--where', '{v: {regex: "^[0-9]+$"}}', '--json']);
      expect(r.code).toBe(3);
      const [result] = lines(r.stdout);
      expect(result?.['status']).toBe('unknown');
      expect(String(result?.['reason'])).toMatch(/native evaluator/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [['verify', policy('scoped_access')], /nothing to verify/],
    [['verify', policy('scoped_access'), '--always-within', 'write_file.path'], /pairs/],
    [['verify', policy('scoped_access'), '--never', 'read_file', '--where', '[1]'], /conditions like/],
    [['verify', policy('scoped_access'), '--properties', fixture('missing.yaml')], /cannot read/],
    [['verify', policy('scoped_access'), '--never', 'x', '--decisions', 'maybe'], /not allow, escalate or deny/],
  ])('bad input is one error line and exit 1: %j', async (args, message) => {
    const r = await run([...args, '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(JSON.parse(r.stdout).error.code).toMatch(/^APE_/);
  });
});

describe('ape diff --semantic', () => {
  it('equivalent policies: exit 0, {"equivalent": true, "differences": []}', async () => {
    const r = await run(['diff', fixture('diff_old.yaml'), fixture('diff_same.yaml'), '--semantic', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ equivalent: true, differences: [] });
  });

  it('different policies: exit 2 with action, request, a and b; --narrowing-only passes a narrowing', async () => {
    const r = await run(['diff', fixture('diff_old.yaml'), fixture('diff_narrow.yaml'), '--semantic', '--json']);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { equivalent: boolean; differences: Record<string, unknown>[] };
    expect(out.equivalent).toBe(false);
    expect(Object.keys(out.differences[0] ?? {}).sort()).toEqual(['a', 'action', 'b', 'request']);
    const narrowing = await run(['diff', fixture('diff_old.yaml'), fixture('diff_narrow.yaml'), '--semantic', '--narrowing-only']);
    expect(narrowing.code).toBe(0);
    expect(narrowing.stdout).toContain('the new policy permits nothing the old one did not');
  });

  it('--narrowing-only fails on a widening', async () => {
    const r = await run(['diff', fixture('diff_old.yaml'), fixture('diff_wide.yaml'), '--semantic', '--narrowing-only']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^WIDER write_file: deny -> allow/m);
  });

  it('without --semantic the action-level output is unchanged', async () => {
    const r = await run(['diff', fixture('diff_old.yaml'), fixture('diff_narrow.yaml'), '--json']);
    expect(Object.keys(JSON.parse(r.stdout)).sort()).toEqual(['changes', 'equivalent']);
    expect((await run(['diff', fixture('diff_old.yaml'), fixture('diff_old.yaml'), '--narrowing-only'])).code).toBe(1);
  });
});
