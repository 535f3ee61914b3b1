// Redis-backed shared state: several runtimes on one real redis-server, the attacks across them, and failing closed when Redis is down.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RateLimitExceededError,
  RedisSingleUseStore,
  RuntimeConfigError,
  SessionExpiredError,
  StoreUnavailableError,
  TokenMismatchError,
  TokenReplayError,
  connectRedisStores,
  type ApeRuntime,
  type ConnectRedisOptions,
  type RedisStoresConnection,
  type RuntimeOptions,
  type Session,
} from '../../src/runtime/index.js';
import { startRedis, type TestRedis } from '../setup/redis.js';
import { fakeClock, intentFor, makeRuntime, tempRoot, type RunLog } from './helpers.js';

const KEY = 'k'.repeat(32);
const { root, cleanup } = tempRoot();
let redis: TestRedis;
const connections: RedisStoresConnection[] = [];

beforeAll(async () => {
  writeFileSync(join(root, 'notes.txt'), 'notes');
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of connections) await c.close().catch(() => {});
  await redis?.dispose();
  cleanup();
});

async function connect(url: string, options: ConnectRedisOptions): Promise<RedisStoresConnection> {
  const c = await connectRedisStores(url, options);
  connections.push(c);
  return c;
}

/** One agent process: a runtime with its own Redis connection, sharing the key and the prefix with the others. */
async function agent(prefix: string, options: Partial<RuntimeOptions> = {}, url = redis.url, store: ConnectRedisOptions = {}): Promise<{ ape: ApeRuntime; log: RunLog; conn: RedisStoresConnection }> {
  const conn = await connect(url, { prefix, ...store });
  const { ape, log } = makeRuntime(root, { stores: conn.stores, signingKey: KEY, ...options });
  return { ape, log, conn };
}

async function readyRun(ape: ApeRuntime, session?: Session) {
  const s = session ?? (await ape.openSession({ tenant: 'acme' }));
  const run = await ape.createRun(s);
  await run.setIntent(intentFor(root));
  await run.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } }] });
  run.start();
  return { run, session: s };
}

const prefix = () => `t${randomUUID()}:`;

describe('several runtimes sharing one Redis', () => {
  it('two connections racing to take the same records: exactly one take of each succeeds', async () => {
    const p = prefix();
    const [a, b] = [await connect(redis.url, { prefix: p }), await connect(redis.url, { prefix: p })];
    const scope = { tenant: 'acme', session: 's', run: 'r', intent: 'i', plan: 'p' };
    const now = Date.now();
    const ids = Array.from({ length: 100 }, (_, i) => `race${i}`);
    for (const id of ids) await a.stores.tokens.put(id, scope, now + 60_000, { id } as never);
    const results = await Promise.all(ids.flatMap((id) => [a.stores.tokens.take(id, now), b.stores.tokens.take(id, now), b.stores.tokens.take(id, now), a.stores.tokens.take(id, now)]));
    for (let i = 0; i < ids.length; i++) {
      const four = results.slice(i * 4, i * 4 + 4).map((r) => r.status);
      expect(four.filter((s) => s === 'ok'), ids[i]).toHaveLength(1);
      expect(four.filter((s) => s === 'used'), ids[i]).toHaveLength(3);
    }
  });

  it('a token copied to another runtime is refused there, and the issuing runtime runs it once under a concurrent burst', async () => {
    const p = prefix();
    const A = await agent(p);
    const B = await agent(p);
    const { run: runA, session } = await readyRun(A.ape);
    const { run: runB } = await readyRun(B.ape, session);
    const auth = await runA.authorize(0);
    const results = await Promise.allSettled([
      ...Array.from({ length: 5 }, () => runA.execute(auth.token, auth.call)),
      ...Array.from({ length: 5 }, () => runB.execute(auth.token, auth.call)),
    ]);
    expect(A.log.length + B.log.length).toBe(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const reasons = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(reasons.filter((e) => e instanceof TokenReplayError)).toHaveLength(4);
    expect(reasons.filter((e) => e instanceof TokenMismatchError && e.field === 'run')).toHaveLength(5);
  });

  it('N concurrent calls from two runtimes against a shared limit of 5: exactly 5 run', async () => {
    const p = prefix();
    const clock = fakeClock(Date.UTC(2026, 0, 1, 10));
    const limits = { rateLimits: { per_action: { read_file: { limit: 5, window_seconds: 3600 } } }, now: clock.now, sessionTtlMs: 86_400_000 };
    const A = await agent(p, limits);
    const B = await agent(p, limits);
    const { run: runA } = await readyRun(A.ape);
    const { run: runB } = await readyRun(B.ape);
    const results = await Promise.allSettled(Array.from({ length: 24 }, (_, i) => (i % 2 ? runA : runB).executeStep(0)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    expect(A.log.length + B.log.length).toBe(5);
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(errors).toHaveLength(19);
    for (const e of errors) {
      expect(e).toBeInstanceOf(RateLimitExceededError);
      expect(e).toMatchObject({ limit: 'action:read_file', max: 5, resetAt: Date.UTC(2026, 0, 1, 11) });
    }
    // Counters are tenant-qualified: another tenant has its own.
    const other = await readyRun(B.ape, await B.ape.openSession({ tenant: 'beta' }));
    await expect(other.run.executeStep(0)).resolves.toMatchObject({ action: 'read_file' });
    // The window ends for every runtime at once.
    clock.advance(3_600_000);
    await expect(runA.executeStep(0)).resolves.toMatchObject({ action: 'read_file' });
  });

  it('a token revoked by runtime A is refused by runtime B', async () => {
    const p = prefix();
    const A = await agent(p);
    const B = await agent(p);
    const { run, session } = await readyRun(B.ape);
    const one = await run.authorize(0);
    const two = await run.authorize(0);
    expect(await A.ape.revokeToken(one.token)).toBe(true);
    await expect(run.execute(one.token, one.call)).rejects.toMatchObject({ code: 'APE_TOKEN_REVOKED' });
    expect(await A.ape.revokeTokens({ session: session.id })).toBe(1);
    await expect(run.execute(two.token, two.call)).rejects.toMatchObject({ code: 'APE_TOKEN_REVOKED' });
    expect(B.log).toHaveLength(0);
    await expect(run.executeStep(0)).resolves.toMatchObject({ action: 'read_file' });
    expect(B.log).toHaveLength(1);
  });

  it('a session revoked in runtime A is expired in runtime B; its state is shared', async () => {
    const p = prefix();
    const A = await agent(p);
    const B = await agent(p);
    const session = await A.ape.openSession({ tenant: 'acme' });
    const { run } = await readyRun(B.ape, session);
    await run.executeStep(0);
    expect(await A.ape.sessionSummary(session)).toMatchObject({ state: 'active', actionsRun: 1, counts: { read_file: 1 }, lastAction: 'read_file' });
    const outstanding = await run.authorize(0);
    await A.ape.revokeSession(session);
    await expect(run.executeStep(0)).rejects.toSatisfy((e) => e instanceof SessionExpiredError && e.reason === 'revoked');
    await expect(run.execute(outstanding.token, outstanding.call)).rejects.toBeInstanceOf(SessionExpiredError);
    await expect(B.ape.createRun(session)).rejects.toBeInstanceOf(SessionExpiredError);
    // The outstanding authorization reserved its action too (reservations happen before the tool runs).
    expect(await B.ape.sessionSummary(session)).toMatchObject({ state: 'revoked', actionsRun: 2 });
    expect(B.log).toHaveLength(1);
    // A session of one tenant used under another is refused across runtimes too.
    const theirs = await A.ape.openSession({ tenant: 'beta' });
    await expect(B.ape.createRun(theirs, 'acme')).rejects.toMatchObject({ code: 'APE_TENANT_MISMATCH' });
  });

  it('replay after a restart: a new runtime on the same Redis and key refuses the used token and can revoke a dead run\'s outstanding ones', async () => {
    const p = prefix();
    const A = await agent(p);
    const { run, session } = await readyRun(A.ape);
    const used = await run.authorize(0);
    await run.execute(used.token, used.call);
    const outstanding = await run.authorize(0);
    await A.conn.close(); // the process is gone
    const A2 = await agent(p);
    const { run: run2 } = await readyRun(A2.ape, session);
    await expect(run2.execute(used.token, used.call)).rejects.toMatchObject({ code: 'APE_TOKEN_MISMATCH' });
    // The shared store still names the used token a replay, and the revocation sees the outstanding one.
    const tokens = new RedisSingleUseStore(A2.conn.client, 'tokens', { prefix: p });
    expect(await tokens.take(used.tokenId, Date.now())).toEqual({ status: 'used' });
    expect(await A2.ape.revokeToken(used.token)).toBe(false);
    expect(await A2.ape.revokeTokens({ run: run.id })).toBe(1);
    expect(await tokens.peek(outstanding.tokenId, Date.now())).toEqual({ status: 'revoked' });
    expect(A.log.length + A2.log.length).toBe(1);
  });
});

describe('approvals in Redis', () => {
  it('an approval runs its call once, only that call; an approver\'s edit survives the store and is decided again', async () => {
    const p = prefix();
    writeFileSync(join(root, 'a.log'), 'a');
    writeFileSync(join(root, 'b.log'), 'b');
    const A = await agent(p);
    const s = await A.ape.openSession({ tenant: 'acme' });
    const run = await A.ape.createRun(s);
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [
      { action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'a.log') } },
      { action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'b.log') } },
    ] });
    run.start();
    const pending = (await run.executeStep(0).catch((e: unknown) => e)) as { requestId: string };
    const approvals = new RedisSingleUseStore<{ status: string }>(A.conn.client, 'approvals', { prefix: p });
    expect(await approvals.peek(pending.requestId, Date.now())).toMatchObject({ status: 'ok', record: { status: 'pending' } });
    const approval = await A.ape.resolveEscalation(pending.requestId, { approved: true, approver: 'alice' });
    await expect(run.executeStep(1, { approval })).rejects.toMatchObject({ code: 'APE_APPROVAL_INVALID', reason: 'mismatch' });
    await run.executeStep(0, { approval });
    await expect(run.executeStep(0, { approval })).rejects.toMatchObject({ code: 'APE_APPROVAL_REPLAY' });
    expect(A.log.map((l) => l.params)).toEqual([{ path: join(root, 'a.log') }]);

    // An approver who edits the call to a forbidden one: the edited call comes back from Redis and is denied.
    writeFileSync(join(root, 'x.secret'), 's');
    const B = await agent(p, { approvalHandler: async () => ({ approved: true, approver: 'mallory', params: { path: join(root, 'x.secret') } }) });
    const runB = await B.ape.createRun(await B.ape.openSession({ tenant: 'acme' }));
    await runB.setIntent(intentFor(root));
    await runB.approvePlan({ steps: [{ action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'b.log') } }] });
    runB.start();
    await expect(runB.executeStep(0)).rejects.toMatchObject({ code: 'APE_POLICY_DENY', rule: 'no-secrets' });
    expect(B.log).toHaveLength(0);
  });
});

describe('Redis key layout', () => {
  it('every key carries the prefix and a hash tag (tenant, session or record id); used and revoked records leave the indexes', async () => {
    const own = await startRedis();
    try {
      const p = 'app1:';
      const A = await agent(p, { rateLimits: { global: { limit: 100, window_seconds: 60 } } }, own.url);
      const { run } = await readyRun(A.ape);
      await run.executeStep(0);
      const dangling = await run.authorize(0);
      const keys = await A.conn.client.keys('*');
      expect(keys.length).toBeGreaterThan(5);
      expect(keys.filter((k) => !k.startsWith(p))).toEqual([]);
      // Every key but the tenants list carries a {tag}: what one script touches is in one cluster slot.
      expect(keys.filter((k) => !/\{[^}]+\}/.test(k))).toEqual([`${p}tokens:tenants`]);
      expect(keys.some((k) => k.startsWith(`${p}c:{acme}:acme\u0000`))).toBe(true);
      expect(keys).toContain(`${p}s:{${run.session.id}}`);
      expect(keys).toContain(`${p}tokens:{acme}:r:${dangling.tokenId}`);
      expect(await A.conn.client.get(`${p}tokens:t:{${dangling.tokenId}}`)).toBe('acme');
      expect(await A.conn.client.sMembers(`${p}tokens:{acme}:i:all`)).toEqual([dangling.tokenId]);
      await run.terminate();
      expect(await A.conn.client.sCard(`${p}tokens:{acme}:i:all`)).toBe(0);
      expect(await A.conn.client.sCard(`${p}tokens:{acme}:i:run:${run.id}`)).toBe(0);

      // Records Redis already forgot are pruned from the indexes by later puts.
      const store = new RedisSingleUseStore<number>(A.conn.client, 'gc', { prefix: p, retainMs: 1 });
      const scope = { tenant: 'acme', session: 's', run: 'r', intent: 'i', plan: 'p' };
      for (let i = 0; i < 300; i++) await store.put(`old${i}`, scope, Date.now() - 1000, i);
      while ((await A.conn.client.exists(`${p}gc:{acme}:r:old299`)) === 1) await new Promise((r) => setTimeout(r, 5));
      for (let i = 0; i < 300; i++) await store.put(`new${i}`, scope, Date.now() + 60_000, i);
      expect(await A.conn.client.sCard(`${p}gc:{acme}:i:all`)).toBeLessThan(450);
      expect(await store.revoke({ tenant: 'acme' })).toBe(300);
      expect(await A.conn.client.sCard(`${p}gc:{acme}:i:tenant:acme`)).toBe(0);
    } finally {
      await own.dispose();
    }
  });

  it('bad options are a typed error; an unreachable server is StoreUnavailableError', async () => {
    await expect(connectRedisStores(redis.url, { timeoutMs: -1 })).rejects.toBeInstanceOf(RuntimeConfigError);
    await expect(connectRedisStores(redis.url, { historyLimit: 1.5 })).rejects.toBeInstanceOf(RuntimeConfigError);
    const gone = await startRedis();
    await gone.dispose();
    await expect(connectRedisStores(gone.url, { connectTimeoutMs: 300 })).rejects.toSatisfy((e) => e instanceof StoreUnavailableError && e.code === 'APE_STORE_UNAVAILABLE');
  });
});

describe('Redis down: every call fails closed', () => {
  it('a stopped server: calls fail with StoreUnavailableError and no tool runs; after a restart the lost state is refused and new work runs', async () => {
    const own = await startRedis();
    try {
      const A = await agent(prefix(), { rateLimits: { global: { limit: 100 } } }, own.url, { timeoutMs: 1000 });
      const { run, session } = await readyRun(A.ape);
      await run.executeStep(0);
      const outstanding = await run.authorize(0);
      await own.stop();
      const down = { code: 'APE_STORE_UNAVAILABLE' };
      await expect(run.executeStep(0)).rejects.toMatchObject(down);
      await expect(run.authorize(0)).rejects.toMatchObject(down);
      await expect(run.execute(outstanding.token, outstanding.call)).rejects.toMatchObject(down);
      await expect(A.ape.openSession({ tenant: 'acme' })).rejects.toMatchObject(down);
      await expect(A.ape.createRun(session)).rejects.toMatchObject(down);
      await expect(A.ape.revokeTokens({ all: true })).rejects.toMatchObject(down);
      await expect(A.ape.revokeSession(session)).rejects.toMatchObject(down);
      expect(A.log).toHaveLength(1);

      await own.restart();
      for (let i = 0; i < 400 && !A.conn.client.isReady; i++) await new Promise((r) => setTimeout(r, 25));
      expect(A.conn.client.isReady).toBe(true);
      // Nothing was persisted: the old session and token are gone, and gone means refused.
      await expect(run.execute(outstanding.token, outstanding.call)).rejects.toSatisfy((e) => e instanceof SessionExpiredError && e.reason === 'unknown');
      await expect(run.executeStep(0)).rejects.toBeInstanceOf(SessionExpiredError);
      expect(A.log).toHaveLength(1);
      // The scripts are loaded again (NOSCRIPT, then EVAL) and new work runs.
      const fresh = await readyRun(A.ape);
      await expect(fresh.run.executeStep(0)).resolves.toMatchObject({ action: 'read_file' });
      expect(A.log).toHaveLength(2);
    } finally {
      await own.dispose();
    }
  });

  it('a frozen server: the call times out with StoreUnavailableError, the tool does not run, and the refusal is audited', async () => {
    const own = await startRedis();
    try {
      const conn = await connect(own.url, { prefix: prefix(), timeoutMs: 300 });
      const { ape, log, audit } = makeRuntime(root, { stores: conn.stores, signingKey: KEY });
      const { run } = await readyRun(ape);
      const auth = await run.authorize(0);
      own.pause();
      try {
        await expect(run.execute(auth.token, auth.call)).rejects.toSatisfy((e) => e instanceof StoreUnavailableError && e.reason === 'timeout');
        await expect(run.executeStep(0)).rejects.toSatisfy((e) => e instanceof StoreUnavailableError && e.reason === 'timeout');
      } finally {
        own.resume();
      }
      expect(log).toHaveLength(0);
      expect(audit.events.filter((e) => e.type === 'token.refused').map((e) => (e.data as { code: string }).code)).toEqual(['APE_STORE_UNAVAILABLE']);
      // The token was never taken: once Redis answers again it runs, once.
      await run.execute(auth.token, auth.call);
      await expect(run.execute(auth.token, auth.call)).rejects.toBeInstanceOf(TokenReplayError);
      expect(log).toHaveLength(1);
    } finally {
      await own.dispose();
    }
  });
});
