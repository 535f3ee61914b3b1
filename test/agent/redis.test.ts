// Agent sessions and guarded calls over Redis stores (a real redis-server started here): two Apes share a session's usage; pending approvals resume across the store.
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ape } from '../../src/agent/index.js';
import { connectRedisStores, type RedisStoresConnection } from '../../src/runtime/index.js';
import { startRedis, type TestRedis } from '../setup/redis.js';
import { agentPolicy, workspace } from './helpers.js';

const { root, cleanup } = workspace();
let redis: TestRedis;
const connections: RedisStoresConnection[] = [];
const apes: Ape[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const a of apes) await a.close();
  for (const c of connections) await c.close().catch(() => {});
  await redis?.dispose();
  cleanup();
});

async function agent(prefix: string): Promise<Ape> {
  const conn = await connectRedisStores(redis.url, { prefix });
  connections.push(conn);
  const ape = await Ape.fromPolicy(agentPolicy(root), { stores: conn.stores, signingKey: 'k'.repeat(32) });
  apes.push(ape);
  ape.tool<{ path: string }, string>('read_file', (p) => readFileSync(p.path, 'utf8'), { name: 'fs.read' });
  ape.tool<{ path: string }, string>('delete_file', (p) => (unlinkSync(p.path), p.path), { name: 'fs.delete' });
  return ape;
}

describe('agent layer on Redis stores', () => {
  it('sessions live in Redis: usage counted, guarded calls and prompts run, escalations pend and resume', async () => {
    writeFileSync(join(root, 'notes.md'), 'n');
    writeFileSync(join(root, 'old.tmp'), 'o');
    const ape = await agent('agent-a:');
    const s = ape.createSession({ userId: 'u', ttlMinutes: 5 });
    expect((await s.execute('Read notes.md', { workspace: root })).status).toBe('completed');
    const read = ape.guard<{ path: string }, string>('read_file', (p) => readFileSync(p.path, 'utf8'), { session: s, tool: 'fs.read2' });
    expect(await read({ path: join(root, 'notes.md') })).toBe('n');
    const usage = await s.usageSummary();
    expect(usage).toMatchObject({ actionsRun: 2, counts: { read_file: 2 }, userId: 'u' });
    const pending = await s.execute('Delete old.tmp', { workspace: root });
    expect(pending.status).toBe('pending_approval');
    expect(existsSync(join(root, 'old.tmp'))).toBe(true);
    const done = await ape.resume(pending, { [pending.pending[0]?.requestId as string]: { approved: true, approver: 'ops' } });
    expect(done.status).toBe('completed');
    expect(existsSync(join(root, 'old.tmp'))).toBe(false);
    await s.revoke();
    expect((await s.execute('Read notes.md', { workspace: root })).error?.code).toBe('APE_SESSION_EXPIRED');
  });
});
