/**
 * Framework approvals bound to one exact call: opened when the framework pauses for a human, taken
 * once when the approved call runs, refused when expired, reused, or bound to other arguments.
 */
import type { Ape, ApprovalHandler, ApprovalRequest, ApprovalResponse } from '../../agent/index.js';
import { hashJson, type JsonObject } from '../../compiler/index.js';
import { MemorySingleUseStore, type SingleUseStore } from '../../runtime/index.js';
import { FrameworkApprovalError, IntegrationConfigError } from './errors.js';

/** A call waiting for (or approved by) a human in the framework's approval flow. */
export interface PendingCall {
  tool: string;
  action: string;
  /** `hashJson` of the canonical arguments the human is asked about. */
  paramsHash: string;
  requestedAt: number;
}

/** How the framework answered: approved (maybe with edited arguments) or rejected. */
export type FrameworkAnswer =
  | { approved: true; approver: string; params?: JsonObject }
  | { approved: false; reason?: string };

/** Options shared by every integration for its approvals. */
export interface LedgerOptions {
  /** How long a framework approval stays usable after the pause (default 10 minutes). */
  approvalTtlMs?: number;
  /**
   * Where pending approvals live (default: in memory, per Ape and framework). Pass a shared store
   * (`RedisSingleUseStore`) when an approval may be resumed in another process.
   */
  approvalStore?: SingleUseStore<PendingCall>;
}

const DEFAULT_TTL_MS = 600_000;
const stores = new WeakMap<Ape, Map<string, SingleUseStore<PendingCall>>>();

/** The default in-memory store of one Ape and framework (shared by the pieces of one integration). */
function defaultStore(ape: Ape, framework: string): SingleUseStore<PendingCall> {
  let byFramework = stores.get(ape);
  if (!byFramework) stores.set(ape, (byFramework = new Map()));
  let store = byFramework.get(framework);
  if (!store) byFramework.set(framework, (store = new MemorySingleUseStore<PendingCall>()));
  return store;
}

/** Pending framework approvals of one Ape and framework. */
export class ApprovalLedger {
  readonly #ape: Ape;
  readonly #framework: string;
  readonly #ttlMs: number;
  readonly #store: SingleUseStore<PendingCall>;

  constructor(ape: Ape, framework: string, options: LedgerOptions = {}) {
    const ttl = options.approvalTtlMs ?? DEFAULT_TTL_MS;
    if (!Number.isFinite(ttl) || ttl <= 0) throw new IntegrationConfigError('approvalTtlMs must be a positive number');
    this.#ape = ape;
    this.#framework = framework;
    this.#ttlMs = ttl;
    this.#store = options.approvalStore ?? defaultStore(ape, framework);
  }

  /** The store key of a framework call. */
  key(tool: string, callId: string): string {
    return `${this.#framework}:${tool}:${callId}`;
  }

  /**
   * Records that the framework asks a human about `tool(params)` under `callId`. The first record
   * wins: asking again (a resumed run re-checking the call) neither renews nor rebinds it.
   * Returns when the approval expires.
   */
  async open(tool: string, action: string, callId: string, params: object): Promise<number> {
    const key = this.key(tool, callId);
    const now = this.#ape.now();
    const seen = await this.#store.peek(key, now);
    if (seen.status === 'ok') return seen.record.requestedAt + this.#ttlMs;
    if (seen.status !== 'unknown') return now;
    const record: PendingCall = { tool, action, paramsHash: hashJson(params), requestedAt: now };
    await this.#store.put(key, { tenant: this.#ape.tenant, session: this.#framework, run: key, intent: '', plan: '' }, now + this.#ttlMs, record);
    return now + this.#ttlMs;
  }

  /**
   * The per-call approver for `ape.call`: it takes the pending record once and answers with the
   * framework's decision only when the record approves this tool with exactly the arguments the
   * runtime is deciding (the canonical parameters of the request).
   */
  approver(tool: string, callId: string, answer: FrameworkAnswer | undefined): ApprovalHandler {
    return async (request: ApprovalRequest): Promise<ApprovalResponse> => {
      const refuse = (reason: FrameworkApprovalError['reason']): ApprovalResponse => ({ approved: false, approver: 'ape', reason: new FrameworkApprovalError(tool, reason).message });
      if (answer === undefined) return refuse('missing');
      const taken = await this.#store.take(this.key(tool, callId), this.#ape.now());
      if (taken.status !== 'ok') return refuse(taken.status === 'unknown' ? 'missing' : taken.status);
      const record = taken.record;
      if (record.tool !== tool || record.action !== request.action || record.paramsHash !== hashJson(request.params)) return refuse('mismatch');
      if (!answer.approved) return answer.reason === undefined ? { approved: false } : { approved: false, reason: answer.reason };
      return answer.params === undefined ? { approved: true, approver: answer.approver } : { approved: true, approver: answer.approver, params: answer.params };
    };
  }
}
