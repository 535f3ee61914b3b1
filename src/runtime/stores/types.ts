/**
 * State-store interfaces: tokens, approvals, counters and sessions. Every operation that must be
 * atomic is one method, so a shared store (Redis: a Lua script or SET NX) can implement it as one step.
 */
import type { JsonValue } from '../../compiler/ir.js';

/** A value or a promise of it: in-memory stores answer synchronously, shared stores asynchronously. */
export type Awaitable<T> = T | Promise<T>;

/** What a single-use record is bound to, for revocation by scope. */
export interface RecordScope {
  tenant: string;
  session: string;
  run: string;
  intent: string;
  plan: string;
}

/** Which records to revoke: every field given must match; `{ all: true }` revokes everything. */
export type RevokeFilter = { all: true } | ({ id?: string } & Partial<RecordScope>);

/** The outcome of taking a single-use record. */
export type TakeResult<T> =
  | { status: 'ok'; record: T }
  | { status: 'used' | 'revoked' | 'expired' | 'unknown' };

/** Single-use records (authority tokens, approvals): put once, taken at most once, revocable. */
export interface SingleUseStore<T> {
  /** Stores a record under a fresh id. */
  put(id: string, scope: RecordScope, expiresAt: number, record: T): Awaitable<void>;
  /**
   * Atomically marks the record used and returns it; a second take answers `used`. `tenant` (the
   * record's, when the caller knows it) lets a sharded store go straight to the record's shard.
   */
  take(id: string, now: number, tenant?: string): Awaitable<TakeResult<T>>;
  /** Reads a record without using it. */
  peek(id: string, now: number, tenant?: string): Awaitable<TakeResult<T>>;
  /** Revokes every matching unused record; returns how many. */
  revoke(filter: RevokeFilter): Awaitable<number>;
}

/** One counter an operation must fit in: `cost` is added when every counter of the batch fits. */
export interface CounterCheck {
  /** The counter's key (tenant-qualified by the caller). */
  key: string;
  /** Name reported in errors, e.g. `action:read_file`. */
  name: string;
  limit: number;
  /** Window length in milliseconds, or 0 for a quota that never resets. */
  windowMs: number;
  cost: number;
  /**
   * A quota (windowMs 0) kept only this long after its last use (a per-session quota dies with its
   * session instead of piling up); absent: kept for good.
   */
  retainMs?: number;
}

/** The outcome of a counter batch: all recorded, or the first counter that did not fit (nothing recorded). */
export type CounterResult =
  | { ok: true }
  | { ok: false; check: CounterCheck; used: number; resetAt: number };

/** Rate-limit and quota counters. */
export interface CounterStore {
  /** Checks every counter and, only when all fit, adds each cost: one atomic step. */
  consume(checks: readonly CounterCheck[], now: number): Awaitable<CounterResult>;
  /** The current value of a counter (0 when absent or its window passed). */
  value(key: string, windowMs: number, now: number): Awaitable<number>;
}

/** One action recorded in a session. */
export interface SessionEntry {
  action: string;
  tool: string;
  risk: number;
  at: number;
  outcome: 'ok' | 'error';
}

/** The state of a session. */
export interface SessionRecord {
  id: string;
  tenant: string;
  createdAt: number;
  expiresAt: number;
  revoked: boolean;
  /** How many actions ran (successfully or not). */
  actionsRun: number;
  /** Runs per action id. */
  counts: Record<string, number>;
  /** The last action that ran, for `tool_transitions`. */
  lastAction?: string;
  /** Sum of the risk scores of the actions that ran. */
  cumulativeRisk: number;
  /** The most recent entries (capped by the store). */
  history: SessionEntry[];
  /** Free JSON the application attaches (user id, channel...). */
  metadata: { [key: string]: JsonValue };
  /** Counts every change of the facts a decision reads (actions run, counts, last action, risk); stores that support `reserve` keep it. */
  version?: number;
}

/** What a call reserves in its session before its tool runs. */
export interface Reservation {
  action: string;
  risk: number;
}

/**
 * The outcome of a reservation: applied (`ok`, the updated record), refused because the session
 * changed since the decision read it (`conflict`, the current record: decide again), or the
 * session is gone.
 */
export type ReserveResult =
  | { status: 'ok' | 'conflict'; record: SessionRecord }
  | { status: 'unknown' | 'revoked' | 'expired' };

/** Sessions. */
export interface SessionStore {
  create(record: SessionRecord): Awaitable<void>;
  get(id: string): Awaitable<SessionRecord | undefined>;
  /** Appends an entry and adds its risk, atomically; returns the updated record. */
  record(id: string, entry: SessionEntry): Awaitable<SessionRecord | undefined>;
  revoke(id: string): Awaitable<boolean>;
  /**
   * Atomically, only if the session is live at `now` and its `version` is still `version` (any
   * version when `version` is -1: the decision read no session fact): counts
   * one run of the action, adds its risk, sets the last action and bumps the version. The runtime
   * calls it between the decision and the tool, so concurrent calls cannot all pass a check on
   * `context.session.*` that only some of them should.
   */
  reserve(id: string, version: number, reservation: Reservation, now: number): Awaitable<ReserveResult>;
  /** Appends the outcome of a call whose action was reserved (history only; counts and risk are already in); returns the updated record. */
  complete(id: string, entry: SessionEntry): Awaitable<SessionRecord | undefined>;
}
