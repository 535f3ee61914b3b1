/** Typed runtime errors: one class per failure, each with a stable code and the fields a caller needs. */
import { ApeError } from '../errors.js';

/** The policy denied a call. */
export class PolicyDenyError extends ApeError {
  readonly action: string;
  readonly rule: string | null;
  readonly reasons: string[];
  constructor(action: string, rule: string | null, reasons: string[]) {
    super('APE_POLICY_DENY', `action '${action}' denied${rule ? ` by rule '${rule}'` : ' by default'}${reasons[0] ? `: ${reasons[0]}` : ''}`);
    this.action = action;
    this.rule = rule;
    this.reasons = reasons;
  }
}

/** The policy escalated a call and no approval handler was there to decide it. `requestId` can be resolved later. */
export class EscalationRequiredError extends ApeError {
  readonly action: string;
  readonly rule: string | null;
  readonly requestId: string;
  constructor(action: string, rule: string | null, requestId: string) {
    super('APE_ESCALATION_REQUIRED', `action '${action}' needs approval (request ${requestId}) and no approval handler is configured`);
    this.action = action;
    this.rule = rule;
    this.requestId = requestId;
  }
}

/** An escalation was denied by the approver, or timed out: the step did not run. */
export class EscalationDeniedError extends ApeError {
  readonly action: string;
  readonly requestId: string;
  readonly reason: 'denied' | 'timeout' | 'handler_failed';
  constructor(action: string, requestId: string, reason: 'denied' | 'timeout' | 'handler_failed', detail = '') {
    super('APE_ESCALATION_DENIED', `approval for '${action}' (request ${requestId}) ${reason === 'denied' ? 'was denied' : reason === 'timeout' ? 'timed out' : 'failed'}${detail ? `: ${detail}` : ''}`);
    this.action = action;
    this.requestId = requestId;
    this.reason = reason;
  }
}

/** An approval is unknown, expired, already used, or bound to another call. */
export class ApprovalError extends ApeError {
  readonly approvalId: string;
  readonly reason: 'unknown' | 'used' | 'expired' | 'mismatch' | 'pending' | 'denied' | 'revoked' | 'policy';
  constructor(approvalId: string, reason: ApprovalError['reason']) {
    const what = reason === 'mismatch' ? 'bound to another call' : reason === 'policy' ? 'bound to a policy version that was replaced' : reason;
    super(reason === 'used' ? 'APE_APPROVAL_REPLAY' : 'APE_APPROVAL_INVALID', `approval ${approvalId} is ${what}`);
    this.approvalId = approvalId;
    this.reason = reason;
  }
}

/** A windowed rate limit is reached. */
export class RateLimitExceededError extends ApeError {
  /** Which limit: `global`, `session`, `action:<id>`, `target:<glob>`. */
  readonly limit: string;
  readonly max: number;
  /** Epoch milliseconds when the window resets. */
  readonly resetAt: number;
  constructor(limit: string, max: number, resetAt: number) {
    super('APE_RATE_LIMITED', `rate limit '${limit}' (${max}) reached; resets at ${new Date(resetAt).toISOString()}`);
    this.limit = limit;
    this.max = max;
    this.resetAt = resetAt;
  }
}

/** A quota without a window (a count or the cumulative risk budget) is used up. */
export class QuotaExhaustedError extends ApeError {
  readonly limit: string;
  readonly max: number;
  readonly used: number;
  constructor(limit: string, max: number, used: number) {
    super('APE_QUOTA_EXHAUSTED', `quota '${limit}' exhausted: ${used} of ${max} used`);
    this.limit = limit;
    this.max = max;
    this.used = used;
  }
}

/** The session expired, was revoked, or does not exist. */
export class SessionExpiredError extends ApeError {
  readonly session: string;
  readonly reason: 'expired' | 'revoked' | 'unknown';
  constructor(session: string, reason: SessionExpiredError['reason']) {
    super('APE_SESSION_EXPIRED', `session ${session} is ${reason}`);
    this.session = session;
    this.reason = reason;
  }
}

/** A token was already used. */
export class TokenReplayError extends ApeError {
  readonly tokenId: string;
  constructor(tokenId: string) {
    super('APE_TOKEN_REPLAY', `token ${tokenId} was already used`);
    this.tokenId = tokenId;
  }
}

/** A token is malformed, forged, edited, expired, revoked or unknown. */
export class TokenInvalidError extends ApeError {
  readonly reason: 'malformed' | 'signature' | 'expired' | 'revoked' | 'unknown' | 'not_yet_valid';
  constructor(reason: TokenInvalidError['reason'], detail = '') {
    super(reason === 'expired' ? 'APE_TOKEN_EXPIRED' : reason === 'revoked' ? 'APE_TOKEN_REVOKED' : 'APE_TOKEN_INVALID', `token is ${reason === 'signature' ? 'not signed by this runtime' : reason}${detail ? `: ${detail}` : ''}`);
    this.reason = reason;
  }
}

/** A valid token was presented for a call it was not issued for. */
export class TokenMismatchError extends ApeError {
  /** The bound field that differs (action, tool, params, step, plan, intent, session, policy). */
  readonly field: string;
  constructor(field: string, expected: string, actual: string) {
    super('APE_TOKEN_MISMATCH', `token is bound to ${field} '${expected}', not '${actual}'`);
    this.field = field;
  }
}

/** An object of one tenant was used under another. */
export class TenantMismatchError extends ApeError {
  readonly expected: string;
  readonly actual: string;
  readonly object: string;
  constructor(object: string, expected: string, actual: string) {
    super('APE_TENANT_MISMATCH', `${object} belongs to tenant '${actual}', not '${expected}'`);
    this.object = object;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Untrusted data tried to grant authority (intent, plan, approval) or a label is invalid. */
export class ProvenanceError extends ApeError {
  readonly where: string;
  readonly path: string;
  readonly label: string;
  constructor(where: string, path: string, label: string) {
    super('APE_PROVENANCE', `${where}: value${path ? ` at '${path}'` : ''} has provenance '${label}', which cannot grant authority`);
    this.where = where;
    this.path = path;
    this.label = label;
  }
}

/** An operation is not allowed in the runtime's current state. */
export class RuntimeStateError extends ApeError {
  readonly state: string;
  readonly operation: string;
  constructor(state: string, operation: string) {
    super('APE_RUNTIME_STATE', `cannot ${operation} in state ${state}`);
    this.state = state;
    this.operation = operation;
  }
}

/** An intent does not match the intent schema. */
export class IntentValidationError extends ApeError {
  readonly pointer: string;
  constructor(pointer: string, message: string) {
    super('APE_INTENT_INVALID', `intent${pointer ? ` at ${pointer}` : ''} ${message}`);
    this.pointer = pointer;
  }
}

/** A plan step is invalid (shape, intent, repository, tool compatibility, scope or policy). */
export class PlanValidationError extends ApeError {
  /** Index of the offending step, or -1 for the plan as a whole. */
  readonly step: number;
  readonly reason: 'shape' | 'intent' | 'unknown_action' | 'parameters' | 'tool' | 'scope' | 'policy' | 'step';
  constructor(step: number, reason: PlanValidationError['reason'], message: string) {
    super('APE_PLAN_INVALID', `${step >= 0 ? `plan step ${step}` : 'plan'}: ${message}`);
    this.step = step;
    this.reason = reason;
  }
}

/** A tool is not registered, or is registered twice. */
export class ToolRegistrationError extends ApeError {
  readonly tool: string;
  constructor(tool: string, message: string) {
    super('APE_TOOL_REGISTRATION', `tool '${tool}': ${message}`);
    this.tool = tool;
  }
}

/** A tool ran and threw; the failure is recorded and the cause attached. */
export class ToolExecutionError extends ApeError {
  readonly tool: string;
  override readonly cause: unknown;
  constructor(tool: string, cause: unknown) {
    super('APE_TOOL_FAILED', `tool '${tool}' failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.tool = tool;
    this.cause = cause;
  }
}

/** The runtime is misconfigured (bad key, bad limits). */
export class RuntimeConfigError extends ApeError {
  constructor(message: string) {
    super('APE_RUNTIME_CONFIG', message);
  }
}

/** An audit sink failed to record an event; the call is refused rather than run unaudited. */
export class AuditError extends ApeError {
  constructor(message: string) {
    super('APE_AUDIT_FAILED', message);
  }
}

/** A value from a caller is not plain JSON data (a getter, a proxy, a cycle, a Date, NaN...) or lacks a required shape. */
export class InputError extends ApeError {
  /** What the value was (`call`, `intent`, `plan`, `tool`, `options`...). */
  readonly where: string;
  /** JSON pointer into the value. */
  readonly pointer: string;
  constructor(where: string, pointer: string, message: string) {
    super('APE_INPUT_INVALID', `${where}${pointer ? ` at ${pointer}` : ''} ${message}`);
    this.where = where;
    this.pointer = pointer;
  }
}

/** Concurrent calls kept changing a session between a call's decision and its reservation; the call did not run (decide it again later). */
export class SessionContentionError extends ApeError {
  readonly session: string;
  constructor(session: string, attempts: number) {
    super('APE_SESSION_CONTENDED', `session ${session} changed under ${attempts} decisions in a row; the call was not authorized`);
    this.session = session;
  }
}

/**
 * A run cannot be resumed by id: its state machine, intent and plan live in the process that made
 * it. Another process continues the work with a new run in the same session (session facts, counters,
 * quotas, approvals and replays are shared through the stores) and can revoke the old run's tokens.
 */
export class RunNotResumableError extends ApeError {
  readonly run: string;
  constructor(run: string) {
    super('APE_RUN_NOT_RESUMABLE', `run ${run} cannot be resumed here: a run lives in the process that created it; create a new run in the session (and revoke the old run's tokens with revokeTokens({ run }))`);
    this.run = run;
  }
}
