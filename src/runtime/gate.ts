/**
 * The enforcement gate: the only code that holds and runs registered tools. It checks a token
 * against the exact call, consumes it atomically, runs the tool and records the outcome.
 */
import { canonicalJson } from '../compiler/hash.js';
import type { JsonObject, JsonValue } from '../compiler/ir.js';
import { ApeError } from '../errors.js';
import type { RuntimeCore } from './core.js';
import { InputError, TenantMismatchError, TokenInvalidError, TokenMismatchError, TokenReplayError, ToolExecutionError, ToolRegistrationError } from './errors.js';
import { grantOf, type Grant } from './capability.js';
import { isPlainCopy, plainCopy, readFields } from './plain.js';
import { isThenable, promised, wait, type Flow } from './awaitable.js';
import type { AuditEvent, AuditEventType } from './audit/events.js';
import { sha256Hex } from './hmac.js';
import type { Intent } from './intent.js';
import type { Plan } from './plan.js';
import { Labeled, type ProvenanceLabel } from './provenance.js';
import type { Session } from './session.js';
import type { RuntimeState } from './state-machine.js';
import type { TokenClaims } from './tokens.js';
import type { Awaitable, SessionEntry } from './stores/types.js';

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
  // A plain copy is deeply frozen already (plainCopy freezes every node it makes).
  if (!isPlainCopy(params)) freezeAll(params);
  const h = hash ?? textHash(canonicalJson(params));
  ownedParams.set(params, h);
  return h;
}

/**
 * The canonical hash of parameters that are deeply frozen already (a plan step's, a plain copy): the
 * recorded one, else that of `text` (their canonical JSON, when the caller has it) or of their
 * canonical JSON. Records nothing: `ownParams` does when the parameters are handed to a caller.
 */
export function frozenParamsHash(params: JsonObject, text?: string): string {
  return ownedParams.get(params) ?? textHash(text ?? canonicalJson(params));
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

/** How the gate is asked to run a call. */
export interface GateCall {
  /** A string token, a `Capability`, or anything else (refused in `enforce` mode). */
  token: unknown;
  /** The call as the caller gave it (copied once here unless it is the runtime's own frozen call). */
  call: unknown;
  /** Correlation id used until the token names the call's own. */
  callId: string;
  /** Observe mode: the caller already decided and audited the call without a token. */
  decided?: boolean;
  /** The capability was minted in this same flow right after the session reservation (its liveness check stands). */
  fresh?: boolean;
  /** @internal The grant itself, from the runtime's own flow (`executeStep`): no capability object is made. */
  grant?: Grant;
}

/** Holds the registered tools and runs them only for a call that carries a valid, unused token. */
export class Gate {
  readonly #core: RuntimeCore;
  readonly #tools = new Map<string, Readonly<ToolDefinition>>();

  constructor(core: RuntimeCore) {
    this.#core = core;
  }

  /** Registers a tool. Throws `ToolRegistrationError` for a duplicate name or a bad definition. */
  register(input: ToolDefinition): void {
    let tool: Partial<Record<'name' | 'action' | 'run' | 'trust', unknown>>;
    try {
      // Read once: a getter or a proxy could show one name to the duplicate check and register another.
      tool = readFields(input, 'tool', ['name', 'action', 'run', 'trust']);
    } catch (error) {
      throw new ToolRegistrationError('?', error instanceof Error ? error.message : String(error));
    }
    const { name, action, run } = tool;
    if (typeof name !== 'string' || name.length === 0) throw new ToolRegistrationError(String(name), 'a tool needs a name');
    if (typeof action !== 'string' || action.length === 0) throw new ToolRegistrationError(name, 'a tool needs the action it serves');
    if (typeof run !== 'function') throw new ToolRegistrationError(name, 'run must be a function');
    if (this.#tools.has(name)) throw new ToolRegistrationError(name, 'is already registered');
    const trust = tool.trust ?? 'external';
    if (trust !== 'system' && trust !== 'user' && trust !== 'external') throw new ToolRegistrationError(name, `unknown trust '${String(trust)}'`);
    this.#tools.set(name, Object.freeze({ name, action, run: run as ToolDefinition['run'], trust }));
  }

  /** The description of a registered tool, or undefined. */
  info(name: string): ToolInfo | undefined {
    const t = this.#tools.get(name);
    return t ? { name: t.name, action: t.action, trust: t.trust ?? 'external' } : undefined;
  }

  /** The action a registered tool serves, or undefined. */
  actionOf(name: string): string | undefined {
    return this.#tools.get(name)?.action;
  }

  /** Every registered tool (names, actions, trust). */
  list(): ToolInfo[] {
    return [...this.#tools.keys()].map((n) => this.info(n) as ToolInfo);
  }

  /**
   * Runs a call under a token. In `enforce` mode any mismatch, replay, expiry or revocation throws
   * and the tool does not run; in `observe` mode it is audited and the tool runs anyway.
   */
  execute(run: GateRun, request: GateCall): Promise<StepResult> {
    return promised(this.flow(run, request));
  }

  /** `execute` as a flow (synchronous while the stores and the tool are). */
  *flow(run: GateRun, request: GateCall): Flow<StepResult> {
    const core = this.#core;
    run.requireExecuting('run a tool');
    const grant = request.grant ?? grantOf(request.token);
    let callId = request.callId;
    let call: Call;
    let hash: string;
    if (grant && request.call === grant.call) {
      // The runtime's own frozen call, minted with the capability: nothing to copy or hash.
      call = grant.call as Call;
      hash = grant.claims.params;
      callId = grant.claims.call;
    } else {
      try {
        ({ call, hash } = ownCall(request.call));
      } catch (error) {
        this.#audit('input.refused', run, undefined, grant?.claims.call ?? callId, errorData(error));
        throw error;
      }
    }
    if (core.mode === 'enforce') {
      try {
        const claims = this.#check(run, request.token, grant, call, hash);
        if (request.fresh !== true) {
          const live = core.sessions.check(run.session.id, run.tenant);
          if (isThenable(live)) yield live;
        }
        callId = claims.call;
        if (grant) {
          if (grant.used) throw new TokenReplayError(claims.id);
          grant.used = true;
        }
        if (!grant || grant.stored) {
          const taken = yield* wait(core.tokens.take(claims.id, core.now(), claims.tenant));
          if (taken.status === 'used') throw new TokenReplayError(claims.id);
          if (taken.status !== 'ok') throw new TokenInvalidError(taken.status === 'revoked' ? 'revoked' : taken.status === 'expired' ? 'expired' : 'unknown');
        }
        if (core.auditor.active) core.auditor.write(this.#event('token.consumed', run, call, callId, { token: claims.id }));
      } catch (error) {
        this.#audit('token.refused', run, call, callId, errorData(error));
        throw error;
      }
    } else if (core.mode === 'observe' && request.decided !== true) {
      try {
        const claims = this.#check(run, request.token, grant, call, hash);
        const live = core.sessions.check(run.session.id, run.tenant);
        if (isThenable(live)) yield live;
        callId = claims.call;
      } catch (error) {
        this.#audit('gate.observed', run, call, callId, { mode: 'observe', would_block: errorData(error) });
      }
    }
    return yield* this.#run(run, call, callId);
  }

  /** Checks a token or grant against the run and the exact call (the session's liveness is checked by the caller). */
  #check(run: GateRun, token: unknown, grant: Grant | undefined, call: Call, paramsHash: string): Readonly<TokenClaims> {
    const core = this.#core;
    const claims = grant ? grant.claims : core.signer.verify(token);
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
    const now = core.now();
    if (now >= claims.exp) throw new TokenInvalidError('expired');
    // Issued "in the future": the issuer's clock runs ahead, or this one was set back; either would stretch the lifetime.
    if (claims.iat > now + core.clockSkewMs) throw new TokenInvalidError('not_yet_valid');
    return claims;
  }

  /** Runs the tool on frozen parameters and records the outcome. */
  *#run(run: GateRun, call: Call, callId: string): Flow<StepResult> {
    const core = this.#core;
    const tool = this.#tools.get(call.tool);
    if (!tool) throw new ToolRegistrationError(call.tool, 'is not registered');
    const risk = core.riskOf(call.action);
    let output: unknown;
    try {
      output = tool.run(call.params, { tenant: run.tenant, session: run.session.id, run: run.id, step: call.step, action: call.action });
      if (isThenable(output)) output = yield output;
    } catch (error) {
      yield* wait(this.#record(run, { action: call.action, tool: call.tool, risk, at: core.now(), outcome: 'error' }));
      this.#audit('execution.failed', run, call, callId, { error: error instanceof Error ? error.message : String(error) });
      throw new ToolExecutionError(call.tool, error);
    }
    const recorded = this.#record(run, { action: call.action, tool: call.tool, risk, at: core.now(), outcome: 'ok' });
    if (isThenable(recorded)) yield recorded;
    if (core.auditor.active) core.auditor.write(this.#event('execution.completed', run, call, callId, { trust: tool.trust ?? 'external' }));
    // Provenance by origin: the output is what the agent reads next; later arguments are looked up in it.
    core.origins?.of(run.session.id).recordOutput(call.action, output, tool.trust ?? 'external');
    return { call: callId, step: call.step, action: call.action, tool: call.tool, output: new Labeled(output, tool.trust ?? 'external') };
  }

  /** Records the outcome: enforced calls reserved their action and risk before running; others are counted now. */
  #record(run: GateRun, entry: SessionEntry): Awaitable<unknown> {
    const sessions = this.#core.sessions;
    return this.#core.mode === 'enforce' ? sessions.complete(run.session.id, entry) : sessions.record(run.session.id, entry);
  }

  /** An audit event of a call with its correlation ids (`call` undefined: the call itself was refused). */
  #event(type: AuditEventType, run: GateRun, call: Call | undefined, callId: string, data: JsonObject): AuditEvent {
    const event: AuditEvent = { ts: this.#core.auditor.now(), type, tenant: run.tenant, session: run.session.id, run: run.id };
    if (run.intent) event.intent = run.intent.version;
    if (run.plan) event.plan = run.plan.hash;
    if (call) event.step = call.step;
    event.call = callId;
    if (call) {
      event.action = call.action;
      event.tool = call.tool;
    }
    event.data = data;
    return event;
  }

  #audit(type: AuditEventType, run: GateRun, call: Call | undefined, callId: string, data: JsonObject): void {
    if (this.#core.auditor.active) this.#core.auditor.write(this.#event(type, run, call, callId, data));
  }
}

/**
 * The call as plain frozen data, read once: the runtime's own frozen parameters keep their hash,
 * anything else is copied (refusing getters, proxies and non-JSON values), canonicalized and hashed.
 */
export function ownCall(input: unknown): { call: Call; hash: string } {
  const f = readFields(input, 'call', ['step', 'action', 'tool', 'params']);
  if (!Number.isInteger(f.step)) throw new InputError('call', '/step', 'must be an integer');
  if (typeof f.action !== 'string') throw new InputError('call', '/action', 'must be a string');
  if (typeof f.tool !== 'string') throw new InputError('call', '/tool', 'must be a string');
  let params = f.params as JsonObject;
  let hash = params !== null && typeof params === 'object' ? ownedParams.get(params) : undefined;
  if (hash === undefined) {
    const copy = plainCopy(f.params, 'call', {});
    if (copy === null || typeof copy !== 'object' || Array.isArray(copy)) throw new InputError('call', '/params', 'must be an object');
    const text = canonicalJson(copy);
    params = JSON.parse(text) as JsonObject;
    hash = ownParams(params, textHash(text));
  }
  return { call: Object.freeze({ step: f.step as number, action: f.action, tool: f.tool, params }), hash };
}

/** An error as audit data. */
export function errorData(error: unknown): { [key: string]: JsonValue } {
  if (error instanceof ApeError) return { code: error.code, message: error.message };
  return { code: 'APE_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}
