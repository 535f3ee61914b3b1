// The orchestrator end to end with real file tools: execute, pending approval and resume, denials, analyze, executePlan, sessions on a fake clock, model planners that try to widen.
import { existsSync, mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Ape, IntentAmbiguityError, ModelOutputError, type ApeOptions, type ModelHook } from '../../src/agent/index.js';
import { EscalationRequiredError, MemorySink, PlanValidationError, PolicyDenyError, RateLimitExceededError, SessionExpiredError } from '../../src/runtime/index.js';
import { agentPolicy, closedAfterEach, fakeClock, workspace } from './helpers.js';

const { root, cleanup } = workspace();
afterAll(cleanup);

const apes = closedAfterEach();

beforeEach(() => {
  writeFileSync(join(root, 'notes.md'), '# notes');
  writeFileSync(join(root, 'config.json'), '{"debug": true}');
  writeFileSync(join(root, 'keys.secret'), 'k');
  writeFileSync(join(root, 'old.tmp'), 'old');
  mkdirSync(join(root, 'docs'), { recursive: true });
  writeFileSync(join(root, 'docs', 'a.md'), 'a');
});

async function make(options: ApeOptions = {}): Promise<{ ape: Ape; audit: MemorySink; runs: string[] }> {
  const audit = new MemorySink();
  const ape = await Ape.fromPolicy(agentPolicy(root), { audit: [audit], ...options });
  apes.push(ape);
  const runs: string[] = [];
  ape.tool<{ path: string }, string>('read_file', (p) => (runs.push(`read ${p.path}`), readFileSync(p.path, 'utf8')), { name: 'fs.read' });
  ape.tool<{ path: string }, string[]>('list_directory', (p) => (runs.push(`list ${p.path}`), readdirSync(p.path).sort()), { name: 'fs.list' });
  ape.tool<{ path: string; content: string }, number>('write_file', (p) => (runs.push(`write ${p.path}`), writeFileSync(p.path, p.content), p.content.length), { name: 'fs.write' });
  ape.tool<{ path: string }, string>('delete_file', (p) => (runs.push(`delete ${p.path}`), unlinkSync(p.path), p.path), { name: 'fs.delete' });
  return { ape, audit, runs };
}

describe('execute', () => {
  it('runs an allowed prompt with the real tools and reports each step with its audit call id', async () => {
    const { ape, audit, runs } = await make();
    const r = await ape.execute('Read notes.md and list the docs/ folder', { workspace: root });
    expect(r).toMatchObject({ success: true, status: 'completed', pending: [] });
    expect(r.intent?.allowed_actions.sort()).toEqual(['list_directory', 'read_file']);
    expect(r.steps.map((s) => [s.action, s.tool, s.status, s.decision, s.rule])).toEqual([
      ['read_file', 'fs.read', 'completed', 'allow', 'read-root'],
      ['list_directory', 'fs.list', 'completed', 'allow', 'read-root'],
    ]);
    expect(r.steps[0]?.output?.value).toBe('# notes');
    expect(r.steps[0]?.output?.label).toBe('external');
    expect(runs).toEqual([`read ${join(root, 'notes.md')}`, `list ${join(root, 'docs')}/`]);
    expect(r.steps[1]?.output?.value).toEqual(['a.md']);
    for (const s of r.steps) {
      for (const type of ['decision', 'token.issued', 'token.consumed', 'execution.completed']) expect(audit.events.some((e) => e.type === type && e.call === s.call), type).toBe(true);
    }
  });

  it('a denied step never runs; the others do (partial); the refusal is audited', async () => {
    const { ape, audit, runs } = await make();
    const r = await ape.execute('Read notes.md, then delete keys.secret', { workspace: root });
    expect(r.status).toBe('partial');
    expect(r.steps[1]).toMatchObject({ action: 'delete_file', status: 'denied', decision: 'deny', rule: 'no-secrets' });
    expect(existsSync(join(root, 'keys.secret'))).toBe(true);
    expect(runs).toEqual([`read ${join(root, 'notes.md')}`]);
    expect(audit.events.some((e) => e.type === 'plan.rejected')).toBe(true);
    const only = await ape.execute('Read keys.secret', { workspace: root });
    expect(only).toMatchObject({ success: false, status: 'denied' });
    await expect(ape.executeOrThrow('Read keys.secret', { workspace: root })).rejects.toMatchObject({ code: 'APE_POLICY_DENY', rule: 'no-secrets' });
  });

  it('an escalated step without an approver is pending; resume with an approval runs it', async () => {
    const { ape, runs } = await make();
    const r = await ape.execute('Read notes.md and delete old.tmp', { workspace: root });
    expect(r.status).toBe('pending_approval');
    expect(r.success).toBe(false);
    expect(r.steps[0]?.status).toBe('completed');
    expect(r.pending).toHaveLength(1);
    expect(r.pending[0]).toMatchObject({ action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'old.tmp') }, rule: 'delete-escalates' });
    expect(existsSync(join(root, 'old.tmp'))).toBe(true);
    await expect(ape.executeOrThrow('Delete old.tmp', { workspace: root })).rejects.toBeInstanceOf(EscalationRequiredError);
    const done = await ape.resume(r, { [r.pending[0]?.requestId as string]: { approved: true, approver: 'alice' } });
    expect(done).toMatchObject({ success: true, status: 'completed', pending: [] });
    expect(done.steps[1]).toMatchObject({ status: 'completed', decision: 'escalate' });
    expect(existsSync(join(root, 'old.tmp'))).toBe(false);
    expect(runs.filter((x) => x.startsWith('delete'))).toHaveLength(1);
    await expect(ape.resume(r, {})).rejects.toMatchObject({ code: 'APE_AGENT_CONFIG' });
  });

  it('resume with a refusal denies the step and never runs it', async () => {
    const { ape, runs } = await make();
    const r = await ape.execute('Delete old.tmp', { workspace: root });
    const refused = await ape.resume(r, { [r.pending[0]?.requestId as string]: { approved: false, reason: 'no' } });
    expect(refused).toMatchObject({ status: 'denied', success: false });
    expect(existsSync(join(root, 'old.tmp'))).toBe(true);
    expect(runs).toEqual([]);
  });

  it('per-execution approvers decide escalations inline', async () => {
    const { ape } = await make();
    const r = await ape.execute('Delete old.tmp', { workspace: root, approve: async () => ({ approved: true, approver: 'bot' }) });
    expect(r.status).toBe('completed');
    expect(existsSync(join(root, 'old.tmp'))).toBe(false);
  });

  it('negation: "don\'t delete anything, just read notes.md" forbids deletes and reads', async () => {
    const { ape, runs } = await make();
    const r = await ape.executeOrThrow("Don't delete anything, just read notes.md", { workspace: root });
    expect(r.intent?.forbidden_actions).toEqual(expect.arrayContaining(['delete_file', 'delete_directory', 'delete_data']));
    expect(runs).toEqual([`read ${join(root, 'notes.md')}`]);
  });

  it('an ambiguous prompt is IntentAmbiguityError, never a guess', async () => {
    const { ape, runs } = await make();
    const r = await ape.execute('Please confirm the order');
    expect(r).toMatchObject({ status: 'failed', error: { code: 'APE_INTENT_AMBIGUOUS' } });
    await expect(ape.executeOrThrow(`Remove ${root}/build`)).rejects.toBeInstanceOf(IntentAmbiguityError);
    expect(runs).toEqual([]);
  });

  it('a missing parameter fails the step instead of guessing it', async () => {
    const { ape, runs } = await make();
    const r = await ape.execute('Read config.json and delete temp files', { workspace: root });
    expect(r.status).toBe('partial');
    expect(r.steps[1]).toMatchObject({ action: 'delete_file', status: 'failed' });
    expect(runs).toEqual([`read ${join(root, 'config.json')}`]);
  });
});

describe('executePlan and analyze', () => {
  it('executePlan runs a caller plan; steps outside the given intent are denied', async () => {
    const { ape } = await make();
    const plan = { steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.md') } }, { action: 'write_file', tool: 'fs.write', parameters: { path: join(root, 'x.md'), content: 'x' } }] };
    const r = await ape.executePlan(plan, { intent: { allowed_actions: ['read_file'] } });
    expect(r.steps.map((s) => s.status)).toEqual(['completed', 'denied']);
    expect(r.steps[1]?.rule).toBe('intent:forbidden');
    expect(existsSync(join(root, 'x.md'))).toBe(false);
    const all = await ape.executePlan(plan);
    expect(all.status).toBe('completed');
    expect(readFileSync(join(root, 'x.md'), 'utf8')).toBe('x');
    const bad = await ape.executePlan({ steps: [{ action: 'read_file', tool: 'fs.write', parameters: { path: join(root, 'notes.md') } }] });
    expect(bad).toMatchObject({ status: 'failed' });
    expect(bad.steps[0]?.error?.code).toBe('APE_PLAN_INVALID');
  });

  it('analyze decides every step and runs nothing', async () => {
    const { ape, runs, audit } = await make();
    const a = await ape.analyze('Read notes.md, delete old.tmp and read keys.secret', { workspace: root });
    expect(a.steps.map((s) => [s.action, s.decision, s.rule])).toEqual([
      ['read_file', 'allow', 'read-root'],
      ['delete_file', 'escalate', 'delete-escalates'],
      ['read_file', 'deny', 'no-secrets'],
    ]);
    expect(runs).toEqual([]);
    expect(audit.events.some((e) => e.type === 'token.issued')).toBe(false);
  });
});

describe('sessions', () => {
  it('execute in a session counts actions and risk, and fails once the TTL passes (fake clock)', async () => {
    const clock = fakeClock();
    const { ape, runs } = await make({ now: clock.now });
    const s = ape.createSession({ userId: 'u1', ttlMinutes: 5 });
    const r = await s.execute('Read notes.md and config.json', { workspace: root });
    expect(r.status).toBe('completed');
    expect(s.actionsExecuted).toBe(2);
    expect(s.cumulativeRisk).toBe(4);
    clock.advance(2 * 60_000);
    expect(s.timeRemaining).toBe(3 * 60_000);
    expect((await s.usageSummary()).counts).toEqual({ read_file: 2 });
    clock.advance(3 * 60_000);
    const late = await s.execute('Read notes.md', { workspace: root });
    expect(late).toMatchObject({ status: 'failed', error: { code: 'APE_SESSION_EXPIRED' } });
    await expect(s.executeOrThrow('Read notes.md', { workspace: root })).rejects.toBeInstanceOf(SessionExpiredError);
    expect(runs).toHaveLength(2);
  });
});

describe('model hooks', () => {
  it('a planner that widens the intent is refused, repaired within the bound, and never runs the widening step', async () => {
    const { ape, runs } = await make();
    const answers = [
      { steps: [{ action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'old.tmp') } }] },
      '```json\n{"steps": [{"action": "read_file", "tool": "fs.read", "parameters": {"path": "' + join(root, 'keys.secret') + '"}}]}\n```',
      `1. read_file via fs.read {"path": "${join(root, 'notes.md')}"}`,
    ];
    const seen: string[][] = [];
    const planner: ModelHook = async (_prompt, ctx) => {
      seen.push(ctx.errors);
      return answers[seen.length - 1];
    };
    const r = await ape.execute('Read notes.md', { workspace: root, planner, maxRepairs: 2 });
    expect(r.status).toBe('completed');
    expect(runs).toEqual([`read ${join(root, 'notes.md')}`]);
    expect(seen[1]?.[0]).toMatch(/not allowed by the intent/);
    expect(seen[2]?.[1]).toMatch(/no-secrets|outside the intent/);
    const always: ModelHook = async () => answers[0];
    const refused = await ape.execute('Read notes.md', { workspace: root, planner: always, maxRepairs: 1 });
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'APE_PLAN_INVALID' } });
    await expect(ape.executeOrThrow('Read notes.md', { workspace: root, planner: always })).rejects.toBeInstanceOf(PlanValidationError);
    expect(existsSync(join(root, 'old.tmp'))).toBe(true);
  });

  it('an intent model may only narrow: widening answers and bad JSON are ModelOutputError', async () => {
    const { ape, runs } = await make();
    const widen: ModelHook = async () => ({ allowed_actions: ['read_file', 'delete_file'] });
    await expect(ape.executeOrThrow('Read notes.md', { workspace: root, intentModel: widen })).rejects.toBeInstanceOf(ModelOutputError);
    const unscoped: ModelHook = async () => ({ allowed_actions: ['read_file'], scope: { paths: ['/'] } });
    await expect(ape.executeOrThrow('Read notes.md', { workspace: root, intentModel: unscoped })).rejects.toMatchObject({ code: 'APE_MODEL_OUTPUT', reason: 'widens' });
    const junk: ModelHook = async () => ({ allowed: 'everything' });
    await expect(ape.executeOrThrow('Read notes.md', { workspace: root, intentModel: junk })).rejects.toMatchObject({ reason: 'schema' });
    expect(runs).toEqual([]);
    const narrow: ModelHook = async (_p, ctx) => ({ allowed_actions: ['read_file'], forbidden_actions: ctx.intent.forbidden_actions ?? [], scope: { paths: [join(root, 'notes.md')] } });
    const r = await ape.execute('Read notes.md and config.json', { workspace: root, intentModel: narrow });
    expect(r.steps.map((s) => [s.status, s.rule])).toEqual([['completed', 'read-root'], ['denied', 'intent:scope']]);
    expect(existsSync(join(root, 'config.json'))).toBe(true);
  });
});

describe('policy errors', () => {
  it('a PolicyDenyError from executeOrThrow carries the rule', async () => {
    const { ape } = await make();
    const error = await ape.executeOrThrow('Read /etc/passwd').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyDenyError);
  });
});

describe('limits', () => {
  it('a rate limit stops a step with RateLimitExceededError (executeOrThrow) and the tool does not run', async () => {
    const { ape, runs } = await make({ rateLimits: { per_action: { read_file: { limit: 1, window_seconds: 60 } } } });
    const r = await ape.execute('Read notes.md and config.json', { workspace: root });
    expect(r.steps.map((s) => s.status)).toEqual(['completed', 'failed']);
    expect(r.steps[1]?.error?.code).toBe('APE_RATE_LIMITED');
    expect(runs).toHaveLength(1);
    await expect(ape.executeOrThrow('Read notes.md', { workspace: root })).rejects.toBeInstanceOf(RateLimitExceededError);
  });
});
