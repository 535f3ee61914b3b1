// The runtime's policy swap: evaluator, token policy hash and audit move together; old tokens and approvals are refused; a decision in flight finishes on its version.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DecisionEngine } from '../../src/adapters/engine.js';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { compilePolicySource } from '../../src/compiler/compile.js';
import type { EngineInput } from '../../src/compiler/ir.js';
import { Evaluator, NativeEvaluator } from '../../src/evaluator.js';
import { ApprovalError, EscalationRequiredError, TokenMismatchError, type ApeRuntime, type Run } from '../../src/runtime/index.js';
import { intentFor, makeRuntime, policyText, startedRun, tempRoot } from './helpers.js';

const { root, cleanup } = tempRoot();
afterAll(cleanup);
writeFileSync(join(root, 'notes.txt'), 'notes');

/** The test policy with one more rule, so its hash differs and the next version is visible. */
function nextPolicy(tag: string) {
  return compilePolicySource(policyText(root, `  - id: marker-${tag}\n    action: http_get\n    decision: deny\n    conditions:\n      url.host: { equals: ${tag}.invalid }\n`));
}

function executing(ape: ApeRuntime, steps: unknown[]): Promise<Run> {
  return startedRun(ape, intentFor(root), steps);
}

const read = () => ({ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } });

describe('ApeRuntime.swapPolicy', () => {
  it('a token issued before the swap is refused after it (bound to the old policy hash); a new one runs', async () => {
    const { ape, log, audit } = makeRuntime(root);
    const run = await executing(ape, [read()]);
    const before = ape.policy.hash;
    const auth = await run.authorize(0);
    const next = nextPolicy('a');
    const { previous } = ape.swapPolicy(new NativeEvaluator(next), { source: 'test' });
    expect(previous.policy.hash).toBe(before);
    expect(ape.policy.hash).toBe(next.hash);
    const refused = await run.execute(auth.token, auth.call).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TokenMismatchError);
    expect(refused).toMatchObject({ field: 'policy' });
    expect(log).toHaveLength(0);
    await run.executeStep(0);
    expect(log).toHaveLength(1);
    // Plan approval, the first authorization, the call after the swap.
    const decisions = audit.events.filter((e) => e.type === 'decision').map((e) => e.data?.['policy']);
    expect(decisions).toEqual([before, before, next.hash]);
    expect(audit.events.find((e) => e.type === 'policy.swapped')?.data).toEqual({ previous: before, policy: next.hash, version: next.ir.version, source: 'test' });
  });

  it('an approval given under the old policy is refused after the swap', async () => {
    writeFileSync(join(root, 'victim.txt'), 'v');
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [{ action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'victim.txt') } }]);
    const pending = (await run.executeStep(0).catch((e: unknown) => e)) as EscalationRequiredError;
    expect(pending).toBeInstanceOf(EscalationRequiredError);
    const approval = await ape.resolveEscalation(pending.requestId, { approved: true, approver: 'alice' });
    ape.swapPolicy(new NativeEvaluator(nextPolicy('b')));
    const refused = await run.executeStep(0, { approval }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApprovalError);
    expect(refused).toMatchObject({ reason: 'policy', code: 'APE_APPROVAL_INVALID' });
    expect(log).toHaveLength(0);
    expect(existsSync(join(root, 'victim.txt'))).toBe(true);
  });

  it('a decision in flight finishes on the version it started with; the old evaluator is handed back once it ended', async () => {
    let release: () => void = () => undefined;
    const gate: { held?: Promise<void> } = {};
    const v1 = compilePolicySource(policyText(root));
    const native = new NativeEngine(v1.ir, v1.hash);
    // The real native engine, answering only when the test lets it (an engine that takes its time, like a remote OPA).
    const slow: DecisionEngine = { name: 'slow-native', decide: async (input: EngineInput) => (await gate.held, native.decide(input)), close: () => native.close() };
    const { ape, log, audit } = makeRuntime(root, { evaluator: new Evaluator(v1, slow) });
    const run = await executing(ape, [read(), read()]);
    gate.held = new Promise<void>((resolve) => (release = resolve));
    const inFlight = run.executeStep(0).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    const v2 = nextPolicy('c');
    const swap = ape.swapPolicy(new NativeEvaluator(v2));
    let drained = false;
    void swap.drained.then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    release();
    const outcome = await inFlight;
    await swap.drained;
    expect(drained).toBe(true);
    // Decided by v1 (audited as v1); its authority is v1's, which the gate no longer accepts.
    const first = audit.events.find((e) => e.type === 'decision');
    expect(first?.data?.['policy']).toBe(v1.hash);
    expect(outcome).toBeInstanceOf(TokenMismatchError);
    expect(log).toHaveLength(0);
    // The next decision is v2's and runs (plan approval decided both steps on v1).
    await run.executeStep(1);
    expect(audit.events.filter((e) => e.type === 'decision').map((e) => e.data?.['policy'])).toEqual([v1.hash, v1.hash, v1.hash, v2.hash]);
    expect(log).toHaveLength(1);
  });

  it('refuses something that is not an evaluator, and a swap that cannot be audited changes nothing', () => {
    const { ape } = makeRuntime(root);
    const before = ape.policy.hash;
    expect(() => ape.swapPolicy({} as Evaluator)).toThrow(expect.objectContaining({ code: 'APE_RUNTIME_CONFIG' }));
    const failing = makeRuntime(root, {
      audit: [
        {
          write: (e) => {
            if (e.type === 'policy.swapped') throw new Error('disk full');
          },
        },
      ],
    }).ape;
    expect(() => failing.swapPolicy(new NativeEvaluator(nextPolicy('d')))).toThrow(expect.objectContaining({ code: 'APE_AUDIT_FAILED' }));
    expect(failing.policy.hash).toBe(before);
  });
});
