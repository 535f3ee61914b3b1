/** The runtime facade: one per agent process; holds the engine, the key, the stores, the tools (inside the gate) and the audit sinks. */
import type { CompiledPolicy } from '../compiler/compile.js';
import type { JsonObject, PolicyIR, RateLimitsIR } from '../compiler/ir.js';
import { actionDefinition } from '../compiler/engine-input.js';
import type { Evaluator } from '../evaluator.js';
import { InFlight } from './inflight.js';
import { Auditor, type AuditSink } from './audit/events.js';
import type { DecisionLogEntry, GateMode, RuntimeCore } from './core.js';
import { ApprovalError, RunNotResumableError, RuntimeConfigError, TenantMismatchError } from './errors.js';
import type { ApprovalHandler, ApprovalRecord, ApprovalResponse } from './escalation.js';
import { Gate, type ToolDefinition, type ToolInfo } from './gate.js';
import { RateLimiter } from './rate-limit.js';
import { Run } from './run.js';
import { RISK_SCORES, SessionManager, type Session, type SessionSummary } from './session.js';
import { MemoryCounterStore, MemorySessionStore, MemorySingleUseStore } from './stores/memory.js';
import type { CounterStore, RevokeFilter, SessionStore, SingleUseStore } from './stores/types.js';
import { TokenSigner, type TokenClaims } from './tokens.js';
import { applyAnswer, readAnswer, settleApproval, type BoundApproval } from './approvals.js';
import { plainCopy, plainObject, readFields } from './plain.js';
import { OriginRegistry, identifierPaths, labelByOrigin, type OriginRegistryLimits, type OriginFacts, type OriginLabels, type OriginOptions, type OriginTracker } from './origin.js';
import { Labeled, unwrapExplicit } from './provenance.js';

/** The `decisionLog` option, checked once. */
function decisionListener(option: unknown): ((entry: DecisionLogEntry) => void) | undefined {
  if (option === undefined) return undefined;
  if (typeof option !== 'function') throw new RuntimeConfigError('decisionLog must be a function');
  return option as (entry: DecisionLogEntry) => void;
}

/** The origin registry for the `origins` option, read once. */
function originRegistry(option: unknown, limits: OriginRegistryLimits): OriginRegistry | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return new OriginRegistry({}, limits);
  if (option === null || typeof option !== 'object') throw new RuntimeConfigError('origins must be true, false or { minLength, system }');
  const { minLength, system } = readFields(option, 'origins', ['minLength', 'system']);
  if (minLength !== undefined && typeof minLength !== 'number') throw new RuntimeConfigError('origins.minLength must be a positive integer');
  return new OriginRegistry({ ...(minLength === undefined ? {} : { minLength }), ...(system === undefined ? {} : { system }) }, limits);
}

const OPTION_KEYS = [
  'evaluator', 'signingKey', 'mode', 'tokenTtlMs', 'maxClockSkewMs', 'sessionTtlMs', 'approvalHandler', 'approvalTimeoutMs', 'approvalTtlMs',
  'rateLimits', 'audit', 'sensitiveParams', 'stores', 'now', 'origins', 'decisionLog',
] as const satisfies readonly (keyof RuntimeOptions)[];

const FILTER_KEYS = ['all', 'id', 'tenant', 'session', 'run', 'intent', 'plan'] as const;

/**
 * A revocation filter read once. Every key given must carry a string (`all` must be `true`): a key
 * present with `undefined` (`{ tenant: undefined }`, e.g. from a missing variable) would otherwise
 * match every record; unknown keys are refused too.
 */
function revokeFilter(filter: unknown): RevokeFilter {
  const f = readFields(filter, 'revoke filter', FILTER_KEYS);
  for (const key of Reflect.ownKeys(filter as object)) {
    if (!(FILTER_KEYS as readonly (string | symbol)[]).includes(key)) throw new RuntimeConfigError(`revoke filter: unknown key '${String(key)}'`);
  }
  const keys = Object.keys(f) as (typeof FILTER_KEYS)[number][];
  if (keys.length === 0) throw new RuntimeConfigError('revoke filter: give an id, a scope field, or { all: true }');
  if ('all' in f) {
    if (f.all !== true || keys.length > 1) throw new RuntimeConfigError('revoke filter: { all: true } stands alone');
    return { all: true };
  }
  const out: Record<string, string> = {};
  for (const key of keys) {
    const v = f[key];
    if (typeof v !== 'string' || v.length === 0) throw new RuntimeConfigError(`revoke filter: '${key}' must be a non-empty string`);
    out[key] = v;
  }
  return out as RevokeFilter;
}

/** Whether a policy reads session facts (then a decision is stale once concurrent calls changed the session). */
function readsSession(ir: PolicyIR): boolean {
  return (
    Object.keys(ir.toolTransitions ?? {}).length > 0 ||
    ir.rules.some((r) => r.conditions.some((c) => c.path === 'context' || c.path === 'context.session' || c.path.startsWith('context.session.')))
  );
}

/** The state stores a runtime uses (in-memory by default; a shared store for several processes). */
export interface RuntimeStores {
  tokens?: SingleUseStore<TokenClaims>;
  approvals?: SingleUseStore<ApprovalRecord>;
  counters?: CounterStore;
  sessions?: SessionStore;
}

/** Runtime options. Only `evaluator` is required. */
export interface RuntimeOptions {
  /** Decides every call: any engine behind the `Evaluator` interface. */
  evaluator: Evaluator;
  /** HMAC key for tokens (>= 32 bytes). Random per process when omitted. */
  signingKey?: Uint8Array | string;
  /** `enforce` (default), `observe` (shadow mode: decide and audit, never block) or `disabled`. */
  mode?: GateMode;
  /** Token lifetime in milliseconds (default 60 000). */
  tokenTtlMs?: number;
  /** How far a token's issue time may lie ahead of this runtime's clock before it is refused (default 30 000 ms). */
  maxClockSkewMs?: number;
  /** Session lifetime in milliseconds when `openSession` gives none (default one hour). */
  sessionTtlMs?: number;
  /** Asked for every escalated call; without it, escalated calls fail with `EscalationRequiredError`. */
  approvalHandler?: ApprovalHandler;
  /** How long the handler may take (default 5 minutes). */
  approvalTimeoutMs?: number;
  /** How long an approval stays usable (default 10 minutes). */
  approvalTtlMs?: number;
  /** Rate limits in code; they apply together with the policy's `rate_limits`. */
  rateLimits?: RateLimitsIR;
  /** Audit sinks (memory, JSONL, callback...). */
  audit?: AuditSink[];
  /** Parameter names (any depth) or dotted paths redacted in audit events, besides the default secret names. */
  sensitiveParams?: string[];
  stores?: RuntimeStores;
  /** Clock in epoch milliseconds (tests pass a fake one). */
  now?: () => number;
  /**
   * Provenance by origin (docs/provenance.md): the runtime records every tool output of a session
   * (and the trusted inputs given to `origins(session)`), and labels each argument of a later call by
   * where its value occurs; the request gets `provenance`, `sources` and `context.session.tools_read`
   * / `external_read`. `true` for the default matching options. Off by default.
   */
  origins?: boolean | OriginOptions;
  /**
   * Told every request the engine decided for a call and its result (copies: the exact request,
   * provenance and sources included, that `ape eval --requests` re-decides). Unredacted: it is the
   * caller's own data. For replays and shadow logs; a throwing listener fails the call (closed).
   * A step is logged at its `plan` stage only when its plan is decided at approval (not with
   * `approvePlan`'s `decideAtExecution`, which guarded calls use: they log their `call` stage only).
   */
  decisionLog?: (entry: DecisionLogEntry) => void;
}

/** APE's runtime: register tools, open sessions, create runs. Tools run only through the gate. */
export class ApeRuntime {
  readonly #core: RuntimeCore;
  readonly #gate: Gate;
  readonly #sessionTtlMs: number;
  readonly #counters: CounterStore;
  readonly #codeLimits: RateLimitsIR | undefined;

  constructor(input: RuntimeOptions) {
    if (input === null || typeof input !== 'object') throw new RuntimeConfigError('an evaluator is required');
    // Options are read once; nothing below reads the caller's object again.
    const options = readFields(input, 'runtime options', OPTION_KEYS) as RuntimeOptions;
    if (!options.evaluator) throw new RuntimeConfigError('an evaluator is required');
    const clock = options.now ?? Date.now;
    if (typeof clock !== 'function') throw new RuntimeConfigError('now must be a function answering epoch milliseconds');
    // A clock answering NaN or Infinity would make every expiry check false: fail closed instead.
    const now = (): number => {
      const t = clock();
      if (typeof t !== 'number' || !Number.isFinite(t)) throw new RuntimeConfigError(`the clock answered ${String(t)}, not a finite time`);
      return t;
    };
    const positive = (name: string, v: number | undefined, d: number): number => {
      const value = v ?? d;
      if (!(Number.isFinite(value) && value > 0)) throw new RuntimeConfigError(`${name} must be a positive number of milliseconds`);
      return value;
    };
    const mode = options.mode ?? 'enforce';
    if (!['enforce', 'observe', 'disabled'].includes(mode)) throw new RuntimeConfigError(`unknown gate mode '${String(mode)}'`);
    const stores = options.stores ?? {};
    const ir = options.evaluator.policy.ir;
    let risks = { ir, scores: new Map<string, number>() };
    this.#sessionTtlMs = positive('sessionTtlMs', options.sessionTtlMs, 3_600_000);
    this.#counters = stores.counters ?? new MemoryCounterStore();
    this.#codeLimits = options.rateLimits;
    const core: RuntimeCore = {
      evaluator: options.evaluator,
      inflight: new InFlight<Evaluator>(),
      signer: new TokenSigner(options.signingKey),
      tokens: stores.tokens ?? new MemorySingleUseStore<TokenClaims>(),
      approvals: stores.approvals ?? new MemorySingleUseStore<ApprovalRecord>(),
      sessions: new SessionManager(stores.sessions ?? new MemorySessionStore(), now),
      limiter: new RateLimiter(this.#counters, [
        { source: 'policy', config: ir.rateLimits },
        { source: 'code', config: options.rateLimits },
      ]),
      auditor: new Auditor(options.audit ?? [], options.sensitiveParams ?? [], now),
      now,
      mode,
      tokenTtlMs: positive('tokenTtlMs', options.tokenTtlMs, 60_000),
      clockSkewMs: positive('maxClockSkewMs', options.maxClockSkewMs, 30_000),
      approvalTtlMs: positive('approvalTtlMs', options.approvalTtlMs, 600_000),
      approvalTimeoutMs: positive('approvalTimeoutMs', options.approvalTimeoutMs, 300_000),
      handler: options.approvalHandler,
      sessionDependent: readsSession(ir),
      origins: originRegistry(options.origins, { idleMs: this.#sessionTtlMs, now }),
      decisionLog: decisionListener(options.decisionLog),
      riskOf: (action) => {
        // Cached per policy version: a swap brings its own action definitions.
        const current = core.evaluator.policy.ir;
        if (current !== risks.ir) risks = { ir: current, scores: new Map() };
        let risk = risks.scores.get(action);
        if (risk === undefined) risks.scores.set(action, (risk = RISK_SCORES[actionDefinition(current, action)?.risk ?? 'critical']));
        return risk;
      },
    };
    this.#core = core;
    this.#gate = new Gate(this.#core);
  }

  /** The current policy (live reload may replace it: see `swapPolicy`). */
  get policy(): CompiledPolicy {
    return this.#core.evaluator.policy;
  }

  /**
   * Installs a new policy's evaluator as one step: the next decision uses it, a decision in flight finishes on the version it
   * started with, audit events name the deciding version, and tokens and approvals bound to the old version are refused by
   * the gate from now on. Returns the previous evaluator and a promise that resolves once no decision runs on it any more
   * (close it then). Throws `RuntimeConfigError` (nothing changes) when the policy's rate limits are invalid, `AuditError`
   * (nothing changes) when the swap cannot be audited.
   */
  swapPolicy(next: Evaluator, info: { source?: string } = {}): { previous: Evaluator; drained: Promise<void> } {
    const core = this.#core;
    if (next === null || typeof next !== 'object' || typeof next.decide !== 'function' || !next.policy?.ir) throw new RuntimeConfigError('swapPolicy needs an evaluator');
    const source = typeof info.source === 'string' ? info.source : undefined;
    const limiter = new RateLimiter(this.#counters, [
      { source: 'policy', config: next.policy.ir.rateLimits },
      { source: 'code', config: this.#codeLimits },
    ]);
    const previous = core.evaluator;
    // Audited first: a failing sink refuses the swap (nothing changed); the assignments below cannot fail.
    core.auditor.emit({
      type: 'policy.swapped',
      tenant: '*',
      data: { previous: previous.policy.hash, policy: next.policy.hash, version: next.policy.ir.version, ...(source !== undefined ? { source } : {}) },
    });
    core.evaluator = next;
    core.limiter = limiter;
    core.sessionDependent = readsSession(next.policy.ir);
    return { previous, drained: core.inflight.drained(previous) };
  }

  /** Audits a policy update that was refused (fetch, compile, signature, rollback): the current policy stays. */
  reportPolicyRefusal(refusal: { code: string; message: string; source?: string; offered?: string }): void {
    const data: JsonObject = { code: String(refusal.code), message: String(refusal.message), policy: this.#core.evaluator.policy.hash };
    if (typeof refusal.source === 'string') data['source'] = refusal.source;
    if (typeof refusal.offered === 'string') data['offered'] = refusal.offered;
    this.#core.auditor.emit({ type: 'policy.refused', tenant: '*', data });
  }

  /** The gate mode. */
  get mode(): GateMode {
    return this.#core.mode;
  }

  /** Registers a tool for one action (its fields read once). Its function is held by the gate and runs only through it. */
  registerTool(tool: ToolDefinition): void {
    this.#gate.register(tool);
  }

  /** The registered tools (names, actions, trust; never the functions). */
  tools(): ToolInfo[] {
    return this.#gate.list();
  }

  /** Opens a session for a tenant. */
  async openSession(options: { tenant: string; ttlMs?: number; metadata?: JsonObject }): Promise<Session> {
    const f = readFields(options, 'session options', ['tenant', 'ttlMs', 'metadata']);
    if (typeof f.tenant !== 'string' || f.tenant.length === 0) throw new RuntimeConfigError('a session needs a tenant');
    const ttl = f.ttlMs ?? this.#sessionTtlMs;
    if (typeof ttl !== 'number' || !(Number.isFinite(ttl) && ttl > 0)) throw new RuntimeConfigError('ttlMs must be a positive number of milliseconds');
    const metadata = f.metadata === undefined ? {} : plainObject(f.metadata, 'session metadata');
    const session = await this.#core.sessions.open(f.tenant, ttl, metadata);
    this.#core.auditor.emit({ type: 'session.opened', tenant: session.tenant, session: session.id, data: { expires: this.#core.now() + ttl } });
    return session;
  }

  /** Creates a run (state INITIALIZED) in a session. `tenant`, when given, must be the session's. */
  async createRun(session: Session, tenant?: string): Promise<Run> {
    const s = this.#session(session);
    if (tenant !== undefined && typeof tenant !== 'string') throw new RuntimeConfigError('tenant must be a string');
    const record = await this.#core.sessions.check(s.id, tenant ?? s.tenant);
    if (record.tenant !== s.tenant) throw new TenantMismatchError('session', s.tenant, record.tenant);
    return new Run(this.#core, this.#gate, Object.freeze({ id: record.id, tenant: record.tenant }));
  }

  /**
   * Resuming another process's run by id is refused: throws `RunNotResumableError` (after checking
   * the session, so a dead or foreign session reports that first). See the error for what to do.
   */
  async resumeRun(session: Session, runId: string): Promise<never> {
    const s = this.#session(session);
    await this.#core.sessions.check(s.id, s.tenant);
    throw new RunNotResumableError(String(runId));
  }

  /** Revokes a session: nothing more is authorized or runs in it; its outstanding tokens and approvals are revoked. */
  async revokeSession(session: Session): Promise<void> {
    const s = this.#session(session);
    await this.#core.sessions.revoke(s.id);
    const tokens = await this.#core.tokens.revoke({ session: s.id });
    const approvals = await this.#core.approvals.revoke({ session: s.id });
    this.#core.origins?.drop(s.id);
    this.#core.auditor.emit({ type: 'session.revoked', tenant: s.tenant, session: s.id, data: { tokens, approvals } });
  }

  /**
   * Answers a pending approval request out of band (a web hook, a queue): the application's
   * authority, not the run's (a run cannot approve its own escalations). The answer is read once and
   * must be trusted data. Returns the approval id to pass as `StepOptions.approval`. A request
   * revoked meanwhile (the run's intent or plan changed, its session or tokens were revoked) is
   * refused with `ApprovalError`.
   */
  async resolveEscalation(requestId: string, response: ApprovalResponse): Promise<string> {
    const core = this.#core;
    if (typeof requestId !== 'string') throw new RuntimeConfigError('requestId must be a string');
    const answer = readAnswer(response);
    const taken = await core.approvals.peek(requestId, core.now());
    if (taken.status !== 'ok') throw new ApprovalError(requestId, taken.status === 'used' ? 'used' : taken.status === 'expired' ? 'expired' : taken.status === 'revoked' ? 'revoked' : 'unknown');
    const record = taken.record as BoundApproval;
    if (record.status !== 'pending') throw new ApprovalError(requestId, record.status === 'denied' ? 'denied' : 'used');
    const scope = { tenant: record.tenant, session: record.request.session, run: record.run, intent: record.intent, plan: record.plan };
    return settleApproval(core, applyAnswer(core, record, answer), scope);
  }

  /** The usage summary of a session: actions run, counts, cumulative risk. */
  /**
   * The origin tracker of a session: record the user's prompt (`recordInput('user', prompt)`) and
   * system configuration there. Throws unless the runtime was created with `origins`.
   */
  origins(session: Session): OriginTracker {
    const registry = this.#core.origins;
    if (!registry) throw new RuntimeConfigError('provenance by origin is off: create the runtime with { origins: true }');
    return registry.of(this.#session(session).id);
  }

  /** Whether the runtime labels arguments by origin (`origins` option). */
  get tracksOrigins(): boolean {
    return this.#core.origins !== undefined;
  }

  /**
   * A call's parameters labeled by origin in a session, without deciding (for `check`-style
   * previews): explicit `Labeled` wrappers win; `action` tells which parameters are declared as one
   * identifier (paths, URLs...). Also the session's origin facts. Throws unless
   * the runtime tracks origins.
   */
  labelByOrigin(session: Session, params: unknown, action?: string): OriginLabels & { value: JsonObject; facts: OriginFacts } {
    const tracker = this.origins(session);
    const copy = plainCopy(params, 'params', { labeled: true });
    if (copy === null || typeof copy !== 'object' || Array.isArray(copy) || copy instanceof Labeled) throw new RuntimeConfigError('labelByOrigin: params must be an object');
    const u = unwrapExplicit(copy, 'user');
    const value = u.value as JsonObject;
    const single = action === undefined ? undefined : identifierPaths(actionDefinition(this.#core.evaluator.policy.ir, action));
    return { value, ...labelByOrigin(tracker, value, u.labels, u.explicit, 'user', single), facts: tracker.facts() };
  }

  sessionSummary(session: Session): Promise<SessionSummary> {
    return this.#core.sessions.summary(session.id);
  }

  /** Revokes outstanding tokens: one (`{ id }`), by intent, plan, session, run or tenant, or `{ all: true }`. */
  async revokeTokens(filter: RevokeFilter): Promise<number> {
    const f = revokeFilter(filter);
    const n = await this.#core.tokens.revoke(f);
    this.#core.auditor.emit({ type: 'token.revoked', tenant: 'tenant' in f && f.tenant ? f.tenant : '*', data: { filter: { ...f }, tokens: n } });
    return n;
  }

  /** A session handle read once. */
  #session(session: Session): Session {
    const f = readFields(session, 'session', ['id', 'tenant']);
    if (typeof f.id !== 'string' || typeof f.tenant !== 'string') throw new RuntimeConfigError('a session handle needs an id and a tenant');
    return { id: f.id, tenant: f.tenant };
  }

  /** Revokes the token given as text (it must be one this runtime signed). */
  async revokeToken(token: string): Promise<boolean> {
    const claims = this.#core.signer.verify(token);
    return (await this.revokeTokens({ id: claims.id })) > 0;
  }
}
