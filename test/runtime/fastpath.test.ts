// The fast call path keeps every check: standard HMAC, strict token text, async stores, owned parameters, plan caches, store sweeping.
import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HmacSha256 } from '../../src/runtime/hmac.js';
import {
  MemoryCounterStore,
  MemorySessionStore,
  MemorySingleUseStore,
  RateLimitExceededError,
  SessionExpiredError,
  TokenInvalidError,
  TokenReplayError,
  TokenSigner,
  type ApprovalRecord,
  type CounterStore,
  type RuntimeStores,
  type SessionStore,
  type SingleUseStore,
  type TokenClaims,
} from '../../src/runtime/index.js';
import { intentFor, makeRuntime, tempRoot } from './helpers.js';

const { root, cleanup } = tempRoot();
beforeAll(() => {
  writeFileSync(join(root, 'notes.txt'), 'notes');
  writeFileSync(join(root, 'other.txt'), 'other');
});
afterAll(cleanup);

/** Answers every store call through a promise resolved on a later macrotask (as a network store would). */
function later<T>(value: () => T): Promise<T> {
  return new Promise((resolve, reject) => setImmediate(() => {
    try {
      resolve(value());
    } catch (error) {
      reject(error as Error);
    }
  }));
}

function asyncSingleUse<T>(inner = new MemorySingleUseStore<T>()): SingleUseStore<T> {
  return {
    put: (...a) => later(() => inner.put(...a)),
    take: (...a) => later(() => inner.take(...a)),
    peek: (...a) => later(() => inner.peek(...a)),
    revoke: (...a) => later(() => inner.revoke(...a)),
  };
}

function asyncStores(): Required<RuntimeStores> {
  const sessions = new MemorySessionStore();
  const counters = new MemoryCounterStore();
  const s: SessionStore = {
    create: (r) => later(() => sessions.create(r)),
    get: (id) => later(() => sessions.get(id)),
    record: (id, e) => later(() => sessions.record(id, e)),
    revoke: (id) => later(() => sessions.revoke(id)),
    reserve: (id, v, r, now) => later(() => sessions.reserve(id, v, r, now)),
    complete: (id, e) => later(() => sessions.complete(id, e)),
  };
  const c: CounterStore = {
    consume: (checks, now) => later(() => counters.consume(checks, now)),
    value: (k, w, now) => later(() => counters.value(k, w, now)),
  };
  return { tokens: asyncSingleUse<TokenClaims>(), approvals: asyncSingleUse<ApprovalRecord>(), sessions: s, counters: c };
}

describe('HMAC-SHA256 from precomputed pads', () => {
  it('is byte-identical to createHmac on random keys and messages', () => {
    const alphabet = 'abcXYZ019-_.:{}"é€😀\u0000\n';
    for (let i = 0; i < 500; i++) {
      const key = randomBytes(1 + Math.floor(Math.random() * 150));
      const h = new HmacSha256(key);
      const length = i % 50 === 0 ? 9000 + i : Math.floor(Math.random() * 700);
      let text = '';
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(Math.random() * alphabet.length)];
      expect(h.macText(text)).toBe(createHmac('sha256', key).update(text, 'utf8').digest('base64url'));
      const bytes = randomBytes(length);
      expect(h.mac(bytes).equals(createHmac('sha256', key).update(bytes).digest())).toBe(true);
    }
  });

  it('matches the RFC 4231 test case 2 and handles keys longer than a block (case 6)', () => {
    expect(new HmacSha256(Buffer.from('Jefe')).mac(Buffer.from('what do ya want for nothing?')).toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(new HmacSha256(Buffer.alloc(131, 0xaa)).mac(Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First')).toString('hex')).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    );
  });
});

describe('token text is strict', () => {
  const signer = new TokenSigner('s'.repeat(32));
  const claims: TokenClaims = {
    id: TokenSigner.newId(), tenant: 'acme', session: 'ses_1', run: 'run_1', intent: 'sha256:aa', plan: 'sha256:bb', step: 0,
    action: 'read_file', tool: 'fs.read', params: 'sha256:cc', policy: 'sha256:dd', iat: 1, exp: 2, call: 'run_1:0',
  };
  const token = signer.sign(claims);

  it('round-trips the claims', () => {
    expect(signer.verify(token)).toEqual(claims);
  });

  it('refuses a body whose characters were swapped for others with the same low byte', () => {
    const [p, body, mac] = token.split('.') as [string, string, string];
    // U+0141 truncates to 0x41 ('A') in Latin-1; the base64url decoder would skip it.
    const swapped = `${body.slice(0, 10)}${String.fromCharCode(0x100 + body.charCodeAt(10))}${body.slice(11)}`;
    expect(() => signer.verify(`${p}.${swapped}.${mac}`)).toThrow(expect.objectContaining({ reason: 'signature' }));
  });

  it('refuses any other spelling of the MAC and extra segments', () => {
    const [p, body, mac] = token.split('.') as [string, string, string];
    for (const other of [`${mac}=`, `${mac}A`, mac.slice(0, -1), `${mac.slice(0, -1)}${String.fromCharCode(0x100 + mac.charCodeAt(42))}`, Buffer.from(mac, 'base64url').toString('base64')]) {
      if (other === mac) continue;
      expect(() => signer.verify(`${p}.${body}.${other}`)).toThrow(TokenInvalidError);
    }
    expect(() => signer.verify(`${token}.x`)).toThrow(expect.objectContaining({ reason: 'malformed' }));
    expect(() => signer.verify(`ape2.${body}.${mac}`)).toThrow(expect.objectContaining({ reason: 'malformed' }));
    expect(() => signer.verify(`x${token}`)).toThrow(expect.objectContaining({ reason: 'malformed' }));
  });
});

describe('the call path with asynchronous stores', () => {
  it('runs, refuses replays and lets exactly one of concurrent uses through', async () => {
    const { ape, log } = makeRuntime(root, { stores: asyncStores() });
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } }] });
    run.start();
    expect((await run.executeStep(0)).output.value).toBe('notes');
    const auth = await run.authorize(0);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => run.execute(auth.token, auth.call)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(TokenReplayError);
    expect(log).toHaveLength(2);
  });

  it('applies rate limits atomically and refuses a revoked session', async () => {
    const { ape, log } = makeRuntime(root, { stores: asyncStores(), rateLimits: { per_action: { read_file: { limit: 3, window_seconds: 60 } } } });
    const session = await ape.openSession({ tenant: 'acme' });
    const run = await ape.createRun(session);
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } }] });
    run.start();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => run.executeStep(0)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RateLimitExceededError);
    await ape.revokeSession(session);
    await expect(run.executeStep(0)).rejects.toBeInstanceOf(SessionExpiredError);
    expect(log).toHaveLength(3);
  });
});

describe('runtime-owned parameters and per-step caches', () => {
  it('freezes the issued call deeply and still checks a look-alike object', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [{ action: 'write_file', tool: 'fs.write', parameters: { path: join(root, 'out.txt') }, inputs: ['content'] }] });
    run.start();
    const auth = await run.authorize(0, { inputs: { content: 'hello' } });
    expect(Object.isFrozen(auth.call)).toBe(true);
    expect(Object.isFrozen(auth.call.params)).toBe(true);
    expect(() => {
      (auth.call.params as Record<string, unknown>)['content'] = 'evil';
    }).toThrow(TypeError);
    // The same content under another identity is canonicalized and hashed again (and matches).
    await run.execute(auth.token, { ...auth.call, params: { content: 'hello', path: join(root, 'out.txt') } });
    expect(log.at(-1)?.params).toEqual({ content: 'hello', path: join(root, 'out.txt') });
    const again = await run.authorize(0, { inputs: { content: 'hello' } });
    await expect(run.execute(again.token, { ...again.call, params: { content: 'hellO', path: join(root, 'out.txt') } })).rejects.toMatchObject({ field: 'params' });
  });

  it('forgets a step cache when the plan or the intent changes', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } }] });
    run.start();
    expect((await run.executeStep(0)).output.value).toBe('notes');
    await run.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'other.txt') } }] });
    run.start();
    expect((await run.executeStep(0)).output.value).toBe('other');
    // A narrower intent drops the plan; the old plan's step cannot run under it.
    await run.setIntent(intentFor(root, { allowed_actions: ['list_directory'] }));
    await expect(run.executeStep(0)).rejects.toMatchObject({ code: 'APE_RUNTIME_STATE' });
    await expect(run.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } }] })).rejects.toMatchObject({ code: 'APE_PLAN_INVALID' });
    expect(log.map((l) => (l.params as { path: string }).path)).toEqual([join(root, 'notes.txt'), join(root, 'other.txt')]);
  });
});

describe('memory single-use store sweeping', () => {
  it('forgets long-expired records, keeps live ones and still names a replay of a used one', () => {
    const store = new MemorySingleUseStore<number>();
    const scope = { tenant: 't', session: 's', run: 'r', intent: 'i', plan: 'p' };
    const old = Date.now() - 2 * 3_600_000;
    for (let i = 0; i < 2000; i++) store.put(`old${i}`, scope, old, i);
    store.put('live', scope, Date.now() + 60_000, 1);
    expect(store.take('live', Date.now())).toEqual({ status: 'ok', record: 1 });
    for (let i = 0; i < 1000; i++) store.put(`new${i}`, scope, Date.now() + 60_000, i);
    expect(store.size).toBeLessThan(2000);
    expect(store.take('live', Date.now())).toEqual({ status: 'used' });
    expect(store.peek('new999', Date.now())).toEqual({ status: 'ok', record: 999 });
  });
});
