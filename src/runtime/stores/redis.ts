/**
 * Redis state stores: tokens, approvals, counters and sessions shared by several agent processes.
 * Every atomic operation is one Lua script (see `redis-scripts.ts`), so it is one step on the server.
 *
 * Layout (P = the prefix, default `ape:`), hash-tagged so that every script touches keys of one
 * slot and the stores work on Redis Cluster as on a standalone server. Single-use records live per
 * tenant: the hash `P<store>:{<tenant>}:r:<id>`, indexed in the sets `P<store>:{<tenant>}:i:all` and
 * `P<store>:{<tenant>}:i:<field>:<value>` (session, run, intent, plan), so revocation by filter is
 * one script on the tenant's slot walking one index. `P<store>:t:{<id>}` names a record's tenant
 * (for callers that only know the id) and `P<store>:tenants` lists the tenants (for revocations
 * without a tenant). A counter is the hash `P c:{<tenant>}:<key>` (every counter of one call shares
 * the tenant's slot). A session is `P s:{<id>}` (scalars), `P s:{<id>}:c` (counts) and
 * `P s:{<id>}:h` (history). Records and sessions expire in Redis `retainMs` after their own expiry
 * (by the wall clock), windowed counters one window after theirs; quotas with a retention that long
 * after their last use, other quotas never.
 */
import type { createClient } from 'redis';
import type { JsonObject } from '../../compiler/ir.js';
import type { ApprovalRecord } from '../escalation.js';
import { RuntimeConfigError } from '../errors.js';
import type { RuntimeStores } from '../runtime.js';
import type { TokenClaims } from '../tokens.js';
import { ScriptRunner, StoreUnavailableError, type RedisScriptClient } from './redis-client.js';
import {
  CONSUME, MEMBERS, NOTE, PUT, REVOKE, SCOPE_FIELDS, SESSION_COMPLETE, SESSION_CREATE, SESSION_GET, SESSION_RECORD, SESSION_RESERVE, SESSION_REVOKE, TAKE, TENANT_OF, VALUE,
} from './redis-scripts.js';
import type {
  CounterCheck,
  CounterResult,
  CounterStore,
  RecordScope,
  Reservation,
  ReserveResult,
  RevokeFilter,
  SessionEntry,
  SessionRecord,
  SessionStore,
  SingleUseStore,
  TakeResult,
} from './types.js';

export { StoreUnavailableError, type RedisScriptClient } from './redis-client.js';

/** Options of the Redis stores. */
export interface RedisStoreOptions {
  /** Prefix of every key (default `ape:`); separate deployments sharing a server use different prefixes. */
  prefix?: string;
  /** How long a store operation may take before it fails with `StoreUnavailableError` (default 2000 ms). */
  timeoutMs?: number;
  /** How long used, revoked and expired records and sessions are kept after they expire, so a late replay is still named one (default one hour). */
  retainMs?: number;
  /**
   * Session history entries kept (default 20, what the session summary shows; counts and totals are
   * always complete). Every session read carries the history, so a longer one costs every call.
   */
  historyLimit?: number;
}

const DEFAULT_PREFIX = 'ape:';
const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_RETAIN_MS = 3_600_000;
const DEFAULT_HISTORY = 20;
/** Longest key lifetime set (ten years): a record that never expires is still garbage-collected eventually. */
const MAX_TTL_MS = 10 * 365 * 86_400_000;

interface Settings {
  prefix: string;
  timeoutMs: number;
  retainMs: number;
  historyLimit: number;
}

function settings(options: RedisStoreOptions): Settings {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string') throw new RuntimeConfigError('redis prefix must be a string');
  const positive = (name: string, value: number | undefined, fallback: number, integer = false): number => {
    const v = value ?? fallback;
    if (!(Number.isFinite(v) && v > 0) || (integer && !Number.isInteger(v))) throw new RuntimeConfigError(`redis ${name} must be a positive ${integer ? 'integer' : 'number'}`);
    return v;
  };
  return {
    prefix,
    timeoutMs: positive('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS),
    retainMs: positive('retainMs', options.retainMs, DEFAULT_RETAIN_MS),
    historyLimit: positive('historyLimit', options.historyLimit, DEFAULT_HISTORY, true),
  };
}

/** Milliseconds a key lives in Redis: until `expiresAt` by the wall clock, plus `retainMs`. */
function keyTtl(expiresAt: number, retainMs: number): string {
  const left = expiresAt - Date.now();
  const ttl = Number.isNaN(left) ? retainMs : Math.min(MAX_TTL_MS, Math.max(0, Math.ceil(left)) + retainMs);
  return String(ttl);
}

/**
 * Single-use records (authority tokens, approvals) in Redis. `name` separates stores on one server
 * (`tokens`, `approvals`). Records must be JSON values; they are stored as JSON text.
 */
export class RedisSingleUseStore<T> implements SingleUseStore<T> {
  readonly #runner: ScriptRunner;
  readonly #prefix: string;
  readonly #retainMs: number;
  readonly #name: string;

  constructor(client: RedisScriptClient, name: string, options: RedisStoreOptions = {}) {
    const s = settings(options);
    if (typeof name !== 'string' || name.length === 0 || name.includes(':')) throw new RuntimeConfigError('a redis single-use store needs a name without ":"');
    this.#runner = new ScriptRunner(client, s.timeoutMs);
    this.#prefix = `${s.prefix}${name}:`;
    this.#retainMs = s.retainMs;
    this.#name = name;
  }

  async put(id: string, scope: RecordScope, expiresAt: number, record: T): Promise<void> {
    const text = JSON.stringify(record);
    if (text === undefined) throw new RuntimeConfigError(`${this.#name}: a record must be a JSON value`);
    const base = this.#base(scope.tenant);
    const ttl = keyTtl(expiresAt, this.#retainMs);
    // Three keys in three slots, sent together (one round trip on a pipelining client).
    await Promise.all([
      this.#runner.run(`${this.#name}.put`, PUT, [`${base}r:${id}`], [base, id, String(expiresAt), ttl, text, ...SCOPE_FIELDS.map((f) => String(scope[f]))]),
      this.#runner.run(`${this.#name}.put`, NOTE, [this.#tenantKey(id)], ['set', scope.tenant, ttl]),
      this.#runner.run(`${this.#name}.put`, NOTE, [`${this.#prefix}tenants`], ['add', scope.tenant, ttl]),
    ]);
  }

  take(id: string, now: number, tenant?: string): Promise<TakeResult<T>> {
    return this.#status(id, now, 'take', tenant);
  }

  peek(id: string, now: number, tenant?: string): Promise<TakeResult<T>> {
    return this.#status(id, now, 'peek', tenant);
  }

  async #status(id: string, now: number, mode: 'take' | 'peek', known: string | undefined): Promise<TakeResult<T>> {
    const tenant = known ?? (await this.#tenantOf(id));
    if (tenant === undefined) return { status: 'unknown' };
    const base = this.#base(tenant);
    const reply = (await this.#runner.run(`${this.#name}.${mode}`, TAKE, [`${base}r:${id}`], [base, id, String(now), mode])) as [string, string?];
    const status = reply[0];
    if (status === 'ok') return { status: 'ok', record: JSON.parse(reply[1] as string) as T };
    if (status === 'used' || status === 'revoked' || status === 'expired' || status === 'unknown') return { status };
    throw new StoreUnavailableError(`${this.#name}.${mode}`, 'failed', new Error(`unexpected reply '${String(status)}'`));
  }

  async revoke(filter: RevokeFilter): Promise<number> {
    const f = (filter ?? {}) as { all?: unknown; id?: unknown } & Partial<Record<(typeof SCOPE_FIELDS)[number], unknown>>;
    let mode: 'all' | 'id' | 'filter';
    if ('all' in f && f.all === true) {
      mode = 'all';
    } else {
      const given = (['id', ...SCOPE_FIELDS] as const).filter((k) => f[k] !== undefined);
      // A value that is not a string matches no record (as in the memory store).
      if (given.some((k) => typeof f[k] !== 'string')) return 0;
      if (f.id !== undefined) mode = 'id';
      else if (given.length > 0) mode = 'filter';
      // Keys but no field to match on: the memory store matches every record; so does this one.
      else if (Object.keys(f).length > 0) mode = 'all';
      else return 0;
    }
    const mask = SCOPE_FIELDS.map((k) => (mode !== 'all' && f[k] !== undefined ? '1' : '0')).join('');
    const values = SCOPE_FIELDS.map((k) => (mode !== 'all' && typeof f[k] === 'string' ? (f[k] as string) : ''));
    let tenants: string[];
    if (mode !== 'all' && typeof f.tenant === 'string') tenants = [f.tenant];
    else if (mode === 'id') tenants = [await this.#tenantOf(f.id as string)].filter((t): t is string => t !== undefined);
    else tenants = (await this.#runner.run(`${this.#name}.revoke`, MEMBERS, [`${this.#prefix}tenants`], [])) as string[];
    let n = 0;
    for (const tenant of tenants) {
      const base = this.#base(tenant);
      const key = mode === 'id' ? `${base}r:${f.id as string}` : `${base}i:all`;
      n += Number(await this.#runner.run(`${this.#name}.revoke`, REVOKE, [key], [base, mode, mode === 'id' ? (f.id as string) : '', mask, ...values]));
    }
    return n;
  }

  /** The key prefix of a tenant's records (hash-tagged by the tenant: one slot). */
  #base(tenant: string): string {
    return `${this.#prefix}{${tenant}}:`;
  }

  #tenantKey(id: string): string {
    return `${this.#prefix}t:{${id}}`;
  }

  async #tenantOf(id: string): Promise<string | undefined> {
    const reply = await this.#runner.run(`${this.#name}.lookup`, TENANT_OF, [this.#tenantKey(id)], []);
    return typeof reply === 'string' ? reply : undefined;
  }
}

/** The tenant of a counter key (`<tenant>\u0000...`, as the rate limiter builds them). */
function counterTag(key: string): string {
  const end = key.indexOf('\u0000');
  return end < 0 ? key : key.slice(0, end);
}

/** Fixed-window counters and quotas in Redis: a batch is checked and recorded in one script. */
export class RedisCounterStore implements CounterStore {
  readonly #runner: ScriptRunner;
  readonly #prefix: string;

  constructor(client: RedisScriptClient, options: RedisStoreOptions = {}) {
    const s = settings(options);
    this.#runner = new ScriptRunner(client, s.timeoutMs);
    this.#prefix = `${s.prefix}c:`;
  }

  async consume(checks: readonly CounterCheck[], now: number): Promise<CounterResult> {
    if (checks.length === 0) return { ok: true };
    const keys: string[] = [];
    const args: string[] = [];
    for (const check of checks) {
      const windowed = check.windowMs > 0;
      const start = windowed ? windowStart(now, check.windowMs) : 0;
      // A windowed counter lives one window past the end of its own (by the caller's clock, relative).
      const ttl = windowed ? String(Math.max(1, Math.ceil(start + 2 * check.windowMs - now))) : '0';
      keys.push(this.#key(check.key));
      const quotaTtl = !windowed && check.retainMs !== undefined && Number.isFinite(check.retainMs) && check.retainMs > 0 ? String(Math.ceil(check.retainMs)) : ttl;
      args.push(windowed ? '1' : '0', String(start), String(check.limit), String(check.cost), quotaTtl);
    }
    const reply = (await this.#runner.run('counters.consume', CONSUME, keys, args)) as [number, string?];
    const index = Number(reply[0]);
    if (index === 0) return { ok: true };
    const check = checks[index - 1];
    if (!check) throw new StoreUnavailableError('counters.consume', 'failed', new Error(`unexpected reply ${String(index)}`));
    const resetAt = check.windowMs > 0 ? windowStart(now, check.windowMs) + check.windowMs : Number.POSITIVE_INFINITY;
    return { ok: false, check, used: Number(reply[1]), resetAt };
  }

  /** A counter's key, hash-tagged by its tenant (every counter of one call in one slot). */
  #key(key: string): string {
    return `${this.#prefix}{${counterTag(key)}}:${key}`;
  }

  async value(key: string, windowMs: number, now: number): Promise<number> {
    const windowed = windowMs > 0;
    const reply = await this.#runner.run('counters.value', VALUE, [this.#key(key)], [windowed ? '1' : '0', String(windowed ? windowStart(now, windowMs) : 0)]);
    return Number(reply);
  }
}

function windowStart(now: number, windowMs: number): number {
  return now - (now % windowMs);
}

interface SessionMeta {
  id: string;
  tenant: string;
  createdAt: number;
  expiresAt: number;
  metadata: JsonObject;
}

/** Sessions in Redis: scalars, counts and a capped history; recording an action is one script. */
export class RedisSessionStore implements SessionStore {
  readonly #runner: ScriptRunner;
  readonly #prefix: string;
  readonly #retainMs: number;
  readonly #historyLimit: number;

  constructor(client: RedisScriptClient, options: RedisStoreOptions = {}) {
    const s = settings(options);
    this.#runner = new ScriptRunner(client, s.timeoutMs);
    this.#prefix = `${s.prefix}s:`;
    this.#retainMs = s.retainMs;
    this.#historyLimit = s.historyLimit;
  }

  async create(record: SessionRecord): Promise<void> {
    const meta: SessionMeta = { id: record.id, tenant: record.tenant, createdAt: record.createdAt, expiresAt: record.expiresAt, metadata: record.metadata };
    const counts = Object.entries(record.counts);
    await this.#runner.run('sessions.create', SESSION_CREATE, this.#keys(record.id), [
      keyTtl(record.expiresAt, this.#retainMs),
      String(this.#historyLimit),
      JSON.stringify(meta),
      record.revoked ? '1' : '0',
      String(record.actionsRun),
      String(record.cumulativeRisk),
      record.lastAction === undefined ? '0' : '1',
      record.lastAction ?? '',
      String(record.version ?? 0),
      String(counts.length),
      ...counts.flatMap(([action, n]) => [action, String(n)]),
      ...record.history.map((e) => JSON.stringify(e)),
    ]);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    return decodeSession(await this.#runner.run('sessions.get', SESSION_GET, this.#keys(id), []));
  }

  async record(id: string, entry: SessionEntry): Promise<SessionRecord | undefined> {
    const reply = await this.#runner.run('sessions.record', SESSION_RECORD, this.#keys(id), [
      String(this.#historyLimit), entry.action, JSON.stringify(entry), String(entry.risk),
    ]);
    return decodeSession(reply);
  }

  async reserve(id: string, version: number, reservation: Reservation, now: number): Promise<ReserveResult> {
    const reply = (await this.#runner.run('sessions.reserve', SESSION_RESERVE, this.#keys(id), [
      String(version), reservation.action, String(reservation.risk), String(now),
    ])) as [string, unknown?];
    const status = reply[0];
    if (status === 'ok' || status === 'conflict') return { status, record: decodeSession(reply[1]) as SessionRecord };
    if (status === 'unknown' || status === 'revoked' || status === 'expired') return { status };
    throw new StoreUnavailableError('sessions.reserve', 'failed', new Error(`unexpected reply '${String(status)}'`));
  }

  async complete(id: string, entry: SessionEntry): Promise<SessionRecord | undefined> {
    return decodeSession(await this.#runner.run('sessions.complete', SESSION_COMPLETE, this.#keys(id), [String(this.#historyLimit), JSON.stringify(entry)]));
  }

  async revoke(id: string): Promise<boolean> {
    return Number(await this.#runner.run('sessions.revoke', SESSION_REVOKE, [this.#keys(id)[0] as string], [])) === 1;
  }

  #keys(id: string): string[] {
    const key = `${this.#prefix}{${id}}`;
    return [key, `${key}:c`, `${key}:h`];
  }
}

/** A session from the reply of the `read` helper (nil: unknown). */
function decodeSession(reply: unknown): SessionRecord | undefined {
  if (reply === null || reply === undefined) return undefined;
  const [meta, revoked, n, risk, hasLast, last, counts, history, version] = reply as [string, string, string, string, string, string, string[], string, string?];
  const m = JSON.parse(meta) as SessionMeta;
  const record: SessionRecord = {
    id: m.id,
    tenant: m.tenant,
    createdAt: m.createdAt,
    expiresAt: m.expiresAt,
    revoked: revoked === '1',
    actionsRun: Number(n),
    counts: {},
    cumulativeRisk: Number(risk),
    history: JSON.parse(history) as SessionEntry[],
    metadata: m.metadata,
    version: Number(version ?? '0'),
  };
  for (let i = 0; i + 1 < counts.length; i += 2) {
    Object.defineProperty(record.counts, counts[i] as string, { value: Number(counts[i + 1]), enumerable: true, writable: true, configurable: true });
  }
  if (hasLast === '1') record.lastAction = last;
  return record;
}

/** The four runtime stores on one Redis client (tokens and approvals in separate namespaces). */
export function redisStores(client: RedisScriptClient, options: RedisStoreOptions = {}): Required<RuntimeStores> {
  return {
    tokens: new RedisSingleUseStore<TokenClaims>(client, 'tokens', options),
    approvals: new RedisSingleUseStore<ApprovalRecord>(client, 'approvals', options),
    counters: new RedisCounterStore(client, options),
    sessions: new RedisSessionStore(client, options),
  };
}

/**
 * The four runtime stores on a Redis Cluster client (`createCluster` from the `redis` package): the
 * keys are hash-tagged, so every script runs on one slot; the cluster client routes it by its first key.
 */
export function redisClusterStores(
  cluster: { readonly isOpen: boolean; eval: RedisScriptClient['eval']; evalSha: RedisScriptClient['evalSha'] },
  options: RedisStoreOptions = {},
): Required<RuntimeStores> {
  const client: RedisScriptClient = {
    get isReady() {
      return cluster.isOpen;
    },
    eval: (script, o) => cluster.eval(script, o),
    evalSha: (sha, o) => cluster.evalSha(sha, o),
  };
  return redisStores(client, options);
}

/** Options of `connectRedisStores`. */
export interface ConnectRedisOptions extends RedisStoreOptions {
  /** How long connecting may take (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Called with connection errors (the client reconnects by itself; store calls fail closed meanwhile). */
  onError?: (error: Error) => void;
}

/** A connected client and the stores on it. */
export interface RedisStoresConnection {
  stores: Required<RuntimeStores>;
  /** The node-redis client (for health checks and tests). */
  client: ReturnType<typeof createClient>;
  /** Closes the connection. */
  close(): Promise<void>;
}

/**
 * Connects to Redis (`redis://127.0.0.1:6379`) and builds the stores. The client does not queue
 * commands while disconnected: a store call then fails at once with `StoreUnavailableError`, and
 * the client reconnects in the background. Throws `StoreUnavailableError` when it cannot connect.
 */
export async function connectRedisStores(url: string, options: ConnectRedisOptions = {}): Promise<RedisStoresConnection> {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  if (!(Number.isFinite(connectTimeoutMs) && connectTimeoutMs > 0)) throw new RuntimeConfigError('redis connectTimeoutMs must be a positive number');
  settings(options); // bad options fail before a connection is opened
  // Loaded on first use: programs that never use Redis never load the client.
  const { createClient } = await import('redis');
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), 2000) },
  });
  client.on('error', (error: Error) => options.onError?.(error));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      }),
    ]);
  } catch (error) {
    client.destroy();
    throw new StoreUnavailableError('connect', 'failed', error);
  } finally {
    clearTimeout(timer);
  }
  return {
    stores: redisStores(client, options),
    client,
    close: async () => {
      if (client.isOpen) await client.close();
    },
  };
}
