// Attacks the issue-10 list suggests but does not name, and its "also found" items: each must fail to get through.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicySource } from '../../src/compiler/compile.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import {
  ApeRuntime,
  ApprovalError,
  Capability,
  EscalationRequiredError,
  InputError,
  Labeled,
  PolicyDenyError,
  RuntimeConfigError,
  SessionExpiredError,
  TokenInvalidError,
  TokenMismatchError,
  TokenReplayError,
  label,
  type ApprovalRequest,
  type Run,
} from '../../src/runtime/index.js';
import { fakeClock, intentFor, makeRuntime, startedRun, tempRoot } from './helpers.js';

const { root, cleanup } = tempRoot();
beforeAll(() => {
  writeFileSync(join(root, 'notes.txt'), 'notes');
  writeFileSync(join(root, 'victim.txt'), 'precious');
});
afterAll(() => cleanup());

const readStep = () => ({ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } });
const deleteStep = () => ({ action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'victim.txt') } });

function executing(ape: ApeRuntime, steps: unknown[], tenant = 'acme'): Promise<Run> {
  return startedRun(ape, intentFor(root), steps, ape.openSession({ tenant }));
}

function flipping<T extends object>(base: T, key: string, first: unknown, then: unknown): T {
  let reads = 0;
  return Object.defineProperty({ ...base }, key, { enumerable: true, get: () => (reads++ < 1 ? first : then) }) as T;
}

describe('also found: a run cannot approve its own escalations', () => {
  it('Run has no resolveEscalation; the runtime (the application) resolves', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [deleteStep()]);
    expect('resolveEscalation' in run).toBe(false);
    const pending = (await run.executeStep(0).catch((e: unknown) => e)) as EscalationRequiredError;
    expect(pending).toBeInstanceOf(EscalationRequiredError);
    const approval = await ape.resolveEscalation(pending.requestId, { approved: true, approver: 'alice' });
    await run.executeStep(0, { approval });
    expect(log.map((l) => l.tool)).toEqual(['fs.delete']);
    writeFileSync(join(root, 'victim.txt'), 'precious');
  });
});

describe('also found: revocation filters', () => {
  it('revokeTokens({ tenant: undefined }) is refused and revokes nothing', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep()], 'beta');
    const auth = await run.authorize(0);
    await expect(ape.revokeTokens({ tenant: undefined } as never)).rejects.toBeInstanceOf(RuntimeConfigError);
    await expect(ape.revokeTokens({} as never)).rejects.toBeInstanceOf(RuntimeConfigError);
    await expect(ape.revokeTokens({ tenant: 'beta', bogus: 1 } as never)).rejects.toBeInstanceOf(RuntimeConfigError);
    await expect(ape.revokeTokens(new Proxy({ tenant: 'x' }, {}))).rejects.toBeInstanceOf(InputError);
    await run.execute(auth.token, auth.call);
    expect(log).toHaveLength(1);
    expect(await ape.revokeTokens({ tenant: 'beta' })).toBe(0);
  });
});

describe('also found: intent metadata is audited redacted', () => {
  it('a secret in intent metadata does not reach the audit log', async () => {
    const { ape, audit } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent({ ...intentFor(root), metadata: { api_key: 'sk-live-intent-secret', user: 'u1' } });
    const text = JSON.stringify(audit.events);
    expect(text).not.toContain('sk-live-intent-secret');
    expect(text).toContain('u1');
  });
});

describe('getters and proxies elsewhere', () => {
  it('step options, intents, plans, session options, session handles and approval answers with getters are refused', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [{ action: 'read_file', tool: 'fs.read', parameters: {}, inputs: ['path'] }]);
    const good = { path: join(root, 'notes.txt') };
    const evil = { path: join(root, 'victim.txt') };
    await expect(run.executeStep(0, flipping({}, 'inputs', good, evil))).rejects.toBeInstanceOf(InputError);
    await expect(run.executeStep(0, { inputs: flipping(good, 'path', good.path, evil.path) })).rejects.toBeInstanceOf(InputError);
    await expect(run.executeStep(0, { inputs: new Proxy(good, {}) })).rejects.toBeInstanceOf(InputError);
    const run2 = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await expect(run2.setIntent(flipping(intentFor(root), 'allowed_actions', ['read_file'], ['delete_file']))).rejects.toBeInstanceOf(InputError);
    await run2.setIntent(intentFor(root));
    await expect(run2.approvePlan({ steps: [flipping(readStep(), 'tool', 'fs.read', 'fs.delete')] })).rejects.toBeInstanceOf(InputError);
    await expect(ape.openSession(flipping({ tenant: 'acme' }, 'tenant', 'acme', 'beta'))).rejects.toBeInstanceOf(InputError);
    const session = await ape.openSession({ tenant: 'acme' });
    await expect(ape.createRun(flipping({ ...session }, 'tenant', 'acme', 'beta'))).rejects.toBeInstanceOf(InputError);
    await expect(run2.setIntent(intentFor(root), flipping({}, 'source', 'user', 'external'))).rejects.toBeInstanceOf(InputError);
    expect(log).toHaveLength(0);
  });

  it('a fake provenance wrapper (Labeled prototype with getters) is refused, a real one works', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [{ action: 'read_file', tool: 'fs.read', parameters: {}, inputs: ['path'] }]);
    let reads = 0;
    const fake = Object.create(Labeled.prototype, {
      value: { get: () => (reads++ < 1 ? join(root, 'notes.txt') : join(root, 'victim.txt')) },
      label: { get: () => 'user' },
    }) as unknown;
    await expect(run.executeStep(0, { inputs: { path: fake } })).rejects.toBeInstanceOf(InputError);
    const result = await run.executeStep(0, { inputs: { path: label(join(root, 'notes.txt'), 'user') } });
    expect(result.output.value).toBe('notes');
    expect(log).toHaveLength(1);
  });

  it('an approver answer with a getter on `approved` is refused and the call does not run', async () => {
    let reads = 0;
    const handler = (): Promise<never> => Promise.resolve(Object.defineProperty({ approver: 'mallory' }, 'approved', { enumerable: true, get: () => reads++ > 0 }) as never);
    const { ape, log } = makeRuntime(root, { approvalHandler: handler });
    const run = await executing(ape, [deleteStep()]);
    await expect(run.executeStep(0)).rejects.toBeInstanceOf(InputError);
    expect(log).toHaveLength(0);
  });
});

describe('capabilities', () => {
  it('a capability is single-use, bound to its run and its exact call, and cannot be forged', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep(), readStep()]);
    const other = await executing(ape, [readStep()]);
    const auth = await run.authorize(0);
    const forged = Object.create(Capability.prototype) as Capability;
    await expect(run.execute(forged, auth.call)).rejects.toBeInstanceOf(TokenInvalidError);
    await expect(other.execute(auth.capability, { ...auth.call })).rejects.toBeInstanceOf(TokenMismatchError);
    await expect(run.execute(auth.capability, { ...auth.call, step: 1 })).rejects.toBeInstanceOf(TokenMismatchError);
    await expect(run.execute(auth.capability, { ...auth.call, params: { path: join(root, 'victim.txt') } })).rejects.toBeInstanceOf(TokenMismatchError);
    await run.execute(auth.capability, auth.call);
    await expect(run.execute(auth.capability, auth.call)).rejects.toBeInstanceOf(TokenReplayError);
    // Its signed form is the same authority: used once means used.
    await expect(run.execute(auth.token, auth.call)).rejects.toBeInstanceOf(TokenReplayError);
    expect(JSON.stringify({ auth: auth.capability })).not.toContain(auth.token.split('.')[2] as string);
    expect(log).toHaveLength(1);
  });

  it('the signed form used first spends the capability too; revoking the token revokes the capability', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep()]);
    const a = await run.authorize(0);
    await run.execute(a.token, a.call);
    await expect(run.execute(a.capability, a.call)).rejects.toBeInstanceOf(TokenReplayError);
    const b = await run.authorize(0);
    expect(await ape.revokeTokens({ id: b.tokenId })).toBe(1);
    await expect(run.execute(b.capability, b.call)).rejects.toMatchObject({ reason: 'revoked' });
    expect(log).toHaveLength(1);
  });
});

describe('re-entrancy from inside a tool', () => {
  it('a tool replaying the authority it runs under, or re-entering past a risk cap, gets nothing more', async () => {
    const policy = `
name: reentry
default_decision: deny
rules:
  - id: read
    action: read_file
    decision: allow
  - id: cap
    action: read_file
    decision: deny
    conditions:
      context.session.cumulative_risk: { min: 6 }
`;
    const ape = new ApeRuntime({ evaluator: new NativeEvaluator(compilePolicySource(policy)) });
    const ref: { run?: Run } = {};
    let current: { token: string; call: unknown } | undefined;
    const seen: string[] = [];
    let depth = 0;
    ape.registerTool({
      name: 'nested.read', action: 'read_file',
      run: async () => {
        depth++;
        if (current) {
          const replay = current;
          current = undefined;
          seen.push(await ref.run!.execute(replay.token, replay.call as never).then(() => 'ran', (e: unknown) => (e as Error).constructor.name));
        }
        if (depth < 6) seen.push(await ref.run!.executeStep(0).then(() => 'ran', (e: unknown) => (e as Error).constructor.name));
        return 'ok';
      },
    });
    const run = (ref.run = await ape.createRun(await ape.openSession({ tenant: 'acme' })));
    await run.setIntent({ allowed_actions: ['read_file'] });
    await run.approvePlan({ steps: [{ action: 'read_file', tool: 'nested.read', parameters: { path: '/srv/x' } }] });
    run.start();
    const auth = await run.authorize(0);
    current = { token: auth.token, call: auth.call };
    await run.execute(auth.capability, auth.call);
    // read_file is `low` risk (2): the cap at 6 lets three calls in all (the outer one and two nested), the replay none.
    expect(seen[0]).toBe(TokenReplayError.name);
    expect(seen.filter((s) => s === 'ran')).toHaveLength(2);
    expect(seen).toContain(PolicyDenyError.name);
    expect((await ape.sessionSummary(run.session)).cumulativeRisk).toBe(6);
  });

  it('a tool that changes the intent mid-run revokes every outstanding authority', async () => {
    const { ape, log } = makeRuntime(root);
    const ref: { run?: Run } = {};
    ape.registerTool({ name: 'intent.changer', action: 'list_directory', run: async () => { await ref.run!.setIntent({ ...intentFor(root), allowed_actions: ['list_directory', 'read_file'] }); return 'changed'; } });
    const run = (ref.run = await executing(ape, [{ action: 'list_directory', tool: 'intent.changer', parameters: { path: join(root, 'sub') } }, readStep()]));
    const pending = await run.authorize(1);
    expect((await run.executeStep(0)).output.value).toBe('changed');
    expect(run.state).toBe('INTENT_SET');
    await expect(run.execute(pending.capability, pending.call)).rejects.toBeInstanceOf(Error);
    await expect(run.execute(pending.token, pending.call)).rejects.toBeInstanceOf(Error);
    expect(log).toHaveLength(0);
  });
});

describe('approvals racing revocation', () => {
  it('a session revoked while the approver thinks: the late approval is refused and the call does not run', async () => {
    const ref: { ape?: ApeRuntime; session?: Run['session'] } = {};
    const handler = async (request: ApprovalRequest) => {
      await ref.ape!.revokeSession(ref.session!);
      expect(request.kind).toBe('call');
      return { approved: true as const, approver: 'alice' };
    };
    const made = makeRuntime(root, { approvalHandler: handler });
    ref.ape = made.ape;
    const run = await executing(made.ape, [deleteStep()]);
    ref.session = run.session;
    const error = await run.executeStep(0).catch((e: unknown) => e);
    expect(error instanceof ApprovalError || error instanceof SessionExpiredError).toBe(true);
    expect(made.log).toHaveLength(0);
  });

  it('a pending request revoked (run terminated or session revoked) cannot be resolved afterwards', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [deleteStep()]);
    const pending = (await run.executeStep(0).catch((e: unknown) => e)) as EscalationRequiredError;
    await ape.revokeSession(run.session);
    await expect(ape.resolveEscalation(pending.requestId, { approved: true, approver: 'alice' })).rejects.toMatchObject({ reason: 'revoked' });
    const run2 = await executing(ape, [deleteStep()]);
    const pending2 = (await run2.executeStep(0).catch((e: unknown) => e)) as EscalationRequiredError;
    await run2.terminate();
    await expect(ape.resolveEscalation(pending2.requestId, { approved: true, approver: 'alice' })).rejects.toMatchObject({ reason: 'revoked' });
    expect(log).toHaveLength(0);
  });

  it('an approval granted, then its session revoked, is not usable', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [deleteStep()]);
    const pending = (await run.executeStep(0).catch((e: unknown) => e)) as EscalationRequiredError;
    const approval = await ape.resolveEscalation(pending.requestId, { approved: true, approver: 'alice' });
    await ape.revokeSession(run.session);
    await expect(run.executeStep(0, { approval })).rejects.toBeInstanceOf(Error);
    expect(log).toHaveLength(0);
  });
});

describe('clock skew', () => {
  it('a token stamped in the future (issuer clock ahead, or this clock set back) is refused', async () => {
    const clock = fakeClock();
    const { ape, log } = makeRuntime(root, { now: clock.now, tokenTtlMs: 60_000 });
    const run = await executing(ape, [readStep()]);
    const auth = await run.authorize(0);
    clock.advance(-3_600_000); // the clock jumps back an hour: without a check the token would live an hour longer
    await expect(run.execute(auth.token, auth.call)).rejects.toMatchObject({ reason: 'not_yet_valid' });
    expect(log).toHaveLength(0);
  });

  it('a clock that answers NaN fails closed (nothing is authorized or runs)', async () => {
    let broken = false;
    const { ape, log } = makeRuntime(root, { now: () => (broken ? Number.NaN : Date.now()) });
    const run = await executing(ape, [readStep()]);
    const auth = await run.authorize(0);
    broken = true;
    await expect(run.execute(auth.token, auth.call)).rejects.toBeInstanceOf(RuntimeConfigError);
    await expect(run.executeStep(0)).rejects.toBeInstanceOf(RuntimeConfigError);
    expect(log).toHaveLength(0);
  });
});
