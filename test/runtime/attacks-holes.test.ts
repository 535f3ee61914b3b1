// The eleven holes an outside attack suite found (issue 10), one test each; every one failed before its fix.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicySource } from '../../src/compiler/compile.js';
import { registerTarget, getTarget, targetNames } from '../../src/compiler/targets.js';
import { createEngine, registerEngine } from '../../src/adapters/registry.js';
import { ApeError } from '../../src/errors.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import {
  ApeRuntime,
  InputError,
  JsonlSink,
  MemorySink,
  PolicyDenyError,
  SessionExpiredError,
  verifyChain,
  type AuditEvent,
  type Run,
} from '../../src/runtime/index.js';
import { intentFor, makeRuntime, startedRun, tempRoot } from './helpers.js';

const { root, cleanup } = tempRoot();
beforeAll(() => {
  writeFileSync(join(root, 'notes.txt'), 'notes');
  writeFileSync(join(root, 'victim.txt'), 'precious');
});
afterAll(() => cleanup());

const readStep = () => ({ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } });

function executing(ape: ApeRuntime, steps: unknown[], tenant = 'acme', intent: unknown = intentFor(root)): Promise<Run> {
  return startedRun(ape, intent, steps, ape.openSession({ tenant }));
}

/** An object whose property `key` answers `first` on the first `n` reads and `then` afterwards. */
function flipping<T extends object>(base: T, key: string, first: unknown, then: unknown, n = 1): T {
  let reads = 0;
  return Object.defineProperty({ ...base }, key, { enumerable: true, get: () => (reads++ < n ? first : then) }) as T;
}

describe('hole 1: check one call, run another', () => {
  for (const field of ['params', 'tool', 'action'] as const) {
    it(`a call whose ${field} is a getter cannot run another tool or target`, async () => {
      const { ape, log } = makeRuntime(root);
      const run = await executing(ape, [readStep(), { action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'victim.txt') } }]);
      const auth = await run.authorize(0);
      const evil = { params: { path: join(root, 'victim.txt') }, tool: 'fs.delete', action: 'delete_file' }[field];
      for (let n = 1; n <= 3; n++) {
        const call = flipping({ ...auth.call }, field, auth.call[field], evil, n);
        await expect(run.execute(auth.token, call)).rejects.toBeInstanceOf(InputError);
      }
      expect(log).toHaveLength(0);
      expect(readFileSync(join(root, 'victim.txt'), 'utf8')).toBe('precious');
    });
  }

  it('a proxy call, or proxy parameters, are refused', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep()]);
    const auth = await run.authorize(0);
    await expect(run.execute(auth.token, new Proxy({ ...auth.call }, {}))).rejects.toBeInstanceOf(InputError);
    await expect(run.execute(auth.token, { ...auth.call, params: new Proxy({ ...auth.call.params }, {}) })).rejects.toBeInstanceOf(InputError);
    expect(log).toHaveLength(0);
  });

  it('parameters changed after the check do not reach the tool (the tool gets the frozen copy)', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep()]);
    const auth = await run.authorize(0);
    const params = { path: auth.call.params["path"] as string };
    const result = await run.execute(auth.token, { ...auth.call, params });
    params.path = join(root, 'victim.txt');
    expect(result.output.value).toBe('notes');
    expect(Object.isFrozen(log[0]?.params)).toBe(true);
  });
});

describe('hole 2: tool shadowing', () => {
  it('a tool whose name is a getter cannot replace a registered tool', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep()]);
    const shadow = flipping({ action: 'read_file', run: () => 'shadowed' }, 'name', 'fresh.name', 'fs.read', 1);
    expect(() => ape.registerTool(shadow as never)).toThrow(ApeError);
    const proxied = new Proxy({ name: 'p.read', action: 'read_file', run: () => 'x' }, {});
    expect(() => ape.registerTool(proxied)).toThrow(ApeError);
    const result = await run.executeStep(0);
    expect(result.output.value).toBe('notes');
    expect(log.map((l) => l.tool)).toEqual(['fs.read']);
  });

  it('the registered definition is read once: a later change of the caller object changes nothing', async () => {
    const { ape } = makeRuntime(root);
    const def = { name: 'mine', action: 'read_file', run: () => 'mine' };
    ape.registerTool(def);
    def.name = 'fs.read';
    def.run = () => 'changed';
    expect(ape.tools().filter((t) => t.name === 'fs.read')).toHaveLength(1);
  });
});

describe('hole 3: mutable identity', () => {
  it('run.session, run.tenant and run.id cannot be reassigned: a run of a revoked session stays revoked', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep()]);
    const other = await ape.openSession({ tenant: 'acme' });
    const evil = await ape.openSession({ tenant: 'evil' });
    await ape.revokeSession(run.session);
    const r = run as unknown as Record<string, unknown>;
    expect(() => (r['session'] = other)).toThrow(TypeError);
    expect(() => (r['tenant'] = 'evil')).toThrow(TypeError);
    expect(() => (r['id'] = 'run_other')).toThrow(TypeError);
    expect(() => Object.defineProperty(run, 'session', { value: evil })).toThrow(TypeError);
    await expect(run.executeStep(0)).rejects.toBeInstanceOf(SessionExpiredError);
    expect(log).toHaveLength(0);
  });
});

describe('hole 4: cumulative risk under concurrency', () => {
  const riskPolicy = `
name: risk
default_decision: deny
rules:
  - id: read
    action: read_file
    decision: allow
  - id: cap
    action: read_file
    decision: deny
    conditions:
      context.session.cumulative_risk: { min: 4 }
`;
  it('20 parallel calls under a cumulative-risk cap of two calls let exactly 2 through (memory stores)', async () => {
    const evaluator = new NativeEvaluator(compilePolicySource(riskPolicy));
    const ape = new ApeRuntime({ evaluator });
    let ran = 0;
    ape.registerTool({ name: 'slow.read', action: 'read_file', run: async () => { await new Promise((r) => setTimeout(r, 5)); ran++; return 'ok'; } });
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent({ allowed_actions: ['read_file'] });
    await run.approvePlan({ steps: [{ action: 'read_file', tool: 'slow.read', parameters: { path: '/srv/a' } }] });
    run.start();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => run.executeStep(0)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof PolicyDenyError)).toBe(true);
    expect(ran).toBe(2);
    expect((await ape.sessionSummary(run.session)).cumulativeRisk).toBe(4);
  });
});

describe('hole 5: secrets in reasons', () => {
  const policy = `
name: keys
default_decision: deny
actions:
  - id: call_api
    risk_level: low
    parameters: { type: object, properties: { api_key: { type: string }, password: { type: string } }, required: [api_key] }
rules:
  - id: test-keys-only
    action: call_api
    decision: allow
    conditions:
      api_key: { prefix: ["sk-test-"] }
`;
  it('a reason quoting a redacted parameter is redacted in audit events and errors', async () => {
    const audit = new MemorySink();
    const file = join(root, 'reasons.jsonl');
    const lines: AuditEvent[] = [];
    const ape = new ApeRuntime({ evaluator: new NativeEvaluator(compilePolicySource(policy)), audit: [audit, new JsonlSink(file), { write: (e) => lines.push(e) }] });
    ape.registerTool({ name: 'api', action: 'call_api', run: () => 'ok' });
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent({ allowed_actions: ['call_api'] });
    await run.approvePlan({ steps: [{ action: 'call_api', tool: 'api', parameters: {}, inputs: ['api_key'] }] });
    run.start();
    const secret = 'sk-live-0123456789abcdef';
    const error = await run.executeStep(0, { inputs: { api_key: secret } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyDenyError);
    expect(JSON.stringify({ m: (error as Error).message, r: (error as PolicyDenyError).reasons })).not.toContain('0123456789abcdef');
    expect(JSON.stringify(audit.events)).not.toContain('0123456789abcdef');
    expect(JSON.stringify(lines)).not.toContain('0123456789abcdef');
    expect(readFileSync(file, 'utf8')).not.toContain('0123456789abcdef');
    expect(JSON.stringify(audit.events)).toContain('[REDACTED]');
  });
});

describe('hole 6: audit chain over the exact line bytes', () => {
  it('a line with a duplicate key prepended does not verify', async () => {
    const file = join(root, 'dup.jsonl');
    const { ape } = makeRuntime(root, { audit: [new JsonlSink(file)] });
    const run = await executing(ape, [readStep()]);
    await run.executeStep(0);
    const text = readFileSync(file, 'utf8');
    expect(verifyChain(text).ok).toBe(true);
    const lines = text.trimEnd().split('\n');
    const i = lines.findIndex((l) => l.includes('"execution.completed"'));
    lines[i] = `{"type":"forged",${(lines[i] as string).slice(1)}`;
    const forged = `${lines.join('\n')}\n`;
    expect(verifyChain(forged).ok).toBe(false);
    // Whitespace or key order changes are byte changes too.
    const spaced = text.replace('{"', '{ "');
    expect(verifyChain(spaced).ok).toBe(false);
  });
});

describe('hole 7: observe mode never blocks, also at plan approval', () => {
  it('a plan with a denied step is approved in observe mode, audited as would-block, and runs', async () => {
    const { ape, log, audit } = makeRuntime(root, { mode: 'observe' });
    writeFileSync(join(root, 'k.secret'), 'k');
    const run = await executing(ape, [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'k.secret') } }]);
    const result = await run.executeStep(0);
    expect(result.output.value).toBe('k');
    expect(log).toHaveLength(1);
    expect(audit.events.some((e) => e.type === 'gate.observed' && JSON.stringify(e.data).includes('plan'))).toBe(true);
  });
});

describe('hole 8: one call, one id on the two-phase path', () => {
  it('decision, token, consumption and execution events share the call id', async () => {
    const { ape, audit } = makeRuntime(root);
    const run = await executing(ape, [readStep()]);
    const auth = await run.authorize(0);
    const result = await run.execute(auth.token, auth.call);
    const events = audit.events.filter((e) => ['decision', 'token.issued', 'token.consumed', 'execution.completed'].includes(e.type) && !e.call?.includes(':plan:'));
    expect(events.map((e) => e.type)).toEqual(['decision', 'token.issued', 'token.consumed', 'execution.completed']);
    expect(new Set(events.map((e) => e.call))).toEqual(new Set([auth.callId]));
    expect(result.call).toBe(auth.callId);
  });
});

describe('hole 9: refused input leaves a trace', () => {
  it('a call refused for bad input is audited', async () => {
    const { ape, audit, log } = makeRuntime(root);
    const run = await executing(ape, [{ action: 'read_file', tool: 'fs.read', parameters: {}, inputs: ['path'] }]);
    await expect(run.executeStep(0, { inputs: { path: 42 } })).rejects.toBeInstanceOf(ApeError);
    await expect(run.executeStep(0, { inputs: { path: new Date() } })).rejects.toBeInstanceOf(InputError);
    const refused = audit.events.filter((e) => e.type === 'input.refused');
    expect(refused.map((e) => e.data?.['code'])).toEqual(['APE_PARAMS_INVALID', 'APE_INPUT_INVALID']);
    expect(refused.every((e) => e.run === run.id && e.step === 0 && typeof e.call === 'string')).toBe(true);
    expect(log).toHaveLength(0);
  });
});

describe('hole 10: non-JSON input is a typed error', () => {
  const cyclic = (): Record<string, unknown> => {
    const o: Record<string, unknown> = { a: 1 };
    o['self'] = o;
    return o;
  };
  const deep = (): unknown => {
    let v: unknown = 'x';
    for (let i = 0; i < 100_000; i++) v = { v };
    return v;
  };
  class Thing { path = join(root, 'notes.txt'); }
  const bad: [string, () => unknown][] = [
    ['a cycle', cyclic],
    ['a very deep value', deep],
    ['a Date', () => new Date()],
    ['a Map', () => new Map([['path', 'x']])],
    ['a class instance', () => new Thing()],
    ['NaN', () => Number.NaN],
    ['a lone surrogate', () => '\ud800'],
    ['a function', () => () => 1],
    ['undefined', () => undefined],
    ['a bigint', () => 1n],
  ];
  for (const [name, make] of bad) {
    it(`${name} as a run-time input is refused with InputError, and nothing runs`, async () => {
      const { ape, log } = makeRuntime(root);
      const run = await executing(ape, [{ action: 'write_file', tool: 'fs.write', parameters: { path: join(root, 'out.txt') }, inputs: ['content'] }]);
      const error = await run.executeStep(0, { inputs: { content: make() } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect(log).toHaveLength(0);
    });
    it(`${name} in planned parameters is refused with a typed error`, async () => {
      const { ape } = makeRuntime(root);
      const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
      await run.setIntent(intentFor(root));
      const error = await run.approvePlan({ steps: [{ action: 'write_file', tool: 'fs.write', parameters: { path: join(root, 'o.txt'), content: make() } }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApeError);
    });
  }
  it('a Date in an intent or a class instance as a plan is refused', async () => {
    const { ape } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await expect(run.setIntent({ ...intentFor(root), metadata: { at: new Date() } })).rejects.toBeInstanceOf(InputError);
    await run.setIntent(intentFor(root));
    class P { steps = [readStep()]; }
    await expect(run.approvePlan(new P())).rejects.toBeInstanceOf(InputError);
  });
});

describe('hole 11: engine and target registries cannot be overwritten', () => {
  it('registerEngine on an existing name throws, and the built-in engine stays', async () => {
    const fake = () => Promise.reject(new Error('fake'));
    for (const name of ['native', 'cedar', 'opa-wasm', 'opa-server']) expect(() => registerEngine(name, fake)).toThrow(ApeError);
    registerEngine('test-engine-once', (p) => createEngine('native', p));
    expect(() => registerEngine('test-engine-once', fake)).toThrow(ApeError);
    const policy = compilePolicySource('name: p\ndefault_decision: deny\nrules: []\n');
    expect((await createEngine('native', policy)).name).toBe('native');
  });

  it('built-in compile targets are there without the CLI, and cannot be replaced', () => {
    for (const name of ['ir', 'rego', 'bundle', 'wasm', 'cedar', 'model', 'smt', 'tla']) {
      expect(targetNames()).toContain(name);
      const before = getTarget(name);
      expect(() => registerTarget(name, { description: 'fake', emit: () => Promise.resolve({ written: [] }) })).toThrow(ApeError);
      expect(getTarget(name)).toBe(before);
    }
  });
});
