/** A run: one state machine taking an intent and a plan to execution, issuing tokens only for calls the policy allowed. */
import { randomUUID } from 'node:crypto';
import { actionDefinition } from '../compiler/engine-input.js';
import { canonicalJson } from '../compiler/hash.js';
import type { Evaluator } from '../evaluator.js';
import type { DecisionRequest } from '../compiler/engine-input.js';
import type { DecisionResult, JsonObject, JsonValue } from '../compiler/ir.js';
import { ApeError, ParameterValidationError } from '../errors.js';
import { Capability, type Grant } from './capability.js';
import { callTargets } from './call-targets.js';
import type { RuntimeCore } from './core.js';
import {
  ApprovalError,
  EscalationDeniedError,
  EscalationRequiredError,
  InputError,
  PlanValidationError,
  PolicyDenyError,
  ProvenanceError,
  RuntimeStateError,
  SessionContentionError,
  SessionExpiredError,
  TenantMismatchError,
} from './errors.js';
import { applyAnswer, approvalCallHash, readAnswer, settleApproval, type BoundApproval } from './approvals.js';
import { askApprover, type ApprovalRecord, type ApprovalRequest } from './escalation.js';
import { deepFreeze } from './freeze.js';
import { drive, isThenable, promised, wait, type Flow } from './awaitable.js';
import type { AuditEvent, AuditEventType } from './audit/events.js';
import { errorData, frozenParamsHash, ownParams, textHash, type Call, type Gate, type GateRun, type StepResult } from './gate.js';
import { createIntent, intentDecision, isGenuineIntent, scopeViolation, type Intent } from './intent.js';
import { approvePlan, canonicalParamsText, isGenuinePlan, stepValidator, type Plan, type PlanStep, type StepVerdict } from './plan.js';
import { copyOnce, plainCopy, readFields, type CopiedValue, type PlainValue } from './plain.js';
import { isTrusted, Labeled, requireTrusted, uniformLabels, unwrap, unwrapExplicit, type ProvenanceLabel, type Unwrapped } from './provenance.js';
import { identifierPaths, labelByOrigin } from './origin.js';
import { sessionContext, type Session } from './session.js';
import type { ReserveResult, SessionRecord } from './stores/types.js';
import { StateMachine, type RuntimeState } from './state-machine.js';
import type { RecordScope } from './stores/types.js';
import { TokenSigner, type TokenClaims } from './tokens.js';

/** Options of one step's authorization. */
export interface StepOptions {
  /** Values for the step's run-time `inputs` (plain values count as untrusted unless wrapped in `label(v, 'user')`). */
  inputs?: Record<string, unknown>;
  /** Extra request context for the policy (`context.*`); `session` is reserved for the runtime. */
  context?: JsonObject;
  /** An approval id granted earlier (through `resolveEscalation`) for exactly this call. */
  approval?: string;
}

/** Options of `Run.approvePlan`. */
export interface PlanApprovalOptions {
  /** Provenance of unlabeled plan data (default `user`). */
  source?: ProvenanceLabel;
  /**
   * Skip the policy's decision of each step at approval and let the step be decided only when this
   * run executes it (`executeStep`/`authorize` always decide, with the session facts of that moment).
   * The plan's shape, tools, schemas, intent and intent scope are still checked at approval. For a
   * plan executed right away by the same run, such as a guarded call (`Ape.call`/`guard`): the call
   * is decided once, and `decisionLog` sees only its `call` stage. A plan shown or approved ahead of
   * execution (the orchestrator's) should keep the default (`false`), so a denied step refuses the plan.
   * In `disabled` mode execution decides nothing, so the plan stage still decides (never blocking).
   */
  decideAtExecution?: boolean;
}

/** Authority issued for one exact call. */
export interface Authorization {
  /** The signed token text (made when first read): for another process or runtime sharing the key and the stores. */
  readonly token: string;
  /** The same authority as an in-process capability: unforgeable, single-use, checked without any cryptography. */
  readonly capability: Capability;
  tokenId: string;
  /** Correlation id of the call. */
  callId: string;
  call: Readonly<Call>;
  decision: DecisionResult;
  /** The approval that let an escalated call through, if any. */
  approval?: string;
}

/** What the authorization flow issues: the grant (claims and exact call) before it becomes an `Authorization` or runs. */
interface Issued {
  grant: Grant;
  callId: string;
  decision: DecisionResult;
  approval?: string;
}

/** The caller's view of an issued grant: a capability (minted now) and the signed token text (made when first read). */
function authorization(issued: Issued, signer: TokenSigner): Authorization {
  const grant = issued.grant;
  Object.freeze(grant.claims);
  const call = Object.freeze(grant.call as Call);
  // The caller may hand this call back (`execute`): its frozen parameters keep the hash the claims carry.
  ownParams(call.params, grant.claims.params);
  const capability = Capability.mint(grant);
  let text: string | undefined;
  const auth = {
    get token(): string {
      return (text ??= signer.sign(grant.claims));
    },
    capability,
    tokenId: grant.claims.id,
    callId: issued.callId,
    call,
    decision: issued.decision,
  } as Authorization;
  if (issued.approval) auth.approval = issued.approval;
  return auth;
}

interface Candidate {
  step: PlanStep;
  index: number;
  params: JsonObject;
  labels: Record<string, ProvenanceLabel>;
  /** Paths whose label the caller gave explicitly (a wrapper, an approver's edit: `all`); the others are labeled by origin when origins are tracked. */
  explicit: ReadonlySet<string> | 'all';
  /** The plan's source label: a plan from an untrusted source caps the origin labels of its values. */
  cap: ProvenanceLabel;
  callId: string;
  /** Set when the call runs the plan's own frozen parameters unchanged (no run-time inputs). */
  planned?: PlannedStep;
  /** Set when the step is decided at plan approval (not a call about to run). */
  atPlan?: true;
}

/**
 * What never changes for a plan step without run-time inputs while its plan is approved: the
 * parameters were validated and scope-checked at approval, are frozen, and the intent is fixed.
 */
interface PlannedStep {
  labels: Readonly<Record<string, ProvenanceLabel>>;
  explicit: ReadonlySet<string>;
  /** Hash of the canonical parameters (the token's `params` claim). */
  hash: string;
  verdict: ReturnType<typeof intentDecision>;
  outside: string | undefined;
  /** The parameters as audit events show them (redacted, frozen), built on first use. */
  redacted?: JsonValue;
}

/** One agent run under one session: intent, plan, execution. Create it with `ApeRuntime.createRun`. */
export class Run implements GateRun {
  readonly #id = `run_${randomUUID()}`;
  readonly #tenant: string;
  readonly #session: Session;
  readonly #core: RuntimeCore;
  readonly #gate: Gate;
  readonly #machine: StateMachine;
  #intent: Intent | undefined;
  #plan: Plan | undefined;
  #calls = 0;
  /** Per step of the approved plan, its constant parts (see `PlannedStep`); reset with the plan. */
  #planned: (PlannedStep | undefined)[] = [];
  #scopeCache: RecordScope | undefined;
  /**
   * Whether this run may hold records in the token or approval store: set when a record scope of the
   * run is first made (every put of a run's token or approval uses it). Records are scoped to the run
   * id, random per run, so a run that never made one has nothing to revoke.
   */
  #mayHold = false;
  /** The session record last seen (a reservation's reply): the next decision reads it instead of the store. */
  #seen: SessionRecord | undefined;
  /** The session record the last decision read (its version is what the reservation compares). */
  #decidedOn: SessionRecord | undefined;

  /** @internal Use `ApeRuntime.createRun`. */
  constructor(core: RuntimeCore, gate: Gate, session: Session) {
    this.#core = core;
    this.#gate = gate;
    this.#session = Object.freeze({ id: session.id, tenant: session.tenant });
    this.#tenant = session.tenant;
    this.#machine = new StateMachine((from, to, operation) => {
      if (core.auditor.active) core.auditor.write(this.#runEvent('state.changed', { from, to, operation }));
    });
    // Identity cannot be reassigned or redefined: `id`, `tenant` and `session` are getters on a frozen object.
    Object.freeze(this);
  }

  /** The run id. */
  get id(): string {
    return this.#id;
  }

  /** The tenant the run belongs to (its session's). */
  get tenant(): string {
    return this.#tenant;
  }

  /** The session the run belongs to (frozen). */
  get session(): Session {
    return this.#session;
  }

  /** The current state. */
  get state(): RuntimeState {
    return this.#machine.state;
  }

  /** The current intent. */
  get intent(): Intent | undefined {
    return this.#intent;
  }

  /** The approved plan. */
  get plan(): Plan | undefined {
    return this.#plan;
  }

  /** Throws `RuntimeStateError` unless the run is EXECUTING. */
  requireExecuting(operation: string): void {
    this.#machine.require(operation, 'EXECUTING');
  }

  /**
   * Sets (or replaces) the intent. Untrusted data is refused; replacing it drops the plan and revokes
   * every outstanding token and approval of the run.
   */
  async setIntent(input: unknown, options: { source?: ProvenanceLabel } = {}): Promise<Intent> {
    this.#machine.require('set the intent', 'INITIALIZED', 'INTENT_SET', 'PLAN_APPROVED', 'EXECUTING');
    const source = this.#source(options);
    const live = this.#core.sessions.check(this.session.id, this.tenant);
    if (isThenable(live)) await live;
    let intent: Intent;
    try {
      let data: unknown;
      if (isGenuineIntent(input)) {
        if (input.tenant !== this.tenant) throw new TenantMismatchError('intent', this.tenant, input.tenant);
        data = input.data;
      } else {
        // Read once into frozen plain data; only the copy is used from here on.
        data = plainCopy(input, 'intent', { labeled: true });
        if (isIntent(data)) {
          if (data.tenant !== this.tenant) throw new TenantMismatchError('intent', this.tenant, data.tenant);
          data = data.data;
        }
      }
      // A genuine intent of this tenant was validated by `createIntent` and is frozen: under a trusted
      // source, validating its data again would make the same intent (same version), so it is taken as is.
      intent = isGenuineIntent(input) && isTrusted(source) ? input : createIntent(data, { tenant: this.tenant, source });
    } catch (error) {
      if (error instanceof ProvenanceError) this.#core.auditor.emit({ type: 'provenance.refused', ...this.#ids(), data: errorData(error) });
      else if (error instanceof ApeError) this.#core.auditor.emit({ type: 'input.refused', ...this.#ids(), data: { ...errorData(error), input: 'intent' } });
      throw error;
    }
    if (this.#mayHold) await this.#revokeOutstanding('intent changed');
    this.#machine.transition('INTENT_SET', 'set the intent');
    this.#intent = intent;
    this.#plan = undefined;
    this.#planned = [];
    if (this.#core.auditor.active) {
      // Intent metadata and scope are audited redacted, like parameters.
      this.#core.auditor.write(this.#runEvent('intent.set', { version: intent.version, intent: redactedIntent(this.#core, intent) }));
    }
    return intent;
  }

  /**
   * Validates and approves a plan (against the intent, the repository, the registered tools, the
   * intent's scope and the policy) and freezes a canonical copy. Replacing a plan revokes every
   * outstanding token and approval of the run. With `decideAtExecution` the policy is not asked at
   * approval (see `PlanApprovalOptions`).
   */
  async approvePlan(input: unknown, options: PlanApprovalOptions = {}): Promise<Plan> {
    this.#machine.require('approve a plan', 'INTENT_SET', 'PLAN_APPROVED', 'EXECUTING');
    const intent = this.#intent as Intent;
    const read = this.#planOptions(options);
    const source = read.source;
    // Disabled mode decides nothing at execution: the plan stage keeps the call's one (audited, never blocking) decision.
    const defer = read.defer && this.#core.mode !== 'disabled';
    const live = this.#core.sessions.check(this.session.id, this.tenant);
    if (isThenable(live)) await live;
    const observe = this.#core.mode === 'observe';
    const planned: (PlannedStep | undefined)[] = [];
    let plan: Plan;
    try {
      let data: CopiedValue;
      if (isGenuinePlan(input)) {
        if (input.tenant !== this.tenant) throw new TenantMismatchError('plan', this.tenant, input.tenant);
        data = copyOnce({ steps: input.steps }, 'plan', true);
      } else {
        // Read once into frozen plain data; only the copy is used from here on (the plan is not copied again).
        data = copyOnce(input, 'plan', true);
        if (isPlan(data.value)) {
          if (data.value.tenant !== this.tenant) throw new TenantMismatchError('plan', this.tenant, data.value.tenant);
          data = { value: Object.freeze({ steps: data.value.steps }) as unknown as PlainValue, wrappers: data.wrappers };
        }
      }
      plan = await approvePlan(data, {
        tenant: this.tenant,
        intent,
        ir: this.#core.evaluator.policy.ir,
        source,
        toolAction: (tool) => this.#gate.actionOf(tool),
        checkPolicy: (step, index, checked) => {
          // The step's constant parts (labels, call hash, intent verdict and scope as validation found
          // them) serve this decision and, once the plan is approved, every execution of the step.
          const constant = this.#plannedStep(source, step, checked.text, checked);
          planned[index] = constant;
          // Deferred: the step is decided once, when this run executes it (same intent, plan and constant parts).
          if (defer) return undefined;
          return promised(
            this.#decide({ step, index, params: step.parameters as JsonObject, labels: constant.labels, explicit: constant.explicit, cap: source, callId: `${this.id}:plan:${index}`, planned: constant, atPlan: true }, {}),
          ).then((decision) => {
            // Disabled mode never blocks; observe mode audits the refusal and keeps the step (below).
            if (decision.decision === 'deny' && this.#core.mode !== 'disabled') {
              throw new PlanValidationError(index, 'policy', `action '${step.action}' is denied${decision.rule ? ` by rule '${decision.rule}'` : ' by default'}`);
            }
          });
        },
        // Observe mode never blocks: a step the intent, its scope or the policy would refuse is audited and kept.
        ...(observe
          ? { observe: (error: PlanValidationError) => this.#core.auditor.emit({ type: 'gate.observed', ...this.#ids(), step: error.step, data: { mode: 'observe', stage: 'plan', would_block: errorData(error) } }) }
          : {}),
      });
    } catch (error) {
      if (error instanceof ApeError) this.#core.auditor.emit({ type: 'plan.rejected', ...this.#ids(), data: errorData(error) });
      throw error;
    }
    if (this.#mayHold) await this.#revokeOutstanding('plan changed');
    this.#machine.transition('PLAN_APPROVED', 'approve a plan');
    this.#plan = plan;
    this.#planned = planned;
    if (this.#core.auditor.active) {
      this.#core.auditor.write(this.#runEvent('plan.approved', { hash: plan.hash, steps: plan.steps.map((s) => ({ action: s.action, tool: s.tool })) }));
    }
    return plan;
  }

  /** Starts execution: tokens can be issued and used from now on. */
  start(): void {
    this.#machine.transition('EXECUTING', 'start execution');
  }

  /** Ends the run: every outstanding token and approval is revoked; nothing more runs. */
  async terminate(): Promise<void> {
    if (this.#machine.state === 'TERMINATED') return;
    this.#machine.transition('TERMINATED', 'terminate');
    if (this.#mayHold) await this.#revokeOutstanding('run terminated');
  }

  /**
   * Decides a step's exact call and, when the policy allows it (or an approver approved it),
   * issues a single-use token bound to it. Throws `PolicyDenyError`, `EscalationRequiredError`,
   * `EscalationDeniedError`, `RateLimitExceededError`, `QuotaExhaustedError`, ... otherwise.
   */
  authorize(index: number, options?: StepOptions): Promise<Authorization> {
    return promised(this.#authorizeOut(index, options));
  }

  *#authorizeOut(index: number, options: StepOptions | undefined): Flow<Authorization> {
    return authorization(yield* this.#authorizeFlow(index, options, true), this.#core.signer);
  }

  *#authorizeFlow(index: number, raw: StepOptions | undefined, stored: boolean): Flow<Issued> {
    this.#machine.require('authorize a step', 'EXECUTING');
    let options: StepOptions;
    let candidate: Candidate;
    try {
      options = raw === undefined ? NO_OPTIONS : this.#stepOptions(raw);
      candidate = this.#candidate(index, options);
    } catch (error) {
      throw this.#refused(index, error);
    }
    return yield* this.#authorizeCandidate(candidate, options, stored);
  }

  /**
   * Runs a call through the gate with its authority: the `Authorization`'s capability (in-process)
   * or its signed token text. The only way a registered tool runs. The call is read once.
   */
  async execute(token: string | Capability, call: Call): Promise<StepResult> {
    return this.#gate.execute(this, { token, call, callId: this.#nextCallId() });
  }

  /** Authorizes and executes a step: decide, reserve, mint a capability, check, consume, run, record. */
  executeStep(index: number, options?: StepOptions): Promise<StepResult> {
    if (this.#core.mode === 'enforce') return promised(this.#executeEnforced(index, options));
    return this.#executeUnenforced(index, options);
  }

  /** Enforce mode: authorize, then hand the call and its capability to the gate (synchronous while stores and tool are). */
  *#executeEnforced(index: number, options: StepOptions | undefined): Flow<StepResult> {
    const issued = yield* this.#authorizeFlow(index, options, false);
    return yield* this.#gate.flow(this, { token: undefined, grant: issued.grant, call: issued.grant.call, callId: issued.callId, fresh: true });
  }

  async #executeUnenforced(index: number, raw: StepOptions | undefined): Promise<StepResult> {
    const mode = this.#core.mode;
    this.#machine.require('execute a step', 'EXECUTING');
    let options: StepOptions;
    let candidate: Candidate;
    try {
      options = raw === undefined ? NO_OPTIONS : this.#stepOptions(raw);
      candidate = this.#candidate(index, options);
    } catch (error) {
      throw this.#refused(index, error);
    }
    const call: Call = { step: index, action: candidate.step.action, tool: candidate.step.tool, params: candidate.params };
    if (mode === 'observe') {
      try {
        const decision = await promised(this.#decide(candidate, options));
        if (decision.decision !== 'allow') {
          this.#core.auditor.emit({ type: 'gate.observed', ...this.#ids(candidate), data: { mode, would_block: { decision: decision.decision, rule: decision.rule } } });
        }
      } catch (error) {
        this.#core.auditor.emit({ type: 'gate.observed', ...this.#ids(candidate), data: { mode, would_block: errorData(error) } });
      }
    }
    return this.#gate.execute(this, { token: undefined, call, callId: candidate.callId, decided: mode === 'observe' });
  }

  /**
   * Declassifies untrusted data after an approver vouches for it: the value comes back labeled `user`.
   * Throws `EscalationRequiredError` without a handler and `EscalationDeniedError` on a denial.
   */
  async declassify<T extends JsonValue>(value: Labeled<T> | T, reason: string): Promise<Labeled<T>> {
    const core = this.#core;
    const plain = unwrap(value, 'external').value as T;
    const request: ApprovalRequest = {
      kind: 'declassify', id: `apr_${randomUUID()}`, tenant: this.tenant, session: this.session.id, run: this.id,
      params: deepFreeze(JSON.parse(canonicalJson(plain)) as JsonValue), reasons: [reason], expiresAt: core.now() + core.approvalTtlMs,
    };
    core.auditor.emit({ type: 'approval.requested', ...this.#ids(), data: { kind: 'declassify', request: request.id, reason } });
    if (!core.handler) throw new EscalationRequiredError('declassify', null, request.id);
    const answer = await askApprover(core.handler, request, core.approvalTimeoutMs, 'declassify');
    if (!answer.approved) {
      core.auditor.emit({ type: 'approval.denied', ...this.#ids(), data: { kind: 'declassify', request: request.id } });
      throw new EscalationDeniedError('declassify', request.id, 'denied', answer.reason ?? '');
    }
    core.auditor.emit({ type: 'declassified', ...this.#ids(), data: { request: request.id, approver: String(answer.approver), reason } });
    return new Labeled(plain, 'user');
  }

  // ---- internals ----

  #nextCallId(): string {
    return `${this.id}:${(this.#calls++).toString(36)}`;
  }

  /** The source label of `setIntent` options, read once. */
  #source(options: unknown): ProvenanceLabel {
    if (options === undefined) return 'user';
    return sourceLabel(readFields(options, 'options', ['source']).source);
  }

  /** The options of `approvePlan`, read once: the source label and whether the policy decides at execution only. */
  #planOptions(options: unknown): { source: ProvenanceLabel; defer: boolean } {
    if (options === undefined) return { source: 'user', defer: false };
    const f = readFields(options, 'options', ['source', 'decideAtExecution']);
    if (f.decideAtExecution !== undefined && typeof f.decideAtExecution !== 'boolean') throw new InputError('options', '/decideAtExecution', 'must be a boolean');
    return { source: sourceLabel(f.source), defer: f.decideAtExecution === true };
  }

  /** Step options read once into frozen plain data (inputs and context may carry provenance wrappers). */
  #stepOptions(raw: unknown): StepOptions {
    const f = readFields(raw, 'options', ['inputs', 'context', 'approval']);
    const out: StepOptions = {};
    if (f.inputs !== undefined) {
      const inputs = plainCopy(f.inputs, 'inputs', { labeled: true });
      if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs) || inputs instanceof Labeled) throw new InputError('inputs', '', 'must be an object');
      out.inputs = inputs as Record<string, PlainValue>;
    }
    if (f.context !== undefined) out.context = plainCopy(f.context, 'context', { labeled: true }) as JsonObject;
    if (f.approval !== undefined) {
      if (typeof f.approval !== 'string') throw new InputError('options', '/approval', 'must be an approval id (a string)');
      out.approval = f.approval;
    }
    return out;
  }

  /** Audits a candidate call refused for its input; returns the error to throw. */
  #inputRefused(c: Candidate, error: ApeError): ApeError {
    if (this.#core.auditor.active) this.#core.auditor.write(this.#event('input.refused', c, errorData(error)));
    return error;
  }

  /** Audits a step's refused input (`input.refused`); returns the error to throw. */
  #refused(index: number, error: unknown): unknown {
    if (error instanceof ApeError && this.#core.auditor.active) {
      const step = this.#plan?.steps[index];
      this.#core.auditor.emit({
        type: 'input.refused', ...this.#ids(), ...(step ? { step: index, action: step.action, tool: step.tool } : {}), call: this.#nextCallId(), data: errorData(error),
      });
    }
    return error;
  }

  #candidate(index: number, options: StepOptions): Candidate {
    const plan = this.#plan as Plan;
    if (!Number.isInteger(index) || index < 0 || index >= plan.steps.length) throw new PlanValidationError(index, 'step', 'there is no such step in the plan');
    const step = plan.steps[index] as PlanStep;
    if (step.inputs.length === 0 && (options.inputs === undefined || isEmptyRecord(options.inputs))) {
      const planned = this.#planned[index] ?? (this.#planned[index] = this.#plannedStep(plan.label, step, canonicalParamsText(plan, index)));
      return { step, index, params: step.parameters as JsonObject, labels: planned.labels, explicit: planned.explicit, cap: plan.label, callId: this.#nextCallId(), planned };
    }
    const planned = unwrapExplicit(step.parameters, plan.label);
    const explicit = new Set(planned.explicit);
    const params: JsonObject = {};
    const define = (key: string, value: JsonValue) => Object.defineProperty(params, key, { value, enumerable: true, writable: true, configurable: true });
    for (const [k, v] of Object.entries(planned.value as JsonObject)) define(k, v);
    const labels = { ...planned.labels };
    const inputs = options.inputs ?? {};
    for (const [name, raw] of Object.entries(inputs)) {
      if (!step.inputs.includes(name)) throw new PlanValidationError(index, 'parameters', `'${name}' is not a run-time input of this step`);
      const u = unwrapExplicit(raw, 'external');
      define(name, u.value);
      labels[name] = u.label;
      explicit.delete(name);
      if (raw instanceof Labeled) explicit.add(name);
      for (const [path, l] of Object.entries(u.labels)) labels[`${name}.${path}`] = l;
      for (const path of u.explicit) explicit.add(`${name}.${path}`);
    }
    return { step, index, params, labels, explicit, cap: plan.label, callId: this.#nextCallId() };
  }

  *#authorizeCandidate(candidate: Candidate, options: StepOptions, stored: boolean): Flow<Issued> {
    const core = this.#core;
    let c = candidate;
    let approval: ApprovalRecord | undefined;
    if (options.approval !== undefined) {
      approval = yield* wait(this.#takeApproval(options.approval, c));
      // An approver's edit replaces the parameters; the approver vouches for them (label `user`).
      if (approval.edited) {
        c = { step: c.step, index: c.index, callId: c.callId, params: approval.params, labels: unwrap(approval.params, 'user').labels, explicit: 'all', cap: 'user' };
      }
    }
    // Decide and reserve as one step: the reservation applies only if the session facts the decision
    // read are unchanged (compare-and-set on the session version); otherwise decide again.
    let record: SessionRecord | undefined = this.#fresh(this.#seen);
    let decision: DecisionResult;
    for (let attempt = 0; ; attempt++) {
      if (attempt >= MAX_RESERVE_ATTEMPTS) throw new SessionContentionError(this.session.id, MAX_RESERVE_ATTEMPTS);
      // Audited once, when it stands (not for attempts decided again).
      decision = yield* this.#decide(c, options, record, false);
      const decidedOn = this.#decidedOn as SessionRecord;
      if (decision.decision === 'deny' && core.sessionDependent && record === this.#seen && record !== undefined) {
        // Decided on the cached record: confirm on the store's before refusing.
        this.#seen = undefined;
        record = undefined;
        continue;
      }
      if (decision.decision === 'deny') {
        this.#auditDecision(c, decision);
        throw new PolicyDenyError(c.step.action, decision.rule, core.auditor.redactReasons(decision.reasons, c.params));
      }
      if (decision.decision === 'escalate' && !approval) {
        this.#auditDecision(c, decision);
        return yield* wait(this.#escalate(c, options, decision, stored));
      }
      // The policy was swapped between taking the approval and deciding: the approval was for the old version.
      if (approval && (approval as BoundApproval).policy !== decision.policy_hash) throw new ApprovalError(approval.id, 'policy');
      // A policy that reads no session fact cannot be made stale by concurrent calls: reserve unconditionally.
      const version = core.sessionDependent ? (decidedOn.version ?? 0) : -1;
      const reserving = core.sessions.reserve(this.session.id, version, { action: c.step.action, risk: core.riskOf(c.step.action) }, core.now());
      const reserved = isThenable(reserving) ? ((yield reserving) as ReserveResult) : reserving;
      if (reserved.status === 'ok') {
        this.#seen = reserved.record;
        this.#auditDecision(c, decision);
        break;
      }
      this.#seen = undefined;
      if (reserved.status !== 'conflict') throw new SessionExpiredError(this.session.id, reserved.status);
      record = this.#fresh(reserved.record);
    }
    if (core.limiter.active) {
      try {
        yield* wait(core.limiter.consume(
          {
            tenant: this.tenant, session: this.session.id, action: c.step.action, targets: targetsOf(core, c), risk: core.riskOf(c.step.action),
            ...(this.#seen ? { sessionExpiresAt: this.#seen.expiresAt } : {}),
          },
          core.now(),
        ));
      } catch (error) {
        core.auditor.emit({ type: 'rate_limit.exceeded', ...this.#ids(c), data: errorData(error) });
        throw error;
      }
    }
    const issued = this.#issue(c, decision, approval?.id);
    if (stored) {
      // Only an authority handed to the caller is stored (revocable, usable in its signed form elsewhere);
      // executeStep's grant is consumed in this same flow and never leaves it.
      const claims = issued.grant.claims;
      const put = core.tokens.put(claims.id, this.#scope(), claims.exp, claims);
      if (isThenable(put)) yield put;
      issued.grant = { ...issued.grant, stored: true };
    }
    return issued;
  }

  /** A session record usable for a decision without a store read: live now, of this tenant; undefined otherwise. */
  #fresh(record: SessionRecord | undefined): SessionRecord | undefined {
    if (!record || record.revoked || record.tenant !== this.tenant || this.#core.now() >= record.expiresAt) return undefined;
    return record;
  }

  /** Decides a candidate call; audits the decision. Scope and intent are part of the decision. */
  *#decide(c: Candidate, options: StepOptions, known?: SessionRecord, audit = true): Flow<DecisionResult> {
    const core = this.#core;
    // One policy version per decision: read once, it decides, and its hash goes into the audit and the token.
    const evaluator = core.evaluator;
    const intent = this.#intent as Intent;
    const action = c.step.action;
    let record = known;
    if (!record) {
      const checking = core.sessions.check(this.session.id, this.tenant);
      record = isThenable(checking) ? ((yield checking) as SessionRecord) : checking;
    }
    const context = options.context === undefined ? {} : (requireTrusted('context', options.context, 'user') as JsonObject);
    if (context === null || typeof context !== 'object' || Array.isArray(context)) throw this.#inputRefused(c, new ParameterValidationError(action, '/context', 'must be an object'));
    let verdict: PlannedStep['verdict'];
    let outside: string | undefined;
    if (c.planned) {
      // Validated and scope-checked at approval; frozen since; the intent cannot change under an approved plan.
      verdict = c.planned.verdict;
      outside = c.planned.outside;
    } else {
      const definition = actionDefinition(evaluator.policy.ir, action);
      if (definition) {
        // Validate before the intent's scope reads the parameters (the preparer validates again for the engine).
        const validate = stepValidator(definition.parameters, []);
        if (!validate(c.params)) {
          const e = validate.errors?.[0];
          throw this.#inputRefused(c, new ParameterValidationError(action, e?.instancePath ?? '', e?.message ?? 'do not match the schema'));
        }
      }
      verdict = intentDecision(intent, action);
      outside = scopeViolation(intent, definition, c.params);
    }
    let result: DecisionResult;
    if (verdict === 'forbidden' || outside) {
      const rule = verdict === 'forbidden' ? 'intent:forbidden' : 'intent:scope';
      result = { decision: 'deny', rule, matched: [rule], reasons: [verdict === 'forbidden' ? `action '${action}' is not allowed by the intent` : (outside as string)], policy_hash: evaluator.policy.hash, engine: 'intent' };
    } else {
      const origins = core.origins?.of(this.session.id);
      const request: DecisionRequest = {
        action,
        params: c.params,
        context: { ...context, session: origins ? { ...sessionContext(record, core.now()), ...origins.facts() } : sessionContext(record, core.now()) },
        provenance: c.labels,
      };
      if (origins) {
        const found = labelByOrigin(origins, c.params, c.labels, c.explicit, c.cap, identifierPaths(actionDefinition(evaluator.policy.ir, action)));
        request.provenance = found.labels;
        request.sources = found.sources;
      }
      if (record.lastAction !== undefined) request.previous_action = record.lastAction;
      const deciding = decideRequest(core, evaluator, request);
      result = isThenable(deciding) ? ((yield deciding) as DecisionResult) : deciding;
      if (core.decisionLog) core.decisionLog({ stage: c.atPlan ? 'plan' : 'call', request: structuredClone(request), result: structuredClone(result) });
      if (result.decision === 'allow' && verdict === 'escalate') {
        result = { ...result, decision: 'escalate', rule: 'intent:escalation_actions', reasons: [`action '${action}' needs approval under the intent`] };
      }
    }
    if (audit) this.#auditDecision(c, result);
    this.#decidedOn = record;
    return result;
  }

  /** The `decision` event of a call (parameters and reasons redacted). */
  #auditDecision(c: Candidate, result: DecisionResult): void {
    const core = this.#core;
    if (!core.auditor.active) return;
    let params: JsonValue;
    if (c.planned) params = c.planned.redacted ?? (c.planned.redacted = deepFreeze(core.auditor.redact(c.params)));
    else params = core.auditor.redact(c.params);
    const reasons = core.auditor.redactReasons(result.reasons, c.params);
    core.auditor.write(this.#event('decision', c, { decision: result.decision, rule: result.rule, reasons, engine: result.engine, policy: result.policy_hash, params }));
  }

  /** The grant for a decided call (claims bound to the exact call; audited). A stored grant is put in the token store by the caller. */
  #issue(c: Candidate, decision: DecisionResult, approval: string | undefined): Issued {
    const core = this.#core;
    let params = c.params;
    let hash: string;
    if (c.planned) {
      hash = c.planned.hash;
    } else {
      // The call runs a canonical copy the runtime owns (frozen, hashed once for the token and the gate).
      const text = canonicalJson(c.params);
      params = JSON.parse(text) as JsonObject;
      hash = ownParams(params, textHash(text));
    }
    const now = core.now();
    const claims: TokenClaims = {
      id: TokenSigner.newId(),
      tenant: this.tenant,
      session: this.session.id,
      run: this.id,
      intent: (this.#intent as Intent).version,
      plan: (this.#plan as Plan).hash,
      step: c.index,
      action: c.step.action,
      tool: c.step.tool,
      params: hash,
      // The version that decided: if the policy was swapped since, the gate refuses this token.
      policy: decision.policy_hash,
      iat: now,
      exp: now + core.tokenTtlMs,
      call: c.callId,
    };
    if (core.auditor.active) core.auditor.write(this.#event('token.issued', c, approval ? { token: claims.id, expires: claims.exp, approval } : { token: claims.id, expires: claims.exp }));
    const call: Call = { step: c.index, action: c.step.action, tool: c.step.tool, params };
    const issued: Issued = { grant: { claims, call, stored: false, used: false }, callId: c.callId, decision };
    if (approval) issued.approval = approval;
    return issued;
  }

  /** The constant parts of a plan step without run-time inputs (see `PlannedStep`). */
  #plannedStep(label: ProvenanceLabel, step: PlanStep, text: string | undefined, checked?: StepVerdict): PlannedStep {
    const intent = this.#intent as Intent;
    const params = step.parameters as JsonObject;
    // Plan parameters hold no wrappers (the plan's label stands for all of them): one walk for the labels, no copy.
    const uniform = uniformLabels(params, label);
    const unwrapped = uniform === undefined ? unwrapExplicit(params, label) : undefined;
    return {
      labels: Object.freeze(uniform ?? (unwrapped as Unwrapped).labels),
      explicit: unwrapped?.explicit ?? new Set<string>(),
      // Frozen with the plan; recorded for the gate only when a call is handed out (`authorization`).
      hash: frozenParamsHash(params, text),
      verdict: checked ? checked.verdict : intentDecision(intent, step.action),
      outside: checked ? checked.outside : scopeViolation(intent, actionDefinition(this.#core.evaluator.policy.ir, step.action), params),
    };
  }

  /** An escalated call: ask the handler (or fail with a resolvable request), then authorize the approved call. */
  async #escalate(c: Candidate, options: StepOptions, decision: DecisionResult, stored: boolean): Promise<Issued> {
    const core = this.#core;
    this.#machine.transition('ESCALATION_REQUIRED', 'escalate a step');
    let approvalId: string;
    try {
      const request: ApprovalRequest = {
        kind: 'call', id: `apr_${randomUUID()}`, tenant: this.tenant, session: this.session.id, run: this.id,
        step: c.index, action: c.step.action, tool: c.step.tool, params: deepFreeze(JSON.parse(canonicalJson(c.params)) as JsonObject),
        rule: decision.rule, reasons: core.auditor.redactReasons(decision.reasons, c.params), expiresAt: core.now() + core.approvalTtlMs,
      };
      const bound = { run: this.id, intent: (this.#intent as Intent).version, plan: (this.#plan as Plan).hash, policy: decision.policy_hash, step: c.index, action: c.step.action, tool: c.step.tool };
      const record: BoundApproval = {
        id: request.id, status: 'pending', tenant: this.tenant, ...bound, params: c.params, callHash: approvalCallHash(bound, c.params), edited: false, request,
      };
      await this.#core.approvals.put(record.id, this.#scope(), record.request.expiresAt, record);
      core.auditor.emit({ type: 'approval.requested', ...this.#ids(c), data: { kind: 'call', request: request.id, rule: decision.rule } });
      if (!core.handler) throw new EscalationRequiredError(c.step.action, decision.rule, request.id);
      const answer = readAnswer(await askApprover(core.handler, request, core.approvalTimeoutMs, c.step.action));
      if (this.#machine.state !== 'ESCALATION_REQUIRED') throw new RuntimeStateError(this.#machine.state, 'use an approval');
      const answered = applyAnswer(core, record, answer);
      // Taken atomically: a request revoked while the approver thought (session, tokens) is not revived.
      approvalId = await settleApproval(core, answered, this.#scope());
      if (answered.status === 'denied') throw new EscalationDeniedError(c.step.action, request.id, 'denied', answer.approved ? '' : (answer.reason ?? ''));
    } catch (error) {
      if (error instanceof EscalationDeniedError && error.reason !== 'denied') {
        core.auditor.emit({ type: 'approval.denied', ...this.#ids(c), data: { request: error.requestId, reason: error.reason } });
      }
      if (this.#machine.state === 'ESCALATION_REQUIRED') this.#machine.transition('EXECUTING', 'resolve an escalation');
      throw error;
    }
    this.#machine.transition('EXECUTING', 'resolve an escalation');
    const rest: StepOptions = {};
    if (options.context !== undefined) rest.context = options.context;
    return drive(this.#authorizeCandidate(c, { ...rest, approval: approvalId }, stored));
  }

  /** Takes an approved approval for exactly this call. Throws `ApprovalError` otherwise. */
  async #takeApproval(id: string, c: Candidate): Promise<ApprovalRecord> {
    const core = this.#core;
    const peek = await core.approvals.peek(id, core.now(), this.tenant);
    const fail = (reason: ApprovalError['reason']) => {
      const error = new ApprovalError(id, reason);
      core.auditor.emit({ type: 'token.refused', ...this.#ids(c), data: errorData(error) });
      return error;
    };
    if (peek.status !== 'ok') throw fail(peek.status === 'used' ? 'used' : peek.status === 'expired' ? 'expired' : peek.status === 'revoked' ? 'revoked' : 'unknown');
    const record = peek.record;
    if (record.tenant !== this.tenant) throw new TenantMismatchError('approval', this.tenant, record.tenant);
    if (record.status !== 'approved') throw fail(record.status === 'pending' ? 'pending' : 'denied');
    const policy = core.evaluator.policy.hash;
    if ((record as BoundApproval).policy !== policy) throw fail('policy');
    const params = record.edited ? record.params : c.params;
    const bound = { run: this.id, intent: (this.#intent as Intent).version, plan: (this.#plan as Plan).hash, policy, step: c.index, action: c.step.action, tool: c.step.tool };
    if (record.callHash !== approvalCallHash(bound, params)) throw fail('mismatch');
    const taken = await core.approvals.take(id, core.now(), this.tenant);
    if (taken.status !== 'ok') throw fail(taken.status === 'used' ? 'used' : taken.status === 'revoked' ? 'revoked' : 'expired');
    core.auditor.emit({ type: 'approval.used', ...this.#ids(c), data: { request: id, approver: record.approver ?? null } });
    return record;
  }

  /** The scope records of this run are bound to (shared and frozen while the intent and plan stay). */
  #scope(): RecordScope {
    this.#mayHold = true;
    const intent = this.#intent?.version ?? '';
    const plan = this.#plan?.hash ?? '';
    const cached = this.#scopeCache;
    if (cached && cached.intent === intent && cached.plan === plan) return cached;
    return (this.#scopeCache = Object.freeze({ tenant: this.tenant, session: this.session.id, run: this.id, intent, plan }));
  }

  async #revokeOutstanding(reason: string): Promise<void> {
    if (!this.#mayHold) return;
    const core = this.#core;
    const tokens = await core.tokens.revoke({ tenant: this.tenant, run: this.id });
    const approvals = await core.approvals.revoke({ tenant: this.tenant, run: this.id });
    if (tokens + approvals > 0) core.auditor.emit({ type: 'token.revoked', ...this.#ids(), data: { reason, tokens, approvals } });
  }

  /**
   * An audit event of the run (no call), stamped: the fields and their order are those of
   * `emit({ type, ...this.#ids(), data })` (ts, type, tenant, session, run, intent, plan, data), built without spreads.
   */
  #runEvent(type: AuditEventType, data: JsonObject): AuditEvent {
    const event: AuditEvent = { ts: this.#core.auditor.now(), type, tenant: this.tenant, session: this.session.id, run: this.id };
    if (this.#intent) event.intent = this.#intent.version;
    if (this.#plan) event.plan = this.#plan.hash;
    event.data = data;
    return event;
  }

  /** An audit event of a candidate call with its correlation ids. */
  #event(type: AuditEventType, c: Candidate, data: JsonObject): AuditEvent {
    const event: AuditEvent = { ts: this.#core.auditor.now(), type, tenant: this.tenant, session: this.session.id, run: this.id };
    if (this.#intent) event.intent = this.#intent.version;
    if (this.#plan) event.plan = this.#plan.hash;
    event.step = c.index;
    event.call = c.callId;
    event.action = c.step.action;
    event.tool = c.step.tool;
    event.data = data;
    return event;
  }

  #ids(c?: Candidate) {
    return {
      tenant: this.tenant,
      session: this.session.id,
      run: this.id,
      ...(this.#intent ? { intent: this.#intent.version } : {}),
      ...(this.#plan ? { plan: this.#plan.hash } : {}),
      ...(c ? { step: c.index, call: c.callId, action: c.step.action, tool: c.step.tool } : {}),
    };
  }
}

/** Intents (frozen, genuine) as `intent.set` events show them: redacted once per intent and auditor, deeply frozen. */
const redactedIntents = new WeakMap<Intent, { auditor: RuntimeCore['auditor']; data: JsonValue }>();

function redactedIntent(core: RuntimeCore, intent: Intent): JsonValue {
  const known = redactedIntents.get(intent);
  if (known !== undefined && known.auditor === core.auditor) return known.data;
  const data = deepFreeze(core.auditor.redact(intent.data as unknown as JsonValue));
  redactedIntents.set(intent, { auditor: core.auditor, data });
  return data;
}

function targetsOf(core: RuntimeCore, c: Candidate): string[] {
  return callTargets(actionDefinition(core.evaluator.policy.ir, c.step.action), c.params)
    .map((t) => t.value)
    .filter((v): v is string => v !== undefined);
}

/** A provenance label given as the `source` option (absent: `user`). Throws `InputError` for anything else. */
function sourceLabel(source: unknown): ProvenanceLabel {
  if (source === undefined) return 'user';
  if (source !== 'system' && source !== 'user' && source !== 'model' && source !== 'external') {
    throw new InputError('options', '/source', `is not a provenance label ('system', 'user', 'model' or 'external')`);
  }
  return source;
}

function isIntent(value: unknown): value is Intent {
  return value !== null && typeof value === 'object' && 'version' in value && 'data' in value && 'tenant' in value;
}

function isPlan(value: unknown): value is Plan {
  return value !== null && typeof value === 'object' && 'hash' in value && 'steps' in value && 'tenant' in value;
}

/** Whether a value is a non-array object without own enumerable keys. */
function isEmptyRecord(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  for (const key in value) if (Object.hasOwn(value, key)) return false;
  return true;
}

/** Step options when none are given. */
const NO_OPTIONS: StepOptions = Object.freeze({});

/** How often a call decides again when concurrent calls keep changing its session before it can reserve. */
const MAX_RESERVE_ATTEMPTS = 32;

/** Decides a request: synchronously with the native engine, through the engine's promise otherwise (counted in flight). */
function decideRequest(core: RuntimeCore, evaluator: Evaluator, request: DecisionRequest): DecisionResult | Promise<DecisionResult> {
  const deciding = evaluator.decideNow(request);
  if (!isThenable(deciding)) return deciding;
  core.inflight.enter(evaluator);
  return deciding.finally(() => core.inflight.leave(evaluator));
}
