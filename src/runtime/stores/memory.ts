/** In-memory state stores: every operation completes synchronously, so each one is atomic within a process. */
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

interface Slot<T> {
  scope: RecordScope;
  expiresAt: number;
  /** Dropped once the record is used: only the fact that it was used is kept (to name replays). */
  record: T | undefined;
  state: 'live' | 'used' | 'revoked';
}

const SWEEP_EVERY = 1024;
/** Used and revoked ids are remembered this long after they expire, so a late replay is still named a replay. */
const GRACE_MS = 3_600_000;

/** Single-use records in a Map. Used and revoked ids are remembered until they expire, so replays are named as such. */
export class MemorySingleUseStore<T> implements SingleUseStore<T> {
  readonly #slots = new Map<string, Slot<T>>();
  /** The live (unused, unrevoked) slots: revocation scans these, not every remembered id. */
  readonly #live = new Map<string, Slot<T>>();
  #puts = 0;

  put(id: string, scope: RecordScope, expiresAt: number, record: T): void {
    if (++this.#puts % SWEEP_EVERY === 0) this.#sweep(Date.now());
    const slot: Slot<T> = { scope, expiresAt, record, state: 'live' };
    this.#slots.set(id, slot);
    this.#live.set(id, slot);
  }

  take(id: string, now: number, _tenant?: string): TakeResult<T> {
    const slot = this.#slots.get(id);
    const result = this.#status(slot, now);
    if (result.status === 'ok') {
      const s = slot as Slot<T>;
      s.state = 'used';
      s.record = undefined;
      this.#live.delete(id);
    }
    return result;
  }

  peek(id: string, now: number, _tenant?: string): TakeResult<T> {
    return this.#status(this.#slots.get(id), now);
  }

  #status(slot: Slot<T> | undefined, now: number): TakeResult<T> {
    if (!slot) return { status: 'unknown' };
    if (slot.state === 'used') return { status: 'used' };
    if (slot.state === 'revoked') return { status: 'revoked' };
    if (now >= slot.expiresAt) return { status: 'expired' };
    return { status: 'ok', record: slot.record as T };
  }

  revoke(filter: RevokeFilter): number {
    let n = 0;
    for (const [id, slot] of this.#live) {
      if (slot.state !== 'live' || !matches(id, slot.scope, filter)) continue;
      slot.state = 'revoked';
      slot.record = undefined;
      this.#live.delete(id);
      n++;
    }
    return n;
  }

  /** Number of records held (for tests of the sweep). */
  get size(): number {
    return this.#slots.size;
  }

  /**
   * Forgets records that expired more than the grace period ago, oldest first, and stops at the
   * first one still in its lifetime: records are put in time order, so the work stays proportional
   * to what is removed. (A record with a longer lifetime only delays the removal of later ones.)
   */
  #sweep(now: number): void {
    for (const [id, slot] of this.#slots) {
      if (slot.expiresAt + GRACE_MS >= now) break;
      this.#slots.delete(id);
      this.#live.delete(id);
    }
  }
}

function matches(id: string, scope: RecordScope, filter: RevokeFilter): boolean {
  if ('all' in filter && filter.all === true) return true;
  const f = filter as { id?: string } & Partial<RecordScope>;
  if (f.id !== undefined && f.id !== id) return false;
  for (const key of ['tenant', 'session', 'run', 'intent', 'plan'] as const) {
    if (f[key] !== undefined && f[key] !== scope[key]) return false;
  }
  return f.id !== undefined || Object.keys(f).length > 0;
}

interface Counter {
  windowStart: number;
  value: number;
  /** When a retained quota is forgotten (epoch ms); absent: kept for good (or until its window passes). */
  expiresAt?: number;
}

/** Fixed-window counters in a Map. */
export class MemoryCounterStore implements CounterStore {
  readonly #counters = new Map<string, Counter>();
  #consumes = 0;

  /** Number of counters held (for tests of the retention). */
  get size(): number {
    return this.#counters.size;
  }

  consume(checks: readonly CounterCheck[], now: number): CounterResult {
    if (++this.#consumes % SWEEP_EVERY === 0) this.#sweep(now);
    for (const check of checks) {
      const used = this.value(check.key, check.windowMs, now);
      if (used + check.cost > check.limit) {
        const resetAt = check.windowMs > 0 ? windowStart(now, check.windowMs) + check.windowMs : Number.POSITIVE_INFINITY;
        return { ok: false, check, used, resetAt };
      }
    }
    for (const check of checks) {
      const start = check.windowMs > 0 ? windowStart(now, check.windowMs) : 0;
      let counter = this.#counters.get(check.key);
      if (!counter || counter.windowStart !== start || (counter.expiresAt !== undefined && now >= counter.expiresAt)) {
        counter = { windowStart: start, value: check.cost };
        this.#counters.set(check.key, counter);
      } else counter.value += check.cost;
      if (check.windowMs > 0) counter.expiresAt = start + 2 * check.windowMs;
      else if (check.retainMs !== undefined) counter.expiresAt = now + check.retainMs;
    }
    return { ok: true };
  }

  /** Forgets counters whose window passed or whose retention ran out. */
  #sweep(now: number): void {
    for (const [key, counter] of this.#counters) if (counter.expiresAt !== undefined && now >= counter.expiresAt) this.#counters.delete(key);
  }

  value(key: string, windowMs: number, now: number): number {
    const counter = this.#counters.get(key);
    if (!counter || (counter.expiresAt !== undefined && now >= counter.expiresAt)) return 0;
    if (windowMs > 0 && counter.windowStart !== windowStart(now, windowMs)) return 0;
    return counter.value;
  }
}

function windowStart(now: number, windowMs: number): number {
  return now - (now % windowMs);
}

/** Sessions in a Map; each keeps its last `historyLimit` entries and complete counts. */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #historyLimit: number;

  constructor(historyLimit = 1000) {
    this.#historyLimit = historyLimit;
  }

  create(record: SessionRecord): void {
    this.#sessions.set(record.id, { ...record, counts: { ...record.counts }, history: [...record.history], version: record.version ?? 0 });
  }

  get(id: string): SessionRecord | undefined {
    const s = this.#sessions.get(id);
    return s ? this.#snapshot(s) : undefined;
  }

  /** Snapshot of the scalars; `counts` and `history` are live views the runtime only reads. */
  #snapshot(s: SessionRecord): SessionRecord {
    return { ...s };
  }

  record(id: string, entry: SessionEntry): SessionRecord | undefined {
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    s.actionsRun += 1;
    s.counts[entry.action] = (s.counts[entry.action] ?? 0) + 1;
    s.lastAction = entry.action;
    s.cumulativeRisk += entry.risk;
    s.version = (s.version ?? 0) + 1;
    return this.complete(id, entry);
  }

  reserve(id: string, version: number, reservation: Reservation, now: number): ReserveResult {
    const s = this.#sessions.get(id);
    if (!s) return { status: 'unknown' };
    if (s.revoked) return { status: 'revoked' };
    if (now >= s.expiresAt) return { status: 'expired' };
    if (version >= 0 && (s.version ?? 0) !== version) return { status: 'conflict', record: this.#snapshot(s) };
    s.actionsRun += 1;
    s.counts[reservation.action] = (s.counts[reservation.action] ?? 0) + 1;
    s.lastAction = reservation.action;
    s.cumulativeRisk += reservation.risk;
    s.version = (s.version ?? 0) + 1;
    return { status: 'ok', record: this.#snapshot(s) };
  }

  complete(id: string, entry: SessionEntry): SessionRecord | undefined {
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    s.history.push(entry);
    if (s.history.length > this.#historyLimit) s.history.shift();
    return this.#snapshot(s);
  }

  revoke(id: string): boolean {
    const s = this.#sessions.get(id);
    if (!s) return false;
    s.revoked = true;
    return true;
  }
}
