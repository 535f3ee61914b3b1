/** The shortcuts of a one-step run: a reused genuine intent, the composed plan hash, revocation skipped only for runs holding nothing. */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashJson } from '../../src/compiler/hash.js';
import { createIntent, ProvenanceError } from '../../src/runtime/index.js';
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
});
