/** The guarded call's hot path: copies taken once and reused, canonical parameters reused, labels and hashes as before; each shortcut tried against what it must still refuse. */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, hashJson } from '../../src/compiler/hash.js';
import type { JsonObject, JsonValue } from '../../src/compiler/ir.js';
import { canonicalForm } from '../../src/runtime/canonical.js';
import { MAX_DEPTH, MAX_NODES, copyOnce, isPlainCopy, plainCallPlan, plainCopy } from '../../src/runtime/plain.js';
import { createIntent, InputError, Labeled, ProvenanceError, TokenMismatchError, unwrap } from '../../src/runtime/index.js';
import { reasonScrubber } from '../../src/runtime/audit/redact.js';
import { uniformLabels } from '../../src/runtime/provenance.js';
import { intentFor, makeRuntime, tempRoot } from './helpers.js';

const { root, cleanup } = tempRoot();
afterAll(cleanup);
writeFileSync(join(root, 'notes.txt'), 'hello');

/** A value nested `levels` objects deep: { a: { a: ... { a: 1 } } }. */
function nested(levels: number): JsonObject {
  let v: JsonValue = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v as JsonObject;
}

/** The error a call throws (or undefined). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('plainCopy reuses its own copies inside a new value', () => {
  it('an earlier copy inside a new value is taken as it is; the new value is copied', () => {
    const inner = plainCopy({ message: 'm', list: [1, 2] }, 'params');
    const outer = { steps: [{ action: 'echo', parameters: inner }] };
    const copy = plainCopy(outer, 'plan', { labeled: true }) as { steps: { parameters: unknown }[] };
    expect(copy).not.toBe(outer);
    expect(copy.steps).not.toBe(outer.steps);
    expect(copy.steps[0]?.parameters).toBe(inner);
    expect(Object.isFrozen(copy) && Object.isFrozen(copy.steps) && Object.isFrozen(copy.steps[0])).toBe(true);
    expect(isPlainCopy(copy)).toBe(true);
  });

  it('the depth limit still counts the levels of a reused copy: refused at the same place as a fresh value', () => {
    const deep = nested(MAX_DEPTH - 4);
    const reused = plainCopy(deep, 'params');
    const wrap = (v: unknown) => ({ x: { y: { z: { w: { v } } } } });
    const fresh = thrown(() => plainCopy(wrap(deep), 'plan'));
    const again = thrown(() => plainCopy(wrap(reused), 'plan'));
    expect(fresh).toBeInstanceOf(InputError);
    expect(again).toBeInstanceOf(InputError);
    expect((again as InputError).message).toBe((fresh as InputError).message);
    expect((again as InputError).pointer).toBe((fresh as InputError).pointer);
    // One level less fits, and the copy is reused.
    const fits = plainCopy({ x: { y: { z: { w: reused } } } }, 'plan') as { x: { y: { z: { w: unknown } } } };
    expect(fits.x.y.z.w).toBe(reused);
  });

  it('the node budget counts the keys of reused copies: two copies of 60,000 items together are refused', () => {
    const big = plainCopy(Array.from({ length: 60_000 }, (_, i) => i), 'params');
    expect(plainCopy({ a: big }, 'plan')).toBeTruthy();
    const error = thrown(() => plainCopy({ a: big, b: big }, 'plan'));
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(`more than ${MAX_NODES}`);
  });

  it('a copy holding provenance wrappers is reused only where wrappers are allowed', () => {
    const withWrapper = plainCopy({ url: new Labeled('http://x', 'external') }, 'params', { labeled: true });
    expect(isPlainCopy(withWrapper)).toBe(false);
    const labeled = plainCopy({ p: withWrapper }, 'plan', { labeled: true }) as { p: unknown };
    expect(labeled.p).toBe(withWrapper);
    expect(isPlainCopy(labeled)).toBe(false);
    expect(thrown(() => plainCopy({ p: withWrapper }, 'params'))).toBeInstanceOf(InputError);
    // The same object at the top is refused in strict mode too.
    expect(thrown(() => plainCopy(withWrapper, 'params'))).toBeInstanceOf(InputError);
  });

  it('the copy stamp is invisible to every reader of the data and cannot be forged or copied', () => {
    const copy = plainCopy({ message: 'm', list: [1] }, 'params') as JsonObject;
    expect(isPlainCopy(copy)).toBe(true);
    expect(Reflect.ownKeys(copy)).toEqual(['message', 'list']);
    expect(JSON.stringify(copy)).toBe('{"message":"m","list":[1]}');
    expect(Object.isFrozen(copy)).toBe(true);
    // Look-alikes: a structured clone, a spread, a frozen literal, a proxy of the copy, an inner node.
    expect(isPlainCopy(structuredClone(copy))).toBe(false);
    expect(isPlainCopy({ ...copy })).toBe(false);
    expect(isPlainCopy(Object.freeze({ message: 'm', list: Object.freeze([1]) }))).toBe(false);
    expect(isPlainCopy(new Proxy(copy, {}))).toBe(false);
    expect(isPlainCopy(copy['list'])).toBe(false);
    // A proxy of a copy is still refused as a proxy, not taken as the copy.
    expect(thrown(() => plainCopy(new Proxy(copy, {}), 'params'))).toBeInstanceOf(InputError);
    expect(thrown(() => plainCopy({ p: new Proxy(copy, {}) }, 'params'))).toBeInstanceOf(InputError);
    // A shared (not cyclic) object inside a value is copied wherever it occurs.
    const shared = { x: 1 };
    expect(plainCopy({ a: shared, b: [shared, shared] }, 'params')).toEqual({ a: { x: 1 }, b: [{ x: 1 }, { x: 1 }] });
  });

  it('copyOnce walks like plainCopy but records nothing; it takes an earlier copy as it is', () => {
    const inner = plainCopy({ path: '/tmp/x' }, 'params');
    const once = copyOnce({ steps: [{ parameters: inner }] }, 'plan', true);
    expect(once.wrappers).toBe(false);
    expect((once.value as { steps: { parameters: unknown }[] }).steps[0]?.parameters).toBe(inner);
    expect(isPlainCopy(once.value)).toBe(false);
    expect(copyOnce(inner, 'plan', true)).toEqual({ value: inner, wrappers: false });
    const wrapped = copyOnce({ p: new Labeled('x', 'external') }, 'plan', true);
    expect(wrapped.wrappers).toBe(true);
    expect(thrown(() => copyOnce({ p: new Labeled('x', 'external') }, 'plan', false))).toBeInstanceOf(InputError);
    expect(thrown(() => copyOnce({ get p() { return 1; } }, 'plan', true))).toBeInstanceOf(InputError);
  });

  it('keys are read as before: __proto__ stays an own key, symbol, non-enumerable and getter keys are refused', () => {
    const json = JSON.parse('{"__proto__": {"polluted": true}, "b": 1}') as object;
    const copy = plainCopy(json, 'params') as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 'b']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const sym = { a: 1, [Symbol('s')]: 2 };
    expect((thrown(() => plainCopy(sym, 'params')) as Error).message).toContain('symbol key');
    // A string key's refusal comes first, as in Reflect.ownKeys order.
    const both = { get a() { return 1; }, [Symbol('s')]: 2 };
    expect((thrown(() => plainCopy(both, 'params')) as Error).message).toContain('getter');
    const hidden = Object.defineProperty({ a: 1 }, 'b', { value: 2, enumerable: false });
    expect((thrown(() => plainCopy(hidden, 'params')) as Error).message).toContain('not enumerable');
  });
});

describe('plainCallPlan: the plan of one call built from its copied parameters', () => {
  const json = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })) as fc.Arbitrary<JsonObject>;
  /** Same data, same key order at every level, frozen everywhere. */
  const sameData = (a: unknown, b: unknown): boolean => {
    if (a === null || typeof a !== 'object') return Object.is(a, b);
    if (b === null || typeof b !== 'object' || !Object.isFrozen(a) || !Object.isFrozen(b)) return false;
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    const ka = Reflect.ownKeys(a);
    const kb = Reflect.ownKeys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameData((a as Record<string | symbol, unknown>)[k], (b as Record<string | symbol, unknown>)[k]));
  };

  it('is the data plainCopy makes of the same plan, with the copied parameters taken as they are', () => {
    fc.assert(
      fc.property(json, fc.string(), fc.string(), (params, action, tool) => {
        const copied = plainCopy(params, 'params');
        const built = plainCallPlan(action, tool, copied) as { steps: { parameters: unknown }[] };
        expect(sameData(built, plainCopy({ steps: [{ action, tool, parameters: params }] }, 'plan', { labeled: true }))).toBe(true);
        expect(built.steps[0]?.parameters).toBe(copied);
        expect(isPlainCopy(built)).toBe(true);
        // Taken as it is by the plan's own copy.
        expect(copyOnce(built, 'plan', true)).toEqual({ value: built, wrappers: false });
      }),
      { numRuns: 200 },
    );
  });

  it('counts depth and nodes as the walk would: a plan at the limits is refused where plainCopy refuses it', () => {
    // The parameters sit at depth 3: a copy whose deepest object is at 60 below its top fits, 61 does not.
    const fits = plainCopy(nested(61), 'params');
    const over = plainCopy(nested(62), 'params');
    expect(isPlainCopy(plainCallPlan('a', 't', fits))).toBe(true);
    const refused = thrown(() => plainCallPlan('a', 't', over));
    const walked = thrown(() => plainCopy({ steps: [{ action: 'a', tool: 't', parameters: nested(62) }] }, 'plan', { labeled: true }));
    expect(refused).toBeInstanceOf(InputError);
    expect((refused as InputError).message).toBe((walked as InputError).message);
    // Reused inside one more level, the built plan is refused as the walked one is.
    const oneMore = (v: unknown) => thrown(() => plainCopy({ x: v }, 'outer', { labeled: true }));
    const walkedFits = plainCopy({ steps: [{ action: 'a', tool: 't', parameters: nested(61) }] }, 'plan', { labeled: true });
    expect((oneMore(plainCallPlan('a', 't', fits)) as InputError).message).toBe((oneMore(walkedFits) as InputError).message);
    // Nodes: the envelope counts 6, the parameters { items: [n zeros] } n + 2.
    const items = plainCopy(Array.from({ length: MAX_NODES - 8 }, () => 0), 'params');
    const big = plainCopy({ items }, 'params');
    expect(isPlainCopy(plainCallPlan('a', 't', big))).toBe(true);
    const bigger = plainCopy({ items: Array.from({ length: MAX_NODES - 7 }, () => 0) }, 'params');
    expect((thrown(() => plainCallPlan('a', 't', bigger)) as Error).message).toContain(`more than ${MAX_NODES}`);
    expect((thrown(() => plainCopy({ k: plainCallPlan('a', 't', big) }, 'outer')) as Error).message).toContain(`more than ${MAX_NODES}`);
  });

  it('anything but copied parameters and well-formed names goes through the walk and its refusals', () => {
    const raw = { message: 'm' };
    const built = plainCallPlan('echo', 'echo', raw) as { steps: { parameters: unknown }[] };
    expect(built.steps[0]?.parameters).not.toBe(raw);
    expect(built.steps[0]?.parameters).toEqual(raw);
    expect(Object.isFrozen(built.steps[0]?.parameters)).toBe(true);
    expect(thrown(() => plainCallPlan('echo', 'echo', { get message() { return 'm'; } }))).toBeInstanceOf(InputError);
    expect(thrown(() => plainCallPlan('echo', 'echo', new Proxy({}, {})))).toBeInstanceOf(InputError);
    expect(thrown(() => plainCallPlan('echo', 'ech\ud800', plainCopy({}, 'p')))).toBeInstanceOf(InputError);
    expect(thrown(() => plainCallPlan(Symbol('a'), 'echo', plainCopy({}, 'p')))).toBeInstanceOf(InputError);
    expect((plainCallPlan(1, 'echo', plainCopy({}, 'p')) as { steps: { action: unknown }[] }).steps[0]?.action).toBe(1);
    // A copy holding wrappers stays one: the plan's provenance check sees them.
    const tainted = plainCopy({ path: new Labeled('/x', 'external') }, 'p', { labeled: true });
    expect(copyOnce(plainCallPlan('read_file', 'fs.read', tainted), 'plan', true).wrappers).toBe(true);
  });
});

describe('canonical form', () => {
  const json = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<JsonValue>;

  it('is the canonicalize text for any JSON data; canonical exactly when every key is in code-unit order and no -0, and then parsing the text gives the same shape', () => {
    fc.assert(
      fc.property(json, (value) => {
        const copy = plainCopy(value, 'v') as JsonValue;
        const form = canonicalForm(copy);
        expect(form.text).toBe(canonicalJson(copy));
        const sameShape = (a: unknown, b: unknown): boolean => {
          if (a === null || typeof a !== 'object') return Object.is(a, b);
          if (b === null || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return false;
          const ka = Object.keys(a);
          const kb = Object.keys(b);
          return ka.join('\u0000') === kb.join('\u0000') && ka.every((k) => sameShape((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
        };
        // Integer-like keys are listed by the engine in numeric order ("9" before "10"), whatever the text says:
        // the canonical flag asks for code-unit order itself, so such an object is (conservatively) not canonical.
        const inOrder = (v: unknown): boolean => {
          if (v === null || typeof v !== 'object') return !Object.is(v, -0);
          const keys = Object.keys(v);
          return keys.every((k, i) => i === 0 || (keys[i - 1] as string) < k) && Object.values(v).every(inOrder);
        };
        expect(form.canonical).toBe(inOrder(copy));
        if (form.canonical) expect(sameShape(copy, JSON.parse(form.text))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('-0, unsorted keys and integer-like keys out of code-unit order are not canonical', () => {
    expect(canonicalForm({ a: -0 }).canonical).toBe(false);
    expect(canonicalForm({ b: 1, a: 1 }).canonical).toBe(false);
    expect(canonicalForm({ 9: 1, 10: 1 } as JsonObject).canonical).toBe(false);
    expect(canonicalForm({ a: [1, 'x', { c: null, d: true }], b: 'é☃' }).canonical).toBe(true);
  });

  it('uniformLabels gives the labels unwrap gives, in the same order, and gives up on a wrapper', () => {
    fc.assert(
      fc.property(json, (value) => {
        const copy = plainCopy(value, 'v') as JsonValue;
        const labels = uniformLabels(copy, 'user');
        const expected = unwrap(copy, 'user').labels;
        expect(labels).toEqual(expected);
        expect(Object.keys(labels ?? {})).toEqual(Object.keys(expected));
      }),
      { numRuns: 200 },
    );
    expect(uniformLabels({ a: new Labeled('x', 'external') } as unknown as JsonValue, 'user')).toBeUndefined();
  });
});

describe('plans with copied parameters', () => {
  const readStep = (parameters: unknown) => ({ action: 'read_file', tool: 'fs.read', parameters });

  it('canonical copied parameters are the step parameters; others become a canonical copy; the hash is the same either way', async () => {
    const { ape } = makeRuntime(root);
    const session = await ape.openSession({ tenant: 'acme' });
    const path = join(root, 'notes.txt');
    const canonical = plainCopy({ path }, 'params');
    const run = await ape.createRun(session);
    const intent = await run.setIntent(intentFor(root));
    const reused = await run.approvePlan({ steps: [readStep(canonical)] }, { decideAtExecution: true });
    expect(reused.steps[0]?.parameters).toBe(canonical);
    expect(reused.hash).toBe(hashJson({ intent: intent.version, steps: reused.steps } as never));

    // Keys out of canonical order: the step gets the canonical copy (keys sorted), not the caller's copy.
    const unsorted = plainCopy({ path: join(root, 'out.txt'), content: 'x' }, 'params');
    const run2 = await ape.createRun(session);
    await run2.setIntent(intentFor(root));
    const parsed = await run2.approvePlan({ steps: [{ action: 'write_file', tool: 'fs.write', parameters: unsorted }] }, { decideAtExecution: true });
    expect(parsed.steps[0]?.parameters).not.toBe(unsorted);
    expect(Object.keys(parsed.steps[0]?.parameters ?? {})).toEqual(['content', 'path']);
    expect(parsed.steps[0]?.parameters).toEqual(unsorted);
    expect(Object.isFrozen(parsed.steps[0]?.parameters)).toBe(true);
    expect(parsed.hash).toBe(hashJson({ intent: intent.version, steps: parsed.steps } as never));

    const fresh = await (await ape.createRun(session)).setIntent(intentFor(root));
    expect(fresh.version).toBe(intent.version);
    const run3 = await ape.createRun(session);
    await run3.setIntent(intentFor(root));
    const plain = await run3.approvePlan({ steps: [readStep({ path })] }, { decideAtExecution: true });
    expect(plain.hash).toBe(reused.hash);
    expect(plain.steps[0]?.parameters).toEqual(canonical);
    expect(Object.isFrozen(plain.steps[0]?.parameters)).toBe(true);
  });

  it('a plan whose copied parameters hold an untrusted wrapper, or under an untrusted source, is refused', async () => {
    const { ape, log } = makeRuntime(root);
    const session = await ape.openSession({ tenant: 'acme' });
    const tainted = plainCopy({ path: new Labeled(join(root, 'notes.txt'), 'external') }, 'params', { labeled: true });
    const run = await ape.createRun(session);
    await run.setIntent(intentFor(root));
    await expect(run.approvePlan({ steps: [readStep(tainted)] }, { decideAtExecution: true })).rejects.toBeInstanceOf(ProvenanceError);
    const clean = plainCopy({ path: join(root, 'notes.txt') }, 'params');
    await expect(run.approvePlan({ steps: [readStep(clean)] }, { source: 'external' })).rejects.toBeInstanceOf(ProvenanceError);
    await expect(run.approvePlan({ steps: [readStep(clean)] }, { source: 'model' })).rejects.toBeInstanceOf(ProvenanceError);
    // A user-labeled wrapper is trusted: the step gets the plain value, labeled by the plan's source.
    const vouched = plainCopy({ path: new Labeled(join(root, 'notes.txt'), 'user') }, 'params', { labeled: true });
    const plan = await run.approvePlan({ steps: [readStep(vouched)] }, { decideAtExecution: true });
    expect(plan.steps[0]?.parameters).toEqual({ path: join(root, 'notes.txt') });
    expect(plan.steps[0]?.parameters).not.toBe(vouched);
    expect(log).toEqual([]);
  });

  it('run events built without spreads keep the fields and their order (the JSONL bytes are unchanged)', async () => {
    const { ape, audit } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [readStep({ path: join(root, 'notes.txt') })] });
    run.start();
    await run.executeStep(0);
    await run.terminate();
    const order = (e: { intent?: string; plan?: string }) => ['ts', 'type', 'tenant', 'session', 'run', ...(e.intent ? ['intent'] : []), ...(e.plan ? ['plan'] : []), 'data'];
    const runEvents = audit.events.filter((e) => ['state.changed', 'intent.set', 'plan.approved'].includes(e.type));
    expect(runEvents.map((e) => e.type)).toEqual(['state.changed', 'intent.set', 'state.changed', 'plan.approved', 'state.changed', 'state.changed']);
    for (const e of runEvents) expect(Object.keys(e)).toEqual(order(e));
    // The first change of state happens before the intent is set; the later ones carry it, then the plan too.
    expect(runEvents[0]?.intent).toBeUndefined();
    expect(runEvents[2]?.intent).toBeDefined();
    expect(runEvents[2]?.plan).toBeUndefined();
    expect(runEvents[5]?.plan).toBe(run.plan?.hash);
    expect(runEvents[5]?.data).toEqual({ from: 'EXECUTING', to: 'TERMINATED', operation: 'terminate' });
  });

  it('a genuine intent reused by several runs and runtimes is audited redacted by each runtime\'s own sensitive names', async () => {
    const strict = makeRuntime(root, { sensitiveParams: ['owner'] });
    const loose = makeRuntime(root);
    const intent = createIntent(intentFor(root, { metadata: { owner: 'alice', api_key: 'k-123' } }), { tenant: 'acme' });
    for (const { ape } of [strict, loose, strict, loose]) {
      const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
      await run.setIntent(intent);
    }
    const shown = (sink: typeof strict.audit) => sink.events.filter((e) => e.type === 'intent.set').map((e) => (e.data?.['intent'] as { metadata: unknown }).metadata);
    expect(shown(strict.audit)).toEqual([{ owner: '[REDACTED]', api_key: '[REDACTED]' }, { owner: '[REDACTED]', api_key: '[REDACTED]' }]);
    expect(shown(loose.audit)).toEqual([{ owner: 'alice', api_key: '[REDACTED]' }, { owner: 'alice', api_key: '[REDACTED]' }]);
    expect(JSON.stringify(strict.audit.events)).not.toContain('k-123');
  });

  it('reasons quoting a secret of frozen parameters are redacted on every call, small or large, with or without secrets', () => {
    const scrub = reasonScrubber(['password']);
    const secret = plainCopy({ user: 'bob', password: 'hunter2' }, 'p') as JsonObject;
    const plain = plainCopy({ user: 'bob' }, 'p') as JsonObject;
    const large = plainCopy({ items: Array.from({ length: 100 }, (_, i) => `v${i}`), password: 'pw-large' }, 'p') as JsonObject;
    for (let i = 0; i < 3; i++) {
      expect(scrub(['password hunter2 refused for bob'], secret)).toEqual(['password [REDACTED] refused for bob']);
      expect(scrub(['bob may not'], plain)).toEqual(['bob may not']);
      expect(scrub(['pw-large is weak'], large)).toEqual(['[REDACTED] is weak']);
    }
  });

  it('a call handed out for canonical copied parameters still refuses any other parameters', async () => {
    const { ape, log } = makeRuntime(root);
    const session = await ape.openSession({ tenant: 'acme' });
    const run = await ape.createRun(session);
    await run.setIntent(intentFor(root));
    const params = plainCopy({ path: join(root, 'notes.txt') }, 'params');
    await run.approvePlan({ steps: [readStep(params)] });
    run.start();
    const auth = await run.authorize(0);
    expect(auth.call.params).toBe(params);
    const edited = { ...auth.call, params: { path: join(root, 'keys.secret') } };
    await expect(run.execute(auth.token, edited)).rejects.toBeInstanceOf(TokenMismatchError);
    // A copy made elsewhere of other parameters is not the call either.
    const other = plainCopy({ path: join(root, 'other.txt') }, 'params') as JsonObject;
    await expect(run.execute(auth.token, { ...auth.call, params: other })).rejects.toBeInstanceOf(TokenMismatchError);
    expect(log).toEqual([]);
    const result = await run.execute(auth.token, auth.call);
    expect(result.output.value).toBe('hello');
    expect(log).toHaveLength(1);
  });
});
