/** Typed errors shared by every layer: each has a stable code and the fields a caller needs. */
import type { Diagnostic } from './compiler/diagnostics.js';

/**
 * Every error code an {@link ApeError} can carry, one stable string each. A new error class adds its
 * code here: the constructor accepts no other.
 */
export const APE_ERROR_CODES = [
  // compiler and policies
  'APE_POLICY_LOAD',
  'APE_POLICY_INVALID',
  'APE_PARAMS_INVALID',
  'APE_REQUEST_INVALID',
  'APE_REGO_UNREPRESENTABLE',
  'APE_TARGET_UNREPRESENTABLE',
  // engines
  'APE_ENGINE_UNKNOWN',
  'APE_ENGINE_FAILED',
  'APE_OPA_MISSING',
  'APE_OPA_FAILED',
  'APE_OPA_CAPABILITY',
  'APE_BUNDLE_OPTION',
  // runtime
  'APE_POLICY_DENY',
  'APE_ESCALATION_REQUIRED',
  'APE_ESCALATION_DENIED',
  'APE_APPROVAL_INVALID',
  'APE_APPROVAL_REPLAY',
  'APE_RATE_LIMITED',
  'APE_QUOTA_EXHAUSTED',
  'APE_SESSION_EXPIRED',
  'APE_TOKEN_INVALID',
  'APE_TOKEN_EXPIRED',
  'APE_TOKEN_REVOKED',
  'APE_TOKEN_REPLAY',
  'APE_TOKEN_MISMATCH',
  'APE_TENANT_MISMATCH',
  'APE_PROVENANCE',
  'APE_RUNTIME_STATE',
  'APE_INTENT_INVALID',
  'APE_PLAN_INVALID',
  'APE_TOOL_REGISTRATION',
  'APE_TOOL_FAILED',
  'APE_RUNTIME_CONFIG',
  'APE_AUDIT_FAILED',
  'APE_STORE_UNAVAILABLE',
  'APE_RUN_NOT_RESUMABLE',
  // verification and CLI
  'APE_PROPERTY_INVALID',
  'APE_CLI_USAGE',
  'APE_AUDIT_READ',
  // registries and inputs (runtime rework)
  'APE_ENGINE_REGISTRATION',
  'APE_TARGET_REGISTRATION',
  'APE_INPUT_INVALID',
  'APE_SESSION_CONTENDED',
  // agent
  'APE_AGENT_CLOSED',
  'APE_AGENT_CONFIG',
  'APE_INTENT_AMBIGUOUS',
  'APE_MODEL_OUTPUT',
  // MCP
  'APE_MCP_CONFIG',
  'APE_MCP_SETUP',
  'APE_MCP_TOOL_REFUSED',
  'APE_MCP_UPSTREAM',
  // integrations
  'APE_INTEGRATION_CONFIG',
  'APE_FRAMEWORK_APPROVAL',
  // distribution
  'APE_DISTRIBUTION_OPTION',
  'APE_BUNDLE_FORMAT',
  'APE_BUNDLE_SIGNATURE',
  'APE_POLICY_FETCH',
  'APE_POLICY_SWAP',
  'APE_POLICY_ROLLBACK',
] as const;

/** The union of every APE error code. */
export type ApeErrorCode = (typeof APE_ERROR_CODES)[number];

/** Base class of every APE error: `code` is stable, `message` is one clear line. */
export class ApeError extends Error {
  readonly code: ApeErrorCode;
  constructor(code: ApeErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Whether a value is an APE error, and with `code`, one with that code:
 * `if (isApeError(e, 'APE_PARAMS_INVALID')) e.code` (typed as that code).
 */
export function isApeError(error: unknown): error is ApeError;
export function isApeError<C extends ApeErrorCode>(error: unknown, code: C): error is ApeError & { readonly code: C };
export function isApeError(error: unknown, code?: ApeErrorCode): boolean {
  return error instanceof ApeError && (code === undefined || error.code === code);
}

/** A policy could not be read (missing file, unreadable, too large). */
export class PolicyLoadError extends ApeError {
  readonly file: string;
  constructor(file: string, message: string) {
    super('APE_POLICY_LOAD', message);
    this.file = file;
  }
}

/** A policy did not compile: every error diagnostic is attached. */
export class PolicyCompileError extends ApeError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0];
    const where = first ? `${first.file}:${first.line}:${first.column} ${first.code} ${first.message}` : 'unknown error';
    super('APE_POLICY_INVALID', errors.length > 1 ? `${where} (and ${errors.length - 1} more)` : where);
    this.diagnostics = diagnostics;
  }
}

/** The parameters of a request violate the action's parameter schema, or are not JSON. */
export class ParameterValidationError extends ApeError {
  readonly action: string;
  /** JSON pointer into the parameters object. */
  readonly pointer: string;
  constructor(action: string, pointer: string, message: string) {
    super('APE_PARAMS_INVALID', `parameters of '${action}'${pointer ? ` at ${pointer}` : ''} ${message}`);
    this.action = action;
    this.pointer = pointer;
  }
}

/** A request is malformed (not an object, no action id...). */
export class RequestError extends ApeError {
  constructor(message: string) {
    super('APE_REQUEST_INVALID', message);
  }
}

/** No engine by that name is known. */
export class UnknownEngineError extends ApeError {
  readonly engine: string;
  constructor(engine: string, known: readonly string[]) {
    super('APE_ENGINE_UNKNOWN', `unknown engine '${engine}'; expected one of ${known.join(', ')}`);
    this.engine = engine;
  }
}

/** An engine failed to decide; callers must treat it as a denial. */
export class EngineError extends ApeError {
  readonly engine: string;
  constructor(engine: string, message: string) {
    super('APE_ENGINE_FAILED', `${engine}: ${message}`);
    this.engine = engine;
  }
}
