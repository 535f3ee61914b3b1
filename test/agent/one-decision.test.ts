// A guarded call is decided once, at execution: one engine decision, one `decision` event; refusals, escalations and modes as before.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Ape, type ApeOptions } from '../../src/agent/index.js';
import { MemorySink, PolicyDenyError, type DecisionLogEntry } from '../../src/runtime/index.js';
import { agentPolicy, closedAfterEach, workspace } from './helpers.js';

const { root, cleanup } = workspace();
afterAll(cleanup);

const apes = closedAfterEach();

beforeEach(() => {
  writeFileSync(join(root, 'notes.md'), '# notes');
  writeFileSync(join(root, 'keys.secret'), 'k');
  writeFileSync(join(root, 'old.tmp'), 'old');
});

/** An Ape with a memory audit sink, every engine decision logged, and a count of the engine's own calls. */
async function make(options: ApeOptions = {}): Promise<{ ape: Ape; audit: MemorySink; decided: DecisionLogEntry[]; engineCalls: () => number }> {
  const audit = new MemorySink();
  const decided: DecisionLogEntry[] = [];
  const ape = await Ape.fromPolicy(agentPolicy(root), { audit: [audit], decisionLog: (e) => decided.push(e), ...options });
  apes.push(ape);
  // Count what the real engine is asked (it stays the one deciding).
  const evaluator = ape.evaluator;
  let calls = 0;
  const decideNow = evaluator.decideNow.bind(evaluator);
  evaluator.decideNow = (request) => {
    calls++;
    return decideNow(request);
  };
  return { ape, audit, decided, engineCalls: () => calls };
}

const decisions = (audit: MemorySink) => audit.events.filter((e) => e.type === 'decision');

describe('one decision per guarded call', () => {
  it('an allowed call asks the engine once, logs only its call stage and audits one decision', async () => {
    const { ape, audit, decided, engineCalls } = await make();
    const read = ape.guard<{ path: string }, string>('read_file', (p) => readFileSync(p.path, 'utf8'));
    expect(await read({ path: join(root, 'notes.md') })).toBe('# notes');
    expect(await ape.call('read_file', { path: join(root, 'notes.md') }, (p) => readFileSync(p['path'] as string, 'utf8'))).toBe('# notes');
    expect(engineCalls()).toBe(2);
    expect(decided.map((e) => e.stage)).toEqual(['call', 'call']);
    expect(decided.map((e) => e.result.rule)).toEqual(['read-root', 'read-root']);
    expect(decisions(audit).map((e) => e.data?.['rule'])).toEqual(['read-root', 'read-root']);
    expect(audit.events.filter((e) => e.type === 'execution.completed')).toHaveLength(2);
  });

  it('a denied call never runs, is audited by exactly one decision event and throws PolicyDenyError with the rule and reasons', async () => {
    const { ape, audit, decided, engineCalls } = await make();
    const runs: string[] = [];
    const read = ape.guard<{ path: string }, string>('read_file', (p) => {
      runs.push(p.path);
      return readFileSync(p.path, 'utf8');
    });
    const expected = await ape.check('read_file', { path: join(root, 'keys.secret') });
    const before = engineCalls();
    const error = await read({ path: join(root, 'keys.secret') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyDenyError);
    expect(error).toMatchObject({ action: 'read_file', rule: 'no-secrets', reasons: expected.reasons });
    expect(runs).toEqual([]);
    expect(engineCalls() - before).toBe(1);
    expect(decided.map((e) => e.stage)).toEqual(['call']);
    const events = decisions(audit);
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toMatchObject({ decision: 'deny', rule: 'no-secrets' });
    expect(audit.events.some((e) => e.type === 'token.issued' || e.type === 'execution.completed')).toBe(false);
  });

  it('an escalated call is decided at execution and once more for the approved call, never at the plan stage', async () => {
    const { ape, audit, decided } = await make({ approvals: async () => ({ approved: true, approver: 'alice' }) });
    const remove = ape.guard<{ path: string }, string>('delete_file', (p) => p.path, { tool: 'fs.delete' });
    expect(await remove({ path: join(root, 'old.tmp') })).toBe(join(root, 'old.tmp'));
    expect(decided.map((e) => e.stage)).toEqual(['call', 'call']);
    expect(decisions(audit).map((e) => e.data?.['decision'])).toEqual(['escalate', 'escalate']);
    expect(audit.events.filter((e) => e.type === 'approval.used')).toHaveLength(1);
  });

  it('observe mode decides a refused call once and audits one would-be block; the tool runs', async () => {
    const { ape, audit, decided } = await make({ mode: 'observe' });
    const out = await ape.call('read_file', { path: join(root, 'keys.secret') }, (p) => readFileSync(p['path'] as string, 'utf8'));
    expect(out).toBe('k');
    expect(decided.map((e) => e.stage)).toEqual(['call']);
    expect(decisions(audit)).toHaveLength(1);
    const observed = audit.events.filter((e) => e.type === 'gate.observed');
    expect(observed).toHaveLength(1);
    expect(observed[0]?.data?.['would_block']).toMatchObject({ decision: 'deny', rule: 'no-secrets' });
  });

  it('disabled mode runs the call and keeps its one (plan-stage) decision in the trail', async () => {
    const { ape, audit, decided } = await make({ mode: 'disabled' });
    const target = join(root, 'disabled.secret');
    await ape.call('write_file', { path: target, content: 'x' }, (p) => writeFileSync(p['path'] as string, p['content'] as string));
    expect(existsSync(target)).toBe(true);
    expect(decided.map((e) => e.stage)).toEqual(['plan']);
    expect(decisions(audit)).toHaveLength(1);
    expect(decisions(audit)[0]?.data).toMatchObject({ decision: 'deny', rule: 'no-secrets' });
  });

  it('session facts are those of execution time: a call sees the actions run before it', async () => {
    const { ape, decided } = await make();
    await ape.call('read_file', { path: join(root, 'notes.md') }, () => 'a');
    await ape.call('read_file', { path: join(root, 'notes.md') }, () => 'b');
    expect(decided).toHaveLength(2);
    expect(decided[1]?.request.previous_action).toBe('read_file');
    expect((decided[1]?.request.context as { session: { actions_run: number } }).session.actions_run).toBe(1);
  });

  it('a multi-step plan (executePlan) is still decided at approval: the denied step is refused there and never runs', async () => {
    const { ape, decided } = await make();
    const runs: string[] = [];
    ape.tool('read_file', (p: { path: string }) => {
      runs.push(p.path);
      return 'x';
    });
    const result = await ape.executePlan({
      steps: [
        { action: 'read_file', tool: 'read_file', parameters: { path: join(root, 'notes.md') } },
        { action: 'read_file', tool: 'read_file', parameters: { path: join(root, 'keys.secret') } },
      ],
    });
    expect(result.status).not.toBe('completed');
    expect(runs).toEqual([join(root, 'notes.md')]);
    expect(decided.some((e) => e.stage === 'plan' && e.result.rule === 'no-secrets')).toBe(true);
  });
});
