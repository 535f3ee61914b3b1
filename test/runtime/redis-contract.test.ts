// The state-store contract on both implementations: in-memory stores and Redis stores on a real redis-server.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import {
  MemoryCounterStore,
  MemorySessionStore,
  MemorySingleUseStore,
  RedisCounterStore,
  RedisSessionStore,
  RedisSingleUseStore,
  connectRedisStores,
  type RedisStoresConnection,
} from '../../src/runtime/index.js';
import { startRedis, type TestRedis } from '../setup/redis.js';
import { describeStoreContract } from './stores.contract.js';

describeStoreContract('memory', () => ({
  singleUse: () => new MemorySingleUseStore(),
  counters: () => new MemoryCounterStore(),
  sessions: (historyLimit) => new MemorySessionStore(historyLimit),
}));

let redis: TestRedis;
let connection: RedisStoresConnection;
beforeAll(async () => {
  redis = await startRedis();
  connection = await connectRedisStores(redis.url);
});
afterAll(async () => {
  await connection?.close();
  await redis?.dispose();
});

describeStoreContract('redis', () => {
  // A fresh namespace per test on the shared server.
  const prefix = `t${randomUUID()}:`;
  return {
    singleUse: (name) => new RedisSingleUseStore(connection.client, name, { prefix }),
    counters: () => new RedisCounterStore(connection.client, { prefix }),
    sessions: (historyLimit) => new RedisSessionStore(connection.client, { prefix, historyLimit }),
  };
});
