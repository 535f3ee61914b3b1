/** The `model` provenance label: below `user`, above `external`, and never able to grant authority. */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createIntent, InputError, isTrusted, label, lowest, ProvenanceError, requireTrusted, unwrap } from '../../src/runtime/index.js';
import { intentFor, makeRuntime, tempRoot } from './helpers.js';

const { root, cleanup } = tempRoot();
afterAll(cleanup);
const readStep = () => ({ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } });

describe('the model label', () => {
  it('is trusted less than user and more than external; only system and user are trusted', () => {
    expect(lowest('system', 'user', 'model')).toBe('model');
    expect(lowest('model', 'external')).toBe('external');
    expect(lowest('user', 'model', 'system')).toBe('model');
    expect(['system', 'user', 'model', 'external'].map((l) => isTrusted(l as never))).toEqual([true, true, false, false]);
    expect(unwrap({ a: label('x', 'model'), b: label('y', 'user') }, 'system')).toEqual({ value: { a: 'x', b: 'y' }, labels: { a: 'model', b: 'user' }, label: 'model' });
  });

  it('a model-labelled value cannot grant authority: requireTrusted throws ProvenanceError, wherever it hides', () => {
    expect(() => requireTrusted('intent', label('delete_file', 'model'), 'user')).toThrow(ProvenanceError);
    expect(() => requireTrusted('plan', { steps: [{ parameters: { path: label('/etc/passwd', 'model') } }] }, 'user')).toThrow(/'steps.0.parameters.path' has provenance 'model'/);
    expect(() => requireTrusted('intent', { x: 1 }, 'model')).toThrow(ProvenanceError);
    expect(requireTrusted('intent', { x: label(1, 'user') }, 'system')).toEqual({ x: 1 });
  });

  it('the runtime refuses an intent or a plan written by the model, and names the four labels for a bad source', async () => {
    const { ape } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await expect(run.setIntent(intentFor(root), { source: 'model' })).rejects.toBeInstanceOf(ProvenanceError);
    // A genuine intent is taken as is only under a trusted source: the model cannot vouch for one either.
    await expect(run.setIntent(createIntent(intentFor(root), { tenant: 'acme' }), { source: 'model' })).rejects.toBeInstanceOf(ProvenanceError);
    await expect(run.setIntent(label(intentFor(root), 'model'))).rejects.toBeInstanceOf(ProvenanceError);
    await expect(run.setIntent(intentFor(root), { source: 'trusted' } as never)).rejects.toThrow(InputError);
    await expect(run.setIntent(intentFor(root), { source: 'trusted' } as never)).rejects.toThrow(/'system', 'user', 'model' or 'external'/);
    await run.setIntent(intentFor(root));
    await expect(run.approvePlan({ steps: [{ ...readStep(), parameters: { path: label(join(root, 'notes.txt'), 'model') } }] })).rejects.toBeInstanceOf(ProvenanceError);
    await expect(run.approvePlan({ steps: [readStep()] }, { source: 'model' })).rejects.toBeInstanceOf(ProvenanceError);
    expect(run.state).toBe('INTENT_SET');
    await run.approvePlan({ steps: [readStep()] });
    expect(run.state).toBe('PLAN_APPROVED');
  });
});
