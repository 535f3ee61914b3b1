/** Rate limits and quotas: the counters one call must fit in, checked and recorded in one atomic store step. */
import type { LimitIR, RateLimitsIR } from '../compiler/ir.js';
import { globToRegExp } from '../compiler/glob.js';
import { QuotaExhaustedError, RateLimitExceededError, RuntimeConfigError } from './errors.js';
import { isThenable } from './awaitable.js';
import type { Awaitable, CounterCheck, CounterResult, CounterStore } from './stores/types.js';

export type { LimitIR, RateLimitsIR };

/** The call a limit check is for. */
export interface LimitedCall {
  tenant: string;
  session: string;
  action: string;
  /** Canonical hosts and paths the call reaches. */
  targets: readonly string[];
  /** Risk score of the action. */
  risk: number;
  /** When the session ends (epoch ms): its quotas (per-session count, risk budget) are kept until then and an hour more, not for good. */
  sessionExpiresAt?: number;
}

/** How long a per-session quota outlives its session (late calls of the session are still refused). */
const SESSION_QUOTA_GRACE_MS = 3_600_000;

interface CompiledLimits {
  source: string;
  config: RateLimitsIR;
  targets: { pattern: string; re: RegExp; spec: LimitIR }[];
}

function checkSpec(where: string, spec: LimitIR): void {
  if (!Number.isInteger(spec.limit) || spec.limit < 0) throw new RuntimeConfigError(`${where}: limit must be a non-negative integer`);
  if (spec.window_seconds !== undefined && !(spec.window_seconds > 0)) throw new RuntimeConfigError(`${where}: window_seconds must be positive`);
}

/** Rate limits from several sources (the policy's `rate_limits`, the runtime options); every one applies. */
export class RateLimiter {
  readonly #sets: CompiledLimits[];
  readonly #store: CounterStore;

  constructor(store: CounterStore, sources: { source: string; config: RateLimitsIR | undefined }[]) {
    this.#store = store;
    this.#sets = [];
    for (const { source, config } of sources) {
      if (!config) continue;
      if (config.global) checkSpec(`${source}.global`, config.global);
      if (config.per_session) checkSpec(`${source}.per_session`, config.per_session);
      for (const [k, v] of Object.entries(config.per_action ?? {})) checkSpec(`${source}.per_action.${k}`, v);
      for (const [k, v] of Object.entries(config.per_target ?? {})) checkSpec(`${source}.per_target.${k}`, v);
      if (config.risk_budget !== undefined && !(config.risk_budget >= 0)) throw new RuntimeConfigError(`${source}.risk_budget must be a non-negative number`);
      const targets = Object.entries(config.per_target ?? {}).map(([pattern, spec]) => ({ pattern, re: globToRegExp(pattern.toLowerCase()), spec }));
      this.#sets.push({ source, config, targets });
    }
  }

  /** Whether any limit is configured. */
  get active(): boolean {
    return this.#sets.length > 0;
  }

  /** The counters a call must fit in. */
  checksFor(call: LimitedCall, now = Date.now()): CounterCheck[] {
    const checks: CounterCheck[] = [];
    const retain = call.sessionExpiresAt === undefined ? undefined : Math.max(1, call.sessionExpiresAt - now) + SESSION_QUOTA_GRACE_MS;
    const add = (source: string, scope: string, name: string, spec: LimitIR, cost = 1) => {
      const check: CounterCheck = { key: `${call.tenant}\u0000${source}\u0000${scope}\u0000${name}`, name, limit: spec.limit, windowMs: (spec.window_seconds ?? 0) * 1000, cost };
      // A quota of one session needs to outlive the session only: it then expires instead of piling up.
      if (scope !== '' && check.windowMs === 0 && retain !== undefined) check.retainMs = retain;
      checks.push(check);
    };
    for (const { source, config, targets } of this.#sets) {
      if (config.global) add(source, '', 'global', config.global);
      if (config.per_session) add(source, call.session, 'session', config.per_session);
      const perAction = config.per_action && Object.hasOwn(config.per_action, call.action) ? config.per_action[call.action] : undefined;
      if (perAction) add(source, '', `action:${call.action}`, perAction);
      for (const t of targets) {
        if (call.targets.some((value) => t.re.test(value.toLowerCase()))) add(source, '', `target:${t.pattern}`, t.spec);
      }
      if (config.risk_budget !== undefined) add(source, call.session, 'risk_budget', { limit: config.risk_budget }, call.risk);
    }
    return checks;
  }

  /** Checks and records a call against every limit in one step. Throws (or rejects with) `RateLimitExceededError` or `QuotaExhaustedError`. */
  consume(call: LimitedCall, now: number): Awaitable<void> {
    if (this.#sets.length === 0) return;
    const result = this.#store.consume(this.checksFor(call, now), now);
    return isThenable(result) ? Promise.resolve(result).then(settle) : settle(result);
  }
}

function settle(result: CounterResult): void {
  if (result.ok) return;
  const { check } = result;
  if (check.windowMs > 0) throw new RateLimitExceededError(check.name, check.limit, result.resetAt);
  throw new QuotaExhaustedError(check.name, check.limit, result.used);
}
