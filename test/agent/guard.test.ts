// Ape.fromPolicy and guard(): real file tools in a temp workspace, deny never runs, escalations with per-call approvers, observe mode, typed params, sessions.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Ape, AgentClosedError, type ApeOptions, type ApprovalRequest, type IntentInput, type PlanInput } from '../../src/agent/index.js';
import { compilePolicySource } from '../../src/compiler/index.js';
import { ParameterValidationError, PolicyLoadError } from '../../src/errors.js';
import {
  EscalationDeniedError,
  EscalationRequiredError,
  IntentValidationError,
  MemorySink,
  PolicyDenyError,
  SessionExpiredError,
  ToolExecutionError,
} from '../../src/runtime/index.js';
import { agentPolicy, closedAfterEach, fakeClock, workspace } from './helpers.js';

const { root, cleanup } = workspace();
afterAll(cleanup);

const apes = closedAfterEach();

async function make(options: ApeOptions = {}): Promise<{ ape: Ape; audit: MemorySink }> {
  const audit = new MemorySink();
  const ape = await Ape.fromPolicy(agentPolicy(root), { audit: [audit], ...options });
  apes.push(ape);
  return { ape, audit };
}

/** Real file tools, each invocation logged. */
function fileTools(ape: Ape, runs: string[]) {
  return {
    read: ape.guard<{ path: string }, string>('read_file', async (p) => {
      runs.push(`read ${p.path}`);
      return readFile(p.path, 'utf8');
    }),
    write: ape.guard<{ path: string; content: string }, { written: number }>('write_file', async (p) => {
      runs.push(`write ${p.path}`);
      await writeFile(p.path, p.content);
      return { written: p.content.length };
    }),
    remove: (approve?: (r: ApprovalRequest) => Promise<import('../../src/agent/index.js').ApprovalResponse>) =>
      ape.guard<{ path: string }, { deleted: string }>(
        'delete_file',
        async (p) => {
          runs.push(`delete ${p.path}`);
          await unlink(p.path);
          return { deleted: p.path };
        },
        approve ? { approve, tool: 'fs.delete' } : { tool: 'fs.delete' },
      ),
  };
}

beforeEach(() => {
  writeFileSync(join(root, 'notes.md'), '# notes');
  writeFileSync(join(root, 'keys.secret'), 'k');
  writeFileSync(join(root, 'old.tmp'), 'old');
  writeFileSync(join(root, 'other.tmp'), 'other');
});

describe('Ape.fromPolicy', () => {
  it('takes a file path, YAML text or a compiled policy', async () => {
    const file = join(root, 'policy.yaml');
    writeFileSync(file, agentPolicy(root));
    for (const source of [file, agentPolicy(root), compilePolicySource(agentPolicy(root))]) {
      const ape = await Ape.fromPolicy(source);
      apes.push(ape);
      expect(ape.policy.ir.name).toBe('agent_test');
      expect(await ape.call('read_file', { path: join(root, 'notes.md') }, (p) => readFileSync(p['path'] as string, 'utf8'))).toBe('# notes');
    }
  });

  it('decides with any engine (cedar here) through the same gate', async () => {
    const ape = await Ape.fromPolicy(agentPolicy(root), { engine: 'cedar' });
    apes.push(ape);
    const read = ape.guard<{ path: string }, string>('read_file', (p) => readFileSync(p.path, 'utf8'));
    expect(await read({ path: join(root, 'notes.md') })).toBe('# notes');
    await expect(read({ path: join(root, 'keys.secret') })).rejects.toMatchObject({ code: 'APE_POLICY_DENY', rule: 'no-secrets' });
    expect((await ape.check('read_file', { path: join(root, 'notes.md') })).engine).toBe('cedar');
  });

  it('refuses a missing policy file with a typed error', async () => {
    await expect(Ape.fromPolicy(join(root, 'missing.yaml'))).rejects.toBeInstanceOf(PolicyLoadError);
    await expect(Ape.fromPolicy('name: x\nrules: 3\n')).rejects.toMatchObject({ code: 'APE_POLICY_INVALID' });
  });
});

describe('guard()', () => {
  it('runs an allowed call with the real tool and audits decision, token and execution', async () => {
    const { ape, audit } = await make();
    const runs: string[] = [];
    const { read, write } = fileTools(ape, runs);
    expect(await read({ path: join(root, 'notes.md') })).toBe('# notes');
    expect(await write({ path: join(root, 'out.md'), content: 'hello' })).toEqual({ written: 5 });
    expect(readFileSync(join(root, 'out.md'), 'utf8')).toBe('hello');
    expect(runs).toEqual([`read ${join(root, 'notes.md')}`, `write ${join(root, 'out.md')}`]);
    const types = audit.events.filter((e) => e.action === 'read_file').map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['decision', 'token.issued', 'token.consumed', 'execution.completed']));
    const decision = audit.events.find((e) => e.type === 'decision' && e.action === 'read_file' && e.step === 0 && e.call?.includes(':0'));
    expect(decision?.data?.['rule']).toBe('read-root');
  });

  it('never runs a denied call: PolicyDenyError with the rule', async () => {
    const { ape } = await make();
    const runs: string[] = [];
    const { read, write } = fileTools(ape, runs);
    await expect(read({ path: join(root, 'keys.secret') })).rejects.toMatchObject({ code: 'APE_POLICY_DENY', rule: 'no-secrets' });
    await expect(read({ path: '/etc/passwd' })).rejects.toBeInstanceOf(PolicyDenyError);
    await expect(read({ path: `${root}/../../etc/passwd` })).rejects.toBeInstanceOf(PolicyDenyError);
    await expect(write({ path: '/tmp/elsewhere.txt', content: 'x' })).rejects.toBeInstanceOf(PolicyDenyError);
    expect(runs).toEqual([]);
    expect(existsSync('/tmp/elsewhere.txt')).toBe(false);
  });

  it('an escalation without an approver is EscalationRequiredError and nothing runs', async () => {
    const { ape, audit } = await make();
    const runs: string[] = [];
    const remove = fileTools(ape, runs).remove();
    const error = await remove({ path: join(root, 'old.tmp') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EscalationRequiredError);
    expect(error).toMatchObject({ action: 'delete_file', rule: 'delete-escalates' });
    expect(existsSync(join(root, 'old.tmp'))).toBe(true);
    expect(runs).toEqual([]);
    expect(audit.events.some((e) => e.type === 'approval.requested')).toBe(true);
    expect(audit.events.some((e) => e.type === 'approval.denied' || e.type === 'execution.completed')).toBe(false);
  });

  it('a per-call approver sees the canonical call and approves it', async () => {
    const { ape } = await make();
    const runs: string[] = [];
    const seen: ApprovalRequest[] = [];
    const remove = fileTools(ape, runs).remove(async (request) => {
      seen.push(request);
      return { approved: true, approver: 'alice' };
    });
    expect(await remove({ path: `${root}/./old.tmp` })).toEqual({ deleted: `${root}/./old.tmp` });
    expect(existsSync(join(root, 'old.tmp'))).toBe(false);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ kind: 'call', action: 'delete_file', tool: 'fs.delete', rule: 'delete-escalates', params: { path: `${root}/./old.tmp` } });
    expect(Object.isFrozen(seen[0]?.params)).toBe(true);
  });

  it('a per-call approver that refuses stops the call: EscalationDeniedError', async () => {
    const { ape } = await make({ approvals: async () => ({ approved: true, approver: 'default' }) });
    const runs: string[] = [];
    const remove = fileTools(ape, runs).remove(async () => ({ approved: false, approver: 'bob', reason: 'keep it' }));
    await expect(remove({ path: join(root, 'old.tmp') })).rejects.toBeInstanceOf(EscalationDeniedError);
    expect(existsSync(join(root, 'old.tmp'))).toBe(true);
    expect(runs).toEqual([]);
  });

  it('the default approver answers calls without their own; a throwing approver denies', async () => {
    const { ape } = await make({ approvals: async () => ({ approved: true, approver: 'default' }) });
    const runs: string[] = [];
    await fileTools(ape, runs).remove()({ path: join(root, 'old.tmp') });
    expect(existsSync(join(root, 'old.tmp'))).toBe(false);
    const failing = fileTools(ape, runs).remove(async () => {
      throw new Error('approver offline');
    });
    await expect(failing({ path: join(root, 'other.tmp') })).rejects.toMatchObject({ code: 'APE_ESCALATION_DENIED', reason: 'handler_failed' });
    expect(existsSync(join(root, 'other.tmp'))).toBe(true);
  });

  it('edited parameters are decided again: an edit to a denied path is refused, an allowed edit runs instead', async () => {
    const { ape } = await make();
    const runs: string[] = [];
    const toSecret = fileTools(ape, runs).remove(async () => ({ approved: true, approver: 'eve', params: { path: join(root, 'keys.secret') } }));
    await expect(toSecret({ path: join(root, 'old.tmp') })).rejects.toMatchObject({ code: 'APE_POLICY_DENY', rule: 'no-secrets' });
    const outside = fileTools(ape, runs).remove(async () => ({ approved: true, approver: 'eve', params: { path: '/etc/hosts' } }));
    await expect(outside({ path: join(root, 'old.tmp') })).rejects.toBeInstanceOf(PolicyDenyError);
    expect(runs).toEqual([]);
    expect(existsSync(join(root, 'keys.secret'))).toBe(true);
    const edited = fileTools(ape, runs).remove(async () => ({ approved: true, approver: 'carol', params: { path: join(root, 'other.tmp') } }));
    expect(await edited({ path: join(root, 'old.tmp') })).toEqual({ deleted: join(root, 'other.tmp') });
    expect(existsSync(join(root, 'other.tmp'))).toBe(false);
    expect(existsSync(join(root, 'old.tmp'))).toBe(true);
  });

  it('observe mode runs a denied call and audits what would have been blocked', async () => {
    const { ape, audit } = await make({ mode: 'observe' });
    const runs: string[] = [];
    const { read } = fileTools(ape, runs);
    expect(await read({ path: join(root, 'keys.secret') })).toBe('k');
    expect(runs).toEqual([`read ${join(root, 'keys.secret')}`]);
    // One event: a guarded call is decided at execution only (no plan-stage refusal).
    const observed = audit.events.find((e) => e.type === 'gate.observed');
    expect(audit.events.filter((e) => e.type === 'gate.observed')).toHaveLength(1);
    expect(observed?.data?.['would_block']).toMatchObject({ decision: 'deny', rule: 'no-secrets' });
    expect(audit.events.some((e) => e.type === 'execution.completed' && e.action === 'read_file')).toBe(true);
  });

  it('parameters are typed for TypeScript and checked for JavaScript callers; the tool gets a frozen copy', async () => {
    const { ape } = await make();
    const runs: string[] = [];
    let received: unknown;
    const read = ape.guard<{ path: string }, string>('read_file', (p) => {
      received = p;
      runs.push(p.path);
      return readFileSync(p.path, 'utf8');
    });
    // @ts-expect-error a misspelt parameter is a compile-time error
    const misspelt = () => read({ pth: join(root, 'notes.md') });
    await expect(misspelt()).rejects.toBeInstanceOf(ParameterValidationError);
    // @ts-expect-error a wrong type too
    await expect(read({ path: 42 })).rejects.toBeInstanceOf(ParameterValidationError);
    const loose = read as unknown as (p: unknown) => Promise<string>;
    await expect(loose({ path: join(root, 'notes.md'), extra: 1 })).rejects.toBeInstanceOf(ParameterValidationError);
    await expect(loose({ path: join(root, 'notes.md'), when: new Date() })).rejects.toBeInstanceOf(ParameterValidationError);
    await expect(loose('notes.md')).rejects.toBeInstanceOf(ParameterValidationError);
    expect(runs).toEqual([]);
    await read({ path: join(root, 'notes.md') });
    expect(Object.isFrozen(received)).toBe(true);
    // Intents and plans are typed too: a misspelt field does not compile, and is a typed error at run time.
    // @ts-expect-error allowed_action is not a field
    const badIntent: IntentInput = { allowed_action: ['read_file'] };
    // @ts-expect-error step is not a field
    const badPlan: PlanInput = { step: [] };
    expect(badPlan).toBeDefined();
    await expect(ape.runSteps(badIntent, [], {}, async () => 0)).rejects.toBeInstanceOf(IntentValidationError);
  });

  it('reads caller parameters once: a getter cannot show one path to the check and another to the tool', async () => {
    const { ape } = await make();
    const runs: string[] = [];
    const { remove } = fileTools(ape, runs);
    let reads = 0;
    const tricky = {
      get path() {
        reads++;
        return reads === 1 ? join(root, 'notes.md') : join(root, 'keys.secret');
      },
    };
    await expect(fileTools(ape, runs).read(tricky)).rejects.toBeInstanceOf(ParameterValidationError);
    const mutable = { path: join(root, 'old.tmp') };
    const approve = async () => {
      mutable.path = join(root, 'keys.secret');
      return { approved: true as const, approver: 'a' };
    };
    await remove(approve)(mutable);
    expect(runs).toEqual([`delete ${join(root, 'old.tmp')}`]);
    expect(existsSync(join(root, 'keys.secret'))).toBe(true);
  });

  it('a failing tool is a ToolExecutionError carrying the cause', async () => {
    const { ape } = await make();
    const read = ape.guard<{ path: string }, string>('read_file', (p) => readFileSync(p.path, 'utf8'));
    const error = await read({ path: join(root, 'absent.md') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolExecutionError);
    expect((error as ToolExecutionError).cause).toMatchObject({ code: 'ENOENT' });
  });

  it('check() decides without running or asking', async () => {
    let asked = 0;
    const { ape, audit } = await make({ approvals: async () => ((asked++, { approved: true, approver: 'x' })) });
    expect(await ape.check('delete_file', { path: join(root, 'old.tmp') })).toMatchObject({ decision: 'escalate', rule: 'delete-escalates' });
    expect(await ape.check('read_file', { path: '/etc/passwd' })).toMatchObject({ decision: 'deny' });
    expect(asked).toBe(0);
    expect(existsSync(join(root, 'old.tmp'))).toBe(true);
    expect(audit.events.some((e) => e.type === 'token.issued')).toBe(false);
  });

  it('a tool name serves one action only', async () => {
    const { ape } = await make();
    ape.guard('read_file', () => 'x', { tool: 'fs' });
    expect(() => ape.guard('delete_file', () => 'x', { tool: 'fs' })).toThrow(/serves action 'read_file'/);
  });
});

describe('sessions', () => {
  it('the default session of a long-lived Ape is renewed before it expires', async () => {
    const clock = fakeClock();
    const { ape, audit } = await make({ now: clock.now, sessionTtlMs: 60_000 });
    const read = ape.guard<{ path: string }, string>('read_file', (p) => readFileSync(p.path, 'utf8'));
    for (let i = 0; i < 5; i++) {
      expect(await read({ path: join(root, 'notes.md') })).toBe('# notes');
      clock.advance(45_000);
    }
    const sessions = new Set(audit.events.filter((e) => e.type === 'execution.completed').map((e) => e.session));
    expect(sessions.size).toBeGreaterThan(1);
  });

  it('an explicit session expires on its TTL and counts what ran in it', async () => {
    const clock = fakeClock();
    const { ape } = await make({ now: clock.now });
    const session = ape.createSession({ userId: 'u1', ttlMinutes: 1 });
    const read = ape.guard<{ path: string }, string>('read_file', (p) => readFileSync(p.path, 'utf8'), { session });
    await read({ path: join(root, 'notes.md') });
    await read({ path: join(root, 'notes.md') });
    expect(session.actionsExecuted).toBe(2);
    expect(session.cumulativeRisk).toBe(4);
    expect(session.timeRemaining).toBe(60_000);
    const summary = await session.usageSummary();
    expect(summary).toMatchObject({ userId: 'u1', actionsRun: 2, counts: { read_file: 2 }, state: 'active' });
    clock.advance(60_000);
    expect(session.timeRemaining).toBe(0);
    await expect(read({ path: join(root, 'notes.md') })).rejects.toBeInstanceOf(SessionExpiredError);
    // The default session is unaffected.
    expect(await ape.call('read_file', { path: join(root, 'notes.md') }, (p) => readFileSync(p['path'] as string, 'utf8'))).toBe('# notes');
  });

  it('a closed Ape runs nothing more', async () => {
    const { ape } = await make();
    const read = ape.guard<{ path: string }, string>('read_file', (p) => readFileSync(p.path, 'utf8'));
    await read({ path: join(root, 'notes.md') });
    await ape.close();
    await expect(read({ path: join(root, 'notes.md') })).rejects.toBeInstanceOf(AgentClosedError);
  });
});
