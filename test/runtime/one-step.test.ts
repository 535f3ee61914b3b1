/** The shortcuts of a one-step run: a reused genuine intent, the composed plan hash, revocation skipped only for runs holding nothing, a plan decided at execution only. */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashJson } from '../../src/compiler/hash.js';
import { createIntent, InputError, PlanValidationError, PolicyDenyError, ProvenanceError, type DecisionLogEntry } from '../../src/runtime/index.js';
import { intentFor, makeRuntime, tempRoot } from './helpers.js';

const { root, cleanup } = tempRoot();
afterAll(cleanup);
const readStep = (name = 'notes.txt') => ({ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, name) } });

describe('one-step runs', () => {
  it('a genuine intent is taken as is under a trusted source and refused as external data, as a copy would be', async () => {
    const { ape, audit } = makeRuntime(root);
    const session = await ape.openSession({ tenant: 'acme' });
    const intent = createIntent(intentFor(root), { tenant: 'acme' });
    const run = await ape.createRun(session);
    const set = await run.setIntent(intent);
    expect(set.version).toBe(intent.version);
    expect(audit.events.filter((e) => e.type === 'intent.set')).toHaveLength(1);
    await expect((await ape.createRun(session)).setIntent(intent, { source: 'external' })).rejects.toBeInstanceOf(ProvenanceError);
    await expect((await ape.createRun(session)).setIntent(intentFor(root), { source: 'external' })).rejects.toBeInstanceOf(ProvenanceError);
  });

  it('the plan hash is the hash of the canonical {intent, steps}, whatever the parameters hold', async () => {
    const { ape } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    const intent = await run.setIntent(intentFor(root));
    const plan = await run.approvePlan({
      steps: [
        readStep('q "x" \\ é ☃ \u2028.txt'),
        { action: 'write_file', tool: 'fs.write', parameters: { path: join(root, 'out.txt') }, inputs: ['content'] },
      ],
    });
    expect(plan.hash).toBe(hashJson({ intent: intent.version, steps: plan.steps } as never));
  });

  it('a run that issued a stored token still revokes it when its plan changes, and the token no longer runs', async () => {
    const { ape, audit } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [readStep()] });
    run.start();
    const auth = await run.authorize(0);
    await run.approvePlan({ steps: [readStep()] });
    const revoked = audit.events.filter((e) => e.type === 'token.revoked');
    expect(revoked).toHaveLength(1);
    expect(revoked[0]?.data).toMatchObject({ reason: 'plan changed', tokens: 1 });
    run.start();
    await expect(run.execute(auth.capability, auth.call)).rejects.toThrow();
    await expect(run.execute(auth.token, auth.call)).rejects.toThrow();
  });

  it('decideAtExecution: the policy decides a step once, when it runs; a denied step is approved, then refused and never run', async () => {
    const decided: DecisionLogEntry[] = [];
    const { ape, audit, log } = makeRuntime(root, { decisionLog: (e) => decided.push(e) });
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [readStep('keys.secret')] }, { decideAtExecution: true });
    expect(decided).toEqual([]);
    expect(audit.events.filter((e) => e.type === 'decision')).toEqual([]);
    run.start();
    const error = await run.executeStep(0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyDenyError);
    expect(error).toMatchObject({ rule: 'no-secrets' });
    expect(log).toEqual([]);
    expect(decided.map((e) => e.stage)).toEqual(['call']);
    const decisions = audit.events.filter((e) => e.type === 'decision');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]?.data).toMatchObject({ decision: 'deny', rule: 'no-secrets' });
    // No authority for it either: authorize decides too, and refuses.
    await expect(run.authorize(0)).rejects.toBeInstanceOf(PolicyDenyError);
    expect(audit.events.some((e) => e.type === 'token.issued')).toBe(false);
    expect(log).toEqual([]);
  });

  it('decideAtExecution still checks the intent and its scope at approval; without it the policy refuses the plan', async () => {
    const { ape, audit } = makeRuntime(root);
    const session = await ape.openSession({ tenant: 'acme' });
    const outside = { action: 'read_file', tool: 'fs.read', parameters: { path: '/etc/hosts' } };
    let run = await ape.createRun(session);
    await run.setIntent(intentFor(root));
    await expect(run.approvePlan({ steps: [outside] }, { decideAtExecution: true })).rejects.toMatchObject({ reason: 'scope' });
    await expect(run.approvePlan({ steps: [{ action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'x') } }] }, { decideAtExecution: true })).resolves.toBeDefined();
    run = await ape.createRun(session);
    await run.setIntent(intentFor(root, { allowed_actions: ['list_directory'] }));
    await expect(run.approvePlan({ steps: [readStep()] }, { decideAtExecution: true })).rejects.toMatchObject({ reason: 'intent' });
    run = await ape.createRun(session);
    await run.setIntent(intentFor(root));
    const refused = await run.approvePlan({ steps: [readStep('keys.secret')] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PlanValidationError);
    expect(refused).toMatchObject({ reason: 'policy' });
    expect(audit.events.filter((e) => e.type === 'decision' && e.call?.includes(':plan:'))).toHaveLength(1);
  });

  it('decideAtExecution must be a boolean data property', async () => {
    const { ape } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await expect(run.approvePlan({ steps: [readStep()] }, { decideAtExecution: 'yes' } as never)).rejects.toBeInstanceOf(InputError);
    const getter = Object.defineProperty({}, 'decideAtExecution', { get: () => true, enumerable: true });
    await expect(run.approvePlan({ steps: [readStep()] }, getter)).rejects.toBeInstanceOf(InputError);
    await expect(run.approvePlan({ steps: [readStep()] }, { source: 'nobody' } as never)).rejects.toBeInstanceOf(InputError);
  });
});
