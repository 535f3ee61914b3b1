// Redis for several processes (issue 10): round trips per call, a real 3-primary Redis Cluster, quota retention, run resume.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApeRuntime,
  MemoryCounterStore,
  PolicyDenyError,
  QuotaExhaustedError,
  RedisCounterStore,
  RunNotResumableError,
  TokenMismatchError,
  TokenReplayError,
  connectRedisStores,
  redisClusterStores,
  redisStores,
  type RedisScriptClient,
  type RedisStoresConnection,
  type Run,
} from '../../src/runtime/index.js';
import { compilePolicySource } from '../../src/compiler/compile.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { freePort } from '../setup/ports.js';
import { requireRedisServer, startRedis, type TestRedis } from '../setup/redis.js';
import { intentFor, makeRuntime, tempRoot } from './helpers.js';

const { root, cleanup } = tempRoot();
const KEY = 'k'.repeat(32);
let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
  writeFileSync(join(root, 'notes.txt'), 'notes');
});
afterAll(async () => {
  await redis.dispose();
  cleanup();
});

async function readyRun(ape: ApeRuntime, tenant = 'acme'): Promise<Run> {
  const run = await ape.createRun(await ape.openSession({ tenant }));
  await run.setIntent(intentFor(root));
  await run.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } }] });
  run.start();
  return run;
}

/** A client that counts the scripts it sends (each is one round trip). */
function counting(client: RedisScriptClient): { client: RedisScriptClient; count: () => number; reset: () => void } {
  let n = 0;
  return {
    client: {
      get isReady() {
        return client.isReady;
      },
      eval: (s, o) => (n++, client.eval(s, o)),
      evalSha: (s, o) => (n++, client.evalSha(s, o)),
    },
    count: () => n,
    reset: () => (n = 0),
  };
}

describe('round trips per call with Redis stores', () => {
  it('executeStep costs at most two round trips per call once the run is going', async () => {
    const conn = await connectRedisStores(redis.url, { prefix: `rt${randomUUID()}:` });
    try {
      const counter = counting(conn.client as unknown as RedisScriptClient);
      const { ape, log } = makeRuntime(root, { stores: redisStores(counter.client, { prefix: `rt${randomUUID()}:` }), signingKey: KEY });
      const run = await readyRun(ape);
      await run.executeStep(0);
      counter.reset();
      for (let i = 0; i < 10; i++) await run.executeStep(0);
      expect(counter.count()).toBeLessThanOrEqual(20);
      expect(log).toHaveLength(11);
      // The session's facts are right: every call counted once.
      expect(await ape.sessionSummary(run.session)).toMatchObject({ actionsRun: 11, counts: { read_file: 11 } });
    } finally {
      await conn.close();
    }
  });

  it('a decision made on a cached session record that another process changed is decided again (compare-and-set)', async () => {
    const prefix = `cas${randomUUID()}:`;
    const policy = `
name: cap
default_decision: deny
rules:
  - id: read
    action: read_file
    decision: allow
  - id: cap
    action: read_file
    decision: deny
    conditions:
      context.session.actions_run: { min: 3 }
`;
    const conns: RedisStoresConnection[] = [];
    try {
      const make = async () => {
        const conn = await connectRedisStores(redis.url, { prefix });
        conns.push(conn);
        const ape = new ApeRuntime({ evaluator: new NativeEvaluator(compilePolicySource(policy)), stores: conn.stores, signingKey: KEY });
        ape.registerTool({ name: 'r', action: 'read_file', run: () => 'ok' });
        return ape;
      };
      const A = await make();
      const B = await make();
      const session = await A.openSession({ tenant: 'acme' });
      const start = async (ape: ApeRuntime) => {
        const run = await ape.createRun(session);
        await run.setIntent({ allowed_actions: ['read_file'] });
        await run.approvePlan({ steps: [{ action: 'read_file', tool: 'r', parameters: { path: '/x' } }] });
        run.start();
        return run;
      };
      const a = await start(A);
      const b = await start(B);
      await a.executeStep(0); // a caches version 1
      await b.executeStep(0);
      await b.executeStep(0); // the session is at 3 actions now; a's cache says 1
      await expect(a.executeStep(0)).rejects.toBeInstanceOf(PolicyDenyError);
      expect(await A.sessionSummary(session)).toMatchObject({ actionsRun: 3 });
    } finally {
      for (const c of conns) await c.close();
    }
  });
});

describe('cumulative risk under concurrency, Redis stores (issue 10, hole 4)', () => {
  it('20 parallel calls from two processes under a cumulative-risk cap of two calls let exactly 2 through', async () => {
    const prefix = `risk${randomUUID()}:`;
    const policy = `
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
    const conns = [await connectRedisStores(redis.url, { prefix }), await connectRedisStores(redis.url, { prefix })];
    try {
      let ran = 0;
      const apes = conns.map((conn) => {
        const ape = new ApeRuntime({ evaluator: new NativeEvaluator(compilePolicySource(policy)), stores: conn.stores, signingKey: KEY });
        ape.registerTool({ name: 'slow.read', action: 'read_file', run: async () => { await new Promise((r) => setTimeout(r, 5)); ran++; return 'ok'; } });
        return ape;
      });
      const session = await apes[0]!.openSession({ tenant: 'acme' });
      const runs = await Promise.all(apes.map(async (ape) => {
        const run = await ape.createRun(session);
        await run.setIntent({ allowed_actions: ['read_file'] });
        await run.approvePlan({ steps: [{ action: 'read_file', tool: 'slow.read', parameters: { path: '/srv/a' } }] });
        run.start();
        return run;
      }));
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => runs[i % 2]!.executeStep(0)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      expect(ran).toBe(2);
      expect((await apes[1]!.sessionSummary(session)).cumulativeRisk).toBe(4);
    } finally {
      for (const c of conns) await c.close();
    }
  });
});

describe('quota retention', () => {
  it('per-session quotas expire with their session (plus a grace hour) in memory and in Redis; tenant-wide quotas stay', async () => {
    // Memory: the counters of a session are forgotten once it is long over.
    const memory = new MemoryCounterStore();
    const T0 = Date.now();
    const session = { key: 'acme\u0000code\u0000ses_1\u0000session', name: 'session', limit: 5, windowMs: 0, cost: 1, retainMs: 60_000 };
    const tenant = { key: 'acme\u0000code\u0000\u0000global', name: 'global', limit: 1000, windowMs: 0, cost: 1 };
    expect(memory.consume([session, tenant], T0)).toEqual({ ok: true });
    expect(memory.value(session.key, 0, T0 + 59_000)).toBe(1);
    expect(memory.value(session.key, 0, T0 + 61_000)).toBe(0);
    expect(memory.value(tenant.key, 0, T0 + 10 * 86_400_000)).toBe(1);
    // Redis: the key carries the retention as its TTL; the tenant-wide quota has none.
    const conn = await connectRedisStores(redis.url, { prefix: `q${randomUUID()}:` });
    try {
      const store = new RedisCounterStore(conn.client, { prefix: 'qr:' });
      await store.consume([session, tenant], T0);
      const keys = await conn.client.keys('qr:c:*');
      const ttls = Object.fromEntries(await Promise.all(keys.map(async (k) => [k.includes('ses_1') ? 'session' : 'tenant', await conn.client.pTTL(k)] as const)));
      expect(ttls['session']).toBeGreaterThan(50_000);
      expect(ttls['session']).toBeLessThanOrEqual(60_000);
      expect(ttls['tenant']).toBe(-1);
      await conn.client.del(keys);
    } finally {
      await conn.close();
    }
  });

  it('the runtime gives per-session quotas the session lifetime: still enforced while the session lives', async () => {
    const conn = await connectRedisStores(redis.url, { prefix: `qs${randomUUID()}:` });
    try {
      const { ape } = makeRuntime(root, { stores: conn.stores, signingKey: KEY, rateLimits: { per_session: { limit: 2 } } });
      const run = await readyRun(ape);
      await run.executeStep(0);
      await run.executeStep(0);
      await expect(run.executeStep(0)).rejects.toBeInstanceOf(QuotaExhaustedError);
      const keys = (await conn.client.keys('*')).filter((k) => k.includes(':c:') && k.includes(run.session.id));
      expect(keys).toHaveLength(1);
      const ttl = await conn.client.pTTL(keys[0] as string);
      // Session lifetime (one hour by default) plus the grace hour.
      expect(ttl).toBeGreaterThan(3_600_000);
      expect(ttl).toBeLessThanOrEqual(7_200_000);
    } finally {
      await conn.close();
    }
  });
});

describe('a run resumed by another process', () => {
  it('is refused with RunNotResumableError; a new run in the shared session continues, the old tokens do not', async () => {
    const prefix = `res${randomUUID()}:`;
    const a = await connectRedisStores(redis.url, { prefix });
    const b = await connectRedisStores(redis.url, { prefix });
    try {
      const A = makeRuntime(root, { stores: a.stores, signingKey: KEY });
      const B = makeRuntime(root, { stores: b.stores, signingKey: KEY });
      const run = await readyRun(A.ape);
      await run.executeStep(0);
      const outstanding = await run.authorize(0);
      await expect(B.ape.resumeRun(run.session, run.id)).rejects.toBeInstanceOf(RunNotResumableError);
      const next = await B.ape.createRun(run.session);
      await next.setIntent(intentFor(root));
      await next.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } }] });
      next.start();
      await next.executeStep(0);
      await expect(next.execute(outstanding.token, outstanding.call)).rejects.toBeInstanceOf(TokenMismatchError);
      expect(await B.ape.revokeTokens({ run: run.id })).toBe(1);
      expect(await B.ape.sessionSummary(run.session)).toMatchObject({ actionsRun: 3 });
      expect(A.log.length + B.log.length).toBe(2);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

/** Three redis-server primaries on loopback, joined into one cluster (slots split in three), stopped by `dispose`. */
async function startCluster(): Promise<{ urls: string[]; dispose: () => Promise<void> }> {
  requireRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'ape-cluster-'));
  const procs: ChildProcess[] = [];
  const ports: number[] = [];
  const buses: number[] = [];
  const dispose = async () => {
    await Promise.all(procs.map((p) => (p.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => { p.once('exit', () => r()); p.kill('SIGTERM'); }))));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const bus = await freePort();
      const node = join(dir, String(i));
      const proc = spawn(process.env['APE_REDIS_SERVER'] ?? 'redis-server', [
        '--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', `${node}-nodes.conf`, '--dir', dir, '--save', '', '--appendonly', 'no', '--loglevel', 'warning',
      ], { stdio: 'ignore' });
      procs.push(proc);
      ports.push(port);
      buses.push(bus);
    }
    const clients = [];
    for (const port of ports) {
      const c = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: (n: number) => (n > 100 ? false : 20) } });
      c.on('error', () => {});
      await c.connect();
      clients.push(c);
    }
    const SLOTS = 16384;
    for (const [i, c] of clients.entries()) {
      const from = Math.floor((SLOTS * i) / 3);
      const to = Math.floor((SLOTS * (i + 1)) / 3) - 1;
      await c.sendCommand(['CLUSTER', 'ADDSLOTSRANGE', String(from), String(to)]);
    }
    // The bus ports are not port + 10000 here: MEET names them.
    for (let i = 1; i < ports.length; i++) await clients[0]!.sendCommand(['CLUSTER', 'MEET', '127.0.0.1', String(ports[i]), String(buses[i])]);
    for (let tries = 0; ; tries++) {
      const states = await Promise.all(clients.map((c) => c.sendCommand(['CLUSTER', 'INFO']) as Promise<string>));
      if (states.every((s) => s.includes('cluster_state:ok') && s.includes('cluster_known_nodes:3'))) break;
      if (tries > 300) throw new Error(`the test cluster did not form: ${states.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const c of clients) await c.close();
    return { urls: ports.map((p) => `redis://127.0.0.1:${p}`), dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

describe('Redis Cluster (three primaries on loopback)', () => {
  it('the runtime runs on a real cluster: sessions, risk, tokens, approvals, revocation and rate limits across shards', async () => {
    const cluster = await startCluster();
    const client = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })), defaults: { socket: { reconnectStrategy: false } } });
    client.on('error', () => {});
    await client.connect();
    try {
      const prefix = `cl${randomUUID()}:`;
      const stores = () => redisClusterStores(client as never, { prefix });
      const A = makeRuntime(root, { stores: stores(), signingKey: KEY, rateLimits: { per_session: { limit: 100 }, global: { limit: 1000, window_seconds: 60 } } });
      const B = makeRuntime(root, { stores: stores(), signingKey: KEY, rateLimits: { per_session: { limit: 100 }, global: { limit: 1000, window_seconds: 60 } } });
      // Many tenants and sessions, so the keys spread over the three shards.
      const runs: Run[] = [];
      for (let i = 0; i < 6; i++) runs.push(await readyRun(A.ape, `tenant${i}`));
      for (const run of runs) await run.executeStep(0);
      const auths = await Promise.all(runs.map((r) => r.authorize(0)));
      // Runtime B (another process on the same cluster) sees A's tokens as used once taken.
      for (const [i, run] of runs.entries()) await run.execute(auths[i]!.token, auths[i]!.call);
      for (const [i, run] of runs.entries()) await expect(run.execute(auths[i]!.token, auths[i]!.call)).rejects.toBeInstanceOf(TokenReplayError);
      expect(await B.ape.sessionSummary(runs[0]!.session)).toMatchObject({ actionsRun: 2 });
      // Revocation by tenant, by run (with the tenant known) and without a tenant (walks every tenant's shard).
      const outstanding = await Promise.all(runs.map((r) => r.authorize(0)));
      expect(await B.ape.revokeTokens({ tenant: 'tenant0' })).toBe(1);
      expect(await B.ape.revokeTokens({ run: runs[1]!.id })).toBe(1);
      expect(await B.ape.revokeTokens({ all: true })).toBe(4);
      for (const [i, run] of runs.entries()) await expect(run.execute(outstanding[i]!.capability, outstanding[i]!.call)).rejects.toMatchObject({ reason: 'revoked' });
      // Escalation and approval through the cluster.
      writeFileSync(join(root, 'gone.txt'), 'x');
      const run = await A.ape.createRun(await A.ape.openSession({ tenant: 'tenant9' }));
      await run.setIntent(intentFor(root));
      await run.approvePlan({ steps: [{ action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'gone.txt') } }] });
      run.start();
      const pending = (await run.executeStep(0).catch((e: unknown) => e)) as { requestId: string };
      const approval = await B.ape.resolveEscalation(pending.requestId, { approved: true, approver: 'alice' });
      await run.executeStep(0, { approval });
      expect(A.log.filter((l) => l.tool === 'fs.delete')).toHaveLength(1);
      // The keys did spread: every primary holds some.
      const counts = await Promise.all(cluster.urls.map(async (url) => {
        const c = createClient({ url });
        await c.connect();
        const n = await c.dbSize();
        await c.close();
        return n;
      }));
      expect(counts.every((n) => n > 0)).toBe(true);
    } finally {
      await client.close();
      await cluster.dispose();
    }
  }, 60_000);
});
