/** The agent facade: `Ape.fromPolicy` builds a runtime on a policy; `guard`/`call` run one tool call through its gate. */
import type { CompiledPolicy, DecisionRequest, DecisionResult, JsonObject } from '../compiler/index.js';
import { createEvaluator, type EngineOptions, type Evaluator } from '../index.js';
import {
  ApeRuntime,
  createIntent,
  EscalationRequiredError,
  PlanValidationError,
  PolicyDenyError,
  SessionExpiredError,
  unwrap,
  type ApprovalHandler,
  type ApprovalRequest,
  type ApprovalResponse,
  type Intent,
  type IntentInput,
  type PlanInput,
  type PlanStepInput,
  type AuditSink,
  type GateMode,
  type RateLimitsIR,
  type Run,
  type RuntimeStores,
  type Session,
  type DecisionLogEntry,
  type OriginOptions,
  sessionContext,
  plainCallPlan,
} from '../runtime/index.js';
import { ParameterValidationError } from '../index.js';
import { AgentClosedError, AgentConfigError } from './errors.js';
import { plainObject } from './json-copy.js';
import { loadPolicy, type PolicyInput } from './policy-source.js';
import * as orchestrator from './orchestrator.js';
import type { Analysis, ExecuteOptions, ExecutionResult } from './orchestrator.js';
import { AgentSession, type AgentSessionOptions } from './session.js';
import { SessionKeeper } from './session-keeper.js';

/** Options of `Ape.fromPolicy`. */
export interface ApeOptions {
  /** Engine name (default `native`); any engine `createEvaluator` knows. */
  engine?: string;
  /** Engine options, e.g. `{ opaUrl }`. */
  engineOptions?: EngineOptions;
  /** Default approver for escalated calls; a call's own `approve` overrides it. */
  approvals?: ApprovalHandler;
  /** Audit sinks. */
  audit?: AuditSink[];
  /** State stores (tokens, approvals, counters, sessions); in-memory by default. */
  stores?: RuntimeStores;
  /** Tenant of every call (default `default`). */
  tenant?: string;
  /** Gate mode: `enforce` (default), `observe` or `disabled`. */
  mode?: GateMode;
  /** HMAC key for tokens (>= 32 bytes); random per process when omitted. */
  signingKey?: string | Uint8Array;
  /** Clock in epoch milliseconds (tests pass a fake one). */
  now?: () => number;
  /** Lifetime of the Ape's default session (default one hour); it is renewed before it runs out. */
  sessionTtlMs?: number;
  /** How long an approver may take (default 5 minutes). */
  approvalTimeoutMs?: number;
  /** Rate limits in code, besides the policy's. */
  rateLimits?: RateLimitsIR;
  /** Parameter names or dotted paths redacted in audit events, besides the default secret names. */
  sensitiveParams?: string[];
  /**
   * Provenance by origin (docs/provenance.md): every tool output of a session is recorded, the
   * prompts given to `execute` and the inputs given to `recordInput` too, and each argument of a
   * later call is labeled by where its value occurs. `true` for the default matching options.
   */
  origins?: boolean | OriginOptions;
  /** Told every request the engine decided for a call and its result (see `RuntimeOptions.decisionLog`); a guarded call logs its `call` stage only. */
  decisionLog?: (entry: DecisionLogEntry) => void;
}

/** `policyStatus()`: the current policy and, when a live source feeds this Ape, its last reload attempt and error. */
export interface ApePolicyStatus {
  name: string;
  version: string;
  hash: string;
  /** Where the policy comes from: the live source's description, else the policy's file. */
  source: string;
  loadedAt: number;
  swaps: number;
  signedBy?: string;
  lastAttempt?: { at: number; outcome: 'swapped' | 'unchanged' | 'refused' };
  lastError?: { at: number; code: string; message: string };
}

/** What feeds an Ape new policies (the distribution layer's live policy): its status, and how to stop it. */
export interface PolicyFeed {
  status(): ApePolicyStatus;
  close(): Promise<void>;
}

/** Options of one guarded call. */
export interface CallOptions {
  /** Tool name in the audit trail (default: the action id). */
  tool?: string;
  /** Request context for the policy (`context.*`). */
  context?: JsonObject;
  /**
   * Approver of this call, overriding `ApeOptions.approvals`. It gets the request with the canonical
   * parameters; an answer with edited parameters is decided again by the runtime.
   */
  approve?: ApprovalHandler;
  /** Run inside this session instead of the Ape's default one. */
  session?: AgentSession;
}

/** Options of `Ape.check`. */
export interface CheckOptions {
  context?: JsonObject;
  /** Decide with the facts of this session (default: the Ape's default session). */
  session?: AgentSession;
}

/** A tool function: the parameters (a frozen canonical copy) in, the result out. */
export type ToolFunction<P, R> = (params: P) => R | Promise<R>;

/** A guarded tool: same parameters, always asynchronous. */
export type GuardedTool<P, R> = (params: P) => Promise<R>;

/** What a run of this Ape binds: its approver and, for a guarded call, the function of its one tool. */
interface RunBinding {
  approve?: ApprovalHandler | undefined;
  /** Set for a guarded call: its one step runs right after approval, so the policy decides it at execution only, once. */
  tool?: { name: string; fn: (params: Readonly<JsonObject>) => unknown } | undefined;
}

/** Options of `Ape.runSteps` (used by the orchestrator): a run with its own approver. */
export interface RunBindingOptions {
  approve?: ApprovalHandler | undefined;
}

const DEFAULT_SESSION_TTL_MS = 3_600_000;
/** Most cached one-step intents (one per action guarded). */
const MAX_CALL_INTENTS = 1024;

/** APE for an agent developer: one object holding the policy, the runtime, the tools and a default session. */
export class Ape {
  /** The runtime underneath: tools run only through its gate. */
  readonly runtime: ApeRuntime;
  /** The tenant of every call. */
  readonly tenant: string;
  #evaluator: Evaluator;
  readonly #engine: string;
  readonly #engineOptions: EngineOptions;
  readonly #createdAt: number;
  #feed: PolicyFeed | undefined;
  readonly #now: () => number;
  readonly #defaultApprover: ApprovalHandler | undefined;
  readonly #runs = new Map<string, RunBinding>();
  /** Tool name -> action, for the dispatchers registered in the runtime. */
  readonly #toolActions = new Map<string, string>();
  /** Tool name -> function of tools registered once with `tool()` (the orchestrator's tools). */
  readonly #toolFns = new Map<string, (params: Readonly<JsonObject>) => unknown>();
  readonly #keeper: SessionKeeper;
  /** Action -> the validated one-step intent of a guarded call (immutable; the run still sets it itself). */
  readonly #callIntents = new Map<string, Intent>();
  #closed = false;

  private constructor(evaluator: Evaluator, options: ApeOptions) {
    const tenant = options.tenant ?? 'default';
    if (typeof tenant !== 'string' || tenant.length === 0) throw new AgentConfigError('tenant must be a non-empty string');
    if (options.approvals !== undefined && typeof options.approvals !== 'function') throw new AgentConfigError('approvals must be a function');
    this.tenant = tenant;
    this.#evaluator = evaluator;
    this.#engine = options.engine ?? 'native';
    this.#engineOptions = { ...(options.engineOptions ?? {}) };
    this.#now = options.now ?? Date.now;
    this.#createdAt = this.#now();
    this.#defaultApprover = options.approvals;
    const sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.runtime = new ApeRuntime({
      evaluator,
      approvalHandler: (request) => this.#approve(request),
      sessionTtlMs,
      ...(options.audit !== undefined ? { audit: options.audit } : {}),
      ...(options.stores !== undefined ? { stores: options.stores } : {}),
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
      ...(options.signingKey !== undefined ? { signingKey: options.signingKey } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...(options.approvalTimeoutMs !== undefined ? { approvalTimeoutMs: options.approvalTimeoutMs } : {}),
      ...(options.rateLimits !== undefined ? { rateLimits: options.rateLimits } : {}),
      ...(options.sensitiveParams !== undefined ? { sensitiveParams: options.sensitiveParams } : {}),
      ...(options.origins !== undefined ? { origins: options.origins } : {}),
      ...(options.decisionLog !== undefined ? { decisionLog: options.decisionLog } : {}),
    });
    this.#keeper = new SessionKeeper(this.runtime, tenant, sessionTtlMs, this.#now);
  }

  /**
   * Builds an Ape on a policy: a file path (an existing file, or a name ending in `.yaml`/`.yml`),
   * YAML text, or a compiled policy. Throws `PolicyLoadError`, `PolicyCompileError`,
   * `UnknownEngineError` or `RuntimeConfigError`.
   */
  static async fromPolicy(policy: PolicyInput, options: ApeOptions = {}): Promise<Ape> {
    const compiled = loadPolicy(policy);
    const evaluator = await createEvaluator(compiled, options.engine ?? 'native', options.engineOptions ?? {});
    let ape: Ape;
    try {
      ape = new Ape(evaluator, options);
    } catch (error) {
      await evaluator.close();
      throw error;
    }
    return ape;
  }

  /**
   * Installs a new policy: a new evaluator on this Ape's engine, swapped into the runtime in one step (decisions in flight
   * finish on their version; tokens and approvals of the old version are refused; the old evaluator is closed once its
   * last decision ended). Throws (nothing changes) when the engine cannot load it. Live sources call this
   * (`watchApe` in `ape-policy-engine/distribution`).
   */
  async replacePolicy(next: CompiledPolicy, info: { source?: string } = {}): Promise<void> {
    this.#open();
    const evaluator = await createEvaluator(next, this.#engine, this.#engineOptions);
    let swapped: { previous: Evaluator; drained: Promise<void> };
    try {
      this.#open();
      swapped = this.runtime.swapPolicy(evaluator, info);
    } catch (error) {
      await evaluator.close();
      throw error;
    }
    this.#evaluator = evaluator;
    void swapped.drained.then(() => swapped.previous.close()).catch(() => undefined);
  }

  /** Attaches the feed of new policies whose status `policyStatus()` reports (one per Ape); `close()` closes it. */
  attachPolicyFeed(feed: PolicyFeed): void {
    this.#open();
    if (this.#feed) throw new AgentConfigError('this Ape already has a policy feed');
    this.#feed = feed;
  }

  /** The current policy's version, hash and source, the last reload attempt and the last error. */
  policyStatus(): ApePolicyStatus {
    if (this.#feed) return this.#feed.status();
    const policy = this.policy;
    return { name: policy.ir.name, version: policy.ir.version, hash: policy.hash, source: policy.file, loadedAt: this.#createdAt, swaps: 0 };
  }

  /** The policy every call is decided on. */
  get policy(): CompiledPolicy {
    return this.#evaluator.policy;
  }

  /** The evaluator (engine) deciding calls. */
  get evaluator(): Evaluator {
    return this.#evaluator;
  }

  /** The clock of this Ape. */
  now(): number {
    return this.#now();
  }

  /**
   * Guards one tool: the returned function decides each exact call, issues a single-use authority
   * bound to it, runs `fn` through the gate and audits. Deny throws `PolicyDenyError`, an escalation
   * without an approver `EscalationRequiredError`, a refusal `EscalationDeniedError`: `fn` never runs then.
   * A failure of `fn` is a `ToolExecutionError` carrying it as `cause`.
   */
  guard<P extends object = JsonObject, R = unknown>(action: string, fn: ToolFunction<P, R>, options: CallOptions = {}): GuardedTool<P, R> {
    if (typeof action !== 'string' || action.length === 0) throw new AgentConfigError('guard needs an action id');
    if (typeof fn !== 'function') throw new AgentConfigError(`guard('${action}'): the tool must be a function`);
    const fixed = { ...options };
    this.#ensureTool(fixed.tool ?? action, action);
    return (params: P) => this.call<R, P>(action, params, fn, fixed);
  }

  /** Runs one guarded call without keeping a wrapper (dynamic tools: MCP, frameworks). See `guard`. */
  async call<R, P extends object = JsonObject>(action: string, params: P, fn: ToolFunction<P, R>, options: CallOptions = {}): Promise<R> {
    this.#open();
    if (typeof fn !== 'function') throw new AgentConfigError(`call('${action}'): the tool must be a function`);
    const approve = options.approve;
    if (approve !== undefined && typeof approve !== 'function') throw new AgentConfigError(`call('${action}'): approve must be a function`);
    const tool = options.tool ?? action;
    const plain = plainObject(params, action, '');
    const context = options.context === undefined ? undefined : plainObject(options.context, action, '/context');
    this.#ensureTool(tool, action);
    const binding: RunBinding = { approve, tool: { name: tool, fn: fn as unknown as (params: Readonly<JsonObject>) => unknown } };
    const result = await this.#runSteps(
      this.#callIntent(action),
      [{ action, tool, parameters: plain }],
      binding,
      options.session,
      (run) => (context === undefined ? run.executeStep(0) : run.executeStep(0, { context })),
    );
    return result.output.value as R;
  }

  /** Decides a call only: nothing runs, no token, no approval is asked. */
  async check(action: string, params: object, options: CheckOptions = {}): Promise<DecisionResult> {
    this.#open();
    const plain = plainObject(params, action, '');
    const context = options.context === undefined ? {} : plainObject(options.context, action, '/context');
    const session = options.session ? await options.session.runtimeSession() : await this.#keeper.current();
    const facts = await this.sessionFacts(session);
    // Labeled as a call is: by where each value occurs with origins on, else as the caller's (`user`, or its wrappers).
    const found = this.runtime.tracksOrigins ? this.runtime.labelByOrigin(session, plain, action) : undefined;
    const request: DecisionRequest = found
      ? { action, params: found.value, context: { ...context, session: { ...facts.context, ...found.facts } }, provenance: found.labels, sources: found.sources }
      : { action, params: plain, context: { ...context, session: facts.context }, provenance: unwrap(plain, 'user').labels };
    if (facts.lastAction !== undefined) request.previous_action = facts.lastAction;
    return this.#evaluator.decide(request);
  }

  /**
   * Records a trusted input for provenance by origin: the user's prompt or message (`user`) or
   * system configuration (`system`), in a session (the default session when none is given).
   * Values later found in it are labeled by it. Throws `AgentConfigError` unless `origins` is on.
   */
  async recordInput(place: 'user' | 'system', value: unknown, options: { session?: AgentSession } = {}): Promise<void> {
    this.#open();
    if (!this.runtime.tracksOrigins) throw new AgentConfigError('recordInput needs provenance by origin: create the Ape with { origins: true }');
    const session = options.session ? await options.session.runtimeSession() : await this.#keeper.current();
    this.runtime.origins(session).recordInput(place, value);
  }

  /** Opens a session (its own TTL, usage and risk) to run calls and prompts in. */
  createSession(options: AgentSessionOptions = {}): AgentSession {
    this.#open();
    return new AgentSession(this, options);
  }

  /** The Ape's default session (opened on first use, renewed before it runs out). */
  defaultSession(): Promise<Session> {
    this.#open();
    return this.#keeper.current();
  }

  /** Registers a tool once for the orchestrator (`execute`, `executePlan`): it runs only through the gate. */
  tool<P extends object = JsonObject, R = unknown>(action: string, fn: ToolFunction<P, R>, options: { name?: string } = {}): void {
    this.#open();
    const name = options.name ?? action;
    if (typeof fn !== 'function') throw new AgentConfigError(`tool '${name}': must be a function`);
    if (this.#toolFns.has(name)) throw new AgentConfigError(`tool '${name}' is already registered`);
    this.#ensureTool(name, action);
    this.#toolFns.set(name, fn as unknown as (params: Readonly<JsonObject>) => unknown);
  }

  /** The action a registered tool serves, or undefined. */
  toolAction(tool: string): string | undefined {
    return this.#toolFns.has(tool) ? this.#toolActions.get(tool) : undefined;
  }

  /**
   * Prompt to execution: the intent (deterministic, narrowed by the policy), the plan, and each step
   * decided and run through the gate. Never throws for a refused prompt or step: see `status`.
   */
  execute(prompt: string, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    this.#open();
    return orchestrator.execute(this, prompt, options);
  }

  /** `execute`, but anything short of `completed` throws the typed error (`PolicyDenyError`, `EscalationRequiredError`, `IntentAmbiguityError`, ...). */
  async executeOrThrow(prompt: string, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    const result = await this.execute(prompt, options);
    const error = orchestrator.errorOf(result);
    if (error) throw error;
    return result;
  }

  /** Executes a plan the caller brings (its own planner), under `options.intent` or the plan's actions narrowed by the policy. */
  executePlan(plan: PlanInput, options: ExecuteOptions & { intent?: IntentInput } = {}): Promise<ExecutionResult> {
    this.#open();
    return orchestrator.executePlan(this, plan, options);
  }

  /** The intent, the plan and every step's decision, without running anything. Throws `IntentAmbiguityError` and the other typed errors. */
  analyze(prompt: string, options: ExecuteOptions = {}): Promise<Analysis> {
    this.#open();
    return orchestrator.analyze(this, prompt, options);
  }

  /** Answers pending approvals of an execution (by request id) and runs the approved steps. */
  resume(result: ExecutionResult, answers: Record<string, ApprovalResponse>): Promise<ExecutionResult> {
    this.#open();
    return orchestrator.resume(this, result, answers);
  }

  /** The registered tool names serving an action. */
  toolsFor(action: string): string[] {
    return [...this.#toolActions].filter(([name, a]) => a === action && this.#toolFns.has(name)).map(([name]) => name);
  }

  /**
   * Runs steps in a fresh run of a session: intent, plan, start, then `body`; the run is terminated
   * afterwards and its bindings dropped. The building block of guarded calls and the orchestrator.
   */
  runSteps<T>(intent: IntentInput, steps: PlanStepInput[], options: RunBindingOptions & { session?: AgentSession }, body: (run: Run) => Promise<T>): Promise<T> {
    return this.#runSteps(intent, steps, { approve: options.approve }, options.session, body);
  }

  async #runSteps<T>(intent: IntentInput | Intent, steps: PlanStepInput[], binding: RunBinding, session: AgentSession | undefined, body: (run: Run) => Promise<T>): Promise<T> {
    this.#open();
    const handle = session ? await session.runtimeSession() : (this.#keeper.ready() ?? (await this.#keeper.current()));
    const run = await this.runtime.createRun(handle);
    this.#runs.set(run.id, binding);
    try {
      await run.setIntent(intent);
      try {
        // A guarded call's step is executed at once by this run: decided there only (one decision per call).
        // A guarded call's one step is built from its copied parameters without another walk (see `plainCallPlan`).
        const single = binding.tool && steps.length === 1 ? steps[0] : undefined;
        await run.approvePlan(single ? plainCallPlan(single.action, single.tool, single.parameters) : { steps }, binding.tool ? { decideAtExecution: true } : {});
      } catch (error) {
        if (binding.tool && error instanceof PlanValidationError && error.reason === 'parameters') {
          // A guarded call has no plan of its own: bad parameters are the caller's.
          throw new ParameterValidationError(steps[0]?.action ?? '?', '', error.message.replace(/^plan step \d+: parameters ?/, ''));
        }
        throw await this.#asDeny(error, steps, session);
      }
      run.start();
      return await body(run);
    } finally {
      this.#runs.delete(run.id);
      await run.terminate();
      if (session) await session.refresh().catch(() => undefined);
    }
  }

  /**
   * Binds an approver to a run the caller manages itself (the orchestrator's long-lived runs).
   * Returns the function that unbinds it.
   */
  bindRun(run: Run, binding: RunBindingOptions): () => void {
    this.#runs.set(run.id, binding);
    return () => this.#runs.delete(run.id);
  }

  /** The session facts the policy sees as `context.session`, and the last action. */
  async sessionFacts(session: Session): Promise<{ context: JsonObject; lastAction?: string }> {
    const s = await this.runtime.sessionSummary(session);
    if (s.state !== 'active') throw new SessionExpiredError(s.id, s.state);
    // The same facts the runtime hands the engine when it decides a call.
    const context: JsonObject = sessionContext(s, this.#now());
    return s.lastAction === undefined ? { context } : { context, lastAction: s.lastAction };
  }

  /** Closes the Ape: the default session is revoked (outstanding tokens with it) and the engine released. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#feed?.close();
    } catch {
      // stopping the watch cannot fail the close
    }
    try {
      await orchestrator.cancelPending(this);
      await this.#keeper.close();
    } finally {
      await this.#evaluator.close();
    }
  }

  /** Whether `close` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  // ---- internals ----

  #open(): void {
    if (this.#closed) throw new AgentClosedError();
  }

  /**
   * The intent of a guarded call of `action`: validated once by the runtime's `createIntent` and
   * reused (a genuine, frozen intent; `setIntent` still checks its tenant and audits it per run).
   * An intent the runtime refuses is handed over as written, so the run refuses and audits it as before.
   */
  #callIntent(action: string): IntentInput | Intent {
    let intent = this.#callIntents.get(action);
    if (intent === undefined) {
      const input: IntentInput = { allowed_actions: [action], description: `guarded call of ${action}` };
      try {
        intent = createIntent(input, { tenant: this.tenant });
      } catch {
        return input;
      }
      // Bounded: callers may name any action (dynamic tools); an unbounded map would grow with them.
      if (this.#callIntents.size >= MAX_CALL_INTENTS) this.#callIntents.clear();
      this.#callIntents.set(action, intent);
    }
    return intent;
  }

  /** Registers the dispatcher of a tool name in the runtime once; the function is chosen per run. */
  #ensureTool(name: string, action: string): void {
    if (typeof name !== 'string' || name.length === 0) throw new AgentConfigError('a tool needs a name');
    const known = this.#toolActions.get(name);
    if (known !== undefined) {
      if (known !== action) throw new AgentConfigError(`tool '${name}' serves action '${known}', not '${action}'`);
      return;
    }
    this.runtime.registerTool({
      name,
      action,
      run: (params, ctx) => {
        const bound = this.#runs.get(ctx.run)?.tool;
        const fn = bound && bound.name === name ? bound.fn : this.#toolFns.get(name);
        if (!fn) throw new AgentConfigError(`tool '${name}' has no function in this run`);
        return fn(params);
      },
    });
    this.#toolActions.set(name, action);
  }

  /** The runtime's approval handler: the run's own approver, else the Ape's default, else the request stays pending. */
  #approve(request: ApprovalRequest): Promise<ApprovalResponse> {
    const handler = this.#runs.get(request.run)?.approve ?? this.#defaultApprover;
    if (!handler) throw new EscalationRequiredError(request.action ?? request.kind, request.rule ?? null, request.id);
    return handler(request);
  }

  /** A plan refused by the policy is a `PolicyDenyError` with the rule and reasons of the decision. */
  async #asDeny(error: unknown, steps: PlanStepInput[], session: AgentSession | undefined): Promise<unknown> {
    if (!(error instanceof PlanValidationError) || error.reason !== 'policy') return error;
    const step = steps[error.step];
    if (!step) return error;
    try {
      const decision = await this.check(step.action, step.parameters ?? {}, session ? { session } : {});
      if (decision.decision === 'deny') return new PolicyDenyError(step.action, decision.rule, decision.reasons);
    } catch {
      // the decision failed again: report the plan error
    }
    return new PolicyDenyError(step.action, null, [error.message]);
  }
}

