/** A run: one state machine taking an intent and a plan to execution, issuing tokens only for calls the policy allowed. */
import { randomUUID } from 'node:crypto';
import { actionDefinition } from '../compiler/engine-input.js';
import { canonicalJson, hashJson } from '../compiler/hash.js';
import { NativeEvaluator, type Evaluator } from '../evaluator.js';
import type { DecisionRequest } from '../compiler/engine-input.js';
import type { DecisionResult, JsonObject, JsonValue } from '../compiler/ir.js';
import { ApeError, ParameterValidationError } from '../errors.js';
import { callTargets } from './call-targets.js';
import type { RuntimeCore } from './core.js';
import {
  ApprovalError,
  EscalationDeniedError,
  EscalationRequiredError,
  PlanValidationError,
  PolicyDenyError,
  ProvenanceError,
  RuntimeStateError,
  TenantMismatchError,
} from './errors.js';
import { askApprover, type ApprovalRecord, type ApprovalRequest, type ApprovalResponse } from './escalation.js';
import { deepFreeze } from './freeze.js';
import { drive, promised, wait, type Flow } from './awaitable.js';
import type { AuditEvent, AuditEventType } from './audit/events.js';
import { errorData, ownParams, textHash, type Call, type Gate, type GateRun, type StepResult } from './gate.js';
import { createIntent, intentDecision, scopeViolation, type Intent } from './intent.js';
import { approvePlan, stepValidator, type Plan, type PlanStep } from './plan.js';
import { Labeled, requireTrusted, unwrap, type ProvenanceLabel } from './provenance.js';
import { sessionContext, type Session } from './session.js';
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

/** A token issued for one exact call. */
export interface Authorization {
  token: string;
  tokenId: string;
  /** Correlation id of the call. */
  callId: string;
  call: Readonly<Call>;
  decision: DecisionResult;
  /** The approval that let an escalated call through, if any. */
  approval?: string;
}

interface Candidate {
  step: PlanStep;
  index: number;
  params: JsonObject;
  labels: Record<string, ProvenanceLabel>;
  callId: string;
  /** Set when the call runs the plan's own frozen parameters unchanged (no run-time inputs). */
  planned?: PlannedStep;
}

/**
 * What never changes for a plan step without run-time inputs while its plan is approved: the
 * parameters were validated and scope-checked at approval, are frozen, and the intent is fixed.
 */
interface PlannedStep {
  labels: Readonly<Record<string, ProvenanceLabel>>;
  /** Hash of the canonical parameters (the token's `params` claim). */
  hash: string;
  verdict: ReturnType<typeof intentDecision>;
  outside: string | undefined;
  /** The parameters as audit events show them (redacted, frozen), built on first use. */
  redacted?: JsonValue;
}

/** One agent run under one session: intent, plan, execution. Create it with `ApeRuntime.createRun`. */
export class Run implements GateRun {
  readonly id = `run_${randomUUID()}`;
  readonly tenant: string;
  readonly session: Session;
  readonly #core: RuntimeCore;
  readonly #gate: Gate;
  readonly #machine: StateMachine;
  #intent: Intent | undefined;
  #plan: Plan | undefined;
  #calls = 0;
  /** Per step of the approved plan, its constant parts (see `PlannedStep`); reset with the plan. */
  #planned: (PlannedStep | undefined)[] = [];
  #scopeCache: RecordScope | undefined;

  /** @internal Use `ApeRuntime.createRun`. */
  constructor(core: RuntimeCore, gate: Gate, session: Session) {
    this.#core = core;
    this.#gate = gate;
    this.session = session;
    this.tenant = session.tenant;
    this.#machine = new StateMachine((from, to, operation) =>
      core.auditor.emit({ type: 'state.changed', ...this.#ids(), data: { from, to, operation } }),
    );
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
    await this.#core.sessions.check(this.session.id, this.tenant);
    let data = input;
    if (isIntent(input)) {
      if (input.tenant !== this.tenant) throw new TenantMismatchError('intent', this.tenant, input.tenant);
      data = input.data;
    }
    let intent: Intent;
    try {
      intent = createIntent(data, { tenant: this.tenant, source: options.source ?? 'user' });
    } catch (error) {
      if (error instanceof ProvenanceError) this.#core.auditor.emit({ type: 'provenance.refused', ...this.#ids(), data: errorData(error) });
      throw error;
    }
    await this.#revokeOutstanding('intent changed');
    this.#machine.transition('INTENT_SET', 'set the intent');
    this.#intent = intent;
    this.#plan = undefined;
    this.#planned = [];
    this.#core.auditor.emit({ type: 'intent.set', ...this.#ids(), data: { version: intent.version, intent: intent.data as unknown as JsonValue } });
    return intent;
  }

  /**
   * Validates and approves a plan (against the intent, the repository, the registered tools, the
   * intent's scope and the policy) and freezes a canonical copy. Replacing a plan revokes every
   * outstanding token and approval of the run.
   */
  async approvePlan(input: unknown, options: { source?: ProvenanceLabel } = {}): Promise<Plan> {
    this.#machine.require('approve a plan', 'INTENT_SET', 'PLAN_APPROVED', 'EXECUTING');
    const intent = this.#intent as Intent;
    await this.#core.sessions.check(this.session.id, this.tenant);
    let data = input;
    if (isPlan(input)) {
      if (input.tenant !== this.tenant) throw new TenantMismatchError('plan', this.tenant, input.tenant);
      data = { steps: input.steps };
    }
    let plan: Plan;
    try {
      plan = await approvePlan(data, {
        tenant: this.tenant,
        intent,
        ir: this.#core.evaluator.policy.ir,
        source: options.source ?? 'user',
        toolAction: (tool) => this.#gate.info(tool)?.action,
        checkPolicy: async (step, index) => {
          const labels = unwrap(step.parameters, options.source ?? 'user').labels;
          const decision = await promised(this.#decide({ step, index, params: step.parameters as JsonObject, labels, callId: `${this.id}:plan:${index}` }, {}));
          // Observe and disabled modes never block: the gate decides (and audits) the call when it runs.
          if (decision.decision === 'deny' && this.#core.mode === 'enforce') {
            throw new PlanValidationError(index, 'policy', `action '${step.action}' is denied${decision.rule ? ` by rule '${decision.rule}'` : ' by default'}`);
          }
        },
      });
    } catch (error) {
      if (error instanceof ApeError) this.#core.auditor.emit({ type: 'plan.rejected', ...this.#ids(), data: errorData(error) });
      throw error;
    }
    await this.#revokeOutstanding('plan changed');
    this.#machine.transition('PLAN_APPROVED', 'approve a plan');
    this.#plan = plan;
    this.#planned = [];
    this.#core.auditor.emit({ type: 'plan.approved', ...this.#ids(), data: { hash: plan.hash, steps: plan.steps.map((s) => ({ action: s.action, tool: s.tool })) } });
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
    await this.#revokeOutstanding('run terminated');
  }

  /**
   * Decides a step's exact call and, when the policy allows it (or an approver approved it),
   * issues a single-use token bound to it. Throws `PolicyDenyError`, `EscalationRequiredError`,
   * `EscalationDeniedError`, `RateLimitExceededError`, `QuotaExhaustedError`, ... otherwise.
   */
  authorize(index: number, options: StepOptions = {}): Promise<Authorization> {
    return promised(this.#authorizeFlow(index, options));
  }

  *#authorizeFlow(index: number, options: StepOptions): Flow<Authorization> {
    this.#machine.require('authorize a step', 'EXECUTING');
    const candidate = this.#candidate(index, options);
    return yield* this.#authorizeCandidate(candidate, options);
  }

  /** Runs a call through the gate with its token. The only way a registered tool runs. */
  async execute(token: string, call: Call): Promise<StepResult> {
    return this.#gate.execute(this, token, call, this.#nextCallId());
  }

  /** Authorizes and executes a step: decide, issue, check, consume, run, record. */
  executeStep(index: number, options: StepOptions = {}): Promise<StepResult> {
    if (this.#core.mode === 'enforce') return promised(this.#executeEnforced(index, options));
    return this.#executeUnenforced(index, options);
  }

  /** Enforce mode: authorize, then hand the call and its token to the gate (synchronous while stores and tool are). */
  *#executeEnforced(index: number, options: StepOptions): Flow<StepResult> {
    const auth = yield* this.#authorizeFlow(index, options);
    return yield* this.#gate.flow(this, auth.token, auth.call as Call, auth.callId);
  }

  async #executeUnenforced(index: number, options: StepOptions): Promise<StepResult> {
    const mode = this.#core.mode;
    this.#machine.require('execute a step', 'EXECUTING');
    const candidate = this.#candidate(index, options);
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
    return this.#gate.execute(this, undefined, call, candidate.callId, mode === 'observe');
  }

  /**
   * Answers a pending approval request out of band (a web hook, a queue). The answer must be
   * trusted data. Returns the approval id to pass as `StepOptions.approval`.
   */
  async resolveEscalation(requestId: string, response: ApprovalResponse): Promise<string> {
    const core = this.#core;
    const taken = await core.approvals.peek(requestId, core.now());
    if (taken.status !== 'ok') throw new ApprovalError(requestId, taken.status === 'used' ? 'used' : taken.status === 'expired' ? 'expired' : 'unknown');
    const record = taken.record;
    if (record.tenant !== this.tenant) throw new TenantMismatchError('approval', this.tenant, record.tenant);
    if (record.run !== this.id) throw new ApprovalError(requestId, 'mismatch');
    if (record.status !== 'pending') throw new ApprovalError(requestId, record.status === 'denied' ? 'denied' : 'used');
    await this.#store(this.#answer(record, response));
    return requestId;
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

  #candidate(index: number, options: StepOptions): Candidate {
    const plan = this.#plan as Plan;
    if (!Number.isInteger(index) || index < 0 || index >= plan.steps.length) throw new PlanValidationError(index, 'step', 'there is no such step in the plan');
    const step = plan.steps[index] as PlanStep;
    if (step.inputs.length === 0 && (options.inputs === undefined || isEmptyRecord(options.inputs))) {
      const planned = this.#planned[index] ?? (this.#planned[index] = this.#plannedStep(plan, step));
      return { step, index, params: step.parameters as JsonObject, labels: planned.labels, callId: this.#nextCallId(), planned };
    }
    const planned = unwrap(step.parameters, plan.label);
    const params: JsonObject = { ...(planned.value as JsonObject) };
    const labels = { ...planned.labels };
    const inputs = options.inputs ?? {};
    if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) throw new ParameterValidationError(step.action, '', 'inputs must be an object');
    for (const [name, raw] of Object.entries(inputs)) {
      if (!step.inputs.includes(name)) throw new PlanValidationError(index, 'parameters', `'${name}' is not a run-time input of this step`);
      const u = unwrap(raw, 'external');
      params[name] = u.value;
      labels[name] = u.label;
      for (const [path, l] of Object.entries(u.labels)) labels[`${name}.${path}`] = l;
    }
    return { step, index, params, labels, callId: this.#nextCallId() };
  }

  *#authorizeCandidate(candidate: Candidate, options: StepOptions): Flow<Authorization> {
    const core = this.#core;
    let c = candidate;
    let approval: ApprovalRecord | undefined;
    if (options.approval !== undefined) {
      approval = yield* wait(this.#takeApproval(options.approval, c));
      // An approver's edit replaces the parameters; the approver vouches for them (label `user`).
      if (approval.edited) {
        c = { step: c.step, index: c.index, callId: c.callId, params: approval.params, labels: unwrap(approval.params, 'user').labels };
      }
    }
    const decision = yield* this.#decide(c, options);
    if (decision.decision === 'deny') throw new PolicyDenyError(c.step.action, decision.rule, decision.reasons);
    if (decision.decision === 'escalate' && !approval) return yield* wait(this.#escalate(c, options, decision));
    if (core.limiter.active) {
      try {
        yield* wait(core.limiter.consume(
          { tenant: this.tenant, session: this.session.id, action: c.step.action, targets: targetsOf(core, c), risk: core.riskOf(c.step.action) },
          core.now(),
        ));
      } catch (error) {
        core.auditor.emit({ type: 'rate_limit.exceeded', ...this.#ids(c), data: errorData(error) });
        throw error;
      }
    }
    return yield* this.#issue(c, decision, approval?.id);
  }

  /** Decides a candidate call; audits the decision. Scope and intent are part of the decision. */
  *#decide(c: Candidate, options: StepOptions): Flow<DecisionResult> {
    const core = this.#core;
    const intent = this.#intent as Intent;
    const action = c.step.action;
    const record = yield* wait(core.sessions.check(this.session.id, this.tenant));
    const context = options.context === undefined ? {} : (requireTrusted('context', options.context, 'user') as JsonObject);
    if (context === null || typeof context !== 'object' || Array.isArray(context)) throw new ParameterValidationError(action, '/context', 'must be an object');
    let verdict: PlannedStep['verdict'];
    let outside: string | undefined;
    if (c.planned) {
      // Validated and scope-checked at approval; frozen since; the intent cannot change under an approved plan.
      verdict = c.planned.verdict;
      outside = c.planned.outside;
    } else {
      const definition = actionDefinition(core.evaluator.policy.ir, action);
      if (definition) {
        // Validate before the intent's scope reads the parameters (the preparer validates again for the engine).
        const validate = stepValidator(definition.parameters, []);
        if (!validate(c.params)) {
          const e = validate.errors?.[0];
          throw new ParameterValidationError(action, e?.instancePath ?? '', e?.message ?? 'do not match the schema');
        }
      }
      verdict = intentDecision(intent, action);
      outside = scopeViolation(intent, definition, c.params);
    }
    let result: DecisionResult;
    if (verdict === 'forbidden' || outside) {
      const rule = verdict === 'forbidden' ? 'intent:forbidden' : 'intent:scope';
      result = { decision: 'deny', rule, matched: [rule], reasons: [verdict === 'forbidden' ? `action '${action}' is not allowed by the intent` : (outside as string)], policy_hash: core.evaluator.policy.hash, engine: 'intent' };
    } else {
      const request: DecisionRequest = {
        action,
        params: c.params,
        context: { ...context, session: sessionContext(record, core.now()) },
        provenance: c.labels,
      };
      if (record.lastAction !== undefined) request.previous_action = record.lastAction;
      result = yield* wait(decideRequest(core.evaluator, request));
      if (result.decision === 'allow' && verdict === 'escalate') {
        result = { ...result, decision: 'escalate', rule: 'intent:escalation_actions', reasons: [`action '${action}' needs approval under the intent`] };
      }
    }
    if (core.auditor.active) {
      let params: JsonValue;
      if (c.planned) params = c.planned.redacted ?? (c.planned.redacted = deepFreeze(core.auditor.redact(c.params)));
      else params = core.auditor.redact(c.params);
      core.auditor.write(this.#event('decision', c, { decision: result.decision, rule: result.rule, reasons: result.reasons, engine: result.engine, params }));
    }
    return result;
  }

  *#issue(c: Candidate, decision: DecisionResult, approval: string | undefined): Flow<Authorization> {
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
      policy: core.evaluator.policy.hash,
      iat: now,
      exp: now + core.tokenTtlMs,
    };
    const token = core.signer.sign(claims);
    yield* wait(core.tokens.put(claims.id, this.#scope(), claims.exp, claims));
    core.auditor.write(this.#event('token.issued', c, approval ? { token: claims.id, expires: claims.exp, approval } : { token: claims.id, expires: claims.exp }));
    const call: Call = Object.freeze({ step: c.index, action: c.step.action, tool: c.step.tool, params });
    const auth: Authorization = { token, tokenId: claims.id, callId: c.callId, call, decision };
    if (approval) auth.approval = approval;
    return auth;
  }

  /** The constant parts of a plan step without run-time inputs (see `PlannedStep`). */
  #plannedStep(plan: Plan, step: PlanStep): PlannedStep {
    const intent = this.#intent as Intent;
    const params = step.parameters as JsonObject;
    return {
      labels: Object.freeze(unwrap(params, plan.label).labels),
      hash: ownParams(params),
      verdict: intentDecision(intent, step.action),
      outside: scopeViolation(intent, actionDefinition(this.#core.evaluator.policy.ir, step.action), params),
    };
  }

  /** An escalated call: ask the handler (or fail with a resolvable request), then authorize the approved call. */
  async #escalate(c: Candidate, options: StepOptions, decision: DecisionResult): Promise<Authorization> {
    const core = this.#core;
    this.#machine.transition('ESCALATION_REQUIRED', 'escalate a step');
    let record: ApprovalRecord;
    try {
      const request: ApprovalRequest = {
        kind: 'call', id: `apr_${randomUUID()}`, tenant: this.tenant, session: this.session.id, run: this.id,
        step: c.index, action: c.step.action, tool: c.step.tool, params: deepFreeze(JSON.parse(canonicalJson(c.params)) as JsonObject),
        rule: decision.rule, reasons: decision.reasons, expiresAt: core.now() + core.approvalTtlMs,
      };
      record = {
        id: request.id, status: 'pending', tenant: this.tenant, run: this.id, step: c.index, action: c.step.action, tool: c.step.tool,
        params: c.params, callHash: this.#callHash(c.index, c.step, c.params), edited: false, request,
      };
      await this.#store(record);
      core.auditor.emit({ type: 'approval.requested', ...this.#ids(c), data: { kind: 'call', request: request.id, rule: decision.rule } });
      if (!core.handler) throw new EscalationRequiredError(c.step.action, decision.rule, request.id);
      const answer = await askApprover(core.handler, request, core.approvalTimeoutMs, c.step.action);
      if (this.#machine.state !== 'ESCALATION_REQUIRED') throw new RuntimeStateError(this.#machine.state, 'use an approval');
      record = this.#answer(record, answer);
      await this.#store(record);
      if (record.status === 'denied') throw new EscalationDeniedError(c.step.action, request.id, 'denied', answer.approved ? '' : (answer.reason ?? ''));
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
    return drive(this.#authorizeCandidate(c, { ...rest, approval: record.id }));
  }

  /** Applies an approver's answer to a pending record; an edit rebinds the approval to the edited call. */
  #answer(record: ApprovalRecord, answer: ApprovalResponse): ApprovalRecord {
    const core = this.#core;
    if (!answer.approved) {
      core.auditor.emit({ type: 'approval.denied', ...this.#ids(), step: record.step, data: { request: record.id, reason: answer.reason ?? 'denied' } });
      return { ...record, status: 'denied' };
    }
    let params = record.params;
    let edited = false;
    if (answer.params !== undefined) {
      const plain = requireTrusted('approval', answer.params, 'user');
      if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) throw new ParameterValidationError(record.action, '', 'approved parameters must be an object');
      params = JSON.parse(canonicalJson(plain)) as JsonObject;
      edited = canonicalJson(params) !== canonicalJson(record.params);
    }
    const step = (this.#plan as Plan).steps[record.step] as PlanStep;
    core.auditor.emit({
      type: 'approval.granted', ...this.#ids(), step: record.step, action: record.action,
      data: { request: record.id, approver: String(answer.approver), edited, params: core.auditor.redact(params) },
    });
    return { ...record, status: 'approved', params, edited, approver: String(answer.approver), callHash: this.#callHash(record.step, step, params) };
  }

  /** Takes an approved approval for exactly this call. Throws `ApprovalError` otherwise. */
  async #takeApproval(id: string, c: Candidate): Promise<ApprovalRecord> {
    const core = this.#core;
    const peek = await core.approvals.peek(id, core.now());
    const fail = (reason: ApprovalError['reason']) => {
      const error = new ApprovalError(id, reason);
      core.auditor.emit({ type: 'token.refused', ...this.#ids(c), data: errorData(error) });
      return error;
    };
    if (peek.status !== 'ok') throw fail(peek.status === 'used' ? 'used' : peek.status === 'expired' ? 'expired' : 'unknown');
    const record = peek.record;
    if (record.tenant !== this.tenant) throw new TenantMismatchError('approval', this.tenant, record.tenant);
    if (record.status !== 'approved') throw fail(record.status === 'pending' ? 'pending' : 'denied');
    const params = record.edited ? record.params : c.params;
    if (record.callHash !== this.#callHash(c.index, c.step, params)) throw fail('mismatch');
    const taken = await core.approvals.take(id, core.now());
    if (taken.status !== 'ok') throw fail(taken.status === 'used' ? 'used' : 'expired');
    core.auditor.emit({ type: 'approval.used', ...this.#ids(c), data: { request: id, approver: record.approver ?? null } });
    return record;
  }

  async #store(record: ApprovalRecord): Promise<void> {
    await this.#core.approvals.put(record.id, this.#scope(), record.request.expiresAt, record);
  }

  #callHash(index: number, step: PlanStep, params: JsonObject): string {
    return hashJson({ run: this.id, intent: (this.#intent as Intent).version, plan: (this.#plan as Plan).hash, step: index, action: step.action, tool: step.tool, params });
  }

  /** The scope records of this run are bound to (shared and frozen while the intent and plan stay). */
  #scope(): RecordScope {
    const intent = this.#intent?.version ?? '';
    const plan = this.#plan?.hash ?? '';
    const cached = this.#scopeCache;
    if (cached && cached.intent === intent && cached.plan === plan) return cached;
    return (this.#scopeCache = Object.freeze({ tenant: this.tenant, session: this.session.id, run: this.id, intent, plan }));
  }

  async #revokeOutstanding(reason: string): Promise<void> {
    const core = this.#core;
    const tokens = await core.tokens.revoke({ run: this.id });
    const approvals = await core.approvals.revoke({ run: this.id });
    if (tokens + approvals > 0) core.auditor.emit({ type: 'token.revoked', ...this.#ids(), data: { reason, tokens, approvals } });
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

function targetsOf(core: RuntimeCore, c: Candidate): string[] {
  return callTargets(actionDefinition(core.evaluator.policy.ir, c.step.action), c.params)
    .map((t) => t.value)
    .filter((v): v is string => v !== undefined);
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

/** Decides a request: synchronously with the native engine, through the engine's promise otherwise. */
function decideRequest(evaluator: Evaluator, request: DecisionRequest): DecisionResult | Promise<DecisionResult> {
  return evaluator instanceof NativeEvaluator ? evaluator.decideSync(request) : evaluator.decide(request);
}
