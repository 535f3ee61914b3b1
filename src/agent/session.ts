/** Agent sessions: a user's multi-turn session with its own TTL, usage and cumulative risk, kept in the runtime's session store. */
import type { JsonObject } from '../compiler/index.js';
import type { Session, SessionSummary } from '../runtime/index.js';
import { AgentConfigError } from './errors.js';
import type { Ape } from './ape.js';
import type { ExecuteOptions, ExecutionResult } from './orchestrator.js';
import { plainObject } from './json-copy.js';

/** Options of `Ape.createSession`. */
export interface AgentSessionOptions {
  /** Who the session is for (kept in the session's metadata). */
  userId?: string;
  /** Tenant of the session (default: the Ape's tenant). */
  tenant?: string;
  /** Lifetime in minutes (default 60). */
  ttlMinutes?: number;
  /** Extra metadata stored with the session. */
  metadata?: JsonObject;
}

/** A session's usage: the runtime's summary plus the user it belongs to. */
export interface AgentSessionSummary extends SessionSummary {
  userId: string | null;
  /** Milliseconds until the session expires (0 once expired). */
  timeRemaining: number;
}

/** A session of one user: calls and prompts run in it share its TTL, counters and cumulative risk. */
export class AgentSession {
  readonly userId: string | undefined;
  readonly tenant: string;
  /** Lifetime in milliseconds. */
  readonly ttlMs: number;
  /** Epoch milliseconds when the session was created and when it expires (by the Ape's clock). */
  readonly createdAt: number;
  readonly expiresAt: number;
  /** The Ape this session runs on. */
  readonly ape: Ape;
  readonly #opened: Promise<Session>;
  #summary: SessionSummary | undefined;
  #id: string | undefined;

  /** @internal Use `Ape.createSession`. */
  constructor(ape: Ape, options: AgentSessionOptions) {
    const o = { ...options };
    if (o.userId !== undefined && (typeof o.userId !== 'string' || o.userId.length === 0)) throw new AgentConfigError('userId must be a non-empty string');
    if (o.tenant !== undefined && (typeof o.tenant !== 'string' || o.tenant.length === 0)) throw new AgentConfigError('tenant must be a non-empty string');
    const minutes = o.ttlMinutes ?? 60;
    if (typeof minutes !== 'number' || !(Number.isFinite(minutes) && minutes > 0)) throw new AgentConfigError('ttlMinutes must be a positive number');
    const metadata = o.metadata === undefined ? {} : plainObject(o.metadata, 'session', '/metadata');
    this.ape = ape;
    this.userId = o.userId;
    this.tenant = o.tenant ?? ape.tenant;
    this.ttlMs = Math.round(minutes * 60_000);
    this.createdAt = ape.now();
    this.expiresAt = this.createdAt + this.ttlMs;
    const meta: JsonObject = { ...metadata, user_id: o.userId ?? null };
    this.#opened = ape.runtime.openSession({ tenant: this.tenant, ttlMs: this.ttlMs, metadata: meta }).then((s) => {
      this.#id = s.id;
      return s;
    });
    // A failure surfaces on first use; never as an unhandled rejection.
    this.#opened.catch(() => undefined);
  }
  /** Records a trusted input (the user's message, system configuration) for provenance by origin in this session. See `Ape.recordInput`. */
  recordInput(place: 'user' | 'system', value: unknown): Promise<void> {
    return this.ape.recordInput(place, value, { session: this });
  }


  /** The session id (once opened). */
  get id(): string | undefined {
    return this.#id;
  }

  /** The runtime session underneath (opened in the runtime's session store). */
  runtimeSession(): Promise<Session> {
    return this.#opened;
  }

  /** Milliseconds until the session expires (0 once expired). */
  get timeRemaining(): number {
    return Math.max(0, this.expiresAt - this.ape.now());
  }

  /** How many actions ran in this session (as of the last call through it, or `refresh`). */
  get actionsExecuted(): number {
    return this.#summary?.actionsRun ?? 0;
  }

  /** The cumulative risk of the actions run (as of the last call through it, or `refresh`). */
  get cumulativeRisk(): number {
    return this.#summary?.cumulativeRisk ?? 0;
  }

  /** Reads the session's usage from the store (and updates `actionsExecuted` and `cumulativeRisk`). */
  async usageSummary(): Promise<AgentSessionSummary> {
    const summary = await this.refresh();
    return { ...summary, userId: this.userId ?? null, timeRemaining: summary.state === 'active' ? this.timeRemaining : 0 };
  }

  /** Re-reads the session's counters from the store. */
  async refresh(): Promise<SessionSummary> {
    const summary = await this.ape.runtime.sessionSummary(await this.#opened);
    this.#summary = summary;
    return summary;
  }

  /** Runs a prompt in this session (see `Ape.execute`). */
  execute(prompt: string, options: Omit<ExecuteOptions, 'session'> = {}): Promise<ExecutionResult> {
    return this.ape.execute(prompt, { ...options, session: this });
  }

  /** Runs a prompt in this session, throwing the typed error of anything short of `completed`. */
  executeOrThrow(prompt: string, options: Omit<ExecuteOptions, 'session'> = {}): Promise<ExecutionResult> {
    return this.ape.executeOrThrow(prompt, { ...options, session: this });
  }

  /** Revokes the session: nothing more runs in it. */
  async revoke(): Promise<void> {
    await this.ape.runtime.revokeSession(await this.#opened);
  }
}
