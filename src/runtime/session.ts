/** Sessions: multi-turn state with TTL, revocation, the actions run and the cumulative risk handed to the engine as context. */
import { randomBytes } from 'node:crypto';
import type { JsonObject, JsonValue, RiskLevel } from '../compiler/ir.js';
import { SessionExpiredError, TenantMismatchError } from './errors.js';
import { isThenable } from './awaitable.js';
import type { Awaitable, Reservation, ReserveResult, SessionEntry, SessionRecord, SessionStore } from './stores/types.js';

/** The risk score each risk level adds to a session's cumulative risk. */
export const RISK_SCORES: Readonly<Record<RiskLevel, number>> = { minimal: 1, low: 2, moderate: 4, high: 7, critical: 10 };

/** A handle on a session: the id and its tenant. The state lives in the session store. */
export interface Session {
  readonly id: string;
  readonly tenant: string;
}

/** What a session has done: counts, cumulative risk, recent actions. */
export interface SessionSummary {
  id: string;
  tenant: string;
  state: 'active' | 'expired' | 'revoked';
  createdAt: number;
  expiresAt: number;
  actionsRun: number;
  counts: Record<string, number>;
  cumulativeRisk: number;
  lastAction?: string;
  recent: SessionEntry[];
}

/** Opens, checks and records sessions in a store. */
export class SessionManager {
  readonly #store: SessionStore;
  readonly #now: () => number;

  constructor(store: SessionStore, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  /** Opens a session for a tenant. */
  async open(tenant: string, ttlMs: number, metadata: JsonObject = {}): Promise<Session> {
    const now = this.#now();
    const id = `ses_${randomBytes(12).toString('base64url')}`;
    const record: SessionRecord = { id, tenant, createdAt: now, expiresAt: now + ttlMs, revoked: false, actionsRun: 0, counts: {}, cumulativeRisk: 0, history: [], metadata };
    await this.#store.create(record);
    return Object.freeze({ id, tenant });
  }

  /** The live record of a session used under `tenant`. Throws (or rejects with) `SessionExpiredError` or `TenantMismatchError`. */
  check(id: string, tenant: string): Awaitable<SessionRecord> {
    const record = this.#store.get(id);
    return isThenable(record) ? Promise.resolve(record).then((r) => this.#live(id, tenant, r)) : this.#live(id, tenant, record);
  }

  #live(id: string, tenant: string, record: SessionRecord | undefined): SessionRecord {
    if (!record) throw new SessionExpiredError(id, 'unknown');
    if (record.tenant !== tenant) throw new TenantMismatchError('session', tenant, record.tenant);
    if (record.revoked) throw new SessionExpiredError(id, 'revoked');
    if (this.#now() >= record.expiresAt) throw new SessionExpiredError(id, 'expired');
    return record;
  }

  /** Records an action that ran. */
  record(id: string, entry: SessionEntry): Awaitable<unknown> {
    return this.#store.record(id, entry);
  }

  /** Reserves a call's action and risk if the session is still at `version` (see `SessionStore.reserve`). */
  reserve(id: string, version: number, reservation: Reservation, now: number): Awaitable<ReserveResult> {
    return this.#store.reserve(id, version, reservation, now);
  }

  /** Records the outcome of a reserved call (history). */
  complete(id: string, entry: SessionEntry): Awaitable<unknown> {
    return this.#store.complete(id, entry);
  }

  /** Revokes a session: nothing more runs in it. */
  async revoke(id: string): Promise<boolean> {
    return this.#store.revoke(id);
  }

  /** The usage summary of a session. */
  async summary(id: string): Promise<SessionSummary> {
    const r = await this.#store.get(id);
    if (!r) throw new SessionExpiredError(id, 'unknown');
    const summary: SessionSummary = {
      id: r.id,
      tenant: r.tenant,
      state: r.revoked ? 'revoked' : this.#now() >= r.expiresAt ? 'expired' : 'active',
      createdAt: r.createdAt,
      expiresAt: r.expiresAt,
      actionsRun: r.actionsRun,
      counts: { ...r.counts },
      cumulativeRisk: r.cumulativeRisk,
      recent: r.history.slice(-20),
    };
    if (r.lastAction !== undefined) summary.lastAction = r.lastAction;
    return summary;
  }
}

/** The session facts a policy may test, as `context.session.*` (from a stored record or a `SessionSummary`). */
export function sessionContext(r: Pick<SessionRecord, 'id' | 'actionsRun' | 'cumulativeRisk' | 'counts' | 'lastAction' | 'createdAt'>, now: number): { [key: string]: JsonValue } {
  return {
    id: r.id,
    actions_run: r.actionsRun,
    cumulative_risk: r.cumulativeRisk,
    counts: r.counts,
    last_action: r.lastAction ?? null,
    age_seconds: Math.floor((now - r.createdAt) / 1000),
  };
}
