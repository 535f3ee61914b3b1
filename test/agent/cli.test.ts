// `ape analyze` and `ape test-prompt`: the public JSON shape, the ambiguity envelope and the exit codes, driven in-process.
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

async function ape(...args: string[]) {
  const io = bufferIO();
  const code = await runCli(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe('ape analyze', () => {
  it('prints exactly {intent, plan, decisions} with --json (standard repository without --policy)', async () => {
    const r = await ape('analyze', 'Read notes.md and delete old.log', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
    expect(Object.keys(out)).toEqual(['intent', 'plan', 'decisions']);
    expect(Object.keys(out['intent'] as object)).toEqual(['allowed_actions', 'forbidden_actions', 'escalation_actions', 'scope']);
    expect(out['intent']).toMatchObject({ allowed_actions: ['read_file'], escalation_actions: ['delete_file'] });
    expect(out['plan']).toEqual({
      steps: [
        { action: 'read_file', tool: 'read_file', parameters: { path: '/workspace/notes.md' } },
        { action: 'delete_file', tool: 'delete_file', parameters: { path: '/workspace/old.log' } },
      ],
    });
    const decisions = out['decisions'] as unknown as { step: number; decision: string; rule: string | null; reasons: string[] }[];
    expect(decisions.map((d) => Object.keys(d))).toEqual([['step', 'decision', 'rule', 'reasons'], ['step', 'decision', 'rule', 'reasons']]);
    expect(decisions.map((d) => d.decision)).toEqual(['allow', 'escalate']);
  });

  it('decides with --policy and resolves relative paths against --workspace', async () => {
    const r = await ape('analyze', 'Read notes.md', '--policy', 'policies/scoped_access.yaml', '--workspace', '/srv', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { plan: { steps: { parameters: { path: string } }[] }; decisions: { decision: string }[] };
    expect(out.plan.steps[0]?.parameters.path).toBe('/srv/notes.md');
    expect(out.decisions[0]?.decision).toBe('deny');
  });

  it('an ambiguous prompt prints the error envelope with candidates and exits 1', async () => {
    const r = await ape('analyze', 'Please confirm the order', '--json');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { error: { code: string; message: string; candidates: unknown[] } };
    expect(Object.keys(out)).toEqual(['error']);
    expect(Object.keys(out.error)).toEqual(['code', 'message', 'candidates']);
    expect(out.error.code).toBe('APE_INTENT_AMBIGUOUS');
    const two = await ape('analyze', 'Delete /workspace/build', '--json');
    expect(two.code).toBe(1);
    const candidates = (JSON.parse(two.stdout) as { error: { candidates: { actions: string[] }[] } }).error.candidates.map((c) => c.actions[0]);
    expect(candidates).toEqual(['delete_file', 'delete_directory']);
  });

  it('prints a readable plan without --json', async () => {
    const r = await ape('analyze', 'Read notes.md', '--policy', 'policies/minimal_safe.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1\. read_file \{"path":"\/workspace\/notes\.md"\} -> ALLOW by rule 'read-workspace'/);
  });
});

describe('ape test-prompt', () => {
  it('exits 0 when every step is allowed, 2 when one is denied, 3 when one escalates, 1 on ambiguity', async () => {
    expect((await ape('test-prompt', 'policies/minimal_safe.yaml', 'Read notes.md and list the docs/ folder')).code).toBe(0);
    expect((await ape('test-prompt', 'policies/minimal_safe.yaml', 'Read notes.md and delete old.log')).code).toBe(2);
    expect((await ape('test-prompt', 'policies/minimal_safe.yaml', "Write 'hi' to notes.md")).code).toBe(3);
    expect((await ape('test-prompt', 'policies/minimal_safe.yaml', 'Please confirm the order')).code).toBe(1);
    const json = await ape('test-prompt', 'policies/minimal_safe.yaml', 'Read notes.md', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ decisions: [{ step: 0, decision: 'allow', rule: 'read-workspace' }] });
  });

  it('a missing policy file is one error line (and the JSON envelope with --json)', async () => {
    const r = await ape('test-prompt', 'nope.yaml', 'Read notes.md', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'APE_POLICY_LOAD' } });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
