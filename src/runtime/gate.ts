/**
 * The enforcement gate: the only code that holds and runs registered tools. It checks a token
 * against the exact call, consumes it atomically, runs the tool and records the outcome.
 */
import { assertJson } from '../compiler/engine-input.js';
import { canonicalJson } from '../compiler/hash.js';
import type { JsonObject, JsonValue } from '../compiler/ir.js';
import { ApeError } from '../errors.js';
import type { RuntimeCore } from './core.js';
import { TenantMismatchError, TokenInvalidError, TokenMismatchError, TokenReplayError, ToolExecutionError, ToolRegistrationError } from './errors.js';
import { promised, wait, type Flow } from './awaitable.js';
import type { AuditEvent, AuditEventType } from './audit/events.js';
import { sha256Hex } from './hmac.js';
import type { Intent } from './intent.js';
import type { Plan } from './plan.js';
import { Labeled, type ProvenanceLabel } from './provenance.js';
import type { Session } from './session.js';
import type { RuntimeState } from './state-machine.js';
import type { TokenClaims } from './tokens.js';

/** What a tool receives besides its parameters. */
export interface ToolContext {
  tenant: string;
  session: string;
  run: string;
  step: number;
  action: string;
}

/** A tool as the application registers it. The function is kept inside the gate. */
export interface ToolDefinition {
  /** Unique tool name, used in plan steps. */
  name: string;
  /** The one action this tool serves. */
  action: string;
  run(params: Readonly<JsonObject>, context: ToolContext): unknown;
  /** Provenance of the tool's output: `external` (untrusted) unless the tool is a declared trusted source. */
  trust?: ProvenanceLabel;
}

/** The public description of a registered tool (no function). */
export interface ToolInfo {
  name: string;
  action: string;
  trust: ProvenanceLabel;
}

/** One exact call: the plan step and the parameters the tool will receive. */
export interface Call {
  step: number;
  action: string;
  tool: string;
  params: JsonObject;
}

/** What a run lends the gate to check a token against. */
export interface GateRun {
  readonly id: string;
  readonly tenant: string;
  readonly session: Session;
  readonly state: RuntimeState;
  readonly intent: Intent | undefined;
  readonly plan: Plan | undefined;
  /** Throws unless tools may run now (state EXECUTING). */
  requireExecuting(operation: string): void;
}

/** The outcome of a step that ran. */
export interface StepResult {
  /** Correlation id of the call. */
  call: string;
  step: number;
  action: string;
  tool: string;
  /** The tool's output, labeled with its provenance (untrusted unless the tool is a trusted source). */
  output: Labeled<unknown>;
}

/** The hash of canonical JSON text. */
export function textHash(text: string): string {
  return sha256Hex(text);
}

/**
 * Parameters the runtime itself canonicalized, hashed and deep-froze (plan steps, issued calls),
 * with their hash. Object identity plus a deep freeze means the hash still describes the object, so
 * the gate need not canonicalize and hash it again. Only this module and `Run` add entries.
 */
const ownedParams = new WeakMap<object, string>();

/** Deep-freezes parameters the runtime built (fresh objects) and records their canonical hash. */
export function ownParams(params: JsonObject, hash?: string): string {
  const known = ownedParams.get(params);
  if (known !== undefined) return known;
  freezeAll(params);
  const h = hash ?? textHash(canonicalJson(params));
  ownedParams.set(params, h);
  return h;
}

/** Freezes every object and array inside a value, also below nodes that are already frozen. */
function freezeAll(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  Object.freeze(value);
  for (const key of Object.keys(value)) freezeAll((value as Record<string, unknown>)[key]);
}

function expect(field: string, bound: string | number, actual: string | number | undefined): void {
  if (bound !== actual) throw new TokenMismatchError(field, String(bound), String(actual));
}

/** Holds the registered tools and runs them only for a call that carries a valid, unused token. */
export class Gate {
  readonly #core: RuntimeCore;
  readonly #tools = new Map<string, Readonly<ToolDefinition>>();

  constructor(core: RuntimeCore) {
    this.#core = core;
  }

  /** Registers a tool. Throws `ToolRegistrationError` for a duplicate name or a bad definition. */
  register(tool: ToolDefinition): void {
    if (!tool || typeof tool.name !== 'string' || tool.name.length === 0) throw new ToolRegistrationError(String(tool?.name), 'a tool needs a name');
    if (typeof tool.action !== 'string' || tool.action.length === 0) throw new ToolRegistrationError(tool.name, 'a tool needs the action it serves');
    if (typeof tool.run !== 'function') throw new ToolRegistrationError(tool.name, 'run must be a function');
    if (this.#tools.has(tool.name)) throw new ToolRegistrationError(tool.name, 'is already registered');
    const trust = tool.trust ?? 'external';
    if (!['system', 'user', 'external'].includes(trust)) throw new ToolRegistrationError(tool.name, `unknown trust '${String(trust)}'`);
    this.#tools.set(tool.name, Object.freeze({ name: tool.name, action: tool.action, run: tool.run, trust }));
  }

  /** The description of a registered tool, or undefined. */
  info(name: string): ToolInfo | undefined {
    const t = this.#tools.get(name);
    return t ? { name: t.name, action: t.action, trust: t.trust ?? 'external' } : undefined;
  }

  /** Every registered tool (names, actions, trust). */
  list(): ToolInfo[] {
    return [...this.#tools.keys()].map((n) => this.info(n) as ToolInfo);
  }

  /**
   * Runs a call under a token. In `enforce` mode any mismatch, replay, expiry or revocation throws
   * and the tool does not run; in `observe` mode it is audited and the tool runs anyway
   * (`decided`: the caller already decided and audited the call without a token).
   */
  execute(run: GateRun, token: unknown, call: Call, callId: string, decided = false): Promise<StepResult> {
    return promised(this.flow(run, token, call, callId, decided));
  }

  /** `execute` as a flow (synchronous while the stores and the tool are). */
  *flow(run: GateRun, token: unknown, call: Call, callId: string, decided = false): Flow<StepResult> {
    const core = this.#core;
    run.requireExecuting('run a tool');
    // The runtime's own frozen parameters come with their hash; anything else is checked, canonicalized and copied.
    let params: JsonObject | undefined;
    let hash = call !== null && typeof call === 'object' && call.params !== null && typeof call.params === 'object' ? ownedParams.get(call.params) : undefined;
    if (hash !== undefined) {
      params = call.params;
    } else {
      try {
        assertJson(call?.params, call?.action ?? '?', '/params');
        const text = canonicalJson(call.params);
        params = JSON.parse(text) as JsonObject;
        hash = ownParams(params, textHash(text));
      } catch (error) {
        this.#refused(run, call, callId, error);
        throw error;
      }
    }
    if (core.mode === 'enforce') {
      try {
        const claims = yield* this.#check(run, token, call, hash);
        const taken = yield* wait(core.tokens.take(claims.id, core.now()));
        if (taken.status === 'used') throw new TokenReplayError(claims.id);
        if (taken.status !== 'ok') throw new TokenInvalidError(taken.status === 'revoked' ? 'revoked' : taken.status === 'expired' ? 'expired' : 'unknown');
        core.auditor.write(this.#event('token.consumed', run, call, callId, { token: claims.id }));
      } catch (error) {
        this.#refused(run, call, callId, error);
        throw error;
      }
    } else if (core.mode === 'observe' && !decided) {
      try {
        yield* this.#check(run, token, call, hash);
      } catch (error) {
        core.auditor.write(this.#event('gate.observed', run, call, callId, { mode: 'observe', would_block: errorData(error) }));
      }
    }
    return yield* this.#run(run, call, callId, params);
  }

  *#check(run: GateRun, token: unknown, call: Call, paramsHash: string): Flow<TokenClaims> {
    const core = this.#core;
    const claims = core.signer.verify(token);
    if (claims.tenant !== run.tenant) throw new TenantMismatchError('token', run.tenant, claims.tenant);
    expect('session', claims.session, run.session.id);
    expect('run', claims.run, run.id);
    expect('intent', claims.intent, run.intent?.version);
    expect('plan', claims.plan, run.plan?.hash);
    expect('policy', claims.policy, core.evaluator.policy.hash);
    expect('step', claims.step, call.step);
    expect('action', claims.action, call.action);
    expect('tool', claims.tool, call.tool);
    const step = run.plan?.steps[call.step];
    expect('plan step action', step?.action ?? '', call.action);
    expect('plan step tool', step?.tool ?? '', call.tool);
    expect('tool action', this.#tools.get(call.tool)?.action ?? '', call.action);
    expect('params', claims.params, paramsHash);
    if (core.now() >= claims.exp) throw new TokenInvalidError('expired');
    yield* wait(core.sessions.check(run.session.id, run.tenant));
    return claims;
  }

  /** Runs the tool on frozen parameters and records the outcome. */
  *#run(run: GateRun, call: Call, callId: string, params: JsonObject): Flow<StepResult> {
    const core = this.#core;
    const tool = this.#tools.get(call.tool);
    if (!tool) throw new ToolRegistrationError(call.tool, 'is not registered');
    const risk = core.riskOf(call.action);
    let output: unknown;
    try {
      output = yield* wait(tool.run(params, { tenant: run.tenant, session: run.session.id, run: run.id, step: call.step, action: call.action }));
    } catch (error) {
      yield* wait(core.sessions.record(run.session.id, { action: call.action, tool: call.tool, risk, at: core.now(), outcome: 'error' }));
      core.auditor.write(this.#event('execution.failed', run, call, callId, { error: error instanceof Error ? error.message : String(error) }));
      throw new ToolExecutionError(call.tool, error);
    }
    yield* wait(core.sessions.record(run.session.id, { action: call.action, tool: call.tool, risk, at: core.now(), outcome: 'ok' }));
    core.auditor.write(this.#event('execution.completed', run, call, callId, { trust: tool.trust ?? 'external' }));
    return { call: callId, step: call.step, action: call.action, tool: call.tool, output: new Labeled(output, tool.trust ?? 'external') };
  }

  /** An audit event of a call with its correlation ids. */
  #event(type: AuditEventType, run: GateRun, call: Call, callId: string, data: JsonObject): AuditEvent {
    const event: AuditEvent = { ts: this.#core.auditor.now(), type, tenant: run.tenant, session: run.session.id, run: run.id };
    if (run.intent) event.intent = run.intent.version;
    if (run.plan) event.plan = run.plan.hash;
    (event as { step?: number | undefined }).step = call?.step;
    event.call = callId;
    (event as { action?: string | undefined }).action = call?.action;
    (event as { tool?: string | undefined }).tool = call?.tool;
    event.data = data;
    return event;
  }

  #refused(run: GateRun, call: Call, callId: string, error: unknown): void {
    this.#core.auditor.write(this.#event('token.refused', run, call, callId, errorData(error)));
  }
}

/** An error as audit data. */
export function errorData(error: unknown): { [key: string]: JsonValue } {
  if (error instanceof ApeError) return { code: error.code, message: error.message };
  return { code: 'APE_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}
