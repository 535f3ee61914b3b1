// Token lifetime and revocation, sessions, modes, quotas, redaction, the state machine, fail-closed engines, and the Python APE's runtime holes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionEngine } from '../../src/adapters/engine.js';
import { compilePolicySource } from '../../src/compiler/compile.js';
import { EngineError } from '../../src/errors.js';
import { Evaluator, NativeEvaluator } from '../../src/evaluator.js';
import {
  ApeRuntime,
  IntentValidationError,
  JsonlSink,
  MemorySink,
  QuotaExhaustedError,
  REDACTED,
  RuntimeStateError,
  SessionExpiredError,
  StateMachine,
  TokenInvalidError,
  ToolRegistrationError,
  TRANSITIONS,
  createIntent,
  type RuntimeState,
} from '../../src/runtime/index.js';
import { fakeClock, intentFor, makeRuntime, tempRoot } from './helpers.js';

const { root, cleanup } = tempRoot();
beforeAll(() => writeFileSync(join(root, 'notes.txt'), 'notes'));
afterAll(cleanup);
const readStep = () => ({ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } });

async function executing(ape: ApeRuntime, steps: unknown[] = [readStep()], tenant = 'acme') {
  const session = await ape.openSession({ tenant });
  const run = await ape.createRun(session);
  await run.setIntent(intentFor(root));
  await run.approvePlan({ steps });
  run.start();
  return { run, session };
}

describe('tokens', () => {
  it('expire after their TTL', async () => {
    const clock = fakeClock();
    const { ape, log } = makeRuntime(root, { now: clock.now, tokenTtlMs: 1000 });
    const { run } = await executing(ape);
    const auth = await run.authorize(0);
    clock.advance(1000);
    await expect(run.execute(auth.token, auth.call)).rejects.toMatchObject({ code: 'APE_TOKEN_EXPIRED' });
    expect(log).toHaveLength(0);
  });

  it('are revoked one at a time, by intent, plan, tenant, or all', async () => {
    const { ape, log } = makeRuntime(root);
    const { run } = await executing(ape);
    const other = await executing(ape, [readStep()], 'globex');
    const filters = [
      async (t: string) => (await ape.revokeToken(t)) as unknown,
      async () => ape.revokeTokens({ intent: run.intent?.version as string }),
      async () => ape.revokeTokens({ plan: run.plan?.hash as string }),
      async () => ape.revokeTokens({ tenant: 'acme' }),
      async () => ape.revokeTokens({ all: true }),
    ];
    for (const revoke of filters) {
      const auth = await run.authorize(0);
      await revoke(auth.token);
      await expect(run.execute(auth.token, auth.call)).rejects.toMatchObject({ code: 'APE_TOKEN_REVOKED' });
    }
    expect(log).toHaveLength(0);
    // revoking tenant acme left globex's token alone
    const globex = await other.run.authorize(0);
    await ape.revokeTokens({ tenant: 'acme' });
    await other.run.execute(globex.token, globex.call);
    expect(log).toHaveLength(1);
  });

  it('are refused by a runtime holding another key, even for an identical call', async () => {
    const a = makeRuntime(root, { signingKey: 'a'.repeat(32) });
    const { run } = await executing(a.ape);
    const auth = await run.authorize(0);
    const verifier = new (await import('../../src/runtime/tokens.js')).TokenSigner('b'.repeat(32));
    expect(() => verifier.verify(auth.token)).toThrow(TokenInvalidError);
  });

  it('never appear in the audit trail (only their ids)', async () => {
    const sink = new MemorySink();
    const { ape } = makeRuntime(root, { audit: [sink], signingKey: 'S'.repeat(40) });
    const { run } = await executing(ape);
    const auth = await run.authorize(0);
    await run.execute(auth.token, auth.call);
    const text = JSON.stringify(sink.events);
    expect(text).not.toContain(auth.token.split('.')[2]);
    expect(text).not.toContain(auth.token);
    expect(text).not.toContain('S'.repeat(40));
    expect(text).toContain(auth.tokenId);
  });
});

describe('sessions', () => {
  it('expire and are revocable; nothing runs after either', async () => {
    const clock = fakeClock();
    const { ape, log } = makeRuntime(root, { now: clock.now });
    const { run, session } = await executing(ape);
    await run.executeStep(0);
    const auth = await run.authorize(0);
    await ape.revokeSession(session);
    await expect(run.execute(auth.token, auth.call)).rejects.toMatchObject({ code: 'APE_SESSION_EXPIRED', reason: 'revoked' });
    await expect(run.executeStep(0)).rejects.toMatchObject({ code: 'APE_SESSION_EXPIRED', reason: 'revoked' });
    const second = await executing(ape);
    clock.advance(3_600_000);
    await expect(second.run.executeStep(0)).rejects.toBeInstanceOf(SessionExpiredError);
    expect(log).toHaveLength(1);
    expect((await ape.sessionSummary(session)).state).toBe('revoked');
  });

  it('carry the previous action to tool_transitions', async () => {
    const { ape, log } = makeRuntime(root, {}, '\ntool_transitions:\n  read_file: [list_directory]\n');
    const { run } = await executing(ape, [readStep(), readStep()]);
    await run.executeStep(0);
    // after read_file only list_directory may follow
    await expect(run.executeStep(1)).rejects.toMatchObject({ code: 'APE_POLICY_DENY', rule: 'tool_transitions' });
    expect(log).toHaveLength(1);
  });
});

describe('quotas and the policy YAML', () => {
  it('enforces the cumulative risk budget declared in the policy', async () => {
    const { ape, log } = makeRuntime(root, {}, '\nrate_limits:\n  risk_budget: 5\n');
    const { run } = await executing(ape);
    await run.executeStep(0);
    await run.executeStep(0);
    const error = await run.executeStep(0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuotaExhaustedError);
    expect(error).toMatchObject({ limit: 'risk_budget', max: 5, used: 4 });
    expect(log).toHaveLength(2);
  });

  it('enforces a per-session quota and a global windowed limit that resets', async () => {
    const clock = fakeClock();
    const { ape, log } = makeRuntime(root, { now: clock.now, rateLimits: { per_session: { limit: 2 }, global: { limit: 3, window_seconds: 10 } } });
    const a = await executing(ape);
    await a.run.executeStep(0);
    await a.run.executeStep(0);
    await expect(a.run.executeStep(0)).rejects.toMatchObject({ code: 'APE_QUOTA_EXHAUSTED', limit: 'session' });
    const b = await executing(ape);
    await b.run.executeStep(0);
    const limited = await b.run.executeStep(0).catch((e: unknown) => e);
    expect(limited).toMatchObject({ code: 'APE_RATE_LIMITED', limit: 'global', max: 3 });
    clock.advance(10_000);
    await b.run.executeStep(0);
    expect(log).toHaveLength(4);
  });

  it('keeps the hash of policies without rate_limits, and carries rate_limits into the IR', () => {
    const plain = compilePolicySource('name: p\nrules:\n  - { action: read_file, decision: allow }\n');
    expect('rateLimits' in plain.ir).toBe(false);
    const limited = compilePolicySource('name: p\nrules:\n  - { action: read_file, decision: allow }\nrate_limits:\n  global: { limit: 5, window_seconds: 60 }\n');
    expect(limited.ir.rateLimits).toEqual({ global: { limit: 5, window_seconds: 60 } });
    expect(limited.hash).not.toBe(plain.hash);
    expect(() => compilePolicySource('name: p\nrate_limits:\n  global: { limit: -1 }\n')).toThrow(/limit/);
  });
});

describe('gate modes', () => {
  it('observe mode runs a denied call and audits what enforce would have blocked', async () => {
    const audit = new MemorySink();
    const { ape, log } = makeRuntime(root, { mode: 'observe', audit: [audit] });
    const { run } = await executing(ape, [readStep(), { action: 'write_file', tool: 'fs.write', inputs: ['path', 'content'] }]);
    await run.executeStep(1, { inputs: { path: '/tmp/ape-observe-outside.txt', content: 'x' } }).catch(() => undefined);
    // outside the intent's scope: enforce would deny; observe records it and lets it run
    const observed = audit.events.filter((e) => e.type === 'gate.observed');
    expect(observed.length).toBe(1);
    expect(log).toHaveLength(1);
  });

  it('disabled mode runs the call without deciding, and the audit log still records the execution', async () => {
    const audit = new MemorySink();
    const { ape, log } = makeRuntime(root, { mode: 'disabled', audit: [audit] });
    const { run } = await executing(ape, [readStep(), { action: 'write_file', tool: 'fs.write', inputs: ['path', 'content'] }]);
    const decisionsBefore = audit.events.filter((e) => e.type === 'decision').length;
    await run.executeStep(1, { inputs: { path: '/tmp/ape-disabled-outside.txt', content: 'x' } });
    expect(log).toHaveLength(1);
    expect(audit.events.filter((e) => e.type === 'decision')).toHaveLength(decisionsBefore);
    expect(audit.events.filter((e) => e.type === 'execution.completed')).toHaveLength(1);
  });

  it('enforce is the default, and bad modes are configuration errors', () => {
    const { ape } = makeRuntime(root);
    expect(ape.mode).toBe('enforce');
    expect(() => makeRuntime(root, { mode: 'lax' as never })).toThrow(/gate mode/);
  });
});

describe('audit', () => {
  it('records denials with redacted parameters and correlation ids', async () => {
    const audit = new MemorySink();
    const { ape } = makeRuntime(root, { audit: [audit], sensitiveParams: ['content'] });
    const { run } = await executing(ape, [{ action: 'write_file', tool: 'fs.write', parameters: { path: join(root, 'a.secret'), content: 'hunter2' } }]).catch(() => ({ run: undefined }));
    expect(run).toBeUndefined();
    const rejected = audit.events.find((e) => e.type === 'plan.rejected');
    expect(rejected?.data?.['code']).toBe('APE_PLAN_INVALID');
    const decision = audit.events.find((e) => e.type === 'decision');
    expect(decision).toMatchObject({ tenant: 'acme', data: { decision: 'deny', rule: 'no-secrets', params: { content: REDACTED } } });
    expect(JSON.stringify(audit.events)).not.toContain('hunter2');
  });

  it('a JSONL sink continues an intact log and refuses a broken one', () => {
    const file = join(root, 'continued.jsonl');
    const first = new JsonlSink(file);
    first.write({ type: 'decision', ts: 1, tenant: 't' });
    const second = new JsonlSink(file);
    second.write({ type: 'decision', ts: 2, tenant: 't' });
    expect(second.head).not.toBe(first.head);
    writeFileSync(file, 'garbage\n');
    expect(() => new JsonlSink(file)).toThrow(/broken/);
  });

  it('refuses the call when a sink fails, rather than running it unaudited', async () => {
    const { ape, log } = makeRuntime(root, { audit: [{ write: (e) => { if (e.type === 'token.issued') throw new Error('disk full'); } }] });
    const { run } = await executing(ape);
    await expect(run.executeStep(0)).rejects.toMatchObject({ code: 'APE_AUDIT_FAILED' });
    expect(log).toHaveLength(0);
  });
});

describe('state machine', () => {
  it('allows exactly the documented transitions', () => {
    const states = Object.keys(TRANSITIONS) as RuntimeState[];
    for (const from of states) {
      for (const to of states) {
        const m = new StateMachine();
        const path: Record<RuntimeState, RuntimeState[]> = {
          INITIALIZED: [],
          INTENT_SET: ['INTENT_SET'],
          PLAN_APPROVED: ['INTENT_SET', 'PLAN_APPROVED'],
          EXECUTING: ['INTENT_SET', 'PLAN_APPROVED', 'EXECUTING'],
          ESCALATION_REQUIRED: ['INTENT_SET', 'PLAN_APPROVED', 'EXECUTING', 'ESCALATION_REQUIRED'],
          TERMINATED: ['TERMINATED'],
        };
        for (const s of path[from]) m.transition(s, 'setup');
        const move = () => m.transition(to, 'test');
        if (TRANSITIONS[from].includes(to)) expect(move).not.toThrow();
        else expect(move).toThrow(RuntimeStateError);
      }
    }
  });

  it('refuses out-of-order operations with typed errors', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await expect(run.approvePlan({ steps: [readStep()] })).rejects.toBeInstanceOf(RuntimeStateError);
    expect(() => run.start()).toThrow(RuntimeStateError);
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [readStep()] });
    await expect(run.executeStep(0)).rejects.toBeInstanceOf(RuntimeStateError);
    run.start();
    await run.terminate();
    await expect(run.executeStep(0)).rejects.toBeInstanceOf(RuntimeStateError);
    await expect(run.setIntent(intentFor(root))).rejects.toBeInstanceOf(RuntimeStateError);
    expect(log).toHaveLength(0);
  });
});

describe('intents and plans', () => {
  it('validates intents against the schema and versions them by content', () => {
    expect(() => createIntent({ allowed: ['read_file'] }, { tenant: 't' })).toThrow(IntentValidationError);
    expect(() => createIntent({ allowed_actions: ['read_file'], forbidden_actions: ['read_file'] }, { tenant: 't' })).toThrow(/also forbidden/);
    const a = createIntent({ allowed_actions: ['read_file'], description: 'x' }, { tenant: 't' });
    const b = createIntent({ description: 'x', allowed_actions: ['read_file'] }, { tenant: 't' });
    expect(a.version).toBe(b.version);
    expect(Object.isFrozen(a.data.allowed_actions)).toBe(true);
  });

  it('rejects plan steps outside the intent, the repository, the schema, the scope or the policy', async () => {
    const { ape } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    const cases: [unknown, string][] = [
      [{ action: 'run_shell_command', tool: 'fs.read', parameters: { command: 'ls' } }, 'intent'],
      [{ action: 'read_file', tool: 'fs.read', parameters: { file: 'x' } }, 'parameters'],
      [{ action: 'read_file', tool: 'fs.read', parameters: { path: '/etc/passwd' } }, 'scope'],
      [{ action: 'read_file', tool: 'fs.read', parameters: { path: `${root}/../../etc/passwd` } }, 'scope'],
      [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'k.secret') } }, 'policy'],
    ];
    for (const [step, reason] of cases) {
      await expect(run.approvePlan({ steps: [step] })).rejects.toMatchObject({ code: 'APE_PLAN_INVALID', reason });
    }
  });
});

describe('tools live only inside the gate', () => {
  it('no public property path from the runtime or a run reaches a tool function', async () => {
    const { ape } = makeRuntime(root);
    const secretTool = () => 'ran';
    ape.registerTool({ name: 'hidden', action: 'read_file', run: secretTool });
    const { run } = await executing(ape);
    const seen = new Set<unknown>();
    const found: string[] = [];
    const walk = (value: unknown, path: string, depth: number) => {
      if (value === secretTool) found.push(path);
      if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value) || depth > 6) return;
      seen.add(value);
      for (const key of Reflect.ownKeys(value)) {
        const d = Object.getOwnPropertyDescriptor(value, key);
        if (d && 'value' in d) walk(d.value, `${path}.${String(key)}`, depth + 1);
      }
    };
    walk(ape, 'ape', 0);
    walk(run, 'run', 0);
    walk(ape.tools(), 'tools', 0);
    expect(found).toEqual([]);
    expect(ape.tools().find((t) => t.name === 'hidden')).toEqual({ name: 'hidden', action: 'read_file', trust: 'external' });
    expect(() => ape.registerTool({ name: 'hidden', action: 'read_file', run: secretTool })).toThrow(ToolRegistrationError);
  });
});

describe('Where it breaks (Python APE 1.0.2), runtime items', () => {
  it('a failing engine fails closed even when the default is allow', async () => {
    const policy = compilePolicySource('name: open\ndefault_decision: allow\n');
    const broken: DecisionEngine = { name: 'broken', decide: () => Promise.reject(new EngineError('broken', 'connection refused')), close: async () => {} };
    const ape = new ApeRuntime({ evaluator: new Evaluator(policy, broken) });
    const ran: unknown[] = [];
    ape.registerTool({ name: 'fs.read', action: 'read_file', run: (p) => ran.push(p) });
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent({ allowed_actions: ['read_file'] });
    await expect(run.approvePlan({ steps: [readStep()] })).rejects.toBeInstanceOf(EngineError);
    const inputs = new ApeRuntime({ evaluator: new Evaluator(policy, broken) });
    inputs.registerTool({ name: 'fs.read', action: 'read_file', run: (p) => ran.push(p) });
    const r2 = await inputs.createRun(await inputs.openSession({ tenant: 'acme' }));
    await r2.setIntent({ allowed_actions: ['read_file'] });
    await r2.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', inputs: ['path'] }] });
    r2.start();
    await expect(r2.executeStep(0, { inputs: { path: join(root, 'notes.txt') } })).rejects.toBeInstanceOf(EngineError);
    expect(ran).toHaveLength(0);
  });

  it('the gate is always told the action: a token never authorizes another tool or arguments', async () => {
    const { ape, log } = makeRuntime(root);
    const { run } = await executing(ape);
    const auth = await run.authorize(0);
    await expect(run.execute(auth.token, { ...auth.call, tool: 'fs.write' })).rejects.toMatchObject({ code: 'APE_TOKEN_MISMATCH' });
    await expect(run.execute(auth.token, { ...auth.call, params: { path: join(root, 'x') } })).rejects.toMatchObject({ field: 'params' });
    expect(log).toHaveLength(0);
  });

  it('a read-only policy cannot run a delete dressed as a read', async () => {
    const policy = compilePolicySource('name: ro\nrules:\n  - { action: [read_file], decision: allow }\n');
    const ape = new ApeRuntime({ evaluator: new NativeEvaluator(policy) });
    let deleted = 0;
    ape.registerTool({ name: 'delete_file', action: 'delete_file', run: () => deleted++ });
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent({ allowed_actions: ['read_file'] });
    await expect(run.approvePlan({ steps: [{ action: 'read_file', tool: 'delete_file', parameters: { path: '/etc/passwd' } }] })).rejects.toMatchObject({ reason: 'tool' });
    expect(deleted).toBe(0);
  });

  it('rate limits apply to every session of the tenant (not only when a session asks)', async () => {
    const { ape, log } = makeRuntime(root, {}, '\nrate_limits:\n  per_action:\n    read_file: { limit: 2, window_seconds: 60 }\n');
    const a = await executing(ape);
    const b = await executing(ape);
    await a.run.executeStep(0);
    await b.run.executeStep(0);
    await expect(a.run.executeStep(0)).rejects.toMatchObject({ code: 'APE_RATE_LIMITED' });
    await expect(b.run.executeStep(0)).rejects.toMatchObject({ code: 'APE_RATE_LIMITED' });
    expect(log).toHaveLength(2);
  });
});
